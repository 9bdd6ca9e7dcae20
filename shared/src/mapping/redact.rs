//! Redaction of message text before it is stored or sent anywhere.
//!
//! Two rules, both applied to message bodies (and attachment names) only: card numbers that
//! pass the Luhn check, and the tenant's own regular expressions. Author names and attachment
//! URLs are kept: they identify the conversation, and a URL with a marker in it is useless.

use std::borrow::Cow;
use std::ops::Range;

use regex::Regex;
use thiserror::Error;

use crate::error::{Classify, ErrorClass};

/// What a card number is replaced by.
pub const CARD_MARKER: &str = "[card number removed]";
/// What a match of a configured pattern is replaced by.
pub const PATTERN_MARKER: &str = "[removed]";

/// Card numbers (PANs) are 13 to 19 digits long (ISO/IEC 7812).
const CARD_DIGITS: Range<usize> = 13..20;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RedactError {
    /// A tenant's redaction pattern does not compile; tenant validation refuses it.
    #[error("redaction pattern {index} ({pattern:?}) is not a valid regular expression: {reason}")]
    BadPattern {
        /// Its position in the configured list, from 0.
        index: usize,
        pattern: String,
        reason: String,
    },
}

impl Classify for RedactError {
    fn class(&self) -> ErrorClass {
        ErrorClass::Configuration
    }
}

/// A tenant's redaction rules, compiled once and applied to every message body.
#[derive(Debug, Clone)]
pub struct Redactor {
    cards: bool,
    patterns: Vec<Regex>,
}

impl Redactor {
    /// `cards`: remove Luhn-valid card numbers. `patterns`: regular expressions (`regex` crate
    /// syntax, linear time whatever the input) whose matches are removed, in this order, after
    /// the card numbers.
    pub fn new(cards: bool, patterns: &[String]) -> Result<Self, RedactError> {
        let patterns = patterns
            .iter()
            .enumerate()
            .map(|(index, pattern)| {
                Regex::new(pattern).map_err(|e| RedactError::BadPattern {
                    index,
                    pattern: pattern.clone(),
                    reason: e.to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { cards, patterns })
    }

    /// The text with card numbers and pattern matches replaced by markers; borrowed when
    /// nothing matched. A match of the empty string removes nothing (a pattern like `x*`
    /// would otherwise put a marker between every two characters).
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        if self.cards {
            let spans = card_spans(&out);
            if !spans.is_empty() {
                out = Cow::Owned(replace_spans(&out, &spans, CARD_MARKER));
            }
        }
        for pattern in &self.patterns {
            let spans: Vec<Range<usize>> = pattern
                .find_iter(&out)
                .filter(|m| !m.is_empty())
                .map(|m| m.range())
                .collect();
            if !spans.is_empty() {
                out = Cow::Owned(replace_spans(&out, &spans, PATTERN_MARKER));
            }
        }
        out
    }
}

impl Redactor {
    /// Redacts everything people wrote in an event, in place: message bodies, attachment
    /// names, the conversation's subject and the string values of custom attributes. The
    /// intake applies it before an event is queued or stored, so a card number never reaches
    /// a queue, a parked item or the sync log.
    pub fn redact_event(&self, event: &mut crate::event::Event) {
        use crate::event::EventKind;
        let redact = |text: &mut String| self.redact_in_place(text);
        if let EventKind::MessageAdded { message } = &mut event.kind {
            redact(&mut message.body);
            for name in message
                .attachments
                .iter_mut()
                .filter_map(|a| a.name.as_mut())
            {
                redact(name);
            }
        }
        if let Some(conversation) = &mut event.conversation {
            if let Some(subject) = &mut conversation.subject {
                redact(subject);
            }
            self.redact_attributes(&mut conversation.custom_attributes);
        }
        self.redact_attributes(&mut event.visitor.custom_attributes);
    }

    fn redact_in_place(&self, text: &mut String) {
        if let Cow::Owned(changed) = self.redact(text) {
            *text = changed;
        }
    }

    fn redact_attributes(&self, attributes: &mut crate::event::Attributes) {
        for value in attributes.values_mut() {
            self.redact_json(value);
        }
    }

    fn redact_json(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(text) => self.redact_in_place(text),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|v| self.redact_json(v)),
            _ => {}
        }
    }
}

/// `spans` are sorted, disjoint and on char boundaries.
fn replace_spans(text: &str, spans: &[Range<usize>], marker: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for span in spans {
        out.push_str(text.get(last..span.start).unwrap_or_default());
        out.push_str(marker);
        last = span.end;
    }
    out.push_str(text.get(last..).unwrap_or_default());
    out
}

