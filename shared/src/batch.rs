//! SQS batch outcomes for FIFO consumers with ReportBatchItemFailures.
//! Once a message of a group fails, every later message of that group in the batch must be
//! reported failed too, or SQS would delete them and the conversation would run out of order.

use std::collections::HashSet;

/// One message of a batch, in the order SQS delivered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchItem<'a> {
    pub message_id: &'a str,
    pub group_id: Option<&'a str>,
}

/// Tracks a batch as it is processed in order; tells whether a message may be processed.
#[derive(Debug, Default)]
pub struct FifoBatch {
    failed_groups: HashSet<String>,
    failed: Vec<String>,
}

impl FifoBatch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the message's group has already failed in this batch (then it must be skipped
    /// and reported failed without being processed).
    pub fn blocked(&self, item: &BatchItem) -> bool {
        item.group_id
            .is_some_and(|g| self.failed_groups.contains(g))
    }

    /// Records a failed (or skipped) message.
    pub fn fail(&mut self, item: &BatchItem) {
        if let Some(g) = item.group_id {
            self.failed_groups.insert(g.to_owned());
        }
        self.failed.push(item.message_id.to_owned());
    }

    /// The message ids to report as `batchItemFailures`, in delivery order.
    pub fn into_failures(self) -> Vec<String> {
        self.failed
    }
}

/// Runs `handle` over an SQS batch in delivery order with the FIFO rule applied, and returns
/// the response Lambda expects with ReportBatchItemFailures. A message whose handler fails, or
/// whose group failed earlier in the batch, stays on the queue (visibility timeout, then DLQ).
pub async fn process_in_order<F, E>(
    event: &aws_lambda_events::sqs::SqsEvent,
    handle: F,
) -> aws_lambda_events::sqs::SqsBatchResponse
where
    F: AsyncFnMut(&aws_lambda_events::sqs::SqsMessage) -> Result<(), E>,
    E: std::fmt::Display,
{
    process_in_order_skipping(event, handle).await.0
}

/// [`process_in_order`], also returning the receipt handles of the messages skipped because
/// an earlier message of their group failed: the caller makes them visible again at once, or
/// they would block their group for the queue's whole visibility timeout.
pub async fn process_in_order_skipping<F, E>(
    event: &aws_lambda_events::sqs::SqsEvent,
    mut handle: F,
) -> (aws_lambda_events::sqs::SqsBatchResponse, Vec<String>)
where
    F: AsyncFnMut(&aws_lambda_events::sqs::SqsMessage) -> Result<(), E>,
    E: std::fmt::Display,
{
    use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse};
    let mut batch = FifoBatch::new();
    let mut skipped = Vec::new();
    for record in &event.records {
        let message_id = record.message_id.as_deref().unwrap_or_default();
        let item = BatchItem {
            message_id,
            group_id: record.attributes.get("MessageGroupId").map(String::as_str),
        };
        if batch.blocked(&item) {
            tracing::info!(
                message_id,
                "skipped: an earlier message of its group failed"
            );
            batch.fail(&item);
            skipped.extend(record.receipt_handle.clone());
            continue;
        }
        // Handlers record the delivery's correlation id once they have read it.
        let span = tracing::info_span!(
            "message",
            message_id,
            correlation_id = tracing::field::Empty
        );
        if let Err(e) = tracing::Instrument::instrument(handle(record), span).await {
            tracing::warn!(message_id, error = %e, "message failed; left on the queue");
            batch.fail(&item);
        }
    }
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = batch
        .into_failures()
        .into_iter()
        .map(|id| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            f
        })
        .collect();
    (response, skipped)
}

/// Like [`process_in_order`], but hands each FIFO group's messages of the batch to `handle`
/// together (in delivery order), so one conversation's events can share one write. `handle`
/// returns `Err((k, e))` when messages `k..` of the group failed (those before it succeeded).
pub async fn process_by_group<F, E>(
    event: &aws_lambda_events::sqs::SqsEvent,
    handle: F,
) -> aws_lambda_events::sqs::SqsBatchResponse
where
    F: AsyncFnMut(&[&aws_lambda_events::sqs::SqsMessage]) -> Result<(), (usize, E)>,
    E: std::fmt::Display,
{
    process_by_group_within(event, &Deadline::none(), handle)
        .await
        .response
}

