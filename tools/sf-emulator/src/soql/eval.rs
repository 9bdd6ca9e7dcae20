//! Checks a parsed query against the schema, then runs it over the store.

use super::{CmpOp, Expr, FieldRef, Literal, Query, QueryError, SelectItem};
use crate::datetime;
use crate::ids;
use crate::schema::{FieldDef, FieldType, ObjectDef, Schema};
use crate::store::{Record, Store};
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// The rows a query produced, already projected to JSON.
pub(crate) struct QueryOutput {
    pub total_size: usize,
    pub records: Vec<Value>,
}

/// A field path resolved against the schema: relationship hops, then the leaf field.
struct ResolvedPath {
    /// (relationship name in canonical case, reference field name) per hop.
    hops: Vec<(String, String)>,
    leaf: FieldDef,
}

fn unknown_column(f: &FieldRef, obj: &str, name: &str) -> QueryError {
    QueryError::invalid_field(
        f.col,
        format!(
            "No such column '{name}' on entity '{obj}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
        ),
    )
}

fn resolve(schema: &Schema, root: &ObjectDef, f: &FieldRef) -> Result<ResolvedPath, QueryError> {
    let mut current: Vec<&ObjectDef> = vec![root];
    let mut hops = Vec::new();
    let (leaf_name, rels) = f
        .path
        .split_last()
        .ok_or_else(|| QueryError::malformed(f.col, "unexpected token: ''"))?;
    for rel in rels {
        let found = current.iter().find_map(|o| o.relationship(rel));
        let Some(ref_field) = found else {
            return Err(QueryError::invalid_field(
                f.col,
                format!(
                    "Didn't understand relationship '{rel}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."
                ),
            ));
        };
        hops.push((
            ref_field.relationship_name.clone().unwrap_or_default(),
            ref_field.name.clone(),
        ));
        current = ref_field
            .reference_to
            .iter()
            .filter_map(|t| schema.object(t))
            .collect();
    }
    let leaf = current
        .iter()
        .find_map(|o| o.field(leaf_name))
        .cloned()
        .ok_or_else(|| {
            let obj = current.first().map(|o| o.name.as_str()).unwrap_or("");
            unknown_column(f, obj, leaf_name)
        })?;
    Ok(ResolvedPath { hops, leaf })
}

/// Follows the relationship hops from a record; None when a hop is null.
fn walk<'s>(store: &'s Store, record: &'s Record, path: &ResolvedPath) -> Option<&'s Record> {
    let mut r = record;
    for (_, ref_field) in &path.hops {
        let id = r.get(ref_field).as_str()?;
        r = store.get(id)?;
    }
    Some(r)
}

fn value_at(store: &Store, record: &Record, path: &ResolvedPath) -> Value {
    walk(store, record, path)
        .map(|r| r.get(&path.leaf.name).clone())
        .unwrap_or(Value::Null)
}

fn type_error(field: &FieldDef, col: usize, quoted: bool) -> QueryError {
    let tname = field.ftype.describe_name();
    let tname = if tname == "datetime" {
        "dateTime"
    } else {
        tname
    };
    let how = if quoted {
        "should be enclosed in quotes"
    } else {
        "should not be enclosed in quotes"
    };
    QueryError::invalid_field(
        col,
        format!(
            "value of filter criterion for field '{}' must be of type {tname} and {how}",
            field.name
        ),
    )
}

/// Literal must suit the field's type, as SOQL checks before running anything.
fn check_literal(field: &FieldDef, lit: &Literal, col: usize) -> Result<(), QueryError> {
    let ok = match (field.ftype, lit) {
        (_, Literal::Null) => true,
        (FieldType::Id | FieldType::Reference, Literal::Str(s)) => {
            if ids::normalize(s).is_none() && !s.is_empty() {
                return Err(QueryError {
                    code: "INVALID_QUERY_FILTER_OPERATOR",
                    col,
                    detail: format!("invalid ID field: {s}"),
                });
            }
            true
        }
        (t, Literal::Str(_)) if t.is_text() => true,
        (FieldType::Boolean, Literal::Bool(_)) => true,
        (FieldType::Double | FieldType::Int | FieldType::Currency, Literal::Number(_)) => true,
        (FieldType::Date, Literal::Date(_)) => true,
        (FieldType::DateTime, Literal::DateTime(_)) => true,
        (FieldType::Date | FieldType::DateTime, Literal::Day(_)) => true,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(type_error(field, col, field.ftype.is_text()))
    }
}

