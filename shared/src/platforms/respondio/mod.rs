//! respond.io: its webhooks ([`webhook`]: verify, parse, sign) and its REST API ([`client`]:
//! contact lookup for identity enrichment).
//!
//! Tenant secret fields (names fixed: they are the stored secret's JSON and the tenant TOML):
//! - `webhooks.respondio_signing_key` ([`WEBHOOK_SECRET`]): one signing key per webhook, so a
//!   tenant usually lists several (`WebhookSecrets::for_platform` in `crate::tenant`).
//! - `platform_api.respondio_api_token` ([`API_TOKEN`]): the workspace's API access token
//!   (`PlatformApiSecrets::for_platform`).
//!
//! The API base is [`API_BASE`] unless the `RESPONDIO_API_URL` variable (`config::vars`) names
//! another (tests point it at a stand-in).

pub mod client;
pub mod webhook;

pub use client::Client;
pub use webhook::{SIGNATURE_HEADER, sign};
pub(super) use webhook::{parse, verify};

/// respond.io's REST API, version included.
pub const API_BASE: &str = "https://api.respond.io/v2";
/// The tenant secret's field with the webhook signing keys (`[secrets.webhooks]`).
pub const WEBHOOK_SECRET: &str = "respondio_signing_key";
/// The tenant secret's field with the REST API token (`[secrets.platform_api]`).
pub const API_TOKEN: &str = "respondio_api_token";
