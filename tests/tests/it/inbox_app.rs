//! The inbox panel end to end: Intercom Canvas Kit requests, signed as Intercom signs them,
//! to the inbox-app under RIE on moto, reading the emulated org.

use chatsync_local::session::Session;
use chatsync_tests::e2e;
use serde_json::{Value, json};
use shared::event::resolution::{Person, PersonKind};
use shared::platforms::Platform;
use shared::platforms::intercom::canvas;
use shared::store::links::{LinkKey, Links};

const LINKED: &str = "66a1f0c2e4b0a1b2c3d4e5f6";

/// A Contact with an Account, two open Opportunities, an open and a closed Case, linked to
/// Intercom contact `LINKED`; the Contact's id.
async fn customer(session: &Session) -> String {
    let account = e2e::seed(
        session,
        json!({"Account": [{"Name": "Analytical Engines", "Website": "engines.example",
            "BillingCountry": "United Kingdom"}]}),
    )
    .await["Account"][0]
        .as_str()
        .expect("account id")
        .to_owned();
    let contact = e2e::seed(
        session,
        json!({"Contact": [{"FirstName": "Ada", "LastName": "Lovelace", "Title": "Countess",
            "Email": "ada@engines.example", "AccountId": account}],
            "Opportunity": [
                {"Name": "Difference engine", "StageName": "Prospecting", "CloseDate": "2027-03-01",
                 "Amount": 17000, "AccountId": account},
                {"Name": "Analytical engine", "StageName": "Proposal/Price Quote", "CloseDate": "2027-01-15",
                 "Amount": 250000, "AccountId": account},
                {"Name": "Old deal", "StageName": "Closed Won", "CloseDate": "2026-01-15",
                 "AccountId": account}]}),
    )
    .await["Contact"][0]
        .as_str()
        .expect("contact id")
        .to_owned();
    e2e::seed(
        session,
        json!({"Case": [
            {"Subject": "Punched cards jam", "Status": "New", "Priority": "High", "ContactId": contact},
            {"Subject": "Solved long ago", "Status": "Closed", "Priority": "Low", "ContactId": contact}]}),
    )
    .await;
    let links = Links::new(
        aws_sdk_dynamodb::Client::new(&session.sdk),
        session.table("LinksTable").expect("links table"),
    );
    links
        .put(
            "demo",
            &[LinkKey::PlatformContact {
                platform: Platform::Intercom,
                contact_id: LINKED.into(),
            }],
            &Person {
                kind: PersonKind::Contact,
                id: contact.clone(),
                account_id: None,
            },
            30,
            time::OffsetDateTime::now_utc(),
        )
        .await
        .expect("linked");
    contact
}

/// A Canvas Kit request as Intercom sends it for `contact` (submit when `component` is set).
fn request(contact: &str, component: Option<(&str, Value)>) -> Vec<u8> {
    let mut body = json!({
        "workspace_id": "ecahpwf5", "workspace_region": "us",
        "admin": {"type": "admin", "id": "5017691", "name": "Grace Hopper",
            "email": "grace.hopper@example.com"},
        "card_creation_options": {},
        "context": {"conversation_id": 5142, "location": "conversation", "locale": "en"},
        "conversation": {"type": "conversation", "id": "5142", "state": "open"},
        "contact": {"type": "contact", "id": contact, "role": "user", "email": "ada@engines.example"},
        "customer": {"type": "user", "id": contact}
    });
    if let Some((id, inputs)) = component {
        body["component_id"] = json!(id);
        body["input_values"] = inputs;
        body["current_canvas"] = json!({"content": {"components": []}});
    }
    serde_json::to_vec(&body).expect("JSON")
}

/// Posts `body` to the action, signed with `secret`; status and answer.
async fn post(
    session: &Session,
    tenant: &str,
    action: &str,
    body: &[u8],
    secret: &str,
) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/inbox/intercom/{tenant}/{action}",
            session.intake_url()
        ))
        .header("content-type", "application/json")
        .header("X-Body-Signature", canvas::sign(secret, body))
        .body(body.to_vec())
        .send()
        .await
        .expect("inbox app answers");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn secret() -> String {
    e2e::demo_tenant().secrets.webhooks.intercom_client_secret[0]
        .expose()
        .to_owned()
}

