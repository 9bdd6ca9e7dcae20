//! The fault suite: whole conversations through the local stack while Salesforce misbehaves.
//! Each test prints its figures (events sent, landed, duplicated, lost, parked) and fails on
//! any loss or duplicate.

use chatsync_local::session::Session;
use chatsync_tests::at_rest;
use chatsync_tests::e2e::{self, drain, records};
use chatsync_tests::eventually;
use chatsync_tests::scenario::{self, Delivery, Visitor};
use serde_json::{Value, json};
use shared::store::synclog::SyncLogTable;
use shared::synclog::Outcome;
use std::time::Duration;
use time::OffsetDateTime;

/// The consumers' retry policy compressed for tests: seconds, not minutes.
fn fast_retries() -> Vec<(String, String)> {
    [
        ("RETRY_BASE_SECONDS", "1"),
        ("RETRY_CAP_SECONDS", "2"),
        ("RATE_LIMIT_HOLD_SECONDS", "2"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

async fn start() -> Session {
    e2e::start_with(Vec::new(), fast_retries(), None).await
}

async fn admin(session: &Session, path: &str, body: Value) -> Value {
    let url = session.salesforce_url.as_deref().expect("emulator");
    let resp = reqwest::Client::new()
        .post(format!("{url}/__emulator/{path}"))
        .json(&body)
        .send()
        .await
        .expect("emulator admin");
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap_or(Value::Null)
}

fn visitor(i: usize) -> Visitor {
    Visitor {
        contact_id: format!("fault-{i}"),
        name: format!("Ada Fault {i}"),
        email: format!("ada.fault.{i}@example.org"),
    }
}

/// Tables the at-rest scan leaves out: none (the tenants table holds no person).
const AT_REST_SKIP: &[&str] = &[];

/// What must never rest in clear: the visitors' e-mails and names, the card number they type,
/// the agent's e-mail.
fn needles(all: &[(String, Vec<Delivery>)]) -> Vec<String> {
    let mut needles = vec![
        scenario::CARD.to_owned(),
        scenario::CARD.replace(' ', ""),
        scenario::AGENT_EMAIL.to_owned(),
    ];
    for i in 0..all.len() {
        let v = visitor(i);
        needles.extend([v.email, v.name]);
    }
    needles
}

fn conversations(prefix: &str, n: usize) -> Vec<(String, Vec<Delivery>)> {
    let start = OffsetDateTime::now_utc().unix_timestamp() - 7200;
    (0..n)
        .map(|i| {
            let id = format!("{prefix}{i:03}");
            let deliveries = scenario::intercom_conversation(&id, &visitor(i), start + i as i64);
            (id, deliveries)
        })
        .collect()
}

/// Delivers every conversation's first step, then every second…, as chats interleave; the
/// number of events the intake queued.
async fn deliver_interleaved(session: &Session, all: &[(String, Vec<Delivery>)]) -> usize {
    let tenant = e2e::demo_tenant();
    let steps = all.iter().map(|(_, d)| d.len()).max().unwrap_or(0);
    let mut events = 0;
    for step in 0..steps {
        for (_, deliveries) in all {
            if let Some(d) = deliveries.get(step) {
                let (status, answer) = e2e::post_answer(session, &tenant, &d.body).await;
                assert_eq!(status, 202, "{}: {answer}", d.step);
                events += answer["events"].as_u64().unwrap_or(0) as usize;
                if let Some(c) = answer["correlation_id"].as_str() {
                    TRAILS.with(|t| t.borrow_mut().push((d.step, c.to_owned())));
                }
            }
        }
    }
    events
}

/// Drains the pipeline, running the drainer (redrives) until the DLQs are empty too; polls,
/// since held messages come back on their own time.
async fn settle(session: &Session, limit: Duration) {
    let sqs = aws_sdk_sqs::Client::new(&session.sdk);
    let started = tokio::time::Instant::now();
    loop {
        // The queues drain slowly while calls keep failing: the suite's own limit applies.
        let left = limit
            .saturating_sub(started.elapsed())
            .max(Duration::from_secs(5));
        session
            .wait_idle(left)
            .await
            .unwrap_or_else(|e| panic!("the pipeline did not drain in {limit:?}: {e}"));
        let mut dead = 0;
        for dlq in ["ResolveDeadLetterQueue", "WriteDeadLetterQueue"] {
            let url = session.plan.queue(dlq).expect("dlq").url.clone();
            let attrs = sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
                .send()
                .await
                .expect("attributes");
            for key in [
                aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages,
                aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            ] {
                dead += attrs
                    .attributes()
                    .and_then(|a| a.get(&key))
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(0);
            }
        }
        if dead == 0 {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "the pipeline did not settle in {limit:?} ({dead} dead letters)"
        );
        session
            .host
            .run_scheduled("retry-drainer")
            .await
            .expect("the drainer runs");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

thread_local! {
    /// Each delivery's step and correlation id, to show the trail of what went missing.
    static TRAILS: std::cell::RefCell<Vec<(&'static str, String)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Prints the sync log trail of every delivery of `step` (for a failure's diagnosis).
async fn dump_trails(session: &Session, steps: &[&str]) {
    let log = sync_log(session);
    let wanted: Vec<(&'static str, String)> = TRAILS.with(|t| {
        t.borrow()
            .iter()
            .filter(|(s, _)| steps.contains(s))
            .cloned()
            .collect()
    });
    for (step, id) in wanted {
        for e in log.trail(&id).await.unwrap_or_default() {
            eprintln!(
                "trail {step} {id}: {:?} {:?} {}",
                e.step, e.outcome, e.detail
            );
        }
    }
}

/// Per event, whether its effect is in Salesforce once, several times, or not at all.
#[derive(Debug, Default)]
struct Figures {
    sent: usize,
    landed: usize,
    duplicated: usize,
    lost: usize,
    parked: usize,
}

impl Figures {
    fn print(&self, suite: &str) {
        println!(
            "{suite}: events sent {}, landed {}, duplicated {}, lost {}, parked {}",
            self.sent, self.landed, self.duplicated, self.lost, self.parked
        );
    }

    /// Counts one event whose effect is in Salesforce `times` times; says which when it is not
    /// exactly once.
    fn count(&mut self, times: usize, what: &str) {
        match times {
            0 => {
                self.lost += 1;
                eprintln!("lost: {what}");
            }
            1 => self.landed += 1,
            _ => {
                self.duplicated += 1;
                eprintln!("duplicated ({times} times): {what}");
            }
        }
    }
}

/// Checks every conversation's 13 events in what landed: each message once in the transcript,
/// one Case and one Task, and the start, tag, assignment, priority and close in their fields.
async fn tally(session: &Session, all: &[(String, Vec<Delivery>)]) -> Figures {
    let cases = records(session, "Case").await;
    let tasks = records(session, "Task").await;
    let mut f = Figures::default();
    for (id, _) in all {
        let key = format!("demo:intercom:{id}");
        let case: Vec<&Value> = cases
            .iter()
            .filter(|c| c["Chat_Conversation_Id__c"] == json!(key))
            .collect();
        let task: Vec<&Value> = tasks
            .iter()
            .filter(|t| t["Chat_Transcript_Key__c"] == json!(format!("{key}#1")))
            .collect();
        // The start: one Case and one Task (either twice is a duplicate).
        let start = if case.len() > 1 || task.len() > 1 {
            2
        } else {
            case.len().min(task.len())
        };
        f.count(
            start,
            &format!("{id}: {} Case(s), {} Task(s)", case.len(), task.len()),
        );
        for (name, value) in [
            ("Type", "Other"),
            ("OwnerId", "00G000000000BILEA2"),
            ("Priority", "High"),
            ("Status", "Closed"),
        ] {
            let landed = usize::from(case.len() == 1 && case[0][name] == json!(value));
            let now = case.first().map_or(Value::Null, |c| c[name].clone());
            f.count(
                landed,
                &format!("{id}: Case.{name} is {now}, not {value:?}"),
            );
        }
        let transcript = task
            .first()
            .and_then(|t| t["Description"].as_str())
            .unwrap_or_default();
        for text in scenario::message_texts(id) {
            let text = text.replace(scenario::CARD, "[card number removed]");
            f.count(
                transcript.matches(&text).count(),
                &format!("{id}: {text:?} in the transcript"),
            );
        }
    }
    f
}

/// Tallies what landed and what is still open, prints the figures under `suite`, and fails on
/// any loss, duplicate or open item, or when not every event of `all` landed. On a failure,
/// the trails of what went missing or stayed open are printed first.
async fn conclude(session: &Session, all: &[(String, Vec<Delivery>)], sent: usize, suite: &str) {
    let figures = Figures {
        sent,
        parked: parked(session).await,
        ..tally(session, all).await
    };
    figures.print(suite);
    if figures.lost > 0 {
        dump_trails(session, &["tagged", "assigned to a team"]).await;
    }
    if figures.parked > 0 {
        dump_open(session).await;
    }
    assert_eq!(figures.lost, 0, "{figures:?}");
    assert_eq!(figures.duplicated, 0, "{figures:?}");
    assert_eq!(figures.parked, 0, "nothing left open: {figures:?}");
    let events: usize = all
        .iter()
        .map(|(id, _)| 1 + 4 + scenario::message_texts(id).len())
        .sum();
    assert_eq!(figures.landed, events, "{figures:?}");
}

/// Prints each open item of the demo tenant with its trail.
async fn dump_open(session: &Session) {
    let log = sync_log(session);
    for item in log.open("demo", 100).await.unwrap_or_default() {
        eprintln!(
            "still open: {} {:?} {}",
            item.correlation_id, item.step, item.detail
        );
        for e in log.trail(&item.correlation_id).await.unwrap_or_default() {
            eprintln!(
                "  {} {:?} {:?} open={} {}",
                e.at, e.step, e.outcome, e.open, e.detail
            );
        }
    }
}

fn sync_log(session: &Session) -> SyncLogTable {
    SyncLogTable::new(
        aws_sdk_dynamodb::Client::new(&session.sdk),
        session.table("SyncLogTable").expect("sync log"),
    )
}

async fn parked(session: &Session) -> usize {
    let log = sync_log(session);
    log.open("demo", 1000)
        .await
        .expect("open items")
        .iter()
        .filter(|e| e.outcome == Outcome::Parked)
        .count()
}

/// Conversations through Salesforce failing at `refused` (a row lock, 503, an HTML 500, in
/// equal parts) plus `dropped` (the connection dropped after Salesforce did the work, the
/// answer lost as in a timeout): everything lands once, nothing is parked.
async fn under_faults(prefix: &str, n: usize, refused: f64, dropped: f64, limit: Duration) {
    let session = start().await;
    admin(
        &session,
        "faults",
        json!({"faults": [
            {"errors": ["UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "HTML_500"], "rate": refused, "path": "/services/data"},
            {"error": "DROP", "applied": true, "rate": dropped, "path": "/services/data"}
        ]}),
    )
    .await;
    let all = conversations(prefix, n);
    let sent = deliver_interleaved(&session, &all).await;
    settle(&session, limit).await;
    admin(&session, "faults", json!({"clear": true})).await;
    let percent = ((refused + dropped) * 100.0).round();
    conclude(
        &session,
        &all,
        sent,
        &format!("fault suite, {percent} % of Salesforce calls failing"),
    )
    .await;
    session.stop().await;
}

#[tokio::test]
async fn a_fifth_of_salesforce_calls_failing_loses_and_duplicates_nothing() {
    under_faults("f", 50, 0.15, 0.05, Duration::from_secs(240)).await;
}

#[tokio::test]
async fn forty_percent_of_salesforce_calls_failing_loses_and_duplicates_nothing() {
    under_faults("h", 12, 0.3, 0.1, Duration::from_secs(600)).await;
}

#[tokio::test]
async fn the_daily_limit_spent_mid_run_holds_everything_until_it_resets() {
    let session = start().await;
    let all = conversations("l", 10);
    let (first, rest) = all.split_at(5);
    let mut sent = deliver_interleaved(&session, first).await;
    drain(&session).await;
    // The org's daily allowance runs out: every further call answers REQUEST_LIMIT_EXCEEDED.
    admin(&session, "limits", json!({"exhaust": true})).await;
    sent += deliver_interleaved(&session, rest).await;
    // Held messages come back after the hold, meet the limit again, and end in the DLQ; the
    // drainer leaves or redrives them, never parks them for it.
    for _ in 0..3 {
        session
            .host
            .run_scheduled("retry-drainer")
            .await
            .expect("the drainer runs");
        tokio::task::yield_now().await;
    }
    let log = sync_log(&session);
    let open = log.open("demo", 1000).await.expect("open items");
    let reasons: Vec<String> = open.iter().take(3).map(|e| e.detail.clone()).collect();
    assert_eq!(open.len(), 0, "nothing parked for the limit: {reasons:#?}");
    // The rolling 24-hour window moves on: the usage falls back.
    admin(&session, "limits", json!({"reset_usage": true})).await;
    settle(&session, Duration::from_secs(240)).await;
    conclude(
        &session,
        &all,
        sent,
        "fault suite, daily API limit spent mid-run",
    )
    .await;
    session.stop().await;
}

#[tokio::test]
async fn a_validation_rule_makes_one_review_item_and_replay_lands_it_once_fixed() {
    let session = start().await;
    admin(
        &session,
        "validation-rules",
        json!({"object": "Case", "name": "No_high_priority_from_chat", "field": "Priority",
               "when": {"equals": "High"}, "error_field": "Priority",
               "message": "Only a supervisor sets High priority."}),
    )
    .await;
    let all = conversations("v", 1);
    let (id, deliveries) = &all[0];
    let priority = deliveries
        .iter()
        .position(|d| d.step == "priority")
        .expect("a priority step");
    // Up to the priority change: the rule refuses it.
    let sent =
        deliver_interleaved(&session, &[(id.clone(), deliveries[..=priority].to_vec())]).await;
    settle(&session, Duration::from_secs(60)).await;
    let log = sync_log(&session);
    let open = log.open("demo", 100).await.expect("open items");
    assert_eq!(open.len(), 1, "one review item: {open:#?}");
    assert!(
        open[0]
            .detail
            .contains("Only a supervisor sets High priority."),
        "the reason in plain words: {}",
        open[0].detail
    );
    let review_id = open[0].correlation_id.clone();

    // The admin fixes the rule; the operator replays the item.
    let url = session.salesforce_url.as_deref().expect("emulator");
    let removed = reqwest::Client::new()
        .delete(format!(
            "{url}/__emulator/validation-rules/No_high_priority_from_chat"
        ))
        .send()
        .await
        .expect("rule removed");
    assert!(removed.status().is_success());
    let (status, output) = e2e::cli(&session, &["replay", &review_id]).await;
    assert_eq!(status, Some(0), "chatsync replay succeeds: {output}");
    settle(&session, Duration::from_secs(60)).await;
    let case = records(&session, "Case")
        .await
        .into_iter()
        .find(|c| c["Chat_Conversation_Id__c"] == json!(format!("demo:intercom:{id}")))
        .expect("the Case");
    assert_eq!(case["Priority"], "High", "the replayed priority landed");
    assert!(
        log.open("demo", 100).await.expect("open").is_empty(),
        "the item is closed"
    );
    // The review item kept its event sealed: nothing personal in clear in any table.
    let scan = at_rest::in_clear(&session.sdk, &session.plan, &needles(&all), AT_REST_SKIP).await;
    assert!(scan.items > 0);
    assert!(scan.found.is_empty(), "in clear: {:#?}", scan.found);
    Figures {
        sent,
        landed: 1,
        ..Figures::default()
    }
    .print("fault suite, validation rule then replay");
    session.stop().await;
}

/// Kills the resolver or the writer process at pseudo-random points (100–500 ms apart) until
/// told to stop; counts the kills that hit a running process.
struct Killer {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    kills: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Killer {
    fn start(session: &Session, seed: u64) -> Self {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let stop = Arc::new(AtomicBool::new(false));
        let kills = Arc::new(AtomicUsize::new(0));
        let victims = [
            session
                .host
                .function("identity-resolver")
                .expect("resolver"),
            session.host.function("case-writer").expect("writer"),
        ];
        let task = {
            let (stop, kills) = (stop.clone(), kills.clone());
            tokio::spawn(async move {
                // A fixed pseudo-random schedule (LCG), so a failing run can be told apart.
                let mut seed = seed;
                while !stop.load(Ordering::SeqCst) {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    let wait = 100 + (seed >> 33) % 400;
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                    let victim = &victims[((seed >> 20) % 2) as usize];
                    if victim.crash().await {
                        kills.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        };
        Self { stop, kills, task }
    }

    fn kills(&self) -> usize {
        self.kills.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits until at least `n` kills have hit, then stops; the number of kills.
    async fn stop_after(self, n: usize) -> usize {
        eventually(Duration::from_secs(60), "enough kills", || async {
            (self.kills() >= n).then_some(())
        })
        .await;
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let kills = self.kills.clone();
        self.task.await.expect("the killer stops");
        kills.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[tokio::test]
async fn killing_the_resolver_and_writer_at_random_points_loses_and_duplicates_nothing() {
    // Killed invocations' messages come back after a second (the host's time compression).
    let session = e2e::start_with(Vec::new(), fast_retries(), Some(Duration::from_secs(1))).await;
    let all = conversations("k", 20);
    let killer = Killer::start(&session, 0x5eed_c4a7);
    let sent = deliver_interleaved(&session, &all).await;
    // Let the killing go on while the pipeline works through the backlog.
    let kills = killer.stop_after(10).await;
    settle(&session, Duration::from_secs(240)).await;
    conclude(
        &session,
        &all,
        sent,
        &format!("crash injection, resolver and writer killed {kills} times"),
    )
    .await;
    session.stop().await;
}

#[tokio::test]
async fn killing_the_resolver_and_writer_during_a_replay_loses_and_duplicates_nothing() {
    let session = e2e::start_with(Vec::new(), fast_retries(), Some(Duration::from_secs(1))).await;
    // An admin's rule refuses every chat Case: every event that writes is parked.
    admin(
        &session,
        "validation-rules",
        json!({"object": "Case", "name": "No_web_cases", "field": "Origin",
               "when": {"equals": "Web"}, "message": "Web cases are paused."}),
    )
    .await;
    let all = conversations("r", 10);
    let sent = deliver_interleaved(&session, &all).await;
    settle(&session, Duration::from_secs(240)).await;
    let parked_before = parked(&session).await;
    assert!(
        parked_before >= 10,
        "at least each conversation's first write is parked: {parked_before}"
    );
    assert!(
        records(&session, "Case").await.is_empty(),
        "the rule let no Case in"
    );

    // The rule is lifted; the operator replays everything while processes die.
    let url = session.salesforce_url.as_deref().expect("emulator");
    let removed = reqwest::Client::new()
        .delete(format!("{url}/__emulator/validation-rules/No_web_cases"))
        .send()
        .await
        .expect("rule removed");
    assert!(removed.status().is_success());
    let killer = Killer::start(&session, 0x00c0_ffee);
    let (status, output) = e2e::cli(
        &session,
        &["replay", "--parked", "--tenant", "demo", "--json"],
    )
    .await;
    assert_eq!(
        status,
        Some(0),
        "chatsync replay --parked succeeds: {output}"
    );
    // Processes keep dying while the replayed events are worked through.
    let kills = killer.stop_after(10).await;
    settle(&session, Duration::from_secs(240)).await;
    conclude(
        &session,
        &all,
        sent,
        &format!(
            "crash injection during a replay of {parked_before} review items, resolver and writer killed {kills} times"
        ),
    )
    .await;
    session.stop().await;
}

#[tokio::test]
async fn an_outage_holds_every_event_and_they_land_once_salesforce_recovers() {
    let session = start().await;
    // Salesforce answers 503 to everything: events go through their retries to the DLQs, and
    // the drainer holds them there (redriving with a growing wait) instead of parking them.
    admin(
        &session,
        "faults",
        json!({"faults": [
            {"error": "SERVER_UNAVAILABLE", "rate": 1.0, "path": "/services"}
        ]}),
    )
    .await;
    let all = conversations("o", 10);
    let sent = deliver_interleaved(&session, &all).await;
    // The outage lasts while every event has been to a DLQ and been redriven a few times.
    let sqs = aws_sdk_sqs::Client::new(&session.sdk);
    let dlq = session
        .plan
        .queue("ResolveDeadLetterQueue")
        .expect("dlq")
        .url
        .clone();
    let mut runs = 0;
    while runs < 6 {
        drain(&session).await;
        let depth = chatsync_local::host::queue_depth(&sqs, &dlq)
            .await
            .unwrap_or(0);
        if depth > 0 || runs > 0 {
            session
                .host
                .run_scheduled("retry-drainer")
                .await
                .expect("the drainer runs");
            runs += 1;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(parked(&session).await, 0, "an outage parks nothing");
    // What waits in the queues and dead-letter queues, and the sync log, hold no e-mail,
    // name or card number in clear.
    let scan = at_rest::in_clear(&session.sdk, &session.plan, &needles(&all), AT_REST_SKIP).await;
    assert!(scan.messages >= sent, "every queued event was read");
    assert!(scan.found.is_empty(), "in clear: {:#?}", scan.found);
    // Salesforce recovers: everything lands, once.
    admin(&session, "faults", json!({"clear": true})).await;
    settle(&session, Duration::from_secs(300)).await;
    conclude(
        &session,
        &all,
        sent,
        "fault suite, Salesforce down then back",
    )
    .await;
    session.stop().await;
}
