//! Payload documents: the Salesforce requests and answers of one step, kept for audit beside
//! the sync log. Secrets are always removed; personal data is masked unless the tenant asks
//! for full payloads; every document is size-capped and gzip-compressed.

use crate::mapping::redact::Redactor;
use crate::mask;
use crate::salesforce::{Exchange, Recorded};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::sync::LazyLock;

/// What a tenant keeps of the Salesforce payloads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayloadKeep {
    /// Nothing: the sync log keeps record ids and errors only.
    None,
    /// Requests and answers with e-mails, phones, names and message text masked.
    #[default]
    Masked,
    /// Requests and answers as sent (secrets still removed).
    Full,
}

/// The tenant's payload policy (`[config.payloads]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PayloadPolicy {
    pub keep: PayloadKeep,
    /// Days the intake's copy of a webhook body (masked or redacted as `keep` says) is kept:
    /// a short TTL of its own, at most the tenant's retention.
    pub webhook_days: u32,
    /// The largest stored document, compressed. Larger ones lose exchanges from the middle
    /// (the first and the last, where errors are, stay) and then long values.
    pub max_bytes: u32,
}

pub const DEFAULT_MAX_BYTES: u32 = 64 * 1024;
pub const DEFAULT_WEBHOOK_DAYS: u32 = 3;
const MAX_WEBHOOK_DAYS: u32 = 35;
/// A document is one DynamoDB item: well under its 400 KB limit.
pub const MAX_MAX_BYTES: u32 = 256 * 1024;
const MIN_MAX_BYTES: u32 = 1024;

