//! Intercom's REST API, as far as chatsync uses it, with `Authorization: Bearer <access token>`
//! and the `Intercom-Version` header: `GET {base}/contacts/{id}` (the contact object: `id`,
//! `external_id`, `email`, `phone`, `name`, `role`), `GET {base}/admins/{id}` (the admin:
//! `id`, `name`, `email`; intercom/Intercom-OpenAPI `descriptions/2.11`) and
//! `GET {base}/teams/{id}` (the team: `id`, `name`, `admin_ids`;
//! <https://developers.intercom.com/docs/references/2.12/rest-api/api.intercom.io/teams/retrieveteam>).

use super::API_VERSION;
use crate::event::{Agent, Platform, Team, Visitor};
use crate::platforms::api::{self, Api, Auth, EnrichError, clean};
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
