//! Salesforce → chat, the decisions: what a changed Contact or Lead writes on a chat
//! platform's contact ([`contact`]), and whether that is an update, a creation or nothing
//! ([`decide`]). Pure, like the writer's plan; the chat writer does the I/O around it.
//!
//! What goes over: the person's e-mail, phone and names, and every `[[fields]]` mapping with
//! `direction = "to_chat"` or `"both"` whose `to` is the changed object's field, written as the
//! chat contact's custom attribute named in `from` (`visitor.custom_attributes.<name>`). A
//! value map applies backwards: the Salesforce value's chat key. A field the change does not
//! carry is left as it is on the platform, never blanked.

use super::policy::{FieldMapping, normalise_key};
use crate::event::change::ChangedFields;
use crate::event::resolution::PersonKind;
use crate::tenant::{FromSalesforce, TagRule};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

pub use super::policy::TO_CHAT_OBJECTS as OBJECTS;

/// The person a change concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Whom {
    pub kind: PersonKind,
    pub id: String,
    /// The change is the person's own record (else an Opportunity or Case of theirs).
    pub own: bool,
}

/// Whom a change of `sobject` `record_id` concerns, or why it reaches no one: a Contact or
/// Lead is its own person; an Opportunity or a Case concerns its `ContactId`.
pub fn whom(sobject: &str, record_id: &str, fields: &ChangedFields) -> Result<Whom, String> {
    match sobject {
        "Contact" | "Lead" => Ok(Whom {
            kind: if sobject == "Lead" {
                PersonKind::Lead
            } else {
                PersonKind::Contact
            },
            id: record_id.to_owned(),
            own: true,
        }),
        "Opportunity" | "Case" => match fields.get("ContactId").cloned().flatten() {
            Some(id) if !id.trim().is_empty() => Ok(Whom {
                kind: PersonKind::Contact,
                id: id.trim().to_owned(),
                own: false,
            }),
            _ => Err(format!(
                "the {sobject} names no ContactId (add it to the outbound message's fields)"
            )),
        },
        other => Err(format!("{other} changes are not sent to the chat")),
    }
}

/// The tags `fields` (a changed `sobject` record) earn under the tenant's rules.
pub fn tags(sobject: &str, fields: &ChangedFields, rules: &[TagRule]) -> BTreeSet<String> {
    rules
        .iter()
        .filter(|r| r.object == sobject)
        .filter_map(|r| {
            let value = fields.get(&r.field)?.as_deref()?.trim();
            let wanted = r
                .value
                .as_deref()
                .is_none_or(|v| normalise_key(v) == normalise_key(value));
            (wanted && !value.is_empty()).then(|| r.tag.replace("{value}", value).trim().to_owned())
        })
        .filter(|t| !t.is_empty())
        .collect()
}

/// Whether a change is a bulk import the tenant leaves out: created by one of its
/// `import_users` while `include_imports` is off.
pub fn is_left_out_import(fields: &ChangedFields, settings: &FromSalesforce) -> bool {
    let short = |id: &str| id.trim().get(..15).map(str::to_owned);
    !settings.include_imports
        && fields
            .get("CreatedById")
            .cloned()
            .flatten()
            .and_then(|id| short(&id))
            .is_some_and(|by| {
                settings
                    .import_users
                    .iter()
                    .any(|u| short(u) == Some(by.clone()))
            })
}

/// What a change says of the person, in the chat platform's terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatContact {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Custom attribute → value (None: cleared in Salesforce).
    pub attributes: BTreeMap<String, Option<String>>,
    /// Tags to add (`from_salesforce.tags`); never removed.
    pub tags: BTreeSet<String>,
}

impl ChatContact {
    pub fn is_empty(&self) -> bool {
        *self == ChatContact::default()
    }

    /// Whether there is anything but tags to write.
    pub fn has_fields(&self) -> bool {
        !ChatContact {
            tags: BTreeSet::new(),
            ..self.clone()
        }
        .is_empty()
    }
}

