//! The chat transcript written to Salesforce: one [`Line`] per message, rendered in the
//! tenant's time zone and split into parts that each fit one Salesforce text field.
//!
//! Redaction happens when a [`Line`] is built, after HTML is turned into text (so a card
//! number split by tags or written with entities is still seen): the stored line, and so
//! DynamoDB, never holds what the tenant's [`Redactor`] removes. Rendering only formats.
//!
//! A rendered line (an "entry") looks like
//!
//! ```text
//! [2024-01-15 10:30:05 CET] Jane Doe (visitor): Hello, my order has not arrived.
//!   It was due on Monday.
//!   Attachment: receipt.pdf <https://files.example.com/r/1>
//! [2024-01-15 10:31:00 CET] Sam (internal note): Checking with the warehouse
//! ```
//!
//! The first row carries the time, the author and the role; further body rows and the
//! attachments follow indented by two spaces, so every entry starts with `[` at the margin.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::OffsetDateTime;

use crate::error::{Classify, ErrorClass};
use crate::event::{BodyFormat, Message, Role};
use crate::mapping::redact::Redactor;
use crate::mapping::text::{normalize_text, single_line};

/// The smallest part size accepted: room for a continuation header, both split markers and
/// some text, whatever the part number.
pub const MIN_PART_CHARS: usize = 100;

/// Ends a part whose last entry goes on in the next part.
const SPLIT_END: &str = "\n(continues in the next part)";
/// Starts the rest of an entry that did not fit in the previous part.
const SPLIT_START: &str = "(continued) ";

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TranscriptError {
    /// Not a name in the IANA time zone database; tenant validation refuses it.
    #[error("unknown time zone {0:?}: expected an IANA name such as Europe/Berlin")]
    UnknownTimeZone(String),
    #[error("a transcript part must allow at least {MIN_PART_CHARS} characters, not {0}")]
    PartTooSmall(usize),
}

impl Classify for TranscriptError {
    fn class(&self) -> ErrorClass {
        ErrorClass::Configuration
    }
}

/// A tenant's time zone, from the tz database compiled into the binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZone(jiff::tz::TimeZone);

impl TimeZone {
    pub fn utc() -> Self {
        Self(jiff::tz::TimeZone::UTC)
    }

    /// The canonical IANA name (`Europe/Berlin`, `UTC`).
    pub fn name(&self) -> &str {
        self.0.iana_name().unwrap_or("UTC")
    }
}

/// The zone named `name` (IANA, case-insensitive, e.g. `Europe/Berlin` or `UTC`).
///
/// Looks only at the bundled database, never at the host's, so the result is the same on a
/// laptop and on Lambda.
pub fn parse_time_zone(name: &str) -> Result<TimeZone, TranscriptError> {
    match jiff::tz::TimeZoneDatabase::bundled().get(name) {
        Ok(zone) if !zone.is_unknown() => Ok(TimeZone(zone)),
        _ => Err(TranscriptError::UnknownTimeZone(name.to_owned())),
    }
}

/// One message as the transcript needs it; what the case writer stores per message.
///
/// Built by [`Line::from_message`], which converts and redacts the body: keep it that way, so
/// no unredacted text is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// When the message was written (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The platform's message id; orders messages written in the same instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub role: Role,
    /// The author's display name, when the platform names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Plain, redacted text: rows separated by `\n`, no blank rows.
    #[serde(default)]
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<LineAttachment>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LineAttachment {
    /// The file name, redacted like the body (people name files after what is in them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Kept as sent: a link with a marker in it would lead nowhere.
    pub url: String,
}

impl Line {
    /// The line for `message`. `fallback_at` is used when the message carries no time of its
    /// own (the event's `occurred_at`). The body becomes plain text (HTML converted), then
    /// `redactor` removes what the tenant configured; author names and URLs are kept.
    pub fn from_message(
        message: &Message,
        fallback_at: OffsetDateTime,
        redactor: &Redactor,
    ) -> Line {
        let text = match message.format {
            BodyFormat::Text => normalize_text(&message.body),
            BodyFormat::Html => normalize_text(&super::html::to_text(&message.body)),
        };
        let author = message.author.as_ref().and_then(|a| {
            [&a.name, &a.email]
                .into_iter()
                .flatten()
                .map(|n| single_line(n))
                .find(|n| !n.is_empty())
        });
        let attachments = message
            .attachments
            .iter()
            .map(|a| LineAttachment {
                name: a
                    .name
                    .as_deref()
                    .map(|n| redactor.redact(&single_line(n)).into_owned())
                    .filter(|n| !n.is_empty()),
                url: a
                    .url
                    .chars()
                    .filter(|c| !c.is_whitespace() && !c.is_control())
                    .collect(),
            })
            .collect();
        Line {
            // Stored in UTC, like every other time the project keeps.
            at: message
                .at
                .unwrap_or(fallback_at)
                .to_offset(time::UtcOffset::UTC),
            id: message.id.clone(),
            role: message.role,
            author,
            text: redactor.redact(&text).into_owned(),
            attachments,
        }
    }
}

