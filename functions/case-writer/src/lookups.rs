//! The ids a write needs before it can be planned: agents' Users, teams' Queues, the Case
//! record type, the Contact's open Case and Opportunity. All of them in one composite call,
//! and remembered per warm function so a known agent or queue costs nothing.

use shared::identity::rules::PersonKind;
use shared::mapping::intents::Absorbed;
use shared::mapping::plan::Lookups;
use shared::mapping::policy::RelateTo;
use shared::mapping::state::{CaseLink, ConversationState};
use shared::salesforce::soql::soql_string;
use shared::salesforce::{CompositeRequest, Org, SalesforceError, Soql, SubRequest};
use shared::store::tenants::TtlCache;
use shared::tenant::TenantConfig;
use std::time::Duration;

/// Users, queues and record types change rarely; ten minutes bounds how long a change waits.
pub(crate) const CACHE_TTL: Duration = Duration::from_secs(600);

/// A Salesforce id with the given key prefix (15 or 18 characters), given instead of a name.
fn is_id_with_prefix(value: &str, prefix: &str) -> bool {
    (value.len() == 15 || value.len() == 18)
        && value.starts_with(prefix)
        && value.chars().all(|c| c.is_ascii_alphanumeric())
}

/// What must be asked of Salesforce for one write.
#[derive(Debug, Default)]
pub(crate) struct Needs {
    users: Vec<String>,
    queues: Vec<String>,
    record_type: Option<String>,
    open_case_of: Option<String>,
    opportunity_of: Option<String>,
}

impl Needs {
    pub(crate) fn is_empty(&self) -> bool {
        self.users.is_empty()
            && self.queues.is_empty()
            && self.record_type.is_none()
            && self.open_case_of.is_none()
            && self.opportunity_of.is_none()
    }
}

pub(crate) struct LookupCache {
    ids: TtlCache<Option<String>>,
}

impl Default for LookupCache {
    fn default() -> Self {
        Self {
            ids: TtlCache::new(CACHE_TTL),
        }
    }
}

fn cache_key(tenant: &str, kind: &str, value: &str) -> String {
    format!("{tenant}#{kind}#{value}")
}

impl LookupCache {
    /// What is known already, and what must be fetched.
    pub(crate) fn split(
        &self,
        config: &TenantConfig,
        state: &ConversationState,
        absorbed: &Absorbed,
    ) -> (Lookups, Needs) {
        let tenant = &config.tenant_id;
        let mut known = Lookups::default();
        let mut needs = Needs::default();
        // A Case made now also gets an earlier batch's assignment.
        let creating = state.wants_case && state.case.as_ref().is_none_or(|c| c.id.is_none());
        let stored = state.stored_owner().filter(|_| creating);
        for request in absorbed.owners.iter().chain(stored.iter()) {
            if let Some(email) = &request.agent_email {
                match self.ids.get(&cache_key(tenant, "user", email)) {
                    Some(id) => {
                        known.users.insert(email.clone(), id);
                    }
                    None if !needs.users.contains(email) => needs.users.push(email.clone()),
                    None => {}
                }
            }
            if let Some(queue) = &request.queue {
                if is_id_with_prefix(queue, "00G") {
                    known.queues.insert(queue.clone(), Some(queue.clone()));
                } else {
                    match self.ids.get(&cache_key(tenant, "queue", queue)) {
                        Some(id) => {
                            known.queues.insert(queue.clone(), id);
                        }
                        None if !needs.queues.contains(queue) => needs.queues.push(queue.clone()),
                        None => {}
                    }
                }
            }
        }
        if creating && let Some(rt) = &config.case.record_type {
            if is_id_with_prefix(rt, "012") {
                known.record_type = Some(rt.clone());
            } else {
                match self.ids.get(&cache_key(tenant, "recordtype", rt)) {
                    Some(id) => known.record_type = id,
                    None => needs.record_type = Some(rt.clone()),
                }
            }
        }
        let contact = state
            .person
            .as_ref()
            .filter(|(p, _)| p.kind == PersonKind::Contact)
            .map(|(p, _)| p.id.clone());
        if config.case.reuse_open_case && state.wants_case && state.case.is_none() {
            needs.open_case_of.clone_from(&contact);
        }
        if config.case.relate_task_to == RelateTo::Opportunity && state.opportunity.is_none() {
            needs.opportunity_of = contact;
        }
        (known, needs)
    }

