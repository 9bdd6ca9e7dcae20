//! SOSL: `FIND {term} [IN EMAIL|PHONE|NAME|ALL FIELDS] RETURNING Obj(fields), …` over the store.
//! Each RETURNING clause reuses the SOQL evaluator, restricted to the ids the search matched.

use crate::errors::ApiError;
use crate::schema::{FieldType, Schema};
use crate::soql::lexer::{Tok, tokenize};
use crate::soql::{self, Expr, FieldRef, Literal, Query, SelectItem};
use crate::store::Store;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Group {
    All,
    Name,
    Email,
    Phone,
}

fn malformed(msg: &str) -> ApiError {
    ApiError::new(400, "MALFORMED_SEARCH", msg)
}

/// Splits `FIND {term} rest` into the unescaped term and the rest.
fn split_term(q: &str) -> Result<(String, &str), ApiError> {
    let trimmed = q.trim_start();
    let head = trimmed.get(..4).unwrap_or("");
    if !head.eq_ignore_ascii_case("FIND") {
        return Err(malformed(
            "No search term found. The search term must be enclosed in braces.",
        ));
    }
    let after = trimmed.get(4..).unwrap_or("").trim_start();
    let Some(body) = after.strip_prefix('{') else {
        return Err(malformed(
            "No search term found. The search term must be enclosed in braces.",
        ));
    };
    let mut term = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, n)) = chars.next() {
                    term.push(n);
                }
            }
            '}' => return Ok((term, body.get(i + 1..).unwrap_or(""))),
            c => term.push(c),
        }
    }
    Err(malformed(
        "No search term found. The search term must be enclosed in braces.",
    ))
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

pub(crate) fn search(
    schema: &Schema,
    store: &Store,
    q: &str,
    version: &str,
) -> Result<Value, ApiError> {
    let (term, rest) = split_term(q)?;
    let term = term.trim().trim_matches('"').replace('*', "");
    if term.chars().count() < 2 {
        return Err(malformed("search term must be longer than one character"));
    }
    let toks = tokenize(rest).map_err(|e| malformed(&e.detail))?;
    let mut pos = 0;
    let tok = |i: usize| toks.get(i).map(|t| &t.tok).unwrap_or(&Tok::End);
    let kw = |i: usize, k: &str| matches!(tok(i), Tok::Ident(s) if s.eq_ignore_ascii_case(k));
    let mut group = Group::All;
    if kw(pos, "IN") {
        group = match tok(pos + 1) {
            Tok::Ident(s) if s.eq_ignore_ascii_case("EMAIL") => Group::Email,
            Tok::Ident(s) if s.eq_ignore_ascii_case("PHONE") => Group::Phone,
            Tok::Ident(s) if s.eq_ignore_ascii_case("NAME") => Group::Name,
            Tok::Ident(s) if s.eq_ignore_ascii_case("ALL") => Group::All,
            other => return Err(malformed(&format!("unexpected token: '{}'", other.text()))),
        };
        if !kw(pos + 2, "FIELDS") {
            return Err(malformed(&format!(
                "unexpected token: '{}'",
                tok(pos + 2).text()
            )));
        }
        pos += 3;
    }
    // (object, selected fields)
    let mut targets: Vec<(String, Vec<FieldRef>)> = Vec::new();
    if kw(pos, "RETURNING") {
        pos += 1;
        loop {
            let Tok::Ident(obj) = tok(pos).clone() else {
                return Err(malformed(&format!(
                    "unexpected token: '{}'",
                    tok(pos).text()
                )));
            };
            pos += 1;
            let mut fields = Vec::new();
            if tok(pos) == &Tok::LParen {
                pos += 1;
                loop {
                    let col = toks.get(pos).map(|t| t.col).unwrap_or(0);
                    let mut path = Vec::new();
                    while let Tok::Ident(s) = tok(pos) {
                        path.push(s.clone());
                        pos += 1;
                        if tok(pos) == &Tok::Dot {
                            pos += 1;
                        } else {
                            break;
                        }
                    }
                    if path.is_empty() {
                        return Err(malformed(&format!(
                            "unexpected token: '{}'",
                            tok(pos).text()
                        )));
                    }
                    fields.push(FieldRef { path, col });
                    match tok(pos) {
                        Tok::Comma => pos += 1,
                        Tok::RParen => {
                            pos += 1;
                            break;
                        }
                        other => {
                            return Err(malformed(&format!(
                                "unexpected token: '{}'",
                                other.text()
                            )));
                        }
                    }
                }
            }
            targets.push((obj, fields));
            if tok(pos) == &Tok::Comma {
                pos += 1;
            } else {
                break;
            }
        }
    }
    if !matches!(tok(pos), Tok::End) {
        return Err(malformed(&format!(
            "unexpected token: '{}'",
            tok(pos).text()
        )));
    }
    if targets.is_empty() {
        targets = ["Account", "Contact", "Lead"]
            .iter()
            .map(|o| (o.to_string(), Vec::new()))
            .collect();
    }

    let needle = term.to_lowercase();
    let needle_digits = digits(&term);
    let mut out = Vec::new();
    for (obj_name, fields) in targets {
        let obj = schema.object(&obj_name).ok_or_else(|| {
            ApiError::new(
                400,
                "INVALID_TYPE",
                format!("sObject type '{obj_name}' is not supported."),
            )
        })?;
        let ids: Vec<Literal> = store
            .list(&obj.name, false)
            .filter(|r| {
                obj.fields.iter().any(|f| {
                    let Some(v) = r.get(&f.name).as_str() else {
                        return false;
                    };
                    match group {
                        Group::Email => {
                            f.ftype == FieldType::Email && v.to_lowercase().contains(&needle)
                        }
                        Group::Phone => {
                            f.ftype == FieldType::Phone
                                && !needle_digits.is_empty()
                                && digits(v).contains(&needle_digits)
                        }
                        Group::Name => {
                            matches!(
                                f.name.as_str(),
                                "Name" | "FirstName" | "LastName" | "Company"
                            ) && v.to_lowercase().contains(&needle)
                        }
                        Group::All => f.ftype.is_text() && v.to_lowercase().contains(&needle),
                    }
                })
            })
            .map(|r| Literal::Str(r.id().to_string()))
            .collect();
        if ids.is_empty() {
            continue;
        }
        let select = if fields.is_empty() {
            vec![SelectItem::Field(FieldRef {
                path: vec!["Id".into()],
                col: 1,
            })]
        } else {
            fields.into_iter().map(SelectItem::Field).collect()
        };
        let query = Query {
            select,
            from: obj.name.clone(),
            from_col: 1,
            filter: Some(Expr::In {
                field: FieldRef {
                    path: vec!["Id".into()],
                    col: 1,
                },
                values: ids,
                negated: false,
                value_col: 1,
            }),
            order_by: Vec::new(),
            limit: None,
            offset: None,
        };
        let rows = soql::eval::run(schema, store, &query, false, version)
            .map_err(|e| ApiError::new(400, e.code, e.detail))?;
        out.extend(rows.records);
    }
    Ok(json!({ "searchRecords": out }))
}
