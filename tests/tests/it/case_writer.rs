//! The case writer end to end: whole Intercom conversations signed and posted to the intake on
//! the local stack (moto, the real binaries under RIE, the Salesforce emulator), and what
//! lands in Salesforce checked record by record.

use chatsync_local::session::Session;
use chatsync_tests::e2e::{self, drain, records, seed};
use chatsync_tests::scenario::{self, Delivery, Visitor};
use serde_json::{Value, json};
use time::OffsetDateTime;

const QUEUE_ID: &str = "00G000000000BILEA2";

async fn start(extra_env: Vec<(String, String)>) -> Session {
    e2e::start(Vec::new(), extra_env).await
}

async fn deliver(session: &Session, deliveries: &[Delivery]) {
    e2e::deliver(session, &e2e::demo_tenant(), deliveries).await;
}

fn visitor(tag: &str) -> Visitor {
    Visitor {
        contact_id: format!("contact-{tag}"),
        name: format!("Ada {tag}"),
        email: format!("ada.{tag}@example.org"),
    }
}

fn key(conversation: &str) -> String {
    format!("demo:intercom:{conversation}")
}

/// What one conversation left in Salesforce.
struct Landed {
    cases: Vec<Value>,
    tasks: Vec<Value>,
}

async fn landed(session: &Session, conversation: &str) -> Landed {
    let key = key(conversation);
    let cases = records(session, "Case")
        .await
        .into_iter()
        .filter(|c| c["Chat_Conversation_Id__c"] == json!(key))
        .collect();
    let prefix = format!("{key}#");
    let tasks = records(session, "Task")
        .await
        .into_iter()
        .filter(|t| {
            t["Chat_Transcript_Key__c"]
                .as_str()
                .is_some_and(|k| k.starts_with(&prefix))
        })
        .collect();
    Landed { cases, tasks }
}

/// The values that must not depend on ids, delivery order or repeats.
fn projection(l: &Landed, conversation: &str) -> Value {
    let strip = |v: &Value| -> Value {
        match v.as_str() {
            Some(s) => json!(s.replace(conversation, "<conversation>")),
            None => v.clone(),
        }
    };
    let case_fields = [
        "Subject",
        "Status",
        "Priority",
        "Origin",
        "Type",
        "OwnerId",
        "ContactId",
        "AccountId",
        "SuppliedEmail",
        "IsClosed",
        "Description",
    ];
    let task_fields = [
        "Subject",
        "Status",
        "Priority",
        "WhoId",
        "OwnerId",
        "TaskSubtype",
        "ActivityDate",
        "Description",
    ];
    json!({
        "cases": l.cases.iter().map(|c| case_fields.iter().map(|f| (f.to_string(), strip(&c[*f]))).collect::<serde_json::Map<_, _>>()).collect::<Vec<_>>(),
        "tasks": l.tasks.iter().map(|t| task_fields.iter().map(|f| (f.to_string(), strip(&t[*f]))).collect::<serde_json::Map<_, _>>()).collect::<Vec<_>>(),
    })
}

/// Checks one conversation's Case and Task field by field.
fn assert_conversation(l: &Landed, conversation: &str, contact_id: &str) {
    assert_eq!(l.cases.len(), 1, "one Case for {conversation}");
    assert_eq!(l.tasks.len(), 1, "one transcript Task for {conversation}");
    let case = &l.cases[0];
    let task = &l.tasks[0];
    assert_eq!(case["Status"], "Closed");
    assert_eq!(case["IsClosed"], true);
    assert_eq!(case["Priority"], "High", "Intercom 'priority' maps to High");
    assert_eq!(case["Type"], "Other", "the billing tag maps to Other");
    assert_eq!(case["OwnerId"], QUEUE_ID, "the team's queue owns the Case");
    assert_eq!(case["Origin"], "Web");
    assert_eq!(case["ContactId"], contact_id);
    assert!(
        case["Subject"]
            .as_str()
            .unwrap()
            .starts_with("Chat with Ada")
    );
    assert_eq!(task["Status"], "Completed");
    assert_eq!(task["Priority"], "High");
    assert_eq!(task["WhatId"], case["Id"]);
    assert_eq!(task["WhoId"], contact_id);
    assert_eq!(task["TaskSubtype"], "Task");
    let transcript = task["Description"].as_str().unwrap();
    let mut from = 0;
    for text in scenario::message_texts(conversation) {
        let expected = text.replace(scenario::CARD, "[card number removed]");
        let at = transcript[from..]
            .find(&expected)
            .unwrap_or_else(|| panic!("{expected:?} in order in the transcript:\n{transcript}"));
        from += at + expected.len();
    }
    assert!(
        !transcript.contains("4111"),
        "the card number never reaches Salesforce"
    );
    assert!(transcript.contains("(internal note)"), "{transcript}");
    assert!(transcript.contains("(visitor)") && transcript.contains("Grace Hopper (agent)"));
}

