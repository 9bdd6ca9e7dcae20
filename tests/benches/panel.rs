//! The inbox panel on the local stack (release inbox-app under RIE, moto, the Salesforce
//! emulator): a signed Canvas Kit request's round trip, uncached (Refresh: the cache dropped and
//! Salesforce read) and cached (initialize within the minute), and the Salesforce calls each
//! costs. `make bench` runs it; figures go to BENCHMARKS.md.

use chatsync_local::session::{Session, SessionOptions};
use chatsync_tests::{e2e, machine, release_bin_dir, repo_root};
use serde_json::{Value, json};
use shared::event::resolution::{Person, PersonKind};
use shared::platforms::Platform;
use shared::platforms::intercom::canvas;
use shared::store::links::{LinkKey, Links};
use std::time::{Duration, Instant};

const VIEWS: usize = 100;
const CONTACT: &str = "66a1f0c2e4b0a1b2c3d4e5f6";

#[tokio::main]
async fn main() {
    let bin_dir = release_bin_dir(&["inbox-app"]);
    let root = repo_root();
    let session = Session::start(SessionOptions {
        template: root.join("template.yaml"),
        bin_dir: bin_dir.clone(),
        tenant_files: vec![root.join("events/tenants/demo.toml")],
        http_addr: "127.0.0.1:0".parse().expect("address"),
        moto_port: None,
        log_dir: std::env::temp_dir().join(format!("chatsync-bench-panel-{}", std::process::id())),
        schedule_every: None,
        retry_after: None,
        extra_env: Vec::new(),
        salesforce_addr: Some("127.0.0.1:0".parse().expect("address")),
        salesforce_seed: Some(root.join("events/salesforce/demo-org.json")),
        chat_addr: Some("127.0.0.1:0".parse().expect("address")),
        chat_seed: Some(root.join("events/chat-platforms/demo.json")),
    })
    .await
    .expect("local stack starts");
    let contact = seed(&session).await;
    Links::new(
        aws_sdk_dynamodb::Client::new(&session.sdk),
        session.table("LinksTable").expect("links table"),
    )
    .put(
        "demo",
        &[LinkKey::PlatformContact {
            platform: Platform::Intercom,
            contact_id: CONTACT.into(),
        }],
        &Person {
            kind: PersonKind::Contact,
            id: contact,
            account_id: None,
        },
        30,
        time::OffsetDateTime::now_utc(),
    )
    .await
    .expect("linked");
    let secret = e2e::demo_tenant().secrets.webhooks.intercom_client_secret[0]
        .expose()
        .to_owned();
    let url = |action: &str| format!("{}/inbox/intercom/demo/{action}", session.intake_url());
    let http = reqwest::Client::new();
    let sf = session.salesforce_url.clone().expect("emulator");

    println!("{}", machine());
    println!("release binaries from {}", bin_dir.display());
    println!();
    println!("| view | requests | p50 (ms) | p99 (ms) | Salesforce calls per view |");
    println!("|---|---:|---:|---:|---:|");
    // The first request also starts the function: not counted.
    let warm = body(None);
    send(&http, &url("initialize"), &warm, &secret).await;
    for (label, action, component) in [
        (
            "uncached (Refresh: the cache dropped, one composite call)",
            "submit",
            Some(canvas::REFRESH),
        ),
        ("cached (initialize within the minute)", "initialize", None),
    ] {
        let payload = body(component);
        let calls = api_calls(&sf).await;
        let mut took = Vec::with_capacity(VIEWS);
        for _ in 0..VIEWS {
            let started = Instant::now();
            send(&http, &url(action), &payload, &secret).await;
            took.push(started.elapsed());
        }
        let per_view = (api_calls(&sf).await - calls) as f64 / VIEWS as f64;
        took.sort();
        let at =
            |q: f64| took[((took.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0;
        println!(
            "| {label} | {VIEWS} | {:.1} | {:.1} | {per_view:.2} |",
            at(0.5),
            at(0.99)
        );
    }
    session.stop().await;
}

/// An Account with two open Opportunities and a Contact with an open Case; the Contact's id.
async fn seed(session: &Session) -> String {
    let account = e2e::seed(
        session,
        json!({"Account": [{"Name": "Analytical Engines"}]}),
    )
    .await["Account"][0]
        .as_str()
        .expect("account")
        .to_owned();
    let contact = e2e::seed(
        session,
        json!({"Contact": [{"LastName": "Lovelace", "FirstName": "Ada", "AccountId": account,
            "Email": "ada@engines.example"}],
            "Opportunity": [
                {"Name": "One", "StageName": "Prospecting", "CloseDate": "2027-01-01", "AccountId": account},
                {"Name": "Two", "StageName": "Qualification", "CloseDate": "2027-02-01", "AccountId": account}]}),
    )
    .await["Contact"][0]
        .as_str()
        .expect("contact")
        .to_owned();
    e2e::seed(
        session,
        json!({"Case": [{"Subject": "Jammed", "Status": "New", "ContactId": contact}]}),
    )
    .await;
    contact
}

fn body(component: Option<&str>) -> Vec<u8> {
    let mut body = json!({"workspace_id": "ecahpwf5",
        "admin": {"id": "5017691", "email": "grace.hopper@example.com"},
        "context": {"location": "conversation"}, "conversation": {"id": "5142"},
        "contact": {"id": CONTACT}});
    if let Some(id) = component {
        body["component_id"] = json!(id);
        body["input_values"] = json!({});
    }
    serde_json::to_vec(&body).expect("JSON")
}

async fn send(http: &reqwest::Client, url: &str, body: &[u8], secret: &str) {
    let resp = http
        .post(url)
        .header("X-Body-Signature", canvas::sign(secret, body))
        .body(body.to_vec())
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("the panel answers");
    assert_eq!(resp.status().as_u16(), 200, "the panel answers 200");
    let canvas: Value = resp.json().await.expect("a canvas");
    assert_eq!(
        canvas["canvas"]["content"]["components"][0]["text"], "**Ada Lovelace**",
        "the panel shows the Contact: {canvas}"
    );
}

async fn api_calls(sf: &str) -> u64 {
    let stats: Value = reqwest::get(format!("{sf}/__emulator/stats"))
        .await
        .expect("stats")
        .json()
        .await
        .expect("stats JSON");
    stats["api_calls"].as_u64().unwrap_or(0)
}
