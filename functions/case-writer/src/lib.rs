//! case-writer: plan and send the Salesforce changes for each resolved delivery.
//!
//! The Salesforce client (issue 3) and the mapping (issue 6) are not built yet; until they are,
//! this step records in the sync log that nothing was written, and acknowledges the message.

use aws_config::SdkConfig;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::LambdaEvent;
use shared::batch::process_in_order;
use shared::config::{ConfigError, Env, vars};
use shared::event::QueuedEvent;
use shared::store::StoreError;
use shared::store::synclog::{SyncLogTable, SyncLogWriter};
use shared::store::tenants::TenantTable;
use shared::synclog::{Outcome, Step, SyncLogEntry};
use thiserror::Error;

pub struct Function {
    sync_log: SyncLogWriter,
}

#[derive(Debug, Error)]
pub enum WriteError {
    #[error("queued message is not a delivery: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Function {
    pub fn from_env(sdk: &SdkConfig, env: &Env) -> Result<Self, ConfigError> {
        let dynamo = aws_sdk_dynamodb::Client::new(sdk);
        Ok(Self {
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
    Ok(process_in_order(&event.payload, async |record| write(function, record).await).await)
}

async fn write(function: &Function, record: &SqsMessage) -> Result<(), WriteError> {
    let delivery: QueuedEvent = serde_json::from_str(record.body.as_deref().unwrap_or_default())?;
    tracing::Span::current().record("correlation_id", delivery.correlation_id.as_str());
    let entry = SyncLogEntry::new(
        &delivery.correlation_id,
        &delivery.tenant_id,
        delivery.platform,
        Step::Write,
        Outcome::Passed,
        "Salesforce writer not built yet: nothing written",
    )
    .topic(&delivery.topic);
    function.sync_log.record(&entry).await?;
    Ok(())
}