async fn salesforce_calls(session: &Session) -> u64 {
    let stats: Value = reqwest::get(format!(
        "{}/__emulator/stats",
        session.salesforce_url.clone().expect("emulator")
    ))
    .await
    .expect("stats")
    .json()
    .await
    .expect("stats JSON");
    stats["api_calls"].as_u64().expect("api_calls")
}

fn components(answer: &Value) -> Vec<Value> {
    answer["canvas"]["content"]["components"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The value of `field` in the data-table that follows the header `section`.
fn row(answer: &Value, section: &str, field: &str) -> Option<String> {
    components(answer)
        .iter()
        .skip_while(|c| c["text"] != section)
        .find(|c| c["type"] == "data-table")?["items"]
        .as_array()?
        .iter()
        .find(|i| i["field"] == field)
        .and_then(|i| i["value"].as_str().map(str::to_owned))
}

#[tokio::test]
async fn a_signed_initialize_shows_the_contact_account_opportunities_and_open_cases_once_per_minute()
 {
    let session = e2e::start(Vec::new(), Vec::new()).await;
    let contact = customer(&session).await;
    let secret = secret();

    // WHEN an agent opens the conversation
    let before = salesforce_calls(&session).await;
    let (status, first) = post(
        &session,
        "demo",
        "initialize",
        &request(LINKED, None),
        &secret,
    )
    .await;
    // THEN the canvas shows the person, the Account, both open Opportunities in a dropdown
    // and the one open Case, for one Salesforce call
    assert_eq!(status, 200, "{first}");
    assert_eq!(salesforce_calls(&session).await - before, 1);
    let c = components(&first);
    assert_eq!(c[0]["text"], "**Ada Lovelace**", "{first}");
    assert_eq!(
        row(&first, "**Ada Lovelace**", "Email").as_deref(),
        Some("ada@engines.example")
    );
    assert_eq!(
        row(&first, "**Ada Lovelace**", "Title").as_deref(),
        Some("Countess")
    );
    assert_eq!(
        row(&first, "Account", "Name").as_deref(),
        Some("Analytical Engines")
    );
    assert_eq!(
        row(&first, "Account", "Country").as_deref(),
        Some("United Kingdom")
    );
    let dropdown = c
        .iter()
        .find(|x| x["type"] == "dropdown")
        .expect("a dropdown");
    let options: Vec<&str> = dropdown["options"]
        .as_array()
        .expect("options")
        .iter()
        .filter_map(|o| o["text"].as_str())
        .collect();
    // Soonest close first; the won one is not open.
    assert_eq!(options, ["Analytical engine", "Difference engine"]);
    assert!(c.iter().any(|x| x["text"] == "Open cases: 1"), "{first}");
    let cases = c.iter().find(|x| x["type"] == "list").expect("the cases");
    assert!(
        cases["items"][0]["title"]
            .as_str()
            .is_some_and(|t| t.ends_with("Punched cards jam")),
        "{cases}"
    );
    let open = c
        .iter()
        .find(|x| x["id"] == "open-person")
        .expect("Open in Salesforce");
    assert!(
        open["action"]["url"]
            .as_str()
            .is_some_and(|u| u.ends_with(&format!("/lightning/r/Contact/{contact}/view"))),
        "{open}"
    );

    // WHEN the agent picks the other Opportunity within the minute
    let pick = request(
        LINKED,
        Some((
            canvas::SHOW_OPPORTUNITY,
            json!({"opportunity": dropdown["options"][1]["id"]}),
        )),
    );
    let (status, second) = post(&session, "demo", "submit", &pick, &secret).await;
    // THEN it is shown from the cache: no Salesforce call
    assert_eq!(status, 200, "{second}");
    assert_eq!(salesforce_calls(&session).await - before, 1);
    assert_eq!(
        row(&second, "Open opportunities (2)", "Name").as_deref(),
        Some("Difference engine")
    );

    // WHEN the agent refreshes THEN Salesforce is read again
    let refresh = request(LINKED, Some((canvas::REFRESH, json!({}))));
    let (status, _) = post(&session, "demo", "submit", &refresh, &secret).await;
    assert_eq!(status, 200);
    assert_eq!(salesforce_calls(&session).await - before, 2);
    session.stop().await;
}

#[tokio::test]
async fn bad_signatures_unknown_tenants_and_unknown_customers_read_nothing() {
    let session = e2e::start(Vec::new(), Vec::new()).await;
    customer(&session).await;
    let secret = secret();
    let before = salesforce_calls(&session).await;
    let body = request(LINKED, None);
    // A wrong secret, a body changed after signing, an unknown tenant: 401, nothing read.
    let (status, _) = post(&session, "demo", "initialize", &body, "not-the-secret").await;
    assert_eq!(status, 401);
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/inbox/intercom/demo/initialize",
            session.intake_url()
        ))
        .header("X-Body-Signature", canvas::sign(&secret, &body))
        .body(request("someone-else", None))
        .send()
        .await
        .expect("answers");
    assert_eq!(resp.status().as_u16(), 401);
    let (status, _) = post(&session, "nobody", "initialize", &body, &secret).await;
    assert_eq!(status, 401);
    // Signed, but not JSON: 400; an action Intercom never calls: 404.
    let (status, _) = post(&session, "demo", "initialize", b"{not json", &secret).await;
    assert_eq!(status, 400);
    let (status, _) = post(&session, "demo", "configure", &body, &secret).await;
    assert_eq!(status, 404);
    // A customer chatsync has not matched: a card saying so.
    let (status, card) = post(
        &session,
        "demo",
        "initialize",
        &request("66a1f0c2e4b0000000000000", None),
        &secret,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        components(&card)[0]["text"],
        "Not in Salesforce yet",
        "{card}"
    );
    assert_eq!(salesforce_calls(&session).await, before, "nothing was read");
    session.stop().await;
}

