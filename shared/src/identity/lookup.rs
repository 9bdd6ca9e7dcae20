//! The Salesforce side of identity: find every Contact and Lead that could be the visitor in ONE
//! API call, and create the person the plan says to create in one more.
//!
//! # One call
//!
//! [`candidates`] sends one composite request (`POST /composite`, one API call however many
//! subrequests it holds) with two SOQL subrequests, one on Contact and one on Lead, each
//! `WHERE <clause> OR <clause> …` with one clause per key the visitor has, the tenant has a
//! field for and the tenant's rule chain uses:
//!
//! - `Email = '<normalised e-mail>'` (SOQL `=` on text is case-insensitive, so `Jane@X.io`
//!   stored is found by `jane@x.io`);
//! - `<external_id_field> = '<id>'`, `<visitor_id_field> = '<id>'`;
//! - `Phone LIKE '%5%5%5%1%2%1%1%2%1%2%'` and the same on `MobilePhone`: the national
//!   significant number's digits with a wildcard between each, so any formatting of the number
//!   stored as free text matches — `(555) 121-1212`, `+1 555 121 1212`, `555.121.1212`,
//!   `001-555-121-1212`, `555-121-1212 ext. 7`.
//!
//! Why not SOSL `FIND {5551211212} IN PHONE FIELDS`: Salesforce's composite resource accepts
//! `/sobjects`, `/query`, `/queryAll` and `/composite/sobjects` subrequests only, not `/search`,
//! so a SOSL search would be a second API call. The wildcard pattern finds what the SOSL search
//! would (and records the search index has not caught up with yet) inside the same call. Its
//! cost: a leading wildcard cannot use an index, so on very large orgs the query scans; and the
//! pattern is loose (the digits in order, anything between), so the candidates are a superset —
//! the rule chain ([`super::rules`]) compares them after normalising and drops the rest.
//!
//! Values are escaped with [`soql_string`]; field names are checked as identifiers. A visitor
//! with no usable key costs no call at all.
//!
//! # Owner and Account in the same call
//!
//! [`lookup`] adds up to two more subrequests to the same composite (still ONE API call):
//!
//! - `SELECT Id FROM User WHERE Email = '<agent e-mail>' AND IsActive = true LIMIT 2` when the
//!   event names an agent: exactly one active User becomes [`Lookup::owner_id`], else None (the
//!   integration user then owns what is created);
//! - `SELECT Id, Name, Website, LastModifiedDate FROM Account WHERE Website LIKE '%<domain>%'
//!   OR Name = '<company>' ORDER BY Id LIMIT 10` when the tenant wants Accounts
//!   (`policy.accounts`) and the visitor has a company domain or name: [`Lookup::account`] is
//!   decided by [`decide_account`] (exact normalised Website domain first, then exact name,
//!   never a guess between several).
//!
//! [`lookup_request_with`] builds that request: None (no call) only when there is nothing at all
//! to look up. When the visitor has no person key but an owner or Account is wanted, the request
//! holds only those subrequests (still one call): the answers then only serve the creation of
//! the new person (OwnerId, Contact.AccountId), since there are no candidates to match. The
//! owner and Account subrequests are best-effort: if one fails, its answer is None with a note,
//! and the candidates still count.

use super::Keys;
use super::create::CreatePlan;
use super::rules::{Candidate, Person, PersonKind, StoredFields};
use crate::salesforce::soql::{check_identifier, soql_string};
use crate::salesforce::{CompositeRequest, Org, QueryPage, SalesforceError, Soql, SubRequest};
use crate::tenant::{IdentityPolicy, MatchKey};
use serde_json::Value;
use std::collections::HashSet;

/// Most candidates read per object. A visitor's keys match a handful of people; reaching this
/// means the org is full of duplicates (logged), and the rule chain sees the first ones by Id.
pub const MAX_CANDIDATES_PER_OBJECT: u32 = 200;

/// A national number shorter than this is too unspecific for the wildcard pattern.
pub const MIN_PHONE_DIGITS: usize = 6;

const CONTACT_REF: &str = "contacts";
const LEAD_REF: &str = "leads";
const OWNER_REF: &str = "owner";
const ACCOUNT_REF: &str = "accounts";

/// Most Accounts read for the Account decision. Reaching it means the company is too common to
/// decide on (no Account is set, with a note).
pub const MAX_ACCOUNT_CANDIDATES: u32 = 10;

