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

/// Where a function reads its settings: the process environment in Lambda, or a map in tests
/// (the same variables the template sets, resolved by the local stack).
pub struct Env<'a>(Box<Lookup<'a>>);

type Lookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

impl<'a> Env<'a> {
    pub fn process() -> Env<'static> {
        Env(Box::new(|name| std::env::var(name).ok()))
    }

    pub fn from_map(map: &'a std::collections::BTreeMap<String, String>) -> Self {
        Env(Box::new(move |name| map.get(name).cloned()))
    }

    /// A required variable.
    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        match (self.0)(name) {
            Some(v) if !v.trim().is_empty() => Ok(v),
            _ => Err(ConfigError::Missing(name)),
        }
    }

    /// An optional variable.
    pub fn optional(&self, name: &'static str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    /// An optional numeric variable with a default.
    pub fn number_or(&self, name: &'static str, default: u64) -> Result<u64, ConfigError> {
        match (self.0)(name) {
            Some(v) if !v.trim().is_empty() => v.trim().parse().map_err(|e| ConfigError::Invalid {
                name,
                reason: format!("{e}"),
            }),
            _ => Ok(default),
        }
    }
}

/// Names of the variables the template gives the functions.
pub mod vars {
    pub const TENANTS_TABLE: &str = "TENANTS_TABLE";
    pub const DELIVERIES_TABLE: &str = "DELIVERIES_TABLE";
    pub const LINKS_TABLE: &str = "LINKS_TABLE";
    pub const PANEL_CACHE_TABLE: &str = "PANEL_CACHE_TABLE";
    /// Platform REST API bases for enrichment; unset means the vendors' own (tests point
    /// them at a stand-in).
    pub const INTERCOM_API_URL: &str = "INTERCOM_API_URL";
    pub const RESPONDIO_API_URL: &str = "RESPONDIO_API_URL";
    pub const TIDIO_API_URL: &str = "TIDIO_API_URL";
    pub const WATERMARKS_TABLE: &str = "WATERMARKS_TABLE";
    pub const CONVERSATIONS_TABLE: &str = "CONVERSATIONS_TABLE";
    /// The CloudWatch namespace of the drainer's open-items metrics (EMF); unset: none sent.
    pub const METRICS_NAMESPACE: &str = "METRICS_NAMESPACE";
    pub const TRANSCRIPT_QUIET_SECONDS: &str = "TRANSCRIPT_QUIET_SECONDS";
    pub const RETRY_BASE_SECONDS: &str = "RETRY_BASE_SECONDS";
    pub const RETRY_CAP_SECONDS: &str = "RETRY_CAP_SECONDS";
    pub const RATE_LIMIT_HOLD_SECONDS: &str = "RATE_LIMIT_HOLD_SECONDS";
    pub const SYNC_LOG_TABLE: &str = "SYNC_LOG_TABLE";
    pub const RESOLVE_QUEUE_URL: &str = "RESOLVE_QUEUE_URL";
    pub const WRITE_QUEUE_URL: &str = "WRITE_QUEUE_URL";
    pub const CHANGES_QUEUE_URL: &str = "CHANGES_QUEUE_URL";
    pub const RESOLVE_DLQ_URL: &str = "RESOLVE_DLQ_URL";
    pub const WRITE_DLQ_URL: &str = "WRITE_DLQ_URL";
    pub const TENANT_SECRET_PREFIX: &str = "TENANT_SECRET_PREFIX";
    /// The KMS key that seals the personal part of queued events (see `seal`).
    pub const EVENT_KEY_ARN: &str = "EVENT_KEY_ARN";
    pub const MAX_WEBHOOK_BYTES: &str = "MAX_WEBHOOK_BYTES";
    /// Hosts (`host` or `host:port`, comma-separated) the case writer may fetch attachments
    /// from over plain http: the local stack's test servers. Unset in AWS, where attachments
    /// are fetched over https only.
    pub const ATTACHMENT_HTTP_HOSTS: &str = "ATTACHMENT_HTTP_HOSTS";
}

/// The AWS SDK configuration from the standard chain (env, profile, role).
pub async fn aws() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_empty_and_malformed_values_are_named() {
        let map = [
            ("A".to_owned(), "x".to_owned()),
            ("N".to_owned(), "7x".to_owned()),
            ("E".to_owned(), " ".to_owned()),
        ]
        .into_iter()
        .collect();
        let env = Env::from_map(&map);
        assert_eq!(env.required("A"), Ok("x".into()));
        assert_eq!(env.required("B"), Err(ConfigError::Missing("B")));
        assert_eq!(env.required("E"), Err(ConfigError::Missing("E")));
        assert!(matches!(
            env.number_or("N", 1),
            Err(ConfigError::Invalid { name: "N", .. })
        ));
        assert_eq!(env.number_or("M", 5), Ok(5));
    }
}
