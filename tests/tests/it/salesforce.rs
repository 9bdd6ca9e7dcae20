//! The Salesforce client against the project's emulator: each auth flow, rotation, expiry →
//! refresh → replay, composite with references and rollback, paging, every error code the
//! emulator produces classified by the client, the limit header and the daily allowance.

use serde_json::{Value, json};
use sf_emulator::{Emulator, EmulatorConfig};
use shared::error::{Classify, ErrorClass};
use shared::salesforce::{
    ApiBudget, ClientConfig, CompositeRequest, Org, Priority, SalesforceClient,
    SalesforceCredentials, SalesforceError, SubRequest, TokenSink, TokenSinkError, reference,
};
use shared::secret::Secret;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

struct Running {
    emulator: Emulator,
    base: String,
    config: EmulatorConfig,
}

async fn emulator(config: EmulatorConfig) -> Running {
    let emulator = Emulator::new(config.clone()).expect("emulator config is valid");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = sf_emulator::spawn(listener, emulator.clone()).expect("emulator serves");
    Running {
        emulator,
        base,
        config,
    }
}

/// Remembers every refresh token written back, in order.
#[derive(Default)]
struct RecordingSink(Mutex<Vec<String>>);

impl TokenSink for RecordingSink {
    fn persist_refresh_token<'a>(
        &'a self,
        _tenant_id: &'a str,
        refresh_token: &'a Secret,
    ) -> Pin<Box<dyn Future<Output = Result<(), TokenSinkError>> + Send + 'a>> {
        Box::pin(async move {
            self.0
                .lock()
                .unwrap()
                .push(refresh_token.expose().to_owned());
            Ok(())
        })
    }
}

fn client() -> SalesforceClient {
    SalesforceClient::new(ClientConfig::default()).unwrap()
}

fn client_credentials(r: &Running) -> SalesforceCredentials {
    SalesforceCredentials::ClientCredentials {
        login_url: r.base.clone(),
        client_id: r.config.client_id.clone(),
        client_secret: Secret::new(r.config.client_secret.clone()),
    }
}

fn org(r: &Running, c: &SalesforceClient) -> Org {
    c.org(
        "acme",
        client_credentials(r),
        Arc::new(RecordingSink::default()),
    )
}

