//! The client's HTTP paths against a scripted in-test server: auth flows and rotation, refresh and
//! replay, headers sent, limit header read, paging, upsert answers, HTML and timeouts. The
//! emulator-backed integration tests live outside this crate.

use super::test_support::{TEST_PRIVATE_KEY, TEST_PUBLIC_KEY, answers};
use super::*;
use crate::error::{Classify, ErrorClass};
use crate::secret::Secret;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the server saw.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: String,
    headers: HeaderMap,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn form(&self) -> HashMap<String, String> {
        form_pairs(&self.body)
    }
}

/// Decodes `application/x-www-form-urlencoded` text (form bodies and query strings).
fn form_pairs(text: &str) -> HashMap<String, String> {
    reqwest::Url::parse(&format!("http://decode.invalid/?{text}"))
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Duration,
}

fn reply(status: u16, body: impl Into<String>) -> Reply {
    Reply {
        status,
        headers: vec![
            ("content-type", "application/json;charset=UTF-8".into()),
            ("sforce-limit-info", "api-usage=42/15000".into()),
        ],
        body: body.into(),
        delay: Duration::ZERO,
    }
}

type Script = dyn Fn(&Seen, &[Seen]) -> Reply + Send + Sync;

/// Everything that happened, in order: server requests as "METHOD path" and sink writes as
/// "SINK token", so tests can check what came before what.
#[derive(Clone, Default)]
struct Timeline(Arc<Mutex<Vec<String>>>, Arc<Mutex<Vec<Seen>>>);

impl Timeline {
    fn events(&self) -> Vec<String> {
        self.0.lock().map(|e| e.clone()).unwrap_or_default()
    }
    fn seen(&self) -> Vec<Seen> {
        self.1.lock().map(|e| e.clone()).unwrap_or_default()
    }
    fn push(&self, event: String) {
        if let Ok(mut e) = self.0.lock() {
            e.push(event);
        }
    }
}

async fn serve(
    script: impl Fn(&Seen, &[Seen]) -> Reply + Send + Sync + 'static,
) -> (String, Timeline) {
    let timeline = Timeline::default();
    let script: Arc<Script> = Arc::new(script);
    let state = (timeline.clone(), script);
    let app = axum::Router::new()
        .fallback(
            |axum::extract::State((timeline, script)): axum::extract::State<(
                Timeline,
                Arc<Script>,
            )>,
             method: Method,
             uri: Uri,
             headers: HeaderMap,
             body: String| async move {
                let seen = Seen {
                    method: method.to_string(),
                    path: uri.path().to_owned(),
                    query: uri.query().unwrap_or("").to_owned(),
                    headers,
                    body,
                };
                timeline.push(format!("{} {}", seen.method, seen.path));
                let before = timeline.seen();
                let r = script(&seen, &before);
                if let Ok(mut s) = timeline.1.lock() {
                    s.push(seen);
                }
                tokio::time::sleep(r.delay).await;
                let mut response: Response = (
                    StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    r.body,
                )
                    .into_response();
                for (k, v) in r.headers {
                    if let Ok(v) = v.parse() {
                        response.headers_mut().insert(k, v);
                    }
                }
                response
            },
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), timeline)
}

/// Records rotated tokens on the timeline; can be told to fail.
struct RecordingSink {
    timeline: Timeline,
    fail: Mutex<bool>,
}

impl TokenSink for RecordingSink {
    fn persist_refresh_token<'a>(
        &'a self,
        _tenant_id: &'a str,
        refresh_token: &'a Secret,
    ) -> Pin<Box<dyn Future<Output = Result<(), TokenSinkError>> + Send + 'a>> {
        Box::pin(async move {
            if self.fail.lock().map(|f| *f).unwrap_or(false) {
                return Err("secrets store unavailable".to_owned());
            }
            self.timeline
                .push(format!("SINK {}", refresh_token.expose()));
            Ok(())
        })
    }
}

fn token_body(base: &str, access: &str, refresh: Option<&str>) -> String {
    let mut t = json!({
        "access_token": access, "instance_url": base, "id": format!("{base}/id/00D/005"),
        "token_type": "Bearer", "issued_at": "1700000000000", "signature": "x"
    });
    if let Some(r) = refresh {
        t["refresh_token"] = json!(r);
    }
    t.to_string()
}

