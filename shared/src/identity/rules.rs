//! The rule chain: the tenant's match order over the candidates Salesforce returned,
//! deterministic and explained.

use super::{Keys, normalize};
pub use crate::event::resolution::{Person, PersonKind, RuleTried, Trace};
use crate::tenant::{IdentityPolicy, MatchKey, MultipleMatches, Preferred};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A Contact or Lead as the lookup found it (raw field values, compared after normalising).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub kind: PersonKind,
    pub id: String,
    pub email: Option<String>,
    /// Phone, MobilePhone (free text in Salesforce).
    pub phones: Vec<String>,
    /// The tenant's external id field, when it has one.
    pub external_id: Option<String>,
    /// The tenant's visitor id field, when it has one.
    pub visitor_id: Option<String>,
    /// Leads only.
    pub is_converted: bool,
    pub converted_contact_id: Option<String>,
    pub converted_account_id: Option<String>,
    pub account_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub last_modified: OffsetDateTime,
    /// Name, the Phone field itself and Lead.Company as stored, for the update policy.
    #[serde(default)]
    pub stored: StoredFields,
}

/// A candidate's fields the update policy compares with the visitor (raw, as stored; blank
/// values are absent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFields {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The Phone field alone (`phones` also holds MobilePhone).
    pub phone: Option<String>,
    /// Leads only.
    pub company: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Matched {
        person: Person,
        rule: MatchKey,
        trace: Trace,
    },
    /// Several people match and the tenant wants an operator to choose.
    Ambiguous {
        rule: MatchKey,
        candidates: Vec<Person>,
        trace: Trace,
    },
    NoMatch {
        trace: Trace,
    },
}

/// Applies the tenant's rule chain to the candidates.
///
/// Rules run in `policy.match_order`; the first rule that matches anyone decides. A rule is
/// skipped when the visitor lacks its key or the tenant has no Salesforce field for it.
/// Candidates are compared by their normalised fields, never by their raw text. Within a
/// rule, the preferred kind (Contact unless `policy.prefer` says Lead) wins over the other;
/// only unconverted Leads match as Leads, and a converted Lead stands for its
/// ConvertedContactId. Several people left: the most recently modified (ties: smallest Id)
/// or an ambiguous decision, per `policy.multiple_matches`, and the trace says which.
pub fn decide(keys: &Keys, candidates: &[Candidate], policy: &IdentityPolicy) -> Decision {
    let mut trace = Trace::default();
    for c in candidates {
        if !trace.candidates_seen.contains(&c.id) {
            trace.candidates_seen.push(c.id.clone());
        }
    }
    for &rule in &policy.match_order {
        let key = match rule_key(rule, keys, policy) {
            Ok(key) => key,
            Err(skipped) => {
                trace.rules.push(RuleTried {
                    rule,
                    matched: Vec::new(),
                    note: skipped,
                });
                continue;
            }
        };
        let matched: Vec<&Candidate> = candidates
            .iter()
            .filter(|c| candidate_matches(rule, key, c, keys, policy))
            .collect();
        let matched_ids: Vec<String> = matched.iter().map(|c| c.id.clone()).collect();
        let mut notes: Vec<String> = Vec::new();
        let people = people_of(&matched, candidates, &mut notes);
        let people = preferred(people, policy.prefer, &mut notes);
        match people.len() {
            0 => {
                notes.insert(0, "no candidate matches".into());
                trace.rules.push(RuleTried {
                    rule,
                    matched: matched_ids,
                    note: notes.join("; "),
                });
            }
            1 => {
                let Some(person) = people.into_iter().next() else {
                    continue;
                };
                notes.insert(
                    0,
                    format!("matched {} {}", person.kind.sobject(), person.id),
                );
                trace.rules.push(RuleTried {
                    rule,
                    matched: matched_ids,
                    note: notes.join("; "),
                });
                return Decision::Matched {
                    person: person.person,
                    rule,
                    trace,
                };
            }
            n => match policy.multiple_matches {
                MultipleMatches::MostRecent => {
                    let mut people = people;
                    people.sort_by(|a, b| {
                        b.last_modified
                            .cmp(&a.last_modified)
                            .then_with(|| a.id.cmp(&b.id))
                    });
                    let others: Vec<String> = people.iter().skip(1).map(|p| p.id.clone()).collect();
                    let Some(person) = people.into_iter().next() else {
                        continue;
                    };
                    notes.insert(
                        0,
                        format!(
                            "{n} people match; chose {} {} as the most recently modified \
                             (ties broken by the smallest Id) over {}",
                            person.kind.sobject(),
                            person.id,
                            others.join(", ")
                        ),
                    );
                    trace.rules.push(RuleTried {
                        rule,
                        matched: matched_ids,
                        note: notes.join("; "),
                    });
                    return Decision::Matched {
                        person: person.person,
                        rule,
                        trace,
                    };
                }
                MultipleMatches::Review => {
                    let mut people = people;
                    people.sort_by(|a, b| a.id.cmp(&b.id));
                    let ids: Vec<String> = people.iter().map(|p| p.id.clone()).collect();
                    notes.insert(
                        0,
                        format!(
                            "{n} people match ({}); left to an operator to choose",
                            ids.join(", ")
                        ),
                    );
                    trace.rules.push(RuleTried {
                        rule,
                        matched: matched_ids,
                        note: notes.join("; "),
                    });
                    return Decision::Ambiguous {
                        rule,
                        candidates: people.into_iter().map(|p| p.person).collect(),
                        trace,
                    };
                }
            },
        }
    }
    Decision::NoMatch { trace }
}

