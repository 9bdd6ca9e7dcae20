//! The tenant's writing policy checked against its org when the config is saved: every mapped
//! picklist value exists, queues and the record type resolve, mapped fields exist and can be
//! written. A wrong map is refused then, with the reason, rather than failing writes later.
//!
//! API calls: describe Case and Task (and Contact, Lead, Account when mapped fields or identity
//! fields name them), and one composite with the queue and record type queries.

use super::policy::{PEOPLE_OBJECTS, normalise_key};
use crate::salesforce::{
    CompositeRequest, FieldDescribe, Org, SObjectDescribe, SalesforceError, Soql, SubRequest,
};
use crate::tenant::TenantConfig;
use serde_json::Value;
use std::collections::BTreeMap;

/// The describes a check reads, by object name.
#[derive(Debug, Default)]
pub struct Describes(BTreeMap<String, SObjectDescribe>);

impl Describes {
    pub fn insert(&mut self, describe: SObjectDescribe) {
        self.0.insert(describe.name.clone(), describe);
    }

    fn get(&self, object: &str) -> Option<&SObjectDescribe> {
        self.0.get(object)
    }
}

/// The objects whose describe the config needs: Case and Task always; Contact, Lead and
/// Account when mapped fields or identity fields name them.
pub fn objects_to_describe(config: &TenantConfig) -> Vec<&'static str> {
    let mut objects = vec!["Case", "Task"];
    let id = &config.identity;
    for object in PEOPLE_OBJECTS {
        let mapped = config
            .fields
            .iter()
            .any(|m| m.to.split_once('.').is_some_and(|(o, _)| o == object));
        let identity = match object {
            "Account" => id.account_id_field.is_some(),
            _ => id.external_id_field.is_some() || id.visitor_id_field.is_some(),
        };
        if mapped || identity {
            objects.push(object);
        }
    }
    objects
}

