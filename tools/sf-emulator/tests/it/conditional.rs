//! `If-Unmodified-Since` on sObject Rows: 412 when the record changed after the date (compared at
//! second precision), 400 for a header that is not an HTTP-date, on updates, on upserts that find
//! their record and on composite subrequests (where a 412 rolls back an all-or-none request).

use crate::common::{TestOrg, V, str_at};
use serde_json::{Value, json};

/// A Case last modified at 2024-01-01T12:00:00.400Z.
async fn old_case(org: &TestOrg) -> String {
    let ids = org
        .seed(
            json!({"Case": [{"Subject": "old", "LastModifiedDate": "2024-01-01T12:00:00.400Z",
                               "Chat_Conversation_Id__c": "conv-1"}]}),
        )
        .await;
    str_at(&ids, "/Case/0").to_string()
}

const SAME_SECOND: &str = "Mon, 01 Jan 2024 12:00:00 GMT";
const BEFORE: &str = "Mon, 01 Jan 2024 11:59:59 GMT";

#[tokio::test]
async fn update_is_refused_with_412_when_the_record_changed_since() {
    let org = TestOrg::start().await;
    let id = old_case(&org).await;
    let path = format!("/sobjects/Case/{id}");
    let r = org
        .api_with_headers(
            "PATCH",
            &path,
            Some(json!({"Subject": "stale"})),
            &[("If-Unmodified-Since", BEFORE)],
        )
        .await;
    assert_eq!(r.status, 412, "{}", r.body);
    assert_eq!(r.error_code(), Some("PRECONDITION_FAILED"));
    assert_eq!(
        r.error_message(),
        format!("The requested resource has been modified since {BEFORE}")
    );
    let got = org.api("GET", &path, None).await;
    assert_eq!(
        got.body["Subject"], "old",
        "a refused update changes nothing"
    );

    // The header's second covers the record's milliseconds: not modified *after* it.
    let r = org
        .api_with_headers(
            "PATCH",
            &path,
            Some(json!({"Subject": "fresh"})),
            &[("If-Unmodified-Since", SAME_SECOND)],
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    // That update moved LastModifiedDate to now, so the same header now fails.
    let r = org
        .api_with_headers(
            "PATCH",
            &path,
            Some(json!({"Subject": "again"})),
            &[("If-Unmodified-Since", SAME_SECOND)],
        )
        .await;
    assert_eq!(r.status, 412);
    // A read answers 412 too; a DELETE ignores the header, as the docs say it is unsupported.
    let r = org
        .api_with_headers("GET", &path, None, &[("If-Unmodified-Since", BEFORE)])
        .await;
    assert_eq!(r.status, 412);
    let r = org
        .api_with_headers("GET", &path, None, &[("If-Unmodified-Since", "garbage")])
        .await;
    assert_eq!(r.status, 200, "a read ignores an unreadable date");
}

#[tokio::test]
async fn a_malformed_header_on_a_write_is_a_400() {
    let org = TestOrg::start().await;
    let id = old_case(&org).await;
    for bad in [
        "yesterday",
        "2024-01-01T12:00:00Z",
        "Mon, 01 Jan 2024 12:00:00 CET",
    ] {
        let r = org
            .api_with_headers(
                "PATCH",
                &format!("/sobjects/Case/{id}"),
                Some(json!({"Subject": "x"})),
                &[("If-Unmodified-Since", bad)],
            )
            .await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.error_code(), Some("MALFORMED_HEADER"));
        assert_eq!(
            r.error_message(),
            format!("If-Unmodified-Since: invalid HTTP-date: {bad}")
        );
    }
    // The obsolete HTTP-date forms are still dates.
    for ok in [
        "Monday, 01-Jan-24 12:00:00 GMT",
        "Mon Jan  1 12:00:00 2024",
        "Tue, 01 Jan 2030 00:00:00 GMT",
    ] {
        let r = org
            .api_with_headers(
                "PATCH",
                &format!("/sobjects/Case/{id}"),
                Some(json!({"Subject": "x"})),
                &[("If-Unmodified-Since", ok)],
            )
            .await;
        assert!(r.status == 204 || r.status == 412, "{ok}: {}", r.status);
    }
    // Creating checks only that the header is a date.
    let r = org
        .api_with_headers(
            "POST",
            "/sobjects/Case",
            Some(json!({"Subject": "new"})),
            &[("If-Unmodified-Since", "soon")],
        )
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn upsert_checks_the_header_only_when_the_record_exists() {
    let org = TestOrg::start().await;
    old_case(&org).await;
    let r = org
        .api_with_headers(
            "PATCH",
            "/sobjects/Case/Chat_Conversation_Id__c/conv-1",
            Some(json!({"Subject": "stale"})),
            &[("If-Unmodified-Since", BEFORE)],
        )
        .await;
    assert_eq!(r.status, 412, "{}", r.body);
    assert_eq!(r.error_code(), Some("PRECONDITION_FAILED"));
    let r = org
        .api_with_headers(
            "PATCH",
            "/sobjects/Case/Chat_Conversation_Id__c/conv-1",
            Some(json!({"Subject": "ok"})),
            &[("If-Unmodified-Since", SAME_SECOND)],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["created"], json!(false));
    let r = org
        .api_with_headers(
            "PATCH",
            "/sobjects/Case/Chat_Conversation_Id__c/conv-2",
            Some(json!({"Subject": "new"})),
            &[("If-Unmodified-Since", BEFORE)],
        )
        .await;
    assert_eq!(r.status, 201, "nothing to be stale about: {}", r.body);
    assert_eq!(r.body["created"], json!(true));
}

#[tokio::test]
async fn composite_subrequests_carry_the_header_and_a_412_rolls_back_all_or_none() {
    let org = TestOrg::start().await;
    let id = old_case(&org).await;
    let body = json!({
        "allOrNone": true,
        "compositeRequest": [
            {"method": "POST", "url": format!("{V}/sobjects/CaseComment"), "referenceId": "note",
             "body": {"ParentId": id, "CommentBody": "hello"}},
            {"method": "PATCH", "url": format!("{V}/sobjects/Case/{id}"), "referenceId": "touch",
             "httpHeaders": {"If-Unmodified-Since": BEFORE}, "body": {"Status": "Working"}},
        ]
    });
    let r = org.api("POST", "/composite", Some(body)).await;
    assert_eq!(r.status, 200);
    let subs = &r.body["compositeResponse"];
    assert_eq!(subs[0]["httpStatusCode"], json!(400));
    assert_eq!(subs[0]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert_eq!(subs[1]["httpStatusCode"], json!(412));
    assert_eq!(subs[1]["body"][0]["errorCode"], "PRECONDITION_FAILED");
    assert!(org.records("CaseComment").await.is_empty(), "rolled back");

    // Without allOrNone the comment stays; a fresh header lets the update through.
    let body = json!({
        "allOrNone": false,
        "compositeRequest": [
            {"method": "POST", "url": format!("{V}/sobjects/CaseComment"), "referenceId": "note",
             "body": {"ParentId": id, "CommentBody": "hello"}},
            {"method": "PATCH", "url": format!("{V}/sobjects/Case/{id}"), "referenceId": "stale",
             "httpHeaders": {"if-unmodified-since": BEFORE}, "body": {"Status": "Working"}},
            {"method": "PATCH", "url": format!("{V}/sobjects/Case/{id}"), "referenceId": "bad",
             "httpHeaders": {"If-Unmodified-Since": "later"}, "body": {"Status": "Working"}},
            {"method": "PATCH", "url": format!("{V}/sobjects/Case/Chat_Conversation_Id__c/conv-1"),
             "referenceId": "fresh", "httpHeaders": {"If-Unmodified-Since": SAME_SECOND},
             "body": {"Status": "Working"}},
        ]
    });
    let r = org.api("POST", "/composite", Some(body)).await;
    let subs = &r.body["compositeResponse"];
    assert_eq!(subs[0]["httpStatusCode"], json!(201));
    assert_eq!(subs[1]["httpStatusCode"], json!(412));
    assert_eq!(subs[2]["httpStatusCode"], json!(400));
    assert_eq!(subs[2]["body"][0]["errorCode"], "MALFORMED_HEADER");
    assert_eq!(subs[3]["httpStatusCode"], json!(200), "{}", subs[3]);
    assert_eq!(org.records("CaseComment").await.len(), 1);
    let case = org.api("GET", &format!("/sobjects/Case/{id}"), None).await;
    assert_eq!(case.body["Status"], "Working");
}

#[tokio::test]
async fn every_update_moves_the_audit_stamps_forward() {
    let org = TestOrg::start().await;
    let created = org
        .api("POST", "/sobjects/Case", Some(json!({"Subject": "s"})))
        .await;
    let path = format!("/sobjects/Case/{}", str_at(&created.body, "/id"));
    let stamps = |v: &Value| {
        (
            str_at(v, "/LastModifiedDate").to_string(),
            str_at(v, "/SystemModstamp").to_string(),
        )
    };
    let mut last = stamps(&org.api("GET", &path, None).await.body);
    for _ in 0..5 {
        // The same value each time: a save still counts as a modification.
        let r = org.api("PATCH", &path, Some(json!({"Subject": "s"}))).await;
        assert_eq!(r.status, 204);
        let now = stamps(&org.api("GET", &path, None).await.body);
        assert!(now.0 > last.0, "{now:?} after {last:?}");
        assert!(now.1 > last.1);
        last = now;
    }
}
