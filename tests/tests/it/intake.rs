//! The intake handler against real AWS APIs (moto): signed deliveries are claimed and queued
//! once; every bad input gets a clear 4xx and changes nothing.

use chatsync_local::events::{SAMPLE_SIGNED_AT, signed_request};
use chatsync_local::host::{http_event, http_event_json, match_route};
use chatsync_local::stack::HttpRoute;
use chatsync_tests::{LocalAws, SAMPLE_DELIVERIES, repo_root};
use lambda_http::Body;
use shared::config::Env;
use shared::event::{EventKind, QueuedEvent, SCHEMA_VERSION};
use shared::platforms::Accepted;
use shared::platforms::Platform;
use shared::tenant::TenantFile;
use time::OffsetDateTime;
use webhook_intake::{Intake, handle};

struct Reply {
    status: u16,
    json: serde_json::Value,
    headers: http::HeaderMap,
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
    Reply {
        status,
        json,
        headers: response.headers().clone(),
    }
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
    let intake = Intake::from_env(
        aws.role("webhook-intake"),
        &Env::from_map(aws.env("webhook-intake")),
    )
    .unwrap();
    (aws, intake, tenant)
}

#[tokio::test]
async fn each_platforms_signed_delivery_is_queued_once_however_often_it_arrives() {
    let (aws, intake, tenant) = setup().await;
    let mut events = 0;
    for (platform, file) in SAMPLE_DELIVERIES {
        let body = payload(file);
        let first = signed(&intake, &tenant, platform, &body).await;
        assert_eq!(first.status, 202, "{file}: {}", first.json);
        assert_eq!(first.json["status"], "queued");
        let id = first.json["correlation_id"].as_str().unwrap().to_owned();
        let expected = parsed(platform, &body);
        assert_eq!(first.json["events"], expected.events.len(), "{file}");
        events += expected.events.len();
        for _ in 0..2 {
            let again = signed(&intake, &tenant, platform, &body).await;
            assert_eq!(again.status, 200, "{file}");
            assert_eq!(again.json["status"], "duplicate");
            assert_eq!(again.json["correlation_id"], id.as_str());
        }
    }
    assert_eq!(aws.visible("ResolveQueue").await, events);
    assert_eq!(aws.count("DeliveriesTable").await, 4);
    // One intake entry and one masked copy of the body per delivery.
    assert_eq!(aws.count("SyncLogTable").await, 8);
    // Each message is a canonical event of the current schema, grouped by conversation, in
    // the order the delivery gave them.
    let body = payload("intercom-conversation-user-created.json");
    let expected = parsed(Platform::Intercom, &body);
    let mut queued: Vec<QueuedEvent> = Vec::new();
    for m in all_messages(&aws, "ResolveQueue").await {
        let sealed = m.body().unwrap();
        let e = aws.open(sealed).await;
        // The personal part travels sealed: no e-mail or name in clear on the queue.
        for value in e.event.personal_values() {
            assert!(!sealed.contains(&value), "{value} in clear on the queue");
        }
        assert!(!sealed.contains("\"event\""), "{sealed}");
        if e.platform == Platform::Intercom {
            queued.push(e);
        }
    }
    assert!(
        queued.iter().any(|q| q.event.visitor.email.is_some()),
        "the sample carries an e-mail"
    );
    queued.sort_by_key(|e| e.index);
    assert_eq!(queued.len(), expected.events.len());
    for (q, e) in queued.iter().zip(&expected.events) {
        assert_eq!(q.schema, SCHEMA_VERSION);
        assert_eq!(&q.event, e);
        assert_eq!(q.tenant_id, "demo");
        assert_eq!(
            q.group_id(),
            format!("demo:intercom:{}", expected.conversation_key)
        );
        assert_eq!(q.raw.sha256, shared::platforms::body_hash(&body));
        assert_eq!(q.raw.bytes, body.len());
    }
    aws.moto.stop().await;
}

/// The canonical events a sample should yield, straight from the pure parser.
fn parsed(platform: Platform, body: &[u8]) -> Accepted {
    shared::platforms::parse(platform, body)
        .unwrap()
        .accepted()
        .expect("a supported sample")
}

