//! Intercom: `X-Hub-Signature: sha1=<hex>`, HMAC-SHA1 of the raw body keyed with the app's
//! client secret; dedupe on the notification `id`; `ping` is a probe.

use crate::event::{
    Agent, Attachment, Attributes, BodyFormat, Company, Conversation, Event, EventKind, Message,
    Role, Team, Visitor,
};
use crate::platforms::{
    Accepted, Inbound, ParseError, Parsed, VerifyError, agent, iso_time, same, scalar, text,
    unix_time,
};
use crate::secret::Secret;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha1::Sha1;

pub const SIGNATURE_HEADER: &str = "x-hub-signature";

/// The header value Intercom would send for `body`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    format!("sha1={}", hex::encode(mac(secret, body)))
}

fn mac(secret: &str, body: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    m.update(body);
    m.finalize().into_bytes().to_vec()
}

pub(in crate::platforms) fn verify(
    secrets: &[Secret],
    inbound: &Inbound,
) -> Result<(), VerifyError> {
    let header = inbound
        .header(SIGNATURE_HEADER)
        .ok_or(VerifyError::Missing("X-Hub-Signature"))?;
    let hex_sig = header
        .trim()
        .strip_prefix("sha1=")
        .ok_or(VerifyError::Malformed(
            "X-Hub-Signature must start with sha1=",
        ))?;
    let given = hex::decode(hex_sig).map_err(|_| VerifyError::Malformed("signature is not hex"))?;
    if secrets
        .iter()
        .any(|s| same(&mac(s.expose(), inbound.body), &given))
    {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

pub(in crate::platforms) fn parse(v: &Value) -> Result<Parsed, ParseError> {
    let topic = text(v.get("topic")).ok_or(ParseError::Field("topic"))?;
    if topic == "ping" {
        return Ok(Parsed::Ping);
    }
    let Some(kind) = Topic::of(&topic) else {
        return Ok(Parsed::Unsupported { topic });
    };
    let delivery_id = scalar(v.get("id")).ok_or(ParseError::Field("id"))?;
    let item = v
        .pointer("/data/item")
        .filter(|i| i.is_object())
        .ok_or(ParseError::Field("data.item"))?;
    let (conversation_key, events) = match kind {
        Topic::Contact(change) => contact_events(change, item)?,
        Topic::Company(change) => company_events(change, item)?,
        Topic::Conversation(change) => {
            conversation_events(change, item, text(v.get("app_id")).as_deref())?
        }
    };
    Ok(Parsed::Accepted(Accepted {
        delivery_id,
        topic,
        conversation_key,
        occurred_at: unix_time(v.get("created_at")),
        events,
    }))
}

/// What a supported topic means to chatsync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Topic {
    Conversation(ConversationChange),
    Contact(ContactChange),
    Company(CompanyChange),
}

/// Company topics (<https://developers.intercom.com/docs/references/2.11/webhooks/webhook-models>):
/// `company.deleted` and `company.contact.detached` are not among them, since chatsync never
/// deletes or unlinks an Account because of the chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CompanyChange {
    /// `company.created` / `company.updated`: the item is the company.
    Upserted,
    /// `company.contact.attached`: the item holds the `contact` and the `company`.
    Attached,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConversationChange {
    /// A new conversation whose opening message is by this role unless its author says.
    Started(Role),
    /// New transcript parts by this role unless the part's author says.
    Replied(Role),
    Assigned,
    Closed,
    Reopened,
    Snoozed,
    Unsnoozed,
    Priority,
    Tagged,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ContactChange {
    Upserted,
    /// Archiving is reversible (`contact.unarchived`), so it is an upsert with a flag, not a
    /// deletion that would drop the contact's link.
    Archived(bool),
    Tagged {
        added: bool,
    },
    Deleted,
}

impl Topic {
    fn of(topic: &str) -> Option<Topic> {
        use ContactChange as K;
        use ConversationChange as C;
        let conversation = match topic {
            "conversation.user.created" => C::Started(Role::Visitor),
            "conversation.admin.single.created" => C::Started(Role::Agent),
            "conversation.user.replied" => C::Replied(Role::Visitor),
            "conversation.admin.replied" => C::Replied(Role::Agent),
            "conversation.operator.replied" => C::Replied(Role::Bot),
            "conversation.admin.noted" => C::Replied(Role::Note),
            "conversation.admin.assigned" | "conversation.admin.open.assigned" => C::Assigned,
            "conversation.admin.closed" => C::Closed,
            "conversation.admin.opened" => C::Reopened,
            "conversation.admin.snoozed" => C::Snoozed,
            "conversation.admin.unsnoozed" => C::Unsnoozed,
            "conversation.priority.updated" => C::Priority,
            "conversation_part.tag.created" => C::Tagged,
            _ => {
                let contact = match topic {
                    // 2.x names, then the legacy (1.x) ones.
                    "contact.user.created"
                    | "contact.lead.created"
                    | "contact.user.updated"
                    | "contact.lead.updated"
                    | "contact.lead.signed_up"
                    | "contact.email.updated"
                    | "user.created"
                    | "contact.created"
                    | "contact.signed_up"
                    | "contact.added_email" => K::Upserted,
                    "contact.user.tag.created"
                    | "contact.lead.tag.created"
                    | "user.tag.created"
                    | "contact.tag.created" => K::Tagged { added: true },
                    "contact.user.tag.deleted"
                    | "contact.lead.tag.deleted"
                    | "user.tag.deleted"
                    | "contact.tag.deleted" => K::Tagged { added: false },
                    "contact.archived" => K::Archived(true),
                    "contact.unarchived" => K::Archived(false),
                    "contact.deleted" | "user.deleted" => K::Deleted,
                    "company.created" | "company.updated" => {
                        return Some(Topic::Company(CompanyChange::Upserted));
                    }
                    "company.contact.attached" => {
                        return Some(Topic::Company(CompanyChange::Attached));
                    }
                    _ => return None,
                };
                return Some(Topic::Contact(contact));
            }
        };
        Some(Topic::Conversation(conversation))
    }
}

/// Events of a conversation topic, each carrying the conversation and its visitor.
fn conversation_events(
    change: ConversationChange,
    item: &Value,
    app_id: Option<&str>,
) -> Result<(String, Vec<Event>), ParseError> {
    use ConversationChange as C;
    let id = scalar(item.get("id")).ok_or(ParseError::Field("data.item.id"))?;
    let listed = parts(item);
    let parts = listed.as_deref().unwrap_or_default();
    let events = match change {
        C::Started(role) => started(item, role),
        // A reply topic without its parts has nothing to say.
        C::Replied(_) if listed.is_none() => {
            return Err(ParseError::Field(
                "data.item.conversation_parts.conversation_parts",
            ));
        }
        C::Replied(role) => replied(item, parts, role),
        C::Assigned => {
            let (agent, team) = assignee(item, last_of(parts, "assignment"));
            with_messages(parts, EventKind::Assigned { agent, team })
        }
        C::Closed => with_messages(parts, EventKind::Closed),
        C::Reopened => with_messages(parts, EventKind::Reopened),
        C::Snoozed => with_messages(parts, status("snoozed")),
        C::Unsnoozed => with_messages(parts, status("open")),
        C::Priority => {
            let priority =
                text(item.get("priority")).ok_or(ParseError::Field("data.item.priority"))?;
            vec![by_part(
                EventKind::PriorityChanged { priority },
                parts.last().copied(),
            )]
        }
        C::Tagged => tagged(item, parts),
    };
    let conversation = conversation(item, &id, app_id);
    let visitor = conversation_visitor(item);
    let events = events
        .into_iter()
        .map(|e| Event {
            conversation: Some(conversation.clone()),
            visitor: visitor.clone(),
            ..e
        })
        .collect();
    Ok((format!("conversation:{id}"), events))
}

/// ConversationStarted, then the opening message (2.x `source`, legacy `conversation_message`).
fn started(item: &Value, role: Role) -> Vec<Event> {
    let opening = item
        .get("source")
        .filter(|s| s.is_object())
        .or_else(|| item.get("conversation_message"));
    let at = unix_time(item.get("created_at"));
    let actor = opening.and_then(actor);
    let mut events = vec![Event {
        occurred_at: at,
        actor: actor.clone(),
        ..Event::new(EventKind::ConversationStarted)
    }];
    // The opening message has no time of its own: it is the conversation's.
    if let Some(mut message) = opening.and_then(|o| message(o, role)) {
        message.at = message.at.or(at);
        events.push(Event {
            occurred_at: at,
            actor,
            ..Event::new(EventKind::MessageAdded { message })
        });
    }
    events
}

/// A message per new part; an assignment part also says who has the conversation now.
fn replied(item: &Value, parts: &[&Value], role: Role) -> Vec<Event> {
    let mut events = Vec::new();
    for &part in parts {
        if let Some(message) = message(part, role) {
            events.push(by_part(EventKind::MessageAdded { message }, Some(part)));
        }
        if part_type(part) == Some("assignment") {
            let (agent, team) = assignee(item, Some(part));
            events.push(by_part(EventKind::Assigned { agent, team }, Some(part)));
        }
    }
    events
}

/// The messages an admin wrote with an action ("reply and close"), then the action itself.
fn with_messages(parts: &[&Value], kind: EventKind) -> Vec<Event> {
    let mut events: Vec<Event> = parts
        .iter()
        .filter_map(|p| {
            message(p, Role::Agent)
                .map(|m| by_part(EventKind::MessageAdded { message: m }, Some(p)))
        })
        .collect();
    events.push(by_part(kind, parts.last().copied()));
    events
}

/// Tags just added: legacy `tags_added`, else the tags on the new parts. The legacy part is
/// the tagged message, not a new action, so it gives no time or actor.
fn tagged(item: &Value, parts: &[&Value]) -> Vec<Event> {
    let mut added = tag_names(item.get("tags_added"));
    if added.is_empty() {
        added = parts
            .iter()
            .flat_map(|p| tag_names(p.get("tags")))
            .collect();
    }
    if added.is_empty() {
        return Vec::new();
    }
    vec![Event::new(EventKind::TagsChanged {
        added,
        removed: Vec::new(),
        current: None,
    })]
}

fn status(word: &str) -> EventKind {
    EventKind::StatusChanged {
        status: word.to_owned(),
    }
}

/// An event timed and attributed by the conversation part behind it.
fn by_part(kind: EventKind, part: Option<&Value>) -> Event {
    Event {
        occurred_at: part.and_then(|p| unix_time(p.get("created_at"))),
        actor: part.and_then(actor),
        ..Event::new(kind)
    }
}

/// The delivery's new parts; `None` when the item has no part list at all.
fn parts(item: &Value) -> Option<Vec<&Value>> {
    let list = item
        .get("conversation_parts")?
        .get("conversation_parts")?
        .as_array()?;
    Some(list.iter().filter(|p| p.is_object()).collect())
}

/// The last part of a type, else the last part.
fn last_of<'a>(parts: &[&'a Value], kind: &str) -> Option<&'a Value> {
    parts
        .iter()
        .rev()
        .find(|p| part_type(p) == Some(kind))
        .or(parts.last())
        .copied()
}

