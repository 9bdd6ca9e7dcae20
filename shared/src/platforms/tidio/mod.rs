//! Tidio: its webhooks ([`webhook`]: verify, parse, sign) and its OpenAPI ([`client`]: the
//! operators, for the agents' e-mails).
//!
//! Tenant secret fields (names fixed: they are the stored secret's JSON and the tenant TOML):
//! `webhooks.tidio_secret` ([`WEBHOOK_SECRET`], `WebhookSecrets::for_platform` in
//! `crate::tenant`), and `platform_api.tidio_client_id` / `tidio_client_secret` (the OpenAPI
//! key pair from Tidio's panel, Developer > OpenAPI). Contacts are not looked up at the API:
//! Tidio's webhooks carry the contact's e-mail and phone, and it documents no read of one
//! contact by id. The API base is [`client::API_BASE`] unless `TIDIO_API_URL` names another.

pub mod client;
pub mod webhook;

pub use client::Client;
pub use webhook::{SIGNATURE_HEADER, sign};
pub(super) use webhook::{parse, verify};

/// The tenant secret's field with the webhook signing secrets (`[secrets.webhooks]`).
pub const WEBHOOK_SECRET: &str = "tidio_secret";
