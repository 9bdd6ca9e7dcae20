//! The intake handler against real AWS APIs (moto): signed deliveries are claimed and queued
//! once; every bad input gets a clear 4xx and changes nothing.

use chatsync_local::events::{SAMPLE_SIGNED_AT, signed_request};
use chatsync_local::host::{http_event, http_event_json, match_route};
use chatsync_local::stack::HttpRoute;
use chatsync_tests::{LocalAws, SAMPLE_DELIVERIES, repo_root};
use lambda_http::Body;
use shared::config::Env;
use shared::platforms::Platform;
use shared::tenant::TenantFile;
use time::OffsetDateTime;
use webhook_intake::{Intake, handle};

struct Reply {
    status: u16,
    json: serde_json::Value,
}

fn request(
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> lambda_http::Request {
    let route = HttpRoute {
        method: method.into(),
        path: "/webhooks/{platform}/{tenant}".into(),
    };
    let uri: http::Uri = path.parse().unwrap();
    let mut map = http::HeaderMap::new();
    for (k, v) in headers {
        map.insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    let params = match_route(&route.path, uri.path()).unwrap_or_default();
    let method = http::Method::from_bytes(method.as_bytes()).unwrap();
    let event = http_event(&method, &uri, &map, body, &route, params);
    lambda_http::request::from_str(&http_event_json(&event).to_string())
        .expect("a valid API Gateway v2 event")
}

async fn send(intake: &Intake, req: lambda_http::Request) -> Reply {
    let response = handle(intake, req)
        .await
        .expect("the handler never fails the invocation");
    let status = response.status().as_u16();
    let json = match response.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap_or(serde_json::Value::Null),
        _ => serde_json::Value::Null,
    };
    Reply { status, json }
}

fn payload(name: &str) -> Vec<u8> {
    std::fs::read(repo_root().join("events/payloads").join(name)).unwrap()
}

async fn signed(intake: &Intake, tenant: &TenantFile, platform: Platform, body: &[u8]) -> Reply {
    let (headers, path) =
        signed_request(platform, tenant, body, OffsetDateTime::now_utc()).unwrap();
    send(intake, request("POST", &path, &headers, body)).await
}

async fn setup() -> (LocalAws, Intake, TenantFile) {
    let aws = LocalAws::start().await;
    let tenant = aws.load_demo_tenant().await;
    let intake = Intake::from_env(&aws.sdk, &Env::from_map(aws.env("webhook-intake"))).unwrap();
    (aws, intake, tenant)
}

#[tokio::test]
async fn each_platforms_signed_delivery_is_queued_once_however_often_it_arrives() {
    let (aws, intake, tenant) = setup().await;
    for (platform, file) in SAMPLE_DELIVERIES {
        let body = payload(file);
        let first = signed(&intake, &tenant, platform, &body).await;
        assert_eq!(first.status, 202, "{file}: {}", first.json);
        let id = first.json["correlation_id"].as_str().unwrap().to_owned();
        for _ in 0..2 {
            let again = signed(&intake, &tenant, platform, &body).await;
            assert_eq!(again.status, 200, "{file}");
            assert_eq!(again.json["status"], "duplicate");
            assert_eq!(again.json["correlation_id"], id.as_str());
        }
    }
    assert_eq!(aws.visible("ResolveQueue").await, 4);
    assert_eq!(aws.count("DeliveriesTable").await, 4);
    assert_eq!(aws.count("SyncLogTable").await, 4);
    // The queued message keeps one conversation in one group and carries the raw body.
    let messages = aws.peek("ResolveQueue").await;
    let intercom = messages
        .iter()
        .find(|m| m.body().unwrap().contains("\"platform\":\"intercom\""))
        .unwrap();
    let group = intercom.attributes().unwrap()
        [&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId]
        .clone();
    assert_eq!(group, "demo:intercom:conversation:184467440737");
    aws.moto.stop().await;
}

#[tokio::test]
async fn every_bad_input_is_refused_clearly_and_changes_nothing() {
    let (aws, intake, tenant) = setup().await;
    let body = payload("intercom-conversation-user-created.json");
    let (good_headers, path) = signed_request(
        Platform::Intercom,
        &tenant,
        &body,
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let sign = |b: &[u8]| {
        signed_request(Platform::Intercom, &tenant, b, OffsetDateTime::now_utc())
            .unwrap()
            .0
    };
    let ct = vec![("content-type".to_owned(), "application/json".to_owned())];
    let stale_at = OffsetDateTime::now_utc() - time::Duration::minutes(10);
    let tidio = payload("tidio-contact-created.json");
    let (stale_headers, tidio_path) =
        signed_request(Platform::Tidio, &tenant, &tidio, stale_at).unwrap();
    let big = vec![b' '; 300 * 1024];
    let non_utf8 = b"{\"topic\":\"x\xff\"}".to_vec();
    let cases: Vec<(&str, lambda_http::Request, u16, &str)> = vec![
        (
            "unsigned",
            request("POST", &path, &ct, &body),
            401,
            "bad_signature",
        ),
        (
            "signed with another secret",
            request(
                "POST",
                &path,
                &[(
                    "x-hub-signature".into(),
                    shared::platforms::intercom::sign("nope", &body),
                )],
                &body,
            ),
            401,
            "bad_signature",
        ),
        (
            "body changed after signing",
            request("POST", &path, &good_headers, &[&body[..], b" "].concat()),
            401,
            "bad_signature",
        ),
        (
            "stale Tidio timestamp",
            request("POST", &tidio_path, &stale_headers, &tidio),
            401,
            "bad_signature",
        ),
        (
            "unknown tenant",
            request("POST", "/webhooks/intercom/nobody", &good_headers, &body),
            404,
            "unknown_tenant",
        ),
        (
            "tenant id with odd characters",
            request("POST", "/webhooks/intercom/DEMO", &good_headers, &body),
            404,
            "unknown_tenant",
        ),
        (
            "unknown platform",
            request("POST", "/webhooks/zendesk/demo", &good_headers, &body),
            404,
            "unknown_platform",
        ),
        (
            "oversized",
            request("POST", &path, &sign(&big), &big),
            413,
            "body_too_large",
        ),
        (
            "empty",
            request("POST", &path, &sign(b""), b""),
            400,
            "empty_body",
        ),
        (
            "malformed JSON",
            request("POST", &path, &sign(b"{\"topic\":"), b"{\"topic\":"),
            400,
            "malformed_payload",
        ),
        (
            "JSON array",
            request("POST", &path, &sign(b"[]"), b"[]"),
            400,
            "malformed_payload",
        ),
        (
            "no notification id",
            request(
                "POST",
                &path,
                &sign(br#"{"topic":"conversation.user.created","data":{"item":{}}}"#),
                br#"{"topic":"conversation.user.created","data":{"item":{}}}"#,
            ),
            400,
            "malformed_payload",
        ),
        (
            "not UTF-8",
            request("POST", &path, &sign(&non_utf8), &non_utf8),
            400,
            "not_utf8",
        ),
        (
            "GET",
            request("GET", &path, &good_headers, &body),
            405,
            "method_not_allowed",
        ),
    ];
    for (name, req, status, code) in cases {
        let reply = send(&intake, req).await;
        assert_eq!(reply.status, status, "{name}: {}", reply.json);
        assert_eq!(reply.json["error"], code, "{name}");
        assert!(
            !reply.json["message"]
                .as_str()
                .unwrap_or_default()
                .is_empty(),
            "{name}: says why"
        );
        assert_ne!(reply.status, 410, "{name}");
    }
    assert_eq!(aws.visible("ResolveQueue").await, 0, "nothing queued");
    assert_eq!(aws.count("DeliveriesTable").await, 0, "nothing claimed");
    assert_eq!(
        aws.count("SyncLogTable").await,
        0,
        "nothing logged as accepted"
    );
    aws.moto.stop().await;
}

#[tokio::test]
async fn head_probes_and_pings_answer_200_and_queue_nothing() {
    let (aws, intake, tenant) = setup().await;
    let head = send(
        &intake,
        request("HEAD", "/webhooks/intercom/demo", &[], b""),
    )
    .await;
    assert_eq!(head.status, 200);
    let ping = signed(
        &intake,
        &tenant,
        Platform::Intercom,
        &payload("intercom-ping.json"),
    )
    .await;
    assert_eq!(ping.status, 200);
    assert_eq!(ping.json["status"], "ok");
    assert_eq!(aws.visible("ResolveQueue").await, 0);
    aws.moto.stop().await;
}

#[tokio::test]
async fn a_claim_left_pending_by_a_crash_is_queued_by_the_platforms_retry() {
    // GIVEN an earlier attempt claimed the delivery and died before queueing it
    let (aws, intake, tenant) = setup().await;
    let body = payload("intercom-conversation-user-created.json");
    let envelope = shared::platforms::envelope(Platform::Intercom, &body).unwrap();
    let claims =
        shared::store::deliveries::DeliveryClaims::new(aws.dynamo(), aws.table("DeliveriesTable"));
    let key = shared::delivery::delivery_key("demo", Platform::Intercom, &envelope.delivery_id);
    let claim = claims
        .claim(&key, "first-attempt", OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_eq!(claim, shared::store::deliveries::Claim::New);
    // WHEN the platform retries
    let reply = signed(&intake, &tenant, Platform::Intercom, &body).await;
    // THEN it is queued under the first attempt's correlation id, and only once
    assert_eq!(reply.status, 202);
    assert_eq!(reply.json["correlation_id"], "first-attempt");
    assert_eq!(aws.visible("ResolveQueue").await, 1);
    let again = signed(&intake, &tenant, Platform::Intercom, &body).await;
    assert_eq!(again.json["status"], "duplicate");
    assert_eq!(aws.visible("ResolveQueue").await, 1);
    aws.moto.stop().await;
}

#[tokio::test]
async fn the_sample_api_gateway_events_run_through_the_handler() {
    let aws = LocalAws::start().await;
    aws.load_demo_tenant().await;
    let intake = Intake::from_env(&aws.sdk, &Env::from_map(aws.env("webhook-intake")))
        .unwrap()
        .with_clock(|| OffsetDateTime::from_unix_timestamp(SAMPLE_SIGNED_AT).unwrap());
    let dir = repo_root().join("events/apigw");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let req = lambda_http::request::from_str(&text)
            .expect("sample deserializes as an API Gateway v2 request");
        let reply = send(&intake, req).await;
        let expected = if path.to_string_lossy().contains("ping") {
            200
        } else {
            202
        };
        assert_eq!(reply.status, expected, "{}: {}", path.display(), reply.json);
        n += 1;
    }
    assert_eq!(n, 5);
    aws.moto.stop().await;
}
