//! The REST operations on a tenant's org: sObject rows, upsert by external id, SOQL with
//! paging, SOSL, describe, limits, composite and sObject Collections.

use super::client::{Call, Org};
use super::collections::{self, SaveResult};
use super::composite::{CompositeRequest, CompositeResponse, encode_component};
use super::describe::SObjectDescribe;
use super::error::SalesforceError;
use super::soql::check_identifier;
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

/// Result of an upsert by external id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpsertOutcome {
    /// Absent only for the bodiless 204 of API versions up to 45.0.
    pub id: Option<String>,
    pub created: bool,
}

/// One page of SOQL results.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryPage {
    pub total_size: u64,
    pub done: bool,
    #[serde(default)]
    pub next_records_url: Option<String>,
    #[serde(default)]
    pub records: Vec<Value>,
}

/// The answer of [`Org::updated`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Updated {
    pub ids: Vec<String>,
    pub latest_date_covered: String,
}

impl Org {
    fn record_path(sobject: &str, id: &str) -> Result<String, SalesforceError> {
        Ok(format!(
            "sobjects/{}/{}",
            check_identifier(sobject)?,
            encode_component(id)
        ))
    }

    /// Creates a record; returns its id.
    pub async fn create(&self, sobject: &str, fields: &Value) -> Result<String, SalesforceError> {
        let path = format!("sobjects/{}", check_identifier(sobject)?);
        let answer = self
            .execute(&Call::new(Method::POST, path).body(fields))
            .await?;
        let result: Value = answer.json()?;
        result
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(SalesforceError::InvalidResponse {
                status: answer.status,
                reason: "create answer without id".into(),
            })
    }

    /// Reads a record; `fields` empty means all fields.
    pub async fn get(
        &self,
        sobject: &str,
        id: &str,
        fields: &[&str],
    ) -> Result<Value, SalesforceError> {
        let mut call = Call::new(Method::GET, Self::record_path(sobject, id)?);
        if !fields.is_empty() {
            for f in fields {
                check_identifier(f)?;
            }
            call.query.push(("fields", fields.join(",")));
        }
        self.execute(&call).await?.json()
    }

    pub async fn update(
        &self,
        sobject: &str,
        id: &str,
        fields: &Value,
    ) -> Result<(), SalesforceError> {
        let call = Call::new(Method::PATCH, Self::record_path(sobject, id)?).body(fields);
        self.execute(&call).await.map(drop)
    }

    pub async fn delete(&self, sobject: &str, id: &str) -> Result<(), SalesforceError> {
        let call = Call::new(Method::DELETE, Self::record_path(sobject, id)?);
        self.execute(&call).await.map(drop)
    }

    /// Upsert by external id: 201 created, 200 (v46+) or 204 (≤v45) updated; several matches
    /// give [`SalesforceError::Ambiguous`] with the candidates' URLs.
    pub async fn upsert(
        &self,
        sobject: &str,
        external_id_field: &str,
        external_id: &str,
        fields: &Value,
    ) -> Result<UpsertOutcome, SalesforceError> {
        let path = format!(
            "sobjects/{}/{}/{}",
            check_identifier(sobject)?,
            check_identifier(external_id_field)?,
            encode_component(external_id)
        );
        let answer = self
            .execute(&Call::new(Method::PATCH, path).body(fields))
            .await?;
        if answer.status == 204 || answer.body.trim().is_empty() {
            return Ok(UpsertOutcome {
                id: None,
                created: false,
            });
        }
        let result: Value = answer.json()?;
        Ok(UpsertOutcome {
            id: result.get("id").and_then(Value::as_str).map(str::to_owned),
            created: result
                .get("created")
                .and_then(Value::as_bool)
                .unwrap_or(answer.status == 201),
        })
    }

    /// The ids of `sobject` records changed in `[start, end)` (`GET sobjects/{type}/updated/`,
    /// REST API "Get Updated": times rounded down to the minute, at most 30 days back, at most
    /// 600,000 ids); `latestDateCovered` is where the next window starts.
    pub async fn updated(
        &self,
        sobject: &str,
        start: time::OffsetDateTime,
        end: time::OffsetDateTime,
    ) -> Result<Updated, SalesforceError> {
        let mut call = Call::new(
            Method::GET,
            format!("sobjects/{}/updated/", check_identifier(sobject)?),
        );
        call.query.push(("start", super::datetime::render(start)));
        call.query.push(("end", super::datetime::render(end)));
        self.execute(&call).await?.json()
    }

    /// The first page of a SOQL query (build the text with [`super::soql::Soql`]).
    pub async fn query(&self, soql: &str) -> Result<QueryPage, SalesforceError> {
        let mut call = Call::new(Method::GET, "query".into());
        call.query.push(("q", soql.to_owned()));
        self.execute(&call).await?.json()
    }

