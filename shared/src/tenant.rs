//! Tenant configuration (docs/configuration.md): one chat workspace connected to one Salesforce org.
//! The non-secret part lives in the tenants table; the secrets in the tenant's own secret.
//! Operators write both from one TOML file (`chatsync tenant put FILE`).

use crate::event::Platform;
pub use crate::event::resolution::MatchKey;
pub use crate::mapping::policy::Mode;
use crate::mapping::policy::{
    CasePolicy, CaseTrigger, ChannelPolicy, ConflictPolicy, FieldMapping, MAPPABLE_OBJECTS,
    OwnerPolicy, TranscriptPolicy, is_field_name, is_reserved, parse_source,
};
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

/// Non-secret tenant configuration. Later capabilities add their sections here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    pub tenant_id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    /// support: Contact + Case; sales: Lead + Task.
    pub mode: Mode,
    /// `manual`: chatsync creates no Contact, Lead or Case by itself; agents create them from
    /// the inbox panel (docs/inbox-panel.md#manual-mode). Default `auto`.
    #[serde(default, skip_serializing_if = "Automation::is_auto")]
    pub automation: Automation,
    /// Platforms this tenant receives webhooks from; others are refused.
    pub platforms: Vec<Platform>,
    #[serde(default)]
    pub identity: IdentityPolicy,
    #[serde(default)]
    pub webhooks: WebhookPolicy,
    /// Days the sync log keeps entries for this tenant.
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
    /// When a conversation gets a Case, which one, and how chat values map to its fields.
    #[serde(default)]
    pub case: CasePolicy,
    /// Who owns Cases and Tasks: agents by e-mail, teams and inboxes by queue.
    #[serde(default)]
    pub owners: OwnerPolicy,
    /// Where the transcript goes, in which time zone, and what is removed from it.
    #[serde(default)]
    pub transcript: TranscriptPolicy,
    /// Extra mappings: any chat attribute to any allowed Case or Task field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldMapping>,
    /// Who wins when Salesforce changed a field after chatsync's last write.
    #[serde(default)]
    pub conflicts: ConflictPolicy,
    /// What the sync log keeps of the Salesforce requests and answers.
    #[serde(default)]
    pub payloads: crate::synclog::payload::PayloadPolicy,
    /// How much of the org's daily API allowance chatsync may spend, and what it leaves.
    #[serde(default)]
    pub api_budget: crate::salesforce::ApiBudget,
    /// Salesforce → chat: where changes come from (docs/configuration.md#salesforce--chat).
    #[serde(default)]
    pub from_salesforce: FromSalesforce,
    /// The inbox panel (docs/inbox-panel.md).
    #[serde(default)]
    pub panel: PanelConfig,
    /// Per channel or inbox (`webchat`, `inbox`, `whatsapp`, an Intercom inbox's name): what
    /// differs from the tenant-wide settings (docs/configuration.md#channels).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub channels: BTreeMap<String, ChannelPolicy>,
}

fn default_retention_days() -> u32 {
    30
}

/// Salesforce → chat settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FromSalesforce {
    /// The connected org's id (`00D…`, 15 or 18 characters): every outbound message must come
    /// from it. Absent: outbound messages are refused.
    pub organization_id: Option<String>,
    /// A Salesforce Contact or Lead new to a chat platform is created there (as respond.io's
    /// own integration does); false: only people the platform already has are updated.
    pub auto_create: bool,
    /// The tag a contact created this way gets (respond.io's integration offers the same tag);
    /// empty: none.
    pub auto_create_tag: String,
    /// Objects (`Contact`, `Lead`, `Opportunity`, `Case`) the salesforce-poller asks for
    /// changes every run, for orgs without an outbound message or to catch what one missed;
    /// empty: no polling.
    pub poll: Vec<String>,
    /// Salesforce events that tag the person's chat contacts (an Opportunity won, a Case
    /// escalated, a Lead qualified), for the platforms' own automations to act on.
    pub tags: Vec<TagRule>,
    /// Whether people created by `import_users` (a bulk import) are auto-created in the chat
    /// too (respond.io's integration has the same option); off by default. Updates of people
    /// the platform already has are sent either way.
    pub include_imports: bool,
    /// The Salesforce users (`005…`) whose creations are bulk imports: the Data Import Wizard
    /// or Data Loader runs as a user the admin names here (docs/salesforce-to-chat.md).
    pub import_users: Vec<String>,
}