fn part_type(part: &Value) -> Option<&str> {
    part.get("part_type").and_then(Value::as_str)
}

/// A transcript line from a part or opening message; none when it has neither body nor files.
fn message(part: &Value, role: Role) -> Option<Message> {
    let body = part.get("body").and_then(Value::as_str).unwrap_or_default();
    let attachments = attachments(part.get("attachments"));
    if body.trim().is_empty() && attachments.is_empty() {
        return None;
    }
    Some(Message {
        id: scalar(part.get("id")),
        role: role_of(part, role),
        author: agent(part.get("author")),
        body: body.to_owned(),
        format: BodyFormat::Html,
        at: unix_time(part.get("created_at")),
        attachments,
    })
}

/// Notes stay notes whoever wrote them; otherwise the author's type decides, the topic when
/// it does not say.
fn role_of(part: &Value, default: Role) -> Role {
    if default == Role::Note || part_type(part) == Some("note") {
        return Role::Note;
    }
    match author_type(part) {
        Some("admin" | "team") => Role::Agent,
        Some("bot") => Role::Bot,
        Some(t) if is_person(t) => Role::Visitor,
        _ => default,
    }
}

fn author_type(part: &Value) -> Option<&str> {
    part.get("author")?.get("type")?.as_str()
}

/// Intercom's words for the customer side of a conversation.
fn is_person(kind: &str) -> bool {
    matches!(kind, "user" | "lead" | "contact")
}

/// The admin or bot who wrote a part; the visitor is never an actor.
fn actor(part: &Value) -> Option<Agent> {
    match author_type(part) {
        Some(t) if is_person(t) => None,
        _ => agent(part.get("author")),
    }
}

fn attachments(v: Option<&Value>) -> Vec<Attachment> {
    let list = v
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    list.iter()
        .filter_map(|a| {
            Some(Attachment {
                url: text(a.get("url"))?,
                name: text(a.get("name")),
                content_type: text(a.get("content_type")),
                size: a.get("filesize").and_then(Value::as_u64),
            })
        })
        .collect()
}

/// Who holds the conversation. 2.x says it in `admin_assignee_id` / `team_assignee_id`,
/// legacy in `assignee`; an assignment part's `assigned_to` fills in names or stands in when
/// the item says neither. `nobody_admin` or nulls mean unassigned.
fn assignee(item: &Value, part: Option<&Value>) -> (Option<Agent>, Option<Team>) {
    let assigned_to = part
        .and_then(|p| p.get("assigned_to"))
        .filter(|a| a.is_object());
    if item.get("admin_assignee_id").is_some() || item.get("team_assignee_id").is_some() {
        let named = |kind: &str, id: &str| {
            assigned_to.filter(|a| {
                a.get("type").and_then(Value::as_str) == Some(kind)
                    && scalar(a.get("id")).as_deref() == Some(id)
            })
        };
        let agent = scalar(item.get("admin_assignee_id")).map(|id| {
            let known = named("admin", &id).and_then(|a| agent(Some(a)));
            Agent {
                id: Some(id),
                ..known.unwrap_or_default()
            }
        });
        let team = scalar(item.get("team_assignee_id")).map(|id| Team {
            name: named("team", &id).and_then(|a| text(a.get("name"))),
            id: Some(id),
        });
        return (agent, team);
    }
    match item
        .get("assignee")
        .filter(|a| a.is_object())
        .or(assigned_to)
    {
        Some(who) => holder(who),
        None => (None, None),
    }
}

