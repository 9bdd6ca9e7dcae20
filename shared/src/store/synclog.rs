//! The sync log table: pk = correlation id, sk = time#step#nonce; the sparse `open-by-tenant`
//! index lists open errors and review items per tenant, newest first.

use super::{StoreError, aws_error};
use crate::synclog::SyncLogEntry;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use time::OffsetDateTime;

pub const OPEN_INDEX: &str = "open-by-tenant";
/// Payload documents' partition keys start with this; no correlation id does (they are UUIDs).
pub const PAYLOAD_PREFIX: &str = "payload#";
const PAYLOAD_SK: &str = "payload";

/// An entry as stored: its sort key (to address the item again, e.g. to close it), whether it
/// is still listed as open, and who closed it when. Derefs to the entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logged {
    /// The item's sort key; the partition key is the entry's correlation id.
    pub sk: String,
    #[serde(flatten)]
    pub entry: SyncLogEntry,
    /// Listed by the open-by-tenant index (an unsettled error or review item).
    pub open: bool,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub closed_by: Option<String>,
}

impl Logged {
    pub fn into_entry(self) -> SyncLogEntry {
        self.entry
    }
}

impl std::ops::Deref for Logged {
    type Target = SyncLogEntry;

    fn deref(&self) -> &SyncLogEntry {
        &self.entry
    }
}

/// One tenant's open items (see [`SyncLogTable::open_summary`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSummary {
    pub tenant_id: String,
    pub open: usize,
    pub oldest: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct SyncLogTable {
    client: Client,
    table: String,
}

