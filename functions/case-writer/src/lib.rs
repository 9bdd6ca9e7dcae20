//! case-writer: writes each conversation to Salesforce — the Case with its routing fields, the
//! transcript Task(s) (or CaseComments or transcript records) — sending only changed fields.
//!
//! A batch's messages are taken per FIFO group (one conversation), so its events share one
//! composite call. Messages only add transcript lines (kept in DynamoDB) until something else
//! goes out, enough lines gather, or the chat closes.

// A function's output is its tracing (JSON lines for CloudWatch), never bare stdout.
#![warn(clippy::print_stdout)]

pub mod attachments;
mod conflict;
mod error;
mod lookups;
mod transcript;

pub use error::WriteError;

use aws_config::SdkConfig;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::LambdaEvent;
use shared::batch::process_by_group;
use shared::config::{ConfigError, Env, vars};
use shared::error::{Classify, ErrorClass};
use shared::event::QueuedEvent;
use shared::mapping::files::{self, PendingFile};
use shared::mapping::intents::{self, Absorbed, Target};
use shared::mapping::plan::{self, Effect, PlanInput, WritePlan};
use shared::mapping::policy::TranscriptTarget;
use shared::mapping::redact::Redactor;
use shared::mapping::state::{ConversationState, PartState, RecordWatermarks, Watermark};
use shared::mapping::transcript::Line;
use shared::retry::Backoff;
use shared::salesforce::{
    ClientConfig, CompositeRequest, CompositeResponse, Exchanges, Org, SalesforceClient,
};
use shared::store::conversations::{ConversationKey, Conversations, FlushRequest, Saved};
use shared::store::secrets::TenantSecretStore;
use shared::store::synclog::{SyncLogTable, SyncLogWriter};
use shared::store::tenants::{CachedTenants, TenantTable};
use shared::store::watermarks::Watermarks;
use shared::synclog::payload::Personal;
use shared::synclog::{Outcome, Step, SyncLogEntry};
use shared::tenant::TenantConfig;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// Most requests one group's write may take (conflict, deletion and refusal rounds, and
/// transcripts longer than one composite request).
const MAX_ROUNDS: usize = 12;

pub struct Function {
    sync_log: SyncLogWriter,
    tenants: CachedTenants,
    secrets: TenantSecretStore,
    conversations: Conversations,
    watermarks: Watermarks,
    salesforce: SalesforceClient,
    lookups: lookups::LookupCache,
    fetcher: attachments::Fetcher,
    /// Its own queue, to set when failed messages come back (the retry policy).
    sqs: aws_sdk_sqs::Client,
    write_queue_url: String,
    backoff: Backoff,
}

impl Function {
    pub fn from_env(sdk: &SdkConfig, env: &Env) -> Result<Self, ConfigError> {
        let dynamo = aws_sdk_dynamodb::Client::new(sdk);
        let tenants = TenantTable::new(dynamo.clone(), env.required(vars::TENANTS_TABLE)?);
        Ok(Self {
            sync_log: SyncLogWriter::new(
                SyncLogTable::new(dynamo.clone(), env.required(vars::SYNC_LOG_TABLE)?),
                tenants.clone(),
            ),
            tenants: CachedTenants::new(tenants, shared::store::tenants::TENANT_CACHE_TTL),
            secrets: TenantSecretStore::new(
                aws_sdk_secretsmanager::Client::new(sdk),
                env.required(vars::TENANT_SECRET_PREFIX)?,
            ),
            conversations: Conversations::new(
                dynamo.clone(),
                env.required(vars::CONVERSATIONS_TABLE)?,
            ),
            watermarks: Watermarks::new(dynamo, env.required(vars::WATERMARKS_TABLE)?),
            salesforce: SalesforceClient::new(ClientConfig::default()).map_err(|e| {
                ConfigError::Invalid {
                    name: "the Salesforce HTTP client",
                    reason: e.to_string(),
                }
            })?,
            lookups: lookups::LookupCache::default(),
            fetcher: attachments::Fetcher::from_env(env)?,
            sqs: aws_sdk_sqs::Client::new(sdk),
            write_queue_url: env.required(vars::WRITE_QUEUE_URL)?,
            backoff: Backoff::from_env(env)?,
        })
    }

    /// Salesforce REST calls this warm function has spent (for tests and benchmarks).
    pub fn salesforce_calls(&self) -> u64 {
        self.salesforce.api_calls()
    }

    async fn tenant(&self, tenant_id: &str) -> Result<Arc<TenantConfig>, WriteError> {
        self.tenants
            .get(tenant_id)
            .await?
            .ok_or_else(|| WriteError::UnknownTenant(tenant_id.to_owned()))
    }