fn check_expr(schema: &Schema, obj: &ObjectDef, e: &Expr) -> Result<(), QueryError> {
    match e {
        Expr::And(a, b) | Expr::Or(a, b) => {
            check_expr(schema, obj, a)?;
            check_expr(schema, obj, b)
        }
        Expr::Not(a) => check_expr(schema, obj, a),
        Expr::Cmp {
            field,
            op,
            value,
            value_col,
        } => {
            let path = resolve(schema, obj, field)?;
            if *op == CmpOp::Like && !path.leaf.ftype.is_text() {
                return Err(QueryError::invalid_field(
                    field.col,
                    format!(
                        "invalid operator on {} field: {}",
                        path.leaf.ftype.describe_name(),
                        path.leaf.name
                    ),
                ));
            }
            check_literal(&path.leaf, value, *value_col)
        }
        Expr::In {
            field,
            values,
            value_col,
            ..
        } => {
            let path = resolve(schema, obj, field)?;
            values
                .iter()
                .try_for_each(|v| check_literal(&path.leaf, v, *value_col))
        }
    }
}

/// Compares a stored value with a literal; None when either side is null.
fn compare(field: &FieldDef, stored: &Value, lit: &Literal) -> Option<Ordering> {
    match (stored, lit) {
        (Value::Null, _) | (_, Literal::Null) => None,
        (Value::String(s), Literal::Str(l)) => {
            if matches!(field.ftype, FieldType::Id | FieldType::Reference) {
                let l = ids::normalize(l)?;
                Some(s.cmp(&l))
            } else {
                Some(s.to_lowercase().cmp(&l.to_lowercase()))
            }
        }
        (Value::Number(n), Literal::Number(l)) => n.as_f64()?.partial_cmp(l),
        (Value::Bool(b), Literal::Bool(l)) => Some(b.cmp(l)),
        (Value::String(s), Literal::Date(l)) => Some(s.as_str().cmp(l.as_str())),
        // Stored dateTimes are UTC, so their first ten characters are the UTC day.
        (Value::String(s), Literal::Day(l)) => Some(s.get(..10).unwrap_or(s).cmp(l.as_str())),
        (Value::String(s), Literal::DateTime(l)) => {
            let a = datetime::parse_datetime(s)?;
            let b = datetime::parse_datetime(l)?;
            Some(a.cmp(&b))
        }
        _ => None,
    }
}

fn equals(field: &FieldDef, stored: &Value, lit: &Literal) -> bool {
    match lit {
        Literal::Null => stored.is_null(),
        _ => compare(field, stored, lit) == Some(Ordering::Equal),
    }
}

/// SOQL LIKE: case-insensitive, `%` any run, `_` one character, `\%`/`\_` literal.
fn like(text: &str, pattern: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum P {
        Any,
        One,
        Ch(char),
    }
    let mut pat = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        pat.push(match c {
            '\\' => P::Ch(chars.next().unwrap_or('\\')),
            '%' => P::Any,
            '_' => P::One,
            c => P::Ch(c),
        });
    }
    let text: Vec<char> = text.to_lowercase().chars().collect();
    // dp[j] = pattern prefix of length j matches the text prefix seen so far.
    let mut dp = vec![false; pat.len() + 1];
    dp[0] = true;
    for j in 1..=pat.len() {
        dp[j] = dp[j - 1] && pat.get(j - 1) == Some(&P::Any);
    }
    for tc in &text {
        let mut next = vec![false; pat.len() + 1];
        for j in 1..=pat.len() {
            next[j] = match pat.get(j - 1) {
                Some(P::Any) => next[j - 1] || dp[j],
                Some(P::One) => dp[j - 1],
                Some(P::Ch(pc)) => dp[j - 1] && pc.to_lowercase().eq(std::iter::once(*tc)),
                None => false,
            };
        }
        dp = next;
    }
    dp.last().copied().unwrap_or(false)
}