impl Default for PayloadPolicy {
    fn default() -> Self {
        Self {
            keep: PayloadKeep::Masked,
            webhook_days: DEFAULT_WEBHOOK_DAYS,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

impl PayloadPolicy {
    /// A recorder for one step: off when nothing is kept, so nothing is copied.
    pub fn recorder(&self) -> crate::salesforce::Exchanges {
        match self.keep {
            PayloadKeep::None => crate::salesforce::Exchanges::off(),
            PayloadKeep::Masked | PayloadKeep::Full => crate::salesforce::Exchanges::new(),
        }
    }

    /// The policy's own limits, checked when the tenant is saved.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=MAX_WEBHOOK_DAYS).contains(&self.webhook_days) {
            return Err(format!(
                "payloads.webhook_days must be between 1 and {MAX_WEBHOOK_DAYS}, not {}",
                self.webhook_days
            ));
        }
        if !(MIN_MAX_BYTES..=MAX_MAX_BYTES).contains(&self.max_bytes) {
            return Err(format!(
                "payloads.max_bytes must be between {MIN_MAX_BYTES} and {MAX_MAX_BYTES}, not {}",
                self.max_bytes
            ));
        }
        Ok(())
    }
}

/// A stored document could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("payload is not gzip: {0}")]
    Gzip(#[from] std::io::Error),
    #[error("payload is larger than {0} bytes uncompressed")]
    TooLarge(usize),
    #[error("payload is not JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Strings longer than this are cut in a stored document (first pass), then to the second
/// figure when one exchange alone is over the cap.
const STRING_CAPS: [usize; 2] = [8 * 1024, 512];
/// Reading back never inflates more than this (a document is at most 256 KB compressed).
const MAX_INFLATED: usize = 16 * 1024 * 1024;

/// What else is personal in one step, beyond what field names and patterns reveal.
#[derive(Default)]
pub struct Personal<'a> {
    /// Values known to be personal here (the visitor's and agents' names, e-mails, phones:
    /// [`crate::event::Event::personal_values`]), masked wherever they appear, e.g. in a
    /// Subject "Chat with Jane Doe".
    pub values: Vec<String>,
    /// The tenant's transcript redaction (card numbers, its patterns), applied to every value.
    pub redactor: Option<&'a Redactor>,
}

/// The stored form of what was recorded, under `policy`: gzip of a JSON document, at most
/// `policy.max_bytes`. None when the policy keeps nothing or there is nothing to keep.
pub fn pack(
    recorded: &Recorded,
    policy: &PayloadPolicy,
    personal: &Personal<'_>,
) -> Option<Vec<u8>> {
    if policy.keep == PayloadKeep::None || recorded.exchanges.is_empty() {
        return None;
    }
    let cap = policy.max_bytes.clamp(MIN_MAX_BYTES, MAX_MAX_BYTES) as usize;
    for string_cap in STRING_CAPS {
        let masker = Masker::new(policy.keep, string_cap, personal);
        let mut kept: Vec<Value> = recorded
            .exchanges
            .iter()
            .map(|e| masker.exchange(e))
            .collect();
        let mut omitted = recorded.dropped;
        loop {
            let doc = json!({
                "keep": policy.keep,
                "exchanges": kept,
                "omitted": omitted,
            });
            let packed = gzip(&doc);
            if packed.len() <= cap {
                return Some(packed);
            }
            if kept.len() <= 2 {
                break;
            }
            kept.remove(kept.len() / 2);
            omitted += 1;
        }
    }
    // Even two exchanges with short values are over the cap: say so rather than store nothing.
    Some(gzip(&json!({
        "keep": policy.keep,
        "exchanges": [],
        "omitted": recorded.exchanges.len() + recorded.dropped,
        "note": "over the payload size cap",
    })))
}

/// The intake's copy of a webhook body under `policy`: gzip of `{"keep", "webhook"}`, the
/// body masked (keep = masked: e-mails, phones, names, message text; the tenant's redaction
/// everywhere) or only redacted (keep = full), secrets always removed, at most
/// `policy.max_bytes`. None when the policy keeps nothing.
pub fn pack_webhook(
    body: &str,
    policy: &PayloadPolicy,
    personal: &Personal<'_>,
) -> Option<Vec<u8>> {
    if policy.keep == PayloadKeep::None {
        return None;
    }
    let cap = policy.max_bytes.clamp(MIN_MAX_BYTES, MAX_MAX_BYTES) as usize;
    for string_cap in STRING_CAPS {
        let mut masker = Masker::new(policy.keep, string_cap, personal);
        masker.text_keys = TextKeys::Webhook;
        let webhook = match serde_json::from_str::<Value>(body) {
            Ok(mut value) => {
                masker.scrub(&mut value);
                value
            }
            Err(_) => Value::String(masker.finish(masker.text(body))),
        };
        let packed = gzip(&json!({"keep": policy.keep, "webhook": webhook}));
        if packed.len() <= cap {
            return Some(packed);
        }
    }
    Some(gzip(&json!({
        "keep": policy.keep,
        "webhook": null,
        "note": "over the payload size cap",
    })))
}

/// A stored document, as JSON.
pub fn unpack(bytes: &[u8]) -> Result<Value, PayloadError> {
    let mut text = String::new();
    let read = GzDecoder::new(bytes)
        .take(MAX_INFLATED as u64 + 1)
        .read_to_string(&mut text)?;
    if read > MAX_INFLATED {
        return Err(PayloadError::TooLarge(MAX_INFLATED));
    }
    Ok(serde_json::from_str(&text)?)
}

fn gzip(doc: &Value) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(doc.to_string().as_bytes());
    encoder.finish().unwrap_or_default()
}

/// Field names whose values are credentials, wherever they appear.
fn is_secret(key: &str) -> bool {
    const SECRET: [&str; 7] = [
        "token",
        "secret",
        "password",
        "assertion",
        "signature",
        "authorization",
        "sessionid",
    ];
    SECRET.iter().any(|s| key.contains(s))
}

/// Which keys hold message text (masked whole in a masked document).
#[derive(Clone, Copy)]
enum TextKeys {
    /// Salesforce records: the transcript targets and the Case description.
    Salesforce,
    /// Chat platforms' webhook bodies: message bodies, notes, comments.
    Webhook,
}

