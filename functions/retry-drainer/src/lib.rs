//! retry-drainer: on its schedule, read both dead-letter queues and decide for each message by
//! its recorded error class (the consumers log every failed attempt) and its age:
//!
//! - transient or session errors (5xx, lock, timeouts, dropped connections, platform 429s):
//!   redriven to the queue it came from, in its original group, with a backoff that doubles per
//!   redrive up to a cap. An outage holds events, it never parks them for transience alone: an
//!   operator sees a backlog (the queues' age alarms), not items to replay;
//! - the Salesforce daily limit: redriven once its hold has passed, never parked for it;
//! - anything else, unreadable messages, and events near the DLQ's retention (by the time the
//!   intake received them): parked as a review item with the payload (the open-by-tenant index
//!   lists them), then deleted, so nothing is lost. Each tenant gets at most `MAX_PER_TENANT` per run, so one backlog cannot
//!   starve the others.
//!
//! Then it sweeps the conversations whose transcript lines have waited too long.

// A function's output is its tracing (JSON lines for CloudWatch), never bare stdout.
#![warn(clippy::print_stdout)]

use aws_config::SdkConfig;
use aws_lambda_events::cloudwatch_events::CloudWatchEvent;
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use shared::config::{ConfigError, Env, vars};
use shared::error::ErrorClass;
use shared::event::QueuedHead;
use shared::store::StoreError;
use shared::store::conversations::{Conversations, FlushRequest, UNSENT_SHARDS};
use shared::store::queue::{FifoMessage, FifoQueue, Received};
use shared::store::synclog::{SyncLogTable, SyncLogWriter};
use shared::store::tenants::{TENANT_CACHE_TTL, TenantTable};
use shared::synclog::{Outcome, Step, SyncLogEntry};
use std::collections::HashMap;
use std::time::Duration;

/// Where review items of unreadable messages are listed (no tenant can be read from them).
/// Not a valid tenant id, so it can never collide with a real tenant's review list.
pub use shared::synclog::UNREADABLE_TENANT as UNKNOWN_TENANT;

/// Most messages taken from one DLQ per run, so one run stays well inside its timeout.
pub const MAX_PER_QUEUE: usize = 500;
/// How long a received dead letter stays hidden while this run settles it.
const RECEIVE_VISIBILITY: Duration = Duration::from_secs(120);

pub struct Function {
    /// (stage, its DLQ, the stage's own queue to redrive to).
    dead_letter_queues: Vec<(&'static str, FifoQueue, FifoQueue)>,
    backoff: shared::retry::Backoff,
    sync_log: SyncLogWriter,
    /// When each tenant was last saved: a configuration failure older than that is redriven.
    tenants: TenantTable,
    conversations: Conversations,
    write_queue: FifoQueue,
    quiet_after: Duration,
    /// Where the open-items metrics go (`METRICS_NAMESPACE`); None: not sent.
    metrics_namespace: Option<String>,
}

/// A conversation whose transcript lines have waited this long without another change going
/// out gets them written (`TRANSCRIPT_QUIET_SECONDS`).
pub const DEFAULT_QUIET: Duration = Duration::from_secs(600);
/// Most quiet conversations flushed per shard and run.
const SWEEP_LIMIT: i32 = 100;

/// What one run did, returned as the invocation's result and logged.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct DrainReport {
    pub parked: usize,
    pub redriven: usize,
    pub failed: usize,
    /// Quiet conversations whose waiting transcript lines were sent to the writer.
    pub flushed: usize,
    /// Review items open across every tenant after the run (also sent as metrics).
    pub open_review_items: usize,
}

