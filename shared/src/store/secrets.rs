//! Tenant secrets in Secrets Manager, two per tenant, so each function can read only what it
//! uses (IAM scopes each role to one of the two name patterns):
//! - `{prefix}{tenant_id}/webhooks`: the platforms' signing secrets and tokens. The intake
//!   reads it; nothing else does.
//! - `{prefix}{tenant_id}/salesforce`: how chatsync signs in to the org, and the platforms'
//!   API tokens. The resolver and the writer read it; only a refresh-token rotation writes it.
//!
//! Stacks from before the split kept one secret, `{prefix}{tenant_id}`; `chatsync tenant
//! split-secrets` copies it into the two. Values never reach a log line (`Secret` masks itself).

use super::{StoreError, aws_error};
use crate::tenant::TenantSecrets;
use aws_sdk_secretsmanager::Client;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct TenantSecretStore {
    client: Client,
    prefix: String,
}

/// Which of a tenant's two secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Webhooks,
    Salesforce,
}

impl Part {
    fn suffix(self) -> &'static str {
        match self {
            Part::Webhooks => "webhooks",
            Part::Salesforce => "salesforce",
        }
    }

    /// The part of `secrets` this secret holds, as stored.
    fn document(self, secrets: &TenantSecrets) -> Result<Value, serde_json::Error> {
        Ok(match self {
            Part::Webhooks => json!({ "webhooks": serde_json::to_value(&secrets.webhooks)? }),
            Part::Salesforce => json!({
                "salesforce": serde_json::to_value(&secrets.salesforce)?,
                "platform_api": serde_json::to_value(&secrets.platform_api)?,
            }),
        })
    }
}

impl TenantSecretStore {
    pub fn new(client: Client, prefix: impl Into<String>) -> Self {
        Self {
            client,
            prefix: prefix.into(),
        }
    }

    /// The name of one of the tenant's secrets.
    pub fn secret_name(&self, tenant_id: &str, part: Part) -> String {
        format!("{}{}/{}", self.prefix, tenant_id, part.suffix())
    }

    /// The one secret of a stack from before the split.
    pub fn legacy_secret_name(&self, tenant_id: &str) -> String {
        format!("{}{}", self.prefix, tenant_id)
    }

    /// What the intake needs: the webhook secrets (the rest left empty).
    pub async fn webhooks(&self, tenant_id: &str) -> Result<Option<TenantSecrets>, StoreError> {
        self.read(&self.secret_name(tenant_id, Part::Webhooks))
            .await
    }

    /// What the resolver and writer need: the Salesforce credentials and the platforms' API
    /// tokens (the webhook secrets left empty).
    pub async fn salesforce(&self, tenant_id: &str) -> Result<Option<TenantSecrets>, StoreError> {
        self.read(&self.secret_name(tenant_id, Part::Salesforce))
            .await
    }

    /// Both parts (the operator's view); None when the tenant has neither.
    pub async fn get(&self, tenant_id: &str) -> Result<Option<TenantSecrets>, StoreError> {
        let webhooks = self.webhooks(tenant_id).await?;
        let salesforce = self.salesforce(tenant_id).await?;
        if webhooks.is_none() && salesforce.is_none() {
            return Ok(None);
        }
        let salesforce = salesforce.unwrap_or_default();
        Ok(Some(TenantSecrets {
            webhooks: webhooks.unwrap_or_default().webhooks,
            salesforce: salesforce.salesforce,
            platform_api: salesforce.platform_api,
        }))
    }

    /// Stores both parts (each created, or given a new version).
    pub async fn put(&self, tenant_id: &str, secrets: &TenantSecrets) -> Result<(), StoreError> {
        self.put_part(tenant_id, secrets, Part::Webhooks).await?;
        self.put_part(tenant_id, secrets, Part::Salesforce).await
    }

