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
    /// REST requests sent for this tenant since the function started.
    pub(in crate::salesforce) api_calls: u64,
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
            let tenants = self.client.tenants();
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
        self.token_sink
            .persist_refresh_token(&self.tenant_id, token)
            .await
            .map_err(SalesforceError::TokenSink)?;
        if let Some(t) = self.client.tenants().get_mut(&self.tenant_id)
            && t.refresh_token.as_ref() == Some(token)
        {
            t.unpersisted = false;
        }
        Ok(())
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

    async fn fetch_session(&self) -> Result<Session, SalesforceError> {
        let current_refresh = self.current_refresh_token();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let form = token_form(&self.credentials, current_refresh.as_ref(), now)?;
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
        let token: TokenResponse = parse_token_response(status, &body)?;
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