/// Masks one document's values under one policy.
struct Masker<'a> {
    keep: PayloadKeep,
    text_keys: TextKeys,
    string_cap: usize,
    /// The known personal values, longest first, as one case-insensitive pattern.
    known: Option<Regex>,
    redactor: Option<&'a Redactor>,
}

impl<'a> Masker<'a> {
    fn new(keep: PayloadKeep, string_cap: usize, personal: &Personal<'a>) -> Self {
        let mut values: Vec<&str> = personal
            .values
            .iter()
            .map(|v| v.trim())
            .filter(|v| v.chars().count() >= 3)
            .collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.dedup();
        let known = (!values.is_empty())
            .then(|| {
                // Whole words only: a visitor called "Lea" must not turn `Lead` into `L***d`.
                let alternatives: Vec<String> = values
                    .iter()
                    .map(|v| {
                        let word =
                            |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                        let start = if word(v.chars().next()) { r"\b" } else { "" };
                        let end = if word(v.chars().last()) { r"\b" } else { "" };
                        format!("{start}{}{end}", regex::escape(v))
                    })
                    .collect();
                Regex::new(&format!("(?i){}", alternatives.join("|"))).ok()
            })
            .flatten();
        Self {
            keep,
            text_keys: TextKeys::Salesforce,
            string_cap,
            known,
            redactor: personal.redactor,
        }
    }

    fn exchange(&self, e: &Exchange) -> Value {
        let request = e.request.clone().map(|mut body| {
            self.scrub(&mut body);
            body
        });
        // Salesforce answers JSON; a proxy's HTML error page or a transport error stays text.
        let response = match serde_json::from_str::<Value>(&e.response) {
            Ok(mut body) => {
                self.scrub(&mut body);
                body
            }
            Err(_) => Value::String(self.finish(self.url(&e.response))),
        };
        json!({
            "method": e.method,
            "path": self.finish(self.url(&e.path)),
            "request": request,
            "status": e.status,
            "response": response,
        })
    }

    fn scrub(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                // Duplicate-rule answers name fields in `name`: a field name, not a person's.
                let field_diff = map.contains_key("difference");
                for (key, v) in map.iter_mut() {
                    let key = key.to_ascii_lowercase();
                    if is_secret(&key) {
                        *v = Value::String("[removed]".into());
                    } else if key == "versiondata" {
                        let len = v.as_str().map_or(0, str::len);
                        *v = Value::String(format!("[file content: {len} characters]"));
                    } else if let Value::String(s) = v {
                        let masked = if field_diff && key == "name" {
                            s.clone()
                        } else if key.ends_with("url") {
                            self.url(s)
                        } else {
                            self.field(&key, s)
                        };
                        *s = self.finish(masked);
                    } else {
                        self.scrub(v);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.scrub(v)),
            Value::String(s) => *s = self.finish(self.text(s)),
            _ => {}
        }
    }

    fn field(&self, key: &str, value: &str) -> String {
        if value.is_empty() {
            return String::new();
        }
        if self.keep == PayloadKeep::Full {
            return self.redacted_text(value);
        }
        if key.contains("email") {
            mask::email(value)
        } else if key.contains("phone") {
            mask::phone(value)
        } else if is_name(key) {
            let first: String = value.chars().take(1).collect();
            format!("{first}***")
        } else if match self.text_keys {
            TextKeys::Salesforce => is_text(key),
            TextKeys::Webhook => is_webhook_text(key),
        } {
            format!("[masked: {} characters]", value.chars().count())
        } else {
            self.text(value)
        }
    }

