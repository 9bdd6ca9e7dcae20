//! A change made in Salesforce on its way to the chat platforms: one message of changes.fifo,
//! from an outbound message's notification (or, later, the poller). The record's fields are
//! personal (e-mails, names): on the queue they are sealed with the tenant's data key
//! (`Sealer::seal_change`).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Where a change was learnt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeSource {
    /// A Salesforce Outbound Message (workflow or Flow action).
    OutboundMessage,
    /// The salesforce-poller's `sobjects/{type}/updated` window.
    Poll,
}

/// The record's fields as the message carried them: API name → value (None: null in
/// Salesforce).
pub type ChangedFields = BTreeMap<String, Option<String>>;

/// One changed record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesforceChange {
    pub tenant_id: String,
    /// Shared by the log lines and sync log entries about this change.
    pub correlation_id: String,
    pub source: ChangeSource,
    /// What makes a repeat the same change: the outbound notification id.
    pub change_id: String,
    /// `Contact`, `Lead`, …
    pub sobject: String,
    pub record_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The fields the message carried (only the record's latest state is ever sent).
    #[serde(default, skip_serializing)]
    pub fields: ChangedFields,
}

impl SalesforceChange {
    /// One FIFO group per record: its changes apply in order.
    pub fn group_id(&self) -> String {
        hashed(&format!(
            "{}#{}#{}",
            self.tenant_id, self.sobject, self.record_id
        ))
    }

    /// A repeat of the same notification is the same message (SQS drops it for five minutes;
    /// the delivery claim drops it for longer).
    pub fn dedupe_id(&self) -> String {
        hashed(&format!("{}#{}", self.tenant_id, self.change_id))
    }

    /// What a sealed copy of the fields is bound to.
    pub fn seal_context(&self) -> String {
        format!("change#{}#{}", self.sobject, self.change_id)
    }
}

/// SQS ids take at most 128 characters: a hex SHA-256 prefix keeps them short and opaque.
fn hashed(s: &str) -> String {
    hex::encode(&Sha256::digest(s.as_bytes())[..20])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(id: &str, record: &str) -> SalesforceChange {
        SalesforceChange {
            tenant_id: "demo".into(),
            correlation_id: "c1".into(),
            source: ChangeSource::OutboundMessage,
            change_id: id.into(),
            sobject: "Contact".into(),
            record_id: record.into(),
            received_at: OffsetDateTime::UNIX_EPOCH,
            fields: [("Email".to_owned(), Some("ada@example.org".to_owned()))]
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn a_record_is_one_group_and_a_notification_one_message() {
        let a = change("04l1", "0031");
        assert_eq!(a.group_id(), change("04l2", "0031").group_id());
        assert_ne!(a.group_id(), change("04l1", "0032").group_id());
        assert_eq!(a.dedupe_id(), change("04l1", "0031").dedupe_id());
        assert_ne!(a.dedupe_id(), change("04l2", "0031").dedupe_id());
        assert!(a.group_id().len() <= 128 && a.dedupe_id().len() <= 128);
    }

    #[test]
    fn the_fields_never_travel_in_clear() {
        let json = serde_json::to_string(&change("04l1", "0031")).expect("json");
        assert!(!json.contains("ada@example.org"), "{json}");
    }
}
