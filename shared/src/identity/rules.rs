//! The rule chain: the tenant's match order over the candidates Salesforce returned,
//! deterministic and explained. (Skeleton: to be completed.)

use super::Keys;
use crate::tenant::{IdentityPolicy, MatchKey};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

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

/// A Contact or Lead as the lookup found it (raw field values, compared after normalising).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub kind: PersonKind,
    pub id: String,
    pub email: Option<String>,
    /// Phone, MobilePhone (free text in Salesforce).
    pub phones: Vec<String>,
    /// The tenant's external id field, when it has one.
    pub external_id: Option<String>,
    /// The tenant's visitor id field, when it has one.
    pub visitor_id: Option<String>,
    /// Leads only.
    pub is_converted: bool,
    pub converted_contact_id: Option<String>,
    pub converted_account_id: Option<String>,
    pub account_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub last_modified: OffsetDateTime,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Matched {
        person: Person,
        rule: MatchKey,
        trace: Trace,
    },
    /// Several people match and the tenant wants an operator to choose.
    Ambiguous {
        rule: MatchKey,
        candidates: Vec<Person>,
        trace: Trace,
    },
    NoMatch {
        trace: Trace,
    },
}

/// Applies the tenant's rule chain to the candidates.
pub fn decide(keys: &Keys, candidates: &[Candidate], policy: &IdentityPolicy) -> Decision {
    let _ = (keys, candidates, policy);
    Decision::NoMatch {
        trace: Trace::default(),
    }
}
