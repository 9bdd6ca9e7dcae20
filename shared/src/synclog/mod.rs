//! The sync log: every step of every delivery under its correlation id, so an operator can
//! follow one webhook to the records it touched. Entries never hold secrets; payloads held
//! here are the platform's raw body (for replay), kept only as long as the tenant's retention.

pub mod payload;

use crate::error::ErrorClass;
use crate::platforms::Platform;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Intake,
    Resolve,
    Write,
    Retry,
    Park,
    Replay,
    /// Salesforce → chat: a change written to the chat platforms (chat-writer).
    ToChat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Done.
    Ok,
    /// Nothing to do at this step (yet): recorded so the trail shows the step was reached.
    Passed,
    /// A repeat of a delivery already taken.
    Duplicate,
    /// Failed; may be retried.
    Error,
    /// Set aside for an operator: a review item.
    Parked,
}

impl Outcome {
    /// Open entries appear in the per-tenant index of errors and review items.
    pub fn is_open(self) -> bool {
        matches!(self, Outcome::Parked)
    }
}

/// Where open entries of messages that could not be read as a delivery are listed: no tenant
/// can be read from them. Not a valid tenant id, so it never collides with a real tenant.
pub const UNREADABLE_TENANT: &str = "_unreadable";

/// A queue stage a parked message can be replayed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// resolve.fifo: the event goes through identity resolution again.
    Resolve,
    /// write.fifo: the event (already carrying its resolution) is written again.
    Write,
}

impl Stage {
    pub const ALL: [Stage; 2] = [Stage::Resolve, Stage::Write];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Resolve => "resolve",
            Stage::Write => "write",
        }
    }

    /// The environment variable holding the stage's queue URL (as the functions read it).
    pub fn queue_env(self) -> &'static str {
        match self {
            Stage::Resolve => crate::config::vars::RESOLVE_QUEUE_URL,
            Stage::Write => crate::config::vars::WRITE_QUEUE_URL,
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stage name that is neither `resolve` nor `write`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown stage {0:?} (expected resolve or write)")]
pub struct UnknownStage(pub String);

impl std::str::FromStr for Stage {
    type Err = UnknownStage;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stage::ALL
            .into_iter()
            .find(|stage| stage.as_str() == s)
            .ok_or_else(|| UnknownStage(s.to_owned()))
    }
}

/// One step of one delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncLogEntry {
    pub correlation_id: String,
    pub tenant_id: String,
    /// None for a message that could not be read as a delivery.
    pub platform: Option<Platform>,
    pub step: Step,
    pub outcome: Outcome,
    /// Plain words for an operator.
    pub detail: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[serde(default)]
    pub topic: Option<String>,
    #[serde(default)]
    pub records: Vec<String>,
    #[serde(default)]
    pub error_class: Option<ErrorClass>,
    #[serde(default)]
    pub attempts: u32,
    /// For parked entries: the payload needed to replay (the queued message body).
    #[serde(default)]
    pub payload: Option<String>,
    /// For parked entries: the queue the payload goes back to on replay. None in entries
    /// written before it was recorded.
    #[serde(default)]
    pub replay_to: Option<Stage>,
    /// For parked entries: the FIFO message group the payload was queued in, so a replay
    /// keeps its conversation's order.
    #[serde(default)]
    pub group_id: Option<String>,
    /// The stored Salesforce requests and answers of this step (see [`payload`]), when the
    /// tenant keeps them; the same document may serve every event of one write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_ref: Option<String>,
    /// The SQS message a consumer was handling. A dead letter keeps its message id, so the
    /// drainer judges it by its own failures, not by those of an earlier copy (one parked,
    /// then replayed or redriven under a new id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

impl SyncLogEntry {
    pub fn new(
        correlation_id: &str,
        tenant_id: &str,
        platform: impl Into<Option<Platform>>,
        step: Step,
        outcome: Outcome,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            correlation_id: correlation_id.to_owned(),
            tenant_id: tenant_id.to_owned(),
            platform: platform.into(),
            step,
            outcome,
            detail: detail.into(),
            at: OffsetDateTime::now_utc(),
            topic: None,
            records: Vec::new(),
            error_class: None,
            attempts: 0,
            payload: None,
            replay_to: None,
            group_id: None,
            payload_ref: None,
            message_id: None,
        }
    }

    pub fn topic(mut self, topic: &str) -> Self {
        self.topic = Some(topic.to_owned());
        self
    }

    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts;
        self
    }

    pub fn error_class(mut self, class: ErrorClass) -> Self {
        self.error_class = Some(class);
        self
    }

    pub fn payload(mut self, payload: &str) -> Self {
        self.payload = Some(payload.to_owned());
        self
    }

    pub fn replay_to(mut self, stage: Stage) -> Self {
        self.replay_to = Some(stage);
        self
    }

    pub fn message_id(mut self, message_id: Option<&str>) -> Self {
        self.message_id = message_id.map(str::to_owned);
        self
    }

    pub fn group_id(mut self, group_id: &str) -> Self {
        self.group_id = Some(group_id.to_owned());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_written_before_replay_fields_still_read() {
        let old = r#"{"correlation_id":"c1","tenant_id":"demo","platform":"intercom",
            "step":"park","outcome":"parked","detail":"d","at":"2024-05-01T10:00:00Z"}"#;
        let entry: SyncLogEntry = serde_json::from_str(old).expect("old entry reads");
        assert_eq!(entry.replay_to, None);
        assert_eq!(entry.group_id, None);
        assert_eq!(entry.attempts, 0);
    }

    #[test]
    fn replay_fields_round_trip_in_snake_case() {
        let entry = SyncLogEntry::new("c1", "demo", None, Step::Write, Outcome::Parked, "d")
            .replay_to(Stage::Write)
            .group_id("demo:intercom:conversation:1");
        let json = serde_json::to_value(&entry).expect("serializes");
        assert_eq!(json["replay_to"], "write");
        assert_eq!(json["group_id"], "demo:intercom:conversation:1");
        let back: SyncLogEntry = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, entry);
    }

    #[test]
    fn stages_parse_and_name_their_queue_variables() {
        assert_eq!("resolve".parse(), Ok(Stage::Resolve));
        assert_eq!("write".parse(), Ok(Stage::Write));
        assert!("park".parse::<Stage>().is_err());
        assert_eq!(Stage::Resolve.queue_env(), "RESOLVE_QUEUE_URL");
        assert_eq!(Stage::Write.queue_env(), "WRITE_QUEUE_URL");
    }
}
