//! The rest of the schema: record types, case comments, opportunities and their contact roles,
//! queues, and custom objects/fields loaded from Salesforce CLI metadata.

use crate::common::{TestOrg, str_at};
use serde_json::json;
use sf_emulator::EmulatorConfig;

#[tokio::test]
async fn record_types_must_belong_to_the_object() {
    let org = TestOrg::start().await;
    let ids = org
        .seed(json!({"RecordType": [
            {"Name": "Support", "DeveloperName": "Support", "SobjectType": "Case"},
            {"Name": "Partner", "DeveloperName": "Partner", "SobjectType": "Account"},
            {"Name": "Old", "DeveloperName": "Old", "SobjectType": "Case", "IsActive": false},
        ]}))
        .await;
    let (case_rt, account_rt, inactive_rt) = (
        str_at(&ids, "/RecordType/0"),
        str_at(&ids, "/RecordType/1"),
        str_at(&ids, "/RecordType/2"),
    );
    assert!(case_rt.starts_with("012"));
    let r = org.query("SELECT Id, DeveloperName FROM RecordType WHERE SobjectType = 'Case' AND IsActive = true").await;
    assert_eq!(r.body["totalSize"], json!(1));
    assert_eq!(
        org.api(
            "POST",
            "/sobjects/Case",
            Some(json!({"Subject": "s", "RecordTypeId": case_rt}))
        )
        .await
        .status,
        201
    );
    for bad in [account_rt, inactive_rt] {
        let r = org
            .api(
                "POST",
                "/sobjects/Case",
                Some(json!({"Subject": "s", "RecordTypeId": bad})),
            )
            .await;
        assert_eq!(r.error_code(), Some("INVALID_CROSS_REFERENCE_KEY"));
        assert_eq!(
            r.error_message(),
            format!("Record Type ID: this ID value isn't valid for the user: {bad}")
        );
        assert_eq!(r.body[0]["fields"], json!(["RecordTypeId"]));
    }
}

#[tokio::test]
async fn case_comments_opportunities_and_contact_roles() {
    let org = TestOrg::start().await;
    let case = org
        .api(
            "POST",
            "/sobjects/Case",
            Some(json!({"Subject": "help", "Status": "Closed"})),
        )
        .await;
    let case_id = str_at(&case.body, "/id").to_string();
    let got = org
        .api("GET", &format!("/sobjects/Case/{case_id}"), None)
        .await;
    assert_eq!(got.body["IsClosed"], json!(true));
    assert_eq!(got.body["Priority"], "Medium");
    assert!(str_at(&got.body, "/CaseNumber").len() == 8);
    let r = org
        .api(
            "POST",
            "/sobjects/CaseComment",
            Some(json!({"ParentId": case_id, "CommentBody": "transcript", "IsPublished": false})),
        )
        .await;
    assert_eq!(r.status, 201);
    assert!(str_at(&r.body, "/id").starts_with("00a"));
    let r = org
        .api(
            "POST",
            "/sobjects/CaseComment",
            Some(json!({"CommentBody": "orphan"})),
        )
        .await;
    assert_eq!(r.error_code(), Some("REQUIRED_FIELD_MISSING"));
    assert_eq!(r.error_message(), "Required fields are missing: [ParentId]");

    let acc = org
        .api("POST", "/sobjects/Account", Some(json!({"Name": "Acme"})))
        .await;
    let opp = org
        .api("POST", "/sobjects/Opportunity", Some(json!({"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2026-12-31", "AccountId": acc.body["id"]})))
        .await;
    assert_eq!(opp.status, 201, "{}", opp.body);
    assert!(str_at(&opp.body, "/id").starts_with("006"));
    let r = org
        .api(
            "POST",
            "/sobjects/Opportunity",
            Some(json!({"Name": "Deal", "StageName": "Prospecting", "CloseDate": "31/12/2026"})),
        )
        .await;
    assert_eq!(r.error_code(), Some("JSON_PARSER_ERROR"));
    let con = org
        .api(
            "POST",
            "/sobjects/Contact",
            Some(json!({"LastName": "Buyer"})),
        )
        .await;
    let ocr = org
        .api("POST", "/sobjects/OpportunityContactRole", Some(json!({"OpportunityId": opp.body["id"], "ContactId": con.body["id"], "Role": "Decision Maker", "IsPrimary": true})))
        .await;
    assert_eq!(ocr.status, 201);
    assert!(str_at(&ocr.body, "/id").starts_with("00K"));
    let r = org
        .query(
            "SELECT Role, Contact.LastName, Opportunity.Account.Name FROM OpportunityContactRole",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["records"][0]["Contact"]["LastName"], "Buyer");
    assert_eq!(
        r.body["records"][0]["Opportunity"]["Account"]["Name"],
        "Acme"
    );
    // Pointing a reference at the wrong object type
    let r = org
        .api(
            "POST",
            "/sobjects/OpportunityContactRole",
            Some(json!({"OpportunityId": con.body["id"], "ContactId": con.body["id"]})),
        )
        .await;
    assert_eq!(r.error_code(), Some("FIELD_INTEGRITY_EXCEPTION"));
}

