//! The whole intake on the local stack: signed deliveries over HTTP to the host's API, the
//! release webhook-intake binary under the Lambda Runtime Interface Emulator, DynamoDB, Secrets
//! Manager and SQS in moto. Latency at concurrency 1, throughput at concurrency 8; then one
//! tenant's latency while another tenant is flooded past its `webhooks.per_minute`.
//! `make bench` runs it after `cargo build --release -p webhook-intake`; figures go to
//! BENCHMARKS.md.

use chatsync_local::events::signed_request;
use chatsync_local::host::{Host, HostOptions};
use chatsync_local::procs::rie_path;
use chatsync_tests::{LocalAws, SAMPLE_DELIVERIES, machine, release_bin_dir, repo_root};
use shared::platforms::Platform;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// Timed deliveries per platform and concurrency.
const REQUESTS: usize = 500;
/// Untimed deliveries first: the function's cold start and the tenant cache fill.
const WARM_UP: usize = 20;
const CONCURRENCY: [usize; 2] = [1, 8];
/// Deliveries the flooded tenant is sent, and what it accepts a minute.
const FLOOD: usize = 2_000;
const FLOODED_PER_MINUTE: u32 = 100;

/// One delivery ready to send: everything signed before the clock starts.
struct Delivery {
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

#[tokio::main]
async fn main() {
    let bin_dir = release_bin_dir(&["webhook-intake"]);
    let aws = LocalAws::start().await;
    let mut tenant = aws.load_demo_tenant().await;
    // The intake's own speed is measured here, not the tenant's rate limit.
    tenant.config.webhooks.per_minute = shared::tenant::MAX_WEBHOOKS_PER_MINUTE;
    aws.store_tenant(&tenant).await;
    // Only the intake: the resolver and writer would compete for the two cores while the
    // intake is measured, and the deliveries it queues stay on resolve.fifo, unconsumed.
    let mut plan = aws.plan.clone();
    plan.functions.retain(|f| f.binary == "webhook-intake");
    assert_eq!(plan.functions.len(), 1, "webhook-intake in the template");
    let host = Host::start(HostOptions {
        plan,
        bin_dir: bin_dir.clone(),
        rie: rie_path().expect("RIE (in the venv's aws-sam-cli)"),
        log_dir: std::env::temp_dir().join(format!("chatsync-bench-{}", std::process::id())),
        http_addr: "127.0.0.1:0".parse().expect("address"),
        aws_endpoint: aws.moto.endpoint(),
        operator: aws.moto.operator.clone(),
        roles: aws.role_sessions.clone(),
        extra_env: Vec::new(),
        schedule_every: None,
        retry_after: None,
    })
    .await
    .expect("function host starts");
    let (stop_drain, drained) = drain(&aws);
    let base = format!("http://{}", host.http_addr);
    let client = reqwest::Client::new();

    println!("{}", machine());
    println!(
        "webhook-intake from {}; {REQUESTS} deliveries per row after {WARM_UP} untimed",
        bin_dir.display()
    );
    println!();
    println!("| platform | concurrency | requests | median (ms) | p99 (ms) | requests/s |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut queued = 0;
    for (platform, file) in SAMPLE_DELIVERIES {
        let sample: serde_json::Value = serde_json::from_slice(
            &std::fs::read(repo_root().join("events/payloads").join(file)).expect("sample"),
        )
        .expect("sample JSON");
        let warm_up = deliveries(&base, &tenant, platform, &sample, "warm", WARM_UP);
        let warmed = run(&client, warm_up, 1).await;
        assert_eq!(warmed.limited, 0, "the demo tenant is not limited here");
        queued += WARM_UP;
        for concurrency in CONCURRENCY {
            let batch = deliveries(
                &base,
                &tenant,
                platform,
                &sample,
                &format!("c{concurrency}"),
                REQUESTS,
            );
            let Ran {
                mut latencies,
                wall,
                limited,
                ..
            } = run(&client, batch, concurrency).await;
            assert_eq!(limited, 0, "the demo tenant is not limited here");
            queued += REQUESTS;
            latencies.sort_unstable();
            println!(
                "| {platform} | {concurrency} | {REQUESTS} | {:.2} | {:.2} | {:.0} |",
                millis(percentile(&latencies, 50.0)),
                millis(percentile(&latencies, 99.0)),
                REQUESTS as f64 / wall.as_secs_f64(),
            );
        }
    }
    // A flood on one tenant (its URL leaked, say), beside another tenant's ordinary traffic.
    let mut flooded = tenant.clone();
    flooded.config.tenant_id = "flooded".into();
    flooded.config.webhooks.per_minute = FLOODED_PER_MINUTE;
    aws.store_tenant(&flooded).await;
    let sample: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo_root().join("events/payloads/tidio-contact-created.json"))
            .expect("sample"),
    )
    .expect("sample JSON");
    run(
        &client,
        deliveries(&base, &flooded, Platform::Tidio, &sample, "fwarm", 1),
        1,
    )
    .await;
    let calm = deliveries(&base, &tenant, Platform::Tidio, &sample, "calm", REQUESTS);
    let flood = deliveries(&base, &flooded, Platform::Tidio, &sample, "flood", FLOOD);
    let (calm, flood) = tokio::join!(run(&client, calm, 1), run(&client, flood, 2));
    queued += 1 + REQUESTS + flood.accepted;
    println!();
    println!(
        "A flood: tenant `flooded` ({FLOODED_PER_MINUTE} deliveries a minute) sent {FLOOD} at concurrency 2 while `demo` sends {REQUESTS} at concurrency 1 (Tidio sample)"
    );
    println!();
    println!(
        "| tenant | concurrency | requests | accepted | refused (429) | median (ms) | p99 (ms) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (name, concurrency, requests, mut result) in
        [("demo", 1, REQUESTS, calm), ("flooded", 2, FLOOD, flood)]
    {
        result.latencies.sort_unstable();
        println!(
            "| {name} | {concurrency} | {requests} | {} | {} | {:.2} | {:.2} |",
            result.accepted,
            result.limited,
            millis(percentile(&result.latencies, 50.0)),
            millis(percentile(&result.latencies, 99.0)),
        );
    }
    let _ = stop_drain.send(true);
    let drained = drained.await.expect("drain task");
    assert_eq!(
        host.invocation_errors(),
        0,
        "function errors during the run"
    );
    // Each delivery claimed once: distinct ids really went through the whole intake.
    assert_eq!(
        aws.count("DeliveriesTable").await,
        queued,
        "claimed deliveries"
    );
    println!();
    println!("{drained} queued events taken off resolve.fifo during the run");
    host.stop().await;
    aws.moto.stop().await;
}

/// Takes messages off resolve.fifo while the bench runs, as the resolver would. moto's FIFO
/// send slows with every message the queue holds (15 ms with an empty queue, 64 ms with 600
/// in one measurement here), so an unconsumed queue would make the figures moto's, growing
/// with the run, rather than the intake's. Returns a stop switch and the count taken.
fn drain(
    aws: &LocalAws,
) -> (
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<usize>,
) {
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let (sqs, url) = (aws.sqs(), aws.queue_url("ResolveQueue"));
    let task = tokio::spawn(async move {
        let mut taken = 0;
        loop {
            // Long polling: the call returns as soon as there is something to take.
            let receive = sqs
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send();
            let out = tokio::select! {
                out = receive => out.expect("receive from resolve.fifo"),
                _ = stopped.changed() => return taken,
            };
            let entries: Vec<_> = out
                .messages()
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(m.receipt_handle().unwrap_or_default())
                        .build()
                        .expect("delete entry")
                })
                .collect();
            if entries.is_empty() {
                continue;
            }
            taken += entries.len();
            sqs.delete_message_batch()
                .queue_url(&url)
                .set_entries(Some(entries))
                .send()
                .await
                .expect("delete from resolve.fifo");
        }
    });
    (stop, task)
}

