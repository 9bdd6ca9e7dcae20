//! Identity: who a chat visitor is in Salesforce. Pure: normalisation of what the platform
//! says (`normalize`), the tenant's deterministic rule chain over the candidates Salesforce
//! returns (`rules`), and what to create when nothing matches (`create`). The resolver
//! function does the I/O (links table, Salesforce lookup) around these.

pub mod create;
pub mod lookup;
pub mod normalize;
pub mod rules;

use crate::event::Visitor;
use serde::{Deserialize, Serialize};

/// A visitor's identity keys, normalised for matching.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keys {
    pub platform_contact_id: Option<String>,
    pub external_id: Option<String>,
    /// Trimmed, lower-cased, validated.
    pub email: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    pub visitor_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The platform's company field, else the e-mail domain unless it is a free-mail domain.
    pub company: Option<String>,
    pub company_domain: Option<String>,
}

impl Keys {
    /// Normalises what an event says about its visitor; `default_region` reads national
    /// phone numbers (ISO 3166, e.g. "US", "GB").
    pub fn from_visitor(v: &Visitor, default_region: &str) -> Keys {
        let email = v.email.as_deref().and_then(normalize::email);
        let (first, last) = match (&v.first_name, &v.last_name) {
            (None, None) => v
                .name
                .as_deref()
                .map(normalize::split_name)
                .unwrap_or_default(),
            (f, l) => (clean(f.as_deref()), clean(l.as_deref())),
        };
        let domain = v
            .company_domain
            .as_deref()
            .and_then(normalize::domain)
            .or_else(|| {
                email
                    .as_deref()
                    .and_then(|e| e.rsplit_once('@'))
                    .map(|(_, d)| d.to_owned())
                    .filter(|d| !normalize::is_free_mail(d))
            });
        Keys {
            platform_contact_id: clean(v.contact_id.as_deref()),
            external_id: clean(v.external_id.as_deref()),
            phone: v
                .phone
                .as_deref()
                .and_then(|p| normalize::phone(p, default_region)),
            visitor_id: clean(v.visitor_id.as_deref()),
            first_name: first,
            last_name: last,
            company: normalize::company(v.company_name.as_deref(), email.as_deref()),
            company_domain: domain,
            email,
        }
    }
}

fn clean(s: Option<&str>) -> Option<String> {
    let s = s?.trim();
    (!s.is_empty()).then(|| s.to_owned())
}