impl Function {
    pub fn from_env(sdk: &SdkConfig, env: &Env) -> Result<Self, ConfigError> {
        let dynamo = aws_sdk_dynamodb::Client::new(sdk);
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let queue = |name| {
            env.required(name)
                .map(|url| FifoQueue::new(sqs.clone(), url))
        };
        let tenants = TenantTable::new(dynamo.clone(), env.required(vars::TENANTS_TABLE)?);
        Ok(Self {
            dead_letter_queues: vec![
                (
                    "resolve",
                    queue(vars::RESOLVE_DLQ_URL)?,
                    queue(vars::RESOLVE_QUEUE_URL)?,
                ),
                (
                    "write",
                    queue(vars::WRITE_DLQ_URL)?,
                    queue(vars::WRITE_QUEUE_URL)?,
                ),
            ],
            backoff: shared::retry::Backoff::from_env(env)?,
            sync_log: SyncLogWriter::new(
                SyncLogTable::new(dynamo.clone(), env.required(vars::SYNC_LOG_TABLE)?),
                tenants.clone(),
            ),
            tenants,
            conversations: Conversations::new(dynamo, env.required(vars::CONVERSATIONS_TABLE)?),
            write_queue: queue(vars::WRITE_QUEUE_URL)?,
            quiet_after: Duration::from_secs(
                env.number_or(vars::TRANSCRIPT_QUIET_SECONDS, DEFAULT_QUIET.as_secs())?,
            ),
            metrics_namespace: env.optional(vars::METRICS_NAMESPACE),
        })
    }
}

pub async fn handle(
    function: &Function,
    _event: LambdaEvent<CloudWatchEvent>,
) -> Result<DrainReport, lambda_runtime::Error> {
    let mut report = DrainReport::default();
    let mut per_tenant: HashMap<String, usize> = HashMap::new();
    for (stage, dlq, source) in &function.dead_letter_queues {
        drain(
            function,
            Stage {
                name: stage,
                dlq,
                source,
            },
            &mut per_tenant,
            &mut report,
        )
        .await?;
    }
    sweep(function, &mut report).await?;
    report.open_review_items = report_open_items(function).await?;
    tracing::info!(
        parked = report.parked,
        failed = report.failed,
        flushed = report.flushed,
        open_review_items = report.open_review_items,
        "drained"
    );
    if report.failed > 0 {
        // Fail the invocation so RetryDrainerErrorsAlarm fires; the messages stay in the DLQs.
        return Err(format!(
            "{} dead letters could not be parked (they stay in their DLQ)",
            report.failed
        )
        .into());
    }
    Ok(report)
}

/// Open review items per tenant and the age of the oldest, as metrics (EMF lines on stdout):
/// per tenant (dimension `TenantId`) to see who, and the largest over all tenants without a
/// dimension, which the template's alarms watch. Returns how many are open in all.
async fn report_open_items(function: &Function) -> Result<usize, StoreError> {
    let summary = function.sync_log.table().open_summary().await?;
    let now = time::OffsetDateTime::now_utc();
    let lines = open_item_metrics(function.metrics_namespace.as_deref(), &summary, now);
    for line in lines {
        // EMF must be a JSON object of its own on stdout, not a field of a tracing line.
        #[allow(clippy::print_stdout)]
        {
            println!("{line}");
        }
    }
    Ok(summary.iter().map(|s| s.open).sum())
}

/// The EMF lines for the open items (none without a namespace).
fn open_item_metrics(
    namespace: Option<&str>,
    summary: &[shared::store::synclog::OpenSummary],
    now: time::OffsetDateTime,
) -> Vec<String> {
    use shared::metrics::{Sample, emf_line};
    let Some(namespace) = namespace else {
        return Vec::new();
    };
    let at = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    let age = |s: &shared::store::synclog::OpenSummary| (now - s.oldest).as_seconds_f64().max(0.0);
    let samples = |open: f64, age: f64| {
        [
            Sample {
                name: "OpenReviewItems",
                unit: "Count",
                value: open,
            },
            Sample {
                name: "OldestOpenReviewItemAgeSeconds",
                unit: "Seconds",
                value: age,
            },
        ]
    };
    let mut lines: Vec<String> = summary
        .iter()
        .map(|s| {
            emf_line(
                namespace,
                &[("TenantId", &s.tenant_id)],
                &samples(s.open as f64, age(s)),
                at,
            )
        })
        .collect();
    let most = summary.iter().map(|s| s.open).max().unwrap_or(0) as f64;
    let oldest = summary.iter().map(age).fold(0.0, f64::max);
    lines.push(emf_line(namespace, &[], &samples(most, oldest), at));
    lines
}

