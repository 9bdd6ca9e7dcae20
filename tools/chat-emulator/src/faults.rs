//! Injected failures for the platforms' API calls: 429 with `Retry-After`, 5xx, timeouts (a
//! delay past the client's), malformed JSON and 404s, at a rate or for the next N matching calls.
//!
//! Rates are deterministic per rule, as in the Salesforce emulator: a rule at rate 0.2 fires on
//! the 5th, 10th, 15th… call it matches, so tests that use them are reproducible.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FaultKind {
    /// 429 with the platform's rate-limit headers and `Retry-After`.
    RateLimited,
    /// 503 with the platform's error body.
    ServerError,
    /// 200 with a body that is not JSON.
    Malformed,
    /// 404 with the platform's error body, as for a deleted record.
    NotFound,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultRule {
    /// None: only latency is injected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<FaultKind>,
    /// Only calls to this platform (`intercom`, `tidio`, `respondio`, `cloudcx`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Only request paths containing this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Fraction of matching calls that fail (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Only the next N firings (default: until cleared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Seconds in `Retry-After` for `rate_limited` (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Delay before answering; beyond a client's timeout this is a timeout.
    #[serde(default)]
    pub latency_ms: u64,
    #[serde(default, skip_deserializing)]
    pub seen: u64,
    #[serde(default, skip_deserializing)]
    pub fired: u64,
    /// Firings due while an earlier rule took the call: delivered on the next matching calls,
    /// so each rule keeps its own rate (two rules at 0.1 fail a fifth of the calls).
    #[serde(skip)]
    pub owed: u64,
}

impl FaultRule {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if let Some(rate) = self.rate
            && !(rate > 0.0 && rate <= 1.0)
        {
            return Err(format!(
                "\"rate\" must be above 0 and at most 1, not {rate}"
            ));
        }
        if let Some(p) = &self.platform
            && !crate::PLATFORMS.contains(&p.as_str())
        {
            return Err(format!(
                "unknown platform {p:?}; use one of {}",
                crate::PLATFORMS.join(", ")
            ));
        }
        if self.error.is_none() && self.latency_ms == 0 {
            return Err("a fault needs an \"error\" or a \"latency_ms\"".into());
        }
        Ok(())
    }

    fn matches(&self, platform: &str, path: &str) -> bool {
        self.platform.as_deref().is_none_or(|p| p == platform)
            && self.path.as_deref().is_none_or(|p| path.contains(p))
            && self.count.is_none_or(|n| self.fired < n)
    }
}

/// What the first due rule asks of this call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Fault {
    pub error: Option<FaultKind>,
    pub retry_after: u64,
    pub latency_ms: u64,
}

/// Counts the call against every matching rule and returns the fault of the first one due.
pub(crate) fn next(rules: &mut [FaultRule], platform: &str, path: &str) -> Option<Fault> {
    let mut out = None;
    for rule in rules.iter_mut().filter(|r| r.matches(platform, path)) {
        rule.seen += 1;
        let due = match rule.rate {
            None => true,
            // Fires when the running count of expected firings passes a whole number.
            Some(rate) => {
                let before = ((rule.seen - 1) as f64 * rate + 1e-9).floor();
                let now = (rule.seen as f64 * rate + 1e-9).floor();
                now > before
            }
        };
        if due {
            rule.owed += 1;
        }
        if rule.owed > 0 && out.is_none() {
            rule.owed -= 1;
            rule.fired += 1;
            out = Some(Fault {
                error: rule.error,
                retry_after: rule.retry_after.unwrap_or(2),
                latency_ms: rule.latency_ms,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(json: serde_json::Value) -> FaultRule {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_rate_fires_on_a_fixed_rhythm_and_a_count_stops_it() {
        let mut rules = vec![rule(
            serde_json::json!({"error": "server_error", "rate": 0.2}),
        )];
        let fired: Vec<bool> = (0..10)
            .map(|_| next(&mut rules, "tidio", "/contacts/1").is_some())
            .collect();
        assert_eq!(
            fired,
            [
                false, false, false, false, true, false, false, false, false, true
            ]
        );
        let mut once = vec![rule(serde_json::json!({"error": "not_found", "count": 1,
            "platform": "intercom", "path": "/conversations/"}))];
        assert!(next(&mut once, "tidio", "/conversations/1").is_none());
        assert!(next(&mut once, "intercom", "/contacts/1").is_none());
        assert_eq!(
            next(&mut once, "intercom", "/conversations/1").and_then(|f| f.error),
            Some(FaultKind::NotFound)
        );
        assert!(next(&mut once, "intercom", "/conversations/1").is_none());
    }

    #[test]
    fn two_rules_due_on_one_call_each_keep_their_rate() {
        let mut rules = vec![
            rule(serde_json::json!({"error": "rate_limited", "rate": 0.1})),
            rule(serde_json::json!({"error": "server_error", "rate": 0.1})),
        ];
        let errors: Vec<Option<FaultKind>> = (0..21)
            .map(|_| next(&mut rules, "tidio", "/operators").and_then(|f| f.error))
            .collect();
        let failed = errors.iter().filter(|e| e.is_some()).count();
        assert_eq!(
            failed, 4,
            "a fifth of 20, the last owed to the 21st: {errors:?}"
        );
        assert_eq!(errors[9], Some(FaultKind::RateLimited));
        assert_eq!(
            errors[10],
            Some(FaultKind::ServerError),
            "owed, then delivered"
        );
    }

    #[test]
    fn meaningless_rules_are_refused() {
        for bad in [
            serde_json::json!({"error": "server_error", "rate": 0}),
            serde_json::json!({"error": "server_error", "platform": "slack"}),
            serde_json::json!({"rate": 0.5}),
        ] {
            assert!(rule(bad).validate().is_err());
        }
        assert!(serde_json::from_value::<FaultRule>(serde_json::json!({"error": "boom"})).is_err());
    }
}
