//! From a conversation's state and intents to one composite request: the Case, the transcript
//! Task(s) (or CaseComments or transcript records) and only the fields whose value changed.
//! Pure; the writer sends the request and records what [`WritePlan::effects`] says.
//!
//! Idempotent under retries and crashes: Cases are upserted by `Chat_Conversation_Id__c` and
//! Tasks by `Chat_Transcript_Key__c` until their ids are known, so a replay after a crash
//! between Salesforce's answer and our bookkeeping updates the same records.

use super::intents::{Intent, OwnerRequest, TASK_DONE, TASK_OPEN, Target, category};
use super::policy::{TranscriptTarget, normalise_key};
use super::state::{ConversationState, RecordWatermarks, Watermark, value_hash};
use crate::identity::rules::PersonKind;
use crate::platforms::Platform;
use crate::salesforce::composite::AUTO_ASSIGN_HEADER;
use crate::salesforce::{CompositeRequest, SubRequest, reference};
use crate::tenant::TenantConfig;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// External id fields from `salesforce/`.
pub const CASE_KEY_FIELD: &str = "Chat_Conversation_Id__c";
pub const TASK_KEY_FIELD: &str = "Chat_Transcript_Key__c";
pub const URL_FIELD: &str = "Chat_Conversation_URL__c";
pub const TRANSCRIPT_OBJECT: &str = "Chat_Transcript__c";

/// Salesforce's text limits for the fields chatsync fills from chat text.
const SUBJECT_MAX: usize = 255;
const URL_MAX: usize = 255;

/// Ids the writer looked up before planning.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lookups {
    /// Agent e-mail (lower case) → active User id, None when there is none.
    pub users: BTreeMap<String, Option<String>>,
    /// Queue name or Id as configured → Group id.
    pub queues: BTreeMap<String, Option<String>>,
    /// The Case record type's id.
    pub record_type: Option<String>,
}

/// Everything the planner reads.
pub struct PlanInput<'a> {
    pub config: &'a TenantConfig,
    pub platform: Platform,
    pub state: &'a ConversationState,
    pub intents: &'a [Intent],
    pub owners: &'a [OwnerRequest],
    pub lookups: &'a Lookups,
    /// Watermarks of the Case and of the first Task, when their ids are known.
    pub case_marks: &'a RecordWatermarks,
    pub task_marks: &'a RecordWatermarks,
    /// The rendered transcript parts, when the transcript is to be written now.
    pub transcript: Option<&'a [String]>,
    /// Fields Salesforce keeps after a conflict: left out of this plan.
    pub keep_salesforce: &'a [(Target, String)],
}

/// What to record once Salesforce accepted a subrequest.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// The Case's id (upsert answer).
    CaseId,
    /// The Case's LastModifiedDate after the write (a GET after it).
    CaseModstamp,
    /// Transcript part `n` (0-based) now has this text hash; the answer carries its id.
    Part { index: usize, hash: String },
    /// The first Task's id (upsert answer), when the transcript lives elsewhere.
    TaskId,
}

/// One planned write.
#[derive(Debug, Clone, Default)]
pub struct WritePlan {
    pub request: CompositeRequest,
    /// Reference id → what its success means.
    pub effects: Vec<(String, Effect)>,
    /// Watermarks to save once the request succeeded, by target.
    pub marks: Vec<(Target, String, Watermark)>,
    /// Fields sent, for the sync log (`Case.Status`…).
    pub sent: Vec<String>,
    pub notes: Vec<String>,
    /// More than one composite request's worth: send this one, then plan again for the rest.
    pub overflowed: bool,
}

impl WritePlan {
    pub fn is_empty(&self) -> bool {
        self.request.is_empty()
    }
}

pub const REF_CASE: &str = "case";
pub const REF_CASE_STAMP: &str = "caseStamp";
pub const REF_TASK: &str = "task1";

pub fn case_key(tenant_id: &str, platform: Platform, conversation_id: &str) -> String {
    truncate(&format!("{tenant_id}:{platform}:{conversation_id}"), 255)
}

pub fn part_key(case_key: &str, part: usize) -> String {
    format!("{case_key}#{part}")
}

/// Plans the write. `tenant_id` and `platform` form the external keys.
pub fn plan(input: &PlanInput) -> WritePlan {
    let mut out = WritePlan {
        request: CompositeRequest::new(true),
        ..WritePlan::default()
    };
    let config = input.config;
    let state = input.state;
    let key = case_key(&config.tenant_id, input.platform, &state.conversation_id);

    // The latest value per field, and which are news to Salesforce.
    // The batch's intents, and what earlier batches asked (a Case made later gets them all).
    let mut intents: Vec<Intent> = input.intents.to_vec();
    intents.extend(state.stored_intents());
    intents.extend(owner_intents(input, &mut out.notes));
    intents.extend(category(state, config));
    intents.extend(person_intents(state));
    let latest = latest(&intents);

    let case_ref = plan_case(input, &mut out, &latest, &key);

    // ---- Transcript and Task
    let target = match config.transcript.target {
        TranscriptTarget::CaseComment if case_ref.is_none() => {
            out.notes.push(
                "no Case for this conversation: the transcript goes to the Task instead of CaseComments".into(),
            );
            TranscriptTarget::Task
        }
        t => t,
    };
    let what_id = what_id(input, case_ref.as_deref());
    let task_parts: Vec<String> = match (target, input.transcript) {
        (TranscriptTarget::Task, Some(parts)) => parts.to_vec(),
        _ => Vec::new(),
    };
    plan_first_task(
        input,
        &mut out,
        &latest,
        &key,
        what_id.as_deref(),
        task_parts.first(),
        target,
    );
    match (target, input.transcript) {
        (TranscriptTarget::Task, Some(parts)) => {
            plan_task_parts(input, &mut out, &latest, &key, what_id.as_deref(), parts);
        }
        (TranscriptTarget::CaseComment, Some(parts)) => {
            plan_case_comments(&mut out, state, case_ref.as_deref(), parts);
        }
        (TranscriptTarget::CustomObject, Some(parts)) => {
            plan_transcript_records(input, &mut out, &key, case_ref.as_deref(), parts);
        }
        _ => {}
    }
    out
}

