//! Chat data shaped for Salesforce: the redacted, rendered transcript of a conversation.
pub mod redact;
pub mod transcript;
