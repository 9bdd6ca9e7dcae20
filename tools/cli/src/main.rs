//! chatsync: the operator CLI. Works against real AWS, or the local stack through the
//! standard AWS_ENDPOINT_URL. Table, queue and secret names come from the stack's outputs,
//! passed as flags or the same environment variables the functions use.
//!
//! Exit codes: 0 ok, 1 failure, 2 usage error, 3 not found.

mod action;
mod errors;
mod failure;
mod org_check;
mod replay;
mod resolve;
mod send;
mod table;
mod tenant;
#[cfg(test)]
mod testing;
mod timeline;

use clap::{Parser, Subcommand};
use failure::{Failure, need};
use shared::platforms::Platform;
use shared::store::queue::FifoQueue;
use shared::store::synclog::SyncLogTable;
use shared::store::tenants::TenantTable;
use shared::synclog::Stage;
use std::path::PathBuf;
use std::process::ExitCode;
use time::OffsetDateTime;

const EXIT_CODES: &str = "\
Exit codes:
  0  ok (also: a listing that found nothing)
  1  failure (AWS, a refused tenant file, an item that could not be replayed)
  2  usage error (a wrong argument, a missing table or queue name)
  3  not found (no such tenant, trail, secret or open item)";

#[derive(Parser)]
#[command(
    name = "chatsync",
    about = "Operate a chatsync deployment",
    after_help = EXIT_CODES
)]
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
    #[arg(long, env = "WRITE_QUEUE_URL", global = true, default_value = "")]
    write_queue_url: String,
    /// The KMS key that seals queued events (the stack's EventKey), for `resolve`.
    #[arg(long, env = "EVENT_KEY_ARN", global = true, default_value = "")]
    event_key_arn: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Tenants: put a TOML file (config to the tenants table, secrets to the tenant's secret), get, list.
    #[command(subcommand)]
    Tenant(tenant::TenantCommand),
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
    /// Open errors and review items (parked entries), newest first.
    ///
    /// Without --tenant, every tenant in the tenants table and `_unreadable` (dead letters no
    /// tenant could be read from). Exit code 0 also when nothing is open.
    #[command(after_help = EXIT_CODES)]
    Errors {
        /// Only this tenant's items.
        #[arg(long)]
        tenant: Option<String>,
        /// Only items parked since: a duration back from now (30m, 2h, 1d, 1w) or an RFC 3339 time.
        #[arg(long, value_parser = table::parse_since)]
        since: Option<OffsetDateTime>,
        /// Most items listed per tenant.
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(i32).range(1..))]
        limit: i32,
    },
    /// Queue open parked items again: each payload goes back to the queue it was parked from,
    /// in its original message group, then the item is closed.
    ///
    /// Identity review items (several people matched) are not replayed: the resolver would
    /// park them again. Settle them with `chatsync resolve`, or pass --include-ambiguous once
    /// the tenant's `multiple_matches` or the org's data changed. Items without a payload, or
    /// whose payload is no queued event, are reported and left open. Exit code 3 when the
    /// correlation id has nothing open to replay.
    #[command(
        group(clap::ArgGroup::new("which").required(true).args(["correlation_id", "parked"])),
        after_help = EXIT_CODES
    )]
    Replay {
        /// The correlation id whose open parked items to replay.
        correlation_id: Option<String>,
        /// Replay every open parked item (of --tenant, or of every tenant), oldest first.
        #[arg(long)]
        parked: bool,
        /// With --parked: only this tenant's items.
        #[arg(long, requires = "parked")]
        tenant: Option<String>,
        /// With --parked: only items parked since (30m, 2h, 1d, or an RFC 3339 time).
        #[arg(long, requires = "parked", value_parser = table::parse_since)]
        since: Option<OffsetDateTime>,
        /// With --parked: most items replayed per tenant.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(i32).range(1..))]
        limit: i32,
        /// Replay identity review items too instead of pointing to `chatsync resolve`.
        #[arg(long)]
        include_ambiguous: bool,
    },
    /// One correlation id's trail as a timeline, oldest first (--json: the stored entries).
    #[command(after_help = EXIT_CODES)]
    Log {
        correlation_id: String,
        /// Also print the Salesforce requests and answers each step kept (masked as the
        /// tenant's `payloads` policy says).
        #[arg(long)]
        payloads: bool,
    },
    /// Settle a review item parked because several people matched: the chosen Salesforce
    /// Contact or Lead becomes the visitor's link, the event is queued again, and the item is
    /// closed.
    Resolve {
        /// The review item: the correlation id of the parked event.
        review_id: String,
        /// The Salesforce Id of the person the visitor is (003… Contact, 00Q… Lead).
        #[arg(long)]
        choose: String,
    },
}