async fn admin(r: &Running, path: &str, body: Value) -> Value {
    let resp = reqwest::Client::new()
        .post(format!("{}/__emulator/{path}", r.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        resp.status().is_success(),
        "admin {path}: {}",
        resp.status()
    );
    resp.json().await.unwrap_or(Value::Null)
}

async fn stats(r: &Running) -> Value {
    reqwest::get(format!("{}/__emulator/stats", r.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn class_and_code(e: &SalesforceError) -> (ErrorClass, String) {
    (e.class(), e.code().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn client_credentials_and_jwt_bearer_sign_in() {
    let key_dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/src/salesforce/testdata");
    let public = std::fs::read_to_string(key_dir.join("jwt-test-key.pub.pem")).unwrap();
    let private = std::fs::read_to_string(key_dir.join("jwt-test-key.pem")).unwrap();
    let r = emulator(EmulatorConfig {
        jwt_public_key_pem: Some(public),
        ..EmulatorConfig::default()
    })
    .await;
    let c = client();
    let id = org(&r, &c)
        .create(
            "Lead",
            &json!({"LastName": "Lovelace", "Company": "Analytical"}),
        )
        .await
        .unwrap();
    assert!(id.starts_with("00Q") && id.len() == 18, "{id}");

    let jwt = c.org(
        "jwt-tenant",
        SalesforceCredentials::JwtBearer {
            login_url: r.base.clone(),
            client_id: r.config.client_id.clone(),
            username: r.config.integration_username.clone(),
            private_key: Secret::new(private),
        },
        Arc::new(RecordingSink::default()),
    );
    let lead = jwt.get("Lead", &id, &["LastName"]).await.unwrap();
    assert_eq!(lead["LastName"], "Lovelace");

    // A wrong secret is a configuration problem, not something to retry.
    let bad = c.org(
        "bad",
        SalesforceCredentials::ClientCredentials {
            login_url: r.base.clone(),
            client_id: r.config.client_id.clone(),
            client_secret: Secret::new("wrong"),
        },
        Arc::new(RecordingSink::default()),
    );
    let err = bad.get("Lead", &id, &[]).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Configuration, "{err}");
}

#[tokio::test]
async fn a_rotated_refresh_token_is_written_back_before_use_and_an_expired_session_is_replayed() {
    let r = emulator(EmulatorConfig {
        rotate_refresh_tokens: true,
        ..EmulatorConfig::default()
    })
    .await;
    let c = client();
    let sink = Arc::new(RecordingSink::default());
    let o = c.org(
        "acme",
        SalesforceCredentials::RefreshToken {
            login_url: r.base.clone(),
            client_id: r.config.client_id.clone(),
            client_secret: Secret::new(r.config.client_secret.clone()),
            refresh_token: Secret::new(r.config.initial_refresh_token.clone()),
        },
        sink.clone(),
    );
    let id = o.create("Account", &json!({"Name": "Acme"})).await.unwrap();
    assert_eq!(
        sink.0.lock().unwrap().len(),
        1,
        "the rotated token was persisted"
    );
    let first_tokens = c.token_requests();

    // GIVEN every access token expires
    admin(&r, "expire-tokens", json!({})).await;
    // WHEN the client calls again THEN it refreshes once (with the rotated token) and replays
    let account = o.get("Account", &id, &["Name"]).await.unwrap();
    assert_eq!(account["Name"], "Acme");
    assert_eq!(c.token_requests(), first_tokens + 1);
    let written = sink.0.lock().unwrap().clone();
    assert_eq!(written.len(), 2);
    assert_ne!(written[0], written[1], "each refresh rotated the token");
    let log = stats(&r).await;
    let statuses: Vec<u64> = log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_u64().unwrap())
        .collect();
    assert!(
        statuses.contains(&401),
        "the expired session was seen: {statuses:?}"
    );
}

#[tokio::test]
async fn composite_chains_references_and_rolls_back_as_a_whole() {
    let r = emulator(EmulatorConfig::default()).await;
    let c = client();
    let o = org(&r, &c);
    let before = r.emulator.api_calls();
    let mut ok = CompositeRequest::new(true);
    ok.push(SubRequest::create(
        "newLead",
        "Lead",
        json!({"LastName": "Hopper", "Company": "Navy", "Email": "grace@example.com"}),
    ))
    .unwrap();
    ok.push(SubRequest::create(
        "task",
        "Task",
        json!({"Subject": "Chat", "WhoId": reference("newLead", "id")}),
    ))
    .unwrap();
    let resp = o.composite(&ok).await.unwrap();
    assert!(resp.first_failure().is_none());
    let lead_id = resp.get("newLead").and_then(|s| s.id()).unwrap().to_owned();
    let tasks: Vec<Value> = reqwest::get(format!("{}/__emulator/records/Task", r.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tasks[0]["WhoId"], lead_id.as_str());
    assert_eq!(
        r.emulator.api_calls() - before,
        1,
        "a composite is one API call"
    );

    // allOrNone: the second subrequest fails, so the first is rolled back.
    let mut bad = CompositeRequest::new(true);
    bad.push(SubRequest::create("a", "Account", json!({"Name": "Kept?"})))
        .unwrap();
    bad.push(SubRequest::create(
        "b",
        "Lead",
        json!({"Company": "No last name"}),
    ))
    .unwrap();
    let resp = o.composite(&bad).await.unwrap();
    let (reference_id, err) = resp.first_failure().unwrap();
    assert_eq!(
        reference_id, "b",
        "the real failure, not the collateral PROCESSING_HALTED"
    );
    assert_eq!(
        class_and_code(&err),
        (ErrorClass::Data, "REQUIRED_FIELD_MISSING".into())
    );
    let accounts: Vec<Value> = reqwest::get(format!("{}/__emulator/records/Account", r.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(accounts.iter().all(|a| a["Name"] != "Kept?"), "rolled back");
}

#[tokio::test]
async fn queries_page_through_next_records_url() {
    let r = emulator(EmulatorConfig {
        query_batch_size: 3,
        ..EmulatorConfig::default()
    })
    .await;
    let leads: Vec<Value> = (0..8)
        .map(|i| json!({"LastName": format!("L{i}"), "Company": "C"}))
        .collect();
    r.emulator.seed(&json!({"Lead": leads})).unwrap();
    let c = client();
    let o = org(&r, &c);
    let first = o
        .query("SELECT Id, LastName FROM Lead ORDER BY LastName")
        .await
        .unwrap();
    assert!(!first.done && first.records.len() == 3 && first.total_size == 8);
    let all = o
        .query_all("SELECT Id, LastName FROM Lead ORDER BY LastName")
        .await
        .unwrap();
    let names: Vec<&str> = all
        .iter()
        .map(|r| r["LastName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["L0", "L1", "L2", "L3", "L4", "L5", "L6", "L7"]);
    // Hostile input cannot escape its literal.
    let q = shared::salesforce::Soql::select(&["Id"])
        .from("Lead")
        .where_eq("LastName", "x' OR LastName != '")
        .build()
        .unwrap();
    assert!(o.query_all(&q).await.unwrap().is_empty());
}

#[tokio::test]
async fn every_data_error_the_emulator_produces_is_classified_for_review() {
    let r = emulator(EmulatorConfig::default()).await;
    let seeded = r
        .emulator
        .seed(&json!({
            "Lead": [{"LastName": "Converted", "Company": "C", "IsConverted": true}],
            "User": [{"LastName": "Gone", "Email": "gone@example.com", "Username": "gone@example.com", "Alias": "gone", "IsActive": false}]
        }))
        .unwrap();
    let converted = seeded["Lead"][0].as_str().unwrap().to_owned();
    let inactive = seeded["User"][0].as_str().unwrap().to_owned();
    let c = client();
    let o = org(&r, &c);
    let deleted = o.create("Account", &json!({"Name": "Temp"})).await.unwrap();
    o.delete("Account", &deleted).await.unwrap();

    let cases: Vec<(&str, Result<String, SalesforceError>)> = vec![
        (
            "REQUIRED_FIELD_MISSING",
            o.create("Lead", &json!({"Company": "C"})).await,
        ),
        (
            "STRING_TOO_LONG",
            o.create("Lead", &json!({"LastName": "x".repeat(81), "Company": "C"}))
                .await,
        ),
        (
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            o.create(
                "Task",
                &json!({"Subject": "s", "TaskSubtype": "Carrier Pigeon"}),
            )
            .await,
        ),
        (
            "INVALID_FIELD",
            o.create(
                "Lead",
                &json!({"LastName": "L", "Company": "C", "Nope__c": 1}),
            )
            .await,
        ),
        (
            "MALFORMED_ID",
            o.create(
                "Contact",
                &json!({"LastName": "L", "AccountId": "not-an-id"}),
            )
            .await,
        ),
        (
            "INVALID_CROSS_REFERENCE_KEY",
            o.create(
                "Contact",
                &json!({"LastName": "L", "AccountId": "001000000000000AAA"}),
            )
            .await,
        ),
        (
            "ENTITY_IS_DELETED",
            o.update("Account", &deleted, &json!({"Name": "Back"}))
                .await
                .map(|_| String::new()),
        ),
        (
            "CANNOT_UPDATE_CONVERTED_LEAD",
            o.update("Lead", &converted, &json!({"LastName": "Again"}))
                .await
                .map(|_| String::new()),
        ),
        (
            "INACTIVE_OWNER_OR_USER",
            o.create("Case", &json!({"Subject": "s", "OwnerId": inactive}))
                .await,
        ),
    ];
    for (code, result) in cases {
        let err = result.expect_err(code);
        assert_eq!(
            class_and_code(&err),
            (ErrorClass::Data, code.to_owned()),
            "{err}"
        );
    }
}

#[tokio::test]
async fn duplicate_rules_are_reported_with_the_matching_records() {
    let r = emulator(EmulatorConfig {
        duplicate_rules: vec![serde_json::from_value(json!({"sobject": "Contact", "name": "Contacts_DR", "fields": ["Email"], "allow_save": false})).unwrap()],
        ..EmulatorConfig::default()
    })
    .await;
    let c = client();
    let o = org(&r, &c);
    let first = o
        .create(
            "Contact",
            &json!({"LastName": "A", "Email": "a@example.com"}),
        )
        .await
        .unwrap();
    let err = o
        .create(
            "Contact",
            &json!({"LastName": "B", "Email": "a@example.com"}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        class_and_code(&err),
        (ErrorClass::Data, "DUPLICATES_DETECTED".into())
    );
    let dup = err
        .api_error()
        .and_then(|e| e.duplicate.as_ref())
        .expect("duplicate details");
    assert_eq!(dup.match_record_ids, [first]);
}

#[tokio::test]
async fn injected_faults_are_transient_and_the_daily_limit_pauses() {
    let r = emulator(EmulatorConfig::default()).await;
    let c = client();
    let o = org(&r, &c);
    o.create("Account", &json!({"Name": "Warm"})).await.unwrap();
    // A row lock rolled the transaction back: the client sends it again once, at once.
    admin(
        &r,
        "faults",
        json!({"error": "UNABLE_TO_LOCK_ROW", "count": 1}),
    )
    .await;
    o.create("Account", &json!({"Name": "Locked once"}))
        .await
        .expect("sent again and landed");
    for (fault, count, code) in [
        ("UNABLE_TO_LOCK_ROW", 2, "UNABLE_TO_LOCK_ROW"),
        ("SERVER_UNAVAILABLE", 1, "SERVER_UNAVAILABLE"),
        ("HTML_500", 1, "HTTP_500"),
    ] {
        admin(&r, "faults", json!({"error": fault, "count": count})).await;
        let err = o
            .create("Account", &json!({"Name": "Busy"}))
            .await
            .unwrap_err();
        assert_eq!(err.class(), ErrorClass::Transient, "{fault}: {err}");
        assert_eq!(err.code().unwrap_or_default(), code, "{fault}");
    }
    // The limit header is read on every response.
    let usage = o.usage().expect("Sforce-Limit-Info read");
    assert!(usage.used >= 1 && usage.limit == 100_000, "{usage:?}");

    // The daily allowance: the org is nearly spent, so the budget refuses low-priority work
    // before Salesforce would, and an exhausted org is a pause, not a retry.
    admin(
        &r,
        "limits",
        json!({"daily_api_limit": 100, "api_calls": 99}),
    )
    .await;
    o.create("Account", &json!({"Name": "Last one"}))
        .await
        .unwrap();
    let budget = ApiBudget::default();
    assert!(
        o.admit(&budget, 0, Priority::Low, 1).is_err(),
        "low priority refused near the limit"
    );
    let err = o
        .create("Account", &json!({"Name": "Over"}))
        .await
        .unwrap_err();
    assert_eq!(
        class_and_code(&err),
        (ErrorClass::RateLimited, "REQUEST_LIMIT_EXCEEDED".into())
    );
}

#[tokio::test]
async fn upserts_collections_and_sosl_answer_as_salesforce_does() {
    let r = emulator(EmulatorConfig::default()).await;
    let c = client();
    let o = org(&r, &c);
    // Upsert by the chat contact id declared in salesforce/: created, then updated, then ambiguous.
    let fields = json!({"LastName": "Johnson", "Email": "k.johnson@example.net", "Phone": "+1 555 121 1212"});
    let created = o
        .upsert("Contact", "Chat_Contact_Id__c", "rio-112233", &fields)
        .await
        .unwrap();
    assert!(created.created);
    let updated = o
        .upsert("Contact", "Chat_Contact_Id__c", "rio-112233", &fields)
        .await
        .unwrap();
    assert!(!updated.created);
    assert_eq!(updated.id, created.id);
    r.emulator
        .seed(&json!({"Contact": [{"LastName": "Twin", "Chat_Contact_Id__c": "dup"}, {"LastName": "Twin", "Chat_Contact_Id__c": "dup"}]}))
        .unwrap();
    let ambiguous = o
        .upsert(
            "Contact",
            "Chat_Contact_Id__c",
            "dup",
            &json!({"LastName": "X"}),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(ambiguous, SalesforceError::Ambiguous { ref candidates } if candidates.len() == 2),
        "{ambiguous}"
    );
    assert_eq!(ambiguous.class(), ErrorClass::Data);

    // SOSL finds the Contact by e-mail.
    let sosl = shared::salesforce::Sosl::find(
        "k.johnson@example.net",
        shared::salesforce::SearchGroup::Email,
    )
    .returning("Contact", &["Id", "Email"])
    .returning("Lead", &["Id", "Email"])
    .build()
    .unwrap();
    let found = o.search(&sosl).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["Id"], created.id.clone().unwrap().as_str());

    // Collections with allOrNone: the culprit keeps its code, the rest are collateral.
    let before = r.emulator.api_calls();
    let results = o
        .collection_create(
            true,
            &[
                shared::salesforce::collections::record("Account", json!({"Name": "Fine"})),
                shared::salesforce::collections::record("Lead", json!({"Company": "No name"})),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        r.emulator.api_calls() - before,
        1,
        "a Collections call is one API call"
    );
    let (index, err) = shared::salesforce::collections::first_failure(&results).unwrap();
    assert_eq!(index, 1);
    assert_eq!(
        class_and_code(&err),
        (ErrorClass::Data, "REQUIRED_FIELD_MISSING".into())
    );
    assert!(!results[0].success, "rolled back with the rest");
}

#[tokio::test]
async fn a_rotated_refresh_token_lands_in_the_tenants_secret() {
    let aws = chatsync_tests::LocalAws::start().await;
    let r = emulator(EmulatorConfig {
        rotate_refresh_tokens: true,
        ..EmulatorConfig::default()
    })
    .await;
    let mut tenant = aws.load_demo_tenant().await;
    let credentials = SalesforceCredentials::RefreshToken {
        login_url: r.base.clone(),
        client_id: r.config.client_id.clone(),
        client_secret: Secret::new(r.config.client_secret.clone()),
        refresh_token: Secret::new(r.config.initial_refresh_token.clone()),
    };
    tenant.secrets.salesforce = Some(credentials.clone());
    let store = shared::store::secrets::TenantSecretStore::new(
        aws_sdk_secretsmanager::Client::new(&aws.sdk),
        &aws.env("identity-resolver")["TENANT_SECRET_PREFIX"],
    );
    store.put("demo", &tenant.secrets).await.unwrap();

    let c = client();
    let o = c.org("demo", credentials, Arc::new(store.clone()));
    o.create("Account", &json!({"Name": "Rotated"}))
        .await
        .unwrap();

    let stored = store.get("demo").await.unwrap().unwrap();
    let Some(SalesforceCredentials::RefreshToken { refresh_token, .. }) = stored.salesforce else {
        panic!("refresh-token credentials kept");
    };
    assert_ne!(
        refresh_token.expose(),
        r.config.initial_refresh_token,
        "the rotated token was written back"
    );
    assert_eq!(
        stored.webhooks, tenant.secrets.webhooks,
        "the webhook secrets are untouched"
    );
    aws.moto.stop().await;
}

#[tokio::test]
async fn twenty_warm_functions_through_a_hundred_rotations_never_lose_the_refresh_token() {
    let aws = chatsync_tests::LocalAws::start().await;
    let r = emulator(EmulatorConfig {
        rotate_refresh_tokens: true,
        ..EmulatorConfig::default()
    })
    .await;
    let mut tenant = aws.load_demo_tenant().await;
    tenant.secrets.salesforce = Some(SalesforceCredentials::RefreshToken {
        login_url: r.base.clone(),
        client_id: r.config.client_id.clone(),
        client_secret: Secret::new(r.config.client_secret.clone()),
        refresh_token: Secret::new(r.config.initial_refresh_token.clone()),
    });
    // As the resolver and writer use it: their role, their half of the tenant's secrets.
    let store = Arc::new(shared::store::secrets::TenantSecretStore::new(
        aws_sdk_secretsmanager::Client::new(aws.role("case-writer")),
        &aws.env("case-writer")["TENANT_SECRET_PREFIX"],
    ));
    shared::store::secrets::TenantSecretStore::new(
        aws_sdk_secretsmanager::Client::new(&aws.sdk),
        &aws.env("case-writer")["TENANT_SECRET_PREFIX"],
    )
    .put("demo", &tenant.secrets)
    .await
    .unwrap();
    // Twenty warm functions, each with its own session cache and rotation chain.
    let functions: Vec<SalesforceClient> = (0..20).map(|_| client()).collect();
    let mut refreshes = 0;
    for round in 0..5 {
        // Every session ends, so each function must refresh, racing the others.
        admin(&r, "expire-tokens", json!({})).await;
        let before: u64 = functions.iter().map(SalesforceClient::token_requests).sum();
        let calls = functions.iter().enumerate().map(|(i, c)| {
            let store = store.clone();
            async move {
                // Each invocation reads the credentials, as a consumer does.
                let credentials = store
                    .salesforce("demo")
                    .await
                    .unwrap()
                    .and_then(|s| s.salesforce)
                    .unwrap();
                let org = c.org("demo", credentials, store.clone());
                org.create("Account", &json!({"Name": format!("R{round}-{i}")}))
                    .await
            }
        });
        for (i, result) in futures::future::join_all(calls)
            .await
            .into_iter()
            .enumerate()
        {
            if let Err(e) = result {
                panic!("round {round}, function {i}: {e} ({:?})", e.class());
            }
        }
        let after: u64 = functions.iter().map(SalesforceClient::token_requests).sum();
        refreshes += after - before;
    }
    assert!(refreshes >= 100, "{refreshes} token requests");
    // The stored token is the live one: a cold start signs in with it.
    let stored = store
        .salesforce("demo")
        .await
        .unwrap()
        .unwrap()
        .salesforce
        .unwrap();
    let cold = client().org("demo", stored, store.clone());
    cold.create("Account", &json!({"Name": "cold"}))
        .await
        .unwrap();
    aws.moto.stop().await;
}

#[tokio::test]
async fn a_tenant_re_pointed_to_another_org_never_uses_the_old_session() {
    let first = emulator(EmulatorConfig::default()).await;
    let second = emulator(EmulatorConfig::default()).await;
    let c = client();
    let sink: Arc<dyn TokenSink> = Arc::new(RecordingSink::default());
    let a = c.org("acme", client_credentials(&first), sink.clone());
    a.create("Account", &json!({"Name": "In the first org"}))
        .await
        .unwrap();
    // The tenant's secret now names the second org: the warm function's session for the
    // first one must not be used.
    let b = c.org("acme", client_credentials(&second), sink);
    b.create("Account", &json!({"Name": "In the second org"}))
        .await
        .unwrap();
    let names = |r: &Running| {
        let url = format!("{}/__emulator/records/Account", r.base);
        async move {
            let v: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
            v.as_array()
                .unwrap()
                .iter()
                .map(|a| a["Name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(names(&first).await, ["In the first org"]);
    assert_eq!(names(&second).await, ["In the second org"]);
}
