//! The salesforce-listener under the local host: outbound messages acknowledged and queued once
//! per notification, and every forged or malformed message refused with nothing queued.

use chatsync_local::demo::tagged;
use chatsync_local::session::Session;
use chatsync_tests::e2e;
use shared::tenant::TenantFile;

const TOKEN: &str = "demo-salesforce-outbound-token-not-real";
/// The emulator's org, as the demo tenant names it (15 characters; Salesforce sends 18).
const ORG: &str = "00D5g0000000001AAA";

fn envelope(org: &str, notifications: &[(&str, &str, &str)]) -> String {
    let items: String = notifications
        .iter()
        .map(|(id, record, email)| {
            format!(
                r#"<Notification><Id>{id}</Id><sObject xsi:type="sf:Contact" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>{record}</sf:Id><sf:Email>{email}</sf:Email><sf:Title xsi:nil="true"/></sObject></Notification>"#
            )
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>{org}</OrganizationId><ActionId>04k5g0000000001AAA</ActionId><SessionId xsi:nil="true"/><EnterpriseUrl>https://x/services/Soap/c/62.0</EnterpriseUrl><PartnerUrl>https://x/services/Soap/u/62.0</PartnerUrl>{items}</notifications></soapenv:Body></soapenv:Envelope>"#
    )
}

async fn post(session: &Session, tenant: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let query = token.map(|t| format!("?token={t}")).unwrap_or_default();
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/salesforce/{tenant}/outbound{query}",
            session.intake_url()
        ))
        .header("content-type", "text/xml; charset=utf-8")
        .header("SOAPAction", "\"\"")
        .body(body.to_owned())
        .send()
        .await
        .expect("listener answers");
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

/// How many changes the chat writer took (one sync log entry per change for Intercom, which
/// the demo tenant has), once the pipeline is idle.
async fn count(session: &Session) -> usize {
    session
        .wait_idle(std::time::Duration::from_secs(60))
        .await
        .expect("idle");
    let client = aws_sdk_dynamodb::Client::new(&session.sdk);
    let table = session.table("SyncLogTable").expect("sync log table");
    let log = shared::store::synclog::SyncLogTable::new(client.clone(), table);
    let scan = client.scan().table_name(table).send().await.expect("scan");
    let pks: std::collections::BTreeSet<&String> = scan
        .items()
        .iter()
        .filter_map(|item| item.get("pk").and_then(|v| v.as_s().ok()))
        .filter(|pk| !pk.starts_with(shared::store::synclog::PAYLOAD_PREFIX))
        .collect();
    let mut n = 0;
    for pk in pks {
        n += log
            .trail(pk)
            .await
            .expect("trail")
            .into_iter()
            .filter(|l| {
                l.entry.step == shared::synclog::Step::ToChat
                    && l.entry.platform == Some(shared::event::Platform::Intercom)
            })
            .count();
    }
    n
}

async fn start() -> (Session, TenantFile) {
    let session = e2e::start(Vec::new(), Vec::new()).await;
    (session, e2e::demo_tenant())
}

#[tokio::test]
async fn an_outbound_message_is_acknowledged_and_each_notification_queued_once() {
    let (session, _) = start().await;
    let body = envelope(
        ORG,
        &[
            (
                "04l5g0000000001AAA",
                "0035g0000000101AAA",
                "ada@example.org",
            ),
            (
                "04l5g0000000002AAA",
                "0035g0000000102AAA",
                "grace@example.org",
            ),
        ],
    );
    let (status, answer) = post(&session, "demo", Some(TOKEN), &body).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("<Ack>true</Ack>"), "{answer}");
    assert_eq!(count(&session).await, 2, "two notifications, two changes");

    // Salesforce retries (the Ack lost), reorders, and batches a repeat with a new one.
    let (status, _) = post(&session, "demo", Some(TOKEN), &body).await;
    assert_eq!(status, 200);
    let mixed = envelope(
        ORG,
        &[
            (
                "04l5g0000000003AAA",
                "0035g0000000101AAA",
                "ada@new.example.org",
            ),
            (
                "04l5g0000000002AAA",
                "0035g0000000102AAA",
                "grace@example.org",
            ),
        ],
    );
    let (status, answer) = post(&session, "demo", Some(TOKEN), &mixed).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        count(&session).await,
        3,
        "only the new notification was queued again"
    );
    session.stop().await;
}

