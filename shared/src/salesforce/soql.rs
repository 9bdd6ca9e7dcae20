//! SOQL and SOSL text built from untrusted values without injection.
//!
//! Values come from chat visitors (emails, phone numbers, names). Every value goes through an
//! escaping function and every identifier through a strict check, so no input can close a quote,
//! a brace or add a clause.

use super::error::SalesforceError;

/// Escapes text for use inside a SOQL single-quoted literal (without the quotes).
///
/// Backslash and both quotes are backslash-escaped; newline, carriage return, tab, backspace and
/// form feed use their escape sequences. Other control characters have no SOQL escape, so they
/// are refused rather than silently dropped (dropping could make a value match someone else).
pub fn escape_soql(value: &str) -> Result<String, SalesforceError> {
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => {
                return Err(SalesforceError::InvalidRequest(format!(
                    "SOQL value contains control character U+{:04X}",
                    u32::from(c)
                )));
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// A complete quoted SOQL string literal: `'…'`.
pub fn soql_string(value: &str) -> Result<String, SalesforceError> {
    Ok(format!("'{}'", escape_soql(value)?))
}

/// Checks an object, field or relationship path (`Owner.Email`, `Chat_Id__c`).
pub(crate) fn check_identifier(name: &str) -> Result<&str, SalesforceError> {
    let ok = !name.is_empty()
        && name.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    if ok {
        Ok(name)
    } else {
        Err(SalesforceError::InvalidRequest(format!(
            "not a Salesforce identifier: {name:?}"
        )))
    }
}

/// A value on the right-hand side of a SOQL comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum SoqlValue {
    Text(String),
    Bool(bool),
    Int(i64),
    Null,
}

impl SoqlValue {
    fn render(&self) -> Result<String, SalesforceError> {
        Ok(match self {
            Self::Text(s) => soql_string(s)?,
            Self::Bool(b) => b.to_string(),
            Self::Int(i) => i.to_string(),
            Self::Null => "null".to_owned(),
        })
    }
}

impl From<&str> for SoqlValue {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}
impl From<String> for SoqlValue {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}
impl From<&String> for SoqlValue {
    fn from(v: &String) -> Self {
        Self::Text(v.clone())
    }
}
impl From<bool> for SoqlValue {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}
impl From<i64> for SoqlValue {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}

#[derive(Debug, Clone)]
enum Condition {
    Eq(String, SoqlValue),
    In(String, Vec<SoqlValue>),
}

/// A small SELECT builder: fields, one object, AND-ed equality / IN conditions, ORDER BY, LIMIT.
///
/// `Soql::select(&["Id", "Email"]).from("Contact").where_eq("Email", email).limit(5).build()`
#[derive(Debug, Clone, Default)]
pub struct Soql {
    fields: Vec<String>,
    object: String,
    conditions: Vec<Condition>,
    order_by: Vec<(String, bool)>,
    limit: Option<u32>,
}

impl Soql {
    pub fn select(fields: &[&str]) -> Self {
        Self {
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            ..Self::default()
        }
    }

    pub fn from(mut self, object: &str) -> Self {
        object.clone_into(&mut self.object);
        self
    }

    /// `field = value`, AND-ed with the other conditions.
    pub fn where_eq(mut self, field: &str, value: impl Into<SoqlValue>) -> Self {
        self.conditions
            .push(Condition::Eq(field.to_owned(), value.into()));
        self
    }

    /// `field IN (values…)`, AND-ed with the other conditions. An empty list fails at `build`.
    pub fn where_in<V: Into<SoqlValue>>(
        mut self,
        field: &str,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        let values = values.into_iter().map(Into::into).collect();
        self.conditions
            .push(Condition::In(field.to_owned(), values));
        self
    }

    pub fn order_by(mut self, field: &str, descending: bool) -> Self {
        self.order_by.push((field.to_owned(), descending));
        self
    }

    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// The query text; fails on a bad identifier, an empty IN list or an unescapable value.
    pub fn build(&self) -> Result<String, SalesforceError> {
        if self.fields.is_empty() {
            return Err(SalesforceError::InvalidRequest(
                "SOQL needs at least one field".into(),
            ));
        }
        let fields = self
            .fields
            .iter()
            .map(|f| check_identifier(f))
            .collect::<Result<Vec<_>, _>>()?;
        let mut q = format!(
            "SELECT {} FROM {}",
            fields.join(", "),
            check_identifier(&self.object)?
        );
        for (i, cond) in self.conditions.iter().enumerate() {
            q.push_str(if i == 0 { " WHERE " } else { " AND " });
            match cond {
                Condition::Eq(field, value) => {
                    q.push_str(check_identifier(field)?);
                    q.push_str(" = ");
                    q.push_str(&value.render()?);
                }
                Condition::In(field, values) => {
                    if values.is_empty() {
                        return Err(SalesforceError::InvalidRequest(format!(
                            "empty IN list for {field}"
                        )));
                    }
                    let rendered = values
                        .iter()
                        .map(SoqlValue::render)
                        .collect::<Result<Vec<_>, _>>()?;
                    q.push_str(check_identifier(field)?);
                    q.push_str(" IN (");
                    q.push_str(&rendered.join(", "));
                    q.push(')');
                }
            }
        }
        for (i, (field, descending)) in self.order_by.iter().enumerate() {
            q.push_str(if i == 0 { " ORDER BY " } else { ", " });
            q.push_str(check_identifier(field)?);
            q.push_str(if *descending { " DESC" } else { " ASC" });
        }
        if let Some(limit) = self.limit {
            q.push_str(&format!(" LIMIT {limit}"));
        }
        Ok(q)
    }
}

/// Characters with a meaning in a SOSL search term; each is escaped with a backslash.
const SOSL_RESERVED: &[char] = &[
    '?', '&', '|', '!', '{', '}', '[', ']', '(', ')', '^', '~', '*', ':', '\\', '"', '\'', '+', '-',
];

/// Escapes a SOSL search term (the text between `FIND {` and `}`).
/// Control characters become spaces: a search term has no use for them and they cannot be escaped.
pub fn escape_sosl(term: &str) -> String {
    let mut out = String::with_capacity(term.len() + 8);
    for c in term.chars() {
        if SOSL_RESERVED.contains(&c) {
            out.push('\\');
            out.push(c);
        } else if c.is_control() {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// Which fields a SOSL search looks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchGroup {
    All,
    Name,
    Email,
    Phone,
}

impl SearchGroup {
    fn keyword(self) -> &'static str {
        match self {
            Self::All => "ALL FIELDS",
            Self::Name => "NAME FIELDS",
            Self::Email => "EMAIL FIELDS",
            Self::Phone => "PHONE FIELDS",
        }
    }
}

/// `FIND {term} IN <group> RETURNING Object(fields…), …`, e.g. one call that looks for a visitor
/// among Leads and Contacts at once.
#[derive(Debug, Clone)]
pub struct Sosl {
    term: String,
    group: SearchGroup,
    returning: Vec<(String, Vec<String>)>,
    limit: Option<u32>,
}

impl Sosl {
    pub fn find(term: &str, group: SearchGroup) -> Self {
        Self {
            term: term.to_owned(),
            group,
            returning: Vec::new(),
            limit: None,
        }
    }

    pub fn returning(mut self, object: &str, fields: &[&str]) -> Self {
        self.returning.push((
            object.to_owned(),
            fields.iter().map(|f| (*f).to_owned()).collect(),
        ));
        self
    }

    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn build(&self) -> Result<String, SalesforceError> {
        if self.term.trim().is_empty() {
            return Err(SalesforceError::InvalidRequest(
                "empty SOSL search term".into(),
            ));
        }
        let mut q = format!(
            "FIND {{{}}} IN {}",
            escape_sosl(&self.term),
            self.group.keyword()
        );
        for (i, (object, fields)) in self.returning.iter().enumerate() {
            q.push_str(if i == 0 { " RETURNING " } else { ", " });
            q.push_str(check_identifier(object)?);
            if !fields.is_empty() {
                let fields = fields
                    .iter()
                    .map(|f| check_identifier(f))
                    .collect::<Result<Vec<_>, _>>()?;
                q.push('(');
                q.push_str(&fields.join(", "));
                q.push(')');
            }
        }
        if let Some(limit) = self.limit {
            q.push_str(&format!(" LIMIT {limit}"));
        }
        Ok(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walks a SOQL string the way Salesforce's lexer does and returns the text outside literals,
    /// so tests can prove no input escapes its quotes.
    fn outside_literals(q: &str) -> String {
        let mut out = String::new();
        let mut chars = q.chars();
        let mut in_lit = false;
        while let Some(c) = chars.next() {
            if in_lit {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '\'' => {
                        in_lit = false;
                        out.push('\'');
                    }
                    _ => {}
                }
            } else {
                if c == '\'' {
                    in_lit = true;
                }
                out.push(c);
            }
        }
        assert!(!in_lit, "unterminated literal in {q}");
        out
    }

    #[test]
    fn escapes_quotes_and_backslashes() {
        assert_eq!(escape_soql("O'Brien").unwrap(), "O\\'Brien");
        assert_eq!(escape_soql("a\\b").unwrap(), "a\\\\b");
        assert_eq!(escape_soql("say \"hi\"").unwrap(), "say \\\"hi\\\"");
        assert_eq!(escape_soql("l1\nl2\r\tx").unwrap(), "l1\\nl2\\r\\tx");
        assert_eq!(escape_soql("ünïcødé@例え.jp").unwrap(), "ünïcødé@例え.jp");
    }

    #[test]
    fn hostile_values_stay_inside_their_literal() {
        let hostile = [
            "x' OR Email != '",
            "x\\' OR Name != null OR Email = '",
            "\\",
            "\\\\'",
            "'; DELETE",
            "' OR '1'='1",
            "a\\\\\\' OR Id != null --",
            "x'\n OR Id != null",
        ];
        for value in hostile {
            let q = Soql::select(&["Id"])
                .from("Contact")
                .where_eq("Email", value)
                .build()
                .unwrap();
            assert_eq!(
                outside_literals(&q),
                "SELECT Id FROM Contact WHERE Email = ''",
                "value {value:?} escaped its literal: {q}"
            );
        }
    }

    #[test]
    fn unescapable_control_characters_are_refused() {
        assert!(escape_soql("a\u{0}b").is_err());
        assert!(escape_soql("a\u{1b}b").is_err());
        let r = Soql::select(&["Id"])
            .from("Lead")
            .where_eq("Email", "a\u{7}")
            .build();
        assert!(matches!(r, Err(SalesforceError::InvalidRequest(_))));
    }

    #[test]
    fn builds_the_identity_lookup() {
        let q = Soql::select(&["Id", "Email", "Owner.Email", "Chat_Id__c"])
            .from("Lead")
            .where_eq("Email", "jane@example.com")
            .where_eq("IsConverted", false)
            .where_in("Status", ["Open", "Working"])
            .order_by("CreatedDate", true)
            .limit(2)
            .build()
            .unwrap();
        assert_eq!(
            q,
            "SELECT Id, Email, Owner.Email, Chat_Id__c FROM Lead WHERE Email = 'jane@example.com' \
             AND IsConverted = false AND Status IN ('Open', 'Working') ORDER BY CreatedDate DESC LIMIT 2"
        );
    }

    #[test]
    fn identifiers_are_checked() {
        for bad in [
            "",
            "Email OR Id",
            "Id,Name",
            "1Id",
            "Owner..Email",
            "Email'",
            "Id)",
        ] {
            let r = Soql::select(&["Id"])
                .from("Lead")
                .where_eq(bad, "x")
                .build();
            assert!(r.is_err(), "identifier {bad:?} accepted");
            assert!(Soql::select(&[bad]).from("Lead").build().is_err());
            assert!(Soql::select(&["Id"]).from(bad).build().is_err());
        }
        assert!(Soql::select(&[]).from("Lead").build().is_err());
        let empty: [&str; 0] = [];
        assert!(
            Soql::select(&["Id"])
                .from("Lead")
                .where_in("Id", empty)
                .build()
                .is_err()
        );
        let q = Soql::select(&["Id"])
            .from("Case")
            .where_eq("ContactId", SoqlValue::Null)
            .where_eq("Count__c", 3)
            .build()
            .unwrap();
        assert_eq!(
            q,
            "SELECT Id FROM Case WHERE ContactId = null AND Count__c = 3"
        );
    }

    #[test]
    fn sosl_escapes_every_reserved_character() {
        let all = "?&|!{}[]()^~*:\\\"'+-";
        let escaped = escape_sosl(all);
        let expected: String = all.chars().flat_map(|c| ['\\', c]).collect();
        assert_eq!(escaped, expected);
        assert_eq!(
            escape_sosl("jane+tag@example.com"),
            "jane\\+tag@example.com"
        );
        assert_eq!(escape_sosl("line\nbreak"), "line break");
    }

    #[test]
    fn sosl_hostile_terms_cannot_close_the_brace() {
        let q = Sosl::find(
            "x} IN ALL FIELDS RETURNING User(Id) //{",
            SearchGroup::Email,
        )
        .returning("Lead", &["Id"])
        .build()
        .unwrap();
        assert_eq!(
            q,
            "FIND {x\\} IN ALL FIELDS RETURNING User\\(Id\\) //\\{} IN EMAIL FIELDS RETURNING Lead(Id)"
        );
        // Exactly one unescaped closing brace: the builder's own.
        let mut unescaped = 0;
        let mut prev_backslash = false;
        for c in q.chars() {
            if c == '}' && !prev_backslash {
                unescaped += 1;
            }
            prev_backslash = c == '\\' && !prev_backslash;
        }
        assert_eq!(unescaped, 1);
    }

    #[test]
    fn sosl_email_and_phone_lookups() {
        let q = Sosl::find("jane@example.com", SearchGroup::Email)
            .returning("Lead", &["Id", "Email", "IsConverted"])
            .returning("Contact", &["Id", "Email"])
            .limit(10)
            .build()
            .unwrap();
        assert_eq!(
            q,
            "FIND {jane@example.com} IN EMAIL FIELDS RETURNING Lead(Id, Email, IsConverted), \
             Contact(Id, Email) LIMIT 10"
        );
        let q = Sosl::find("+1 (555) 123-4567", SearchGroup::Phone)
            .returning("Contact", &["Id"])
            .build()
            .unwrap();
        assert_eq!(
            q,
            "FIND {\\+1 \\(555\\) 123\\-4567} IN PHONE FIELDS RETURNING Contact(Id)"
        );
        assert!(Sosl::find("  ", SearchGroup::Email).build().is_err());
        assert!(
            Sosl::find("x", SearchGroup::Email)
                .returning("Lead(Id)", &[])
                .build()
                .is_err()
        );
    }
}
