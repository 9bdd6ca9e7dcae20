//! Tidio: `x-tidio-signature: t=<ts>,s=<hex>[,s=<hex>…]`, HMAC-SHA256 of `body + "_" + t`, hex;
//! any `s` may match (rotation). `t` outside the tenant's tolerance window is refused.
//! Dedupe on `webhook_id`.

use super::{Accepted, Inbound, ParseError, Parsed, VerifyError, same, scalar, unix_time};
use crate::secret::Secret;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "x-tidio-signature";

/// The header value Tidio would send for `body` signed at unix time `t`.
pub fn sign(secret: &str, body: &[u8], t: i64) -> String {
    format!("t={t},s={}", hex::encode(mac(secret, body, &t.to_string())))
}

fn mac(secret: &str, body: &[u8], t: &str) -> Vec<u8> {
    let mut m =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    m.update(body);
    m.update(b"_");
    m.update(t.as_bytes());
    m.finalize().into_bytes().to_vec()
}

pub(super) fn verify(secrets: &[Secret], inbound: &Inbound) -> Result<(), VerifyError> {
    let header = inbound
        .header(SIGNATURE_HEADER)
        .ok_or(VerifyError::Missing("x-tidio-signature"))?;
    let mut t = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) if t.is_none() => t = Some(v),
            Some(("s", v)) => {
                signatures.push(hex::decode(v).map_err(|_| VerifyError::Malformed("s is not hex"))?)
            }
            _ => return Err(VerifyError::Malformed("expected t=<ts>,s=<hex>[,s=<hex>]")),
        }
    }
    let t = t.ok_or(VerifyError::Malformed("no t= timestamp"))?;
    let ts: i64 = t
        .parse()
        .map_err(|_| VerifyError::Malformed("t is not a unix timestamp"))?;
    if signatures.is_empty() {
        return Err(VerifyError::Malformed("no s= signature"));
    }
    let skew = inbound.now.unix_timestamp().saturating_sub(ts);
    if skew.unsigned_abs() > inbound.tidio_tolerance_seconds {
        return Err(VerifyError::Stale {
            skew_seconds: skew,
            tolerance_seconds: inbound.tidio_tolerance_seconds,
        });
    }
    let matched = secrets.iter().any(|secret| {
        let expected = mac(secret.expose(), inbound.body, t);
        signatures.iter().any(|s| same(&expected, s))
    });
    if matched {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

pub(super) fn parse(v: &serde_json::Value) -> Result<Parsed, ParseError> {
    let delivery_id = scalar(v.get("webhook_id")).ok_or(ParseError::Field("webhook_id"))?;
    let topic = v
        .get("topic")
        .and_then(|t| t.as_str())
        .ok_or(ParseError::Field("topic"))?
        .to_owned();
    let content = v.get("content");
    let pick = |key: &str| content.and_then(|c| scalar(c.get(key)));
    let conversation_key = pick("conversation_id")
        .map(|id| format!("conversation:{id}"))
        .or_else(|| pick("ticket_id").map(|id| format!("ticket:{id}")))
        .or_else(|| pick("contact_id").map(|id| format!("contact:{id}")))
        .or_else(|| {
            content
                .and_then(|c| c.get("contact"))
                .and_then(|c| scalar(c.get("id")))
                .map(|id| format!("contact:{id}"))
        })
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

    const BODY: &[u8] = br#"{"created_at":1700000000,"project_public_key":"pk","topic":"contact.created","version":1,"webhook_id":"4a1c0e56-2d8e-4c55-9a7e-0c2f5d1e7a10","content":{"contact_id":"c-1"}}"#;

    fn at(ts: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(ts).unwrap()
    }

    fn inbound<'a>(h: &'a HeaderMap, body: &'a [u8], now: i64) -> Inbound<'a> {
        Inbound {
            headers: h,
            query_token: None,
            body,
            now: at(now),
            tidio_tolerance_seconds: 300,
        }
    }

    #[test]
    fn the_signature_covers_body_underscore_timestamp() {
        let header = sign("sec", BODY, 1_700_000_000);
        let mut h = HeaderMap::new();
        h.insert("x-tidio-signature", header.parse().unwrap());
        assert_eq!(
            check(
                Platform::Tidio,
                &[Secret::new("sec")],
                &inbound(&h, BODY, 1_700_000_010)
            ),
            Ok(())
        );
        // The same MAC with the timestamp changed does not verify.
        let forged = header.replace("t=1700000000", "t=1700000001");
        h.insert("x-tidio-signature", forged.parse().unwrap());
        assert_eq!(
            check(
                Platform::Tidio,
                &[Secret::new("sec")],
                &inbound(&h, BODY, 1_700_000_010)
            ),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn any_of_several_signatures_may_match() {
        let good = sign("new", BODY, 1_700_000_000);
        let s_new = good.split_once(",s=").unwrap().1;
        let mut h = HeaderMap::new();
        h.insert(
            "x-tidio-signature",
            format!("t=1700000000,s={},s={s_new}", "ab".repeat(32))
                .parse()
                .unwrap(),
        );
        assert_eq!(
            check(
                Platform::Tidio,
                &[Secret::new("new")],
                &inbound(&h, BODY, 1_700_000_000)
            ),
            Ok(())
        );
    }

    #[test]
    fn stale_and_future_timestamps_are_refused() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-tidio-signature",
            sign("sec", BODY, 1_700_000_000).parse().unwrap(),
        );
        let secrets = [Secret::new("sec")];
        assert!(matches!(
            check(Platform::Tidio, &secrets, &inbound(&h, BODY, 1_700_000_301)),
            Err(VerifyError::Stale { .. })
        ));
        assert!(matches!(
            check(Platform::Tidio, &secrets, &inbound(&h, BODY, 1_699_999_600)),
            Err(VerifyError::Stale { .. })
        ));
    }

    #[test]
    fn malformed_headers_are_refused() {
        let secrets = [Secret::new("sec")];
        for bad in [
            "s=00",
            "t=1700000000",
            "t=x,s=00",
            "t=1700000000,s=zz",
            "garbage",
        ] {
            let mut h = HeaderMap::new();
            h.insert("x-tidio-signature", bad.parse().unwrap());
            assert!(
                matches!(
                    check(Platform::Tidio, &secrets, &inbound(&h, BODY, 1_700_000_000)),
                    Err(VerifyError::Malformed(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_envelope_uses_webhook_id() {
        let e = read(Platform::Tidio, BODY).unwrap().accepted().unwrap();
        assert_eq!(e.delivery_id, "4a1c0e56-2d8e-4c55-9a7e-0c2f5d1e7a10");
        assert_eq!(e.topic, "contact.created");
        assert_eq!(e.conversation_key, "contact:c-1");
    }
}
