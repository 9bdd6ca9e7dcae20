//! Sealed queue messages under the stack's KMS key, each function signing as its own role:
//! the intake seals, the consumers open, the drainer routes without opening, and a sealed
//! part moved under another message's head does not open.

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use chatsync_tests::{LocalAws, contact_event};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::Value;
use shared::config::Env;
use shared::error::{Classify, ErrorClass};
use shared::event::{QueuedHead, Visitor};
use shared::seal::Sealer;
use shared::synclog::{Outcome, Stage, Step};

#[tokio::test]
async fn a_sealed_event_opens_only_under_its_own_head_and_for_roles_that_may_decrypt() {
    let aws = LocalAws::start().await;
    let key = aws.plan.keys.first().expect("the event key").arn.clone();
    // A fresh sealer per use: nothing opens from another's cache.
    let sealer = |binary: &str| Sealer::new(aws_sdk_kms::Client::new(aws.role(binary)), &key);
    let event = contact_event(
        "acme",
        "c-seal-1",
        Visitor {
            email: Some("ada.sealed@example.org".into()),
            phone: Some("+15551234567".into()),
            name: Some("Ada Sealed".into()),
            ..Visitor::default()
        },
    );

    // GIVEN an event the intake sealed
    let body = sealer("webhook-intake")
        .seal(&event)
        .await
        .expect("the intake seals");
    for value in [
        "ada.sealed@example.org",
        "+15551234567",
        "Ada Sealed",
        "contact_upserted",
    ] {
        assert!(!body.contains(value), "{value} in clear: {body}");
    }
    // THEN the resolver and the writer open it as it was
    for consumer in ["identity-resolver", "case-writer"] {
        assert_eq!(sealer(consumer).open(&body).await.expect(consumer), event);
    }
    // AND the drainer routes it by its head alone, and may not open it
    let head: QueuedHead = serde_json::from_str(&body).expect("a head in clear");
    assert_eq!(head.group_id(), event.group_id());
    assert_eq!(head.dedupe_id(), event.dedupe_id());
    for cannot in ["retry-drainer", "webhook-intake"] {
        let denied = sealer(cannot).open(&body).await.expect_err(cannot);
        assert!(
            denied.to_string().contains("AccessDenied"),
            "{cannot}: {denied}"
        );
    }

    // AND the sealed part moved under another tenant's or another event's head does not open
    let moved = |field: &str, value: &str| {
        let mut v: Value = serde_json::from_str(&body).unwrap();
        v[field] = Value::from(value);
        v.to_string()
    };
    let writer = sealer("case-writer");
    let other_tenant = writer.open(&moved("tenant_id", "globex")).await;
    assert!(other_tenant.is_err(), "another tenant's head opened it");
    let other_event = writer.open(&moved("correlation_id", "c-other")).await;
    let refused = other_event.expect_err("another event's head opened it");
    assert!(refused.to_string().contains("does not open"), "{refused}");
    assert_eq!(refused.class(), ErrorClass::Data, "no retry opens it");
    // (the whole head is bound: another conversation or topic does not open it either)
    for (field, value) in [("conversation_key", "other"), ("topic", "other.topic")] {
        assert!(writer.open(&moved(field, value)).await.is_err(), "{field}");
    }
    // AND a clear event beside the sealed part is refused, not read
    let mut beside: Value = serde_json::from_str(&body).unwrap();
    beside["event"] = serde_json::to_value(&event.event).unwrap();
    let refused = writer
        .open(&beside.to_string())
        .await
        .expect_err("clear beside sealed");
    assert_eq!(refused.class(), ErrorClass::Data, "{refused}");
    let mut tampered: Value = serde_json::from_str(&body).unwrap();
    let data = tampered["sealed"]["data"].as_str().unwrap().to_owned();
    tampered["sealed"]["data"] = Value::from(format!("AAAA{}", &data[4..]));
    assert!(
        writer.open(&tampered.to_string()).await.is_err(),
        "a tampered part opened"
    );

    // AND a message from before sealing (plain JSON) still reads
    let plain = serde_json::to_string(&event).unwrap();
    assert_eq!(writer.open(&plain).await.expect("plain"), event);
    aws.moto.stop().await;
}

fn batch(bodies: Vec<String>) -> LambdaEvent<SqsEvent> {
    let mut event = SqsEvent::default();
    event.records = bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            let mut record = SqsMessage::default();
            record.message_id = Some(format!("m{i}"));
            record.body = Some(body);
            record
        })
        .collect();
    LambdaEvent::new(event, Context::default())
}

#[tokio::test]
async fn a_message_that_does_not_open_becomes_a_review_item_and_its_conversation_goes_on() {
    let aws = LocalAws::start().await;
    aws.load_demo_tenant().await;
    let sealer = aws.sealer();
    let nobody = Visitor::default();
    // GIVEN a sealed message whose sealed part was tampered with, followed in its
    // conversation by a good one
    let bad = contact_event("demo", "c-bad", nobody.clone());
    let mut tampered: Value = serde_json::from_str(&sealer.seal(&bad).await.unwrap()).unwrap();
    let data = tampered["sealed"]["data"].as_str().unwrap().to_owned();
    tampered["sealed"]["data"] = Value::from(format!("AAAA{}", &data[4..]));
    let mut good = contact_event("demo", "c-good", nobody);
    good.conversation_key.clone_from(&bad.conversation_key);
    assert_eq!(bad.group_id(), good.group_id(), "one conversation");
    let good_body = sealer.seal(&good).await.unwrap();
    let resolver = identity_resolver::Function::from_env(
        aws.role("identity-resolver"),
        &Env::from_map(aws.env("identity-resolver")),
    )
    .unwrap();

    // WHEN the resolver takes both in one batch
    let out = identity_resolver::handle(&resolver, batch(vec![tampered.to_string(), good_body]))
        .await
        .unwrap();

    // THEN neither fails (no retry could open the first), the good one goes on to the writer
    assert!(
        out.batch_item_failures.is_empty(),
        "{:?}",
        out.batch_item_failures
    );
    let written = aws.peek("WriteQueue").await;
    assert_eq!(written.len(), 1);
    let forwarded = aws.open(written[0].body.as_deref().unwrap()).await;
    assert_eq!(forwarded.correlation_id, "c-good");
    // AND the bad one is a review item at once, its sealed body kept for a replay
    let log = shared::store::synclog::SyncLogTable::new(aws.dynamo(), aws.table("SyncLogTable"));
    let trail = log.trail("c-bad").await.unwrap();
    let parked = trail
        .iter()
        .find(|e| e.step == Step::Resolve && e.outcome == Outcome::Parked)
        .expect("a review item");
    assert_eq!(parked.error_class, Some(ErrorClass::Data));
    assert_eq!(parked.replay_to, Some(Stage::Resolve));
    assert_eq!(
        parked.payload.as_deref(),
        Some(tampered.to_string().as_str())
    );
    assert!(parked.detail.contains("not opened"), "{}", parked.detail);

    // AND the writer does the same with one that reaches it
    let writer = case_writer::Function::from_env(
        aws.role("case-writer"),
        &Env::from_map(aws.env("case-writer")),
    )
    .unwrap();
    let out = case_writer::handle(&writer, batch(vec![tampered.to_string()]))
        .await
        .unwrap();
    assert!(
        out.batch_item_failures.is_empty(),
        "{:?}",
        out.batch_item_failures
    );
    let trail = log.trail("c-bad").await.unwrap();
    assert!(
        trail
            .iter()
            .any(|e| e.step == Step::Write && e.outcome == Outcome::Parked),
        "{trail:?}"
    );
    aws.moto.stop().await;
}
