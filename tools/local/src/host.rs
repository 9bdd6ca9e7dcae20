//! The local function host: each function's real binary under RIE, with the event sources the
//! template declares wired as Lambda wires them: an HTTP API on loopback that turns requests
//! into API Gateway HTTP API (v2) events, SQS pollers that deliver batches and apply
//! ReportBatchItemFailures, and the schedule.

use crate::iam::Credentials;
use crate::procs::{FunctionProcess, ProcError, aws_env};
use crate::stack::{FunctionSpec, HttpRoute, Plan, SqsSource};
use aws_lambda_events::apigw::{
    ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext,
    ApiGatewayV2httpRequestContextHttpDescription, ApiGatewayV2httpResponse,
};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, Uri};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct HostOptions {
    pub plan: Plan,
    /// Where the function binaries are (`target/debug` or a release dir).
    pub bin_dir: PathBuf,
    pub rie: PathBuf,
    pub log_dir: PathBuf,
    pub http_addr: SocketAddr,
    pub aws_endpoint: String,
    /// Who the host signs as for its own bookkeeping (queue depths, time compression).
    pub operator: Credentials,
    /// Each function's role session, by binary: the function and its event source mapping
    /// sign with it, as in AWS.
    pub roles: BTreeMap<String, Credentials>,
    /// Extra environment for every function (e.g. the Salesforce emulator's URL).
    pub extra_env: Vec<(String, String)>,
    /// Replaces each schedule's interval (local runs cannot wait 5 minutes); None = as written.
    pub schedule_every: Option<Duration>,
    /// Failed messages come back after this long instead of their queue's visibility timeout
    /// (tests cannot wait six minutes for a redelivery); None = as Lambda does.
    pub retry_after: Option<Duration>,
}

struct Shared {
    plan: Plan,
    retry_after: Option<Duration>,
    functions: BTreeMap<String, Arc<FunctionProcess>>,
    sqs: aws_sdk_sqs::Client,
    /// SQS as each function's role (its event source mapping polls with it).
    role_sqs: BTreeMap<String, aws_sdk_sqs::Client>,
    in_flight: AtomicUsize,
    invocations: AtomicUsize,
    errors: AtomicUsize,
}

/// A running host. `stop` (or drop) ends the pollers, the HTTP server and every function.
pub struct Host {
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    pub http_addr: SocketAddr,
}

