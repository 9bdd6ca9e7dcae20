//! What the writer remembers per conversation and per Salesforce field, so that it sends only
//! what changed and never rolls a field back.
//!
//! Order is by [`Stamp`]: the platform's event time, ties broken by delivery id and event index.
//! Every value the writer derives carries the stamp of the event it came from; a value with an
//! older stamp than the field's watermark is dropped. Whatever order the deliveries arrive in,
//! each field ends with the value of the newest event.

use crate::identity::rules::Person;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// The order of chat events: event time, then a stable tie-break.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Stamp {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// `delivery_id#index`, zero-padded, so equal times still order the same way everywhere.
    pub tiebreak: String,
}

impl Stamp {
    pub fn new(at: OffsetDateTime, delivery_id: &str, index: u32) -> Self {
        Self {
            at,
            tiebreak: format!("{delivery_id}#{index:05}"),
        }
    }
}

/// The last value chatsync wrote (or decided to keep) for one field of one record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Watermark {
    /// Hash of the normalised value (see [`value_hash`]).
    pub hash: String,
    /// The value itself, for the sync log's "both values" when Salesforce disagrees.
    pub value: Value,
    pub stamp: Stamp,
}

/// Watermarks of one record, by field name.
pub type RecordWatermarks = BTreeMap<String, Watermark>;

/// Hash of a field value after normalising text (trimmed; empty text is null), so "A " and
/// "A" or "" and null are one value, as Salesforce stores them.
pub fn value_hash(value: &Value) -> String {
    let normalised = normalise_value(value);
    let digest = Sha256::digest(normalised.to_string().as_bytes());
    hex::encode(&digest[..12])
}

pub fn normalise_value(value: &Value) -> Value {
    match value {
        Value::String(s) if s.trim().is_empty() => Value::Null,
        Value::String(s) => Value::String(s.trim().to_owned()),
        other => other.clone(),
    }
}

/// The Case a conversation is written to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseLink {
    /// None until Salesforce answered (the Case is then upserted by the conversation key).
    #[serde(default)]
    pub id: Option<String>,
    /// An existing open Case of the Contact, not one chatsync made.
    #[serde(default)]
    pub reused: bool,
}

/// One transcript part as last written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartState {
    #[serde(default)]
    pub id: Option<String>,
    /// Hash of the text last written; empty when never written.
    #[serde(default)]
    pub hash: String,
}

/// A tag's presence as last said by an event; add/remove are applied by stamp, so reordered
/// deliveries end with the same set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagState {
    pub present: bool,
    pub stamp: Stamp,
}

