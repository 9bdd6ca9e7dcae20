//! `POST /composite`: up to 25 subrequests in one API call, with `@{ref.path}` references between
//! them and optional all-or-none rollback (siblings then report PROCESSING_HALTED).

use crate::errors::ApiError;
use crate::rest::{self, RestRequest, RestResponse};
use crate::state::State;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

const MAX_SUBREQUESTS: usize = 25;

fn halted_rollback() -> ApiError {
    ApiError::new(
        400,
        "PROCESSING_HALTED",
        "The transaction was rolled back since another operation in the same transaction failed.",
    )
}

fn valid_reference_id(id: &str) -> bool {
    id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Looks up `refId.path` (`.` fields and `[n]` indexes) in earlier results.
fn lookup(results: &HashMap<String, Value>, expr: &str) -> Option<String> {
    let mut parts = expr.split('.');
    let head = parts.next()?;
    // The reference id may itself carry an index: `@{ref[0].Id}` is not valid, but
    // `@{ref.records[0].Id}` is.
    let mut current = results.get(head)?;
    for part in parts {
        let (name, indexes) = match part.find('[') {
            Some(i) => part.split_at(i),
            None => (part, ""),
        };
        if !name.is_empty() {
            current = current.get(name)?;
        }
        for idx in indexes.split('[').filter(|s| !s.is_empty()) {
            let n: usize = idx.strip_suffix(']')?.parse().ok()?;
            current = current.get(n)?;
        }
    }
    match current {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn unresolved(expr: &str) -> ApiError {
    let head = expr.split('.').next().unwrap_or(expr);
    ApiError::new(
        400,
        "PROCESSING_HALTED",
        format!(
            "Invalid reference specified. No value for {expr} found in {head}. Provided referenceId ('{expr}') must start with a letter or a number, and it can contain only letters, numbers and underscores ('_')."
        ),
    )
}

/// Replaces every `@{…}` in a string.
fn substitute(text: &str, results: &HashMap<String, Value>) -> Result<String, ApiError> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("@{") {
        out.push_str(rest.get(..start).unwrap_or(""));
        let after = rest.get(start + 2..).unwrap_or("");
        let Some(end) = after.find('}') else {
            out.push_str(rest.get(start..).unwrap_or(""));
            return Ok(out);
        };
        let expr = after.get(..end).unwrap_or("");
        out.push_str(&lookup(results, expr).ok_or_else(|| unresolved(expr))?);
        rest = after.get(end + 1..).unwrap_or("");
    }
    out.push_str(rest);
    Ok(out)
}

fn substitute_value(v: &Value, results: &HashMap<String, Value>) -> Result<Value, ApiError> {
    Ok(match v {
        Value::String(s) => Value::String(substitute(s, results)?),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| substitute_value(x, results))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, x) in m {
                out.insert(k.clone(), substitute_value(x, results)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

struct Sub {
    method: String,
    url: String,
    reference_id: String,
    body: Option<Value>,
    /// The subrequest's `httpHeaders`, names lower-cased.
    headers: Vec<(String, String)>,
}

impl Sub {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn parse_subrequests(body: Option<&Value>) -> Result<(bool, Vec<Sub>), ApiError> {
    let body = body
        .and_then(Value::as_object)
        .ok_or_else(|| ApiError::json_parser("The request body must be a JSON object."))?;
    let all_or_none = body
        .get("allOrNone")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let list = body
        .get("compositeRequest")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ApiError::new(
                400,
                "INVALID_INPUT",
                "compositeRequest must be a non-empty array",
            )
        })?;
    if list.is_empty() {
        return Err(ApiError::new(
            400,
            "INVALID_INPUT",
            "compositeRequest must be a non-empty array",
        ));
    }
    if list.len() > MAX_SUBREQUESTS {
        return Err(ApiError::new(
            400,
            "LIMIT_EXCEEDED",
            format!(
                "Limit Exceeded: Maximum number of subrequests allowed is {MAX_SUBREQUESTS}, found {}",
                list.len()
            ),
        ));
    }
    let mut subs = Vec::new();
    let mut seen = Vec::new();
    for item in list {
        let field = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_string);
        let (Some(method), Some(url), Some(reference_id)) =
            (field("method"), field("url"), field("referenceId"))
        else {
            return Err(ApiError::new(
                400,
                "INVALID_INPUT",
                "Each subrequest needs method, url and referenceId",
            ));
        };
        if !valid_reference_id(&reference_id) || seen.contains(&reference_id) {
            return Err(ApiError::new(
                400,
                "INVALID_INPUT",
                format!("Invalid or duplicate referenceId: {reference_id}"),
            ));
        }
        if !matches!(method.as_str(), "GET" | "POST" | "PATCH" | "PUT" | "DELETE") {
            return Err(ApiError::new(
                400,
                "INVALID_INPUT",
                format!("Invalid HTTP method: {method}"),
            ));
        }
        let forbidden_header = item
            .get("httpHeaders")
            .and_then(Value::as_object)
            .is_some_and(|h| {
                h.keys().any(|k| {
                    ["accept", "authorization", "content-type"]
                        .contains(&k.to_ascii_lowercase().as_str())
                })
            });
        if forbidden_header {
            return Err(ApiError::new(
                400,
                "INVALID_INPUT",
                "Subrequest headers may not include Accept, Authorization or Content-Type",
            ));
        }
        let headers = item
            .get("httpHeaders")
            .and_then(Value::as_object)
            .map(|h| {
                h.iter()
                    .map(|(k, v)| {
                        let text = match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        (k.to_ascii_lowercase(), text)
                    })
                    .collect()
            })
            .unwrap_or_default();
        seen.push(reference_id.clone());
        subs.push(Sub {
            method,
            url,
            reference_id,
            body: item.get("body").cloned(),
            headers,
        });
    }
    Ok((all_or_none, subs))
}

fn run_sub(
    st: &mut State,
    user_id: &str,
    parent: &RestRequest,
    sub: &Sub,
    results: &HashMap<String, Value>,
) -> RestResponse {
    let url = match substitute(&sub.url, results) {
        Ok(u) => u,
        Err(e) => return e.into(),
    };
    let body = match sub
        .body
        .as_ref()
        .map(|b| substitute_value(b, results))
        .transpose()
    {
        Ok(b) => b,
        Err(e) => return e.into(),
    };
    let Some((version, segments, query)) = rest::parse_data_url(&url) else {
        return ApiError::not_found().into();
    };
    if segments.first().map(String::as_str) == Some("composite") && segments.len() == 1 {
        return ApiError::not_found().into();
    }
    // Headers set on the subrequest apply to it, as they would on a call of its own.
    let allow_duplicate_save = parent.allow_duplicate_save
        || sub
            .header("sforce-duplicate-rule-header")
            .is_some_and(rest::duplicate_header_allows_save);
    let req = RestRequest {
        method: sub.method.clone(),
        version,
        segments,
        query,
        body,
        allow_duplicate_save,
        if_unmodified_since: sub.header("if-unmodified-since").map(str::to_string),
    };
    let resp = rest::dispatch(st, user_id, &req);
    if resp.binary.is_some() {
        // Composite serves sObject Rows "except blob retrieve"; the refusal's wording is ours.
        return ApiError::new(
            400,
            "INVALID_INPUT",
            "Blob retrieval is not supported in a composite subrequest",
        )
        .into();
    }
    resp
}

pub(crate) fn run(st: &mut State, user_id: &str, req: &RestRequest) -> RestResponse {
    let (all_or_none, subs) = match parse_subrequests(req.body.as_ref()) {
        Ok(x) => x,
        Err(e) => return e.into(),
    };
    let snapshot = all_or_none.then(|| st.store.clone());
    let mut results: HashMap<String, Value> = HashMap::new();
    let mut responses: Vec<(String, RestResponse)> = Vec::new();
    let mut failed_at: Option<usize> = None;
    for (i, sub) in subs.iter().enumerate() {
        if failed_at.is_some() {
            responses.push((sub.reference_id.clone(), halted_rollback().into()));
            continue;
        }
        let resp = run_sub(st, user_id, req, sub, &results);
        if resp.status < 400 {
            if let Some(b) = &resp.body {
                results.insert(sub.reference_id.clone(), b.clone());
            }
        } else if all_or_none {
            failed_at = Some(i);
        }
        responses.push((sub.reference_id.clone(), resp));
    }
    if let (Some(failed), Some(snap)) = (failed_at, snapshot) {
        st.store = snap;
        for (i, (_, resp)) in responses.iter_mut().enumerate() {
            if i != failed {
                *resp = halted_rollback().into();
            }
        }
    }
    let items: Vec<Value> = responses
        .into_iter()
        .map(|(reference_id, resp)| {
            let headers: Map<String, Value> = resp
                .headers
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
            json!({
                "body": resp.body.unwrap_or(Value::Null),
                "httpHeaders": headers,
                "httpStatusCode": resp.status,
                "referenceId": reference_id,
            })
        })
        .collect();
    RestResponse::json(200, json!({ "compositeResponse": items }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_resolve_paths() {
        let mut results = HashMap::new();
        results.insert("refLead".to_string(), json!({"id": "00Q1"}));
        results.insert(
            "q".to_string(),
            json!({"records": [{"Id": "0031", "Email": "a@b.c"}]}),
        );
        assert_eq!(
            substitute("/x/@{refLead.id}", &results).ok().as_deref(),
            Some("/x/00Q1")
        );
        assert_eq!(
            substitute("@{q.records[0].Id}", &results).ok().as_deref(),
            Some("0031")
        );
        assert!(substitute("@{refLead.Id}", &results).is_err());
        assert!(substitute("@{nope.id}", &results).is_err());
    }
}
