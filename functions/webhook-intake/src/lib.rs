//! webhook-intake: verify a chat platform's webhook, claim its delivery id, queue it on
//! resolve.fifo and answer 202 with the correlation id. Bad input gets a clear 4xx and nothing
//! is queued; a platform never sees 410 (it would disable an Intercom subscription).

// A function's output is its tracing (JSON lines for CloudWatch), never bare stdout.
#![warn(clippy::print_stdout)]

mod error;

pub use error::IntakeError;

use aws_config::SdkConfig;
use lambda_http::{Body, Request, RequestExt, Response, http};
use shared::config::{ConfigError, Env, vars};
use shared::event::{self, QueuedEvent, Received};
use shared::mapping::redact::Redactor;
use shared::mask;
use shared::platforms::{self, Inbound, Parsed, Platform};
use shared::seal::Sealer;
use shared::store::deliveries::{
    Admission, BODY_HASH_CLAIM_TTL_SECONDS, CLAIM_TTL_SECONDS, Claim, DeliveryClaims,
};
use shared::store::queue::{FifoMessage, FifoQueue};
use shared::store::secrets::TenantSecretStore;
use shared::store::synclog::SyncLogTable;
use shared::store::tenants::{TenantTable, TtlCache};
use shared::synclog::payload::{self, Personal};
use shared::synclog::{Outcome, Step, SyncLogEntry};
use shared::tenant::{TenantConfig, TenantSecrets, is_valid_tenant_id};
use std::sync::Arc;
use std::time::Instant;
use time::OffsetDateTime;

/// Default body limit: SQS takes 256 KiB per message and the envelope needs room.
pub const DEFAULT_MAX_WEBHOOK_BYTES: u64 = 200 * 1024;

/// SQS's message size limit (the queued delivery wraps the body in JSON).
const SQS_MAX_MESSAGE_BYTES: usize = 256 * 1024;

// Tenant config and secrets change rarely; a short cache (TENANT_CACHE_TTL) keeps the intake
// in microseconds.
type Tenant = Arc<(TenantConfig, TenantSecrets, Redactor)>;

/// What the intake needs across invocations, built once per warm function.
pub struct Intake {
    tenants: TenantTable,
    secrets: TenantSecretStore,
    claims: DeliveryClaims,
    resolve_queue: FifoQueue,
    sealer: Sealer,
    sync_log: SyncLogTable,
    cache: TtlCache<Tenant>,
    max_body_bytes: usize,
    clock: fn() -> OffsetDateTime,
    /// The rate window's clock: the wall clock, whatever `clock` the signature check uses.
    rate_clock: fn() -> OffsetDateTime,
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
            sealer: Sealer::new(
                aws_sdk_kms::Client::new(sdk),
                env.required(vars::EVENT_KEY_ARN)?,
            ),
            cache: TtlCache::new(shared::store::tenants::TENANT_CACHE_TTL),
            max_body_bytes: env.number_or(vars::MAX_WEBHOOK_BYTES, DEFAULT_MAX_WEBHOOK_BYTES)?
                as usize,
            clock: OffsetDateTime::now_utc,
            rate_clock: OffsetDateTime::now_utc,
        })
    }

    /// Replaces the clock (tests replay recorded deliveries signed in the past).
    pub fn with_clock(mut self, clock: fn() -> OffsetDateTime) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the rate window's clock (a test's flood falls in one minute, wherever the
    /// wall clock is).
    pub fn with_rate_clock(mut self, clock: fn() -> OffsetDateTime) -> Self {
        self.rate_clock = clock;
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
        let secrets = self.secrets.webhooks(tenant_id).await?.ok_or_else(|| {
            tracing::error!(tenant_id, "tenant has no secret; every delivery is refused");
            IntakeError::UnknownTenant
        })?;
        // Checked when the tenant was saved; a pattern that no longer compiles redacts cards.
        let redactor = Redactor::new(
            config.transcript.redact_cards,
            &config.transcript.redact_patterns,
        )
        .or_else(|e| {
            tracing::error!(tenant_id, error = %e, "redaction patterns do not compile; cards only");
            Redactor::new(true, &[])
        })
        .map_err(|e| IntakeError::Internal(e.to_string()))?;
        let tenant = Arc::new((config, secrets, redactor));
        self.cache.put(tenant_id, tenant.clone());
        Ok(tenant)
    }
}

