//! What to write on an existing person: the tenant's update policy applied field by field to
//! what the visitor says and what the record holds. Pure; the resolver sends the result in one
//! PATCH when it is not empty.
//!
//! Fields considered: FirstName, LastName, Email, Phone, and Company on Leads. Values are
//! compared after normalising (e-mail lower-cased, phone to E.164, names and companies
//! ignoring case and extra spaces), so the same value in another format is never a change.
//!
//! - `Never`: nothing.
//! - `FillBlanks`: only fields empty on the record.
//! - `Overwrite`: every field whose normalised value differs; a field the visitor lacks is
//!   never blanked out.
//! - `NewestWins`: as `Overwrite`, but only when the event happened after the record was last
//!   modified; otherwise nothing.
//!
//! In every policy: a record value equal to the tenant's placeholder (LastName, Lead.Company)
//! counts as empty, and a visitor value equal to a placeholder is never written. The phone is
//! not a change when the visitor's number is already on the record (Phone or MobilePhone). A
//! company that is only the visitor's e-mail domain fills an empty Company but never replaces
//! one.

use super::rules::{Candidate, PersonKind};
use super::{Keys, normalize};
use crate::tenant::{IdentityPolicy, UpdatePolicy};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// The fields to send for `current` under `policy`, with the tenant defaults for placeholders
/// and phone region (see [`changes_with`] for a tenant's own).
pub fn changes(
    keys: &Keys,
    current: &Candidate,
    policy: UpdatePolicy,
    event_time: OffsetDateTime,
) -> Map<String, Value> {
    let identity = IdentityPolicy {
        update: policy,
        ..IdentityPolicy::default()
    };
    changes_with(keys, current, &identity, event_time)
}

