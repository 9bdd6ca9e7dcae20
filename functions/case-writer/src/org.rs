//! The tenant's org for one write, made on first use.

use crate::{Function, WriteError};
use shared::salesforce::{Exchanges, Org};

/// The tenant's org, made on first use and kept for the rest of the write; counts the calls
/// spent through it.
pub(crate) struct LazyOrg<'a> {
    function: &'a Function,
    tenant_id: &'a str,
    exchanges: &'a Exchanges,
    org: Option<(Org, u64)>,
}

impl<'a> LazyOrg<'a> {
    pub(crate) fn new(
        function: &'a Function,
        tenant_id: &'a str,
        exchanges: &'a Exchanges,
    ) -> Self {
        Self {
            function,
            tenant_id,
            exchanges,
            org: None,
        }
    }

    pub(crate) async fn get(&mut self) -> Result<&Org, WriteError> {
        let slot = &mut self.org;
        match slot {
            Some((org, _)) => Ok(org),
            None => {
                let org = self
                    .function
                    .kit
                    .org(self.tenant_id, self.exchanges)
                    .await?;
                let before = org.api_calls();
                Ok(&slot.insert((org, before)).0)
            }
        }
    }

    /// Salesforce calls spent through this handle.
    pub(crate) fn calls(&self) -> u64 {
        self.org
            .as_ref()
            .map_or(0, |(org, before)| org.api_calls().saturating_sub(*before))
    }
}