/// What one lookup call found: the person candidates, the owner for a new record and the
/// visitor's Account, with notes saying why an owner or Account was not decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lookup {
    /// Contacts first, then Leads, each by Id; no Id twice (as [`candidates`] returns them).
    pub candidates: Vec<Candidate>,
    /// The one active User with the agent's e-mail; None when there is no agent e-mail, no such
    /// active User, or several.
    pub owner_id: Option<String>,
    /// The visitor's Account as [`decide_account`] chose it; None when not looked up, not found
    /// or ambiguous.
    pub account: Option<String>,
    /// Why the owner or Account is None when something was looked up, and anything skipped.
    pub notes: Vec<String>,
}

/// An Account the Account subrequest returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountCandidate {
    pub id: String,
    pub name: Option<String>,
    pub website: Option<String>,
}

/// The fields read for every candidate, before the tenant's configured ones.
const CONTACT_FIELDS: &[&str] = &[
    "Id",
    "FirstName",
    "LastName",
    "Email",
    "Phone",
    "MobilePhone",
    "AccountId",
    "LastModifiedDate",
];
const LEAD_FIELDS: &[&str] = &[
    "Id",
    "FirstName",
    "LastName",
    "Company",
    "Email",
    "Phone",
    "MobilePhone",
    "IsConverted",
    "ConvertedContactId",
    "ConvertedAccountId",
    "LastModifiedDate",
];