    /// The tenant's org; what is sent through it is recorded into `exchanges` for the log.
    async fn org(&self, tenant_id: &str, exchanges: &Exchanges) -> Result<Org, WriteError> {
        let secrets = self
            .secrets
            .get(tenant_id)
            .await?
            .ok_or_else(|| WriteError::NotConnected(tenant_id.to_owned()))?;
        let credentials = secrets
            .salesforce
            .ok_or_else(|| WriteError::NotConnected(tenant_id.to_owned()))?;
        Ok(self
            .salesforce
            .org(tenant_id, credentials, Arc::new(self.secrets.clone()))
            .recording(exchanges))
    }
}

pub async fn handle(
    function: &Function,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    Ok(
        process_by_group(&event.payload, async |messages: &[&SqsMessage]| {
            write_group(function, messages).await
        })
        .await,
    )
}

/// A message on write.fifo: a resolved event, or the drainer asking for a quiet
/// conversation's waiting transcript lines to be written.
enum Queued {
    Event(Box<QueuedEvent>),
    Flush(FlushRequest),
}

fn read(record: &SqsMessage) -> Result<Queued, serde_json::Error> {
    let body = record.body.as_deref().unwrap_or_default();
    match serde_json::from_str::<QueuedEvent>(body) {
        Ok(event) => Ok(Queued::Event(Box::new(event))),
        Err(e) => serde_json::from_str::<FlushRequest>(body)
            .map(Queued::Flush)
            .map_err(|_| e),
    }
}

/// One FIFO group's messages of the batch: read them, then write what they ask.
async fn write_group(
    function: &Function,
    messages: &[&SqsMessage],
) -> Result<(), (usize, WriteError)> {
    let mut read_ok = Vec::with_capacity(messages.len());
    for (i, record) in messages.iter().enumerate() {
        match read(record) {
            Ok(q) => read_ok.push(q),
            Err(e) => {
                // Write what came before; this message and its group's later ones fail.
                if i > 0 {
                    write_events(function, &messages[..i], read_ok)
                        .await
                        .map_err(|e| (0, e))?;
                }
                return Err((i, e.into()));
            }
        }
    }
    write_events(function, messages, read_ok)
        .await
        .map_err(|e| (0, e))
}

/// What one group's write did, for the sync log.
#[derive(Default)]
struct Report {
    records: Vec<String>,
    sent: Vec<String>,
    notes: Vec<String>,
    calls: u64,
    /// The stored Salesforce requests and answers of the write.
    payload: Option<String>,
}

