//! Why a message could not be resolved, classified for the retry policy: the consumers'
//! shared failures ([`CoreError`]) and the resolver's own.

use shared::consumer::CoreError;
use shared::error::{Classify, ErrorClass};
use shared::identity::enrich::EnrichError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ResolveError {
    #[error(transparent)]
    Core(CoreError),
    #[error("platform contact lookup: {0}")]
    Enrich(#[from] EnrichError),
    /// An agent's e-mail or a team's name could not be read at the platform (the scope it
    /// needs is named).
    #[error("agent or team lookup ({needs}): {error}")]
    Agent {
        error: EnrichError,
        needs: &'static str,
    },
    #[error("Salesforce created nothing for a plan that asked for a record")]
    NothingCreated,
    /// Another event of the same visitor (in another FIFO group) is creating the person now.
    #[error("another event of this visitor is creating it in Salesforce; retried")]
    CreationInProgress,
}

shared::core_error_conversions!(ResolveError);

impl Classify for ResolveError {
    fn class(&self) -> ErrorClass {
        match self {
            ResolveError::Core(e) => e.class(),
            ResolveError::Enrich(e) | ResolveError::Agent { error: e, .. } => e.class(),
            ResolveError::NothingCreated | ResolveError::CreationInProgress => {
                ErrorClass::Transient
            }
        }
    }
}
