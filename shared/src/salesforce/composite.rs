//! Composite requests (`POST /composite`): up to 25 subrequests in one API call, later ones
//! referring to earlier results with `@{referenceId.field}`. This is how one chat event's Lead,
//! Task and Case land in a single call.

use super::API_VERSION;
use super::error::{ApiError, SalesforceError, error_from_value, first_real_error, status_only};
use super::soql::check_identifier;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use time::{OffsetDateTime, UtcOffset};

/// Salesforce's cap on subrequests per composite request.
pub const MAX_SUBREQUESTS: usize = 25;
/// Of those, at most this many may be queries or sObject Collections operations.
pub const MAX_QUERY_OR_COLLECTION: usize = 5;

/// The header that stops assignment rules from overriding an OwnerId we set on purpose.
pub const AUTO_ASSIGN_HEADER: &str = "Sforce-Auto-Assign";
pub const DUPLICATE_RULE_HEADER: &str = "Sforce-Duplicate-Rule-Header";
/// Makes a row write conditional: Salesforce answers 412 if the record changed after the date.
pub const IF_UNMODIFIED_SINCE_HEADER: &str = "If-Unmodified-Since";

/// `at` as an HTTP-date in IMF-fixdate form (`Tue, 15 Nov 1994 08:12:31 GMT`), in UTC; the
/// fraction of a second is dropped, as the format has none.
pub fn http_date(at: OffsetDateTime) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = at.to_offset(UtcOffset::UTC);
    let day = DAYS
        .get(usize::from(t.weekday().number_days_from_monday()))
        .copied()
        .unwrap_or("Mon");
    let month = MONTHS
        .get(usize::from(u8::from(t.month())).saturating_sub(1))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{day}, {:02} {month} {:04} {:02}:{:02}:{:02} GMT",
        t.day(),
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `@{referenceId.field}`: a value taken from an earlier subrequest's result, e.g.
/// `reference("newLead", "id")` (create results use lowercase `id`).
pub fn reference(reference_id: &str, field: &str) -> String {
    format!("@{{{reference_id}.{field}}}")
}