fn refresh_credentials(base: &str) -> SalesforceCredentials {
    SalesforceCredentials::RefreshToken {
        login_url: base.to_owned(),
        client_id: "cid".into(),
        client_secret: Secret::new("csecret"),
        refresh_token: Secret::new("rt-1"),
    }
}

fn client() -> SalesforceClient {
    SalesforceClient::new(ClientConfig {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_millis(500),
        max_session_age: None,
    })
    .unwrap()
}

fn token_calls(seen: &[Seen]) -> usize {
    seen.iter()
        .filter(|s| s.path == "/services/oauth2/token")
        .count()
}

#[tokio::test]
async fn rotation_is_persisted_before_use_and_expiry_refreshes_once() {
    let (base, timeline) = serve(|req, before| {
        if req.path == "/services/oauth2/token" {
            // Each refresh rotates: rt-1 → rt-2 → rt-3.
            let n = token_calls(before) + 1;
            let base = format!("http://{}", req.header("host").unwrap_or(""));
            return reply(
                200,
                token_body(&base, &format!("at-{n}"), Some(&format!("rt-{}", n + 1))),
            );
        }
        // The first API call finds the session expired.
        if req.header("authorization") == Some("Bearer at-1") {
            return reply(401, answers::INVALID_SESSION_401);
        }
        reply(
            201,
            r#"{"id":"00Q000000000001AAA","success":true,"errors":[]}"#,
        )
    })
    .await;
    let sink = Arc::new(RecordingSink {
        timeline: timeline.clone(),
        fail: Mutex::new(false),
    });
    let client = client();
    let org = client
        .org("t1", refresh_credentials(&base), sink)
        .with_duplicate_rule_header("allowSave=true");
    let id = org
        .create(
            "Lead",
            &json!({"LastName": "Doe", "Company": "Acme", "OwnerId": "00G000000000001AAA"}),
        )
        .await
        .unwrap();
    assert_eq!(id, "00Q000000000001AAA");
    assert_eq!(
        timeline.events(),
        vec![
            "POST /services/oauth2/token",
            "SINK rt-2",
            "POST /services/data/v62.0/sobjects/Lead",
            "POST /services/oauth2/token",
            "SINK rt-3",
            "POST /services/data/v62.0/sobjects/Lead",
        ]
    );
    let seen = timeline.seen();
    assert_eq!(
        seen[0].form().get("refresh_token").map(String::as_str),
        Some("rt-1")
    );
    // The second refresh uses the rotated token, not the configured (now dead) one.
    assert_eq!(
        seen[2].form().get("refresh_token").map(String::as_str),
        Some("rt-2")
    );
    assert_eq!(
        seen[2].form().get("client_secret").map(String::as_str),
        Some("csecret")
    );
    let replay = &seen[3];
    assert_eq!(replay.header("authorization"), Some("Bearer at-2"));
    assert_eq!(replay.header("sforce-auto-assign"), Some("FALSE"));
    assert_eq!(
        replay.header("sforce-duplicate-rule-header"),
        Some("allowSave=true")
    );
    assert_eq!(client.api_calls(), 2);
    assert_eq!(client.token_requests(), 2);
    assert_eq!(org.usage().map(|u| (u.used, u.limit)), Some((42, 15000)));

    // The session is cached: the next call costs no token request.
    org.create("Lead", &json!({"LastName": "Roe", "Company": "Acme"}))
        .await
        .unwrap();
    assert_eq!(client.token_requests(), 2);
    let last = timeline.seen().pop().unwrap();
    assert_eq!(
        last.header("sforce-auto-assign"),
        None,
        "no OwnerId, no header"
    );
}

#[tokio::test]
async fn a_second_401_is_returned_not_retried_forever() {
    let (base, _timeline) = serve(|req, _| {
        if req.path == "/services/oauth2/token" {
            let base = format!("http://{}", req.header("host").unwrap_or(""));
            return reply(200, token_body(&base, "at", None));
        }
        reply(401, answers::INVALID_SESSION_401)
    })
    .await;
    let client = client();
    let org = client.org("t1", refresh_credentials(&base), Arc::new(DiscardTokens));
    let err = org
        .get("Lead", "00Q000000000001AAA", &[])
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Session);
    assert_eq!(client.api_calls(), 2, "one call and one replay");
    assert_eq!(client.token_requests(), 2);
}

