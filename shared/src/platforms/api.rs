//! What the platforms' REST API clients share (`platforms::<p>::client`): one HTTP client setup,
//! base URLs checked once, ids sent as single percent-encoded path segments, bounded answer
//! bodies, the answer's status read into an [`EnrichError`], and each token's quota as the
//! platform last reported it.
//!
//! Rate limits. Intercom sends `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
//! `X-RateLimit-Reset` (a UNIX timestamp in seconds) on authenticated responses and answers
//! `429 Too Many Requests` past the limit
//! (<https://developers.intercom.com/docs/references/rest-api/errors/rate-limiting>, 2.x). respond.io sends `x-ratelimit-limit`,
//! `x-ratelimit-remaining` and `retry-after` (seconds) and answers 429 (respond.io TypeScript
//! SDK, `src/client.ts`). Each [`Api`] remembers, per token, a response that said nothing
//! remains until a known time, and refuses further calls until then without sending them. The
//! key is a SHA-256 of the token: one token is one app's quota, and the token itself is never
//! kept in the map nor written to a log or an error.

use crate::error::{Classify, ErrorClass};
use crate::event::Platform;
use crate::secret::Secret;
use reqwest::{StatusCode, Url};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use thiserror::Error;

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// A contact is a few kilobytes; anything past this is not a contact.
const MAX_BODY: usize = 1024 * 1024;
/// Entries kept in the rate-limit map before expired ones are swept.
const SWEEP_AT: usize = 1024;

/// Why a platform API call (today: a contact lookup) failed. Never carries the token.
#[derive(Debug, Error)]
pub enum EnrichError {
    /// The platform said to wait (429), or its last answer said nothing remains until later.
    #[error("{platform} rate limit reached; retry after {retry_after:?}")]
    RateLimited {
        platform: Platform,
        retry_after: Option<Duration>,
    },
    /// 5xx, timeout, connection failure: worth retrying.
    #[error("{platform} contact lookup failed: {reason}")]
    Transient { platform: Platform, reason: String },
    /// 401/403: the tenant's token is wrong, revoked or lacks the contacts scope.
    #[error("{platform} refused the tenant's API token (HTTP {status})")]
    Unauthorized { platform: Platform, status: u16 },
    /// The answer (or the request we would send) is not usable: malformed JSON, a refused id.
    #[error("{platform} contact lookup: {reason}")]
    Data { platform: Platform, reason: String },
    /// The client itself is set up wrong (bad base URL, HTTP client).
    #[error("contact enrichment is misconfigured: {0}")]
    Configuration(String),
}

impl EnrichError {
    /// How long the platform asked to wait, when this is a rate limit that said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            EnrichError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl Classify for EnrichError {
    fn class(&self) -> ErrorClass {
        match self {
            EnrichError::RateLimited { .. } => ErrorClass::RateLimited,
            EnrichError::Transient { .. } => ErrorClass::Transient,
            EnrichError::Unauthorized { .. } | EnrichError::Configuration(_) => {
                ErrorClass::Configuration
            }
            EnrichError::Data { .. } => ErrorClass::Data,
        }
    }
}

