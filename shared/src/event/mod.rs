//! Canonical chat events: the one model the pipeline speaks, whatever the platform.
//!
//! A platform parser (`platforms::*::parse`) turns one verified delivery into zero or more
//! [`Event`]s; the intake wraps each in a [`QueuedEvent`] (tenant, delivery, correlation id, raw
//! payload reference) and sends it to resolve.fifo. Later steps read only this model.

pub mod change;
mod delivery;
pub mod resolution;

pub use delivery::{Accepted, Platform, UnknownPlatform};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Bumped when a change to [`QueuedEvent`] would be misread by an older consumer.
pub const SCHEMA_VERSION: u32 = 1;

/// Free-form attributes as the platform sent them (custom attributes, contact properties).
pub type Attributes = serde_json::Map<String, serde_json::Value>;

/// What happened, with the facts specific to that kind of change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// A conversation (chat, ticket, session) began. Its opening message, if any, follows as
    /// its own `MessageAdded`.
    ConversationStarted,
    /// A line of the transcript: visitor, agent or bot message, or an internal note.
    MessageAdded {
        message: Message,
    },
    /// Tags added to or removed from the conversation (or the contact, for contact topics).
    TagsChanged {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        added: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        removed: Vec<String>,
        /// The whole set after the change, when the platform sends the set instead of the
        /// change: tags missing from it were removed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        current: Option<Vec<String>>,
    },
    /// The conversation's assignee changed. Both `None` means unassigned.
    Assigned {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent: Option<Agent>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        team: Option<Team>,
    },
    PriorityChanged {
        priority: String,
    },
    /// A status that is neither closed nor open (snoozed, pending, waiting on the customer).
    StatusChanged {
        status: String,
    },
    Closed,
    Reopened,
    /// The platform contact was created or changed; the visitor carries its fields.
    ContactUpserted,
    /// The platform contact was deleted. Salesforce records are never deleted because of it;
    /// only chatsync's link to the contact is dropped.
    ContactDeleted,
    /// The platform's company was created or changed; the event's `company` carries it, and
    /// no visitor.
    CompanyUpserted,
}

impl EventKind {
    /// A short stable name for logs and the sync log.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::ConversationStarted => "conversation_started",
            EventKind::MessageAdded { .. } => "message_added",
            EventKind::TagsChanged { .. } => "tags_changed",
            EventKind::Assigned { .. } => "assigned",
            EventKind::PriorityChanged { .. } => "priority_changed",
            EventKind::StatusChanged { .. } => "status_changed",
            EventKind::Closed => "closed",
            EventKind::Reopened => "reopened",
            EventKind::ContactUpserted => "contact_upserted",
            EventKind::ContactDeleted => "contact_deleted",
            EventKind::CompanyUpserted => "company_upserted",
        }
    }
}

/// Who wrote a transcript line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Visitor,
    Agent,
    Bot,
    /// An internal note by an agent: never shown to the visitor.
    Note,
}

/// How a message body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyFormat {
    #[default]
    Text,
    /// HTML as the platform sent it (Intercom); turned into text where it is written.
    Html,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// The platform's message or part id, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub role: Role,
    /// The author when the platform names one (agent, bot, or the visitor's contact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<Agent>,
    /// The body; empty when the message is only attachments.
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub format: BodyFormat,
    /// When the message was written (UTC), if the platform says.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// An agent, admin, operator or bot on the platform.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// A team or inbox (routed to a Salesforce Queue by the tenant's map).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The conversation as the platform describes it at the time of the event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: String,
    /// A link an agent can open (the platform's inbox URL), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbox: Option<Team>,
    /// The platform's own status word (open, closed, snoozed, Resolved…), unmapped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Where the visitor wrote from (web chat, WhatsApp, e-mail…), when the platform says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Attributes::is_empty")]
    pub custom_attributes: Attributes,
}

/// Everything the event says about who the visitor is, as sent (normalised by the resolver).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visitor {
    /// The platform's contact id (Intercom contact, Tidio contact uuid, respond.io id…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    /// The customer's own id for the person (Intercom external_id, Tidio distinct_id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// A web visitor or cookie id (CloudCX visitorId, Intercom legacy lead user_id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_domain: Option<String>,
    /// The platform's word for the person (Intercom `user` / `lead`), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Attributes::is_empty")]
    pub custom_attributes: Attributes,
}

impl Visitor {
    /// True when the event says nothing about the visitor.
    pub fn is_empty(&self) -> bool {
        *self == Visitor::default()
    }
}

/// A company (organisation) as the platform describes it: Intercom companies, attached to
/// contacts. Salesforce's Account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Company {
    /// The platform's own id for the company.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The customer's id for the company (Intercom `company_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    /// Number of employees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    #[serde(default, skip_serializing_if = "Attributes::is_empty")]
    pub custom_attributes: Attributes,
}

