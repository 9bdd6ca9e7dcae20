//! The consumer kit: what every SQS-fed function builds on, so each new one (the chat writer,
//! the Salesforce listener's consumer…) starts from the same parts instead of a drifting copy.
//!
//! - [`Consumer`]: built once from the environment — the sync log, the cached tenant reader,
//!   the tenant secrets, the Salesforce client and the function's own queue with the retry
//!   backoff; [`Consumer::org`] gives the tenant's org handle with its exchange recorder.
//! - [`CoreError`]: the failures every consumer shares (unreadable message, store, Salesforce,
//!   unknown or unconnected tenant), classified; a function's own error type wraps it and adds
//!   its variants ([`core_error_conversions!`] gives the `?` conversions).
//! - [`receive_count`], [`Consumer::retry_later`], [`Consumer::requeue_now`],
//!   [`Consumer::keep_exchanges`]: the retry policy and payload references, in one place.

use crate::config::{ConfigError, Env, vars};
use crate::error::{Classify, ErrorClass};
use crate::event::QueuedHead;
use crate::mapping::redact::Redactor;
use crate::retry::Backoff;
use crate::salesforce::{
    ClientConfig, Exchanges, Org, Priority, SalesforceClient, SalesforceError,
};
use crate::seal::{OpenError, Sealer};
use crate::store::StoreError;
use crate::store::queue::FifoQueue;
use crate::store::secrets::TenantSecretStore;
use crate::store::synclog::{SyncLogTable, SyncLogWriter};
use crate::store::tenants::{CachedTenants, TENANT_CACHE_TTL, TenantTable};
use crate::synclog::payload::Personal;
use crate::synclog::{Outcome, Stage, Step, SyncLogEntry};
use crate::tenant::TenantConfig;
use aws_config::SdkConfig;
use aws_lambda_events::sqs::SqsMessage;
use std::sync::Arc;
use std::time::Duration;

/// The failures every consumer shares.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("queued message is not an event: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("sealed message does not open: {0}")]
    Unreadable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("Salesforce: {0}")]
    Salesforce(#[from] SalesforceError),
    #[error("tenant {0} is not configured")]
    UnknownTenant(String),
    #[error("tenant {0} has no Salesforce org connected (no credentials in its secret)")]
    NotConnected(String),
}

impl From<OpenError> for CoreError {
    fn from(e: OpenError) -> Self {
        match e {
            OpenError::Malformed(e) => Self::Malformed(e),
            OpenError::Unreadable(e) => Self::Unreadable(e),
            OpenError::Store(e) => Self::Store(e),
        }
    }
}

impl Classify for CoreError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::Malformed(_) | Self::Unreadable(_) => ErrorClass::Data,
            Self::Store(e) => e.class(),
            Self::Salesforce(e) => e.class(),
            Self::UnknownTenant(_) | Self::NotConnected(_) => ErrorClass::Configuration,
        }
    }
}

/// `From` conversions into a function's error type that wraps [`CoreError`] as
/// `Core(CoreError)`, so `?` works on store, Salesforce and JSON errors alike.
#[macro_export]
macro_rules! core_error_conversions {
    ($error:ty) => {
        impl From<$crate::consumer::CoreError> for $error {
            fn from(e: $crate::consumer::CoreError) -> Self {
                Self::Core(e)
            }
        }
        impl From<$crate::store::StoreError> for $error {
            fn from(e: $crate::store::StoreError) -> Self {
                Self::Core(e.into())
            }
        }
        impl From<$crate::salesforce::SalesforceError> for $error {
            fn from(e: $crate::salesforce::SalesforceError) -> Self {
                Self::Core(e.into())
            }
        }
        impl From<serde_json::Error> for $error {
            fn from(e: serde_json::Error) -> Self {
                Self::Core(e.into())
            }
        }
    };
}

/// What an SQS consumer needs, built once per warm function.
pub struct Consumer {
    pub sync_log: SyncLogWriter,
    pub tenants: CachedTenants,
    pub secrets: TenantSecretStore,
    salesforce: SalesforceClient,
    /// The function's own queue: failed messages' visibility is set here (the retry policy).
    pub queue: FifoQueue,
    pub backoff: Backoff,
    /// Shared SDK clients, for the function's own stores.
    pub dynamo: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    /// Opens (and, for consumers that send on or keep state, seals) queued events.
    pub sealer: Arc<Sealer>,
}

