//! The tools the local stack runs (the venv's Python, RIE) and how running them fails.

use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ProcError {
    #[error(
        "{0} not found; run `make dev` or `make test` once (they install it into ~/.cache/chatsync/venv), or set {1}"
    )]
    NotFound(&'static str, &'static str),
    #[error("starting {what}: {source}")]
    Spawn {
        what: String,
        source: std::io::Error,
    },
    #[error("{what} did not become ready within {seconds}s: {detail}")]
    NotReady {
        what: String,
        seconds: u64,
        detail: String,
    },
    #[error("invoking {function}: {message}")]
    Invoke { function: String, message: String },
}

/// The venv `make` installs the Python tools into (outside the clone).
pub fn venv_dir() -> PathBuf {
    if let Ok(v) = std::env::var("CHATSYNC_VENV") {
        return PathBuf::from(v);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    PathBuf::from(home).join(".cache/chatsync/venv")
}

/// A tool from `$VAR`, else the venv, else PATH.
pub(crate) fn find_tool(name: &'static str, var: &'static str) -> Result<PathBuf, ProcError> {
    if let Ok(p) = std::env::var(var) {
        return Ok(PathBuf::from(p));
    }
    let in_venv = venv_dir().join("bin").join(name);
    if in_venv.exists() {
        return Ok(in_venv);
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .find(|p| p.exists())
        })
        .ok_or(ProcError::NotFound(name, var))
}

/// The RIE binary shipped inside the aws-sam-cli package.
pub fn rie_path() -> Result<PathBuf, ProcError> {
    if let Ok(p) = std::env::var("AWS_LAMBDA_RIE") {
        return Ok(PathBuf::from(p));
    }
    let arch = if cfg!(target_arch = "aarch64") {
        "arm64"
    } else {
        "x86_64"
    };
    let lib = venv_dir().join("lib");
    std::fs::read_dir(&lib)
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .map(|python| {
            python
                .path()
                .join("site-packages/samcli/local/rapid")
                .join(format!("aws-lambda-rie-{arch}"))
        })
        .find(|p| p.exists())
        .ok_or(ProcError::NotFound("aws-lambda-rie", "AWS_LAMBDA_RIE"))
}

/// The venv's Python (`$CHATSYNC_PYTHON` overrides).
pub fn venv_python() -> Result<PathBuf, ProcError> {
    find_tool("python3", "CHATSYNC_PYTHON")
}