/// The Case, when the conversation has one: upserted by its key until its id is known, then
/// only changed fields, with `If-Unmodified-Since`; a GET after it records its
/// LastModifiedDate. Returns what the Task and transcript relate to: the Case's id, or a
/// reference to the new one.
fn plan_case(
    input: &PlanInput,
    out: &mut WritePlan,
    latest: &BTreeMap<(Target, String), &Intent>,
    key: &str,
) -> Option<String> {
    let state = input.state;
    let case_id = state.case.as_ref().and_then(|c| c.id.clone());
    let mut case_ref: Option<String> = case_id.clone();
    if state.wants_case {
        let creating = case_id.is_none();
        // A new Case takes every current value; an existing one only what changed.
        let mut fields =
            changed_fields(input, out, latest, Target::Case, input.case_marks, creating);
        if creating {
            case_create_fields(input, &mut fields);
            let sub =
                SubRequest::upsert(REF_CASE, "Case", CASE_KEY_FIELD, key, Value::Object(fields));
            push(out, sub);
            out.effects.push((REF_CASE.into(), Effect::CaseId));
            case_ref = Some(reference(REF_CASE, "id"));
        } else if let Some(id) = &case_id
            && !fields.is_empty()
        {
            let mut sub = SubRequest::update(REF_CASE, "Case", id, Value::Object(fields));
            if let Some(since) = state.modstamps.get(id) {
                sub = with_unmodified_since(sub, since);
            }
            // Salesforce runs assignment rules on updates too unless told not to; they would
            // undo the owner an agent or chatsync set.
            sub.http_headers
                .insert(AUTO_ASSIGN_HEADER.to_owned(), "FALSE".to_owned());
            push(out, sub);
        }
        let case_written = out
            .request
            .subrequests()
            .iter()
            .any(|s| s.reference_id == REF_CASE);
        if let Some(reference_or_id) = &case_ref
            && case_written
        {
            push(
                out,
                SubRequest::get(
                    REF_CASE_STAMP,
                    "Case",
                    reference_or_id,
                    &["LastModifiedDate"],
                ),
            );
            out.effects
                .push((REF_CASE_STAMP.into(), Effect::CaseModstamp));
        }
    }
    case_ref
}

/// Transcript parts after the first (which is the first Task's Description): one Task each,
/// upserted by its part key.
fn plan_task_parts(
    input: &PlanInput,
    out: &mut WritePlan,
    latest: &BTreeMap<(Target, String), &Intent>,
    key: &str,
    what_id: Option<&str>,
    parts: &[String],
) {
    let state = input.state;
    let who = state.person.as_ref().map(|(p, _)| p);
    for (index, text) in parts.iter().enumerate().skip(1) {
        let hash = text_hash(text);
        if state.parts.get(index).is_some_and(|p| p.hash == hash) {
            continue;
        }
        let mut fields = Map::new();
        fields.insert(
            "Subject".into(),
            json!(truncate(
                &format!("{} (part {})", task_subject(input), index + 1),
                SUBJECT_MAX
            )),
        );
        fields.insert("Description".into(), json!(text));
        fields.insert("Status".into(), json!(task_status(latest)));
        if let Some(p) = who {
            fields.insert("WhoId".into(), json!(p.id));
        }
        if let Some(w) = what_id {
            fields.insert("WhatId".into(), json!(w));
        }
        if let Some(date) = activity_date(state) {
            fields.insert("ActivityDate".into(), json!(date));
        }
        let reference_id = format!("task{}", index + 1);
        let sub = SubRequest::upsert(
            &reference_id,
            "Task",
            TASK_KEY_FIELD,
            &part_key(key, index + 1),
            Value::Object(fields),
        );
        if push(out, sub) {
            out.effects
                .push((reference_id, Effect::Part { index, hash }));
        }
    }
}

/// The transcript as CaseComments on the Case: created, then updated in place (they have no
/// external id to upsert by).
fn plan_case_comments(
    out: &mut WritePlan,
    state: &ConversationState,
    case_ref: Option<&str>,
    parts: &[String],
) {
    let parent = case_ref.unwrap_or_default();
    for (index, text) in parts.iter().enumerate() {
        let hash = text_hash(text);
        let known = state.parts.get(index);
        if known.is_some_and(|p| p.hash == hash) {
            continue;
        }
        let reference_id = format!("comment{}", index + 1);
        let sub = match known.and_then(|p| p.id.clone()) {
            Some(id) => SubRequest::update(
                &reference_id,
                "CaseComment",
                &id,
                json!({"CommentBody": text}),
            ),
            None => SubRequest::create(
                &reference_id,
                "CaseComment",
                json!({"ParentId": parent, "CommentBody": text, "IsPublished": false}),
            ),
        };
        if push(out, sub) {
            out.effects
                .push((reference_id, Effect::Part { index, hash }));
        }
    }
}

/// The transcript as records of the tenant's transcript object, upserted by part key and
/// related to the Case and the person.
fn plan_transcript_records(
    input: &PlanInput,
    out: &mut WritePlan,
    key: &str,
    case_ref: Option<&str>,
    parts: &[String],
) {
    let state = input.state;
    let who = state.person.as_ref().map(|(p, _)| p);
    for (index, text) in parts.iter().enumerate() {
        let hash = text_hash(text);
        if state.parts.get(index).is_some_and(|p| p.hash == hash) {
            continue;
        }
        let mut fields = Map::new();
        fields.insert("Body__c".into(), json!(text));
        fields.insert("Part__c".into(), json!(index + 1));
        fields.insert("Platform__c".into(), json!(input.platform.to_string()));
        if let Some(url) = &state.url {
            fields.insert("Conversation_URL__c".into(), json!(truncate(url, URL_MAX)));
        }
        if let Some(case) = case_ref {
            fields.insert("Case__c".into(), json!(case));
        }
        match who {
            Some(p) if p.kind == PersonKind::Contact => {
                fields.insert("Contact__c".into(), json!(p.id));
            }
            Some(p) => {
                fields.insert("Lead__c".into(), json!(p.id));
            }
            None => {}
        }
        let reference_id = format!("transcript{}", index + 1);
        let sub = SubRequest::upsert(
            &reference_id,
            TRANSCRIPT_OBJECT,
            "Key__c",
            &part_key(key, index + 1),
            Value::Object(fields),
        );
        if push(out, sub) {
            out.effects
                .push((reference_id, Effect::Part { index, hash }));
        }
    }
}

