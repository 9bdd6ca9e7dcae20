//! Panel errors and the one place they become statuses or the card an agent reads.

use shared::panel::ViewError;
use shared::salesforce::SalesforceError;
use shared::store::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PanelError {
    #[error("method not allowed; Intercom POSTs canvas requests")]
    MethodNotAllowed,
    /// A bad or missing signature, or an unknown tenant: the same answer for both.
    #[error("unauthorized")]
    Unauthorized,
    #[error("body exceeds {limit} bytes")]
    TooLarge { limit: usize },
    #[error("unknown canvas action {0:?}: expected initialize or submit")]
    UnknownAction(String),
    #[error("unknown platform {0:?}")]
    UnknownPlatform(String),
    #[error("not a canvas request: {0}")]
    Malformed(String),
    #[error("the conversation names no customer")]
    NoCustomer,
    #[error("the workspace's Salesforce org is not connected")]
    NotConnected,
    #[error("{0}")]
    View(#[from] ViewError),
    #[error("temporarily unavailable, retry later")]
    Store(#[from] StoreError),
    /// The tenant's settings cannot be used (tenant validation should have caught it).
    #[error("the tenant's configuration: {0}")]
    Configuration(String),
}

impl From<SalesforceError> for PanelError {
    fn from(e: SalesforceError) -> Self {
        PanelError::View(ViewError::Salesforce(e))
    }
}

impl PanelError {
    pub fn status(&self) -> u16 {
        match self {
            PanelError::MethodNotAllowed => 405,
            PanelError::Unauthorized => 401,
            PanelError::TooLarge { .. } => 413,
            PanelError::UnknownAction(_) | PanelError::UnknownPlatform(_) => 404,
            PanelError::Malformed(_) => 400,
            PanelError::Store(_) => 503,
            PanelError::Configuration(_) => 500,
            // Answered as cards (see `card`).
            PanelError::NoCustomer | PanelError::NotConnected | PanelError::View(_) => 200,
        }
    }

    /// The card the agent reads instead of the panel: what is the matter, in words. None for
    /// refusals of the request itself.
    pub fn card(&self) -> Option<(&'static str, String)> {
        let said = |title: &'static str, text: &str| Some((title, text.to_owned()));
        match self {
            PanelError::NoCustomer => said(
                "No customer",
                "This conversation has no customer to look up in Salesforce.",
            ),
            PanelError::NotConnected => said(
                "Salesforce is not connected",
                "An administrator connects this workspace's Salesforce org to chatsync.",
            ),
            PanelError::View(ViewError::Gone(_)) => Some(("Not in Salesforce", self.to_string())),
            PanelError::View(ViewError::Salesforce(e)) => Some((
                "Salesforce could not be read",
                format!("Salesforce answered: {e}. Try Refresh in a moment."),
            )),
            _ => None,
        }
    }
}
