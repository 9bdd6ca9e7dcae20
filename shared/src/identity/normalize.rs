//! Normalisation of identity fields for matching.
//!
//! Every function here is total: it takes any text a platform or Salesforce may hold and
//! returns the canonical form, or `None` when the text is not usable as that kind of key.
//! Nothing here panics, whatever the input. Two visitors match on a key only when their
//! canonical forms are equal, so each function errs towards refusing junk that many people
//! share (placeholders, `noreply@`, `0000000`) over guessing.

use std::collections::HashSet;
use std::sync::OnceLock;

use phonenumber::country::Id as Region;
use phonenumber::{Mode, PhoneNumber};

// ---------------------------------------------------------------------------------------------
// E-mail
// ---------------------------------------------------------------------------------------------

/// The longest address a mailbox can have (RFC 5321 path limit less the angle brackets).
const MAX_EMAIL: usize = 254;
const MAX_LOCAL: usize = 64;
const MAX_DOMAIN: usize = 253;
const MAX_LABEL: usize = 63;

/// Local parts that many unrelated people "share": matching on them would attach strangers'
/// conversations to one record.
const SHARED_LOCAL_PARTS: &[&str] = &[
    "noreply",
    "no-reply",
    "no_reply",
    "donotreply",
    "do-not-reply",
    "do_not_reply",
    "mailer-daemon",
];

/// Top-level domains that can never deliver mail (RFC 2606 / RFC 6761 reserved names).
const UNDELIVERABLE_TLDS: &[&str] = &["invalid", "local", "localhost", "localdomain"];

/// Trimmed, lower-cased and validated e-mail address; None when it is not one.
///
/// Accepts a `mailto:` prefix (and drops a `?subject=…` query after it) and one pair of
/// enclosing angle brackets. Requires exactly one `@`, a local part of at most 64 characters
/// without spaces, leading/trailing or doubled dots, and a domain of at least two valid labels
/// whose top level is not numeric. Refuses shared no-reply mailboxes and reserved,
/// undeliverable top-level domains (`.invalid`, `.local`, `.localhost`).
pub fn email(raw: &str) -> Option<String> {
    let mut s = raw.trim();
    if let Some(rest) = strip_prefix_ci(s, "mailto:") {
        s = rest.split('?').next().unwrap_or_default().trim();
    }
    if let Some(inner) = s.strip_prefix('<').and_then(|r| r.strip_suffix('>')) {
        s = inner.trim();
    }
    let e = s.to_lowercase();
    if e.is_empty() || e.chars().count() > MAX_EMAIL {
        return None;
    }
    let (local, domain) = e.split_once('@')?;
    if domain.contains('@') || !valid_local(local) || !valid_domain(domain) {
        return None;
    }
    if SHARED_LOCAL_PARTS.contains(&local) {
        return None;
    }
    Some(e)
}

fn valid_local(local: &str) -> bool {
    const SPECIALS: &str = "!#$%&'*+/=?^_`{|}~.-";
    !local.is_empty()
        && local.chars().count() <= MAX_LOCAL
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || SPECIALS.contains(c))
}

