//! What the case writer relies on, against the repo's own `salesforce/` metadata: the describe of
//! Task, Case and Chat_Transcript__c, transcript upserts by external id (single and composite),
//! the auto-numbered transcript object, and the text length limits.

use crate::common::{TestOrg, V, str_at};
use serde_json::{Value, json};
use std::path::PathBuf;

async fn describe_fields(org: &TestOrg, sobject: &str) -> Value {
    let d = org
        .api("GET", &format!("/sobjects/{sobject}/describe"), None)
        .await;
    assert_eq!(d.status, 200, "{sobject}: {}", d.body);
    d.body
}

fn field<'a>(describe: &'a Value, name: &str) -> &'a Value {
    describe["fields"]
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f["name"] == name))
        .unwrap_or(&Value::Null)
}

/// The listed keys of a describe field, for one-line comparisons.
fn facts(describe: &Value, name: &str, keys: &[&str]) -> Value {
    let f = field(describe, name);
    assert!(!f.is_null(), "{name} missing from describe");
    Value::Object(
        keys.iter()
            .map(|k| (k.to_string(), f[*k].clone()))
            .collect(),
    )
}

#[tokio::test]
async fn the_repo_metadata_describes_as_deployed() {
    let org = TestOrg::start().await;
    let task = describe_fields(&org, "Task").await;
    assert_eq!(
        facts(
            &task,
            "Chat_Transcript_Key__c",
            &[
                "type",
                "length",
                "externalId",
                "idLookup",
                "custom",
                "unique"
            ]
        ),
        json!({"type": "string", "length": 255, "externalId": true, "idLookup": true, "custom": true, "unique": false})
    );
    assert_eq!(
        facts(
            &task,
            "Chat_Conversation_URL__c",
            &["type", "length", "externalId"]
        ),
        json!({"type": "url", "length": 255, "externalId": false})
    );
    assert_eq!(
        facts(&task, "Description", &["type", "length"]),
        json!({"type": "textarea", "length": 32000})
    );
    // Activity fields live on Task; the loader invents no "Activity" object.
    let r = org.api("GET", "/sobjects/Activity/describe", None).await;
    assert_eq!(r.error_code(), Some("NOT_FOUND"));

    let case = describe_fields(&org, "Case").await;
    assert_eq!(
        facts(
            &case,
            "Chat_Conversation_Id__c",
            &["type", "length", "externalId"]
        ),
        json!({"type": "string", "length": 255, "externalId": true})
    );
    assert_eq!(
        facts(&case, "Chat_Conversation_URL__c", &["type", "length"]),
        json!({"type": "url", "length": 255})
    );
    assert_eq!(
        facts(&case, "Description", &["type", "length"]),
        json!({"type": "textarea", "length": 32000})
    );
    assert_eq!(
        facts(&case, "ClosedDate", &["type", "createable", "updateable"]),
        json!({"type": "datetime", "createable": false, "updateable": false})
    );

    let t = describe_fields(&org, "Chat_Transcript__c").await;
    assert_eq!(t["keyPrefix"], "a00");
    assert_eq!(t["custom"], json!(true));
    assert_eq!(t["label"], "Chat Transcript");
    assert_eq!(t["labelPlural"], "Chat Transcripts");
    assert_eq!(
        facts(
            &t,
            "Name",
            &[
                "type",
                "autoNumber",
                "createable",
                "updateable",
                "nillable",
                "label"
            ]
        ),
        json!({"type": "string", "autoNumber": true, "createable": false, "updateable": false,
               "nillable": false, "label": "Chat Transcript Number"})
    );
    assert_eq!(
        facts(
            &t,
            "Key__c",
            &[
                "type",
                "length",
                "externalId",
                "unique",
                "caseSensitive",
                "idLookup"
            ]
        ),
        json!({"type": "string", "length": 255, "externalId": true, "unique": true,
               "caseSensitive": false, "idLookup": true})
    );
    for (name, target) in [
        ("Case__c", "Case"),
        ("Contact__c", "Contact"),
        ("Lead__c", "Lead"),
    ] {
        assert_eq!(
            facts(
                &t,
                name,
                &["type", "referenceTo", "relationshipName", "nillable"]
            ),
            json!({"type": "reference", "referenceTo": [target],
                   "relationshipName": format!("{target}__r"), "nillable": true})
        );
    }
    assert_eq!(
        facts(&t, "Part__c", &["type", "precision", "scale"]),
        json!({"type": "double", "precision": 4, "scale": 0})
    );
    assert_eq!(
        facts(&t, "Body__c", &["type", "length", "label"]),
        json!({"type": "textarea", "length": 131072, "label": "Body"})
    );
    assert_eq!(
        facts(&t, "Conversation_URL__c", &["type"]),
        json!({"type": "url"})
    );
    assert_eq!(
        facts(&t, "Platform__c", &["type", "length"]),
        json!({"type": "string", "length": 40})
    );
    // Public read-only sharing: the object has an owner.
    assert_eq!(field(&t, "OwnerId")["type"], "reference");
    // Files can be published to transcripts.
    let cv = describe_fields(&org, "ContentVersion").await;
    let targets = &field(&cv, "FirstPublishLocationId")["referenceTo"];
    assert!(
        targets
            .as_array()
            .is_some_and(|t| t.contains(&json!("Chat_Transcript__c"))),
        "{targets}"
    );
}