impl Host {
    pub async fn start(options: HostOptions) -> Result<Host, ProcError> {
        let sdk = crate::procs::sdk_config(&options.aws_endpoint, &options.operator).await;
        std::fs::create_dir_all(&options.log_dir).map_err(|source| ProcError::Spawn {
            what: options.log_dir.display().to_string(),
            source,
        })?;
        let mut functions = BTreeMap::new();
        let mut role_sqs = BTreeMap::new();
        for spec in &options.plan.functions {
            let role = options
                .roles
                .get(&spec.binary)
                .ok_or_else(|| ProcError::Invoke {
                    function: spec.binary.clone(),
                    message: "no role session for this function".into(),
                })?;
            let role_sdk = crate::procs::sdk_config(&options.aws_endpoint, role).await;
            role_sqs.insert(spec.binary.clone(), aws_sdk_sqs::Client::new(&role_sdk));
            let mut env: Vec<(String, String)> = spec.env.clone().into_iter().collect();
            env.extend(aws_env(&options.aws_endpoint, role));
            env.extend(options.extra_env.iter().cloned());
            env.push((
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(),
                spec.memory_mb.to_string(),
            ));
            let process = FunctionProcess::new(
                &spec.binary,
                &options.bin_dir.join(&spec.binary),
                env,
                &options.rie,
                &options.log_dir,
                Duration::from_secs(spec.timeout_seconds),
            );
            process.start().await?;
            functions.insert(spec.binary.clone(), Arc::new(process));
        }
        let shared = Arc::new(Shared {
            plan: options.plan.clone(),
            retry_after: options.retry_after,
            functions,
            sqs: aws_sdk_sqs::Client::new(&sdk),
            role_sqs,
            in_flight: AtomicUsize::new(0),
            invocations: AtomicUsize::new(0),
            errors: AtomicUsize::new(0),
        });
        let (shutdown, watcher) = watch::channel(false);
        let mut tasks = Vec::new();

        let listener = tokio::net::TcpListener::bind(options.http_addr)
            .await
            .map_err(|source| ProcError::Spawn {
                what: format!("HTTP API on {}", options.http_addr),
                source,
            })?;
        let http_addr = listener.local_addr().unwrap_or(options.http_addr);
        let app = Router::new().fallback(gateway).with_state(shared.clone());
        let mut stop_http = watcher.clone();
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop_http.changed().await;
                })
                .await;
        }));

        for spec in &options.plan.functions {
            for source in &spec.sqs_sources {
                tasks.push(tokio::spawn(poll_queue(
                    shared.clone(),
                    spec.clone(),
                    source.clone(),
                    watcher.clone(),
                )));
            }
            for expression in &spec.schedules {
                let every = match options.schedule_every.or_else(|| rate(expression)) {
                    Some(every) => every,
                    None => {
                        tracing::warn!(function = %spec.binary, expression, "schedule not understood locally; not scheduled");
                        continue;
                    }
                };
                tasks.push(tokio::spawn(run_schedule(
                    shared.clone(),
                    spec.clone(),
                    every,
                    watcher.clone(),
                )));
            }
        }
        Ok(Host {
            shared,
            shutdown,
            tasks,
            http_addr,
        })
    }

    pub fn function(&self, binary: &str) -> Option<Arc<FunctionProcess>> {
        self.shared.functions.get(binary).cloned()
    }

    pub fn functions(&self) -> impl Iterator<Item = &Arc<FunctionProcess>> {
        self.shared.functions.values()
    }

    /// Invokes a scheduled function now, with the event its schedule would send.
    pub async fn run_scheduled(&self, binary: &str) -> Result<serde_json::Value, ProcError> {
        let spec = self
            .shared
            .plan
            .function(binary)
            .cloned()
            .ok_or_else(|| ProcError::Invoke {
                function: binary.into(),
                message: "no such function".into(),
            })?;
        invoke_scheduled(&self.shared, &spec).await
    }

    /// Number of invocations running right now.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    pub fn invocation_errors(&self) -> usize {
        self.shared.errors.load(Ordering::SeqCst)
    }

    /// Messages on the wired queues (visible + in flight + delayed) and invocations running.
    pub async fn pending(&self) -> Result<usize, ProcError> {
        let mut total = self.in_flight();
        for spec in &self.shared.plan.functions {
            for source in &spec.sqs_sources {
                let Some(q) = self.shared.plan.queue(&source.queue_logical_id) else {
                    continue;
                };
                total += queue_depth(&self.shared.sqs, &q.url)
                    .await
                    .map_err(|message| ProcError::Invoke {
                        function: "sqs".into(),
                        message,
                    })?;
            }
        }
        Ok(total)
    }

    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        for f in self.shared.functions.values() {
            f.stop().await;
        }
    }
}

/// `rate(N unit)` as a duration; cron expressions are not run locally.
pub fn rate(expression: &str) -> Option<Duration> {
    let inner = expression.trim().strip_prefix("rate(")?.strip_suffix(')')?;
    let (n, unit) = inner.trim().split_once(' ')?;
    let n: u64 = n.parse().ok()?;
    let seconds = match unit.trim() {
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3600,
        "day" | "days" => 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(n * seconds))
}