/// The visitor's normalised key for a rule, or why the rule is skipped.
fn rule_key<'k>(
    rule: MatchKey,
    keys: &'k Keys,
    policy: &IdentityPolicy,
) -> Result<&'k str, String> {
    let (key, what) = match rule {
        MatchKey::ExternalId => {
            if policy.external_id_field.is_none() {
                return Err("skipped: the tenant has no external id field".into());
            }
            (keys.external_id.as_deref(), "external id")
        }
        MatchKey::Email => (keys.email.as_deref(), "valid e-mail"),
        MatchKey::Phone => (
            keys.phone.as_deref().or(keys.phone_digits.as_deref()),
            "phone number",
        ),
        MatchKey::VisitorId => {
            if policy.visitor_id_field.is_none() {
                return Err("skipped: the tenant has no visitor id field".into());
            }
            (keys.visitor_id.as_deref(), "visitor id")
        }
    };
    key.filter(|k| !k.is_empty())
        .ok_or_else(|| format!("skipped: the visitor has no {what}"))
}

fn candidate_matches(
    rule: MatchKey,
    key: &str,
    c: &Candidate,
    keys: &Keys,
    policy: &IdentityPolicy,
) -> bool {
    match rule {
        MatchKey::ExternalId => c.external_id.as_deref().map(str::trim) == Some(key),
        MatchKey::VisitorId => c.visitor_id.as_deref().map(str::trim) == Some(key),
        MatchKey::Email => c
            .email
            .as_deref()
            .and_then(normalize::email)
            .is_some_and(|e| e == key),
        // E.164 against each stored number read in the tenant's region, or (valid readings
        // only) in the visitor's; a number no plan reads only against the same digits.
        MatchKey::Phone if key.starts_with('+') => c.phones.iter().any(|p| {
            normalize::phone(p, &policy.default_phone_region).is_some_and(|p| p == key)
                || keys
                    .phone_region
                    .as_deref()
                    .and_then(|r| normalize::phone_in(p, r))
                    .is_some_and(|p| p == key)
        }),
        MatchKey::Phone => c
            .phones
            .iter()
            .any(|p| normalize::bare_digits(p).is_some_and(|d| d == key)),
    }
}

/// A person a rule's matches stand for, with the modification time used to choose.
struct Resolved {
    kind: PersonKind,
    id: String,
    last_modified: OffsetDateTime,
    person: Person,
}

