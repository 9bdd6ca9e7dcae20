//! Intercom: `X-Hub-Signature: sha1=<hex>`, HMAC-SHA1 of the raw body keyed with the app's
//! client secret; dedupe on the notification `id`; `ping` is a probe.

use super::{Accepted, Inbound, ParseError, Parsed, VerifyError, same, scalar, unix_time};
use crate::secret::Secret;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

pub const SIGNATURE_HEADER: &str = "x-hub-signature";

/// The header value Intercom would send for `body`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    format!("sha1={}", hex::encode(mac(secret, body)))
}

fn mac(secret: &str, body: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    m.update(body);
    m.finalize().into_bytes().to_vec()
}

pub(super) fn verify(secrets: &[Secret], inbound: &Inbound) -> Result<(), VerifyError> {
    let header = inbound
        .header(SIGNATURE_HEADER)
        .ok_or(VerifyError::Missing("X-Hub-Signature"))?;
    let hex_sig = header
        .trim()
        .strip_prefix("sha1=")
        .ok_or(VerifyError::Malformed(
            "X-Hub-Signature must start with sha1=",
        ))?;
    let given = hex::decode(hex_sig).map_err(|_| VerifyError::Malformed("signature is not hex"))?;
    if secrets
        .iter()
        .any(|s| same(&mac(s.expose(), inbound.body), &given))
    {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

pub(super) fn parse(v: &serde_json::Value) -> Result<Parsed, ParseError> {
    let topic = v
        .get("topic")
        .and_then(|t| t.as_str())
        .ok_or(ParseError::Field("topic"))?
        .to_owned();
    if topic == "ping" {
        return Ok(Parsed::Ping);
    }
    let delivery_id = scalar(v.get("id")).ok_or(ParseError::Field("id"))?;
    let item = v
        .pointer("/data/item")
        .ok_or(ParseError::Field("data.item"))?;
    // Conversation topics carry the conversation; contact topics order by the contact.
    let conversation_key = match item.get("type").and_then(|t| t.as_str()) {
        Some("conversation") => scalar(item.get("id")).map(|id| format!("conversation:{id}")),
        _ => scalar(item.get("conversation_id"))
            .map(|id| format!("conversation:{id}"))
            .or_else(|| scalar(item.get("id")).map(|id| format!("contact:{id}"))),
    }
    .unwrap_or_else(|| "unknown".into());
    Ok(Parsed::Accepted(Accepted {
        delivery_id,
        topic,
        conversation_key,
        occurred_at: unix_time(v.get("created_at")),
        events: Vec::new(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::{Platform, parse as read, verify as check};
    use http::HeaderMap;
    use time::OffsetDateTime;

    const BODY: &[u8] = br#"{"type":"notification_event","app_id":"abc","id":"notif_1","topic":"conversation.user.created","created_at":1700000000,"data":{"type":"notification_event_data","item":{"type":"conversation","id":"123"}}}"#;

    fn inbound<'a>(headers: &'a HeaderMap, body: &'a [u8]) -> Inbound<'a> {
        Inbound {
            headers,
            query_token: None,
            body,
            now: OffsetDateTime::now_utc(),
            tidio_tolerance_seconds: 300,
        }
    }

    #[test]
    fn a_body_signed_with_the_client_secret_verifies() {
        let mut h = HeaderMap::new();
        h.insert("X-Hub-Signature", sign("s3cret", BODY).parse().unwrap());
        assert_eq!(
            check(
                Platform::Intercom,
                &[Secret::new("s3cret")],
                &inbound(&h, BODY)
            ),
            Ok(())
        );
        // Rotation: the second secret matches.
        assert_eq!(
            check(
                Platform::Intercom,
                &[Secret::new("old"), Secret::new("s3cret")],
                &inbound(&h, BODY)
            ),
            Ok(())
        );
    }

    #[test]
    fn a_known_vector_matches() {
        // HMAC-SHA1("key", "The quick brown fox jumps over the lazy dog"), RFC 2104 test vector.
        assert_eq!(
            sign("key", b"The quick brown fox jumps over the lazy dog"),
            "sha1=de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9"
        );
    }

    #[test]
    fn wrong_missing_or_malformed_signatures_are_refused() {
        let secrets = [Secret::new("s3cret")];
        let mut h = HeaderMap::new();
        assert_eq!(
            check(Platform::Intercom, &secrets, &inbound(&h, BODY)),
            Err(VerifyError::Missing("X-Hub-Signature"))
        );
        h.insert("X-Hub-Signature", sign("other", BODY).parse().unwrap());
        assert_eq!(
            check(Platform::Intercom, &secrets, &inbound(&h, BODY)),
            Err(VerifyError::Mismatch)
        );
        h.insert("X-Hub-Signature", "sha256=00".parse().unwrap());
        assert!(matches!(
            check(Platform::Intercom, &secrets, &inbound(&h, BODY)),
            Err(VerifyError::Malformed(_))
        ));
        h.insert("X-Hub-Signature", "sha1=zz".parse().unwrap());
        assert!(matches!(
            check(Platform::Intercom, &secrets, &inbound(&h, BODY)),
            Err(VerifyError::Malformed(_))
        ));
        // A body changed after signing no longer verifies.
        h.insert("X-Hub-Signature", sign("s3cret", BODY).parse().unwrap());
        let tampered = [BODY, b" "].concat();
        assert_eq!(
            check(Platform::Intercom, &secrets, &inbound(&h, &tampered)),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn the_envelope_names_delivery_topic_and_conversation() {
        let e = read(Platform::Intercom, BODY).unwrap().accepted().unwrap();
        assert_eq!(e.delivery_id, "notif_1");
        assert_eq!(e.topic, "conversation.user.created");
        assert_eq!(e.conversation_key, "conversation:123");
        assert_eq!(e.occurred_at.unwrap().unix_timestamp(), 1_700_000_000);
    }

    #[test]
    fn ping_is_a_probe_without_an_id() {
        let body = br#"{"type":"notification_event","topic":"ping","id":null,"data":{"item":{"type":"ping","message":"something something interzen"}}}"#;
        assert_eq!(read(Platform::Intercom, body), Ok(Parsed::Ping));
    }

    #[test]
    fn a_notification_without_id_is_refused() {
        let body = br#"{"topic":"conversation.user.created","data":{"item":{}}}"#;
        assert_eq!(read(Platform::Intercom, body), Err(ParseError::Field("id")));
    }
}
