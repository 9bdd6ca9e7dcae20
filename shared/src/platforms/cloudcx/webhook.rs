//! CloudCX documents no signature, so the tenant's webhook URL carries a secret token
//! (`?token=` or `Authorization: Bearer`), compared in constant time. No event id either:
//! dedupe on a hash of the body.
//!
//! Bodies are flat JSON named by `event` and thin (ids only): ticket message bodies are fetched
//! later, so their `MessageAdded` events carry an empty body.

use crate::event::{
    Agent, Attributes, BodyFormat, Conversation, Event, EventKind, Message, Role, Team, Visitor,
};
use crate::platforms::{
    Accepted, Inbound, ParseError, Parsed, VerifyError, body_hash, scalar, text, unix_time,
};
use crate::secret::Secret;
use serde_json::Value;

pub(in crate::platforms) fn verify(
    secrets: &[Secret],
    inbound: &Inbound,
) -> Result<(), VerifyError> {
    let bearer = inbound
        .header("authorization")
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim);
    let token = inbound.query_token.or(bearer).ok_or(VerifyError::Missing(
        "token (query ?token= or Authorization: Bearer)",
    ))?;
    if crate::secret::matches_any(secrets, token) {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

/// The queue key and the events of one supported delivery.
struct Read {
    conversation_key: String,
    events: Vec<Event>,
}

pub(in crate::platforms) fn parse(v: &Value, body: &[u8]) -> Result<Parsed, ParseError> {
    let topic = v
        .get("event")
        .and_then(Value::as_str)
        .ok_or(ParseError::Field("event"))?;
    let read = match topic {
        "LiveChatSessionChatting" => session(v, EventKind::ConversationStarted)?,
        "LiveChatSessionEnd" => session(v, EventKind::Closed)?,
        "OfflineMessageSubmit" => offline_message(v)?,
        "TicketCreated" => ticket(v, |_, _| Ok(EventKind::ConversationStarted))?,
        "TicketFromUserReply" => ticket(v, |v, _| Ok(reply(v, Role::Visitor)))?,
        "TicketAgentReply" => ticket(v, |v, _| Ok(reply(v, Role::Agent)))?,
        "TicketAssigneeChanged" => ticket(v, |v, _| Ok(assigned(v)))?,
        "TicketStatusChanged" => ticket(v, status_changed)?,
        "ContactCreated" => contacts(v, "createdTime")?,
        "ContactUpdated" => contacts(v, "lastUpdatedTime")?,
        "ContactDeleted" => deleted_contacts(v)?,
        // TicketMoveToRecycleBin, wrap-up, transfer, agent status: nothing chatsync syncs.
        _ => {
            return Ok(Parsed::Unsupported {
                topic: topic.to_owned(),
            });
        }
    };
    Ok(Parsed::Accepted(Accepted {
        delivery_id: body_hash(body),
        topic: topic.to_owned(),
        conversation_key: read.conversation_key,
        // CloudCX stamps no delivery time; contact events carry their own.
        occurred_at: None,
        events: read.events,
    }))
}

/// A web chat session of the Omni-Widget (`planId`), which stands in for the inbox.
fn widget_conversation(v: &Value, id: String) -> Conversation {
    Conversation {
        id,
        inbox: scalar(v.get("planId")).map(|id| Team {
            id: Some(id),
            name: None,
        }),
        channel: Some("webchat".into()),
        ..Conversation::default()
    }
}

fn widget_visitor(v: &Value) -> Visitor {
    Visitor {
        visitor_id: scalar(v.get("visitorId")),
        ..Visitor::default()
    }
}

/// `LiveChatSessionChatting` / `LiveChatSessionEnd`: `{planId, sessionId, visitorId}`. The chat's
/// messages reach no webhook and CloudCX documents no API for them (docs/platforms.md#cloudcx),
/// so the end adds one line saying where the transcript is (its id makes a repeat the same line).
fn session(v: &Value, kind: EventKind) -> Result<Read, ParseError> {
    let id = scalar(v.get("sessionId")).ok_or(ParseError::Field("sessionId"))?;
    let ends = kind == EventKind::Closed;
    let event = |kind| Event {
        conversation: Some(widget_conversation(v, id.clone())),
        visitor: widget_visitor(v),
        ..Event::new(kind)
    };
    let mut events = Vec::with_capacity(2);
    if ends {
        events.push(event(EventKind::MessageAdded {
            message: Message {
                id: Some(format!("chatsync-session-{id}")),
                role: Role::Note,
                author: Some(Agent {
                    name: Some("chatsync".into()),
                    ..Agent::default()
                }),
                body: format!(
                    "[the live chat's messages are not delivered by CloudCX's webhooks: read them in CloudCX, web chat session {id}]"
                ),
                format: BodyFormat::Text,
                at: None,
                attachments: Vec::new(),
            },
        }));
    }
    events.push(event(kind));
    Ok(Read {
        conversation_key: format!("session:{id}"),
        events,
    })
}

/// `OfflineMessageSubmit`: the visitor left a message while no agent was online. It opens the
/// conversation and is its first line; without a session it stands alone under its own id.
fn offline_message(v: &Value) -> Result<Read, ParseError> {
    let message_id = scalar(v.get("offlineMessageId"));
    let (conversation_key, id) = match (scalar(v.get("sessionId")), &message_id) {
        (Some(session), _) => (format!("session:{session}"), session),
        (None, Some(message)) => (format!("offline:{message}"), message.clone()),
        (None, None) => return Err(ParseError::Field("sessionId")),
    };
    let conversation = widget_conversation(v, id);
    let visitor = widget_visitor(v);
    let message = Message {
        id: message_id,
        role: Role::Visitor,
        author: None,
        body: text(v.get("content")).unwrap_or_default(),
        format: BodyFormat::Text,
        at: None,
        attachments: Vec::new(),
    };
    let started = Event {
        conversation: Some(conversation.clone()),
        visitor: visitor.clone(),
        ..Event::new(EventKind::ConversationStarted)
    };
    let added = Event {
        conversation: Some(conversation),
        visitor,
        ..Event::new(EventKind::MessageAdded { message })
    };
    Ok(Read {
        conversation_key,
        events: vec![started, added],
    })
}

/// The channel name of every ticket conversation.
pub const TICKET_CHANNEL: &str = "inbox";

/// Any `Ticket*` event: `ticketId` is required; `kind` reads the rest and may fill in the
/// conversation (the status).
fn ticket(
    v: &Value,
    kind: impl FnOnce(&Value, &mut Conversation) -> Result<EventKind, ParseError>,
) -> Result<Read, ParseError> {
    let id = scalar(v.get("ticketId")).ok_or(ParseError::Field("ticketId"))?;
    // Tickets are CloudCX's Inbox; sessions its Web Chat: a tenant may treat them apart
    // (`[config.channels.inbox]`, `[config.channels.webchat]`).
    let mut conversation = Conversation {
        id: id.clone(),
        channel: Some(TICKET_CHANNEL.into()),
        ..Conversation::default()
    };
    let kind = kind(v, &mut conversation)?;
    let event = Event {
        conversation: Some(conversation),
        ..Event::new(kind)
    };
    Ok(Read {
        conversation_key: format!("ticket:{id}"),
        events: vec![event],
    })
}

/// A ticket reply names only its message: the webhook carries no body and CloudCX documents
/// no API to read it (docs/platforms.md#cloudcx), so the transcript line says where to read it
/// instead of being empty.
fn reply(v: &Value, role: Role) -> EventKind {
    let id = scalar(v.get("messageId"));
    let ticket = scalar(v.get("ticketId")).unwrap_or_default();
    let body = format!(
        "[message {} not delivered by CloudCX's webhook: read it in CloudCX, ticket {ticket}]",
        id.as_deref().unwrap_or("(no id)")
    );
    EventKind::MessageAdded {
        message: Message {
            id,
            role,
            author: None,
            body,
            format: BodyFormat::Text,
            at: None,
            attachments: Vec::new(),
        },
    }
}

/// `toAgentId: null` (or absent) leaves the ticket unassigned.
fn assigned(v: &Value) -> EventKind {
    EventKind::Assigned {
        agent: scalar(v.get("toAgentId")).map(|id| Agent {
            id: Some(id),
            ..Agent::default()
        }),
        team: None,
    }
}

fn status_changed(v: &Value, conversation: &mut Conversation) -> Result<EventKind, ParseError> {
    let after = text(v.get("afterTicketStatus")).ok_or(ParseError::Field("afterTicketStatus"))?;
    let before = text(v.get("beforeTicketStatus"));
    let kind = if is_done(&after) {
        EventKind::Closed
    } else if before.as_deref().is_some_and(is_done) {
        EventKind::Reopened
    } else {
        EventKind::StatusChanged {
            status: after.clone(),
        }
    };
    conversation.status = Some(after);
    Ok(kind)
}

/// Resolved and Closed both end a ticket; CloudCX's casing is not documented as stable.
fn is_done(status: &str) -> bool {
    status.eq_ignore_ascii_case("resolved") || status.eq_ignore_ascii_case("closed")
}

/// `ContactCreated` / `ContactUpdated`: one `ContactUpserted` per contact, timed by `time_key`
/// when the contact carries it (newer shape only).
///
/// All contacts of a delivery share the first one's queue group. That is fine: each upsert
/// carries the whole contact as it now is, contacts do not depend on one another, and
/// multi-contact deliveries come from bulk edits or imports, where sharing only serialises them.
fn contacts(v: &Value, time_key: &str) -> Result<Read, ParseError> {
    let list = non_empty_array(v, "contacts")?;
    let events = list
        .iter()
        .map(|c| {
            Ok(Event {
                occurred_at: unix_time(c.get(time_key)),
                visitor: contact_visitor(c)?,
                ..Event::new(EventKind::ContactUpserted)
            })
        })
        .collect::<Result<Vec<_>, ParseError>>()?;
    let first = events
        .first()
        .and_then(|e| e.visitor.contact_id.as_deref())
        .ok_or(ParseError::Field("contacts.id"))?;
    Ok(Read {
        conversation_key: format!("contact:{first}"),
        events,
    })
}

/// Both documented shapes: older (`contactName`, `mail`, `cellPhone`, `officePhone`,
/// `whatsApp`) and newer (`email`, `phoneNumber`, `whatsappNumber`, `contactId`, `tags`…).
/// `id` comes first because `ContactDeleted` names contacts by that id.
fn contact_visitor(c: &Value) -> Result<Visitor, ParseError> {
    let contact_id = scalar(c.get("id"))
        .or_else(|| scalar(c.get("contactId")))
        .ok_or(ParseError::Field("contacts.id"))?;
    let first_name = field(c, "firstName");
    let last_name = field(c, "lastName");
    let name = field(c, "contactName").or_else(|| full_name(&first_name, &last_name));
    Ok(Visitor {
        contact_id: Some(contact_id),
        email: first_field(c, &["email", "mail"]),
        phone: first_field(
            c,
            &[
                "phoneNumber",
                "cellPhone",
                "officePhone",
                "whatsappNumber",
                "whatsApp",
            ],
        ),
        name,
        first_name,
        last_name,
        company_name: field(c, "companyName"),
        custom_attributes: contact_attributes(c),
        ..Visitor::default()
    })
}

/// Contact fields with no `Visitor` slot that a mapping may still want.
const CONTACT_ATTRIBUTES: [&str; 8] = [
    "contactId",
    "leadStage",
    "priority",
    "owner",
    "ownerName",
    "jobTitle",
    "lastChannel",
    "memo",
];

fn contact_attributes(c: &Value) -> Attributes {
    let mut attributes: Attributes = CONTACT_ATTRIBUTES
        .iter()
        .filter_map(|key| Some(((*key).to_owned(), Value::String(field(c, key)?))))
        .collect();
    let tags = tag_names(c);
    if !tags.is_empty() {
        attributes.insert("tags".into(), tags.into());
    }
    // The shape of a custom field is undocumented (only `[]` is shown): passed on as sent.
    if let Some(custom) = c.get("customFields").filter(|f| !is_blank(f)) {
        attributes.insert("customFields".into(), custom.clone());
    }
    attributes
}

/// Contact tag names (`tags: [{id, name, color}]`), trimmed: the vendor's own example pads one.
fn tag_names(c: &Value) -> Vec<String> {
    c.get("tags")
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter_map(|t| text(t.get("name")).or_else(|| text(Some(t))))
                .collect()
        })
        .unwrap_or_default()
}

