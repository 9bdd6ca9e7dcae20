//! Downloads chat attachments for Salesforce Files, within a byte cap.
//!
//! URLs come from chat platforms' webhooks, so the fetcher trusts nothing about them: https only
//! to public addresses (plain http and private addresses only to hosts the local stack names;
//! names are checked after DNS, so a public name pointing inside — the instance metadata
//! endpoint, a VPC service — is refused too), at most [`MAX_REDIRECTS`] redirects each
//! checked the same way, a timeout on the whole exchange, and never more than the cap in memory.
//! Every failure is an answer ([`Fetched::Unavailable`]), never an error or a panic: a file that
//! cannot be fetched stays a link in the transcript. Reasons are short and name no URL, since
//! attachment URLs often carry signatures.
//!
//! Until `lib.rs` declares this module, `tests/attachments.rs` compiles it for its tests.

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect::{Attempt, Policy};
use shared::config::{ConfigError, Env, vars};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// Redirects followed per download.
pub const MAX_REDIRECTS: usize = 3;

/// Timeout of one download when the writer builds the fetcher from its environment: a few
/// files must fit in the writer's 60 s alongside the Salesforce calls.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// What a download gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The whole file, at most the cap. `content_type` is the MIME type the server said
    /// (`image/png`), without parameters, lower case.
    Bytes {
        data: Vec<u8>,
        content_type: Option<String>,
    },
    /// Larger than the cap: link it instead.
    TooLarge,
    /// Not fetched; a short reason for the sync log (no URL, no body).
    Unavailable(String),
}

#[derive(Debug, Error)]
pub enum FetcherError {
    #[error("attachment HTTP client: {0}")]
    Client(String),
}

/// One per warm function: holds the HTTP client (connection pool) and the rules.
#[derive(Debug, Clone)]
pub struct Fetcher {
    http: reqwest::Client,
    rules: Arc<Rules>,
}

/// Which URLs may be fetched.
#[derive(Debug)]
struct Rules {
    /// Lower-case `host` or `host:port` entries allowed over http.
    http_hosts: Vec<String>,
}

const ADDRESS_REFUSED: &str = "private or local address refused";

/// Addresses a download may never reach: the host itself, private networks, link-local (the
/// instance metadata endpoint 169.254.169.254), shared carrier space, multicast, unspecified.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

impl Rules {
    /// Why `url` may not be fetched, if it may not.
    fn refuse(&self, url: &Url) -> Option<&'static str> {
        if !url.username().is_empty() || url.password().is_some() {
            return Some("URL with credentials refused");
        }
        let scheme = match url.scheme() {
            "https" => None,
            "http" if self.http_allowed(url) => None,
            "http" => Some("plain http refused for this host"),
            _ => Some("only https URLs are fetched"),
        };
        if scheme.is_some() {
            return scheme;
        }
        let literal = url
            .host_str()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
            .and_then(|h| h.parse::<IpAddr>().ok());
        // Hosts the local stack names may be reached at internal addresses too.
        if literal.is_some_and(is_internal) && !self.http_allowed(url) {
            return Some(ADDRESS_REFUSED);
        }
        None
    }

    /// A name the local stack names (with any port).
    fn local_name(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        self.http_hosts
            .iter()
            .any(|h| *h == name || h.split_once(':').is_some_and(|(host, _)| host == name))
    }

    fn http_allowed(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        let with_port = url.port().map(|p| format!("{host}:{p}"));
        self.http_hosts
            .iter()
            .any(|h| *h == host || with_port.as_deref() == Some(h.as_str()))
    }
}

/// DNS that drops internal addresses (for names the local stack does not name), so a name
/// cannot smuggle a download inside; checked on every connection, redirects included.
struct PublicOnly {
    rules: Arc<Rules>,
}

