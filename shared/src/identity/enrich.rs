//! Enrichment: when an event names its visitor only by the platform's contact id, ask the
//! platform's REST API for the person's e-mail, phone and name, with the tenant's own token.
//!
//! - Intercom: `GET {base}/contacts/{id}`, `Authorization: Bearer`, `Intercom-Version` header;
//!   the body is the contact object (`id`, `external_id`, `email`, `phone`, `name`, `role`).
//! - respond.io: `GET {base}/contact/{identifier}` (identifier `id:123`, `email:…`, `phone:+…`),
//!   `Authorization: Bearer`; the body is the contact (`id`, `firstName`, `lastName`, `email`,
//!   `phone`).
//! - Tidio and CloudCX: no lookup here (see [`Enricher::contact`]).
//!
//! Rate limits. Intercom sends `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
//! `X-RateLimit-Reset` (a UNIX timestamp in seconds) on authenticated responses and answers
//! `429 Too Many Requests` past the limit
//! (<https://developers.intercom.com/docs/references/rest-api/errors/rate-limiting>, 2.x). respond.io sends `x-ratelimit-limit`,
//! `x-ratelimit-remaining` and `retry-after` (seconds) and answers 429 (respond.io TypeScript
//! SDK, `src/client.ts`). The enricher remembers, per platform and token, a response that said
//! nothing remains until a known time, and refuses further calls until then without sending
//! them. The key is a SHA-256 of the token: one token is one app's quota, and the token itself
//! is never kept in the map nor written to a log or an error.

use crate::error::{Classify, ErrorClass};
use crate::event::Visitor;
use crate::platforms::Platform;
use crate::secret::Secret;
use crate::tenant::TenantSecrets;
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use thiserror::Error;

pub const INTERCOM_BASE: &str = "https://api.intercom.io";
pub const RESPONDIO_BASE: &str = "https://api.respond.io/v2";
/// The Intercom API version asked for: a 2.x version whose contact object has the fields read
/// here (unchanged through 2.16, the reference in chat-webhooks.md §1.4).
pub const INTERCOM_VERSION: &str = "2.11";
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// A contact is a few kilobytes; anything past this is not a contact.
const MAX_BODY: usize = 1024 * 1024;
/// Entries kept in the rate-limit map before expired ones are swept.
const SWEEP_AT: usize = 1024;

/// Why a contact could not be fetched. Never carries the token.
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
    /// The enricher itself is set up wrong (bad base URL, HTTP client).
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

/// Fetches a visitor's details from the chat platform. Cheap to clone; one per warm function.
#[derive(Debug, Clone)]
pub struct Enricher {
    http: reqwest::Client,
    intercom_base: String,
    respondio_base: String,
    limits: Arc<Mutex<Limits>>,
}

impl Enricher {
    /// An enricher against the platforms' real APIs.
    pub fn new() -> Result<Self, EnrichError> {
        Self::with_bases(INTERCOM_BASE, RESPONDIO_BASE)
    }

    /// An enricher against other base URLs (a local stand-in in tests). A trailing `/` is
    /// ignored.
    pub fn with_bases(
        intercom: impl Into<String>,
        respondio: impl Into<String>,
    ) -> Result<Self, EnrichError> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("chatsync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| EnrichError::Configuration(format!("HTTP client: {e}")))?;
        let intercom_base = base(intercom.into())?;
        let respondio_base = base(respondio.into())?;
        Ok(Self {
            http,
            intercom_base,
            respondio_base,
            limits: Arc::new(Mutex::new(Limits::default())),
        })
    }

