//! The attachment fetcher's tests, and chat attachments end to end: fetched from a stand-in
//! platform, stored as Salesforce Files in the emulator, found again after a "crash".

use axum::Router;
use axum::routing::get;
use case_writer::attachments::{Fetched, Fetcher};
use serde_json::json;
use sf_emulator::{Emulator, EmulatorConfig};
use shared::mapping::files::{self, PendingFile};
use shared::salesforce::{
    ClientConfig, CompositeRequest, DiscardTokens, SalesforceClient, SalesforceCredentials,
    SubRequest,
};
use shared::secret::Secret;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// A stand-in chat platform serving attachments over http on 127.0.0.1.
async fn platform() -> String {
    let app = Router::new()
        .route(
            "/files/receipt",
            get(|| async { ([("content-type", "application/pdf")], b"%PDF-1.7".to_vec()) }),
        )
        .route(
            "/files/photo.png",
            get(|| async { ([("content-type", "image/png")], b"\x89PNG".to_vec()) }),
        )
        .route("/files/video.mp4", get(|| async { vec![0u8; 4096] }))
        .route(
            "/files/gone",
            get(|| async { axum::http::StatusCode::NOT_FOUND }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free port");
    let addr = listener.local_addr().expect("a local address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn attachments_become_files_on_the_case_and_are_found_again_after_a_crash() {
    let config = EmulatorConfig::default();
    let emulator = Emulator::new(config.clone()).expect("emulator config is valid");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free port");
    let sf_base = sf_emulator::spawn(listener, emulator).expect("emulator serves");
    let client = SalesforceClient::new(ClientConfig::default()).expect("a client");
    let org = client.org(
        "demo",
        SalesforceCredentials::ClientCredentials {
            login_url: sf_base,
            client_id: config.client_id.clone(),
            client_secret: Secret::new(config.client_secret.clone()),
        },
        Arc::new(DiscardTokens),
    );
    let base = platform().await;
    let fetcher =
        Fetcher::new(Duration::from_secs(5), vec!["127.0.0.1".into()]).expect("a fetcher");

    // The tenant's cap is 1 KiB here: the video is linked, the 404 stays a link too.
    let case_key = "demo:intercom:c1";
    let cap = files::fetch_cap(1024);
    let attachments = [
        (Some("Receipt March.pdf"), format!("{base}/files/receipt")),
        (None, format!("{base}/files/photo.png")),
        (Some("clip.mp4"), format!("{base}/files/video.mp4")),
        (Some("gone.txt"), format!("{base}/files/gone")),
    ];
    let mut pending = Vec::new();
    let mut linked = Vec::new();
    for (name, url) in &attachments {
        match fetcher.fetch(url, cap).await {
            Fetched::Bytes { data, content_type } => pending.push(PendingFile {
                key: files::attachment_key(case_key, url),
                name: files::file_name(*name, url),
                data,
                content_type,
            }),
            Fetched::TooLarge => linked.push(("too large".to_owned(), url.clone())),
            Fetched::Unavailable(reason) => linked.push((reason, url.clone())),
        }
    }
    assert_eq!(
        linked,
        [
            ("too large".to_owned(), format!("{base}/files/video.mp4")),
            ("HTTP 404".to_owned(), format!("{base}/files/gone")),
        ]
    );
    assert_eq!(pending.len(), 2);

    // The files ride in the request that creates the Case, published to it by reference.
    let mut request = CompositeRequest::new(true);
    request
        .push(SubRequest::upsert(
            "case",
            "Case",
            "Chat_Conversation_Id__c",
            case_key,
            json!({"Subject": "Refund", "Origin": "Web"}),
        ))
        .expect("the Case fits");
    for (_, sub) in files::file_subrequests(&pending, "@{case.id}", 1) {
        request.push(sub).expect("the file fits");
    }
    let response = org.composite(&request).await.expect("Salesforce answers");
    assert!(response.first_failure().is_none(), "{response:?}");
    let case_id = response
        .get("case")
        .and_then(|s| s.id())
        .expect("the Case's id")
        .to_owned();
    let uploaded: BTreeMap<String, String> = pending
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let id = response
                .get(&format!("file{}", i + 1))
                .and_then(|s| s.id())
                .expect("a ContentVersion id");
            (f.key.clone(), id.to_owned())
        })
        .collect();

    // "Crash": the ids were never recorded. The retry asks Salesforce which keys it has.
    let mut keys: Vec<String> = pending.iter().map(|f| f.key.clone()).collect();
    keys.push(files::attachment_key(
        case_key,
        "https://never.example/uploaded",
    ));
    let mut found = BTreeMap::new();
    for soql in files::recovery_queries(&keys).expect("recovery queries") {
        found.extend(files::recovered(
            &org.query_all(&soql).await.expect("the query runs"),
        ));
    }
    assert_eq!(found, uploaded, "both files found, nothing else");

    // Each file is linked to the Case, named safely, typed by its extension.
    let records = org
        .query_all(&format!(
            "SELECT Title, PathOnClient, FileType, ContentDocumentId, ContentSize FROM ContentVersion \
             WHERE Id IN ('{}')",
            uploaded.values().cloned().collect::<Vec<_>>().join("', '")
        ))
        .await
        .expect("the versions");
    let mut seen: Vec<(String, String, String)> = records
        .iter()
        .map(|r| {
            let text = |f: &str| r[f].as_str().unwrap_or_default().to_owned();
            (text("Title"), text("PathOnClient"), text("FileType"))
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            (
                "Receipt March".into(),
                "Receipt March.pdf".into(),
                "PDF".into()
            ),
            ("photo".into(), "photo.png".into(), "PNG".into()),
        ]
    );
    for record in &records {
        let document = record["ContentDocumentId"].as_str().unwrap_or_default();
        let links = org
            .query_all(&format!(
                "SELECT Id FROM ContentDocumentLink WHERE ContentDocumentId = '{document}' \
                 AND LinkedEntityId = '{case_id}'"
            ))
            .await
            .expect("the links");
        assert_eq!(links.len(), 1, "{record}");
        assert!(record["ContentSize"].as_u64().is_some_and(|n| n > 0));
    }
}
