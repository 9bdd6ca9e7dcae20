//! The org's data model: standard objects chatsync touches plus custom fields and objects from the
//! project's `salesforce/` metadata. Field facts follow real describe results (types, lengths,
//! nillability, defaults, createable/updateable, reference targets).

mod files;
mod standard;

use serde_json::{Value, json};
use standard::system_fields;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldType {
    Id,
    String,
    Textarea,
    Email,
    Phone,
    Url,
    Picklist,
    Combobox,
    Boolean,
    Reference,
    DateTime,
    Date,
    Double,
    Int,
    Currency,
    /// Binary content (ContentVersion.VersionData), sent as base64 in JSON.
    Base64,
}

impl FieldType {
    pub(crate) fn describe_name(self) -> &'static str {
        match self {
            FieldType::Id => "id",
            FieldType::String => "string",
            FieldType::Textarea => "textarea",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Url => "url",
            FieldType::Picklist => "picklist",
            FieldType::Combobox => "combobox",
            FieldType::Boolean => "boolean",
            FieldType::Reference => "reference",
            FieldType::DateTime => "datetime",
            FieldType::Date => "date",
            FieldType::Double => "double",
            FieldType::Int => "int",
            FieldType::Currency => "currency",
            FieldType::Base64 => "base64",
        }
    }

    /// Types whose values are text and whose length is enforced.
    pub(crate) fn is_text(self) -> bool {
        matches!(
            self,
            FieldType::String
                | FieldType::Textarea
                | FieldType::Email
                | FieldType::Phone
                | FieldType::Url
                | FieldType::Picklist
                | FieldType::Combobox
        )
    }
}

#[derive(Debug, Clone)]
pub(crate) struct FieldDef {
    pub name: String,
    pub label: String,
    pub ftype: FieldType,
    pub length: u32,
    pub nillable: bool,
    pub createable: bool,
    pub updateable: bool,
    pub defaulted_on_create: bool,
    pub default_value: Option<Value>,
    pub picklist: Vec<String>,
    pub restricted: bool,
    pub reference_to: Vec<String>,
    pub relationship_name: Option<String>,
    /// The child relationship this reference makes on its targets, queried from the parent as a
    /// subquery: `Contacts` for Contact.AccountId, `Chat_Transcripts__r` for a custom lookup
    /// whose metadata says `<relationshipName>Chat_Transcripts</relationshipName>`.
    pub child_relationship: Option<String>,
    pub external_id: bool,
    /// Unique fields refuse a second record with the same value (DUPLICATE_VALUE).
    pub unique: bool,
    /// Unique values compare case-sensitively (`<caseSensitive>` in metadata).
    pub case_sensitive: bool,
    /// Total and fractional digits of a number field.
    pub precision: u32,
    pub scale: u32,
    /// Display format of an auto-number field (`CT-{0000000}`); the platform fills it on insert.
    pub auto_number: Option<String>,
    /// The first number an auto-number field hands out.
    pub auto_number_start: u64,
    pub custom: bool,
}

