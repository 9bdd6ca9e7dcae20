//! The sample events in events/: generated from the raw payloads and the demo tenant, so
//! they are signed exactly as each platform signs and cannot drift (a test regenerates them).

use crate::host::{http_event, match_route};
use crate::stack::{HttpRoute, Plan};
use shared::platforms::{self, Platform};
use shared::tenant::TenantFile;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// The fixed signing time of the samples (Tidio signs a timestamp; replaying a sample later
/// needs a clock set to this instant, or a fresh signature from `chatsync send`).
pub const SAMPLE_SIGNED_AT: i64 = 1_767_225_600;

/// The platform a payload file is for, from its name (`intercom-….json`).
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
pub fn apigw_event(platform: Platform, tenant: &TenantFile, body: &str) -> Option<serde_json::Value> {
    let signed_at = OffsetDateTime::from_unix_timestamp(SAMPLE_SIGNED_AT).ok()?;
    let (headers, path) = signed_request(platform, tenant, body.as_bytes(), signed_at)?;
    let uri: http::Uri = path.parse().ok()?;
    let mut map = http::HeaderMap::new();
    for (k, v) in &headers {
        map.insert(http::HeaderName::from_bytes(k.as_bytes()).ok()?, v.parse().ok()?);
    }
    map.insert("host", "localhost:3000".parse().ok()?);
    let route = HttpRoute {
        method: "POST".into(),
        path: "/webhooks/{platform}/{tenant}".into(),
    };
    let params = match_route(&route.path, uri.path())?;
    let event = http_event(&http::Method::POST, &uri, &map, body.as_bytes(), &route, params);
    let mut json = serde_json::to_value(&event).ok()?;
    json["requestContext"]["requestId"] = "sample-request-id".into();
    json["requestContext"]["time"] = "01/Jan/2026:00:00:00 +0000".into();
    json["requestContext"]["timeEpoch"] = (SAMPLE_SIGNED_AT * 1000).into();
    Some(json)
}

/// `events/env.json` for `sam local invoke --env-vars`: each function's variables, pointing
/// at the local stack as a Docker container sees the host.
pub fn env_json(plan: &Plan) -> serde_json::Value {
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
        vars.insert("AWS_ENDPOINT_URL".into(), "http://host.docker.internal:4566".into());
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
