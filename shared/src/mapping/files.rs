//! Chat attachments as Salesforce Files: the key each file carries, a safe file name, the
//! ContentVersion creates of one composite request and the query that finds files again after a
//! crash. Pure; the case writer fetches the bytes and sends the requests.
//!
//! Inserting a ContentVersion creates its ContentDocument, and `FirstPublishLocationId` links
//! that document to the Case (or the person) in the same subrequest. Files are created, never
//! upserted: VersionData cannot be updated, so an upsert matching an earlier upload would fail.
//! Each file carries [`KEY_FIELD`] instead, and a writer that may have crashed after Salesforce
//! stored a file looks its keys up with [`recovery_query`] before uploading again.

use super::state::ConversationState;
use super::transcript::{Line, LineAttachment};
use crate::salesforce::composite::{MAX_SUBREQUESTS, encode_component};
use crate::salesforce::{SalesforceError, Soql, SubRequest};
use base64::Engine;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The file object and its key field, from `salesforce/`.
pub const OBJECT: &str = "ContentVersion";
pub const KEY_FIELD: &str = "Chat_Attachment_Key__c";

/// Text(255) key field; ContentVersion.Title is 255 characters too.
pub const KEY_MAX: usize = 255;
pub const NAME_MAX: usize = 255;
/// The name of a file whose own name is empty or unusable.
pub const DEFAULT_NAME: &str = "attachment";

/// Salesforce reads at most 50 MB (52,428,800 bytes) of JSON per REST request: a blob sent
/// without multipart is "limited to 50 MB of text data or 37.5 MB of base64-encoded data"
/// (REST API Developer Guide, "Insert or Update Blob Data"; `tools/sf-emulator` refuses larger
/// bodies the same way). The composite resource documents no other size limit.
pub const MAX_REQUEST_BYTES: u64 = 52_428_800;

/// File bytes to put in one composite request. Base64 makes them 4/3 larger: 30 MiB of files
/// is 40 MiB of JSON, leaving 10 MiB of the 50 MB for names, keys and any other subrequest.
pub const MAX_FILE_BYTES_PER_REQUEST: u64 = 30 * 1024 * 1024;

/// Files per composite request: one subrequest each.
pub const MAX_FILES_PER_REQUEST: usize = MAX_SUBREQUESTS;

/// The bytes of the `q` parameter a recovery query may take once URL-encoded: Salesforce
/// answers 414 past 16,384 bytes of URI, and the path and host need some of them.
pub const MAX_QUERY_URL_BYTES: usize = 12_000;

/// The value of a `ConversationState::attachments` entry whose attachment stays a link in the
/// transcript (too large, unavailable, or refused by Salesforce); other values are ContentVersion
/// ids.
pub const LINKED: &str = "link";

/// The attachments of `lines` (stored transcript lines: names already redacted) that are neither
/// stored nor linked yet, each URL once, in transcript order.
pub fn unrecorded<'a>(state: &ConversationState, lines: &'a [Line]) -> Vec<&'a LineAttachment> {
    let mut seen = std::collections::BTreeSet::new();
    lines
        .iter()
        .flat_map(|line| &line.attachments)
        .filter(|a| !a.url.is_empty())
        .filter(|a| {
            let hash = url_hash(&a.url);
            !state.attachments.contains_key(&hash) && seen.insert(hash)
        })
        .collect()
}

/// The record a conversation's files are published to: its Case, else the person who chatted,
/// else its first Task. None before any of them exists (the files wait for the next write).
pub fn parent(state: &ConversationState) -> Option<&str> {
    state
        .case
        .as_ref()
        .and_then(|c| c.id.as_deref())
        .or(state.person.as_ref().map(|(p, _)| p.id.as_str()))
        .or(state.task_id.as_deref())
}

/// A fetched attachment on its way to Salesforce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingFile {
    /// [`attachment_key`] of the attachment.
    pub key: String,
    /// The name as the platform gave it (made safe by [`file_subrequests`]).
    pub name: String,
    pub data: Vec<u8>,
    /// The MIME type the platform or the download said, if any.
    pub content_type: Option<String>,
}

/// A short, stable hash of an attachment's URL (16 hex digits): the key of
/// `ConversationState::attachments`.
pub fn url_hash(url: &str) -> String {
    short_hash(url)
}