/// Percent-encodes one URL path segment (record ids, external id values) or query value; only
/// RFC 3986 unreserved characters pass through.
pub(crate) fn encode_component(value: &str) -> String {
    // A segment of only dots would be read as `.`/`..` and walk the path; encode those dots.
    let dots_only = value.bytes().all(|b| b == b'.');
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') || (b == b'.' && !dots_only)
        {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether a record body sets OwnerId, which calls for `Sforce-Auto-Assign: FALSE`.
pub(crate) fn sets_owner(body: &Value) -> bool {
    body.as_object()
        .is_some_and(|o| o.keys().any(|k| k.eq_ignore_ascii_case("OwnerId")))
}

/// One subrequest.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubRequest {
    pub method: String,
    /// Full path from `/services/data/…`.
    pub url: String,
    pub reference_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub http_headers: BTreeMap<String, String>,
    /// sObject and field names used in `url`, checked by `CompositeRequest::push`.
    #[serde(skip)]
    identifiers: Vec<String>,
}

fn data_url(rest: &str) -> String {
    format!("/services/data/{API_VERSION}/{rest}")
}

impl SubRequest {
    fn new(
        method: &str,
        reference_id: &str,
        url: String,
        body: Option<Value>,
        identifiers: &[&str],
    ) -> Self {
        let mut http_headers = BTreeMap::new();
        if body.as_ref().is_some_and(sets_owner) {
            http_headers.insert(AUTO_ASSIGN_HEADER.to_owned(), "FALSE".to_owned());
        }
        Self {
            method: method.to_owned(),
            url,
            reference_id: reference_id.to_owned(),
            body,
            http_headers,
            identifiers: identifiers.iter().map(|i| (*i).to_owned()).collect(),
        }
    }

    pub fn create(reference_id: &str, sobject: &str, fields: Value) -> Self {
        let url = data_url(&format!("sobjects/{sobject}"));
        Self::new("POST", reference_id, url, Some(fields), &[sobject])
    }

    /// `id` may be a reference such as `@{newLead.id}`, which must stay unencoded.
    pub fn update(reference_id: &str, sobject: &str, id: &str, fields: Value) -> Self {
        let url = data_url(&format!("sobjects/{sobject}/{}", encode_id(id)));
        Self::new("PATCH", reference_id, url, Some(fields), &[sobject])
    }

    pub fn upsert(
        reference_id: &str,
        sobject: &str,
        external_id_field: &str,
        external_id: &str,
        fields: Value,
    ) -> Self {
        let url = data_url(&format!(
            "sobjects/{sobject}/{external_id_field}/{}",
            encode_id(external_id)
        ));
        Self::new(
            "PATCH",
            reference_id,
            url,
            Some(fields),
            &[sobject, external_id_field],
        )
    }

    pub fn get(reference_id: &str, sobject: &str, id: &str, fields: &[&str]) -> Self {
        let mut url = data_url(&format!("sobjects/{sobject}/{}", encode_id(id)));
        if !fields.is_empty() {
            url.push_str("?fields=");
            url.push_str(&encode_component(&fields.join(",")));
        }
        let mut identifiers = vec![sobject];
        identifiers.extend_from_slice(fields);
        Self::new("GET", reference_id, url, None, &identifiers)
    }

    /// The object's describe (fields, required ones, picklist values).
    pub fn describe(reference_id: &str, sobject: &str) -> Self {
        let url = data_url(&format!("sobjects/{sobject}/describe"));
        Self::new("GET", reference_id, url, None, &[sobject])
    }

    pub fn delete(reference_id: &str, sobject: &str, id: &str) -> Self {
        let url = data_url(&format!("sobjects/{sobject}/{}", encode_id(id)));
        Self::new("DELETE", reference_id, url, None, &[sobject])
    }

    /// Makes this subrequest conditional: it fails with 412 Precondition Failed (see
    /// [`SalesforceError::is_precondition_failed`]) when the record was modified after
    /// `last_seen`, typically the LastModifiedDate read earlier. Salesforce compares at second
    /// precision, so a change within the same second as `last_seen` goes unnoticed.
    pub fn if_unmodified_since(mut self, last_seen: OffsetDateTime) -> Self {
        self.http_headers
            .insert(IF_UNMODIFIED_SINCE_HEADER.to_owned(), http_date(last_seen));
        self
    }

    /// A SOQL query as a subrequest; build `soql` with [`super::soql::Soql`].
    pub fn query(reference_id: &str, soql: &str) -> Self {
        let url = data_url(&format!("query?q={}", encode_component(soql)));
        Self::new("GET", reference_id, url, None, &[])
    }

    /// A SOQL query whose text holds one reference to an earlier subrequest's answer
    /// (`@{reference}` between `before` and `after`), left unencoded for Salesforce to resolve.
    pub fn query_referring(reference_id: &str, before: &str, reference: &str, after: &str) -> Self {
        let url = data_url(&format!(
            "query?q={}@{{{reference}}}{}",
            encode_component(before),
            encode_component(after)
        ));
        Self::new("GET", reference_id, url, None, &[])
    }

    fn is_query_or_collection(&self) -> bool {
        let rest = self
            .url
            .split_once(API_VERSION)
            .map_or(self.url.as_str(), |(_, r)| r);
        rest.starts_with("/query") || rest.starts_with("/composite/sobjects")
    }

    fn is_write(&self) -> bool {
        matches!(self.method.as_str(), "POST" | "PATCH" | "PUT")
    }

    /// The referenceId and every sObject or field name must be plain identifiers.
    fn check(&self) -> Result<(), SalesforceError> {
        let ok = self
            .reference_id
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
            && self
                .reference_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(SalesforceError::InvalidRequest(format!(
                "referenceId {:?} must start with a letter or digit and hold only letters, \
                 digits and underscores",
                self.reference_id
            )));
        }
        for identifier in &self.identifiers {
            check_identifier(identifier)?;
        }
        Ok(())
    }
}

