//! identity-resolver: for each queued event, find the visitor's Salesforce person and pass
//! the event on to write.fifo in conversation order, with the decision attached.
//!
//! Order: the links table (a known visitor costs no Salesforce call), then one lookup call
//! for Contact and Lead candidates and the tenant's rule chain, then creation per the
//! tenant's policy. Several matches under the review policy park the event for an operator.

// A function's output is its tracing (JSON lines for CloudWatch), never bare stdout.
#![warn(clippy::print_stdout)]

mod error;
mod mapped;

pub use error::ResolveError;

use aws_config::SdkConfig;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::LambdaEvent;
use shared::batch::process_in_order_skipping;
use shared::config::{ConfigError, Env, vars};
use shared::consumer::{Consumer, CoreError, receive_count};
use shared::error::Classify;
use shared::event::resolution::{Outcome as Resolved, Resolution};
use shared::event::{EventKind, QueuedEvent};
use shared::identity::Keys;
use shared::identity::create::{self, CreatePlan};
use shared::identity::enrich::{self, Enricher};
use shared::identity::lookup;
use shared::identity::rules::{self, Decision, Person};
use shared::identity::update;
use shared::mapping::people;
use shared::mapping::state::Stamp;
use shared::platforms::{intercom, respondio, tidio};
use shared::salesforce::Exchanges;
use shared::store::links::{LinkKey, Links};
use shared::store::queue::FifoQueue;
use shared::store::watermarks::Watermarks;
use shared::synclog::{Outcome, Step, SyncLogEntry};
use shared::tenant::{MatchKey, TenantConfig, UpdatePolicy};
use time::OffsetDateTime;

pub struct Function {
    kit: Consumer,
    write_queue: FifoQueue,
    links: Links,
    /// Watermarks of the mapped fields written on people and Accounts.
    watermarks: Watermarks,
    enricher: Enricher,
}

impl Function {
    pub fn from_env(sdk: &SdkConfig, env: &Env) -> Result<Self, ConfigError> {
        let kit = Consumer::from_env(sdk, env, vars::RESOLVE_QUEUE_URL)?;
        Ok(Self {
            write_queue: kit.queue_at(env, vars::WRITE_QUEUE_URL)?,
            links: Links::new(kit.dynamo.clone(), env.required(vars::LINKS_TABLE)?),
            watermarks: Watermarks::new(kit.dynamo.clone(), env.required(vars::WATERMARKS_TABLE)?)
                .sealed(kit.sealer.clone()),
            enricher: Enricher::with_bases(
                env.optional(vars::INTERCOM_API_URL)
                    .unwrap_or_else(|| intercom::API_BASE.into()),
                env.optional(vars::RESPONDIO_API_URL)
                    .unwrap_or_else(|| respondio::API_BASE.into()),
            )
            .and_then(|e| {
                e.with_tidio(
                    env.optional(vars::TIDIO_API_URL)
                        .unwrap_or_else(|| tidio::client::API_BASE.into()),
                )
            })
            .map_err(|e| ConfigError::Invalid {
                // The error's text names the base at fault.
                name: "INTERCOM_API_URL, RESPONDIO_API_URL or TIDIO_API_URL",
                reason: e.to_string(),
            })?,
            kit,
        })
    }

    /// Salesforce REST calls this warm function has spent (for tests and benchmarks).
    pub fn salesforce_calls(&self) -> u64 {
        self.kit.salesforce_calls()
    }
}

pub async fn handle(
    function: &Function,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let (response, skipped) = process_in_order_skipping(&event.payload, async |record| {
        resolve_or_retry(function, record).await
    })
    .await;
    // Back in line at once, behind the failed message that holds their group.
    let receipts: Vec<&str> = skipped.iter().map(String::as_str).collect();
    function.kit.requeue_now(&receipts).await;
    Ok(response)
}

