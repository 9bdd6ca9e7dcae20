//! Intercom's REST API 2.x, the part chatsync uses: `Authorization: Bearer <access token>`, an
//! optional `Intercom-Version` header; errors as `{type: "error.list", request_id, errors:
//! [{code, message}]}` (401 `unauthorized`, 404 `not_found`, 429 `rate_limit_exceeded`);
//! `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (UNIX seconds) on every
//! authenticated answer, the limit counted in 10-second windows
//! (<https://developers.intercom.com/docs/references/rest-api/errors/rate-limiting>; the API
//! description, intercom/Intercom-OpenAPI `descriptions/2.16/api.intercom.io.yaml`).
//!
//! Routes: `GET /contacts/{id}`, `GET /admins/{id}`, `GET /admins`, `GET /conversations/{id}`
//! (the conversation with its `conversation_parts`), `GET /teams/{id}` and `GET /teams`
//! (`{type: "team.list", teams}`;
//! <https://developers.intercom.com/docs/references/2.12/rest-api/api.intercom.io/teams/retrieveteam>).
//! Seeded records are answered as stored, with their `type`.

use crate::gate::Window;
use crate::{Emulator, State};
use axum::Router;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

/// A private app's default of 10,000 calls a minute, counted as Intercom does per 10 seconds
/// (the rate-limiting page's example: 1,000 a minute is 167 per 10 seconds).
pub(crate) const RATE_WINDOW: Window = Window {
    limit: 1666,
    seconds: 10,
    start: 0,
    used: 0,
};

/// The `Intercom-Version` values the API descriptions name (1.0–1.4, 2.0–2.16, `Preview`,
/// `Unstable`).
fn known_version(v: &str) -> bool {
    let minor = |major: &str, max: u32| {
        v.strip_prefix(major)
            .and_then(|m| m.parse::<u32>().ok())
            .is_some_and(|m| m <= max)
    };
    minor("1.", 4) || minor("2.", 16) || v == "Preview" || v == "Unstable"
}

pub(crate) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/contacts/{id}", get(contact))
        .route("/admins", get(admins))
        .route("/admins/{id}", get(admin))
        .route("/conversations/{id}", get(conversation))
        .route("/teams", get(teams))
        .route("/teams/{id}", get(team))
}

pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "type": "error.list",
            "request_id": uuid::Uuid::new_v4().to_string(),
            "errors": [{"code": code, "message": message}],
        })),
    )
        .into_response()
}

pub(crate) fn authorize(headers: &HeaderMap, st: &State) -> Result<(), Box<Response>> {
    if let Some(v) = headers
        .get("intercom-version")
        .and_then(|v| v.to_str().ok())
        && !known_version(v)
    {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "intercom_version_invalid",
            &format!("Requested version {v} is not valid"),
        )));
    }
    match crate::gate::bearer(headers) {
        Some(token) if st.accepts("intercom", token) => Ok(()),
        _ => Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Access Token Invalid",
        ))),
    }
}

pub(crate) fn rate_headers(w: &Window) -> Vec<(&'static str, String)> {
    vec![
        ("x-ratelimit-limit", w.limit.to_string()),
        ("x-ratelimit-remaining", w.remaining().to_string()),
        ("x-ratelimit-reset", w.reset_at().to_string()),
    ]
}

fn one(emu: &Emulator, kind: &str, type_name: &str, id: &str) -> Response {
    // Admins are the one kind whose 404 has its own code.
    let missing = if kind == "admins" {
        "admin_not_found"
    } else {
        "not_found"
    };
    match emu.lock().record("intercom", kind, id) {
        Some(record) => {
            let mut record = record.clone();
            if let Some(map) = record.as_object_mut() {
                map.entry("type").or_insert_with(|| json!(type_name));
            }
            axum::Json(record).into_response()
        }
        None => error(StatusCode::NOT_FOUND, missing, "Resource Not Found"),
    }
}

async fn contact(AxState(emu): AxState<Emulator>, Path(id): Path<String>) -> Response {
    one(&emu, "contacts", "contact", &id)
}

async fn admin(AxState(emu): AxState<Emulator>, Path(id): Path<String>) -> Response {
    one(&emu, "admins", "admin", &id)
}

async fn admins(AxState(emu): AxState<Emulator>) -> Response {
    let st = emu.lock();
    let list: Vec<Value> = st
        .list("intercom", "admins")
        .map(|a| {
            let mut a = a.clone();
            if let Some(map) = a.as_object_mut() {
                map.entry("type").or_insert_with(|| json!("admin"));
            }
            a
        })
        .collect();
    axum::Json(json!({"type": "admin.list", "admins": list})).into_response()
}

async fn conversation(AxState(emu): AxState<Emulator>, Path(id): Path<String>) -> Response {
    one(&emu, "conversations", "conversation", &id)
}

async fn team(AxState(emu): AxState<Emulator>, Path(id): Path<String>) -> Response {
    one(&emu, "teams", "team", &id)
}

async fn teams(AxState(emu): AxState<Emulator>) -> Response {
    let st = emu.lock();
    let list: Vec<Value> = st
        .list("intercom", "teams")
        .map(|t| {
            let mut t = t.clone();
            if let Some(map) = t.as_object_mut() {
                map.entry("type").or_insert_with(|| json!("team"));
            }
            t
        })
        .collect();
    axum::Json(json!({"type": "team.list", "teams": list})).into_response()
}
