//! The emulator's own API under `/__emulator/` (DESIGN §7): inspect records and usage, seed data,
//! get a session without OAuth, inject faults, set the allowance, expire tokens, reset.

use crate::dml::DuplicateRule;
use crate::faults::FaultRule;
use crate::server::json_response;
use crate::state::{API_VERSION, Emulator, reset_data};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::time::Duration;

pub fn routes() -> Router<Emulator> {
    Router::new()
        .route("/__emulator/records/{sobject}", get(records))
        .route("/__emulator/stats", get(stats))
        .route("/__emulator/seed", post(seed))
        .route("/__emulator/session", post(session))
        .route("/__emulator/faults", post(faults))
        .route("/__emulator/limits", post(set_limits))
        .route("/__emulator/expire-tokens", post(expire_tokens))
        .route("/__emulator/reset", post(reset))
        .route("/__emulator/duplicate-rules", post(duplicate_rules))
        .route("/__emulator/config", post(config))
}

fn bad_request(message: impl Into<String>) -> Response {
    json_response(400, &json!({"error": message.into()}))
}

fn parse(body: &Bytes) -> Result<Value, String> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))
}

async fn records(AxState(emu): AxState<Emulator>, Path(sobject): Path<String>) -> Response {
    let st = emu.lock();
    let Some(obj) = st.schema.object(&sobject) else {
        return json_response(404, &json!({"error": format!("unknown sObject {sobject}")}));
    };
    let list: Vec<Value> = st
        .store
        .list(&obj.name, false)
        .map(|r| r.to_json(API_VERSION))
        .collect();
    json_response(200, &Value::Array(list))
}

async fn stats(AxState(emu): AxState<Emulator>) -> Response {
    let st = emu.lock();
    json_response(
        200,
        &json!({"api_calls": st.api_used, "requests": st.requests}),
    )
}

async fn seed(AxState(emu): AxState<Emulator>, body: Bytes) -> Response {
    let data = match parse(&body) {
        Ok(v) => v,
        Err(msg) => return bad_request(msg),
    };
    match emu.seed(&data) {
        Ok(ids) => json_response(200, &ids),
        Err(e) => json_response(400, &e.to_body()),
    }
}

async fn session(AxState(emu): AxState<Emulator>) -> Response {
    json_response(200, &emu.session())
}

/// Body: one rule, `{"faults": [rules]}` (replacing all), or `{"clear": true}`.
async fn faults(AxState(emu): AxState<Emulator>, body: Bytes) -> Response {
    let data = match parse(&body) {
        Ok(v) => v,
        Err(msg) => return bad_request(msg),
    };
    let mut st = emu.lock();
    if data.get("clear").and_then(Value::as_bool) == Some(true) {
        st.faults.clear();
    } else if let Some(list) = data.get("faults") {
        match serde_json::from_value::<Vec<FaultRule>>(list.clone()) {
            Ok(rules) => st.faults = rules,
            Err(e) => return bad_request(format!("invalid faults: {e}")),
        }
    } else {
        match serde_json::from_value::<FaultRule>(data) {
            Ok(rule) => st.faults.push(rule),
            Err(e) => return bad_request(format!("invalid fault: {e}")),
        }
    }
    json_response(200, &json!({"active_faults": st.faults.len()}))
}

/// Body: `{"daily_api_limit": n}` and/or `{"api_calls": used}`.
async fn set_limits(AxState(emu): AxState<Emulator>, body: Bytes) -> Response {
    let data = match parse(&body) {
        Ok(v) => v,
        Err(msg) => return bad_request(msg),
    };
    let mut st = emu.lock();
    if let Some(n) = data.get("daily_api_limit").and_then(Value::as_u64) {
        st.config.daily_api_limit = n;
    }
    if let Some(n) = data.get("api_calls").and_then(Value::as_u64) {
        st.api_used = n;
    }
    json_response(
        200,
        &json!({"daily_api_limit": st.config.daily_api_limit, "api_calls": st.api_used}),
    )
}

async fn expire_tokens(AxState(emu): AxState<Emulator>) -> Response {
    let mut st = emu.lock();
    let expired = st.sessions.len();
    st.sessions.clear();
    json_response(200, &json!({"expired": expired}))
}

async fn reset(AxState(emu): AxState<Emulator>) -> Response {
    let mut st = emu.lock();
    match reset_data(&mut st) {
        Ok(()) => json_response(200, &json!({"reset": true})),
        Err(e) => json_response(400, &e.to_body()),
    }
}

/// Body: `[{"sobject","name","fields",["allow_save"],["message"]}]`, replacing all rules.
async fn duplicate_rules(AxState(emu): AxState<Emulator>, body: Bytes) -> Response {
    let data = match parse(&body) {
        Ok(v) => v,
        Err(msg) => return bad_request(msg),
    };
    match serde_json::from_value::<Vec<DuplicateRule>>(data) {
        Ok(rules) => {
            let mut st = emu.lock();
            st.config.duplicate_rules = rules;
            json_response(200, &json!({"rules": st.config.duplicate_rules.len()}))
        }
        Err(e) => bad_request(format!("invalid duplicate rules: {e}")),
    }
}

/// Body: any of `query_batch_size`, `token_lifetime_secs`, `rotate_refresh_tokens`.
async fn config(AxState(emu): AxState<Emulator>, body: Bytes) -> Response {
    let data = match parse(&body) {
        Ok(v) => v,
        Err(msg) => return bad_request(msg),
    };
    let mut st = emu.lock();
    if let Some(n) = data.get("query_batch_size").and_then(Value::as_u64) {
        st.config.query_batch_size = usize::try_from(n.max(1)).unwrap_or(2000);
    }
    if let Some(n) = data.get("token_lifetime_secs").and_then(Value::as_u64) {
        st.config.token_lifetime = Duration::from_secs(n);
    }
    if let Some(b) = data.get("rotate_refresh_tokens").and_then(Value::as_bool) {
        st.config.rotate_refresh_tokens = b;
    }
    json_response(
        200,
        &json!({
            "query_batch_size": st.config.query_batch_size,
            "token_lifetime_secs": st.config.token_lifetime.as_secs(),
            "rotate_refresh_tokens": st.config.rotate_refresh_tokens,
        }),
    )
}