/// Applies the retry policy to a failed message: a delay before SQS offers it again (and an
/// entry in the sync log saying why), or a review item at once when retrying cannot help.
async fn resolve_or_retry(function: &Function, record: &SqsMessage) -> Result<(), ResolveError> {
    let kept = Kept::default();
    let Err(e) = resolve(function, record, &kept).await else {
        return Ok(());
    };
    let body = record.body.as_deref().unwrap_or_default();
    let Ok(queued) = function.kit.sealer.open(body).await else {
        let stage = shared::synclog::Stage::Resolve;
        return match function.kit.unopened(record, stage, &e).await {
            true => Ok(()),
            false => Err(e),
        };
    };
    let class = e.class();
    let payload = kept.reference(function, &queued).await;
    let entry = |outcome, detail: String| {
        resolve_entry(&queued, record, payload.clone(), outcome, detail).error_class(class)
    };
    match function.kit.retry_later(&[record], class).await {
        Some(delay) => {
            let retry = entry(
                Outcome::Error,
                format!("failed: {e}; retried in {} s", delay.as_secs()),
            );
            if let Err(err) = function.kit.sync_log.record(&retry).await {
                tracing::warn!(error = %err, "sync log write failed");
            }
            Err(e)
        }
        None => {
            // Retrying the same input cannot succeed: a review item now, with what to replay.
            let parked = entry(Outcome::Parked, format!("not resolved: {e}"))
                .payload(body)
                .replay_to(shared::synclog::Stage::Resolve)
                .group_id(&queued.group_id());
            function.kit.sync_log.record(&parked).await?;
            Ok(())
        }
    }
}

/// What became of one message.
enum Next {
    Forward(Resolution),
    /// Several people match and the tenant wants an operator to choose.
    Park {
        detail: String,
    },
}

/// A resolve step's sync-log entry for the message being handled.
fn resolve_entry(
    queued: &QueuedEvent,
    record: &SqsMessage,
    payload_ref: Option<String>,
    outcome: Outcome,
    detail: String,
) -> SyncLogEntry {
    let mut entry = SyncLogEntry::new(
        &queued.correlation_id,
        &queued.tenant_id,
        queued.platform,
        Step::Resolve,
        outcome,
        detail,
    )
    .topic(&queued.topic)
    .attempts(receive_count(record))
    .message_id(record.message_id.as_deref());
    entry.payload_ref = payload_ref;
    entry
}

/// The Salesforce requests and answers of one resolution, stored once per the tenant's policy
/// however many entries refer to them.
#[derive(Default)]
struct Kept {
    exchanges: std::sync::OnceLock<Exchanges>,
    reference: tokio::sync::OnceCell<Option<String>>,
}

impl Kept {
    /// The recorder, once the tenant's policy is known.
    fn recorder(&self, config: &TenantConfig) -> &Exchanges {
        self.exchanges.get_or_init(|| config.payloads.recorder())
    }

    async fn reference(&self, function: &Function, queued: &QueuedEvent) -> Option<String> {
        let exchanges = self.exchanges.get().filter(|e| !e.is_empty())?;
        self.reference
            .get_or_init(async || {
                let config = function.kit.tenant(&queued.tenant_id).await.ok()?;
                function
                    .kit
                    .keep_exchanges(&config, exchanges, queued.event.personal_values())
                    .await
            })
            .await
            .clone()
    }
}

