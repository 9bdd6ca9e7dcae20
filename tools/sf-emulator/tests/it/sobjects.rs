//! sObject rows: create, get, update, delete, upsert by external id, describe, and the
//! validation errors Salesforce returns for bad writes.

use crate::common::{TestOrg, V, str_at};
use serde_json::{Value, json};

#[tokio::test]
async fn create_get_update_delete_lifecycle() {
    let org = TestOrg::start().await;
    // WHEN a Lead is created
    let r = org
        .api(
            "POST",
            "/sobjects/Lead",
            Some(json!({"LastName": "Lovelace", "Company": "Engines", "Email": "ada@example.com"})),
        )
        .await;
    assert_eq!(r.status, 201);
    let id = str_at(&r.body, "/id").to_string();
    assert_eq!(id.len(), 18);
    assert!(id.starts_with("00Q"));
    assert_eq!(r.body["success"], json!(true));
    assert_eq!(r.body["errors"], json!([]));
    assert!(
        r.header("sforce-limit-info")
            .is_some_and(|h| h.starts_with("api-usage="))
    );

    // THEN it reads back with attributes, defaults and system fields
    let r = org.api("GET", &format!("/sobjects/Lead/{id}"), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["attributes"]["type"], "Lead");
    assert_eq!(
        str_at(&r.body, "/attributes/url"),
        format!("{V}/sobjects/Lead/{id}")
    );
    assert_eq!(r.body["Status"], "Open - Not Contacted");
    assert_eq!(r.body["IsConverted"], json!(false));
    assert_eq!(r.body["ConvertedContactId"], Value::Null);
    assert_eq!(r.body["Name"], "Lovelace");
    let created = str_at(&r.body, "/CreatedDate").to_string();
    assert!(
        created.ends_with("+0000") && created.contains('T'),
        "{created}"
    );
    assert!(str_at(&r.body, "/OwnerId").starts_with("005"));

    // ?fields= limits the answer
    let r = org
        .api(
            "GET",
            &format!("/sobjects/Lead/{id}?fields=Email,Company"),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    let keys: Vec<&String> = r
        .body
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys.len(), 4, "{keys:?}");
    assert_eq!(r.body["Email"], "ada@example.com");

    // WHEN updated THEN 204 and the change is visible
    let r = org
        .api(
            "PATCH",
            &format!("/sobjects/Lead/{id}"),
            Some(json!({"FirstName": "Ada"})),
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(r.body, Value::Null);
    let r = org.api("GET", &format!("/sobjects/Lead/{id}"), None).await;
    assert_eq!(r.body["Name"], "Ada Lovelace");

    // 15-character ids are accepted too
    let r = org
        .api("GET", &format!("/sobjects/Lead/{}", &id[..15]), None)
        .await;
    assert_eq!(r.status, 200);

    // WHEN deleted THEN 204, and again → 404 ENTITY_IS_DELETED
    let r = org
        .api("DELETE", &format!("/sobjects/Lead/{id}"), None)
        .await;
    assert_eq!(r.status, 204);
    let r = org
        .api("DELETE", &format!("/sobjects/Lead/{id}"), None)
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.body,
        json!([{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}])
    );
    let r = org.api("GET", &format!("/sobjects/Lead/{id}"), None).await;
    assert_eq!(r.error_code(), Some("ENTITY_IS_DELETED"));
}

#[tokio::test]
async fn unknown_objects_and_ids() {
    let org = TestOrg::start().await;
    let r = org
        .api("POST", "/sobjects/Unreal", Some(json!({"Name": "x"})))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.body,
        json!([{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])
    );

    let r = org.api("GET", "/sobjects/Lead/not-an-id", None).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), Some("MALFORMED_ID"));
    assert_eq!(r.body[0]["fields"], json!(["Id"]));

    // A Contact id under /Lead is malformed for that object
    let ids = org.seed(json!({"Contact": [{"LastName": "C"}]})).await;
    let cid = str_at(&ids, "/Contact/0");
    let r = org
        .api(
            "PATCH",
            &format!("/sobjects/Lead/{cid}"),
            Some(json!({"LastName": "x"})),
        )
        .await;
    assert_eq!(r.error_code(), Some("MALFORMED_ID"));

    // A well-formed id that does not exist
    let r = org.api("GET", "/sobjects/Lead/00Q5g0000000001", None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error_code(), Some("NOT_FOUND"));
}

