//! The org's data model: standard objects chatsync touches plus custom fields and objects from the
//! project's `salesforce/` metadata. Field facts follow real describe results (types, lengths,
//! nillability, defaults, createable/updateable, reference targets).

use serde_json::{Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
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
}

impl FieldType {
    pub fn describe_name(self) -> &'static str {
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
        }
    }

    /// Types whose values are text and whose length is enforced.
    pub fn is_text(self) -> bool {
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
pub struct FieldDef {
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
    pub external_id: bool,
    pub custom: bool,
}

impl FieldDef {
    /// A field with the platform's defaults for its type (nillable unless boolean, writable).
    pub fn new(name: &str, ftype: FieldType) -> Self {
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
            external_id: false,
            custom: name.ends_with("__c"),
        }
    }
    fn len(mut self, n: u32) -> Self {
        self.length = n;
        self
    }
    fn label(mut self, l: &str) -> Self {
        self.label = l.to_string();
        self
    }
    /// Required on create: not nillable and nothing fills it in.
    fn required(mut self) -> Self {
        self.nillable = false;
        self
    }
    fn read_only(mut self) -> Self {
        self.createable = false;
        self.updateable = false;
        self
    }
    fn create_only(mut self) -> Self {
        self.updateable = false;
        self
    }
    fn defaulted(mut self, v: Option<Value>) -> Self {
        self.defaulted_on_create = true;
        self.default_value = v;
        self
    }
    fn values(mut self, vals: &[&str]) -> Self {
        self.picklist = vals.iter().map(|v| v.to_string()).collect();
        self
    }
    fn restricted(mut self) -> Self {
        self.restricted = true;
        self
    }
    fn refs(mut self, targets: &[&str]) -> Self {
        self.reference_to = targets.iter().map(|t| t.to_string()).collect();
        self
    }

    pub fn describe(&self) -> Value {
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
            "idLookup": self.external_id || self.ftype == FieldType::Id,
            "custom": self.custom,
            "unique": false,
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
pub struct ObjectDef {
    pub name: String,
    pub label: String,
    pub key_prefix: String,
    pub fields: Vec<FieldDef>,
    pub custom: bool,
}

impl ObjectDef {
    /// Field lookup is case-insensitive, as in the real API.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    pub fn relationship(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| {
            f.relationship_name
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case(name))
        })
    }

    pub fn describe(&self, version: &str) -> Value {
        json!({
            "name": self.name,
            "label": self.label,
            "keyPrefix": self.key_prefix,
            "custom": self.custom,
            "createable": true,
            "updateable": true,
            "deletable": true,
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

    pub fn add_field(&mut self, field: FieldDef) {
        self.fields
            .retain(|f| !f.name.eq_ignore_ascii_case(&field.name));
        self.fields.push(field);
    }
}

/// All objects of the org, keyed by lower-cased API name.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    objects: BTreeMap<String, ObjectDef>,
}

impl Schema {
    pub fn object(&self, name: &str) -> Option<&ObjectDef> {
        self.objects.get(&name.to_ascii_lowercase())
    }

    pub fn object_mut(&mut self, name: &str) -> Option<&mut ObjectDef> {
        self.objects.get_mut(&name.to_ascii_lowercase())
    }

    pub fn by_prefix(&self, prefix: &str) -> Option<&ObjectDef> {
        self.objects.values().find(|o| o.key_prefix == prefix)
    }

    pub fn objects(&self) -> impl Iterator<Item = &ObjectDef> {
        self.objects.values()
    }

    pub fn insert(&mut self, obj: ObjectDef) {
        self.objects.insert(obj.name.to_ascii_lowercase(), obj);
    }

    /// A new custom object with the fields every custom object has.
    pub fn custom_object(name: &str, label: &str, key_prefix: &str) -> ObjectDef {
        let mut fields = system_fields();
        fields.push(FieldDef::new("Name", FieldType::String).len(80));
        fields.push(
            FieldDef::new("OwnerId", FieldType::Reference)
                .refs(&["Group", "User"])
                .defaulted(None),
        );
        ObjectDef {
            name: name.to_string(),
            label: label.to_string(),
            key_prefix: key_prefix.to_string(),
            fields,
            custom: true,
        }
    }

    /// The standard objects, as a fresh org describes them.
    pub fn standard() -> Self {
        use FieldType as T;
        let mut s = Schema::default();
        let obj = |name: &str, prefix: &str, extra: Vec<FieldDef>| {
            let mut fields = system_fields();
            fields.extend(extra);
            ObjectDef {
                name: name.to_string(),
                label: name.to_string(),
                key_prefix: prefix.to_string(),
                fields,
                custom: false,
            }
        };
        let owner = |targets: &[&str]| {
            FieldDef::new("OwnerId", T::Reference)
                .label("Owner ID")
                .refs(targets)
                .required()
                .defaulted(None)
        };
        s.insert(obj(
            "Lead",
            "00Q",
            vec![
                FieldDef::new("FirstName", T::String).len(40),
                FieldDef::new("LastName", T::String).len(80).required(),
                FieldDef::new("Name", T::String).len(121).read_only(),
                FieldDef::new("Company", T::String).len(255).required(),
                FieldDef::new("Title", T::String).len(128),
                FieldDef::new("Email", T::Email).len(80),
                FieldDef::new("Phone", T::Phone).len(40),
                FieldDef::new("MobilePhone", T::Phone).len(40),
                FieldDef::new("Status", T::Picklist)
                    .len(255)
                    .required()
                    .defaulted(Some(json!("Open - Not Contacted")))
                    .values(&[
                        "Open - Not Contacted",
                        "Working - Contacted",
                        "Closed - Converted",
                        "Closed - Not Converted",
                    ]),
                FieldDef::new("LeadSource", T::Picklist).len(255).values(&[
                    "Web",
                    "Phone Inquiry",
                    "Partner Referral",
                    "Purchased List",
                    "Other",
                ]),
                FieldDef::new("Description", T::Textarea),
                owner(&["Group", "User"]),
                FieldDef::new("IsConverted", T::Boolean).create_only(),
                FieldDef::new("ConvertedContactId", T::Reference)
                    .refs(&["Contact"])
                    .read_only(),
                FieldDef::new("ConvertedAccountId", T::Reference)
                    .refs(&["Account"])
                    .read_only(),
                FieldDef::new("ConvertedDate", T::Date).read_only(),
            ],
        ));
        s.insert(obj(
            "Contact",
            "003",
            vec![
                FieldDef::new("FirstName", T::String).len(40),
                FieldDef::new("LastName", T::String).len(80).required(),
                FieldDef::new("Name", T::String).len(121).read_only(),
                FieldDef::new("Title", T::String).len(128),
                FieldDef::new("Email", T::Email).len(80),
                FieldDef::new("Phone", T::Phone).len(40),
                FieldDef::new("MobilePhone", T::Phone).len(40),
                FieldDef::new("AccountId", T::Reference)
                    .label("Account ID")
                    .refs(&["Account"]),
                FieldDef::new("Description", T::Textarea),
                owner(&["User"]),
            ],
        ));
        s.insert(obj(
            "Account",
            "001",
            vec![
                FieldDef::new("Name", T::String).len(255).required(),
                FieldDef::new("AccountNumber", T::String).len(40),
                FieldDef::new("Website", T::Url).len(255),
                FieldDef::new("Phone", T::Phone).len(40),
                FieldDef::new("Description", T::Textarea),
                FieldDef::new("RecordTypeId", T::Reference)
                    .label("Record Type ID")
                    .refs(&["RecordType"]),
                owner(&["User"]),
            ],
        ));
        s.insert(obj(
            "Case",
            "500",
            vec![
                FieldDef::new("CaseNumber", T::String).len(30).read_only(),
                FieldDef::new("Subject", T::String).len(255),
                FieldDef::new("Description", T::Textarea),
                FieldDef::new("Status", T::Picklist)
                    .len(40)
                    .defaulted(Some(json!("New")))
                    .values(&["New", "Working", "Escalated", "Closed"]),
                FieldDef::new("Priority", T::Picklist)
                    .len(40)
                    .defaulted(Some(json!("Medium")))
                    .values(&["High", "Medium", "Low"]),
                FieldDef::new("Origin", T::Picklist)
                    .len(40)
                    .values(&["Phone", "Email", "Web"]),
                FieldDef::new("Reason", T::Picklist).len(40).values(&[
                    "Installation",
                    "Equipment Complexity",
                    "Performance",
                    "Breakdown",
                    "Equipment Design",
                    "Feedback",
                    "Other",
                ]),
                FieldDef::new("Type", T::Picklist).len(40).values(&[
                    "Mechanical",
                    "Electrical",
                    "Electronic",
                    "Structural",
                    "Other",
                ]),
                FieldDef::new("ContactId", T::Reference)
                    .label("Contact ID")
                    .refs(&["Contact"]),
                FieldDef::new("AccountId", T::Reference)
                    .label("Account ID")
                    .refs(&["Account"]),
                FieldDef::new("SuppliedEmail", T::Email).len(80),
                FieldDef::new("SuppliedName", T::String).len(80),
                FieldDef::new("SuppliedPhone", T::String).len(40),
                FieldDef::new("IsClosed", T::Boolean).read_only(),
                FieldDef::new("ClosedDate", T::DateTime).read_only(),
                FieldDef::new("RecordTypeId", T::Reference)
                    .label("Record Type ID")
                    .refs(&["RecordType"]),
                owner(&["Group", "User"]),
            ],
        ));
        s.insert(obj(
            "CaseComment",
            "00a",
            vec![
                FieldDef::new("ParentId", T::Reference)
                    .label("Parent ID")
                    .refs(&["Case"])
                    .required()
                    .create_only(),
                FieldDef::new("CommentBody", T::Textarea).len(4000),
                FieldDef::new("IsPublished", T::Boolean),
            ],
        ));
        s.insert(obj(
            "Task",
            "00T",
            vec![
                FieldDef::new("Subject", T::Combobox).len(255),
                FieldDef::new("Description", T::Textarea),
                FieldDef::new("Status", T::Picklist)
                    .len(40)
                    .required()
                    .defaulted(Some(json!("Not Started")))
                    .values(&[
                        "Not Started",
                        "In Progress",
                        "Completed",
                        "Waiting on someone else",
                        "Deferred",
                    ]),
                FieldDef::new("Priority", T::Picklist)
                    .len(40)
                    .required()
                    .defaulted(Some(json!("Normal")))
                    .values(&["High", "Normal", "Low"]),
                FieldDef::new("ActivityDate", T::Date).label("Due Date Only"),
                FieldDef::new("WhoId", T::Reference)
                    .label("Name ID")
                    .refs(&["Contact", "Lead"]),
                FieldDef::new("WhatId", T::Reference)
                    .label("Related To ID")
                    .refs(&["Account", "Opportunity", "Case"]),
                FieldDef::new("TaskSubtype", T::Picklist)
                    .len(40)
                    .restricted()
                    .create_only()
                    .values(&["Task", "Email", "ListEmail", "Call", "LinkedIn"]),
                FieldDef::new("CallType", T::Picklist)
                    .len(40)
                    .restricted()
                    .values(&["Inbound", "Internal", "Outbound"]),
                FieldDef::new("CallDurationInSeconds", T::Int),
                FieldDef::new("CallDisposition", T::String).len(255),
                FieldDef::new("IsClosed", T::Boolean).read_only(),
                FieldDef::new("AccountId", T::Reference)
                    .refs(&["Account"])
                    .read_only(),
                owner(&["Group", "User"]),
            ],
        ));
        s.insert(obj(
            "User",
            "005",
            vec![
                FieldDef::new("Username", T::String).len(80).required(),
                FieldDef::new("FirstName", T::String).len(40),
                FieldDef::new("LastName", T::String).len(80).required(),
                FieldDef::new("Name", T::String).len(121).read_only(),
                FieldDef::new("Alias", T::String).len(8).required(),
                FieldDef::new("Email", T::Email).len(128).required(),
                FieldDef::new("Phone", T::Phone).len(40),
                FieldDef::new("Title", T::String).len(80),
                FieldDef::new("IsActive", T::Boolean).defaulted(Some(json!(true))),
            ],
        ));
        s.insert(obj(
            "Group",
            "00G",
            vec![
                FieldDef::new("Name", T::String).len(40).required(),
                FieldDef::new("DeveloperName", T::String).len(80),
                FieldDef::new("Type", T::Picklist)
                    .len(40)
                    .required()
                    .restricted()
                    .values(&["Regular", "Queue", "Personal", "Role", "Organization"]),
                FieldDef::new("Email", T::Email).len(255),
            ],
        ));
        s.insert(obj(
            "QueueSobject",
            "03g",
            vec![
                FieldDef::new("QueueId", T::Reference)
                    .label("Group ID")
                    .refs(&["Group"])
                    .required()
                    .create_only(),
                FieldDef::new("SobjectType", T::Picklist)
                    .len(40)
                    .required()
                    .restricted()
                    .create_only()
                    .values(&["Case", "Lead", "Task", "Contact", "Account", "Opportunity"]),
            ],
        ));
        s.insert(obj(
            "RecordType",
            "012",
            vec![
                FieldDef::new("Name", T::String).len(80).required(),
                FieldDef::new("DeveloperName", T::String).len(80).required(),
                FieldDef::new("SobjectType", T::Picklist)
                    .len(40)
                    .required()
                    .restricted()
                    .values(&["Account", "Case", "Contact", "Lead", "Opportunity", "Task"]),
                FieldDef::new("IsActive", T::Boolean).defaulted(Some(json!(true))),
                FieldDef::new("Description", T::String).len(255),
            ],
        ));
        s.insert(obj(
            "Opportunity",
            "006",
            vec![
                FieldDef::new("Name", T::String).len(120).required(),
                FieldDef::new("StageName", T::Picklist)
                    .len(255)
                    .required()
                    .values(&[
                        "Prospecting",
                        "Qualification",
                        "Needs Analysis",
                        "Proposal/Price Quote",
                        "Closed Won",
                        "Closed Lost",
                    ]),
                FieldDef::new("CloseDate", T::Date).required(),
                FieldDef::new("Amount", T::Currency),
                FieldDef::new("AccountId", T::Reference)
                    .label("Account ID")
                    .refs(&["Account"]),
                FieldDef::new("Description", T::Textarea),
                owner(&["User"]),
            ],
        ));
        s.insert(obj(
            "OpportunityContactRole",
            "00K",
            vec![
                FieldDef::new("OpportunityId", T::Reference)
                    .label("Opportunity ID")
                    .refs(&["Opportunity"])
                    .required(),
                FieldDef::new("ContactId", T::Reference)
                    .label("Contact ID")
                    .refs(&["Contact"])
                    .required(),
                FieldDef::new("Role", T::Picklist).len(40).values(&[
                    "Business User",
                    "Decision Maker",
                    "Economic Buyer",
                    "Influencer",
                    "Other",
                ]),
                FieldDef::new("IsPrimary", T::Boolean),
            ],
        ));
        s
    }
}

/// Fields every object has; all maintained by the platform.
fn system_fields() -> Vec<FieldDef> {
    use FieldType as T;
    let mut id = FieldDef::new("Id", T::Id).label("Record ID").read_only();
    id.nillable = false;
    id.defaulted_on_create = true;
    vec![
        id,
        FieldDef::new("IsDeleted", T::Boolean).read_only(),
        FieldDef::new("CreatedDate", T::DateTime)
            .read_only()
            .defaulted(None),
        FieldDef::new("CreatedById", T::Reference)
            .refs(&["User"])
            .read_only()
            .defaulted(None),
        FieldDef::new("LastModifiedDate", T::DateTime)
            .read_only()
            .defaulted(None),
        FieldDef::new("LastModifiedById", T::Reference)
            .refs(&["User"])
            .read_only()
            .defaulted(None),
        FieldDef::new("SystemModstamp", T::DateTime)
            .read_only()
            .defaulted(None),
    ]
    .into_iter()
    .map(|mut f| {
        // System fields are never null once a record exists.
        f.nillable = false;
        f
    })
    .collect()
}
