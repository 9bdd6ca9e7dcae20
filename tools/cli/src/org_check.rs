//! `tenant put` and `tenant validate`: the tenant's mapping checked against its org before it
//! is saved, so a wrong picklist value or queue is refused now, not discovered at 3 a.m.

use shared::salesforce::auth::TokenSinkError;
use shared::salesforce::{ClientConfig, SalesforceClient, SalesforceCredentials, TokenSink};
use shared::secret::Secret;
use shared::tenant::TenantFile;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

pub(crate) enum Verdict {
    /// The config fits the org.
    Fits,
    /// No Salesforce credentials in the file: only the offline checks ran.
    NotConnected,
    Refused(Vec<String>),
}

/// Keeps a refresh token Salesforce rotated during the check, so the file saved next holds
/// the live one rather than the spent one.
#[derive(Default)]
struct Captured(Mutex<Option<Secret>>);

impl TokenSink for Captured {
    fn persist_refresh_token<'a>(
        &'a self,
        _tenant_id: &'a str,
        refresh_token: &'a Secret,
    ) -> Pin<Box<dyn Future<Output = Result<(), TokenSinkError>> + Send + 'a>> {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *slot = Some(refresh_token.clone());
        Box::pin(async { Ok(()) })
    }
}

pub(crate) async fn check(tenant: &mut TenantFile) -> Result<Verdict, String> {
    let offline = tenant.config.problems();
    if !offline.is_empty() {
        return Ok(Verdict::Refused(offline));
    }
    let Some(credentials) = tenant.secrets.salesforce.clone() else {
        return Ok(Verdict::NotConnected);
    };
    let client = SalesforceClient::new(ClientConfig::default()).map_err(|e| e.to_string())?;
    let captured = Arc::new(Captured::default());
    let org = client.org(&tenant.config.tenant_id, credentials, captured.clone());
    let problems = shared::mapping::org_check::check(&org, &tenant.config)
        .await
        .map_err(|e| format!("checking the mapping against the org failed: {e}"))?;
    let rotated = captured.0.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let (Some(token), Some(SalesforceCredentials::RefreshToken { refresh_token, .. })) =
        (rotated, tenant.secrets.salesforce.as_mut())
    {
        *refresh_token = token;
    }
    Ok(if problems.is_empty() {
        Verdict::Fits
    } else {
        Verdict::Refused(problems)
    })
}
