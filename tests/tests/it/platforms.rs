//! Each platform's conversation end to end, as the platform sends it: through the intake, the
//! resolver and the writer under RIE, on moto, with both emulators (Salesforce, and the chat
//! platforms' APIs, which give agents' e-mails). What lands in Salesforce is read back.

use chatsync_tests::e2e::{self, drain, records};
use serde_json::{Value, json};
use shared::platforms::Platform;

/// The demo org's agent User (events/salesforce/demo-org.json), Grace Hopper, whose e-mail the
/// chat emulator's operators, admins and users carry (events/chat-platforms/demo.json).
const GRACE_USER: &str = "005000000000AGTAA2";
/// Grace's operator id at Tidio, as the demo chat seed has it.
const TIDIO_GRACE: &str = "e7a2c5d1-9b4f-4e36-8d0a-2f6c1b9e7a35";

/// Posts each body as `platform` sends it; each must be taken (202).
async fn send_all(
    session: &chatsync_local::session::Session,
    platform: Platform,
    bodies: &[Value],
) {
    send_all_to(session, &e2e::demo_tenant(), platform, bodies).await;
}

async fn send_all_to(
    session: &chatsync_local::session::Session,
    tenant: &shared::tenant::TenantFile,
    platform: Platform,
    bodies: &[Value],
) {
    for body in bodies {
        let bytes = serde_json::to_vec(body).unwrap();
        let (status, answer) = e2e::post_from(session, tenant, platform, &bytes).await;
        assert_eq!(status, 202, "{body}: {answer}");
    }
}

/// The Case keyed `key` (`tenant:platform:conversation`) and its transcript Task.
async fn case_and_task(session: &chatsync_local::session::Session, key: &str) -> (Value, Value) {
    let cases = records(session, "Case").await;
    let case = cases
        .iter()
        .find(|c| c["Chat_Conversation_Id__c"] == key)
        .unwrap_or_else(|| panic!("a Case keyed {key}: {cases:#?}"))
        .clone();
    let tasks = records(session, "Task").await;
    let task = tasks
        .iter()
        .find(|t| t["WhatId"] == case["Id"])
        .unwrap_or_else(|| panic!("a Task for {}: {tasks:#?}", case["Id"]))
        .clone();
    (case, task)
}

/// Each text once in the transcript, in this order, on a line that names its author.
fn assert_in_order(transcript: &str, lines: &[(&str, &str)]) {
    let mut from = 0;
    for (author, text) in lines {
        assert_eq!(
            transcript.matches(text).count(),
            1,
            "{text:?} once in\n{transcript}"
        );
        let at = from
            + transcript[from..]
                .find(text)
                .unwrap_or_else(|| panic!("{text:?} in order in\n{transcript}"));
        let line = transcript[..at].rsplit('\n').next().unwrap_or_default();
        assert!(
            line.contains(author),
            "{text:?} by {author:?}:\n{transcript}"
        );
        from = at + text.len();
    }
}

fn tidio(topic: &str, n: u32, at: i64, content: Value) -> Value {
    json!({"created_at": at, "project_public_key": "demoprojectpublickey0000000000",
        "topic": topic, "version": 1, "webhook_id": format!("tidio-e2e-{n}"), "content": content})
}

fn tidio_message(author: &str, kind: &str, n: u32, at: i64, status: &str, text: &str) -> Value {
    let message_type = if kind == "internal" {
        "internal"
    } else {
        "public"
    };
    let author_type = if author == TIDIO_CONTACT {
        "contact"
    } else {
        "operator"
    };
    json!({"id": TIDIO_TICKET, "status": status, "subject": "Order 5512 arrived damaged",
        "contact_id": TIDIO_CONTACT,
        "message": {"author_id": author, "author_type": author_type,
            "message_id": format!("01KE2E{n:020}"), "message_type": message_type,
            "message_content": text,
            "created_at": time::OffsetDateTime::from_unix_timestamp(at).unwrap()
                .format(&time::format_description::well_known::Rfc3339).unwrap()}})
}

const TIDIO_TICKET: u64 = 7310;
const TIDIO_CONTACT: &str = "5b1e2c3d-7a8f-4e6d-9c0b-1a2b3c4d5e6f";

