//! sObject Collections (`/composite/sobjects`): up to 200 records of create, update, upsert or
//! delete in one API call, answered with one SaveResult per record in request order.

use super::composite::sets_owner;
use super::error::{ApiError, SalesforceError, first_real_error};
use super::soql::check_identifier;
use serde::Serialize;
use serde_json::{Map, Value, json};

/// Salesforce's cap on records (or ids) per Collections request.
pub const MAX_RECORDS: usize = 200;

/// One record's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SaveResult {
    /// Absent when a create failed.
    pub id: Option<String>,
    pub success: bool,
    pub errors: Vec<ApiError>,
    /// Upsert only: whether the record was created rather than matched.
    pub created: Option<bool>,
}

impl SaveResult {
    pub fn from_value(value: &Value) -> Option<Self> {
        let obj = value.as_object()?;
        Some(Self {
            id: obj.get("id").and_then(Value::as_str).map(str::to_owned),
            success: obj.get("success").and_then(Value::as_bool)?,
            errors: obj
                .get("errors")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(ApiError::from_value).collect())
                .unwrap_or_default(),
            created: obj.get("created").and_then(Value::as_bool),
        })
    }

    /// This record's failure, if it failed.
    pub fn error(&self) -> Option<SalesforceError> {
        if self.success {
            return None;
        }
        let error = first_real_error(self.errors.iter().cloned())
            .unwrap_or_else(|| ApiError::new("UNKNOWN", "record failed without an error"));
        Some(SalesforceError::Api {
            status: None,
            error,
        })
    }
}

/// Parses a Collections answer (a JSON array of SaveResults).
pub fn parse_save_results(body: &Value) -> Result<Vec<SaveResult>, SalesforceError> {
    let invalid = || SalesforceError::InvalidResponse {
        status: 200,
        reason: "Collections answer is not an array of results".into(),
    };
    body.as_array()
        .ok_or_else(invalid)?
        .iter()
        .map(|v| SaveResult::from_value(v).ok_or_else(invalid))
        .collect()
}

/// The failure to report for a whole Collections call: the first real one, skipping records that
/// were only rolled back because of it (`ALL_OR_NONE_OPERATION_ROLLED_BACK`).
pub fn first_failure(results: &[SaveResult]) -> Option<(usize, SalesforceError)> {
    let mut collateral = None;
    for (i, r) in results.iter().enumerate() {
        if let Some(err) = r.error() {
            if !err.api_error().is_some_and(ApiError::is_collateral) {
                return Some((i, err));
            }
            collateral.get_or_insert((i, err));
        }
    }
    collateral
}

