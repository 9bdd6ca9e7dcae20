//! Saving the conversation's state: a save that lost the optimistic lock is a retry.

use crate::{Function, WriteError};
use shared::mapping::state::ConversationState;
use shared::store::conversations::{ConversationKey, Saved};
use time::OffsetDateTime;

pub(crate) async fn save(
    function: &Function,
    key: &ConversationKey,
    state: &mut ConversationState,
    now: OffsetDateTime,
) -> Result<(), WriteError> {
    match function.conversations.save(key, state, now).await? {
        Saved::Yes => Ok(()),
        Saved::Conflict => Err(WriteError::StateConflict),
    }
}
