//! The REST resources under `/services/data/vXX.X/`, dispatched from a parsed request so that
//! composite subrequests run through exactly the same code as top-level calls.

use crate::errors::ApiError;
use crate::schema::FieldType;
use crate::state::State;
use crate::{collections, composite, conditional, dml, limits, soql, sosl, upsert};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// A REST call, already authenticated.
#[derive(Debug, Clone)]
pub(crate) struct RestRequest {
    pub method: String,
    /// "62.0"
    pub version: String,
    /// Path segments after the version, percent-decoded.
    pub segments: Vec<String>,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    /// `Sforce-Duplicate-Rule-Header: allowSave=true`.
    pub allow_duplicate_save: bool,
    /// The raw `If-Unmodified-Since` header, checked against the record a row call touches.
    pub if_unmodified_since: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct RestResponse {
    pub status: u16,
    pub body: Option<Value>,
    pub headers: Vec<(String, String)>,
    /// Raw bytes instead of JSON: a blob field's content.
    pub binary: Option<Arc<Vec<u8>>>,
}

impl RestResponse {
    pub(crate) fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
            headers: Vec::new(),
            binary: None,
        }
    }
    pub(crate) fn no_content() -> Self {
        Self {
            status: 204,
            body: None,
            headers: Vec::new(),
            binary: None,
        }
    }
    pub(crate) fn bytes(data: Arc<Vec<u8>>) -> Self {
        Self {
            status: 200,
            body: None,
            // What Salesforce labels blob content with, whatever the file holds.
            headers: vec![("Content-Type".into(), "application/octetstream".into())],
            binary: Some(data),
        }
    }
}

impl From<ApiError> for RestResponse {
    fn from(e: ApiError) -> Self {
        RestResponse::json(e.status, e.to_body())
    }
}

pub(crate) fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                    }
                    None => {
                        out.push(b);
                        i += 1;
                    }
                }
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn parse_query_string(qs: &str) -> Vec<(String, String)> {
    qs.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

/// Splits `/services/data/v62.0/sobjects/Lead?x=y` into version, segments and query.
/// None when the path is not a versioned data path.
/// Version, path segments and query parameters of a data URL.
pub(crate) type DataUrl = (String, Vec<String>, Vec<(String, String)>);

pub(crate) fn parse_data_url(url: &str) -> Option<DataUrl> {
    let (path, qs) = url.split_once('?').unwrap_or((url, ""));
    let rest = path.strip_prefix("/services/data/")?;
    let mut parts = rest.split('/');
    let version = parts.next()?.strip_prefix('v')?;
    let (major, minor) = version.split_once('.')?;
    if major.is_empty()
        || minor.is_empty()
        || !major.bytes().all(|b| b.is_ascii_digit())
        || !minor.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let segments = parts
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode(s, false))
        .collect();
    Some((version.to_string(), segments, parse_query_string(qs)))
}

/// Whether a `Sforce-Duplicate-Rule-Header` value asks to save despite duplicate alerts.
pub(crate) fn duplicate_header_allows_save(value: &str) -> bool {
    value.split(';').any(|part| {
        part.trim()
            .replace(' ', "")
            .eq_ignore_ascii_case("allowSave=true")
    })
}