fn matches(schema: &Schema, obj: &ObjectDef, store: &Store, r: &Record, e: &Expr) -> bool {
    match e {
        Expr::And(a, b) => matches(schema, obj, store, r, a) && matches(schema, obj, store, r, b),
        Expr::Or(a, b) => matches(schema, obj, store, r, a) || matches(schema, obj, store, r, b),
        Expr::Not(a) => !matches(schema, obj, store, r, a),
        Expr::Cmp {
            field, op, value, ..
        } => {
            let Ok(path) = resolve(schema, obj, field) else {
                return false;
            };
            let stored = value_at(store, r, &path);
            match op {
                CmpOp::Eq => equals(&path.leaf, &stored, value),
                CmpOp::Ne => !equals(&path.leaf, &stored, value),
                CmpOp::Like => match (&stored, value) {
                    (Value::String(s), Literal::Str(p)) => like(s, p),
                    _ => false,
                },
                CmpOp::Lt => compare(&path.leaf, &stored, value) == Some(Ordering::Less),
                CmpOp::Gt => compare(&path.leaf, &stored, value) == Some(Ordering::Greater),
                CmpOp::Le => matches!(
                    compare(&path.leaf, &stored, value),
                    Some(Ordering::Less | Ordering::Equal)
                ),
                CmpOp::Ge => matches!(
                    compare(&path.leaf, &stored, value),
                    Some(Ordering::Greater | Ordering::Equal)
                ),
            }
        }
        Expr::In {
            field,
            values,
            negated,
            ..
        } => {
            let Ok(path) = resolve(schema, obj, field) else {
                return false;
            };
            let stored = value_at(store, r, &path);
            let hit = values.iter().any(|v| equals(&path.leaf, &stored, v));
            hit != *negated
        }
    }
}

fn order_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

/// A query checked against the schema: what to select, how to filter and order.
struct Plan<'q> {
    query: &'q Query,
    obj: &'q ObjectDef,
    paths: Vec<ResolvedPath>,
    children: Vec<ChildPlan<'q>>,
    order: Vec<(ResolvedPath, bool, bool)>,
    is_count: bool,
}

/// A child-relationship subquery: the relationship as the schema spells it, the child's
/// reference field to the parent, and the subquery's own plan over the child object.
struct ChildPlan<'q> {
    relationship: String,
    reference: String,
    plan: Plan<'q>,
}

fn plan<'q>(
    schema: &'q Schema,
    obj: &'q ObjectDef,
    q: &'q Query,
    nested: bool,
) -> Result<Plan<'q>, QueryError> {
    let is_count = q.select.contains(&SelectItem::Count);
    if is_count && (q.select.len() > 1 || nested) {
        return Err(QueryError::malformed(
            1,
            "COUNT() and other fields cannot be selected together",
        ));
    }
    let mut paths = Vec::new();
    let mut children = Vec::new();
    let mut seen = Vec::new();
    for item in &q.select {
        match item {
            SelectItem::Field(f) => {
                let key = f.path.join(".").to_ascii_lowercase();
                if seen.contains(&key) {
                    return Err(QueryError::malformed(
                        f.col,
                        &format!("duplicate field selected: {}", f.path.join(".")),
                    ));
                }
                seen.push(key);
                paths.push(resolve(schema, obj, f)?);
            }
            SelectItem::Subquery(sub) => {
                let Some((child, reference)) = schema.child_relationship(obj, &sub.from) else {
                    return Err(QueryError {
                        code: "INVALID_TYPE",
                        col: sub.from_col,
                        detail: format!(
                            "Didn't understand relationship '{}' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.",
                            sub.from
                        ),
                    });
                };
                children.push(ChildPlan {
                    relationship: reference.child_relationship.clone().unwrap_or_default(),
                    reference: reference.name.clone(),
                    plan: plan(schema, child, sub, true)?,
                });
            }
            SelectItem::Count => {}
        }
    }
    if let Some(filter) = &q.filter {
        check_expr(schema, obj, filter)?;
    }
    let order = q
        .order_by
        .iter()
        .map(|o| resolve(schema, obj, &o.field).map(|p| (p, o.descending, o.nulls_last)))
        .collect::<Result<_, _>>()?;
    if q.offset.is_some_and(|o| o > 2000) {
        return Err(QueryError {
            code: "NUMBER_OUTSIDE_VALID_RANGE",
            col: 1,
            detail: "Maximum SOQL offset allowed is 2000".into(),
        });
    }
    Ok(Plan {
        query: q,
        obj,
        paths,
        children,
        order,
        is_count,
    })
}