/// The first Task: created (upserted) once, then only its changed fields.
fn plan_first_task(
    input: &PlanInput,
    out: &mut WritePlan,
    latest: &BTreeMap<(Target, String), &Intent>,
    key: &str,
    what_id: Option<&str>,
    transcript: Option<&String>,
    target: TranscriptTarget,
) {
    let state = input.state;
    let first = state.parts.first();
    let task_id = state.task_id.clone();
    let creating = task_id.is_none();
    let mut fields = changed_fields(input, out, latest, Target::Task, input.task_marks, creating);
    let mut part_hash = None;
    if let Some(text) = transcript.filter(|_| target == TranscriptTarget::Task) {
        let hash = text_hash(text);
        if creating || first.is_none_or(|p| p.hash != hash) {
            fields.insert("Description".into(), json!(text));
            part_hash = Some(hash);
        }
    }
    // The Case may be new in this request: point the Task at it.
    if let Some(what) = what_id
        && (creating || what.starts_with("@{"))
    {
        fields.insert("WhatId".into(), json!(what));
    }
    // The visitor turned out to be a Lead: Salesforce refuses a WhatId beside a Lead WhoId.
    let lead = state
        .person
        .as_ref()
        .is_some_and(|(p, _)| p.kind == PersonKind::Lead);
    if !creating && lead && fields.contains_key("WhoId") {
        fields.insert("WhatId".into(), Value::Null);
    }
    if creating {
        fields.insert("Subject".into(), json!(task_subject(input)));
        fields.entry("Status").or_insert_with(|| json!(TASK_OPEN));
        if let Some(date) = activity_date(state) {
            fields.insert("ActivityDate".into(), json!(date));
        }
        if let Some(url) = &state.url {
            fields.insert(URL_FIELD.into(), json!(truncate(url, URL_MAX)));
        }
        if target != TranscriptTarget::Task && transcript.is_none() {
            fields.insert("Description".into(), json!(transcript_elsewhere(target)));
        }
        // TaskSubtype can only be set on insert; after a crash the Task may exist already.
        if !state.in_flight {
            fields.insert("TaskSubtype".into(), json!("Task"));
        }
    }
    if fields.is_empty() {
        return;
    }
    let sub = match &task_id {
        Some(id) => SubRequest::update(REF_TASK, "Task", id, Value::Object(fields)),
        None => SubRequest::upsert(
            REF_TASK,
            "Task",
            TASK_KEY_FIELD,
            &part_key(key, 1),
            Value::Object(fields),
        ),
    };
    if !push(out, sub) {
        return;
    }
    match (target, part_hash) {
        (TranscriptTarget::Task, Some(hash)) => out
            .effects
            .push((REF_TASK.into(), Effect::Part { index: 0, hash })),
        _ if creating => out.effects.push((REF_TASK.into(), Effect::TaskId)),
        _ => {}
    }
}

fn transcript_elsewhere(target: TranscriptTarget) -> &'static str {
    match target {
        TranscriptTarget::CaseComment => "The transcript is in the Case's comments.",
        _ => "The transcript is in the Chat Transcript records.",
    }
}

/// The Task.Status the latest intents ask for (continuation parts follow the first).
fn task_status(latest: &BTreeMap<(Target, String), &Intent>) -> &'static str {
    match latest
        .get(&(Target::Task, "Status".to_owned()))
        .and_then(|i| i.value.as_str())
    {
        Some(TASK_DONE) => TASK_DONE,
        _ => TASK_OPEN,
    }
}

/// The fields of `target` to send: every current value for a record being created, else those
/// whose value changed and whose event is newer than the field's watermark. Fields Salesforce
/// keeps (a settled conflict, a refusal) are left out; watermarks to save go to `out.marks`.
fn changed_fields(
    input: &PlanInput,
    out: &mut WritePlan,
    latest: &BTreeMap<(Target, String), &Intent>,
    target: Target,
    marks: &RecordWatermarks,
    creating: bool,
) -> Map<String, Value> {
    let mut fields = Map::new();
    for ((t, field), intent) in latest {
        if *t != target
            || input
                .keep_salesforce
                .iter()
                .any(|(kt, kf)| kt == t && kf == field)
        {
            continue;
        }
        match decide(marks.get(field.as_str()), intent, creating) {
            Decision::Send => {
                fields.insert(field.clone(), intent.value.clone());
                out.marks.push((target, field.clone(), watermark(intent)));
                out.sent.push(format!("{}.{field}", target.sobject()));
            }
            Decision::Advance => out.marks.push((target, field.clone(), watermark(intent))),
            Decision::Skip => {}
        }
    }
    fields
}

enum Decision {
    Send,
    /// Same value as already written, newer event: move the watermark, send nothing.
    Advance,
    Skip,
}

/// Whether an intent goes out, against the field's watermark.
fn decide(mark: Option<&Watermark>, intent: &Intent, creating: bool) -> Decision {
    if creating {
        return Decision::Send;
    }
    let Some(mark) = mark else {
        return Decision::Send;
    };
    // An older event never rolls a field back.
    if intent.stamp < mark.stamp {
        return Decision::Skip;
    }
    if mark.hash == value_hash(&intent.value) {
        return if intent.stamp > mark.stamp {
            Decision::Advance
        } else {
            Decision::Skip
        };
    }
    Decision::Send
}

fn watermark(intent: &Intent) -> Watermark {
    Watermark {
        hash: value_hash(&intent.value),
        value: intent.value.clone(),
        stamp: intent.stamp.clone(),
    }
}