/// The chat contact fields `fields` (a changed `sobject` record) give.
pub fn contact(sobject: &str, fields: &ChangedFields, mappings: &[FieldMapping]) -> ChatContact {
    let text = |name: &str| {
        fields
            .get(name)
            .cloned()
            .flatten()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let mut out = ChatContact {
        email: text("Email").map(|e| e.to_lowercase()),
        phone: text("Phone").or_else(|| text("MobilePhone")),
        first_name: text("FirstName"),
        last_name: text("LastName"),
        attributes: BTreeMap::new(),
        tags: BTreeSet::new(),
    };
    if !matches!(sobject, "Contact" | "Lead") {
        // An event's record is not the person: its Email or Name is not theirs.
        out = ChatContact::default();
    }
    for m in mappings.iter().filter(|m| m.direction.to_chat()) {
        let (Some((object, field)), Some(attribute)) = (
            m.to.split_once('.'),
            m.from.strip_prefix("visitor.custom_attributes."),
        ) else {
            continue;
        };
        if object != sobject || out.attributes.contains_key(attribute) {
            continue;
        }
        let Some(value) = fields.get(field) else {
            continue;
        };
        let value = value.as_deref().map(|v| chat_value(m, v));
        match value {
            // A value the map does not know, under only_mapped, is not sent.
            Some(None) => {}
            Some(Some(v)) => {
                out.attributes.insert(attribute.to_owned(), Some(v));
            }
            None => {
                out.attributes.insert(attribute.to_owned(), None);
            }
        }
    }
    out
}

/// A Salesforce value in the chat's words: the first chat key (sorted) whose mapped value it
/// is, else the value itself unless `only_mapped`.
fn chat_value(m: &FieldMapping, salesforce: &str) -> Option<String> {
    let wanted = normalise_key(salesforce);
    match m
        .values
        .iter()
        .find(|(_, v)| normalise_key(v) == wanted)
        .map(|(k, _)| k.clone())
    {
        Some(key) => Some(key),
        None if m.only_mapped => None,
        None => Some(salesforce.to_owned()),
    }
}

/// The fields of `sobject` a change needs: the person's (with `CreatedById`, for bulk
/// imports) or the event's `ContactId`, every mapped one and every tag rule's.
pub fn fields_needed(sobject: &str, mappings: &[FieldMapping], rules: &[TagRule]) -> Vec<String> {
    let own: &[&str] = match sobject {
        "Contact" | "Lead" => &[
            "Email",
            "Phone",
            "MobilePhone",
            "FirstName",
            "LastName",
            "CreatedById",
        ],
        _ => &["ContactId"],
    };
    let mut fields: Vec<String> = own.iter().map(|f| (*f).to_owned()).collect();
    let mapped = mappings
        .iter()
        .filter(|m| m.direction.to_chat())
        .filter_map(|m| m.to.split_once('.'))
        .filter(|(object, _)| *object == sobject)
        .map(|(_, field)| field);
    let tagged = rules
        .iter()
        .filter(|r| r.object == sobject)
        .map(|r| r.field.as_str());
    for field in mapped.chain(tagged) {
        if !fields.iter().any(|f| f == field) {
            fields.push(field.to_owned());
        }
    }
    fields
}

/// What is known before writing one platform.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The platform contact chatsync linked to this record, if any.
    pub linked: Option<String>,
    /// The platform contact found by the person's e-mail or phone, if looked up and found.
    pub found: Option<String>,
    /// The tenant's `from_salesforce.auto_create`.
    pub auto_create: bool,
    /// The tenant's `from_salesforce.auto_create_tag` (empty: none).
    pub tag: String,
    /// The person has an e-mail or a phone the platform can key a new contact by.
    pub identifiable: bool,
    /// The platform can take writes (CloudCX documents no write API).
    pub writable: bool,
    /// The change is the person's own record; an event of theirs never creates them.
    pub own: bool,
    /// A bulk import the tenant leaves out ([`is_left_out_import`]): never created.
    pub left_out_import: bool,
}

/// What to do on one platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Update this platform contact with the change's fields.
    Update { contact_id: String },
    /// Create the contact, tagged with `tag` when there is one.
    Create { tag: Option<String> },
    /// Nothing, and why (for the sync log).
    Skip { reason: String },
}