/// One canonical event as a parser produces it, before the intake adds tenant and delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    #[serde(flatten)]
    pub kind: EventKind,
    /// When it happened on the platform (UTC), if the payload says more precisely than the
    /// delivery's own time.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub occurred_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<Conversation>,
    #[serde(default, skip_serializing_if = "Visitor::is_empty")]
    pub visitor: Visitor,
    /// The agent who acted (replied, closed, assigned), when the platform says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Agent>,
    /// The company the event is about (a company event), or the visitor's company when the
    /// platform sends it whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<Company>,
}

impl Event {
    /// The personal values this event carries (the visitor's e-mail, phone and names, the
    /// agents' names and e-mails), for masking them wherever they are copied. Values shorter
    /// than three characters are left out: masking them everywhere would mask words.
    pub fn personal_values(&self) -> Vec<String> {
        let v = &self.visitor;
        let mut agents: Vec<&Agent> = self.actor.iter().collect();
        if let EventKind::Assigned {
            agent: Some(agent), ..
        } = &self.kind
        {
            agents.push(agent);
        }
        [&v.email, &v.phone, &v.name, &v.first_name, &v.last_name]
            .into_iter()
            .chain(agents.into_iter().flat_map(|a| [&a.name, &a.email]))
            .flatten()
            .map(|s| s.trim().to_owned())
            .filter(|s| s.chars().count() >= 3)
            .collect()
    }

    pub fn new(kind: EventKind) -> Self {
        Self {
            kind,
            occurred_at: None,
            conversation: None,
            visitor: Visitor::default(),
            actor: None,
            company: None,
        }
    }

    /// What names the conversation's channel for `[config.channels]`: its channel, its inbox's
    /// name, its inbox's id (those it has, in that order).
    pub fn channel_names(&self) -> Vec<String> {
        let Some(c) = &self.conversation else {
            return Vec::new();
        };
        let inbox = c.inbox.as_ref();
        [
            c.channel.as_ref(),
            inbox.and_then(|i| i.name.as_ref()),
            inbox.and_then(|i| i.id.as_ref()),
        ]
        .into_iter()
        .flatten()
        .filter(|s| !s.trim().is_empty())
        .cloned()
        .collect()
    }
}

/// What identifies the raw body behind an event. The body itself never travels with the
/// event: its masked copy (under the tenant's payload policy) is in the sync log, referred to
/// by the intake's entry. Messages of older versions carried an `inline` copy; it is ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawPayload {
    pub sha256: String,
    pub bytes: usize,
}

impl RawPayload {
    pub fn of(body: &str) -> Self {
        Self {
            sha256: hex::encode(Sha256::digest(body.as_bytes())),
            bytes: body.len(),
        }
    }
}

/// One canonical event on its way through the queues (the body of a resolve.fifo message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedEvent {
    pub schema: u32,
    pub correlation_id: String,
    pub tenant_id: String,
    pub platform: Platform,
    /// The platform's delivery id (or a body hash where it gives none): the dedupe key.
    pub delivery_id: String,
    /// This event's place among the events of its delivery (0-based) and their number.
    pub index: u16,
    pub count: u16,
    pub topic: String,
    /// Orders the queue: `conversation:<id>`, `ticket:<id>`, or `contact:<id>` without one.
    pub conversation_key: String,
    /// Platform time of the event in UTC; the receive time when the platform gives none.
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    pub event: Event,
    pub raw: RawPayload,
    /// Who the visitor is in Salesforce: set by the identity resolver, absent before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<resolution::Resolution>,
}

/// SQS allows at most 128 characters in group and deduplication ids.
const SQS_ID_MAX: usize = 128;

impl QueuedEvent {
    /// The idempotency key of the delivery this event came from.
    pub fn delivery_key(&self) -> String {
        delivery_key(&self.tenant_id, self.platform, &self.delivery_id)
    }

    /// `tenant:platform:conversation`, so one conversation is processed in order.
    pub fn group_id(&self) -> String {
        group_id(&self.tenant_id, self.platform, &self.conversation_key)
    }

    /// Stable across redeliveries of the same webhook (a retry of a pending claim reuses the
    /// first correlation id), distinct per event of a delivery, and distinct for a new claim of
    /// the same key once the old one expired (an identical CloudCX body is a new event then).
    pub fn dedupe_id(&self) -> String {
        dedupe_id(&self.delivery_key(), &self.correlation_id, self.index)
    }

    /// The dedupe id of the `n`th redrive or replay: fresh, since SQS drops a reused one for
    /// five minutes, and stable, so a repeated redrive of the same attempt stays one message.
    pub fn resend_dedupe_id(&self, kind: &str, n: u32) -> String {
        resend_dedupe_id(&self.dedupe_id(), kind, n)
    }
}

