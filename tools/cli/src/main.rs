//! chatsync: the operator CLI. Works against real AWS, or the local stack through the
//! standard AWS_ENDPOINT_URL. Table and secret names come from the stack's outputs, passed as
//! flags or the same environment variables the functions use.
//!
//! Exit codes: 0 ok, 1 failure, 2 usage error, 3 not found.

mod org_check;

use clap::{Parser, Subcommand};
use shared::event::QueuedEvent;
use shared::identity::Keys;
use shared::identity::rules::{Person, PersonKind};
use shared::platforms::{self, Platform};
use shared::store::links::{LinkKey, Links};
use shared::store::queue::FifoQueue;
use shared::store::secrets::TenantSecretStore;
use shared::store::synclog::SyncLogTable;
use shared::store::tenants::{TenantTable, put_tenant};
use shared::synclog::{Outcome, Step, SyncLogEntry};
use shared::tenant::TenantFile;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "chatsync", about = "Operate a chatsync deployment")]
struct Cli {
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[arg(long, env = "TENANTS_TABLE", global = true, default_value = "")]
    tenants_table: String,
    #[arg(long, env = "SYNC_LOG_TABLE", global = true, default_value = "")]
    sync_log_table: String,
    #[arg(long, env = "TENANT_SECRET_PREFIX", global = true, default_value = "")]
    secret_prefix: String,
    #[arg(long, env = "LINKS_TABLE", global = true, default_value = "")]
    links_table: String,
    #[arg(long, env = "RESOLVE_QUEUE_URL", global = true, default_value = "")]
    resolve_queue_url: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Tenants: put a TOML file (config to the tenants table, secrets to the tenant's secret), get, list.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Sign a raw payload exactly as the platform would and POST it to an intake.
    ///
    /// The signing secret is the tenant's first one for the platform, read from the tenant's
    /// secret in Secrets Manager, or from --tenant-file when given. Exit code 0 when the intake
    /// accepted it (2xx), 1 when it refused it, 2 on a usage error, 3 when the secret is missing.
    Send {
        platform: Platform,
        tenant: String,
        payload: PathBuf,
        /// The intake base URL (the stack's WebhookBaseUrl, or http://127.0.0.1:3000 locally).
        #[arg(long, default_value = "http://127.0.0.1:3000")]
        url: String,
        /// A tenant file (TOML) to take the secret from instead of Secrets Manager.
        #[arg(long)]
        tenant_file: Option<PathBuf>,
    },
    /// One correlation id's trail, oldest first.
    Log { correlation_id: String },
    /// Settle a review item parked because several people matched: the chosen Salesforce
    /// Contact or Lead becomes the visitor's link, and the event is queued again.
    Resolve {
        /// The review item: the correlation id of the parked event.
        review_id: String,
        /// The Salesforce Id of the person the visitor is (003… Contact, 00Q… Lead).
        #[arg(long)]
        choose: String,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Store a tenant file. When it holds Salesforce credentials, its mapping (picklist values,
    /// queues, record type, mapped fields) is first checked against the org; problems refuse it.
    Put {
        file: PathBuf,
        /// Store without checking the mapping against the org.
        #[arg(long)]
        skip_org_check: bool,
    },
    /// Check a tenant file (and, with Salesforce credentials, its mapping against the org)
    /// without storing it. Exit code 0 when it fits, 1 when refused.
    Validate {
        file: PathBuf,
    },
    Get {
        tenant_id: String,
    },
    List,
}

#[derive(Debug)]
enum Failure {
    Usage(String),
    NotFound(String),
    Other(String),
}

impl<E: std::error::Error> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Other(e.to_string())
    }
}

fn read_tenant_file(file: &std::path::Path) -> Result<TenantFile, Failure> {
    let text = std::fs::read_to_string(file)?;
    TenantFile::from_toml(&text).map_err(|e| Failure::Usage(format!("{}: {e}", file.display())))
}

fn refused(file: &std::path::Path, problems: &[String]) -> Failure {
    Failure::Other(format!(
        "{} does not fit the org; nothing stored:\n  - {}",
        file.display(),
        problems.join("\n  - ")
    ))
}

fn need<'a>(value: &'a str, flag: &str) -> Result<&'a str, Failure> {
    if value.is_empty() {
        Err(Failure::Usage(format!(
            "{flag} is required (or its environment variable)"
        )))
    } else {
        Ok(value)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(2)
        }
        Err(Failure::NotFound(m)) => {
            eprintln!("not found: {m}");
            ExitCode::from(3)
        }
        Err(Failure::Other(m)) => {
            eprintln!("error: {m}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let sdk = shared::config::aws().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    match cli.command {
        Command::Tenant(TenantCommand::Validate { file }) => {
            let mut tenant = read_tenant_file(&file)?;
            match org_check::check(&mut tenant)
                .await
                .map_err(Failure::Other)?
            {
                org_check::Verdict::Fits => println!("{}: fits the org", file.display()),
                org_check::Verdict::NotConnected => println!(
                    "{}: valid; not checked against an org (no Salesforce credentials in the file)",
                    file.display()
                ),
                org_check::Verdict::Refused(problems) => {
                    return Err(refused(&file, &problems));
                }
            }
        }
        Command::Tenant(TenantCommand::Put {
            file,
            skip_org_check,
        }) => {
            let mut tenant = read_tenant_file(&file)?;
            if !skip_org_check {
                match org_check::check(&mut tenant)
                    .await
                    .map_err(Failure::Other)?
                {
                    org_check::Verdict::Refused(problems) => return Err(refused(&file, &problems)),
                    org_check::Verdict::NotConnected => eprintln!(
                        "note: {} has no Salesforce credentials; its mapping was not checked against an org",
                        file.display()
                    ),
                    org_check::Verdict::Fits => {}
                }
            }
            let tenants = TenantTable::new(dynamo, need(&cli.tenants_table, "--tenants-table")?);
            let secrets = TenantSecretStore::new(
                aws_sdk_secretsmanager::Client::new(&sdk),
                need(&cli.secret_prefix, "--secret-prefix")?,
            );
            put_tenant(&tenant, &tenants, &secrets).await?;
            println!(
                "tenant {} stored (secret {})",
                tenant.config.tenant_id,
                secrets.secret_name(&tenant.config.tenant_id)
            );
        }
        Command::Tenant(TenantCommand::Get { tenant_id }) => {
            let tenants = TenantTable::new(dynamo, need(&cli.tenants_table, "--tenants-table")?);
            let config = tenants
                .get(&tenant_id)
                .await?
                .ok_or_else(|| Failure::NotFound(format!("tenant {tenant_id}")))?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&config)?);
            } else {
                println!(
                    "{}",
                    toml::to_string_pretty(&config).map_err(|e| Failure::Other(e.to_string()))?
                );
            }
        }
        Command::Tenant(TenantCommand::List) => {
            let tenants = TenantTable::new(dynamo, need(&cli.tenants_table, "--tenants-table")?)
                .list()
                .await?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&tenants)?);
            } else {
                println!("{:<24} {:<8} PLATFORMS", "TENANT", "MODE");
                for t in tenants {
                    let platforms: Vec<_> = t.platforms.iter().map(|p| p.as_str()).collect();
                    println!(
                        "{:<24} {:<8} {}",
                        t.tenant_id,
                        format!("{:?}", t.mode).to_lowercase(),
                        platforms.join(",")
                    );
                }
            }
        }
        Command::Send {
            platform,
            tenant,
            payload,
            url,
            tenant_file,
        } => {
            let secrets = match tenant_file {
                Some(file) => {
                    let t = TenantFile::from_toml(&std::fs::read_to_string(&file)?)
                        .map_err(|e| Failure::Usage(format!("{}: {e}", file.display())))?;
                    if t.config.tenant_id != tenant {
                        return Err(Failure::Usage(format!(
                            "{} is tenant {}, not {tenant}",
                            file.display(),
                            t.config.tenant_id
                        )));
                    }
                    t.secrets
                }
                None => TenantSecretStore::new(
                    aws_sdk_secretsmanager::Client::new(&sdk),
                    need(&cli.secret_prefix, "--secret-prefix")?,
                )
                .get(&tenant)
                .await?
                .ok_or_else(|| Failure::NotFound(format!("secret of tenant {tenant}")))?,
            };
            let secret = secrets
                .webhooks
                .for_platform(platform)
                .first()
                .ok_or_else(|| {
                    Failure::Usage(format!("tenant {tenant} has no {platform} secret"))
                })?;
            let body = std::fs::read(&payload)
                .map_err(|e| Failure::Usage(format!("{}: {e}", payload.display())))?;
            let sig = platforms::sign(
                platform,
                secret.expose(),
                &body,
                time::OffsetDateTime::now_utc(),
            );
            let target = format!("{}/webhooks/{platform}/{tenant}", url.trim_end_matches('/'));
            let mut req = reqwest::Client::new()
                .post(&target)
                .header("content-type", "application/json")
                .body(body);
            if let Some(token) = &sig.query_token {
                req = req.query(&[("token", token)]);
            }
            for (k, v) in sig.headers {
                req = req.header(k, v);
            }
            let resp = req.send().await?;
            let status = resp.status();
            println!("{} {}", status.as_u16(), resp.text().await?);
            if !status.is_success() {
                return Err(Failure::Other(format!("intake answered {status}")));
            }
        }
        Command::Resolve { review_id, choose } => {
            let log = SyncLogTable::new(
                dynamo.clone(),
                need(&cli.sync_log_table, "--sync-log-table")?,
            );
            let parked = log
                .trail(&review_id)
                .await?
                .into_iter()
                .rev()
                .find(|e| e.step == Step::Resolve && e.outcome == Outcome::Parked)
                .ok_or_else(|| Failure::NotFound(format!("review item {review_id}")))?;
            let payload = parked.payload.as_deref().ok_or_else(|| {
                Failure::Other(format!("review item {review_id} holds no event to replay"))
            })?;
            let mut event: QueuedEvent = serde_json::from_str(payload)?;
            let kind = match choose.get(..3) {
                Some("003") => PersonKind::Contact,
                Some("00Q") => PersonKind::Lead,
                _ => {
                    return Err(Failure::Usage(format!(
                        "{choose} is not a Contact (003…) or Lead (00Q…) Id"
                    )));
                }
            };
            let config =
                TenantTable::new(dynamo.clone(), need(&cli.tenants_table, "--tenants-table")?)
                    .get(&event.tenant_id)
                    .await?
                    .ok_or_else(|| Failure::NotFound(format!("tenant {}", event.tenant_id)))?;
            let policy = &config.identity;
            let keys = Keys::from_visitor(&event.event.visitor, &policy.default_phone_region);
            let link_keys = LinkKey::linkable(event.platform, &keys, &policy.match_order);
            if link_keys.is_empty() {
                return Err(Failure::Other(
                    "the event names no key to link (no platform contact, e-mail or phone)".into(),
                ));
            }
            let person = Person {
                kind,
                id: choose.clone(),
                account_id: None,
            };
            let now = time::OffsetDateTime::now_utc();
            Links::new(dynamo.clone(), need(&cli.links_table, "--links-table")?)
                .put(
                    &event.tenant_id,
                    &link_keys,
                    &person,
                    policy.link_ttl_days,
                    now,
                )
                .await?;
            // Queued again in its conversation's group; the resolver now finds the link.
            event.resolution = None;
            let dedupe = format!("{}#chosen#{choose}", event.dedupe_id());
            FifoQueue::new(
                aws_sdk_sqs::Client::new(&sdk),
                need(&cli.resolve_queue_url, "--resolve-queue-url")?,
            )
            .send(
                &event.group_id(),
                &sha256_hex(&dedupe),
                &serde_json::to_string(&event)?,
            )
            .await?;
            let mut entry = SyncLogEntry::new(
                &review_id,
                &event.tenant_id,
                event.platform,
                Step::Replay,
                Outcome::Ok,
                format!(
                    "operator chose {} {choose}; {} link(s) written; queued again for resolve",
                    kind.sobject(),
                    link_keys.len()
                ),
            )
            .topic(&event.topic);
            entry.records = vec![choose.clone()];
            log.append(&entry, config.retention_days).await?;
            if cli.json {
                println!(
                    "{}",
                    serde_json::json!({"review_id": review_id, "chosen": choose, "links": link_keys.len()})
                );
            } else {
                println!(
                    "{review_id}: linked to {} {choose} ({} key(s)) and queued again",
                    kind.sobject(),
                    link_keys.len()
                );
            }
        }
        Command::Log { correlation_id } => {
            let log = SyncLogTable::new(dynamo, need(&cli.sync_log_table, "--sync-log-table")?);
            let trail = log.trail(&correlation_id).await?;
            if trail.is_empty() {
                return Err(Failure::NotFound(format!(
                    "correlation id {correlation_id}"
                )));
            }
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&trail)?);
            } else {
                for e in trail {
                    println!(
                        "{}  {:<8} {:<9} {:<10} {}",
                        shared::rfc3339(e.at),
                        format!("{:?}", e.step).to_lowercase(),
                        format!("{:?}", e.outcome).to_lowercase(),
                        e.tenant_id,
                        e.detail
                    );
                }
            }
        }
    }
    Ok(())
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}
