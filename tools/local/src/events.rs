//! The sample events in events/: generated from the raw payloads and the demo tenant, so
//! they are signed exactly as each platform signs and cannot drift (a test regenerates them).

use crate::host::{http_event, http_event_json, match_route};
use crate::stack::{HttpRoute, Plan};
use shared::platforms::{self, Platform};
use shared::tenant::TenantFile;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// The fixed signing time of the samples (Tidio signs a timestamp; replaying a sample later
/// needs a clock set to this instant, or a fresh signature from `chatsync send`).
pub const SAMPLE_SIGNED_AT: i64 = 1_767_225_600;

/// The platform a payload file is for, from its name (`intercom-….json`).
/// The payload whose first event the SQS sample events carry.
const SQS_SAMPLE: &str = "intercom-conversation-user-created";

pub fn platform_of(file_name: &str) -> Option<Platform> {
    let prefix = file_name.split('-').next()?;
    prefix.parse().ok()
}

/// Headers and URL for a signed delivery of `body` to the demo tenant.
pub fn signed_request(
    platform: Platform,
    tenant: &TenantFile,
    body: &[u8],
    now: OffsetDateTime,
) -> Option<(Vec<(String, String)>, String)> {
    let secret = tenant.secrets.webhooks.for_platform(platform).first()?;
    let sig = platforms::sign(platform, secret.expose(), body, now);
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    headers.extend(sig.headers.into_iter().map(|(k, v)| (k.to_lowercase(), v)));
    let mut path = format!("/webhooks/{}/{}", platform, tenant.config.tenant_id);
    if let Some(token) = sig.query_token {
        path.push_str("?token=");
        path.push_str(&token);
    }
    Some((headers, path))
}

/// The API Gateway v2 event for a signed POST of `body`, with fixed ids and times.
pub fn apigw_event(
    platform: Platform,
    tenant: &TenantFile,
    body: &str,
) -> Option<serde_json::Value> {
    let signed_at = OffsetDateTime::from_unix_timestamp(SAMPLE_SIGNED_AT).ok()?;
    let (headers, path) = signed_request(platform, tenant, body.as_bytes(), signed_at)?;
    let uri: http::Uri = path.parse().ok()?;
    let mut map = http::HeaderMap::new();
    for (k, v) in &headers {
        map.insert(
            http::HeaderName::from_bytes(k.as_bytes()).ok()?,
            v.parse().ok()?,
        );
    }
    map.insert("host", "localhost:3000".parse().ok()?);
    let route = HttpRoute {
        method: "POST".into(),
        path: "/webhooks/{platform}/{tenant}".into(),
    };
    let params = match_route(&route.path, uri.path())?;
    let event = http_event(
        &http::Method::POST,
        &uri,
        &map,
        body.as_bytes(),
        &route,
        params,
    );
    let mut json = http_event_json(&event);
    json["requestContext"]["requestId"] = "sample-request-id".into();
    json["requestContext"]["time"] = "01/Jan/2026:00:00:00 +0000".into();
    json["requestContext"]["timeEpoch"] = (SAMPLE_SIGNED_AT * 1000).into();
    Some(json)
}

/// `events/env.json` for `sam local invoke --env-vars`: each function's variables, pointing
/// at the local stack as a Docker container sees the host. Without `roles` the keys are
/// placeholders: moto enforces IAM, so `make dev` writes a copy with each function's live role
/// session next to its logs.
pub fn env_json(
    plan: &Plan,
    roles: Option<&BTreeMap<String, crate::iam::Credentials>>,
) -> serde_json::Value {
    let mut out = BTreeMap::new();
    for f in &plan.functions {
        let mut vars: BTreeMap<String, String> = f
            .env
            .iter()
            .filter(|(k, _)| !k.starts_with("AWS_LAMBDA_"))
            .map(|(k, v)| {
                let v = v.replace(&plan.settings.endpoint, "http://host.docker.internal:4566");
                (k.clone(), v)
            })
            .collect();
        vars.insert(
            "AWS_ENDPOINT_URL".into(),
            "http://host.docker.internal:4566".into(),
        );
        match roles.and_then(|r| r.get(&f.binary)) {
            Some(role) => vars.extend(role.env()),
            None => {
                vars.insert("AWS_ACCESS_KEY_ID".into(), "from-make-dev-env.json".into());
                vars.insert(
                    "AWS_SECRET_ACCESS_KEY".into(),
                    "from-make-dev-env.json".into(),
                );
            }
        }
        vars.insert("AWS_REGION".into(), plan.settings.region.clone());
        out.insert(f.logical_id.clone(), vars);
    }
    serde_json::to_value(out).unwrap_or_default()
}

