//! The tenant's writing policy: when a Case is made and which one, how chat
//! status, priority and tags map to Case fields, who owns what, where the transcript goes,
//! extra field mappings, and who wins when Salesforce changed a field after chatsync did.
//!
//! Every section has safe defaults, so a tenant file may leave it out. Checks that need no org
//! live in [`check`]; checks against the org (picklist values, queues, record
//! types) in [`super::org_check`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CasePolicy {
    /// When a conversation gets a Case; absent: `always` in support mode, `never` in sales.
    pub trigger: Option<CaseTrigger>,
    /// For `trigger = "tags"`: a conversation carrying any of these tags gets a Case.
    pub trigger_tags: Vec<String>,
    /// false: one Case per conversation (upserted by its conversation id). true: the
    /// Contact's most recent open Case when there is one.
    pub reuse_open_case: bool,
    /// Case.Origin for new Cases.
    pub origin: Option<String>,
    /// Case record type: DeveloperName or Id.
    pub record_type: Option<String>,
    /// What a chat close does to the Case.
    pub on_close: OnClose,
    pub closed_status: String,
    pub reopened_status: String,
    /// Chat status word → Case.Status (keys compared case- and spacing-insensitively).
    pub status_map: BTreeMap<String, String>,
    /// Chat priority → Case.Priority.
    pub priority_map: BTreeMap<String, String>,
    /// The Case field that holds the category (`Type`, `Reason` or a custom picklist).
    pub category_field: String,
    /// Chat tag → category value. The first of the conversation's tags (sorted) that maps wins.
    pub category_map: BTreeMap<String, String>,
    /// What the transcript Task is related to (Task.WhatId).
    pub relate_task_to: RelateTo,
}

impl Default for CasePolicy {
    fn default() -> Self {
        let map = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        Self {
            trigger: None,
            trigger_tags: Vec::new(),
            reuse_open_case: false,
            origin: Some("Web".into()),
            record_type: None,
            on_close: OnClose::Close,
            closed_status: "Closed".into(),
            reopened_status: "Working".into(),
            status_map: BTreeMap::new(),
            priority_map: map(&[
                ("urgent", "High"),
                ("high", "High"),
                ("priority", "High"),
                ("normal", "Medium"),
                ("medium", "Medium"),
                ("not_priority", "Medium"),
                ("low", "Low"),
            ]),
            category_field: "Type".into(),
            category_map: BTreeMap::new(),
            relate_task_to: RelateTo::Case,
        }
    }
}

