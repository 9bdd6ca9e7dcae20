//! API usage from the `Sforce-Limit-Info` header, and the per-tenant budget that spends it.
//!
//! The daily allowance is org-wide: chatsync shares it with the customer's own users and other
//! integrations, and when it runs out everyone is locked out. So chatsync takes only a share, keeps
//! a reserve untouched, and stops optional work well before either line.

use serde::{Deserialize, Serialize};

/// Usage over Salesforce's rolling 24 hours, as the last response reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiUsage {
    /// Calls the whole org has made.
    pub used: u64,
    /// The org's daily allowance.
    pub limit: u64,
    /// This connected app's own count and cap, when the org set a per-app limit.
    pub per_app: Option<AppUsage>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppUsage {
    pub used: u64,
    pub limit: u64,
}

impl ApiUsage {
    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }
}

/// Parses `api-usage=N/M`, optionally followed by `; per-app-api-usage=N/M(appName=…)`.
/// Returns `None` for anything else rather than guessing.
pub fn parse_limit_info(header: &str) -> Option<ApiUsage> {
    let mut org = None;
    let mut per_app = None;
    for part in header.split(';') {
        // Unknown or empty parts are skipped: Salesforce may add fields after ours.
        let Some((key, value)) = part.trim().split_once('=') else {
            continue;
        };
        match key.trim() {
            "api-usage" => org = Some(parse_ratio(value)?),
            // The app name follows in parentheses; only the numbers matter here.
            "per-app-api-usage" => {
                let numbers = value.split('(').next().unwrap_or(value);
                per_app = parse_ratio(numbers);
            }
            _ => {}
        }
    }
    let (used, limit) = org?;
    Some(ApiUsage {
        used,
        limit,
        per_app: per_app.map(|(used, limit)| AppUsage { used, limit }),
    })
}

/// The org's daily API usage from a `GET /limits` answer (`DailyApiRequests`), for a fresh reading
/// when no recent response carried the header.
pub fn daily_api_requests(limits: &serde_json::Value) -> Option<ApiUsage> {
    let daily = limits.get("DailyApiRequests")?;
    let limit = daily.get("Max")?.as_u64()?;
    let remaining = daily.get("Remaining")?.as_u64()?;
    Some(ApiUsage {
        used: limit.saturating_sub(remaining),
        limit,
        per_app: None,
    })
}

fn parse_ratio(text: &str) -> Option<(u64, u64)> {
    let (used, limit) = text.trim().split_once('/')?;
    Some((used.trim().parse().ok()?, limit.trim().parse().ok()?))
}

/// How much a piece of work matters, which decides how close to the limits it may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Backfills, enrichment, reconciliation: first to stop.
    Low,
    /// Ordinary pipeline writes.
    Normal,
    /// A live customer conversation that would otherwise be lost: may dip into half the reserve.
    Critical,
}

/// Why the budget refused work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetRefusal {
    pub priority: Priority,
    pub reason: String,
}

/// A tenant's policy for spending its org's daily allowance (`[api_budget]` in its file).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiBudget {
    /// Fraction (0..=1) of the org's daily allowance chatsync may spend.
    pub share: f64,
    /// Fraction (0..=1) of the allowance left for the org's own users; chatsync does not touch it
    /// except for critical work, which may use its first half.
    pub reserve: f64,
}

impl Default for ApiBudget {
    fn default() -> Self {
        Self {
            share: 0.25,
            reserve: 0.10,
        }
    }
}

/// Low-priority work stops at this fraction of chatsync's share, so normal work always has room.
const LOW_PRIORITY_SHARE: f64 = 0.75;