#[tokio::test]
async fn a_tidio_ticket_lands_whole_with_its_person_and_the_operators_user_as_owner() {
    let session = e2e::start(Vec::new(), Vec::new()).await;
    let t = 1_767_346_000;
    let v = TIDIO_CONTACT;
    let g = TIDIO_GRACE;
    let ticket = |status: &str| {
        json!({"id": TIDIO_TICKET, "status": status,
        "subject": "Order 5512 arrived damaged", "contact_id": v, "operator_id": g})
    };
    let deliveries = [
        tidio(
            "contact.created",
            1,
            t,
            json!({"id": v, "email": "Mae.Jemison@Example.org",
            "phone": null, "first_name": "Mae", "last_name": "Jemison", "distinct_id": null,
            "properties": []}),
        ),
        tidio(
            "ticket.contact_replied",
            2,
            t + 10,
            tidio_message(
                v,
                "public",
                2,
                t + 10,
                "open",
                "My order 5512 arrived with a cracked screen.",
            ),
        ),
        tidio("ticket.operator_assigned", 3, t + 20, ticket("open")),
        tidio(
            "ticket.operator_replied",
            4,
            t + 30,
            tidio_message(
                g,
                "public",
                4,
                t + 30,
                "open",
                "Sorry to hear that! Could you send a photo?",
            ),
        ),
        tidio(
            "ticket.contact_replied",
            5,
            t + 40,
            tidio_message(
                v,
                "public",
                5,
                t + 40,
                "open",
                "Photo attached, see the corner.",
            ),
        ),
        tidio(
            "ticket.internal_note_added",
            6,
            t + 50,
            tidio_message(
                g,
                "internal",
                6,
                t + 50,
                "open",
                "Courier damage, claim with the carrier.",
            ),
        ),
        tidio(
            "ticket.operator_replied",
            7,
            t + 60,
            tidio_message(
                g,
                "public",
                7,
                t + 60,
                "pending",
                "A replacement ships today.",
            ),
        ),
        tidio(
            "ticket.operator_replied",
            8,
            t + 70,
            tidio_message(
                g,
                "public",
                8,
                t + 70,
                "solved",
                "Tracking number sent by e-mail. Closing this ticket.",
            ),
        ),
    ];
    send_all(&session, Platform::Tidio, &deliveries).await;
    drain(&session).await;

    let (case, task) = case_and_task(&session, &format!("demo:tidio:{TIDIO_TICKET}")).await;
    // The person: the contact Tidio announced, created as a Contact (support mode)
    let contacts = records(&session, "Contact").await;
    let mae = contacts
        .iter()
        .find(|c| c["Email"] == "mae.jemison@example.org")
        .unwrap_or_else(|| panic!("Mae is in Salesforce: {contacts:#?}"));
    assert_eq!(case["ContactId"], mae["Id"]);
    assert_eq!(task["WhoId"], mae["Id"]);
    // The owner: the operator's User, found by the e-mail Tidio's operator list gives
    assert_eq!(case["OwnerId"], GRACE_USER);
    assert_eq!(task["OwnerId"], GRACE_USER);
    // Closed when the ticket was solved
    assert_eq!(case["Status"], "Closed");
    assert_eq!(
        case["Subject"].as_str().map(|s| s.contains("Order 5512")),
        Some(true),
        "{case}"
    );
    let transcript = task["Description"].as_str().unwrap_or_default();
    assert_in_order(
        transcript,
        &[
            ("Visitor:", "My order 5512 arrived with a cracked screen."),
            (
                "Grace Hopper (agent)",
                "Sorry to hear that! Could you send a photo?",
            ),
            ("Visitor:", "Photo attached, see the corner."),
            (
                "Grace Hopper (internal note)",
                "Courier damage, claim with the carrier.",
            ),
            ("Grace Hopper (agent)", "A replacement ships today."),
            (
                "Grace Hopper (agent)",
                "Tracking number sent by e-mail. Closing this ticket.",
            ),
        ],
    );
    session.stop().await;
}

const CONTACT: u64 = 445566;
/// The first conversation opens here (UNIX seconds); the second an hour later.
const T0: i64 = 1_767_225_800;

