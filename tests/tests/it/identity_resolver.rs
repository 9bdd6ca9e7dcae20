//! The identity resolver against real parts: moto (links, queues, sync log, tenant secret) and
//! the Salesforce emulator, with Salesforce API calls counted by the emulator.

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use chatsync_tests::{LocalAws, contact_event};
use identity_resolver::{Function, handle};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use shared::config::Env;
use shared::event::resolution::Outcome;
use shared::event::{QueuedEvent, Visitor};
use shared::identity::rules::PersonKind;

struct Stack {
    aws: LocalAws,
    salesforce: String,
    resolver: Function,
}

async fn stack() -> Stack {
    let aws = LocalAws::start().await;
    let (_, salesforce) = aws.load_demo_tenant_with_salesforce().await;
    let resolver = Function::from_env(
        aws.role("identity-resolver"),
        &Env::from_map(aws.env("identity-resolver")),
    )
    .expect("resolver configured from the template");
    Stack {
        aws,
        salesforce,
        resolver,
    }
}

impl Stack {
    async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = reqwest::Client::new().request(method, format!("{}{path}", self.salesforce));
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap().json().await.unwrap()
    }

    async fn seed(&self, data: Value) -> Value {
        self.admin(reqwest::Method::POST, "/__emulator/seed", Some(data))
            .await
    }

    async fn api_calls(&self) -> u64 {
        self.admin(reqwest::Method::GET, "/__emulator/stats", None)
            .await["api_calls"]
            .as_u64()
            .unwrap()
    }

    /// Resolves one event; returns the Salesforce API calls it spent.
    async fn resolve(&self, n: usize, visitor: Visitor) -> u64 {
        self.resolve_event(n, contact_event("demo", &format!("corr-{n:03}"), visitor))
            .await
    }

    async fn resolve_event(&self, n: usize, queued: QueuedEvent) -> u64 {
        let before = self.api_calls().await;
        let mut record = SqsMessage::default();
        record.message_id = Some(format!("m{n}"));
        record.body = Some(serde_json::to_string(&queued).unwrap());
        record
            .attributes
            .insert("MessageGroupId".into(), queued.group_id());
        let mut batch = SqsEvent::default();
        batch.records = vec![record];
        let out = handle(&self.resolver, LambdaEvent::new(batch, Context::default()))
            .await
            .unwrap();
        assert!(out.batch_item_failures.is_empty(), "event {n} failed");
        self.api_calls().await - before
    }

    /// The events on write.fifo so far, by correlation id order of sending.
    async fn written(&self) -> Vec<QueuedEvent> {
        let mut all = Vec::new();
        loop {
            let out = self
                .aws
                .sqs()
                .receive_message()
                .queue_url(self.aws.queue_url("WriteQueue"))
                .max_number_of_messages(10)
                .visibility_timeout(300)
                .send()
                .await
                .unwrap();
            match out.messages {
                Some(m) if !m.is_empty() => {
                    for m in m {
                        all.push(self.aws.open(m.body().unwrap()).await);
                    }
                }
                _ => break,
            }
        }
        all.sort_by_key(|e: &QueuedEvent| e.correlation_id.clone());
        all
    }
}

fn visitor(contact_id: &str, email: Option<&str>, phone: Option<&str>) -> Visitor {
    Visitor {
        contact_id: Some(contact_id.into()),
        email: email.map(Into::into),
        phone: phone.map(Into::into),
        name: Some("Visitor Person".into()),
        ..Visitor::default()
    }
}

