//! Where the Salesforce poller got to, per tenant and object: the `latestDateCovered` of its
//! last window, kept in the deliveries table (`pk = ~poll#{tenant}#{object}`; no tenant id has
//! `~`, so no delivery key can be one).

use super::{StoreError, aws_error};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

#[derive(Debug, Clone)]
pub struct PollMarks {
    client: Client,
    table: String,
}

fn key(tenant: &str, sobject: &str) -> AttributeValue {
    AttributeValue::S(format!("~poll#{tenant}#{sobject}"))
}

impl PollMarks {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The last window's end, as Salesforce answered it.
    pub async fn get(&self, tenant: &str, sobject: &str) -> Result<Option<String>, StoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", key(tenant, sobject))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws_error("DynamoDB", "GetItem", e))?;
        Ok(got
            .item
            .and_then(|i| i.get("covered").and_then(|v| v.as_s().ok()).cloned()))
    }

    pub async fn put(&self, tenant: &str, sobject: &str, covered: &str) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", key(tenant, sobject))
            .item("covered", AttributeValue::S(covered.to_owned()))
            .send()
            .await
            .map_err(|e| aws_error("DynamoDB", "PutItem", e))?;
        Ok(())
    }
}
