//! Intercom Canvas Kit inbox app: the `initialize` and `submit` requests Intercom POSTs
//! (signed with `X-Body-Signature`, the hex HMAC-SHA256 of the raw body keyed with the app's
//! client secret) and the canvases chatsync answers with
//! (https://developers.intercom.com/docs/canvas-kit). Pure: no I/O.

use crate::panel::{PanelView, record_url};
use crate::platforms::same;
use crate::secret::Secret;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::BTreeMap;

pub const SIGNATURE_HEADER: &str = "x-body-signature";

/// Canvas Kit's limit on each of `content` and `stored_data`.
pub const MAX_PART_BYTES: usize = 64 * 1024;

/// The dropdown of Opportunities and the button that shows the chosen one.
pub const OPPORTUNITY_INPUT: &str = "opportunity";
pub const SHOW_OPPORTUNITY: &str = "show-opportunity";
pub const REFRESH: &str = "refresh";
pub const EDIT: &str = "edit";
pub const SAVE: &str = "save";
pub const CANCEL: &str = "cancel";
pub const RESTORE: &str = "restore";
pub const NEW_CASE: &str = "new-case";
pub const CREATE_CASE: &str = "create-case";
pub const LOG_TASK: &str = "log-task";
pub const NEW_LEAD: &str = "new-lead";
pub const NEW_CONTACT: &str = "new-contact";
pub const CREATE_LEAD: &str = "create-lead";
pub const CREATE_CONTACT: &str = "create-contact";

/// What the panel shows beside the view.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extras {
    /// The Opportunity shown (the dropdown's choice).
    pub selected: Option<String>,
    /// The fields the agent may edit (none: no Edit button).
    pub editable: Vec<String>,
    /// The values an edit replaced, offered back by a Restore button (kept in stored_data).
    pub restore: BTreeMap<String, Option<String>>,
    /// A line above the view (what an edit did, why it was refused) and its text style.
    pub note: Option<(String, &'static str)>,
}

/// The header value Intercom sends for `body`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    hex::encode(mac(secret, body))
}

fn mac(secret: &str, body: &[u8]) -> Vec<u8> {
    let mut m =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    m.update(body);
    m.finalize().into_bytes().to_vec()
}

/// Whether `header` signs `body` with one of `secrets` (constant-time comparison).
pub fn verify(secrets: &[Secret], body: &[u8], header: Option<&str>) -> bool {
    let Some(given) = header.and_then(|h| hex::decode(h.trim()).ok()) else {
        return false;
    };
    secrets.iter().any(|s| same(&mac(s.expose(), body), &given))
}

/// What chatsync reads of an `initialize` or `submit` request.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct CanvasRequest {
    #[serde(default)]
    pub workspace_id: String,
    #[serde(default)]
    pub admin: Option<Admin>,
    /// The conversation's customer; for a group conversation Intercom sends one request each.
    #[serde(default)]
    pub contact: Option<ContactRef>,
    #[serde(default)]
    pub conversation: Option<ConversationRef>,
    /// Submit only: the component the agent used and the inputs' values.
    #[serde(default)]
    pub component_id: Option<String>,
    #[serde(default)]
    pub input_values: BTreeMap<String, Value>,
    #[serde(default)]
    pub current_canvas: Option<CurrentCanvas>,
}