impl FieldDef {
    /// A field with the platform's defaults for its type (nillable unless boolean, writable).
    pub(crate) fn new(name: &str, ftype: FieldType) -> Self {
        let length = match ftype {
            FieldType::Id | FieldType::Reference => 18,
            FieldType::Textarea => 32000,
            FieldType::Email | FieldType::Phone | FieldType::Picklist => 255,
            t if t.is_text() => 255,
            _ => 0,
        };
        let relationship_name = if ftype == FieldType::Reference {
            name.strip_suffix("__c")
                .map(|base| format!("{base}__r"))
                .or_else(|| name.strip_suffix("Id").map(str::to_string))
        } else {
            None
        };
        Self {
            name: name.to_string(),
            label: default_label(name),
            ftype,
            length,
            nillable: ftype != FieldType::Boolean,
            createable: true,
            updateable: true,
            defaulted_on_create: ftype == FieldType::Boolean,
            default_value: (ftype == FieldType::Boolean).then_some(Value::Bool(false)),
            picklist: Vec::new(),
            restricted: false,
            reference_to: Vec::new(),
            relationship_name,
            child_relationship: None,
            external_id: false,
            unique: false,
            case_sensitive: false,
            precision: 0,
            scale: 0,
            auto_number: None,
            auto_number_start: 1,
            custom: name.ends_with("__c"),
        }
    }
    pub(crate) fn len(mut self, n: u32) -> Self {
        self.length = n;
        self
    }
    pub(crate) fn label(mut self, l: &str) -> Self {
        self.label = l.to_string();
        self
    }
    /// Required on create: not nillable and nothing fills it in.
    pub(crate) fn required(mut self) -> Self {
        self.nillable = false;
        self
    }
    pub(crate) fn read_only(mut self) -> Self {
        self.createable = false;
        self.updateable = false;
        self
    }
    pub(crate) fn create_only(mut self) -> Self {
        self.updateable = false;
        self
    }
    pub(crate) fn defaulted(mut self, v: Option<Value>) -> Self {
        self.defaulted_on_create = true;
        self.default_value = v;
        self
    }
    pub(crate) fn values(mut self, vals: &[&str]) -> Self {
        self.picklist = vals.iter().map(|v| v.to_string()).collect();
        self
    }
    pub(crate) fn restricted(mut self) -> Self {
        self.restricted = true;
        self
    }
    pub(crate) fn refs(mut self, targets: &[&str]) -> Self {
        self.reference_to = targets.iter().map(|t| t.to_string()).collect();
        self
    }
    /// The child relationship the reference makes on its targets (`Contacts`).
    pub(crate) fn children(mut self, relationship: &str) -> Self {
        self.child_relationship = Some(relationship.to_string());
        self
    }
    /// An auto-number field: read-only, never null, filled on insert from `format`.
    pub(crate) fn auto_number(mut self, format: &str, start: u64) -> Self {
        self.auto_number = Some(format.to_string());
        self.auto_number_start = start;
        self.createable = false;
        self.updateable = false;
        self.nillable = false;
        self.defaulted_on_create = true;
        self
    }

    pub(crate) fn describe(&self) -> Value {
        json!({
            "name": self.name,
            "label": self.label,
            "type": self.ftype.describe_name(),
            "length": if self.ftype.is_text() { self.length } else { 0 },
            "nillable": self.nillable,
            "createable": self.createable,
            "updateable": self.updateable,
            "defaultedOnCreate": self.defaulted_on_create,
            "defaultValue": self.default_value.clone().unwrap_or(Value::Null),
            "picklistValues": self.picklist.iter().map(|v| json!({
                "value": v, "label": v, "active": true,
                "defaultValue": self.default_value.as_ref().and_then(Value::as_str) == Some(v.as_str()),
            })).collect::<Vec<_>>(),
            "restrictedPicklist": self.restricted,
            "referenceTo": self.reference_to,
            "relationshipName": self.relationship_name,
            "externalId": self.external_id,
            "idLookup": self.external_id || self.unique || self.ftype == FieldType::Id,
            "custom": self.custom,
            "unique": self.unique,
            "caseSensitive": self.case_sensitive,
            "autoNumber": self.auto_number.is_some(),
            "precision": self.precision,
            "scale": self.scale,
        })
    }
}

