//! Salesforce Files as inserts shape them. A ContentVersion carries the bytes (base64 in JSON);
//! its first version creates the ContentDocument, and the platform links the document to its
//! owner and, given FirstPublishLocationId, to that record (Object Reference: ContentVersion,
//! ContentDocument "To create a document, create a new version … without setting the
//! ContentDocumentId. This automatically creates a parent document record").

use super::{DmlContext, insert_platform_record, values};
use crate::errors::ApiError;
use crate::schema::{FieldType, ObjectDef};
use crate::store::{Blob, Store};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Moves a base64 field's bytes out of `fields` (the value was checked as base64 already).
pub(super) fn take_blob(obj: &ObjectDef, fields: &mut Map<String, Value>) -> Option<Blob> {
    let field = obj.fields.iter().find(|f| f.ftype == FieldType::Base64)?;
    let text = fields.get(&field.name)?.as_str()?;
    let data = values::decode_base64(text)?;
    fields.insert(field.name.clone(), Value::Null);
    Some(Blob {
        field: field.name.clone(),
        data: Arc::new(data),
    })
}

/// `report.PDF` → `pdf`; no extension → none.
fn extension(path: &str) -> Option<String> {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let (stem, ext) = name.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_ascii_lowercase())
}

/// ContentVersion.FileType as Salesforce derives it from the extension.
fn file_type(ext: Option<&str>) -> &'static str {
    match ext.unwrap_or("") {
        "pdf" => "PDF",
        "txt" | "log" => "TEXT",
        "csv" => "CSV",
        "htm" | "html" => "HTML",
        "xml" => "XML",
        "json" => "JSON",
        "png" => "PNG",
        "jpg" | "jpeg" => "JPG",
        "gif" => "GIF",
        "doc" => "WORD",
        "docx" => "WORD_X",
        "xls" => "EXCEL",
        "xlsx" => "EXCEL_X",
        "zip" => "ZIP",
        _ => "UNKNOWN",
    }
}

/// Checks a new version and fills what the platform computes: size, extension, type, version
/// number. A file version needs its path and its bytes.
pub(super) fn prepare_version(
    store: &Store,
    ctx: &DmlContext,
    fields: &mut Map<String, Value>,
    blob: Option<&Blob>,
) -> Result<(), ApiError> {
    let path = fields
        .get("PathOnClient")
        .and_then(Value::as_str)
        .map(str::to_string);
    let missing: Vec<&str> = [
        ("PathOnClient", path.is_none()),
        ("VersionData", blob.is_none()),
    ]
    .into_iter()
    .filter(|(_, absent)| *absent)
    .map(|(name, _)| name)
    .collect();
    if !missing.is_empty() && !ctx.seeding {
        return Err(ApiError::dml(
            "REQUIRED_FIELD_MISSING",
            format!("Required fields are missing: [{}]", missing.join(", ")),
            &missing,
        ));
    }
    let ext = path.as_deref().and_then(extension);
    let size = blob.map_or(0, |b| b.data.len());
    let number = match fields.get("ContentDocumentId").and_then(Value::as_str) {
        Some(doc) => {
            store
                .list("ContentVersion", false)
                .filter(|v| v.get("ContentDocumentId").as_str() == Some(doc))
                .count()
                + 1
        }
        None => 1,
    };
    fields.insert("ContentSize".into(), json!(size));
    fields.insert("FileType".into(), json!(file_type(ext.as_deref())));
    fields.insert(
        "FileExtension".into(),
        ext.map(Value::String).unwrap_or(Value::Null),
    );
    fields.insert("IsLatest".into(), Value::Bool(true));
    fields.insert("VersionNumber".into(), json!(number.to_string()));
    Ok(())
}

/// Values a document copies from its latest version.
fn document_values(version: &Map<String, Value>) -> Vec<(&'static str, Value)> {
    ["Title", "FileExtension", "FileType", "ContentSize"]
        .into_iter()
        .map(|k| (k, version.get(k).cloned().unwrap_or(Value::Null)))
        .collect()
}

