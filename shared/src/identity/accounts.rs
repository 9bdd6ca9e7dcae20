//! A platform company as a Salesforce Account: found by the tenant's company key, created when
//! the tenant wants it, never guessed. Pure: the resolver sends [`query`], decides with
//! [`decide`] and creates with [`create_fields`].
//!
//! The key, in order: the platform's company id in `identity.account_id_field` (an External ID
//! field), else the website's domain (Account.Website, normalised), else the exact name
//! (ignoring case and surrounding space). Several Accounts at one step give none, with a note.

use super::Keys;
use super::lookup::{self, AccountCandidate};
use crate::event::Company;
use crate::salesforce::SalesforceError;
use crate::salesforce::soql::{check_identifier, soql_string};
use crate::tenant::IdentityPolicy;
use serde_json::{Map, Value};

/// Most Accounts read for one decision: more means the company is too common to decide on.
const MAX_CANDIDATES: usize = 10;

/// Salesforce's Account.Name length.
const NAME_MAX: usize = 255;

/// What identifies a company for the lookup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompanyKeys {
    /// The platform's id, matched in `account_id_field`.
    pub platform_id: Option<String>,
    pub domain: Option<String>,
    pub name: Option<String>,
    /// The website as the platform has it, for a created Account.
    pub website: Option<String>,
}

impl CompanyKeys {
    pub fn of(company: &Company) -> Self {
        let clean = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Self {
            platform_id: clean(&company.id),
            domain: company
                .website
                .as_deref()
                .and_then(super::normalize::domain),
            name: clean(&company.name),
            website: clean(&company.website),
        }
    }

    fn is_empty(&self, policy: &IdentityPolicy) -> bool {
        (self.platform_id.is_none() || policy.account_id_field.is_none())
            && self.domain.is_none()
            && self.name.is_none()
    }
}

/// The one query that finds the candidates (None: nothing to find the company by).
pub fn query(
    keys: &CompanyKeys,
    policy: &IdentityPolicy,
) -> Result<Option<String>, SalesforceError> {
    if keys.is_empty(policy) {
        return Ok(None);
    }
    let mut select = vec!["Id", "Name", "Website"];
    let mut clauses = Vec::new();
    if let (Some(field), Some(id)) = (&policy.account_id_field, &keys.platform_id) {
        check_identifier(field)?;
        select.push(field.as_str());
        clauses.push(format!("{field} = {}", soql_string(id)?));
    }
    if let Some(domain) = &keys.domain {
        clauses.push(format!(
            "Website LIKE {}",
            lookup::contains_pattern(domain)?
        ));
    }
    if let Some(name) = &keys.name {
        clauses.push(format!("Name = {}", soql_string(name)?));
    }
    Ok(Some(format!(
        "SELECT {} FROM Account WHERE {} ORDER BY Id LIMIT {MAX_CANDIDATES}",
        select.join(", "),
        clauses.join(" OR ")
    )))
}

/// The company's Account among the query's records, and a note when there is none.
pub fn decide(
    keys: &CompanyKeys,
    records: &[Value],
    policy: &IdentityPolicy,
) -> (Option<String>, Option<String>) {
    if records.len() >= MAX_CANDIDATES {
        return (
            None,
            Some(format!(
                "account: {MAX_CANDIDATES} or more Accounts match the company; none is chosen"
            )),
        );
    }
    if let (Some(field), Some(id)) = (&policy.account_id_field, &keys.platform_id) {
        let by_id: Vec<&str> = records
            .iter()
            .filter(|r| r.get(field).and_then(Value::as_str).map(str::trim) == Some(id.as_str()))
            .filter_map(|r| r.get("Id").and_then(Value::as_str))
            .collect();
        match by_id.as_slice() {
            [] => {}
            [one] => return (Some((*one).to_owned()), None),
            several => {
                return (
                    None,
                    Some(format!(
                        "account: {} Accounts hold company id {id} in {field} ({}); none is chosen",
                        several.len(),
                        several.join(", ")
                    )),
                );
            }
        }
    }
    let candidates: Vec<AccountCandidate> =
        records.iter().filter_map(lookup::parse_account).collect();
    let as_visitor = Keys {
        company: keys.name.clone(),
        company_domain: keys.domain.clone(),
        ..Keys::default()
    };
    lookup::decide_account(&as_visitor, &candidates)
}

