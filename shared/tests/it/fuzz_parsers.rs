//! Fuzz targets for the platform adapters, one per platform. `parse` and `verify` take bytes
//! straight from the internet, so on any input they must return an error and never panic. A
//! signature we did not make must never verify. What `sign` produces must verify, and must
//! stop verifying once the body changes.
//!
//! Stable Rust has no cargo-fuzz, so each target drives proptest's `TestRunner` itself. A
//! failure is shrunk to a minimal input before it is reported.
//! - `cargo test -p shared --test it fuzz_parsers::`: each property runs `PROPTEST_CASES` cases
//!   (default 256), so the suite stays quick.
//! - `FUZZ_SECONDS=60 cargo test -p shared --test it fuzz_parsers:: -- --nocapture` (`make fuzz`):
//!   each target runs batches of 32 cases per property, in turn, until that many seconds have
//!   passed.
//! - `PROPTEST_RNG_SEED=<u64>` replays a run. Every failure prints the seed it used. To replay a
//!   timed run, set the same FUZZ_SECONDS. The batches come in a fixed order, so the failing
//!   one comes back as long as the replay gets enough time to reach it.
//!
//! These tests make no assumptions about which fields a parser reads, so the parsers can be
//! rewritten without changing them. Signature header names come from `sign`, and sample
//! payloads come from `events/payloads`.

use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use serde_json::{Value, json};
use shared::platforms::{self, Inbound, Parsed, Platform, Signature};
use shared::secret::Secret;
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use time::OffsetDateTime;

#[test]
fn fuzz_intercom() {
    fuzz(Platform::Intercom);
}

#[test]
fn fuzz_tidio() {
    fuzz(Platform::Tidio);
}

#[test]
fn fuzz_respondio() {
    fuzz(Platform::RespondIo);
}

#[test]
fn fuzz_cloudcx() {
    fuzz(Platform::CloudCx);
}

/// The tenant's secret in the forged-credential property. It contains '#', which no generated
/// secret does, so a forgery can only match it through a bug.
const SECRET: &str = "fuzz#secret#0123456789abcdef";

fn fuzz(platform: Platform) {
    let samples = Samples::load();
    let own = samples.of(platform);
    assert!(
        !own.is_empty(),
        "no sample payloads events/payloads/{platform}-*.json"
    );
    let words = samples.words();
    let raw = raw_bodies(own.clone());
    let mutated = mutated_samples(own, words.clone());
    let forged = forged_credentials();
    let round_trip = round_trips();

    let mut run = Run::new(platform);
    loop {
        run.check("parse(arbitrary bytes)", &raw, |body| {
            parse_holds(platform, &body.0)
        });
        run.check("parse(mutated sample)", &mutated, |m| {
            parse_holds(platform, &m.body.0)
        });
        run.check("verify(forged credentials)", &forged, |case| {
            forgery_fails(platform, case)
        });
        run.check("sign/verify round trip", &round_trip, |case| {
            round_trip_holds(platform, case)
        });
        if !run.again() {
            break;
        }
    }
    run.report();
}

// ---------------------------------------------------------------------------------------------
// Running: proptest shrinks each failure, and we loop until the time budget is spent.