/// The key a file carries in [`KEY_FIELD`]: the conversation's key (`plan::case_key`) and a
/// hash of the attachment's URL, at most 255 characters. Stable across retries, distinct across
/// conversations: a case key that must be cut (or holds control characters, which SOQL cannot
/// quote) keeps a hash of its whole text.
pub fn attachment_key(case_key: &str, url: &str) -> String {
    let suffix = format!("#file-{}", url_hash(url));
    let room = KEY_MAX - suffix.len();
    let clean: String = case_key
        .chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect();
    let prefix = if clean == case_key && clean.chars().count() <= room {
        clean
    } else {
        let tag = format!("~{}", short_hash(case_key));
        let head: String = clean.chars().take(room - tag.len()).collect();
        head + &tag
    };
    prefix + &suffix
}

/// The file name of an attachment: its own name, else the last segment of its URL, made safe
/// as [`safe_file_name`] says.
pub fn file_name(name: Option<&str>, url: &str) -> String {
    name.and_then(usable_name)
        .or_else(|| usable_name(&url_file_name(url)))
        .unwrap_or_else(|| DEFAULT_NAME.to_owned())
}

/// A name Salesforce and a downloading browser can use: the last path segment (platforms and
/// browsers sometimes send `C:\fakepath\x.png`), without control or direction-override
/// characters (which can disguise an extension), trimmed, at most 255 characters with the
/// extension kept, and [`DEFAULT_NAME`] when nothing is left.
pub fn safe_file_name(name: &str) -> String {
    usable_name(name).unwrap_or_else(|| DEFAULT_NAME.to_owned())
}

fn usable_name(name: &str) -> Option<String> {
    let segment = name
        .split(['/', '\\'])
        .map(clean_segment)
        .rfind(|s| !s.is_empty() && s != "." && s != "..")?;
    Some(cut_keeping_extension(&segment, NAME_MAX))
}

fn clean_segment(segment: &str) -> String {
    segment
        .chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Unicode bidirectional controls: `invoice\u{202E}fdp.exe` shows as `invoiceexe.pdf`.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Cuts `name` to `max` characters, keeping a short extension (`.pdf`) at its end.
fn cut_keeping_extension(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_owned();
    }
    match split_extension(name) {
        (stem, Some(ext)) if ext.chars().count() <= 16 => {
            let keep = max - ext.chars().count() - 1;
            let stem: String = stem.chars().take(keep).collect();
            format!("{}.{ext}", stem.trim_end())
        }
        _ => name.chars().take(max).collect(),
    }
}

/// `receipt.pdf` → (`receipt`, `pdf`); a leading dot is no extension (`.env`).
fn split_extension(name: &str) -> (&str, Option<&str>) {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() => (stem, Some(ext)),
        _ => (name, None),
    }
}

/// The last path segment of a URL, percent-decoded when that gives UTF-8.
fn url_file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let path = path.split_once("://").map_or(path, |(_, rest)| {
        // Only the path names the file, not the host.
        rest.split_once('/').map_or("", |(_, p)| p)
    });
    let segment = path.rsplit('/').next().unwrap_or_default();
    // A name that does not decode to UTF-8 is shown as it was sent.
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .map_or_else(|_| segment.to_owned(), |name| name.into_owned())
}

/// The usual extension of a MIME type, for files whose name has none: Salesforce derives
/// FileType (and the preview) from the extension of PathOnClient.
fn extension_for(content_type: &str) -> Option<&'static str> {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    Some(match essence.as_str() {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/heic" => "heic",
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        "text/csv" => "csv",
        "audio/mpeg" => "mp3",
        "audio/ogg" => "ogg",
        "video/mp4" => "mp4",
        "application/zip" => "zip",
        "application/msword" => "doc",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/vnd.ms-excel" => "xls",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        _ => return None,
    })
}

/// PathOnClient (the safe name, with an extension from the content type when it has none) and
/// Title (that name without its extension, as Salesforce titles a file uploaded in its UI; the
/// extension still shows as the file's type).
fn path_and_title(file: &PendingFile) -> (String, String) {
    let mut path = safe_file_name(&file.name);
    if split_extension(&path).1.is_none()
        && let Some(ext) = file.content_type.as_deref().and_then(extension_for)
    {
        path = cut_keeping_extension(&format!("{path}.{ext}"), NAME_MAX);
    }
    let title = split_extension(&path).0.to_owned();
    (path, title)
}

