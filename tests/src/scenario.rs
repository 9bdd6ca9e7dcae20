//! One whole Intercom conversation as the platform would deliver it, built from the sample
//! payloads in events/payloads: start, three visitor messages, two agent replies, a note, a
//! tag, an assignment to a team, a priority change and the close.

use serde_json::{Value, json};

/// The visitor of a scenario conversation.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub contact_id: String,
    pub name: String,
    pub email: String,
}

/// One webhook delivery: a name for messages, and the body to sign and post.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub step: &'static str,
    pub body: Vec<u8>,
}

/// The agent of every scenario; the demo org has an active User with this e-mail.
pub const AGENT_EMAIL: &str = "grace.hopper@example.com";
/// The team Intercom assigns to; the demo tenant maps it to the Billing queue.
pub const TEAM_ID: &str = "5550123";
/// A test card number (passes Luhn) the visitor types, which must never reach Salesforce.
pub const CARD: &str = "4111 1111 1111 1111";

/// The texts of the messages, in conversation order, as they should read in the transcript.
pub fn message_texts(conversation: &str) -> Vec<String> {
    [
        "My card was charged twice for order {c}.",
        "The second charge appeared this morning.",
        "Card used: {card}, if that helps.",
        "Thanks for the details: checking the payments now.",
        "Found it: the duplicate is refunded, 3 to 5 days.",
        "Refund issued by billing, ticket {c}.",
        "Great, thank you!",
        "Closing this one.",
    ]
    .iter()
    .map(|t| t.replace("{c}", conversation).replace("{card}", CARD))
    .collect()
}

