//! respond.io: `x-webhook-signature` = base64 HMAC-SHA256 of the raw body with the webhook's
//! signing key (one key per webhook, so a tenant has several). Dedupe on `event_id`, else on a
//! hash of the body.

use crate::event::{
    Agent, Attachment, Attributes, BodyFormat, Conversation, Event, EventKind, Message, Role, Team,
    Visitor,
};
use crate::platforms::{
    Accepted, Inbound, ParseError, Parsed, VerifyError, body_hash, same, scalar, text, unix_time,
};
use crate::secret::Secret;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "x-webhook-signature";

/// The header value respond.io would send for `body`.
pub fn sign(key: &str, body: &[u8]) -> String {
    STANDARD.encode(mac(key, body))
}

fn mac(key: &str, body: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    m.update(body);
    m.finalize().into_bytes().to_vec()
}

pub(in crate::platforms) fn verify(
    secrets: &[Secret],
    inbound: &Inbound,
) -> Result<(), VerifyError> {
    let header = inbound
        .header(SIGNATURE_HEADER)
        .ok_or(VerifyError::Missing("x-webhook-signature"))?;
    let given = STANDARD
        .decode(header.trim())
        .map_err(|_| VerifyError::Malformed("signature is not base64"))?;
    if secrets
        .iter()
        .any(|k| same(&mac(k.expose(), inbound.body), &given))
    {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

pub(in crate::platforms) fn parse(v: &Value, body: &[u8]) -> Result<Parsed, ParseError> {
    let topic = text(v.get("event_type")).ok_or(ParseError::Field("event_type"))?;
    let Some(kind) = Topic::of(&topic) else {
        return Ok(Parsed::Unsupported { topic });
    };
    let contact = v
        .get("contact")
        .filter(|c| c.is_object())
        .ok_or(ParseError::Field("contact"))?;
    let contact_id = scalar(contact.get("id")).ok_or(ParseError::Field("contact.id"))?;
    let ctx = Ctx {
        v,
        contact,
        contact_id,
    };
    let events = match kind {
        Topic::MessageReceived => message_received(&ctx)?,
        Topic::MessageSent => message_sent(&ctx)?,
        Topic::ConversationOpened => vec![conversation_opened(&ctx)],
        Topic::ConversationClosed => vec![conversation_closed(&ctx)],
        Topic::ContactUpserted => vec![ctx.contact_event(EventKind::ContactUpserted)],
        Topic::AssigneeUpdated => vec![assignee_updated(&ctx)],
        Topic::TagUpdated => tag_updated(&ctx),
        Topic::LifecycleUpdated => vec![lifecycle_updated(&ctx)],
    };
    // The envelope's `timestamp` is missing from some shapes (assignee, closed): fall back to
    // the time the event itself carries.
    let occurred_at =
        unix_time(v.get("timestamp")).or_else(|| events.first().and_then(|e| e.occurred_at));
    Ok(Parsed::Accepted(Accepted {
        delivery_id: scalar(v.get("event_id")).unwrap_or_else(|| body_hash(body)),
        topic,
        // respond.io has no conversation id: a contact has one conversation at a time, so the
        // contact orders the queue and stands in for the conversation.
        conversation_key: format!("contact:{}", ctx.contact_id),
        occurred_at,
        events,
    }))
}

/// The `event_type`s chatsync handles.
enum Topic {
    MessageReceived,
    MessageSent,
    ConversationOpened,
    ConversationClosed,
    ContactUpserted,
    AssigneeUpdated,
    TagUpdated,
    LifecycleUpdated,
}

impl Topic {
    fn of(event_type: &str) -> Option<Self> {
        Some(match event_type {
            "message.received" => Topic::MessageReceived,
            "message.sent" => Topic::MessageSent,
            "conversation.opened" => Topic::ConversationOpened,
            "conversation.closed" => Topic::ConversationClosed,
            "contact.created" | "contact.updated" => Topic::ContactUpserted,
            "contact.assignee.updated" => Topic::AssigneeUpdated,
            "contact.tag.updated" => Topic::TagUpdated,
            "contact.lifecycle.updated" => Topic::LifecycleUpdated,
            _ => return None,
        })
    }
}

/// What every event of a delivery shares: the payload and its contact.
struct Ctx<'a> {
    v: &'a Value,
    contact: &'a Value,
    contact_id: String,
}

impl Ctx<'_> {
    /// An event about the contact alone (contact topics: tags and fields live on the contact).
    fn contact_event(&self, kind: EventKind) -> Event {
        let mut e = Event::new(kind);
        e.visitor = visitor(self.contact, &self.contact_id);
        e
    }

    /// An event about the contact's current conversation.
    fn conversation_event(&self, kind: EventKind) -> Event {
        let mut e = self.contact_event(kind);
        e.conversation = Some(self.conversation());
        e
    }

    /// The conversation ref: its id is the contact id (see `conversation_key`).
    fn conversation(&self) -> Conversation {
        let channel = self.v.get("channel");
        Conversation {
            id: self.contact_id.clone(),
            // The contact's `status` is its conversation's (open / close).
            status: text(self.contact.get("status")),
            // `source` (whatsapp, facebook, gmail…) says where the visitor wrote from; the
            // channel's name is the workspace's own label for it.
            channel: channel.and_then(|c| text(c.get("source")).or_else(|| text(c.get("name")))),
            ..Conversation::default()
        }
    }
}

