//! The SOQL the case writer sends, each through `/query` and as a composite `query` subrequest,
//! over data seeded through the admin API (queues, record types, opportunities and roles).

use crate::common::{TestOrg, V, str_at, url_encode};
use serde_json::{Value, json};

struct Org {
    org: TestOrg,
    contact: String,
    other_contact: String,
    open_case: String,
    queue_a: String,
    record_type: String,
    open_opp: String,
}

async fn setup() -> Org {
    let org = TestOrg::start().await;
    let ids = org
        .seed(json!({
            "Group": [
                {"Name": "Queue A", "DeveloperName": "A", "Type": "Queue"},
                {"Name": "Queue B", "DeveloperName": "B", "Type": "Queue"},
                {"Name": "Team C", "DeveloperName": "C", "Type": "Regular"},
            ],
            "RecordType": [
                {"Name": "Chat", "DeveloperName": "X", "SobjectType": "Case"},
                {"Name": "Chat", "DeveloperName": "X", "SobjectType": "Account"},
            ],
            "Contact": [{"LastName": "Visitor"}, {"LastName": "Other"}],
            "User": [
                {"Username": "agent@x.com", "LastName": "Agent", "Alias": "ag", "Email": "a@x.com", "IsActive": true},
                {"Username": "gone@x.com", "LastName": "Gone", "Alias": "go", "Email": "gone@x.com", "IsActive": false},
            ],
        }))
        .await;
    let queue_a = str_at(&ids, "/Group/0").to_string();
    let contact = str_at(&ids, "/Contact/0").to_string();
    let other_contact = str_at(&ids, "/Contact/1").to_string();
    let more = org
        .seed(json!({
            "QueueSobject": [{"QueueId": queue_a, "SobjectType": "Case"}],
            "Opportunity": [
                {"Name": "Open", "StageName": "Prospecting", "CloseDate": "2026-12-31"},
                {"Name": "Won", "StageName": "Closed Won", "CloseDate": "2026-01-31"},
                {"Name": "Lost", "StageName": "Closed Lost", "CloseDate": "2026-01-31"},
            ],
        }))
        .await;
    assert!(str_at(&more, "/QueueSobject/0").starts_with("03g"));
    let open_opp = str_at(&more, "/Opportunity/0").to_string();
    let roles: Vec<Value> = (0..3)
        .map(|i| json!({"OpportunityId": str_at(&more, &format!("/Opportunity/{i}")), "ContactId": contact}))
        .collect();
    org.seed(json!({"OpportunityContactRole": roles})).await;
    // Cases for the contact: an old closed one and two open ones, the newer created last.
    let mut cases = Vec::new();
    for status in ["Closed", "New", "Working"] {
        let r = org
            .api(
                "POST",
                "/sobjects/Case",
                Some(
                    json!({"Subject": status, "Status": status, "ContactId": contact,
                            "OwnerId": queue_a, "Type": "Other", "Reason": "Other"}),
                ),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        cases.push(str_at(&r.body, "/id").to_string());
    }
    let open_case = cases[2].clone();
    let record_type = str_at(&ids, "/RecordType/0").to_string();
    org.api(
        "POST",
        "/sobjects/CaseComment",
        Some(json!({"ParentId": open_case, "CommentBody": "first note"})),
    )
    .await;
    org.api(
        "PATCH",
        "/sobjects/Task/Chat_Transcript_Key__c/x",
        Some(json!({"Subject": "Chat", "WhatId": open_case})),
    )
    .await;
    Org {
        org,
        contact,
        other_contact,
        open_case,
        queue_a,
        record_type,
        open_opp,
    }
}

/// Runs a query through `/query` and as a composite subrequest; both must agree.
async fn both(org: &TestOrg, soql: &str) -> Value {
    let direct = org.query(soql).await;
    assert_eq!(direct.status, 200, "{soql}: {}", direct.body);
    let composite = org
        .api(
            "POST",
            "/composite",
            Some(json!({"compositeRequest": [
                {"method": "GET", "url": format!("{V}/query?q={}", url_encode(soql)), "referenceId": "q"}
            ]})),
        )
        .await;
    let sub = &composite.body["compositeResponse"][0];
    assert_eq!(sub["httpStatusCode"], json!(200), "{soql}: {sub}");
    assert_eq!(
        sub["body"], direct.body,
        "composite and /query agree for {soql}"
    );
    direct.body
}

fn column(result: &Value, name: &str) -> Vec<Value> {
    result["records"]
        .as_array()
        .map(|rs| rs.iter().map(|r| r[name].clone()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_writers_queries_answer_as_salesforce_does() {
    let o = setup().await;
    let org = &o.org;

    let r = both(
        org,
        &format!("SELECT Id, Status, Priority, OwnerId, Type, Reason, LastModifiedDate, SystemModstamp FROM Case WHERE Id = '{}'", o.open_case),
    )
    .await;
    assert_eq!(r["totalSize"], json!(1));
    let rec = &r["records"][0];
    let mut keys: Vec<&str> = rec
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "Id",
            "LastModifiedDate",
            "OwnerId",
            "Priority",
            "Reason",
            "Status",
            "SystemModstamp",
            "Type",
            "attributes"
        ]
    );
    assert_eq!(rec["Status"], "Working");
    assert_eq!(rec["Priority"], "Medium");
    assert_eq!(rec["OwnerId"], json!(o.queue_a));
    assert_eq!(rec["attributes"]["type"], "Case");
    assert!(str_at(rec, "/SystemModstamp").ends_with("+0000"));
    // 15-character ids match too.
    let r = both(
        org,
        &format!("SELECT Id FROM Case WHERE Id = '{}'", &o.open_case[..15]),
    )
    .await;
    assert_eq!(r["totalSize"], json!(1));

    let latest_open = format!(
        "SELECT Id FROM Case WHERE ContactId = '{}' AND IsClosed = false ORDER BY CreatedDate DESC LIMIT 1",
        o.contact
    );
    let r = both(org, &latest_open).await;
    assert_eq!(column(&r, "Id"), vec![json!(o.open_case)]);
    let r = both(
        org,
        &format!(
            "SELECT Id, ClosedDate FROM Case WHERE ContactId = '{}' AND IsClosed = true",
            o.contact
        ),
    )
    .await;
    assert_eq!(r["totalSize"], json!(1));
    assert!(str_at(&r, "/records/0/ClosedDate").ends_with("+0000"));
    let r = both(
        org,
        &format!("SELECT Id FROM Case WHERE ContactId = '{}' AND IsClosed = false ORDER BY CreatedDate DESC LIMIT 1", o.other_contact),
    )
    .await;
    assert_eq!(r["totalSize"], json!(0));
    // Closing the newest open Case makes the other one the answer; its ClosedDate is set, and
    // reopening clears it.
    let path = format!("/sobjects/Case/{}", o.open_case);
    org.api("PATCH", &path, Some(json!({"Status": "Closed"})))
        .await;
    let closed = org.api("GET", &path, None).await;
    assert_eq!(closed.body["IsClosed"], json!(true));
    assert!(closed.body["ClosedDate"].is_string());
    let r = both(org, &latest_open).await;
    assert_eq!(r["totalSize"], json!(1));
    assert_ne!(column(&r, "Id"), vec![json!(o.open_case)]);
    org.api("PATCH", &path, Some(json!({"Status": "Working"})))
        .await;
    let reopened = org.api("GET", &path, None).await;
    assert_eq!(reopened.body["ClosedDate"], Value::Null);

    let r = both(
        org,
        "SELECT Id, DeveloperName FROM Group WHERE Type = 'Queue' AND DeveloperName IN ('A','B')",
    )
    .await;
    let mut names = column(&r, "DeveloperName");
    names.sort_by_key(|v| v.to_string());
    assert_eq!(names, vec![json!("A"), json!("B")]);

    let r = both(
        org,
        "SELECT Id, DeveloperName FROM RecordType WHERE SobjectType = 'Case' AND DeveloperName = 'X'",
    )
    .await;
    assert_eq!(column(&r, "Id"), vec![json!(o.record_type)]);

    let r = both(
        org,
        &format!("SELECT OpportunityId FROM OpportunityContactRole WHERE ContactId = '{}' AND Opportunity.IsClosed = false", o.contact),
    )
    .await;
    assert_eq!(column(&r, "OpportunityId"), vec![json!(o.open_opp)]);
    let r = both(
        org,
        "SELECT Name, IsClosed, IsWon FROM Opportunity ORDER BY Name",
    )
    .await;
    assert_eq!(
        column(&r, "IsClosed"),
        vec![json!(true), json!(false), json!(true)]
    );
    assert_eq!(
        column(&r, "IsWon"),
        vec![json!(false), json!(false), json!(true)]
    );

    let r = both(
        org,
        &format!(
            "SELECT Id, CommentBody FROM CaseComment WHERE ParentId = '{}'",
            o.open_case
        ),
    )
    .await;
    assert_eq!(column(&r, "CommentBody"), vec![json!("first note")]);

    let r = both(
        org,
        "SELECT Id FROM Task WHERE Chat_Transcript_Key__c = 'x'",
    )
    .await;
    assert_eq!(r["totalSize"], json!(1));

    let r = both(
        org,
        "SELECT Id, Email FROM User WHERE Email IN ('a@x.com', 'gone@x.com') AND IsActive = true",
    )
    .await;
    assert_eq!(column(&r, "Email"), vec![json!("a@x.com")]);
}

#[tokio::test]
async fn bad_writer_queries_get_query_errors() {
    let o = setup().await;
    let org = &o.org;
    let r = org
        .query("SELECT Id FROM Case WHERE IsClosed = 'false'")
        .await;
    assert_eq!(r.error_code(), Some("INVALID_FIELD"));
    let r = org
        .query("SELECT Id FROM Case WHERE ContactId = 'nope'")
        .await;
    assert_eq!(r.error_code(), Some("INVALID_QUERY_FILTER_OPERATOR"));
    let r = org
        .query("SELECT OpportunityId FROM OpportunityContactRole WHERE Opp.IsClosed = false")
        .await;
    assert_eq!(r.error_code(), Some("INVALID_FIELD"));
    let r = org
        .query("SELECT Id FROM Task WHERE Chat_Transcript_Key = 'x'")
        .await;
    assert_eq!(r.error_code(), Some("INVALID_FIELD"));
}