#[tokio::test]
async fn rest_api_refusal_does_not_refresh() {
    let (base, _timeline) = serve(|req, _| {
        if req.path == "/services/oauth2/token" {
            let base = format!("http://{}", req.header("host").unwrap_or(""));
            return reply(200, token_body(&base, "at", None));
        }
        reply(
            401,
            r#"[{"message":"This session is not valid for use with the REST API","errorCode":"INVALID_SESSION_ID"}]"#,
        )
    })
    .await;
    let client = client();
    let org = client.org("t1", refresh_credentials(&base), Arc::new(DiscardTokens));
    let err = org.query("SELECT Id FROM Lead").await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Configuration);
    assert_eq!(client.api_calls(), 1);
    assert_eq!(client.token_requests(), 1);
}

#[tokio::test]
async fn failed_write_back_blocks_use_until_it_succeeds() {
    let (base, timeline) = serve(|req, before| {
        if req.path == "/services/oauth2/token" {
            let base = format!("http://{}", req.header("host").unwrap_or(""));
            let n = token_calls(before) + 1;
            return reply(200, token_body(&base, "at", Some(&format!("rt-new-{n}"))));
        }
        reply(200, r#"{"totalSize":0,"done":true,"records":[]}"#)
    })
    .await;
    let sink = Arc::new(RecordingSink {
        timeline: timeline.clone(),
        fail: Mutex::new(true),
    });
    let client = client();
    let org = client.org("t1", refresh_credentials(&base), sink.clone());
    let err = org.query("SELECT Id FROM Lead").await.unwrap_err();
    assert!(matches!(err, SalesforceError::TokenSink(_)));
    assert_eq!(err.class(), ErrorClass::Transient);
    assert_eq!(client.api_calls(), 0, "the new session was not used");
    if let Ok(mut f) = sink.fail.lock() {
        *f = false;
    }
    // The retry writes the kept token back first, without asking for another one.
    org.query("SELECT Id FROM Lead").await.unwrap();
    assert_eq!(client.token_requests(), 1);
    assert_eq!(
        timeline.events(),
        vec![
            "POST /services/oauth2/token",
            "SINK rt-new-1",
            "GET /services/data/v62.0/query",
        ]
    );
}

#[tokio::test]
async fn jwt_bearer_and_client_credentials_flows() {
    let (base, timeline) = serve(|req, _| {
        if req.path == "/services/oauth2/token" {
            let form = req.form();
            let base = format!("http://{}", req.header("host").unwrap_or(""));
            let ok = match form.get("grant_type").map(String::as_str) {
                Some("urn:ietf:params:oauth:grant-type:jwt-bearer") => {
                    let key = jsonwebtoken::DecodingKey::from_rsa_pem(TEST_PUBLIC_KEY.as_bytes())
                        .unwrap();
                    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
                    v.set_audience(&[base.as_str()]);
                    let assertion = form.get("assertion").cloned().unwrap_or_default();
                    jsonwebtoken::decode::<auth::JwtClaims>(&assertion, &key, &v)
                        .is_ok_and(|t| t.claims.sub == "int@acme.example" && t.claims.iss == "cid")
                }
                Some("client_credentials") => {
                    form.get("client_secret").map(String::as_str) == Some("csecret")
                }
                _ => false,
            };
            return if ok {
                reply(200, token_body(&base, "at", None))
            } else {
                reply(
                    400,
                    r#"{"error":"invalid_grant","error_description":"audience is invalid"}"#,
                )
            };
        }
        reply(200, r#"{"totalSize":0,"done":true,"records":[]}"#)
    })
    .await;
    let client = client();
    let jwt = SalesforceCredentials::JwtBearer {
        login_url: base.clone(),
        client_id: "cid".into(),
        username: "int@acme.example".into(),
        private_key: Secret::new(TEST_PRIVATE_KEY),
    };
    client
        .org("jwt", jwt, Arc::new(DiscardTokens))
        .query("SELECT Id FROM Lead")
        .await
        .unwrap();
    let cc = SalesforceCredentials::ClientCredentials {
        login_url: base.clone(),
        client_id: "cid".into(),
        client_secret: Secret::new("csecret"),
    };
    client
        .org("cc", cc, Arc::new(DiscardTokens))
        .query("SELECT Id FROM Lead")
        .await
        .unwrap();
    let bad = SalesforceCredentials::ClientCredentials {
        login_url: base,
        client_id: "cid".into(),
        client_secret: Secret::new("wrong"),
    };
    let err = client
        .org("bad", bad, Arc::new(DiscardTokens))
        .query("SELECT Id FROM Lead")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("invalid_grant"));
    assert_eq!(err.class(), ErrorClass::Configuration);
    assert_eq!(client.api_calls(), 2);
    assert_eq!(timeline.seen().len(), 5);
}

/// A server whose token endpoint always succeeds and whose API answers come from `api`.
async fn api_server(
    api: impl Fn(&Seen, &[Seen]) -> Reply + Send + Sync + 'static,
) -> (Org, SalesforceClient, Timeline) {
    let (base, timeline) = serve(move |req, before| {
        if req.path == "/services/oauth2/token" {
            let base = format!("http://{}", req.header("host").unwrap_or(""));
            return reply(200, token_body(&base, "at", None));
        }
        api(req, before)
    })
    .await;
    let client = client();
    let org = client.org("t1", refresh_credentials(&base), Arc::new(DiscardTokens));
    (org, client, timeline)
}

#[tokio::test]
async fn query_all_follows_next_records_url() {
    let (org, client, timeline) = api_server(|req, _| match req.path.as_str() {
        "/services/data/v62.0/query" => reply(
            200,
            r#"{"totalSize":3,"done":false,"nextRecordsUrl":"/services/data/v62.0/query/01gX-2","records":[{"Id":"1"},{"Id":"2"}]}"#,
        ),
        "/services/data/v62.0/query/01gX-2" => {
            reply(200, r#"{"totalSize":3,"done":true,"records":[{"Id":"3"}]}"#)
        }
        _ => reply(404, answers::NOT_FOUND_404),
    })
    .await;
    let q = Soql::select(&["Id"])
        .from("Lead")
        .where_eq("Email", "o'brien@x.io")
        .build()
        .unwrap();
    let records = org.query_all(&q).await.unwrap();
    let ids: Vec<_> = records.iter().filter_map(|r| r["Id"].as_str()).collect();
    assert_eq!(ids, vec!["1", "2", "3"]);
    assert_eq!(client.api_calls(), 2);
    let first = &timeline.seen()[1];
    let q_sent = form_pairs(&first.query);
    assert_eq!(
        q_sent.get("q").map(String::as_str),
        Some("SELECT Id FROM Lead WHERE Email = 'o\\'brien@x.io'")
    );
    // A first page in the documented shape parses as a page too.
    let page: QueryPage = serde_json::from_str(answers::QUERY_PAGINATED_FIRST_PAGE).unwrap();
    assert!(!page.done);
    assert_eq!(
        page.next_records_url.as_deref(),
        Some("/services/data/v62.0/query/0r8Ws00000Ch4tSAAB-2")
    );
    let page: QueryPage = serde_json::from_str(answers::QUERY_TWO_RECORDS).unwrap();
    assert_eq!(page.records.len(), 2);
}

#[tokio::test]
async fn upsert_answers_by_status() {
    let (org, _client, timeline) = api_server(|req, _| match req.path.rsplit('/').next() {
        Some("new") => reply(
            201,
            r#"{"id":"003N","success":true,"errors":[],"created":true}"#,
        ),
        Some("seen") => reply(
            200,
            r#"{"id":"003S","success":true,"errors":[],"created":false}"#,
        ),
        Some("old") => reply(204, ""),
        Some("many") => reply(300, answers::UPSERT_300_MULTIPLE_MATCHES),
        _ => reply(404, answers::NOT_FOUND_404),
    })
    .await;
    let body = json!({"LastName": "Doe"});
    let created = org
        .upsert("Contact", "Chat_Id__c", "new", &body)
        .await
        .unwrap();
    assert_eq!(
        created,
        UpsertOutcome {
            id: Some("003N".into()),
            created: true
        }
    );
    let updated = org
        .upsert("Contact", "Chat_Id__c", "seen", &body)
        .await
        .unwrap();
    assert_eq!(
        updated,
        UpsertOutcome {
            id: Some("003S".into()),
            created: false
        }
    );
    let legacy = org
        .upsert("Contact", "Chat_Id__c", "old", &body)
        .await
        .unwrap();
    assert_eq!(
        legacy,
        UpsertOutcome {
            id: None,
            created: false
        }
    );
    match org.upsert("Contact", "Chat_Id__c", "many", &body).await {
        Err(SalesforceError::Ambiguous { candidates }) => assert_eq!(candidates.len(), 2),
        other => panic!("expected Ambiguous, got {other:?}"),
    }
    // External id values are path-encoded.
    let err = org
        .upsert("Contact", "Chat_Id__c", "a/b c", &body)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NOT_FOUND"));
    let last = timeline.seen().pop().unwrap();
    assert_eq!(
        last.path,
        "/services/data/v62.0/sobjects/Contact/Chat_Id__c/a%2Fb%20c"
    );
    assert_eq!(last.method, "PATCH");
}

#[tokio::test]
async fn html_errors_and_timeouts_are_transient() {
    let (org, _client, _timeline) = api_server(|req, _| {
        if req.path.ends_with("/slow") {
            let mut r = reply(200, "{}");
            r.delay = Duration::from_secs(3);
            return r;
        }
        let mut r = reply(
            503,
            "<html><body><h1>Service Not Available</h1></body></html>",
        );
        r.headers = vec![("content-type", "text/html".into())];
        r
    })
    .await;
    let err = org.get("Lead", "00Q", &["Id"]).await.unwrap_err();
    assert_eq!(err.code(), Some("HTTP_503"));
    assert_eq!(err.class(), ErrorClass::Transient);
    assert!(err.to_string().contains("Service Not Available"));
    let err = org.get("Lead", "slow", &[]).await.unwrap_err();
    assert!(
        matches!(
            err,
            SalesforceError::Transport {
                kind: error::TransportKind::Timeout,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::Transient);
}

#[tokio::test]
async fn composite_and_collections_round_trip() {
    let (org, client, timeline) = api_server(|req, _| match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/services/data/v62.0/composite") => reply(
            200,
            r#"{"compositeResponse":[{"body":{"id":"00Q1","success":true,"errors":[]},"httpHeaders":{},"httpStatusCode":201,"referenceId":"lead"},
                {"body":{"id":"00T1","success":true,"errors":[]},"httpHeaders":{},"httpStatusCode":201,"referenceId":"task"}]}"#,
        ),
        ("PATCH", "/services/data/v62.0/composite/sobjects/Account/Id") => {
            reply(200, answers::COLLECTIONS_UPSERT_CREATED)
        }
        ("DELETE", "/services/data/v62.0/composite/sobjects") => reply(
            200,
            r#"[{"id":"001A","success":true,"errors":[]},{"success":false,"errors":[{"statusCode":"ENTITY_IS_DELETED","message":"entity is deleted","fields":[]}]}]"#,
        ),
        _ => reply(404, answers::NOT_FOUND_404),
    })
    .await;
    let mut req = CompositeRequest::new(true);
    req.push(SubRequest::create(
        "lead",
        "Lead",
        json!({"LastName": "Doe", "Company": "Acme", "OwnerId": "005A"}),
    ))
    .unwrap()
    .push(SubRequest::create(
        "task",
        "Task",
        json!({"WhoId": reference("lead", "id")}),
    ))
    .unwrap();
    let resp = org.composite(&req).await.unwrap();
    assert!(resp.first_failure().is_none());
    assert_eq!(resp.get("task").and_then(SubResponse::id), Some("00T1"));
    let sent = timeline.seen().pop().unwrap();
    assert_eq!(sent.header("sforce-auto-assign"), Some("FALSE"));
    let sent_body: serde_json::Value = serde_json::from_str(&sent.body).unwrap();
    assert_eq!(
        sent_body["compositeRequest"][1]["body"]["WhoId"],
        "@{lead.id}"
    );

    let records = vec![collections::record(
        "Account",
        json!({"Name": "Acme", "Id": null}),
    )];
    let results = org
        .collection_upsert("Account", "Id", false, &records)
        .await
        .unwrap();
    assert_eq!(results[0].created, Some(true));

    let results = org
        .collection_delete(false, &["001A".to_owned(), "001B".to_owned()])
        .await
        .unwrap();
    let (index, err) = collections::first_failure(&results).unwrap();
    assert_eq!((index, err.code()), (1, Some("ENTITY_IS_DELETED")));
    let sent = timeline.seen().pop().unwrap();
    let q = form_pairs(&sent.query);
    assert_eq!(q.get("ids").map(String::as_str), Some("001A,001B"));
    assert_eq!(
        client.api_calls(),
        3,
        "composite and collections are one call each"
    );
}