/// The new Account's fields (Name, Website, the company id field), or None when the company
/// has no name (Account.Name is required, and a made-up name would be a guess).
pub fn create_fields(keys: &CompanyKeys, policy: &IdentityPolicy) -> Option<Map<String, Value>> {
    let name = keys.name.as_deref()?;
    let mut fields = Map::new();
    fields.insert(
        "Name".into(),
        Value::String(name.chars().take(NAME_MAX).collect()),
    );
    if let Some(website) = &keys.website {
        fields.insert("Website".into(), Value::String(website.clone()));
    }
    if let (Some(field), Some(id)) = (&policy.account_id_field, &keys.platform_id) {
        fields.insert(field.clone(), Value::String(id.clone()));
    }
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy() -> IdentityPolicy {
        IdentityPolicy {
            accounts: true,
            create_accounts: true,
            account_id_field: Some("Chat_Company_Id__c".into()),
            ..IdentityPolicy::default()
        }
    }

    fn blue_sun() -> CompanyKeys {
        CompanyKeys::of(&Company {
            id: Some("531ee472cce572a6ec000006".into()),
            name: Some("Blue Sun".into()),
            website: Some("https://www.bluesun.example/".into()),
            ..Company::default()
        })
    }

    #[test]
    fn the_query_asks_by_id_domain_and_name_at_once() {
        let q = query(&blue_sun(), &policy())
            .expect("valid")
            .expect("a query");
        assert_eq!(
            q,
            "SELECT Id, Name, Website, Chat_Company_Id__c FROM Account WHERE Chat_Company_Id__c = '531ee472cce572a6ec000006' OR Website LIKE '%bluesun.example%' OR Name = 'Blue Sun' ORDER BY Id LIMIT 10"
        );
        // Without the id field, the id is not a key.
        let plain = IdentityPolicy {
            account_id_field: None,
            ..policy()
        };
        let only_id = CompanyKeys {
            platform_id: Some("c1".into()),
            ..CompanyKeys::default()
        };
        assert_eq!(query(&only_id, &plain).expect("valid"), None);
    }

    #[test]
    fn the_id_wins_then_the_domain_then_the_name_never_a_guess() {
        let records = [
            json!({"Id": "001A", "Name": "Blue Sun", "Website": "bluesun.example"}),
            json!({"Id": "001B", "Name": "Blue Sun Corp", "Chat_Company_Id__c": "531ee472cce572a6ec000006"}),
        ];
        assert_eq!(
            decide(&blue_sun(), &records, &policy()).0.as_deref(),
            Some("001B")
        );
        assert_eq!(
            decide(&blue_sun(), &records[..1], &policy()).0.as_deref(),
            Some("001A")
        );
        let twins = [
            json!({"Id": "001A", "Name": "Blue Sun"}),
            json!({"Id": "001C", "Name": "blue sun "}),
        ];
        let named = CompanyKeys {
            name: Some("Blue Sun".into()),
            ..CompanyKeys::default()
        };
        let (account, note) = decide(&named, &twins, &policy());
        assert_eq!(account, None);
        assert!(note.expect("a note").contains("2 Accounts"));
        let (account, note) = decide(&named, &[], &policy());
        assert_eq!(account, None);
        assert!(note.is_some());
    }

    #[test]
    fn a_created_account_carries_name_website_and_id_and_needs_a_name() {
        assert_eq!(
            Value::Object(create_fields(&blue_sun(), &policy()).expect("fields")),
            json!({"Name": "Blue Sun", "Website": "https://www.bluesun.example/",
                   "Chat_Company_Id__c": "531ee472cce572a6ec000006"})
        );
        let nameless = CompanyKeys {
            name: None,
            ..blue_sun()
        };
        assert_eq!(create_fields(&nameless, &policy()), None);
    }
}
