//! The org's limits: the daily API allowance (enforced and reported in `Sforce-Limit-Info`) and
//! the `/limits` resource, shaped like a real org's answer.

use crate::state::State;
use serde_json::{Map, Value, json};

/// The connected app the emulator's clients appear as, in per-app limit entries.
const APP_NAME: &str = "chatsync";

/// `api-usage=N/M`, as sent on every REST response.
pub(crate) fn header_value(st: &State) -> String {
    format!("api-usage={}/{}", st.api_used, st.config.daily_api_limit)
}

pub(crate) fn exhausted(st: &State) -> bool {
    st.api_used >= st.config.daily_api_limit
}

fn entry(max: u64, remaining: u64) -> Value {
    json!({"Max": max, "Remaining": remaining})
}

/// A limit with a per-connected-app child, as real orgs report (apps without their own cap
/// show 0/0).
fn with_app(max: u64, remaining: u64) -> Value {
    let mut m = Map::new();
    m.insert("Max".into(), json!(max));
    m.insert("Remaining".into(), json!(remaining));
    m.insert(APP_NAME.into(), entry(0, 0));
    Value::Object(m)
}

pub(crate) fn body(st: &State) -> Value {
    let max = st.config.daily_api_limit;
    let remaining = max.saturating_sub(st.api_used);
    let mut m = Map::new();
    let plain: [(&str, u64); 19] = [
        ("ConcurrentAsyncGetReportInstances", 200),
        ("ConcurrentSyncReportRuns", 20),
        ("DailyAsyncApexExecutions", 250_000),
        ("DailyDurableGenericStreamingApiEvents", 10_000),
        ("DailyDurableStreamingApiEvents", 10_000),
        ("DailyWorkflowEmails", 20_000),
        ("DataStorageMB", 209),
        ("DurableStreamingApiConcurrentClients", 20),
        ("FileStorageMB", 209),
        ("HourlyAsyncReportRuns", 1200),
        ("HourlyDashboardRefreshes", 200),
        ("HourlyDashboardResults", 5000),
        ("HourlyDashboardStatuses", 999_999_999),
        ("HourlyODataCallout", 20_000),
        ("HourlySyncReportRuns", 500),
        ("HourlyTimeBasedWorkflow", 50),
        ("MassEmail", 5000),
        ("SingleEmail", 5000),
        ("StreamingApiConcurrentClients", 20),
    ];
    for (name, n) in plain {
        m.insert(name.into(), entry(n, n));
    }
    m.insert("DailyApiRequests".into(), with_app(max, remaining));
    for name in [
        "DailyBulkApiRequests",
        "DailyGenericStreamingApiEvents",
        "DailyStreamingApiEvents",
    ] {
        let n = if name == "DailyStreamingApiEvents" {
            20_000
        } else {
            10_000
        };
        m.insert(name.into(), with_app(n, n));
    }
    Value::Object(m)
}
