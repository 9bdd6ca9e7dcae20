//! respond.io: `x-webhook-signature` = base64 HMAC-SHA256 of the raw body with the webhook's
//! signing key (one key per webhook, so a tenant has several). Dedupe on `event_id`, else on a
//! hash of the body.

use super::{
    Accepted, Inbound, ParseError, Parsed, VerifyError, body_hash, same, scalar, unix_time,
};
use crate::secret::Secret;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "x-webhook-signature";

/// The header value respond.io would send for `body`.
pub fn sign(key: &str, body: &[u8]) -> String {
    STANDARD.encode(mac(key, body))
}

fn mac(key: &str, body: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    m.update(body);
    m.finalize().into_bytes().to_vec()
}

pub(super) fn verify(secrets: &[Secret], inbound: &Inbound) -> Result<(), VerifyError> {
    let header = inbound
        .header(SIGNATURE_HEADER)
        .ok_or(VerifyError::Missing("x-webhook-signature"))?;
    let given = STANDARD
        .decode(header.trim())
        .map_err(|_| VerifyError::Malformed("signature is not base64"))?;
    if secrets
        .iter()
        .any(|k| same(&mac(k.expose(), inbound.body), &given))
    {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

pub(super) fn parse(v: &serde_json::Value, body: &[u8]) -> Result<Parsed, ParseError> {
    let topic = v
        .get("event_type")
        .and_then(|t| t.as_str())
        .ok_or(ParseError::Field("event_type"))?
        .to_owned();
    let delivery_id = scalar(v.get("event_id")).unwrap_or_else(|| body_hash(body));
    // respond.io keeps one conversation per contact, so the contact orders the queue.
    let conversation_key = scalar(v.pointer("/contact/id"))
        .map(|id| format!("contact:{id}"))
        .unwrap_or_else(|| "unknown".into());
    let occurred_at = unix_time(v.get("timestamp"))
        .or_else(|| unix_time(v.pointer("/message/timestamp")))
        .or_else(|| unix_time(v.pointer("/conversation/closedTime")));
    Ok(Parsed::Accepted(Accepted {
        delivery_id,
        topic,
        conversation_key,
        occurred_at,
        events: Vec::new(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::{Platform, parse as read, verify as check};
    use http::HeaderMap;
    use time::OffsetDateTime;

    const BODY: &[u8] = br#"{"event_type":"message.received","timestamp":1700000000123,"contact":{"id":42,"firstName":"Ada"},"message":{"traffic":"incoming","message":{"type":"text","text":"hi"}}}"#;

    fn inbound<'a>(h: &'a HeaderMap, body: &'a [u8]) -> Inbound<'a> {
        Inbound {
            headers: h,
            query_token: None,
            body,
            now: OffsetDateTime::now_utc(),
            tidio_tolerance_seconds: 300,
        }
    }

    #[test]
    fn any_of_the_tenants_signing_keys_verifies() {
        let mut h = HeaderMap::new();
        h.insert("x-webhook-signature", sign("key-2", BODY).parse().unwrap());
        let keys = [Secret::new("key-1"), Secret::new("key-2")];
        assert_eq!(
            check(Platform::RespondIo, &keys, &inbound(&h, BODY)),
            Ok(())
        );
        assert_eq!(
            check(Platform::RespondIo, &keys[..1], &inbound(&h, BODY)),
            Err(VerifyError::Mismatch)
        );
        h.insert("x-webhook-signature", "***".parse().unwrap());
        assert!(matches!(
            check(Platform::RespondIo, &keys, &inbound(&h, BODY)),
            Err(VerifyError::Malformed(_))
        ));
    }

    #[test]
    fn without_event_id_the_body_hash_dedupes() {
        let e = read(Platform::RespondIo, BODY).unwrap().accepted().unwrap();
        assert_eq!(e.delivery_id, body_hash(BODY));
        assert_eq!(e.conversation_key, "contact:42");
        assert_eq!(e.occurred_at.unwrap().unix_timestamp(), 1_700_000_000);
        let with_id =
            br#"{"event_type":"conversation.closed","event_id":"e-9","contact":{"id":1}}"#;
        assert_eq!(
            read(Platform::RespondIo, with_id)
                .unwrap()
                .accepted()
                .unwrap()
                .delivery_id,
            "e-9"
        );
    }
}
