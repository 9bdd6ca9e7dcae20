//! The case writer's tenant policies end to end on the local stack: transcript targets,
//! conflicts with changes made in Salesforce, attachments as Salesforce Files, and data errors
//! parked as review items.

use axum::Router;
use axum::routing::get;
use chatsync_local::session::Session;
use chatsync_tests::e2e::{self, deliver, drain, records, tenant_variant, update_as_user};
use chatsync_tests::eventually;
use chatsync_tests::scenario::{self, Visitor};
use serde_json::{Value, json};
use shared::store::synclog::SyncLogTable;
use shared::synclog::{Outcome, Step};
use shared::tenant::TenantFile;
use std::time::Duration;
use time::OffsetDateTime;

fn visitor(tag: &str) -> Visitor {
    Visitor {
        contact_id: format!("contact-{tag}"),
        name: format!("Ada {tag}"),
        email: format!("ada.{tag}@example.org"),
    }
}

fn hour_ago() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp() - 3600
}

async fn case_of(session: &Session, tenant: &str, conversation: &str) -> Value {
    let key = format!("{tenant}:intercom:{conversation}");
    let mut cases: Vec<Value> = records(session, "Case")
        .await
        .into_iter()
        .filter(|c| c["Chat_Conversation_Id__c"] == json!(key))
        .collect();
    assert_eq!(cases.len(), 1, "one Case for {key}");
    cases.remove(0)
}

fn sync_log(session: &Session) -> SyncLogTable {
    SyncLogTable::new(
        aws_sdk_dynamodb::Client::new(&session.sdk),
        session.table("SyncLogTable").expect("sync log table"),
    )
}

/// Every write step's detail for the tenant's open items or trail, joined.
async fn write_details(session: &Session, tenant: &str) -> Vec<(Outcome, String)> {
    let log = sync_log(session);
    let mut out = Vec::new();
    let client = aws_sdk_dynamodb::Client::new(&session.sdk);
    let table = session.table("SyncLogTable").expect("sync log table");
    let scan = client.scan().table_name(table).send().await.expect("scan");
    for item in scan.items() {
        let Some(pk) = item.get("pk").and_then(|v| v.as_s().ok()) else {
            continue;
        };
        if pk.starts_with(shared::store::synclog::PAYLOAD_PREFIX) {
            continue;
        }
        for entry in log
            .trail(pk)
            .await
            .expect("trail")
            .into_iter()
            .map(|l| l.entry)
        {
            if entry.tenant_id == tenant && entry.step == Step::Write {
                out.push((entry.outcome, entry.detail));
            }
        }
    }
    out
}

