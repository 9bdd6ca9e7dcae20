//! identity-resolver: for each queued delivery, find the visitor's Salesforce person and pass
//! the delivery on to write.fifo in conversation order.
//!
//! Identity resolution itself arrives with the `identity` module (issue 5); until then this
//! step is a recorded pass-through: the delivery moves on unchanged and the sync log says so.

use aws_config::SdkConfig;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::LambdaEvent;
use shared::batch::process_in_order;
use shared::config::{ConfigError, Env, vars};
use shared::event::QueuedEvent;
use shared::store::StoreError;
use shared::store::queue::FifoQueue;
use shared::store::synclog::{SyncLogTable, SyncLogWriter};
use shared::store::tenants::TenantTable;
use shared::synclog::{Outcome, Step, SyncLogEntry};
use thiserror::Error;

pub struct Function {
    write_queue: FifoQueue,
    sync_log: SyncLogWriter,
}

#[derive(Debug, Error)]
pub enum ResolveError {
    #[error("queued message is not a delivery: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Function {
    pub fn from_env(sdk: &SdkConfig, env: &Env) -> Result<Self, ConfigError> {
        let dynamo = aws_sdk_dynamodb::Client::new(sdk);
        Ok(Self {
            write_queue: FifoQueue::new(
                aws_sdk_sqs::Client::new(sdk),
                env.required(vars::WRITE_QUEUE_URL)?,
            ),
            sync_log: SyncLogWriter::new(
                SyncLogTable::new(dynamo.clone(), env.required(vars::SYNC_LOG_TABLE)?),
                TenantTable::new(dynamo, env.required(vars::TENANTS_TABLE)?),
            ),
        })
    }
}

pub async fn handle(
    function: &Function,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    Ok(process_in_order(&event.payload, async |record| {
        resolve(function, record).await
    })
    .await)
}

async fn resolve(function: &Function, record: &SqsMessage) -> Result<(), ResolveError> {
    let body = record.body.as_deref().unwrap_or_default();
    let delivery: QueuedEvent = serde_json::from_str(body)?;
    tracing::Span::current().record("correlation_id", delivery.correlation_id.as_str());
    function
        .write_queue
        .send(&delivery.group_id(), &delivery.dedupe_id(), body)
        .await?;
    let entry = SyncLogEntry::new(
        &delivery.correlation_id,
        &delivery.tenant_id,
        delivery.platform,
        Step::Resolve,
        Outcome::Passed,
        "identity resolution not built yet: passed on to the writer unchanged",
    )
    .topic(&delivery.topic)
    .attempts(receive_count(record));
    if let Err(e) = function.sync_log.record(&entry).await {
        // The delivery has moved on; retrying it for an audit line would send it twice.
        tracing::warn!(correlation_id = %delivery.correlation_id, error = %e, "sync log write failed");
    }
    Ok(())
}

fn receive_count(record: &SqsMessage) -> u32 {
    record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}