async fn write_events(
    function: &Function,
    messages: &[&SqsMessage],
    queued: Vec<Queued>,
) -> Result<(), WriteError> {
    let mut events = Vec::with_capacity(queued.len());
    let mut event_messages: Vec<&SqsMessage> = Vec::with_capacity(queued.len());
    let mut flush = None;
    for (q, record) in queued.into_iter().zip(messages) {
        match q {
            Queued::Event(e) => {
                events.push(*e);
                event_messages.push(record);
            }
            Queued::Flush(f) => flush = Some(f),
        }
    }
    let key = match (events.first(), &flush) {
        (Some(first), _) => {
            tracing::Span::current().record("correlation_id", first.correlation_id.as_str());
            ConversationKey::new(&first.tenant_id, first.platform, &first.conversation_key)
        }
        (None, Some(f)) => ConversationKey::new(
            &f.flush.tenant_id,
            f.flush.platform,
            &f.flush.conversation_key,
        ),
        (None, None) => return Ok(()),
    };
    // Contact events (no conversation) have nothing to write: the resolver kept the person.
    let conversational: Vec<&QueuedEvent> = events
        .iter()
        .filter(|e| e.event.conversation.is_some())
        .collect();
    let mut exchanges = Exchanges::off();
    // The people's values the write may copy into Salesforce, for masking its payload document:
    // the events' own, and the conversation's remembered ones (a Subject "Chat with …").
    let mut personal: Vec<String> = events
        .iter()
        .flat_map(|e| e.event.personal_values())
        .collect();
    let mut config = None;
    let outcome = if conversational.is_empty() && flush.is_none() {
        Ok(Report {
            notes: vec!["no conversation in this event: nothing to write".into()],
            ..Report::default()
        })
    } else {
        match function.tenant(&key.tenant_id).await {
            Ok(c) => {
                exchanges = c.payloads.recorder();
                let flush = flush.is_some();
                let written = write_conversation(
                    function,
                    &c,
                    &key,
                    &conversational,
                    flush,
                    &exchanges,
                    &mut personal,
                )
                .await;
                config = Some(c);
                written
            }
            Err(e) => Err(e),
        }
    };
    // What was sent and answered, for the entries below (kept per the tenant's policy).
    let payload_ref = async || match &config {
        Some(c) if !exchanges.is_empty() => {
            let redactor =
                Redactor::new(c.transcript.redact_cards, &c.transcript.redact_patterns).ok();
            let personal = Personal {
                values: personal.clone(),
                redactor: redactor.as_ref(),
            };
            function
                .sync_log
                .keep_exchanges(&c.tenant_id, &c.payloads, &exchanges, &personal)
                .await
        }
        _ => None,
    };
    if events.is_empty() {
        // A flush has no trail of its own: its outcome is the function's log line.
        return match outcome {
            Ok(report) => {
                tracing::info!(conversation = %key.as_str(), calls = report.calls, "waiting transcript lines written");
                Ok(())
            }
            Err(e) if e.class().is_retryable() => Err(e),
            Err(e) => {
                tracing::warn!(conversation = %key.as_str(), error = %e, "waiting transcript lines not written");
                Ok(())
            }
        };
    }
    let events = &events[..];
    let messages = &event_messages[..];
    match outcome {
        Ok(report) => {
            // Salesforce has the data; retrying the write for an audit line would repeat it.
            let payload = payload_ref().await;
            let report = Report { payload, ..report };
            if let Err(e) = log_events(function, messages, events, Outcome::Ok, &report, None).await
            {
                tracing::warn!(error = %e, "sync log write failed");
            }
            Ok(())
        }
        Err(e) if e.class().is_retryable() => {
            retry_later(function, messages, events, &e, payload_ref().await).await;
            Err(e)
        }
        Err(e) if events.len() > 1 && e.class() == ErrorClass::Data => {
            // One event's value was refused: write them one by one, so only that event becomes
            // a review item and the others land.
            tracing::info!(error = %e, events = events.len(), "a data error in a batch: writing its events one by one");
            for (event, message) in events.iter().zip(messages) {
                Box::pin(write_events(
                    function,
                    std::slice::from_ref(message),
                    vec![Queued::Event(Box::new(event.clone()))],
                ))
                .await?;
            }
            Ok(())
        }
        Err(e) => {
            // A data or configuration error: a review item per event, not an endless retry.
            let report = Report {
                notes: vec![format!("not written: {e}")],
                payload: payload_ref().await,
                ..Report::default()
            };
            // The review item is the only record of what was not written: without it, retry.
            log_events(
                function,
                messages,
                events,
                Outcome::Parked,
                &report,
                Some(&e),
            )
            .await?;
            Ok(())
        }
    }
}

/// The retry policy for a group that failed: the delay before SQS offers its messages again,
/// and a sync log entry per event saying why.
async fn retry_later(
    function: &Function,
    messages: &[&SqsMessage],
    events: &[QueuedEvent],
    error: &WriteError,
    payload: Option<String>,
) {
    let receives = messages.iter().map(|m| receive_count(m)).max().unwrap_or(1);
    let Some(delay) = function
        .backoff
        .delay(error.class(), receives, shared::retry::jitter())
    else {
        return;
    };
    let receipts: Vec<&str> = messages
        .iter()
        .filter_map(|m| m.receipt_handle.as_deref())
        .collect();
    if let Err(e) =
        shared::retry::delay_messages(&function.sqs, &function.write_queue_url, &receipts, delay)
            .await
    {
        tracing::warn!(error = %e, "could not set the retry delay; the queue's timeout applies");
    }
    let report = Report {
        notes: vec![format!("failed: {error}; retried in {} s", delay.as_secs())],
        payload,
        ..Report::default()
    };
    if let Err(e) = log_events(
        function,
        messages,
        events,
        Outcome::Error,
        &report,
        Some(error),
    )
    .await
    {
        tracing::warn!(error = %e, "sync log write failed");
    }
}

async fn log_events(
    function: &Function,
    messages: &[&SqsMessage],
    events: &[QueuedEvent],
    outcome: Outcome,
    report: &Report,
    error: Option<&WriteError>,
) -> Result<(), WriteError> {
    for (queued, record) in events.iter().zip(messages) {
        let mut detail = format!("{} · {}", queued.event.kind.name(), report.notes.join("; "));
        if !report.sent.is_empty() {
            detail.push_str(&format!(" · sent {}", report.sent.join(", ")));
        }
        if events.len() > 1 {
            detail.push_str(&format!(
                " · written with {} other event(s) of the conversation in {} call(s)",
                events.len() - 1,
                report.calls
            ));
        }
        let mut entry = SyncLogEntry::new(
            &queued.correlation_id,
            &queued.tenant_id,
            queued.platform,
            Step::Write,
            outcome,
            detail,
        )
        .topic(&queued.topic)
        .attempts(receive_count(record))
        .message_id(record.message_id.as_deref());
        entry.records.clone_from(&report.records);
        entry.payload_ref.clone_from(&report.payload);
        if let Some(e) = error {
            entry = entry.error_class(e.class());
            // Review items carry what to replay; a retry's message is still on the queue.
            if outcome == Outcome::Parked {
                entry = entry
                    .payload(record.body.as_deref().unwrap_or_default())
                    .replay_to(shared::synclog::Stage::Write)
                    .group_id(&queued.group_id());
            }
        }
        function.sync_log.record(&entry).await?;
    }
    Ok(())
}