/// The Lambda handler: every outcome, error or not, is an HTTP response, and one log line.
pub async fn handle(
    intake: &Intake,
    request: Request,
) -> Result<Response<Body>, lambda_http::Error> {
    let started = Instant::now();
    let mut seen = Seen::default();
    let result = receive_noting(intake, &request, &mut seen).await;
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let (status, outcome) = match &result {
        Ok(reply) => (reply.status(), reply.outcome()),
        Err(e) => (e.status(), e.code()),
    };
    let reason = result.as_ref().err().map(ToString::to_string);
    // The platform sees "retry later"; the operator sees why (the store's own message).
    let cause = match &result {
        Err(IntakeError::Store(e)) => Some(e.to_string()),
        Err(IntakeError::Internal(detail)) => Some(detail.clone()),
        _ => None,
    };
    // One structured line per delivery; personal data masked, secrets and bodies never logged.
    // tracing needs the level at compile time, hence the macro over the two levels.
    macro_rules! delivery_line {
        ($level:expr) => {
            tracing::event!(
                $level,
                correlation_id = seen.correlation_id.as_deref(),
                tenant_id = seen.tenant_id.as_deref(),
                platform = seen.platform.map(Platform::as_str),
                topic = seen.topic.as_deref(),
                events = seen.events,
                visitor_email = seen.visitor_email.as_deref(),
                visitor_phone = seen.visitor_phone.as_deref(),
                status,
                outcome,
                reason = reason.as_deref(),
                cause = cause.as_deref(),
                duration_ms,
                "delivery"
            )
        };
    }
    if status >= 500 {
        delivery_line!(tracing::Level::ERROR);
    } else {
        delivery_line!(tracing::Level::INFO);
    }
    Ok(match result {
        Ok(reply) => reply.into_response(),
        Err(e) => e.into_response(),
    })
}

/// What the intake learned about a delivery, for its log line (masked where personal).
#[derive(Debug, Default)]
struct Seen {
    correlation_id: Option<String>,
    tenant_id: Option<String>,
    platform: Option<Platform>,
    topic: Option<String>,
    events: usize,
    visitor_email: Option<String>,
    visitor_phone: Option<String>,
}

/// What the intake answers for an accepted request.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// HEAD probe or platform ping.
    Alive,
    Queued {
        correlation_id: String,
        events: usize,
    },
    /// A topic chatsync does not sync: accepted so the platform does not retry, then dropped.
    Ignored {
        correlation_id: String,
    },
    Duplicate {
        correlation_id: String,
    },
}

impl Reply {
    fn status(&self) -> u16 {
        match self {
            Reply::Alive | Reply::Duplicate { .. } => 200,
            Reply::Queued { .. } | Reply::Ignored { .. } => 202,
        }
    }

    fn outcome(&self) -> &'static str {
        match self {
            Reply::Alive => "alive",
            Reply::Queued { .. } => "queued",
            Reply::Ignored { .. } => "ignored",
            Reply::Duplicate { .. } => "duplicate",
        }
    }

    fn into_response(self) -> Response<Body> {
        let status = self.status();
        let body = match self {
            Reply::Alive => serde_json::json!({"status": "ok"}),
            Reply::Queued {
                correlation_id,
                events,
            } => {
                serde_json::json!({"status": "queued", "correlation_id": correlation_id, "events": events})
            }
            Reply::Ignored { correlation_id } => {
                serde_json::json!({"status": "ignored", "correlation_id": correlation_id})
            }
            Reply::Duplicate { correlation_id } => {
                serde_json::json!({"status": "duplicate", "correlation_id": correlation_id})
            }
        };
        error::json_response(status, &body)
    }
}

