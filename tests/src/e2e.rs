//! The whole local deployment for end-to-end suites: moto, the real binaries under RIE, the
//! Salesforce emulator seeded with the demo org, and helpers to post signed deliveries and read
//! what landed in Salesforce.

use crate::scenario::Delivery;
use crate::{bin_dir, repo_root};
use chatsync_local::events::signed_request;
use chatsync_local::session::{Session, SessionOptions, read_tenant};
use serde_json::Value;
use shared::platforms::Platform;
use shared::tenant::TenantFile;
use std::path::PathBuf;
use std::time::Duration;
use time::OffsetDateTime;

/// Starts the stack with the demo tenant plus `tenant_files`; failed messages return after a
/// second instead of the queue's visibility timeout.
pub async fn start(tenant_files: Vec<PathBuf>, extra_env: Vec<(String, String)>) -> Session {
    start_with(tenant_files, extra_env, Some(Duration::from_secs(1))).await
}

/// [`start`] with the host's early return of failed messages set (None: the consumers' own
/// retry policy decides when a failed message comes back).
pub async fn start_with(
    tenant_files: Vec<PathBuf>,
    extra_env: Vec<(String, String)>,
    retry_after: Option<Duration>,
) -> Session {
    let root = repo_root();
    let logs = std::env::temp_dir().join(format!("chatsync-e2e-{}", uuid::Uuid::new_v4()));
    let mut tenants = vec![root.join("events/tenants/demo.toml")];
    tenants.extend(tenant_files);
    Session::start(SessionOptions {
        template: root.join("template.yaml"),
        bin_dir: bin_dir(),
        tenant_files: tenants,
        http_addr: "127.0.0.1:0".parse().expect("address"),
        moto_port: None,
        log_dir: logs,
        schedule_every: None,
        retry_after,
        extra_env,
        salesforce_addr: Some("127.0.0.1:0".parse().expect("address")),
        salesforce_seed: Some(root.join("events/salesforce/demo-org.json")),
        chat_addr: Some("127.0.0.1:0".parse().expect("address")),
        chat_seed: Some(root.join("events/chat-platforms/demo.json")),
    })
    .await
    .expect("local stack and host start")
}

/// The demo tenant file.
pub fn demo_tenant() -> TenantFile {
    read_tenant(&repo_root().join("events/tenants/demo.toml")).expect("demo tenant")
}

/// A copy of the demo tenant under another id, its TOML changed by `edit`, written to a temp
/// file (for `start`) and parsed (for signing).
pub fn tenant_variant(tenant_id: &str, edit: impl Fn(String) -> String) -> (PathBuf, TenantFile) {
    let text =
        std::fs::read_to_string(repo_root().join("events/tenants/demo.toml")).expect("demo tenant");
    let text = edit(text.replace(
        "tenant_id = \"demo\"",
        &format!("tenant_id = \"{tenant_id}\""),
    ));
    let path = std::env::temp_dir().join(format!(
        "chatsync-{tenant_id}-{}.toml",
        uuid::Uuid::new_v4()
    ));
    std::fs::write(&path, &text).expect("temp tenant file");
    let file = TenantFile::from_toml(&text).expect("tenant variant parses");
    (path, file)
}

/// Posts one Intercom delivery signed for `tenant`; the HTTP status.
pub async fn post(session: &Session, tenant: &TenantFile, body: &[u8]) -> u16 {
    post_answer(session, tenant, body).await.0
}

/// [`post`], with the intake's JSON answer (`events` is how many events it queued).
pub async fn post_answer(session: &Session, tenant: &TenantFile, body: &[u8]) -> (u16, Value) {
    post_from(session, tenant, Platform::Intercom, body).await
}

