//! A small element-tree reader for Salesforce metadata files: simple XML with no attributes that
//! matter, so an XML crate would be dead weight.

/// An XML element: name, direct text and children. Attributes are ignored.
#[derive(Debug, Default)]
pub(super) struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub(super) fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
    pub(super) fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }
    pub(super) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Parses an XML document into its root element.
pub(super) fn parse_xml(src: &str) -> Result<Element, String> {
    let mut stack: Vec<Element> = vec![Element::default()];
    let mut rest = src;
    while !rest.is_empty() {
        match rest.find('<') {
            None => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&unescape(rest));
                }
                break;
            }
            Some(pos) => {
                let (text, tail) = rest.split_at(pos);
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&unescape(text));
                }
                if let Some(after) = tail.strip_prefix("<!--") {
                    let end = after.find("-->").ok_or("unterminated comment")?;
                    rest = after.get(end + 3..).unwrap_or("");
                    continue;
                }
                if let Some(after) = tail.strip_prefix("<?") {
                    let end = after.find("?>").ok_or("unterminated declaration")?;
                    rest = after.get(end + 2..).unwrap_or("");
                    continue;
                }
                let end = tail.find('>').ok_or("unterminated tag")?;
                let inner = tail.get(1..end).unwrap_or("");
                rest = tail.get(end + 1..).unwrap_or("");
                if let Some(name) = inner.strip_prefix('/') {
                    let done = stack.pop().ok_or("unbalanced close tag")?;
                    if done.name != name.trim() {
                        return Err(format!("expected </{}>, found </{}>", done.name, name));
                    }
                    stack
                        .last_mut()
                        .ok_or("unbalanced close tag")?
                        .children
                        .push(done);
                } else {
                    let self_closing = inner.ends_with('/');
                    let name = inner
                        .trim_end_matches('/')
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_string();
                    let el = Element {
                        name,
                        ..Element::default()
                    };
                    if self_closing {
                        stack.last_mut().ok_or("no parent")?.children.push(el);
                    } else {
                        stack.push(el);
                    }
                }
            }
        }
    }
    if stack.len() != 1 {
        return Err("unclosed element".into());
    }
    stack
        .pop()
        .and_then(|doc| doc.children.into_iter().next())
        .ok_or_else(|| "empty document".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_broken_xml() {
        assert!(parse_xml("<a><b></a>").is_err());
        assert!(parse_xml("<a>").is_err());
    }

    #[test]
    fn reads_text_and_children() {
        let root =
            parse_xml("<?xml version=\"1.0\"?><a x=\"1\"><!-- c --><b>1 &amp; 2</b><c/></a>");
        let root = root.unwrap_or_default();
        assert_eq!(root.name, "a");
        assert_eq!(root.text_of("b"), Some("1 & 2"));
        assert!(root.child("c").is_some());
    }
}