fn sample(name: &str) -> Value {
    let path = crate::repo_root().join("events/payloads").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn author_user(v: &Visitor) -> Value {
    json!({"type": "user", "id": v.contact_id, "name": v.name, "email": v.email})
}

fn author_admin() -> Value {
    json!({"type": "admin", "id": "7310001", "name": "Grace Hopper", "email": AGENT_EMAIL})
}

/// The sample with this conversation, visitor, time and notification id.
fn adapt(mut body: Value, conversation: &str, v: &Visitor, at: i64, n: usize) -> Value {
    body["id"] = json!(format!("notif_{conversation}_{n}"));
    body["created_at"] = json!(at);
    body["first_sent_at"] = json!(at);
    let item = &mut body["data"]["item"];
    item["id"] = json!(conversation);
    item["created_at"] = json!(at - 600 * n as i64);
    item["updated_at"] = json!(at);
    if item.get("source").is_some_and(Value::is_object) {
        item["source"]["id"] = json!(format!("{conversation}-source"));
        item["source"]["author"] = author_user(v);
        item["source"]["attachments"] = json!([]);
        item["title"] = json!("");
    }
    if item.get("contacts").is_some_and(Value::is_object) {
        item["contacts"]["contacts"] = json!([{"type": "contact", "id": v.contact_id}]);
    }
    if item.get("user").is_some_and(Value::is_object) {
        item["user"] =
            json!({"type": "user", "id": v.contact_id, "name": v.name, "email": v.email});
    }
    body
}

fn with_part(mut body: Value, part: Value) -> Value {
    body["data"]["item"]["conversation_parts"] =
        json!({"type": "conversation_part.list", "conversation_parts": [part], "total_count": 1});
    body
}

fn part(id: String, kind: &str, body: Option<&str>, at: i64, author: Value) -> Value {
    json!({
        "type": "conversation_part", "id": id, "part_type": kind,
        "body": body.map(|b| format!("<p>{b}</p>")), "created_at": at, "updated_at": at,
        "notified_at": at, "assigned_to": null, "author": author, "attachments": [],
        "external_id": null, "redacted": false, "tags": []
    })
}

/// The eleven deliveries of one conversation, in the order they happened, starting at `start`
/// (Unix seconds) one minute apart.
pub fn intercom_conversation(conversation: &str, v: &Visitor, start: i64) -> Vec<Delivery> {
    let texts = message_texts(conversation);
    let at = |k: usize| start + 60 * k as i64;
    let pid = |k: usize| format!("{conversation}-part-{k}");
    let mut out = Vec::new();
    let mut push = |step: &'static str, body: Value| {
        out.push(Delivery {
            step,
            body: serde_json::to_vec(&body).unwrap_or_default(),
        });
    };

    let mut created = adapt(
        sample("intercom-conversation-user-created.json"),
        conversation,
        v,
        at(0),
        0,
    );
    created["data"]["item"]["created_at"] = json!(at(0));
    created["data"]["item"]["source"]["body"] = json!(format!("<p>{}</p>", texts[0]));
    created["data"]["item"]["custom_attributes"] = json!({});
    push("started", created);

    for (k, text) in [(1, &texts[1]), (2, &texts[2])] {
        let body = adapt(
            sample("intercom-conversation-user-replied.json"),
            conversation,
            v,
            at(k),
            k,
        );
        push(
            "visitor replied",
            with_part(
                body,
                part(pid(k), "comment", Some(text), at(k), author_user(v)),
            ),
        );
    }
    for (k, text) in [(3, &texts[3]), (4, &texts[4])] {
        let body = adapt(
            sample("intercom-conversation-admin-replied.json"),
            conversation,
            v,
            at(k),
            k,
        );
        push(
            "agent replied",
            with_part(
                body,
                part(pid(k), "comment", Some(text), at(k), author_admin()),
            ),
        );
    }
    let noted = adapt(
        sample("intercom-conversation-admin-noted.json"),
        conversation,
        v,
        at(5),
        5,
    );
    push(
        "note",
        with_part(
            noted,
            part(pid(5), "note", Some(&texts[5]), at(5), author_admin()),
        ),
    );

    let mut tagged = adapt(
        sample("intercom-conversation-part-tag-created.json"),
        conversation,
        v,
        at(6),
        6,
    );
    tagged["data"]["item"]["tags_added"] =
        json!({"type": "tag.list", "tags": [{"type": "tag", "id": "8800300", "name": "billing"}]});
    tagged["data"]["item"]["tags"] =
        json!({"type": "tag.list", "tags": [{"type": "tag", "id": "8800300", "name": "billing"}]});
    tagged["data"]["item"]["conversation_parts"] =
        json!({"type": "conversation_part.list", "conversation_parts": [], "total_count": 0});
    push("tagged", tagged);

    let mut assigned = adapt(
        sample("intercom-conversation-admin-assigned.json"),
        conversation,
        v,
        at(7),
        7,
    );
    assigned["data"]["item"]["team_assignee_id"] = json!(TEAM_ID);
    assigned["data"]["item"]["admin_assignee_id"] = Value::Null;
    let mut assignment = part(pid(7), "assignment", None, at(7), author_admin());
    assignment["assigned_to"] = json!({"type": "team", "id": TEAM_ID});
    push("assigned to a team", with_part(assigned, assignment));

    let mut priority = adapt(
        sample("intercom-conversation-priority-updated.json"),
        conversation,
        v,
        at(8),
        8,
    );
    priority["data"]["item"]["priority"] = json!("priority");
    push(
        "priority",
        with_part(
            priority,
            part(pid(8), "priority_changed", None, at(8), author_admin()),
        ),
    );

    // The visitor's last word comes just before the close.
    let body = adapt(
        sample("intercom-conversation-user-replied.json"),
        conversation,
        v,
        at(9),
        9,
    );
    push(
        "visitor replied",
        with_part(
            body,
            part(pid(9), "comment", Some(&texts[6]), at(9), author_user(v)),
        ),
    );

    let mut closed = adapt(
        sample("intercom-conversation-admin-closed.json"),
        conversation,
        v,
        at(10),
        10,
    );
    closed["data"]["item"]["priority"] = json!("priority");
    push(
        "closed",
        with_part(
            closed,
            part(pid(10), "close", Some(&texts[7]), at(10), author_admin()),
        ),
    );
    out
}

/// Adds an attachment (name, URL, size) to the opening message of a scenario conversation.
pub fn attach(deliveries: &mut [Delivery], name: &str, url: &str, size: u64) {
    let Some(first) = deliveries.first_mut() else {
        return;
    };
    let mut body: Value = serde_json::from_slice(&first.body).unwrap_or_default();
    body["data"]["item"]["source"]["attachments"] = json!([{
        "type": "upload", "name": name, "url": url,
        "content_type": "application/pdf", "filesize": size
    }]);
    first.body = serde_json::to_vec(&body).unwrap_or_default();
}
