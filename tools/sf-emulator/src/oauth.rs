//! `POST /services/oauth2/token`: refresh-token, client-credentials and JWT-bearer grants.
//! Errors are HTTP 400 `{"error", "error_description"}` worded as Salesforce words them; success
//! bodies carry no `expires_in`, like the real endpoint.

use crate::state::State;
use base64::Engine;
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use std::collections::HashMap;

pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// A token endpoint refusal.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{error}: {description}")]
pub(crate) struct OAuthError {
    pub error: &'static str,
    pub description: &'static str,
}

impl OAuthError {
    const fn new(error: &'static str, description: &'static str) -> Self {
        Self { error, description }
    }
    pub(crate) fn body(&self) -> Value {
        json!({"error": self.error, "error_description": self.description})
    }
}

const BAD_CLIENT_ID: OAuthError = OAuthError::new("invalid_client_id", "client identifier invalid");
const BAD_SECRET: OAuthError = OAuthError::new("invalid_client", "invalid client credentials");
const BAD_REFRESH: OAuthError = OAuthError::new("invalid_grant", "expired access/refresh token");
const BAD_ASSERTION: OAuthError = OAuthError::new("invalid_grant", "invalid assertion");
const BAD_AUDIENCE: OAuthError = OAuthError::new("invalid_grant", "Audience validation failed");
const NOT_APPROVED: OAuthError =
    OAuthError::new("invalid_grant", "user hasn't approved this consumer");
const INACTIVE_USER: OAuthError = OAuthError::new("invalid_grant", "inactive user");

fn signature(secret: &str, id: &str, issued_at: &str) -> String {
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(id.as_bytes());
    mac.update(issued_at.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn success(st: &mut State, user_id: &str, refresh_token: Option<String>, scope: &str) -> Value {
    let access_token = st.new_session(user_id);
    let id = format!("{}/id/{}/{}", st.login_url(), st.org_id, user_id);
    let issued_at =
        (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).to_string();
    let mut body = json!({
        "access_token": access_token,
        "signature": signature(&st.config.client_secret, &id, &issued_at),
        "scope": scope,
        "instance_url": st.instance_url,
        "id": id,
        "token_type": "Bearer",
        "issued_at": issued_at,
    });
    if let Some(rt) = refresh_token {
        body["refresh_token"] = Value::String(rt);
    }
    body
}

/// Client id and secret from the form, or from HTTP Basic credentials.
fn client_credentials(
    form: &HashMap<String, String>,
    basic: Option<(String, String)>,
) -> (Option<String>, Option<String>) {
    let id = form.get("client_id").cloned();
    let secret = form.get("client_secret").cloned();
    match (id, secret, basic) {
        (None, None, Some((i, s))) => (Some(i), Some(s)),
        (i, s, _) => (i, s),
    }
}

fn check_client(st: &State, id: Option<&str>, secret: Option<&str>) -> Result<(), OAuthError> {
    if id != Some(st.config.client_id.as_str()) {
        return Err(BAD_CLIENT_ID);
    }
    if secret != Some(st.config.client_secret.as_str()) {
        return Err(BAD_SECRET);
    }
    Ok(())
}

pub(crate) fn token(
    st: &mut State,
    form: &HashMap<String, String>,
    basic: Option<(String, String)>,
) -> Result<Value, OAuthError> {
    match form.get("grant_type").map(String::as_str) {
        None => Err(OAuthError::new("invalid_request", "grant type is missing")),
        Some("refresh_token") => {
            let (id, secret) = client_credentials(form, basic);
            check_client(st, id.as_deref(), secret.as_deref())?;
            let presented = form.get("refresh_token").ok_or(BAD_REFRESH)?;
            let user = st
                .refresh_tokens
                .get(presented)
                .cloned()
                .ok_or(BAD_REFRESH)?;
            let rotated = if st.config.rotate_refresh_tokens {
                st.refresh_tokens.remove(presented);
                let n = st.next_serial();
                let fresh = format!("5Aep861rt{n}{}", uuid::Uuid::new_v4().simple());
                st.refresh_tokens.insert(fresh.clone(), user.clone());
                Some(fresh)
            } else {
                None
            };
            Ok(success(st, &user, rotated, "api refresh_token"))
        }
        Some("client_credentials") => {
            let (id, secret) = client_credentials(form, basic);
            check_client(st, id.as_deref(), secret.as_deref())?;
            let user = st.integration_user_id.clone();
            Ok(success(st, &user, None, "api"))
        }
        Some(JWT_BEARER) => {
            let assertion = form.get("assertion").ok_or(BAD_ASSERTION)?;
            let user = verify_jwt(st, assertion)?;
            Ok(success(st, &user, None, "api"))
        }
        Some(_) => Err(OAuthError::new(
            "unsupported_grant_type",
            "grant type not supported",
        )),
    }
}

/// Verifies an RS256 assertion: signature against the configured key, then iss, sub, aud, exp.
fn verify_jwt(st: &State, assertion: &str) -> Result<String, OAuthError> {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
    let pem = st
        .config
        .jwt_public_key_pem
        .as_deref()
        .ok_or(BAD_ASSERTION)?;
    let key = DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| BAD_ASSERTION)?;
    let mut validation = Validation::new(Algorithm::RS256);
    // Claims are checked below so each failure gets Salesforce's own wording.
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = decode::<Value>(assertion, &key, &validation)
        .map_err(|_| BAD_ASSERTION)?
        .claims;
    if claims.get("iss").and_then(Value::as_str) != Some(st.config.client_id.as_str()) {
        return Err(BAD_CLIENT_ID);
    }
    let login_url = st.login_url();
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a.trim_end_matches('/') == login_url.trim_end_matches('/'),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|a| a.trim_end_matches('/') == login_url.trim_end_matches('/')),
        _ => false,
    };
    if !aud_ok {
        return Err(BAD_AUDIENCE);
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(BAD_ASSERTION)?;
    // Salesforce wants the assertion to expire within three minutes; allow a little clock skew.
    if exp <= now || exp > now + 180 + 30 {
        return Err(BAD_ASSERTION);
    }
    // The legacy `prn` claim wins over `sub` when both are present.
    let username = claims
        .get("prn")
        .or_else(|| claims.get("sub"))
        .and_then(Value::as_str)
        .ok_or(BAD_ASSERTION)?;
    match st.user_by_username(username) {
        None => Err(NOT_APPROVED),
        Some((_, false)) => Err(INACTIVE_USER),
        Some((id, true)) => Ok(id),
    }
}
