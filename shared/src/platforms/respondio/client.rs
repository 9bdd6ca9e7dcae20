//! respond.io's REST API, as far as chatsync uses it, with `Authorization: Bearer <API token>`:
//! `GET {base}/contact/{identifier}` (identifier `id:123`, `email:…` or `phone:+…`; the body is
//! the contact itself: `id` a number, `firstName`, `lastName`, `email`, `phone`) and
//! `GET {base}/space/user/{id}` (a workspace user: `id`, `firstName`, `lastName`, `email`;
//! respond-io/typescript-sdk `src/clients/space.ts`).

use crate::event::{Agent, Platform, Visitor};
use crate::mapping::to_chat::ChatContact;
use crate::platforms::api::{self, Answer, Api, Auth, EnrichError, clean};
use crate::secret::Secret;
use serde::Deserialize;

/// respond.io's API for one process. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    api: Api,
}

impl Client {
    /// A client against `base` (normally [`super::API_BASE`]), sharing `http`.
    pub fn new(http: reqwest::Client, base: impl Into<String>) -> Result<Self, EnrichError> {
        Ok(Self {
            api: Api::new(Platform::RespondIo, http, base.into())?,
        })
    }

    /// The contact `contact_id` (a bare id or an identifier) as a [`Visitor`], or `None` when
    /// respond.io no longer knows it.
    pub async fn contact(
        &self,
        token: &Secret,
        contact_id: &str,
    ) -> Result<Option<Visitor>, EnrichError> {
        let identifier = identifier(contact_id);
        let url = self.api.url(&["contact", &identifier])?;
        let subject = format!("contact {contact_id:?}");
        match self
            .api
            .get(url, Auth::Bearer(token), &[], &subject)
            .await?
        {
            Some(body) => parse_contact(contact_id, &body).map(Some),
            None => Ok(None),
        }
    }
}

impl Client {
    /// The workspace user `user_id`, or `None` when respond.io knows no such user.
    pub async fn user(&self, token: &Secret, user_id: &str) -> Result<Option<Agent>, EnrichError> {
        let url = self.api.url(&["space", "user", user_id])?;
        let subject = format!("user {user_id:?}");
        match self
            .api
            .get(url, Auth::Bearer(token), &[], &subject)
            .await?
        {
            Some(body) => api::parse_agent(Platform::RespondIo, &body).map(Some),
            None => Ok(None),
        }
    }
}

impl Client {
    /// Creates the contact `identifier` names, or updates it when respond.io has it
    /// (`POST /contact/create_or_update/{identifier}`; respond-io/typescript-sdk
    /// `src/clients/contact.ts`). Only the fields the change carries are sent: respond.io keeps
    /// no earlier value of what it is sent. Answers the contact's id.
    pub async fn create_or_update(
        &self,
        token: &Secret,
        identifier: &str,
        contact: &ChatContact,
    ) -> Result<String, EnrichError> {
        let url = self.api.url(&["contact", "create_or_update", identifier])?;
        let body = contact_body(contact);
        let subject = format!("contact {identifier:?}");
        let answer = self
            .api
            .send(
                reqwest::Method::POST,
                url,
                Auth::Bearer(token),
                &[],
                &body,
                &subject,
            )
            .await?;
        match answer {
            Answer::Body(body) => {
                let v: serde_json::Value = serde_json::from_slice(&body)
                    .map_err(|e| api::malformed(Platform::RespondIo, e))?;
                match v.get("contactId") {
                    Some(serde_json::Value::Number(n)) => return Ok(n.to_string()),
                    Some(serde_json::Value::String(s)) if !s.is_empty() => return Ok(s.clone()),
                    // Observed answers without the id: read the contact back.
                    _ => {}
                }
                let found = self.contact(token, identifier).await?;
                found
                    .and_then(|v| v.contact_id)
                    .ok_or_else(|| EnrichError::Data {
                        platform: Platform::RespondIo,
                        reason: format!("{subject} written but not found"),
                    })
            }
            Answer::NotFound | Answer::Conflict(_) => Err(EnrichError::Data {
                platform: Platform::RespondIo,
                reason: format!("{subject} was not written"),
            }),
        }
    }

    /// Updates the contact `identifier` names (`PUT /contact/{identifier}`, any identifier form
    /// including `id:`); `None` when respond.io no longer has it.
    pub async fn update(
        &self,
        token: &Secret,
        identifier: &str,
        contact: &ChatContact,
    ) -> Result<Option<()>, EnrichError> {
        let url = self.api.url(&["contact", identifier])?;
        let body = contact_body(contact);
        let subject = format!("contact {identifier:?}");
        match self
            .api
            .send(
                reqwest::Method::PUT,
                url,
                Auth::Bearer(token),
                &[],
                &body,
                &subject,
            )
            .await?
        {
            Answer::Body(_) => Ok(Some(())),
            Answer::NotFound => Ok(None),
            Answer::Conflict(_) => Err(EnrichError::Data {
                platform: Platform::RespondIo,
                reason: format!("{subject}: another contact has those details"),
            }),
        }
    }

