//! The sync log: every step of every delivery under its correlation id, so an operator can
//! follow one webhook to the records it touched. Entries never hold secrets; payloads held
//! here are the platform's raw body (for replay), kept only as long as the tenant's retention.

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
}
