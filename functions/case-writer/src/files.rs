//! Chat attachments as Salesforce Files, after the conversation's own write: a file Salesforce
//! refuses must not roll back the Case and Task.

use crate::org::LazyOrg;
use crate::report::Report;
use crate::state::save;
use crate::{Function, WriteError, attachments};
use shared::error::Classify;
use shared::mapping::files::{self, PendingFile};
use shared::mapping::state::ConversationState;
use shared::mapping::transcript::Line;
use shared::salesforce::{CompositeRequest, Org};
use shared::store::StoreError;
use shared::store::conversations::ConversationKey;
use shared::tenant::TenantConfig;
use std::time::Duration;
use time::OffsetDateTime;

/// Time the attachment downloads of one write may take; the rest wait for the next write
/// (the writer has 60 s in all).
const FETCH_BUDGET: Duration = Duration::from_secs(30);

/// The stored attachments of one conversation's write.
pub(crate) struct Files<'a> {
    pub function: &'a Function,
    pub key: &'a ConversationKey,
    pub case_key: &'a str,
    pub now: OffsetDateTime,
}

impl Files<'_> {
    /// The stored lines' attachments not yet stored or linked: fetched, and created as Files
    /// on the Case (else the person, else the Task) in their own composite requests. Too large
    /// or unavailable ones stay links in the transcript.
    pub(crate) async fn store(
        &self,
        config: &TenantConfig,
        state: &mut ConversationState,
        stored: &[String],
        recovering: bool,
        org: &mut LazyOrg<'_>,
        report: &mut Report,
    ) -> Result<(), WriteError> {
        let lines = stored
            .iter()
            .map(|l| serde_json::from_str::<Line>(l))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Corrupt {
                what: "stored transcript line",
                reason: e.to_string(),
            })?;
        let todo = files::unrecorded(state, &lines);
        if todo.is_empty() {
            return Ok(());
        }
        let Some(parent) = files::parent(state).map(str::to_owned) else {
            return Ok(());
        };
        let org = org.get().await?;
        if recovering {
            let keys: Vec<String> = todo
                .iter()
                .map(|a| files::attachment_key(self.case_key, &a.url))
                .collect();
            for soql in files::recovery_queries(&keys)? {
                let found = files::recovered(&org.query_all(&soql).await?);
                for a in &todo {
                    if let Some(id) = found.get(&files::attachment_key(self.case_key, &a.url)) {
                        state
                            .attachments
                            .insert(files::url_hash(&a.url), id.clone());
                    }
                }
            }
        }
        let cap = files::fetch_cap(config.transcript.attachment_max_bytes);
        let deadline = std::time::Instant::now() + FETCH_BUDGET;
        // One request's worth at a time: never more than its budget in memory.
        let mut batch: Vec<(String, PendingFile)> = Vec::new();
        let mut bytes = 0u64;
        for a in todo {
            let hash = files::url_hash(&a.url);
            if state.attachments.contains_key(&hash) {
                continue;
            }
            if std::time::Instant::now() > deadline {
                report
                    .notes
                    .push("attachments left for the next write (download time)".into());
                break;
            }
            match self.function.fetcher.fetch(&a.url, cap).await {
                attachments::Fetched::Bytes { data, content_type } => {
                    let size = data.len() as u64;
                    if !files::fits(batch.len(), bytes, size) {
                        self.send(state, org, &parent, std::mem::take(&mut batch), report)
                            .await?;
                        bytes = 0;
                    }
                    bytes += size;
                    let file = PendingFile {
                        key: files::attachment_key(self.case_key, &a.url),
                        name: files::file_name(a.name.as_deref(), &a.url),
                        data,
                        content_type,
                    };
                    batch.push((hash, file));
                }
                attachments::Fetched::TooLarge => {
                    report
                        .notes
                        .push("an attachment over the size cap stays a link".into());
                    state.attachments.insert(hash, files::LINKED.into());
                }
                attachments::Fetched::Unavailable(reason) => {
                    report
                        .notes
                        .push(format!("attachment not fetched ({reason}): left as a link"));
                    state.attachments.insert(hash, files::LINKED.into());
                }
            }
        }
        if !batch.is_empty() {
            self.send(state, org, &parent, batch, report).await?;
        }
        save(self.function, self.key, state, self.now).await
    }

    /// One composite request of files, each on its own (allOrNone false): a file Salesforce
    /// refuses (blocked extension, storage full) becomes a link and the others still land.
    async fn send(
        &self,
        state: &mut ConversationState,
        org: &Org,
        parent: &str,
        batch: Vec<(String, PendingFile)>,
        report: &mut Report,
    ) -> Result<(), WriteError> {
        let (hashes, pending): (Vec<String>, Vec<PendingFile>) = batch.into_iter().unzip();
        let mut request = CompositeRequest::new(false);
        let mut references = Vec::with_capacity(pending.len());
        for (reference, sub) in files::file_subrequests(&pending, parent, 0) {
            request.push(sub)?;
            references.push(reference);
        }
        // Should we crash after Salesforce stored them, the retry looks their keys up first.
        state.in_flight = true;
        save(self.function, self.key, state, self.now).await?;
        let response = org.composite(&request).await?;
        shared::failpoint::crash_once("writer-after-files");
        for ((hash, file), reference) in hashes.into_iter().zip(&pending).zip(&references) {
            let Some(sub) = response.get(reference) else {
                continue;
            };
            match (sub.error(), sub.id()) {
                (None, Some(id)) => {
                    state.attachments.insert(hash, id.to_owned());
                    report.records.push(id.to_owned());
                }
                (Some(e), _) if e.class().is_retryable() => report.notes.push(format!(
                    "{} not stored ({e}): tried again with the next write",
                    file.name
                )),
                (e, _) => {
                    let why = e.map(|e| e.to_string()).unwrap_or_else(|| "no id".into());
                    report
                        .notes
                        .push(format!("{} left as a link: {why}", file.name));
                    state.attachments.insert(hash, files::LINKED.into());
                }
            }
        }
        report.sent.push(format!("{} file(s)", pending.len()));
        state.in_flight = false;
        save(self.function, self.key, state, self.now).await
    }
}