/// Verifies, parses, claims and queues one request.
pub async fn receive(intake: &Intake, request: &Request) -> Result<Reply, IntakeError> {
    receive_noting(intake, request, &mut Seen::default()).await
}

async fn receive_noting(
    intake: &Intake,
    request: &Request,
    seen: &mut Seen,
) -> Result<Reply, IntakeError> {
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
    seen.platform = Some(platform);
    let tenant_id = params.first("tenant").unwrap_or_default();
    if !is_valid_tenant_id(tenant_id) {
        return Err(IntakeError::UnknownTenant);
    }
    seen.tenant_id = Some(tenant_id.to_owned());
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
    check_content_type(request.headers())?;

    let tenant = intake.tenant(tenant_id).await?;
    let (config, secrets, redactor) = (&tenant.0, &tenant.1, &tenant.2);
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
    // Only verified deliveries count: a forger cannot spend a tenant's rate.
    if let Admission::Limited { retry_after } = intake
        .claims
        .admit(tenant_id, (intake.rate_clock)(), config.webhooks.per_minute)
        .await?
    {
        return Err(IntakeError::RateLimited { retry_after });
    }

    let text = std::str::from_utf8(body).map_err(|_| IntakeError::NotUtf8)?;
    let mut accepted = match platforms::parse(platform, body)? {
        Parsed::Ping => return Ok(Reply::Alive),
        Parsed::Unsupported { topic } => {
            seen.topic = Some(topic);
            return Ok(ignored(seen));
        }
        Parsed::Accepted(a) if a.events.is_empty() => {
            seen.topic = Some(a.topic);
            return Ok(ignored(seen));
        }
        Parsed::Accepted(a) => a,
    };
    // Card numbers and the tenant's patterns go before anything is queued or stored.
    for event in &mut accepted.events {
        redactor.redact_event(event);
    }
    seen.topic = Some(accepted.topic.clone());
    seen.events = accepted.events.len();
    if let Some(visitor) = accepted
        .events
        .iter()
        .map(|e| &e.visitor)
        .find(|v| !v.is_empty())
    {
        seen.visitor_email = visitor.email.as_deref().map(mask::email);
        seen.visitor_phone = visitor.phone.as_deref().map(mask::phone);
    }

    let key = event::delivery_key(tenant_id, platform, &accepted.delivery_id);
    let new_id = event::new_correlation_id();
    seen.correlation_id = Some(new_id.clone());
    let received = |correlation_id| Received {
        tenant_id,
        platform,
        correlation_id,
        received_at: now,
        body: text,
    };
    let sealer = &intake.sealer;
    // Sized before claiming: a delivery SQS cannot take is refused without leaving a claim.
    let messages = messages(
        sealer,
        event::queue_events(accepted.clone(), &received(&new_id)),
    )
    .await?;
    if let Some(m) = messages
        .iter()
        .find(|m| m.body.len() > SQS_MAX_MESSAGE_BYTES)
    {
        tracing::warn!(bytes = m.body.len(), "an event is over SQS's message limit");
        return Err(IntakeError::EventTooLarge {
            limit: SQS_MAX_MESSAGE_BYTES,
        });
    }
    // Without a platform delivery id the claim is keyed on the body, and only covers retries.
    // Only a 64-character id can be a body hash: the body is hashed again only then.
    let hashed_id =
        accepted.delivery_id.len() == 64 && accepted.delivery_id == platforms::body_hash(body);
    let ttl = if hashed_id {
        BODY_HASH_CLAIM_TTL_SECONDS
    } else {
        CLAIM_TTL_SECONDS
    };
    let (correlation_id, messages, first) =
        match intake.claims.claim(&key, &new_id, now, ttl).await? {
            Claim::New => (new_id, messages, true),
            Claim::Queued { correlation_id } => {
                seen.correlation_id = Some(correlation_id.clone());
                return Ok(Reply::Duplicate { correlation_id });
            }
            // Claimed by an attempt that did not confirm queueing (crashed, or still running):
            // queue under its correlation id. The dedupe ids are the same, so SQS keeps one copy.
            Claim::Pending { correlation_id } => {
                seen.correlation_id = Some(correlation_id.clone());
                let messages = self::messages(
                    sealer,
                    event::queue_events(accepted.clone(), &received(&correlation_id)),
                )
                .await?;
                (correlation_id, messages, false)
            }
        };

    // The body is kept for audit only as the tenant's payload policy says (masked by default,
    // redacted always) for `payloads.webhook_days`; a repeat of a pending claim does not
    // write it again. A failed audit write must not make the platform retry.
    if first {
        let personal: Vec<String> = accepted
            .events
            .iter()
            .flat_map(|e| e.personal_values())
            .collect();
        let personal = Personal {
            values: personal,
            redactor: Some(redactor),
        };
        let document = payload::pack_webhook(text, &config.payloads, &personal);
        let days = config.payloads.webhook_days.min(config.retention_days);
        let reference = match document {
            Some(document) => match intake.sync_log.put_payload(tenant_id, document, days).await {
                Ok(reference) => Some(reference),
                Err(e) => {
                    tracing::warn!(%correlation_id, error = %e, "webhook copy not stored");
                    None
                }
            },
            None => None,
        };
        let mut entry = SyncLogEntry::new(
            &correlation_id,
            tenant_id,
            platform,
            Step::Intake,
            Outcome::Ok,
            format!(
                "verified and parsed: {} event(s) for resolve ({} bytes)",
                messages.len(),
                body.len()
            ),
        )
        .topic(seen.topic.as_deref().unwrap_or_default());
        entry.payload_ref = reference;
        if let Err(e) = intake.sync_log.append(&entry, config.retention_days).await {
            tracing::warn!(%correlation_id, error = %e, "sync log write failed");
        }
    }
    intake.resolve_queue.send_all(&messages).await?;
    intake.claims.mark_queued(&key).await?;
    Ok(Reply::Queued {
        correlation_id,
        events: messages.len(),
    })
}

