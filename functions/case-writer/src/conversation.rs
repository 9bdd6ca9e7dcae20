//! One conversation's write: load its state → plan → send → decide → save. The decisions are
//! pure (`shared::mapping::outcome::decide`, `shared::mapping::conflict::settle`); this file
//! only gathers their facts and carries them out.

use crate::org::LazyOrg;
use crate::report::Report;
use crate::state::save;
use crate::{Function, WriteError, files, recovery, transcript};
use shared::event::QueuedEvent;
use shared::mapping::conflict;
use shared::mapping::intents::{self, Target};
use shared::mapping::outcome::{self, Facts, Failure, Next, Rounds, case_id, task_id};
use shared::mapping::plan::{self, PlanInput};
use shared::mapping::spans;
use shared::mapping::state::{ConversationState, RecordWatermarks, Watermark};
use shared::salesforce::Exchanges;
use shared::store::conversations::ConversationKey;
use shared::tenant::TenantConfig;
use time::OffsetDateTime;

/// Most requests one group's write may take (conflict, deletion and refusal rounds, and
/// transcripts longer than one composite request).
const MAX_ROUNDS: usize = 12;

pub(crate) async fn write(
    function: &Function,
    config: &TenantConfig,
    key: &ConversationKey,
    events: &[&QueuedEvent],
    flush: bool,
    exchanges: &Exchanges,
    personal: &mut Vec<String>,
) -> Result<Report, WriteError> {
    let mut org = LazyOrg::new(function, &config.tenant_id, exchanges);
    // One part per conversation, where the key holds a contact's conversations in turn.
    let mut ends = spans::split_points(key.platform, events);
    ends.push(events.len());
    let mut report = Report::default();
    let mut start = 0;
    for end in ends {
        let last = end == events.len();
        let part = write_with(
            function,
            config,
            key,
            &events[start..end],
            flush && last,
            &mut org,
            personal,
        )
        .await?;
        report.records.extend(part.records);
        report.sent.extend(part.sent);
        report.notes.extend(part.notes);
        if let Some(closed) = part.pointer
            && let Some(contact) = events[start..end]
                .iter()
                .find_map(|e| e.event.visitor.contact_id.as_deref())
                .filter(|c| !c.trim().is_empty())
        {
            // Where the contact chats now, for events about the contact alone.
            function
                .conversations
                .point(key, contact, closed, OffsetDateTime::now_utc())
                .await?;
        }
        start = end;
    }
    report.calls = org.calls();
    Ok(report)
}