/// Pretty JSON with a trailing newline, as the files are stored.
pub fn pretty(value: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(value).unwrap_or_default();
    s.push('\n');
    s
}

/// Every generated sample under `root/events/`, with its expected content.
pub fn sample_files(
    root: &Path,
) -> Result<Vec<(PathBuf, String)>, Box<dyn std::error::Error + Send + Sync>> {
    use crate::session::read_tenant;
    use crate::stack::{self, Settings};
    use crate::template::Template;
    let tenant = read_tenant(&root.join("events/tenants/demo.toml"))?;
    let plan = stack::plan(
        &Template::load(&root.join("template.yaml"))?,
        &Settings::local("http://127.0.0.1:4566"),
    )?;
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    let mut payloads: Vec<PathBuf> = std::fs::read_dir(root.join("events/payloads"))?
        .flatten()
        .map(|e| e.path())
        .collect();
    payloads.sort();
    let mut first_delivery = None;
    for path in payloads {
        let name = path
            .file_stem()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let Some(platform) = platform_of(&name) else {
            continue;
        };
        let body = std::fs::read_to_string(&path)?;
        let event = apigw_event(platform, &tenant, &body).ok_or("cannot sign sample")?;
        files.push((
            root.join(format!("events/apigw/{name}.json")),
            pretty(&event),
        ));
        if name == SQS_SAMPLE {
            first_delivery = Some((platform, body));
        }
    }
    // SQS samples carry a queued delivery as the intake would have written it.
    let (platform, body) = first_delivery
        .ok_or("events/payloads/intercom-conversation-user-created.json is missing")?;
    let accepted = shared::platforms::parse(platform, body.as_bytes())?
        .accepted()
        .ok_or("the SQS sample payload is not a supported topic")?;
    let received = shared::event::Received {
        tenant_id: &tenant.config.tenant_id,
        platform,
        correlation_id: "0123456789abcdef0123456789abcdef",
        received_at: time::OffsetDateTime::from_unix_timestamp(SAMPLE_SIGNED_AT)?,
        body: &body,
    };
    let delivery = shared::event::queue_events(accepted, &received)
        .into_iter()
        .next()
        .ok_or("the SQS sample payload yields no event")?;
    for (queue, name) in [("ResolveQueue", "resolve"), ("WriteQueue", "write")] {
        let q = plan.queue(queue).ok_or("queue missing from template")?;
        let message = serde_json::json!({
            "messageId": format!("00000000-0000-4000-8000-00000000000{}", if name == "resolve" { 1 } else { 2 }),
            "receiptHandle": "sample-receipt-handle",
            "body": serde_json::to_string(&delivery)?,
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": (SAMPLE_SIGNED_AT * 1000).to_string(),
                "SenderId": "AIDAEXAMPLE",
                "ApproximateFirstReceiveTimestamp": (SAMPLE_SIGNED_AT * 1000).to_string(),
                "MessageGroupId": delivery.group_id(),
                "MessageDeduplicationId": delivery.dedupe_id(),
                "SequenceNumber": "18849496460467696128"
            },
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": q.arn,
            "awsRegion": plan.settings.region
        });
        files.push((
            root.join(format!("events/sqs/{name}.json")),
            pretty(&serde_json::json!({"Records": [message]})),
        ));
    }
    let schedule = serde_json::json!({
        "version": "0",
        "id": "00000000-0000-4000-8000-000000000003",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": stack::LOCAL_ACCOUNT,
        "time": "2026-01-01T00:00:00Z",
        "region": plan.settings.region,
        "resources": [format!("arn:aws:events:{}:{}:rule/chatsync-local-RetryDrainerFunction", plan.settings.region, stack::LOCAL_ACCOUNT)],
        "detail": {}
    });
    files.push((root.join("events/schedule/drainer.json"), pretty(&schedule)));
    files.push((root.join("events/env.json"), pretty(&env_json(&plan, None))));

    Ok(files)
}