async fn write_conversation(
    function: &Function,
    config: &TenantConfig,
    key: &ConversationKey,
    events: &[&QueuedEvent],
    flush: bool,
    exchanges: &Exchanges,
    personal: &mut Vec<String>,
) -> Result<Report, WriteError> {
    let platform = key.platform;
    let now = OffsetDateTime::now_utc();
    let tools = transcript::Tools::for_tenant(config)?;
    let mut state = function.conversations.load(key).await?;
    personal.extend(state.supplied.values().cloned());
    // A write that may have stored records or files crashed before recording them. Read now:
    // the plan's success below clears the flag.
    let recovering = state.in_flight;
    let absorbed = intents::absorb(&mut state, events, config);
    let mut report = Report {
        notes: absorbed
            .notes
            .iter()
            .filter(|n| !n.is_empty())
            .cloned()
            .collect(),
        ..Report::default()
    };
    report.notes.dedup();
    let lines = tools.lines(&absorbed)?;
    function.conversations.put_lines(key, &lines, now).await?;

    let (mut lookups, needs) = function.lookups.split(config, &state, &absorbed);
    // A message arriving after the close (deliveries are not ordered) is written at once.
    let wants_transcript = absorbed.flush
        || (flush && state.unsent_lines > 0)
        || (state.is_closed() && !absorbed.messages.is_empty())
        || state.unsent_lines >= config.transcript.flush_after_messages
        || state.parts.is_empty()
        || !absorbed.intents.is_empty()
        || !absorbed.owners.is_empty();
    let mut org = None;
    if !needs.is_empty() {
        let o = function.org(&config.tenant_id, exchanges).await?;
        let before = o.api_calls();
        let notes = function
            .lookups
            .fetch(&o, config, needs, &mut lookups, &mut state)
            .await?;
        report.calls += o.api_calls().saturating_sub(before);
        report.notes.extend(notes);
        org = Some(o);
    }
    // Files go with the transcript; after a crash they are settled at once.
    let stored = if wants_transcript || recovering {
        Some(function.conversations.lines(key).await?)
    } else {
        None
    };
    let parts = match &stored {
        Some(stored) if wants_transcript => Some(tools.render(stored, &state, platform)?),
        _ => None,
    };
    if state.in_flight
        && config.transcript.target == TranscriptTarget::CaseComment
        && let Some(parts) = &parts
    {
        let o = match org.take() {
            Some(o) => o,
            None => function.org(&config.tenant_id, exchanges).await?,
        };
        let before = o.api_calls();
        if case_id(&state).is_none() && state.wants_case {
            // The crash came before the new Case's id was recorded: find it by its key.
            let key = plan::case_key(&config.tenant_id, platform, &state.conversation_id);
            let q = shared::salesforce::Soql::select(&["Id"])
                .from("Case")
                .where_eq(plan::CASE_KEY_FIELD, key.as_str())
                .limit(1)
                .build()?;
            if let Some(id) = o
                .query_all(&q)
                .await?
                .first()
                .and_then(|c| c.get("Id"))
                .and_then(|v| v.as_str())
            {
                state.case = Some(shared::mapping::state::CaseLink {
                    id: Some(id.to_owned()),
                    reused: false,
                });
            }
        }
        if let Some(note) = recover_comments(&o, &mut state, parts).await? {
            report.notes.push(note);
        }
        report.calls += o.api_calls().saturating_sub(before);
        org = Some(o);
    }
    let mut keep_salesforce: Vec<(Target, String)> = Vec::new();
    let mut kept_marks: Vec<(Target, String, Watermark)> = Vec::new();
    // At most one conflict settlement per write: a second 412 means someone is editing now.
    // Rounds: a conflict settled, a deleted record forgotten, fields Salesforce refused set
    // aside (each at most once), and requests beyond one composite's 25 subrequests.
    let (mut settled_once, mut forgot_once, mut refused_once) = (false, false, false);
    for _round in 0..MAX_ROUNDS {
        let case_marks = load_marks(function, config, "Case", case_id(&state)).await?;
        let task_marks = load_marks(function, config, "Task", task_id(&state)).await?;
        let plan = plan::plan(&PlanInput {
            config,
            platform,
            state: &state,
            intents: &absorbed.intents,
            owners: &absorbed.owners,
            lookups: &lookups,
            case_marks: &case_marks,
            task_marks: &task_marks,
            transcript: parts.as_deref(),
            keep_salesforce: &keep_salesforce,
        });
        report.notes.extend(plan.notes.iter().cloned());
        if plan.is_empty() {
            save_marks(function, config, &state, &kept_marks, now).await?;
            state.in_flight = false;
            save(function, key, &mut state, now).await?;
            if report.sent.is_empty() {
                report.notes.push("nothing changed in Salesforce".into());
            }
            break;
        }
        if plan.effects.iter().any(|(_, e)| creates(e, &state)) && !state.in_flight {
            // Should we crash after Salesforce answers, the retry knows records may exist.
            state.in_flight = true;
            save(function, key, &mut state, now).await?;
        }
        let o = match org.take() {
            Some(o) => o,
            None => function.org(&config.tenant_id, exchanges).await?,
        };
        let before = o.api_calls();
        let sent = o.composite(&plan.request).await;
        report.calls += o.api_calls().saturating_sub(before);
        let response = sent?;
        // Tests crash here: Salesforce has answered, nothing is recorded or acknowledged yet.
        shared::failpoint::crash_once("writer-after-salesforce");
        match response.first_failure() {
            None => {
                record_success(
                    function,
                    config,
                    &mut state,
                    &plan,
                    &response,
                    &kept_marks,
                    now,
                )
                .await?;
                kept_marks.clear();
                if parts.is_some() && !plan.overflowed {
                    state.unsent_lines = 0;
                    state.unsent_since = None;
                }
                state.in_flight = false;
                save(function, key, &mut state, now).await?;
                report.sent.extend(plan.sent.iter().cloned());
                org = Some(o);
                if !plan.overflowed {
                    report.records.extend(touched(&state));
                    report.notes.push(case_choice(&state));
                    break;
                }
                // The rest of the transcript parts go in the next request.
            }
            Some((reference, e))
                if reference == plan::REF_CASE && e.is_precondition_failed() && !settled_once =>
            {
                settled_once = true;
                let settled = conflict::settle(&o, config, &state, &plan, &case_marks).await?;
                report.notes.extend(settled.notes);
                keep_salesforce.extend(settled.keep_salesforce);
                kept_marks.extend(
                    settled
                        .marks
                        .into_iter()
                        .map(|(field, mark)| (Target::Case, field, mark)),
                );
                if let Some(id) = case_id(&state) {
                    state.modstamps.insert(id.to_owned(), settled.last_modified);
                }
                org = Some(o);
            }
            Some((reference, e)) if reference == plan::REF_CASE && e.is_precondition_failed() => {
                return Err(WriteError::StillConflicting);
            }
            Some((reference, e))
                if !forgot_once
                    && e.api_error().is_some_and(|a| a.fields.is_empty())
                    && matches!(
                        e.code(),
                        Some("ENTITY_IS_DELETED" | "INVALID_CROSS_REFERENCE_KEY" | "NOT_FOUND")
                    )
                    && forget_deleted(&mut state, reference) =>
            {
                // Someone deleted our Case or Task: upsert it afresh by its key.
                forgot_once = true;
                report.notes.push(format!(
                    "{reference} was deleted in Salesforce: written anew"
                ));
                org = Some(o);
            }
            Some((reference, e))
                if !refused_once
                    && !e.class().is_retryable()
                    && e.code() != Some("FIELD_CUSTOM_VALIDATION_EXCEPTION") =>
            {
                // A value Salesforce refuses (too long, not in a restricted picklist): set
                // those fields aside, say so, and write the rest. A validation rule is the org
                // saying "not like this": a review item, replayed once the rule or data is fixed.
                let refused = refused_fields(&plan, reference, &e);
                if refused.is_empty() {
                    return Err(e.into());
                }
                refused_once = true;
                for (target, field, mark) in refused {
                    report.notes.push(format!(
                        "Salesforce refused {}.{field} ({e}): not written",
                        target.sobject()
                    ));
                    keep_salesforce.push((target, field.clone()));
                    kept_marks.push((target, field, mark));
                }
                org = Some(o);
            }
            Some((_, e)) => return Err(e.into()),
        }
    }
    if let Some(stored) = &stored {
        let case_key = plan::case_key(&config.tenant_id, platform, &state.conversation_id);
        let files = Files {
            function,
            key,
            case_key: &case_key,
            now,
            exchanges,
        };
        files
            .store(config, &mut state, stored, recovering, org, &mut report)
            .await?;
    }
    Ok(report)
}