/// One character between digit groups. Besides the plain space and hyphen this takes what a
/// pasted or HTML-decoded number may carry instead (no-break, thin and zero-width spaces,
/// Unicode dashes), so such a number is not missed.
fn is_group_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '-' | '\u{a0}' | '\u{2007}' | '\u{2009}' | '\u{202f}' | '\u{200b}' | '\u{2010}'
            ..='\u{2015}' | '\u{2212}'
    )
}

/// Byte ranges of the card numbers in `text`.
///
/// A chain is digit groups joined by single separators ("4111 1111-1111 1111"). Within a chain
/// the leftmost run of whole groups with 13 to 19 digits that passes Luhn is a card number
/// (the longest such run from that group), so a card followed by a CVV or preceded by a
/// country code is still found. A chain glued to a letter ("a716-4466…", part of an id) cannot
/// start or end a card there.
fn card_spans(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        // Stepping by bytes is safe: an ASCII digit byte is always a whole character.
        if !bytes[pos].is_ascii_digit() {
            pos += 1;
            continue;
        }
        let glued_before = text[..pos]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric);
        let mut groups: Vec<Range<usize>> = Vec::new();
        let mut end = pos;
        loop {
            let start = end;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
            groups.push(start..end);
            match text[end..].chars().next() {
                Some(c) if is_group_separator(c) => {
                    let next = end + c.len_utf8();
                    if bytes.get(next).is_some_and(u8::is_ascii_digit) {
                        end = next;
                        continue;
                    }
                }
                _ => {}
            }
            break;
        }
        let glued_after = text[end..]
            .chars()
            .next()
            .is_some_and(char::is_alphanumeric);
        cards_in_chain(text, &groups, glued_before, glued_after, &mut spans);
        pos = end;
    }
    spans
}

fn cards_in_chain(
    text: &str,
    groups: &[Range<usize>],
    glued_before: bool,
    glued_after: bool,
    spans: &mut Vec<Range<usize>>,
) {
    let last = groups.len().saturating_sub(1);
    let mut first = usize::from(glued_before);
    while first < groups.len() {
        let mut digits = 0;
        let mut found = None;
        for (offset, group) in groups[first..].iter().enumerate() {
            digits += group.len();
            if digits >= CARD_DIGITS.end {
                break;
            }
            let end_group = first + offset;
            if CARD_DIGITS.contains(&digits)
                && !(glued_after && end_group == last)
                && luhn(&text[groups[first].start..group.end])
            {
                found = Some(end_group);
            }
        }
        match found {
            Some(end_group) => {
                spans.push(groups[first].start..groups[end_group].end);
                first = end_group + 1;
            }
            None => first += 1,
        }
    }
}