/// The canvas the agent acted on; its `stored_data` is what chatsync put there.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct CurrentCanvas {
    #[serde(default)]
    pub stored_data: Value,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Admin {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ContactRef {
    pub id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ConversationRef {
    #[serde(default)]
    pub id: Value,
    /// The first message (Intercom's conversation model).
    #[serde(default)]
    pub source: Value,
    #[serde(default)]
    pub conversation_parts: Value,
    #[serde(default)]
    pub created_at: Option<i64>,
}

impl ConversationRef {
    /// The id as text (Intercom sends it as a string, some examples as a number).
    pub fn id_text(&self) -> String {
        match &self.id {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }

    /// The conversation's messages as the request carries them: the source, then each part
    /// with a body (comments, notes; assignments and other events carry none). Bodies are
    /// Intercom's HTML.
    pub fn messages(&self) -> Vec<crate::event::Message> {
        use crate::event::{Agent, BodyFormat, Message, Role};
        let message = |v: &Value, fallback_at: Option<i64>| -> Option<Message> {
            let body = v.get("body").and_then(Value::as_str).unwrap_or_default();
            if body.trim().is_empty() {
                return None;
            }
            let author = v.get("author").unwrap_or(&Value::Null);
            let kind = author
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let note = v.get("part_type").and_then(Value::as_str) == Some("note");
            let role = match kind {
                "admin" | "team" if note => Role::Note,
                "admin" | "team" => Role::Agent,
                "bot" => Role::Bot,
                _ => Role::Visitor,
            };
            let at = v
                .get("created_at")
                .and_then(Value::as_i64)
                .or(fallback_at)
                .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok());
            let text = |k: &str| author.get(k).and_then(Value::as_str).map(str::to_owned);
            Some(Message {
                id: v.get("id").and_then(|i| match i {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                }),
                role,
                author: Some(Agent {
                    id: text("id"),
                    name: text("name"),
                    email: None,
                }),
                body: body.to_owned(),
                format: BodyFormat::Html,
                at,
                attachments: Vec::new(),
            })
        };
        let mut out: Vec<Message> = message(&self.source, self.created_at).into_iter().collect();
        if let Some(parts) = self
            .conversation_parts
            .get("conversation_parts")
            .and_then(Value::as_array)
        {
            out.extend(parts.iter().filter_map(|p| message(p, None)));
        }
        out
    }
}

impl CanvasRequest {
    pub fn parse(body: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(body)
    }

    /// An input's value as text.
    pub fn input(&self, id: &str) -> Option<&str> {
        self.input_values.get(id).and_then(Value::as_str)
    }

    /// Field values chatsync kept in the canvas's stored data under `key` (`before`,
    /// `restore`); anything else there is ignored.
    pub fn stored(&self, key: &str) -> BTreeMap<String, Option<String>> {
        self.current_canvas
            .as_ref()
            .and_then(|c| c.stored_data.get(key))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter(|(_, v)| v.is_string() || v.is_null())
                    .map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned)))
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn stored(values: &BTreeMap<String, Option<String>>) -> Value {
    Value::Object(
        values
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().map_or(Value::Null, Value::String)))
            .collect(),
    )
}

/// Which action a form is for: its title, and its Create button's id and label.
#[derive(Debug, Clone, Copy)]
pub struct Action<'a> {
    pub title: &'a str,
    pub create_id: &'a str,
    pub create_label: &'a str,
}

/// An action's form (New Case, Create Lead, Create Contact): an input (a dropdown for a
/// picklist, a textarea for long text) per field, required ones marked, who will own the
/// record, Create and Cancel. The form and the owner travel in stored_data, so creating needs
/// no second describe. `missing` names fields the agent left empty (or gave a value not
/// offered) on the last try; `inputs` fills the inputs (what the agent typed, or what the
/// chat already knows).
pub fn record_form(
    action: Action<'_>,
    form: &[crate::panel::FormField],
    owner: Option<&(String, String)>,
    missing: &[String],
    inputs: &BTreeMap<String, Value>,
) -> Value {
    let mut c = vec![text(action.title, "header")];
    if !missing.is_empty() {
        c.push(text(&format!("Fill in: {}", missing.join(", ")), "error"));
    }
    for f in form {
        let id = crate::panel::input_id(&f.name);
        let label = if f.required {
            format!("{} (required)", f.name)
        } else {
            f.name.clone()
        };
        let value = inputs.get(&id).and_then(Value::as_str).unwrap_or_default();
        let mut input = if f.options.len() >= 2 {
            let options: Vec<Value> = f
                .options
                .iter()
                .map(|o| json!({"type": "option", "id": o, "text": o}))
                .collect();
            json!({"type": "dropdown", "id": id, "label": label, "options": options})
        } else if f.long {
            json!({"type": "textarea", "id": id, "label": label})
        } else {
            json!({"type": "input", "id": id, "label": label})
        };
        if !value.is_empty() {
            input["value"] = json!(value);
        }
        c.push(input);
    }
    let owner_text = match owner {
        Some((_, name)) => format!("Owner: {} (your Salesforce user)", md(name)),
        None => "Owner: chatsync's integration user (no active Salesforce user has your e-mail)"
            .to_owned(),
    };
    c.push(text(&owner_text, "muted"));
    c.push(
        json!({"type": "button", "id": action.create_id, "label": action.create_label,
        "style": "primary", "action": {"type": "submit"}}),
    );
    c.push(
        json!({"type": "button", "id": CANCEL, "label": "Cancel", "style": "secondary",
        "action": {"type": "submit"}}),
    );
    let owner = owner.map_or(Value::Null, |(id, name)| json!({"id": id, "name": name}));
    json!({"canvas": {"content": {"components": c},
        "stored_data": {"form": form, "owner": owner}}})
}

