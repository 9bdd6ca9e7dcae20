//! The queue consumers against real AWS APIs (moto): the resolver keeps FIFO order under
//! partial failures, the writer records its step, the drainer parks without losing anything,
//! and the sample SQS and schedule events run through their handlers.

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use chatsync_tests::{LocalAws, repo_root};
use lambda_runtime::{Context, LambdaEvent};
use shared::config::Env;
use shared::event::{Event, EventKind, QueuedEvent, RawPayload, SCHEMA_VERSION};
use shared::platforms::Platform;
use time::OffsetDateTime;

fn delivery(id: &str, conversation: &str) -> QueuedEvent {
    QueuedEvent {
        schema: SCHEMA_VERSION,
        correlation_id: format!("corr-{id}"),
        tenant_id: "demo".into(),
        platform: Platform::Intercom,
        delivery_id: id.into(),
        index: 0,
        count: 1,
        topic: "conversation.admin.closed".into(),
        conversation_key: conversation.into(),
        occurred_at: OffsetDateTime::now_utc(),
        received_at: OffsetDateTime::now_utc(),
        event: Event::new(EventKind::Closed),
        raw: RawPayload::of("{}"),
        resolution: None,
    }
}

fn record(message_id: &str, group: &str, body: &str) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(message_id.into());
    m.body = Some(body.into());
    m.attributes.insert("MessageGroupId".into(), group.into());
    m.attributes
        .insert("ApproximateReceiveCount".into(), "1".into());
    m
}

fn batch(records: Vec<SqsMessage>) -> LambdaEvent<SqsEvent> {
    let mut event = SqsEvent::default();
    event.records = records;
    LambdaEvent::new(event, Context::default())
}

#[tokio::test]
async fn a_failed_message_holds_back_the_rest_of_its_conversation_only() {
    let aws = LocalAws::start().await;
    aws.load_demo_tenant().await;
    let resolver = identity_resolver::Function::from_env(
        aws.role("identity-resolver"),
        &Env::from_map(aws.env("identity-resolver")),
    )
    .unwrap();
    let a1 = delivery("a1", "conversation:a");
    let a2 = delivery("a2", "conversation:a");
    let b1 = delivery("b1", "conversation:b");
    let json = |d: &QueuedEvent| serde_json::to_string(d).unwrap();
    // GIVEN a batch where the first message of conversation c is unreadable
    let event = batch(vec![
        record("m1", &a1.group_id(), &json(&a1)),
        record("m2", "demo:intercom:conversation:c", "not a delivery"),
        record("m3", &b1.group_id(), &json(&b1)),
        record(
            "m4",
            "demo:intercom:conversation:c",
            &json(&delivery("c2", "conversation:c")),
        ),
        record("m5", &a2.group_id(), &json(&a2)),
    ]);
    let response = identity_resolver::handle(&resolver, event).await.unwrap();
    // THEN the bad message and the later one of its group are reported; the rest moved on
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["m2", "m4"]);
    assert_eq!(aws.visible("WriteQueue").await, 3);
    aws.moto.stop().await;
}

