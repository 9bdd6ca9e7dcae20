//! Webhooks as each platform sends them, signed with the receiver's secret, so a test drives
//! "agent replies in Tidio" and the delivery arrives as Tidio would send it:
//! - Intercom: `X-Hub-Signature: sha1=<hex HMAC-SHA1 of the body, keyed with the app's client
//!   secret>` (<https://developers.intercom.com/docs/references/webhooks/webhook-models>);
//! - Tidio: `x-tidio-signature: t=<unix>,s=<hex HMAC-SHA256 of "<body>_<t>">` and
//!   `user-agent: Tidio Webhook` (<https://developers.tidio.com/docs/webhooks-signature-verification>);
//! - respond.io: `x-webhook-signature: <base64 HMAC-SHA256 of the body>` (the signing key of
//!   the webhook; see ../shared/reference/chat-webhooks.md §3.1);
//! - CloudCX: unsigned; the receiver's URL carries its token.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;

fn mac<M: Mac + KeyInit>(key: &str, data: &[u8]) -> Result<Vec<u8>, String> {
    let mut m = <M as KeyInit>::new_from_slice(key.as_bytes()).map_err(|e| e.to_string())?;
    m.update(data);
    Ok(m.finalize().into_bytes().to_vec())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The headers `platform` sends with `body`, signed with `secret` at `now` (UNIX seconds).
pub(crate) fn headers(
    platform: &str,
    secret: &str,
    body: &[u8],
    now: i64,
) -> Result<Vec<(&'static str, String)>, String> {
    let json = ("content-type", "application/json".to_owned());
    Ok(match platform {
        "intercom" => vec![
            json,
            (
                "x-hub-signature",
                format!("sha1={}", hex(&mac::<Hmac<sha1::Sha1>>(secret, body)?)),
            ),
        ],
        "tidio" => {
            let mut signed = body.to_vec();
            signed.extend_from_slice(format!("_{now}").as_bytes());
            let s = hex(&mac::<Hmac<sha2::Sha256>>(secret, &signed)?);
            vec![
                json,
                ("user-agent", "Tidio Webhook".to_owned()),
                ("x-tidio-signature", format!("t={now},s={s}")),
            ]
        }
        "respondio" => vec![
            json,
            (
                "x-webhook-signature",
                base64::engine::general_purpose::STANDARD
                    .encode(mac::<Hmac<sha2::Sha256>>(secret, body)?),
            ),
        ],
        "cloudcx" => vec![json],
        other => return Err(format!("unknown platform {other:?}")),
    })
}

/// Posts `payload` to `url` as `platform` would; the receiver's status and body.
pub(crate) async fn send(
    platform: &str,
    url: &str,
    secret: &str,
    payload: &Value,
) -> Result<(u16, String), String> {
    let body = serde_json::to_vec(payload).map_err(|e| e.to_string())?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut request = reqwest::Client::new().post(url).body(body.clone());
    for (name, value) in headers(platform, secret, &body, now)? {
        request = request.header(name, value);
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("POST {url}: {e}"))?;
    let status = response.status().as_u16();
    Ok((status, response.text().await.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_each_platforms_own() {
        let body = br#"{"a":1}"#;
        let h = headers("intercom", "k", body, 0).unwrap();
        assert!(
            h.iter()
                .any(|(n, v)| *n == "x-hub-signature" && v.starts_with("sha1=") && v.len() == 45)
        );
        let h = headers("tidio", "k", body, 1_700_000_000).unwrap();
        let sig = &h.iter().find(|(n, _)| *n == "x-tidio-signature").unwrap().1;
        assert!(sig.starts_with("t=1700000000,s=") && sig.len() == "t=1700000000,s=".len() + 64);
        let h = headers("respondio", "k", body, 0).unwrap();
        assert_eq!(
            h.iter()
                .find(|(n, _)| *n == "x-webhook-signature")
                .unwrap()
                .1
                .len(),
            44
        );
        assert!(headers("slack", "k", body, 0).is_err());
    }
}