/// A lower-case host name of at least two labels, each 1–63 letters, digits or inner hyphens,
/// with a top level that is not all digits (so no IPv4 literals) and not reserved.
fn valid_domain(domain: &str) -> bool {
    if domain.is_empty() || domain.chars().count() > MAX_DOMAIN {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let labels_ok = labels.iter().all(|l| {
        !l.is_empty()
            && l.chars().count() <= MAX_LABEL
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    });
    let tld_ok = labels.last().is_some_and(|tld| {
        tld.chars().count() >= 2
            && !tld.chars().all(|c| c.is_ascii_digit())
            && !UNDELIVERABLE_TLDS.contains(tld)
    });
    labels_ok && tld_ok
}

// ---------------------------------------------------------------------------------------------
// Phone
// ---------------------------------------------------------------------------------------------

/// Longest phone text read at all: beyond this it is a note, not a number.
const MAX_PHONE_INPUT: usize = 64;
/// Digits after removing formatting: fewer cannot be a subscriber number anywhere…
const MIN_PHONE_DIGITS: usize = 6;
/// …and more cannot be E.164 (15 digits) even behind a four-digit international prefix.
const MAX_PHONE_DIGITS: usize = 19;
/// Longest extension accepted (and dropped) after the number.
const MAX_EXTENSION_DIGITS: usize = 10;

/// E.164 (`+14155550123`) read with `default_region` when the number has no country code;
/// extensions dropped. None when it is not a valid number.
///
/// Reads spaces, dashes, dots, slashes and brackets as formatting, a `tel:` prefix, a
/// `+44 (0)20…` optional trunk zero, a leading `+` or `00`, the region's own international
/// prefix (`011` in the US) and its national trunk prefix (`020 7946 0958` in GB). Drops an
/// extension written `x123`, `ext. 5`, `extension 5`, `#5` or `;ext=7`. Refuses letters
/// anywhere else, and placeholder numbers whose national digits are all one digit or a
/// running sequence (`0000000`, `1234567890`).
///
/// `default_region` is an ISO 3166 code, any case. When it is empty or unknown, only numbers
/// with a `+` or `00` prefix are read.
///
/// Validity: a number is accepted when libphonenumber's metadata says it is valid **or** when
/// its national number merely has a length that the metadata allows for its country code.
/// The looser second rule is deliberate: matching compares the full E.164 string, so a number
/// that is only "possible" still matches nothing but the same digits, while requiring strict
/// validity would drop numbers that real records hold: the fictional 555-01xx numbers in our
/// samples and tests, and new number ranges the bundled metadata does not know yet. A wrong
/// length, an unknown country code or junk digits is still refused.
pub fn phone(raw: &str, default_region: &str) -> Option<String> {
    let digits = match written(raw)? {
        Written::International(e) => return e,
        Written::National(digits) => digits,
    };
    // Read with the region (its own international and trunk prefixes) and, for a leading
    // `00` (the international prefix in most of the world, read as `+` also where the region's
    // own differs, as US `011`, or where no region is known), as `+`. A valid reading beats a
    // merely possible one; between equals the region's reading wins. So Brazil's
    // "0055 11 98765 4321" is +55 11…, not carrier code 55 dialling +1 198….
    let with_region = region(default_region).and_then(|r| e164(Some(r), &digits));
    let with_plus = digits
        .strip_prefix("00")
        .and_then(|rest| e164(None, &format!("+{rest}")));
    match (with_region, with_plus) {
        (Some((_, false)), Some((p, true))) => Some(p),
        (Some((e, _)), _) | (None, Some((e, _))) => Some(e),
        (None, None) => None,
    }
}

/// `raw` read as a number written in `region` (the visitor's own country), only when that
/// reading is valid there (not merely possible): a French visitor's `06 12 34 56 78` is
/// +33612345678 whatever the tenant's default region. A `+` number reads as [`phone`] does.
pub fn phone_in(raw: &str, region_code: &str) -> Option<String> {
    match written(raw)? {
        Written::International(e) => e,
        Written::National(digits) => e164(Some(region(region_code)?), &digits)
            .filter(|(_, valid)| *valid)
            .map(|(e, _)| e),
    }
}

/// How a phone text is written, once its formatting, `tel:`, `(0)` and extension are gone.
enum Written {
    /// `+digits`: read already (None when not a number).
    International(Option<String>),
    /// Digits without `+`, for a region to read.
    National(String),
}

/// The common reading of [`phone`] and [`phone_in`]; None for text that is no phone at all.
fn written(raw: &str) -> Option<Written> {
    let raw = raw.trim();
    if raw.is_empty() || raw.chars().count() > MAX_PHONE_INPUT {
        return None;
    }
    let raw = strip_prefix_ci(raw, "tel:").unwrap_or(raw).trim();
    let main = drop_extension(raw)?;
    let (plus, digits) = phone_digits(&main.replace("(0)", ""))?;
    if !(MIN_PHONE_DIGITS..=MAX_PHONE_DIGITS).contains(&digits.len()) {
        return None;
    }
    // Only `+digits` or `digits` ever reach the parser: its free-text paths have had
    // fuzz-found panics upstream, and release builds abort on a panic.
    Some(if plus {
        Written::International(e164(None, &format!("+{digits}")).map(|(e, _)| e))
    } else {
        Written::National(digits)
    })
}

/// The digits of a phone text no numbering plan reads (formatting dropped), for matching it
/// against the very same digits and nothing else: respond.io users write `12 3456` where
/// Salesforce has `123456`. None for text that is not digits and formatting, or too short or
/// long to be a number.
pub fn bare_digits(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.chars().count() > MAX_PHONE_INPUT {
        return None;
    }
    let (_, digits) = phone_digits(&drop_extension(raw)?.replace("(0)", ""))?;
    (MIN_PHONE_DIGITS..=MAX_PHONE_DIGITS)
        .contains(&digits.len())
        .then_some(digits)
        .filter(|d| !is_placeholder(d))
}

/// The region's id from an ISO 3166 code in any case; None when libphonenumber has no such
/// region.
fn region(code: &str) -> Option<Region> {
    let code = code.trim().to_ascii_uppercase();
    if code.len() != 2 {
        return None;
    }
    code.parse().ok()
}

/// The number part of a phone text without its extension; None when what follows the number
/// is not an extension (letters, notes, a second number).
fn drop_extension(s: &str) -> Option<&str> {
    let Some(at) = s
        .char_indices()
        .find(|&(_, c)| c.is_alphabetic() || matches!(c, '#' | ';' | ',' | '~'))
        .map(|(i, _)| i)
    else {
        return Some(s);
    };
    let main = s.get(..at)?;
    let tail = s.get(at..)?.trim().to_lowercase();
    // Longest marker first, so "extension" is not read as "ext" + "ension".
    const MARKERS: &[&str] = &[
        ";ext=",
        ";ext",
        "extension",
        "ext.",
        "ext:",
        "ext",
        "x.",
        "x",
        "#",
        ",",
        "~",
    ];
    let rest = MARKERS.iter().find_map(|m| tail.strip_prefix(m))?;
    let ext = rest.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '.' | ':' | '='));
    let ext = ext.trim_end_matches('#').trim_end();
    let ext_ok = !ext.is_empty()
        && ext.len() <= MAX_EXTENSION_DIGITS
        && ext.chars().all(|c| c.is_ascii_digit());
    ext_ok.then_some(main)
}

