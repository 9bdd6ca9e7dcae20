//! CloudCX documents no signature, so the tenant's webhook URL carries a secret token
//! (`?token=` or `Authorization: Bearer`), compared in constant time. No event id either:
//! dedupe on a hash of the body.

use super::{Accepted, Inbound, ParseError, Parsed, VerifyError, body_hash, same, scalar};
use crate::secret::Secret;

pub(super) fn verify(secrets: &[Secret], inbound: &Inbound) -> Result<(), VerifyError> {
    let bearer = inbound
        .header("authorization")
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim);
    let token = inbound.query_token.or(bearer).ok_or(VerifyError::Missing(
        "token (query ?token= or Authorization: Bearer)",
    ))?;
    if secrets
        .iter()
        .any(|s| same(s.expose().as_bytes(), token.as_bytes()))
    {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

pub(super) fn parse(v: &serde_json::Value, body: &[u8]) -> Result<Parsed, ParseError> {
    let topic = v
        .get("event")
        .and_then(|t| t.as_str())
        .ok_or(ParseError::Field("event"))?
        .to_owned();
    let conversation_key = scalar(v.get("ticketId"))
        .map(|id| format!("ticket:{id}"))
        .or_else(|| scalar(v.get("sessionId")).map(|id| format!("session:{id}")))
        .or_else(|| scalar(v.get("visitorId")).map(|id| format!("visitor:{id}")))
        .or_else(|| {
            v.get("contacts")
                .and_then(|c| c.get(0))
                .and_then(|c| scalar(c.get("id")))
                .map(|id| format!("contact:{id}"))
        })
        .unwrap_or_else(|| "unknown".into());
    Ok(Parsed::Accepted(Accepted {
        delivery_id: body_hash(body),
        topic,
        conversation_key,
        occurred_at: None,
        events: Vec::new(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::{Platform, parse as read, verify as check};
    use http::HeaderMap;
    use time::OffsetDateTime;

    const BODY: &[u8] = br#"{"event":"TicketCreated","ticketId":"T-77"}"#;

    fn inbound<'a>(h: &'a HeaderMap, token: Option<&'a str>) -> Inbound<'a> {
        Inbound {
            headers: h,
            query_token: token,
            body: BODY,
            now: OffsetDateTime::now_utc(),
            tidio_tolerance_seconds: 300,
        }
    }

    #[test]
    fn the_url_token_or_bearer_authenticates() {
        let secrets = [Secret::new("tok")];
        let h = HeaderMap::new();
        assert_eq!(
            check(Platform::CloudCx, &secrets, &inbound(&h, Some("tok"))),
            Ok(())
        );
        assert_eq!(
            check(Platform::CloudCx, &secrets, &inbound(&h, Some("tok2"))),
            Err(VerifyError::Mismatch)
        );
        assert!(matches!(
            check(Platform::CloudCx, &secrets, &inbound(&h, None)),
            Err(VerifyError::Missing(_))
        ));
        let mut h = HeaderMap::new();
        h.insert("authorization", "Bearer tok".parse().unwrap());
        assert_eq!(
            check(Platform::CloudCx, &secrets, &inbound(&h, None)),
            Ok(())
        );
    }

    #[test]
    fn the_envelope_keys_on_the_ticket_and_hashes_the_body() {
        let e = read(Platform::CloudCx, BODY).unwrap().accepted().unwrap();
        assert_eq!(e.topic, "TicketCreated");
        assert_eq!(e.conversation_key, "ticket:T-77");
        assert_eq!(e.delivery_id.len(), 64);
    }
}