    /// A path or URL: percent-decoded first, so an encoded address or a SOQL filter in a
    /// composite subrequest's URL is seen for what it is.
    fn url(&self, value: &str) -> String {
        if self.keep == PayloadKeep::Full {
            return value.to_owned();
        }
        // In a query string a space is sent as '+' (a plus sign itself as %2B).
        let value = match value.split_once('?') {
            Some((path, query)) => format!("{path}?{}", query.replace('+', " ")),
            None => value.to_owned(),
        };
        let decoded = percent_encoding::percent_decode_str(&value).decode_utf8_lossy();
        self.text(&decoded)
    }

    /// Only the tenant's redaction (cards, its patterns): what even a full copy goes through.
    fn redacted_text(&self, value: &str) -> String {
        match self.redactor {
            Some(redactor) => redactor.redact(value).into_owned(),
            None => value.to_owned(),
        }
    }

    /// Any other value: known personal values, the tenant's redaction, then e-mail addresses,
    /// phone numbers and the literals of SOQL/SOSL text.
    fn text(&self, value: &str) -> String {
        if self.keep == PayloadKeep::Full {
            return self.redacted_text(value);
        }
        let mut out = value.to_owned();
        if let Some(known) = &self.known {
            out = known
                .replace_all(&out, |c: &regex::Captures<'_>| {
                    let first: String = c[0].chars().take(1).collect();
                    format!("{first}***")
                })
                .into_owned();
        }
        if let Some(redactor) = self.redactor {
            out = redactor.redact(&out).into_owned();
        }
        out = free_text(&out);
        quoted_literals(&out)
    }

    /// Cuts to the string cap.
    fn finish(&self, value: String) -> String {
        cut(&value, self.string_cap)
    }
}

fn is_name(key: &str) -> bool {
    matches!(
        key,
        "name" | "firstname" | "lastname" | "middlename" | "suppliedname" | "suppliedcompany"
    ) || key.ends_with("name__c")
}

/// Webhook fields that hold what people wrote (Intercom `body`, respond.io `text`, Tidio and
/// CloudCX `message`/`content`, notes and comments).
fn is_webhook_text(key: &str) -> bool {
    matches!(
        key,
        "body" | "text" | "message" | "content" | "html" | "plain_text" | "note" | "comment"
    )
}

/// Fields that hold message text: the transcript targets and the Case description.
fn is_text(key: &str) -> bool {
    matches!(key, "description" | "commentbody") || key.ends_with("body__c")
}

static QUOTED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"'((?:[^'\\]|\\.)*)'").expect("constant pattern"));

/// Quoted literals that may be personal (an address; a phone number or a lookup's phone
/// pattern such as LIKE '%7%7%0%0…', six digits or more), in a SOQL filter or in an error
/// message quoting part of one, are masked; record ids and other literals stay.
fn quoted_literals(text: &str) -> String {
    QUOTED
        .replace_all(text, |c: &regex::Captures<'_>| {
            let literal = &c[1];
            let digits = literal.chars().filter(char::is_ascii_digit).count();
            let phone_like = literal
                .chars()
                .all(|ch| ch.is_ascii_digit() || "%+-() .".contains(ch));
            if literal.contains('@') || (phone_like && digits >= 6) {
                "'***'".to_owned()
            } else {
                c[0].to_owned()
            }
        })
        .into_owned()
}

/// Anything around an @ up to a space, quote or bracket: invalid addresses are masked too.
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"[^\s@'"<>(),;:{}\[\]]+@[^\s@'"<>(),;:{}\[\]]+"#).expect("constant pattern")
});
/// Seven or more digits, possibly with +, spaces, dots, dashes and brackets between them.
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    // Word boundaries at both ends, so digit runs inside Salesforce ids are left alone.
    Regex::new(r"\+?\b\d[\d\s().\-]{5,}\d\b").expect("constant pattern")
});

/// Free text from outside (a Salesforce error message, an HTML error page) with e-mail
/// addresses, phone numbers and personal quoted literals masked: it reaches logs and the sync
/// log, and Salesforce quotes the values it refuses.
pub fn mask_free_text(value: &str) -> String {
    quoted_literals(&free_text(value))
}

