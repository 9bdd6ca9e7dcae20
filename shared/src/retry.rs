//! The consumers' retry policy: when a message failed, how long until SQS offers it again.
//!
//! - Transient and session errors: exponential backoff with jitter by receive count
//!   (`base · 2^(n-1)`, capped, then a random point in its upper half).
//! - The Salesforce daily limit: the message is held for `hold` (the limit rolls over a
//!   24-hour window, so an hour at a time wastes few receives); the drainer redrives it if it
//!   reaches the DLQ all the same.
//! - Data and configuration errors: no retry; the consumer parks the message at once.
//!
//! The delay is set with ChangeMessageVisibility on the failed messages before the batch
//! reports them, so Lambda's retry comes when the policy says, not after the queue's timeout.

use crate::config::{ConfigError, Env, vars};
use crate::error::ErrorClass;
use crate::store::queue::MAX_VISIBILITY;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
    /// How long a message waits when the tenant's daily API limit is spent.
    pub hold: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(5),
            cap: Duration::from_secs(300),
            hold: Duration::from_secs(3600),
        }
    }
}

impl Backoff {
    /// `RETRY_BASE_SECONDS`, `RETRY_CAP_SECONDS`, `RATE_LIMIT_HOLD_SECONDS`, each optional.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let d = Self::default();
        let secs = |name, default: Duration| -> Result<Duration, ConfigError> {
            Ok(Duration::from_secs(env.number_or(name, default.as_secs())?).min(MAX_VISIBILITY))
        };
        Ok(Self {
            base: secs(vars::RETRY_BASE_SECONDS, d.base)?,
            cap: secs(vars::RETRY_CAP_SECONDS, d.cap)?,
            hold: secs(vars::RATE_LIMIT_HOLD_SECONDS, d.hold)?,
        })
    }

    /// How long until the message is offered again; None when retrying cannot help (park it).
    /// `receives` is SQS's ApproximateReceiveCount (1 on the first delivery); `jitter` is a
    /// random number in [0, 1).
    pub fn delay(&self, class: ErrorClass, receives: u32, jitter: f64) -> Option<Duration> {
        match class {
            ErrorClass::Data | ErrorClass::Configuration => None,
            ErrorClass::RateLimited => Some(self.hold),
            ErrorClass::Transient | ErrorClass::Session => {
                let exponent = receives.saturating_sub(1).min(20);
                let full = self.base.saturating_mul(1u32 << exponent).min(self.cap);
                // Equal jitter: at least half the backoff, so retries spread but still back off.
                let jitter = jitter.clamp(0.0, 1.0);
                Some(full / 2 + full.mul_f64(jitter / 2.0))
            }
        }
    }
}

/// A random number in [0, 1) for jitter (from the process's random source through uuid).
pub fn jitter() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() as u64 >> 11;
    bits as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_errors_back_off_exponentially_with_jitter_up_to_the_cap() {
        let b = Backoff {
            base: Duration::from_secs(4),
            cap: Duration::from_secs(60),
            hold: Duration::from_secs(3600),
        };
        let t = ErrorClass::Transient;
        assert_eq!(b.delay(t, 1, 0.0), Some(Duration::from_secs(2)));
        assert_eq!(b.delay(t, 1, 1.0), Some(Duration::from_secs(4)));
        assert_eq!(b.delay(t, 3, 0.0), Some(Duration::from_secs(8)));
        assert_eq!(b.delay(t, 3, 0.5), Some(Duration::from_secs(12)));
        assert_eq!(b.delay(t, 30, 1.0), Some(Duration::from_secs(60)));
        assert_eq!(
            b.delay(ErrorClass::Session, 0, 0.0),
            Some(Duration::from_secs(2))
        );
    }

    #[test]
    fn the_daily_limit_holds_and_data_errors_are_not_retried() {
        let b = Backoff::default();
        assert_eq!(b.delay(ErrorClass::RateLimited, 4, 0.3), Some(b.hold));
        assert_eq!(b.delay(ErrorClass::Data, 1, 0.3), None);
        assert_eq!(b.delay(ErrorClass::Configuration, 1, 0.3), None);
    }

    #[test]
    fn jitter_stays_in_range() {
        for _ in 0..1000 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }
}
