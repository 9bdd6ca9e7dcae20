//! Usage headers and the daily allowance, /limits, the admin API, and injected faults.

use crate::common::{TestOrg, V, str_at};
use serde_json::{Value, json};
use std::time::Duration;

fn usage(r: &crate::common::Reply) -> (u64, u64) {
    let h = r.header("sforce-limit-info").unwrap_or_default();
    let nums = h.strip_prefix("api-usage=").unwrap_or("0/0");
    let (a, b) = nums.split_once('/').unwrap_or(("0", "0"));
    (a.parse().unwrap_or(0), b.parse().unwrap_or(0))
}

#[tokio::test]
async fn usage_header_counts_calls_and_the_allowance_is_enforced() {
    let org = TestOrg::start().await;
    let r1 = org.api("GET", "/limits", None).await;
    let r2 = org.api("GET", "/sobjects/Lead/00Q5g0000000001", None).await; // a 404 still counts
    assert_eq!(usage(&r1), (1, 100_000));
    assert_eq!(usage(&r2), (2, 100_000));
    assert_eq!(r1.body["DailyApiRequests"]["Remaining"], json!(99_999));
    assert_eq!(r1.body["DailyApiRequests"]["Max"], json!(100_000));

    let r = org
        .admin(
            "POST",
            "/__emulator/limits",
            Some(json!({"daily_api_limit": 3})),
        )
        .await;
    assert_eq!(r.body["daily_api_limit"], json!(3));
    assert_eq!(org.api("GET", "/limits", None).await.status, 200);
    let r = org.api("GET", "/limits", None).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.body,
        json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    );
    assert_eq!(usage(&r), (3, 3));
    // Raising the allowance lets calls through again
    org.admin(
        "POST",
        "/__emulator/limits",
        Some(json!({"daily_api_limit": 10})),
    )
    .await;
    assert_eq!(org.api("GET", "/limits", None).await.status, 200);
}

#[tokio::test]
async fn stats_log_every_request() {
    let org = TestOrg::start().await;
    org.api(
        "POST",
        "/sobjects/Lead",
        Some(json!({"LastName": "x", "Company": "y"})),
    )
    .await;
    org.api("POST", "/sobjects/Lead", Some(json!({"LastName": "x"})))
        .await;
    org.raw("GET", &format!("{V}/limits"), None, None).await;
    let r = org.admin("GET", "/__emulator/stats", None).await;
    assert_eq!(r.body["api_calls"], json!(2));
    let reqs = r.body["requests"].as_array().cloned().unwrap_or_default();
    assert_eq!(reqs.len(), 3);
    assert_eq!(
        reqs[0],
        json!({"method": "POST", "path": format!("{V}/sobjects/Lead"), "status": 201, "api_calls": 1})
    );
    assert_eq!(reqs[1]["status"], json!(400));
    assert_eq!(
        reqs[2],
        json!({"method": "GET", "path": format!("{V}/limits"), "status": 401, "api_calls": 0})
    );
}

#[tokio::test]
async fn seed_records_and_reset() {
    let org = TestOrg::start().await;
    let ids = org
        .seed(json!({"Account": [{"Name": "A"}, {"Name": "B", "Id": "0015g00000ABCDE"}], "Contact": [{"LastName": "C"}]}))
        .await;
    assert_eq!(ids["Account"].as_array().map(Vec::len), Some(2));
    // A seeded 15-character id is kept, extended to 18 characters
    let given = str_at(&ids, "/Account/1");
    assert!(
        given.starts_with("0015g00000ABCDE") && given.len() == 18,
        "{given}"
    );
    assert!(str_at(&ids, "/Contact/0").starts_with("003"));
    let recs = org.records("Account").await;
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0]["attributes"]["type"], "Account");
    assert_eq!(recs[0]["Name"], "A");
    let r = org
        .admin(
            "POST",
            "/__emulator/seed",
            Some(json!({"Lead": [{"Nope": 1}]})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), Some("INVALID_FIELD"));
    let r = org.admin("GET", "/__emulator/records/Nope", None).await;
    assert_eq!(r.status, 404);

    let r = org.admin("POST", "/__emulator/reset", None).await;
    assert_eq!(r.status, 200);
    assert!(org.records("Account").await.is_empty());
    // The integration user survives a reset; old sessions do not
    assert_eq!(org.records("User").await.len(), 1);
    assert_eq!(org.api("GET", "/limits", None).await.status, 401);
    let s = org.admin("POST", "/__emulator/session", None).await;
    assert!(str_at(&s.body, "/access_token").starts_with("00D"));
    assert_eq!(s.body["instance_url"], json!(org.base));
}

