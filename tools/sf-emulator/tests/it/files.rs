//! Salesforce Files: a ContentVersion insert (base64 VersionData in JSON) creates its
//! ContentDocument and links; FirstPublishLocationId links the file to a record; the bytes are
//! served from the blob URL, never inlined; the 50 MB request cap answers as Salesforce does.

use crate::common::{TestOrg, V, str_at};
use base64::Engine;
use serde_json::{Value, json};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn case(org: &TestOrg) -> String {
    let r = org
        .api("POST", "/sobjects/Case", Some(json!({"Subject": "help"})))
        .await;
    str_at(&r.body, "/id").to_string()
}

#[tokio::test]
async fn a_version_creates_its_document_and_links_to_its_first_record() {
    let org = TestOrg::start().await;
    let case_id = case(&org).await;
    let text = "Visitor: hello\nAgent: hi\n";
    let r = org
        .api(
            "POST",
            "/sobjects/ContentVersion",
            Some(
                json!({"Title": "Transcript", "PathOnClient": "transcript.TXT",
                        "VersionData": b64(text.as_bytes()), "FirstPublishLocationId": case_id}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let cv = str_at(&r.body, "/id").to_string();
    assert!(cv.starts_with("068"));
    assert_eq!(
        r.header("location").as_deref(),
        Some(format!("{V}/sobjects/ContentVersion/{cv}").as_str())
    );

    let got = org
        .api("GET", &format!("/sobjects/ContentVersion/{cv}"), None)
        .await;
    assert_eq!(got.status, 200);
    let v = &got.body;
    let doc = str_at(v, "/ContentDocumentId").to_string();
    assert!(doc.starts_with("069"), "{v}");
    assert_eq!(v["ContentSize"], json!(text.len()));
    assert_eq!(v["FileExtension"], "txt");
    assert_eq!(v["FileType"], "TEXT");
    assert_eq!(v["IsLatest"], json!(true));
    assert_eq!(v["VersionNumber"], "1");
    assert_eq!(v["FirstPublishLocationId"], json!(case_id));
    // The record names where the bytes are; the bytes come from there.
    let blob_url = format!("{V}/sobjects/ContentVersion/{cv}/VersionData");
    assert_eq!(v["VersionData"], json!(blob_url));
    let bytes = org
        .http
        .get(format!("{}{blob_url}", org.base))
        .bearer_auth(&org.token)
        .send()
        .await
        .expect("blob request");
    assert_eq!(bytes.status().as_u16(), 200);
    assert_eq!(
        bytes.text().await.expect("blob body"),
        text,
        "the bytes come back as uploaded"
    );

    let d = org
        .api("GET", &format!("/sobjects/ContentDocument/{doc}"), None)
        .await;
    assert_eq!(d.body["Title"], "Transcript");
    assert_eq!(d.body["LatestPublishedVersionId"], json!(cv));
    assert_eq!(d.body["FileExtension"], "txt");
    assert_eq!(d.body["ContentSize"], json!(text.len()));

    // One link for the owner (inferred), one for the Case.
    let r = org
        .query(&format!(
            "SELECT LinkedEntityId, ShareType, Visibility FROM ContentDocumentLink WHERE ContentDocumentId = '{doc}' ORDER BY ShareType"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["totalSize"], json!(2));
    assert_eq!(r.body["records"][0]["ShareType"], "I");
    assert!(str_at(&r.body, "/records/0/LinkedEntityId").starts_with("005"));
    assert_eq!(r.body["records"][1]["LinkedEntityId"], json!(case_id));
    assert_eq!(r.body["records"][1]["Visibility"], "AllUsers");
    let r = org
        .query(&format!(
            "SELECT ContentDocument.Title, ContentDocument.LatestPublishedVersionId FROM ContentDocumentLink WHERE LinkedEntityId = '{case_id}'"
        ))
        .await;
    assert_eq!(
        r.body["records"][0]["ContentDocument"]["Title"],
        "Transcript"
    );
    let r = org.query("SELECT Id FROM ContentDocumentLink").await;
    assert_eq!(r.error_code(), Some("MALFORMED_QUERY"));
    assert!(r.error_message().starts_with(
        "Implementation restriction: ContentDocumentLink requires a filter by a single Id"
    ));

    // The admin view lists the version without its bytes.
    let listed = org.records("ContentVersion").await;
    assert_eq!(listed[0]["VersionData"], json!(blob_url));
}

#[tokio::test]
async fn a_new_version_of_the_same_document_becomes_the_latest() {
    let org = TestOrg::start().await;
    let first = org
        .api(
            "POST",
            "/sobjects/ContentVersion",
            Some(json!({"Title": "T", "PathOnClient": "t.txt", "VersionData": b64(b"one")})),
        )
        .await;
    let first_id = str_at(&first.body, "/id").to_string();
    let doc = org
        .api(
            "GET",
            &format!("/sobjects/ContentVersion/{first_id}?fields=ContentDocumentId"),
            None,
        )
        .await;
    let doc = str_at(&doc.body, "/ContentDocumentId").to_string();
    let second = org
        .api(
            "POST",
            "/sobjects/ContentVersion",
            Some(
                json!({"Title": "T2", "PathOnClient": "t.pdf", "VersionData": b64(b"second!"),
                        "ContentDocumentId": doc, "ReasonForChange": "longer"}),
            ),
        )
        .await;
    assert_eq!(second.status, 201, "{}", second.body);
    let second_id = str_at(&second.body, "/id").to_string();
    let r = org
        .query(&format!(
            "SELECT Id, IsLatest, VersionNumber FROM ContentVersion WHERE ContentDocumentId = '{doc}' ORDER BY VersionNumber"
        ))
        .await;
    assert_eq!(r.body["records"][0]["IsLatest"], json!(false));
    assert_eq!(r.body["records"][1]["Id"], json!(second_id));
    assert_eq!(r.body["records"][1]["VersionNumber"], "2");
    let d = org
        .api("GET", &format!("/sobjects/ContentDocument/{doc}"), None)
        .await;
    assert_eq!(d.body["LatestPublishedVersionId"], json!(second_id));
    assert_eq!(d.body["Title"], "T2");
    assert_eq!(d.body["FileType"], "PDF");
    assert_eq!(d.body["ContentSize"], json!(7));
    // Renaming the latest version renames the document.
    let r = org
        .api(
            "PATCH",
            &format!("/sobjects/ContentVersion/{second_id}"),
            Some(json!({"Title": "Final"})),
        )
        .await;
    assert_eq!(r.status, 204);
    let d = org
        .api("GET", &format!("/sobjects/ContentDocument/{doc}"), None)
        .await;
    assert_eq!(d.body["Title"], "Final");
    // Bytes and publish location are set once.
    let r = org
        .api(
            "PATCH",
            &format!("/sobjects/ContentVersion/{second_id}"),
            Some(json!({"VersionData": b64(b"x")})),
        )
        .await;
    assert_eq!(r.error_code(), Some("INVALID_FIELD_FOR_INSERT_UPDATE"));
    // Deleting the document takes its versions and links with it.
    let r = org
        .api("DELETE", &format!("/sobjects/ContentDocument/{doc}"), None)
        .await;
    assert_eq!(r.status, 204);
    assert!(org.records("ContentVersion").await.is_empty());
    let r = org
        .api("GET", &format!("/sobjects/ContentVersion/{first_id}"), None)
        .await;
    assert_eq!(r.error_code(), Some("ENTITY_IS_DELETED"));
}

#[tokio::test]
async fn bad_file_inserts_get_salesforce_errors() {
    let org = TestOrg::start().await;
    let r = org
        .api(
            "POST",
            "/sobjects/ContentVersion",
            Some(json!({"PathOnClient": "a.txt", "VersionData": b64(b"a")})),
        )
        .await;
    assert_eq!(r.error_code(), Some("REQUIRED_FIELD_MISSING"));
    assert_eq!(r.error_message(), "Required fields are missing: [Title]");
    let r = org
        .api(
            "POST",
            "/sobjects/ContentVersion",
            Some(json!({"Title": "a"})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.error_message(),
        "Required fields are missing: [PathOnClient, VersionData]"
    );
    assert_eq!(r.body[0]["fields"], json!(["PathOnClient", "VersionData"]));
    let r = org
        .api(
            "POST",
            "/sobjects/ContentVersion",
            Some(json!({"Title": "a", "PathOnClient": "a.txt", "VersionData": "not base64!"})),
        )
        .await;
    assert_eq!(r.error_code(), Some("JSON_PARSER_ERROR"));
    let r = org
        .api(
            "POST",
            "/sobjects/ContentVersion",
            Some(json!({"Title": "a", "PathOnClient": "a.txt", "VersionData": 12})),
        )
        .await;
    assert_eq!(r.error_code(), Some("JSON_PARSER_ERROR"));
    let r = org
        .api(
            "POST",
            "/sobjects/ContentDocument",
            Some(json!({"Title": "a"})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), Some("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY"));
    assert_eq!(
        r.error_message(),
        "entity type cannot be inserted: Content Document"
    );
    let r = org
        .api(
            "POST",
            "/sobjects/ContentVersion",
            Some(
                json!({"Title": "a", "PathOnClient": "a.txt", "VersionData": b64(b"a"),
                        "FirstPublishLocationId": "00Q000000000001EAA"}),
            ),
        )
        .await;
    assert_eq!(r.error_code(), Some("INVALID_CROSS_REFERENCE_KEY"));
    let ok = org
        .api(
            "POST",
            "/sobjects/ContentVersion",
            Some(json!({"Title": "a", "PathOnClient": "a.txt", "VersionData": b64(b"a")})),
        )
        .await;
    let cv = str_at(&ok.body, "/id");
    let r = org
        .api("DELETE", &format!("/sobjects/ContentVersion/{cv}"), None)
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.error_code(), Some("METHOD_NOT_ALLOWED"));
    let d = org
        .api("GET", "/sobjects/ContentDocument/describe", None)
        .await;
    assert_eq!(d.body["createable"], json!(false));
    assert_eq!(d.body["keyPrefix"], "069");
    let d = org
        .api("GET", "/sobjects/ContentVersion/describe", None)
        .await;
    let field = |name: &str| {
        d.body["fields"]
            .as_array()
            .and_then(|fs| fs.iter().find(|f| f["name"] == name).cloned())
            .unwrap_or(Value::Null)
    };
    assert_eq!(field("VersionData")["type"], "base64");
    assert_eq!(field("FirstPublishLocationId")["updateable"], json!(false));
    assert_eq!(field("ContentDocumentId")["createable"], json!(true));
    assert_eq!(field("ContentSize")["createable"], json!(false));
}

#[tokio::test]
async fn links_are_created_once_per_record() {
    let org = TestOrg::start().await;
    let case_id = case(&org).await;
    let v = org
        .api(
            "POST",
            "/sobjects/ContentVersion",
            Some(json!({"Title": "a", "PathOnClient": "a.txt", "VersionData": b64(b"a")})),
        )
        .await;
    let cv = str_at(&v.body, "/id");
    let got = org
        .api(
            "GET",
            &format!("/sobjects/ContentVersion/{cv}?fields=ContentDocumentId"),
            None,
        )
        .await;
    let doc = str_at(&got.body, "/ContentDocumentId").to_string();
    let link = json!({"ContentDocumentId": doc, "LinkedEntityId": case_id, "ShareType": "V"});
    let r = org
        .api("POST", "/sobjects/ContentDocumentLink", Some(link.clone()))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(str_at(&r.body, "/id").starts_with("06A"));
    let r = org
        .api("POST", "/sobjects/ContentDocumentLink", Some(link))
        .await;
    assert_eq!(r.error_code(), Some("DUPLICATE_VALUE"));
    assert_eq!(
        r.error_message(),
        format!(
            "Document with ID: {} is already linked with the entity with ID: {}",
            &doc[..15],
            &case_id[..15]
        )
    );
    let r = org
        .api(
            "POST",
            "/sobjects/ContentDocumentLink",
            Some(json!({"ContentDocumentId": doc, "LinkedEntityId": case_id})),
        )
        .await;
    assert_eq!(
        r.error_message(),
        "Required fields are missing: [ShareType]"
    );
    let r = org
        .api(
            "POST",
            "/sobjects/ContentDocumentLink",
            Some(json!({"ContentDocumentId": doc, "LinkedEntityId": case_id, "ShareType": "X"})),
        )
        .await;
    assert_eq!(
        r.error_code(),
        Some("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")
    );
}

#[tokio::test]
async fn composite_uploads_a_file_and_reads_its_document_by_reference() {
    let org = TestOrg::start().await;
    let case_id = case(&org).await;
    let body = json!({
        "allOrNone": true,
        "compositeRequest": [
            {"method": "POST", "url": format!("{V}/sobjects/ContentVersion"), "referenceId": "cv",
             "body": {"Title": "Chat", "PathOnClient": "chat.txt", "VersionData": b64(b"transcript")}},
            {"method": "GET", "url": format!("{V}/sobjects/ContentVersion/@{{cv.id}}?fields=ContentDocumentId"),
             "referenceId": "cvGet"},
            {"method": "POST", "url": format!("{V}/sobjects/ContentDocumentLink"), "referenceId": "link",
             "body": {"ContentDocumentId": "@{cvGet.ContentDocumentId}", "LinkedEntityId": case_id,
                      "ShareType": "V", "Visibility": "InternalUsers"}},
            {"method": "GET", "url": format!("{V}/sobjects/ContentVersion/@{{cv.id}}/VersionData"),
             "referenceId": "blob"},
        ]
    });
    let r = org.api("POST", "/composite", Some(body)).await;
    assert_eq!(r.status, 200);
    let subs = &r.body["compositeResponse"];
    assert_eq!(subs[0]["body"][0]["errorCode"], "PROCESSING_HALTED");
    // Blob retrieval is not a composite resource: that one fails and the rest roll back.
    assert_eq!(subs[3]["httpStatusCode"], json!(400));
    assert!(org.records("ContentVersion").await.is_empty());

    let body = json!({
        "allOrNone": true,
        "compositeRequest": [
            {"method": "POST", "url": format!("{V}/sobjects/ContentVersion"), "referenceId": "cv",
             "body": {"Title": "Chat", "PathOnClient": "chat.txt", "VersionData": b64(b"transcript")}},
            {"method": "GET", "url": format!("{V}/sobjects/ContentVersion/@{{cv.id}}?fields=ContentDocumentId"),
             "referenceId": "cvGet"},
            {"method": "POST", "url": format!("{V}/sobjects/ContentDocumentLink"), "referenceId": "link",
             "body": {"ContentDocumentId": "@{cvGet.ContentDocumentId}", "LinkedEntityId": case_id,
                      "ShareType": "V", "Visibility": "InternalUsers"}},
        ]
    });
    let r = org.api("POST", "/composite", Some(body)).await;
    let subs = &r.body["compositeResponse"];
    assert_eq!(subs[0]["httpStatusCode"], json!(201), "{}", subs[0]);
    assert!(str_at(&subs[1], "/body/ContentDocumentId").starts_with("069"));
    assert_eq!(subs[2]["httpStatusCode"], json!(201), "{}", subs[2]);
    let doc = str_at(&subs[1], "/body/ContentDocumentId");
    let r = org
        .query(&format!(
            "SELECT Visibility FROM ContentDocumentLink WHERE LinkedEntityId = '{case_id}' AND ContentDocumentId = '{doc}'"
        ))
        .await;
    assert_eq!(r.body["records"][0]["Visibility"], "InternalUsers");
}

#[tokio::test]
async fn a_request_over_50_mb_is_refused_before_parsing() {
    let org = TestOrg::start().await;
    // 37.5 MB of file is what fits: its base64 is just under the 52,428,800-byte cap.
    let payload = "A".repeat(52_428_800 - 40);
    let body = format!(r#"{{"Title":"big","PathOnClient":"big.bin","VersionData":"{payload}"}}"#);
    assert!(body.len() > 52_428_800);
    let r = org
        .http
        .post(format!("{}{V}/sobjects/ContentVersion", org.base))
        .bearer_auth(&org.token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request sent");
    assert_eq!(r.status().as_u16(), 400);
    let body: Value = r.json().await.expect("JSON error");
    assert_eq!(
        body,
        json!([{"message": "; nested exception is: \n\tcommon.exception.ApiException: Maximum size of request reached. Maximum size of request is 52428800 bytes.",
                "errorCode": "JSON_PARSER_ERROR"}])
    );
    assert!(org.records("ContentVersion").await.is_empty());
}

#[tokio::test]
async fn chat_attachment_keys_come_from_the_repo_metadata_and_find_files_again() {
    // The case writer tags each uploaded file with Chat_Attachment_Key__c and, after a crash,
    // asks which keys already have a file: the field must load from salesforce/ and filter.
    let org = TestOrg::start().await;
    let describe = org
        .api("GET", "/sobjects/ContentVersion/describe", None)
        .await;
    assert_eq!(describe.status, 200, "{}", describe.body);
    let field = describe.body["fields"]
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f["name"] == "Chat_Attachment_Key__c"))
        .cloned()
        .unwrap_or(Value::Null);
    let facts: Value = [
        "type",
        "length",
        "externalId",
        "idLookup",
        "custom",
        "unique",
        "createable",
    ]
    .iter()
    .map(|k| (k.to_string(), field[*k].clone()))
    .collect::<serde_json::Map<_, _>>()
    .into();
    assert_eq!(
        facts,
        json!({"type": "string", "length": 255, "externalId": true, "idLookup": true,
               "custom": true, "unique": false, "createable": true})
    );

    // Three files published to a Case made in the same composite request, as the writer does.
    let file = |reference: &str, key: &str| {
        json!({"method": "POST", "url": format!("{V}/sobjects/ContentVersion"), "referenceId": reference,
               "body": {"Title": "receipt", "PathOnClient": "receipt.pdf", "VersionData": b64(b"%PDF-1.7"),
                        "FirstPublishLocationId": "@{case.id}", "Chat_Attachment_Key__c": key}})
    };
    let body = json!({
        "allOrNone": true,
        "compositeRequest": [
            {"method": "POST", "url": format!("{V}/sobjects/Case"), "referenceId": "case",
             "body": {"Subject": "chat"}},
            file("file0", "a"),
            file("file1", "b"),
            file("file2", "c"),
        ]
    });
    let r = org.api("POST", "/composite", Some(body)).await;
    assert_eq!(r.status, 200);
    let subs = r.body["compositeResponse"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(subs.len(), 4);
    for sub in &subs {
        assert_eq!(sub["httpStatusCode"], json!(201), "{sub}");
    }
    let case_id = str_at(&subs[0], "/body/id").to_string();

    let r = org
        .query(
            "SELECT Id, Chat_Attachment_Key__c, ContentDocumentId FROM ContentVersion \
             WHERE Chat_Attachment_Key__c IN ('a','b')",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["totalSize"], json!(2), "{}", r.body);
    let mut found: Vec<(String, String, String)> = r.body["records"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|rec| {
            (
                str_at(rec, "/Chat_Attachment_Key__c").to_string(),
                str_at(rec, "/Id").to_string(),
                str_at(rec, "/ContentDocumentId").to_string(),
            )
        })
        .collect();
    found.sort();
    let keys: Vec<&str> = found.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(keys, ["a", "b"]);
    let ids: Vec<&str> = [1, 2]
        .iter()
        .map(|i| str_at(&subs[*i], "/body/id"))
        .collect();
    for ((_, id, doc), created) in found.iter().zip(&ids) {
        assert_eq!(id, created);
        assert!(doc.starts_with("069"), "{doc}");
        // FirstPublishLocationId linked each file to the Case.
        let link = org
            .query(&format!(
                "SELECT Id FROM ContentDocumentLink WHERE ContentDocumentId = '{doc}' AND LinkedEntityId = '{case_id}'"
            ))
            .await;
        assert_eq!(link.body["totalSize"], json!(1), "{}", link.body);
    }
}
