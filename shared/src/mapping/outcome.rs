//! What the case writer does after Salesforce answers one planned composite request: record
//! it, plan again for the rest, settle a conflict, forget a deleted record, set refused fields
//! aside, or give up. Pure: the writer gathers [`Facts`], [`decide`] says what comes next, and
//! the state changes it implies are the plain functions below. The rules, each at most once
//! per write:
//!
//! - everything accepted: record ids, hashes and watermarks; plan again when the transcript
//!   overflowed one request;
//! - 412 on the Case (Salesforce changed it since our last write): settle each field by the
//!   tenant's conflict rule ([`super::conflict`]) and send again; a second 412 is a retry;
//! - our Case or Task deleted in Salesforce: forget its id and upsert it anew by its key;
//! - a value Salesforce refuses by field name (too long, not in a restricted picklist): set
//!   those fields aside with a note and write the rest; a validation rule is the org saying
//!   "not like this" and becomes a review item, as does an error naming a field we did not send.

use super::intents::{Absorbed, Target};
use super::plan::{self, Effect, WritePlan};
use super::state::{CaseLink, ConversationState, PartState, Watermark};
use crate::error::Classify;
use crate::salesforce::{CompositeResponse, SalesforceError};

/// Error codes that mean the record behind an id is gone (deleted, or merged away).
const GONE: [&str; 3] = [
    "ENTITY_IS_DELETED",
    "INVALID_CROSS_REFERENCE_KEY",
    "NOT_FOUND",
];
/// A validation rule's refusal: never set aside, always a review item.
const VALIDATION_RULE: &str = "FIELD_CUSTOM_VALIDATION_EXCEPTION";

/// The first failed subrequest of an answer, as far as the decision needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Its reference id (`case`, `task1`, …).
    pub reference: String,
    /// 412: the record changed since `If-Unmodified-Since`.
    pub precondition_failed: bool,
    /// Salesforce's error code, when it gave one.
    pub code: Option<String>,
    /// The fields the error names; None when it is not an API error at all.
    pub fields: Option<Vec<String>>,
    pub retryable: bool,
}

impl Failure {
    pub fn of(reference: &str, error: &SalesforceError) -> Self {
        Self {
            reference: reference.to_owned(),
            precondition_failed: error.is_precondition_failed(),
            code: error.code().map(str::to_owned),
            fields: error.api_error().map(|a| a.fields.clone()),
            retryable: error.class().is_retryable(),
        }
    }
}

/// The recovery rounds a write has spent: each kind is allowed once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rounds {
    pub settled: bool,
    pub forgot: bool,
    pub refused: bool,
}

/// What is known once Salesforce answered.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// None: every subrequest succeeded.
    pub failure: Option<&'a Failure>,
    pub rounds: Rounds,
    pub plan: &'a WritePlan,
    pub state: &'a ConversationState,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Record what the answer says; `more` when the transcript needs another request.
    Record { more: bool },
    /// Read the Case, settle its fields by the tenant's rules, send again.
    SettleConflict,
    /// Someone is editing the Case right now: retry the whole write later.
    StillConflicting,
    /// Our Case or Task was deleted in Salesforce: forget its id, upsert it anew.
    ForgetDeleted { reference: String },
    /// Salesforce refused these fields by name: leave them out (their watermarks keep them
    /// out until their value changes) and send the rest.
    SetAside(Vec<(Target, String, Watermark)>),
    /// Nothing to recover: the error stands (retried or parked by its class).
    Fail,
}

pub fn decide(f: Facts) -> Next {
    let Some(failure) = f.failure else {
        return Next::Record {
            more: f.plan.overflowed,
        };
    };
    let on_case = failure.reference == plan::REF_CASE;
    if on_case && failure.precondition_failed {
        return if f.rounds.settled {
            Next::StillConflicting
        } else {
            Next::SettleConflict
        };
    }
    let gone = failure.fields.as_ref().is_some_and(Vec::is_empty)
        && failure.code.as_deref().is_some_and(|c| GONE.contains(&c));
    if !f.rounds.forgot && gone && can_forget(f.state, &failure.reference) {
        return Next::ForgetDeleted {
            reference: failure.reference.clone(),
        };
    }
    if !f.rounds.refused && !failure.retryable && failure.code.as_deref() != Some(VALIDATION_RULE) {
        let refused = refused_fields(f.plan, failure);
        if !refused.is_empty() {
            return Next::SetAside(refused);
        }
    }
    Next::Fail
}

