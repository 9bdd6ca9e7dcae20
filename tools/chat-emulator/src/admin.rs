//! The emulator's own API under `/__emulator/`: seed records, read them, count calls, inject
//! faults, set a platform's rate limit, send a platform's signed webhook, reset.

use crate::faults::FaultRule;
use crate::gate::Window;
use crate::{Emulator, PLATFORMS, State, webhooks};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

pub(crate) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/__emulator/seed", post(seed))
        .route("/__emulator/records/{platform}/{kind}", get(records))
        .route("/__emulator/stats", get(stats))
        .route("/__emulator/faults", post(faults).get(list_faults))
        .route("/__emulator/limits", post(limits))
        .route("/__emulator/webhooks/{platform}", post(webhook))
        .route("/__emulator/reset", post(reset))
}

fn answer(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn bad_request(message: impl Into<String>) -> Response {
    answer(StatusCode::BAD_REQUEST, json!({"error": message.into()}))
}

fn parse(body: &Bytes) -> Result<Value, Box<Response>> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|e| Box::new(bad_request(format!("invalid JSON: {e}"))))
}

async fn seed(AxState(emu): AxState<Emulator>, body: Bytes) -> Response {
    let data = match parse(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    match emu.seed(&data) {
        Ok(ids) => answer(StatusCode::OK, ids),
        Err(e) => bad_request(e),
    }
}

async fn records(
    AxState(emu): AxState<Emulator>,
    Path((platform, kind)): Path<(String, String)>,
) -> Response {
    if !PLATFORMS.contains(&platform.as_str()) {
        return answer(
            StatusCode::NOT_FOUND,
            json!({"error": format!("unknown platform {platform}")}),
        );
    }
    let st = emu.lock();
    let list: Vec<&Value> = st.list(&platform, &kind).collect();
    answer(StatusCode::OK, json!(list))
}

async fn stats(AxState(emu): AxState<Emulator>) -> Response {
    let st = emu.lock();
    let total: u64 = st.calls.values().sum();
    answer(
        StatusCode::OK,
        json!({"api_calls": total, "calls": st.calls, "by_route": st.by_route}),
    )
}

/// Body: one rule, `{"faults": [rules]}` (replacing all), or `{"clear": true}`.
async fn faults(AxState(emu): AxState<Emulator>, body: Bytes) -> Response {
    let data = match parse(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let mut st = emu.lock();
    if data.get("clear").and_then(Value::as_bool) == Some(true) {
        st.faults.clear();
    } else if let Some(list) = data.get("faults") {
        let rules = match serde_json::from_value::<Vec<FaultRule>>(list.clone()) {
            Ok(rules) => rules,
            Err(e) => return bad_request(format!("invalid faults: {e}")),
        };
        if let Some(msg) = rules.iter().find_map(|r| r.validate().err()) {
            return bad_request(format!("invalid faults: {msg}"));
        }
        st.faults = rules;
    } else {
        let rule = match serde_json::from_value::<FaultRule>(data) {
            Ok(rule) => rule,
            Err(e) => return bad_request(format!("invalid fault: {e}")),
        };
        if let Err(msg) = rule.validate() {
            return bad_request(format!("invalid fault: {msg}"));
        }
        st.faults.push(rule);
    }
    answer(StatusCode::OK, json!({"active_faults": st.faults.len()}))
}

async fn list_faults(AxState(emu): AxState<Emulator>) -> Response {
    answer(StatusCode::OK, json!(emu.lock().faults))
}

/// Body: `{"platform", "limit", "window_seconds"}`: that platform's calls allowed per window.
async fn limits(AxState(emu): AxState<Emulator>, body: Bytes) -> Response {
    let data = match parse(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let platform = data
        .get("platform")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !PLATFORMS.contains(&platform) {
        return bad_request(format!(
            "\"platform\" must be one of {}",
            PLATFORMS.join(", ")
        ));
    }
    let (Some(limit), Some(seconds)) = (
        data.get("limit").and_then(Value::as_u64),
        data.get("window_seconds")
            .and_then(Value::as_i64)
            .filter(|s| *s > 0),
    ) else {
        return bad_request("give \"limit\" (0 or more) and \"window_seconds\" (1 or more)");
    };
    emu.lock()
        .limits
        .insert(platform.to_owned(), Window::new(limit, seconds));
    answer(
        StatusCode::OK,
        json!({"platform": platform, "limit": limit, "window_seconds": seconds}),
    )
}

/// Body: `{"url", "secret", "body"}`: `body` (JSON) is sent to `url` signed as the platform
/// signs its webhooks with `secret`; answers the receiver's status and body.
async fn webhook(Path(platform): Path<String>, body: Bytes) -> Response {
    let data = match parse(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let (Some(url), Some(secret), Some(payload)) = (
        data.get("url").and_then(Value::as_str),
        data.get("secret").and_then(Value::as_str),
        data.get("body"),
    ) else {
        return bad_request("give \"url\", \"secret\" and \"body\"");
    };
    match webhooks::send(&platform, url, secret, payload).await {
        Ok((status, text)) => answer(StatusCode::OK, json!({"status": status, "body": text})),
        Err(e) => bad_request(e),
    }
}

async fn reset(AxState(emu): AxState<Emulator>) -> Response {
    *emu.lock() = State::default();
    answer(StatusCode::OK, json!({"reset": true}))
}