impl SyncLogTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Appends an entry; `retention_days` sets its TTL.
    pub async fn append(
        &self,
        entry: &SyncLogEntry,
        retention_days: u32,
    ) -> Result<(), StoreError> {
        // The payload is kept as its own attribute: nested in the entry's JSON it would be
        // escaped twice and a large webhook could pass DynamoDB's 400 KB item limit.
        let mut without_payload = entry.clone();
        let payload = without_payload.payload.take();
        let json = serde_json::to_string(&without_payload).map_err(|e| StoreError::Corrupt {
            what: "sync log entry",
            reason: e.to_string(),
        })?;
        let at = crate::rfc3339(entry.at);
        let sk = format!(
            "{at}#{}#{}",
            serde_json::to_value(entry.step)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let retention = i64::from(retention_days) * 86_400;
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(entry.correlation_id.clone()))
            .item("sk", AttributeValue::S(sk))
            .item("at", AttributeValue::S(at))
            .item("tenant_id", AttributeValue::S(entry.tenant_id.clone()))
            .item("entry", AttributeValue::S(json));
        if let Some(payload) = payload {
            put = put.item("payload", AttributeValue::S(payload));
        }
        if entry.outcome.is_open() {
            // An open review item is the only copy of an unwritten event: it never expires
            // while open. Closing it starts its retention (see `close`).
            put = put
                .item("open_tenant", AttributeValue::S(entry.tenant_id.clone()))
                .item(
                    "retention_seconds",
                    AttributeValue::N(retention.to_string()),
                );
        } else {
            let expires = entry.at.unix_timestamp() + retention;
            put = put.item("expires_at", AttributeValue::N(expires.to_string()));
        }
        put.send()
            .await
            .map_err(|e| aws_error("DynamoDB", "PutItem", e))?;
        Ok(())
    }

    /// Stores a payload document (see [`crate::synclog::payload`]) with the tenant's TTL and
    /// returns its reference. Documents live under their own partition, so a trail never
    /// reads them unasked.
    pub async fn put_payload(
        &self,
        tenant_id: &str,
        document: Vec<u8>,
        retention_days: u32,
    ) -> Result<String, StoreError> {
        let reference = format!("{PAYLOAD_PREFIX}{}", uuid::Uuid::new_v4().simple());
        let now = OffsetDateTime::now_utc();
        let expires = now.unix_timestamp() + i64::from(retention_days) * 86_400;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(reference.clone()))
            .item("sk", AttributeValue::S(PAYLOAD_SK.into()))
            .item("at", AttributeValue::S(crate::rfc3339(now)))
            .item("tenant_id", AttributeValue::S(tenant_id.to_owned()))
            .item("document", AttributeValue::B(document.into()))
            .item("expires_at", AttributeValue::N(expires.to_string()))
            .send()
            .await
            .map_err(|e| aws_error("DynamoDB", "PutItem", e))?;
        Ok(reference)
    }

    /// A stored payload document by its reference, with its tenant; None once expired or for
    /// a reference that is not one.
    pub async fn payload(&self, reference: &str) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        if !reference.starts_with(PAYLOAD_PREFIX) {
            return Ok(None);
        }
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(reference.to_owned()))
            .key("sk", AttributeValue::S(PAYLOAD_SK.into()))
            .send()
            .await
            .map_err(|e| aws_error("DynamoDB", "GetItem", e))?;
        let Some(item) = item.item else {
            return Ok(None);
        };
        let tenant = item
            .get("tenant_id")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default();
        let document = item
            .get("document")
            .and_then(|v| v.as_b().ok())
            .map(|b| b.as_ref().to_vec())
            .ok_or_else(|| StoreError::Corrupt {
                what: "sync log payload",
                reason: "no document attribute".into(),
            })?;
        Ok(Some((tenant, document)))
    }

    /// Every entry of one correlation id, oldest first (the sort key starts with the time).
    pub async fn trail(&self, correlation_id: &str) -> Result<Vec<Logged>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :c")
            .expression_attribute_values(":c", AttributeValue::S(correlation_id.to_owned()));
        super::query_items(query, usize::MAX)
            .await?
            .iter()
            .map(decode)
            .collect()
    }

    /// Open errors and review items of a tenant, newest first.
    pub async fn open(&self, tenant_id: &str, limit: i32) -> Result<Vec<Logged>, StoreError> {
        self.open_since(tenant_id, None, limit).await
    }

    /// Open errors and review items of a tenant parked at or after `since`, newest first, at
    /// most `limit` of them.
    pub async fn open_since(
        &self,
        tenant_id: &str,
        since: Option<OffsetDateTime>,
        limit: i32,
    ) -> Result<Vec<Logged>, StoreError> {
        // `at` is a DynamoDB reserved word, hence the name placeholder.
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(OPEN_INDEX)
            .expression_attribute_values(":t", AttributeValue::S(tenant_id.to_owned()))
            .scan_index_forward(false)
            .limit(limit);
        let query = match since {
            Some(since) => query
                .key_condition_expression("open_tenant = :t AND #at >= :since")
                .expression_attribute_names("#at", "at")
                .expression_attribute_values(":since", AttributeValue::S(crate::rfc3339(since))),
            None => query.key_condition_expression("open_tenant = :t"),
        };
        super::query_items(query, usize::try_from(limit).unwrap_or(0))
            .await?
            .iter()
            .map(decode)
            .collect()
    }

    /// Every tenant with open items: how many, and when the oldest was opened. One scan of the
    /// sparse open index (only open items are in it), reading two attributes.
    pub async fn open_summary(&self) -> Result<Vec<OpenSummary>, StoreError> {
        let items = super::scan_items(
            self.client
                .scan()
                .table_name(&self.table)
                .index_name(OPEN_INDEX)
                .projection_expression("open_tenant, #at")
                .expression_attribute_names("#at", "at"),
        )
        .await?;
        let mut by_tenant: std::collections::BTreeMap<String, OpenSummary> = Default::default();
        for item in items {
            let (Some(tenant), Some(at)) = (
                item.get("open_tenant").and_then(|v| v.as_s().ok()),
                item.get("at").and_then(|v| v.as_s().ok()).and_then(|t| {
                    OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
                }),
            ) else {
                continue;
            };
            let summary = by_tenant
                .entry(tenant.clone())
                .or_insert_with(|| OpenSummary {
                    tenant_id: tenant.clone(),
                    open: 0,
                    oldest: at,
                });
            summary.open += 1;
            summary.oldest = summary.oldest.min(at);
        }
        Ok(by_tenant.into_values().collect())
    }

    /// Takes an entry out of the open index (it stays in its trail) and notes who closed it.
    /// Returns false when it was not open, e.g. closed meanwhile by someone else.
    pub async fn close(&self, logged: &Logged, closed_by: &str) -> Result<bool, StoreError> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(logged.correlation_id.clone()))
            .key("sk", AttributeValue::S(logged.sk.clone()))
            // Its retention runs from now.
            .update_expression(
                "REMOVE open_tenant SET closed_at = :at, closed_by = :by, \
                 expires_at = :now + if_not_exists(retention_seconds, :default)",
            )
            // Conditional, so two operators settling the same item find out, and an unknown
            // key is not created as an empty item.
            .condition_expression("attribute_exists(open_tenant)")
            .expression_attribute_values(
                ":at",
                AttributeValue::S(crate::rfc3339(OffsetDateTime::now_utc())),
            )
            .expression_attribute_values(":by", AttributeValue::S(closed_by.to_owned()))
            .expression_attribute_values(
                ":now",
                AttributeValue::N(OffsetDateTime::now_utc().unix_timestamp().to_string()),
            )
            .expression_attribute_values(
                ":default",
                AttributeValue::N((i64::from(DEFAULT_RETENTION_DAYS) * 86_400).to_string()),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(aws_error("DynamoDB", "UpdateItem", e)),
        }
    }
}

