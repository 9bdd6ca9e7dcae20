//! Outbound Messages as Salesforce sends them
//! (<https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_om_outboundmessaging_understanding.htm>):
//! for each definition (object, fields, endpoint), every client save of a record of that object
//! queues a notification; a sender delivers them as a SOAP envelope of up to 100
//! notifications with the record's latest values, and keeps what was not acknowledged
//! (`<Ack>true</Ack>`) for a retry after a growing gap, up to a maximum age, then drops it.
//! Deliveries may be batched, reordered by retries, and (when asked) duplicated.
//!
//! Salesforce's loop breaker is modelled too: saves by a user without "Send Outbound Messages"
//! (the definition's `quiet_users`, the integration user by default) send nothing.

use crate::state::{Emulator, State};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Most notifications in one message (the WSDL's maxOccurs).
const MAX_PER_MESSAGE: usize = 100;

/// The attempts mark of an acknowledged notification waiting for its duplicate.
const DUPLICATED: u32 = u32::MAX;

/// One outbound message definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Definition {
    /// The definition's id (`04k…`), assigned when defined.
    #[serde(default)]
    pub id: String,
    pub object: String,
    pub fields: Vec<String>,
    pub endpoint: String,
    /// Users whose saves send nothing (they lack "Send Outbound Messages"); absent: the
    /// integration user.
    #[serde(default)]
    pub quiet_users: Option<Vec<String>>,
}

/// How the sender behaves; times are scaled down in tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Settings {
    /// The first retry's gap; each next one doubles, up to `max_gap_ms` (Salesforce: two hours).
    pub retry_base_ms: u64,
    pub max_gap_ms: u64,
    /// A notification older than this is dropped (Salesforce: 24 hours).
    pub max_age_ms: u64,
    /// Each acknowledged message is delivered once more (Salesforce: "can sometimes be
    /// delivered more than one time").
    pub duplicate: bool,
    /// Gather saves this long before sending, so separate saves travel in one message.
    pub batch_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            retry_base_ms: 2_000,
            max_gap_ms: 2 * 3600 * 1000,
            max_age_ms: 24 * 3600 * 1000,
            duplicate: false,
            batch_ms: 50,
        }
    }
}

#[derive(Debug, Clone)]
struct Pending {
    notification_id: String,
    definition: String,
    record_id: String,
    first_at: Instant,
    next_at: Instant,
    attempts: u32,
}

/// One delivery attempt, for tests and the admin API.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Attempt {
    pub definition: String,
    pub notification_ids: Vec<String>,
    /// The answer's HTTP status (0: no answer).
    pub status: u16,
    pub acknowledged: bool,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Outbound {
    pub definitions: Vec<Definition>,
    pub settings: Settings,
    pending: Vec<Pending>,
    /// How far `Store::saves` has been read.
    cursor: usize,
    serial: u64,
    pub attempts: Vec<Attempt>,
    /// Notifications dropped after `max_age_ms`.
    pub dropped: Vec<String>,
}

impl Outbound {
    /// Replaces the definitions (ids assigned) and settings; saves before now send nothing.
    pub(crate) fn define(
        &mut self,
        mut definitions: Vec<Definition>,
        settings: Settings,
        saves: usize,
    ) {
        for d in &mut definitions {
            self.serial += 1;
            d.id = crate::ids::make_id("04k", self.serial);
        }
        self.definitions = definitions;
        self.settings = settings;
        self.pending.clear();
        self.cursor = saves;
    }

    /// Turns new saves into pending notifications.
    fn collect(&mut self, saves: &[crate::store::Saved], integration_user: &str, now: Instant) {
        let batch = Duration::from_millis(self.settings.batch_ms);
        for save in saves.iter().skip(self.cursor) {
            for d in &self.definitions {
                let quiet = match &d.quiet_users {
                    Some(users) => users.iter().any(|u| u == &save.user_id),
                    None => save.user_id == integration_user,
                };
                if d.object != save.sobject || quiet {
                    continue;
                }
                self.serial += 1;
                self.pending.push(Pending {
                    notification_id: crate::ids::make_id("04l", self.serial),
                    definition: d.id.clone(),
                    record_id: save.id.clone(),
                    first_at: now,
                    next_at: now + batch,
                    attempts: 0,
                });
            }
        }
        self.cursor = saves.len();
    }
}

/// A message ready to send.
struct Message {
    definition: String,
    endpoint: String,
    ids: Vec<String>,
    body: String,
}