#[tokio::test]
async fn queues_are_found_the_way_chatsync_looks_them_up() {
    let org = TestOrg::start().await;
    let ids = org
        .seed(json!({"Group": [{"Name": "Support", "DeveloperName": "Support", "Type": "Queue"}]}))
        .await;
    let q = str_at(&ids, "/Group/0").to_string();
    assert!(q.starts_with("00G"));
    let r = org
        .seed(json!({"QueueSobject": [{"QueueId": q, "SobjectType": "Case"}]}))
        .await;
    assert!(str_at(&r, "/QueueSobject/0").starts_with("03g"));
    let r = org
        .query("SELECT Id, DeveloperName FROM Group WHERE Type='Queue' AND DeveloperName='Support'")
        .await;
    assert_eq!(r.body["records"][0]["Id"], json!(q));
    let r = org
        .query("SELECT QueueId FROM QueueSobject WHERE SobjectType='Case'")
        .await;
    assert_eq!(r.body["records"][0]["QueueId"], json!(q));
    let r = org
        .api(
            "POST",
            "/sobjects/Group",
            Some(json!({"Name": "X", "Type": "Galaxy"})),
        )
        .await;
    assert_eq!(
        r.error_code(),
        Some("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")
    );
}

#[tokio::test]
async fn custom_objects_and_fields_come_from_metadata() {
    let dir = std::env::temp_dir().join(format!("sf-emu-meta-{}", std::process::id()));
    let obj_dir = dir.join("force-app/main/default/objects/Chat_Transcript__c");
    std::fs::create_dir_all(obj_dir.join("fields")).expect("temp dir");
    std::fs::write(
        obj_dir.join("Chat_Transcript__c.object-meta.xml"),
        r#"<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="http://soap.sforce.com/2006/04/metadata"><label>Chat Transcript</label></CustomObject>"#,
    )
    .expect("write object");
    std::fs::write(
        obj_dir.join("fields/Channel__c.field-meta.xml"),
        r#"<?xml version="1.0" encoding="UTF-8"?>
<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">
    <fullName>Channel__c</fullName><label>Channel</label><type>Picklist</type><required>true</required>
    <valueSet><restricted>true</restricted><valueSetDefinition>
        <value><fullName>WhatsApp</fullName></value><value><fullName>Telegram</fullName></value>
    </valueSetDefinition></valueSet>
</CustomField>"#,
    )
    .expect("write field");
    std::fs::write(
        obj_dir.join("fields/Case__c.field-meta.xml"),
        r#"<CustomField><fullName>Case__c</fullName><label>Case</label><type>Lookup</type><referenceTo>Case</referenceTo><relationshipName>Transcripts</relationshipName></CustomField>"#,
    )
    .expect("write field");
    let org = TestOrg::start_with(EmulatorConfig {
        metadata_dir: Some(dir.clone()),
        ..EmulatorConfig::default()
    })
    .await;
    let d = org
        .api("GET", "/sobjects/Chat_Transcript__c/describe", None)
        .await;
    assert_eq!(d.status, 200);
    assert_eq!(d.body["custom"], json!(true));
    assert_eq!(d.body["label"], "Chat Transcript");
    let r = org
        .api(
            "POST",
            "/sobjects/Chat_Transcript__c",
            Some(json!({"Name": "t"})),
        )
        .await;
    assert_eq!(
        r.error_message(),
        "Required fields are missing: [Channel__c]"
    );
    let r = org
        .api(
            "POST",
            "/sobjects/Chat_Transcript__c",
            Some(json!({"Name": "t", "Channel__c": "Fax"})),
        )
        .await;
    assert_eq!(
        r.error_code(),
        Some("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")
    );
    let case = org
        .api("POST", "/sobjects/Case", Some(json!({"Subject": "s"})))
        .await;
    let r = org
        .api(
            "POST",
            "/sobjects/Chat_Transcript__c",
            Some(json!({"Name": "t", "Channel__c": "WhatsApp", "Case__c": case.body["id"]})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = org
        .query("SELECT Name, Case__r.Subject FROM Chat_Transcript__c")
        .await;
    assert_eq!(
        r.body["records"][0]["Case__r"]["Subject"], "s",
        "{}",
        r.body
    );
    // The repo's own salesforce/ project is not loaded here, so its fields are absent
    let r = org
        .api(
            "POST",
            "/sobjects/Contact",
            Some(json!({"LastName": "x", "Chat_Contact_Id__c": "1"})),
        )
        .await;
    assert_eq!(r.error_code(), Some("INVALID_FIELD"));
    let _ = std::fs::remove_dir_all(&dir);
}