#[tokio::test]
async fn a_known_visitor_costs_no_call_and_a_new_one_at_most_two() {
    let s = stack().await;
    let seeded = s
        .seed(
            json!({"Contact": [{"FirstName": "Ada", "LastName": "Lovelace",
            "Email": "Ada.Lovelace@Example.org", "Phone": "020 7946 0958"}]}),
        )
        .await;
    let ada = seeded["Contact"][0]
        .as_str()
        .unwrap_or_else(|| panic!("seed refused: {seeded}"))
        .to_owned();

    // A visitor Salesforce knows: one lookup call, then linked.
    let first = s
        .resolve(1, visitor("ic-1", Some("ada.lovelace@example.org"), None))
        .await;
    assert_eq!(first, 1, "one call finds Contact and Lead candidates");
    // The same platform contact again, and the same person by phone from elsewhere: no call.
    assert_eq!(s.resolve(2, visitor("ic-1", None, None)).await, 0);
    assert_eq!(
        s.resolve(3, visitor("ic-9", None, Some("+44 20 7946 0958")))
            .await,
        1,
        "a phone not linked yet is looked up"
    );
    // A new visitor: lookup and creation, two calls; known from then on.
    let new = s
        .resolve(4, visitor("ic-2", Some("Grace@Example.net"), None))
        .await;
    assert!(new <= 2, "new visitor cost {new} calls");
    assert_eq!(s.resolve(5, visitor("ic-2", None, None)).await, 0);

    let written = s.written().await;
    assert_eq!(written.len(), 5);
    let r: Vec<_> = written
        .iter()
        .map(|e| e.resolution.clone().expect("resolution attached"))
        .collect();
    assert_eq!(r[0].outcome, Outcome::Matched);
    assert_eq!(r[0].person.as_ref().unwrap().id, ada);
    assert_eq!(r[1].outcome, Outcome::Linked);
    assert_eq!(r[1].person.as_ref().unwrap().id, ada);
    assert_eq!(r[2].outcome, Outcome::Matched, "{:?}", r[2]);
    assert_eq!(r[2].person.as_ref().unwrap().id, ada);
    assert_eq!(r[3].outcome, Outcome::Created);
    let created = r[3].person.clone().unwrap();
    assert_eq!(
        created.kind,
        PersonKind::Contact,
        "support mode creates Contacts"
    );
    assert_eq!(r[4].person.as_ref().unwrap().id, created.id);
    let contacts = s
        .admin(reqwest::Method::GET, "/__emulator/records/Contact", None)
        .await;
    let grace = contacts
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["Id"] == created.id.as_str())
        .expect("the created Contact is in Salesforce");
    assert_eq!(grace["Email"], "grace@example.net");
    assert_eq!(grace["LastName"], "Person");
    s.aws.moto.stop().await;
}

#[tokio::test]
async fn several_matches_park_the_event_for_review_and_forward_nothing() {
    let s = stack().await;
    let seeded = s
        .seed(json!({"Contact": [
            {"LastName": "Smith", "Email": "sam@example.com"},
            {"LastName": "Smith", "Email": "SAM@example.com"}
        ]}))
        .await;
    assert_eq!(
        s.resolve(1, visitor("ic-3", Some("sam@example.com"), None))
            .await,
        1
    );
    assert!(s.written().await.is_empty(), "nothing forwarded on a guess");
    let log =
        shared::store::synclog::SyncLogTable::new(s.aws.dynamo(), s.aws.table("SyncLogTable"));
    let open = log.open("demo", 10).await.unwrap();
    assert_eq!(open.len(), 1, "one review item");
    for id in seeded["Contact"].as_array().unwrap() {
        assert!(
            open[0].detail.contains(id.as_str().unwrap()),
            "{}",
            open[0].detail
        );
    }
    assert!(open[0].payload.is_some(), "the event is kept for replay");
    assert_eq!(
        open[0].replay_to,
        Some(shared::synclog::Stage::Resolve),
        "replayed through the resolver again"
    );
    s.aws.moto.stop().await;
}

#[tokio::test]
async fn a_converted_lead_resolves_to_its_contact() {
    let s = stack().await;
    let contact = s
        .seed(json!({"Contact": [{"LastName": "Hopper", "Email": "grace.hopper@navy.example"}]}))
        .await["Contact"][0]
        .as_str()
        .unwrap()
        .to_owned();
    s.seed(json!({"Lead": [{"LastName": "Hopper", "Company": "Navy",
        "Email": "g.hopper@navy.example", "IsConverted": true, "ConvertedContactId": contact}]}))
        .await;
    s.resolve(1, visitor("ic-4", Some("g.hopper@navy.example"), None))
        .await;
    let written = s.written().await;
    let person = written[0]
        .resolution
        .as_ref()
        .and_then(|r| r.person.clone())
        .unwrap();
    assert_eq!((person.kind, person.id), (PersonKind::Contact, contact));
    s.aws.moto.stop().await;
}

