//! From chat events to what Salesforce should hold: each event updates the conversation's state
//! and yields stamped field values ([`Intent`]s), owner requests and transcript messages.
//! Pure: no I/O, so the writer's decisions are tested directly.

use super::policy::{self, OnClose, normalise_key};
use super::sources;
use super::state::{ConversationState, Stamp};
use crate::event::{Event, EventKind, Message, QueuedEvent};
use crate::tenant::TenantConfig;
use serde_json::Value;

/// The record an intent is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    Case,
    /// The conversation's (first) transcript Task.
    Task,
}

impl Target {
    pub fn sobject(self) -> &'static str {
        match self {
            Target::Case => "Case",
            Target::Task => "Task",
        }
    }
}

/// A field value as of one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    pub target: Target,
    pub field: String,
    pub value: Value,
    pub stamp: Stamp,
}

/// An assignment: resolved to a User or Queue id once the writer has looked them up.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnerRequest {
    pub stamp: Stamp,
    /// The agent's e-mail (lower case), when the tenant maps agents to Users.
    pub agent_email: Option<String>,
    /// The team or inbox name, when the tenant maps it to a Queue.
    pub queue: Option<String>,
}

/// What a batch of one conversation's events asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Absorbed {
    pub intents: Vec<Intent>,
    pub owners: Vec<OwnerRequest>,
    pub messages: Vec<(Stamp, Message)>,
    /// A close: the whole transcript is written now.
    pub flush: bool,
    /// Plain words for the sync log, per event (by position in the batch).
    pub notes: Vec<String>,
}

/// Task.Status while the chat is open and once it is closed.
pub const TASK_OPEN: &str = "In Progress";
pub const TASK_DONE: &str = "Completed";

/// What names the conversation's channel: the newest of `events` that says, else what `state`
/// remembers (later events often carry no channel).
pub fn channel_names(state: &ConversationState, events: &[&QueuedEvent]) -> Vec<String> {
    events
        .iter()
        .rev()
        .map(|q| q.event.channel_names())
        .find(|names| !names.is_empty())
        .unwrap_or_else(|| state.channel.clone())
}

/// Applies the events (one conversation, delivery order) to `state` and collects intents.
pub fn absorb(
    state: &mut ConversationState,
    events: &[&QueuedEvent],
    config: &TenantConfig,
) -> Absorbed {
    let mut out = Absorbed::default();
    for queued in events {
        let stamp = Stamp::new(
            queued.occurred_at,
            &queued.delivery_id,
            u32::from(queued.index),
        );
        let event = &queued.event;
        remember_conversation(state, event, queued);
        // Intercom sends the conversation's tags with each conversation event: a tag in that
        // snapshot was present then. A tag missing from it may only be unsent (other shapes
        // carry no list), so nothing is removed; stamps keep a later removal in force.
        if !matches!(event.kind, EventKind::TagsChanged { .. })
            && let Some(c) = &event.conversation
        {
            for tag in &c.tags {
                state.set_tag(tag, true, &stamp);
            }
        }
        if let Some(person) = queued.resolution.as_ref().and_then(|r| r.person.clone())
            && state.person.as_ref().is_none_or(|(_, s)| *s <= stamp)
        {
            state.person = Some((person, stamp.clone()));
        }
        let note = absorb_kind(state, &mut out, event, &stamp, config, queued.received_at);
        for mapping in &config.fields {
            if let Some(intent) = mapped_field(mapping, event, &stamp) {
                out.intents.push(intent);
            }
        }
        out.notes.push(note);
    }
    // A Case nobody has assigned yet belongs to the tenant's (or the channel's) default queue;
    // any later assignment or tag routing has a newer stamp and wins.
    if state.owner.is_none()
        && out.owners.is_empty()
        && let (Some(queue), Some(first)) = (&config.owners.default_queue, events.first())
    {
        out.owners.push(OwnerRequest {
            stamp: Stamp::new(
                first.occurred_at,
                &first.delivery_id,
                u32::from(first.index),
            ),
            agent_email: None,
            queue: Some(queue.clone()),
        });
    }
    state.wants_case = state.wants_case || wants_case(state, config);
    for intent in &out.intents {
        let key = format!("{}.{}", intent.target.sobject(), intent.field);
        state.remember(key, &intent.value, &intent.stamp);
    }
    for owner in &out.owners {
        if state
            .owner
            .as_ref()
            .is_none_or(|(_, _, s)| *s <= owner.stamp)
        {
            state.owner = Some((
                owner.agent_email.clone(),
                owner.queue.clone(),
                owner.stamp.clone(),
            ));
        }
    }
    out
}