    /// The platform's record of `contact_id` as a [`Visitor`], or `None` when there is nothing
    /// to ask (no API here, no token for it, blank id) or the platform no longer knows the
    /// contact (404).
    pub async fn contact(
        &self,
        platform: Platform,
        contact_id: &str,
        secrets: &TenantSecrets,
    ) -> Result<Option<Visitor>, EnrichError> {
        let contact_id = contact_id.trim();
        if contact_id.is_empty() {
            return Ok(None);
        }
        let api = secrets.platform_api.as_ref();
        let (token, url) = match platform {
            Platform::Intercom => {
                let Some(token) = usable(api.and_then(|a| a.intercom_access_token.as_ref())) else {
                    return Ok(None);
                };
                (
                    token,
                    endpoint(&self.intercom_base, &["contacts", contact_id])?,
                )
            }
            Platform::RespondIo => {
                let Some(token) = usable(api.and_then(|a| a.respondio_api_token.as_ref())) else {
                    return Ok(None);
                };
                let identifier = respondio_identifier(contact_id);
                (
                    token,
                    endpoint(&self.respondio_base, &["contact", &identifier])?,
                )
            }
            // Tidio: its OpenAPI authenticates with a client id and secret pair per workspace,
            // which the tenant secret does not hold, and Tidio webhooks already carry the
            // contact's e-mail and phone. CloudCX: its REST contact endpoints and header format
            // are not documented in anything we could find (chat-webhooks.md §4), and its
            // per-tenant domain is unknown; guessing would send a tenant's key somewhere
            // unverified. The resolver falls back to the visitor id for both.
            Platform::Tidio | Platform::CloudCx => return Ok(None),
        };
        let key = LimitKey::new(platform, token);
        if let Some(wait) = self.lock_limits().blocked(&key, SystemTime::now()) {
            return Err(EnrichError::RateLimited {
                platform,
                retry_after: Some(wait),
            });
        }
        let mut request = self
            .http
            .get(url)
            .bearer_auth(token.expose())
            .header(reqwest::header::ACCEPT, "application/json");
        if platform == Platform::Intercom {
            request = request.header("Intercom-Version", INTERCOM_VERSION);
        }
        tracing::debug!(%platform, contact_id, "fetching contact from the platform");
        let response = request.send().await.map_err(|e| transport(platform, e))?;
        let status = response.status();
        let now = SystemTime::now();
        let rate = RateHeaders::read(response.headers());
        self.lock_limits().record(key, &rate, status, now);
        match status {
            s if s.is_success() => {
                let body = read_body(platform, response).await?;
                parse_contact(platform, contact_id, &body).map(Some)
            }
            StatusCode::NOT_FOUND => Ok(None),
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
                reason: format!("HTTP {} for contact {contact_id:?}", s.as_u16()),
            }),
        }
    }

    fn lock_limits(&self) -> std::sync::MutexGuard<'_, Limits> {
        self.limits.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Fills the visitor's missing fields from what the platform returned; what the event itself
/// said always wins. Blank strings count as missing.
pub fn merge(visitor: &mut Visitor, fetched: Visitor) {
    fn fill(own: &mut Option<String>, theirs: Option<String>) {
        let missing = own.as_deref().is_none_or(|s| s.trim().is_empty());
        if missing && let Some(v) = theirs.filter(|v| !v.trim().is_empty()) {
            *own = Some(v);
        }
    }
    let Visitor {
        contact_id,
        external_id,
        email,
        phone,
        name,
        first_name,
        last_name,
        visitor_id,
        company_name,
        company_domain,
        role,
        custom_attributes,
    } = fetched;
    fill(&mut visitor.contact_id, contact_id);
    fill(&mut visitor.external_id, external_id);
    fill(&mut visitor.email, email);
    fill(&mut visitor.phone, phone);
    fill(&mut visitor.name, name);
    fill(&mut visitor.first_name, first_name);
    fill(&mut visitor.last_name, last_name);
    fill(&mut visitor.visitor_id, visitor_id);
    fill(&mut visitor.company_name, company_name);
    fill(&mut visitor.company_domain, company_domain);
    fill(&mut visitor.role, role);
    for (k, v) in custom_attributes {
        visitor.custom_attributes.entry(k).or_insert(v);
    }
}

fn usable(token: Option<&Secret>) -> Option<&Secret> {
    token.filter(|t| !t.expose().trim().is_empty())
}

