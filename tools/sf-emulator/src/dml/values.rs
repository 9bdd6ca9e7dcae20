//! Request bodies checked field by field, in the order Salesforce applies it: unknown fields, field
//! access, then each value (type, length, picklist, number range, references) and required fields.

use super::DmlContext;
use crate::datetime;
use crate::errors::ApiError;
use crate::ids;
use crate::schema::{FieldDef, FieldType, ObjectDef};
use crate::store::Store;
use base64::Engine;
use serde_json::{Map, Value};

fn resolve_field<'o>(obj: &'o ObjectDef, key: &str) -> Result<&'o FieldDef, ApiError> {
    obj.field(key).ok_or_else(|| {
        ApiError::dml(
            "INVALID_FIELD",
            format!("No such column '{key}' on sobject of type {}", obj.name),
            &[],
        )
    })
}

fn not_writable(names: &[String]) -> ApiError {
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    ApiError::dml(
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        format!(
            "Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
            names.join(", ")
        ),
        &refs,
    )
}

pub(super) fn deserialize_error(kind: &str, value: &Value) -> ApiError {
    let token = match value {
        Value::Bool(_) => "VALUE_TRUE",
        Value::Number(_) => "VALUE_NUMBER_INT",
        Value::String(_) => "VALUE_STRING",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
        Value::Null => "VALUE_NULL",
    };
    ApiError::json_parser(format!(
        "Cannot deserialize instance of {kind} from {token} value {value} or request may be missing a required field"
    ))
}

/// Checks and normalises one value for a field; references are checked against the store.
fn check_value(
    ctx: &DmlContext,
    store: &Store,
    obj: &ObjectDef,
    field: &FieldDef,
    value: &Value,
) -> Result<Value, ApiError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let name = field.name.as_str();
    match field.ftype {
        t if t.is_text() => {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                other => return Err(deserialize_error("string", other)),
            };
            // Salesforce stores single-line text without leading or trailing whitespace, and
            // an empty one as null.
            let text = if t == FieldType::Textarea {
                text
            } else {
                text.trim().to_owned()
            };
            if text.is_empty() {
                return Ok(Value::Null);
            }
            if text.chars().count() > field.length as usize {
                return Err(ApiError::dml(
                    "STRING_TOO_LONG",
                    format!(
                        "{}: data value too large: {} (max length={})",
                        field.label, text, field.length
                    ),
                    &[name],
                ));
            }
            if t == FieldType::Email && !text.is_empty() && !looks_like_email(&text) {
                return Err(ApiError::dml(
                    "INVALID_EMAIL_ADDRESS",
                    format!("{}: invalid email address: {}", field.label, text),
                    &[name],
                ));
            }
            if t == FieldType::Picklist && field.restricted && !field.picklist.contains(&text) {
                return Err(ApiError::dml(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    format!(
                        "{}: bad value for restricted picklist field: {}",
                        field.label, text
                    ),
                    &[name],
                ));
            }
            Ok(Value::String(text))
        }
        FieldType::Boolean => match value {
            Value::Bool(_) => Ok(value.clone()),
            other => Err(deserialize_error("boolean", other)),
        },
        FieldType::Double | FieldType::Currency => match value {
            Value::Number(n) => {
                check_range(field, n)?;
                Ok(value.clone())
            }
            other => Err(deserialize_error("double", other)),
        },
        // Kept as sent; the bytes are decoded once the record is built (dml::files).
        FieldType::Base64 => match value {
            Value::String(s) if decode_base64(s).is_some() => Ok(value.clone()),
            other => Err(deserialize_error("base64", other)),
        },
        FieldType::Int => match value {
            Value::Number(n) if n.is_i64() => Ok(value.clone()),
            other => Err(deserialize_error("int", other)),
        },
        FieldType::Date => match value.as_str().and_then(datetime::parse_date) {
            Some(_) => Ok(value.clone()),
            None => Err(deserialize_error("date", value)),
        },
        FieldType::DateTime => match value.as_str().and_then(datetime::normalize_datetime) {
            Some(v) => Ok(Value::String(v)),
            None => Err(deserialize_error("datetime", value)),
        },
        FieldType::Id => Err(not_writable(std::slice::from_ref(&field.name))),
        FieldType::Reference => {
            let Some(raw) = value.as_str() else {
                return Err(deserialize_error("reference", value));
            };
            if raw.is_empty() {
                return Ok(Value::Null);
            }
            let id = ids::normalize(raw)
                .ok_or_else(|| ApiError::malformed_id(&id_label(field), name, raw))?;
            if ctx.seeding {
                return Ok(Value::String(id));
            }
            check_reference(ctx, store, obj, field, &id)?;
            Ok(Value::String(id))
        }
        _ => Ok(value.clone()),
    }
}

/// Bytes of a base64 value; line breaks are tolerated, as MIME-style encoders insert them.
pub(super) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .ok()
}