async fn resolve(
    function: &Function,
    record: &SqsMessage,
    kept: &Kept,
) -> Result<(), ResolveError> {
    let body = record.body.as_deref().unwrap_or_default();
    let mut queued: QueuedEvent = function
        .kit
        .sealer
        .open(body)
        .await
        .map_err(CoreError::from)?;
    tracing::Span::current().record("correlation_id", queued.correlation_id.as_str());
    let tenant_config = function.kit.tenant(&queued.tenant_id).await?;
    // A channel may create other people than the tenant does (`[config.channels]`).
    let channel_config = tenant_config.for_channel(&queued.event.channel_names());
    let config = &*channel_config;
    if queued.event.kind == EventKind::ContactDeleted {
        // A deletion never finds, creates or writes a person: it only drops chatsync's links.
        let forgotten = forget_contact(function, config, &queued).await?;
        let done = resolve_entry(
            &queued,
            record,
            None,
            Outcome::Ok,
            format!(
                "contact deleted on the platform: {forgotten} link(s) forgotten; nothing written to Salesforce"
            ),
        );
        if let Err(e) = function.kit.sync_log.record(&done).await {
            tracing::warn!(correlation_id = %queued.correlation_id, error = %e, "sync log write failed");
        }
        return Ok(());
    }
    let tenant_id = queued.tenant_id.clone();
    let secrets = TenantSecret::new(function, &tenant_id);
    let agents_note = fill_agents(function, config, &mut queued, &secrets).await?;
    let next = if queued.event.kind == EventKind::CompanyUpserted {
        // A company names no person: only its Account (below) is the resolver's.
        Next::Forward(Resolution {
            outcome: Resolved::Unidentified,
            person: None,
            rule: None,
            detail: "company event: no person to identify".into(),
            trace: None,
        })
    } else {
        identify(function, config, &queued, &secrets, kept.recorder(config)).await?
    };
    let payload = kept.reference(function, &queued).await;
    let entry =
        |outcome, detail: String| resolve_entry(&queued, record, payload.clone(), outcome, detail);
    match next {
        Next::Park { detail } => {
            // A review item: the event waits for an operator's choice instead of a guess.
            let parked = entry(Outcome::Parked, detail)
                .payload(body)
                .replay_to(shared::synclog::Stage::Resolve)
                .group_id(&queued.group_id());
            function.kit.sync_log.record(&parked).await?;
            Ok(())
        }
        Next::Forward(mut resolution) => {
            resolution.detail.push_str(&agents_note);
            if mapped::wanted(config, &queued, resolution.person.as_ref()) {
                let org =
                    org_for(function, config, &queued, &secrets, kept.recorder(config)).await?;
                let notes =
                    mapped::write(function, &org, config, &queued, resolution.person.as_ref())
                        .await?;
                if !notes.is_empty() {
                    resolution
                        .detail
                        .push_str(&format!("; {}", notes.join("; ")));
                }
            }
            let detail = resolution.detail.clone();
            let records: Vec<String> = resolution.person.iter().map(|p| p.id.clone()).collect();
            queued.resolution = Some(resolution);
            let message = function.kit.sealer.seal(&queued).await?;
            function
                .write_queue
                .send(&queued.group_id(), &queued.dedupe_id(), &message)
                .await?;
            // The decision trace goes to the sync log too, so an operator sees why.
            let detail = match &queued.resolution.as_ref().and_then(|r| r.trace.as_ref()) {
                Some(trace) => format!("{detail}. Trace: {}", trace.summary()),
                None => detail,
            };
            let mut done = resolve_entry(&queued, record, payload, Outcome::Ok, detail);
            done.records = records;
            if let Err(e) = function.kit.sync_log.record(&done).await {
                // The event has moved on; retrying it for an audit line would send it twice.
                tracing::warn!(correlation_id = %queued.correlation_id, error = %e, "sync log write failed");
            }
            Ok(())
        }
    }
}

/// The tenant's secret, read from Secrets Manager at most once per message, and only when a
/// step needs it (agents, teams, lookups all share the one read).
struct TenantSecret<'a> {
    function: &'a Function,
    tenant: &'a str,
    read: tokio::sync::OnceCell<Option<shared::tenant::TenantSecrets>>,
}

impl<'a> TenantSecret<'a> {
    fn new(function: &'a Function, tenant: &'a str) -> Self {
        Self {
            function,
            tenant,
            read: tokio::sync::OnceCell::new(),
        }
    }

