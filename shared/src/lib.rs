//! chatsync's shared library: the domain model, platform adapters, stores and configuration that
//! every function uses. Handlers stay thin; the logic they call lives here, pure where it can be.

// A function's output is its tracing (JSON lines for CloudWatch), never bare stdout.
#![warn(clippy::print_stdout)]

pub mod batch;
pub mod config;
pub mod consumer;
pub mod error;
pub mod event;
pub mod failpoint;
pub mod identity;
pub mod logging;
pub mod mapping;
pub mod mask;
pub mod metrics;
pub mod panel;
pub mod platforms;
pub mod retry;
pub mod salesforce;
pub mod seal;
pub mod secret;
pub mod store;
pub mod synclog;
pub mod tenant;

/// RFC 3339 in UTC with fixed precision, so stored timestamps sort as strings.
pub fn rfc3339(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    t.format(&format)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}