fn base(url: String) -> Result<String, EnrichError> {
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

/// The base with path segments appended, each percent-encoded (an id never changes the path).
fn endpoint(base: &str, segments: &[&str]) -> Result<Url, EnrichError> {
    let mut url = Url::parse(base)
        .map_err(|e| EnrichError::Configuration(format!("base URL {base:?}: {e}")))?;
    url.path_segments_mut()
        .map_err(|()| EnrichError::Configuration(format!("base URL {base:?} takes no path")))?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

/// respond.io names a contact `id:123`, `email:…` or `phone:+…`; a bare id is `id:`.
fn respondio_identifier(contact_id: &str) -> String {
    if ["id:", "email:", "phone:"]
        .iter()
        .any(|p| contact_id.starts_with(p))
    {
        contact_id.to_owned()
    } else {
        format!("id:{contact_id}")
    }
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

/// Intercom's contact object, the fields chatsync reads.
#[derive(Deserialize)]
struct IntercomContact {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    role: Option<String>,
}

/// respond.io's contact, the fields chatsync reads (`id` is a number).
#[derive(Deserialize)]
struct RespondIoContact {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default, rename = "firstName")]
    first_name: Option<String>,
    #[serde(default, rename = "lastName")]
    last_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
}

fn parse_contact(platform: Platform, asked: &str, body: &[u8]) -> Result<Visitor, EnrichError> {
    let bad = |e: serde_json::Error| EnrichError::Data {
        platform,
        reason: format!("contact body is not the documented JSON: {e}"),
    };
    match platform {
        Platform::Intercom => {
            let c: IntercomContact = serde_json::from_slice(body).map_err(bad)?;
            Ok(Visitor {
                contact_id: clean(c.id).or_else(|| Some(asked.to_owned())),
                external_id: clean(c.external_id),
                email: clean(c.email),
                phone: clean(c.phone),
                name: clean(c.name),
                role: clean(c.role),
                ..Visitor::default()
            })
        }
        _ => {
            let c: RespondIoContact = serde_json::from_slice(body).map_err(bad)?;
            let first_name = clean(c.first_name);
            let last_name = clean(c.last_name);
            let name = match (&first_name, &last_name) {
                (Some(f), Some(l)) => Some(format!("{f} {l}")),
                (f, l) => f.clone().or_else(|| l.clone()),
            };
            let id = match c.id {
                Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                Some(serde_json::Value::String(s)) => clean(Some(s)),
                _ => None,
            };
            Ok(Visitor {
                contact_id: id.or_else(|| Some(asked.to_owned())),
                email: clean(c.email),
                phone: clean(c.phone),
                name,
                first_name,
                last_name,
                ..Visitor::default()
            })
        }
    }
}

fn clean(s: Option<String>) -> Option<String> {
    let s = s?;
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
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
    fn new(platform: Platform, token: &Secret) -> Self {
        Self {
            platform,
            token: Sha256::digest(token.expose().as_bytes()).into(),
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
    use crate::tenant::PlatformApiSecrets;

    fn key(platform: Platform, token: &str) -> LimitKey {
        LimitKey::new(platform, &Secret::new(token))
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
    fn respondio_identifiers_default_to_the_id_form() {
        assert_eq!(respondio_identifier("123"), "id:123");
        assert_eq!(respondio_identifier("id:123"), "id:123");
        assert_eq!(respondio_identifier("email:a@b.co"), "email:a@b.co");
        assert_eq!(respondio_identifier("phone:+4412"), "phone:+4412");
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
            let err = Enricher::with_bases(bad, RESPONDIO_BASE).unwrap_err();
            assert_eq!(err.class(), ErrorClass::Configuration, "{bad}");
        }
        assert!(Enricher::with_bases("http://127.0.0.1:1/", "http://127.0.0.1:1/v2/").is_ok());
    }

    #[test]
    fn malformed_or_mistyped_bodies_are_data_errors() {
        for body in [&b"not json"[..], b"[1,2]", br#"{"email": 5}"#] {
            let err = parse_contact(Platform::Intercom, "x", body).unwrap_err();
            assert_eq!(err.class(), ErrorClass::Data);
        }
        let err = parse_contact(Platform::RespondIo, "1", b"{").unwrap_err();
        assert_eq!(err.class(), ErrorClass::Data);
    }

    #[test]
    fn respondio_names_join_and_blank_fields_are_absent() {
        let v = parse_contact(
            Platform::RespondIo,
            "id:7",
            br#"{"id":7,"firstName":"Ada","lastName":" ","email":"","phone":"+4420"}"#,
        )
        .unwrap();
        assert_eq!(v.contact_id.as_deref(), Some("7"));
        assert_eq!(v.name.as_deref(), Some("Ada"));
        assert_eq!(v.first_name.as_deref(), Some("Ada"));
        assert_eq!(v.last_name, None);
        assert_eq!(v.email, None);
        assert_eq!(v.phone.as_deref(), Some("+4420"));
    }

    #[tokio::test]
    async fn no_api_or_no_token_is_none_without_a_call() {
        // The bases point at a port nothing listens on: any call would be an error.
        let e = Enricher::with_bases("http://127.0.0.1:1", "http://127.0.0.1:1").unwrap();
        let none = TenantSecrets::default();
        for p in Platform::ALL {
            assert_eq!(e.contact(p, "123", &none).await.unwrap(), None, "{p}");
        }
        let blank = TenantSecrets {
            platform_api: Some(PlatformApiSecrets {
                intercom_access_token: Some(Secret::new(" ")),
                respondio_api_token: None,
            }),
            ..TenantSecrets::default()
        };
        assert_eq!(
            e.contact(Platform::Intercom, "1", &blank).await.unwrap(),
            None
        );
        let full = TenantSecrets {
            platform_api: Some(PlatformApiSecrets {
                intercom_access_token: Some(Secret::new("t")),
                respondio_api_token: Some(Secret::new("t")),
            }),
            ..TenantSecrets::default()
        };
        assert_eq!(e.contact(Platform::Tidio, "1", &full).await.unwrap(), None);
        assert_eq!(
            e.contact(Platform::CloudCx, "1", &full).await.unwrap(),
            None
        );
        assert_eq!(
            e.contact(Platform::Intercom, "  ", &full).await.unwrap(),
            None
        );
        // With a token the call is made, and a refused connection is transient.
        let err = e.contact(Platform::Intercom, "1", &full).await.unwrap_err();
        assert_eq!(err.class(), ErrorClass::Transient);
    }

    #[test]
    fn errors_never_show_the_token() {
        let secrets = PlatformApiSecrets {
            intercom_access_token: Some(Secret::new("sk-very-secret")),
            respondio_api_token: None,
        };
        assert!(!format!("{secrets:?}").contains("sk-very-secret"));
    }

    #[test]
    fn merge_fills_only_what_the_event_lacks() {
        let mut v = Visitor {
            contact_id: Some("c1".into()),
            email: Some("event@example.com".into()),
            name: Some(" ".into()),
            ..Visitor::default()
        };
        v.custom_attributes.insert("plan".into(), "gold".into());
        let mut fetched = Visitor {
            contact_id: Some("other".into()),
            email: Some("api@example.com".into()),
            phone: Some("+15551211212".into()),
            name: Some("Ada Lovelace".into()),
            role: Some("user".into()),
            external_id: Some("".into()),
            ..Visitor::default()
        };
        fetched
            .custom_attributes
            .insert("plan".into(), "free".into());
        fetched.custom_attributes.insert("seats".into(), 3.into());
        merge(&mut v, fetched);
        assert_eq!(v.contact_id.as_deref(), Some("c1"));
        assert_eq!(v.email.as_deref(), Some("event@example.com"));
        assert_eq!(v.phone.as_deref(), Some("+15551211212"));
        assert_eq!(v.name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(v.role.as_deref(), Some("user"));
        assert_eq!(v.external_id, None);
        assert_eq!(v.custom_attributes["plan"], "gold");
        assert_eq!(v.custom_attributes["seats"], 3);
    }
}
