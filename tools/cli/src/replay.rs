//! `chatsync replay`: open parked items queued again where they were parked from.
//!
//! Each item's payload (the queued message body, unchanged) goes back to its `replay_to`
//! queue in its original message group, so it keeps its place in its conversation's order,
//! with a fresh deduplication id: SQS drops a reused one within 5 minutes, and the first
//! attempt's id may be that recent. Then a Replay entry is recorded and the item closed.
//! Sending comes first: a crash before the close leaves the item open (visible, replayable
//! again) rather than closed with nothing sent.

use crate::errors::name;
use crate::failure::Failure;
use crate::{Context, table};
use serde::Serialize;
use shared::event::QueuedHead;
use shared::store::queue::FifoQueue;
use shared::store::synclog::{Logged, SyncLogWriter};
use shared::synclog::{Outcome, Stage, Step, SyncLogEntry};
use std::collections::HashMap;
use time::OffsetDateTime;

/// Who closes the items this command replays (noted on the item).
const CLOSED_BY: &str = "chatsync replay";

pub(crate) enum Which {
    /// The open parked items of one correlation id.
    Correlation(String),
    /// Every open parked item of a tenant, or of all tenants.
    Parked {
        tenant: Option<String>,
        since: Option<OffsetDateTime>,
        limit: i32,
    },
}

/// What to do with one open item.
#[derive(Debug, PartialEq)]
enum Plan {
    Replay { stage: Stage, group_id: String },
    Skip(String),
}

/// Decides for one open item, from what it holds alone.
fn plan(item: &Logged, include_ambiguous: bool) -> Plan {
    let Some(payload) = item.payload.as_deref() else {
        return Plan::Skip("no payload was kept, so there is nothing to replay".into());
    };
    let event = match serde_json::from_str::<QueuedHead>(payload) {
        Ok(event) => event,
        Err(e) => {
            return Plan::Skip(format!(
                "the payload is no queued event ({e}); it would fail again, see `chatsync log {}`",
                item.correlation_id
            ));
        }
    };
    let stage = item.replay_to.unwrap_or(match item.step {
        // Entries parked before `replay_to` was recorded: the parking step says where from;
        // for the drainer's, a resolution in the payload means it had left the resolver.
        Step::Resolve => Stage::Resolve,
        Step::Write => Stage::Write,
        _ if event.legacy_resolution.is_some() => Stage::Write,
        _ => Stage::Resolve,
    });
    if crate::action::is_identity_review(item) && stage == Stage::Resolve && !include_ambiguous {
        // The resolver parks on purpose (several people matched): a replay parks it again.
        return Plan::Skip(format!(
            "an identity review item: replayed it would be parked again; settle it with \
             `chatsync resolve {} --choose <Contact or Lead Id>` (or pass --include-ambiguous \
             once the tenant's multiple_matches or the org's data changed)",
            item.correlation_id
        ));
    }
    Plan::Replay {
        stage,
        group_id: item.group_id.clone().unwrap_or_else(|| event.group_id()),
    }
}

#[derive(Debug, Default, Serialize)]
struct Report {
    replayed: Vec<Replayed>,
    skipped: Vec<Skipped>,
    failed: Vec<Failed>,
}

#[derive(Debug, Serialize)]
struct Replayed {
    correlation_id: String,
    tenant_id: String,
    step: Step,
    stage: Stage,
    queue_url: String,
    group_id: String,
    dedupe_id: String,
    /// False when someone else closed the item meanwhile.
    closed: bool,
    /// What went wrong after the message was sent (recording or closing).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Skipped {
    correlation_id: String,
    tenant_id: String,
    step: Step,
    reason: String,
}

#[derive(Debug, Serialize)]
struct Failed {
    correlation_id: String,
    tenant_id: String,
    step: Step,
    error: String,
}

