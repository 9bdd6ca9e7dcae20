//! Salesforce Outbound Messages: the SOAP 1.1 envelope a workflow or Flow action POSTs, and
//! the acknowledgement or fault chatsync answers
//! (<https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_om_outboundmessaging_wsdl.htm>).
//!
//! The envelope holds `notifications` with OrganizationId, ActionId, SessionId (nil since
//! February 2026), EnterpriseUrl, PartnerUrl and 1 to 100 `Notification {Id, sObject}`; the
//! sObject carries the definition's fields as `sf:<Field>` elements and its type in
//! `xsi:type="sf:<SObject>"`. Delivery may repeat and reorder: the notification id is the
//! dedupe key. Parsing expands no entities: a DOCTYPE is refused outright, and only XML's five
//! predefined entities and character references are read.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use std::collections::BTreeMap;
use thiserror::Error;

/// Most notifications one message may hold (the WSDL's `maxOccurs="100"`).
pub const MAX_NOTIFICATIONS: usize = 100;

/// Deepest nesting read: the envelope is five levels deep with the sObject's fields.
const MAX_DEPTH: usize = 16;

/// One outbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundMessage {
    /// The sending org (18 characters).
    pub organization_id: String,
    /// The outbound message definition (`04k…`).
    pub action_id: String,
    pub notifications: Vec<Notification>,
}

