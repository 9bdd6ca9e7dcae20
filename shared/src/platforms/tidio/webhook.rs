//! Tidio: `x-tidio-signature: t=<ts>,s=<hex>[,s=<hex>…]`, HMAC-SHA256 of `body + "_" + t`, hex;
//! any `s` may match (rotation). `t` outside the tenant's tolerance window is refused.
//! Dedupe on `webhook_id`.

use crate::event::{
    Agent, Attachment, Attributes, BodyFormat, Conversation, Event, EventKind, Message, Role, Team,
    Visitor,
};
use crate::platforms::{
    Accepted, Inbound, ParseError, Parsed, VerifyError, agent, iso_time, same, scalar, text,
    unix_time,
};
use crate::secret::Secret;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "x-tidio-signature";

/// The header value Tidio would send for `body` signed at unix time `t`.
pub fn sign(secret: &str, body: &[u8], t: i64) -> String {
    format!("t={t},s={}", hex::encode(mac(secret, body, &t.to_string())))
}

fn mac(secret: &str, body: &[u8], t: &str) -> Vec<u8> {
    let mut m =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    m.update(body);
    m.update(b"_");
    m.update(t.as_bytes());
    m.finalize().into_bytes().to_vec()
}

pub(in crate::platforms) fn verify(
    secrets: &[Secret],
    inbound: &Inbound,
) -> Result<(), VerifyError> {
    let header = inbound
        .header(SIGNATURE_HEADER)
        .ok_or(VerifyError::Missing("x-tidio-signature"))?;
    let mut t = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) if t.is_none() => t = Some(v),
            Some(("s", v)) => {
                signatures.push(hex::decode(v).map_err(|_| VerifyError::Malformed("s is not hex"))?)
            }
            _ => return Err(VerifyError::Malformed("expected t=<ts>,s=<hex>[,s=<hex>]")),
        }
    }
    let t = t.ok_or(VerifyError::Malformed("no t= timestamp"))?;
    let ts: i64 = t
        .parse()
        .map_err(|_| VerifyError::Malformed("t is not a unix timestamp"))?;
    if signatures.is_empty() {
        return Err(VerifyError::Malformed("no s= signature"));
    }
    let skew = inbound.now.unix_timestamp().saturating_sub(ts);
    if skew.unsigned_abs() > inbound.tidio_tolerance_seconds {
        return Err(VerifyError::Stale {
            skew_seconds: skew,
            tolerance_seconds: inbound.tidio_tolerance_seconds,
        });
    }
    let matched = secrets.iter().any(|secret| {
        let expected = mac(secret.expose(), inbound.body, t);
        signatures.iter().any(|s| same(&expected, s))
    });
    if matched {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

pub(in crate::platforms) fn parse(v: &Value) -> Result<Parsed, ParseError> {
    let topic = v
        .get("topic")
        .and_then(Value::as_str)
        .ok_or(ParseError::Field("topic"))?
        .to_owned();
    // Unknown topics are answered before anything else is required of the body.
    let Some(kind) = Topic::of(&topic) else {
        return Ok(Parsed::Unsupported { topic });
    };
    let delivery_id = scalar(v.get("webhook_id")).ok_or(ParseError::Field("webhook_id"))?;
    let content = v
        .get("content")
        .filter(|c| c.is_object())
        .ok_or(ParseError::Field("content"))?;
    let (conversation_key, event) = match kind {
        Topic::Contact => contact(content)?,
        Topic::Solved => solved(content)?,
        Topic::TicketMessage(role) => ticket_message(content, role)?,
        Topic::TicketAssigned => ticket_assigned(content)?,
    };
    let events = match kind {
        Topic::Solved => vec![not_delivered(&event), event],
        // A ticket event carries the ticket's status; "solved" closes its Case (Tidio sends no
        // ticket-solved topic of its own).
        Topic::TicketMessage(_) | Topic::TicketAssigned
            if text(content.get("status")).as_deref() == Some("solved") =>
        {
            let closed = Event {
                kind: EventKind::Closed,
                ..event.clone()
            };
            vec![event, closed]
        }
        _ => vec![event],
    };
    Ok(Parsed::Accepted(Accepted {
        delivery_id,
        topic,
        conversation_key,
        occurred_at: unix_time(v.get("created_at")),
        events,
    }))
}

/// The topics chatsync syncs, grouped by how their `content` is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Topic {
    Contact,
    Solved,
    TicketMessage(Role),
    TicketAssigned,
}

