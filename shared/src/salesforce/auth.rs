//! OAuth against `{login_url}/services/oauth2/token`: JWT bearer, refresh token (with rotation)
//! and client credentials. The token response has no `expires_in`; a session is used until a 401
//! says otherwise (or until the client's optional maximum session age).

use super::error::{SalesforceError, snippet};
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;

const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Salesforce accepts assertions that expire within 3 minutes.
pub const JWT_LIFETIME_SECS: i64 = 180;

/// How chatsync signs in to a tenant's org; the shape stored in the tenant's secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "flow", rename_all = "snake_case", deny_unknown_fields)]
pub enum SalesforceCredentials {
    /// Server-to-server with a certificate uploaded to the connected app; no secret, no refresh
    /// token. `login_url` is also the JWT audience.
    JwtBearer {
        login_url: String,
        client_id: String,
        username: String,
        /// PEM (PKCS#8 or PKCS#1) RSA private key.
        private_key: Secret,
    },
    /// A refresh token from a one-time web login; the org may rotate it on every use.
    RefreshToken {
        login_url: String,
        client_id: String,
        client_secret: Secret,
        refresh_token: Secret,
    },
    /// The connected app's "Run As" user; `login_url` must be the org's My Domain.
    ClientCredentials {
        login_url: String,
        client_id: String,
        client_secret: Secret,
    },
}

/// The name the pipeline uses for the same thing.
pub type Credentials = SalesforceCredentials;

impl SalesforceCredentials {
    pub fn login_url(&self) -> &str {
        match self {
            Self::JwtBearer { login_url, .. }
            | Self::RefreshToken { login_url, .. }
            | Self::ClientCredentials { login_url, .. } => login_url.trim_end_matches('/'),
        }
    }

    pub fn token_url(&self) -> String {
        format!("{}/services/oauth2/token", self.login_url())
    }
}

/// Errors a [`TokenSink`] reports; its message must not contain the token.
pub type TokenSinkError = String;

/// Where a rotated refresh token is written back (the tenant's secret). Called, and awaited,
/// before the access token that came with the new refresh token is used: if the write fails the
/// new refresh token would otherwise be lost while the old one is already invalid.
pub trait TokenSink: Send + Sync {
    fn persist_refresh_token<'a>(
        &'a self,
        tenant_id: &'a str,
        refresh_token: &'a Secret,
    ) -> Pin<Box<dyn Future<Output = Result<(), TokenSinkError>> + Send + 'a>>;

    /// Writes `new` back in place of `replaced`, the token it was rotated from. A store shared
    /// by several warm functions writes it only while `replaced` is still what it holds, so a
    /// late write-back never puts back a token someone has rotated past (or over a token an
    /// admin stored since). By default, unconditionally.
    fn persist_rotated_token<'a>(
        &'a self,
        tenant_id: &'a str,
        replaced: Option<&'a Secret>,
        new: &'a Secret,
    ) -> Pin<Box<dyn Future<Output = Result<(), TokenSinkError>> + Send + 'a>> {
        let _ = replaced;
        self.persist_refresh_token(tenant_id, new)
    }

    /// The refresh token stored now, re-read when Salesforce refuses the one presented: another
    /// warm function may have rotated it. None when the sink cannot say.
    fn stored_refresh_token<'a>(
        &'a self,
        tenant_id: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Option<Secret>, TokenSinkError>> + Send + 'a>> {
        let _ = tenant_id;
        Box::pin(async { Ok(None) })
    }
}

/// A sink for flows that never rotate (JWT bearer, client credentials) or for tests; it accepts
/// and forgets.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiscardTokens;

impl TokenSink for DiscardTokens {
    fn persist_refresh_token<'a>(
        &'a self,
        _tenant_id: &'a str,
        _refresh_token: &'a Secret,
    ) -> Pin<Box<dyn Future<Output = Result<(), TokenSinkError>> + Send + 'a>> {
        Box::pin(async { Ok(()) })
    }
}

/// A Salesforce URL chatsync may send credentials or data to: https, or http to a loopback
/// address only (the local emulator). Anything else would put tokens on the wire in clear.
pub fn check_url(what: &str, url: &str) -> Result<(), SalesforceError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| SalesforceError::Configuration(format!("{what} {url:?} is not a URL: {e}")))?;
    let host = parsed.host_str().unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" if !host.is_empty() => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(SalesforceError::Configuration(format!(
            "{what} must be an https URL, not {url:?}"
        ))),
    }
}

/// The token endpoint's success body (no `expires_in`: Salesforce does not send one).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TokenResponse {
    pub access_token: Secret,
    pub instance_url: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub token_type: Option<String>,
    /// Milliseconds since the epoch, as a string.
    #[serde(default)]
    pub issued_at: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    /// Present for the refresh flow only when the org rotates refresh tokens.
    #[serde(default)]
    pub refresh_token: Option<Secret>,
}

