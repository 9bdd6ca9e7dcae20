//! What to create when nothing matches. (Skeleton: to be completed.)

use super::Keys;
use super::rules::PersonKind;
use crate::tenant::{IdentityPolicy, Mode};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "plan", rename_all = "snake_case")]
pub enum CreatePlan {
    /// Create this record with these fields (only allowed fields, required ones filled).
    Create {
        kind: PersonKind,
        fields: serde_json::Map<String, serde_json::Value>,
    },
    /// Create nothing, and say why (tenant mode, missing e-mail or phone).
    Skip { reason: String },
}

/// The record to create for a visitor nobody matched; `owner_id` is the agent's active User
/// when known (else the integration user owns it).
pub fn plan(
    keys: &Keys,
    policy: &IdentityPolicy,
    mode: Mode,
    owner_id: Option<&str>,
) -> CreatePlan {
    let _ = (keys, policy, mode, owner_id);
    CreatePlan::Skip {
        reason: "not built yet".into(),
    }
}
