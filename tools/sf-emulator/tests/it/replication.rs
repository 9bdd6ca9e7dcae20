//! What client libraries read beyond chatsync's own calls: child-relationship subqueries,
//! `attributes` first in every record as written on the wire, and the Get Updated / Get Deleted
//! replication resources (with records seeded into the recycle bin). The same ground, walked by
//! simple-salesforce itself, is the `client_library` target.

use crate::common::{TestOrg, V, url_encode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn minutes_ago(n: i64) -> String {
    (OffsetDateTime::now_utc() - time::Duration::minutes(n))
        .format(&Rfc3339)
        .expect("a timestamp formats")
}

/// The body as sent, for key order (the parsed `Value` keeps keys sorted).
async fn raw_text(org: &TestOrg, path: &str) -> String {
    let resp = org
        .http
        .get(format!("{}{V}{path}", org.base))
        .bearer_auth(&org.token)
        .send()
        .await
        .expect("request reaches the emulator");
    assert_eq!(resp.status(), 200);
    resp.text().await.expect("body reads")
}

async fn account_with_contacts(org: &TestOrg) -> (String, Vec<String>) {
    let ids = org
        .seed(json!({"Account": [{"Name": "Acme"}, {"Name": "Lonely"}]}))
        .await;
    let account = ids["Account"][0].as_str().expect("account id").to_string();
    let contacts = org
        .seed(json!({"Contact": [
            {"LastName": "Zed", "AccountId": account},
            {"LastName": "Abe", "AccountId": account, "Email": "abe@example.com"},
            {"LastName": "Elsewhere"},
        ]}))
        .await;
    let contacts = contacts["Contact"]
        .as_array()
        .expect("contact ids")
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    (account, contacts)
}

#[tokio::test]
async fn child_subquery_nests_totalsize_done_records() {
    let org = TestOrg::start().await;
    let (account, contacts) = account_with_contacts(&org).await;

    let r = org
        .query("SELECT Id, Name, (SELECT Id, LastName FROM Contacts ORDER BY LastName) FROM Account ORDER BY Name")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let acme = &r.body["records"][0];
    assert_eq!(acme["Id"], json!(account));
    let children = &acme["Contacts"];
    assert_eq!(children["totalSize"], json!(2));
    assert_eq!(children["done"], json!(true));
    assert_eq!(children.as_object().map(|o| o.len()), Some(3), "{children}");
    assert_eq!(children["records"][0]["LastName"], "Abe");
    assert_eq!(children["records"][0]["Id"], json!(contacts[1]));
    assert_eq!(children["records"][1]["LastName"], "Zed");
    assert_eq!(children["records"][0]["attributes"]["type"], "Contact");
    assert_eq!(
        children["records"][0].as_object().map(|o| o.len()),
        Some(3),
        "only the subquery's fields: {}",
        children["records"][0]
    );
    // A parent without children gets null, as the API answers.
    assert_eq!(r.body["records"][1]["Name"], "Lonely");
    assert_eq!(r.body["records"][1]["Contacts"], Value::Null);

    // The subquery's own WHERE and LIMIT; relationship names are case-insensitive.
    let r = org
        .query(&format!(
            "SELECT Id, (SELECT LastName FROM contacts WHERE Email != null LIMIT 5) FROM Account WHERE Id = '{account}'"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let children = &r.body["records"][0]["Contacts"];
    assert_eq!(children["totalSize"], json!(1));
    assert_eq!(children["records"][0]["LastName"], "Abe");

    // An unknown relationship is refused before anything runs.
    let r = org
        .query("SELECT Id, (SELECT Id FROM Leads) FROM Account")
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), Some("INVALID_TYPE"));
    assert!(
        r.error_message()
            .contains("Didn't understand relationship 'Leads' in FROM part of query call"),
        "{}",
        r.body
    );
    // A subquery's fields are checked against the child object.
    let r = org
        .query("SELECT Id, (SELECT Company FROM Contacts) FROM Account")
        .await;
    assert_eq!(r.error_code(), Some("INVALID_FIELD"));
    // One level of nesting only.
    let r = org
        .query("SELECT Id, (SELECT Id, (SELECT Id FROM Cases) FROM Contacts) FROM Account")
        .await;
    assert_eq!(r.error_code(), Some("MALFORMED_QUERY"));
}

#[tokio::test]
async fn custom_lookup_child_relationship_from_metadata() {
    let org = TestOrg::start().await;
    let ids = org.seed(json!({"Case": [{"Subject": "Chat"}]})).await;
    let case = ids["Case"][0].as_str().expect("case id");
    org.seed(json!({"Chat_Transcript__c": [{"Case__c": case, "Key__c": "k1"}]}))
        .await;
    let r = org
        .query(&format!(
            "SELECT Id, (SELECT Key__c FROM Chat_Transcripts__r) FROM Case WHERE Id = '{case}'"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let children = &r.body["records"][0]["Chat_Transcripts__r"];
    assert_eq!(children["totalSize"], json!(1), "{}", r.body);
    assert_eq!(children["records"][0]["Key__c"], "k1");
}

#[tokio::test]
async fn attributes_come_first_on_the_wire() {
    let org = TestOrg::start().await;
    let (account, contacts) = account_with_contacts(&org).await;
    for path in [
        format!(
            "/query?q={}",
            url_encode(
                "SELECT Id, Name, (SELECT Id, LastName FROM Contacts) FROM Account ORDER BY Name"
            )
        ),
        format!(
            "/query?q={}",
            url_encode("SELECT Id, LastName, Account.Name FROM Contact")
        ),
        format!("/sobjects/Contact/{}", contacts[0]),
        format!("/sobjects/Account/{account}?fields=Name"),
    ] {
        let text = raw_text(&org, &path).await;
        assert!(text.contains("{\"attributes\":"), "{path}: {text}");
        assert!(
            !text.contains(",\"attributes\":"),
            "{path}: attributes after another key: {text}"
        );
    }
}

#[tokio::test]
async fn get_updated_and_get_deleted_answer_as_the_api_does() {
    let org = TestOrg::start().await;
    let then = minutes_ago(10);
    let ids = org
        .seed(json!({"Contact": [
            {"LastName": "Changed", "LastModifiedDate": then},
            {"LastName": "Binned", "LastModifiedDate": then, "IsDeleted": true},
            {"LastName": "Long gone", "LastModifiedDate": minutes_ago(60 * 24 * 20), "IsDeleted": true},
        ]}))
        .await;
    let [changed, binned, long_gone] = [0, 1, 2].map(|i| ids["Contact"][i].as_str().unwrap_or(""));
    let window = format!(
        "start={}&end={}",
        url_encode(&minutes_ago(30)),
        url_encode(&minutes_ago(-5))
    );

    let r = org
        .api("GET", &format!("/sobjects/Contact/updated/?{window}"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body.as_object().map(|o| o.len()), Some(2), "{}", r.body);
    assert_eq!(r.body["ids"], json!([changed]));
    assert!(whole_minute(&r.body["latestDateCovered"]), "{}", r.body);

    // A seeded record in the recycle bin: gone from the rows, there for queryAll and Get Deleted.
    let row = org
        .api("GET", &format!("/sobjects/Contact/{binned}"), None)
        .await;
    assert_eq!(row.error_code(), Some("ENTITY_IS_DELETED"));
    let all = org
        .api(
            "GET",
            &format!(
                "/queryAll?q={}",
                url_encode("SELECT Id FROM Contact WHERE IsDeleted = true ORDER BY LastName")
            ),
            None,
        )
        .await;
    assert_eq!(all.body["totalSize"], json!(2), "{}", all.body);

    let r = org
        .api("GET", &format!("/sobjects/Contact/deleted/?{window}"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body.as_object().map(|o| o.len()), Some(3), "{}", r.body);
    let records = r.body["deletedRecords"].as_array().expect("deletedRecords");
    assert_eq!(records.len(), 1, "{}", r.body);
    assert_eq!(records[0]["id"], json!(binned));
    assert_eq!(records[0].as_object().map(|o| o.len()), Some(2));
    let deleted_date = records[0]["deletedDate"].as_str().unwrap_or("");
    assert_eq!(deleted_date.len(), "2024-01-01T00:00:00.000+0000".len());
    assert!(deleted_date.ends_with("+0000"), "{deleted_date}");
    assert!(whole_minute(&r.body["latestDateCovered"]), "{}", r.body);
    assert!(whole_minute(&r.body["earliestDateAvailable"]), "{}", r.body);
    assert!(
        !records.iter().any(|d| d["id"] == json!(long_gone)),
        "deleted before earliestDateAvailable"
    );

    // The window rules of Get Updated.
    let r = org
        .api(
            "GET",
            &format!(
                "/sobjects/Contact/deleted/?start={0}&end={0}",
                url_encode(&then)
            ),
            None,
        )
        .await;
    assert_eq!(r.error_code(), Some("INVALID_REPLICATION_DATE"));
    let r = org
        .api(
            "GET",
            "/sobjects/Contact/deleted/?start=2024-01-01T00:00:00Z",
            None,
        )
        .await;
    assert_eq!(r.error_code(), Some("MISSING_ARGUMENT"));
}

/// `2024-01-01T10:20:00.000+0000`: a whole minute, as the API rounds window bounds.
fn whole_minute(v: &Value) -> bool {
    let s = v.as_str().unwrap_or("");
    s.len() == "2024-01-01T10:20:00.000+0000".len()
        && s.get(16..).is_some_and(|tail| tail == ":00.000+0000")
        && s.get(10..11) == Some("T")
}
