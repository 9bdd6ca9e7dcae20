//! Intercom's REST API 2.x, the part chatsync uses: `Authorization: Bearer <access token>`, an
//! optional `Intercom-Version` header; errors as `{type: "error.list", request_id, errors:
//! [{code, message}]}` (401 `unauthorized`, 404 `not_found`, 429 `rate_limit_exceeded`);
//! `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (UNIX seconds) on every
//! authenticated answer, the limit counted in 10-second windows
//! (<https://developers.intercom.com/docs/references/rest-api/errors/rate-limiting>; the API
//! description, intercom/Intercom-OpenAPI `descriptions/2.16/api.intercom.io.yaml`).
//!
//! Routes: `GET /contacts/{id}`, `GET /admins/{id}`, `GET /admins`, `GET /conversations/{id}`
//! (the conversation with its `conversation_parts`), `POST /conversations/{id}/reply`, `GET /teams/{id}` and `GET /teams`
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
        .route("/contacts", axum::routing::post(create_contact))
        .route("/contacts/search", axum::routing::post(search_contacts))
        .route("/contacts/{id}", get(contact).put(update_contact))
        .route("/contacts/{id}/tags", axum::routing::post(tag_contact))
        .route("/tags", axum::routing::post(create_tag))
        .route("/admins", get(admins))
        .route("/admins/{id}", get(admin))
        .route("/conversations/{id}", get(conversation))
        .route("/conversations/{id}/reply", axum::routing::post(reply))
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

fn bad_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "parameter_invalid", message)
}

fn json_object(body: &[u8]) -> Option<serde_json::Map<String, Value>> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// A new id in Intercom's form (24 hexadecimal digits).
fn new_id(st: &State, kind: &str) -> String {
    let n = st.list("intercom", kind).count() + 1;
    format!("6762ee{n:018x}")
}

fn contacts_mut(st: &mut State) -> &mut std::collections::BTreeMap<String, Value> {
    st.records
        .entry("intercom".into())
        .or_default()
        .entry("contacts".into())
        .or_default()
}

/// Copies the writable contact fields of a create or update body onto `contact`.
fn apply(contact: &mut Value, body: &serde_json::Map<String, Value>) {
    for key in ["role", "external_id", "email", "phone", "name", "owner_id"] {
        if let Some(v) = body.get(key) {
            contact[key] = v.clone();
        }
    }
    if let Some(Value::Object(attrs)) = body.get("custom_attributes") {
        if !contact["custom_attributes"].is_object() {
            contact["custom_attributes"] = json!({});
        }
        for (k, v) in attrs {
            contact["custom_attributes"][k] = v.clone();
        }
    }
}

/// `POST /contacts`: one of `email`, `external_id` or `role` is required; a contact with the
/// same e-mail or external id answers 409 naming it (intercom/Intercom-OpenAPI PR #543).
async fn create_contact(AxState(emu): AxState<Emulator>, body: axum::body::Bytes) -> Response {
    let Some(body) = json_object(&body) else {
        return bad_request("the body must be a JSON object");
    };
    if ["email", "external_id", "role"]
        .iter()
        .all(|k| body.get(*k).is_none_or(Value::is_null))
    {
        return bad_request("email, external_id or role is required");
    }
    if let Some(role) = body.get("role").and_then(Value::as_str)
        && role != "user"
        && role != "lead"
    {
        return bad_request("role must be user or lead");
    }
    let mut st = emu.lock();
    let same = |c: &&Value, key: &str| {
        body.get(key)
            .and_then(Value::as_str)
            .is_some_and(|v| c.get(key).and_then(Value::as_str) == Some(v))
    };
    if let Some(existing) = st
        .list("intercom", "contacts")
        .find(|c| same(c, "email") || same(c, "external_id"))
        .and_then(|c| c.get("id").and_then(Value::as_str))
    {
        return error(
            StatusCode::CONFLICT,
            "conflict",
            &format!("A contact matching those details already exists with id={existing}"),
        );
    }
    let id = new_id(&st, "contacts");
    let mut contact = json!({"type": "contact", "id": id, "role": "user",
        "custom_attributes": {}, "tags": {"type": "list", "data": []}});
    apply(&mut contact, &body);
    contacts_mut(&mut st).insert(id, contact.clone());
    axum::Json(contact).into_response()
}

/// `PUT /contacts/{id}`.
async fn update_contact(
    AxState(emu): AxState<Emulator>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(body) = json_object(&body) else {
        return bad_request("the body must be a JSON object");
    };
    let mut st = emu.lock();
    match contacts_mut(&mut st).get_mut(&id) {
        Some(contact) => {
            apply(contact, &body);
            axum::Json(contact.clone()).into_response()
        }
        None => error(StatusCode::NOT_FOUND, "not_found", "User Not Found"),
    }
}