/// The HTTP client the platform API clients share (cheap to clone: one connection pool).
pub fn http_client() -> Result<reqwest::Client, EnrichError> {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("chatsync/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| EnrichError::Configuration(format!("HTTP client: {e}")))
}

/// One platform's REST API: the shared HTTP client, the base URL, and the quota per token.
/// Cheap to clone; clones share the quota memory.
#[derive(Debug, Clone)]
pub(crate) struct Api {
    platform: Platform,
    http: reqwest::Client,
    base: String,
    limits: Arc<Mutex<Limits>>,
}

impl Api {
    /// `base` must be an http(s) URL; a trailing `/` is ignored.
    pub(crate) fn new(
        platform: Platform,
        http: reqwest::Client,
        base: String,
    ) -> Result<Self, EnrichError> {
        Ok(Self {
            platform,
            http,
            base: base_url(base)?,
            limits: Arc::new(Mutex::new(Limits::default())),
        })
    }

    /// The base with `segments` appended, each percent-encoded (an id never changes the path).
    pub(crate) fn url(&self, segments: &[&str]) -> Result<Url, EnrichError> {
        endpoint(&self.base, segments)
    }

    /// GETs `url` as JSON with the tenant's `auth` and the platform's extra `headers`. The
    /// body of a 2xx answer, `None` on 404, else the status as an error; `subject` names what
    /// was asked for in that error (no token, no URL).
    pub(crate) async fn get(
        &self,
        url: Url,
        auth: Auth<'_>,
        headers: &[(&'static str, &'static str)],
        subject: &str,
    ) -> Result<Option<Vec<u8>>, EnrichError> {
        match self
            .call(reqwest::Method::GET, url, auth, headers, None, subject)
            .await?
        {
            Answer::Body(body) => Ok(Some(body)),
            Answer::NotFound => Ok(None),
            Answer::Conflict(_) => Err(EnrichError::Data {
                platform: self.platform,
                reason: format!("HTTP 409 for {subject}"),
            }),
        }
    }

    /// Sends `body` as JSON with `method` (a write), answering as [`Api::get`] does, and a 409
    /// (Intercom: the contact exists) as [`Answer::Conflict`] with its body.
    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        url: Url,
        auth: Auth<'_>,
        headers: &[(&'static str, &'static str)],
        body: &serde_json::Value,
        subject: &str,
    ) -> Result<Answer, EnrichError> {
        self.call(method, url, auth, headers, Some(body), subject)
            .await
    }

    async fn call(
        &self,
        method: reqwest::Method,
        url: Url,
        auth: Auth<'_>,
        headers: &[(&'static str, &'static str)],
        body: Option<&serde_json::Value>,
        subject: &str,
    ) -> Result<Answer, EnrichError> {
        let platform = self.platform;
        let key = LimitKey::new(platform, auth.quota_key());
        if let Some(wait) = self.lock_limits().blocked(&key, SystemTime::now()) {
            return Err(EnrichError::RateLimited {
                platform,
                retry_after: Some(wait),
            });
        }
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(body);
        }
        // The platform's own Accept (Tidio's versioned one) replaces the plain one.
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("accept"))
        {
            request = request.header(reqwest::header::ACCEPT, "application/json");
        }
        request = match auth {
            Auth::Bearer(token) => request.bearer_auth(token.expose()),
            Auth::Headers(pairs) => pairs
                .iter()
                .fold(request, |r, (name, value)| r.header(*name, value.expose())),
        };
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.map_err(|e| transport(platform, e))?;
        let status = response.status();
        let now = SystemTime::now();
        let rate = RateHeaders::read(response.headers());
        self.lock_limits().record(key, &rate, status, now);
        match status {
            s if s.is_success() => read_body(platform, response).await.map(Answer::Body),
            StatusCode::NOT_FOUND => Ok(Answer::NotFound),
            StatusCode::CONFLICT => read_body(platform, response).await.map(Answer::Conflict),
            StatusCode::TOO_MANY_REQUESTS => Err(EnrichError::RateLimited {
                platform,
                retry_after: rate.wait(now),
            }),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(EnrichError::Unauthorized {
                platform,
                status: status.as_u16(),
            }),
            StatusCode::REQUEST_TIMEOUT => Err(EnrichError::Transient {
                platform,
                reason: "HTTP 408".into(),
            }),
            s if s.is_server_error() => Err(EnrichError::Transient {
                platform,
                reason: format!("HTTP {}", s.as_u16()),
            }),
            s => Err(EnrichError::Data {
                platform,
                reason: format!("HTTP {} for {subject}", s.as_u16()),
            }),
        }
    }

    fn lock_limits(&self) -> std::sync::MutexGuard<'_, Limits> {
        self.limits.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A platform's answer that is not an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    Body(Vec<u8>),
    NotFound,
    /// 409, with its body.
    Conflict(Vec<u8>),
}

/// How a tenant's call is authenticated.
#[derive(Clone, Copy)]
pub(crate) enum Auth<'a> {
    /// `Authorization: Bearer <token>` (Intercom, respond.io).
    Bearer(&'a Secret),
    /// Credentials in the platform's own headers (Tidio's client id and secret); the last is
    /// the quota's key.
    Headers(&'a [(&'static str, &'a Secret)]),
}

impl Auth<'_> {
    /// What names the app's quota: the token, or the last header's secret.
    fn quota_key(&self) -> &str {
        match self {
            Auth::Bearer(token) => token.expose(),
            Auth::Headers(pairs) => pairs.last().map_or("", |(_, s)| s.expose()),
        }
    }
}

/// An answer's body that is not the documented JSON, as a data error.
pub(crate) fn malformed(platform: Platform, e: serde_json::Error) -> EnrichError {
    EnrichError::Data {
        platform,
        reason: format!("the answer is not the documented JSON: {e}"),
    }
}

/// An agent record as the platforms answer it: `id` (text or number), `email`, and `name`, or
/// `firstName` and `lastName` (respond.io).
#[derive(serde::Deserialize)]
struct AgentBody {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, rename = "firstName")]
    first_name: Option<String>,
    #[serde(default, rename = "lastName")]
    last_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