fn absorb_kind(
    state: &mut ConversationState,
    out: &mut Absorbed,
    event: &Event,
    stamp: &Stamp,
    config: &TenantConfig,
    received_at: time::OffsetDateTime,
) -> String {
    let case = &config.case;
    let mut set = |target: Target, field: &str, value: &str| {
        out.intents.push(Intent {
            target,
            field: field.to_owned(),
            value: Value::String(value.to_owned()),
            stamp: stamp.clone(),
        });
    };
    match &event.kind {
        EventKind::ConversationStarted => {
            if let Some(p) = event
                .conversation
                .as_ref()
                .and_then(|c| c.priority.as_deref())
            {
                priority(&mut set, config, p);
            }
            set(Target::Task, "Status", TASK_OPEN);
            "conversation started".into()
        }
        EventKind::MessageAdded { message } => {
            out.messages.push((stamp.clone(), message.clone()));
            state.unsent_lines = state.unsent_lines.saturating_add(1);
            state.unsent_since.get_or_insert(received_at);
            format!("{:?} message kept for the transcript", message.role).to_lowercase()
        }
        EventKind::TagsChanged {
            added,
            removed,
            current,
        } => {
            if let Some(current) = current {
                let known: Vec<String> = state.tags.keys().cloned().collect();
                for tag in known {
                    if !current.iter().any(|c| c.trim() == tag) {
                        state.set_tag(&tag, false, stamp);
                    }
                }
                for tag in current {
                    state.set_tag(tag, true, stamp);
                }
            }
            for tag in added {
                state.set_tag(tag, true, stamp);
            }
            for tag in removed {
                state.set_tag(tag, false, stamp);
            }
            let tags = state.current_tags().join(", ");
            // A tag that routes: the first of the current tags (sorted) the tenant maps.
            let routed = state
                .current_tags()
                .into_iter()
                .find_map(|tag| policy::lookup(&config.owners.tag_queues, tag).map(|q| (tag, q)));
            match routed {
                Some((tag, queue)) => {
                    out.owners.push(OwnerRequest {
                        stamp: stamp.clone(),
                        agent_email: None,
                        queue: Some(queue.to_owned()),
                    });
                    format!("tags now: {tags}; tag {tag:?} routes the Case to queue {queue:?}")
                }
                None => format!("tags now: {tags}"),
            }
        }
        EventKind::Assigned { agent, team } => {
            let agent_email = agent
                .as_ref()
                .and_then(|a| a.email.as_deref())
                .map(|e| e.trim().to_lowercase())
                .filter(|e| config.owners.agents && !e.is_empty());
            // The team, else the inbox; by name, else by id (Intercom sends only team ids).
            let inbox = event.conversation.as_ref().and_then(|c| c.inbox.as_ref());
            let queue = [team.as_ref(), inbox]
                .into_iter()
                .flatten()
                .flat_map(|t| [t.name.as_deref(), t.id.as_deref()])
                .flatten()
                .find_map(|key| policy::lookup(&config.owners.queues, key))
                .map(str::to_owned);
            if agent_email.is_none() && queue.is_none() {
                return "assignment has no agent e-mail or mapped team: owner unchanged".into();
            }
            out.owners.push(OwnerRequest {
                stamp: stamp.clone(),
                agent_email,
                queue,
            });
            "assignment".into()
        }
        EventKind::PriorityChanged { priority: p } => {
            if priority(&mut set, config, p) {
                format!("priority {p}")
            } else {
                format!("priority {p:?} is not in case.priority_map: not written")
            }
        }
        EventKind::StatusChanged { status } => match policy::lookup(&case.status_map, status) {
            Some(mapped) => {
                set(Target::Case, "Status", mapped);
                format!("status {status} → {mapped}")
            }
            None => format!("status {status:?} is not in case.status_map: not written"),
        },
        EventKind::Closed => {
            out.flush = true;
            state.set_closed(true, stamp);
            set(Target::Task, "Status", TASK_DONE);
            if case.on_close == OnClose::Close {
                set(Target::Case, "Status", &case.closed_status);
                "closed: transcript written, Case closed".into()
            } else {
                "closed: transcript written, Case left for an agent".into()
            }
        }
        EventKind::Reopened => {
            state.set_closed(false, stamp);
            set(Target::Case, "Status", &case.reopened_status);
            set(Target::Task, "Status", TASK_OPEN);
            "reopened".into()
        }
        EventKind::ContactUpserted | EventKind::ContactDeleted => {
            "contact event: the person's fields are the resolver's".into()
        }
        EventKind::CompanyUpserted => "company event: the Account is the resolver's".into(),
    }
}