#[tokio::test]
async fn forged_malformed_and_expanding_messages_are_refused_with_nothing_queued() {
    let (session, _) = start().await;
    let good = envelope(
        ORG,
        &[("04l5g0000000009AAA", "0035g0000000109AAA", "x@example.org")],
    );
    let cases: Vec<(&str, Option<&str>, String, u16, &str)> = vec![
        ("no token", None, good.clone(), 401, "unauthorized"),
        (
            "wrong token",
            Some("guess"),
            good.clone(),
            401,
            "unauthorized",
        ),
        (
            "unknown tenant",
            Some(TOKEN),
            good.clone(),
            401,
            "unauthorized",
        ),
        (
            "another org",
            Some(TOKEN),
            envelope("00D5g0000000002AAA", &[("04l1", "0031", "x@example.org")]),
            403,
            "OrganizationId",
        ),
        (
            "not XML",
            Some(TOKEN),
            "{\"hello\": 1}".into(),
            400,
            "not a SOAP envelope",
        ),
        (
            "broken XML",
            Some(TOKEN),
            good.replace("</sf:Email>", "</sf:Mail>"),
            400,
            "not well-formed",
        ),
        (
            "an entity bomb",
            Some(TOKEN),
            format!(
                "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>{}",
                good.trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
            ),
            400,
            "DOCTYPE",
        ),
        (
            "an undeclared entity",
            Some(TOKEN),
            good.replace("x@example.org", "&xxe;"),
            400,
            "entity",
        ),
        (
            "no notifications",
            Some(TOKEN),
            envelope(ORG, &[]),
            400,
            "Notification is missing",
        ),
    ];
    for (what, token, body, status, says) in cases {
        let tenant = if what == "unknown tenant" {
            "nobody"
        } else {
            "demo"
        };
        let (got, answer) = post(&session, tenant, token, &body).await;
        assert_eq!(got, status, "{what}: {answer}");
        assert!(answer.contains("<soapenv:Fault>"), "{what}: {answer}");
        assert!(answer.contains(says), "{what}: {answer}");
    }
    assert_eq!(count(&session).await, 0, "nothing queued");
    session.stop().await;
}

// ---- the emulator's outbound messages, end to end ----

fn emulator(session: &Session) -> String {
    session.salesforce_url.clone().expect("emulator")
}

/// Saves a record through the REST API as the emulator's session user (the integration user).
async fn save(
    session: &Session,
    method: reqwest::Method,
    path: &str,
    fields: serde_json::Value,
) -> serde_json::Value {
    let (status, answer) = e2e::save_as_user(session, method, path, fields).await;
    assert!((200..300).contains(&status), "{status}: {answer}");
    answer
}

async fn define(session: &Session, definitions: serde_json::Value, settings: serde_json::Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/__emulator/outbound", emulator(session)))
        .json(&serde_json::json!({"definitions": definitions, "settings": settings}))
        .send()
        .await
        .expect("defined");
    assert_eq!(resp.status().as_u16(), 200);
}

async fn sent(session: &Session) -> serde_json::Value {
    reqwest::get(format!("{}/__emulator/outbound", emulator(session)))
        .await
        .expect("outbound log")
        .json()
        .await
        .expect("JSON")
}

