//! What a `[[fields]]` mapping reads from an event: the value at its source, through its value
//! map. Shared by the case writer (Case and Task fields) and the resolver (people, Accounts).

use super::policy::{self, FieldMapping, Source};
use crate::event::{Event, EventKind};
use serde_json::Value;

/// The value `mapping` gives for `event`: absent when the event does not carry the source (a
/// silent event never blanks a field) or when `only_mapped` and the value is not in the map.
pub fn mapped_value(mapping: &FieldMapping, event: &Event) -> Option<Value> {
    // A Salesforce → chat mapping writes nothing to Salesforce.
    if !mapping.direction.to_salesforce() {
        return None;
    }
    let source = policy::parse_source(&mapping.from)?;
    if source == Source::Tags {
        // Always through the map: a tag is a word, not a field value.
        let mut tags = event_tags(event);
        tags.sort();
        return tags
            .iter()
            .find_map(|tag| policy::lookup(&mapping.values, tag))
            .map(|v| Value::String(v.to_owned()));
    }
    let raw = source_value(&source, event)?;
    match raw.as_str() {
        Some(text) => match policy::lookup(&mapping.values, text) {
            Some(mapped) => Some(Value::String(mapped.to_owned())),
            None if mapping.only_mapped => None,
            None => Some(raw),
        },
        None if mapping.only_mapped => None,
        None => Some(raw),
    }
}

/// The tags the event says are present: added ones, the whole set when sent, and the
/// conversation's snapshot.
fn event_tags(event: &Event) -> Vec<&str> {
    let mut tags: Vec<&str> = Vec::new();
    if let EventKind::TagsChanged { added, current, .. } = &event.kind {
        tags.extend(added.iter().map(String::as_str));
        tags.extend(current.iter().flatten().map(String::as_str));
    }
    if let Some(c) = &event.conversation {
        tags.extend(c.tags.iter().map(String::as_str));
    }
    tags.retain(|t| !t.trim().is_empty());
    tags.dedup();
    tags
}

/// The value at a source; absent (not null) when the event does not carry it.
fn source_value(source: &Source, event: &Event) -> Option<Value> {
    let fallback = crate::event::Conversation::default();
    let c = event.conversation.as_ref().unwrap_or(&fallback);
    let v = &event.visitor;
    let text = |s: &Option<String>| s.as_ref().map(|s| Value::String(s.clone()));
    match source {
        Source::Conversation(name) => match name.as_str() {
            "id" => Some(Value::String(c.id.clone())).filter(|_| !c.id.is_empty()),
            "url" => text(&c.url),
            "status" => text(&c.status),
            "priority" => text(&c.priority),
            "subject" => text(&c.subject),
            "channel" => text(&c.channel),
            "inbox" => c
                .inbox
                .as_ref()
                .and_then(|i| i.name.clone())
                .map(Value::String),
            _ => None,
        },
        Source::ConversationAttribute(name) => c.custom_attributes.get(name).cloned(),
        Source::Visitor(name) => match name.as_str() {
            "contact_id" => text(&v.contact_id),
            "external_id" => text(&v.external_id),
            "email" => text(&v.email),
            "phone" => text(&v.phone),
            "name" => text(&v.name),
            "first_name" => text(&v.first_name),
            "last_name" => text(&v.last_name),
            "visitor_id" => text(&v.visitor_id),
            "company_name" => text(&v.company_name),
            "company_domain" => text(&v.company_domain),
            "role" => text(&v.role),
            _ => None,
        },
        Source::VisitorAttribute(name) => v.custom_attributes.get(name).cloned(),
        Source::Company(name) => {
            let company = event.company.as_ref()?;
            match name.as_str() {
                "id" => text(&company.id),
                "company_id" => text(&company.company_id),
                "name" => text(&company.name),
                "website" => text(&company.website),
                "plan" => text(&company.plan),
                "industry" => text(&company.industry),
                "size" => company.size.map(Value::from),
                _ => None,
            }
        }
        Source::CompanyAttribute(name) => event
            .company
            .as_ref()
            .and_then(|company| company.custom_attributes.get(name).cloned()),
        Source::Tags => None,
    }
    .filter(|value| !value.is_null() && !value.is_object() && !value.is_array())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Company;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn mapping(from: &str, values: &[(&str, &str)], only_mapped: bool) -> FieldMapping {
        FieldMapping {
            from: from.into(),
            to: "Lead.Status".into(),
            values: values
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            only_mapped,
            direction: Default::default(),
        }
    }

    #[test]
    fn a_lifecycle_attribute_goes_through_the_value_map() {
        let mut event = Event::new(EventKind::ContactUpserted);
        event
            .visitor
            .custom_attributes
            .insert("lifecycle".into(), json!("Hot Lead"));
        let m = mapping(
            "visitor.custom_attributes.lifecycle",
            &[("hot lead", "Working - Contacted")],
            true,
        );
        assert_eq!(mapped_value(&m, &event), Some(json!("Working - Contacted")));
        event
            .visitor
            .custom_attributes
            .insert("lifecycle".into(), json!("Churned"));
        assert_eq!(mapped_value(&m, &event), None, "only_mapped drops the rest");
        let loose = mapping("visitor.custom_attributes.lifecycle", &[], false);
        assert_eq!(mapped_value(&loose, &event), Some(json!("Churned")));
        // A silent event gives nothing, never a blank.
        assert_eq!(
            mapped_value(&loose, &Event::new(EventKind::ContactUpserted)),
            None
        );
    }

    #[test]
    fn tags_give_the_first_mapped_tag_sorted() {
        let event = Event::new(EventKind::TagsChanged {
            added: vec!["vip".into(), "mql".into()],
            removed: vec!["customer".into()],
            current: None,
        });
        let m = mapping(
            "tags",
            &[("vip", "Hot"), ("mql", "Warm"), ("customer", "Cold")],
            false,
        );
        assert_eq!(mapped_value(&m, &event), Some(json!("Warm")));
        let unmapped = mapping("tags", &[("other", "Cold")], false);
        assert_eq!(mapped_value(&unmapped, &event), None);
    }

    #[test]
    fn company_fields_and_attributes_are_read() {
        let mut event = Event::new(EventKind::CompanyUpserted);
        event.company = Some(Company {
            industry: Some("Manufacturing".into()),
            size: Some(85),
            custom_attributes: [("tier".to_owned(), json!("gold"))].into_iter().collect(),
            ..Company::default()
        });
        assert_eq!(
            mapped_value(&mapping("company.industry", &[], false), &event),
            Some(json!("Manufacturing"))
        );
        assert_eq!(
            mapped_value(&mapping("company.size", &[], false), &event),
            Some(json!(85))
        );
        assert_eq!(
            mapped_value(
                &mapping("company.custom_attributes.tier", &[], false),
                &event
            ),
            Some(json!("gold"))
        );
        assert_eq!(
            mapped_value(&mapping("company.website", &[], false), &event),
            None
        );
    }
}