/// The due notifications, at most 100 per definition, as envelopes with the records' values
/// now (deleted records send none of their fields).
fn due(state: &mut State, now: Instant) -> Vec<Message> {
    let saves = state.store.saves.clone();
    let user = state.integration_user_id.clone();
    state.outbound.collect(&saves, &user, now);
    let max_age = Duration::from_millis(state.outbound.settings.max_age_ms);
    let (expired, kept): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut state.outbound.pending)
        .into_iter()
        .partition(|p| now.duration_since(p.first_at) > max_age);
    state.outbound.pending = kept;
    state
        .outbound
        .dropped
        .extend(expired.into_iter().map(|p| p.notification_id));
    let mut out = Vec::new();
    for d in state.outbound.definitions.clone() {
        let items: Vec<Pending> = state
            .outbound
            .pending
            .iter()
            .filter(|p| p.definition == d.id && p.next_at <= now)
            .take(MAX_PER_MESSAGE)
            .cloned()
            .collect();
        if items.is_empty() {
            continue;
        }
        let mut notifications = String::new();
        for p in &items {
            notifications.push_str(&notification(state, &d, p));
        }
        out.push(Message {
            definition: d.id.clone(),
            endpoint: d.endpoint.clone(),
            ids: items.iter().map(|p| p.notification_id.clone()).collect(),
            body: envelope(state, &d, &notifications),
        });
    }
    out
}

fn notification(state: &State, d: &Definition, p: &Pending) -> String {
    let mut fields = format!("<sf:Id>{}</sf:Id>", p.record_id);
    if let Some(record) = state.store.get(&p.record_id).filter(|r| !r.deleted) {
        for name in &d.fields {
            if name == "Id" {
                continue;
            }
            match record.fields.get(name) {
                None | Some(Value::Null) => {
                    fields.push_str(&format!("<sf:{name} xsi:nil=\"true\"/>"));
                }
                Some(Value::String(s)) => {
                    fields.push_str(&format!("<sf:{name}>{}</sf:{name}>", escape(s)));
                }
                Some(other) => {
                    fields.push_str(&format!(
                        "<sf:{name}>{}</sf:{name}>",
                        escape(&other.to_string())
                    ));
                }
            }
        }
    }
    format!(
        "<Notification><Id>{}</Id><sObject xsi:type=\"sf:{}\" xmlns:sf=\"urn:sobject.enterprise.soap.sforce.com\">{fields}</sObject></Notification>",
        p.notification_id, d.object
    )
}

/// The envelope as Salesforce sends it since February 2026 (nil SessionId).
fn envelope(state: &State, d: &Definition, notifications: &str) -> String {
    let org15 = state.org_id.get(..15).unwrap_or_default();
    format!(
        concat!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
            "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" ",
            "xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">",
            "<soapenv:Body><notifications xmlns=\"http://soap.sforce.com/2005/09/outbound\">",
            "<OrganizationId>{org}</OrganizationId><ActionId>{action}</ActionId>",
            "<SessionId xsi:nil=\"true\"/>",
            "<EnterpriseUrl>{base}/services/Soap/c/62.0/{org15}</EnterpriseUrl>",
            "<PartnerUrl>{base}/services/Soap/u/62.0/{org15}</PartnerUrl>",
            "{notifications}</notifications></soapenv:Body></soapenv:Envelope>"
        ),
        org = state.org_id,
        action = d.id,
        base = state.instance_url,
        org15 = org15,
        notifications = notifications
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Records an attempt's answer: acknowledged notifications are done (once more when
/// duplicating), the others wait for their next gap.
fn answered(state: &mut State, m: &Message, status: u16, acknowledged: bool, now: Instant) {
    let settings = state.outbound.settings.clone();
    state.outbound.attempts.push(Attempt {
        definition: m.definition.clone(),
        notification_ids: m.ids.clone(),
        status,
        acknowledged,
    });
    let pending = &mut state.outbound.pending;
    if acknowledged {
        pending.retain_mut(|p| {
            if !m.ids.contains(&p.notification_id) {
                return true;
            }
            if settings.duplicate && p.attempts != DUPLICATED {
                // Delivered once more, as Salesforce sometimes does.
                p.attempts = DUPLICATED;
                p.next_at = now;
                return true;
            }
            false
        });
        return;
    }
    for p in pending
        .iter_mut()
        .filter(|p| m.ids.contains(&p.notification_id))
    {
        p.attempts = p.attempts.saturating_add(1);
        let gap = settings
            .retry_base_ms
            .saturating_mul(1u64 << p.attempts.min(30).saturating_sub(1))
            .min(settings.max_gap_ms);
        p.next_at = now + Duration::from_millis(gap);
    }
}

/// Sends due messages every `tick` for as long as the runtime lives.
pub(crate) fn start_sender(emulator: Emulator, tick: Duration) {
    tokio::spawn(async move {
        let client = match reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "outbound sender not started");
                return;
            }
        };
        loop {
            tokio::time::sleep(tick).await;
            let messages = due(&mut emulator.lock(), Instant::now());
            for m in messages {
                let answer = client
                    .post(&m.endpoint)
                    .header("content-type", "text/xml; charset=utf-8")
                    .header("SOAPAction", "\"\"")
                    .body(m.body.clone())
                    .send()
                    .await;
                let (status, acknowledged) = match answer {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let text = r.text().await.unwrap_or_default();
                        (status, status == 200 && text.contains("<Ack>true</Ack>"))
                    }
                    Err(_) => (0, false),
                };
                answered(
                    &mut emulator.lock(),
                    &m,
                    status,
                    acknowledged,
                    Instant::now(),
                );
            }
        }
    });
}
