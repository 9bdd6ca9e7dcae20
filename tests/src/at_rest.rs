//! What rests in the local stack, read back as an attacker with the operator's keys would:
//! every item of every table (compressed payloads inflated) and every message any queue was
//! sent, searched for values that must never be stored in clear.

use aws_sdk_dynamodb::types::AttributeValue;
use chatsync_local::stack::Plan;
use std::io::Read;

/// What a scan read and found.
#[derive(Debug, Default)]
pub struct Scan {
    pub items: usize,
    pub messages: usize,
    /// Where each needle was found in clear: `(place, needle)`.
    pub found: Vec<(String, String)>,
}

/// Reads every table (but those named in `skip`: say why at the call) and queue.
pub async fn in_clear(
    sdk: &aws_config::SdkConfig,
    plan: &Plan,
    needles: &[String],
    skip: &[&str],
) -> Scan {
    let mut found = Vec::new();
    let (mut items, mut messages) = (0, 0);
    let mut check = |place: String, text: &str| {
        for n in needles {
            if text.contains(n.as_str()) {
                found.push((place.clone(), n.clone()));
            }
        }
    };
    let dynamo = aws_sdk_dynamodb::Client::new(sdk);
    for table in plan
        .tables
        .iter()
        .filter(|t| !skip.contains(&t.logical_id.as_str()))
    {
        let mut start = None;
        loop {
            let out = dynamo
                .scan()
                .table_name(&table.name)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan");
            for item in out.items() {
                let mut text = String::new();
                for (k, v) in item {
                    text.push_str(k);
                    text.push('=');
                    render(v, &mut text);
                    text.push('\n');
                }
                check(format!("table {}", table.logical_id), &text);
                items += 1;
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
    }
    // Every message any queue was ever sent (moto keeps them all, delivered or not, in its
    // model data), not only those waiting now: a message in flight is invisible to a receive.
    for body in every_message(&plan.settings.endpoint).await {
        check("a queue message".into(), &body);
        messages += 1;
    }
    found.sort();
    found.dedup();
    Scan {
        items,
        messages,
        found,
    }
}

fn render(v: &AttributeValue, out: &mut String) {
    match v {
        AttributeValue::S(s) | AttributeValue::N(s) => out.push_str(s),
        AttributeValue::B(b) => out.push_str(&inflate(b.as_ref())),
        AttributeValue::Ss(list) | AttributeValue::Ns(list) => out.push_str(&list.join(" ")),
        AttributeValue::L(list) => list.iter().for_each(|v| {
            render(v, out);
            out.push(' ');
        }),
        AttributeValue::M(map) => map.iter().for_each(|(k, v)| {
            out.push_str(k);
            out.push('=');
            render(v, out);
            out.push(' ');
        }),
        _ => {}
    }
}

/// A gzip member inflated; other bytes as text.
fn inflate(bytes: &[u8]) -> String {
    let mut text = String::new();
    if bytes.starts_with(&[0x1f, 0x8b])
        && flate2::read::GzDecoder::new(bytes)
            .read_to_string(&mut text)
            .is_ok()
    {
        return text;
    }
    String::from_utf8_lossy(bytes).into_owned()
}

/// The bodies of every SQS message moto was sent, from its model data (`/moto-api/data.json`).
async fn every_message(endpoint: &str) -> Vec<String> {
    let data: serde_json::Value = reqwest::get(format!("{endpoint}/moto-api/data.json"))
        .await
        .expect("moto's model data")
        .json()
        .await
        .expect("moto's model data is JSON");
    data["sqs"]["Message"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|m| m["body"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