/// A legacy assignee or part `assigned_to`: an admin, a team, or nobody.
fn holder(who: &Value) -> (Option<Agent>, Option<Team>) {
    match who.get("type").and_then(Value::as_str) {
        Some("admin") => (agent(Some(who)), None),
        Some("team") => {
            let team = Team {
                id: scalar(who.get("id")),
                name: text(who.get("name")),
            };
            (None, (team != Team::default()).then_some(team))
        }
        _ => (None, None),
    }
}

fn conversation(item: &Value, id: &str, app_id: Option<&str>) -> Conversation {
    let url = text(item.pointer("/links/conversation_web")).or_else(|| {
        app_id.map(|app| {
            format!("https://app.intercom.com/a/apps/{app}/inbox/inbox/conversation/{id}")
        })
    });
    let subject = [
        item.pointer("/source/subject"),
        item.pointer("/conversation_message/subject"),
        item.get("title"),
    ]
    .into_iter()
    .find_map(text);
    Conversation {
        id: id.to_owned(),
        url,
        inbox: assignee(item, None).1,
        status: text(item.get("state")),
        priority: text(item.get("priority")),
        tags: tag_names(item.get("tags")),
        subject,
        channel: None,
        custom_attributes: attributes(item.get("custom_attributes")),
    }
}

/// Legacy items name the person in `user`; 2.x lists contacts by id, and the opening
/// message's author adds name and e-mail when it is that contact.
fn conversation_visitor(item: &Value) -> Visitor {
    if let Some(user) = item.get("user").filter(|u| u.is_object()) {
        return person(user);
    }
    let Some(contact) = item
        .get("contacts")
        .and_then(|c| c.get("contacts"))
        .and_then(Value::as_array)
        .and_then(|list| list.first())
    else {
        return Visitor::default();
    };
    let mut visitor = Visitor {
        contact_id: scalar(contact.get("id")),
        external_id: scalar(contact.get("external_id")),
        ..Visitor::default()
    };
    let author = item.pointer("/source/author");
    let kind = author.and_then(|a| a.get("type")).and_then(Value::as_str);
    if let (Some(author), Some(kind)) = (author, kind)
        && is_person(kind)
        && visitor.contact_id.is_some()
        && scalar(author.get("id")) == visitor.contact_id
    {
        visitor.name = text(author.get("name"));
        visitor.email = text(author.get("email"));
        visitor.role = Some(kind.to_owned()).filter(|k| k != "contact");
    }
    visitor
}

/// Events of a contact topic, ordered by the contact.
fn contact_events(change: ContactChange, item: &Value) -> Result<(String, Vec<Event>), ParseError> {
    let (who, kind) = match change {
        ContactChange::Tagged { added } => {
            // 2.x: `{type: "contact_tag", tag, contact}`; legacy: `{type: "user_tag", tag, user}`.
            let who = ["contact", "user"]
                .into_iter()
                .find_map(|key| item.get(key).filter(|c| c.is_object()))
                .ok_or(ParseError::Field("data.item.contact"))?;
            if scalar(who.get("id")).is_none() {
                return Err(ParseError::Field("data.item.contact.id"));
            }
            let tag =
                text(item.pointer("/tag/name")).ok_or(ParseError::Field("data.item.tag.name"))?;
            let (added, removed) = if added {
                (vec![tag], Vec::new())
            } else {
                (Vec::new(), vec![tag])
            };
            (
                who,
                EventKind::TagsChanged {
                    added,
                    removed,
                    current: None,
                },
            )
        }
        ContactChange::Upserted | ContactChange::Archived(_) => (item, EventKind::ContactUpserted),
        ContactChange::Deleted => (item, EventKind::ContactDeleted),
    };
    let mut visitor = person(who);
    if let ContactChange::Archived(archived) = change {
        visitor
            .custom_attributes
            .insert("archived".into(), Value::Bool(archived));
    }
    let id = visitor
        .contact_id
        .clone()
        .ok_or(ParseError::Field("data.item.id"))?;
    // An upsert says when the contact changed; the notification may be sent later.
    let occurred_at = match kind {
        // 2.x contacts carry Unix seconds (the Contact model); some payloads an ISO time.
        EventKind::ContactUpserted => {
            iso_time(who.get("updated_at")).or_else(|| unix_time(who.get("updated_at")))
        }
        _ => None,
    };
    let event = Event {
        occurred_at,
        company: first_company(who.get("companies")),
        visitor,
        ..Event::new(kind)
    };
    Ok((format!("contact:{id}"), vec![event]))
}

/// A company event: the company alone (its Account), or a contact attached to it (the person,
/// related to the Account).
fn company_events(change: CompanyChange, item: &Value) -> Result<(String, Vec<Event>), ParseError> {
    match change {
        CompanyChange::Upserted => {
            let company = company(item);
            let id = company
                .id
                .clone()
                .ok_or(ParseError::Field("data.item.id"))?;
            let event = Event {
                occurred_at: unix_time(item.get("updated_at")),
                company: Some(company),
                ..Event::new(EventKind::CompanyUpserted)
            };
            Ok((format!("company:{id}"), vec![event]))
        }
        CompanyChange::Attached => {
            let contact = item
                .get("contact")
                .filter(|c| c.is_object())
                .ok_or(ParseError::Field("data.item.contact"))?;
            let company = item
                .get("company")
                .filter(|c| c.is_object())
                .map(company)
                .filter(|c| c.id.is_some())
                .ok_or(ParseError::Field("data.item.company.id"))?;
            let mut visitor = person(contact);
            let id = visitor
                .contact_id
                .clone()
                .ok_or(ParseError::Field("data.item.contact.id"))?;
            visitor.company_name = company.name.clone().or(visitor.company_name);
            visitor.company_domain = company.website.clone();
            let event = Event {
                visitor,
                company: Some(company),
                ..Event::new(EventKind::ContactUpserted)
            };
            Ok((format!("contact:{id}"), vec![event]))
        }
    }
}

/// An Intercom company object
/// (<https://developers.intercom.com/docs/references/2.11/rest-api/api.intercom.io/companies/company>);
/// a contact's list holds only `{id, type, url}` in 2.x.
fn company(c: &Value) -> Company {
    Company {
        id: scalar(c.get("id")),
        company_id: scalar(c.get("company_id")),
        name: text(c.get("name")),
        website: text(c.get("website")),
        plan: text(c.pointer("/plan/name")).or_else(|| text(c.get("plan"))),
        industry: text(c.get("industry")),
        size: c.get("size").and_then(Value::as_i64),
        custom_attributes: attributes(c.get("custom_attributes")),
    }
}

/// The contact's first company: legacy `companies.companies[]`, 2.x `companies.data[]`.
fn first_company(companies: Option<&Value>) -> Option<Company> {
    let companies = companies?;
    let list = companies
        .get("companies")
        .or_else(|| companies.get("data"))?
        .as_array()?;
    list.iter()
        .map(company)
        .find(|c| c.id.is_some() || c.name.is_some())
}