impl AgentBody {
    fn agent(self) -> crate::event::Agent {
        let joined = [clean(self.first_name), clean(self.last_name)]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        crate::event::Agent {
            id: match self.id {
                Some(serde_json::Value::String(s)) => clean(Some(s)),
                Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                _ => None,
            },
            name: clean(self.name).or_else(|| clean(Some(joined))),
            email: clean(self.email).map(|e| e.to_lowercase()),
        }
    }
}

/// One agent's body (Intercom admin, respond.io user).
pub(crate) fn parse_agent(
    platform: Platform,
    body: &[u8],
) -> Result<crate::event::Agent, EnrichError> {
    serde_json::from_slice::<AgentBody>(body)
        .map(AgentBody::agent)
        .map_err(|e| malformed(platform, e))
}

/// A list of agents under `field` (Tidio's `{operators: […]}`).
pub(crate) fn parse_agents(
    platform: Platform,
    body: &[u8],
    field: &str,
) -> Result<Vec<crate::event::Agent>, EnrichError> {
    let mut v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| malformed(platform, e))?;
    let list = v
        .get_mut(field)
        .map(serde_json::Value::take)
        .ok_or_else(|| EnrichError::Data {
            platform,
            reason: format!("no {field:?} list in the answer"),
        })?;
    serde_json::from_value::<Vec<AgentBody>>(list)
        .map(|l| l.into_iter().map(AgentBody::agent).collect())
        .map_err(|e| malformed(platform, e))
}

