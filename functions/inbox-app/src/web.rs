//! The web panel: `GET /panel/{tenant}/{platform}/{contact}?expires=&sig=`, the same view as
//! the Intercom canvas as one HTML page, for platforms without a third-party sidebar. The
//! link's signature and expiry are checked before anything is read (`shared::panel::link`).

use crate::{App, PanelError, show};
use lambda_http::{Body, Request, RequestExt, Response, http};
use shared::panel::{html, link};
use shared::platforms::Platform;
use shared::salesforce::Priority;
use shared::store::links::LinkKey;
use shared::tenant::is_valid_tenant_id;
use std::sync::Arc;
use std::time::Instant;
use time::OffsetDateTime;

/// The page's headers: nothing loaded from elsewhere, nothing kept, the link (it holds the
/// signature) never sent on as a referrer.
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

pub(crate) async fn handle(
    app: &App,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    let started = Instant::now();
    let result = page(app, &request, OffsetDateTime::now_utc()).await;
    let (status, body) = match &result {
        Ok(page) => (200, page.clone()),
        Err(e) => match e.card() {
            Some((title, text)) => (200, html::message(title, &text)),
            None => (e.status(), html::message("chatsync", &e.to_string())),
        },
    };
    let reason = result.as_ref().err().map(ToString::to_string);
    tracing::info!(
        tenant_id = request.path_parameters().first("tenant"),
        platform = request.path_parameters().first("platform"),
        status,
        reason = reason.as_deref(),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        "web panel"
    );
    Ok(Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header("content-security-policy", CSP)
        .header(http::header::CACHE_CONTROL, "no-store")
        .header("referrer-policy", "no-referrer")
        .header("x-content-type-options", "nosniff")
        .body(Body::Text(body))?)
}

async fn page(app: &App, request: &Request, now: OffsetDateTime) -> Result<String, PanelError> {
    if request.method() != http::Method::GET {
        return Err(PanelError::MethodNotAllowed);
    }
    let params = request.path_parameters();
    let tenant_id = params.first("tenant").unwrap_or_default().to_owned();
    let platform = params.first("platform").unwrap_or_default().to_owned();
    let contact = params.first("contact").unwrap_or_default().to_owned();
    if !is_valid_tenant_id(&tenant_id) {
        return Err(PanelError::Unauthorized);
    }
    let config = app
        .tenants
        .get(&tenant_id)
        .await?
        .ok_or(PanelError::Unauthorized)?;
    let secrets = app
        .secrets
        .webhooks(&tenant_id)
        .await?
        .ok_or(PanelError::Unauthorized)?;
    let query = request.query_string_parameters();
    link::verify(
        &secrets.webhooks.panel_link_key,
        &tenant_id,
        &platform,
        &contact,
        query.first("expires"),
        query.first("sig"),
        now,
    )
    .map_err(|_| PanelError::Unauthorized)?;
    let platform: Platform = platform
        .parse()
        .map_err(|_| PanelError::UnknownPlatform(platform.clone()))?;
    let key = LinkKey::PlatformContact {
        platform,
        contact_id: contact,
    };
    let Some(found) = app.links.get(&tenant_id, &key).await? else {
        return Ok(html::message(
            "Not in Salesforce yet",
            "chatsync has not matched this customer to a Salesforce Contact or Lead. It does \
             once they write in with an e-mail or phone the org knows.",
        ));
    };
    let credentials = app
        .secrets
        .salesforce(&tenant_id)
        .await?
        .and_then(|s| s.salesforce)
        .ok_or(PanelError::NotConnected)?;
    let org = app
        .salesforce
        .org(&tenant_id, credentials, Arc::new(app.secrets.clone()))
        .budgeted(config.api_budget, Priority::Critical);
    let (view, _) = show(app, &org, &tenant_id, &found.person, &config.panel, now).await?;
    let instance_url = org.session().await?.instance_url;
    Ok(html::page(&view, &instance_url))
}