#[tokio::test]
async fn the_drainer_parks_dead_letters_as_review_items_and_empties_the_dlqs() {
    let aws = LocalAws::start().await;
    aws.load_demo_tenant().await;
    let drainer = retry_drainer::Function::from_env(
        aws.role("retry-drainer"),
        &Env::from_map(aws.env("retry-drainer")),
    )
    .unwrap();
    let d = delivery("dead-1", "conversation:x");
    let body = serde_json::to_string(&d).unwrap();
    aws.sqs()
        .send_message()
        .queue_url(aws.queue_url("ResolveDeadLetterQueue"))
        .message_group_id(d.group_id())
        .message_deduplication_id(d.dedupe_id())
        .message_body(&body)
        .send()
        .await
        .unwrap();
    aws.sqs()
        .send_message()
        .queue_url(aws.queue_url("WriteDeadLetterQueue"))
        .message_group_id("g")
        .message_deduplication_id("x")
        .message_body("garbage")
        .send()
        .await
        .unwrap();
    // A second dead letter whose recorded failures were transient: it goes back, not to review.
    let t = delivery("dead-2", "conversation:y");
    aws.sqs()
        .send_message()
        .queue_url(aws.queue_url("ResolveDeadLetterQueue"))
        .message_group_id(t.group_id())
        .message_deduplication_id(t.dedupe_id())
        .message_body(serde_json::to_string(&t).unwrap())
        .send()
        .await
        .unwrap();
    // Two that failed on the tenant's setup: one before the tenant was last saved (fixed
    // since), one after (still broken).
    let fixed = delivery("dead-3", "conversation:z");
    let broken = delivery("dead-4", "conversation:w");
    for d in [&fixed, &broken] {
        aws.sqs()
            .send_message()
            .queue_url(aws.queue_url("ResolveDeadLetterQueue"))
            .message_group_id(d.group_id())
            .message_deduplication_id(d.dedupe_id())
            .message_body(serde_json::to_string(d).unwrap())
            .send()
            .await
            .unwrap();
    }
    // The tenant was saved two minutes ago (the functions have read it since).
    let now = time::OffsetDateTime::now_utc();
    let saved = now - time::Duration::minutes(2);
    aws.dynamo()
        .update_item()
        .table_name(aws.table("TenantsTable"))
        .key(
            "tenant_id",
            aws_sdk_dynamodb::types::AttributeValue::S("demo".into()),
        )
        .update_expression("SET updated_at = :at")
        .expression_attribute_values(
            ":at",
            aws_sdk_dynamodb::types::AttributeValue::S(shared::rfc3339(saved)),
        )
        .send()
        .await
        .unwrap();
    // What the resolver recorded when they failed: data for the first, transient for the
    // second; the last two were parked for the tenant's setup (their review items are open),
    // one before the save (fixed since), one after (still broken).
    let log = shared::store::synclog::SyncLogTable::new(aws.dynamo(), aws.table("SyncLogTable"));
    use shared::error::ErrorClass;
    use shared::synclog::Outcome;
    for (d, class, outcome, at) in [
        (&d, ErrorClass::Data, Outcome::Error, now),
        (&t, ErrorClass::Transient, Outcome::Error, now),
        (
            &fixed,
            ErrorClass::Configuration,
            Outcome::Parked,
            saved - time::Duration::minutes(5),
        ),
        (&broken, ErrorClass::Configuration, Outcome::Parked, now),
    ] {
        let mut failed = shared::synclog::SyncLogEntry::new(
            &d.correlation_id,
            &d.tenant_id,
            d.platform,
            shared::synclog::Step::Resolve,
            outcome,
            "failed",
        )
        .error_class(class);
        if outcome == Outcome::Parked {
            failed = failed.payload(&serde_json::to_string(d).unwrap());
        }
        failed.at = at;
        log.append(&failed, 30).await.unwrap();
    }

    let schedule: aws_lambda_events::cloudwatch_events::CloudWatchEvent = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("events/schedule/drainer.json")).unwrap(),
    )
    .unwrap();
    let report = retry_drainer::handle(&drainer, LambdaEvent::new(schedule, Context::default()))
        .await
        .unwrap();
    assert_eq!(
        report,
        retry_drainer::DrainReport {
            parked: 3,
            redriven: 2,
            failed: 0,
            flushed: 0,
            open_review_items: 3,
        }
    );
    assert_eq!(aws.visible("ResolveDeadLetterQueue").await, 0);
    assert_eq!(aws.visible("WriteDeadLetterQueue").await, 0);
    let back = aws.peek("ResolveQueue").await;
    let mut groups: Vec<&str> = back
        .iter()
        .filter_map(|m| {
            m.attributes()
                .and_then(|a| {
                    a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId)
                })
                .map(String::as_str)
        })
        .collect();
    groups.sort_unstable();
    let mut expected = [t.group_id(), fixed.group_id()];
    expected.sort_unstable();
    assert_eq!(
        groups, expected,
        "the transient one and the one whose tenant was fixed are back, in their groups"
    );

    let mut open = log.open("demo", 10).await.unwrap();
    let mut ids: Vec<&str> = open.iter().map(|o| o.correlation_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        ["corr-dead-1", "corr-dead-4"],
        "data and still-broken config parked, each once; the redriven one's item closed"
    );
    open.retain(|o| o.correlation_id == "corr-dead-1");
    assert_eq!(
        open[0].payload.as_deref(),
        Some(body.as_str()),
        "the payload is kept for replay"
    );
    assert!(open[0].detail.contains("resolve"));
    assert_eq!(
        (open[0].replay_to, open[0].group_id.as_deref()),
        (
            Some(shared::synclog::Stage::Resolve),
            Some(d.group_id().as_str())
        ),
        "a replay goes back to the queue and group it came from"
    );
    assert_eq!(
        log.open(retry_drainer::UNKNOWN_TENANT, 10)
            .await
            .unwrap()
            .len(),
        1,
        "unreadable messages are kept too"
    );
    aws.moto.stop().await;
}

