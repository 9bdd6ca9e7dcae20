//! Masking of personal data for log lines: enough left to recognise a record, not to read it.

/// `jane.doe@example.com` → `j***@example.com`. Anything that is not an address → `***`.
pub fn email(value: &str) -> String {
    match value.trim().rsplit_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        _ => "***".into(),
    }
}

/// `+1 (555) 010-0123` → `***23`: the last two digits only.
pub fn phone(value: &str) -> String {
    let digits: Vec<char> = value.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits[digits.len().saturating_sub(2)..].iter().collect();
    format!("***{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_keep_the_first_letter_and_the_domain() {
        assert_eq!(email(" Jane.Doe@Example.com "), "J***@Example.com");
        assert_eq!(email("not an address"), "***");
        assert_eq!(email("@example.com"), "***");
        assert_eq!(email("é@x"), "é***@x");
    }

    #[test]
    fn phones_keep_the_last_two_digits() {
        assert_eq!(phone("+1 (555) 010-0123"), "***23");
        assert_eq!(phone("7"), "***7");
        assert_eq!(phone(""), "***");
    }
}
