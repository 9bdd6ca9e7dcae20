//! Injected failures for REST calls: lock contention, unavailability, HTML error pages and slow
//! responses, at a rate, for the next N matching calls, or for paths containing a string.
//!
//! Rates are applied deterministically (a rule with rate 0.25 fires on every 4th matching call),
//! so tests that use them are reproducible.

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum FaultKind {
    #[serde(rename = "UNABLE_TO_LOCK_ROW")]
    UnableToLockRow,
    #[serde(rename = "SERVER_UNAVAILABLE")]
    ServerUnavailable,
    #[serde(rename = "HTML_500")]
    Html500,
    #[serde(rename = "REQUEST_LIMIT_EXCEEDED")]
    RequestLimitExceeded,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FaultRule {
    /// None: only latency is injected.
    #[serde(default)]
    pub error: Option<FaultKind>,
    /// Fraction of matching calls that fail (default: all).
    #[serde(default)]
    pub rate: Option<f64>,
    /// Only the next N matching calls (default: until cleared).
    #[serde(default)]
    pub count: Option<u64>,
    /// Only request paths containing this text.
    #[serde(default)]
    pub path: Option<String>,
    /// Only this HTTP method.
    #[serde(default)]
    pub method: Option<String>,
    /// Delay before answering; beyond a client's timeout this is a timeout.
    #[serde(default)]
    pub latency_ms: u64,
    #[serde(skip)]
    pub seen: u64,
}

/// What a matching rule does to one call.
#[derive(Debug, Clone, Default)]
pub struct FaultOutcome {
    pub error: Option<FaultKind>,
    pub latency_ms: u64,
}

/// Picks the first rule that fires for this call, consuming its count.
pub fn pick(rules: &mut Vec<FaultRule>, method: &str, path: &str) -> FaultOutcome {
    let mut outcome = FaultOutcome::default();
    for rule in rules.iter_mut() {
        if rule.path.as_deref().is_some_and(|p| !path.contains(p))
            || rule
                .method
                .as_deref()
                .is_some_and(|m| !m.eq_ignore_ascii_case(method))
            || rule.count == Some(0)
        {
            continue;
        }
        let n = rule.seen;
        rule.seen += 1;
        let rate = rule.rate.unwrap_or(1.0).clamp(0.0, 1.0);
        // Fires when the running total of `rate` crosses an integer.
        let fires = ((n + 1) as f64 * rate).floor() > (n as f64 * rate).floor();
        if !fires {
            continue;
        }
        if let Some(c) = rule.count.as_mut() {
            *c -= 1;
        }
        outcome.latency_ms = outcome.latency_ms.max(rule.latency_ms);
        if rule.error.is_some() {
            outcome.error = rule.error;
            break;
        }
    }
    rules.retain(|r| r.count != Some(0));
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(error: Option<FaultKind>, rate: Option<f64>, count: Option<u64>) -> FaultRule {
        FaultRule {
            error,
            rate,
            count,
            path: None,
            method: None,
            latency_ms: 0,
            seen: 0,
        }
    }

    #[test]
    fn rate_is_deterministic() {
        let mut rules = vec![rule(Some(FaultKind::UnableToLockRow), Some(0.5), None)];
        let fired: Vec<bool> = (0..4)
            .map(|_| pick(&mut rules, "GET", "/x").error.is_some())
            .collect();
        assert_eq!(fired, vec![false, true, false, true]);
    }

    #[test]
    fn count_expires() {
        let mut rules = vec![rule(Some(FaultKind::ServerUnavailable), None, Some(2))];
        assert!(pick(&mut rules, "GET", "/x").error.is_some());
        assert!(pick(&mut rules, "GET", "/x").error.is_some());
        assert!(pick(&mut rules, "GET", "/x").error.is_none());
        assert!(rules.is_empty());
    }
}
