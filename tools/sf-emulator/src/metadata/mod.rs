//! Loads custom fields and objects from a Salesforce CLI source-format project
//! (`force-app/main/default/objects/<Object>/fields/<Field>.field-meta.xml`), so the emulator's
//! schema and the metadata we deploy to real orgs cannot drift: from a folder, or from the repo's
//! `salesforce/` project built into the binary ([`load_builtin`]).
//!
//! Activity fields (`objects/Activity/fields/`) land on Task, as Salesforce shows activity custom
//! fields on Task and Event. Custom objects (`objects/X__c/X__c.object-meta.xml`) get key prefixes
//! `a00`, `a01`, … in name order, as a fresh org hands them out.

mod field;
mod xml;

use crate::schema::{FieldDef, FieldType, ObjectDef, Schema};
use std::collections::BTreeMap;
use std::path::Path;
use xml::{Element, parse_xml};

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_metadata.rs"));
}

/// Where object folders sit in a source-format project.
const OBJECTS: &str = "force-app/main/default/objects";

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

/// One metadata file: where it came from (for messages) and its text.
struct Source {
    path: String,
    text: String,
}

/// An object folder's files: its `.object-meta.xml`, if any, and its fields by file name.
#[derive(Default)]
struct ObjectFiles {
    object_meta: Option<Source>,
    fields: BTreeMap<String, Source>,
}

/// Applies the built-in project (the repo's `salesforce/` when the emulator was built).
pub(crate) fn load_builtin(schema: &mut Schema) -> Result<(), MetadataError> {
    let mut objects: BTreeMap<String, ObjectFiles> = BTreeMap::new();
    for (path, text) in builtin::FILES {
        let Some(rest) = path.strip_prefix(OBJECTS).and_then(|r| r.strip_prefix('/')) else {
            continue;
        };
        let source = || Source {
            path: format!("salesforce/{path} (built in)"),
            text: (*text).to_string(),
        };
        match rest.split('/').collect::<Vec<_>>().as_slice() {
            [object, "fields", file] => {
                objects
                    .entry((*object).to_string())
                    .or_default()
                    .fields
                    .insert((*file).to_string(), source());
            }
            [object, file] if *file == format!("{object}.object-meta.xml") => {
                objects
                    .entry((*object).to_string())
                    .or_default()
                    .object_meta = Some(source());
            }
            [object, ..] => {
                // Other object metadata (list views…) still makes the folder an object.
                objects.entry((*object).to_string()).or_default();
            }
            [] => {}
        }
    }
    apply(schema, objects)
}

/// Applies every object and field under `<project>/force-app/main/default/objects` to `schema`.
/// A project folder that cannot be read is an error; one without objects adds nothing.
pub(crate) fn load_project(schema: &mut Schema, project: &Path) -> Result<(), MetadataError> {
    std::fs::read_dir(project).map_err(|source| MetadataError::Io {
        path: project.display().to_string(),
        source,
    })?;
    let mut objects: BTreeMap<String, ObjectFiles> = BTreeMap::new();
    for obj_dir in sorted_entries(&project.join(OBJECTS))? {
        let Some(dir_name) = obj_dir
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        if !obj_dir.is_dir() {
            continue;
        }
        let mut files = ObjectFiles::default();
        let meta = obj_dir.join(format!("{dir_name}.object-meta.xml"));
        if meta.exists() {
            files.object_meta = Some(read(&meta)?);
        }
        for field_file in sorted_entries(&obj_dir.join("fields"))? {
            let Some(name) = field_file.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if name.ends_with(".field-meta.xml") {
                files.fields.insert(name.to_string(), read(&field_file)?);
            }
        }
        objects.insert(dir_name, files);
    }
    apply(schema, objects)
}

