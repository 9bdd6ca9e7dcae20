//! Identity enrichment against a local stand-in of the platforms' contact endpoints, built as
//! the vendors document them: Intercom `GET /contacts/{id}` (bearer token, contact object,
//! `error.list` on 401/404, `X-RateLimit-*` headers with a UNIX-seconds reset) and respond.io
//! `GET /v2/contact/{identifier}` (bearer token, `id:`/`email:`/`phone:` identifiers, the contact
//! itself as the body, `x-ratelimit-*` and `retry-after` on 429).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use shared::error::{Classify, ErrorClass};
use shared::event::Visitor;
use shared::identity::enrich::{EnrichError, Enricher, merge};
use shared::platforms::Platform;
use shared::secret::Secret;
use shared::tenant::{PlatformApiSecrets, TenantSecrets};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const INTERCOM_TOKEN: &str = "dG9rOmludGVyY29t";
const RESPONDIO_TOKEN: &str = "respondio-token-1";

/// What the stand-in answers next, set by each test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Normal,
    /// 200s that say the quota is spent until `reset_in` seconds from now.
    LastRequest {
        reset_in: u64,
    },
    /// 429 with the platform's headers; `retry_after` only when given.
    Throttled {
        retry_after: Option<u64>,
        reset_in: u64,
    },
    ServerError,
    Malformed,
}

struct Stand {
    requests: AtomicUsize,
    mode: Mutex<Mode>,
    /// The `Intercom-Version` header of the last Intercom request.
    intercom_version: Mutex<Option<String>>,
}

#[derive(Clone)]
struct StandIn {
    state: Arc<Stand>,
    base: String,
}

impl StandIn {
    async fn start() -> StandIn {
        let state = Arc::new(Stand {
            requests: AtomicUsize::new(0),
            mode: Mutex::new(Mode::Normal),
            intercom_version: Mutex::new(None),
        });
        let app = Router::new()
            .route("/contacts/{id}", get(intercom_contact))
            .route("/v2/contact/{identifier}", get(respondio_contact))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind stand-in");
        let addr = listener.local_addr().expect("stand-in address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        StandIn {
            state,
            base: format!("http://{addr}"),
        }
    }

    fn enricher(&self) -> Enricher {
        Enricher::with_bases(self.base.clone(), format!("{}/v2", self.base)).expect("enricher")
    }

    fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    fn set(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn bearer_is(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {token}"))
}

fn with_headers(mut response: Response, headers: &[(&'static str, String)]) -> Response {
    for (name, value) in headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            response.headers_mut().insert(*name, v);
        }
    }
    response
}

fn intercom_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "type": "error.list",
            "request_id": "b7b0c7a0-0000-4000-8000-000000000000",
            "errors": [{ "code": code, "message": message }]
        })),
    )
        .into_response()
}

