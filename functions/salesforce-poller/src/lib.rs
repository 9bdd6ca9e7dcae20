//! salesforce-poller (scheduled): for each tenant that lists objects in `from_salesforce.poll`,
//! asks Salesforce which records changed since the last window (`sobjects/{type}/updated`), reads
//! them (one SOQL query per 200) and queues each on changes.fifo, as the listener queues an
//! outbound message's notifications. It serves orgs that cannot add an outbound message and
//! catches what one missed; the chat writer sends nothing twice (what it last wrote is kept).

// A function's output is its tracing (JSON lines for CloudWatch), never bare stdout.
#![warn(clippy::print_stdout)]

use aws_config::SdkConfig;
use aws_lambda_events::cloudwatch_events::CloudWatchEvent;
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use shared::config::{ConfigError, Env, vars};
use shared::consumer::{Consumer, CoreError};
use shared::event::change::{ChangeSource, ChangedFields, SalesforceChange};
use shared::mapping::to_chat;
use shared::salesforce::{Org, Priority, Soql};
use shared::store::poll::PollMarks;
use shared::store::queue::FifoQueue;
use shared::store::tenants::TenantTable;
use shared::tenant::TenantConfig;
use time::OffsetDateTime;

/// The first window of a tenant reaches this far back (the schedule's interval).
const FIRST_WINDOW: time::Duration = time::Duration::minutes(5);
/// Salesforce keeps changes for 30 days; a watermark older than that starts from here.
const MAX_WINDOW: time::Duration = time::Duration::days(29);
/// Records read per SOQL query (`Id IN (…)`).
const READ_CHUNK: usize = 200;
/// Changes queued per tenant and object in one run; the rest wait for the next window.
const MAX_PER_RUN: usize = 2000;

pub struct Function {
    kit: Consumer,
    tenants: TenantTable,
    marks: PollMarks,
    changes: FifoQueue,
}

impl Function {
    pub fn from_env(sdk: &SdkConfig, env: &Env) -> Result<Self, ConfigError> {
        // The kit's queue is the one it sends to: the poller consumes none.
        let kit = Consumer::from_env(sdk, env, vars::CHANGES_QUEUE_URL)?;
        let dynamo = aws_sdk_dynamodb::Client::new(sdk);
        Ok(Self {
            tenants: TenantTable::new(dynamo.clone(), env.required(vars::TENANTS_TABLE)?),
            marks: PollMarks::new(dynamo, env.required(vars::DELIVERIES_TABLE)?),
            changes: kit.queue.clone(),
            kit,
        })
    }
}

/// What a run did, for the log and the local host.
#[derive(Debug, Default, Serialize)]
pub struct PollReport {
    pub tenants: usize,
    pub queued: usize,
    pub failed: Vec<String>,
}

pub async fn handle(
    function: &Function,
    _event: LambdaEvent<CloudWatchEvent>,
) -> Result<PollReport, lambda_runtime::Error> {
    let mut report = PollReport::default();
    let tenants = function.tenants.list().await.map_err(CoreError::from)?;
    let now = OffsetDateTime::now_utc();
    for config in tenants
        .iter()
        .filter(|t| !t.from_salesforce.poll.is_empty())
    {
        report.tenants += 1;
        for sobject in &config.from_salesforce.poll {
            match poll(function, config, sobject, now).await {
                Ok(n) => report.queued += n,
                // One tenant's org must not stop the others': the next run tries again.
                Err(e) => {
                    tracing::warn!(tenant_id = %config.tenant_id, sobject, error = %e, "poll failed");
                    report
                        .failed
                        .push(format!("{} {sobject}: {e}", config.tenant_id));
                }
            }
        }
    }
    tracing::info!(
        tenants = report.tenants,
        queued = report.queued,
        failed = report.failed.len(),
        "poll"
    );
    Ok(report)
}

/// One tenant's object: the window since the last, its records, queued; then the watermark.
async fn poll(
    function: &Function,
    config: &TenantConfig,
    sobject: &str,
    now: OffsetDateTime,
) -> Result<usize, CoreError> {
    let tenant = &config.tenant_id;
    let Some(credentials) = function
        .kit
        .secrets
        .salesforce(tenant)
        .await?
        .and_then(|s| s.salesforce)
    else {
        return Ok(0);
    };
    let org = function
        .kit
        .org_with(tenant, credentials)
        .budgeted(config.api_budget, Priority::Low);
    let start = function
        .marks
        .get(tenant, sobject)
        .await?
        .as_deref()
        .and_then(shared::salesforce::datetime::parse)
        .unwrap_or(now - FIRST_WINDOW)
        .max(now - MAX_WINDOW);
    // Salesforce answers windows to the minute: nothing to ask within the same minute.
    if now - start < time::Duration::minutes(1) {
        return Ok(0);
    }
    let updated = org.updated(sobject, start, now).await?;
    let ids: Vec<&String> = updated.ids.iter().take(MAX_PER_RUN).collect();
    let fields = to_chat::fields_needed(sobject, &config.fields, &config.from_salesforce.tags);
    let correlation_id = shared::event::new_correlation_id();
    let mut queued = 0;
    for chunk in ids.chunks(READ_CHUNK) {
        for record in read(&org, sobject, &fields, chunk).await? {
            let change = change(config, sobject, &correlation_id, &record, now);
            let Some(change) = change else { continue };
            let body = function.kit.sealer.seal_change(&change).await?;
            function
                .changes
                .send(&change.group_id(), &change.dedupe_id(), &body)
                .await?;
            queued += 1;
        }
    }
    // More than a run takes: the rest come with the next window (from the same start).
    if updated.ids.len() <= MAX_PER_RUN {
        function
            .marks
            .put(tenant, sobject, &updated.latest_date_covered)
            .await?;
    }
    Ok(queued)
}

/// The records `ids` with the fields the chat needs and their SystemModstamp.
async fn read(
    org: &Org,
    sobject: &str,
    fields: &[String],
    ids: &[&String],
) -> Result<Vec<serde_json::Value>, CoreError> {
    let mut select: Vec<&str> = vec!["Id", "SystemModstamp"];
    select.extend(fields.iter().map(String::as_str));
    let soql = Soql::select(&select)
        .from(sobject)
        .where_in("Id", ids.iter().map(|s| s.as_str()))
        .build()?;
    Ok(org.query(&soql).await?.records)
}

/// A record as a change: its fields as text, keyed by its SystemModstamp so the same state is
/// the same change however often it is polled.
fn change(
    config: &TenantConfig,
    sobject: &str,
    correlation_id: &str,
    record: &serde_json::Value,
    now: OffsetDateTime,
) -> Option<SalesforceChange> {
    let id = record.get("Id")?.as_str()?.to_owned();
    let stamp = record
        .get("SystemModstamp")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    let fields: ChangedFields = record
        .as_object()?
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "attributes" | "Id" | "SystemModstamp"))
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            };
            (k.clone(), text)
        })
        .collect();
    Some(SalesforceChange {
        tenant_id: config.tenant_id.clone(),
        correlation_id: correlation_id.to_owned(),
        source: ChangeSource::Poll,
        change_id: format!("poll:{sobject}:{id}:{stamp}"),
        sobject: sobject.to_owned(),
        record_id: id,
        received_at: now,
        fields,
    })
}