/// Whether the text starts with `+`, and its digits; None when it holds anything but digits
/// and formatting (spaces, dashes, dots, slashes, brackets), or a `+` after the start.
fn phone_digits(s: &str) -> Option<(bool, String)> {
    let mut plus = false;
    let mut digits = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if digits.is_empty() && !plus => plus = true,
            '-' | '.' | '/' | '(' | ')' | '[' | ']' => {}
            // Unicode dashes (hyphen, non-breaking hyphen, figure dash, en and em dash, minus).
            '\u{2010}'..='\u{2015}' | '\u{2212}' => {}
            c if c.is_whitespace() => {}
            _ => return None,
        }
    }
    Some((plus, digits))
}

/// The E.164 form of what libphonenumber reads from `+digits` or `digits`, when it is an
/// acceptable number (see [`phone`]), and whether it is valid (not only possible).
fn e164(region: Option<Region>, s: &str) -> Option<(String, bool)> {
    let n = phonenumber::parse(region, s).ok()?;
    let code = n.code().value();
    let e = n.format().mode(Mode::E164).to_string();
    let national = e.strip_prefix('+')?.strip_prefix(&code.to_string())?;
    if national.is_empty() || is_placeholder(national) {
        return None;
    }
    if n.is_valid() {
        Some((e, true))
    } else {
        has_possible_length(&n, national).then_some((e, false))
    }
}

/// Whether the national number's length is one the metadata allows for the number's region
/// (the one its leading digits select, else the main region of its country code: for `+1`
/// the US, whose numbers are ten digits).
fn has_possible_length(n: &PhoneNumber, national: &str) -> bool {
    let Ok(len) = u16::try_from(national.len()) else {
        return false;
    };
    let db = &*phonenumber::metadata::DATABASE;
    let meta = match n.country().id() {
        Some(id) => db.by_id(id.as_ref()),
        None => db.by_code(&n.code().value()).and_then(|metas| {
            metas
                .iter()
                .find(|m| m.is_main_country_for_code())
                .or(metas.first())
                .copied()
        }),
    };
    meta.is_some_and(|m| {
        let d = m.descriptors();
        // The bundled metadata keeps possible lengths on each number type rather than on
        // the general descriptor, so any type's lengths count.
        [
            Some(d.general()),
            d.fixed_line(),
            d.mobile(),
            d.toll_free(),
            d.premium_rate(),
            d.shared_cost(),
            d.personal_number(),
            d.voip(),
            d.pager(),
            d.uan(),
            d.voicemail(),
        ]
        .into_iter()
        .flatten()
        .any(|t| t.possible_length().contains(&len))
    })
}

/// One digit repeated, or a run of consecutive digits up or down: typed to fill a field.
fn is_placeholder(national: &str) -> bool {
    let d: Vec<u8> = national.bytes().collect();
    let same = d.windows(2).all(|w| w.first() == w.get(1));
    let up = d
        .windows(2)
        .all(|w| matches!((w.first(), w.get(1)), (Some(a), Some(b)) if *b == a + 1 || (*a == b'9' && *b == b'0')));
    let down = d
        .windows(2)
        .all(|w| matches!((w.first(), w.get(1)), (Some(a), Some(b)) if *a == b + 1));
    same || up || down
}

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

/// Lower-case particles that belong to the surname ("Ludwig van Beethoven").
const SURNAME_PARTICLES: &[&str] = &[
    "van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "dos", "das", "do", "la",
    "le", "ter", "ten", "zu", "bin", "binti", "ibn", "al", "el", "st.",
];

/// Generational and academic suffixes kept with the surname ("King Jr.").
const NAME_SUFFIXES: &[&str] = &[
    "jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "phd", "ph.d.", "md", "m.d.", "esq", "esq.",
];