    async fn get(&self) -> Result<Option<&shared::tenant::TenantSecrets>, ResolveError> {
        let read = self
            .read
            .get_or_try_init(async || self.function.kit.secrets.salesforce(self.tenant).await)
            .await?;
        Ok(read.as_ref())
    }
}

/// The tenant's org, budgeted and recording as the tenant says.
async fn org_for(
    function: &Function,
    config: &TenantConfig,
    queued: &QueuedEvent,
    secret: &TenantSecret<'_>,
    exchanges: &Exchanges,
) -> Result<shared::salesforce::Org, ResolveError> {
    let credentials = secret
        .get()
        .await?
        .and_then(|s| s.salesforce.clone())
        .ok_or_else(|| CoreError::NotConnected(queued.tenant_id.clone()))?;
    Ok(function
        .kit
        .org_with(&queued.tenant_id, credentials)
        .budgeted(config.api_budget, shared::salesforce::Priority::Normal)
        .recording(exchanges))
}

/// What the platform's API needs to let chatsync read agents, for a refusal's review item.
fn agent_scope(platform: shared::platforms::Platform) -> &'static str {
    use shared::platforms::Platform;
    match platform {
        Platform::Intercom => "an Intercom access token allowed to read admins",
        Platform::Tidio => "Tidio OpenAPI keys (tidio_client_id, tidio_client_secret)",
        Platform::RespondIo => "a respond.io API token allowed to read workspace users",
        Platform::CloudCx => "nothing: CloudCX has no agent API",
    }
}

/// Gives agents named only by id their e-mail (the tenant's `owners.agents_by_id`, else the
/// platform's API), so the writer can make the agent's User the owner. Only an outage is
/// worth a retry; an agent nobody knows stays without an e-mail (the owner is then unchanged).
async fn fill_agents(
    function: &Function,
    config: &TenantConfig,
    queued: &mut QueuedEvent,
    secret: &TenantSecret<'_>,
) -> Result<String, ResolveError> {
    use shared::identity::agents;
    let platform = queued.platform;
    let ids = agents::missing(&mut queued.event);
    if ids.is_empty() || !config.owners.agents {
        return name_teams(function, config, queued, secret).await;
    }
    let mut found: std::collections::BTreeMap<String, shared::event::Agent> = ids
        .iter()
        .filter_map(|id| {
            let email = agents::overridden(&config.owners.agents_by_id, platform, id)?;
            Some((
                id.clone(),
                shared::event::Agent {
                    email: Some(email),
                    ..shared::event::Agent::default()
                },
            ))
        })
        .collect();
    let rest: Vec<&String> = ids.iter().filter(|id| !found.contains_key(*id)).collect();
    if !rest.is_empty()
        && let Some(secrets) = secret.get().await?
    {
        for id in rest {
            match function
                .enricher
                .agent(&queued.tenant_id, platform, id, secrets)
                .await
            {
                Ok(Some(agent)) => {
                    found.insert(id.clone(), agent);
                }
                Ok(None) => {}
                Err(error) => {
                    return Err(ResolveError::Agent {
                        error,
                        needs: agent_scope(platform),
                    });
                }
            }
        }
    }
    let filled = agents::fill(&mut queued.event, |id| found.get(id).cloned());
    let team_note = name_teams(function, config, queued, secret).await?;
    Ok(team_note
        + &match (filled, ids.len()) {
            (0, n) => format!("; {n} agent(s) named by id only, e-mail unknown"),
            (f, n) => format!("; e-mail found for {f} of {n} agent(s) named by id only"),
        })
}

