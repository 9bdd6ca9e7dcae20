//! The operator's view of what went wrong, through the real `chatsync` binary against moto:
//! `errors` lists open items across tenants, `replay` queues them again where they were
//! parked from and closes them, `log` shows the whole trail. The binary is not rebuilt by this
//! suite: `cargo build -p chatsync-cli` first (`make test` builds every binary).

use chatsync_tests::{LocalAws, contact_event, repo_root};
use serde_json::Value;
use shared::event::{QueuedEvent, Visitor};
use shared::store::synclog::SyncLogTable;
use shared::synclog::{Outcome, Stage, Step, SyncLogEntry, UNREADABLE_TENANT};
use std::path::PathBuf;
use time::{Duration, OffsetDateTime};

/// The `chatsync` binary beside the test executable (or in `CHATSYNC_BIN_DIR`).
fn chatsync_bin() -> PathBuf {
    let dir = std::env::var("CHATSYNC_BIN_DIR").map_or_else(
        // Test executables live in <target>/debug/deps.
        |_| {
            std::env::current_exe()
                .ok()
                .and_then(|exe| Some(exe.parent()?.parent()?.to_owned()))
                .unwrap_or_default()
        },
        PathBuf::from,
    );
    let bin = dir.join("chatsync");
    assert!(
        bin.exists(),
        "{} is not built: run `cargo build -p chatsync-cli` first",
        bin.display()
    );
    bin
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}\n{}", self.stdout, self.stderr))
    }
}

struct Stack {
    aws: LocalAws,
    log: SyncLogTable,
    now: OffsetDateTime,
}

impl Stack {
    async fn cli(&self, args: &[&str]) -> Run {
        let drainer = self.aws.env("retry-drainer");
        let out = tokio::process::Command::new(chatsync_bin())
            .args(args)
            .envs(self.aws.moto.env())
            .env("TENANTS_TABLE", &drainer["TENANTS_TABLE"])
            .env("SYNC_LOG_TABLE", &drainer["SYNC_LOG_TABLE"])
            .env(
                "TENANT_SECRET_PREFIX",
                self.aws.env("webhook-intake")["TENANT_SECRET_PREFIX"].as_str(),
            )
            .env("RESOLVE_QUEUE_URL", self.aws.queue_url("ResolveQueue"))
            .env("WRITE_QUEUE_URL", self.aws.queue_url("WriteQueue"))
            .env("EVENT_KEY_ARN", &drainer["EVENT_KEY_ARN"])
            .env("COLUMNS", "160")
            .output()
            .await
            .expect("chatsync runs");
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Messages on a queue as (group id, body); received, so each is seen once.
    async fn receive(&self, queue: &str) -> Vec<(String, String)> {
        use aws_sdk_sqs::types::MessageSystemAttributeName;
        let out = self
            .aws
            .sqs()
            .receive_message()
            .queue_url(self.aws.queue_url(queue))
            .max_number_of_messages(10)
            .visibility_timeout(300)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .expect("receive");
        out.messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let group = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
                    .cloned()
                    .unwrap_or_default();
                (group, m.body.unwrap_or_default())
            })
            .collect()
    }

    /// Appends an entry as a function would, `minutes_ago` before the test's start.
    async fn append(&self, entry: SyncLogEntry, minutes_ago: i64) {
        let mut entry = entry;
        entry.at = self.now - Duration::minutes(minutes_ago);
        self.log.append(&entry, 30).await.expect("appended");
    }
}

/// The same event each time it is asked for (fixed times), so payloads compare equal.
fn event(tenant: &str, id: &str) -> QueuedEvent {
    let mut event = contact_event(
        tenant,
        id,
        Visitor {
            email: Some(format!("{id}@example.com")),
            ..Visitor::default()
        },
    );
    event.occurred_at = time::macros::datetime!(2024-05-01 10:00 UTC);
    event.received_at = event.occurred_at;
    event
}

fn parked(event: &QueuedEvent, step: Step, stage: Stage) -> SyncLogEntry {
    SyncLogEntry::new(
        &event.correlation_id,
        &event.tenant_id,
        event.platform,
        step,
        Outcome::Parked,
        format!("{} parked at {step:?}", event.correlation_id),
    )
    .topic(&event.topic)
    .attempts(3)
    .payload(&serde_json::to_string(event).expect("event serializes"))
    .replay_to(stage)
    .group_id(&event.group_id())
}