    /// The page at a `nextRecordsUrl`.
    pub async fn query_more(&self, next_records_url: &str) -> Result<QueryPage, SalesforceError> {
        // Only follow paths on the org itself: the bearer token must not go anywhere else.
        if !next_records_url.starts_with("/services/data/") {
            return Err(SalesforceError::InvalidResponse {
                status: 200,
                reason: format!("unexpected nextRecordsUrl {next_records_url:?}"),
            });
        }
        let call = Call::new(Method::GET, next_records_url.to_owned());
        self.execute(&call).await?.json()
    }

    /// Every record of a query, following `nextRecordsUrl` until `done`.
    pub async fn query_all(&self, soql: &str) -> Result<Vec<Value>, SalesforceError> {
        let mut page = self.query(soql).await?;
        let mut records = std::mem::take(&mut page.records);
        while !page.done {
            let Some(next) = page.next_records_url.take() else {
                return Err(SalesforceError::InvalidResponse {
                    status: 200,
                    reason: "query page not done but without nextRecordsUrl".into(),
                });
            };
            page = self.query_more(&next).await?;
            records.append(&mut page.records);
        }
        Ok(records)
    }

    /// A SOSL search (build the text with [`super::soql::Sosl`]); returns the matched records.
    pub async fn search(&self, sosl: &str) -> Result<Vec<Value>, SalesforceError> {
        let mut call = Call::new(Method::GET, "search".into());
        call.query.push(("q", sosl.to_owned()));
        let answer = self.execute(&call).await?;
        match answer.json::<Value>()? {
            Value::Object(mut obj) => match obj.remove("searchRecords") {
                Some(Value::Array(records)) => Ok(records),
                _ => Ok(Vec::new()),
            },
            // Very old API versions answered with a bare array.
            Value::Array(records) => Ok(records),
            _ => Err(SalesforceError::InvalidResponse {
                status: answer.status,
                reason: "search answer is neither an object nor an array".into(),
            }),
        }
    }

    pub async fn describe(&self, sobject: &str) -> Result<SObjectDescribe, SalesforceError> {
        let path = format!("sobjects/{}/describe", check_identifier(sobject)?);
        self.execute(&Call::new(Method::GET, path)).await?.json()
    }

    /// `GET /limits`, as Salesforce returns it (`{"DailyApiRequests":{"Max","Remaining"},…}`).
    pub async fn limits(&self) -> Result<Value, SalesforceError> {
        self.execute(&Call::new(Method::GET, "limits".into()))
            .await?
            .json()
    }

    /// Sends a composite request (one API call). The top-level answer is 200 whenever the request
    /// was well formed; look at [`CompositeResponse::first_failure`] for subrequest failures.
    pub async fn composite(
        &self,
        request: &CompositeRequest,
    ) -> Result<CompositeResponse, SalesforceError> {
        if request.is_empty() {
            return Err(SalesforceError::InvalidRequest(
                "empty composite request".into(),
            ));
        }
        let body = request.body(self.duplicate_rule_header.as_deref());
        let mut call = Call::new(Method::POST, "composite".into()).body(&body);
        call.owner_set = request.sets_owner();
        self.execute(&call).await?.json()
    }

    pub async fn collection_create(
        &self,
        all_or_none: bool,
        records: &[Value],
    ) -> Result<Vec<SaveResult>, SalesforceError> {
        let body = collections::records_body(all_or_none, records, false)?;
        self.send_collection(Method::POST, "composite/sobjects".into(), &body, records)
            .await
    }

    /// Every record needs `attributes.type` and `id`.
    pub async fn collection_update(
        &self,
        all_or_none: bool,
        records: &[Value],
    ) -> Result<Vec<SaveResult>, SalesforceError> {
        let body = collections::records_body(all_or_none, records, true)?;
        self.send_collection(Method::PATCH, "composite/sobjects".into(), &body, records)
            .await
    }

    /// Upsert of one sObject type by external id; results carry `created`.
    pub async fn collection_upsert(
        &self,
        sobject: &str,
        external_id_field: &str,
        all_or_none: bool,
        records: &[Value],
    ) -> Result<Vec<SaveResult>, SalesforceError> {
        let path = format!(
            "composite/sobjects/{}/{}",
            check_identifier(sobject)?,
            check_identifier(external_id_field)?
        );
        let body = collections::records_body(all_or_none, records, false)?;
        self.send_collection(Method::PATCH, path, &body, records)
            .await
    }

    pub async fn collection_delete(
        &self,
        all_or_none: bool,
        ids: &[String],
    ) -> Result<Vec<SaveResult>, SalesforceError> {
        let mut call = Call::new(Method::DELETE, "composite/sobjects".into());
        call.query = collections::delete_query(all_or_none, ids)?;
        let answer = self.execute(&call).await?;
        collections::parse_save_results(&answer.json()?)
    }

    async fn send_collection(
        &self,
        method: Method,
        path: String,
        body: &Value,
        records: &[Value],
    ) -> Result<Vec<SaveResult>, SalesforceError> {
        let mut call = Call::new(method, path).body(body);
        call.owner_set = collections::any_sets_owner(records);
        let answer = self.execute(&call).await?;
        collections::parse_save_results(&answer.json()?)
    }
}