impl ApiBudget {
    /// Decides whether `cost` more calls of `priority` may be spent now.
    ///
    /// `usage` is the org's usage from the last `Sforce-Limit-Info`; `chatsync_used` is what
    /// chatsync itself spent in the same window (the per-app figure when the header carries one is
    /// the better source, see [`ApiBudget::chatsync_used`]). Without any usage yet, work is
    /// admitted: the first response will tell.
    pub fn admit(
        &self,
        usage: Option<&ApiUsage>,
        chatsync_used: u64,
        priority: Priority,
        cost: u64,
    ) -> Result<(), BudgetRefusal> {
        let Some(usage) = usage else { return Ok(()) };
        let limit = usage.limit as f64;
        let org_left_after = usage.remaining() as f64 - cost as f64;
        let ours_after = (chatsync_used + cost) as f64;
        let reserve = self.reserve.clamp(0.0, 1.0) * limit;
        let share = self.share.clamp(0.0, 1.0) * limit;
        let refuse = |reason: String| Err(BudgetRefusal { priority, reason });
        let (floor, ceiling) = match priority {
            // Low work keeps clear of the reserve by a whole second reserve.
            Priority::Low => (2.0 * reserve, Some(LOW_PRIORITY_SHARE * share)),
            Priority::Normal => (reserve, Some(share)),
            Priority::Critical => (reserve / 2.0, None),
        };
        if org_left_after < floor {
            return refuse(format!(
                "org would have {org_left_after:.0} of {limit:.0} calls left, below {floor:.0}"
            ));
        }
        if let Some(ceiling) = ceiling
            && ours_after > ceiling
        {
            return refuse(format!(
                "chatsync would have spent {ours_after:.0} calls, above {ceiling:.0}"
            ));
        }
        Ok(())
    }

    /// chatsync's own spend: the per-app counter when Salesforce reports one, else the caller's
    /// own count.
    pub fn chatsync_used(usage: Option<&ApiUsage>, counted: u64) -> u64 {
        usage
            .and_then(|u| u.per_app)
            .map_or(counted, |app| app.used.max(counted))
    }
}

/// Calls counted per hour, forgotten after a day: the budget's view of chatsync's own spend.
#[derive(Debug, Default)]
pub(crate) struct HourlyCalls {
    /// (hours since `origin`, calls in that hour), oldest first.
    hours: std::collections::VecDeque<(u64, u64)>,
    origin: Option<std::time::Instant>,
}

impl HourlyCalls {
    const HOUR: u64 = 3600;

    fn hour(&mut self, now: std::time::Instant) -> u64 {
        let origin = *self.origin.get_or_insert(now);
        now.saturating_duration_since(origin).as_secs() / Self::HOUR
    }

    pub(crate) fn count(&mut self, now: std::time::Instant) {
        let hour = self.hour(now);
        match self.hours.back_mut() {
            Some((h, n)) if *h == hour => *n += 1,
            _ => self.hours.push_back((hour, 1)),
        }
        while self.hours.front().is_some_and(|(h, _)| h + 24 <= hour) {
            self.hours.pop_front();
        }
    }