/// Everything the writer keeps for one conversation (one item of the conversations table).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConversationState {
    /// Optimistic-lock version: a save succeeds only over the version it read.
    #[serde(default)]
    pub version: u64,
    #[serde(default)]
    pub conversation_id: String,
    /// Which of the key's conversations this is, where the key is the contact (respond.io):
    /// 0 for the first, then one more per conversation opened after a close (`mapping::spans`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub span: u32,
    /// The close that ended the key's previous conversation: events up to it belong there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_close: Option<Stamp>,
    #[serde(default)]
    pub url: Option<String>,
    /// The conversation's channel and inbox names, for `[config.channels]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channel: Vec<String>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    /// The Salesforce person, with the stamp of the event that named it.
    #[serde(default)]
    pub person: Option<(Person, Stamp)>,
    /// The visitor's name and contact details, for a Lead's Case (SuppliedName…).
    #[serde(default)]
    pub supplied: BTreeMap<String, String>,
    #[serde(default)]
    pub tags: BTreeMap<String, TagState>,
    /// Whether the chat is closed, as of the newest close or reopen event.
    #[serde(default)]
    pub closed: Option<(bool, Stamp)>,
    /// Whether the conversation gets a Case (decided once, from the trigger).
    #[serde(default)]
    pub wants_case: bool,
    #[serde(default)]
    pub case: Option<CaseLink>,
    /// For `relate_task_to = "opportunity"`: the Opportunity found, once looked up.
    #[serde(default)]
    pub opportunity: Option<Option<String>>,
    /// The conversation's (first) Task.
    #[serde(default)]
    pub task_id: Option<String>,
    /// Transcript parts (Tasks — the first being `task_id` —, CaseComments or transcript
    /// records), in order.
    #[serde(default)]
    pub parts: Vec<PartState>,
    /// Transcript lines stored but not yet written to Salesforce.
    #[serde(default)]
    pub unsent_lines: u32,
    /// When the oldest of them arrived; the drainer writes a quiet conversation's lines after
    /// a while.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub unsent_since: Option<OffsetDateTime>,
    /// A write with creates was sent and its answer not recorded: the records may exist.
    #[serde(default)]
    pub in_flight: bool,
    /// Per record id: its LastModifiedDate after chatsync's last write (for If-Unmodified-Since).
    #[serde(default)]
    pub modstamps: BTreeMap<String, String>,
    /// The newest value asked of each field so far (`Case.Status` → value and stamp), so a
    /// record made later (a Case triggered by a tag, one recreated after a deletion) gets them.
    #[serde(default)]
    pub fields: BTreeMap<String, (Value, Stamp)>,
    /// The newest assignment: agent e-mail and queue, with its stamp.
    #[serde(default)]
    pub owner: Option<(Option<String>, Option<String>, Stamp)>,
    /// Attachments already stored or linked, by URL hash.
    #[serde(default)]
    pub attachments: BTreeMap<String, String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl ConversationState {
    /// The tags present now, sorted.
    pub fn current_tags(&self) -> Vec<&str> {
        self.tags
            .iter()
            .filter(|(_, t)| t.present)
            .map(|(k, _)| k.as_str())
            .collect()
    }

    /// Records a close or reopen unless a newer one is known.
    pub fn set_closed(&mut self, closed: bool, stamp: &Stamp) {
        if self.closed.as_ref().is_none_or(|(_, s)| s <= stamp) {
            self.closed = Some((closed, stamp.clone()));
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.as_ref().is_some_and(|(c, _)| *c)
    }

    /// Remembers a field value unless a newer one is known.
    pub fn remember(&mut self, key: String, value: &Value, stamp: &Stamp) {
        match self.fields.get(&key) {
            Some((_, old)) if old > stamp => {}
            _ => {
                self.fields.insert(key, (value.clone(), stamp.clone()));
            }
        }
    }

    /// The newest stamp among the tag states: the tag set's own version.
    pub fn tags_stamp(&self) -> Option<&Stamp> {
        self.tags.values().map(|t| &t.stamp).max()
    }

    /// Applies one tag change if it is newer than what the tag last heard.
    pub fn set_tag(&mut self, tag: &str, present: bool, stamp: &Stamp) {
        let tag = tag.trim();
        if tag.is_empty() {
            return;
        }
        match self.tags.get(tag) {
            Some(old) if old.stamp > *stamp => {}
            _ => {
                self.tags.insert(
                    tag.to_owned(),
                    TagState {
                        present,
                        stamp: stamp.clone(),
                    },
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn stamps_order_by_time_then_tiebreak() {
        let a = Stamp::new(datetime!(2026-01-01 10:00 UTC), "d2", 0);
        let b = Stamp::new(datetime!(2026-01-01 10:00 UTC), "d2", 1);
        let c = Stamp::new(datetime!(2026-01-01 09:59 UTC), "d9", 9);
        assert!(c < a && a < b);
    }

    #[test]
    fn tag_changes_converge_whatever_their_order() {
        let add = Stamp::new(datetime!(2026-01-01 10:00 UTC), "d1", 0);
        let remove = Stamp::new(datetime!(2026-01-01 10:05 UTC), "d2", 0);
        let mut in_order = ConversationState::default();
        in_order.set_tag("billing", true, &add);
        in_order.set_tag("billing", false, &remove);
        let mut reversed = ConversationState::default();
        reversed.set_tag("billing", false, &remove);
        reversed.set_tag("billing", true, &add);
        assert_eq!(in_order.tags, reversed.tags);
        assert!(in_order.current_tags().is_empty());
    }

    #[test]
    fn blank_text_and_null_are_one_value() {
        assert_eq!(
            value_hash(&Value::String("  ".into())),
            value_hash(&Value::Null)
        );
        assert_eq!(
            value_hash(&Value::String("High ".into())),
            value_hash(&Value::String("High".into()))
        );
        assert_ne!(
            value_hash(&Value::String("High".into())),
            value_hash(&Value::String("Low".into()))
        );
    }
}