fn message_received(ctx: &Ctx) -> Result<Vec<Event>, ParseError> {
    let envelope = ctx.v.get("message").ok_or(ParseError::Field("message"))?;
    let content = envelope
        .get("message")
        .filter(|m| m.is_object())
        .ok_or(ParseError::Field("message.message"))?;
    Ok(message_event(ctx, envelope, content, Role::Visitor, None)
        .into_iter()
        .collect())
}

fn message_sent(ctx: &Ctx) -> Result<Vec<Event>, ParseError> {
    let message = ctx
        .v
        .get("message")
        .filter(|m| m.is_object())
        .ok_or(ParseError::Field("message"))?;
    // The documented `message.sent` shape is flat (ids and time at the top, `message{type,text}`);
    // accept the nested `message.message` shape of `message.received` as well.
    let (envelope, content) = match message.get("message") {
        Some(inner) if inner.is_object() => (message, inner),
        _ => (ctx.v, message),
    };
    let (role, author) = sender(ctx.v, envelope);
    let mut events: Vec<Event> = message_event(ctx, envelope, content, role, author.clone())
        .into_iter()
        .collect();
    for e in &mut events {
        e.actor = author.clone();
    }
    Ok(events)
}

/// Who sent an outgoing message. respond.io attaches `user` (the teammate) when a person
/// replied from the inbox; messages from workflows, AI agents, the API, broadcasts and
/// integrations (Zapier, Make) carry no user. Its event-source filter names these
/// (user, workflow, api, bot, zapier, make, echo…), so a `source` field, where sent, decides
/// user-less messages: `user` and `echo` (typed in the channel's own app, e.g. the WhatsApp
/// Business app) are people, anything else or nothing is automation.
fn sender(v: &Value, envelope: &Value) -> (Role, Option<Agent>) {
    if let Some(user) = agent(v.get("user")) {
        return (Role::Agent, Some(user));
    }
    let source = text(v.get("source")).or_else(|| text(envelope.get("source")));
    match source.as_deref() {
        Some("user" | "echo") => (Role::Agent, None),
        _ => (Role::Bot, None),
    }
}

/// A transcript line, or none when the message has neither text nor a file (location,
/// quick-reply taps without text, unsupported types): nothing to write.
fn message_event(
    ctx: &Ctx,
    envelope: &Value,
    content: &Value,
    role: Role,
    author: Option<Agent>,
) -> Option<Event> {
    let body = text(content.get("text")).unwrap_or_default();
    let attachments = attachments(content);
    if body.is_empty() && attachments.is_empty() {
        return None;
    }
    let at = unix_time(envelope.get("timestamp"));
    let message = Message {
        id: scalar(envelope.get("messageId")).or_else(|| scalar(envelope.get("channelMessageId"))),
        role,
        author,
        body,
        format: BodyFormat::Text,
        at,
        attachments,
    };
    let mut e = ctx.conversation_event(EventKind::MessageAdded { message });
    e.occurred_at = at;
    Some(e)
}

/// Files of a message: `attachment{type,url}` for `type: "attachment"`, the content itself
/// for a bare `image` / `video` / `audio` / `file`, and an e-mail's `attachments[]`.
fn attachments(content: &Value) -> Vec<Attachment> {
    match content.get("type").and_then(Value::as_str) {
        Some("attachment") => content
            .get("attachment")
            .and_then(attachment)
            .into_iter()
            .collect(),
        Some("image" | "video" | "audio" | "file") => attachment(content).into_iter().collect(),
        _ => content
            .get("attachments")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(attachment).collect())
            .unwrap_or_default(),
    }
}

