//! The emulator's own API under `/__emulator/` (see the crate's README): inspect records and usage, seed data,
//! get a session without OAuth, inject faults, set (exhaust, reset) the allowance, add validation
//! rules, expire tokens, reset.

use crate::dml::DuplicateRule;
use crate::faults::FaultRule;
use crate::server::json_response;
use crate::state::{API_VERSION, Emulator, State, reset_data};
use crate::validation;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::response::Response;
use axum::routing::{delete, get, post};
use serde_json::{Value, json};
use std::time::Duration;

pub(crate) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/__emulator/records/{sobject}", get(records))
        .route("/__emulator/stats", get(stats))
        .route("/__emulator/seed", post(seed))
        .route("/__emulator/session", post(session))
        .route("/__emulator/faults", post(faults).get(list_faults))
        .route("/__emulator/limits", post(set_limits).get(get_limits))
        .route(
            "/__emulator/validation-rules",
            post(add_validation_rules).get(list_validation_rules),
        )
        .route(
            "/__emulator/validation-rules/{name}",
            delete(delete_validation_rule),
        )
        .route("/__emulator/expire-tokens", post(expire_tokens))
        .route("/__emulator/reset", post(reset))
        .route(
            "/__emulator/outbound",
            post(define_outbound).get(list_outbound),
        )
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

/// Body: `{"definitions": [{object, fields, endpoint, quiet_users?}], "settings": {…}}`,
/// replacing every definition; saves from now on send outbound messages.
async fn define_outbound(AxState(emu): AxState<Emulator>, body: Bytes) -> Response {
    #[derive(serde::Deserialize)]
    struct Body {
        definitions: Vec<crate::outbound::Definition>,
        #[serde(default)]
        settings: crate::outbound::Settings,
    }
    let data = match parse(&body) {
        Ok(v) => v,
        Err(msg) => return bad_request(msg),
    };
    let body: Body = match serde_json::from_value(data) {
        Ok(b) => b,
        Err(e) => return bad_request(format!("invalid outbound definitions: {e}")),
    };
    let mut st = emu.lock();
    let saves = st.store.saves.len();
    st.outbound.define(body.definitions, body.settings, saves);
    json_response(200, &json!({"definitions": st.outbound.definitions}))
}

/// The definitions, every delivery attempt and what was dropped.
async fn list_outbound(AxState(emu): AxState<Emulator>) -> Response {
    let st = emu.lock();
    json_response(
        200,
        &json!({
            "definitions": st.outbound.definitions,
            "attempts": st.outbound.attempts,
            "dropped": st.outbound.dropped,
        }),
    )
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
    json_response(200, &json!({"active_faults": st.faults.len()}))
}

/// The active rules, with how many matching calls each has seen and how often it fired.
async fn list_faults(AxState(emu): AxState<Emulator>) -> Response {
    let st = emu.lock();
    json_response(200, &json!(st.faults))
}

fn limits_body(st: &State) -> Value {
    let max = st.config.daily_api_limit;
    json!({
        "daily_api_limit": max,
        "api_calls": st.api_used,
        "remaining": max.saturating_sub(st.api_used),
    })
}

async fn get_limits(AxState(emu): AxState<Emulator>) -> Response {
    json_response(200, &limits_body(&emu.lock()))
}

