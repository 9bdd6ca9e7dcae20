//! What an org handle sent and got back, kept for the sync log's payload references. Only the
//! method, the path (with its query) and the bodies: headers, and so the bearer token, are
//! never kept.

use serde::Serialize;
use serde_json::Value;
use std::sync::{Arc, Mutex, PoisonError};

/// One request and its answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exchange {
    pub method: String,
    /// The path after the instance URL, with the query string.
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<Value>,
    /// 0 when no answer came (a timeout, a dropped connection).
    pub status: u16,
    /// The answer's body as sent (JSON, or HTML from a failing proxy), or the transport error.
    pub response: String,
}

/// Where an org handle records its exchanges; cheap to clone, shared by the handles of one
/// unit of work (a conversation's write, an event's resolution).
#[derive(Debug, Clone, Default)]
pub struct Exchanges(Arc<Mutex<Vec<Exchange>>>);

/// Past this many, an exchange is counted but not kept: one unit of work never needs more to be
/// understood, and memory stays bounded.
const KEEP: usize = 64;

impl Exchanges {
    pub fn new() -> Self {
        Self::default()
    }

    pub(super) fn push(&self, exchange: Exchange) {
        let mut all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if all.len() < KEEP {
            all.push(exchange);
        }
    }

    /// Everything recorded so far, oldest first.
    pub fn snapshot(&self) -> Vec<Exchange> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn is_empty(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }
}
