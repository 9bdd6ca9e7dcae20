//! Test harness for the integration and end-to-end suites: each suite starts its own moto
//! server (and, for end-to-end runs, the function host) and stops it when done.

pub mod at_rest;
pub mod e2e;
pub mod scenario;

use chatsync_local::procs::{Moto, sdk_config};
use chatsync_local::stack::{self, Plan, Settings};
use chatsync_local::template::Template;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// Where `cargo build --workspace --bins` put the function binaries (`make test` builds them).
pub fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CHATSYNC_BIN_DIR") {
        return PathBuf::from(dir);
    }
    // Test executables live in <target>/debug/deps.
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(PathBuf::from)
        .unwrap_or_default();
    for binary in [
        "webhook-intake",
        "identity-resolver",
        "case-writer",
        "retry-drainer",
        "salesforce-listener",
        "chat-writer",
        "salesforce-poller",
    ] {
        assert!(
            dir.join(binary).exists(),
            "{} is not built in {}: run `make test` (or `cargo build --workspace --bins` first)",
            binary,
            dir.display()
        );
    }
    dir
}

/// The sample deliveries in events/payloads, one per platform (the ping is not a delivery).
pub const SAMPLE_DELIVERIES: [(shared::platforms::Platform, &str); 4] = [
    (
        shared::platforms::Platform::Intercom,
        "intercom-conversation-user-created.json",
    ),
    (
        shared::platforms::Platform::Tidio,
        "tidio-contact-created.json",
    ),
    (
        shared::platforms::Platform::RespondIo,
        "respondio-message-received.json",
    ),
    (
        shared::platforms::Platform::CloudCx,
        "cloudcx-ticket-created.json",
    ),
];

/// moto with the template's resources created in it, IAM enforced: `sdk` signs as the
/// operator, [`LocalAws::role`] as a function's role (what an in-process handler must use).
pub struct LocalAws {
    pub moto: Moto,
    pub plan: Plan,
    pub sdk: aws_config::SdkConfig,
    roles: BTreeMap<String, aws_config::SdkConfig>,
    /// Each function's role session, by binary (for a function host on this stack).
    pub role_sessions: BTreeMap<String, chatsync_local::iam::Credentials>,
    /// The chat-platform emulator the functions' platform API bases point at (seeded with
    /// events/chat-platforms/demo.json).
    pub chat_url: String,
}

impl LocalAws {
    pub async fn start() -> LocalAws {
        Self::start_with_template(&repo_root().join("template.yaml")).await
    }

    /// As [`LocalAws::start`], from another template (e.g. one with a permission removed).
    pub async fn start_with_template(path: &std::path::Path) -> LocalAws {
        let moto = Moto::start(None).await.expect("moto server starts");
        let template = Template::load(path).expect("template loads");
        let mut plan =
            stack::plan(&template, &Settings::local(&moto.endpoint())).expect("template plans");
        // The platforms' APIs are the chat-platform emulator's, as on the local stack: no
        // function here ever calls a vendor.
        let chat = chat_emulator::Emulator::default();
        let seed = std::fs::read_to_string(repo_root().join("events/chat-platforms/demo.json"))
            .expect("the demo chat-platform seed");
        chat.seed(&serde_json::from_str(&seed).expect("seed is JSON"))
            .expect("seed loads");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind chat emulator");
        let chat_url = chat_emulator::spawn(listener, chat).expect("chat emulator serves");
        for f in &mut plan.functions {
            f.env
                .insert("INTERCOM_API_URL".into(), format!("{chat_url}/intercom"));
            f.env.insert(
                "RESPONDIO_API_URL".into(),
                format!("{chat_url}/respondio/v2"),
            );
            f.env
                .insert("TIDIO_API_URL".into(), format!("{chat_url}/tidio"));
        }
        let sdk = moto.sdk().await;
        stack::create(&plan, &sdk)
            .await
            .expect("stack is created in moto");
        let policies =
            chatsync_local::iam::expand(path).expect("SAM expands the template's policies");
        let role_sessions = chatsync_local::iam::function_roles(&policies, &plan, &sdk)
            .await
            .expect("each function's role is created");
        let mut roles = BTreeMap::new();
        for (binary, credentials) in &role_sessions {
            roles.insert(
                binary.clone(),
                sdk_config(&moto.endpoint(), credentials).await,
            );
        }
        LocalAws {
            moto,
            plan,
            sdk,
            roles,
            role_sessions,
            chat_url,
        }
    }

    /// SDK config signing as a function's role (by binary name).
    pub fn role(&self, binary: &str) -> &aws_config::SdkConfig {
        self.roles.get(binary).expect("function in template")
    }

    /// Opens and seals queued events as the operator (the stack's event key).
    pub fn sealer(&self) -> shared::seal::Sealer {
        let key = self
            .plan
            .keys
            .first()
            .expect("the template has an event key");
        shared::seal::Sealer::new(aws_sdk_kms::Client::new(&self.sdk), &key.arn)
    }

    /// The event in a queued message body (sealed as the functions send it).
    pub async fn open(&self, body: &str) -> shared::event::QueuedEvent {
        self.sealer()
            .open(body)
            .await
            .expect("a queued event that opens")
    }

    /// The environment the template gives a function (by binary name).
    pub fn env(&self, binary: &str) -> &std::collections::BTreeMap<String, String> {
        &self
            .plan
            .function(binary)
            .expect("function in template")
            .env
    }

    pub fn queue_url(&self, logical_id: &str) -> String {
        self.plan
            .queue(logical_id)
            .expect("queue in template")
            .url
            .clone()
    }