async fn invoke_counted(
    shared: &Shared,
    binary: &str,
    payload: &serde_json::Value,
) -> Result<serde_json::Value, ProcError> {
    let function = shared
        .functions
        .get(binary)
        .ok_or_else(|| ProcError::Invoke {
            function: binary.into(),
            message: "not hosted".into(),
        })?;
    shared.in_flight.fetch_add(1, Ordering::SeqCst);
    shared.invocations.fetch_add(1, Ordering::SeqCst);
    let result = function.invoke(payload).await;
    if result.is_err() {
        shared.errors.fetch_add(1, Ordering::SeqCst);
    }
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    result
}

// ------------------------------------------------------------------ HTTP API

/// Matches `/webhooks/{platform}/{tenant}`-style paths; returns the path parameters.
pub fn match_route(template: &str, path: &str) -> Option<HashMap<String, String>> {
    let t: Vec<&str> = template.trim_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_matches('/').split('/').collect();
    if t.len() != p.len() {
        return None;
    }
    let mut params = HashMap::new();
    for (t, p) in t.iter().zip(&p) {
        if let Some(name) = t.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
            if p.is_empty() {
                return None;
            }
            let decoded = percent_decode(p);
            params.insert(name.to_owned(), decoded);
        } else if t != p {
            return None;
        }
    }
    Some(params)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn find_route<'a>(
    plan: &'a Plan,
    method: &Method,
    path: &str,
) -> Option<(&'a FunctionSpec, &'a HttpRoute, HashMap<String, String>)> {
    plan.functions.iter().find_map(|f| {
        f.http_routes.iter().find_map(|r| {
            let method_ok = r.method == "ANY" || r.method == method.as_str();
            match_route(&r.path, path)
                .filter(|_| method_ok)
                .map(|params| (f, r, params))
        })
    })
}

/// Builds the API Gateway HTTP API (payload 2.0) event for a request.
pub fn http_event(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    route: &HttpRoute,
    path_parameters: HashMap<String, String>,
) -> ApiGatewayV2httpRequest {
    let now = chrono::Utc::now();
    let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
    http.method = method.clone();
    http.path = Some(uri.path().to_owned());
    http.protocol = Some("HTTP/1.1".into());
    http.source_ip = Some("127.0.0.1".into());
    http.user_agent = headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let route_key = format!("{} {}", route.method, route.path);
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.route_key = Some(route_key.clone());
    context.account_id = Some(crate::stack::LOCAL_ACCOUNT.into());
    context.stage = Some("$default".into());
    context.request_id = Some(uuid::Uuid::new_v4().to_string());
    context.apiid = Some("local".into());
    context.domain_name = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    context.domain_prefix = Some("local".into());
    context.time = Some(now.format("%d/%b/%Y:%H:%M:%S +0000").to_string());
    context.time_epoch = now.timestamp_millis();
    context.http = http;

    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".into());
    event.route_key = Some(route_key);
    event.raw_path = Some(uri.path().to_owned());
    event.raw_query_string = Some(uri.query().unwrap_or_default().to_owned());
    // HTTP APIs join repeated headers with commas and lower-case the names.
    let mut joined = HeaderMap::new();
    for name in headers.keys() {
        let values: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if let Ok(v) = values.join(",").parse() {
            joined.insert(name.clone(), v);
        }
    }
    event.headers = joined;
    event.query_string_parameters = uri
        .query()
        .map(|q| q.parse().unwrap_or_default())
        .unwrap_or_default();
    event.path_parameters = path_parameters;
    event.request_context = context;
    let textual = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| {
            ct.starts_with("text/")
                || ct.contains("json")
                || ct.contains("xml")
                || ct.contains("x-www-form-urlencoded")
        });
    if !body.is_empty() {
        match std::str::from_utf8(body) {
            Ok(text) if textual => event.body = Some(text.to_owned()),
            _ => {
                event.body = Some(base64::engine::general_purpose::STANDARD.encode(body));
                event.is_base64_encoded = true;
            }
        }
    }
    event
}

