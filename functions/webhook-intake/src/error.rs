//! Intake errors and the one place they become HTTP responses.

use lambda_http::{Body, Response, http};
use shared::error::Classify;
use shared::platforms::{ParseError, Platform, UnknownPlatform, VerifyError};
use shared::store::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum IntakeError {
    #[error("method not allowed; use POST (or HEAD to check the URL)")]
    MethodNotAllowed,
    #[error(transparent)]
    UnknownPlatform(UnknownPlatform),
    #[error("unknown tenant")]
    UnknownTenant,
    #[error("this tenant does not accept {0} webhooks")]
    PlatformNotEnabled(Platform),
    #[error("body exceeds {limit} bytes")]
    TooLarge { limit: usize },
    #[error("an event of this delivery exceeds the queue's {limit}-byte message limit")]
    EventTooLarge { limit: usize },
    #[error("body is empty")]
    EmptyBody,
    #[error("body is not UTF-8 JSON")]
    NotUtf8,
    #[error("content type must be application/json")]
    UnsupportedMediaType,
    #[error("signature rejected: {0}")]
    Signature(#[from] VerifyError),
    #[error("malformed payload: {0}")]
    Malformed(#[from] ParseError),
    #[error("this tenant's deliveries are over its rate; retry in {retry_after} s")]
    RateLimited { retry_after: u32 },
    #[error("temporarily unavailable, retry later")]
    Store(#[from] StoreError),
    #[error("internal error")]
    Internal(String),
}

impl IntakeError {
    /// The status a platform sees. Never 410: Intercom disables a subscription on 410.
    pub fn status(&self) -> u16 {
        match self {
            IntakeError::MethodNotAllowed => 405,
            IntakeError::UnknownPlatform(_) => 404,
            // One answer for all three, so the URL tells no one which tenants exist or which
            // platforms they use; the log line names the real reason.
            IntakeError::UnknownTenant
            | IntakeError::PlatformNotEnabled(_)
            | IntakeError::Signature(_) => 401,
            IntakeError::TooLarge { .. } | IntakeError::EventTooLarge { .. } => 413,
            IntakeError::UnsupportedMediaType => 415,
            IntakeError::RateLimited { .. } => 429,
            IntakeError::EmptyBody | IntakeError::NotUtf8 | IntakeError::Malformed(_) => 400,
            IntakeError::Store(e) if e.class().is_retryable() => 503,
            IntakeError::Store(_) | IntakeError::Internal(_) => 500,
        }
    }

    /// A stable machine-readable code for the response body.
    pub fn code(&self) -> &'static str {
        match self {
            IntakeError::MethodNotAllowed => "method_not_allowed",
            IntakeError::UnknownPlatform(_) => "unknown_platform",
            IntakeError::UnknownTenant => "unknown_tenant",
            IntakeError::PlatformNotEnabled(_) => "platform_not_enabled",
            IntakeError::TooLarge { .. } => "body_too_large",
            IntakeError::EventTooLarge { .. } => "event_too_large",
            IntakeError::EmptyBody => "empty_body",
            IntakeError::NotUtf8 => "not_utf8",
            IntakeError::UnsupportedMediaType => "unsupported_media_type",
            IntakeError::Signature(_) => "bad_signature",
            IntakeError::Malformed(_) => "malformed_payload",
            IntakeError::RateLimited { .. } => "rate_limited",
            IntakeError::Store(_) => "unavailable",
            IntakeError::Internal(_) => "internal",
        }
    }

    /// True for the refusals that answer alike (see [`IntakeError::status`]).
    fn unauthorized(&self) -> bool {
        matches!(
            self,
            IntakeError::UnknownTenant
                | IntakeError::PlatformNotEnabled(_)
                | IntakeError::Signature(_)
        )
    }

    /// The response; the handler logs the outcome (with the real reason) once per delivery.
    pub(crate) fn into_response(self) -> Response<Body> {
        let status = self.status();
        let body = if self.unauthorized() {
            serde_json::json!({
                "error": "unauthorized",
                "message": "the signature, tenant or platform is not recognised"
            })
        } else {
            serde_json::json!({"error": self.code(), "message": self.to_string()})
        };
        let mut response = json_response(status, &body);
        if let IntakeError::RateLimited { retry_after } = self
            && let Ok(value) = http::HeaderValue::from_str(&retry_after.to_string())
        {
            // The platforms retry a 429 (Intercom, respond.io by their retry schedules).
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, value);
        }
        response
    }
}

pub(crate) fn json_response(status: u16, body: &serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Text(body.to_string()))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_error_ever_answers_410() {
        let errors = [
            IntakeError::MethodNotAllowed,
            IntakeError::UnknownTenant,
            IntakeError::TooLarge { limit: 1 },
            IntakeError::EventTooLarge { limit: 1 },
            IntakeError::EmptyBody,
            IntakeError::NotUtf8,
            IntakeError::UnsupportedMediaType,
            IntakeError::Signature(VerifyError::Mismatch),
            IntakeError::Signature(VerifyError::NoSecret),
            IntakeError::Malformed(ParseError::NotObject),
            IntakeError::Internal(String::new()),
            IntakeError::RateLimited { retry_after: 1 },
        ];
        for e in errors {
            assert_ne!(e.status(), 410, "{e}");
        }
    }

    #[test]
    fn unknown_tenants_disabled_platforms_and_bad_signatures_answer_alike() {
        let refusals = [
            IntakeError::UnknownTenant,
            IntakeError::PlatformNotEnabled(Platform::Tidio),
            IntakeError::Signature(VerifyError::Mismatch),
            IntakeError::Signature(VerifyError::NoSecret),
        ];
        let answers: Vec<(u16, String)> = refusals
            .into_iter()
            .map(|e| {
                let r = e.into_response();
                let body = match r.body() {
                    Body::Text(t) => t.clone(),
                    _ => String::new(),
                };
                (r.status().as_u16(), body)
            })
            .collect();
        assert_eq!(answers[0].0, 401);
        assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    }

    #[test]
    fn signature_failures_are_401_and_bad_bodies_400() {
        assert_eq!(IntakeError::Signature(VerifyError::Mismatch).status(), 401);
        assert_eq!(IntakeError::Malformed(ParseError::NotObject).status(), 400);
        assert_eq!(IntakeError::TooLarge { limit: 1 }.status(), 413);
    }

    #[test]
    fn an_oversized_event_names_the_queue_limit_not_the_body_limit() {
        let e = IntakeError::EventTooLarge { limit: 262_144 };
        assert_eq!(e.status(), 413);
        assert_eq!(e.code(), "event_too_large");
        assert!(e.to_string().contains("262144-byte message limit"), "{e}");
        assert_eq!(IntakeError::TooLarge { limit: 1 }.code(), "body_too_large");
    }

    #[test]
    fn a_rate_limited_delivery_is_told_when_to_retry() {
        let response = IntakeError::RateLimited { retry_after: 17 }.into_response();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "17");
    }
}