/// `POST /contacts/search` with one `{field, operator: "=", value}` on `email`,
/// `external_id` or `id`.
async fn search_contacts(AxState(emu): AxState<Emulator>, body: axum::body::Bytes) -> Response {
    let Some(body) = json_object(&body) else {
        return bad_request("the body must be a JSON object");
    };
    let query = body.get("query").cloned().unwrap_or(Value::Null);
    let (Some(field), Some("="), Some(value)) = (
        query.get("field").and_then(Value::as_str),
        query.get("operator").and_then(Value::as_str),
        query.get("value").and_then(Value::as_str),
    ) else {
        return bad_request("query must be {field, operator: \"=\", value}");
    };
    let st = emu.lock();
    let data: Vec<Value> = st
        .list("intercom", "contacts")
        .filter(|c| c.get(field).and_then(Value::as_str) == Some(value))
        .cloned()
        .collect();
    axum::Json(
        json!({"type": "list", "data": data, "total_count": data.len(),
        "pages": {"type": "pages", "page": 1, "per_page": 50, "total_pages": 1}}),
    )
    .into_response()
}

/// `POST /tags {name}` creates the tag, or answers the one of that name.
async fn create_tag(AxState(emu): AxState<Emulator>, body: axum::body::Bytes) -> Response {
    let name = json_object(&body)
        .and_then(|b| b.get("name").and_then(Value::as_str).map(str::to_owned))
        .filter(|n| !n.trim().is_empty());
    let Some(name) = name else {
        return bad_request("name is required");
    };
    let mut st = emu.lock();
    if let Some(tag) = st
        .list("intercom", "tags")
        .find(|t| t.get("name").and_then(Value::as_str) == Some(name.as_str()))
    {
        return axum::Json(tag.clone()).into_response();
    }
    let id = (st.list("intercom", "tags").count() + 1000).to_string();
    let tag = json!({"type": "tag", "id": id, "name": name});
    st.records
        .entry("intercom".into())
        .or_default()
        .entry("tags".into())
        .or_default()
        .insert(id, tag.clone());
    axum::Json(tag).into_response()
}

/// `POST /contacts/{id}/tags {id}` attaches the tag; answers it.
async fn tag_contact(
    AxState(emu): AxState<Emulator>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(tag_id) = json_object(&body).and_then(|b| match b.get("id") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }) else {
        return bad_request("id is required");
    };
    let mut st = emu.lock();
    let Some(tag) = st.record("intercom", "tags", &tag_id).cloned() else {
        return error(StatusCode::NOT_FOUND, "tag_not_found", "Tag not found");
    };
    let Some(contact) = contacts_mut(&mut st).get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, "not_found", "User Not Found");
    };
    if !contact["tags"]["data"].is_array() {
        contact["tags"] = json!({"type": "list", "data": []});
    }
    if let Some(list) = contact["tags"]["data"].as_array_mut()
        && !list.iter().any(|t| t.get("id") == tag.get("id"))
    {
        list.push(json!({"type": "tag", "id": tag["id"], "name": tag["name"]}));
    }
    axum::Json(tag).into_response()
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

/// `POST /conversations/{id}/reply`: an admin's comment or note (`{message_type: comment |
/// note, type: admin, admin_id, body}`) appended to the conversation's parts; answers the
/// conversation (<https://developers.intercom.com/docs/references/rest-api/api.intercom.io/conversations/replyconversation>).
/// A conversation the emulator was not seeded with is created on first reply, so tests need
/// not seed every conversation an agent writes in.
async fn reply(
    AxState(emu): AxState<Emulator>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(body) = json_object(&body) else {
        return bad_request("the body must be a JSON object");
    };
    let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default();
    if !matches!(text("message_type"), "comment" | "note" | "quick_reply") {
        return bad_request("message_type must be one of comment, note, quick_reply");
    }
    if text("type") != "admin" {
        return bad_request("type must be admin for an admin reply");
    }
    let admin_id = match body.get("admin_id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return bad_request("admin_id is required"),
    };
    if text("message_type") != "quick_reply" && text("body").trim().is_empty() {
        return bad_request("body is required");
    }
    let mut st = emu.lock();
    if st.record("intercom", "admins", &admin_id).is_none() {
        return error(StatusCode::NOT_FOUND, "admin_not_found", "Admin not found");
    }
    let conversations = st
        .records
        .entry("intercom".into())
        .or_default()
        .entry("conversations".into())
        .or_default();
    let conversation = conversations
        .entry(id.clone())
        .or_insert_with(|| json!({"type": "conversation", "id": id,
            "conversation_parts": {"type": "conversation_part.list", "conversation_parts": [], "total_count": 0}}));
    if !conversation["conversation_parts"]["conversation_parts"].is_array() {
        conversation["conversation_parts"] =
            json!({"type": "conversation_part.list", "conversation_parts": [], "total_count": 0});
    }
    let next = conversation["conversation_parts"]["conversation_parts"]
        .as_array()
        .map_or(0, Vec::len)
        + 1;
    // Part ids are numeric strings.
    let part = json!({"type": "conversation_part", "id": next.to_string(),
        "part_type": text("message_type"), "body": text("body"),
        "author": {"type": "admin", "id": admin_id}});
    let mut count = 0;
    if let Some(parts) = conversation["conversation_parts"]["conversation_parts"].as_array_mut() {
        parts.push(part);
        count = parts.len();
    }
    conversation["conversation_parts"]["total_count"] = json!(count);
    axum::Json(conversation.clone()).into_response()
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