/// The tenant `editing`: the demo tenant whose panel shows and lets agents edit Title, Phone
/// and Department.
fn editing_tenant() -> std::path::PathBuf {
    let (path, _) = e2e::tenant_variant("editing", |toml| {
        format!(
            "{toml}\n[config.panel]\nfields = [\"Title\", \"Phone\", \"Department\"]\neditable = true\n"
        )
    });
    path
}

/// Links `LINKED` to `contact` for `tenant`.
async fn link(session: &Session, tenant: &str, contact: &str) {
    Links::new(
        aws_sdk_dynamodb::Client::new(&session.sdk),
        session.table("LinksTable").expect("links table"),
    )
    .put(
        tenant,
        &[LinkKey::PlatformContact {
            platform: Platform::Intercom,
            contact_id: LINKED.into(),
        }],
        &Person {
            kind: PersonKind::Contact,
            id: contact.to_owned(),
            account_id: None,
        },
        30,
        time::OffsetDateTime::now_utc(),
    )
    .await
    .expect("linked");
}

/// A submit of `component` from `canvas` (its stored data comes back), with `inputs`.
fn submit_from(canvas: &Value, component: &str, inputs: Value) -> Vec<u8> {
    let mut body: Value =
        serde_json::from_slice(&request(LINKED, Some((component, inputs)))).expect("JSON");
    body["current_canvas"] = canvas["canvas"].clone();
    serde_json::to_vec(&body).expect("JSON")
}