    pub fn table(&self, logical_id: &str) -> String {
        self.plan
            .tables
            .iter()
            .find(|t| t.logical_id == logical_id)
            .expect("table in template")
            .name
            .clone()
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk)
    }

    pub fn dynamo(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }

    /// Loads the demo tenant (config + secret) into this stack.
    pub async fn load_demo_tenant(&self) -> shared::tenant::TenantFile {
        self.store_demo_tenant(None).await
    }

    /// Starts a Salesforce emulator in this process and loads the demo tenant connected to
    /// it; returns the tenant and the emulator's base URL (its admin API is under it).
    pub async fn load_demo_tenant_with_salesforce(&self) -> (shared::tenant::TenantFile, String) {
        let emulator = sf_emulator::Emulator::new(sf_emulator::EmulatorConfig::default())
            .expect("emulator config");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind emulator");
        let url = sf_emulator::spawn(listener, emulator).expect("emulator serves");
        let file = self
            .store_demo_tenant(Some(chatsync_local::session::emulator_credentials(&url)))
            .await;
        (file, url)
    }

    async fn store_demo_tenant(
        &self,
        salesforce: Option<shared::salesforce::SalesforceCredentials>,
    ) -> shared::tenant::TenantFile {
        let mut file =
            chatsync_local::session::read_tenant(&repo_root().join("events/tenants/demo.toml"))
                .expect("demo tenant parses");
        if salesforce.is_some() {
            file.secrets.salesforce = salesforce;
        }
        self.store_tenant(&file).await;
        file
    }

    /// Stores a tenant (config and secrets) as `chatsync tenant put` would.
    pub async fn store_tenant(&self, file: &shared::tenant::TenantFile) {
        let env = self.env("webhook-intake");
        let tenants =
            shared::store::tenants::TenantTable::new(self.dynamo(), &env["TENANTS_TABLE"]);
        let secrets = shared::store::secrets::TenantSecretStore::new(
            aws_sdk_secretsmanager::Client::new(&self.sdk),
            &env["TENANT_SECRET_PREFIX"],
        );
        shared::store::tenants::put_tenant(file, &tenants, &secrets)
            .await
            .expect("tenant stored");
    }

    /// All messages currently visible on a queue (received and put back at once).
    pub async fn peek(&self, logical_id: &str) -> Vec<aws_sdk_sqs::types::Message> {
        let url = self.queue_url(logical_id);
        let out = self
            .sqs()
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .expect("receive");
        out.messages.unwrap_or_default()
    }

    /// Messages visible on a queue (by logical id), without receiving them.
    pub async fn visible(&self, logical_id: &str) -> usize {
        use aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages;
        let attrs = self
            .sqs()
            .get_queue_attributes()
            .queue_url(self.queue_url(logical_id))
            .attribute_names(ApproximateNumberOfMessages)
            .send()
            .await
            .expect("queue attributes");
        attrs
            .attributes()
            .and_then(|a| a.get(&ApproximateNumberOfMessages))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    /// Number of items in a table.
    /// Items in a table, but the intake's per-tenant rate windows (`~rate#…` in the
    /// deliveries table): those count requests, not deliveries.
    pub async fn count(&self, logical_id: &str) -> usize {
        let out = self
            .dynamo()
            .scan()
            .table_name(self.table(logical_id))
            .send()
            .await
            .expect("scan");
        out.items()
            .iter()
            .filter(|i| {
                !i.get("pk")
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|pk| pk.starts_with("~rate#"))
            })
            .count()
    }
}

/// Polls `check` until it yields a value or `limit` passes. For waiting on another process's
/// progress (a queue drained, a log entry written), which has no event to wait on.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = tokio::time::Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A queued Intercom contact update for `visitor`, as the intake would have made it: what the
/// identity tests feed the resolver.
pub fn contact_event(
    tenant: &str,
    correlation_id: &str,
    visitor: shared::event::Visitor,
) -> shared::event::QueuedEvent {
    use shared::event::{Event, EventKind, QueuedEvent, RawPayload, SCHEMA_VERSION};
    let mut event = Event::new(EventKind::ContactUpserted);
    event.visitor = visitor;
    let now = time::OffsetDateTime::now_utc();
    QueuedEvent {
        schema: SCHEMA_VERSION,
        correlation_id: correlation_id.into(),
        tenant_id: tenant.into(),
        platform: shared::platforms::Platform::Intercom,
        delivery_id: format!("notif_{correlation_id}"),
        index: 0,
        count: 1,
        topic: "contact.user.updated".into(),
        conversation_key: format!("contact:{correlation_id}"),
        occurred_at: now,
        received_at: now,
        event,
        raw: RawPayload::of("{}"),
        resolution: None,
    }
}

/// The benchmark machine in one line: CPU count and model.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("machine: {cpus} CPUs ({model})")
}

/// Where the release function binaries are for a benchmark (beside the bench executable, or
/// `CHATSYNC_BIN_DIR`); exits with a hint when one of `binaries` is missing.
pub fn release_bin_dir(binaries: &[&str]) -> PathBuf {
    let dir = match std::env::var("CHATSYNC_BIN_DIR") {
        Ok(dir) => PathBuf::from(dir),
        // Bench executables live in <target>/release/deps.
        Err(_) => std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.parent()?.to_owned()))
            .unwrap_or_default(),
    };
    for binary in binaries {
        if !dir.join(binary).exists() {
            eprintln!(
                "{} is missing: build the release functions first (`make bench` does, same \
                 CARGO_TARGET_DIR), or point CHATSYNC_BIN_DIR at a directory holding them",
                dir.join(binary).display()
            );
            std::process::exit(1);
        }
    }
    dir
}