/// The New Case form for the viewed person.
pub fn case_form(
    view: &PanelView,
    form: &[crate::panel::FormField],
    owner: Option<&(String, String)>,
    missing: &[String],
    inputs: &BTreeMap<String, Value>,
) -> Value {
    let title = format!("New Case for **{}**", md(&view.name));
    let action = Action {
        title: &title,
        create_id: CREATE_CASE,
        create_label: "Create the Case",
    };
    record_form(action, form, owner, missing, inputs)
}

/// What the panel shows for a customer chatsync has not matched: say so, and offer to create
/// them in Salesforce.
pub fn unmatched(connected: bool) -> Value {
    let mut c = vec![
        text("Not in Salesforce yet", "header"),
        text(
            "chatsync has not matched this customer to a Salesforce Contact or Lead. It does \
             once they write in with an e-mail or phone the org knows, or create them here.",
            "paragraph",
        ),
    ];
    if connected {
        for (id, label) in [(NEW_LEAD, "Create Lead"), (NEW_CONTACT, "Create Contact")] {
            c.push(
                json!({"type": "button", "id": id, "label": label, "style": "secondary",
                "action": {"type": "submit"}}),
            );
        }
    }
    canvas(c)
}

impl CanvasRequest {
    /// The form and owner kept in the canvas by [`record_form`].
    pub fn form(&self) -> Option<crate::panel::RecordForm> {
        let stored = &self.current_canvas.as_ref()?.stored_data;
        let form = serde_json::from_value(stored.get("form")?.clone()).ok()?;
        let owner = stored.get("owner").and_then(|o| {
            Some((
                o.get("id")?.as_str()?.to_owned(),
                o.get("name")?.as_str()?.to_owned(),
            ))
        });
        Some((form, owner))
    }
}

/// The edit form: an input per editable field with its value, Save and Cancel; the values
/// shown are kept (stored_data `before`) to tell what the agent changed.
pub fn edit_form(view: &PanelView, editable: &[String]) -> Value {
    let values = view.values();
    let mut c = vec![text(&format!("Edit **{}**", md(&view.name)), "header")];
    let mut before = BTreeMap::new();
    for field in editable {
        let value = values.get(field).cloned().flatten();
        c.push(
            json!({"type": "input", "id": crate::panel::input_id(field), "label": field,
            "value": value.clone().unwrap_or_default()}),
        );
        before.insert(field.clone(), value);
    }
    c.push(
        json!({"type": "button", "id": SAVE, "label": "Save in Salesforce",
        "style": "primary", "action": {"type": "submit"}}),
    );
    c.push(
        json!({"type": "button", "id": CANCEL, "label": "Cancel", "style": "secondary",
        "action": {"type": "submit"}}),
    );
    json!({"canvas": {"content": {"components": c},
        "stored_data": {"before": stored(&before)}}})
}

/// A canvas of components.
fn canvas(components: Vec<Value>) -> Value {
    json!({"canvas": {"content": {"components": components}}})
}

fn text(text: &str, style: &str) -> Value {
    json!({"type": "text", "text": text, "style": style})
}

fn table(rows: &[(&str, Option<&str>)]) -> Value {
    let items: Vec<Value> = rows
        .iter()
        .filter_map(|(field, value)| {
            let value = value.filter(|v| !v.is_empty())?;
            Some(json!({"type": "field-value", "field": field, "value": value}))
        })
        .collect();
    json!({"type": "data-table", "items": items})
}

fn link(id: &str, label: &str, url: &str) -> Value {
    json!({"type": "button", "id": id, "label": label, "style": "link",
        "action": {"type": "url", "url": url}})
}

/// A card that only says something (not linked, not set up, an error).
pub fn message(title: &str, body: &str) -> Value {
    canvas(vec![text(title, "header"), text(body, "paragraph")])
}

