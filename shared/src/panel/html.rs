//! The web panel for platforms without a third-party sidebar (respond.io, Tidio, CloudCX): the
//! same view as the Intercom canvas, as one small server-rendered HTML page: no script, no
//! external asset, readable at sidebar width (a single column), every value escaped.

use super::{PanelView, record_url};

/// Text for HTML: the five characters HTML reads, escaped.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:0;padding:12px;max-width:420px;\
color:#1b1b1b}h1{font-size:18px;margin:0 0 8px}h2{font-size:15px;margin:16px 0 6px}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 10px;margin:0}dt{color:#555}\
dd{margin:0;overflow-wrap:anywhere}ul{padding-left:18px;margin:4px 0}a{color:#0b57d0}\
.muted{color:#555}";

fn rows(out: &mut String, rows: &[(&str, Option<&str>)]) {
    out.push_str("<dl>");
    for (field, value) in rows {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            out.push_str(&format!("<dt>{}</dt><dd>{}</dd>", escape(field), escape(v)));
        }
    }
    out.push_str("</dl>");
}

fn link(out: &mut String, url: &str, label: &str) {
    out.push_str(&format!(
        "<p><a href=\"{}\" target=\"_blank\" rel=\"noopener noreferrer\">{}</a></p>",
        escape(url),
        escape(label)
    ));
}

/// The page for `view`.
pub fn page(view: &PanelView, instance_url: &str) -> String {
    let sobject = view.kind.sobject();
    let mut out = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} · Salesforce</title><style>{STYLE}</style></head><body><main>\
         <h1>{}</h1>",
        escape(&view.name),
        escape(&view.name)
    );
    let mut person: Vec<(&str, Option<&str>)> = vec![
        ("Type", Some(sobject)),
        ("Email", view.email.as_deref()),
        ("Company", view.company.as_deref()),
        ("Owner", view.owner.as_deref()),
    ];
    person.extend(
        view.fields
            .iter()
            .filter(|(f, _)| f != "Email")
            .map(|(f, v)| (f.as_str(), v.as_deref())),
    );
    rows(&mut out, &person);
    link(
        &mut out,
        &record_url(instance_url, sobject, &view.id),
        "Open in Salesforce",
    );
    if let Some(a) = &view.account {
        out.push_str("<section aria-labelledby=\"account\"><h2 id=\"account\">Account</h2>");
        rows(
            &mut out,
            &[
                ("Name", Some(a.name.as_str())),
                ("Domain", a.website.as_deref()),
                ("Owner", a.owner.as_deref()),
                ("Country", a.country.as_deref()),
            ],
        );
        link(
            &mut out,
            &record_url(instance_url, "Account", &a.id),
            "Open the Account",
        );
        out.push_str("</section>");
    }
    if !view.opportunities.is_empty() {
        out.push_str(&format!(
            "<section aria-labelledby=\"opportunities\"><h2 id=\"opportunities\">Open opportunities ({})</h2><ul>",
            view.opportunities.len()
        ));
        for o in &view.opportunities {
            let details: Vec<&str> = [
                o.stage.as_deref(),
                o.close_date.as_deref(),
                o.amount.as_deref(),
                o.owner.as_deref(),
            ]
            .into_iter()
            .flatten()
            .collect();
            out.push_str(&format!(
                "<li><a href=\"{}\" target=\"_blank\" rel=\"noopener noreferrer\">{}</a> \
                 <span class=\"muted\">{}</span></li>",
                escape(&record_url(instance_url, "Opportunity", &o.id)),
                escape(&o.name),
                escape(&details.join(" · "))
            ));
        }
        out.push_str("</ul></section>");
    }
    if view.kind == crate::event::resolution::PersonKind::Contact {
        out.push_str(&format!(
            "<section aria-labelledby=\"cases\"><h2 id=\"cases\">Open cases: {}</h2>",
            view.cases.len()
        ));
        if !view.cases.is_empty() {
            out.push_str("<ul>");
            for k in &view.cases {
                let title = format!(
                    "{} {}",
                    k.number.as_deref().unwrap_or(""),
                    k.subject.as_deref().unwrap_or("")
                );
                let status: Vec<&str> = [k.status.as_deref(), k.priority.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect();
                out.push_str(&format!(
                    "<li><a href=\"{}\" target=\"_blank\" rel=\"noopener noreferrer\">{}</a> \
                     <span class=\"muted\">{}</span></li>",
                    escape(&record_url(instance_url, "Case", &k.id)),
                    escape(title.trim()),
                    escape(&status.join(" · "))
                ));
            }
            out.push_str("</ul>");
        }
        out.push_str("</section>");
    }
    out.push_str("</main></body></html>");
    out
}

/// A page that only says something (not linked, a refusal, an error).
pub fn message(title: &str, text: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{t}</title><style>{STYLE}</style></head><body><main><h1>{t}</h1><p>{}</p>\
         </main></body></html>",
        escape(text),
        t = escape(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::resolution::PersonKind;
    use crate::panel::{AccountView, CaseView};

    #[test]
    fn the_page_shows_the_view_escaped_and_loads_nothing_from_elsewhere() {
        let view = PanelView {
            kind: PersonKind::Contact,
            id: "003x".into(),
            name: "Ada <script>alert(1)</script>".into(),
            email: Some("ada@example.org".into()),
            owner: None,
            company: None,
            fields: vec![("Title".into(), Some("Countess".into()))],
            account: Some(AccountView {
                id: "001x".into(),
                name: "Acme & Sons".into(),
                website: None,
                country: None,
                owner: None,
            }),
            opportunities: Vec::new(),
            cases: vec![CaseView {
                id: "500x".into(),
                number: Some("00001001".into()),
                subject: Some("Broken".into()),
                status: Some("New".into()),
                priority: None,
            }],
            last_modified: None,
        };
        let html = page(&view, "https://acme.my.salesforce.com");
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("Ada &lt;script&gt;"));
        assert!(html.contains("<dt>Title</dt><dd>Countess</dd>"));
        assert!(html.contains("Acme &amp; Sons"));
        assert!(html.contains("Open cases: 1"));
        assert!(html.contains("https://acme.my.salesforce.com/lightning/r/Case/500x/view"));
        assert!(!html.contains("src="), "no external asset");
    }
}
