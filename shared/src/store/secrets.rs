//! Tenant secrets in Secrets Manager, one secret per tenant named `{prefix}{tenant_id}`.
//! Values never reach a log line (`Secret` masks itself).

use super::{StoreError, aws_error};
use crate::tenant::TenantSecrets;
use aws_sdk_secretsmanager::Client;

#[derive(Debug, Clone)]
pub struct TenantSecretStore {
    client: Client,
    prefix: String,
}

impl TenantSecretStore {
    pub fn new(client: Client, prefix: impl Into<String>) -> Self {
        Self {
            client,
            prefix: prefix.into(),
        }
    }

    pub fn secret_name(&self, tenant_id: &str) -> String {
        format!("{}{}", self.prefix, tenant_id)
    }

    pub async fn get(&self, tenant_id: &str) -> Result<Option<TenantSecrets>, StoreError> {
        let result = self
            .client
            .get_secret_value()
            .secret_id(self.secret_name(tenant_id))
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(aws_error("SecretsManager", "GetSecretValue", e)),
        };
        let text = out.secret_string().ok_or_else(|| StoreError::Corrupt {
            what: "tenant secret",
            reason: "not a string secret".into(),
        })?;
        serde_json::from_str(text)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                what: "tenant secret",
                // serde's message names the field, never the value.
                reason: e.to_string(),
            })
    }

    /// Creates the tenant's secret or stores a new version of it.
    pub async fn put(&self, tenant_id: &str, secrets: &TenantSecrets) -> Result<(), StoreError> {
        let text = serde_json::to_string(secrets).map_err(|e| StoreError::Corrupt {
            what: "tenant secret",
            reason: e.to_string(),
        })?;
        let name = self.secret_name(tenant_id);
        let put = self
            .client
            .put_secret_value()
            .secret_id(&name)
            .secret_string(&text)
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                self.client
                    .create_secret()
                    .name(&name)
                    .description(format!(
                        "chatsync tenant {tenant_id}: Salesforce and webhook secrets"
                    ))
                    .secret_string(text)
                    .send()
                    .await
                    .map_err(|e| aws_error("SecretsManager", "CreateSecret", e))?;
                Ok(())
            }
            Err(e) => Err(aws_error("SecretsManager", "PutSecretValue", e)),
        }
    }
}

/// Writes a rotated Salesforce refresh token back into the tenant's secret, so the next cold
/// start (or another function) uses it; the client calls this before using the new session.
impl crate::salesforce::TokenSink for TenantSecretStore {
    fn persist_refresh_token<'a>(
        &'a self,
        tenant_id: &'a str,
        refresh_token: &'a crate::secret::Secret,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<(), crate::salesforce::TokenSinkError>>
                + Send
                + 'a,
        >,
    > {
        Box::pin(async move {
            let mut secrets = self
                .get(tenant_id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("tenant {tenant_id} has no secret"))?;
            match secrets.salesforce.as_mut() {
                Some(crate::salesforce::SalesforceCredentials::RefreshToken {
                    refresh_token: stored,
                    ..
                }) => *stored = refresh_token.clone(),
                _ => {
                    return Err(format!(
                        "tenant {tenant_id} does not use the refresh-token flow"
                    ));
                }
            }
            self.put(tenant_id, &secrets)
                .await
                .map_err(|e| e.to_string())
        })
    }
}