async fn write_with(
    function: &Function,
    config: &TenantConfig,
    key: &ConversationKey,
    events: &[&QueuedEvent],
    flush: bool,
    org: &mut LazyOrg<'_>,
    personal: &mut Vec<String>,
) -> Result<Report, WriteError> {
    let platform = key.platform;
    let now = OffsetDateTime::now_utc();
    let tools = transcript::Tools::for_tenant(config)?;
    let mut state = function.conversations.load(key).await?;
    personal.extend(state.supplied.values().cloned());
    let (was_new, was_closed) = (state.version == 0, state.is_closed());
    let mut rolled = false;
    let mut span_notes = Vec::new();
    if let Some(first) = events.first()
        && spans::rolls_over(platform, &state, first)
    {
        if state.unsent_lines > 0 {
            // The closed conversation's last lines go to its own transcript first.
            let key = key.in_span(state.span);
            Box::pin(write_with(function, config, &key, &[], true, org, personal)).await?;
            state = function.conversations.load(&key).await?;
        }
        state = spans::next(&state);
        rolled = true;
        span_notes.push(format!(
            "the contact's previous conversation is closed: this is a new one ({})",
            state.conversation_id
        ));
    }
    let key = &key.in_span(state.span);
    let (earlier, events): (Vec<&QueuedEvent>, Vec<&QueuedEvent>) =
        events.iter().partition(|e| spans::earlier(&state, e));
    if !earlier.is_empty() {
        span_notes.push(format!(
            "{} event(s) of the contact's previous, closed conversation: not written again",
            earlier.len()
        ));
    }
    let events = &events[..];
    // A write that may have stored records or files crashed before recording them. Read now:
    // the plan's success below clears the flag.
    let recovering = state.in_flight;
    // The conversation's channel may set its own mode, trigger, record type and queue.
    let channel_config = config.for_channel(&intents::channel_names(&state, events));
    let config = &*channel_config;
    let absorbed = intents::absorb(&mut state, events, config);
    let mut report = Report {
        notes: span_notes
            .into_iter()
            .chain(absorbed.notes.iter().filter(|n| !n.is_empty()).cloned())
            .collect(),
        ..Report::default()
    };
    report.notes.dedup();
    let lines = tools.lines(&absorbed)?;
    function.conversations.put_lines(key, &lines, now).await?;

    let (mut lookups, needs) = function.lookups.split(config, &state, &absorbed);
    let wants_transcript = outcome::transcript_due(
        &state,
        &absorbed,
        flush,
        config.transcript.flush_after_messages,
    );
    if !needs.is_empty() {
        let notes = function
            .lookups
            .fetch(org.get().await?, config, needs, &mut lookups, &mut state)
            .await?;
        report.notes.extend(notes);
    }
    // Files go with the transcript; after a crash they are settled at once.
    let stored = if wants_transcript || recovering {
        Some(function.conversations.lines(key).await?)
    } else {
        None
    };
    let parts = match &stored {
        Some(stored) if wants_transcript => Some(tools.render(stored, &state, platform)?),
        _ => None,
    };
    if let Some(parts) = &parts {
        report
            .notes
            .extend(recovery::recover_comments(org, config, platform, &mut state, parts).await?);
    }
    let mut keep_salesforce: Vec<(Target, String)> = Vec::new();
    let mut kept_marks: Vec<(Target, String, Watermark)> = Vec::new();
    let mut rounds = Rounds::default();
    for _round in 0..MAX_ROUNDS {
        let case_marks = load_marks(function, config, "Case", case_id(&state)).await?;
        let task_marks = load_marks(function, config, "Task", task_id(&state)).await?;
        let plan = plan::plan(&PlanInput {
            config,
            platform,
            state: &state,
            intents: &absorbed.intents,
            owners: &absorbed.owners,
            lookups: &lookups,
            case_marks: &case_marks,
            task_marks: &task_marks,
            transcript: parts.as_deref(),
            keep_salesforce: &keep_salesforce,
        });
        report.notes.extend(plan.notes.iter().cloned());
        if plan.is_empty() {
            save_marks(function, config, &state, &kept_marks, now).await?;
            state.in_flight = false;
            save(function, key, &mut state, now).await?;
            if report.sent.is_empty() {
                report.notes.push("nothing changed in Salesforce".into());
            }
            break;
        }
        if outcome::creates(&plan, &state) && !state.in_flight {
            // Should we crash after Salesforce answers, the retry knows records may exist.
            state.in_flight = true;
            save(function, key, &mut state, now).await?;
        }
        let response = org.get().await?.composite(&plan.request).await?;
        // Tests crash here: Salesforce has answered, nothing is recorded or acknowledged yet.
        shared::failpoint::crash_once("writer-after-salesforce");
        let failure = response
            .first_failure()
            .map(|(reference, e)| (Failure::of(reference, &e), e));
        let next = outcome::decide(Facts {
            failure: failure.as_ref().map(|(f, _)| f),
            rounds,
            plan: &plan,
            state: &state,
        });
        rounds = rounds.after(&next);
        match next {
            Next::Record { more } => {
                outcome::record(&mut state, &plan, &response);
                let mut marks = plan.marks.clone();
                marks.append(&mut kept_marks);
                save_marks(function, config, &state, &marks, now).await?;
                if parts.is_some() && !more {
                    state.unsent_lines = 0;
                    state.unsent_since = None;
                }
                state.in_flight = false;
                save(function, key, &mut state, now).await?;
                report.sent.extend(plan.sent.iter().cloned());
                if !more {
                    report.records.extend(outcome::touched(&state));
                    report.notes.push(outcome::case_choice(&state).to_owned());
                    break;
                }
                // The rest of the transcript parts go in the next request.
            }
            Next::SettleConflict => {
                let ours = conflict::ours(&plan);
                let current = org
                    .get()
                    .await?
                    .get(
                        "Case",
                        case_id(&state).unwrap_or_default(),
                        &conflict::fields_to_read(&ours),
                    )
                    .await?;
                let settled =
                    conflict::settle(&ours, &current, &plan, &case_marks, &config.conflicts);
                report.notes.extend(settled.notes);
                keep_salesforce.extend(settled.keep_salesforce);
                kept_marks.extend(
                    settled
                        .marks
                        .into_iter()
                        .map(|(field, mark)| (Target::Case, field, mark)),
                );
                if let Some(id) = case_id(&state) {
                    state.modstamps.insert(id.to_owned(), settled.last_modified);
                }
            }
            Next::StillConflicting => return Err(WriteError::StillConflicting),
            Next::ForgetDeleted { reference } => {
                // Someone deleted our Case or Task: upsert it afresh by its key.
                outcome::forget(&mut state, &reference);
                report.notes.push(format!(
                    "{reference} was deleted in Salesforce: written anew"
                ));
            }
            Next::SetAside(refused) => {
                let error = failure
                    .as_ref()
                    .map(|(_, e)| e.to_string())
                    .unwrap_or_default();
                for (target, field, mark) in refused {
                    report.notes.push(format!(
                        "Salesforce refused {}.{field} ({error}): not written",
                        target.sobject()
                    ));
                    keep_salesforce.push((target, field.clone()));
                    kept_marks.push((target, field, mark));
                }
            }
            // `decide` fails only on a failure; without one there is nothing left to do.
            Next::Fail => match failure {
                Some((_, e)) => return Err(e.into()),
                None => break,
            },
        }
    }
    if let Some(stored) = &stored {
        files::Files {
            function,
            key,
            case_key: &plan::case_key(&config.tenant_id, platform, &state.conversation_id),
            now,
        }
        .store(config, &mut state, stored, recovering, org, &mut report)
        .await?;
    }
    if was_new || rolled || was_closed != state.is_closed() {
        report.pointer = Some(state.is_closed());
    }
    Ok(report)
}

async fn load_marks(
    function: &Function,
    config: &TenantConfig,
    sobject: &str,
    id: Option<&str>,
) -> Result<RecordWatermarks, WriteError> {
    Ok(match id {
        Some(id) => {
            function
                .watermarks
                .load(&config.tenant_id, sobject, id)
                .await?
        }
        None => RecordWatermarks::new(),
    })
}

/// Saves watermarks for the Case and first Task (those whose ids are known).
async fn save_marks(
    function: &Function,
    config: &TenantConfig,
    state: &ConversationState,
    marks: &[(Target, String, Watermark)],
    now: OffsetDateTime,
) -> Result<(), WriteError> {
    for (target, id) in [
        (Target::Case, case_id(state)),
        (Target::Task, task_id(state)),
    ] {
        let Some(id) = id else { continue };
        let of_target: Vec<(String, Watermark)> = marks
            .iter()
            .filter(|(t, _, _)| *t == target)
            .map(|(_, f, m)| (f.clone(), m.clone()))
            .collect();
        if !of_target.is_empty() {
            function
                .watermarks
                .save(&config.tenant_id, target.sobject(), id, &of_target, now)
                .await?;
        }
    }
    Ok(())
}