/// Gives teams named by id only their names (Intercom's teams, at its API), so a Queue map
/// keyed by the team's name works; only when the tenant maps queues at all.
async fn name_teams(
    function: &Function,
    config: &TenantConfig,
    queued: &mut QueuedEvent,
    secret: &TenantSecret<'_>,
) -> Result<String, ResolveError> {
    use shared::identity::agents;
    let platform = queued.platform;
    if config.owners.queues.is_empty() || platform != shared::platforms::Platform::Intercom {
        return Ok(String::new());
    }
    let ids = agents::unnamed_teams(&mut queued.event);
    if ids.is_empty() {
        return Ok(String::new());
    }
    let Some(secrets) = secret.get().await? else {
        return Ok(String::new());
    };
    let mut names = std::collections::BTreeMap::new();
    for id in &ids {
        match function
            .enricher
            .team_name(&queued.tenant_id, platform, id, secrets)
            .await
        {
            Ok(Some(name)) => {
                names.insert(id.clone(), name);
            }
            Ok(None) => {}
            Err(error) => {
                return Err(ResolveError::Agent {
                    error,
                    needs: "an Intercom access token allowed to read teams",
                });
            }
        }
    }
    let named = agents::name_teams(&mut queued.event, |id| names.get(id).cloned());
    Ok(format!("; {named} team(s) named from their id"))
}

/// Drops every link the deleted contact's keys name (its platform id, and the e-mail and
/// phone it carried): a link is only a shortcut, so a later chat by the same person looks up
/// again instead of reaching a record through a contact that no longer exists.
async fn forget_contact(
    function: &Function,
    config: &TenantConfig,
    queued: &QueuedEvent,
) -> Result<usize, ResolveError> {
    let keys = Keys::from_visitor(&queued.event.visitor, &config.identity.default_phone_region);
    let mut forgotten = 0;
    for key in LinkKey::for_keys(queued.platform, &keys) {
        if function.links.get(&queued.tenant_id, &key).await?.is_some() {
            function.links.forget(&queued.tenant_id, &key).await?;
            forgotten += 1;
        }
    }
    Ok(forgotten)
}

