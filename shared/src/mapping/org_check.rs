//! The tenant's writing policy checked against its org when the config is saved: every mapped
//! picklist value exists, queues and the record type resolve, mapped fields exist and can be
//! written. A wrong map is refused then, with the reason, rather than failing writes later.
//!
//! Three API calls: describe Case, describe Task, and one composite with the queue and record
//! type queries.

use super::policy::normalise_key;
use crate::salesforce::{
    CompositeRequest, FieldDescribe, Org, SObjectDescribe, SalesforceError, Soql, SubRequest,
};
use crate::tenant::TenantConfig;
use serde_json::Value;

/// Every problem found, in plain words (empty: the config fits the org).
pub async fn check(org: &Org, config: &TenantConfig) -> Result<Vec<String>, SalesforceError> {
    let case = org.describe("Case").await?;
    let task = org.describe("Task").await?;
    let mut problems = check_fields(config, &case, &task);
    let mut queues: Vec<&str> = config
        .owners
        .queues
        .values()
        .chain(config.owners.tag_queues.values())
        .map(String::as_str)
        .filter(|q| !q.starts_with("00G"))
        .collect();
    queues.sort_unstable();
    queues.dedup();
    let record_type = config
        .case
        .record_type
        .as_deref()
        .filter(|r| !r.starts_with("012"));
    let mut request = CompositeRequest::new(false);
    if !queues.is_empty() {
        let q = Soql::select(&["Id", "DeveloperName"])
            .from("Group")
            .where_eq("Type", "Queue")
            .where_in("DeveloperName", queues.iter().copied())
            .build()?;
        request.push(SubRequest::query("queues", &q))?;
    }
    if let Some(rt) = record_type {
        let q = Soql::select(&["Id", "IsActive"])
            .from("RecordType")
            .where_eq("SobjectType", "Case")
            .where_eq("DeveloperName", rt)
            .build()?;
        request.push(SubRequest::query("recordType", &q))?;
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
    let maps = [
        ("owners.queues", "team", &config.owners.queues),
        ("owners.tag_queues", "tag", &config.owners.tag_queues),
    ];
    for (key, what, map) in maps {
        for (from, queue) in map {
            if queue.starts_with("00G") {
                continue;
            }
            if !found
                .iter()
                .any(|r| r.get("DeveloperName").and_then(Value::as_str) == Some(queue.as_str()))
            {
                problems.push(format!(
                    "{key}: {what} {from:?} maps to queue {queue:?}, which is not a Queue's DeveloperName in this org"
                ));
            }
        }
    }
    if let Some(rt) = record_type {
        let active = records("recordType")
            .iter()
            .any(|r| r.get("IsActive").and_then(Value::as_bool) != Some(false));
        if !active {
            problems.push(format!(
                "case.record_type {rt:?} is not an active Case record type in this org"
            ));
        }
    }
    Ok(problems)
}

/// The checks that need only the describes (pure, tested directly).
pub fn check_fields(
    config: &TenantConfig,
    case: &SObjectDescribe,
    task: &SObjectDescribe,
) -> Vec<String> {
    let mut problems = Vec::new();
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
        let describe = if object == "Task" { task } else { case };
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

    #[test]
    fn wrong_picklist_values_and_missing_fields_are_named() {
        let case = describe(json!([
            picklist("Status", &["New", "Working", "Escalated", "Closed"]),
            picklist("Priority", &["High", "Medium", "Low"]),
            picklist("Origin", &["Phone", "Email", "Web"]),
            picklist("Type", &["Other", "Structural"]),
        ]));
        let task = describe(json!([]));
        let mut config =
            crate::tenant::TenantFile::from_toml(include_str!("../../../events/tenants/demo.toml"))
                .expect("demo")
                .config;
        assert_eq!(check_fields(&config, &case, &task), Vec::<String>::new());
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
        });
        let problems = check_fields(&config, &case, &task);
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
}
