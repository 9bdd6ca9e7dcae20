//! One FIFO group (one conversation) of a batch: read its messages, write them together, then
//! record the outcome per event in the sync log, or apply the retry policy.

use crate::report::Report;
use crate::{Function, WriteError, conversation};
use aws_lambda_events::sqs::SqsMessage;
use shared::consumer::{CoreError, receive_count};
use shared::error::{Classify, ErrorClass};
use shared::event::QueuedEvent;
use shared::salesforce::Exchanges;
use shared::store::conversations::{ConversationKey, FlushRequest};
use shared::synclog::{Outcome, Step, SyncLogEntry};

/// A message on write.fifo: a resolved event, or the drainer asking for a quiet
/// conversation's waiting transcript lines to be written.
enum Queued {
    Event(Box<QueuedEvent>),
    Flush(FlushRequest),
}

/// A flush request, or an event (opened when sealed).
async fn read(function: &Function, record: &SqsMessage) -> Result<Queued, WriteError> {
    let body = record.body.as_deref().unwrap_or_default();
    if let Ok(flush) = serde_json::from_str::<FlushRequest>(body) {
        return Ok(Queued::Flush(flush));
    }
    let event = function
        .kit
        .sealer
        .open(body)
        .await
        .map_err(CoreError::from)?;
    Ok(Queued::Event(Box::new(event)))
}

/// One FIFO group's messages of the batch: read them, then write what they ask.
pub(crate) async fn write_group(
    function: &Function,
    messages: &[&SqsMessage],
) -> Result<(), (usize, WriteError)> {
    // Messages `start..` not yet written; one that does not open is parked (or retried) on
    // its own, and what came before it is written first.
    let mut start = 0;
    let mut read_ok = Vec::with_capacity(messages.len());
    for (i, record) in messages.iter().enumerate() {
        match read(function, record).await {
            Ok(q) => read_ok.push(q),
            Err(e) => {
                if start < i {
                    write_events(function, &messages[start..i], std::mem::take(&mut read_ok))
                        .await
                        .map_err(|e| (start, e))?;
                }
                let stage = shared::synclog::Stage::Write;
                if !function.kit.unopened(record, stage, &e).await {
                    return Err((i, e));
                }
                start = i + 1;
            }
        }
    }
    if start == messages.len() {
        return Ok(());
    }
    write_events(function, &messages[start..], read_ok)
        .await
        .map_err(|e| (start, e))
}

async fn write_events(
    function: &Function,
    messages: &[&SqsMessage],
    queued: Vec<Queued>,
) -> Result<(), WriteError> {
    let mut events = Vec::with_capacity(queued.len());
    let mut event_messages: Vec<&SqsMessage> = Vec::with_capacity(queued.len());
    let mut flush = None;
    for (q, record) in queued.into_iter().zip(messages) {
        match q {
            Queued::Event(e) => {
                events.push(*e);
                event_messages.push(record);
            }
            Queued::Flush(f) => flush = Some(f),
        }
    }
    let key = match (events.first(), &flush) {
        (Some(first), _) => {
            tracing::Span::current().record("correlation_id", first.correlation_id.as_str());
            ConversationKey::new(&first.tenant_id, first.platform, &first.conversation_key)
        }
        (None, Some(f)) => ConversationKey::new(
            &f.flush.tenant_id,
            f.flush.platform,
            &f.flush.conversation_key,
        ),
        (None, None) => return Ok(()),
    };
    // Contact events (no conversation) have nothing to write: the resolver kept the person;
    // but a contact's tags reach the conversation it chats in, while that is open.
    let (key, redirected) = match contact_tags_target(function, &key, &events).await? {
        Some((open, tags)) => (open, tags),
        None => (key, Vec::new()),
    };
    let conversational: Vec<&QueuedEvent> = events
        .iter()
        .filter(|e| e.event.conversation.is_some())
        .chain(&redirected)
        .collect();
    let mut exchanges = Exchanges::off();
    // The people's values the write may copy into Salesforce, for masking its payload document:
    // the events' own, and the conversation's remembered ones (a Subject "Chat with …").
    let mut personal: Vec<String> = events
        .iter()
        .flat_map(|e| e.event.personal_values())
        .collect();
    let mut config = None;
    let outcome = if conversational.is_empty() && flush.is_none() {
        Ok(Report {
            notes: vec!["no conversation in this event: nothing to write".into()],
            ..Report::default()
        })
    } else {
        match function.kit.tenant(&key.tenant_id).await {
            Ok(c) => {
                exchanges = c.payloads.recorder();
                let written = conversation::write(
                    function,
                    &c,
                    &key,
                    &conversational,
                    flush.is_some(),
                    &exchanges,
                    &mut personal,
                )
                .await;
                config = Some(c);
                written
            }
            Err(e) => Err(e.into()),
        }
    };
    // What was sent and answered, for the entries below (kept per the tenant's policy).
    let payload_ref = async || match &config {
        Some(c) => {
            function
                .kit
                .keep_exchanges(c, &exchanges, personal.clone())
                .await
        }
        None => None,
    };
    if events.is_empty() {
        // A flush has no trail of its own: its outcome is the function's log line.
        return match outcome {
            Ok(report) => {
                tracing::info!(conversation = %key.as_str(), calls = report.calls, "waiting transcript lines written");
                Ok(())
            }
            Err(e) if e.class().is_retryable() => Err(e),
            Err(e) => {
                tracing::warn!(conversation = %key.as_str(), error = %e, "waiting transcript lines not written");
                Ok(())
            }
        };
    }
    let events = &events[..];
    let messages = &event_messages[..];
    match outcome {
        Ok(report) => {
            // Salesforce has the data; retrying the write for an audit line would repeat it.
            let payload = payload_ref().await;
            let report = Report { payload, ..report };
            if let Err(e) = log_events(function, messages, events, Outcome::Ok, &report, None).await
            {
                tracing::warn!(error = %e, "sync log write failed");
            }
            Ok(())
        }
        Err(e) if e.class().is_retryable() => {
            retry_later(function, messages, events, &e, payload_ref().await).await;
            Err(e)
        }
        Err(e) if events.len() > 1 && e.class() == ErrorClass::Data => {
            // One event's value was refused: write them one by one, so only that event becomes
            // a review item and the others land.
            tracing::info!(error = %e, events = events.len(), "a data error in a batch: writing its events one by one");
            for (event, message) in events.iter().zip(messages) {
                Box::pin(write_events(
                    function,
                    std::slice::from_ref(message),
                    vec![Queued::Event(Box::new(event.clone()))],
                ))
                .await?;
            }
            Ok(())
        }
        Err(e) => {
            // A data or configuration error: a review item per event, not an endless retry.
            let report = Report {
                notes: vec![format!("not written: {e}")],
                payload: payload_ref().await,
                ..Report::default()
            };
            // The review item is the only record of what was not written: without it, retry.
            log_events(
                function,
                messages,
                events,
                Outcome::Parked,
                &report,
                Some(&e),
            )
            .await?;
            Ok(())
        }
    }
}