/// Body: any of `{"daily_api_limit": n}`, then one of `{"api_calls": used}`, `{"exhaust": true}`
/// (usage = allowance: the next API call gets REQUEST_LIMIT_EXCEEDED) or `{"reset_usage": true}`
/// (usage 0, as when the rolling 24 hours have passed).
async fn set_limits(AxState(emu): AxState<Emulator>, body: Bytes) -> Response {
    let data = match parse(&body) {
        Ok(v) => v,
        Err(msg) => return bad_request(msg),
    };
    let Some(map) = data.as_object() else {
        return bad_request("limits body must be a JSON object");
    };
    const KEYS: [&str; 4] = ["daily_api_limit", "api_calls", "exhaust", "reset_usage"];
    if let Some(k) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return bad_request(format!("unknown key \"{k}\"; use {}", KEYS.join(", ")));
    }
    let number = |k: &str| match map.get(k) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("\"{k}\" must be a non-negative integer")),
    };
    let flag = |k: &str| match map.get(k) {
        None => Ok(false),
        Some(v) => v
            .as_bool()
            .ok_or_else(|| format!("\"{k}\" must be true or false")),
    };
    let (limit, used, exhaust, reset_usage) = match (
        number("daily_api_limit"),
        number("api_calls"),
        flag("exhaust"),
        flag("reset_usage"),
    ) {
        (Ok(a), Ok(b), Ok(c), Ok(d)) => (a, b, c, d),
        (Err(m), ..) | (_, Err(m), ..) | (_, _, Err(m), _) | (.., Err(m)) => {
            return bad_request(m);
        }
    };
    if u8::from(used.is_some()) + u8::from(exhaust) + u8::from(reset_usage) > 1 {
        return bad_request("give only one of api_calls, exhaust, reset_usage");
    }
    let mut st = emu.lock();
    if let Some(n) = limit {
        st.config.daily_api_limit = n;
    }
    if let Some(n) = used {
        st.api_used = n;
    }
    if exhaust {
        st.api_used = st.api_used.max(st.config.daily_api_limit);
    }
    if reset_usage {
        st.api_used = 0;
    }
    json_response(200, &limits_body(&st))
}

/// Body: one rule or an array of rules (all or none are added):
/// `{"object","name","field","when":{"equals"|"blank"|"matches"|"not_in": …},"error_field"?,"message"}`.
async fn add_validation_rules(AxState(emu): AxState<Emulator>, body: Bytes) -> Response {
    let data = match parse(&body) {
        Ok(v) => v,
        Err(msg) => return bad_request(msg),
    };
    let defs = match data {
        Value::Array(list) => list,
        one => vec![one],
    };
    let mut st = emu.lock();
    let mut added = Vec::new();
    for (i, def) in defs.iter().enumerate() {
        let rule = match validation::parse_rule(&st.schema, def) {
            Ok(r) => r,
            Err(msg) if defs.len() > 1 => {
                return bad_request(format!("invalid validation rule #{}: {msg}", i + 1));
            }
            Err(msg) => return bad_request(format!("invalid validation rule: {msg}")),
        };
        let taken = st
            .validation_rules
            .iter()
            .chain(&added)
            .any(|r: &validation::ValidationRule| r.name.eq_ignore_ascii_case(&rule.name));
        if taken {
            return bad_request(format!(
                "a validation rule named \"{}\" already exists; DELETE it first",
                rule.name
            ));
        }
        added.push(rule);
    }
    let names: Vec<String> = added.iter().map(|r| r.name.clone()).collect();
    st.validation_rules.extend(added);
    json_response(
        200,
        &json!({"added": names, "validation_rules": st.validation_rules.len()}),
    )
}

async fn list_validation_rules(AxState(emu): AxState<Emulator>) -> Response {
    let st = emu.lock();
    let list: Vec<Value> = st
        .validation_rules
        .iter()
        .map(validation::ValidationRule::to_json)
        .collect();
    json_response(200, &Value::Array(list))
}

async fn delete_validation_rule(
    AxState(emu): AxState<Emulator>,
    Path(name): Path<String>,
) -> Response {
    let mut st = emu.lock();
    let before = st.validation_rules.len();
    st.validation_rules
        .retain(|r| !r.name.eq_ignore_ascii_case(&name));
    if st.validation_rules.len() == before {
        return json_response(
            404,
            &json!({"error": format!("no validation rule named \"{name}\"")}),
        );
    }
    json_response(
        200,
        &json!({"deleted": name, "validation_rules": st.validation_rules.len()}),
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