fn read(path: &Path) -> Result<Source, MetadataError> {
    let text = std::fs::read_to_string(path).map_err(|source| MetadataError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(Source {
        path: path.display().to_string(),
        text,
    })
}

/// A folder's entries, sorted; a missing folder has none (an object without fields).
fn sorted_entries(dir: &Path) -> Result<Vec<std::path::PathBuf>, MetadataError> {
    let io = |source| MetadataError::Io {
        path: dir.display().to_string(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        out.push(entry.map_err(io)?.path());
    }
    out.sort();
    Ok(out)
}

fn parse(source: &Source) -> Result<Element, MetadataError> {
    parse_xml(&source.text).map_err(|reason| MetadataError::Xml {
        path: source.path.clone(),
        reason,
    })
}

/// A custom object from its `.object-meta.xml` (label, plural label, name field, sharing).
fn custom_object(
    meta: Option<&Source>,
    name: &str,
    prefix: &str,
) -> Result<ObjectDef, MetadataError> {
    let root = meta.map(parse).transpose()?;
    let text = |tag: &str| root.as_ref().and_then(|r| r.text_of(tag));
    let label = text("label").unwrap_or(name).to_string();
    let name_field = match (root.as_ref().and_then(|r| r.child("nameField")), meta) {
        (Some(nf), Some(meta)) => field::from_xml(nf, Some("Name"), &meta.path)?,
        _ => FieldDef::new("Name", FieldType::String).len(80),
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

/// Applies object folders, in name order, to `schema`.
fn apply(schema: &mut Schema, objects: BTreeMap<String, ObjectFiles>) -> Result<(), MetadataError> {
    let mut custom_serial = 0u32;
    for (dir_name, files) in objects {
        // Activity custom fields are Task's (and Event's, not emulated).
        let obj_name = if dir_name == "Activity" {
            "Task".to_string()
        } else {
            dir_name.clone()
        };
        if schema.object(&obj_name).is_none() {
            let prefix = format!("a{:02}", custom_serial % 100);
            custom_serial += 1;
            schema.insert(custom_object(
                files.object_meta.as_ref(),
                &dir_name,
                &prefix,
            )?);
            schema.allow_files_on(&dir_name);
        }
        for source in files.fields.values() {
            let root = parse(source)?;
            let field = field::from_xml(&root, None, &source.path)?;
            if let Some(obj) = schema.object_mut(&obj_name) {
                obj.add_field(field);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_project() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../salesforce")
    }

    #[test]
    fn the_built_in_project_is_the_repos_salesforce_folder() {
        let mut from_disk = Schema::standard();
        let loaded = load_project(&mut from_disk, &repo_project());
        assert!(loaded.is_ok(), "{loaded:?}");
        let mut built_in = Schema::standard();
        let loaded = load_builtin(&mut built_in);
        assert!(loaded.is_ok(), "{loaded:?}");
        assert_eq!(format!("{built_in:?}"), format!("{from_disk:?}"));
        let case_key = built_in
            .object("Case")
            .and_then(|o| o.field("Chat_Conversation_Id__c"));
        assert!(case_key.is_some_and(|f| f.external_id));
    }

    #[test]
    fn every_file_of_the_project_is_built_in() {
        fn walk(dir: &Path, out: &mut Vec<String>, root: &Path) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out, root);
                } else if let Ok(rel) = path.strip_prefix(root) {
                    out.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        let root = repo_project();
        let mut on_disk = Vec::new();
        walk(&root.join("force-app/main/default"), &mut on_disk, &root);
        on_disk.sort();
        let built_in: Vec<String> = builtin::FILES.iter().map(|(p, _)| p.to_string()).collect();
        assert_eq!(built_in, on_disk);
    }

    #[test]
    fn a_project_folder_that_does_not_exist_is_an_error() {
        let mut schema = Schema::standard();
        let missing = Path::new(env!("CARGO_MANIFEST_DIR")).join("no-such-project");
        assert!(matches!(
            load_project(&mut schema, &missing),
            Err(MetadataError::Io { .. })
        ));
    }
}
