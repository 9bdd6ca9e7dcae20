//! Plain-text tables for a terminal, and the `--since` argument.

use time::{Duration, OffsetDateTime, UtcOffset};

/// Terminal width: `COLUMNS` when the shell exports it, else a common default.
pub(crate) fn width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|&c: &usize| c >= 40)
        .unwrap_or(120)
}

/// `2024-05-01 10:00:00` in UTC: a table needs the second, not the microsecond.
pub(crate) fn time(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    at.to_offset(UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| shared::rfc3339(at))
}

/// One line of at most `max` characters: newlines folded, an ellipsis where it was cut.
pub(crate) fn fit(text: &str, max: usize) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= max {
        return line;
    }
    let mut cut: String = line.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Rows padded to their columns' widths; the last column takes what is left of `width` and is
/// cut to fit. Widths count characters, which is right for the ASCII the other columns hold.
pub(crate) fn render(header: &[&str], rows: &[Vec<String>], width: usize) -> String {
    let fixed = header.len().saturating_sub(1);
    let mut widths: Vec<usize> = header[..fixed].iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let used: usize = widths.iter().map(|w| w + 2).sum();
    // The last column keeps a readable minimum even on a narrow terminal.
    let last = width.saturating_sub(used).max(24);
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (i, cell) in cells.enumerate() {
            if i < fixed {
                let pad = widths[i].saturating_sub(cell.chars().count());
                out.push_str(cell);
                out.push_str(&" ".repeat(pad + 2));
            } else {
                out.push_str(&fit(cell, last));
            }
        }
        out.trim_end().to_owned()
    };
    let mut out = line(&mut header.iter().copied());
    for row in rows {
        out.push('\n');
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

/// `--since`: a duration back from now (`90s`, `30m`, `2h`, `1d`, `1w`) or an RFC 3339 time.
pub(crate) fn parse_since(text: &str) -> Result<OffsetDateTime, String> {
    since(text, OffsetDateTime::now_utc())
}

fn since(text: &str, now: OffsetDateTime) -> Result<OffsetDateTime, String> {
    let bad = || format!("{text:?} is neither a duration like 2h, 1d, 30m nor an RFC 3339 time");
    if let Ok(at) = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339) {
        return Ok(at);
    }
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().map_err(|_| bad())?;
    let unit_seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(bad()),
    };
    // Checked: `Duration::days` and friends panic on overflow.
    let back = n.checked_mul(unit_seconds).ok_or_else(bad)?;
    now.checked_sub(Duration::seconds(back)).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn since_takes_durations_back_from_now_and_rfc3339_times() {
        let now = datetime!(2024-05-02 12:00 UTC);
        assert_eq!(since("2h", now), Ok(datetime!(2024-05-02 10:00 UTC)));
        assert_eq!(since("1d", now), Ok(datetime!(2024-05-01 12:00 UTC)));
        assert_eq!(since("30m", now), Ok(datetime!(2024-05-02 11:30 UTC)));
        assert_eq!(
            since("2024-05-01T08:00:00+02:00", now),
            Ok(datetime!(2024-05-01 06:00 UTC))
        );
        for bad in [
            "",
            "h",
            "2",
            "2y",
            "-2h",
            "yesterday",
            "99999999999999999999d",
            "999999999999999d",
        ] {
            assert!(since(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_last_column_is_cut_to_the_width_and_others_are_aligned() {
        let rows = vec![
            vec!["a".to_owned(), "short".to_owned()],
            vec!["longer".to_owned(), "x ".repeat(100)],
        ];
        let text = render(&["K", "REASON"], &rows, 40);
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines[0], "K       REASON");
        assert_eq!(lines[1], "a       short");
        assert!(lines[2].starts_with("longer  x x"));
        assert_eq!(lines[2].chars().count(), 40);
        assert!(lines[2].ends_with('…'));
    }

    #[test]
    fn fit_folds_lines_and_cuts_on_characters() {
        assert_eq!(fit("a\nb  c", 10), "a b c");
        assert_eq!(fit("ééééé", 3), "éé…");
    }
}
