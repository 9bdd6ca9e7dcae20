//! respond.io's REST API, as far as chatsync uses it, with `Authorization: Bearer <API token>`:
//! `GET {base}/contact/{identifier}` (identifier `id:123`, `email:…` or `phone:+…`; the body is
//! the contact itself: `id` a number, `firstName`, `lastName`, `email`, `phone`) and
//! `GET {base}/space/user/{id}` (a workspace user: `id`, `firstName`, `lastName`, `email`;
//! respond-io/typescript-sdk `src/clients/space.ts`).

use crate::event::{Agent, Platform, Visitor};
use crate::platforms::api::{self, Api, Auth, EnrichError, clean};
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

/// respond.io names a contact `id:123`, `email:…` or `phone:+…`; a bare id is `id:`.
fn identifier(contact_id: &str) -> String {
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