/// The newest intent per (target, field); a later intent of equal stamp wins.
fn latest(intents: &[Intent]) -> BTreeMap<(Target, String), &Intent> {
    let mut out: BTreeMap<(Target, String), &Intent> = BTreeMap::new();
    for intent in intents {
        let key = (intent.target, intent.field.clone());
        match out.get(&key) {
            Some(old) if old.stamp > intent.stamp => {}
            _ => {
                out.insert(key, intent);
            }
        }
    }
    out
}

/// Owners by assignment: an active User with the agent's e-mail, else the team's Queue.
fn owner_intents(input: &PlanInput, notes: &mut Vec<String>) -> Vec<Intent> {
    let mut out = Vec::new();
    for request in input.owners {
        owner_intent(input, request, Some(&mut *notes), &mut out);
    }
    // An earlier batch's assignment, where its ids are known (a Case made later gets it).
    if let Some(stored) = input.state.stored_owner() {
        owner_intent(input, &stored, None, &mut out);
    }
    out
}

fn owner_intent(
    input: &PlanInput,
    request: &OwnerRequest,
    notes: Option<&mut Vec<String>>,
    out: &mut Vec<Intent>,
) {
    let user = request
        .agent_email
        .as_ref()
        .and_then(|e| input.lookups.users.get(e).cloned().flatten());
    let queue = request
        .queue
        .as_ref()
        .and_then(|q| input.lookups.queues.get(q).cloned().flatten());
    if let Some(notes) = notes {
        if let (Some(email), None) = (&request.agent_email, &user) {
            notes.push(format!(
                "no active Salesforce User with the agent's e-mail {}",
                crate::mask::email(email)
            ));
        }
        if let (Some(name), None) = (&request.queue, &queue) {
            notes.push(format!("queue {name:?} was not found in Salesforce"));
        }
    }
    if let Some(user) = &user {
        for target in [Target::Case, Target::Task] {
            out.push(Intent {
                target,
                field: "OwnerId".into(),
                value: json!(user),
                stamp: request.stamp.clone(),
            });
        }
    } else if let Some(queue) = queue {
        // Queues own Cases; the Task stays with its owner.
        out.push(Intent {
            target: Target::Case,
            field: "OwnerId".into(),
            value: json!(queue),
            stamp: request.stamp.clone(),
        });
    }
}

/// The person on the Case and Task, stamped by the event that named them.
fn person_intents(state: &ConversationState) -> Vec<Intent> {
    let Some((person, stamp)) = &state.person else {
        return Vec::new();
    };
    let mut out = vec![Intent {
        target: Target::Task,
        field: "WhoId".into(),
        value: json!(person.id),
        stamp: stamp.clone(),
    }];
    if person.kind == PersonKind::Contact {
        out.push(Intent {
            target: Target::Case,
            field: "ContactId".into(),
            value: json!(person.id),
            stamp: stamp.clone(),
        });
        if let Some(account) = &person.account_id {
            out.push(Intent {
                target: Target::Case,
                field: "AccountId".into(),
                value: json!(account),
                stamp: stamp.clone(),
            });
        }
    }
    out
}

/// Fields only a new Case gets.
fn case_create_fields(input: &PlanInput, fields: &mut Map<String, Value>) {
    let state = input.state;
    let case = &input.config.case;
    fields.insert("Subject".into(), json!(case_subject(input)));
    if let Some(origin) = &case.origin {
        fields.insert("Origin".into(), json!(origin));
    }
    if let Some(record_type) = &input.lookups.record_type {
        fields.insert("RecordTypeId".into(), json!(record_type));
    }
    if let Some(url) = &state.url {
        fields.insert(URL_FIELD.into(), json!(truncate(url, URL_MAX)));
    }
    fields.insert(
        "Description".into(),
        json!(format!(
            "Chat conversation {} on {}{}",
            state.conversation_id,
            input.platform.display_name(),
            state
                .url
                .as_deref()
                .map(|u| format!(": {u}"))
                .unwrap_or_default()
        )),
    );
    // A Lead cannot be a Case's contact: the visitor's details go to the Supplied fields.
    let is_contact = state
        .person
        .as_ref()
        .is_some_and(|(p, _)| p.kind == PersonKind::Contact);
    if !is_contact {
        for (field, value) in &state.supplied {
            let max = if field == "SuppliedPhone" { 40 } else { 80 };
            // A cut e-mail address is a wrong one.
            if field == "SuppliedEmail" && value.chars().count() > max {
                continue;
            }
            fields.insert(field.clone(), json!(truncate(value, max)));
        }
    }
}

fn case_subject(input: &PlanInput) -> String {
    let state = input.state;
    let subject = match &state.subject {
        Some(s) => s.clone(),
        None => match state
            .supplied
            .get("SuppliedName")
            .or(state.supplied.get("SuppliedEmail"))
        {
            Some(who) => format!("Chat with {who}"),
            None => format!("Chat conversation {}", state.conversation_id),
        },
    };
    truncate(&subject, SUBJECT_MAX)
}

fn task_subject(input: &PlanInput) -> String {
    let subject = case_subject(input);
    if subject.starts_with("Chat") {
        subject
    } else {
        truncate(&format!("Chat: {subject}"), SUBJECT_MAX)
    }
}

fn activity_date(state: &ConversationState) -> Option<String> {
    let at = state.started_at?;
    let d = at.to_offset(time::UtcOffset::UTC).date();
    Some(format!(
        "{:04}-{:02}-{:02}",
        d.year(),
        u8::from(d.month()),
        d.day()
    ))
}

/// Task.WhatId: the Case, or the single open Opportunity when the tenant asks; a Lead's Task
/// relates to nothing (Salesforce refuses WhatId beside a Lead WhoId).
fn what_id(input: &PlanInput, case_ref: Option<&str>) -> Option<String> {
    use super::policy::RelateTo;
    let state = input.state;
    if state
        .person
        .as_ref()
        .is_some_and(|(p, _)| p.kind == PersonKind::Lead)
    {
        return None;
    }
    match input.config.case.relate_task_to {
        RelateTo::Nothing => None,
        RelateTo::Case => case_ref.map(str::to_owned),
        RelateTo::Opportunity => state
            .opportunity
            .clone()
            .flatten()
            .or_else(|| case_ref.map(str::to_owned)),
    }
}

