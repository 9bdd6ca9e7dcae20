//! The identity corpus file (tests/identity/corpus.toml): its types and loader, shared by the
//! pure run (shared/tests/it/identity_corpus.rs) and the run against the Salesforce emulator
//! (tests/tests/it/identity_corpus.rs). The file's own header documents the format.

#![allow(dead_code)]

use serde::Deserialize;
use shared::event::Visitor;
use shared::identity::rules::{Candidate, PersonKind};
use shared::tenant::{IdentityPolicy, MatchKey};
use std::collections::BTreeMap;
use std::path::PathBuf;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// LastModifiedDate of a record that gives none.
pub(crate) const DEFAULT_LAST_MODIFIED: &str = "2024-01-01T00:00:00Z";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Corpus {
    #[serde(rename = "case")]
    pub cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Case {
    pub name: String,
    #[serde(default)]
    pub note: Option<String>,
    /// Overrides of the default `IdentityPolicy` (snake_case keys of `[identity]`).
    #[serde(default)]
    pub policy: Option<IdentityPolicy>,
    pub visitor: CorpusVisitor,
    /// A record's label, "none", or "ambiguous" (then `among` lists the labels).
    pub expect: String,
    #[serde(default)]
    pub among: Vec<String>,
    /// The rule expected to decide (match or ambiguous).
    #[serde(default)]
    pub rule: Option<MatchKey>,
    /// Lead.Company expected when a sales tenant creates a Lead for this visitor.
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub records: Vec<Record>,
}

/// The identity fields of `shared::event::Visitor`, as a chat platform sends them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CorpusVisitor {
    pub contact_id: Option<String>,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub visitor_id: Option<String>,
    pub company_name: Option<String>,
    pub company_domain: Option<String>,
    /// The visitor's country as the platform sends it (respond.io's `countryCode` attribute).
    pub country: Option<String>,
}

impl CorpusVisitor {
    pub(crate) fn to_visitor(&self) -> Visitor {
        Visitor {
            contact_id: self.contact_id.clone(),
            external_id: self.external_id.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            name: self.name.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            visitor_id: self.visitor_id.clone(),
            company_name: self.company_name.clone(),
            company_domain: self.company_domain.clone(),
            custom_attributes: self
                .country
                .iter()
                .map(|c| ("countryCode".to_owned(), serde_json::json!(c)))
                .collect(),
            ..Visitor::default()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(crate) enum SObject {
    Contact,
    Lead,
}

/// A Contact or Lead with Salesforce API field names and raw values. Custom fields (`…__c`)
/// are collected in `custom`; any other unknown key is an error.
#[derive(Debug, Deserialize)]
#[allow(non_snake_case)]
pub(crate) struct Record {
    pub label: String,
    pub sobject: SObject,
    #[serde(default)]
    pub FirstName: Option<String>,
    #[serde(default)]
    pub LastName: Option<String>,
    #[serde(default)]
    pub Email: Option<String>,
    #[serde(default)]
    pub Phone: Option<String>,
    #[serde(default)]
    pub MobilePhone: Option<String>,
    #[serde(default)]
    pub Company: Option<String>,
    #[serde(default)]
    pub IsConverted: bool,
    /// Label of the Contact the Lead was converted to.
    #[serde(default)]
    pub ConvertedContactId: Option<String>,
    /// Label of the Account the Lead was converted to (no Account records in the corpus).
    #[serde(default)]
    pub ConvertedAccountId: Option<String>,
    #[serde(default)]
    pub AccountId: Option<String>,
    #[serde(default)]
    pub LastModifiedDate: Option<String>,
    #[serde(flatten)]
    pub custom: BTreeMap<String, String>,
}

impl Record {
    /// The candidate the lookup would return; the label stands for the Id.
    pub(crate) fn candidate(&self, policy: &IdentityPolicy) -> Result<Candidate, String> {
        let custom = |field: &Option<String>| {
            field
                .as_ref()
                .and_then(|f| self.custom.get(f))
                .map(String::to_owned)
        };
        let stamp = self
            .LastModifiedDate
            .as_deref()
            .unwrap_or(DEFAULT_LAST_MODIFIED);
        let last_modified = OffsetDateTime::parse(stamp, &Rfc3339)
            .map_err(|e| format!("{}: LastModifiedDate {stamp:?}: {e}", self.label))?;
        Ok(Candidate {
            kind: match self.sobject {
                SObject::Contact => PersonKind::Contact,
                SObject::Lead => PersonKind::Lead,
            },
            id: self.label.clone(),
            email: self.Email.clone(),
            phones: [&self.Phone, &self.MobilePhone]
                .into_iter()
                .flatten()
                .cloned()
                .collect(),
            external_id: custom(&policy.external_id_field),
            visitor_id: custom(&policy.visitor_id_field),
            is_converted: self.IsConverted,
            converted_contact_id: self.ConvertedContactId.clone(),
            converted_account_id: self.ConvertedAccountId.clone(),
            account_id: self.AccountId.clone(),
            last_modified,
            stored: Default::default(),
        })
    }
}

pub(crate) fn corpus_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/identity/corpus.toml")
}

pub(crate) fn load() -> Corpus {
    let text = std::fs::read_to_string(corpus_path()).expect("the identity corpus is readable");
    toml::from_str(&text).expect("the identity corpus parses")
}
