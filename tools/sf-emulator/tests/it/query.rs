//! SOQL (query / queryAll, paging, relationship fields, errors) and SOSL.

use crate::common::{TestOrg, V, str_at, url_encode};
use serde_json::{Value, json};

async fn org_with_people() -> (TestOrg, Value) {
    let org = TestOrg::start().await;
    let ids = org
        .seed(json!({
            "Lead": [
                {"LastName": "Alpha", "Company": "A Co", "Email": "alpha@example.com", "Phone": "+1 (555) 010-0001", "LeadSource": "Web"},
                {"LastName": "Bravo", "Company": "B Co", "Email": "bravo@example.com", "LeadSource": "Other"},
                {"LastName": "O'Brien", "Company": "C\\Co", "Email": null},
                {"LastName": "Delta", "Company": "D Co", "Email": "delta@example.org", "IsConverted": true},
            ],
            "Contact": [{"LastName": "Echo", "Email": "echo@example.com", "MobilePhone": "555-010-0002"}],
        }))
        .await;
    (org, ids)
}

fn names(r: &crate::common::Reply) -> Vec<String> {
    r.body["records"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| str_at(x, "/LastName").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn where_order_limit_offset() {
    let (org, _) = org_with_people().await;
    let r = org.query("SELECT Id, LastName FROM Lead WHERE Email != null AND (LeadSource = 'Web' OR LeadSource IN ('Other')) ORDER BY LastName DESC").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(names(&r), vec!["Bravo", "Alpha"]);
    assert_eq!(r.body["totalSize"], json!(2));
    assert_eq!(r.body["done"], json!(true));
    assert!(r.body.get("nextRecordsUrl").is_none());
    let rec = &r.body["records"][0];
    assert_eq!(rec["attributes"]["type"], "Lead");
    assert_eq!(rec.as_object().map(|o| o.len()), Some(3));

    // Escaped quotes and backslashes in literals
    let r = org
        .query(r"SELECT LastName FROM Lead WHERE LastName = 'O\'Brien' AND Company = 'C\\Co'")
        .await;
    assert_eq!(names(&r), vec!["O'Brien"]);
    // Case-insensitive equality and LIKE
    let r = org
        .query("SELECT LastName FROM Lead WHERE email LIKE '%@EXAMPLE.com' ORDER BY LastName")
        .await;
    assert_eq!(names(&r), vec!["Alpha", "Bravo"]);
    // NOT, NOT IN, booleans, nulls ordering, LIMIT/OFFSET
    let r = org.query("SELECT LastName FROM Lead WHERE NOT LastName IN ('Alpha') AND IsConverted = false ORDER BY Email ASC NULLS LAST LIMIT 1 OFFSET 1").await;
    assert_eq!(names(&r), vec!["O'Brien"]);
    let r = org.query("SELECT LastName FROM Lead WHERE LastName NOT IN ('Alpha', 'Bravo') ORDER BY Email NULLS FIRST").await;
    assert_eq!(names(&r), vec!["O'Brien", "Delta"]);
    // Datetime and date literals
    let r = org.query("SELECT Id FROM Lead WHERE CreatedDate > 2020-01-01T00:00:00Z AND CreatedDate < 2999-01-01T00:00:00.000+01:00").await;
    assert_eq!(r.body["totalSize"], json!(4), "{}", r.body);
    let r = org
        .query("SELECT Id FROM Lead WHERE ConvertedDate = null AND CreatedDate >= TODAY")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // COUNT()
    let r = org
        .query("select count() from Lead where IsConverted = true")
        .await;
    assert_eq!(r.body, json!({"totalSize": 1, "done": true, "records": []}));
}

#[tokio::test]
async fn relationship_fields_nest_like_the_api() {
    let org = TestOrg::start().await;
    let ids = org.seed(json!({"Group": [{"Name": "Support", "DeveloperName": "Support", "Type": "Queue", "Email": "support@example.com"}]})).await;
    let queue = str_at(&ids, "/Group/0").to_string();
    org.seed(json!({"Case": [{"Subject": "a", "OwnerId": queue}], "Account": [{"Name": "Acme"}]}))
        .await;
    let r = org
        .query("SELECT Subject, Owner.Email, Owner.Name FROM Case")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rec = &r.body["records"][0];
    assert_eq!(rec["Owner"]["attributes"]["type"], "Group");
    assert_eq!(rec["Owner"]["Email"], "support@example.com");
    assert_eq!(rec["Owner"]["Name"], "Support");
    // Filter through a relationship
    let r = org
        .query("SELECT Id FROM Case WHERE Owner.Name = 'support'")
        .await;
    assert_eq!(r.body["totalSize"], json!(1));
    // A null parent is null
    let r = org.query("SELECT Name, Owner.Email FROM Account").await;
    assert!(r.body["records"][0]["Owner"].is_object(), "{}", r.body);
    let r = org
        .query("SELECT LastName, Account.Name FROM Contact")
        .await;
    assert_eq!(r.body["totalSize"], json!(0));
}

#[tokio::test]
async fn query_errors_point_at_the_column() {
    let org = TestOrg::start().await;
    let r = org.query("select count() from XYZZY").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), Some("INVALID_TYPE"));
    assert_eq!(
        r.error_message(),
        "\nselect count() from XYZZY\n                    ^\nERROR at Row:1:Column:21\nsObject type 'XYZZY' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."
    );
    let r = org.query("SELECT Id, Foo FROM Lead").await;
    assert_eq!(r.error_code(), Some("INVALID_FIELD"));
    assert!(
        r.error_message()
            .contains("ERROR at Row:1:Column:12\nNo such column 'Foo' on entity 'Lead'."),
        "{}",
        r.error_message()
    );
    let r = org.query("SELECT Id, Boss.Email FROM Lead").await;
    assert_eq!(r.error_code(), Some("INVALID_FIELD"));
    assert!(
        r.error_message()
            .contains("Didn't understand relationship 'Boss'")
    );
    let r = org.query("SELECT Id FROM Lead WHERE").await;
    assert_eq!(r.error_code(), Some("MALFORMED_QUERY"));
    let r = org
        .query("SELECT Id FROM Lead WHERE LastName = 'unterminated")
        .await;
    assert_eq!(r.error_code(), Some("MALFORMED_QUERY"));
    let r = org.query("SELECT Id FROM Lead WHERE Email = 5").await;
    assert_eq!(r.error_code(), Some("INVALID_FIELD"));
    assert!(r.error_message().ends_with("value of filter criterion for field 'Email' must be of type email and should be enclosed in quotes"), "{}", r.error_message());
    let r = org.query("SELECT Id FROM Lead WHERE Id = 'abc'").await;
    assert_eq!(r.error_code(), Some("INVALID_QUERY_FILTER_OPERATOR"));
    let r = org.api("GET", "/query", None).await;
    assert_eq!(r.error_code(), Some("MALFORMED_QUERY"));
    // Injection through quotes stays inside the literal
    let r = org
        .query(r"SELECT Id FROM Lead WHERE LastName = 'x\' OR LastName != \'y'")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["totalSize"], json!(0));
}