/// `n` signed deliveries of `sample`, each with its own delivery id so each is claimed and
/// queued (a repeat would be answered 200 as a duplicate without touching SQS).
fn deliveries(
    base: &str,
    tenant: &shared::tenant::TenantFile,
    platform: Platform,
    sample: &serde_json::Value,
    run: &str,
    n: usize,
) -> Vec<Delivery> {
    // Where each platform keeps its delivery id; CloudCX sends none (the intake hashes the
    // body), so its ticket id varies instead.
    let pointer = match platform {
        Platform::Intercom => "/id",
        Platform::Tidio => "/webhook_id",
        Platform::RespondIo => "/event_id",
        Platform::CloudCx => "/ticketId",
    };
    let now = OffsetDateTime::now_utc();
    (0..n)
        .map(|i| {
            let mut value = sample.clone();
            let id = value.pointer_mut(pointer).expect("delivery id field");
            *id = format!("{}-{run}-{i}", id.as_str().expect("id is a string")).into();
            let body = serde_json::to_vec(&value).expect("JSON");
            // Tidio signs a timestamp: a run lasts seconds, well inside its 300 s window.
            let (headers, path) =
                signed_request(platform, tenant, &body, now).expect("demo tenant signs");
            Delivery {
                url: format!("{base}{path}"),
                headers,
                body,
            }
        })
        .collect()
}

/// What a batch came to.
struct Ran {
    latencies: Vec<Duration>,
    wall: Duration,
    accepted: usize,
    /// Answered 429: over the tenant's rate.
    limited: usize,
}

/// Sends every delivery with `concurrency` workers; asserts each is answered 202 "queued" or
/// 429 "rate_limited" with a Retry-After. Returns each request's latency, the wall time of the
/// whole batch, and how many were accepted and refused.
async fn run(client: &reqwest::Client, batch: Vec<Delivery>, concurrency: usize) -> Ran {
    let batch = Arc::new(batch);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, batch, next) = (client.clone(), batch.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut limited = 0;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(d) = batch.get(i) else {
                        return (latencies, limited);
                    };
                    let mut request = client.post(&d.url).body(d.body.clone());
                    for (name, value) in &d.headers {
                        request = request.header(name, value);
                    }
                    let sent = Instant::now();
                    let response = request.send().await.expect("intake answers");
                    let status = response.status().as_u16();
                    let retry_after = response.headers().contains_key("retry-after");
                    let text = response.text().await.expect("reply body");
                    latencies.push(sent.elapsed());
                    // A bench that silently measured errors or duplicates would be worthless.
                    let reply: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                    if status == 429 && reply["error"] == "rate_limited" && retry_after {
                        limited += 1;
                        continue;
                    }
                    assert!(
                        status == 202 && reply["status"] == "queued",
                        "delivery {i} answered {status}: {text}"
                    );
                }
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(batch.len());
    let mut limited = 0;
    for worker in workers {
        let (l, refused) = worker.await.expect("worker");
        latencies.extend(l);
        limited += refused;
    }
    Ran {
        accepted: batch.len() - limited,
        latencies,
        wall: started.elapsed(),
        limited,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    // Nearest rank: the smallest sample with at least p % of samples at or below it.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