/// The Luhn check over the ASCII digits of `number` (separators skipped).
fn luhn(number: &str) -> bool {
    let sum: u32 = number
        .bytes()
        .rev()
        .filter(u8::is_ascii_digit)
        .map(|b| u32::from(b - b'0'))
        .enumerate()
        .map(|(i, d)| match (i % 2 == 1, d * 2) {
            (false, _) => d,
            (true, doubled) if doubled > 9 => doubled - 9,
            (true, doubled) => doubled,
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_events_text_is_redacted_in_place_and_its_identifiers_are_not() {
        use crate::event::{Conversation, Event, EventKind, Message, Role};
        let mut event = Event::new(EventKind::MessageAdded {
            message: Message {
                id: Some("4111111111111111".into()),
                role: Role::Visitor,
                author: None,
                body: "card 4111 1111 1111 1111 thanks".into(),
                format: Default::default(),
                at: None,
                attachments: Vec::new(),
            },
        });
        let mut attributes = crate::event::Attributes::new();
        attributes.insert(
            "note".into(),
            serde_json::json!(["pay with 5555555555554444"]),
        );
        event.conversation = Some(Conversation {
            id: "c1".into(),
            subject: Some("refund to 4012888888881881".into()),
            custom_attributes: attributes,
            ..Conversation::default()
        });
        Redactor::new(true, &[]).unwrap().redact_event(&mut event);
        let text = serde_json::to_string(&event).unwrap();
        for card in ["4111 1111", "5555555555554444", "4012888888881881"] {
            assert!(!text.contains(card), "{card} in {text}");
        }
        // The platform's own id is an identifier, not text.
        let EventKind::MessageAdded { message } = &event.kind else {
            unreachable!()
        };
        assert_eq!(message.id.as_deref(), Some("4111111111111111"));
        assert_eq!(message.body, format!("card {CARD_MARKER} thanks"));
    }

    fn cards() -> Redactor {
        Redactor::new(true, &[]).unwrap()
    }

    fn patterns(list: &[&str]) -> Redactor {
        let list: Vec<String> = list.iter().map(|p| (*p).to_owned()).collect();
        Redactor::new(false, &list).unwrap()
    }

    #[test]
    fn luhn_accepts_test_card_numbers_and_refuses_near_misses() {
        assert!(luhn("4111111111111111"));
        assert!(luhn("4242 4242 4242 4242"));
        assert!(luhn("378282246310005"));
        assert!(luhn("5555-5555-5555-4444"));
        assert!(!luhn("4111111111111112"));
        assert!(!luhn("378282246310006"));
    }

    #[test]
    fn valid_visa_and_amex_numbers_are_removed() {
        let r = cards();
        assert_eq!(
            r.redact("card 4111111111111111 please"),
            "card [card number removed] please"
        );
        assert_eq!(
            r.redact("amex 378282246310005."),
            "amex [card number removed]."
        );
        assert_eq!(
            r.redact("visa 4012888888881881, mc 5555555555554444"),
            "visa [card number removed], mc [card number removed]"
        );
    }

    #[test]
    fn grouped_numbers_are_removed_with_their_separators() {
        let r = cards();
        assert_eq!(r.redact("4111 1111 1111 1111"), "[card number removed]");
        assert_eq!(r.redact("(4111-1111-1111-1111)"), "([card number removed])");
        assert_eq!(r.redact("3782 822463 10005"), "[card number removed]");
        // What an HTML body decodes &nbsp; into.
        assert_eq!(
            r.redact("4111\u{a0}1111\u{a0}1111\u{a0}1111"),
            "[card number removed]"
        );
    }

    #[test]
    fn a_card_beside_other_numbers_is_still_found() {
        let r = cards();
        assert_eq!(
            r.redact("4111 1111 1111 1111 123 exp 12/27"),
            "[card number removed] 123 exp 12/27"
        );
        assert_eq!(
            r.redact("ref 12 4111111111111111"),
            "ref 12 [card number removed]"
        );
    }

    #[test]
    fn numbers_failing_luhn_and_phone_numbers_are_kept() {
        let r = cards();
        for kept in [
            "order 4111111111111112",
            "4111 1111 1111 1112",
            "call +1 415 555 0132 or +44 20 7946 0958",
            "+49 (0)30 901820",
            "tracking 1Z999AA10123456784",
            "id 550e8400-e29b-41d4-a716-446655440000",
            "short 411111111111",
            "long 41111111111111111111",
            "spaced 4111  1111  1111  1111",
        ] {
            assert!(
                matches!(r.redact(kept), Cow::Borrowed(_)),
                "{kept} was changed to {}",
                r.redact(kept)
            );
        }
    }

    #[test]
    fn cards_are_kept_when_the_rule_is_off() {
        let r = Redactor::new(false, &[]).unwrap();
        assert_eq!(r.redact("4111111111111111"), "4111111111111111");
    }

    #[test]
    fn configured_patterns_replace_their_matches() {
        let r = patterns(&[
            r"\b[A-Z]{2}[0-9]{2}(?: ?[0-9]{4}){4} ?[0-9]{2}\b",
            r"secret-\w+",
        ]);
        assert_eq!(
            r.redact("iban DE89 3704 0044 0532 0130 00 and secret-abc, ok"),
            "iban [removed] and [removed], ok"
        );
        assert_eq!(r.redact("IBAN DE89370400440532013000"), "IBAN [removed]");
        assert_eq!(r.redact("nothing here"), "nothing here");
    }

    #[test]
    fn cards_go_first_then_patterns() {
        let list = vec![r"cvv \d{3}".to_owned()];
        let r = Redactor::new(true, &list).unwrap();
        assert_eq!(
            r.redact("4111111111111111 cvv 123"),
            "[card number removed] [removed]"
        );
    }

    #[test]
    fn empty_matches_remove_nothing() {
        let r = patterns(&["x*", r"\b"]);
        assert_eq!(r.redact("abc"), "abc");
        assert_eq!(r.redact("axxb"), "a[removed]b");
    }

    #[test]
    fn a_bad_pattern_is_an_error_naming_it() {
        let list = vec!["ok".to_owned(), "(unclosed".to_owned()];
        let err = Redactor::new(true, &list).unwrap_err();
        let RedactError::BadPattern { index, pattern, .. } = &err;
        assert_eq!((*index, pattern.as_str()), (1, "(unclosed"));
        assert!(err.to_string().contains("\"(unclosed\""), "{err}");
        assert_eq!(err.class(), ErrorClass::Configuration);
    }

    #[test]
    fn odd_text_passes_through() {
        let r = Redactor::new(true, &[r"[0-9]".to_owned()]).unwrap();
        assert_eq!(r.redact(""), "");
        assert_eq!(r.redact("👍🏽\u{200b}é"), "👍🏽\u{200b}é");
        // Card digits are ASCII; other scripts' digits are text.
        assert_eq!(r.redact("١٢٣ 7"), "١٢٣ [removed]");
    }
}
