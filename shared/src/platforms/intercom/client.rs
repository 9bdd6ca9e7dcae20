//! Intercom's REST API, as far as chatsync uses it, with `Authorization: Bearer <access token>`
//! and the `Intercom-Version` header: `GET {base}/contacts/{id}` (the contact object: `id`,
//! `external_id`, `email`, `phone`, `name`, `role`), `GET {base}/admins/{id}` (the admin:
//! `id`, `name`, `email`; intercom/Intercom-OpenAPI `descriptions/2.11`) and
//! `GET {base}/teams/{id}` (the team: `id`, `name`, `admin_ids`;
//! <https://developers.intercom.com/docs/references/2.12/rest-api/api.intercom.io/teams/retrieveteam>).

use super::API_VERSION;
use crate::event::{Agent, Platform, Team, Visitor};
use crate::mapping::to_chat::ChatContact;
use crate::platforms::api::{self, Answer, Api, Auth, EnrichError, clean};
use crate::secret::Secret;
use serde::Deserialize;

/// Intercom's API for one process. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    api: Api,
}

impl Client {
    /// A client against `base` (normally [`super::API_BASE`]), sharing `http`.
    pub fn new(http: reqwest::Client, base: impl Into<String>) -> Result<Self, EnrichError> {
        Ok(Self {
            api: Api::new(Platform::Intercom, http, base.into())?,
        })
    }

    /// The contact `contact_id` as a [`Visitor`], or `None` when Intercom no longer knows it.
    pub async fn contact(
        &self,
        token: &Secret,
        contact_id: &str,
    ) -> Result<Option<Visitor>, EnrichError> {
        let url = self.api.url(&["contacts", contact_id])?;
        let headers = [("Intercom-Version", API_VERSION)];
        let subject = format!("contact {contact_id:?}");
        match self
            .api
            .get(url, Auth::Bearer(token), &headers, &subject)
            .await?
        {
            Some(body) => parse_contact(contact_id, &body).map(Some),
            None => Ok(None),
        }
    }
}

/// What a create answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    New(String),
    /// A contact with those details exists (409): its id.
    Exists(String),
}

