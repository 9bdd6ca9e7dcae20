//! chat-writer: applies each Salesforce change (changes.fifo, one FIFO group per record) to the
//! tenant's chat platforms: the person's details and the `to_chat` mappings
//! (`shared::mapping::to_chat`), an update where the platform has the person, a creation
//! (tagged) where the tenant auto-creates. The platform contact is remembered per record in the
//! links table, and linked to the Salesforce person so its own webhooks resolve to it.

// A function's output is its tracing (JSON lines for CloudWatch), never bare stdout.
#![warn(clippy::print_stdout)]

mod target;

use aws_config::SdkConfig;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::LambdaEvent;
use shared::batch::process_in_order_skipping;
use shared::config::{ConfigError, Env, vars};
use shared::consumer::{Consumer, CoreError, receive_count};
use shared::error::{Classify, ErrorClass};
use shared::event::Platform;
use shared::event::change::SalesforceChange;
use shared::identity::rules::Person;
use shared::mapping::people;
use shared::mapping::state::{RecordWatermarks, Stamp};
use shared::mapping::to_chat::{self, ChatContact, Decision, Facts};
use shared::platforms::api::EnrichError;
use shared::platforms::{intercom, respondio, tidio};
use shared::store::links::{ChatLink, LinkKey, Links};
use shared::store::watermarks::Watermarks;
use shared::synclog::{Outcome, Step, SyncLogEntry};
use shared::tenant::{PlatformApiSecrets, TenantConfig};
use target::{Clients, Target};
use thiserror::Error;
use time::OffsetDateTime;

