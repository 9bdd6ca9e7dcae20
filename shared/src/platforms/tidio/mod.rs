//! Tidio: its webhooks ([`webhook`]: verify, parse, sign).
//!
//! Tenant secret field (name fixed: it is the stored secret's JSON and the tenant TOML):
//! `webhooks.tidio_secret` ([`WEBHOOK_SECRET`], `WebhookSecrets::for_platform` in
//! `crate::tenant`). No REST API client: Tidio's OpenAPI authenticates with a client id and
//! secret pair per workspace, which the tenant secret does not hold, and its webhooks already
//! carry the contact's e-mail and phone, so identity enrichment skips Tidio.

pub mod webhook;

pub use webhook::{SIGNATURE_HEADER, sign};
pub(super) use webhook::{parse, verify};

/// The tenant secret's field with the webhook signing secrets (`[secrets.webhooks]`).
pub const WEBHOOK_SECRET: &str = "tidio_secret";
