//! CloudCX: its webhooks ([`webhook`]: verify by the URL token, parse).
//!
//! Tenant secret field (name fixed: it is the stored secret's JSON and the tenant TOML):
//! `webhooks.cloudcx_token` ([`WEBHOOK_SECRET`], `WebhookSecrets::for_platform` in
//! `crate::tenant`): CloudCX signs nothing, so the webhook URL carries this token. No REST API
//! client: CloudCX's contact endpoints and header format are not documented in anything we
//! could find (its webhook pages, https://cloudfon.atlassian.net/wiki/spaces/CX/pages/288948284,
//! name no contact API) and its per-tenant domain is unknown, so identity
//! enrichment skips CloudCX rather than send a tenant's key somewhere unverified.

pub mod webhook;

pub(super) use webhook::{parse, verify};

/// The tenant secret's field with the webhook URL tokens (`[secrets.webhooks]`).
pub const WEBHOOK_SECRET: &str = "cloudcx_token";
