//! Identity: who a chat visitor is in Salesforce. Pure: normalisation of what the platform
//! says (`normalize`), the tenant's deterministic rule chain over the candidates Salesforce
//! returns (`rules`), and what to create when nothing matches (`create`). The resolver
//! function does the I/O (links table, Salesforce lookup) around these.

pub mod accounts;
pub mod agents;
pub mod create;
pub mod enrich;
pub mod lookup;
pub mod normalize;
pub mod rules;
pub mod update;

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
    /// The visitor's own country (ISO 3166), when the platform says: national numbers on
    /// either side may be written as there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_region: Option<String>,
    /// The digits of a phone no numbering plan reads: matched only against the same digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_digits: Option<String>,
    pub visitor_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The platform's company field, else the e-mail domain unless it is a free-mail domain.
    pub company: Option<String>,
    pub company_domain: Option<String>,
    /// The platform's word for the person (Intercom `lead` / `user`), for `create_by_role`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

impl Keys {
    /// Normalises what an event says about its visitor; `default_region` reads national
    /// phone numbers (ISO 3166, e.g. "US", "GB").
    pub fn from_visitor(v: &Visitor, default_region: &str) -> Keys {
        let email = v.email.as_deref().and_then(normalize::email);
        // Blank first and last names (platforms send "") count as absent, so the full name
        // is used then.
        let (first, last) = match (
            clean(v.first_name.as_deref()),
            clean(v.last_name.as_deref()),
        ) {
            (None, None) => v
                .name
                .as_deref()
                .map(normalize::split_name)
                .unwrap_or_default(),
            (f, l) => (f, l),
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
        let phone_region = visitor_region(v);
        let phone = v.phone.as_deref().and_then(|p| {
            phone_region
                .as_deref()
                .and_then(|r| normalize::phone_in(p, r))
                .or_else(|| normalize::phone(p, default_region))
        });
        let phone_digits = match &phone {
            Some(_) => None,
            None => v.phone.as_deref().and_then(normalize::bare_digits),
        };
        Keys {
            platform_contact_id: clean(v.contact_id.as_deref()),
            external_id: clean(v.external_id.as_deref()),
            phone,
            phone_region,
            phone_digits,
            visitor_id: clean(v.visitor_id.as_deref()),
            first_name: first,
            last_name: last,
            company: normalize::company(v.company_name.as_deref(), email.as_deref()),
            company_domain: domain,
            role: clean(v.role.as_deref()).map(|r| r.to_lowercase()),
            email,
        }
    }
}

/// The visitor's country as the platform sends it among the contact's attributes (respond.io
/// `countryCode`; a `country` or `country_code` property), when it is an ISO 3166 alpha-2 code.
fn visitor_region(v: &Visitor) -> Option<String> {
    ["countryCode", "country_code", "country"]
        .iter()
        .filter_map(|k| v.custom_attributes.get(*k)?.as_str())
        .map(str::trim)
        .find(|c| c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()))
        .map(str::to_ascii_uppercase)
}

