//! Sending to the FIFO queues.

use super::{StoreError, aws_error};
use aws_sdk_sqs::Client;

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
}
