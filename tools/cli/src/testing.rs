//! Test helpers shared by the commands' unit tests.

use shared::store::synclog::Logged;
use shared::synclog::SyncLogEntry;

/// `entry` as the open-items index lists it.
pub(crate) fn open_item(entry: SyncLogEntry) -> Logged {
    Logged {
        sk: "sk".into(),
        entry,
        open: true,
        closed_at: None,
        closed_by: None,
    }
}
