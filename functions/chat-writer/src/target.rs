//! One chat platform as the chat writer sees it: find a person, create, update, tag. Each
//! platform's calls live in its client (`shared::platforms::<platform>::client`); this is only
//! the choice between them.

use shared::event::Platform;
use shared::identity::rules::{Person, PersonKind};
use shared::mapping::to_chat::ChatContact;
use shared::platforms::api::EnrichError;
use shared::platforms::{intercom, respondio, tidio};
use shared::secret::Secret;
use shared::tenant::PlatformApiSecrets;

/// The platform clients of one warm function.
pub(crate) struct Clients {
    pub(crate) intercom: intercom::client::Client,
    pub(crate) respondio: respondio::client::Client,
    pub(crate) tidio: tidio::client::Client,
}

/// A platform the tenant gave credentials for.
pub(crate) enum Target<'a> {
    Intercom(&'a intercom::client::Client, &'a Secret),
    RespondIo(&'a respondio::client::Client, &'a Secret),
    Tidio(&'a tidio::client::Client, tidio::client::Keys<'a>),
}

impl<'a> Target<'a> {
    /// `None` when the platform documents no API to write contacts (CloudCX) or the tenant's
    /// secrets hold no credentials for it.
    pub(crate) fn new(
        clients: &'a Clients,
        platform: Platform,
        secrets: &'a PlatformApiSecrets,
    ) -> Option<Self> {
        match platform {
            Platform::Intercom => secrets
                .intercom_access_token
                .as_ref()
                .map(|t| Target::Intercom(&clients.intercom, t)),
            Platform::RespondIo => secrets
                .respondio_api_token
                .as_ref()
                .map(|t| Target::RespondIo(&clients.respondio, t)),
            Platform::Tidio => match (&secrets.tidio_client_id, &secrets.tidio_client_secret) {
                (Some(id), Some(secret)) => Some(Target::Tidio(
                    &clients.tidio,
                    tidio::client::Keys::new(id, secret),
                )),
                _ => None,
            },
            Platform::CloudCx => None,
        }
    }

    /// Whether the platform has an API to write contacts at all.
    pub(crate) fn writable(platform: Platform) -> bool {
        !matches!(platform, Platform::CloudCx)
    }

    /// The platform's contact with the person's e-mail (respond.io: or phone), if any.
    pub(crate) async fn find(&self, contact: &ChatContact) -> Result<Option<String>, EnrichError> {
        match (self, &contact.email) {
            (Target::Intercom(c, t), Some(email)) => c.find_by_email(t, email).await,
            (Target::Tidio(c, k), Some(email)) => c.find_by_email(k, email).await,
            (Target::RespondIo(c, t), _) => match respondio::client::identifier_for(contact) {
                Some(identifier) => Ok(c.contact(t, &identifier).await?.and_then(|v| v.contact_id)),
                None => Ok(None),
            },
            (_, None) => Ok(None),
        }
    }

    /// Updates the contact; `None` when the platform no longer has it.
    pub(crate) async fn update(
        &self,
        id: &str,
        contact: &ChatContact,
    ) -> Result<Option<()>, EnrichError> {
        match self {
            Target::Intercom(c, t) => c.update(t, id, contact).await,
            Target::RespondIo(c, t) => {
                c.update(t, &respondio::client::identifier(id), contact)
                    .await
            }
            Target::Tidio(c, k) => c.update(k, id, contact).await,
        }
    }

    /// Creates the contact for `person`; its platform id.
    pub(crate) async fn create(
        &self,
        person: &Person,
        contact: &ChatContact,
    ) -> Result<String, EnrichError> {
        match self {
            Target::Intercom(c, t) => {
                let role = match person.kind {
                    PersonKind::Lead => "lead",
                    PersonKind::Contact => "user",
                };
                match c.create(t, role, contact).await? {
                    intercom::client::Created::New(id) => Ok(id),
                    // Created meanwhile (search lags): update it instead.
                    intercom::client::Created::Exists(id) => {
                        c.update(t, &id, contact).await?;
                        Ok(id)
                    }
                }
            }
            Target::RespondIo(c, t) => {
                let identifier = respondio::client::identifier_for(contact).unwrap_or_default();
                c.create_or_update(t, &identifier, contact).await
            }
            // Tidio keeps the Salesforce id as the contact's external id.
            Target::Tidio(c, k) => c.create(k, &person.id, contact).await,
        }
    }

    /// Tags the contact; false when the platform documents no contact tags (Tidio).
    pub(crate) async fn tag(&self, id: &str, tag: &str) -> Result<bool, EnrichError> {
        match self {
            Target::Intercom(c, t) => c.tag(t, id, tag).await.map(|()| true),
            Target::RespondIo(c, t) => {
                c.add_tags(
                    t,
                    &respondio::client::identifier(id),
                    std::slice::from_ref(&tag.to_owned()),
                )
                .await?;
                Ok(true)
            }
            Target::Tidio(..) => Ok(false),
        }
    }
}
