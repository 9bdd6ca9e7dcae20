//! How a command fails, and the exit code each failure maps to.

use std::process::ExitCode;

/// A command's failure; `exit_code` maps it to the documented exit codes.
#[derive(Debug)]
pub enum Failure {
    /// Wrong or missing arguments: exit 2.
    Usage(String),
    /// What was asked for does not exist (tenant, trail, open item): exit 3.
    NotFound(String),
    /// Anything else: exit 1.
    Other(String),
}

impl<E: std::error::Error> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Other(e.to_string())
    }
}

impl Failure {
    /// Prints the failure to stderr and returns its exit code.
    pub fn report(self) -> ExitCode {
        match self {
            Failure::Usage(m) => {
                eprintln!("error: {m}");
                ExitCode::from(2)
            }
            Failure::NotFound(m) => {
                eprintln!("not found: {m}");
                ExitCode::from(3)
            }
            Failure::Other(m) => {
                eprintln!("error: {m}");
                ExitCode::FAILURE
            }
        }
    }
}

/// A table, queue or prefix that must be given by flag or environment variable.
pub(crate) fn need<'a>(value: &'a str, flag: &str) -> Result<&'a str, Failure> {
    if value.is_empty() {
        Err(Failure::Usage(format!(
            "{flag} is required (or its environment variable)"
        )))
    } else {
        Ok(value)
    }
}
