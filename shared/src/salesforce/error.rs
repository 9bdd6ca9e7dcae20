//! Salesforce failures, parsed from whatever the API sent back and classified for the pipeline.
//!
//! REST errors arrive as `[{"errorCode","message","fields"?}]`, Collections/SaveResult items as
//! `{"statusCode","message","fields"}`, the token endpoint as `{"error","error_description"}`, and
//! edge or maintenance pages as HTML. All of them end up in one [`SalesforceError`].

use crate::error::{Classify, ErrorClass};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Codes Salesforce puts on operations that were rolled back because *another* operation failed.
/// They are never the reason a batch failed, so summaries skip them.
pub const COLLATERAL_CODES: [&str; 2] = ["PROCESSING_HALTED", "ALL_OR_NONE_OPERATION_ROLLED_BACK"];

/// HTTP 412 Precondition Failed and the code that travels with it (Salesforce documents the
/// status for conditional requests, not a body; the code is what its APIs send with 412).
const PRECONDITION_FAILED_STATUS: u16 = 412;
const PRECONDITION_FAILED: &str = "PRECONDITION_FAILED";

/// Longest snippet of a non-JSON body kept as the message: enough to recognise a maintenance
/// page, short enough for a log line.
const SNIPPET_CHARS: usize = 200;

/// One error item as Salesforce reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// `errorCode` (REST) or `statusCode` (Collections/SaveResult), e.g. `REQUIRED_FIELD_MISSING`.
    pub code: String,
    pub message: String,
    /// Fields the error is about; often empty.
    pub fields: Vec<String>,
    /// Present for `DUPLICATES_DETECTED` when the rule's details came back (boxed: rare, and
    /// it would otherwise make every `Result` in the client carry its size).
    pub duplicate: Option<Box<DuplicateResult>>,
}

impl ApiError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            fields: Vec::new(),
            duplicate: None,
        }
    }

    /// Whether this item only reports a rollback caused by a sibling.
    pub fn is_collateral(&self) -> bool {
        COLLATERAL_CODES.contains(&self.code.as_str())
    }

    /// Reads one error object, accepting both `errorCode` and `statusCode` and both spellings of
    /// the duplicate detail (`duplicateResut` is what real v50/v51 orgs send).
    pub fn from_value(value: &Value) -> Option<Self> {
        let obj = value.as_object()?;
        let code = obj
            .get("errorCode")
            .or_else(|| obj.get("statusCode"))
            .and_then(Value::as_str)?;
        let message = obj.get("message").and_then(Value::as_str).unwrap_or("");
        let fields = obj
            .get("fields")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let duplicate = obj
            .get("duplicateResult")
            .or_else(|| obj.get("duplicateResut"))
            .and_then(DuplicateResult::from_value)
            .map(Box::new);
        Some(Self {
            code: code.to_owned(),
            // Salesforce quotes refused values ("invalid email address: jane@…"); the message
            // goes to logs and the sync log, so it is masked here, once.
            message: crate::synclog::payload::mask_free_text(message),
            fields,
            duplicate,
        })
    }
}

/// What a duplicate rule reported: whether saving anyway is allowed and which records matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateResult {
    pub allow_save: bool,
    pub duplicate_rule: Option<String>,
    pub entity_type: Option<String>,
    /// Ids of the existing records the rule matched, in the order Salesforce listed them.
    pub match_record_ids: Vec<String>,
}

impl DuplicateResult {
    fn from_value(value: &Value) -> Option<Self> {
        let obj = value.as_object()?;
        let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_owned);
        let match_record_ids = obj
            .get("matchResults")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| m.get("matchRecords").and_then(Value::as_array))
            .flatten()
            .filter_map(|r| r.get("record")?.get("Id")?.as_str().map(str::to_owned))
            .collect();
        Some(Self {
            allow_save: obj
                .get("allowSave")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            duplicate_rule: text("duplicateRule"),
            entity_type: text("duplicateRuleEntityType"),
            match_record_ids,
        })
    }
}

/// How a transport failure happened; timeouts are reported apart because operators read them
/// differently from refused connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Timeout,
    Connect,
    Other,
}

