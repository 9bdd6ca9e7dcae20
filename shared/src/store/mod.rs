//! Stores: DynamoDB tables, SQS queues and Secrets Manager behind small, purpose-named types.
//! Each is built once per warm function from the SDK config and the template's names.

pub mod deliveries;
pub mod links;
pub mod queue;
pub mod secrets;
pub mod synclog;
pub mod tenants;

use crate::error::{Classify, ErrorClass};
use thiserror::Error;

/// A failure talking to AWS or reading what it returned.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{service} {operation} failed: {message}")]
    Aws {
        service: &'static str,
        operation: &'static str,
        message: String,
        /// Throttling, 5xx, timeouts and dispatch failures are worth retrying.
        retryable: bool,
    },
    #[error("stored {what} is corrupt: {reason}")]
    Corrupt { what: &'static str, reason: String },
}

impl Classify for StoreError {
    fn class(&self) -> ErrorClass {
        match self {
            StoreError::Aws {
                retryable: true, ..
            } => ErrorClass::Transient,
            StoreError::Aws { .. } | StoreError::Corrupt { .. } => ErrorClass::Configuration,
        }
    }
}

/// Maps an SDK error into a `StoreError`, keeping the service's own message.
pub fn aws_error<E, R>(
    service: &'static str,
    operation: &'static str,
    err: aws_sdk_dynamodb::error::SdkError<E, R>,
) -> StoreError
where
    E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_dynamodb::error::SdkError;
    let retryable = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(s) => {
            let code = s.err().code().unwrap_or_default();
            code.contains("Throttl")
                || code.contains("RequestLimitExceeded")
                || code.contains("ProvisionedThroughputExceeded")
                || code.contains("InternalServer")
                || code.contains("ServiceUnavailable")
        }
        _ => false,
    };
    let message = match &err {
        SdkError::ServiceError(s) => format!(
            "{}: {}",
            s.err().code().unwrap_or("error"),
            s.err().message().unwrap_or_default()
        ),
        other => aws_sdk_dynamodb::error::DisplayErrorContext(other).to_string(),
    };
    StoreError::Aws {
        service,
        operation,
        message,
        retryable,
    }
}
