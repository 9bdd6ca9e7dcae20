//! Sessions per tenant: the cached access token, the refresh-token rotation chain and its
//! write-back, and the single token fetch that concurrent calls share.

use super::Org;
use crate::salesforce::auth::{
    SalesforceCredentials, TokenResponse, parse_token_response, token_form,
};
use crate::salesforce::error::SalesforceError;
use crate::salesforce::limits::ApiUsage;
use crate::secret::Secret;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// How many replaced refresh tokens a tenant's cache remembers.
const MAX_SUPERSEDED: usize = 16;
/// How long a refused refresh token is re-read before `invalid_grant` is believed, and how
/// often: another warm function's rotation and write-back take well under this.
const REREAD_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);
const REREAD_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

/// An access token and where to use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub access_token: Secret,
    /// Base URL of the org, from the token response (`https://acme.my.salesforce.com`).
    pub instance_url: String,
    obtained: Instant,
}

#[derive(Debug, Default)]
pub(in crate::salesforce) struct TenantState {
    pub(in crate::salesforce) session: Option<Session>,
    /// Which connection the session and the rotation chain belong to ([`Org::connection`]):
    /// a tenant re-pointed to another org, client or user starts afresh.
    connection: Option<String>,
    /// The newest refresh token seen (after a rotation), used instead of the configured one
    /// while the configured one is a token it replaced.
    refresh_token: Option<Secret>,
    /// Refresh tokens replaced by rotation in this warm function. A configured token found
    /// here is stale (the handle predates the write-back); one not found here is new (an admin
    /// re-authorised) and wins over the cached chain.
    superseded: Vec<Secret>,
    /// A rotated refresh token not yet written back; the write is retried before any use.
    unpersisted: bool,
    pub(in crate::salesforce) usage: Option<ApiUsage>,
    /// When `usage` was reported.
    pub(in crate::salesforce) usage_at: Option<std::time::Instant>,
    /// REST requests sent for this tenant since the function started.
    pub(in crate::salesforce) api_calls: u64,
    /// The same, per hour over the last day.
    pub(in crate::salesforce) recent: crate::salesforce::limits::HourlyCalls,
}

impl Org {
    /// A usable session: the cached one, else a new one from the token endpoint.
    pub async fn session(&self) -> Result<Session, SalesforceError> {
        if let Some(session) = self.cached_session().await? {
            return Ok(session);
        }
        let _fetching = self.client.inner.token_fetch.lock().await;
        // Another call may have fetched one while this one waited.
        if let Some(session) = self.cached_session().await? {
            return Ok(session);
        }
        self.fetch_session().await
    }

    /// The cached session if still usable, after writing back any rotated refresh token that
    /// is still pending.
    async fn cached_session(&self) -> Result<Option<Session>, SalesforceError> {
        let (cached, pending) = {
            let mut tenants = self.client.tenants();
            // A session (and rotated tokens) of another connection than the credentials now
            // name is never used. (A new refresh token for the same login URL and app is used
            // at the next refresh, within `max_session_age`: another warm function's rotation
            // looks the same, and must not cost a session.)
            if let Some(state) = tenants.get_mut(&self.tenant_id)
                && state.connection.is_some()
                && state.connection.as_deref() != Some(self.connection().as_str())
            {
                *state = TenantState {
                    usage: state.usage.take(),
                    usage_at: state.usage_at,
                    api_calls: state.api_calls,
                    recent: std::mem::take(&mut state.recent),
                    ..TenantState::default()
                };
            }
            let state = tenants.get(&self.tenant_id);
            let fresh = |s: &&Session| {
                self.client
                    .inner
                    .config
                    .max_session_age
                    .is_none_or(|max| s.obtained.elapsed() < max)
            };
            let cached = state
                .and_then(|t| t.session.as_ref())
                .filter(fresh)
                .cloned();
            let pending = state
                .filter(|t| t.unpersisted)
                .and_then(|t| t.refresh_token.clone());
            (cached, pending)
        };
        if let Some(token) = pending {
            self.persist_rotation(&token).await?;
        }
        Ok(cached)
    }

    async fn persist_rotation(&self, token: &Secret) -> Result<(), SalesforceError> {
        let replaced = self
            .client
            .tenants()
            .get(&self.tenant_id)
            .and_then(|t| t.superseded.last().cloned());
        self.token_sink
            .persist_rotated_token(&self.tenant_id, replaced.as_ref(), token)
            .await
            .map_err(SalesforceError::TokenSink)?;
        if let Some(t) = self.client.tenants().get_mut(&self.tenant_id)
            && t.refresh_token.as_ref() == Some(token)
        {
            t.unpersisted = false;
        }
        Ok(())
    }

    /// What identifies the connection the credentials name (never a secret): the flow, the
    /// login URL, the connected app and, for JWT, the user.
    fn connection(&self) -> String {
        match &self.credentials {
            SalesforceCredentials::JwtBearer {
                login_url,
                client_id,
                username,
                ..
            } => format!("jwt|{login_url}|{client_id}|{username}"),
            SalesforceCredentials::RefreshToken {
                login_url,
                client_id,
                ..
            } => format!("refresh|{login_url}|{client_id}"),
            SalesforceCredentials::ClientCredentials {
                login_url,
                client_id,
                ..
            } => format!("client|{login_url}|{client_id}"),
        }
    }

