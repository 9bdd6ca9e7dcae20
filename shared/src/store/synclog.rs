//! The sync log table: pk = correlation id, sk = time#step#nonce; the sparse `open-by-tenant`
//! index lists open errors and review items per tenant, newest first.

use super::{StoreError, aws_error};
use crate::synclog::SyncLogEntry;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

pub const OPEN_INDEX: &str = "open-by-tenant";

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
        let expires = entry.at.unix_timestamp() + i64::from(retention_days) * 86_400;
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(entry.correlation_id.clone()))
            .item("sk", AttributeValue::S(sk))
            .item("at", AttributeValue::S(at))
            .item("tenant_id", AttributeValue::S(entry.tenant_id.clone()))
            .item("entry", AttributeValue::S(json))
            .item("expires_at", AttributeValue::N(expires.to_string()));
        if let Some(payload) = payload {
            put = put.item("payload", AttributeValue::S(payload));
        }
        if entry.outcome.is_open() {
            put = put.item("open_tenant", AttributeValue::S(entry.tenant_id.clone()));
        }
        put.send()
            .await
            .map_err(|e| aws_error("DynamoDB", "PutItem", e))?;
        Ok(())
    }

    /// Every entry of one correlation id, oldest first.
    pub async fn trail(&self, correlation_id: &str) -> Result<Vec<SyncLogEntry>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :c")
                .expression_attribute_values(":c", AttributeValue::S(correlation_id.to_owned()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| aws_error("DynamoDB", "Query", e))?;
            for item in page.items() {
                out.push(decode(item)?);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(out)
    }

    /// Open errors and review items of a tenant, newest first.
    pub async fn open(&self, tenant_id: &str, limit: i32) -> Result<Vec<SyncLogEntry>, StoreError> {
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(OPEN_INDEX)
            .key_condition_expression("open_tenant = :t")
            .expression_attribute_values(":t", AttributeValue::S(tenant_id.to_owned()))
            .scan_index_forward(false)
            .limit(limit)
            .send()
            .await
            .map_err(|e| aws_error("DynamoDB", "Query", e))?;
        page.items().iter().map(decode).collect()
    }
}

fn decode(
    item: &std::collections::HashMap<String, AttributeValue>,
) -> Result<SyncLogEntry, StoreError> {
    let json = item
        .get("entry")
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| StoreError::Corrupt {
            what: "sync log entry",
            reason: "no entry attribute".into(),
        })?;
    let mut entry: SyncLogEntry = serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
        what: "sync log entry",
        reason: e.to_string(),
    })?;
    entry.payload = item.get("payload").and_then(|v| v.as_s().ok()).cloned();
    Ok(entry)
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
        let days = match self.retention.get(&entry.tenant_id) {
            Some(days) => days,
            None => {
                let days = self
                    .tenants
                    .get(&entry.tenant_id)
                    .await?
                    .map_or(DEFAULT_RETENTION_DAYS, |t| t.retention_days);
                self.retention.put(&entry.tenant_id, days);
                days
            }
        };
        self.table.append(entry, days).await
    }
}
