//! Salesforce API calls per chat event through the whole pipeline on the local stack (release
//! binaries under RIE, moto, the Salesforce emulator), counted by the emulator as Salesforce
//! counts them. Two runs: the scenario (one conversation of a new visitor) and a
//! replay of 50 conversations (half new visitors, half known), delivered interleaved.
//! `make bench` runs it; figures go to BENCHMARKS.md.

use chatsync_local::events::signed_request;
use chatsync_local::session::{Session, SessionOptions, read_tenant};
use chatsync_tests::scenario::{self, Delivery, Visitor};
use chatsync_tests::{machine, release_bin_dir, repo_root};
use serde_json::{Value, json};
use shared::platforms::Platform;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

const CONVERSATIONS: usize = 50;

#[tokio::main]
async fn main() {
    let bin_dir = release_bin_dir(&[
        "webhook-intake",
        "identity-resolver",
        "case-writer",
        "retry-drainer",
    ]);
    let root = repo_root();
    let session = Session::start(SessionOptions {
        template: root.join("template.yaml"),
        bin_dir: bin_dir.clone(),
        tenant_files: vec![root.join("events/tenants/demo.toml")],
        http_addr: "127.0.0.1:0".parse().expect("address"),
        moto_port: None,
        log_dir: std::env::temp_dir().join(format!("chatsync-bench-writer-{}", std::process::id())),
        schedule_every: None,
        retry_after: Some(Duration::from_secs(1)),
        extra_env: Vec::new(),
        salesforce_addr: Some("127.0.0.1:0".parse().expect("address")),
        salesforce_seed: Some(root.join("events/salesforce/demo-org.json")),
        chat_addr: Some("127.0.0.1:0".parse().expect("address")),
        chat_seed: Some(root.join("events/chat-platforms/demo.json")),
    })
    .await
    .expect("local stack starts");
    let sf = session.salesforce_url.clone().expect("emulator");
    let start = OffsetDateTime::now_utc().unix_timestamp() - 86_400;

    println!("{}", machine());
    println!("release binaries from {}", bin_dir.display());
    println!();
    println!(
        "| run | conversations | deliveries | chat events | Salesforce calls | calls per event | calls per conversation | by kind | drain (s) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---|---:|");

    // The scenario: one conversation, a new visitor.
    let one = scenario::intercom_conversation("9000", &visitor(0, "new"), start);
    measure(&session, &sf, "scenario (new visitor)", 1, &[one]).await;

    // Known visitors are seeded; new ones are created by the resolver.
    let known: Vec<Value> = (0..CONVERSATIONS / 2)
        .map(|i| {
            let v = visitor(i, "known");
            json!({"FirstName": "Ada", "LastName": format!("Known {i}"), "Email": v.email})
        })
        .collect();
    seed(&sf, json!({"Contact": known})).await;
    let conversations: Vec<Vec<Delivery>> = (0..CONVERSATIONS)
        .map(|i| {
            let kind = if i % 2 == 0 { "known" } else { "new" };
            scenario::intercom_conversation(
                &format!("9{i:03}1"),
                &visitor(i / 2, kind),
                start + 3600 + i as i64,
            )
        })
        .collect();
    measure(
        &session,
        &sf,
        "replay, 50 conversations (25 known, 25 new visitors)",
        CONVERSATIONS,
        &conversations,
    )
    .await;
    payload_sizes(&session).await;
    per_platform(&session, &sf).await;
    session.stop().await;
}

