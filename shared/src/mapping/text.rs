//! Plain-text clean-up for transcript rows.

/// One row: whitespace runs (newlines too) become one space, control characters go.
pub(crate) fn single_line(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Rows split on any line break, control characters dropped, trailing space and blank rows
/// removed. Blank rows go because the transcript indents a message's rows: an empty one
/// would look like the end of the message.
pub(crate) fn normalize_text(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let rows = text
        .split(['\n', '\r', '\u{2028}', '\u{2029}', '\u{0b}', '\u{0c}'])
        .map(|row| {
            row.chars()
                .map(|c| if c == '\u{a0}' { ' ' } else { c })
                .filter(|c| *c == '\t' || !c.is_control())
                .collect::<String>()
        })
        .map(|row| row.trim_end().to_owned())
        .filter(|row| !row.is_empty());
    let mut out = rows.collect::<Vec<_>>().join("\n");
    let leading = out.len() - out.trim_start().len();
    out.drain(..leading);
    out
}
