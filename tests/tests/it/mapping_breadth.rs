//! Issue 15 end to end on the local stack: people chosen by the chat's role, companies as
//! Accounts with their people, mapped person fields with watermarks, and channels with their
//! own record types and queues.

use chatsync_local::session::Session;
use chatsync_tests::e2e::{self, drain, records, tenant_variant, update_as_user};
use serde_json::{Value, json};
use shared::event::Platform;
use shared::tenant::TenantFile;
use time::OffsetDateTime;

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// An Intercom 2.x contact notification, shaped as Intercom sends it.
fn intercom_contact(
    topic: &str,
    id: &str,
    role: &str,
    (email, name): (&str, &str),
    updated_at: i64,
    attributes: Value,
    company_ids: &[&str],
) -> Value {
    json!({
        "type": "notification_event", "app_id": "demoapp1", "topic": topic,
        "id": format!("notif_{id}_{updated_at}_{topic}"),
        "created_at": updated_at + 1, "delivery_attempts": 1, "first_sent_at": updated_at + 1,
        "data": {"type": "notification_event_data", "item": {
            "type": "contact", "id": id, "workspace_id": "demoapp1", "role": role,
            "email": email, "phone": null, "name": name, "external_id": null,
            "created_at": updated_at - 60, "updated_at": updated_at,
            "custom_attributes": attributes,
            "tags": {"type": "list", "data": []},
            "companies": {"type": "list", "data": company_ids.iter().map(|c| json!({
                "id": c, "type": "company", "url": format!("/companies/{c}")})).collect::<Vec<_>>()}
        }}
    })
}

fn intercom_company(id: &str, name: &str, website: &str, updated_at: i64) -> Value {
    json!({
        "type": "notification_event", "app_id": "demoapp1", "topic": "company.updated",
        "id": format!("notif_company_{id}_{updated_at}"), "created_at": updated_at + 1,
        "data": {"type": "notification_event_data", "item": {
            "type": "company", "id": id, "name": name, "company_id": "acme-7",
            "website": website, "industry": "Manufacturing", "size": 85,
            "plan": {"type": "plan", "id": "1", "name": "Enterprise"},
            "created_at": updated_at - 600, "updated_at": updated_at,
            "custom_attributes": {"tier": "gold"}
        }}
    })
}

async fn send(session: &Session, tenant: &TenantFile, platform: Platform, body: &Value) {
    let bytes = serde_json::to_vec(body).expect("json");
    let (status, answer) = e2e::post_from(session, tenant, platform, &bytes).await;
    assert!(
        status == 202 || status == 200,
        "{platform} delivery: {status} {answer}"
    );
}

fn by_field<'a>(records: &'a [Value], field: &str, value: &str) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| r[field].as_str() == Some(value))
        .collect()
}

async fn one(session: &Session, sobject: &str, field: &str, value: &str) -> Value {
    let all = records(session, sobject).await;
    let found = by_field(&all, field, value);
    assert_eq!(
        found.len(),
        1,
        "one {sobject} with {field} = {value}: {all:#?}"
    );
    found[0].clone()
}

/// Every resolve step's detail for the tenant, for what the sync log says.
async fn resolve_details(session: &Session, tenant: &str) -> Vec<String> {
    step_details(session, tenant, shared::synclog::Step::Resolve).await
}

/// Every detail the sync log holds for one step of the tenant.
async fn step_details(session: &Session, tenant: &str, step: shared::synclog::Step) -> Vec<String> {
    let client = aws_sdk_dynamodb::Client::new(&session.sdk);
    let table = session.table("SyncLogTable").expect("sync log table");
    let log = shared::store::synclog::SyncLogTable::new(client.clone(), table);
    let scan = client.scan().table_name(table).send().await.expect("scan");
    let mut out = Vec::new();
    for item in scan.items() {
        let Some(pk) = item.get("pk").and_then(|v| v.as_s().ok()) else {
            continue;
        };
        if pk.starts_with(shared::store::synclog::PAYLOAD_PREFIX) {
            continue;
        }
        for line in log.trail(pk).await.expect("trail") {
            if line.entry.tenant_id == tenant && line.entry.step == step {
                out.push(line.entry.detail);
            }
        }
    }
    out
}

