//! What every platform call passes before its handler, in the order a real API applies it: the
//! call is counted, an injected fault answers (after its latency), the credentials are checked,
//! then the platform's rate limit; every answer carries the platform's rate-limit headers.

use crate::faults::{self, FaultKind};
use crate::{Emulator, State, cloudcx, intercom, respondio, tidio};
use axum::Router;
use axum::extract::{MatchedPath, Request, State as AxState};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use std::time::Duration;
use time::OffsetDateTime;

/// A platform's fixed rate-limit window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub limit: u64,
    pub seconds: i64,
    pub start: i64,
    pub used: u64,
}

impl Window {
    pub(crate) fn new(limit: u64, seconds: i64) -> Self {
        Self {
            limit,
            seconds: seconds.max(1),
            start: 0,
            used: 0,
        }
    }

    /// Counts a call at `now` (UNIX seconds); false when the window's allowance is spent.
    fn take(&mut self, now: i64) -> bool {
        if now >= self.start + self.seconds {
            self.start = now - now.rem_euclid(self.seconds);
            self.used = 0;
        }
        if self.used >= self.limit {
            return false;
        }
        self.used += 1;
        true
    }

    pub(crate) fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }

    /// UNIX seconds when the window ends.
    pub(crate) fn reset_at(&self) -> i64 {
        self.start + self.seconds
    }
}

/// The documented default window of a platform (see each platform's module).
pub(crate) fn default_window(platform: &str) -> Window {
    match platform {
        "intercom" => intercom::RATE_WINDOW,
        "tidio" => tidio::RATE_WINDOW,
        "respondio" => respondio::RATE_WINDOW,
        _ => cloudcx::RATE_WINDOW,
    }
}

pub(crate) fn guard(
    routes: Router<Emulator>,
    platform: &'static str,
    emulator: &Emulator,
) -> Router<Emulator> {
    routes.layer(middleware::from_fn_with_state(
        (emulator.clone(), platform),
        gate,
    ))
}

async fn gate(
    AxState((emu, platform)): AxState<(Emulator, &'static str)>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| path.clone(), |m| m.as_str().to_owned());
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let fault = {
        let mut st = emu.lock();
        *st.calls.entry(platform.to_owned()).or_default() += 1;
        *st.by_route
            .entry(format!("{platform} {} {route}", request.method()))
            .or_default() += 1;
        faults::next(&mut st.faults, platform, &path)
    };
    if let Some(f) = fault
        && f.latency_ms > 0
    {
        tokio::time::sleep(Duration::from_millis(f.latency_ms)).await;
    }
    let mut authenticated = true;
    let refused = {
        let mut st = emu.lock();
        match fault.and_then(|f| f.error.map(|e| (e, f.retry_after))) {
            Some((FaultKind::RateLimited, wait)) => Some(limited(platform, &st, wait)),
            Some((FaultKind::ServerError, _)) => Some(error(
                platform,
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "The service is temporarily unavailable",
            )),
            Some((FaultKind::NotFound, _)) => Some(error(
                platform,
                StatusCode::NOT_FOUND,
                "not_found",
                "Resource Not Found",
            )),
            Some((FaultKind::Malformed, _)) => Some(
                (
                    StatusCode::OK,
                    [("content-type", "application/json")],
                    "{\"type\": \"conver",
                )
                    .into_response(),
            ),
            None => match authorize(platform, request.headers(), &st) {
                Err(refusal) => {
                    authenticated = false;
                    Some(*refusal)
                }
                Ok(()) => {
                    let window = st
                        .limits
                        .entry(platform.to_owned())
                        .or_insert_with(|| default_window(platform));
                    if window.take(now) {
                        None
                    } else {
                        let wait = u64::try_from(window.reset_at() - now).unwrap_or(1).max(1);
                        Some(limited(platform, &st, wait))
                    }
                }
            },
        }
    };
    let mut response = match refused {
        Some(r) => r,
        None => next.run(request).await,
    };
    // Only authenticated answers say how much of the quota is left (Intercom documents this).
    if !authenticated {
        return response;
    }
    let st = emu.lock();
    let window = st
        .limits
        .get(platform)
        .copied()
        .unwrap_or_else(|| default_window(platform));
    add_headers(response.headers_mut(), rate_headers(platform, &window));
    response
}

fn authorize(platform: &str, headers: &HeaderMap, st: &State) -> Result<(), Box<Response>> {
    match platform {
        "intercom" => intercom::authorize(headers, st),
        "tidio" => tidio::authorize(headers, st),
        "respondio" => respondio::authorize(headers, st),
        _ => cloudcx::authorize(headers, st),
    }
}

/// The platform's error answer.
pub(crate) fn error(platform: &str, status: StatusCode, code: &str, message: &str) -> Response {
    match platform {
        "intercom" => intercom::error(status, code, message),
        "tidio" => tidio::error(status, code, message),
        "respondio" => respondio::error(status, code, message),
        _ => cloudcx::error(status, code, message),
    }
}

fn limited(platform: &str, _st: &State, wait: u64) -> Response {
    let mut r = error(
        platform,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit_exceeded",
        "Too many requests",
    );
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        r.headers_mut().insert("retry-after", v);
    }
    r
}

fn rate_headers(platform: &str, w: &Window) -> Vec<(&'static str, String)> {
    match platform {
        "intercom" => intercom::rate_headers(w),
        "respondio" => respondio::rate_headers(w),
        "tidio" => tidio::rate_headers(w),
        _ => Vec::new(),
    }
}

fn add_headers(headers: &mut HeaderMap, list: Vec<(&'static str, String)>) {
    for (name, value) in list {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    }
}

/// A bearer token from `Authorization`, when one is given.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_refuses_past_its_limit_and_opens_again_when_it_ends() {
        let mut w = Window::new(2, 10);
        assert!(w.take(100) && w.take(105));
        assert!(!w.take(109));
        assert_eq!((w.remaining(), w.reset_at()), (0, 110));
        assert!(w.take(110));
        assert_eq!(w.remaining(), 1);
    }
}