/// A contact (2.x), user or lead (legacy). A legacy `user_id` is the customer's id for a user
/// but only a cookie-like id for a lead.
fn person(p: &Value) -> Visitor {
    let role = role_word(p);
    let user_id = scalar(p.get("user_id"));
    let lead = role.as_deref() == Some("lead");
    let external_id = scalar(p.get("external_id")).or(if lead { None } else { user_id.clone() });
    Visitor {
        contact_id: scalar(p.get("id")),
        external_id,
        email: text(p.get("email")),
        phone: text(p.get("phone")),
        name: text(p.get("name")),
        visitor_id: if lead { user_id } else { None },
        company_name: company_name(p.get("companies")),
        role,
        custom_attributes: attributes(p.get("custom_attributes")),
        ..Visitor::default()
    }
}

fn role_word(p: &Value) -> Option<String> {
    text(p.get("role")).or_else(|| {
        let word = match p.get("type")?.as_str()? {
            "user" => "user",
            "lead" => "lead",
            // v1 `contact` objects are leads; 2.x contacts always state their role.
            "contact" if p.get("user_id").is_some() => "lead",
            _ => return None,
        };
        Some(word.to_owned())
    })
}

/// The first named company: legacy `companies.companies[]`, 2.x `companies.data[]`.
fn company_name(companies: Option<&Value>) -> Option<String> {
    let companies = companies?;
    let list = companies
        .get("companies")
        .or_else(|| companies.get("data"))?
        .as_array()?;
    list.iter().find_map(|c| text(c.get("name")))
}

/// Tag names from a `tag.list` object or a bare array of tags.
fn tag_names(v: Option<&Value>) -> Vec<String> {
    let list = match v {
        Some(Value::Array(list)) => Some(list),
        Some(list) => list.get("tags").and_then(Value::as_array),
        None => None,
    };
    list.into_iter()
        .flatten()
        .filter_map(|t| text(t.get("name")))
        .collect()
}