#[tokio::test]
async fn the_permission_set_grants_every_custom_field() {
    // The permission set must name every field the metadata defines (a field it forgets is
    // invisible to the integration user), and grant no delete.
    let root =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../salesforce/force-app/main/default");
    let perm = std::fs::read_to_string(
        root.join("permissionsets/Chatsync_Integration.permissionset-meta.xml"),
    )
    .expect("permission set exists");
    let mut fields = Vec::new();
    for obj in std::fs::read_dir(root.join("objects"))
        .expect("objects dir")
        .flatten()
    {
        let name = obj.file_name().to_string_lossy().to_string();
        let holder = if name == "Activity" {
            "Task".to_string()
        } else {
            name
        };
        for f in std::fs::read_dir(obj.path().join("fields"))
            .expect("fields dir")
            .flatten()
        {
            let file = f.file_name().to_string_lossy().to_string();
            if let Some(field) = file.strip_suffix(".field-meta.xml") {
                fields.push(format!("<field>{holder}.{field}</field>"));
            }
        }
    }
    assert!(fields.len() >= 14, "{fields:?}");
    for f in &fields {
        assert!(perm.contains(f.as_str()), "permission set lacks {f}");
    }
    assert!(!perm.contains("<allowDelete>true</allowDelete>"));
    assert!(!perm.contains("<modifyAllRecords>true</modifyAllRecords>"));
    assert!(!perm.contains("<viewAllRecords>true</viewAllRecords>"));
}