/// When an invocation must be done, and how long one group may take at worst: a group is only
/// started while that much time is left.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    pub at: Option<std::time::Instant>,
    pub reserve: std::time::Duration,
}

impl Deadline {
    /// No deadline: every group is started.
    pub fn none() -> Self {
        Self {
            at: None,
            reserve: std::time::Duration::ZERO,
        }
    }

    /// From Lambda's deadline (milliseconds since the epoch, as the context gives it).
    pub fn from_epoch_ms(deadline_ms: u64, reserve: std::time::Duration) -> Self {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let left = std::time::Duration::from_millis(deadline_ms.saturating_sub(now_ms));
        Self {
            at: Some(std::time::Instant::now() + left),
            reserve,
        }
    }

    /// Whether work that may take `reserve` can still start.
    pub fn may_start(&self, now: std::time::Instant) -> bool {
        may_start(
            self.at.map(|at| at.saturating_duration_since(now)),
            self.reserve,
        )
    }
}

/// The pure rule: start only with `reserve` or more left (always without a deadline).
pub fn may_start(left: Option<std::time::Duration>, reserve: std::time::Duration) -> bool {
    left.is_none_or(|left| left >= reserve)
}

/// What a batch run left: the response for Lambda, and the receipts of the messages never
/// started because the deadline was near (reported failed so SQS keeps them; the caller makes
/// them visible again at once; they are no failure of their events).
#[derive(Debug)]
pub struct GroupRun {
    pub response: aws_lambda_events::sqs::SqsBatchResponse,
    pub deferred: Vec<String>,
}

