//! HTTP glue: routes, bearer auth, the daily allowance, fault injection, the request log and the
//! `Sforce-Limit-Info` header, around the pure REST dispatcher.

use crate::conn::DropSwitch;
use crate::errors::ApiError;
use crate::faults::{self, FaultKind};
use crate::rest::{self, RestRequest, RestResponse};
use crate::state::{Emulator, RequestLog};
use crate::{admin, limits, oauth};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Form, Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{any, get, post};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

const JSON_CT: &str = "application/json;charset=UTF-8";

/// The largest request body the REST API reads.
pub(crate) const MAX_REQUEST_BYTES: usize = 52_428_800;

fn request_too_large() -> ApiError {
    ApiError::json_parser(format!(
        "; nested exception is: \n\tcommon.exception.ApiException: Maximum size of request reached. Maximum size of request is {MAX_REQUEST_BYTES} bytes."
    ))
}

pub(crate) fn json_response(status: u16, body: &Value) -> Response {
    let text = serde_json::to_string(&AttributesFirst(body)).unwrap_or_else(|_| body.to_string());
    let mut resp = Response::new(Body::from(text));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_CT));
    resp
}

/// A JSON value written as Salesforce writes records: `attributes` first in every object, then
/// the other keys. serde_json's map keeps keys sorted, which would put the lower-case
/// `attributes` after every field name; clients that read records in order (simple-salesforce
/// parses into OrderedDicts, CSV exports take the first record's keys as columns) see the
/// difference.
struct AttributesFirst<'a>(&'a Value);

impl serde::Serialize for AttributesFirst<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self.0 {
            Value::Object(map) => {
                let mut out = serializer.serialize_map(Some(map.len()))?;
                if let Some(attributes) = map.get("attributes") {
                    out.serialize_entry("attributes", &AttributesFirst(attributes))?;
                }
                for (key, value) in map.iter().filter(|(k, _)| *k != "attributes") {
                    out.serialize_entry(key, &AttributesFirst(value))?;
                }
                out.end()
            }
            Value::Array(items) => serializer.collect_seq(items.iter().map(AttributesFirst)),
            other => other.serialize(serializer),
        }
    }
}

/// The router for one emulated org.
pub fn router(emulator: Emulator) -> Router {
    Router::new()
        .route("/services/oauth2/token", post(token))
        .route("/services/data", get(versions))
        .route("/services/data/", get(versions))
        .route("/services/data/{*rest}", any(data))
        .merge(admin::routes())
        .fallback(not_found)
        .with_state(emulator)
}

async fn not_found() -> Response {
    json_response(404, &ApiError::not_found().to_body())
}

async fn versions() -> Response {
    let list: Vec<Value> = (20..=62)
        .map(|v| {
            json!({"version": format!("{v}.0"), "url": format!("/services/data/v{v}.0"), "label": format!("API {v}")})
        })
        .collect();
    json_response(200, &Value::Array(list))
}

fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

async fn token(
    AxState(emu): AxState<Emulator>,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let mut st = emu.lock();
    let (status, body) = match oauth::token(&mut st, &form, basic_auth(&headers)) {
        Ok(b) => (200, b),
        Err(e) => (400, e.body()),
    };
    st.requests.push(RequestLog {
        method: "POST".into(),
        path: "/services/oauth2/token".into(),
        status,
        api_calls: 0,
        dropped: false,
    });
    json_response(status, &body)
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("OAuth "))
        .map(|t| t.trim().to_string())
}

fn allow_duplicate_save(headers: &HeaderMap) -> bool {
    headers
        .get("sforce-duplicate-rule-header")
        .and_then(|v| v.to_str().ok())
        .is_some_and(rest::duplicate_header_allows_save)
}

/// A header's text; a value that is not visible ASCII is kept lossily so it is refused as
/// malformed rather than ignored.
fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

fn fault_response(kind: FaultKind) -> Response {
    match kind {
        FaultKind::UnableToLockRow => json_response(
            400,
            &ApiError::dml(
                "UNABLE_TO_LOCK_ROW",
                "unable to obtain exclusive access to this record",
                &[],
            )
            .to_body(),
        ),
        // Worded as a production answer reported it (restforce#156).
        FaultKind::ServerUnavailable => json_response(
            503,
            &ApiError::new(503, "SERVER_UNAVAILABLE", "Server too busy").to_body(),
        ),
        FaultKind::RequestLimitExceeded => {
            json_response(403, &ApiError::limit_exceeded().to_body())
        }
        // Handled by the caller, which owns the connection.
        FaultKind::Drop => bad_gateway(),
        FaultKind::Html500 => {
            let mut resp = Response::new(Body::from(
                "<html><head><title>Error</title></head><body><h1>An internal server error has occurred</h1><p>An error has occurred while processing your request.</p></body></html>",
            ));
            *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html;charset=UTF-8"),
            );
            resp
        }
    }
}

fn with_limit_header(mut resp: Response, value: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert("sforce-limit-info", v);
    }
    resp
}

fn rest_response(r: RestResponse) -> Response {
    let mut resp = match (&r.body, &r.binary) {
        (_, Some(bytes)) => {
            let mut resp = Response::new(Body::from(bytes.as_ref().clone()));
            *resp.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
            resp
        }
        (Some(b), None) => json_response(r.status, b),
        (None, None) => {
            let mut resp = Response::new(Body::empty());
            *resp.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::NO_CONTENT);
            resp
        }
    };
    for (k, v) in r.headers {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            resp.headers_mut().insert(name, value);
        }
    }
    resp
}

