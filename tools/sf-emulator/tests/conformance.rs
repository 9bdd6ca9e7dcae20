//! Conformance: for every real Salesforce response in ../shared/fixtures/salesforce/, issue the
//! equivalent request to the emulator and require the same HTTP status (as recorded in the
//! fixture's .source.txt), the same keys (recursively) and the same JSON value types.
//!
//! The fixtures are read in place, never copied into this repo. This target needs them, so it
//! is built only with the `conformance` feature: `make conformance` (CI runs it after
//! `make test`; a clone without the folder beside it fails here, loudly).

#[path = "it/common/mod.rs"]
mod common;
use common::{Reply, TestOrg, V};
use serde_json::{Value, json};
use sf_emulator::EmulatorConfig;
use std::path::PathBuf;

fn fixtures_dir() -> PathBuf {
    // tools/sf-emulator → repo root → its parent, where CI checks out `shared`.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/salesforce");
    assert!(
        dir.is_dir(),
        "\n\n*** CONFORMANCE FIXTURES MISSING ***\nExpected the captured Salesforce answers at {} \
         (../shared/fixtures/salesforce beside the repository).\nCheck out `shared` next to this \
         repository; `make conformance` cannot run without it (`make test` does not need it).\n",
        dir.display()
    );
    dir
}

/// The sorted top-level keys of a captured answer (of its first item, for an array).
fn captured_keys(name: &str) -> Vec<String> {
    let path = fixtures_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    let obj = if v.is_array() { v[0].clone() } else { v };
    let mut keys: Vec<String> = obj
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    k.sort();
    k
}

/// How a fixture's shape is compared with the emulator's answer.
#[derive(Default)]
struct Rules {
    /// Keys the emulator may add at the top level (documented fields the fixture's flow lacked).
    extra_root_keys: &'static [&'static str],
    /// Fixture key → emulator key, for fixtures recorded against custom test objects.
    renames: &'static [(&'static str, &'static str)],
    /// /limits: per-connected-app children are org-specific names.
    limits: bool,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn rename<'a>(rules: &'a Rules, key: &'a str) -> &'a str {
    rules
        .renames
        .iter()
        .find(|(from, _)| *from == key)
        .map(|(_, to)| *to)
        .unwrap_or(key)
}

fn compare(
    expected: &Value,
    actual: &Value,
    path: &str,
    rules: &Rules,
    problems: &mut Vec<String>,
) {
    if type_name(expected) != type_name(actual) {
        problems.push(format!(
            "{path}: expected {}, got {} ({actual})",
            type_name(expected),
            type_name(actual)
        ));
        return;
    }
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            if rules.limits && path.matches('/').count() == 1 {
                // One limit: Max and Remaining, plus per-app entries of the same shape.
                for k in ["Max", "Remaining"] {
                    match a.get(k) {
                        Some(Value::Number(_)) => {}
                        other => {
                            problems.push(format!("{path}/{k}: expected number, got {other:?}"))
                        }
                    }
                }
                for (k, v) in a.iter().filter(|(k, _)| *k != "Max" && *k != "Remaining") {
                    let sample = json!({"Max": 0, "Remaining": 0});
                    compare(
                        &sample,
                        v,
                        &format!("{path}/{k}"),
                        &Rules::default(),
                        problems,
                    );
                }
                return;
            }
            for (k, ev) in e {
                let k2 = rename(rules, k);
                match a.get(k2) {
                    Some(av) => compare(ev, av, &format!("{path}/{k2}"), rules, problems),
                    None => problems.push(format!("{path}: missing key {k2}")),
                }
            }
            let expected_keys: Vec<&str> = e.keys().map(|k| rename(rules, k)).collect();
            for k in a.keys() {
                let allowed = path.is_empty() && rules.extra_root_keys.contains(&k.as_str());
                if !expected_keys.contains(&k.as_str()) && !allowed {
                    problems.push(format!("{path}: unexpected key {k}"));
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                problems.push(format!(
                    "{path}: expected {} items, got {}",
                    e.len(),
                    a.len()
                ));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                compare(ev, av, &format!("{path}/{i}"), rules, problems);
            }
        }
        _ => {}
    }
}

/// The status the fixture's sidecar records ("recorded HTTP status: 201", "HTTP 400 expected", …).
fn recorded_status(source: &str) -> Option<u16> {
    source.match_indices("HTTP ").find_map(|(i, _)| {
        let rest = source.get(i + 5..)?;
        let rest = rest.strip_prefix("status: ").unwrap_or(rest);
        rest.get(..3)?.parse().ok()
    })
}

async fn oauth_refresh(org: &TestOrg, token: &str) -> Reply {
    let cfg = EmulatorConfig::default();
    org.token_request(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", token),
        ("client_id", &cfg.client_id),
        ("client_secret", &cfg.client_secret),
    ])
    .await
}

