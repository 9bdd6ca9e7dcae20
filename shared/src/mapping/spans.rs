//! One key, several conversations. Where the platform names only the contact
//! ([`Platform::conversation_is_contact`]: respond.io), a conversation is the contact's span
//! from its open to its close, and the next one starts when the contact writes again or the
//! conversation is opened after the close: a new Case and Task, with its own transcript lines.
//! Pure: the writer asks where a batch splits and whether the stored state gives way.

use super::state::{ConversationState, Stamp};
use crate::event::{EventKind, Platform, QueuedEvent, Role};

/// Whether an event of a closed conversation's key starts the next conversation: an open, or
/// a message from the visitor (respond.io opens a conversation for a contact who writes with
/// none open).
fn opens(kind: &EventKind) -> bool {
    match kind {
        EventKind::ConversationStarted => true,
        EventKind::MessageAdded { message } => message.role == Role::Visitor,
        _ => false,
    }
}

/// An event's place in its conversation's order (as [`super::intents::absorb`] stamps it).
fn stamp(queued: &QueuedEvent) -> Stamp {
    Stamp::new(
        queued.occurred_at,
        &queued.delivery_id,
        u32::from(queued.index),
    )
}

/// Where a batch of one key's events (delivery order) splits into conversations: the index of
/// each event that opens one after a close earlier in the batch. An event older than that
/// close belongs to the closed conversation (a late delivery) and splits nothing.
pub fn split_points(platform: Platform, events: &[&QueuedEvent]) -> Vec<usize> {
    if !platform.conversation_is_contact() {
        return Vec::new();
    }
    let mut closed: Option<Stamp> = None;
    let mut out = Vec::new();
    for (i, queued) in events.iter().enumerate() {
        match &queued.event.kind {
            EventKind::Closed => closed = Some(stamp(queued)),
            EventKind::Reopened => closed = None,
            kind if opens(kind) && closed.as_ref().is_some_and(|c| stamp(queued) > *c) => {
                out.push(i);
                closed = None;
            }
            _ => {}
        }
    }
    out
}

/// Whether the stored state, a closed conversation, gives way to a new one at `first`.
pub fn rolls_over(platform: Platform, state: &ConversationState, first: &QueuedEvent) -> bool {
    platform.conversation_is_contact()
        && opens(&first.event.kind)
        && state
            .closed
            .as_ref()
            .is_some_and(|(closed, at)| *closed && stamp(first) > *at)
}

/// Whether `queued` belongs to the key's previous conversation: a replay of a batch whose
/// later part opened this one (its earlier part was written then), or a late delivery. Either
/// way it is not this conversation's.
pub fn earlier(state: &ConversationState, queued: &QueuedEvent) -> bool {
    state
        .previous_close
        .as_ref()
        .is_some_and(|close| stamp(queued) <= *close)
}