impl Client {
    /// The contact with this e-mail (`POST /contacts/search`, `email = …`), if any. Newly
    /// created contacts may not be searchable for a few minutes (Intercom's search docs): the
    /// create's 409 covers those.
    pub async fn find_by_email(
        &self,
        token: &Secret,
        email: &str,
    ) -> Result<Option<String>, EnrichError> {
        let url = self.api.url(&["contacts", "search"])?;
        let body =
            serde_json::json!({"query": {"field": "email", "operator": "=", "value": email}});
        match self
            .write(reqwest::Method::POST, url, token, &body, "contact search")
            .await?
        {
            Answer::Body(body) => {
                let v: serde_json::Value = serde_json::from_slice(&body)
                    .map_err(|e| api::malformed(Platform::Intercom, e))?;
                Ok(v.get("data")
                    .and_then(serde_json::Value::as_array)
                    .and_then(|d| d.first())
                    .and_then(|c| c.get("id"))
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned))
            }
            Answer::NotFound | Answer::Conflict(_) => Ok(None),
        }
    }

    /// Creates a contact (`POST /contacts`, `role` `user` or `lead`); a 409 "A contact matching
    /// those details already exists with id=…" names the existing one.
    pub async fn create(
        &self,
        token: &Secret,
        role: &str,
        contact: &ChatContact,
    ) -> Result<Created, EnrichError> {
        let url = self.api.url(&["contacts"])?;
        let mut body = contact_body(contact);
        body["role"] = role.into();
        match self
            .write(reqwest::Method::POST, url, token, &body, "contact creation")
            .await?
        {
            Answer::Body(body) => Ok(Created::New(id_of(&body)?)),
            Answer::Conflict(body) => {
                let text = String::from_utf8_lossy(&body);
                text.split("id=")
                    .nth(1)
                    .map(|rest| {
                        rest.chars()
                            .take_while(char::is_ascii_alphanumeric)
                            .collect::<String>()
                    })
                    .filter(|id| !id.is_empty())
                    .map(Created::Exists)
                    .ok_or_else(|| EnrichError::Data {
                        platform: Platform::Intercom,
                        reason: "a 409 that names no contact id".into(),
                    })
            }
            Answer::NotFound => Err(EnrichError::Data {
                platform: Platform::Intercom,
                reason: "contact creation answered 404".into(),
            }),
        }
    }

    /// Updates the contact (`PUT /contacts/{id}`) with the change's fields; `None` when Intercom
    /// no longer has it.
    pub async fn update(
        &self,
        token: &Secret,
        contact_id: &str,
        contact: &ChatContact,
    ) -> Result<Option<()>, EnrichError> {
        let url = self.api.url(&["contacts", contact_id])?;
        let body = contact_body(contact);
        let subject = format!("contact {contact_id:?}");
        match self
            .write(reqwest::Method::PUT, url, token, &body, &subject)
            .await?
        {
            Answer::Body(_) => Ok(Some(())),
            Answer::NotFound => Ok(None),
            Answer::Conflict(_) => Err(EnrichError::Data {
                platform: Platform::Intercom,
                reason: format!("{subject}: another contact has those details"),
            }),
        }
    }

    /// Tags the contact: the tag is created or found by name (`POST /tags {name}`), then
    /// attached (`POST /contacts/{id}/tags {id}`).
    pub async fn tag(
        &self,
        token: &Secret,
        contact_id: &str,
        name: &str,
    ) -> Result<(), EnrichError> {
        let url = self.api.url(&["tags"])?;
        let tag = match self
            .write(
                reqwest::Method::POST,
                url,
                token,
                &serde_json::json!({"name": name}),
                "tag",
            )
            .await?
        {
            Answer::Body(body) => id_of(&body)?,
            _ => {
                return Err(EnrichError::Data {
                    platform: Platform::Intercom,
                    reason: format!("tag {name:?} was not created"),
                });
            }
        };
        let url = self.api.url(&["contacts", contact_id, "tags"])?;
        let subject = format!("tags of contact {contact_id:?}");
        match self
            .write(
                reqwest::Method::POST,
                url,
                token,
                &serde_json::json!({"id": tag}),
                &subject,
            )
            .await?
        {
            Answer::Body(_) => Ok(()),
            _ => Err(EnrichError::Data {
                platform: Platform::Intercom,
                reason: format!("{subject}: the contact is not there"),
            }),
        }
    }

    /// Adds an internal note by `admin_id` to the conversation
    /// (`POST /conversations/{id}/reply`, `message_type: note`; `body` is HTML).
    pub async fn note(
        &self,
        token: &Secret,
        conversation_id: &str,
        admin_id: &str,
        body: &str,
    ) -> Result<(), EnrichError> {
        let url = self.api.url(&["conversations", conversation_id, "reply"])?;
        let subject = format!("note on conversation {conversation_id:?}");
        let note = serde_json::json!({"message_type": "note", "type": "admin",
            "admin_id": admin_id, "body": body});
        match self
            .write(reqwest::Method::POST, url, token, &note, &subject)
            .await?
        {
            Answer::Body(_) => Ok(()),
            _ => Err(EnrichError::Data {
                platform: Platform::Intercom,
                reason: format!("{subject}: the conversation or the admin is not there"),
            }),
        }
    }

    async fn write(
        &self,
        method: reqwest::Method,
        url: reqwest::Url,
        token: &Secret,
        body: &serde_json::Value,
        subject: &str,
    ) -> Result<Answer, EnrichError> {
        let headers = [("Intercom-Version", API_VERSION)];
        self.api
            .send(method, url, Auth::Bearer(token), &headers, body, subject)
            .await
    }
}

