//! Why a message could not be resolved, classified for the retry policy.

use shared::error::{Classify, ErrorClass};
use shared::identity::enrich::EnrichError;
use shared::salesforce::SalesforceError;
use shared::store::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ResolveError {
    #[error("queued message is not an event: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("Salesforce: {0}")]
    Salesforce(#[from] SalesforceError),
    #[error("platform contact lookup: {0}")]
    Enrich(#[from] EnrichError),
    #[error("tenant {0} is not configured")]
    UnknownTenant(String),
    #[error("tenant {0} has no Salesforce org connected (no credentials in its secret)")]
    NotConnected(String),
    #[error("Salesforce created nothing for a plan that asked for a record")]
    NothingCreated,
}

impl Classify for ResolveError {
    fn class(&self) -> ErrorClass {
        match self {
            ResolveError::Malformed(_) => ErrorClass::Data,
            ResolveError::Store(e) => e.class(),
            ResolveError::Salesforce(e) => e.class(),
            ResolveError::Enrich(e) => e.class(),
            ResolveError::UnknownTenant(_) | ResolveError::NotConnected(_) => {
                ErrorClass::Configuration
            }
            ResolveError::NothingCreated => ErrorClass::Transient,
        }
    }
}
