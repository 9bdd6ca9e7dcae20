//! respond.io's Developer API v2, the part chatsync uses (base `https://api.respond.io/v2`,
//! `Authorization: Bearer <access token>`; respond-io/typescript-sdk `src/client.ts`):
//! `GET /contact/{identifier}` (`id:123`, `email:…`, `phone:+…`), `GET
//! /contact/{identifier}/message/list` (`limit` 1–100, default 10, and `cursorId`; `{items,
//! pagination: {next, previous}}`) and `GET /contact/{identifier}/message/{messageId}`
//! (`src/clients/messaging.ts`), `GET /space/user` and `GET /space/user/{id}`
//! (`src/clients/space.ts`). Errors are `{code, message}` with the HTTP status as `code`
//! (`src/types/common.ts`); answers carry `X-RateLimit-Limit` and `X-RateLimit-Remaining`, and
//! a 429 `Retry-After` in seconds (<https://docs.respond.io/developer-api>, "Rate Limiting").
//!
//! Seeded messages are kept per contact: each message record has `contactId`.

use crate::gate::Window;
use crate::{Emulator, State, record_id};
use axum::Router;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

/// respond.io publishes no number we could confirm; generous, so only injected faults and
/// tests that set a limit see 429s.
pub(crate) const RATE_WINDOW: Window = Window {
    limit: 300,
    seconds: 60,
    start: 0,
    used: 0,
};

pub(crate) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/contact/{identifier}", get(contact).put(update))
        .route(
            "/contact/create_or_update/{identifier}",
            axum::routing::post(create_or_update),
        )
        .route("/contact/{identifier}/tag", axum::routing::post(add_tags))
        .route("/contact/{identifier}/message/list", get(messages))
        .route("/contact/{identifier}/message/{message_id}", get(message))
        .route("/space/user", get(users))
        .route("/space/user/{id}", get(user))
}

pub(crate) fn error(status: StatusCode, _code: &str, message: &str) -> Response {
    let message = match status {
        StatusCode::UNAUTHORIZED => "UN_AUTHORIZED",
        StatusCode::TOO_MANY_REQUESTS => "Too Many Requests",
        _ => message,
    };
    (
        status,
        axum::Json(json!({"code": status.as_u16(), "message": message})),
    )
        .into_response()
}

pub(crate) fn authorize(headers: &HeaderMap, st: &State) -> Result<(), Box<Response>> {
    match crate::gate::bearer(headers) {
        Some(token) if st.accepts("respondio", token) => Ok(()),
        _ => Err(Box::new(error(StatusCode::UNAUTHORIZED, "", ""))),
    }
}

pub(crate) fn rate_headers(w: &Window) -> Vec<(&'static str, String)> {
    vec![
        ("x-ratelimit-limit", w.limit.to_string()),
        ("x-ratelimit-remaining", w.remaining().to_string()),
    ]
}

fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "", "Not Found")
}

/// The contact an identifier names, or why not.
fn find<'a>(st: &'a State, identifier: &str) -> Result<&'a Value, Box<Response>> {
    let (kind, value) = identifier.split_once(':').ok_or_else(|| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            "",
            "Validation error: identifier must be id:, email: or phone:",
        ))
    })?;
    let field = match kind {
        "id" => "id",
        "email" => "email",
        "phone" => "phone",
        _ => {
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                "",
                "Validation error: identifier must be id:, email: or phone:",
            )));
        }
    };
    st.list("respondio", "contacts")
        .find(|c| match field {
            "id" => record_id(c).as_deref() == Some(value),
            f => c
                .get(f)
                .and_then(Value::as_str)
                .is_some_and(|v| v.eq_ignore_ascii_case(value)),
        })
        .ok_or_else(|| Box::new(not_found()))
}

async fn contact(AxState(emu): AxState<Emulator>, Path(identifier): Path<String>) -> Response {
    let st = emu.lock();
    match find(&st, &identifier) {
        Ok(c) => axum::Json(c.clone()).into_response(),
        Err(r) => *r,
    }
}