/// The event as JSON, without the fields API Gateway v2 never sends (the struct's
/// authorizer-v1 and deprecated fields serialise as nulls or a wrong `httpMethod`).
pub fn http_event_json(event: &ApiGatewayV2httpRequest) -> serde_json::Value {
    let mut json = serde_json::to_value(event).unwrap_or_default();
    if let Some(map) = json.as_object_mut() {
        for key in [
            "authorizationToken",
            "httpMethod",
            "identitySource",
            "methodArn",
            "resource",
            "type",
        ] {
            map.remove(key);
        }
    }
    json
}

async fn gateway(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some((spec, route, params)) = find_route(&shared.plan, &method, uri.path()) else {
        // What an HTTP API answers for a route it does not have.
        return (
            StatusCode::NOT_FOUND,
            [("content-type", "application/json")],
            r#"{"message":"Not Found"}"#,
        )
            .into_response();
    };
    let event = http_event(&method, &uri, &headers, &body, route, params);
    let payload = http_event_json(&event);
    let value = match invoke_counted(&shared, &spec.binary, &payload).await {
        Ok(v) => v,
        Err(e) => return internal_error(&e.to_string()),
    };
    let reply: ApiGatewayV2httpResponse = match serde_json::from_value(value) {
        Ok(r) => r,
        Err(e) => return internal_error(&format!("function returned a malformed response: {e}")),
    };
    let status = StatusCode::from_u16(u16::try_from(reply.status_code).unwrap_or(500))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body: Vec<u8> = match reply.body {
        Some(aws_lambda_events::encodings::Body::Text(t)) if reply.is_base64_encoded => {
            base64::engine::general_purpose::STANDARD
                .decode(t)
                .unwrap_or_default()
        }
        Some(aws_lambda_events::encodings::Body::Text(t)) => t.into_bytes(),
        Some(aws_lambda_events::encodings::Body::Binary(b)) => b,
        _ => Vec::new(),
    };
    let mut response = (status, body).into_response();
    for (name, value) in &reply.headers {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

fn internal_error(detail: &str) -> Response {
    tracing::error!(detail, "invocation failed; answering as API Gateway does");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [("content-type", "application/json")],
        r#"{"message":"Internal Server Error"}"#,
    )
        .into_response()
}

// ------------------------------------------------------------------ SQS

/// Polls one queue for one function, as Lambda's event source mapping does.
async fn poll_queue(
    shared: Arc<Shared>,
    spec: FunctionSpec,
    source: SqsSource,
    mut stop: watch::Receiver<bool>,
) {
    let Some(queue) = shared.plan.queue(&source.queue_logical_id).cloned() else {
        return;
    };
    let max = i32::try_from(source.batch_size.min(10)).unwrap_or(10);
    let Some(sqs) = shared.role_sqs.get(&spec.binary).cloned() else {
        return;
    };
    loop {
        if *stop.borrow() {
            return;
        }
        let receive = sqs
            .receive_message()
            .queue_url(&queue.url)
            .max_number_of_messages(max)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send();
        let out = tokio::select! {
            out = receive => out,
            _ = stop.changed() => return,
        };
        let messages = match out {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(queue = %queue.name, error = %aws_sdk_sqs::error::DisplayErrorContext(e), "receive failed");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    _ = stop.changed() => return,
                }
            }
        };
        if messages.is_empty() {
            continue;
        }
        let event = sqs_event(&messages, &queue.arn, &shared.plan.settings.region);
        let payload = serde_json::to_value(&event).unwrap_or_default();
        let outcome = invoke_counted(&shared, &spec.binary, &payload).await;
        let keep: Vec<String> = match outcome {
            // Lambda reads an empty or null response as "all succeeded" and anything it cannot
            // parse as a batch response as "all failed".
            Ok(value)
                if source.report_batch_item_failures
                    && !(value.is_null() || value == serde_json::json!({})) =>
            {
                match serde_json::from_value::<SqsBatchResponse>(value) {
                    Ok(r) => {
                        let ids: Vec<String> = r
                            .batch_item_failures
                            .into_iter()
                            .map(|f| f.item_identifier)
                            .collect();
                        // Lambda fails the whole batch when an identifier is empty or unknown.
                        let known = ids
                            .iter()
                            .all(|id| messages.iter().any(|m| m.message_id() == Some(id.as_str())));
                        if known { ids } else { all_ids(&messages) }
                    }
                    Err(_) => all_ids(&messages),
                }
            }
            Ok(_) => Vec::new(),
            Err(e) => {
                tracing::warn!(function = %spec.binary, error = %e, "batch failed; messages return after their visibility timeout");
                all_ids(&messages)
            }
        };
        if let Some(after) = shared.retry_after {
            return_early(&shared, &queue.url, &messages, &keep, after).await;
        }
        let entries: Vec<DeleteMessageBatchRequestEntry> = messages
            .iter()
            .filter(|m| !keep.iter().any(|k| Some(k.as_str()) == m.message_id()))
            .enumerate()
            .filter_map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .build()
                    .ok()
            })
            .collect();
        if !entries.is_empty()
            && let Err(e) = sqs
                .delete_message_batch()
                .queue_url(&queue.url)
                .set_entries(Some(entries))
                .send()
                .await
        {
            tracing::warn!(queue = %queue.name, error = %aws_sdk_sqs::error::DisplayErrorContext(e), "delete failed");
        }
    }
}