/// Time the attachment downloads of one write may take; the rest wait for the next write
/// (the writer has 60 s in all).
const FETCH_BUDGET: Duration = Duration::from_secs(30);

/// Chat attachments as Salesforce Files, after the conversation's own write: a file Salesforce
/// refuses must not roll back the Case and Task.
struct Files<'a> {
    function: &'a Function,
    key: &'a ConversationKey,
    case_key: &'a str,
    now: OffsetDateTime,
    exchanges: &'a Exchanges,
}

impl Files<'_> {
    /// The stored lines' attachments not yet stored or linked: fetched, and created as Files
    /// on the Case (else the person, else the Task) in their own composite requests. Too large
    /// or unavailable ones stay links in the transcript.
    async fn store(
        &self,
        config: &TenantConfig,
        state: &mut ConversationState,
        stored: &[String],
        recovering: bool,
        org: Option<Org>,
        report: &mut Report,
    ) -> Result<(), WriteError> {
        let lines = stored
            .iter()
            .map(|l| serde_json::from_str::<Line>(l))
            .collect::<Result<Vec<_>, _>>()?;
        let todo = files::unrecorded(state, &lines);
        if todo.is_empty() {
            return Ok(());
        }
        let Some(parent) = files::parent(state).map(str::to_owned) else {
            return Ok(());
        };
        let org = match org {
            Some(o) => o,
            None => self.function.org(&config.tenant_id, self.exchanges).await?,
        };
        let before = org.api_calls();
        if recovering {
            let keys: Vec<String> = todo
                .iter()
                .map(|a| files::attachment_key(self.case_key, &a.url))
                .collect();
            for soql in files::recovery_queries(&keys)? {
                let found = files::recovered(&org.query_all(&soql).await?);
                for a in &todo {
                    if let Some(id) = found.get(&files::attachment_key(self.case_key, &a.url)) {
                        state
                            .attachments
                            .insert(files::url_hash(&a.url), id.clone());
                    }
                }
            }
        }
        let cap = files::fetch_cap(config.transcript.attachment_max_bytes);
        let deadline = std::time::Instant::now() + FETCH_BUDGET;
        // One request's worth at a time: never more than its budget in memory.
        let mut batch: Vec<(String, PendingFile)> = Vec::new();
        let mut bytes = 0u64;
        for a in todo {
            let hash = files::url_hash(&a.url);
            if state.attachments.contains_key(&hash) {
                continue;
            }
            if std::time::Instant::now() > deadline {
                report
                    .notes
                    .push("attachments left for the next write (download time)".into());
                break;
            }
            match self.function.fetcher.fetch(&a.url, cap).await {
                attachments::Fetched::Bytes { data, content_type } => {
                    let size = data.len() as u64;
                    if !files::fits(batch.len(), bytes, size) {
                        self.send(state, &org, &parent, std::mem::take(&mut batch), report)
                            .await?;
                        bytes = 0;
                    }
                    bytes += size;
                    let file = PendingFile {
                        key: files::attachment_key(self.case_key, &a.url),
                        name: files::file_name(a.name.as_deref(), &a.url),
                        data,
                        content_type,
                    };
                    batch.push((hash, file));
                }
                attachments::Fetched::TooLarge => {
                    report
                        .notes
                        .push("an attachment over the size cap stays a link".into());
                    state.attachments.insert(hash, files::LINKED.into());
                }
                attachments::Fetched::Unavailable(reason) => {
                    report
                        .notes
                        .push(format!("attachment not fetched ({reason}): left as a link"));
                    state.attachments.insert(hash, files::LINKED.into());
                }
            }
        }
        if !batch.is_empty() {
            self.send(state, &org, &parent, batch, report).await?;
        }
        report.calls += org.api_calls().saturating_sub(before);
        save(self.function, self.key, state, self.now).await
    }

    /// One composite request of files, each on its own (allOrNone false): a file Salesforce
    /// refuses (blocked extension, storage full) becomes a link and the others still land.
    async fn send(
        &self,
        state: &mut ConversationState,
        org: &Org,
        parent: &str,
        batch: Vec<(String, PendingFile)>,
        report: &mut Report,
    ) -> Result<(), WriteError> {
        let (hashes, pending): (Vec<String>, Vec<PendingFile>) = batch.into_iter().unzip();
        let mut request = CompositeRequest::new(false);
        let mut references = Vec::with_capacity(pending.len());
        for (reference, sub) in files::file_subrequests(&pending, parent, 0) {
            request.push(sub)?;
            references.push(reference);
        }
        // Should we crash after Salesforce stored them, the retry looks their keys up first.
        state.in_flight = true;
        save(self.function, self.key, state, self.now).await?;
        let response = org.composite(&request).await?;
        shared::failpoint::crash_once("writer-after-files");
        for ((hash, file), reference) in hashes.into_iter().zip(&pending).zip(&references) {
            let Some(sub) = response.get(reference) else {
                continue;
            };
            match (sub.error(), sub.id()) {
                (None, Some(id)) => {
                    state.attachments.insert(hash, id.to_owned());
                    report.records.push(id.to_owned());
                }
                (Some(e), _) if e.class().is_retryable() => report.notes.push(format!(
                    "{} not stored ({e}): tried again with the next write",
                    file.name
                )),
                (e, _) => {
                    let why = e.map(|e| e.to_string()).unwrap_or_else(|| "no id".into());
                    report
                        .notes
                        .push(format!("{} left as a link: {why}", file.name));
                    state.attachments.insert(hash, files::LINKED.into());
                }
            }
        }
        report.sent.push(format!("{} file(s)", pending.len()));
        state.in_flight = false;
        save(self.function, self.key, state, self.now).await
    }
}

