//! The intake's pure work per webhook, no I/O: verify the signature, parse the body into
//! canonical events and wrap them for resolve.fifo (`queue_events`), as
//! functions/webhook-intake does between reading the tenant and claiming the delivery.
//! Per platform, a typical sample and a 64 KiB delivery of the same platform. Every iteration
//! is timed on its own so the table can give a tail (p99), not only a mean.
//! `make bench` runs it in release; figures go to BENCHMARKS.md.

use shared::event::{self, QueuedEvent, Received};
use shared::platforms::{self, Inbound, Parsed, Platform};
use shared::secret::Secret;
use std::hint::black_box;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// The large case: bodies of exactly 64 KiB.
const LARGE_BYTES: usize = 64 * 1024;

/// Per platform, a sample carrying a message and the JSON pointer of its text, grown to make
/// the large case (a long message is what makes a real delivery big).
const MESSAGE_SAMPLES: [(Platform, &str, &str); 4] = [
    (
        Platform::Intercom,
        "intercom-conversation-user-replied.json",
        "/data/item/conversation_parts/conversation_parts/0/body",
    ),
    (
        Platform::Tidio,
        "tidio-ticket-contact-replied.json",
        "/content/message/message_content",
    ),
    (
        Platform::RespondIo,
        "respondio-message-received.json",
        "/message/message/text",
    ),
    (
        Platform::CloudCx,
        "cloudcx-offline-message-submit.json",
        "/content",
    ),
];

fn main() {
    let root = chatsync_tests::repo_root();
    let payloads = root.join("events/payloads");
    let mut cases = Vec::new();
    for (platform, file) in chatsync_tests::SAMPLE_DELIVERIES {
        let body = std::fs::read(payloads.join(file)).expect("sample payload");
        cases.push((platform, file.trim_end_matches(".json").to_owned(), body));
    }
    for (platform, file, pointer) in MESSAGE_SAMPLES {
        let body = std::fs::read(payloads.join(file)).expect("sample payload");
        let label = format!("{} grown to 64 KiB", file.trim_end_matches(".json"));
        cases.push((platform, label, grow(&body, pointer, LARGE_BYTES)));
    }
    cases.sort_by_key(|(platform, _, body)| (platform.as_str(), body.len()));

    println!("| platform | payload | bytes | events | median (µs) | p99 (µs) | iterations |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for (platform, label, body) in &cases {
        let bench = Bench::new(*platform, body);
        let queued = bench.run_once();
        let events = queued.len();
        // A grown field the parser ignored would measure nothing: the text must reach the event.
        let carried: usize = queued
            .iter()
            .map(|q| serde_json::to_string(&q.event).expect("event JSON").len())
            .sum();
        assert!(
            body.len() < LARGE_BYTES || carried > LARGE_BYTES / 2,
            "{label}: the grown text is not in the queued events ({carried} bytes)"
        );
        // Warm caches and the allocator before anything is recorded.
        for _ in 0..1_000 {
            black_box(bench.run_once());
        }
        // Enough samples for a steady p99 (200 beyond it), a few seconds per case.
        let iterations = if body.len() > 16 * 1024 {
            20_000
        } else {
            100_000
        };
        let mut samples: Vec<Duration> = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let started = Instant::now();
            black_box(bench.run_once());
            samples.push(started.elapsed());
        }
        samples.sort_unstable();
        println!(
            "| {platform} | {label} | {} | {events} | {:.2} | {:.2} | {iterations} |",
            body.len(),
            micros(percentile(&samples, 50.0)),
            micros(percentile(&samples, 99.0)),
        );
    }
}

/// One signed delivery and what the intake knows when it verifies it.
struct Bench<'a> {
    platform: Platform,
    body: &'a [u8],
    headers: http::HeaderMap,
    query_token: Option<String>,
    secrets: [Secret; 1],
    now: OffsetDateTime,
}

impl<'a> Bench<'a> {
    fn new(platform: Platform, body: &'a [u8]) -> Self {
        let secret = "bench-secret";
        let now = OffsetDateTime::now_utc();
        let sig = platforms::sign(platform, secret, body, now);
        let mut headers = http::HeaderMap::new();
        for (name, value) in &sig.headers {
            headers.insert(*name, value.parse().expect("header"));
        }
        Self {
            platform,
            body,
            headers,
            query_token: sig.query_token,
            secrets: [Secret::new(secret)],
            now,
        }
    }

    /// verify + parse + queue_events, as the intake runs them.
    fn run_once(&self) -> Vec<QueuedEvent> {
        let body = black_box(self.body);
        let inbound = Inbound {
            headers: &self.headers,
            query_token: self.query_token.as_deref(),
            body,
            now: self.now,
            tidio_tolerance_seconds: 300,
        };
        platforms::verify(self.platform, &self.secrets, &inbound).expect("verifies");
        // The intake checks UTF-8 too: the queued event carries the body as text.
        let text = std::str::from_utf8(body).expect("UTF-8");
        let Parsed::Accepted(accepted) = platforms::parse(self.platform, body).expect("parses")
        else {
            panic!("{}: the sample is not an accepted delivery", self.platform);
        };
        // A fixed correlation id: drawing a random one is not the work measured here.
        let received = Received {
            tenant_id: "demo",
            platform: self.platform,
            correlation_id: "0123456789abcdef0123456789abcdef",
            received_at: self.now,
            body: text,
        };
        let queued = event::queue_events(accepted, &received);
        assert!(!queued.is_empty(), "{}: no events", self.platform);
        queued
    }
}

/// `body` with the string at `pointer` lengthened so the whole body is `target` bytes.
fn grow(body: &[u8], pointer: &str, target: usize) -> Vec<u8> {
    let mut value: serde_json::Value = serde_json::from_slice(body).expect("sample JSON");
    let before = serde_json::to_vec_pretty(&value).expect("JSON").len();
    let field = value.pointer_mut(pointer).expect("text field in sample");
    let text = field.as_str().expect("text field is a string").to_owned();
    // Plain words, no characters JSON escapes: each one adds exactly one byte to the body.
    let filler: String = "the parcel arrived damaged and I would like a replacement please "
        .chars()
        .cycle()
        .take(target - before)
        .collect();
    // Intercom bodies are HTML: keep the paragraph closed.
    let grown = match text.strip_suffix("</p>") {
        Some(open) => format!("{open} {}</p>", &filler[1..]),
        None => format!("{text}{filler}"),
    };
    *field = serde_json::Value::String(grown);
    let out = serde_json::to_vec_pretty(&value).expect("JSON");
    assert_eq!(out.len(), target, "{pointer}: grown body size");
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    // Nearest rank: the smallest sample with at least p % of samples at or below it.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
