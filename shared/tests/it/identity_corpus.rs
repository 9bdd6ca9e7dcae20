//! The identity corpus (tests/identity/corpus.toml) through the rule chain, without Salesforce:
//! every record of a case is a candidate, so a decision can only come from the visitor's keys.
//! Fails on any wrong-person attachment and on any outcome other than the case's label, and
//! prints precision (wrong-person attachments count against it) and recall (misses do).

use crate::corpus::*;
use shared::identity::Keys;
use shared::identity::create::{self, CreatePlan};
use shared::identity::rules::{self, Candidate, Decision};
use shared::tenant::{MatchKey, Mode};
use std::collections::BTreeSet;

/// What the rule chain decided, in labels.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Matched(String, MatchKey),
    Ambiguous(BTreeSet<String>, MatchKey),
    None,
}

/// Problems with the corpus itself (not with the resolver).
fn check_case(case: &Case) -> Vec<String> {
    let mut problems = Vec::new();
    let mut labels = BTreeSet::new();
    for r in &case.records {
        if !labels.insert(r.label.as_str()) {
            problems.push(format!("label {} appears twice", r.label));
        }
        for key in r.custom.keys() {
            if !key.ends_with("__c") {
                problems.push(format!("{}: unknown field {key}", r.label));
            }
        }
        if r.sobject == SObject::Contact
            && (r.IsConverted || r.ConvertedContactId.is_some() || r.Company.is_some())
        {
            problems.push(format!("{}: a Contact has no Lead fields", r.label));
        }
    }
    for r in &case.records {
        if let Some(to) = &r.ConvertedContactId {
            let target = case.records.iter().find(|t| &t.label == to);
            if !target.is_some_and(|t| t.sobject == SObject::Contact) {
                problems.push(format!(
                    "{}: ConvertedContactId {to} is no Contact",
                    r.label
                ));
            }
        }
    }
    match case.expect.as_str() {
        "none" => {}
        "ambiguous" if case.among.len() < 2 => {
            problems.push("ambiguous needs at least two labels in `among`".into());
        }
        "ambiguous" => {}
        label if !labels.contains(label) => {
            problems.push(format!("expect {label}: no such record"))
        }
        _ => {}
    }
    for label in &case.among {
        if !labels.contains(label.as_str()) {
            problems.push(format!("among {label}: no such record"));
        }
    }
    problems
}

#[derive(Default)]
struct Score {
    expected_matches: usize,
    correct: usize,
    wrong_person: usize,
    missed: usize,
}

#[test]
fn the_identity_corpus_attaches_no_one_wrongly_and_matches_every_label() {
    let corpus = load();
    assert!(
        corpus.cases.len() >= 60,
        "the corpus has {} cases; it needs at least 60",
        corpus.cases.len()
    );
    let mut names = BTreeSet::new();
    let mut failures: Vec<String> = Vec::new();
    let mut score = Score::default();
    for case in &corpus.cases {
        if !names.insert(case.name.as_str()) {
            failures.push(format!("{}: case name used twice", case.name));
        }
        let problems = check_case(case);
        if !problems.is_empty() {
            failures.push(format!(
                "{}: corpus error: {}",
                case.name,
                problems.join("; ")
            ));
            continue;
        }
        let policy = case.policy.clone().unwrap_or_default();
        let candidates: Result<Vec<Candidate>, String> =
            case.records.iter().map(|r| r.candidate(&policy)).collect();
        let candidates = match candidates {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{}: corpus error: {e}", case.name));
                continue;
            }
        };
        let keys = Keys::from_visitor(&case.visitor.to_visitor(), &policy.default_phone_region);
        let decision = rules::decide(&keys, &candidates, &policy);
        let trace = match &decision {
            Decision::Matched { trace, .. }
            | Decision::Ambiguous { trace, .. }
            | Decision::NoMatch { trace } => trace,
        };
        for c in &candidates {
            if !trace.candidates_seen.contains(&c.id) {
                failures.push(format!("{}: trace misses candidate {}", case.name, c.id));
            }
        }
        let outcome = match &decision {
            Decision::Matched { person, rule, .. } => Outcome::Matched(person.id.clone(), *rule),
            Decision::Ambiguous {
                candidates, rule, ..
            } => Outcome::Ambiguous(candidates.iter().map(|p| p.id.clone()).collect(), *rule),
            Decision::NoMatch { .. } => Outcome::None,
        };
        let expected_label = match case.expect.as_str() {
            "none" | "ambiguous" => None,
            label => Some(label),
        };
        if expected_label.is_some() {
            score.expected_matches += 1;
        }
        let ok = match (&outcome, case.expect.as_str()) {
            (Outcome::Matched(got, rule), _) => {
                if expected_label == Some(got.as_str()) {
                    score.correct += 1;
                    case.rule.is_none_or(|r| r == *rule)
                } else {
                    score.wrong_person += 1;
                    failures.push(format!(
                        "{}: WRONG PERSON: attached to {got} by {rule:?}, expected {}",
                        case.name, case.expect
                    ));
                    if expected_label.is_some() {
                        score.missed += 1;
                    }
                    false
                }
            }
            (Outcome::Ambiguous(got, rule), "ambiguous") => {
                let want: BTreeSet<String> = case.among.iter().cloned().collect();
                *got == want && case.rule.is_none_or(|r| r == *rule)
            }
            (Outcome::None, "none") => true,
            (_, _) => {
                if expected_label.is_some() {
                    score.missed += 1;
                }
                false
            }
        };
        if !ok {
            failures.push(format!(
                "{}: expected {} {:?} (rule {:?}), got {outcome:?}; trace {:?}",
                case.name, case.expect, case.among, case.rule, trace.rules
            ));
        }
        if let Some(want) = &case.company {
            match create::plan(&keys, &policy, Mode::Sales, None) {
                CreatePlan::Create { fields, .. } => {
                    let got = fields.get("Company").and_then(|v| v.as_str());
                    if got != Some(want.as_str()) {
                        failures.push(format!(
                            "{}: created Lead's Company {got:?}, expected {want:?}",
                            case.name
                        ));
                    }
                }
                CreatePlan::Skip { reason } => failures.push(format!(
                    "{}: expected a Lead with Company {want:?}, got Skip: {reason}",
                    case.name
                )),
            }
        }
    }
    let attached = score.correct + score.wrong_person;
    let precision = if attached == 0 {
        1.0
    } else {
        score.correct as f64 / attached as f64
    };
    let recall = if score.expected_matches == 0 {
        1.0
    } else {
        score.correct as f64 / score.expected_matches as f64
    };
    println!(
        "identity corpus: {} cases; precision {precision:.3} ({} correct, {} wrong-person); \
         recall {recall:.3} ({} of {} expected matches, {} missed)",
        corpus.cases.len(),
        score.correct,
        score.wrong_person,
        score.correct,
        score.expected_matches,
        score.missed
    );
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(score.wrong_person, 0);
}