#[derive(Deserialize)]
struct Page {
    limit: Option<String>,
    #[serde(rename = "cursorId")]
    cursor_id: Option<String>,
}

/// Newest first; `cursorId` is the last message id of the page before.
async fn messages(
    AxState(emu): AxState<Emulator>,
    Path(identifier): Path<String>,
    Query(page): Query<Page>,
) -> Response {
    let st = emu.lock();
    let contact = match find(&st, &identifier) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let limit = match page.limit.as_deref().map(str::parse::<usize>) {
        None => 10,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "",
                "Validation error: limit must be 1 to 100",
            );
        }
    };
    let contact_id = record_id(contact);
    let mut list: Vec<&Value> = st
        .list("respondio", "messages")
        .filter(|m| {
            m.get("contactId")
                .map(|v| v.to_string().trim_matches('"').to_owned())
                == contact_id
        })
        .collect();
    list.sort_by_key(|m| std::cmp::Reverse(message_number(m)));
    let start = match page.cursor_id.as_deref() {
        None | Some("") => 0,
        Some(c) => match list.iter().position(|m| message_number(m).to_string() == c) {
            Some(i) => i + 1,
            None => return error(StatusCode::BAD_REQUEST, "", "Validation error: cursorId"),
        },
    };
    let items: Vec<&Value> = list.iter().skip(start).take(limit).copied().collect();
    let next = match (items.last(), start + limit < list.len()) {
        (Some(last), true) => format!(
            "/contact/{identifier}/message/list?limit={limit}&cursorId={}",
            message_number(last)
        ),
        _ => String::new(),
    };
    axum::Json(json!({"items": items, "pagination": {"next": next, "previous": ""}}))
        .into_response()
}

fn message_number(m: &Value) -> u64 {
    m.get("messageId").and_then(Value::as_u64).unwrap_or(0)
}

async fn message(
    AxState(emu): AxState<Emulator>,
    Path((identifier, message_id)): Path<(String, String)>,
) -> Response {
    let st = emu.lock();
    let contact = match find(&st, &identifier) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let contact_id = record_id(contact);
    st.list("respondio", "messages")
        .find(|m| {
            message_number(m).to_string() == message_id
                && m.get("contactId")
                    .map(|v| v.to_string().trim_matches('"').to_owned())
                    == contact_id
        })
        .map_or_else(not_found, |m| axum::Json(m.clone()).into_response())
}

/// `POST /contact/create_or_update/{identifier}` (`email:` or `phone:`; respond.io refuses
/// `id:` for creation): `{firstName (required), lastName, phone, email, language, profilePic,
/// countryCode, custom_fields: [{name, value}]}`, answered `{contactId}`. An existing contact
/// takes the fields sent; custom fields are set one by one.
async fn create_or_update(
    AxState(emu): AxState<Emulator>,
    Path(identifier): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let invalid = |m: &str| {
        error(
            StatusCode::BAD_REQUEST,
            "",
            &format!("Validation error: {m}"),
        )
    };
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return invalid("the body must be a JSON object");
    };
    if identifier.starts_with("id:") {
        return invalid("identifier must be email: or phone: to create a contact");
    }
    let mut st = emu.lock();
    let existing = find(&st, &identifier).ok().and_then(record_id);
    if existing.is_none()
        && body
            .get("firstName")
            .and_then(Value::as_str)
            .is_none_or(|f| f.trim().is_empty())
    {
        return invalid("firstName is required");
    }
    let id = match existing {
        Some(id) => id,
        None => {
            let next = st
                .list("respondio", "contacts")
                .filter_map(|c| c.get("id").and_then(Value::as_u64))
                .max()
                .unwrap_or(200_000)
                + 1;
            let (kind, value) = identifier.split_once(':').unwrap_or(("email", ""));
            let mut contact = json!({"id": next, "tags": [], "custom_fields": []});
            contact[kind] = json!(value);
            st.records
                .entry("respondio".into())
                .or_default()
                .entry("contacts".into())
                .or_default()
                .insert(next.to_string(), contact);
            next.to_string()
        }
    };
    let Some(contact) = st
        .records
        .get_mut("respondio")
        .and_then(|k| k.get_mut("contacts"))
        .and_then(|c| c.get_mut(&id))
    else {
        return not_found();
    };
    apply(contact, &body);
    let number = contact["id"].clone();
    axum::Json(json!({"contactId": number})).into_response()
}

