//! Sealed queue messages under the stack's KMS key, each function signing as its own role:
//! the intake seals, the consumers open, the drainer routes without opening, and a sealed
//! part moved under another message's head does not open.

use chatsync_tests::{LocalAws, contact_event};
use serde_json::Value;
use shared::event::{QueuedHead, Visitor};
use shared::seal::Sealer;

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