#[tokio::test]
async fn the_orgs_outbound_messages_land_once_each_though_salesforce_repeats_them() {
    let (session, _) = start().await;
    let endpoint = format!(
        "{}/salesforce/demo/outbound?token={TOKEN}",
        session.intake_url()
    );
    // GIVEN a Contact definition whose every message Salesforce delivers twice
    define(
        &session,
        serde_json::json!([{"object": "Contact", "fields": ["Email", "FirstName", "LastName", "Title"],
            "endpoint": endpoint, "quiet_users": []}]),
        serde_json::json!({"retry_base_ms": 50, "duplicate": true, "batch_ms": 100}),
    )
    .await;
    // WHEN two Contacts are created and one is changed
    let ada = save(
        &session,
        reqwest::Method::POST,
        "Contact",
        serde_json::json!({"LastName": "Lovelace", "FirstName": "Ada", "Email": "ada@example.org"}),
    )
    .await;
    save(
        &session,
        reqwest::Method::POST,
        "Contact",
        serde_json::json!({"LastName": "Hopper", "Email": "grace@example.org"}),
    )
    .await;
    let ada_id = ada["id"].as_str().expect("id").to_owned();
    save(
        &session,
        reqwest::Method::PATCH,
        &format!("Contact/{ada_id}"),
        serde_json::json!({"Title": "Countess"}),
    )
    .await;
    // THEN every notification was acknowledged twice, and each is queued once
    let log = chatsync_tests::eventually(
        std::time::Duration::from_secs(30),
        "six acknowledged deliveries",
        || async {
            let log = sent(&session).await;
            let acked: usize = log["attempts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|a| a["acknowledged"] == true)
                .map(|a| a["notification_ids"].as_array().map_or(0, Vec::len))
                .sum();
            (acked >= 6).then_some(log)
        },
    )
    .await;
    assert!(
        log["dropped"].as_array().is_some_and(Vec::is_empty),
        "{log}"
    );
    assert_eq!(
        count(&session).await,
        3,
        "three saves, three changes: {log}"
    );
    session.stop().await;
}

#[tokio::test]
async fn unacknowledged_messages_are_retried_then_dropped_and_the_integration_users_saves_send_nothing()
 {
    let (session, _) = start().await;
    let wrong = format!(
        "{}/salesforce/demo/outbound?token=wrong",
        session.intake_url()
    );
    let right = format!(
        "{}/salesforce/demo/outbound?token={TOKEN}",
        session.intake_url()
    );
    // GIVEN a definition whose endpoint refuses (a wrong token), with short gaps and a short life,
    // and one that leaves the integration user's saves quiet (Salesforce's loop breaker)
    define(
        &session,
        serde_json::json!([
            {"object": "Contact", "fields": ["Email"], "endpoint": wrong, "quiet_users": []},
            {"object": "Contact", "fields": ["Email"], "endpoint": right}
        ]),
        serde_json::json!({"retry_base_ms": 20, "max_gap_ms": 80, "max_age_ms": 600, "batch_ms": 10}),
    )
    .await;
    save(
        &session,
        reqwest::Method::POST,
        "Contact",
        serde_json::json!({"LastName": "Vaughan", "Email": "dorothy@example.org"}),
    )
    .await;
    // THEN the refused notification is retried with growing gaps until it is dropped
    let log = chatsync_tests::eventually(
        std::time::Duration::from_secs(30),
        "the notification dropped",
        || async {
            let log = sent(&session).await;
            log["dropped"]
                .as_array()
                .is_some_and(|d| d.len() == 1)
                .then_some(log)
        },
    )
    .await;
    let attempts = log["attempts"].as_array().cloned().unwrap_or_default();
    assert!(attempts.len() >= 3, "retried: {log}");
    assert!(
        attempts
            .iter()
            .all(|a| a["status"] == 401 && a["acknowledged"] == false),
        "{log}"
    );
    let definitions = log["definitions"].as_array().cloned().unwrap_or_default();
    assert!(
        attempts
            .iter()
            .all(|a| a["definition"] == definitions[0]["id"]),
        "the integration user's save sent nothing through the quiet definition: {log}"
    );
    assert_eq!(count(&session).await, 0, "nothing queued");
    session.stop().await;
}

// ---- the chat writer: Salesforce changes reach the chat platforms ----

async fn chat_records(session: &Session, platform: &str, kind: &str) -> Vec<serde_json::Value> {
    let base = session.chat_url.clone().expect("chat emulator");
    reqwest::get(format!("{base}/__emulator/records/{platform}/{kind}"))
        .await
        .expect("chat emulator answers")
        .json()
        .await
        .unwrap_or_default()
}

fn with_email<'a>(list: &'a [serde_json::Value], email: &str) -> Vec<&'a serde_json::Value> {
    list.iter()
        .filter(|c| c["email"].as_str() == Some(email))
        .collect()
}