pub(crate) async fn run(
    ctx: &Context,
    which: Which,
    include_ambiguous: bool,
) -> Result<(), Failure> {
    let log = ctx.sync_log()?;
    let (items, progress) = match &which {
        Which::Correlation(id) => {
            let trail = log.trail(id).await?;
            if trail.is_empty() {
                return Err(Failure::NotFound(format!(
                    "no trail for correlation id {id}"
                )));
            }
            let open: Vec<Logged> = trail
                .into_iter()
                .filter(|e| e.open && e.outcome.is_open())
                .collect();
            if open.is_empty() {
                return Err(Failure::NotFound(format!(
                    "nothing open to replay for correlation id {id}"
                )));
            }
            (open, false)
        }
        Which::Parked {
            tenant,
            since,
            limit,
        } => {
            let mut open = Vec::new();
            for tenant in crate::tenants_or_all(ctx, tenant.as_deref()).await? {
                open.extend(log.open_since(&tenant, *since, *limit).await?);
            }
            // Oldest first: two items of one conversation go back in the order they came.
            open.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.sk.cmp(&b.sk)));
            (open, true)
        }
    };
    let plans: Vec<(Logged, Plan)> = items
        .into_iter()
        .map(|item| {
            let plan = plan(&item, include_ambiguous);
            (item, plan)
        })
        .collect();
    // Every queue needed is checked before anything is sent: no half-done run for a flag.
    let mut queues: HashMap<Stage, FifoQueue> = HashMap::new();
    for (_, plan) in &plans {
        if let Plan::Replay { stage, .. } = plan
            && !queues.contains_key(stage)
        {
            queues.insert(*stage, ctx.queue(*stage)?);
        }
    }
    let writer = SyncLogWriter::new(log.clone(), ctx.tenants()?);
    let total = plans
        .iter()
        .filter(|(_, p)| matches!(p, Plan::Replay { .. }))
        .count();
    let mut report = Report::default();
    for (item, plan) in plans {
        let (stage, group_id) = match plan {
            Plan::Skip(reason) => {
                eprintln!(
                    "skipped {} ({}, {}): {reason}",
                    item.correlation_id,
                    item.tenant_id,
                    name(item.step)
                );
                report.skipped.push(Skipped {
                    correlation_id: item.correlation_id.clone(),
                    tenant_id: item.tenant_id.clone(),
                    step: item.step,
                    reason,
                });
                continue;
            }
            Plan::Replay { stage, group_id } => (stage, group_id),
        };
        let Some(queue) = queues.get(&stage) else {
            continue;
        };
        match replay_one(&writer, queue, &item, stage, group_id).await {
            Ok(replayed) => report.replayed.push(replayed),
            Err(error) => {
                eprintln!(
                    "failed {} ({}): {error}",
                    item.correlation_id, item.tenant_id
                );
                report.failed.push(Failed {
                    correlation_id: item.correlation_id.clone(),
                    tenant_id: item.tenant_id.clone(),
                    step: item.step,
                    error,
                });
            }
        }
        if progress {
            eprintln!(
                "replayed {}/{total}",
                report.replayed.len() + report.failed.len()
            );
        }
    }
    print(ctx, &report)?;
    verdict(&which, &report)
}

/// Sends one item, records the replay and closes the item. An error only when nothing was sent.
async fn replay_one(
    writer: &SyncLogWriter,
    queue: &FifoQueue,
    item: &Logged,
    stage: Stage,
    group_id: String,
) -> Result<Replayed, String> {
    let payload = item.payload.as_deref().unwrap_or_default();
    let dedupe_id = format!("replay-{}", uuid::Uuid::new_v4().simple());
    queue
        .send(&group_id, &dedupe_id, payload)
        .await
        .map_err(|e| e.to_string())?;
    let queue_name = queue.url().rsplit('/').next().unwrap_or(queue.url());
    let mut entry = SyncLogEntry::new(
        &item.correlation_id,
        &item.tenant_id,
        item.platform,
        Step::Replay,
        Outcome::Ok,
        format!(
            "replayed to {queue_name} by {CLOSED_BY} (parked at the {} step)",
            name(item.step)
        ),
    )
    .replay_to(stage)
    .group_id(&group_id);
    entry.topic.clone_from(&item.topic);
    // Sent is sent: failures from here on are reported, not a reason to send again.
    let mut warnings = Vec::new();
    if let Err(e) = writer.record(&entry).await {
        warnings.push(format!("the replay was not recorded: {e}"));
    }
    let closed = match writer.table().close(item, CLOSED_BY).await {
        Ok(closed) => closed,
        Err(e) => {
            warnings.push(format!("the item was not closed: {e}"));
            false
        }
    };
    Ok(Replayed {
        correlation_id: item.correlation_id.clone(),
        tenant_id: item.tenant_id.clone(),
        step: item.step,
        stage,
        queue_url: queue.url().to_owned(),
        group_id,
        dedupe_id,
        closed,
        warnings,
    })
}