#[tokio::test]
async fn search_describe_and_limits() {
    let (org, _client, timeline) = api_server(|req, _| match req.path.as_str() {
        "/services/data/v62.0/search" => reply(
            200,
            r#"{"searchRecords":[{"attributes":{"type":"Lead","url":"/x"},"Id":"00Q1","Email":"a+b@x.io"}]}"#,
        ),
        "/services/data/v62.0/sobjects/Lead/describe" => reply(
            200,
            r#"{"name":"Lead","fields":[{"name":"LastName","type":"string","length":80,"nillable":false,"createable":true,"updateable":true,"defaultedOnCreate":false}]}"#,
        ),
        "/services/data/v62.0/limits" => reply(200, answers::LIMITS),
        _ => reply(404, answers::NOT_FOUND_404),
    })
    .await;
    let sosl = Sosl::find("a+b@x.io", SearchGroup::Email)
        .returning("Lead", &["Id", "Email"])
        .build()
        .unwrap();
    let found = org.search(&sosl).await.unwrap();
    assert_eq!(found.len(), 1);
    let sent = timeline.seen().pop().unwrap();
    assert_eq!(
        form_pairs(&sent.query).get("q").map(String::as_str),
        Some("FIND {a\\+b@x.io} IN EMAIL FIELDS RETURNING Lead(Id, Email)")
    );
    let d = org.describe("Lead").await.unwrap();
    assert_eq!(d.required_on_create().count(), 1);
    let limits = org.limits().await.unwrap();
    assert_eq!(
        limits::daily_api_requests(&limits).map(|u| u.limit),
        Some(15000)
    );
    assert!(org.describe("Lead; DROP").await.is_err());
}