/// Keeps `@{ref.field}` references readable by Salesforce and encodes everything else.
fn encode_id(id: &str) -> String {
    if id.starts_with("@{") && id.ends_with('}') {
        id.to_owned()
    } else {
        encode_component(id)
    }
}

/// A composite request under construction; `push` enforces Salesforce's rules so a request that
/// would be refused is never sent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CompositeRequest {
    pub all_or_none: bool,
    subrequests: Vec<SubRequest>,
}

impl CompositeRequest {
    pub fn new(all_or_none: bool) -> Self {
        Self {
            all_or_none,
            subrequests: Vec::new(),
        }
    }

    pub fn subrequests(&self) -> &[SubRequest] {
        &self.subrequests
    }

    pub fn len(&self) -> usize {
        self.subrequests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.subrequests.is_empty()
    }

    /// Whether `subs` would still fit (count, query/collection count, unique reference ids).
    pub fn fits(&self, subs: &[SubRequest]) -> bool {
        let queries = self
            .subrequests
            .iter()
            .chain(subs)
            .filter(|s| s.is_query_or_collection())
            .count();
        self.subrequests.len() + subs.len() <= MAX_SUBREQUESTS && queries <= MAX_QUERY_OR_COLLECTION
    }

    /// Adds a subrequest, refusing one that breaks a rule.
    pub fn push(&mut self, sub: SubRequest) -> Result<&mut Self, SalesforceError> {
        sub.check()?;
        if !self.fits(std::slice::from_ref(&sub)) {
            return Err(SalesforceError::InvalidRequest(format!(
                "composite request full: at most {MAX_SUBREQUESTS} subrequests, \
                 {MAX_QUERY_OR_COLLECTION} of them queries or collections"
            )));
        }
        if self
            .subrequests
            .iter()
            .any(|s| s.reference_id == sub.reference_id)
        {
            return Err(SalesforceError::InvalidRequest(format!(
                "duplicate referenceId {:?}",
                sub.reference_id
            )));
        }
        self.subrequests.push(sub);
        Ok(self)
    }

    /// Whether any subrequest sets OwnerId.
    pub fn sets_owner(&self) -> bool {
        self.subrequests
            .iter()
            .any(|s| s.body.as_ref().is_some_and(sets_owner))
    }

    /// The JSON body; `duplicate_rule_header` is added to every write subrequest.
    pub fn body(&self, duplicate_rule_header: Option<&str>) -> Value {
        let subs: Vec<Value> = self
            .subrequests
            .iter()
            .map(|s| {
                let mut s = s.clone();
                if let Some(h) = duplicate_rule_header
                    && s.is_write()
                {
                    s.http_headers
                        .insert(DUPLICATE_RULE_HEADER.to_owned(), h.to_owned());
                }
                serde_json::to_value(s).unwrap_or(Value::Null)
            })
            .collect();
        let mut body = Map::new();
        body.insert("allOrNone".into(), Value::Bool(self.all_or_none));
        // Collation may run unrelated subrequests out of order; a read placed after a write
        // (the writer's LastModifiedDate after its PATCH) must see it.
        body.insert("collateSubrequests".into(), Value::Bool(false));
        body.insert("compositeRequest".into(), Value::Array(subs));
        Value::Object(body)
    }
}

/// The answer to a composite request: one entry per subrequest, in request order.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompositeResponse {
    pub composite_response: Vec<SubResponse>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubResponse {
    #[serde(default)]
    pub body: Value,
    #[serde(default)]
    pub http_headers: BTreeMap<String, String>,
    pub http_status_code: u16,
    pub reference_id: String,
}

