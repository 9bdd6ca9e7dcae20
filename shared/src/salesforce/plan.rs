//! Splits work that is larger than one call into as few calls as the limits allow.
//!
//! A *group* is a set of subrequests that refer to each other (one chat event's Lead → Task →
//! Case); a group is never split, since `@{ref}` only resolves inside one composite request.

use super::collections::MAX_RECORDS;
use super::composite::{CompositeRequest, SubRequest};
use super::error::SalesforceError;

/// Composite requests for `groups`, with where each group went.
#[derive(Debug, Clone, PartialEq)]
pub struct CompositePlan {
    pub requests: Vec<CompositeRequest>,
    /// `placement[g]` is the index in `requests` holding group `g`.
    pub placement: Vec<usize>,
}

/// Packs groups, in order, into composite requests (first fit into the current request, a new
/// request when it is full). Fails when one group alone breaks a composite rule or two groups
/// share a referenceId within the same request.
pub fn plan_composite(
    groups: Vec<Vec<SubRequest>>,
    all_or_none: bool,
) -> Result<CompositePlan, SalesforceError> {
    let mut requests: Vec<CompositeRequest> = Vec::new();
    let mut placement = Vec::with_capacity(groups.len());
    for (g, group) in groups.into_iter().enumerate() {
        if group.is_empty() {
            return Err(SalesforceError::InvalidRequest(format!(
                "group {g} is empty"
            )));
        }
        let needs_new = requests.last().is_none_or(|r| !r.fits(&group));
        if needs_new {
            if !CompositeRequest::new(all_or_none).fits(&group) {
                return Err(SalesforceError::InvalidRequest(format!(
                    "group {g} has {} subrequests and cannot fit one composite request",
                    group.len()
                )));
            }
            requests.push(CompositeRequest::new(all_or_none));
        }
        let index = requests.len() - 1;
        let Some(request) = requests.last_mut() else {
            // A request was pushed just above whenever none existed.
            return Err(SalesforceError::InvalidRequest("planner state".into()));
        };
        for sub in group {
            request.push(sub)?;
        }
        placement.push(index);
    }
    Ok(CompositePlan {
        requests,
        placement,
    })
}

/// Splits records or ids into Collections-sized batches, preserving order.
pub fn plan_collections<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    items.chunks(MAX_RECORDS).map(<[T]>::to_vec).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::composite::{MAX_SUBREQUESTS, reference};
    use serde_json::json;

    fn event(n: usize) -> Vec<SubRequest> {
        vec![
            SubRequest::create(&format!("lead{n}"), "Lead", json!({"LastName": "x"})),
            SubRequest::create(
                &format!("task{n}"),
                "Task",
                json!({"WhoId": reference(&format!("lead{n}"), "id")}),
            ),
            SubRequest::create(&format!("case{n}"), "Case", json!({"Subject": "chat"})),
        ]
    }

    #[test]
    fn packs_events_without_splitting_them() {
        // 10 events × 3 subrequests: 8 fit in 24, the rest go to a second request.
        let plan = plan_composite((0..10).map(event).collect(), false).unwrap();
        assert_eq!(plan.requests.len(), 2);
        assert_eq!(plan.requests[0].len(), 24);
        assert_eq!(plan.requests[1].len(), 6);
        assert_eq!(plan.placement, vec![0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
        assert!(plan.requests.iter().all(|r| r.len() <= MAX_SUBREQUESTS));
    }

    #[test]
    fn query_cap_opens_a_new_request() {
        let groups: Vec<_> = (0..7)
            .map(|i| vec![SubRequest::query(&format!("q{i}"), "SELECT Id FROM Lead")])
            .collect();
        let plan = plan_composite(groups, false).unwrap();
        assert_eq!(plan.requests.len(), 2);
        assert_eq!(plan.requests[0].len(), 5);
    }

    #[test]
    fn oversized_or_clashing_groups_fail() {
        let big: Vec<_> = (0..26)
            .map(|i| SubRequest::delete(&format!("d{i}"), "Lead", "x"))
            .collect();
        assert!(plan_composite(vec![big], false).is_err());
        assert!(plan_composite(vec![event(1), event(1)], false).is_err());
        assert!(plan_composite(vec![vec![]], false).is_err());
        assert_eq!(plan_composite(vec![], true).unwrap().requests.len(), 0);
    }

    #[test]
    fn collections_are_cut_at_200() {
        let ids: Vec<u32> = (0..450).collect();
        let batches = plan_collections(&ids);
        let sizes: Vec<_> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![200, 200, 50]);
        assert_eq!(batches[2][0], 400);
        assert!(plan_collections::<u32>(&[]).is_empty());
    }
}