/// The next conversation's state. The contact's tags and assignee carry over (on respond.io
/// both belong to the contact, and no event repeats them for the new conversation); records,
/// transcript and field values start afresh under a new conversation id, so the Case and Task
/// keys differ from the closed conversation's.
pub fn next(state: &ConversationState) -> ConversationState {
    let span = state.span.saturating_add(1);
    let base = state
        .conversation_id
        .split_once('~')
        .map_or(state.conversation_id.as_str(), |(base, _)| base);
    ConversationState {
        version: state.version,
        span,
        conversation_id: format!("{base}~{span}"),
        previous_close: state.closed.as_ref().map(|(_, at)| at.clone()),
        tags: state.tags.clone(),
        owner: state.owner.clone(),
        ..ConversationState::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, Message};
    use time::macros::datetime;

    fn at(kind: EventKind, minute: u8, platform: Platform) -> QueuedEvent {
        let when = datetime!(2026-03-01 10:00 UTC) + time::Duration::minutes(minute.into());
        QueuedEvent {
            schema: crate::event::SCHEMA_VERSION,
            correlation_id: format!("c{minute}"),
            tenant_id: "acme".into(),
            platform,
            delivery_id: format!("d{minute}"),
            index: 0,
            count: 1,
            topic: "message.received".into(),
            conversation_key: "contact:7".into(),
            occurred_at: when,
            received_at: when,
            event: Event::new(kind),
            raw: crate::event::RawPayload::of("{}"),
            resolution: None,
        }
    }

    fn said(role: Role) -> EventKind {
        EventKind::MessageAdded {
            message: Message {
                id: None,
                role,
                author: None,
                body: "hi".into(),
                format: Default::default(),
                at: None,
                attachments: Vec::new(),
            },
        }
    }

    #[test]
    fn a_batch_splits_where_the_contact_writes_or_opens_after_a_close() {
        let p = Platform::RespondIo;
        let events = [
            at(said(Role::Visitor), 0, p),
            at(EventKind::Closed, 5, p),
            // An agent's follow-up after the close stays with the closed conversation.
            at(said(Role::Agent), 6, p),
            // A late visitor message, older than the close, too.
            at(said(Role::Visitor), 4, p),
            at(said(Role::Visitor), 7, p),
            at(EventKind::ConversationStarted, 7, p),
            at(EventKind::Closed, 9, p),
            at(EventKind::ConversationStarted, 12, p),
        ];
        let refs: Vec<&QueuedEvent> = events.iter().collect();
        assert_eq!(split_points(p, &refs), vec![4, 7]);
        // Platforms that name their conversations never split.
        assert!(split_points(Platform::Intercom, &refs).is_empty());
    }

    #[test]
    fn a_closed_state_gives_way_to_a_newer_open_and_keeps_the_contacts_tags_and_assignee() {
        let p = Platform::RespondIo;
        let mut closed = ConversationState {
            version: 4,
            conversation_id: "7".into(),
            case: None,
            task_id: Some("00T1".into()),
            ..ConversationState::default()
        };
        let stamp = super::stamp(&at(EventKind::Closed, 5, p));
        closed.set_closed(true, &stamp);
        closed.set_tag("vip", true, &stamp);
        closed.owner = Some((Some("sam@example.com".into()), None, stamp.clone()));
        closed.unsent_lines = 0;

        assert!(rolls_over(
            p,
            &closed,
            &at(EventKind::ConversationStarted, 6, p)
        ));
        assert!(rolls_over(p, &closed, &at(said(Role::Visitor), 6, p)));
        assert!(!rolls_over(p, &closed, &at(said(Role::Agent), 6, p)));
        assert!(
            !rolls_over(p, &closed, &at(said(Role::Visitor), 4, p)),
            "late"
        );
        assert!(!rolls_over(
            Platform::Intercom,
            &closed,
            &at(EventKind::ConversationStarted, 6, p)
        ));
        let mut open = closed.clone();
        open.set_closed(false, &Stamp::new(datetime!(2026-03-01 10:06 UTC), "e", 0));
        assert!(!rolls_over(
            p,
            &open,
            &at(EventKind::ConversationStarted, 7, p)
        ));

        let second = next(&closed);
        assert_eq!(
            (second.version, second.span),
            (4, 1),
            "saved over the same item"
        );
        assert_eq!(second.conversation_id, "7~1");
        assert_eq!(second.task_id, None);
        assert!(!second.is_closed());
        assert_eq!(second.current_tags(), vec!["vip"]);
        assert_eq!(second.owner, closed.owner);
        assert_eq!(next(&second).conversation_id, "7~2");
        // The closed conversation's events, replayed, are not the new one's.
        assert!(earlier(&second, &at(EventKind::Closed, 5, p)));
        assert!(earlier(&second, &at(said(Role::Visitor), 1, p)));
        assert!(!earlier(&second, &at(said(Role::Visitor), 6, p)));
        assert!(!earlier(&closed, &at(said(Role::Visitor), 1, p)));
    }
}
