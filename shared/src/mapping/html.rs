//! Chat bodies sent as HTML (Intercom) turned into readable text for the transcript, before
//! redaction sees them. Not a browser: enough for chat bodies, and never loses text.

/// Readable text from a chat platform's HTML: block elements and `<br>` start new rows, list
/// items get `- ` or `1. `, links keep their URL, images show as `[image]`, script and style
/// are dropped, entities are decoded. Not a browser: enough for chat bodies, and it never
/// loses text (a `<` that does not open a tag stays as written).
pub(crate) fn to_text(html: &str) -> String {
    let mut html_out = HtmlText::default();
    let bytes = html.as_bytes();
    let mut pos = 0;
    while pos < bytes.len() {
        if bytes[pos] == b'<'
            && let Some(end) = html_out.markup(html, pos)
        {
            pos = end;
            continue;
        }
        // Text up to the next `<`; `pos` itself may be a `<` that opened no tag.
        let from = if bytes[pos] == b'<' { pos + 1 } else { pos };
        let next = html[from..].find('<').map_or(html.len(), |i| from + i);
        html_out.text(&html[pos..next]);
        pos = next;
    }
    html_out.out
}

#[derive(Default)]
struct HtmlText {
    out: String,
    /// Depth of `<pre>`: whitespace is kept inside.
    pre: usize,
    /// Open lists: `None` for `<ul>`, the next number for `<ol>`.
    lists: Vec<Option<u64>>,
    /// Open links: the URL worth showing and where the link text starts in `out`.
    links: Vec<(Option<String>, usize)>,
}

/// Elements that stand on their own rows.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tr",
    "ul",
];

/// Elements whose content is not text for a reader.
const SKIPPED: &[&str] = &["head", "noscript", "script", "style", "template", "title"];

impl HtmlText {
    fn new_row(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with('\n') {
            self.out.push('\n');
        }
    }

    fn text(&mut self, raw: &str) {
        let text = if self.pre > 0 {
            raw.to_owned()
        } else {
            // Whitespace runs are one space, and none at the start of a row.
            let mut after_space = self.out.is_empty() || self.out.ends_with(['\n', ' ']);
            let mut collapsed = String::with_capacity(raw.len());
            for c in raw.chars() {
                if !c.is_ascii_whitespace() {
                    collapsed.push(c);
                    after_space = false;
                } else if !after_space {
                    collapsed.push(' ');
                    after_space = true;
                }
            }
            collapsed
        };
        self.out.push_str(&html_escape::decode_html_entities(&text));
    }

    /// Handles the markup starting at `pos` (a `<`) and returns where it ends, or `None` when
    /// the `<` opens no markup and is text.
    fn markup(&mut self, html: &str, pos: usize) -> Option<usize> {
        let rest = &html[pos..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            return Some(comment.find("-->").map_or(html.len(), |i| pos + 4 + i + 3));
        }
        if rest.starts_with("<!") || rest.starts_with("<?") {
            return match rest.find('>') {
                Some(i) => Some(pos + i + 1),
                None => {
                    // Open to the end: the rest is text (see below).
                    self.text(rest);
                    Some(html.len())
                }
            };
        }
        let Some(tag) = parse_tag(rest) else {
            let name_at = if rest.starts_with("</") { 2 } else { 1 };
            let opens_tag = rest
                .as_bytes()
                .get(name_at)
                .is_some_and(u8::is_ascii_alphabetic);
            if !opens_tag {
                return None;
            }
            // A tag left open to the end: kept as text rather than lost, and all of the rest
            // at once, since parsing again from every later `<` would be quadratic.
            self.text(rest);
            return Some(html.len());
        };
        let end = pos + tag.len;
        let name = tag.name.as_str();
        if tag.closing {
            self.close(name);
            return Some(end);
        }
        if SKIPPED.contains(&name) && !tag.self_closing {
            // Raw text up to the matching end tag.
            let close = format!("</{name}");
            let after = &html[end..];
            return Some(
                find_ascii_case_insensitive(after, &close)
                    .and_then(|i| after[i..].find('>').map(|j| end + i + j + 1))
                    .unwrap_or(html.len()),
            );
        }
        self.open(&tag);
        Some(end)
    }

