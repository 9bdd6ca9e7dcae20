//! The parts of `GET /sobjects/{SObject}/describe` chatsync uses to check a write before sending it:
//! which fields exist, which are required, their lengths, picklist values and reference targets.

use serde::Deserialize;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SObjectDescribe {
    pub name: String,
    #[serde(default)]
    pub key_prefix: Option<String>,
    #[serde(default)]
    pub createable: bool,
    #[serde(default)]
    pub updateable: bool,
    #[serde(default)]
    pub fields: Vec<FieldDescribe>,
}

impl SObjectDescribe {
    /// Field by API name, case-insensitively as Salesforce matches them.
    pub fn field(&self, name: &str) -> Option<&FieldDescribe> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// Fields a create must set.
    pub fn required_on_create(&self) -> impl Iterator<Item = &FieldDescribe> {
        self.fields.iter().filter(|f| f.is_required_on_create())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDescribe {
    pub name: String,
    /// `string`, `email`, `picklist`, `reference`, `boolean`, …
    #[serde(rename = "type")]
    pub field_type: String,
    /// Maximum characters for text types; 0 for others.
    #[serde(default)]
    pub length: u32,
    #[serde(default)]
    pub nillable: bool,
    #[serde(default)]
    pub createable: bool,
    #[serde(default)]
    pub updateable: bool,
    #[serde(default)]
    pub defaulted_on_create: bool,
    #[serde(default)]
    pub picklist_values: Vec<PicklistValue>,
    #[serde(default)]
    pub restricted_picklist: bool,
    #[serde(default)]
    pub reference_to: Vec<String>,
    #[serde(default)]
    pub external_id: bool,
}

impl FieldDescribe {
    /// Not nillable, not defaulted, and settable: a create without it fails with
    /// REQUIRED_FIELD_MISSING.
    pub fn is_required_on_create(&self) -> bool {
        self.createable && !self.nillable && !self.defaulted_on_create
    }

    /// Whether a picklist value would be accepted: any value for an unrestricted picklist, an
    /// active listed value otherwise.
    pub fn accepts_picklist_value(&self, value: &str) -> bool {
        !self.restricted_picklist
            || self
                .picklist_values
                .iter()
                .any(|p| p.active && p.value == value)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PicklistValue {
    pub value: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub active: bool,
    #[serde(default)]
    pub default_value: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_fields_chatsync_checks() {
        let body = serde_json::json!({
            "name": "Lead", "keyPrefix": "00Q", "createable": true, "updateable": true,
            "fields": [
                {"name": "LastName", "type": "string", "length": 80, "nillable": false,
                 "createable": true, "updateable": true, "defaultedOnCreate": false,
                 "picklistValues": [], "restrictedPicklist": false, "referenceTo": [],
                 "externalId": false, "label": "Last Name"},
                {"name": "Status", "type": "picklist", "length": 40, "nillable": false,
                 "createable": true, "updateable": true, "defaultedOnCreate": true,
                 "picklistValues": [
                    {"value": "Open", "label": "Open", "active": true, "defaultValue": true},
                    {"value": "Old", "label": "Old", "active": false, "defaultValue": false}],
                 "restrictedPicklist": true, "referenceTo": [], "externalId": false},
                {"name": "OwnerId", "type": "reference", "length": 18, "nillable": false,
                 "createable": true, "updateable": true, "defaultedOnCreate": true,
                 "picklistValues": [], "restrictedPicklist": false,
                 "referenceTo": ["Group", "User"], "externalId": false},
                {"name": "Chat_Id__c", "type": "string", "length": 64, "nillable": true,
                 "createable": true, "updateable": true, "defaultedOnCreate": false,
                 "picklistValues": [], "restrictedPicklist": false, "referenceTo": [],
                 "externalId": true}
            ]
        });
        let d: SObjectDescribe = serde_json::from_value(body).unwrap();
        assert_eq!(d.key_prefix.as_deref(), Some("00Q"));
        let required: Vec<_> = d.required_on_create().map(|f| f.name.as_str()).collect();
        assert_eq!(required, vec!["LastName"]);
        let status = d.field("status").unwrap();
        assert!(status.accepts_picklist_value("Open"));
        assert!(!status.accepts_picklist_value("Old"));
        assert!(!status.accepts_picklist_value("Nope"));
        assert_eq!(
            d.field("OwnerId").unwrap().reference_to,
            vec!["Group", "User"]
        );
        assert!(d.field("Chat_Id__c").unwrap().external_id);
        assert_eq!(d.field("LastName").unwrap().length, 80);
    }
}
