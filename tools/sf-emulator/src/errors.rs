//! Salesforce error bodies, in one place, worded as the real API words them.
//!
//! Top-level REST errors are a JSON array of `{message, errorCode, fields?}`; per-record results in
//! sObject Collections use `statusCode` instead of `errorCode`. Both are rendered from [`ApiError`].

use serde_json::{Map, Value, json};

/// One Salesforce API error, with the HTTP status it travels with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    /// `None` when the real API omits the key (NOT_FOUND, session and query errors).
    pub fields: Option<Vec<String>>,
    /// Extra top-level keys of the error object (DUPLICATES_DETECTED's `duplicateResut`).
    pub extra: Option<Map<String, Value>>,
}

impl ApiError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_string(),
            message: message.into(),
            fields: None,
            extra: None,
        }
    }

    /// A DML error, which always names the fields involved (possibly none).
    pub fn dml(code: &str, message: impl Into<String>, fields: &[&str]) -> Self {
        let mut e = Self::new(400, code, message);
        e.fields = Some(fields.iter().map(|f| f.to_string()).collect());
        e
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub fn not_found() -> Self {
        Self::new(404, "NOT_FOUND", "The requested resource does not exist")
    }

    pub fn entity_deleted() -> Self {
        let mut e = Self::new(404, "ENTITY_IS_DELETED", "entity is deleted");
        e.fields = Some(Vec::new());
        e
    }

    /// `label` is what Salesforce puts first: "Account ID" for a row id, a field's label otherwise.
    pub fn malformed_id(label: &str, field: &str, value: &str) -> Self {
        Self::dml(
            "MALFORMED_ID",
            format!("{label}: id value of incorrect type: {value}"),
            &[field],
        )
    }

    pub fn json_parser(message: impl Into<String>) -> Self {
        Self::new(400, "JSON_PARSER_ERROR", message)
    }

    pub fn session_invalid() -> Self {
        Self::new(401, "INVALID_SESSION_ID", "Session expired or invalid")
    }

    pub fn limit_exceeded() -> Self {
        Self::new(
            403,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
        )
    }

    pub fn method_not_allowed(method: &str) -> Self {
        Self::new(
            405,
            "METHOD_NOT_ALLOWED",
            format!("HTTP Method '{method}' not allowed. Allowed are GET,PATCH,DELETE"),
        )
    }

    /// The error object as it appears in a top-level REST error array.
    pub fn to_object(&self) -> Value {
        let mut obj = Map::new();
        if let Some(extra) = &self.extra {
            for (k, v) in extra {
                obj.insert(k.clone(), v.clone());
            }
        }
        obj.insert("message".into(), Value::String(self.message.clone()));
        obj.insert("errorCode".into(), Value::String(self.code.clone()));
        if let Some(fields) = &self.fields {
            obj.insert("fields".into(), json!(fields));
        }
        Value::Object(obj)
    }

    /// The whole REST error body: an array with this one error.
    pub fn to_body(&self) -> Value {
        Value::Array(vec![self.to_object()])
    }

    /// The per-record error object used by Collections and SaveResults.
    pub fn to_status_item(&self) -> Value {
        json!({
            "statusCode": self.code,
            "message": self.message,
            "fields": self.fields.clone().unwrap_or_default(),
        })
    }
}