#[derive(Debug, Error)]
#[error("{ADDRESS_REFUSED}")]
struct AddressRefused;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let local = self.rules.local_name(name.as_str());
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| local || !is_internal(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(Box::new(AddressRefused) as Box<dyn std::error::Error + Send + Sync>);
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// The reason a redirect was refused, kept as the source of reqwest's redirect error.
#[derive(Debug, Error)]
#[error("{0}")]
struct RedirectRefused(&'static str);

impl Fetcher {
    /// `allow_http_hosts`: hosts (or `host:port`) that may be fetched over plain http.
    pub fn new(timeout: Duration, allow_http_hosts: Vec<String>) -> Result<Self, FetcherError> {
        let rules = Arc::new(Rules {
            http_hosts: allow_http_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        });
        let policy_rules = rules.clone();
        let policy = Policy::custom(move |attempt: Attempt| {
            // `previous` holds the first URL too: three redirects have four URLs behind them.
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(RedirectRefused("too many redirects"));
            }
            match policy_rules.refuse(attempt.url()) {
                Some(reason) => attempt.error(RedirectRefused(reason)),
                None => attempt.follow(),
            }
        });
        let http = reqwest::Client::builder()
            .dns_resolver(Arc::new(PublicOnly {
                rules: rules.clone(),
            }))
            .connect_timeout(timeout)
            .timeout(timeout)
            .redirect(policy)
            .user_agent(concat!("chatsync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetcherError::Client(e.to_string()))?;
        Ok(Self { http, rules })
    }

    /// [`Fetcher::new`] with [`DEFAULT_TIMEOUT`] and the hosts in `ATTACHMENT_HTTP_HOSTS`.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let hosts = env
            .optional(vars::ATTACHMENT_HTTP_HOSTS)
            .map(|v| parse_hosts(&v))
            .unwrap_or_default();
        Self::new(DEFAULT_TIMEOUT, hosts).map_err(|e| ConfigError::Invalid {
            name: vars::ATTACHMENT_HTTP_HOSTS,
            reason: e.to_string(),
        })
    }

    /// Downloads `url` if it is at most `max_bytes` long.
    pub async fn fetch(&self, url: &str, max_bytes: u64) -> Fetched {
        let Ok(parsed) = Url::parse(url) else {
            return unavailable("not a valid URL");
        };
        if let Some(reason) = self.rules.refuse(&parsed) {
            return unavailable(reason);
        }
        let mut response = match self.http.get(parsed).send().await {
            Ok(r) => r,
            Err(e) => return unavailable(describe(&e)),
        };
        let status = response.status();
        if !status.is_success() {
            return Fetched::Unavailable(format!("HTTP {}", status.as_u16()));
        }
        // A declared length over the cap ends it before any of the body is read.
        let declared = response.content_length();
        if declared.is_some_and(|n| n > max_bytes) {
            return Fetched::TooLarge;
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| !v.is_empty());
        // Never more than the cap in memory, whatever the server claims.
        let initial = declared.unwrap_or(0).min(max_bytes).min(1 << 20);
        let mut data = Vec::with_capacity(usize::try_from(initial).unwrap_or(0));
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let total = data.len() as u64 + chunk.len() as u64;
                    if total > max_bytes {
                        return Fetched::TooLarge;
                    }
                    data.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return unavailable(describe(&e)),
            }
        }
        Fetched::Bytes { data, content_type }
    }
}

/// `a.example, localhost:8080` → `["a.example", "localhost:8080"]`.
pub fn parse_hosts(list: &str) -> Vec<String> {
    list.split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect()
}

fn unavailable(reason: &str) -> Fetched {
    Fetched::Unavailable(reason.to_owned())
}

