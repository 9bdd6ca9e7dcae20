//! Create, update and delete with the platform's validation, in the order Salesforce applies it:
//! unknown fields, field access, value checks (type, length, picklist, references), required
//! fields, then duplicate rules. Every failure is an [`ApiError`] worded like the real one.

use crate::datetime;
use crate::errors::ApiError;
use crate::ids;
use crate::schema::{FieldDef, FieldType, ObjectDef, Schema};
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

/// Who is writing and how strictly.
pub struct DmlContext<'a> {
    pub schema: &'a Schema,
    pub user_id: &'a str,
    pub version: &'a str,
    pub duplicate_rules: &'a [DuplicateRule],
    /// The request carried `Sforce-Duplicate-Rule-Header: allowSave=true`.
    pub allow_duplicate_save: bool,
    /// Seeding from the admin API: read-only fields may be set and required/reference checks are
    /// skipped, so tests can set up converted Leads and records that reference each other.
    pub seeding: bool,
}

pub fn object<'s>(schema: &'s Schema, sobject: &str) -> Result<&'s ObjectDef, ApiError> {
    schema.object(sobject).ok_or_else(ApiError::not_found)
}

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

fn deserialize_error(kind: &str, value: &Value) -> ApiError {
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
            Value::Number(_) => Ok(value.clone()),
            other => Err(deserialize_error("double", other)),
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
fn check_body(
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

fn missing_required(obj: &ObjectDef, fields: &Map<String, Value>) -> Option<ApiError> {
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

/// Fields the platform computes from others.
fn derive(store: &Store, obj: &ObjectDef, fields: &mut Map<String, Value>) {
    let text = |fields: &Map<String, Value>, k: &str| {
        fields
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    if obj.field("FirstName").is_some() && obj.field("Name").is_some() {
        let name = [text(fields, "FirstName"), text(fields, "LastName")]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        fields.insert("Name".into(), Value::String(name));
    }
    match obj.name.as_str() {
        "Case" => {
            let closed = text(fields, "Status") == "Closed";
            fields.insert("IsClosed".into(), Value::Bool(closed));
        }
        "Task" => {
            let closed = text(fields, "Status") == "Completed";
            fields.insert("IsClosed".into(), Value::Bool(closed));
            let what = text(fields, "WhatId");
            let who = text(fields, "WhoId");
            let account = if ids::prefix_of(&what) == "001" {
                Some(what)
            } else if ids::prefix_of(&who) == "003" {
                store
                    .get(&who)
                    .and_then(|c| c.get("AccountId").as_str().map(str::to_string))
            } else {
                None
            };
            fields.insert(
                "AccountId".into(),
                account.map(Value::String).unwrap_or(Value::Null),
            );
        }
        _ => {}
    }
}

fn check_duplicates(
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

/// Creates a record; returns its id. An `Id` in `body` is honoured only when seeding.
pub fn create(
    store: &mut Store,
    ctx: &DmlContext,
    sobject: &str,
    body: &Map<String, Value>,
) -> Result<String, ApiError> {
    let obj = object(ctx.schema, sobject)?;
    let values = check_body(ctx, store, obj, body, true)?;
    let mut fields = Map::new();
    for f in &obj.fields {
        fields.insert(
            f.name.clone(),
            f.default_value.clone().unwrap_or(Value::Null),
        );
    }
    for (k, v) in values {
        fields.insert(k, v);
    }
    if fields.get("OwnerId").is_some_and(Value::is_null) {
        fields.insert("OwnerId".into(), Value::String(ctx.user_id.to_string()));
    }
    if let Some(err) = missing_required(obj, &fields).filter(|_| !ctx.seeding) {
        return Err(err);
    }
    derive(store, obj, &mut fields);
    check_duplicates(ctx, store, obj, &fields, "")?;
    let seeded_id = if ctx.seeding {
        body.get("Id")
            .and_then(Value::as_str)
            .and_then(ids::normalize)
            .filter(|id| !store.contains(id))
    } else {
        None
    };
    let id = seeded_id.unwrap_or_else(|| store.next_id(&obj.key_prefix));
    let now = datetime::now();
    // Seeding may set the audit dates, as an org with "Set Audit Fields upon Record Creation"
    // may (migrated data keeps its history); otherwise they are now.
    let audit = |name: &str| {
        ctx.seeding
            .then(|| body.get(name).and_then(Value::as_str))
            .flatten()
            .and_then(datetime::normalize_datetime)
            .unwrap_or_else(|| now.clone())
    };
    let created = audit("CreatedDate");
    let modified = audit("LastModifiedDate");
    for (k, v) in [
        ("Id", Value::String(id.clone())),
        ("IsDeleted", Value::Bool(false)),
        ("CreatedDate", Value::String(created)),
        ("CreatedById", Value::String(ctx.user_id.to_string())),
        ("LastModifiedDate", Value::String(modified.clone())),
        ("LastModifiedById", Value::String(ctx.user_id.to_string())),
        ("SystemModstamp", Value::String(modified)),
    ] {
        fields.insert(k.into(), v);
    }
    if obj.name == "Case" && fields.get("CaseNumber").is_none_or(Value::is_null) {
        store.case_number += 1;
        fields.insert(
            "CaseNumber".into(),
            Value::String(format!("{:08}", 1000 + store.case_number)),
        );
    }
    store.insert(Record {
        sobject: obj.name.clone(),
        fields,
        deleted: false,
    });
    Ok(id)
}

/// Finds a live record of `sobject` by id, with the errors the row resources give.
pub fn existing<'s>(
    store: &'s Store,
    obj: &ObjectDef,
    raw_id: &str,
) -> Result<&'s Record, ApiError> {
    let id = ids::normalize(raw_id).filter(|id| ids::prefix_of(id) == obj.key_prefix);
    let Some(id) = id else {
        return Err(ApiError::malformed_id(
            &format!("{} ID", obj.label),
            "Id",
            raw_id,
        ));
    };
    match store.get(&id) {
        None => Err(ApiError::not_found()),
        Some(r) if r.deleted => Err(ApiError::entity_deleted()),
        Some(r) => Ok(r),
    }
}

pub fn update(
    store: &mut Store,
    ctx: &DmlContext,
    sobject: &str,
    raw_id: &str,
    body: &Map<String, Value>,
) -> Result<(), ApiError> {
    let obj = object(ctx.schema, sobject)?;
    let current = existing(store, obj, raw_id)?;
    if obj.name == "Lead" && current.get("IsConverted") == &Value::Bool(true) && !ctx.seeding {
        return Err(ApiError::dml(
            "CANNOT_UPDATE_CONVERTED_LEAD",
            "cannot reference converted lead",
            &[],
        ));
    }
    let id = current.id().to_string();
    let mut fields = current.fields.clone();
    for (k, v) in check_body(ctx, store, obj, body, false)? {
        fields.insert(k, v);
    }
    if let Some(err) = missing_required(obj, &fields) {
        return Err(err);
    }
    derive(store, obj, &mut fields);
    check_duplicates(ctx, store, obj, &fields, &id)?;
    let now = datetime::now();
    fields.insert("LastModifiedDate".into(), Value::String(now.clone()));
    fields.insert(
        "LastModifiedById".into(),
        Value::String(ctx.user_id.to_string()),
    );
    fields.insert("SystemModstamp".into(), Value::String(now));
    if let Some(r) = store.get_mut(&id) {
        r.fields = fields;
    }
    Ok(())
}

/// Deletes by id; `sobject` is None for Collections deletes, which take ids of any type.
pub fn delete(
    store: &mut Store,
    schema: &Schema,
    sobject: Option<&str>,
    raw_id: &str,
) -> Result<(), ApiError> {
    let obj = match sobject {
        Some(s) => object(schema, s)?,
        None => ids::normalize(raw_id)
            .and_then(|id| schema.by_prefix(ids::prefix_of(&id)))
            .ok_or_else(|| ApiError::malformed_id("Record ID", "Id", raw_id))?,
    };
    let id = existing(store, obj, raw_id)?.id().to_string();
    if let Some(r) = store.get_mut(&id) {
        r.deleted = true;
        r.fields.insert("IsDeleted".into(), Value::Bool(true));
        r.fields
            .insert("SystemModstamp".into(), Value::String(datetime::now()));
    }
    Ok(())
}
