//! What an org handle sent and got back, kept for the sync log's payload references. Only the
//! method, the path (with its query) and the bodies: headers, and so the bearer token, are
//! never kept.

use serde::Serialize;
use serde_json::Value;
use std::collections::VecDeque;
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

/// What was recorded: the first and the last exchanges of a unit of work, and how many
/// between them were not kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recorded {
    pub exchanges: Vec<Exchange>,
    pub dropped: usize,
}

/// Where org handles record their exchanges; cheap to clone, shared by the handles of one
/// unit of work (a conversation's write, an event's resolution). Memory stays bounded: the
/// first [`KEEP_EACH_END`] and the last [`KEEP_EACH_END`] are kept, the rest only counted, and
/// file contents are replaced by their size as they are recorded.
#[derive(Debug, Clone, Default)]
pub struct Exchanges(Option<Arc<Mutex<Kept>>>);

#[derive(Debug, Default)]
struct Kept {
    first: Vec<Exchange>,
    last: VecDeque<Exchange>,
    dropped: usize,
}

pub const KEEP_EACH_END: usize = 32;

impl Exchanges {
    /// A recorder that keeps what it is given.
    pub fn new() -> Self {
        Self(Some(Arc::default()))
    }

    /// A recorder that keeps nothing (the tenant keeps no payloads).
    pub fn off() -> Self {
        Self(None)
    }

    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    fn kept(&self) -> Option<std::sync::MutexGuard<'_, Kept>> {
        self.0
            .as_ref()
            .map(|k| k.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub(super) fn push(&self, mut exchange: Exchange) {
        let Some(mut kept) = self.kept() else {
            return;
        };
        if let Some(body) = &mut exchange.request {
            without_file_contents(body);
        }
        if kept.first.len() < KEEP_EACH_END {
            kept.first.push(exchange);
            return;
        }
        kept.last.push_back(exchange);
        if kept.last.len() > KEEP_EACH_END {
            kept.last.pop_front();
            kept.dropped += 1;
        }
    }

    /// Everything kept so far, oldest first.
    pub fn snapshot(&self) -> Recorded {
        let Some(kept) = self.kept() else {
            return Recorded::default();
        };
        Recorded {
            exchanges: kept.first.iter().chain(&kept.last).cloned().collect(),
            dropped: kept.dropped,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.kept().is_none_or(|k| k.first.is_empty())
    }
}

/// A file's base64 content (ContentVersion.VersionData) is replaced by its size: it can be
/// megabytes, and its size is what an operator needs.
fn without_file_contents(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key.eq_ignore_ascii_case("VersionData") {
                    let len = v.as_str().map_or(0, str::len);
                    *v = Value::String(format!("[file content: {len} characters]"));
                } else {
                    without_file_contents(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(without_file_contents),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn exchange(i: usize) -> Exchange {
        Exchange {
            method: "GET".into(),
            path: format!("call-{i}"),
            request: None,
            status: 200,
            response: "{}".into(),
        }
    }

    #[test]
    fn the_first_and_last_are_kept_and_the_middle_counted() {
        let recorder = Exchanges::new();
        for i in 0..100 {
            recorder.push(exchange(i));
        }
        let recorded = recorder.snapshot();
        assert_eq!(recorded.exchanges.len(), 2 * KEEP_EACH_END);
        assert_eq!(recorded.dropped, 100 - 2 * KEEP_EACH_END);
        assert_eq!(recorded.exchanges[0].path, "call-0");
        assert_eq!(recorded.exchanges[KEEP_EACH_END].path, "call-68");
        assert_eq!(
            recorded.exchanges.last().map(|e| e.path.as_str()),
            Some("call-99")
        );
    }

    #[test]
    fn file_contents_are_not_held_and_an_off_recorder_holds_nothing() {
        let recorder = Exchanges::new();
        let mut e = exchange(0);
        e.request = Some(
            json!({"compositeRequest": [{"body": {"VersionData": "aGVsbG8=", "Title": "a"}}]}),
        );
        recorder.push(e);
        let body = recorder.snapshot().exchanges[0]
            .request
            .clone()
            .unwrap_or_default();
        assert_eq!(
            body["compositeRequest"][0]["body"]["VersionData"],
            "[file content: 8 characters]"
        );
        assert_eq!(body["compositeRequest"][0]["body"]["Title"], "a");
        let off = Exchanges::off();
        off.push(exchange(1));
        assert!(off.is_empty() && !off.is_on());
        assert_eq!(off.snapshot(), Recorded::default());
    }
}