/// After a crash, CaseComments written but not recorded are found again by their first line
/// (the transcript header, or "Transcript part N, continued"), so they are updated, not
/// written twice. CaseComments have no external id to upsert by.
async fn recover_comments(
    org: &Org,
    state: &mut ConversationState,
    parts: &[String],
) -> Result<Option<String>, WriteError> {
    let Some(case) = case_id(state).map(str::to_owned) else {
        return Ok(None);
    };
    let missing: Vec<usize> = (0..parts.len())
        .filter(|i| state.parts.get(*i).is_none_or(|p| p.id.is_none()))
        .collect();
    if missing.is_empty() {
        return Ok(None);
    }
    let q = shared::salesforce::Soql::select(&["Id", "CommentBody"])
        .from("CaseComment")
        .where_eq("ParentId", case.as_str())
        .build()?;
    let found = org.query_all(&q).await?;
    let mut recovered = 0;
    for index in missing {
        let first_line = parts[index].lines().next().unwrap_or_default();
        let hit = found.iter().find(|c| {
            c.get("CommentBody")
                .and_then(|b| b.as_str())
                .and_then(|b| b.lines().next())
                == Some(first_line)
        });
        if let Some(id) = hit.and_then(|c| c.get("Id")).and_then(|v| v.as_str()) {
            part_mut(state, index).id = Some(id.to_owned());
            recovered += 1;
        }
    }
    Ok((recovered > 0).then(|| {
        format!("{recovered} CaseComment(s) written before a crash found again and updated")
    }))
}

