//! Tidio's OpenAPI, the part chatsync uses (<https://developers.tidio.com/docs/openapi-authorization>):
//! base `https://api.tidio.com`, both `X-Tidio-Openapi-Client-Id` (`ci_…`) and
//! `X-Tidio-Openapi-Client-Secret` (`cs_…`) on every call, and `Accept: application/json;
//! version=1` (<https://developers.tidio.com/docs/versioning>). Errors are `{errors: [{code,
//! message}]}`; past the project's per-minute limit a 429 `too_many_requests`, with
//! `x-ratelimit-limit` and `x-ratelimit-remaining` on answers
//! (<https://developers.tidio.com/docs/openapi-rate-limiting>).
//!
//! Routes: `GET /contacts` (cursor pages, `?email=` filter; `{contacts, meta: {cursor, limit}}`,
//! <https://developers.tidio.com/reference/get_contacts>) and `GET /operators`
//! (<https://developers.tidio.com/reference/get_operators>). Tidio documents no way to read a
//! live chat's messages, so there is no such route.

use crate::gate::Window;
use crate::{Emulator, State};
use axum::Router;
use axum::extract::{Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

/// The Premium plan's 120 calls a minute (Plus has 60).
pub(crate) const RATE_WINDOW: Window = Window {
    limit: 120,
    seconds: 60,
    start: 0,
    used: 0,
};

/// Contacts per page.
const PAGE: usize = 50;

pub(crate) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/contacts", get(contacts))
        .route("/operators", get(operators))
}

pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let code = match status {
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        _ => code,
    };
    let message = match status {
        StatusCode::TOO_MANY_REQUESTS => "You have reached the limit of allowed attempts",
        _ => message,
    };
    (
        status,
        axum::Json(json!({"errors": [{"code": code, "message": message}]})),
    )
        .into_response()
}

pub(crate) fn authorize(headers: &HeaderMap, st: &State) -> Result<(), Box<Response>> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let accept = header("accept").unwrap_or_default();
    if !accept.replace(' ', "").contains("version=1") {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "invalid_version",
            "Send Accept: application/json; version=1",
        )));
    }
    match (
        header("x-tidio-openapi-client-id"),
        header("x-tidio-openapi-client-secret"),
    ) {
        (Some(id), Some(secret)) if st.accepts("tidio", &format!("{id}:{secret}")) => Ok(()),
        _ => Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Invalid client id or client secret",
        ))),
    }
}

pub(crate) fn rate_headers(w: &Window) -> Vec<(&'static str, String)> {
    vec![
        ("x-ratelimit-limit", w.limit.to_string()),
        ("x-ratelimit-remaining", w.remaining().to_string()),
    ]
}

#[derive(Deserialize)]
struct ContactsQuery {
    cursor: Option<String>,
    email: Option<String>,
}

async fn contacts(AxState(emu): AxState<Emulator>, Query(q): Query<ContactsQuery>) -> Response {
    let st = emu.lock();
    let start = match q.cursor.as_deref() {
        None | Some("") => 0,
        Some(c) => match c.parse::<usize>() {
            Ok(n) => n,
            Err(_) => return error(StatusCode::BAD_REQUEST, "invalid_cursor", "Invalid cursor"),
        },
    };
    let wanted = q.email.as_deref().map(str::to_lowercase);
    let matching: Vec<&Value> = st
        .list("tidio", "contacts")
        .filter(|c| {
            wanted.as_deref().is_none_or(|w| {
                c.get("email")
                    .and_then(Value::as_str)
                    .is_some_and(|e| e.to_lowercase() == w)
            })
        })
        .collect();
    let page: Vec<&Value> = matching.iter().skip(start).take(PAGE).copied().collect();
    let next = (start + PAGE < matching.len()).then(|| (start + PAGE).to_string());
    axum::Json(json!({"contacts": page, "meta": {"cursor": next, "limit": page.len()}}))
        .into_response()
}

async fn operators(AxState(emu): AxState<Emulator>) -> Response {
    let st = emu.lock();
    let list: Vec<&Value> = st.list("tidio", "operators").collect();
    axum::Json(json!({"operators": list, "meta": {"cursor": null, "limit": list.len()}}))
        .into_response()
}