impl Rounds {
    /// The rounds spent once `next` is done.
    pub fn after(self, next: &Next) -> Self {
        match next {
            Next::SettleConflict => Self {
                settled: true,
                ..self
            },
            Next::ForgetDeleted { .. } => Self {
                forgot: true,
                ..self
            },
            Next::SetAside(_) => Self {
                refused: true,
                ..self
            },
            _ => self,
        }
    }
}

/// The fields of the failed subrequest that Salesforce named, with the watermarks that keep
/// them from being sent again until their value changes. Empty unless every named field is
/// one this plan sent (else setting them aside would not help).
pub fn refused_fields(plan: &WritePlan, failure: &Failure) -> Vec<(Target, String, Watermark)> {
    let target = match failure.reference.as_str() {
        plan::REF_CASE => Target::Case,
        plan::REF_TASK => Target::Task,
        _ => return Vec::new(),
    };
    let Some(fields) = &failure.fields else {
        return Vec::new();
    };
    let named: Vec<(Target, String, Watermark)> = plan
        .marks
        .iter()
        .filter(|(t, f, _)| *t == target && fields.iter().any(|n| n.eq_ignore_ascii_case(f)))
        .cloned()
        .collect();
    if named.is_empty() || named.len() < fields.len() {
        return Vec::new();
    }
    named
}

/// Whether a failed reference names a record of ours whose id can be dropped and upserted
/// again by its key.
pub fn can_forget(state: &ConversationState, reference: &str) -> bool {
    match reference {
        plan::REF_CASE => state.case.is_some(),
        plan::REF_TASK => state.task_id.is_some(),
        _ => false,
    }
}

/// Drops the id behind a deleted record so the next plan upserts it by key. Someone else's
/// Case (the Contact's open one, reused) that is gone is replaced by our own.
pub fn forget(state: &mut ConversationState, reference: &str) {
    match reference {
        plan::REF_CASE => match &mut state.case {
            Some(c) if c.reused => state.case = None,
            Some(c) => c.id = None,
            None => {}
        },
        plan::REF_TASK => {
            state.task_id = None;
            if let Some(part) = state.parts.first_mut() {
                part.id = None;
                part.hash.clear();
            }
        }
        _ => {}
    }
}

/// Records ids, part hashes and modstamps from an accepted answer. Watermarks are saved by
/// the writer (`plan.marks`).
pub fn record(state: &mut ConversationState, plan: &WritePlan, response: &CompositeResponse) {
    for (reference, effect) in &plan.effects {
        let Some(sub) = response.get(reference) else {
            continue;
        };
        match effect {
            Effect::CaseId => {
                if let Some(id) = sub.id() {
                    let reused = state.case.as_ref().is_some_and(|c| c.reused);
                    state.case = Some(CaseLink {
                        id: Some(id.to_owned()),
                        reused,
                    });
                }
            }
            Effect::CaseModstamp => {
                if let (Some(id), Some(stamp)) = (
                    sub.body.get("Id").and_then(|v| v.as_str()),
                    sub.body.get("LastModifiedDate").and_then(|v| v.as_str()),
                ) {
                    state.modstamps.insert(id.to_owned(), stamp.to_owned());
                }
            }
            Effect::TaskId => {}
            Effect::Part { index, hash } => {
                let part = part_mut(state, *index);
                if let Some(id) = sub.id() {
                    part.id = Some(id.to_owned());
                }
                part.hash.clone_from(hash);
            }
        }
    }
    if let Some(id) = response.get(plan::REF_TASK).and_then(|s| s.id()) {
        state.task_id = Some(id.to_owned());
    }
}

/// Whether the transcript goes out with this write: a close, a flush the drainer asked for
/// (lines waited too long), a message after the close (deliveries are not ordered), enough
/// lines gathered, the first write, or anything else going out anyway. Otherwise messages
/// only wait in DynamoDB.
pub fn transcript_due(
    state: &ConversationState,
    absorbed: &Absorbed,
    flush_requested: bool,
    flush_after_messages: u32,
) -> bool {
    absorbed.flush
        || (flush_requested && state.unsent_lines > 0)
        || (state.is_closed() && !absorbed.messages.is_empty())
        || state.unsent_lines >= flush_after_messages
        || state.parts.is_empty()
        || !absorbed.intents.is_empty()
        || !absorbed.owners.is_empty()
}