    pub(crate) fn total(&self, now: std::time::Instant) -> u64 {
        let Some(origin) = self.origin else { return 0 };
        let hour = now.saturating_duration_since(origin).as_secs() / Self::HOUR;
        self.hours
            .iter()
            .filter(|(h, _)| h + 24 > hour)
            .map(|(_, n)| n)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_plain_header() {
        let u = parse_limit_info("api-usage=10018/100000").expect("parsed");
        assert_eq!((u.used, u.limit, u.per_app), (10018, 100000, None));
        assert_eq!(u.remaining(), 89982);
    }

    #[test]
    fn parses_the_per_app_suffix() {
        let u = parse_limit_info(
            "api-usage=25/5000; per-app-api-usage=17/250(appName=sample-connected-app)",
        )
        .expect("parsed");
        assert_eq!((u.used, u.limit), (25, 5000));
        assert_eq!(
            u.per_app,
            Some(AppUsage {
                used: 17,
                limit: 250
            })
        );
    }

    #[test]
    fn a_limits_answer_gives_daily_usage() {
        let text = crate::salesforce::test_support::answers::LIMITS;
        let value: serde_json::Value = serde_json::from_str(text).expect("limits.json is JSON");
        let u = daily_api_requests(&value).expect("DailyApiRequests present");
        assert_eq!((u.used, u.limit), (127, 15000));
        assert_eq!(daily_api_requests(&serde_json::json!({})), None);
    }

    #[test]
    fn refuses_garbage() {
        for bad in [
            "",
            "api-usage",
            "api-usage=abc/100",
            "api-usage=1",
            "per-app-api-usage=1/2",
        ] {
            assert_eq!(parse_limit_info(bad), None, "{bad:?}");
        }
    }

    fn usage(used: u64, limit: u64) -> ApiUsage {
        ApiUsage {
            used,
            limit,
            per_app: None,
        }
    }

    #[test]
    fn without_usage_everything_is_admitted() {
        let b = ApiBudget::default();
        assert!(b.admit(None, 1_000_000, Priority::Low, 1).is_ok());
    }

    #[test]
    fn low_priority_stops_first_as_the_org_runs_dry() {
        // GIVEN a 100k org with a 10% reserve
        let b = ApiBudget {
            share: 1.0,
            reserve: 0.10,
        };
        // WHEN 75k are used (25k left): all admitted
        let u = usage(75_000, 100_000);
        assert!(b.admit(Some(&u), 0, Priority::Low, 1).is_ok());
        // WHEN 85k are used (15k left, under twice the reserve): low refused, normal admitted
        let u = usage(85_000, 100_000);
        assert!(b.admit(Some(&u), 0, Priority::Low, 1).is_err());
        assert!(b.admit(Some(&u), 0, Priority::Normal, 1).is_ok());
        // WHEN 92k are used (8k left, inside the reserve): only critical
        let u = usage(92_000, 100_000);
        assert!(b.admit(Some(&u), 0, Priority::Normal, 1).is_err());
        assert!(b.admit(Some(&u), 0, Priority::Critical, 1).is_ok());
        // WHEN 96k are used (4k left, past half the reserve): nothing
        let u = usage(96_000, 100_000);
        let refusal = b.admit(Some(&u), 0, Priority::Critical, 1).unwrap_err();
        assert_eq!(refusal.priority, Priority::Critical);
    }

    #[test]
    fn chatsync_share_caps_normal_and_low_work() {
        let b = ApiBudget {
            share: 0.20,
            reserve: 0.05,
        };
        let u = usage(30_000, 100_000);
        // 20k share: low stops at 15k, normal at 20k, critical ignores the share.
        assert!(b.admit(Some(&u), 14_999, Priority::Low, 1).is_ok());
        assert!(b.admit(Some(&u), 15_000, Priority::Low, 1).is_err());
        assert!(b.admit(Some(&u), 19_999, Priority::Normal, 1).is_ok());
        assert!(b.admit(Some(&u), 20_000, Priority::Normal, 1).is_err());
        assert!(b.admit(Some(&u), 50_000, Priority::Critical, 1).is_ok());
        // The cost of the work counts, not just one call.
        assert!(b.admit(Some(&u), 19_990, Priority::Normal, 25).is_err());
    }

    #[test]
    fn per_app_usage_is_preferred_when_higher() {
        let u = parse_limit_info("api-usage=500/1000; per-app-api-usage=300/400(appName=chatsync)");
        assert_eq!(ApiBudget::chatsync_used(u.as_ref(), 10), 300);
        assert_eq!(ApiBudget::chatsync_used(None, 10), 10);
    }
}

#[cfg(test)]
mod hourly_tests {
    use super::HourlyCalls;
    use std::time::{Duration, Instant};

    #[test]
    fn calls_older_than_a_day_are_forgotten() {
        let start = Instant::now();
        let at = |h: u64| start + Duration::from_secs(h * 3600 + 1);
        let mut c = HourlyCalls::default();
        c.count(start);
        c.count(at(0));
        c.count(at(10));
        assert_eq!(c.total(at(10)), 3);
        assert_eq!(c.total(at(23)), 3);
        assert_eq!(c.total(at(24)), 1, "the first hour's two are a day old");
        c.count(at(40));
        assert_eq!(c.total(at(40)), 1);
    }
}