impl CasePolicy {
    pub fn trigger(&self, mode: Mode) -> CaseTrigger {
        self.trigger.unwrap_or(match mode {
            Mode::Support => CaseTrigger::Always,
            Mode::Sales => CaseTrigger::Never,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseTrigger {
    Always,
    Never,
    /// Only conversations carrying one of `trigger_tags`.
    Tags,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnClose {
    /// Set the Case to `closed_status`.
    Close,
    /// Leave the Case for an agent to close.
    Leave,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelateTo {
    Case,
    /// The single open Opportunity of the Contact's Account on which the Contact has a role;
    /// never a guess when several are open (then the Case, if any).
    Opportunity,
    Nothing,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OwnerPolicy {
    /// The assigned agent owns the Case and Task when a Salesforce User has the same e-mail
    /// and is active.
    pub agents: bool,
    /// Team or inbox name → Queue (Group DeveloperName or Id) that owns the Case.
    pub queues: BTreeMap<String, String>,
    /// Agent id (`<platform>:<id>`, or the bare id) → the agent's e-mail, for platforms that
    /// name agents by id only; wins over what the platform's API says.
    pub agents_by_id: BTreeMap<String, String>,
    /// Tag → Queue (Group DeveloperName or Id): when the conversation's tags change, the first
    /// of its tags (sorted) that maps routes the Case to that queue.
    pub tag_queues: BTreeMap<String, String>,
    /// Queue (Group DeveloperName or Id) that owns a conversation's Case until an assignment
    /// or a tag names an owner; absent: the integration user (or the org's assignment rules).
    pub default_queue: Option<String>,
}

impl Default for OwnerPolicy {
    fn default() -> Self {
        Self {
            agents: true,
            queues: BTreeMap::new(),
            agents_by_id: BTreeMap::new(),
            tag_queues: BTreeMap::new(),
            default_queue: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TranscriptPolicy {
    pub target: TranscriptTarget,
    /// IANA zone the transcript's times are shown in.
    pub time_zone: String,
    /// Card numbers (Luhn-checked digit runs) are removed before anything is stored or sent.
    pub redact_cards: bool,
    /// Further regular expressions whose matches are removed.
    pub redact_patterns: Vec<String>,
    /// Unsent transcript lines that force a write even when nothing else changes.
    pub flush_after_messages: u32,
    /// Attachments up to this size become Salesforce Files; larger ones are linked by URL.
    pub attachment_max_bytes: u64,
}

impl Default for TranscriptPolicy {
    fn default() -> Self {
        Self {
            target: TranscriptTarget::Task,
            time_zone: "UTC".into(),
            redact_cards: true,
            redact_patterns: Vec::new(),
            flush_after_messages: 20,
            attachment_max_bytes: 3 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TranscriptTarget {
    /// Task.Description (32,000 characters per Task; further parts in numbered Tasks).
    Task,
    /// CaseComments on the Case (4,000 characters each); needs a Case.
    CaseComment,
    /// `Chat_Transcript__c` records from `salesforce/` (131,072 characters each).
    CustomObject,
}

impl TranscriptTarget {
    /// Characters per part, as Salesforce limits the field.
    pub fn part_limit(self) -> usize {
        match self {
            TranscriptTarget::Task => 32_000,
            TranscriptTarget::CaseComment => 4_000,
            TranscriptTarget::CustomObject => 131_072,
        }
    }
}

/// One extra mapping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMapping {
    /// A path into the event: `conversation.<field>`, `conversation.custom_attributes.<name>`,
    /// `visitor.<field>`, `visitor.custom_attributes.<name>`, `company.<field>`,
    /// `company.custom_attributes.<name>`, or `tags` (the first of the event's tags, sorted,
    /// that `values` maps).
    pub from: String,
    /// `Case.<Field>`, `Task.<Field>`, `Contact.<Field>`, `Lead.<Field>` or `Account.<Field>`.
    pub to: String,
    /// Value map for picklists (keys compared case- and spacing-insensitively); unmapped values
    /// are sent as they are unless `only_mapped`.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    #[serde(default)]
    pub only_mapped: bool,
    /// Which way the value goes: chat → Salesforce (the default), Salesforce → chat, or both.
    #[serde(default, skip_serializing_if = "Direction::is_default")]
    pub direction: Direction,
}

/// Which way a mapped value goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    #[default]
    ToSalesforce,
    /// Salesforce's value becomes the chat contact's attribute (docs/salesforce-to-chat.md).
    ToChat,
    Both,
}

impl Direction {
    fn is_default(&self) -> bool {
        *self == Direction::ToSalesforce
    }

    pub fn to_salesforce(self) -> bool {
        matches!(self, Direction::ToSalesforce | Direction::Both)
    }

    pub fn to_chat(self) -> bool {
        matches!(self, Direction::ToChat | Direction::Both)
    }
}

/// What one channel or inbox does differently from the tenant (`[config.channels.<name>]`);
/// what it leaves out is the tenant's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChannelPolicy {
    /// What the channel's unknown visitors become and whether its conversations get a Case.
    pub mode: Option<Mode>,
    /// Queue (Group DeveloperName or Id) that owns the channel's Cases until an assignment or
    /// a tag names an owner (`owners.default_queue` for the channel).
    pub queue: Option<String>,
    pub case: ChannelCase,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChannelCase {
    pub trigger: Option<CaseTrigger>,
    pub trigger_tags: Option<Vec<String>>,
    /// Record type of the channel's new Cases: DeveloperName or Id.
    pub record_type: Option<String>,
}

/// Who wins when Salesforce changed a field after chatsync's last write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConflictPolicy {
    pub default: ConflictRule,
    /// Per field (`Case.Status`): overrides the default.
    pub fields: BTreeMap<String, ConflictRule>,
}

impl Default for ConflictPolicy {
    fn default() -> Self {
        Self {
            default: ConflictRule::NewestWins,
            fields: BTreeMap::new(),
        }
    }
}

impl ConflictPolicy {
    pub fn rule(&self, object: &str, field: &str) -> ConflictRule {
        self.fields
            .get(&format!("{object}.{field}"))
            .copied()
            .unwrap_or(self.default)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictRule {
    /// The chat is the source of truth: chatsync's value is written.
    Chat,
    /// Salesforce is the source of truth: its value stays.
    Salesforce,
    /// The later change wins: the chat event's time against the record's LastModifiedDate.
    NewestWins,
    /// chatsync writes only when Salesforce holds no value.
    FillBlanks,
}

/// Picklist keys and values are compared after this: lower case, runs of spaces, `_` and `-`
/// as one space, trimmed. "In Progress", "in_progress" and "IN-PROGRESS" are one value.
pub fn normalise_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut gap = false;
    for c in s.trim().chars() {
        if c.is_whitespace() || c == '_' || c == '-' {
            gap = true;
            continue;
        }
        if gap && !out.is_empty() {
            out.push(' ');
        }
        gap = false;
        out.extend(c.to_lowercase());
    }
    out
}

/// Looks a chat value up in a value map, comparing normalised keys.
pub fn lookup<'a>(map: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    let wanted = normalise_key(key);
    map.iter()
        .find(|(k, _)| normalise_key(k) == wanted)
        .map(|(_, v)| v.as_str())
}

/// Objects a field mapping may write: the conversation's records (by the case writer) and the
/// people and Accounts (by the identity resolver).
pub const MAPPABLE_OBJECTS: [&str; 5] = ["Case", "Task", "Contact", "Lead", "Account"];

/// The objects whose changes reach the chat: people, and the events that concern them.
pub const TO_CHAT_OBJECTS: [&str; 4] = ["Contact", "Lead", "Opportunity", "Case"];

/// The objects the identity resolver writes mapped fields on.
pub const PEOPLE_OBJECTS: [&str; 3] = ["Contact", "Lead", "Account"];

/// Fields chatsync itself sets; a field mapping may not take them over.
pub const RESERVED_FIELDS: [&str; 12] = [
    "Id",
    "OwnerId",
    "WhoId",
    "WhatId",
    "ContactId",
    "AccountId",
    "RecordTypeId",
    "Description",
    "Status",
    "Chat_Conversation_Id__c",
    "Chat_Transcript_Key__c",
    "TaskSubtype",
];

/// Person and Account fields chatsync sets itself from identity (names, keys, owner, the
/// Account link); a mapping may not take them over. Lead.Status and the rest are the tenant's.
pub const RESERVED_PEOPLE_FIELDS: [&str; 14] = [
    "Id",
    "OwnerId",
    "AccountId",
    "RecordTypeId",
    "FirstName",
    "LastName",
    "Name",
    "Email",
    "Phone",
    "Company",
    "Website",
    "IsConverted",
    "Chat_Contact_Id__c",
    "Chat_Company_Id__c",
];

/// Whether chatsync sets `object.field` itself, so a mapping may not name it.
pub fn is_reserved(object: &str, field: &str) -> bool {
    if PEOPLE_OBJECTS.contains(&object) {
        RESERVED_PEOPLE_FIELDS.contains(&field)
    } else {
        RESERVED_FIELDS.contains(&field)
    }
}

/// What a tenant writes by default: support (Contact and Case) or sales (Lead and Task).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Support,
    Sales,
}

/// A Salesforce API field name: letters, digits and underscores, starting with a letter.
pub fn is_field_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 80
}

/// Where a mapping reads from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Conversation(String),
    ConversationAttribute(String),
    Visitor(String),
    VisitorAttribute(String),
    Company(String),
    CompanyAttribute(String),
    /// The event's tags: the first (sorted) that the mapping's `values` knows.
    Tags,
}

const COMPANY_FIELDS: [&str; 7] = [
    "id",
    "company_id",
    "name",
    "website",
    "plan",
    "industry",
    "size",
];

const CONVERSATION_FIELDS: [&str; 7] = [
    "id", "url", "status", "priority", "subject", "channel", "inbox",
];
const VISITOR_FIELDS: [&str; 11] = [
    "contact_id",
    "external_id",
    "email",
    "phone",
    "name",
    "first_name",
    "last_name",
    "visitor_id",
    "company_name",
    "company_domain",
    "role",
];

pub fn parse_source(path: &str) -> Option<Source> {
    if path == "tags" {
        return Some(Source::Tags);
    }
    let (head, rest) = path.split_once('.')?;
    let attribute = rest
        .strip_prefix("custom_attributes.")
        .filter(|name| !name.is_empty());
    match (head, attribute) {
        ("conversation", Some(name)) => Some(Source::ConversationAttribute(name.to_owned())),
        ("visitor", Some(name)) => Some(Source::VisitorAttribute(name.to_owned())),
        ("company", Some(name)) => Some(Source::CompanyAttribute(name.to_owned())),
        ("company", None) if COMPANY_FIELDS.contains(&rest) => {
            Some(Source::Company(rest.to_owned()))
        }
        ("conversation", None) if CONVERSATION_FIELDS.contains(&rest) => {
            Some(Source::Conversation(rest.to_owned()))
        }
        ("visitor", None) if VISITOR_FIELDS.contains(&rest) => {
            Some(Source::Visitor(rest.to_owned()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_case_and_spacing_insensitively() {
        assert_eq!(normalise_key("  In_Progress "), "in progress");
        assert_eq!(normalise_key("IN - PROGRESS"), "in progress");
        let mut map = BTreeMap::new();
        map.insert("Not Priority".to_owned(), "Medium".to_owned());
        assert_eq!(lookup(&map, "not_priority"), Some("Medium"));
        assert_eq!(lookup(&map, "priority"), None);
    }

    #[test]
    fn the_trigger_defaults_by_mode() {
        let p = CasePolicy::default();
        assert_eq!(p.trigger(Mode::Support), CaseTrigger::Always);
        assert_eq!(p.trigger(Mode::Sales), CaseTrigger::Never);
    }

    #[test]
    fn sources_are_parsed_strictly() {
        assert_eq!(
            parse_source("conversation.custom_attributes.plan"),
            Some(Source::ConversationAttribute("plan".into()))
        );
        assert_eq!(
            parse_source("visitor.company_name"),
            Some(Source::Visitor("company_name".into()))
        );
        assert_eq!(parse_source("visitor.custom_attributes."), None);
        assert_eq!(parse_source("visitor.password"), None);
        assert_eq!(parse_source("plan"), None);
    }

    #[test]
    fn offline_checks_name_every_problem() {
        let demo =
            crate::tenant::TenantFile::from_toml(include_str!("../../../events/tenants/demo.toml"))
                .expect("demo tenant");
        assert!(demo.config.problems().is_empty());
        let mut policy = demo.config;
        policy.case.trigger = Some(CaseTrigger::Tags);
        policy.fields.push(FieldMapping {
            from: "visitor.nope".into(),
            to: "Contact.Name".into(),
            values: BTreeMap::new(),
            only_mapped: false,
            direction: Default::default(),
        });
        policy.fields.push(FieldMapping {
            from: "conversation.channel".into(),
            to: "Case.OwnerId".into(),
            values: BTreeMap::new(),
            only_mapped: false,
            direction: Default::default(),
        });
        policy
            .conflicts
            .fields
            .insert("Case Status".into(), ConflictRule::Chat);
        policy.transcript.time_zone = "Mars/Olympus".into();
        policy.transcript.redact_patterns.push("(unclosed".into());
        let problems = policy.problems();
        assert_eq!(problems.len(), 7, "{problems:?}");
    }
}