/// Every message on a queue, received and left in flight (the test owns the queue).
async fn all_messages(aws: &LocalAws, logical_id: &str) -> Vec<aws_sdk_sqs::types::Message> {
    let mut all = Vec::new();
    loop {
        let out = aws
            .sqs()
            .receive_message()
            .queue_url(aws.queue_url(logical_id))
            .max_number_of_messages(10)
            .visibility_timeout(300)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        match out.messages {
            Some(m) if !m.is_empty() => all.extend(m),
            _ => return all,
        }
    }
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
            "unauthorized",
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
            "unauthorized",
        ),
        (
            "body changed after signing",
            request("POST", &path, &good_headers, &[&body[..], b" "].concat()),
            401,
            "unauthorized",
        ),
        (
            "stale Tidio timestamp",
            request("POST", &tidio_path, &stale_headers, &tidio),
            401,
            "unauthorized",
        ),
        (
            "unknown tenant",
            request("POST", "/webhooks/intercom/nobody", &good_headers, &body),
            401,
            "unauthorized",
        ),
        (
            "tenant id with odd characters",
            request("POST", "/webhooks/intercom/DEMO", &good_headers, &body),
            401,
            "unauthorized",
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
async fn an_enqueue_that_fails_after_the_claim_is_queued_by_the_platforms_retry() {
    let (aws, intake, tenant) = setup().await;
    // GIVEN an intake whose queue fails after the claim is taken (the queue does not exist)
    let mut env = aws.env("webhook-intake").clone();
    env.insert(
        "RESOLVE_QUEUE_URL".into(),
        aws.queue_url("ResolveQueue").replace("resolve", "missing"),
    );
    let broken = Intake::from_env(aws.role("webhook-intake"), &Env::from_map(&env)).unwrap();
    let body = payload("intercom-conversation-user-created.json");
    let expected = parsed(Platform::Intercom, &body);
    let failed = signed(&broken, &tenant, Platform::Intercom, &body).await;
    // THEN the platform is told to retry, the claim stays pending, nothing is queued
    assert!(failed.status >= 500, "{}", failed.json);
    assert_ne!(failed.status, 410);
    assert_eq!(aws.count("DeliveriesTable").await, 1);
    assert_eq!(aws.visible("ResolveQueue").await, 0);
    // WHEN the platform retries against a working intake
    let retry = signed(&intake, &tenant, Platform::Intercom, &body).await;
    // THEN every event is queued once, under one correlation id, and later repeats are duplicates
    assert_eq!(retry.status, 202, "{}", retry.json);
    assert_eq!(aws.visible("ResolveQueue").await, expected.events.len());
    let again = signed(&intake, &tenant, Platform::Intercom, &body).await;
    assert_eq!(again.json["status"], "duplicate");
    assert_eq!(again.json["correlation_id"], retry.json["correlation_id"]);
    assert_eq!(aws.visible("ResolveQueue").await, expected.events.len());
    aws.moto.stop().await;
}

#[tokio::test]
async fn fifty_concurrent_deliveries_of_one_event_queue_one_message() {
    let (aws, intake, tenant) = setup().await;
    // Tidio dedupes on its webhook_id, CloudCX (no id) on a hash of the body.
    let cases = [
        (Platform::Tidio, "tidio-contact-created.json"),
        (Platform::CloudCx, "cloudcx-ticket-assignee-changed.json"),
    ];
    for (n, (platform, file)) in cases.into_iter().enumerate() {
        let body = payload(file);
        assert_eq!(parsed(platform, &body).events.len(), 1);
        let replies =
            futures::future::join_all((0..50).map(|_| signed(&intake, &tenant, platform, &body)))
                .await;
        let ids: std::collections::BTreeSet<_> = replies
            .iter()
            .map(|r| {
                assert!(matches!(r.status, 200 | 202), "{file}: {}", r.json);
                r.json["correlation_id"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(
            ids.len(),
            1,
            "{file}: one correlation id for every copy: {ids:?}"
        );
        assert_eq!(all_messages(&aws, "ResolveQueue").await.len(), 1, "{file}");
        assert_eq!(aws.count("DeliveriesTable").await, n + 1, "{file}");
        // The intake entry (and the body's masked copy) is written once, not once per copy.
        assert_eq!(aws.count("SyncLogTable").await, 2 * (n + 1), "{file}");
    }
    aws.moto.stop().await;
}

#[tokio::test]
async fn a_body_hash_claim_only_covers_retries_and_a_delivery_id_claim_covers_the_week() {
    let (aws, intake, tenant) = setup().await;
    let cloudcx = payload("cloudcx-ticket-assignee-changed.json");
    let tidio = payload("tidio-contact-created.json");
    for (platform, body) in [(Platform::CloudCx, &cloudcx), (Platform::Tidio, &tidio)] {
        assert_eq!(signed(&intake, &tenant, platform, body).await.status, 202);
        assert_eq!(signed(&intake, &tenant, platform, body).await.status, 200);
    }
    // An hour later, the same CloudCX body is a new event (the ticket was assigned back), while
    // a Tidio webhook_id is still the same delivery. (Tidio's signature is made at that time.)
    let later = Intake::from_env(
        aws.role("webhook-intake"),
        &Env::from_map(aws.env("webhook-intake")),
    )
    .unwrap()
    .with_clock(|| OffsetDateTime::now_utc() + time::Duration::hours(1));
    let in_an_hour = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let again = |platform, body: &[u8]| {
        let (headers, path) = signed_request(platform, &tenant, body, in_an_hour).unwrap();
        send(&later, request("POST", &path, &headers, body))
    };
    let reply = again(Platform::CloudCx, &cloudcx).await;
    assert_eq!(
        (reply.status, &reply.json["status"]),
        (202, &serde_json::json!("queued"))
    );
    let reply = again(Platform::Tidio, &tidio).await;
    assert_eq!(
        (reply.status, &reply.json["status"]),
        (200, &serde_json::json!("duplicate"))
    );
    assert_eq!(all_messages(&aws, "ResolveQueue").await.len(), 3);
    aws.moto.stop().await;
}

#[tokio::test]
async fn each_platform_refuses_forgeries_and_ignores_unknown_topics() {
    let (aws, intake, tenant) = setup().await;
    let now = OffsetDateTime::now_utc();
    for (platform, file) in SAMPLE_DELIVERIES {
        let body = payload(file);
        let (headers, path) = signed_request(platform, &tenant, &body, now).unwrap();
        let json = vec![("content-type".to_owned(), "application/json".to_owned())];
        let base = format!("/webhooks/{platform}/demo");
        // Signed (or token-authenticated) as the platform would, with the wrong secret.
        let forged = shared::platforms::sign(platform, "not-the-secret", &body, now);
        let mut forged_headers = json.clone();
        forged_headers.extend(
            forged
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone())),
        );
        let forged_path = match &forged.query_token {
            Some(t) => format!("{base}?token={t}"),
            None => base.clone(),
        };
        let mut cases = vec![
            (
                "wrong secret",
                request("POST", &forged_path, &forged_headers, &body),
                401,
            ),
            (
                "missing signature",
                request("POST", &base, &json, &body),
                401,
            ),
            (
                "not JSON content",
                request(
                    "POST",
                    &path,
                    &[
                        &headers[1..],
                        &[("content-type".into(), "text/plain".into())],
                    ]
                    .concat(),
                    &body,
                ),
                415,
            ),
        ];
        // CloudCX signs nothing: its URL token cannot detect a changed body.
        if platform != Platform::CloudCx {
            let tampered = [&body[..], b" "].concat();
            cases.push((
                "tampered body",
                request("POST", &path, &headers, &tampered),
                401,
            ));
        }
        let malformed = b"{\"topic\": ".to_vec();
        let (h, p) = signed_request(platform, &tenant, &malformed, now).unwrap();
        cases.push(("malformed JSON", request("POST", &p, &h, &malformed), 400));
        for (name, req, status) in cases {
            let reply = send(&intake, req).await;
            assert_eq!(reply.status, status, "{platform} {name}: {}", reply.json);
            let message = reply.json["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            assert!(!message.is_empty(), "{platform} {name}: says why");
            assert!(
                !message.contains("secret") || name == "missing signature",
                "{platform} {name}: {message}"
            );
        }
        // A topic chatsync does not sync is accepted (so the platform does not retry) and dropped.
        let unknown = match platform {
            Platform::Intercom => {
                serde_json::json!({"type": "notification_event", "id": "notif_unknown", "topic": "admin.away_mode_updated", "created_at": 1_700_000_000, "data": {"item": {"type": "admin", "id": "1"}}})
            }
            Platform::Tidio => {
                serde_json::json!({"webhook_id": "0b9f2a4e-unknown", "topic": "project.renamed", "created_at": 1_700_000_000, "version": 1, "content": {}})
            }
            Platform::RespondIo => {
                serde_json::json!({"event_type": "workspace.renamed", "event_id": "e-unknown"})
            }
            Platform::CloudCx => serde_json::json!({"event": "AgentStatusChanged", "AgentId": "7"}),
        };
        let unknown = serde_json::to_vec(&unknown).unwrap();
        let reply = signed(&intake, &tenant, platform, &unknown).await;
        assert_eq!(
            reply.status, 202,
            "{platform} unknown topic: {}",
            reply.json
        );
        assert_eq!(reply.json["status"], "ignored");
    }
    assert_eq!(aws.visible("ResolveQueue").await, 0, "nothing queued");
    assert_eq!(aws.count("DeliveriesTable").await, 0, "nothing claimed");
    assert_eq!(aws.count("SyncLogTable").await, 0);
    aws.moto.stop().await;
}

#[tokio::test]
async fn a_webhook_body_is_stored_only_masked_and_redacted_for_a_few_days() {
    let (aws, intake, tenant) = setup().await;
    // A respond.io message with a card number and an e-mail address in its text, and a long
    // tail: the body never travels with its event, whatever its size.
    let mut value: serde_json::Value =
        serde_json::from_slice(&payload("respondio-message-received.json")).unwrap();
    let text = format!(
        "my card is 4111 1111 1111 1111, write to jane.roe@example.net {}",
        "lorem ipsum ".repeat(2_000)
    );
    value["message"]["message"]["text"] = serde_json::Value::String(text);
    value["event_id"] = serde_json::Value::String("large-1".into());
    let body = serde_json::to_vec(&value).unwrap();
    let reply = signed(&intake, &tenant, Platform::RespondIo, &body).await;
    assert_eq!(reply.status, 202, "{}", reply.json);

    // The queued event: its text redacted, no copy of the body.
    let messages = all_messages(&aws, "ResolveQueue").await;
    assert_eq!(messages.len(), 1);
    let message = messages[0].body().unwrap();
    assert!(!message.contains("4111 1111"), "a card number was queued");
    let queued: QueuedEvent = aws.open(message).await;
    assert_eq!(queued.raw.bytes, body.len());
    let EventKind::MessageAdded { message } = &queued.event.kind else {
        panic!("{:?}", queued.event.kind)
    };
    assert!(
        message
            .body
            .starts_with("my card is [card number removed], write to")
    );

    // The sync log: the entry refers to a masked copy that expires in days, not the retention.
    let items = aws
        .dynamo()
        .scan()
        .table_name(aws.table("SyncLogTable"))
        .send()
        .await
        .unwrap();
    let items = items.items();
    assert_eq!(items.len(), 2, "the entry and the copy");
    let stored = format!("{items:?}");
    for clear in ["4111 1111", "jane.roe@example.net", "lorem ipsum lorem"] {
        assert!(!stored.contains(clear), "{clear} stored in clear");
    }
    let entry = items.iter().find(|i| i.contains_key("entry")).unwrap();
    assert!(!entry.contains_key("payload"), "no raw copy on the entry");
    let logged: serde_json::Value = serde_json::from_str(entry["entry"].as_s().unwrap()).unwrap();
    let reference = logged["payload_ref"].as_str().expect("a reference");
    let copy = items
        .iter()
        .find(|i| i["pk"].as_s().ok().map(String::as_str) == Some(reference));
    let copy = copy.expect("the copy under its reference");
    let document =
        shared::synclog::payload::unpack(copy["document"].as_b().unwrap().as_ref()).unwrap();
    assert_eq!(document["keep"], "masked");
    assert!(document["webhook"]["event_id"] == "large-1", "{document}");
    let expires: i64 = copy["expires_at"].as_n().unwrap().parse().unwrap();
    let days = (expires - OffsetDateTime::now_utc().unix_timestamp()) as f64 / 86_400.0;
    assert!((2.9..=3.1).contains(&days), "the copy lives {days} days");
    aws.moto.stop().await;
}

#[tokio::test]
async fn the_sample_api_gateway_events_run_through_the_handler() {
    let aws = LocalAws::start().await;
    aws.load_demo_tenant().await;
    let intake = Intake::from_env(
        aws.role("webhook-intake"),
        &Env::from_map(aws.env("webhook-intake")),
    )
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
        // What the sample should get follows from its payload, read by the pure parser.
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let platform = chatsync_local::events::platform_of(&name).unwrap();
        let body = payload(&name);
        let (status, outcome) = match shared::platforms::parse(platform, &body).unwrap() {
            shared::platforms::Parsed::Ping => (200, "ok"),
            shared::platforms::Parsed::Accepted(a) if !a.events.is_empty() => (202, "queued"),
            _ => (202, "ignored"),
        };
        // Every sample is of a supported topic except the one kept to show an ignored topic.
        assert!(
            outcome != "ignored" || name == "cloudcx-ticket-move-to-recycle-bin.json",
            "{name} yields no event"
        );
        assert_eq!(reply.status, status, "{name}: {}", reply.json);
        assert_eq!(reply.json["status"], outcome, "{name}");
        n += 1;
    }
    let payloads = std::fs::read_dir(repo_root().join("events/payloads"))
        .unwrap()
        .count();
    assert_eq!(n, payloads, "one API Gateway event per payload");
    aws.moto.stop().await;
}

#[tokio::test]
async fn a_base64_encoded_body_is_verified_over_its_decoded_bytes() {
    use base64::Engine;
    let (aws, intake, tenant) = setup().await;
    let body = payload("respondio-message-received.json");
    let (headers, path) = signed_request(
        Platform::RespondIo,
        &tenant,
        &body,
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let mut event = http_event_json(&{
        let uri: http::Uri = path.parse().unwrap();
        let mut map = http::HeaderMap::new();
        for (k, v) in &headers {
            map.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        let route = HttpRoute {
            method: "POST".into(),
            path: "/webhooks/{platform}/{tenant}".into(),
        };
        let params = match_route(&route.path, uri.path()).unwrap();
        http_event(&http::Method::POST, &uri, &map, &body, &route, params)
    });
    // API Gateway may hand the body over base64-encoded; the MAC covers the platform's bytes.
    event["body"] = base64::engine::general_purpose::STANDARD
        .encode(&body)
        .into();
    event["isBase64Encoded"] = true.into();
    let req = lambda_http::request::from_str(&event.to_string()).unwrap();
    let reply = send(&intake, req).await;
    assert_eq!(reply.status, 202, "{}", reply.json);
    assert_eq!(aws.visible("ResolveQueue").await, 1);
    aws.moto.stop().await;
}

/// Log output captured in memory, as the Lambda runtime would ship it (JSON lines).
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The process-wide log capture: a scoped subscriber would miss lines whose callsites another
/// test's thread registered first, so this binary's tests all log here once it is installed.
fn captured_logs() -> &'static Captured {
    static CAPTURED: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
        captured
    })
}

#[tokio::test]
async fn each_delivery_logs_one_line_with_personal_data_masked_and_no_secret() {
    let captured = captured_logs();
    let (aws, intake, tenant) = setup().await;
    let body = payload("tidio-contact-created.json");
    let reply = signed(&intake, &tenant, Platform::Tidio, &body).await;
    assert_eq!(reply.status, 202);
    let correlation_id = reply.json["correlation_id"].as_str().unwrap().to_owned();
    let forged = request(
        "POST",
        "/webhooks/tidio/demo",
        &[("x-tidio-signature".into(), "t=1,s=00".into())],
        &body,
    );
    assert_eq!(send(&intake, forged).await.status, 401);
    aws.moto.stop().await;

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["fields"]["message"] == "delivery")
        .collect();
    let ours: Vec<_> = lines
        .iter()
        .filter(|l| l["fields"]["correlation_id"] == correlation_id.as_str())
        .collect();
    assert_eq!(ours.len(), 1, "one line per delivery:\n{text}");
    let accepted = &ours[0]["fields"];
    assert_eq!(accepted["tenant_id"], "demo");
    assert_eq!(accepted["platform"], "tidio");
    assert_eq!(accepted["topic"], "contact.created");
    assert_eq!(accepted["outcome"], "queued");
    assert_eq!(accepted["status"], 202);
    assert_eq!(accepted["visitor_email"], "g***@example.com");
    assert_eq!(accepted["visitor_phone"], "***42");
    assert!(accepted["duration_ms"].as_f64().is_some());
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["outcome"] == "bad_signature"
                && l["fields"]["status"] == 401
                && l["fields"]["platform"] == "tidio"),
        "the refusal is logged too"
    );
    // Nothing personal or secret anywhere in the output, from any test or module.
    for needle in [
        "grace.hopper@example.com",
        "555 0142",
        "demo-tidio-secret-not-real",
    ] {
        assert!(!text.contains(needle), "{needle} was logged");
    }
}