#[derive(Debug, Error)]
pub enum ChatWriteError {
    #[error(transparent)]
    Core(CoreError),
    #[error("{0}")]
    Platform(#[from] EnrichError),
}

shared::core_error_conversions!(ChatWriteError);

impl Classify for ChatWriteError {
    fn class(&self) -> ErrorClass {
        match self {
            ChatWriteError::Core(e) => e.class(),
            ChatWriteError::Platform(e) => e.class(),
        }
    }
}

pub struct Function {
    kit: Consumer,
    links: Links,
    /// The record's field watermarks: what chatsync wrote to Salesforce (an echo not to send
    /// back), and what it sent to the chat (an echo for the resolver not to write back).
    watermarks: Watermarks,
    clients: Clients,
}

impl Function {
    pub fn from_env(sdk: &SdkConfig, env: &Env) -> Result<Self, ConfigError> {
        let kit = Consumer::from_env(sdk, env, vars::CHANGES_QUEUE_URL)?;
        let invalid = |e: EnrichError| ConfigError::Invalid {
            name: "INTERCOM_API_URL, RESPONDIO_API_URL or TIDIO_API_URL",
            reason: e.to_string(),
        };
        let http = shared::platforms::api::http_client().map_err(invalid)?;
        Ok(Self {
            links: Links::new(kit.dynamo.clone(), env.required(vars::LINKS_TABLE)?),
            watermarks: Watermarks::new(kit.dynamo.clone(), env.required(vars::WATERMARKS_TABLE)?)
                .sealed(kit.sealer.clone()),
            clients: Clients {
                intercom: intercom::client::Client::new(
                    http.clone(),
                    env.optional(vars::INTERCOM_API_URL)
                        .unwrap_or_else(|| intercom::API_BASE.into()),
                )
                .map_err(invalid)?,
                respondio: respondio::client::Client::new(
                    http.clone(),
                    env.optional(vars::RESPONDIO_API_URL)
                        .unwrap_or_else(|| respondio::API_BASE.into()),
                )
                .map_err(invalid)?,
                tidio: tidio::client::Client::new(
                    http,
                    env.optional(vars::TIDIO_API_URL)
                        .unwrap_or_else(|| tidio::client::API_BASE.into()),
                )
                .map_err(invalid)?,
            },
            kit,
        })
    }
}

pub async fn handle(
    function: &Function,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let (response, skipped) = process_in_order_skipping(&event.payload, async |record| {
        write_or_retry(function, record).await
    })
    .await;
    let receipts: Vec<&str> = skipped.iter().map(String::as_str).collect();
    function.kit.requeue_now(&receipts).await;
    Ok(response)
}

/// The retry policy: a retryable failure comes back after a backoff; what cannot succeed is
/// recorded as a review item and dropped from the queue.
async fn write_or_retry(function: &Function, record: &SqsMessage) -> Result<(), ChatWriteError> {
    let body = record.body.as_deref().unwrap_or_default();
    let change = match function.kit.sealer.open_change(body).await {
        Ok(change) => change,
        Err(e) => {
            tracing::error!(error = %e, "a change that does not open; dropped");
            return Ok(());
        }
    };
    let Err(e) = write(function, &change).await else {
        return Ok(());
    };
    let class = e.class();
    let entry = |outcome, detail: String| {
        SyncLogEntry::new(
            &change.correlation_id,
            &change.tenant_id,
            None,
            Step::ToChat,
            outcome,
            detail,
        )
        .attempts(receive_count(record))
        .message_id(record.message_id.as_deref())
        .error_class(class)
    };
    match function.kit.retry_later(&[record], class).await {
        Some(delay) => {
            let retry = entry(
                Outcome::Error,
                format!(
                    "{} {}: {e}; retried in {} s",
                    change.sobject,
                    change.record_id,
                    delay.as_secs()
                ),
            );
            if let Err(err) = function.kit.sync_log.record(&retry).await {
                tracing::warn!(error = %err, "sync log write failed");
            }
            Err(e)
        }
        None => {
            let parked = entry(
                Outcome::Parked,
                format!(
                    "{} {} not written to the chat: {e}",
                    change.sobject, change.record_id
                ),
            );
            function.kit.sync_log.record(&parked).await?;
            Ok(())
        }
    }
}

/// Writes one change to every platform of the tenant that takes writes.
async fn write(function: &Function, change: &SalesforceChange) -> Result<(), ChatWriteError> {
    let config = function.kit.tenant(&change.tenant_id).await?;
    let whom = match to_chat::whom(&change.sobject, &change.record_id, &change.fields) {
        Ok(whom) => whom,
        Err(reason) => {
            log(function, change, None, Outcome::Passed, reason).await;
            return Ok(());
        }
    };
    let mut contact = to_chat::contact(&change.sobject, &change.fields, &config.fields);
    contact.tags = to_chat::tags(
        &change.sobject,
        &change.fields,
        &config.from_salesforce.tags,
    );
    let secrets = function
        .kit
        .secrets
        .salesforce(&change.tenant_id)
        .await?
        .and_then(|s| s.platform_api)
        .unwrap_or_default();
    let person = Person {
        kind: whom.kind,
        id: whom.id.clone(),
        account_id: None,
    };
    // Watermarks matter only for attributes (an echo of the chat's own value).
    let marks = if contact.attributes.is_empty() {
        RecordWatermarks::default()
    } else {
        function
            .watermarks
            .load(&change.tenant_id, &change.sobject, &change.record_id)
            .await?
    };
    let about = About {
        config: &config,
        change,
        person: &person,
        own: whom.own,
        contact: &contact,
        marks: &marks,
        secrets: &secrets,
    };
    let mut sent_any = false;
    for &platform in &config.platforms {
        let (note, sent) = write_platform(function, &about, platform).await?;
        sent_any |= sent;
        log(function, change, Some(platform), Outcome::Ok, note).await;
    }
    if sent_any {
        // The platforms will report these values back (their webhooks): marked as chatsync's,
        // the resolver does not write them to Salesforce again.
        let stamp = Stamp::new(change.received_at, &change.change_id, 0);
        let wanted: Vec<(String, serde_json::Value)> = config
            .fields
            .iter()
            .filter(|m| m.direction.to_chat())
            .filter_map(|m| m.to.split_once('.'))
            .filter(|(object, _)| *object == change.sobject)
            .filter_map(|(_, field)| {
                let value = change.fields.get(field)?;
                Some((
                    field.to_owned(),
                    value
                        .clone()
                        .map_or(serde_json::Value::Null, serde_json::Value::String),
                ))
            })
            .collect();
        if !wanted.is_empty() {
            function
                .watermarks
                .save(
                    &change.tenant_id,
                    &change.sobject,
                    &change.record_id,
                    &people::created_marks(&wanted, &stamp),
                    OffsetDateTime::now_utc(),
                )
                .await?;
        }
    }
    Ok(())
}

/// What one change says, for each platform.
struct About<'a> {
    config: &'a TenantConfig,
    change: &'a SalesforceChange,
    /// The person the change concerns (the record itself, or an event's Contact).
    person: &'a Person,
    own: bool,
    contact: &'a ChatContact,
    marks: &'a RecordWatermarks,
    secrets: &'a PlatformApiSecrets,
}