/// `ContactDeleted {ids: […]}`: one `ContactDeleted` per id.
fn deleted_contacts(v: &Value) -> Result<Read, ParseError> {
    let ids = non_empty_array(v, "ids")?
        .iter()
        .map(|id| scalar(Some(id)).ok_or(ParseError::Field("ids")))
        .collect::<Result<Vec<_>, ParseError>>()?;
    let first = ids.first().ok_or(ParseError::Field("ids"))?;
    let conversation_key = format!("contact:{first}");
    let events = ids
        .into_iter()
        .map(|id| Event {
            visitor: Visitor {
                contact_id: Some(id),
                ..Visitor::default()
            },
            ..Event::new(EventKind::ContactDeleted)
        })
        .collect();
    Ok(Read {
        conversation_key,
        events,
    })
}

fn non_empty_array<'a>(v: &'a Value, key: &'static str) -> Result<&'a Vec<Value>, ParseError> {
    v.get(key)
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or(ParseError::Field(key))
}

/// A non-empty string, or a number written out (phone numbers may come either way).
fn field(c: &Value, key: &str) -> Option<String> {
    let value = c.get(key);
    text(value).or_else(|| value.and_then(Value::as_number).map(ToString::to_string))
}

fn first_field(c: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|key| field(c, key))
}