/// "Ada Lovelace" → (Some("Ada"), Some("Lovelace")); a single word is a last name.
///
/// Trims and collapses whitespace. "Lovelace, Ada" (surname first, with a comma) →
/// (Ada, Lovelace), unless what follows the comma is a suffix ("King, Jr."). Otherwise the
/// last word is the surname, together with the lower-case particles written just before it
/// and a generational suffix after it: "Ludwig van Beethoven" → (Ludwig, van Beethoven),
/// "Martin Luther King Jr." → (Martin Luther, King Jr.). A particle is only taken when a
/// first name is left, and only lower-case as written ("Van Morrison" → (Van, Morrison)).
/// Empty or whitespace-only → (None, None).
pub fn split_name(full: &str) -> (Option<String>, Option<String>) {
    let words: Vec<&str> = full.split_whitespace().collect();
    if words.is_empty() {
        return (None, None);
    }
    let joined = words.join(" ");
    if let Some((last, first)) = joined.split_once(',') {
        let (last, first) = (last.trim(), first.trim().trim_start_matches(',').trim());
        if !NAME_SUFFIXES.contains(&first.to_lowercase().as_str()) {
            return match (non_empty(first), non_empty(last)) {
                (f, Some(l)) => (f, Some(l)),
                // ", Ada": nothing before the comma; the one name left is the last name.
                (Some(f), None) => split_name(&f),
                (None, None) => (None, None),
            };
        }
        // "Martin Luther King, Jr.": drop the comma and split as usual.
        return split_name(&joined.replace(',', " "));
    }
    let mut surname_start = words.len().saturating_sub(1);
    let is_suffix = |w: &str| NAME_SUFFIXES.contains(&w.to_lowercase().as_str());
    if words.len() >= 3 && words.last().is_some_and(|w| is_suffix(w)) {
        surname_start = surname_start.saturating_sub(1);
    }
    while surname_start > 1
        && words
            .get(surname_start - 1)
            .is_some_and(|w| SURNAME_PARTICLES.contains(w))
    {
        surname_start -= 1;
    }
    let first = words.get(..surname_start).map(|w| w.join(" "));
    let last = words.get(surname_start..).map(|w| w.join(" "));
    (
        first.and_then(|f| non_empty(&f)),
        last.and_then(|l| non_empty(&l)),
    )
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

// ---------------------------------------------------------------------------------------------
// Domains and companies
// ---------------------------------------------------------------------------------------------

/// A bare lower-case domain from a domain or URL; None when it is not one.
///
/// "https://www.Example.com/path" → "example.com": drops the scheme, user info, port, path,
/// query and fragment, a trailing dot and one leading "www.", then checks what is left as a
/// host name of at least two labels (IP addresses, `localhost` and spaces are refused).
pub fn domain(raw: &str) -> Option<String> {
    let s = raw.trim().to_lowercase();
    let s = match s.split_once("://") {
        Some((_, rest)) => rest,
        None => s.strip_prefix("//").unwrap_or(&s),
    };
    let host = s.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = host.split(':').next().unwrap_or_default();
    let host = host.strip_suffix('.').unwrap_or(host);
    let host = host.strip_prefix("www.").unwrap_or(host);
    valid_domain(host).then(|| host.to_owned())
}

/// The maintained free-mail list (see the file's header for its form).
const FREE_MAIL_LIST: &str = include_str!("free_mail.txt");

struct FreeMail {
    exact: HashSet<&'static str>,
    /// First labels of `brand.*` entries.
    brands: HashSet<&'static str>,
}

fn free_mail() -> &'static FreeMail {
    static LIST: OnceLock<FreeMail> = OnceLock::new();
    LIST.get_or_init(|| {
        let mut exact = HashSet::new();
        let mut brands = HashSet::new();
        for line in FREE_MAIL_LIST.lines() {
            let entry = line.split('#').next().unwrap_or_default().trim();
            if entry.is_empty() {
                continue;
            }
            match entry.strip_suffix(".*") {
                Some(brand) => brands.insert(brand),
                None => exact.insert(entry),
            };
        }
        FreeMail { exact, brands }
    })
}

/// Whether `domain` is a free-mail provider (gmail.com, outlook.com, …).
///
/// Looks the domain up (any case, a trailing dot ignored) in the maintained list
/// `free_mail.txt`: exactly, or as `brand.suffix` for a `brand.*` entry, where the suffix is
/// one or two labels of at most three letters each (yahoo.fr, hotmail.co.uk, live.com.mx).
pub fn is_free_mail(domain: &str) -> bool {
    let d = domain.trim().to_ascii_lowercase();
    let d = d.strip_suffix('.').unwrap_or(&d);
    let list = free_mail();
    if list.exact.contains(d) {
        return true;
    }
    let Some((brand, suffix)) = d.split_once('.') else {
        return false;
    };
    let labels: Vec<&str> = suffix.split('.').collect();
    list.brands.contains(brand)
        && (1..=2).contains(&labels.len())
        && labels
            .iter()
            .all(|l| (2..=3).contains(&l.len()) && l.chars().all(|c| c.is_ascii_alphabetic()))
}

/// Company names that say nothing ("n/a", "-", "none"…), compared lower-case.
const PLACEHOLDER_COMPANIES: &[&str] = &[
    "-",
    "--",
    ".",
    "?",
    "n/a",
    "na",
    "n.a.",
    "none",
    "null",
    "nil",
    "unknown",
    "not provided",
    "[not provided]",
    "private",
    "self",
    "self-employed",
    "individual",
    "test",
];

/// The company name: the platform's company field, else the e-mail domain unless free-mail.
///
/// The company field is trimmed and its whitespace collapsed; placeholders ("n/a", "-",
/// "none", "unknown"…) count as no company. The e-mail is normalised with [`email`] first,
/// so an invalid address gives no company either.
pub fn company(platform_company: Option<&str>, email: Option<&str>) -> Option<String> {
    if let Some(c) = platform_company {
        let c = c.split_whitespace().collect::<Vec<_>>().join(" ");
        if !c.is_empty() && !PLACEHOLDER_COMPANIES.contains(&c.to_lowercase().as_str()) {
            return Some(c);
        }
    }
    let e = self::email(email?)?;
    let (_, domain) = e.rsplit_once('@')?;
    (!is_free_mail(domain)).then(|| domain.to_owned())
}

