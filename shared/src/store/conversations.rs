//! The conversations table: per chat conversation, the writer's state (one item, versioned) and
//! the transcript lines (one item each, sorted by event time), so messages are coalesced into
//! few Salesforce writes and a transcript survives any number of deliveries.
//!
//! Keys: `pk = tenant#platform#conversation`; `sk = "state"` or `line#<UTC time>#<message id>`.
//! A line's key is fixed by its event, so a redelivered message overwrites itself.

use super::sealed_attr::{self, Names};
use super::{StoreError, aws_error};
use crate::mapping::state::ConversationState;
use crate::platforms::Platform;
use crate::seal::Sealer;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::sync::Arc;
use time::OffsetDateTime;

/// The sparse index of conversations holding transcript lines not yet in Salesforce, spread
/// over a few partitions; the drainer sweeps it so a chat that goes quiet is written anyway.
pub const UNSENT_INDEX: &str = "unsent";
pub const UNSENT_SHARDS: u32 = 8;

/// A conversation whose transcript waits, as the unsent index lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub tenant_id: String,
    pub platform: Platform,
    pub conversation_key: String,
    /// When its oldest unsent line was stored (RFC 3339).
    pub since: String,
}

/// The message the drainer puts on write.fifo (in the conversation's group) to have a quiet
/// conversation's waiting lines written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FlushRequest {
    pub flush: FlushTarget,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FlushTarget {
    pub tenant_id: String,
    pub platform: Platform,
    pub conversation_key: String,
    pub since: String,
}

impl FlushRequest {
    pub fn for_waiting(w: &Waiting) -> Self {
        Self {
            flush: FlushTarget {
                tenant_id: w.tenant_id.clone(),
                platform: w.platform,
                conversation_key: w.conversation_key.clone(),
                since: w.since.clone(),
            },
        }
    }

    /// The conversation's FIFO group on write.fifo, so the flush runs in order with its events.
    pub fn group_id(&self) -> String {
        crate::event::group_id(
            &self.flush.tenant_id,
            self.flush.platform,
            &self.flush.conversation_key,
        )
    }

    /// One flush per wait: a second sweep before the first is done is deduplicated by SQS.
    pub fn dedupe_id(&self) -> String {
        use sha2::{Digest, Sha256};
        let f = &self.flush;
        let digest = Sha256::digest(
            format!(
                "flush#{}#{}#{}#{}",
                f.tenant_id, f.platform, f.conversation_key, f.since
            )
            .as_bytes(),
        );
        hex::encode(digest)
    }
}

/// State and lines outlive a quiet conversation by this long; a later event still finds its
/// Case by the conversation's external id.
const KEEP_DAYS: i64 = 180;
const STATE: Names = Names {
    plain: "state",
    sealed: "sealed_state",
};
const LINE: Names = Names {
    plain: "line",
    sealed: "sealed_line",
};

#[derive(Debug, Clone)]
pub struct Conversations {
    client: Client,
    table: String,
    /// Seals the state and lines (the visitor's supplied details, the agent, message text);
    /// without one (the drainer lists waiting conversations only) they are read and written
    /// in clear.
    sealer: Option<Arc<Sealer>>,
}

/// Where one conversation lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationKey {
    pk: String,
    pub tenant_id: String,
    pub platform: Platform,
    pub conversation_key: String,
    /// Which of the key's conversations the lines belong to (`mapping::spans`); the state item
    /// is the same for all, since only the current one is ever written.
    pub span: u32,
}

impl ConversationKey {
    pub fn new(tenant: &str, platform: Platform, conversation: &str) -> Self {
        Self {
            pk: format!("{tenant}#{platform}#{conversation}"),
            tenant_id: tenant.to_owned(),
            platform,
            conversation_key: conversation.to_owned(),
            span: 0,
        }
    }

    /// The same key, for the lines of its `span`th conversation.
    pub fn in_span(&self, span: u32) -> Self {
        Self {
            span,
            ..self.clone()
        }
    }

    /// The stored sort key of a line: the first conversation's as made, later ones prefixed,
    /// so one span's query never reads another's lines.
    fn line_key(&self, sort_key: &str) -> String {
        match self.span {
            0 => sort_key.to_owned(),
            n => format!("span{n}#{sort_key}"),
        }
    }

    /// The unsent-index partition of this conversation.
    fn shard(&self) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(self.pk.as_bytes());
        format!("unsent#{}", u32::from(digest[0]) % UNSENT_SHARDS)
    }

    pub fn as_str(&self) -> &str {
        &self.pk
    }
}

/// Outcome of a versioned save.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    Yes,
    /// Someone saved a newer version first (a concurrent or timed-out invocation).
    Conflict,
}

