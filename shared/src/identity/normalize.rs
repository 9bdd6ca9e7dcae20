//! Normalisation of identity fields for matching. (Skeleton: to be completed.)

/// Trimmed, lower-cased and validated e-mail address; None when it is not one.
pub fn email(raw: &str) -> Option<String> {
    let e = raw.trim().to_lowercase();
    let (local, domain) = e.rsplit_once('@')?;
    (!local.is_empty() && domain.contains('.')).then_some(e)
}

/// E.164 (`+14155550123`) read with `default_region` when the number has no country code;
/// extensions dropped. None when it is not a valid number.
pub fn phone(raw: &str, default_region: &str) -> Option<String> {
    let _ = default_region;
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= 7).then(|| format!("+{digits}"))
}

/// "Ada Lovelace" → (Some("Ada"), Some("Lovelace")); a single word is a last name.
pub fn split_name(full: &str) -> (Option<String>, Option<String>) {
    let full = full.trim();
    match full.rsplit_once(' ') {
        Some((first, last)) => (Some(first.trim().to_owned()), Some(last.to_owned())),
        None if full.is_empty() => (None, None),
        None => (None, Some(full.to_owned())),
    }
}

/// A bare lower-case domain from a domain or URL; None when it is not one.
pub fn domain(raw: &str) -> Option<String> {
    let d = raw.trim().to_lowercase();
    (d.contains('.')).then_some(d)
}

/// Whether `domain` is a free-mail provider (gmail.com, outlook.com, …).
pub fn is_free_mail(domain: &str) -> bool {
    matches!(
        domain,
        "gmail.com" | "outlook.com" | "yahoo.com" | "hotmail.com"
    )
}

/// The company name: the platform's company field, else the e-mail domain unless free-mail.
pub fn company(platform_company: Option<&str>, email: Option<&str>) -> Option<String> {
    if let Some(c) = platform_company.map(str::trim).filter(|c| !c.is_empty()) {
        return Some(c.to_owned());
    }
    let domain = email?.rsplit_once('@')?.1;
    (!is_free_mail(domain)).then(|| domain.to_owned())
}