fn creates(effect: &Effect, state: &ConversationState) -> bool {
    match effect {
        Effect::CaseId | Effect::TaskId => true,
        Effect::Part { index, .. } => state.parts.get(*index).is_none_or(|p| p.id.is_none()),
        Effect::CaseModstamp => false,
    }
}

fn case_id(state: &ConversationState) -> Option<&str> {
    state.case.as_ref().and_then(|c| c.id.as_deref())
}

fn task_id(state: &ConversationState) -> Option<&str> {
    state.task_id.as_deref()
}

async fn load_marks(
    function: &Function,
    config: &TenantConfig,
    sobject: &str,
    id: Option<&str>,
) -> Result<RecordWatermarks, WriteError> {
    Ok(match id {
        Some(id) => {
            function
                .watermarks
                .load(&config.tenant_id, sobject, id)
                .await?
        }
        None => RecordWatermarks::new(),
    })
}

async fn save(
    function: &Function,
    key: &ConversationKey,
    state: &mut ConversationState,
    now: OffsetDateTime,
) -> Result<(), WriteError> {
    match function.conversations.save(key, state, now).await? {
        Saved::Yes => Ok(()),
        Saved::Conflict => Err(WriteError::StateConflict),
    }
}

/// Records ids, hashes, modstamps and watermarks from a successful answer.
async fn record_success(
    function: &Function,
    config: &TenantConfig,
    state: &mut ConversationState,
    plan: &WritePlan,
    response: &CompositeResponse,
    kept: &[(Target, String, Watermark)],
    now: OffsetDateTime,
) -> Result<(), WriteError> {
    for (reference, effect) in &plan.effects {
        let Some(sub) = response.get(reference) else {
            continue;
        };
        match effect {
            Effect::CaseId => {
                if let Some(id) = sub.id() {
                    let reused = state.case.as_ref().is_some_and(|c| c.reused);
                    state.case = Some(shared::mapping::state::CaseLink {
                        id: Some(id.to_owned()),
                        reused,
                    });
                }
            }
            Effect::CaseModstamp => {
                if let (Some(id), Some(stamp)) = (
                    sub.body.get("Id").and_then(|v| v.as_str()),
                    sub.body.get("LastModifiedDate").and_then(|v| v.as_str()),
                ) {
                    state.modstamps.insert(id.to_owned(), stamp.to_owned());
                }
            }
            Effect::TaskId => {}
            Effect::Part { index, hash } => {
                let part = part_mut(state, *index);
                if let Some(id) = sub.id() {
                    part.id = Some(id.to_owned());
                }
                part.hash.clone_from(hash);
            }
        }
    }
    if let Some(id) = response.get(plan::REF_TASK).and_then(|s| s.id()) {
        state.task_id = Some(id.to_owned());
    }
    let mut marks: Vec<(Target, String, Watermark)> = plan.marks.clone();
    marks.extend(kept.iter().cloned());
    save_marks(function, config, state, &marks, now).await
}