impl Topic {
    fn of(topic: &str) -> Option<Self> {
        Some(match topic {
            "contact.created" | "contact.updated" => Topic::Contact,
            "conversation.solved_by_operator" | "conversation.solved_automatically" => {
                Topic::Solved
            }
            "ticket.contact_replied" => Topic::TicketMessage(Role::Visitor),
            "ticket.operator_replied" => Topic::TicketMessage(Role::Agent),
            "ticket.internal_note_added" => Topic::TicketMessage(Role::Note),
            "ticket.operator_assigned" => Topic::TicketAssigned,
            _ => return None,
        })
    }
}

/// `contact.created` / `contact.updated`: the content is the contact itself.
fn contact(content: &Value) -> Result<(String, Event), ParseError> {
    let visitor = visitor(content);
    let id = visitor
        .contact_id
        .clone()
        .ok_or(ParseError::Field("content.id"))?;
    let mut event = Event::new(EventKind::ContactUpserted);
    event.visitor = visitor;
    Ok((format!("contact:{id}"), event))
}

/// A Tidio contact object (`id`, names, `distinct_id`, `properties`) as a visitor.
fn visitor(contact: &Value) -> Visitor {
    Visitor {
        contact_id: scalar(contact.get("id")),
        external_id: scalar(contact.get("distinct_id")),
        email: text(contact.get("email")),
        phone: text(contact.get("phone")),
        first_name: text(contact.get("first_name")),
        last_name: text(contact.get("last_name")),
        custom_attributes: properties(contact.get("properties")),
        ..Visitor::default()
    }
}

/// `properties` is documented as `[{name, value}]`; its type column says "object", so a
/// plain name -> value map is read too.
fn properties(value: Option<&Value>) -> Attributes {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|p| Some((text(p.get("name"))?, p.get("value")?.clone())))
            .collect(),
        Some(Value::Object(map)) => map.clone(),
        _ => Attributes::new(),
    }
}

/// `conversation.solved_*`. The vendor's field list is cut short, so the likely names are
/// all read: `conversation_id` or `id`; `contact_id` or `contact{…}`; `operator_id` or
/// `operator{…}` (absent when Tidio solved it itself).
fn solved(content: &Value) -> Result<(String, Event), ParseError> {
    let id = scalar(content.get("conversation_id"))
        .or_else(|| scalar(content.get("id")))
        .ok_or(ParseError::Field("content.conversation_id"))?;
    let mut event = Event::new(EventKind::Closed);
    event.conversation = Some(Conversation {
        id: id.clone(),
        status: text(content.get("status")),
        channel: text(content.get("channel")),
        ..Conversation::default()
    });
    event.visitor = content
        .get("contact")
        .filter(|c| c.is_object())
        .map(visitor)
        .unwrap_or_default();
    if event.visitor.contact_id.is_none() {
        event.visitor.contact_id = scalar(content.get("contact_id"));
    }
    event.actor = agent(content.get("operator")).or_else(|| by_id(content.get("operator_id")));
    Ok((format!("conversation:{id}"), event))
}

/// The line a solved live chat's transcript gets instead of its messages: no Tidio webhook
/// carries them and Tidio's OpenAPI documents no read of them (docs/platforms.md#tidio). Its
/// id makes a repeated delivery the same line.
fn not_delivered(closed: &Event) -> Event {
    let id = closed
        .conversation
        .as_ref()
        .map(|c| c.id.clone())
        .unwrap_or_default();
    Event {
        kind: EventKind::MessageAdded {
            message: Message {
                id: Some(format!("chatsync-chat-{id}")),
                role: Role::Note,
                author: Some(Agent {
                    name: Some("chatsync".into()),
                    ..Agent::default()
                }),
                body: format!(
                    "[the live chat's messages are not delivered by Tidio's webhooks: read them in Tidio, conversation {id}]"
                ),
                format: BodyFormat::Text,
                at: None,
                attachments: Vec::new(),
            },
        },
        actor: None,
        ..closed.clone()
    }
}