/// [`process_by_group`] that starts no group once `deadline` leaves less than its reserve.
pub async fn process_by_group_within<F, E>(
    event: &aws_lambda_events::sqs::SqsEvent,
    deadline: &Deadline,
    mut handle: F,
) -> GroupRun
where
    F: AsyncFnMut(&[&aws_lambda_events::sqs::SqsMessage]) -> Result<(), (usize, E)>,
    E: std::fmt::Display,
{
    use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsMessage};
    let mut groups: Vec<(Option<&str>, Vec<&SqsMessage>)> = Vec::new();
    for record in &event.records {
        let group = record.attributes.get("MessageGroupId").map(String::as_str);
        // Messages without a group (not FIFO) are each their own unit.
        match groups.iter_mut().find(|(g, _)| g.is_some() && *g == group) {
            Some((_, members)) => members.push(record),
            None => groups.push((group, vec![record])),
        }
    }
    let mut failed: Vec<String> = Vec::new();
    let mut deferred: Vec<String> = Vec::new();
    for (group, members) in &groups {
        if !deadline.may_start(std::time::Instant::now()) {
            failed.extend(
                members
                    .iter()
                    .map(|m| m.message_id.clone().unwrap_or_default()),
            );
            deferred.extend(members.iter().filter_map(|m| m.receipt_handle.clone()));
            continue;
        }
        let span = tracing::info_span!(
            "group",
            group = group.unwrap_or_default(),
            messages = members.len(),
            correlation_id = tracing::field::Empty
        );
        if let Err((from, e)) = tracing::Instrument::instrument(handle(members), span).await {
            tracing::warn!(group = group.unwrap_or_default(), failed = members.len().saturating_sub(from), error = %e, "messages failed; left on the queue");
            failed.extend(
                members
                    .iter()
                    .skip(from)
                    .map(|m| m.message_id.clone().unwrap_or_default()),
            );
        }
    }
    // Report in delivery order, as SQS gave them.
    let order: Vec<&str> = event
        .records
        .iter()
        .filter_map(|r| r.message_id.as_deref())
        .collect();
    failed.sort_by_key(|id| order.iter().position(|o| o == id));
    if !deferred.is_empty() {
        tracing::info!(
            messages = deferred.len(),
            "left for the next invocation: too little time before the deadline"
        );
    }
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .map(|id| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            f
        })
        .collect();
    GroupRun { response, deferred }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_starts_only_with_its_reserve_left() {
        use std::time::Duration;
        let reserve = Duration::from_secs(20);
        assert!(may_start(None, reserve));
        assert!(may_start(Some(Duration::from_secs(20)), reserve));
        assert!(!may_start(Some(Duration::from_secs(19)), reserve));
        assert!(!may_start(Some(Duration::ZERO), reserve));
    }

    #[tokio::test]
    async fn groups_past_the_deadline_are_left_unstarted_and_not_failed() {
        use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
        let message = |id: &str, group: &str| {
            let mut m = SqsMessage::default();
            m.message_id = Some(id.into());
            m.receipt_handle = Some(format!("r-{id}"));
            m.attributes.insert("MessageGroupId".into(), group.into());
            m
        };
        let mut event = SqsEvent::default();
        event.records = vec![message("a1", "a"), message("b1", "b"), message("a2", "a")];
        // Ten seconds left, twenty needed: nothing starts.
        let near = Deadline {
            at: Some(std::time::Instant::now() + std::time::Duration::from_secs(10)),
            reserve: std::time::Duration::from_secs(20),
        };
        let mut started = 0;
        let run = process_by_group_within(&event, &near, async |_: &[&SqsMessage]| {
            started += 1;
            Ok::<(), (usize, String)>(())
        })
        .await;
        assert_eq!(started, 0);
        let failed: Vec<_> = run
            .response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["a1", "b1", "a2"], "in delivery order");
        assert_eq!(run.deferred.len(), 3);
        // Plenty of time: every group runs, nothing is deferred.
        let mut started = 0;
        let run = process_by_group_within(
            &event,
            &Deadline::from_epoch_ms(u64::MAX / 2, std::time::Duration::from_secs(20)),
            async |_: &[&SqsMessage]| {
                started += 1;
                Ok::<(), (usize, String)>(())
            },
        )
        .await;
        assert_eq!(started, 2);
        assert!(run.response.batch_item_failures.is_empty() && run.deferred.is_empty());
    }

    #[test]
    fn a_failure_blocks_the_rest_of_its_group_only() {
        // GIVEN a batch a1 b1 a2 b2 where a1 fails
        let items = [
            BatchItem {
                message_id: "a1",
                group_id: Some("a"),
            },
            BatchItem {
                message_id: "b1",
                group_id: Some("b"),
            },
            BatchItem {
                message_id: "a2",
                group_id: Some("a"),
            },
            BatchItem {
                message_id: "b2",
                group_id: Some("b"),
            },
        ];
        let mut batch = FifoBatch::new();
        let mut processed = Vec::new();
        for item in &items {
            if batch.blocked(item) {
                batch.fail(item);
                continue;
            }
            if item.message_id == "a1" {
                batch.fail(item);
            } else {
                processed.push(item.message_id);
            }
        }
        // THEN a2 is never processed and both a-messages are reported failed
        assert_eq!(processed, ["b1", "b2"]);
        assert_eq!(batch.into_failures(), ["a1", "a2"]);
    }

    #[test]
    fn messages_without_a_group_fail_alone() {
        let mut batch = FifoBatch::new();
        let lone = BatchItem {
            message_id: "x",
            group_id: None,
        };
        batch.fail(&lone);
        assert!(!batch.blocked(&BatchItem {
            message_id: "y",
            group_id: None
        }));
    }

    fn record(id: &str, group: &str) -> aws_lambda_events::sqs::SqsMessage {
        let mut m = aws_lambda_events::sqs::SqsMessage::default();
        m.message_id = Some(id.to_owned());
        m.attributes
            .insert("MessageGroupId".into(), group.to_owned());
        m
    }

    #[tokio::test]
    async fn groups_are_handed_over_whole_and_fail_from_the_failing_message() {
        // GIVEN a batch a1 b1 a2 b2 a3 where group a fails from its second message
        let mut event = aws_lambda_events::sqs::SqsEvent::default();
        event.records = vec![
            record("a1", "a"),
            record("b1", "b"),
            record("a2", "a"),
            record("b2", "b"),
            record("a3", "a"),
        ];
        let mut seen: Vec<Vec<String>> = Vec::new();
        let response = process_by_group(
            &event,
            async |messages: &[&aws_lambda_events::sqs::SqsMessage]| {
                let ids: Vec<String> = messages
                    .iter()
                    .filter_map(|m| m.message_id.clone())
                    .collect();
                let fails = ids.first().map(String::as_str) == Some("a1");
                seen.push(ids);
                if fails { Err((1, "boom")) } else { Ok(()) }
            },
        )
        .await;
        // THEN each group came whole and in order, and a2, a3 are reported in delivery order
        assert_eq!(seen, [vec!["a1", "a2", "a3"], vec!["b1", "b2"]]);
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["a2", "a3"]);
    }
}