/// `s` without a case-insensitive ASCII `prefix`.
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(raw: &str, region: &str) -> Option<String> {
        phone(raw, region)
    }
    fn some(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    // ---- e-mail -------------------------------------------------------------------------

    #[test]
    fn email_is_trimmed_and_lower_cased() {
        assert_eq!(
            email("  Jane.Doe@Example.COM \t\n"),
            some("jane.doe@example.com")
        );
        assert_eq!(email("JANE@ACME.CO.UK"), some("jane@acme.co.uk"));
        assert_eq!(
            email("\u{a0}jane@example.com\u{a0}"),
            some("jane@example.com")
        );
    }

    #[test]
    fn email_strips_mailto_and_brackets() {
        assert_eq!(email("mailto:Jane@Example.com"), some("jane@example.com"));
        assert_eq!(
            email("MAILTO:jane@example.com?subject=Hi"),
            some("jane@example.com")
        );
        assert_eq!(email("<jane@example.com>"), some("jane@example.com"));
    }

    #[test]
    fn email_keeps_plus_tags_and_special_local_characters() {
        assert_eq!(
            email("jane+chat@example.com"),
            some("jane+chat@example.com")
        );
        assert_eq!(email("o'brien@example.ie"), some("o'brien@example.ie"));
        assert_eq!(
            email("first_last-1@sub.example.org"),
            some("first_last-1@sub.example.org")
        );
        assert_eq!(email("josé@exämple.de"), some("josé@exämple.de"));
    }

    #[test]
    fn email_refuses_malformed_addresses() {
        for junk in [
            "",
            "   ",
            "jane",
            "@example.com",
            "jane@",
            "jane@example",
            "jane@@example.com",
            "jane@ex@ample.com",
            "jane doe@example.com",
            "jane@exa mple.com",
            ".jane@example.com",
            "jane.@example.com",
            "ja..ne@example.com",
            "jane@example..com",
            "jane@-example.com",
            "jane@example-.com",
            "jane@example.c",
            "jane@192.168.1.1",
            "jane@example.com.",
            "jane(at)example.com",
            "n/a",
            "none",
            "mailto:",
            "jane@exam_ple.com",
            "<jane@example.com",
        ] {
            assert_eq!(email(junk), None, "{junk:?} should be refused");
        }
    }

    #[test]
    fn email_refuses_shared_and_undeliverable_mailboxes() {
        assert_eq!(email("noreply@example.com"), None);
        assert_eq!(email("No-Reply@Example.com"), None);
        assert_eq!(email("donotreply@shop.example.com"), None);
        assert_eq!(email("jane@host.invalid"), None);
        assert_eq!(email("jane@printer.local"), None);
        assert_eq!(email("root@localhost"), None);
    }

    #[test]
    fn email_refuses_over_long_parts() {
        let local = "a".repeat(65);
        assert_eq!(email(&format!("{local}@example.com")), None);
        let label = "b".repeat(64);
        assert_eq!(email(&format!("jane@{label}.com")), None);
        let long = format!("{}@example.com", "a.".repeat(130));
        assert_eq!(email(&long), None);
        let ok = format!("{}@example.com", "a".repeat(64));
        assert_eq!(email(&ok), Some(ok.clone()));
    }

    // ---- phone: United States -----------------------------------------------------------

    #[test]
    fn phone_us_formats_agree() {
        let want = some("+15551211212");
        for raw in [
            "(555) 121-1212",
            "555-121-1212",
            "555.121.1212",
            "5551211212",
            "+1 555 121 1212",
            "+1 (555) 121-1212",
            "1 555 121 1212",
            "1-555-121-1212",
            "001 555 121 1212",
            "+1\u{2011}555\u{2011}121\u{2011}1212",
        ] {
            assert_eq!(p(raw, "US"), want, "{raw:?}");
        }
    }

    #[test]
    fn phone_us_fictional_555_01xx_numbers_match() {
        // Our samples use 555-01xx numbers, which libphonenumber calls invalid: they must
        // still normalise, and the same way from every format.
        assert_eq!(p("+1 (555) 010-0123", "US"), some("+15550100123"));
        assert_eq!(p("555-010-0002", "US"), some("+15550100002"));
        assert_eq!(p("5550100002", "US"), p("+1 555 010 0002", "GB"));
        assert_eq!(p("+1 (555) 010-0001", ""), some("+15550100001"));
    }

    #[test]
    fn phone_us_real_number_and_idd() {
        assert_eq!(p("(212) 555-0100", "US"), some("+12125550100"));
        // The US international prefix 011 and the common 00 both read as +.
        assert_eq!(p("011 44 20 7946 0958", "US"), some("+442079460958"));
        assert_eq!(p("0044 20 7946 0958", "US"), some("+442079460958"));
    }

    #[test]
    fn phone_us_wrong_lengths_are_refused() {
        assert_eq!(
            p("121-1212", "US"),
            None,
            "7-digit local number has no area code"
        );
        assert_eq!(p("+1 555 0100", "US"), None);
        assert_eq!(p("555 121 12120", "US"), None);
    }

    // ---- phone: extensions ----------------------------------------------------------------

    #[test]
    fn phone_extensions_are_dropped() {
        let want = some("+12125550100");
        for raw in [
            "212-555-0100 x123",
            "212-555-0100x123",
            "212-555-0100 X 123",
            "212-555-0100 ext. 5",
            "212-555-0100 Ext 5",
            "212-555-0100 extension 5",
            "212-555-0100;ext=7",
            "tel:+1-212-555-0100;ext=7",
            "212-555-0100 #12",
            "+1 212 555 0100, 44",
        ] {
            assert_eq!(p(raw, "US"), want, "{raw:?}");
        }
    }

    #[test]
    fn phone_letters_and_notes_are_refused() {
        for raw in [
            "call me",
            "+1 800 FLOWERS",
            "1-800-GO-FEDEX",
            "212-555-0100 ext",
            "212-555-0100 x",
            "212-555-0100 x12a",
            "212-555-0100 mobile",
            "212-555-0100 or 212-555-0101",
            "212*555*0100",
            "+1 212 555 0100 +1",
            "2125550100 x12345678901",
        ] {
            assert_eq!(p(raw, "US"), None, "{raw:?}");
        }
    }

    // ---- phone: United Kingdom ------------------------------------------------------------

    #[test]
    fn phone_gb_trunk_zero_and_prefixes() {
        let want = some("+442079460958");
        for raw in [
            "020 7946 0958",
            "(020) 7946 0958",
            "020-7946-0958",
            "+44 20 7946 0958",
            "+44 (0)20 7946 0958",
            "+44 (0) 20 7946 0958",
            "0044 20 7946 0958",
            "44 20 7946 0958",
        ] {
            assert_eq!(p(raw, "GB"), want, "{raw:?}");
        }
        assert_eq!(p("07700 900123", "GB"), some("+447700900123"));
        assert_eq!(p("+44 7700 900123", "US"), some("+447700900123"));
    }

    // ---- phone: Germany, France, India, Brazil, Australia ---------------------------------

    #[test]
    fn phone_de() {
        assert_eq!(p("030 123456", "DE"), some("+4930123456"));
        assert_eq!(p("030/123456", "DE"), some("+4930123456"));
        assert_eq!(p("+49 30 123456", "FR"), some("+4930123456"));
        assert_eq!(p("0049 (0)30 123456", "DE"), some("+4930123456"));
        assert_eq!(p("0151 23456789", "DE"), some("+4915123456789"));
        assert_eq!(p("+49 151 23456789", ""), some("+4915123456789"));
    }

    #[test]
    fn phone_fr() {
        assert_eq!(p("01 42 68 53 00", "FR"), some("+33142685300"));
        assert_eq!(p("01.42.68.53.00", "FR"), some("+33142685300"));
        assert_eq!(p("+33 1 42 68 53 00", "DE"), some("+33142685300"));
        assert_eq!(p("0033 1 42 68 53 00", "US"), some("+33142685300"));
        assert_eq!(p("06 12 34 56 78", "FR"), some("+33612345678"));
    }

    #[test]
    fn phone_in() {
        assert_eq!(p("98123 45678", "IN"), some("+919812345678"));
        assert_eq!(p("098123 45678", "IN"), some("+919812345678"));
        assert_eq!(p("+91 98123 45678", ""), some("+919812345678"));
        assert_eq!(p("0091-98123-45678", "GB"), some("+919812345678"));
        assert_eq!(p("011 2345 6789", "IN"), some("+911123456789"));
    }

    #[test]
    fn phone_br() {
        let want = some("+5511987654321");
        for raw in [
            "(11) 98765-4321",
            "11 98765 4321",
            "+55 11 98765-4321",
            "+55 (11) 9 8765-4321",
            "0055 11 98765 4321",
        ] {
            assert_eq!(p(raw, "BR"), want, "{raw:?}");
        }
        assert_eq!(p("+55 11 98765-4321", "US"), want);
    }

    #[test]
    fn phone_au() {
        assert_eq!(p("02 9374 4000", "AU"), some("+61293744000"));
        assert_eq!(p("(02) 9374 4000", "AU"), some("+61293744000"));
        assert_eq!(p("0412 345 678", "AU"), some("+61412345678"));
        assert_eq!(p("+61 412 345 678", "GB"), some("+61412345678"));
        // 0011 is Australia's own international prefix.
        assert_eq!(p("0011 44 20 7946 0958", "AU"), some("+442079460958"));
    }

    #[test]
    fn phone_it_keeps_its_leading_zero() {
        assert_eq!(p("+39 06 6982 0000", ""), some("+390669820000"));
        assert_eq!(p("06 6982 0000", "IT"), some("+390669820000"));
    }

    // ---- phone: regions and junk ---------------------------------------------------------

    #[test]
    fn phone_region_is_case_insensitive_and_unknown_regions_need_a_prefix() {
        assert_eq!(p("020 7946 0958", "gb"), some("+442079460958"));
        assert_eq!(p("020 7946 0958", " GB "), some("+442079460958"));
        for region in ["", "XX", "ZZ", "USA", "U", "12", "ü"] {
            assert_eq!(p("212 555 0100", region), None, "{region:?}");
            assert_eq!(
                p("+1 212 555 0100", region),
                some("+12125550100"),
                "{region:?}"
            );
            assert_eq!(
                p("001 212 555 0100", region),
                some("+12125550100"),
                "{region:?}"
            );
        }
    }

    #[test]
    fn phone_junk_is_refused() {
        for raw in [
            "",
            "   ",
            "+",
            "++1 212 555 0100",
            "12345",
            "0000000000",
            "000-000-0000",
            "(111) 111-1111",
            "+1 999 999 9999",
            "1234567890",
            "+44 1234 567890 1234567",
            "+999 123 456 789",
            "+0 212 555 0100",
            "１２１２５５５０１００",
            "\u{0}",
        ] {
            assert_eq!(p(raw, "US"), None, "{raw:?}");
        }
        let long = format!("+1{}212 555 0100", " ".repeat(60));
        assert_eq!(p(&long, "US"), None, "over-long text is not read");
    }

    #[test]
    fn phone_placeholder_detection() {
        assert!(is_placeholder("0000000000"));
        assert!(is_placeholder("123456789"));
        assert!(is_placeholder("9876543210"));
        assert!(is_placeholder("7890123456"));
        assert!(!is_placeholder("2125550100"));
        assert!(!is_placeholder("5551211212"));
    }

    // ---- names ----------------------------------------------------------------------------

    fn n(first: Option<&str>, last: Option<&str>) -> (Option<String>, Option<String>) {
        (first.map(str::to_owned), last.map(str::to_owned))
    }

    #[test]
    fn names_split_on_the_last_word() {
        assert_eq!(split_name("Ada Lovelace"), n(Some("Ada"), Some("Lovelace")));
        assert_eq!(
            split_name("  Ada   Lovelace \t"),
            n(Some("Ada"), Some("Lovelace"))
        );
        assert_eq!(
            split_name("Jean-Luc Picard"),
            n(Some("Jean-Luc"), Some("Picard"))
        );
        assert_eq!(
            split_name("Mary Jane Watson"),
            n(Some("Mary Jane"), Some("Watson"))
        );
        assert_eq!(split_name("Zoë O'Brien"), n(Some("Zoë"), Some("O'Brien")));
        assert_eq!(split_name("李 小龍"), n(Some("李"), Some("小龍")));
    }

    #[test]
    fn names_keep_particles_and_suffixes_with_the_surname() {
        assert_eq!(
            split_name("Ludwig van Beethoven"),
            n(Some("Ludwig"), Some("van Beethoven"))
        );
        assert_eq!(
            split_name("Vincent van der Berg"),
            n(Some("Vincent"), Some("van der Berg"))
        );
        assert_eq!(
            split_name("Leonardo da Vinci"),
            n(Some("Leonardo"), Some("da Vinci"))
        );
        assert_eq!(split_name("Van Morrison"), n(Some("Van"), Some("Morrison")));
        assert_eq!(split_name("de Gaulle"), n(Some("de"), Some("Gaulle")));
        assert_eq!(
            split_name("Martin Luther King Jr."),
            n(Some("Martin Luther"), Some("King Jr."))
        );
        assert_eq!(
            split_name("Martin Luther King, Jr."),
            n(Some("Martin Luther"), Some("King Jr."))
        );
    }

    #[test]
    fn names_with_a_comma_are_surname_first() {
        assert_eq!(
            split_name("Lovelace, Ada"),
            n(Some("Ada"), Some("Lovelace"))
        );
        assert_eq!(split_name("Lovelace,Ada"), n(Some("Ada"), Some("Lovelace")));
        assert_eq!(
            split_name("van Beethoven, Ludwig"),
            n(Some("Ludwig"), Some("van Beethoven"))
        );
        assert_eq!(split_name("Lovelace,"), n(None, Some("Lovelace")));
        assert_eq!(split_name(", Ada"), n(None, Some("Ada")));
        assert_eq!(split_name(","), n(None, None));
    }

    #[test]
    fn names_single_word_and_empty() {
        assert_eq!(split_name("Cher"), n(None, Some("Cher")));
        assert_eq!(split_name("  Cher  "), n(None, Some("Cher")));
        assert_eq!(split_name(""), n(None, None));
        assert_eq!(split_name(" \t\n "), n(None, None));
    }

    // ---- domains --------------------------------------------------------------------------

    #[test]
    fn domain_from_urls_and_hosts() {
        for (raw, want) in [
            ("https://www.Example.com/path", "example.com"),
            ("http://example.com", "example.com"),
            (
                "HTTPS://Shop.Example.co.uk:8443/a?b=c#d",
                "shop.example.co.uk",
            ),
            ("www.example.com", "example.com"),
            ("example.com/", "example.com"),
            (" Example.COM. ", "example.com"),
            ("//cdn.example.com/x.js", "cdn.example.com"),
            ("https://user:pw@example.com/", "example.com"),
            ("jane@acme.io", "acme.io"),
            ("example.com?utm=1", "example.com"),
        ] {
            assert_eq!(domain(raw), some(want), "{raw:?}");
        }
    }

    #[test]
    fn domain_refuses_non_domains() {
        for raw in [
            "",
            "example",
            "https://",
            "http://localhost:3000",
            "192.168.1.10",
            "exa mple.com",
            "-example.com",
            "example..com",
            "n/a",
            "www.",
        ] {
            assert_eq!(domain(raw), None, "{raw:?}");
        }
    }

    // ---- free mail ------------------------------------------------------------------------

    #[test]
    fn free_mail_exact_entries() {
        for d in [
            "gmail.com",
            "googlemail.com",
            "icloud.com",
            "me.com",
            "proton.me",
            "protonmail.com",
            "web.de",
            "mail.ru",
            "qq.com",
            "163.com",
            "zoho.com",
            "GMAIL.COM",
            "gmail.com.",
        ] {
            assert!(is_free_mail(d), "{d}");
        }
    }

    #[test]
    fn free_mail_brand_wildcards() {
        for d in [
            "hotmail.com",
            "hotmail.co.uk",
            "hotmail.fr",
            "live.com",
            "live.com.mx",
            "outlook.com",
            "outlook.de",
            "yahoo.com",
            "yahoo.co.jp",
            "yahoo.com.br",
            "gmx.de",
            "gmx.at",
            "yandex.ru",
            "aol.com",
        ] {
            assert!(is_free_mail(d), "{d}");
        }
    }

    #[test]
    fn company_domains_are_not_free_mail() {
        for d in [
            "example.com",
            "acme.co.uk",
            "gmail.example.com",
            "yahoo.example.com",
            "yahoo.company",
            "mygmail.com",
            "hotmail",
            "",
        ] {
            assert!(!is_free_mail(d), "{d}");
        }
    }

    #[test]
    fn free_mail_list_is_well_formed() {
        let mut seen = HashSet::new();
        let mut count = 0;
        for line in FREE_MAIL_LIST.lines() {
            let entry = line.split('#').next().unwrap_or_default().trim();
            if entry.is_empty() {
                continue;
            }
            count += 1;
            assert_eq!(entry, entry.to_lowercase(), "{entry} is not lower-case");
            assert!(seen.insert(entry), "{entry} is listed twice");
            match entry.strip_suffix(".*") {
                Some(brand) => assert!(!brand.is_empty() && !brand.contains('.'), "{entry}"),
                None => assert_eq!(domain(entry).as_deref(), Some(entry), "{entry}"),
            }
        }
        assert!(count >= 80, "only {count} free-mail entries");
        assert!(free_mail().exact.len() + free_mail().brands.len() == count);
    }

    // ---- company --------------------------------------------------------------------------

    #[test]
    fn company_prefers_the_platform_field() {
        assert_eq!(
            company(Some("  Acme   Corp "), Some("jane@other.com")),
            some("Acme Corp")
        );
        assert_eq!(company(Some("Acme"), None), some("Acme"));
    }

    #[test]
    fn company_falls_back_to_a_non_free_mail_domain() {
        assert_eq!(company(None, Some("jane@acme.com")), some("acme.com"));
        assert_eq!(
            company(Some("  "), Some(" Jane@ACME.com ")),
            some("acme.com")
        );
        assert_eq!(
            company(Some("n/a"), Some("jane@acme.com")),
            some("acme.com")
        );
        assert_eq!(company(Some("-"), Some("jane@acme.com")), some("acme.com"));
        assert_eq!(company(None, Some("jane@gmail.com")), None);
        assert_eq!(company(None, Some("jane@yahoo.co.uk")), None);
        assert_eq!(company(Some("Unknown"), Some("jane@hotmail.com")), None);
        assert_eq!(company(None, Some("not an email")), None);
        assert_eq!(company(None, None), None);
    }

    // ---- properties -----------------------------------------------------------------------

    proptest! {
        #[test]
        fn nothing_panics(s in "\\PC{0,80}", region in "\\PC{0,4}") {
            let _ = email(&s);
            let _ = phone(&s, &region);
            let _ = phone(&s, "US");
            let _ = split_name(&s);
            let _ = domain(&s);
            let _ = is_free_mail(&s);
            let _ = company(Some(&s), Some(&s));
        }

        #[test]
        fn phone_like_text_never_panics_and_is_idempotent(
            s in "[+0-9 ()./x#;,-]{0,40}",
            region in prop::sample::select(vec!["US", "GB", "DE", "FR", "IN", "BR", "AU", "IT", ""]),
        ) {
            if let Some(e) = phone(&s, region) {
                prop_assert!(e.starts_with('+'));
                prop_assert!(e.len() <= 16);
                prop_assert_eq!(phone(&e, region), Some(e.clone()));
                prop_assert_eq!(phone(&e, ""), Some(e.clone()));
            }
        }

        #[test]
        fn email_and_domain_are_idempotent(s in "[A-Za-z0-9.@+_ -]{0,40}") {
            if let Some(e) = email(&s) {
                prop_assert_eq!(email(&e), Some(e.clone()));
                prop_assert_eq!(e.clone(), e.to_lowercase());
            }
            if let Some(d) = domain(&s) {
                prop_assert_eq!(domain(&d), Some(d.clone()));
            }
        }

        #[test]
        fn split_name_round_trips_words(words in prop::collection::vec("[A-Za-z]{1,8}", 0..5)) {
            let (f, l) = split_name(&words.join(" "));
            let back: Vec<String> = f.iter().chain(l.iter()).map(|s| s.to_owned()).collect();
            prop_assert_eq!(back.join(" "), words.join(" "));
        }
    }
}