/// The digits of the national significant number of an E.164 phone (`+15551211212` →
/// `5551211212`, `+390612345678` → `0612345678`, Italian leading zero kept), which is the part
/// every way of writing the number contains. None when there are too few digits to search on.
pub fn national_digits(e164: &str) -> Option<String> {
    let digits = e164.strip_prefix('+')?;
    if !(7..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let national = phonenumber::parse(None, e164).ok().map(|n| {
        let nn = n.national();
        let zeros = usize::from(nn.zeros());
        format!("{}{}", "0".repeat(zeros), nn.value())
    });
    // A number the library cannot split still matches when stored with its country code.
    let national = national.unwrap_or_else(|| digits.to_owned());
    (national.len() >= MIN_PHONE_DIGITS).then_some(national)
}

/// `%5%5%5%1%2%1%1%2%1%2%`: SOQL LIKE for text containing these digits in order.
fn phone_pattern(digits: &str) -> String {
    let mut p = String::with_capacity(digits.len() * 2 + 1);
    p.push('%');
    for d in digits.chars().filter(char::is_ascii_digit) {
        p.push(d);
        p.push('%');
    }
    p
}

/// A field name the tenant configured; a bad one is the tenant's setup, not the visitor's data.
fn configured_field(field: &str) -> Result<&str, SalesforceError> {
    check_identifier(field).map_err(|_| {
        SalesforceError::Configuration(format!(
            "identity field {field:?} is not a Salesforce field name"
        ))
    })
}

fn uses(policy: &IdentityPolicy, key: MatchKey) -> bool {
    policy.match_order.contains(&key)
}

/// The WHERE clauses for the visitor's keys (the same for Contact and Lead: both objects have
/// Email, Phone, MobilePhone; the configured fields must exist on both).
fn clauses(keys: &Keys, policy: &IdentityPolicy) -> Result<Vec<String>, SalesforceError> {
    let mut out = Vec::new();
    if uses(policy, MatchKey::Email)
        && let Some(email) = keys.email.as_deref().filter(|e| !e.is_empty())
    {
        out.push(format!("Email = {}", soql_string(email)?));
    }
    if uses(policy, MatchKey::ExternalId)
        && let (Some(field), Some(value)) = (
            policy.external_id_field.as_deref(),
            keys.external_id.as_deref().filter(|v| !v.is_empty()),
        )
    {
        out.push(format!(
            "{} = {}",
            configured_field(field)?,
            soql_string(value)?
        ));
    }
    if uses(policy, MatchKey::VisitorId)
        && let (Some(field), Some(value)) = (
            policy.visitor_id_field.as_deref(),
            keys.visitor_id.as_deref().filter(|v| !v.is_empty()),
        )
    {
        out.push(format!(
            "{} = {}",
            configured_field(field)?,
            soql_string(value)?
        ));
    }
    if uses(policy, MatchKey::Phone)
        && let Some(digits) = keys
            .phone
            .as_deref()
            .and_then(national_digits)
            .or_else(|| keys.phone_digits.clone())
    {
        let pattern = soql_string(&phone_pattern(&digits))?;
        out.push(format!("Phone LIKE {pattern}"));
        out.push(format!("MobilePhone LIKE {pattern}"));
    }
    Ok(out)
}

/// The fields to select for `kind`: the fixed ones plus the tenant's configured id fields.
fn select_fields(kind: PersonKind, policy: &IdentityPolicy) -> Vec<&str> {
    let base = match kind {
        PersonKind::Contact => CONTACT_FIELDS,
        PersonKind::Lead => LEAD_FIELDS,
    };
    let mut fields: Vec<&str> = base.to_vec();
    for f in [
        policy.external_id_field.as_deref(),
        policy.visitor_id_field.as_deref(),
    ]
    .into_iter()
    .flatten()
    {
        if !fields.iter().any(|x| x.eq_ignore_ascii_case(f)) {
            fields.push(f);
        }
    }
    fields
}

fn person_query(
    kind: PersonKind,
    policy: &IdentityPolicy,
    clauses: &[String],
) -> Result<String, SalesforceError> {
    let fields = select_fields(kind, policy);
    for f in &fields {
        configured_field(f)?;
    }
    // The builder checks the field list and object; the OR-ed clauses are escaped above.
    let base = Soql::select(&fields).from(kind.sobject()).build()?;
    Ok(format!(
        "{base} WHERE {} ORDER BY Id LIMIT {MAX_CANDIDATES_PER_OBJECT}",
        clauses.join(" OR ")
    ))
}

/// The composite request [`candidates`] sends, or None when the visitor has no key to look up
/// (then no call is made).
pub fn lookup_request(
    keys: &Keys,
    policy: &IdentityPolicy,
) -> Result<Option<CompositeRequest>, SalesforceError> {
    let clauses = clauses(keys, policy)?;
    if clauses.is_empty() {
        return Ok(None);
    }
    let mut request = CompositeRequest::new(false);
    request.push(SubRequest::query(
        CONTACT_REF,
        &person_query(PersonKind::Contact, policy, &clauses)?,
    ))?;
    request.push(SubRequest::query(
        LEAD_REF,
        &person_query(PersonKind::Lead, policy, &clauses)?,
    ))?;
    Ok(Some(request))
}

/// The agent e-mail normalised, or None with a note when it is blank or invalid.
fn agent(agent_email: Option<&str>, notes: &mut Vec<String>) -> Option<String> {
    let raw = agent_email?.trim();
    if raw.is_empty() {
        return None;
    }
    let email = super::normalize::email(raw);
    if email.is_none() {
        notes.push(format!(
            "owner: the agent e-mail {raw:?} is not a valid address; the integration user owns \
             what is created"
        ));
    }
    email
}

fn owner_query(email: &str) -> Result<String, SalesforceError> {
    Ok(format!(
        "SELECT Id FROM User WHERE Email = {} AND IsActive = true LIMIT 2",
        soql_string(email)?
    ))
}

/// A SOQL LIKE pattern literal matching text that contains `value`: the value's own `%` and
/// `_` are escaped so they match only themselves.
pub(crate) fn contains_pattern(value: &str) -> Result<String, SalesforceError> {
    let escaped = crate::salesforce::soql::escape_soql(value)?
        .replace('%', "\\%")
        .replace('_', "\\_");
    Ok(format!("'%{escaped}%'"))
}

/// The Account subrequest's SOQL, or None when the tenant does not want Accounts or the visitor
/// has neither a company domain nor a company name.
fn account_query(keys: &Keys, policy: &IdentityPolicy) -> Result<Option<String>, SalesforceError> {
    if !policy.accounts {
        return Ok(None);
    }
    let mut clauses = Vec::new();
    if let Some(domain) = keys
        .company_domain
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        clauses.push(format!("Website LIKE {}", contains_pattern(domain)?));
    }
    if let Some(company) = keys
        .company
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        clauses.push(format!("Name = {}", soql_string(company)?));
    }
    if clauses.is_empty() {
        return Ok(None);
    }
    Ok(Some(format!(
        "SELECT Id, Name, Website, LastModifiedDate FROM Account WHERE {} ORDER BY Id LIMIT \
         {MAX_ACCOUNT_CANDIDATES}",
        clauses.join(" OR ")
    )))
}