/// The candidates that pass the filter, ordered, then OFFSET and LIMIT.
fn select<'s>(
    schema: &Schema,
    store: &'s Store,
    plan: &Plan,
    candidates: impl Iterator<Item = &'s Record>,
) -> Vec<&'s Record> {
    let q = plan.query;
    let mut rows: Vec<&Record> = candidates
        .filter(|r| {
            q.filter
                .as_ref()
                .is_none_or(|f| matches(schema, plan.obj, store, r, f))
        })
        .collect();
    if !plan.order.is_empty() {
        rows.sort_by(|a, b| {
            for (path, desc, nulls_last) in &plan.order {
                let va = value_at(store, a, path);
                let vb = value_at(store, b, path);
                let ord = match (va.is_null(), vb.is_null()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => {
                        if *nulls_last {
                            Ordering::Greater
                        } else {
                            Ordering::Less
                        }
                    }
                    (false, true) => {
                        if *nulls_last {
                            Ordering::Less
                        } else {
                            Ordering::Greater
                        }
                    }
                    (false, false) => {
                        let o = order_values(&va, &vb);
                        if *desc { o.reverse() } else { o }
                    }
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            Ordering::Equal
        });
    }
    rows.into_iter()
        .skip(q.offset.unwrap_or(0))
        .take(q.limit.unwrap_or(usize::MAX))
        .collect()
}

/// Projects a record to the selected paths, nesting relationship fields as the API does, and
/// each child relationship as a nested `{totalSize, done, records}` (null without children).
fn project(
    schema: &Schema,
    store: &Store,
    r: &Record,
    plan: &Plan,
    include_deleted: bool,
    version: &str,
) -> Value {
    let mut out = Map::new();
    out.insert("attributes".into(), r.attributes(version));
    for p in &plan.paths {
        insert_path(store, r, &p.hops, &p.leaf.name, &mut out, version);
    }
    for child in &plan.children {
        let candidates = store
            .list(&child.plan.obj.name, include_deleted)
            .filter(|c| c.get(&child.reference).as_str() == Some(r.id()));
        let rows = select(schema, store, &child.plan, candidates);
        let value = if rows.is_empty() {
            Value::Null
        } else {
            let records: Vec<Value> = rows
                .iter()
                .map(|c| project(schema, store, c, &child.plan, include_deleted, version))
                .collect();
            let mut nested = Map::new();
            nested.insert("totalSize".into(), Value::from(records.len()));
            nested.insert("done".into(), Value::Bool(true));
            nested.insert("records".into(), Value::Array(records));
            Value::Object(nested)
        };
        out.insert(child.relationship.clone(), value);
    }
    Value::Object(out)
}

fn insert_path(
    store: &Store,
    r: &Record,
    hops: &[(String, String)],
    leaf: &str,
    out: &mut Map<String, Value>,
    version: &str,
) {
    match hops.split_first() {
        None => {
            out.insert(leaf.to_string(), r.render(leaf, version));
        }
        Some(((rel, ref_field), rest)) => {
            let parent = r
                .get(ref_field)
                .as_str()
                .and_then(|id| store.get(id))
                .filter(|p| !p.deleted);
            match parent {
                None => {
                    out.insert(rel.clone(), Value::Null);
                }
                Some(p) => {
                    let entry = out.entry(rel.clone()).or_insert_with(|| {
                        let mut m = Map::new();
                        m.insert("attributes".into(), p.attributes(version));
                        Value::Object(m)
                    });
                    if let Value::Object(m) = entry {
                        insert_path(store, p, rest, leaf, m, version);
                    }
                }
            }
        }
    }
}

/// Runs a query. `include_deleted` is queryAll.
pub(crate) fn run(
    schema: &Schema,
    store: &Store,
    q: &Query,
    include_deleted: bool,
    version: &str,
) -> Result<QueryOutput, QueryError> {
    let obj = schema.object(&q.from).ok_or_else(|| QueryError {
        code: "INVALID_TYPE",
        col: q.from_col,
        detail: format!(
            "sObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
            q.from
        ),
    })?;
    let plan = plan(schema, obj, q, false)?;
    let rows = select(schema, store, &plan, store.list(&obj.name, include_deleted));
    if plan.is_count {
        return Ok(QueryOutput {
            total_size: rows.len(),
            records: Vec::new(),
        });
    }
    let records: Vec<Value> = rows
        .iter()
        .map(|r| project(schema, store, r, &plan, include_deleted, version))
        .collect();
    Ok(QueryOutput {
        total_size: records.len(),
        records,
    })
}

#[cfg(test)]
mod tests {
    use super::like;

    #[test]
    fn like_wildcards() {
        assert!(like("Jane@Example.com", "%@example.com"));
        assert!(like("abc", "a_c"));
        assert!(!like("abc", "a_"));
        assert!(like("50%", "50\\%"));
        assert!(!like("50x", "50\\%"));
    }
}
