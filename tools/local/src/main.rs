//! chatsync-local: the local stack and function host (see `--help`).

use chatsync_local::demo;
use chatsync_local::events::{self, platform_of, signed_request};
use chatsync_local::procs::Moto;
use chatsync_local::session::{Session, SessionOptions, read_tenant};
use chatsync_local::stack::{self, Settings};
use chatsync_local::template::Template;
use clap::{Parser, Subcommand};
use shared::mapping::plan::{CASE_KEY_FIELD, TASK_KEY_FIELD};
use shared::store::synclog::SyncLogTable;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "chatsync-local",
    about = "chatsync's local stack: template resources in moto, functions under RIE"
)]
struct Cli {
    #[arg(long, default_value = "template.yaml", global = true)]
    template: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct Run {
    /// Where the function binaries are.
    #[arg(long, env = "CHATSYNC_BIN_DIR")]
    bin_dir: PathBuf,
    #[arg(long, default_value = "events/tenants/demo.toml")]
    tenant: Vec<PathBuf>,
    #[arg(long, default_value = "127.0.0.1:3000")]
    http: SocketAddr,
    #[arg(long, default_value_t = 4566)]
    moto_port: u16,
    /// Where the Salesforce emulator listens.
    #[arg(long, default_value = "127.0.0.1:8787")]
    salesforce: SocketAddr,
    /// Records the emulator's org starts with (its queue and agent User).
    #[arg(long, default_value = "events/salesforce/demo-org.json")]
    salesforce_seed: PathBuf,
    /// Where the chat-platform emulator listens (the functions' platform API bases point at it).
    #[arg(long, default_value = "127.0.0.1:8788")]
    chat: SocketAddr,
    /// What the chat-platform emulator starts with (its credentials, agents, contacts).
    #[arg(long, default_value = "events/chat-platforms/demo.json")]
    chat_seed: PathBuf,
    /// Salesforce CLI project the emulator's schema comes from (default: the repo's
    /// salesforce/, built into the binary). An empty folder gives a standard org only.
    #[arg(long)]
    salesforce_metadata: Option<PathBuf>,
    #[arg(long, default_value = ".local/logs")]
    log_dir: PathBuf,
    /// Run scheduled functions this often instead of their template rate.
    #[arg(long, value_parser = humantime_seconds)]
    schedule_every: Option<Duration>,
}

#[derive(Subcommand)]
enum Command {
    /// Print what the template resolves to locally, without starting anything.
    Plan,
    /// Start everything and stay up until Ctrl-C.
    Dev(Run),
    /// Start everything, replay events/payloads signed for the demo tenant, print the trail, stop.
    Demo(Run),
    /// Regenerate events/ from events/payloads and the demo tenant (--check: fail if stale).
    Events {
        #[arg(long)]
        check: bool,
    },
    /// Measure each function's cold start (median of N fresh processes under RIE).
    Coldstart {
        #[arg(long, env = "CHATSYNC_BIN_DIR")]
        bin_dir: PathBuf,
        #[arg(long, default_value_t = 7)]
        runs: usize,
        /// Only this function (binary name); default all.
        #[arg(long)]
        function: Option<String>,
    },
}

fn humantime_seconds(s: &str) -> std::result::Result<Duration, String> {
    let n: f64 = s
        .trim_end_matches('s')
        .parse()
        .map_err(|_| format!("{s}: expected seconds, e.g. 2s"))?;
    Ok(Duration::from_secs_f64(n))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Plan => plan(&cli.template),
        Command::Dev(run) => dev(&cli.template, run).await,
        Command::Demo(run) => demo(&cli.template, run).await,
        Command::Events { check } => write_events(check).await,
        Command::Coldstart {
            bin_dir,
            runs,
            function,
        } => coldstart(&cli.template, &bin_dir, runs, function.as_deref()).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn plan(template: &Path) -> Result<()> {
    let plan = stack::plan(
        &Template::load(template)?,
        &Settings::local("http://127.0.0.1:4566"),
    )?;
    for q in &plan.queues {
        println!("queue     {:<26} {}", q.logical_id, q.name);
    }
    for t in &plan.tables {
        println!("table     {:<26} {}", t.logical_id, t.name);
    }
    for f in &plan.functions {
        println!(
            "function  {:<26} {} (timeout {}s, {} MB)",
            f.logical_id, f.binary, f.timeout_seconds, f.memory_mb
        );
    }
    for (id, kind, why) in &plan.skipped {
        println!("skipped   {id:<26} {kind}: {why}");
    }
    Ok(())
}

async fn start(template: &Path, run: &Run) -> Result<Session> {
    let emulator = sf_emulator::EmulatorConfig {
        metadata_dir: run.salesforce_metadata.clone(),
        ..sf_emulator::EmulatorConfig::default()
    };
    let options = SessionOptions {
        template: template.to_owned(),
        bin_dir: run.bin_dir.clone(),
        tenant_files: run.tenant.clone(),
        http_addr: run.http,
        moto_port: Some(run.moto_port),
        log_dir: run.log_dir.clone(),
        schedule_every: run.schedule_every,
        retry_after: None,
        extra_env: Vec::new(),
        salesforce_addr: Some(run.salesforce),
        salesforce_seed: Some(run.salesforce_seed.clone()),
        chat_addr: Some(run.chat),
        chat_seed: Some(run.chat_seed.clone()),
    };
    let session = Session::start_with_emulator(options, emulator).await?;
    println!("moto        {}", session.moto.endpoint());
    if let Some(url) = &session.salesforce_url {
        println!("salesforce  {url} (emulator; admin API under /__emulator/)");
    }
    if let Some(url) = &session.chat_url {
        println!("chat APIs   {url} (emulator: /intercom, /tidio, /respondio/v2, /cloudcx)");
    }
    println!("resources created from {}:", template.display());
    for line in &session.created {
        println!("  {line}");
    }
    for (id, kind, why) in &session.plan.skipped {
        println!("  skipped {id} ({kind}): {why}");
    }
    println!(
        "tenant secrets  {}{{tenant}}",
        session.plan.functions[0]
            .env
            .get("TENANT_SECRET_PREFIX")
            .cloned()
            .unwrap_or_default()
    );
    for path in &run.tenant {
        println!("tenant loaded   {}", path.display());
    }
    println!(
        "intake      {}/webhooks/{{platform}}/{{tenant}}",
        session.intake_url()
    );
    println!(
        "functions   {} under RIE, logs in {}",
        session.plan.functions.len(),
        run.log_dir.display()
    );
    Ok(session)
}

async fn dev(template: &Path, run: Run) -> Result<()> {
    let session = start(template, &run).await?;
    // moto enforces IAM: the operator's keys for the CLI, each function's role for sam local.
    let operator = run.log_dir.join("operator.env");
    let key = session
        .plan
        .keys
        .first()
        .map(|k| ("EVENT_KEY_ARN".to_owned(), k.arn.clone()));
    let exports: String = session
        .moto
        .env()
        .into_iter()
        .chain(key)
        .map(|(k, v)| format!("export {k}={v}\n"))
        .collect();
    std::fs::write(&operator, exports)?;
    let env_json = run.log_dir.join("env.json");
    std::fs::write(
        &env_json,
        chatsync_local::events::pretty(&chatsync_local::events::env_json(
            &session.plan,
            Some(&session.roles),
        )),
    )?;
    println!(
        "operator    `source {}` signs the CLI in as the operator (IAM is enforced)",
        operator.display()
    );
    println!(
        "sam local   --env-vars {} (each function's role session)",
        env_json.display()
    );
    println!("\nup; Ctrl-C stops everything");
    tokio::signal::ctrl_c().await?;
    session.stop().await;
    Ok(())
}

async fn demo(template: &Path, run: Run) -> Result<()> {
    let session = start(template, &run).await?;
    let result = replay(&session, &run).await;
    session.stop().await;
    result
}

async fn replay(session: &Session, run: &Run) -> Result<()> {
    let tenant = read_tenant(run.tenant.first().ok_or("no tenant file")?)?;
    let http = reqwest::Client::new();
    let mut correlation_ids = Vec::new();
    let mut facts = demo::Facts::default();
    println!("\nreplaying events/payloads, signed as each platform signs:");
    let mut files: Vec<PathBuf> = std::fs::read_dir("events/payloads")?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut payloads = Vec::new();
    for path in &files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let Some(platform) = platform_of(name) else {
            continue;
        };
        payloads.push((name.to_owned(), platform, std::fs::read(path)?));
    }
    for (name, platform, body) in &payloads {
        let (headers, url_path) =
            signed_request(*platform, &tenant, body, time::OffsetDateTime::now_utc())
                .ok_or("demo tenant lacks a secret")?;
        for attempt in ["first", "repeat"] {
            let mut req = http
                .post(format!("{}{}", session.intake_url(), url_path))
                .body(body.clone());
            for (k, v) in &headers {
                req = req.header(k, v);
            }
            let resp = req.send().await?;
            let status = resp.status();
            let text = resp.text().await?;
            println!("  {name:<44} {attempt:<7} -> {status} {text}");
            if !status.is_success() {
                facts
                    .refused
                    .push((format!("{name} ({attempt})"), status.as_u16()));
            }
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
                && let (Some(id), "first") =
                    (v.get("correlation_id").and_then(|c| c.as_str()), attempt)
            {
                correlation_ids.push((name.to_owned(), id.to_owned()));
            }
        }
    }
    // A forged delivery: refused, nothing queued.
    let forged = http
        .post(format!(
            "{}/webhooks/intercom/{}",
            session.intake_url(),
            tenant.config.tenant_id
        ))
        .header(
            "x-hub-signature",
            "sha1=0000000000000000000000000000000000000000",
        )
        .body(r#"{"topic":"conversation.user.created","id":"notif_forged","data":{"item":{}}}"#)
        .send()
        .await?;
    facts.forged_status = forged.status().as_u16();
    println!(
        "  {:<44} {:<7} -> {} {}",
        "forged intercom delivery",
        "",
        forged.status(),
        forged.text().await?
    );

    session.wait_idle(Duration::from_secs(120)).await?;
    println!("\npipeline drained. Sync trail per delivery:");
    let log = SyncLogTable::new(
        aws_sdk_dynamodb::Client::new(&session.sdk),
        session.table("SyncLogTable").unwrap_or_default(),
    );
    for (name, id) in &correlation_ids {
        println!("  {name}  correlation {id}");
        for entry in log.trail(id).await? {
            println!(
                "    {}  {:<8} {:<9} {}",
                shared::rfc3339(entry.at),
                format!("{:?}", entry.step).to_lowercase(),
                format!("{:?}", entry.outcome).to_lowercase(),
                entry.detail
            );
        }
    }
    let report = session.host.run_scheduled("retry-drainer").await?;
    println!("\nretry-drainer run: {report}");
    // Whatever the drainer redrove is written before the org is judged.
    session.wait_idle(Duration::from_secs(120)).await?;
    println!("\nwhat landed in Salesforce (emulator):");
    if let Some(url) = &session.salesforce_url {
        for sobject in ["Contact", "Lead", "Account", "Case", "Task"] {
            let records: Vec<serde_json::Value> = http
                .get(format!("{url}/__emulator/records/{sobject}"))
                .send()
                .await?
                .json()
                .await?;
            println!("  {sobject:<8} {} records", records.len());
            for r in records.iter().take(5) {
                let text = |field: &str| r[field].as_str().unwrap_or("").to_owned();
                // People by name and (masked) e-mail; Cases and Tasks by status and subject.
                let summary = match sobject {
                    "Case" | "Task" => format!("{:<10} {}", text("Status"), text("Subject")),
                    _ => format!(
                        "{} {}",
                        r["Name"].as_str().or(r["LastName"].as_str()).unwrap_or(""),
                        mask_email(&text("Email"))
                    ),
                };
                println!("    {} {summary}", r["Id"].as_str().unwrap_or("?"));
            }
            match sobject {
                "Case" => facts.case_keys = demo::field_values(&records, CASE_KEY_FIELD),
                "Task" => facts.task_keys = demo::field_values(&records, TASK_KEY_FIELD),
                _ => {}
            }
        }
        println!(
            "  (Contacts and Leads come from the identity resolver; Cases and Tasks arrive with the writer)"
        );
        print_conversations(&http, url, &tenant.config.tenant_id).await?;
    }
    facts.to_chat = Some(salesforce_to_chat(session, &tenant, &http).await?);
    println!("\ncold starts reported by RIE:");
    for f in session.host.functions() {
        println!("  {:<20} {:?} ms", f.name, f.cold_starts());
    }

    facts.expected = demo::expected_conversations(&tenant.config, &payloads);
    let ids: Vec<String> = correlation_ids.into_iter().map(|(_, id)| id).collect();
    facts.parked = demo::parked_entries(&log, &tenant.config.tenant_id, &ids).await?;
    facts.dead_letters =
        demo::dead_letters(&session.plan, &aws_sdk_sqs::Client::new(&session.sdk)).await?;
    facts.invocation_errors = session.host.invocation_errors();
    let verdict = demo::judge(&facts);
    println!("\noutcome check:");
    for line in &verdict.summary {
        println!("  {line}");
    }
    if !verdict.passed() {
        return Err(format!(
            "demo outcome check failed (function logs in {}):\n  {}",
            run.log_dir.display(),
            verdict.problems.join("\n  ")
        )
        .into());
    }
    println!(
        "  ok: every replayed conversation landed as its Case and Task, Salesforce changes reached the chat; nothing parked"
    );
    Ok(())
}

/// Salesforce → chat: outbound messages defined in the emulated org, a Contact created there
/// and a Lead qualified; then what the chat platforms hold.
async fn salesforce_to_chat(
    session: &Session,
    tenant: &shared::tenant::TenantFile,
    http: &reqwest::Client,
) -> Result<demo::ToChat> {
    let sf = session
        .salesforce_url
        .clone()
        .ok_or("no Salesforce emulator")?;
    let chat = session
        .chat_url
        .clone()
        .ok_or("no chat-platform emulator")?;
    let id = &tenant.config.tenant_id;
    let token = tenant
        .secrets
        .webhooks
        .salesforce_outbound_token
        .first()
        .ok_or("demo tenant lacks a salesforce_outbound_token")?;
    let endpoint = format!(
        "{}/salesforce/{id}/outbound?token={}",
        session.intake_url(),
        token.expose()
    );
    println!(
        "\nSalesforce → chat: outbound messages for Contact and Lead, then changes in the org:"
    );
    let fields = [
        "Email",
        "FirstName",
        "LastName",
        "Title",
        "Status",
        "CreatedById",
    ];
    http.post(format!("{sf}/__emulator/outbound"))
        .json(&serde_json::json!({"definitions": [
            {"object": "Contact", "fields": &fields[..4], "endpoint": endpoint, "quiet_users": []},
            {"object": "Lead", "fields": fields, "endpoint": endpoint, "quiet_users": []}
        ]}))
        .send()
        .await?
        .error_for_status()?;
    let session_token: serde_json::Value = http
        .post(format!("{sf}/__emulator/session"))
        .send()
        .await?
        .json()
        .await?;
    let bearer = session_token["access_token"]
        .as_str()
        .ok_or("the emulator gave no session")?;
    let save = |method: reqwest::Method, path: String, body: serde_json::Value| {
        let url = format!(
            "{sf}/services/data/{}/sobjects/{path}",
            shared::salesforce::API_VERSION
        );
        http.request(method, url)
            .bearer_auth(bearer)
            .json(&body)
            .send()
    };
    let contact_email = "katherine.johnson@example.org";
    save(
        reqwest::Method::POST,
        "Contact".into(),
        serde_json::json!({"FirstName": "Katherine", "LastName": "Johnson",
            "Email": contact_email, "Title": "Mathematician"}),
    )
    .await?
    .error_for_status()?;
    println!("  Contact Katherine Johnson created");
    let lead_email = "dorothy.vaughan@example.org";
    let lead: serde_json::Value = save(
        reqwest::Method::POST,
        "Lead".into(),
        serde_json::json!({"FirstName": "Dorothy", "LastName": "Vaughan", "Email": lead_email,
            "Company": "NACA", "Status": "Open - Not Contacted"}),
    )
    .await?
    .error_for_status()?
    .json()
    .await?;
    session.wait_idle(Duration::from_secs(120)).await?;
    let lead_id = lead["id"].as_str().ok_or("the Lead has no id")?;
    // "Working - Contacted" is what the demo tenant's lifecycle "hot lead" maps to.
    save(
        reqwest::Method::PATCH,
        format!("Lead/{lead_id}"),
        serde_json::json!({"Status": "Working - Contacted"}),
    )
    .await?
    .error_for_status()?;
    println!("  Lead Dorothy Vaughan created, then qualified (Status Working - Contacted)");
    session.wait_idle(Duration::from_secs(120)).await?;
    let records = |platform: &'static str| {
        let url = format!("{chat}/__emulator/records/{platform}/contacts");
        async move {
            let list: Vec<serde_json::Value> = http.get(url).send().await?.json().await?;
            Ok::<_, reqwest::Error>(list)
        }
    };
    let tag = tenant.config.from_salesforce.auto_create_tag.clone();
    let mut contact = Vec::new();
    for platform in ["intercom", "respondio"] {
        let theirs: Vec<serde_json::Value> = records(platform)
            .await?
            .into_iter()
            .filter(|c| c["email"] == contact_email)
            .collect();
        let is_tagged = theirs.iter().any(|c| demo::tagged(c, &tag));
        println!(
            "  {platform:<9} Katherine Johnson: {} contact(s), tagged {tag:?}: {is_tagged}",
            theirs.len()
        );
        contact.push((platform.to_owned(), theirs.len(), is_tagged));
    }
    let lifecycle = records("intercom")
        .await?
        .into_iter()
        .find(|c| c["email"] == lead_email)
        .and_then(|c| {
            c["custom_attributes"]["lifecycle"]
                .as_str()
                .map(str::to_owned)
        });
    println!("  intercom  Dorothy Vaughan: lifecycle = {lifecycle:?}");
    Ok(demo::ToChat {
        tag,
        contact,
        lead_attribute: ("lifecycle".into(), "hot lead".into(), lifecycle),
    })
}

/// Per platform, each Case the demo made and the transcript of its Task(s), line by line.
async fn print_conversations(http: &reqwest::Client, url: &str, tenant: &str) -> Result<()> {
    let get = async |sobject: &str| -> Result<Vec<serde_json::Value>> {
        Ok(http
            .get(format!("{url}/__emulator/records/{sobject}"))
            .send()
            .await?
            .json()
            .await?)
    };
    let (cases, tasks) = (get("Case").await?, get("Task").await?);
    println!(
        "
per platform, each Case and its transcript:"
    );
    for platform in shared::platforms::Platform::ALL {
        let prefix = format!("{tenant}:{}:", platform.as_str());
        let text = |r: &serde_json::Value, f: &str| r[f].as_str().unwrap_or("-").to_owned();
        println!("  {}", platform.display_name());
        for case in cases.iter().filter(|c| {
            c[CASE_KEY_FIELD]
                .as_str()
                .is_some_and(|k| k.starts_with(&prefix))
        }) {
            println!(
                "    Case {} · {} · {} · owner {} · contact {}",
                text(case, "Id"),
                text(case, CASE_KEY_FIELD),
                text(case, "Status"),
                text(case, "OwnerId"),
                text(case, "ContactId")
            );
            for task in tasks.iter().filter(|t| t["WhatId"] == case["Id"]) {
                println!("      Task {} · {}", text(task, "Id"), text(task, "Status"));
                for line in task["Description"].as_str().unwrap_or_default().lines() {
                    println!("        {line}");
                }
            }
        }
    }
    Ok(())
}

async fn write_events(check: bool) -> Result<()> {
    let files = events::sample_files(Path::new(".")).map_err(|e| e.to_string())?;
    let mut stale = Vec::new();
    for (path, text) in &files {
        let current = std::fs::read_to_string(path).unwrap_or_default();
        if current != *text {
            stale.push(path.display().to_string());
            if !check {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::write(path, text)?;
            }
        }
    }
    if check && !stale.is_empty() {
        return Err(format!("stale samples (run `make events`): {}", stale.join(", ")).into());
    }
    println!(
        "{} sample files {}",
        files.len(),
        if check { "current" } else { "written" }
    );
    Ok(())
}

async fn coldstart(template: &Path, bin_dir: &Path, runs: usize, only: Option<&str>) -> Result<()> {
    use chatsync_local::procs::{FunctionProcess, aws_env, rie_path};
    let moto = Moto::start(None).await?;
    let plan = stack::plan(
        &Template::load(template)?,
        &Settings::local(&moto.endpoint()),
    )?;
    let sdk = moto.sdk().await;
    stack::create(&plan, &sdk).await?;
    let roles =
        chatsync_local::iam::function_roles(&chatsync_local::iam::expand(template)?, &plan, &sdk)
            .await?;
    let log_dir = std::env::temp_dir().join("chatsync-coldstart");
    std::fs::create_dir_all(&log_dir)?;
    println!("| function | binary size (bytes) | cold start median (ms) | min | max | runs |");
    println!("|---|---:|---:|---:|---:|---:|");
    for spec in plan
        .functions
        .iter()
        .filter(|f| only.is_none_or(|o| o == f.binary))
    {
        let binary = bin_dir.join(&spec.binary);
        let size = std::fs::metadata(&binary)?.len();
        let mut env: Vec<(String, String)> = spec.env.clone().into_iter().collect();
        let role = roles
            .get(&spec.binary)
            .ok_or_else(|| format!("no role for {}", spec.binary))?;
        env.extend(aws_env(&moto.endpoint(), role));
        let process = FunctionProcess::new(
            &spec.binary,
            &binary,
            env,
            &rie_path()?,
            &log_dir,
            Duration::from_secs(spec.timeout_seconds),
        );
        // An empty SQS batch / a HEAD request: the cheapest invocation that runs init fully.
        let payload = if spec.http_routes.is_empty() {
            if spec.schedules.is_empty() {
                serde_json::json!({"Records": []})
            } else {
                serde_json::from_str(&std::fs::read_to_string("events/schedule/drainer.json")?)?
            }
        } else {
            serde_json::from_str(&std::fs::read_to_string("events/apigw/intercom-ping.json")?)?
        };
        for _ in 0..runs {
            process.restart().await?;
            process.invoke(&payload).await?;
        }
        let mut samples = process.cold_starts();
        process.stop().await;
        samples.sort_by(|a, b| a.total_cmp(b));
        if samples.is_empty() {
            return Err(format!("RIE reported no INIT REPORT for {}", spec.binary).into());
        }
        let median = samples[samples.len() / 2];
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {} |",
            spec.binary,
            size,
            median,
            samples[0],
            samples[samples.len() - 1],
            samples.len()
        );
    }
    moto.stop().await;
    Ok(())
}

/// The demo prints what landed without showing whole addresses.
fn mask_email(email: &str) -> String {
    if email.is_empty() {
        String::new()
    } else {
        shared::mask::email(email)
    }
}
