//! End to end: the real function binaries under RIE, wired by the local host from the
//! template, on moto. Webhooks go in over HTTP and travel through both queues.

use chatsync_local::events::signed_request;
use chatsync_local::session::{Session, SessionOptions};
use chatsync_tests::{SAMPLE_DELIVERIES, bin_dir, eventually, repo_root};
use shared::platforms::Platform;
use shared::store::synclog::SyncLogTable;
use shared::synclog::Step;
use std::time::Duration;
use time::OffsetDateTime;

async fn start() -> Session {
    let root = repo_root();
    let logs = std::env::temp_dir().join(format!("chatsync-e2e-{}", std::process::id()));
    Session::start(SessionOptions {
        template: root.join("template.yaml"),
        bin_dir: bin_dir(),
        tenant_files: vec![root.join("events/tenants/demo.toml")],
        http_addr: "127.0.0.1:0".parse().unwrap(),
        moto_port: None,
        log_dir: logs,
        schedule_every: None,
        retry_after: None,
        extra_env: Vec::new(),
        salesforce_addr: Some("127.0.0.1:0".parse().unwrap()),
        salesforce_seed: Some(root.join("events/salesforce/demo-org.json")),
        chat_addr: Some("127.0.0.1:0".parse().expect("address")),
        chat_seed: Some(root.join("events/chat-platforms/demo.json")),
    })
    .await
    .expect("local stack and host start")
}

