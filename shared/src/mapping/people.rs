//! Mapped fields on people and Accounts: `[[fields]]` whose `to` is `Contact.*`, `Lead.*` or
//! `Account.*`. The identity resolver writes them once it knows the record, under the tenant's
//! update policy (`identity.update`), with a watermark per field as the case writer keeps for
//! Cases, so delta and conflict handling hold for people too. Pure: the resolver reads the
//! marks (and, when the policy needs it, the record) and sends what [`decide`] returns.
//!
//! Per field, in order:
//! - a mark with a newer stamp than the event's: the field keeps the newer value (an older
//!   event, delivered late, never rolls it back);
//! - a mark with the same value: nothing to send;
//! - `never`: nothing (mapped values are written only when chatsync creates the record);
//! - `overwrite`: sent;
//! - `fill_blanks`: sent when the record's field is blank, or still holds chatsync's last value
//!   (a value someone typed in Salesforce is kept);
//! - `newest_wins`: sent when the event is newer than the record's LastModifiedDate, or the
//!   field still holds chatsync's last value.

use super::policy::FieldMapping;
use super::sources;
use super::state::{RecordWatermarks, Stamp, Watermark, value_hash};
use crate::event::Event;
use crate::tenant::UpdatePolicy;
use serde_json::{Map, Value};

/// The values `event` gives for `object`'s mapped fields: one per field, the first mapping
/// (in file order) that has a value winning.
pub fn wanted(mappings: &[FieldMapping], event: &Event, object: &str) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = Vec::new();
    for mapping in mappings {
        let Some((o, field)) = mapping.to.split_once('.') else {
            continue;
        };
        if o != object || out.iter().any(|(f, _)| f == field) {
            continue;
        }
        if let Some(value) = sources::mapped_value(mapping, event) {
            out.push((field.to_owned(), value));
        }
    }
    out
}

/// What to send and remember for one record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decided {
    /// The fields to PATCH (empty: nothing to send).
    pub fields: Map<String, Value>,
    /// Watermarks to save once Salesforce took the fields.
    pub marks: Vec<(String, Watermark)>,
    /// Plain words for the sync log: fields left as they are, and why.
    pub notes: Vec<String>,
    /// The policy needs the record's values to decide: read them (the fields of
    /// [`fields_to_read`] and LastModifiedDate) and decide again with them.
    pub needs_record: bool,
}

/// Decides each wanted field of an existing record. `current` is the record as Salesforce has
/// it (None until read; see [`Decided::needs_record`]).
pub fn decide(
    update: UpdatePolicy,
    wanted: &[(String, Value)],
    marks: &RecordWatermarks,
    stamp: &Stamp,
    current: Option<&Value>,
) -> Decided {
    let mut out = Decided::default();
    let modified = current
        .and_then(|c| c.get("LastModifiedDate"))
        .and_then(Value::as_str)
        .and_then(crate::salesforce::datetime::parse);
    for (field, value) in wanted {
        let mark = marks.get(field);
        if let Some(mark) = mark {
            if mark.stamp > *stamp {
                out.notes.push(format!(
                    "{field} keeps the value of a newer event ({})",
                    mark.stamp.at
                ));
                continue;
            }
            if mark.hash == value_hash(value) {
                continue;
            }
        }
        let send = match update {
            UpdatePolicy::Never => {
                out.notes
                    .push(format!("{field} not updated: identity.update is \"never\""));
                false
            }
            UpdatePolicy::Overwrite => true,
            UpdatePolicy::FillBlanks | UpdatePolicy::NewestWins => {
                let Some(current) = current else {
                    out.needs_record = true;
                    continue;
                };
                let held = current.get(field).cloned().unwrap_or(Value::Null);
                let ours = mark.is_some_and(|m| value_hash(&held) == m.hash);
                let blank = value_hash(&held) == value_hash(&Value::Null);
                let newer = modified.is_none_or(|at| stamp.at > at);
                let send = match update {
                    UpdatePolicy::FillBlanks => blank || ours,
                    _ => ours || newer,
                };
                if !send {
                    out.notes.push(match update {
                        UpdatePolicy::FillBlanks => {
                            format!("{field} keeps the value set in Salesforce (fill_blanks)")
                        }
                        _ => format!(
                            "{field} keeps the value set in Salesforce after the event (newest_wins)"
                        ),
                    });
                }
                send
            }
        };
        if send {
            out.fields.insert(field.clone(), value.clone());
            out.marks.push((field.clone(), mark_for(value, stamp)));
        }
    }
    if out.needs_record {
        // Decided again with the record: nothing is sent from a half decision.
        out.fields.clear();
        out.marks.clear();
        out.notes.clear();
    }
    out
}

/// The fields to read of the record for [`decide`]: the wanted ones and LastModifiedDate.
pub fn fields_to_read(wanted: &[(String, Value)]) -> Vec<&str> {
    let mut fields: Vec<&str> = wanted.iter().map(|(f, _)| f.as_str()).collect();
    fields.push("LastModifiedDate");
    fields
}

/// Marks for a record chatsync creates with `fields` (every wanted value goes in the create).
pub fn created_marks(wanted: &[(String, Value)], stamp: &Stamp) -> Vec<(String, Watermark)> {
    wanted
        .iter()
        .map(|(field, value)| (field.clone(), mark_for(value, stamp)))
        .collect()
}