    /// Fetches what `needs` lists in one composite call, fills `known` and `state`, and
    /// remembers the ids. Returns plain-words notes for the sync log.
    pub(crate) async fn fetch(
        &self,
        org: &Org,
        config: &TenantConfig,
        needs: Needs,
        known: &mut Lookups,
        state: &mut ConversationState,
    ) -> Result<Vec<String>, SalesforceError> {
        let tenant = &config.tenant_id;
        let mut notes = Vec::new();
        let mut request = CompositeRequest::new(false);
        if !needs.users.is_empty() {
            let q = Soql::select(&["Id", "Email"])
                .from("User")
                .where_eq("IsActive", true)
                .where_in("Email", needs.users.iter().map(String::as_str))
                .build()?;
            request.push(SubRequest::query("users", &q))?;
        }
        if !needs.queues.is_empty() {
            let q = Soql::select(&["Id", "DeveloperName", "Name"])
                .from("Group")
                .where_eq("Type", "Queue")
                .where_in("DeveloperName", needs.queues.iter().map(String::as_str))
                .build()?;
            request.push(SubRequest::query("queues", &q))?;
        }
        if let Some(rt) = &needs.record_type {
            let q = Soql::select(&["Id"])
                .from("RecordType")
                .where_eq("SobjectType", "Case")
                .where_eq("DeveloperName", rt.as_str())
                .limit(1)
                .build()?;
            request.push(SubRequest::query("recordType", &q))?;
        }
        if let Some(contact) = &needs.open_case_of {
            let q = Soql::select(&["Id"])
                .from("Case")
                .where_eq("ContactId", contact.as_str())
                .where_eq("IsClosed", false)
                .order_by("CreatedDate", true)
                .limit(1)
                .build()?;
            request.push(SubRequest::query("openCase", &q))?;
        }
        if let Some(contact) = &needs.opportunity_of {
            // Relationship filters are beyond the builder; the value is escaped all the same.
            let q = format!(
                "SELECT OpportunityId FROM OpportunityContactRole WHERE ContactId = {} AND Opportunity.IsClosed = false",
                soql_string(contact)?
            );
            request.push(SubRequest::query("opportunity", &q))?;
        }
        if request.is_empty() {
            return Ok(notes);
        }
        let response = org.composite(&request).await?;
        if let Some((_, e)) = response.first_failure() {
            return Err(e);
        }
        let records = |reference: &str| -> Vec<serde_json::Value> {
            response
                .get(reference)
                .and_then(|r| r.body.get("records"))
                .and_then(|r| r.as_array())
                .cloned()
                .unwrap_or_default()
        };
        let text = |v: &serde_json::Value, field: &str| {
            v.get(field).and_then(|x| x.as_str()).map(str::to_owned)
        };
        let users = records("users");
        for email in &needs.users {
            let matches: Vec<String> = users
                .iter()
                .filter(|u| text(u, "Email").is_some_and(|e| e.eq_ignore_ascii_case(email)))
                .filter_map(|u| text(u, "Id"))
                .collect();
            // Several active Users with one e-mail: no guess.
            let id = (matches.len() == 1).then(|| matches[0].clone());
            self.ids.put(&cache_key(tenant, "user", email), id.clone());
            known.users.insert(email.clone(), id);
        }
        let queues = records("queues");
        for name in &needs.queues {
            let id = queues
                .iter()
                .find(|q| text(q, "DeveloperName").as_deref() == Some(name.as_str()))
                .and_then(|q| text(q, "Id"));
            self.ids.put(&cache_key(tenant, "queue", name), id.clone());
            known.queues.insert(name.clone(), id);
        }
        if let Some(rt) = &needs.record_type {
            let id = records("recordType").first().and_then(|r| text(r, "Id"));
            if id.is_none() {
                notes.push(format!(
                    "Case record type {rt:?} was not found: the org's default is used"
                ));
            }
            self.ids
                .put(&cache_key(tenant, "recordtype", rt), id.clone());
            known.record_type = id;
        }
        if needs.open_case_of.is_some() {
            match records("openCase").first().and_then(|r| text(r, "Id")) {
                Some(id) => {
                    notes.push(format!("Case: the Contact's most recent open Case {id}"));
                    state.case = Some(CaseLink {
                        id: Some(id),
                        reused: true,
                    });
                }
                None => notes.push("Case: the Contact has no open Case; a new one".into()),
            }
        }
        if needs.opportunity_of.is_some() {
            let mut ids: Vec<String> = records("opportunity")
                .iter()
                .filter_map(|r| text(r, "OpportunityId"))
                .collect();
            ids.sort();
            ids.dedup();
            // Only one open Opportunity is certain; several would be a guess.
            let chosen = (ids.len() == 1).then(|| ids[0].clone());
            notes.push(match &chosen {
                Some(id) => format!("Task related to the Contact's one open Opportunity {id}"),
                None if ids.is_empty() => "the Contact has no open Opportunity".into(),
                None => format!(
                    "the Contact has {} open Opportunities: the Task is not related to one",
                    ids.len()
                ),
            });
            state.opportunity = Some(chosen);
        }
        Ok(notes)
    }
}
