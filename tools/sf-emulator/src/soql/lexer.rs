//! SOQL tokens, each with the 1-based column Salesforce reports in its error messages.

use super::QueryError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// An identifier or keyword (keywords are recognised by the parser, case-insensitively).
    Ident(String),
    Str(String),
    Number(f64),
    Date(String),
    DateTime(String),
    Comma,
    Dot,
    LParen,
    RParen,
    Colon,
    Op(&'static str),
    End,
}

impl Tok {
    pub(crate) fn text(&self) -> String {
        match self {
            Tok::Ident(s) | Tok::Date(s) | Tok::DateTime(s) => s.clone(),
            Tok::Str(s) => format!("'{s}'"),
            Tok::Number(n) => n.to_string(),
            Tok::Comma => ",".into(),
            Tok::Dot => ".".into(),
            Tok::LParen => "(".into(),
            Tok::RParen => ")".into(),
            Tok::Colon => ":".into(),
            Tok::Op(o) => (*o).into(),
            Tok::End => "<EOF>".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub col: usize,
}

pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, QueryError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let single = match c {
            ',' => Some(Tok::Comma),
            '.' => Some(Tok::Dot),
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            ':' => Some(Tok::Colon),
            '=' => Some(Tok::Op("=")),
            _ => None,
        };
        if let Some(tok) = single {
            out.push(Token { tok, col });
            i += 1;
            continue;
        }
        let next = chars.get(i + 1).copied();
        match c {
            '!' if next == Some('=') => {
                out.push(Token {
                    tok: Tok::Op("!="),
                    col,
                });
                i += 2;
            }
            '<' => {
                let (tok, len) = match next {
                    Some('=') => (Tok::Op("<="), 2),
                    Some('>') => (Tok::Op("!="), 2),
                    _ => (Tok::Op("<"), 1),
                };
                out.push(Token { tok, col });
                i += len;
            }
            '>' => {
                let (tok, len) = if next == Some('=') {
                    (Tok::Op(">="), 2)
                } else {
                    (Tok::Op(">"), 1)
                };
                out.push(Token { tok, col });
                i += len;
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(QueryError::malformed(col, "unterminated string")),
                        Some('\\') => {
                            let esc = chars.get(i + 1).copied();
                            let ch = match esc {
                                Some('n') => '\n',
                                Some('r') => '\r',
                                Some('t') => '\t',
                                Some('b') => '\u{8}',
                                Some('f') => '\u{c}',
                                Some(c @ ('\'' | '"' | '\\' | '_' | '%')) => {
                                    // \_ and \% stay escaped so LIKE can tell them from wildcards.
                                    if c == '_' || c == '%' {
                                        s.push('\\');
                                    }
                                    c
                                }
                                _ => {
                                    return Err(QueryError::malformed(
                                        i + 1,
                                        "Invalid string literal: invalid escape sequence",
                                    ));
                                }
                            };
                            s.push(ch);
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push(Token {
                    tok: Tok::Str(s),
                    col,
                });
            }
            c if c.is_ascii_digit() || (c == '-' && next.is_some_and(|n| n.is_ascii_digit())) => {
                let start = i;
                i += 1;
                // Numbers, dates and dateTimes share one maximal run; the text decides which.
                while chars.get(i).is_some_and(|c| {
                    c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '+')
                }) {
                    i += 1;
                }
                let text: String = chars.get(start..i).unwrap_or(&[]).iter().collect();
                let tok = if text.contains('T') && crate::datetime::parse_datetime(&text).is_some()
                {
                    Tok::DateTime(text)
                } else if crate::datetime::parse_date(&text).is_some() {
                    Tok::Date(text)
                } else if let Ok(n) = text.parse::<f64>() {
                    Tok::Number(n)
                } else {
                    return Err(QueryError::malformed(
                        col,
                        &format!("unexpected token: '{text}'"),
                    ));
                };
                out.push(Token { tok, col });
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while chars
                    .get(i)
                    .is_some_and(|c| c.is_alphanumeric() || *c == '_')
                {
                    i += 1;
                }
                let text: String = chars.get(start..i).unwrap_or(&[]).iter().collect();
                out.push(Token {
                    tok: Tok::Ident(text),
                    col,
                });
            }
            other => {
                return Err(QueryError::malformed(
                    col,
                    &format!("unexpected token: '{other}'"),
                ));
            }
        }
    }
    out.push(Token {
        tok: Tok::End,
        col: chars.len() + 1,
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizes_literals() {
        let toks = tokenize(
            "WHERE a = 'it\\'s' AND d > 2024-01-02 AND t < 2024-01-02T03:04:05Z AND n >= -1.5",
        )
        .unwrap_or_default();
        let kinds: Vec<Tok> = toks.into_iter().map(|t| t.tok).collect();
        assert!(kinds.contains(&Tok::Str("it's".into())));
        assert!(kinds.contains(&Tok::Date("2024-01-02".into())));
        assert!(kinds.contains(&Tok::DateTime("2024-01-02T03:04:05Z".into())));
        assert!(kinds.contains(&Tok::Number(-1.5)));
    }

    #[test]
    fn rejects_unterminated_string() {
        assert!(tokenize("WHERE a = 'abc").is_err());
    }
}