#[tokio::test]
async fn a_contact_created_in_salesforce_appears_once_in_each_platform_tagged_and_follows_its_title()
 {
    // GIVEN a tenant that auto-creates chat contacts and sends the Contact's Title both ways
    let (path, _tenant) = e2e::tenant_variant("demo", |toml| {
        toml.replace(
            "to = \"Contact.Title\"",
            "to = \"Contact.Title\"\ndirection = \"both\"",
        )
    });
    let session = e2e::start(vec![path], Vec::new()).await;
    let endpoint = format!(
        "{}/salesforce/demo/outbound?token={TOKEN}",
        session.intake_url()
    );
    // Salesforce delivers every message twice.
    define(
        &session,
        serde_json::json!([{"object": "Contact", "fields": ["Email", "FirstName", "LastName", "Title"],
            "endpoint": endpoint, "quiet_users": []}]),
        serde_json::json!({"retry_base_ms": 50, "duplicate": true, "batch_ms": 50}),
    )
    .await;
    // WHEN a Contact is created in Salesforce
    let created = save(
        &session,
        reqwest::Method::POST,
        "Contact",
        serde_json::json!({"FirstName": "Mary", "LastName": "Jackson",
            "Email": "mary.jackson@example.org", "Title": "Engineer"}),
    )
    .await;
    let id = created["id"].as_str().expect("id").to_owned();
    // THEN it appears once in respond.io, Intercom and Tidio, tagged where the platform has tags, with its title
    let email = "mary.jackson@example.org";
    chatsync_tests::eventually(
        std::time::Duration::from_secs(60),
        "the contact in each platform",
        || async {
            let mut found = true;
            for platform in ["respondio", "intercom", "tidio"] {
                let list = chat_records(&session, platform, "contacts").await;
                found &= !with_email(&list, email).is_empty();
            }
            found.then_some(())
        },
    )
    .await;
    // Created, then tagged: both done once the pipeline is idle.
    session
        .wait_idle(std::time::Duration::from_secs(60))
        .await
        .expect("idle");
    let respondio = with_email(
        &chat_records(&session, "respondio", "contacts").await,
        email,
    )[0]
    .clone();
    let intercom =
        with_email(&chat_records(&session, "intercom", "contacts").await, email)[0].clone();
    assert_eq!(respondio["firstName"], "Mary");
    assert_eq!(respondio["lastName"], "Jackson");
    assert!(
        respondio["tags"]
            .as_array()
            .is_some_and(|t| t.contains(&serde_json::json!("Auto-Create: Salesforce"))),
        "{respondio}"
    );
    assert!(
        respondio["custom_fields"].as_array().is_some_and(
            |f| f.contains(&serde_json::json!({"name": "job_title", "value": "Engineer"}))
        ),
        "{respondio}"
    );
    assert_eq!(intercom["name"], "Mary Jackson");
    assert_eq!(intercom["role"], "user");
    assert_eq!(intercom["custom_attributes"]["job_title"], "Engineer");
    assert!(
        intercom["tags"]["data"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["name"] == "Auto-Create: Salesforce")),
        "{intercom}"
    );
    // Tidio has no upsert and no contact tags: the Salesforce id is its external id.
    let tidio = with_email(&chat_records(&session, "tidio", "contacts").await, email)[0].clone();
    assert_eq!(tidio["distinct_id"], id.as_str());
    assert_eq!(tidio["first_name"], "Mary");
    assert!(
        tidio["properties"].as_array().is_some_and(
            |p| p.contains(&serde_json::json!({"name": "job_title", "value": "Engineer"}))
        ),
        "{tidio}"
    );

    // WHEN the Title changes in Salesforce
    save(
        &session,
        reqwest::Method::PATCH,
        &format!("Contact/{id}"),
        serde_json::json!({"Title": "Aerospace Engineer"}),
    )
    .await;
    // THEN each platform's attribute follows, and still one contact each
    chatsync_tests::eventually(
        std::time::Duration::from_secs(60),
        "the new title in each platform",
        || async {
            let r = chat_records(&session, "respondio", "contacts").await;
            let i = chat_records(&session, "intercom", "contacts").await;
            let r_ok = with_email(&r, email).first().is_some_and(|c| {
                c["custom_fields"].as_array().is_some_and(|f| {
                    f.contains(
                        &serde_json::json!({"name": "job_title", "value": "Aerospace Engineer"}),
                    )
                })
            });
            let i_ok = with_email(&i, email)
                .first()
                .is_some_and(|c| c["custom_attributes"]["job_title"] == "Aerospace Engineer");
            let t = chat_records(&session, "tidio", "contacts").await;
            let t_ok = with_email(&t, email).first().is_some_and(|c| {
                c["properties"].as_array().is_some_and(|p| {
                    p.contains(
                        &serde_json::json!({"name": "job_title", "value": "Aerospace Engineer"}),
                    )
                })
            });
            (r_ok && i_ok && t_ok).then_some(())
        },
    )
    .await;
    session
        .wait_idle(std::time::Duration::from_secs(60))
        .await
        .expect("idle");
    assert_eq!(
        with_email(
            &chat_records(&session, "respondio", "contacts").await,
            email
        )
        .len(),
        1
    );
    assert_eq!(
        with_email(&chat_records(&session, "intercom", "contacts").await, email).len(),
        1
    );
    assert_eq!(
        with_email(&chat_records(&session, "tidio", "contacts").await, email).len(),
        1
    );
    session.stop().await;
}

/// Saves of Contacts the emulator took (client PATCHes of Contact records).
async fn salesforce_contact_updates(session: &Session) -> usize {
    let stats: serde_json::Value = reqwest::get(format!("{}/__emulator/stats", emulator(session)))
        .await
        .expect("stats")
        .json()
        .await
        .expect("JSON");
    stats["requests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| {
            r["method"] == "PATCH"
                && r["path"]
                    .as_str()
                    .is_some_and(|p| p.contains("/sobjects/Contact/"))
                && r["status"].as_u64().is_some_and(|s| s < 300)
        })
        .count()
}

