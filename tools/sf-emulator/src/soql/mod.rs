//! SOQL: tokenizer, recursive-descent parser to an AST, and an evaluator over the store.
//! Errors carry the column, because Salesforce's messages point at it with a caret.

pub(crate) mod eval;
pub(crate) mod lexer;
pub(crate) mod parser;
pub(crate) mod restrictions;

use crate::errors::ApiError;

/// A query failure before it is rendered against the query text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code} at column {col}: {detail}")]
pub(crate) struct QueryError {
    pub code: &'static str,
    pub col: usize,
    pub detail: String,
}

impl QueryError {
    pub(crate) fn malformed(col: usize, detail: &str) -> Self {
        Self {
            code: "MALFORMED_QUERY",
            col,
            detail: detail.to_string(),
        }
    }
    pub(crate) fn invalid_field(col: usize, detail: String) -> Self {
        Self {
            code: "INVALID_FIELD",
            col,
            detail,
        }
    }

    /// Salesforce's layout: the query, a caret under the column, the position, then the reason.
    pub(crate) fn into_api_error(self, query: &str) -> ApiError {
        let caret = format!("{}^", " ".repeat(self.col.saturating_sub(1)));
        ApiError::new(
            400,
            self.code,
            format!(
                "\n{query}\n{caret}\nERROR at Row:1:Column:{}\n{}",
                self.col, self.detail
            ),
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldRef {
    /// Path segments as written: `Owner.Email` → ["Owner", "Email"].
    pub path: Vec<String>,
    pub col: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SelectItem {
    Field(FieldRef),
    Count,
    /// A child-relationship subquery, `(SELECT Id FROM Contacts)`: its FROM names the
    /// relationship, not an object.
    Subquery(Box<Query>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Str(String),
    Number(f64),
    Bool(bool),
    Null,
    Date(String),
    DateTime(String),
    /// A relative day (TODAY, YESTERDAY, TOMORROW): a whole day, valid on date and dateTime fields.
    Day(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Like,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp {
        field: FieldRef,
        op: CmpOp,
        value: Literal,
        value_col: usize,
    },
    In {
        field: FieldRef,
        values: Vec<Literal>,
        negated: bool,
        value_col: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OrderItem {
    pub field: FieldRef,
    pub descending: bool,
    pub nulls_last: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Query {
    pub select: Vec<SelectItem>,
    pub from: String,
    pub from_col: usize,
    pub filter: Option<Expr>,
    pub order_by: Vec<OrderItem>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

/// Parses a query, reporting errors as Salesforce does.
pub(crate) fn parse(query: &str) -> Result<Query, ApiError> {
    const MAX_LEN: usize = 100_000;
    if query.chars().count() > MAX_LEN {
        return Err(ApiError::new(
            400,
            "MALFORMED_QUERY",
            format!("SOQL statements cannot be longer than {MAX_LEN} characters."),
        ));
    }
    lexer::tokenize(query)
        .and_then(|toks| parser::Parser::new(toks).query())
        .map_err(|e| e.into_api_error(query))
}
