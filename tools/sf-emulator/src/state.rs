//! Emulator configuration and the in-memory org: schema, records, sessions, usage, faults.

use crate::dml::{self, DmlContext, DuplicateRule};
use crate::errors::ApiError;
use crate::faults::FaultRule;
use crate::ids;
use crate::metadata::{self, MetadataError};
use crate::schema::Schema;
use crate::store::Store;
use crate::validation::ValidationRule;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The API version the emulator advertises; any `vNN.N` is accepted in paths.
pub const API_VERSION: &str = "62.0";

/// How the emulated org is set up. `Default` gives a working org for tests.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Records per query page before `nextRecordsUrl` (Salesforce uses 2000).
    pub query_batch_size: usize,
    pub daily_api_limit: u64,
    pub token_lifetime: Duration,
    pub client_id: String,
    pub client_secret: String,
    /// Issue a new refresh token (and retire the old one) on every refresh.
    pub rotate_refresh_tokens: bool,
    /// PEM the JWT bearer flow verifies assertions against: the connected app's X.509
    /// certificate, or an RSA public key.
    pub jwt_public_key_pem: Option<String>,
    /// The `aud` JWT assertions must carry; `None` means the emulator's own base URL.
    pub login_url: Option<String>,
    pub integration_username: String,
    /// A refresh token valid for the integration user from the start.
    pub initial_refresh_token: String,
    /// Salesforce CLI project whose custom fields and objects extend the schema, read at start.
    /// None: the repo's `salesforce/` project as built into the emulator, so a binary never
    /// depends on the folder it was built in.
    pub metadata_dir: Option<PathBuf>,
    pub duplicate_rules: Vec<DuplicateRule>,
    /// Records loaded at start and after every reset, in the admin seed format.
    pub seed: Option<Value>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            query_batch_size: 2000,
            daily_api_limit: 100_000,
            token_lifetime: Duration::from_secs(2 * 3600),
            client_id: "3MVG9emulatorClientId".into(),
            client_secret: "emulator-client-secret".into(),
            rotate_refresh_tokens: false,
            jwt_public_key_pem: None,
            login_url: None,
            integration_username: "integration@chatsync.example".into(),
            initial_refresh_token: "5Aep861emulatorRefreshToken".into(),
            metadata_dir: None,
            duplicate_rules: Vec::new(),
            seed: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    #[error("seed data rejected: {0}")]
    Seed(ApiError),
    #[error("JWT public key: {0}")]
    JwtKey(String),
}

#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub user_id: String,
    pub expires_at: Instant,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct RequestLog {
    pub method: String,
    pub path: String,
    /// The status answered, or would have been answered when the connection was dropped
    /// (0 when a DROP fault closed it before the call was carried out).
    pub status: u16,
    pub api_calls: u64,
    /// A DROP fault closed the connection instead of answering.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dropped: bool,
}

/// A query's remaining rows, served page by page through `nextRecordsUrl`.
#[derive(Debug, Clone)]
pub(crate) struct QueryCursor {
    pub rows: Vec<Value>,
    pub total_size: usize,
}

pub(crate) struct State {
    pub config: EmulatorConfig,
    /// The configuration the org started with; reset returns to it.
    pub initial_config: EmulatorConfig,
    pub schema: Schema,
    pub store: Store,
    pub base_schema: Schema,
    pub instance_url: String,
    pub org_id: String,
    pub integration_user_id: String,
    pub sessions: HashMap<String, Session>,
    pub refresh_tokens: HashMap<String, String>,
    pub api_used: u64,
    pub requests: Vec<RequestLog>,
    pub faults: Vec<FaultRule>,
    /// Validation rules added through the admin API, in the order added.
    pub validation_rules: Vec<ValidationRule>,
    pub cursors: HashMap<String, QueryCursor>,
    pub serial: u64,
    /// Outbound message definitions, what waits to be sent, and what was.
    pub outbound: crate::outbound::Outbound,
}

impl State {
    /// A DML context and the store, borrowed together (they live in disjoint fields).
    pub(crate) fn dml_parts<'a>(
        &'a mut self,
        user_id: &'a str,
        version: &'a str,
        allow_dup: bool,
    ) -> (DmlContext<'a>, &'a mut Store) {
        (
            DmlContext {
                schema: &self.schema,
                user_id,
                version,
                duplicate_rules: &self.config.duplicate_rules,
                validation_rules: &self.validation_rules,
                allow_duplicate_save: allow_dup,
                seeding: false,
            },
            &mut self.store,
        )
    }

    pub(crate) fn login_url(&self) -> String {
        self.config
            .login_url
            .clone()
            .unwrap_or_else(|| self.instance_url.clone())
    }

    pub(crate) fn next_serial(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    /// Creates a session for a user and returns the access token.
    pub(crate) fn new_session(&mut self, user_id: &str) -> String {
        let n = self.next_serial();
        let org15 = self.org_id.get(..15).unwrap_or("00D000000000000");
        let token = format!("{org15}!AR{n}.{}", uuid::Uuid::new_v4().simple());
        self.sessions.insert(
            token.clone(),
            Session {
                user_id: user_id.to_string(),
                expires_at: expiry(self.config.token_lifetime),
            },
        );
        token
    }

    /// The user behind a bearer token, if the session is live.
    pub(crate) fn authenticate(&self, token: &str) -> Option<String> {
        self.sessions
            .get(token)
            .filter(|s| s.expires_at > Instant::now())
            .map(|s| s.user_id.clone())
    }

    pub(crate) fn user_by_username(&self, username: &str) -> Option<(String, bool)> {
        self.store
            .list("User", false)
            .find(|u| {
                u.get("Username")
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(username))
            })
            .map(|u| (u.id().to_string(), u.get("IsActive") != &Value::Bool(false)))
    }

    /// Loads records in the admin seed format; returns ids per object, in order.
    pub(crate) fn seed(&mut self, data: &Value) -> Result<Value, ApiError> {
        let Some(objects) = data.as_object() else {
            return Err(ApiError::json_parser(
                "seed body must be an object of sObject name to array of records",
            ));
        };
        let mut out = Map::new();
        let user = self.integration_user_id.clone();
        for (sobject, rows) in objects {
            let Some(rows) = rows.as_array() else {
                return Err(ApiError::json_parser(format!(
                    "seed entry {sobject} must be an array of records"
                )));
            };
            let mut created = Vec::new();
            for row in rows {
                let Some(fields) = row.as_object() else {
                    return Err(ApiError::json_parser(
                        "each seeded record must be an object",
                    ));
                };
                let ctx = DmlContext {
                    schema: &self.schema,
                    user_id: &user,
                    version: API_VERSION,
                    duplicate_rules: &[],
                    validation_rules: &[],
                    allow_duplicate_save: true,
                    seeding: true,
                };
                let id = dml::create(&mut self.store, &ctx, sobject, fields)?;
                created.push(Value::String(id));
            }
            let name = self
                .schema
                .object(sobject)
                .map(|o| o.name.clone())
                .unwrap_or_else(|| sobject.clone());
            out.insert(name, Value::Array(created));
        }
        Ok(Value::Object(out))
    }
}

