//! Injected failures for REST calls: lock contention, unavailability, HTML error pages, dropped
//! connections and slow responses, at a rate, for the next N matching calls, or for paths
//! containing a string.
//!
//! Rates are applied deterministically, per rule, over every call the rule matches: a rule with
//! rate 0.2 fires on exactly the 5th, 10th, 15th… matching call, so tests that use them are
//! reproducible. When two rules are due on the same call, the earlier rule takes it and the later
//! one fires on its next matching call, so each rule keeps its own rate (two rules at 0.1 fail
//! 20% of the calls both match). A rule with several `errors` answers with them in turn.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub(crate) enum FaultKind {
    #[serde(rename = "UNABLE_TO_LOCK_ROW")]
    UnableToLockRow,
    #[serde(rename = "SERVER_UNAVAILABLE")]
    ServerUnavailable,
    #[serde(rename = "HTML_500")]
    Html500,
    #[serde(rename = "REQUEST_LIMIT_EXCEEDED")]
    RequestLimitExceeded,
    /// The connection is closed without any HTTP response: the client sees a transport error at
    /// once, as after a timeout. With the rule's `applied`, the call is carried out first.
    #[serde(rename = "DROP")]
    Drop,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultRule {
    /// One kind of failure; None (and no `errors`): only latency is injected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<FaultKind>,
    /// Several kinds, used in turn by successive firings (instead of `error`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FaultKind>,
    /// For DROP: carry the call out (and commit it) before dropping the connection.
    #[serde(default)]
    pub applied: bool,
    /// Fraction of matching calls that fail (default: all).
    #[serde(default)]
    pub rate: Option<f64>,
    /// Only the next N firings (default: until cleared).
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
    /// Matching calls seen so far.
    #[serde(default, skip_deserializing)]
    pub seen: u64,
    /// Times the rule has fired.
    #[serde(default, skip_deserializing)]
    pub fired: u64,
    /// Firings due but not yet delivered because an earlier rule took the call.
    #[serde(skip)]
    pub owed: u64,
}

impl FaultRule {
    /// Refuses definitions that cannot mean anything.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.error.is_some() && !self.errors.is_empty() {
            return Err("give either \"error\" or \"errors\", not both".into());
        }
        if let Some(rate) = self.rate
            && !(rate > 0.0 && rate <= 1.0)
        {
            return Err(format!(
                "\"rate\" must be above 0 and at most 1, not {rate}"
            ));
        }
        if self.applied && !self.kinds().contains(&FaultKind::Drop) {
            return Err("\"applied\" only applies to DROP".into());
        }
        Ok(())
    }

    fn kinds(&self) -> Vec<FaultKind> {
        match self.error {
            Some(k) => vec![k],
            None => self.errors.clone(),
        }
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        !(self.path.as_deref().is_some_and(|p| !path.contains(p))
            || self
                .method
                .as_deref()
                .is_some_and(|m| !m.eq_ignore_ascii_case(method))
            || self.count == Some(0))
    }

    /// The kind this firing answers with (errors cycle), if the rule injects one.
    fn next_kind(&self) -> Option<FaultKind> {
        let kinds = self.kinds();
        let n = usize::try_from(self.fired).unwrap_or(0);
        kinds.get(n % kinds.len().max(1)).copied()
    }
}

/// What the matching rules do to one call.
#[derive(Debug, Clone, Default)]
pub(crate) struct FaultOutcome {
    pub error: Option<FaultKind>,
    /// DROP after carrying the call out.
    pub applied: bool,
    pub latency_ms: u64,
}