    /// Adds tags to the contact (`POST /contact/{identifier}/tag`, a JSON array of 1–10
    /// names of at most 255 characters).
    pub async fn add_tags(
        &self,
        token: &Secret,
        identifier: &str,
        tags: &[String],
    ) -> Result<(), EnrichError> {
        let url = self.api.url(&["contact", identifier, "tag"])?;
        let body = serde_json::Value::from(tags.iter().take(10).cloned().collect::<Vec<_>>());
        let subject = format!("tags of contact {identifier:?}");
        match self
            .api
            .send(
                reqwest::Method::POST,
                url,
                Auth::Bearer(token),
                &[],
                &body,
                &subject,
            )
            .await?
        {
            Answer::Body(_) => Ok(()),
            Answer::NotFound | Answer::Conflict(_) => Err(EnrichError::Data {
                platform: Platform::RespondIo,
                reason: format!("{subject}: the contact is not there"),
            }),
        }
    }
}

/// The identifier a new contact is keyed by: its e-mail, else its phone.
pub fn identifier_for(contact: &ChatContact) -> Option<String> {
    contact
        .email
        .as_ref()
        .map(|e| format!("email:{e}"))
        .or_else(|| contact.phone.as_ref().map(|p| format!("phone:{p}")))
}

/// The create-or-update body: `firstName` is required, so a contact without one is named by
/// its last name, else its e-mail's local part.
fn contact_body(contact: &ChatContact) -> serde_json::Value {
    let mut body = serde_json::Map::new();
    let first = contact
        .first_name
        .clone()
        .or_else(|| contact.last_name.clone())
        .or_else(|| {
            contact
                .email
                .as_deref()
                .and_then(|e| e.split_once('@'))
                .map(|(local, _)| local.to_owned())
        });
    if let Some(first) = first {
        body.insert("firstName".into(), first.into());
    }
    if contact.first_name.is_some()
        && let Some(last) = &contact.last_name
    {
        body.insert("lastName".into(), last.clone().into());
    }
    if let Some(email) = &contact.email {
        body.insert("email".into(), email.clone().into());
    }
    if let Some(phone) = &contact.phone {
        body.insert("phone".into(), phone.clone().into());
    }
    if !contact.attributes.is_empty() {
        let fields: Vec<serde_json::Value> = contact
            .attributes
            .iter()
            .map(|(name, value)| serde_json::json!({"name": name, "value": value}))
            .collect();
        body.insert("custom_fields".into(), fields.into());
    }
    serde_json::Value::Object(body)
}

/// respond.io names a contact `id:123`, `email:…` or `phone:+…`; a bare id is `id:`.
pub fn identifier(contact_id: &str) -> String {
    if ["id:", "email:", "phone:"]
        .iter()
        .any(|p| contact_id.starts_with(p))
    {
        contact_id.to_owned()
    } else {
        format!("id:{contact_id}")
    }
}

/// respond.io's contact, the fields chatsync reads (`id` is a number).
#[derive(Deserialize)]
struct Contact {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default, rename = "firstName")]
    first_name: Option<String>,
    #[serde(default, rename = "lastName")]
    last_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
}

/// The visitor fields of a contact body; `asked` is the id when the body names none.
fn parse_contact(asked: &str, body: &[u8]) -> Result<Visitor, EnrichError> {
    let c: Contact =
        serde_json::from_slice(body).map_err(|e| api::malformed(Platform::RespondIo, e))?;
    let first_name = clean(c.first_name);
    let last_name = clean(c.last_name);
    let name = match (&first_name, &last_name) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (f, l) => f.clone().or_else(|| l.clone()),
    };
    let id = match c.id {
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(serde_json::Value::String(s)) => clean(Some(s)),
        _ => None,
    };
    Ok(Visitor {
        contact_id: id.or_else(|| Some(asked.to_owned())),
        email: clean(c.email),
        phone: clean(c.phone),
        name,
        first_name,
        last_name,
        ..Visitor::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Classify, ErrorClass};

    #[test]
    fn identifiers_default_to_the_id_form() {
        assert_eq!(identifier("123"), "id:123");
        assert_eq!(identifier("id:123"), "id:123");
        assert_eq!(identifier("email:a@b.co"), "email:a@b.co");
        assert_eq!(identifier("phone:+4412"), "phone:+4412");
    }

    #[test]
    fn malformed_bodies_are_data_errors() {
        for body in [&b"{"[..], b"[1,2]", br#"{"email": 5}"#] {
            let err = parse_contact("1", body).unwrap_err();
            assert_eq!(err.class(), ErrorClass::Data);
        }
    }

    #[test]
    fn names_join_and_blank_fields_are_absent() {
        let v = parse_contact(
            "id:7",
            br#"{"id":7,"firstName":"Ada","lastName":" ","email":"","phone":"+4420"}"#,
        )
        .unwrap();
        assert_eq!(v.contact_id.as_deref(), Some("7"));
        assert_eq!(v.name.as_deref(), Some("Ada"));
        assert_eq!(v.first_name.as_deref(), Some("Ada"));
        assert_eq!(v.last_name, None);
        assert_eq!(v.email, None);
        assert_eq!(v.phone.as_deref(), Some("+4420"));
    }
}