async fn intercom_contact(
    State(state): State<Arc<Stand>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    state.requests.fetch_add(1, Ordering::SeqCst);
    *state.intercom_version.lock().unwrap() = headers
        .get("intercom-version")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if !bearer_is(&headers, INTERCOM_TOKEN) {
        // Intercom sends no rate-limit headers without valid credentials.
        return intercom_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Access Token Invalid",
        );
    }
    let mode = *state.mode.lock().unwrap();
    let limit = |remaining: u64, reset_in: u64| {
        vec![
            ("x-ratelimit-limit", "167".to_owned()),
            ("x-ratelimit-remaining", remaining.to_string()),
            ("x-ratelimit-reset", (now_secs() + reset_in).to_string()),
        ]
    };
    let (response, remaining, reset_in) = match mode {
        Mode::Throttled {
            retry_after,
            reset_in,
        } => {
            let r = intercom_error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_exceeded",
                "Exceeded rate limit of 167 in 10_seconds",
            );
            let r = match retry_after {
                Some(s) => with_headers(r, &[("retry-after", s.to_string())]),
                None => r,
            };
            (r, 0, reset_in)
        }
        Mode::ServerError => (
            intercom_error(StatusCode::BAD_GATEWAY, "server_error", "Bad gateway"),
            100,
            10,
        ),
        Mode::Malformed => (
            (StatusCode::OK, "{\"type\":\"contact\",").into_response(),
            100,
            10,
        ),
        Mode::Normal | Mode::LastRequest { .. } => {
            let r = match id.as_str() {
                "6543" => axum::Json(json!({
                    "type": "contact",
                    "id": "6543",
                    "workspace_id": "ecahpwf5",
                    "external_id": "cust-42",
                    "role": "user",
                    "email": "ada@analytical.co.uk",
                    "phone": "+447700900123",
                    "name": "Ada Lovelace",
                    "avatar": null,
                    "owner_id": null,
                    "social_profiles": { "type": "list", "data": [] },
                    "has_hard_bounced": false,
                    "marked_email_as_spam": false,
                    "unsubscribed_from_emails": false,
                    "created_at": 1_700_000_000,
                    "updated_at": 1_700_000_100,
                    "signed_up_at": 1_700_000_000,
                    "last_seen_at": 1_700_000_050,
                    "browser": "chrome",
                    "os": "OS X",
                    "custom_attributes": {},
                    "tags": { "type": "list", "data": [], "url": "/contacts/6543/tags", "total_count": 0, "has_more": false }
                }))
                .into_response(),
                "lead-1" => axum::Json(json!({
                    "type": "contact",
                    "id": "lead-1",
                    "workspace_id": "ecahpwf5",
                    "external_id": null,
                    "role": "lead",
                    "email": null,
                    "phone": "+15551211212",
                    "name": null
                }))
                .into_response(),
                _ => intercom_error(StatusCode::NOT_FOUND, "not_found", "Contact Not Found"),
            };
            match mode {
                Mode::LastRequest { reset_in } => (r, 0, reset_in),
                _ => (r, 166, 10),
            }
        }
    };
    with_headers(response, &limit(remaining, reset_in))
}

fn respondio_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "code": status.as_u16(), "message": message })),
    )
        .into_response()
}

fn grace() -> Value {
    json!({
        "id": 123,
        "firstName": "Grace",
        "lastName": "Hopper",
        "phone": "+15551211212",
        "email": "grace@navy.example",
        "language": "en",
        "profilePic": null,
        "countryCode": "US",
        "custom_fields": [{ "name": "plan", "value": "gold" }],
        "status": "open",
        "tags": ["vip"],
        "assignee": null,
        "lifecycle": null,
        "created_at": 1_700_000_000
    })
}

