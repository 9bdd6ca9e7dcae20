//! Listener errors and the one place they become statuses and SOAP fault texts.

use shared::error::Classify;
use shared::salesforce::outbound::OutboundError;
use shared::store::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ListenError {
    #[error("method not allowed; Salesforce POSTs outbound messages")]
    MethodNotAllowed,
    #[error("unknown tenant")]
    UnknownTenant,
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    #[error("the tenant has no from_salesforce.organization_id: outbound messages are refused")]
    NoOrg,
    #[error("the message's OrganizationId is not the tenant's org")]
    WrongOrg,
    #[error("body exceeds {limit} bytes")]
    TooLarge { limit: usize },
    #[error("body is not UTF-8")]
    NotUtf8,
    #[error("not an outbound message: {0}")]
    Malformed(#[from] OutboundError),
    #[error("temporarily unavailable, retry later")]
    Store(#[from] StoreError),
}

impl ListenError {
    /// The HTTP status. Salesforce retries every answer but an Ack; a client fault says the
    /// message will never be taken as sent, so its sender can be fixed.
    pub fn status(&self) -> u16 {
        match self {
            ListenError::MethodNotAllowed => 405,
            // One answer for all three, so the URL tells no one which tenants exist; the log
            // line names the real reason.
            ListenError::UnknownTenant | ListenError::Unauthorized(_) => 401,
            ListenError::NoOrg | ListenError::WrongOrg => 403,
            ListenError::TooLarge { .. } => 413,
            ListenError::NotUtf8 | ListenError::Malformed(_) => 400,
            ListenError::Store(e) if e.class().is_retryable() => 503,
            ListenError::Store(_) => 500,
        }
    }

    /// A short stable word for the log line.
    pub fn code(&self) -> &'static str {
        match self {
            ListenError::MethodNotAllowed => "method_not_allowed",
            ListenError::UnknownTenant => "unknown_tenant",
            ListenError::Unauthorized(_) => "bad_token",
            ListenError::NoOrg => "no_org",
            ListenError::WrongOrg => "wrong_org",
            ListenError::TooLarge { .. } => "too_large",
            ListenError::NotUtf8 | ListenError::Malformed(_) => "malformed",
            ListenError::Store(_) => "unavailable",
        }
    }

    /// The fault text the sender sees.
    pub fn answer(&self) -> String {
        match self {
            ListenError::UnknownTenant | ListenError::Unauthorized(_) => "unauthorized".into(),
            other => other.to_string(),
        }
    }
}