fn contact(status: &str) -> Value {
    json!({"id": CONTACT, "firstName": "Mae", "lastName": "Jemison",
        "email": "mae.jemison@example.org", "phone": "+1 (555) 010-4477", "countryCode": "US",
        "status": status, "created_at": T0 - 600,
        "assignee": {"id": 501, "firstName": "Grace", "lastName": "Hopper",
            "email": "grace.hopper@example.com"}})
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
    // The second conversation stays open: its last lines wait for the drainer's quiet sweep.
    let session = e2e::start(
        Vec::new(),
        vec![("TRANSCRIPT_QUIET_SECONDS".to_owned(), "0".to_owned())],
    )
    .await;
    let tenant = e2e::demo_tenant();
    let t1 = T0 + 3600;
    // respond.io's assignee event carries no time of its own (it is read at receipt).
    let assigned = json!({"event_type": "contact.assignee.updated", "event_id": "assign-1",
        "contact": contact("open"), "channel": channel()});
    let tagged = json!({"event_type": "contact.tag.updated", "event_id": "tag-1",
        "timestamp": (T0 + 30) * 1000, "tag": "billing", "action": "add", "contact": contact("open")});
    let first = [
        opened(1, T0),
        received(1, T0 + 1, "Is my refund processed yet?"),
        assigned,
        tagged,
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
    session
        .host
        .run_scheduled("retry-drainer")
        .await
        .expect("the drainer runs");
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
    // The contact's assignee owns both; its tag (billing → Other) reaches both conversations.
    for case in [one, two] {
        assert_eq!(case["OwnerId"], GRACE_USER, "{case}");
        assert_eq!(case["Type"], "Other", "{case}");
    }

    let tasks = records(&session, "Task").await;
    let transcript = |case: &Value| -> String {
        let task = tasks
            .iter()
            .find(|t| t["WhatId"] == case["Id"])
            .unwrap_or_else(|| panic!("a Task for {}", case["Id"]));
        task["Description"].as_str().unwrap_or_default().to_owned()
    };
    let (a, b) = (transcript(one), transcript(two));
    assert_in_order(
        &a,
        &[
            ("Visitor:", "Is my refund processed yet?"),
            ("(agent)", "Yes, it went out this morning."),
        ],
    );
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

#[tokio::test]
async fn a_cloudcx_ticket_lands_with_every_reply_marked_and_the_mapped_agent_as_owner() {
    // A tenant like the demo that names CloudCX's agent by id (owners.agents_by_id): CloudCX's
    // webhooks carry ids only and it has no agent API.
    let agent = "71c4e9a2-5d3b-4f08-8a6e-b2d0f9c3e517";
    let (path, tenant) = e2e::tenant_variant("cxdemo", |toml| {
        toml.replace(
            "[config.transcript]",
            &format!(
                "[config.owners.agents_by_id]\n\"cloudcx:{agent}\" = \"grace.hopper@example.com\"\n\n[config.transcript]"
            ),
        )
    });
    let session = e2e::start(vec![path], Vec::new()).await;
    let ticket = "cx-9001";
    let status = |before: &str, after: &str| {
        json!({"event": "TicketStatusChanged",
        "ticketId": ticket, "beforeTicketStatus": before, "afterTicketStatus": after})
    };
    let reply =
        |event: &str, id: &str| json!({"event": event, "ticketId": ticket, "messageId": id});
    let deliveries = [
        json!({"event": "TicketCreated", "ticketId": ticket}),
        reply("TicketFromUserReply", "m-1"),
        json!({"event": "TicketAssigneeChanged", "ticketId": ticket, "fromAgentId": null, "toAgentId": agent}),
        reply("TicketAgentReply", "m-2"),
        reply("TicketFromUserReply", "m-3"),
        status("Open", "pending"),
        reply("TicketAgentReply", "m-4"),
        status("pending", "Resolved"),
    ];
    send_all_to(&session, &tenant, Platform::CloudCx, &deliveries).await;
    drain(&session).await;

    let (case, task) = case_and_task(&session, &format!("cxdemo:cloudcx:{ticket}")).await;
    assert_eq!(
        case["OwnerId"], GRACE_USER,
        "the tenant's map names the agent"
    );
    assert_eq!(case["Status"], "Closed");
    let transcript = task["Description"].as_str().unwrap_or_default();
    // Never an empty line: each reply says where its text is, once, in order, by its side.
    let marker = |id: &str| {
        format!(
            "[message {id} not delivered by CloudCX's webhook: read it in CloudCX, ticket {ticket}]"
        )
    };
    let (m1, m2, m3, m4) = (marker("m-1"), marker("m-2"), marker("m-3"), marker("m-4"));
    assert_in_order(
        transcript,
        &[
            ("Visitor:", &m1),
            ("Agent:", &m2),
            ("Visitor:", &m3),
            ("Agent:", &m4),
        ],
    );
    assert!(
        !transcript.lines().any(|l| l.trim_end().ends_with(':')),
        "{transcript}"
    );
    // CloudCX's ticket webhooks name no visitor and it documents no API to ask: no person.
    assert!(case["ContactId"].is_null(), "{case}");
    session.stop().await;
}

/// The chat emulator's admin API.
async fn chat_admin(session: &chatsync_local::session::Session, path: &str, body: Value) -> Value {
    let base = session.chat_url.as_deref().expect("the chat emulator runs");
    reqwest::Client::new()
        .post(format!("{base}/__emulator/{path}"))
        .json(&body)
        .send()
        .await
        .expect("chat emulator answers")
        .json()
        .await
        .expect("JSON")
}

#[tokio::test]
async fn a_fifth_of_platform_calls_failing_loses_and_duplicates_nothing() {
    let session = e2e::start(Vec::new(), Vec::new()).await;
    // GIVEN Tidio's API failing one call in five: a 429 with Retry-After, or a 503
    chat_admin(
        &session,
        "faults",
        json!({"faults": [
            {"error": "rate_limited", "platform": "tidio", "rate": 0.1, "retry_after": 1},
            {"error": "server_error", "platform": "tidio", "rate": 0.1}
        ]}),
    )
    .await;
    // WHEN 12 tickets arrive, each assigned to an operator Tidio has never heard of (so each
    // asks Tidio's operator list once), with a visitor message before and an agent reply after
    let t = 1_767_400_000;
    let mut deliveries = Vec::new();
    let mut expected = Vec::new();
    for k in 0..12u32 {
        let ticket = 8000 + k;
        let operator = format!("op-unknown-{k}");
        let n = k * 3;
        let base = json!({"id": ticket, "status": "open", "subject": format!("Ticket {ticket}"),
            "contact_id": TIDIO_CONTACT});
        let message = |n: u32, author: &str, text: String| {
            let mut c = base.clone();
            c["message"] = json!({"author_id": author, "message_id": format!("m-{n}"),
                "message_type": "public", "message_content": text});
            c
        };
        let asked = format!("Question {k}: where is parcel {ticket}?");
        let answered = format!("Answer {k}: parcel {ticket} is on its way.");
        deliveries.push(tidio(
            "ticket.contact_replied",
            10_000 + n,
            t + i64::from(n),
            message(n, TIDIO_CONTACT, asked.clone()),
        ));
        let mut assigned = base.clone();
        assigned["operator_id"] = json!(operator);
        deliveries.push(tidio(
            "ticket.operator_assigned",
            10_001 + n,
            t + i64::from(n) + 1,
            assigned,
        ));
        // The reply solves the ticket, so its transcript is written at once.
        let mut reply = message(n + 2, &operator, answered.clone());
        reply["status"] = json!("solved");
        deliveries.push(tidio(
            "ticket.operator_replied",
            10_002 + n,
            t + i64::from(n) + 2,
            reply,
        ));
        expected.push((ticket, asked, answered));
    }
    send_all(&session, Platform::Tidio, &deliveries).await;
    drain(&session).await;

    // THEN every message landed once, in order, in its own ticket's Task, and nothing waits
    for (ticket, asked, answered) in &expected {
        let (_, task) = case_and_task(&session, &format!("demo:tidio:{ticket}")).await;
        let transcript = task["Description"].as_str().unwrap_or_default();
        assert_in_order(transcript, &[("Visitor:", asked), ("Agent:", answered)]);
    }
    let log = shared::store::synclog::SyncLogTable::new(
        aws_sdk_dynamodb::Client::new(&session.sdk),
        session.table("SyncLogTable").expect("sync log"),
    );
    let open = log.open("demo", 100).await.expect("open items");
    assert!(open.is_empty(), "nothing parked: {open:#?}");
    // AND the faults did fire, and each failed call was asked again
    let base = session.chat_url.as_deref().unwrap();
    let faults: Value = reqwest::get(format!("{base}/__emulator/faults"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fired: u64 = faults
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["fired"].as_u64().unwrap())
        .sum();
    let stats: Value = reqwest::get(format!("{base}/__emulator/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let calls = stats["calls"]["tidio"].as_u64().unwrap();
    assert!(fired >= 2, "{fired} faults fired of {calls} calls");
    assert!(
        calls >= 12 + fired,
        "each of the 12 unknown operators asked once, plus retries: {calls}"
    );
    println!(
        "platform faults: {calls} Tidio calls, {fired} failed (429 or 503), 36 of 36 deliveries landed once, 0 parked"
    );
    session.stop().await;
}

#[tokio::test]
async fn an_intercom_contact_tag_reaches_the_contacts_open_conversation() {
    let session = e2e::start(Vec::new(), Vec::new()).await;
    let tenant = e2e::demo_tenant();
    let v = chatsync_tests::scenario::Visitor {
        contact_id: "65c3b2e4a5f6b7c8d9e0f1b7".into(),
        name: "Ada Tagged".into(),
        email: "ada.tagged@example.org".into(),
    };
    let start = time::OffsetDateTime::now_utc().unix_timestamp() - 3600;
    // GIVEN an open Intercom conversation of the contact
    let conversation = chatsync_tests::scenario::intercom_conversation("7700", &v, start);
    e2e::deliver(&session, &tenant, &conversation[..3]).await;
    drain(&session).await;
    // WHEN the contact (not the conversation) is tagged "damaged" in Intercom
    let sample = std::fs::read(
        chatsync_tests::repo_root().join("events/payloads/intercom-contact-user-tag-created.json"),
    )
    .unwrap();
    let mut tag: Value = serde_json::from_slice(&sample).unwrap();
    tag["id"] = json!("notif_contact_tag_7700");
    tag["created_at"] = json!(start + 600);
    tag["data"]["item"]["created_at"] = json!(start + 600);
    tag["data"]["item"]["tag"]["name"] = json!("damaged");
    tag["data"]["item"]["contact"]["id"] = json!(v.contact_id);
    tag["data"]["item"]["contact"]["email"] = json!(v.email);
    let (status, answer) =
        e2e::post_answer(&session, &tenant, &serde_json::to_vec(&tag).unwrap()).await;
    assert_eq!(status, 202, "{answer}");
    drain(&session).await;
    // THEN the conversation's Case has the tag's category (damaged → Structural)
    let (case, _) = case_and_task(&session, "demo:intercom:7700").await;
    assert_eq!(case["Type"], "Structural", "{case}");
    session.stop().await;
}

#[tokio::test]
async fn an_intercom_team_named_by_id_is_mapped_to_its_queue_by_name() {
    // GIVEN a tenant whose Queue map knows Intercom's team by its name only
    let (path, tenant) = e2e::tenant_variant("byname", |toml| {
        toml.replace("\"5550123\" = \"Billing\"\n", "")
    });
    assert!(!tenant.config.owners.queues.contains_key("5550123"));
    let session = e2e::start(vec![path], Vec::new()).await;
    // WHEN Intercom assigns a conversation to team 5550123 (its webhooks name teams by id)
    let v = chatsync_tests::scenario::Visitor {
        contact_id: "65c3b2e4a5f6b7c8d9e0f1c8".into(),
        name: "Ada Named".into(),
        email: "ada.named@example.org".into(),
    };
    let start = time::OffsetDateTime::now_utc().unix_timestamp() - 3600;
    let conversation = chatsync_tests::scenario::intercom_conversation("7800", &v, start);
    e2e::deliver(&session, &tenant, &conversation).await;
    drain(&session).await;
    // THEN Intercom's team list names it "Billing team", and the Billing queue owns the Case
    let (case, _) = case_and_task(&session, "byname:intercom:7800").await;
    assert_eq!(case["OwnerId"], "00G000000000BILEA2", "{case}");
    session.stop().await;
}

#[tokio::test]
async fn webhooks_the_chat_emulator_signs_as_each_platform_are_taken_by_the_intake() {
    // The emulator signs with its own implementation of each platform's scheme, so this
    // checks the intake against a second reading of the vendors' docs, not against itself.
    let session = e2e::start(Vec::new(), Vec::new()).await;
    let tenant = e2e::demo_tenant();
    let base = session.intake_url();
    let secret = |p: Platform| {
        tenant.secrets.webhooks.for_platform(p)[0]
            .expose()
            .to_owned()
    };
    let sample = |file: &str| -> Value {
        serde_json::from_slice(
            &std::fs::read(
                chatsync_tests::repo_root()
                    .join("events/payloads")
                    .join(file),
            )
            .unwrap(),
        )
        .unwrap()
    };
    let cases = [
        (
            Platform::Intercom,
            "intercom-conversation-user-created.json",
            String::new(),
        ),
        (
            Platform::Tidio,
            "tidio-ticket-contact-replied.json",
            String::new(),
        ),
        (
            Platform::RespondIo,
            "respondio-message-received.json",
            String::new(),
        ),
        (
            Platform::CloudCx,
            "cloudcx-ticket-created.json",
            format!("?token={}", secret(Platform::CloudCx)),
        ),
    ];
    for (platform, file, query) in cases {
        let url = format!("{base}/webhooks/{}/demo{query}", platform.as_str());
        let sent = chat_admin(
            &session,
            &format!("webhooks/{}", platform.as_str()),
            json!({"url": url, "secret": secret(platform), "body": sample(file)}),
        )
        .await;
        assert_eq!(sent["status"], 202, "{platform}: {sent}");
        // The same body with another secret is refused.
        let forged = chat_admin(
            &session,
            &format!("webhooks/{}", platform.as_str()),
            json!({"url": url, "secret": "not-the-tenants", "body": sample(file)}),
        )
        .await;
        if platform != Platform::CloudCx {
            assert_eq!(forged["status"], 401, "{platform}: {forged}");
        }
    }
    session.stop().await;
}
