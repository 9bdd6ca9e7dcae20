//! The deliveries table: one idempotency claim per webhook delivery (TTL about a week).
//!
//! A claim starts `pending` and becomes `queued` once the message is on resolve.fifo. A repeat
//! that finds a `pending` claim sends again (the FIFO dedupe id makes that safe), so a crash
//! between claim and send loses nothing; a repeat that finds `queued` is a duplicate.

use super::{StoreError, aws_error};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;

/// How long a claim is kept: longer than any platform's retry schedule (Tidio: ~5 h).
pub const CLAIM_TTL_SECONDS: i64 = 7 * 24 * 3600;

/// How long a claim keyed on a hash of the body is kept. Without a delivery id, an identical
/// body later is a real new event (a ticket reassigned back, a status changed back), so the
/// claim covers retries and duplicate sends only.
pub const BODY_HASH_CLAIM_TTL_SECONDS: i64 = 15 * 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First sight of this delivery.
    New,
    /// Claimed before but not confirmed queued: queue it again under the first correlation id.
    Pending { correlation_id: String },
    /// Already queued: a duplicate.
    Queued { correlation_id: String },
}

/// Whether a tenant's delivery fits its rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    /// The tenant's minute is full: try again after this many seconds.
    Limited {
        retry_after: u32,
    },
}

#[derive(Debug, Clone)]
pub struct DeliveryClaims {
    client: Client,
    table: String,
}

impl DeliveryClaims {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Counts one delivery in the tenant's current minute (a fixed window, one conditional
    /// update shared by every instance); refused when the minute already holds `per_minute`.
    /// The window's item is keyed `~rate#…`, which no delivery key can be (tenant ids have
    /// no `~`), and expires with the next minutes.
    pub async fn admit(
        &self,
        tenant_id: &str,
        now: OffsetDateTime,
        per_minute: u32,
    ) -> Result<Admission, StoreError> {
        let minute = now.unix_timestamp().div_euclid(60);
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(
                "pk",
                AttributeValue::S(format!("~rate#{tenant_id}#{minute}")),
            )
            .update_expression("ADD n :one SET expires_at = if_not_exists(expires_at, :expires)")
            .condition_expression("attribute_not_exists(n) OR n < :max")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":max", AttributeValue::N(per_minute.to_string()))
            .expression_attribute_values(
                ":expires",
                AttributeValue::N((minute * 60 + 180).to_string()),
            )
            .send()
            .await;
        match update {
            Ok(_) => Ok(Admission::Admitted),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                let into_minute = u32::try_from(now.unix_timestamp().rem_euclid(60)).unwrap_or(0);
                Ok(Admission::Limited {
                    retry_after: 60 - into_minute,
                })
            }
            Err(e) => Err(aws_error("DynamoDB", "UpdateItem", e)),
        }
    }

    /// Claims `key` for `correlation_id` for `ttl_seconds`, unless a live claim holds it. An
    /// expired claim DynamoDB has not deleted yet counts as absent.
    pub async fn claim(
        &self,
        key: &str,
        correlation_id: &str,
        now: OffsetDateTime,
        ttl_seconds: i64,
    ) -> Result<Claim, StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(key.to_owned()))
            .item(
                "correlation_id",
                AttributeValue::S(correlation_id.to_owned()),
            )
            .item("status", AttributeValue::S("pending".into()))
            .item("claimed_at", AttributeValue::S(crate::rfc3339(now)))
            .item(
                "expires_at",
                AttributeValue::N((now.unix_timestamp() + ttl_seconds).to_string()),
            )
            .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
            .expression_attribute_values(
                ":now",
                AttributeValue::N(now.unix_timestamp().to_string()),
            )
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .send()
            .await;
        let err = match put {
            Ok(_) => return Ok(Claim::New),
            Err(e) => e,
        };
        let existing = match err.as_service_error() {
            Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c)) => {
                c.item().cloned()
            }
            _ => return Err(aws_error("DynamoDB", "PutItem", err)),
        };
        // Older DynamoDB emulations do not return the old item: read it.
        let item = match existing {
            Some(item) => item,
            None => self
                .client
                .get_item()
                .table_name(&self.table)
                .key("pk", AttributeValue::S(key.to_owned()))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| aws_error("DynamoDB", "GetItem", e))?
                .item
                .ok_or_else(|| StoreError::Corrupt {
                    what: "delivery claim",
                    reason: "claim vanished while checking it".into(),
                })?,
        };
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        let correlation_id = text("correlation_id").ok_or_else(|| StoreError::Corrupt {
            what: "delivery claim",
            reason: "no correlation_id".into(),
        })?;
        Ok(match text("status").as_deref() {
            Some("queued") => Claim::Queued { correlation_id },
            _ => Claim::Pending { correlation_id },
        })
    }

    /// Marks the claim queued, once the message is on the queue.
    pub async fn mark_queued(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.to_owned()))
            .update_expression("SET #s = :queued")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":queued", AttributeValue::S("queued".into()))
            .send()
            .await
            .map_err(|e| aws_error("DynamoDB", "UpdateItem", e))?;
        Ok(())
    }
}
