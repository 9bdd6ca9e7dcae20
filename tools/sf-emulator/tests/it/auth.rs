//! OAuth token grants, bearer auth on REST calls, and token expiry.

use crate::common::{TestOrg, str_at};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use sf_emulator::EmulatorConfig;
use std::time::Duration;

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys");

fn key(name: &str) -> String {
    std::fs::read_to_string(format!("{KEYS}/{name}")).expect("test key present")
}

async fn jwt_org() -> TestOrg {
    TestOrg::start_with(EmulatorConfig {
        jwt_public_key_pem: Some(key("test_only_jwt_public_key.pem")),
        ..EmulatorConfig::default()
    })
    .await
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn assertion(private_key: &str, claims: Value) -> String {
    let key = EncodingKey::from_rsa_pem(private_key.as_bytes()).expect("test key parses");
    encode(&Header::new(Algorithm::RS256), &claims, &key).expect("assertion signs")
}

fn assert_success_shape(body: &Value) {
    for k in [
        "access_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
        "signature",
        "scope",
    ] {
        assert!(body.get(k).is_some(), "missing {k} in {body}");
    }
    assert!(body.get("expires_in").is_none());
    assert!(body["issued_at"].is_string());
    assert_eq!(body["token_type"], "Bearer");
}

#[tokio::test]
async fn jwt_bearer_flow_issues_a_working_token() {
    let org = jwt_org().await;
    let cfg = EmulatorConfig::default();
    let good = json!({"iss": cfg.client_id, "sub": cfg.integration_username, "aud": org.base, "exp": now() + 170});
    let r = org
        .token_request(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            (
                "assertion",
                &assertion(&key("test_only_jwt_private_key.pem"), good.clone()),
            ),
        ])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_success_shape(&r.body);
    assert!(r.body.get("refresh_token").is_none());
    assert_eq!(r.body["instance_url"], json!(org.base));
    let token = str_at(&r.body, "/access_token").to_string();
    let q = org
        .raw("GET", "/services/data/v62.0/limits", None, Some(&token))
        .await;
    assert_eq!(q.status, 200);

    let refuse = |claims: Value, signer: &'static str| {
        let org = &org;
        async move {
            org.token_request(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", &assertion(&key(signer), claims)),
            ])
            .await
        }
    };
    let mut wrong_aud = good.clone();
    wrong_aud["aud"] = json!("https://login.salesforce.com");
    let r = refuse(wrong_aud, "test_only_jwt_private_key.pem").await;
    assert_eq!(
        (r.status, r.body.clone()),
        (
            400,
            json!({"error": "invalid_grant", "error_description": "Audience validation failed"})
        )
    );
    let r = refuse(good.clone(), "test_only_other_private_key.pem").await;
    assert_eq!(
        r.body,
        json!({"error": "invalid_grant", "error_description": "invalid assertion"})
    );
    let mut expired = good.clone();
    expired["exp"] = json!(now() - 5);
    assert_eq!(
        refuse(expired, "test_only_jwt_private_key.pem").await.body["error_description"],
        "invalid assertion"
    );
    let mut too_long = good.clone();
    too_long["exp"] = json!(now() + 3600);
    assert_eq!(
        refuse(too_long, "test_only_jwt_private_key.pem").await.body["error"],
        "invalid_grant"
    );
    let mut wrong_iss = good.clone();
    wrong_iss["iss"] = json!("someone-else");
    assert_eq!(
        refuse(wrong_iss, "test_only_jwt_private_key.pem")
            .await
            .body,
        json!({"error": "invalid_client_id", "error_description": "client identifier invalid"})
    );
    let mut unknown_user = good.clone();
    unknown_user["sub"] = json!("nobody@example.com");
    assert_eq!(
        refuse(unknown_user, "test_only_jwt_private_key.pem")
            .await
            .body["error_description"],
        "user hasn't approved this consumer"
    );
    let r = org
        .token_request(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", "not.a.jwt"),
        ])
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn refresh_token_flow_with_and_without_rotation() {
    let org = TestOrg::start().await;
    let cfg = EmulatorConfig::default();
    let refresh = |rt: String, secret: &'static str| {
        let org = &org;
        let id = cfg.client_id.clone();
        async move {
            org.token_request(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &rt),
                ("client_id", &id),
                ("client_secret", secret),
            ])
            .await
        }
    };
    let r = refresh(cfg.initial_refresh_token.clone(), "emulator-client-secret").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_success_shape(&r.body);
    assert!(
        r.body.get("refresh_token").is_none(),
        "no rotation by default"
    );

    let r = refresh("bogus".into(), "emulator-client-secret").await;
    assert_eq!(
        (r.status, r.body.clone()),
        (
            400,
            json!({"error": "invalid_grant", "error_description": "expired access/refresh token"})
        )
    );
    let r = refresh(cfg.initial_refresh_token.clone(), "wrong").await;
    assert_eq!(
        r.body,
        json!({"error": "invalid_client", "error_description": "invalid client credentials"})
    );

    // With rotation the old refresh token dies and a new one comes back
    org.admin(
        "POST",
        "/__emulator/config",
        Some(json!({"rotate_refresh_tokens": true})),
    )
    .await;
    let r = refresh(cfg.initial_refresh_token.clone(), "emulator-client-secret").await;
    let rotated = str_at(&r.body, "/refresh_token").to_string();
    assert!(!rotated.is_empty(), "{}", r.body);
    let r = refresh(cfg.initial_refresh_token.clone(), "emulator-client-secret").await;
    assert_eq!(r.body["error"], "invalid_grant");
    let r = refresh(rotated, "emulator-client-secret").await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn client_credentials_flow_and_grant_errors() {
    let org = TestOrg::start().await;
    let cfg = EmulatorConfig::default();
    let r = org
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", &cfg.client_id),
            ("client_secret", &cfg.client_secret),
        ])
        .await;
    assert_eq!(r.status, 200);
    assert_success_shape(&r.body);
    let r = org
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", "nope"),
            ("client_secret", "x"),
        ])
        .await;
    assert_eq!(r.body["error"], "invalid_client_id");
    let r = org.token_request(&[("grant_type", "password")]).await;
    assert_eq!(
        r.body,
        json!({"error": "unsupported_grant_type", "error_description": "grant type not supported"})
    );
    let r = org.token_request(&[]).await;
    assert_eq!(r.status, 400);
    // HTTP Basic client credentials are accepted too
    let resp = org
        .http
        .post(format!("{}/services/oauth2/token", org.base))
        .basic_auth(&cfg.client_id, Some(&cfg.client_secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("token request");
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn rest_calls_need_a_live_session() {
    let org = TestOrg::start().await;
    let r = org
        .raw("GET", "/services/data/v62.0/limits", None, None)
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.body,
        json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    );
    assert_eq!(r.header("www-authenticate").as_deref(), Some("Token"));
    let r = org
        .raw(
            "GET",
            "/services/data/v62.0/limits",
            None,
            Some("00Dbogus!token"),
        )
        .await;
    assert_eq!(r.status, 401);

    // expire-tokens kills live sessions
    assert_eq!(org.api("GET", "/limits", None).await.status, 200);
    org.admin("POST", "/__emulator/expire-tokens", None).await;
    assert_eq!(org.api("GET", "/limits", None).await.status, 401);
}

#[tokio::test]
async fn tokens_expire_after_their_lifetime() {
    let org = TestOrg::start_with(EmulatorConfig {
        token_lifetime: Duration::ZERO,
        ..EmulatorConfig::default()
    })
    .await;
    // A zero lifetime means every issued token is already expired.
    let r = org.api("GET", "/limits", None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.error_code(), Some("INVALID_SESSION_ID"));
}

#[tokio::test]
async fn jwt_verifies_against_a_connected_app_certificate() {
    let org = TestOrg::start_with(EmulatorConfig {
        jwt_public_key_pem: Some(key("test_only_jwt_certificate.pem")),
        ..EmulatorConfig::default()
    })
    .await;
    let cfg = EmulatorConfig::default();
    let claims = json!({"iss": cfg.client_id, "sub": cfg.integration_username, "aud": org.base, "exp": now() + 120});
    let r = org
        .token_request(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            (
                "assertion",
                &assertion(&key("test_only_jwt_private_key.pem"), claims.clone()),
            ),
        ])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = org
        .token_request(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            (
                "assertion",
                &assertion(&key("test_only_other_private_key.pem"), claims),
            ),
        ])
        .await;
    assert_eq!(r.body["error_description"], "invalid assertion");
}