/// Writes the chat platforms took (every call but reads and searches).
async fn chat_writes(session: &Session) -> u64 {
    let base = session.chat_url.clone().expect("chat emulator");
    let stats: serde_json::Value = reqwest::get(format!("{base}/__emulator/stats"))
        .await
        .expect("stats")
        .json()
        .await
        .expect("JSON");
    stats["by_route"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(route, _)| !route.contains(" GET ") && !route.ends_with("/search"))
        .filter_map(|(_, n)| n.as_u64())
        .sum()
}

#[tokio::test]
async fn n_changes_on_each_side_make_exactly_n_writes_on_the_other_and_then_quiet() {
    // GIVEN the worst case: an org whose outbound message also fires for chatsync's own saves
    // (the integration user kept "Send Outbound Messages"), a Title mapped both ways, and
    // chat values that overwrite Salesforce's
    let (path, tenant) = e2e::tenant_variant("demo", |toml| {
        toml.replace(
            "to = \"Contact.Title\"",
            "to = \"Contact.Title\"\ndirection = \"both\"",
        )
        .replace(
            "default_phone_region = \"GB\"",
            "default_phone_region = \"GB\"\nupdate = \"overwrite\"",
        )
    });
    let session = e2e::start(vec![path], Vec::new()).await;
    let endpoint = format!(
        "{}/salesforce/demo/outbound?token={TOKEN}",
        session.intake_url()
    );
    define(
        &session,
        serde_json::json!([{"object": "Contact", "fields": ["Email", "FirstName", "LastName", "Title"],
            "endpoint": endpoint, "quiet_users": []}]),
        serde_json::json!({"retry_base_ms": 50, "batch_ms": 20}),
    )
    .await;
    let email = "katherine.j@example.org";
    let created = save(
        &session,
        reqwest::Method::POST,
        "Contact",
        serde_json::json!({"FirstName": "Katherine", "LastName": "Johnson", "Email": email, "Title": "Computer"}),
    )
    .await;
    let id = created["id"].as_str().expect("id").to_owned();
    let intercom_id = chatsync_tests::eventually(
        std::time::Duration::from_secs(60),
        "the Intercom contact",
        || async {
            let i = chat_records(&session, "intercom", "contacts").await;
            with_email(&i, email)
                .first()
                .and_then(|c| c["id"].as_str().map(str::to_owned))
        },
    )
    .await;
    session
        .wait_idle(std::time::Duration::from_secs(60))
        .await
        .expect("idle");
    let title_in_chat = |title: &'static str| {
        let session = &session;
        async move {
            let r = chat_records(session, "respondio", "contacts").await;
            let i = chat_records(session, "intercom", "contacts").await;
            let r_ok = with_email(&r, email).first().is_some_and(|c| {
                c["custom_fields"].as_array().is_some_and(|f| {
                    f.contains(&serde_json::json!({"name": "job_title", "value": title}))
                })
            });
            let i_ok = with_email(&i, email)
                .first()
                .is_some_and(|c| c["custom_attributes"]["job_title"] == title);
            (r_ok && i_ok).then_some(())
        }
    };
    // The platforms report a contact back after every write: Intercom's webhook.
    let report = |title: &str, at: i64| {
        intercom_contact_update(&intercom_id, email, "Katherine Johnson", title, at)
    };

    // WHEN Salesforce changes the Title three times, and Intercom reports each write back
    let (sf_before, chat_before) = (
        salesforce_contact_updates(&session).await,
        chat_writes(&session).await,
    );
    let mut at = time::OffsetDateTime::now_utc().unix_timestamp();
    for title in ["Mathematician", "Engineer", "Scientist"] {
        save(
            &session,
            reqwest::Method::PATCH,
            &format!("Contact/{id}"),
            serde_json::json!({"Title": title}),
        )
        .await;
        chatsync_tests::eventually(
            std::time::Duration::from_secs(60),
            "the title in the chat",
            || title_in_chat(title),
        )
        .await;
        session
            .wait_idle(std::time::Duration::from_secs(60))
            .await
            .expect("idle");
        at += 1;
        send_intercom(&session, &tenant, &report(title, at)).await;
        session
            .wait_idle(std::time::Duration::from_secs(60))
            .await
            .expect("idle");
    }
    // THEN three writes on each platform, and nothing back into Salesforce but the three saves
    assert_eq!(
        chat_writes(&session).await - chat_before,
        9,
        "three per platform (Intercom, respond.io, Tidio)"
    );
    assert_eq!(
        resolved_reports(&session).await,
        3,
        "each report reached the resolver, linked to the Contact"
    );
    assert_eq!(
        salesforce_contact_updates(&session).await - sf_before,
        3,
        "only the three changes made in Salesforce"
    );

    // WHEN Intercom's contact changes three times
    let (sf_before, chat_before) = (
        salesforce_contact_updates(&session).await,
        chat_writes(&session).await,
    );
    for title in ["Astronaut Trainer", "Orbital Analyst", "Author"] {
        at += 1;
        send_intercom(&session, &tenant, &report(title, at)).await;
        chatsync_tests::eventually(
            std::time::Duration::from_secs(60),
            "the title in Salesforce",
            || async {
                let contacts = records_of(&session, "Contact").await;
                contacts
                    .iter()
                    .find(|c| c["Id"].as_str() == Some(id.as_str()))
                    .filter(|c| c["Title"] == title)
                    .map(|_| ())
            },
        )
        .await;
        session
            .wait_idle(std::time::Duration::from_secs(60))
            .await
            .expect("idle");
    }
    // THEN three saves in Salesforce, and its outbound messages write nothing back to the chat
    assert_eq!(salesforce_contact_updates(&session).await - sf_before, 3);
    assert_eq!(
        chat_writes(&session).await,
        chat_before,
        "no echo to the chat"
    );
    // AND the system is quiet
    session
        .wait_idle(std::time::Duration::from_secs(60))
        .await
        .expect("idle");
    assert_eq!(salesforce_contact_updates(&session).await - sf_before, 3);
    assert_eq!(chat_writes(&session).await, chat_before);
    session.stop().await;
}

