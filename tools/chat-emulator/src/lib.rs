//! A local stand-in for the chat platforms' REST APIs: the subset chatsync calls of Intercom,
//! Tidio, respond.io and CloudCX, each under its own path prefix (`/intercom`, `/tidio`,
//! `/respondio/v2`, `/cloudcx`), so a tenant's API base URL can point at it. Strict where the
//! vendors document: auth headers, error bodies, rate-limit headers and 429s. An admin API
//! (`/__emulator/…`) seeds records, counts calls, injects faults and resets (see README.md).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let emulator = chat_emulator::Emulator::default();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let base = chat_emulator::spawn(listener, emulator.clone())?;
//! # let _ = base; Ok(()) }
//! ```

mod admin;
mod cloudcx;
mod faults;
mod gate;
mod intercom;
mod respondio;
mod tidio;
mod webhooks;

use axum::Router;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The platforms' path prefixes and names in seeds, stats and faults.
pub const PLATFORMS: [&str; 4] = ["intercom", "tidio", "respondio", "cloudcx"];

/// The emulator's shared state. Cheap to clone.
#[derive(Clone, Default)]
pub struct Emulator {
    state: Arc<Mutex<State>>,
}

impl Emulator {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Loads a seed (the admin API's format) from code.
    pub fn seed(&self, seed: &Value) -> Result<Value, String> {
        self.lock().seed(seed)
    }
}

/// Records per platform and kind (`contacts`, `admins`…), by id.
pub(crate) type Records = BTreeMap<String, BTreeMap<String, BTreeMap<String, Value>>>;

#[derive(Default)]
pub(crate) struct State {
    pub records: Records,
    /// Per platform: the bearer tokens it accepts (Tidio: `client_id:client_secret`).
    pub credentials: BTreeMap<String, Vec<String>>,
    /// Calls per platform, and per `platform METHOD route`.
    pub calls: BTreeMap<String, u64>,
    pub by_route: BTreeMap<String, u64>,
    pub faults: Vec<faults::FaultRule>,
    /// Per platform: calls allowed per window, and the window's use.
    pub limits: BTreeMap<String, gate::Window>,
}

impl State {
    /// `{"<platform>": {"credentials": [..], "<kind>": [{"id": …, …}]}}`; records replace those
    /// with the same id. Answers the ids seeded per platform and kind.
    pub(crate) fn seed(&mut self, seed: &Value) -> Result<Value, String> {
        let Some(platforms) = seed.as_object() else {
            return Err("a seed is a JSON object keyed by platform".into());
        };
        // Checked whole before anything is stored: a refused seed changes nothing.
        for (platform, body) in platforms {
            if !PLATFORMS.contains(&platform.as_str()) {
                return Err(format!(
                    "unknown platform {platform:?}; use {}",
                    PLATFORMS.join(", ")
                ));
            }
            let Some(kinds) = body.as_object() else {
                return Err(format!("{platform}: an object of record lists"));
            };
            for (kind, list) in kinds {
                let Some(list) = list.as_array() else {
                    return Err(format!("{platform}.{kind}: a list"));
                };
                if kind == "credentials" {
                    if list.iter().any(|c| c.as_str().is_none_or(str::is_empty)) {
                        return Err(format!("{platform}.credentials: non-empty strings"));
                    }
                } else if list.iter().any(|r| record_id(r).is_none()) {
                    return Err(format!(
                        "{platform}.{kind}: every record needs an \"id\" (\"messageId\" for messages)"
                    ));
                }
            }
        }
        let mut out = serde_json::Map::new();
        for (platform, body) in platforms {
            let mut seeded = serde_json::Map::new();
            for (kind, list) in body.as_object().into_iter().flatten() {
                let list = list.as_array().map(Vec::as_slice).unwrap_or_default();
                if kind == "credentials" {
                    let creds = self.credentials.entry(platform.clone()).or_default();
                    creds.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
                    continue;
                }
                let store = self
                    .records
                    .entry(platform.clone())
                    .or_default()
                    .entry(kind.clone())
                    .or_default();
                let mut ids = Vec::new();
                for record in list {
                    if let Some(id) = record_id(record) {
                        store.insert(id.clone(), record.clone());
                        ids.push(Value::String(id));
                    }
                }
                seeded.insert(kind.clone(), Value::Array(ids));
            }
            out.insert(platform.clone(), Value::Object(seeded));
        }
        Ok(Value::Object(out))
    }

    pub(crate) fn record(&self, platform: &str, kind: &str, id: &str) -> Option<&Value> {
        self.records.get(platform)?.get(kind)?.get(id)
    }

    pub(crate) fn list(&self, platform: &str, kind: &str) -> impl Iterator<Item = &Value> {
        self.records
            .get(platform)
            .and_then(|k| k.get(kind))
            .into_iter()
            .flat_map(BTreeMap::values)
    }

    pub(crate) fn accepts(&self, platform: &str, credential: &str) -> bool {
        self.credentials
            .get(platform)
            .is_some_and(|c| c.iter().any(|k| k == credential))
    }
}

/// A record's id as text (numbers too: respond.io's ids are numbers; its messages have
/// `messageId`).
pub(crate) fn record_id(record: &Value) -> Option<String> {
    match record.get("id").or_else(|| record.get("messageId"))? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The whole API: the four platforms and the admin routes.
pub fn router(emulator: Emulator) -> Router {
    Router::new()
        .nest(
            "/intercom",
            gate::guard(intercom::routes(), "intercom", &emulator),
        )
        .nest("/tidio", gate::guard(tidio::routes(), "tidio", &emulator))
        .nest(
            "/respondio/v2",
            gate::guard(respondio::routes(), "respondio", &emulator),
        )
        .nest(
            "/cloudcx",
            gate::guard(cloudcx::routes(), "cloudcx", &emulator),
        )
        .merge(admin::routes())
        .with_state(emulator)
}

/// Serves until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, emulator: Emulator) -> std::io::Result<()> {
    axum::serve(listener, router(emulator)).await
}

/// Serves on a background task; answers the base URL (`http://127.0.0.1:port`).
pub fn spawn(listener: tokio::net::TcpListener, emulator: Emulator) -> std::io::Result<String> {
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        if let Err(e) = serve(listener, emulator).await {
            tracing::error!(error = %e, "chat-emulator stopped");
        }
    });
    Ok(base)
}
