//! Enrichment: when an event names its visitor only by the platform's contact id, ask the
//! platform's REST API for the person's e-mail, phone and name, with the tenant's own token.
//!
//! This is the platform-independent part: which platforms have a lookup and with which token
//! ([`Enricher::contact`]), and how a fetched record fills the event's visitor ([`merge`]).
//! Each platform's request and answer are its own client (`platforms::intercom::client`,
//! `platforms::respondio::client`); the HTTP setup, the errors and the rate-limit memory they
//! share are `platforms::api`.

use crate::event::{Agent, Visitor};
use crate::platforms::{Platform, api, intercom, respondio, tidio};
use crate::secret::Secret;
use crate::tenant::TenantSecrets;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

pub use crate::platforms::api::EnrichError;

/// Agents read per (tenant, platform, agent id), with when they were read.
type AgentCache = HashMap<(String, Platform, String), (Option<Agent>, Instant)>;
/// Teams' names per (tenant, platform, team id), with when they were read.
type TeamCache = HashMap<(String, Platform, String), (Option<String>, Instant)>;

/// How long an agent's e-mail (or its absence) is trusted before the platform is asked again.
const AGENT_TTL: Duration = Duration::from_secs(15 * 60);

/// Fetches a visitor's details, and agents' e-mails, from the chat platform. Cheap to clone;
/// one per warm function.
#[derive(Debug, Clone)]
pub struct Enricher {
    intercom: intercom::Client,
    respondio: respondio::Client,
    tidio: tidio::Client,
    /// Agents by (tenant, platform, agent id), with when they were read.
    agents: Arc<Mutex<AgentCache>>,
    teams: Arc<Mutex<TeamCache>>,
}

impl Enricher {
    /// An enricher against the platforms' real APIs.
    pub fn new() -> Result<Self, EnrichError> {
        Self::with_bases(intercom::API_BASE, respondio::API_BASE)
    }

    /// An enricher against other base URLs (a local stand-in in tests). A trailing `/` is
    /// ignored.
    pub fn with_bases(
        intercom: impl Into<String>,
        respondio: impl Into<String>,
    ) -> Result<Self, EnrichError> {
        let http = api::http_client()?;
        Ok(Self {
            intercom: intercom::Client::new(http.clone(), intercom)?,
            respondio: respondio::Client::new(http.clone(), respondio)?,
            tidio: tidio::Client::new(http, tidio::client::API_BASE)?,
            agents: Arc::default(),
            teams: Arc::default(),
        })
    }

    /// The same, with Tidio's API at another base (a local stand-in in tests).
    pub fn with_tidio(mut self, base: impl Into<String>) -> Result<Self, EnrichError> {
        self.tidio = tidio::Client::new(api::http_client()?, base)?;
        Ok(self)
    }

    /// Agent `agent_id` (its e-mail and name) as the platform knows it; `None` when the
    /// platform has no API for it here (CloudCX), the tenant gave no key for it, or it knows no
    /// such agent. Answers are kept per tenant for 15 minutes; Tidio's whole operator list is
    /// read at once (it documents no read of one operator).
    pub async fn agent(
        &self,
        tenant: &str,
        platform: Platform,
        agent_id: &str,
        secrets: &TenantSecrets,
    ) -> Result<Option<Agent>, EnrichError> {
        let key = (tenant.to_owned(), platform, agent_id.to_owned());
        if let Some((agent, at)) = self.lock_agents().get(&key)
            && at.elapsed() < AGENT_TTL
        {
            return Ok(agent.clone());
        }
        let api = secrets.platform_api.as_ref();
        let now = Instant::now();
        let found = match platform {
            Platform::Intercom => {
                match usable(api.and_then(|a| a.intercom_access_token.as_ref())) {
                    Some(token) => self.intercom.admin(token, agent_id).await?,
                    None => return Ok(None),
                }
            }
            Platform::RespondIo => match usable(api.and_then(|a| a.respondio_api_token.as_ref())) {
                Some(token) => self.respondio.user(token, agent_id).await?,
                None => return Ok(None),
            },
            Platform::Tidio => {
                let (Some(id), Some(secret)) = (
                    usable(api.and_then(|a| a.tidio_client_id.as_ref())),
                    usable(api.and_then(|a| a.tidio_client_secret.as_ref())),
                ) else {
                    return Ok(None);
                };
                let operators = self.tidio.operators(id, secret).await?;
                let mut cache = self.lock_agents();
                for op in &operators {
                    if let Some(op_id) = &op.id {
                        cache.insert(
                            (tenant.to_owned(), platform, op_id.clone()),
                            (Some(op.clone()), now),
                        );
                    }
                }
                operators
                    .into_iter()
                    .find(|op| op.id.as_deref() == Some(agent_id))
            }
            // CloudCX documents no agent API (docs/platforms.md#cloudcx).
            Platform::CloudCx => return Ok(None),
        };
        self.lock_agents().insert(key, (found.clone(), now));
        Ok(found)
    }