struct Run {
    platform: Platform,
    config: Config,
    seed: u64,
    /// Every batch gets its RNG from here, so the seed alone replays the whole run.
    master: TestRunner,
    started: Instant,
    budget: Option<Duration>,
    rounds: u64,
    counts: Vec<(&'static str, u64)>,
}

impl Run {
    fn new(platform: Platform) -> Self {
        // `Config::default()` reads PROPTEST_CASES and PROPTEST_RNG_SEED. With no seed set, we
        // pick one ourselves so that a failure can print it.
        let mut config = Config {
            failure_persistence: None, // the seed is printed instead of writing regression files
            ..Config::default()
        };
        let seed = match config.rng_seed {
            RngSeed::Fixed(seed) => seed,
            RngSeed::Random => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64),
        };
        config.rng_seed = RngSeed::Fixed(seed);
        let budget = std::env::var("FUZZ_SECONDS").ok().map(|s| {
            let secs: f64 = s
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("FUZZ_SECONDS={s:?} is not a number of seconds"));
            Duration::from_secs_f64(secs)
        });
        if budget.is_some() {
            // Small batches, so the deadline is checked often and a run ends close to it.
            config.cases = config.cases.min(32);
        }
        Run {
            platform,
            master: TestRunner::new(config.clone()),
            config,
            seed,
            started: Instant::now(),
            budget,
            rounds: 0,
            counts: Vec::new(),
        }
    }

    /// Runs one batch of `config.cases` cases. On failure it panics with the shrunk input.
    /// Batches are skipped once the deadline has passed. Each target still runs one batch per
    /// property.
    fn check<S: Strategy>(
        &mut self,
        name: &'static str,
        strategy: &S,
        test: impl Fn(S::Value) -> Result<(), TestCaseError>,
    ) {
        if self.rounds > 0 && self.out_of_time() {
            return;
        }
        let mut runner = TestRunner::new_with_rng(self.config.clone(), self.master.new_rng());
        if let Err(err) = runner.run(strategy, test) {
            let budget = match self.budget {
                Some(b) => format!(" FUZZ_SECONDS={}", b.as_secs_f64()),
                None => String::new(),
            };
            panic!(
                "{} {name}: {err}\nreplay: PROPTEST_RNG_SEED={}{budget} \
                 cargo test -p shared --test it fuzz_parsers::fuzz_{}",
                self.platform, self.seed, self.platform
            );
        }
        match self.counts.iter_mut().find(|(n, _)| *n == name) {
            Some((_, count)) => *count += u64::from(self.config.cases),
            None => self.counts.push((name, u64::from(self.config.cases))),
        }
    }

    /// Whether to run another round: only while FUZZ_SECONDS has not yet passed.
    fn again(&mut self) -> bool {
        self.rounds += 1;
        self.budget.is_some() && !self.out_of_time()
    }

    fn out_of_time(&self) -> bool {
        self.budget.is_none_or(|b| self.started.elapsed() >= b)
    }

    fn report(&self) {
        let total: u64 = self.counts.iter().map(|(_, n)| n).sum();
        let each: Vec<String> = self
            .counts
            .iter()
            .map(|(name, n)| format!("{name}: {n}"))
            .collect();
        eprintln!(
            "fuzz_{}: {total} cases in {:.1}s, {} round(s), seed {} ({})",
            self.platform,
            self.started.elapsed().as_secs_f64(),
            self.rounds,
            self.seed,
            each.join(", ")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The properties.

/// `parse` returns, with no panic. An accepted delivery has the keys that dedupe and order it.
fn parse_holds(platform: Platform, body: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(Parsed::Accepted(a)) = platforms::parse(platform, body) {
        prop_assert!(
            !a.delivery_id.is_empty(),
            "accepted with an empty delivery_id"
        );
        prop_assert!(
            !a.conversation_key.is_empty(),
            "accepted with an empty conversation_key"
        );
    }
    Ok(())
}

/// `verify` returns, with no panic, and refuses every credential except the tenant's own.
fn forgery_fails(platform: Platform, case: ForgedCase) -> Result<(), TestCaseError> {
    let now = at(case.now);
    let body = &case.body.0;
    let mut headers = HeaderMap::new();
    let mut query = None;
    // Set when the forgery happens to be the genuine credential (e.g. a CloudCX token, which
    // does not depend on the body). Then it may verify.
    let mut genuine = false;
    if let Some(forgery) = &case.forgery {
        let sig = match forgery {
            Forgery::OtherSecret(secret) => platforms::sign(platform, secret, body, now),
            Forgery::OtherBody(other) => {
                let sig = platforms::sign(platform, SECRET, &other.0, now);
                genuine = sig == platforms::sign(platform, SECRET, body, now);
                sig
            }
        };
        headers = signed_headers(&sig)?;
        query = sig.query_token;
    }
    let names = credential_headers(platform);
    for (name, raw) in &case.headers {
        if let Some(value) = raw.header_value() {
            headers.append(names[name.index(names.len())].clone(), value);
        }
    }
    let inbound = Inbound {
        headers: &headers,
        query_token: query.as_deref().or(case.query.as_deref()),
        body,
        now,
        tidio_tolerance_seconds: case.tolerance,
    };
    let result = platforms::verify(platform, &[Secret::new(SECRET)], &inbound);
    if !genuine {
        prop_assert!(result.is_err(), "a forged credential verified");
    }
    Ok(())
}

/// What `sign` makes verifies, including when it is one of several rotated secrets. After a
/// one-byte change to the body, it no longer verifies.
fn round_trip_holds(platform: Platform, case: RoundTrip) -> Result<(), TestCaseError> {
    let now = at(case.now);
    let body = &case.body.0;
    let sig = platforms::sign(platform, &case.secret, body, now);
    let headers = signed_headers(&sig)?;
    // Verifies with the one secret only, so a changed token cannot match a rotated one.
    let verify_one = |body: &[u8], query: Option<&str>| {
        platforms::verify(
            platform,
            &[Secret::new(case.secret.as_str())],
            &Inbound {
                headers: &headers,
                query_token: query,
                body,
                now,
                tidio_tolerance_seconds: case.tolerance,
            },
        )
    };

    let mut rotated: Vec<Secret> = case.others.iter().map(Secret::new).collect();
    rotated.insert(
        case.position.index(rotated.len() + 1),
        Secret::new(case.secret.as_str()),
    );
    let verified = platforms::verify(
        platform,
        &rotated,
        &Inbound {
            headers: &headers,
            query_token: sig.query_token.as_deref(),
            body,
            now,
            tidio_tolerance_seconds: case.tolerance,
        },
    );
    prop_assert_eq!(verified, Ok(()), "what sign() made did not verify");

    let mut changed = body.clone();
    let at = case.flip.index(changed.len());
    changed[at] ^= case.xor;
    if platforms::sign(platform, &case.secret, &changed, now) != sig {
        prop_assert!(
            verify_one(&changed, sig.query_token.as_deref()).is_err(),
            "verified after byte {} of the body changed",
            at
        );
    } else {
        // The credential does not cover the body (CloudCX's URL token). Check that the token
        // is compared in full: with one character changed, it must fail.
        let token = sig
            .query_token
            .clone()
            .ok_or_else(|| TestCaseError::fail("a body-independent signature with no token"))?;
        let mut chars: Vec<char> = token.chars().collect();
        let i = case.flip.index(chars.len());
        chars[i] = if chars[i] == 'a' { 'b' } else { 'a' };
        let wrong: String = chars.into_iter().collect();
        prop_assert!(
            verify_one(body, Some(&wrong)).is_err(),
            "a token with one character changed verified"
        );
    }
    Ok(())
}

/// The platform's signature headers (their names come from `sign`), plus Authorization.
fn credential_headers(platform: Platform) -> Vec<HeaderName> {
    let sig = platforms::sign(platform, SECRET, b"", at(0));
    let mut names: Vec<HeaderName> = sig
        .headers
        .iter()
        .map(|(name, _)| HeaderName::from_bytes(name.as_bytes()).expect("sign() names a header"))
        .collect();
    names.push(http::header::AUTHORIZATION);
    names
}

fn signed_headers(sig: &Signature) -> Result<HeaderMap, TestCaseError> {
    let mut headers = HeaderMap::new();
    for (name, value) in &sig.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| TestCaseError::fail(format!("sign() made a bad header name {name:?}")))?;
        let value = HeaderValue::from_str(value).map_err(|_| {
            TestCaseError::fail(format!("sign() made a bad header value {value:?}"))
        })?;
        headers.append(name, value);
    }
    Ok(headers)
}

fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).expect("generated in range")
}

// ---------------------------------------------------------------------------------------------
// Inputs.

/// Bytes whose `Debug` output is a byte string literal, so a failure report is readable.
#[derive(Clone, PartialEq)]
struct Bytes(Vec<u8>);

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

#[derive(Clone)]
struct Sample {
    name: String,
    bytes: Vec<u8>,
    json: Value,
}

struct Samples(Vec<Sample>);

impl Samples {
    /// Every `events/payloads/*.json`, read at run time so that new samples are fuzzed too.
    fn load() -> Self {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events/payloads");
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let mut all = Vec::new();
        for entry in entries {
            let path = entry.expect("readable directory entry").path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !name.ends_with(".json") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            let json = serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("sample {name} is not JSON: {e}"));
            all.push(Sample { name, bytes, json });
        }
        // read_dir's order is unspecified. Sort so that a seed picks the same samples again.
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Samples(all)
    }

    fn of(&self, platform: Platform) -> Vec<Sample> {
        let prefix = format!("{platform}-");
        self.0
            .iter()
            .filter(|s| s.name.starts_with(&prefix))
            .cloned()
            .collect()
    }

    /// Every key and string in every sample, from all platforms, used as replacement values:
    /// real topics, ids and timestamps reach deeper into a parser than random text does.
    fn words(&self) -> Vec<String> {
        fn walk(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::String(s) => out.push(s.clone()),
                Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
                Value::Object(map) => {
                    for (k, v) in map {
                        out.push(k.clone());
                        walk(v, out);
                    }
                }
                _ => {}
            }
        }
        let mut words: Vec<String> = [
            "",
            " ",
            "0",
            "-1",
            "1e400",
            "NaN",
            "99999999999999999999999",
            "1767225600",
            "1767225600123",
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00.123456789+14:00",
            "9999-12-31T23:59:60Z",
            "-9999-01-01T00:00:00Z",
            "2026-13-45T99:99:99Z",
            "\u{0}",
            "\u{202e}gnp.exe",
            "🦀👩‍👩‍👧",
            "é\u{301}",
            "\u{feff}",
        ]
        .map(String::from)
        .into();
        self.0.iter().for_each(|s| walk(&s.json, &mut words));
        words.sort();
        words.dedup();
        words
    }
}

