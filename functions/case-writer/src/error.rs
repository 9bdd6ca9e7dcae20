//! Why a group of messages could not be written, classified for the retry policy.

use shared::error::{Classify, ErrorClass};
use shared::salesforce::SalesforceError;
use shared::store::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum WriteError {
    #[error("queued message is not an event: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("Salesforce: {0}")]
    Salesforce(#[from] SalesforceError),
    #[error("tenant {0} is not configured")]
    UnknownTenant(String),
    #[error("tenant {0} has no Salesforce org connected (no credentials in its secret)")]
    NotConnected(String),
    #[error("tenant {tenant}: {reason}")]
    BadConfig { tenant: String, reason: String },
    #[error("the conversation's state changed under this write (another invocation); retrying")]
    StateConflict,
    #[error("Salesforce changed the Case again while its conflict was being settled")]
    StillConflicting,
}

impl Classify for WriteError {
    fn class(&self) -> ErrorClass {
        match self {
            WriteError::Malformed(_) => ErrorClass::Data,
            WriteError::Store(e) => e.class(),
            WriteError::Salesforce(e) => e.class(),
            WriteError::UnknownTenant(_)
            | WriteError::NotConnected(_)
            | WriteError::BadConfig { .. } => ErrorClass::Configuration,
            WriteError::StateConflict | WriteError::StillConflicting => ErrorClass::Transient,
        }
    }
}