#[tokio::test]
async fn an_intercom_lead_becomes_a_lead_and_a_user_a_contact_under_one_tenant() {
    // GIVEN a support tenant that creates by the chat's role, as Intercom's own app does (the
    // demo's setting)
    let (path, tenant) = tenant_variant("roles", |toml| toml);
    assert_eq!(tenant.config.mode, shared::tenant::Mode::Support);
    assert_eq!(
        tenant.config.identity.create_by_role.get("lead"),
        Some(&shared::tenant::CreateKind::Lead)
    );
    let session = e2e::start(vec![path], Vec::new()).await;
    // WHEN an Intercom lead and an Intercom user appear
    let t = now() - 600;
    let lead = intercom_contact(
        "contact.lead.created",
        "6762aa000000000000000001",
        "lead",
        ("ruth.lead@example.org", "Ruth Lead"),
        t,
        json!({}),
        &[],
    );
    let user = intercom_contact(
        "contact.user.created",
        "6762aa000000000000000002",
        "user",
        ("uma.user@example.org", "Uma User"),
        t,
        json!({}),
        &[],
    );
    send(&session, &tenant, Platform::Intercom, &lead).await;
    send(&session, &tenant, Platform::Intercom, &user).await;
    drain(&session).await;
    // THEN the lead is a Lead and the user a Contact, and neither is the other
    let leads = records(&session, "Lead").await;
    let contacts = records(&session, "Contact").await;
    assert_eq!(by_field(&leads, "Email", "ruth.lead@example.org").len(), 1);
    assert!(by_field(&contacts, "Email", "ruth.lead@example.org").is_empty());
    assert_eq!(
        by_field(&contacts, "Email", "uma.user@example.org").len(),
        1
    );
    assert!(by_field(&leads, "Email", "uma.user@example.org").is_empty());
    session.stop().await;
}

#[tokio::test]
async fn a_company_becomes_an_account_with_its_people() {
    // GIVEN a tenant that finds Accounts by Intercom's company id and creates missing ones,
    // mapping the company's industry and size
    let (path, tenant) = tenant_variant("companies", |toml| {
        toml.replace(
            "[secrets.webhooks]",
            "[[config.fields]]\nfrom = \"company.size\"\nto = \"Account.NumberOfEmployees\"\n\n[secrets.webhooks]",
        )
    });
    let identity = &tenant.config.identity;
    assert!(
        identity.accounts && identity.create_accounts,
        "the demo's setting"
    );
    assert_eq!(
        identity.account_id_field.as_deref(),
        Some("Chat_Company_Id__c")
    );
    let session = e2e::start(vec![path], Vec::new()).await;
    let company = "6762f0d51bb69f9f2193bb7f";
    let t = now() - 900;
    // WHEN Intercom says the company changed
    send(
        &session,
        &tenant,
        Platform::Intercom,
        &intercom_company(
            company,
            "Acme Rockets",
            "https://www.acmerockets.example",
            t,
        ),
    )
    .await;
    drain(&session).await;
    // THEN one Account holds it, with its id and mapped fields
    let account = one(&session, "Account", "Chat_Company_Id__c", company).await;
    assert_eq!(account["Name"], "Acme Rockets");
    assert_eq!(account["Website"], "https://www.acmerockets.example");
    assert_eq!(account["Industry"], "Manufacturing");
    assert_eq!(account["NumberOfEmployees"], 85);
    let account_id = account["Id"].as_str().expect("id").to_owned();

    // WHEN a contact is attached to it, and another contact (a free-mail address, so nothing
    // but the company id ties it) lists the company
    let attached = json!({
        "type": "notification_event", "app_id": "demoapp1", "topic": "company.contact.attached",
        "id": "notif_attach_1", "created_at": t + 60,
        "data": {"type": "notification_event_data", "item": {
            "type": "contact_company", "id": "x",
            "contact": intercom_contact("x", "6762bb000000000000000001", "user", ("wile@acmerockets.example", "Wile Coyote"), t + 60, json!({}), &[company])
                ["data"]["item"].clone(),
            "company": intercom_company(company, "Acme Rockets", "https://www.acmerockets.example", t)
                ["data"]["item"].clone()
        }}
    });
    send(&session, &tenant, Platform::Intercom, &attached).await;
    send(
        &session,
        &tenant,
        Platform::Intercom,
        &intercom_contact(
            "contact.user.created",
            "6762bb000000000000000002",
            "user",
            ("road.runner@gmail.com", "Road Runner"),
            t + 120,
            json!({}),
            &[company],
        ),
    )
    .await;
    drain(&session).await;
    // THEN both are Contacts of that Account, and no second Account was made
    for email in ["wile@acmerockets.example", "road.runner@gmail.com"] {
        let contact = one(&session, "Contact", "Email", email).await;
        assert_eq!(contact["AccountId"], json!(account_id), "{email}");
    }
    assert_eq!(records(&session, "Account").await.len(), 1);
    session.stop().await;
}