/// The fields to send for `current` under the tenant's identity policy: `policy.update`
/// decides, `policy.placeholder_last_name` / `placeholder_company` count as empty and are never
/// written, and `policy.default_phone_region` reads the record's national phone numbers.
pub fn changes_with(
    keys: &Keys,
    current: &Candidate,
    policy: &IdentityPolicy,
    event_time: OffsetDateTime,
) -> Map<String, Value> {
    let mut out = Map::new();
    let mode = match policy.update {
        UpdatePolicy::Never => return out,
        UpdatePolicy::FillBlanks => Mode::FillBlanks,
        UpdatePolicy::Overwrite => Mode::Overwrite,
        UpdatePolicy::NewestWins if event_time > current.last_modified => Mode::Overwrite,
        UpdatePolicy::NewestWins => return out,
    };
    let stored = &current.stored;
    let placeholder_last = text_key(&policy.placeholder_last_name);
    let placeholder_company = text_key(&policy.placeholder_company);

    // Names.
    if let Some(first) = keys.first_name.as_deref().and_then(nonblank) {
        let want = text_key(first);
        let have = stored.first_name.as_deref().map(text_key);
        if decide(mode, have.as_deref(), &want) {
            out.insert("FirstName".into(), first.into());
        }
    }
    if let Some(last) = keys.last_name.as_deref().and_then(nonblank) {
        let want = text_key(last);
        let have = stored
            .last_name
            .as_deref()
            .map(text_key)
            .filter(|h| *h != placeholder_last);
        if want != placeholder_last && decide(mode, have.as_deref(), &want) {
            out.insert("LastName".into(), last.into());
        }
    }

    // E-mail.
    if let Some(email) = keys.email.as_deref().and_then(normalize::email) {
        let have = current
            .email
            .as_deref()
            .and_then(nonblank)
            .map(|raw| normalize::email(raw).unwrap_or_else(|| raw.trim().to_lowercase()));
        if decide(mode, have.as_deref(), &email) {
            out.insert("Email".into(), email.into());
        }
    }

    // Phone: nothing to do when the number is already on the record in any format.
    if let Some(phone) = keys.phone.as_deref().and_then(nonblank) {
        let region = policy.default_phone_region.as_str();
        let same = |raw: &String| normalize::phone(raw, region).as_deref() == Some(phone);
        let already = current.phones.iter().any(same) || stored.phone.iter().any(same);
        if !already {
            let have =
                stored.phone.as_deref().and_then(nonblank).map(|raw| {
                    normalize::phone(raw, region).unwrap_or_else(|| raw.trim().to_owned())
                });
            if decide(mode, have.as_deref(), phone) {
                out.insert("Phone".into(), phone.into());
            }
        }
    }

    // Lead.Company.
    if current.kind == PersonKind::Lead
        && let Some(company) = keys.company.as_deref().and_then(nonblank)
    {
        let want = text_key(company);
        let have = stored
            .company
            .as_deref()
            .map(text_key)
            .filter(|h| !h.is_empty() && *h != placeholder_company);
        // The e-mail domain stands in for an unknown company: good to fill a blank with, never
        // to replace what someone typed.
        let from_domain = keys
            .email
            .as_deref()
            .and_then(|e| e.rsplit_once('@'))
            .is_some_and(|(_, d)| d.eq_ignore_ascii_case(company.trim()));
        let mode = if from_domain { Mode::FillBlanks } else { mode };
        if want != placeholder_company && decide(mode, have.as_deref(), &want) {
            out.insert("Company".into(), company.trim().into());
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    FillBlanks,
    Overwrite,
}

/// Whether a field holding `have` (normalised; None or empty when blank) takes `want`.
fn decide(mode: Mode, have: Option<&str>, want: &str) -> bool {
    match have.filter(|h| !h.is_empty()) {
        None => true,
        Some(h) => mode == Mode::Overwrite && h != want,
    }
}

fn nonblank(s: &str) -> Option<&str> {
    let t = s.trim();
    (!t.is_empty()).then_some(t)
}

/// Names and companies compared ignoring case and runs of spaces.
fn text_key(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::rules::StoredFields;
    use serde_json::json;
    use time::macros::datetime;

    const MODIFIED: OffsetDateTime = datetime!(2024-06-01 12:00 UTC);
    const LATER: OffsetDateTime = datetime!(2024-06-02 12:00 UTC);
    const EARLIER: OffsetDateTime = datetime!(2024-05-01 12:00 UTC);

    fn record(kind: PersonKind) -> Candidate {
        Candidate {
            kind,
            id: "003ada".into(),
            email: Some("Ada@Example.org".into()),
            phones: vec!["(415) 555-0132".into()],
            external_id: None,
            visitor_id: None,
            is_converted: false,
            converted_contact_id: None,
            converted_account_id: None,
            account_id: None,
            last_modified: MODIFIED,
            stored: StoredFields {
                first_name: Some("Ada".into()),
                last_name: Some("Lovelace".into()),
                phone: Some("(415) 555-0132".into()),
                company: None,
            },
        }
    }

    fn keys() -> Keys {
        Keys {
            email: Some("ada@example.org".into()),
            phone: Some("+14155550132".into()),
            first_name: Some("ada".into()),
            last_name: Some("LOVELACE".into()),
            ..Keys::default()
        }
    }

    fn all_policies() -> [UpdatePolicy; 4] {
        [
            UpdatePolicy::Never,
            UpdatePolicy::FillBlanks,
            UpdatePolicy::Overwrite,
            UpdatePolicy::NewestWins,
        ]
    }

    #[test]
    fn the_same_values_in_another_format_are_no_change_under_any_policy() {
        for p in all_policies() {
            let c = changes(&keys(), &record(PersonKind::Contact), p, LATER);
            assert!(c.is_empty(), "{p:?}: {c:?}");
        }
        // The number already on MobilePhone is no change either.
        let mut r = record(PersonKind::Contact);
        r.stored.phone = Some("+1 650 555 0100".into());
        r.phones = vec!["+1 650 555 0100".into(), "415.555.0132".into()];
        let c = changes(&keys(), &r, UpdatePolicy::Overwrite, LATER);
        assert!(c.is_empty(), "{c:?}");
    }

    #[test]
    fn never_sends_nothing_even_for_blank_fields() {
        let mut r = record(PersonKind::Contact);
        r.email = None;
        r.phones.clear();
        r.stored = StoredFields::default();
        assert!(changes(&keys(), &r, UpdatePolicy::Never, LATER).is_empty());
    }

    #[test]
    fn fill_blanks_fills_only_empty_fields() {
        let mut r = record(PersonKind::Contact);
        r.phones.clear();
        r.stored.phone = None;
        r.stored.first_name = Some("  ".into());
        let k = Keys {
            email: Some("ada@new.example".into()),
            first_name: Some("Augusta".into()),
            last_name: Some("King".into()),
            ..keys()
        };
        let c = changes(&k, &r, UpdatePolicy::FillBlanks, EARLIER);
        assert_eq!(
            Value::Object(c),
            json!({"Phone": "+14155550132", "FirstName": "Augusta"})
        );
    }

    #[test]
    fn overwrite_changes_what_differs_and_never_blanks_out() {
        let r = record(PersonKind::Contact);
        let k = Keys {
            email: Some("ada@new.example".into()),
            phone: Some("+14155550199".into()),
            first_name: None,
            last_name: Some("King".into()),
            ..Keys::default()
        };
        let c = changes(&k, &r, UpdatePolicy::Overwrite, EARLIER);
        assert_eq!(
            Value::Object(c),
            json!({"LastName": "King", "Email": "ada@new.example", "Phone": "+14155550199"})
        );
        // Nothing known about the visitor: nothing is sent, nothing is blanked.
        assert!(changes(&Keys::default(), &r, UpdatePolicy::Overwrite, LATER).is_empty());
    }

    #[test]
    fn newest_wins_only_when_the_event_is_newer_than_the_record() {
        let r = record(PersonKind::Contact);
        let k = Keys {
            last_name: Some("King".into()),
            ..keys()
        };
        assert_eq!(
            Value::Object(changes(&k, &r, UpdatePolicy::NewestWins, LATER)),
            json!({"LastName": "King"})
        );
        assert!(changes(&k, &r, UpdatePolicy::NewestWins, EARLIER).is_empty());
        assert!(changes(&k, &r, UpdatePolicy::NewestWins, MODIFIED).is_empty());
    }

    #[test]
    fn placeholders_never_overwrite_a_real_name_and_count_as_blank() {
        let policy = IdentityPolicy {
            update: UpdatePolicy::Overwrite,
            placeholder_last_name: "Unknown".into(),
            ..IdentityPolicy::default()
        };
        let r = record(PersonKind::Contact);
        let k = Keys {
            last_name: Some("unknown".into()),
            ..keys()
        };
        assert!(changes_with(&k, &r, &policy, LATER).is_empty());
        // A record created with the placeholder takes the real name, even when only filling.
        let mut placeholder = record(PersonKind::Contact);
        placeholder.stored.last_name = Some("Unknown".into());
        let fill = IdentityPolicy {
            update: UpdatePolicy::FillBlanks,
            ..policy
        };
        assert_eq!(
            Value::Object(changes_with(&keys(), &placeholder, &fill, LATER)),
            json!({"LastName": "LOVELACE"})
        );
    }

    #[test]
    fn lead_company_follows_the_policy_but_an_email_domain_only_fills_blanks() {
        let mut lead = record(PersonKind::Lead);
        lead.stored.company = Some("Analytical Engines Ltd".into());
        let typed = Keys {
            company: Some("Babbage & Co".into()),
            ..keys()
        };
        assert_eq!(
            Value::Object(changes(&typed, &lead, UpdatePolicy::Overwrite, LATER)),
            json!({"Company": "Babbage & Co"})
        );
        assert!(changes(&typed, &lead, UpdatePolicy::FillBlanks, LATER).is_empty());
        let domain = Keys {
            company: Some("example.org".into()),
            ..keys()
        };
        assert!(changes(&domain, &lead, UpdatePolicy::Overwrite, LATER).is_empty());
        lead.stored.company = Some("Unknown".into());
        assert_eq!(
            Value::Object(changes(&domain, &lead, UpdatePolicy::Overwrite, LATER)),
            json!({"Company": "example.org"})
        );
        // Contacts have no Company field.
        let contact = record(PersonKind::Contact);
        assert!(changes(&typed, &contact, UpdatePolicy::Overwrite, LATER).is_empty());
    }

    #[test]
    fn an_unreadable_stored_value_differs_but_is_not_blank() {
        let mut r = record(PersonKind::Contact);
        r.email = Some("n/a".into());
        r.phones = vec!["call me".into()];
        r.stored.phone = Some("call me".into());
        assert!(changes(&keys(), &r, UpdatePolicy::FillBlanks, LATER).is_empty());
        assert_eq!(
            Value::Object(changes(&keys(), &r, UpdatePolicy::Overwrite, LATER)),
            json!({"Email": "ada@example.org", "Phone": "+14155550132"})
        );
    }
}