    /// Team `team_id`'s name as the platform knows it (Intercom only: the others name their
    /// teams in the webhook, or have no team API); kept per tenant for 15 minutes.
    pub async fn team_name(
        &self,
        tenant: &str,
        platform: Platform,
        team_id: &str,
        secrets: &TenantSecrets,
    ) -> Result<Option<String>, EnrichError> {
        let Platform::Intercom = platform else {
            return Ok(None);
        };
        let Some(token) = usable(
            secrets
                .platform_api
                .as_ref()
                .and_then(|a| a.intercom_access_token.as_ref()),
        ) else {
            return Ok(None);
        };
        let key = (tenant.to_owned(), platform, team_id.to_owned());
        let teams = || self.teams.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((name, at)) = teams().get(&key)
            && at.elapsed() < AGENT_TTL
        {
            return Ok(name.clone());
        }
        let name = self
            .intercom
            .team(token, team_id)
            .await?
            .and_then(|t| t.name);
        teams().insert(key, (name.clone(), Instant::now()));
        Ok(name)
    }

    fn lock_agents(&self) -> std::sync::MutexGuard<'_, AgentCache> {
        self.agents.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The platform's record of `contact_id` as a [`Visitor`], or `None` when there is nothing
    /// to ask (no API here, no token for it, blank id) or the platform no longer knows the
    /// contact (404).
    pub async fn contact(
        &self,
        platform: Platform,
        contact_id: &str,
        secrets: &TenantSecrets,
    ) -> Result<Option<Visitor>, EnrichError> {
        let contact_id = contact_id.trim();
        if contact_id.is_empty() {
            return Ok(None);
        }
        let token = secrets
            .platform_api
            .as_ref()
            .and_then(|api| api.for_platform(platform));
        let Some(token) = usable(token) else {
            return Ok(None);
        };
        tracing::debug!(%platform, contact_id, "fetching contact from the platform");
        match platform {
            Platform::Intercom => self.intercom.contact(token, contact_id).await,
            Platform::RespondIo => self.respondio.contact(token, contact_id).await,
            // No client (and no token field) for these; why is in their modules' docs
            // (`platforms::tidio`, `platforms::cloudcx`). The resolver falls back to the
            // visitor id for both.
            Platform::Tidio | Platform::CloudCx => Ok(None),
        }
    }
}

/// Fills the visitor's missing fields from what the platform returned; what the event itself
/// said always wins. Blank strings count as missing.
pub fn merge(visitor: &mut Visitor, fetched: Visitor) {
    fn fill(own: &mut Option<String>, theirs: Option<String>) {
        let missing = own.as_deref().is_none_or(|s| s.trim().is_empty());
        if missing && let Some(v) = theirs.filter(|v| !v.trim().is_empty()) {
            *own = Some(v);
        }
    }
    let Visitor {
        contact_id,
        external_id,
        email,
        phone,
        name,
        first_name,
        last_name,
        visitor_id,
        company_name,
        company_domain,
        role,
        custom_attributes,
    } = fetched;
    fill(&mut visitor.contact_id, contact_id);
    fill(&mut visitor.external_id, external_id);
    fill(&mut visitor.email, email);
    fill(&mut visitor.phone, phone);
    fill(&mut visitor.name, name);
    fill(&mut visitor.first_name, first_name);
    fill(&mut visitor.last_name, last_name);
    fill(&mut visitor.visitor_id, visitor_id);
    fill(&mut visitor.company_name, company_name);
    fill(&mut visitor.company_domain, company_domain);
    fill(&mut visitor.role, role);
    for (k, v) in custom_attributes {
        visitor.custom_attributes.entry(k).or_insert(v);
    }
}

