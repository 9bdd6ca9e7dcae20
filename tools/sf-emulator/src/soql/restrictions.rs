//! Per-object query restrictions the platform enforces before running anything.

use super::{CmpOp, Expr, Query};
use crate::errors::ApiError;

/// ContentDocumentLink can only be queried for given documents or given records (Object
/// Reference, ContentDocumentLink: "You can't run a query without filters against
/// ContentDocumentLink"); the filter must be an `=` or `IN` on ContentDocumentId or
/// LinkedEntityId that every row has to meet.
pub(crate) fn check(q: &Query) -> Result<(), ApiError> {
    if !q.from.eq_ignore_ascii_case("ContentDocumentLink") {
        return Ok(());
    }
    if q.filter.as_ref().is_some_and(filters_by_id) {
        return Ok(());
    }
    Err(ApiError::new(
        400,
        "MALFORMED_QUERY",
        "Implementation restriction: ContentDocumentLink requires a filter by a single Id on ContentDocumentId or LinkedEntityId using the equals operator or multiple Id's using the IN operator.",
    ))
}

fn is_id_field(path: &[String]) -> bool {
    matches!(path, [f] if f.eq_ignore_ascii_case("ContentDocumentId")
        || f.eq_ignore_ascii_case("LinkedEntityId"))
}

fn filters_by_id(e: &Expr) -> bool {
    match e {
        Expr::And(a, b) => filters_by_id(a) || filters_by_id(b),
        Expr::Cmp {
            field,
            op: CmpOp::Eq,
            ..
        } => is_id_field(&field.path),
        Expr::In {
            field,
            negated: false,
            ..
        } => is_id_field(&field.path),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::soql::parse;

    fn allowed(q: &str) -> bool {
        parse(q).is_ok_and(|q| check(&q).is_ok())
    }

    #[test]
    fn content_document_link_needs_an_id_filter() {
        assert!(allowed(
            "SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId = '500000000000001AAA'"
        ));
        assert!(allowed(
            "SELECT Id FROM ContentDocumentLink WHERE ShareType = 'V' AND ContentDocumentId IN ('069000000000001AAA')"
        ));
        assert!(!allowed("SELECT Id FROM ContentDocumentLink"));
        assert!(!allowed(
            "SELECT Id FROM ContentDocumentLink WHERE ShareType = 'V' OR LinkedEntityId = '500000000000001AAA'"
        ));
        assert!(!allowed(
            "SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId != '500000000000001AAA'"
        ));
        assert!(allowed("SELECT Id FROM Case"));
    }
}