/// A number field holds at most `precision - scale` digits before the point. Salesforce rounds
/// extra decimals rather than refusing them.
fn check_range(field: &FieldDef, n: &serde_json::Number) -> Result<(), ApiError> {
    if field.precision == 0 {
        return Ok(());
    }
    let whole_digits = field.precision.saturating_sub(field.scale);
    let limit = 10f64.powi(i32::try_from(whole_digits).unwrap_or(i32::MAX));
    let value = n.as_f64().unwrap_or(f64::INFINITY);
    if value.abs().trunc() < limit {
        return Ok(());
    }
    Err(ApiError::dml(
        "NUMBER_OUTSIDE_VALID_RANGE",
        format!(
            "{}: value outside of valid range on numeric field: {n}",
            field.label
        ),
        &[field.name.as_str()],
    ))
}

/// "Account ID" for AccountId: the label Salesforce puts in front of id errors.
fn id_label(field: &FieldDef) -> String {
    field.label.clone()
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.contains(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

fn check_reference(
    ctx: &DmlContext,
    store: &Store,
    obj: &ObjectDef,
    field: &FieldDef,
    id: &str,
) -> Result<(), ApiError> {
    let name = field.name.as_str();
    let target_type = ctx
        .schema
        .by_prefix(ids::prefix_of(id))
        .map(|o| o.name.clone());
    let type_ok = target_type
        .as_deref()
        .is_some_and(|t| field.reference_to.iter().any(|r| r == t));
    if !type_ok {
        return Err(ApiError::dml(
            "FIELD_INTEGRITY_EXCEPTION",
            format!("{}: id value of incorrect type: {id}", field.label),
            &[name],
        ));
    }
    let target = match store.get(id) {
        Some(r) if !r.deleted => r,
        _ => {
            let message = if name == "RecordTypeId" {
                format!("Record Type ID: this ID value isn't valid for the user: {id}")
            } else {
                "invalid cross reference id".to_string()
            };
            return Err(ApiError::dml(
                "INVALID_CROSS_REFERENCE_KEY",
                message,
                &[name],
            ));
        }
    };
    match target.sobject.as_str() {
        "User" if name == "OwnerId" && target.get("IsActive") == &Value::Bool(false) => {
            Err(ApiError::dml(
                "INACTIVE_OWNER_OR_USER",
                format!(
                    "operation performed with inactive user [{id}] as owner of {}",
                    obj.label.to_ascii_lowercase()
                ),
                &[],
            ))
        }
        "Group" if name == "OwnerId" => {
            // Only queues that list this object in QueueSobject may own its records.
            let is_queue = target.get("Type").as_str() == Some("Queue");
            let serves = store.list("QueueSobject", false).any(|q| {
                q.get("QueueId").as_str() == Some(id)
                    && q.get("SobjectType").as_str() == Some(obj.name.as_str())
            });
            if is_queue && serves {
                Ok(())
            } else {
                Err(ApiError::dml(
                    "FIELD_INTEGRITY_EXCEPTION",
                    format!("{}: id value of incorrect type: {id}", field.label),
                    &[name],
                ))
            }
        }
        "Lead"
            if obj.name == "Task"
                && name == "WhoId"
                && target.get("IsConverted") == &Value::Bool(true) =>
        {
            Err(ApiError::dml(
                "CANNOT_UPDATE_CONVERTED_LEAD",
                "cannot reference converted lead",
                &[name],
            ))
        }
        "RecordType"
            if target.get("SobjectType").as_str() != Some(obj.name.as_str())
                || target.get("IsActive") == &Value::Bool(false) =>
        {
            Err(ApiError::dml(
                "INVALID_CROSS_REFERENCE_KEY",
                format!("Record Type ID: this ID value isn't valid for the user: {id}"),
                &[name],
            ))
        }
        _ => Ok(()),
    }
}

/// Validates and normalises the writable fields of a request body.
pub(super) fn check_body(
    ctx: &DmlContext,
    store: &Store,
    obj: &ObjectDef,
    body: &Map<String, Value>,
    creating: bool,
) -> Result<Vec<(String, Value)>, ApiError> {
    let mut resolved = Vec::new();
    for (key, value) in body {
        if key == "attributes" {
            continue;
        }
        resolved.push((resolve_field(obj, key)?, value));
    }
    if !ctx.seeding {
        let locked: Vec<String> = resolved
            .iter()
            .filter(|(f, v)| {
                // Id in an update body is tolerated (Collections updates carry it); a null Id on
                // create is how upsert-by-Id asks for a new record.
                if f.name == "Id" {
                    creating && !v.is_null()
                } else if creating {
                    !f.createable
                } else {
                    !f.updateable
                }
            })
            .map(|(f, _)| f.name.clone())
            .collect();
        if !locked.is_empty() {
            return Err(not_writable(&locked));
        }
    }
    let mut out = Vec::new();
    for (field, value) in resolved {
        if field.name == "Id" {
            continue;
        }
        out.push((
            field.name.clone(),
            check_value(ctx, store, obj, field, value)?,
        ));
    }
    Ok(out)
}

pub(super) fn missing_required(obj: &ObjectDef, fields: &Map<String, Value>) -> Option<ApiError> {
    let missing: Vec<&str> = obj
        .fields
        .iter()
        .filter(|f| !f.nillable && f.createable)
        .filter(|f| match fields.get(&f.name) {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            _ => false,
        })
        .map(|f| f.name.as_str())
        .collect();
    (!missing.is_empty()).then(|| {
        ApiError::dml(
            "REQUIRED_FIELD_MISSING",
            format!("Required fields are missing: [{}]", missing.join(", ")),
            &missing,
        )
    })
}