/// Saves watermarks for the Case and first Task (those whose ids are known).
async fn save_marks(
    function: &Function,
    config: &TenantConfig,
    state: &ConversationState,
    marks: &[(Target, String, Watermark)],
    now: OffsetDateTime,
) -> Result<(), WriteError> {
    for (target, id) in [
        (Target::Case, case_id(state)),
        (Target::Task, task_id(state)),
    ] {
        let Some(id) = id else { continue };
        let of_target: Vec<(String, Watermark)> = marks
            .iter()
            .filter(|(t, _, _)| *t == target)
            .map(|(_, f, m)| (f.clone(), m.clone()))
            .collect();
        if !of_target.is_empty() {
            function
                .watermarks
                .save(&config.tenant_id, target.sobject(), id, &of_target, now)
                .await?;
        }
    }
    Ok(())
}

/// The fields of the failed subrequest that Salesforce named, with watermarks that keep them
/// from being sent again until their value changes. Empty when the error names no field this
/// plan wrote (then the whole write is a review item).
fn refused_fields(
    plan: &WritePlan,
    reference: &str,
    error: &shared::salesforce::SalesforceError,
) -> Vec<(Target, String, Watermark)> {
    let target = match reference {
        plan::REF_CASE => Target::Case,
        plan::REF_TASK => Target::Task,
        _ => return Vec::new(),
    };
    let Some(api) = error.api_error() else {
        return Vec::new();
    };
    let named: Vec<(Target, String, Watermark)> = plan
        .marks
        .iter()
        .filter(|(t, f, _)| *t == target && api.fields.iter().any(|n| n.eq_ignore_ascii_case(f)))
        .cloned()
        .collect();
    // Every named field must be one this plan sent, or setting them aside would not help.
    if named.is_empty() || named.len() < api.fields.len() {
        return Vec::new();
    }
    named
}

fn part_mut(state: &mut ConversationState, index: usize) -> &mut PartState {
    while state.parts.len() <= index {
        state.parts.push(PartState {
            id: None,
            hash: String::new(),
        });
    }
    &mut state.parts[index]
}

/// Drops the id behind a failed reference so the retry upserts by key. False when the
/// reference is not one of ours to recreate.
fn forget_deleted(state: &mut ConversationState, reference: &str) -> bool {
    if reference == plan::REF_CASE {
        if state.case.as_ref().is_some_and(|c| c.reused) {
            // Someone else's Case is gone: make our own.
            state.case = None;
            return true;
        }
        if let Some(case) = &mut state.case {
            case.id = None;
            return true;
        }
        return false;
    }
    if reference == plan::REF_TASK && state.task_id.is_some() {
        state.task_id = None;
        if let Some(part) = state.parts.first_mut() {
            part.id = None;
            part.hash.clear();
        }
        return true;
    }
    false
}

fn touched(state: &ConversationState) -> Vec<String> {
    let mut out: Vec<String> = case_id(state).map(str::to_owned).into_iter().collect();
    for id in state
        .task_id
        .iter()
        .chain(state.parts.iter().filter_map(|p| p.id.as_ref()))
    {
        if !out.contains(id) {
            out.push(id.clone());
        }
    }
    out
}

fn case_choice(state: &ConversationState) -> String {
    match &state.case {
        Some(c) if c.reused => "Case: the Contact's open Case".into(),
        Some(_) => "Case: one per conversation".into(),
        None => "no Case for this conversation".into(),
    }
}

fn receive_count(record: &SqsMessage) -> u32 {
    record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

/// Absorbed messages, for the transcript module.
pub(crate) fn messages(
    absorbed: &Absorbed,
) -> &[(shared::mapping::state::Stamp, shared::event::Message)] {
    &absorbed.messages
}
