//! `chatsync errors`: open errors and review items across tenants, newest first.

use crate::action::action;
use crate::failure::Failure;
use crate::{Context, table};
use serde_json::Value;
use shared::store::synclog::Logged;
use time::OffsetDateTime;

pub(crate) async fn run(
    ctx: &Context,
    tenant: Option<&str>,
    since: Option<OffsetDateTime>,
    limit: i32,
) -> Result<(), Failure> {
    let log = ctx.sync_log()?;
    let mut open = Vec::new();
    for tenant in crate::tenants_or_all(ctx, tenant).await? {
        open.extend(log.open_since(&tenant, since, limit).await?);
    }
    // Each tenant's list is newest first; merged, they need sorting again.
    open.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.sk.cmp(&a.sk)));
    if ctx.json {
        let items: Vec<Value> = open.iter().map(listed).collect::<Result<_, _>>()?;
        println!("{}", serde_json::to_string_pretty(&items)?);
    } else if open.is_empty() {
        // Said on stderr so a script reading stdout sees an empty table, not prose.
        eprintln!("nothing open");
    } else {
        println!("{}", render(&open, table::width()));
    }
    Ok(())
}

/// An item for `--json`: the stored entry without its payload, which can be large and is one
/// `chatsync log <id> --json` away, with the action that settles it.
fn listed(item: &Logged) -> Result<Value, serde_json::Error> {
    let mut value = serde_json::to_value(item)?;
    if let Some(object) = value.as_object_mut() {
        object.remove("payload");
        object.insert("has_payload".into(), Value::Bool(item.payload.is_some()));
        object.insert("action".into(), Value::String(action(item)));
    }
    Ok(value)
}

fn render(open: &[Logged], width: usize) -> String {
    let rows: Vec<Vec<String>> = open
        .iter()
        .map(|e| {
            vec![
                table::time(e.at),
                e.tenant_id.clone(),
                e.correlation_id.clone(),
                name(e.step),
                e.error_class.map_or_else(|| "-".into(), name),
                e.attempts.to_string(),
                e.detail.clone(),
            ]
        })
        .collect();
    let mut out = table::render(
        &[
            "TIME (UTC)",
            "TENANT",
            "CORRELATION ID",
            "STEP",
            "CLASS",
            "TRIES",
            "REASON",
        ],
        &rows,
        width,
    );
    // The action is a command to paste: never cut, so it has its own lines.
    out.push_str("\n\nto settle:\n");
    for e in open {
        out.push_str(&format!("  {}  {}\n", e.correlation_id, action(e)));
    }
    out.trim_end().to_owned()
}

/// A unit enum's serde name (`rate_limited`), as the JSON and the README spell it.
pub(crate) fn name<T: serde::Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::error::ErrorClass;
    use shared::synclog::{Outcome, Step, SyncLogEntry};

    fn item(tenant: &str, detail: &str) -> Logged {
        let mut entry =
            SyncLogEntry::new("c0ffee", tenant, None, Step::Write, Outcome::Parked, detail)
                .error_class(ErrorClass::Data)
                .attempts(3)
                .payload("{}");
        entry.at = time::macros::datetime!(2024-05-01 10:00:00 UTC);
        crate::testing::open_item(entry)
    }

    #[test]
    fn the_table_has_one_line_per_item_cut_to_the_width() {
        let text = render(&[item("acme", &"field refused ".repeat(20))], 100);
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert_eq!(lines[3], "to settle:");
        assert!(
            lines[4].starts_with("  c0ffee  fix the record"),
            "{}",
            lines[4]
        );
        assert!(lines[0].starts_with("TIME (UTC)"));
        assert!(
            lines[1].starts_with("2024-05-01 10:00:00  acme    c0ffee          write  data   3"),
            "{}",
            lines[1]
        );
        assert_eq!(lines[1].chars().count(), 100);
    }

    #[test]
    fn json_items_leave_the_payload_out() {
        let value = listed(&item("acme", "d")).unwrap();
        assert!(value.get("payload").is_none());
        assert_eq!(value["has_payload"], true);
        assert_eq!(value["tenant_id"], "acme");
        assert_eq!(value["sk"], "sk");
        assert_eq!(value["error_class"], "data");
        assert_eq!(
            value["action"],
            "fix the record or the field mapping, then `chatsync replay c0ffee`"
        );
    }
}