#[tokio::test]
async fn faults_by_count_rate_and_path() {
    let org = TestOrg::start().await;
    // Next call: UNABLE_TO_LOCK_ROW
    org.admin(
        "POST",
        "/__emulator/faults",
        Some(json!({"error": "UNABLE_TO_LOCK_ROW", "count": 1})),
    )
    .await;
    let r = org
        .api("POST", "/sobjects/Account", Some(json!({"Name": "A"})))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), Some("UNABLE_TO_LOCK_ROW"));
    assert!(
        org.records("Account").await.is_empty(),
        "a locked write does not happen"
    );
    assert_eq!(
        org.api("POST", "/sobjects/Account", Some(json!({"Name": "A"})))
            .await
            .status,
        201
    );

    // By path: only Case writes fail, with 503
    org.admin(
        "POST",
        "/__emulator/faults",
        Some(json!({"error": "SERVER_UNAVAILABLE", "path": "/sobjects/Case"})),
    )
    .await;
    let r = org
        .api("POST", "/sobjects/Case", Some(json!({"Subject": "s"})))
        .await;
    assert_eq!(r.status, 503);
    assert_eq!(r.error_code(), Some("SERVER_UNAVAILABLE"));
    assert_eq!(org.api("GET", "/limits", None).await.status, 200);

    // HTML 500 at rate 0.5: every other matching call
    org.admin(
        "POST",
        "/__emulator/faults",
        Some(json!({"faults": [{"error": "HTML_500", "rate": 0.5, "path": "/limits"}]})),
    )
    .await;
    let a = org.api("GET", "/limits", None).await;
    let b = org.api("GET", "/limits", None).await;
    assert_eq!((a.status, b.status), (200, 500));
    assert!(
        b.header("content-type")
            .unwrap_or_default()
            .starts_with("text/html")
    );
    assert!(matches!(&b.body, Value::String(s) if s.contains("<html>")));

    // Latency beyond the client's timeout is a timeout
    org.admin(
        "POST",
        "/__emulator/faults",
        Some(json!({"faults": [{"latency_ms": 3000, "count": 1}]})),
    )
    .await;
    let err = org
        .http
        .get(format!("{}{V}/limits", org.base))
        .bearer_auth(&org.token)
        .timeout(Duration::from_millis(200))
        .send()
        .await
        .err();
    assert!(err.is_some_and(|e| e.is_timeout()));

    let r = org
        .admin("POST", "/__emulator/faults", Some(json!({"clear": true})))
        .await;
    assert_eq!(r.body["active_faults"], json!(0));
    let r = org
        .admin("POST", "/__emulator/faults", Some(json!({"error": "NOPE"})))
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn unknown_paths_and_bad_bodies() {
    let org = TestOrg::start().await;
    let r = org.api("GET", "/nothing/here", None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error_code(), Some("NOT_FOUND"));
    let r = org
        .http
        .post(format!("{}{V}/sobjects/Lead", org.base))
        .bearer_auth(&org.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 400);
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(body[0]["errorCode"], "JSON_PARSER_ERROR");
    let r = org.api("POST", "/sobjects/Lead", Some(json!([1, 2]))).await;
    assert_eq!(r.error_code(), Some("JSON_PARSER_ERROR"));
    let r = org
        .api("PUT", "/sobjects/Lead/00Q5g0000000001", Some(json!({})))
        .await;
    assert_eq!(r.status, 405);
    let r = org.raw("GET", "/services/data/", None, None).await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("sforce-limit-info").is_none(),
        "the versions resource carries no usage header"
    );
}
