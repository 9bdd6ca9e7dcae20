//! One `<CustomField>` (a `.field-meta.xml` file, or an object's `<nameField>`) as a schema field,
//! typed the way describe reports it: Text → string, LongTextArea → textarea with its length,
//! Lookup → reference with a `X__r` relationship, Number → double with precision and scale,
//! AutoNumber → a read-only string the platform fills.

use super::MetadataError;
use super::xml::Element;
use crate::schema::{FieldDef, FieldType};
use serde_json::Value;

/// Describe type for a metadata `<type>`.
fn field_type(type_name: &str, path: &str) -> Result<FieldType, MetadataError> {
    Ok(match type_name {
        "Text" | "AutoNumber" => FieldType::String,
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
    })
}

/// Length when the metadata leaves it out: a TextArea is always 255, and 32,768 is the length
/// Setup proposes for a new Long Text Area.
fn default_length(type_name: &str) -> Option<u32> {
    match type_name {
        "TextArea" => Some(255),
        "LongTextArea" => Some(32_768),
        _ => None,
    }
}

fn number(root: &Element, tag: &str) -> Option<u32> {
    root.text_of(tag).and_then(|v| v.parse().ok())
}

/// Builds a field from `<CustomField>`; `name` overrides `<fullName>` (a `<nameField>` has none).
pub(super) fn from_xml(
    root: &Element,
    name: Option<&str>,
    path: &str,
) -> Result<FieldDef, MetadataError> {
    let name = name.or_else(|| root.text_of("fullName")).unwrap_or("");
    if name.is_empty() {
        return Err(MetadataError::Xml {
            path: path.into(),
            reason: "missing <fullName>".into(),
        });
    }
    let type_name = root.text_of("type").unwrap_or("Text");
    let ftype = field_type(type_name, path)?;
    let flag = |tag: &str| root.text_of(tag) == Some("true");
    let mut field = FieldDef::new(name, ftype);
    if let Some(label) = root.text_of("label") {
        field.label = label.to_string();
    }
    if let Some(n) = number(root, "length").or(default_length(type_name)) {
        field.length = n;
    }
    if matches!(type_name, "Number" | "Currency") {
        // Setup's defaults when a file leaves them out: 18 digits, none after the point.
        field.precision = number(root, "precision").unwrap_or(18);
        field.scale = number(root, "scale").unwrap_or(0);
    }
    if type_name == "AutoNumber" {
        let format = root.text_of("displayFormat").unwrap_or("{0}");
        let start = root
            .text_of("startingNumber")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let label = field.label.clone();
        field = field.auto_number(format, start).label(&label);
        // Auto-numbers are 30 characters in describe.
        field.length = 30;
    }
    if flag("required") || type_name == "MasterDetail" {
        field.nillable = false;
    }
    field.external_id = flag("externalId");
    field.unique = flag("unique");
    field.case_sensitive = flag("caseSensitive");
    if let Some(vs) = root.child("valueSet") {
        field.picklist = vs
            .child("valueSetDefinition")
            .map(|def| {
                def.all("value")
                    .filter_map(|v| v.text_of("fullName").map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        field.restricted = vs.text_of("restricted") == Some("true");
    }
    // A lookup X__c is traversed as X__r; <relationshipName> names the child relationship on
    // the parent (queried as `<relationshipName>__r`), so it does not change that.
    if let Some(target) = root.text_of("referenceTo") {
        field.reference_to = vec![target.to_string()];
        field.child_relationship = root.text_of("relationshipName").map(|r| format!("{r}__r"));
    }
    if ftype == FieldType::Boolean {
        field.defaulted_on_create = true;
        field.default_value = Some(Value::Bool(root.text_of("defaultValue") == Some("true")));
    }
    Ok(field)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::xml::parse_xml;

    fn field(src: &str) -> Option<FieldDef> {
        let root = parse_xml(src).ok()?;
        from_xml(&root, None, "x").ok()
    }

    #[test]
    fn parses_a_restricted_picklist() {
        let f = field(
            r#"<?xml version="1.0" encoding="UTF-8"?>
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
</CustomField>"#,
        );
        let f = f.as_ref();
        assert_eq!(f.map(|f| f.name.as_str()), Some("Tier__c"));
        assert_eq!(
            f.map(|f| f.picklist.clone()),
            Some(vec!["Gold".to_string(), "Silver & Co".to_string()])
        );
        assert_eq!(f.map(|f| f.restricted), Some(true));
    }

    #[test]
    fn numbers_long_text_lookups_and_auto_numbers() {
        let n = field(
            "<CustomField><fullName>Part__c</fullName><type>Number</type><precision>4</precision><scale>0</scale></CustomField>",
        );
        assert_eq!(
            n.map(|f| (f.ftype, f.precision, f.scale)),
            Some((FieldType::Double, 4, 0))
        );
        let t = field(
            "<CustomField><fullName>Body__c</fullName><type>LongTextArea</type><length>131072</length></CustomField>",
        );
        assert_eq!(
            t.map(|f| (f.ftype, f.length)),
            Some((FieldType::Textarea, 131_072))
        );
        let l = field(
            "<CustomField><fullName>Case__c</fullName><type>Lookup</type><referenceTo>Case</referenceTo><relationshipName>Transcripts</relationshipName></CustomField>",
        );
        let l = l.as_ref();
        assert_eq!(
            l.and_then(|f| f.relationship_name.as_deref()),
            Some("Case__r")
        );
        assert_eq!(
            l.and_then(|f| f.child_relationship.as_deref()),
            Some("Transcripts__r")
        );
        assert_eq!(
            l.map(|f| f.reference_to.clone()),
            Some(vec!["Case".to_string()])
        );
        let a = field(
            "<CustomField><fullName>No__c</fullName><label>No</label><type>AutoNumber</type><displayFormat>N-{000}</displayFormat></CustomField>",
        );
        let a = a.as_ref();
        assert_eq!(a.and_then(|f| f.auto_number.as_deref()), Some("N-{000}"));
        assert_eq!(a.map(|f| (f.createable, f.nillable)), Some((false, false)));
        assert!(
            field("<CustomField><fullName>X__c</fullName><type>Hologram</type></CustomField>")
                .is_none()
        );
        assert!(field("<CustomField><type>Text</type></CustomField>").is_none());
    }
}
