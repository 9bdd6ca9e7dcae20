//! `If-Unmodified-Since` on sObject Rows (REST API Developer Guide, "Conditional Request Headers"):
//! a write (or read) of a record changed after the given HTTP-date is refused with 412 Precondition
//! Failed and not processed; an invalid header value on PATCH or POST is a 400. The comparison is
//! weak: the record's LastModifiedDate, cut to the second an HTTP-date can express.

use crate::datetime;
use crate::errors::ApiError;
use crate::store::Record;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

pub(crate) const HEADER: &str = "If-Unmodified-Since";

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn month(name: &str) -> Option<Month> {
    let i = MONTHS.iter().position(|m| *m == name)?;
    Month::try_from(u8::try_from(i + 1).ok()?).ok()
}

fn clock(hms: &str) -> Option<Time> {
    let mut parts = hms.split(':');
    let mut next = || -> Option<u8> {
        let p = parts.next().filter(|p| p.len() == 2)?;
        p.parse().ok()
    };
    let (h, m, s) = (next()?, next()?, next()?);
    if parts.next().is_some() {
        return None;
    }
    Time::from_hms(h, m, s).ok()
}

fn at(year: i32, month_name: &str, day: &str, hms: &str) -> Option<OffsetDateTime> {
    let day: u8 = day.parse().ok()?;
    let date = Date::from_calendar_date(year, month(month_name)?, day).ok()?;
    Some(PrimitiveDateTime::new(date, clock(hms)?).assume_utc())
}

/// Parses an HTTP-date (RFC 9110 §5.6.7): IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, and the
/// obsolete RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`)
/// forms recipients must still accept. The weekday is not checked against the date.
pub(crate) fn parse_http_date(text: &str) -> Option<OffsetDateTime> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    match parts.as_slice() {
        [wd, day, mon, year, hms, "GMT"] if wd.ends_with(',') && day.len() == 2 => {
            let year = year.parse().ok().filter(|_| year.len() == 4)?;
            at(year, mon, day, hms)
        }
        [wd, dmy, hms, "GMT"] if wd.ends_with(',') => {
            let mut it = dmy.split('-');
            let (day, mon, yy) = (it.next()?, it.next()?, it.next()?);
            if it.next().is_some() || yy.len() != 2 || day.len() != 2 {
                return None;
            }
            // Two-digit years more than 50 years ahead mean the previous century.
            let yy: i32 = yy.parse().ok()?;
            let now = OffsetDateTime::now_utc().year();
            let mut year = now - now.rem_euclid(100) + yy;
            if year > now + 50 {
                year -= 100;
            }
            at(year, mon, day, hms)
        }
        [_, mon, day, hms, year] => {
            let year = year.parse().ok().filter(|_| year.len() == 4)?;
            at(year, mon, day, hms)
        }
        _ => None,
    }
}

/// The 400 for a header that is not an HTTP-date. Salesforce documents the status, not the body;
/// this one follows its MALFORMED_* codes for unreadable input and names the header.
pub(crate) fn malformed(value: &str) -> ApiError {
    ApiError::new(
        400,
        "MALFORMED_HEADER",
        format!("{HEADER}: invalid HTTP-date: {value}"),
    )
}

/// The 412. Salesforce documents only "412 Precondition Failed … the request isn't processed"; no
/// body has been published. This is the error-array shape every REST error uses, with the code
/// Salesforce's own APIs send with 412 (`PRECONDITION_FAILED`, as the Agent API answers it).
pub(crate) fn precondition_failed(since: &str) -> ApiError {
    ApiError::new(
        412,
        "PRECONDITION_FAILED",
        format!("The requested resource has been modified since {since}"),
    )
}

/// Parses a raw header value; `Err` is the 400 to answer.
pub(crate) fn parse(value: &str) -> Result<OffsetDateTime, ApiError> {
    parse_http_date(value.trim()).ok_or_else(|| malformed(value))
}

/// Whether `record` may be written under `If-Unmodified-Since: raw`: Err(412) when it was modified
/// after that second, Err(400) when the header is not a date.
pub(crate) fn check(record: &Record, raw: &str) -> Result<(), ApiError> {
    let since = parse(raw)?;
    let modified = record
        .get("LastModifiedDate")
        .as_str()
        .or_else(|| record.get("SystemModstamp").as_str())
        .and_then(datetime::parse_datetime);
    let Some(modified) = modified else {
        return Ok(());
    };
    let modified_second = modified.replace_nanosecond(0).unwrap_or(modified);
    if modified_second > since {
        return Err(precondition_failed(raw.trim()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn reads_all_three_http_date_forms() {
        let want = datetime!(1994-11-06 08:49:37 UTC);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(want));
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(want));
        assert_eq!(
            parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"),
            Some(want)
        );
        for bad in [
            "",
            "yesterday",
            "2024-01-01T00:00:00Z",
            "Sun, 06 Nov 1994 08:49:37 CET",
            "Sun, 31 Feb 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:49:37 GMT",
            "Sun, 6 Nov 1994 08:49:37 GMT",
        ] {
            assert!(parse_http_date(bad).is_none(), "{bad:?}");
        }
    }
}