/// Links table, then lookup and rule chain, then creation.
async fn identify(
    function: &Function,
    config: &TenantConfig,
    queued: &QueuedEvent,
    secret: &TenantSecret<'_>,
    exchanges: &Exchanges,
) -> Result<Next, ResolveError> {
    let policy = &config.identity;
    let mut keys = Keys::from_visitor(&queued.event.visitor, &policy.default_phone_region);
    let mut link_keys = LinkKey::linkable(queued.platform, &keys, &policy.match_order);
    if let Some(known) = linked(function, queued, &link_keys).await? {
        return Ok(Next::Forward(known));
    }
    // Nothing to look up and nobody to ask the platform about: no secret read needed.
    if keys.platform_contact_id.is_none() && !has_lookup_key(&keys, config) {
        return Ok(Next::Forward(unidentified(String::new())));
    }
    let secrets = secret
        .get()
        .await?
        .ok_or_else(|| CoreError::NotConnected(queued.tenant_id.clone()))?;
    // Only a platform contact id (Intercom 2.x conversations): ask the platform who it is.
    let mut enrichment_note = String::new();
    if let Some(contact_id) = keys.platform_contact_id.clone()
        && keys.email.is_none()
        && keys.phone.is_none()
    {
        match function
            .enricher
            .contact(queued.platform, &contact_id, secrets)
            .await
        {
            Ok(Some(fetched)) => {
                let mut visitor = queued.event.visitor.clone();
                enrich::merge(&mut visitor, fetched);
                keys = Keys::from_visitor(&visitor, &policy.default_phone_region);
                link_keys = LinkKey::linkable(queued.platform, &keys, &policy.match_order);
                enrichment_note = format!("; e-mail and phone fetched from {}", queued.platform);
                if let Some(known) = linked(function, queued, &link_keys).await? {
                    return Ok(Next::Forward(known));
                }
            }
            Ok(None) => {}
            // Worth waiting for: fail the message so SQS brings it back.
            Err(e) if e.class().is_retryable() => return Err(e.into()),
            // A wrong token or a strange answer must not hold the conversation back.
            Err(e) => {
                tracing::warn!(correlation_id = %queued.correlation_id, error = %e, "enrichment failed");
                enrichment_note = format!("; enrichment failed: {e}");
            }
        }
    }
    if !has_lookup_key(&keys, config) {
        return Ok(Next::Forward(unidentified(enrichment_note)));
    }
    let credentials = secrets
        .salesforce
        .clone()
        .ok_or_else(|| CoreError::NotConnected(queued.tenant_id.clone()))?;
    let org = function
        .kit
        .org_with(&queued.tenant_id, credentials)
        .budgeted(config.api_budget, shared::salesforce::Priority::Normal)
        .recording(exchanges);
    // The acting agent's User owns what is created (else the integration user does).
    let agent_email = queued.event.actor.as_ref().and_then(|a| a.email.as_deref());
    let found = lookup::lookup(&org, &keys, policy, agent_email).await?;
    let now = OffsetDateTime::now_utc();
    match rules::decide(&keys, &found.candidates, policy) {
        Decision::Matched {
            person,
            rule,
            trace,
        } => {
            // Before the link: a failed update retries the message, which must look up again.
            let update_note = update_person(
                function,
                &org,
                config,
                queued,
                &found.candidates,
                &person,
                &link_keys,
            )
            .await?;
            link(function, queued, &link_keys, &person, config, now).await?;
            Ok(Next::Forward(Resolution {
                outcome: Resolved::Matched,
                detail: format!(
                    "matched {} {} by {} ({} candidate(s) seen){enrichment_note}{update_note}",
                    person.kind.sobject(),
                    person.id,
                    rule_name(rule),
                    trace.candidates_seen.len()
                ),
                person: Some(person),
                rule: Some(rule),
                trace: Some(trace),
            }))
        }
        Decision::Ambiguous {
            rule, candidates, ..
        } => {
            let ids: Vec<String> = candidates
                .iter()
                .map(|p| format!("{} {}", p.kind.sobject(), p.id))
                .collect();
            Ok(Next::Park {
                detail: format!(
                    "several people match by {}: {}. Choose one with `chatsync resolve <review-id> --choose <id>`",
                    rule_name(rule),
                    ids.join(", ")
                ),
            })
        }
        Decision::NoMatch { trace } => match create::plan_with_account(
            &keys,
            policy,
            config.mode,
            found.owner_id.as_deref(),
            found.account.as_deref(),
        ) {
            CreatePlan::Skip { reason } => Ok(Next::Forward(Resolution {
                outcome: Resolved::NotCreated,
                person: None,
                rule: None,
                detail: format!("nobody matched; {reason}{enrichment_note}"),
                trace: Some(trace),
            })),
            plan => {
                // One creator per visitor, whichever group its events run in: the others
                // retry and find the link (or, if the creator died, look up and find it).
                let holder = format!("{}#{}", queued.correlation_id, queued.index);
                let tenant = &queued.tenant_id;
                if !function
                    .links
                    .claim_creation(tenant, &link_keys, &holder, now, CREATION_HOLD)
                    .await?
                {
                    return Err(ResolveError::CreationInProgress);
                }
                // Linked by another event between the link check and the claim.
                if let Some(known) = linked(function, queued, &link_keys).await? {
                    function.links.release_creation(tenant, &link_keys).await?;
                    return Ok(Next::Forward(known));
                }
                let (person, mapped_note) =
                    create_with_mapped(function, &org, config, queued, plan).await?;
                link(function, queued, &link_keys, &person, config, now).await?;
                function.links.release_creation(tenant, &link_keys).await?;
                Ok(Next::Forward(Resolution {
                    outcome: Resolved::Created,
                    detail: format!(
                        "nobody matched; created {} {}{}{mapped_note}{enrichment_note}",
                        person.kind.sobject(),
                        person.id,
                        notes(&found.notes)
                    ),
                    person: Some(person),
                    rule: None,
                    trace: Some(trace),
                }))
            }
        },
    }
}