fn mark_for(value: &Value, stamp: &Stamp) -> Watermark {
    Watermark {
        hash: value_hash(value),
        value: value.clone(),
        stamp: stamp.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventKind, Visitor};
    use serde_json::json;
    use time::macros::datetime;

    fn stamp(day: u8) -> Stamp {
        Stamp::new(
            datetime!(2026-06-01 12:00 UTC)
                .replace_day(day)
                .expect("day"),
            "d",
            0,
        )
    }

    fn title(value: &str) -> Vec<(String, Value)> {
        vec![("Title".to_owned(), json!(value))]
    }

    fn marks(value: &str, day: u8) -> RecordWatermarks {
        created_marks(&title(value), &stamp(day))
            .into_iter()
            .collect()
    }

    fn record(title: Option<&str>, modified: &str) -> Value {
        json!({"Title": title, "LastModifiedDate": modified})
    }

    #[test]
    fn mappings_to_the_object_are_read_first_one_winning() {
        let mapping = |from: &str, to: &str| FieldMapping {
            from: from.into(),
            to: to.into(),
            values: Default::default(),
            only_mapped: false,
            direction: Default::default(),
        };
        let mut event = Event::new(EventKind::ContactUpserted);
        event.visitor = Visitor {
            custom_attributes: [("job".to_owned(), json!("CTO"))].into_iter().collect(),
            ..Visitor::default()
        };
        let mappings = [
            mapping("visitor.custom_attributes.missing", "Contact.Title"),
            mapping("visitor.custom_attributes.job", "Contact.Title"),
            mapping("visitor.custom_attributes.job", "Lead.Title"),
            mapping("visitor.custom_attributes.job", "Contact.Department"),
            mapping("conversation.channel", "Case.Origin"),
        ];
        assert_eq!(
            wanted(&mappings, &event, "Contact"),
            vec![
                ("Title".to_owned(), json!("CTO")),
                ("Department".to_owned(), json!("CTO"))
            ]
        );
        assert_eq!(wanted(&mappings, &event, "Lead").len(), 1);
        assert!(wanted(&mappings, &event, "Account").is_empty());
    }

    #[test]
    fn an_older_event_never_rolls_a_field_back_under_any_policy() {
        for update in [
            UpdatePolicy::Overwrite,
            UpdatePolicy::FillBlanks,
            UpdatePolicy::NewestWins,
        ] {
            let held = record(Some("CTO"), "2026-06-05T12:00:00.000+0000");
            let d = decide(
                update,
                &title("CEO"),
                &marks("CTO", 5),
                &stamp(3),
                Some(&held),
            );
            assert!(d.fields.is_empty(), "{update:?}: {d:?}");
            assert!(d.notes[0].contains("newer event"), "{:?}", d.notes);
        }
    }

    #[test]
    fn the_same_value_is_never_sent_again() {
        let d = decide(
            UpdatePolicy::Overwrite,
            &title("CTO"),
            &marks("CTO ", 1),
            &stamp(3),
            None,
        );
        assert_eq!(d, Decided::default());
    }

    #[test]
    fn overwrite_sends_without_reading_and_marks_the_field() {
        let d = decide(
            UpdatePolicy::Overwrite,
            &title("CEO"),
            &marks("CTO", 1),
            &stamp(3),
            None,
        );
        assert!(!d.needs_record);
        assert_eq!(Value::Object(d.fields), json!({"Title": "CEO"}));
        assert_eq!(d.marks[0].1.stamp, stamp(3));
    }

    #[test]
    fn fill_blanks_fills_blanks_and_follows_its_own_values_only() {
        let first = decide(
            UpdatePolicy::FillBlanks,
            &title("CEO"),
            &RecordWatermarks::new(),
            &stamp(3),
            None,
        );
        assert!(first.needs_record && first.fields.is_empty());
        let blank = record(None, "2026-06-10T00:00:00.000+0000");
        let d = decide(
            UpdatePolicy::FillBlanks,
            &title("CEO"),
            &RecordWatermarks::new(),
            &stamp(3),
            Some(&blank),
        );
        assert_eq!(Value::Object(d.fields), json!({"Title": "CEO"}));
        // Still chatsync's value: it follows the chat.
        let ours = record(Some("CTO"), "2026-06-10T00:00:00.000+0000");
        let d = decide(
            UpdatePolicy::FillBlanks,
            &title("CEO"),
            &marks("CTO", 1),
            &stamp(3),
            Some(&ours),
        );
        assert_eq!(Value::Object(d.fields), json!({"Title": "CEO"}));
        // Someone typed another value in Salesforce: it stays.
        let typed = record(Some("Founder"), "2026-06-02T00:00:00.000+0000");
        let d = decide(
            UpdatePolicy::FillBlanks,
            &title("CEO"),
            &marks("CTO", 1),
            &stamp(3),
            Some(&typed),
        );
        assert!(d.fields.is_empty());
        assert!(d.notes[0].contains("fill_blanks"), "{:?}", d.notes);
    }

    #[test]
    fn newest_wins_compares_the_event_with_the_record() {
        let typed_later = record(Some("Founder"), "2026-06-04T00:00:00.000+0000");
        let d = decide(
            UpdatePolicy::NewestWins,
            &title("CEO"),
            &RecordWatermarks::new(),
            &stamp(3),
            Some(&typed_later),
        );
        assert!(d.fields.is_empty() && d.notes[0].contains("newest_wins"));
        let typed_earlier = record(Some("Founder"), "2026-06-02T00:00:00.000+0000");
        let d = decide(
            UpdatePolicy::NewestWins,
            &title("CEO"),
            &RecordWatermarks::new(),
            &stamp(3),
            Some(&typed_earlier),
        );
        assert_eq!(Value::Object(d.fields), json!({"Title": "CEO"}));
    }

    #[test]
    fn never_writes_nothing_on_an_existing_record() {
        let d = decide(
            UpdatePolicy::Never,
            &title("CEO"),
            &RecordWatermarks::new(),
            &stamp(3),
            None,
        );
        assert!(d.fields.is_empty() && !d.needs_record);
        assert!(d.notes[0].contains("never"));
    }
}