/// How the transcript is rendered and split. Built by [`RenderOptions::new`], which checks
/// the part size, so [`render_parts`] itself cannot fail.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    time_zone: TimeZone,
    max_chars: usize,
    header: Option<String>,
}

impl RenderOptions {
    /// `max_chars`: the target field's limit in UTF-16 code units, as Salesforce counts
    /// (32,000 for Task.Description, 4,000 for a CaseComment); at least [`MIN_PART_CHARS`].
    /// `header`: text that opens the first part (subject, conversation URL); the caller
    /// redacts it, and a long one is split like any entry.
    pub fn new(
        time_zone: TimeZone,
        max_chars: usize,
        header: Option<String>,
    ) -> Result<Self, TranscriptError> {
        if max_chars < MIN_PART_CHARS {
            return Err(TranscriptError::PartTooSmall(max_chars));
        }
        Ok(Self {
            time_zone,
            max_chars,
            header: header.filter(|h| !h.trim().is_empty()),
        })
    }
}

/// The transcript of `lines` (in any order) split into parts of at most `max_chars` UTF-16
/// code units each. Nothing is dropped.
///
/// Lines are ordered by time, then message id (then content, so the result never depends on
/// the input order); an exact duplicate (a redelivered message) appears once. Entries are
/// packed greedily and kept whole; only an entry longer than a part is split, at a row or
/// word break where it can, ending with `(continues in the next part)` and going on after
/// `(continued) `. Parts after the first open with `Transcript part N, continued`, without
/// the number of parts, so appending lines never changes an earlier part. No lines and no
/// header: no parts.
pub fn render_parts(lines: &[Line], options: &RenderOptions) -> Vec<String> {
    let mut sorted: Vec<&Line> = lines.iter().collect();
    sorted.sort_by(|a, b| order(a, b));
    sorted.dedup_by(|a, b| a == b);
    let mut packer = Packer::new(options.max_chars);
    if let Some(header) = &options.header {
        packer.push(header);
    }
    for line in sorted {
        packer.push(&render_line(line, &options.time_zone));
    }
    packer.finish()
}

/// One entry of the transcript: see the module documentation for the format.
pub fn render_line(line: &Line, time_zone: &TimeZone) -> String {
    let role = match line.role {
        Role::Visitor => "visitor",
        Role::Agent => "agent",
        Role::Bot => "bot",
        Role::Note => "internal note",
    };
    let who = match &line.author {
        Some(author) => format!("{author} ({role})"),
        None => capitalized(role),
    };
    let mut out = format!("[{}] {who}:", format_time(line.at, time_zone));
    let body = line
        .text
        .split('\n')
        .map(str::trim_end)
        .filter(|r| !r.is_empty());
    let attachments = line.attachments.iter().map(|a| match &a.name {
        Some(name) => format!("Attachment: {name} <{}>", a.url),
        None => format!("Attachment: <{}>", a.url),
    });
    let mut rows = body.map(str::to_owned).chain(attachments).peekable();
    if rows.peek().is_none() {
        out.push_str(" (empty message)");
    }
    for (i, row) in rows.enumerate() {
        out.push_str(if i == 0 { " " } else { "\n  " });
        out.push_str(&row);
    }
    out
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Time, then message id, then everything else, so the same lines in any order sort alike.
fn order(a: &Line, b: &Line) -> Ordering {
    fn rank(role: Role) -> u8 {
        match role {
            Role::Visitor => 0,
            Role::Agent => 1,
            Role::Bot => 2,
            Role::Note => 3,
        }
    }
    a.at.cmp(&b.at)
        .then_with(|| a.id.cmp(&b.id))
        .then_with(|| rank(a.role).cmp(&rank(b.role)))
        .then_with(|| a.author.cmp(&b.author))
        .then_with(|| a.text.cmp(&b.text))
        .then_with(|| a.attachments.cmp(&b.attachments))
}

/// `2024-01-15 10:30:05 CET`: local time in the zone with its abbreviation (an offset such as
/// `+03` where the zone has no letters). Seconds are kept: chats are quick.
fn format_time(at: OffsetDateTime, zone: &TimeZone) -> String {
    let Ok(instant) = jiff::Timestamp::new(at.unix_timestamp(), 0) else {
        // Outside jiff's range (years beyond ±9999): say it in UTC rather than fail.
        let at = at.to_offset(time::UtcOffset::UTC);
        return format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        );
    };
    let info = zone.0.to_offset_info(instant);
    let local = info.offset().to_datetime(instant);
    let abbreviation = match info.abbreviation() {
        "" => {
            let seconds = info.offset().seconds();
            let sign = if seconds < 0 { '-' } else { '+' };
            let minutes = seconds.unsigned_abs() / 60;
            format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
        }
        abbreviation => abbreviation.to_owned(),
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} {abbreviation}",
        local.year(),
        local.month(),
        local.day(),
        local.hour(),
        local.minute(),
        local.second()
    )
}