/// The request [`lookup`] sends and the notes about what it leaves out; the request is None
/// when there is nothing at all to look up (no person key, no valid agent e-mail, no Account
/// wanted or no company to find it by): then no call is made.
///
/// With person keys it holds the Contact and Lead queries as [`lookup_request`] does, plus the
/// owner query when `agent_email` is a valid address and the Account query when
/// `policy.accounts` is set and the visitor has a company domain or name. Without person keys
/// but with an owner or Account to find, it holds only those (one call whose answers serve only
/// the creation of a new person).
pub fn lookup_request_with(
    keys: &Keys,
    policy: &IdentityPolicy,
    agent_email: Option<&str>,
) -> Result<(Option<CompositeRequest>, Vec<String>), SalesforceError> {
    let mut notes = Vec::new();
    let mut request = lookup_request(keys, policy)?.unwrap_or_else(|| CompositeRequest::new(false));
    if let Some(email) = agent(agent_email, &mut notes) {
        request.push(SubRequest::query(OWNER_REF, &owner_query(&email)?))?;
    }
    if let Some(q) = account_query(keys, policy)? {
        request.push(SubRequest::query(ACCOUNT_REF, &q))?;
    }
    Ok(((!request.is_empty()).then_some(request), notes))
}

/// Candidates, owner and Account in ONE API call (none when there is nothing to look up; see
/// [`lookup_request_with`]). `agent_email` is the event's actor, if an agent.
pub async fn lookup(
    org: &Org,
    keys: &Keys,
    policy: &IdentityPolicy,
    agent_email: Option<&str>,
) -> Result<Lookup, SalesforceError> {
    let (request, notes) = lookup_request_with(keys, policy, agent_email)?;
    let mut out = Lookup {
        notes,
        ..Lookup::default()
    };
    let Some(request) = request else {
        return Ok(out);
    };
    let response = org.composite(&request).await?;
    let has = |r: &str| request.subrequests().iter().any(|s| s.reference_id == r);
    if has(CONTACT_REF) {
        out.candidates = read_candidates(org, &response, policy)?;
    }
    if has(OWNER_REF) {
        match page_of(&response, OWNER_REF) {
            Ok(page) => {
                let ids: Vec<String> = page.records.iter().filter_map(|r| text(r, "Id")).collect();
                match ids.as_slice() {
                    [one] => out.owner_id = Some(one.clone()),
                    [] => out.notes.push(
                        "owner: no active Salesforce User has the agent's e-mail; the \
                         integration user owns what is created"
                            .into(),
                    ),
                    _ => out.notes.push(
                        "owner: several active Salesforce Users have the agent's e-mail; the \
                         integration user owns what is created"
                            .into(),
                    ),
                }
            }
            Err(e) => {
                tracing::warn!(tenant_id = %org.tenant_id(), error = %e, "owner lookup failed");
                out.notes.push(format!(
                    "owner: the User query failed ({e}); no owner is set"
                ));
            }
        }
    }
    if has(ACCOUNT_REF) {
        match page_of(&response, ACCOUNT_REF) {
            Ok(page) => {
                let accounts: Vec<AccountCandidate> =
                    page.records.iter().filter_map(parse_account).collect();
                if page.records.len() >= MAX_ACCOUNT_CANDIDATES as usize {
                    out.notes.push(format!(
                        "account: {} or more Accounts match the company; none is set",
                        MAX_ACCOUNT_CANDIDATES
                    ));
                } else {
                    let (account, note) = decide_account(keys, &accounts);
                    out.account = account;
                    out.notes.extend(note);
                }
            }
            Err(e) => {
                tracing::warn!(tenant_id = %org.tenant_id(), error = %e, "account lookup failed");
                out.notes.push(format!(
                    "account: the Account query failed ({e}); none is set"
                ));
            }
        }
    }
    Ok(out)
}

/// The query page of one subresponse, or its error.
fn page_of(
    response: &crate::salesforce::CompositeResponse,
    reference: &str,
) -> Result<QueryPage, SalesforceError> {
    let sub = response
        .get(reference)
        .ok_or_else(|| SalesforceError::InvalidResponse {
            status: 200,
            reason: format!("composite answer has no {reference:?} subresponse"),
        })?;
    if let Some(err) = sub.error() {
        return Err(err);
    }
    serde_json::from_value(sub.body.clone()).map_err(|e| SalesforceError::InvalidResponse {
        status: sub.http_status_code,
        reason: format!("{reference} query answer: {e}"),
    })
}