/// Counts the call against every matching rule, then lets the first rule due with an error take
/// it (and every latency-only rule due add its delay), consuming their counts.
pub(crate) fn pick(rules: &mut Vec<FaultRule>, method: &str, path: &str) -> FaultOutcome {
    let mut outcome = FaultOutcome::default();
    for rule in rules.iter_mut() {
        if !rule.matches(method, path) {
            continue;
        }
        let n = rule.seen;
        rule.seen += 1;
        let rate = rule.rate.unwrap_or(1.0).clamp(0.0, 1.0);
        // Due when the running total of `rate` crosses an integer.
        if ((n + 1) as f64 * rate).floor() > (n as f64 * rate).floor() {
            rule.owed += 1;
        }
    }
    for rule in rules.iter_mut() {
        if rule.owed == 0 || !rule.matches(method, path) {
            continue;
        }
        let kind = rule.next_kind();
        if kind.is_some() && outcome.error.is_some() {
            // Another rule took this call; this one stays due.
            continue;
        }
        rule.owed -= 1;
        rule.fired += 1;
        if let Some(c) = rule.count.as_mut() {
            *c -= 1;
        }
        outcome.latency_ms = outcome.latency_ms.max(rule.latency_ms);
        if let Some(k) = kind {
            outcome.error = Some(k);
            outcome.applied = rule.applied;
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
            errors: Vec::new(),
            applied: false,
            rate,
            count,
            path: None,
            method: None,
            latency_ms: 0,
            seen: 0,
            fired: 0,
            owed: 0,
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

    #[test]
    fn errors_cycle_at_the_rule_rate() {
        let mut r = rule(None, Some(0.2), None);
        r.errors = vec![FaultKind::UnableToLockRow, FaultKind::Drop];
        let mut rules = vec![r];
        let got: Vec<Option<FaultKind>> = (0..20)
            .map(|_| pick(&mut rules, "POST", "/x").error)
            .collect();
        let fired: Vec<(usize, FaultKind)> = got
            .iter()
            .enumerate()
            .filter_map(|(i, k)| k.map(|k| (i + 1, k)))
            .collect();
        assert_eq!(
            fired,
            vec![
                (5, FaultKind::UnableToLockRow),
                (10, FaultKind::Drop),
                (15, FaultKind::UnableToLockRow),
                (20, FaultKind::Drop)
            ]
        );
    }

    #[test]
    fn rules_due_together_each_keep_their_rate() {
        let mut rules = vec![
            rule(Some(FaultKind::UnableToLockRow), Some(0.1), None),
            rule(Some(FaultKind::Html500), Some(0.1), None),
        ];
        // 101 calls: the second rule's 10th firing, due on the 100th, happens on the 101st.
        let got: Vec<Option<FaultKind>> = (0..101)
            .map(|_| pick(&mut rules, "GET", "/x").error)
            .collect();
        let count = |k| got.iter().filter(|g| **g == Some(k)).count();
        assert_eq!(count(FaultKind::UnableToLockRow), 10);
        assert_eq!(count(FaultKind::Html500), 10);
        // Both were due on the 10th call: the first rule took it, the second the 11th.
        assert_eq!(got[9], Some(FaultKind::UnableToLockRow));
        assert_eq!(got[10], Some(FaultKind::Html500));
    }

    #[test]
    fn latency_rules_add_to_an_error() {
        let mut slow = rule(None, None, None);
        slow.latency_ms = 30;
        let mut rules = vec![rule(Some(FaultKind::ServerUnavailable), None, None), slow];
        let o = pick(&mut rules, "GET", "/x");
        assert_eq!(
            (o.error, o.latency_ms),
            (Some(FaultKind::ServerUnavailable), 30)
        );
    }

    #[test]
    fn definitions_are_checked() {
        let mut r = rule(Some(FaultKind::Html500), Some(1.5), None);
        assert!(r.validate().is_err());
        r.rate = Some(0.5);
        assert!(r.validate().is_ok());
        r.applied = true;
        assert!(r.validate().is_err(), "applied without DROP");
        r.error = Some(FaultKind::Drop);
        assert!(r.validate().is_ok());
        r.errors = vec![FaultKind::Drop];
        assert!(r.validate().is_err(), "error and errors");
    }
}