/// One file; without a URL there is nothing to link to. `fileName` is documented for e-mail
/// attachments; `mimeType` and `size` are read where sent, not documented.
fn attachment(a: &Value) -> Option<Attachment> {
    Some(Attachment {
        url: text(a.get("url"))?,
        name: text(a.get("fileName")).or_else(|| text(a.get("name"))),
        content_type: text(a.get("mimeType")),
        size: a.get("size").and_then(Value::as_u64),
    })
}

fn conversation_opened(ctx: &Ctx) -> Event {
    let conversation = ctx.v.get("conversation");
    let mut e = ctx.conversation_event(EventKind::ConversationStarted);
    e.actor = conversation.and_then(|c| agent(c.get("openedBy")));
    e.occurred_at = conversation.and_then(|c| unix_time(c.get("openedTime")));
    e
}

fn conversation_closed(ctx: &Ctx) -> Event {
    let closing = ctx.v.get("conversation");
    let mut conversation = ctx.conversation();
    // The closing note (category, summary) has no canonical field; it travels as attributes.
    for key in ["category", "summary"] {
        if let Some(value) = closing.and_then(|c| text(c.get(key))) {
            conversation
                .custom_attributes
                .insert(key.to_owned(), value.into());
        }
    }
    conversation.inbox = closing
        .and_then(|c| text(c.get("assigneeTeam")))
        .map(|name| Team {
            id: None,
            name: Some(name),
        });
    let mut e = ctx.contact_event(EventKind::Closed);
    e.conversation = Some(conversation);
    // `closedBy` is null or `{}` when a workflow or the API closed it.
    e.actor = closing.and_then(|c| agent(c.get("closedBy")));
    e.occurred_at = closing.and_then(|c| unix_time(c.get("closedTime")));
    e
}

/// respond.io assigns the contact, which is assigning its conversation. A null or empty
/// `assignee` means unassigned.
fn assignee_updated(ctx: &Ctx) -> Event {
    ctx.conversation_event(EventKind::Assigned {
        agent: agent(ctx.contact.get("assignee")),
        team: None,
    })
}

/// The shape is not documented by respond.io. One receiver logged a flat
/// `{tag, action: "add" | "remove", contact}`, so that pair gives the change ("added" /
/// "removed" are accepted too). Without it, the full list (`tags`, else `contact.tags`) is the
/// contact's whole set now (`current`), so a removal is not mistaken for nothing. Tags live on
/// the contact, so the event carries no conversation.
fn tag_updated(ctx: &Ctx) -> Vec<Event> {
    let tag = text(ctx.v.get("tag"));
    let action = text(ctx.v.get("action"));
    let kind = match (tag, action.as_deref()) {
        (Some(tag), Some("add" | "added")) => EventKind::TagsChanged {
            added: vec![tag],
            removed: Vec::new(),
            current: None,
        },
        (Some(tag), Some("remove" | "removed")) => EventKind::TagsChanged {
            added: Vec::new(),
            removed: vec![tag],
            current: None,
        },
        _ => match full_tag_list(ctx) {
            Some(all) => EventKind::TagsChanged {
                added: Vec::new(),
                removed: Vec::new(),
                current: Some(all),
            },
            None => return Vec::new(),
        },
    };
    // The key is the contact: its tags reach its current conversation (category, trigger).
    vec![ctx.conversation_event(kind)]
}

/// The tag list when the payload has one (an empty list is a set with every tag removed).
fn full_tag_list(ctx: &Ctx) -> Option<Vec<String>> {
    ctx.v
        .get("tags")
        .or_else(|| ctx.contact.get("tags"))
        .and_then(Value::as_array)
        .map(|tags| tags.iter().filter_map(|t| text(Some(t))).collect())
}

/// The new lifecycle comes at the top level (with `oldLifecycle`); it wins over the
/// contact's copy. Null means the lifecycle was cleared, and is kept as null.
fn lifecycle_updated(ctx: &Ctx) -> Event {
    let mut e = ctx.contact_event(EventKind::ContactUpserted);
    for key in ["lifecycle", "oldLifecycle"] {
        if let Some(value) = ctx.v.get(key) {
            e.visitor
                .custom_attributes
                .insert(key.to_owned(), value.clone());
        }
    }
    e
}

fn visitor(contact: &Value, contact_id: &str) -> Visitor {
    let first_name = text(contact.get("firstName"));
    let last_name = text(contact.get("lastName"));
    Visitor {
        contact_id: Some(contact_id.to_owned()),
        email: text(contact.get("email")),
        phone: text(contact.get("phone")),
        name: full_name(first_name.as_deref(), last_name.as_deref()),
        first_name,
        last_name,
        custom_attributes: contact_attributes(contact),
        ..Visitor::default()
    }
}

