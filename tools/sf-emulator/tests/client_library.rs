//! A real Salesforce client library against the emulator: simple-salesforce (PyPI), run by the
//! venv's Python through `tools/python/simple_salesforce_check.py`, logs in with a token from the
//! emulator's OAuth endpoint and creates, queries (subquery, parent lookup, paging), gets, updates,
//! deletes and asks for updated and deleted records, checking every answer's shape.
//!
//! Its own target, not part of `it`: it starts a child process and needs the venv `make` installs
//! (`make test` does; `make unit` runs no Python). A missing venv or library fails the test.

use serde_json::{Value, json};
use sf_emulator::{API_VERSION, Emulator, EmulatorConfig};
use std::path::PathBuf;
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../python/simple_salesforce_check.py"
);

/// The venv `make` installs tools/python/requirements.txt into (`$CHATSYNC_VENV`, else the
/// Makefile's default).
fn venv_python() -> PathBuf {
    let venv = std::env::var_os("CHATSYNC_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
            PathBuf::from(home).join(".cache/chatsync/venv")
        });
    venv.join("bin").join("python")
}

fn form(pairs: &[(&str, &str)]) -> String {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test]
async fn simple_salesforce_works_against_the_emulator() {
    let python = venv_python();
    assert!(
        python.exists(),
        "no Python at {}: install the venv with `make venv` (make test does), or set CHATSYNC_VENV",
        python.display()
    );

    // Two records a page, so three live Contacts take query_all over two pages.
    let config = EmulatorConfig {
        query_batch_size: 2,
        ..EmulatorConfig::default()
    };
    let (client_id, client_secret, refresh_token) = (
        config.client_id.clone(),
        config.client_secret.clone(),
        config.initial_refresh_token.clone(),
    );
    let emulator = Emulator::new(config).expect("emulator config is valid");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free port");
    let base = sf_emulator::spawn(listener, emulator.clone()).expect("server starts");

    // Contacts changed ten minutes ago, and one deleted then: inside the half hour the script asks
    // Get Updated and Get Deleted about, and before their latestDateCovered.
    let then = (OffsetDateTime::now_utc() - time::Duration::minutes(10))
        .format(&Rfc3339)
        .expect("a timestamp formats");
    let seeded = emulator
        .seed(&json!({"Contact": [
            {"LastName": "Earlier", "CreatedDate": then, "LastModifiedDate": then},
            {"LastName": "Earliest", "CreatedDate": then, "LastModifiedDate": then},
            {"LastName": "Binned", "CreatedDate": then, "LastModifiedDate": then, "IsDeleted": true},
        ]}))
        .expect("seed is accepted");
    let ids: Vec<&str> = seeded["Contact"]
        .as_array()
        .expect("seeded Contact ids")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let [old_a, old_b, binned] = ids[..] else {
        panic!("three seeded Contacts expected: {seeded}");
    };

    // Log in as a client does: the refresh-token grant at the OAuth token endpoint.
    let login = reqwest::Client::new()
        .post(format!("{base}/services/oauth2/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("grant_type", "refresh_token"),
            ("client_id", &client_id),
            ("client_secret", &client_secret),
            ("refresh_token", &refresh_token),
        ]))
        .send()
        .await
        .expect("the token endpoint answers");
    assert_eq!(login.status(), 200, "refresh-token grant refused");
    let session: Value = login.json().await.expect("token answer is JSON");
    let token = session["access_token"].as_str().expect("access_token");
    let instance_url = session["instance_url"].as_str().expect("instance_url");
    assert_eq!(instance_url, base);

    let run = tokio::process::Command::new(&python)
        .arg(SCRIPT)
        .args(["--instance-url", instance_url])
        .args(["--session-id", token])
        .args(["--version", API_VERSION])
        .args(["--old-contact", old_a, "--old-contact", old_b])
        .args(["--deleted-contact", binned])
        // No __pycache__ beside the script in the clone.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .kill_on_drop(true)
        .output();
    // A bound on a hung run, not a wait for anything: the script takes well under a second.
    let out = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the simple-salesforce check finished within 120 s")
        .unwrap_or_else(|e| panic!("starting {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the simple-salesforce check failed ({}):\n{stderr}{stdout}",
        out.status
    );
    assert!(
        stdout.contains("simple-salesforce ok") && stdout.contains("over 2 page(s)"),
        "unexpected summary: {stdout}{stderr}"
    );
    println!("{}", stdout.trim_end());
}