/// E-mail addresses (also ones Salesforce refuses as invalid, which an error message quotes)
/// and phone numbers anywhere in a value.
fn free_text(value: &str) -> String {
    let value = EMAIL.replace_all(value, |c: &regex::Captures<'_>| mask::email(&c[0]));
    PHONE
        .replace_all(&value, |c: &regex::Captures<'_>| {
            let digits = c[0].chars().filter(char::is_ascii_digit).count();
            // Ids, dates and times have digit runs too; only a phone's length is masked.
            if (7..=15).contains(&digits) && !c[0].contains('-') || (10..=15).contains(&digits) {
                mask::phone(&c[0])
            } else {
                c[0].to_owned()
            }
        })
        .into_owned()
}

fn cut(value: &str, cap: usize) -> String {
    if value.len() <= cap {
        return value.to_owned();
    }
    let mut end = cap;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}… [{} more characters]",
        &value[..end],
        value[end..].chars().count()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(request: Option<Value>, status: u16, response: &str) -> Exchange {
        Exchange {
            method: "POST".into(),
            path: "composite".into(),
            request,
            status,
            response: response.into(),
        }
    }

    /// Letters from a xorshift generator: text gzip cannot shrink much.
    fn noise(mut state: u64, len: usize) -> String {
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(b'a' + (state % 26) as u8)
            })
            .collect()
    }

    fn recorded(exchanges: &[Exchange]) -> Recorded {
        Recorded {
            exchanges: exchanges.to_vec(),
            dropped: 0,
        }
    }

    fn round_trip(exchanges: &[Exchange], policy: &PayloadPolicy) -> Value {
        round_trip_with(exchanges, policy, &Personal::default())
    }

    fn round_trip_with(
        exchanges: &[Exchange],
        policy: &PayloadPolicy,
        personal: &Personal<'_>,
    ) -> Value {
        let packed = pack(&recorded(exchanges), policy, personal).expect("something kept");
        assert!(packed.len() <= policy.max_bytes as usize);
        unpack(&packed).expect("reads back")
    }

    #[test]
    fn masked_documents_hide_personal_data_and_keep_what_an_operator_needs() {
        let request = json!({"compositeRequest": [{"body": {
            "SuppliedEmail": "jane.doe@example.com",
            "SuppliedPhone": "+44 7700 900123",
            "SuppliedName": "Jane Doe",
            "Description": "[10:00] Jane: my card is 4111…",
            "Status": "New",
            "Chat_Conversation_Id__c": "demo:intercom:123",
            "Custom__c": "call me on +44 7700 900123 or jane@example.org",
        }}]});
        let response = r#"[{"message":"Email: invalid e-mail jane.doe@example.com","errorCode":"INVALID_EMAIL_ADDRESS","fields":["Email"]}]"#;
        let doc = round_trip(
            &[exchange(Some(request), 400, response)],
            &PayloadPolicy::default(),
        );
        let body = &doc["exchanges"][0]["request"]["compositeRequest"][0]["body"];
        assert_eq!(body["SuppliedEmail"], "j***@example.com");
        assert_eq!(body["SuppliedPhone"], "***23");
        assert_eq!(body["SuppliedName"], "J***");
        assert_eq!(body["Description"], "[masked: 30 characters]");
        assert_eq!(body["Status"], "New");
        assert_eq!(body["Chat_Conversation_Id__c"], "demo:intercom:123");
        assert_eq!(body["Custom__c"], "call me on ***23 or j***@example.org");
        let answer = &doc["exchanges"][0]["response"][0];
        assert_eq!(answer["errorCode"], "INVALID_EMAIL_ADDRESS");
        assert_eq!(answer["message"], "Email: invalid e-mail j***@example.com");
        assert_eq!(doc["exchanges"][0]["status"], 400);
        assert_eq!(doc["keep"], "masked");
    }

    #[test]
    fn secrets_and_file_contents_go_whatever_the_policy() {
        let request = json!({"access_token": "00D!secret", "client_secret": "s",
            "VersionData": "aGVsbG8=", "Title": "scan.pdf"});
        let policy = PayloadPolicy {
            keep: PayloadKeep::Full,
            ..PayloadPolicy::default()
        };
        let doc = round_trip(&[exchange(Some(request), 200, "{}")], &policy);
        let body = &doc["exchanges"][0]["request"];
        assert_eq!(body["access_token"], "[removed]");
        assert_eq!(body["client_secret"], "[removed]");
        assert_eq!(body["VersionData"], "[file content: 8 characters]");
        assert_eq!(body["Title"], "scan.pdf");
        assert!(!doc.to_string().contains("00D!secret"));
    }

    #[test]
    fn full_documents_keep_personal_data() {
        let request = json!({"Email": "jane.doe@example.com", "Description": "hello"});
        let policy = PayloadPolicy {
            keep: PayloadKeep::Full,
            ..PayloadPolicy::default()
        };
        let doc = round_trip(&[exchange(Some(request), 201, "{}")], &policy);
        assert_eq!(
            doc["exchanges"][0]["request"]["Email"],
            "jane.doe@example.com"
        );
        assert_eq!(doc["exchanges"][0]["request"]["Description"], "hello");
    }

    #[test]
    fn soql_filters_and_html_answers_are_masked_as_text() {
        let mut query = exchange(
            None,
            503,
            "<html>Service Unavailable for jane@example.com</html>",
        );
        query.method = "GET".into();
        let soql =
            "SELECT Id FROM Contact WHERE Email = 'jane@example.com' OR Phone = '+447700900123'";
        query.path = format!(
            "query?q={}",
            percent_encoding::utf8_percent_encode(soql, percent_encoding::NON_ALPHANUMERIC)
        );
        let doc = round_trip(&[query], &PayloadPolicy::default());
        let path = doc["exchanges"][0]["path"].as_str().expect("path");
        assert!(
            path.contains("Email = '***'"),
            "a query's address literal: {path}"
        );
        assert!(path.contains("Phone = '***23'"), "{path}");
        assert_eq!(
            doc["exchanges"][0]["response"],
            "<html>Service Unavailable for j***@example.com</html>"
        );
    }

    #[test]
    fn ids_and_timestamps_are_not_mistaken_for_phones() {
        let text = "500000000000001AAA at 2024-05-01T10:00:00.000+0000 (Case 5003000000D8cuI)";
        assert_eq!(free_text(text), text);
    }

    #[test]
    fn nothing_is_kept_when_the_tenant_says_none_or_nothing_was_sent() {
        let policy = PayloadPolicy {
            keep: PayloadKeep::None,
            ..PayloadPolicy::default()
        };
        let none = Personal::default();
        assert!(pack(&recorded(&[exchange(None, 200, "{}")]), &policy, &none).is_none());
        assert!(pack(&recorded(&[]), &PayloadPolicy::default(), &none).is_none());
    }

    #[test]
    fn large_documents_lose_the_middle_first_and_stay_under_the_cap() {
        // Random-looking text does not compress: 40 exchanges of 4 KB each are far over 8 KB.
        let noisy = |seed: usize| noise(seed as u64 + 1, 4096);
        let exchanges: Vec<Exchange> = (0..40)
            .map(|i| {
                let mut e = exchange(Some(json!({"Subject": noisy(i)})), 200, "{}");
                e.path = format!("call-{i}");
                e
            })
            .collect();
        let policy = PayloadPolicy {
            max_bytes: 8 * 1024,
            ..PayloadPolicy::default()
        };
        let doc = round_trip(&exchanges, &policy);
        let kept = doc["exchanges"].as_array().expect("exchanges");
        assert!(kept.len() >= 2 && kept.len() < 40, "{}", kept.len());
        assert_eq!(doc["omitted"].as_u64(), Some(40 - kept.len() as u64));
        assert_eq!(kept[0]["path"], "call-0");
        assert_eq!(kept[kept.len() - 1]["path"], "call-39");
    }

    #[test]
    fn a_single_huge_value_is_cut_to_fit() {
        let huge = noise(7, 200_000);
        let policy = PayloadPolicy {
            max_bytes: 4 * 1024,
            ..PayloadPolicy::default()
        };
        let doc = round_trip(
            &[exchange(Some(json!({"Subject": huge})), 200, "{}")],
            &policy,
        );
        let subject = doc["exchanges"][0]["request"]["Subject"]
            .as_str()
            .expect("subject kept");
        assert!(
            subject.ends_with("more characters]"),
            "{}",
            &subject[subject.len() - 40..]
        );
    }

    #[test]
    fn encoded_query_urls_known_values_and_invalid_addresses_are_masked() {
        // A composite subrequest's SOQL is percent-encoded; a phone lookup is a LIKE pattern.
        let url = "/services/data/v62.0/query?q=SELECT+Id+FROM+Contact+WHERE+Email+%3D+%27jane.doe%40example.com%27+OR+Phone+LIKE+%27%257%257%250%250%259%250%250%251%252%253%27+OR+Id+%3D+%270035g0000004C97AAE%27";
        let request = json!({"compositeRequest": [{"method": "GET", "url": url, "referenceId": "q"}],
            "Subject": "Chat with Jane Doe", "Visitor_Name__c": "Jane Doe"});
        let response = r#"[{"message":"invalid email address: jane.doe@gmail","errorCode":"INVALID_EMAIL_ADDRESS","fieldDiffs":[{"name":"Email","difference":"SAME"}]}]"#;
        let personal = Personal {
            values: vec!["Jane Doe".into(), "jo".into(), "Lea".into(), "Sam".into()],
            redactor: None,
        };
        let doc = round_trip_with(
            &[exchange(Some(request), 400, response)],
            &PayloadPolicy::default(),
            &personal,
        );
        let text = doc.to_string();
        assert!(!text.contains("jane.doe"), "{doc:#}");
        assert!(!text.contains("7%7%0"), "{doc:#}");
        let sent = &doc["exchanges"][0]["request"];
        let url = sent["compositeRequest"][0]["url"].as_str().expect("url");
        assert!(url.contains("Email = '***'"), "{url}");
        assert!(
            url.contains("Id = '0035g0000004C97AAE'"),
            "record ids stay: {url}"
        );
        assert_eq!(sent["Subject"], "Chat with J***");
        assert_eq!(sent["Visitor_Name__c"], "J***");
        let answer = &doc["exchanges"][0]["response"][0];
        assert_eq!(answer["message"], "invalid email address: j***@gmail");
        assert_eq!(
            answer["fieldDiffs"][0]["name"], "Email",
            "a field name, not a person's"
        );
        assert_eq!(
            answer["fieldDiffs"][0]["difference"], "SAME",
            "known values mask whole words only"
        );
        assert!(url.contains("FROM Contact"), "{url}");
        // An error quoting part of a lookup keeps no phone pattern, even of six digits.
        let masker = Masker::new(PayloadKeep::Masked, 1024, &personal);
        assert_eq!(
            masker.text("unexpected token: 'Phone LIKE' near '%0%2%0%7%9%4'"),
            "unexpected token: 'Phone LIKE' near '***'"
        );
        assert_eq!(
            masker.text("sobjects/Lead/00Q5g0000004C97EAE"),
            "sobjects/Lead/00Q5g0000004C97EAE"
        );
    }

    #[test]
    fn the_tenants_redaction_applies_and_dropped_exchanges_are_counted() {
        let redactor = Redactor::new(true, &[r"ORDER-\d+".to_owned()]).expect("patterns");
        let personal = Personal {
            values: Vec::new(),
            redactor: Some(&redactor),
        };
        let request = json!({"Subject": "Refund ORDER-42 card 4111 1111 1111 1111"});
        let packed = pack(
            &Recorded {
                exchanges: vec![exchange(Some(request), 200, "{}")],
                dropped: 5,
            },
            &PayloadPolicy::default(),
            &personal,
        )
        .expect("kept");
        let doc = unpack(&packed).expect("reads");
        let subject = doc["exchanges"][0]["request"]["Subject"]
            .as_str()
            .expect("subject");
        assert!(
            !subject.contains("ORDER-42") && !subject.contains("4111"),
            "{subject}"
        );
        assert_eq!(doc["omitted"], 5);
    }

    #[test]
    fn garbage_does_not_read_as_a_document() {
        assert!(matches!(unpack(b"not gzip"), Err(PayloadError::Gzip(_))));
        assert!(matches!(
            unpack(&gzip(&json!("x"))[..5]),
            Err(PayloadError::Gzip(_))
        ));
    }

    #[test]
    fn a_webhook_copy_is_masked_and_redacted_by_the_policy() {
        let body = json!({
            "topic": "conversation.user.replied",
            "data": {"item": {
                "id": "215",
                "contact": {"email": "jane.doe@example.com", "name": "Jane Doe", "phone": "+44 7700 900123"},
                "conversation_parts": [{"body": "<p>my card is 4111 1111 1111 1111</p>", "author": {"name": "Jane Doe"}}],
                "custom": "call me on +44 7700 900123"
            }},
            "token": "abc-secret"
        })
        .to_string();
        let cards = crate::mapping::redact::Redactor::new(true, &[]).unwrap();
        let personal = Personal {
            values: vec!["Jane Doe".into()],
            redactor: Some(&cards),
        };
        let read = |keep| {
            let policy = PayloadPolicy {
                keep,
                ..PayloadPolicy::default()
            };
            pack_webhook(&body, &policy, &personal).map(|b| unpack(&b).unwrap().to_string())
        };
        let masked = read(PayloadKeep::Masked).unwrap();
        for clear in [
            "jane.doe@example.com",
            "4111",
            "7700 900123",
            "Jane Doe",
            "abc-secret",
        ] {
            assert!(!masked.contains(clear), "{clear} in {masked}");
        }
        assert!(
            masked.contains("conversation.user.replied") && masked.contains("215"),
            "{masked}"
        );
        let full = read(PayloadKeep::Full).unwrap();
        assert!(full.contains("jane.doe@example.com"), "{full}");
        assert!(
            !full.contains("4111 1111") && !full.contains("abc-secret"),
            "{full}"
        );
        assert_eq!(read(PayloadKeep::None), None);
        // Not JSON: kept as text, masked all the same.
        let text = pack_webhook(
            "mail jane.doe@example.com",
            &PayloadPolicy::default(),
            &personal,
        )
        .map(|b| unpack(&b).unwrap().to_string())
        .unwrap();
        assert!(!text.contains("jane.doe@example.com"), "{text}");
    }

    #[test]
    fn the_webhook_copy_lives_days_not_the_retention() {
        assert_eq!(PayloadPolicy::default().webhook_days, DEFAULT_WEBHOOK_DAYS);
        let long = PayloadPolicy {
            webhook_days: 90,
            ..PayloadPolicy::default()
        };
        assert!(long.check().unwrap_err().contains("webhook_days"));
    }

    #[test]
    fn the_policy_checks_its_cap() {
        assert!(PayloadPolicy::default().check().is_ok());
        let tiny = PayloadPolicy {
            max_bytes: 10,
            ..PayloadPolicy::default()
        };
        assert!(tiny.check().unwrap_err().contains("max_bytes"));
    }

    #[test]
    fn the_patterns_compile() {
        assert!(EMAIL.is_match("a@b.co"));
        assert!(PHONE.is_match("+44 7700 900123"));
    }
}