/// `ticket.*_replied` / `ticket.internal_note_added`: one message on a ticket.
fn ticket_message(content: &Value, role: Role) -> Result<(String, Event), ParseError> {
    let m = content
        .get("message")
        .filter(|m| m.is_object())
        .ok_or(ParseError::Field("content.message"))?;
    // An internal message is never a public reply, whatever the topic says.
    let role = if text(m.get("message_type")).as_deref() == Some("internal") {
        Role::Note
    } else {
        role
    };
    let author = by_id(m.get("author_id"));
    let at = iso_time(m.get("created_at"));
    let message = Message {
        id: scalar(m.get("message_id")),
        role,
        author: author.clone(),
        body: text(m.get("message_content")).unwrap_or_default(),
        format: BodyFormat::Text,
        at,
        attachments: attachments(m.get("attachments")),
    };
    let (key, mut event) = ticket(content, EventKind::MessageAdded { message })?;
    event.occurred_at = at;
    if role == Role::Visitor {
        // The contact wrote it: its id stands in when the ticket omits `contact_id`.
        if event.visitor.contact_id.is_none() {
            event.visitor.contact_id = author.and_then(|a| a.id);
        }
    } else {
        event.actor = author;
    }
    Ok((key, event))
}

/// Attachments as URLs (the ticket API's shape) or `{url, name, …}` objects.
fn attachments(value: Option<&Value>) -> Vec<Attachment> {
    let Some(Value::Array(items)) = value else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|a| match a {
            Value::String(_) => Some(Attachment {
                url: text(Some(a))?,
                name: None,
                content_type: None,
                size: None,
            }),
            _ => Some(Attachment {
                url: text(a.get("url"))?,
                name: text(a.get("name")),
                content_type: text(a.get("content_type")),
                size: a.get("size").and_then(Value::as_u64),
            }),
        })
        .collect()
}

/// `ticket.operator_assigned`: the new assignee is `operator_id`, `assignee` or
/// `assigned_operator_id`, and the department `department_id` or `assigned_department_id`.
/// A body naming none of them is refused rather than read as an unassignment.
fn ticket_assigned(content: &Value) -> Result<(String, Event), ParseError> {
    // A key sent as null still counts: it says the ticket has no assignee.
    let present = |names: &[&str]| names.iter().any(|n| content.get(*n).is_some());
    let first = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| content.get(*n).filter(|v| !v.is_null()))
    };
    const AGENT: &[&str] = &["operator_id", "assignee", "assigned_operator_id"];
    const TEAM: &[&str] = &["department_id", "assigned_department_id"];
    if !present(AGENT) && !present(TEAM) {
        return Err(ParseError::Field("content.operator_id"));
    }
    let (agent, team) = (first(AGENT), first(TEAM));
    let kind = EventKind::Assigned {
        agent: self::agent(agent).or_else(|| by_id(agent)),
        team: scalar(team).map(|id| Team {
            id: Some(id),
            name: None,
        }),
    };
    ticket(content, kind)
}

/// The parts every ticket topic shares: key `ticket:<id>`, the ticket as the conversation,
/// its contact as the visitor.
fn ticket(content: &Value, kind: EventKind) -> Result<(String, Event), ParseError> {
    let id = scalar(content.get("id")).ok_or(ParseError::Field("content.id"))?;
    let mut event = Event::new(kind);
    event.conversation = Some(Conversation {
        id: id.clone(),
        status: text(content.get("status")),
        subject: text(content.get("subject")),
        ..Conversation::default()
    });
    event.visitor = Visitor {
        contact_id: scalar(content.get("contact_id")),
        email: text(content.get("contact_email")),
        ..Visitor::default()
    };
    Ok((format!("ticket:{id}"), event))
}

