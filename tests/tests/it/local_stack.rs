//! The local stack is derived from template.yaml: every queue and table the template declares
//! exists in moto with the template's settings, and nothing is listed twice.

use aws_sdk_sqs::types::QueueAttributeName;
use chatsync_tests::{LocalAws, repo_root};
use serde_yaml_ng::Value;

fn template_resources(kind: &str) -> Vec<String> {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let doc: Value = serde_yaml_ng::from_str(&text).unwrap();
    doc["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(id, _)| id.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn every_queue_in_the_template_exists_in_moto_with_its_settings() {
    let aws = LocalAws::start().await;
    let in_template = template_resources("AWS::SQS::Queue");
    let listed = aws.sqs().list_queues().send().await.unwrap();
    let urls = listed.queue_urls();
    assert_eq!(urls.len(), in_template.len(), "moto has {urls:?}");
    for id in &in_template {
        let url = aws.queue_url(id);
        assert!(urls.contains(&url), "{id} ({url}) missing from moto");
        let attrs = aws
            .sqs()
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .unwrap();
        let attrs = attrs.attributes().unwrap();
        assert_eq!(attrs[&QueueAttributeName::FifoQueue], "true", "{id}");
        let spec = aws.plan.queue(id).unwrap();
        assert_eq!(
            attrs[&QueueAttributeName::VisibilityTimeout],
            spec.attributes["VisibilityTimeout"]
        );
        if let Some((dlq, max)) = &spec.redrive {
            let policy: serde_json::Value =
                serde_json::from_str(&attrs[&QueueAttributeName::RedrivePolicy]).unwrap();
            assert_eq!(
                policy["deadLetterTargetArn"],
                aws.plan.queue(dlq).unwrap().arn.as_str()
            );
            assert_eq!(policy["maxReceiveCount"].to_string(), max.to_string());
        }
    }
    aws.moto.stop().await;
}

#[tokio::test]
async fn every_table_in_the_template_exists_in_moto_with_keys_index_and_ttl() {
    let aws = LocalAws::start().await;
    let in_template = template_resources("AWS::DynamoDB::Table");
    let listed = aws.dynamo().list_tables().send().await.unwrap();
    assert_eq!(
        listed.table_names().len(),
        in_template.len(),
        "moto has {:?}",
        listed.table_names()
    );
    for id in &in_template {
        let name = aws.table(id);
        let table = aws
            .dynamo()
            .describe_table()
            .table_name(&name)
            .send()
            .await
            .unwrap();
        let table = table.table().unwrap();
        assert!(!table.key_schema().is_empty(), "{id}");
        let ttl = aws
            .dynamo()
            .describe_time_to_live()
            .table_name(&name)
            .send()
            .await
            .unwrap();
        let ttl = ttl.time_to_live_description().unwrap();
        if id != "TenantsTable" {
            assert_eq!(ttl.attribute_name(), Some("expires_at"), "{id}");
        }
        if id == "SyncLogTable" {
            let gsi: Vec<_> = table
                .global_secondary_indexes()
                .iter()
                .filter_map(|g| g.index_name())
                .collect();
            assert_eq!(gsi, [shared::store::synclog::OPEN_INDEX]);
        }
    }
    aws.moto.stop().await;
}

#[test]
fn no_openssl_anywhere_in_the_dependency_tree() {
    let lock =
        std::fs::read_to_string(repo_root().join("Cargo.lock")).expect("Cargo.lock is committed");
    for banned in ["openssl", "openssl-sys", "native-tls", "hyper-tls"] {
        assert!(
            !lock.contains(&format!("name = \"{banned}\"")),
            "{banned} is in Cargo.lock: TLS must go through rustls only"
        );
    }
    assert!(lock.contains("name = \"rustls\""));
}

#[test]
fn the_sample_events_are_current() {
    let files = chatsync_local::events::sample_files(&repo_root()).expect("samples generate");
    assert!(files.len() >= 8);
    for (path, expected) in files {
        let actual = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            actual == expected,
            "{} is stale: run `make events`",
            path.display()
        );
    }
}
