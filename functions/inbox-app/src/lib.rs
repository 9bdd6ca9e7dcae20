//! inbox-app: Salesforce inside the chat inbox. For Intercom, a Canvas Kit inbox app:
//! `POST /inbox/intercom/{tenant}/{initialize|submit}`, signed with `X-Body-Signature`
//! (checked in constant time before the body is read), answered with a canvas of the
//! conversation's customer as Salesforce knows them: the person, their Account, open
//! Opportunities and open Cases (docs/inbox-panel.md).
//!
//! The customer is found by the link the pipeline made (no lookup); a view costs one
//! composite call and is cached 60 seconds per person (`store::panel_cache`).

// A function's output is its tracing (JSON lines for CloudWatch), never bare stdout.
#![warn(clippy::print_stdout)]

mod error;
mod web;

pub use error::PanelError;

use aws_config::SdkConfig;
use lambda_http::{Body, Request, RequestExt, Response, http};
use serde_json::Value;
use shared::config::{ConfigError, Env, vars};
use shared::event::resolution::{Person, PersonKind};
use shared::panel::{self, PanelView};
use shared::platforms::Platform;
use shared::platforms::intercom::canvas::{self, CanvasRequest};
use shared::salesforce::{ClientConfig, Org, Priority, SalesforceClient, SalesforceError};
use shared::store::links::{LinkKey, Links};
use shared::store::panel_cache::PanelCache;
use shared::store::secrets::TenantSecretStore;
use shared::store::tenants::{CachedTenants, TENANT_CACHE_TTL, TenantTable};
use shared::tenant::{PanelConfig, TenantConfig, is_valid_tenant_id};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use time::OffsetDateTime;

/// Canvas Kit requests carry the current canvas and stored data, each at most 64 KiB.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// What the app needs across invocations, built once per warm function.
pub struct App {
    intercom: shared::platforms::intercom::client::Client,
    tenants: CachedTenants,
    secrets: TenantSecretStore,
    links: Links,
    cache: PanelCache,
    salesforce: SalesforceClient,
}

impl App {
    pub fn from_env(sdk: &SdkConfig, env: &Env) -> Result<Self, ConfigError> {
        let dynamo = aws_sdk_dynamodb::Client::new(sdk);
        let sealer = Arc::new(shared::seal::Sealer::new(
            aws_sdk_kms::Client::new(sdk),
            env.required(vars::EVENT_KEY_ARN)?,
        ));
        let http = shared::platforms::api::http_client().map_err(|e| ConfigError::Invalid {
            name: "the platforms' HTTP client",
            reason: e.to_string(),
        })?;
        let intercom = shared::platforms::intercom::client::Client::new(
            http,
            env.optional(vars::INTERCOM_API_URL)
                .unwrap_or_else(|| shared::platforms::intercom::API_BASE.into()),
        )
        .map_err(|e| ConfigError::Invalid {
            name: "INTERCOM_API_URL",
            reason: e.to_string(),
        })?;
        Ok(Self {
            intercom,
            tenants: CachedTenants::new(
                TenantTable::new(dynamo.clone(), env.required(vars::TENANTS_TABLE)?),
                TENANT_CACHE_TTL,
            ),
            secrets: TenantSecretStore::new(
                aws_sdk_secretsmanager::Client::new(sdk),
                env.required(vars::TENANT_SECRET_PREFIX)?,
            ),
            links: Links::new(dynamo.clone(), env.required(vars::LINKS_TABLE)?),
            cache: PanelCache::new(dynamo, env.required(vars::PANEL_CACHE_TABLE)?, sealer),
            salesforce: SalesforceClient::new(ClientConfig::default()).map_err(|e| {
                ConfigError::Invalid {
                    name: "the Salesforce HTTP client",
                    reason: e.to_string(),
                }
            })?,
        })
    }

    /// Salesforce REST calls this warm function has spent (for tests and benchmarks).
    pub fn salesforce_calls(&self) -> u64 {
        self.salesforce.api_calls()
    }
}

/// What the log line says of a request.
#[derive(Debug, Default)]
struct Seen {
    tenant_id: Option<String>,
    action: Option<String>,
    /// `hit`, `miss` or none (nothing to read).
    cache: Option<&'static str>,
    salesforce_calls: u64,
}