#[tokio::test]
async fn concurrent_expired_calls_share_one_refresh() {
    let (base, _timeline) = serve(|req, before| {
        if req.path == "/services/oauth2/token" {
            let base = format!("http://{}", req.header("host").unwrap_or(""));
            let n = token_calls(before) + 1;
            let mut r = reply(
                200,
                token_body(&base, &format!("at-{n}"), Some(&format!("rt-{}", n + 1))),
            );
            r.delay = Duration::from_millis(50);
            return r;
        }
        reply(200, r#"{"totalSize":0,"done":true,"records":[]}"#)
    })
    .await;
    let client = client();
    let org = client.org("t1", refresh_credentials(&base), Arc::new(DiscardTokens));
    let (a, b, c) = tokio::join!(
        org.query("SELECT Id FROM Lead"),
        org.query("SELECT Id FROM Contact"),
        org.query("SELECT Id FROM Case")
    );
    assert!(a.is_ok() && b.is_ok() && c.is_ok());
    assert_eq!(client.token_requests(), 1);
}

#[tokio::test]
async fn max_session_age_refreshes_before_use() {
    let (base, _timeline) = serve(|req, _| {
        if req.path == "/services/oauth2/token" {
            let base = format!("http://{}", req.header("host").unwrap_or(""));
            return reply(200, token_body(&base, "at", None));
        }
        reply(200, r#"{"totalSize":0,"done":true,"records":[]}"#)
    })
    .await;
    let client = SalesforceClient::new(ClientConfig {
        max_session_age: Some(Duration::ZERO),
        ..ClientConfig::default()
    })
    .unwrap();
    let org = client.org("t1", refresh_credentials(&base), Arc::new(DiscardTokens));
    org.query("SELECT Id FROM Lead").await.unwrap();
    org.query("SELECT Id FROM Lead").await.unwrap();
    assert_eq!(client.token_requests(), 2, "an aged session is not used");
    assert_eq!(client.api_calls(), 2, "and costs no refused call");
}

#[tokio::test]
async fn stale_handles_follow_the_rotation_and_new_tokens_win() {
    let (base, timeline) = serve(|req, before| {
        if req.path == "/services/oauth2/token" {
            let base = format!("http://{}", req.header("host").unwrap_or(""));
            let n = token_calls(before) + 1;
            return reply(
                200,
                token_body(&base, &format!("at-{n}"), Some(&format!("rt-{}", n + 1))),
            );
        }
        reply(200, r#"{"totalSize":0,"done":true,"records":[]}"#)
    })
    .await;
    let client = client();
    let sent_refresh = |i: usize| timeline.seen()[i].form().get("refresh_token").cloned();
    // A handle built from the original secret (rt-1) keeps following the chain.
    let org = client.org("t1", refresh_credentials(&base), Arc::new(DiscardTokens));
    org.query("SELECT Id FROM Lead").await.unwrap();
    client.forget_session("t1");
    org.query("SELECT Id FROM Lead").await.unwrap();
    assert_eq!(sent_refresh(2).as_deref(), Some("rt-2"));
    // So does one built from the secret after the first write-back (rt-2, also replaced).
    let mut reloaded = refresh_credentials(&base);
    if let SalesforceCredentials::RefreshToken { refresh_token, .. } = &mut reloaded {
        *refresh_token = Secret::new("rt-2");
    }
    client.forget_session("t1");
    let org = client.org("t1", reloaded.clone(), Arc::new(DiscardTokens));
    org.query("SELECT Id FROM Lead").await.unwrap();
    assert_eq!(sent_refresh(4).as_deref(), Some("rt-3"));
    // A token never seen (an admin re-authorised) wins over the cached chain.
    if let SalesforceCredentials::RefreshToken { refresh_token, .. } = &mut reloaded {
        *refresh_token = Secret::new("rt-admin");
    }
    client.forget_session("t1");
    let org = client.org("t1", reloaded, Arc::new(DiscardTokens));
    org.query("SELECT Id FROM Lead").await.unwrap();
    assert_eq!(sent_refresh(6).as_deref(), Some("rt-admin"));
}

#[tokio::test]
async fn a_recording_handle_keeps_each_request_and_answer_but_no_token() {
    let (org, _client, _timeline) = api_server(|req, _| {
        if req.path.ends_with("/slow") {
            let mut r = reply(200, "{}");
            r.delay = Duration::from_secs(3);
            return r;
        }
        match req.method.as_str() {
            "POST" => reply(201, r#"{"id":"003N","success":true,"errors":[]}"#),
            _ => reply(404, answers::NOT_FOUND_404),
        }
    })
    .await;
    let exchanges = crate::salesforce::Exchanges::new();
    let org = org.recording(&exchanges);
    let body = json!({"LastName": "Doe"});
    org.create("Contact", &body).await.unwrap();
    org.get("Lead", "00Q", &["Id"]).await.unwrap_err();
    org.get("Lead", "slow", &[]).await.unwrap_err();
    let seen = exchanges.snapshot().exchanges;
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path, "sobjects/Contact");
    assert_eq!(seen[0].request, Some(body));
    assert_eq!(seen[0].status, 201);
    assert!(seen[0].response.contains("003N"));
    assert_eq!(seen[1].status, 404);
    assert_eq!(seen[1].path, "sobjects/Lead/00Q?fields=Id");
    assert!(seen[1].response.contains("NOT_FOUND"));
    assert_eq!(seen[2].status, 0, "no answer came");
    assert!(seen[2].response.starts_with("no answer"));
    let all = format!("{seen:?}");
    assert!(!all.contains("Bearer") && !all.contains("\"at\""), "{all}");
}

#[tokio::test]
async fn a_budgeted_org_sends_nothing_past_the_tenants_budget() {
    // The org has 1,000 calls a day and 850 are spent: 150 left.
    let (base, timeline) = serve(|req, _| {
        if req.path == "/services/oauth2/token" {
            let base = format!("http://{}", req.header("host").unwrap_or(""));
            return reply(200, token_body(&base, "at", None));
        }
        let mut r = reply(200, r#"{"totalSize":0,"done":true,"records":[]}"#);
        r.headers[1].1 = "api-usage=850/1000".into();
        r
    })
    .await;
    let client = client();
    let generous = ApiBudget {
        share: 1.0,
        reserve: 0.10,
    };
    let org = client
        .org("t1", refresh_credentials(&base), Arc::new(DiscardTokens))
        .budgeted(generous, Priority::Normal);
    // The first call learns the usage; a normal call may leave 100 (the reserve).
    org.query("SELECT Id FROM Lead").await.expect("admitted");
    org.query("SELECT Id FROM Lead").await.expect("admitted");
    // Low-priority work keeps clear of twice the reserve (200): refused, nothing sent.
    let low = client
        .org("t1", refresh_credentials(&base), Arc::new(DiscardTokens))
        .budgeted(generous, Priority::Low);
    let sent = timeline.seen().len();
    let err = low.query("SELECT Id FROM Lead").await.unwrap_err();
    assert!(
        matches!(err, SalesforceError::BudgetExhausted { .. }),
        "{err}"
    );
    assert_eq!(err.class(), ErrorClass::RateLimited);
    assert_eq!(timeline.seen().len(), sent, "nothing sent past the budget");
    // A tenant whose share is spent is refused at normal priority too.
    let spent = client
        .org("t1", refresh_credentials(&base), Arc::new(DiscardTokens))
        .budgeted(
            ApiBudget {
                share: 0.002,
                reserve: 0.10,
            },
            Priority::Normal,
        );
    let err = spent.query("SELECT Id FROM Lead").await.unwrap_err();
    assert!(
        err.to_string().contains("chatsync would have spent"),
        "{err}"
    );
    assert_eq!(timeline.seen().len(), sent);
}

#[tokio::test]
async fn a_passing_failure_is_sent_again_once_only_when_that_cannot_do_the_work_twice() {
    // Each Lead name scripts its answers: the n-th POST of that name gets the n-th answer.
    let (org, client, timeline) = api_server(|req, before| {
        let name = req.body.clone();
        let tries = before.iter().filter(|s| s.body == name).count();
        let lock = r#"[{"message":"unable to obtain exclusive access to this record","errorCode":"UNABLE_TO_LOCK_ROW"}]"#;
        let created = r#"{"id":"00Q000000000001AAA","success":true,"errors":[]}"#;
        match (name.contains("locked-once"), name.contains("locked-always"), tries) {
            (true, _, 0) | (_, true, _) => reply(400, lock),
            (true, _, _) => reply(201, created),
            _ => {
                let mut r = reply(500, "<html><body>Internal Server Error</body></html>");
                r.headers = vec![("content-type", "text/html".into())];
                r
            }
        }
    })
    .await;
    let posts = || {
        timeline
            .seen()
            .iter()
            .filter(|s| s.method == "POST" && s.path.contains("/sobjects/"))
            .count()
    };
    // A row lock rolled the transaction back: sent again, and it lands.
    let id = org
        .create("Lead", &json!({"LastName": "locked-once"}))
        .await
        .expect("landed on the second send");
    assert_eq!(id, "00Q000000000001AAA");
    assert_eq!(posts(), 2);
    // Sent again once only: a second lock is the message's to retry.
    let err = org
        .create("Lead", &json!({"LastName": "locked-always"}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("UNABLE_TO_LOCK_ROW"));
    assert_eq!(posts(), 4);
    // An HTML 500 may have created the Lead: not sent again.
    let err = org
        .create("Lead", &json!({"LastName": "unknown"}))
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient);
    assert_eq!(posts(), 5);
    assert_eq!(client.api_calls(), 5);
}

#[test]
fn only_row_locks_and_lost_reads_are_sent_again() {
    let api = |status, code: &str| SalesforceError::Api {
        status: Some(status),
        error: error::ApiError::new(code, "m"),
    };
    let transport = |kind| SalesforceError::Transport {
        kind,
        message: "m".into(),
    };
    let post = Method::POST;
    let get = Method::GET;
    assert!(client::may_resend(&post, &api(400, "UNABLE_TO_LOCK_ROW")));
    // An outage is waited out, not resent into.
    assert!(!client::may_resend(&post, &api(503, "SERVER_UNAVAILABLE")));
    assert!(!client::may_resend(&get, &api(503, "SERVER_UNAVAILABLE")));
    assert!(!client::may_resend(&get, &api(503, "HTTP_503")));
    assert!(!client::may_resend(
        &post,
        &transport(error::TransportKind::Connect)
    ));
    assert!(!client::may_resend(
        &get,
        &transport(error::TransportKind::Timeout)
    ));
    // A write that may have been applied is the message's to retry.
    assert!(!client::may_resend(&post, &api(500, "HTTP_500")));
    assert!(!client::may_resend(
        &post,
        &transport(error::TransportKind::Other)
    ));
    assert!(!client::may_resend(
        &post,
        &api(400, "REQUIRED_FIELD_MISSING")
    ));
    // A read's lost answer is asked again.
    assert!(client::may_resend(&get, &api(500, "HTTP_500")));
    assert!(client::may_resend(
        &get,
        &transport(error::TransportKind::Other)
    ));
    assert!(!client::may_resend(&get, &api(404, "NOT_FOUND")));
}