#[tokio::test]
async fn a_conversation_lands_as_one_case_and_one_task_for_new_and_known_visitors() {
    let session = start(Vec::new()).await;
    let start_at = OffsetDateTime::now_utc().unix_timestamp() - 3600;

    // A new visitor: the resolver creates the Contact, the writer the Case and Task.
    let new = visitor("new");
    let mut deliveries = scenario::intercom_conversation("7001", &new, start_at);
    let close = deliveries.pop().expect("the close");
    deliver(&session, &deliveries).await;
    let (status, answer) = e2e::post_answer(&session, &e2e::demo_tenant(), &close.body).await;
    assert_eq!(status, 202, "{answer}");
    let close_id = answer["correlation_id"]
        .as_str()
        .expect("correlation id")
        .to_owned();
    drain(&session).await;
    let contacts: Vec<Value> = records(&session, "Contact")
        .await
        .into_iter()
        .filter(|c| c["Email"] == json!(new.email))
        .collect();
    assert_eq!(contacts.len(), 1, "one Contact created for the new visitor");
    let contact_id = contacts[0]["Id"].as_str().unwrap().to_owned();
    let l = landed(&session, "7001").await;
    assert_conversation(&l, "7001", &contact_id);
    // `chatsync log` follows the close from the intake to the records it touched.
    let (code, trail) = e2e::cli(&session, &["log", &close_id]).await;
    assert_eq!(code, Some(0), "{trail}");
    for expected in ["intake", "resolve", "write"] {
        assert!(
            trail.contains(expected),
            "{expected} in the trail:\n{trail}"
        );
    }
    for id in [&l.cases[0]["Id"], &l.tasks[0]["Id"]] {
        let id = id.as_str().expect("an id");
        assert!(trail.contains(id), "{id} in the trail:\n{trail}");
    }
    // The write's Salesforce request and answer are kept, compressed, with personal data
    // masked (the demo tenant keeps the default `masked` policy).
    let (code, out) = e2e::cli(&session, &["log", &close_id, "--payloads", "--json"]).await;
    assert_eq!(code, Some(0), "{out}");
    let out: Value = serde_json::from_str(&out).expect("json");
    // The write that landed: an earlier attempt may have failed before calling Salesforce (a
    // retried transient error under load) and then has nothing to keep.
    let write = out["trail"]
        .as_array()
        .expect("trail")
        .iter()
        .find(|e| e["step"] == "write" && e["outcome"] == "ok" && e["payload_ref"].is_string())
        .unwrap_or_else(|| {
            panic!(
                "a successful write step that called Salesforce in {:#}",
                out["trail"]
            )
        });
    let reference = write["payload_ref"].as_str().expect("a payload reference");
    let document = &out["payloads"][reference];
    let exchanges = document["exchanges"].as_array().expect("exchanges");
    assert!(
        exchanges.iter().any(
            |x| x["method"] == "POST" && x["path"].as_str().unwrap_or("").contains("composite")
        ),
        "{document:#}"
    );
    assert!(exchanges.iter().all(|x| x["status"].as_u64().is_some()));
    let text = document.to_string();
    assert!(
        !text.contains(new.email.as_str()),
        "no e-mail in clear:\n{document:#}"
    );
    assert!(
        !text.contains("card number removed") && text.contains("[masked:"),
        "the transcript is masked:\n{document:#}"
    );

    // A known visitor: their Contact is found, nobody is created.
    let known = visitor("known");
    let ids = seed(
        &session,
        json!({"Contact": [{"FirstName": "Ada", "LastName": "Known", "Email": known.email}]}),
    )
    .await;
    let known_id = ids["Contact"][0].as_str().expect("seeded id").to_owned();
    deliver(
        &session,
        &scenario::intercom_conversation("7002", &known, start_at),
    )
    .await;
    drain(&session).await;
    let same_email = records(&session, "Contact")
        .await
        .into_iter()
        .filter(|c| c["Email"] == json!(known.email))
        .count();
    assert_eq!(same_email, 1, "no second Contact for a known visitor");
    assert_conversation(&landed(&session, "7002").await, "7002", &known_id);
    assert_eq!(session.host.invocation_errors(), 0);
    session.stop().await;
}

