//! IAM is enforced on the local stack as in AWS: each function signs as its own role with the
//! policies SAM gives it, so a call the template does not allow fails here, not first in AWS.

use aws_sdk_dynamodb::types::AttributeValue;
use chatsync_local::events::signed_request;
use chatsync_local::host::{http_event, http_event_json, match_route};
use chatsync_local::stack::HttpRoute;
use chatsync_tests::{LocalAws, repo_root};
use shared::config::Env;
use shared::platforms::Platform;
use time::OffsetDateTime;

fn code<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or("no code").to_owned()
}

#[tokio::test]
async fn a_function_may_make_only_the_calls_its_role_allows() {
    let aws = LocalAws::start().await;
    let intake = aws.role("webhook-intake");
    let dynamo = aws_sdk_dynamodb::Client::new(intake);
    let key = |v: &str| {
        [
            ("tenant_id".to_owned(), AttributeValue::S(v.into())),
            ("link_key".to_owned(), AttributeValue::S(v.into())),
        ]
        .into_iter()
        .collect::<std::collections::HashMap<_, _>>()
    };

    // Allowed: the intake reads tenants.
    dynamo
        .get_item()
        .table_name(aws.table("TenantsTable"))
        .key("tenant_id", AttributeValue::S("nobody".into()))
        .send()
        .await
        .expect("the intake may read the tenants table");
    // Denied: another table, and another action on an allowed table.
    let denied = dynamo
        .put_item()
        .table_name(aws.table("LinksTable"))
        .set_item(Some(key("x")))
        .send()
        .await
        .expect_err("the intake may not write links");
    assert_eq!(code(&denied), "AccessDeniedException");
    let denied = dynamo
        .delete_item()
        .table_name(aws.table("TenantsTable"))
        .key("tenant_id", AttributeValue::S("nobody".into()))
        .send()
        .await
        .expect_err("the intake may not delete tenants");
    assert_eq!(code(&denied), "AccessDeniedException");

    // Queues: its own target only.
    let sqs = aws_sdk_sqs::Client::new(intake);
    let to = |q: &str| {
        sqs.send_message()
            .queue_url(aws.queue_url(q))
            .message_body("{}")
            .message_group_id("g")
            .message_deduplication_id("d")
            .send()
    };
    to("ResolveQueue")
        .await
        .expect("the intake may queue for the resolver");
    let denied = to("WriteQueue")
        .await
        .expect_err("the intake may not skip the resolver");
    assert!(
        aws_sdk_sqs::error::DisplayErrorContext(&denied)
            .to_string()
            .contains("AccessDenied"),
        "{}",
        aws_sdk_sqs::error::DisplayErrorContext(&denied)
    );

    // Secrets: each function reads only its own kind, under the stack's tenant prefix.
    let operator = aws_sdk_secretsmanager::Client::new(&aws.sdk);
    for name in [
        "chatsync-local/tenants/t1/webhooks",
        "chatsync-local/tenants/t1/salesforce",
        "elsewhere/t1/webhooks",
    ] {
        operator
            .create_secret()
            .name(name)
            .secret_string("{}")
            .send()
            .await
            .unwrap();
    }
    let read = async |binary: &str, name: &str| {
        aws_sdk_secretsmanager::Client::new(aws.role(binary))
            .get_secret_value()
            .secret_id(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| code(&e))
    };
    let denied = Err("AccessDeniedException".to_owned());
    assert_eq!(
        read("webhook-intake", "chatsync-local/tenants/t1/webhooks").await,
        Ok(())
    );
    assert_eq!(
        read("webhook-intake", "chatsync-local/tenants/t1/salesforce").await,
        denied
    );
    assert_eq!(
        read("webhook-intake", "elsewhere/t1/webhooks").await,
        denied
    );
    for consumer in ["identity-resolver", "case-writer"] {
        assert_eq!(
            read(consumer, "chatsync-local/tenants/t1/salesforce").await,
            Ok(())
        );
        assert_eq!(
            read(consumer, "chatsync-local/tenants/t1/webhooks").await,
            denied
        );
    }
    assert_eq!(
        read("retry-drainer", "chatsync-local/tenants/t1/salesforce").await,
        denied
    );

    // Unknown keys are refused outright.
    let stranger = chatsync_local::procs::sdk_config(
        &aws.moto.endpoint(),
        &chatsync_local::iam::Credentials::unenforced(),
    )
    .await;
    let refused = aws_sdk_dynamodb::Client::new(&stranger)
        .list_tables()
        .send()
        .await
        .expect_err("unknown keys are refused");
    assert_eq!(code(&refused), "UnrecognizedClientException");
    aws.moto.stop().await;
}

