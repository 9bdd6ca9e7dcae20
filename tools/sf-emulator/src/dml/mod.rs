//! Create, update and delete with the platform's validation, in the order Salesforce applies it:
//! unknown fields, field access, value checks (type, length, picklist, references), required
//! fields, validation rules, then duplicate rules. Every failure is an [`ApiError`] worded like
//! the real one.

mod derive;
mod duplicates;
mod files;
mod values;

use crate::datetime;
use crate::errors::ApiError;
use crate::ids;
use crate::schema::{ObjectDef, Schema};
use crate::store::{Record, Store};
use crate::validation::{self, ValidationRule};
use serde_json::{Map, Value};
use values::{check_body, missing_required};

pub use duplicates::DuplicateRule;

/// Who is writing and how strictly.
pub(crate) struct DmlContext<'a> {
    pub schema: &'a Schema,
    pub user_id: &'a str,
    pub version: &'a str,
    pub duplicate_rules: &'a [DuplicateRule],
    /// The org's validation rules, checked on the record as it would be saved.
    pub validation_rules: &'a [ValidationRule],
    /// The request carried `Sforce-Duplicate-Rule-Header: allowSave=true`.
    pub allow_duplicate_save: bool,
    /// Seeding from the admin API: read-only fields may be set and required/reference checks are
    /// skipped, so tests can set up converted Leads and records that reference each other.
    pub seeding: bool,
}

pub(crate) fn object<'s>(schema: &'s Schema, sobject: &str) -> Result<&'s ObjectDef, ApiError> {
    schema.object(sobject).ok_or_else(ApiError::not_found)
}

/// Creates a record; returns its id. An `Id` in `body` is honoured only when seeding.
pub(crate) fn create(
    store: &mut Store,
    ctx: &DmlContext,
    sobject: &str,
    body: &Map<String, Value>,
) -> Result<String, ApiError> {
    let obj = object(ctx.schema, sobject)?;
    if !obj.createable {
        // Worded as orgs word it for objects the API cannot insert (ContentDocument).
        return Err(ApiError::new(
            400,
            "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
            format!("entity type cannot be inserted: {}", obj.label),
        ));
    }
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
    let now = datetime::now_utc();
    let stamp = datetime::render(now);
    derive::derive(store, obj, &mut fields, &stamp);
    if !ctx.seeding {
        validation::check(ctx.validation_rules, &obj.name, &fields)?;
    }
    let blob = files::take_blob(obj, &mut fields);
    if obj.name == "ContentVersion" {
        files::prepare_version(store, ctx, &mut fields, blob.as_ref())?;
    }
    if obj.name == "ContentDocumentLink" {
        files::check_new_link(store, &fields)?;
    }
    duplicates::check_unique(store, obj, &fields, "")?;
    duplicates::check_duplicates(ctx, store, obj, &fields, "")?;
    let seeded_id = if ctx.seeding {
        body.get("Id")
            .and_then(Value::as_str)
            .and_then(ids::normalize)
            .filter(|id| !store.contains(id))
    } else {
        None
    };
    let id = seeded_id.unwrap_or_else(|| store.next_id(&obj.key_prefix));
    // Seeding may set the audit dates, as an org with "Set Audit Fields upon Record Creation"
    // may (migrated data keeps its history); otherwise they are now.
    let audit = |name: &str| {
        ctx.seeding
            .then(|| body.get(name).and_then(Value::as_str))
            .flatten()
            .and_then(datetime::normalize_datetime)
            .unwrap_or_else(|| stamp.clone())
    };
    let created = audit("CreatedDate");
    let modified = audit("LastModifiedDate");
    // The same permission lets a seed name who made and last changed the record.
    let by = |name: &str| {
        ctx.seeding
            .then(|| body.get(name).and_then(Value::as_str))
            .flatten()
            .unwrap_or(ctx.user_id)
            .to_string()
    };
    for (k, v) in [
        ("Id", Value::String(id.clone())),
        ("IsDeleted", Value::Bool(false)),
        ("CreatedDate", Value::String(created)),
        ("CreatedById", Value::String(by("CreatedById"))),
        ("LastModifiedDate", Value::String(modified.clone())),
        ("LastModifiedById", Value::String(by("LastModifiedById"))),
        ("SystemModstamp", Value::String(modified)),
    ] {
        // Only the audit fields the object has (a ContentDocumentLink has no created date).
        if obj.field(k).is_some() {
            fields.insert(k.into(), v);
        }
    }
    derive::fill_auto_numbers(store, obj, &mut fields, now.date());
    // A seed may put the record straight into the recycle bin, deleted at its SystemModstamp
    // (its LastModifiedDate), so queryAll and Get Deleted have history to find.
    let binned = ctx.seeding && body.get("IsDeleted") == Some(&Value::Bool(true));
    if binned {
        fields.insert("IsDeleted".into(), Value::Bool(true));
    }
    store.insert(Record {
        sobject: obj.name.clone(),
        fields,
        deleted: binned,
        blob,
    });
    if !ctx.seeding {
        store.saves.push(crate::store::Saved {
            sobject: obj.name.clone(),
            id: id.clone(),
            user_id: ctx.user_id.to_string(),
        });
    }
    if obj.name == "ContentVersion" {
        files::publish_version(store, ctx, &id, &stamp);
    }
    Ok(id)
}