impl SubResponse {
    /// The failure this subresponse reports: a non-2xx status, or a 2xx Collections body whose
    /// items failed.
    pub fn error(&self) -> Option<SalesforceError> {
        let status = self.http_status_code;
        if !(200..300).contains(&status) {
            let err = error_from_value(Some(status), &self.body)
                .unwrap_or_else(|| status_only(Some(status), &self.body.to_string()));
            return Some(err);
        }
        let items = self.body.as_array()?;
        let failed = items
            .iter()
            .filter(|i| i.get("success").and_then(Value::as_bool) == Some(false))
            .flat_map(|i| {
                i.get("errors")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|e| ApiError::from_value(&e));
        first_real_error(failed).map(|error| SalesforceError::Api {
            status: None,
            error,
        })
    }

    /// The record id a create/upsert returned.
    pub fn id(&self) -> Option<&str> {
        self.body.get("id").and_then(Value::as_str)
    }
}

impl CompositeResponse {
    pub fn get(&self, reference_id: &str) -> Option<&SubResponse> {
        self.composite_response
            .iter()
            .find(|r| r.reference_id == reference_id)
    }

    /// The failure to report for the whole request: the first real one, skipping subrequests that
    /// only say they were rolled back or halted because of it.
    pub fn first_failure(&self) -> Option<(&str, SalesforceError)> {
        let mut collateral = None;
        for r in &self.composite_response {
            if let Some(err) = r.error() {
                let is_collateral = err.api_error().is_some_and(ApiError::is_collateral);
                if !is_collateral {
                    return Some((r.reference_id.as_str(), err));
                }
                collateral.get_or_insert((r.reference_id.as_str(), err));
            }
        }
        collateral
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Classify, ErrorClass};
    use crate::salesforce::test_support::answers;
    use serde_json::json;

    #[test]
    fn builds_an_event_with_references() {
        let mut req = CompositeRequest::new(true);
        req.push(SubRequest::create(
            "newLead",
            "Lead",
            json!({"LastName": "Doe", "Company": "Acme", "OwnerId": "00G000000000001AAA"}),
        ))
        .unwrap()
        .push(SubRequest::create(
            "newTask",
            "Task",
            json!({"WhoId": reference("newLead", "id"), "Subject": "Chat"}),
        ))
        .unwrap()
        .push(SubRequest::update(
            "touchLead",
            "Lead",
            &reference("newLead", "id"),
            json!({"Description": "x"}),
        ))
        .unwrap();
        let body = req.body(Some("allowSave=true"));
        let expected = json!({
            "allOrNone": true,
            "collateSubrequests": false,
            "compositeRequest": [
                {"method": "POST", "url": "/services/data/v62.0/sobjects/Lead", "referenceId": "newLead",
                 "body": {"LastName": "Doe", "Company": "Acme", "OwnerId": "00G000000000001AAA"},
                 "httpHeaders": {"Sforce-Auto-Assign": "FALSE", "Sforce-Duplicate-Rule-Header": "allowSave=true"}},
                {"method": "POST", "url": "/services/data/v62.0/sobjects/Task", "referenceId": "newTask",
                 "body": {"WhoId": "@{newLead.id}", "Subject": "Chat"},
                 "httpHeaders": {"Sforce-Duplicate-Rule-Header": "allowSave=true"}},
                {"method": "PATCH", "url": "/services/data/v62.0/sobjects/Lead/@{newLead.id}", "referenceId": "touchLead",
                 "body": {"Description": "x"},
                 "httpHeaders": {"Sforce-Duplicate-Rule-Header": "allowSave=true"}}
            ]
        });
        assert_eq!(body, expected);
        assert!(req.sets_owner());
        // Without a duplicate-rule header, reads and plain writes carry no headers at all.
        let plain = req.body(None);
        assert!(plain["compositeRequest"][1].get("httpHeaders").is_none());
    }

    #[test]
    fn http_dates_are_imf_fixdate_in_utc() {
        use time::macros::datetime;
        assert_eq!(
            http_date(datetime!(1994-11-15 08:12:31.999 UTC)),
            "Tue, 15 Nov 1994 08:12:31 GMT"
        );
        assert_eq!(
            http_date(datetime!(2026-01-01 01:02:03 +02:00)),
            "Wed, 31 Dec 2025 23:02:03 GMT"
        );
        assert_eq!(
            http_date(datetime!(2024-02-29 00:00:00 UTC)),
            "Thu, 29 Feb 2024 00:00:00 GMT"
        );
    }

