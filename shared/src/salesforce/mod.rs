//! The Salesforce REST client.
//!
//! - [`SalesforceClient`]: one per warm function; [`SalesforceClient::org`] gives an [`Org`]
//!   handle per tenant, through which every call goes (auth, refresh-and-replay, limit header).
//! - [`auth`]: credentials (the tenant secret's shape) and the [`TokenSink`] for rotation.
//! - [`soql`]: injection-proof SOQL/SOSL text. [`composite`], [`collections`], [`plan`]: batching.
//! - [`error`]: one [`SalesforceError`], classified with [`crate::error::Classify`].
//! - [`limits`]: the `Sforce-Limit-Info` header and the per-tenant [`ApiBudget`].
//!
//! Nothing here assumes a Salesforce host: `login_url` and `instance_url` are plain URLs, so the
//! same code runs against the local emulator over http.

pub mod auth;
pub mod client;
pub mod collections;
pub mod composite;
pub mod datetime;
pub mod describe;
pub mod error;
pub mod exchanges;
pub mod limits;
pub mod outbound;
pub mod plan;
mod rest;
pub mod soql;

/// The one REST API version chatsync speaks. Upsert answers depend on it (200 + `created` from
/// v46.0), so change it only with the tests that pin those answers.
pub const API_VERSION: &str = "v62.0";

pub use auth::{Credentials, DiscardTokens, SalesforceCredentials, TokenSink, TokenSinkError};
pub use client::{ClientConfig, Org, SalesforceClient, Session};
pub use collections::SaveResult;
pub use composite::{CompositeRequest, CompositeResponse, SubRequest, SubResponse, reference};
pub use describe::{FieldDescribe, SObjectDescribe};
pub use error::{ApiError, SalesforceError};
pub use exchanges::{Exchange, Exchanges, Recorded};
pub use limits::{ApiBudget, ApiUsage, Priority};
pub use plan::{CompositePlan, plan_collections, plan_composite};
pub use rest::{QueryPage, Updated, UpsertOutcome};
pub use soql::{SearchGroup, Soql, SoqlValue, Sosl};

#[cfg(test)]
mod client_tests;
#[cfg(test)]
pub(crate) mod test_support;