fn clean(s: Option<&str>) -> Option<String> {
    let s = s?.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visitor() -> Visitor {
        Visitor::default()
    }

    #[test]
    fn empty_visitor_gives_empty_keys() {
        assert_eq!(Keys::from_visitor(&visitor(), "US"), Keys::default());
    }

    #[test]
    fn full_visitor_is_normalised() {
        let v = Visitor {
            contact_id: Some(" 6543 ".into()),
            external_id: Some("cust-42".into()),
            email: Some("  Ada.Lovelace@Analytical.co.UK ".into()),
            phone: Some("020 7946 0958".into()),
            name: Some("Ada Lovelace".into()),
            visitor_id: Some("cookie-1".into()),
            ..visitor()
        };
        let k = Keys::from_visitor(&v, "GB");
        assert_eq!(
            k,
            Keys {
                platform_contact_id: Some("6543".into()),
                external_id: Some("cust-42".into()),
                email: Some("ada.lovelace@analytical.co.uk".into()),
                phone: Some("+442079460958".into()),
                visitor_id: Some("cookie-1".into()),
                first_name: Some("Ada".into()),
                last_name: Some("Lovelace".into()),
                company: Some("analytical.co.uk".into()),
                company_domain: Some("analytical.co.uk".into()),
                ..Keys::default()
            }
        );
    }

    #[test]
    fn the_visitors_country_reads_its_national_number_and_unreadable_digits_are_kept_apart() {
        let french = Visitor {
            phone: Some("06 12 34 56 78".into()),
            custom_attributes: serde_json::json!({"countryCode": "fr"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            ..visitor()
        };
        let k = Keys::from_visitor(&french, "US");
        assert_eq!(k.phone.as_deref(), Some("+33612345678"));
        assert_eq!(k.phone_region.as_deref(), Some("FR"));
        assert_eq!(k.phone_digits, None);
        // Without the country, the tenant's region reads it (a merely possible US number,
        // which matches only itself), never as French.
        let no_country = Visitor {
            custom_attributes: Default::default(),
            ..french
        };
        let k = Keys::from_visitor(&no_country, "US");
        assert_eq!(k.phone.as_deref(), Some("+10612345678"));
        assert_eq!((k.phone_region, k.phone_digits), (None, None));
        // A country that is not a code is ignored.
        let odd = Visitor {
            phone: Some("47 1193".into()),
            custom_attributes: serde_json::json!({"country": "France"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            ..visitor()
        };
        let k = Keys::from_visitor(&odd, "US");
        assert_eq!((k.phone, k.phone_region), (None, None));
        assert_eq!(k.phone_digits.as_deref(), Some("471193"));
    }

    #[test]
    fn phone_formats_give_the_same_key() {
        let a = Visitor {
            phone: Some("(555) 121-1212".into()),
            ..visitor()
        };
        let b = Visitor {
            phone: Some("+1 555 121 1212".into()),
            ..visitor()
        };
        let ka = Keys::from_visitor(&a, "US");
        let kb = Keys::from_visitor(&b, "DE");
        assert_eq!(ka.phone.as_deref(), Some("+15551211212"));
        assert_eq!(ka.phone, kb.phone);
    }

    #[test]
    fn national_phone_without_a_known_region_is_no_key() {
        let v = Visitor {
            phone: Some("020 7946 0958".into()),
            ..visitor()
        };
        assert_eq!(Keys::from_visitor(&v, "").phone, None);
        assert_eq!(
            Keys::from_visitor(&v, "gb").phone.as_deref(),
            Some("+442079460958")
        );
    }

    #[test]
    fn invalid_email_and_phone_are_dropped() {
        let v = Visitor {
            email: Some("n/a".into()),
            phone: Some("call me".into()),
            company_name: Some("Acme".into()),
            ..visitor()
        };
        let k = Keys::from_visitor(&v, "US");
        assert_eq!(k.email, None);
        assert_eq!(k.phone, None);
        assert_eq!(k.company.as_deref(), Some("Acme"));
        assert_eq!(k.company_domain, None);
    }

    #[test]
    fn explicit_first_and_last_names_win_over_the_full_name() {
        let v = Visitor {
            name: Some("Somebody Else".into()),
            first_name: Some(" Ada ".into()),
            last_name: Some("Lovelace".into()),
            ..visitor()
        };
        let k = Keys::from_visitor(&v, "US");
        assert_eq!(k.first_name.as_deref(), Some("Ada"));
        assert_eq!(k.last_name.as_deref(), Some("Lovelace"));
    }

    #[test]
    fn blank_first_and_last_names_fall_back_to_the_full_name() {
        let v = Visitor {
            name: Some("Lovelace, Ada".into()),
            first_name: Some("".into()),
            last_name: Some("  ".into()),
            ..visitor()
        };
        let k = Keys::from_visitor(&v, "US");
        assert_eq!(k.first_name.as_deref(), Some("Ada"));
        assert_eq!(k.last_name.as_deref(), Some("Lovelace"));
    }

    #[test]
    fn only_a_first_name_keeps_last_name_empty() {
        let v = Visitor {
            first_name: Some("Ada".into()),
            ..visitor()
        };
        let k = Keys::from_visitor(&v, "US");
        assert_eq!(k.first_name.as_deref(), Some("Ada"));
        assert_eq!(k.last_name, None);
    }

    #[test]
    fn free_mail_gives_no_company_or_domain() {
        let v = Visitor {
            email: Some("Ada@GMail.com".into()),
            ..visitor()
        };
        let k = Keys::from_visitor(&v, "US");
        assert_eq!(k.email.as_deref(), Some("ada@gmail.com"));
        assert_eq!(k.company, None);
        assert_eq!(k.company_domain, None);
    }

    #[test]
    fn company_domain_field_beats_the_email_domain() {
        let v = Visitor {
            email: Some("ada@mail.acme.com".into()),
            company_name: Some("Acme Ltd".into()),
            company_domain: Some("https://www.Acme.com/about".into()),
            ..visitor()
        };
        let k = Keys::from_visitor(&v, "US");
        assert_eq!(k.company.as_deref(), Some("Acme Ltd"));
        assert_eq!(k.company_domain.as_deref(), Some("acme.com"));
    }

    #[test]
    fn invalid_company_domain_falls_back_to_the_email_domain() {
        let v = Visitor {
            email: Some("ada@acme.io".into()),
            company_domain: Some("n/a".into()),
            ..visitor()
        };
        let k = Keys::from_visitor(&v, "US");
        assert_eq!(k.company_domain.as_deref(), Some("acme.io"));
        assert_eq!(k.company.as_deref(), Some("acme.io"));
    }

    #[test]
    fn blank_ids_are_absent() {
        let v = Visitor {
            contact_id: Some("   ".into()),
            external_id: Some("".into()),
            visitor_id: Some("\t".into()),
            ..visitor()
        };
        assert_eq!(Keys::from_visitor(&v, "US"), Keys::default());
    }
}
