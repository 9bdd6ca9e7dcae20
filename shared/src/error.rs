//! Error classification: one place decides what the pipeline does with a failure.

use serde::{Deserialize, Serialize};

/// What kind of failure an error is, which decides retries in exactly one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Worth retrying with backoff: throttling, 5xx, timeouts, locked rows.
    Transient,
    /// A quota that resets later (Salesforce daily limit): hold, do not spend retries.
    RateLimited,
    /// Credentials expired: refresh and replay.
    Session,
    /// The data itself is refused: park for review, never retry blindly.
    Data,
    /// The tenant's setup is wrong (missing secret, bad config): alert, park.
    Configuration,
}

impl ErrorClass {
    /// Whether retrying the same input unchanged can succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::Transient | Self::RateLimited | Self::Session)
    }
}

/// Implemented by every error type that can reach a consumer's retry decision.
pub trait Classify {
    fn class(&self) -> ErrorClass;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_kinds_are_retryable() {
        assert!(ErrorClass::Transient.is_retryable());
        assert!(ErrorClass::RateLimited.is_retryable());
        assert!(ErrorClass::Session.is_retryable());
        assert!(!ErrorClass::Data.is_retryable());
        assert!(!ErrorClass::Configuration.is_retryable());
    }
}
