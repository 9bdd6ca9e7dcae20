//! Child processes of the local stack: moto server and functions under the Lambda Runtime
//! Interface Emulator (RIE). Each is stopped when its handle is dropped, so nothing strays.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

pub use crate::iam::{aws_env, sdk_config};
pub use crate::tools::{ProcError, rie_path, venv_dir, venv_python};

/// A free loopback port (the OS picks it; the listener is closed before use). The OS may
/// hand the same port out again once it is closed, so ports already given to a process of
/// this one (tests start several stacks at once) are never given twice.
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Option<std::collections::HashSet<u16>>> = Mutex::new(None);
    for _ in 0..64 {
        let Some(port) = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .ok()
        else {
            continue;
        };
        let mut given = GIVEN.lock().unwrap_or_else(|p| p.into_inner());
        if given.get_or_insert_with(Default::default).insert(port) {
            return port;
        }
    }
    0
}

/// True when something already listens on the loopback port.
fn in_use(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Waits until something accepts connections on `port`, or the deadline passes.
async fn wait_for_port(
    what: &str,
    port: u16,
    child: &mut Child,
    limit: Duration,
) -> Result<(), ProcError> {
    let started = tokio::time::Instant::now();
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            // Something listens; ours only if it is still alive (another process may have
            // taken the port, and ours exited failing to bind it).
            return match child.try_wait() {
                Ok(None) => Ok(()),
                Ok(Some(status)) => Err(ProcError::NotReady {
                    what: what.into(),
                    seconds: 0,
                    detail: format!("exited with {status}; 127.0.0.1:{port} is someone else's"),
                }),
                Err(e) => Err(ProcError::NotReady {
                    what: what.into(),
                    seconds: 0,
                    detail: e.to_string(),
                }),
            };
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(ProcError::NotReady {
                what: what.into(),
                seconds: 0,
                detail: format!("exited with {status}"),
            });
        }
        if started.elapsed() > limit {
            return Err(ProcError::NotReady {
                what: what.into(),
                seconds: limit.as_secs(),
                detail: format!("nothing listens on 127.0.0.1:{port}"),
            });
        }
        // Readiness of another process has no event to wait on; connect attempts are cheap.
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

const MOTO_IAM_SERVER: &str = include_str!("../../python/moto_iam_server.py");

/// moto server on loopback with IAM enforced (see iam.rs); stopped on drop.
pub struct Moto {
    child: Child,
    pub port: u16,
    /// The operator's keys: allowed everything, as an administrator is.
    pub operator: crate::iam::Credentials,
}

impl Moto {
    /// Starts moto on `port`, or on a free port when none is given (another one is tried
    /// when a process outside this one takes the port first).
    pub async fn start(port: Option<u16>) -> Result<Self, ProcError> {
        if port.is_some() {
            return Self::start_on(port).await;
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            match Self::start_on(None).await {
                Err(ProcError::NotReady { seconds: 0, .. }) if attempt < 5 => continue,
                other => return other,
            }
        }
    }

    async fn start_on(port: Option<u16>) -> Result<Self, ProcError> {
        let python = venv_python()?;
        let port = port.unwrap_or_else(free_port);
        // Never attach to someone else's server (a `make dev` still running, say).
        if in_use(port) {
            return Err(ProcError::NotReady {
                what: "moto_server".into(),
                seconds: 0,
                detail: format!("127.0.0.1:{port} is already in use (is `make dev` running?)"),
            });
        }
        // Loopback by default; CHATSYNC_MOTO_HOST=0.0.0.0 lets `sam local invoke` containers in.
        let host = std::env::var("CHATSYNC_MOTO_HOST").unwrap_or_else(|_| "127.0.0.1".into());
        let mut child = Command::new(&python)
            .arg("-c")
            .arg(MOTO_IAM_SERVER)
            .args(["-H", &host, "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| ProcError::Spawn {
                what: python.display().to_string(),
                source,
            })?;
        wait_for_port("moto_server", port, &mut child, Duration::from_secs(60)).await?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let operator = crate::iam::enforce(&endpoint)
            .await
            .map_err(|e| ProcError::NotReady {
                what: "moto_server".into(),
                seconds: 0,
                detail: e.to_string(),
            })?;
        Ok(Self {
            child,
            port,
            operator,
        })
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SDK config signing as the operator.
    pub async fn sdk(&self) -> aws_config::SdkConfig {
        sdk_config(&self.endpoint(), &self.operator).await
    }

    /// The environment a tool run by the operator (the CLI) reaches moto with.
    pub fn env(&self) -> Vec<(String, String)> {
        aws_env(&self.endpoint(), &self.operator)
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// One function: its real binary under RIE, invoked through RIE's Invoke API.
pub struct FunctionProcess {
    pub name: String,
    pub binary: PathBuf,
    env: Vec<(String, String)>,
    rie: PathBuf,
    log_path: PathBuf,
    timeout: Duration,
    state: tokio::sync::Mutex<Option<Running>>,
    init_reports: Arc<Mutex<Vec<f64>>>,
    http: reqwest::Client,
    /// The running RIE's process id, readable without waiting for an invocation to end.
    pid: std::sync::atomic::AtomicU32,
}

struct Running {
    child: Child,
    port: u16,
}

impl FunctionProcess {
    pub fn new(
        name: &str,
        binary: &Path,
        env: Vec<(String, String)>,
        rie: &Path,
        log_dir: &Path,
        timeout: Duration,
    ) -> Self {
        Self {
            name: name.to_owned(),
            binary: binary.to_owned(),
            env,
            rie: rie.to_owned(),
            log_path: log_dir.join(format!("{name}.log")),
            timeout,
            state: tokio::sync::Mutex::new(None),
            init_reports: Arc::new(Mutex::new(Vec::new())),
            http: reqwest::Client::new(),
            pid: std::sync::atomic::AtomicU32::new(0),
        }
    }

    /// Kills the function's process tree now, even in the middle of an invocation (a crash,
    /// as a Lambda environment dying would be). The invocation fails; the next one starts a
    /// fresh process. False when nothing was running.
    pub async fn crash(&self) -> bool {
        let pid = self.pid.swap(0, std::sync::atomic::Ordering::SeqCst);
        if pid == 0 {
            return false;
        }
        // The function binary runs as RIE's child: kill it first, then RIE.
        let _ = Command::new("pkill")
            .args(["-KILL", "-P", &pid.to_string()])
            .status()
            .await;
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .await;
        true
    }

    /// Spawns RIE with the function; when RIE exits at once (its port taken by another
    /// process between picking and binding) it is tried on other ports.
    async fn spawn(&self) -> Result<Running, ProcError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.spawn_once().await {
                Err(ProcError::NotReady { seconds: 0, .. }) if attempt < 5 => continue,
                other => return other,
            }
        }
    }

    async fn spawn_once(&self) -> Result<Running, ProcError> {
        if !self.binary.exists() {
            return Err(ProcError::Spawn {
                what: self.binary.display().to_string(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "binary not built (cargo build --workspace)",
                ),
            });
        }
        let port = free_port();
        let api_port = free_port();
        if in_use(port) || in_use(api_port) {
            return Err(ProcError::NotReady {
                what: self.name.clone(),
                seconds: 0,
                detail: format!("127.0.0.1:{port} or :{api_port} is already in use"),
            });
        }
        let mut child = Command::new(&self.rie)
            .arg("--runtime-interface-emulator-address")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--runtime-api-address")
            .arg(format!("127.0.0.1:{api_port}"))
            .arg(&self.binary)
            .env_clear()
            .envs(std::env::var("PATH").map(|p| ("PATH".to_owned(), p)))
            .envs(self.env.iter().cloned())
            .env("AWS_LAMBDA_FUNCTION_NAME", &self.name)
            .env(
                "AWS_LAMBDA_FUNCTION_TIMEOUT",
                self.timeout.as_secs().to_string(),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| ProcError::Spawn {
                what: self.rie.display().to_string(),
                source,
            })?;
        self.pid.store(
            child.id().unwrap_or_default(),
            std::sync::atomic::Ordering::SeqCst,
        );
        let log = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .await
            .map_err(|source| ProcError::Spawn {
                what: self.log_path.display().to_string(),
                source,
            })?;
        let log = Arc::new(tokio::sync::Mutex::new(log));
        let streams: [Option<Box<dyn tokio::io::AsyncRead + Unpin + Send>>; 2] = [
            child.stdout.take().map(|s| Box::new(s) as _),
            child.stderr.take().map(|s| Box::new(s) as _),
        ];
        for stream in streams.into_iter().flatten() {
            let log = log.clone();
            let reports = self.init_reports.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(ms) = init_duration_ms(&line) {
                        reports.lock().unwrap_or_else(|p| p.into_inner()).push(ms);
                    }
                    let mut f = log.lock().await;
                    let _ = f.write_all(line.as_bytes()).await;
                    let _ = f.write_all(b"\n").await;
                }
            });
        }
        wait_for_port(&self.name, port, &mut child, Duration::from_secs(30)).await?;
        Ok(Running { child, port })
    }

    /// Starts the function if it is not running.
    pub async fn start(&self) -> Result<(), ProcError> {
        let mut state = self.state.lock().await;
        if state.is_none() {
            *state = Some(self.spawn().await?);
        }
        Ok(())
    }

    /// Kills the function process (a crash, as Lambda would see it) and starts a fresh one.
    pub async fn restart(&self) -> Result<(), ProcError> {
        let mut state = self.state.lock().await;
        if let Some(mut running) = state.take() {
            let _ = running.child.kill().await;
        }
        *state = Some(self.spawn().await?);
        Ok(())
    }

    pub async fn stop(&self) {
        if let Some(mut running) = self.state.lock().await.take() {
            let _ = running.child.kill().await;
        }
    }

    /// Cold start durations (ms) reported by RIE's `INIT REPORT` lines, oldest first.
    pub fn cold_starts(&self) -> Vec<f64> {
        self.init_reports
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Invokes the function once (one at a time, as one Lambda execution environment does).
    /// A function error (`errorType`) comes back as `Err`.
    pub async fn invoke(
        &self,
        payload: &serde_json::Value,
    ) -> Result<serde_json::Value, ProcError> {
        let mut state = self.state.lock().await;
        if state.is_none() {
            *state = Some(self.spawn().await?);
        }
        let port = state.as_ref().map(|r| r.port).unwrap_or_default();
        let err = |message: String| ProcError::Invoke {
            function: self.name.clone(),
            message,
        };
        let response = self
            .http
            .post(format!(
                "http://127.0.0.1:{port}/2015-03-31/functions/function/invocations"
            ))
            .json(payload)
            .timeout(self.timeout + Duration::from_secs(5))
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                // Killed (or died) mid-invocation: start afresh next time, as Lambda does.
                if let Some(running) = state.as_mut()
                    && let Ok(Some(_)) = running.child.try_wait()
                {
                    *state = None;
                }
                return Err(err(e.to_string()));
            }
        };
        let status = response.status();
        let text = response.text().await.map_err(|e| err(e.to_string()))?;
        let value: serde_json::Value =
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        if !status.is_success() {
            return Err(err(format!("HTTP {status}: {value}")));
        }
        if let Some(kind) = value.get("errorType").and_then(|t| t.as_str()) {
            let message = value
                .get("errorMessage")
                .and_then(|m| m.as_str())
                .unwrap_or_default();
            // A crashed runtime leaves RIE unable to serve: start afresh next time, as Lambda does.
            if let Some(running) = state.as_mut()
                && let Ok(Some(_)) = running.child.try_wait()
            {
                *state = None;
            }
            return Err(err(format!("{kind}: {message}")));
        }
        Ok(value)
    }
}

/// Parses RIE's `INIT REPORT(... durationMs: 12.34 ...)` line.
pub fn init_duration_ms(line: &str) -> Option<f64> {
    let rest = &line[line.find("INIT REPORT")?..];
    let after = &rest[rest.find("durationMs:")? + "durationMs:".len()..];
    let number: String = after
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    number.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_reports_are_read_in_both_rie_formats() {
        assert_eq!(
            init_duration_ms("INIT REPORT(durationMs: 12.500000)"),
            Some(12.5)
        );
        assert_eq!(
            init_duration_ms(
                "x INIT REPORT(initType: on-demand, durationMs: 3.21, status: ok, phase: init)"
            ),
            Some(3.21)
        );
        assert_eq!(init_duration_ms("REPORT RequestId: 1 Duration: 2 ms"), None);
    }
}
