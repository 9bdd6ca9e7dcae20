//! What a fault suite needs: the daily allowance exhausted and reset mid-run, connections dropped
//! without an answer (before or after the write), mixed failure kinds at one rate, and faults on
//! composite calls.

use crate::common::{TestOrg, V, str_at};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn usage(r: &crate::common::Reply) -> String {
    r.header("sforce-limit-info").unwrap_or_default()
}

async fn faults(org: &TestOrg, body: Value) -> crate::common::Reply {
    let r = org.admin("POST", "/__emulator/faults", Some(body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r
}

#[tokio::test]
async fn the_daily_allowance_is_exhausted_and_reset_mid_run() {
    let org = TestOrg::start().await;
    let r = org.api("GET", "/limits", None).await;
    assert_eq!(usage(&r), "api-usage=1/100000");

    // Exhausted: every API call is refused as Salesforce refuses it
    let r = org
        .admin("POST", "/__emulator/limits", Some(json!({"exhaust": true})))
        .await;
    assert_eq!(
        r.body,
        json!({"daily_api_limit": 100_000, "api_calls": 100_000, "remaining": 0})
    );
    for (method, path, body) in [
        ("GET", "/limits", None),
        ("POST", "/sobjects/Case", Some(json!({"Subject": "s"}))),
        ("POST", "/composite", Some(json!({"compositeRequest": []}))),
    ] {
        let r = org.api(method, path, body).await;
        assert_eq!(r.status, 403);
        assert_eq!(
            r.body,
            json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
        );
        assert_eq!(usage(&r), "api-usage=100000/100000");
    }
    assert!(org.records("Case").await.is_empty());
    let r = org.admin("GET", "/__emulator/limits", None).await;
    assert_eq!(r.body["remaining"], json!(0));

    // The rolling window moves on
    let r = org
        .admin(
            "POST",
            "/__emulator/limits",
            Some(json!({"reset_usage": true})),
        )
        .await;
    assert_eq!(r.body["api_calls"], json!(0));
    let r = org.api("GET", "/limits", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(usage(&r), "api-usage=1/100000");
    assert_eq!(r.body["DailyApiRequests"]["Remaining"], json!(99_999));

    // A small allowance runs out by itself; /limits shows the last call
    org.admin(
        "POST",
        "/__emulator/limits",
        Some(json!({"daily_api_limit": 3})),
    )
    .await;
    let r = org.api("GET", "/limits", None).await;
    assert_eq!(usage(&r), "api-usage=2/3");
    let r = org.api("GET", "/limits", None).await;
    assert_eq!(
        r.body["DailyApiRequests"],
        json!({"Max": 3, "Remaining": 0, "chatsync": {"Max": 0, "Remaining": 0}})
    );
    assert_eq!(usage(&r), "api-usage=3/3");
    assert_eq!(org.api("GET", "/limits", None).await.status, 403);
    org.admin("POST", "/__emulator/limits", Some(json!({"api_calls": 0})))
        .await;
    assert_eq!(org.api("GET", "/limits", None).await.status, 200);

    for bad in [
        json!({"used": 0}),
        json!({"exhaust": true, "reset_usage": true}),
        json!({"api_calls": -1}),
    ] {
        let r = org
            .admin("POST", "/__emulator/limits", Some(bad.clone()))
            .await;
        assert_eq!(r.status, 400, "{bad}");
    }
}

/// A raw call that may end in a transport error.
async fn try_post(org: &TestOrg, path: &str, body: Value) -> Result<u16, reqwest::Error> {
    org.http
        .post(format!("{}{V}{path}", org.base))
        .bearer_auth(&org.token)
        .json(&body)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map(|r| r.status().as_u16())
}

#[tokio::test]
async fn drop_closes_the_connection_without_an_answer() {
    let org = TestOrg::start().await;
    faults(&org, json!({"error": "DROP", "count": 1})).await;
    let started = Instant::now();
    let err = try_post(&org, "/sobjects/Case", json!({"Subject": "lost"}))
        .await
        .expect_err("no HTTP answer");
    // hyper's "connection closed before message completed", not a timeout
    assert!(
        err.is_request() && !err.is_timeout() && err.status().is_none(),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5), "no wait");
    assert!(
        org.records("Case").await.is_empty(),
        "not applied: nothing saved"
    );

    // Applied: the write is committed, then the answer is lost
    faults(&org, json!({"error": "DROP", "applied": true, "count": 1})).await;
    let err = try_post(&org, "/sobjects/Case", json!({"Subject": "done"}))
        .await
        .expect_err("no HTTP answer");
    assert!(!err.is_timeout(), "{err:?}");
    let cases = org.records("Case").await;
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0]["Subject"], "done");

    // The client's next call works, on a new connection
    assert_eq!(
        try_post(&org, "/sobjects/Case", json!({"Subject": "next"}))
            .await
            .ok(),
        Some(201)
    );

    // The log tells them apart; only the applied call counted
    let stats = org.admin("GET", "/__emulator/stats", None).await;
    let reqs = stats.body["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let path = format!("{V}/sobjects/Case");
    assert_eq!(
        reqs[..],
        [
            json!({"method": "POST", "path": path, "status": 0, "api_calls": 0, "dropped": true}),
            json!({"method": "POST", "path": path, "status": 201, "api_calls": 1, "dropped": true}),
            json!({"method": "POST", "path": path, "status": 201, "api_calls": 1}),
        ]
    );
    assert_eq!(stats.body["api_calls"], json!(2));
}

#[tokio::test]
async fn drop_on_composite_fails_the_whole_call_unless_applied() {
    let org = TestOrg::start().await;
    let body = json!({"allOrNone": true, "compositeRequest": [
        {"method": "POST", "url": format!("{V}/sobjects/Lead"), "referenceId": "refLead",
         "body": {"LastName": "x", "Company": "y"}},
        {"method": "POST", "url": format!("{V}/sobjects/Case"), "referenceId": "refCase",
         "body": {"Subject": "s"}},
    ]});
    faults(
        &org,
        json!({"error": "DROP", "path": "/composite", "count": 1}),
    )
    .await;
    assert!(try_post(&org, "/composite", body.clone()).await.is_err());
    assert!(org.records("Lead").await.is_empty());
    assert!(org.records("Case").await.is_empty());

    faults(
        &org,
        json!({"error": "DROP", "applied": true, "path": "/composite", "count": 1}),
    )
    .await;
    assert!(try_post(&org, "/composite", body).await.is_err());
    assert_eq!(org.records("Lead").await.len(), 1);
    assert_eq!(org.records("Case").await.len(), 1);
}

#[tokio::test]
async fn other_faults_on_composite_fail_it_before_anything_is_applied() {
    let org = TestOrg::start().await;
    let body = json!({"compositeRequest": [
        {"method": "POST", "url": format!("{V}/sobjects/Case"), "referenceId": "refCase",
         "body": {"Subject": "s"}},
    ]});
    for (kind, status) in [
        ("UNABLE_TO_LOCK_ROW", 400),
        ("SERVER_UNAVAILABLE", 503),
        ("HTML_500", 500),
        ("REQUEST_LIMIT_EXCEEDED", 403),
    ] {
        faults(
            &org,
            json!({"error": kind, "path": "/composite", "count": 1}),
        )
        .await;
        let r = org.api("POST", "/composite", Some(body.clone())).await;
        assert_eq!(r.status, status, "{kind}");
        if kind != "HTML_500" {
            assert_eq!(r.error_code(), Some(kind));
        }
    }
    assert!(org.records("Case").await.is_empty());
    assert_eq!(
        org.api("POST", "/composite", Some(body)).await.status,
        200,
        "faults used up"
    );
    assert_eq!(org.records("Case").await.len(), 1);
}

#[tokio::test]
async fn the_fault_answers_look_like_salesforce() {
    let org = TestOrg::start().await;
    faults(
        &org,
        json!({"errors": ["UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "HTML_500"]}),
    )
    .await;
    let lock = org.api("GET", "/limits", None).await;
    assert_eq!(lock.status, 400);
    assert_eq!(
        lock.body,
        json!([{"message": "unable to obtain exclusive access to this record", "errorCode": "UNABLE_TO_LOCK_ROW", "fields": []}])
    );
    let busy = org.api("GET", "/limits", None).await;
    assert_eq!(busy.status, 503);
    assert_eq!(
        busy.body,
        json!([{"message": "Server too busy", "errorCode": "SERVER_UNAVAILABLE"}])
    );
    let html = org.api("GET", "/limits", None).await;
    assert_eq!(html.status, 500);
    assert!(
        html.header("content-type")
            .unwrap_or_default()
            .starts_with("text/html")
    );
    assert!(matches!(&html.body, Value::String(s) if s.starts_with("<html>")));
}

#[tokio::test]
async fn one_in_five_calls_fails_with_the_kinds_in_turn() {
    let org = TestOrg::start().await;
    faults(
        &org,
        json!({"errors": ["UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "HTML_500", "DROP"],
               "rate": 0.2, "path": "/sobjects/Case", "method": "POST"}),
    )
    .await;
    let mut outcomes = Vec::new();
    for i in 0..40 {
        // Calls the rule does not match neither fail nor count towards its rate
        assert_eq!(org.api("GET", "/limits", None).await.status, 200);
        let outcome =
            match try_post(&org, "/sobjects/Case", json!({"Subject": format!("c{i}")})).await {
                Ok(status) => status.to_string(),
                Err(_) => "dropped".to_string(),
            };
        outcomes.push(outcome);
    }
    let failed: Vec<(usize, &str)> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, o)| *o != "201")
        .map(|(i, o)| (i + 1, o.as_str()))
        .collect();
    assert_eq!(
        failed,
        vec![
            (5, "400"),
            (10, "503"),
            (15, "500"),
            (20, "dropped"),
            (25, "400"),
            (30, "503"),
            (35, "500"),
            (40, "dropped"),
        ]
    );
    assert_eq!(org.records("Case").await.len(), 32);
    let listed = org.admin("GET", "/__emulator/faults", None).await;
    assert_eq!(listed.body[0]["seen"], json!(40));
    assert_eq!(listed.body[0]["fired"], json!(8));
}

#[tokio::test]
async fn separate_rules_each_keep_their_rate() {
    let org = TestOrg::start().await;
    faults(
        &org,
        json!({"faults": [
            {"error": "SERVER_UNAVAILABLE", "rate": 0.25},
            {"error": "HTML_500", "rate": 0.25},
        ]}),
    )
    .await;
    let mut statuses = Vec::new();
    for _ in 0..9 {
        statuses.push(org.api("GET", "/limits", None).await.status);
    }
    // Both are due on the 4th and 8th calls: the first rule takes them, the second the next.
    assert_eq!(statuses, vec![200, 200, 200, 503, 500, 200, 200, 503, 500]);
}

#[tokio::test]
async fn bad_fault_rules_are_refused() {
    let org = TestOrg::start().await;
    for bad in [
        json!({"error": "DROP", "rate": 0}),
        json!({"error": "DROP", "rate": 2}),
        json!({"error": "HTML_500", "applied": true}),
        json!({"error": "DROP", "errors": ["DROP"]}),
        json!({"error": "DROP", "rat": 0.2}),
        json!({"faults": [{"errors": ["NOPE"]}]}),
    ] {
        let r = org
            .admin("POST", "/__emulator/faults", Some(bad.clone()))
            .await;
        assert_eq!(r.status, 400, "{bad}");
        assert!(
            str_at(&r.body, "/error").starts_with("invalid fault"),
            "{}",
            r.body
        );
    }
    assert_eq!(
        org.admin("GET", "/__emulator/faults", None).await.body,
        json!([])
    );
}
