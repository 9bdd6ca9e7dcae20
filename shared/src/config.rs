//! Function configuration from the environment the template sets, and the AWS SDK config.
//! Functions find AWS through the standard variables (`AWS_ENDPOINT_URL` locally); nothing here
//! knows whether it runs in AWS or on the local stack.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {0} is not set (the template sets it; locally the host does)")]
    Missing(&'static str),
    #[error("environment variable {name} has an invalid value: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// A required environment variable.
pub fn required(name: &'static str) -> Result<String, ConfigError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(ConfigError::Missing(name)),
    }
}

/// An optional numeric environment variable with a default.
pub fn number_or(name: &'static str, default: u64) -> Result<u64, ConfigError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().map_err(|e| ConfigError::Invalid {
            name,
            reason: format!("{e}"),
        }),
        _ => Ok(default),
    }
}

/// Names of the variables the template gives the functions.
pub mod vars {
    pub const TENANTS_TABLE: &str = "TENANTS_TABLE";
    pub const DELIVERIES_TABLE: &str = "DELIVERIES_TABLE";
    pub const LINKS_TABLE: &str = "LINKS_TABLE";
    pub const WATERMARKS_TABLE: &str = "WATERMARKS_TABLE";
    pub const SYNC_LOG_TABLE: &str = "SYNC_LOG_TABLE";
    pub const RESOLVE_QUEUE_URL: &str = "RESOLVE_QUEUE_URL";
    pub const WRITE_QUEUE_URL: &str = "WRITE_QUEUE_URL";
    pub const RESOLVE_DLQ_URL: &str = "RESOLVE_DLQ_URL";
    pub const WRITE_DLQ_URL: &str = "WRITE_DLQ_URL";
    pub const TENANT_SECRET_PREFIX: &str = "TENANT_SECRET_PREFIX";
    pub const MAX_WEBHOOK_BYTES: &str = "MAX_WEBHOOK_BYTES";
}

/// The AWS SDK configuration from the standard chain (env, profile, role).
pub async fn aws() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