/// The Lambda handler: every outcome is a JSON answer and one log line.
pub async fn handle(app: &App, request: Request) -> Result<Response<Body>, lambda_http::Error> {
    if request.uri().path().starts_with("/panel/") {
        return web::handle(app, request).await;
    }
    let started = Instant::now();
    let mut seen = Seen::default();
    let result = answer(app, &request, &mut seen, OffsetDateTime::now_utc()).await;
    let (status, body) = match &result {
        Ok(canvas) => (200, canvas.clone()),
        Err(e) => match e.card() {
            // What the agent should read goes in a card Intercom shows.
            Some((title, text)) => (200, canvas::message(title, &text)),
            None => (e.status(), serde_json::json!({"error": e.to_string()})),
        },
    };
    let reason = result.as_ref().err().map(ToString::to_string);
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    macro_rules! line {
        ($level:expr) => {
            tracing::event!(
                $level,
                tenant_id = seen.tenant_id.as_deref(),
                action = seen.action.as_deref(),
                cache = seen.cache,
                salesforce_calls = seen.salesforce_calls,
                status,
                reason = reason.as_deref(),
                duration_ms,
                "inbox panel"
            )
        };
    }
    if status >= 500 {
        line!(tracing::Level::ERROR);
    } else {
        line!(tracing::Level::INFO);
    }
    Ok(Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::Text(body.to_string()))?)
}