pub(crate) fn parse_account(record: &Value) -> Option<AccountCandidate> {
    Some(AccountCandidate {
        id: text(record, "Id")?,
        name: text(record, "Name"),
        website: text(record, "Website"),
    })
}

/// The visitor's Account among `accounts`, deterministically: exactly one whose Website's
/// normalised domain equals the visitor's company domain; else (none by domain) exactly one
/// whose Name equals the visitor's company, ignoring case and surrounding space; else None.
/// Several at either step give None and a note saying so (never a guess).
pub fn decide_account(
    keys: &Keys,
    accounts: &[AccountCandidate],
) -> (Option<String>, Option<String>) {
    let pick = |what: &str,
                matching: Vec<&AccountCandidate>|
     -> Option<(Option<String>, Option<String>)> {
        match matching.as_slice() {
            [] => None,
            [one] => Some((Some(one.id.clone()), None)),
            several => Some((
                None,
                Some(format!(
                    "account: {} Accounts have the visitor's {what} ({}); none is set",
                    several.len(),
                    several
                        .iter()
                        .map(|a| a.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            )),
        }
    };
    if let Some(domain) = keys
        .company_domain
        .as_deref()
        .and_then(super::normalize::domain)
    {
        let by_domain = accounts
            .iter()
            .filter(|a| {
                a.website
                    .as_deref()
                    .and_then(super::normalize::domain)
                    .as_deref()
                    == Some(domain.as_str())
            })
            .collect();
        if let Some(decided) = pick("website domain", by_domain) {
            return decided;
        }
    }
    if let Some(company) = keys
        .company
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        let company = company.to_lowercase();
        let by_name = accounts
            .iter()
            .filter(|a| a.name.as_deref().map(|n| n.trim().to_lowercase()) == Some(company.clone()))
            .collect();
        if let Some(decided) = pick("company name", by_name) {
            return decided;
        }
    }
    (
        None,
        Some("account: no Account has the visitor's website domain or company name".into()),
    )
}

/// Every Contact and Lead that may be the visitor, in one API call (none when the visitor has
/// no key the tenant matches on). Contacts first, then Leads, each by Id; no Id twice. The
/// candidates are a superset of the matches: compare them with [`super::rules::decide`].
pub async fn candidates(
    org: &Org,
    keys: &Keys,
    policy: &IdentityPolicy,
) -> Result<Vec<Candidate>, SalesforceError> {
    let Some(request) = lookup_request(keys, policy)? else {
        return Ok(Vec::new());
    };
    let response = org.composite(&request).await?;
    read_candidates(org, &response, policy)
}

/// The Contact and Lead candidates of a composite answer holding both person queries.
fn read_candidates(
    org: &Org,
    response: &crate::salesforce::CompositeResponse,
    policy: &IdentityPolicy,
) -> Result<Vec<Candidate>, SalesforceError> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (reference, kind) in [
        (CONTACT_REF, PersonKind::Contact),
        (LEAD_REF, PersonKind::Lead),
    ] {
        let page = page_of(response, reference)?;
        if page.records.len() >= MAX_CANDIDATES_PER_OBJECT as usize {
            tracing::warn!(
                tenant_id = %org.tenant_id(),
                sobject = kind.sobject(),
                total = page.total_size,
                "identity lookup hit the candidate cap; later candidates are not seen"
            );
        }
        for record in &page.records {
            let candidate = parse_candidate(kind, record, policy)?;
            if seen.insert(candidate.id.clone()) {
                out.push(candidate);
            }
        }
    }
    Ok(out)
}

/// Creates the planned person in one call; `Skip` makes no call and gives None. `OwnerId` in the
/// fields makes the client send `Sforce-Auto-Assign: FALSE`.
pub async fn create(org: &Org, plan: &CreatePlan) -> Result<Option<Person>, SalesforceError> {
    let CreatePlan::Create { kind, fields } = plan else {
        return Ok(None);
    };
    let id = org
        .create(kind.sobject(), &Value::Object(fields.clone()))
        .await?;
    let account_id = match kind {
        PersonKind::Contact => fields
            .get("AccountId")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        PersonKind::Lead => None,
    };
    Ok(Some(Person {
        kind: *kind,
        id,
        account_id,
    }))
}

/// A field's value as text: strings as they are, numbers (a numeric external id field) written
/// out; empty, null and anything else are absent.
fn text(record: &Value, field: &str) -> Option<String> {
    match record.get(field)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn parse_candidate(
    kind: PersonKind,
    record: &Value,
    policy: &IdentityPolicy,
) -> Result<Candidate, SalesforceError> {
    let invalid = |reason: String| SalesforceError::InvalidResponse {
        status: 200,
        reason,
    };
    let id = text(record, "Id")
        .ok_or_else(|| invalid(format!("{} candidate without Id", kind.sobject())))?;
    let modified = record
        .get("LastModifiedDate")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("{id} has no LastModifiedDate")))?;
    let last_modified = crate::salesforce::datetime::parse(modified)
        .ok_or_else(|| invalid(format!("{id}: unreadable LastModifiedDate {modified:?}")))?;
    let phones = ["Phone", "MobilePhone"]
        .iter()
        .filter_map(|f| text(record, f))
        .collect();
    let field = |name: &Option<String>| name.as_deref().and_then(|f| text(record, f));
    let (is_converted, converted_contact_id, converted_account_id, account_id) = match kind {
        PersonKind::Lead => (
            record
                .get("IsConverted")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            text(record, "ConvertedContactId"),
            text(record, "ConvertedAccountId"),
            None,
        ),
        PersonKind::Contact => (false, None, None, text(record, "AccountId")),
    };
    Ok(Candidate {
        kind,
        email: text(record, "Email"),
        phones,
        external_id: field(&policy.external_id_field),
        visitor_id: field(&policy.visitor_id_field),
        is_converted,
        converted_contact_id,
        converted_account_id,
        account_id,
        last_modified,
        stored: StoredFields {
            first_name: text(record, "FirstName"),
            last_name: text(record, "LastName"),
            phone: text(record, "Phone"),
            company: match kind {
                PersonKind::Lead => text(record, "Company"),
                PersonKind::Contact => None,
            },
        },
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy() -> IdentityPolicy {
        IdentityPolicy {
            external_id_field: Some("Chat_Contact_Id__c".into()),
            visitor_id_field: Some("Chat_Visitor_Id__c".into()),
            ..IdentityPolicy::default()
        }
    }

    fn soql_of(req: &CompositeRequest, i: usize) -> String {
        let url = &req.subrequests()[i].url;
        let q = url.split_once("q=").unwrap().1;
        // Percent-decoding is enough for the assertions below.
        let bytes = q.as_bytes();
        let mut out = Vec::new();
        let mut j = 0;
        while j < bytes.len() {
            if bytes[j] == b'%' {
                out.push(u8::from_str_radix(&q[j + 1..j + 3], 16).unwrap());
                j += 3;
            } else {
                out.push(bytes[j]);
                j += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn national_digits_drop_the_country_code_and_keep_italian_zeros() {
        assert_eq!(
            national_digits("+15551211212").as_deref(),
            Some("5551211212")
        );
        assert_eq!(
            national_digits("+442079460958").as_deref(),
            Some("2079460958")
        );
        assert_eq!(
            national_digits("+390612345678").as_deref(),
            Some("0612345678")
        );
        assert_eq!(national_digits("5551211212"), None);
        assert_eq!(national_digits("+1555"), None);
        assert_eq!(national_digits("+1555121121x"), None);
        assert_eq!(national_digits(""), None);
    }

    #[test]
    fn no_keys_means_no_request() {
        assert!(
            lookup_request(&Keys::default(), &policy())
                .unwrap()
                .is_none()
        );
        // A key the tenant has no field for, or does not match on, is no key.
        let keys = Keys {
            external_id: Some("x".into()),
            first_name: Some("Ada".into()),
            ..Keys::default()
        };
        assert!(
            lookup_request(&keys, &IdentityPolicy::default())
                .unwrap()
                .is_none()
        );
        let email_off = IdentityPolicy {
            match_order: vec![MatchKey::Phone],
            ..policy()
        };
        let keys = Keys {
            email: Some("a@b.io".into()),
            ..Keys::default()
        };
        assert!(lookup_request(&keys, &email_off).unwrap().is_none());
    }

    #[test]
    fn one_composite_with_a_contact_and_a_lead_query() {
        let keys = Keys {
            email: Some("o'brien@example.com".into()),
            external_id: Some("ext-1' OR Id != '".into()),
            visitor_id: Some("v-9".into()),
            phone: Some("+15551211212".into()),
            ..Keys::default()
        };
        let req = lookup_request(&keys, &policy()).unwrap().unwrap();
        assert_eq!(req.len(), 2);
        let contact = soql_of(&req, 0);
        let lead = soql_of(&req, 1);
        assert_eq!(
            contact,
            "SELECT Id, FirstName, LastName, Email, Phone, MobilePhone, AccountId, \
             LastModifiedDate, Chat_Contact_Id__c, Chat_Visitor_Id__c FROM Contact WHERE \
             Email = 'o\\'brien@example.com' OR Chat_Contact_Id__c = 'ext-1\\' OR Id != \\'' \
             OR Chat_Visitor_Id__c = 'v-9' OR Phone LIKE '%5%5%5%1%2%1%1%2%1%2%' \
             OR MobilePhone LIKE '%5%5%5%1%2%1%1%2%1%2%' ORDER BY Id LIMIT 200"
        );
        assert!(lead.starts_with(
            "SELECT Id, FirstName, LastName, Company, Email, Phone, MobilePhone, IsConverted, \
             ConvertedContactId, ConvertedAccountId, LastModifiedDate, Chat_Contact_Id__c, Chat_Visitor_Id__c \
             FROM Lead WHERE Email = "
        ));
        assert_eq!(
            contact.split_once(" WHERE ").unwrap().1,
            lead.split_once(" WHERE ").unwrap().1
        );
    }

    #[test]
    fn the_same_field_twice_is_selected_once() {
        let p = IdentityPolicy {
            external_id_field: Some("Chat_Contact_Id__c".into()),
            visitor_id_field: Some("chat_contact_id__c".into()),
            ..IdentityPolicy::default()
        };
        let fields = select_fields(PersonKind::Contact, &p);
        assert_eq!(
            fields
                .iter()
                .filter(|f| f.eq_ignore_ascii_case("Chat_Contact_Id__c"))
                .count(),
            1
        );
    }

    #[test]
    fn a_bad_configured_field_is_a_configuration_error() {
        let p = IdentityPolicy {
            external_id_field: Some("Bad Field) OR (Id".into()),
            ..IdentityPolicy::default()
        };
        let keys = Keys {
            external_id: Some("x".into()),
            ..Keys::default()
        };
        assert!(matches!(
            lookup_request(&keys, &p),
            Err(SalesforceError::Configuration(_))
        ));
    }

    #[test]
    fn a_value_with_an_unescapable_character_is_refused() {
        let keys = Keys {
            external_id: Some("a\u{1}b".into()),
            ..Keys::default()
        };
        assert!(matches!(
            lookup_request(&keys, &policy()),
            Err(SalesforceError::InvalidRequest(_))
        ));
    }

    fn account(id: &str, name: &str, website: Option<&str>) -> AccountCandidate {
        AccountCandidate {
            id: id.into(),
            name: Some(name.into()),
            website: website.map(Into::into),
        }
    }

    fn company(name: Option<&str>, domain: Option<&str>) -> Keys {
        Keys {
            company: name.map(Into::into),
            company_domain: domain.map(Into::into),
            ..Keys::default()
        }
    }

    #[test]
    fn owner_and_account_join_the_same_composite() {
        let accounts = IdentityPolicy {
            accounts: true,
            ..policy()
        };
        let keys = Keys {
            email: Some("ada@acme.example".into()),
            company: Some("Acme_100%".into()),
            company_domain: Some("acme.example".into()),
            ..Keys::default()
        };
        let (req, notes) =
            lookup_request_with(&keys, &accounts, Some(" Agent@Acme.Example ")).unwrap();
        let req = req.unwrap();
        assert!(notes.is_empty());
        assert_eq!(req.len(), 4);
        assert_eq!(
            soql_of(&req, 2),
            "SELECT Id FROM User WHERE Email = 'agent@acme.example' AND IsActive = true LIMIT 2"
        );
        assert_eq!(
            soql_of(&req, 3),
            "SELECT Id, Name, Website, LastModifiedDate FROM Account WHERE \
             Website LIKE '%acme.example%' OR Name = 'Acme_100%' ORDER BY Id LIMIT 10"
        );
        // Without policy.accounts no Account query; without an agent no User query.
        let (req, _) = lookup_request_with(&keys, &policy(), None).unwrap();
        assert_eq!(req.unwrap().len(), 2);
    }

    #[test]
    fn owner_or_account_alone_is_one_request_and_nothing_is_none() {
        let accounts = IdentityPolicy {
            accounts: true,
            ..policy()
        };
        let (req, _) = lookup_request_with(&Keys::default(), &policy(), Some("a@b.io")).unwrap();
        let req = req.unwrap();
        assert_eq!(req.len(), 1);
        assert!(soql_of(&req, 0).contains("FROM User"));
        let (req, _) = lookup_request_with(&company(Some("Acme"), None), &accounts, None).unwrap();
        let req = req.unwrap();
        assert_eq!(req.len(), 1);
        assert!(soql_of(&req, 0).ends_with("WHERE Name = 'Acme' ORDER BY Id LIMIT 10"));
        // Nothing to look up at all: no request.
        let (req, notes) =
            lookup_request_with(&company(Some("Acme"), None), &policy(), Some("  ")).unwrap();
        assert!(req.is_none() && notes.is_empty());
        let (req, notes) = lookup_request_with(&Keys::default(), &accounts, None).unwrap();
        assert!(req.is_none() && notes.is_empty());
        // An invalid agent e-mail is no query, and a note.
        let (req, notes) = lookup_request_with(&Keys::default(), &policy(), Some("n/a")).unwrap();
        assert!(req.is_none());
        assert_eq!(notes.len(), 1, "{notes:?}");
    }

    #[test]
    fn like_wildcards_in_values_are_escaped() {
        assert_eq!(contains_pattern("a_b%c").unwrap(), "'%a\\_b\\%c%'");
        assert_eq!(contains_pattern("o'x").unwrap(), "'%o\\'x%'");
        assert!(contains_pattern("a\u{1}").is_err());
    }

    #[test]
    fn account_by_domain_then_name_never_a_guess() {
        let keys = company(Some("Acme Corp"), Some("acme.example"));
        let by_site = [
            account("001a", "Acme Holdings", Some("https://www.acme.example/")),
            account("001b", "acme corp", None),
            account("001c", "Not Acme", Some("http://notacme.example")),
            account("001d", "Other", Some("acme.example.org")),
        ];
        assert_eq!(decide_account(&keys, &by_site), (Some("001a".into()), None));
        // No website match: the one Account named like the company, whatever the case.
        assert_eq!(
            decide_account(&keys, &by_site[1..]),
            (Some("001b".into()), None)
        );
        // Two by website: none, with a note, even though one has the name.
        let two = [
            account("001a", "Acme", Some("acme.example")),
            account("001b", "Acme Corp", Some("WWW.ACME.EXAMPLE/contact")),
        ];
        let (id, note) = decide_account(&keys, &two);
        assert_eq!(id, None);
        let note = note.unwrap();
        assert!(note.contains("001a") && note.contains("001b"), "{note}");
        // Two by name: none.
        let names = [
            account("001a", " ACME CORP ", None),
            account("001b", "Acme Corp", Some("other.example")),
        ];
        assert_eq!(decide_account(&keys, &names).0, None);
        // Nothing matching: none, with a note; no company at all: none.
        assert_eq!(decide_account(&keys, &by_site[2..]).0, None);
        assert_eq!(decide_account(&Keys::default(), &by_site).0, None);
    }

    #[test]
    fn records_become_candidates() {
        let p = policy();
        let lead = parse_candidate(
            PersonKind::Lead,
            &json!({"attributes": {"type": "Lead"}, "Id": "00Q000000000001AAA", "Email": "A@B.io",
                    "Phone": "(555) 121-1212", "MobilePhone": null, "IsConverted": true,
                    "ConvertedContactId": "003000000000001AAA", "ConvertedAccountId": null,
                    "LastModifiedDate": "2024-05-01T12:00:00.000+0000", "Chat_Contact_Id__c": 42}),
            &p,
        )
        .unwrap();
        assert_eq!(lead.id, "00Q000000000001AAA");
        assert_eq!(lead.phones, vec!["(555) 121-1212".to_owned()]);
        assert!(lead.is_converted);
        assert_eq!(
            lead.converted_contact_id.as_deref(),
            Some("003000000000001AAA")
        );
        assert_eq!(lead.external_id.as_deref(), Some("42"));
        assert_eq!(lead.visitor_id, None);
        assert_eq!(lead.account_id, None);
        assert!(
            parse_candidate(PersonKind::Contact, &json!({"Id": "003"}), &p).is_err(),
            "no LastModifiedDate"
        );
        assert!(parse_candidate(PersonKind::Contact, &json!([1]), &p).is_err());
    }
}