/// After a version is stored: a first version creates its document and links; a later one
/// becomes the document's latest.
pub(super) fn publish_version(store: &mut Store, ctx: &DmlContext, version_id: &str, stamp: &str) {
    let Some(version) = store.get(version_id).map(|v| v.fields.clone()) else {
        return;
    };
    if let Some(doc_id) = version.get("ContentDocumentId").and_then(Value::as_str) {
        let doc_id = doc_id.to_string();
        let older: Vec<String> = store
            .list("ContentVersion", false)
            .filter(|v| v.id() != version_id)
            .filter(|v| v.get("ContentDocumentId").as_str() == Some(doc_id.as_str()))
            .map(|v| v.id().to_string())
            .collect();
        for id in older {
            if let Some(v) = store.get_mut(&id) {
                v.fields.insert("IsLatest".into(), Value::Bool(false));
            }
        }
        if let Some(doc) = store.get_mut(&doc_id) {
            for (k, v) in document_values(&version) {
                doc.fields.insert(k.into(), v);
            }
            doc.fields
                .insert("LatestPublishedVersionId".into(), json!(version_id));
            doc.fields.insert("LastModifiedDate".into(), json!(stamp));
            doc.fields.insert("SystemModstamp".into(), json!(stamp));
        }
        return;
    }
    let owner = version
        .get("OwnerId")
        .and_then(Value::as_str)
        .unwrap_or(ctx.user_id)
        .to_string();
    let mut values = document_values(&version);
    values.push(("LatestPublishedVersionId", json!(version_id)));
    values.push(("OwnerId", json!(owner)));
    let Some(doc_id) = insert_platform_record(store, ctx, "ContentDocument", values, stamp) else {
        return;
    };
    if let Some(v) = store.get_mut(version_id) {
        v.fields.insert("ContentDocumentId".into(), json!(doc_id));
    }
    // The owner always holds a link (inferred access); the first record gets a viewer link.
    let place = version
        .get("FirstPublishLocationId")
        .and_then(Value::as_str)
        .filter(|p| *p != owner)
        .map(str::to_string);
    let mut links = vec![(owner, "I")];
    if let Some(place) = place {
        links.push((place, "V"));
    }
    for (entity, share) in links {
        let values = vec![
            ("ContentDocumentId", json!(doc_id)),
            ("LinkedEntityId", json!(entity)),
            ("ShareType", json!(share)),
            ("Visibility", json!("AllUsers")),
        ];
        insert_platform_record(store, ctx, "ContentDocumentLink", values, stamp);
    }
}

/// A document is linked to a given record at most once.
pub(super) fn check_new_link(store: &Store, fields: &Map<String, Value>) -> Result<(), ApiError> {
    let doc = fields.get("ContentDocumentId").and_then(Value::as_str);
    let entity = fields.get("LinkedEntityId").and_then(Value::as_str);
    let (Some(doc), Some(entity)) = (doc, entity) else {
        return Ok(());
    };
    let taken = store.list("ContentDocumentLink", false).any(|l| {
        l.get("ContentDocumentId").as_str() == Some(doc)
            && l.get("LinkedEntityId").as_str() == Some(entity)
    });
    if !taken {
        return Ok(());
    }
    let short = |id: &str| id.get(..15).unwrap_or(id).to_string();
    Err(ApiError::dml(
        "DUPLICATE_VALUE",
        format!(
            "Document with ID: {} is already linked with the entity with ID: {}",
            short(doc),
            short(entity)
        ),
        &[],
    ))
}

/// A renamed latest version renames its document.
pub(super) fn version_updated(store: &mut Store, version_id: &str, stamp: &str) {
    let Some(version) = store.get(version_id) else {
        return;
    };
    if version.get("IsLatest") != &Value::Bool(true) {
        return;
    }
    let title = version.get("Title").clone();
    let Some(doc_id) = version
        .get("ContentDocumentId")
        .as_str()
        .map(str::to_string)
    else {
        return;
    };
    if let Some(doc) = store.get_mut(&doc_id) {
        doc.fields.insert("Title".into(), title);
        doc.fields.insert("LastModifiedDate".into(), json!(stamp));
        doc.fields.insert("SystemModstamp".into(), json!(stamp));
    }
}

/// The versions and links that go when a document is deleted.
pub(super) fn document_parts(store: &Store, doc_id: &str) -> Vec<String> {
    store
        .list("ContentVersion", false)
        .chain(store.list("ContentDocumentLink", false))
        .filter(|r| r.get("ContentDocumentId").as_str() == Some(doc_id))
        .map(|r| r.id().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{extension, file_type};

    #[test]
    fn extensions_and_types() {
        assert_eq!(extension("C:\\docs\\Report.PDF").as_deref(), Some("pdf"));
        assert_eq!(extension("transcript.txt").as_deref(), Some("txt"));
        assert_eq!(extension("README"), None);
        assert_eq!(extension(".hidden"), None);
        assert_eq!(file_type(Some("pdf")), "PDF");
        assert_eq!(file_type(None), "UNKNOWN");
    }
}
