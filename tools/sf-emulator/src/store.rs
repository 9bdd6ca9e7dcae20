//! In-memory records. Deleted records stay (IsDeleted) so queryAll and ENTITY_IS_DELETED work.

use crate::ids;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// Binary content of a base64 field (ContentVersion.VersionData), kept out of `fields` so records
/// stay small to render; shared so all-or-none snapshots do not copy megabytes.
#[derive(Debug, Clone)]
pub(crate) struct Blob {
    pub field: String,
    pub data: Arc<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub sobject: String,
    pub fields: Map<String, Value>,
    pub deleted: bool,
    pub blob: Option<Blob>,
}

impl Record {
    pub(crate) fn id(&self) -> &str {
        self.fields.get("Id").and_then(Value::as_str).unwrap_or("")
    }

    pub(crate) fn get(&self, field: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.fields.get(field).unwrap_or(&NULL)
    }

    pub(crate) fn url(&self, version: &str) -> String {
        format!(
            "/services/data/v{version}/sobjects/{}/{}",
            self.sobject,
            self.id()
        )
    }

    pub(crate) fn attributes(&self, version: &str) -> Value {
        json!({"type": self.sobject, "url": self.url(version)})
    }

    /// A field's value as the API renders it: a blob field is the URL its bytes are served at
    /// (`/services/data/v62.0/sobjects/ContentVersion/068…/VersionData`), never the bytes.
    pub(crate) fn render(&self, field: &str, version: &str) -> Value {
        match &self.blob {
            Some(b) if b.field == field => {
                Value::String(format!("{}/{}", self.url(version), b.field))
            }
            _ => self.get(field).clone(),
        }
    }

    /// The record as GET /sobjects returns it: attributes first, then every field.
    pub(crate) fn to_json(&self, version: &str) -> Value {
        let mut out = Map::new();
        out.insert("attributes".into(), self.attributes(version));
        for k in self.fields.keys() {
            out.insert(k.clone(), self.render(k, version));
        }
        Value::Object(out)
    }
}

/// All records, in insertion order, with an index by 18-character id.
#[derive(Debug, Clone, Default)]
pub(crate) struct Store {
    records: Vec<Record>,
    index: HashMap<String, usize>,
    serial: u64,
    /// Every client save (create or update), in order: what outbound messages are made of.
    pub(crate) saves: Vec<Saved>,
    /// Last number handed out per auto-number field, keyed `Object.Field`.
    auto_numbers: HashMap<String, u64>,
}

/// One client save of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Saved {
    pub sobject: String,
    pub id: String,
    /// The user the save ran as.
    pub user_id: String,
}

impl Store {
    pub(crate) fn next_id(&mut self, prefix: &str) -> String {
        self.serial += 1;
        // Offset the serial so ids do not look like all-zero placeholders.
        ids::make_id(prefix, 1_000_000 + self.serial)
    }

    /// The next number of an auto-number field, from `start`.
    pub(crate) fn next_auto_number(&mut self, key: &str, start: u64) -> u64 {
        let n = self
            .auto_numbers
            .entry(key.to_string())
            .and_modify(|n| *n += 1)
            .or_insert(start);
        *n
    }

    pub(crate) fn insert(&mut self, record: Record) {
        let id = record.id().to_string();
        self.index.insert(id, self.records.len());
        self.records.push(record);
    }

    /// Looks a record up by any well-formed 15- or 18-character id.
    pub(crate) fn get(&self, id: &str) -> Option<&Record> {
        let id = ids::normalize(id)?;
        self.index.get(&id).and_then(|i| self.records.get(*i))
    }

    pub(crate) fn get_mut(&mut self, id: &str) -> Option<&mut Record> {
        let id = ids::normalize(id)?;
        let i = *self.index.get(&id)?;
        self.records.get_mut(i)
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    /// Records of one object type, live ones only unless `include_deleted`.
    pub(crate) fn list<'a>(
        &'a self,
        sobject: &'a str,
        include_deleted: bool,
    ) -> impl Iterator<Item = &'a Record> + 'a {
        self.records.iter().filter(move |r| {
            r.sobject.eq_ignore_ascii_case(sobject) && (include_deleted || !r.deleted)
        })
    }
}
