//! Salesforce date and dateTime text: parsing what clients send, rendering what the API returns
//! (`2011-07-07T00:37:00.000+0000`).

use std::sync::atomic::{AtomicI64, Ordering};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Renders a timestamp the way the REST API does.
pub(crate) fn render(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// Last stamp handed out, in Unix milliseconds (shared by every org in the process).
static LAST_STAMP_MS: AtomicI64 = AtomicI64::new(0);

/// The time the org stamps a save with: the clock at millisecond precision, moved one millisecond
/// past the previous stamp when two saves fall in the same millisecond. Audit dates then always
/// advance on an update, and CreatedDate orders records in the order they were made.
pub(crate) fn now_utc() -> OffsetDateTime {
    let real = i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(i64::MAX);
    let next = |last: i64| real.max(last.saturating_add(1));
    let previous = LAST_STAMP_MS
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(next(last)))
        .unwrap_or_else(|last| last);
    let ms = next(previous);
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or_else(|_| OffsetDateTime::now_utc())
}

pub(crate) fn now() -> String {
    render(now_utc())
}

fn num(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses `YYYY-MM-DD`.
pub(crate) fn parse_date(s: &str) -> Option<Date> {
    let mut parts = s.split('-');
    let y = parts.next().filter(|p| p.len() == 4).and_then(num)?;
    let m = parts.next().filter(|p| p.len() == 2).and_then(num)?;
    let d = parts.next().filter(|p| p.len() == 2).and_then(num)?;
    if parts.next().is_some() {
        return None;
    }
    let month = Month::try_from(u8::try_from(m).ok()?).ok()?;
    Date::from_calendar_date(i32::try_from(y).ok()?, month, u8::try_from(d).ok()?).ok()
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.sss](Z|±HH:MM|±HHMM)`.
pub(crate) fn parse_datetime(s: &str) -> Option<OffsetDateTime> {
    let (date_part, rest) = s.split_once('T')?;
    let date = parse_date(date_part)?;
    let (clock, offset) = if let Some(c) = rest.strip_suffix('Z') {
        (c, UtcOffset::UTC)
    } else {
        let pos = rest.rfind(['+', '-'])?;
        let (c, off) = rest.split_at(pos);
        let sign: i8 = if off.starts_with('-') { -1 } else { 1 };
        let digits: String = off.chars().skip(1).filter(|c| *c != ':').collect();
        if digits.len() != 4 {
            return None;
        }
        let h = num(digits.get(..2)?)?;
        let m = num(digits.get(2..)?)?;
        let h = i8::try_from(h).ok()?;
        let m = i8::try_from(m).ok()?;
        (c, UtcOffset::from_hms(sign * h, sign * m, 0).ok()?)
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (clock, None),
    };
    let mut it = hms.split(':');
    let h = it.next().filter(|p| p.len() == 2).and_then(num)?;
    let mi = it.next().filter(|p| p.len() == 2).and_then(num)?;
    let se = it.next().filter(|p| p.len() == 2).and_then(num)?;
    if it.next().is_some() {
        return None;
    }
    let millis = match frac {
        Some(f) if !f.is_empty() && f.len() <= 9 => {
            let padded = format!("{f:0<3}");
            num(padded.get(..3)?)?
        }
        Some(_) => return None,
        None => 0,
    };
    let time = Time::from_hms_milli(
        u8::try_from(h).ok()?,
        u8::try_from(mi).ok()?,
        u8::try_from(se).ok()?,
        u16::try_from(millis).ok()?,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

/// Normalises a client-sent dateTime to the API's rendering.
pub(crate) fn normalize_datetime(s: &str) -> Option<String> {
    parse_datetime(s).map(render)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_renders() {
        assert_eq!(
            normalize_datetime("2024-03-01T10:00:00Z").as_deref(),
            Some("2024-03-01T10:00:00.000+0000")
        );
        assert_eq!(
            normalize_datetime("2024-03-01T10:00:00.5+01:00").as_deref(),
            Some("2024-03-01T09:00:00.500+0000")
        );
        assert!(parse_datetime("2024-13-01T10:00:00Z").is_none());
        assert!(parse_date("2024-02-30").is_none());
        assert!(parse_date("2024-02-29").is_some());
    }

    #[test]
    fn stamps_always_advance() {
        let stamps: Vec<OffsetDateTime> = (0..50).map(|_| now_utc()).collect();
        assert!(stamps.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(stamps[0].nanosecond() % 1_000_000, 0);
    }
}