/// A trimmed string; blank is absent.
pub(crate) fn clean(s: Option<String>) -> Option<String> {
    let s = s?;
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

fn base_url(url: String) -> Result<String, EnrichError> {
    let trimmed = url.trim().trim_end_matches('/').to_owned();
    let parsed = Url::parse(&trimmed)
        .map_err(|e| EnrichError::Configuration(format!("base URL {trimmed:?}: {e}")))?;
    if parsed.cannot_be_a_base() || !matches!(parsed.scheme(), "http" | "https") {
        return Err(EnrichError::Configuration(format!(
            "base URL {trimmed:?} is not an http(s) URL"
        )));
    }
    Ok(trimmed)
}

fn endpoint(base: &str, segments: &[&str]) -> Result<Url, EnrichError> {
    let mut url = Url::parse(base)
        .map_err(|e| EnrichError::Configuration(format!("base URL {base:?}: {e}")))?;
    url.path_segments_mut()
        .map_err(|()| EnrichError::Configuration(format!("base URL {base:?} takes no path")))?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

fn transport(platform: Platform, e: reqwest::Error) -> EnrichError {
    let reason = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        // The URL holds only the base and the contact id; strip it anyway to keep errors short.
        format!("request failed: {}", e.without_url())
    };
    EnrichError::Transient { platform, reason }
}

async fn read_body(
    platform: Platform,
    mut response: reqwest::Response,
) -> Result<Vec<u8>, EnrichError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport(platform, e))? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(EnrichError::Data {
                platform,
                reason: format!("contact body larger than {MAX_BODY} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// What a response said about the quota.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct RateHeaders {
    remaining: Option<u64>,
    /// `X-RateLimit-Reset`: UNIX seconds (Intercom).
    reset_at: Option<u64>,
    /// `Retry-After`: seconds to wait (respond.io; also honoured from Intercom).
    retry_after: Option<u64>,
}

impl RateHeaders {
    fn read(headers: &reqwest::header::HeaderMap) -> Self {
        let num = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        Self {
            remaining: num("x-ratelimit-remaining"),
            reset_at: num("x-ratelimit-reset"),
            retry_after: num("retry-after"),
        }
    }

    /// How long to wait from `now`: Retry-After first, else until the reset time.
    fn wait(&self, now: SystemTime) -> Option<Duration> {
        if let Some(secs) = self.retry_after {
            return Some(Duration::from_secs(secs));
        }
        let reset = UNIX_EPOCH.checked_add(Duration::from_secs(self.reset_at?))?;
        Some(reset.duration_since(now).unwrap_or(Duration::ZERO))
    }
}

/// One app's quota on one platform: the platform and a digest of the token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct LimitKey {
    platform: Platform,
    token: [u8; 32],
}

impl LimitKey {
    fn new(platform: Platform, token: &str) -> Self {
        Self {
            platform,
            token: Sha256::digest(token.as_bytes()).into(),
        }
    }
}

/// Until when each quota is spent, as the platform last said.
#[derive(Debug, Default)]
struct Limits {
    blocked_until: HashMap<LimitKey, SystemTime>,
}

impl Limits {
    /// The time left before `key` may call again, if its quota is spent.
    fn blocked(&self, key: &LimitKey, now: SystemTime) -> Option<Duration> {
        let until = self.blocked_until.get(key)?;
        until.duration_since(now).ok().filter(|d| !d.is_zero())
    }

    /// Remembers what a response said: a 429 or `remaining = 0` with a known wait blocks the
    /// quota until then; any response with quota left clears it.
    fn record(&mut self, key: LimitKey, rate: &RateHeaders, status: StatusCode, now: SystemTime) {
        let spent = status == StatusCode::TOO_MANY_REQUESTS || rate.remaining == Some(0);
        let until = rate
            .wait(now)
            .filter(|_| spent)
            .and_then(|w| now.checked_add(w))
            .filter(|u| *u > now);
        match until {
            Some(u) => {
                if self.blocked_until.len() >= SWEEP_AT {
                    self.blocked_until.retain(|_, t| *t > now);
                }
                self.blocked_until.insert(key, u);
            }
            None => {
                self.blocked_until.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(platform: Platform, token: &str) -> LimitKey {
        LimitKey::new(platform, token)
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn remaining_zero_blocks_until_the_reset_and_then_clears() {
        let mut limits = Limits::default();
        let k = key(Platform::Intercom, "tok");
        let rate = RateHeaders {
            remaining: Some(0),
            reset_at: Some(1_000_010),
            retry_after: None,
        };
        limits.record(k.clone(), &rate, StatusCode::OK, at(1_000_000));
        assert_eq!(
            limits.blocked(&k, at(1_000_004)),
            Some(Duration::from_secs(6))
        );
        assert_eq!(limits.blocked(&k, at(1_000_010)), None);
        assert_eq!(limits.blocked(&k, at(1_000_020)), None);
        // Another token (another app) and another platform are not blocked.
        assert_eq!(
            limits.blocked(&key(Platform::Intercom, "other"), at(1_000_004)),
            None
        );
        assert_eq!(
            limits.blocked(&key(Platform::RespondIo, "tok"), at(1_000_004)),
            None
        );
        // A later answer with quota left clears the block.
        let ok = RateHeaders {
            remaining: Some(5),
            ..rate
        };
        limits.record(k.clone(), &ok, StatusCode::OK, at(1_000_001));
        assert_eq!(limits.blocked(&k, at(1_000_002)), None);
    }

    #[test]
    fn a_past_reset_or_no_known_wait_does_not_block() {
        let mut limits = Limits::default();
        let k = key(Platform::RespondIo, "tok");
        let past = RateHeaders {
            remaining: Some(0),
            reset_at: Some(10),
            retry_after: None,
        };
        limits.record(k.clone(), &past, StatusCode::OK, at(100));
        assert_eq!(limits.blocked(&k, at(100)), None);
        let unknown = RateHeaders {
            remaining: Some(0),
            ..RateHeaders::default()
        };
        limits.record(k.clone(), &unknown, StatusCode::OK, at(100));
        assert_eq!(limits.blocked(&k, at(100)), None);
    }

    #[test]
    fn a_429_with_retry_after_blocks_and_retry_after_beats_the_reset() {
        let mut limits = Limits::default();
        let k = key(Platform::RespondIo, "tok");
        let rate = RateHeaders {
            remaining: None,
            reset_at: Some(200),
            retry_after: Some(30),
        };
        assert_eq!(rate.wait(at(100)), Some(Duration::from_secs(30)));
        limits.record(k.clone(), &rate, StatusCode::TOO_MANY_REQUESTS, at(100));
        assert_eq!(limits.blocked(&k, at(110)), Some(Duration::from_secs(20)));
    }

    #[test]
    fn ids_are_one_encoded_path_segment() {
        let url = endpoint("http://127.0.0.1:9/v2", &["contact", "id:1/../x?y#z"]).unwrap();
        assert_eq!(url.path(), "/v2/contact/id:1%2F..%2Fx%3Fy%23z");
        assert_eq!(url.query(), None);
        let url = endpoint("http://127.0.0.1:9", &["contacts", "abc"]).unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:9/contacts/abc");
    }

    #[test]
    fn bad_bases_are_configuration_errors() {
        for bad in ["", "not a url", "mailto:x@y.z", "ftp://host"] {
            let err = base_url(bad.into()).unwrap_err();
            assert_eq!(err.class(), ErrorClass::Configuration, "{bad}");
        }
        assert_eq!(
            base_url(" http://127.0.0.1:1/v2/ ".into()).unwrap(),
            "http://127.0.0.1:1/v2"
        );
    }
}