/// One changed record, as the definition's fields show it now (only the latest state is sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The notification id (`04l…`): the dedupe key.
    pub id: String,
    /// `Contact`, `Lead`, … from `xsi:type="sf:Contact"`.
    pub sobject: String,
    /// The record id (`sf:Id`).
    pub record_id: String,
    /// The definition's other fields by API name; a nil field (`xsi:nil="true"`) is None.
    pub fields: BTreeMap<String, Option<String>>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum OutboundError {
    #[error("the body is not well-formed XML: {0}")]
    Xml(String),
    #[error("a DOCTYPE is not accepted (no entity is ever expanded)")]
    DocType,
    #[error("entity &{0}; is not one of XML's predefined entities")]
    Entity(String),
    #[error("the body is not a SOAP envelope holding Salesforce outbound notifications")]
    NotNotifications,
    #[error("{0} is missing")]
    Missing(&'static str),
    #[error("more than {MAX_NOTIFICATIONS} notifications in one message")]
    TooMany,
    #[error("elements nest deeper than an outbound message does")]
    TooDeep,
}

/// Reads an outbound message.
pub fn parse(body: &str) -> Result<OutboundMessage, OutboundError> {
    // Text is not trimmed: a value keeps its spaces, also around `&amp;` (a separate event).
    let mut reader = Reader::from_str(body);
    // The element path from the root, by local name.
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut nil = false;
    let mut organization_id = None;
    let mut action_id = None;
    let mut notifications: Vec<Notification> = Vec::new();
    let mut current: Option<Notification> = None;
    let mut saw_notifications = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| OutboundError::Xml(e.to_string()))?;
        match event {
            Event::DocType(_) => return Err(OutboundError::DocType),
            Event::Start(start) => {
                let name = local(&start);
                if path.len() >= MAX_DEPTH {
                    return Err(OutboundError::TooDeep);
                }
                text.clear();
                nil = is_nil(&start)?;
                match (path.len(), name.as_str()) {
                    (0, "Envelope") | (1, "Body") => {}
                    (0, _) | (1, _) => return Err(OutboundError::NotNotifications),
                    (2, "notifications") => saw_notifications = true,
                    (3, "Notification") => {
                        if notifications.len() >= MAX_NOTIFICATIONS {
                            return Err(OutboundError::TooMany);
                        }
                        current = Some(Notification {
                            id: String::new(),
                            sobject: String::new(),
                            record_id: String::new(),
                            fields: BTreeMap::new(),
                        });
                    }
                    (4, "sObject") => {
                        if let Some(n) = current.as_mut() {
                            n.sobject = sobject_type(&start)?.unwrap_or_default();
                        }
                    }
                    _ => {}
                }
                path.push(name);
            }
            Event::Empty(start) => {
                let name = local(&start);
                // `<sf:Email xsi:nil="true"/>` or an empty value: a blank field.
                if path.len() == 5
                    && path[3] == "Notification"
                    && path[4] == "sObject"
                    && let Some(n) = current.as_mut()
                {
                    let value = if is_nil(&start)? {
                        None
                    } else {
                        Some(String::new())
                    };
                    if name != "Id" {
                        n.fields.insert(name, value);
                    }
                }
            }
            Event::Text(t) => {
                text.push_str(&t.decode().map_err(|e| OutboundError::Xml(e.to_string()))?);
            }
            Event::CData(t) => {
                text.push_str(&t.decode().map_err(|e| OutboundError::Xml(e.to_string()))?);
            }
            Event::GeneralRef(r) => {
                if let Some(c) = r
                    .resolve_char_ref()
                    .map_err(|e| OutboundError::Xml(e.to_string()))?
                {
                    text.push(c);
                } else {
                    let name = r.decode().map_err(|e| OutboundError::Xml(e.to_string()))?;
                    text.push(
                        predefined(&name)
                            .ok_or_else(|| OutboundError::Entity(name.into_owned()))?,
                    );
                }
            }
            Event::End(_) => {
                let Some(name) = path.pop() else {
                    return Err(OutboundError::NotNotifications);
                };
                let value = std::mem::take(&mut text);
                match (path.len(), name.as_str()) {
                    (3, "OrganizationId") => organization_id = Some(value),
                    (3, "ActionId") => action_id = Some(value),
                    (4, "Id") if path[3] == "Notification" => {
                        if let Some(n) = current.as_mut() {
                            n.id = value;
                        }
                    }
                    (5, field) if path[4] == "sObject" => {
                        if let Some(n) = current.as_mut() {
                            if field == "Id" {
                                n.record_id = value;
                            } else {
                                n.fields.insert(field.to_owned(), (!nil).then_some(value));
                            }
                        }
                    }
                    (3, "Notification") => {
                        let n = current.take().ok_or(OutboundError::NotNotifications)?;
                        if n.id.is_empty() {
                            return Err(OutboundError::Missing("Notification.Id"));
                        }
                        if n.sobject.is_empty() {
                            return Err(OutboundError::Missing("sObject xsi:type"));
                        }
                        if n.record_id.is_empty() {
                            return Err(OutboundError::Missing("sObject Id"));
                        }
                        notifications.push(n);
                    }
                    _ => {}
                }
                nil = false;
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
    }
    if !saw_notifications {
        return Err(OutboundError::NotNotifications);
    }
    let organization_id = organization_id
        .filter(|s| !s.is_empty())
        .ok_or(OutboundError::Missing("OrganizationId"))?;
    if notifications.is_empty() {
        return Err(OutboundError::Missing("Notification"));
    }
    Ok(OutboundMessage {
        organization_id,
        action_id: action_id.unwrap_or_default(),
        notifications,
    })
}

/// The element's name without its namespace prefix.
fn local(start: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(start.local_name().as_ref()).into_owned()
}

/// `xsi:nil="true"` on the element.
fn is_nil(start: &BytesStart<'_>) -> Result<bool, OutboundError> {
    Ok(attribute(start, "nil")?.is_some_and(|v| v == "true" || v == "1"))
}

/// The record type from `xsi:type="sf:Contact"`.
fn sobject_type(start: &BytesStart<'_>) -> Result<Option<String>, OutboundError> {
    Ok(attribute(start, "type")?.map(|v| match v.split_once(':') {
        Some((_, name)) => name.to_owned(),
        None => v,
    }))
}

/// An attribute's value by local name (the namespace prefix is whatever the sender chose).
fn attribute(start: &BytesStart<'_>, name: &str) -> Result<Option<String>, OutboundError> {
    for attr in start.attributes() {
        let attr = attr.map_err(|e| OutboundError::Xml(e.to_string()))?;
        if attr.key.local_name().as_ref() == name.as_bytes() {
            // Only XML's predefined entities are resolved in attribute values.
            let value = attr
                .decoded_and_normalized_value(quick_xml::XmlVersion::Implicit1_0, start.decoder())
                .map_err(|e| OutboundError::Xml(e.to_string()))?;
            return Ok(Some(value.into_owned()));
        }
    }
    Ok(None)
}

fn predefined(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        "apos" => '\'',
        _ => return None,
    })
}

/// The acknowledgement of every notification in the message (one Ack covers the batch).
pub fn ack() -> String {
    concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?>"#,
        r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>"#,
        r#"<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>"#,
        r#"</soapenv:Body></soapenv:Envelope>"#
    )
    .to_owned()
}

