//! webhook-intake: verify a chat platform's webhook, claim its delivery id, queue it on
//! resolve.fifo and answer 202 with the correlation id. Bad input gets a clear 4xx and nothing
//! is queued; a platform never sees 410 (it would disable an Intercom subscription).

mod error;

pub use error::IntakeError;

use aws_config::SdkConfig;
use lambda_http::{Body, Request, RequestExt, Response};
use shared::config::{ConfigError, Env, vars};
use shared::delivery::{QueuedDelivery, new_correlation_id};
use shared::platforms::{self, Inbound, Platform};
use shared::store::deliveries::{Claim, DeliveryClaims};
use shared::store::queue::FifoQueue;
use shared::store::secrets::TenantSecretStore;
use shared::store::synclog::SyncLogTable;
use shared::store::tenants::{TenantTable, TtlCache};
use shared::synclog::{Outcome, Step, SyncLogEntry};
use shared::tenant::{TenantConfig, TenantSecrets, is_valid_tenant_id};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// Default body limit: SQS takes 256 KiB per message and the envelope needs room.
pub const DEFAULT_MAX_WEBHOOK_BYTES: u64 = 200 * 1024;

/// SQS's message size limit (the queued delivery wraps the body in JSON).
const SQS_MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Tenant config and secrets change rarely; a short cache keeps the intake in microseconds.
const TENANT_CACHE_TTL: Duration = Duration::from_secs(60);

type Tenant = Arc<(TenantConfig, TenantSecrets)>;

/// What the intake needs across invocations, built once per warm function.
pub struct Intake {
    tenants: TenantTable,
    secrets: TenantSecretStore,
    claims: DeliveryClaims,
    resolve_queue: FifoQueue,
    sync_log: SyncLogTable,
    cache: TtlCache<Tenant>,
    max_body_bytes: usize,
    clock: fn() -> OffsetDateTime,
}

impl Intake {
    pub fn from_env(sdk: &SdkConfig, env: &Env) -> Result<Self, ConfigError> {
        let dynamo = aws_sdk_dynamodb::Client::new(sdk);
        Ok(Self {
            tenants: TenantTable::new(dynamo.clone(), env.required(vars::TENANTS_TABLE)?),
            claims: DeliveryClaims::new(dynamo.clone(), env.required(vars::DELIVERIES_TABLE)?),
            sync_log: SyncLogTable::new(dynamo, env.required(vars::SYNC_LOG_TABLE)?),
            secrets: TenantSecretStore::new(
                aws_sdk_secretsmanager::Client::new(sdk),
                env.required(vars::TENANT_SECRET_PREFIX)?,
            ),
            resolve_queue: FifoQueue::new(
                aws_sdk_sqs::Client::new(sdk),
                env.required(vars::RESOLVE_QUEUE_URL)?,
            ),
            cache: TtlCache::new(TENANT_CACHE_TTL),
            max_body_bytes: env.number_or(vars::MAX_WEBHOOK_BYTES, DEFAULT_MAX_WEBHOOK_BYTES)?
                as usize,
            clock: OffsetDateTime::now_utc,
        })
    }

    /// Replaces the clock (tests replay recorded deliveries signed in the past).
    pub fn with_clock(mut self, clock: fn() -> OffsetDateTime) -> Self {
        self.clock = clock;
        self
    }

    async fn tenant(&self, tenant_id: &str) -> Result<Tenant, IntakeError> {
        if let Some(t) = self.cache.get(tenant_id) {
            return Ok(t);
        }
        let config = self
            .tenants
            .get(tenant_id)
            .await?
            .ok_or(IntakeError::UnknownTenant)?;
        // A tenant without its secret cannot verify anything: refuse as unknown, log why.
        let secrets = self.secrets.get(tenant_id).await?.ok_or_else(|| {
            tracing::error!(tenant_id, "tenant has no secret; every delivery is refused");
            IntakeError::UnknownTenant
        })?;
        let tenant = Arc::new((config, secrets));
        self.cache.put(tenant_id, tenant.clone());
        Ok(tenant)
    }
}

/// The Lambda handler: every outcome, error or not, is an HTTP response.
pub async fn handle(
    intake: &Intake,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    let response = match receive(intake, &request).await {
        Ok(reply) => reply.into_response(),
        Err(e) => e.into_response(),
    };
    Ok(response)
}

/// What the intake answers for an accepted request.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// HEAD probe or platform ping.
    Alive,
    Queued {
        correlation_id: String,
    },
    Duplicate {
        correlation_id: String,
    },
}