/// One ContentVersion create per file, published to `parent` (a record id or a reference such
/// as `@{case.id}`), with reference ids `file{start_index}`, `file{start_index + 1}`, ….
pub fn file_subrequests(
    files: &[PendingFile],
    parent: &str,
    start_index: usize,
) -> Vec<(String, SubRequest)> {
    let b64 = base64::engine::general_purpose::STANDARD;
    files
        .iter()
        .enumerate()
        .map(|(i, file)| {
            let reference_id = format!("file{}", start_index + i);
            let (path, title) = path_and_title(file);
            let mut body = Map::new();
            body.insert("Title".into(), json!(title));
            body.insert("PathOnClient".into(), json!(path));
            body.insert("VersionData".into(), json!(b64.encode(&file.data)));
            body.insert("FirstPublishLocationId".into(), json!(parent));
            body.insert(KEY_FIELD.into(), json!(file.key));
            let sub = SubRequest::create(&reference_id, OBJECT, Value::Object(body));
            (reference_id, sub)
        })
        .collect()
}

/// Whether a file of `next` bytes still goes into a request that holds `count` files of
/// `bytes` bytes; an empty request takes any one file.
pub fn fits(count: usize, bytes: u64, next: u64) -> bool {
    count == 0
        || (count < MAX_FILES_PER_REQUEST
            && bytes.saturating_add(next) <= MAX_FILE_BYTES_PER_REQUEST)
}

/// The byte cap to fetch with: the tenant's, but never more than one request can carry.
pub fn fetch_cap(tenant_max_bytes: u64) -> u64 {
    tenant_max_bytes.min(MAX_FILE_BYTES_PER_REQUEST)
}

/// `SELECT Id, Chat_Attachment_Key__c, ContentDocumentId FROM ContentVersion WHERE
/// Chat_Attachment_Key__c IN (…)`: the files a crashed write may already have stored. Fails on
/// an empty list and on a query too long for one URL (see [`recovery_queries`]).
pub fn recovery_query(keys: &[String]) -> Result<String, SalesforceError> {
    let soql = Soql::select(&["Id", KEY_FIELD, "ContentDocumentId"])
        .from(OBJECT)
        .where_in(KEY_FIELD, keys)
        .build()?;
    if encode_component(&soql).len() > MAX_QUERY_URL_BYTES {
        return Err(SalesforceError::InvalidRequest(format!(
            "recovery query for {} keys is too long for one URL",
            keys.len()
        )));
    }
    Ok(soql)
}

/// [`recovery_query`] for any number of keys: as few queries as fit in a URL each.
pub fn recovery_queries(keys: &[String]) -> Result<Vec<String>, SalesforceError> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < keys.len() {
        // The longest run of keys from `start` that still fits; one key always must.
        let mut end = start + 1;
        let mut query = recovery_query(&keys[start..end])?;
        while end < keys.len() {
            match recovery_query(&keys[start..=end]) {
                Ok(q) => {
                    query = q;
                    end += 1;
                }
                Err(_) => break,
            }
        }
        out.push(query);
        start = end;
    }
    Ok(out)
}

/// Key → ContentVersion id, from the records a recovery query returned. Records without both
/// fields are skipped; the first record of a key wins (a key names one upload).
pub fn recovered(records: &[Value]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for record in records {
        if let (Some(key), Some(id)) = (
            record.get(KEY_FIELD).and_then(Value::as_str),
            record.get("Id").and_then(Value::as_str),
        ) {
            out.entry(key.to_owned()).or_insert_with(|| id.to_owned());
        }
    }
    out
}