/// The people behind the matched candidates: converted Leads become their Contacts, and a
/// person matched twice (directly and through a converted Lead) counts once.
fn people_of(matched: &[&Candidate], all: &[Candidate], notes: &mut Vec<String>) -> Vec<Resolved> {
    let mut people: Vec<Resolved> = Vec::new();
    for c in matched {
        let resolved = match c.kind {
            PersonKind::Contact => Resolved {
                kind: PersonKind::Contact,
                id: c.id.clone(),
                last_modified: c.last_modified,
                person: Person {
                    kind: PersonKind::Contact,
                    id: c.id.clone(),
                    account_id: c.account_id.clone(),
                },
            },
            PersonKind::Lead if !c.is_converted => Resolved {
                kind: PersonKind::Lead,
                id: c.id.clone(),
                last_modified: c.last_modified,
                person: Person {
                    kind: PersonKind::Lead,
                    id: c.id.clone(),
                    account_id: None,
                },
            },
            PersonKind::Lead => {
                let Some(contact_id) = c.converted_contact_id.clone().filter(|s| !s.is_empty())
                else {
                    notes.push(format!(
                        "converted Lead {} has no ConvertedContactId: ignored",
                        c.id
                    ));
                    continue;
                };
                notes.push(format!(
                    "converted Lead {} stands for its Contact {contact_id}",
                    c.id
                ));
                // The Contact's own modification time when the lookup returned it.
                let direct = all
                    .iter()
                    .find(|d| d.kind == PersonKind::Contact && d.id == contact_id);
                Resolved {
                    kind: PersonKind::Contact,
                    id: contact_id.clone(),
                    last_modified: direct.map_or(c.last_modified, |d| d.last_modified),
                    person: Person {
                        kind: PersonKind::Contact,
                        account_id: c
                            .converted_account_id
                            .clone()
                            .or_else(|| direct.and_then(|d| d.account_id.clone())),
                        id: contact_id,
                    },
                }
            }
        };
        if let Some(existing) = people
            .iter_mut()
            .find(|p| p.kind == resolved.kind && p.id == resolved.id)
        {
            if existing.person.account_id.is_none() {
                existing.person.account_id = resolved.person.account_id;
            }
            notes.push(format!(
                "{} {} counted once",
                resolved.kind.sobject(),
                resolved.id
            ));
            continue;
        }
        people.push(resolved);
    }
    people
}

