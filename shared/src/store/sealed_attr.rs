//! A stored text attribute that is sealed (see `crate::seal`) when the store has a sealer:
//! written under its sealed name, read from either name, so items stored in clear before
//! sealing was turned on are still read.

use super::StoreError;
use crate::seal::Sealer;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// An attribute's plain and sealed names (`"state"`, `"sealed_state"`).
#[derive(Debug, Clone, Copy)]
pub struct Names {
    pub plain: &'static str,
    pub sealed: &'static str,
}

/// The attribute to write for `text`: sealed for `tenant` and bound to `context` (the item it
/// belongs to) when there is a sealer, else in clear.
pub async fn seal(
    sealer: Option<&Sealer>,
    tenant: &str,
    context: &str,
    text: String,
    names: Names,
) -> Result<(&'static str, AttributeValue), StoreError> {
    Ok(match sealer {
        Some(sealer) => (
            names.sealed,
            AttributeValue::S(sealer.seal_text(tenant, context, &text).await?),
        ),
        None => (names.plain, AttributeValue::S(text)),
    })
}

/// The attribute's text, opened from its sealed name or read from its plain one.
pub async fn open(
    sealer: Option<&Sealer>,
    tenant: &str,
    context: &str,
    item: &HashMap<String, AttributeValue>,
    names: Names,
) -> Result<Option<String>, StoreError> {
    if let Some(stored) = item.get(names.sealed).and_then(|v| v.as_s().ok()) {
        let sealer = sealer.ok_or_else(|| StoreError::Corrupt {
            what: "sealed attribute",
            reason: format!("{} but no key to open it with", names.sealed),
        })?;
        return sealer.open_text(tenant, context, stored).await.map(Some);
    }
    Ok(item.get(names.plain).and_then(|v| v.as_s().ok()).cloned())
}
