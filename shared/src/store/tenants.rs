//! The tenants table: non-secret tenant config, cached briefly in the warm function.

use super::{StoreError, aws_error};
use crate::tenant::TenantConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct TenantTable {
    client: Client,
    table: String,
}

impl TenantTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub async fn get(&self, tenant_id: &str) -> Result<Option<TenantConfig>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("tenant_id", AttributeValue::S(tenant_id.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws_error("DynamoDB", "GetItem", e))?;
        out.item.map(|item| decode(&item)).transpose()
    }

    /// When the tenant was last saved; None for an unknown tenant or one saved before the time
    /// was recorded.
    pub async fn updated_at(
        &self,
        tenant_id: &str,
    ) -> Result<Option<time::OffsetDateTime>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("tenant_id", AttributeValue::S(tenant_id.to_owned()))
            .projection_expression("updated_at")
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws_error("DynamoDB", "GetItem", e))?;
        Ok(out
            .item
            .and_then(|item| item.get("updated_at").and_then(|v| v.as_s().ok()).cloned())
            .and_then(|t| {
                time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339).ok()
            }))
    }

    pub async fn put(&self, config: &TenantConfig) -> Result<(), StoreError> {
        let json = serde_json::to_string(config).map_err(|e| StoreError::Corrupt {
            what: "tenant config",
            reason: e.to_string(),
        })?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("tenant_id", AttributeValue::S(config.tenant_id.clone()))
            .item("config", AttributeValue::S(json))
            .item(
                "updated_at",
                AttributeValue::S(crate::rfc3339(time::OffsetDateTime::now_utc())),
            )
            .send()
            .await
            .map_err(|e| aws_error("DynamoDB", "PutItem", e))?;
        Ok(())
    }

    pub async fn list(&self) -> Result<Vec<TenantConfig>, StoreError> {
        let scan = self.client.scan().table_name(&self.table);
        let mut out = super::scan_items(scan)
            .await?
            .iter()
            .map(decode)
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| a.tenant_id.cmp(&b.tenant_id));
        Ok(out)
    }
}

fn decode(item: &HashMap<String, AttributeValue>) -> Result<TenantConfig, StoreError> {
    let json = item
        .get("config")
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| StoreError::Corrupt {
            what: "tenant config",
            reason: "no config attribute".into(),
        })?;
    let mut config: TenantConfig = serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
        what: "tenant config",
        reason: e.to_string(),
    })?;
    config.apply_automation();
    Ok(config)
}

/// Stores a tenant file: its config in the tenants table, its secrets in the tenant's secret.
/// The secret is written first, so a tenant never appears without the means to verify.
pub async fn put_tenant(
    file: &crate::tenant::TenantFile,
    tenants: &TenantTable,
    secrets: &super::secrets::TenantSecretStore,
) -> Result<(), StoreError> {
    secrets.put(&file.config.tenant_id, &file.secrets).await?;
    tenants.put(&file.config).await
}

/// How long the functions keep a tenant's config before reading it again: a saved change
/// reaches every warm function within this time.
pub const TENANT_CACHE_TTL: Duration = Duration::from_secs(60);

/// A small time-bounded cache in front of a loader, for config read on every invocation.
#[derive(Debug)]
pub struct TtlCache<V> {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, V)>>,
}

impl<V: Clone> TtlCache<V> {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, key: &str) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    pub fn put(&self, key: &str, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.insert(key.to_owned(), (Instant::now(), value));
    }
}

/// Tenant configs read through a short cache, as the queue consumers use them (config changes
/// rarely; a read per message would cost more than it tells).
pub struct CachedTenants {
    table: TenantTable,
    cache: TtlCache<std::sync::Arc<crate::tenant::TenantConfig>>,
}

impl CachedTenants {
    pub fn new(table: TenantTable, ttl: Duration) -> Self {
        Self {
            table,
            cache: TtlCache::new(ttl),
        }
    }

    /// The tenant's config, or None for an unknown tenant.
    pub async fn get(
        &self,
        tenant_id: &str,
    ) -> Result<Option<std::sync::Arc<crate::tenant::TenantConfig>>, StoreError> {
        if let Some(t) = self.cache.get(tenant_id) {
            return Ok(Some(t));
        }
        let Some(config) = self.table.get(tenant_id).await? else {
            return Ok(None);
        };
        let config = std::sync::Arc::new(config);
        self.cache.put(tenant_id, config.clone());
        Ok(Some(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_values_expire() {
        let cache = TtlCache::new(Duration::ZERO);
        cache.put("a", 1);
        assert_eq!(cache.get("a"), None);
        let cache = TtlCache::new(Duration::from_secs(60));
        cache.put("a", 1);
        assert_eq!(cache.get("a"), Some(1));
        assert_eq!(cache.get("b"), None);
    }
}