/// Reads the token endpoint's answer: a token on 200, a typed [`SalesforceError::Auth`] otherwise
/// (including HTML pages from the edge).
pub fn parse_token_response(status: u16, body: &str) -> Result<TokenResponse, SalesforceError> {
    if status == 200 {
        let token: TokenResponse =
            serde_json::from_str(body).map_err(|e| SalesforceError::InvalidResponse {
                status,
                // serde names the missing field, not the values.
                reason: format!("token response: {e}"),
            })?;
        if token.access_token.is_empty() || token.instance_url.is_empty() {
            return Err(SalesforceError::InvalidResponse {
                status,
                reason: "token response without access_token or instance_url".into(),
            });
        }
        return Ok(token);
    }
    #[derive(Deserialize)]
    struct OAuthError {
        error: String,
        #[serde(default)]
        error_description: String,
    }
    Err(match serde_json::from_str::<OAuthError>(body) {
        Ok(e) => SalesforceError::Auth {
            status,
            error: e.error,
            description: e.error_description,
        },
        Err(_) => SalesforceError::Auth {
            status,
            error: format!("HTTP_{status}"),
            description: snippet(body),
        },
    })
}

/// The JWT bearer assertion's claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwtClaims {
    /// The connected app's consumer key.
    pub iss: String,
    /// The Salesforce username to act as.
    pub sub: String,
    /// The login URL (`https://login.salesforce.com`, test, My Domain, or an emulator).
    pub aud: String,
    /// Seconds since the epoch.
    pub exp: i64,
}

impl JwtClaims {
    pub fn new(client_id: &str, username: &str, login_url: &str, now_unix: i64) -> Self {
        Self {
            iss: client_id.to_owned(),
            sub: username.to_owned(),
            aud: login_url.trim_end_matches('/').to_owned(),
            exp: now_unix + JWT_LIFETIME_SECS,
        }
    }
}

/// Signs the claims with RS256.
pub fn sign_assertion(
    claims: &JwtClaims,
    private_key_pem: &Secret,
) -> Result<String, SalesforceError> {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    let key = EncodingKey::from_rsa_pem(private_key_pem.expose().as_bytes()).map_err(|e| {
        // jsonwebtoken's error describes the PEM problem, not the key material.
        SalesforceError::Configuration(format!("JWT private key unreadable: {e}"))
    })?;
    encode(&Header::new(Algorithm::RS256), claims, &key)
        .map_err(|e| SalesforceError::Configuration(format!("JWT signing failed: {e}")))
}

