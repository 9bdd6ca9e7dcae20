//! `chatsync send`: a raw payload signed as the platform would sign it, POSTed to an intake.

use crate::Context;
use crate::failure::Failure;
use shared::platforms::{self, Platform};
use shared::store::secrets::TenantSecretStore;
use shared::tenant::TenantFile;
use std::path::{Path, PathBuf};

pub(crate) async fn run(
    ctx: &Context,
    platform: Platform,
    tenant: &str,
    payload: &Path,
    url: &str,
    tenant_file: Option<PathBuf>,
) -> Result<(), Failure> {
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
            aws_sdk_secretsmanager::Client::new(&ctx.sdk),
            ctx.secret_prefix()?,
        )
        .get(tenant)
        .await?
        .ok_or_else(|| Failure::NotFound(format!("secret of tenant {tenant}")))?,
    };
    let secret = secrets
        .webhooks
        .for_platform(platform)
        .first()
        .ok_or_else(|| Failure::Usage(format!("tenant {tenant} has no {platform} secret")))?;
    let body = std::fs::read(payload)
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
    Ok(())
}