/// Posts one delivery signed as `platform` signs it for `tenant`; the status and JSON answer.
pub async fn post_from(
    session: &Session,
    tenant: &TenantFile,
    platform: Platform,
    body: &[u8],
) -> (u16, Value) {
    let (headers, path) =
        signed_request(platform, tenant, body, OffsetDateTime::now_utc()).expect("signed");
    let mut req = reqwest::Client::new()
        .post(format!("{}{}", session.intake_url(), path))
        .body(body.to_vec());
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let resp = req.send().await.expect("intake answers");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Posts each delivery; each must be accepted (202) or a duplicate (200).
pub async fn deliver(session: &Session, tenant: &TenantFile, deliveries: &[Delivery]) {
    for d in deliveries {
        let status = post(session, tenant, &d.body).await;
        assert!(status == 202 || status == 200, "{}: {status}", d.step);
    }
}

/// Waits until every queue is empty and nothing is in flight.
pub async fn drain(session: &Session) {
    session
        .wait_idle(Duration::from_secs(120))
        .await
        .expect("the pipeline drains");
}

fn emulator(session: &Session) -> &str {
    session
        .salesforce_url
        .as_deref()
        .expect("the emulator runs")
}

/// Every record of `sobject` in the emulator, as the REST API shows them.
pub async fn records(session: &Session, sobject: &str) -> Vec<Value> {
    reqwest::get(format!(
        "{}/__emulator/records/{sobject}",
        emulator(session)
    ))
    .await
    .expect("emulator answers")
    .json()
    .await
    .expect("records JSON")
}

/// Seeds records (`{"Contact": [{…}]}`); the ids, in order, per object.
pub async fn seed(session: &Session, body: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{}/__emulator/seed", emulator(session)))
        .json(&body)
        .send()
        .await
        .expect("seed")
        .json()
        .await
        .expect("seed JSON")
}

/// Changes a record as a Salesforce user would (through the REST API).
pub async fn update_as_user(session: &Session, sobject: &str, id: &str, fields: Value) {
    let (status, _) = save_as_user(
        session,
        reqwest::Method::PATCH,
        &format!("{sobject}/{id}"),
        fields,
    )
    .await;
    assert_eq!(status, 204, "the user's update is taken");
}

/// Sends `fields` to `sobjects/{path}` with `method` as the emulator's session user, as a
/// Salesforce user saves a record; the status and the answer (null when empty).
pub async fn save_as_user(
    session: &Session,
    method: reqwest::Method,
    path: &str,
    fields: Value,
) -> (u16, Value) {
    let http = reqwest::Client::new();
    let s: Value = http
        .post(format!("{}/__emulator/session", emulator(session)))
        .send()
        .await
        .expect("session")
        .json()
        .await
        .expect("session JSON");
    let token = s["access_token"].as_str().expect("access_token");
    let instance = s["instance_url"].as_str().unwrap_or(emulator(session));
    let resp = http
        .request(
            method,
            format!(
                "{instance}/services/data/{}/sobjects/{path}",
                shared::salesforce::API_VERSION
            ),
        )
        .bearer_auth(token)
        .json(&fields)
        .send()
        .await
        .expect("saved");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Runs the `chatsync` CLI against the stack (its tables and queues from the template); the
/// exit code, and stdout and stderr together.
pub async fn cli(session: &Session, args: &[&str]) -> (Option<i32>, String) {
    let env = |binary: &str, name: &str| -> String {
        session
            .plan
            .function(binary)
            .and_then(|f| f.env.get(name).cloned())
            .unwrap_or_default()
    };
    let out = tokio::process::Command::new(bin_dir().join("chatsync"))
        .args(args)
        .envs(session.moto.env())
        .env("TENANTS_TABLE", env("identity-resolver", "TENANTS_TABLE"))
        .env("SYNC_LOG_TABLE", env("identity-resolver", "SYNC_LOG_TABLE"))
        .env(
            "TENANT_SECRET_PREFIX",
            env("identity-resolver", "TENANT_SECRET_PREFIX"),
        )
        .env("LINKS_TABLE", env("identity-resolver", "LINKS_TABLE"))
        .env(
            "RESOLVE_QUEUE_URL",
            env("identity-resolver", "RESOLVE_QUEUE_URL"),
        )
        .env(
            "WRITE_QUEUE_URL",
            env("identity-resolver", "WRITE_QUEUE_URL"),
        )
        .env("EVENT_KEY_ARN", env("identity-resolver", "EVENT_KEY_ARN"))
        .output()
        .await
        .expect("chatsync runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}
