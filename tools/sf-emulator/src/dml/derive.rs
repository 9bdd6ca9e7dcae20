//! Fields the platform computes: names, closed flags and dates, a Task's account, auto-numbers.

use crate::ids;
use crate::schema::ObjectDef;
use crate::store::Store;
use serde_json::{Map, Value};

/// Fields the platform computes from others; `now` stamps a Case's ClosedDate when it closes.
pub(super) fn derive(store: &Store, obj: &ObjectDef, fields: &mut Map<String, Value>, now: &str) {
    let text = |fields: &Map<String, Value>, k: &str| {
        fields
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    if obj.field("FirstName").is_some() && obj.field("Name").is_some() {
        let name = [text(fields, "FirstName"), text(fields, "LastName")]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        fields.insert("Name".into(), Value::String(name));
    }
    match obj.name.as_str() {
        "Case" => {
            let closed = text(fields, "Status") == "Closed";
            fields.insert("IsClosed".into(), Value::Bool(closed));
            // ClosedDate is when the Case last closed; reopening clears it.
            let closed_date = match fields.get("ClosedDate") {
                _ if !closed => Value::Null,
                Some(Value::String(d)) => Value::String(d.clone()),
                _ => Value::String(now.to_string()),
            };
            fields.insert("ClosedDate".into(), closed_date);
        }
        "Opportunity" => {
            let stage = text(fields, "StageName");
            let won = stage == "Closed Won";
            fields.insert(
                "IsClosed".into(),
                Value::Bool(won || stage == "Closed Lost"),
            );
            fields.insert("IsWon".into(), Value::Bool(won));
        }
        "Task" => {
            let closed = text(fields, "Status") == "Completed";
            fields.insert("IsClosed".into(), Value::Bool(closed));
            let what = text(fields, "WhatId");
            let who = text(fields, "WhoId");
            let account = if ids::prefix_of(&what) == "001" {
                Some(what)
            } else if ids::prefix_of(&who) == "003" {
                store
                    .get(&who)
                    .and_then(|c| c.get("AccountId").as_str().map(str::to_string))
            } else {
                None
            };
            fields.insert(
                "AccountId".into(),
                account.map(Value::String).unwrap_or(Value::Null),
            );
        }
        _ => {}
    }
}

/// Fills every auto-number field of a new record (CaseNumber, a custom object's Name). A value
/// already there is kept: only seeding can put one there.
pub(super) fn fill_auto_numbers(
    store: &mut Store,
    obj: &ObjectDef,
    fields: &mut Map<String, Value>,
    today: time::Date,
) {
    for f in &obj.fields {
        let Some(format) = &f.auto_number else {
            continue;
        };
        if fields.get(&f.name).is_some_and(|v| !v.is_null()) {
            continue;
        }
        let n = store.next_auto_number(&format!("{}.{}", obj.name, f.name), f.auto_number_start);
        fields.insert(f.name.clone(), Value::String(auto_number(format, n, today)));
    }
}

/// Renders an auto-number display format: `{000}` is the number zero-padded to that many
/// digits (wider numbers are not cut), `{YYYY}` `{YY}` `{MM}` `{DD}` the date of creation.
pub(super) fn auto_number(format: &str, n: u64, today: time::Date) -> String {
    let mut out = String::new();
    let mut rest = format;
    while let Some(open) = rest.find('{') {
        out.push_str(rest.get(..open).unwrap_or(""));
        let after = rest.get(open + 1..).unwrap_or("");
        let Some(close) = after.find('}') else {
            out.push_str(rest.get(open..).unwrap_or(""));
            return out;
        };
        let token = after.get(..close).unwrap_or("");
        match token {
            "YYYY" => out.push_str(&format!("{:04}", today.year())),
            "YY" => out.push_str(&format!("{:02}", today.year().rem_euclid(100))),
            "MM" => out.push_str(&format!("{:02}", u8::from(today.month()))),
            "DD" => out.push_str(&format!("{:02}", today.day())),
            t if !t.is_empty() && t.bytes().all(|b| b == b'0') => {
                out.push_str(&format!("{n:0width$}", width = t.len()));
            }
            other => {
                out.push('{');
                out.push_str(other);
                out.push('}');
            }
        }
        rest = after.get(close + 1..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::auto_number;

    #[test]
    fn auto_number_formats() {
        let day = time::macros::date!(2026 - 03 - 07);
        assert_eq!(auto_number("CT-{0000000}", 42, day), "CT-0000042");
        assert_eq!(auto_number("{00000000}", 1001, day), "00001001");
        assert_eq!(auto_number("{00}", 12345, day), "12345");
        assert_eq!(auto_number("T-{YYYY}{MM}{DD}-{0}", 3, day), "T-20260307-3");
        assert_eq!(auto_number("odd {x} {", 1, day), "odd {x} {");
    }
}
