//! Tidio's OpenAPI, the part chatsync uses (<https://developers.tidio.com/docs/openapi-authorization>):
//! base `https://api.tidio.com`, both `X-Tidio-Openapi-Client-Id` (`ci_…`) and
//! `X-Tidio-Openapi-Client-Secret` (`cs_…`) on every call, and `Accept: application/json;
//! version=1` (<https://developers.tidio.com/docs/versioning>). Errors are `{errors: [{code,
//! message}]}`; past the project's per-minute limit a 429 `too_many_requests`, with
//! `x-ratelimit-limit` and `x-ratelimit-remaining` on answers
//! (<https://developers.tidio.com/docs/openapi-rate-limiting>).
//!
//! Routes: `GET /contacts` (cursor pages, `?email=` filter; `{contacts, meta: {cursor, limit}}`,
//! <https://developers.tidio.com/reference/get_contacts>), `GET /operators`
//! (<https://developers.tidio.com/reference/get_operators>), `POST /contacts` and
//! `PATCH /contacts/{id}`. Tidio documents no way to read a live chat's messages, so there is
//! no such route.
//!
//! `POST /contacts` "will always add new contacts. No data will be overwritten, even if it
//! includes the email or a distinct_id": `distinct_id` (≤ 55 characters) and one of email,
//! first_name, last_name or phone are required, `properties` are `[{name ≤ 128, value ≤ 1000}]`
//! (<https://developers.tidio.com/reference/post_contacts>). Tidio's page shows no example
//! answer; the emulator answers the new contact as `GET /contacts` lists it (with its `id`).
//! `PATCH /contacts/{id}`: an absent property is untouched, null clears it, an unknown property
//! or a wrong type is a validation error
//! (<https://developers.tidio.com/reference/patch_contacts-contactid>); the project's
//! properties are those seeded as `tidio.properties` (`{id, name}`), any when none are.

use crate::gate::Window;
use crate::{Emulator, State};
use axum::Router;
use axum::extract::Path;
use axum::extract::{Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
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
        .route("/contacts", get(contacts).post(create_contact))
        .route("/contacts/{id}", patch(update_contact))
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

/// The standard contact fields a create or update may set.
const FIELDS: [&str; 4] = ["email", "phone", "first_name", "last_name"];

fn invalid(message: &str) -> Response {
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_error",
        message,
    )
}

/// Checks a create or update body's fields and properties; the first fault in words.
fn check(st: &State, body: &serde_json::Map<String, Value>) -> Result<(), String> {
    for key in body.keys() {
        if !FIELDS.contains(&key.as_str()) && key != "distinct_id" && key != "properties" {
            return Err(format!("{key}: unknown field"));
        }
    }
    for key in FIELDS {
        if body
            .get(key)
            .is_some_and(|v| !v.is_null() && !v.is_string())
        {
            return Err(format!("{key}: must be a string or null"));
        }
    }
    if let Some(email) = body.get("email").and_then(Value::as_str)
        && !email.contains('@')
    {
        return Err("email: not a valid e-mail address".into());
    }
    let known: Vec<&str> = st
        .list("tidio", "properties")
        .filter_map(|p| p.get("name").and_then(Value::as_str))
        .collect();
    match body.get("properties") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(list)) => list.iter().try_for_each(|p| {
            let name = p.get("name").and_then(Value::as_str).unwrap_or_default();
            let value = p.get("value");
            if name.is_empty() || name.chars().count() > 128 {
                return Err("properties.name: 1 to 128 characters".into());
            }
            if !known.is_empty() && !known.contains(&name) {
                return Err(format!("properties.{name}: no such property"));
            }
            match value {
                Some(Value::Null) => Ok(()),
                Some(Value::String(v)) if v.chars().count() <= 1000 => Ok(()),
                _ => Err(format!(
                    "properties.{name}: a string of at most 1000 characters"
                )),
            }
        }),
        Some(_) => Err("properties: a list of {name, value}".into()),
    }
}

/// Copies `body`'s fields and properties onto `contact`.
fn apply(contact: &mut Value, body: &serde_json::Map<String, Value>) {
    for key in FIELDS.iter().copied().chain(["distinct_id"]) {
        if let Some(v) = body.get(key) {
            contact[key] = v.clone();
        }
    }
    let Some(list) = body.get("properties").and_then(Value::as_array) else {
        return;
    };
    let mut props: Vec<Value> = contact["properties"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for p in list {
        let name = p.get("name").cloned().unwrap_or(Value::Null);
        props.retain(|q| q.get("name") != Some(&name));
        if p.get("value").is_some_and(|v| !v.is_null()) {
            props.push(p.clone());
        }
    }
    contact["properties"] = Value::Array(props);
}

fn contacts_mut(st: &mut State) -> &mut std::collections::BTreeMap<String, Value> {
    st.records
        .entry("tidio".into())
        .or_default()
        .entry("contacts".into())
        .or_default()
}

/// `POST /contacts`: always a new contact.
async fn create_contact(AxState(emu): AxState<Emulator>, body: axum::body::Bytes) -> Response {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return invalid("the body must be a JSON object");
    };
    match body.get("distinct_id").and_then(Value::as_str) {
        Some(d) if !d.is_empty() && d.chars().count() <= 55 => {}
        _ => return invalid("distinct_id: required, at most 55 characters"),
    }
    if FIELDS.iter().all(|k| {
        body.get(*k)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    }) {
        return invalid("one of email, first_name, last_name or phone is required");
    }
    let mut st = emu.lock();
    if let Err(reason) = check(&st, &body) {
        return invalid(&reason);
    }
    let n = st.list("tidio", "contacts").count() + 1;
    // Tidio's contact ids are UUIDs.
    let id = format!("00000000-0000-4000-8000-{n:012x}");
    let mut contact = json!({"id": id, "distinct_id": null, "first_name": null, "last_name": null,
        "email": null, "phone": null, "created_at": "2026-12-01T00:00:00+00:00", "properties": []});
    apply(&mut contact, &body);
    contacts_mut(&mut st).insert(id, contact.clone());
    (StatusCode::OK, axum::Json(contact)).into_response()
}

/// `PATCH /contacts/{id}`.
async fn update_contact(
    AxState(emu): AxState<Emulator>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return invalid("the body must be a JSON object");
    };
    let mut st = emu.lock();
    if let Err(reason) = check(&st, &body) {
        return invalid(&reason);
    }
    match contacts_mut(&mut st).get_mut(&id) {
        Some(contact) => {
            apply(contact, &body);
            StatusCode::NO_CONTENT.into_response()
        }
        None => error(StatusCode::NOT_FOUND, "not_found", "Contact not found"),
    }
}
