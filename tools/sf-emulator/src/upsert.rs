//! Rows addressed by an external id (`/sobjects/{SObject}/{Field}/{value}`): read, and upsert
//! with the answers each API version gives (201 created; v46.0+ 200 with `created: false`,
//! earlier 204; 300 with the candidates when several match). Collections upserts share it.

use crate::conditional;
use crate::dml;
use crate::errors::ApiError;
use crate::rest::{RestRequest, RestResponse, save_result, select_fields, version_major};
use crate::state::State;
use serde_json::{Map, Value};

/// Resolves an external-id field usable in `/sobjects/{S}/{Field}/{value}`.
fn external_field<'s>(
    st: &'s State,
    sobject: &str,
    field: &str,
) -> Result<&'s crate::schema::FieldDef, ApiError> {
    let obj = dml::object(&st.schema, sobject)?;
    obj.field(field)
        .filter(|f| f.external_id || f.name == "Id")
        .ok_or_else(|| {
            ApiError::new(
                404,
                "NOT_FOUND",
                format!("Provided external ID field does not exist or is not accessible: {field}"),
            )
        })
}

/// Live records whose external id equals `value` (external ids compare case-insensitively).
pub(crate) fn matching_ids(st: &State, sobject: &str, field: &str, value: &str) -> Vec<String> {
    st.store
        .list(sobject, false)
        .filter(|r| {
            r.get(field)
                .as_str()
                .is_some_and(|v| v.eq_ignore_ascii_case(value))
        })
        .map(|r| r.id().to_string())
        .collect()
}

fn multiple_choices(st: &State, version: &str, sobject: &str, ids: &[String]) -> RestResponse {
    let name = st
        .schema
        .object(sobject)
        .map(|o| o.name.clone())
        .unwrap_or_default();
    let urls: Vec<Value> = ids
        .iter()
        .map(|id| Value::String(format!("/services/data/v{version}/sobjects/{name}/{id}")))
        .collect();
    RestResponse::json(300, Value::Array(urls))
}

pub(crate) fn get_by_external_id(
    st: &State,
    req: &RestRequest,
    sobject: &str,
    field: &str,
    value: &str,
) -> Result<RestResponse, ApiError> {
    let f = external_field(st, sobject, field)?;
    let fname = f.name.clone();
    let ids = matching_ids(st, sobject, &fname, value);
    match ids.as_slice() {
        [] => Err(ApiError::not_found()),
        [one] => {
            let rec = st.store.get(one).ok_or_else(ApiError::not_found)?;
            Ok(RestResponse::json(200, select_fields(st, req, rec)?))
        }
        many => Ok(multiple_choices(st, &req.version, sobject, many)),
    }
}

/// Outcome of an upsert, shared with Collections.
pub(crate) enum UpsertOutcome {
    Created(String),
    Updated(String),
    Ambiguous(Vec<String>),
}

/// Who writes, through which API version, and whether duplicate alerts may be overridden.
pub(crate) struct Writer<'a> {
    pub user_id: &'a str,
    pub version: &'a str,
    pub allow_duplicate_save: bool,
    /// `If-Unmodified-Since` of a single-record upsert; it applies when the record exists.
    pub if_unmodified_since: Option<&'a str>,
}

pub(crate) fn upsert(
    st: &mut State,
    writer: &Writer,
    sobject: &str,
    field: &str,
    value: Option<&str>,
    body: &Map<String, Value>,
) -> Result<UpsertOutcome, ApiError> {
    let fname = external_field(st, sobject, field)?.name.clone();
    let mut body = body.clone();
    body.retain(|k, _| !k.eq_ignore_ascii_case(&fname) || fname != "Id");
    let ids = match value {
        Some(v) if !v.is_empty() => {
            if fname == "Id" {
                let obj = dml::object(&st.schema, sobject)?;
                vec![dml::existing(&st.store, obj, v)?.id().to_string()]
            } else {
                matching_ids(st, sobject, &fname, v)
            }
        }
        _ => Vec::new(),
    };
    if let Some(v) = value.filter(|_| fname != "Id") {
        body.insert(fname.clone(), Value::String(v.to_string()));
    }
    if let ([one], Some(raw)) = (ids.as_slice(), writer.if_unmodified_since)
        && let Some(rec) = st.store.get(one)
    {
        conditional::check(rec, raw)?;
    }
    let (ctx, store) = st.dml_parts(writer.user_id, writer.version, writer.allow_duplicate_save);
    match ids.as_slice() {
        [] => dml::create(store, &ctx, sobject, &body).map(UpsertOutcome::Created),
        [one] => dml::update(store, &ctx, sobject, one, &body)
            .map(|_| UpsertOutcome::Updated(one.clone())),
        many => Ok(UpsertOutcome::Ambiguous(many.to_vec())),
    }
}

pub(crate) fn upsert_one(
    st: &mut State,
    user_id: &str,
    req: &RestRequest,
    sobject: &str,
    field: &str,
    value: &str,
) -> Result<RestResponse, ApiError> {
    let body = req.body_object()?.clone();
    let new_flag = version_major(&req.version) >= 46;
    let obj_name = dml::object(&st.schema, sobject)?.name.clone();
    let writer = Writer {
        user_id,
        version: &req.version,
        allow_duplicate_save: req.allow_duplicate_save,
        if_unmodified_since: req.if_unmodified_since.as_deref(),
    };
    match upsert(st, &writer, sobject, field, Some(value), &body)? {
        UpsertOutcome::Created(id) => {
            let mut b = save_result(&id);
            if new_flag {
                b["created"] = Value::Bool(true);
            }
            let mut resp = RestResponse::json(201, b);
            resp.headers.push((
                "Location".into(),
                format!("/services/data/v{}/sobjects/{obj_name}/{id}", req.version),
            ));
            Ok(resp)
        }
        UpsertOutcome::Updated(id) => {
            if new_flag {
                let mut b = save_result(&id);
                b["created"] = Value::Bool(false);
                Ok(RestResponse::json(200, b))
            } else {
                Ok(RestResponse::no_content())
            }
        }
        UpsertOutcome::Ambiguous(ids) => Ok(multiple_choices(st, &req.version, sobject, &ids)),
    }
}