#[tokio::test]
async fn a_visitor_known_only_by_platform_id_is_looked_up_at_the_platform_first() {
    use axum::extract::Path;
    use axum::http::HeaderMap;
    let s = stack().await;
    let ada = s
        .seed(json!({"Contact": [{"LastName": "Lovelace", "Email": "ada@example.org"}]}))
        .await["Contact"][0]
        .as_str()
        .unwrap()
        .to_owned();
    // A stand-in of Intercom's GET /contacts/{id}: the visitor's e-mail for the right token.
    let app = axum::Router::new().route(
        "/contacts/{id}",
        axum::routing::get(|Path(id): Path<String>, headers: HeaderMap| async move {
            let authorised = headers
                .get("authorization")
                .is_some_and(|v| v == "Bearer intercom-token-for-tests");
            if !authorised {
                return (axum::http::StatusCode::UNAUTHORIZED, axum::Json(json!({})));
            }
            (
                axum::http::StatusCode::OK,
                axum::Json(json!({"type": "contact", "id": id, "role": "user",
                    "email": "Ada@Example.org", "name": "Ada Lovelace"})),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let intercom = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    // The tenant's Intercom token, and a resolver pointed at the stand-in.
    let env = s.aws.env("identity-resolver").clone();
    let store = shared::store::secrets::TenantSecretStore::new(
        aws_sdk_secretsmanager::Client::new(&s.aws.sdk),
        &env["TENANT_SECRET_PREFIX"],
    );
    let mut secrets = store.get("demo").await.unwrap().unwrap();
    secrets.platform_api = Some(shared::tenant::PlatformApiSecrets {
        intercom_access_token: Some(shared::secret::Secret::new("intercom-token-for-tests")),
        ..shared::tenant::PlatformApiSecrets::default()
    });
    store.put("demo", &secrets).await.unwrap();
    let mut env = env;
    env.insert("INTERCOM_API_URL".into(), intercom);
    let resolver =
        Function::from_env(s.aws.role("identity-resolver"), &Env::from_map(&env)).unwrap();
    let s = Stack { resolver, ..s };

    let only_id = Visitor {
        contact_id: Some("65a1f0c2e1b2c3d4e5f60718".into()),
        ..Visitor::default()
    };
    assert_eq!(
        s.resolve(1, only_id.clone()).await,
        1,
        "one lookup after the fetch"
    );
    assert_eq!(s.resolve(2, only_id).await, 0, "linked by the platform id");
    let written = s.written().await;
    let r = written[0].resolution.clone().unwrap();
    assert_eq!(r.outcome, Outcome::Matched, "{}", r.detail);
    assert_eq!(r.person.unwrap().id, ada);
    assert!(r.detail.contains("fetched from intercom"), "{}", r.detail);
    assert_eq!(
        written[1].resolution.as_ref().unwrap().outcome,
        Outcome::Linked
    );
    s.aws.moto.stop().await;
}

/// The stack with the demo tenant's update policy (and an external id field) changed.
async fn stack_with_update(update: shared::tenant::UpdatePolicy) -> Stack {
    let aws = LocalAws::start().await;
    let (mut file, salesforce) = aws.load_demo_tenant_with_salesforce().await;
    file.config.identity.update = update;
    file.config.identity.external_id_field = Some("Chat_Contact_Id__c".into());
    let env = aws.env("identity-resolver").clone();
    let tenants = shared::store::tenants::TenantTable::new(aws.dynamo(), &env["TENANTS_TABLE"]);
    let secrets = shared::store::secrets::TenantSecretStore::new(
        aws_sdk_secretsmanager::Client::new(&aws.sdk),
        &env["TENANT_SECRET_PREFIX"],
    );
    shared::store::tenants::put_tenant(&file, &tenants, &secrets)
        .await
        .unwrap();
    let resolver = Function::from_env(aws.role("identity-resolver"), &Env::from_map(&env)).unwrap();
    Stack {
        aws,
        salesforce,
        resolver,
    }
}

impl Stack {
    async fn record(&self, sobject: &str, id: &str) -> Value {
        let all = self
            .admin(
                reqwest::Method::GET,
                &format!("/__emulator/records/{sobject}"),
                None,
            )
            .await;
        all.as_array()
            .unwrap()
            .iter()
            .find(|r| r["Id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{sobject} {id} not in Salesforce"))
    }
}

#[tokio::test]
async fn fill_blanks_fills_a_missing_phone_and_keeps_a_different_email() {
    let s = stack_with_update(shared::tenant::UpdatePolicy::FillBlanks).await;
    let ada = s
        .seed(
            json!({"Contact": [{"FirstName": "Ada", "LastName": "Lovelace",
            "Email": "ada@old.example", "Chat_Contact_Id__c": "cust-7"}]}),
        )
        .await["Contact"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let v = Visitor {
        external_id: Some("cust-7".into()),
        ..visitor("ic-7", Some("Ada@New.Example"), Some("+44 20 7946 0958"))
    };
    assert_eq!(s.resolve(1, v).await, 2, "lookup, then one update");
    let record = s.record("Contact", &ada).await;
    assert_eq!(record["Phone"], "+442079460958", "{record}");
    assert_eq!(record["Email"], "ada@old.example", "{record}");
    assert_eq!(record["FirstName"], "Ada", "a filled name stays");
    assert_eq!(record["LastName"], "Lovelace");
    let r = s.written().await[0].resolution.clone().unwrap();
    assert_eq!(r.outcome, Outcome::Matched);
    assert!(r.detail.contains("updated Phone"), "{}", r.detail);
    s.aws.moto.stop().await;
}

#[tokio::test]
async fn overwrite_changes_the_name_and_a_format_difference_sends_nothing() {
    let s = stack_with_update(shared::tenant::UpdatePolicy::Overwrite).await;
    let seeded = s
        .seed(json!({"Contact": [
            {"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.org",
             "Phone": "020 7946 0958"},
            {"FirstName": "Grace", "LastName": "Hopper", "Email": "Grace@Navy.Example",
             "Phone": "020 7946 0000"}
        ]}))
        .await;
    let ada = seeded["Contact"][0].as_str().unwrap().to_owned();
    let grace = seeded["Contact"][1].as_str().unwrap().to_owned();

    let mut married = visitor("ic-8", Some("ada@example.org"), Some("+44 20 7946 0958"));
    married.name = Some("Ada King".into());
    assert_eq!(s.resolve(1, married).await, 2, "lookup, then one update");
    let record = s.record("Contact", &ada).await;
    assert_eq!(record["LastName"], "King", "{record}");
    assert_eq!(record["FirstName"], "Ada");
    assert_eq!(
        record["Phone"], "020 7946 0958",
        "same number: kept as written"
    );

    // The same values in other formats: the lookup only.
    let mut same = visitor(
        "ic-9",
        Some(" GRACE@navy.example "),
        Some("+44 (0)20 7946 0000"),
    );
    same.name = Some("grace  HOPPER".into());
    assert_eq!(s.resolve(2, same).await, 1, "nothing to update");
    let record = s.record("Contact", &grace).await;
    assert_eq!(record["Email"], "Grace@Navy.Example");
    assert_eq!(record["LastName"], "Hopper");
    let written = s.written().await;
    assert!(
        written[0]
            .resolution
            .as_ref()
            .unwrap()
            .detail
            .contains("updated LastName"),
        "{:?}",
        written[0].resolution
    );
    assert!(
        !written[1]
            .resolution
            .as_ref()
            .unwrap()
            .detail
            .contains("updated"),
        "{:?}",
        written[1].resolution
    );
    s.aws.moto.stop().await;
}

#[tokio::test]
async fn a_new_visitor_is_owned_by_the_acting_agents_user_and_the_trace_is_logged() {
    let s = stack().await;
    let user = s
        .seed(
            json!({"User": [{"LastName": "Agent", "Email": "agent@example.com",
            "Username": "agent@example.com.demo", "IsActive": true}]}),
        )
        .await["User"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let mut queued = contact_event(
        "demo",
        "corr-001",
        visitor("ic-8", Some("new.visitor@example.net"), None),
    );
    queued.event.actor = Some(shared::event::Agent {
        id: Some("991".into()),
        name: Some("Agent".into()),
        email: Some("Agent@Example.com".into()),
    });
    assert_eq!(
        s.resolve_event(1, queued).await,
        2,
        "lookup (with the User) and creation"
    );
    let created = s.written().await[0]
        .resolution
        .clone()
        .unwrap()
        .person
        .unwrap();
    let contacts = s
        .admin(reqwest::Method::GET, "/__emulator/records/Contact", None)
        .await;
    let contact = contacts
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["Id"] == created.id.as_str())
        .unwrap();
    assert_eq!(contact["OwnerId"], user.as_str());
    // The resolve step's sync log entry carries the decision trace.
    let log =
        shared::store::synclog::SyncLogTable::new(s.aws.dynamo(), s.aws.table("SyncLogTable"));
    let trail = log.trail("corr-001").await.unwrap();
    let resolve = trail
        .iter()
        .find(|e| e.step == shared::synclog::Step::Resolve)
        .unwrap();
    assert!(
        resolve.detail.contains("Trace: candidates []"),
        "{}",
        resolve.detail
    );
    assert!(resolve.detail.contains("email:"), "{}", resolve.detail);
    assert_eq!(resolve.records, vec![created.id.clone()]);
    s.aws.moto.stop().await;
}

#[tokio::test]
async fn one_new_visitor_in_two_groups_at_once_becomes_one_person() {
    let s = stack().await;
    // Salesforce answers slowly, so both events look the visitor up before either creates.
    s.admin(
        reqwest::Method::POST,
        "/__emulator/faults",
        Some(json!({"faults": [{"latency_ms": 400, "path": "/services/data"}]})),
    )
    .await;
    let twin = visitor("twin-1", Some("twin@example.org"), None);
    // A contact event and a conversation's event of the same visitor: two FIFO groups.
    let a = contact_event("demo", "corr-twin-a", twin.clone());
    let b = contact_event("demo", "corr-twin-b", twin);
    assert_ne!(a.group_id(), b.group_id());
    let batch = |n: usize, queued: &QueuedEvent| {
        let mut record = SqsMessage::default();
        record.message_id = Some(format!("m{n}"));
        record.body = Some(serde_json::to_string(queued).unwrap());
        record
            .attributes
            .insert("MessageGroupId".into(), queued.group_id());
        let mut event = SqsEvent::default();
        event.records = vec![record];
        LambdaEvent::new(event, Context::default())
    };
    let (ra, rb) = tokio::join!(
        handle(&s.resolver, batch(1, &a)),
        handle(&s.resolver, batch(2, &b))
    );
    let failed: Vec<bool> = [ra, rb]
        .into_iter()
        .map(|r| !r.unwrap().batch_item_failures.is_empty())
        .collect();
    // One created the person; the other was sent back to retry (not parked: transient).
    assert_eq!(failed.iter().filter(|f| **f).count(), 1, "{failed:?}");
    let again = if failed[0] { a } else { b };
    assert_eq!(
        s.resolve_event(3, again).await,
        0,
        "the retry finds the link"
    );
    let written = s.written().await;
    assert_eq!(written.len(), 2);
    let ids: Vec<_> = written
        .iter()
        .map(|e| {
            e.resolution
                .as_ref()
                .unwrap()
                .person
                .as_ref()
                .unwrap()
                .id
                .clone()
        })
        .collect();
    assert_eq!(ids[0], ids[1], "both events resolve to the one person");
    for sobject in ["Contact", "Lead"] {
        let records = s
            .admin(
                reqwest::Method::GET,
                &format!("/__emulator/records/{sobject}"),
                None,
            )
            .await;
        let twins = records
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["Email"] == "twin@example.org")
            .count();
        assert!(twins <= 1, "{twins} {sobject}s for one visitor");
    }
    s.aws.moto.stop().await;
}

#[tokio::test]
async fn a_deleted_contact_creates_nobody_and_a_known_ones_links_are_forgotten() {
    let s = stack().await;
    let deleted = |n: usize, visitor: Visitor| {
        let mut queued = contact_event("demo", &format!("corr-{n:03}"), visitor);
        queued.event.kind = shared::event::EventKind::ContactDeleted;
        queued.topic = "user.deleted".into();
        queued
    };
    let links = shared::store::links::Links::new(s.aws.dynamo(), s.aws.table("LinksTable"));
    let keys_of = |v: &Visitor| {
        shared::store::links::LinkKey::for_keys(
            shared::platforms::Platform::Intercom,
            &shared::identity::Keys::from_visitor(v, "US"),
        )
    };

    // GIVEN a deletion of a contact Salesforce has never seen, carrying an e-mail (legacy
    // Intercom `user.deleted` does)
    let stranger = visitor("ic-gone", Some("nobody@example.com"), None);
    // WHEN it is resolved THEN no call is made and nothing is created or forwarded
    assert_eq!(s.resolve_event(1, deleted(1, stranger.clone())).await, 0);
    let contacts = s
        .admin(reqwest::Method::GET, "/__emulator/records/Contact", None)
        .await;
    let leads = s
        .admin(reqwest::Method::GET, "/__emulator/records/Lead", None)
        .await;
    assert_eq!(contacts.as_array().map(Vec::len), Some(0), "{contacts}");
    assert_eq!(leads.as_array().map(Vec::len), Some(0), "{leads}");
    assert!(s.written().await.is_empty(), "a deletion reaches no writer");
    for key in keys_of(&stranger) {
        assert!(links.get("demo", &key).await.unwrap().is_none());
    }

    // GIVEN a known visitor, linked by platform id and e-mail
    s.seed(json!({"Contact": [{"LastName": "Lovelace", "Email": "ada@example.org"}]}))
        .await;
    let ada = visitor("ic-ada", Some("ada@example.org"), None);
    assert!(s.resolve(2, ada.clone()).await >= 1, "looked up once");
    let matched = s.written().await;
    assert_eq!(matched.len(), 1);
    let ada_id = matched[0]
        .resolution
        .as_ref()
        .and_then(|r| r.person.clone())
        .unwrap()
        .id;
    for key in keys_of(&ada) {
        assert!(links.get("demo", &key).await.unwrap().is_some(), "{key:?}");
    }
    // WHEN the platform deletes the contact
    assert_eq!(s.resolve_event(3, deleted(3, ada.clone())).await, 0);
    // THEN its links are gone, nothing is forwarded, and the Contact is still in Salesforce
    for key in keys_of(&ada) {
        assert!(links.get("demo", &key).await.unwrap().is_none(), "{key:?}");
    }
    assert!(s.written().await.is_empty());
    let contacts = s
        .admin(reqwest::Method::GET, "/__emulator/records/Contact", None)
        .await;
    assert_eq!(contacts.as_array().map(Vec::len), Some(1));
    let log =
        shared::store::synclog::SyncLogTable::new(s.aws.dynamo(), s.aws.table("SyncLogTable"));
    assert!(
        log.open("demo", 10).await.unwrap().is_empty(),
        "no review item"
    );
    // AND the same person chatting again is looked up afresh, not reached by a link
    assert!(
        s.resolve(4, visitor("ic-ada-2", Some("ada@example.org"), None))
            .await
            >= 1
    );
    let again = s.written().await;
    let resolution = again[0].resolution.clone().unwrap();
    assert_eq!(resolution.outcome, Outcome::Matched);
    assert_eq!(resolution.person.unwrap().id, ada_id);
    s.aws.moto.stop().await;
}

/// The resolver with Tidio's API at an in-process chat emulator seeded with `seed`, and the
/// demo tenant's Tidio OpenAPI keys set to `keys` (None: no keys), `agents_by_id` as given.
async fn stack_with_tidio(
    seed: Value,
    keys: Option<(&str, &str)>,
    agents_by_id: &[(&str, &str)],
) -> (Stack, String) {
    let s = stack().await;
    let emulator = chat_emulator::Emulator::default();
    emulator.seed(&seed).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = chat_emulator::spawn(listener, emulator).unwrap();
    let env = s.aws.env("identity-resolver").clone();
    let store = shared::store::secrets::TenantSecretStore::new(
        aws_sdk_secretsmanager::Client::new(&s.aws.sdk),
        &env["TENANT_SECRET_PREFIX"],
    );
    let mut secrets = store.get("demo").await.unwrap().unwrap();
    secrets.platform_api = keys.map(|(id, secret)| shared::tenant::PlatformApiSecrets {
        tidio_client_id: Some(shared::secret::Secret::new(id)),
        tidio_client_secret: Some(shared::secret::Secret::new(secret)),
        ..shared::tenant::PlatformApiSecrets::default()
    });
    let mut demo = chatsync_local::session::read_tenant(
        &chatsync_tests::repo_root().join("events/tenants/demo.toml"),
    )
    .unwrap();
    demo.secrets = secrets;
    demo.config.owners.agents_by_id = agents_by_id
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    s.aws.store_tenant(&demo).await;
    let mut env = env;
    env.insert("TIDIO_API_URL".into(), format!("{base}/tidio"));
    let resolver =
        Function::from_env(s.aws.role("identity-resolver"), &Env::from_map(&env)).unwrap();
    (Stack { resolver, ..s }, base)
}

fn tidio_assignment(n: usize, agent_id: &str) -> QueuedEvent {
    let mut queued = contact_event("demo", &format!("corr-{n:03}"), Visitor::default());
    queued.platform = shared::platforms::Platform::Tidio;
    queued.topic = "ticket.operator_assigned".into();
    queued.event.kind = shared::event::EventKind::Assigned {
        agent: Some(shared::event::Agent {
            id: Some(agent_id.into()),
            ..shared::event::Agent::default()
        }),
        team: None,
    };
    queued
}

fn assignee_email(queued: &QueuedEvent) -> Option<String> {
    match &queued.event.kind {
        shared::event::EventKind::Assigned { agent, .. } => agent.as_ref()?.email.clone(),
        _ => None,
    }
}

#[tokio::test]
async fn an_agent_named_by_id_gets_its_e_mail_from_the_tenant_map_or_the_platform() {
    let seed = json!({"tidio": {"credentials": ["ci_demo:cs_demo"],
        "operators": [{"id": "op-1", "name": "Sam Agent", "email": "Sam.Agent@Example.com"},
                      {"id": "op-2", "name": "No Mail"}]}});
    let (s, base) = stack_with_tidio(
        seed,
        Some(("ci_demo", "cs_demo")),
        &[("tidio:op-9", "kim@example.com")],
    )
    .await;
    let calls = || async {
        let stats: Value = reqwest::get(format!("{base}/__emulator/stats"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        stats["calls"]["tidio"].as_u64().unwrap_or(0)
    };
    // GIVEN agents known to Tidio (op-1), to the tenant's map only (op-9), and to nobody (op-7)
    s.resolve_event(1, tidio_assignment(1, "op-1")).await;
    s.resolve_event(2, tidio_assignment(2, "op-1")).await;
    s.resolve_event(3, tidio_assignment(3, "op-9")).await;
    s.resolve_event(4, tidio_assignment(4, "op-7")).await;
    let written = s.written().await;
    // THEN each is forwarded, with the e-mail where one is known
    let emails: Vec<Option<String>> = written.iter().map(assignee_email).collect();
    assert_eq!(
        emails,
        [
            Some("sam.agent@example.com".into()),
            Some("sam.agent@example.com".into()),
            Some("kim@example.com".into()),
            None
        ]
    );
    assert!(
        written[3]
            .resolution
            .as_ref()
            .unwrap()
            .detail
            .contains("e-mail unknown")
    );
    // AND Tidio's operator list was read once for op-1 (cached), and again for op-7 (unknown
    // ids are asked once each); the tenant's map cost nothing
    assert_eq!(calls().await, 2);
    s.aws.moto.stop().await;
}

#[tokio::test]
async fn a_platform_that_refuses_the_key_parks_the_event_naming_what_is_needed() {
    let seed = json!({"tidio": {"credentials": ["ci_demo:cs_demo"], "operators": []}});
    let (s, _) = stack_with_tidio(seed, Some(("ci_demo", "cs_wrong")), &[]).await;
    s.resolve_event(1, tidio_assignment(1, "op-1")).await;
    assert!(s.written().await.is_empty());
    let log =
        shared::store::synclog::SyncLogTable::new(s.aws.dynamo(), s.aws.table("SyncLogTable"));
    let open = log.open("demo", 10).await.unwrap();
    assert_eq!(open.len(), 1, "a review item");
    assert!(
        open[0].detail.contains("Tidio OpenAPI keys"),
        "{}",
        open[0].detail
    );
    assert!(open[0].detail.contains("401"), "{}", open[0].detail);
    s.aws.moto.stop().await;
}
