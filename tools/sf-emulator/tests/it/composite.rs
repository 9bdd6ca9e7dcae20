//! Composite (references, allOrNone rollback) and sObject Collections, each one API call.

use crate::common::{TestOrg, V, str_at};
use serde_json::{Value, json};

async fn api_calls(org: &TestOrg) -> u64 {
    org.admin("GET", "/__emulator/stats", None).await.body["api_calls"]
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test]
async fn composite_chains_references_in_one_call() {
    let org = TestOrg::start().await;
    let before = api_calls(&org).await;
    let body = json!({
        "allOrNone": true,
        "compositeRequest": [
            {"method": "POST", "url": format!("{V}/sobjects/Lead"), "referenceId": "refLead",
             "body": {"LastName": "Chat", "Company": "Visitor", "Email": "v@example.com"}},
            {"method": "POST", "url": format!("{V}/sobjects/Task"), "referenceId": "refTask",
             "body": {"Subject": "Chat transcript", "WhoId": "@{refLead.id}", "Status": "Completed"}},
            {"method": "GET", "url": format!("{V}/sobjects/Lead/@{{refLead.id}}?fields=Email"), "referenceId": "refGet"},
            {"method": "GET", "url": format!("{V}/query?q=SELECT+Id+FROM+Task+WHERE+WhoId+%3D+%27@{{refLead.id}}%27"), "referenceId": "refQuery"},
            {"method": "PATCH", "url": format!("{V}/sobjects/Task/@{{refQuery.records[0].Id}}"), "referenceId": "refPatch",
             "body": {"Description": "linked to @{refGet.Email}"}},
        ]
    });
    let r = org.api("POST", "/composite", Some(body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let subs = r.body["compositeResponse"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(subs.len(), 5);
    let lead_id = str_at(&subs[0], "/body/id").to_string();
    assert_eq!(subs[0]["httpStatusCode"], json!(201));
    assert_eq!(
        str_at(&subs[0], "/httpHeaders/Location"),
        format!("{V}/sobjects/Lead/{lead_id}")
    );
    assert_eq!(subs[0]["referenceId"], "refLead");
    assert_eq!(subs[1]["httpStatusCode"], json!(201));
    assert_eq!(subs[2]["body"]["Email"], "v@example.com");
    assert_eq!(subs[3]["body"]["totalSize"], json!(1));
    assert_eq!(subs[4]["httpStatusCode"], json!(204));
    assert_eq!(subs[4]["body"], Value::Null);
    let tasks = org.records("Task").await;
    assert_eq!(tasks[0]["WhoId"], json!(lead_id));
    assert_eq!(tasks[0]["Description"], "linked to v@example.com");
    // One API call for the whole composite
    assert_eq!(api_calls(&org).await, before + 1);
}

#[tokio::test]
async fn composite_all_or_none_rolls_back_with_processing_halted() {
    let org = TestOrg::start().await;
    let body = json!({
        "allOrNone": true,
        "compositeRequest": [
            {"method": "POST", "url": format!("{V}/sobjects/Lead"), "referenceId": "refLead", "body": {"LastName": "x", "Company": "y"}},
            {"method": "POST", "url": format!("{V}/sobjects/Case"), "referenceId": "refCase", "body": {"Subject": "s", "Bogus__c": 1}},
            {"method": "POST", "url": format!("{V}/sobjects/Task"), "referenceId": "refTask", "body": {"Subject": "t", "WhoId": "@{refLead.id}"}},
        ]
    });
    let r = org.api("POST", "/composite", Some(body)).await;
    assert_eq!(r.status, 200);
    let subs = r.body["compositeResponse"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let halted = json!([{"message": "The transaction was rolled back since another operation in the same transaction failed.", "errorCode": "PROCESSING_HALTED"}]);
    assert_eq!(subs[0]["httpStatusCode"], json!(400));
    assert_eq!(subs[0]["body"], halted);
    assert_eq!(subs[1]["body"][0]["errorCode"], "INVALID_FIELD");
    assert_eq!(subs[2]["body"], halted);
    assert!(
        org.records("Lead").await.is_empty(),
        "the Lead was rolled back"
    );
}

#[tokio::test]
async fn composite_without_all_or_none_keeps_independent_results() {
    let org = TestOrg::start().await;
    let body = json!({"compositeRequest": [
        {"method": "GET", "url": format!("{V}/query?q=select+count()+from+Account"), "referenceId": "refAccount"},
        {"method": "GET", "url": format!("{V}/query?q=select+count()+from+XYZZY"), "referenceId": "refXYZZY"},
        {"method": "GET", "url": format!("{V}/sobjects/Foo"), "referenceId": "refFoo"},
        {"method": "POST", "url": format!("{V}/sobjects/Contact"), "referenceId": "refContact", "body": {"LastName": "ok"}},
        {"method": "POST", "url": format!("{V}/sobjects/Task"), "referenceId": "refTask", "body": {"WhoId": "@{refMissing.id}"}},
    ]});
    let r = org.api("POST", "/composite", Some(body)).await;
    let subs = r.body["compositeResponse"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        subs[0]["body"],
        json!({"totalSize": 0, "done": true, "records": []})
    );
    assert_eq!(subs[1]["httpStatusCode"], json!(400));
    assert_eq!(subs[1]["body"][0]["errorCode"], "INVALID_TYPE");
    assert_eq!(subs[2]["httpStatusCode"], json!(404));
    assert_eq!(subs[3]["httpStatusCode"], json!(201));
    assert_eq!(subs[4]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert!(str_at(&subs[4], "/body/0/message").starts_with(
        "Invalid reference specified. No value for refMissing.id found in refMissing."
    ));
    assert_eq!(org.records("Contact").await.len(), 1);
}

#[tokio::test]
async fn composite_limits_are_enforced() {
    let org = TestOrg::start().await;
    let subs: Vec<Value> = (0..26)
        .map(|i| json!({"method": "GET", "url": format!("{V}/limits"), "referenceId": format!("r{i}")}))
        .collect();
    let r = org
        .api(
            "POST",
            "/composite",
            Some(json!({"compositeRequest": subs})),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = org
        .api("POST", "/composite", Some(json!({"compositeRequest": [{"method": "GET", "url": format!("{V}/limits"), "referenceId": "bad-id"}]})))
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn collections_create_update_upsert_delete() {
    let org = TestOrg::start().await;
    let before = api_calls(&org).await;
    let r = org
        .api(
            "POST",
            "/composite/sobjects",
            Some(json!({"allOrNone": false, "records": [
                {"attributes": {"type": "Account"}, "Name": "Acme"},
                {"attributes": {"type": "Contact"}, "FirstName": "no last name"},
                {"attributes": {"type": "Lead"}, "LastName": "L", "Company": "C"},
            ]})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(api_calls(&org).await, before + 1);
    let items = r.body.as_array().cloned().unwrap_or_default();
    assert_eq!(items[0]["success"], json!(true));
    assert!(str_at(&items[0], "/id").starts_with("001"));
    assert_eq!(
        items[1],
        json!({"success": false, "errors": [{"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [LastName]", "fields": ["LastName"]}]})
    );
    assert_eq!(items[2]["success"], json!(true));
    let acc = str_at(&items[0], "/id").to_string();

    // allOrNone: the valid record is rolled back
    let r = org
        .api(
            "POST",
            "/composite/sobjects",
            Some(json!({"allOrNone": true, "records": [
                {"attributes": {"type": "Account"}, "Name": "Rolled"},
                {"attributes": {"type": "Account"}, "Name": "x", "OwnerId": "bad"},
            ]})),
        )
        .await;
    let items = r.body.as_array().cloned().unwrap_or_default();
    assert_eq!(
        items[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(
        items[0]["errors"][0]["message"],
        "Record rolled back because not all records were valid and the request was using AllOrNone header"
    );
    assert_eq!(items[1]["errors"][0]["statusCode"], "MALFORMED_ID");
    assert_eq!(org.records("Account").await.len(), 1);

    // Update
    let r = org
        .api("PATCH", "/composite/sobjects", Some(json!({"records": [{"attributes": {"type": "Account"}, "id": acc, "Website": "https://acme.example"}]})))
        .await;
    assert_eq!(r.body, json!([{"id": acc, "success": true, "errors": []}]));

    // Upsert by external id: created, then updated
    let body = json!({"allOrNone": false, "records": [{"attributes": {"type": "Contact"}, "Chat_Contact_Id__c": "c-1", "LastName": "One"}]});
    let r = org
        .api(
            "PATCH",
            "/composite/sobjects/Contact/Chat_Contact_Id__c",
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.body[0]["created"], json!(true));
    let r = org
        .api(
            "PATCH",
            "/composite/sobjects/Contact/Chat_Contact_Id__c",
            Some(body),
        )
        .await;
    assert_eq!(r.body[0]["created"], json!(false));
    // Upsert by Id with a null Id creates
    let r = org
        .api("PATCH", "/composite/sobjects/Account/Id", Some(json!({"records": [{"attributes": {"type": "Account"}, "Name": "New", "Id": null}]})))
        .await;
    assert_eq!(r.body[0]["created"], json!(true), "{}", r.body);

    // Retrieve
    let r = org
        .api(
            "GET",
            &format!("/composite/sobjects/Account?ids={acc},0015g0000000009&fields=Name,Website"),
            None,
        )
        .await;
    assert_eq!(r.body[0]["Website"], "https://acme.example");
    assert_eq!(r.body[1], Value::Null);

    // Delete, then delete again
    let r = org
        .api(
            "DELETE",
            &format!("/composite/sobjects?ids={acc}&allOrNone=false"),
            None,
        )
        .await;
    assert_eq!(r.body, json!([{"id": acc, "success": true, "errors": []}]));
    let r = org
        .api("DELETE", &format!("/composite/sobjects?ids={acc}"), None)
        .await;
    assert_eq!(r.body[0]["errors"][0]["statusCode"], "ENTITY_IS_DELETED");
    assert_eq!(r.body[0]["id"], json!(acc));

    // More than 200 records
    let many: Vec<Value> = (0..201)
        .map(|i| json!({"attributes": {"type": "Account"}, "Name": format!("a{i}")}))
        .collect();
    let r = org
        .api(
            "POST",
            "/composite/sobjects",
            Some(json!({"records": many})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), Some("EXCEEDED_ID_LIMIT"));
}