#[tokio::test]
async fn transcripts_go_to_case_comments_or_transcript_records_when_the_tenant_says_so() {
    let (comments_file, comments) = tenant_variant("comments", |t| {
        t.replace("target = \"task\"", "target = \"case_comment\"")
    });
    let (records_file, transcripts) = tenant_variant("records", |t| {
        t.replace("target = \"task\"", "target = \"custom_object\"")
    });
    let session = e2e::start(vec![comments_file, records_file], Vec::new()).await;
    let v = visitor("targets");
    deliver(
        &session,
        &comments,
        &scenario::intercom_conversation("7301", &v, hour_ago()),
    )
    .await;
    deliver(
        &session,
        &transcripts,
        &scenario::intercom_conversation("7302", &v, hour_ago()),
    )
    .await;
    drain(&session).await;

    let case = case_of(&session, "comments", "7301").await;
    let bodies: Vec<String> = records(&session, "CaseComment")
        .await
        .into_iter()
        .filter(|c| c["ParentId"] == case["Id"])
        .filter_map(|c| c["CommentBody"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(bodies.len(), 1, "the transcript fits one comment");
    for text in scenario::message_texts("7301") {
        let text = text.replace(scenario::CARD, "[card number removed]");
        assert!(bodies[0].contains(&text), "{text:?} in the comment");
    }
    let tasks: Vec<Value> = records(&session, "Task")
        .await
        .into_iter()
        .filter(|t| t["WhatId"] == case["Id"])
        .collect();
    assert_eq!(tasks.len(), 1, "the activity Task is still written");
    assert_eq!(
        tasks[0]["Description"],
        "The transcript is in the Case's comments."
    );

    let case = case_of(&session, "records", "7302").await;
    let transcript: Vec<Value> = records(&session, "Chat_Transcript__c")
        .await
        .into_iter()
        .filter(|r| r["Case__c"] == case["Id"])
        .collect();
    assert_eq!(transcript.len(), 1);
    assert_eq!(transcript[0]["Key__c"], "records:intercom:7302#1");
    assert_eq!(transcript[0]["Contact__c"], case["ContactId"]);
    assert_eq!(transcript[0]["Part__c"], 1.0);
    let body = transcript[0]["Body__c"].as_str().unwrap();
    assert!(body.contains("Closing this one.") && body.contains("(internal note)"));
    session.stop().await;
}

/// Delivers the scenario up to (not including) the priority change, lets a Salesforce user set
/// the Case's Priority to Low, then delivers the rest.
async fn priority_changed_in_salesforce(
    session: &Session,
    tenant: &TenantFile,
    conversation: &str,
) -> Value {
    let all = scenario::intercom_conversation(conversation, &visitor(conversation), hour_ago());
    let priority_at = all
        .iter()
        .position(|d| d.step == "priority")
        .expect("a priority step");
    deliver(session, tenant, &all[..priority_at]).await;
    drain(session).await;
    let case = case_of(session, &tenant.config.tenant_id, conversation).await;
    assert_eq!(case["Priority"], "Medium");
    // If-Unmodified-Since has one-second resolution, as in Salesforce: a change is seen when it
    // falls in a later second than chatsync's last write.
    let written = shared::salesforce::datetime::parse(case["LastModifiedDate"].as_str().unwrap())
        .expect("LastModifiedDate")
        .unix_timestamp();
    eventually(Duration::from_secs(3), "the next second", || async {
        (OffsetDateTime::now_utc().unix_timestamp() > written).then_some(())
    })
    .await;
    update_as_user(
        session,
        "Case",
        case["Id"].as_str().unwrap(),
        json!({"Priority": "Low"}),
    )
    .await;
    deliver(session, tenant, &all[priority_at..]).await;
    drain(session).await;
    case_of(session, &tenant.config.tenant_id, conversation).await
}

#[tokio::test]
async fn a_change_made_in_salesforce_is_settled_by_the_tenants_rule() {
    let (chat_file, chat_wins) = tenant_variant("chatwins", |t| {
        format!("{t}\n[config.conflicts.fields]\n\"Case.Priority\" = \"chat\"\n")
    });
    let session = e2e::start(vec![chat_file], Vec::new()).await;

    // Newest wins (the default): the agent's change in Salesforce is newer than the chat's
    // priority event (an hour old), so Low stays; the other fields still follow the chat.
    let demo = e2e::demo_tenant();
    let case = priority_changed_in_salesforce(&session, &demo, "7401").await;
    assert_eq!(case["Priority"], "Low", "Salesforce's newer value stays");
    assert_eq!(
        case["Status"], "Closed",
        "fields Salesforce did not touch still follow the chat"
    );
    let details = write_details(&session, "demo").await;
    let conflict = details
        .iter()
        .find(|(_, d)| d.contains("conflict on Case.Priority"))
        .expect("the conflict is in the sync log");
    assert!(
        conflict.1.contains("\"Low\"")
            && conflict.1.contains("\"High\"")
            && conflict.1.contains("Salesforce wins (newest wins)"),
        "{}",
        conflict.1
    );

    // The chat as the source of truth for Priority: its value goes back in.
    let case = priority_changed_in_salesforce(&session, &chat_wins, "7402").await;
    assert_eq!(case["Priority"], "High", "the chat wins Priority");
    let details = write_details(&session, "chatwins").await;
    assert!(
        details
            .iter()
            .any(|(_, d)| d.contains("the chat wins (the chat is the source of truth)"))
    );
    session.stop().await;
}

/// A stand-in for the platform's file host: a small PDF, and a large one.
async fn file_host() -> String {
    let app = Router::new()
        .route(
            "/files/receipt.pdf",
            get(|| async { b"%PDF-1.4 receipt".to_vec() }),
        )
        .route("/files/huge.pdf", get(|| async { vec![b'x'; 64 * 1024] }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("127.0.0.1:{}", addr.port())
}

#[tokio::test]
async fn attachments_become_salesforce_files_up_to_the_cap_and_links_above() {
    let host = file_host().await;
    let (small_file, small_cap) = tenant_variant("smallcap", |t| {
        t.replace(
            "redact_cards = true",
            "redact_cards = true\nattachment_max_bytes = 1024",
        )
    });
    let session = e2e::start(
        vec![small_file],
        vec![("ATTACHMENT_HTTP_HOSTS".to_owned(), host.clone())],
    )
    .await;
    let mut with_file = scenario::intercom_conversation("7501", &visitor("file"), hour_ago());
    scenario::attach(
        &mut with_file,
        "receipt.pdf",
        &format!("http://{host}/files/receipt.pdf"),
        16,
    );
    let mut with_huge = scenario::intercom_conversation("7502", &visitor("huge"), hour_ago());
    scenario::attach(
        &mut with_huge,
        "huge.pdf",
        &format!("http://{host}/files/huge.pdf"),
        65536,
    );
    deliver(&session, &e2e::demo_tenant(), &with_file).await;
    deliver(&session, &small_cap, &with_huge).await;
    drain(&session).await;

    let case = case_of(&session, "demo", "7501").await;
    let versions: Vec<Value> = records(&session, "ContentVersion").await;
    let receipt: Vec<&Value> = versions
        .iter()
        .filter(|v| v["PathOnClient"] == "receipt.pdf")
        .collect();
    assert_eq!(receipt.len(), 1, "the file is stored once");
    assert_eq!(receipt[0]["ContentSize"], 16);
    assert_eq!(
        receipt[0]["Chat_Attachment_Key__c"]
            .as_str()
            .map(|k| k.starts_with("demo:intercom:7501#file-")),
        Some(true)
    );
    let links: Vec<Value> = records(&session, "ContentDocumentLink")
        .await
        .into_iter()
        .filter(|l| l["ContentDocumentId"] == receipt[0]["ContentDocumentId"])
        .collect();
    assert!(
        links.iter().any(|l| l["LinkedEntityId"] == case["Id"]),
        "linked to the Case"
    );

    assert!(
        !versions.iter().any(|v| v["PathOnClient"] == "huge.pdf"),
        "a file over the tenant's cap is not uploaded"
    );
    let huge_case = case_of(&session, "smallcap", "7502").await;
    let task: Value = records(&session, "Task")
        .await
        .into_iter()
        .find(|t| t["WhatId"] == huge_case["Id"])
        .expect("the Task");
    assert!(
        task["Description"]
            .as_str()
            .unwrap()
            .contains(&format!("http://{host}/files/huge.pdf")),
        "it stays a link in the transcript"
    );
    session.stop().await;
}

#[tokio::test]
async fn a_salesforce_data_error_parks_the_events_as_review_items() {
    // A mapping to a field the org does not have (stored without the org check).
    let (broken_file, broken) = tenant_variant("broken", |t| {
        format!(
            "{t}\n[[config.fields]]\nfrom = \"conversation.id\"\nto = \"Case.Missing_Field__c\"\n"
        )
    });
    let session = e2e::start(vec![broken_file], Vec::new()).await;
    let all = scenario::intercom_conversation("7601", &visitor("broken"), hour_ago());
    deliver(&session, &broken, &all[..1]).await;
    drain(&session).await;
    let details = write_details(&session, "broken").await;
    assert!(!details.is_empty(), "the write step is in the sync log");
    assert!(
        details.iter().all(|(o, _)| *o == Outcome::Parked),
        "{details:?}"
    );
    assert!(
        details.iter().any(|(_, d)| d.contains("Missing_Field__c")),
        "{details:?}"
    );
    let open = sync_log(&session)
        .open("broken", 10)
        .await
        .expect("open items");
    assert!(!open.is_empty(), "listed as open review items");
    assert!(
        open.iter().all(|e| e.payload.is_some()),
        "with the message to replay"
    );
    assert!(
        open.iter()
            .all(|e| e.replay_to == Some(shared::synclog::Stage::Write) && e.group_id.is_some()),
        "replayed to the writer, in its conversation's group"
    );
    assert_eq!(session.host.invocation_errors(), 0);
    session.stop().await;
}

#[tokio::test]
async fn an_open_case_or_the_single_open_opportunity_is_reused_when_the_tenant_asks() {
    let (reuse_file, reuse) = tenant_variant("reuse", |t| {
        t.replace(
            "origin = \"Web\"",
            "origin = \"Web\"\nreuse_open_case = true",
        )
    });
    let (opp_file, opp) = tenant_variant("opps", |t| {
        t.replace(
            "origin = \"Web\"",
            "origin = \"Web\"\nrelate_task_to = \"opportunity\"",
        )
    });
    let session = stack_with(vec![reuse_file, opp_file]).await;
    let v = visitor("reuse");
    let ids = e2e::seed(
        &session,
        json!({
            "Account": [{"Name": "Reuse Ltd"}],
        }),
    )
    .await;
    let account = ids["Account"][0].as_str().unwrap().to_owned();
    let ids = e2e::seed(
        &session,
        json!({"Contact": [{"FirstName": "Ada", "LastName": "Reuse", "Email": v.email, "AccountId": account}]}),
    )
    .await;
    let contact = ids["Contact"][0].as_str().unwrap().to_owned();
    let ids = e2e::seed(
        &session,
        json!({
            "Case": [{"Subject": "Earlier issue", "Status": "Working", "ContactId": contact}],
            "Opportunity": [{"Name": "Renewal", "StageName": "Prospecting", "CloseDate": "2027-01-31", "AccountId": account}],
        }),
    )
    .await;
    let open_case = ids["Case"][0].as_str().unwrap().to_owned();
    let opportunity = ids["Opportunity"][0].as_str().unwrap().to_owned();
    e2e::seed(
        &session,
        json!({"OpportunityContactRole": [{"OpportunityId": opportunity, "ContactId": contact, "Role": "Decision Maker"}]}),
    )
    .await;

    deliver(
        &session,
        &reuse,
        &scenario::intercom_conversation("7701", &v, hour_ago()),
    )
    .await;
    drain(&session).await;
    let cases: Vec<Value> = records(&session, "Case").await;
    assert_eq!(
        cases.len(),
        1,
        "no new Case: the Contact's open one is used"
    );
    assert_eq!(cases[0]["Id"], json!(open_case));
    assert_eq!(cases[0]["Status"], "Closed", "and follows the chat");
    let task = records(&session, "Task")
        .await
        .into_iter()
        .find(|t| t["Chat_Transcript_Key__c"] == json!("reuse:intercom:7701#1"))
        .expect("the transcript Task");
    assert_eq!(task["WhatId"], json!(open_case));
    let details = write_details(&session, "reuse").await;
    assert!(
        details
            .iter()
            .any(|(_, d)| d.contains("the Contact's most recent open Case"))
    );

    deliver(
        &session,
        &opp,
        &scenario::intercom_conversation("7702", &v, hour_ago()),
    )
    .await;
    drain(&session).await;
    let task = records(&session, "Task")
        .await
        .into_iter()
        .find(|t| t["Chat_Transcript_Key__c"] == json!("opps:intercom:7702#1"))
        .expect("the transcript Task");
    assert_eq!(
        task["WhatId"],
        json!(opportunity),
        "related to the one open Opportunity"
    );
    session.stop().await;
}

async fn stack_with(tenants: Vec<std::path::PathBuf>) -> Session {
    e2e::start(tenants, Vec::new()).await
}

#[tokio::test]
async fn a_mapping_is_checked_against_the_org_before_it_is_saved() {
    let session = stack_with(Vec::new()).await;
    let url = session.salesforce_url.clone().expect("emulator");
    let client = shared::salesforce::SalesforceClient::new(Default::default()).expect("client");
    let org = client.org(
        "demo",
        chatsync_local::session::emulator_credentials(&url),
        std::sync::Arc::new(shared::salesforce::DiscardTokens),
    );
    let mut config = e2e::demo_tenant().config;
    let problems = shared::mapping::org_check::check_all(&org, &config)
        .await
        .expect("checked");
    assert!(
        problems.is_empty(),
        "the demo tenant fits the demo org: {problems:?}"
    );
    config
        .case
        .status_map
        .insert("snoozed".into(), "On Hold".into());
    config
        .case
        .priority_map
        .insert("urgent".into(), "high".into());
    config
        .owners
        .queues
        .insert("Sales team".into(), "Sales".into());
    config.case.record_type = Some("Support_Case".into());
    let problems = shared::mapping::org_check::check_all(&org, &config)
        .await
        .expect("checked");
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(
        problems
            .iter()
            .any(|p| p.contains("\"On Hold\" is not an active value of Case.Status"))
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("the org spells it \"High\""))
    );
    assert!(problems.iter().any(|p| p.contains("queue \"Sales\"")));
    assert!(
        problems
            .iter()
            .any(|p| p.contains("record_type \"Support_Case\""))
    );
    session.stop().await;
}

#[tokio::test]
async fn a_quiet_conversations_waiting_lines_are_written_by_the_drainers_sweep() {
    let session = e2e::start(
        Vec::new(),
        vec![("TRANSCRIPT_QUIET_SECONDS".to_owned(), "0".to_owned())],
    )
    .await;
    let all = scenario::intercom_conversation("7801", &visitor("quiet"), hour_ago());
    // The start and one visitor message; then the chat goes quiet.
    deliver(&session, &e2e::demo_tenant(), &all[..2]).await;
    drain(&session).await;
    let texts = scenario::message_texts("7801");
    let description = || async {
        records(&session, "Task")
            .await
            .into_iter()
            .find(|t| t["Chat_Transcript_Key__c"] == json!("demo:intercom:7801#1"))
            .and_then(|t| t["Description"].as_str().map(str::to_owned))
            .expect("the transcript Task")
    };
    // Messages wait for the next change; which of them did depends on how SQS batched the
    // deliveries, so the count of waiting conversations is read from what landed.
    let before = description().await;
    let waiting = texts[..2].iter().any(|t| !before.contains(t.as_str()));
    let report = session
        .host
        .run_scheduled("retry-drainer")
        .await
        .expect("the drainer runs");
    assert_eq!(report["flushed"], u64::from(waiting), "{report}");
    drain(&session).await;
    let after = description().await;
    for text in &texts[..2] {
        assert!(
            after.contains(text.as_str()),
            "{text:?} written by the sweep:\n{after}"
        );
    }
    let again = session
        .host
        .run_scheduled("retry-drainer")
        .await
        .expect("the drainer runs");
    assert_eq!(again["flushed"], 0, "nothing waits any more: {again}");
    session.stop().await;
}

#[tokio::test]
async fn a_tag_routes_the_case_to_its_queue_with_the_record_type_and_a_status_maps() {
    // GIVEN a tenant that maps no team to a queue but routes the "billing" tag to Billing, and
    // gives its Cases the Chat_Support record type
    let (path, tenant) = tenant_variant("routing", |toml| {
        toml.replace("\"5550123\" = \"Billing\"\n", "")
            .replace("\"Billing team\" = \"Billing\"\n", "")
            .replace(
                "[config.transcript]",
                "[config.owners.tag_queues]\nbilling = \"Billing\"\n\n[config.transcript]",
            )
            .replace(
                "origin = \"Web\"",
                "origin = \"Web\"\nrecord_type = \"Chat_Support\"",
            )
    });
    assert!(tenant.config.owners.queues.is_empty());
    let session = stack_with(vec![path]).await;
    let seeded = e2e::seed(
        &session,
        json!({"RecordType": [{"SobjectType": "Case", "DeveloperName": "Chat_Support",
            "Name": "Chat support", "IsActive": true}]}),
    )
    .await;
    let record_type = seeded["RecordType"][0]
        .as_str()
        .unwrap_or_else(|| panic!("record type seeded: {seeded}"))
        .to_owned();
    // WHEN the scenario's conversation (tagged "billing", then assigned to an unmapped team)
    let all = scenario::intercom_conversation("7901", &visitor("routing"), hour_ago());
    deliver(&session, &tenant, &all).await;
    // AND a CloudCX ticket goes pending (the demo's status_map: pending → Escalated)
    for body in [
        json!({"event": "TicketCreated", "ticketId": "cx-route-1"}),
        json!({"event": "TicketStatusChanged", "ticketId": "cx-route-1",
            "beforeTicketStatus": "Open", "afterTicketStatus": "pending"}),
    ] {
        let bytes = serde_json::to_vec(&body).unwrap();
        let (status, answer) = e2e::post_from(
            &session,
            &tenant,
            shared::platforms::Platform::CloudCx,
            &bytes,
        )
        .await;
        assert_eq!(status, 202, "{answer}");
    }
    drain(&session).await;
    // THEN the tag's queue owns the Case, which has the record type
    let case = case_of(&session, "routing", "7901").await;
    assert_eq!(case["OwnerId"], "00G000000000BILEA2", "{case}");
    assert_eq!(case["RecordTypeId"], json!(record_type), "{case}");
    // AND the ticket's Case shows the mapped status
    let ticket = records(&session, "Case")
        .await
        .into_iter()
        .find(|c| c["Chat_Conversation_Id__c"] == json!("routing:cloudcx:cx-route-1"))
        .expect("the ticket's Case");
    assert_eq!(ticket["Status"], "Escalated", "{ticket}");
    session.stop().await;
}

#[tokio::test]
async fn the_tag_trigger_waits_for_its_tag_and_on_close_leave_keeps_the_case_open() {
    // GIVEN a tenant whose Cases need the "billing" tag, and one that leaves Cases to agents
    let (tags_path, tags_tenant) = tenant_variant("bytag", |toml| {
        toml.replace(
            "trigger = \"always\"",
            "trigger = \"tags\"\ntrigger_tags = [\"billing\"]",
        )
    });
    let (leave_path, leave_tenant) = tenant_variant("leave", |toml| {
        toml.replace("on_close = \"close\"", "on_close = \"leave\"")
    });
    let session = stack_with(vec![tags_path, leave_path]).await;
    let all = scenario::intercom_conversation("7902", &visitor("bytag"), hour_ago());
    let tagged = all
        .iter()
        .position(|d| d.step == "tagged")
        .expect("a tagged step");
    let cases_keyed = |key: &'static str| {
        let session = &session;
        async move {
            records(session, "Case")
                .await
                .into_iter()
                .filter(|c| c["Chat_Conversation_Id__c"] == json!(key))
                .count()
        }
    };
    // WHEN the conversation runs up to the tag THEN no Case
    deliver(&session, &tags_tenant, &all[..tagged]).await;
    drain(&session).await;
    assert_eq!(
        cases_keyed("bytag:intercom:7902").await,
        0,
        "no Case before the tag"
    );
    // WHEN the tag and the rest arrive THEN one Case
    deliver(&session, &tags_tenant, &all[tagged..]).await;
    drain(&session).await;
    assert_eq!(
        cases_keyed("bytag:intercom:7902").await,
        1,
        "the tag brings the Case"
    );

    // AND under on_close = "leave", the whole conversation closes its Task, not its Case
    let other = scenario::intercom_conversation("7903", &visitor("leave"), hour_ago());
    deliver(&session, &leave_tenant, &other).await;
    drain(&session).await;
    let case = case_of(&session, "leave", "7903").await;
    assert_ne!(case["Status"], "Closed", "{case}");
    assert_eq!(case["IsClosed"], false, "{case}");
    let task = records(&session, "Task")
        .await
        .into_iter()
        .find(|t| t["WhatId"] == case["Id"])
        .expect("the Case's Task");
    assert_eq!(task["Status"], "Completed", "{task}");
    session.stop().await;
}