    /// The refresh token to use now: the rotated one unless the configured one is newer.
    fn current_refresh_token(&self) -> Option<Secret> {
        let SalesforceCredentials::RefreshToken { refresh_token, .. } = &self.credentials else {
            return None;
        };
        let tenants = self.client.tenants();
        let state = tenants.get(&self.tenant_id);
        let rotated = state.and_then(|t| t.refresh_token.clone());
        let stale = state.is_some_and(|t| t.superseded.contains(refresh_token));
        match rotated {
            Some(latest) if stale || &latest == refresh_token => Some(latest),
            _ => Some(refresh_token.clone()),
        }
    }

    /// One token request with `refresh` (for the refresh-token flow).
    async fn request_token(
        &self,
        refresh: Option<&Secret>,
    ) -> Result<TokenResponse, SalesforceError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        super::super::auth::check_url("login_url", self.credentials.login_url())?;
        let form = token_form(&self.credentials, refresh, now)?;
        let inner = &self.client.inner;
        inner.token_requests.fetch_add(1, Ordering::Relaxed);
        let response = inner
            .http
            .post(self.credentials.token_url())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(SalesforceError::transport)?;
        let status = response.status().as_u16();
        let body = response.text().await.map_err(SalesforceError::transport)?;
        let token = parse_token_response(status, &body)?;
        super::super::auth::check_url("instance_url", &token.instance_url)?;
        Ok(token)
    }

    /// A token, re-reading the stored refresh token when Salesforce says the one presented is
    /// invalid: another warm function (or an admin) may have rotated it since this one read
    /// it. `invalid_grant` is final only once the stored token has stayed the one refused for
    /// [`REREAD_PATIENCE`] (another function may be between its refresh and its write-back).
    async fn token_with_rereads(
        &self,
        mut presented: Option<Secret>,
    ) -> Result<(TokenResponse, Option<Secret>), SalesforceError> {
        loop {
            let error = match self.request_token(presented.as_ref()).await {
                Ok(token) => return Ok((token, presented)),
                Err(e) if presented.is_some() && e.is_invalid_grant() => e,
                Err(e) => return Err(e),
            };
            let refused = presented.clone();
            let waited_since = Instant::now();
            let newer = loop {
                let stored = self
                    .token_sink
                    .stored_refresh_token(&self.tenant_id)
                    .await
                    .map_err(SalesforceError::TokenSink)?;
                match stored {
                    Some(stored) if Some(&stored) != refused.as_ref() => break stored,
                    _ if waited_since.elapsed() >= REREAD_PATIENCE => return Err(error),
                    _ => tokio::time::sleep(REREAD_PAUSE).await,
                }
            };
            self.adopt_stored(refused, &newer);
            presented = Some(newer);
        }
    }

    /// Takes `stored` (written back by another warm function) as the newest refresh token,
    /// and `refused` as replaced.
    fn adopt_stored(&self, refused: Option<Secret>, stored: &Secret) {
        let mut tenants = self.client.tenants();
        let state = tenants.entry(self.tenant_id.clone()).or_default();
        if let Some(old) = refused {
            if state.superseded.len() >= MAX_SUPERSEDED {
                state.superseded.remove(0);
            }
            state.superseded.push(old);
        }
        state.refresh_token = Some(stored.clone());
        state.unpersisted = false;
    }

    async fn fetch_session(&self) -> Result<Session, SalesforceError> {
        let (token, current_refresh) = self
            .token_with_rereads(self.current_refresh_token())
            .await?;
        let session = Session {
            access_token: token.access_token,
            instance_url: token.instance_url.trim_end_matches('/').to_owned(),
            obtained: Instant::now(),
        };
        let rotated = token
            .refresh_token
            .filter(|new| current_refresh.as_ref().is_some_and(|cur| cur != new));
        {
            let mut tenants = self.client.tenants();
            let state = tenants.entry(self.tenant_id.clone()).or_default();
            state.session = Some(session.clone());
            state.connection = Some(self.connection());
            if let (Some(new), Some(old)) = (&rotated, current_refresh) {
                // Bounded: a warm function sees a handful of rotations at most.
                if state.superseded.len() >= MAX_SUPERSEDED {
                    state.superseded.remove(0);
                }
                state.superseded.push(old);
                state.refresh_token = Some(new.clone());
                state.unpersisted = true;
            }
        }
        // The old refresh token is already dead: the new one is written back before the access
        // token that came with it is used. On failure it stays cached and the write is retried.
        if let Some(new) = rotated {
            tracing::info!(tenant_id = %self.tenant_id, "Salesforce rotated the refresh token");
            self.persist_rotation(&new).await?;
        }
        Ok(session)
    }

    /// Forgets `failed` if it is still the cached session (another call may have refreshed).
    pub(in crate::salesforce) fn invalidate(&self, failed: &Session) {
        if let Some(t) = self.client.tenants().get_mut(&self.tenant_id)
            && t.session
                .as_ref()
                .is_some_and(|s| s.access_token == failed.access_token)
        {
            t.session = None;
        }
    }
}