/// Issues the request a fixture answers; returns the reply and the comparison rules.
async fn replay(name: &str) -> Option<(Reply, Rules)> {
    let org = TestOrg::start().await;
    let rules = Rules::default();
    let reply = match name {
        "collections_upsert_created" => {
            org.api("PATCH", "/composite/sobjects/Account/Id", Some(json!({"allOrNone": false, "records": [{"Name": "Sitwell-Bluth", "AccountNumber": "420", "Id": null, "attributes": {"type": "Account"}}]})))
                .await
        }
        "composite_partial_failure_invalid_type" => {
            org.api("POST", "/composite", Some(json!({"compositeRequest": [
                {"method": "GET", "url": format!("{V}/query?q=select+count()+from+Account"), "referenceId": "refAccount"},
                {"method": "GET", "url": format!("{V}/query?q=select+count()+from+XYZZY"), "referenceId": "refXYZZY"},
            ]})))
            .await
        }
        "composite_subrequest_404" => {
            org.api("POST", "/composite", Some(json!({"compositeRequest": [{"referenceId": "CCI__RefId__0__", "method": "GET", "url": format!("{V}/sobjects/Foo")}]})))
                .await
        }
        "duplicates_detected_400" => {
            org.admin("POST", "/__emulator/duplicate-rules", Some(json!([{"sobject": "Contact", "name": "Contacts_DR", "matching_rule": "Contact_MR", "fields": ["Email"]}])))
                .await;
            org.seed(json!({"Contact": [{"LastName": "First", "Email": "same@example.com"}]})).await;
            org.api("POST", "/sobjects/Contact", Some(json!({"LastName": "Second", "Email": "same@example.com"}))).await
        }
        "error_404_not_found" => org.api("POST", "/sobjects/Unreal", Some(json!({"Name": "x"}))).await,
        "limits" => {
            let r = org.api("GET", "/limits", None).await;
            return Some((r, Rules { limits: true, ..rules }));
        }
        "oauth_refresh_error_invalid_grant" => oauth_refresh(&org, "not-a-refresh-token").await,
        "oauth_token_success" => {
            let r = oauth_refresh(&org, &EmulatorConfig::default().initial_refresh_token).await;
            // The fixture comes from an older flow; token_type and scope are documented fields
            // of every current token response.
            return Some((r, Rules { extra_root_keys: &["token_type", "scope"], ..rules }));
        }
        "query_paginated_first_page" => {
            org.admin("POST", "/__emulator/config", Some(json!({"query_batch_size": 1}))).await;
            org.seed(json!({"Lead": [{"LastName": "First Page", "Company": "c"}, {"LastName": "Second Page", "Company": "c"}]})).await;
            let r = org.query("SELECT LastName FROM Lead").await;
            // Recorded against a custom test object; our Lead has the same shape.
            return Some((r, Rules { renames: &[("Text_Label", "LastName")], ..rules }));
        }
        "query_two_records" => {
            org.seed(json!({"Account": [{"Name": "a", "AccountNumber": "420"}, {"Name": "b", "AccountNumber": "420"}]})).await;
            org.query("select Id,AccountNumber from Account").await
        }
        "rest_401_invalid_session_id" => org.raw("GET", &format!("{V}/limits"), None, Some("00Dexpired!token")).await,
        "sobject_create_201" => org.api("POST", "/sobjects/Account/", Some(json!({"Name": "xyzzy", "AccountNumber": "420"}))).await,
        "upsert_300_multiple_matches" => {
            org.seed(json!({"Contact": [{"LastName": "a", "Chat_Contact_Id__c": "foo"}, {"LastName": "b", "Chat_Contact_Id__c": "foo"}]})).await;
            org.api("PATCH", "/sobjects/Contact/Chat_Contact_Id__c/foo", Some(json!({"LastName": "c"}))).await
        }
        _ => return None,
    };
    Some((reply, rules))
}

#[tokio::test]
async fn emulator_matches_every_recorded_salesforce_response() {
    let dir = fixtures_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures folder is readable")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter_map(|n| n.strip_suffix(".json").map(str::to_string))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no *.json fixtures in {}", dir.display());

    let mut failures = Vec::new();
    for name in &names {
        let text =
            std::fs::read_to_string(dir.join(format!("{name}.json"))).expect("fixture reads");
        let expected: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}.json is not JSON: {e}"));
        let source =
            std::fs::read_to_string(dir.join(format!("{name}.source.txt"))).unwrap_or_default();
        let Some(status) = recorded_status(&source) else {
            failures.push(format!("{name}: no HTTP status in {name}.source.txt"));
            continue;
        };
        let Some((reply, rules)) = replay(name).await else {
            failures.push(format!(
                "{name}: no equivalent request defined; add one to replay()"
            ));
            continue;
        };
        if reply.status != status {
            failures.push(format!(
                "{name}: status {} (fixture {status}); body {}",
                reply.status, reply.body
            ));
            continue;
        }
        let mut problems = Vec::new();
        compare(&expected, &reply.body, "", &rules, &mut problems);
        for p in problems {
            failures.push(format!("{name}: {p}"));
        }
    }
    assert!(
        failures.is_empty(),
        "conformance failures:\n{}",
        failures.join("\n")
    );
}

/// A single upsert by external id answers with the keys of a captured Collections UpsertResult,
/// for both transcript objects (created and updated alike).
#[tokio::test]
async fn transcript_upserts_answer_with_the_recorded_upsert_result_keys() {
    let recorded = captured_keys("collections_upsert_created.json");
    let org = TestOrg::start().await;
    for (sobject, field, body_field) in [
        ("Task", "Chat_Transcript_Key__c", "Description"),
        ("Chat_Transcript__c", "Key__c", "Body__c"),
    ] {
        let path = format!("/sobjects/{sobject}/{field}/respondio%3A42%3A1");
        for (text, status) in [("first", 201), ("second", 200)] {
            let r = org
                .api("PATCH", &path, Some(json!({body_field: text})))
                .await;
            assert_eq!(r.status, status, "{sobject}: {}", r.body);
            assert_eq!(keys(&r.body), recorded, "{sobject} {text}");
        }
    }
}