/// Whether the plan may create a record (so a crash after Salesforce answers must be
/// remembered: the records may exist).
pub fn creates(plan: &WritePlan, state: &ConversationState) -> bool {
    plan.effects.iter().any(|(_, effect)| match effect {
        Effect::CaseId | Effect::TaskId => true,
        Effect::Part { index, .. } => state.parts.get(*index).is_none_or(|p| p.id.is_none()),
        Effect::CaseModstamp => false,
    })
}

pub fn case_id(state: &ConversationState) -> Option<&str> {
    state.case.as_ref().and_then(|c| c.id.as_deref())
}

pub fn task_id(state: &ConversationState) -> Option<&str> {
    state.task_id.as_deref()
}

/// Transcript part `index`, made (empty) when it is not there yet.
pub fn part_mut(state: &mut ConversationState, index: usize) -> &mut PartState {
    while state.parts.len() <= index {
        state.parts.push(PartState {
            id: None,
            hash: String::new(),
        });
    }
    &mut state.parts[index]
}

/// The records of the conversation, for the sync log: the Case, then Task and parts.
pub fn touched(state: &ConversationState) -> Vec<String> {
    let mut out: Vec<String> = case_id(state).map(str::to_owned).into_iter().collect();
    for id in state
        .task_id
        .iter()
        .chain(state.parts.iter().filter_map(|p| p.id.as_ref()))
    {
        if !out.contains(id) {
            out.push(id.clone());
        }
    }
    out
}

