//! Tidio's OpenAPI, as far as chatsync uses it: `GET {base}/operators` (the project's operators:
//! `{operators: [{id, name, email, …}]}`, <https://developers.tidio.com/reference/get_operators>),
//! sent with `X-Tidio-Openapi-Client-Id`, `X-Tidio-Openapi-Client-Secret` and the mandatory
//! `Accept: application/json; version=1`
//! (<https://developers.tidio.com/docs/openapi-authorization>,
//! <https://developers.tidio.com/docs/versioning>). Tidio documents no single-operator call, so
//! the list is read whole.
//!
//! Writes (Salesforce → chat): `POST /contacts` always makes a new contact, whatever its e-mail
//! or `distinct_id` (<https://developers.tidio.com/reference/post_contacts>), so the chat
//! writer looks the person up first (`GET /contacts?email=`) and keeps the created id in its
//! links; `PATCH /contacts/{id}` updates by id, an absent field untouched and null clearing it
//! (<https://developers.tidio.com/reference/patch_contacts-contactid>). Tidio's reference shows
//! no example answer to the create: the id is read from the answer's `id` (or `data.id`), and
//! when neither is there the contact is found again by its e-mail.

use crate::event::{Agent, Platform};
use crate::mapping::to_chat::ChatContact;
use crate::platforms::api::{self, Answer, Api, Auth, EnrichError};
use crate::secret::Secret;
use serde_json::{Value, json};

pub const API_BASE: &str = "https://api.tidio.com";
const ACCEPT: (&str, &str) = ("Accept", "application/json; version=1");

/// Tidio's API for one process. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    api: Api,
}

impl Client {
    pub fn new(http: reqwest::Client, base: impl Into<String>) -> Result<Self, EnrichError> {
        Ok(Self {
            api: Api::new(Platform::Tidio, http, base.into())?,
        })
    }

    /// Every operator of the project the keys belong to.
    pub async fn operators(
        &self,
        client_id: &Secret,
        client_secret: &Secret,
    ) -> Result<Vec<Agent>, EnrichError> {
        let keys = Keys::new(client_id, client_secret);
        let url = self.api.url(&["operators"])?;
        match self
            .api
            .get(url, Auth::Headers(&keys.0), &[ACCEPT], "the operator list")
            .await?
        {
            Some(body) => api::parse_agents(Platform::Tidio, &body, "operators"),
            None => Ok(Vec::new()),
        }
    }
}

/// The project's key pair, as Tidio's two headers.
pub struct Keys<'a>([(&'static str, &'a Secret); 2]);

impl<'a> Keys<'a> {
    pub fn new(client_id: &'a Secret, client_secret: &'a Secret) -> Self {
        Self([
            ("X-Tidio-Openapi-Client-Id", client_id),
            ("X-Tidio-Openapi-Client-Secret", client_secret),
        ])
    }
}

/// `distinct_id` is at most 55 characters
/// (<https://developers.tidio.com/reference/post_contacts>).
pub const DISTINCT_ID_MAX: usize = 55;

impl Client {
    /// The first contact Tidio lists with this e-mail, if any.
    pub async fn find_by_email(
        &self,
        keys: &Keys<'_>,
        email: &str,
    ) -> Result<Option<String>, EnrichError> {
        let mut url = self.api.url(&["contacts"])?;
        url.query_pairs_mut().append_pair("email", email);
        let Some(body) = self
            .api
            .get(url, Auth::Headers(&keys.0), &[ACCEPT], "the contact search")
            .await?
        else {
            return Ok(None);
        };
        let v: Value =
            serde_json::from_slice(&body).map_err(|e| api::malformed(Platform::Tidio, e))?;
        Ok(v.get("contacts")
            .and_then(Value::as_array)
            .and_then(|list| list.first())
            .and_then(id_in))
    }

    /// Creates the contact with `distinct_id` (the Salesforce record id); its Tidio id.
    pub async fn create(
        &self,
        keys: &Keys<'_>,
        distinct_id: &str,
        contact: &ChatContact,
    ) -> Result<String, EnrichError> {
        let url = self.api.url(&["contacts"])?;
        let mut body = contact_body(contact);
        body["distinct_id"] = distinct_id
            .chars()
            .take(DISTINCT_ID_MAX)
            .collect::<String>()
            .into();
        let subject = "contact creation";
        let answer = self
            .api
            .send(
                reqwest::Method::POST,
                url,
                Auth::Headers(&keys.0),
                &[ACCEPT],
                &body,
                subject,
            )
            .await?;
        let Answer::Body(answer) = answer else {
            return Err(refused(subject, &answer));
        };
        let parsed: Option<Value> = serde_json::from_slice(&answer).ok();
        if let Some(id) = parsed
            .as_ref()
            .and_then(|v| id_in(v).or_else(|| v.get("data").and_then(id_in)))
        {
            return Ok(id);
        }
        let found = match &contact.email {
            Some(email) => self.find_by_email(keys, email).await?,
            None => None,
        };
        found.ok_or_else(|| EnrichError::Data {
            platform: Platform::Tidio,
            reason: "the contact was created but its answer names no id".into(),
        })
    }

    /// Updates the contact by id; `None` when Tidio no longer has it.
    pub async fn update(
        &self,
        keys: &Keys<'_>,
        id: &str,
        contact: &ChatContact,
    ) -> Result<Option<()>, EnrichError> {
        let url = self.api.url(&["contacts", id])?;
        let body = contact_body(contact);
        let subject = format!("contact {id:?}");
        match self
            .api
            .send(
                reqwest::Method::PATCH,
                url,
                Auth::Headers(&keys.0),
                &[ACCEPT],
                &body,
                &subject,
            )
            .await?
        {
            Answer::Body(_) => Ok(Some(())),
            Answer::NotFound => Ok(None),
            other => Err(refused(&subject, &other)),
        }
    }
}

fn refused(subject: &str, answer: &Answer) -> EnrichError {
    EnrichError::Data {
        platform: Platform::Tidio,
        reason: match answer {
            Answer::NotFound => format!("HTTP 404 for {subject}"),
            _ => format!("HTTP 409 for {subject}"),
        },
    }
}

fn id_in(v: &Value) -> Option<String> {
    v.get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The fields the change carries, and its attributes as Tidio properties (null clears one).
fn contact_body(contact: &ChatContact) -> Value {
    let mut body = serde_json::Map::new();
    for (key, value) in [
        ("email", &contact.email),
        ("phone", &contact.phone),
        ("first_name", &contact.first_name),
        ("last_name", &contact.last_name),
    ] {
        if let Some(v) = value {
            body.insert(key.into(), v.clone().into());
        }
    }
    if !contact.attributes.is_empty() {
        let properties: Vec<Value> = contact
            .attributes
            .iter()
            .map(|(name, value)| json!({"name": name, "value": value}))
            .collect();
        body.insert("properties".into(), properties.into());
    }
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_carries_what_the_change_has_and_properties_by_name() {
        let mut contact = ChatContact {
            email: Some("ada@example.com".into()),
            last_name: Some("Lovelace".into()),
            ..ChatContact::default()
        };
        contact
            .attributes
            .insert("plan".into(), Some("gold".into()));
        contact.attributes.insert("old".into(), None);
        assert_eq!(
            contact_body(&contact),
            json!({"email": "ada@example.com", "last_name": "Lovelace",
                "properties": [{"name": "old", "value": null}, {"name": "plan", "value": "gold"}]})
        );
    }
}