fn print(ctx: &Context, report: &Report) -> Result<(), Failure> {
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = report
        .replayed
        .iter()
        .map(|r| {
            let mut note = format!("group {}", r.group_id);
            if !r.closed {
                note.push_str(" · was already closed");
            }
            for w in &r.warnings {
                note.push_str(&format!(" · {w}"));
            }
            vec![
                r.correlation_id.clone(),
                r.tenant_id.clone(),
                name(r.step),
                r.stage.to_string(),
                note,
            ]
        })
        .collect();
    if !rows.is_empty() {
        println!(
            "{}",
            table::render(
                &["REPLAYED", "TENANT", "PARKED AT", "TO", "NOTE"],
                &rows,
                table::width()
            )
        );
    }
    eprintln!(
        "{} replayed, {} skipped, {} failed",
        report.replayed.len(),
        report.skipped.len(),
        report.failed.len()
    );
    Ok(())
}

/// The exit code: 1 when anything failed; for one correlation id, also when something of it
/// was left open, since the operator asked for exactly that id.
fn verdict(which: &Which, report: &Report) -> Result<(), Failure> {
    let warned = report.replayed.iter().any(|r| !r.warnings.is_empty());
    if !report.failed.is_empty() || warned {
        return Err(Failure::Other(format!(
            "{} item(s) failed to replay, {} replayed with warnings",
            report.failed.len(),
            report
                .replayed
                .iter()
                .filter(|r| !r.warnings.is_empty())
                .count()
        )));
    }
    if let Which::Correlation(id) = which
        && !report.skipped.is_empty()
    {
        return Err(Failure::Other(format!(
            "{} open item(s) of {id} not replayed (see above)",
            report.skipped.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::event::{Event, EventKind, QueuedEvent, RawPayload, SCHEMA_VERSION};
    use shared::platforms::Platform;

    fn event() -> QueuedEvent {
        let now = OffsetDateTime::now_utc();
        QueuedEvent {
            schema: SCHEMA_VERSION,
            correlation_id: "c1".into(),
            tenant_id: "acme".into(),
            platform: Platform::Intercom,
            delivery_id: "d1".into(),
            index: 0,
            count: 1,
            topic: "conversation.user.created".into(),
            conversation_key: "conversation:1".into(),
            occurred_at: now,
            received_at: now,
            event: Event::new(EventKind::ContactUpserted),
            raw: RawPayload::of("{}"),
            resolution: None,
        }
    }

    fn parked(step: Step, payload: Option<&str>) -> Logged {
        let mut entry = SyncLogEntry::new("c1", "acme", None, step, Outcome::Parked, "d");
        entry.payload = payload.map(str::to_owned);
        crate::testing::open_item(entry)
    }

    #[test]
    fn the_recorded_stage_and_group_win() {
        let body = serde_json::to_string(&event()).unwrap();
        let mut item = parked(Step::Park, Some(&body));
        item.entry.replay_to = Some(Stage::Write);
        item.entry.group_id = Some("original-group".into());
        assert_eq!(
            plan(&item, false),
            Plan::Replay {
                stage: Stage::Write,
                group_id: "original-group".into()
            }
        );
    }

    #[test]
    fn older_entries_fall_back_to_their_step_and_the_events_group() {
        let body = serde_json::to_string(&event()).unwrap();
        let group = event().group_id();
        assert_eq!(
            plan(&parked(Step::Write, Some(&body)), false),
            Plan::Replay {
                stage: Stage::Write,
                group_id: group.clone()
            }
        );
        assert_eq!(
            plan(&parked(Step::Park, Some(&body)), false),
            Plan::Replay {
                stage: Stage::Resolve,
                group_id: group
            }
        );
    }

    #[test]
    fn no_payload_an_unreadable_one_or_an_identity_review_is_not_replayed() {
        assert!(
            matches!(plan(&parked(Step::Write, None), false), Plan::Skip(r) if r.contains("no payload"))
        );
        assert!(
            matches!(plan(&parked(Step::Park, Some("not json")), false), Plan::Skip(r) if r.contains("no queued event"))
        );
        let body = serde_json::to_string(&event()).unwrap();
        let review = parked(Step::Resolve, Some(&body));
        assert!(matches!(plan(&review, false), Plan::Skip(r) if r.contains("chatsync resolve c1")));
        assert!(matches!(
            plan(&review, true),
            Plan::Replay {
                stage: Stage::Resolve,
                ..
            }
        ));
    }
}
