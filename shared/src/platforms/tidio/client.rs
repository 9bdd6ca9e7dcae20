//! Tidio's OpenAPI, as far as chatsync uses it: `GET {base}/operators` (the project's operators:
//! `{operators: [{id, name, email, …}]}`, <https://developers.tidio.com/reference/get_operators>),
//! sent with `X-Tidio-Openapi-Client-Id`, `X-Tidio-Openapi-Client-Secret` and the mandatory
//! `Accept: application/json; version=1`
//! (<https://developers.tidio.com/docs/openapi-authorization>,
//! <https://developers.tidio.com/docs/versioning>). Tidio documents no single-operator call, so
//! the list is read whole.

use crate::event::{Agent, Platform};
use crate::platforms::api::{self, Api, Auth, EnrichError};
use crate::secret::Secret;

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
        let url = self.api.url(&["operators"])?;
        let keys = [
            ("X-Tidio-Openapi-Client-Id", client_id),
            ("X-Tidio-Openapi-Client-Secret", client_secret),
        ];
        match self
            .api
            .get(url, Auth::Headers(&keys), &[ACCEPT], "the operator list")
            .await?
        {
            Some(body) => api::parse_agents(Platform::Tidio, &body, "operators"),
            None => Ok(Vec::new()),
        }
    }
}