/// Each platform's sample deliveries (events/payloads, as the demo replays them): the
/// platform's own API calls (counted by the chat-platform emulator) and Salesforce's, per
/// conversation that landed as a Case.
async fn per_platform(session: &Session, sf: &str) {
    let chat = session.chat_url.clone().expect("chat emulator");
    let tenant = read_tenant(&repo_root().join("events/tenants/demo.toml")).expect("demo tenant");
    let client = reqwest::Client::new();
    println!();
    println!(
        "| platform (sample deliveries) | deliveries | chat events | conversations (Cases) | platform API calls | per conversation | Salesforce calls | per event |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(repo_root().join("events/payloads"))
        .expect("payloads")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for platform in Platform::ALL {
        let prefix = format!("{}-", platform.as_str());
        let bodies: Vec<Vec<u8>> = files
            .iter()
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix))
            })
            .map(|p| std::fs::read(p).expect("payload"))
            .collect();
        let chat_before = chat_calls(&chat, platform).await;
        let sf_before = stats(sf).await.0;
        let cases_before = cases_of(sf, platform).await;
        let (mut sent, mut events) = (0, 0);
        for body in &bodies {
            let (headers, path) =
                signed_request(platform, &tenant, body, OffsetDateTime::now_utc()).expect("signed");
            let mut req = client
                .post(format!("{}{}", session.intake_url(), path))
                .body(body.clone());
            for (k, v) in headers {
                req = req.header(k, v);
            }
            let resp = req.send().await.expect("intake answers");
            let answer: Value = resp.json().await.unwrap_or_default();
            events += answer["events"].as_u64().unwrap_or(0);
            sent += 1;
        }
        session
            .wait_idle(Duration::from_secs(600))
            .await
            .expect("the pipeline drains");
        let platform_calls = chat_calls(&chat, platform).await - chat_before;
        let sf_calls = stats(sf).await.0 - sf_before;
        let conversations = cases_of(sf, platform).await - cases_before;
        println!(
            "| {} | {sent} | {events} | {conversations} | {platform_calls} | {:.2} | {sf_calls} | {:.2} |",
            platform.display_name(),
            platform_calls as f64 / conversations.max(1) as f64,
            sf_calls as f64 / events.max(1) as f64,
        );
    }
}

/// Calls the chat-platform emulator has answered for `platform`.
async fn chat_calls(chat: &str, platform: Platform) -> u64 {
    let body: Value = reqwest::get(format!("{chat}/__emulator/stats"))
        .await
        .expect("chat stats")
        .json()
        .await
        .expect("chat stats JSON");
    body["calls"][platform.as_str()].as_u64().unwrap_or(0)
}

/// Cases of the demo tenant on `platform`.
async fn cases_of(sf: &str, platform: Platform) -> u64 {
    let cases: Vec<Value> = reqwest::get(format!("{sf}/__emulator/records/Case"))
        .await
        .expect("cases")
        .json()
        .await
        .expect("cases JSON");
    let prefix = format!("demo:{}:", platform.as_str());
    cases
        .iter()
        .filter(|c| {
            c["Chat_Conversation_Id__c"]
                .as_str()
                .is_some_and(|k| k.starts_with(&prefix))
        })
        .count() as u64
}

/// The sync log's payload documents both runs left (the demo tenant keeps them masked): how
/// many, and their size compressed as stored and as JSON.
async fn payload_sizes(session: &Session) {
    let client = aws_sdk_dynamodb::Client::new(&session.sdk);
    let table = session.table("SyncLogTable").expect("sync log table");
    let (mut stored, mut json) = (Vec::new(), Vec::new());
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .filter_expression("begins_with(pk, :p)")
            .expression_attribute_values(
                ":p",
                aws_sdk_dynamodb::types::AttributeValue::S(
                    shared::store::synclog::PAYLOAD_PREFIX.into(),
                ),
            )
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        for item in page.items() {
            let Some(bytes) = item.get("document").and_then(|v| v.as_b().ok()) else {
                continue;
            };
            stored.push(bytes.as_ref().len());
            let doc = shared::synclog::payload::unpack(bytes.as_ref()).expect("a document");
            json.push(doc.to_string().len());
        }
        match page.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => break,
        }
    }
    let mean = |v: &[usize]| v.iter().sum::<usize>() as f64 / v.len().max(1) as f64;
    println!();
    println!(
        "| payload documents | count | mean stored (bytes, gzip) | largest stored | mean JSON (bytes) | JSON / stored |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    println!(
        "| both runs, masked | {} | {:.0} | {} | {:.0} | {:.1} |",
        stored.len(),
        mean(&stored),
        stored.iter().max().copied().unwrap_or(0),
        mean(&json),
        mean(&json) / mean(&stored).max(1.0)
    );
}