pub fn decide(facts: &Facts, contact: &ChatContact) -> Decision {
    let skip = |reason: &str| Decision::Skip {
        reason: reason.to_owned(),
    };
    if !facts.writable {
        return skip("the platform has no API to write contacts");
    }
    if contact.is_empty() {
        return skip("the change carries nothing the tenant sends to the chat");
    }
    if let Some(id) = facts.linked.clone().or_else(|| facts.found.clone()) {
        return Decision::Update { contact_id: id };
    }
    if !facts.own {
        return skip("the person it concerns is not on the platform as far as chatsync knows");
    }
    if !facts.auto_create {
        return skip("not on the platform, and the tenant does not auto-create contacts");
    }
    if facts.left_out_import {
        return skip(
            "not on the platform, and created by a bulk import (from_salesforce.include_imports is off)",
        );
    }
    if !facts.identifiable {
        return skip("not on the platform, and no e-mail or phone to create it by");
    }
    let tag = facts.tag.trim();
    Decision::Create {
        tag: (!tag.is_empty()).then(|| tag.to_owned()),
    }
}

/// The hash of each field the contact carries (`email`, `phone`, `first_name`, `last_name`,
/// `attr:<name>`), to compare with what was last written.
pub fn hashes(contact: &ChatContact) -> BTreeMap<String, String> {
    let hash = |v: Option<&str>| {
        super::state::value_hash(&v.map_or(Value::Null, |s| Value::String(s.to_owned())))
    };
    let mut out = BTreeMap::new();
    for (name, value) in [
        ("email", &contact.email),
        ("phone", &contact.phone),
        ("first_name", &contact.first_name),
        ("last_name", &contact.last_name),
    ] {
        if let Some(v) = value {
            out.insert(name.to_owned(), hash(Some(v)));
        }
    }
    for (name, value) in &contact.attributes {
        out.insert(format!("attr:{name}"), hash(value.as_deref()));
    }
    for tag in &contact.tags {
        out.insert(format!("tag:{tag}"), hash(Some("1")));
    }
    out
}

/// What is new for the platform: the fields whose hash differs from what chatsync last wrote
/// there, and none of the attributes whose Salesforce value is the one chatsync itself wrote
/// to Salesforce from the chat (`marks`, the record's watermarks): sending those back would
/// echo the chat's own change.
pub fn news(
    sobject: &str,
    contact: &ChatContact,
    written: &BTreeMap<String, String>,
    marks: &super::state::RecordWatermarks,
    mappings: &[FieldMapping],
) -> ChatContact {
    let now = hashes(contact);
    let changed = |key: &str| now.get(key) != written.get(key);
    let from_chat = |attribute: &str, value: &Option<String>| {
        mappings
            .iter()
            .filter(|m| m.direction.to_chat())
            .filter(|m| m.from.strip_prefix("visitor.custom_attributes.") == Some(attribute))
            .filter_map(|m| m.to.split_once('.'))
            .filter(|(object, _)| *object == sobject)
            .any(|(_, field)| {
                marks.get(field).is_some_and(|mark| {
                    let v = value.clone().map_or(Value::Null, Value::String);
                    mark.hash == super::state::value_hash(&v)
                })
            })
    };
    ChatContact {
        email: contact.email.clone().filter(|_| changed("email")),
        phone: contact.phone.clone().filter(|_| changed("phone")),
        first_name: contact.first_name.clone().filter(|_| changed("first_name")),
        last_name: contact.last_name.clone().filter(|_| changed("last_name")),
        attributes: contact
            .attributes
            .iter()
            .filter(|(name, value)| changed(&format!("attr:{name}")) && !from_chat(name, value))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        tags: contact
            .tags
            .iter()
            .filter(|t| changed(&format!("tag:{t}")))
            .cloned()
            .collect(),
    }
}