/// Makes the failed messages visible again after `after` (the host's time compression).
async fn return_early(
    shared: &Shared,
    queue_url: &str,
    messages: &[aws_sdk_sqs::types::Message],
    failed: &[String],
    after: Duration,
) {
    let entries: Vec<_> = messages
        .iter()
        .filter(|m| failed.iter().any(|k| Some(k.as_str()) == m.message_id()))
        .enumerate()
        .filter_map(|(i, m)| {
            aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .visibility_timeout(i32::try_from(after.as_secs()).unwrap_or(i32::MAX))
                .build()
                .ok()
        })
        .collect();
    if entries.is_empty() {
        return;
    }
    if let Err(e) = shared
        .sqs
        .change_message_visibility_batch()
        .queue_url(queue_url)
        .set_entries(Some(entries))
        .send()
        .await
    {
        tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), "could not shorten the visibility of failed messages");
    }
}

fn all_ids(messages: &[aws_sdk_sqs::types::Message]) -> Vec<String> {
    messages
        .iter()
        .filter_map(|m| m.message_id().map(str::to_owned))
        .collect()
}

/// The SqsEvent Lambda would deliver for these messages.
pub fn sqs_event(
    messages: &[aws_sdk_sqs::types::Message],
    queue_arn: &str,
    region: &str,
) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages
        .iter()
        .map(|m| {
            let mut record = SqsMessage::default();
            record.message_id = m.message_id().map(str::to_owned);
            record.receipt_handle = m.receipt_handle().map(str::to_owned);
            record.body = m.body().map(str::to_owned);
            record.md5_of_body = m.md5_of_body().map(str::to_owned);
            record.attributes = m
                .attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                        .collect()
                })
                .unwrap_or_default();
            record.md5_of_message_attributes = m.md5_of_message_attributes().map(str::to_owned);
            record.message_attributes = m
                .message_attributes()
                .map(|attrs| {
                    attrs
                        .iter()
                        .map(|(k, v)| {
                            let mut a = aws_lambda_events::sqs::SqsMessageAttribute::default();
                            a.string_value = v.string_value().map(str::to_owned);
                            a.data_type = Some(v.data_type().to_owned());
                            (k.clone(), a)
                        })
                        .collect()
                })
                .unwrap_or_default();
            record.event_source = Some("aws:sqs".into());
            record.event_source_arn = Some(queue_arn.to_owned());
            record.aws_region = Some(region.to_owned());
            record
        })
        .collect();
    event
}

