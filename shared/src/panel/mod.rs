//! What the inbox panel shows of a chat contact's Salesforce person, platform-neutral: the one
//! composite request that reads it (the person with their Account and open Cases, then the
//! Account's open Opportunities) and the view parsed from its answer. Rendering is per
//! platform (`platforms::intercom::canvas`); fetching and caching are the inbox-app's.

use crate::event::resolution::{Person, PersonKind};
use crate::salesforce::SalesforceError;
use crate::salesforce::composite::{CompositeRequest, CompositeResponse, SubRequest};
use crate::salesforce::soql::{check_identifier, soql_string};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

pub mod html;
pub mod link;

/// Open Cases and Opportunities shown at most (the newest Cases, the soonest Opportunities).
pub const MAX_LISTED: u32 = 10;

/// Fields every view reads, beyond the tenant's `[config.panel] fields`.
const CONTACT_FIELDS: [&str; 6] = [
    "Id",
    "Name",
    "Email",
    "AccountId",
    "Owner.Name",
    "LastModifiedDate",
];
const LEAD_FIELDS: [&str; 6] = [
    "Id",
    "Name",
    "Email",
    "Company",
    "Owner.Name",
    "LastModifiedDate",
];
const ACCOUNT_FIELDS: [&str; 4] = [
    "Account.Name",
    "Account.Website",
    "Account.BillingCountry",
    "Account.Owner.Name",
];

/// The composite's reference ids.
const PERSON: &str = "person";
const OPPORTUNITIES: &str = "opportunities";

/// The one composite request (one API call) that reads what the panel shows of `person`:
/// the person with `fields` (and, for a Contact, its Account and open Cases), and for a
/// Contact the open Opportunities of its Account, found through the first answer.
pub fn read_request(
    person: &Person,
    fields: &[String],
) -> Result<CompositeRequest, SalesforceError> {
    let id = soql_string(&person.id)?;
    let mut select: Vec<String> = match person.kind {
        PersonKind::Contact => CONTACT_FIELDS
            .iter()
            .chain(ACCOUNT_FIELDS.iter())
            .map(|f| (*f).to_owned())
            .collect(),
        PersonKind::Lead => LEAD_FIELDS.iter().map(|f| (*f).to_owned()).collect(),
    };
    for f in fields {
        check_identifier(f)?;
        if !select.contains(f) {
            select.push(f.clone());
        }
    }
    let mut request = CompositeRequest::new(false);
    match person.kind {
        PersonKind::Contact => {
            let soql = format!(
                "SELECT {}, (SELECT Id, CaseNumber, Subject, Status, Priority FROM Cases \
                 WHERE IsClosed = false ORDER BY CreatedDate DESC LIMIT {MAX_LISTED}) \
                 FROM Contact WHERE Id = {id}",
                select.join(", ")
            );
            request.push(SubRequest::query(PERSON, &soql))?;
            // A Contact without an Account makes this reference unresolvable: that
            // subrequest fails and the view has no Opportunities (see `parse`).
            request.push(SubRequest::query_referring(
                OPPORTUNITIES,
                "SELECT Id, Name, StageName, CloseDate, Amount, Owner.Name FROM Opportunity \
                 WHERE AccountId = '",
                &format!("{PERSON}.records[0].AccountId"),
                &format!("' AND IsClosed = false ORDER BY CloseDate ASC LIMIT {MAX_LISTED}"),
            ))?;
        }
        PersonKind::Lead => {
            let soql = format!("SELECT {} FROM Lead WHERE Id = {id}", select.join(", "));
            request.push(SubRequest::query(PERSON, &soql))?;
        }
    }
    Ok(request)
}