/// One platform: what is new for it (`to_chat::news`), the decision (`to_chat::decide`), then
/// update or create, tag, and link. The note for the sync log, and whether anything was sent.
async fn write_platform(
    function: &Function,
    about: &About<'_>,
    platform: Platform,
) -> Result<(String, bool), ChatWriteError> {
    let About {
        config,
        change,
        person,
        contact,
        ..
    } = *about;
    let tenant = &change.tenant_id;
    let target = Target::new(&function.clients, platform, about.secrets);
    let link = function
        .links
        .platform_contact(tenant, platform, &person.id)
        .await?;
    let written = link.as_ref().map(|l| l.written.clone()).unwrap_or_default();
    let news = to_chat::news(
        &change.sobject,
        contact,
        &written,
        about.marks,
        &config.fields,
    );
    let mut facts = Facts {
        linked: link.map(|l| l.contact_id),
        found: None,
        auto_create: config.from_salesforce.auto_create,
        tag: config.from_salesforce.auto_create_tag.clone(),
        identifiable: contact.email.is_some() || contact.phone.is_some(),
        writable: Target::writable(platform) && target.is_some(),
        own: about.own,
        left_out_import: to_chat::is_left_out_import(&change.fields, &config.from_salesforce),
    };
    if let (Some(target), None, true) = (&target, &facts.linked, about.own) {
        facts.found = target.find(contact).await?;
    }
    let decision = to_chat::decide(&facts, &news);
    let Some(target) = target else {
        return Ok((
            match decision {
                Decision::Skip { reason } if !Target::writable(platform) => reason,
                _ => "no API credentials for the platform in the tenant's secrets".into(),
            },
            false,
        ));
    };
    let (contact_id, note, sent) = match decision {
        Decision::Skip { reason } => return Ok((reason, false)),
        Decision::Update { contact_id } => {
            if news.has_fields() && target.update(&contact_id, &news).await?.is_none() {
                return Ok((
                    format!("contact {contact_id} is gone from {}", platform.as_str()),
                    false,
                ));
            }
            let tagged = tag_all(&target, &contact_id, news.tags.iter()).await?;
            let note = format!("updated contact {contact_id}{tagged}");
            (contact_id, note, news.clone())
        }
        Decision::Create { tag } => {
            let id = target.create(person, contact).await?;
            let tagged = tag_all(&target, &id, tag.iter().chain(&contact.tags)).await?;
            let note = format!("created contact {id}{tagged}");
            (id, note, contact.clone())
        }
    };
    let now = OffsetDateTime::now_utc();
    let mut written = written;
    written.extend(to_chat::hashes(&sent));
    function
        .links
        .put_platform_contact(
            tenant,
            platform,
            &person.id,
            &ChatLink {
                contact_id: contact_id.clone(),
                written,
            },
            now,
        )
        .await?;
    // The platform's own webhooks about this contact then resolve to the record directly.
    function
        .links
        .put(
            tenant,
            &[LinkKey::PlatformContact {
                platform,
                contact_id: contact_id.clone(),
            }],
            person,
            config.identity.link_ttl_days,
            now,
        )
        .await?;
    Ok((note, true))
}

/// Adds each tag; the note for the sync log.
async fn tag_all(
    target: &Target<'_>,
    id: &str,
    tags: impl Iterator<Item = &String>,
) -> Result<String, ChatWriteError> {
    let mut added = Vec::new();
    for tag in tags {
        if !target.tag(id, tag).await? {
            return Ok(" (the platform has no contact tags)".into());
        }
        added.push(format!("{tag:?}"));
    }
    Ok(if added.is_empty() {
        String::new()
    } else {
        format!(" tagged {}", added.join(", "))
    })
}

async fn log(
    function: &Function,
    change: &SalesforceChange,
    platform: Option<Platform>,
    outcome: Outcome,
    note: String,
) {
    let detail = format!("{} {}: {note}", change.sobject, change.record_id);
    tracing::info!(correlation_id = %change.correlation_id, tenant_id = %change.tenant_id, platform = platform.map(Platform::as_str), %detail, "change");
    let entry = SyncLogEntry::new(
        &change.correlation_id,
        &change.tenant_id,
        platform,
        Step::ToChat,
        outcome,
        detail,
    );
    if let Err(e) = function.kit.sync_log.record(&entry).await {
        tracing::warn!(error = %e, "sync log write failed");
    }
}
