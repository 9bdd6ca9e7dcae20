//! The links table: what chatsync already knows about a visitor, so a known visitor costs no
//! Salesforce call. One item per (tenant, key): `pk` = tenant id, `sk` = the key
//! (`platform:<platform>:<contact id>`; e-mails and phones only as a hash, `email:sha256:<hex>`,
//! `phone:sha256:<hex>`), pointing at the Salesforce person. Items carry `expires_at` (epoch
//! seconds, the table's TTL attribute); DynamoDB deletes expired items only eventually, so an
//! expired one reads as absent.
//! Keeping the tenant as the partition key lets one tenant's links be listed or removed together.

use super::{StoreError, aws_error};
use crate::identity::Keys;
use crate::identity::rules::{Person, PersonKind};
use crate::platforms::Platform;
use crate::tenant::MatchKey;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Longest key stored as it is; longer ones (DynamoDB allows 1 KiB) are stored as a hash.
const MAX_PLAIN_KEY_BYTES: usize = 512;

/// What a link is keyed on. Values are expected normalised (see [`crate::identity::normalize`]);
/// [`LinkKey::for_keys`] builds them from a visitor's [`Keys`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LinkKey {
    PlatformContact {
        platform: Platform,
        contact_id: String,
    },
    Email(String),
    Phone(String),
}

impl LinkKey {
    /// Every key a visitor has: platform contact id, e-mail, phone (in that order).
    pub fn for_keys(platform: Platform, keys: &Keys) -> Vec<LinkKey> {
        let mut out = Vec::new();
        if let Some(id) = keys
            .platform_contact_id
            .as_deref()
            .filter(|s| !s.is_empty())
        {
            out.push(LinkKey::PlatformContact {
                platform,
                contact_id: id.to_owned(),
            });
        }
        if let Some(e) = keys.email.as_deref().filter(|s| !s.is_empty()) {
            out.push(LinkKey::Email(e.to_owned()));
        }
        if let Some(p) = keys.phone.as_deref().filter(|s| !s.is_empty()) {
            out.push(LinkKey::Phone(p.to_owned()));
        }
        out
    }

    /// The keys a link may be kept under for this tenant: the platform's contact id always, an
    /// e-mail or phone only when the tenant matches on it (a link must not widen its rules).
    pub fn linkable(platform: Platform, keys: &Keys, order: &[MatchKey]) -> Vec<LinkKey> {
        LinkKey::for_keys(platform, keys)
            .into_iter()
            .filter(|k| match k {
                LinkKey::PlatformContact { .. } => true,
                LinkKey::Email(_) => order.contains(&MatchKey::Email),
                LinkKey::Phone(_) => order.contains(&MatchKey::Phone),
            })
            .collect()
    }

    /// The sort key: `platform:intercom:123`; an e-mail or phone (and a platform key too long
    /// to store) as `<kind>:sha256:<hex>` of its full text (`email:a@b.io`).
    pub fn render(&self) -> String {
        let (prefix, text) = match self {
            LinkKey::PlatformContact {
                platform,
                contact_id,
            } => (
                "platform",
                format!("platform:{}:{contact_id}", platform.as_str()),
            ),
            LinkKey::Email(e) => ("email", format!("email:{e}")),
            LinkKey::Phone(p) => ("phone", format!("phone:{p}")),
        };
        // E-mails and phones are personal: the table holds only their hash (a lookup key,
        // not a copy). Hashed, not encrypted: a known address can still be tested against it.
        if prefix == "platform" && text.len() <= MAX_PLAIN_KEY_BYTES {
            text
        } else {
            format!(
                "{prefix}:sha256:{}",
                hex::encode(Sha256::digest(text.as_bytes()))
            )
        }
    }
}

/// A stored link: the person and when chatsync linked them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub person: Person,
    pub linked_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct Links {
    client: Client,
    table: String,
}

/// Where a key's creation claim lives: beside its link, never read as one.
/// A Salesforce record's contact on a chat platform, and the hash of each field chatsync last
/// wrote there (`mapping::to_chat::hashes`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatLink {
    pub contact_id: String,
    pub written: std::collections::BTreeMap<String, String>,
}

fn to_chat_key(platform: Platform, record_id: &str) -> String {
    format!("to-chat:{}:{record_id}", platform.as_str())
}

fn creation_key(key: &LinkKey) -> String {
    format!("creating#{}", key.render())
}

fn kind_name(kind: PersonKind) -> &'static str {
    kind.sobject()
}

fn corrupt(reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        what: "identity link",
        reason: reason.into(),
    }
}

