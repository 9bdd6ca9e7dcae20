//! Settling a conflict: Salesforce changed the Case after chatsync's last write (the update
//! with `If-Unmodified-Since` answered 412). Each field the write would change is decided by the
//! tenant's rule for it, and the sync log gets both values and the winner.

use crate::WriteError;
use serde_json::Value;
use shared::identity::lookup::parse_sf_datetime;
use shared::mapping::intents::Target;
use shared::mapping::plan::{self, WritePlan, same_value};
use shared::mapping::policy::ConflictRule;
use shared::mapping::state::{ConversationState, RecordWatermarks, Stamp, Watermark, value_hash};
use shared::salesforce::Org;
use shared::tenant::TenantConfig;

pub struct Settled {
    pub notes: Vec<String>,
    /// Fields whose Salesforce value stays.
    pub keep_salesforce: Vec<(Target, String)>,
    /// Watermarks for those fields: Salesforce's value, so an older chat event cannot undo it.
    pub marks: Vec<(String, Watermark)>,
    /// The Case's LastModifiedDate now, for the next `If-Unmodified-Since`.
    pub last_modified: String,
}

pub async fn settle(
    org: &Org,
    config: &TenantConfig,
    state: &ConversationState,
    plan: &WritePlan,
    case_marks: &RecordWatermarks,
) -> Result<Settled, WriteError> {
    let case_id = state
        .case
        .as_ref()
        .and_then(|c| c.id.clone())
        .unwrap_or_default();
    let ours = plan
        .request
        .subrequests()
        .iter()
        .find(|s| s.reference_id == plan::REF_CASE)
        .and_then(|s| s.body.as_ref())
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut fields: Vec<&str> = ours.keys().map(String::as_str).collect();
    fields.push("LastModifiedDate");
    let current = org.get("Case", &case_id, &fields).await?;
    let last_modified = current
        .get("LastModifiedDate")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let changed_at = parse_sf_datetime(&last_modified);
    let mut out = Settled {
        notes: Vec::new(),
        keep_salesforce: Vec::new(),
        marks: Vec::new(),
        last_modified: last_modified.clone(),
    };
    for (field, chat_value) in &ours {
        let sf_value = current.get(field).cloned().unwrap_or(Value::Null);
        // A conflict is Salesforce changing a value chatsync wrote. A field chatsync never
        // wrote (no watermark) holds the org's own default, or chatsync's value from a write
        // whose bookkeeping a crash cut short: the chat's value goes in.
        let untouched = case_marks
            .get(field)
            .is_none_or(|m| same_value(&sf_value, &m.value));
        if untouched || same_value(&sf_value, chat_value) {
            continue;
        }
        // The stamp of the event the value came from, as the plan recorded it.
        let stamp = plan
            .marks
            .iter()
            .find(|(t, f, _)| *t == Target::Case && f == field)
            .map(|(_, _, m)| m.stamp.clone());
        let rule = config.conflicts.rule("Case", field);
        let chat_wins = match rule {
            ConflictRule::Chat => true,
            ConflictRule::Salesforce => false,
            ConflictRule::NewestWins => match (&stamp, changed_at) {
                (Some(s), Some(sf_at)) => s.at > sf_at,
                _ => false,
            },
            ConflictRule::FillBlanks => value_hash(&sf_value) == value_hash(&Value::Null),
        };
        out.notes.push(format!(
            "conflict on Case.{field}: Salesforce has {sf_value} (changed {last_modified}), the chat says {chat_value}{}: {} wins ({})",
            stamp
                .as_ref()
                .map(|s| format!(" (event {})", shared::rfc3339(s.at)))
                .unwrap_or_default(),
            if chat_wins { "the chat" } else { "Salesforce" },
            rule_name(rule)
        ));
        if !chat_wins {
            out.keep_salesforce.push((Target::Case, field.clone()));
            if let Some(stamp) = stamp {
                // Just after the event's own stamp: a redelivered copy of that event must not
                // undo the decision, a newer event still may.
                let stamp = Stamp {
                    tiebreak: format!("{}~salesforce", stamp.tiebreak),
                    ..stamp
                };
                out.marks.push((
                    field.clone(),
                    Watermark {
                        hash: value_hash(&sf_value),
                        value: sf_value,
                        stamp,
                    },
                ));
            }
        }
    }
    Ok(out)
}

fn rule_name(rule: ConflictRule) -> &'static str {
    match rule {
        ConflictRule::Chat => "the chat is the source of truth",
        ConflictRule::Salesforce => "Salesforce is the source of truth",
        ConflictRule::NewestWins => "newest wins",
        ConflictRule::FillBlanks => "fill blanks",
    }
}