fn visitor(i: usize, kind: &str) -> Visitor {
    Visitor {
        contact_id: format!("bench-{kind}-{i}"),
        name: format!("Ada {kind} {i}"),
        email: format!("ada.{kind}.{i}@example.org"),
    }
}

/// Delivers the conversations interleaved (every conversation's first step, then the second…),
/// waits for the pipeline to drain, and prints the calls the emulator counted meanwhile.
async fn measure(
    session: &Session,
    sf: &str,
    name: &str,
    conversations: usize,
    deliveries: &[Vec<Delivery>],
) {
    let tenant = read_tenant(&repo_root().join("events/tenants/demo.toml")).expect("demo tenant");
    let before = stats(sf).await;
    let client = reqwest::Client::new();
    let began = Instant::now();
    let (mut sent, mut events) = (0, 0);
    let steps = deliveries.iter().map(Vec::len).max().unwrap_or(0);
    for step in 0..steps {
        for conversation in deliveries {
            let Some(d) = conversation.get(step) else {
                continue;
            };
            let (headers, path) = signed_request(
                Platform::Intercom,
                &tenant,
                &d.body,
                OffsetDateTime::now_utc(),
            )
            .expect("signed");
            let mut req = client
                .post(format!("{}{}", session.intake_url(), path))
                .body(d.body.clone());
            for (k, v) in headers {
                req = req.header(k, v);
            }
            let resp = req.send().await.expect("intake answers");
            assert_eq!(resp.status().as_u16(), 202, "{}", d.step);
            let body: Value = resp.json().await.unwrap_or_default();
            events += body["events"].as_u64().unwrap_or(0);
            sent += 1;
        }
    }
    session
        .wait_idle(Duration::from_secs(600))
        .await
        .expect("the pipeline drains");
    let drained = began.elapsed();
    assert_eq!(session.host.invocation_errors(), 0, "no failed invocation");
    let after = stats(sf).await;
    let calls = after.0 - before.0;
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    for (kind, n) in &after.1 {
        let was = before.1.get(kind).copied().unwrap_or(0);
        if *n > was {
            kinds.insert(kind.clone(), n - was);
        }
    }
    let by_kind: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!(
        "| {name} | {conversations} | {sent} | {events} | {calls} | {:.2} | {:.1} | {} | {:.1} |",
        calls as f64 / events.max(1) as f64,
        calls as f64 / conversations.max(1) as f64,
        by_kind.join(", "),
        drained.as_secs_f64()
    );
}

/// The emulator's API call count, and calls by kind of request.
async fn stats(sf: &str) -> (u64, BTreeMap<String, u64>) {
    let body: Value = reqwest::get(format!("{sf}/__emulator/stats"))
        .await
        .expect("stats")
        .json()
        .await
        .expect("stats JSON");
    let mut kinds = BTreeMap::new();
    for r in body["requests"].as_array().into_iter().flatten() {
        let n = r["api_calls"].as_u64().unwrap_or(0);
        if n == 0 {
            continue;
        }
        let path = r["path"].as_str().unwrap_or_default();
        let kind = if path.contains("/composite") {
            "composite"
        } else if path.contains("/query") {
            "query"
        } else if path.contains("/sobjects/") {
            "sobject"
        } else {
            "other"
        };
        *kinds.entry(kind.to_owned()).or_default() += n;
    }
    (body["api_calls"].as_u64().unwrap_or(0), kinds)
}

async fn seed(sf: &str, body: Value) {
    let resp = reqwest::Client::new()
        .post(format!("{sf}/__emulator/seed"))
        .json(&body)
        .send()
        .await
        .expect("seed");
    assert!(resp.status().is_success(), "seed accepted");
}