fn short_hash(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::CompositeRequest;

    const CASE_KEY: &str = "demo:intercom:c1";

    fn file(name: &str, data: &[u8], content_type: Option<&str>) -> PendingFile {
        PendingFile {
            key: attachment_key(CASE_KEY, &format!("https://files.example.com/{name}")),
            name: name.to_owned(),
            data: data.to_vec(),
            content_type: content_type.map(str::to_owned),
        }
    }

    #[test]
    fn keys_are_stable_short_and_tell_conversations_apart() {
        let url = "https://files.example.com/r/1?sig=abc";
        let key = attachment_key(CASE_KEY, url);
        assert_eq!(key, format!("demo:intercom:c1#file-{}", url_hash(url)));
        assert_eq!(url_hash(url).len(), 16);
        assert_eq!(key, attachment_key(CASE_KEY, url), "stable");
        assert_ne!(
            key,
            attachment_key(CASE_KEY, "https://files.example.com/r/2")
        );
        assert_ne!(key, attachment_key("demo:intercom:c2", url));

        // Long case keys are cut to 255 characters, yet two that share their first 255 differ.
        let long_a = format!("demo:intercom:{}a", "é".repeat(300));
        let long_b = format!("demo:intercom:{}b", "é".repeat(300));
        let a = attachment_key(&long_a, url);
        let b = attachment_key(&long_b, url);
        assert_eq!(a.chars().count(), 255);
        assert_eq!(b.chars().count(), 255);
        assert_ne!(a, b);
        assert!(a.starts_with("demo:intercom:éé"));
        assert!(a.ends_with(&format!("#file-{}", url_hash(url))));

        // Control characters cannot go into SOQL: replaced, and the hash keeps keys apart.
        let ctl = attachment_key("demo:tidio:a\u{1}b", url);
        assert!(!ctl.chars().any(char::is_control), "{ctl:?}");
        assert_ne!(ctl, attachment_key("demo:tidio:a_b", url));
        assert!(recovery_query(&[ctl]).is_ok());
    }

    #[test]
    fn file_names_are_made_safe() {
        for (given, safe) in [
            ("receipt.pdf", "receipt.pdf"),
            ("  receipt.pdf \n", "receipt.pdf"),
            ("C:\\fakepath\\photo.png", "photo.png"),
            ("../../etc/passwd", "passwd"),
            ("folder/", "folder"),
            ("re\u{0}ce\u{7}ipt\t.pdf", "receipt.pdf"),
            ("invoice\u{202E}fdp.exe", "invoicefdp.exe"),
            ("", DEFAULT_NAME),
            ("   ", DEFAULT_NAME),
            ("/", DEFAULT_NAME),
            ("..", DEFAULT_NAME),
            ("\u{1}\u{2}", DEFAULT_NAME),
            (".env", ".env"),
        ] {
            assert_eq!(safe_file_name(given), safe, "{given:?}");
        }
        // At most 255 characters, the extension kept.
        let long = format!("{}.pdf", "a".repeat(400));
        let cut = safe_file_name(&long);
        assert_eq!(cut.chars().count(), 255);
        assert!(cut.ends_with("aaa.pdf"));
        let no_ext = "é".repeat(300);
        assert_eq!(safe_file_name(&no_ext).chars().count(), 255);
    }

    #[test]
    fn a_nameless_attachment_is_named_after_its_url() {
        assert_eq!(file_name(Some("a.png"), "https://x.io/b.png"), "a.png");
        assert_eq!(
            file_name(None, "https://x.io/files/My%20Receipt.pdf?sig=1#p"),
            "My Receipt.pdf"
        );
        assert_eq!(file_name(Some("  "), "https://x.io/r/scan.jpg"), "scan.jpg");
        assert_eq!(file_name(None, "https://x.io/"), DEFAULT_NAME);
        assert_eq!(file_name(None, "https://x.io"), DEFAULT_NAME);
        assert_eq!(file_name(None, "https://x.io/a/%2E%2E"), DEFAULT_NAME);
        // Not UTF-8 once decoded: the segment as it is.
        assert_eq!(file_name(None, "https://x.io/%FF.bin"), "%FF.bin");
    }

    #[test]
    fn subrequests_create_content_versions_published_to_the_parent() {
        let files = [
            file("receipt.pdf", b"%PDF-1.7", Some("application/pdf")),
            file(
                "C:\\fakepath\\scan",
                b"\x89PNG",
                Some("image/png; charset=binary"),
            ),
            file("notes", b"hi", None),
        ];
        let subs = file_subrequests(&files, "@{case.id}", 1);
        let refs: Vec<&str> = subs.iter().map(|(r, _)| r.as_str()).collect();
        assert_eq!(refs, ["file1", "file2", "file3"]);
        let mut request = CompositeRequest::new(false);
        for (reference, sub) in &subs {
            assert_eq!(&sub.reference_id, reference);
            request.push(sub.clone()).expect("a valid subrequest");
        }
        assert_eq!(
            request.body(None),
            json!({"allOrNone": false, "collateSubrequests": false, "compositeRequest": [
                {"method": "POST", "url": "/services/data/v62.0/sobjects/ContentVersion",
                 "referenceId": "file1",
                 "body": {"Title": "receipt", "PathOnClient": "receipt.pdf",
                          "VersionData": "JVBERi0xLjc=", "FirstPublishLocationId": "@{case.id}",
                          "Chat_Attachment_Key__c": files[0].key}},
                {"method": "POST", "url": "/services/data/v62.0/sobjects/ContentVersion",
                 "referenceId": "file2",
                 "body": {"Title": "scan", "PathOnClient": "scan.png",
                          "VersionData": "iVBORw==", "FirstPublishLocationId": "@{case.id}",
                          "Chat_Attachment_Key__c": files[1].key}},
                {"method": "POST", "url": "/services/data/v62.0/sobjects/ContentVersion",
                 "referenceId": "file3",
                 "body": {"Title": "notes", "PathOnClient": "notes",
                          "VersionData": "aGk=", "FirstPublishLocationId": "@{case.id}",
                          "Chat_Attachment_Key__c": files[2].key}}
            ]})
        );
        assert_eq!(
            files[0].key,
            format!(
                "demo:intercom:c1#file-{}",
                url_hash("https://files.example.com/receipt.pdf")
            )
        );
        // A known record id works the same; no files, no subrequests.
        let subs = file_subrequests(&files[..1], "500000000000001AAA", 0);
        assert_eq!(subs[0].0, "file0");
        assert_eq!(
            subs[0]
                .1
                .body
                .as_ref()
                .map(|b| &b["FirstPublishLocationId"]),
            Some(&json!("500000000000001AAA"))
        );
        assert!(file_subrequests(&[], "x", 0).is_empty());
    }

    #[test]
    fn titles_keep_dots_and_dotfiles() {
        let cases = [
            ("archive.tar.gz", None, "archive.tar.gz", "archive.tar"),
            (".env", None, ".env", ".env"),
            (".env", Some("text/plain"), ".env.txt", ".env"),
            ("photo", Some("IMAGE/JPEG"), "photo.jpg", "photo"),
            ("photo", Some("application/x-unknown"), "photo", "photo"),
            ("", Some("application/pdf"), "attachment.pdf", "attachment"),
        ];
        for (name, content_type, path, title) in cases {
            let f = file(name, b"", content_type);
            assert_eq!(
                path_and_title(&f),
                (path.to_owned(), title.to_owned()),
                "{name:?} {content_type:?}"
            );
        }
        // The added extension never pushes a name past 255 characters.
        let f = file(&"n".repeat(255), b"", Some("application/pdf"));
        let (path, _) = path_and_title(&f);
        assert_eq!(path.chars().count(), 255);
        assert!(path.ends_with(".pdf"));
    }

    #[test]
    fn requests_are_filled_up_to_the_limits() {
        let mib = 1024 * 1024;
        assert!(fits(0, 0, 100 * mib), "an empty request takes any file");
        assert!(fits(1, 10 * mib, 20 * mib));
        assert!(!fits(1, 10 * mib, 20 * mib + 1));
        assert!(fits(24, 0, 1));
        assert!(!fits(25, 0, 1));
        assert_eq!(fetch_cap(3 * mib), 3 * mib);
        assert_eq!(fetch_cap(u64::MAX), MAX_FILE_BYTES_PER_REQUEST);
        // The budget in base64 plus room for the rest stays under Salesforce's cap.
        assert!(MAX_FILE_BYTES_PER_REQUEST.div_ceil(3) * 4 + 10 * mib <= MAX_REQUEST_BYTES);
    }

    #[test]
    fn the_recovery_query_selects_files_by_key() {
        let keys = vec!["demo:intercom:c1#file-1".to_owned(), "it's".to_owned()];
        assert_eq!(
            recovery_query(&keys).expect("a query"),
            "SELECT Id, Chat_Attachment_Key__c, ContentDocumentId FROM ContentVersion \
             WHERE Chat_Attachment_Key__c IN ('demo:intercom:c1#file-1', 'it\\'s')"
        );
        assert!(recovery_query(&[]).is_err());
        assert!(recovery_query(&["a\u{1}".to_owned()]).is_err());
        // Too many long keys for one URL: split into queries that each fit.
        let many: Vec<String> = (0..60)
            .map(|i| attachment_key(&format!("demo:intercom:{}{i}", "x".repeat(200)), "u"))
            .collect();
        assert!(recovery_query(&many).is_err());
        let queries = recovery_queries(&many).expect("queries");
        assert!(queries.len() > 1);
        let mut seen = 0;
        for q in &queries {
            assert!(encode_component(q).len() <= MAX_QUERY_URL_BYTES);
            seen += q.matches("#file-").count();
        }
        assert_eq!(seen, many.len());
        assert_eq!(recovery_queries(&[]).expect("none"), Vec::<String>::new());
    }

    #[test]
    fn unrecorded_attachments_come_once_in_transcript_order() {
        use crate::event::Role;
        use time::macros::datetime;
        let line = |urls: &[&str]| Line {
            at: datetime!(2026-03-01 10:00 UTC),
            id: None,
            role: Role::Visitor,
            author: None,
            text: String::new(),
            attachments: urls
                .iter()
                .map(|u| LineAttachment {
                    name: None,
                    url: (*u).to_owned(),
                })
                .collect(),
        };
        let lines = [
            line(&["https://x.io/a", "https://x.io/b"]),
            line(&[]),
            line(&["https://x.io/c", "https://x.io/a", ""]),
        ];
        let mut state = ConversationState::default();
        state
            .attachments
            .insert(url_hash("https://x.io/b"), "068000000000001AAA".into());
        let urls: Vec<&str> = unrecorded(&state, &lines)
            .iter()
            .map(|a| a.url.as_str())
            .collect();
        assert_eq!(urls, ["https://x.io/a", "https://x.io/c"]);
        state
            .attachments
            .insert(url_hash("https://x.io/a"), LINKED.into());
        state
            .attachments
            .insert(url_hash("https://x.io/c"), LINKED.into());
        assert!(unrecorded(&state, &lines).is_empty());
    }

    #[test]
    fn files_go_to_the_case_else_the_person_else_the_task() {
        use crate::identity::rules::{Person, PersonKind};
        use crate::mapping::state::{CaseLink, Stamp};
        use time::macros::datetime;
        let mut state = ConversationState::default();
        assert_eq!(parent(&state), None);
        state.task_id = Some("00T000000000001AAA".into());
        assert_eq!(parent(&state), Some("00T000000000001AAA"));
        state.person = Some((
            Person {
                kind: PersonKind::Lead,
                id: "00Q000000000001AAA".into(),
                account_id: None,
            },
            Stamp::new(datetime!(2026-03-01 10:00 UTC), "d1", 0),
        ));
        assert_eq!(parent(&state), Some("00Q000000000001AAA"));
        // A Case not yet written (no id) does not count.
        state.case = Some(CaseLink {
            id: None,
            reused: false,
        });
        assert_eq!(parent(&state), Some("00Q000000000001AAA"));
        state.case = Some(CaseLink {
            id: Some("500000000000001AAA".into()),
            reused: true,
        });
        assert_eq!(parent(&state), Some("500000000000001AAA"));
    }

    #[test]
    fn recovered_maps_keys_to_version_ids() {
        let records = vec![
            json!({"attributes": {"type": "ContentVersion"}, "Id": "068A", KEY_FIELD: "k1",
                   "ContentDocumentId": "069A"}),
            json!({"Id": "068B", KEY_FIELD: "k1", "ContentDocumentId": "069B"}),
            json!({"Id": "068C", KEY_FIELD: null}),
            json!({"Id": "068D", KEY_FIELD: "k2"}),
        ];
        let got = recovered(&records);
        assert_eq!(
            got.into_iter().collect::<Vec<_>>(),
            [("k1".into(), "068A".into()), ("k2".into(), "068D".into())]
        );
    }
}