fn with_unmodified_since(sub: SubRequest, last_modified: &str) -> SubRequest {
    match crate::salesforce::datetime::parse(last_modified) {
        Some(at) => sub.if_unmodified_since(at),
        None => sub,
    }
}

/// Adds a subrequest; one that does not fit waits for the next request (the effects of what
/// was not sent are not recorded, so the next plan sends it).
fn push(out: &mut WritePlan, sub: SubRequest) -> bool {
    match out.request.push(sub) {
        Ok(_) => true,
        Err(_) => {
            out.overflowed = true;
            false
        }
    }
}

pub fn text_hash(text: &str) -> String {
    value_hash(&Value::String(text.to_owned()))
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Compares a Salesforce value with a watermark's, as Salesforce stores text.
pub fn same_value(a: &Value, b: &Value) -> bool {
    value_hash(a) == value_hash(b)
        || matches!((a.as_str(), b.as_str()), (Some(x), Some(y)) if normalise_key(x) == normalise_key(y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::resolution::{Outcome, Resolution};
    use crate::event::{Conversation, Event, EventKind, QueuedEvent, RawPayload};
    use crate::identity::rules::Person;
    use crate::mapping::intents::absorb;
    use crate::mapping::policy::TranscriptTarget;
    use crate::mapping::state::{CaseLink, PartState, Stamp};
    use crate::tenant::TenantFile;
    use time::OffsetDateTime;
    use time::macros::datetime;

    fn config() -> TenantConfig {
        let mut c = TenantFile::from_toml(include_str!("../../../events/tenants/demo.toml"))
            .expect("demo tenant")
            .config;
        c.case.category_map.insert("billing".into(), "Other".into());
        c.owners
            .queues
            .insert("Billing team".into(), "Billing".into());
        c
    }

    fn queued(kind: EventKind, at: OffsetDateTime, n: u16, person: Option<Person>) -> QueuedEvent {
        let mut event = Event::new(kind);
        event.conversation = Some(Conversation {
            id: "c1".into(),
            url: Some("https://app.example/c1".into()),
            subject: Some("Refund".into()),
            priority: Some("normal".into()),
            ..Conversation::default()
        });
        event.visitor.email = Some("ada@example.com".into());
        event.visitor.name = Some("Ada Lovelace".into());
        QueuedEvent {
            schema: 1,
            correlation_id: format!("corr{n}"),
            tenant_id: "demo".into(),
            platform: Platform::Intercom,
            delivery_id: format!("d{n}"),
            index: 0,
            count: 1,
            topic: "t".into(),
            conversation_key: "c1".into(),
            occurred_at: at,
            received_at: at,
            event,
            raw: RawPayload::of("{}"),
            resolution: person.map(|p| Resolution {
                outcome: Outcome::Linked,
                person: Some(p),
                rule: None,
                detail: String::new(),
                trace: None,
            }),
        }
    }

    fn contact() -> Person {
        Person {
            kind: PersonKind::Contact,
            id: "003000000000001AAA".into(),
            account_id: Some("001000000000001AAA".into()),
        }
    }

    fn lead() -> Person {
        Person {
            kind: PersonKind::Lead,
            id: "00Q000000000001AAA".into(),
            account_id: None,
        }
    }

    struct Run {
        plan: WritePlan,
    }

    fn run(
        config: &TenantConfig,
        state: &mut ConversationState,
        events: &[QueuedEvent],
        lookups: &Lookups,
        case_marks: &RecordWatermarks,
        transcript: Option<&[String]>,
    ) -> Run {
        let refs: Vec<&QueuedEvent> = events.iter().collect();
        let absorbed = absorb(state, &refs, config);
        let empty = RecordWatermarks::new();
        let plan = plan(&PlanInput {
            config,
            platform: Platform::Intercom,
            state,
            intents: &absorbed.intents,
            owners: &absorbed.owners,
            lookups,
            case_marks,
            task_marks: &empty,
            transcript,
            keep_salesforce: &[],
        });
        Run { plan }
    }

    fn sub<'a>(plan: &'a WritePlan, reference: &str) -> &'a SubRequest {
        plan.request
            .subrequests()
            .iter()
            .find(|s| s.reference_id == reference)
            .unwrap_or_else(|| panic!("no subrequest {reference}"))
    }

    fn body(s: &SubRequest) -> &Map<String, Value> {
        s.body.as_ref().and_then(Value::as_object).expect("a body")
    }

    #[test]
    fn a_new_conversation_upserts_its_case_and_task_in_one_request() {
        let config = config();
        let mut state = ConversationState::default();
        let at = datetime!(2026-03-01 10:00 UTC);
        let parts = vec!["Chat transcript".to_owned()];
        let r = run(
            &config,
            &mut state,
            &[queued(
                EventKind::ConversationStarted,
                at,
                1,
                Some(contact()),
            )],
            &Lookups::default(),
            &RecordWatermarks::new(),
            Some(&parts),
        );
        let refs: Vec<&str> = r
            .plan
            .request
            .subrequests()
            .iter()
            .map(|s| s.reference_id.as_str())
            .collect();
        assert_eq!(refs, ["case", "caseStamp", "task1"]);
        let case = sub(&r.plan, "case");
        assert_eq!(case.method, "PATCH");
        assert!(
            case.url
                .ends_with("/sobjects/Case/Chat_Conversation_Id__c/demo%3Aintercom%3Ac1")
        );
        let b = body(case);
        assert_eq!(b["Subject"], "Refund");
        assert_eq!(b["Origin"], "Web");
        assert_eq!(b["Priority"], "Medium");
        assert_eq!(b["ContactId"], "003000000000001AAA");
        assert_eq!(b["AccountId"], "001000000000001AAA");
        assert_eq!(b["Chat_Conversation_URL__c"], "https://app.example/c1");
        assert!(
            !b.contains_key("SuppliedEmail"),
            "a Contact's Case needs no Supplied fields"
        );
        let task = body(sub(&r.plan, "task1"));
        assert_eq!(task["WhatId"], "@{case.id}");
        assert_eq!(task["WhoId"], "003000000000001AAA");
        assert_eq!(task["Status"], "In Progress");
        assert_eq!(task["Priority"], "Normal");
        assert_eq!(task["TaskSubtype"], "Task");
        assert_eq!(task["ActivityDate"], "2026-03-01");
        assert_eq!(task["Description"], "Chat transcript");
    }

    #[test]
    fn a_leads_case_carries_supplied_fields_and_its_task_relates_to_nothing() {
        let config = config();
        let mut state = ConversationState::default();
        let at = datetime!(2026-03-01 10:00 UTC);
        let r = run(
            &config,
            &mut state,
            &[queued(EventKind::ConversationStarted, at, 1, Some(lead()))],
            &Lookups::default(),
            &RecordWatermarks::new(),
            Some(&["t".to_owned()]),
        );
        let case = body(sub(&r.plan, "case"));
        assert_eq!(case["SuppliedEmail"], "ada@example.com");
        assert_eq!(case["SuppliedName"], "Ada Lovelace");
        assert!(!case.contains_key("ContactId"));
        let task = body(sub(&r.plan, "task1"));
        assert_eq!(task["WhoId"], "00Q000000000001AAA");
        assert!(
            !task.contains_key("WhatId"),
            "Salesforce refuses WhatId beside a Lead"
        );
    }

    fn known_state() -> ConversationState {
        let mut state = ConversationState {
            conversation_id: "c1".into(),
            wants_case: true,
            case: Some(CaseLink {
                id: Some("500000000000001AAA".into()),
                reused: false,
            }),
            task_id: Some("00T000000000001AAA".into()),
            parts: vec![PartState {
                id: Some("00T000000000001AAA".into()),
                hash: text_hash("t"),
            }],
            ..ConversationState::default()
        };
        state.modstamps.insert(
            "500000000000001AAA".into(),
            "2026-03-01T10:00:05.000+0000".into(),
        );
        state
    }

    fn mark(value: &str, at: OffsetDateTime) -> Watermark {
        Watermark {
            hash: value_hash(&json!(value)),
            value: json!(value),
            stamp: Stamp::new(at, "d0", 0),
        }
    }

    #[test]
    fn only_changed_fields_are_sent_with_if_unmodified_since() {
        let config = config();
        let mut marks = RecordWatermarks::new();
        marks.insert(
            "Priority".into(),
            mark("Medium", datetime!(2026-03-01 10:00 UTC)),
        );
        let later = datetime!(2026-03-01 10:05 UTC);
        // The same value again: nothing to send.
        let r = run(
            &config,
            &mut known_state(),
            &[queued(
                EventKind::PriorityChanged {
                    priority: "normal".into(),
                },
                later,
                2,
                None,
            )],
            &Lookups::default(),
            &marks,
            Some(&["t".to_owned()]),
        );
        assert!(
            !r.plan
                .request
                .subrequests()
                .iter()
                .any(|s| s.reference_id == "case"),
            "unchanged Priority is not sent"
        );
        assert!(
            r.plan
                .marks
                .iter()
                .any(|(t, f, m)| *t == Target::Case && f == "Priority" && m.stamp.at == later)
        );
        // A new value: only that field, conditional on the Case being as we left it.
        let r = run(
            &config,
            &mut known_state(),
            &[queued(
                EventKind::PriorityChanged {
                    priority: "urgent".into(),
                },
                later,
                2,
                None,
            )],
            &Lookups::default(),
            &marks,
            Some(&["t".to_owned()]),
        );
        let case = sub(&r.plan, "case");
        assert!(case.url.ends_with("/sobjects/Case/500000000000001AAA"));
        assert_eq!(body(case).keys().collect::<Vec<_>>(), ["Priority"]);
        assert_eq!(body(case)["Priority"], "High");
        assert_eq!(
            case.http_headers
                .get("If-Unmodified-Since")
                .map(String::as_str),
            Some("Sun, 01 Mar 2026 10:00:05 GMT")
        );
        let task = body(sub(&r.plan, "task1"));
        assert_eq!(
            task.keys().collect::<Vec<_>>(),
            ["Priority"],
            "the transcript part is unchanged"
        );
    }

    #[test]
    fn an_older_event_never_rolls_a_field_back() {
        let config = config();
        let mut marks = RecordWatermarks::new();
        marks.insert(
            "Status".into(),
            mark("Closed", datetime!(2026-03-01 11:00 UTC)),
        );
        let r = run(
            &config,
            &mut known_state(),
            &[queued(
                EventKind::Reopened,
                datetime!(2026-03-01 10:30 UTC),
                3,
                None,
            )],
            &Lookups::default(),
            &marks,
            None,
        );
        assert!(
            !r.plan
                .request
                .subrequests()
                .iter()
                .any(|s| s.reference_id == "case")
        );
    }

    #[test]
    fn long_transcripts_continue_in_numbered_tasks_and_unchanged_parts_stay_put() {
        let config = config();
        let mut state = known_state();
        state.parts.push(PartState {
            id: Some("00T000000000002AAA".into()),
            hash: text_hash("part two"),
        });
        let parts = vec![
            "t".to_owned(),
            "part two".to_owned(),
            "part three".to_owned(),
        ];
        let r = run(
            &config,
            &mut state,
            &[queued(
                EventKind::Closed,
                datetime!(2026-03-01 11:00 UTC),
                4,
                None,
            )],
            &Lookups::default(),
            &RecordWatermarks::new(),
            Some(&parts),
        );
        let refs: Vec<&str> = r
            .plan
            .request
            .subrequests()
            .iter()
            .map(|s| s.reference_id.as_str())
            .collect();
        assert_eq!(refs, ["case", "caseStamp", "task1", "task3"]);
        let third = sub(&r.plan, "task3");
        assert!(
            third
                .url
                .ends_with("/Chat_Transcript_Key__c/demo%3Aintercom%3Ac1%233")
        );
        assert_eq!(body(third)["Description"], "part three");
        assert_eq!(body(third)["Status"], "Completed");
        assert_eq!(body(sub(&r.plan, "case"))["Status"], "Closed");
    }

    #[test]
    fn tags_set_the_category_and_assignments_the_owners() {
        let config = config();
        let at = datetime!(2026-03-01 10:10 UTC);
        let mut lookups = Lookups::default();
        lookups
            .queues
            .insert("Billing".into(), Some("00G000000000001AAA".into()));
        lookups.users.insert("agent@example.com".into(), None);
        let tag = queued(
            EventKind::TagsChanged {
                added: vec!["Billing".into()],
                removed: vec![],
                current: None,
            },
            at,
            5,
            None,
        );
        let assign = queued(
            EventKind::Assigned {
                agent: Some(crate::event::Agent {
                    email: Some("Agent@Example.com".into()),
                    ..crate::event::Agent::default()
                }),
                team: Some(crate::event::Team {
                    id: None,
                    name: Some("billing_team".into()),
                }),
            },
            at,
            6,
            None,
        );
        let r = run(
            &config,
            &mut known_state(),
            &[tag, assign],
            &lookups,
            &RecordWatermarks::new(),
            None,
        );
        let case = body(sub(&r.plan, "case"));
        assert_eq!(case["Type"], "Other");
        // No active User with the agent's e-mail: the team's queue owns the Case.
        assert_eq!(case["OwnerId"], "00G000000000001AAA");
        assert!(
            r.plan
                .notes
                .iter()
                .any(|n| n.contains("no active Salesforce User"))
        );
        assert!(
            !r.plan
                .request
                .subrequests()
                .iter()
                .any(|s| s.reference_id == "task1")
        );
    }

    #[test]
    fn the_conversations_tag_snapshot_sets_the_category_unless_a_newer_removal_says_otherwise() {
        let config = config();
        let at = datetime!(2026-03-01 10:10 UTC);
        let mut reply = queued(EventKind::Reopened, at, 5, None);
        if let Some(c) = reply.event.conversation.as_mut() {
            c.tags = vec!["Billing".into()];
        }
        let r = run(
            &config,
            &mut known_state(),
            std::slice::from_ref(&reply),
            &Lookups::default(),
            &RecordWatermarks::new(),
            None,
        );
        assert_eq!(
            body(sub(&r.plan, "case"))["Type"],
            "Other",
            "billing → Other"
        );

        // A removal stamped after the snapshot wins, whatever order they arrive in.
        let removed = queued(
            EventKind::TagsChanged {
                added: vec![],
                removed: vec!["Billing".into()],
                current: None,
            },
            at + time::Duration::minutes(1),
            6,
            None,
        );
        let mut state = known_state();
        let r = run(
            &config,
            &mut state,
            &[removed, reply],
            &Lookups::default(),
            &RecordWatermarks::new(),
            None,
        );
        assert!(state.current_tags().is_empty(), "{:?}", state.tags);
        assert!(
            r.plan
                .request
                .subrequests()
                .iter()
                .all(|s| s.body.as_ref().is_none_or(|b| b.get("Type").is_none())),
            "no category written"
        );
    }

    fn case_body(r: &Run) -> Option<&Map<String, Value>> {
        r.plan
            .request
            .subrequests()
            .iter()
            .find(|s| s.reference_id == "case")
            .and_then(|s| s.body.as_ref())
            .and_then(Value::as_object)
    }

    #[test]
    fn a_channel_queue_owns_the_channels_new_case() {
        let mut tenant = config();
        tenant.channels.insert(
            "webchat".into(),
            crate::mapping::policy::ChannelPolicy {
                queue: Some("Web_Queue".into()),
                ..Default::default()
            },
        );
        let mut lookups = Lookups::default();
        lookups
            .queues
            .insert("Web_Queue".into(), Some("00G000000000004AAA".into()));
        let mut started = queued(
            EventKind::ConversationStarted,
            datetime!(2026-03-01 10:00 UTC),
            1,
            Some(contact()),
        );
        if let Some(c) = started.event.conversation.as_mut() {
            c.channel = Some("WebChat".into());
        }
        let mut state = ConversationState::default();
        let names = crate::mapping::intents::channel_names(&state, &[&started]);
        let channel = tenant.for_channel(&names);
        let r = run(
            &channel,
            &mut state,
            &[started],
            &lookups,
            &RecordWatermarks::new(),
            None,
        );
        assert_eq!(
            case_body(&r).map(|b| b["OwnerId"].clone()),
            Some(json!("00G000000000004AAA")),
            "{:?}",
            r.plan.notes
        );
        assert_eq!(state.channel, vec!["WebChat".to_owned()]);
        // Another channel's conversation keeps the tenant's owner.
        let r = run(
            &config(),
            &mut ConversationState::default(),
            &[queued(
                EventKind::ConversationStarted,
                datetime!(2026-03-01 10:00 UTC),
                2,
                Some(contact()),
            )],
            &lookups,
            &RecordWatermarks::new(),
            None,
        );
        assert_eq!(case_body(&r).and_then(|b| b.get("OwnerId")), None);
    }

    #[test]
    fn a_tag_routes_the_case_to_its_queue_the_first_sorted_tag_winning() {
        let mut config = config();
        config
            .owners
            .tag_queues
            .insert("vip".into(), "Priority".into());
        config
            .owners
            .tag_queues
            .insert("Zeta".into(), "Other_Queue".into());
        let mut lookups = Lookups::default();
        lookups
            .queues
            .insert("Priority".into(), Some("00G000000000002AAA".into()));
        lookups
            .queues
            .insert("Other_Queue".into(), Some("00G000000000003AAA".into()));
        let tagged = queued(
            EventKind::TagsChanged {
                added: vec!["zeta".into(), "VIP".into()],
                removed: vec![],
                current: None,
            },
            datetime!(2026-03-01 10:10 UTC),
            5,
            None,
        );
        let r = run(
            &config,
            &mut known_state(),
            &[tagged],
            &lookups,
            &RecordWatermarks::new(),
            None,
        );
        // "VIP" sorts before "zeta"; keys compare case-insensitively.
        assert_eq!(
            case_body(&r).map(|b| b["OwnerId"].clone()),
            Some(json!("00G000000000002AAA")),
            "{:?}",
            r.plan.notes
        );
        // A tag nobody maps routes nothing.
        let other = queued(
            EventKind::TagsChanged {
                added: vec!["shipping".into()],
                removed: vec![],
                current: None,
            },
            datetime!(2026-03-01 10:10 UTC),
            6,
            None,
        );
        let r = run(
            &config,
            &mut known_state(),
            &[other],
            &lookups,
            &RecordWatermarks::new(),
            None,
        );
        assert!(case_body(&r).is_none_or(|b| !b.contains_key("OwnerId")));
    }

    #[test]
    fn a_chat_status_is_written_through_the_status_map_and_an_unmapped_one_is_not() {
        let config = config();
        let status = |s: &str, n: u16| {
            queued(
                EventKind::StatusChanged { status: s.into() },
                datetime!(2026-03-01 10:10 UTC),
                n,
                None,
            )
        };
        let r = run(
            &config,
            &mut known_state(),
            &[status("snoozed", 5)],
            &Lookups::default(),
            &RecordWatermarks::new(),
            None,
        );
        assert_eq!(
            case_body(&r).map(|b| b["Status"].clone()),
            Some(json!("Escalated"))
        );
        let r = run(
            &config,
            &mut known_state(),
            &[status("on fire", 6)],
            &Lookups::default(),
            &RecordWatermarks::new(),
            None,
        );
        assert!(case_body(&r).is_none_or(|b| !b.contains_key("Status")));
    }

    #[test]
    fn the_tag_trigger_makes_a_case_only_once_a_trigger_tag_is_present() {
        let mut config = config();
        config.case.trigger = Some(super::super::policy::CaseTrigger::Tags);
        config.case.trigger_tags = vec!["Complaint".into()];
        let at = datetime!(2026-03-01 10:00 UTC);
        let mut state = ConversationState::default();
        let started = queued(EventKind::ConversationStarted, at, 1, Some(contact()));
        let r = run(
            &config,
            &mut state,
            &[started],
            &Lookups::default(),
            &RecordWatermarks::new(),
            None,
        );
        assert!(case_body(&r).is_none(), "no Case without the tag");
        assert!(!state.wants_case);
        let tagged = queued(
            EventKind::TagsChanged {
                added: vec!["complaint".into()],
                removed: vec![],
                current: None,
            },
            at + time::Duration::minutes(1),
            2,
            Some(contact()),
        );
        let r = run(
            &config,
            &mut state,
            &[tagged],
            &Lookups::default(),
            &RecordWatermarks::new(),
            None,
        );
        assert!(state.wants_case);
        assert!(case_body(&r).is_some(), "the tag brings the Case");
    }

    #[test]
    fn on_close_leave_completes_the_task_and_leaves_the_case_status_alone() {
        let mut config = config();
        config.case.on_close = super::super::policy::OnClose::Leave;
        let closed = queued(EventKind::Closed, datetime!(2026-03-01 10:30 UTC), 9, None);
        let r = run(
            &config,
            &mut known_state(),
            &[closed],
            &Lookups::default(),
            &RecordWatermarks::new(),
            Some(&["t".to_owned()]),
        );
        assert!(
            case_body(&r).is_none_or(|b| !b.contains_key("Status")),
            "{:?}",
            case_body(&r)
        );
        let task = r
            .plan
            .request
            .subrequests()
            .iter()
            .find(|s| s.reference_id.starts_with("task"))
            .and_then(|s| s.body.as_ref())
            .cloned()
            .expect("the Task is written");
        assert_eq!(task["Status"], "Completed");
        config.case.on_close = super::super::policy::OnClose::Close;
        let closed = queued(EventKind::Closed, datetime!(2026-03-01 10:30 UTC), 9, None);
        let r = run(
            &config,
            &mut known_state(),
            &[closed],
            &Lookups::default(),
            &RecordWatermarks::new(),
            Some(&["t".to_owned()]),
        );
        assert_eq!(
            case_body(&r).map(|b| b["Status"].clone()),
            Some(json!("Closed"))
        );
    }

    #[test]
    fn a_created_case_carries_the_record_type() {
        let config = config();
        let lookups = Lookups {
            record_type: Some("012000000000001AAA".into()),
            ..Lookups::default()
        };
        let r = run(
            &config,
            &mut ConversationState::default(),
            &[queued(
                EventKind::ConversationStarted,
                datetime!(2026-03-01 10:00 UTC),
                1,
                Some(contact()),
            )],
            &lookups,
            &RecordWatermarks::new(),
            None,
        );
        assert_eq!(
            case_body(&r).map(|b| b["RecordTypeId"].clone()),
            Some(json!("012000000000001AAA"))
        );
    }

    #[test]
    fn case_comments_take_the_transcript_when_the_tenant_says_so() {
        let mut config = config();
        config.transcript.target = TranscriptTarget::CaseComment;
        let parts = vec!["one".to_owned(), "two".to_owned()];
        let mut state = known_state();
        state.parts.clear();
        let r = run(
            &config,
            &mut state,
            &[queued(
                EventKind::Closed,
                datetime!(2026-03-01 11:00 UTC),
                7,
                None,
            )],
            &Lookups::default(),
            &RecordWatermarks::new(),
            Some(&parts),
        );
        let c1 = sub(&r.plan, "comment1");
        assert_eq!(c1.method, "POST");
        assert_eq!(body(c1)["ParentId"], "500000000000001AAA");
        assert_eq!(body(c1)["CommentBody"], "one");
        assert_eq!(body(c1)["IsPublished"], false);
        assert!(!body(sub(&r.plan, "task1")).contains_key("Description"));
    }
}
