//! A whole local deployment in one handle: moto, the template's resources in it, tenants
//! loaded, and the function host. `make dev`, `make demo` and the end-to-end tests use it.

use crate::host::{Host, HostOptions};
use crate::iam::{self, IamError};
use crate::procs::{Moto, ProcError, rie_path};
use crate::stack::{self, Plan, Settings, StackError};
use crate::template::{Template, TemplateError};
use shared::store::StoreError;
use shared::store::secrets::TenantSecretStore;
use shared::store::tenants::{TenantTable, put_tenant};
use shared::tenant::{TenantError, TenantFile};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SessionError {
    #[error(transparent)]
    Proc(#[from] ProcError),
    #[error(transparent)]
    Stack(#[from] StackError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Iam(#[from] IamError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{path}: {source}")]
    Tenant { path: String, source: TenantError },
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("Salesforce emulator: {0}")]
    Salesforce(String),
    #[error("chat-platform emulator: {0}")]
    Chat(String),
    #[error("the pipeline did not drain within {0:?} ({1} messages or invocations pending)")]
    NotIdle(Duration, usize),
}

pub struct SessionOptions {
    pub template: PathBuf,
    pub bin_dir: PathBuf,
    pub tenant_files: Vec<PathBuf>,
    pub http_addr: SocketAddr,
    pub moto_port: Option<u16>,
    pub log_dir: PathBuf,
    pub schedule_every: Option<Duration>,
    /// See [`HostOptions::retry_after`].
    pub retry_after: Option<Duration>,
    pub extra_env: Vec<(String, String)>,
    /// Where to run the Salesforce emulator (None: not started).
    pub salesforce_addr: Option<SocketAddr>,
    /// Records the emulator's org starts with (admin seed format), e.g. the demo's queue and
    /// agent User.
    pub salesforce_seed: Option<PathBuf>,
    /// Where to run the chat-platform emulator (None: not started). When started, the
    /// functions' `INTERCOM_API_URL`, `RESPONDIO_API_URL` and `TIDIO_API_URL` point at it.
    pub chat_addr: Option<SocketAddr>,
    /// What it starts with (its admin seed format).
    pub chat_seed: Option<PathBuf>,
}

pub struct Session {
    pub moto: Moto,
    /// The Salesforce emulator's base URL, when started.
    pub salesforce_url: Option<String>,
    /// The chat-platform emulator's base URL, when started.
    pub chat_url: Option<String>,
    pub plan: Plan,
    pub host: Host,
    pub sdk: aws_config::SdkConfig,
    /// Each function's role session, by binary.
    pub roles: std::collections::BTreeMap<String, iam::Credentials>,
    /// One line per resource created in moto.
    pub created: Vec<String>,
}

/// Serves the chat-platform emulator on `addr`, seeded from `seed`; its base URL.
async fn start_chat(addr: SocketAddr, seed: Option<&Path>) -> Result<String, SessionError> {
    let emulator = chat_emulator::Emulator::default();
    if let Some(path) = seed {
        let text = std::fs::read_to_string(path).map_err(|source| SessionError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let seed: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| SessionError::Chat(format!("{}: {e}", path.display())))?;
        emulator
            .seed(&seed)
            .map_err(|e| SessionError::Chat(format!("{}: {e}", path.display())))?;
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| SessionError::Chat(format!("binding {addr}: {e}")))?;
    chat_emulator::spawn(listener, emulator).map_err(|e| SessionError::Chat(e.to_string()))
}

/// Reads and validates a tenant file.
/// The emulator's integration user, signed in with its refresh token (the emulator's defaults).
pub fn emulator_credentials(url: &str) -> shared::salesforce::SalesforceCredentials {
    let defaults = sf_emulator::EmulatorConfig::default();
    shared::salesforce::SalesforceCredentials::RefreshToken {
        login_url: url.to_owned(),
        client_id: defaults.client_id,
        client_secret: shared::secret::Secret::new(defaults.client_secret),
        refresh_token: shared::secret::Secret::new(defaults.initial_refresh_token),
    }
}

pub fn read_tenant(path: &Path) -> Result<TenantFile, SessionError> {
    let text = std::fs::read_to_string(path).map_err(|source| SessionError::Read {
        path: path.display().to_string(),
        source,
    })?;
    TenantFile::from_toml(&text).map_err(|source| SessionError::Tenant {
        path: path.display().to_string(),
        source,
    })
}

impl Session {
    /// Starts the stack; the emulator, when started, has its default configuration.
    pub async fn start(options: SessionOptions) -> Result<Session, SessionError> {
        Self::start_with_emulator(options, sf_emulator::EmulatorConfig::default()).await
    }

    /// As [`Session::start`], with the emulator configured from `emulator` (its seed is
    /// replaced by `options.salesforce_seed` when that is given).
    pub async fn start_with_emulator(
        options: SessionOptions,
        emulator: sf_emulator::EmulatorConfig,
    ) -> Result<Session, SessionError> {
        let template = Template::load(&options.template)?;
        let moto = Moto::start(options.moto_port).await?;
        let endpoint = moto.endpoint();
        let plan = stack::plan(&template, &Settings::local(&endpoint))?;
        let sdk = moto.sdk().await;
        let created = stack::create(&plan, &sdk).await?;
        let roles = iam::function_roles(&iam::expand(&options.template)?, &plan, &sdk).await?;
        // The emulator first: tenants without an org of their own are connected to it.
        let salesforce_url = match options.salesforce_addr {
            Some(addr) => {
                let mut config = emulator;
                if let Some(path) = &options.salesforce_seed {
                    let text =
                        std::fs::read_to_string(path).map_err(|source| SessionError::Read {
                            path: path.display().to_string(),
                            source,
                        })?;
                    config.seed = Some(serde_json::from_str(&text).map_err(|e| {
                        SessionError::Salesforce(format!("{}: {e}", path.display()))
                    })?);
                }
                let emulator = sf_emulator::Emulator::new(config)
                    .map_err(|e| SessionError::Salesforce(e.to_string()))?;
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| SessionError::Salesforce(format!("binding {addr}: {e}")))?;
                Some(
                    sf_emulator::spawn(listener, emulator)
                        .map_err(|e| SessionError::Salesforce(e.to_string()))?,
                )
            }
            None => None,
        };
        let chat_url = match options.chat_addr {
            Some(addr) => Some(start_chat(addr, options.chat_seed.as_deref()).await?),
            None => None,
        };
        let mut extra_env = options.extra_env;
        if let Some(base) = &chat_url {
            extra_env.extend([
                ("INTERCOM_API_URL".to_owned(), format!("{base}/intercom")),
                (
                    "RESPONDIO_API_URL".to_owned(),
                    format!("{base}/respondio/v2"),
                ),
                ("TIDIO_API_URL".to_owned(), format!("{base}/tidio")),
            ]);
        }
        let session_tenants = tenant_stores(&plan, &sdk);
        for path in &options.tenant_files {
            let mut file = read_tenant(path)?;
            if let (None, Some(url)) = (&file.secrets.salesforce, &salesforce_url) {
                file.secrets.salesforce = Some(emulator_credentials(url));
            }
            put_tenant(&file, &session_tenants.0, &session_tenants.1).await?;
        }
        let host = Host::start(HostOptions {
            plan: plan.clone(),
            bin_dir: options.bin_dir,
            rie: rie_path()?,
            log_dir: options.log_dir,
            http_addr: options.http_addr,
            aws_endpoint: endpoint,
            operator: moto.operator.clone(),
            roles: roles.clone(),
            extra_env,
            schedule_every: options.schedule_every,
            retry_after: options.retry_after,
        })
        .await?;
        Ok(Session {
            moto,
            salesforce_url,
            chat_url,
            plan,
            host,
            sdk,
            roles,
            created,
        })
    }

    /// The tenants table and secret store of this stack.
    pub fn tenants(&self) -> (TenantTable, TenantSecretStore) {
        tenant_stores(&self.plan, &self.sdk)
    }

    /// The name of a table by its logical id in the template.
    pub fn table(&self, logical_id: &str) -> Option<&str> {
        self.plan
            .tables
            .iter()
            .find(|t| t.logical_id == logical_id)
            .map(|t| t.name.as_str())
    }

    pub fn intake_url(&self) -> String {
        format!("http://{}", self.host.http_addr)
    }

    /// Waits until the queues are empty and no invocation runs (checked twice in a row, since
    /// a message moves between queues in between).
    pub async fn wait_idle(&self, limit: Duration) -> Result<(), SessionError> {
        let started = tokio::time::Instant::now();
        let mut quiet = 0;
        loop {
            let pending = self.host.pending().await?;
            quiet = if pending == 0 { quiet + 1 } else { 0 };
            if quiet >= 2 {
                return Ok(());
            }
            if started.elapsed() > limit {
                return Err(SessionError::NotIdle(limit, pending));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn stop(self) {
        self.host.stop().await;
        self.moto.stop().await;
    }
}

fn tenant_stores(plan: &Plan, sdk: &aws_config::SdkConfig) -> (TenantTable, TenantSecretStore) {
    let table = plan
        .tables
        .iter()
        .find(|t| t.logical_id == "TenantsTable")
        .map(|t| t.name.clone())
        .unwrap_or_default();
    let prefix = plan
        .functions
        .first()
        .and_then(|f| {
            f.env
                .get(shared::config::vars::TENANT_SECRET_PREFIX)
                .cloned()
        })
        .unwrap_or_default();
    (
        TenantTable::new(aws_sdk_dynamodb::Client::new(sdk), table),
        TenantSecretStore::new(aws_sdk_secretsmanager::Client::new(sdk), prefix),
    )
}