async fn answer(
    app: &App,
    request: &Request,
    seen: &mut Seen,
    now: OffsetDateTime,
) -> Result<Value, PanelError> {
    if request.method() != http::Method::POST {
        return Err(PanelError::MethodNotAllowed);
    }
    let params = request.path_parameters();
    let tenant_id = params.first("tenant").unwrap_or_default().to_owned();
    let action = params.first("action").unwrap_or_default().to_owned();
    if !is_valid_tenant_id(&tenant_id) {
        return Err(PanelError::Unauthorized);
    }
    seen.tenant_id = Some(tenant_id.clone());
    let body = request.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(PanelError::TooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    // The signature first: nothing of the body is read for a caller without the secret. An
    // unknown tenant has no secret, and is told no more than a bad signature is.
    let config = app
        .tenants
        .get(&tenant_id)
        .await?
        .ok_or(PanelError::Unauthorized)?;
    let secrets = app
        .secrets
        .webhooks(&tenant_id)
        .await?
        .ok_or(PanelError::Unauthorized)?;
    let signature = request
        .headers()
        .get(canvas::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    if !canvas::verify(&secrets.webhooks.intercom_client_secret, body, signature) {
        return Err(PanelError::Unauthorized);
    }
    if action != "initialize" && action != "submit" {
        return Err(PanelError::UnknownAction(action));
    }
    seen.action = Some(action);
    let canvas_request =
        CanvasRequest::parse(body).map_err(|e| PanelError::Malformed(e.to_string()))?;
    let contact = canvas_request
        .contact
        .as_ref()
        .filter(|c| !c.id.is_empty())
        .ok_or(PanelError::NoCustomer)?;
    let key = LinkKey::PlatformContact {
        platform: Platform::Intercom,
        contact_id: contact.id.clone(),
    };
    let link = app.links.get(&tenant_id, &key).await?;
    let component = canvas_request.component_id.as_deref();
    let tenant_secrets = app.secrets.salesforce(&tenant_id).await?;
    let intercom_token = tenant_secrets
        .as_ref()
        .and_then(|s| s.platform_api.as_ref())
        .and_then(|p| p.intercom_access_token.clone());
    let credentials = tenant_secrets.and_then(|s| s.salesforce);
    // The panel is an agent waiting: it may use the first half of the org's reserve, which
    // background sync leaves alone (shared::salesforce::limits).
    let org = credentials.map(|c| {
        app.salesforce
            .org(&tenant_id, c, Arc::new(app.secrets.clone()))
            .budgeted(config.api_budget, Priority::Critical)
    });
    let Some(link) = link else {
        let Some(org) = org else {
            return Ok(canvas::unmatched(false));
        };
        let calls = org.api_calls();
        let unlinked = Unlinked {
            tenant_id: &tenant_id,
            key,
            config: &config,
            request: &canvas_request,
        };
        let answer = unmatched(app, &org, &unlinked, now).await;
        seen.salesforce_calls = org.api_calls().saturating_sub(calls);
        return answer;
    };
    let org = org.ok_or(PanelError::NotConnected)?;
    let person = link.person;
    if component == Some(canvas::REFRESH) {
        app.cache.forget(&tenant_id, &person).await?;
    }
    let before = org.api_calls();
    let result = show(app, &org, &tenant_id, &person, &config.panel, now).await;
    seen.salesforce_calls = org.api_calls().saturating_sub(before);
    let (mut view, cache) = result?;
    seen.cache = Some(cache);
    let editable = panel::editable_fields(&config.panel.fields, config.panel.editable);
    let mut extras = canvas::Extras {
        selected: canvas_request
            .input(canvas::OPPORTUNITY_INPUT)
            .map(str::to_owned),
        editable: editable.clone(),
        ..canvas::Extras::default()
    };
    if !editable.is_empty() {
        match component {
            Some(canvas::EDIT) => return Ok(canvas::edit_form(&view, &editable)),
            Some(c @ (canvas::SAVE | canvas::RESTORE)) => {
                // Save: what the agent changed on the form. Restore: the values an edit
                // replaced, back (both only ever for editable fields).
                let (shown, changes) = if c == canvas::SAVE {
                    let shown = canvas_request.stored("before");
                    let changes = panel::changes(&shown, &canvas_request.input_values, &editable);
                    (shown, changes)
                } else {
                    let current = view.values();
                    let changes = canvas_request
                        .stored("restore")
                        .into_iter()
                        .filter(|(f, v)| editable.contains(f) && current.get(f) != Some(v))
                        .collect();
                    (current, changes)
                };
                if !changes.is_empty() {
                    let calls = org.api_calls();
                    let outcome =
                        edit(&org, &person, &changes, view.last_modified.as_deref()).await;
                    seen.salesforce_calls += org.api_calls().saturating_sub(calls);
                    extras.note = Some(match outcome {
                        Ok(modified) => {
                            view.apply(&changes, modified);
                            app.cache.put(&tenant_id, &person, &view, now).await?;
                            if c == canvas::SAVE {
                                extras.restore = changes
                                    .keys()
                                    .map(|f| (f.clone(), shown.get(f).cloned().flatten()))
                                    .collect();
                            }
                            ("Saved in Salesforce.".to_owned(), "muted")
                        }
                        Err(e) if e.is_precondition_failed() => {
                            app.cache.forget(&tenant_id, &person).await?;
                            (
                                "Not saved: the record changed in Salesforce after this panel \
                                 read it. Refresh, then edit again."
                                    .to_owned(),
                                "error",
                            )
                        }
                        Err(e) => (format!("Not saved. Salesforce answered: {e}"), "error"),
                    });
                }
            }
            _ => {}
        }
    }
    let instance_url = org.session().await?.instance_url;
    match component {
        Some(canvas::NEW_CASE) if view.kind == PersonKind::Contact => {
            let admin_email = canvas_request
                .admin
                .as_ref()
                .and_then(|a| a.email.as_deref());
            let calls = org.api_calls();
            let answer = async {
                org.composite(&panel::form_request("Case", admin_email)?)
                    .await
            }
            .await;
            seen.salesforce_calls += org.api_calls().saturating_sub(calls);
            let (describe, owner) = panel::form_answer(&answer?)?;
            let form = panel::case_form(&describe);
            let inputs = BTreeMap::new();
            return Ok(canvas::case_form(
                &view,
                &form,
                owner.as_ref(),
                &[],
                &inputs,
            ));
        }
        Some(canvas::CREATE_CASE) if view.kind == PersonKind::Contact => {
            let (form, owner) = canvas_request.form().ok_or_else(|| {
                PanelError::Malformed("the New Case form's data is missing".into())
            })?;
            let fields = match panel::form_fields(&form, &canvas_request.input_values) {
                Ok(fields) => fields,
                Err(missing) => {
                    // Nothing is sent to Salesforce until the form is whole.
                    let inputs = &canvas_request.input_values;
                    return Ok(canvas::case_form(
                        &view,
                        &form,
                        owner.as_ref(),
                        &missing,
                        inputs,
                    ));
                }
            };
            let calls = org.api_calls();
            let note = new_case(
                app,
                &org,
                &tenant_id,
                &mut view,
                fields,
                owner.as_ref().map(|o| o.0.as_str()),
                &canvas_request,
                intercom_token.as_ref(),
                (&instance_url, now),
            )
            .await;
            seen.salesforce_calls += org.api_calls().saturating_sub(calls);
            extras.note = Some(note?);
        }
        Some(canvas::LOG_TASK) => {
            let calls = org.api_calls();
            let note = log_task(&org, &tenant_id, &config, &person, &canvas_request, now).await;
            seen.salesforce_calls += org.api_calls().saturating_sub(calls);
            extras.note = Some(note?);
        }
        _ => {}
    }
    Ok(canvas::view(&view, &instance_url, &extras))
}

/// Logs the conversation the request carries as a Task on the person: its messages made
/// transcript lines as the case writer makes them (HTML to text, the tenant's redaction and
/// time zone), upserted by the conversation's panel key, so logging again updates the one Task.
async fn log_task(
    org: &Org,
    tenant_id: &str,
    config: &TenantConfig,
    person: &Person,
    request: &CanvasRequest,
    now: OffsetDateTime,
) -> Result<(String, &'static str), PanelError> {
    use shared::mapping::transcript::{Line, RenderOptions, parse_time_zone, render_parts};
    let Some(conversation) = request
        .conversation
        .as_ref()
        .filter(|c| !c.id_text().is_empty())
    else {
        return Ok(("There is no conversation to log.".into(), "error"));
    };
    let t = &config.transcript;
    let redactor = shared::mapping::redact::Redactor::new(t.redact_cards, &t.redact_patterns)
        .map_err(|e| PanelError::Configuration(e.to_string()))?;
    let zone =
        parse_time_zone(&t.time_zone).map_err(|e| PanelError::Configuration(e.to_string()))?;
    let lines: Vec<Line> = conversation
        .messages()
        .iter()
        .map(|m| Line::from_message(m, now, &redactor))
        .collect();
    if lines.is_empty() {
        return Ok((
            "The conversation has no messages to log yet.".into(),
            "muted",
        ));
    }
    let id = conversation.id_text();
    // Task.Description holds 32,000 characters.
    let options = RenderOptions::new(zone, 32_000, None)
        .map_err(|e| PanelError::Configuration(e.to_string()))?;
    let parts = render_parts(&lines, &options);
    let key = panel::logged_task_key(tenant_id, "intercom", &id);
    let subject = format!("Chat transcript · Intercom conversation {id}");
    let transcript = parts.first().map(String::as_str).unwrap_or_default();
    let task = panel::log_task_request(person, &key, &subject, transcript, None, now.date())?;
    let sent = org.composite(&task).await;
    match sent.and_then(|a| a.first_failure().map_or(Ok(()), |(_, e)| Err(e))) {
        Ok(()) => {
            let cut = if parts.len() > 1 {
                " Only its first 32,000 characters fit in the Task."
            } else {
                ""
            };
            Ok((
                format!(
                    "The conversation ({} messages) is logged as a Task in Salesforce.{cut}",
                    lines.len()
                ),
                "muted",
            ))
        }
        Err(e) => Ok((format!("Not logged. Salesforce answered: {e}"), "error")),
    }
}

/// A customer chatsync has not matched, and the request about them.
struct Unlinked<'a> {
    tenant_id: &'a str,
    key: LinkKey,
    config: &'a TenantConfig,
    request: &'a CanvasRequest,
}

/// The panel for an unmatched customer: say so and offer Create Lead / Create Contact; their
/// forms (prefilled with what Intercom knows); and the creation, which links the customer to
/// the new record and shows it.
async fn unmatched(
    app: &App,
    org: &Org,
    unlinked: &Unlinked<'_>,
    now: OffsetDateTime,
) -> Result<Value, PanelError> {
    let request = unlinked.request;
    let (kind, create) = match request.component_id.as_deref() {
        Some(canvas::NEW_LEAD) => (PersonKind::Lead, false),
        Some(canvas::NEW_CONTACT) => (PersonKind::Contact, false),
        Some(canvas::CREATE_LEAD) => (PersonKind::Lead, true),
        Some(canvas::CREATE_CONTACT) => (PersonKind::Contact, true),
        _ => return Ok(canvas::unmatched(true)),
    };
    let sobject = kind.sobject();
    let (title, create_id) = match kind {
        PersonKind::Lead => ("Create Lead", canvas::CREATE_LEAD),
        PersonKind::Contact => ("Create Contact", canvas::CREATE_CONTACT),
    };
    let action = canvas::Action {
        title,
        create_id,
        create_label: title,
    };
    if !create {
        let admin_email = request.admin.as_ref().and_then(|a| a.email.as_deref());
        let answer = org
            .composite(&panel::form_request(sobject, admin_email)?)
            .await?;
        let (describe, owner) = panel::form_answer(&answer)?;
        let form = panel::person_form(&describe);
        let known = request.contact.as_ref().map(prefill).unwrap_or_default();
        return Ok(canvas::record_form(
            action,
            &form,
            owner.as_ref(),
            &[],
            &known,
        ));
    }
    let (form, owner) = request
        .form()
        .ok_or_else(|| PanelError::Malformed("the form's data is missing".into()))?;
    let mut fields = match panel::form_fields(&form, &request.input_values) {
        Ok(fields) => fields,
        Err(missing) => {
            let inputs = &request.input_values;
            return Ok(canvas::record_form(
                action,
                &form,
                owner.as_ref(),
                &missing,
                inputs,
            ));
        }
    };
    let claim = format!("person#{}", unlinked.key.render());
    if !app.cache.claim(unlinked.tenant_id, &claim, now).await? {
        return Ok(canvas::message(
            "Already being created",
            "This customer's Salesforce record was created from the panel already; it shows \
             here once linked.",
        ));
    }
    if let Some((id, _)) = &owner {
        fields.insert("OwnerId".into(), Value::String(id.clone()));
    }
    let id = match org.create(sobject, &Value::Object(fields)).await {
        Ok(id) => id,
        Err(e) => {
            app.cache.release(unlinked.tenant_id, &claim).await?;
            let inputs = &request.input_values;
            let mut answer = canvas::record_form(action, &form, owner.as_ref(), &[], inputs);
            let refused = format!("Not created. Salesforce answered: {e}");
            if let Some(list) = answer["canvas"]["content"]["components"].as_array_mut() {
                list.insert(
                    1,
                    serde_json::json!({"type": "text", "text": refused, "style": "error"}),
                );
            }
            return Ok(answer);
        }
    };
    let person = Person {
        kind,
        id,
        account_id: None,
    };
    app.links
        .put(
            unlinked.tenant_id,
            std::slice::from_ref(&unlinked.key),
            &person,
            unlinked.config.identity.link_ttl_days,
            now,
        )
        .await?;
    let view = read(org, &person, &unlinked.config.panel.fields).await?;
    app.cache
        .put(unlinked.tenant_id, &person, &view, now)
        .await?;
    let instance_url = org.session().await?.instance_url;
    let extras = canvas::Extras {
        editable: panel::editable_fields(
            &unlinked.config.panel.fields,
            unlinked.config.panel.editable,
        ),
        note: Some((
            format!("{sobject} created in Salesforce and linked to this customer."),
            "muted",
        )),
        ..canvas::Extras::default()
    };
    Ok(canvas::view(&view, &instance_url, &extras))
}

/// What Intercom knows of the customer, as the form's inputs: e-mail, and the name split at
/// its last space (one word is a last name).
fn prefill(contact: &shared::platforms::intercom::canvas::ContactRef) -> BTreeMap<String, Value> {
    let mut known = BTreeMap::new();
    if let Some(email) = contact.email.as_deref().filter(|e| !e.is_empty()) {
        known.insert(panel::input_id("Email"), Value::String(email.to_owned()));
    }
    if let Some(name) = contact
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let (first, last) = name.rsplit_once(' ').unwrap_or(("", name));
        if !first.trim().is_empty() {
            known.insert(
                panel::input_id("FirstName"),
                Value::String(first.trim().to_owned()),
            );
        }
        known.insert(panel::input_id("LastName"), Value::String(last.to_owned()));
    }
    known
}

