//! `chatsync log`: one correlation id's trail as a timeline.

use crate::errors::name;
use crate::failure::Failure;
use crate::{Context, table};
use serde_json::Value;
use shared::store::synclog::{Logged, SyncLogTable};
use shared::synclog::payload;

pub(crate) async fn run(
    ctx: &Context,
    correlation_id: &str,
    payloads: bool,
) -> Result<(), Failure> {
    let log = ctx.sync_log()?;
    let trail = log.trail(correlation_id).await?;
    if trail.is_empty() {
        return Err(Failure::NotFound(format!(
            "no trail for correlation id {correlation_id}"
        )));
    }
    let documents = if payloads {
        documents(&log, &trail).await?
    } else {
        Vec::new()
    };
    if ctx.json {
        // Without --payloads the output stays the bare trail scripts already read.
        let out = if payloads {
            let documents: serde_json::Map<String, Value> = documents.into_iter().collect();
            serde_json::json!({ "trail": trail, "payloads": documents })
        } else {
            serde_json::to_value(&trail)?
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{}", render(correlation_id, &trail));
        for (reference, doc) in documents {
            println!("\n{reference}\n{}", serde_json::to_string_pretty(&doc)?);
        }
    }
    Ok(())
}

/// The payload documents the trail refers to, each once, in trail order. One that has expired
/// (its TTL passed) or cannot be read is shown as such, not fatal: the trail still stands.
async fn documents(log: &SyncLogTable, trail: &[Logged]) -> Result<Vec<(String, Value)>, Failure> {
    let mut out: Vec<(String, Value)> = Vec::new();
    for reference in trail.iter().filter_map(|e| e.payload_ref.as_deref()) {
        if out.iter().any(|(r, _)| r == reference) {
            continue;
        }
        let doc = match log.payload(reference).await? {
            Some((_, bytes)) => payload::unpack(&bytes)
                .unwrap_or_else(|e| Value::String(format!("unreadable: {e}"))),
            None => Value::String("expired or never stored".into()),
        };
        out.push((reference.to_owned(), doc));
    }
    Ok(out)
}

fn render(correlation_id: &str, trail: &[Logged]) -> String {
    let mut tenants: Vec<&str> = trail.iter().map(|e| e.tenant_id.as_str()).collect();
    tenants.sort_unstable();
    tenants.dedup();
    let mut out = format!(
        "correlation {correlation_id} · tenant {}\n",
        tenants.join(", ")
    );
    let rows: Vec<Vec<String>> = trail
        .iter()
        .map(|e| {
            vec![
                table::time(e.at),
                name(e.step),
                outcome(e),
                if e.records.is_empty() {
                    "-".into()
                } else {
                    e.records.join(",")
                },
                detail(e),
            ]
        })
        .collect();
    // The detail is what an operator reads the timeline for: never cut it.
    out.push_str(&table::render(
        &["TIME (UTC)", "STEP", "OUTCOME", "RECORDS", "DETAIL"],
        &rows,
        usize::MAX / 2,
    ));
    out
}

/// `parked (open)` until someone settles it, `parked (closed)` after.
fn outcome(e: &Logged) -> String {
    let outcome = name(e.outcome);
    match (e.outcome.is_open(), e.open) {
        (true, true) => format!("{outcome} (open)"),
        (true, false) => format!("{outcome} (closed)"),
        _ => outcome,
    }
}

fn detail(e: &Logged) -> String {
    let mut detail = e.detail.clone();
    if let Some(class) = e.error_class {
        detail = format!("[{}] {detail}", name(class));
    }
    if let (Some(at), Some(by)) = (e.closed_at, &e.closed_by) {
        detail.push_str(&format!(" · closed {} by {by}", table::time(at)));
    }
    if let Some(reference) = &e.payload_ref {
        detail.push_str(&format!(" · payload {reference}"));
    }
    detail
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::synclog::{Outcome, Step, SyncLogEntry};
    use time::macros::datetime;

    fn logged(step: Step, outcome: Outcome, detail: &str, minute: u8) -> Logged {
        let mut entry = SyncLogEntry::new("c1", "acme", None, step, outcome, detail);
        entry.at = datetime!(2024-05-01 10:00:00 UTC) + time::Duration::minutes(minute.into());
        Logged {
            sk: format!("sk{minute}"),
            entry,
            open: false,
            closed_at: None,
            closed_by: None,
        }
    }

    #[test]
    fn the_timeline_shows_each_step_and_who_closed_a_parked_item() {
        let mut parked = logged(Step::Write, Outcome::Parked, "not written", 1);
        parked.closed_at = Some(datetime!(2024-05-01 11:00:00 UTC));
        parked.closed_by = Some("chatsync replay".into());
        let mut written = logged(Step::Write, Outcome::Ok, "case created", 2);
        written.entry.records = vec!["500A".into(), "003B".into()];
        let text = render(
            "c1",
            &[
                logged(Step::Intake, Outcome::Ok, "accepted", 0),
                parked,
                written,
            ],
        );
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines[0], "correlation c1 · tenant acme");
        assert!(lines[1].starts_with("TIME (UTC)"));
        assert!(lines[2].contains("intake") && lines[2].ends_with("accepted"));
        assert!(
            lines[3].contains("parked (closed)")
                && lines[3].ends_with("closed 2024-05-01 11:00:00 by chatsync replay"),
            "{}",
            lines[3]
        );
        assert!(lines[4].contains("500A,003B"), "{}", lines[4]);
    }
}
