//! Where a delivery comes from and what a verified one holds: the platform, and the accepted
//! delivery with its canonical events. Part of the wire model; the adapters in
//! `crate::platforms` produce these.

use super::Event;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Platform {
    #[serde(rename = "intercom")]
    Intercom,
    #[serde(rename = "tidio")]
    Tidio,
    #[serde(rename = "respondio")]
    RespondIo,
    #[serde(rename = "cloudcx")]
    CloudCx,
}

impl Platform {
    pub const ALL: [Platform; 4] = [
        Platform::Intercom,
        Platform::Tidio,
        Platform::RespondIo,
        Platform::CloudCx,
    ];

    /// The platform's name as its vendor writes it, for people (transcripts, Subjects).
    pub fn display_name(self) -> &'static str {
        match self {
            Platform::Intercom => "Intercom",
            Platform::Tidio => "Tidio",
            Platform::RespondIo => "respond.io",
            Platform::CloudCx => "CloudCX",
        }
    }

    /// Whether the platform names no conversation, only the contact, so one key holds all of a
    /// contact's conversations one after another (respond.io: "a Contact can have many
    /// conversations with a Workspace and each conversation will have its own metrics and
    /// context", <https://docs.respond.io/glossary-of-terms>). The writer splits the key into
    /// spans, one per conversation (`mapping::spans`).
    pub fn conversation_is_contact(self) -> bool {
        matches!(self, Platform::RespondIo)
    }

    /// The path segment in `/webhooks/{platform}/{tenant}`.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Intercom => "intercom",
            Platform::Tidio => "tidio",
            Platform::RespondIo => "respondio",
            Platform::CloudCx => "cloudcx",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("unknown platform {0:?}; expected intercom, tidio, respondio or cloudcx")]
pub struct UnknownPlatform(pub String);

impl FromStr for Platform {
    type Err = UnknownPlatform;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPlatform(s.to_owned()))
    }
}

/// A delivery of a supported topic, with the canonical events it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The platform's delivery id, or a hash of the body where the platform gives none.
    pub delivery_id: String,
    pub topic: String,
    /// Orders the queue: `conversation:<id>`, `ticket:<id>`, `session:<id>`, or
    /// `contact:<id>` when there is no conversation. One conversation is processed in order.
    pub conversation_key: String,
    /// The delivery's own time (UTC), when the platform sends one.
    pub occurred_at: Option<OffsetDateTime>,
    /// In the order they happened. Empty when a known topic carries nothing to sync
    /// (answered like an unsupported topic).
    pub events: Vec<Event>,
}