/// What every command may need: the SDK config and the deployment's names.
pub struct Context {
    pub sdk: aws_config::SdkConfig,
    pub json: bool,
    tenants_table: String,
    sync_log_table: String,
    secret_prefix: String,
    links_table: String,
    resolve_queue_url: String,
    write_queue_url: String,
    event_key_arn: String,
}

impl Context {
    pub fn dynamo(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }

    pub fn tenants(&self) -> Result<TenantTable, Failure> {
        Ok(TenantTable::new(
            self.dynamo(),
            need(&self.tenants_table, "--tenants-table")?,
        ))
    }

    pub fn sync_log(&self) -> Result<SyncLogTable, Failure> {
        Ok(SyncLogTable::new(
            self.dynamo(),
            need(&self.sync_log_table, "--sync-log-table")?,
        ))
    }

    pub fn secret_prefix(&self) -> Result<&str, Failure> {
        need(&self.secret_prefix, "--secret-prefix")
    }

    pub fn links_table(&self) -> Result<&str, Failure> {
        need(&self.links_table, "--links-table")
    }

    /// Opens and seals queued events (review items hold them sealed).
    pub fn sealer(&self) -> Result<shared::seal::Sealer, Failure> {
        Ok(shared::seal::Sealer::new(
            aws_sdk_kms::Client::new(&self.sdk),
            need(&self.event_key_arn, "--event-key-arn")?,
        ))
    }

    /// The queue of a stage; its URL comes from `--<stage>-queue-url` or `Stage::queue_env`.
    pub fn queue(&self, stage: Stage) -> Result<FifoQueue, Failure> {
        let (url, flag) = match stage {
            Stage::Resolve => (&self.resolve_queue_url, "--resolve-queue-url"),
            Stage::Write => (&self.write_queue_url, "--write-queue-url"),
        };
        Ok(FifoQueue::new(
            aws_sdk_sqs::Client::new(&self.sdk),
            need(url, flag)?,
        ))
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let ctx = Context {
        sdk: shared::config::aws().await,
        json: cli.json,
        tenants_table: cli.tenants_table,
        sync_log_table: cli.sync_log_table,
        secret_prefix: cli.secret_prefix,
        links_table: cli.links_table,
        resolve_queue_url: cli.resolve_queue_url,
        write_queue_url: cli.write_queue_url,
        event_key_arn: cli.event_key_arn,
    };
    match cli.command {
        Command::Tenant(command) => tenant::run(&ctx, command).await,
        Command::Send {
            platform,
            tenant,
            payload,
            url,
            tenant_file,
        } => send::run(&ctx, platform, &tenant, &payload, &url, tenant_file).await,
        Command::Errors {
            tenant,
            since,
            limit,
        } => errors::run(&ctx, tenant.as_deref(), since, limit).await,
        Command::Replay {
            correlation_id,
            parked: _,
            tenant,
            since,
            limit,
            include_ambiguous,
        } => {
            let which = match correlation_id {
                Some(id) => replay::Which::Correlation(id),
                None => replay::Which::Parked {
                    tenant,
                    since,
                    limit,
                },
            };
            replay::run(&ctx, which, include_ambiguous).await
        }
        Command::Log {
            correlation_id,
            payloads,
        } => timeline::run(&ctx, &correlation_id, payloads).await,
        Command::Resolve { review_id, choose } => resolve::run(&ctx, &review_id, &choose).await,
    }
}

/// Every tenant with a review list: the tenants table's, and `_unreadable`.
pub async fn all_tenants(ctx: &Context) -> Result<Vec<String>, Failure> {
    let mut ids: Vec<String> = ctx
        .tenants()?
        .list()
        .await?
        .into_iter()
        .map(|t| t.tenant_id)
        .collect();
    ids.push(shared::synclog::UNREADABLE_TENANT.to_owned());
    Ok(ids)
}

/// The tenants to look at: the one asked for, or all of them.
pub async fn tenants_or_all(ctx: &Context, tenant: Option<&str>) -> Result<Vec<String>, Failure> {
    match tenant {
        Some(t) => Ok(vec![t.to_owned()]),
        None => all_tenants(ctx).await,
    }
}
