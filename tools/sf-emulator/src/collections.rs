//! sObject Collections (`/composite/sobjects`): create, update, upsert, delete and retrieve up to
//! 200 records in one API call. Well-formed requests answer 200 with one result per record;
//! per-record errors use `statusCode`. With allOrNone every save is undone on any failure and the
//! innocent records report ALL_OR_NONE_OPERATION_ROLLED_BACK.

use crate::dml;
use crate::errors::ApiError;
use crate::rest::{self, RestRequest, RestResponse};
use crate::state::State;
use crate::upsert::{self, UpsertOutcome};
use serde_json::{Map, Value, json};

const MAX_RECORDS: usize = 200;

fn rolled_back() -> ApiError {
    ApiError::dml(
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "Record rolled back because not all records were valid and the request was using AllOrNone header",
        &[],
    )
}

fn failure(e: &ApiError) -> Value {
    json!({"success": false, "errors": [e.to_status_item()]})
}

fn param<'a>(req: &'a RestRequest, name: &str) -> Option<&'a str> {
    req.query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Body `{"allOrNone": bool, "records": [...]}`.
fn records_body(req: &RestRequest) -> Result<(bool, Vec<Map<String, Value>>), ApiError> {
    let body = req
        .body
        .as_ref()
        .and_then(Value::as_object)
        .ok_or_else(|| ApiError::json_parser("The request body must be a JSON object."))?;
    let all_or_none = body
        .get("allOrNone")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let records = body
        .get("records")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::new(400, "INVALID_INPUT", "records is required"))?;
    check_count(records.len())?;
    let records = records
        .iter()
        .map(|r| {
            r.as_object()
                .cloned()
                .ok_or_else(|| ApiError::json_parser("Each record must be a JSON object."))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((all_or_none, records))
}

fn check_count(n: usize) -> Result<(), ApiError> {
    if n > MAX_RECORDS {
        return Err(ApiError::new(
            400,
            "EXCEEDED_ID_LIMIT",
            format!(
                "record limit reached. cannot submit more than {MAX_RECORDS} records into this call"
            ),
        ));
    }
    Ok(())
}

fn record_type(r: &Map<String, Value>) -> Option<String> {
    r.get("attributes")
        .and_then(|a| a.get("type"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn missing_type() -> ApiError {
    ApiError::dml(
        "INVALID_FIELD",
        "No SObject Type defined in the record attributes",
        &[],
    )
}

/// One result per record: Ok(success body) or Err(the record's error).
type ItemResult = Result<Value, ApiError>;

/// Applies all-or-none semantics and renders the result array.
fn finish(
    st: &mut State,
    all_or_none: bool,
    snapshot: Option<crate::store::Store>,
    results: Vec<ItemResult>,
) -> RestResponse {
    let any_failed = results.iter().any(Result::is_err);
    if let Some(snap) = snapshot.filter(|_| all_or_none && any_failed) {
        st.store = snap;
    }
    let items: Vec<Value> = results
        .into_iter()
        .map(|r| match r {
            Ok(_) if all_or_none && any_failed => failure(&rolled_back()),
            Ok(v) => v,
            Err(e) => failure(&e),
        })
        .collect();
    RestResponse::json(200, Value::Array(items))
}

pub(crate) fn handle(
    st: &mut State,
    user_id: &str,
    req: &RestRequest,
    rest_segments: &[&str],
) -> Result<RestResponse, ApiError> {
    match (req.method.as_str(), rest_segments) {
        ("POST", []) => create(st, user_id, req),
        ("PATCH", []) => update(st, user_id, req),
        ("DELETE", []) => delete(st, req),
        ("PATCH", [sobject, field]) => upsert(st, user_id, req, sobject, field),
        ("GET", [sobject]) => retrieve(st, req, sobject),
        _ => Err(ApiError::not_found()),
    }
}

fn create(st: &mut State, user_id: &str, req: &RestRequest) -> Result<RestResponse, ApiError> {
    let (all_or_none, records) = records_body(req)?;
    let snapshot = all_or_none.then(|| st.store.clone());
    let mut results = Vec::new();
    for r in &records {
        let res = match record_type(r) {
            None => Err(missing_type()),
            Some(_) if r.contains_key("Id") || r.contains_key("id") => Err(ApiError::dml(
                "INVALID_FIELD",
                "Can't specify an Id in the records for a create request.",
                &["Id"],
            )),
            Some(t) => {
                let (ctx, store) = st.dml_parts(user_id, &req.version, req.allow_duplicate_save);
                dml::create(store, &ctx, &t, r).map(|id| rest::save_result(&id))
            }
        };
        results.push(res);
    }
    Ok(finish(st, all_or_none, snapshot, results))
}

fn update(st: &mut State, user_id: &str, req: &RestRequest) -> Result<RestResponse, ApiError> {
    let (all_or_none, records) = records_body(req)?;
    let snapshot = all_or_none.then(|| st.store.clone());
    let mut results = Vec::new();
    for r in &records {
        let id = r
            .get("Id")
            .or_else(|| r.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let res = match (record_type(r), id) {
            (None, _) => Err(missing_type()),
            (Some(_), None) => Err(ApiError::dml(
                "MISSING_ARGUMENT",
                "Id not specified in an update call",
                &[],
            )),
            (Some(t), Some(id)) => {
                let mut body = r.clone();
                body.remove("id");
                let (ctx, store) = st.dml_parts(user_id, &req.version, req.allow_duplicate_save);
                dml::update(store, &ctx, &t, &id, &body).map(|_| rest::save_result(&id))
            }
        };
        results.push(res);
    }
    Ok(finish(st, all_or_none, snapshot, results))
}

fn upsert(
    st: &mut State,
    user_id: &str,
    req: &RestRequest,
    sobject: &str,
    field: &str,
) -> Result<RestResponse, ApiError> {
    dml::object(&st.schema, sobject)?;
    let (all_or_none, records) = records_body(req)?;
    let snapshot = all_or_none.then(|| st.store.clone());
    let mut results = Vec::new();
    for r in &records {
        let value = r
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(field))
            .map(|(_, v)| v.clone());
        let value_text = match &value {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let res = if value.is_none() {
            Err(ApiError::dml(
                "INVALID_FIELD",
                format!("Field {field} is required for upsert"),
                &[field],
            ))
        } else {
            let writer = upsert::Writer {
                user_id,
                version: &req.version,
                allow_duplicate_save: req.allow_duplicate_save,
                if_unmodified_since: None,
            };
            let outcome = upsert::upsert(st, &writer, sobject, field, value_text.as_deref(), r);
            match outcome {
                Ok(UpsertOutcome::Created(id)) => {
                    Ok(json!({"id": id, "success": true, "errors": [], "created": true}))
                }
                Ok(UpsertOutcome::Updated(id)) => {
                    Ok(json!({"id": id, "success": true, "errors": [], "created": false}))
                }
                Ok(UpsertOutcome::Ambiguous(_)) => Err(ApiError::dml(
                    "DUPLICATE_EXTERNAL_ID",
                    format!("{field}: more than one record found for external id field"),
                    &[field],
                )),
                Err(e) => Err(e),
            }
        };
        results.push(res);
    }
    Ok(finish(st, all_or_none, snapshot, results))
}

fn delete(st: &mut State, req: &RestRequest) -> Result<RestResponse, ApiError> {
    let ids: Vec<String> = param(req, "ids")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if ids.is_empty() {
        return Err(ApiError::new(400, "INVALID_INPUT", "ids is required"));
    }
    check_count(ids.len())?;
    let all_or_none = param(req, "allOrNone") == Some("true");
    let snapshot = all_or_none.then(|| st.store.clone());
    let mut results = Vec::new();
    for id in &ids {
        let res = dml::delete(&mut st.store, &st.schema, None, id).map(|_| rest::save_result(id));
        // Delete failures keep the id so callers can tell which one failed.
        results.push(res.map_err(|e| e.with_status(400)));
    }
    let mut resp = finish(st, all_or_none, snapshot, results);
    if let Some(Value::Array(items)) = resp.body.as_mut() {
        for (item, id) in items.iter_mut().zip(&ids) {
            if let Some(obj) = item.as_object_mut() {
                obj.entry("id").or_insert_with(|| Value::String(id.clone()));
            }
        }
    }
    Ok(resp)
}

fn retrieve(st: &State, req: &RestRequest, sobject: &str) -> Result<RestResponse, ApiError> {
    let obj = dml::object(&st.schema, sobject)?;
    let ids: Vec<&str> = param(req, "ids")
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.is_empty())
        .collect();
    let fields: Vec<&str> = param(req, "fields")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if fields.is_empty() {
        return Err(ApiError::new(400, "INVALID_INPUT", "fields is required"));
    }
    let mut canonical = Vec::new();
    for f in &fields {
        let def = obj.field(f).ok_or_else(|| {
            ApiError::new(
                400,
                "INVALID_FIELD",
                format!("No such column '{f}' on sobject of type {}", obj.name),
            )
        })?;
        canonical.push(def.name.clone());
    }
    let out: Vec<Value> = ids
        .iter()
        .map(|id| match dml::existing(&st.store, obj, id) {
            Ok(r) => {
                let mut m = Map::new();
                m.insert("attributes".into(), r.attributes(&req.version));
                for f in &canonical {
                    m.insert(f.clone(), r.render(f, &req.version));
                }
                Value::Object(m)
            }
            Err(_) => Value::Null,
        })
        .collect();
    Ok(RestResponse::json(200, Value::Array(out)))
}
