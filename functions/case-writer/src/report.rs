//! What one group's write did, for the sync log.

#[derive(Default)]
pub(crate) struct Report {
    pub records: Vec<String>,
    pub sent: Vec<String>,
    pub notes: Vec<String>,
    pub calls: u64,
    /// The stored Salesforce requests and answers of the write.
    pub payload: Option<String>,
    /// The conversation was created, or closed or reopened, by this write: the contact's
    /// pointer to it is due, saying whether it is closed now.
    pub pointer: Option<bool>,
}
