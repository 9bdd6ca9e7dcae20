//! `chatsync tenant`: put, validate, get, list.

use crate::failure::Failure;
use crate::{Context, org_check};
use clap::Subcommand;
use shared::store::secrets::{Part, TenantSecretStore};
use shared::store::tenants::put_tenant;
use shared::tenant::TenantFile;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub(crate) enum TenantCommand {
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
    /// Copy each tenant's one secret of a stack from before the split (`{prefix}{tenant}`)
    /// into its two (`…/webhooks`, read by the intake; `…/salesforce`, read by the resolver
    /// and writer). Every tenant when none is named. The old secrets are left for you to delete.
    SplitSecrets {
        tenant_ids: Vec<String>,
    },
}

pub(crate) fn read_tenant_file(file: &Path) -> Result<TenantFile, Failure> {
    let text = std::fs::read_to_string(file)?;
    TenantFile::from_toml(&text).map_err(|e| Failure::Usage(format!("{}: {e}", file.display())))
}

fn refused(file: &Path, problems: &[String]) -> Failure {
    Failure::Other(format!(
        "{} does not fit the org; nothing stored:\n  - {}",
        file.display(),
        problems.join("\n  - ")
    ))
}

pub(crate) async fn run(ctx: &Context, command: TenantCommand) -> Result<(), Failure> {
    match command {
        TenantCommand::Validate { file } => {
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
        TenantCommand::Put {
            file,
            skip_org_check,
        } => {
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
            let tenants = ctx.tenants()?;
            let secrets = TenantSecretStore::new(
                aws_sdk_secretsmanager::Client::new(&ctx.sdk),
                ctx.secret_prefix()?,
            );
            put_tenant(&tenant, &tenants, &secrets).await?;
            let id = &tenant.config.tenant_id;
            println!(
                "tenant {id} stored (secrets {} and {})",
                secrets.secret_name(id, Part::Webhooks),
                secrets.secret_name(id, Part::Salesforce)
            );
            remind_of_open_items(ctx, &tenant.config.tenant_id).await;
        }
        TenantCommand::Get { tenant_id } => {
            let config = ctx
                .tenants()?
                .get(&tenant_id)
                .await?
                .ok_or_else(|| Failure::NotFound(format!("tenant {tenant_id}")))?;
            if ctx.json {
                println!("{}", serde_json::to_string_pretty(&config)?);
            } else {
                println!(
                    "{}",
                    toml::to_string_pretty(&config).map_err(|e| Failure::Other(e.to_string()))?
                );
            }
        }
        TenantCommand::SplitSecrets { tenant_ids } => {
            let ids = if tenant_ids.is_empty() {
                ctx.tenants()?
                    .list()
                    .await?
                    .into_iter()
                    .map(|t| t.tenant_id)
                    .collect()
            } else {
                tenant_ids
            };
            let secrets = TenantSecretStore::new(
                aws_sdk_secretsmanager::Client::new(&ctx.sdk),
                ctx.secret_prefix()?,
            );
            for id in ids {
                if secrets.split_legacy(&id).await? {
                    println!(
                        "tenant {id}: {} copied into {} and {}; delete it once the functions run",
                        secrets.legacy_secret_name(&id),
                        secrets.secret_name(&id, Part::Webhooks),
                        secrets.secret_name(&id, Part::Salesforce)
                    );
                } else {
                    println!("tenant {id}: no pre-split secret; nothing to do");
                }
            }
        }
        TenantCommand::List => {
            let tenants = ctx.tenants()?.list().await?;
            if ctx.json {
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
    }
    Ok(())
}

/// After a save, says how many of the tenant's items wait for an operator: a fixed setup is
/// the usual moment to replay them. Best effort: without the sync log table, nothing is said.
async fn remind_of_open_items(ctx: &Context, tenant_id: &str) {
    let Ok(log) = ctx.sync_log() else {
        return;
    };
    match log.open(tenant_id, 1000).await {
        Ok(open) if !open.is_empty() => eprintln!(
            "note: {} item(s) of tenant {tenant_id} are open; see `chatsync errors --tenant \
             {tenant_id}`, and once their cause is fixed `chatsync replay --parked --tenant \
             {tenant_id}`",
            open.len()
        ),
        Ok(_) => {}
        Err(e) => tracing::debug!(error = %e, "open items not counted"),
    }
}
