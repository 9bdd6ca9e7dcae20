//! Salesforce record ids: 15-character case-sensitive ids with a 3-character case-safe suffix.
//!
//! The suffix encodes, for each 5-character chunk, which characters are upper case, so that an
//! 18-character id survives case-insensitive systems. Clients compare ids, so the emulator must
//! produce and check the suffix exactly as Salesforce does.

const SUFFIX_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The case-safe suffix of a 15-character id.
fn suffix(id15: &[u8]) -> String {
    let mut out = String::with_capacity(3);
    for chunk in id15.chunks(5) {
        let mut bits = 0usize;
        for (i, c) in chunk.iter().enumerate() {
            if c.is_ascii_uppercase() {
                bits |= 1 << i;
            }
        }
        out.push(char::from(
            SUFFIX_ALPHABET.get(bits).copied().unwrap_or(b'A'),
        ));
    }
    out
}

/// Builds an 18-character id: key prefix, a fixed pod/instance part, and a base-62 serial.
pub(crate) fn make_id(prefix: &str, serial: u64) -> String {
    // 15 = 3 prefix + 3 instance ("5g0") + 9 serial digits.
    let mut digits = [b'0'; 9];
    let mut n = serial;
    for slot in digits.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    let mut id15 = String::with_capacity(18);
    id15.push_str(prefix);
    id15.push_str("5g0");
    id15.push_str(std::str::from_utf8(&digits).unwrap_or("000000000"));
    let sfx = suffix(id15.as_bytes());
    id15.push_str(&sfx);
    id15
}

/// Normalises a 15- or 18-character id to 18 characters; None when it is not a well-formed id.
pub(crate) fn normalize(id: &str) -> Option<String> {
    if !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    match id.len() {
        15 => Some(format!("{id}{}", suffix(id.as_bytes()))),
        18 => {
            let (head, tail) = id.split_at(15);
            // The suffix is case-insensitive by design; the 15-character head is not.
            if suffix(head.as_bytes()).eq_ignore_ascii_case(tail) {
                Some(format!("{head}{}", suffix(head.as_bytes())))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// The 3-character key prefix of a well-formed id.
pub(crate) fn prefix_of(id: &str) -> &str {
    id.get(..3).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_real_id_round_trips() {
        // A real 18-character id from a recorded org response.
        assert_eq!(
            normalize("0015500001QdQWf").as_deref(),
            Some("0015500001QdQWfAAN")
        );
        assert!(normalize("0015500001QdQWfAAN").is_some());
        assert!(normalize("0015500001QdQWfAAX").is_none());
        assert!(normalize("not-an-id").is_none());
    }

    #[test]
    fn generated_ids_are_valid_and_distinct() {
        let a = make_id("00Q", 1);
        let b = make_id("00Q", 2);
        assert_eq!(a.len(), 18);
        assert_ne!(a, b);
        assert_eq!(normalize(&a).as_deref(), Some(a.as_str()));
        assert_eq!(prefix_of(&a), "00Q");
    }
}
