//! Tenant config → Salesforce fields: the writing policy, what each chat
//! event asks of the Case and Task, the transcript (redacted, ordered, cut to Salesforce's
//! limits), the plan of one composite write, chat attachments as Salesforce Files, and the
//! policy's check against the org, and where one key holds several conversations.

pub mod conflict;
pub mod files;
mod html;
pub mod intents;
pub mod org_check;
pub mod outcome;
pub mod people;
pub mod plan;
pub mod policy;
pub mod redact;
pub mod sources;
pub mod spans;
pub mod state;
mod text;
pub mod to_chat;
pub mod transcript;