/// Inserts a record the platform itself creates (a file's ContentDocument and links): defaults,
/// the given values and audit fields, without the checks a client's insert goes through.
fn insert_platform_record(
    store: &mut Store,
    ctx: &DmlContext,
    sobject: &str,
    values: Vec<(&str, Value)>,
    stamp: &str,
) -> Option<String> {
    let obj = ctx.schema.object(sobject)?;
    let id = store.next_id(&obj.key_prefix);
    let mut fields = Map::new();
    for f in &obj.fields {
        let v = match f.name.as_str() {
            "Id" => Value::String(id.clone()),
            "IsDeleted" => Value::Bool(false),
            "CreatedById" | "LastModifiedById" | "OwnerId" => Value::String(ctx.user_id.into()),
            "CreatedDate" | "LastModifiedDate" | "SystemModstamp" => Value::String(stamp.into()),
            _ => f.default_value.clone().unwrap_or(Value::Null),
        };
        fields.insert(f.name.clone(), v);
    }
    for (k, v) in values {
        fields.insert(k.to_string(), v);
    }
    store.insert(Record {
        sobject: obj.name.clone(),
        fields,
        deleted: false,
        blob: None,
    });
    Some(id)
}

/// Finds a live record of `sobject` by id, with the errors the row resources give.
pub(crate) fn existing<'s>(
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

pub(crate) fn update(
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
    let stamp = datetime::now();
    derive::derive(store, obj, &mut fields, &stamp);
    if !ctx.seeding {
        validation::check(ctx.validation_rules, &obj.name, &fields)?;
    }
    duplicates::check_unique(store, obj, &fields, &id)?;
    duplicates::check_duplicates(ctx, store, obj, &fields, &id)?;
    // Every save moves the audit stamps forward, even one that changes no value.
    for k in ["LastModifiedDate", "SystemModstamp"] {
        if obj.field(k).is_some() {
            fields.insert(k.into(), Value::String(stamp.clone()));
        }
    }
    if obj.field("LastModifiedById").is_some() {
        fields.insert(
            "LastModifiedById".into(),
            Value::String(ctx.user_id.to_string()),
        );
    }
    if let Some(r) = store.get_mut(&id) {
        r.fields = fields;
    }
    if !ctx.seeding {
        store.saves.push(crate::store::Saved {
            sobject: obj.name.clone(),
            id: id.clone(),
            user_id: ctx.user_id.to_string(),
        });
    }
    if obj.name == "ContentVersion" {
        files::version_updated(store, &id, &stamp);
    }
    Ok(())
}

/// Deletes by id; `sobject` is None for Collections deletes, which take ids of any type.
/// Deleting a ContentDocument deletes its versions and links with it.
pub(crate) fn delete(
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
    if !obj.deletable {
        // ContentVersion supports no delete() call; the row resource then refuses the method.
        return Err(ApiError::new(
            405,
            "METHOD_NOT_ALLOWED",
            "HTTP Method 'DELETE' not allowed. Allowed are HEAD,GET,PATCH",
        ));
    }
    let id = existing(store, obj, raw_id)?.id().to_string();
    let mut doomed = vec![id.clone()];
    if obj.name == "ContentDocument" {
        doomed.extend(files::document_parts(store, &id));
    }
    let stamp = datetime::now();
    for id in doomed {
        if let Some(r) = store.get_mut(&id) {
            r.deleted = true;
            r.fields.insert("IsDeleted".into(), Value::Bool(true));
            r.fields
                .insert("SystemModstamp".into(), Value::String(stamp.clone()));
        }
    }
    Ok(())
}
