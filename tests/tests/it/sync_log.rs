//! The sync log in DynamoDB: a parked event's review item is the only copy of that event, so
//! it never expires while open; closing it starts its retention.

use aws_sdk_dynamodb::types::AttributeValue;
use chatsync_tests::LocalAws;
use shared::store::synclog::SyncLogTable;
use shared::synclog::{Outcome, Step, SyncLogEntry};
use time::OffsetDateTime;

#[tokio::test]
async fn an_open_review_item_never_expires_and_closing_it_starts_its_retention() {
    let aws = LocalAws::start().await;
    let log = SyncLogTable::new(aws.dynamo(), aws.table("SyncLogTable"));
    let parked = SyncLogEntry::new(
        "c-open",
        "demo",
        None,
        Step::Park,
        Outcome::Parked,
        "parked",
    )
    .payload("{}");
    let written = SyncLogEntry::new("c-open", "demo", None, Step::Write, Outcome::Ok, "written");
    log.append(&parked, 2).await.unwrap();
    log.append(&written, 2).await.unwrap();

    let items = || async {
        aws.dynamo()
            .query()
            .table_name(aws.table("SyncLogTable"))
            .key_condition_expression("pk = :c")
            .expression_attribute_values(":c", AttributeValue::S("c-open".into()))
            .send()
            .await
            .unwrap()
            .items
            .unwrap_or_default()
    };
    let expiry = |item: &std::collections::HashMap<String, AttributeValue>| {
        item.get("expires_at")
            .map(|v| v.as_n().unwrap().parse::<i64>().unwrap())
    };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    for item in items().await {
        if item.contains_key("open_tenant") {
            assert_eq!(expiry(&item), None, "an open item has no expiry");
        } else {
            let left = expiry(&item).unwrap() - now;
            assert!((2 * 86_400 - 60..=2 * 86_400).contains(&left), "{left}");
        }
    }

    // Closed a while later: two days from the close, not from the park.
    let open = log.open("demo", 10).await.unwrap();
    assert_eq!(open.len(), 1);
    assert!(log.close(&open[0], "test").await.unwrap());
    let closed = items()
        .await
        .into_iter()
        .find(|i| i.contains_key("closed_at"))
        .unwrap();
    let left = expiry(&closed).unwrap() - OffsetDateTime::now_utc().unix_timestamp();
    assert!((2 * 86_400 - 60..=2 * 86_400).contains(&left), "{left}");
    assert!(log.open("demo", 10).await.unwrap().is_empty());
    aws.moto.stop().await;
}
