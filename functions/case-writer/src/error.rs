//! Why a group of messages could not be written, classified for the retry policy: the
//! consumers' shared failures ([`CoreError`]) and the writer's own.

use shared::consumer::CoreError;
use shared::error::{Classify, ErrorClass};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum WriteError {
    #[error(transparent)]
    Core(CoreError),
    #[error("tenant {tenant}: {reason}")]
    BadConfig { tenant: String, reason: String },
    #[error("the conversation's state changed under this write (another invocation); retrying")]
    StateConflict,
    #[error("Salesforce changed the Case again while its conflict was being settled")]
    StillConflicting,
}

shared::core_error_conversions!(WriteError);

impl Classify for WriteError {
    fn class(&self) -> ErrorClass {
        match self {
            WriteError::Core(e) => e.class(),
            WriteError::BadConfig { .. } => ErrorClass::Configuration,
            WriteError::StateConflict | WriteError::StillConflicting => ErrorClass::Transient,
        }
    }
}