/// Which Case the conversation writes to, for the sync log.
pub fn case_choice(state: &ConversationState) -> &'static str {
    match &state.case {
        Some(c) if c.reused => "Case: the Contact's open Case",
        Some(_) => "Case: one per conversation",
        None => "no Case for this conversation",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::state::Stamp;
    use serde_json::json;

    fn mark(value: &str) -> Watermark {
        Watermark {
            hash: value.into(),
            value: json!(value),
            stamp: Stamp::new(time::OffsetDateTime::UNIX_EPOCH, "d", 0),
        }
    }

    fn plan_sending(fields: &[(Target, &str)]) -> WritePlan {
        WritePlan {
            marks: fields
                .iter()
                .map(|(t, f)| (*t, (*f).to_owned(), mark("v")))
                .collect(),
            ..WritePlan::default()
        }
    }

    fn failure(reference: &str, code: &str, fields: &[&str]) -> Failure {
        Failure {
            reference: reference.into(),
            precondition_failed: false,
            code: Some(code.into()),
            fields: Some(fields.iter().map(|f| (*f).to_owned()).collect()),
            retryable: false,
        }
    }

    fn with_case_and_task() -> ConversationState {
        ConversationState {
            case: Some(CaseLink {
                id: Some("500A".into()),
                reused: false,
            }),
            task_id: Some("00TA".into()),
            parts: vec![PartState {
                id: Some("00TA".into()),
                hash: "h".into(),
            }],
            ..ConversationState::default()
        }
    }

    fn decide_with(failure: Option<&Failure>, rounds: Rounds, plan: &WritePlan) -> Next {
        let state = with_case_and_task();
        decide(Facts {
            failure,
            rounds,
            plan,
            state: &state,
        })
    }

    #[test]
    fn an_accepted_answer_is_recorded_and_an_overflowed_transcript_goes_on() {
        let mut plan = WritePlan::default();
        assert_eq!(
            decide_with(None, Rounds::default(), &plan),
            Next::Record { more: false }
        );
        plan.overflowed = true;
        assert_eq!(
            decide_with(None, Rounds::default(), &plan),
            Next::Record { more: true }
        );
    }

    #[test]
    fn a_changed_case_is_settled_once_and_a_second_change_is_retried_later() {
        let plan = WritePlan::default();
        let f = Failure {
            precondition_failed: true,
            ..failure(plan::REF_CASE, "PRECONDITION_FAILED", &[])
        };
        let first = decide_with(Some(&f), Rounds::default(), &plan);
        assert_eq!(first, Next::SettleConflict);
        let rounds = Rounds::default().after(&first);
        assert_eq!(decide_with(Some(&f), rounds, &plan), Next::StillConflicting);
    }

    #[test]
    fn a_deleted_case_or_task_is_forgotten_once_and_written_anew() {
        let plan = WritePlan::default();
        for reference in [plan::REF_CASE, plan::REF_TASK] {
            for code in GONE {
                let f = failure(reference, code, &[]);
                let next = decide_with(Some(&f), Rounds::default(), &plan);
                assert_eq!(
                    next,
                    Next::ForgetDeleted {
                        reference: reference.into()
                    }
                );
                let again = decide_with(Some(&f), Rounds::default().after(&next), &plan);
                assert_eq!(again, Next::Fail, "{reference} {code} forgotten twice");
            }
        }
    }

    #[test]
    fn a_deleted_reference_we_did_not_record_is_not_ours_to_forget() {
        let plan = WritePlan::default();
        let f = failure("part2", "ENTITY_IS_DELETED", &[]);
        assert_eq!(decide_with(Some(&f), Rounds::default(), &plan), Next::Fail);
        let state = ConversationState::default();
        let f = failure(plan::REF_CASE, "ENTITY_IS_DELETED", &[]);
        let next = decide(Facts {
            failure: Some(&f),
            rounds: Rounds::default(),
            plan: &plan,
            state: &state,
        });
        assert_eq!(next, Next::Fail);
    }

    #[test]
    fn a_cross_reference_error_naming_a_field_is_a_bad_value_not_a_deleted_record() {
        let plan = plan_sending(&[(Target::Case, "OwnerId")]);
        let f = failure(plan::REF_CASE, "INVALID_CROSS_REFERENCE_KEY", &["OwnerId"]);
        match decide_with(Some(&f), Rounds::default(), &plan) {
            Next::SetAside(fields) => assert_eq!(fields[0].1, "OwnerId"),
            other => panic!("expected the field set aside, got {other:?}"),
        }
    }

    #[test]
    fn fields_salesforce_refuses_by_name_are_set_aside_once_and_the_rest_written() {
        let plan = plan_sending(&[(Target::Case, "Priority"), (Target::Case, "Subject")]);
        let f = failure(
            plan::REF_CASE,
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            &["priority"],
        );
        let next = decide_with(Some(&f), Rounds::default(), &plan);
        let Next::SetAside(fields) = &next else {
            panic!("expected SetAside, got {next:?}");
        };
        let names: Vec<&str> = fields.iter().map(|(_, f, _)| f.as_str()).collect();
        assert_eq!(names, ["Priority"]);
        assert_eq!(
            decide_with(Some(&f), Rounds::default().after(&next), &plan),
            Next::Fail
        );
    }

    #[test]
    fn a_validation_rule_is_a_review_item_even_when_it_names_a_field() {
        let plan = plan_sending(&[(Target::Case, "Priority")]);
        let f = failure(plan::REF_CASE, VALIDATION_RULE, &["Priority"]);
        assert_eq!(decide_with(Some(&f), Rounds::default(), &plan), Next::Fail);
    }

    #[test]
    fn an_error_naming_a_field_this_plan_did_not_send_fails_the_write() {
        let plan = plan_sending(&[(Target::Case, "Priority")]);
        let f = failure(
            plan::REF_CASE,
            "STRING_TOO_LONG",
            &["Priority", "Description"],
        );
        assert_eq!(decide_with(Some(&f), Rounds::default(), &plan), Next::Fail);
        let f = failure(plan::REF_TASK, "STRING_TOO_LONG", &["Priority"]);
        assert_eq!(decide_with(Some(&f), Rounds::default(), &plan), Next::Fail);
    }

    #[test]
    fn a_retryable_error_is_never_set_aside() {
        let plan = plan_sending(&[(Target::Case, "Priority")]);
        let f = Failure {
            retryable: true,
            ..failure(plan::REF_CASE, "UNABLE_TO_LOCK_ROW", &["Priority"])
        };
        assert_eq!(decide_with(Some(&f), Rounds::default(), &plan), Next::Fail);
    }

    #[test]
    fn forgetting_a_deleted_record_keeps_what_upserts_it_again() {
        let mut state = with_case_and_task();
        forget(&mut state, plan::REF_CASE);
        assert_eq!(
            state.case,
            Some(CaseLink {
                id: None,
                reused: false
            })
        );
        forget(&mut state, plan::REF_TASK);
        assert_eq!(state.task_id, None);
        assert_eq!(state.parts[0].id, None);
        assert!(
            state.parts[0].hash.is_empty(),
            "the transcript is written again"
        );

        let mut reused = with_case_and_task();
        reused.case = Some(CaseLink {
            id: Some("500B".into()),
            reused: true,
        });
        forget(&mut reused, plan::REF_CASE);
        assert_eq!(
            reused.case, None,
            "someone else's Case gone: we make our own"
        );
    }

    #[test]
    fn a_plan_creates_until_every_part_it_writes_has_an_id() {
        let state = with_case_and_task();
        let mut plan = WritePlan::default();
        assert!(!creates(&plan, &state));
        plan.effects = vec![(
            "part1".into(),
            Effect::Part {
                index: 0,
                hash: "h2".into(),
            },
        )];
        assert!(!creates(&plan, &state), "part 0 has its id: an update");
        plan.effects.push((
            "part2".into(),
            Effect::Part {
                index: 1,
                hash: "h3".into(),
            },
        ));
        assert!(creates(&plan, &state), "part 1 is new");
        plan.effects = vec![("case".into(), Effect::CaseId)];
        assert!(creates(&plan, &state), "an upsert may create");
    }

    #[test]
    fn messages_wait_until_something_else_goes_out_enough_gather_or_the_chat_closes() {
        let written = with_case_and_task();
        let quiet = Absorbed::default();
        assert!(
            !transcript_due(&written, &quiet, false, 20),
            "nothing asks for it"
        );
        let mut waiting = written.clone();
        waiting.unsent_lines = 20;
        assert!(
            transcript_due(&waiting, &quiet, false, 20),
            "enough lines gathered"
        );
        waiting.unsent_lines = 3;
        assert!(!transcript_due(&waiting, &quiet, false, 20));
        assert!(
            transcript_due(&waiting, &quiet, true, 20),
            "the drainer's flush"
        );
        assert!(
            !transcript_due(&written, &quiet, true, 20),
            "a flush with nothing waiting"
        );
        let closing = Absorbed {
            flush: true,
            ..Absorbed::default()
        };
        assert!(transcript_due(&written, &closing, false, 20), "the close");
        assert!(
            transcript_due(&ConversationState::default(), &quiet, false, 20),
            "the first write"
        );
        let mut closed = written.clone();
        closed.closed = Some((true, Stamp::new(time::OffsetDateTime::UNIX_EPOCH, "d", 1)));
        let late_message = Absorbed {
            messages: vec![(
                Stamp::new(time::OffsetDateTime::UNIX_EPOCH, "d", 2),
                crate::event::Message {
                    id: None,
                    role: crate::event::Role::Visitor,
                    author: None,
                    body: "still there?".into(),
                    format: crate::event::BodyFormat::Text,
                    at: None,
                    attachments: Vec::new(),
                },
            )],
            ..Absorbed::default()
        };
        assert!(
            transcript_due(&closed, &late_message, false, 20),
            "a message after the close"
        );
        assert!(
            !transcript_due(&written, &late_message, false, 20),
            "a message alone waits"
        );
    }

    #[test]
    fn an_accepted_answer_records_ids_hashes_and_the_case_modstamp() {
        let mut state = ConversationState::default();
        let plan = WritePlan {
            effects: vec![
                (plan::REF_CASE.into(), Effect::CaseId),
                (plan::REF_CASE_STAMP.into(), Effect::CaseModstamp),
                (
                    plan::REF_TASK.into(),
                    Effect::Part {
                        index: 0,
                        hash: "h1".into(),
                    },
                ),
            ],
            ..WritePlan::default()
        };
        let response: CompositeResponse = serde_json::from_value(json!({"compositeResponse": [
            {"referenceId": "case", "httpStatusCode": 201, "httpHeaders": {},
             "body": {"id": "500X", "success": true, "errors": [], "created": true}},
            {"referenceId": "caseStamp", "httpStatusCode": 200, "httpHeaders": {},
             "body": {"Id": "500X", "LastModifiedDate": "2026-01-02T03:04:05.000+0000"}},
            {"referenceId": "task1", "httpStatusCode": 201, "httpHeaders": {},
             "body": {"id": "00TX", "success": true, "errors": [], "created": true}}
        ]}))
        .expect("a composite answer");
        record(&mut state, &plan, &response);
        assert_eq!(case_id(&state), Some("500X"));
        assert_eq!(task_id(&state), Some("00TX"));
        assert_eq!(state.parts[0].id.as_deref(), Some("00TX"));
        assert_eq!(state.parts[0].hash, "h1");
        assert_eq!(
            state.modstamps.get("500X").map(String::as_str),
            Some("2026-01-02T03:04:05.000+0000")
        );
        assert_eq!(touched(&state), ["500X", "00TX"]);
        assert_eq!(case_choice(&state), "Case: one per conversation");
    }
}