fn intercom_contact_update(
    id: &str,
    email: &str,
    name: &str,
    title: &str,
    at: i64,
) -> serde_json::Value {
    serde_json::json!({
        "type": "notification_event", "app_id": "demoapp1", "topic": "contact.user.updated",
        "id": format!("notif_{id}_{at}"), "created_at": at, "first_sent_at": at, "delivery_attempts": 1,
        "data": {"type": "notification_event_data", "item": {
            "type": "contact", "id": id, "workspace_id": "demoapp1", "role": "user",
            "email": email, "phone": null, "name": name, "external_id": null,
            "created_at": at - 600, "updated_at": at,
            "custom_attributes": {"job_title": title},
            "tags": {"type": "list", "data": []},
            "companies": {"type": "list", "data": []}
        }}
    })
}

async fn send_intercom(session: &Session, tenant: &TenantFile, body: &serde_json::Value) {
    let bytes = serde_json::to_vec(body).expect("json");
    let (status, answer) =
        e2e::post_from(session, tenant, shared::event::Platform::Intercom, &bytes).await;
    assert!(status == 202 || status == 200, "{status} {answer}");
}

/// Intercom contact reports the resolver took, linked to their Salesforce person.
async fn resolved_reports(session: &Session) -> usize {
    let client = aws_sdk_dynamodb::Client::new(&session.sdk);
    let table = session.table("SyncLogTable").expect("sync log table");
    let log = shared::store::synclog::SyncLogTable::new(client.clone(), table);
    let scan = client.scan().table_name(table).send().await.expect("scan");
    let pks: std::collections::BTreeSet<&String> = scan
        .items()
        .iter()
        .filter_map(|item| item.get("pk").and_then(|v| v.as_s().ok()))
        .filter(|pk| !pk.starts_with(shared::store::synclog::PAYLOAD_PREFIX))
        .collect();
    let mut n = 0;
    for pk in pks {
        n += log
            .trail(pk)
            .await
            .expect("trail")
            .into_iter()
            .filter(|l| {
                l.entry.step == shared::synclog::Step::Resolve
                    && l.entry.outcome == shared::synclog::Outcome::Ok
                    && l.entry.detail.contains("by its platform contact link")
            })
            .count();
    }
    n
}

async fn records_of(session: &Session, sobject: &str) -> Vec<serde_json::Value> {
    e2e::records(session, sobject).await
}

/// A session whose demo tenant polls Contacts (`extra` adds to `[config.from_salesforce]`), and
/// a time two minutes back to seed changes at (Salesforce answers windows to the minute).
async fn polling_session(extra: &str) -> (Session, String) {
    let (path, _tenant) = e2e::tenant_variant("demo", |toml| {
        toml.replace(
            "organization_id = \"00D5g0000000001\"",
            &format!("organization_id = \"00D5g0000000001\"\npoll = [\"Contact\"]\n{extra}"),
        )
    });
    let session = e2e::start(vec![path], Vec::new()).await;
    let stamp = (time::OffsetDateTime::now_utc() - time::Duration::minutes(2))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("time");
    (session, stamp)
}