/// An operator known only by its id.
fn by_id(value: Option<&Value>) -> Option<Agent> {
    scalar(value).map(|id| Agent {
        id: Some(id),
        ..Agent::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::{Platform, parse as read, verify as check};
    use http::HeaderMap;
    use time::OffsetDateTime;

    const BODY: &[u8] = br#"{"created_at":1700000000,"project_public_key":"pk","topic":"contact.created","version":1,"webhook_id":"4a1c0e56-2d8e-4c55-9a7e-0c2f5d1e7a10","content":{"id":"c-1"}}"#;

    fn at(ts: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(ts).unwrap()
    }

    fn inbound<'a>(h: &'a HeaderMap, body: &'a [u8], now: i64) -> Inbound<'a> {
        Inbound {
            headers: h,
            query_token: None,
            body,
            now: at(now),
            tidio_tolerance_seconds: 300,
        }
    }

    #[test]
    fn the_signature_covers_body_underscore_timestamp() {
        let header = sign("sec", BODY, 1_700_000_000);
        let mut h = HeaderMap::new();
        h.insert("x-tidio-signature", header.parse().unwrap());
        assert_eq!(
            check(
                Platform::Tidio,
                &[Secret::new("sec")],
                &inbound(&h, BODY, 1_700_000_010)
            ),
            Ok(())
        );
        // The same MAC with the timestamp changed does not verify.
        let forged = header.replace("t=1700000000", "t=1700000001");
        h.insert("x-tidio-signature", forged.parse().unwrap());
        assert_eq!(
            check(
                Platform::Tidio,
                &[Secret::new("sec")],
                &inbound(&h, BODY, 1_700_000_010)
            ),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn any_of_several_signatures_may_match() {
        let good = sign("new", BODY, 1_700_000_000);
        let s_new = good.split_once(",s=").unwrap().1;
        let mut h = HeaderMap::new();
        h.insert(
            "x-tidio-signature",
            format!("t=1700000000,s={},s={s_new}", "ab".repeat(32))
                .parse()
                .unwrap(),
        );
        assert_eq!(
            check(
                Platform::Tidio,
                &[Secret::new("new")],
                &inbound(&h, BODY, 1_700_000_000)
            ),
            Ok(())
        );
    }

    #[test]
    fn stale_and_future_timestamps_are_refused() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-tidio-signature",
            sign("sec", BODY, 1_700_000_000).parse().unwrap(),
        );
        let secrets = [Secret::new("sec")];
        assert!(matches!(
            check(Platform::Tidio, &secrets, &inbound(&h, BODY, 1_700_000_301)),
            Err(VerifyError::Stale { .. })
        ));
        assert!(matches!(
            check(Platform::Tidio, &secrets, &inbound(&h, BODY, 1_699_999_600)),
            Err(VerifyError::Stale { .. })
        ));
    }

    #[test]
    fn malformed_headers_are_refused() {
        let secrets = [Secret::new("sec")];
        for bad in [
            "s=00",
            "t=1700000000",
            "t=x,s=00",
            "t=1700000000,s=zz",
            "garbage",
        ] {
            let mut h = HeaderMap::new();
            h.insert("x-tidio-signature", bad.parse().unwrap());
            assert!(
                matches!(
                    check(Platform::Tidio, &secrets, &inbound(&h, BODY, 1_700_000_000)),
                    Err(VerifyError::Malformed(_))
                ),
                "{bad}"
            );
        }
    }

    fn accepted(body: &[u8]) -> Accepted {
        match read(Platform::Tidio, body) {
            Ok(Parsed::Accepted(a)) => a,
            other => panic!("not accepted: {other:?}"),
        }
    }

    fn parsed(v: serde_json::Value) -> Result<Parsed, ParseError> {
        parse(&v)
    }

    fn utc(rfc3339: &str) -> OffsetDateTime {
        OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339).unwrap()
    }

    fn agent(id: &str) -> Option<Agent> {
        Some(Agent {
            id: Some(id.into()),
            ..Agent::default()
        })
    }

    const GRACE: &str = "8d2f1c3e-4b5a-6c7d-8e9f-0a1b2c3d4e5f";
    const OPERATOR: &str = "e7a2c5d1-9b4f-4e36-8d0a-2f6c1b9e7a35";
    const SUBJECT: &str = "Invoice shows the wrong company name";

    fn invoice_ticket(status: &str) -> Option<Conversation> {
        Some(Conversation {
            id: "4821".into(),
            status: Some(status.into()),
            subject: Some(SUBJECT.into()),
            ..Conversation::default()
        })
    }

    fn grace() -> Visitor {
        Visitor {
            contact_id: Some(GRACE.into()),
            ..Visitor::default()
        }
    }

    #[test]
    fn the_envelope_uses_webhook_id() {
        let e = accepted(BODY);
        assert_eq!(e.delivery_id, "4a1c0e56-2d8e-4c55-9a7e-0c2f5d1e7a10");
        assert_eq!(e.topic, "contact.created");
        assert_eq!(e.conversation_key, "contact:c-1");
        assert_eq!(e.occurred_at, Some(at(1_700_000_000)));
    }

    #[test]
    fn a_created_contact_carries_every_documented_field() {
        let mut event = Event::new(EventKind::ContactUpserted);
        event.visitor = Visitor {
            contact_id: Some(GRACE.into()),
            external_id: Some("visitor-77f1".into()),
            email: Some("grace.hopper@example.com".into()),
            phone: Some("+1 555 0142".into()),
            first_name: Some("Grace".into()),
            last_name: Some("Hopper".into()),
            custom_attributes: serde_json::json!({"plan": "team", "signup_source": "pricing page"})
                .as_object()
                .unwrap()
                .clone(),
            ..Visitor::default()
        };
        assert_eq!(
            accepted(include_bytes!(
                "../../../../events/payloads/tidio-contact-created.json"
            )),
            Accepted {
                delivery_id: "0f4c6a2e-7b1d-4c3e-9f8a-2b5d6e7f8a9b".into(),
                topic: "contact.created".into(),
                conversation_key: format!("contact:{GRACE}"),
                occurred_at: Some(utc("2026-01-01T00:01:40Z")),
                events: vec![event],
            }
        );
    }

    #[test]
    fn an_updated_contact_leaves_null_fields_out() {
        let mut event = Event::new(EventKind::ContactUpserted);
        event.visitor = Visitor {
            contact_id: Some(GRACE.into()),
            email: Some("grace.hopper@example.com".into()),
            first_name: Some("Grace".into()),
            last_name: Some("Hopper-Lane".into()),
            custom_attributes: serde_json::json!({"plan": "enterprise"})
                .as_object()
                .unwrap()
                .clone(),
            ..Visitor::default()
        };
        assert_eq!(
            accepted(include_bytes!(
                "../../../../events/payloads/tidio-contact-updated.json"
            )),
            Accepted {
                delivery_id: "5b7e2d90-31c4-4f6a-8e12-7d9c0a4b6e21".into(),
                topic: "contact.updated".into(),
                conversation_key: format!("contact:{GRACE}"),
                occurred_at: Some(utc("2026-01-01T10:30:00Z")),
                events: vec![event],
            }
        );
    }

    #[test]
    fn properties_sent_as_a_map_are_read_too() {
        let p = parsed(serde_json::json!({
            "topic": "contact.updated", "webhook_id": "w",
            "content": {"id": "c", "properties": {"tier": "gold", "seats": 12}}
        }));
        let e = p.unwrap().accepted().unwrap();
        assert_eq!(
            serde_json::Value::Object(e.events[0].visitor.custom_attributes.clone()),
            serde_json::json!({"tier": "gold", "seats": 12})
        );
    }

    #[test]
    fn a_conversation_solved_by_an_operator_closes_it_with_the_operator_as_actor() {
        let mut event = Event::new(EventKind::Closed);
        event.conversation = Some(Conversation {
            id: "c41e9b72-0d3a-4f58-a6e1-93b2d7c5f018".into(),
            ..Conversation::default()
        });
        event.visitor = grace();
        event.actor = agent(OPERATOR);
        assert_eq!(
            accepted(include_bytes!(
                "../../../../events/payloads/tidio-conversation-solved-by-operator.json"
            )),
            Accepted {
                delivery_id: "a3c1f7e4-6d2b-4b8e-9c05-1e7f3a9d2c64".into(),
                topic: "conversation.solved_by_operator".into(),
                conversation_key: "conversation:c41e9b72-0d3a-4f58-a6e1-93b2d7c5f018".into(),
                occurred_at: Some(utc("2026-01-02T09:30:00Z")),
                events: vec![not_delivered(&event), event],
            }
        );
    }

    #[test]
    fn a_conversation_solved_automatically_closes_it_without_an_actor() {
        let mut event = Event::new(EventKind::Closed);
        event.conversation = Some(Conversation {
            id: "f2b8d4a6-7c1e-4d93-b05a-6e3c9a2d1f47".into(),
            ..Conversation::default()
        });
        event.visitor = Visitor {
            contact_id: Some("3a9c7e15-2b6d-4f08-9e4a-c1d7b3f5a926".into()),
            ..Visitor::default()
        };
        assert_eq!(
            accepted(include_bytes!(
                "../../../../events/payloads/tidio-conversation-solved-automatically.json"
            )),
            Accepted {
                delivery_id: "d9e4b2a7-58c1-4a3f-b6d0-7c2e9f1a4b83".into(),
                topic: "conversation.solved_automatically".into(),
                conversation_key: "conversation:f2b8d4a6-7c1e-4d93-b05a-6e3c9a2d1f47".into(),
                occurred_at: Some(utc("2026-01-03T10:35:00Z")),
                events: vec![not_delivered(&event), event],
            }
        );
    }

    #[test]
    fn a_solved_chat_says_where_its_messages_are_and_a_solved_ticket_closes() {
        let e = parsed(serde_json::json!({
            "topic": "conversation.solved_by_operator", "webhook_id": "w",
            "content": {"conversation_id": "c-1", "contact_id": "k", "operator_id": "op"}
        }))
        .unwrap()
        .accepted()
        .unwrap();
        let EventKind::MessageAdded { message } = &e.events[0].kind else {
            panic!("{:?}", e.events[0])
        };
        assert_eq!(message.role, Role::Note);
        assert_eq!(message.id.as_deref(), Some("chatsync-chat-c-1"));
        assert!(
            message
                .body
                .contains("read them in Tidio, conversation c-1")
        );
        assert_eq!(
            e.events[0].actor, None,
            "chatsync wrote it, not the operator"
        );
        assert_eq!(e.events[1].kind, EventKind::Closed);

        let reply = |status: &str| {
            parsed(serde_json::json!({
                "topic": "ticket.operator_replied", "webhook_id": "w",
                "content": {"id": 9, "status": status, "contact_id": "k",
                    "message": {"author_id": "op", "message_id": "m", "message_content": "Done"}}
            }))
            .unwrap()
            .accepted()
            .unwrap()
        };
        let solved = reply("solved");
        assert_eq!(solved.events.len(), 2);
        assert!(matches!(
            solved.events[0].kind,
            EventKind::MessageAdded { .. }
        ));
        assert_eq!(solved.events[1].kind, EventKind::Closed);
        assert_eq!(reply("pending").events.len(), 1);
    }

    #[test]
    fn a_solved_conversation_may_nest_the_contact_and_operator() {
        let e = parsed(serde_json::json!({
            "topic": "conversation.solved_by_operator", "webhook_id": "w",
            "content": {
                "id": 77,
                "contact": {"id": "c-9", "email": "ada@example.org", "distinct_id": 501},
                "operator": {"id": "op-2", "name": "Lin Operator", "email": "lin@example.com"}
            }
        }))
        .unwrap()
        .accepted()
        .unwrap();
        assert_eq!(e.conversation_key, "conversation:77");
        let event = &e.events[1];
        assert_eq!(event.conversation.as_ref().unwrap().id, "77");
        assert_eq!(
            event.visitor,
            Visitor {
                contact_id: Some("c-9".into()),
                external_id: Some("501".into()),
                email: Some("ada@example.org".into()),
                ..Visitor::default()
            }
        );
        assert_eq!(
            event.actor,
            Some(Agent {
                id: Some("op-2".into()),
                name: Some("Lin Operator".into()),
                email: Some("lin@example.com".into()),
            })
        );
    }

    #[test]
    fn a_contact_reply_on_a_ticket_is_a_visitor_message() {
        let written = utc("2026-01-02T09:15:30Z");
        let mut event = Event::new(EventKind::MessageAdded {
            message: Message {
                id: Some("01KDX4Q7B2M9C3R5T8V1W6Y0ZA".into()),
                role: Role::Visitor,
                author: agent(GRACE),
                body: "Hi, our January invoice still says Hopper Labs. Could you change it to Hopper & Lane Ltd?".into(),
                format: BodyFormat::Text,
                at: Some(written),
                attachments: vec![],
            },
        });
        event.occurred_at = Some(written);
        event.conversation = invoice_ticket("open");
        event.visitor = grace();
        assert_eq!(
            accepted(include_bytes!(
                "../../../../events/payloads/tidio-ticket-contact-replied.json"
            )),
            Accepted {
                delivery_id: "6e1d3b8f-2a4c-4e97-8f15-b3a0c7d9e2f4".into(),
                topic: "ticket.contact_replied".into(),
                conversation_key: "ticket:4821".into(),
                occurred_at: Some(utc("2026-01-02T09:15:35Z")),
                events: vec![event],
            }
        );
    }

    #[test]
    fn an_operator_reply_on_a_ticket_is_an_agent_message_with_its_attachment() {
        let written = utc("2026-01-02T09:27:55.412Z");
        let mut event = Event::new(EventKind::MessageAdded {
            message: Message {
                id: Some("01KDX5H3N6P0Q2S4U7X9Z1B3CD".into()),
                role: Role::Agent,
                author: agent(OPERATOR),
                body: "Done: the corrected invoice is attached. Sorry for the trouble!".into(),
                format: BodyFormat::Text,
                at: Some(written),
                attachments: vec![Attachment {
                    name: None,
                    url: "https://files.example.com/tickets/4821/invoice-2026-01.pdf".into(),
                    content_type: None,
                    size: None,
                }],
            },
        });
        event.occurred_at = Some(written);
        event.conversation = invoice_ticket("pending");
        event.visitor = grace();
        event.actor = agent(OPERATOR);
        assert_eq!(
            accepted(include_bytes!(
                "../../../../events/payloads/tidio-ticket-operator-replied.json"
            )),
            Accepted {
                delivery_id: "b8f0a2c6-4e1d-4b73-9a58-0d2e6c4f8b19".into(),
                topic: "ticket.operator_replied".into(),
                conversation_key: "ticket:4821".into(),
                occurred_at: Some(utc("2026-01-02T09:28:00Z")),
                events: vec![event],
            }
        );
    }

    #[test]
    fn an_internal_note_on_a_ticket_is_a_note() {
        let written = utc("2026-01-02T09:22:40Z");
        let mut event = Event::new(EventKind::MessageAdded {
            message: Message {
                id: Some("01KDX59R4T7V0X2Z5B8D1F3H6J".into()),
                role: Role::Note,
                author: agent(OPERATOR),
                body: "Billing name change approved by finance, ref FIN-0193.".into(),
                format: BodyFormat::Text,
                at: Some(written),
                attachments: vec![],
            },
        });
        event.occurred_at = Some(written);
        event.conversation = invoice_ticket("open");
        event.visitor = grace();
        event.actor = agent(OPERATOR);
        assert_eq!(
            accepted(include_bytes!(
                "../../../../events/payloads/tidio-ticket-internal-note-added.json"
            )),
            Accepted {
                delivery_id: "2c7a9e41-8b3d-4f60-a1c5-e9d4b7f2a068".into(),
                topic: "ticket.internal_note_added".into(),
                conversation_key: "ticket:4821".into(),
                occurred_at: Some(utc("2026-01-02T09:22:40Z")),
                events: vec![event],
            }
        );
    }

    fn first_message(v: serde_json::Value) -> Message {
        let e = parsed(v).unwrap().accepted().unwrap();
        match &e.events[0].kind {
            EventKind::MessageAdded { message } => message.clone(),
            other => panic!("not a message: {other:?}"),
        }
    }

    #[test]
    fn an_internal_message_is_a_note_whatever_the_topic_and_times_become_utc() {
        let m = first_message(serde_json::json!({
            "topic": "ticket.operator_replied", "webhook_id": "w",
            "content": {"id": 1, "message": {
                "message_type": "internal", "message_content": "  keep this quiet ",
                "created_at": "2026-01-02T11:00:00+02:00"
            }}
        }));
        assert_eq!(m.role, Role::Note);
        assert_eq!(m.body, "keep this quiet");
        assert_eq!(m.at, Some(utc("2026-01-02T09:00:00Z")));
        assert_eq!(m.at.unwrap().offset(), time::UtcOffset::UTC);
    }

    #[test]
    fn a_contact_reply_without_contact_id_names_the_author_as_the_visitor() {
        let e = parsed(serde_json::json!({
            "topic": "ticket.contact_replied", "webhook_id": "w",
            "content": {"id": 2, "contact_email": "ada@example.org", "message": {
                "author_id": "c-5", "author_type": "contact",
                "attachments": [{"url": "https://files.example.com/a.png", "name": "a.png", "size": 42}, 7]
            }}
        }))
        .unwrap()
        .accepted()
        .unwrap();
        let event = &e.events[0];
        assert_eq!(event.visitor.contact_id.as_deref(), Some("c-5"));
        assert_eq!(event.visitor.email.as_deref(), Some("ada@example.org"));
        assert_eq!(event.actor, None);
        let EventKind::MessageAdded { message } = &event.kind else {
            panic!("not a message");
        };
        assert_eq!(message.body, "");
        assert_eq!(
            message.attachments,
            vec![Attachment {
                name: Some("a.png".into()),
                url: "https://files.example.com/a.png".into(),
                content_type: None,
                size: Some(42),
            }]
        );
    }

    #[test]
    fn an_assigned_ticket_names_the_operator() {
        let mut event = Event::new(EventKind::Assigned {
            agent: agent(OPERATOR),
            team: None,
        });
        event.conversation = invoice_ticket("open");
        event.visitor = grace();
        assert_eq!(
            accepted(include_bytes!(
                "../../../../events/payloads/tidio-ticket-operator-assigned.json"
            )),
            Accepted {
                delivery_id: "9f3b6d20-1e8a-4c57-b4d9-5a0f2e7c8d13".into(),
                topic: "ticket.operator_assigned".into(),
                conversation_key: "ticket:4821".into(),
                occurred_at: Some(utc("2026-01-02T09:17:00Z")),
                events: vec![event],
            }
        );
    }

    fn assignment(content: serde_json::Value) -> EventKind {
        let e = parsed(serde_json::json!({
            "topic": "ticket.operator_assigned", "webhook_id": "w", "content": content
        }))
        .unwrap()
        .accepted()
        .unwrap();
        e.events[0].kind.clone()
    }

    #[test]
    fn assignment_reads_an_assignee_object_a_department_or_an_explicit_null() {
        assert_eq!(
            assignment(serde_json::json!({
                "id": 3, "operator_id": null,
                "assignee": {"id": "op-7", "name": "Sam"}, "assigned_department_id": 12
            })),
            EventKind::Assigned {
                agent: Some(Agent {
                    id: Some("op-7".into()),
                    name: Some("Sam".into()),
                    email: None,
                }),
                team: Some(Team {
                    id: Some("12".into()),
                    name: None,
                }),
            }
        );
        assert_eq!(
            assignment(serde_json::json!({"id": 3, "operator_id": null})),
            EventKind::Assigned {
                agent: None,
                team: None
            }
        );
    }

    #[test]
    fn topics_not_synced_are_unsupported_before_anything_is_required() {
        for topic in [
            "ticket.created",
            "conversation.operator_replied",
            "contact.deleted",
            "",
        ] {
            assert_eq!(
                parsed(serde_json::json!({"topic": topic})),
                Ok(Parsed::Unsupported {
                    topic: topic.into()
                }),
                "{topic}"
            );
        }
    }

    #[test]
    fn missing_required_fields_are_named() {
        let cases = [
            (serde_json::json!({"webhook_id": "w"}), "topic"),
            (serde_json::json!({"topic": 5}), "topic"),
            (
                serde_json::json!({"topic": "contact.created", "content": {"id": "c"}}),
                "webhook_id",
            ),
            (
                serde_json::json!({"topic": "contact.created", "webhook_id": "w"}),
                "content",
            ),
            (
                serde_json::json!({"topic": "contact.updated", "webhook_id": "w", "content": {"email": "a@example.com"}}),
                "content.id",
            ),
            (
                serde_json::json!({"topic": "conversation.solved_by_operator", "webhook_id": "w", "content": {"contact_id": "c"}}),
                "content.conversation_id",
            ),
            (
                serde_json::json!({"topic": "ticket.contact_replied", "webhook_id": "w", "content": {"id": 1}}),
                "content.message",
            ),
            (
                serde_json::json!({"topic": "ticket.operator_replied", "webhook_id": "w", "content": {"message": {}}}),
                "content.id",
            ),
            (
                serde_json::json!({"topic": "ticket.operator_assigned", "webhook_id": "w", "content": {"id": 1}}),
                "content.operator_id",
            ),
            (
                serde_json::json!({"topic": "ticket.operator_assigned", "webhook_id": "w", "content": {"operator_id": "o"}}),
                "content.id",
            ),
        ];
        for (body, field) in cases {
            assert_eq!(
                parsed(body.clone()),
                Err(ParseError::Field(field)),
                "{body}"
            );
        }
    }

    #[test]
    fn wrong_types_do_not_panic() {
        let odd = [
            serde_json::json!(null),
            serde_json::json!(true),
            serde_json::json!(-1.5),
            serde_json::json!("x"),
            serde_json::json!([1, {"name": 2}]),
            serde_json::json!({"a": [null]}),
        ];
        let topics = [
            "contact.created",
            "conversation.solved_automatically",
            "ticket.contact_replied",
            "ticket.internal_note_added",
            "ticket.operator_assigned",
        ];
        let keys = [
            "id",
            "conversation_id",
            "contact_id",
            "contact",
            "operator",
            "operator_id",
            "assignee",
            "department_id",
            "message",
            "properties",
            "email",
            "status",
        ];
        for topic in topics {
            for x in &odd {
                for key in keys {
                    let content = serde_json::json!({
                        "id": 1, key: x,
                        "message": {"message_id": x, "message_content": x, "created_at": x,
                                    "attachments": x, "author_id": x, "message_type": x}
                    });
                    let _ = parsed(serde_json::json!({
                        "topic": topic, "webhook_id": x, "created_at": x, "content": content
                    }));
                }
                let _ =
                    parsed(serde_json::json!({"topic": topic, "webhook_id": "w", "content": x}));
            }
        }
    }
}