/// Arbitrary bytes: random, JSON-shaped random, or a sample with a few bytes changed.
fn raw_bodies(samples: Vec<Sample>) -> impl Strategy<Value = Bytes> {
    #[derive(Clone, Debug)]
    enum Edit {
        Xor(Index, u8),
        Insert(Index, u8),
        Delete(Index),
        Truncate(Index),
    }
    let edit = prop_oneof![
        (any::<Index>(), 1..=u8::MAX).prop_map(|(i, x)| Edit::Xor(i, x)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<Index>().prop_map(Edit::Delete),
        any::<Index>().prop_map(Edit::Truncate),
    ];
    let edited = (any::<Index>(), prop::collection::vec(edit, 1..8)).prop_map(move |(i, edits)| {
        let mut b = samples[i.index(samples.len())].bytes.clone();
        for edit in edits {
            match edit {
                Edit::Xor(i, x) if !b.is_empty() => {
                    let at = i.index(b.len());
                    b[at] ^= x;
                }
                Edit::Insert(i, byte) => {
                    let at = i.index(b.len() + 1);
                    b.insert(at, byte);
                }
                Edit::Delete(i) if !b.is_empty() => {
                    b.remove(i.index(b.len()));
                }
                Edit::Truncate(i) => b.truncate(i.index(b.len() + 1)),
                _ => {}
            }
        }
        Bytes(b)
    });
    let json_ish = prop::collection::vec(
        select(b"{}[]\":,0123456789-+.eE \\/utrfalsn\xc3\xa9".to_vec()),
        0..256,
    );
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512).prop_map(Bytes),
        json_ish.prop_map(Bytes),
        edited,
    ]
}

/// One structural edit: walk `path` (each step picks a child) and change what it reaches.
#[derive(Clone, Debug)]
struct Mutation {
    path: Vec<Index>,
    edit: Edit,
}

#[derive(Clone, Debug)]
enum Edit {
    /// Replace the node with a value of any type.
    Replace(Value),
    /// Drop one key (or element) of the node.
    Remove(Index),
    /// Add a key to an object (or an element to an array).
    Insert(String, Value),
    /// Put the node in an array: same data, different shape.
    Wrap,
}

/// A sample after a few mutations; `body` is what the parser is given.
#[derive(Clone)]
struct Mutated {
    sample: String,
    mutations: Vec<Mutation>,
    body: Bytes,
}

