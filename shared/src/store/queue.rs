//! The FIFO queues: sending (one or in batches), receiving with the attributes chatsync reads,
//! deleting and setting visibility. Every SQS call of the functions goes through here.

use super::{StoreError, aws_error};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, MessageAttributeValue, MessageSystemAttributeName,
    SendMessageBatchRequestEntry,
};
use std::collections::HashMap;
use std::time::Duration;
use time::OffsetDateTime;

/// SQS's longest visibility timeout (12 hours).
pub const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 3600);

/// SQS's limits for one SendMessageBatch call.
const BATCH_MAX_ENTRIES: usize = 10;
const BATCH_MAX_BYTES: usize = 256 * 1024;

/// One message for a FIFO queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FifoMessage {
    pub group_id: String,
    pub dedupe_id: String,
    pub body: String,
}

#[derive(Debug, Clone)]
pub struct FifoQueue {
    client: Client,
    url: String,
}

impl FifoQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends one message; SQS drops a repeat of `dedupe_id` within its 5-minute window.
    pub async fn send(
        &self,
        group_id: &str,
        dedupe_id: &str,
        body: &str,
    ) -> Result<(), StoreError> {
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_group_id(group_id)
            .message_deduplication_id(dedupe_id)
            .message_body(body)
            .send()
            .await
            .map_err(|e| aws_error("SQS", "SendMessage", e))?;
        Ok(())
    }

    /// Sends messages in order, in as few SendMessageBatch calls as SQS's limits allow. Any
    /// entry SQS refuses fails the whole call; resending is safe (the dedupe ids are stable).
    pub async fn send_all(&self, messages: &[FifoMessage]) -> Result<(), StoreError> {
        if let [one] = messages {
            return self.send(&one.group_id, &one.dedupe_id, &one.body).await;
        }
        for chunk in batches(messages) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_group_id(&m.group_id)
                        .message_deduplication_id(&m.dedupe_id)
                        .message_body(&m.body)
                        .build()
                        .map_err(|e| StoreError::Aws {
                            service: "SQS",
                            operation: "SendMessageBatch",
                            message: e.to_string(),
                            retryable: false,
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| aws_error("SQS", "SendMessageBatch", e))?;
            if let Some(failed) = out.failed().first() {
                return Err(StoreError::Aws {
                    service: "SQS",
                    operation: "SendMessageBatch",
                    message: format!(
                        "{} of {} entries refused, first: {}: {}",
                        out.failed().len(),
                        chunk.len(),
                        failed.code(),
                        failed.message().unwrap_or_default()
                    ),
                    retryable: !failed.sender_fault(),
                });
            }
        }
        Ok(())
    }
}

/// A received message with what chatsync reads of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    pub body: String,
    pub message_id: Option<String>,
    pub receipt: Option<String>,
    pub group_id: Option<String>,
    /// ApproximateReceiveCount (0 when SQS did not say).
    pub receives: u32,
    /// When it was first sent (SentTimestamp).
    pub sent_at: Option<OffsetDateTime>,
    /// Message attributes with a string value (numbers included), by name.
    pub attributes: HashMap<String, String>,
}

impl FifoQueue {
    /// Sends one message with a numeric message attribute (a redrive counter, say).
    pub async fn send_counted(
        &self,
        message: &FifoMessage,
        attribute: &str,
        count: u32,
    ) -> Result<(), StoreError> {
        let value = MessageAttributeValue::builder()
            .data_type("Number")
            .string_value(count.to_string())
            .build()
            .map_err(|e| StoreError::Corrupt {
                what: "message attribute",
                reason: e.to_string(),
            })?;
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_group_id(&message.group_id)
            .message_deduplication_id(&message.dedupe_id)
            .message_body(&message.body)
            .message_attributes(attribute, value)
            .send()
            .await
            .map_err(|e| aws_error("SQS", "SendMessage", e))?;
        Ok(())
    }

    /// Up to 10 messages, hidden from other receivers for `visibility`.
    pub async fn receive(&self, visibility: Duration) -> Result<Vec<Received>, StoreError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .visibility_timeout(seconds(visibility))
            .send()
            .await
            .map_err(|e| aws_error("SQS", "ReceiveMessage", e))?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let system = m.attributes.unwrap_or_default();
                Received {
                    group_id: system
                        .get(&MessageSystemAttributeName::MessageGroupId)
                        .cloned(),
                    receives: system
                        .get(&MessageSystemAttributeName::ApproximateReceiveCount)
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0),
                    sent_at: system
                        .get(&MessageSystemAttributeName::SentTimestamp)
                        .and_then(|t| t.parse::<i64>().ok())
                        .and_then(|ms| OffsetDateTime::from_unix_timestamp(ms / 1000).ok()),
                    attributes: m
                        .message_attributes
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|(k, v)| v.string_value.map(|s| (k, s)))
                        .collect(),
                    body: m.body.unwrap_or_default(),
                    message_id: m.message_id,
                    receipt: m.receipt_handle,
                }
            })
            .collect())
    }

    pub async fn delete(&self, receipt: &str) -> Result<(), StoreError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| aws_error("SQS", "DeleteMessage", e))?;
        Ok(())
    }

    /// Sets the visibility of received messages (their receipt handles): SQS offers them
    /// again after `delay` (at most 12 hours).
    pub async fn set_visibility(
        &self,
        receipts: &[&str],
        delay: Duration,
    ) -> Result<(), StoreError> {
        let seconds = seconds(delay);
        for chunk in receipts.chunks(BATCH_MAX_ENTRIES) {
            let entries: Vec<_> = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, receipt)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(*receipt)
                        .visibility_timeout(seconds)
                        .build()
                        .ok()
                })
                .collect();
            self.client
                .change_message_visibility_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| aws_error("SQS", "ChangeMessageVisibilityBatch", e))?;
        }
        Ok(())
    }
}

fn seconds(d: Duration) -> i32 {
    i32::try_from(d.min(MAX_VISIBILITY).as_secs()).unwrap_or(i32::MAX)
}

/// Splits messages into consecutive batches within SQS's entry and size limits. A single
/// message over the size limit gets a batch of its own (SQS then refuses it clearly).
fn batches(messages: &[FifoMessage]) -> Vec<&[FifoMessage]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, m) in messages.iter().enumerate() {
        let size = m.body.len();
        if i > start && (i - start == BATCH_MAX_ENTRIES || bytes + size > BATCH_MAX_BYTES) {
            out.push(&messages[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < messages.len() {
        out.push(&messages[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(bytes: usize) -> FifoMessage {
        FifoMessage {
            group_id: "g".into(),
            dedupe_id: "d".into(),
            body: "x".repeat(bytes),
        }
    }

    #[test]
    fn batches_respect_the_entry_and_size_limits_and_keep_order() {
        let many: Vec<_> = (0..23).map(|_| message(10)).collect();
        let sizes: Vec<_> = batches(&many).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [10, 10, 3]);
        let big: Vec<_> = (0..4).map(|_| message(100 * 1024)).collect();
        let sizes: Vec<_> = batches(&big).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [2, 2]);
        assert!(batches(&[]).is_empty());
        let oversized = [message(300 * 1024), message(1)];
        let sizes: Vec<_> = batches(&oversized).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [1, 1]);
    }
}