    #[test]
    fn a_conditional_update_carries_if_unmodified_since() {
        use time::macros::datetime;
        let sub = SubRequest::update(
            "touch",
            "Case",
            "500000000000001AAA",
            json!({"Status": "Working", "OwnerId": "00G000000000001AAA"}),
        )
        .if_unmodified_since(datetime!(2024-01-01 12:00:00.400 UTC));
        let mut req = CompositeRequest::new(true);
        req.push(sub).unwrap();
        let body = req.body(None);
        assert_eq!(
            body["compositeRequest"][0]["httpHeaders"],
            json!({"If-Unmodified-Since": "Mon, 01 Jan 2024 12:00:00 GMT", "Sforce-Auto-Assign": "FALSE"})
        );
    }

    #[test]
    fn urls_encode_values_and_queries() {
        let up = SubRequest::upsert("u", "Contact", "Chat_Id__c", "a/b c?&", json!({}));
        assert_eq!(
            up.url,
            "/services/data/v62.0/sobjects/Contact/Chat_Id__c/a%2Fb%20c%3F%26"
        );
        let q = SubRequest::query("q", "SELECT Id FROM Lead WHERE Email = 'a+b@x.io'");
        assert_eq!(
            q.url,
            "/services/data/v62.0/query?q=SELECT%20Id%20FROM%20Lead%20WHERE%20Email%20%3D%20%27a%2Bb%40x.io%27"
        );
        assert_eq!(
            SubRequest::delete("d", "Lead", "..").url,
            "/services/data/v62.0/sobjects/Lead/%2E%2E"
        );
        let g = SubRequest::get("g", "Lead", "00Q000000000001AAA", &["Id", "Email"]);
        assert_eq!(
            g.url,
            "/services/data/v62.0/sobjects/Lead/00Q000000000001AAA?fields=Id%2CEmail"
        );
    }

    #[test]
    fn push_enforces_the_rules() {
        let mut req = CompositeRequest::new(false);
        for i in 0..MAX_SUBREQUESTS {
            req.push(SubRequest::delete(&format!("d{i}"), "Lead", "x"))
                .unwrap();
        }
        assert!(
            req.push(SubRequest::delete("one_more", "Lead", "x"))
                .is_err()
        );

        let mut req = CompositeRequest::new(false);
        for i in 0..MAX_QUERY_OR_COLLECTION {
            req.push(SubRequest::query(&format!("q{i}"), "SELECT Id FROM Lead"))
                .unwrap();
        }
        assert!(
            req.push(SubRequest::query("q_extra", "SELECT Id FROM Lead"))
                .is_err()
        );
        assert!(req.push(SubRequest::delete("plain", "Lead", "x")).is_ok());

        let mut req = CompositeRequest::new(false);
        req.push(SubRequest::delete("same", "Lead", "x")).unwrap();
        assert!(req.push(SubRequest::delete("same", "Lead", "y")).is_err());
        for bad in ["", "_x", "a-b", "a.b", "a b"] {
            assert!(
                req.push(SubRequest::delete(bad, "Lead", "x")).is_err(),
                "{bad:?}"
            );
        }
        assert!(
            req.push(SubRequest::create("c", "Lead/../x", json!({})))
                .is_err()
        );
        assert!(
            req.push(SubRequest::upsert("u", "Lead", "Bad Field", "1", json!({})))
                .is_err()
        );
    }

    #[test]
    fn a_partial_failure_reports_the_invalid_type() {
        let r: CompositeResponse =
            serde_json::from_str(answers::COMPOSITE_PARTIAL_FAILURE_INVALID_TYPE).unwrap();
        assert!(r.get("countLeads").unwrap().error().is_none());
        let (reference_id, err) = r.first_failure().unwrap();
        assert_eq!(reference_id, "countNothing");
        assert_eq!(err.code(), Some("INVALID_TYPE"));
        assert_eq!(err.status(), Some(400));
        assert_eq!(err.class(), ErrorClass::Configuration);
    }

