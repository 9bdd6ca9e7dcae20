//! retry-drainer: on its schedule, read both dead-letter queues and decide for each message.
//!
//! Redrive needs the error classes the Salesforce steps record (issues 3 and 7); until those
//! exist every dead-lettered message is parked: its payload goes into the sync log as a review
//! item (listed per tenant by the open-by-tenant index) and only then is it deleted from the
//! DLQ, so nothing is lost.

use aws_config::SdkConfig;
use aws_lambda_events::cloudwatch_events::CloudWatchEvent;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use shared::config::{ConfigError, Env, vars};
use shared::error::ErrorClass;
use shared::event::QueuedEvent;
use shared::store::conversations::{Conversations, FlushRequest, UNSENT_SHARDS};
use shared::store::queue::FifoQueue;
use shared::store::synclog::{SyncLogTable, SyncLogWriter};
use shared::store::tenants::TenantTable;
use shared::store::{StoreError, aws_error};
use shared::synclog::{Outcome, Step, SyncLogEntry};
use std::time::Duration;

/// Where review items of unreadable messages are listed (no tenant can be read from them).
/// Not a valid tenant id, so it can never collide with a real tenant's review list.
pub const UNKNOWN_TENANT: &str = "_unreadable";

/// Most messages taken from one DLQ per run, so one run stays well inside its timeout.
pub const MAX_PER_QUEUE: usize = 500;

pub struct Function {
    sqs: aws_sdk_sqs::Client,
    dead_letter_queues: Vec<(&'static str, String)>,
    sync_log: SyncLogWriter,
    conversations: Conversations,
    write_queue: FifoQueue,
    quiet_after: Duration,
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
}

impl Function {
    pub fn from_env(sdk: &SdkConfig, env: &Env) -> Result<Self, ConfigError> {
        let dynamo = aws_sdk_dynamodb::Client::new(sdk);
        Ok(Self {
            sqs: aws_sdk_sqs::Client::new(sdk),
            dead_letter_queues: vec![
                ("resolve", env.required(vars::RESOLVE_DLQ_URL)?),
                ("write", env.required(vars::WRITE_DLQ_URL)?),
            ],
            sync_log: SyncLogWriter::new(
                SyncLogTable::new(dynamo.clone(), env.required(vars::SYNC_LOG_TABLE)?),
                TenantTable::new(dynamo.clone(), env.required(vars::TENANTS_TABLE)?),
            ),
            conversations: Conversations::new(dynamo, env.required(vars::CONVERSATIONS_TABLE)?),
            write_queue: FifoQueue::new(
                aws_sdk_sqs::Client::new(sdk),
                env.required(vars::WRITE_QUEUE_URL)?,
            ),
            quiet_after: Duration::from_secs(
                env.number_or(vars::TRANSCRIPT_QUIET_SECONDS, DEFAULT_QUIET.as_secs())?,
            ),
        })
    }
}

pub async fn handle(
    function: &Function,
    _event: LambdaEvent<CloudWatchEvent>,
) -> Result<DrainReport, lambda_runtime::Error> {
    let mut report = DrainReport::default();
    for (stage, url) in &function.dead_letter_queues {
        drain(function, stage, url, &mut report).await?;
    }
    sweep(function, &mut report).await?;
    tracing::info!(
        parked = report.parked,
        failed = report.failed,
        flushed = report.flushed,
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

async fn drain(
    function: &Function,
    stage: &str,
    url: &str,
    report: &mut DrainReport,
) -> Result<(), StoreError> {
    let mut taken = 0;
    while taken < MAX_PER_QUEUE {
        let out = function
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .visibility_timeout(120)
            .send()
            .await
            .map_err(|e| aws_error("SQS", "ReceiveMessage", e))?;
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        taken += messages.len();
        for message in &messages {
            match park(function, stage, url, message).await {
                Ok(()) => report.parked += 1,
                Err(e) => {
                    // Left in the DLQ: the next run tries again.
                    tracing::warn!(error = %e, "could not park a dead-lettered message");
                    report.failed += 1;
                }
            }
        }
    }
    Ok(())
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
    url: &str,
    message: &Message,
) -> Result<(), StoreError> {
    let body = message.body().unwrap_or_default();
    let receives = message
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if serde_json::from_str::<FlushRequest>(body).is_ok() {
        // A flush that kept failing: the next sweep asks again while the lines still wait.
        tracing::warn!("dropping a dead-lettered flush request; the sweep renews it");
        return delete(function, url, message).await;
    }
    let mut entry = match serde_json::from_str::<QueuedEvent>(body) {
        Ok(d) => SyncLogEntry::new(
            &d.correlation_id,
            &d.tenant_id,
            d.platform,
            Step::Park,
            Outcome::Parked,
            format!("failed {receives} times at the {stage} step and reached its dead-letter queue; parked for review"),
        )
        .topic(&d.topic),
        Err(e) => {
            // Not a delivery at all: keep it under the message id so an operator can see it.
            let id = message.message_id().unwrap_or("unknown");
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
    entry.group_id = message
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
        .cloned();
    function.sync_log.record(&entry).await?;
    delete(function, url, message).await
}

async fn delete(function: &Function, url: &str, message: &Message) -> Result<(), StoreError> {
    if let Some(handle) = message.receipt_handle() {
        function
            .sqs
            .delete_message()
            .queue_url(url)
            .receipt_handle(handle)
            .send()
            .await
            .map_err(|e| aws_error("SQS", "DeleteMessage", e))?;
    }
    Ok(())
}