/// Runs the poller once, checks how many changes it queued, and waits for the chat writer.
async fn poll_once(session: &Session, queued: u64) {
    let report = session
        .host
        .run_scheduled("salesforce-poller")
        .await
        .expect("the poller runs");
    assert_eq!(report["queued"], queued, "{report}");
    assert!(
        report["failed"].as_array().is_some_and(Vec::is_empty),
        "{report}"
    );
    session
        .wait_idle(std::time::Duration::from_secs(60))
        .await
        .expect("idle");
}

#[tokio::test]
async fn the_poller_alone_brings_a_changed_contact_to_the_chat_once() {
    // GIVEN a tenant that polls Contacts (no outbound message) and auto-creates chat contacts,
    // and a Contact changed two minutes ago
    let (session, stamp) = polling_session("").await;
    let email = "dorothy.vaughan@example.org";
    e2e::seed(
        &session,
        serde_json::json!({"Contact": [{"FirstName": "Dorothy", "LastName": "Vaughan",
            "Email": email, "LastModifiedDate": stamp}]}),
    )
    .await;
    // WHEN the poller runs
    poll_once(&session, 1).await;
    // THEN the contact is in each platform once, tagged
    let r = chat_records(&session, "respondio", "contacts").await;
    let i = chat_records(&session, "intercom", "contacts").await;
    let t = chat_records(&session, "tidio", "contacts").await;
    let (r, i, t) = (
        with_email(&r, email),
        with_email(&i, email),
        with_email(&t, email),
    );
    assert_eq!((r.len(), i.len(), t.len()), (1, 1, 1), "{r:?} {i:?} {t:?}");
    assert!(
        r[0]["tags"]
            .as_array()
            .is_some_and(|t| t.contains(&serde_json::json!("Auto-Create: Salesforce"))),
        "{}",
        r[0]
    );
    // AND the next run finds nothing new: the window moved on
    poll_once(&session, 0).await;
    session.stop().await;
}

#[tokio::test]
async fn an_opportunity_won_tags_the_contact_and_a_qualified_lead_sets_its_attribute() {
    // GIVEN a tenant that auto-creates, tags a won Opportunity's Contact, and sends Lead Status
    let (path, _tenant) = e2e::tenant_variant("demo", |toml| {
        toml.replace(
            "organization_id = \"00D5g0000000001\"",
            "organization_id = \"00D5g0000000001\"\n\
             tags = [{ object = \"Opportunity\", field = \"StageName\", value = \"Closed Won\", tag = \"Customer: won\" }]",
        )
    });
    let session = e2e::start(vec![path], Vec::new()).await;
    let endpoint = format!(
        "{}/salesforce/demo/outbound?token={TOKEN}",
        session.intake_url()
    );
    // Salesforce delivers every message twice.
    define(
        &session,
        serde_json::json!([
            {"object": "Contact", "fields": ["Email", "FirstName", "LastName"], "endpoint": endpoint, "quiet_users": []},
            {"object": "Opportunity", "fields": ["StageName", "ContactId"], "endpoint": endpoint, "quiet_users": []},
            {"object": "Lead", "fields": ["Email", "FirstName", "LastName", "Status"], "endpoint": endpoint, "quiet_users": []}
        ]),
        serde_json::json!({"retry_base_ms": 50, "duplicate": true, "batch_ms": 50}),
    )
    .await;
    let email = "annie.easley@example.org";
    let contact = save(
        &session,
        reqwest::Method::POST,
        "Contact",
        serde_json::json!({"FirstName": "Annie", "LastName": "Easley", "Email": email}),
    )
    .await;
    let contact_id = contact["id"].as_str().expect("id").to_owned();
    session
        .wait_idle(std::time::Duration::from_secs(60))
        .await
        .expect("idle");
    // WHEN an Opportunity of hers opens, then is won
    let opportunity = save(
        &session,
        reqwest::Method::POST,
        "Opportunity",
        serde_json::json!({"Name": "Easley rockets", "StageName": "Prospecting",
            "CloseDate": "2026-12-31", "ContactId": contact_id}),
    )
    .await;
    session
        .wait_idle(std::time::Duration::from_secs(60))
        .await
        .expect("idle");
    let i = chat_records(&session, "intercom", "contacts").await;
    assert!(
        !tagged(with_email(&i, email)[0], "Customer: won"),
        "not won yet"
    );
    save(
        &session,
        reqwest::Method::PATCH,
        &format!("Opportunity/{}", opportunity["id"].as_str().expect("id")),
        serde_json::json!({"StageName": "Closed Won"}),
    )
    .await;
    session
        .wait_idle(std::time::Duration::from_secs(60))
        .await
        .expect("idle");
    // THEN her contact in Intercom and respond.io is tagged, and no contact was made for it
    for platform in ["intercom", "respondio"] {
        let list = chat_records(&session, platform, "contacts").await;
        let hers = with_email(&list, email);
        assert_eq!(hers.len(), 1, "{platform}: {hers:?}");
        assert!(tagged(hers[0], "Customer: won"), "{platform}: {}", hers[0]);
    }

    // WHEN a Lead is created, then qualified ("hot lead" is Working - Contacted)
    let lead_email = "christine.darden@example.org";
    let lead = save(
        &session,
        reqwest::Method::POST,
        "Lead",
        serde_json::json!({"FirstName": "Christine", "LastName": "Darden", "Email": lead_email,
            "Company": "NASA", "Status": "Open - Not Contacted"}),
    )
    .await;
    session
        .wait_idle(std::time::Duration::from_secs(60))
        .await
        .expect("idle");
    save(
        &session,
        reqwest::Method::PATCH,
        &format!("Lead/{}", lead["id"].as_str().expect("id")),
        serde_json::json!({"Status": "Working - Contacted"}),
    )
    .await;
    session
        .wait_idle(std::time::Duration::from_secs(60))
        .await
        .expect("idle");
    // THEN Intercom's lead carries the chat's word for it
    let i = chat_records(&session, "intercom", "contacts").await;
    let theirs = with_email(&i, lead_email);
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    assert_eq!(theirs[0]["role"], "lead");
    assert_eq!(
        theirs[0]["custom_attributes"]["lifecycle"], "hot lead",
        "{}",
        theirs[0]
    );
    session.stop().await;
}

