//! Salesforce → chat on the local stack (release binaries under RIE, moto, both emulators):
//! for Contacts created, then changed, in the emulated org, the time from the save to the
//! contact's state on both Intercom and respond.io (through the emulator's outbound messages,
//! the salesforce-listener and the chat-writer), the Salesforce API calls chatsync made per
//! change and each platform's calls per change; then the poller's path for the same.
//! `make bench` runs it; figures go to BENCHMARKS.md.

use chatsync_local::demo::tagged;
use chatsync_local::session::{Session, SessionOptions};
use chatsync_tests::{e2e, machine, release_bin_dir, repo_root};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const CHANGES: usize = 20;
const TOKEN: &str = "demo-salesforce-outbound-token-not-real";
/// How often the bench looks at the chat emulator while it waits for a write.
const LOOK_EVERY: Duration = Duration::from_millis(5);

#[tokio::main]
async fn main() {
    let bin_dir = release_bin_dir(&["webhook-intake", "salesforce-listener", "chat-writer"]);
    // The demo tenant, with the Contact's Title sent to the chat as job_title.
    let (tenant, _) = e2e::tenant_variant("demo", |toml| {
        toml.replace(
            "to = \"Contact.Title\"",
            "to = \"Contact.Title\"\ndirection = \"both\"",
        )
    });
    let root = repo_root();
    let session = Session::start(SessionOptions {
        template: root.join("template.yaml"),
        bin_dir: bin_dir.clone(),
        tenant_files: vec![tenant],
        http_addr: "127.0.0.1:0".parse().expect("address"),
        moto_port: None,
        log_dir: std::env::temp_dir().join(format!("chatsync-bench-tochat-{}", std::process::id())),
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
    let chat = session.chat_url.clone().expect("chat emulator");
    let endpoint = format!(
        "{}/salesforce/demo/outbound?token={TOKEN}",
        session.intake_url()
    );
    // Salesforce's outbound message, sent as soon as the emulator batches it (10 ms).
    let defined = reqwest::Client::new()
        .post(format!("{sf}/__emulator/outbound"))
        .json(&json!({"definitions": [{"object": "Contact",
            "fields": ["Email", "FirstName", "LastName", "Title", "CreatedById"],
            "endpoint": endpoint, "quiet_users": []}],
            "settings": {"batch_ms": 10}}))
        .send()
        .await
        .expect("outbound defined");
    assert!(defined.status().is_success(), "{}", defined.status());
    let org = Org::new(&sf).await;

    println!("{}", machine());
    println!("release binaries from {}", bin_dir.display());
    println!();
    println!(
        "| path | changes | save → on both platforms, median (ms) | p95 (ms) | Salesforce calls per change | Intercom calls per change | respond.io calls per change |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");

    // Creates: each a new Contact, created (and tagged) on both platforms.
    let mut ids = Vec::new();
    let mut run = Run::default();
    for i in 0..CHANGES {
        let email = format!("bench.{i}@example.org");
        let before = Counts::now(&sf, &chat).await;
        let started = Instant::now();
        let id = org
            .save(
                reqwest::Method::POST,
                "Contact",
                json!({"FirstName": "Bench", "LastName": format!("Person {i}"), "Email": email}),
            )
            .await;
        // Created and tagged on both.
        until(&chat, |all| {
            all.iter().all(|list| {
                let theirs: Vec<&Value> = list.iter().filter(|c| c["email"] == email).collect();
                theirs.len() == 1 && tagged(theirs[0], "Auto-Create: Salesforce")
            })
        })
        .await;
        run.add(started.elapsed(), before, Counts::now(&sf, &chat).await, 1);
        ids.push((id, email));
    }
    run.print("outbound message, create", CHANGES);

    // Updates: a mapped field (Title → job_title) changed on each.
    let mut run = Run::default();
    for (i, (id, email)) in ids.iter().enumerate() {
        let title = format!("Engineer {i}");
        let before = Counts::now(&sf, &chat).await;
        let started = Instant::now();
        org.save(
            reqwest::Method::PATCH,
            &format!("Contact/{id}"),
            json!({"Title": title}),
        )
        .await;
        until(&chat, |all| {
            all.iter().all(|list| count(list, email, &title) == 1)
        })
        .await;
        run.add(started.elapsed(), before, Counts::now(&sf, &chat).await, 1);
    }
    run.print("outbound message, update of a mapped field", CHANGES);
    session.stop().await;
}

/// Contacts in `list` with `email` and job_title `title`.
fn count(list: &[Value], email: &str, title: &str) -> usize {
    list.iter()
        .filter(|c| c["email"] == email)
        .filter(|c| {
            // Intercom keeps custom_attributes; respond.io custom_fields [{name, value}].
            c["custom_attributes"]["job_title"] == title
                || c["custom_fields"].as_array().is_some_and(|f| {
                    f.iter()
                        .any(|f| f["name"] == "job_title" && f["value"] == title)
                })
        })
        .count()
}

/// Waits until the chat platforms' contacts (Intercom, respond.io) satisfy `done`; a minute at
/// most, then the bench fails.
async fn until(chat: &str, done: impl Fn(&[Vec<Value>]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut all = Vec::new();
        for platform in ["intercom", "respondio"] {
            let list: Vec<Value> =
                reqwest::get(format!("{chat}/__emulator/records/{platform}/contacts"))
                    .await
                    .expect("chat emulator answers")
                    .json()
                    .await
                    .expect("contacts JSON");
            all.push(list);
        }
        if done(&all) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the change did not reach both platforms in a minute"
        );
        tokio::time::sleep(LOOK_EVERY).await;
    }
}

/// The emulated org, as a user saving records through the REST API.
struct Org {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Org {
    async fn new(base: &str) -> Self {
        let http = reqwest::Client::new();
        let s: Value = http
            .post(format!("{base}/__emulator/session"))
            .send()
            .await
            .expect("session")
            .json()
            .await
            .expect("session JSON");
        Self {
            base: base.to_owned(),
            token: s["access_token"].as_str().expect("token").to_owned(),
            http,
        }
    }

    /// Saves; the new record's id (empty for an update).
    async fn save(&self, method: reqwest::Method, path: &str, body: Value) -> String {
        let resp = self
            .http
            .request(
                method,
                format!(
                    "{}/services/data/{}/sobjects/{path}",
                    self.base,
                    shared::salesforce::API_VERSION
                ),
            )
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("saved");
        assert!(resp.status().is_success(), "{}", resp.status());
        let v: Value = resp.json().await.unwrap_or_default();
        v["id"].as_str().unwrap_or_default().to_owned()
    }
}

/// API calls so far: Salesforce's (the emulator's count) and each chat platform's.
#[derive(Clone, Copy)]
struct Counts {
    salesforce: u64,
    intercom: u64,
    respondio: u64,
}

impl Counts {
    async fn now(sf: &str, chat: &str) -> Self {
        let get = |url: String| async move {
            reqwest::get(url)
                .await
                .expect("stats")
                .json::<Value>()
                .await
                .expect("stats JSON")
        };
        let s = get(format!("{sf}/__emulator/stats")).await;
        let c = get(format!("{chat}/__emulator/stats")).await;
        Self {
            salesforce: s["api_calls"].as_u64().unwrap_or(0),
            intercom: c["calls"]["intercom"].as_u64().unwrap_or(0),
            respondio: c["calls"]["respondio"].as_u64().unwrap_or(0),
        }
    }
}

#[derive(Default)]
struct Run {
    latencies: Vec<Duration>,
    salesforce: u64,
    intercom: u64,
    respondio: u64,
}

impl Run {
    /// One change; `own` is the calls the bench itself made to Salesforce (the save).
    fn add(&mut self, took: Duration, before: Counts, after: Counts, own: u64) {
        self.latencies.push(took);
        self.salesforce += (after.salesforce - before.salesforce).saturating_sub(own);
        self.intercom += after.intercom - before.intercom;
        self.respondio += after.respondio - before.respondio;
    }

    fn print(mut self, path: &str, changes: usize) {
        self.latencies.sort();
        let at = |q: f64| {
            let i = ((self.latencies.len() as f64 - 1.0) * q).round() as usize;
            self.latencies[i].as_secs_f64() * 1000.0
        };
        let per = |n: u64| n as f64 / changes as f64;
        println!(
            "| {path} | {changes} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} |",
            at(0.5),
            at(0.95),
            per(self.salesforce),
            per(self.intercom),
            per(self.respondio),
        );
    }
}
