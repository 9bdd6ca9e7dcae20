//! In-memory records. Deleted records stay (IsDeleted) so queryAll and ENTITY_IS_DELETED work.

use crate::ids;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct Record {
    pub sobject: String,
    pub fields: Map<String, Value>,
    pub deleted: bool,
}

impl Record {
    pub fn id(&self) -> &str {
        self.fields.get("Id").and_then(Value::as_str).unwrap_or("")
    }

    pub fn get(&self, field: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.fields.get(field).unwrap_or(&NULL)
    }

    pub fn url(&self, version: &str) -> String {
        format!(
            "/services/data/v{version}/sobjects/{}/{}",
            self.sobject,
            self.id()
        )
    }

    pub fn attributes(&self, version: &str) -> Value {
        json!({"type": self.sobject, "url": self.url(version)})
    }

    /// The record as GET /sobjects returns it: attributes first, then every field.
    pub fn to_json(&self, version: &str) -> Value {
        let mut out = Map::new();
        out.insert("attributes".into(), self.attributes(version));
        for (k, v) in &self.fields {
            out.insert(k.clone(), v.clone());
        }
        Value::Object(out)
    }
}

/// All records, in insertion order, with an index by 18-character id.
#[derive(Debug, Clone, Default)]
pub struct Store {
    records: Vec<Record>,
    index: HashMap<String, usize>,
    serial: u64,
    pub case_number: u64,
}

impl Store {
    pub fn next_id(&mut self, prefix: &str) -> String {
        self.serial += 1;
        // Offset the serial so ids do not look like all-zero placeholders.
        ids::make_id(prefix, 1_000_000 + self.serial)
    }

    pub fn insert(&mut self, record: Record) {
        let id = record.id().to_string();
        self.index.insert(id, self.records.len());
        self.records.push(record);
    }

    /// Looks a record up by any well-formed 15- or 18-character id.
    pub fn get(&self, id: &str) -> Option<&Record> {
        let id = ids::normalize(id)?;
        self.index.get(&id).and_then(|i| self.records.get(*i))
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Record> {
        let id = ids::normalize(id)?;
        let i = *self.index.get(&id)?;
        self.records.get_mut(i)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    /// Records of one object type, live ones only unless `include_deleted`.
    pub fn list<'a>(
        &'a self,
        sobject: &'a str,
        include_deleted: bool,
    ) -> impl Iterator<Item = &'a Record> + 'a {
        self.records.iter().filter(move |r| {
            r.sobject.eq_ignore_ascii_case(sobject) && (include_deleted || !r.deleted)
        })
    }
}