fn usable(token: Option<&Secret>) -> Option<&Secret> {
    token.filter(|t| !t.expose().trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Classify, ErrorClass};
    use crate::tenant::PlatformApiSecrets;

    #[test]
    fn bad_bases_are_configuration_errors() {
        for bad in ["", "not a url", "mailto:x@y.z", "ftp://host"] {
            let err = Enricher::with_bases(bad, respondio::API_BASE).unwrap_err();
            assert_eq!(err.class(), ErrorClass::Configuration, "{bad}");
            let err = Enricher::with_bases(intercom::API_BASE, bad).unwrap_err();
            assert_eq!(err.class(), ErrorClass::Configuration, "{bad}");
        }
        assert!(Enricher::with_bases("http://127.0.0.1:1/", "http://127.0.0.1:1/v2/").is_ok());
        assert!(Enricher::new().is_ok());
    }

    #[tokio::test]
    async fn no_api_or_no_token_is_none_without_a_call() {
        // The bases point at a port nothing listens on: any call would be an error.
        let e = Enricher::with_bases("http://127.0.0.1:1", "http://127.0.0.1:1").unwrap();
        let none = TenantSecrets::default();
        for p in Platform::ALL {
            assert_eq!(e.contact(p, "123", &none).await.unwrap(), None, "{p}");
        }
        let blank = TenantSecrets {
            platform_api: Some(PlatformApiSecrets {
                intercom_access_token: Some(Secret::new(" ")),
                respondio_api_token: None,
                ..PlatformApiSecrets::default()
            }),
            ..TenantSecrets::default()
        };
        assert_eq!(
            e.contact(Platform::Intercom, "1", &blank).await.unwrap(),
            None
        );
        let full = TenantSecrets {
            platform_api: Some(PlatformApiSecrets {
                intercom_access_token: Some(Secret::new("t")),
                respondio_api_token: Some(Secret::new("t")),
                ..PlatformApiSecrets::default()
            }),
            ..TenantSecrets::default()
        };
        assert_eq!(e.contact(Platform::Tidio, "1", &full).await.unwrap(), None);
        assert_eq!(
            e.contact(Platform::CloudCx, "1", &full).await.unwrap(),
            None
        );
        assert_eq!(
            e.contact(Platform::Intercom, "  ", &full).await.unwrap(),
            None
        );
        // With a token the call is made, and a refused connection is transient.
        let err = e.contact(Platform::Intercom, "1", &full).await.unwrap_err();
        assert_eq!(err.class(), ErrorClass::Transient);
    }

    #[test]
    fn errors_never_show_the_token() {
        let secrets = PlatformApiSecrets {
            intercom_access_token: Some(Secret::new("sk-very-secret")),
            respondio_api_token: None,
            ..PlatformApiSecrets::default()
        };
        assert!(!format!("{secrets:?}").contains("sk-very-secret"));
    }

    #[test]
    fn merge_fills_only_what_the_event_lacks() {
        let mut v = Visitor {
            contact_id: Some("c1".into()),
            email: Some("event@example.com".into()),
            name: Some(" ".into()),
            ..Visitor::default()
        };
        v.custom_attributes.insert("plan".into(), "gold".into());
        let mut fetched = Visitor {
            contact_id: Some("other".into()),
            email: Some("api@example.com".into()),
            phone: Some("+15551211212".into()),
            name: Some("Ada Lovelace".into()),
            role: Some("user".into()),
            external_id: Some("".into()),
            ..Visitor::default()
        };
        fetched
            .custom_attributes
            .insert("plan".into(), "free".into());
        fetched.custom_attributes.insert("seats".into(), 3.into());
        merge(&mut v, fetched);
        assert_eq!(v.contact_id.as_deref(), Some("c1"));
        assert_eq!(v.email.as_deref(), Some("event@example.com"));
        assert_eq!(v.phone.as_deref(), Some("+15551211212"));
        assert_eq!(v.name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(v.role.as_deref(), Some("user"));
        assert_eq!(v.external_id, None);
        assert_eq!(v.custom_attributes["plan"], "gold");
        assert_eq!(v.custom_attributes["seats"], 3);
    }
}