impl Consumer {
    /// `own_queue` names the variable holding the URL of the queue the function consumes.
    pub fn from_env(
        sdk: &SdkConfig,
        env: &Env,
        own_queue: &'static str,
    ) -> Result<Self, ConfigError> {
        let dynamo = aws_sdk_dynamodb::Client::new(sdk);
        let sqs = aws_sdk_sqs::Client::new(sdk);
        let tenants = TenantTable::new(dynamo.clone(), env.required(vars::TENANTS_TABLE)?);
        Ok(Self {
            sync_log: SyncLogWriter::new(
                SyncLogTable::new(dynamo.clone(), env.required(vars::SYNC_LOG_TABLE)?),
                tenants.clone(),
            ),
            tenants: CachedTenants::new(tenants, TENANT_CACHE_TTL),
            secrets: TenantSecretStore::new(
                aws_sdk_secretsmanager::Client::new(sdk),
                env.required(vars::TENANT_SECRET_PREFIX)?,
            ),
            salesforce: SalesforceClient::new(ClientConfig::default()).map_err(|e| {
                ConfigError::Invalid {
                    name: "the Salesforce HTTP client",
                    reason: e.to_string(),
                }
            })?,
            queue: FifoQueue::new(sqs.clone(), env.required(own_queue)?),
            backoff: Backoff::from_env(env)?,
            dynamo,
            sqs,
            sealer: Arc::new(Sealer::new(
                aws_sdk_kms::Client::new(sdk),
                env.required(vars::EVENT_KEY_ARN)?,
            )),
        })
    }

    /// A queue other than its own (where it sends on), on the same client.
    pub fn queue_at(&self, env: &Env, name: &'static str) -> Result<FifoQueue, ConfigError> {
        Ok(FifoQueue::new(self.sqs.clone(), env.required(name)?))
    }

    /// Salesforce REST calls this warm function has spent (for tests and benchmarks).
    pub fn salesforce_calls(&self) -> u64 {
        self.salesforce.api_calls()
    }

    pub async fn tenant(&self, tenant_id: &str) -> Result<Arc<TenantConfig>, CoreError> {
        self.tenants
            .get(tenant_id)
            .await?
            .ok_or_else(|| CoreError::UnknownTenant(tenant_id.to_owned()))
    }

    /// The tenant's org; what is sent through it is recorded into `exchanges` for the log.
    pub async fn org(&self, tenant_id: &str, exchanges: &Exchanges) -> Result<Org, CoreError> {
        let credentials = self
            .secrets
            .salesforce(tenant_id)
            .await?
            .and_then(|s| s.salesforce)
            .ok_or_else(|| CoreError::NotConnected(tenant_id.to_owned()))?;
        let config = self.tenant(tenant_id).await?;
        Ok(self
            .org_with(tenant_id, credentials)
            .budgeted(config.api_budget, Priority::Normal)
            .recording(exchanges))
    }

    /// The org for credentials already read (with the tenant's other secrets).
    pub fn org_with(
        &self,
        tenant_id: &str,
        credentials: crate::salesforce::SalesforceCredentials,
    ) -> Org {
        self.salesforce
            .org(tenant_id, credentials, Arc::new(self.secrets.clone()))
    }

    /// The retry policy for failed messages of this queue: SQS offers them again after the
    /// backoff for `class` (or the daily-limit hold). None when retrying cannot help (a data
    /// or configuration error: park it). A failure to set the delay is logged: the queue's
    /// visibility timeout applies instead.
    pub async fn retry_later(
        &self,
        messages: &[&SqsMessage],
        class: ErrorClass,
    ) -> Option<Duration> {
        let receives = messages.iter().map(|m| receive_count(m)).max().unwrap_or(1);
        let delay = self
            .backoff
            .delay(class, receives, crate::retry::jitter())?;
        let receipts: Vec<&str> = messages
            .iter()
            .filter_map(|m| m.receipt_handle.as_deref())
            .collect();
        if let Err(e) = self.queue.set_visibility(&receipts, delay).await {
            tracing::warn!(error = %e, "could not set the retry delay; the queue's timeout applies");
        }
        Some(delay)
    }

