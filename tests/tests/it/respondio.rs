//! respond.io end to end: the platform names no conversation, only the contact, so chatsync
//! splits the contact's key into one conversation per open–close span (`mapping::spans`).

use chatsync_tests::e2e::{self, drain, records};
use serde_json::{Value, json};
use shared::platforms::Platform;

const CONTACT: u64 = 445566;
/// The first conversation opens here (UNIX seconds); the second an hour later.
const T0: i64 = 1_767_225_800;

fn contact(status: &str) -> Value {
    json!({"id": CONTACT, "firstName": "Mae", "lastName": "Jemison",
        "email": "mae.jemison@example.org", "phone": "+1 (555) 010-4477", "countryCode": "US",
        "status": status, "created_at": T0 - 600,
        "assignee": {"id": 501, "name": "Sam Agent", "email": "sam.agent@example.com"}})
}

fn channel() -> Value {
    json!({"id": 9, "name": "WhatsApp Support", "source": "whatsapp"})
}

fn opened(n: u32, at: i64) -> Value {
    json!({"event_type": "conversation.opened", "event_id": format!("open-{n}"),
        "timestamp": at * 1000 + 900, "contact": contact("open"), "channel": channel(),
        "conversation": {"openedTime": at, "openedBy": null, "openedBySource": "contact"}})
}

fn received(n: u32, at: i64, text: &str) -> Value {
    json!({"event_type": "message.received", "event_id": format!("in-{n}"),
        "timestamp": at * 1000 + 123, "contact": contact("open"), "channel": channel(),
        "message": {"channelMessageId": format!("wamid.in{n}"), "contactId": CONTACT,
            "traffic": "incoming", "message": {"type": "text", "text": text},
            "timestamp": at * 1000 + 123}})
}

fn sent(n: u32, at: i64, text: &str) -> Value {
    json!({"event_type": "message.sent", "event_id": format!("out-{n}"), "traffic": "outgoing",
        "channelMessageId": format!("wamid.out{n}"), "timestamp": at * 1000 + 456,
        "contact": contact("open"), "channel": channel(),
        "message": {"type": "text", "text": text},
        "user": {"id": 501, "name": "Sam Agent", "email": "sam.agent@example.com"}})
}

fn closed(n: u32, opened_at: i64, at: i64) -> Value {
    json!({"event_type": "conversation.closed", "event_id": format!("close-{n}"),
        "contact": contact("close"),
        "conversation": {"category": "Refund", "openedTime": opened_at, "closedTime": at,
            "closedBySource": "user",
            "closedBy": {"id": 501, "name": "Sam Agent", "email": "sam.agent@example.com"}}})
}

#[tokio::test]
async fn two_conversations_of_one_contact_become_two_cases_and_the_first_stays_closed() {
    let session = e2e::start(Vec::new(), Vec::new()).await;
    let tenant = e2e::demo_tenant();
    let t1 = T0 + 3600;
    let first = [
        opened(1, T0),
        received(1, T0 + 1, "Is my refund processed yet?"),
        sent(1, T0 + 60, "Yes, it went out this morning."),
        closed(1, T0, T0 + 120),
    ];
    // respond.io sends the message that opens a conversation before the open itself.
    let second = [
        received(2, t1, "New question: can I change my delivery address?"),
        opened(2, t1),
        sent(2, t1 + 30, "Done, the new address is on the order."),
    ];
    for body in first.iter().chain(&second) {
        let body = serde_json::to_vec(body).unwrap();
        let (status, answer) = e2e::post_from(&session, &tenant, Platform::RespondIo, &body).await;
        assert_eq!(status, 202, "{answer}");
    }
    drain(&session).await;

    let key = |id: &str| format!("demo:respondio:{id}");
    let cases = records(&session, "Case").await;
    let ours: Vec<&Value> = cases
        .iter()
        .filter(|c| {
            c["Chat_Conversation_Id__c"]
                .as_str()
                .is_some_and(|k| k.starts_with(&key(&CONTACT.to_string())))
        })
        .collect();
    assert_eq!(ours.len(), 2, "one Case per conversation: {ours:#?}");
    let case_of = |id: &str| {
        ours.iter()
            .find(|c| c["Chat_Conversation_Id__c"] == key(id).as_str())
            .unwrap_or_else(|| panic!("a Case keyed {}: {ours:#?}", key(id)))
    };
    let one = case_of(&CONTACT.to_string());
    let two = case_of(&format!("{CONTACT}~1"));
    assert_eq!(one["Status"], "Closed");
    assert_eq!(one["IsClosed"], true);
    assert_eq!(two["IsClosed"], false, "the second conversation is open");
    assert_eq!(one["ContactId"], two["ContactId"], "the same person");
    assert!(one["ContactId"].is_string());

    let tasks = records(&session, "Task").await;
    let transcript = |case: &Value| -> String {
        let task = tasks
            .iter()
            .find(|t| t["WhatId"] == case["Id"])
            .unwrap_or_else(|| panic!("a Task for {}", case["Id"]));
        task["Description"].as_str().unwrap_or_default().to_owned()
    };
    let (a, b) = (transcript(one), transcript(two));
    for (text, mine, other) in [
        ("Is my refund processed yet?", &a, &b),
        ("Yes, it went out this morning.", &a, &b),
        ("New question: can I change my delivery address?", &b, &a),
        ("Done, the new address is on the order.", &b, &a),
    ] {
        assert_eq!(mine.matches(text).count(), 1, "{text:?} once in\n{mine}");
        assert!(
            !other.contains(text),
            "{text:?} not in the other conversation:\n{other}"
        );
    }
    assert!(
        a.find("Is my refund").unwrap() < a.find("Yes, it went out").unwrap(),
        "in order:\n{a}"
    );
}