impl Links {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn key(tenant: &str, key: &LinkKey) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("pk".to_owned(), AttributeValue::S(tenant.to_owned())),
            ("sk".to_owned(), AttributeValue::S(key.render())),
        ])
    }

    /// The platform contact a Salesforce record was written to (Salesforce → chat), and what
    /// was last written to it: item `sk = to-chat:{platform}:{record id}`, the chat writer's.
    pub async fn platform_contact(
        &self,
        tenant: &str,
        platform: Platform,
        record_id: &str,
    ) -> Result<Option<ChatLink>, StoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(tenant.to_owned()))
            .key("sk", AttributeValue::S(to_chat_key(platform, record_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws_error("DynamoDB", "GetItem", e))?;
        let Some(item) = got.item else {
            return Ok(None);
        };
        let Some(contact_id) = item.get("contact_id").and_then(|v| v.as_s().ok()).cloned() else {
            return Ok(None);
        };
        // Hashes only (never values): what the platform holds is personal.
        let written = item
            .get("written")
            .and_then(|v| v.as_m().ok())
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_s().ok()?.clone())))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Some(ChatLink {
            contact_id,
            written,
        }))
    }

    /// Remembers that `record_id` is `contact_id` on `platform`, and the hashes of the fields
    /// written to it.
    pub async fn put_platform_contact(
        &self,
        tenant: &str,
        platform: Platform,
        record_id: &str,
        link: &ChatLink,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let written = link
            .written
            .iter()
            .map(|(k, v)| (k.clone(), AttributeValue::S(v.clone())))
            .collect();
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(tenant.to_owned()))
            .item("sk", AttributeValue::S(to_chat_key(platform, record_id)))
            .item("contact_id", AttributeValue::S(link.contact_id.clone()))
            .item("written", AttributeValue::M(written))
            .item("linked_at", AttributeValue::S(crate::rfc3339(now)))
            .send()
            .await
            .map_err(|e| aws_error("DynamoDB", "PutItem", e))?;
        Ok(())
    }

    /// Remembers `contact_id` as the person's contact on `platform` unless one is remembered
    /// already (the chat writer's own link, with what it wrote, is kept): so a Salesforce event
    /// about a person first met in the chat reaches that chat contact.
    pub async fn remember_platform_contact(
        &self,
        tenant: &str,
        platform: Platform,
        record_id: &str,
        contact_id: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(tenant.to_owned()))
            .item("sk", AttributeValue::S(to_chat_key(platform, record_id)))
            .item("contact_id", AttributeValue::S(contact_id.to_owned()))
            .item("written", AttributeValue::M(Default::default()))
            .item("linked_at", AttributeValue::S(crate::rfc3339(now)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(aws_error("DynamoDB", "PutItem", e)),
        }
    }

    /// The live link for `key`, or None (never linked, forgotten, or expired).
    pub async fn get(&self, tenant: &str, key: &LinkKey) -> Result<Option<Link>, StoreError> {
        self.get_at(tenant, key, OffsetDateTime::now_utc()).await
    }

    /// [`Links::get`] as of `now`: a link whose `expires_at` is before `now` is absent.
    pub async fn get_at(
        &self,
        tenant: &str,
        key: &LinkKey,
        now: OffsetDateTime,
    ) -> Result<Option<Link>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(tenant, key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws_error("DynamoDB", "GetItem", e))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
        if let Some(expires) = item.get("expires_at") {
            let expires: i64 = expires
                .as_n()
                .ok()
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| corrupt("expires_at is not a number"))?;
            if expires < now.unix_timestamp() {
                return Ok(None);
            }
        }
        let kind = match text("kind").map(String::as_str) {
            Some("Contact") => PersonKind::Contact,
            Some("Lead") => PersonKind::Lead,
            other => return Err(corrupt(format!("unknown kind {other:?}"))),
        };
        let id = text("id")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| corrupt("no id"))?
            .clone();
        let linked_at = text("linked_at")
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
            .ok_or_else(|| corrupt("linked_at missing or unreadable"))?;
        Ok(Some(Link {
            person: Person {
                kind,
                id,
                account_id: text("account_id").filter(|s| !s.is_empty()).cloned(),
            },
            linked_at,
        }))
    }

    /// Links every key to `person` as of `now`, for `ttl_days` (0: no expiry), replacing what
    /// the keys pointed at before. One write per key.
    pub async fn put(
        &self,
        tenant: &str,
        keys: &[LinkKey],
        person: &Person,
        ttl_days: u32,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let expires_at = (ttl_days > 0).then(|| {
            now.unix_timestamp()
                .saturating_add(i64::from(ttl_days) * 86_400)
        });
        for key in keys {
            let mut item = Self::key(tenant, key);
            item.insert(
                "kind".into(),
                AttributeValue::S(kind_name(person.kind).to_owned()),
            );
            item.insert("id".into(), AttributeValue::S(person.id.clone()));
            if let Some(account) = person.account_id.as_deref().filter(|s| !s.is_empty()) {
                item.insert("account_id".into(), AttributeValue::S(account.to_owned()));
            }
            item.insert("linked_at".into(), AttributeValue::S(crate::rfc3339(now)));
            if let Some(expires) = expires_at {
                item.insert("expires_at".into(), AttributeValue::N(expires.to_string()));
            }
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .send()
                .await
                .map_err(|e| aws_error("DynamoDB", "PutItem", e))?;
        }
        Ok(())
    }

    /// Claims the right to create the person behind `keys` for `hold`, as `holder` (one event's
    /// attempt). Events of one visitor run in different FIFO groups at once (`contact.*` and
    /// `conversation.*`); only the holder creates, the others retry and find the link. Each
    /// key is claimed with a conditional write, in a fixed order; when one is held by someone
    /// else, the keys already claimed are released and `false` is returned. A claim that was
    /// never released (its holder crashed) lapses after `hold`.
    pub async fn claim_creation(
        &self,
        tenant: &str,
        keys: &[LinkKey],
        holder: &str,
        now: OffsetDateTime,
        hold: std::time::Duration,
    ) -> Result<bool, StoreError> {
        use aws_sdk_dynamodb::operation::put_item::PutItemError;
        let mut ordered: Vec<&LinkKey> = keys.iter().collect();
        ordered.sort_by_key(|k| k.render());
        ordered.dedup_by_key(|k| k.render());
        let until = now.unix_timestamp() + i64::try_from(hold.as_secs()).unwrap_or(i64::MAX);
        let mut claimed: Vec<&LinkKey> = Vec::new();
        for key in ordered {
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("pk", AttributeValue::S(tenant.to_owned()))
                .item("sk", AttributeValue::S(creation_key(key)))
                .item("holder", AttributeValue::S(holder.to_owned()))
                .item("until", AttributeValue::N(until.to_string()))
                // The table's TTL removes a lapsed claim some time after it lapsed.
                .item("expires_at", AttributeValue::N(until.to_string()))
                .condition_expression(
                    "attribute_not_exists(sk) OR #until < :now OR holder = :holder",
                )
                .expression_attribute_names("#until", "until")
                .expression_attribute_values(
                    ":now",
                    AttributeValue::N(now.unix_timestamp().to_string()),
                )
                .expression_attribute_values(":holder", AttributeValue::S(holder.to_owned()))
                .send()
                .await;
            match result {
                Ok(_) => claimed.push(key),
                Err(e)
                    if matches!(
                        e.as_service_error(),
                        Some(PutItemError::ConditionalCheckFailedException(_))
                    ) =>
                {
                    self.release_creation(
                        tenant,
                        &claimed.into_iter().cloned().collect::<Vec<_>>(),
                    )
                    .await?;
                    return Ok(false);
                }
                Err(e) => return Err(aws_error("DynamoDB", "PutItem", e)),
            }
        }
        Ok(true)
    }

    /// Ends a creation claim (after the link is written, or when nothing was created).
    pub async fn release_creation(&self, tenant: &str, keys: &[LinkKey]) -> Result<(), StoreError> {
        for key in keys {
            self.client
                .delete_item()
                .table_name(&self.table)
                .key("pk", AttributeValue::S(tenant.to_owned()))
                .key("sk", AttributeValue::S(creation_key(key)))
                .send()
                .await
                .map_err(|e| aws_error("DynamoDB", "DeleteItem", e))?;
        }
        Ok(())
    }

    /// Removes the link for `key` (the record was deleted or merged); absent is fine.
    pub async fn forget(&self, tenant: &str, key: &LinkKey) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(tenant, key)))
            .send()
            .await
            .map_err(|e| aws_error("DynamoDB", "DeleteItem", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_never_widen_the_tenants_rules() {
        let keys = Keys {
            platform_contact_id: Some("1".into()),
            email: Some("a@example.com".into()),
            phone: Some("+14155550132".into()),
            ..Keys::default()
        };
        let only_phone = LinkKey::linkable(Platform::Intercom, &keys, &[MatchKey::Phone]);
        assert_eq!(only_phone.len(), 2);
        assert!(matches!(only_phone[1], LinkKey::Phone(_)));
        assert_eq!(
            LinkKey::linkable(Platform::Intercom, &keys, &[MatchKey::ExternalId]).len(),
            1
        );
    }

    #[test]
    fn keys_render_by_kind() {
        let keys = Keys {
            platform_contact_id: Some("c-1".into()),
            email: Some("a@b.io".into()),
            phone: Some("+15551211212".into()),
            ..Keys::default()
        };
        let rendered: Vec<String> = LinkKey::for_keys(Platform::RespondIo, &keys)
            .iter()
            .map(LinkKey::render)
            .collect();
        assert_eq!(
            rendered,
            [
                "platform:respondio:c-1".to_owned(),
                format!(
                    "email:sha256:{}",
                    hex::encode(Sha256::digest("email:a@b.io"))
                ),
                format!(
                    "phone:sha256:{}",
                    hex::encode(Sha256::digest("phone:+15551211212"))
                ),
            ]
        );
        assert!(LinkKey::for_keys(Platform::Tidio, &Keys::default()).is_empty());
    }

    #[test]
    fn long_keys_are_hashed_and_stay_distinct() {
        let a = LinkKey::Email(format!("{}@x.io", "a".repeat(600))).render();
        let b = LinkKey::Email(format!("{}@x.io", "b".repeat(600))).render();
        assert!(a.starts_with("email:sha256:") && a.len() == "email:sha256:".len() + 64);
        assert_ne!(a, b);
    }
}
