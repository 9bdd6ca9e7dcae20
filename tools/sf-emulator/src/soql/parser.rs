//! Recursive-descent SOQL parser.
//!
//! query   := SELECT item (, item)* FROM ident [WHERE or] [ORDER BY order (, order)*] [LIMIT n]
//!            [OFFSET n]
//! item    := COUNT() | path | '(' query ')'   (a child-relationship subquery, top level only)
//! or      := and (OR and)*
//! and     := unary (AND unary)*
//! unary   := NOT unary | '(' or ')' | cond
//! cond    := path op literal | path [NOT] IN '(' literal (, literal)* ')' | path LIKE literal

use super::lexer::{Tok, Token};
use super::{CmpOp, Expr, FieldRef, Literal, OrderItem, Query, QueryError, SelectItem};

pub(crate) struct Parser {
    toks: Vec<Token>,
    pos: usize,
    /// Nesting of parentheses and NOT, bounded so hostile input cannot exhaust the stack.
    depth: usize,
    conditions: usize,
}

const MAX_DEPTH: usize = 64;
/// Beyond this many conditions the real API answers QUERY_TOO_COMPLICATED; the bound also keeps
/// evaluation of the (left-deep) expression tree shallow.
const MAX_CONDITIONS: usize = 500;

const END: Token = Token {
    tok: Tok::End,
    col: 0,
};

impl Parser {
    pub(crate) fn new(toks: Vec<Token>) -> Self {
        Self {
            toks,
            pos: 0,
            depth: 0,
            conditions: 0,
        }
    }

    fn peek(&self) -> &Token {
        self.toks.get(self.pos).unwrap_or(&END)
    }

    fn peek_at(&self, n: usize) -> &Token {
        self.toks.get(self.pos + n).unwrap_or(&END)
    }

