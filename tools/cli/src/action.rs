//! The action that settles an open item, in words an operator can paste.

use shared::error::ErrorClass;
use shared::store::synclog::Logged;
use shared::synclog::{Step, UNREADABLE_TENANT};

/// True for the resolver's own review items: several people matched and the tenant wants an
/// operator to choose. Its failures (a refused Contact, a missing secret) carry an error class.
pub(crate) fn is_identity_review(item: &Logged) -> bool {
    item.step == Step::Resolve && item.error_class.is_none()
}

/// What settles `item`.
pub(crate) fn action(item: &Logged) -> String {
    let id = &item.correlation_id;
    if item.tenant_id == UNREADABLE_TENANT {
        return format!(
            "not replayable (no delivery could be read): see `chatsync log {id}` and the sender"
        );
    }
    if item.payload.is_none() {
        return format!("nothing kept to replay: see `chatsync log {id}`");
    }
    if is_identity_review(item) {
        return format!("chatsync resolve {id} --choose <Contact or Lead Id>");
    }
    match item.error_class {
        Some(ErrorClass::Data) => {
            format!("fix the record or the field mapping, then `chatsync replay {id}`")
        }
        Some(ErrorClass::Configuration) => format!(
            "fix the tenant (`chatsync tenant put`) or the org's setup, then `chatsync replay {id}`"
        ),
        Some(ErrorClass::RateLimited) => {
            format!("`chatsync replay {id}` once the org's daily API limit has reset")
        }
        Some(ErrorClass::Transient | ErrorClass::Session) | None => {
            format!("check the cause (`chatsync log {id}`), then `chatsync replay {id}`")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::synclog::{Outcome, SyncLogEntry};

    fn item(tenant: &str, step: Step, class: Option<ErrorClass>, payload: bool) -> Logged {
        let mut entry = SyncLogEntry::new("c1", tenant, None, step, Outcome::Parked, "d");
        entry.error_class = class;
        if payload {
            entry.payload = Some("{}".into());
        }
        crate::testing::open_item(entry)
    }

    #[test]
    fn each_kind_of_item_names_its_settling_command() {
        let ambiguous = item("acme", Step::Resolve, None, true);
        assert!(is_identity_review(&ambiguous));
        assert_eq!(
            action(&ambiguous),
            "chatsync resolve c1 --choose <Contact or Lead Id>"
        );
        let refused_contact = item("acme", Step::Resolve, Some(ErrorClass::Data), true);
        assert!(!is_identity_review(&refused_contact));
        assert!(action(&refused_contact).ends_with("`chatsync replay c1`"));
        let no_secret = item("acme", Step::Write, Some(ErrorClass::Configuration), true);
        assert!(action(&no_secret).contains("chatsync tenant put"));
        let dead = item("acme", Step::Park, Some(ErrorClass::Transient), true);
        assert!(action(&dead).contains("chatsync log c1"));
        assert!(action(&item("acme", Step::Park, None, false)).starts_with("nothing kept"));
        assert!(
            action(&item(UNREADABLE_TENANT, Step::Park, None, true)).starts_with("not replayable")
        );
    }
}