/// `PUT /contact/{identifier}` (any identifier form): the fields sent, on a contact that exists.
async fn update(
    AxState(emu): AxState<Emulator>,
    Path(identifier): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "",
            "Validation error: the body must be a JSON object",
        );
    };
    let mut st = emu.lock();
    let Some(id) = (match find(&st, &identifier) {
        Ok(c) => record_id(c),
        Err(r) => return *r,
    }) else {
        return not_found();
    };
    let Some(contact) = st
        .records
        .get_mut("respondio")
        .and_then(|k| k.get_mut("contacts"))
        .and_then(|c| c.get_mut(&id))
    else {
        return not_found();
    };
    apply(contact, &body);
    axum::Json(json!({"contactId": contact["id"].clone()})).into_response()
}

/// Copies the writable fields of a create-or-update or update body onto `contact`.
fn apply(contact: &mut Value, body: &serde_json::Map<String, Value>) {
    for key in [
        "firstName",
        "lastName",
        "email",
        "phone",
        "language",
        "countryCode",
    ] {
        if let Some(v) = body.get(key) {
            contact[key] = v.clone();
        }
    }
    for field in body
        .get("custom_fields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(name) = field.get("name").and_then(Value::as_str) else {
            continue;
        };
        let value = field.get("value").cloned().unwrap_or(Value::Null);
        if !contact["custom_fields"].is_array() {
            contact["custom_fields"] = json!([]);
        }
        if let Some(list) = contact["custom_fields"].as_array_mut() {
            list.retain(|f| f.get("name").and_then(Value::as_str) != Some(name));
            list.push(json!({"name": name, "value": value}));
        }
    }
}

/// `POST /contact/{identifier}/tag` with a JSON array of 1–10 tag names (each at most 255
/// characters), answered `{contactId}`.
async fn add_tags(
    AxState(emu): AxState<Emulator>,
    Path(identifier): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let tags: Vec<String> = match serde_json::from_slice::<Vec<String>>(&body) {
        Ok(t)
            if (1..=10).contains(&t.len()) && t.iter().all(|t| !t.is_empty() && t.len() <= 255) =>
        {
            t
        }
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "",
                "Validation error: a list of 1 to 10 tags of at most 255 characters",
            );
        }
    };
    let mut st = emu.lock();
    let Some(id) = find(&st, &identifier).ok().and_then(record_id) else {
        return not_found();
    };
    let Some(contact) = st
        .records
        .get_mut("respondio")
        .and_then(|k| k.get_mut("contacts"))
        .and_then(|c| c.get_mut(&id))
    else {
        return not_found();
    };
    if !contact["tags"].is_array() {
        contact["tags"] = json!([]);
    }
    if let Some(list) = contact["tags"].as_array_mut() {
        for tag in tags {
            if !list.iter().any(|t| t.as_str() == Some(tag.as_str())) {
                list.push(Value::String(tag));
            }
        }
    }
    axum::Json(json!({"contactId": contact["id"].clone()})).into_response()
}

async fn users(AxState(emu): AxState<Emulator>) -> Response {
    let st = emu.lock();
    let items: Vec<&Value> = st.list("respondio", "users").collect();
    axum::Json(json!({"items": items, "pagination": {"next": "", "previous": ""}})).into_response()
}

async fn user(AxState(emu): AxState<Emulator>, Path(id): Path<String>) -> Response {
    emu.lock()
        .record("respondio", "users", &id)
        .map_or_else(not_found, |u| axum::Json(u.clone()).into_response())
}