/// The routing head of a queued message: what the drainer and a replay read to route it,
/// without the personal part (which a sealed message keeps encrypted; see `crate::seal`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct QueuedHead {
    pub correlation_id: String,
    pub tenant_id: String,
    pub platform: Platform,
    pub delivery_id: String,
    pub index: u16,
    pub topic: String,
    pub conversation_key: String,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The resolution of an unsealed (older) message, whose presence said it had left the
    /// resolver; sealed messages keep it sealed.
    #[serde(default, rename = "resolution")]
    pub legacy_resolution: Option<serde::de::IgnoredAny>,
}

impl QueuedHead {
    pub fn group_id(&self) -> String {
        group_id(&self.tenant_id, self.platform, &self.conversation_key)
    }

    pub fn dedupe_id(&self) -> String {
        dedupe_id(
            &delivery_key(&self.tenant_id, self.platform, &self.delivery_id),
            &self.correlation_id,
            self.index,
        )
    }

    /// As [`QueuedEvent::resend_dedupe_id`].
    pub fn resend_dedupe_id(&self, kind: &str, n: u32) -> String {
        resend_dedupe_id(&self.dedupe_id(), kind, n)
    }
}

fn dedupe_id(delivery_key: &str, correlation_id: &str, index: u16) -> String {
    let key = format!("{delivery_key}#{correlation_id}#{index}");
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn resend_dedupe_id(dedupe_id: &str, kind: &str, n: u32) -> String {
    let key = format!("{dedupe_id}#{kind}{n}");
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The facts of one delivery that the intake adds to the events parsed from it.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    pub tenant_id: &'a str,
    pub platform: Platform,
    pub correlation_id: &'a str,
    pub received_at: OffsetDateTime,
    /// The verified raw body.
    pub body: &'a str,
}

/// Wraps a delivery's parsed events for resolve.fifo, in order, all under one correlation id.
pub fn queue_events(accepted: Accepted, received: &Received) -> Vec<QueuedEvent> {
    let raw = RawPayload::of(received.body);
    // A platform never sends thousands of events in one delivery; saturate rather than wrap.
    let count = u16::try_from(accepted.events.len()).unwrap_or(u16::MAX);
    accepted
        .events
        .into_iter()
        .take(usize::from(u16::MAX))
        .enumerate()
        .map(|(index, event)| QueuedEvent {
            schema: SCHEMA_VERSION,
            correlation_id: received.correlation_id.to_owned(),
            tenant_id: received.tenant_id.to_owned(),
            platform: received.platform,
            delivery_id: accepted.delivery_id.clone(),
            index: u16::try_from(index).unwrap_or(u16::MAX),
            count,
            topic: accepted.topic.clone(),
            conversation_key: accepted.conversation_key.clone(),
            occurred_at: event
                .occurred_at
                .or(accepted.occurred_at)
                .unwrap_or(received.received_at),
            received_at: received.received_at,
            event,
            raw: raw.clone(),
            resolution: None,
        })
        .collect()
}

pub fn delivery_key(tenant_id: &str, platform: Platform, delivery_id: &str) -> String {
    format!("{tenant_id}#{platform}#{delivery_id}")
}

pub fn group_id(tenant_id: &str, platform: Platform, conversation_key: &str) -> String {
    sqs_safe(&format!("{tenant_id}:{platform}:{conversation_key}"))
}

/// A new correlation id: created once at intake, carried by every step.
pub fn new_correlation_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Keeps an id within SQS's length and character rules; long or odd ids keep a readable
/// prefix and a hash so they stay unique.
fn sqs_safe(id: &str) -> String {
    if id.len() <= SQS_ID_MAX && id.chars().all(|c| c.is_ascii_graphic()) {
        return id.to_owned();
    }
    let prefix: String = id
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(SQS_ID_MAX - 65)
        .collect();
    format!("{prefix}~{}", hex::encode(Sha256::digest(id.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(conversation: &str, index: u16) -> QueuedEvent {
        let mut event = Event::new(EventKind::MessageAdded {
            message: Message {
                id: Some("m1".into()),
                role: Role::Visitor,
                author: None,
                body: "<p>Hi</p>".into(),
                format: BodyFormat::Html,
                at: Some(OffsetDateTime::UNIX_EPOCH),
                attachments: vec![],
            },
        });
        event.visitor.email = Some("jane@example.com".into());
        QueuedEvent {
            schema: SCHEMA_VERSION,
            correlation_id: new_correlation_id(),
            tenant_id: "acme".into(),
            platform: Platform::Intercom,
            delivery_id: "notif_1".into(),
            index,
            count: 2,
            topic: "conversation.user.replied".into(),
            conversation_key: conversation.into(),
            occurred_at: OffsetDateTime::UNIX_EPOCH,
            received_at: OffsetDateTime::UNIX_EPOCH,
            event,
            raw: RawPayload::of("{}"),
            resolution: None,
        }
    }

    #[test]
    fn group_ids_keep_one_conversation_together_and_stay_within_sqs_rules() {
        assert_eq!(
            queued("conversation:1", 0).group_id(),
            "acme:intercom:conversation:1"
        );
        let long = queued(&"x".repeat(300), 0).group_id();
        assert!(long.len() <= SQS_ID_MAX, "{}", long.len());
        assert_ne!(long, queued(&"x".repeat(301), 0).group_id());
        let spaced = queued("conversation:a b é", 0).group_id();
        assert!(spaced.chars().all(|c| c.is_ascii_graphic()));
    }

    #[test]
    fn the_dedupe_id_depends_on_the_delivery_its_claim_and_the_index() {
        let a = queued("conversation:1", 0);
        let mut b = a.clone();
        b.received_at = OffsetDateTime::now_utc();
        assert_eq!(a.dedupe_id(), b.dedupe_id());
        b.correlation_id = new_correlation_id();
        assert_ne!(a.dedupe_id(), b.dedupe_id());
        b.correlation_id = a.correlation_id.clone();
        b.index = 1;
        assert_ne!(a.dedupe_id(), b.dedupe_id());
        b.index = 0;
        b.delivery_id = "notif_2".into();
        assert_ne!(a.dedupe_id(), b.dedupe_id());
        assert_eq!(a.dedupe_id().len(), 64);
    }

    #[test]
    fn the_head_alone_gives_the_same_group_and_dedupe_ids() {
        let q = queued("conversation:1", 1);
        let mut json = serde_json::to_value(&q).unwrap();
        json.as_object_mut().unwrap().remove("event");
        let head: QueuedHead = serde_json::from_value(json).unwrap();
        assert_eq!(head.group_id(), q.group_id());
        assert_eq!(head.dedupe_id(), q.dedupe_id());
        assert_eq!(
            head.resend_dedupe_id("redrive", 2),
            q.resend_dedupe_id("redrive", 2)
        );
    }

    #[test]
    fn it_round_trips_through_json_with_the_kind_beside_its_facts() {
        let q = queued("conversation:1", 0);
        let json = serde_json::to_value(&q).unwrap();
        assert_eq!(json["event"]["kind"], "message_added");
        assert_eq!(json["event"]["message"]["role"], "visitor");
        assert_eq!(json["schema"], SCHEMA_VERSION);
        let back: QueuedEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, q);
    }

    #[test]
    fn queued_events_take_the_most_precise_time_and_share_the_delivery() {
        let at = |s| OffsetDateTime::from_unix_timestamp(s).unwrap();
        let mut precise = Event::new(EventKind::Closed);
        precise.occurred_at = Some(at(30));
        let accepted = Accepted {
            delivery_id: "d1".into(),
            topic: "t".into(),
            conversation_key: "conversation:1".into(),
            occurred_at: Some(at(20)),
            events: vec![Event::new(EventKind::ConversationStarted), precise],
        };
        let received = Received {
            tenant_id: "acme",
            platform: Platform::Tidio,
            correlation_id: "c1",
            received_at: at(40),
            body: "{}",
        };
        let queued = queue_events(accepted.clone(), &received);
        assert_eq!(queued.len(), 2);
        assert_eq!((queued[0].index, queued[1].index), (0, 1));
        assert!(
            queued
                .iter()
                .all(|q| q.count == 2 && q.correlation_id == "c1")
        );
        assert_eq!(queued[0].occurred_at, at(20));
        assert_eq!(queued[1].occurred_at, at(30));
        assert_ne!(queued[0].dedupe_id(), queued[1].dedupe_id());
        assert_eq!(queued[0].group_id(), queued[1].group_id());
        let mut no_time = accepted;
        no_time.occurred_at = None;
        assert_eq!(queue_events(no_time, &received)[0].occurred_at, at(40));
    }

    #[test]
    fn raw_bodies_never_travel_with_their_events() {
        let raw = RawPayload::of("{\"email\":\"jane@example.com\"}");
        assert!(!serde_json::to_string(&raw).unwrap().contains("jane"));
        // An older message's inline copy is read and dropped.
        let old: RawPayload =
            serde_json::from_str(r#"{"sha256":"ab","bytes":2,"inline":"{}"}"#).unwrap();
        assert_eq!(old.bytes, 2);
        let big = "x".repeat(10_000);
        let raw = RawPayload::of(&big);
        assert_eq!(raw.bytes, big.len());
    }
}