pub(crate) fn version_major(version: &str) -> u32 {
    version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

impl RestRequest {
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn body_object(&self) -> Result<&Map<String, Value>, ApiError> {
        match &self.body {
            Some(Value::Object(m)) => Ok(m),
            Some(other) => Err(ApiError::json_parser(format!(
                "Cannot deserialize instance of sobject from {} value",
                if other.is_array() {
                    "START_ARRAY"
                } else {
                    "VALUE"
                }
            ))),
            None => Err(ApiError::json_parser(
                "The HTTP entity body is required, but this request has no entity body.",
            )),
        }
    }
}

/// Runs one REST call against the org.
pub(crate) fn dispatch(st: &mut State, user_id: &str, req: &RestRequest) -> RestResponse {
    match route(st, user_id, req) {
        Ok(r) => r,
        Err(e) => e.into(),
    }
}

fn route(st: &mut State, user_id: &str, req: &RestRequest) -> Result<RestResponse, ApiError> {
    let segs: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let m = req.method.as_str();
    // An unreadable conditional header on a write is refused before anything else is looked at.
    if let (Some(raw), "PATCH" | "POST") = (&req.if_unmodified_since, m) {
        conditional::parse(raw)?;
    }
    match (m, segs.as_slice()) {
        ("GET", []) => Ok(RestResponse::json(200, resources(&req.version))),
        ("GET", ["sobjects"]) => Ok(RestResponse::json(200, describe_global(st))),
        (_, ["sobjects", sobject]) => match m {
            "POST" => create(st, user_id, req, sobject),
            "GET" => {
                let obj = dml::object(&st.schema, sobject)?;
                Ok(RestResponse::json(
                    200,
                    json!({"objectDescribe": {"name": obj.name, "label": obj.label, "keyPrefix": obj.key_prefix}, "recentItems": []}),
                ))
            }
            _ => Err(ApiError::method_not_allowed(m)),
        },
        ("GET", ["sobjects", sobject, "describe"]) => {
            let obj = dml::object(&st.schema, sobject)?;
            Ok(RestResponse::json(200, obj.describe(&req.version)))
        }
        ("GET", ["sobjects", sobject, "updated"]) => updated(st, req, sobject),
        ("GET", ["sobjects", sobject, "deleted"]) => deleted(st, req, sobject),
        (_, ["sobjects", sobject, id]) => match m {
            "GET" => get_record(st, req, sobject, id),
            "PATCH" => {
                let body = req.body_object()?;
                check_unmodified(st, req, sobject, id)?;
                let (ctx, store) = st.dml_parts(user_id, &req.version, req.allow_duplicate_save);
                dml::update(store, &ctx, sobject, id, body).map(|_| RestResponse::no_content())
            }
            "DELETE" => dml::delete(&mut st.store, &st.schema, Some(sobject), id)
                .map(|_| RestResponse::no_content()),
            _ => Err(ApiError::method_not_allowed(m)),
        },
        ("GET", ["sobjects", sobject, id, field]) if is_blob_field(st, sobject, field) => {
            get_blob(st, sobject, id, field)
        }
        (_, ["sobjects", sobject, field, value]) => match m {
            "GET" => upsert::get_by_external_id(st, req, sobject, field, value),
            "PATCH" | "POST" => upsert::upsert_one(st, user_id, req, sobject, field, value),
            _ => Err(ApiError::method_not_allowed(m)),
        },
        ("GET", ["query"]) => query(st, req, false),
        ("GET", ["queryAll"]) => query(st, req, true),
        ("GET", ["query" | "queryAll", locator]) => next_page(st, &req.version, locator),
        ("GET", ["search"]) => {
            let q = req.param("q").unwrap_or("");
            sosl::search(&st.schema, &st.store, q, &req.version).map(|b| RestResponse::json(200, b))
        }
        ("POST", ["composite"]) => Ok(composite::run(st, user_id, req)),
        (_, ["composite", "sobjects", rest @ ..]) => collections::handle(st, user_id, req, rest),
        ("GET", ["limits"]) => Ok(RestResponse::json(200, limits::body(st))),
        _ => Err(ApiError::not_found()),
    }
}

fn floor_to_minute(t: time::OffsetDateTime) -> time::OffsetDateTime {
    t.replace_second(0)
        .and_then(|t| t.replace_nanosecond(0))
        .unwrap_or(t)
}

/// The `start` and `end` of a Get Updated or Get Deleted call, rounded down to the minute;
/// `start` must come before `end`.
fn replication_window(
    req: &RestRequest,
) -> Result<(time::OffsetDateTime, time::OffsetDateTime), ApiError> {
    let bound = |name: &str| -> Result<time::OffsetDateTime, ApiError> {
        let raw = req.param(name).ok_or_else(|| {
            ApiError::new(400, "MISSING_ARGUMENT", format!("{name} was not specified"))
        })?;
        let t = crate::datetime::parse_datetime(raw).ok_or_else(|| {
            ApiError::new(
                400,
                "INVALID_REPLICATION_DATE",
                format!("{name} is not a valid dateTime: {raw}"),
            )
        })?;
        Ok(floor_to_minute(t))
    };
    let (start, end) = (bound("start")?, bound("end")?);
    if start >= end {
        return Err(ApiError::new(
            400,
            "INVALID_REPLICATION_DATE",
            "EndDate must be after StartDate",
        ));
    }
    Ok((start, end))
}

/// `GET sobjects/{type}/updated/?start=…&end=…` (REST API "Get Updated"): the ids of records
/// whose SystemModstamp falls in the window, times rounded down to the minute; `start` at most
/// 30 days back and before `end`; `latestDateCovered` is the window's rounded end.
fn updated(st: &State, req: &RestRequest, sobject: &str) -> Result<RestResponse, ApiError> {
    let obj = dml::object(&st.schema, sobject)?;
    let (start, end) = replication_window(req)?;
    let now = crate::datetime::now_utc();
    if now - start > time::Duration::days(30) {
        return Err(ApiError::new(
            400,
            "INVALID_REPLICATION_DATE",
            "startDate can't be more than 30 days ago",
        ));
    }
    let end = end.min(floor_to_minute(now));
    let ids: Vec<Value> = st
        .store
        .list(&obj.name, false)
        .filter(|r| {
            r.get("SystemModstamp")
                .as_str()
                .and_then(crate::datetime::parse_datetime)
                .is_some_and(|t| t >= start && t < end)
        })
        .map(|r| Value::String(r.id().to_string()))
        .collect();
    Ok(RestResponse::json(
        200,
        json!({"ids": ids, "latestDateCovered": crate::datetime::render(end)}),
    ))
}

/// `GET sobjects/{type}/deleted/?start=…&end=…` (REST API "Get Deleted"): the records in the
/// recycle bin deleted in the window, each `{id, deletedDate}` (its SystemModstamp, which the
/// delete set), the window bounded as for Get Updated. Nothing is ever purged, so
/// `earliestDateAvailable` is the start of the UTC day 15 days back, as far as the platform keeps
/// deletes; records deleted before it are left out.
fn deleted(st: &State, req: &RestRequest, sobject: &str) -> Result<RestResponse, ApiError> {
    let obj = dml::object(&st.schema, sobject)?;
    let (start, end) = replication_window(req)?;
    let now = crate::datetime::now_utc();
    let end = end.min(floor_to_minute(now));
    let earliest = (now - time::Duration::days(15)).replace_time(time::Time::MIDNIGHT);
    let from = start.max(earliest);
    let records: Vec<Value> = st
        .store
        .list(&obj.name, true)
        .filter(|r| r.deleted)
        .filter_map(|r| {
            let at = r
                .get("SystemModstamp")
                .as_str()
                .and_then(crate::datetime::parse_datetime)?;
            (at >= from && at < end)
                .then(|| json!({"id": r.id(), "deletedDate": crate::datetime::render(at)}))
        })
        .collect();
    Ok(RestResponse::json(
        200,
        json!({
            "deletedRecords": records,
            "earliestDateAvailable": crate::datetime::render(earliest),
            "latestDateCovered": crate::datetime::render(end),
        }),
    ))
}

fn resources(version: &str) -> Value {
    let base = format!("/services/data/v{version}");
    json!({
        "sobjects": format!("{base}/sobjects"),
        "query": format!("{base}/query"),
        "queryAll": format!("{base}/queryAll"),
        "search": format!("{base}/search"),
        "composite": format!("{base}/composite"),
        "limits": format!("{base}/limits"),
    })
}

fn describe_global(st: &State) -> Value {
    let sobjects: Vec<Value> = st
        .schema
        .objects()
        .map(|o| {
            json!({
                "name": o.name, "label": o.label, "labelPlural": o.label_plural,
                "keyPrefix": o.key_prefix, "custom": o.custom, "createable": o.createable,
                "updateable": o.updateable, "deletable": o.deletable, "queryable": true,
            })
        })
        .collect();
    json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects})
}

