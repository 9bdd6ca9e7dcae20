//! Hostile and malformed input never crashes the emulator: every answer is a well-formed
//! 4xx, and the server keeps serving afterwards.

use crate::common::{TestOrg, url_encode};
use serde_json::json;

#[tokio::test]
async fn malformed_input_gets_client_errors_not_crashes() {
    let org = TestOrg::start().await;
    let queries = [
        "",
        "SELECT",
        "SELECT Id FROM",
        "SELECT Id FROM Lead WHERE (",
        "SELECT Id FROM Lead WHERE Id IN ()",
        "SELECT Id FROM Lead LIMIT -1",
        "SELECT Id FROM Lead ORDER BY",
        "SELECT Id, Id FROM Lead",
        "SELECT Id FROM Lead WHERE LastName = 'é\\u'",
        "SELECT Ä FROM Lead",
        "SELECT Id FROM Lead WHERE CreatedDate > 2024-99-99",
        "SELECT Id FROM Lead WHERE LastName LIKE 5",
        "SELECT count() , Id FROM Lead",
        "SELECT Owner.Owner.Owner.Email FROM Case",
        "SELECT Id FROM Lead OFFSET 5000",
        "\u{0}\u{1}'",
        "SELECT Id FROM Lead WHERE IsConverted = 'true'",
    ];
    for q in queries {
        let r = org.query(q).await;
        assert!(
            r.status == 400 || r.status == 200,
            "{q:?} → {} {}",
            r.status,
            r.body
        );
    }
    for q in [
        "FIND {",
        "FIND {}",
        "FIND {ab} IN WHAT FIELDS",
        "FIND {ab} RETURNING",
        "FIND {ab} RETURNING Lead(",
        "FIND {ab} RETURNING Nope(Id)",
        "FIND {ééé",
    ] {
        let r = org
            .api("GET", &format!("/search?q={}", url_encode(q)), None)
            .await;
        assert_eq!(r.status, 400, "{q:?} → {}", r.body);
    }
    let paths = [
        "/sobjects/Lead/%FF%FE",
        "/sobjects/Lead/00Q%00",
        "/sobjects/Lead/ÄÖÜ",
        "/sobjects/Lead/Chat_Contact_Id__c/%E2%82%AC",
        "/query/",
        "/query/-",
        "/query/x-99999999999999999999",
        "/composite/sobjects/Lead",
        "/sobjects/Lead/describe/extra/more",
    ];
    for p in paths {
        let r = org.api("GET", p, None).await;
        assert!(
            (200..500).contains(&r.status),
            "{p} → {} {}",
            r.status,
            r.body
        );
    }
    let bodies = [
        json!(null),
        json!("x"),
        json!({"compositeRequest": "no"}),
        json!({"compositeRequest": [{"method": "GET"}]}),
        json!({"compositeRequest": [{"method": "GET", "url": "/elsewhere", "referenceId": "a"}]}),
        json!({"compositeRequest": [{"method": "GET", "url": "/services/data/v62.0/sobjects/Lead/@{", "referenceId": "a"}]}),
        json!({"compositeRequest": [{"method": "POST", "url": "/services/data/v62.0/composite", "referenceId": "a", "body": {}}]}),
    ];
    for b in bodies {
        let r = org.api("POST", "/composite", Some(b.clone())).await;
        assert!(
            r.status == 400 || r.status == 200,
            "{b} → {} {}",
            r.status,
            r.body
        );
    }
    for b in [
        json!({"records": [1, 2]}),
        json!({"records": [{"Name": "no type"}]}),
        json!({"records": "x"}),
        json!([]),
    ] {
        let r = org
            .api("POST", "/composite/sobjects", Some(b.clone()))
            .await;
        assert!(
            r.status == 400 || r.status == 200,
            "{b} → {} {}",
            r.status,
            r.body
        );
    }
    for b in [
        json!({"LastName": {"nested": true}}),
        json!({"LastName": [1]}),
        json!({"LastName": 1e308, "Company": "x"}),
        json!({"OwnerId": 5}),
    ] {
        let r = org.api("POST", "/sobjects/Lead", Some(b.clone())).await;
        assert!(
            r.status == 400 || r.status == 201,
            "{b} → {} {}",
            r.status,
            r.body
        );
    }
    let r = org
        .admin(
            "POST",
            "/__emulator/config",
            Some(json!({"token_lifetime_secs": u64::MAX})),
        )
        .await;
    assert_eq!(r.status, 200);
    let s = org.admin("POST", "/__emulator/session", None).await;
    assert_eq!(s.status, 200);
    for b in [
        json!([1]),
        json!({"Lead": "x"}),
        json!({"Lead": [1]}),
        json!({"Nope": [{}]}),
    ] {
        let r = org.admin("POST", "/__emulator/seed", Some(b.clone())).await;
        assert_eq!(r.status, 400, "{b} → {}", r.body);
    }
    // Still alive
    assert_eq!(org.api("GET", "/limits", None).await.status, 200);
}

#[tokio::test]
async fn hostile_files_headers_and_numbers_get_client_errors() {
    let org = TestOrg::start().await;
    let case = org
        .api("POST", "/sobjects/Case", Some(json!({"Subject": "s"})))
        .await;
    let case_id = case.body["id"].as_str().unwrap_or("").to_string();
    for v in [
        json!({"Title": "a", "PathOnClient": "a", "VersionData": "===="}),
        json!({"Title": "a", "PathOnClient": "a", "VersionData": ["x"]}),
        json!({"Title": "a", "PathOnClient": "a", "VersionData": {"b": 1}}),
        json!({"Title": "a", "PathOnClient": "", "VersionData": "YQ=="}),
        json!({"Title": "a", "PathOnClient": "a", "VersionData": "YQ==", "ContentDocumentId": case_id}),
        json!({"Title": "a", "PathOnClient": "a", "VersionData": "YQ==", "ContentSize": 5}),
        json!({"Title": "a", "PathOnClient": "a", "VersionData": "YQ==", "ContentLocation": "Z"}),
    ] {
        let r = org
            .api("POST", "/sobjects/ContentVersion", Some(v.clone()))
            .await;
        assert_eq!(r.status, 400, "{v} → {}", r.body);
        assert!(r.error_code().is_some(), "{v} → {}", r.body);
    }
    for p in [
        "/sobjects/ContentVersion/nope/VersionData",
        "/sobjects/ContentVersion/068000000000001AAA/VersionData",
        &format!("/sobjects/Case/{case_id}/VersionData"),
        "/sobjects/ContentDocumentLink/06A000000000001AAA",
    ] {
        let r = org.api("GET", p, None).await;
        assert!(
            (400..500).contains(&r.status),
            "{p} → {} {}",
            r.status,
            r.body
        );
    }
    for h in [
        "",
        " ",
        "1704110400",
        "Mon, 99 Jan 2024 12:00:00 GMT",
        "Mon, 01 Jan 99999 12:00:00 GMT",
    ] {
        let r = org
            .api_with_headers(
                "PATCH",
                &format!("/sobjects/Case/{case_id}"),
                Some(json!({"Subject": "x"})),
                &[("If-Unmodified-Since", h)],
            )
            .await;
        assert_eq!(r.status, 400, "{h:?} → {}", r.body);
    }
    for part in [json!(1e308), json!(-99999), json!("12"), json!(true)] {
        let r = org
            .api(
                "POST",
                "/sobjects/Chat_Transcript__c",
                Some(json!({"Part__c": part})),
            )
            .await;
        assert_eq!(r.status, 400, "{part} → {}", r.body);
    }
    assert_eq!(org.api("GET", "/limits", None).await.status, 200);
}
