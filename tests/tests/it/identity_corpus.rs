//! The identity corpus (tests/identity/corpus.toml) through the real resolver: each case's
//! records are seeded into the Salesforce emulator, the visitor's event goes through the
//! identity-resolver handler (links table and queues on moto), and the person it attaches the
//! event to is compared with the case's label. Fails on any wrong-person attachment; prints
//! precision, recall and the Salesforce calls spent.

use crate::corpus::{self, Case, Record, SObject};
use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use chatsync_tests::{LocalAws, contact_event};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Map, Value, json};
use shared::config::Env;
use shared::event::QueuedEvent;
use std::collections::{BTreeMap, BTreeSet};

/// What the resolver did with a case's event, in corpus labels.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Person(String),
    Ambiguous(BTreeSet<String>),
    Nobody,
}

struct Run {
    aws: LocalAws,
    salesforce: String,
    http: reqwest::Client,
}

impl Run {
    async fn admin(&self, path: &str, body: Value) -> Value {
        self.http
            .post(format!("{}{path}", self.salesforce))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap_or(Value::Null)
    }

    async fn api_calls(&self) -> u64 {
        let stats: Value = self
            .http
            .get(format!("{}/__emulator/stats", self.salesforce))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        stats["api_calls"].as_u64().unwrap()
    }

    /// Seeds a case's records, Contacts first (converted Leads refer to them); returns the
    /// Ids by label.
    async fn seed(&self, case: &Case) -> Result<BTreeMap<String, String>, String> {
        let mut ids = BTreeMap::new();
        for kind in [SObject::Contact, SObject::Lead] {
            let records: Vec<&Record> = case.records.iter().filter(|r| r.sobject == kind).collect();
            if records.is_empty() {
                continue;
            }
            let rows: Vec<Value> = records.iter().map(|r| fields(r, &ids)).collect();
            let name = if kind == SObject::Contact {
                "Contact"
            } else {
                "Lead"
            };
            let out = self.admin("/__emulator/seed", json!({ name: rows })).await;
            let assigned = out[name]
                .as_array()
                .ok_or_else(|| format!("{}: seed refused: {out}", case.name))?;
            for (r, id) in records.iter().zip(assigned) {
                ids.insert(r.label.clone(), id.as_str().unwrap_or_default().to_owned());
            }
        }
        Ok(ids)
    }