async fn title(session: &Session, contact: &str) -> Value {
    e2e::records(session, "Contact")
        .await
        .into_iter()
        .find(|c| c["Id"] == contact)
        .map(|c| c["Title"].clone())
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn an_agent_edits_a_field_restores_it_and_a_change_made_meanwhile_in_salesforce_is_not_overwritten()
 {
    let session = e2e::start(vec![editing_tenant()], Vec::new()).await;
    let secret = secret();
    let ten_minutes_ago = (time::OffsetDateTime::now_utc() - time::Duration::minutes(10))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("time");
    let contact = e2e::seed(
        &session,
        json!({"Contact": [{"FirstName": "Ada", "LastName": "Lovelace", "Title": "Countess",
            "Email": "ada@engines.example", "Phone": "+44 20 7946 0000",
            "LastModifiedDate": ten_minutes_ago}]}),
    )
    .await["Contact"][0]
        .as_str()
        .expect("id")
        .to_owned();
    link(&session, "editing", &contact).await;

    // GIVEN the panel was read, then someone changed the Title in Salesforce
    let (_, first) = post(
        &session,
        "editing",
        "initialize",
        &request(LINKED, None),
        &secret,
    )
    .await;
    assert!(
        components(&first).iter().any(|c| c["id"] == canvas::EDIT),
        "{first}"
    );
    let (_, form) = post(
        &session,
        "editing",
        "submit",
        &submit_from(&first, canvas::EDIT, json!({})),
        &secret,
    )
    .await;
    let inputs: Vec<String> = components(&form)
        .iter()
        .filter(|c| c["type"] == "input")
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    // Email and Phone are never editable.
    assert_eq!(inputs, ["field:Title", "field:Department"], "{form}");
    e2e::update_as_user(
        &session,
        "Contact",
        &contact,
        json!({"Title": "Changed elsewhere"}),
    )
    .await;
    // WHEN the agent saves the form THEN Salesforce's change stands and the agent is told
    let save = submit_from(
        &form,
        canvas::SAVE,
        json!({"field:Title": "Engineer", "field:Department": ""}),
    );
    let (status, refused) = post(&session, "editing", "submit", &save, &secret).await;
    assert_eq!(status, 200);
    assert!(
        components(&refused)[0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("changed in Salesforce")),
        "{refused}"
    );
    assert_eq!(title(&session, &contact).await, "Changed elsewhere");

    // WHEN the agent refreshes, edits and saves (an e-mail slipped into the inputs too)
    let (_, fresh) = post(
        &session,
        "editing",
        "submit",
        &submit_from(&refused, canvas::REFRESH, json!({})),
        &secret,
    )
    .await;
    assert_eq!(
        row(&fresh, "**Ada Lovelace**", "Title").as_deref(),
        Some("Changed elsewhere")
    );
    let (_, form) = post(
        &session,
        "editing",
        "submit",
        &submit_from(&fresh, canvas::EDIT, json!({})),
        &secret,
    )
    .await;
    let save = submit_from(
        &form,
        canvas::SAVE,
        json!({"field:Title": "Engineer", "field:Department": "", "field:Email": "someone@else.example"}),
    );
    let (_, saved) = post(&session, "editing", "submit", &save, &secret).await;
    // THEN the Title changed in Salesforce, nothing else did, and the panel shows it
    assert_eq!(
        components(&saved)[0]["text"],
        "Saved in Salesforce.",
        "{saved}"
    );
    assert_eq!(title(&session, &contact).await, "Engineer");
    let record = e2e::records(&session, "Contact").await;
    let ada = record
        .iter()
        .find(|c| c["Id"] == contact)
        .expect("the Contact");
    assert_eq!(ada["Email"], "ada@engines.example");
    assert_eq!(
        row(&saved, "**Ada Lovelace**", "Title").as_deref(),
        Some("Engineer")
    );
    // AND a view within the minute costs no Salesforce call
    let before = salesforce_calls(&session).await;
    let (_, again) = post(
        &session,
        "editing",
        "initialize",
        &request(LINKED, None),
        &secret,
    )
    .await;
    assert_eq!(salesforce_calls(&session).await, before);
    assert_eq!(
        row(&again, "**Ada Lovelace**", "Title").as_deref(),
        Some("Engineer")
    );

    // WHEN the agent restores THEN the value before the edit is back
    assert!(
        components(&saved)
            .iter()
            .any(|c| c["id"] == canvas::RESTORE),
        "{saved}"
    );
    let (_, restored) = post(
        &session,
        "editing",
        "submit",
        &submit_from(&saved, canvas::RESTORE, json!({})),
        &secret,
    )
    .await;
    assert_eq!(
        components(&restored)[0]["text"],
        "Saved in Salesforce.",
        "{restored}"
    );
    assert_eq!(title(&session, &contact).await, "Changed elsewhere");
    session.stop().await;
}

#[tokio::test]
async fn new_case_asks_for_what_is_required_creates_it_once_owned_by_the_agent_and_notes_it_in_the_conversation()
 {
    let session = e2e::start(Vec::new(), Vec::new()).await;
    let contact = customer(&session).await;
    let secret = secret();
    let (_, first) = post(
        &session,
        "demo",
        "initialize",
        &request(LINKED, None),
        &secret,
    )
    .await;
    // WHEN the agent opens New Case
    let (status, form) = post(
        &session,
        "demo",
        "submit",
        &submit_from(&first, canvas::NEW_CASE, json!({})),
        &secret,
    )
    .await;
    assert_eq!(status, 200, "{form}");
    let c = components(&form);
    assert!(
        c.iter()
            .any(|x| x["id"] == "field:Subject" && x["label"] == "Subject (required)"),
        "{form}"
    );
    let priority = c
        .iter()
        .find(|x| x["id"] == "field:Priority")
        .expect("Priority");
    assert_eq!(priority["type"], "dropdown");
    // THEN it says who will own the Case: the agent's own Salesforce user
    assert!(
        c.iter()
            .any(|x| x["text"] == "Owner: Grace Hopper (your Salesforce user)"),
        "{form}"
    );

    // WHEN the agent submits without a Subject THEN nothing is created and the form says why
    let cases_before = e2e::records(&session, "Case").await.len();
    let calls = salesforce_calls(&session).await;
    let (_, again) = post(
        &session,
        "demo",
        "submit",
        &submit_from(
            &form,
            canvas::CREATE_CASE,
            json!({"field:Priority": "High"}),
        ),
        &secret,
    )
    .await;
    assert_eq!(components(&again)[1]["text"], "Fill in: Subject", "{again}");
    assert_eq!(salesforce_calls(&session).await, calls);
    assert_eq!(e2e::records(&session, "Case").await.len(), cases_before);

    // WHEN the agent fills it in and submits (twice, as a double click would)
    let create = submit_from(
        &again,
        canvas::CREATE_CASE,
        json!({"field:Subject": "Engine <overheats>", "field:Priority": "High",
            "field:Description": "Since Tuesday."}),
    );
    let (_, created) = post(&session, "demo", "submit", &create, &secret).await;
    let (_, repeated) = post(&session, "demo", "submit", &create, &secret).await;
    // THEN one Case exists, about the Contact and its Account, owned by the agent's User
    let note = components(&created)[0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        note.starts_with("Case ") && note.contains("note with its link"),
        "{created}"
    );
    assert!(
        components(&repeated)[0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("already created")),
        "{repeated}"
    );
    let cases = e2e::records(&session, "Case").await;
    let new: Vec<&Value> = cases
        .iter()
        .filter(|k| k["Subject"] == "Engine <overheats>")
        .collect();
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(new[0]["ContactId"], contact.as_str());
    assert_eq!(new[0]["Priority"], "High");
    assert_eq!(new[0]["OwnerId"], "005000000000AGTAA2");
    assert!(
        new[0]["AccountId"]
            .as_str()
            .is_some_and(|a| a.starts_with("001"))
    );
    // AND the panel lists it, and the conversation has a note with its link
    assert!(components(&created).iter().any(|x| {
        x["type"] == "list"
            && x["items"][0]["title"]
                .as_str()
                .is_some_and(|t| t.ends_with("Engine <overheats>"))
    }));
    let chat = session.chat_url.clone().expect("chat emulator");
    let conversations: Vec<Value> =
        reqwest::get(format!("{chat}/__emulator/records/intercom/conversations"))
            .await
            .expect("records")
            .json()
            .await
            .expect("JSON");
    let conversation = conversations
        .iter()
        .find(|c| c["id"] == "5142")
        .expect("the conversation");
    let parts = conversation["conversation_parts"]["conversation_parts"]
        .as_array()
        .expect("parts");
    assert_eq!(parts.len(), 1, "one note, though submitted twice");
    assert_eq!(parts[0]["part_type"], "note");
    assert_eq!(parts[0]["author"]["id"], "5017691");
    let body = parts[0]["body"].as_str().expect("body");
    let id = new[0]["Id"].as_str().expect("id");
    assert!(
        body.contains(&format!("/lightning/r/Case/{id}/view")),
        "{body}"
    );
    assert!(body.contains("Engine &lt;overheats&gt;"), "{body}");
    session.stop().await;
}

#[tokio::test]
async fn an_unmatched_customer_is_created_as_a_lead_from_the_panel_and_linked() {
    let session = e2e::start(Vec::new(), Vec::new()).await;
    let secret = secret();
    let stranger = "66a1f0c2e4b0ffffffffffff";
    let ask = |component: Option<(&str, Value)>, canvas: Option<&Value>| {
        let mut body: Value = serde_json::from_slice(&request(stranger, component)).expect("JSON");
        body["contact"]["name"] = json!("Mary Somerville");
        body["contact"]["email"] = json!("mary@somerville.example");
        if let Some(c) = canvas {
            body["current_canvas"] = c["canvas"].clone();
        }
        serde_json::to_vec(&body).expect("JSON")
    };
    // GIVEN a customer chatsync has not matched: the panel offers to create them
    let (_, first) = post(&session, "demo", "initialize", &ask(None, None), &secret).await;
    assert!(
        components(&first)
            .iter()
            .any(|c| c["id"] == canvas::NEW_LEAD),
        "{first}"
    );
    // WHEN the agent opens Create Lead THEN the form has what Intercom knows
    let (_, form) = post(
        &session,
        "demo",
        "submit",
        &ask(Some((canvas::NEW_LEAD, json!({}))), Some(&first)),
        &secret,
    )
    .await;
    let value = |canvas: &Value, id: &str| {
        components(canvas)
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["value"].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(value(&form, "field:FirstName"), "Mary", "{form}");
    assert_eq!(value(&form, "field:LastName"), "Somerville");
    assert_eq!(value(&form, "field:Email"), "mary@somerville.example");
    assert!(
        components(&form)
            .iter()
            .any(|c| c["label"] == "Company (required)"),
        "{form}"
    );
    // WHEN it is sent without a Company THEN nothing is created
    let inputs = json!({"field:FirstName": "Mary", "field:LastName": "Somerville",
        "field:Email": "mary@somerville.example"});
    let (_, again) = post(
        &session,
        "demo",
        "submit",
        &ask(Some((canvas::CREATE_LEAD, inputs.clone())), Some(&form)),
        &secret,
    )
    .await;
    assert_eq!(components(&again)[1]["text"], "Fill in: Company", "{again}");
    assert!(
        e2e::records(&session, "Lead")
            .await
            .iter()
            .all(|l| l["Email"] != "mary@somerville.example")
    );
    // WHEN it is sent whole THEN the Lead exists, owned by the agent, and the panel shows it
    let mut whole = inputs;
    whole["field:Company"] = json!("Royal Society");
    let (_, created) = post(
        &session,
        "demo",
        "submit",
        &ask(Some((canvas::CREATE_LEAD, whole)), Some(&again)),
        &secret,
    )
    .await;
    assert_eq!(
        components(&created)[0]["text"],
        "Lead created in Salesforce and linked to this customer.",
        "{created}"
    );
    let leads = e2e::records(&session, "Lead").await;
    let mary: Vec<&Value> = leads
        .iter()
        .filter(|l| l["Email"] == "mary@somerville.example")
        .collect();
    assert_eq!(mary.len(), 1);
    assert_eq!(mary[0]["Company"], "Royal Society");
    assert_eq!(mary[0]["OwnerId"], "005000000000AGTAA2");
    // AND the customer is linked: the next view shows the Lead, from the cache
    let calls = salesforce_calls(&session).await;
    let (_, view) = post(&session, "demo", "initialize", &ask(None, None), &secret).await;
    assert_eq!(
        components(&view)[0]["text"],
        "**Mary Somerville**",
        "{view}"
    );
    assert_eq!(
        row(&view, "**Mary Somerville**", "Type").as_deref(),
        Some("Lead")
    );
    assert_eq!(salesforce_calls(&session).await, calls);
    session.stop().await;
}

#[tokio::test]
async fn log_as_task_writes_the_redacted_transcript_once_per_conversation() {
    let session = e2e::start(Vec::new(), Vec::new()).await;
    let contact = customer(&session).await;
    let secret = secret();
    let (_, first) = post(
        &session,
        "demo",
        "initialize",
        &request(LINKED, None),
        &secret,
    )
    .await;
    // The conversation as Intercom sends it with a canvas request: the source and its parts.
    let mut body: Value =
        serde_json::from_slice(&submit_from(&first, canvas::LOG_TASK, json!({}))).expect("JSON");
    body["conversation"] = json!({"type": "conversation", "id": "5142", "created_at": 1767225600,
        "source": {"type": "conversation", "id": "403918", "body": "<p>My card is 4111 1111 1111 1111, it was charged twice</p>",
            "author": {"type": "user", "id": LINKED, "name": "Ada Lovelace"}},
        "conversation_parts": {"type": "conversation_part.list", "total_count": 2, "conversation_parts": [
            {"type": "conversation_part", "id": "1", "part_type": "comment", "created_at": 1767225660,
             "body": "<p>Let me check the <b>refund</b></p>", "author": {"type": "admin", "id": "5017691", "name": "Grace Hopper"}},
            {"type": "conversation_part", "id": "2", "part_type": "assignment", "created_at": 1767225700,
             "body": null, "author": {"type": "admin", "id": "5017691", "name": "Grace Hopper"}}]}});
    let log = serde_json::to_vec(&body).expect("JSON");
    // WHEN the agent logs the conversation, twice
    let (status, logged) = post(&session, "demo", "submit", &log, &secret).await;
    assert_eq!(status, 200);
    assert_eq!(
        components(&logged)[0]["text"],
        "The conversation (2 messages) is logged as a Task in Salesforce.",
        "{logged}"
    );
    post(&session, "demo", "submit", &log, &secret).await;
    // THEN one Task on the Contact holds the transcript, the card number redacted
    let tasks = e2e::records(&session, "Task").await;
    let ours: Vec<&Value> = tasks
        .iter()
        .filter(|t| t["Chat_Transcript_Key__c"] == "demo:intercom:5142#panel")
        .collect();
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert_eq!(ours[0]["WhoId"], contact.as_str());
    assert_eq!(ours[0]["Status"], "Completed");
    let text = ours[0]["Description"].as_str().expect("Description");
    assert!(
        text.contains("Grace Hopper (agent): Let me check the refund"),
        "{text}"
    );
    assert!(
        text.contains("Ada Lovelace (visitor): My card is"),
        "{text}"
    );
    assert!(!text.contains("4111 1111 1111 1111"), "{text}");
    session.stop().await;
}

#[tokio::test]
async fn in_manual_mode_nothing_is_created_until_the_agent_creates_it_from_the_panel() {
    // GIVEN a tenant in manual mode
    // (without the demo's settings that create: validation refuses them in manual mode)
    let (path, tenant) = e2e::tenant_variant("manual", |toml| {
        toml.replace(
            "mode = \"support\"",
            "mode = \"support\"\nautomation = \"manual\"",
        )
        .lines()
        .filter(|l| {
            !l.starts_with("create_by_role")
                && !l.starts_with("create_accounts")
                && !l.starts_with("trigger =")
        })
        .collect::<Vec<_>>()
        .join("\n")
    });
    let session = e2e::start(vec![path], Vec::new()).await;
    let visitor = chatsync_tests::scenario::Visitor {
        contact_id: "66a1f0c2e4b0aaaaaaaaaaaa".into(),
        name: "Hedy Lamarr".into(),
        email: "hedy@lamarr.example".into(),
    };
    // WHEN a new visitor's conversation arrives
    let start = time::OffsetDateTime::now_utc().unix_timestamp() - 3600;
    let deliveries = chatsync_tests::scenario::intercom_conversation("8801", &visitor, start);
    e2e::deliver(&session, &tenant, &deliveries).await;
    e2e::drain(&session).await;
    // THEN no Contact, Lead or Case was created
    for sobject in ["Contact", "Lead"] {
        let records = e2e::records(&session, sobject).await;
        assert!(
            records.iter().all(|r| r["Email"] != visitor.email.as_str()),
            "{sobject}: {records:?}"
        );
    }
    let cases = e2e::records(&session, "Case").await;
    assert!(
        cases
            .iter()
            .all(|c| c["Chat_Conversation_Id__c"] != "manual:intercom:8801"),
        "{cases:?}"
    );
    // WHEN the agent creates the Contact from the panel THEN it exists and is linked
    let secret = secret();
    let ask = |component: Option<(&str, Value)>, canvas: Option<&Value>| {
        let mut body: Value =
            serde_json::from_slice(&request(&visitor.contact_id, component)).expect("JSON");
        body["contact"]["name"] = json!(visitor.name);
        body["contact"]["email"] = json!(visitor.email);
        if let Some(c) = canvas {
            body["current_canvas"] = c["canvas"].clone();
        }
        serde_json::to_vec(&body).expect("JSON")
    };
    let (_, first) = post(&session, "manual", "initialize", &ask(None, None), &secret).await;
    assert_eq!(
        components(&first)[0]["text"],
        "Not in Salesforce yet",
        "{first}"
    );
    let (_, form) = post(
        &session,
        "manual",
        "submit",
        &ask(Some((canvas::NEW_CONTACT, json!({}))), Some(&first)),
        &secret,
    )
    .await;
    let inputs = json!({"field:FirstName": "Hedy", "field:LastName": "Lamarr",
        "field:Email": visitor.email});
    let (_, created) = post(
        &session,
        "manual",
        "submit",
        &ask(Some((canvas::CREATE_CONTACT, inputs)), Some(&form)),
        &secret,
    )
    .await;
    assert_eq!(
        components(&created)[0]["text"],
        "Contact created in Salesforce and linked to this customer.",
        "{created}"
    );
    let contacts = e2e::records(&session, "Contact").await;
    assert_eq!(
        contacts
            .iter()
            .filter(|c| c["Email"] == visitor.email.as_str())
            .count(),
        1
    );
    session.stop().await;
}

#[tokio::test]
async fn a_signed_web_panel_link_shows_the_customer_and_a_bad_or_expired_one_reads_nothing() {
    let session = e2e::start(Vec::new(), Vec::new()).await;
    let contact = customer(&session).await;
    // The same person met on Tidio.
    let tidio_contact = "8f3b2c1a-tidio-visitor";
    Links::new(
        aws_sdk_dynamodb::Client::new(&session.sdk),
        session.table("LinksTable").expect("links table"),
    )
    .put(
        "demo",
        &[LinkKey::PlatformContact {
            platform: Platform::Tidio,
            contact_id: tidio_contact.into(),
        }],
        &Person {
            kind: PersonKind::Contact,
            id: contact.clone(),
            account_id: None,
        },
        30,
        time::OffsetDateTime::now_utc(),
    )
    .await
    .expect("linked");
    let key = e2e::demo_tenant().secrets.webhooks.panel_link_key[0].clone();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let get = |path: String| {
        let url = format!("{}{path}", session.intake_url());
        async move { reqwest::get(url).await.expect("the panel answers") }
    };
    let before = salesforce_calls(&session).await;
    // WHEN an agent opens a signed link
    let link = shared::panel::link::sign(&key, "demo", "tidio", tidio_contact, now + 600);
    let resp = get(link.clone()).await;
    // THEN the page shows the Contact, the Account, both Opportunities and the open Case
    assert_eq!(resp.status().as_u16(), 200);
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .expect("CSP")
        .to_owned();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    let page = resp.text().await.expect("HTML");
    for shown in [
        "<h1>Ada Lovelace</h1>",
        "Analytical Engines",
        "Open opportunities (2)",
        "Open cases: 1",
        "Punched cards jam",
    ] {
        assert!(page.contains(shown), "{shown}: {page}");
    }
    assert_eq!(salesforce_calls(&session).await - before, 1);
    // A forged, changed or expired link: 401, nothing read.
    let calls = salesforce_calls(&session).await;
    let forged = shared::panel::link::sign(
        &shared::secret::Secret::new("not-the-key"),
        "demo",
        "tidio",
        tidio_contact,
        now + 600,
    );
    let other = link.replace(tidio_contact, "someone-else");
    let expired = shared::panel::link::sign(&key, "demo", "tidio", tidio_contact, now - 1);
    for bad in [
        forged,
        other,
        expired,
        format!("/panel/demo/tidio/{tidio_contact}"),
    ] {
        assert_eq!(get(bad.clone()).await.status().as_u16(), 401, "{bad}");
    }
    assert_eq!(salesforce_calls(&session).await, calls, "nothing was read");
    session.stop().await;
}
