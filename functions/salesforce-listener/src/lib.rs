//! salesforce-listener: takes a Salesforce Outbound Message (`POST
//! /salesforce/{tenant}/outbound?token=…`), checks the URL's token and the message's org id,
//! claims each notification id, queues each change on changes.fifo and acknowledges at once.
//!
//! Salesforce waits up to 60 s for the Ack and retries anything else for 24 hours, out of order
//! and sometimes twice (docs/salesforce-to-chat.md). So the answer comes before any chat
//! platform is written; a repeat of a notification already queued is acknowledged and queues
//! nothing; what will never parse is answered with a SOAP client fault at once; and a store
//! that fails is a server fault, which Salesforce retries.

// A function's output is its tracing (JSON lines for CloudWatch), never bare stdout.
#![warn(clippy::print_stdout)]

mod error;

pub use error::ListenError;

use aws_config::SdkConfig;
use lambda_http::{Body, Request, RequestExt, Response, http};
use shared::config::{ConfigError, Env, vars};
use shared::event::change::{ChangeSource, SalesforceChange};
use shared::salesforce::outbound;
use shared::seal::Sealer;
use shared::store::deliveries::{Claim, DeliveryClaims};
use shared::store::queue::FifoQueue;
use shared::store::secrets::TenantSecretStore;
use shared::store::tenants::{TenantTable, TtlCache};
use shared::tenant::{TenantConfig, TenantSecrets, is_valid_tenant_id};
use std::sync::Arc;
use std::time::Instant;
use time::OffsetDateTime;

/// A message of 100 notifications with a few dozen fields each stays well below this.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How long a notification id is remembered: past Salesforce's 24 hours of retries.
pub const NOTIFICATION_CLAIM_TTL_SECONDS: i64 = 2 * 24 * 3600;

type Tenant = Arc<(TenantConfig, TenantSecrets)>;

/// What the listener needs across invocations, built once per warm function.
pub struct Listener {
    tenants: TenantTable,
    secrets: TenantSecretStore,
    claims: DeliveryClaims,
    changes: FifoQueue,
    sealer: Sealer,
    cache: TtlCache<Tenant>,
}

impl Listener {
    pub fn from_env(sdk: &SdkConfig, env: &Env) -> Result<Self, ConfigError> {
        let dynamo = aws_sdk_dynamodb::Client::new(sdk);
        Ok(Self {
            tenants: TenantTable::new(dynamo.clone(), env.required(vars::TENANTS_TABLE)?),
            claims: DeliveryClaims::new(dynamo, env.required(vars::DELIVERIES_TABLE)?),
            secrets: TenantSecretStore::new(
                aws_sdk_secretsmanager::Client::new(sdk),
                env.required(vars::TENANT_SECRET_PREFIX)?,
            ),
            changes: FifoQueue::new(
                aws_sdk_sqs::Client::new(sdk),
                env.required(vars::CHANGES_QUEUE_URL)?,
            ),
            sealer: Sealer::new(
                aws_sdk_kms::Client::new(sdk),
                env.required(vars::EVENT_KEY_ARN)?,
            ),
            cache: TtlCache::new(shared::store::tenants::TENANT_CACHE_TTL),
        })
    }

    async fn tenant(&self, tenant_id: &str) -> Result<Tenant, ListenError> {
        if let Some(t) = self.cache.get(tenant_id) {
            return Ok(t);
        }
        let config = self
            .tenants
            .get(tenant_id)
            .await?
            .ok_or(ListenError::UnknownTenant)?;
        let secrets = self
            .secrets
            .webhooks(tenant_id)
            .await?
            .ok_or(ListenError::UnknownTenant)?;
        let tenant = Arc::new((config, secrets));
        self.cache.put(tenant_id, tenant.clone());
        Ok(tenant)
    }
}

/// What an acknowledged message did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Acked {
    pub notifications: usize,
    /// Queued now (the others were repeats of notifications already queued).
    pub queued: usize,
}

/// What the log line says about a message.
#[derive(Debug, Default)]
struct Seen {
    tenant_id: Option<String>,
    correlation_id: Option<String>,
    action_id: Option<String>,
    sobjects: Vec<String>,
}