    /// Every message on write.fifo, taken off it.
    async fn take_written(&self) -> Vec<QueuedEvent> {
        let url = self.aws.queue_url("WriteQueue");
        let mut all = Vec::new();
        loop {
            let out = self
                .aws
                .sqs()
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let Some(messages) = out.messages.filter(|m| !m.is_empty()) else {
                return all;
            };
            for m in messages {
                all.push(self.aws.open(m.body().unwrap()).await);
                self.aws
                    .sqs()
                    .delete_message()
                    .queue_url(&url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

/// A record as the REST API takes it: labels become Ids; Account references are left out
/// (the corpus has no Account records).
fn fields(r: &Record, ids: &BTreeMap<String, String>) -> Value {
    let mut f = Map::new();
    let mut put = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            f.insert(k.into(), Value::String(v.clone()));
        }
    };
    put("FirstName", &r.FirstName);
    put("LastName", &r.LastName);
    // Salesforce refuses an e-mail field that holds no address (and trims the rest itself),
    // so such a record holds none.
    let email = r
        .Email
        .clone()
        .filter(|e| shared::identity::normalize::email(e).is_some());
    put("Email", &email);
    put("Phone", &r.Phone);
    put("MobilePhone", &r.MobilePhone);
    put("LastModifiedDate", &r.LastModifiedDate);
    if r.sobject == SObject::Lead {
        put(
            "Company",
            &Some(r.Company.clone().unwrap_or_else(|| "Unknown".into())),
        );
        let converted = r
            .ConvertedContactId
            .as_ref()
            .and_then(|l| ids.get(l))
            .cloned();
        put("ConvertedContactId", &converted);
    }
    for (k, v) in &r.custom {
        f.insert(emulator_field(k).into(), Value::String(v.clone()));
    }
    if r.IsConverted {
        f.insert("IsConverted".into(), Value::Bool(true));
    }
    Value::Object(f)
}

/// The emulated org has one custom id field on Contact and Lead (`Chat_Contact_Id__c`, from
/// `salesforce/`); the customer's own `External_Id__c` of the corpus plays it (no case uses
/// both).
fn emulator_field(name: &str) -> &str {
    if name == "External_Id__c" {
        "Chat_Contact_Id__c"
    } else {
        name
    }
}

#[tokio::test]
async fn the_identity_corpus_through_the_resolver_and_the_emulator() {
    let aws = LocalAws::start().await;
    let (demo, salesforce) = aws.load_demo_tenant_with_salesforce().await;
    let run = Run {
        aws,
        salesforce,
        http: reqwest::Client::new(),
    };
    let env = run.aws.env("identity-resolver").clone();
    let (tenants, secrets) = {
        let dynamo = run.aws.dynamo();
        (
            shared::store::tenants::TenantTable::new(dynamo, &env["TENANTS_TABLE"]),
            shared::store::secrets::TenantSecretStore::new(
                aws_sdk_secretsmanager::Client::new(&run.aws.sdk),
                &env["TENANT_SECRET_PREFIX"],
            ),
        )
    };
    let demo_secrets = secrets.get("demo").await.unwrap().unwrap();
    let resolver = identity_resolver::Function::from_env(
        run.aws.role("identity-resolver"),
        &Env::from_map(&env),
    )
    .unwrap();

    let cases = corpus::load().cases;
    assert!(cases.len() >= 60, "the corpus has {} cases", cases.len());
    let (mut expected_matches, mut correct, mut wrong, mut missed) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    let mut calls = Vec::new();
    for (n, case) in cases.iter().enumerate() {
        // A tenant per case: its own policy, links and cache.
        let tenant = format!("corpus-{n}");
        let mut file = demo.clone();
        file.config.tenant_id = tenant.clone();
        file.config.identity = case.policy.clone().unwrap_or_default();
        for field in [
            &mut file.config.identity.external_id_field,
            &mut file.config.identity.visitor_id_field,
        ] {
            if let Some(f) = field.as_mut() {
                *f = emulator_field(f).to_owned();
            }
        }
        file.secrets = demo_secrets.clone();
        shared::store::tenants::put_tenant(&file, &tenants, &secrets)
            .await
            .unwrap();
        run.admin("/__emulator/reset", json!({})).await;
        let ids = match run.seed(case).await {
            Ok(ids) => ids,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        let label_of = |id: &str| {
            ids.iter()
                .find(|(_, v)| v.as_str() == id)
                .map(|(k, _)| k.clone())
                .unwrap_or_else(|| format!("new:{id}"))
        };
        let before = run.api_calls().await;
        let queued = contact_event(
            &tenant,
            &format!("corpus-{n:03}"),
            case.visitor.to_visitor(),
        );
        let mut record = SqsMessage::default();
        record.message_id = Some(format!("m{n}"));
        record.body = Some(serde_json::to_string(&queued).unwrap());
        let mut batch = SqsEvent::default();
        batch.records = vec![record];
        let out = identity_resolver::handle(&resolver, LambdaEvent::new(batch, Context::default()))
            .await
            .unwrap();
        calls.push(run.api_calls().await - before);
        if !out.batch_item_failures.is_empty() {
            failures.push(format!("{}: the resolver failed the event", case.name));
            continue;
        }
        let written = run.take_written().await;
        let seen = match written.first().and_then(|e| e.resolution.clone()) {
            Some(r) => match (r.outcome, r.person) {
                (
                    shared::event::resolution::Outcome::Matched
                    | shared::event::resolution::Outcome::Linked,
                    Some(p),
                ) => Seen::Person(label_of(&p.id)),
                _ => Seen::Nobody,
            },
            None => {
                // Parked: the review item names the candidates.
                let log = shared::store::synclog::SyncLogTable::new(
                    run.aws.dynamo(),
                    run.aws.table("SyncLogTable"),
                );
                let open = log.open(&tenant, 5).await.unwrap();
                let detail = open.first().map(|e| e.detail.clone()).unwrap_or_default();
                Seen::Ambiguous(
                    ids.iter()
                        .filter(|(_, id)| detail.contains(id.as_str()))
                        .map(|(l, _)| l.clone())
                        .collect(),
                )
            }
        };
        let expected = match case.expect.as_str() {
            "none" => Seen::Nobody,
            "ambiguous" => Seen::Ambiguous(case.among.iter().cloned().collect()),
            label => Seen::Person(label.to_owned()),
        };
        if let Seen::Person(want) = &expected {
            expected_matches += 1;
            match &seen {
                Seen::Person(got) if got == want => correct += 1,
                Seen::Person(_) => wrong += 1,
                _ => missed += 1,
            }
        } else if matches!(seen, Seen::Person(ref got) if !got.starts_with("new:")) {
            wrong += 1;
        }
        if seen != expected {
            failures.push(format!(
                "{}: expected {expected:?}, got {seen:?}",
                case.name
            ));
        }
    }
    let attached = correct + wrong;
    let precision = if attached == 0 {
        1.0
    } else {
        correct as f64 / attached as f64
    };
    let recall = if expected_matches == 0 {
        1.0
    } else {
        correct as f64 / expected_matches as f64
    };
    calls.sort_unstable();
    println!(
        "identity corpus against the emulator: {} cases; precision {precision:.3} ({correct} correct, {wrong} wrong-person); recall {recall:.3} ({missed} missed); Salesforce calls per resolution: max {}",
        cases.len(),
        calls.last().copied().unwrap_or(0)
    );
    assert_eq!(
        wrong,
        0,
        "wrong-person attachments:\n{}",
        failures.join("\n")
    );
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        calls.iter().all(|&c| c <= 2),
        "a resolution spent more than 2 calls: {calls:?}"
    );
    run.aws.moto.stop().await;
}