/// Creates the planned person with the tenant's mapped fields for its object, and saves their
/// watermarks. A mapped value Salesforce refuses must not keep the visitor out: the person is
/// then created without the mapped fields (noted), and the next event tries them again.
async fn create_with_mapped(
    function: &Function,
    org: &shared::salesforce::Org,
    config: &TenantConfig,
    queued: &QueuedEvent,
    plan: CreatePlan,
) -> Result<(Person, String), ResolveError> {
    let CreatePlan::Create { kind, fields } = &plan else {
        return Err(ResolveError::NothingCreated);
    };
    let wanted: Vec<_> = people::wanted(&config.fields, &queued.event, kind.sobject())
        .into_iter()
        .filter(|(field, _)| !fields.contains_key(field))
        .collect();
    let mut with_mapped = fields.clone();
    with_mapped.extend(wanted.iter().cloned());
    let full = CreatePlan::Create {
        kind: *kind,
        fields: with_mapped,
    };
    let (created, note) = match lookup::create(org, &full).await {
        Ok(created) => (created, String::new()),
        Err(e) if !wanted.is_empty() && !e.class().is_retryable() => {
            let created = lookup::create(org, &plan).await?;
            (created, format!("; mapped fields set aside: {e}"))
        }
        Err(e) => return Err(e.into()),
    };
    let person = created.ok_or(ResolveError::NothingCreated)?;
    if note.is_empty() && !wanted.is_empty() {
        let stamp = Stamp::new(
            queued.occurred_at,
            &queued.delivery_id,
            u32::from(queued.index),
        );
        function
            .watermarks
            .save(
                &queued.tenant_id,
                kind.sobject(),
                &person.id,
                &people::created_marks(&wanted, &stamp),
                OffsetDateTime::now_utc(),
            )
            .await?;
    }
    Ok((person, note))
}

/// Applies the tenant's update policy to the matched person: the fields that change, in one
/// PATCH, and a note for the resolution detail (empty when nothing was considered).
///
/// Only what the event itself says about the visitor is written (not what enrichment fetched
/// to identify it). A person the lookup did not return (a converted Lead's Contact) is left as
/// it is. A data error (validation rule, bad value) is noted and the event goes on; a retryable
/// one fails the message; ENTITY_IS_DELETED or INVALID_CROSS_REFERENCE_KEY (deleted or merged)
/// forgets the visitor's links and fails the message, so the retry resolves it afresh.
async fn update_person(
    function: &Function,
    org: &shared::salesforce::Org,
    config: &TenantConfig,
    queued: &QueuedEvent,
    candidates: &[shared::identity::rules::Candidate],
    person: &Person,
    link_keys: &[LinkKey],
) -> Result<String, ResolveError> {
    let policy = &config.identity;
    let contact_upserted = matches!(queued.event.kind, EventKind::ContactUpserted);
    if !contact_upserted && policy.update == UpdatePolicy::Never {
        return Ok(String::new());
    }
    let Some(current) = candidates
        .iter()
        .find(|c| c.kind == person.kind && c.id == person.id)
    else {
        return Ok(format!(
            "; not updated: {} {} was not among the candidates read",
            person.kind.sobject(),
            person.id
        ));
    };
    let keys = Keys::from_visitor(&queued.event.visitor, &policy.default_phone_region);
    let fields = update::changes_with(&keys, current, policy, queued.occurred_at);
    if fields.is_empty() {
        return Ok(String::new());
    }
    let names: Vec<String> = fields.keys().cloned().collect();
    let names = names.join(", ");
    match org
        .update(
            person.kind.sobject(),
            &person.id,
            &serde_json::Value::Object(fields),
        )
        .await
    {
        Ok(()) => Ok(format!("; updated {names}")),
        // Deleted, or merged into another record: the link is stale.
        Err(e)
            if matches!(
                e.code(),
                Some("ENTITY_IS_DELETED" | "INVALID_CROSS_REFERENCE_KEY")
            ) =>
        {
            tracing::info!(correlation_id = %queued.correlation_id, person = %person.id, "matched person is deleted; links forgotten");
            for key in link_keys {
                function.links.forget(&queued.tenant_id, key).await?;
            }
            Err(e.into())
        }
        Err(e) if e.class().is_retryable() => Err(e.into()),
        Err(e) => {
            tracing::warn!(correlation_id = %queued.correlation_id, error = %e, "person update refused");
            Ok(format!("; update of {names} refused: {e}"))
        }
    }
}