fn decode(item: &HashMap<String, AttributeValue>) -> Result<Logged, StoreError> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
    let corrupt = |reason: String| StoreError::Corrupt {
        what: "sync log entry",
        reason,
    };
    let json = text("entry").ok_or_else(|| corrupt("no entry attribute".into()))?;
    let mut entry: SyncLogEntry = serde_json::from_str(json).map_err(|e| corrupt(e.to_string()))?;
    entry.payload = text("payload").cloned();
    let closed_at = text("closed_at")
        .map(|t| OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339))
        .transpose()
        .map_err(|e| corrupt(format!("closed_at: {e}")))?;
    Ok(Logged {
        sk: text("sk")
            .cloned()
            .ok_or_else(|| corrupt("no sk attribute".into()))?,
        entry,
        open: item.contains_key("open_tenant"),
        closed_at,
        closed_by: text("closed_by").cloned(),
    })
}

/// Appends entries with each tenant's retention, looked up (and cached) from the tenants table.
#[derive(Debug)]
pub struct SyncLogWriter {
    table: SyncLogTable,
    tenants: super::tenants::TenantTable,
    retention: super::tenants::TtlCache<u32>,
}

/// Retention for entries of a tenant the table no longer knows.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;

impl SyncLogWriter {
    pub fn new(table: SyncLogTable, tenants: super::tenants::TenantTable) -> Self {
        Self {
            table,
            tenants,
            retention: super::tenants::TtlCache::new(std::time::Duration::from_secs(300)),
        }
    }

    pub fn table(&self) -> &SyncLogTable {
        &self.table
    }

    pub async fn record(&self, entry: &SyncLogEntry) -> Result<(), StoreError> {
        let days = self.retention_days(&entry.tenant_id).await?;
        self.table.append(entry, days).await
    }

    /// Stores one payload document with the tenant's retention; returns its reference.
    pub async fn store_payload(
        &self,
        tenant_id: &str,
        document: Vec<u8>,
    ) -> Result<String, StoreError> {
        let days = self.retention_days(tenant_id).await?;
        self.table.put_payload(tenant_id, document, days).await
    }

    /// Packs what an org handle recorded under the tenant's payload policy and stores it;
    /// the reference goes on the step's entries. None when nothing is kept. A failure is
    /// logged, not returned: the audit copy must not fail the step it describes.
    pub async fn keep_exchanges(
        &self,
        tenant_id: &str,
        policy: &crate::synclog::payload::PayloadPolicy,
        exchanges: &crate::salesforce::Exchanges,
        personal: &crate::synclog::payload::Personal<'_>,
    ) -> Option<String> {
        let document = crate::synclog::payload::pack(&exchanges.snapshot(), policy, personal)?;
        match self.store_payload(tenant_id, document).await {
            Ok(reference) => Some(reference),
            Err(e) => {
                tracing::warn!(error = %e, "payload document not stored");
                None
            }
        }
    }

    async fn retention_days(&self, tenant_id: &str) -> Result<u32, StoreError> {
        if let Some(days) = self.retention.get(tenant_id) {
            return Ok(days);
        }
        let days = self
            .tenants
            .get(tenant_id)
            .await?
            .map_or(DEFAULT_RETENTION_DAYS, |t| t.retention_days);
        self.retention.put(tenant_id, days);
        Ok(days)
    }
}