/// Creates the Case (once per conversation and form), lists it on the cached view, and notes
/// it in the conversation; what to tell the agent.
#[allow(clippy::too_many_arguments)]
async fn new_case(
    app: &App,
    org: &Org,
    tenant_id: &str,
    view: &mut PanelView,
    fields: serde_json::Map<String, Value>,
    owner: Option<&str>,
    request: &CanvasRequest,
    intercom_token: Option<&shared::secret::Secret>,
    (instance_url, now): (&str, OffsetDateTime),
) -> Result<(String, &'static str), PanelError> {
    let conversation = request
        .conversation
        .as_ref()
        .map(|c| match &c.id {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .unwrap_or_default();
    let key = format!(
        "case#{conversation}#{}",
        shared::mapping::state::value_hash(&Value::Object(fields.clone()))
    );
    if !app.cache.claim(tenant_id, &key, now).await? {
        return Ok((
            "This Case was already created from this conversation.".into(),
            "muted",
        ));
    }
    let subject = fields
        .get("Subject")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let created = async {
        let answer = org
            .composite(&panel::new_case_request(view, fields, owner)?)
            .await?;
        panel::new_case_answer(&answer)
    }
    .await;
    let (id, number) = match created {
        Ok(created) => created,
        Err(e) => {
            app.cache.release(tenant_id, &key).await?;
            return Ok((
                format!("The Case was not created. Salesforce answered: {e}"),
                "error",
            ));
        }
    };
    view.cases.insert(
        0,
        shared::panel::CaseView {
            id: id.clone(),
            number: number.clone(),
            subject: Some(subject.clone()),
            status: None,
            priority: None,
        },
    );
    app.cache
        .put(tenant_id, &person_of(view), view, now)
        .await?;
    let number = number.unwrap_or_else(|| id.clone());
    let url = panel::record_url(instance_url, "Case", &id);
    let admin = request
        .admin
        .as_ref()
        .map(|a| a.id.as_str())
        .unwrap_or_default();
    let noted = match (intercom_token, conversation.is_empty() || admin.is_empty()) {
        (Some(token), false) => {
            let body = format!(
                "<p>Salesforce Case <a href=\"{}\">{}</a> created: {}</p>",
                escape_html(&url),
                escape_html(&number),
                escape_html(&subject)
            );
            match app.intercom.note(token, &conversation, admin, &body).await {
                Ok(()) => " A note with its link is in the conversation.".to_owned(),
                Err(e) => {
                    tracing::warn!(error = %e, "the Case note was not added");
                    format!(" The note could not be added to the conversation: {e}")
                }
            }
        }
        _ => " No note was added (no Intercom access token or no conversation).".to_owned(),
    };
    Ok((format!("Case {number} created.{noted}"), "muted"))
}

fn person_of(view: &PanelView) -> Person {
    Person {
        kind: view.kind,
        id: view.id.clone(),
        account_id: view.account.as_ref().map(|a| a.id.clone()),
    }
}

/// Text for an HTML note: the five characters HTML reads, escaped.
fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The view, from the cache or one composite call (then cached); whether it was cached.
pub(crate) async fn show(
    app: &App,
    org: &Org,
    tenant_id: &str,
    person: &Person,
    settings: &PanelConfig,
    now: OffsetDateTime,
) -> Result<(PanelView, &'static str), PanelError> {
    if let Some(view) = app.cache.get(tenant_id, person, now).await? {
        return Ok((view, "hit"));
    }
    let view = read(org, person, &settings.fields).await?;
    app.cache.put(tenant_id, person, &view, now).await?;
    Ok((view, "miss"))
}

/// One composite call: the conditional PATCH and the record's new LastModifiedDate.
async fn edit(
    org: &Org,
    person: &Person,
    changes: &BTreeMap<String, Option<String>>,
    last_modified: Option<&str>,
) -> Result<Option<String>, SalesforceError> {
    let request = panel::edit_request(person, changes, last_modified)?;
    let answer = org.composite(&request).await?;
    panel::edited(&answer)
}

/// One composite call: the person, their Account and open Cases, the Account's open
/// Opportunities.
async fn read(org: &Org, person: &Person, fields: &[String]) -> Result<PanelView, PanelError> {
    let request = panel::read_request(person, fields)?;
    let answer = org.composite(&request).await?;
    Ok(panel::parse(person, fields, &answer)?)
}