fn ignored(seen: &mut Seen) -> Reply {
    let correlation_id = event::new_correlation_id();
    seen.correlation_id = Some(correlation_id.clone());
    Reply::Ignored { correlation_id }
}

/// The resolve.fifo messages of a delivery's events, each sealed (its personal part
/// encrypted under the stack's key).
async fn messages(
    sealer: &Sealer,
    events: Vec<QueuedEvent>,
) -> Result<Vec<FifoMessage>, IntakeError> {
    let mut out = Vec::with_capacity(events.len());
    for e in &events {
        out.push(FifoMessage {
            group_id: e.group_id(),
            dedupe_id: e.dedupe_id(),
            body: sealer.seal(e).await?,
        });
    }
    Ok(out)
}

/// All four platforms send JSON. A request that says it is something else is refused; one
/// that says nothing is read as JSON (a parse failure is then a clear 400).
fn check_content_type(headers: &http::HeaderMap) -> Result<(), IntakeError> {
    let Some(value) = headers.get(http::header::CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = value
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    if json {
        Ok(())
    } else {
        Err(IntakeError::UnsupportedMediaType)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(content_type: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::CONTENT_TYPE, content_type.parse().unwrap());
        h
    }

    #[test]
    fn json_content_types_pass_and_others_are_415() {
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/vnd.api+json",
        ] {
            assert!(check_content_type(&with(ok)).is_ok(), "{ok}");
        }
        assert!(check_content_type(&http::HeaderMap::new()).is_ok());
        for bad in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "",
        ] {
            assert_eq!(
                check_content_type(&with(bad)).map_err(|e| e.status()),
                Err(415),
                "{bad}"
            );
        }
    }
}