fn full_name(first: &Option<String>, last: &Option<String>) -> Option<String> {
    let parts: Vec<&str> = [first, last]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// Null, `""`, `[]` and `{}` say nothing.
fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::{Platform, parse as read, verify as check};
    use http::HeaderMap;
    use serde_json::json;
    use time::OffsetDateTime;
    use time::macros::datetime;

    const TICKET_CREATED: &[u8] =
        include_bytes!("../../../../events/payloads/cloudcx-ticket-created.json");
    const PLAN: &str = "5e0c9a41-7d2b-4c6e-9f13-2b8d4a6e1c07";
    const SESSION: &str = "a3f1c8d2-64b7-4e19-8c05-7d92e1b4f6a0";
    const VISITOR: &str = "c7e24b90-1f3a-4d58-a6b2-93e0d5f18c4e";

    fn inbound<'a>(h: &'a HeaderMap, token: Option<&'a str>) -> Inbound<'a> {
        Inbound {
            headers: h,
            query_token: token,
            body: TICKET_CREATED,
            now: OffsetDateTime::now_utc(),
            tidio_tolerance_seconds: 300,
        }
    }

    #[test]
    fn the_url_token_or_bearer_authenticates() {
        let secrets = [Secret::new("tok")];
        let h = HeaderMap::new();
        assert_eq!(
            check(Platform::CloudCx, &secrets, &inbound(&h, Some("tok"))),
            Ok(())
        );
        assert_eq!(
            check(Platform::CloudCx, &secrets, &inbound(&h, Some("tok2"))),
            Err(VerifyError::Mismatch)
        );
        assert!(matches!(
            check(Platform::CloudCx, &secrets, &inbound(&h, None)),
            Err(VerifyError::Missing(_))
        ));
        let mut h = HeaderMap::new();
        h.insert("authorization", "Bearer tok".parse().unwrap());
        assert_eq!(
            check(Platform::CloudCx, &secrets, &inbound(&h, None)),
            Ok(())
        );
    }

    /// Parses a body that must be accepted, checking the envelope every delivery shares.
    fn accepted(body: &[u8], topic: &str, key: &str) -> Vec<Event> {
        let a = read(Platform::CloudCx, body).unwrap().accepted().unwrap();
        assert_eq!(a.delivery_id, body_hash(body));
        assert_eq!(a.delivery_id.len(), 64);
        assert_eq!(a.topic, topic);
        assert_eq!(a.conversation_key, key);
        assert_eq!(a.occurred_at, None);
        a.events
    }

    fn widget(id: &str) -> Option<Conversation> {
        Some(Conversation {
            id: id.into(),
            inbox: Some(Team {
                id: Some(PLAN.into()),
                name: None,
            }),
            channel: Some("webchat".into()),
            ..Conversation::default()
        })
    }

    fn web_visitor(id: &str) -> Visitor {
        Visitor {
            visitor_id: Some(id.into()),
            ..Visitor::default()
        }
    }

    fn ticket_5581(status: Option<&str>) -> Option<Conversation> {
        Some(Conversation {
            id: "5581".into(),
            channel: Some("inbox".into()),
            status: status.map(Into::into),
            ..Conversation::default()
        })
    }

    fn message(id: &str, role: Role, body: &str) -> EventKind {
        EventKind::MessageAdded {
            message: Message {
                id: Some(id.into()),
                role,
                author: None,
                body: body.into(),
                format: BodyFormat::Text,
                at: None,
                attachments: Vec::new(),
            },
        }
    }

    fn parse_json(v: serde_json::Value) -> Result<Parsed, ParseError> {
        read(Platform::CloudCx, v.to_string().as_bytes())
    }

    #[test]
    fn a_chat_start_opens_the_session_in_its_widget() {
        let body =
            include_bytes!("../../../../events/payloads/cloudcx-live-chat-session-chatting.json");
        let events = accepted(
            body,
            "LiveChatSessionChatting",
            &format!("session:{SESSION}"),
        );
        assert_eq!(
            events,
            vec![Event {
                conversation: widget(SESSION),
                visitor: web_visitor(VISITOR),
                ..Event::new(EventKind::ConversationStarted)
            }]
        );
    }

    #[test]
    fn a_chat_end_says_where_the_transcript_is_and_closes_the_same_session() {
        let body = include_bytes!("../../../../events/payloads/cloudcx-live-chat-session-end.json");
        let events = accepted(body, "LiveChatSessionEnd", &format!("session:{SESSION}"));
        let note = Message {
            id: Some(format!("chatsync-session-{SESSION}")),
            role: Role::Note,
            author: Some(Agent {
                name: Some("chatsync".into()),
                ..Agent::default()
            }),
            body: format!(
                "[the live chat's messages are not delivered by CloudCX's webhooks: read them in CloudCX, web chat session {SESSION}]"
            ),
            format: BodyFormat::Text,
            at: None,
            attachments: Vec::new(),
        };
        assert_eq!(
            events,
            vec![
                Event {
                    conversation: widget(SESSION),
                    visitor: web_visitor(VISITOR),
                    ..Event::new(EventKind::MessageAdded { message: note })
                },
                Event {
                    conversation: widget(SESSION),
                    visitor: web_visitor(VISITOR),
                    ..Event::new(EventKind::Closed)
                }
            ]
        );
    }

    #[test]
    fn an_offline_message_opens_its_session_and_is_its_first_line() {
        let body =
            include_bytes!("../../../../events/payloads/cloudcx-offline-message-submit.json");
        let session = "f29a7c05-b8e3-41d6-9a2f-6c1e0d4b8f75";
        let visitor = web_visitor("0b6d3e8f-92a4-4c17-8e5b-d1f4a7c20e63");
        let events = accepted(body, "OfflineMessageSubmit", &format!("session:{session}"));
        assert_eq!(
            events,
            vec![
                Event {
                    conversation: widget(session),
                    visitor: visitor.clone(),
                    ..Event::new(EventKind::ConversationStarted)
                },
                Event {
                    conversation: widget(session),
                    visitor,
                    ..Event::new(message(
                        "e84b2d17-3c9f-4a60-b5e1-0f7a6c3d92b8",
                        Role::Visitor,
                        "Hello, our order #4471 arrived damaged. Could someone call me back tomorrow morning?"
                    ))
                },
            ]
        );
    }

    #[test]
    fn an_offline_message_without_a_session_stands_under_its_own_id() {
        let body = json!({"event": "OfflineMessageSubmit", "planId": PLAN, "offlineMessageId": "om-1",
            "visitorId": VISITOR, "content": "  Call me  "});
        let a = parse_json(body).unwrap().accepted().unwrap();
        assert_eq!(a.conversation_key, "offline:om-1");
        assert_eq!(a.events.len(), 2);
        assert!(a.events.iter().all(|e| e.conversation == widget("om-1")));
        assert_eq!(
            a.events.get(1).map(|e| &e.kind),
            Some(&message("om-1", Role::Visitor, "Call me"))
        );
    }

    #[test]
    fn a_new_ticket_starts_a_conversation() {
        let events = accepted(TICKET_CREATED, "TicketCreated", "ticket:5581");
        assert_eq!(
            events,
            vec![Event {
                conversation: ticket_5581(None),
                ..Event::new(EventKind::ConversationStarted)
            }]
        );
    }

    #[test]
    fn ticket_replies_say_where_their_text_is_by_visitor_or_agent() {
        let body =
            include_bytes!("../../../../events/payloads/cloudcx-ticket-from-user-reply.json");
        assert_eq!(
            accepted(body, "TicketFromUserReply", "ticket:5581"),
            vec![Event {
                conversation: ticket_5581(None),
                ..Event::new(message(
                    "9d3e6a20-4b7f-4c81-a5d9-2e0f8b6c13a4",
                    Role::Visitor,
                    "[message 9d3e6a20-4b7f-4c81-a5d9-2e0f8b6c13a4 not delivered by CloudCX's webhook: read it in CloudCX, ticket 5581]"
                ))
            }]
        );
        let body = include_bytes!("../../../../events/payloads/cloudcx-ticket-agent-reply.json");
        assert_eq!(
            accepted(body, "TicketAgentReply", "ticket:5581"),
            vec![Event {
                conversation: ticket_5581(None),
                ..Event::new(message(
                    "3b8f1d64-0a2c-4e97-b6d5-7c9e2a4f01b8",
                    Role::Agent,
                    "[message 3b8f1d64-0a2c-4e97-b6d5-7c9e2a4f01b8 not delivered by CloudCX's webhook: read it in CloudCX, ticket 5581]"
                ))
            }]
        );
    }

    #[test]
    fn an_assignee_change_names_the_new_agent() {
        let body =
            include_bytes!("../../../../events/payloads/cloudcx-ticket-assignee-changed.json");
        assert_eq!(
            accepted(body, "TicketAssigneeChanged", "ticket:5581"),
            vec![Event {
                conversation: ticket_5581(None),
                ..Event::new(EventKind::Assigned {
                    agent: Some(Agent {
                        id: Some("71c4e9a2-5d3b-4f08-8a6e-b2d0f9c3e517".into()),
                        ..Agent::default()
                    }),
                    team: None,
                })
            }]
        );
    }

    #[test]
    fn a_null_assignee_unassigns_and_numeric_ids_become_strings() {
        let body = json!({"event": "TicketAssigneeChanged", "ticketId": 5581, "fromAgentId": "a-1", "toAgentId": null});
        let a = parse_json(body).unwrap().accepted().unwrap();
        assert_eq!(a.conversation_key, "ticket:5581");
        assert_eq!(
            a.events,
            vec![Event {
                conversation: ticket_5581(None),
                ..Event::new(EventKind::Assigned {
                    agent: None,
                    team: None
                })
            }]
        );
    }

    #[test]
    fn resolving_a_ticket_closes_it() {
        let body = include_bytes!("../../../../events/payloads/cloudcx-ticket-status-changed.json");
        assert_eq!(
            accepted(body, "TicketStatusChanged", "ticket:5581"),
            vec![Event {
                conversation: ticket_5581(Some("Resolved")),
                ..Event::new(EventKind::Closed)
            }]
        );
    }

    #[test]
    fn status_changes_close_reopen_or_report_the_new_status() {
        let kind = |before: serde_json::Value, after: &str| {
            let body = json!({"event": "TicketStatusChanged", "ticketId": "5581",
                "beforeTicketStatus": before, "afterTicketStatus": after});
            let events = parse_json(body).unwrap().accepted().unwrap().events;
            assert_eq!(events.len(), 1);
            let event = events.into_iter().next().unwrap();
            assert_eq!(event.conversation, ticket_5581(Some(after)));
            event.kind
        };
        assert_eq!(kind(json!("Open"), "closed"), EventKind::Closed);
        assert_eq!(kind(json!("RESOLVED"), "Open"), EventKind::Reopened);
        assert_eq!(
            kind(json!("Closed"), "PendingExternal"),
            EventKind::Reopened
        );
        assert_eq!(
            kind(json!("Open"), "PendingExternal"),
            EventKind::StatusChanged {
                status: "PendingExternal".into()
            }
        );
        assert_eq!(
            kind(json!(null), "Open"),
            EventKind::StatusChanged {
                status: "Open".into()
            }
        );
    }

    #[test]
    fn an_older_shape_contact_maps_to_the_visitor() {
        let body = include_bytes!("../../../../events/payloads/cloudcx-contact-created.json");
        let id = "6a2e9f41-c3b7-4d05-98e1-4f7b0d2c6a93";
        let events = accepted(body, "ContactCreated", &format!("contact:{id}"));
        let mut attributes = Attributes::new();
        attributes.insert("memo".into(), json!("Wholesale customer"));
        assert_eq!(
            events,
            vec![Event {
                visitor: Visitor {
                    contact_id: Some(id.into()),
                    email: Some("dana.whitfield@example.com".into()),
                    phone: Some("+1 555 0142".into()),
                    name: Some("Dana Whitfield".into()),
                    first_name: Some("Dana".into()),
                    last_name: Some("Whitfield".into()),
                    company_name: Some("Northwind Bakery".into()),
                    custom_attributes: attributes,
                    ..Visitor::default()
                },
                ..Event::new(EventKind::ContactUpserted)
            }]
        );
    }

    #[test]
    fn a_newer_shape_contact_is_timed_by_its_creation() {
        let body = include_bytes!("../../../../events/payloads/cloudcx-contact-created-v3.json");
        let id = "d41f8b27-6e0a-4c93-b5d2-8a1c7e3f9046";
        let events = accepted(body, "ContactCreated", &format!("contact:{id}"));
        let mut attributes = Attributes::new();
        attributes.insert("contactId".into(), json!("40021"));
        attributes.insert("leadStage".into(), json!("Lead"));
        attributes.insert("priority".into(), json!("Medium"));
        assert_eq!(
            events,
            vec![Event {
                occurred_at: Some(datetime!(2025-01-01 12:00 UTC)),
                visitor: Visitor {
                    contact_id: Some(id.into()),
                    email: Some("marco.ibarra@example.org".into()),
                    phone: Some("+1 555 0117".into()),
                    name: Some("Marco Ibarra".into()),
                    first_name: Some("Marco".into()),
                    last_name: Some("Ibarra".into()),
                    custom_attributes: attributes,
                    ..Visitor::default()
                },
                ..Event::new(EventKind::ContactUpserted)
            }]
        );
    }

    #[test]
    fn every_contact_of_an_update_is_upserted_under_the_first_ones_key() {
        let body = include_bytes!("../../../../events/payloads/cloudcx-contact-updated-v3.json");
        let events = accepted(
            body,
            "ContactUpdated",
            "contact:d41f8b27-6e0a-4c93-b5d2-8a1c7e3f9046",
        );
        let marco: Attributes = json!({
            "contactId": "40021", "leadStage": "Customer", "priority": "High",
            "owner": "8e3a0c57-2f9d-4b61-a7c4-05d1e6b9f382", "ownerName": "Priya Natarajan",
            "jobTitle": "Purchasing Manager", "lastChannel": "WhatsApp", "tags": ["Wholesale", "VIP"]
        })
        .as_object()
        .cloned()
        .unwrap();
        let lena: Attributes =
            json!({"contactId": "40022", "leadStage": "Contact", "priority": "Medium"})
                .as_object()
                .cloned()
                .unwrap();
        let updated = Some(datetime!(2025-01-15 12:00 UTC));
        assert_eq!(
            events,
            vec![
                Event {
                    occurred_at: updated,
                    visitor: Visitor {
                        contact_id: Some("d41f8b27-6e0a-4c93-b5d2-8a1c7e3f9046".into()),
                        email: Some("marco.ibarra@example.org".into()),
                        // phoneNumber is blank: the WhatsApp number stands in.
                        phone: Some("+1 555 0117".into()),
                        name: Some("Marco Ibarra".into()),
                        first_name: Some("Marco".into()),
                        last_name: Some("Ibarra".into()),
                        company_name: Some("Ibarra Imports".into()),
                        custom_attributes: marco,
                        ..Visitor::default()
                    },
                    ..Event::new(EventKind::ContactUpserted)
                },
                Event {
                    occurred_at: updated,
                    visitor: Visitor {
                        contact_id: Some("2c9e7a05-b1d4-4f38-a6e2-90f3c5d81b7e".into()),
                        email: Some("lena.okafor@example.com".into()),
                        phone: Some("+1 555 0163".into()),
                        name: Some("Lena Okafor".into()),
                        first_name: Some("Lena".into()),
                        last_name: Some("Okafor".into()),
                        company_name: Some("Ibarra Imports".into()),
                        custom_attributes: lena,
                        ..Visitor::default()
                    },
                    ..Event::new(EventKind::ContactUpserted)
                },
            ]
        );
    }

    #[test]
    fn custom_fields_pass_through_and_contact_id_stands_in_for_a_missing_id() {
        let body = json!({"event": "ContactUpdated", "contacts": [
            {"contactId": 40023, "phoneNumber": 15550188, "customFields": [{"name": "Plan", "value": "Gold"}]}
        ]});
        let a = parse_json(body).unwrap().accepted().unwrap();
        assert_eq!(a.conversation_key, "contact:40023");
        let visitor = &a.events.first().unwrap().visitor;
        assert_eq!(visitor.contact_id.as_deref(), Some("40023"));
        assert_eq!(visitor.phone.as_deref(), Some("15550188"));
        assert_eq!(visitor.name, None);
        assert_eq!(
            visitor.custom_attributes.get("customFields"),
            Some(&json!([{"name": "Plan", "value": "Gold"}]))
        );
    }

    #[test]
    fn a_deletion_drops_each_contact_named() {
        let body = include_bytes!("../../../../events/payloads/cloudcx-contact-deleted.json");
        let first = "6a2e9f41-c3b7-4d05-98e1-4f7b0d2c6a93";
        let second = "2c9e7a05-b1d4-4f38-a6e2-90f3c5d81b7e";
        let deleted = |id: &str| Event {
            visitor: Visitor {
                contact_id: Some(id.into()),
                ..Visitor::default()
            },
            ..Event::new(EventKind::ContactDeleted)
        };
        assert_eq!(
            accepted(body, "ContactDeleted", &format!("contact:{first}")),
            vec![deleted(first), deleted(second)]
        );
    }

    #[test]
    fn unknown_or_unsynced_topics_are_unsupported_before_fields_are_required() {
        let body =
            include_bytes!("../../../../events/payloads/cloudcx-ticket-move-to-recycle-bin.json");
        assert_eq!(
            read(Platform::CloudCx, body),
            Ok(Parsed::Unsupported {
                topic: "TicketMoveToRecycleBin".into()
            })
        );
        assert_eq!(
            parse_json(json!({"event": "LiveChatWrapUp"})),
            Ok(Parsed::Unsupported {
                topic: "LiveChatWrapUp".into()
            })
        );
    }

    #[test]
    fn missing_required_fields_are_named() {
        let cases = [
            (json!({"ticketId": "1"}), "event"),
            (json!({"event": 7}), "event"),
            (json!({"event": "TicketCreated"}), "ticketId"),
            (
                json!({"event": "TicketAgentReply", "messageId": "m"}),
                "ticketId",
            ),
            (
                json!({"event": "TicketStatusChanged", "ticketId": "1", "beforeTicketStatus": "Open"}),
                "afterTicketStatus",
            ),
            (
                json!({"event": "LiveChatSessionChatting", "planId": PLAN, "visitorId": VISITOR}),
                "sessionId",
            ),
            (
                json!({"event": "LiveChatSessionEnd", "sessionId": null}),
                "sessionId",
            ),
            (
                json!({"event": "OfflineMessageSubmit", "content": "hi"}),
                "sessionId",
            ),
            (json!({"event": "ContactCreated"}), "contacts"),
            (
                json!({"event": "ContactUpdated", "contacts": []}),
                "contacts",
            ),
            (
                json!({"event": "ContactUpdated", "contacts": [{"firstName": "No Id"}]}),
                "contacts.id",
            ),
            (json!({"event": "ContactDeleted", "ids": []}), "ids"),
            (
                json!({"event": "ContactDeleted", "ids": ["a", null]}),
                "ids",
            ),
        ];
        for (body, field) in cases {
            assert_eq!(
                parse_json(body.clone()),
                Err(ParseError::Field(field)),
                "{body}"
            );
        }
    }

    #[test]
    fn wrong_types_do_not_panic() {
        let odd = [
            json!(null),
            json!(true),
            json!(1.5),
            json!("x"),
            json!([]),
            json!({}),
            json!([null, {}]),
        ];
        let topics = [
            "LiveChatSessionChatting",
            "LiveChatSessionEnd",
            "OfflineMessageSubmit",
            "TicketCreated",
            "TicketFromUserReply",
            "TicketAgentReply",
            "TicketAssigneeChanged",
            "TicketStatusChanged",
            "ContactCreated",
            "ContactUpdated",
            "ContactDeleted",
        ];
        let keys = [
            "planId",
            "sessionId",
            "visitorId",
            "offlineMessageId",
            "content",
            "ticketId",
            "messageId",
            "toAgentId",
            "beforeTicketStatus",
            "afterTicketStatus",
            "contacts",
            "ids",
        ];
        for topic in topics {
            for value in &odd {
                let all: serde_json::Map<_, _> = keys
                    .iter()
                    .map(|k| ((*k).to_owned(), value.clone()))
                    .collect();
                let mut body = serde_json::Value::Object(all);
                body["event"] = json!(topic);
                let _ = parse_json(body);
                let contact = json!({"event": topic, "contacts": [{"id": "c", "firstName": value,
                    "tags": value, "customFields": value, "createdTime": value, "lastUpdatedTime": value,
                    "email": value, "phoneNumber": value}], "ids": [value]});
                let _ = parse_json(contact);
            }
        }
    }
}