/// A record body with `attributes.type`, as Collections requires.
pub fn record(sobject: &str, fields: Value) -> Value {
    let mut obj = match fields {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    obj.insert("attributes".into(), json!({ "type": sobject }));
    Value::Object(obj)
}

fn check_count(n: usize) -> Result<(), SalesforceError> {
    if n == 0 || n > MAX_RECORDS {
        return Err(SalesforceError::InvalidRequest(format!(
            "a Collections call takes 1 to {MAX_RECORDS} records, got {n}"
        )));
    }
    Ok(())
}

fn record_type(record: &Value) -> Option<&str> {
    record.get("attributes")?.get("type")?.as_str()
}

/// Body for create (`POST`), update (`PATCH`) or upsert (`PATCH …/{SObject}/{Field}`): checks the
/// count, that every record names its type, and for updates that every record has an id.
pub(crate) fn records_body(
    all_or_none: bool,
    records: &[Value],
    need_id: bool,
) -> Result<Value, SalesforceError> {
    check_count(records.len())?;
    for (i, r) in records.iter().enumerate() {
        let ty = record_type(r).ok_or_else(|| {
            SalesforceError::InvalidRequest(format!("record {i} has no attributes.type"))
        })?;
        check_identifier(ty)?;
        let has_id = r
            .get("id")
            .or_else(|| r.get("Id"))
            .is_some_and(Value::is_string);
        if need_id && !has_id {
            return Err(SalesforceError::InvalidRequest(format!(
                "record {i} has no id to update"
            )));
        }
    }
    Ok(json!({ "allOrNone": all_or_none, "records": records }))
}

/// Whether any record sets OwnerId (so the call needs `Sforce-Auto-Assign: FALSE`).
pub(crate) fn any_sets_owner(records: &[Value]) -> bool {
    records.iter().any(sets_owner)
}

/// Query parameters for a delete: `ids=a,b,c&allOrNone=…`.
pub(crate) fn delete_query(
    all_or_none: bool,
    ids: &[String],
) -> Result<Vec<(&'static str, String)>, SalesforceError> {
    check_count(ids.len())?;
    if let Some(bad) = ids
        .iter()
        .find(|id| id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()))
    {
        return Err(SalesforceError::InvalidRequest(format!(
            "not a record id: {bad:?}"
        )));
    }
    Ok(vec![
        ("ids", ids.join(",")),
        ("allOrNone", all_or_none.to_string()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Classify, ErrorClass};
    use crate::salesforce::test_support::answers;

    #[test]
    fn an_upsert_result_parses() {
        let body: Value = serde_json::from_str(answers::COLLECTIONS_UPSERT_CREATED).unwrap();
        let results = parse_save_results(&body).unwrap();
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].id.as_deref(), Some("001Ws00000Ch4tSAAB"));
        assert_eq!(results[0].created, Some(true));
        assert!(first_failure(&results).is_none());
    }

    #[test]
    fn a_create_result_parses() {
        let body: Value = serde_json::from_str(answers::SOBJECT_CREATE_201).unwrap();
        let r = SaveResult::from_value(&body).unwrap();
        assert!(r.success);
        assert_eq!(r.created, None);
    }

    #[test]
    fn rolled_back_records_point_at_the_culprit() {
        let body = json!([
            {"id": "001000000000001AAA", "success": false, "errors": [{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
              "message": "Record rolled back because not all records were valid and the request was using AllOrNone header", "fields": []}]},
            {"success": false, "errors": [{"statusCode": "MALFORMED_ID", "message": "bad id", "fields": ["Id"]}]}
        ]);
        let results = parse_save_results(&body).unwrap();
        let (index, err) = first_failure(&results).unwrap();
        assert_eq!(index, 1);
        assert_eq!(err.code(), Some("MALFORMED_ID"));
        assert_eq!(err.class(), ErrorClass::Data);
    }

    #[test]
    fn bodies_are_checked_before_sending() {
        let ok = vec![record(
            "Lead",
            json!({"LastName": "Doe", "Company": "Acme"}),
        )];
        let body = records_body(false, &ok, false).unwrap();
        assert_eq!(body["records"][0]["attributes"]["type"], "Lead");
        assert_eq!(body["allOrNone"], false);
        assert!(records_body(false, &ok, true).is_err(), "update needs ids");
        assert!(records_body(false, &[json!({"LastName": "x"})], false).is_err());
        assert!(records_body(false, &[], false).is_err());
        let too_many = vec![record("Lead", json!({})); MAX_RECORDS + 1];
        assert!(records_body(false, &too_many, false).is_err());
        assert!(any_sets_owner(&[record("Case", json!({"OwnerId": "005"}))]));
        assert!(!any_sets_owner(&ok));
    }

    #[test]
    fn delete_ids_are_plain_ids() {
        let q = delete_query(true, &["001A".into(), "003B".into()]).unwrap();
        assert_eq!(
            q,
            vec![("ids", "001A,003B".into()), ("allOrNone", "true".into())]
        );
        assert!(delete_query(true, &["001A,003B".into()]).is_err());
        assert!(delete_query(true, &[]).is_err());
    }

    #[test]
    fn garbage_is_an_invalid_response() {
        assert!(parse_save_results(&json!({"x": 1})).is_err());
        assert!(parse_save_results(&json!([{"id": "1"}])).is_err());
    }
}