/// Two tenants' review items and one unreadable dead letter:
///
/// | id     | tenant      | parked at | age   |
/// |--------|-------------|-----------|-------|
/// | corr-d | acme        | resolve   | 1 m   | (ambiguous identity)
/// | corr-c | acme        | write     | 5 m   |
/// | corr-b | demo        | park      | 10 m  | (dead letter of resolve)
/// | msg-e  | _unreadable | park      | 2 h   |
/// | corr-a | demo        | write     | 3 h   | (after an intake entry)
async fn stack() -> Stack {
    let aws = LocalAws::start().await;
    aws.load_demo_tenant().await;
    let env = aws.env("webhook-intake");
    let mut acme =
        chatsync_local::session::read_tenant(&repo_root().join("events/tenants/demo.toml"))
            .expect("demo tenant parses");
    acme.config.tenant_id = "acme".into();
    shared::store::tenants::put_tenant(
        &acme,
        &shared::store::tenants::TenantTable::new(aws.dynamo(), &env["TENANTS_TABLE"]),
        &shared::store::secrets::TenantSecretStore::new(
            aws_sdk_secretsmanager::Client::new(&aws.sdk),
            &env["TENANT_SECRET_PREFIX"],
        ),
    )
    .await
    .expect("second tenant stored");
    let log = SyncLogTable::new(aws.dynamo(), aws.table("SyncLogTable"));
    let s = Stack {
        aws,
        log,
        now: OffsetDateTime::now_utc(),
    };
    let a = event("demo", "corr-a");
    s.append(
        SyncLogEntry::new(
            "corr-a",
            "demo",
            a.platform,
            Step::Intake,
            Outcome::Ok,
            "queued",
        ),
        181,
    )
    .await;
    s.append(
        parked(&a, Step::Write, Stage::Write).error_class(shared::error::ErrorClass::Data),
        180,
    )
    .await;
    s.append(
        parked(&event("demo", "corr-b"), Step::Park, Stage::Resolve),
        10,
    )
    .await;
    s.append(
        parked(&event("acme", "corr-c"), Step::Write, Stage::Write),
        5,
    )
    .await;
    s.append(
        parked(&event("acme", "corr-d"), Step::Resolve, Stage::Resolve),
        1,
    )
    .await;
    let mut unreadable = SyncLogEntry::new(
        "msg-e",
        UNREADABLE_TENANT,
        None,
        Step::Park,
        Outcome::Parked,
        "unreadable message in the write dead-letter queue",
    )
    .payload("garbage")
    .replay_to(Stage::Write);
    unreadable.group_id = Some("g".into());
    s.append(unreadable, 120).await;
    s
}

fn ids(items: &Value) -> Vec<&str> {
    items
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|i| i["correlation_id"].as_str().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn errors_lists_open_items_of_every_tenant_newest_first_and_filters() {
    let s = stack().await;
    assert_eq!(
        retry_drainer::UNKNOWN_TENANT,
        UNREADABLE_TENANT,
        "the drainer files unreadable messages where errors looks"
    );

    // A readable table: one line per item, newest first, reasons cut to the width
    let run = s.cli(&["errors"]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 6 + 2 + 5, "{}", run.stdout);
    assert!(lines[0].starts_with("TIME (UTC)") && lines[0].contains("CORRELATION ID"));
    let order: Vec<usize> = ["corr-d", "corr-c", "corr-b", "msg-e", "corr-a"]
        .iter()
        .map(|id| lines.iter().position(|l| l.contains(id)).unwrap_or(0))
        .collect();
    assert_eq!(order, [1, 2, 3, 4, 5], "{}", run.stdout);
    let oldest: Vec<&str> = lines[5].split_whitespace().collect();
    assert_eq!(
        oldest[2..7],
        ["demo", "corr-a", "write", "data", "3"],
        "{}",
        lines[5]
    );
    assert!(lines[..6].iter().all(|l| l.chars().count() <= 160));
    // Then, uncut, the action that settles each item.
    assert_eq!(lines[7], "to settle:", "{}", run.stdout);
    assert!(
        lines[8..]
            .iter()
            .any(|l| l.trim_start().starts_with("corr-a") && l.contains("`chatsync replay corr-a`")),
        "{}",
        run.stdout
    );

    // JSON: the same items, without payloads
    let all = s.cli(&["errors", "--json"]).await.json();
    assert_eq!(ids(&all), ["corr-d", "corr-c", "corr-b", "msg-e", "corr-a"]);
    assert_eq!(all[0]["replay_to"], "resolve");
    assert_eq!(all[0]["has_payload"], true);
    assert!(all[0].get("payload").is_none());

    // --tenant and --since, in both of its forms
    let acme = s
        .cli(&["errors", "--tenant", "acme", "--json"])
        .await
        .json();
    assert_eq!(ids(&acme), ["corr-d", "corr-c"]);
    let recent = s.cli(&["errors", "--since", "30m", "--json"]).await.json();
    assert_eq!(ids(&recent), ["corr-d", "corr-c", "corr-b"]);
    let since = shared::rfc3339(s.now - Duration::minutes(150));
    let from = s.cli(&["errors", "--since", &since, "--json"]).await.json();
    assert_eq!(ids(&from), ["corr-d", "corr-c", "corr-b", "msg-e"]);

    // Nothing open is no failure; a wrong --since is a usage error
    let none = s.cli(&["errors", "--tenant", "nobody", "--json"]).await;
    assert_eq!(none.code, Some(0));
    assert_eq!(ids(&none.json()), Vec::<&str>::new());
    let bad = s.cli(&["errors", "--since", "yesterday"]).await;
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);

    // Saving a tenant again (its setup fixed) points at its open items and how to replay them
    let demo = chatsync_tests::repo_root().join("events/tenants/demo.toml");
    let put = s
        .cli(&[
            "tenant",
            "put",
            demo.to_str().expect("path"),
            "--skip-org-check",
        ])
        .await;
    assert_eq!(put.code, Some(0), "{}", put.stderr);
    assert!(
        put.stderr.contains("item(s) of tenant demo are open")
            && put
                .stderr
                .contains("chatsync replay --parked --tenant demo"),
        "{}",
        put.stderr
    );
    s.aws.moto.stop().await;
}