impl fmt::Debug for Mutated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mutated")
            .field("sample", &self.sample)
            .field("mutations", &self.mutations)
            .field("body", &String::from_utf8_lossy(&self.body.0))
            .finish()
    }
}

fn mutated_samples(samples: Vec<Sample>, words: Vec<String>) -> impl Strategy<Value = Mutated> {
    let value = json_value(words.clone());
    let edit = prop_oneof![
        3 => value.clone().prop_map(Edit::Replace),
        3 => any::<Index>().prop_map(Edit::Remove),
        2 => (key(words), value).prop_map(|(k, v)| Edit::Insert(k, v)),
        1 => Just(Edit::Wrap),
    ];
    let mutation = (prop::collection::vec(any::<Index>(), 0..6), edit)
        .prop_map(|(path, edit)| Mutation { path, edit });
    // Shrinking works on the mutation list, so a failure reduces to the few edits that matter.
    (any::<Index>(), prop::collection::vec(mutation, 0..6)).prop_map(move |(i, mutations)| {
        let sample = &samples[i.index(samples.len())];
        let mut json = sample.json.clone();
        for m in &mutations {
            apply(&mut json, &m.path, &m.edit);
        }
        Mutated {
            sample: sample.name.clone(),
            body: Bytes(serde_json::to_vec(&json).expect("a Value serializes")),
            mutations,
        }
    })
}

fn apply(node: &mut Value, path: &[Index], edit: &Edit) {
    if let Some((step, rest)) = path.split_first() {
        let child = match node {
            Value::Object(map) if !map.is_empty() => {
                let i = step.index(map.len());
                map.values_mut().nth(i)
            }
            Value::Array(items) if !items.is_empty() => {
                let i = step.index(items.len());
                items.get_mut(i)
            }
            _ => None,
        };
        if let Some(child) = child {
            return apply(child, rest, edit);
        }
    }
    // Stop at the end of the path, or earlier at a leaf.
    match (edit, &mut *node) {
        (Edit::Replace(v), _) => *node = v.clone(),
        (Edit::Remove(i), Value::Object(map)) if !map.is_empty() => {
            let k = map.keys().nth(i.index(map.len())).cloned();
            k.map(|k| map.remove(&k));
        }
        (Edit::Remove(i), Value::Array(items)) if !items.is_empty() => {
            items.remove(i.index(items.len()));
        }
        (Edit::Insert(k, v), Value::Object(map)) => {
            map.insert(k.clone(), v.clone());
        }
        (Edit::Insert(_, v), Value::Array(items)) => items.push(v.clone()),
        (Edit::Wrap, _) => *node = Value::Array(vec![node.take()]),
        _ => {}
    }
}

fn key(words: Vec<String>) -> impl Strategy<Value = String> {
    prop_oneof![select(words), "\\PC{0,12}"]
}

/// Any JSON value. It is biased toward values that break assumptions: extreme numbers, huge
/// strings, text from the samples, and nesting.
fn json_value(words: Vec<String>) -> BoxedStrategy<Value> {
    let edge_numbers = vec![
        json!(u64::MAX),
        json!(i64::MIN),
        json!(i64::MAX),
        json!(-1),
        json!(0),
        json!(-0.0),
        json!(0.5),
        json!(1e11),
        json!(1e11 + 1.0),
        json!(1e308),
        json!(-1e308),
        json!(5e-324),
        json!(1.7e19),
        json!(-9.3e18),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // NaN and the infinities become null, as they would in JSON.
        any::<f64>().prop_map(Value::from),
        select(edge_numbers),
        "\\PC{0,40}".prop_map(Value::from),
        "(?s).{0,12}".prop_map(Value::from), // control characters too
        select(words.clone()).prop_map(Value::from),
    ];
    // Rare and never nested: a tree full of them makes a case take 100 times longer.
    let long_string = (select(vec!['x', ' ', 'é', '🦀', '\u{0}']), 0..100_000usize)
        .prop_map(|(c, n)| Value::from(c.to_string().repeat(n)));
    let tree = leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(words.clone()), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    });
    prop_oneof![20 => tree, 1 => long_string].boxed()
}