// ------------------------------------------------------------------ schedule

async fn run_schedule(
    shared: Arc<Shared>,
    spec: FunctionSpec,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                if let Err(e) = invoke_scheduled(&shared, &spec).await {
                    tracing::warn!(function = %spec.binary, error = %e, "scheduled run failed");
                }
            }
            _ = stop.changed() => return,
        }
    }
}

async fn invoke_scheduled(
    shared: &Shared,
    spec: &FunctionSpec,
) -> Result<serde_json::Value, ProcError> {
    let settings = &shared.plan.settings;
    let mut event =
        aws_lambda_events::cloudwatch_events::CloudWatchEvent::<serde_json::Value>::default();
    event.version = Some("0".into());
    event.id = Some(uuid::Uuid::new_v4().to_string());
    event.detail_type = Some("Scheduled Event".into());
    event.source = Some("aws.events".into());
    event.account_id = Some(crate::stack::LOCAL_ACCOUNT.into());
    event.time = chrono::Utc::now();
    event.region = Some(settings.region.clone());
    event.resources = vec![format!(
        "arn:aws:events:{}:{}:rule/{}-{}",
        settings.region,
        crate::stack::LOCAL_ACCOUNT,
        settings.stack_name,
        spec.logical_id
    )];
    event.detail = Some(serde_json::json!({}));
    let payload = serde_json::to_value(&event).unwrap_or_default();
    invoke_counted(shared, &spec.binary, &payload).await
}

/// Messages on one queue: visible, in flight and delayed.
pub async fn queue_depth(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<usize, String> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::All)
        .send()
        .await
        .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
    Ok([
        A::ApproximateNumberOfMessages,
        A::ApproximateNumberOfMessagesNotVisible,
        A::ApproximateNumberOfMessagesDelayed,
    ]
    .iter()
    .filter_map(|key| attrs.attributes().and_then(|a| a.get(key)))
    .filter_map(|n| n.parse::<usize>().ok())
    .sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_segments_and_capture_parameters() {
        let p = match_route("/webhooks/{platform}/{tenant}", "/webhooks/intercom/acme").unwrap();
        assert_eq!(p["platform"], "intercom");
        assert_eq!(p["tenant"], "acme");
        assert!(match_route("/webhooks/{platform}/{tenant}", "/webhooks/intercom").is_none());
        assert!(match_route("/webhooks/{platform}/{tenant}", "/hooks/intercom/acme").is_none());
        assert!(match_route("/webhooks/{platform}/{tenant}", "/webhooks//acme").is_none());
        assert_eq!(match_route("/a/{x}", "/a/b%20c").unwrap()["x"], "b c");
    }

    #[test]
    fn rate_expressions_become_intervals() {
        assert_eq!(rate("rate(5 minutes)"), Some(Duration::from_secs(300)));
        assert_eq!(rate("rate(1 hour)"), Some(Duration::from_secs(3600)));
        assert_eq!(rate("cron(0 * * * ? *)"), None);
    }

    #[test]
    fn http_events_carry_route_parameters_and_raw_body() {
        let route = HttpRoute {
            method: "POST".into(),
            path: "/webhooks/{platform}/{tenant}".into(),
        };
        let uri: Uri = "/webhooks/cloudcx/acme?token=abc".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        let params = match_route(&route.path, uri.path()).unwrap();
        let event = http_event(&Method::POST, &uri, &headers, br#"{"a":1}"#, &route, params);
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["routeKey"], "POST /webhooks/{platform}/{tenant}");
        assert_eq!(json["pathParameters"]["tenant"], "acme");
        assert_eq!(json["queryStringParameters"]["token"], "abc");
        assert_eq!(json["body"], r#"{"a":1}"#);
        assert_eq!(json["isBase64Encoded"], false);
        assert_eq!(json["requestContext"]["http"]["method"], "POST");
    }
}