/// The deliveries in a fixed scrambled order (a permutation that moves every one).
fn scrambled(mut deliveries: Vec<Delivery>) -> Vec<Delivery> {
    let n = deliveries.len();
    let mut out = Vec::with_capacity(n);
    // 7 is coprime with 11: i*7 mod 11 visits every index once.
    let order: Vec<usize> = (0..n).map(|i| (i * 7 + 3) % n).collect();
    let mut taken: Vec<Option<Delivery>> = deliveries.drain(..).map(Some).collect();
    for i in order {
        if let Some(d) = taken[i].take() {
            out.push(d);
        }
    }
    out
}

/// The same event sent again under a new notification id, as a platform re-emitting it would.
fn re_emitted(d: &Delivery, n: usize) -> Delivery {
    let mut body: Value = serde_json::from_slice(&d.body).unwrap();
    let id = body["id"].as_str().unwrap().to_owned();
    body["id"] = json!(format!("{id}_again{n}"));
    Delivery {
        step: d.step,
        body: serde_json::to_vec(&body).unwrap(),
    }
}

#[tokio::test]
async fn repeated_and_reordered_deliveries_leave_the_same_records() {
    let session = start(Vec::new()).await;
    let start_at = OffsetDateTime::now_utc().unix_timestamp() - 3600;
    let v = visitor("order");

    let in_order = scenario::intercom_conversation("7101", &v, start_at);
    deliver(&session, &in_order).await;
    drain(&session).await;

    // Three times each: the same delivery (the intake answers duplicate) and the same event
    // re-emitted under new ids (the writer sees it three times).
    let repeated = scenario::intercom_conversation("7102", &v, start_at);
    for d in &repeated {
        deliver(
            &session,
            &[d.clone(), d.clone(), re_emitted(d, 1), re_emitted(d, 2)],
        )
        .await;
    }
    drain(&session).await;

    let reordered = scrambled(scenario::intercom_conversation("7103", &v, start_at));
    assert_ne!(reordered[0].step, "started");
    deliver(&session, &reordered).await;
    drain(&session).await;

    let contact_id = records(&session, "Contact")
        .await
        .into_iter()
        .find(|c| c["Email"] == json!(v.email))
        .and_then(|c| c["Id"].as_str().map(str::to_owned))
        .expect("the visitor's Contact");
    let mut projections = Vec::new();
    for conversation in ["7101", "7102", "7103"] {
        let l = landed(&session, conversation).await;
        assert_conversation(&l, conversation, &contact_id);
        projections.push(projection(&l, conversation));
    }
    assert_eq!(projections[0], projections[1], "repeats change nothing");
    assert_eq!(
        projections[0], projections[2],
        "delivery order changes nothing"
    );
    session.stop().await;
}

#[tokio::test]
async fn a_writer_crash_after_salesforce_answered_duplicates_nothing() {
    let marker = std::env::temp_dir().join(format!("chatsync-crash-{}", uuid::Uuid::new_v4()));
    let session = start(vec![(
        shared::failpoint::VAR.to_owned(),
        format!("writer-after-salesforce:{}", marker.display()),
    )])
    .await;
    let start_at = OffsetDateTime::now_utc().unix_timestamp() - 3600;
    let v = visitor("crash");
    deliver(
        &session,
        &scenario::intercom_conversation("7201", &v, start_at),
    )
    .await;
    drain(&session).await;
    assert!(
        marker.exists(),
        "the writer crashed once after Salesforce answered"
    );
    let contact_id = records(&session, "Contact")
        .await
        .into_iter()
        .find(|c| c["Email"] == json!(v.email))
        .and_then(|c| c["Id"].as_str().map(str::to_owned))
        .expect("the visitor's Contact");
    assert_conversation(&landed(&session, "7201").await, "7201", &contact_id);
    let _ = std::fs::remove_file(&marker);
    session.stop().await;
}
