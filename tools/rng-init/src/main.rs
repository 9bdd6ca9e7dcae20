//! How long AWS-LC takes to produce its first random bytes in a fresh process: the cost its CPU
//! jitter entropy source adds to a cold start (the SDK's TLS draws on it at the first
//! handshake). `make bench` builds this with and without `AWS_LC_SYS_NO_JITTER_ENTROPY=1`.
//!
//! `rng-init` spawns itself `--child` N times and prints the median; `--child` prints one draw.

use std::process::Command;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--child") {
        let started = Instant::now();
        let mut buf = [0u8; 32];
        if aws_lc_rs::rand::fill(&mut buf).is_err() {
            std::process::exit(1);
        }
        println!("{}", started.elapsed().as_micros());
        return;
    }
    let runs: usize = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(15);
    let exe = std::env::current_exe().expect("own path");
    let mut samples: Vec<u128> = (0..runs)
        .filter_map(|_| {
            let out = Command::new(&exe).arg("--child").output().ok()?;
            String::from_utf8_lossy(&out.stdout).trim().parse().ok()
        })
        .collect();
    samples.sort_unstable();
    if samples.is_empty() {
        eprintln!("no sample");
        std::process::exit(1);
    }
    println!(
        "first random draw: median {} µs, min {} µs, max {} µs over {} fresh processes",
        samples[samples.len() / 2],
        samples[0],
        samples[samples.len() - 1],
        samples.len()
    );
}