/// `[[config.from_salesforce.tags]]`: when `object`'s `field` takes `value` (any value when
/// absent), the chat contacts of the person it concerns get `tag` (`{value}` in it is
/// replaced by the field's value). A Contact or Lead is its own person; an Opportunity or a
/// Case concerns its `ContactId`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagRule {
    pub object: String,
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub tag: String,
}

impl Default for FromSalesforce {
    fn default() -> Self {
        Self {
            organization_id: None,
            auto_create: false,
            auto_create_tag: "Auto-Create: Salesforce".into(),
            poll: Vec::new(),
            tags: Vec::new(),
            include_imports: false,
            import_users: Vec::new(),
        }
    }
}

/// `[config.panel]`: what the inbox panel shows of the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PanelConfig {
    /// The Contact's or Lead's fields shown, beyond name, e-mail and owner (a field the
    /// person's object lacks makes Salesforce refuse the view: name fields both objects have).
    pub fields: Vec<String>,
    /// Whether agents may edit the shown fields (never Email, Phone or MobilePhone).
    pub editable: bool,
}

impl Default for PanelConfig {
    fn default() -> Self {
        Self {
            fields: vec!["Title".into(), "Phone".into()],
            editable: false,
        }
    }
}

impl FromSalesforce {
    /// Whether `sent` (an outbound message's OrganizationId) is the tenant's org. Salesforce
    /// ids compare on their case-sensitive 15-character form; the 18-character form only adds
    /// a case checksum.
    pub fn is_org(&self, sent: &str) -> bool {
        let short = |id: &str| id.trim().get(..15).map(str::to_owned);
        match (self.organization_id.as_deref().and_then(short), short(sent)) {
            (Some(ours), Some(theirs)) => {
                subtle::ConstantTimeEq::ct_eq(ours.as_bytes(), theirs.as_bytes()).into()
            }
            _ => false,
        }
    }
}

/// How a visitor is matched to a Salesforce person, and what happens when nobody matches.
/// Every field has a safe default, so a tenant file may leave the section out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityPolicy {
    /// The rules tried after the links table, in order.
    pub match_order: Vec<MatchKey>,
    /// ISO 3166 region used to read phone numbers written without a country code.
    pub default_phone_region: String,
    /// Which kind wins when a Contact and a Lead both match one rule.
    pub prefer: Preferred,
    /// Several people match one rule: the most recently modified (ties broken by Id), or
    /// park the event as a review item listing them.
    pub multiple_matches: MultipleMatches,
    /// What to create when nothing matches; absent: Contact in support mode, Lead in sales.
    pub create: Option<CreateKind>,
    /// The chat's own word for the person (Intercom `lead` / `user`) → what to create; wins
    /// over `create` for a visitor whose role is listed (keys compared case-insensitively).
    pub create_by_role: BTreeMap<String, CreateKind>,
    /// What the visitor must have before anything is created.
    pub require: Required,
    /// Salesforce field holding the customer's own id for the person (`external_id` rule).
    pub external_id_field: Option<String>,
    /// Salesforce field holding the chat visitor or cookie id (`visitor_id` rule).
    pub visitor_id_field: Option<String>,
    /// LastName when the visitor gives no name.
    pub placeholder_last_name: String,
    /// Lead.Company when neither a company nor a business e-mail domain is known.
    pub placeholder_company: String,
    /// How an existing person's fields follow the chat.
    pub update: UpdatePolicy,
    /// Match and set Accounts by company domain or name.
    pub accounts: bool,
    /// Account field (an External ID) holding the chat platform's company id: the first key an
    /// Account is matched by, and set on the Accounts chatsync creates.
    pub account_id_field: Option<String>,
    /// Create an Account for a company nothing matches (needs `accounts`).
    pub create_accounts: bool,
    /// Days a link (platform contact, e-mail, phone → Salesforce id) is trusted.
    pub link_ttl_days: u32,
}