#[tokio::test]
async fn a_writer_near_its_deadline_starts_nothing_and_fails_no_event() {
    let aws = LocalAws::start().await;
    aws.load_demo_tenant_with_salesforce().await;
    let event: SqsEvent = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("events/sqs/write.json")).unwrap(),
    )
    .unwrap();
    let writer = case_writer::Function::from_env(
        aws.role("case-writer"),
        &Env::from_map(aws.env("case-writer")),
    )
    .unwrap();
    // Ten seconds left of the invocation: less than one conversation's write may take.
    let mut context = Context::default();
    let now_ms = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    context.deadline = u64::try_from(now_ms).unwrap() + 10_000;
    let w = case_writer::handle(&writer, LambdaEvent::new(event.clone(), context))
        .await
        .unwrap();
    // Every message is handed back to SQS, nothing was written or logged as a failure.
    let ids: Vec<_> = w
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    let sent: Vec<_> = event
        .records
        .iter()
        .filter_map(|r| r.message_id.clone())
        .collect();
    assert_eq!(ids, sent);
    assert_eq!(writer.salesforce_calls(), 0);
    assert_eq!(aws.count("SyncLogTable").await, 0);
    aws.moto.stop().await;
}

#[tokio::test]
async fn the_sample_sqs_events_run_through_the_resolver_and_writer() {
    let aws = LocalAws::start().await;
    aws.load_demo_tenant_with_salesforce().await;
    let read = |name: &str| -> SqsEvent {
        serde_json::from_str(
            &std::fs::read_to_string(repo_root().join("events/sqs").join(name)).unwrap(),
        )
        .unwrap()
    };
    let resolver = identity_resolver::Function::from_env(
        aws.role("identity-resolver"),
        &Env::from_map(aws.env("identity-resolver")),
    )
    .unwrap();
    let r = identity_resolver::handle(
        &resolver,
        LambdaEvent::new(read("resolve.json"), Context::default()),
    )
    .await
    .unwrap();
    assert!(r.batch_item_failures.is_empty());
    assert_eq!(aws.visible("WriteQueue").await, 1);

    let writer = case_writer::Function::from_env(
        aws.role("case-writer"),
        &Env::from_map(aws.env("case-writer")),
    )
    .unwrap();
    let w = case_writer::handle(
        &writer,
        LambdaEvent::new(read("write.json"), Context::default()),
    )
    .await
    .unwrap();
    assert!(w.batch_item_failures.is_empty());
    let log = shared::store::synclog::SyncLogTable::new(aws.dynamo(), aws.table("SyncLogTable"));
    let trail = log.trail("0123456789abcdef0123456789abcdef").await.unwrap();
    let steps: Vec<_> = trail.iter().map(|e| e.step).collect();
    assert!(
        steps.contains(&shared::synclog::Step::Resolve)
            && steps.contains(&shared::synclog::Step::Write),
        "{steps:?}"
    );
    aws.moto.stop().await;
}

#[tokio::test]
async fn a_function_without_its_configuration_says_which_variable_is_missing() {
    let empty = Default::default();
    let sdk = chatsync_local::procs::sdk_config(
        "http://127.0.0.1:9",
        &chatsync_local::iam::Credentials::unenforced(),
    )
    .await;
    let err = webhook_intake::Intake::from_env(&sdk, &Env::from_map(&empty))
        .err()
        .unwrap();
    assert!(err.to_string().contains("TENANTS_TABLE"), "{err}");
}
