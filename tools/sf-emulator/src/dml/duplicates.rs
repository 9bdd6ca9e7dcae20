//! Duplicate rules (DUPLICATES_DETECTED, with the real API's `duplicateResut` detail) and unique
//! fields (DUPLICATE_VALUE).

use super::DmlContext;
use crate::errors::ApiError;
use crate::schema::ObjectDef;
use crate::store::{Record, Store};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// A duplicate rule: a new or changed record matching a live one on every `fields` value
/// (case-insensitive) is refused with DUPLICATES_DETECTED.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DuplicateRule {
    pub sobject: String,
    pub name: String,
    #[serde(default = "default_matching_rule")]
    pub matching_rule: String,
    pub fields: Vec<String>,
    /// When true, `Sforce-Duplicate-Rule-Header: allowSave=true` lets the save through.
    #[serde(default = "yes")]
    pub allow_save: bool,
    #[serde(default = "default_dup_message")]
    pub message: String,
}

fn default_matching_rule() -> String {
    "Standard_Matching_Rule".into()
}
fn yes() -> bool {
    true
}
fn default_dup_message() -> String {
    "Use one of these records?".into()
}

pub(super) fn check_duplicates(
    ctx: &DmlContext,
    store: &Store,
    obj: &ObjectDef,
    fields: &Map<String, Value>,
    self_id: &str,
) -> Result<(), ApiError> {
    if ctx.seeding {
        return Ok(());
    }
    for rule in ctx
        .duplicate_rules
        .iter()
        .filter(|r| r.sobject.eq_ignore_ascii_case(&obj.name))
    {
        if rule.allow_save && ctx.allow_duplicate_save {
            continue;
        }
        let key: Option<Vec<String>> = rule
            .fields
            .iter()
            .map(|f| {
                obj.field(f)
                    .and_then(|fd| fields.get(&fd.name))
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_lowercase)
            })
            .collect();
        let Some(key) = key else { continue };
        let matches: Vec<&Record> = store
            .list(&obj.name, false)
            .filter(|r| r.id() != self_id)
            .filter(|r| {
                rule.fields.iter().zip(&key).all(|(f, want)| {
                    obj.field(f)
                        .and_then(|fd| r.get(&fd.name).as_str())
                        .is_some_and(|v| v.to_lowercase() == *want)
                })
            })
            .collect();
        if matches.is_empty() {
            continue;
        }
        let match_records: Vec<Value> = matches
            .iter()
            .map(|r| {
                json!({
                    "additionalInformation": [],
                    "fieldDiffs": [],
                    "matchConfidence": 100,
                    "record": {"attributes": r.attributes(ctx.version), "Id": r.id()},
                })
            })
            .collect();
        let mut extra = Map::new();
        extra.insert(
            // The real API spells it this way.
            "duplicateResut".into(),
            json!({
                "allowSave": rule.allow_save,
                "duplicateRule": rule.name,
                "duplicateRuleEntityType": obj.name,
                "errorMessage": rule.message,
                "matchResults": [{
                    "entityType": obj.name,
                    "errors": [],
                    "matchEngine": "ExactMatchEngine",
                    "matchRecords": match_records,
                    "rule": rule.matching_rule,
                    "size": matches.len(),
                    "success": true,
                }],
            }),
        );
        let mut err = ApiError::new(400, "DUPLICATES_DETECTED", rule.message.clone());
        err.extra = Some(extra);
        return Err(err);
    }
    Ok(())
}

/// A unique field refuses a value another live record holds, comparing case-insensitively
/// unless the field is case-sensitive. The message names the holder by its 15-character id.
pub(super) fn check_unique(
    store: &Store,
    obj: &ObjectDef,
    fields: &Map<String, Value>,
    self_id: &str,
) -> Result<(), ApiError> {
    for f in obj.fields.iter().filter(|f| f.unique) {
        let Some(value) = fields.get(&f.name).and_then(Value::as_str) else {
            continue;
        };
        let same = |other: &str| {
            if f.case_sensitive {
                other == value
            } else {
                other.eq_ignore_ascii_case(value)
            }
        };
        let holder = store
            .list(&obj.name, false)
            .filter(|r| r.id() != self_id)
            .find(|r| r.get(&f.name).as_str().is_some_and(same));
        if let Some(r) = holder {
            let id15 = r.id().get(..15).unwrap_or(r.id());
            return Err(ApiError::dml(
                "DUPLICATE_VALUE",
                format!(
                    "duplicate value found: {} duplicates value on record with id: {id15}",
                    f.name
                ),
                &[],
            ));
        }
    }
    Ok(())
}