    /// A message whose body does not open (`error`). Its head, in clear, names it: a review
    /// item at once when no retry can open it (tampered, another key), so its conversation
    /// is not held behind it; a delayed retry when the cause may pass (KMS busy). True when
    /// it is handled (delete it); false to fail it (a retry, or without a readable head,
    /// the DLQ, where the drainer files it under `_unreadable`).
    pub async fn unopened<E>(&self, record: &SqsMessage, stage: Stage, error: &E) -> bool
    where
        E: Classify + std::fmt::Display,
    {
        let body = record.body.as_deref().unwrap_or_default();
        let Ok(head) = serde_json::from_str::<QueuedHead>(body) else {
            return false;
        };
        let class = error.class();
        let step = match stage {
            Stage::Resolve => Step::Resolve,
            Stage::Write => Step::Write,
        };
        let entry = |outcome, detail: String| {
            SyncLogEntry::new(
                &head.correlation_id,
                &head.tenant_id,
                head.platform,
                step,
                outcome,
                detail,
            )
            .topic(&head.topic)
            .attempts(receive_count(record))
            .message_id(record.message_id.as_deref())
            .error_class(class)
        };
        if let Some(delay) = self.retry_later(&[record], class).await {
            let retry = entry(
                Outcome::Error,
                format!("not opened: {error}; retried in {} s", delay.as_secs()),
            );
            if let Err(e) = self.sync_log.record(&retry).await {
                tracing::warn!(error = %e, "sync log write failed");
            }
            return false;
        }
        let parked = entry(Outcome::Parked, format!("not opened: {error}"))
            .payload(body)
            .replay_to(stage)
            .group_id(&head.group_id());
        match self.sync_log.record(&parked).await {
            Ok(()) => true,
            Err(e) => {
                // The review item is the only record: without it, the message stays queued.
                tracing::warn!(error = %e, "review item not recorded");
                false
            }
        }
    }

    /// Messages skipped behind a failed one of their group: back in line at once.
    pub async fn requeue_now(&self, receipts: &[&str]) {
        if receipts.is_empty() {
            return;
        }
        if let Err(e) = self.queue.set_visibility(receipts, Duration::ZERO).await {
            tracing::warn!(error = %e, "could not return skipped messages early");
        }
    }

    /// Stores what an org handle recorded, masked per the tenant's policy (its redaction and
    /// the people's own `personal` values); the reference goes on the step's entries.
    pub async fn keep_exchanges(
        &self,
        config: &TenantConfig,
        exchanges: &Exchanges,
        personal: Vec<String>,
    ) -> Option<String> {
        if exchanges.is_empty() {
            return None;
        }
        let redactor = Redactor::new(
            config.transcript.redact_cards,
            &config.transcript.redact_patterns,
        )
        .ok();
        let personal = Personal {
            values: personal,
            redactor: redactor.as_ref(),
        };
        self.sync_log
            .keep_exchanges(&config.tenant_id, &config.payloads, exchanges, &personal)
            .await
    }
}

/// How often SQS has handed this message out (1 on the first receive).
pub fn receive_count(message: &SqsMessage) -> u32 {
    message
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_receive_count_defaults_to_the_first_receive() {
        let mut message = SqsMessage::default();
        assert_eq!(receive_count(&message), 1);
        message
            .attributes
            .insert("ApproximateReceiveCount".into(), "4".into());
        assert_eq!(receive_count(&message), 4);
        message
            .attributes
            .insert("ApproximateReceiveCount".into(), "many".into());
        assert_eq!(receive_count(&message), 1);
    }

    #[test]
    fn core_errors_are_classified_for_the_retry_policy() {
        assert_eq!(
            CoreError::UnknownTenant("t".into()).class(),
            ErrorClass::Configuration
        );
        assert_eq!(
            CoreError::NotConnected("t".into()).class(),
            ErrorClass::Configuration
        );
        let malformed = serde_json::from_str::<u8>("x").expect_err("not a number");
        assert_eq!(CoreError::from(malformed).class(), ErrorClass::Data);
    }
}
