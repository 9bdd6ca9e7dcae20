//! The HTTP side: one shared `reqwest::Client` per warm function, per-tenant state, and the one
//! place a request is sent: bearer token, headers, refresh-once-and-replay, the limit header.

use super::API_VERSION;
use super::auth::{SalesforceCredentials, TokenSink};
use super::composite::{AUTO_ASSIGN_HEADER, DUPLICATE_RULE_HEADER, sets_owner};
use super::error::{SalesforceError, TransportKind, parse_error_body};
use super::exchanges::{Exchange, Exchanges};
use super::limits::{ApiBudget, ApiUsage, Priority, parse_limit_info};
mod session;

use reqwest::Method;
use serde_json::Value;
pub use session::Session;
use session::TenantState;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Timeouts and session policy for every call the client makes.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for a whole request, body included.
    pub request_timeout: Duration,
    /// Refresh a session older than this before using it. Salesforce sends no expiry; without
    /// this, sessions are used until a 401 (which costs one refused call). Bounded by default,
    /// so a revoked connection or a changed setup is noticed within the hour.
    pub max_session_age: Option<Duration>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            // Lambda timeouts are tens of seconds; one slow Salesforce call must not eat them.
            request_timeout: Duration::from_secs(20),
            max_session_age: Some(Duration::from_secs(3600)),
        }
    }
}

pub(super) struct Inner {
    pub(super) http: reqwest::Client,
    pub(super) config: ClientConfig,
    tenants: Mutex<HashMap<String, TenantState>>,
    /// Held while a token is fetched, so concurrent calls that all find the session expired
    /// wait for one refresh instead of each spending (and, with rotation, invalidating) the
    /// refresh token.
    pub(super) token_fetch: tokio::sync::Mutex<()>,
    api_calls: AtomicU64,
    pub(super) token_requests: AtomicU64,
}

/// The Salesforce client of one warm function; cheap to clone, shared across tenants.
#[derive(Clone)]
pub struct SalesforceClient {
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for SalesforceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SalesforceClient")
            .field("config", &self.inner.config)
            .field("api_calls", &self.api_calls())
            .finish_non_exhaustive()
    }
}

impl SalesforceClient {
    pub fn new(config: ClientConfig) -> Result<Self, SalesforceError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .user_agent(concat!("chatsync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SalesforceError::Configuration(format!("HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                config,
                tenants: Mutex::new(HashMap::new()),
                token_fetch: tokio::sync::Mutex::new(()),
                api_calls: AtomicU64::new(0),
                token_requests: AtomicU64::new(0),
            }),
        })
    }

    /// A handle on one tenant's org. Sessions are cached by `tenant_id` across handles.
    pub fn org(
        &self,
        tenant_id: impl Into<String>,
        credentials: SalesforceCredentials,
        token_sink: Arc<dyn TokenSink>,
    ) -> Org {
        Org {
            client: self.clone(),
            tenant_id: tenant_id.into(),
            credentials,
            token_sink,
            duplicate_rule_header: None,
            exchanges: None,
            budget: None,
        }
    }

    /// REST requests sent since start, refused ones included (token requests are not API calls).
    pub fn api_calls(&self) -> u64 {
        self.inner.api_calls.load(Ordering::Relaxed)
    }

    /// Requests sent to the token endpoint since start.
    pub fn token_requests(&self) -> u64 {
        self.inner.token_requests.load(Ordering::Relaxed)
    }

    /// The tenant's org usage as the last response reported it.
    pub fn usage(&self, tenant_id: &str) -> Option<ApiUsage> {
        self.tenants().get(tenant_id).and_then(|t| t.usage)
    }

    /// The usage, if reported within [`USAGE_FRESH`]: an older reading (the function was
    /// idle, or the budget refused everything since) would refuse on stale figures forever,
    /// since only an answer brings a new one.
    fn fresh_usage(&self, tenant_id: &str) -> Option<ApiUsage> {
        self.tenants()
            .get(tenant_id)
            .filter(|t| t.usage_at.is_some_and(|at| at.elapsed() < USAGE_FRESH))
            .and_then(|t| t.usage)
    }

    /// Drops the tenant's cached session (after its credentials changed).
    pub fn forget_session(&self, tenant_id: &str) {
        if let Some(t) = self.tenants().get_mut(tenant_id) {
            t.session = None;
        }
    }

    pub(super) fn tenants(&self) -> MutexGuard<'_, HashMap<String, TenantState>> {
        // The map holds plain data; a panic elsewhere cannot leave it half-updated in a way
        // that matters more than losing the cache, so poisoning is ignored.
        self.inner
            .tenants
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// One request as the org handle builds it, before authentication.
pub(super) struct Call<'a> {
    pub(super) method: Method,
    /// Relative to `/services/data/{API_VERSION}/`, or an absolute `/services/…` path.
    pub(super) path: String,
    pub(super) query: Vec<(&'a str, String)>,
    pub(super) body: Option<&'a Value>,
    pub(super) owner_set: bool,
}

