//! What the resolver decided for an event's visitor: carried on write.fifo and in the sync log.

use super::rules::{Person, Trace};
use crate::tenant::MatchKey;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Found in the links table: no Salesforce call.
    Linked,
    /// Matched by a rule of the chain.
    Matched,
    /// Nobody matched; created per the tenant's policy.
    Created,
    /// Nobody matched and the tenant's policy creates nothing for this visitor.
    NotCreated,
    /// The event says nothing to identify its visitor by.
    Unidentified,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<Person>,
    /// The rule that matched (Matched) .
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<MatchKey>,
    /// Plain words for the sync log.
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<Trace>,
}