    /// Copies a pre-split secret into the two; false when the tenant has none. The old secret
    /// is left for the operator to delete once the new ones are in use.
    pub async fn split_legacy(&self, tenant_id: &str) -> Result<bool, StoreError> {
        match self.read(&self.legacy_secret_name(tenant_id)).await? {
            Some(secrets) => {
                self.put(tenant_id, &secrets).await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Stores one part of `secrets`.
    pub async fn put_part(
        &self,
        tenant_id: &str,
        secrets: &TenantSecrets,
        part: Part,
    ) -> Result<(), StoreError> {
        let text =
            part.document(secrets)
                .map(|v| v.to_string())
                .map_err(|e| StoreError::Corrupt {
                    what: "tenant secret",
                    reason: e.to_string(),
                })?;
        let name = self.secret_name(tenant_id, part);
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
                        "chatsync tenant {tenant_id}: {} secrets",
                        part.suffix()
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

    async fn read(&self, name: &str) -> Result<Option<TenantSecrets>, StoreError> {
        let result = self.client.get_secret_value().secret_id(name).send().await;
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
                reason: shape_error(&e),
            })
    }
}

/// Why a secret does not parse, without its text: serde's own message quotes the offending
/// value ("invalid type: string \"hunter2\"…", "unknown variant `…`").
pub(crate) fn shape_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Syntax | Category::Eof => "is not valid JSON",
        Category::Data => "has a missing, unknown or mistyped field",
        Category::Io => "could not be read",
    };
    format!(
        "{what} (line {}, column {}; the value is not shown)",
        e.line(),
        e.column()
    )
}

/// The refresh token inside a Salesforce secret, if it uses that flow.
fn refresh_token_of(secrets: &TenantSecrets) -> Option<&crate::secret::Secret> {
    match secrets.salesforce.as_ref() {
        Some(crate::salesforce::SalesforceCredentials::RefreshToken { refresh_token, .. }) => {
            Some(refresh_token)
        }
        _ => None,
    }
}

/// Writes a rotated Salesforce refresh token back into the tenant's Salesforce secret, so the
/// next cold start (or another function) uses it; the client calls this before using the new
/// session. Several warm functions share the secret: the write happens only while the secret
/// still holds the token that was rotated (read, compare, write; the window between is a few
/// milliseconds, and a function refused a token re-reads this secret before giving up).
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
        self.persist_rotated_token(tenant_id, None, refresh_token)
    }

    fn persist_rotated_token<'a>(
        &'a self,
        tenant_id: &'a str,
        replaced: Option<&'a crate::secret::Secret>,
        new: &'a crate::secret::Secret,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<(), crate::salesforce::TokenSinkError>>
                + Send
                + 'a,
        >,
    > {
        Box::pin(async move {
            let mut secrets = self
                .salesforce(tenant_id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("tenant {tenant_id} has no Salesforce secret"))?;
            let stored = refresh_token_of(&secrets)
                .ok_or_else(|| format!("tenant {tenant_id} does not use the refresh-token flow"))?;
            if replaced.is_some_and(|r| r != stored) {
                // Someone stored another token since this one was rotated from `replaced`: a
                // later rotation, or an admin's new token. Theirs stays.
                tracing::info!(
                    tenant_id,
                    "a newer refresh token is stored; not overwritten"
                );
                return Ok(());
            }
            if let Some(crate::salesforce::SalesforceCredentials::RefreshToken {
                refresh_token,
                ..
            }) = secrets.salesforce.as_mut()
            {
                *refresh_token = new.clone();
            }
            self.put_part(tenant_id, &secrets, Part::Salesforce)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn stored_refresh_token<'a>(
        &'a self,
        tenant_id: &'a str,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = Result<
                        Option<crate::secret::Secret>,
                        crate::salesforce::TokenSinkError,
                    >,
                > + Send
                + 'a,
        >,
    > {
        Box::pin(async move {
            let secrets = self
                .salesforce(tenant_id)
                .await
                .map_err(|e| e.to_string())?;
            Ok(secrets.as_ref().and_then(refresh_token_of).cloned())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mis_shaped_secret_is_described_without_its_values() {
        let text = r#"{"webhooks": {"intercom": {"client_secret": 12345}}, "salesforce": {"flow": "hunter2-flow", "refresh_token": "hunter2"}}"#;
        let e = serde_json::from_str::<TenantSecrets>(text).unwrap_err();
        let reason = shape_error(&e);
        assert!(
            !reason.contains("hunter2") && !reason.contains("12345"),
            "{reason}"
        );
        assert!(reason.contains("field"), "{reason}");
        let e = serde_json::from_str::<TenantSecrets>(r#"{"webhooks": "s3cr3t"#).unwrap_err();
        let reason = shape_error(&e);
        assert!(!reason.contains("s3cr3t"), "{reason}");
    }
}