/// The token request's form fields. `refresh_token` overrides the stored one after a rotation.
pub(crate) fn token_form(
    credentials: &SalesforceCredentials,
    refresh_token: Option<&Secret>,
    now_unix: i64,
) -> Result<Vec<(&'static str, String)>, SalesforceError> {
    Ok(match credentials {
        SalesforceCredentials::JwtBearer {
            login_url,
            client_id,
            username,
            private_key,
        } => {
            let claims = JwtClaims::new(client_id, username, login_url, now_unix);
            vec![
                ("grant_type", JWT_BEARER_GRANT.to_owned()),
                ("assertion", sign_assertion(&claims, private_key)?),
            ]
        }
        SalesforceCredentials::RefreshToken {
            client_id,
            client_secret,
            refresh_token: stored,
            ..
        } => vec![
            ("grant_type", "refresh_token".to_owned()),
            ("client_id", client_id.clone()),
            ("client_secret", client_secret.expose().to_owned()),
            (
                "refresh_token",
                refresh_token.unwrap_or(stored).expose().to_owned(),
            ),
        ],
        SalesforceCredentials::ClientCredentials {
            client_id,
            client_secret,
            ..
        } => vec![
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", client_id.clone()),
            ("client_secret", client_secret.expose().to_owned()),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Classify, ErrorClass};
    use crate::salesforce::test_support::{TEST_PRIVATE_KEY, TEST_PUBLIC_KEY, answers};

    #[test]
    fn salesforce_urls_must_be_https_except_on_loopback() {
        for ok in [
            "https://acme.my.salesforce.com",
            "https://login.salesforce.com/",
            "http://127.0.0.1:8787",
            "http://localhost:9000",
            "http://[::1]:80",
        ] {
            assert!(check_url("login_url", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://acme.my.salesforce.com",
            "http://10.0.0.5",
            "ftp://login.salesforce.com",
            "login.salesforce.com",
            "https://",
        ] {
            let e = check_url("login_url", bad).unwrap_err();
            assert!(matches!(e, SalesforceError::Configuration(_)), "{bad}: {e}");
        }
    }

    #[test]
    fn a_token_success_parses_without_expires_in() {
        let t = parse_token_response(200, answers::OAUTH_TOKEN_SUCCESS).unwrap();
        assert_eq!(t.instance_url, "https://chatsync-demo.my.salesforce.com");
        assert!(t.access_token.expose().starts_with("00DWs00000Ch4tS!"));
        assert_eq!(t.issued_at.as_deref(), Some("1733227200000"));
        assert_eq!(t.token_type.as_deref(), Some("Bearer"));
        assert_eq!(t.refresh_token, None);
        // Debug output never shows the token.
        assert!(!format!("{t:?}").contains("00DWs00000Ch4tS!"));
    }

    #[test]
    fn an_invalid_grant_is_a_configuration_error() {
        let err =
            parse_token_response(400, answers::OAUTH_REFRESH_ERROR_INVALID_GRANT).unwrap_err();
        assert_eq!(err.code(), Some("invalid_grant"));
        assert_eq!(err.class(), ErrorClass::Configuration);
        assert!(err.to_string().contains("expired access/refresh token"));
    }

    #[test]
    fn html_and_unreadable_token_answers_are_typed() {
        let err = parse_token_response(502, "<html><body>Bad Gateway</body></html>").unwrap_err();
        assert_eq!(err.code(), Some("HTTP_502"));
        assert_eq!(err.class(), ErrorClass::Transient);
        let err = parse_token_response(200, r#"{"instance_url":"https://x"}"#).unwrap_err();
        assert!(matches!(err, SalesforceError::InvalidResponse { .. }));
        let err = parse_token_response(200, r#"{"access_token":"","instance_url":"https://x"}"#)
            .unwrap_err();
        assert!(matches!(err, SalesforceError::InvalidResponse { .. }));
    }

    #[test]
    fn jwt_claims_and_signature() {
        let claims = JwtClaims::new(
            "3MVG9client",
            "int@acme.example",
            "https://login.salesforce.com/",
            1_000,
        );
        assert_eq!(claims.iss, "3MVG9client");
        assert_eq!(claims.sub, "int@acme.example");
        assert_eq!(claims.aud, "https://login.salesforce.com");
        assert_eq!(claims.exp, 1_180);

        let token = sign_assertion(&claims, &Secret::new(TEST_PRIVATE_KEY)).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
        let key = jsonwebtoken::DecodingKey::from_rsa_pem(TEST_PUBLIC_KEY.as_bytes()).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&["https://login.salesforce.com"]);
        // exp is in 1970 here; the signature and claims are what is under test.
        validation.validate_exp = false;
        let decoded = jsonwebtoken::decode::<JwtClaims>(&token, &key, &validation).unwrap();
        assert_eq!(decoded.claims, claims);
    }

    #[test]
    fn unreadable_private_key_is_configuration() {
        let claims = JwtClaims::new("c", "u", "https://login.salesforce.com", 0);
        let err = sign_assertion(&claims, &Secret::new("not a pem")).unwrap_err();
        assert_eq!(err.class(), ErrorClass::Configuration);
    }

    #[test]
    fn forms_for_each_flow() {
        let refresh = SalesforceCredentials::RefreshToken {
            login_url: "http://127.0.0.1:8787/".into(),
            client_id: "cid".into(),
            client_secret: Secret::new("shh"),
            refresh_token: Secret::new("rt-old"),
        };
        assert_eq!(
            refresh.token_url(),
            "http://127.0.0.1:8787/services/oauth2/token"
        );
        let form = token_form(&refresh, None, 0).unwrap();
        assert!(form.contains(&("grant_type", "refresh_token".into())));
        assert!(form.contains(&("refresh_token", "rt-old".into())));
        let rotated = Secret::new("rt-new");
        let form = token_form(&refresh, Some(&rotated), 0).unwrap();
        assert!(form.contains(&("refresh_token", "rt-new".into())));

        let cc = SalesforceCredentials::ClientCredentials {
            login_url: "https://acme.my.salesforce.com".into(),
            client_id: "cid".into(),
            client_secret: Secret::new("shh"),
        };
        let form = token_form(&cc, None, 0).unwrap();
        assert_eq!(
            form,
            vec![
                ("grant_type", "client_credentials".to_owned()),
                ("client_id", "cid".to_owned()),
                ("client_secret", "shh".to_owned())
            ]
        );

        let jwt = SalesforceCredentials::JwtBearer {
            login_url: "https://login.salesforce.com".into(),
            client_id: "cid".into(),
            username: "u@x".into(),
            private_key: Secret::new(TEST_PRIVATE_KEY),
        };
        let form = token_form(&jwt, None, 0).unwrap();
        assert_eq!(form[0], ("grant_type", JWT_BEARER_GRANT.to_owned()));
        assert_eq!(form[1].0, "assertion");
    }

    #[test]
    fn credentials_round_trip_through_the_tenant_secret_json() {
        let json = r#"{"flow":"jwt_bearer","login_url":"https://login.salesforce.com","client_id":"cid","username":"u@x","private_key":"PEM"}"#;
        let c: SalesforceCredentials = serde_json::from_str(json).unwrap();
        assert!(matches!(c, SalesforceCredentials::JwtBearer { .. }));
        assert!(!format!("{c:?}").contains("PEM"));
        assert_eq!(serde_json::to_string(&c).unwrap(), json);
        let bad = r#"{"flow":"password","login_url":"x"}"#;
        assert!(serde_json::from_str::<SalesforceCredentials>(bad).is_err());
    }
}