/// The contact's custom attributes as JSON values (null for a cleared field).
pub fn attribute_values(contact: &ChatContact) -> serde_json::Map<String, Value> {
    contact
        .attributes
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().map_or(Value::Null, Value::String)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::policy::Direction;

    fn fields(pairs: &[(&str, Option<&str>)]) -> ChangedFields {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
            .collect()
    }

    fn mapping(
        from: &str,
        to: &str,
        direction: Direction,
        values: &[(&str, &str)],
    ) -> FieldMapping {
        FieldMapping {
            from: from.into(),
            to: to.into(),
            values: values
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            only_mapped: true,
            direction,
        }
    }

    #[test]
    fn a_change_gives_the_person_and_the_mapped_attributes_backwards() {
        let mappings = [
            mapping(
                "visitor.custom_attributes.stage",
                "Lead.Status",
                Direction::Both,
                &[
                    ("qualified", "Working - Contacted"),
                    ("new", "Open - Not Contacted"),
                ],
            ),
            mapping(
                "visitor.custom_attributes.title",
                "Lead.Title",
                Direction::ToChat,
                &[],
            ),
            mapping(
                "visitor.custom_attributes.x",
                "Lead.Rating",
                Direction::ToSalesforce,
                &[],
            ),
            mapping(
                "visitor.custom_attributes.y",
                "Contact.Title",
                Direction::ToChat,
                &[],
            ),
        ];
        let change = fields(&[
            ("Email", Some(" Ada@Example.org ")),
            ("MobilePhone", Some("+442079460958")),
            ("FirstName", Some("Ada")),
            ("LastName", Some("Lovelace")),
            ("Status", Some("working - contacted")),
            ("Title", None),
            ("Rating", Some("Hot")),
        ]);
        let c = contact("Lead", &change, &mappings);
        assert_eq!(c.email.as_deref(), Some("ada@example.org"));
        assert_eq!(c.phone.as_deref(), Some("+442079460958"));
        assert_eq!(
            c.attributes,
            [
                ("stage".to_owned(), Some("qualified".to_owned())),
                ("title".to_owned(), None),
            ]
            .into_iter()
            .collect()
        );
        // A value the map does not know is not sent under only_mapped; a field not carried is
        // not touched.
        let c = contact(
            "Lead",
            &fields(&[("Status", Some("Closed - Converted"))]),
            &mappings,
        );
        assert!(c.is_empty(), "{c:?}");
    }

    #[test]
    fn only_news_go_over_never_what_came_from_the_chat() {
        let mappings = [mapping(
            "visitor.custom_attributes.job_title",
            "Contact.Title",
            Direction::Both,
            &[],
        )];
        let full = ChatContact {
            email: Some("ada@example.org".into()),
            first_name: Some("Ada".into()),
            attributes: [("job_title".to_owned(), Some("CTO".to_owned()))]
                .into_iter()
                .collect(),
            ..ChatContact::default()
        };
        let none = crate::mapping::state::RecordWatermarks::new();
        // Nothing written yet: everything is new.
        assert_eq!(
            news("Contact", &full, &BTreeMap::new(), &none, &mappings),
            full
        );
        // All of it written already: nothing is.
        let written = hashes(&full);
        assert!(news("Contact", &full, &written, &none, &mappings).is_empty());
        // The title changed in Salesforce: only it goes.
        let mut retitled = full.clone();
        retitled
            .attributes
            .insert("job_title".into(), Some("CEO".into()));
        let n = news("Contact", &retitled, &written, &none, &mappings);
        assert_eq!(n.email, None);
        assert_eq!(n.attributes["job_title"].as_deref(), Some("CEO"));
        // ...unless chatsync wrote that very value to Salesforce from the chat: an echo.
        let stamp = crate::mapping::state::Stamp::new(time::OffsetDateTime::UNIX_EPOCH, "d", 0);
        let marks: crate::mapping::state::RecordWatermarks = crate::mapping::people::created_marks(
            &[("Title".to_owned(), Value::String("CEO".into()))],
            &stamp,
        )
        .into_iter()
        .collect();
        assert!(news("Contact", &retitled, &written, &marks, &mappings).is_empty());
    }

    #[test]
    fn linked_or_found_contacts_are_updated_and_new_ones_created_only_when_the_tenant_says() {
        let person = ChatContact {
            email: Some("ada@example.org".into()),
            ..ChatContact::default()
        };
        let facts = Facts {
            auto_create: true,
            tag: "Auto-Create: Salesforce".into(),
            identifiable: true,
            writable: true,
            own: true,
            ..Facts::default()
        };
        assert_eq!(
            decide(&facts, &person),
            Decision::Create {
                tag: Some("Auto-Create: Salesforce".into())
            }
        );
        let linked = Facts {
            linked: Some("c1".into()),
            found: Some("c2".into()),
            ..facts.clone()
        };
        assert_eq!(
            decide(&linked, &person),
            Decision::Update {
                contact_id: "c1".into()
            }
        );
        let found = Facts {
            found: Some("c2".into()),
            auto_create: false,
            ..facts.clone()
        };
        assert_eq!(
            decide(&found, &person),
            Decision::Update {
                contact_id: "c2".into()
            }
        );
        let untagged = Facts {
            tag: " ".into(),
            ..facts.clone()
        };
        assert_eq!(decide(&untagged, &person), Decision::Create { tag: None });
        for (f, why) in [
            (
                Facts {
                    auto_create: false,
                    ..facts.clone()
                },
                "does not auto-create",
            ),
            (
                Facts {
                    identifiable: false,
                    ..facts.clone()
                },
                "no e-mail or phone",
            ),
            (
                Facts {
                    writable: false,
                    ..facts.clone()
                },
                "no API",
            ),
            (
                Facts {
                    own: false,
                    ..facts.clone()
                },
                "not on the platform as far as chatsync knows",
            ),
            (
                Facts {
                    left_out_import: true,
                    ..facts.clone()
                },
                "bulk import",
            ),
        ] {
            match decide(&f, &person) {
                Decision::Skip { reason } => assert!(reason.contains(why), "{reason}"),
                other => panic!("expected a skip for {why}, got {other:?}"),
            }
        }
        assert!(matches!(
            decide(&linked, &ChatContact::default()),
            Decision::Skip { .. }
        ));
    }

    #[test]
    fn events_concern_their_contact_and_earn_the_tags_their_rules_name() {
        let won = fields(&[
            ("StageName", Some("Closed Won")),
            ("ContactId", Some("003A")),
        ]);
        assert_eq!(
            whom("Opportunity", "006X", &won),
            Ok(Whom {
                kind: PersonKind::Contact,
                id: "003A".into(),
                own: false
            })
        );
        assert!(whom("Case", "500X", &fields(&[("Status", Some("New"))])).is_err());
        assert!(whom("Account", "001X", &won).is_err());
        assert_eq!(
            whom("Lead", "00QX", &won).map(|w| (w.kind, w.own)),
            Ok((PersonKind::Lead, true))
        );
        let rules = [
            TagRule {
                object: "Opportunity".into(),
                field: "StageName".into(),
                value: Some("closed won".into()),
                tag: "Customer".into(),
            },
            TagRule {
                object: "Opportunity".into(),
                field: "StageName".into(),
                value: None,
                tag: "Stage: {value}".into(),
            },
            TagRule {
                object: "Case".into(),
                field: "StageName".into(),
                value: None,
                tag: "never".into(),
            },
        ];
        assert_eq!(
            tags("Opportunity", &won, &rules)
                .into_iter()
                .collect::<Vec<_>>(),
            ["Customer", "Stage: Closed Won"]
        );
        let lost = fields(&[("StageName", Some("Closed Lost"))]);
        assert_eq!(
            tags("Opportunity", &lost, &rules)
                .into_iter()
                .collect::<Vec<_>>(),
            ["Stage: Closed Lost"]
        );
        // an event's own e-mail or name is not the person's
        let case = fields(&[
            ("ContactId", Some("003A")),
            ("Email", Some("x@example.org")),
        ]);
        assert!(contact("Case", &case, &[]).is_empty());
        assert_eq!(
            fields_needed("Opportunity", &[], &rules),
            ["ContactId", "StageName"]
        );
        // a tag is sent once
        let mut c = ChatContact::default();
        c.tags.insert("Customer".into());
        let written = hashes(&c);
        let none = crate::mapping::state::RecordWatermarks::default();
        assert!(news("Opportunity", &c, &written, &none, &[]).is_empty());
        assert_eq!(news("Opportunity", &c, &BTreeMap::new(), &none, &[]), c);
    }

    #[test]
    fn a_bulk_import_is_a_creation_by_a_named_user_left_out_unless_included() {
        let mut settings = FromSalesforce {
            import_users: vec!["005000000000001AAA".into()],
            ..FromSalesforce::default()
        };
        let imported = fields(&[("CreatedById", Some("005000000000001"))]);
        let by_hand = fields(&[("CreatedById", Some("005000000000002AAA"))]);
        assert!(is_left_out_import(&imported, &settings));
        assert!(!is_left_out_import(&by_hand, &settings));
        assert!(!is_left_out_import(&fields(&[]), &settings));
        settings.include_imports = true;
        assert!(!is_left_out_import(&imported, &settings));
    }
}