#[tokio::test]
async fn mapped_attributes_and_lifecycles_land_with_watermarks_and_an_older_event_never_rolls_back()
{
    // GIVEN a sales tenant (respond.io contacts become Leads) whose Intercom users become
    // Contacts, mapping a job title and respond.io's lifecycle (the demo's mappings)
    let (path, tenant) = tenant_variant("people", |toml| {
        toml.replace("mode = \"support\"", "mode = \"sales\"")
    });
    let mapped: Vec<&str> = tenant.config.fields.iter().map(|f| f.to.as_str()).collect();
    assert!(
        mapped.contains(&"Contact.Title") && mapped.contains(&"Lead.Status"),
        "the demo's mappings: {mapped:?}"
    );
    let session = e2e::start(vec![path], Vec::new()).await;
    let base = now() - 3600;
    let contact = "6762cc000000000000000001";
    let title = |t: i64, title: &str, topic: &str| {
        intercom_contact(
            topic,
            contact,
            "user",
            ("kat.johnson@example.org", "Katherine Johnson"),
            t,
            json!({"job_title": title}),
            &[],
        )
    };
    let lifecycle = |t: i64, stage: &str, id: &str| {
        json!({
            "event_type": "contact.lifecycle.updated", "event_id": id,
            "timestamp": t * 1000, "lifecycle": stage, "action": "update",
            "contact": {"id": 770011, "firstName": "Dorothy", "lastName": "Vaughan",
                "email": "dorothy.v@example.org", "countryCode": "GB", "lifecycle": stage}
        })
    };
    // WHEN the values change twice, and then an older event arrives late
    send(
        &session,
        &tenant,
        Platform::Intercom,
        &title(base, "Engineer", "contact.user.created"),
    )
    .await;
    send(
        &session,
        &tenant,
        Platform::RespondIo,
        &lifecycle(base, "New Lead", "lc-1"),
    )
    .await;
    drain(&session).await;
    let created = one(&session, "Contact", "Email", "kat.johnson@example.org").await;
    assert_eq!(
        created["Title"], "Engineer",
        "set when chatsync creates the Contact"
    );
    let lead = one(&session, "Lead", "Email", "dorothy.v@example.org").await;
    assert_eq!(lead["Status"], "Open - Not Contacted");

    send(
        &session,
        &tenant,
        Platform::Intercom,
        &title(base + 600, "Chief Engineer", "contact.user.updated"),
    )
    .await;
    send(
        &session,
        &tenant,
        Platform::RespondIo,
        &lifecycle(base + 600, "Hot Lead", "lc-2"),
    )
    .await;
    drain(&session).await;
    send(
        &session,
        &tenant,
        Platform::Intercom,
        &title(base + 300, "Intern", "contact.user.updated"),
    )
    .await;
    send(
        &session,
        &tenant,
        Platform::RespondIo,
        &lifecycle(base + 300, "New Lead", "lc-3"),
    )
    .await;
    drain(&session).await;

    // THEN each field holds the newest event's value
    let contact_now = one(&session, "Contact", "Email", "kat.johnson@example.org").await;
    assert_eq!(contact_now["Title"], "Chief Engineer");
    let lead_now = one(&session, "Lead", "Email", "dorothy.v@example.org").await;
    assert_eq!(lead_now["Status"], "Working - Contacted");
    let details = resolve_details(&session, "people").await;
    assert!(
        details
            .iter()
            .filter(|d| d.contains("keeps the value of a newer event"))
            .count()
            >= 2,
        "the late events were refused by the watermarks: {details:#?}"
    );

    // WHEN someone sets the Lead's status in Salesforce, and a newer chat stage follows under
    // fill_blanks (the default)
    let lead_id = lead_now["Id"].as_str().expect("id").to_owned();
    update_as_user(
        &session,
        "Lead",
        &lead_id,
        json!({"Status": "Closed - Not Converted"}),
    )
    .await;
    send(
        &session,
        &tenant,
        Platform::RespondIo,
        &lifecycle(now(), "Customer", "lc-4"),
    )
    .await;
    drain(&session).await;
    // THEN the value typed in Salesforce stays
    let kept = one(&session, "Lead", "Email", "dorothy.v@example.org").await;
    assert_eq!(kept["Status"], "Closed - Not Converted");
    session.stop().await;
}