/// "LastName" → "Last Name", "Chat_Contact_Id__c" → "Chat Contact Id".
fn default_label(name: &str) -> String {
    let base = name.strip_suffix("__c").unwrap_or(name);
    let mut out = String::new();
    let mut prev_lower = false;
    for c in base.chars() {
        if c == '_' {
            out.push(' ');
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower {
            out.push(' ');
        }
        prev_lower = c.is_ascii_lowercase();
        out.push(c);
    }
    out
}

#[derive(Debug, Clone)]
pub(crate) struct ObjectDef {
    pub name: String,
    pub label: String,
    pub label_plural: String,
    pub key_prefix: String,
    pub fields: Vec<FieldDef>,
    pub custom: bool,
    /// Whether the API may insert, update or delete records of this object at all
    /// (ContentDocument is created only through ContentVersion, for instance).
    pub createable: bool,
    pub updateable: bool,
    pub deletable: bool,
}

impl ObjectDef {
    /// An object with the given fields after the system fields every object has.
    pub(crate) fn new(name: &str, label: &str, key_prefix: &str, extra: Vec<FieldDef>) -> Self {
        let mut fields = system_fields();
        fields.extend(extra);
        Self {
            name: name.to_string(),
            label: label.to_string(),
            label_plural: format!("{label}s"),
            key_prefix: key_prefix.to_string(),
            fields,
            custom: name.ends_with("__c"),
            createable: true,
            updateable: true,
            deletable: true,
        }
    }

    /// Field lookup is case-insensitive, as in the real API.
    pub(crate) fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    pub(crate) fn relationship(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| {
            f.relationship_name
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case(name))
        })
    }

    pub(crate) fn describe(&self, version: &str) -> Value {
        json!({
            "name": self.name,
            "label": self.label,
            "labelPlural": self.label_plural,
            "keyPrefix": self.key_prefix,
            "custom": self.custom,
            "createable": self.createable,
            "updateable": self.updateable,
            "deletable": self.deletable,
            "queryable": true,
            "searchable": true,
            "fields": self.fields.iter().map(FieldDef::describe).collect::<Vec<_>>(),
            "urls": {
                "sobject": format!("/services/data/v{version}/sobjects/{}", self.name),
                "describe": format!("/services/data/v{version}/sobjects/{}/describe", self.name),
                "rowTemplate": format!("/services/data/v{version}/sobjects/{}/{{ID}}", self.name),
            },
        })
    }

    pub(crate) fn add_field(&mut self, field: FieldDef) {
        self.fields
            .retain(|f| !f.name.eq_ignore_ascii_case(&field.name));
        self.fields.push(field);
    }
}

/// All objects of the org, keyed by lower-cased API name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Schema {
    objects: BTreeMap<String, ObjectDef>,
}

impl Schema {
    pub(crate) fn object(&self, name: &str) -> Option<&ObjectDef> {
        self.objects.get(&name.to_ascii_lowercase())
    }

    pub(crate) fn object_mut(&mut self, name: &str) -> Option<&mut ObjectDef> {
        self.objects.get_mut(&name.to_ascii_lowercase())
    }

    /// The child relationship `name` of `parent` (case-insensitive), as a subquery's FROM names
    /// it: the child object and its reference field to the parent.
    pub(crate) fn child_relationship(
        &self,
        parent: &ObjectDef,
        name: &str,
    ) -> Option<(&ObjectDef, &FieldDef)> {
        self.objects.values().find_map(|child| {
            child
                .fields
                .iter()
                .find(|f| {
                    f.child_relationship
                        .as_deref()
                        .is_some_and(|r| r.eq_ignore_ascii_case(name))
                        && f.reference_to
                            .iter()
                            .any(|t| t.eq_ignore_ascii_case(&parent.name))
                })
                .map(|f| (child, f))
        })
    }

    pub(crate) fn by_prefix(&self, prefix: &str) -> Option<&ObjectDef> {
        self.objects.values().find(|o| o.key_prefix == prefix)
    }

    pub(crate) fn objects(&self) -> impl Iterator<Item = &ObjectDef> {
        self.objects.values()
    }

    pub(crate) fn insert(&mut self, obj: ObjectDef) {
        self.objects.insert(obj.name.to_ascii_lowercase(), obj);
    }

    /// A new custom object with the fields every custom object has; `name_field` is its Name
    /// (Text 80 unless the metadata says otherwise).
    pub(crate) fn custom_object(
        name: &str,
        label: &str,
        key_prefix: &str,
        name_field: FieldDef,
        owned: bool,
    ) -> ObjectDef {
        let mut extra = vec![name_field];
        // Objects whose sharing is controlled by a parent have no owner.
        if owned {
            extra.push(
                FieldDef::new("OwnerId", FieldType::Reference)
                    .label("Owner ID")
                    .refs(&["Group", "User"])
                    .required()
                    .defaulted(None),
            );
        }
        ObjectDef::new(name, label, key_prefix, extra)
    }
}