#[tokio::test]
async fn a_bulk_import_is_not_created_in_the_chat_unless_the_tenant_includes_imports() {
    let importer = "005000000000IMP";
    for include in [false, true] {
        // GIVEN a tenant that auto-creates, polls Contacts and names its importing user
        let (session, stamp) = polling_session(&format!(
            "import_users = [\"{importer}\"]\ninclude_imports = {include}"
        ))
        .await;
        // WHEN one Contact comes from the import and one was created by hand
        e2e::seed(
            &session,
            serde_json::json!({"Contact": [
                {"FirstName": "Imported", "LastName": "Person", "Email": "imported@example.org",
                 "CreatedById": importer, "LastModifiedDate": stamp},
                {"FirstName": "Hand", "LastName": "Made", "Email": "handmade@example.org",
                 "LastModifiedDate": stamp}
            ]}),
        )
        .await;
        poll_once(&session, 2).await;
        // THEN the one made by hand reaches the chat, the imported one only when included
        let i = chat_records(&session, "intercom", "contacts").await;
        assert_eq!(with_email(&i, "handmade@example.org").len(), 1);
        let imported = with_email(&i, "imported@example.org").len();
        assert_eq!(
            imported,
            usize::from(include),
            "include_imports = {include}: {i:?}"
        );
        session.stop().await;
    }
}

#[tokio::test]
async fn a_contact_deleted_in_salesforce_stays_in_the_chat_and_nothing_is_sent() {
    // GIVEN a tenant that polls Contacts, and a Contact the poller brought to the chat
    let (session, stamp) = polling_session("").await;
    let email = "ida.rhodes@example.org";
    let ids = e2e::seed(
        &session,
        serde_json::json!({"Contact": [{"FirstName": "Ida", "LastName": "Rhodes", "Email": email,
            "LastModifiedDate": stamp}]}),
    )
    .await;
    let id = ids["Contact"][0].as_str().expect("id").to_owned();
    poll_once(&session, 1).await;
    let i = chat_records(&session, "intercom", "contacts").await;
    assert_eq!(with_email(&i, email).len(), 1);
    let chat = session.chat_url.clone().expect("chat emulator");
    let calls = || async {
        let stats: serde_json::Value = reqwest::get(format!("{chat}/__emulator/stats"))
            .await
            .expect("stats")
            .json()
            .await
            .expect("stats JSON");
        stats["api_calls"].as_u64().expect("api_calls")
    };
    let before = calls().await;
    // WHEN the Contact is deleted in Salesforce and the poller runs again
    let (status, _) = e2e::save_as_user(
        &session,
        reqwest::Method::DELETE,
        &format!("Contact/{id}"),
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(status, 204);
    poll_once(&session, 0).await;
    // THEN nothing reaches the chat platforms, and the chat contact stays
    assert_eq!(calls().await, before, "no chat platform call");
    let i = chat_records(&session, "intercom", "contacts").await;
    assert_eq!(with_email(&i, email).len(), 1);
    session.stop().await;
}
