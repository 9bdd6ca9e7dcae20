//! Settling a conflict: Salesforce changed the Case after chatsync's last write (the update
//! with `If-Unmodified-Since` answered 412). Pure: the writer reads the Case's current values
//! ([`fields_to_read`]) and [`settle`] decides each field the write would change by the
//! tenant's rule for it; the notes give both values and the winner for the sync log.

use super::intents::Target;
use super::plan::{self, WritePlan, same_value};
use super::policy::{ConflictPolicy, ConflictRule};
use super::state::{RecordWatermarks, Stamp, Watermark, value_hash};
use serde_json::{Map, Value};

#[derive(Debug, Default, PartialEq)]
pub struct Settled {
    pub notes: Vec<String>,
    /// Fields whose Salesforce value stays.
    pub keep_salesforce: Vec<(Target, String)>,
    /// Watermarks for those fields: Salesforce's value, so an older chat event cannot undo it.
    pub marks: Vec<(String, Watermark)>,
    /// The Case's LastModifiedDate now, for the next `If-Unmodified-Since`.
    pub last_modified: String,
}

/// The Case fields the plan would write, as it would write them.
pub fn ours(plan: &WritePlan) -> Map<String, Value> {
    plan.request
        .subrequests()
        .iter()
        .find(|s| s.reference_id == plan::REF_CASE)
        .and_then(|s| s.body.as_ref())
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// What to read of the Case to settle: the plan's fields and LastModifiedDate.
pub fn fields_to_read(ours: &Map<String, Value>) -> Vec<&str> {
    let mut fields: Vec<&str> = ours.keys().map(String::as_str).collect();
    fields.push("LastModifiedDate");
    fields
}

/// Decides each field of `ours` against the Case as Salesforce has it now (`current`).
pub fn settle(
    ours: &Map<String, Value>,
    current: &Value,
    plan: &WritePlan,
    case_marks: &RecordWatermarks,
    rules: &ConflictPolicy,
) -> Settled {
    let last_modified = current
        .get("LastModifiedDate")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let changed_at = crate::salesforce::datetime::parse(&last_modified);
    let mut out = Settled {
        last_modified: last_modified.clone(),
        ..Settled::default()
    };
    for (field, chat_value) in ours {
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
        let rule = rules.rule("Case", field);
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
                .map(|s| format!(" (event {})", crate::rfc3339(s.at)))
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
    out
}

fn rule_name(rule: ConflictRule) -> &'static str {
    match rule {
        ConflictRule::Chat => "the chat is the source of truth",
        ConflictRule::Salesforce => "Salesforce is the source of truth",
        ConflictRule::NewestWins => "newest wins",
        ConflictRule::FillBlanks => "fill blanks",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::{CompositeRequest, SubRequest};
    use serde_json::json;
    use time::macros::datetime;

    /// A plan that sets the Case's Status to `chat` by an event at `at`.
    fn plan_setting_status(chat: &str, at: time::OffsetDateTime) -> WritePlan {
        let mut request = CompositeRequest::new(true);
        request
            .push(SubRequest::update(
                plan::REF_CASE,
                "Case",
                "500A",
                json!({"Status": chat}),
            ))
            .expect("one subrequest fits");
        WritePlan {
            request,
            marks: vec![(
                Target::Case,
                "Status".into(),
                Watermark {
                    hash: value_hash(&json!(chat)),
                    value: json!(chat),
                    stamp: Stamp::new(at, "delivery", 0),
                },
            )],
            ..WritePlan::default()
        }
    }

    /// chatsync last wrote Status = `written`.
    fn marks(written: &str) -> RecordWatermarks {
        let mut marks = RecordWatermarks::new();
        marks.insert(
            "Status".into(),
            Watermark {
                hash: value_hash(&json!(written)),
                value: json!(written),
                stamp: Stamp::new(datetime!(2026-01-01 00:00 UTC), "earlier", 0),
            },
        );
        marks
    }

    fn rules(default: ConflictRule) -> ConflictPolicy {
        ConflictPolicy {
            default,
            ..ConflictPolicy::default()
        }
    }

    fn settle_status(
        chat: &str,
        chat_at: time::OffsetDateTime,
        salesforce: Value,
        rule: ConflictRule,
    ) -> Settled {
        let plan = plan_setting_status(chat, chat_at);
        let current =
            json!({"Status": salesforce, "LastModifiedDate": "2026-02-01T12:00:00.000+0000"});
        settle(&ours(&plan), &current, &plan, &marks("New"), &rules(rule))
    }

    #[test]
    fn the_plan_reads_its_own_case_fields_and_the_modstamp() {
        let plan = plan_setting_status("Working", datetime!(2026-02-01 13:00 UTC));
        assert_eq!(fields_to_read(&ours(&plan)), ["Status", "LastModifiedDate"]);
    }

    #[test]
    fn newest_wins_compares_the_chat_event_with_the_case_last_change() {
        let later = settle_status(
            "Working",
            datetime!(2026-02-01 13:00 UTC),
            json!("Escalated"),
            ConflictRule::NewestWins,
        );
        assert!(
            later.keep_salesforce.is_empty(),
            "the later chat event wins"
        );
        assert!(later.notes[0].contains("the chat wins (newest wins)"));

        let earlier = settle_status(
            "Working",
            datetime!(2026-02-01 11:00 UTC),
            json!("Escalated"),
            ConflictRule::NewestWins,
        );
        assert_eq!(earlier.keep_salesforce, [(Target::Case, "Status".into())]);
        assert_eq!(earlier.last_modified, "2026-02-01T12:00:00.000+0000");
    }

    #[test]
    fn salesforce_as_source_of_truth_keeps_its_value_with_a_mark_just_after_the_event() {
        let kept = settle_status(
            "Working",
            datetime!(2026-02-01 13:00 UTC),
            json!("Escalated"),
            ConflictRule::Salesforce,
        );
        assert_eq!(kept.keep_salesforce, [(Target::Case, "Status".into())]);
        let (field, mark) = &kept.marks[0];
        assert_eq!(field, "Status");
        assert_eq!(mark.value, json!("Escalated"));
        assert_eq!(mark.stamp.at, datetime!(2026-02-01 13:00 UTC));
        assert!(mark.stamp.tiebreak.ends_with("~salesforce"));
        assert!(kept.notes[0].contains("Salesforce has \"Escalated\""));
        assert!(kept.notes[0].contains("the chat says \"Working\""));
    }

    #[test]
    fn the_chat_as_source_of_truth_writes_its_value() {
        let chat = settle_status(
            "Working",
            datetime!(2026-01-15 00:00 UTC),
            json!("Escalated"),
            ConflictRule::Chat,
        );
        assert!(chat.keep_salesforce.is_empty());
        assert!(chat.marks.is_empty());
    }

    #[test]
    fn fill_blanks_writes_only_over_an_emptied_field() {
        let at = datetime!(2026-02-01 13:00 UTC);
        let emptied = settle_status("Working", at, Value::Null, ConflictRule::FillBlanks);
        assert!(emptied.keep_salesforce.is_empty());
        let filled = settle_status("Working", at, json!("Escalated"), ConflictRule::FillBlanks);
        assert_eq!(filled.keep_salesforce.len(), 1);
    }

    #[test]
    fn a_field_salesforce_did_not_change_from_our_value_is_no_conflict() {
        // Salesforce still has what chatsync last wrote: nothing to settle, the chat's value goes.
        let plan = plan_setting_status("Working", datetime!(2026-01-15 00:00 UTC));
        let current = json!({"Status": "New", "LastModifiedDate": "2026-02-01T12:00:00.000+0000"});
        let settled = settle(
            &ours(&plan),
            &current,
            &plan,
            &marks("New"),
            &rules(ConflictRule::Salesforce),
        );
        assert!(settled.notes.is_empty());
        assert!(settled.keep_salesforce.is_empty());
    }

    #[test]
    fn a_field_chatsync_never_wrote_takes_the_chat_value() {
        let plan = plan_setting_status("Working", datetime!(2026-01-15 00:00 UTC));
        let current =
            json!({"Status": "Escalated", "LastModifiedDate": "2026-02-01T12:00:00.000+0000"});
        let settled = settle(
            &ours(&plan),
            &current,
            &plan,
            &RecordWatermarks::new(),
            &rules(ConflictRule::Salesforce),
        );
        assert!(settled.keep_salesforce.is_empty());
    }

    #[test]
    fn a_per_field_rule_overrides_the_default() {
        let plan = plan_setting_status("Working", datetime!(2026-01-15 00:00 UTC));
        let current =
            json!({"Status": "Escalated", "LastModifiedDate": "2026-02-01T12:00:00.000+0000"});
        let mut policy = rules(ConflictRule::Chat);
        policy
            .fields
            .insert("Case.Status".into(), ConflictRule::Salesforce);
        let settled = settle(&ours(&plan), &current, &plan, &marks("New"), &policy);
        assert_eq!(settled.keep_salesforce.len(), 1);
    }
}