/// A SOAP 1.1 fault: `client` is the sender's fault (it will never succeed as sent), else the
/// server's (worth retrying).
pub fn fault(client: bool, message: &str) -> String {
    let code = if client {
        "soapenv:Client"
    } else {
        "soapenv:Server"
    };
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>"#,
            r#"<soapenv:Fault><faultcode>{}</faultcode><faultstring>{}</faultstring></soapenv:Fault>"#,
            r#"</soapenv:Body></soapenv:Envelope>"#
        ),
        code,
        quick_xml::escape::escape(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An envelope as Salesforce sends it since February 2026 (nil SessionId).
    fn envelope(notifications: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>00D5g0000004C8zEAE</OrganizationId>
   <ActionId>04k5g0000000001AAA</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>https://demo.my.salesforce.com/services/Soap/c/62.0/00D5g0000004C8z</EnterpriseUrl>
   <PartnerUrl>https://demo.my.salesforce.com/services/Soap/u/62.0/00D5g0000004C8z</PartnerUrl>
{notifications}
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>"#
        )
    }

    fn contact(id: &str, record: &str, fields: &str) -> String {
        format!(
            r#"   <Notification>
    <Id>{id}</Id>
    <sObject xsi:type="sf:Contact" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>{record}</sf:Id>
     {fields}
    </sObject>
   </Notification>"#
        )
    }

    #[test]
    fn notifications_are_read_with_their_fields_and_nils() {
        let body = envelope(&format!(
            "{}\n{}",
            contact(
                "04l5g0000000001AAA",
                "0035g0000004C9TAAU",
                "<sf:Email>ada&amp;co@example.org</sf:Email><sf:Title xsi:nil=\"true\"/><sf:LastName>Lovelace &#x2014; Byron</sf:LastName>"
            ),
            contact(
                "04l5g0000000002AAA",
                "0035g0000004C9UAAU",
                "<sf:FirstName><![CDATA[<Grace>]]></sf:FirstName>"
            )
        ));
        let m = parse(&body).expect("parses");
        assert_eq!(m.organization_id, "00D5g0000004C8zEAE");
        assert_eq!(m.action_id, "04k5g0000000001AAA");
        assert_eq!(m.notifications.len(), 2);
        let first = &m.notifications[0];
        assert_eq!(first.id, "04l5g0000000001AAA");
        assert_eq!(first.sobject, "Contact");
        assert_eq!(first.record_id, "0035g0000004C9TAAU");
        assert_eq!(first.fields["Email"].as_deref(), Some("ada&co@example.org"));
        assert_eq!(
            first.fields["LastName"].as_deref(),
            Some("Lovelace \u{2014} Byron")
        );
        assert_eq!(first.fields["Title"], None);
        assert!(!first.fields.contains_key("Id"));
        assert_eq!(
            m.notifications[1].fields["FirstName"].as_deref(),
            Some("<Grace>")
        );
    }

    #[test]
    fn entity_expansion_and_doctypes_are_refused() {
        let bomb = format!(
            "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]>{}",
            envelope(&contact("04l1", "0031", "<sf:Email>&lol2;</sf:Email>"))
                .trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        );
        assert_eq!(parse(&bomb), Err(OutboundError::DocType));
        let external = envelope(&contact("04l1", "0031", "<sf:Email>&xxe;</sf:Email>"));
        assert_eq!(parse(&external), Err(OutboundError::Entity("xxe".into())));
    }

    #[test]
    fn malformed_foreign_and_oversized_bodies_are_refused() {
        assert!(matches!(
            parse("<soapenv:Envelope><unclosed>"),
            Err(OutboundError::Xml(_)) | Err(OutboundError::NotNotifications)
        ));
        assert_eq!(
            parse("not xml at all"),
            Err(OutboundError::NotNotifications)
        );
        assert_eq!(
            parse("<Envelope><Body><other/></Body></Envelope>"),
            Err(OutboundError::NotNotifications)
        );
        assert_eq!(
            parse(&envelope("")),
            Err(OutboundError::Missing("Notification"))
        );
        let no_type = envelope(
            "<Notification><Id>04l1</Id><sObject><sf:Id xmlns:sf=\"urn:x\">0031</sf:Id></sObject></Notification>",
        );
        assert_eq!(
            parse(&no_type),
            Err(OutboundError::Missing("sObject xsi:type"))
        );
        let many: Vec<String> = (0..=MAX_NOTIFICATIONS)
            .map(|i| contact(&format!("04l{i}"), "0031", ""))
            .collect();
        assert_eq!(
            parse(&envelope(&many.join("\n"))),
            Err(OutboundError::TooMany)
        );
        let deep = format!("{}{}", "<a>".repeat(40), "</a>".repeat(40));
        assert_eq!(
            parse(&format!(
                "<Envelope><Body><notifications>{deep}</notifications></Body></Envelope>"
            )),
            Err(OutboundError::TooDeep)
        );
    }

    #[test]
    fn the_ack_and_faults_are_soap() {
        assert!(ack().contains(
            r#"<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>"#
        ));
        let f = fault(true, "token <wrong> & refused");
        assert!(f.contains("<faultcode>soapenv:Client</faultcode>"));
        assert!(f.contains("token &lt;wrong&gt; &amp; refused"));
        assert!(fault(false, "x").contains("soapenv:Server"));
    }
}
