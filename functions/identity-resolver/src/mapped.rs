//! After the person is known: the company's Account (found, or created when the tenant wants
//! it), the Contact related to it, and the tenant's `[[fields]]` on the person and the Account,
//! each field under the update policy with its watermark (`shared::mapping::people`).

use crate::{Function, ResolveError};
use serde_json::Value;
use shared::error::Classify;
use shared::event::QueuedEvent;
use shared::identity::accounts::{self, CompanyKeys};
use shared::identity::rules::{Person, PersonKind};
use shared::mapping::people;
use shared::mapping::state::Stamp;
use shared::salesforce::{Org, SalesforceError};
use shared::tenant::TenantConfig;
use time::OffsetDateTime;

/// Whether the event asks for anything here, so an org is set up only when it does.
pub(crate) fn wanted(config: &TenantConfig, queued: &QueuedEvent, person: Option<&Person>) -> bool {
    let event = &queued.event;
    (config.identity.accounts && event.company.is_some())
        || person
            .is_some_and(|p| !people::wanted(&config.fields, event, p.kind.sobject()).is_empty())
}

/// Settles the Account and writes the mapped fields; returns notes for the sync log.
pub(crate) async fn write(
    function: &Function,
    org: &Org,
    config: &TenantConfig,
    queued: &QueuedEvent,
    person: Option<&Person>,
) -> Result<Vec<String>, ResolveError> {
    let stamp = Stamp::new(
        queued.occurred_at,
        &queued.delivery_id,
        u32::from(queued.index),
    );
    let mut notes = Vec::new();
    let account = match (&queued.event.company, config.identity.accounts) {
        (Some(company), true) => {
            account(function, org, config, queued, &stamp, company, &mut notes).await?
        }
        _ => None,
    };
    if let Some(person) = person {
        let object = person.kind.sobject();
        let mut wanted = people::wanted(&config.fields, &queued.event, object);
        if person.kind == PersonKind::Contact
            && let Some(account) = &account
            && person.account_id.as_deref() != Some(account.as_str())
        {
            wanted.push(("AccountId".into(), Value::String(account.clone())));
        }
        record(
            function, org, config, queued, &stamp, object, &person.id, &wanted, &mut notes,
        )
        .await?;
    }
    Ok(notes)
}

/// The company's Account: found by the tenant's company key, else created when the tenant
/// wants it; its mapped fields written either way.
async fn account(
    function: &Function,
    org: &Org,
    config: &TenantConfig,
    queued: &QueuedEvent,
    stamp: &Stamp,
    company: &shared::event::Company,
    notes: &mut Vec<String>,
) -> Result<Option<String>, ResolveError> {
    let policy = &config.identity;
    let keys = CompanyKeys::of(company);
    let Some(soql) = accounts::query(&keys, policy)? else {
        notes.push("account: the company has no id, website or name to find it by".into());
        return Ok(None);
    };
    let page = org.query(&soql).await?;
    let (found, note) = accounts::decide(&keys, &page.records, policy);
    let wanted = people::wanted(&config.fields, &queued.event, "Account");
    if let Some(id) = found {
        record(
            function, org, config, queued, stamp, "Account", &id, &wanted, notes,
        )
        .await?;
        return Ok(Some(id));
    }
    let several = note.as_deref().is_some_and(|n| !n.contains("no Account"));
    if let Some(note) = note {
        notes.push(note);
    }
    if several || !policy.create_accounts {
        return Ok(None);
    }
    let Some(mut fields) = accounts::create_fields(&keys, policy) else {
        notes.push("account: not created: the company has no name".into());
        return Ok(None);
    };
    for (field, value) in &wanted {
        fields.entry(field.clone()).or_insert_with(|| value.clone());
    }
    let id = match org.create("Account", &Value::Object(fields.clone())).await {
        Ok(id) => id,
        Err(e) if e.class().is_retryable() => return Err(e.into()),
        Err(e) => {
            notes.push(format!("account: not created: {e}"));
            return Ok(None);
        }
    };
    let marks: Vec<_> = people::created_marks(&wanted, stamp);
    function
        .watermarks
        .save(
            &queued.tenant_id,
            "Account",
            &id,
            &marks,
            OffsetDateTime::now_utc(),
        )
        .await?;
    notes.push(format!("account: created Account {id}"));
    Ok(Some(id))
}

/// Writes `wanted` on one record under the update policy and saves the fields' watermarks.
#[allow(clippy::too_many_arguments)]
async fn record(
    function: &Function,
    org: &Org,
    config: &TenantConfig,
    queued: &QueuedEvent,
    stamp: &Stamp,
    sobject: &str,
    id: &str,
    wanted: &[(String, Value)],
    notes: &mut Vec<String>,
) -> Result<(), ResolveError> {
    if wanted.is_empty() {
        return Ok(());
    }
    let tenant = &queued.tenant_id;
    let update = config.identity.update;
    let marks = function.watermarks.load(tenant, sobject, id).await?;
    let mut decided = people::decide(update, wanted, &marks, stamp, None);
    if decided.needs_record {
        let current = org
            .get(sobject, id, &people::fields_to_read(wanted))
            .await?;
        decided = people::decide(update, wanted, &marks, stamp, Some(&current));
    }
    notes.extend(decided.notes.iter().map(|n| format!("{sobject} {id}: {n}")));
    let mut fields = decided.fields;
    let mut marks = decided.marks;
    // A value Salesforce refuses (a field's validation, an inactive picklist value) is set
    // aside with a note and the rest is sent again once.
    for attempt in 0..2 {
        if fields.is_empty() {
            return Ok(());
        }
        match org
            .update(sobject, id, &Value::Object(fields.clone()))
            .await
        {
            Ok(()) => break,
            Err(e) if e.class().is_retryable() => return Err(e.into()),
            Err(e) => {
                let refused = refused_fields(&e, &fields);
                if attempt == 1 || refused.is_empty() {
                    notes.push(format!("{sobject} {id}: mapped fields refused: {e}"));
                    return Ok(());
                }
                for field in &refused {
                    fields.remove(field);
                    notes.push(format!("{sobject} {id}: {field} set aside: {e}"));
                }
                marks.retain(|(f, _)| !refused.contains(f));
            }
        }
    }
    let names: Vec<&str> = fields.keys().map(String::as_str).collect();
    notes.push(format!("{sobject} {id}: set {}", names.join(", ")));
    function
        .watermarks
        .save(tenant, sobject, id, &marks, OffsetDateTime::now_utc())
        .await?;
    Ok(())
}

/// The fields a data error names among those sent (all of them when it names none but only
/// one was sent).
fn refused_fields(e: &SalesforceError, sent: &serde_json::Map<String, Value>) -> Vec<String> {
    let named: Vec<String> = e
        .api_error()
        .map(|a| a.fields.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|f| sent.contains_key(f))
        .collect();
    if named.is_empty() && sent.len() == 1 {
        return sent.keys().cloned().collect();
    }
    named
}
