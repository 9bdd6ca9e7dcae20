//! The queued delivery: what the intake puts on resolve.fifo and every later step carries.

use crate::platforms::Platform;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// One verified webhook delivery on its way through the queues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedDelivery {
    pub correlation_id: String,
    pub tenant_id: String,
    pub platform: Platform,
    pub delivery_id: String,
    pub topic: String,
    pub conversation_key: String,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub occurred_at: Option<OffsetDateTime>,
    /// The raw body as the platform sent it (verified, UTF-8).
    pub body: String,
}

/// SQS allows at most 128 characters in group and deduplication ids.
const SQS_ID_MAX: usize = 128;

impl QueuedDelivery {
    /// The idempotency key of this delivery: unique per tenant and platform.
    pub fn delivery_key(&self) -> String {
        delivery_key(&self.tenant_id, self.platform, &self.delivery_id)
    }

    /// `tenant:platform:conversation`, so one conversation is processed in order.
    pub fn group_id(&self) -> String {
        let id = format!(
            "{}:{}:{}",
            self.tenant_id, self.platform, self.conversation_key
        );
        sqs_safe(&id)
    }

    /// Stable across redeliveries of the same webhook, so FIFO deduplication drops repeats.
    pub fn dedupe_id(&self) -> String {
        hex::encode(Sha256::digest(self.delivery_key().as_bytes()))
    }
}

pub fn delivery_key(tenant_id: &str, platform: Platform, delivery_id: &str) -> String {
    format!("{tenant_id}#{platform}#{delivery_id}")
}

/// A new correlation id: created once at intake, carried by every step.
pub fn new_correlation_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Keeps an id within SQS's length and character rules; long or odd ids keep a readable
/// prefix and a hash so they stay unique.
fn sqs_safe(id: &str) -> String {
    let clean = id
        .chars()
        .all(|c| c.is_ascii_graphic())
        .then_some(id.len() <= SQS_ID_MAX);
    if clean == Some(true) {
        return id.to_owned();
    }
    let prefix: String = id
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(SQS_ID_MAX - 65)
        .collect();
    format!("{prefix}~{}", hex::encode(Sha256::digest(id.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(conversation: &str) -> QueuedDelivery {
        QueuedDelivery {
            correlation_id: new_correlation_id(),
            tenant_id: "acme".into(),
            platform: Platform::Intercom,
            delivery_id: "notif_1".into(),
            topic: "conversation.user.created".into(),
            conversation_key: conversation.into(),
            received_at: OffsetDateTime::UNIX_EPOCH,
            occurred_at: None,
            body: "{}".into(),
        }
    }

    #[test]
    fn group_ids_keep_one_conversation_together_and_stay_within_sqs_rules() {
        assert_eq!(
            delivery("conversation:1").group_id(),
            "acme:intercom:conversation:1"
        );
        let long = delivery(&"x".repeat(300)).group_id();
        assert!(long.len() <= SQS_ID_MAX, "{}", long.len());
        assert_ne!(long, delivery(&"x".repeat(301)).group_id());
        let spaced = delivery("conversation:a b é").group_id();
        assert!(spaced.chars().all(|c| c.is_ascii_graphic()));
    }

    #[test]
    fn the_dedupe_id_depends_only_on_the_delivery() {
        let a = delivery("conversation:1");
        let mut b = delivery("conversation:1");
        b.correlation_id = new_correlation_id();
        assert_eq!(a.dedupe_id(), b.dedupe_id());
        b.delivery_id = "notif_2".into();
        assert_ne!(a.dedupe_id(), b.dedupe_id());
        assert_eq!(a.dedupe_id().len(), 64);
    }

    #[test]
    fn it_round_trips_through_json() {
        let d = delivery("conversation:1");
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<QueuedDelivery>(&json).unwrap(), d);
    }
}