/// Salesforce counts field length in UTF-16 code units: an emoji outside the BMP is two.
fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// `utf16_len(text) <= room`, without walking all of a huge text.
fn fits_within(text: &str, room: usize) -> bool {
    let mut used = 0;
    text.chars().all(|c| {
        used += c.len_utf16();
        used <= room
    })
}

/// Fills parts one after the other. An appended entry only ever touches the last part, which
/// is what keeps earlier parts stable.
struct Packer {
    max: usize,
    done: Vec<String>,
    current: String,
    /// UTF-16 length of `current`.
    used: usize,
    /// `current` holds no entry yet (only its continuation header, if any).
    empty: bool,
}

impl Packer {
    fn new(max: usize) -> Self {
        Self {
            max,
            done: Vec::new(),
            current: String::new(),
            used: 0,
            empty: true,
        }
    }

    fn append(&mut self, text: &str) {
        if !self.empty {
            self.current.push('\n');
            self.used += 1;
        }
        self.current.push_str(text);
        self.used += utf16_len(text);
        self.empty = false;
    }

    fn next_part(&mut self) {
        self.done.push(std::mem::take(&mut self.current));
        self.current = format!("Transcript part {}, continued\n", self.done.len() + 1);
        self.used = utf16_len(&self.current);
        self.empty = true;
    }

    fn push(&mut self, entry: &str) {
        let len = utf16_len(entry);
        if self.used + usize::from(!self.empty) + len <= self.max {
            return self.append(entry);
        }
        if !self.empty {
            self.next_part();
            if self.used + len <= self.max {
                return self.append(entry);
            }
        }
        // Longer than a whole part: it starts in this (fresh) part and goes on in the next.
        let mut rest = entry;
        let mut first = true;
        loop {
            let start = if first { "" } else { SPLIT_START };
            let room = self.max.saturating_sub(self.used + utf16_len(start));
            if fits_within(rest, room) {
                return self.append(&format!("{start}{rest}"));
            }
            let (piece, next) = cut(rest, room.saturating_sub(utf16_len(SPLIT_END)));
            self.append(&format!("{start}{piece}{SPLIT_END}"));
            self.next_part();
            rest = next;
            first = false;
        }
    }

    fn finish(mut self) -> Vec<String> {
        if !self.empty {
            self.done.push(self.current);
        }
        self.done
    }
}

