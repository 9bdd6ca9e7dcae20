//! Salesforce's dateTime values as chatsync reads them.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Salesforce dateTime: `2024-05-01T12:00:00.000+0000` (the REST form), or RFC 3339.
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    // `+0000` → `+00:00`.
    let split = s.len().checked_sub(5)?;
    let (head, offset) = (s.get(..split)?, s.get(split..)?);
    let (sign, digits) = offset.split_at_checked(1)?;
    if !matches!(sign, "+" | "-") || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = digits.split_at_checked(2)?;
    OffsetDateTime::parse(&format!("{head}{sign}{h}:{m}"), &Rfc3339).ok()
}

/// A time as a request parameter: RFC 3339 in UTC, seconds precision (`2024-05-01T12:00:00Z`).
pub fn render(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salesforce_datetimes_parse() {
        let t = parse("2024-05-01T12:00:00.000+0000").unwrap();
        assert_eq!(t.unix_timestamp(), 1_714_564_800);
        let t = parse("2024-05-01T14:00:00.000+0200").unwrap();
        assert_eq!(t.unix_timestamp(), 1_714_564_800);
        assert!(parse("2024-05-01T12:00:00Z").is_some());
        for bad in [
            "",
            "+0000",
            "2024-05-01",
            "2024-05-01T12:00:00.000+00x0",
            "ü+0000",
        ] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
    }
}
