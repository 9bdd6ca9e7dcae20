//! Records a crash left unrecorded. CaseComments have no external id to upsert by: after a
//! crash between Salesforce's answer and our bookkeeping, the Case is found by its key and the
//! CaseComments already written by their first line (the transcript header, or "Transcript
//! part N, continued"), so they are updated, not written twice.

use crate::WriteError;
use crate::org::LazyOrg;
use shared::mapping::outcome::{case_id, part_mut};
use shared::mapping::plan;
use shared::mapping::policy::TranscriptTarget;
use shared::mapping::state::{CaseLink, ConversationState};
use shared::platforms::Platform;
use shared::salesforce::Soql;
use shared::tenant::TenantConfig;

/// After a crash mid-write with CaseComments as the transcript target: the new Case's id and
/// the comments' ids, found again. Returns a note for the sync log when any were found.
pub(crate) async fn recover_comments(
    org: &mut LazyOrg<'_>,
    config: &TenantConfig,
    platform: Platform,
    state: &mut ConversationState,
    parts: &[String],
) -> Result<Option<String>, WriteError> {
    if !state.in_flight || config.transcript.target != TranscriptTarget::CaseComment {
        return Ok(None);
    }
    let org = org.get().await?;
    if case_id(state).is_none() && state.wants_case {
        // The crash came before the new Case's id was recorded: find it by its key.
        let key = plan::case_key(&config.tenant_id, platform, &state.conversation_id);
        let q = Soql::select(&["Id"])
            .from("Case")
            .where_eq(plan::CASE_KEY_FIELD, key.as_str())
            .limit(1)
            .build()?;
        if let Some(id) = org
            .query_all(&q)
            .await?
            .first()
            .and_then(|c| c.get("Id"))
            .and_then(|v| v.as_str())
        {
            state.case = Some(CaseLink {
                id: Some(id.to_owned()),
                reused: false,
            });
        }
    }
    let Some(case) = case_id(state).map(str::to_owned) else {
        return Ok(None);
    };
    let missing: Vec<usize> = (0..parts.len())
        .filter(|i| state.parts.get(*i).is_none_or(|p| p.id.is_none()))
        .collect();
    if missing.is_empty() {
        return Ok(None);
    }
    let q = Soql::select(&["Id", "CommentBody"])
        .from("CaseComment")
        .where_eq("ParentId", case.as_str())
        .build()?;
    let found = org.query_all(&q).await?;
    let mut recovered = 0;
    for index in missing {
        let first_line = parts[index].lines().next().unwrap_or_default();
        let hit = found.iter().find(|c| {
            c.get("CommentBody")
                .and_then(|b| b.as_str())
                .and_then(|b| b.lines().next())
                == Some(first_line)
        });
        if let Some(id) = hit.and_then(|c| c.get("Id")).and_then(|v| v.as_str()) {
            part_mut(state, index).id = Some(id.to_owned());
            recovered += 1;
        }
    }
    Ok((recovered > 0).then(|| {
        format!("{recovered} CaseComment(s) written before a crash found again and updated")
    }))
}