/// For a group of contact events only (Intercom's contact tag topics): the conversation the
/// contact chats in, when it is open, and the tag events to apply to it (as its events).
async fn contact_tags_target(
    function: &Function,
    key: &ConversationKey,
    events: &[QueuedEvent],
) -> Result<Option<(ConversationKey, Vec<QueuedEvent>)>, WriteError> {
    let tags: Vec<&QueuedEvent> = events
        .iter()
        .filter(|e| {
            e.event.conversation.is_none()
                && matches!(e.event.kind, shared::event::EventKind::TagsChanged { .. })
        })
        .collect();
    if tags.is_empty() || events.iter().any(|e| e.event.conversation.is_some()) {
        return Ok(None);
    }
    let Some(contact) = tags
        .iter()
        .find_map(|e| e.event.visitor.contact_id.as_deref())
        .filter(|c| !c.trim().is_empty())
    else {
        return Ok(None);
    };
    let pointed = function
        .conversations
        .pointed(&key.tenant_id, key.platform, contact)
        .await?;
    let Some((conversation_key, false)) = pointed else {
        return Ok(None);
    };
    let open = ConversationKey::new(&key.tenant_id, key.platform, &conversation_key);
    let moved = tags
        .into_iter()
        .map(|e| {
            let mut e = e.clone();
            // The conversation's own id is in its state; an empty one changes nothing there.
            e.event.conversation = Some(shared::event::Conversation::default());
            e
        })
        .collect();
    Ok(Some((open, moved)))
}

/// The retry policy for a group that failed: the delay before SQS offers its messages again,
/// and a sync log entry per event saying why.
async fn retry_later(
    function: &Function,
    messages: &[&SqsMessage],
    events: &[QueuedEvent],
    error: &WriteError,
    payload: Option<String>,
) {
    let Some(delay) = function.kit.retry_later(messages, error.class()).await else {
        return;
    };
    let report = Report {
        notes: vec![format!("failed: {error}; retried in {} s", delay.as_secs())],
        payload,
        ..Report::default()
    };
    if let Err(e) = log_events(
        function,
        messages,
        events,
        Outcome::Error,
        &report,
        Some(error),
    )
    .await
    {
        tracing::warn!(error = %e, "sync log write failed");
    }
}

async fn log_events(
    function: &Function,
    messages: &[&SqsMessage],
    events: &[QueuedEvent],
    outcome: Outcome,
    report: &Report,
    error: Option<&WriteError>,
) -> Result<(), WriteError> {
    for (queued, record) in events.iter().zip(messages) {
        let mut detail = format!("{} · {}", queued.event.kind.name(), report.notes.join("; "));
        if !report.sent.is_empty() {
            detail.push_str(&format!(" · sent {}", report.sent.join(", ")));
        }
        if events.len() > 1 {
            detail.push_str(&format!(
                " · written with {} other event(s) of the conversation in {} call(s)",
                events.len() - 1,
                report.calls
            ));
        }
        let mut entry = SyncLogEntry::new(
            &queued.correlation_id,
            &queued.tenant_id,
            queued.platform,
            Step::Write,
            outcome,
            detail,
        )
        .topic(&queued.topic)
        .attempts(receive_count(record))
        .message_id(record.message_id.as_deref());
        entry.records.clone_from(&report.records);
        entry.payload_ref.clone_from(&report.payload);
        if let Some(e) = error {
            entry = entry.error_class(e.class());
            // Review items carry what to replay; a retry's message is still on the queue.
            if outcome == Outcome::Parked {
                entry = entry
                    .payload(record.body.as_deref().unwrap_or_default())
                    .replay_to(shared::synclog::Stage::Write)
                    .group_id(&queued.group_id());
            }
        }
        function.kit.sync_log.record(&entry).await?;
    }
    Ok(())
}
