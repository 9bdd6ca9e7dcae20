//! Chat platform adapters: verify a delivery exactly as the platform signs it, read its
//! delivery into canonical events (`crate::event`), and call its REST API. Platform differences
//! end here.
//!
//! One folder per platform: `<platform>/mod.rs` (the platform's facts: API base and version,
//! the names of its tenant secret fields), `<platform>/webhook.rs` (verify, parse, sign) and,
//! where chatsync calls the platform's API, `<platform>/client.rs`. This module dispatches
//! webhooks by [`Platform`]; [`api`] is what the API clients share. Adding a platform:
//! docs/adding-a-platform.md.

pub mod api;
pub mod cloudcx;
pub mod intercom;
pub mod respondio;
pub mod tidio;

use crate::event::Agent;
pub use crate::event::{Accepted, Platform, UnknownPlatform};
use crate::secret::Secret;
use sha2::{Digest, Sha256};
use thiserror::Error;
use time::OffsetDateTime;

/// What a delivery brings for verification: header lookup, the URL's query string, raw body.
pub struct Inbound<'a> {
    pub headers: &'a http::HeaderMap,
    pub query_token: Option<&'a str>,
    pub body: &'a [u8],
    pub now: OffsetDateTime,
    pub tidio_tolerance_seconds: u64,
}

impl Inbound<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("missing signature header {0}")]
    Missing(&'static str),
    #[error("malformed signature: {0}")]
    Malformed(&'static str),
    #[error("signature does not match")]
    Mismatch,
    #[error(
        "signature timestamp is {skew_seconds}s from now, outside the {tolerance_seconds}s window"
    )]
    Stale {
        skew_seconds: i64,
        tolerance_seconds: u64,
    },
    #[error("the tenant has no signing secret for this platform")]
    NoSecret,
}

/// Verifies a delivery with the tenant's secrets for its platform.
pub fn verify(
    platform: Platform,
    secrets: &[Secret],
    inbound: &Inbound,
) -> Result<(), VerifyError> {
    if secrets.is_empty() {
        return Err(VerifyError::NoSecret);
    }
    match platform {
        Platform::Intercom => intercom::verify(secrets, inbound),
        Platform::Tidio => tidio::verify(secrets, inbound),
        Platform::RespondIo => respondio::verify(secrets, inbound),
        Platform::CloudCx => cloudcx::verify(secrets, inbound),
    }
}

/// What a verified delivery holds, as far as the pipeline is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A liveness probe (Intercom `ping`): answered 200, nothing queued.
    Ping,
    /// A topic chatsync does not handle: answered 202, logged, ignored.
    Unsupported {
        topic: String,
    },
    Accepted(Accepted),
}

impl Parsed {
    /// The accepted delivery, if this is one.
    pub fn accepted(self) -> Option<Accepted> {
        match self {
            Parsed::Accepted(a) => Some(a),
            _ => None,
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("body is not valid JSON: {0}")]
    Json(String),
    #[error("body is not a JSON object")]
    NotObject,
    #[error("required field {0} is missing or has the wrong type")]
    Field(&'static str),
}

/// Turns a verified delivery into canonical events. Pure: no I/O, no clock.
pub fn parse(platform: Platform, body: &[u8]) -> Result<Parsed, ParseError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| ParseError::Json(json_error(&e)))?;
    if !value.is_object() {
        return Err(ParseError::NotObject);
    }
    match platform {
        Platform::Intercom => intercom::parse(&value),
        Platform::Tidio => tidio::parse(&value),
        Platform::RespondIo => respondio::parse(&value, body),
        Platform::CloudCx => cloudcx::parse(&value, body),
    }
}

/// serde_json's message without the offending input (which could echo the body).
fn json_error(e: &serde_json::Error) -> String {
    let what = match e.classify() {
        serde_json::error::Category::Io => "unreadable",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Eof => "unexpected end of input",
    };
    format!("{what} at line {} column {}", e.line(), e.column())
}

/// How a platform would authenticate `body`: headers to send and, for CloudCX, the URL token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub headers: Vec<(&'static str, String)>,
    pub query_token: Option<String>,
}