impl<'a> Call<'a> {
    pub(super) fn new(method: Method, path: String) -> Self {
        Self {
            method,
            path,
            query: Vec::new(),
            body: None,
            owner_set: false,
        }
    }

    pub(super) fn body(mut self, body: &'a Value) -> Self {
        self.owner_set = sets_owner(body);
        self.body = Some(body);
        self
    }
}

/// A successful answer.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) body: String,
}

impl Answer {
    pub(super) fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, SalesforceError> {
        serde_json::from_str(&self.body).map_err(|e| SalesforceError::InvalidResponse {
            status: self.status,
            reason: e.to_string(),
        })
    }
}

/// One tenant's org: every Salesforce operation goes through here.
#[derive(Clone)]
pub struct Org {
    pub(super) client: SalesforceClient,
    pub(super) tenant_id: String,
    pub(super) credentials: SalesforceCredentials,
    pub(super) token_sink: Arc<dyn TokenSink>,
    pub(super) duplicate_rule_header: Option<String>,
    pub(super) exchanges: Option<Exchanges>,
    /// The tenant's spending policy and this work's priority: each call is admitted first.
    pub(super) budget: Option<(ApiBudget, Priority)>,
}

impl std::fmt::Debug for Org {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Org")
            .field("tenant_id", &self.tenant_id)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

/// How long an org usage reading counts for the budget; older, the next call goes out and
/// its answer tells.
const USAGE_FRESH: Duration = Duration::from_secs(30);

/// The pause before a failed call is sent again in place.
const RESEND_PAUSE: Duration = Duration::from_millis(200);

/// Whether a failed call may be sent again at once: a row lock (the transaction was rolled
/// back, nothing was done; Salesforce advises retrying shortly), or a read whose answer was
/// lost to an error page or a dropped connection. Not a write that may have been applied (an
/// HTML 500, a dropped answer: the message's retry and its recovery look for what it made),
/// nor Salesforce saying it is unavailable, a refused connection or a timeout: an outage is
/// waited out with backoff, not resent into.
/// <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm>
pub(crate) fn may_resend(method: &Method, error: &SalesforceError) -> bool {
    let read = matches!(*method, Method::GET | Method::HEAD);
    match error {
        SalesforceError::Api { status, error } => {
            error.code == "UNABLE_TO_LOCK_ROW"
                || (read
                    && error.code != "SERVER_UNAVAILABLE"
                    && matches!(status, Some(500 | 502 | 504)))
        }
        SalesforceError::Transport {
            kind: TransportKind::Other,
            ..
        } => read,
        _ => false,
    }
}

impl Org {
    /// Sends `Sforce-Duplicate-Rule-Header` (e.g. `allowSave=true`) on every write.
    pub fn with_duplicate_rule_header(mut self, value: impl Into<String>) -> Self {
        self.duplicate_rule_header = Some(value.into());
        self
    }

    /// Admits every call through this handle by the tenant's budget at `priority` first: a
    /// refusal is `BudgetExhausted` (held like the daily limit), and nothing is sent.
    pub fn budgeted(mut self, budget: ApiBudget, priority: Priority) -> Self {
        self.budget = Some((budget, priority));
        self
    }

    /// Records every request sent through this handle, and its answer, into `exchanges`.
    pub fn recording(mut self, exchanges: &Exchanges) -> Self {
        // An off recorder would take copies only to drop them.
        self.exchanges = exchanges.is_on().then(|| exchanges.clone());
        self
    }

    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    /// The org usage the last response reported.
    pub fn usage(&self) -> Option<ApiUsage> {
        self.client.usage(&self.tenant_id)
    }

    /// REST requests sent for this tenant by this function in the last 24 hours (Salesforce's
    /// window for the daily allowance).
    pub fn calls_last_day(&self) -> u64 {
        self.client
            .tenants()
            .get(&self.tenant_id)
            .map_or(0, |t| t.recent.total(std::time::Instant::now()))
    }

    /// REST requests sent for this tenant since the function started.
    pub fn api_calls(&self) -> u64 {
        self.client
            .tenants()
            .get(&self.tenant_id)
            .map_or(0, |t| t.api_calls)
    }

    /// Asks `budget` whether `cost` calls of `priority` may be spent now, given the org usage
    /// the last response reported and chatsync's own spend (`chatsync_used`, counted by the
    /// caller over Salesforce's 24-hour window; the per-app header figure wins when higher).
    pub fn admit(
        &self,
        budget: &ApiBudget,
        chatsync_used: u64,
        priority: Priority,
        cost: u64,
    ) -> Result<(), SalesforceError> {
        let usage = self.client.fresh_usage(&self.tenant_id);
        let ours = ApiBudget::chatsync_used(usage.as_ref(), chatsync_used);
        budget
            .admit(usage.as_ref(), ours, priority, cost)
            .map_err(|r| SalesforceError::BudgetExhausted {
                priority: r.priority,
                reason: r.reason,
            })
    }