pub(crate) fn save_result(id: &str) -> Value {
    json!({"id": id, "success": true, "errors": []})
}

fn create(
    st: &mut State,
    user_id: &str,
    req: &RestRequest,
    sobject: &str,
) -> Result<RestResponse, ApiError> {
    dml::object(&st.schema, sobject)?;
    let body = req.body_object()?;
    let (ctx, store) = st.dml_parts(user_id, &req.version, req.allow_duplicate_save);
    let id = dml::create(store, &ctx, sobject, body)?;
    let obj_name = st
        .schema
        .object(sobject)
        .map(|o| o.name.clone())
        .unwrap_or_default();
    let mut resp = RestResponse::json(201, save_result(&id));
    resp.headers.push((
        "Location".into(),
        format!("/services/data/v{}/sobjects/{obj_name}/{id}", req.version),
    ));
    Ok(resp)
}

/// A record limited to `?fields=`, checking each name.
pub(crate) fn select_fields(
    st: &State,
    req: &RestRequest,
    record: &crate::store::Record,
) -> Result<Value, ApiError> {
    let full = record.to_json(&req.version);
    let Some(list) = req.param("fields") else {
        return Ok(full);
    };
    let obj = dml::object(&st.schema, &record.sobject)?;
    let mut out = Map::new();
    out.insert("attributes".into(), record.attributes(&req.version));
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let f = obj.field(name).ok_or_else(|| {
            ApiError::new(
                400,
                "INVALID_FIELD",
                format!("No such column '{name}' on sobject of type {}", obj.name),
            )
        })?;
        out.insert(f.name.clone(), record.render(&f.name, &req.version));
    }
    out.entry("Id")
        .or_insert_with(|| Value::String(record.id().to_string()));
    Ok(Value::Object(out))
}

