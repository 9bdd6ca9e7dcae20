//! The tenant's transcript settings applied: lines stored redacted, parts rendered in the
//! tenant's time zone and cut to the target field's limit.

use crate::WriteError;
use shared::mapping::intents::Absorbed;
use shared::mapping::redact::Redactor;
use shared::mapping::state::ConversationState;
use shared::mapping::transcript::{Line, RenderOptions, TimeZone, parse_time_zone, render_parts};
use shared::platforms::Platform;
use shared::store::StoreError;
use shared::store::conversations::line_sort_key;
use shared::tenant::TenantConfig;

pub(crate) struct Tools {
    redactor: Redactor,
    time_zone: TimeZone,
    part_limit: usize,
}

impl Tools {
    pub(crate) fn for_tenant(config: &TenantConfig) -> Result<Self, WriteError> {
        let bad = |reason: String| WriteError::BadConfig {
            tenant: config.tenant_id.clone(),
            reason,
        };
        let t = &config.transcript;
        Ok(Self {
            redactor: Redactor::new(t.redact_cards, &t.redact_patterns)
                .map_err(|e| bad(e.to_string()))?,
            time_zone: parse_time_zone(&t.time_zone).map_err(|e| bad(e.to_string()))?,
            part_limit: t.target.part_limit(),
        })
    }

    /// The batch's messages as stored lines `(sort key, JSON)`, redacted before storing.
    pub(crate) fn lines(&self, absorbed: &Absorbed) -> Result<Vec<(String, String)>, WriteError> {
        let mut out = Vec::with_capacity(absorbed.messages.len());
        for (stamp, message) in &absorbed.messages {
            let line = Line::from_message(message, stamp.at, &self.redactor);
            // Without a platform message id the event's own place is unique and stable.
            let id = message.id.clone().unwrap_or_else(|| stamp.tiebreak.clone());
            out.push((line_sort_key(line.at, &id), serde_json::to_string(&line)?));
        }
        Ok(out)
    }

    /// The transcript's parts, from every stored line.
    pub(crate) fn render(
        &self,
        stored: &[String],
        state: &ConversationState,
        platform: Platform,
    ) -> Result<Vec<String>, WriteError> {
        let mut lines = Vec::with_capacity(stored.len());
        for json in stored {
            // Our own stored data, not the event's: a store fault, not bad input.
            lines.push(
                serde_json::from_str::<Line>(json).map_err(|e| StoreError::Corrupt {
                    what: "stored transcript line",
                    reason: e.to_string(),
                })?,
            );
        }
        let mut header = format!(
            "Chat transcript · {} conversation {}",
            platform.display_name(),
            state.conversation_id
        );
        if let Some(url) = &state.url {
            header.push('\n');
            header.push_str(url);
        }
        let options = RenderOptions::new(self.time_zone.clone(), self.part_limit, Some(header))
            .map_err(|e| WriteError::BadConfig {
                tenant: String::new(),
                reason: e.to_string(),
            })?;
        Ok(render_parts(&lines, &options))
    }
}