/// Custom fields by name, then the standard fields the visitor model has no place for.
/// Custom fields come as the API's `custom_fields: [{name, value}]` or as a `customFields`
/// object; null values are dropped (an unset field says nothing).
fn contact_attributes(contact: &Value) -> Attributes {
    let mut attributes = Attributes::new();
    if let Some(fields) = contact.get("custom_fields").and_then(Value::as_array) {
        for field in fields {
            if let (Some(name), Some(value)) = (text(field.get("name")), field.get("value")) {
                attributes.insert(name, value.clone());
            }
        }
    }
    if let Some(fields) = contact.get("customFields").and_then(Value::as_object) {
        attributes.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    for key in ["countryCode", "language", "lifecycle"] {
        if let Some(value) = contact.get(key) {
            attributes.insert(key.to_owned(), value.clone());
        }
    }
    attributes.retain(|_, value| !value.is_null());
    attributes
}

/// A teammate: `{id, firstName, lastName, email}` (API) or `{id, name, email}` (webhooks);
/// none when null or empty.
fn agent(value: Option<&Value>) -> Option<Agent> {
    let value = value?;
    let name = text(value.get("name")).or_else(|| {
        full_name(
            text(value.get("firstName")).as_deref(),
            text(value.get("lastName")).as_deref(),
        )
    });
    let agent = Agent {
        id: scalar(value.get("id")),
        name,
        email: text(value.get("email")),
    };
    (agent != Agent::default()).then_some(agent)
}

fn full_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let parts: Vec<&str> = [first, last].into_iter().flatten().collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::{Platform, parse as read, verify as check};
    use http::HeaderMap;
    use serde_json::json;
    use time::OffsetDateTime;

    const BODY: &[u8] = br#"{"event_type":"message.received","timestamp":1700000000123,"contact":{"id":42,"firstName":"Ada"},"message":{"traffic":"incoming","message":{"type":"text","text":"hi"}}}"#;

    fn inbound<'a>(h: &'a HeaderMap, body: &'a [u8]) -> Inbound<'a> {
        Inbound {
            headers: h,
            query_token: None,
            body,
            now: OffsetDateTime::now_utc(),
            tidio_tolerance_seconds: 300,
        }
    }

    fn at(ts: i64) -> Option<OffsetDateTime> {
        Some(OffsetDateTime::from_unix_timestamp(ts).unwrap())
    }

    fn accepted(body: &[u8]) -> Accepted {
        match read(Platform::RespondIo, body) {
            Ok(Parsed::Accepted(a)) => a,
            other => panic!("not accepted: {other:?}"),
        }
    }

    fn accepted_json(v: &Value) -> Accepted {
        accepted(&serde_json::to_vec(v).unwrap())
    }

    fn only(a: &Accepted) -> &Event {
        assert_eq!(a.events.len(), 1, "{:?}", a.events);
        &a.events[0]
    }

    fn sam() -> Option<Agent> {
        Some(Agent {
            id: Some("501".into()),
            name: Some("Sam Agent".into()),
            email: Some("sam.agent@example.com".into()),
        })
    }

    fn attrs(v: Value) -> Attributes {
        v.as_object().unwrap().clone()
    }

    fn katherine(extra: Value) -> Visitor {
        Visitor {
            contact_id: Some("112233".into()),
            email: Some("k.johnson@example.net".into()),
            phone: Some("+1 (555) 121-1212".into()),
            name: Some("Katherine Johnson".into()),
            first_name: Some("Katherine".into()),
            last_name: Some("Johnson".into()),
            custom_attributes: attrs(extra),
            ..Visitor::default()
        }
    }

    fn dorothy(extra: Value) -> Visitor {
        Visitor {
            contact_id: Some("204860".into()),
            email: Some("dorothy.v@example.org".into()),
            phone: Some("+44 20 7946 0958".into()),
            name: Some("Dorothy Vaughan".into()),
            first_name: Some("Dorothy".into()),
            last_name: Some("Vaughan".into()),
            custom_attributes: attrs(extra),
            ..Visitor::default()
        }
    }

    fn whatsapp(status: Option<&str>) -> Option<Conversation> {
        Some(Conversation {
            id: "112233".into(),
            status: status.map(Into::into),
            channel: Some("whatsapp".into()),
            ..Conversation::default()
        })
    }

    fn message(e: &Event) -> &Message {
        match &e.kind {
            EventKind::MessageAdded { message } => message,
            other => panic!("not a message: {other:?}"),
        }
    }

    #[test]
    fn any_of_the_tenants_signing_keys_verifies() {
        let mut h = HeaderMap::new();
        h.insert("x-webhook-signature", sign("key-2", BODY).parse().unwrap());
        let keys = [Secret::new("key-1"), Secret::new("key-2")];
        assert_eq!(
            check(Platform::RespondIo, &keys, &inbound(&h, BODY)),
            Ok(())
        );
        assert_eq!(
            check(Platform::RespondIo, &keys[..1], &inbound(&h, BODY)),
            Err(VerifyError::Mismatch)
        );
        h.insert("x-webhook-signature", "***".parse().unwrap());
        assert!(matches!(
            check(Platform::RespondIo, &keys, &inbound(&h, BODY)),
            Err(VerifyError::Malformed(_))
        ));
    }

    #[test]
    fn without_event_id_the_body_hash_dedupes() {
        let e = accepted(BODY);
        assert_eq!(e.delivery_id, body_hash(BODY));
        assert_eq!(e.conversation_key, "contact:42");
        assert_eq!(e.occurred_at, at(1_700_000_000));
        let with_id =
            br#"{"event_type":"conversation.closed","event_id":"e-9","contact":{"id":1}}"#;
        assert_eq!(accepted(with_id).delivery_id, "e-9");
    }

    #[test]
    fn an_incoming_text_is_a_visitor_line() {
        let a = accepted(include_bytes!(
            "../../../../events/payloads/respondio-message-received.json"
        ));
        assert_eq!(a.topic, "message.received");
        assert_eq!(a.delivery_id, "a3c1e5f7-9b2d-4f6a-8c0e-1d3f5a7b9c2e");
        assert_eq!(a.conversation_key, "contact:112233");
        assert_eq!(a.occurred_at, at(1_767_225_800));
        let mut expected = Event::new(EventKind::MessageAdded {
            message: Message {
                id: Some("wamid.HBgLMTU1NTEyMTEyMTI".into()),
                role: Role::Visitor,
                author: None,
                body: "Is my refund processed yet?".into(),
                format: BodyFormat::Text,
                at: at(1_767_225_800),
                attachments: vec![],
            },
        });
        expected.occurred_at = at(1_767_225_800);
        expected.conversation = whatsapp(None);
        expected.visitor = katherine(json!({"countryCode": "US"}));
        assert_eq!(only(&a), &expected);
    }

    #[test]
    fn an_incoming_attachment_carries_its_url() {
        let a = accepted(include_bytes!(
            "../../../../events/payloads/respondio-message-received-attachment.json"
        ));
        assert_eq!(a.delivery_id, "0b7e2c44-91d3-4a6f-b8e5-6c2a1f9d3e10");
        assert_eq!(a.occurred_at, at(1_767_225_860));
        let e = only(&a);
        let m = message(e);
        assert_eq!(m.role, Role::Visitor);
        assert_eq!(m.body, "");
        assert_eq!(m.id.as_deref(), Some("wamid.HBgLMTU1NTEyMTEyMTM"));
        assert_eq!(
            m.attachments,
            vec![Attachment {
                name: None,
                url: "https://files.example.com/respondio/112233/receipt-4471.jpg".into(),
                content_type: None,
                size: None,
            }]
        );
        assert_eq!(e.conversation, whatsapp(None));
        assert_eq!(e.visitor.contact_id.as_deref(), Some("112233"));
    }

    #[test]
    fn email_attachments_and_bare_files_are_read_too() {
        let mut v = json!({"event_type": "message.received", "contact": {"id": 7},
            "message": {"messageId": 991, "message": {"type": "email", "text": "See attached",
                "attachments": [{"type": "file", "url": "https://files.example.com/a.pdf",
                    "fileName": "invoice.pdf"}, {"type": "file"}]}}});
        let a = accepted_json(&v);
        let m = message(only(&a));
        assert_eq!(m.id.as_deref(), Some("991"));
        assert_eq!(m.body, "See attached");
        assert_eq!(m.attachments.len(), 1);
        assert_eq!(m.attachments[0].name.as_deref(), Some("invoice.pdf"));

        v["message"]["message"] =
            json!({"type": "image", "url": "https://files.example.com/b.png"});
        let a = accepted_json(&v);
        assert_eq!(
            message(only(&a)).attachments[0].url,
            "https://files.example.com/b.png"
        );
    }

    #[test]
    fn a_message_with_nothing_to_write_yields_no_event() {
        let v = json!({"event_type": "message.received", "contact": {"id": 7},
            "message": {"message": {"type": "location", "latitude": 1.5, "longitude": 2.5}}});
        let a = accepted_json(&v);
        assert!(a.events.is_empty());
        assert_eq!(a.conversation_key, "contact:7");
    }

    #[test]
    fn an_outgoing_message_from_a_teammate_is_an_agent_line() {
        let a = accepted(include_bytes!(
            "../../../../events/payloads/respondio-message-sent.json"
        ));
        assert_eq!(a.topic, "message.sent");
        assert_eq!(a.delivery_id, "5d0f3b2a-7c41-4e8a-9b6d-2f1e0c9a8b77");
        assert_eq!(a.conversation_key, "contact:112233");
        assert_eq!(a.occurred_at, at(1_767_226_100));
        let mut expected = Event::new(EventKind::MessageAdded {
            message: Message {
                id: Some("wamid.HBgLMTU1NTEyMTEyMTQ".into()),
                role: Role::Agent,
                author: sam(),
                body: "Hi Katherine, the refund went out this morning. It should reach your card in 3-5 business days.".into(),
                format: BodyFormat::Text,
                at: at(1_767_226_100),
                attachments: vec![],
            },
        });
        expected.occurred_at = at(1_767_226_100);
        expected.conversation = whatsapp(None);
        expected.visitor = katherine(json!({}));
        expected.actor = sam();
        assert_eq!(only(&a), &expected);
    }

    #[test]
    fn an_outgoing_message_without_a_user_is_a_bot_line_unless_a_person_sent_it() {
        let mut v: Value = serde_json::from_slice(include_bytes!(
            "../../../../events/payloads/respondio-message-sent.json"
        ))
        .unwrap();
        v["user"] = Value::Null;
        v["source"] = json!("workflow");
        let a = accepted_json(&v);
        let e = only(&a);
        assert_eq!(message(e).role, Role::Bot);
        assert_eq!(message(e).author, None);
        assert_eq!(e.actor, None);

        v.as_object_mut().unwrap().remove("source");
        assert_eq!(message(only(&accepted_json(&v))).role, Role::Bot);

        v["source"] = json!("echo");
        assert_eq!(message(only(&accepted_json(&v))).role, Role::Agent);
    }

    #[test]
    fn an_outgoing_message_in_the_nested_shape_reads_the_same() {
        let v = json!({"event_type": "message.sent", "contact": {"id": 7},
            "user": {"id": 3, "firstName": "Lee", "lastName": "Park"},
            "message": {"messageId": 55, "timestamp": 1767226100, "traffic": "outgoing",
                "message": {"type": "text", "text": "On it"}}});
        let a = accepted_json(&v);
        let m = message(only(&a));
        assert_eq!(m.id.as_deref(), Some("55"));
        assert_eq!(m.at, at(1_767_226_100));
        assert_eq!(
            m.author.as_ref().and_then(|u| u.name.as_deref()),
            Some("Lee Park")
        );
        assert_eq!(a.occurred_at, at(1_767_226_100));
    }

    #[test]
    fn an_opened_conversation_starts_one() {
        let a = accepted(include_bytes!(
            "../../../../events/payloads/respondio-conversation-opened.json"
        ));
        assert_eq!(a.delivery_id, "c2a9e4f1-3b6d-4d8a-a1f0-7e5c3b2d9a44");
        assert_eq!(a.conversation_key, "contact:112233");
        assert_eq!(a.occurred_at, at(1_767_225_800));
        let mut expected = Event::new(EventKind::ConversationStarted);
        expected.occurred_at = at(1_767_225_800);
        expected.conversation = whatsapp(Some("open"));
        expected.visitor = katherine(json!({
            "countryCode": "US", "language": "en", "lifecycle": "Customer"
        }));
        assert_eq!(only(&a), &expected);
    }

    #[test]
    fn a_closed_conversation_keeps_its_closing_note() {
        let a = accepted(include_bytes!(
            "../../../../events/payloads/respondio-conversation-closed.json"
        ));
        assert_eq!(a.delivery_id, "9f8e7d6c-5b4a-4392-8170-6e5d4c3b2a19");
        assert_eq!(a.conversation_key, "contact:112233");
        // No envelope timestamp in this shape: the closing time stands in.
        assert_eq!(a.occurred_at, at(1_767_226_400));
        let mut expected = Event::new(EventKind::Closed);
        expected.occurred_at = at(1_767_226_400);
        expected.conversation = Some(Conversation {
            id: "112233".into(),
            status: Some("close".into()),
            inbox: Some(Team {
                id: None,
                name: Some("Billing".into()),
            }),
            custom_attributes: attrs(json!({
                "category": "Refund",
                "summary": "Customer asked about refund 4471; confirmed it was issued."
            })),
            ..Conversation::default()
        });
        expected.visitor = katherine(json!({"countryCode": "US", "language": "en"}));
        expected.actor = sam();
        assert_eq!(only(&a), &expected);
    }

    #[test]
    fn a_close_by_automation_has_no_actor() {
        let v = json!({"event_type": "conversation.closed", "contact": {"id": 7},
            "conversation": {"closedBy": {}, "closedBySource": "workflow"}});
        let a = accepted_json(&v);
        let e = only(&a);
        assert_eq!(e.kind, EventKind::Closed);
        assert_eq!(e.actor, None);
        assert_eq!(a.occurred_at, None);
    }

    #[test]
    fn a_new_contact_is_upserted_with_its_custom_fields() {
        let a = accepted(include_bytes!(
            "../../../../events/payloads/respondio-contact-created.json"
        ));
        assert_eq!(a.topic, "contact.created");
        assert_eq!(a.delivery_id, "1e2d3c4b-5a69-4788-97a6-b5c4d3e2f101");
        assert_eq!(a.conversation_key, "contact:112233");
        assert_eq!(a.occurred_at, at(1_767_225_000));
        let mut expected = Event::new(EventKind::ContactUpserted);
        expected.visitor = katherine(json!({
            "order_number": "A-10442", "countryCode": "US", "language": "en"
        }));
        assert_eq!(only(&a), &expected);
    }

    #[test]
    fn an_updated_contact_is_upserted() {
        let a = accepted(include_bytes!(
            "../../../../events/payloads/respondio-contact-updated.json"
        ));
        assert_eq!(a.delivery_id, "7a6b5c4d-3e2f-4101-a9b8-c7d6e5f4a3b2");
        assert_eq!(a.conversation_key, "contact:204860");
        assert_eq!(a.occurred_at, at(1_767_226_500));
        let mut expected = Event::new(EventKind::ContactUpserted);
        expected.visitor = dorothy(json!({
            "company": "Vaughan Analytics Ltd", "seats": 12,
            "countryCode": "GB", "language": "en", "lifecycle": "Hot Lead"
        }));
        assert_eq!(only(&a), &expected);
    }

    #[test]
    fn custom_fields_may_come_as_an_object() {
        let v = json!({"event_type": "contact.updated",
            "contact": {"id": "c-9", "customFields": {"tier": "gold", "empty": null}}});
        let a = accepted_json(&v);
        let e = only(&a);
        assert_eq!(e.visitor.contact_id.as_deref(), Some("c-9"));
        assert_eq!(e.visitor.custom_attributes, attrs(json!({"tier": "gold"})));
        assert_eq!(e.visitor.name, None);
    }

    #[test]
    fn a_new_assignee_assigns_the_conversation() {
        let a = accepted(include_bytes!(
            "../../../../events/payloads/respondio-contact-assignee-updated.json"
        ));
        assert_eq!(a.delivery_id, "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f");
        assert_eq!(a.conversation_key, "contact:112233");
        assert_eq!(a.occurred_at, None);
        let mut expected = Event::new(EventKind::Assigned {
            agent: Some(Agent {
                id: Some("502".into()),
                name: Some("Priya Natarajan".into()),
                email: Some("priya.n@example.com".into()),
            }),
            team: None,
        });
        expected.conversation = whatsapp(Some("open"));
        expected.visitor = katherine(json!({
            "countryCode": "US", "language": "en", "lifecycle": "Customer"
        }));
        assert_eq!(only(&a), &expected);
    }

    #[test]
    fn a_null_assignee_unassigns() {
        for assignee in [Value::Null, json!({})] {
            let v = json!({"event_type": "contact.assignee.updated",
                "contact": {"id": 7, "assignee": assignee}});
            assert_eq!(
                only(&accepted_json(&v)).kind,
                EventKind::Assigned {
                    agent: None,
                    team: None
                }
            );
        }
    }

    #[test]
    fn a_tag_change_names_the_tag_on_the_contact_and_reaches_its_conversation() {
        let a = accepted(include_bytes!(
            "../../../../events/payloads/respondio-contact-tag-updated.json"
        ));
        assert_eq!(a.delivery_id, "8b9c0d1e-2f3a-4b5c-9d6e-7f8a9b0c1d2e");
        assert_eq!(a.conversation_key, "contact:112233");
        assert_eq!(a.occurred_at, at(1_767_226_200));
        let mut expected = Event::new(EventKind::TagsChanged {
            added: vec!["vip".into()],
            removed: vec![],
            current: None,
        });
        expected.visitor = katherine(json!({"countryCode": "US", "lifecycle": "Customer"}));
        expected.conversation = Some(Conversation {
            id: "112233".into(),
            ..Conversation::default()
        });
        assert_eq!(only(&a), &expected);
    }

    #[test]
    fn tag_removal_and_the_full_list_shape_are_understood() {
        let removed = json!({"event_type": "contact.tag.updated", "tag": "vip",
            "action": "remove", "contact": {"id": 7}});
        assert_eq!(
            only(&accepted_json(&removed)).kind,
            EventKind::TagsChanged {
                added: vec![],
                removed: vec!["vip".into()],
                current: None,
            }
        );
        let list = json!({"event_type": "contact.tag.updated",
            "tags": ["a", 3, "b"], "contact": {"id": 7, "tags": ["stale"]}});
        assert_eq!(
            only(&accepted_json(&list)).kind,
            EventKind::TagsChanged {
                added: vec![],
                removed: vec![],
                current: Some(vec!["a".into(), "b".into()]),
            }
        );
        // An empty list is a set too: every tag was removed.
        let none_left =
            json!({"event_type": "contact.tag.updated", "tags": [], "contact": {"id": 7}});
        assert_eq!(
            only(&accepted_json(&none_left)).kind,
            EventKind::TagsChanged {
                added: vec![],
                removed: vec![],
                current: Some(vec![]),
            }
        );
        let bare = json!({"event_type": "contact.tag.updated", "contact": {"id": 7}});
        assert!(accepted_json(&bare).events.is_empty());
    }

    #[test]
    fn a_lifecycle_change_upserts_the_contact_with_old_and_new_stage() {
        let a = accepted(include_bytes!(
            "../../../../events/payloads/respondio-contact-lifecycle-updated.json"
        ));
        assert_eq!(a.delivery_id, "d4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f70");
        assert_eq!(a.conversation_key, "contact:204860");
        assert_eq!(a.occurred_at, at(1_767_226_300));
        let mut expected = Event::new(EventKind::ContactUpserted);
        expected.visitor = dorothy(json!({
            "countryCode": "GB", "lifecycle": "Customer", "oldLifecycle": "Hot Lead"
        }));
        assert_eq!(only(&a), &expected);
    }

    #[test]
    fn unknown_topics_are_unsupported_before_anything_is_required() {
        assert_eq!(
            read(Platform::RespondIo, br#"{"event_type":"comment.created"}"#),
            Ok(Parsed::Unsupported {
                topic: "comment.created".into()
            })
        );
    }

    #[test]
    fn missing_required_fields_are_named() {
        let cases: [(&[u8], &str); 6] = [
            (br#"{"contact":{"id":1}}"#, "event_type"),
            (br#"{"event_type":"contact.created"}"#, "contact"),
            (br#"{"event_type":"contact.created","contact":{"firstName":"A"}}"#, "contact.id"),
            (br#"{"event_type":"message.received","contact":{"id":1}}"#, "message"),
            (
                br#"{"event_type":"message.received","contact":{"id":1},"message":{"timestamp":1}}"#,
                "message.message",
            ),
            (br#"{"event_type":"message.sent","contact":{"id":1}}"#, "message"),
        ];
        for (body, field) in cases {
            assert_eq!(
                read(Platform::RespondIo, body),
                Err(ParseError::Field(field)),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn wrong_types_do_not_panic() {
        let topics = [
            "message.received",
            "message.sent",
            "conversation.opened",
            "conversation.closed",
            "contact.created",
            "contact.assignee.updated",
            "contact.tag.updated",
            "contact.lifecycle.updated",
        ];
        let odd = [
            json!(null),
            json!(1),
            json!("x"),
            json!([1, {}]),
            json!({"a": [null]}),
        ];
        for topic in topics {
            for value in &odd {
                let v = json!({"event_type": topic, "event_id": value, "timestamp": value,
                    "tag": value, "action": value, "tags": value, "lifecycle": value,
                    "user": value, "source": value, "channel": value, "conversation": value,
                    "message": {"timestamp": value, "messageId": value,
                        "message": {"type": "attachment", "text": value, "attachment": value}},
                    "contact": {"id": 5, "firstName": value, "email": value,
                        "custom_fields": [value, {"name": value, "value": value}],
                        "customFields": value, "assignee": value, "tags": value}});
                assert!(read(Platform::RespondIo, &serde_json::to_vec(&v).unwrap()).is_ok());
                let v = json!({"event_type": topic, "contact": value, "message": value});
                assert!(read(Platform::RespondIo, &serde_json::to_vec(&v).unwrap()).is_err());
            }
        }
        assert_eq!(
            read(Platform::RespondIo, br#"{"event_type":5}"#),
            Err(ParseError::Field("event_type"))
        );
    }
}