#[tokio::test]
async fn two_channels_of_one_tenant_make_cases_of_their_own_record_types_and_queues() {
    // GIVEN a tenant whose CloudCX web chat and inbox differ in record type and queue
    let (path, tenant) = tenant_variant("channels", |toml| {
        toml.replace(
            "[config.channels.inbox]\nqueue = \"Billing\"\n",
            "[config.channels.inbox]\nqueue = \"Billing\"\ncase = { record_type = \"Inbox_Case\" }\n",
        )
        .replace(
            "[secrets.webhooks]",
            r#"[config.channels.webchat]
queue = "Web_Chat"
case = { record_type = "Web_Chat_Case" }

[secrets.webhooks]"#,
        )
    });
    let session = e2e::start(vec![path], Vec::new()).await;
    let seeded = e2e::seed(
        &session,
        json!({
            "RecordType": [
                {"SobjectType": "Case", "DeveloperName": "Web_Chat_Case", "Name": "Web chat", "IsActive": true},
                {"SobjectType": "Case", "DeveloperName": "Inbox_Case", "Name": "Inbox", "IsActive": true}
            ],
            "Group": [{"Name": "Web chat", "DeveloperName": "Web_Chat", "Type": "Queue"}]
        }),
    )
    .await;
    let id = |kind: &str, i: usize| {
        seeded[kind][i]
            .as_str()
            .unwrap_or_else(|| panic!("{kind} seeded: {seeded}"))
            .to_owned()
    };
    let (web_type, inbox_type, web_queue) =
        (id("RecordType", 0), id("RecordType", 1), id("Group", 0));
    // A queue takes Cases only when it lists the object.
    let served = e2e::seed(
        &session,
        json!({"QueueSobject": [{"QueueId": web_queue, "SobjectType": "Case"}]}),
    )
    .await;
    assert!(served["QueueSobject"][0].is_string(), "{served}");
    // WHEN a web chat session and an inbox ticket start
    let session_id = "5b1f0c2e-8d4a-4f6b-9e3c-1a2b3c4d5e6f";
    send(
        &session,
        &tenant,
        Platform::CloudCx,
        &json!({"event": "LiveChatSessionChatting", "planId": "plan-1",
                "sessionId": session_id, "visitorId": "visitor-1"}),
    )
    .await;
    send(
        &session,
        &tenant,
        Platform::CloudCx,
        &json!({"event": "TicketCreated", "ticketId": "cx-7001"}),
    )
    .await;
    drain(&session).await;
    // THEN each Case carries its channel's record type and queue
    let cases = records(&session, "Case").await;
    let case = |conversation: &str| {
        let key = format!("channels:cloudcx:{conversation}");
        let found = by_field(&cases, "Chat_Conversation_Id__c", &key);
        assert_eq!(found.len(), 1, "one Case for {key}: {cases:#?}");
        found[0].clone()
    };
    let web = case(session_id);
    let inbox = case("cx-7001");
    assert_eq!(web["RecordTypeId"], json!(web_type));
    let writes = step_details(&session, "channels", shared::synclog::Step::Write).await;
    assert_eq!(web["OwnerId"], json!(web_queue), "{writes:#?}");
    assert_eq!(inbox["RecordTypeId"], json!(inbox_type));
    assert_eq!(inbox["OwnerId"], "00G000000000BILEA2", "the Billing queue");
    session.stop().await;
}