    fn advance(&mut self) -> Token {
        let t = self.peek().clone();
        self.pos += 1;
        t
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    fn unexpected(&self) -> QueryError {
        let t = self.peek();
        QueryError::malformed(t.col, &format!("unexpected token: '{}'", t.tok.text()))
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), QueryError> {
        if self.is_kw(kw) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn expect(&mut self, tok: Tok) -> Result<(), QueryError> {
        if self.peek().tok == tok {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    pub(crate) fn query(&mut self) -> Result<Query, QueryError> {
        let q = self.query_body(false)?;
        if self.peek().tok != Tok::End {
            return Err(self.unexpected());
        }
        Ok(q)
    }

    /// A query up to its end; `nested` for a subquery, which cannot hold another.
    fn query_body(&mut self, nested: bool) -> Result<Query, QueryError> {
        self.expect_kw("SELECT")?;
        let mut select = vec![self.select_item(nested)?];
        while self.peek().tok == Tok::Comma {
            self.pos += 1;
            select.push(self.select_item(nested)?);
        }
        self.expect_kw("FROM")?;
        let from_tok = self.advance();
        let Tok::Ident(from) = from_tok.tok else {
            self.pos -= 1;
            return Err(self.unexpected());
        };
        let mut q = Query {
            select,
            from,
            from_col: from_tok.col,
            filter: None,
            order_by: Vec::new(),
            limit: None,
            offset: None,
        };
        if self.is_kw("WHERE") {
            self.pos += 1;
            q.filter = Some(self.or_expr()?);
        }
        if self.is_kw("ORDER") {
            self.pos += 1;
            self.expect_kw("BY")?;
            q.order_by.push(self.order_item()?);
            while self.peek().tok == Tok::Comma {
                self.pos += 1;
                q.order_by.push(self.order_item()?);
            }
        }
        if self.is_kw("LIMIT") {
            self.pos += 1;
            q.limit = Some(self.count_value()?);
        }
        if self.is_kw("OFFSET") {
            self.pos += 1;
            q.offset = Some(self.count_value()?);
        }
        Ok(q)
    }

    fn count_value(&mut self) -> Result<usize, QueryError> {
        match self.peek().tok {
            Tok::Number(n) if n >= 0.0 && n.fract() == 0.0 && n < 1e12 => {
                self.pos += 1;
                Ok(n as usize)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn select_item(&mut self, nested: bool) -> Result<SelectItem, QueryError> {
        if !nested && self.peek().tok == Tok::LParen {
            self.pos += 1;
            let sub = self.query_body(true)?;
            self.expect(Tok::RParen)?;
            return Ok(SelectItem::Subquery(Box::new(sub)));
        }
        if self.is_kw("COUNT") && self.peek_at(1).tok == Tok::LParen {
            self.pos += 2;
            self.expect(Tok::RParen)?;
            return Ok(SelectItem::Count);
        }
        if self.is_kw("FROM") {
            return Err(self.unexpected());
        }
        Ok(SelectItem::Field(self.field_ref()?))
    }

    fn field_ref(&mut self) -> Result<FieldRef, QueryError> {
        let col = self.peek().col;
        let mut path = Vec::new();
        loop {
            match self.peek().tok.clone() {
                Tok::Ident(s) => {
                    self.pos += 1;
                    path.push(s);
                }
                _ => return Err(self.unexpected()),
            }
            if self.peek().tok == Tok::Dot {
                self.pos += 1;
            } else {
                break;
            }
        }
        Ok(FieldRef { path, col })
    }

    fn order_item(&mut self) -> Result<OrderItem, QueryError> {
        let field = self.field_ref()?;
        let mut descending = false;
        if self.is_kw("ASC") {
            self.pos += 1;
        } else if self.is_kw("DESC") {
            self.pos += 1;
            descending = true;
        }
        // SOQL's default: nulls first when ascending, last when descending.
        let mut nulls_last = descending;
        if self.is_kw("NULLS") {
            self.pos += 1;
            if self.is_kw("FIRST") {
                nulls_last = false;
            } else if self.is_kw("LAST") {
                nulls_last = true;
            } else {
                return Err(self.unexpected());
            }
            self.pos += 1;
        }
        Ok(OrderItem {
            field,
            descending,
            nulls_last,
        })
    }

    fn or_expr(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.and_expr()?;
        while self.is_kw("OR") {
            self.pos += 1;
            let right = self.and_expr()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.unary()?;
        while self.is_kw("AND") {
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        self.depth += 1;
        let result = self.unary_inner();
        self.depth -= 1;
        result
    }

    fn unary_inner(&mut self) -> Result<Expr, QueryError> {
        if self.depth > MAX_DEPTH {
            return Err(QueryError {
                code: "QUERY_TOO_COMPLICATED",
                col: self.peek().col,
                detail: "Query is either selecting too many fields or the filter conditions are too complicated.".into(),
            });
        }
        if self.is_kw("NOT") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek().tok == Tok::LParen {
            self.pos += 1;
            let inner = self.or_expr()?;
            self.expect(Tok::RParen)?;
            return Ok(inner);
        }
        self.condition()
    }

    fn condition(&mut self) -> Result<Expr, QueryError> {
        self.conditions += 1;
        if self.conditions > MAX_CONDITIONS {
            return Err(QueryError {
                code: "QUERY_TOO_COMPLICATED",
                col: self.peek().col,
                detail: "Query is either selecting too many fields or the filter conditions are too complicated.".into(),
            });
        }
        let field = self.field_ref()?;
        let negated_in = self.is_kw("NOT") && {
            matches!(&self.peek_at(1).tok, Tok::Ident(s) if s.eq_ignore_ascii_case("IN"))
        };
        if negated_in || self.is_kw("IN") {
            self.pos += if negated_in { 2 } else { 1 };
            let value_col = self.peek().col;
            self.expect(Tok::LParen)?;
            let mut values = vec![self.literal()?];
            while self.peek().tok == Tok::Comma {
                self.pos += 1;
                values.push(self.literal()?);
            }
            self.expect(Tok::RParen)?;
            return Ok(Expr::In {
                field,
                values,
                negated: negated_in,
                value_col,
            });
        }
        let op = match &self.peek().tok {
            Tok::Op("=") => CmpOp::Eq,
            Tok::Op("!=") => CmpOp::Ne,
            Tok::Op("<") => CmpOp::Lt,
            Tok::Op(">") => CmpOp::Gt,
            Tok::Op("<=") => CmpOp::Le,
            Tok::Op(">=") => CmpOp::Ge,
            Tok::Ident(s) if s.eq_ignore_ascii_case("LIKE") => CmpOp::Like,
            _ => return Err(self.unexpected()),
        };
        self.pos += 1;
        let value_col = self.peek().col;
        let value = self.literal()?;
        Ok(Expr::Cmp {
            field,
            op,
            value,
            value_col,
        })
    }

    fn literal(&mut self) -> Result<Literal, QueryError> {
        let lit = match &self.peek().tok {
            Tok::Str(s) => Literal::Str(s.clone()),
            Tok::Number(n) => Literal::Number(*n),
            Tok::Date(d) => Literal::Date(d.clone()),
            Tok::DateTime(d) => Literal::DateTime(d.clone()),
            Tok::Ident(s) => match s.to_ascii_lowercase().as_str() {
                "null" => Literal::Null,
                "true" => Literal::Bool(true),
                "false" => Literal::Bool(false),
                "today" => Literal::Day(relative_date(0)),
                "yesterday" => Literal::Day(relative_date(-1)),
                "tomorrow" => Literal::Day(relative_date(1)),
                _ => return Err(self.unexpected()),
            },
            _ => return Err(self.unexpected()),
        };
        self.pos += 1;
        Ok(lit)
    }
}

fn relative_date(days: i64) -> String {
    let d = time::OffsetDateTime::now_utc().date() + time::Duration::days(days);
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

#[cfg(test)]
mod tests {
    use super::super::{Expr, SelectItem, parse};

    #[test]
    fn parses_a_full_query() {
        let q = parse(
            "SELECT Id, Owner.Email FROM Case WHERE (Status = 'New' OR NOT Priority IN ('Low')) AND Subject != null ORDER BY CreatedDate DESC NULLS LAST, Id LIMIT 10 OFFSET 5",
        );
        let q = q.ok();
        assert!(q.is_some());
        let q = q.unwrap_or_else(|| unreachable!());
        assert_eq!(q.select.len(), 2);
        assert_eq!(q.from, "Case");
        assert!(matches!(q.filter, Some(Expr::And(_, _))));
        assert_eq!(q.order_by.len(), 2);
        assert!(
            q.order_by
                .first()
                .is_some_and(|o| o.descending && o.nulls_last)
        );
        assert_eq!(q.limit, Some(10));
        assert_eq!(q.offset, Some(5));
    }

    #[test]
    fn parses_a_child_subquery() {
        let q = parse(
            "SELECT Id, (SELECT Id, LastName FROM Contacts WHERE LastName != null ORDER BY LastName LIMIT 5) FROM Account",
        );
        let q = q.ok().unwrap_or_else(|| unreachable!());
        let Some(SelectItem::Subquery(sub)) = q.select.get(1) else {
            unreachable!("a subquery second: {:?}", q.select)
        };
        assert_eq!(sub.from, "Contacts");
        assert_eq!(sub.select.len(), 2);
        assert!(sub.filter.is_some());
        assert_eq!(sub.limit, Some(5));
        assert_eq!(q.from, "Account");
        // One level only, and closed.
        assert!(
            parse("SELECT Id, (SELECT Id, (SELECT Id FROM Cases) FROM Contacts) FROM Account")
                .is_err()
        );
        assert!(parse("SELECT Id, (SELECT Id FROM Contacts FROM Account").is_err());
    }

    #[test]
    fn count_and_errors() {
        assert!(
            parse("select count() from Lead").is_ok_and(|q| q.select == vec![SelectItem::Count])
        );
        let err = parse("SELECT Id FROM Lead WHERE").err();
        assert_eq!(err.map(|e| e.code), Some("MALFORMED_QUERY".to_string()));
        assert!(parse("SELECT Id FROM Lead LIMIT 5 garbage").is_err());
        assert!(parse("SELECT FROM Lead").is_err());
    }
}

#[cfg(test)]
mod limits_tests {
    use super::super::parse;

    #[test]
    fn hostile_nesting_is_refused_not_overflowed() {
        let deep = format!(
            "SELECT Id FROM Lead WHERE {}Id = null{}",
            "(".repeat(5000),
            ")".repeat(5000)
        );
        assert_eq!(
            parse(&deep).err().map(|e| e.code),
            Some("QUERY_TOO_COMPLICATED".to_string())
        );
        let nots = format!("SELECT Id FROM Lead WHERE {}Id = null", "NOT ".repeat(5000));
        assert!(parse(&nots).is_err());
        let wide = format!(
            "SELECT Id FROM Lead WHERE {}",
            vec!["Id = null"; 2000].join(" AND ")
        );
        assert!(parse(&wide).is_err());
    }
}