/// Keeps the preferred kind when it is among the people, else the other kind.
fn preferred(people: Vec<Resolved>, prefer: Preferred, notes: &mut Vec<String>) -> Vec<Resolved> {
    let want = match prefer {
        Preferred::Contact => PersonKind::Contact,
        Preferred::Lead => PersonKind::Lead,
    };
    if !people.iter().any(|p| p.kind == want) {
        return people;
    }
    let (kept, dropped): (Vec<Resolved>, Vec<Resolved>) =
        people.into_iter().partition(|p| p.kind == want);
    if !dropped.is_empty() {
        let ids: Vec<&str> = dropped.iter().map(|p| p.id.as_str()).collect();
        notes.push(format!(
            "{} preferred: ignored {}",
            want.sobject(),
            ids.join(", ")
        ));
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::{MatchKey, MultipleMatches, Preferred};
    use time::macros::datetime;

    fn contact(id: &str) -> Candidate {
        Candidate {
            kind: PersonKind::Contact,
            id: id.into(),
            email: None,
            phones: Vec::new(),
            external_id: None,
            visitor_id: None,
            is_converted: false,
            converted_contact_id: None,
            converted_account_id: None,
            account_id: None,
            last_modified: datetime!(2024-01-01 00:00 UTC),
            stored: StoredFields::default(),
        }
    }

    fn lead(id: &str) -> Candidate {
        Candidate {
            kind: PersonKind::Lead,
            ..contact(id)
        }
    }

    fn with_email(mut c: Candidate, email: &str) -> Candidate {
        c.email = Some(email.into());
        c
    }

    fn email_keys(email: &str) -> Keys {
        Keys {
            email: Some(email.into()),
            ..Keys::default()
        }
    }

    fn matched(d: &Decision) -> Option<(&str, PersonKind, MatchKey)> {
        match d {
            Decision::Matched { person, rule, .. } => {
                Some((person.id.as_str(), person.kind, *rule))
            }
            _ => None,
        }
    }

    fn trace(d: &Decision) -> &Trace {
        match d {
            Decision::Matched { trace, .. }
            | Decision::Ambiguous { trace, .. }
            | Decision::NoMatch { trace } => trace,
        }
    }

    #[test]
    fn every_rule_and_candidate_is_in_the_trace_and_skips_say_why() {
        let candidates = [contact("003A"), lead("00QB")];
        let d = decide(&Keys::default(), &candidates, &IdentityPolicy::default());
        assert!(matches!(d, Decision::NoMatch { .. }));
        let t = trace(&d);
        assert_eq!(t.candidates_seen, ["003A", "00QB"]);
        let rules: Vec<MatchKey> = t.rules.iter().map(|r| r.rule).collect();
        assert_eq!(
            rules,
            [
                MatchKey::ExternalId,
                MatchKey::Email,
                MatchKey::Phone,
                MatchKey::VisitorId
            ]
        );
        assert!(
            t.rules[0].note.contains("no external id field"),
            "{:?}",
            t.rules[0]
        );
        assert!(
            t.rules[1].note.contains("visitor has no"),
            "{:?}",
            t.rules[1]
        );
        assert!(
            t.rules[3].note.contains("no visitor id field"),
            "{:?}",
            t.rules[3]
        );
    }

    #[test]
    fn candidates_are_compared_after_normalising() {
        let candidates = [
            with_email(contact("003other"), "ada@analytical.io.uk"),
            with_email(contact("003ada"), "  Ada@Analytical.IO "),
        ];
        let d = decide(
            &email_keys("ada@analytical.io"),
            &candidates,
            &IdentityPolicy::default(),
        );
        assert_eq!(
            matched(&d),
            Some(("003ada", PersonKind::Contact, MatchKey::Email))
        );
        let mut phone = contact("003tel");
        phone.phones = vec!["n/a".into(), "+1 415 555 0132".into()];
        let keys = Keys {
            phone: Some("+14155550132".into()),
            ..Keys::default()
        };
        let d = decide(&keys, &[phone], &IdentityPolicy::default());
        assert_eq!(
            matched(&d),
            Some(("003tel", PersonKind::Contact, MatchKey::Phone))
        );
    }

    #[test]
    fn contacts_come_before_leads_unless_leads_are_preferred() {
        let candidates = [
            with_email(lead("00Qlena"), "lena@agency.example"),
            with_email(contact("003lena"), "lena@agency.example"),
        ];
        let keys = email_keys("lena@agency.example");
        let d = decide(&keys, &candidates, &IdentityPolicy::default());
        assert_eq!(matched(&d).map(|m| m.0), Some("003lena"));
        let note = &trace(&d).rules[1].note;
        assert!(note.contains("ignored 00Qlena"), "{note}");
        assert_eq!(trace(&d).rules[1].matched, ["00Qlena", "003lena"]);

        let policy = IdentityPolicy {
            prefer: Preferred::Lead,
            ..IdentityPolicy::default()
        };
        let d = decide(&keys, &candidates, &policy);
        assert_eq!(
            matched(&d),
            Some(("00Qlena", PersonKind::Lead, MatchKey::Email))
        );
        // The other kind still matches when the preferred one does not.
        let d = decide(&keys, &candidates[1..], &policy);
        assert_eq!(matched(&d).map(|m| m.0), Some("003lena"));
    }

    #[test]
    fn a_converted_lead_stands_for_its_contact_counted_once() {
        let mut converted = with_email(lead("00Qold"), "ines@bakery.example");
        converted.is_converted = true;
        converted.converted_contact_id = Some("003ines".into());
        converted.converted_account_id = Some("001bakery".into());
        let keys = email_keys("ines@bakery.example");

        // Only the Lead carries the e-mail: the Contact is found through it.
        let d = decide(
            &keys,
            std::slice::from_ref(&converted),
            &IdentityPolicy::default(),
        );
        let Decision::Matched { person, .. } = &d else {
            panic!("expected a match: {d:?}");
        };
        assert_eq!(person.kind, PersonKind::Contact);
        assert_eq!(person.id, "003ines");
        assert_eq!(person.account_id.as_deref(), Some("001bakery"));
        assert!(trace(&d).rules[1].note.contains("converted Lead 00Qold"));

        // The Contact matches directly too: one person, not an ambiguity.
        let candidates = [
            with_email(contact("003ines"), "ines@bakery.example"),
            converted,
        ];
        let d = decide(&keys, &candidates, &IdentityPolicy::default());
        assert_eq!(matched(&d).map(|m| m.0), Some("003ines"));
    }

    #[test]
    fn a_converted_lead_without_its_contact_matches_nobody() {
        let mut converted = with_email(lead("00Qghost"), "ghost@void.example");
        converted.is_converted = true;
        let d = decide(
            &email_keys("ghost@void.example"),
            &[converted],
            &IdentityPolicy::default(),
        );
        assert!(matches!(d, Decision::NoMatch { .. }), "{d:?}");
        assert!(trace(&d).rules[1].note.contains("no ConvertedContactId"));
    }

    #[test]
    fn several_people_go_to_review_listed_by_id() {
        let candidates = [
            with_email(contact("003b"), "pat@shop.example"),
            with_email(contact("003a"), "PAT@shop.example"),
        ];
        let d = decide(
            &email_keys("pat@shop.example"),
            &candidates,
            &IdentityPolicy::default(),
        );
        let Decision::Ambiguous {
            rule, candidates, ..
        } = &d
        else {
            panic!("expected ambiguous: {d:?}");
        };
        assert_eq!(*rule, MatchKey::Email);
        let ids: Vec<&str> = candidates.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["003a", "003b"]);
    }

    #[test]
    fn most_recent_wins_and_ties_go_to_the_smallest_id() {
        let policy = IdentityPolicy {
            multiple_matches: MultipleMatches::MostRecent,
            ..IdentityPolicy::default()
        };
        let keys = email_keys("pat@shop.example");
        let mut newest = with_email(contact("003z"), "pat@shop.example");
        newest.last_modified = datetime!(2024-06-01 00:00 UTC);
        let candidates = [
            with_email(contact("003a"), "pat@shop.example"),
            newest.clone(),
        ];
        let d = decide(&keys, &candidates, &policy);
        assert_eq!(matched(&d).map(|m| m.0), Some("003z"));
        assert!(trace(&d).rules[1].note.contains("most recently modified"));

        let mut tie = with_email(contact("003m"), "pat@shop.example");
        tie.last_modified = newest.last_modified;
        let d = decide(&keys, &[newest.clone(), tie.clone()], &policy);
        assert_eq!(matched(&d).map(|m| m.0), Some("003m"));
        let d = decide(&keys, &[tie, newest], &policy);
        assert_eq!(matched(&d).map(|m| m.0), Some("003m"));
    }

    #[test]
    fn the_first_rule_with_a_match_decides() {
        let mut by_id = contact("003ext");
        by_id.external_id = Some(" cust-1 ".into());
        let by_email = with_email(contact("003mail"), "shared@inbox.example");
        let keys = Keys {
            external_id: Some("cust-1".into()),
            email: Some("shared@inbox.example".into()),
            ..Keys::default()
        };
        let candidates = [by_email, by_id];
        let with_field = IdentityPolicy {
            external_id_field: Some("External_Id__c".into()),
            ..IdentityPolicy::default()
        };
        let d = decide(&keys, &candidates, &with_field);
        assert_eq!(
            matched(&d),
            Some(("003ext", PersonKind::Contact, MatchKey::ExternalId))
        );
        assert_eq!(trace(&d).rules.len(), 1);
        // Without the tenant's field, the rule is skipped and the e-mail decides.
        let d = decide(&keys, &candidates, &IdentityPolicy::default());
        assert_eq!(
            matched(&d),
            Some(("003mail", PersonKind::Contact, MatchKey::Email))
        );
    }

    #[test]
    fn visitor_ids_match_exactly_when_the_tenant_has_the_field() {
        let mut cookie = lead("00Qanon");
        cookie.visitor_id = Some("v-42".into());
        let policy = IdentityPolicy {
            visitor_id_field: Some("Chat_Contact_Id__c".into()),
            ..IdentityPolicy::default()
        };
        let keys = |v: &str| Keys {
            visitor_id: Some(v.into()),
            ..Keys::default()
        };
        let d = decide(&keys("v-42"), std::slice::from_ref(&cookie), &policy);
        assert_eq!(
            matched(&d),
            Some(("00Qanon", PersonKind::Lead, MatchKey::VisitorId))
        );
        let d = decide(&keys("v-421"), std::slice::from_ref(&cookie), &policy);
        assert!(matches!(d, Decision::NoMatch { .. }));
    }
}