/// One DLQ and the queue its messages came from.
#[derive(Clone, Copy)]
struct Stage<'a> {
    name: &'a str,
    dlq: &'a FifoQueue,
    source: &'a FifoQueue,
}

async fn drain(
    function: &Function,
    stage: Stage<'_>,
    per_tenant: &mut HashMap<String, usize>,
    report: &mut DrainReport,
) -> Result<(), StoreError> {
    let mut taken = 0;
    while taken < MAX_PER_QUEUE {
        let messages = stage.dlq.receive(RECEIVE_VISIBILITY).await?;
        if messages.is_empty() {
            break;
        }
        taken += messages.len();
        for message in &messages {
            match settle(function, stage, message, per_tenant).await {
                Ok(Settled::Parked) => report.parked += 1,
                Ok(Settled::Redriven) => report.redriven += 1,
                Ok(Settled::Left | Settled::Dropped) => {}
                Err(e) => {
                    // Left in the DLQ: the next run tries again.
                    tracing::warn!(error = %e, "could not settle a dead-lettered message");
                    report.failed += 1;
                }
            }
        }
    }
    Ok(())
}

enum Settled {
    Parked,
    Redriven,
    /// Over its tenant's share of this run: back in the DLQ for the next one.
    Left,
    Dropped,
}

/// Each tenant's share of one run, so one tenant's backlog cannot starve the others.
pub const MAX_PER_TENANT: usize = 100;
/// Redrives of a message whose tenant's config was saved again before it is parked instead
/// (saving it again is not a fix forever).
pub const MAX_REDRIVES: u32 = 3;
/// Redrives of a message with no failure of its own (it waited behind another of its group,
/// which may be held for the daily limit for hours) before it is parked instead.
pub const MAX_UNRECORDED_REDRIVES: u32 = 10;
/// Events older than this (since the intake received them) are parked whatever their error,
/// a day before the DLQ's 14-day retention could drop them.
const PARK_AFTER: Duration = Duration::from_secs(13 * 86_400);
/// The message attribute counting redrives.
pub const REDRIVES_ATTRIBUTE: &str = "chatsync_redrives";