#[tokio::test]
async fn validation_errors_are_worded_like_salesforce() {
    let org = TestOrg::start().await;
    let r = org
        .api("POST", "/sobjects/Lead", Some(json!({"FirstName": "x"})))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        json!([{"message": "Required fields are missing: [LastName, Company]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["LastName", "Company"]}])
    );

    let r = org
        .api(
            "POST",
            "/sobjects/Lead",
            Some(json!({"LastName": "x", "Company": "y", "Foo": 1})),
        )
        .await;
    assert_eq!(r.error_code(), Some("INVALID_FIELD"));
    assert_eq!(
        r.error_message(),
        "No such column 'Foo' on sobject of type Lead"
    );

    let long = "x".repeat(41);
    let r = org
        .api(
            "POST",
            "/sobjects/Lead",
            Some(json!({"LastName": "x", "Company": "y", "FirstName": long})),
        )
        .await;
    assert_eq!(r.error_code(), Some("STRING_TOO_LONG"));
    assert_eq!(
        r.error_message(),
        format!("First Name: data value too large: {long} (max length=40)")
    );
    assert_eq!(r.body[0]["fields"], json!(["FirstName"]));

    let r = org
        .api(
            "POST",
            "/sobjects/Task",
            Some(json!({"Subject": "s", "CallType": "Sideways"})),
        )
        .await;
    assert_eq!(
        r.error_code(),
        Some("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")
    );
    assert_eq!(
        r.error_message(),
        "Call Type: bad value for restricted picklist field: Sideways"
    );
    // Unrestricted picklists take any value
    let r = org
        .api(
            "POST",
            "/sobjects/Case",
            Some(json!({"Subject": "s", "Origin": "Chat"})),
        )
        .await;
    assert_eq!(r.status, 201);

    let r = org
        .api(
            "POST",
            "/sobjects/Lead",
            Some(json!({"LastName": "x", "Company": "y", "IsDeleted": true})),
        )
        .await;
    assert_eq!(r.error_code(), Some("INVALID_FIELD_FOR_INSERT_UPDATE"));
    assert!(
        r.error_message()
            .starts_with("Unable to create/update fields: IsDeleted.")
    );
    let r = org
        .api(
            "POST",
            "/sobjects/Lead",
            Some(json!({"LastName": "x", "Company": "y", "ConvertedContactId": null})),
        )
        .await;
    assert_eq!(r.error_code(), Some("INVALID_FIELD_FOR_INSERT_UPDATE"));

    let r = org
        .api(
            "POST",
            "/sobjects/Contact",
            Some(json!({"LastName": "x", "AccountId": "garbage"})),
        )
        .await;
    assert_eq!(r.error_code(), Some("MALFORMED_ID"));
    assert_eq!(
        r.error_message(),
        "Account ID: id value of incorrect type: garbage"
    );

    let r = org
        .api(
            "POST",
            "/sobjects/Contact",
            Some(json!({"LastName": "x", "AccountId": "0015g0000000001AAA"})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r2 = org
        .api(
            "POST",
            "/sobjects/Contact",
            Some(json!({"LastName": "x", "AccountId": "0015g0000000001"})),
        )
        .await;
    assert_eq!(r2.error_code(), Some("INVALID_CROSS_REFERENCE_KEY"));
    assert_eq!(r2.body[0]["fields"], json!(["AccountId"]));

    let r = org
        .api(
            "POST",
            "/sobjects/Lead",
            Some(json!({"LastName": "x", "Company": "y", "Email": "not an email"})),
        )
        .await;
    assert_eq!(r.error_code(), Some("INVALID_EMAIL_ADDRESS"));

    let r = org
        .api(
            "POST",
            "/sobjects/Lead",
            Some(json!({"LastName": "x", "Company": "y", "IsConverted": "yes"})),
        )
        .await;
    assert_eq!(r.error_code(), Some("JSON_PARSER_ERROR"));

    // Updating a required field to null is a missing required field
    let ids = org
        .seed(json!({"Lead": [{"LastName": "L", "Company": "C"}]}))
        .await;
    let lid = str_at(&ids, "/Lead/0");
    let r = org
        .api(
            "PATCH",
            &format!("/sobjects/Lead/{lid}"),
            Some(json!({"Company": null})),
        )
        .await;
    assert_eq!(r.error_code(), Some("REQUIRED_FIELD_MISSING"));
    // IsConverted is create-only
    let r = org
        .api(
            "PATCH",
            &format!("/sobjects/Lead/{lid}"),
            Some(json!({"IsConverted": true})),
        )
        .await;
    assert_eq!(r.error_code(), Some("INVALID_FIELD_FOR_INSERT_UPDATE"));
}

#[tokio::test]
async fn owners_queues_and_converted_leads() {
    let org = TestOrg::start().await;
    let ids = org
        .seed(json!({
            "User": [{"Username": "gone@example.com", "LastName": "Gone", "Alias": "gone", "Email": "gone@example.com", "IsActive": false}],
            "Group": [{"Name": "Support", "DeveloperName": "Support", "Type": "Queue"}, {"Name": "Team", "Type": "Regular"}],
        }))
        .await;
    let inactive = str_at(&ids, "/User/0").to_string();
    let queue = str_at(&ids, "/Group/0").to_string();
    let regular = str_at(&ids, "/Group/1").to_string();
    org.seed(json!({"QueueSobject": [{"QueueId": queue, "SobjectType": "Case"}, {"QueueId": queue, "SobjectType": "Lead"}]})).await;

    // Case and Lead may be owned by a queue that serves them
    let r = org
        .api(
            "POST",
            "/sobjects/Case",
            Some(json!({"Subject": "s", "OwnerId": queue})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = org
        .api(
            "POST",
            "/sobjects/Lead",
            Some(json!({"LastName": "l", "Company": "c", "OwnerId": queue})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // …but not by a regular group
    let r = org
        .api(
            "POST",
            "/sobjects/Case",
            Some(json!({"Subject": "s", "OwnerId": regular})),
        )
        .await;
    assert_eq!(r.error_code(), Some("FIELD_INTEGRITY_EXCEPTION"));
    // Contact.OwnerId must be a User
    let r = org
        .api(
            "POST",
            "/sobjects/Contact",
            Some(json!({"LastName": "c", "OwnerId": queue})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), Some("FIELD_INTEGRITY_EXCEPTION"));
    assert_eq!(r.body[0]["fields"], json!(["OwnerId"]));
    // Inactive owners are refused
    let r = org
        .api(
            "POST",
            "/sobjects/Contact",
            Some(json!({"LastName": "c", "OwnerId": inactive})),
        )
        .await;
    assert_eq!(r.error_code(), Some("INACTIVE_OWNER_OR_USER"));

    // Converted Leads: no updates, and Tasks may not point at them
    let ids = org
        .seed(json!({"Account": [{"Name": "A"}], "Contact": [{"LastName": "C"}]}))
        .await;
    let (acc, con) = (
        str_at(&ids, "/Account/0").to_string(),
        str_at(&ids, "/Contact/0").to_string(),
    );
    let ids = org
        .seed(json!({"Lead": [{"LastName": "L", "Company": "C", "IsConverted": true, "ConvertedContactId": con, "ConvertedAccountId": acc, "Status": "Closed - Converted"}]}))
        .await;
    let lead = str_at(&ids, "/Lead/0").to_string();
    let r = org
        .api("GET", &format!("/sobjects/Lead/{lead}"), None)
        .await;
    assert_eq!(r.body["IsConverted"], json!(true));
    assert_eq!(r.body["ConvertedContactId"], json!(con));
    let r = org
        .api(
            "PATCH",
            &format!("/sobjects/Lead/{lead}"),
            Some(json!({"Company": "New"})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), Some("CANNOT_UPDATE_CONVERTED_LEAD"));
    let r = org
        .api(
            "POST",
            "/sobjects/Task",
            Some(json!({"Subject": "chat", "WhoId": lead})),
        )
        .await;
    assert_eq!(r.error_code(), Some("CANNOT_UPDATE_CONVERTED_LEAD"));
    assert_eq!(r.body[0]["fields"], json!(["WhoId"]));
    // The converted contact is fine, and the Task derives its AccountId… when the contact has one
    let r = org
        .api(
            "POST",
            "/sobjects/Task",
            Some(json!({"Subject": "chat", "WhoId": con, "WhatId": acc})),
        )
        .await;
    assert_eq!(r.status, 201);
    let task = org
        .api(
            "GET",
            &format!("/sobjects/Task/{}", str_at(&r.body, "/id")),
            None,
        )
        .await;
    assert_eq!(task.body["AccountId"], json!(acc));
    assert_eq!(task.body["Status"], "Not Started");
    assert_eq!(task.body["Priority"], "Normal");
}

#[tokio::test]
async fn upsert_by_external_id_follows_the_api_version() {
    let org = TestOrg::start().await;
    let path = "/sobjects/Contact/Chat_Contact_Id__c/chat-123";
    let r = org
        .api("PATCH", path, Some(json!({"LastName": "Hopper"})))
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["created"], json!(true));
    let id = str_at(&r.body, "/id").to_string();
    let r = org
        .api("PATCH", path, Some(json!({"FirstName": "Grace"})))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        json!({"id": id, "success": true, "errors": [], "created": false})
    );
    // External ids match case-insensitively
    let r = org
        .api(
            "PATCH",
            "/sobjects/Contact/Chat_Contact_Id__c/CHAT-123",
            Some(json!({"Title": "RADM"})),
        )
        .await;
    assert_eq!(r.status, 200);
    // ≤ v45: 204 on update, no created flag on create
    let r = org
        .raw(
            "PATCH",
            "/services/data/v45.0/sobjects/Contact/Chat_Contact_Id__c/chat-123",
            Some(json!({"Title": "x"})),
            Some(&org.token),
        )
        .await;
    assert_eq!(r.status, 204);
    let r = org
        .raw(
            "PATCH",
            "/services/data/v45.0/sobjects/Contact/Chat_Contact_Id__c/chat-999",
            Some(json!({"LastName": "x"})),
            Some(&org.token),
        )
        .await;
    assert_eq!(r.status, 201);
    assert!(r.body.get("created").is_none());
    // GET by external id
    let r = org
        .api("GET", "/sobjects/Contact/Chat_Contact_Id__c/chat-123", None)
        .await;
    assert_eq!(r.body["Id"], json!(id));
    assert_eq!(r.body["Name"], "Grace Hopper");
    // Several matches → 300 with the URLs
    org.seed(json!({"Lead": [{"LastName": "a", "Company": "c", "Chat_Contact_Id__c": "dup"}, {"LastName": "b", "Company": "c", "Chat_Contact_Id__c": "dup"}]})).await;
    let r = org
        .api(
            "PATCH",
            "/sobjects/Lead/Chat_Contact_Id__c/dup",
            Some(json!({"LastName": "z"})),
        )
        .await;
    assert_eq!(r.status, 300);
    let urls = r.body.as_array().cloned().unwrap_or_default();
    assert_eq!(urls.len(), 2);
    assert!(urls.iter().all(|u| {
        u.as_str()
            .is_some_and(|u| u.starts_with(&format!("{V}/sobjects/Lead/00Q")))
    }));
    // A field that is not an external id
    let r = org
        .api(
            "PATCH",
            "/sobjects/Contact/Email/a@b.c",
            Some(json!({"LastName": "z"})),
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.error_message(),
        "Provided external ID field does not exist or is not accessible: Email"
    );
}

#[tokio::test]
async fn describe_reports_the_schema() {
    let org = TestOrg::start().await;
    let r = org.api("GET", "/sobjects/Lead/describe", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["name"], "Lead");
    assert_eq!(r.body["keyPrefix"], "00Q");
    let fields = r.body["fields"].as_array().cloned().unwrap_or_default();
    let field = |n: &str| {
        fields
            .iter()
            .find(|f| f["name"] == n)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(field("LastName")["nillable"], json!(false));
    assert_eq!(field("LastName")["length"], json!(80));
    assert_eq!(field("Status")["defaultedOnCreate"], json!(true));
    assert_eq!(
        field("Status")["picklistValues"][0],
        json!({"value": "Open - Not Contacted", "label": "Open - Not Contacted", "active": true, "defaultValue": true})
    );
    assert_eq!(field("OwnerId")["referenceTo"], json!(["Group", "User"]));
    assert_eq!(field("IsConverted")["updateable"], json!(false));
    assert_eq!(field("Chat_Contact_Id__c")["externalId"], json!(true));
    assert_eq!(field("Chat_Contact_Id__c")["type"], "string");
    let task = org.api("GET", "/sobjects/Task/describe", None).await;
    let tf = task.body["fields"].as_array().cloned().unwrap_or_default();
    let call_type = tf
        .iter()
        .find(|f| f["name"] == "CallType")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(call_type["restrictedPicklist"], json!(true));
    for (obj, prefix) in [
        ("Contact", "003"),
        ("Account", "001"),
        ("Case", "500"),
        ("CaseComment", "00a"),
        ("Task", "00T"),
        ("User", "005"),
        ("Group", "00G"),
        ("QueueSobject", "03g"),
        ("RecordType", "012"),
        ("Opportunity", "006"),
        ("OpportunityContactRole", "00K"),
    ] {
        let r = org
            .api("GET", &format!("/sobjects/{obj}/describe"), None)
            .await;
        assert_eq!(r.body["keyPrefix"], prefix, "{obj}");
    }
    let r = org.api("GET", "/sobjects/Nope/describe", None).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn duplicate_rules_block_unless_allow_save() {
    let org = TestOrg::start().await;
    let r = org
        .admin("POST", "/__emulator/duplicate-rules", Some(json!([{"sobject": "Contact", "name": "Contacts_DR", "matching_rule": "Contact_MR", "fields": ["Email"], "message": "You're creating a duplicate record. We recommend you use an existing record instead."}])))
        .await;
    assert_eq!(r.status, 200);
    let first = org
        .api(
            "POST",
            "/sobjects/Contact",
            Some(json!({"LastName": "a", "Email": "dup@example.com"})),
        )
        .await;
    assert_eq!(first.status, 201);
    let r = org
        .api(
            "POST",
            "/sobjects/Contact",
            Some(json!({"LastName": "b", "Email": "DUP@example.com"})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), Some("DUPLICATES_DETECTED"));
    let dr = &r.body[0]["duplicateResut"];
    assert_eq!(dr["duplicateRule"], "Contacts_DR");
    assert_eq!(
        dr["matchResults"][0]["matchRecords"][0]["record"]["Id"],
        first.body["id"]
    );
    // The header lets an allowSave rule through
    let r = org
        .api_with_headers(
            "POST",
            "/sobjects/Contact",
            Some(json!({"LastName": "b", "Email": "dup@example.com"})),
            &[("Sforce-Duplicate-Rule-Header", "allowSave=true")],
        )
        .await;
    assert_eq!(r.status, 201);
}