impl Default for IdentityPolicy {
    fn default() -> Self {
        Self {
            match_order: vec![
                MatchKey::ExternalId,
                MatchKey::Email,
                MatchKey::Phone,
                MatchKey::VisitorId,
            ],
            default_phone_region: "US".into(),
            prefer: Preferred::Contact,
            multiple_matches: MultipleMatches::Review,
            create: None,
            create_by_role: BTreeMap::new(),
            require: Required::EmailOrPhone,
            external_id_field: None,
            visitor_id_field: None,
            placeholder_last_name: "Unknown".into(),
            placeholder_company: "Unknown".into(),
            update: UpdatePolicy::FillBlanks,
            accounts: false,
            account_id_field: None,
            create_accounts: false,
            link_ttl_days: 30,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preferred {
    Contact,
    Lead,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MultipleMatches {
    MostRecent,
    Review,
}

/// Whether chatsync creates people and Cases by itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Automation {
    #[default]
    Auto,
    Manual,
}

impl Automation {
    pub fn is_auto(&self) -> bool {
        *self == Automation::Auto
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreateKind {
    Contact,
    Lead,
    Nothing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Required {
    Nothing,
    Email,
    Phone,
    EmailOrPhone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdatePolicy {
    Never,
    FillBlanks,
    Overwrite,
    NewestWins,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookPolicy {
    /// Tidio signs a timestamp; deliveries signed further than this from now are refused.
    #[serde(default = "default_tidio_tolerance")]
    pub tidio_tolerance_seconds: u64,
    /// Deliveries accepted per minute for this tenant (all platforms); more are answered 429
    /// with Retry-After, which the platforms retry. Bounds what a leaked URL or a runaway
    /// workflow can queue and spend.
    #[serde(default = "default_webhooks_per_minute")]
    pub per_minute: u32,
}

fn default_tidio_tolerance() -> u64 {
    300
}

fn default_webhooks_per_minute() -> u32 {
    1200
}

/// The most `webhooks.per_minute` may be.
pub const MAX_WEBHOOKS_PER_MINUTE: u32 = 60_000;

impl Default for WebhookPolicy {
    fn default() -> Self {
        Self {
            tidio_tolerance_seconds: default_tidio_tolerance(),
            per_minute: default_webhooks_per_minute(),
        }
    }
}

/// The tenant's secret (Secrets Manager, one per tenant, `{prefix}{tenant_id}`).
/// Unknown keys are not refused: the same secret also holds the Salesforce OAuth material,
/// and a webhook must not fail because of it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TenantSecrets {
    #[serde(default)]
    pub webhooks: WebhookSecrets,
    /// How chatsync signs in to the tenant's org (absent until the org is connected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salesforce: Option<crate::salesforce::SalesforceCredentials>,
    /// Tokens for the platforms' REST APIs, used to look up a visitor the event names only by
    /// contact id (identity enrichment). Absent: no lookup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_api: Option<PlatformApiSecrets>,
}

/// The tenant's own API tokens on its chat platforms (read-only use: contact lookups).
/// Unknown keys are not refused, as in [`TenantSecrets`]: a webhook must not fail on a typo here.
/// The field names are the stored secret's JSON and the operators' TOML: never rename one. Each
/// platform with an API client names its field in `platforms::<platform>::API_TOKEN`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PlatformApiSecrets {
    /// An Intercom access token (`Authorization: Bearer`) with permission to read contacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intercom_access_token: Option<Secret>,
    /// A respond.io API access token (`Authorization: Bearer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub respondio_api_token: Option<Secret>,
    /// Tidio's OpenAPI key pair (`X-Tidio-Openapi-Client-Id`, `…-Client-Secret`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tidio_client_id: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tidio_client_secret: Option<Secret>,
}

impl PlatformApiSecrets {
    /// The platform's API token, if chatsync calls that platform's API and the tenant gave one.
    pub fn for_platform(&self, platform: Platform) -> Option<&Secret> {
        match platform {
            Platform::Intercom => self.intercom_access_token.as_ref(),
            Platform::RespondIo => self.respondio_api_token.as_ref(),
            Platform::Tidio | Platform::CloudCx => None,
        }
    }
}

/// Webhook signing material per platform. Lists allow rotation: any entry may match.
/// The field names are the stored secret's JSON and the operators' TOML: never rename one. Each
/// platform names its field in `platforms::<platform>::WEBHOOK_SECRET`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSecrets {
    /// Intercom signs with the app's OAuth client secret.
    #[serde(default)]
    pub intercom_client_secret: Vec<Secret>,
    /// Tidio webhook secrets.
    #[serde(default)]
    pub tidio_secret: Vec<Secret>,
    /// respond.io issues one signing key per webhook.
    #[serde(default)]
    pub respondio_signing_key: Vec<Secret>,
    /// CloudCX has no signature; its webhook URL carries this token.
    #[serde(default)]
    pub cloudcx_token: Vec<Secret>,
    /// Salesforce outbound messages carry no signature either: their endpoint URL carries this
    /// token (`?token=`), and the message its org id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub salesforce_outbound_token: Vec<Secret>,
    /// Keys that sign the web panel's links (`panel::link`); the first signs, any verifies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub panel_link_key: Vec<Secret>,
}

impl WebhookSecrets {
    pub fn for_platform(&self, platform: Platform) -> &[Secret] {
        match platform {
            Platform::Intercom => &self.intercom_client_secret,
            Platform::Tidio => &self.tidio_secret,
            Platform::RespondIo => &self.respondio_signing_key,
            Platform::CloudCx => &self.cloudcx_token,
        }
    }
}

/// The operator's file: config and secrets together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantFile {
    pub config: TenantConfig,
    #[serde(default)]
    pub secrets: TenantSecrets,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TenantError {
    #[error("tenant file is not valid TOML for chatsync: {0}")]
    Parse(String),
    #[error("tenant_id {0:?} must be 1-64 characters of a-z, 0-9 and '-'")]
    InvalidId(String),
    #[error("tenant {tenant} enables {platform} but its secret has no {platform} signing secret")]
    MissingWebhookSecret { tenant: String, platform: Platform },
    #[error("tenant {0} enables no platform")]
    NoPlatform(String),
    #[error("tenant {tenant}: {reason}")]
    Invalid { tenant: String, reason: String },
}

/// Whether a string is a valid tenant id (it appears in URLs, keys and secret names).
pub fn is_valid_tenant_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl TenantConfig {
    /// What manual mode means for the pipeline: no person created for an unknown visitor, no
    /// Case for a conversation (validation refuses a manual tenant that asks for either).
    /// Applied wherever a stored config is read.
    pub fn apply_automation(&mut self) {
        if self.automation == Automation::Manual {
            self.identity.create = Some(CreateKind::Nothing);
            self.identity.create_by_role.clear();
            self.identity.create_accounts = false;
            self.case.trigger = Some(CaseTrigger::Never);
        }
    }
}

impl TenantFile {
    pub fn from_toml(text: &str) -> Result<Self, TenantError> {
        let file: Self = toml::from_str(text).map_err(|e| TenantError::Parse(e.to_string()))?;
        file.validate()?;
        Ok(file)
    }

    /// Checks what can be checked without the org.
    pub fn validate(&self) -> Result<(), TenantError> {
        let c = &self.config;
        if !is_valid_tenant_id(&c.tenant_id) {
            return Err(TenantError::InvalidId(c.tenant_id.clone()));
        }
        if c.platforms.is_empty() {
            return Err(TenantError::NoPlatform(c.tenant_id.clone()));
        }
        for &platform in &c.platforms {
            let secrets = self.secrets.webhooks.for_platform(platform);
            if secrets.is_empty() || secrets.iter().any(Secret::is_empty) {
                return Err(TenantError::MissingWebhookSecret {
                    tenant: c.tenant_id.clone(),
                    platform,
                });
            }
        }
        if c.identity.match_order.is_empty() {
            return Err(TenantError::Invalid {
                tenant: c.tenant_id.clone(),
                reason: "identity.match_order is empty".into(),
            });
        }
        if let Some(problem) = c.problems().into_iter().next() {
            return Err(TenantError::Invalid {
                tenant: c.tenant_id.clone(),
                reason: problem,
            });
        }
        if c.retention_days == 0 {
            return Err(TenantError::Invalid {
                tenant: c.tenant_id.clone(),
                reason: "retention_days must be at least 1".into(),
            });
        }
        Ok(())
    }
}

impl TenantConfig {
    /// What can be checked without the org. Returns every problem, in plain words.
    /// The channel policy for a conversation: the first of `names` (its channel, its inbox's
    /// name, its inbox's id) that `channels` lists, keys compared like picklist keys.
    pub fn channel<'a>(&'a self, names: &[String]) -> Option<(&'a str, &'a ChannelPolicy)> {
        names.iter().find_map(|name| {
            let wanted = crate::mapping::policy::normalise_key(name);
            self.channels
                .iter()
                .find(|(k, _)| crate::mapping::policy::normalise_key(k) == wanted)
                .map(|(k, p)| (k.as_str(), p))
        })
    }

    /// This config as the conversation's channel overrides it (itself when no channel listed
    /// matches).
    pub fn for_channel(&self, names: &[String]) -> std::borrow::Cow<'_, TenantConfig> {
        let Some((_, channel)) = self.channel(names) else {
            return std::borrow::Cow::Borrowed(self);
        };
        let mut config = self.clone();
        if let Some(mode) = channel.mode {
            config.mode = mode;
        }
        if let Some(queue) = &channel.queue {
            config.owners.default_queue = Some(queue.clone());
        }
        let case = &channel.case;
        if let Some(trigger) = case.trigger {
            config.case.trigger = Some(trigger);
        }
        if let Some(tags) = &case.trigger_tags {
            config.case.trigger_tags.clone_from(tags);
        }
        if let Some(record_type) = &case.record_type {
            config.case.record_type = Some(record_type.clone());
        }
        std::borrow::Cow::Owned(config)
    }

    pub fn problems(&self) -> Vec<String> {
        let config = self;
        {
            let mut problems = Vec::new();
            if let Err(problem) = config.payloads.check() {
                problems.push(problem);
            }
            if config.case.trigger == Some(CaseTrigger::Tags) && config.case.trigger_tags.is_empty()
            {
                problems.push("case.trigger is \"tags\" but case.trigger_tags is empty".to_owned());
            }
            if config.case.category_field.trim().is_empty() {
                problems.push("case.category_field is empty".to_owned());
            }
            for (i, m) in config.fields.iter().enumerate() {
                if parse_source(&m.from).is_none() {
                    problems.push(format!(
                    "fields[{i}].from = {:?}: expected conversation.<field>, conversation.custom_attributes.<name>, visitor.<field>, visitor.custom_attributes.<name>, company.<field>, company.custom_attributes.<name> or tags",
                    m.from
                ));
                }
                if m.direction.to_chat()
                    && !(m.from.starts_with("visitor.custom_attributes.")
                        && (m.to.starts_with("Contact.") || m.to.starts_with("Lead.")))
                {
                    problems.push(format!(
                        "fields[{i}]: direction {:?} needs from = \"visitor.custom_attributes.<name>\" and to = Contact.<Field> or Lead.<Field> (the chat contact's attribute and the Salesforce field it follows)",
                        m.direction
                    ));
                }
                if m.from == "tags" && m.values.is_empty() {
                    problems.push(format!(
                        "fields[{i}]: from = \"tags\" needs values (tag → field value)"
                    ));
                }
                match m.to.split_once('.') {
                    Some((object, field))
                        if MAPPABLE_OBJECTS.contains(&object) && is_field_name(field) =>
                    {
                        if is_reserved(object, field) {
                            problems.push(format!(
                                "fields[{i}].to = {:?}: chatsync sets this field itself",
                                m.to
                            ));
                        }
                    }
                    _ => problems.push(format!(
                        "fields[{i}].to = {:?}: expected Case.<Field>, Task.<Field>, Contact.<Field>, Lead.<Field> or Account.<Field>",
                        m.to
                    )),
                }
            }
            if config
                .identity
                .create_by_role
                .keys()
                .any(|role| role.trim().is_empty())
            {
                problems.push("identity.create_by_role: a role is empty".to_owned());
            }
            if let Some(org) = &config.from_salesforce.organization_id
                && !(org.starts_with("00D")
                    && (org.len() == 15 || org.len() == 18)
                    && org.chars().all(|c| c.is_ascii_alphanumeric()))
            {
                problems.push(format!(
                    "from_salesforce.organization_id = {org:?}: expected an org id (00D…, 15 or 18 characters)"
                ));
            }
            if config.automation == Automation::Manual {
                let creates = matches!(
                    config.identity.create,
                    Some(CreateKind::Contact | CreateKind::Lead)
                ) || config
                    .identity
                    .create_by_role
                    .values()
                    .any(|k| *k != CreateKind::Nothing)
                    || config.identity.create_accounts;
                if creates {
                    problems.push(
                        "automation = \"manual\": chatsync creates no Contact, Lead or Account by \
                         itself; remove identity.create, identity.create_by_role and \
                         identity.create_accounts"
                            .to_owned(),
                    );
                }
                let cases = std::iter::once(config.case.trigger)
                    .chain(config.channels.values().map(|c| c.case.trigger))
                    .any(|t| matches!(t, Some(CaseTrigger::Always | CaseTrigger::Tags)));
                if cases {
                    problems.push(
                        "automation = \"manual\": chatsync creates no Case by itself; remove \
                         case.trigger (and the channels' case.trigger)"
                            .to_owned(),
                    );
                }
            }
            for field in &config.panel.fields {
                if !is_field_name(field) {
                    problems.push(format!(
                        "panel.fields: {field:?} is not a Salesforce field name"
                    ));
                }
            }
            for object in &config.from_salesforce.poll {
                if !crate::mapping::policy::TO_CHAT_OBJECTS.contains(&object.as_str()) {
                    problems.push(format!(
                        "from_salesforce.poll: {object:?} is not sent to the chat (Contact, Lead, Opportunity or Case)"
                    ));
                }
            }
            for rule in &config.from_salesforce.tags {
                if !crate::mapping::policy::TO_CHAT_OBJECTS.contains(&rule.object.as_str()) {
                    problems.push(format!(
                        "from_salesforce.tags: object {:?} is not sent to the chat (Contact, Lead, Opportunity or Case)",
                        rule.object
                    ));
                }
                if !is_field_name(&rule.field) {
                    problems.push(format!(
                        "from_salesforce.tags: {:?} is not a Salesforce field name",
                        rule.field
                    ));
                }
                if rule.tag.trim().is_empty() {
                    problems.push(format!(
                        "from_salesforce.tags: the rule on {}.{} names no tag",
                        rule.object, rule.field
                    ));
                }
            }
            for user in &config.from_salesforce.import_users {
                if !(user.starts_with("005") && (user.len() == 15 || user.len() == 18)) {
                    problems.push(format!(
                        "from_salesforce.import_users: {user:?} is not a user id (005…, 15 or 18 characters)"
                    ));
                }
            }
            if let Some(field) = &config.identity.account_id_field
                && !is_field_name(field)
            {
                problems.push(format!(
                    "identity.account_id_field = {field:?}: not a Salesforce field name"
                ));
            }
            if config.identity.create_accounts && !config.identity.accounts {
                problems.push("identity.create_accounts needs identity.accounts = true".to_owned());
            }
            for (name, channel) in &config.channels {
                if name.trim().is_empty() {
                    problems.push("channels: a channel name is empty".to_owned());
                }
                let trigger = channel.case.trigger.or(config.case.trigger);
                let tags = channel
                    .case
                    .trigger_tags
                    .as_ref()
                    .unwrap_or(&config.case.trigger_tags);
                // Only what the channel itself sets: the tenant's own is reported above.
                let own = channel.case.trigger.is_some() || channel.case.trigger_tags.is_some();
                if own && trigger == Some(CaseTrigger::Tags) && tags.is_empty() {
                    problems.push(format!(
                        "channels.{name}: case.trigger is \"tags\" but no trigger_tags are set"
                    ));
                }
            }
            for key in config.conflicts.fields.keys() {
                if !key
                    .split_once('.')
                    .is_some_and(|(o, f)| (o == "Case" || o == "Task") && is_field_name(f))
                {
                    problems.push(format!(
                        "conflicts.fields: {key:?} is not Case.<Field> or Task.<Field> (people follow identity.update)"
                    ));
                }
            }
            if let Err(e) =
                crate::mapping::transcript::parse_time_zone(&config.transcript.time_zone)
            {
                problems.push(format!("transcript.time_zone: {e}"));
            }
            if !(1..=MAX_WEBHOOKS_PER_MINUTE).contains(&config.webhooks.per_minute) {
                problems.push(format!(
                    "webhooks.per_minute must be 1 to {MAX_WEBHOOKS_PER_MINUTE}, not {}",
                    config.webhooks.per_minute
                ));
            }
            let budget = &config.api_budget;
            for (name, value) in [("share", budget.share), ("reserve", budget.reserve)] {
                if !(0.0..=1.0).contains(&value) {
                    problems.push(format!("api_budget.{name} must be 0 to 1, not {value}"));
                }
            }
            if let Err(e) = crate::mapping::redact::Redactor::new(
                config.transcript.redact_cards,
                &config.transcript.redact_patterns,
            ) {
                problems.push(format!("transcript.redact_patterns: {e}"));
            }
            if config.transcript.flush_after_messages == 0 {
                problems.push("transcript.flush_after_messages must be at least 1".to_owned());
            }
            problems
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = include_str!("../../events/tenants/demo.toml");

    #[test]
    fn a_channel_overrides_mode_trigger_record_type_and_queue() {
        use crate::mapping::policy::ChannelCase;
        let mut config = TenantFile::from_toml(DEMO).expect("demo").config;
        config.mode = Mode::Support;
        config.channels.insert(
            "Web Chat".into(),
            ChannelPolicy {
                mode: Some(Mode::Sales),
                queue: Some("Web_Sales".into()),
                case: ChannelCase {
                    trigger: Some(CaseTrigger::Always),
                    trigger_tags: None,
                    record_type: Some("Web_Case".into()),
                },
            },
        );
        // Keys compare like picklist keys; the inbox's name counts when the channel is unknown.
        let web = config.for_channel(&["whatsapp".into(), "web_chat".into()]);
        assert_eq!(web.mode, Mode::Sales);
        assert_eq!(web.owners.default_queue.as_deref(), Some("Web_Sales"));
        assert_eq!(web.case.trigger, Some(CaseTrigger::Always));
        assert_eq!(web.case.record_type.as_deref(), Some("Web_Case"));
        assert_eq!(web.case.category_field, config.case.category_field);
        let other = config.for_channel(&["whatsapp".into()]);
        assert!(matches!(other, std::borrow::Cow::Borrowed(_)));
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        config
            .channels
            .get_mut("Web Chat")
            .expect("channel")
            .case
            .trigger = Some(CaseTrigger::Tags);
        config.identity.create_accounts = true;
        config.identity.accounts = false;
        let problems = config.problems();
        assert!(
            problems.iter().any(|p| p.contains("channels.Web Chat")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("create_accounts needs")),
            "{problems:?}"
        );
    }

    /// The demo tenant in manual mode, without the settings that create.
    fn manual_demo(demo: &str) -> String {
        demo.replace(
            "mode = \"support\"",
            "mode = \"support\"\nautomation = \"manual\"",
        )
        .lines()
        .filter(|l| {
            !l.starts_with("create_by_role")
                && !l.starts_with("create_accounts")
                && !l.starts_with("trigger =")
        })
        .collect::<Vec<_>>()
        .join("\n")
    }

    #[test]
    fn manual_mode_creates_nothing_and_refuses_settings_that_would() {
        let manual = manual_demo(DEMO);
        let mut config = TenantFile::from_toml(&manual)
            .expect("manual tenant")
            .config;
        config.apply_automation();
        assert_eq!(config.identity.create, Some(CreateKind::Nothing));
        assert_eq!(config.case.trigger(config.mode), CaseTrigger::Never);
        config.identity.create = Some(CreateKind::Lead);
        config.case.trigger = Some(CaseTrigger::Always);
        let problems = config.problems();
        assert_eq!(
            problems
                .iter()
                .filter(|p| p.contains("automation = \"manual\""))
                .count(),
            2,
            "{problems:?}"
        );
        let auto = TenantFile::from_toml(DEMO).expect("demo").config;
        assert_eq!(auto.automation, Automation::Auto);
        let json = serde_json::to_string(&auto).expect("json");
        assert!(!json.contains("automation"), "auto is not written: {json}");
    }

    #[test]
    fn the_demo_tenant_file_is_valid() {
        let file = TenantFile::from_toml(DEMO).expect("demo tenant parses");
        assert_eq!(file.config.tenant_id, "demo");
        assert_eq!(file.config.platforms.len(), 4);
        assert!(!file.secrets.webhooks.intercom_client_secret.is_empty());
    }

    #[test]
    fn a_platform_without_its_secret_is_refused() {
        let text = DEMO.replace("tidio_secret", "# tidio_secret");
        let err = TenantFile::from_toml(&text).unwrap_err();
        assert!(matches!(
            err,
            TenantError::MissingWebhookSecret {
                platform: Platform::Tidio,
                ..
            }
        ));
    }

    #[test]
    fn unknown_keys_and_bad_ids_are_refused() {
        assert!(matches!(
            TenantFile::from_toml(&DEMO.replace("mode =", "mood =")),
            Err(TenantError::Parse(_))
        ));
        assert!(matches!(
            TenantFile::from_toml(&DEMO.replace("tenant_id = \"demo\"", "tenant_id = \"Demo/1\"")),
            Err(TenantError::InvalidId(_))
        ));
    }

    #[test]
    fn an_outbound_message_must_come_from_the_tenants_org() {
        let from = FromSalesforce {
            organization_id: Some("00D5g0000004C8z".into()),
            ..FromSalesforce::default()
        };
        assert!(from.is_org("00D5g0000004C8zEAE"));
        assert!(!from.is_org("00D5g0000004C8ZEAE"), "ids are case-sensitive");
        assert!(!from.is_org("00D5g0000004C90EAE"));
        assert!(!from.is_org("00D5g"));
        assert!(!FromSalesforce::default().is_org("00D5g0000004C8zEAE"));
        let token = [Secret::new("one"), Secret::new("two")];
        assert!(crate::secret::matches_any(&token, "two"));
        assert!(!crate::secret::matches_any(&token, "three"));
        assert!(!crate::secret::matches_any(&[], ""));
    }

    #[test]
    fn each_platform_names_its_secret_fields() {
        use crate::platforms::{cloudcx, intercom, respondio, tidio};
        let webhooks = WebhookSecrets {
            intercom_client_secret: vec![Secret::new("intercom")],
            tidio_secret: vec![Secret::new("tidio")],
            respondio_signing_key: vec![Secret::new("respondio")],
            cloudcx_token: vec![Secret::new("cloudcx")],
            salesforce_outbound_token: Vec::new(),
            panel_link_key: Vec::new(),
        };
        let api = PlatformApiSecrets {
            intercom_access_token: Some(Secret::new("intercom")),
            respondio_api_token: Some(Secret::new("respondio")),
            ..PlatformApiSecrets::default()
        };
        let webhooks_json = serde_json::to_value(&webhooks).unwrap();
        let api_json = serde_json::to_value(&api).unwrap();
        for p in Platform::ALL {
            let (webhook_field, api_field) = match p {
                Platform::Intercom => (intercom::WEBHOOK_SECRET, Some(intercom::API_TOKEN)),
                Platform::Tidio => (tidio::WEBHOOK_SECRET, None),
                Platform::RespondIo => (respondio::WEBHOOK_SECRET, Some(respondio::API_TOKEN)),
                Platform::CloudCx => (cloudcx::WEBHOOK_SECRET, None),
            };
            assert_eq!(
                webhooks_json[webhook_field],
                serde_json::json!([p.as_str()])
            );
            assert_eq!(webhooks.for_platform(p), [Secret::new(p.as_str())]);
            match api_field {
                Some(field) => {
                    assert_eq!(api_json[field], p.as_str());
                    assert_eq!(api.for_platform(p), Some(&Secret::new(p.as_str())));
                }
                None => assert_eq!(api.for_platform(p), None),
            }
        }
        assert_eq!(
            webhooks_json.as_object().unwrap().len(),
            Platform::ALL.len()
        );
    }

    #[test]
    fn tenant_ids_are_url_and_key_safe() {
        assert!(is_valid_tenant_id("acme-eu-1"));
        for bad in ["", "ACME", "a/b", "a b", "a#b", &"x".repeat(65)] {
            assert!(!is_valid_tenant_id(bad), "{bad:?}");
        }
    }
}