fn corrupt(reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        what: "conversation state",
        reason: reason.into(),
    }
}

/// The partition of a contact's pointer: beside its conversations' own keys, never one of them
/// (conversation keys are `conversation:…`, `ticket:…`, `session:…`, `contact:…`).
fn pointer_pk(tenant: &str, platform: Platform, contact_id: &str) -> String {
    format!("{tenant}#{platform}#pointer:{contact_id}")
}

fn expires(now: OffsetDateTime) -> AttributeValue {
    AttributeValue::N((now.unix_timestamp() + KEEP_DAYS * 86_400).to_string())
}

/// A line's sort key: fixed-width UTC time (so keys sort by time), then the message id.
pub fn line_sort_key(at: OffsetDateTime, message_id: &str) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    let when = at.format(&format).unwrap_or_default();
    format!("line#{when}#{message_id}")
}

impl Conversations {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            sealer: None,
        }
    }

    /// States and lines are stored sealed (`sealed_state`, `sealed_line`); ones stored in
    /// clear before still read.
    pub fn sealed(mut self, sealer: Arc<Sealer>) -> Self {
        self.sealer = Some(sealer);
        self
    }

    /// The attribute to write for an item's `text` (`context`: the item's sort key).
    async fn seal(
        &self,
        key: &ConversationKey,
        context: &str,
        text: String,
        names: Names,
    ) -> Result<(&'static str, AttributeValue), StoreError> {
        let context = format!("{}#{context}", key.pk);
        sealed_attr::seal(
            self.sealer.as_deref(),
            &key.tenant_id,
            &context,
            text,
            names,
        )
        .await
    }

    /// The text of an item, from its sealed attribute (opened) or its plain one.
    async fn open(
        &self,
        key: &ConversationKey,
        context: &str,
        item: &HashMap<String, AttributeValue>,
        names: Names,
    ) -> Result<Option<String>, StoreError> {
        let context = format!("{}#{context}", key.pk);
        sealed_attr::open(
            self.sealer.as_deref(),
            &key.tenant_id,
            &context,
            item,
            names,
        )
        .await
    }

    /// The state, or a fresh one (version 0) for a conversation never seen.
    pub async fn load(&self, key: &ConversationKey) -> Result<ConversationState, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.pk.clone()))
            .key("sk", AttributeValue::S("state".into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws_error("DynamoDB", "GetItem", e))?;
        let Some(item) = out.item else {
            return Ok(ConversationState::default());
        };
        let text = self
            .open(key, "state", &item, STATE)
            .await?
            .ok_or_else(|| corrupt("no state attribute"))?;
        serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))
    }

    /// Saves `state` over the version it was loaded at, and bumps its version.
    pub async fn save(
        &self,
        key: &ConversationKey,
        state: &mut ConversationState,
        now: OffsetDateTime,
    ) -> Result<Saved, StoreError> {
        let read_version = state.version;
        state.version = read_version + 1;
        let text = serde_json::to_string(&state).map_err(|e| corrupt(e.to_string()));
        let sealed = match text {
            Ok(text) => self.seal(key, "state", text, STATE).await,
            Err(e) => Err(e),
        };
        // Not saved: the state keeps the version it was loaded at.
        let (attribute, text) = sealed.inspect_err(|_| state.version = read_version)?;
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(key.pk.clone()))
            .item("sk", AttributeValue::S("state".into()))
            .item(attribute, text)
            .item("version", AttributeValue::N(state.version.to_string()))
            .item("tenant_id", AttributeValue::S(key.tenant_id.clone()))
            .item("platform", AttributeValue::S(key.platform.to_string()))
            .item(
                "conversation_key",
                AttributeValue::S(key.conversation_key.clone()),
            )
            .item("expires_at", expires(now));
        // Listed in the unsent index while lines wait (a sparse index: absent otherwise).
        if state.unsent_lines > 0 {
            let since = state.unsent_since.unwrap_or(now);
            put = put
                .item("unsent_shard", AttributeValue::S(key.shard()))
                .item("unsent_since", AttributeValue::S(crate::rfc3339(since)));
        }
        let put = put
            .condition_expression("attribute_not_exists(pk) OR version = :v")
            .expression_attribute_values(":v", AttributeValue::N(read_version.to_string()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(Saved::Yes),
            Err(e) => {
                state.version = read_version;
                match e.as_service_error() {
                    Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(_)) => {
                        Ok(Saved::Conflict)
                    }
                    _ => Err(aws_error("DynamoDB", "PutItem", e)),
                }
            }
        }
    }

    /// Remembers that the platform contact `contact_id` last chatted in `key`'s conversation,
    /// and whether it is closed, for events about the contact alone (Intercom's contact tag
    /// topics) to reach it. A platform contact id is no personal value; nothing is sealed.
    pub async fn point(
        &self,
        key: &ConversationKey,
        contact_id: &str,
        closed: bool,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(
                "pk",
                AttributeValue::S(pointer_pk(&key.tenant_id, key.platform, contact_id)),
            )
            .item("sk", AttributeValue::S("conversation".into()))
            .item(
                "conversation_key",
                AttributeValue::S(key.conversation_key.clone()),
            )
            .item("closed", AttributeValue::Bool(closed))
            .item("expires_at", expires(now))
            .send()
            .await
            .map_err(|e| aws_error("DynamoDB", "PutItem", e))?;
        Ok(())
    }

    /// The conversation the contact last chatted in, and whether it is closed.
    pub async fn pointed(
        &self,
        tenant: &str,
        platform: Platform,
        contact_id: &str,
    ) -> Result<Option<(String, bool)>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(
                "pk",
                AttributeValue::S(pointer_pk(tenant, platform, contact_id)),
            )
            .key("sk", AttributeValue::S("conversation".into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws_error("DynamoDB", "GetItem", e))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let key = item
            .get("conversation_key")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .ok_or_else(|| corrupt("a contact pointer without its conversation"))?;
        let closed = item
            .get("closed")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false);
        Ok(Some((key, closed)))
    }

    /// Stores transcript lines (`(sort key, JSON)`); a line stored before is overwritten.
    pub async fn put_lines(
        &self,
        key: &ConversationKey,
        lines: &[(String, String)],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut seen = std::collections::HashSet::new();
        let mut items = Vec::with_capacity(lines.len());
        // One batch may not write an item twice.
        for (sort_key, json) in lines.iter().filter(|(k, _)| seen.insert(k.clone())) {
            let sort_key = &key.line_key(sort_key);
            let (attribute, text) = self.seal(key, sort_key, json.clone(), LINE).await?;
            items.push(HashMap::from([
                ("pk".to_owned(), AttributeValue::S(key.pk.clone())),
                ("sk".to_owned(), AttributeValue::S(sort_key.clone())),
                (attribute.to_owned(), text),
                ("expires_at".to_owned(), expires(now)),
            ]));
        }
        super::batch_put(&self.client, &self.table, items).await?;
        Ok(())
    }

    /// Conversations of one unsent-index shard whose lines have waited since before `before`,
    /// oldest first.
    pub async fn waiting(
        &self,
        shard: u32,
        before: OffsetDateTime,
        limit: i32,
    ) -> Result<Vec<Waiting>, StoreError> {
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(UNSENT_INDEX)
            .key_condition_expression("unsent_shard = :s AND unsent_since < :b")
            .expression_attribute_values(":s", AttributeValue::S(format!("unsent#{shard}")))
            .expression_attribute_values(":b", AttributeValue::S(crate::rfc3339(before)))
            .limit(limit)
            .send()
            .await
            .map_err(|e| aws_error("DynamoDB", "Query", e))?;
        let mut out = Vec::new();
        for item in page.items() {
            let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
            let (Some(tenant_id), Some(platform), Some(conversation_key), Some(since)) = (
                text("tenant_id"),
                text("platform"),
                text("conversation_key"),
                text("unsent_since"),
            ) else {
                continue;
            };
            let Ok(platform) = platform.parse() else {
                continue;
            };
            out.push(Waiting {
                tenant_id,
                platform,
                conversation_key,
                since,
            });
        }
        Ok(out)
    }

    /// Every stored line's JSON of the key's span, in time order.
    pub async fn lines(&self, key: &ConversationKey) -> Result<Vec<String>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p AND begins_with(sk, :l)")
            .expression_attribute_values(":p", AttributeValue::S(key.pk.clone()))
            .expression_attribute_values(":l", AttributeValue::S(key.line_key("line#")))
            .consistent_read(true);
        let mut lines = Vec::new();
        for item in super::query_items(query, usize::MAX).await? {
            let sort_key = item
                .get("sk")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            let line = self
                .open(key, &sort_key, &item, LINE)
                .await?
                .ok_or_else(|| corrupt("a transcript line without text"))?;
            lines.push(line);
        }
        Ok(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn line_keys_sort_by_time() {
        let a = line_sort_key(datetime!(2026-01-01 09:59:59.5 +01:00), "z");
        let b = line_sort_key(datetime!(2026-01-01 09:00:00 UTC), "a");
        assert_eq!(a, "line#2026-01-01T08:59:59.500000Z#z");
        assert!(a < b);
    }
}
