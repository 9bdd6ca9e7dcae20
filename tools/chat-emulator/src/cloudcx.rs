//! CloudCX: the one REST call its documentation shows, the OAuth2 password grant
//! (`POST https://<your CX domain>/oauth/token`, form fields `client_id`, `client_secret`,
//! `grant_type=password`, `username`, `password`; the answer's `access_token` is a JWT:
//! <https://cloudfon.atlassian.net/wiki/spaces/CX/pages/58130433/9.3.3+Authentication>).
//! CloudCX documents no path for tickets, messages, chat sessions, visitors, contacts or agents,
//! nor the header a token goes in, so there are no such routes here (docs/platforms.md#cloudcx).
//! Its error bodies and limits are undocumented: a refused grant answers as RFC 6749 §5.2 says.

use crate::gate::Window;
use crate::{Emulator, State};
use axum::Form;
use axum::Router;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use std::collections::HashMap;

/// Undocumented; generous, so only injected faults limit CloudCX calls.
pub(crate) const RATE_WINDOW: Window = Window {
    limit: 600,
    seconds: 60,
    start: 0,
    used: 0,
};

pub(crate) fn routes() -> Router<Emulator> {
    Router::new().route("/oauth/token", post(token))
}

pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": code, "error_description": message})),
    )
        .into_response()
}

/// The token endpoint authenticates by its form, not by a header.
pub(crate) fn authorize(_headers: &HeaderMap, _st: &State) -> Result<(), Box<Response>> {
    Ok(())
}

async fn token(
    AxState(emu): AxState<Emulator>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "password" {
        return error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be password",
        );
    }
    let presented = [
        field("client_id"),
        field("client_secret"),
        field("username"),
        field("password"),
    ]
    .join(":");
    if !emu.lock().accepts("cloudcx", &presented) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The user credentials or client are invalid",
        );
    }
    axum::Json(json!({
        "access_token": format!("cx.{}", uuid::Uuid::new_v4().simple()),
        "token_type": "Bearer",
    }))
    .into_response()
}
