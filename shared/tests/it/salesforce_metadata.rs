//! The outbound messages and flows shipped in `salesforce/force-app` against the code that
//! receives them: each object the chat writer takes has an outbound message listing every field
//! `to_chat::fields_needed` asks for (the demo tenant's config and the examples in
//! docs/salesforce-to-chat.md), its endpoint is the listener's route, and its flow calls it after
//! save, except for the users the custom permission spares (chatsync's own writes).

use quick_xml::Reader;
use quick_xml::events::Event;
use shared::mapping::to_chat::{OBJECTS, fields_needed};
use shared::tenant::TenantFile;
use std::path::{Path, PathBuf};

/// The repo's `salesforce/force-app/main/default`.
fn package() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../salesforce/force-app/main/default")
}

/// A metadata element: name, text and children (attributes are not needed).
#[derive(Debug, Default)]
struct Element {
    name: String,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
    fn text_of(&self, name: &str) -> &str {
        self.child(name).map_or("", |c| c.text.trim())
    }
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

fn parse(path: &Path) -> Element {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = Reader::from_str(&text);
    let mut stack = vec![Element::default()];
    loop {
        match reader.read_event() {
            Ok(Event::Start(start)) => stack.push(Element {
                name: String::from_utf8_lossy(start.local_name().as_ref()).into_owned(),
                ..Element::default()
            }),
            Ok(Event::End(_)) => {
                let done = stack.pop().expect("balanced");
                stack.last_mut().expect("a parent").children.push(done);
            }
            Ok(Event::Text(t)) => {
                let t = t.decode().expect("UTF-8 text");
                stack.last_mut().expect("an element").text.push_str(&t);
            }
            Ok(Event::GeneralRef(r)) => {
                let name = r.decode().expect("UTF-8 reference");
                let c = match name.as_ref() {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    other => panic!("{}: entity {other}", path.display()),
                };
                stack.last_mut().expect("an element").text.push(c);
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
    let mut root = stack.pop().expect("document");
    assert_eq!(
        root.children.len(),
        1,
        "{}: one root element",
        path.display()
    );
    root.children.remove(0)
}

/// The demo tenant plus the examples docs/salesforce-to-chat.md gives (a Lead's Status as an
/// attribute, tags on an Opportunity's stage and a Case's priority).
fn configs() -> Vec<TenantFile> {
    let demo = include_str!("../../../events/tenants/demo.toml");
    let documented = format!(
        "{demo}\n{}",
        r#"
[[config.fields]]
from = "visitor.custom_attributes.lead_status"
to = "Lead.Status"
direction = "to_chat"

[[config.from_salesforce.tags]]
object = "Opportunity"
field = "StageName"
value = "Closed Won"
tag = "Salesforce: Opportunity won"

[[config.from_salesforce.tags]]
object = "Case"
field = "Priority"
tag = "Case priority: {value}"
"#
    );
    [demo, documented.as_str()]
        .iter()
        .map(|t| TenantFile::from_toml(t).expect("tenant file"))
        .collect()
}

#[test]
fn salesforce_metadata_outbound_messages_carry_what_the_chat_writer_needs() {
    let template =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml"))
            .expect("template.yaml");
    let route = "/salesforce/{tenant}/outbound";
    assert!(
        template.contains(&format!("Path: {route}")),
        "the listener's route in template.yaml is {route}"
    );
    let configs = configs();
    for object in OBJECTS {
        let workflow = parse(&package().join(format!("workflows/{object}.workflow-meta.xml")));
        assert_eq!(workflow.name, "Workflow");
        let full_name = format!("Chatsync_{object}_Changed");
        let message = workflow
            .all("outboundMessages")
            .find(|m| m.text_of("fullName") == full_name)
            .unwrap_or_else(|| panic!("{object}: no outbound message {full_name}"));

        let fields: Vec<&str> = message.all("fields").map(|f| f.text.trim()).collect();
        assert!(fields.contains(&"Id"), "{object}: Id");
        for config in &configs {
            let c = &config.config;
            for needed in fields_needed(object, &c.fields, &c.from_salesforce.tags) {
                assert!(
                    fields.contains(&needed.as_str()),
                    "{object}: the outbound message lacks {needed}"
                );
            }
        }

        // https://HOST/salesforce/TENANT/outbound?token=TOKEN: the listener's route, no stage
        // (the HTTP API's $default stage), the token as a query parameter.
        let url = message.text_of("endpointUrl");
        let rest = url.strip_prefix("https://").expect("HTTPS endpoint");
        let (path, query) = rest
            .split_once('/')
            .map(|(_, p)| p)
            .and_then(|p| p.split_once('?'))
            .expect("a path and a query");
        let segments: Vec<&str> = path.split('/').collect();
        assert!(
            matches!(segments.as_slice(), ["salesforce", tenant, "outbound"] if !tenant.is_empty()),
            "{object}: {url} is not {route}"
        );
        assert!(
            query.starts_with("token="),
            "{object}: {url} has no ?token="
        );
        assert_eq!(message.text_of("includeSessionId"), "false");
        assert!(!message.text_of("integrationUser").is_empty());

        let flow = parse(&package().join(format!("flows/{full_name}.flow-meta.xml")));
        let call = flow.child("actionCalls").expect("an action call");
        assert_eq!(call.text_of("actionType"), "outboundMessage");
        assert_eq!(call.text_of("actionName"), format!("{object}.{full_name}"));
        let start = flow.child("start").expect("a start");
        assert_eq!(start.text_of("object"), object);
        assert_eq!(start.text_of("triggerType"), "RecordAfterSave");
        assert_eq!(start.text_of("recordTriggerType"), "CreateAndUpdate");
        assert_eq!(
            start
                .child("connector")
                .map(|c| c.text_of("targetReference")),
            Some(call.text_of("name"))
        );
        assert_eq!(
            start.text_of("filterFormula"),
            "NOT({!$Permission.Chatsync_No_Outbound_Messages})"
        );
    }

    // The permission the flows spare is defined, and a permission set grants it.
    let permission = "Chatsync_No_Outbound_Messages";
    parse(&package().join(format!(
        "customPermissions/{permission}.customPermission-meta.xml"
    )));
    let set = parse(&package().join(format!(
        "permissionsets/{permission}.permissionset-meta.xml"
    )));
    assert!(
        set.all("customPermissions")
            .any(|p| p.text_of("name") == permission && p.text_of("enabled") == "true")
    );
}