/// Splits `text` (longer than `room`) into a non-empty head of at most `room` UTF-16 units and
/// the rest. Prefers the last row break, then the last space, in the second half of the room
/// (the break itself is dropped: the split markers stand for it); else cuts between chars.
fn cut(text: &str, room: usize) -> (&str, &str) {
    let mut fit = 0;
    let mut used = 0;
    for (i, c) in text.char_indices() {
        used += c.len_utf16();
        if used > room {
            break;
        }
        fit = i + c.len_utf8();
    }
    if fit == 0 {
        // Cannot happen with MIN_PART_CHARS, but never loop without progress.
        fit = text.chars().next().map_or(text.len(), char::len_utf8);
    }
    let head = &text[..fit];
    let half = room / 2;
    let at_break = |sep: char| {
        head.rfind(sep)
            .filter(|&i| utf16_len(&head[..i]) >= half && i > 0)
    };
    match at_break('\n').or_else(|| at_break(' ')) {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (head, &text[fit..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Agent, Attachment};
    use proptest::prelude::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2024-01-15 10:00:00 UTC);

    fn no_redaction() -> Redactor {
        Redactor::new(false, &[]).unwrap()
    }

    fn line(at: OffsetDateTime, id: &str, role: Role, author: Option<&str>, text: &str) -> Line {
        Line {
            at,
            id: Some(id.to_owned()),
            role,
            author: author.map(str::to_owned),
            text: text.to_owned(),
            attachments: vec![],
        }
    }

    fn message(role: Role, author: Option<&str>, body: &str, format: BodyFormat) -> Message {
        Message {
            id: Some("m1".into()),
            role,
            author: author.map(|name| Agent {
                name: Some(name.into()),
                ..Agent::default()
            }),
            body: body.into(),
            format,
            at: Some(T0),
            attachments: vec![],
        }
    }

    fn options(max_chars: usize) -> RenderOptions {
        RenderOptions::new(TimeZone::utc(), max_chars, None).unwrap()
    }

    fn entry(text: &str) -> String {
        format!("[2024-01-15 10:00:00 UTC] Visitor: {text}")
    }

    #[test]
    fn lines_are_ordered_by_time_then_message_id_whatever_the_input_order() {
        let minute = time::Duration::minutes(1);
        let lines = vec![
            line(T0 + minute * 2, "m9", Role::Visitor, None, "third"),
            line(T0 + minute, "m5b", Role::Agent, Some("Sam"), "second b"),
            line(T0, "m7", Role::Visitor, Some("Jane"), "first"),
            line(T0 + minute, "m5a", Role::Agent, Some("Sam"), "second a"),
        ];
        let expected = vec![
            "[2024-01-15 10:00:00 UTC] Jane (visitor): first\n\
             [2024-01-15 10:01:00 UTC] Sam (agent): second a\n\
             [2024-01-15 10:01:00 UTC] Sam (agent): second b\n\
             [2024-01-15 10:02:00 UTC] Visitor: third"
                .to_owned(),
        ];
        assert_eq!(render_parts(&lines, &options(32_000)), expected);
        let mut reversed = lines.clone();
        reversed.reverse();
        reversed.push(lines[0].clone());
        assert_eq!(render_parts(&reversed, &options(32_000)), expected);
    }

    #[test]
    fn times_are_shown_in_the_tenant_zone_with_its_abbreviation() {
        let berlin = parse_time_zone("Europe/Berlin").unwrap();
        let winter = line(
            datetime!(2024-01-15 09:30:05 UTC),
            "1",
            Role::Visitor,
            None,
            "hi",
        );
        let summer = line(
            datetime!(2024-07-01 10:00:00 UTC),
            "2",
            Role::Visitor,
            None,
            "hi",
        );
        assert_eq!(
            render_line(&winter, &berlin),
            "[2024-01-15 10:30:05 CET] Visitor: hi"
        );
        assert_eq!(
            render_line(&summer, &berlin),
            "[2024-07-01 12:00:00 CEST] Visitor: hi"
        );
        assert_eq!(
            render_line(&summer, &TimeZone::utc()),
            "[2024-07-01 10:00:00 UTC] Visitor: hi"
        );
        let new_york = parse_time_zone("America/New_York").unwrap();
        assert_eq!(
            render_line(&winter, &new_york),
            "[2024-01-15 04:30:05 EST] Visitor: hi"
        );
        // A zone without letters for its abbreviation shows the offset.
        let dubai = parse_time_zone("Asia/Dubai").unwrap();
        assert_eq!(
            render_line(&summer, &dubai),
            "[2024-07-01 14:00:00 +04] Visitor: hi"
        );
        // The instant counts, not the offset it was written with.
        let offset = line(
            datetime!(2024-01-15 10:30:05 +01:00),
            "1",
            Role::Visitor,
            None,
            "hi",
        );
        assert_eq!(render_line(&offset, &berlin), render_line(&winter, &berlin));
        // Beyond the tz database's range the time is still shown, in UTC.
        let far = line(
            datetime!(9999-12-31 23:59:59 UTC),
            "1",
            Role::Visitor,
            None,
            "hi",
        );
        assert_eq!(
            render_line(&far, &berlin),
            "[9999-12-31 23:59:59 UTC] Visitor: hi"
        );
    }

    #[test]
    fn time_zones_are_iana_names_and_anything_else_is_refused() {
        assert_eq!(
            parse_time_zone("europe/berlin").unwrap().name(),
            "Europe/Berlin"
        );
        assert_eq!(parse_time_zone("UTC").unwrap(), TimeZone::utc());
        assert_eq!(TimeZone::utc().name(), "UTC");
        for bad in [
            "Mars/Olympus",
            "",
            "Etc/Unknown",
            "+02:00",
            "CET-1CEST",
            "../../etc/passwd",
        ] {
            assert_eq!(
                parse_time_zone(bad),
                Err(TranscriptError::UnknownTimeZone(bad.to_owned())),
                "{bad}"
            );
        }
        let err = parse_time_zone("Mars/Olympus").unwrap_err();
        assert_eq!(err.class(), ErrorClass::Configuration);
        assert!(err.to_string().contains("\"Mars/Olympus\""), "{err}");
    }

    #[test]
    fn notes_are_marked_internal_and_roles_stand_in_for_missing_authors() {
        let cases = [
            (
                Role::Note,
                Some("Sam"),
                "[2024-01-15 10:00:00 UTC] Sam (internal note): check",
            ),
            (
                Role::Note,
                None,
                "[2024-01-15 10:00:00 UTC] Internal note: check",
            ),
            (
                Role::Bot,
                Some("Fin"),
                "[2024-01-15 10:00:00 UTC] Fin (bot): check",
            ),
            (Role::Bot, None, "[2024-01-15 10:00:00 UTC] Bot: check"),
            (Role::Agent, None, "[2024-01-15 10:00:00 UTC] Agent: check"),
        ];
        for (role, author, expected) in cases {
            let line = line(T0, "1", role, author, "check");
            assert_eq!(render_line(&line, &TimeZone::utc()), expected);
        }
    }

    #[test]
    fn the_module_example_is_what_is_rendered() {
        let berlin = parse_time_zone("Europe/Berlin").unwrap();
        let mut first = Line::from_message(
            &Message {
                attachments: vec![Attachment {
                    name: Some("receipt.pdf".into()),
                    url: "https://files.example.com/r/1".into(),
                    content_type: None,
                    size: None,
                }],
                at: Some(datetime!(2024-01-15 09:30:05 UTC)),
                ..message(
                    Role::Visitor,
                    Some("Jane Doe"),
                    "Hello, my order has not arrived.\r\n\r\nIt was due on Monday.  ",
                    BodyFormat::Text,
                )
            },
            T0,
            &no_redaction(),
        );
        first.id = Some("a".into());
        let note = line(
            datetime!(2024-01-15 09:31:00 UTC),
            "b",
            Role::Note,
            Some("Sam"),
            "Checking with the warehouse",
        );
        let parts = render_parts(
            &[note, first],
            &RenderOptions::new(berlin, 4_000, None).unwrap(),
        );
        assert_eq!(
            parts,
            [
                "[2024-01-15 10:30:05 CET] Jane Doe (visitor): Hello, my order has not arrived.\n  \
              It was due on Monday.\n  \
              Attachment: receipt.pdf <https://files.example.com/r/1>\n\
              [2024-01-15 10:31:00 CET] Sam (internal note): Checking with the warehouse"
            ]
        );
    }

    #[test]
    fn html_bodies_become_readable_text() {
        let html = "<p>Hello&nbsp;there,</p>\n<p class=\"x\">line one<br>line two &amp; more \
            &lt;ok&gt; &eacute;t&eacute; &#128512;</p><ul><li>first</li><li>second</li></ul>\
            <ol start=\"3\"><li>three</li></ol><p>See <a href=\"https://example.com/help\">our \
            help</a> or <A HREF='https://example.com/x'>https://example.com/x</A> or \
            <a href=\"javascript:alert(1)\">this</a>.</p><script>alert('<p>no</p>')</script>\
            <style>p { color: red }</style><img src=\"https://cdn.example.com/i.png\" \
            alt=\"screenshot\"><!-- hidden <p>comment</p> --><p>a < b and I <3 you</p>\
            <pre>  code\n    indented</pre><p>unclosed <b";
        let line = Line::from_message(
            &message(Role::Agent, Some("Sam"), html, BodyFormat::Html),
            T0,
            &no_redaction(),
        );
        assert_eq!(
            line.text,
            "Hello there,\n\
             line one\n\
             line two & more <ok> été 😀\n\
             - first\n\
             - second\n\
             3. three\n\
             See our help <https://example.com/help> or https://example.com/x or this.\n\
             [image: screenshot] <https://cdn.example.com/i.png>\n\
             a < b and I <3 you\n  \
             code\n    \
             indented\n\
             unclosed <b"
        );
        assert_eq!(
            render_line(&line, &TimeZone::utc()),
            "[2024-01-15 10:00:00 UTC] Sam (agent): Hello there,\n  \
             line one\n  \
             line two & more <ok> été 😀\n  \
             - first\n  \
             - second\n  \
             3. three\n  \
             See our help <https://example.com/help> or https://example.com/x or this.\n  \
             [image: screenshot] <https://cdn.example.com/i.png>\n  \
             a < b and I <3 you\n    \
             code\n      \
             indented\n  \
             unclosed <b"
        );
    }

    #[test]
    fn html_is_redacted_after_it_becomes_text() {
        let redactor = Redactor::new(true, &[]).unwrap();
        let html = "<p>card 4111 <b>1111</b> 1111&nbsp;1111</p><p>order &#52;111111111111112</p>";
        let line = Line::from_message(
            &message(Role::Visitor, None, html, BodyFormat::Html),
            T0,
            &redactor,
        );
        assert_eq!(
            line.text,
            "card [card number removed]\norder 4111111111111112"
        );
    }

    #[test]
    fn attachments_are_listed_with_name_and_url() {
        let redactor = Redactor::new(true, &[]).unwrap();
        let mut m = message(Role::Visitor, Some(" Jane\n Doe "), "", BodyFormat::Text);
        m.attachments = vec![
            Attachment {
                name: Some("card 4111111111111111.jpg".into()),
                url: "https://files.example.com/4111111111111111.jpg".into(),
                content_type: Some("image/jpeg".into()),
                size: Some(10),
            },
            Attachment {
                name: None,
                url: " https://files.example.com/r/2\n".into(),
                content_type: None,
                size: None,
            },
        ];
        let only_files = Line::from_message(&m, T0, &redactor);
        assert_eq!(
            render_line(&only_files, &TimeZone::utc()),
            "[2024-01-15 10:00:00 UTC] Jane Doe (visitor): \
             Attachment: card [card number removed].jpg <https://files.example.com/4111111111111111.jpg>\n  \
             Attachment: <https://files.example.com/r/2>"
        );
        m.body = "Here they are".into();
        let with_text = Line::from_message(&m, T0, &redactor);
        assert_eq!(
            render_line(&with_text, &TimeZone::utc()),
            "[2024-01-15 10:00:00 UTC] Jane Doe (visitor): Here they are\n  \
             Attachment: card [card number removed].jpg <https://files.example.com/4111111111111111.jpg>\n  \
             Attachment: <https://files.example.com/r/2>"
        );
        m.attachments.clear();
        m.body = " \n ".into();
        assert_eq!(
            render_line(&Line::from_message(&m, T0, &redactor), &TimeZone::utc()),
            "[2024-01-15 10:00:00 UTC] Jane Doe (visitor): (empty message)"
        );
    }

    #[test]
    fn lines_keep_author_names_and_fall_back_for_missing_facts() {
        let redactor = Redactor::new(true, &["Doe".to_owned()]).unwrap();
        let mut m = message(
            Role::Agent,
            Some("Jane Doe"),
            "Doe 4111111111111111",
            BodyFormat::Text,
        );
        m.at = None;
        m.id = None;
        let later = T0 + time::Duration::hours(1);
        let line = Line::from_message(&m, later, &redactor);
        assert_eq!(line.at, later);
        assert_eq!(line.id, None);
        assert_eq!(line.author.as_deref(), Some("Jane Doe"));
        assert_eq!(line.text, "[removed] [card number removed]");
        m.author = Some(Agent {
            name: Some("  ".into()),
            email: Some("sam@example.com".into()),
            id: None,
        });
        m.at = Some(datetime!(2024-01-15 11:00:00 +01:00));
        let by_email = Line::from_message(&m, later, &redactor);
        assert_eq!(by_email.author.as_deref(), Some("sam@example.com"));
        assert_eq!(by_email.at.offset(), time::UtcOffset::UTC);
        assert_eq!(by_email.at, T0);
    }

    #[test]
    fn lines_round_trip_through_json() {
        let mut l = line(T0, "m1", Role::Note, Some("Sam"), "hi\nthere");
        l.attachments.push(LineAttachment {
            name: None,
            url: "https://x".into(),
        });
        let json = serde_json::to_value(&l).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "at": "2024-01-15T10:00:00Z",
                "id": "m1",
                "role": "note",
                "author": "Sam",
                "text": "hi\nthere",
                "attachments": [{"url": "https://x"}],
            })
        );
        assert_eq!(serde_json::from_value::<Line>(json).unwrap(), l);
    }

    #[test]
    fn parts_hold_whole_lines_up_to_the_exact_limit() {
        let (a, b) = ("a".repeat(40), "b".repeat(40));
        let lines = [
            line(T0, "1", Role::Visitor, None, &a),
            line(T0, "2", Role::Visitor, None, &b),
        ];
        let both = format!("{}\n{}", entry(&a), entry(&b));
        let exact = utf16_len(&both);
        assert_eq!(exact, 2 * 75 + 1);
        assert_eq!(render_parts(&lines, &options(exact)), [both]);
        assert_eq!(
            render_parts(&lines, &options(exact - 1)),
            [
                entry(&a),
                format!("Transcript part 2, continued\n{}", entry(&b))
            ]
        );
    }

    #[test]
    fn a_line_longer_than_a_part_continues_with_markers() {
        let long = "x".repeat(150);
        let lines = [
            line(T0, "1", Role::Visitor, None, &long),
            line(T0, "2", Role::Visitor, None, "after"),
        ];
        let parts = render_parts(&lines, &options(100));
        let x = |n| "x".repeat(n);
        assert_eq!(
            parts,
            [
                format!("{}\n(continues in the next part)", entry(&x(36))),
                format!(
                    "Transcript part 2, continued\n(continued) {}\n(continues in the next part)",
                    x(30)
                ),
                format!(
                    "Transcript part 3, continued\n(continued) {}\n(continues in the next part)",
                    x(30)
                ),
                format!("Transcript part 4, continued\n(continued) {}", x(54)),
                format!("Transcript part 5, continued\n{}", entry("after")),
            ]
        );
        assert!(parts[..3].iter().all(|p| utf16_len(p) == 100));
    }

    #[test]
    fn a_long_line_is_split_at_a_row_or_word_break() {
        let words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu";
        let lines = [line(
            T0,
            "1",
            Role::Visitor,
            None,
            &format!("{words}\n{words}"),
        )];
        let parts = render_parts(&lines, &options(100));
        assert_eq!(
            parts,
            [
                format!(
                    "{}\n(continues in the next part)",
                    entry("alpha beta gamma delta epsilon zeta")
                ),
                "Transcript part 2, continued\n\
                 (continued) eta theta iota kappa lambda\n\
                 (continues in the next part)"
                    .to_owned(),
                // A row break early in the room would leave a short part: a space is taken.
                "Transcript part 3, continued\n\
                 (continued) mu\n  alpha beta gamma delta\n\
                 (continues in the next part)"
                    .to_owned(),
                "Transcript part 4, continued\n\
                 (continued) epsilon zeta eta theta iota kappa lambda mu"
                    .to_owned(),
            ]
        );
    }

    #[test]
    fn lengths_are_counted_in_utf16_code_units() {
        // 😀 is one char, four bytes and two UTF-16 code units.
        let fits = format!("{}a", "😀".repeat(32));
        let lines = [line(T0, "1", Role::Visitor, None, &fits)];
        assert_eq!(utf16_len(&entry(&fits)), 100);
        assert_eq!(render_parts(&lines, &options(100)), [entry(&fits)]);
        let over = "😀".repeat(33);
        let lines = [line(T0, "1", Role::Visitor, None, &over)];
        assert_eq!(
            render_parts(&lines, &options(100)),
            [
                format!("{}\n(continues in the next part)", entry(&"😀".repeat(18))),
                format!(
                    "Transcript part 2, continued\n(continued) {}",
                    "😀".repeat(15)
                ),
            ]
        );
        // Zero-width and combining characters are one unit each, like Salesforce counts them.
        assert_eq!(utf16_len("e\u{301}\u{200b}"), 3);
    }

    #[test]
    fn earlier_parts_do_not_change_when_lines_are_appended() {
        let all: Vec<Line> = (0..60)
            .map(|i| {
                let text = if i == 20 {
                    "long ".repeat(100)
                } else {
                    format!("message {i} {}", "ab".repeat(i % 7))
                };
                line(
                    T0 + time::Duration::seconds(i as i64),
                    &format!("{i:03}"),
                    Role::Visitor,
                    None,
                    &text,
                )
            })
            .collect();
        let options = options(300);
        let mut before = render_parts(&all[..10], &options);
        for n in 11..=all.len() {
            let after = render_parts(&all[..n], &options);
            let last = before.len() - 1;
            assert_eq!(after[..last], before[..last], "appending line {n}");
            assert!(after[last].starts_with(&before[last]), "appending line {n}");
            before = after;
        }
        assert!(before.len() > 5);
    }

    #[test]
    fn the_first_part_header_opens_the_first_part_only() {
        let header = "Conversation: Refund request\nhttps://app.example.com/c/1".to_owned();
        let options = RenderOptions::new(TimeZone::utc(), 100, Some(header.clone())).unwrap();
        let lines = [line(T0, "1", Role::Visitor, None, "hello there")];
        assert_eq!(
            render_parts(&lines, &options),
            [
                header.clone(),
                format!("Transcript part 2, continued\n{}", entry("hello there"))
            ]
        );
        assert_eq!(render_parts(&[], &options), [header]);
        assert!(render_parts(&[], &self::options(100)).is_empty());
        let blank = RenderOptions::new(TimeZone::utc(), 100, Some(" ".into())).unwrap();
        assert!(render_parts(&[], &blank).is_empty());
    }

    #[test]
    fn parts_too_small_for_the_markers_are_refused() {
        assert_eq!(
            RenderOptions::new(TimeZone::utc(), 99, None).unwrap_err(),
            TranscriptError::PartTooSmall(99)
        );
        assert!(RenderOptions::new(TimeZone::utc(), 0, None).is_err());
        assert!(RenderOptions::new(TimeZone::utc(), MIN_PART_CHARS, None).is_ok());
    }

    #[test]
    fn a_huge_message_is_split_without_loss() {
        let huge = "word ".repeat(60_000);
        let lines = [line(T0, "1", Role::Visitor, None, &huge)];
        let parts = render_parts(&lines, &options(4_000));
        assert!(parts.iter().all(|p| utf16_len(p) <= 4_000));
        let words: usize = parts.iter().map(|p| p.matches("word").count()).sum();
        assert_eq!(words, 60_000);
        assert_eq!(parts.len(), 77);
    }

    /// The parts without continuation headers and split markers, as one text.
    fn joined_without_headers(parts: &[String]) -> String {
        let mut out = String::new();
        for (i, part) in parts.iter().enumerate() {
            let mut body = part.as_str();
            if i > 0 {
                let header = format!("Transcript part {}, continued\n", i + 1);
                body = body
                    .strip_prefix(header.as_str())
                    .expect("continuation header");
                body = body.strip_prefix(SPLIT_START).unwrap_or(body);
            }
            body = body.strip_suffix(SPLIT_END).unwrap_or(body);
            out.push_str(body);
            out.push('\n');
        }
        out
    }

    fn without_whitespace(text: &str) -> String {
        text.chars().filter(|c| !c.is_whitespace()).collect()
    }

    fn arb_line() -> impl Strategy<Value = Line> {
        (
            0i64..200,
            proptest::option::of("[a-c]{1,2}"),
            prop_oneof![
                Just(Role::Visitor),
                Just(Role::Agent),
                Just(Role::Bot),
                Just(Role::Note)
            ],
            proptest::option::of("[A-Za-zé😀 ]{0,10}"),
            prop_oneof![
                "[a-z😀é\u{200b} \n-]{0,80}",
                "[a-z😀 \n]{200,700}",
                "[\\PC]{0,300}",
            ],
        )
            .prop_map(|(seconds, id, role, author, text)| Line {
                at: T0 + time::Duration::seconds(seconds),
                id,
                role,
                author,
                text,
                attachments: vec![],
            })
    }

    proptest! {
        #[test]
        fn every_line_survives_and_every_part_fits(
            lines in proptest::collection::vec(arb_line(), 0..25),
            max_chars in MIN_PART_CHARS..700,
        ) {
            let parts = render_parts(&lines, &options(max_chars));
            for part in &parts {
                prop_assert!(utf16_len(part) <= max_chars, "{} > {max_chars}", utf16_len(part));
            }
            let joined = without_whitespace(&joined_without_headers(&parts));
            for l in &lines {
                prop_assert!(joined.contains(&without_whitespace(&l.text)));
            }
            let mut sorted = lines.clone();
            sorted.sort_by(order);
            sorted.dedup();
            let entries: String = sorted.iter().map(|l| render_line(l, &TimeZone::utc())).collect();
            prop_assert_eq!(joined, without_whitespace(&entries));
        }

        #[test]
        fn any_body_converts_and_redacts_without_panicking(body in "\\PC{0,200}|[<>&;#a-z0-9 /=\"']{0,200}") {
            let redactor = Redactor::new(true, &["[0-9]{3}".to_owned()]).unwrap();
            let html = message(Role::Visitor, None, &body, BodyFormat::Html);
            let text = message(Role::Visitor, None, &body, BodyFormat::Text);
            Line::from_message(&html, T0, &redactor);
            Line::from_message(&text, T0, &redactor);
        }
    }
}