/// Every failure of the Salesforce client.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SalesforceError {
    /// The REST API refused the request (or one item of a composite/collection request).
    /// `status` is `None` for Collections items, which carry no status of their own.
    #[error("Salesforce {code}{}: {message}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default(), code = error.code, message = error.message)]
    Api {
        status: Option<u16>,
        error: ApiError,
    },
    /// An upsert by external id matched more than one record (HTTP 300).
    #[error("external id matched {} records", candidates.len())]
    Ambiguous { candidates: Vec<String> },
    /// The token endpoint refused to issue a token.
    #[error("Salesforce OAuth {error} (HTTP {status}): {description}")]
    Auth {
        status: u16,
        error: String,
        description: String,
    },
    /// The request never got an HTTP answer.
    #[error("Salesforce transport failure ({kind:?}): {message}")]
    Transport {
        kind: TransportKind,
        message: String,
    },
    /// A success status with a body we could not read.
    #[error("unreadable Salesforce response (HTTP {status}): {reason}")]
    InvalidResponse { status: u16, reason: String },
    /// The request was built wrongly (too many subrequests, bad identifier…); nothing was sent.
    #[error("invalid Salesforce request: {0}")]
    InvalidRequest(String),
    /// The tenant's Salesforce setup cannot work (unreadable private key, bad URL…).
    #[error("Salesforce configuration: {0}")]
    Configuration(String),
    /// Writing a rotated refresh token back failed; the new token is kept in memory and the write
    /// is retried before the next use.
    #[error("could not persist the rotated refresh token: {0}")]
    TokenSink(String),
    /// The tenant's API budget refused the work before any call was made.
    #[error("API budget refused {priority:?} work: {reason}")]
    BudgetExhausted {
        priority: super::limits::Priority,
        reason: String,
    },
}

impl SalesforceError {
    /// The Salesforce error code, when the API sent one.
    /// The token endpoint refused the grant (an expired, revoked or rotated refresh token).
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, Self::Auth { error, .. } if error == "invalid_grant")
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { error, .. } => Some(&error.code),
            Self::Auth { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The HTTP status the failure came with, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => *status,
            Self::Ambiguous { .. } => Some(300),
            Self::Auth { status, .. } | Self::InvalidResponse { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The API error item, for fields and duplicate details.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Self::Api { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Whether a conditional request (`If-Unmodified-Since`) was refused because the record
    /// changed since the caller read it: HTTP 412, whatever body came with it. This is a conflict
    /// for the caller to settle (read again, merge, decide), never something to retry unchanged.
    pub fn is_precondition_failed(&self) -> bool {
        match self {
            Self::Api { status, error } => {
                *status == Some(PRECONDITION_FAILED_STATUS) || error.code == PRECONDITION_FAILED
            }
            _ => false,
        }
    }

    /// Whether this is an expired session that a token refresh can cure (the "not valid for use
    /// with the REST API" variant cannot: IP restrictions or a high-assurance session).
    pub fn is_refreshable_session(&self) -> bool {
        matches!(
            self,
            Self::Api { error, .. }
                if error.code == "INVALID_SESSION_ID" && !is_rest_api_refusal(&error.message)
        )
    }

    pub(crate) fn transport(e: reqwest::Error) -> Self {
        let kind = if e.is_timeout() {
            TransportKind::Timeout
        } else if e.is_connect() {
            TransportKind::Connect
        } else {
            TransportKind::Other
        };
        // Without the URL: query strings carry SOQL with visitors' emails and phone numbers.
        Self::Transport {
            kind,
            message: e.without_url().to_string(),
        }
    }
}

fn is_rest_api_refusal(message: &str) -> bool {
    message.contains("not valid for use with the REST API")
}

impl Classify for SalesforceError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::Api { status, error } => classify_api(*status, &error.code, &error.message),
            // Someone must pick the right record; a retry would match the same several.
            Self::Ambiguous { .. } => ErrorClass::Data,
            Self::Auth { status, .. } if *status >= 500 => ErrorClass::Transient,
            // invalid_grant, invalid_client, inactive user…: an admin must fix the connection.
            Self::Auth { .. } => ErrorClass::Configuration,
            Self::Transport { .. } | Self::InvalidResponse { .. } => ErrorClass::Transient,
            Self::InvalidRequest(_) => ErrorClass::Data,
            Self::Configuration(_) => ErrorClass::Configuration,
            Self::TokenSink(_) => ErrorClass::Transient,
            Self::BudgetExhausted { .. } => ErrorClass::RateLimited,
        }
    }
}