/// A short reason for a reqwest failure. reqwest's own message names the URL, so it is not used.
fn describe(e: &reqwest::Error) -> &'static str {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(refused) = s.downcast_ref::<RedirectRefused>() {
            return refused.0;
        }
        if s.downcast_ref::<AddressRefused>().is_some() {
            return ADDRESS_REFUSED;
        }
        source = s.source();
    }
    if e.is_timeout() {
        "timed out"
    } else if e.is_redirect() {
        "redirect refused"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "download interrupted"
    } else {
        "request failed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::{Body, Bytes};
    use axum::http::{HeaderValue, StatusCode, header};
    use axum::response::{IntoResponse, Redirect, Response};
    use axum::routing::get;
    use futures::{StreamExt, stream};

    const CAP: u64 = 64 * 1024;
    const SMALL: &[u8] = b"%PDF-1.7 a small file";

    /// A server on 127.0.0.1 with one route per case, and its base URL.
    async fn server() -> String {
        let app = Router::new()
            .route(
                "/small",
                get(|| async {
                    (
                        [(header::CONTENT_TYPE, "Application/PDF; name=x.pdf")],
                        SMALL,
                    )
                }),
            )
            .route("/exact", get(|| async { vec![7u8; CAP as usize] }))
            .route("/big", get(|| async { vec![0u8; CAP as usize + 1] }))
            .route("/big-declared-stalled", get(big_declared_stalled))
            .route("/chunked-endless", get(chunked_endless))
            .route("/chunked-small", get(chunked_small))
            .route("/missing", get(|| async { StatusCode::NOT_FOUND }))
            .route(
                "/error",
                get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "secret stack trace") }),
            )
            .route("/slow", get(slow))
            .route("/slow-body", get(slow_body))
            .route("/hop/{n}", get(hop))
            .route(
                "/to-ftp",
                get(|| async { Redirect::temporary("ftp://127.0.0.1/x") }),
            )
            .route(
                "/to-localhost",
                get(|| async { Redirect::temporary("http://localhost/small") }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let addr = listener.local_addr().expect("a local address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://{addr}")
    }

    /// Declares a length over the cap, then never sends the body: only a fetcher that stops at
    /// the header answers in time.
    async fn big_declared_stalled() -> Response {
        let body = Body::from_stream(stream::pending::<Result<Bytes, std::io::Error>>());
        let mut r = body.into_response();
        r.headers_mut().insert(
            header::CONTENT_LENGTH,
            HeaderValue::from(10 * 1024 * 1024u64),
        );
        r
    }

    /// No Content-Length and no end: only a fetcher that counts as it reads stops.
    async fn chunked_endless() -> Response {
        let chunks = stream::repeat_with(|| Ok::<_, std::io::Error>(Bytes::from(vec![1u8; 4096])));
        Body::from_stream(chunks).into_response()
    }

    async fn chunked_small() -> Response {
        let chunks = stream::iter(
            [&b"hello "[..], b"chunked ", b"world"]
                .map(|c| Ok::<_, std::io::Error>(Bytes::from(c))),
        );
        Body::from_stream(chunks).into_response()
    }

    async fn slow() -> &'static str {
        tokio::time::sleep(Duration::from_secs(30)).await;
        "too late"
    }

    /// Headers at once, then the body stalls.
    async fn slow_body() -> Response {
        let chunks = stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"start"))])
            .chain(stream::pending());
        Body::from_stream(chunks).into_response()
    }

    /// `/hop/n` redirects to `/hop/n-1`, and `/hop/0` to the small file.
    async fn hop(axum::extract::Path(n): axum::extract::Path<u32>) -> Redirect {
        if n == 0 {
            Redirect::temporary("/small")
        } else {
            Redirect::temporary(&format!("/hop/{}", n - 1))
        }
    }

    fn fetcher(timeout_ms: u64) -> Fetcher {
        Fetcher::new(
            Duration::from_millis(timeout_ms),
            vec![" 127.0.0.1 ".into(), String::new()],
        )
        .expect("a client")
    }

    fn bytes(f: Fetched) -> (Vec<u8>, Option<String>) {
        match f {
            Fetched::Bytes { data, content_type } => (data, content_type),
            other => panic!("expected bytes, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn small_files_come_whole_with_their_type() {
        let base = server().await;
        let f = fetcher(5_000);
        let (data, content_type) = bytes(f.fetch(&format!("{base}/small"), CAP).await);
        assert_eq!(data, SMALL);
        assert_eq!(content_type.as_deref(), Some("application/pdf"));
        // Exactly the cap is still a file.
        let (data, _) = bytes(f.fetch(&format!("{base}/exact"), CAP).await);
        assert_eq!(data.len() as u64, CAP);
        let (data, _) = bytes(f.fetch(&format!("{base}/chunked-small"), CAP).await);
        assert_eq!(data, b"hello chunked world");
    }

    #[tokio::test]
    async fn files_over_the_cap_are_too_large_with_or_without_a_length() {
        let base = server().await;
        let f = fetcher(3_000);
        assert_eq!(
            f.fetch(&format!("{base}/big"), CAP).await,
            Fetched::TooLarge
        );
        // The declared length decides before the (never sent) body is read.
        let started = std::time::Instant::now();
        assert_eq!(
            f.fetch(&format!("{base}/big-declared-stalled"), CAP).await,
            Fetched::TooLarge
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        // An endless chunked body stops as soon as it passes the cap.
        assert_eq!(
            f.fetch(&format!("{base}/chunked-endless"), CAP).await,
            Fetched::TooLarge
        );
        assert_eq!(
            f.fetch(&format!("{base}/small"), 3).await,
            Fetched::TooLarge
        );
    }

    #[tokio::test]
    async fn failures_are_unavailable_with_short_reasons() {
        let base = server().await;
        let f = fetcher(500);
        assert_eq!(
            f.fetch(&format!("{base}/missing"), CAP).await,
            Fetched::Unavailable("HTTP 404".into())
        );
        assert_eq!(
            f.fetch(&format!("{base}/error"), CAP).await,
            Fetched::Unavailable("HTTP 500".into()),
            "no body in the reason"
        );
        assert_eq!(
            f.fetch(&format!("{base}/slow"), CAP).await,
            Fetched::Unavailable("timed out".into())
        );
        assert_eq!(
            f.fetch(&format!("{base}/slow-body"), CAP).await,
            Fetched::Unavailable("timed out".into())
        );
        assert_eq!(
            f.fetch("not a url", CAP).await,
            Fetched::Unavailable("not a valid URL".into())
        );
        // Nothing listens on port 1.
        assert_eq!(
            f.fetch("http://127.0.0.1:1/x?sig=secret", CAP).await,
            Fetched::Unavailable("connection failed".into())
        );
    }

    #[tokio::test]
    async fn only_https_and_listed_http_hosts_are_fetched() {
        let base = server().await;
        let strict = Fetcher::new(Duration::from_secs(2), Vec::new()).expect("a client");
        assert_eq!(
            strict.fetch(&format!("{base}/small"), CAP).await,
            Fetched::Unavailable("plain http refused for this host".into())
        );
        for url in [
            "ftp://127.0.0.1/x",
            "file:///etc/passwd",
            "data:text/plain,hi",
        ] {
            assert_eq!(
                strict.fetch(url, CAP).await,
                Fetched::Unavailable("only https URLs are fetched".into()),
                "{url}"
            );
        }
        let f = fetcher(2_000);
        let with_user = base.replace("http://", "http://user:pw@");
        assert_eq!(
            f.fetch(&format!("{with_user}/small"), CAP).await,
            Fetched::Unavailable("URL with credentials refused".into())
        );
        // A host:port entry allows that port only.
        let port = base.rsplit(':').next().unwrap_or_default().to_owned();
        let by_port = Fetcher::new(Duration::from_secs(2), vec![format!("127.0.0.1:{port}")])
            .expect("a client");
        assert!(matches!(
            by_port.fetch(&format!("{base}/small"), CAP).await,
            Fetched::Bytes { .. }
        ));
        assert_eq!(
            by_port.fetch("http://127.0.0.1:1/small", CAP).await,
            Fetched::Unavailable("plain http refused for this host".into())
        );
    }

    #[test]
    fn internal_addresses_are_recognised() {
        for ip in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1::1", "100.128.0.1"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn internal_addresses_are_refused_by_address_and_by_name() {
        let base = server().await;
        let port = base.rsplit(':').next().unwrap().to_owned();
        let f = fetcher(5_000);
        for url in [
            "https://169.254.169.254/latest/meta-data/".to_owned(),
            "https://10.0.0.7/file.png".to_owned(),
            "https://[::1]/file.png".to_owned(),
            // A name that resolves inside, not named by the local stack: refused after DNS.
            format!("https://localhost:{port}/small"),
        ] {
            assert_eq!(
                f.fetch(&url, CAP).await,
                Fetched::Unavailable(ADDRESS_REFUSED.into()),
                "{url}"
            );
        }
        // The host the local stack names is still reachable.
        assert!(matches!(
            f.fetch(&format!("{base}/small"), CAP).await,
            Fetched::Bytes { .. }
        ));
    }

    #[tokio::test]
    async fn redirects_are_followed_three_times_and_checked() {
        let base = server().await;
        let f = fetcher(2_000);
        let (data, _) = bytes(f.fetch(&format!("{base}/hop/2"), CAP).await);
        assert_eq!(
            data, SMALL,
            "/hop/2 → /hop/1 → /hop/0 → /small: three redirects"
        );
        assert_eq!(
            f.fetch(&format!("{base}/hop/3"), CAP).await,
            Fetched::Unavailable("too many redirects".into())
        );
        assert_eq!(
            f.fetch(&format!("{base}/to-ftp"), CAP).await,
            Fetched::Unavailable("only https URLs are fetched".into())
        );
        // 127.0.0.1 is allowed over http, localhost is not.
        assert_eq!(
            f.fetch(&format!("{base}/to-localhost"), CAP).await,
            Fetched::Unavailable("plain http refused for this host".into())
        );
    }

    #[test]
    fn host_lists_are_trimmed_and_lower_cased() {
        assert_eq!(
            parse_hosts(" Files.Local , localhost:8080,, "),
            ["files.local", "localhost:8080"]
        );
        assert!(parse_hosts("").is_empty());
        let map = [(
            vars::ATTACHMENT_HTTP_HOSTS.to_owned(),
            "127.0.0.1".to_owned(),
        )]
        .into_iter()
        .collect();
        assert!(Fetcher::from_env(&Env::from_map(&map)).is_ok());
    }
}