/// What the panel shows; kept (sealed) in the cache as it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PanelView {
    pub kind: PersonKind,
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub owner: Option<String>,
    /// A Lead's company.
    pub company: Option<String>,
    /// The tenant's chosen fields, in its order: (API name, value as text).
    pub fields: Vec<(String, Option<String>)>,
    pub account: Option<AccountView>,
    pub opportunities: Vec<OpportunityView>,
    pub cases: Vec<CaseView>,
    /// The person's `LastModifiedDate`, for an edit's conflict check.
    pub last_modified: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountView {
    pub id: String,
    pub name: String,
    pub website: Option<String>,
    pub country: Option<String>,
    pub owner: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpportunityView {
    pub id: String,
    pub name: String,
    pub stage: Option<String>,
    pub close_date: Option<String>,
    pub amount: Option<String>,
    pub owner: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseView {
    pub id: String,
    pub number: Option<String>,
    pub subject: Option<String>,
    pub status: Option<String>,
    pub priority: Option<String>,
}

/// Why a view could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ViewError {
    /// The record is gone (deleted, merged) or not visible to the integration user.
    #[error("the {0} chatsync linked is no longer in Salesforce")]
    Gone(&'static str),
    #[error(transparent)]
    Salesforce(#[from] SalesforceError),
}

/// The view from the composite's answer. The person's query must succeed; the
/// Opportunities' may fail only because the Contact has no Account.
pub fn parse(
    person: &Person,
    fields: &[String],
    answer: &CompositeResponse,
) -> Result<PanelView, ViewError> {
    let sub = answer
        .get(PERSON)
        .ok_or_else(|| SalesforceError::InvalidRequest("the answer lacks the person".into()))?;
    if let Some(e) = sub.error() {
        return Err(e.into());
    }
    let record = sub
        .body
        .get("records")
        .and_then(|r| r.get(0))
        .ok_or(ViewError::Gone(person.kind.sobject()))?;
    let account = record
        .get("Account")
        .filter(|a| a.is_object())
        .map(|a| AccountView {
            id: text(record, "AccountId").unwrap_or_default(),
            name: text(a, "Name").unwrap_or_default(),
            website: text(a, "Website"),
            country: text(a, "BillingCountry"),
            owner: a.get("Owner").and_then(|o| text(o, "Name")),
        });
    let opportunities = match (answer.get(OPPORTUNITIES), &account) {
        (Some(sub), Some(_)) => {
            if let Some(e) = sub.error() {
                return Err(e.into());
            }
            records(&sub.body)
                .map(|o| OpportunityView {
                    id: text(o, "Id").unwrap_or_default(),
                    name: text(o, "Name").unwrap_or_default(),
                    stage: text(o, "StageName"),
                    close_date: text(o, "CloseDate"),
                    amount: text(o, "Amount"),
                    owner: o.get("Owner").and_then(|w| text(w, "Name")),
                })
                .collect()
        }
        _ => Vec::new(),
    };
    let cases = record
        .get("Cases")
        .map(|c| {
            records(c)
                .map(|c| CaseView {
                    id: text(c, "Id").unwrap_or_default(),
                    number: text(c, "CaseNumber"),
                    subject: text(c, "Subject"),
                    status: text(c, "Status"),
                    priority: text(c, "Priority"),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(PanelView {
        kind: person.kind,
        id: person.id.clone(),
        name: text(record, "Name").unwrap_or_default(),
        email: text(record, "Email"),
        owner: record.get("Owner").and_then(|o| text(o, "Name")),
        company: text(record, "Company"),
        fields: fields
            .iter()
            .map(|f| (f.clone(), text(record, f)))
            .collect(),
        account,
        opportunities,
        cases,
        last_modified: text(record, "LastModifiedDate"),
    })
}

fn records(page: &Value) -> impl Iterator<Item = &Value> {
    page.get("records")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// A field as text: strings as they are, numbers and booleans printed, null and objects none.
fn text(record: &Value, field: &str) -> Option<String> {
    match record.get(field)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Fields the panel never edits, whatever the tenant lists: the keys chatsync (and the chat
/// platform) find the person by. respond.io's own panel keeps these two read-only as well.
pub const NEVER_EDITABLE: [&str; 3] = ["Email", "Phone", "MobilePhone"];

/// The fields an agent may edit: the tenant's shown fields, when it enables edits, but the
/// identity keys.
pub fn editable_fields(shown: &[String], editable: bool) -> Vec<String> {
    shown
        .iter()
        .filter(|f| editable && !NEVER_EDITABLE.contains(&f.as_str()))
        .cloned()
        .collect()
}

/// What an edit changes: each editable field whose input differs from the value the form
/// showed (`before`); an emptied input clears the field. Inputs for other fields are ignored.
pub fn changes(
    before: &BTreeMap<String, Option<String>>,
    inputs: &BTreeMap<String, Value>,
    editable: &[String],
) -> BTreeMap<String, Option<String>> {
    editable
        .iter()
        .filter_map(|field| {
            let input = inputs.get(&input_id(field))?.as_str()?.trim();
            let new = (!input.is_empty()).then(|| input.to_owned());
            let old = before.get(field).cloned().flatten();
            (new != old).then(|| (field.clone(), new))
        })
        .collect()
}

/// The id of a field's input on an edit form.
pub fn input_id(field: &str) -> String {
    format!("field:{field}")
}

/// One composite call: the PATCH, conditional on the record being unchanged since the view
/// read it (`last_modified`), then the record's new `LastModifiedDate`.
pub fn edit_request(
    person: &Person,
    changes: &BTreeMap<String, Option<String>>,
    last_modified: Option<&str>,
) -> Result<CompositeRequest, SalesforceError> {
    let sobject = person.kind.sobject();
    let mut fields = serde_json::Map::new();
    for (field, value) in changes {
        check_identifier(field)?;
        fields.insert(
            field.clone(),
            value.clone().map_or(Value::Null, Value::String),
        );
    }
    let mut update = SubRequest::update(EDIT, sobject, &person.id, Value::Object(fields));
    if let Some(seen) = last_modified.and_then(crate::salesforce::datetime::parse) {
        update = update.if_unmodified_since(seen);
    }
    let mut request = CompositeRequest::new(true);
    request.push(update)?;
    request.push(SubRequest::get(
        MODIFIED,
        sobject,
        &person.id,
        &["LastModifiedDate"],
    ))?;
    Ok(request)
}

const EDIT: &str = "edit";
const MODIFIED: &str = "modified";

/// The edit's outcome from the composite's answer: the record's new `LastModifiedDate`, or
/// the edit's failure (412 when the record changed since the view).
pub fn edited(answer: &CompositeResponse) -> Result<Option<String>, SalesforceError> {
    if let Some(e) = answer.get(EDIT).and_then(|s| s.error()) {
        return Err(e);
    }
    if let Some((_, e)) = answer.first_failure() {
        return Err(e);
    }
    Ok(answer
        .get(MODIFIED)
        .and_then(|s| text(&s.body, "LastModifiedDate")))
}

impl PanelView {
    /// The view after an edit Salesforce took.
    pub fn apply(&mut self, changes: &BTreeMap<String, Option<String>>, modified: Option<String>) {
        for (field, value) in &mut self.fields {
            if let Some(new) = changes.get(field) {
                *value = new.clone();
            }
        }
        if modified.is_some() {
            self.last_modified = modified;
        }
    }

    /// The shown fields' values, by name.
    pub fn values(&self) -> BTreeMap<String, Option<String>> {
        self.fields.iter().cloned().collect()
    }
}

/// The record's page in Lightning Experience.
pub fn record_url(instance_url: &str, sobject: &str, id: &str) -> String {
    format!(
        "{}/lightning/r/{sobject}/{id}/view",
        instance_url.trim_end_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn contact() -> Person {
        Person {
            kind: PersonKind::Contact,
            id: "0035g0000004C95AAE".into(),
            account_id: None,
        }
    }

    fn answer(person: Value, opportunities: Option<(u16, Value)>) -> CompositeResponse {
        let mut subs = vec![
            json!({"body": person, "httpHeaders": {}, "httpStatusCode": 200,
            "referenceId": "person"}),
        ];
        if let Some((status, body)) = opportunities {
            subs.push(
                json!({"body": body, "httpHeaders": {}, "httpStatusCode": status,
                "referenceId": "opportunities"}),
            );
        }
        serde_json::from_value(json!({ "compositeResponse": subs })).expect("answer")
    }

    #[test]
    fn a_contacts_view_is_one_composite_of_the_person_and_the_accounts_opportunities() {
        let request = read_request(&contact(), &["Title".into(), "Email".into()]).expect("request");
        let body = request.body(None);
        let subs = body["compositeRequest"].as_array().expect("subrequests");
        assert_eq!(subs.len(), 2);
        let first = subs[0]["url"].as_str().expect("url");
        assert!(
            first.contains("Title") && first.contains("Cases"),
            "{first}"
        );
        // The reference stays literal for Salesforce to resolve.
        let second = subs[1]["url"].as_str().expect("url");
        assert!(
            second.contains("@{person.records[0].AccountId}"),
            "{second}"
        );
        assert!(read_request(&contact(), &["Bad Field".into()]).is_err());
    }

    #[test]
    fn the_view_reads_the_account_opportunities_and_cases() {
        let person = json!({"totalSize": 1, "done": true, "records": [{
            "attributes": {"type": "Contact"}, "Id": "0035g0000004C95AAE", "Name": "Ada Lovelace",
            "Email": "ada@example.org", "Title": null, "AccountId": "0015g0000004C94AAE",
            "Owner": {"Name": "Grace Hopper"},
            "Account": {"Name": "Acme", "Website": "acme.example", "BillingCountry": "France",
                "Owner": {"Name": "Grace Hopper"}},
            "Cases": {"totalSize": 1, "done": true, "records": [{"Id": "500x", "CaseNumber": "00001001",
                "Subject": "Broken", "Status": "New", "Priority": "High"}]}}]});
        let opps = json!({"totalSize": 1, "done": true, "records": [{"Id": "006x", "Name": "Big",
            "StageName": "Prospecting", "CloseDate": "2027-01-01", "Amount": 1000,
            "Owner": {"Name": "Grace Hopper"}}]});
        let view = parse(
            &contact(),
            &["Title".into()],
            &answer(person, Some((200, opps))),
        )
        .expect("view");
        assert_eq!(view.name, "Ada Lovelace");
        assert_eq!(view.fields, vec![("Title".to_owned(), None)]);
        let account = view.account.expect("account");
        assert_eq!(
            (account.name.as_str(), account.country.as_deref()),
            ("Acme", Some("France"))
        );
        assert_eq!(view.opportunities[0].amount.as_deref(), Some("1000"));
        assert_eq!(view.cases[0].number.as_deref(), Some("00001001"));
    }

    #[test]
    fn edits_change_only_editable_fields_that_differ_and_email_and_phone_never() {
        let shown: Vec<String> = ["Title", "Email", "Phone", "Department"]
            .map(String::from)
            .to_vec();
        assert!(editable_fields(&shown, false).is_empty());
        let editable = editable_fields(&shown, true);
        assert_eq!(editable, ["Title", "Department"]);
        let before = BTreeMap::from([
            ("Title".to_owned(), Some("Countess".to_owned())),
            ("Department".to_owned(), Some("Maths".to_owned())),
        ]);
        let inputs = BTreeMap::from([
            (input_id("Title"), json!("Engineer")),
            (input_id("Department"), json!("Maths")),
            (input_id("Email"), json!("someone@else.example")),
        ]);
        let changed = changes(&before, &inputs, &editable);
        assert_eq!(
            changed,
            BTreeMap::from([("Title".to_owned(), Some("Engineer".to_owned()))])
        );
        let cleared = changes(
            &before,
            &BTreeMap::from([(input_id("Title"), json!(" "))]),
            &editable,
        );
        assert_eq!(cleared, BTreeMap::from([("Title".to_owned(), None)]));
    }

    #[test]
    fn an_edit_is_conditional_on_the_viewed_modification_date() {
        let changed = BTreeMap::from([("Title".to_owned(), Some("Engineer".to_owned()))]);
        let request = edit_request(&contact(), &changed, Some("2026-12-05T08:00:00.000+0000"))
            .expect("request");
        let body = request.body(None);
        let edit = &body["compositeRequest"][0];
        assert_eq!(edit["method"], "PATCH");
        assert_eq!(edit["body"]["Title"], "Engineer");
        assert_eq!(
            edit["httpHeaders"]["If-Unmodified-Since"],
            "Sat, 05 Dec 2026 08:00:00 GMT"
        );
        let refused: CompositeResponse = serde_json::from_value(json!({"compositeResponse": [
            {"body": [{"errorCode": "PRECONDITION_FAILED", "message": "changed"}], "httpHeaders": {},
             "httpStatusCode": 412, "referenceId": "edit"},
            {"body": [{"errorCode": "PROCESSING_HALTED", "message": "rolled back"}], "httpHeaders": {},
             "httpStatusCode": 400, "referenceId": "modified"}]}))
        .expect("answer");
        assert!(edited(&refused).is_err_and(|e| e.is_precondition_failed()));
    }

    #[test]
    fn the_case_form_asks_for_a_subject_and_what_the_org_requires_and_checks_the_inputs() {
        let describe: crate::salesforce::SObjectDescribe = serde_json::from_value(json!({
            "name": "Case", "createable": true, "updateable": true, "fields": [
                {"name": "Subject", "type": "string", "nillable": true, "createable": true},
                {"name": "ContactId", "type": "reference", "nillable": false, "createable": true},
                {"name": "Product__c", "type": "picklist", "nillable": false, "createable": true,
                 "picklistValues": [{"value": "Engine", "active": true},
                                    {"value": "Retired", "active": false}]},
                {"name": "Priority", "type": "picklist", "nillable": true, "createable": true,
                 "defaultedOnCreate": true,
                 "picklistValues": [{"value": "High", "active": true}, {"value": "Low", "active": true}]},
                {"name": "Description", "type": "textarea", "nillable": true, "createable": true}]}))
        .expect("describe");
        let form = case_form(&describe);
        let names: Vec<(&str, bool)> = form.iter().map(|f| (f.name.as_str(), f.required)).collect();
        assert_eq!(
            names,
            [
                ("Subject", true),
                ("Product__c", true),
                ("Priority", false),
                ("Description", false)
            ]
        );
        assert_eq!(
            form[1].options,
            ["Engine"],
            "inactive values are not offered"
        );
        assert!(form[3].long);
        let inputs = BTreeMap::from([
            (input_id("Subject"), json!("Broken")),
            (input_id("Product__c"), json!("Retired")),
        ]);
        assert_eq!(
            form_fields(&form, &inputs),
            Err(vec!["Product__c".to_owned()])
        );
        let inputs = BTreeMap::from([
            (input_id("Subject"), json!("Broken")),
            (input_id("Product__c"), json!("Engine")),
            (input_id("ContactId"), json!("003forged")),
        ]);
        let fields = form_fields(&form, &inputs).expect("whole");
        assert_eq!(fields.len(), 2, "only the form's fields: {fields:?}");
    }

    #[test]
    fn a_contact_without_an_account_has_no_opportunities_and_a_missing_record_is_gone() {
        let person = json!({"totalSize": 1, "done": true, "records": [{"Id": "003x", "Name": "Ada",
            "AccountId": null, "Account": null}]});
        let halted =
            json!([{"errorCode": "PROCESSING_HALTED", "message": "Invalid reference specified."}]);
        let view = parse(&contact(), &[], &answer(person, Some((400, halted)))).expect("view");
        assert!(view.account.is_none() && view.opportunities.is_empty());
        let none = json!({"totalSize": 0, "done": true, "records": []});
        assert_eq!(
            parse(&contact(), &[], &answer(none, None)),
            Err(ViewError::Gone("Contact"))
        );
    }
}

/// One input of an action's form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormField {
    pub name: String,
    pub required: bool,
    /// A picklist's active values; empty for text.
    pub options: Vec<String>,
    /// Long text (a textarea).
    pub long: bool,
}

/// Case fields chatsync fills itself: who it is about, who owns it, and what Salesforce sets.
const CASE_SET_BY_CHATSYNC: [&str; 5] = [
    "ContactId",
    "AccountId",
    "OwnerId",
    "RecordTypeId",
    "CaseNumber",
];

/// A form from an object's describe: `known` fields first, in order (required when chatsync
/// requires them or the org does), then every other field the org requires on create but
/// `skip` (the ones chatsync fills itself), then `optional` ones.
pub fn record_form(
    describe: &crate::salesforce::SObjectDescribe,
    known: &[(&str, bool)],
    skip: &[&str],
    optional: &[&str],
) -> Vec<FormField> {
    let field = |name: &str, required: bool| -> Option<FormField> {
        let d = describe.field(name)?;
        Some(FormField {
            name: d.name.clone(),
            required: required || d.is_required_on_create(),
            options: d
                .picklist_values
                .iter()
                .filter(|p| p.active)
                .map(|p| p.value.clone())
                .collect(),
            long: d.field_type == "textarea",
        })
    };
    let mut form: Vec<FormField> = Vec::new();
    let add = |form: &mut Vec<FormField>, name: &str, required: bool| {
        if !form.iter().any(|f| f.name == name) {
            form.extend(field(name, required));
        }
    };
    for (name, required) in known {
        add(&mut form, name, *required);
    }
    for d in describe.required_on_create() {
        if !skip.contains(&d.name.as_str()) {
            add(&mut form, &d.name, true);
        }
    }
    for name in optional {
        add(&mut form, name, false);
    }
    form
}

/// The New Case form from the org's Case describe: Subject (chatsync asks for one), every field
/// the org requires on create (its active picklist values offered), Priority, Description.
pub fn case_form(describe: &crate::salesforce::SObjectDescribe) -> Vec<FormField> {
    record_form(
        describe,
        &[("Subject", true)],
        &CASE_SET_BY_CHATSYNC,
        &["Priority", "Description"],
    )
}

/// Fields chatsync fills itself on a Lead or Contact made from the panel.
const PERSON_SET_BY_CHATSYNC: [&str; 3] = ["OwnerId", "AccountId", "RecordTypeId"];

/// The Create Lead / Create Contact form: names, e-mail, phone (a Lead's company), and every
/// other field the org requires on create.
pub fn person_form(describe: &crate::salesforce::SObjectDescribe) -> Vec<FormField> {
    record_form(
        describe,
        &[
            ("FirstName", false),
            ("LastName", true),
            ("Email", false),
            ("Phone", false),
            ("Company", false),
        ],
        &PERSON_SET_BY_CHATSYNC,
        &["Title"],
    )
}

/// The record's fields from the form's inputs, or the names of the required fields left empty
/// (and of picklist inputs with a value the form did not offer).
pub fn form_fields(
    form: &[FormField],
    inputs: &BTreeMap<String, Value>,
) -> Result<serde_json::Map<String, Value>, Vec<String>> {
    let mut fields = serde_json::Map::new();
    let mut missing = Vec::new();
    for f in form {
        let value = inputs
            .get(&input_id(&f.name))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty());
        match value {
            Some(v) if f.options.is_empty() || f.options.iter().any(|o| o == v) => {
                fields.insert(f.name.clone(), Value::String(v.to_owned()));
            }
            Some(_) => missing.push(f.name.clone()),
            None if f.required => missing.push(f.name.clone()),
            None => {}
        }
    }
    if missing.is_empty() {
        Ok(fields)
    } else {
        Err(missing)
    }
}

/// One composite call for a form: the object's describe and the agent's Salesforce User (by
/// the chat admin's e-mail), who will own the record.
pub fn form_request(
    sobject: &str,
    admin_email: Option<&str>,
) -> Result<CompositeRequest, SalesforceError> {
    let mut request = CompositeRequest::new(false);
    request.push(SubRequest::describe(DESCRIBE, sobject))?;
    if let Some(email) = admin_email.filter(|e| !e.trim().is_empty()) {
        let soql = format!(
            "SELECT Id, Name FROM User WHERE Email = {} AND IsActive = true LIMIT 1",
            soql_string(email.trim())?
        );
        request.push(SubRequest::query(OWNER, &soql))?;
    }
    Ok(request)
}

const DESCRIBE: &str = "describe";
const OWNER: &str = "owner";
const CASE: &str = "case";
const NUMBER: &str = "number";

/// A Salesforce User: id and name.
pub type UserRef = (String, String);

/// An action's form and who will own the record.
pub type RecordForm = (Vec<FormField>, Option<UserRef>);

/// The describe and the owner (User id and name) from [`form_request`]'s answer.
pub fn form_answer(
    answer: &CompositeResponse,
) -> Result<(crate::salesforce::SObjectDescribe, Option<UserRef>), SalesforceError> {
    let sub = answer
        .get(DESCRIBE)
        .ok_or_else(|| SalesforceError::InvalidRequest("the answer lacks the describe".into()))?;
    if let Some(e) = sub.error() {
        return Err(e);
    }
    let describe: crate::salesforce::SObjectDescribe = serde_json::from_value(sub.body.clone())
        .map_err(|e| SalesforceError::InvalidRequest(format!("describe: {e}")))?;
    let owner = answer
        .get(OWNER)
        .filter(|s| s.error().is_none())
        .and_then(|s| records(&s.body).next().cloned())
        .and_then(|u| Some((text(&u, "Id")?, text(&u, "Name").unwrap_or_default())));
    Ok((describe, owner))
}

/// One composite call: the Case (about the viewed Contact and its Account, owned by `owner`
/// when known), then its number.
pub fn new_case_request(
    view: &PanelView,
    mut fields: serde_json::Map<String, Value>,
    owner: Option<&str>,
) -> Result<CompositeRequest, SalesforceError> {
    if view.kind == PersonKind::Contact {
        fields.insert("ContactId".into(), Value::String(view.id.clone()));
    }
    if let Some(account) = &view.account {
        fields.insert("AccountId".into(), Value::String(account.id.clone()));
    }
    if let Some(owner) = owner {
        fields.insert("OwnerId".into(), Value::String(owner.to_owned()));
    }
    let mut request = CompositeRequest::new(true);
    request.push(SubRequest::create(CASE, "Case", Value::Object(fields)))?;
    request.push(SubRequest::get(
        NUMBER,
        "Case",
        &format!("@{{{CASE}.id}}"),
        &["CaseNumber"],
    ))?;
    Ok(request)
}

/// The new Case's id and number.
pub fn new_case_answer(
    answer: &CompositeResponse,
) -> Result<(String, Option<String>), SalesforceError> {
    if let Some((_, e)) = answer.first_failure() {
        return Err(e);
    }
    let id = answer
        .get(CASE)
        .and_then(|s| s.id())
        .ok_or_else(|| SalesforceError::InvalidRequest("the Case create answered no id".into()))?
        .to_owned();
    Ok((
        id,
        answer.get(NUMBER).and_then(|s| text(&s.body, "CaseNumber")),
    ))
}

/// The Task key of a conversation logged from the panel: apart from the case writer's
/// transcript Tasks (`{tenant}:{platform}:{conversation}#n`), and the same for every log of
/// the conversation, so logging again updates the one Task.
pub fn logged_task_key(tenant: &str, platform: &str, conversation: &str) -> String {
    format!("{tenant}:{platform}:{conversation}#panel")
}

/// One call: the conversation's transcript as a completed Task on the person (upserted by its
/// key), owned by `owner` when known.
pub fn log_task_request(
    person: &Person,
    key: &str,
    subject: &str,
    transcript: &str,
    owner: Option<&str>,
    today: time::Date,
) -> Result<CompositeRequest, SalesforceError> {
    let mut fields = serde_json::json!({
        "WhoId": person.id,
        "Subject": subject,
        "Description": transcript,
        "Status": "Completed",
        "ActivityDate": today.to_string(),
    });
    if let Some(owner) = owner {
        fields["OwnerId"] = Value::String(owner.to_owned());
    }
    let mut request = CompositeRequest::new(true);
    request.push(SubRequest::upsert(
        "task",
        "Task",
        crate::mapping::plan::TASK_KEY_FIELD,
        key,
        fields,
    ))?;
    Ok(request)
}