/// The contact body: e-mail, phone, name and custom attributes, only what the change carries.
fn contact_body(contact: &ChatContact) -> serde_json::Value {
    let mut body = serde_json::Map::new();
    if let Some(email) = &contact.email {
        body.insert("email".into(), email.clone().into());
    }
    if let Some(phone) = &contact.phone {
        body.insert("phone".into(), phone.clone().into());
    }
    let name = [contact.first_name.as_deref(), contact.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if !name.is_empty() {
        body.insert("name".into(), name.into());
    }
    if !contact.attributes.is_empty() {
        body.insert(
            "custom_attributes".into(),
            serde_json::Value::Object(crate::mapping::to_chat::attribute_values(contact)),
        );
    }
    serde_json::Value::Object(body)
}

/// The `id` of an answered object.
fn id_of(body: &[u8]) -> Result<String, EnrichError> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| api::malformed(Platform::Intercom, e))?;
    match v.get("id") {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
        _ => Err(EnrichError::Data {
            platform: Platform::Intercom,
            reason: "the answer names no id".into(),
        }),
    }
}

impl Client {
    /// The admin (teammate) `admin_id`, or `None` when Intercom knows no such admin.
    pub async fn admin(
        &self,
        token: &Secret,
        admin_id: &str,
    ) -> Result<Option<Agent>, EnrichError> {
        let url = self.api.url(&["admins", admin_id])?;
        let headers = [("Intercom-Version", API_VERSION)];
        let subject = format!("admin {admin_id:?}");
        match self
            .api
            .get(url, Auth::Bearer(token), &headers, &subject)
            .await?
        {
            Some(body) => api::parse_agent(Platform::Intercom, &body).map(Some),
            None => Ok(None),
        }
    }
}

impl Client {
    /// The team `team_id` (its name, for Queue maps by name), or `None` when Intercom knows
    /// no such team.
    pub async fn team(&self, token: &Secret, team_id: &str) -> Result<Option<Team>, EnrichError> {
        let url = self.api.url(&["teams", team_id])?;
        let headers = [("Intercom-Version", API_VERSION)];
        let subject = format!("team {team_id:?}");
        match self
            .api
            .get(url, Auth::Bearer(token), &headers, &subject)
            .await?
        {
            Some(body) => {
                let t: TeamBody = serde_json::from_slice(&body)
                    .map_err(|e| api::malformed(Platform::Intercom, e))?;
                Ok(Some(Team {
                    id: clean(t.id).or_else(|| Some(team_id.to_owned())),
                    name: clean(t.name),
                }))
            }
            None => Ok(None),
        }
    }
}

/// Intercom's team object, the fields chatsync reads.
#[derive(Deserialize)]
struct TeamBody {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// Intercom's contact object, the fields chatsync reads.
#[derive(Deserialize)]
struct Contact {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    role: Option<String>,
}

/// The visitor fields of a contact body; `asked` is the id when the body names none.
fn parse_contact(asked: &str, body: &[u8]) -> Result<Visitor, EnrichError> {
    let c: Contact =
        serde_json::from_slice(body).map_err(|e| api::malformed(Platform::Intercom, e))?;
    Ok(Visitor {
        contact_id: clean(c.id).or_else(|| Some(asked.to_owned())),
        external_id: clean(c.external_id),
        email: clean(c.email),
        phone: clean(c.phone),
        name: clean(c.name),
        role: clean(c.role),
        ..Visitor::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Classify, ErrorClass};

    #[test]
    fn malformed_or_mistyped_bodies_are_data_errors() {
        for body in [&b"not json"[..], b"[1,2]", br#"{"email": 5}"#] {
            let err = parse_contact("x", body).unwrap_err();
            assert_eq!(err.class(), ErrorClass::Data);
        }
    }

    #[test]
    fn blank_fields_are_absent_and_the_asked_id_fills_a_missing_one() {
        let v = parse_contact("c9", br#"{"email":" ","phone":"+4420","role":"lead"}"#).unwrap();
        assert_eq!(v.contact_id.as_deref(), Some("c9"));
        assert_eq!(v.email, None);
        assert_eq!(v.phone.as_deref(), Some("+4420"));
        assert_eq!(v.role.as_deref(), Some("lead"));
    }
}
