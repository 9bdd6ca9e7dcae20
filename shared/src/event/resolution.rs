//! What the resolver decided for an event's visitor, carried on write.fifo and in the sync log:
//! the Salesforce person, the rule that matched and the trace of the rule chain. Part of the
//! wire model, so the queue's message depends on nothing else.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKey {
    ExternalId,
    Email,
    Phone,
    VisitorId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PersonKind {
    Contact,
    Lead,
}

impl PersonKind {
    pub fn sobject(self) -> &'static str {
        match self {
            PersonKind::Contact => "Contact",
            PersonKind::Lead => "Lead",
        }
    }
}

/// The Salesforce person an event is attached to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub kind: PersonKind,
    pub id: String,
    pub account_id: Option<String>,
}

/// One rule of the chain as it was tried: which candidates it matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleTried {
    pub rule: MatchKey,
    /// Candidate ids the rule matched, in the order considered.
    pub matched: Vec<String>,
    /// Why the rule was skipped or how it was settled, in plain words.
    pub note: String,
}

/// Why the decision is what it is: every rule tried and every candidate seen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    pub candidates_seen: Vec<String>,
    pub rules: Vec<RuleTried>,
}

impl Trace {
    /// One line for the sync log: the candidates seen and what each rule did.
    pub fn summary(&self) -> String {
        let rules: Vec<String> = self
            .rules
            .iter()
            .map(|r| {
                let rule = serde_json::to_value(r.rule)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                if r.matched.is_empty() {
                    format!("{rule}: {}", r.note)
                } else {
                    format!("{rule}: {} ({})", r.matched.join(", "), r.note)
                }
            })
            .collect();
        format!(
            "candidates [{}]; {}",
            self.candidates_seen.join(", "),
            rules.join("; ")
        )
    }
}

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