fn unidentified(note: String) -> Resolution {
    Resolution {
        outcome: Resolved::Unidentified,
        person: None,
        rule: None,
        detail: format!("the event carries nothing to identify its visitor by{note}"),
        trace: None,
    }
}

/// The person a link names, for the first of the keys that has one.
async fn linked(
    function: &Function,
    queued: &QueuedEvent,
    keys: &[LinkKey],
) -> Result<Option<Resolution>, ResolveError> {
    for key in keys {
        if let Some(link) = function.links.get(&queued.tenant_id, key).await? {
            return Ok(Some(Resolution {
                outcome: Resolved::Linked,
                detail: format!(
                    "known visitor: {} {} by its {} link",
                    link.person.kind.sobject(),
                    link.person.id,
                    key_kind(key)
                ),
                person: Some(link.person),
                rule: None,
                trace: None,
            }));
        }
    }
    Ok(None)
}

async fn link(
    function: &Function,
    queued: &QueuedEvent,
    keys: &[LinkKey],
    person: &Person,
    config: &TenantConfig,
    now: OffsetDateTime,
) -> Result<(), ResolveError> {
    function
        .links
        .put(
            &queued.tenant_id,
            keys,
            person,
            config.identity.link_ttl_days,
            now,
        )
        .await?;
    for key in keys {
        if let LinkKey::PlatformContact {
            platform,
            contact_id,
        } = key
        {
            function
                .links
                .remember_platform_contact(
                    &queued.tenant_id,
                    *platform,
                    &person.id,
                    contact_id,
                    now,
                )
                .await?;
        }
    }
    Ok(())
}

/// How long a creation claim holds: longer than a lookup, a create and the link take, short
/// enough that a creator that died does not hold its visitor back for long.
const CREATION_HOLD: std::time::Duration = std::time::Duration::from_secs(60);

/// Whether any rule of the tenant's chain has something to look up.
fn has_lookup_key(keys: &Keys, config: &TenantConfig) -> bool {
    let policy = &config.identity;
    policy.match_order.iter().any(|rule| match rule {
        MatchKey::ExternalId => keys.external_id.is_some() && policy.external_id_field.is_some(),
        MatchKey::Email => keys.email.is_some(),
        MatchKey::Phone => keys.phone.is_some() || keys.phone_digits.is_some(),
        MatchKey::VisitorId => keys.visitor_id.is_some() && policy.visitor_id_field.is_some(),
    })
}

/// The lookup's remarks (owner or Account not decided, and why) for the sync log.
fn notes(notes: &[String]) -> String {
    if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join("; "))
    }
}

fn key_kind(key: &LinkKey) -> &'static str {
    match key {
        LinkKey::PlatformContact { .. } => "platform contact",
        LinkKey::Email(_) => "e-mail",
        LinkKey::Phone(_) => "phone",
    }
}

fn rule_name(rule: MatchKey) -> &'static str {
    match rule {
        MatchKey::ExternalId => "external id",
        MatchKey::Email => "e-mail",
        MatchKey::Phone => "phone",
        MatchKey::VisitorId => "visitor id",
    }
}