fn attributes(v: Option<&Value>) -> Attributes {
    v.and_then(Value::as_object).cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::{Platform, parse as read, verify as check};
    use http::HeaderMap;
    use serde_json::json;
    use time::OffsetDateTime;

    const BODY: &[u8] = br#"{"type":"notification_event","app_id":"abc","id":"notif_1","topic":"conversation.user.created","created_at":1700000000,"data":{"type":"notification_event_data","item":{"type":"conversation","id":"123"}}}"#;

    fn inbound<'a>(headers: &'a HeaderMap, body: &'a [u8]) -> Inbound<'a> {
        Inbound {
            headers,
            query_token: None,
            body,
            now: OffsetDateTime::now_utc(),
            tidio_tolerance_seconds: 300,
        }
    }

    #[test]
    fn a_body_signed_with_the_client_secret_verifies() {
        let mut h = HeaderMap::new();
        h.insert("X-Hub-Signature", sign("s3cret", BODY).parse().unwrap());
        assert_eq!(
            check(
                Platform::Intercom,
                &[Secret::new("s3cret")],
                &inbound(&h, BODY)
            ),
            Ok(())
        );
        // Rotation: the second secret matches.
        assert_eq!(
            check(
                Platform::Intercom,
                &[Secret::new("old"), Secret::new("s3cret")],
                &inbound(&h, BODY)
            ),
            Ok(())
        );
    }

    #[test]
    fn a_known_vector_matches() {
        // HMAC-SHA1("key", "The quick brown fox jumps over the lazy dog"), RFC 2104 test vector.
        assert_eq!(
            sign("key", b"The quick brown fox jumps over the lazy dog"),
            "sha1=de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9"
        );
    }

    #[test]
    fn wrong_missing_or_malformed_signatures_are_refused() {
        let secrets = [Secret::new("s3cret")];
        let mut h = HeaderMap::new();
        assert_eq!(
            check(Platform::Intercom, &secrets, &inbound(&h, BODY)),
            Err(VerifyError::Missing("X-Hub-Signature"))
        );
        h.insert("X-Hub-Signature", sign("other", BODY).parse().unwrap());
        assert_eq!(
            check(Platform::Intercom, &secrets, &inbound(&h, BODY)),
            Err(VerifyError::Mismatch)
        );
        h.insert("X-Hub-Signature", "sha256=00".parse().unwrap());
        assert!(matches!(
            check(Platform::Intercom, &secrets, &inbound(&h, BODY)),
            Err(VerifyError::Malformed(_))
        ));
        h.insert("X-Hub-Signature", "sha1=zz".parse().unwrap());
        assert!(matches!(
            check(Platform::Intercom, &secrets, &inbound(&h, BODY)),
            Err(VerifyError::Malformed(_))
        ));
        // A body changed after signing no longer verifies.
        h.insert("X-Hub-Signature", sign("s3cret", BODY).parse().unwrap());
        let tampered = [BODY, b" "].concat();
        assert_eq!(
            check(Platform::Intercom, &secrets, &inbound(&h, &tampered)),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn ping_is_a_probe_without_an_id() {
        let body = include_bytes!("../../../../events/payloads/intercom-ping.json");
        assert_eq!(read(Platform::Intercom, body), Ok(Parsed::Ping));
    }

    // ---- helpers for the payload tests ----

    fn accepted(body: &[u8]) -> Accepted {
        match read(Platform::Intercom, body) {
            Ok(Parsed::Accepted(a)) => a,
            other => panic!("not accepted: {other:?}"),
        }
    }

    /// A payload file with one JSON pointer set to a new value.
    fn edited(body: &[u8], pointer: &str, value: Value) -> Vec<u8> {
        let mut v: Value = serde_json::from_slice(body).unwrap();
        *v.pointer_mut(pointer).unwrap() = value;
        serde_json::to_vec(&v).unwrap()
    }

    fn at(unix: i64) -> Option<OffsetDateTime> {
        Some(OffsetDateTime::from_unix_timestamp(unix).unwrap())
    }

    fn who(id: &str, name: Option<&str>, email: Option<&str>) -> Agent {
        Agent {
            id: Some(id.into()),
            name: name.map(Into::into),
            email: email.map(Into::into),
        }
    }

    fn grace() -> Agent {
        who(
            "7310001",
            Some("Grace Hopper"),
            Some("grace.hopper@example.com"),
        )
    }

    fn html(id: &str, role: Role, author: Agent, body: &str, unix: i64) -> Message {
        Message {
            id: Some(id.into()),
            role,
            author: Some(author),
            body: body.into(),
            format: BodyFormat::Html,
            at: at(unix),
            attachments: vec![],
        }
    }

    fn said(message: Message, actor: Option<Agent>) -> Event {
        Event {
            occurred_at: message.at,
            actor,
            ..Event::new(EventKind::MessageAdded { message })
        }
    }

    fn did(kind: EventKind, unix: Option<i64>, actor: Option<Agent>) -> Event {
        Event {
            occurred_at: unix.and_then(at),
            actor,
            ..Event::new(kind)
        }
    }

    fn within(events: Vec<Event>, conversation: &Conversation, visitor: &Visitor) -> Vec<Event> {
        events
            .into_iter()
            .map(|e| Event {
                conversation: Some(conversation.clone()),
                visitor: visitor.clone(),
                ..e
            })
            .collect()
    }

    fn attrs(v: Value) -> Attributes {
        v.as_object().unwrap().clone()
    }

    /// Conversation 184467440737 (2.x) as its payloads describe it.
    fn order_1042(status: &str) -> Conversation {
        Conversation {
            id: "184467440737".into(),
            url: Some(
                "https://app.intercom.com/a/apps/demoapp1/inbox/inbox/conversation/184467440737"
                    .into(),
            ),
            status: Some(status.into()),
            priority: Some("not_priority".into()),
            custom_attributes: attrs(json!({"Order number": "1042", "Has attachments": true})),
            ..Conversation::default()
        }
    }

    const ADA_ID: &str = "65a1f0c2e1b2c3d4e5f60718";

    fn ada_contact() -> Visitor {
        Visitor {
            contact_id: Some(ADA_ID.into()),
            external_id: Some("cust-1042".into()),
            ..Visitor::default()
        }
    }

    /// The contact, with what the opening message's author adds.
    fn ada() -> Visitor {
        Visitor {
            name: Some("Ada Lovelace".into()),
            email: Some("Ada.Lovelace@Example.org".into()),
            role: Some("user".into()),
            ..ada_contact()
        }
    }

    fn ada_author() -> Agent {
        who(
            ADA_ID,
            Some("Ada Lovelace"),
            Some("Ada.Lovelace@Example.org"),
        )
    }

    /// Legacy conversation 23100000001.
    fn portugal() -> Conversation {
        Conversation {
            id: "23100000001".into(),
            url: Some("https://app.intercom.io/a/apps/demoapp1/conversations/23100000001".into()),
            status: Some("open".into()),
            ..Conversation::default()
        }
    }

    fn tomas() -> Visitor {
        Visitor {
            contact_id: Some("5f1e2d3c4b5a69788796a5b4".into()),
            visitor_id: Some("3f0c8e2a-7b1d-4c5e-9a6f-2d8b0e4c6a11".into()),
            name: Some("Tomas Ferreira".into()),
            email: Some("tomas.ferreira@example.com".into()),
            role: Some("lead".into()),
            ..Visitor::default()
        }
    }

    // ---- conversation topics, 2.x ----

    #[test]
    fn a_visitor_started_conversation_yields_start_then_the_opening_message() {
        let a = accepted(include_bytes!(
            "../../../../events/payloads/intercom-conversation-user-created.json"
        ));
        assert_eq!(a.delivery_id, "notif_5b7e3c1a-8f2d-4e6b-9a0c-1d2e3f4a5b6c");
        assert_eq!(a.topic, "conversation.user.created");
        assert_eq!(a.conversation_key, "conversation:184467440737");
        assert_eq!(a.occurred_at, at(1_767_225_601));
        let opening = Message {
            attachments: vec![Attachment {
                name: Some("box-photo.jpg".into()),
                url: "https://downloads.example.org/uploads/box-photo.jpg".into(),
                content_type: Some("image/jpeg".into()),
                size: Some(284_511),
            }],
            ..html(
                "2216553201",
                Role::Visitor,
                ada_author(),
                "<p>Hi, my order #1042 arrived damaged. Can I get a replacement?</p>",
                1_767_225_600,
            )
        };
        let expected = vec![
            did(EventKind::ConversationStarted, Some(1_767_225_600), None),
            said(opening, None),
        ];
        assert_eq!(a.events, within(expected, &order_1042("open"), &ada()));
    }

    #[test]
    fn an_admin_started_conversation_is_the_agents_with_its_subject() {
        let a = accepted(include_bytes!(
            "../../../../events/payloads/intercom-conversation-admin-single-created.json"
        ));
        assert_eq!(a.conversation_key, "conversation:184467440801");
        let conversation = Conversation {
            id: "184467440801".into(),
            url: Some(
                "https://app.intercom.com/a/apps/demoapp1/inbox/inbox/conversation/184467440801"
                    .into(),
            ),
            subject: Some("Your replacement for order #1042".into()),
            ..order_1042("open")
        };
        let message = html(
            "2216559900",
            Role::Agent,
            grace(),
            "<p>Hi Ada,</p><p>your replacement ships tomorrow. Tracking follows.</p>",
            1_767_229_200,
        );
        let expected = vec![
            did(
                EventKind::ConversationStarted,
                Some(1_767_229_200),
                Some(grace()),
            ),
            said(message, Some(grace())),
        ];
        // The author is the admin, so only the contact list names the visitor.
        assert_eq!(a.events, within(expected, &conversation, &ada_contact()));
    }

    #[test]
    fn a_visitor_reply_is_a_visitor_message_with_its_attachment() {
        let a = accepted(include_bytes!(
            "../../../../events/payloads/intercom-conversation-user-replied.json"
        ));
        assert_eq!(a.delivery_id, "notif_1d2e3f40-5a6b-4c7d-9e8f-0a1b2c3d4e21");
        let message = Message {
            attachments: vec![Attachment {
                name: Some("delivery-note.pdf".into()),
                url: "https://downloads.example.org/uploads/delivery-note.pdf".into(),
                content_type: Some("application/pdf".into()),
                size: Some(48_213),
            }],
            ..html(
                "37358200101",
                Role::Visitor,
                ada_author(),
                "<p>Here is the delivery note as well.</p>",
                1_767_226_200,
            )
        };
        assert_eq!(
            a.events,
            within(vec![said(message, None)], &order_1042("open"), &ada())
        );
    }

    #[test]
    fn admin_operator_and_note_parts_get_their_roles_and_actor() {
        let bot = who(
            "7310099",
            Some("Operator"),
            Some("operator+demoapp1@example.com"),
        );
        let cases: [(&[u8], Message); 3] = [
            (
                include_bytes!(
                    "../../../../events/payloads/intercom-conversation-admin-replied.json"
                ),
                html(
                    "37358200155",
                    Role::Agent,
                    grace(),
                    "<p>Sorry about that, Ada! A replacement is on its way.</p>",
                    1_767_226_500,
                ),
            ),
            (
                include_bytes!(
                    "../../../../events/payloads/intercom-conversation-operator-replied.json"
                ),
                html(
                    "37358200102",
                    Role::Bot,
                    bot.clone(),
                    "<p>The team typically replies in under 10 minutes.</p>",
                    1_767_225_603,
                ),
            ),
            (
                include_bytes!(
                    "../../../../events/payloads/intercom-conversation-admin-noted.json"
                ),
                html(
                    "37358200150",
                    Role::Note,
                    grace(),
                    "<p>Second damaged parcel this month, flag to the courier.</p>",
                    1_767_226_400,
                ),
            ),
        ];
        for (body, message) in cases {
            let actor = message.author.clone();
            let a = accepted(body);
            assert_eq!(a.conversation_key, "conversation:184467440737");
            assert_eq!(
                a.events,
                within(vec![said(message, actor)], &order_1042("open"), &ada())
            );
        }
    }

    #[test]
    fn an_assignment_names_the_admin_and_team_and_the_acting_admin() {
        let body =
            include_bytes!("../../../../events/payloads/intercom-conversation-admin-assigned.json");
        let a = accepted(body);
        let team = Team {
            id: Some("5550123".into()),
            name: None,
        };
        let conversation = Conversation {
            inbox: Some(team.clone()),
            ..order_1042("open")
        };
        let assigned = EventKind::Assigned {
            agent: Some(who("7310002", None, None)),
            team: Some(team),
        };
        assert_eq!(
            a.events,
            within(
                vec![did(assigned, Some(1_767_226_300), Some(grace()))],
                &conversation,
                &ada()
            )
        );

        // Nulls on both sides mean unassigned; the open.assigned topic reads the same.
        let body = edited(body, "/data/item/admin_assignee_id", Value::Null);
        let body = edited(&body, "/data/item/team_assignee_id", Value::Null);
        let body = edited(&body, "/topic", json!("conversation.admin.open.assigned"));
        let unassigned = EventKind::Assigned {
            agent: None,
            team: None,
        };
        assert_eq!(
            accepted(&body).events,
            within(
                vec![did(unassigned, Some(1_767_226_300), Some(grace()))],
                &order_1042("open"),
                &ada()
            )
        );
    }

    #[test]
    fn reply_and_close_is_the_message_then_closed() {
        let a = accepted(include_bytes!(
            "../../../../events/payloads/intercom-conversation-admin-closed.json"
        ));
        let message = html(
            "37358200190",
            Role::Agent,
            grace(),
            "<p>Glad we could sort it out. Closing this for now.</p>",
            1_767_229_000,
        );
        let expected = vec![
            said(message, Some(grace())),
            did(EventKind::Closed, Some(1_767_229_000), Some(grace())),
        ];
        assert_eq!(a.events, within(expected, &order_1042("closed"), &ada()));
    }

    #[test]
    fn snooze_and_unsnooze_are_status_changes() {
        let body =
            include_bytes!("../../../../events/payloads/intercom-conversation-admin-snoozed.json");
        let snoozed = |status: &str| {
            within(
                vec![did(
                    EventKind::StatusChanged {
                        status: status.into(),
                    },
                    Some(1_767_226_600),
                    Some(grace()),
                )],
                &order_1042("snoozed"),
                &ada(),
            )
        };
        assert_eq!(accepted(body).events, snoozed("snoozed"));
        let body = edited(body, "/topic", json!("conversation.admin.unsnoozed"));
        assert_eq!(accepted(&body).events, snoozed("open"));
    }

    #[test]
    fn a_priority_change_carries_the_new_priority() {
        let a = accepted(include_bytes!(
            "../../../../events/payloads/intercom-conversation-priority-updated.json"
        ));
        let conversation = Conversation {
            priority: Some("priority".into()),
            ..order_1042("open")
        };
        let changed = EventKind::PriorityChanged {
            priority: "priority".into(),
        };
        assert_eq!(
            a.events,
            within(
                vec![did(changed, Some(1_767_226_350), Some(grace()))],
                &conversation,
                &ada()
            )
        );
    }

    #[test]
    fn without_an_app_id_there_is_no_inbox_link() {
        let body =
            include_bytes!("../../../../events/payloads/intercom-conversation-admin-replied.json");
        let a = accepted(&edited(body, "/app_id", Value::Null));
        assert_eq!(a.events[0].conversation.as_ref().unwrap().url, None);
    }

    // ---- conversation topics, legacy (1.x) ----

    #[test]
    fn a_legacy_lead_conversation_names_the_lead_and_its_cookie_id() {
        let a = accepted(include_bytes!(
            "../../../../events/payloads/intercom-conversation-user-created-legacy.json"
        ));
        assert_eq!(a.delivery_id, "notif_95a6b7c8-d2e3-4e45-9a67-8c9d0e1f2a09");
        assert_eq!(a.conversation_key, "conversation:23100000001");
        let opening = html(
            "410000001",
            Role::Visitor,
            who("5f1e2d3c4b5a69788796a5b4", None, None),
            "<p>Do you ship to Portugal?</p>",
            1_767_232_800,
        );
        let expected = vec![
            did(EventKind::ConversationStarted, Some(1_767_232_800), None),
            said(opening, None),
        ];
        assert_eq!(a.events, within(expected, &portugal(), &tomas()));
    }

    #[test]
    fn a_legacy_admin_reply_is_the_agents() {
        let a = accepted(include_bytes!(
            "../../../../events/payloads/intercom-conversation-admin-replied-legacy.json"
        ));
        let message = html(
            "2824400101",
            Role::Agent,
            grace(),
            "<p>We do! Standard delivery to Portugal takes 3–5 days.</p>",
            1_767_233_100,
        );
        assert_eq!(
            a.events,
            within(vec![said(message, Some(grace()))], &portugal(), &tomas())
        );
    }

    #[test]
    fn a_legacy_assignment_with_a_body_is_the_message_then_the_assignee() {
        let body = include_bytes!(
            "../../../../events/payloads/intercom-conversation-admin-assigned-legacy.json"
        );
        let a = accepted(body);
        let by = who("7310001", Some("Grace Hopper"), None);
        let message = html(
            "2824400140",
            Role::Agent,
            by.clone(),
            "<p>Passing you to Katherine, our shipping specialist.</p>",
            1_767_233_400,
        );
        let assigned = EventKind::Assigned {
            agent: Some(who(
                "7310002",
                Some("Katherine Johnson"),
                Some("katherine.johnson@example.com"),
            )),
            team: None,
        };
        let expected = vec![
            said(message.clone(), Some(by.clone())),
            did(assigned, Some(1_767_233_400), Some(by.clone())),
        ];
        assert_eq!(a.events, within(expected, &portugal(), &tomas()));

        // Assigned to nobody: unassigned, whatever the part says.
        let body = edited(
            body,
            "/data/item/assignee",
            json!({"type": "nobody_admin", "id": null}),
        );
        let unassigned = EventKind::Assigned {
            agent: None,
            team: None,
        };
        let expected = vec![
            said(message.clone(), Some(by.clone())),
            did(unassigned, Some(1_767_233_400), Some(by.clone())),
        ];
        assert_eq!(
            accepted(&body).events,
            within(expected, &portugal(), &tomas())
        );

        // Assigned to a team: the team, which is also the conversation's inbox.
        let body = edited(
            &body,
            "/data/item/assignee",
            json!({"type": "team", "id": "5550123", "name": "Billing"}),
        );
        let team = Team {
            id: Some("5550123".into()),
            name: Some("Billing".into()),
        };
        let to_team = EventKind::Assigned {
            agent: None,
            team: Some(team.clone()),
        };
        let conversation = Conversation {
            inbox: Some(team),
            ..portugal()
        };
        let expected = vec![
            said(message, Some(by.clone())),
            did(to_team, Some(1_767_233_400), Some(by)),
        ];
        assert_eq!(
            accepted(&body).events,
            within(expected, &conversation, &tomas())
        );
    }

    #[test]
    fn a_reply_part_that_assigns_also_yields_assigned() {
        let body = include_bytes!(
            "../../../../events/payloads/intercom-conversation-admin-assigned-legacy.json"
        );
        let body = edited(body, "/topic", json!("conversation.admin.replied"));
        let kinds: Vec<_> = accepted(&body)
            .events
            .iter()
            .map(|e| e.kind.name())
            .collect();
        assert_eq!(kinds, ["message_added", "assigned"]);
    }

    #[test]
    fn a_legacy_reopen_is_reopened_by_the_admin() {
        let a = accepted(include_bytes!(
            "../../../../events/payloads/intercom-conversation-admin-opened.json"
        ));
        let by = who("7310002", Some("Katherine Johnson"), None);
        assert_eq!(
            a.events,
            within(
                vec![did(EventKind::Reopened, Some(1_767_319_200), Some(by))],
                &portugal(),
                &tomas()
            )
        );
    }

    #[test]
    fn a_conversation_tag_adds_only_the_new_tags() {
        let a = accepted(include_bytes!(
            "../../../../events/payloads/intercom-conversation-part-tag-created.json"
        ));
        let conversation = Conversation {
            tags: vec!["shipping".into(), "EU".into()],
            ..portugal()
        };
        let added = EventKind::TagsChanged {
            added: vec!["EU".into()],
            removed: vec![],
            current: None,
        };
        assert_eq!(
            a.events,
            within(vec![did(added, None, None)], &conversation, &tomas())
        );
    }

    // ---- contact topics ----

    #[test]
    fn a_created_contact_is_upserted_with_its_fields() {
        let a = accepted(include_bytes!(
            "../../../../events/payloads/intercom-contact-user-created.json"
        ));
        assert_eq!(a.delivery_id, "notif_e0f10213-2738-439a-8fbc-3b4c5d6e7f5e");
        assert_eq!(a.conversation_key, "contact:65b2a1d3f4e5a6b7c8d9e0f1");
        assert_eq!(a.occurred_at, at(1_767_345_301));
        let visitor = Visitor {
            contact_id: Some("65b2a1d3f4e5a6b7c8d9e0f1".into()),
            external_id: Some("cust-2001".into()),
            email: Some("mira.castellanos@example.org".into()),
            phone: Some("+1 555 0142".into()),
            name: Some("Mira Castellanos".into()),
            role: Some("user".into()),
            custom_attributes: attrs(json!({"plan": "pro", "seats": 12})),
            ..Visitor::default()
        };
        // updated_at 2026-01-02T09:15:00Z; 2.x lists only the company's id.
        let expected = Event {
            visitor,
            company: Some(Company {
                id: Some("65b2a1d3f4e5a6b7c8d9e0aa".into()),
                ..Company::default()
            }),
            ..did(EventKind::ContactUpserted, Some(1_767_345_300), None)
        };
        assert_eq!(a.events, vec![expected]);
    }

    #[test]
    fn a_legacy_user_is_upserted_with_user_id_and_company() {
        let a = accepted(include_bytes!(
            "../../../../events/payloads/intercom-user-created-legacy.json"
        ));
        assert_eq!(a.conversation_key, "contact:5f2a3b4c5d6e7f8091a2b3c4");
        let visitor = Visitor {
            contact_id: Some("5f2a3b4c5d6e7f8091a2b3c4".into()),
            external_id: Some("cust-3001".into()),
            email: Some("li.wei@example.com".into()),
            phone: Some("+1 555 0177".into()),
            name: Some("Li Wei".into()),
            company_name: Some("Northwind Traders".into()),
            role: Some("user".into()),
            custom_attributes: attrs(json!({"account_tier": "gold"})),
            ..Visitor::default()
        };
        // updated_at 2026-01-02T10:25:00Z; legacy lists whole companies.
        let expected = Event {
            visitor,
            company: Some(Company {
                id: Some("5f2a3b4c5d6e7f8091a2b3d5".into()),
                company_id: Some("nw-001".into()),
                name: Some("Northwind Traders".into()),
                ..Company::default()
            }),
            ..did(EventKind::ContactUpserted, Some(1_767_349_500), None)
        };
        assert_eq!(a.events, vec![expected]);
    }

    #[test]
    fn a_company_update_is_the_company_alone() {
        let a = accepted(include_bytes!(
            "../../../../events/payloads/intercom-company-updated.json"
        ));
        assert_eq!(a.conversation_key, "company:6762f0d51bb69f9f2193bb7f");
        assert_eq!(a.events.len(), 1);
        let event = &a.events[0];
        assert_eq!(event.kind, EventKind::CompanyUpserted);
        assert!(event.visitor.is_empty() && event.conversation.is_none());
        assert_eq!(
            event.company,
            Some(Company {
                id: Some("6762f0d51bb69f9f2193bb7f".into()),
                company_id: Some("acme-7".into()),
                name: Some("Acme Rockets".into()),
                website: Some("https://www.acmerockets.example".into()),
                plan: Some("Enterprise".into()),
                industry: Some("Manufacturing".into()),
                size: Some(85),
                custom_attributes: attrs(json!({"tier": "gold"})),
            })
        );
        assert_eq!(event.occurred_at, at(1_767_441_600));
    }

    #[test]
    fn an_attached_contact_carries_its_company() {
        let a = accepted(include_bytes!(
            "../../../../events/payloads/intercom-company-contact-attached.json"
        ));
        assert_eq!(a.conversation_key, "contact:6762f0e21bb69f9f2193bb80");
        let event = &a.events[0];
        assert_eq!(event.kind, EventKind::ContactUpserted);
        assert_eq!(event.visitor.role.as_deref(), Some("user"));
        assert_eq!(
            event.visitor.email.as_deref(),
            Some("wile@acmerockets.example")
        );
        assert_eq!(event.visitor.company_name.as_deref(), Some("Acme Rockets"));
        assert_eq!(
            event.company.as_ref().and_then(|c| c.id.as_deref()),
            Some("6762f0d51bb69f9f2193bb7f")
        );
        // Without its company, the attachment says nothing.
        let body = serde_json::to_vec(&json!({
            "topic": "company.contact.attached", "id": "notif_x",
            "data": {"item": {"type": "contact_company", "contact": {"id": "c1", "role": "user"}}}
        }))
        .unwrap();
        assert_eq!(
            read(Platform::Intercom, &body),
            Err(ParseError::Field("data.item.company.id"))
        );
    }

    #[test]
    fn a_contact_tag_is_added_or_removed() {
        let body =
            include_bytes!("../../../../events/payloads/intercom-contact-lead-tag-created.json");
        let visitor = Visitor {
            contact_id: Some("65c3b2e4a5f6b7c8d9e0f1a2".into()),
            email: Some("visitor.lead@example.com".into()),
            role: Some("lead".into()),
            ..Visitor::default()
        };
        let tag = vec!["Trade show 2026".to_owned()];
        let a = accepted(body);
        assert_eq!(a.conversation_key, "contact:65c3b2e4a5f6b7c8d9e0f1a2");
        let added = EventKind::TagsChanged {
            added: tag.clone(),
            removed: vec![],
            current: None,
        };
        assert_eq!(
            a.events,
            vec![Event {
                visitor: visitor.clone(),
                ..Event::new(added)
            }]
        );
        let body = edited(body, "/topic", json!("contact.lead.tag.deleted"));
        let removed = EventKind::TagsChanged {
            added: vec![],
            removed: tag,
            current: None,
        };
        assert_eq!(
            accepted(&body).events,
            vec![Event {
                visitor,
                ..Event::new(removed)
            }]
        );
    }

    #[test]
    fn a_deleted_contact_is_deleted_and_an_archived_one_only_flagged() {
        let body = include_bytes!("../../../../events/payloads/intercom-contact-deleted.json");
        let expected = vec![Event {
            visitor: Visitor {
                contact_id: Some("65b2a1d3f4e5a6b7c8d9e0f1".into()),
                external_id: Some("cust-2001".into()),
                ..Visitor::default()
            },
            ..Event::new(EventKind::ContactDeleted)
        }];
        let a = accepted(body);
        assert_eq!(a.conversation_key, "contact:65b2a1d3f4e5a6b7c8d9e0f1");
        assert_eq!(a.events, expected);
        let legacy = edited(body, "/topic", json!("user.deleted"));
        assert_eq!(accepted(&legacy).events, expected);
        for (topic, archived) in [("contact.archived", true), ("contact.unarchived", false)] {
            let events = accepted(&edited(body, "/topic", json!(topic))).events;
            assert_eq!(events.len(), 1, "{topic}");
            assert_eq!(events[0].kind, EventKind::ContactUpserted, "{topic}");
            assert_eq!(
                events[0].visitor.custom_attributes.get("archived"),
                Some(&json!(archived)),
                "{topic}"
            );
        }
    }

    #[test]
    fn legacy_user_tag_topics_name_the_user() {
        let body =
            include_bytes!("../../../../events/payloads/intercom-user-tag-created-legacy.json");
        let a = accepted(body);
        assert_eq!(a.conversation_key, "contact:5a1b2c3d4e5f60718293a4b5");
        assert_eq!(a.events.len(), 1);
        assert_eq!(
            a.events[0].kind,
            EventKind::TagsChanged {
                added: vec!["VIP".into()],
                removed: vec![],
                current: None,
            }
        );
        assert_eq!(
            a.events[0].visitor.email.as_deref(),
            Some("grace.hopper@example.com")
        );
        let deleted = accepted(&edited(body, "/topic", json!("user.tag.deleted")));
        assert_eq!(
            deleted.events[0].kind,
            EventKind::TagsChanged {
                added: vec![],
                removed: vec!["VIP".into()],
                current: None,
            }
        );
    }

    // ---- refusals and robustness ----

    #[test]
    fn unknown_topics_are_unsupported_before_anything_else_is_required() {
        for topic in ["conversation.read", "company.deleted", "ticket.created"] {
            let body = serde_json::to_vec(&json!({ "topic": topic })).unwrap();
            assert_eq!(
                read(Platform::Intercom, &body),
                Ok(Parsed::Unsupported {
                    topic: topic.into()
                })
            );
        }
    }

    #[test]
    fn missing_required_fields_are_named() {
        let replied: &[u8] =
            include_bytes!("../../../../events/payloads/intercom-conversation-admin-replied.json");
        let tagged: &[u8] =
            include_bytes!("../../../../events/payloads/intercom-contact-lead-tag-created.json");
        let contact: &[u8] =
            include_bytes!("../../../../events/payloads/intercom-contact-user-created.json");
        let priority: &[u8] = include_bytes!(
            "../../../../events/payloads/intercom-conversation-priority-updated.json"
        );
        let cases = [
            (replied, "/topic", "topic"),
            (replied, "/id", "id"),
            (replied, "/data", "data.item"),
            (replied, "/data/item/id", "data.item.id"),
            (
                replied,
                "/data/item/conversation_parts",
                "data.item.conversation_parts.conversation_parts",
            ),
            (priority, "/data/item/priority", "data.item.priority"),
            (tagged, "/data/item/contact", "data.item.contact"),
            (tagged, "/data/item/contact/id", "data.item.contact.id"),
            (tagged, "/data/item/tag", "data.item.tag.name"),
            (contact, "/data/item/id", "data.item.id"),
        ];
        for (body, pointer, field) in cases {
            let body = edited(body, pointer, Value::Null);
            assert_eq!(
                read(Platform::Intercom, &body),
                Err(ParseError::Field(field)),
                "{pointer}"
            );
        }
    }

    /// Every node of every payload, one at a time, replaced by each JSON type.
    #[test]
    fn wrong_types_anywhere_do_not_panic() {
        let payloads: [&[u8]; 20] = [
            include_bytes!("../../../../events/payloads/intercom-ping.json"),
            include_bytes!("../../../../events/payloads/intercom-conversation-user-created.json"),
            include_bytes!(
                "../../../../events/payloads/intercom-conversation-user-created-legacy.json"
            ),
            include_bytes!(
                "../../../../events/payloads/intercom-conversation-admin-single-created.json"
            ),
            include_bytes!("../../../../events/payloads/intercom-conversation-user-replied.json"),
            include_bytes!("../../../../events/payloads/intercom-conversation-admin-replied.json"),
            include_bytes!(
                "../../../../events/payloads/intercom-conversation-admin-replied-legacy.json"
            ),
            include_bytes!(
                "../../../../events/payloads/intercom-conversation-operator-replied.json"
            ),
            include_bytes!("../../../../events/payloads/intercom-conversation-admin-noted.json"),
            include_bytes!("../../../../events/payloads/intercom-conversation-admin-assigned.json"),
            include_bytes!(
                "../../../../events/payloads/intercom-conversation-admin-assigned-legacy.json"
            ),
            include_bytes!("../../../../events/payloads/intercom-conversation-admin-closed.json"),
            include_bytes!("../../../../events/payloads/intercom-conversation-admin-opened.json"),
            include_bytes!("../../../../events/payloads/intercom-conversation-admin-snoozed.json"),
            include_bytes!(
                "../../../../events/payloads/intercom-conversation-priority-updated.json"
            ),
            include_bytes!(
                "../../../../events/payloads/intercom-conversation-part-tag-created.json"
            ),
            include_bytes!("../../../../events/payloads/intercom-contact-user-created.json"),
            include_bytes!("../../../../events/payloads/intercom-contact-lead-tag-created.json"),
            include_bytes!("../../../../events/payloads/intercom-contact-deleted.json"),
            include_bytes!("../../../../events/payloads/intercom-user-created-legacy.json"),
        ];
        // A null, a number too large for any time, and each other JSON type.
        let odd = [Value::Null, json!(1.5e300), json!(""), json!([]), json!({})];
        for body in payloads {
            let v: Value = serde_json::from_slice(body).unwrap();
            for pointer in pointers(&v, String::new()) {
                for replacement in &odd {
                    let mut changed = v.clone();
                    *changed.pointer_mut(&pointer).unwrap() = replacement.clone();
                    // Any answer will do; only a panic fails.
                    let _ = read(Platform::Intercom, &serde_json::to_vec(&changed).unwrap());
                }
            }
        }
    }

    fn pointers(v: &Value, here: String) -> Vec<String> {
        let children: Vec<(String, &Value)> = match v {
            Value::Object(map) => map
                .iter()
                .map(|(k, c)| {
                    (
                        format!("{here}/{}", k.replace('~', "~0").replace('/', "~1")),
                        c,
                    )
                })
                .collect(),
            Value::Array(list) => list
                .iter()
                .enumerate()
                .map(|(i, c)| (format!("{here}/{i}"), c))
                .collect(),
            _ => Vec::new(),
        };
        let mut all = Vec::new();
        for (pointer, child) in children {
            all.push(pointer.clone());
            all.extend(pointers(child, pointer));
        }
        all
    }
}