/// The one table that maps a Salesforce error to what the pipeline does with it.
pub fn classify_api(status: Option<u16>, code: &str, message: &str) -> ErrorClass {
    match code {
        // The record changed since it was read: the caller settles the conflict; a blind retry
        // would fail the same way (or, with a fresh date, overwrite someone's change).
        _ if status == Some(PRECONDITION_FAILED_STATUS) || code == PRECONDITION_FAILED => {
            ErrorClass::Data
        }
        "UNABLE_TO_LOCK_ROW" | "SERVER_UNAVAILABLE" => ErrorClass::Transient,
        // The daily allowance says "TotalRequests Limit exceeded."; anything else under this code
        // is the concurrent long-running-request cap, which clears in seconds.
        "REQUEST_LIMIT_EXCEEDED" if message.contains("TotalRequests") => ErrorClass::RateLimited,
        "REQUEST_LIMIT_EXCEEDED" => ErrorClass::Transient,
        "INVALID_SESSION_ID" if is_rest_api_refusal(message) => ErrorClass::Configuration,
        "INVALID_SESSION_ID" => ErrorClass::Session,
        // The object, feature or field-level access is missing in the org: an admin's job.
        "API_DISABLED_FOR_ORG"
        | "API_CURRENTLY_DISABLED"
        | "FUNCTIONALITY_NOT_ENABLED"
        | "INVALID_TYPE"
        | "INVALID_FIELD_FOR_INSERT_UPDATE" => ErrorClass::Configuration,
        c if c.starts_with("INSUFFICIENT_ACCESS") => ErrorClass::Configuration,
        // Rolled back because of a sibling: the batch can go again once the culprit is fixed.
        c if COLLATERAL_CODES.contains(&c) => ErrorClass::Transient,
        _ => classify_status(status),
    }
}

/// Fallback for codes not named above (validation, required field, picklist, duplicates,
/// converted lead, deleted entity, bad reference… all land on Data through the 4xx arm).
fn classify_status(status: Option<u16>) -> ErrorClass {
    match status {
        Some(s) if s >= 500 => ErrorClass::Transient,
        Some(401) => ErrorClass::Session,
        Some(403) => ErrorClass::Configuration,
        _ => ErrorClass::Data,
    }
}

/// Builds the error for a non-success REST response from its status and raw body.
pub fn parse_error_body(status: u16, body: &str) -> SalesforceError {
    match serde_json::from_str::<Value>(body) {
        Ok(value) => error_from_value(Some(status), &value)
            .unwrap_or_else(|| status_only(Some(status), body)),
        Err(_) => status_only(Some(status), body),
    }
}

/// Builds the error from an already-parsed body (composite subresponses carry theirs as JSON).
/// `None` when the body holds no recognisable error.
pub fn error_from_value(status: Option<u16>, value: &Value) -> Option<SalesforceError> {
    if status == Some(300)
        && let Ok(candidates) = serde_json::from_value::<Vec<String>>(value.clone())
    {
        return Some(SalesforceError::Ambiguous { candidates });
    }
    let items: Vec<ApiError> = match value {
        Value::Array(items) => items.iter().filter_map(ApiError::from_value).collect(),
        v @ Value::Object(_) => ApiError::from_value(v).into_iter().collect(),
        _ => Vec::new(),
    };
    first_real_error(items).map(|error| SalesforceError::Api { status, error })
}

