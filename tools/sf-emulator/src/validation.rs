//! Validation rules an org admin adds (`POST /__emulator/validation-rules`): one condition on one
//! field of one object. A create or update whose resulting record makes a rule fire is refused
//! with FIELD_CUSTOM_VALIDATION_EXCEPTION and nothing is saved, as Salesforce refuses it.
//!
//! Rules see the record as it would be saved: defaults and derived fields on create, the existing
//! values merged with the new ones on update (so an update of any field is refused while the
//! record breaks a rule, as on the platform).

use crate::errors::ApiError;
use crate::schema::Schema;
use regex::Regex;
use serde_json::{Map, Value, json};

/// What makes a rule fire, evaluated on the field's value after the change.
#[derive(Debug, Clone)]
pub(crate) enum Condition {
    /// The value equals this one (text exactly, numbers numerically, booleans).
    Equals(Value),
    /// `true`: the value is blank (null or ""); `false`: it is not.
    Blank(bool),
    /// The whole value, as text (blank = ""), matches the pattern, like the formula `REGEX()`.
    Matches { pattern: String, regex: Regex },
    /// The value, as text, is none of these (a blank value is none of them).
    NotIn(Vec<String>),
}

#[derive(Debug, Clone)]
pub(crate) struct ValidationRule {
    pub name: String,
    /// The object's API name, as the schema spells it.
    pub object: String,
    pub field: String,
    pub when: Condition,
    pub error_field: Option<String>,
    pub message: String,
}

/// A field value as formula text functions see it.
fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

fn equals(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        // A number given as text (or the other way round) compares as text.
        (Value::Number(_), Value::String(_)) | (Value::String(_), Value::Number(_)) => {
            text(actual) == text(expected)
        }
        (Value::Null, Value::String(s)) | (Value::String(s), Value::Null) => s.is_empty(),
        _ => actual == expected,
    }
}

impl ValidationRule {
    fn fires(&self, fields: &Map<String, Value>) -> bool {
        let value = fields.get(&self.field).unwrap_or(&Value::Null);
        match &self.when {
            Condition::Equals(expected) => equals(value, expected),
            Condition::Blank(blank) => is_blank(value) == *blank,
            Condition::Matches { regex, .. } => regex.is_match(&text(value)),
            Condition::NotIn(list) => {
                let t = text(value);
                !list.contains(&t)
            }
        }
    }

    fn error(&self) -> ApiError {
        let fields: Vec<&str> = self.error_field.as_deref().into_iter().collect();
        ApiError::dml(
            "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            self.message.clone(),
            &fields,
        )
    }

    /// The rule as the admin API lists it.
    pub(crate) fn to_json(&self) -> Value {
        let when = match &self.when {
            Condition::Equals(v) => json!({"equals": v}),
            Condition::Blank(b) => json!({"blank": b}),
            Condition::Matches { pattern, .. } => json!({"matches": pattern}),
            Condition::NotIn(list) => json!({"not_in": list}),
        };
        json!({
            "name": self.name,
            "object": self.object,
            "field": self.field,
            "when": when,
            "error_field": self.error_field,
            "message": self.message,
        })
    }
}

/// The first active rule of `object` that the record's resulting values break, as the error to
/// answer with. Rules are checked in the order they were added.
pub(crate) fn check(
    rules: &[ValidationRule],
    object: &str,
    fields: &Map<String, Value>,
) -> Result<(), ApiError> {
    match rules.iter().find(|r| r.object == object && r.fires(fields)) {
        Some(rule) => Err(rule.error()),
        None => Ok(()),
    }
}

fn parse_condition(when: &Value) -> Result<Condition, String> {
    let Some(map) = when.as_object() else {
        return Err("\"when\" must be an object with one of equals, blank, matches, not_in".into());
    };
    if map.len() != 1 {
        return Err(format!(
            "\"when\" must have exactly one of equals, blank, matches, not_in (found {})",
            map.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    let Some((key, value)) = map.iter().next() else {
        return Err("\"when\" is empty".into());
    };
    match key.as_str() {
        "equals" => match value {
            Value::Array(_) | Value::Object(_) => {
                Err("\"equals\" must be a string, number, boolean or null".into())
            }
            v => Ok(Condition::Equals(v.clone())),
        },
        "blank" => value
            .as_bool()
            .map(Condition::Blank)
            .ok_or_else(|| "\"blank\" must be true or false".into()),
        "matches" => {
            let pattern = value
                .as_str()
                .ok_or("\"matches\" must be a regular expression string")?;
            // REGEX() in formulas matches the whole text.
            let regex = Regex::new(&format!("^(?:{pattern})$"))
                .map_err(|e| format!("\"matches\" is not a valid regular expression: {e}"))?;
            Ok(Condition::Matches {
                pattern: pattern.to_string(),
                regex,
            })
        }
        "not_in" => {
            let list = value
                .as_array()
                .filter(|l| !l.is_empty())
                .ok_or("\"not_in\" must be a non-empty array of strings")?;
            list.iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| "\"not_in\" must be a non-empty array of strings".into())
                })
                .collect::<Result<Vec<_>, String>>()
                .map(Condition::NotIn)
        }
        other => Err(format!(
            "unknown condition \"{other}\"; use equals, blank, matches or not_in"
        )),
    }
}

