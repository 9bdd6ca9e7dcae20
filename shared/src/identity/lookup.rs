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

use super::Keys;
use super::create::CreatePlan;
use super::rules::{Candidate, Person, PersonKind};
use crate::salesforce::soql::{check_identifier, soql_string};
use crate::salesforce::{CompositeRequest, Org, QueryPage, SalesforceError, Soql, SubRequest};
use crate::tenant::{IdentityPolicy, MatchKey};
use serde_json::Value;
use std::collections::HashSet;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Most candidates read per object. A visitor's keys match a handful of people; reaching this
/// means the org is full of duplicates (logged), and the rule chain sees the first ones by Id.
pub const MAX_CANDIDATES_PER_OBJECT: u32 = 200;

/// A national number shorter than this is too unspecific for the wildcard pattern.
pub const MIN_PHONE_DIGITS: usize = 6;

const CONTACT_REF: &str = "contacts";
const LEAD_REF: &str = "leads";

/// The fields read for every candidate, before the tenant's configured ones.
const CONTACT_FIELDS: &[&str] = &[
    "Id",
    "Email",
    "Phone",
    "MobilePhone",
    "AccountId",
    "LastModifiedDate",
];
const LEAD_FIELDS: &[&str] = &[
    "Id",
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
        && let Some(digits) = keys.phone.as_deref().and_then(national_digits)
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
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (reference, kind) in [
        (CONTACT_REF, PersonKind::Contact),
        (LEAD_REF, PersonKind::Lead),
    ] {
        let sub = response
            .get(reference)
            .ok_or_else(|| SalesforceError::InvalidResponse {
                status: 200,
                reason: format!("composite answer has no {reference:?} subresponse"),
            })?;
        if let Some(err) = sub.error() {
            return Err(err);
        }
        let page: QueryPage = serde_json::from_value(sub.body.clone()).map_err(|e| {
            SalesforceError::InvalidResponse {
                status: sub.http_status_code,
                reason: format!("{reference} query answer: {e}"),
            }
        })?;
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

/// Salesforce dateTime: `2024-05-01T12:00:00.000+0000` (the REST form), or RFC 3339.
pub fn parse_sf_datetime(s: &str) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    // `+0000` → `+00:00`.
    let split = s.len().checked_sub(5)?;
    let (head, offset) = (s.get(..split)?, s.get(split..)?);
    let (sign, digits) = offset.split_at_checked(1)?;
    if !matches!(sign, "+" | "-") || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = digits.split_at_checked(2)?;
    OffsetDateTime::parse(&format!("{head}{sign}{h}:{m}"), &Rfc3339).ok()
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
    let last_modified = parse_sf_datetime(modified)
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
            "SELECT Id, Email, Phone, MobilePhone, AccountId, LastModifiedDate, \
             Chat_Contact_Id__c, Chat_Visitor_Id__c FROM Contact WHERE \
             Email = 'o\\'brien@example.com' OR Chat_Contact_Id__c = 'ext-1\\' OR Id != \\'' \
             OR Chat_Visitor_Id__c = 'v-9' OR Phone LIKE '%5%5%5%1%2%1%1%2%1%2%' \
             OR MobilePhone LIKE '%5%5%5%1%2%1%1%2%1%2%' ORDER BY Id LIMIT 200"
        );
        assert!(lead.starts_with(
            "SELECT Id, Email, Phone, MobilePhone, IsConverted, ConvertedContactId, \
             ConvertedAccountId, LastModifiedDate, Chat_Contact_Id__c, Chat_Visitor_Id__c \
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

    #[test]
    fn salesforce_datetimes_parse() {
        let t = parse_sf_datetime("2024-05-01T12:00:00.000+0000").unwrap();
        assert_eq!(t.unix_timestamp(), 1_714_564_800);
        let t = parse_sf_datetime("2024-05-01T14:00:00.000+0200").unwrap();
        assert_eq!(t.unix_timestamp(), 1_714_564_800);
        assert!(parse_sf_datetime("2024-05-01T12:00:00Z").is_some());
        for bad in [
            "",
            "+0000",
            "2024-05-01",
            "2024-05-01T12:00:00.000+00x0",
            "ü+0000",
        ] {
            assert!(parse_sf_datetime(bad).is_none(), "{bad:?}");
        }
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
