//! Validation rules added through the admin API: refusals on every write path, on the record's
//! resulting values, with composite and Collections all-or-none semantics, and removal.

use crate::common::{TestOrg, V, str_at};
use serde_json::{Value, json};

const MESSAGE: &str = "High priority needs a reason";

fn high_priority_rule() -> Value {
    json!({
        "object": "Case",
        "name": "Priority_needs_reason",
        "field": "Priority",
        "when": {"equals": "High"},
        "error_field": "Priority",
        "message": MESSAGE,
    })
}

fn refusal() -> Value {
    json!([{"message": MESSAGE, "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "fields": ["Priority"]}])
}

async fn add_rule(org: &TestOrg, rule: Value) -> crate::common::Reply {
    org.admin("POST", "/__emulator/validation-rules", Some(rule))
        .await
}

#[tokio::test]
async fn a_rule_refuses_creates_and_updates_until_it_is_removed() {
    let org = TestOrg::start().await;
    let r = add_rule(&org, high_priority_rule()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"added": ["Priority_needs_reason"], "validation_rules": 1})
    );

    // Create
    let r = org
        .api(
            "POST",
            "/sobjects/Case",
            Some(json!({"Subject": "s", "Priority": "High"})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body, refusal());
    assert!(org.records("Case").await.is_empty(), "nothing was saved");
    let ok = org
        .api(
            "POST",
            "/sobjects/Case",
            Some(json!({"Subject": "s", "Priority": "Low"})),
        )
        .await;
    assert_eq!(ok.status, 201);
    let id = str_at(&ok.body, "/id").to_string();

    // Update
    let r = org
        .api(
            "PATCH",
            &format!("/sobjects/Case/{id}"),
            Some(json!({"Priority": "High"})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body, refusal());
    assert_eq!(org.records("Case").await[0]["Priority"], "Low");

    // Upsert by external id, creating and updating
    let r = org
        .api(
            "PATCH",
            "/sobjects/Case/Chat_Conversation_Id__c/conv-1",
            Some(json!({"Subject": "s", "Priority": "High"})),
        )
        .await;
    assert_eq!((r.status, r.body.clone()), (400, refusal()));
    let r = org
        .api(
            "PATCH",
            "/sobjects/Case/Chat_Conversation_Id__c/conv-1",
            Some(json!({"Subject": "s"})),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = org
        .api(
            "PATCH",
            "/sobjects/Case/Chat_Conversation_Id__c/conv-1",
            Some(json!({"Priority": "High"})),
        )
        .await;
    assert_eq!((r.status, r.body.clone()), (400, refusal()));

    // The operator fixes the rule: the same writes go through
    let r = org
        .admin(
            "DELETE",
            "/__emulator/validation-rules/Priority_needs_reason",
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        json!({"deleted": "Priority_needs_reason", "validation_rules": 0})
    );
    let r = org
        .api(
            "PATCH",
            &format!("/sobjects/Case/{id}"),
            Some(json!({"Priority": "High"})),
        )
        .await;
    assert_eq!(r.status, 204);
    let r = org
        .api(
            "POST",
            "/sobjects/Case",
            Some(json!({"Subject": "s", "Priority": "High"})),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = org
        .admin(
            "DELETE",
            "/__emulator/validation-rules/Priority_needs_reason",
            None,
        )
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn rules_judge_the_record_after_the_change() {
    let org = TestOrg::start().await;
    // Seeded data is not validated; the org may hold records that break a later rule.
    let ids = org
        .seed(json!({"Case": [{"Subject": "old", "Priority": "High"}, {"Subject": "fine", "Priority": "Low"}]}))
        .await;
    let (bad, good) = (str_at(&ids, "/Case/0"), str_at(&ids, "/Case/1"));
    add_rule(&org, high_priority_rule()).await;
    add_rule(
        &org,
        json!({"object": "Case", "name": "Subject_required", "field": "Subject",
               "when": {"blank": true}, "message": "Subject is required"}),
    )
    .await;
    // Touching another field of a record that breaks the rule is refused
    let r = org
        .api(
            "PATCH",
            &format!("/sobjects/Case/{bad}"),
            Some(json!({"Description": "d"})),
        )
        .await;
    assert_eq!((r.status, r.body.clone()), (400, refusal()));
    // …and fixing the value is what lets it through
    let r = org
        .api(
            "PATCH",
            &format!("/sobjects/Case/{bad}"),
            Some(json!({"Priority": "Medium", "Description": "d"})),
        )
        .await;
    assert_eq!(r.status, 204);
    // A body without Subject is fine when the record has one
    let r = org
        .api(
            "PATCH",
            &format!("/sobjects/Case/{good}"),
            Some(json!({"Origin": "Web"})),
        )
        .await;
    assert_eq!(r.status, 204);
    // Blanking it is not; a rule without an error field names no field
    let r = org
        .api(
            "PATCH",
            &format!("/sobjects/Case/{good}"),
            Some(json!({"Subject": null})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        json!([{"message": "Subject is required", "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "fields": []}])
    );
    // A create gets the field defaults (Priority Medium) before the rules run
    let r = org
        .api("POST", "/sobjects/Case", Some(json!({"Subject": "s"})))
        .await;
    assert_eq!(r.status, 201);
}

#[tokio::test]
async fn composite_all_or_none_rolls_back_a_refused_subrequest() {
    let org = TestOrg::start().await;
    add_rule(&org, high_priority_rule()).await;
    let body = json!({
        "allOrNone": true,
        "compositeRequest": [
            {"method": "POST", "url": format!("{V}/sobjects/Lead"), "referenceId": "refLead",
             "body": {"LastName": "x", "Company": "y"}},
            {"method": "POST", "url": format!("{V}/sobjects/Case"), "referenceId": "refCase",
             "body": {"Subject": "s", "Priority": "High"}},
        ]
    });
    let r = org.api("POST", "/composite", Some(body.clone())).await;
    assert_eq!(r.status, 200);
    let subs = &r.body["compositeResponse"];
    assert_eq!(subs[0]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert_eq!(subs[1]["httpStatusCode"], json!(400));
    assert_eq!(subs[1]["body"], refusal());
    assert!(org.records("Lead").await.is_empty(), "the Lead rolled back");
    assert!(org.records("Case").await.is_empty());

    // Without allOrNone the valid subrequest stays
    let mut partial = body.clone();
    partial["allOrNone"] = json!(false);
    let r = org.api("POST", "/composite", Some(partial)).await;
    let subs = &r.body["compositeResponse"];
    assert_eq!(subs[0]["httpStatusCode"], json!(201));
    assert_eq!(subs[1]["body"], refusal());
    assert_eq!(org.records("Lead").await.len(), 1);

    org.admin(
        "DELETE",
        "/__emulator/validation-rules/Priority_needs_reason",
        None,
    )
    .await;
    let r = org.api("POST", "/composite", Some(body)).await;
    let subs = &r.body["compositeResponse"];
    assert_eq!(subs[1]["httpStatusCode"], json!(201));
    assert_eq!(org.records("Case").await.len(), 1);
}

#[tokio::test]
async fn collections_report_the_refusal_per_record() {
    let org = TestOrg::start().await;
    add_rule(&org, high_priority_rule()).await;
    let records = json!([
        {"attributes": {"type": "Case"}, "Subject": "a", "Priority": "Low"},
        {"attributes": {"type": "Case"}, "Subject": "b", "Priority": "High"},
        {"attributes": {"type": "Case"}, "Subject": "c"},
    ]);
    let item = json!({"success": false, "errors": [
        {"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "message": MESSAGE, "fields": ["Priority"]}
    ]});

    // allOrNone: everything rolls back, the innocent records say so
    let r = org
        .api(
            "POST",
            "/composite/sobjects",
            Some(json!({"allOrNone": true, "records": records})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body[1], item);
    assert_eq!(
        r.body[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(
        r.body[2]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert!(org.records("Case").await.is_empty());

    // Otherwise the others are saved
    let r = org
        .api(
            "POST",
            "/composite/sobjects",
            Some(json!({"allOrNone": false, "records": records})),
        )
        .await;
    assert_eq!(r.body[0]["success"], json!(true));
    assert_eq!(r.body[1], item);
    assert_eq!(r.body[2]["success"], json!(true));
    let cases = org.records("Case").await;
    assert_eq!(cases.len(), 2);

    // Updates and upserts through Collections are judged the same way
    let id = str_at(&cases[0], "/Id").to_string();
    let r = org
        .api(
            "PATCH",
            "/composite/sobjects",
            Some(json!({"records": [{"attributes": {"type": "Case"}, "id": id, "Priority": "High"}]})),
        )
        .await;
    assert_eq!(r.body[0], item);
    let r = org
        .api(
            "PATCH",
            "/composite/sobjects/Case/Chat_Conversation_Id__c",
            Some(json!({"records": [
                {"attributes": {"type": "Case"}, "Chat_Conversation_Id__c": "k1", "Subject": "s", "Priority": "High"},
                {"attributes": {"type": "Case"}, "Chat_Conversation_Id__c": "k2", "Subject": "s"},
            ]})),
        )
        .await;
    assert_eq!(r.body[0], item);
    assert_eq!(r.body[1]["created"], json!(true));
}

#[tokio::test]
async fn regex_and_not_in_conditions() {
    let org = TestOrg::start().await;
    let r = add_rule(
        &org,
        json!([
            {"object": "case", "name": "Subject_shape", "field": "subject",
             "when": {"matches": "(?i)test.*"}, "error_field": "Subject", "message": "No test cases"},
            {"object": "Case", "name": "Known_origin", "field": "Origin",
             "when": {"not_in": ["Phone", "Web"]}, "error_field": "Origin", "message": "Origin must be Phone or Web"},
        ]),
    )
    .await;
    assert_eq!(r.body["validation_rules"], json!(2));
    let create = |subject: &str, origin: Value| json!({"Subject": subject, "Origin": origin});
    let r = org
        .api(
            "POST",
            "/sobjects/Case",
            Some(create("Test 1", json!("Web"))),
        )
        .await;
    assert_eq!(r.error_message(), "No test cases");
    assert_eq!(r.body[0]["fields"], json!(["Subject"]));
    let r = org
        .api(
            "POST",
            "/sobjects/Case",
            Some(create("a test", json!("Email"))),
        )
        .await;
    assert_eq!(r.error_message(), "Origin must be Phone or Web");
    let r = org
        .api(
            "POST",
            "/sobjects/Case",
            Some(create("a test", Value::Null)),
        )
        .await;
    assert_eq!(r.status, 400, "a blank value is in no list");
    let r = org
        .api(
            "POST",
            "/sobjects/Case",
            Some(create("a test", json!("Phone"))),
        )
        .await;
    assert_eq!(r.status, 201);

    // Listed with canonical names
    let r = org.admin("GET", "/__emulator/validation-rules", None).await;
    assert_eq!(
        r.body[0],
        json!({"name": "Subject_shape", "object": "Case", "field": "Subject",
               "when": {"matches": "(?i)test.*"}, "error_field": "Subject", "message": "No test cases"})
    );
    assert_eq!(r.body[1]["when"], json!({"not_in": ["Phone", "Web"]}));

    // Reset clears them
    org.admin("POST", "/__emulator/reset", None).await;
    let r = org.admin("GET", "/__emulator/validation-rules", None).await;
    assert_eq!(r.body, json!([]));
}

#[tokio::test]
async fn bad_definitions_are_refused_with_a_reason() {
    let org = TestOrg::start().await;
    let with = |k: &str, v: Value| {
        let mut d = high_priority_rule();
        d[k] = v;
        d
    };
    for (def, expected) in [
        (with("object", json!("Nope")), "unknown sObject \"Nope\""),
        (with("field", json!("Nope")), "no field \"Nope\" on Case"),
        (
            with("error_field", json!("Nope")),
            "no field \"Nope\" on Case",
        ),
        (
            with("when", json!({"matches": "("})),
            "not a valid regular expression",
        ),
        (
            with("when", json!({"like": "x"})),
            "unknown condition \"like\"",
        ),
        (
            with("when", json!({"blank": "yes"})),
            "\"blank\" must be true or false",
        ),
        (
            with("message", json!("")),
            "\"message\" must be a non-empty string",
        ),
        (
            with("name", json!("has space")),
            "letters, digits and underscores",
        ),
        (with("extra", json!(1)), "unknown key \"extra\""),
    ] {
        let r = add_rule(&org, def).await;
        assert_eq!(r.status, 400);
        let msg = str_at(&r.body, "/error");
        assert!(msg.contains(expected), "{msg} should say {expected}");
    }
    // A list is all or nothing; names are unique
    let r = add_rule(
        &org,
        json!([high_priority_rule(), with("object", json!("Nope"))]),
    )
    .await;
    assert!(str_at(&r.body, "/error").starts_with("invalid validation rule #2"));
    assert_eq!(
        org.admin("GET", "/__emulator/validation-rules", None)
            .await
            .body,
        json!([])
    );
    assert_eq!(add_rule(&org, high_priority_rule()).await.status, 200);
    let r = add_rule(&org, high_priority_rule()).await;
    assert_eq!(r.status, 400);
    assert!(str_at(&r.body, "/error").contains("already exists"));
}
