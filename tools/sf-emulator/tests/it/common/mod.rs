//! Shared test harness: an emulator on 127.0.0.1:0, a reqwest client and a session.
#![allow(dead_code)]

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;
use sf_emulator::{Emulator, EmulatorConfig};

pub(crate) const V: &str = "/services/data/v62.0";

pub(crate) struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    /// Parsed JSON, or Value::Null for an empty body, or Value::String for a non-JSON body.
    pub body: Value,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
    /// `body[0].errorCode` of a REST error array.
    pub(crate) fn error_code(&self) -> Option<&str> {
        self.body.pointer("/0/errorCode").and_then(Value::as_str)
    }
    pub(crate) fn error_message(&self) -> &str {
        self.body
            .pointer("/0/message")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

pub(crate) struct TestOrg {
    pub base: String,
    pub emulator: Emulator,
    pub http: reqwest::Client,
    pub token: String,
}

impl TestOrg {
    pub(crate) async fn start() -> Self {
        Self::start_with(EmulatorConfig::default()).await
    }

    pub(crate) async fn start_with(config: EmulatorConfig) -> Self {
        let emulator = Emulator::new(config).expect("emulator config is valid");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let base = sf_emulator::spawn(listener, emulator.clone()).expect("server starts");
        let http = reqwest::Client::new();
        let mut org = Self {
            base,
            emulator,
            http,
            token: String::new(),
        };
        let session = org.admin("POST", "/__emulator/session", None).await;
        org.token = session.body["access_token"]
            .as_str()
            .expect("session has an access token")
            .to_string();
        org
    }

    async fn send(
        &self,
        method: &str,
        url: String,
        body: Option<Value>,
        token: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let method = Method::from_bytes(method.as_bytes()).expect("valid method");
        let mut req = self.http.request(method, url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request reaches the emulator");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body reads");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A REST call under `/services/data/v62.0` with the session token.
    pub(crate) async fn api(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.send(
            method,
            format!("{}{V}{path}", self.base),
            body,
            Some(&self.token),
            &[],
        )
        .await
    }

    pub(crate) async fn api_with_headers(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        self.send(
            method,
            format!("{}{V}{path}", self.base),
            body,
            Some(&self.token),
            headers,
        )
        .await
    }

    /// A call to any absolute path (other API versions, admin API).
    pub(crate) async fn raw(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> Reply {
        self.send(method, format!("{}{path}", self.base), body, token, &[])
            .await
    }

    pub(crate) async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.send(method, format!("{}{path}", self.base), body, None, &[])
            .await
    }

    /// Seeds records and returns the ids per object.
    pub(crate) async fn seed(&self, data: Value) -> Value {
        let r = self.admin("POST", "/__emulator/seed", Some(data)).await;
        assert_eq!(r.status, 200, "seed failed: {}", r.body);
        r.body
    }

    pub(crate) async fn query(&self, soql: &str) -> Reply {
        let q: String = url_encode(soql);
        self.api("GET", &format!("/query?q={q}"), None).await
    }

    pub(crate) async fn records(&self, sobject: &str) -> Vec<Value> {
        let r = self
            .admin("GET", &format!("/__emulator/records/{sobject}"), None)
            .await;
        r.body.as_array().cloned().unwrap_or_default()
    }

    pub(crate) async fn token_request(&self, form: &[(&str, &str)]) -> Reply {
        let body: String = form
            .iter()
            .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let resp = self
            .http
            .post(format!("{}/services/oauth2/token", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("token request reaches the emulator");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.json().await.unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }
}

pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub(crate) fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}