/// Every problem found, in plain words (empty: the config fits the org).
pub async fn check(org: &Org, config: &TenantConfig) -> Result<Vec<String>, SalesforceError> {
    let mut describes = Describes::default();
    for object in objects_to_describe(config) {
        describes.insert(org.describe(object).await?);
    }
    let mut problems = check_fields(config, &describes);
    let channel_queues = config.channels.values().filter_map(|c| c.queue.as_ref());
    let mut queues: Vec<&str> = config
        .owners
        .queues
        .values()
        .chain(config.owners.tag_queues.values())
        .chain(config.owners.default_queue.iter())
        .chain(channel_queues)
        .map(String::as_str)
        .filter(|q| !q.starts_with("00G"))
        .collect();
    queues.sort_unstable();
    queues.dedup();
    let mut record_types: Vec<&str> = config
        .case
        .record_type
        .iter()
        .chain(
            config
                .channels
                .values()
                .filter_map(|c| c.case.record_type.as_ref()),
        )
        .map(String::as_str)
        .filter(|r| !r.starts_with("012"))
        .collect();
    record_types.sort_unstable();
    record_types.dedup();
    let mut request = CompositeRequest::new(false);
    if !queues.is_empty() {
        let q = Soql::select(&["Id", "DeveloperName"])
            .from("Group")
            .where_eq("Type", "Queue")
            .where_in("DeveloperName", queues.iter().copied())
            .build()?;
        request.push(SubRequest::query("queues", &q))?;
    }
    if !record_types.is_empty() {
        let q = Soql::select(&["Id", "DeveloperName", "IsActive"])
            .from("RecordType")
            .where_eq("SobjectType", "Case")
            .where_in("DeveloperName", record_types.iter().copied())
            .build()?;
        request.push(SubRequest::query("recordTypes", &q))?;
    }
    if request.is_empty() {
        return Ok(problems);
    }
    let response = org.composite(&request).await?;
    if let Some((_, e)) = response.first_failure() {
        return Err(e);
    }
    let records = |reference: &str| -> Vec<Value> {
        response
            .get(reference)
            .and_then(|r| r.body.get("records"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let found = records("queues");
    let is_queue = |queue: &str| {
        queue.starts_with("00G")
            || found
                .iter()
                .any(|r| r.get("DeveloperName").and_then(Value::as_str) == Some(queue))
    };
    let maps = [
        ("owners.queues", "team", &config.owners.queues),
        ("owners.tag_queues", "tag", &config.owners.tag_queues),
    ];
    for (key, what, map) in maps {
        for (from, queue) in map {
            if !is_queue(queue) {
                problems.push(format!(
                    "{key}: {what} {from:?} maps to queue {queue:?}, which is not a Queue's DeveloperName in this org"
                ));
            }
        }
    }
    let single_queues =
        config
            .owners
            .default_queue
            .iter()
            .map(|q| ("owners.default_queue".to_owned(), q))
            .chain(config.channels.iter().filter_map(|(name, c)| {
                Some((format!("channels.{name}.queue"), c.queue.as_ref()?))
            }));
    for (key, queue) in single_queues {
        if !is_queue(queue) {
            problems.push(format!(
                "{key}: {queue:?} is not a Queue's DeveloperName in this org"
            ));
        }
    }
    let types = records("recordTypes");
    let record_type_keys = config
        .case
        .record_type
        .iter()
        .map(|r| ("case.record_type".to_owned(), r))
        .chain(config.channels.iter().filter_map(|(name, c)| {
            Some((
                format!("channels.{name}.case.record_type"),
                c.case.record_type.as_ref()?,
            ))
        }));
    for (key, rt) in record_type_keys {
        if rt.starts_with("012") {
            continue;
        }
        let active = types.iter().any(|r| {
            r.get("DeveloperName").and_then(Value::as_str) == Some(rt.as_str())
                && r.get("IsActive").and_then(Value::as_bool) != Some(false)
        });
        if !active {
            problems.push(format!(
                "{key} {rt:?} is not an active Case record type in this org"
            ));
        }
    }
    Ok(problems)
}

/// The checks that need only the describes (pure, tested directly).
pub fn check_fields(config: &TenantConfig, describes: &Describes) -> Vec<String> {
    let mut problems = Vec::new();
    let empty = SObjectDescribe::default();
    let case = describes.get("Case").unwrap_or(&empty);
    let c = &config.case;
    let mut value = |what: String, field: Option<&FieldDescribe>, field_name: &str, v: &str| {
        if let Some(problem) = picklist_problem(field, field_name, v) {
            problems.push(format!("{what}: {problem}"));
        }
    };
    let status = case.field("Status");
    for (chat, v) in &c.status_map {
        value(
            format!("case.status_map[{chat:?}]"),
            status,
            "Case.Status",
            v,
        );
    }
    value(
        "case.closed_status".into(),
        status,
        "Case.Status",
        &c.closed_status,
    );
    value(
        "case.reopened_status".into(),
        status,
        "Case.Status",
        &c.reopened_status,
    );
    let priority = case.field("Priority");
    for (chat, v) in &c.priority_map {
        value(
            format!("case.priority_map[{chat:?}]"),
            priority,
            "Case.Priority",
            v,
        );
    }
    if let Some(origin) = &c.origin {
        value(
            "case.origin".into(),
            case.field("Origin"),
            "Case.Origin",
            origin,
        );
    }
    let category = case.field(&c.category_field);
    let category_name = format!("Case.{}", c.category_field);
    if category.is_none() {
        problems.push(format!(
            "case.category_field: {category_name} does not exist in this org"
        ));
    } else {
        for (tag, v) in &c.category_map {
            if let Some(problem) = picklist_problem(category, &category_name, v) {
                problems.push(format!("case.category_map[{tag:?}]: {problem}"));
            }
        }
    }
    for (i, mapping) in config.fields.iter().enumerate() {
        let Some((object, name)) = mapping.to.split_once('.') else {
            continue;
        };
        let Some(describe) = describes.get(object) else {
            continue;
        };
        let Some(field) = describe.field(name) else {
            problems.push(format!(
                "fields[{i}].to: {} does not exist in this org",
                mapping.to
            ));
            continue;
        };
        if !field.createable || !field.updateable {
            problems.push(format!(
                "fields[{i}].to: {} cannot be written by the integration user",
                mapping.to
            ));
        }
        if is_picklist(field) {
            for (chat, v) in &mapping.values {
                if let Some(problem) = picklist_problem(Some(field), &mapping.to, v) {
                    problems.push(format!("fields[{i}].values[{chat:?}]: {problem}"));
                }
            }
        }
    }
    problems.extend(identity_fields(config, describes));
    problems
}

/// The identity policy's fields: the id fields exist on Contact and Lead, and the Account's
/// company id field exists and is an External ID.
fn identity_fields(config: &TenantConfig, describes: &Describes) -> Vec<String> {
    let mut problems = Vec::new();
    let id = &config.identity;
    for (key, field) in [
        ("identity.external_id_field", &id.external_id_field),
        ("identity.visitor_id_field", &id.visitor_id_field),
    ] {
        let Some(field) = field else { continue };
        for object in ["Contact", "Lead"] {
            if let Some(d) = describes.get(object)
                && d.field(field).is_none()
            {
                problems.push(format!(
                    "{key}: {object}.{field} does not exist in this org"
                ));
            }
        }
    }
    if let (Some(field), Some(account)) = (&id.account_id_field, describes.get("Account")) {
        match account.field(field) {
            None => problems.push(format!(
                "identity.account_id_field: Account.{field} does not exist in this org"
            )),
            Some(f) if !f.external_id => problems.push(format!(
                "identity.account_id_field: Account.{field} is not an External ID field"
            )),
            Some(f) if !f.createable => problems.push(format!(
                "identity.account_id_field: Account.{field} cannot be written by the integration user"
            )),
            Some(_) => {}
        }
    }
    problems
}

fn is_picklist(field: &FieldDescribe) -> bool {
    matches!(field.field_type.as_str(), "picklist" | "multipicklist")
}

/// Why `value` would not fit the picklist (None: it fits). Reports stay consistent only with
/// listed values, so unrestricted picklists are held to their list too.
fn picklist_problem(field: Option<&FieldDescribe>, name: &str, value: &str) -> Option<String> {
    let Some(field) = field else {
        return Some(format!("{name} does not exist in this org"));
    };
    if !is_picklist(field) {
        return None;
    }
    let active: Vec<&str> = field
        .picklist_values
        .iter()
        .filter(|p| p.active)
        .map(|p| p.value.as_str())
        .collect();
    if active.contains(&value) {
        return None;
    }
    match active
        .iter()
        .find(|a| normalise_key(a) == normalise_key(value))
    {
        Some(close) => Some(format!(
            "{value:?} is not a value of {name}; the org spells it {close:?}"
        )),
        None => Some(format!(
            "{value:?} is not an active value of {name} (values: {})",
            active.join(", ")
        )),
    }
}

/// All checks a save runs: the offline ones, then the org's.
pub async fn check_all(org: &Org, config: &TenantConfig) -> Result<Vec<String>, SalesforceError> {
    let mut problems = config.problems();
    problems.extend(check(org, config).await?);
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn describe(fields: Value) -> SObjectDescribe {
        serde_json::from_value(json!({"name": "Case", "fields": fields})).expect("describe")
    }

    fn picklist(name: &str, values: &[&str]) -> Value {
        json!({"name": name, "type": "picklist", "createable": true, "updateable": true,
               "restrictedPicklist": false,
               "picklistValues": values.iter().map(|v| json!({"value": v, "active": true})).collect::<Vec<_>>()})
    }

    fn case_describe() -> SObjectDescribe {
        describe(json!([
            picklist("Status", &["New", "Working", "Escalated", "Closed"]),
            picklist("Priority", &["High", "Medium", "Low"]),
            picklist("Origin", &["Phone", "Email", "Web"]),
            picklist("Type", &["Other", "Structural"]),
        ]))
    }

    #[test]
    fn wrong_picklist_values_and_missing_fields_are_named() {
        let case = case_describe();
        let task: SObjectDescribe =
            serde_json::from_value(json!({"name": "Task", "fields": []})).expect("describe");
        let mut describes = Describes::default();
        describes.insert(case);
        describes.insert(task);
        let mut config =
            crate::tenant::TenantFile::from_toml(include_str!("../../../events/tenants/demo.toml"))
                .expect("demo")
                .config;
        assert_eq!(check_fields(&config, &describes), Vec::<String>::new());
        config
            .case
            .priority_map
            .insert("urgent".into(), "high".into());
        config
            .case
            .status_map
            .insert("snoozed".into(), "Waiting".into());
        config
            .case
            .category_map
            .insert("billing".into(), "Billing".into());
        config.fields.push(super::super::policy::FieldMapping {
            from: "conversation.channel".into(),
            to: "Task.Channel__c".into(),
            values: Default::default(),
            only_mapped: false,
            direction: Default::default(),
        });
        let problems = check_fields(&config, &describes);
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(
            problems
                .iter()
                .any(|p| p.contains("the org spells it \"High\""))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("\"Waiting\" is not an active value of Case.Status"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("Task.Channel__c does not exist"))
        );
    }

    #[test]
    fn people_and_account_mappings_are_checked_against_their_objects() {
        let object = |name: &str, fields: Value| -> SObjectDescribe {
            serde_json::from_value(json!({"name": name, "fields": fields})).expect("describe")
        };
        let mut describes = Describes::default();
        describes.insert(case_describe());
        describes.insert(object("Task", json!([])));
        describes.insert(object(
            "Lead",
            json!([picklist("Status", &["Open - Not Contacted", "Working - Contacted"]),
                   {"name": "Name", "type": "string", "createable": false, "updateable": false}]),
        ));
        describes.insert(object("Contact", json!([])));
        describes.insert(object(
            "Account",
            json!([{"name": "Chat_Company_Id__c", "type": "string", "createable": true,
                    "updateable": true, "externalId": false}]),
        ));
        let mut config =
            crate::tenant::TenantFile::from_toml(include_str!("../../../events/tenants/demo.toml"))
                .expect("demo")
                .config;
        config.fields.clear();
        let mapping =
            |from: &str, to: &str, values: &[(&str, &str)]| super::super::policy::FieldMapping {
                from: from.into(),
                to: to.into(),
                values: values
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                only_mapped: true,
                direction: Default::default(),
            };
        config.fields.push(mapping(
            "visitor.custom_attributes.lifecycle",
            "Lead.Status",
            &[
                ("hot lead", "working - contacted"),
                ("customer", "Closed - Won"),
            ],
        ));
        config.fields.push(mapping(
            "visitor.custom_attributes.job",
            "Contact.Title",
            &[],
        ));
        config
            .fields
            .push(mapping("visitor.name", "Lead.Name", &[]));
        config.identity.account_id_field = Some("Chat_Company_Id__c".into());
        assert_eq!(
            objects_to_describe(&config),
            vec!["Case", "Task", "Contact", "Lead", "Account"]
        );
        let problems = check_fields(&config, &describes);
        let has = |needle: &str| problems.iter().any(|p| p.contains(needle));
        assert!(
            has("the org spells it \"Working - Contacted\""),
            "{problems:#?}"
        );
        assert!(
            has("\"Closed - Won\" is not an active value of Lead.Status"),
            "{problems:#?}"
        );
        assert!(has("Contact.Title does not exist"), "{problems:#?}");
        assert!(has("Lead.Name cannot be written"), "{problems:#?}");
        assert!(
            has("Account.Chat_Company_Id__c is not an External ID"),
            "{problems:#?}"
        );
        assert_eq!(problems.len(), 5, "{problems:#?}");
    }
}