/// The template with one statement's action replaced.
fn template_without(action_line: &str, replacement: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    assert_eq!(
        text.matches(action_line).count(),
        1,
        "{action_line} is not one line of the template"
    );
    let path = std::env::temp_dir().join(format!("chatsync-iam-{}.yaml", uuid::Uuid::new_v4()));
    std::fs::write(&path, text.replace(action_line, replacement)).unwrap();
    path
}

#[tokio::test]
async fn a_permission_removed_from_the_template_fails_the_suite_that_needs_it() {
    // GIVEN the template without the intake's permission to queue for the resolver
    let path = template_without(
        "            - Sid: QueueForResolve\n              Effect: Allow\n              Action: [sqs:SendMessage]",
        "            - Sid: QueueForResolve\n              Effect: Allow\n              Action: [sqs:GetQueueAttributes]",
    );
    let aws = LocalAws::start_with_template(&path).await;
    let _ = std::fs::remove_file(&path);
    let tenant = aws.load_demo_tenant().await;
    let intake = webhook_intake::Intake::from_env(
        aws.role("webhook-intake"),
        &Env::from_map(aws.env("webhook-intake")),
    )
    .unwrap();

    // WHEN a signed delivery arrives
    let body =
        std::fs::read(repo_root().join("events/payloads/intercom-conversation-user-created.json"))
            .unwrap();
    let (headers, uri) = signed_request(
        Platform::Intercom,
        &tenant,
        &body,
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    let route = HttpRoute {
        method: "POST".into(),
        path: "/webhooks/{platform}/{tenant}".into(),
    };
    let uri: http::Uri = uri.parse().unwrap();
    let mut map = http::HeaderMap::new();
    for (k, v) in &headers {
        map.insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    let params = match_route(&route.path, uri.path()).unwrap_or_default();
    let event = http_event(&http::Method::POST, &uri, &map, &body, &route, params);
    let request = lambda_http::request::from_str(&http_event_json(&event).to_string()).unwrap();
    let response = webhook_intake::handle(&intake, request).await.unwrap();

    // THEN it is not accepted, nothing is queued, and the reason is AccessDenied
    assert!(
        response.status().is_server_error(),
        "{:?}",
        response.status()
    );
    let queue = shared::store::queue::FifoQueue::new(
        aws_sdk_sqs::Client::new(aws.role("webhook-intake")),
        aws.queue_url("ResolveQueue"),
    );
    let err = queue
        .send("g", "d", "{}")
        .await
        .expect_err("the role may not send");
    assert!(err.to_string().contains("AccessDenied"), "{err}");
    assert_eq!(aws.visible("ResolveQueue").await, 0);
    aws.moto.stop().await;
}

#[tokio::test]
async fn a_tenants_secret_is_two_and_a_pre_split_one_is_copied_into_them() {
    use shared::store::secrets::{Part, TenantSecretStore};
    let aws = LocalAws::start().await;
    let tenant = aws.load_demo_tenant().await;
    let prefix = aws.env("webhook-intake")["TENANT_SECRET_PREFIX"].clone();
    let store = TenantSecretStore::new(aws_sdk_secretsmanager::Client::new(&aws.sdk), &prefix);
    // Each part holds only its own half.
    let webhooks = store.webhooks("demo").await.unwrap().unwrap();
    assert_eq!(webhooks.webhooks, tenant.secrets.webhooks);
    assert!(webhooks.salesforce.is_none() && webhooks.platform_api.is_none());
    let salesforce = store.salesforce("demo").await.unwrap().unwrap();
    assert_eq!(salesforce.salesforce, tenant.secrets.salesforce);
    assert_eq!(salesforce.webhooks, Default::default());
    assert_eq!(store.get("demo").await.unwrap().unwrap(), tenant.secrets);

    // A stack from before the split: one secret, copied into the two on request.
    let operator = aws_sdk_secretsmanager::Client::new(&aws.sdk);
    operator
        .create_secret()
        .name(store.legacy_secret_name("old"))
        .secret_string(serde_json::to_string(&tenant.secrets).unwrap())
        .send()
        .await
        .unwrap();
    assert!(store.get("old").await.unwrap().is_none());
    assert!(store.split_legacy("old").await.unwrap());
    assert_eq!(store.get("old").await.unwrap().unwrap(), tenant.secrets);
    assert!(!store.split_legacy("nobody").await.unwrap());
    assert!(
        store
            .secret_name("old", Part::Webhooks)
            .ends_with("/old/webhooks")
    );
    aws.moto.stop().await;
}
