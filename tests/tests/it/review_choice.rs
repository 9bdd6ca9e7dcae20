//! An operator settles an ambiguous identity with `chatsync resolve`: the choice becomes the
//! visitor's link and the parked event goes through again, linked, without a Salesforce call.

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use chatsync_tests::{LocalAws, bin_dir, contact_event};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use shared::config::Env;
use shared::event::resolution::Outcome;
use shared::event::{QueuedEvent, Visitor};
use shared::synclog::Step;

fn batch(body: String) -> LambdaEvent<SqsEvent> {
    let mut record = SqsMessage::default();
    record.message_id = Some("m1".into());
    record.body = Some(body);
    let mut event = SqsEvent::default();
    event.records = vec![record];
    LambdaEvent::new(event, Context::default())
}

async fn receive(aws: &LocalAws, queue: &str) -> Vec<String> {
    let out = aws
        .sqs()
        .receive_message()
        .queue_url(aws.queue_url(queue))
        .max_number_of_messages(10)
        .visibility_timeout(300)
        .send()
        .await
        .unwrap();
    out.messages
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.body)
        .collect()
}

#[tokio::test]
async fn an_operators_choice_becomes_the_link_and_the_event_goes_through() {
    let aws = LocalAws::start().await;
    let (_, salesforce) = aws.load_demo_tenant_with_salesforce().await;
    let http = reqwest::Client::new();
    let seeded: Value = http
        .post(format!("{salesforce}/__emulator/seed"))
        .json(&json!({"Contact": [
            {"LastName": "Smith", "Email": "sam@example.com"},
            {"LastName": "Smith", "Email": "sam@example.com"}
        ]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let chosen = seeded["Contact"][1].as_str().unwrap().to_owned();
    let env = aws.env("identity-resolver").clone();
    let resolver =
        identity_resolver::Function::from_env(aws.role("identity-resolver"), &Env::from_map(&env))
            .unwrap();

    // GIVEN an event parked because two Contacts share the visitor's e-mail
    let queued = contact_event(
        "demo",
        "review-1",
        Visitor {
            contact_id: Some("ic-77".into()),
            email: Some("sam@example.com".into()),
            ..Visitor::default()
        },
    );
    let out = identity_resolver::handle(&resolver, batch(serde_json::to_string(&queued).unwrap()))
        .await
        .unwrap();
    assert!(out.batch_item_failures.is_empty());
    assert!(
        receive(&aws, "WriteQueue").await.is_empty(),
        "parked, not forwarded"
    );

    // WHEN the operator chooses the second Contact
    let intake_env = aws.env("webhook-intake");
    let cli = async |args: &[&str]| {
        let out = tokio::process::Command::new(bin_dir().join("chatsync"))
            .args(args)
            .envs(aws.moto.env())
            .env("TENANTS_TABLE", &env["TENANTS_TABLE"])
            .env("SYNC_LOG_TABLE", &env["SYNC_LOG_TABLE"])
            .env("LINKS_TABLE", &env["LINKS_TABLE"])
            .env("RESOLVE_QUEUE_URL", &intake_env["RESOLVE_QUEUE_URL"])
            .env("EVENT_KEY_ARN", &intake_env["EVENT_KEY_ARN"])
            .output()
            .await
            .expect("chatsync runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, text) = cli(&["resolve", "review-1", "--choose", "001000000000001AAA"]).await;
    assert_eq!(code, Some(2), "an Account Id is no person: {text}");
    let (code, text) = cli(&["resolve", "no-such-review", "--choose", &chosen]).await;
    assert_eq!(code, Some(3), "{text}");
    let (code, text) = cli(&["resolve", "review-1", "--choose", &chosen]).await;
    assert_eq!(code, Some(0), "{text}");

    // THEN the event is queued again and resolves to the chosen Contact by its link
    let again = receive(&aws, "ResolveQueue").await;
    assert_eq!(again.len(), 1);
    let calls = |v: Value| v["api_calls"].as_u64().unwrap();
    let stats = |u: String| async move {
        reqwest::get(u)
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let before = calls(stats(format!("{salesforce}/__emulator/stats")).await);
    let out = identity_resolver::handle(&resolver, batch(again[0].clone()))
        .await
        .unwrap();
    assert!(out.batch_item_failures.is_empty());
    assert_eq!(
        calls(stats(format!("{salesforce}/__emulator/stats")).await),
        before,
        "linked: no Salesforce call"
    );
    let written = receive(&aws, "WriteQueue").await;
    let forwarded: QueuedEvent = aws.open(&written[0]).await;
    let resolution = forwarded.resolution.unwrap();
    assert_eq!(resolution.outcome, Outcome::Linked);
    assert_eq!(resolution.person.unwrap().id, chosen);
    let log = shared::store::synclog::SyncLogTable::new(aws.dynamo(), aws.table("SyncLogTable"));
    let steps: Vec<Step> = log
        .trail("review-1")
        .await
        .unwrap()
        .iter()
        .map(|e| e.step)
        .collect();
    assert!(steps.contains(&Step::Replay), "{steps:?}");
    assert!(
        log.open("demo", 10).await.unwrap().is_empty(),
        "settled: no longer an open review item"
    );
    aws.moto.stop().await;
}