/// What a DROP fault does once the call is settled: flip the connection's switch so nothing is
/// written and the server closes it. Served through a bare [`router`] (no switch), the closest
/// answer is an empty 502, as when Salesforce's Edge cannot reach the instance.
fn dropped(switch: Option<&DropSwitch>) -> Response {
    match switch {
        Some(s) => s.drop_connection(),
        None => tracing::warn!("DROP fault without a droppable connection; answering 502"),
    }
    bad_gateway()
}

fn bad_gateway() -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::BAD_GATEWAY;
    resp
}

async fn data(AxState(emu): AxState<Emulator>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let (method, uri, headers) = (parts.method, parts.uri, parts.headers);
    let switch = parts
        .extensions
        .get::<ConnectInfo<DropSwitch>>()
        .map(|c| c.0.clone());
    let path = uri.path().to_string();
    let url = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.clone(),
    };
    let method_name = method.as_str().to_string();
    let log = |emu: &Emulator, status: u16, api_calls: u64, dropped: bool| {
        emu.lock().requests.push(RequestLog {
            method: method_name.clone(),
            path: path.clone(),
            status,
            api_calls,
            dropped,
        });
    };

    // Authentication, allowance and faults are decided under one lock; the lock is released
    // before any injected delay.
    let (user_id, fault, limit_info) = {
        let mut st = emu.lock();
        let user = bearer(&headers).and_then(|t| st.authenticate(&t));
        let Some(user) = user else {
            drop(st);
            log(&emu, 401, 0, false);
            let mut resp = json_response(401, &ApiError::session_invalid().to_body());
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Token"));
            return resp;
        };
        if limits::exhausted(&st) {
            let info = limits::header_value(&st);
            drop(st);
            log(&emu, 403, 0, false);
            return with_limit_header(
                json_response(403, &ApiError::limit_exceeded().to_body()),
                &info,
            );
        }
        let fault = faults::pick(&mut st.faults, &method_name, &path);
        // Calls that reach the API count, including those failing validation or locking (and
        // dropped calls that were carried out); unavailability, edge HTML pages and connections
        // dropped on the way in never reached it.
        let counts = match fault.error {
            Some(
                FaultKind::ServerUnavailable | FaultKind::Html500 | FaultKind::RequestLimitExceeded,
            ) => false,
            Some(FaultKind::Drop) => fault.applied,
            Some(FaultKind::UnableToLockRow) | None => true,
        };
        if counts {
            st.api_used += 1;
        }
        (user, fault, limits::header_value(&st))
    };
    if fault.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(fault.latency_ms)).await;
    }
    let drop_after = match fault.error {
        None => false,
        Some(FaultKind::Drop) if fault.applied => true,
        Some(FaultKind::Drop) => {
            // Nothing is read or carried out.
            log(&emu, 0, 0, true);
            return dropped(switch.as_ref());
        }
        Some(kind) => {
            let resp = fault_response(kind);
            let counted = u64::from(kind == FaultKind::UnableToLockRow);
            log(&emu, resp.status().as_u16(), counted, false);
            return with_limit_header(resp, &limit_info);
        }
    };
    let resp = carry_out(
        &emu,
        Call {
            method_name: &method_name,
            path: &path,
            url: &url,
            headers: &headers,
            user_id: &user_id,
            dropped: drop_after,
        },
        body,
    )
    .await;
    if drop_after {
        return dropped(switch.as_ref());
    }
    with_limit_header(resp, &limit_info)
}

/// An authenticated call that got past the allowance and faults.
struct Call<'a> {
    method_name: &'a str,
    path: &'a str,
    url: &'a str,
    headers: &'a HeaderMap,
    user_id: &'a str,
    /// Logged as dropped: a DROP fault with `applied` closes the connection afterwards.
    dropped: bool,
}

/// Reads the body and runs the call against the org, logging it; one API call.
async fn carry_out(emu: &Emulator, call: Call<'_>, body: Body) -> Response {
    let log = |status: u16| {
        emu.lock().requests.push(RequestLog {
            method: call.method_name.to_string(),
            path: call.path.to_string(),
            status,
            api_calls: 1,
            dropped: call.dropped,
        });
    };
    // Salesforce refuses a JSON body over 50 MB (52,428,800 bytes) before parsing it: the limit
    // that caps base64 file data sent inline ("Insert or Update Blob Data": 50 MB of text,
    // 37.5 MB of base64-encoded data). Answer and wording as orgs send them (400
    // JSON_PARSER_ERROR; simple-salesforce#195, SalesforceMobileSDK-iOS#3575).
    let body: Bytes = match axum::body::to_bytes(body, MAX_REQUEST_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            log(400);
            return json_response(400, &request_too_large().to_body());
        }
    };
    let parsed_body = if body.is_empty() {
        None
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) => Some(v),
            Err(e) => {
                log(400);
                return json_response(
                    400,
                    &ApiError::json_parser(format!("Unexpected character: {e}")).to_body(),
                );
            }
        }
    };
    let Some((version, segments, query)) = rest::parse_data_url(call.url) else {
        log(404);
        return not_found().await;
    };
    let req = RestRequest {
        method: call.method_name.to_string(),
        version,
        segments,
        query,
        body: parsed_body,
        allow_duplicate_save: allow_duplicate_save(call.headers),
        if_unmodified_since: header_text(call.headers, "if-unmodified-since"),
    };
    let result = {
        let mut st = emu.lock();
        let r = rest::dispatch(&mut st, call.user_id, &req);
        st.requests.push(RequestLog {
            method: call.method_name.to_string(),
            path: call.path.to_string(),
            status: r.status,
            api_calls: 1,
            dropped: call.dropped,
        });
        r
    };
    rest_response(result)
}