/// The Lambda handler: every outcome is a SOAP answer and one log line.
pub async fn handle(
    listener: &Listener,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    let started = Instant::now();
    let mut seen = Seen::default();
    let result = receive(listener, &request, &mut seen, OffsetDateTime::now_utc()).await;
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let (status, outcome, queued, notifications) = match &result {
        Ok(acked) => (200, "acknowledged", acked.queued, acked.notifications),
        Err(e) => (e.status(), e.code(), 0, 0),
    };
    let reason = result.as_ref().err().map(ToString::to_string);
    macro_rules! line {
        ($level:expr) => {
            tracing::event!(
                $level,
                correlation_id = seen.correlation_id.as_deref(),
                tenant_id = seen.tenant_id.as_deref(),
                action_id = seen.action_id.as_deref(),
                sobjects = seen.sobjects.join(",").as_str(),
                notifications,
                queued,
                status,
                outcome,
                reason = reason.as_deref(),
                duration_ms,
                "outbound message"
            )
        };
    }
    if status >= 500 {
        line!(tracing::Level::ERROR);
    } else {
        line!(tracing::Level::INFO);
    }
    let (status, body) = match &result {
        Ok(_) => (200, outbound::ack()),
        Err(e) => (e.status(), outbound::fault(e.status() < 500, &e.answer())),
    };
    Ok(Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "text/xml; charset=utf-8")
        .body(Body::Text(body))?)
}

async fn receive(
    listener: &Listener,
    request: &Request,
    seen: &mut Seen,
    now: OffsetDateTime,
) -> Result<Acked, ListenError> {
    if request.method() != http::Method::POST {
        return Err(ListenError::MethodNotAllowed);
    }
    let tenant_id = request
        .path_parameters()
        .first("tenant")
        .unwrap_or_default()
        .to_owned();
    if !is_valid_tenant_id(&tenant_id) {
        return Err(ListenError::UnknownTenant);
    }
    seen.tenant_id = Some(tenant_id.clone());
    let body = request.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(ListenError::TooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    let tenant = listener.tenant(&tenant_id).await?;
    let (config, secrets) = (&tenant.0, &tenant.1);
    // The token first: nothing of the body is read for a caller that does not hold it.
    let token = request
        .query_string_parameters_ref()
        .and_then(|q| q.first("token"))
        .ok_or(ListenError::Unauthorized("the URL has no token"))?;
    if !shared::secret::matches_any(&secrets.webhooks.salesforce_outbound_token, token) {
        return Err(ListenError::Unauthorized(
            "the URL's token is not the tenant's",
        ));
    }
    let text = std::str::from_utf8(body).map_err(|_| ListenError::NotUtf8)?;
    let message = outbound::parse(text)?;
    seen.action_id = Some(message.action_id.clone());
    if config.from_salesforce.organization_id.is_none() {
        return Err(ListenError::NoOrg);
    }
    if !config.from_salesforce.is_org(&message.organization_id) {
        return Err(ListenError::WrongOrg);
    }
    let correlation_id = shared::event::new_correlation_id();
    seen.correlation_id = Some(correlation_id.clone());
    let mut acked = Acked {
        notifications: message.notifications.len(),
        queued: 0,
    };
    for n in message.notifications {
        seen.sobjects.push(n.sobject.clone());
        let change = SalesforceChange {
            tenant_id: tenant_id.clone(),
            correlation_id: correlation_id.clone(),
            source: ChangeSource::OutboundMessage,
            change_id: n.id,
            sobject: n.sobject,
            record_id: n.record_id,
            received_at: now,
            fields: n.fields,
        };
        if queue_once(listener, &change, now).await? {
            acked.queued += 1;
        }
    }
    Ok(acked)
}

/// Claims the notification id and queues the change unless a claim says it is queued already.
/// A claim left pending (a crash between claim and queue) is queued again: the same dedupe id
/// keeps SQS from taking it twice within five minutes, the chat writer's watermarks after that.
async fn queue_once(
    listener: &Listener,
    change: &SalesforceChange,
    now: OffsetDateTime,
) -> Result<bool, ListenError> {
    let key = format!("sf-outbound#{}#{}", change.tenant_id, change.change_id);
    let claim = listener
        .claims
        .claim(
            &key,
            &change.correlation_id,
            now,
            NOTIFICATION_CLAIM_TTL_SECONDS,
        )
        .await?;
    if matches!(claim, Claim::Queued { .. }) {
        return Ok(false);
    }
    let body = listener.sealer.seal_change(change).await?;
    listener
        .changes
        .send(&change.group_id(), &change.dedupe_id(), &body)
        .await?;
    listener.claims.mark_queued(&key).await?;
    Ok(true)
}