    fn open(&mut self, tag: &Tag) {
        let name = tag.name.as_str();
        match name {
            "br" => self.out.push('\n'),
            "li" => {
                self.new_row();
                let marker = match self.lists.last_mut() {
                    Some(Some(number)) => {
                        let marker = format!("{number}. ");
                        *number = number.saturating_add(1);
                        marker
                    }
                    _ => "- ".to_owned(),
                };
                self.out.push_str(&marker);
            }
            "td" | "th" if !self.out.is_empty() && !self.out.ends_with(['\n', ' ']) => {
                self.out.push(' ');
            }
            "a" => {
                let href = tag.attr("href").filter(|h| shows_url(h));
                self.links.push((href, self.out.len()));
            }
            "img" => {
                match tag
                    .attr("alt")
                    .map(|a| super::text::single_line(&a))
                    .filter(|a| !a.is_empty())
                {
                    Some(alt) => self.out.push_str(&format!("[image: {alt}]")),
                    None => self.out.push_str("[image]"),
                }
                if let Some(src) = tag.attr("src").filter(|s| shows_url(s)) {
                    self.out.push_str(&format!(" <{src}>"));
                }
            }
            _ if BLOCKS.contains(&name) => {
                self.new_row();
                match name {
                    "pre" => self.pre += 1,
                    "ul" => self.lists.push(None),
                    "ol" => {
                        let start = tag.attr("start").and_then(|s| s.trim().parse().ok());
                        self.lists.push(Some(start.unwrap_or(1)));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    fn close(&mut self, name: &str) {
        match name {
            "a" => {
                if let Some((Some(href), start)) = self.links.pop() {
                    let text = self.out.get(start..).unwrap_or_default().trim();
                    let plain = href.strip_prefix("mailto:").unwrap_or(&href);
                    if text.is_empty() {
                        self.out.push_str(&href);
                    } else if text != href && text != plain {
                        self.out.push_str(&format!(" <{href}>"));
                    }
                }
            }
            "li" => self.new_row(),
            // Browsers read a stray `</br>` as `<br>`.
            "br" => self.out.push('\n'),
            _ if BLOCKS.contains(&name) => {
                self.new_row();
                match name {
                    "pre" => self.pre = self.pre.saturating_sub(1),
                    "ul" | "ol" => {
                        self.lists.pop();
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

/// Links and image sources worth printing: not `javascript:`, not a page of base64 `data:`.
fn shows_url(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    ["http://", "https://", "mailto:", "tel:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
}

fn find_ascii_case_insensitive(haystack: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

struct Tag {
    /// Lower-case.
    name: String,
    closing: bool,
    self_closing: bool,
    /// Lower-case names; values with entities decoded.
    attrs: Vec<(String, String)>,
    /// Bytes from `<` to `>` inclusive.
    len: usize,
}

impl Tag {
    fn attr(&self, name: &str) -> Option<String> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim().to_owned())
    }
}

/// Parses the tag at the start of `text`; `None` when it is not a tag (`a < b`, `<3`) or is
/// not closed before the end of the text.
fn parse_tag(text: &str) -> Option<Tag> {
    let bytes = text.as_bytes();
    let mut i = 1;
    let closing = bytes.get(i) == Some(&b'/');
    if closing {
        i += 1;
    }
    if !bytes.get(i)?.is_ascii_alphabetic() {
        return None;
    }
    let name_start = i;
    while bytes
        .get(i)
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'-')
    {
        i += 1;
    }
    let name = text[name_start..i].to_ascii_lowercase();
    let mut attrs = Vec::new();
    let mut self_closing = false;
    loop {
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        match *bytes.get(i)? {
            b'>' => break,
            b'/' => {
                self_closing = true;
                i += 1;
                continue;
            }
            _ => self_closing = false,
        }
        let attr_start = i;
        while bytes
            .get(i)
            .is_some_and(|b| !b.is_ascii_whitespace() && !matches!(b, b'=' | b'>' | b'/'))
        {
            i += 1;
        }
        let attr = text[attr_start..i].to_ascii_lowercase();
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        let mut value = "";
        if bytes.get(i) == Some(&b'=') {
            i += 1;
            while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            match *bytes.get(i)? {
                quote @ (b'"' | b'\'') => {
                    let close = text[i + 1..].find(char::from(quote))?;
                    value = &text[i + 1..i + 1 + close];
                    i += close + 2;
                }
                _ => {
                    let start = i;
                    while bytes
                        .get(i)
                        .is_some_and(|b| !b.is_ascii_whitespace() && *b != b'>')
                    {
                        i += 1;
                    }
                    value = &text[start..i];
                }
            }
        }
        if !attr.is_empty() {
            attrs.push((attr, html_escape::decode_html_entities(value).into_owned()));
        }
    }
    Some(Tag {
        name,
        closing,
        self_closing,
        attrs,
        len: i + 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::text::normalize_text;

    #[test]
    fn html_left_open_or_odd_keeps_its_text() {
        let cases = [
            ("<p>a</p><p title=\"x>b", "a\n<p title=\"x>b"),
            ("x <?php echo 1", "x <?php echo 1"),
            ("x <!-- never closed", "x"),
            ("<script>never closed", ""),
            (
                "<table><tr><td>a</td><td>b</td></tr><tr><th>c</th></tr></table>",
                "a b\nc",
            ),
            ("one</br>two<br/>three<BR >four", "one\ntwo\nthree\nfour"),
            (
                "fish &amp chips &unknown; &#0; &#x110000;",
                "fish &amp chips &unknown; &#0; &#x110000;",
            ),
            (
                "<a href=\"mailto:jane@example.com\">jane@example.com</a>",
                "jane@example.com",
            ),
            ("<a href=\"https://x.example\"></a>", "https://x.example"),
            ("<img src=\"data:image/png;base64,AAAA\">", "[image]"),
        ];
        for (html, text) in cases {
            assert_eq!(normalize_text(&to_text(html)), text, "{html}");
        }
        // Linear even when every `<` opens a tag that never closes.
        let many = "<a b=\"".repeat(50_000);
        assert_eq!(to_text(&many).len(), many.len());
    }
}