#[tokio::test]
async fn transcript_records_are_numbered_unique_and_bounded() {
    let org = TestOrg::start().await;
    let case = org
        .api("POST", "/sobjects/Case", Some(json!({"Subject": "s"})))
        .await;
    let case_id = str_at(&case.body, "/id").to_string();
    let mut names = Vec::new();
    for key in ["intercom:1:1", "intercom:1:2"] {
        let r = org
            .api(
                "POST",
                "/sobjects/Chat_Transcript__c",
                Some(json!({"Key__c": key, "Case__c": case_id, "Part__c": 1, "Body__c": "hi",
                            "Platform__c": "intercom", "Conversation_URL__c": "https://app.example/c/1"})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert!(str_at(&r.body, "/id").starts_with("a00"));
        let got = org
            .api(
                "GET",
                &format!("/sobjects/Chat_Transcript__c/{}", str_at(&r.body, "/id")),
                None,
            )
            .await;
        names.push(str_at(&got.body, "/Name").to_string());
    }
    assert_eq!(names, vec!["CT-0000001", "CT-0000002"]);
    let r = org
        .api(
            "POST",
            "/sobjects/Chat_Transcript__c",
            Some(json!({"Key__c": "INTERCOM:1:1"})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), Some("DUPLICATE_VALUE"));
    assert!(
        r.error_message()
            .starts_with("duplicate value found: Key__c duplicates value on record with id: a00"),
        "{}",
        r.error_message()
    );
    let r = org
        .api(
            "POST",
            "/sobjects/Chat_Transcript__c",
            Some(json!({"Key__c": "k3", "Part__c": 10000})),
        )
        .await;
    assert_eq!(r.error_code(), Some("NUMBER_OUTSIDE_VALID_RANGE"));
    assert_eq!(
        r.error_message(),
        "Part: value outside of valid range on numeric field: 10000"
    );
    let r = org
        .api(
            "POST",
            "/sobjects/Chat_Transcript__c",
            Some(json!({"Key__c": "k3", "Name": "mine"})),
        )
        .await;
    assert_eq!(r.error_code(), Some("INVALID_FIELD_FOR_INSERT_UPDATE"));
    let r = org
        .query("SELECT Name, Case__r.Subject FROM Chat_Transcript__c WHERE Key__c = 'intercom:1:2'")
        .await;
    assert_eq!(r.body["records"][0]["Name"], "CT-0000002");
    assert_eq!(r.body["records"][0]["Case__r"]["Subject"], "s");
}

#[tokio::test]
async fn text_longer_than_its_field_is_string_too_long() {
    let org = TestOrg::start().await;
    let case = org
        .api("POST", "/sobjects/Case", Some(json!({"Subject": "s"})))
        .await;
    let case_id = str_at(&case.body, "/id").to_string();
    let cases: [(&str, Value, &str, &str, usize); 4] = [
        ("Task", json!({}), "Description", "Description", 32000),
        ("Case", json!({}), "Description", "Description", 32000),
        (
            "CaseComment",
            json!({"ParentId": case_id}),
            "CommentBody",
            "Body",
            4000,
        ),
        ("Chat_Transcript__c", json!({}), "Body__c", "Body", 131_072),
    ];
    for (sobject, base, name, label, max) in cases {
        let with = |len: usize| {
            let mut b = base.clone();
            b[name] = json!("x".repeat(len));
            b
        };
        let ok = org
            .api("POST", &format!("/sobjects/{sobject}"), Some(with(max)))
            .await;
        assert_eq!(ok.status, 201, "{sobject}.{name} at its limit: {}", ok.body);
        let r = org
            .api("POST", &format!("/sobjects/{sobject}"), Some(with(max + 1)))
            .await;
        assert_eq!(r.status, 400);
        assert_eq!(r.error_code(), Some("STRING_TOO_LONG"), "{sobject}");
        assert_eq!(
            r.error_message(),
            format!(
                "{label}: data value too large: {} (max length={max})",
                "x".repeat(max + 1)
            )
        );
        assert_eq!(r.body[0]["fields"], json!([name]));
        // Updates are held to the same limit.
        let id = str_at(&ok.body, "/id");
        let r = org
            .api(
                "PATCH",
                &format!("/sobjects/{sobject}/{id}"),
                Some(json!({name: "y".repeat(max + 1)})),
            )
            .await;
        assert_eq!(r.error_code(), Some("STRING_TOO_LONG"), "{sobject} update");
    }
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    k.sort();
    k
}

#[tokio::test]
async fn transcripts_upsert_by_their_keys_with_v62_answers() {
    let org = TestOrg::start().await;
    // An UpsertResult, as documented for v46.0 and later (the conformance suite compares it with
    // a captured answer): https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_upsert.htm
    let upsert_keys = ["created", "errors", "id", "success"];
    for (sobject, field) in [
        ("Task", "Chat_Transcript_Key__c"),
        ("Chat_Transcript__c", "Key__c"),
    ] {
        let path = format!("/sobjects/{sobject}/{field}/respondio%3A42%3A1");
        let body_field = if sobject == "Task" {
            "Description"
        } else {
            "Body__c"
        };
        let r = org
            .api("PATCH", &path, Some(json!({body_field: "first"})))
            .await;
        assert_eq!(r.status, 201, "{sobject}: {}", r.body);
        assert_eq!(keys(&r.body), upsert_keys);
        assert_eq!(r.body["created"], json!(true));
        assert_eq!(r.body["success"], json!(true));
        assert_eq!(r.body["errors"], json!([]));
        let id = str_at(&r.body, "/id").to_string();
        assert_eq!(
            r.header("location").as_deref(),
            Some(format!("{V}/sobjects/{sobject}/{id}").as_str())
        );
        let r = org
            .api("PATCH", &path, Some(json!({body_field: "second"})))
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.body,
            json!({"id": id, "success": true, "errors": [], "created": false})
        );
        let got = org
            .api("GET", &format!("/sobjects/{sobject}/{id}"), None)
            .await;
        assert_eq!(got.body[body_field], "second");
        assert_eq!(got.body[field], "respondio:42:1");
        // Before v46 an update answered 204 with no body.
        let r = org
            .raw(
                "PATCH",
                &format!("/services/data/v45.0{path}"),
                Some(json!({body_field: "third"})),
                Some(&org.token),
            )
            .await;
        assert_eq!(r.status, 204);
    }
    let q = org
        .query("SELECT Id FROM Task WHERE Chat_Transcript_Key__c = 'respondio:42:1'")
        .await;
    assert_eq!(q.body["totalSize"], json!(1));

    // The same through composite, as the writer sends them.
    let body = json!({
        "allOrNone": true,
        "compositeRequest": [
            {"method": "PATCH", "url": format!("{V}/sobjects/Task/Chat_Transcript_Key__c/respondio%3A42%3A1"),
             "referenceId": "task", "body": {"Description": "fourth"}},
            {"method": "PATCH", "url": format!("{V}/sobjects/Chat_Transcript__c/Key__c/respondio%3A42%3A2"),
             "referenceId": "part2", "body": {"Body__c": "more", "Part__c": 2}},
            {"method": "GET", "url": format!("{V}/sobjects/Chat_Transcript__c/@{{part2.id}}?fields=Name,Part__c"),
             "referenceId": "part2Get"},
        ]
    });
    let r = org.api("POST", "/composite", Some(body)).await;
    let subs = &r.body["compositeResponse"];
    assert_eq!(subs[0]["httpStatusCode"], json!(200), "{}", subs[0]);
    assert_eq!(subs[0]["body"]["created"], json!(false));
    assert_eq!(subs[1]["httpStatusCode"], json!(201), "{}", subs[1]);
    assert_eq!(subs[1]["body"]["created"], json!(true));
    assert_eq!(
        str_at(&subs[1], "/httpHeaders/Location"),
        format!(
            "{V}/sobjects/Chat_Transcript__c/{}",
            str_at(&subs[1], "/body/id")
        )
    );
    assert_eq!(subs[2]["body"]["Part__c"], json!(2));
    assert_eq!(subs[2]["body"]["Name"], "CT-0000002");
}
