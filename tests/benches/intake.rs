//! Intake handler work without I/O: verify the signature and read the envelope, per platform.
//! `make bench` runs it in release; figures go to BENCHMARKS.md.

use shared::platforms::{self, Inbound};
use shared::secret::Secret;
use std::time::Instant;
use time::OffsetDateTime;

fn main() {
    let root = chatsync_tests::repo_root();
    let now = OffsetDateTime::now_utc();
    println!("| platform | body bytes | verify + envelope (µs, median of 7 rounds of 20 000) |");
    println!("|---|---:|---:|");
    for (platform, file) in chatsync_tests::SAMPLE_DELIVERIES {
        let body = std::fs::read(root.join("events/payloads").join(file)).expect("payload");
        let secret = "bench-secret";
        let sig = platforms::sign(platform, secret, &body, now);
        let mut headers = http::HeaderMap::new();
        for (name, value) in &sig.headers {
            headers.insert(*name, value.parse().expect("header"));
        }
        let secrets = [Secret::new(secret)];
        let mut rounds = Vec::new();
        for _ in 0..7 {
            let started = Instant::now();
            for _ in 0..20_000 {
                let inbound = Inbound {
                    headers: &headers,
                    query_token: sig.query_token.as_deref(),
                    body: std::hint::black_box(&body),
                    now,
                    tidio_tolerance_seconds: 300,
                };
                platforms::verify(platform, &secrets, &inbound).expect("verifies");
                std::hint::black_box(platforms::parse(platform, &body).expect("parses"));
            }
            rounds.push(started.elapsed().as_secs_f64() * 1e6 / 20_000.0);
        }
        rounds.sort_by(f64::total_cmp);
        println!("| {platform} | {} | {:.2} |", body.len(), rounds[3]);
    }
}