/// Decides one dead letter by its recorded error class and age: redrive when the cause can
/// have cleared, else park; flush requests are dropped (the sweep renews them).
async fn settle(
    function: &Function,
    stage: Stage<'_>,
    message: &Received,
    per_tenant: &mut HashMap<String, usize>,
) -> Result<Settled, StoreError> {
    let body = message.body.as_str();
    if serde_json::from_str::<FlushRequest>(body).is_ok() {
        tracing::warn!("dropping a dead-lettered flush request; the sweep renews it");
        delete(stage.dlq, message).await?;
        return Ok(Settled::Dropped);
    }
    let Ok(queued) = serde_json::from_str::<QueuedHead>(body) else {
        park(function, stage.name, stage.dlq, message, None).await?;
        return Ok(Settled::Parked);
    };
    let share = per_tenant.entry(queued.tenant_id.clone()).or_default();
    if *share >= MAX_PER_TENANT {
        set_visibility(stage.dlq, message, Duration::from_secs(30)).await?;
        return Ok(Settled::Left);
    }
    *share += 1;
    let redrives: u32 = message
        .attributes
        .get(REDRIVES_ATTRIBUTE)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let now = time::OffsetDateTime::now_utc();
    // The event's age, not this copy's: a redrive is a new message, and a held event must
    // still be parked before any queue's retention could drop it.
    let age = now - queued.received_at;
    let trail: Vec<SyncLogEntry> = function
        .sync_log
        .table()
        .trail(&queued.correlation_id)
        .await?
        .into_iter()
        .map(|l| l.into_entry())
        .collect();
    if redriven_before(&trail, message.message_id.as_deref()) {
        // Sent back by an earlier run whose delete failed: sending it again after SQS's
        // five-minute deduplication window would queue it twice.
        tracing::info!(correlation_id = %queued.correlation_id, "already redriven; deleted");
        delete(stage.dlq, message).await?;
        return Ok(Settled::Dropped);
    }
    let last = newest_error_of(trail, message.message_id.as_deref());
    let since_last = last
        .as_ref()
        .map_or(Duration::MAX, |e| (now - e.at).unsigned_abs());
    let class = last.as_ref().and_then(|e| e.error_class);
    let saved_since_error = match (&last, class) {
        (Some(last), Some(ErrorClass::Configuration)) => function
            .tenants
            .updated_at(&queued.tenant_id)
            .await?
            .filter(|saved| *saved > last.at)
            .map(|saved| (now - saved).unsigned_abs()),
        _ => None,
    };
    let decision = decide(Facts {
        class,
        since_last_error: since_last,
        age: age.unsigned_abs(),
        redrives,
        backoff: function.backoff,
        saved_since_error,
    });
    match decision {
        Decision::Redrive(why) => {
            if class == Some(ErrorClass::Configuration) {
                // Its review item was opened when it failed; the redrive settles it, so a later
                // `chatsync replay --parked` does not send it once more. Closed first: a
                // failure here leaves the message in the DLQ for the next run.
                close_open_items(function, &queued.correlation_id, body).await?;
            }
            redrive_to_source(function, stage, message, &queued, redrives + 1, why).await?;
            Ok(Settled::Redriven)
        }
        Decision::Wait(rest) => {
            // Seen again when the wait is over, not after the receive's two minutes.
            set_visibility(stage.dlq, message, rest.max(Duration::from_secs(1))).await?;
            Ok(Settled::Left)
        }
        Decision::Park => {
            let reason = last.map(|l| l.detail);
            park(function, stage.name, stage.dlq, message, reason).await?;
            Ok(Settled::Parked)
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Decision {
    Redrive(&'static str),
    /// It waits in the DLQ this long: its daily-limit hold, or for the functions to read its
    /// tenant's saved config.
    Wait(Duration),
    Park,
}

/// What is known of a dead letter when it is settled.
#[derive(Debug, Clone, Copy)]
struct Facts {
    /// The class of its newest recorded failure; None when it never failed itself.
    class: Option<ErrorClass>,
    since_last_error: Duration,
    /// Since it was first sent.
    age: Duration,
    redrives: u32,
    /// The consumers' retry policy: its cap is the first wait between redrives, its daily-limit
    /// hold (RATE_LIMIT_HOLD_SECONDS) both that hold and the longest wait between redrives.
    backoff: shared::retry::Backoff,
    /// Time since the tenant was saved again (`chatsync tenant put`), when that was after its
    /// newest failure.
    saved_since_error: Option<Duration>,
}

/// What becomes of a dead letter: by its last recorded error class, the time since that error,
/// its age, how often it was redriven and whether its tenant's config changed since.
fn decide(f: Facts) -> Decision {
    let Facts {
        class,
        since_last_error,
        age,
        redrives,
        backoff,
        saved_since_error,
    } = f;
    let hold = backoff.hold;
    if age > PARK_AFTER {
        return Decision::Park;
    }
    match class {
        // The daily limit: back once the hold has passed; never parked for it.
        Some(ErrorClass::RateLimited) if since_last_error >= hold => {
            Decision::Redrive("the daily API limit may have reset")
        }
        Some(ErrorClass::RateLimited) => Decision::Wait(hold.saturating_sub(since_last_error)),
        // An outage holds: back after a wait that doubles per redrive (the consumers' cap,
        // then twice that, up to the hold), for as long as the event is young enough.
        Some(ErrorClass::Transient | ErrorClass::Session) => {
            let wait = redrive_wait(&backoff, redrives);
            if since_last_error >= wait {
                Decision::Redrive("its errors were transient")
            } else {
                Decision::Wait(wait - since_last_error)
            }
        }
        // The tenant's setup failed it, and an operator has saved the tenant since: back once
        // every function has read the saved config.
        Some(ErrorClass::Configuration) if redrives < MAX_REDRIVES => match saved_since_error {
            Some(since) if since >= TENANT_CACHE_TTL => {
                Decision::Redrive("its tenant's config changed since its error")
            }
            Some(since) => Decision::Wait(TENANT_CACHE_TTL - since),
            None => Decision::Park,
        },
        // No failure of its own: it waited behind a failed message of its conversation (a
        // held or retried one), or its consumer died. Back in line, a bounded number of times.
        None if redrives < MAX_UNRECORDED_REDRIVES => {
            Decision::Redrive("it waited behind another message of its conversation")
        }
        _ => Decision::Park,
    }
}

/// The wait before the next redrive of a transiently failing dead letter redriven `redrives`
/// times already: none the first time (it has just had its consumer's retries), then the
/// consumers' cap, doubling, at most the hold.
fn redrive_wait(backoff: &shared::retry::Backoff, redrives: u32) -> Duration {
    match redrives {
        0 => Duration::ZERO,
        n => backoff
            .cap
            .saturating_mul(1u32 << (n - 1).min(16))
            .min(backoff.hold.max(backoff.cap)),
    }
}

/// Closes the correlation id's open review items of this message body, noting the drainer's
/// redrive.
async fn close_open_items(
    function: &Function,
    correlation_id: &str,
    body: &str,
) -> Result<(), StoreError> {
    for item in function.sync_log.table().trail(correlation_id).await? {
        if item.open && item.payload.as_deref() == Some(body) {
            function
                .sync_log
                .table()
                .close(&item, "retry-drainer (redriven after the tenant was saved)")
                .await?;
        }
    }
    Ok(())
}

/// Whether this dead letter (by its SQS message id, the same on every receive) was already
/// sent back: the drainer records each redrive with the message it came from.
fn redriven_before(trail: &[SyncLogEntry], message_id: Option<&str>) -> bool {
    message_id.is_some_and(|id| {
        trail
            .iter()
            .any(|e| e.step == Step::Retry && e.message_id.as_deref() == Some(id))
    })
}

/// An earlier copy's failures (the original of a replayed or redriven message, parked for an
/// error since fixed) say nothing about this one. Entries written before consumers named
/// their message count only when newer than the last replay.
fn newest_error_of(trail: Vec<SyncLogEntry>, message_id: Option<&str>) -> Option<SyncLogEntry> {
    let replayed = trail
        .iter()
        .filter(|e| e.step == Step::Replay)
        .map(|e| e.at)
        .max();
    trail
        .into_iter()
        .filter(|e| e.error_class.is_some())
        .filter(|e| match e.message_id.as_deref() {
            Some(id) => Some(id) == message_id,
            None => replayed.is_none_or(|r| e.at > r),
        })
        .max_by_key(|e| e.at)
}

/// Sends the message back to its own queue in its original group, then deletes it here.
async fn redrive_to_source(
    function: &Function,
    stage: Stage<'_>,
    message: &Received,
    queued: &QueuedHead,
    redrive: u32,
    why: &str,
) -> Result<(), StoreError> {
    let resend = FifoMessage {
        group_id: message
            .group_id
            .clone()
            .unwrap_or_else(|| queued.group_id()),
        dedupe_id: queued.resend_dedupe_id("redrive", redrive),
        body: message.body.clone(),
    };
    stage
        .source
        .send_counted(&resend, REDRIVES_ATTRIBUTE, redrive)
        .await?;
    let entry = SyncLogEntry::new(
        &queued.correlation_id,
        &queued.tenant_id,
        queued.platform,
        Step::Retry,
        Outcome::Ok,
        format!(
            "redriven from the {} dead-letter queue to its queue ({why}; redrive {redrive})",
            stage.name
        ),
    )
    .topic(&queued.topic)
    .attempts(redrive)
    // The DLQ message it came from: if the delete below fails, the next run sees this and
    // does not send it again.
    .message_id(message.message_id.as_deref());
    if let Err(e) = function.sync_log.record(&entry).await {
        tracing::warn!(error = %e, "sync log write failed");
    }
    delete(stage.dlq, message).await
}

/// Quiet conversations (transcript lines waiting longer than `quiet_after`) get a flush
/// request on write.fifo, in their conversation's group, so the writer writes the lines.
async fn sweep(function: &Function, report: &mut DrainReport) -> Result<(), StoreError> {
    let before = time::OffsetDateTime::now_utc()
        - time::Duration::seconds(
            i64::try_from(function.quiet_after.as_secs()).unwrap_or(i64::MAX),
        );
    for shard in 0..UNSENT_SHARDS {
        for waiting in function
            .conversations
            .waiting(shard, before, SWEEP_LIMIT)
            .await?
        {
            let request = FlushRequest::for_waiting(&waiting);
            let body = serde_json::to_string(&request).map_err(|e| StoreError::Corrupt {
                what: "flush request",
                reason: e.to_string(),
            })?;
            function
                .write_queue
                .send(&request.group_id(), &request.dedupe_id(), &body)
                .await?;
            report.flushed += 1;
        }
    }
    Ok(())
}

async fn park(
    function: &Function,
    stage: &str,
    dlq: &FifoQueue,
    message: &Received,
    reason: Option<String>,
) -> Result<(), StoreError> {
    let body = message.body.as_str();
    let receives = message.receives;
    if serde_json::from_str::<FlushRequest>(body).is_ok() {
        // A flush that kept failing: the next sweep asks again while the lines still wait.
        tracing::warn!("dropping a dead-lettered flush request; the sweep renews it");
        return delete(dlq, message).await;
    }
    if let Ok(d) = serde_json::from_str::<QueuedHead>(body) {
        // A consumer that parked it and then failed (recording a later event of the batch,
        // say) left its review item open already: one item per event is enough.
        let trail = function.sync_log.table().trail(&d.correlation_id).await?;
        if trail
            .iter()
            .any(|l| l.open && l.payload.as_deref() == Some(body))
        {
            tracing::info!(correlation_id = %d.correlation_id, "dead letter already open as a review item");
            return delete(dlq, message).await;
        }
    }
    let mut entry = match serde_json::from_str::<QueuedHead>(body) {
        Ok(d) => SyncLogEntry::new(
            &d.correlation_id,
            &d.tenant_id,
            d.platform,
            Step::Park,
            Outcome::Parked,
            match &reason {
                Some(why) => format!("failed {receives} times at the {stage} step and reached its dead-letter queue; parked for review. Last error: {why}"),
                None => format!("failed {receives} times at the {stage} step and reached its dead-letter queue; parked for review"),
            },
        )
        .topic(&d.topic),
        Err(e) => {
            // Not a delivery at all: keep it under the message id so an operator can see it.
            let id = message.message_id.as_deref().unwrap_or("unknown");
            let mut entry = SyncLogEntry::new(
                id,
                UNKNOWN_TENANT,
                None,
                Step::Park,
                Outcome::Parked,
                format!("unreadable message in the {stage} dead-letter queue: {e}"),
            );
            entry.error_class = Some(ErrorClass::Data);
            entry
        }
    }
    .attempts(receives)
    .payload(body);
    // Where a replay sends it back: the stage whose DLQ it came from, in its original group.
    entry.replay_to = stage.parse().ok();
    entry.group_id.clone_from(&message.group_id);
    function.sync_log.record(&entry).await?;
    delete(dlq, message).await
}

async fn set_visibility(
    dlq: &FifoQueue,
    message: &Received,
    after: Duration,
) -> Result<(), StoreError> {
    match message.receipt.as_deref() {
        Some(receipt) => dlq.set_visibility(&[receipt], after).await,
        None => Ok(()),
    }
}

async fn delete(dlq: &FifoQueue, message: &Received) -> Result<(), StoreError> {
    match message.receipt.as_deref() {
        Some(receipt) => dlq.delete(receipt).await,
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn facts(class: Option<ErrorClass>) -> Facts {
        Facts {
            class,
            since_last_error: HOUR,
            age: HOUR,
            redrives: 0,
            backoff: shared::retry::Backoff {
                base: Duration::from_secs(5),
                cap: Duration::from_secs(300),
                hold: HOUR,
            },
            saved_since_error: None,
        }
    }

    #[test]
    fn dead_letters_are_redriven_by_class_and_parked_otherwise() {
        let t = facts(Some(ErrorClass::Transient));
        assert_eq!(decide(t), Decision::Redrive("its errors were transient"));
        let limited = Facts {
            redrives: 9,
            ..facts(Some(ErrorClass::RateLimited))
        };
        let held = Facts {
            since_last_error: HOUR / 2,
            ..limited
        };
        assert_eq!(decide(held), Decision::Wait(HOUR / 2));
        assert_eq!(
            decide(limited),
            Decision::Redrive("the daily API limit may have reset")
        );
        assert_eq!(decide(facts(Some(ErrorClass::Data))), Decision::Park);
        assert_eq!(
            decide(facts(None)),
            Decision::Redrive("it waited behind another message of its conversation")
        );
        let waited_long = Facts {
            redrives: MAX_UNRECORDED_REDRIVES,
            ..facts(None)
        };
        assert_eq!(decide(waited_long), Decision::Park);
        let old = Facts {
            age: PARK_AFTER + HOUR,
            ..limited
        };
        assert_eq!(decide(old), Decision::Park, "near the DLQ's retention");
    }

    #[test]
    fn an_outage_holds_dead_letters_with_a_growing_wait_and_never_parks_them() {
        let failing = |redrives, since_minutes: u64| Facts {
            redrives,
            since_last_error: Duration::from_secs(since_minutes * 60),
            age: Duration::from_secs(5 * 86_400),
            ..facts(Some(ErrorClass::Transient))
        };
        // At once the first time, then the consumers' cap (5 min), doubling per redrive, at
        // most the hold (1 h).
        assert_eq!(
            decide(failing(0, 0)),
            Decision::Redrive("its errors were transient")
        );
        assert_eq!(
            decide(failing(1, 4)),
            Decision::Wait(Duration::from_secs(60))
        );
        assert_eq!(
            decide(failing(1, 5)),
            Decision::Redrive("its errors were transient")
        );
        assert_eq!(
            decide(failing(2, 5)),
            Decision::Wait(Duration::from_secs(300))
        );
        assert_eq!(
            decide(failing(2, 10)),
            Decision::Redrive("its errors were transient")
        );
        assert_eq!(
            decide(failing(4, 30)),
            Decision::Wait(Duration::from_secs(600))
        );
        assert_eq!(
            decide(failing(50, 59)),
            Decision::Wait(Duration::from_secs(60))
        );
        assert_eq!(
            decide(failing(50, 60)),
            Decision::Redrive("its errors were transient")
        );
        let session = Facts {
            class: Some(ErrorClass::Session),
            ..failing(200, 61)
        };
        assert_eq!(
            decide(session),
            Decision::Redrive("its errors were transient")
        );
        // Parked only before the DLQ's retention could drop it.
        let old = Facts {
            age: PARK_AFTER + HOUR,
            ..failing(9, 120)
        };
        assert_eq!(decide(old), Decision::Park);
    }

    #[test]
    fn open_items_become_one_metric_line_per_tenant_and_one_for_the_alarms() {
        use shared::store::synclog::OpenSummary;
        let now = time::macros::datetime!(2024-05-02 10:00 UTC);
        let summary = [
            OpenSummary {
                tenant_id: "acme".into(),
                open: 2,
                oldest: now - time::Duration::hours(30),
            },
            OpenSummary {
                tenant_id: "globex".into(),
                open: 5,
                oldest: now - time::Duration::minutes(10),
            },
        ];
        assert!(open_item_metrics(None, &summary, now).is_empty());
        let lines = open_item_metrics(Some("chatsync/prod"), &summary, now);
        let parsed: Vec<serde_json::Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[0]["TenantId"], "acme");
        assert_eq!(parsed[0]["OldestOpenReviewItemAgeSeconds"], 30.0 * 3600.0);
        assert_eq!(parsed[1]["OpenReviewItems"], 5.0);
        // The alarms' line: the most open items of any tenant, the oldest item of all.
        assert!(parsed[2].get("TenantId").is_none());
        assert_eq!(parsed[2]["OpenReviewItems"], 5.0);
        assert_eq!(parsed[2]["OldestOpenReviewItemAgeSeconds"], 30.0 * 3600.0);
        // With nothing open the alarms still get a zero, so they can clear.
        let none = open_item_metrics(Some("n"), &[], now);
        let v: serde_json::Value = serde_json::from_str(&none[0]).unwrap();
        assert_eq!(v["OpenReviewItems"], 0.0);
    }

    #[test]
    fn a_dead_letter_redriven_before_is_not_sent_twice() {
        let retry = SyncLogEntry::new("c1", "demo", None, Step::Retry, Outcome::Ok, "redriven")
            .message_id(Some("dlq-1"));
        let failed = SyncLogEntry::new("c1", "demo", None, Step::Write, Outcome::Error, "e")
            .message_id(Some("dlq-2"));
        let trail = [retry, failed];
        assert!(redriven_before(&trail, Some("dlq-1")));
        assert!(
            !redriven_before(&trail, Some("dlq-2")),
            "a failure is no redrive"
        );
        assert!(!redriven_before(&trail, Some("dlq-3")));
        assert!(!redriven_before(&trail, None));
    }

    #[test]
    fn only_this_copys_failures_count() {
        let entry = |message: Option<&str>, class: Option<ErrorClass>, minute: i64| {
            let mut e = SyncLogEntry::new("c1", "demo", None, Step::Write, Outcome::Error, "d")
                .message_id(message);
            e.error_class = class;
            e.at = time::macros::datetime!(2024-05-01 10:00 UTC) + time::Duration::minutes(minute);
            e
        };
        // The original was parked for a data error, then replayed under a new message id.
        let parked = entry(Some("m1"), Some(ErrorClass::Data), 1);
        let written = entry(Some("m2"), None, 3);
        assert_eq!(
            newest_error_of(vec![parked.clone(), written.clone()], Some("m2")),
            None,
            "the replayed copy has no failure of its own"
        );
        let retried = entry(Some("m2"), Some(ErrorClass::Transient), 4);
        assert_eq!(
            newest_error_of(vec![parked.clone(), written, retried.clone()], Some("m2")),
            Some(retried)
        );
        assert_eq!(
            newest_error_of(vec![parked.clone()], Some("m1")),
            Some(parked)
        );
        // Entries that name no message (written before message ids were) still count, unless
        // a replay came after them.
        let unnamed = entry(None, Some(ErrorClass::Transient), 5);
        assert_eq!(
            newest_error_of(vec![unnamed.clone()], Some("m9")),
            Some(unnamed.clone())
        );
        let mut replay = SyncLogEntry::new("c1", "demo", None, Step::Replay, Outcome::Ok, "r");
        replay.at = unnamed.at + time::Duration::minutes(1);
        assert_eq!(newest_error_of(vec![unnamed, replay], Some("m9")), None);
    }

    #[test]
    fn configuration_errors_come_back_once_the_saved_tenant_is_read() {
        let broken = facts(Some(ErrorClass::Configuration));
        assert_eq!(decide(broken), Decision::Park);
        let just_saved = Facts {
            saved_since_error: Some(Duration::from_secs(20)),
            ..broken
        };
        assert_eq!(
            decide(just_saved),
            Decision::Wait(TENANT_CACHE_TTL - Duration::from_secs(20)),
            "the functions may still hold the old config"
        );
        let fixed = Facts {
            saved_since_error: Some(TENANT_CACHE_TTL),
            ..broken
        };
        assert_eq!(
            decide(fixed),
            Decision::Redrive("its tenant's config changed since its error")
        );
        let again = Facts {
            redrives: MAX_REDRIVES,
            ..fixed
        };
        assert_eq!(
            decide(again),
            Decision::Park,
            "saving it again is not a fix forever"
        );
        let data = Facts {
            saved_since_error: Some(HOUR),
            ..facts(Some(ErrorClass::Data))
        };
        assert_eq!(
            decide(data),
            Decision::Park,
            "a data error needs the data fixed"
        );
    }
}