#[tokio::test]
async fn people_mappings_and_channels_are_checked_against_the_org_with_its_spelling() {
    let session = e2e::start(Vec::new(), Vec::new()).await;
    let url = session.salesforce_url.clone().expect("emulator");
    let client = shared::salesforce::SalesforceClient::new(Default::default()).expect("client");
    let org = client.org(
        "demo",
        chatsync_local::session::emulator_credentials(&url),
        std::sync::Arc::new(shared::salesforce::DiscardTokens),
    );
    let mut config = e2e::demo_tenant().config;
    let check = |config| {
        let org = &org;
        async move {
            shared::mapping::org_check::check_all(org, &config)
                .await
                .expect("checked")
        }
    };
    assert_eq!(check(config.clone()).await, Vec::<String>::new());
    let mapping =
        |from: &str, to: &str, values: &[(&str, &str)]| shared::mapping::policy::FieldMapping {
            from: from.into(),
            to: to.into(),
            values: values
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            only_mapped: true,
            direction: Default::default(),
        };
    config.fields.push(mapping(
        "visitor.custom_attributes.stage",
        "Lead.Status",
        &[("mql", "working - contacted")],
    ));
    config
        .fields
        .push(mapping("tags", "Lead.Rating", &[("cold", "Frozen")]));
    config.fields.push(mapping(
        "visitor.custom_attributes.x",
        "Contact.Favourite_Colour__c",
        &[],
    ));
    config
        .fields
        .push(mapping("company.plan", "Lead.ConvertedDate", &[]));
    config.identity.account_id_field = Some("AccountNumber".into());
    config.channels.insert(
        "webchat".into(),
        shared::mapping::policy::ChannelPolicy {
            queue: Some("Nobody".into()),
            ..Default::default()
        },
    );
    let problems = check(config).await;
    let has = |needle: &str| problems.iter().any(|p| p.contains(needle));
    assert!(
        has("the org spells it \"Working - Contacted\""),
        "{problems:#?}"
    );
    assert!(
        has("\"Frozen\" is not an active value of Lead.Rating"),
        "{problems:#?}"
    );
    assert!(
        has("Contact.Favourite_Colour__c does not exist"),
        "{problems:#?}"
    );
    assert!(has("Lead.ConvertedDate cannot be written"), "{problems:#?}");
    assert!(
        has("Account.AccountNumber is not an External ID"),
        "{problems:#?}"
    );
    assert!(has("channels.webchat.queue: \"Nobody\""), "{problems:#?}");
    assert_eq!(problems.len(), 6, "{problems:#?}");
    session.stop().await;
}