/// Signs `body` exactly as `platform` signs its deliveries (for the CLI, demo and tests).
pub fn sign(platform: Platform, secret: &str, body: &[u8], now: OffsetDateTime) -> Signature {
    let header = |name, value| Signature {
        headers: vec![(name, value)],
        query_token: None,
    };
    match platform {
        Platform::Intercom => header("X-Hub-Signature", intercom::sign(secret, body)),
        Platform::Tidio => header(
            "X-Tidio-Signature",
            tidio::sign(secret, body, now.unix_timestamp()),
        ),
        Platform::RespondIo => header("X-Webhook-Signature", respondio::sign(secret, body)),
        Platform::CloudCx => Signature {
            headers: Vec::new(),
            query_token: Some(secret.to_owned()),
        },
    }
}

/// Hex SHA-256 of a body: the delivery id for platforms that send none.
pub fn body_hash(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// An agent object `{id, name, email}` as Intercom and Tidio send it; None when it names nobody.
pub(crate) fn agent(value: Option<&serde_json::Value>) -> Option<Agent> {
    let v = value.filter(|v| v.is_object())?;
    let agent = Agent {
        id: scalar(v.get("id")),
        name: text(v.get("name")),
        email: text(v.get("email")),
    };
    (agent != Agent::default()).then_some(agent)
}

/// A non-empty, trimmed JSON string.
pub(crate) fn text(value: Option<&serde_json::Value>) -> Option<String> {
    let s = value?.as_str()?.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// An RFC 3339 / ISO 8601 timestamp as UTC.
pub(crate) fn iso_time(value: Option<&serde_json::Value>) -> Option<OffsetDateTime> {
    let s = value?.as_str()?;
    OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.to_offset(time::UtcOffset::UTC))
}

/// A JSON scalar (string or number) as a string, for ids that platforms send either way.
pub(crate) fn scalar(value: Option<&serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A unix timestamp in seconds or milliseconds (platforms differ) as UTC.
pub(crate) fn unix_time(value: Option<&serde_json::Value>) -> Option<OffsetDateTime> {
    let n = match value? {
        serde_json::Value::Number(n) => n.as_f64()?,
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    // Seconds until the year 5138; anything larger is milliseconds.
    let seconds = if n > 1.0e11 { n / 1000.0 } else { n };
    OffsetDateTime::from_unix_timestamp(seconds as i64).ok()
}

/// Constant-time comparison of a computed MAC with one a request carries.
pub(crate) fn same(expected: &[u8], given: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    expected.len() == given.len() && bool::from(expected.ct_eq(given))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_round_trip_through_their_path_segment() {
        for p in Platform::ALL {
            assert_eq!(p.as_str().parse::<Platform>(), Ok(p));
        }
        assert!("zendesk".parse::<Platform>().is_err());
        assert!("Intercom".parse::<Platform>().is_err());
    }

    #[test]
    fn timestamps_in_seconds_or_milliseconds_read_the_same() {
        let s = unix_time(Some(&serde_json::json!(1_700_000_000))).unwrap();
        let ms = unix_time(Some(&serde_json::json!(1_700_000_000_123u64))).unwrap();
        assert_eq!(s, ms);
        assert_eq!(unix_time(Some(&serde_json::json!("abc"))), None);
    }

    #[test]
    fn what_sign_produces_verifies() {
        let body = br#"{"topic":"x"}"#;
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        for p in Platform::ALL {
            let sig = sign(p, "k", body, now);
            let mut headers = http::HeaderMap::new();
            for (name, value) in &sig.headers {
                headers.insert(*name, value.parse().unwrap());
            }
            let inbound = Inbound {
                headers: &headers,
                query_token: sig.query_token.as_deref(),
                body,
                now,
                tidio_tolerance_seconds: 300,
            };
            assert_eq!(verify(p, &[Secret::new("k")], &inbound), Ok(()), "{p}");
            assert!(verify(p, &[Secret::new("other")], &inbound).is_err(), "{p}");
        }
    }

    #[test]
    fn bodies_that_are_not_objects_are_refused() {
        assert!(matches!(
            parse(Platform::Tidio, b"[1]"),
            Err(ParseError::NotObject)
        ));
        assert!(matches!(
            parse(Platform::Tidio, b"{"),
            Err(ParseError::Json(_))
        ));
    }
}
