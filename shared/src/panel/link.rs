//! The web panel's links: `/panel/{tenant}/{platform}/{contact}?expires={unix}&sig={hex}`,
//! where `sig` is the hex HMAC-SHA256 of `panel\n{tenant}\n{platform}\n{contact}\n{expires}`
//! keyed with the tenant's `panel_link_key`. Whoever holds a link sees that one customer's
//! panel until it expires; nothing else.

use crate::secret::Secret;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use time::OffsetDateTime;

/// How long a link the chat writer puts on a contact lasts (it is renewed with each write).
pub const LINK_DAYS: i64 = 30;

fn keyed(key: &str, tenant: &str, platform: &str, contact: &str, expires: i64) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    m.update(format!("panel\n{tenant}\n{platform}\n{contact}\n{expires}").as_bytes());
    m
}

/// The path and query of a link valid until `expires` (unix seconds).
pub fn sign(key: &Secret, tenant: &str, platform: &str, contact: &str, expires: i64) -> String {
    let sig = hex::encode(
        keyed(key.expose(), tenant, platform, contact, expires)
            .finalize()
            .into_bytes(),
    );
    format!(
        "/panel/{tenant}/{platform}/{}?expires={expires}&sig={sig}",
        urlencode(contact)
    )
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Why a link is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the link has no expiry or signature")]
    Missing,
    #[error("the link expired")]
    Expired,
    #[error("the link's signature is not the tenant's")]
    Mismatch,
}

/// Checks a link's `expires` and `sig` (constant-time) against any of `keys` at `now`.
pub fn verify(
    keys: &[Secret],
    tenant: &str,
    platform: &str,
    contact: &str,
    expires: Option<&str>,
    sig: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), LinkError> {
    let (Some(expires), Some(sig)) = (expires, sig) else {
        return Err(LinkError::Missing);
    };
    let expires: i64 = expires.parse().map_err(|_| LinkError::Missing)?;
    let given = hex::decode(sig).map_err(|_| LinkError::Mismatch)?;
    let signed = keys.iter().any(|k| {
        keyed(k.expose(), tenant, platform, contact, expires)
            .verify_slice(&given)
            .is_ok()
    });
    if !signed {
        return Err(LinkError::Mismatch);
    }
    if expires <= now.unix_timestamp() {
        return Err(LinkError::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_opens_its_one_customer_until_it_expires() {
        let key = Secret::new("panel-key");
        let now = OffsetDateTime::from_unix_timestamp(1_767_225_600).expect("time");
        let expires = now.unix_timestamp() + 60;
        let link = sign(&key, "demo", "tidio", "c 1", expires);
        assert!(
            link.starts_with("/panel/demo/tidio/c%201?expires="),
            "{link}"
        );
        let sig = link.rsplit_once("sig=").map(|(_, s)| s.to_owned());
        let e = expires.to_string();
        let check = |contact: &str, at: OffsetDateTime| {
            verify(
                std::slice::from_ref(&key),
                "demo",
                "tidio",
                contact,
                Some(&e),
                sig.as_deref(),
                at,
            )
        };
        assert_eq!(check("c 1", now), Ok(()));
        assert_eq!(check("c 2", now), Err(LinkError::Mismatch));
        assert_eq!(
            check("c 1", now + time::Duration::seconds(61)),
            Err(LinkError::Expired)
        );
        let later = (expires + 3600).to_string();
        assert_eq!(
            verify(
                &[key],
                "demo",
                "tidio",
                "c 1",
                Some(&later),
                sig.as_deref(),
                now
            ),
            Err(LinkError::Mismatch),
            "a longer expiry is not the signed one"
        );
        assert_eq!(
            verify(&[], "demo", "tidio", "c 1", None, None, now),
            Err(LinkError::Missing)
        );
    }
}
