//! Loads custom fields and objects from a Salesforce CLI source-format project
//! (`force-app/main/default/objects/<Object>/fields/<Field>.field-meta.xml`), so the emulator's
//! schema and the metadata we deploy to real orgs cannot drift.
//!
//! Activity fields (`objects/Activity/fields/`) land on Task, as Salesforce shows activity custom
//! fields on Task and Event. Custom objects (`objects/X__c/X__c.object-meta.xml`) get key prefixes
//! `a00`, `a01`, … in name order, as a fresh org hands them out.

mod field;
mod xml;

use crate::schema::{FieldDef, FieldType, ObjectDef, Schema};
use std::path::Path;
use xml::{Element, parse_xml};

#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: malformed XML: {reason}")]
    Xml { path: String, reason: String },
    #[error("{path}: unsupported field type {ftype}")]
    UnsupportedType { path: String, ftype: String },
}

fn read(path: &Path) -> Result<String, MetadataError> {
    std::fs::read_to_string(path).map_err(|source| MetadataError::Io {
        path: path.display().to_string(),
        source,
    })
}

fn sorted_entries(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    out.sort();
    out
}

fn parse_file(path: &Path) -> Result<Element, MetadataError> {
    let src = read(path)?;
    parse_xml(&src).map_err(|reason| MetadataError::Xml {
        path: path.display().to_string(),
        reason,
    })
}

/// A custom object from its `.object-meta.xml` (label, plural label, name field, sharing).
fn custom_object(dir: &Path, name: &str, prefix: &str) -> Result<ObjectDef, MetadataError> {
    let file = dir.join(format!("{name}.object-meta.xml"));
    let root = if file.exists() {
        Some(parse_file(&file)?)
    } else {
        None
    };
    let text = |tag: &str| root.as_ref().and_then(|r| r.text_of(tag));
    let label = text("label").unwrap_or(name).to_string();
    let name_field = match root.as_ref().and_then(|r| r.child("nameField")) {
        Some(nf) => field::from_xml(nf, Some("Name"), &file.display().to_string())?,
        None => FieldDef::new("Name", FieldType::String).len(80),
    };
    // A Text name is at most 80 characters whatever the file says.
    let name_field = match name_field.auto_number {
        Some(_) => name_field,
        None => {
            let mut f = name_field;
            f.length = 80;
            f
        }
    };
    let owned = text("sharingModel") != Some("ControlledByParent");
    let mut obj = Schema::custom_object(name, &label, prefix, name_field, owned);
    obj.label_plural = text("pluralLabel").unwrap_or(&label).to_string();
    Ok(obj)
}

/// Applies every object and field under `<project>/force-app/main/default/objects` to `schema`.
pub fn load_project(schema: &mut Schema, project: &Path) -> Result<(), MetadataError> {
    let objects_dir = project.join("force-app/main/default/objects");
    let mut custom_serial = 0u32;
    for obj_dir in sorted_entries(&objects_dir) {
        let Some(dir_name) = obj_dir
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        // Activity custom fields are Task's (and Event's, not emulated).
        let obj_name = if dir_name == "Activity" {
            "Task".to_string()
        } else {
            dir_name.clone()
        };
        if schema.object(&obj_name).is_none() {
            let prefix = format!("a{:02}", custom_serial % 100);
            custom_serial += 1;
            schema.insert(custom_object(&obj_dir, &dir_name, &prefix)?);
            schema.allow_files_on(&dir_name);
        }
        for field_file in sorted_entries(&obj_dir.join("fields")) {
            let path_str = field_file.display().to_string();
            if !path_str.ends_with(".field-meta.xml") {
                continue;
            }
            let root = parse_file(&field_file)?;
            let field = field::from_xml(&root, None, &path_str)?;
            if let Some(obj) = schema.object_mut(&obj_name) {
                obj.add_field(field);
            }
        }
    }
    Ok(())
}
