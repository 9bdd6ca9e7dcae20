//! The inbox panel's cache: what one view read of a Salesforce person, for 60 seconds, so an
//! agent switching conversations or several agents on one customer cost one API call a
//! minute (respond.io's own panel caches for a minute too). One item per (tenant, person):
//! `pk` = `{tenant}#{sobject}#{id}`, the view sealed (it holds names and e-mails), and
//! `expires_at` (epoch seconds, the table's TTL attribute; an expired item reads as absent,
//! as DynamoDB deletes them only eventually). The panel's own edits forget the item.

use super::sealed_attr::{self, Names};
use super::{StoreError, aws_error};
use crate::event::resolution::Person;
use crate::panel::PanelView;
use crate::seal::Sealer;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use std::sync::Arc;
use time::OffsetDateTime;

/// How long a view is served without asking Salesforce.
pub const TTL_SECONDS: i64 = 60;

const VIEW: Names = Names {
    plain: "view",
    sealed: "sealed_view",
};

#[derive(Clone)]
pub struct PanelCache {
    client: Client,
    table: String,
    sealer: Arc<Sealer>,
}

fn corrupt(reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        what: "cached panel view",
        reason: reason.into(),
    }
}

impl PanelCache {
    pub fn new(client: Client, table: impl Into<String>, sealer: Arc<Sealer>) -> Self {
        Self {
            client,
            table: table.into(),
            sealer,
        }
    }

    fn key(tenant: &str, person: &Person) -> String {
        format!("{tenant}#{}#{}", person.kind.sobject(), person.id)
    }

    /// The view cached for `person`, unless it is older than [`TTL_SECONDS`] at `now`.
    pub async fn get(
        &self,
        tenant: &str,
        person: &Person,
        now: OffsetDateTime,
    ) -> Result<Option<PanelView>, StoreError> {
        let pk = Self::key(tenant, person);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.clone()))
            .send()
            .await
            .map_err(|e| aws_error("DynamoDB", "GetItem", e))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let expires: i64 = item
            .get("expires_at")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| corrupt("expires_at is not a number"))?;
        if expires <= now.unix_timestamp() {
            return Ok(None);
        }
        let Some(text) = sealed_attr::open(Some(&self.sealer), tenant, &pk, &item, VIEW).await?
        else {
            return Ok(None);
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| corrupt(e.to_string()))
    }

    pub async fn put(
        &self,
        tenant: &str,
        person: &Person,
        view: &PanelView,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let pk = Self::key(tenant, person);
        let text = serde_json::to_string(view).map_err(|e| corrupt(e.to_string()))?;
        let (name, value) = sealed_attr::seal(Some(&self.sealer), tenant, &pk, text, VIEW).await?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(pk))
            .item(name, value)
            .item(
                "expires_at",
                AttributeValue::N((now.unix_timestamp() + TTL_SECONDS).to_string()),
            )
            .send()
            .await
            .map_err(|e| aws_error("DynamoDB", "PutItem", e))?;
        Ok(())
    }

    /// Claims `key` (an agent action) for a day: true the first time, false while claimed, so
    /// a submit Intercom or the agent repeats does the action once.
    pub async fn claim(
        &self,
        tenant: &str,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(format!("{tenant}#action#{key}")))
            .item(
                "expires_at",
                AttributeValue::N((now.unix_timestamp() + 24 * 3600).to_string()),
            )
            .condition_expression("attribute_not_exists(pk) OR expires_at <= :now")
            .expression_attribute_values(
                ":now",
                AttributeValue::N(now.unix_timestamp().to_string()),
            )
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(aws_error("DynamoDB", "PutItem", e)),
        }
    }

    /// Releases a claim whose action failed, so the agent can try again.
    pub async fn release(&self, tenant: &str, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("{tenant}#action#{key}")))
            .send()
            .await
            .map_err(|e| aws_error("DynamoDB", "DeleteItem", e))?;
        Ok(())
    }

    /// Drops the view (after the panel changed the person).
    pub async fn forget(&self, tenant: &str, person: &Person) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(Self::key(tenant, person)))
            .send()
            .await
            .map_err(|e| aws_error("DynamoDB", "DeleteItem", e))?;
        Ok(())
    }
}