/// Case.Priority through the map, and the Task's matching priority. False when unmapped.
fn priority(
    set: &mut impl FnMut(Target, &str, &str),
    config: &TenantConfig,
    chat_priority: &str,
) -> bool {
    let Some(mapped) = policy::lookup(&config.case.priority_map, chat_priority) else {
        return false;
    };
    set(Target::Case, "Priority", mapped);
    // Task priorities are High / Normal / Low in every org.
    let task = match normalise_key(mapped).as_str() {
        "high" | "urgent" | "critical" => "High",
        "low" => "Low",
        _ => "Normal",
    };
    set(Target::Task, "Priority", task);
    true
}

fn remember_conversation(state: &mut ConversationState, event: &Event, queued: &QueuedEvent) {
    let fallback = crate::event::Conversation::default();
    let c = event.conversation.as_ref().unwrap_or(&fallback);
    if state.conversation_id.is_empty() {
        state.conversation_id = if c.id.is_empty() {
            queued.conversation_key.clone()
        } else {
            c.id.clone()
        };
    }
    if c.url.is_some() {
        state.url.clone_from(&c.url);
    }
    let channel = event.channel_names();
    if !channel.is_empty() {
        state.channel = channel;
    }
    if c.subject.as_deref().is_some_and(|s| !s.trim().is_empty()) {
        state.subject.clone_from(&c.subject);
    }
    if state.started_at.is_none_or(|s| queued.occurred_at < s) {
        state.started_at = Some(queued.occurred_at);
    }
    let v = &event.visitor;
    let name = v.name.clone().or_else(|| {
        let joined = [v.first_name.as_deref(), v.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        (!joined.is_empty()).then_some(joined)
    });
    for (key, value) in [
        ("SuppliedName", name),
        ("SuppliedEmail", v.email.clone()),
        ("SuppliedPhone", v.phone.clone()),
    ] {
        if let Some(value) = value.filter(|s| !s.trim().is_empty()) {
            state
                .supplied
                .insert(key.to_owned(), value.trim().to_owned());
        }
    }
}

fn wants_case(state: &ConversationState, config: &TenantConfig) -> bool {
    use super::policy::CaseTrigger;
    match config.case.trigger(config.mode) {
        CaseTrigger::Always => true,
        CaseTrigger::Never => false,
        CaseTrigger::Tags => state.current_tags().iter().any(|tag| {
            config
                .case
                .trigger_tags
                .iter()
                .any(|t| normalise_key(t) == normalise_key(tag))
        }),
    }
}

/// The category for the current tags: the first tag (sorted) that the map knows.
pub fn category(state: &ConversationState, config: &TenantConfig) -> Option<Intent> {
    let stamp = state.tags_stamp()?.clone();
    let value = state
        .current_tags()
        .into_iter()
        .find_map(|tag| policy::lookup(&config.case.category_map, tag))?;
    Some(Intent {
        target: Target::Case,
        field: config.case.category_field.clone(),
        value: Value::String(value.to_owned()),
        stamp,
    })
}

fn mapped_field(mapping: &policy::FieldMapping, event: &Event, stamp: &Stamp) -> Option<Intent> {
    let (object, field) = mapping.to.split_once('.')?;
    let target = match object {
        "Case" => Target::Case,
        "Task" => Target::Task,
        // People and Accounts are the resolver's (`mapping::people`).
        _ => return None,
    };
    Some(Intent {
        target,
        field: field.to_owned(),
        value: sources::mapped_value(mapping, event)?,
        stamp: stamp.clone(),
    })
}

impl ConversationState {
    /// The remembered field values as intents.
    pub fn stored_intents(&self) -> Vec<Intent> {
        self.fields
            .iter()
            .filter_map(|(key, (value, stamp))| {
                let (object, field) = key.split_once('.')?;
                let target = match object {
                    "Case" => Target::Case,
                    "Task" => Target::Task,
                    _ => return None,
                };
                Some(Intent {
                    target,
                    field: field.to_owned(),
                    value: value.clone(),
                    stamp: stamp.clone(),
                })
            })
            .collect()
    }

    /// The remembered assignment as a request.
    pub fn stored_owner(&self) -> Option<OwnerRequest> {
        self.owner
            .as_ref()
            .map(|(agent, queue, stamp)| OwnerRequest {
                stamp: stamp.clone(),
                agent_email: agent.clone(),
                queue: queue.clone(),
            })
    }
}
