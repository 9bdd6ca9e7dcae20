//! Loads custom fields and objects from a Salesforce CLI source-format project
//! (`force-app/main/default/objects/<Object>/fields/<Field>.field-meta.xml`), so the emulator's
//! schema and the metadata we deploy to real orgs cannot drift.
//!
//! The metadata files are simple, attribute-free XML; a small element-tree reader is enough and
//! keeps an XML crate out of the dependency tree.

use crate::schema::{FieldDef, FieldType, Schema};
use serde_json::Value;
use std::path::Path;

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

/// An XML element: name, direct text and children. Attributes are ignored.
#[derive(Debug, Default)]
struct Element {
    name: String,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
    fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Parses an XML document into its root element.
fn parse_xml(src: &str) -> Result<Element, String> {
    let mut stack: Vec<Element> = vec![Element::default()];
    let mut rest = src;
    while !rest.is_empty() {
        match rest.find('<') {
            None => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&unescape(rest));
                }
                break;
            }
            Some(pos) => {
                let (text, tail) = rest.split_at(pos);
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&unescape(text));
                }
                if let Some(after) = tail.strip_prefix("<!--") {
                    let end = after.find("-->").ok_or("unterminated comment")?;
                    rest = after.get(end + 3..).unwrap_or("");
                    continue;
                }
                if let Some(after) = tail.strip_prefix("<?") {
                    let end = after.find("?>").ok_or("unterminated declaration")?;
                    rest = after.get(end + 2..).unwrap_or("");
                    continue;
                }
                let end = tail.find('>').ok_or("unterminated tag")?;
                let inner = tail.get(1..end).unwrap_or("");
                rest = tail.get(end + 1..).unwrap_or("");
                if let Some(name) = inner.strip_prefix('/') {
                    let done = stack.pop().ok_or("unbalanced close tag")?;
                    if done.name != name.trim() {
                        return Err(format!("expected </{}>, found </{}>", done.name, name));
                    }
                    stack
                        .last_mut()
                        .ok_or("unbalanced close tag")?
                        .children
                        .push(done);
                } else {
                    let self_closing = inner.ends_with('/');
                    let name = inner
                        .trim_end_matches('/')
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_string();
                    let el = Element {
                        name,
                        ..Element::default()
                    };
                    if self_closing {
                        stack.last_mut().ok_or("no parent")?.children.push(el);
                    } else {
                        stack.push(el);
                    }
                }
            }
        }
    }
    if stack.len() != 1 {
        return Err("unclosed element".into());
    }
    stack
        .pop()
        .and_then(|doc| doc.children.into_iter().next())
        .ok_or_else(|| "empty document".into())
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

/// Applies every object and field under `<project>/force-app/main/default/objects` to `schema`.
pub fn load_project(schema: &mut Schema, project: &Path) -> Result<(), MetadataError> {
    let objects_dir = project.join("force-app/main/default/objects");
    let mut custom_serial = 0u32;
    for obj_dir in sorted_entries(&objects_dir) {
        let Some(obj_name) = obj_dir
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        if schema.object(&obj_name).is_none() {
            // Custom objects get key prefixes a00, a01, …, as orgs hand them out.
            let label_file = obj_dir.join(format!("{obj_name}.object-meta.xml"));
            let label = if label_file.exists() {
                let src = read(&label_file)?;
                let root = parse_xml(&src).map_err(|reason| MetadataError::Xml {
                    path: label_file.display().to_string(),
                    reason,
                })?;
                root.text_of("label").unwrap_or(&obj_name).to_string()
            } else {
                obj_name.clone()
            };
            let prefix = format!("a{:02}", custom_serial % 100);
            custom_serial += 1;
            schema.insert(Schema::custom_object(&obj_name, &label, &prefix));
        }
        for field_file in sorted_entries(&obj_dir.join("fields")) {
            let path_str = field_file.display().to_string();
            if !path_str.ends_with(".field-meta.xml") {
                continue;
            }
            let src = read(&field_file)?;
            let root = parse_xml(&src).map_err(|reason| MetadataError::Xml {
                path: path_str.clone(),
                reason,
            })?;
            let field = field_from_xml(&root, &path_str)?;
            if let Some(obj) = schema.object_mut(&obj_name) {
                obj.add_field(field);
            }
        }
    }
    Ok(())
}