fn get_record(
    st: &State,
    req: &RestRequest,
    sobject: &str,
    id: &str,
) -> Result<RestResponse, ApiError> {
    let obj = dml::object(&st.schema, sobject)?;
    let rec = dml::existing(&st.store, obj, id)?;
    // On a read an unreadable date is ignored (RFC 9110 §13.1.4); only PATCH/POST refuse it.
    if let Some(raw) = &req.if_unmodified_since
        && conditional::parse(raw).is_ok()
    {
        conditional::check(rec, raw)?;
    }
    Ok(RestResponse::json(200, select_fields(st, req, rec)?))
}

/// 412 when the record at `id` changed after the request's `If-Unmodified-Since`.
fn check_unmodified(
    st: &State,
    req: &RestRequest,
    sobject: &str,
    id: &str,
) -> Result<(), ApiError> {
    let Some(raw) = &req.if_unmodified_since else {
        return Ok(());
    };
    let obj = dml::object(&st.schema, sobject)?;
    conditional::check(dml::existing(&st.store, obj, id)?, raw)
}

fn is_blob_field(st: &State, sobject: &str, field: &str) -> bool {
    st.schema
        .object(sobject)
        .and_then(|o| o.field(field))
        .is_some_and(|f| f.ftype == FieldType::Base64)
}

/// `GET /sobjects/ContentVersion/{id}/VersionData`: the bytes themselves.
fn get_blob(st: &State, sobject: &str, id: &str, field: &str) -> Result<RestResponse, ApiError> {
    let obj = dml::object(&st.schema, sobject)?;
    let rec = dml::existing(&st.store, obj, id)?;
    match &rec.blob {
        Some(b) if b.field.eq_ignore_ascii_case(field) => Ok(RestResponse::bytes(b.data.clone())),
        _ => Err(ApiError::not_found()),
    }
}

fn query(st: &mut State, req: &RestRequest, all: bool) -> Result<RestResponse, ApiError> {
    let Some(q) = req.param("q") else {
        return Err(ApiError::new(
            400,
            "MALFORMED_QUERY",
            "A query string has to be specified",
        ));
    };
    let parsed = soql::parse(q)?;
    soql::restrictions::check(&parsed)?;
    let out = soql::eval::run(&st.schema, &st.store, &parsed, all, &req.version)
        .map_err(|e| e.into_api_error(q))?;
    Ok(RestResponse::json(
        200,
        page(st, &req.version, out.records, out.total_size, 0, None),
    ))
}

/// Builds one page of results, parking the rest behind a query locator.
fn page(
    st: &mut State,
    version: &str,
    rows: Vec<Value>,
    total_size: usize,
    offset: usize,
    locator: Option<String>,
) -> Value {
    let batch = st.config.query_batch_size.max(1);
    let end = offset.saturating_add(batch).min(rows.len());
    let records: Vec<Value> = rows.get(offset..end).unwrap_or(&[]).to_vec();
    let done = end >= rows.len();
    let mut body = Map::new();
    body.insert("totalSize".into(), json!(total_size));
    body.insert("done".into(), json!(done));
    if !done {
        let loc = locator.unwrap_or_else(|| {
            let n = st.next_serial();
            crate::ids::make_id("01g", n)
                .get(..15)
                .unwrap_or("01g000000000000")
                .to_string()
        });
        body.insert(
            "nextRecordsUrl".into(),
            json!(format!("/services/data/v{version}/query/{loc}-{end}")),
        );
        st.cursors
            .insert(loc, crate::state::QueryCursor { rows, total_size });
    }
    body.insert("records".into(), Value::Array(records));
    Value::Object(body)
}

fn next_page(st: &mut State, version: &str, locator: &str) -> Result<RestResponse, ApiError> {
    let invalid = || ApiError::new(400, "INVALID_QUERY_LOCATOR", "invalid query locator");
    let (loc, offset) = locator.rsplit_once('-').ok_or_else(invalid)?;
    let offset: usize = offset.parse().map_err(|_| invalid())?;
    let cursor = st.cursors.get(loc).cloned().ok_or_else(invalid)?;
    if offset > cursor.rows.len() {
        return Err(invalid());
    }
    Ok(RestResponse::json(
        200,
        page(
            st,
            version,
            cursor.rows,
            cursor.total_size,
            offset,
            Some(loc.to_string()),
        ),
    ))
}
