//! Salesforce client overhead per composite request (build + serialise + parse, no I/O) and
//! the emulator's throughput through the real client. `make bench` runs it in release.

use serde_json::{Value, json};
use sf_emulator::{Emulator, EmulatorConfig};
use shared::salesforce::{
    ClientConfig, CompositeRequest, CompositeResponse, DiscardTokens, SalesforceClient,
    SalesforceCredentials, SubRequest, reference,
};
use shared::secret::Secret;
use std::sync::Arc;
use std::time::Instant;

fn composite_of_25() -> CompositeRequest {
    let mut request = CompositeRequest::new(true);
    request
        .push(SubRequest::create(
            "lead",
            "Lead",
            json!({"LastName": "Lovelace", "Company": "Analytical", "Email": "ada@example.org"}),
        ))
        .expect("fits");
    for i in 0..24 {
        request
            .push(SubRequest::create(
                &format!("task{i}"),
                "Task",
                json!({"Subject": format!("Chat message {i}"), "WhoId": reference("lead", "id"), "Description": "x".repeat(400)}),
            ))
            .expect("fits");
    }
    request
}

fn response_of_25() -> String {
    let subs: Vec<Value> = (0..25)
        .map(|i| json!({"body": {"id": format!("00T000000000{i:03}AAA"), "success": true, "errors": []}, "httpHeaders": {"Location": "/services/data/v62.0/sobjects/Task/00T"}, "httpStatusCode": 201, "referenceId": format!("task{i}")}))
        .collect();
    json!({"compositeResponse": subs}).to_string()
}

fn main() {
    let rounds = 2_000;
    let response = response_of_25();
    let started = Instant::now();
    for _ in 0..rounds {
        let body = composite_of_25().body(None).to_string();
        std::hint::black_box(body);
        let parsed: CompositeResponse = serde_json::from_str(&response).expect("parses");
        std::hint::black_box(parsed.first_failure().is_none());
    }
    let per = started.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
    println!(
        "client overhead per 25-subrequest composite (build + serialise + parse): {per:.1} µs"
    );

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let config = EmulatorConfig::default();
        let emulator = Emulator::new(config.clone()).expect("emulator");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = sf_emulator::spawn(listener, emulator.clone()).expect("serve");
        let client = SalesforceClient::new(ClientConfig::default()).expect("client");
        let org = client.org(
            "bench",
            SalesforceCredentials::ClientCredentials {
                login_url: base,
                client_id: config.client_id.clone(),
                client_secret: Secret::new(config.client_secret.clone()),
            },
            Arc::new(DiscardTokens),
        );
        org.create("Account", &json!({"Name": "warm"}))
            .await
            .expect("warm");
        let total = 2_000;
        let started = Instant::now();
        let tasks: Vec<_> = (0..8)
            .map(|w| {
                let org = org.clone();
                tokio::spawn(async move {
                    for i in 0..total / 8 {
                        org.create(
                            "Lead",
                            &json!({"LastName": format!("L{w}-{i}"), "Company": "C"}),
                        )
                        .await
                        .expect("create");
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "emulator throughput: {:.0} creates/s ({total} Lead creates, 8 concurrent clients)",
            f64::from(total) / secs
        );
        let started = Instant::now();
        for _ in 0..200 {
            org.query(
                "SELECT Id, LastName FROM Lead WHERE Company = 'C' ORDER BY LastName LIMIT 50",
            )
            .await
            .expect("query");
        }
        println!(
            "emulator SOQL: {:.0} queries/s over {} Leads",
            200.0 / started.elapsed().as_secs_f64(),
            total
        );
    });
}