fn field_from_xml(root: &Element, path: &str) -> Result<FieldDef, MetadataError> {
    let name = root.text_of("fullName").unwrap_or("").to_string();
    if name.is_empty() {
        return Err(MetadataError::Xml {
            path: path.into(),
            reason: "missing <fullName>".into(),
        });
    }
    let type_name = root.text_of("type").unwrap_or("Text");
    let ftype = match type_name {
        "Text" => FieldType::String,
        "TextArea" | "LongTextArea" => FieldType::Textarea,
        "Email" => FieldType::Email,
        "Phone" => FieldType::Phone,
        "Url" => FieldType::Url,
        "Picklist" => FieldType::Picklist,
        "Checkbox" => FieldType::Boolean,
        "Lookup" | "MasterDetail" => FieldType::Reference,
        "DateTime" => FieldType::DateTime,
        "Date" => FieldType::Date,
        "Number" => FieldType::Double,
        "Currency" => FieldType::Currency,
        other => {
            return Err(MetadataError::UnsupportedType {
                path: path.into(),
                ftype: other.into(),
            });
        }
    };
    let flag = |tag: &str| root.text_of(tag) == Some("true");
    let length = root.text_of("length").and_then(|l| l.parse().ok());
    let length = length.or(match type_name {
        "TextArea" => Some(255),
        _ => None,
    });
    let (picklist, restricted) = match root.child("valueSet") {
        Some(vs) => {
            let values = vs
                .child("valueSetDefinition")
                .map(|def| {
                    def.all("value")
                        .filter_map(|v| v.text_of("fullName").map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            (values, vs.text_of("restricted") == Some("true"))
        }
        None => (Vec::new(), false),
    };
    let default_value = match (ftype, root.text_of("defaultValue")) {
        (FieldType::Boolean, Some(v)) => Some(Value::Bool(v == "true")),
        (FieldType::Boolean, None) => Some(Value::Bool(false)),
        _ => None,
    };
    let mut field = FieldDef::new(&name, ftype);
    if let Some(label) = root.text_of("label") {
        field.label = label.to_string();
    }
    if let Some(n) = length {
        field.length = n;
    }
    if flag("required") || type_name == "MasterDetail" {
        field.nillable = false;
    }
    field.external_id = flag("externalId");
    field.picklist = picklist;
    field.restricted = restricted;
    // A lookup X__c is traversed as X__r; <relationshipName> names the child relationship on
    // the parent, so it does not change that.
    if let Some(target) = root.text_of("referenceTo") {
        field.reference_to = vec![target.to_string()];
    }
    if let Some(v) = default_value {
        field.defaulted_on_create = true;
        field.default_value = Some(v);
    }
    Ok(field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_field_metadata() {
        let src = r#"<?xml version="1.0" encoding="UTF-8"?>
<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">
    <!-- a comment -->
    <fullName>Tier__c</fullName>
    <label>Tier</label>
    <type>Picklist</type>
    <valueSet>
        <restricted>true</restricted>
        <valueSetDefinition>
            <value><fullName>Gold</fullName><default>false</default></value>
            <value><fullName>Silver &amp; Co</fullName><default>false</default></value>
        </valueSetDefinition>
    </valueSet>
</CustomField>"#;
        let root = parse_xml(src).unwrap_or_default();
        let f = field_from_xml(&root, "x").ok();
        let f = f.as_ref();
        assert_eq!(f.map(|f| f.name.as_str()), Some("Tier__c"));
        assert_eq!(
            f.map(|f| f.picklist.clone()),
            Some(vec!["Gold".to_string(), "Silver & Co".to_string()])
        );
        assert_eq!(f.map(|f| f.restricted), Some(true));
    }

    #[test]
    fn rejects_broken_xml() {
        assert!(parse_xml("<a><b></a>").is_err());
        assert!(parse_xml("<a>").is_err());
    }
}