fn required_str<'a>(map: &'a Map<String, Value>, key: &str) -> Result<&'a str, String> {
    match map.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(_) => Err(format!("\"{key}\" must be a non-empty string")),
        None => Err(format!("\"{key}\" is required")),
    }
}

/// Reads one rule definition, checking the object and fields against the org's schema.
pub(crate) fn parse_rule(schema: &Schema, def: &Value) -> Result<ValidationRule, String> {
    let Some(map) = def.as_object() else {
        return Err("a validation rule must be a JSON object".into());
    };
    const KEYS: [&str; 6] = ["object", "name", "field", "when", "error_field", "message"];
    if let Some(k) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(format!(
            "unknown key \"{k}\"; a rule has {}",
            KEYS.join(", ")
        ));
    }
    let name = required_str(map, "name")?;
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "rule name \"{name}\" may contain only letters, digits and underscores"
        ));
    }
    let object_name = required_str(map, "object")?;
    let obj = schema
        .object(object_name)
        .ok_or_else(|| format!("unknown sObject \"{object_name}\""))?;
    let field_of = |key: &str, f: &str| {
        obj.field(f)
            .map(|d| d.name.clone())
            .ok_or_else(|| format!("\"{key}\": no field \"{f}\" on {}", obj.name))
    };
    let field = field_of("field", required_str(map, "field")?)?;
    let error_field = match map.get("error_field") {
        None | Some(Value::Null) => None,
        Some(Value::String(f)) => Some(field_of("error_field", f)?),
        Some(_) => return Err("\"error_field\" must be a field name or null".into()),
    };
    let when = parse_condition(map.get("when").ok_or("\"when\" is required")?)?;
    let message = required_str(map, "message")?;
    Ok(ValidationRule {
        name: name.to_string(),
        object: obj.name.clone(),
        field,
        when,
        error_field,
        message: message.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(when: Value) -> ValidationRule {
        let schema = Schema::standard();
        parse_rule(
            &schema,
            &json!({"object": "case", "name": "R", "field": "priority", "when": when, "message": "m"}),
        )
        .expect("valid rule")
    }

    fn record(priority: Value) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("Priority".into(), priority);
        m
    }

    #[test]
    fn names_are_canonical() {
        let r = rule(json!({"equals": "High"}));
        assert_eq!((r.object.as_str(), r.field.as_str()), ("Case", "Priority"));
    }

    #[test]
    fn conditions() {
        let eq = rule(json!({"equals": "High"}));
        assert!(eq.fires(&record(json!("High"))));
        assert!(!eq.fires(&record(json!("high"))));
        let blank = rule(json!({"blank": true}));
        assert!(blank.fires(&record(Value::Null)) && blank.fires(&record(json!(""))));
        assert!(!blank.fires(&record(json!("Low"))));
        let m = rule(json!({"matches": "H.*"}));
        assert!(m.fires(&record(json!("High"))));
        assert!(
            !m.fires(&record(json!("xHigh"))),
            "the whole value must match"
        );
        let not_in = rule(json!({"not_in": ["Low", "Medium"]}));
        assert!(not_in.fires(&record(json!("High"))));
        assert!(not_in.fires(&record(Value::Null)));
        assert!(!not_in.fires(&record(json!("Low"))));
    }

    #[test]
    fn bad_definitions_say_why() {
        let schema = Schema::standard();
        let bad = |def: Value| parse_rule(&schema, &def).err().unwrap_or_default();
        let base = json!({"object": "Case", "name": "R", "field": "Priority", "message": "m"});
        let with = |k: &str, v: Value| {
            let mut d = base.clone();
            d[k] = v;
            d
        };
        assert!(bad(base.clone()).contains("\"when\" is required"));
        assert!(bad(with("when", json!({"matches": "("}))).contains("regular expression"));
        assert!(bad(with("when", json!({"equals": 1, "blank": true}))).contains("exactly one"));
        assert!(bad(with("when", json!({"not_in": []}))).contains("non-empty"));
        assert!(bad(with("object", json!("Nope"))).contains("unknown sObject"));
        assert!(bad(with("field", json!("Nope"))).contains("no field"));
        assert!(bad(with("colour", json!("red"))).contains("unknown key"));
    }
}