/// An error known only by its status: the code is derived (`HTTP_503`) and the message is a
/// snippet of whatever came back.
pub(crate) fn status_only(status: Option<u16>, body: &str) -> SalesforceError {
    let code = status.map_or_else(|| "UNKNOWN".to_owned(), |s| format!("HTTP_{s}"));
    SalesforceError::Api {
        status,
        error: ApiError::new(
            code,
            crate::synclog::payload::mask_free_text(&snippet(body)),
        ),
    }
}

/// Picks the error to report from a list: the first one that is not collateral, else the first.
pub(crate) fn first_real_error(items: impl IntoIterator<Item = ApiError>) -> Option<ApiError> {
    let mut first = None;
    for item in items {
        if !item.is_collateral() {
            return Some(item);
        }
        first.get_or_insert(item);
    }
    first
}

/// A short, single-line, tag-free excerpt of a body we could not parse (HTML maintenance pages).
pub(crate) fn snippet(body: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    let mut last_space = true;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                if !last_space {
                    out.push(' ');
                    last_space = true;
                }
            }
            _ if in_tag => {}
            c if c.is_whitespace() => {
                if !last_space {
                    out.push(' ');
                    last_space = true;
                }
            }
            c => {
                out.push(c);
                last_space = false;
            }
        }
        if out.chars().count() >= SNIPPET_CHARS {
            break;
        }
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::test_support::answers;

    fn class_of(status: u16, code: &str, message: &str) -> ErrorClass {
        let body = serde_json::json!([{ "errorCode": code, "message": message }]).to_string();
        parse_error_body(status, &body).class()
    }

    #[test]
    fn personal_values_quoted_in_salesforce_errors_are_masked() {
        let body = serde_json::json!([{
            "errorCode": "INVALID_EMAIL_ADDRESS",
            "message": "Email: invalid email address: jane.doe@example.org",
            "fields": ["Email"]
        }])
        .to_string();
        let err = parse_error_body(400, &body);
        let text = err.to_string();
        assert!(!text.contains("jane.doe@example.org"), "{text}");
        assert!(
            text.contains("INVALID_EMAIL_ADDRESS") && text.contains("Email:"),
            "{text}"
        );
        let page = parse_error_body(
            500,
            "<html><body>No agent for +44 7700 900123</body></html>",
        );
        assert!(!page.to_string().contains("7700 900123"), "{page}");
    }

    #[test]
    fn an_expired_session_401_is_refreshable() {
        let err = parse_error_body(401, answers::INVALID_SESSION_401);
        assert_eq!(err.code(), Some("INVALID_SESSION_ID"));
        assert_eq!(err.status(), Some(401));
        assert_eq!(err.class(), ErrorClass::Session);
        assert!(err.is_refreshable_session());
    }

    #[test]
    fn rest_api_refusal_variant_is_configuration_and_not_refreshed() {
        let body = r#"[{"message":"This session is not valid for use with the REST API","errorCode":"INVALID_SESSION_ID"}]"#;
        let err = parse_error_body(401, body);
        assert_eq!(err.class(), ErrorClass::Configuration);
        assert!(!err.is_refreshable_session());
    }

    #[test]
    fn duplicates_detected_reads_the_misspelled_key() {
        let err = parse_error_body(400, answers::DUPLICATES_DETECTED_400);
        assert_eq!(err.code(), Some("DUPLICATES_DETECTED"));
        assert_eq!(err.class(), ErrorClass::Data);
        let dup = err
            .api_error()
            .and_then(|e| e.duplicate.as_deref().cloned())
            .expect("duplicate details parsed from duplicateResut");
        assert!(dup.allow_save);
        assert_eq!(
            dup.duplicate_rule.as_deref(),
            Some("Chat_Visitor_Duplicates")
        );
        assert_eq!(dup.entity_type.as_deref(), Some("Contact"));
        assert_eq!(dup.match_record_ids, vec!["003Ws00000Dup1qAAB".to_owned()]);
    }

    #[test]
    fn correctly_spelled_duplicate_result_is_read_too() {
        let body = r#"[{"duplicateResult":{"allowSave":false,"duplicateRule":"R","matchResults":[{"matchRecords":[{"record":{"Id":"00Q000000000001AAA"}}]}]},"errorCode":"DUPLICATES_DETECTED","message":"Use one of these records?"}]"#;
        let err = parse_error_body(400, body);
        let dup = err
            .api_error()
            .and_then(|e| e.duplicate.as_deref().cloned());
        let dup = dup.expect("duplicateResult parsed");
        assert!(!dup.allow_save);
        assert_eq!(dup.match_record_ids, vec!["00Q000000000001AAA".to_owned()]);
    }

    #[test]
    fn not_found_404_is_data() {
        let err = parse_error_body(404, answers::NOT_FOUND_404);
        assert_eq!(err.code(), Some("NOT_FOUND"));
        assert_eq!(err.class(), ErrorClass::Data);
    }

    #[test]
    fn multiple_matches_300_are_ambiguous_with_candidates() {
        let err = parse_error_body(300, answers::UPSERT_300_MULTIPLE_MATCHES);
        match &err {
            SalesforceError::Ambiguous { candidates } => assert_eq!(candidates.len(), 2),
            other => panic!("expected Ambiguous, got {other:?}"),
        }
        assert_eq!(err.class(), ErrorClass::Data);
    }

    #[test]
    fn html_bodies_become_a_status_code_and_a_snippet() {
        let html = "<html><head><title>Maintenance</title></head>\n<body><h1>We are down for maintenance</h1>\n</body></html>";
        let err = parse_error_body(503, html);
        assert_eq!(err.code(), Some("HTTP_503"));
        assert_eq!(err.class(), ErrorClass::Transient);
        let message = err
            .api_error()
            .map(|e| e.message.clone())
            .unwrap_or_default();
        assert_eq!(message, "Maintenance We are down for maintenance");
        let long = format!("<p>{}</p>", "x".repeat(5000));
        let err = parse_error_body(500, &long);
        let len = err.api_error().map(|e| e.message.len()).unwrap_or_default();
        assert!(len <= SNIPPET_CHARS, "snippet kept short, got {len}");
    }

    #[test]
    fn every_named_code_lands_in_its_class() {
        use ErrorClass::*;
        let cases: &[(u16, &str, &str, ErrorClass)] = &[
            (
                400,
                "UNABLE_TO_LOCK_ROW",
                "unable to obtain exclusive access to this record",
                Transient,
            ),
            (503, "SERVER_UNAVAILABLE", "Server too busy", Transient),
            (
                500,
                "UNKNOWN_EXCEPTION",
                "An unexpected error occurred",
                Transient,
            ),
            (
                403,
                "REQUEST_LIMIT_EXCEEDED",
                "TotalRequests Limit exceeded.",
                RateLimited,
            ),
            (
                403,
                "REQUEST_LIMIT_EXCEEDED",
                "ConcurrentPerOrgLongTxn Limit exceeded.",
                Transient,
            ),
            (
                401,
                "INVALID_SESSION_ID",
                "Session expired or invalid",
                Session,
            ),
            (
                400,
                "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                "Close date must be in the future",
                Data,
            ),
            (
                400,
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [Name]",
                Data,
            ),
            (
                400,
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "bad value for restricted picklist field: X",
                Data,
            ),
            (
                400,
                "DUPLICATES_DETECTED",
                "Use one of these records?",
                Data,
            ),
            (400, "DUPLICATE_VALUE", "duplicate value found", Data),
            (
                400,
                "CANNOT_UPDATE_CONVERTED_LEAD",
                "cannot reference converted lead",
                Data,
            ),
            (404, "ENTITY_IS_DELETED", "entity is deleted", Data),
            (
                400,
                "INVALID_CROSS_REFERENCE_KEY",
                "invalid cross reference id",
                Data,
            ),
            (
                400,
                "MALFORMED_ID",
                "Account ID: id value of incorrect type",
                Data,
            ),
            (
                400,
                "STRING_TOO_LONG",
                "data value too large (max length=40)",
                Data,
            ),
            (
                400,
                "INVALID_FIELD",
                "No such column 'foo' on sobject of type Bar",
                Data,
            ),
            (
                400,
                "INVALID_EMAIL_ADDRESS",
                "Email: invalid email address",
                Data,
            ),
            (
                400,
                "INACTIVE_OWNER_OR_USER",
                "operation performed with inactive user",
                Data,
            ),
            (400, "MALFORMED_QUERY", "unexpected token", Data),
            (
                400,
                "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
                "insufficient access rights on cross-reference id",
                Configuration,
            ),
            (
                403,
                "INSUFFICIENT_ACCESS",
                "insufficient access rights",
                Configuration,
            ),
            (
                403,
                "API_DISABLED_FOR_ORG",
                "API is not enabled for this Organization or Partner",
                Configuration,
            ),
            (403, "FORBIDDEN", "refused", Configuration),
            (
                400,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                "Unable to create/update fields: Name",
                Configuration,
            ),
        ];
        for (status, code, message, want) in cases {
            assert_eq!(
                class_of(*status, code, message),
                *want,
                "{code} ({status}) {message}"
            );
        }
    }

    #[test]
    fn collateral_codes_are_skipped_for_the_real_failure() {
        let body = r#"[{"errorCode":"PROCESSING_HALTED","message":"rolled back"},{"errorCode":"REQUIRED_FIELD_MISSING","message":"Required fields are missing: [LastName]","fields":["LastName"]}]"#;
        let err = parse_error_body(400, body);
        assert_eq!(err.code(), Some("REQUIRED_FIELD_MISSING"));
        assert_eq!(
            err.to_string(),
            "Salesforce REQUIRED_FIELD_MISSING (HTTP 400): Required fields are missing: [LastName]"
        );
        assert_eq!(
            err.api_error().map(|e| e.fields.clone()),
            Some(vec!["LastName".to_owned()])
        );
        // Only collateral: reported as such, and worth another try once the batch is rebuilt.
        let only = parse_error_body(
            400,
            r#"[{"errorCode":"PROCESSING_HALTED","message":"rolled back"}]"#,
        );
        assert_eq!(only.code(), Some("PROCESSING_HALTED"));
        assert_eq!(only.class(), ErrorClass::Transient);
    }

    #[test]
    fn precondition_failed_is_recognised_and_never_retried() {
        for body in [
            r#"[{"errorCode":"PRECONDITION_FAILED","message":"The requested resource has been modified since Mon, 01 Jan 2024 12:00:00 GMT"}]"#,
            "",
            "<html>Precondition Failed</html>",
        ] {
            let err = parse_error_body(412, body);
            assert!(err.is_precondition_failed(), "{body:?}");
            assert_eq!(err.status(), Some(412));
            assert_eq!(err.class(), ErrorClass::Data);
            assert!(!err.class().is_retryable());
        }
        assert!(
            !parse_error_body(400, r#"[{"errorCode":"MALFORMED_HEADER","message":"x"}]"#)
                .is_precondition_failed()
        );
        assert!(!parse_error_body(404, answers::NOT_FOUND_404).is_precondition_failed());
        let transport = SalesforceError::Transport {
            kind: TransportKind::Timeout,
            message: "timed out".into(),
        };
        assert!(!transport.is_precondition_failed());
    }

    #[test]
    fn collections_items_use_status_code() {
        let item =
            serde_json::json!({"statusCode":"MALFORMED_ID","message":"bad id","fields":["Id"]});
        let e = ApiError::from_value(&item).expect("statusCode read");
        assert_eq!(e.code, "MALFORMED_ID");
        assert_eq!(e.fields, vec!["Id".to_owned()]);
    }

    #[test]
    fn transport_and_auth_errors_classify() {
        let t = SalesforceError::Transport {
            kind: TransportKind::Timeout,
            message: "timed out".into(),
        };
        assert_eq!(t.class(), ErrorClass::Transient);
        let grant = SalesforceError::Auth {
            status: 400,
            error: "invalid_grant".into(),
            description: "expired access/refresh token".into(),
        };
        assert_eq!(grant.class(), ErrorClass::Configuration);
        let down = SalesforceError::Auth {
            status: 503,
            error: "HTTP_503".into(),
            description: String::new(),
        };
        assert_eq!(down.class(), ErrorClass::Transient);
    }
}
