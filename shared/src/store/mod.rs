//! Stores: DynamoDB tables, SQS queues and Secrets Manager behind small, purpose-named types.
//! Each is built once per warm function from the SDK config and the template's names.

pub mod conversations;
pub mod deliveries;
pub mod links;
pub mod panel_cache;
pub mod poll;
pub mod queue;
pub mod sealed_attr;
pub mod secrets;
pub mod synclog;
pub mod tenants;
pub mod watermarks;

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
                || code.contains("InternalService")
                || code.contains("ServiceUnavailable")
                // KMS: "You can retry the request" for each of these.
                // https://docs.aws.amazon.com/kms/latest/APIReference/API_Decrypt.html#API_Decrypt_Errors
                || code == "KMSInternalException"
                || code == "DependencyTimeoutException"
                || code == "KeyUnavailableException"
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

/// Writes items with BatchWriteItem, 25 at a time, retrying what DynamoDB leaves unprocessed.
pub(crate) async fn batch_put(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    items: Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>,
) -> Result<(), StoreError> {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    use std::collections::HashMap;
    for chunk in items.chunks(25) {
        let mut requests = Vec::with_capacity(chunk.len());
        for item in chunk {
            let put = PutRequest::builder()
                .set_item(Some(item.clone()))
                .build()
                .map_err(|e| StoreError::Corrupt {
                    what: "batch item",
                    reason: e.to_string(),
                })?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        let mut pending = HashMap::from([(table.to_owned(), requests)]);
        for _ in 0..8 {
            let out = client
                .batch_write_item()
                .set_request_items(Some(pending))
                .send()
                .await
                .map_err(|e| aws_error("DynamoDB", "BatchWriteItem", e))?;
            match out.unprocessed_items {
                Some(left) if left.values().any(|v| !v.is_empty()) => pending = left,
                _ => {
                    pending = HashMap::new();
                    break;
                }
            }
        }
        if pending.values().any(|v| !v.is_empty()) {
            return Err(StoreError::Aws {
                service: "DynamoDB",
                operation: "BatchWriteItem",
                message: "items left unprocessed after retries".into(),
                retryable: true,
            });
        }
    }
    Ok(())
}

/// A DynamoDB item as the SDK gives it.
pub(crate) type Item = std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

/// The items of a query across its pages (the SDK's paginator), at most `max`.
pub(crate) async fn query_items(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    max: usize,
) -> Result<Vec<Item>, StoreError> {
    let mut pages = query.into_paginator().send();
    let mut out = Vec::new();
    while out.len() < max {
        let Some(page) = pages.next().await else {
            break;
        };
        let page = page.map_err(|e| aws_error("DynamoDB", "Query", e))?;
        out.extend(page.items.unwrap_or_default());
    }
    out.truncate(max);
    Ok(out)
}

/// Every item of a scan, across its pages.
pub(crate) async fn scan_items(
    scan: aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder,
) -> Result<Vec<Item>, StoreError> {
    let mut pages = scan.into_paginator().send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error("DynamoDB", "Scan", e))?;
        out.extend(page.items.unwrap_or_default());
    }
    Ok(out)
}