/// When a session issued now expires; absurd lifetimes saturate instead of overflowing.
fn expiry(lifetime: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(lifetime)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(now)
}

/// A handle on one emulated org; cheap to clone and share with the server.
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Mutex<State>>,
}

impl Emulator {
    /// Builds the org: standard schema, metadata from `config.metadata_dir` (or the built-in
    /// project), the integration user, and `config.seed`.
    pub fn new(config: EmulatorConfig) -> Result<Self, EmulatorError> {
        let mut schema = Schema::standard();
        match &config.metadata_dir {
            Some(dir) => metadata::load_project(&mut schema, dir)?,
            None => metadata::load_builtin(&mut schema)?,
        }
        if let Some(pem) = &config.jwt_public_key_pem {
            jsonwebtoken::DecodingKey::from_rsa_pem(pem.as_bytes())
                .map_err(|e| EmulatorError::JwtKey(e.to_string()))?;
        }
        let mut state = State {
            initial_config: config.clone(),
            config,
            base_schema: schema.clone(),
            schema,
            store: Store::default(),
            instance_url: "http://127.0.0.1:8787".into(),
            org_id: ids::make_id("00D", 1),
            integration_user_id: String::new(),
            sessions: HashMap::new(),
            refresh_tokens: HashMap::new(),
            api_used: 0,
            requests: Vec::new(),
            faults: Vec::new(),
            validation_rules: Vec::new(),
            cursors: HashMap::new(),
            serial: 0,
            outbound: crate::outbound::Outbound::default(),
        };
        reset_data(&mut state).map_err(EmulatorError::Seed)?;
        Ok(Self {
            inner: Arc::new(Mutex::new(state)),
        })
    }

    /// Locks the org. A poisoned lock still holds consistent data (no handler panics while
    /// mutating), so it is recovered rather than propagated.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A live session for the integration user, as `POST /__emulator/session` returns it.
    pub fn session(&self) -> Value {
        let mut st = self.lock();
        let user = st.integration_user_id.clone();
        let token = st.new_session(&user);
        json!({
            "access_token": token,
            "instance_url": st.instance_url,
            "refresh_token": st.config.initial_refresh_token,
            "user_id": user,
        })
    }

    /// Loads records in the admin seed format.
    pub fn seed(&self, data: &Value) -> Result<Value, ApiError> {
        self.lock().seed(data)
    }

    /// API calls counted so far, as Salesforce counts them.
    pub fn api_calls(&self) -> u64 {
        self.lock().api_used
    }

    pub fn instance_url(&self) -> String {
        self.lock().instance_url.clone()
    }
}

/// Empties the org back to its configured starting point (schema, users, seed). Usage counters
/// and the request log are cleared too.
pub(crate) fn reset_data(state: &mut State) -> Result<(), ApiError> {
    state.config = state.initial_config.clone();
    state.schema = state.base_schema.clone();
    state.store = Store::default();
    state.sessions.clear();
    state.refresh_tokens.clear();
    state.cursors.clear();
    state.faults.clear();
    state.validation_rules.clear();
    state.requests.clear();
    state.outbound = crate::outbound::Outbound::default();
    state.api_used = 0;
    let username = state.config.integration_username.clone();
    let ids = state.seed(&json!({"User": [{
        "Username": username,
        "LastName": "Integration",
        "FirstName": "Chatsync",
        "Alias": "integ",
        "Email": username,
        "IsActive": true,
    }]}))?;
    state.integration_user_id = ids
        .pointer("/User/0")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    // Records created by the seed itself are owned by the integration user.
    let uid = state.integration_user_id.clone();
    if let Some(u) = state.store.get_mut(&uid) {
        u.fields
            .insert("CreatedById".into(), Value::String(uid.clone()));
        u.fields
            .insert("LastModifiedById".into(), Value::String(uid.clone()));
    }
    let token = state.config.initial_refresh_token.clone();
    state.refresh_tokens.insert(token, uid);
    if let Some(seed) = state.config.seed.clone() {
        state.seed(&seed)?;
    }
    Ok(())
}
