//! The functions' log subscriber: lambda_runtime's default (Lambda's advanced logging controls:
//! `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else INFO; JSON when `AWS_LAMBDA_LOG_FORMAT=JSON`)
//! with the dependencies held to INFO at most. At DEBUG or TRACE the runtime and the HTTP and
//! SDK stacks log whole events and requests (CloudCX tokens in URLs, webhook bodies, Salesforce
//! answers); our own code masks what it logs, theirs does not.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

/// Crates that log payloads or headers above INFO.
const CAPPED: [&str; 14] = [
    "lambda_runtime",
    "lambda_runtime_api_client",
    "lambda_http",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http_client",
    "aws_sigv4",
    "aws_runtime",
    "aws_config",
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
    "rustls",
];

/// The level asked for, as Lambda's runtime reads it.
pub fn level(lambda_level: Option<&str>, rust_log: Option<&str>) -> LevelFilter {
    lambda_level
        .or(rust_log)
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(LevelFilter::INFO)
}

/// Filter directives: everything at `level`, the capped crates at INFO at most.
pub fn directives(level: LevelFilter) -> String {
    let cap = level.min(LevelFilter::INFO);
    let mut out = level.to_string().to_lowercase();
    for target in CAPPED {
        out.push_str(&format!(",{target}={}", cap.to_string().to_lowercase()));
    }
    out
}

/// Installs the subscriber (call once, first thing in `main`).
pub fn init() {
    let level = level(
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
        std::env::var("RUST_LOG").ok().as_deref(),
    );
    let filter = EnvFilter::builder().parse_lossy(directives(level));
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_env_filter(filter);
    // A second init (tests) keeps the first subscriber.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_for_our_code_keeps_the_runtime_and_http_stacks_at_info() {
        let d = directives(LevelFilter::TRACE);
        assert!(d.starts_with("trace,"), "{d}");
        assert!(d.contains("lambda_runtime=info"), "{d}");
        assert!(d.contains("aws_smithy_runtime=info"), "{d}");
        assert!(d.contains("hyper=info"), "{d}");
        assert!(!d.contains("=trace") && !d.contains("=debug"), "{d}");
    }

    #[test]
    fn a_quieter_level_quietens_the_dependencies_too() {
        let d = directives(LevelFilter::WARN);
        assert!(d.starts_with("warn,"), "{d}");
        assert!(d.contains("reqwest=warn"), "{d}");
        assert!(!d.contains("=info"), "{d}");
    }

    #[test]
    fn the_level_is_read_as_lambda_does() {
        assert_eq!(level(Some("DEBUG"), Some("error")), LevelFilter::DEBUG);
        assert_eq!(level(None, Some("warn")), LevelFilter::WARN);
        assert_eq!(level(None, None), LevelFilter::INFO);
        assert_eq!(level(Some("loud"), None), LevelFilter::INFO);
    }
}
