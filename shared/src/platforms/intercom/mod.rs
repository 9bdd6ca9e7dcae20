//! Intercom: its webhooks ([`webhook`]: verify, parse, sign) and its REST API ([`client`]:
//! contact lookup for identity enrichment).
//!
//! Tenant secret fields (names fixed: they are the stored secret's JSON and the tenant TOML):
//! - `webhooks.intercom_client_secret` ([`WEBHOOK_SECRET`]): the app's OAuth client secret,
//!   which signs the webhooks (`WebhookSecrets::for_platform` in `crate::tenant`).
//! - `platform_api.intercom_access_token` ([`API_TOKEN`]): a bearer token that may read contacts
//!   (`PlatformApiSecrets::for_platform`).
//!
//! The API base is [`API_BASE`] unless the `INTERCOM_API_URL` variable (`config::vars`) names
//! another (tests point it at a stand-in).

pub mod canvas;
pub mod client;
pub mod webhook;

pub use client::Client;
pub use webhook::{SIGNATURE_HEADER, sign};
pub(super) use webhook::{parse, verify};

/// Intercom's REST API.
pub const API_BASE: &str = "https://api.intercom.io";
/// The Intercom API version asked for: a 2.x version whose contact object has the fields read
/// here (unchanged through 2.16: the `Intercom-Version` header and the contact schema in
/// Intercom's public OpenAPI, https://github.com/intercom/Intercom-OpenAPI `descriptions/2.16`).
pub const API_VERSION: &str = "2.11";
/// The tenant secret's field with the webhook signing secrets (`[secrets.webhooks]`).
pub const WEBHOOK_SECRET: &str = "intercom_client_secret";
/// The tenant secret's field with the REST API token (`[secrets.platform_api]`).
pub const API_TOKEN: &str = "intercom_access_token";