impl Reply {
    fn into_response(self) -> Response<Body> {
        let (status, body) = match self {
            Reply::Alive => (200, serde_json::json!({"status": "ok"})),
            Reply::Queued { correlation_id } => (
                202,
                serde_json::json!({"status": "queued", "correlation_id": correlation_id}),
            ),
            Reply::Duplicate { correlation_id } => (
                200,
                serde_json::json!({"status": "duplicate", "correlation_id": correlation_id}),
            ),
        };
        error::json_response(status, &body)
    }
}

/// Verifies, claims and queues one request.
pub async fn receive(intake: &Intake, request: &Request) -> Result<Reply, IntakeError> {
    let method = request.method().as_str();
    if method != "POST" && method != "HEAD" {
        return Err(IntakeError::MethodNotAllowed);
    }
    let params = request.path_parameters();
    let platform: Platform = params
        .first("platform")
        .unwrap_or_default()
        .parse()
        .map_err(IntakeError::UnknownPlatform)?;
    let tenant_id = params.first("tenant").unwrap_or_default();
    if !is_valid_tenant_id(tenant_id) {
        return Err(IntakeError::UnknownTenant);
    }
    if method == "HEAD" {
        // Intercom validates the URL with HEAD: answer without touching any store.
        return Ok(Reply::Alive);
    }
    let body = request.body().as_ref();
    if body.len() > intake.max_body_bytes {
        return Err(IntakeError::TooLarge {
            limit: intake.max_body_bytes,
        });
    }
    if body.is_empty() {
        return Err(IntakeError::EmptyBody);
    }

    let tenant = intake.tenant(tenant_id).await?;
    let (config, secrets) = (&tenant.0, &tenant.1);
    if !config.platforms.contains(&platform) {
        return Err(IntakeError::PlatformNotEnabled(platform));
    }
    let now = (intake.clock)();
    let query = request.query_string_parameters_ref();
    let inbound = Inbound {
        headers: request.headers(),
        query_token: query.and_then(|q| q.first("token")),
        body,
        now,
        tidio_tolerance_seconds: config.webhooks.tidio_tolerance_seconds,
    };
    platforms::verify(platform, secrets.webhooks.for_platform(platform), &inbound)?;

    let text = std::str::from_utf8(body).map_err(|_| IntakeError::NotUtf8)?;
    let envelope = platforms::envelope(platform, body)?;
    if envelope.is_ping {
        return Ok(Reply::Alive);
    }

    let mut delivery = QueuedDelivery {
        correlation_id: new_correlation_id(),
        tenant_id: tenant_id.to_owned(),
        platform,
        delivery_id: envelope.delivery_id,
        topic: envelope.topic,
        conversation_key: envelope.conversation_key,
        received_at: now,
        occurred_at: envelope.occurred_at,
        body: text.to_owned(),
    };
    // JSON escaping can grow a body near the limit past what SQS takes in one message:
    // refuse it before claiming anything.
    let provisional =
        serde_json::to_string(&delivery).map_err(|e| IntakeError::Internal(e.to_string()))?;
    if provisional.len() > SQS_MAX_MESSAGE_BYTES {
        return Err(IntakeError::TooLarge {
            limit: intake.max_body_bytes,
        });
    }
    let key = delivery.delivery_key();
    match intake
        .claims
        .claim(&key, &delivery.correlation_id, now)
        .await?
    {
        Claim::New => {}
        Claim::Queued { correlation_id } => {
            tracing::info!(%correlation_id, tenant_id, %platform, "duplicate delivery ignored");
            return Ok(Reply::Duplicate { correlation_id });
        }
        // Claimed by an attempt that did not confirm queueing: queue it under that id again.
        Claim::Pending { correlation_id } => delivery.correlation_id = correlation_id,
    }

    let message =
        serde_json::to_string(&delivery).map_err(|e| IntakeError::Internal(e.to_string()))?;
    intake
        .resolve_queue
        .send(&delivery.group_id(), &delivery.dedupe_id(), &message)
        .await?;
    intake.claims.mark_queued(&key).await?;

    let mut entry = SyncLogEntry::new(
        &delivery.correlation_id,
        tenant_id,
        platform,
        Step::Intake,
        Outcome::Ok,
        format!("verified and queued for resolve ({} bytes)", body.len()),
    )
    .topic(&delivery.topic);
    // Stamped with the receive time: the resolver may log its step before this line is written.
    entry.at = now;
    if let Err(e) = intake.sync_log.append(&entry, config.retention_days).await {
        // The delivery is safely queued; a missing audit line must not make the platform retry.
        tracing::warn!(correlation_id = %delivery.correlation_id, error = %e, "sync log write failed");
    }
    tracing::info!(
        correlation_id = %delivery.correlation_id,
        tenant_id,
        %platform,
        topic = %delivery.topic,
        "queued"
    );
    Ok(Reply::Queued {
        correlation_id: delivery.correlation_id,
    })
}