#[tokio::test]
async fn paging_follows_next_records_url() {
    let org = TestOrg::start().await;
    org.admin(
        "POST",
        "/__emulator/config",
        Some(json!({"query_batch_size": 2})),
    )
    .await;
    let leads: Vec<Value> = (0..5)
        .map(|i| json!({"LastName": format!("L{i}"), "Company": "c"}))
        .collect();
    org.seed(json!({"Lead": leads})).await;
    let mut r = org
        .query("SELECT LastName FROM Lead ORDER BY LastName")
        .await;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        pages += 1;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["totalSize"], json!(5));
        seen.extend(names(&r));
        if r.body["done"] == json!(true) {
            assert!(r.body.get("nextRecordsUrl").is_none());
            break;
        }
        let next = str_at(&r.body, "/nextRecordsUrl").to_string();
        assert!(next.starts_with(&format!("{V}/query/01g")), "{next}");
        r = org.raw("GET", &next, None, Some(&org.token)).await;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, vec!["L0", "L1", "L2", "L3", "L4"]);
    let r = org.api("GET", "/query/01gBOGUS-2", None).await;
    assert_eq!(r.error_code(), Some("INVALID_QUERY_LOCATOR"));
}

#[tokio::test]
async fn query_all_includes_deleted_records() {
    let org = TestOrg::start().await;
    let ids = org
        .seed(
            json!({"Lead": [{"LastName": "a", "Company": "c"}, {"LastName": "b", "Company": "c"}]}),
        )
        .await;
    let r = org
        .api(
            "DELETE",
            &format!("/sobjects/Lead/{}", str_at(&ids, "/Lead/0")),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    let r = org.query("SELECT Id FROM Lead").await;
    assert_eq!(r.body["totalSize"], json!(1));
    let q = url_encode("SELECT Id, IsDeleted FROM Lead WHERE IsDeleted = true");
    let r = org.api("GET", &format!("/queryAll?q={q}"), None).await;
    assert_eq!(r.body["totalSize"], json!(1));
    assert_eq!(r.body["records"][0]["IsDeleted"], json!(true));
}

#[tokio::test]
async fn sosl_finds_by_email_and_phone() {
    let (org, ids) = org_with_people().await;
    let q = url_encode(
        "FIND {alpha@example.com} IN EMAIL FIELDS RETURNING Lead(Id, Email, IsConverted), Contact(Id, Email)",
    );
    let r = org.api("GET", &format!("/search?q={q}"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let recs = r.body["searchRecords"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["Id"], ids["Lead"][0]);
    assert_eq!(recs[0]["attributes"]["type"], "Lead");
    assert_eq!(recs[0]["IsConverted"], json!(false));

    let q =
        url_encode("FIND {5550100002} IN PHONE FIELDS RETURNING Lead(Id), Contact(Id, LastName)");
    let r = org.api("GET", &format!("/search?q={q}"), None).await;
    let recs = r.body["searchRecords"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(recs.len(), 1, "{}", r.body);
    assert_eq!(recs[0]["LastName"], "Echo");

    // Escaped specials in the term
    let q = url_encode(r"FIND {alpha\@example.com} IN EMAIL FIELDS RETURNING Lead(Id)");
    let r = org.api("GET", &format!("/search?q={q}"), None).await;
    assert_eq!(r.body["searchRecords"].as_array().map(Vec::len), Some(1));

    let q = url_encode("FIND alpha IN EMAIL FIELDS");
    let r = org.api("GET", &format!("/search?q={q}"), None).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        json!([{"message": "No search term found. The search term must be enclosed in braces.", "errorCode": "MALFORMED_SEARCH"}])
    );
}