    fn url(&self, instance_url: &str, path: &str) -> String {
        if path.starts_with("/services/") {
            format!("{instance_url}{path}")
        } else {
            format!("{instance_url}/services/data/{API_VERSION}/{path}")
        }
    }

    /// Sends one call; on a refreshable 401 gets a new session and replays exactly once.
    pub(super) async fn execute(&self, call: &Call<'_>) -> Result<Answer, SalesforceError> {
        let mut replayed = false;
        let mut resent = false;
        loop {
            let session = self.session().await?;
            let inner = &self.client.inner;
            let mut request = inner
                .http
                .request(
                    call.method.clone(),
                    self.url(&session.instance_url, &call.path),
                )
                .bearer_auth(session.access_token.expose())
                .header(reqwest::header::ACCEPT, "application/json");
            if !call.query.is_empty() {
                request = request.query(&call.query);
            }
            if let Some(body) = call.body {
                request = request.json(body);
            }
            if call.owner_set {
                request = request.header(AUTO_ASSIGN_HEADER, "FALSE");
            }
            if let Some(h) = &self.duplicate_rule_header
                && matches!(call.method, Method::POST | Method::PATCH | Method::PUT)
            {
                request = request.header(DUPLICATE_RULE_HEADER, h);
            }
            // The org's usage is Salesforce's own figure (shared by every instance); the
            // calls this function spent count as chatsync's share unless the per-app header
            // says more.
            if let Some((budget, priority)) = &self.budget {
                self.admit(budget, self.calls_last_day(), *priority, 1)?;
            }
            inner.api_calls.fetch_add(1, Ordering::Relaxed);
            {
                let mut tenants = self.client.tenants();
                let state = tenants.entry(self.tenant_id.clone()).or_default();
                state.api_calls += 1;
                state.recent.count(std::time::Instant::now());
            }
            let answer = match request.send().await {
                Ok(response) => {
                    self.record_usage(response.headers());
                    let status = response.status().as_u16();
                    response.text().await.map(|body| (status, body))
                }
                Err(e) => Err(e),
            };
            self.record_exchange(call, &answer);
            let error = match answer.map_err(SalesforceError::transport) {
                Ok((status, body)) if (200..300).contains(&status) => {
                    return Ok(Answer { status, body });
                }
                Ok((status, body)) => parse_error_body(status, &body),
                Err(e) => e,
            };
            if !replayed
                && matches!(
                    error,
                    SalesforceError::Api {
                        status: Some(401),
                        ..
                    }
                )
                && error.is_refreshable_session()
            {
                tracing::info!(tenant_id = %self.tenant_id, "Salesforce session expired; refreshing");
                self.invalidate(&session);
                replayed = true;
                continue;
            }
            // A passing failure is sent again once, here, when that cannot do the work twice:
            // cheaper than the message's whole retry, which re-reads and re-sends everything.
            if !resent && may_resend(&call.method, &error) {
                tracing::info!(tenant_id = %self.tenant_id, %error, "Salesforce call failed in passing; sending it again");
                resent = true;
                tokio::time::sleep(RESEND_PAUSE).await;
                continue;
            }
            return Err(error);
        }
    }

    fn record_exchange(&self, call: &Call<'_>, answer: &Result<(u16, String), reqwest::Error>) {
        let Some(exchanges) = &self.exchanges else {
            return;
        };
        let mut path = call.path.clone();
        if !call.query.is_empty() {
            // Encoded as sent, so the path reads back the same way as a subrequest URL.
            let query: Vec<String> = call
                .query
                .iter()
                .map(|(k, v)| {
                    let v = percent_encoding::utf8_percent_encode(
                        v,
                        percent_encoding::NON_ALPHANUMERIC,
                    );
                    format!("{k}={v}")
                })
                .collect();
            path = format!("{path}?{}", query.join("&"));
        }
        let (status, response) = match answer {
            Ok((status, body)) => (*status, body.clone()),
            Err(e) => (0, format!("no answer: {e}")),
        };
        exchanges.push(Exchange {
            method: call.method.to_string(),
            path,
            request: call.body.cloned(),
            status,
            response,
        });
    }

    fn record_usage(&self, headers: &reqwest::header::HeaderMap) {
        let usage = headers
            .get("sforce-limit-info")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_limit_info);
        if let Some(usage) = usage {
            let mut tenants = self.client.tenants();
            let state = tenants.entry(self.tenant_id.clone()).or_default();
            state.usage = Some(usage);
            state.usage_at = Some(std::time::Instant::now());
        }
    }
}
