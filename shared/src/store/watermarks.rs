//! The watermarks table (docs/ARCHITECTURE.md, "State"): per Salesforce record and field, the hash of the value
//! chatsync last wrote and the stamp of the event it came from. The mark keeps the value too
//! (a mapped e-mail or phone, for the sync log's "both values"), so with a sealer it is
//! stored sealed (`sealed_mark`); marks stored in clear before are still read.
//!
//! Keys: `pk = tenant#SObject#record id`, `sk = field`.

use super::StoreError;
use super::sealed_attr::{self, Names};
use crate::mapping::state::{RecordWatermarks, Watermark};
use crate::seal::Sealer;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::sync::Arc;
use time::OffsetDateTime;

/// A record untouched this long has no watermark left: the next write sends its fields again.
const KEEP_DAYS: i64 = 180;
const MARK: Names = Names {
    plain: "mark",
    sealed: "sealed_mark",
};

#[derive(Debug, Clone)]
pub struct Watermarks {
    client: Client,
    table: String,
    sealer: Option<Arc<Sealer>>,
}

fn pk(tenant: &str, sobject: &str, id: &str) -> String {
    format!("{tenant}#{sobject}#{id}")
}

fn corrupt(reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        what: "watermark",
        reason: reason.into(),
    }
}

impl Watermarks {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            sealer: None,
        }
    }

    /// Marks are stored sealed from now on.
    pub fn sealed(mut self, sealer: Arc<Sealer>) -> Self {
        self.sealer = Some(sealer);
        self
    }

    /// Every field's watermark of one record.
    pub async fn load(
        &self,
        tenant: &str,
        sobject: &str,
        id: &str,
    ) -> Result<RecordWatermarks, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", AttributeValue::S(pk(tenant, sobject, id)))
            .consistent_read(true);
        let mut out = RecordWatermarks::new();
        for item in super::query_items(query, usize::MAX).await? {
            let field = item
                .get("sk")
                .and_then(|v| v.as_s().ok())
                .ok_or_else(|| corrupt("no field name"))?;
            let context = format!("{}#{field}", pk(tenant, sobject, id));
            let text = sealed_attr::open(self.sealer.as_deref(), tenant, &context, &item, MARK)
                .await?
                .ok_or_else(|| corrupt("no mark"))?;
            let mark: Watermark =
                serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
            out.insert(field.clone(), mark);
        }
        Ok(out)
    }

    /// Saves watermarks of one record, replacing those of the same fields.
    pub async fn save(
        &self,
        tenant: &str,
        sobject: &str,
        id: &str,
        marks: &[(String, Watermark)],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let expires = AttributeValue::N((now.unix_timestamp() + KEEP_DAYS * 86_400).to_string());
        // Last one wins when a field appears twice.
        let mut latest: HashMap<&str, &Watermark> = HashMap::new();
        for (field, mark) in marks {
            latest.insert(field.as_str(), mark);
        }
        let mut items = Vec::with_capacity(latest.len());
        for (field, mark) in latest {
            let text = serde_json::to_string(mark).map_err(|e| corrupt(e.to_string()))?;
            let key = pk(tenant, sobject, id);
            let context = format!("{key}#{field}");
            let (attribute, text) =
                sealed_attr::seal(self.sealer.as_deref(), tenant, &context, text, MARK).await?;
            items.push(HashMap::from([
                ("pk".to_owned(), AttributeValue::S(key)),
                ("sk".to_owned(), AttributeValue::S(field.to_owned())),
                (attribute.to_owned(), text),
                ("expires_at".to_owned(), expires.clone()),
            ]));
        }
        super::batch_put(&self.client, &self.table, items).await?;
        Ok(())
    }
}