    #[test]
    fn a_subrequest_404() {
        let r: CompositeResponse = serde_json::from_str(answers::COMPOSITE_SUBREQUEST_404).unwrap();
        let (reference_id, err) = r.first_failure().unwrap();
        assert_eq!(reference_id, "describeMissing");
        assert_eq!(err.code(), Some("NOT_FOUND"));
        assert_eq!(err.status(), Some(404));
    }

    #[test]
    fn rollback_points_at_the_real_failure() {
        let r: CompositeResponse = serde_json::from_value(json!({"compositeResponse": [
            {"body": [{"errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled back since another operation in the same transaction failed."}],
             "httpHeaders": {}, "httpStatusCode": 400, "referenceId": "newLead"},
            {"body": [{"message": "Email: invalid email address: nope", "errorCode": "INVALID_EMAIL_ADDRESS", "fields": ["Email"]}],
             "httpHeaders": {}, "httpStatusCode": 400, "referenceId": "badContact"},
            {"body": null, "httpHeaders": {}, "httpStatusCode": 204, "referenceId": "patched"}
        ]}))
        .unwrap();
        let (reference_id, err) = r.first_failure().unwrap();
        assert_eq!(reference_id, "badContact");
        assert_eq!(err.code(), Some("INVALID_EMAIL_ADDRESS"));
        assert_eq!(err.class(), ErrorClass::Data);
        assert!(r.get("patched").unwrap().error().is_none());
    }

    #[test]
    fn collection_items_inside_a_composite_are_checked() {
        let r: CompositeResponse = serde_json::from_value(json!({"compositeResponse": [
            {"body": [{"id": "001000000000001AAA", "success": false, "errors": [
                {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "Record rolled back", "fields": []}]},
                      {"success": false, "errors": [{"statusCode": "DUPLICATES_DETECTED", "message": "Use one of these records?", "fields": []}]}],
             "httpHeaders": {}, "httpStatusCode": 200, "referenceId": "coll"},
            {"body": {"id": "003000000000001AAA", "success": true, "errors": []},
             "httpHeaders": {"Location": "/services/data/v62.0/sobjects/Contact/003000000000001AAA"},
             "httpStatusCode": 201, "referenceId": "created"}
        ]}))
        .unwrap();
        let (_, err) = r.first_failure().unwrap();
        assert_eq!(err.code(), Some("DUPLICATES_DETECTED"));
        assert_eq!(err.status(), None);
        assert_eq!(r.get("created").unwrap().id(), Some("003000000000001AAA"));
    }

    #[test]
    fn a_stale_subrequest_is_the_failure_and_is_not_retried() {
        // What the emulator answers for a 412 inside an all-or-none composite; the body's code is
        // not documented by Salesforce, so only the status is relied on.
        let r: CompositeResponse = serde_json::from_value(json!({"compositeResponse": [
            {"body": [{"errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled back since another operation in the same transaction failed."}],
             "httpHeaders": {}, "httpStatusCode": 400, "referenceId": "note"},
            {"body": [{"errorCode": "PRECONDITION_FAILED", "message": "The requested resource has been modified since Mon, 01 Jan 2024 11:59:59 GMT"}],
             "httpHeaders": {}, "httpStatusCode": 412, "referenceId": "touch"}
        ]}))
        .unwrap();
        let (reference_id, err) = r.first_failure().unwrap();
        assert_eq!(reference_id, "touch");
        assert!(err.is_precondition_failed());
        assert_eq!(err.class(), ErrorClass::Data);
        assert!(!err.class().is_retryable());
        assert!(
            !r.get("note")
                .unwrap()
                .error()
                .unwrap()
                .is_precondition_failed()
        );
    }

    #[test]
    fn ambiguous_upsert_inside_a_composite() {
        let sub: SubResponse = serde_json::from_value(json!({
            "body": ["/services/data/v62.0/sobjects/Contact/003A", "/services/data/v62.0/sobjects/Contact/003B"],
            "httpHeaders": {}, "httpStatusCode": 300, "referenceId": "up"}))
        .unwrap();
        assert!(
            matches!(sub.error(), Some(SalesforceError::Ambiguous { candidates }) if candidates.len() == 2)
        );
    }
}