#[tokio::test]
async fn an_unreachable_aws_answers_503_so_the_platform_retries() {
    let (aws, intake, tenant) = setup().await;
    // The tenant is cached by the first delivery; the second finds DynamoDB and SQS gone.
    let first = payload("tidio-contact-created.json");
    assert_eq!(
        signed(&intake, &tenant, Platform::Tidio, &first)
            .await
            .status,
        202
    );
    aws.moto.stop().await;
    let second = payload("tidio-contact-updated.json");
    let reply = signed(&intake, &tenant, Platform::Tidio, &second).await;
    assert_eq!(reply.status, 503, "{}", reply.json);
    assert_eq!(reply.json["error"], "unavailable");
}

#[tokio::test]
async fn a_flood_on_one_tenant_is_held_to_its_rate_and_leaves_another_tenant_untouched() {
    let (aws, intake, demo) = setup().await;
    // One minute's window for the whole flood, wherever the wall clock stands.
    let intake = intake.with_rate_clock(|| time::macros::datetime!(2030-01-01 00:00:30 UTC));
    // GIVEN a second tenant that accepts 20 deliveries a minute (its URL leaked, say)
    let mut flooded = demo.clone();
    flooded.config.tenant_id = "flooded".into();
    flooded.config.webhooks.per_minute = 20;
    aws.store_tenant(&flooded).await;
    let body = |n: usize| {
        let mut v: serde_json::Value =
            serde_json::from_slice(&payload("tidio-contact-created.json")).unwrap();
        v["webhook_id"] = serde_json::json!(format!("flood-{n}"));
        serde_json::to_vec(&v).unwrap()
    };
    // WHEN 60 distinct deliveries hit it at once, while the demo tenant gets 10 of its own
    let (intake, flooded, demo, body) = (&intake, &flooded, &demo, &body);
    let flood = futures::future::join_all(
        (0..60)
            .map(move |n| async move { signed(intake, flooded, Platform::Tidio, &body(n)).await }),
    );
    let calm = futures::future::join_all(
        (100..110)
            .map(move |n| async move { signed(intake, demo, Platform::Tidio, &body(n)).await }),
    );
    let (flood, calm) = tokio::join!(flood, calm);

    // THEN the flooded tenant queues its minute's 20 and is told when to retry the rest
    let accepted = flood.iter().filter(|r| r.status == 202).count();
    let limited: Vec<&Reply> = flood.iter().filter(|r| r.status == 429).collect();
    assert_eq!(
        accepted,
        20,
        "{:?}",
        flood.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(limited.len(), 40);
    for r in &limited {
        assert_eq!(r.json["error"], "rate_limited");
        let retry: u32 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
    }
    // AND the other tenant is not held back at all
    assert!(
        calm.iter().all(|r| r.status == 202),
        "{:?}",
        calm.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    // AND only what was admitted reached the queue (nothing to spend Salesforce calls on)
    assert_eq!(aws.visible("ResolveQueue").await, 30);
    let claims = aws
        .dynamo()
        .scan()
        .table_name(aws.table("DeliveriesTable"))
        .send()
        .await
        .unwrap();
    let claimed = |tenant: &str| {
        claims
            .items()
            .iter()
            .filter(|i| i["pk"].as_s().unwrap().starts_with(&format!("{tenant}#")))
            .count()
    };
    assert_eq!((claimed("flooded"), claimed("demo")), (20, 10));
    aws.moto.stop().await;
}