/// The panel: the person, their Account, open Opportunities (a dropdown when there are
/// several; `selected` is the one shown) and open Cases, with "Open in Salesforce" links.
/// Markdown-active characters in Salesforce values are escaped.
pub fn view(view: &PanelView, instance_url: &str, extras: &Extras) -> Value {
    let sobject = view.kind.sobject();
    let selected = extras.selected.as_deref();
    let mut c = Vec::new();
    if let Some((note, style)) = &extras.note {
        c.push(text(note, style));
    }
    c.push(text(&format!("**{}**", md(&view.name)), "header"));
    let mut rows: Vec<(&str, Option<&str>)> = vec![
        ("Type", Some(sobject)),
        ("Email", view.email.as_deref()),
        ("Company", view.company.as_deref()),
        ("Owner", view.owner.as_deref()),
    ];
    for (field, value) in &view.fields {
        if field != "Email" {
            rows.push((field.as_str(), value.as_deref()));
        }
    }
    c.push(table(&rows));
    if !extras.editable.is_empty() {
        c.push(
            json!({"type": "button", "id": EDIT, "label": "Edit", "style": "secondary",
            "action": {"type": "submit"}}),
        );
    }
    if view.kind == crate::event::resolution::PersonKind::Contact {
        c.push(
            json!({"type": "button", "id": NEW_CASE, "label": "New Case", "style": "secondary",
            "action": {"type": "submit"}}),
        );
    }
    c.push(
        json!({"type": "button", "id": LOG_TASK, "label": "Log the conversation as a Task",
        "style": "secondary", "action": {"type": "submit"}}),
    );
    if !extras.restore.is_empty() {
        c.push(json!({"type": "button", "id": RESTORE,
            "label": "Restore the values before the edit", "style": "secondary",
            "action": {"type": "submit"}}));
    }
    c.push(link(
        "open-person",
        "Open in Salesforce",
        &record_url(instance_url, sobject, &view.id),
    ));
    if let Some(a) = &view.account {
        c.push(json!({"type": "divider"}));
        c.push(text("Account", "header"));
        c.push(table(&[
            ("Name", Some(a.name.as_str())),
            ("Domain", a.website.as_deref()),
            ("Owner", a.owner.as_deref()),
            ("Country", a.country.as_deref()),
        ]));
        c.push(link(
            "open-account",
            "Open the Account",
            &record_url(instance_url, "Account", &a.id),
        ));
    }
    if !view.opportunities.is_empty() {
        c.push(json!({"type": "divider"}));
        c.push(text(
            &format!("Open opportunities ({})", view.opportunities.len()),
            "header",
        ));
        let shown = selected
            .and_then(|id| view.opportunities.iter().find(|o| o.id == id))
            .unwrap_or(&view.opportunities[0]);
        if view.opportunities.len() > 1 {
            let options: Vec<Value> = view
                .opportunities
                .iter()
                .map(|o| json!({"type": "option", "id": o.id, "text": o.name}))
                .collect();
            c.push(
                json!({"type": "dropdown", "id": OPPORTUNITY_INPUT, "label": "Opportunity",
                "options": options, "value": shown.id}),
            );
            c.push(
                json!({"type": "button", "id": SHOW_OPPORTUNITY, "label": "Show",
                "style": "secondary", "action": {"type": "submit"}}),
            );
        }
        c.push(table(&[
            ("Name", Some(shown.name.as_str())),
            ("Owner", shown.owner.as_deref()),
            ("Stage", shown.stage.as_deref()),
            ("Close date", shown.close_date.as_deref()),
            ("Amount", shown.amount.as_deref()),
        ]));
        c.push(link(
            "open-opportunity",
            "Open the Opportunity",
            &record_url(instance_url, "Opportunity", &shown.id),
        ));
    }
    if view.kind == crate::event::resolution::PersonKind::Contact {
        c.push(json!({"type": "divider"}));
        c.push(text(&format!("Open cases: {}", view.cases.len()), "header"));
        if !view.cases.is_empty() {
            let items: Vec<Value> = view
                .cases
                .iter()
                .map(|k| {
                    let status: Vec<&str> = [k.status.as_deref(), k.priority.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect();
                    json!({"type": "item", "id": format!("case-{}", k.id),
                        "title": format!("{} {}", k.number.as_deref().unwrap_or(""),
                            k.subject.as_deref().unwrap_or("")).trim(),
                        "subtitle": status.join(" · "),
                        "action": {"type": "url", "url": record_url(instance_url, "Case", &k.id)}})
                })
                .collect();
            c.push(json!({"type": "list", "items": items}));
        }
    }
    c.push(
        json!({"type": "button", "id": REFRESH, "label": "Refresh", "style": "secondary",
        "action": {"type": "submit"}}),
    );
    let mut answer = canvas(c);
    if !extras.restore.is_empty() {
        answer["canvas"]["stored_data"] = json!({"restore": stored(&extras.restore)});
    }
    answer
}

/// Escapes the characters Canvas Kit's markdown reads in a `text` component.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '*' | '_' | '[' | ']' | '(' | ')' | '`' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::resolution::PersonKind;
    use crate::panel::{AccountView, CaseView, OpportunityView};

    fn sample() -> PanelView {
        let opp = |id: &str, name: &str| OpportunityView {
            id: id.into(),
            name: name.into(),
            stage: Some("Prospecting".into()),
            close_date: Some("2027-01-01".into()),
            amount: Some("1000".into()),
            owner: Some("Grace Hopper".into()),
        };
        PanelView {
            kind: PersonKind::Contact,
            id: "003x".into(),
            name: "Ada *Lovelace*".into(),
            email: Some("ada@example.org".into()),
            owner: Some("Grace Hopper".into()),
            company: None,
            fields: vec![("Title".into(), Some("Countess".into()))],
            account: Some(AccountView {
                id: "001x".into(),
                name: "Acme".into(),
                website: Some("acme.example".into()),
                country: Some("France".into()),
                owner: Some("Grace Hopper".into()),
            }),
            opportunities: vec![opp("006a", "Big"), opp("006b", "Small")],
            cases: vec![CaseView {
                id: "500x".into(),
                number: Some("00001001".into()),
                subject: Some("Broken".into()),
                status: Some("New".into()),
                priority: Some("High".into()),
            }],
            last_modified: None,
        }
    }

    fn components(canvas: &Value) -> &Vec<Value> {
        canvas["canvas"]["content"]["components"]
            .as_array()
            .expect("components")
    }

    #[test]
    fn signatures_are_hex_hmac_sha256_of_the_raw_body() {
        let secrets = vec![Secret::new("old"), Secret::new("client-secret")];
        let body = br#"{"workspace_id":"abc"}"#;
        let header = sign("client-secret", body);
        assert_eq!(header.len(), 64);
        assert!(verify(&secrets, body, Some(&header)));
        assert!(!verify(&secrets, b"{}", Some(&header)));
        assert!(!verify(&secrets, body, Some("zz")));
        assert!(!verify(&secrets, body, None));
    }

    #[test]
    fn the_view_shows_a_dropdown_for_several_opportunities_and_the_cases() {
        let extras = Extras {
            selected: Some("006b".into()),
            ..Extras::default()
        };
        let canvas = view(&sample(), "https://acme.my.salesforce.com", &extras);
        let c = components(&canvas);
        assert_eq!(c[0]["text"], "**Ada \\*Lovelace\\***");
        let dropdown = c
            .iter()
            .find(|x| x["type"] == "dropdown")
            .expect("dropdown");
        assert_eq!(dropdown["value"], "006b");
        assert_eq!(dropdown["options"].as_array().map(Vec::len), Some(2));
        let list = c.iter().find(|x| x["type"] == "list").expect("cases");
        assert_eq!(list["items"][0]["title"], "00001001 Broken");
        assert_eq!(
            list["items"][0]["action"]["url"],
            "https://acme.my.salesforce.com/lightning/r/Case/500x/view"
        );
        assert!(c.iter().any(|x| x["text"] == "Open cases: 1"));
        assert!(serde_json::to_vec(&canvas).expect("json").len() < MAX_PART_BYTES);
    }

    #[test]
    fn one_opportunity_needs_no_dropdown() {
        let mut one = sample();
        one.opportunities.truncate(1);
        let canvas = view(&one, "https://x", &Extras::default());
        assert!(!components(&canvas).iter().any(|x| x["type"] == "dropdown"));
    }

    #[test]
    fn the_edit_form_keeps_what_it_showed_and_a_saved_view_offers_the_old_values_back() {
        let form = edit_form(&sample(), &["Title".into()]);
        let c = components(&form);
        assert_eq!(c[1]["type"], "input");
        assert_eq!(c[1]["id"], "field:Title");
        assert_eq!(c[1]["value"], "Countess");
        assert_eq!(form["canvas"]["stored_data"]["before"]["Title"], "Countess");
        assert!(!c.iter().any(|x| x["id"] == "field:Email"));
        let extras = Extras {
            editable: vec!["Title".into()],
            restore: BTreeMap::from([("Title".to_owned(), Some("Countess".to_owned()))]),
            ..Extras::default()
        };
        let saved = view(&sample(), "https://x", &extras);
        assert!(components(&saved).iter().any(|x| x["id"] == RESTORE));
        assert_eq!(
            saved["canvas"]["stored_data"]["restore"]["Title"],
            "Countess"
        );
        let body = serde_json::to_vec(&json!({"current_canvas": saved["canvas"]})).expect("json");
        let back = CanvasRequest::parse(&body).expect("parses");
        assert_eq!(back.stored("restore")["Title"].as_deref(), Some("Countess"));
    }

    #[test]
    fn the_case_form_marks_required_fields_offers_picklists_and_keeps_itself() {
        use crate::panel::FormField;
        let form = vec![
            FormField {
                name: "Subject".into(),
                required: true,
                options: vec![],
                long: false,
            },
            FormField {
                name: "Priority".into(),
                required: false,
                options: vec!["High".into(), "Low".into()],
                long: false,
            },
            FormField {
                name: "Description".into(),
                required: false,
                options: vec![],
                long: true,
            },
        ];
        let owner = ("005x".to_owned(), "Grace Hopper".to_owned());
        let canvas = case_form(
            &sample(),
            &form,
            Some(&owner),
            &["Subject".into()],
            &BTreeMap::new(),
        );
        let c = components(&canvas);
        assert_eq!(c[1]["text"], "Fill in: Subject");
        assert_eq!(c[2]["label"], "Subject (required)");
        assert_eq!(c[3]["type"], "dropdown");
        assert_eq!(c[4]["type"], "textarea");
        assert!(
            c.iter()
                .any(|x| x["text"] == "Owner: Grace Hopper (your Salesforce user)")
        );
        let body = serde_json::to_vec(&json!({"current_canvas": canvas["canvas"]})).expect("json");
        let back = CanvasRequest::parse(&body).expect("parses");
        assert_eq!(back.form(), Some((form, Some(owner))));
    }

    #[test]
    fn the_requests_conversation_becomes_messages_with_their_roles() {
        let body = br#"{"conversation": {"id": 5142, "created_at": 1767225600,
            "source": {"id": "1", "body": "<p>Hello</p>", "author": {"type": "lead", "name": "Ada"}},
            "conversation_parts": {"conversation_parts": [
                {"id": "2", "part_type": "note", "body": "<p>VIP</p>", "created_at": 1767225660,
                 "author": {"type": "admin", "name": "Grace"}},
                {"id": "3", "part_type": "comment", "body": "<p>Hi!</p>", "author": {"type": "bot"}},
                {"id": "4", "part_type": "close", "body": null, "author": {"type": "admin"}}]}}}"#;
        let r = CanvasRequest::parse(body).expect("parses");
        let conversation = r.conversation.expect("conversation");
        assert_eq!(conversation.id_text(), "5142");
        let roles: Vec<crate::event::Role> =
            conversation.messages().iter().map(|m| m.role).collect();
        use crate::event::Role;
        assert_eq!(roles, [Role::Visitor, Role::Note, Role::Bot]);
        assert!(conversation.messages()[0].at.is_some());
    }

    #[test]
    fn requests_parse_with_what_chatsync_reads() {
        let body = br#"{"workspace_id":"ws1","admin":{"id":"7","email":"a@b.io"},
            "contact":{"id":"c1","email":"ada@example.org"},"conversation":{"id":"42"},
            "component_id":"show-opportunity","input_values":{"opportunity":"006b"},
            "context":{"location":"conversation"},"current_canvas":{}}"#;
        let r = CanvasRequest::parse(body).expect("parses");
        assert_eq!(r.contact.map(|c| c.id).as_deref(), Some("c1"));
        assert_eq!(r.input_values["opportunity"], "006b");
        assert!(CanvasRequest::parse(b"[1]").is_err());
    }
}