async fn respondio_contact(
    State(state): State<Arc<Stand>>,
    Path(identifier): Path<String>,
    headers: HeaderMap,
) -> Response {
    state.requests.fetch_add(1, Ordering::SeqCst);
    if !bearer_is(&headers, RESPONDIO_TOKEN) {
        return respondio_error(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    let mode = *state.mode.lock().unwrap();
    let limit = |remaining: u64| {
        vec![
            ("x-ratelimit-limit", "5".to_owned()),
            ("x-ratelimit-remaining", remaining.to_string()),
        ]
    };
    match mode {
        Mode::Throttled { retry_after, .. } => {
            let mut h = limit(0);
            if let Some(s) = retry_after {
                h.push(("retry-after", s.to_string()));
            }
            with_headers(
                respondio_error(StatusCode::TOO_MANY_REQUESTS, "Too many requests"),
                &h,
            )
        }
        Mode::ServerError => with_headers(
            respondio_error(StatusCode::SERVICE_UNAVAILABLE, "Unavailable"),
            &limit(4),
        ),
        Mode::Malformed => (StatusCode::OK, "<html>maintenance</html>").into_response(),
        Mode::Normal | Mode::LastRequest { .. } => {
            let r = match identifier.as_str() {
                "id:123" | "email:grace@navy.example" | "phone:+15551211212" => {
                    axum::Json(grace()).into_response()
                }
                _ => respondio_error(StatusCode::NOT_FOUND, "Contact not found"),
            };
            match mode {
                Mode::LastRequest { reset_in } => {
                    let mut h = limit(0);
                    h.push(("retry-after", reset_in.to_string()));
                    with_headers(r, &h)
                }
                _ => with_headers(r, &limit(4)),
            }
        }
    }
}

fn secrets(intercom: Option<&str>, respondio: Option<&str>) -> TenantSecrets {
    TenantSecrets {
        platform_api: Some(PlatformApiSecrets {
            intercom_access_token: intercom.map(Secret::new),
            respondio_api_token: respondio.map(Secret::new),
            ..PlatformApiSecrets::default()
        }),
        ..TenantSecrets::default()
    }
}

fn both() -> TenantSecrets {
    secrets(Some(INTERCOM_TOKEN), Some(RESPONDIO_TOKEN))
}

fn rate_limited(result: Result<Option<Visitor>, EnrichError>) -> Option<Duration> {
    match result {
        Err(e @ EnrichError::RateLimited { .. }) => {
            assert_eq!(e.class(), ErrorClass::RateLimited);
            e.retry_after()
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

#[tokio::test]
async fn intercom_contact_fills_email_phone_name_external_id_and_role() {
    let stand = StandIn::start().await;
    let enricher = stand.enricher();
    let v = enricher
        .contact(Platform::Intercom, "6543", &both())
        .await
        .expect("fetch")
        .expect("contact found");
    assert_eq!(
        v,
        Visitor {
            contact_id: Some("6543".into()),
            external_id: Some("cust-42".into()),
            email: Some("ada@analytical.co.uk".into()),
            phone: Some("+447700900123".into()),
            name: Some("Ada Lovelace".into()),
            role: Some("user".into()),
            ..Visitor::default()
        }
    );
    assert_eq!(stand.requests(), 1);
    assert!(
        stand
            .state
            .intercom_version
            .lock()
            .unwrap()
            .as_deref()
            .is_some_and(|v| v.starts_with("2.")),
        "an Intercom-Version header is sent"
    );
    // A lead with nulls gives only what it has.
    let lead = enricher
        .contact(Platform::Intercom, "lead-1", &both())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lead.email, None);
    assert_eq!(lead.name, None);
    assert_eq!(lead.phone.as_deref(), Some("+15551211212"));
    assert_eq!(lead.role.as_deref(), Some("lead"));
}

#[tokio::test]
async fn respondio_contact_fills_first_and_last_name_by_any_identifier() {
    let stand = StandIn::start().await;
    let enricher = stand.enricher();
    for id in [
        "123",
        "id:123",
        "email:grace@navy.example",
        "phone:+15551211212",
    ] {
        let v = enricher
            .contact(Platform::RespondIo, id, &both())
            .await
            .expect("fetch")
            .unwrap_or_else(|| panic!("{id} found"));
        assert_eq!(
            v,
            Visitor {
                contact_id: Some("123".into()),
                email: Some("grace@navy.example".into()),
                phone: Some("+15551211212".into()),
                name: Some("Grace Hopper".into()),
                first_name: Some("Grace".into()),
                last_name: Some("Hopper".into()),
                ..Visitor::default()
            },
            "{id}"
        );
    }
    assert_eq!(stand.requests(), 4);
}

#[tokio::test]
async fn no_token_for_the_platform_is_none_without_a_call() {
    let stand = StandIn::start().await;
    let enricher = stand.enricher();
    let no_section = TenantSecrets::default();
    let other_platform_only = secrets(None, Some(RESPONDIO_TOKEN));
    let empty = secrets(Some(""), Some(""));
    for s in [&no_section, &other_platform_only, &empty] {
        assert_eq!(
            enricher
                .contact(Platform::Intercom, "6543", s)
                .await
                .unwrap(),
            None
        );
    }
    for s in [&no_section, &secrets(Some(INTERCOM_TOKEN), None), &empty] {
        assert_eq!(
            enricher
                .contact(Platform::RespondIo, "123", s)
                .await
                .unwrap(),
            None
        );
    }
    for p in [Platform::Tidio, Platform::CloudCx] {
        assert_eq!(enricher.contact(p, "6543", &both()).await.unwrap(), None);
    }
    assert_eq!(stand.requests(), 0);
}

#[tokio::test]
async fn an_unknown_contact_is_none() {
    let stand = StandIn::start().await;
    let enricher = stand.enricher();
    assert_eq!(
        enricher
            .contact(Platform::Intercom, "gone", &both())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        enricher
            .contact(Platform::RespondIo, "999", &both())
            .await
            .unwrap(),
        None
    );
    // An id that tries to leave its path segment is still just an unknown id.
    assert_eq!(
        enricher
            .contact(Platform::Intercom, "../contacts/6543", &both())
            .await
            .unwrap(),
        None
    );
    assert_eq!(stand.requests(), 3);
}

#[tokio::test]
async fn a_429_is_rate_limited_with_the_wait_and_the_next_call_is_held() {
    let stand = StandIn::start().await;
    let enricher = stand.enricher();

    // respond.io: Retry-After seconds.
    stand.set(Mode::Throttled {
        retry_after: Some(30),
        reset_in: 30,
    });
    let wait = rate_limited(enricher.contact(Platform::RespondIo, "123", &both()).await);
    assert_eq!(wait, Some(Duration::from_secs(30)));

    // Intercom without Retry-After: the wait runs to X-RateLimit-Reset.
    stand.set(Mode::Throttled {
        retry_after: None,
        reset_in: 20,
    });
    let wait = rate_limited(enricher.contact(Platform::Intercom, "6543", &both()).await)
        .expect("a wait from X-RateLimit-Reset");
    assert!(
        wait <= Duration::from_secs(20) && wait >= Duration::from_secs(18),
        "{wait:?}"
    );
    assert_eq!(stand.requests(), 2);

    // Both quotas are now held: no request leaves until the wait is over, even once the
    // platform would answer again.
    stand.set(Mode::Normal);
    let held = rate_limited(enricher.contact(Platform::Intercom, "6543", &both()).await)
        .expect("held with its remaining wait");
    assert!(held <= wait, "{held:?} <= {wait:?}");
    let held = rate_limited(enricher.contact(Platform::RespondIo, "123", &both()).await)
        .expect("held with its remaining wait");
    assert!(held <= Duration::from_secs(30) && held >= Duration::from_secs(28));
    assert_eq!(stand.requests(), 2);
}

#[tokio::test]
async fn remaining_zero_holds_the_next_call_without_a_request() {
    let stand = StandIn::start().await;
    let enricher = stand.enricher();
    stand.set(Mode::LastRequest { reset_in: 60 });
    // The answer itself is still used.
    let v = enricher
        .contact(Platform::Intercom, "6543", &both())
        .await
        .expect("the last allowed request succeeds");
    assert!(v.is_some());
    assert_eq!(stand.requests(), 1);
    stand.set(Mode::Normal);
    let wait = rate_limited(
        enricher
            .contact(Platform::Intercom, "lead-1", &both())
            .await,
    )
    .expect("wait until the reset");
    assert!(wait <= Duration::from_secs(60) && wait >= Duration::from_secs(58));
    assert_eq!(stand.requests(), 1, "the held call sent no request");

    // Another tenant's token is another app's quota, and respond.io is another platform.
    let other_tenant = secrets(Some("another-tenant-token"), Some(RESPONDIO_TOKEN));
    let refused = enricher
        .contact(Platform::Intercom, "6543", &other_tenant)
        .await
        .unwrap_err();
    assert_eq!(refused.class(), ErrorClass::Configuration);
    assert!(
        enricher
            .contact(Platform::RespondIo, "123", &both())
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(stand.requests(), 3);

    // respond.io: remaining 0 with a Retry-After holds the same way.
    stand.set(Mode::LastRequest { reset_in: 45 });
    assert!(
        enricher
            .contact(Platform::RespondIo, "123", &both())
            .await
            .unwrap()
            .is_some()
    );
    stand.set(Mode::Normal);
    let wait = rate_limited(enricher.contact(Platform::RespondIo, "123", &both()).await);
    assert!(wait.is_some_and(|w| w <= Duration::from_secs(45) && w >= Duration::from_secs(43)));
    assert_eq!(stand.requests(), 4);
}

#[tokio::test]
async fn a_wrong_token_is_a_configuration_error_that_never_shows_the_token() {
    let stand = StandIn::start().await;
    let enricher = stand.enricher();
    let wrong = secrets(Some("wrong-intercom-token"), Some("wrong-respondio-token"));
    for (p, id) in [(Platform::Intercom, "6543"), (Platform::RespondIo, "123")] {
        let err = enricher.contact(p, id, &wrong).await.unwrap_err();
        assert!(
            matches!(err, EnrichError::Unauthorized { status: 401, .. }),
            "{err:?}"
        );
        assert_eq!(err.class(), ErrorClass::Configuration);
        assert_eq!(err.retry_after(), None);
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("wrong-"), "{shown}");
    }
    assert_eq!(stand.requests(), 2);
}

#[tokio::test]
async fn server_errors_are_transient_and_malformed_bodies_are_data() {
    let stand = StandIn::start().await;
    let enricher = stand.enricher();
    stand.set(Mode::ServerError);
    for (p, id) in [(Platform::Intercom, "6543"), (Platform::RespondIo, "123")] {
        let err = enricher.contact(p, id, &both()).await.unwrap_err();
        assert_eq!(err.class(), ErrorClass::Transient, "{err:?}");
    }
    stand.set(Mode::Malformed);
    for (p, id) in [(Platform::Intercom, "6543"), (Platform::RespondIo, "123")] {
        let err = enricher.contact(p, id, &both()).await.unwrap_err();
        assert_eq!(err.class(), ErrorClass::Data, "{err:?}");
    }
    assert_eq!(stand.requests(), 4);
}

#[tokio::test]
async fn a_platform_that_is_down_is_transient() {
    // Bind and drop a port so nothing listens there.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let enricher = Enricher::with_bases(format!("http://{addr}"), format!("http://{addr}/v2"))
        .expect("enricher");
    let err = enricher
        .contact(Platform::Intercom, "6543", &both())
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient);
}

#[tokio::test]
async fn merge_keeps_the_events_own_values() {
    let stand = StandIn::start().await;
    let enricher = stand.enricher();
    let mut visitor = Visitor {
        contact_id: Some("6543".into()),
        email: Some("Ada@Event.example".into()),
        name: Some("".into()),
        role: Some("lead".into()),
        ..Visitor::default()
    };
    let fetched = enricher
        .contact(Platform::Intercom, "6543", &both())
        .await
        .unwrap()
        .unwrap();
    merge(&mut visitor, fetched);
    assert_eq!(
        visitor,
        Visitor {
            contact_id: Some("6543".into()),
            external_id: Some("cust-42".into()),
            email: Some("Ada@Event.example".into()),
            phone: Some("+447700900123".into()),
            name: Some("Ada Lovelace".into()),
            role: Some("lead".into()),
            ..Visitor::default()
        }
    );
}

#[test]
fn the_tenant_secret_carries_platform_tokens_and_never_prints_them() {
    let json = json!({
        "webhooks": { "intercom_client_secret": ["s"] },
        "platform_api": {
            "intercom_access_token": "ic-token-value",
            "respondio_api_token": "rio-token-value"
        }
    });
    let s: TenantSecrets = serde_json::from_value(json).expect("secret parses");
    let api = s.platform_api.as_ref().expect("platform_api");
    assert_eq!(
        api.intercom_access_token.as_ref().map(Secret::expose),
        Some("ic-token-value")
    );
    let shown = format!("{s:?}");
    assert!(!shown.contains("token-value"), "{shown}");
    // A secret without the section still parses, and serialises without it.
    let old: TenantSecrets = serde_json::from_value(json!({ "webhooks": {} })).unwrap();
    assert_eq!(old.platform_api, None);
    assert!(
        serde_json::to_value(&old)
            .unwrap()
            .get("platform_api")
            .is_none()
    );
}