#[tokio::test]
async fn replay_queues_parked_items_again_closes_them_and_log_shows_it() {
    let s = stack().await;
    let payload = |id: &str, tenant: &str| serde_json::to_string(&event(tenant, id)).unwrap();

    // WHEN one write-step item is replayed by its correlation id
    let run = s.cli(&["replay", "corr-a"]).await;
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    // THEN its payload is on write.fifo, unchanged, in its original group
    let written = s.receive("WriteQueue").await;
    assert_eq!(
        written,
        [(
            event("demo", "corr-a").group_id(),
            payload("corr-a", "demo")
        )]
    );
    // AND it has left the open list, so a second replay finds nothing
    let open = s
        .cli(&["errors", "--tenant", "demo", "--json"])
        .await
        .json();
    assert_eq!(ids(&open), ["corr-b"]);
    let again = s.cli(&["replay", "corr-a"]).await;
    assert_eq!(again.code, Some(3), "{}", again.stderr);
    assert!(s.receive("WriteQueue").await.is_empty());

    // A dead letter of the resolve step goes back to resolve.fifo
    let run = s.cli(&["replay", "corr-b", "--json"]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.json()["replayed"][0]["stage"], "resolve");
    assert_eq!(
        s.receive("ResolveQueue").await,
        [(
            event("demo", "corr-b").group_id(),
            payload("corr-b", "demo")
        )]
    );

    // WHEN all of a tenant's parked items are replayed
    let run = s
        .cli(&["replay", "--parked", "--tenant", "acme", "--json"])
        .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let report = run.json();
    // THEN the write item goes; the identity review item is left for `chatsync resolve`
    assert_eq!(ids(&report["replayed"]), ["corr-c"]);
    assert_eq!(ids(&report["skipped"]), ["corr-d"]);
    assert!(
        report["skipped"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("chatsync resolve corr-d")),
        "{report}"
    );
    assert!(run.stderr.contains("replayed 1/1"), "{}", run.stderr);
    assert_eq!(
        s.receive("WriteQueue").await,
        [(
            event("acme", "corr-c").group_id(),
            payload("corr-c", "acme")
        )]
    );
    let open = s
        .cli(&["errors", "--tenant", "acme", "--json"])
        .await
        .json();
    assert_eq!(ids(&open), ["corr-d"]);

    // An item without a payload is never replayed, and stays open
    let mut bare = SyncLogEntry::new(
        "corr-f",
        "demo",
        None,
        Step::Write,
        Outcome::Parked,
        "no body",
    );
    bare.replay_to = Some(Stage::Write);
    s.append(bare, 0).await;
    let run = s.cli(&["replay", "corr-f"]).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stderr.contains("no payload"), "{}", run.stderr);
    assert!(s.receive("WriteQueue").await.is_empty());
    let open = s
        .cli(&["errors", "--tenant", "demo", "--json"])
        .await
        .json();
    assert_eq!(ids(&open), ["corr-f"]);

    // The timeline shows the parked step, its replay and who closed it
    let run = s.cli(&["log", "corr-a"]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", run.stdout);
    assert!(lines[0].contains("corr-a") && lines[0].contains("demo"));
    assert!(lines[2].contains("intake"), "{}", run.stdout);
    assert!(
        lines[3].contains("parked (closed)") && lines[3].contains("by chatsync replay"),
        "{}",
        run.stdout
    );
    assert!(
        lines[4].contains("replay") && lines[4].contains("replayed to"),
        "{}",
        run.stdout
    );
    let trail = s.cli(&["log", "corr-a", "--json"]).await.json();
    let steps: Vec<&str> = trail
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["step"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(steps, ["intake", "write", "replay"]);
    assert_eq!(trail[1]["open"], false);
    assert_eq!(trail[1]["closed_by"], "chatsync replay");
    assert_eq!(trail[2]["replay_to"], "write");
    assert_eq!(s.cli(&["log", "no-such-id"]).await.code, Some(3));

    // Usage: one of a correlation id or --parked
    assert_eq!(s.cli(&["replay"]).await.code, Some(2));
    assert_eq!(s.cli(&["replay", "corr-d", "--parked"]).await.code, Some(2));
    s.aws.moto.stop().await;
}