async fn post(session: &Session, platform: Platform, file: &str) -> (u16, serde_json::Value) {
    let tenant =
        chatsync_local::session::read_tenant(&repo_root().join("events/tenants/demo.toml"))
            .unwrap();
    let body = std::fs::read(repo_root().join("events/payloads").join(file)).unwrap();
    let (headers, path) =
        signed_request(platform, &tenant, &body, OffsetDateTime::now_utc()).unwrap();
    let mut req = reqwest::Client::new()
        .post(format!("{}{}", session.intake_url(), path))
        .body(body);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

/// Waits until `times` entries of `step` are in the trail (one per event of the delivery).
async fn wait_for_step(log: &SyncLogTable, correlation_id: &str, step: Step, times: usize) {
    eventually(
        Duration::from_secs(60),
        &format!("{correlation_id} to reach {step:?} {times} times"),
        || async {
            let trail = log.trail(correlation_id).await.ok()?;
            (trail.iter().filter(|e| e.step == step).count() >= times).then_some(())
        },
    )
    .await
}

#[tokio::test]
async fn webhooks_travel_through_intake_queues_and_functions() {
    let session = start().await;
    let log = SyncLogTable::new(
        aws_sdk_dynamodb::Client::new(&session.sdk),
        session.table("SyncLogTable").unwrap(),
    );
    let mut ids = Vec::new();
    for (platform, file) in SAMPLE_DELIVERIES {
        let (status, json) = post(&session, platform, file).await;
        assert_eq!(status, 202, "{file}: {json}");
        let events = json["events"].as_u64().unwrap() as usize;
        assert!(events >= 1, "{file}: {json}");
        ids.push((json["correlation_id"].as_str().unwrap().to_owned(), events));
        // Delivered three times, taken once.
        for _ in 0..2 {
            assert_eq!(post(&session, platform, file).await.0, 200);
        }
    }
    for (id, events) in &ids {
        wait_for_step(&log, id, Step::Write, *events).await;
        let steps: Vec<Step> = log
            .trail(id)
            .await
            .unwrap()
            .iter()
            .map(|e| e.step)
            .collect();
        // Intake once for the delivery, then each of its events resolved and written once.
        assert_eq!(steps.first(), Some(&Step::Intake), "{id}: {steps:?}");
        let count = |step| steps.iter().filter(|s| **s == step).count();
        assert_eq!(count(Step::Intake), 1, "{id}: {steps:?}");
        assert_eq!(count(Step::Resolve), *events, "{id}: {steps:?}");
        assert_eq!(count(Step::Write), *events, "{id}: {steps:?}");
    }
    session.wait_idle(Duration::from_secs(60)).await.unwrap();
    assert_eq!(session.host.invocation_errors(), 0);
    for f in session
        .host
        .functions()
        // The chat → Salesforce functions; the drainer and the Salesforce → chat ones have no
        // work in this pipeline.
        .filter(|f| {
            ["webhook-intake", "identity-resolver", "case-writer"].contains(&f.name.as_str())
        })
    {
        assert!(
            !f.cold_starts().is_empty(),
            "RIE reported the cold start of {}",
            f.name
        );
    }
    session.stop().await;
}

#[tokio::test]
async fn a_crashed_function_is_restarted_and_nothing_is_lost() {
    let session = start().await;
    let log = SyncLogTable::new(
        aws_sdk_dynamodb::Client::new(&session.sdk),
        session.table("SyncLogTable").unwrap(),
    );
    let resolver = session.host.function("identity-resolver").unwrap();
    let before = resolver.cold_starts().len();
    resolver.restart().await.unwrap();
    let (status, json) = post(
        &session,
        Platform::Intercom,
        "intercom-conversation-user-created.json",
    )
    .await;
    assert_eq!(status, 202);
    wait_for_step(
        &log,
        json["correlation_id"].as_str().unwrap(),
        Step::Write,
        1,
    )
    .await;
    assert!(
        resolver.cold_starts().len() > before,
        "the restart was a fresh process"
    );
    session.stop().await;
}

#[tokio::test]
async fn the_host_answers_like_an_http_api_and_applies_batch_item_failures() {
    let session = start().await;
    let http = reqwest::Client::new();
    let missing = http
        .post(format!("{}/nowhere", session.intake_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.text().await.unwrap(), r#"{"message":"Not Found"}"#);
    let head = http
        .head(format!("{}/webhooks/intercom/demo", session.intake_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);

    // An unreadable message on resolve.fifo fails alone: reported, left in flight, not deleted.
    let sqs = aws_sdk_sqs::Client::new(&session.sdk);
    let url = session.plan.queue("ResolveQueue").unwrap().url.clone();
    sqs.send_message()
        .queue_url(&url)
        .message_group_id("demo:intercom:broken")
        .message_deduplication_id("broken-1")
        .message_body("not a delivery")
        .send()
        .await
        .unwrap();
    let (status, json) = post(&session, Platform::Tidio, "tidio-contact-created.json").await;
    assert_eq!(status, 202);
    let log = SyncLogTable::new(
        aws_sdk_dynamodb::Client::new(&session.sdk),
        session.table("SyncLogTable").unwrap(),
    );
    wait_for_step(
        &log,
        json["correlation_id"].as_str().unwrap(),
        Step::Write,
        1,
    )
    .await;
    let in_flight = eventually(
        Duration::from_secs(30),
        "the failed message to stay in flight",
        || async {
            let attrs = sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(
                    aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
                )
                .send()
                .await
                .ok()?;
            let n: usize = attrs.attributes()?
                [&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible]
                .parse()
                .ok()?;
            (n == 1).then_some(n)
        },
    )
    .await;
    assert_eq!(in_flight, 1);
    session.stop().await;
}

#[tokio::test]
async fn the_operator_cli_signs_and_sends_payloads_as_the_platform_would() {
    let session = start().await;
    let root = repo_root();
    let secret_name = session.tenants().1.legacy_secret_name("demo");
    let prefix = secret_name.strip_suffix("demo").unwrap().to_owned();
    // Awaited, not blocking: the host serving the intake runs on this test's runtime.
    let cli = async |args: &[&str]| {
        let out = tokio::process::Command::new(bin_dir().join("chatsync"))
            .args(args)
            .args(["--url", &session.intake_url()])
            .envs(session.moto.env())
            .env("TENANT_SECRET_PREFIX", &prefix)
            .output()
            .await
            .expect("chatsync runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let payload = |name: &str| root.join("events/payloads").join(name);
    // The secret from the tenant's secret in Secrets Manager (moto), a header signature.
    let (code, out) = cli(&[
        "send",
        "tidio",
        "demo",
        payload("tidio-contact-created.json").to_str().unwrap(),
    ])
    .await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("202 "), "{out}");
    // The secret from a tenant file, a URL token.
    let tenant_file = root.join("events/tenants/demo.toml");
    let (code, out) = cli(&[
        "send",
        "cloudcx",
        "demo",
        payload("cloudcx-ticket-created.json").to_str().unwrap(),
        "--tenant-file",
        tenant_file.to_str().unwrap(),
    ])
    .await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("202 "), "{out}");
    // A usage error and an intake's refusal are distinct failing exit codes scripts can trust.
    let (code, out) = cli(&[
        "send",
        "intercom",
        "nobody",
        payload("intercom-ping.json").to_str().unwrap(),
        "--tenant-file",
        tenant_file.to_str().unwrap(),
    ])
    .await;
    assert_eq!(code, Some(2), "{out}");
    let forged = std::env::temp_dir().join(format!("chatsync-forged-{}.toml", std::process::id()));
    let text = std::fs::read_to_string(&tenant_file).unwrap();
    let tenant = chatsync_local::session::read_tenant(&tenant_file).unwrap();
    let secret = tenant.secrets.webhooks.for_platform(Platform::Intercom)[0]
        .expose()
        .to_owned();
    std::fs::write(&forged, text.replace(&secret, "not-the-secret")).unwrap();
    let (code, out) = cli(&[
        "send",
        "intercom",
        "demo",
        payload("intercom-conversation-user-created.json")
            .to_str()
            .unwrap(),
        "--tenant-file",
        forged.to_str().unwrap(),
    ])
    .await;
    assert_eq!(code, Some(1), "{out}");
    assert!(out.starts_with("401 "), "{out}");
    std::fs::remove_file(&forged).ok();
    session.stop().await;
}