/// A credential someone other than the tenant could make.
#[derive(Clone, Debug)]
enum Forgery {
    /// A well-formed signature of this body, made with another secret.
    OtherSecret(String),
    /// A signature made with the tenant's secret for another body (a replayed signature).
    OtherBody(Bytes),
}

/// A header value made from arbitrary bytes or text.
#[derive(Clone, Debug)]
enum Raw {
    Bytes(Bytes),
    Text(String),
    Bearer(String),
}

impl Raw {
    /// None when `http` would refuse the value, as it would refuse such a request.
    fn header_value(&self) -> Option<HeaderValue> {
        match self {
            Raw::Bytes(b) => HeaderValue::from_bytes(&b.0).ok(),
            Raw::Text(s) => HeaderValue::from_str(s).ok(),
            Raw::Bearer(s) => HeaderValue::from_str(&format!("Bearer {s}")).ok(),
        }
    }
}

#[derive(Clone, Debug)]
struct ForgedCase {
    body: Bytes,
    forgery: Option<Forgery>,
    /// Appended after any forged headers: (which credential header, value).
    headers: Vec<(Index, Raw)>,
    query: Option<String>,
    now: i64,
    tolerance: u64,
}

/// Secrets that cannot equal `SECRET` (no '#').
const OTHER_SECRET: &str = "[a-zA-Z0-9 _.~-]{0,24}";

fn forged_credentials() -> impl Strategy<Value = ForgedCase> {
    let body = prop::collection::vec(any::<u8>(), 0..256).prop_map(Bytes);
    let forgery = prop::option::weighted(
        0.5,
        prop_oneof![
            OTHER_SECRET.prop_map(Forgery::OtherSecret),
            body.clone().prop_map(Forgery::OtherBody),
        ],
    );
    let raw = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..128).prop_map(|b| Raw::Bytes(Bytes(b))),
        "\\PC{0,64}".prop_map(Raw::Text),
        "\\PC{0,64}".prop_map(Raw::Bearer),
        // Signature-shaped text, so the parsing past the prefix is exercised too.
        "(sha1=|t=-?[0-9]{1,12},s=|s=)[0-9a-fA-F=+/,]{0,80}".prop_map(Raw::Text),
    ];
    (
        body,
        forgery,
        prop::collection::vec((any::<Index>(), raw), 0..3),
        prop::option::of("\\PC{0,40}"),
        unix_time(),
        prop_oneof![0u64..600, any::<u64>()],
    )
        .prop_map(
            |(body, forgery, headers, query, now, tolerance)| ForgedCase {
                body,
                forgery,
                headers,
                query,
                now,
                tolerance,
            },
        )
}

#[derive(Clone, Debug)]
struct RoundTrip {
    body: Bytes,
    secret: String,
    /// Other secrets of the tenant (rotation), the real one inserted at `position`.
    others: Vec<String>,
    position: Index,
    now: i64,
    tolerance: u64,
    /// Which byte (or token character) to change, and the non-zero XOR that changes it.
    flip: Index,
    xor: u8,
}

fn round_trips() -> impl Strategy<Value = RoundTrip> {
    (
        prop::collection::vec(any::<u8>(), 1..1024).prop_map(Bytes),
        "\\PC{1,40}",
        prop::collection::vec(OTHER_SECRET, 0..3),
        any::<Index>(),
        unix_time(),
        prop_oneof![0u64..600, any::<u64>()],
        any::<Index>(),
        1..=u8::MAX,
    )
        .prop_map(
            |(body, secret, others, position, now, tolerance, flip, xor)| RoundTrip {
                body,
                secret,
                others,
                position,
                now,
                tolerance,
                flip,
                xor,
            },
        )
}

/// A unix time `OffsetDateTime` accepts. It is usually near today and sometimes at the ends of
/// the range.
fn unix_time() -> impl Strategy<Value = i64> {
    let min = OffsetDateTime::new_utc(time::Date::MIN, time::Time::MIDNIGHT).unix_timestamp();
    let max = OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT).unix_timestamp();
    prop_oneof![
        3 => 1_600_000_000i64..1_900_000_000,
        1 => min..=max,
    ]
}
