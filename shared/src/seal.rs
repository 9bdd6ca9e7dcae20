//! Sealed queue messages: the personal part of a queued event (the event itself, with the
//! visitor, message text and agents, and the resolver's resolution) travels and rests
//! encrypted, so the queues, their dead-letter queues and the parked review items never hold
//! an e-mail or a message in clear.
//!
//! Envelope encryption with KMS: a data key from `GenerateDataKey` (AES-256, under the stack's
//! key, with the tenant as encryption context) seals the personal part with AES-256-GCM; the
//! encrypted data key goes with the message. The routing head (tenant, correlation id,
//! delivery, group, times) stays in clear, so the drainer and the operator's replay route a
//! message without reading it (and without `kms:Decrypt`).
//! <https://docs.aws.amazon.com/kms/latest/developerguide/kms-cryptography.html#enveloping>
//!
//! Data keys are reused per tenant for a few minutes and a bounded number of messages, and
//! opened data keys are cached, so KMS sees a call per tenant per few minutes per warm
//! function, not one per event. A body without `sealed` (older messages, the tests' own
//! sends) is read as it is.

use crate::event::{QueuedEvent, resolution::Resolution};
use crate::store::{StoreError, aws_error};
use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long and for how many messages one data key seals (random 96-bit nonces stay far
/// from their collision bound at this count).
const DATA_KEY_AGE: Duration = Duration::from_secs(300);
const DATA_KEY_USES: u32 = 100_000;
/// Opened data keys kept, and for how long.
const OPENED_KEYS: usize = 256;
const OPENED_KEY_AGE: Duration = Duration::from_secs(900);
/// The encryption context's key: a data key opens only for the tenant it was made for.
const CONTEXT_TENANT: &str = "chatsync:tenant";
const FORMAT: u8 = 1;

/// The encrypted part of a sealed message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sealed {
    /// Format version.
    pub v: u8,
    /// The KMS-encrypted data key (base64).
    pub key: String,
    pub nonce: String,
    /// AES-256-GCM of `{"event":…,"resolution":…}` with its tag (base64).
    pub data: String,
}

/// The personal part, as sealed.
#[derive(Serialize, Deserialize)]
struct Personal {
    event: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resolution: Option<Resolution>,
}

struct DataKey {
    key: Arc<RandomizedNonceKey>,
    blob: String,
    made: Instant,
    uses: u32,
}

#[derive(Default)]
struct Keys {
    sealing: HashMap<String, DataKey>,
    opened: HashMap<String, (Arc<RandomizedNonceKey>, Instant)>,
}

/// Seals and opens queue messages under one KMS key. Built once per warm function.
pub struct Sealer {
    kms: Client,
    key_id: String,
    keys: Mutex<Keys>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

fn corrupt(reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        what: "sealed message",
        reason: reason.into(),
    }
}

/// An AES-256-GCM key from the plaintext data key KMS answered with.
fn data_key(plain: Option<&Blob>) -> Result<Arc<RandomizedNonceKey>, StoreError> {
    let plain = plain.ok_or_else(|| corrupt("KMS gave no data key"))?;
    RandomizedNonceKey::new(&AES_256_GCM, plain.as_ref())
        .map(Arc::new)
        .map_err(|_| corrupt("the data key has the wrong size"))
}

/// What binds the sealed part to its message: the whole head (every field but `sealed`,
/// keys sorted), so moved under another tenant's, delivery's or conversation's head, or with
/// a head field changed, it no longer opens.
fn aad(head: &Map<String, Value>) -> String {
    let sorted: std::collections::BTreeMap<&String, &Value> = head.iter().collect();
    serde_json::to_string(&sorted).unwrap_or_default()
}

impl Sealer {
    /// `key_id`: the KMS key's ARN (or id or alias) that makes the data keys.
    pub fn new(kms: Client, key_id: impl Into<String>) -> Self {
        Self {
            kms,
            key_id: key_id.into(),
            keys: Mutex::new(Keys::default()),
        }
    }

    /// The message body for `queued`: its head in clear, its personal part sealed.
    pub async fn seal(&self, queued: &QueuedEvent) -> Result<String, StoreError> {
        let Value::Object(mut head) =
            serde_json::to_value(queued).map_err(|e| corrupt(e.to_string()))?
        else {
            return Err(corrupt("an event is not a JSON object"));
        };
        let personal = Personal {
            event: head.remove("event").unwrap_or(Value::Null),
            resolution: queued.resolution.clone(),
        };
        head.remove("resolution");
        let data = serde_json::to_vec(&personal).map_err(|e| corrupt(e.to_string()))?;
        let sealed = self
            .seal_bytes(&queued.tenant_id, &aad(&head), data)
            .await?;
        head.insert(
            "sealed".into(),
            serde_json::to_value(sealed).map_err(|e| corrupt(e.to_string()))?,
        );
        serde_json::to_string(&head).map_err(|e| corrupt(e.to_string()))
    }

    /// The event in a message body, sealed or not. A sealed body that does not open (another
    /// key, a tampered part, a head that is not its own) is an error, never a guess.
    pub async fn open(&self, body: &str) -> Result<QueuedEvent, OpenError> {
        let Value::Object(mut head) = serde_json::from_str(body)? else {
            return Ok(serde_json::from_str(body)?);
        };
        let Some(sealed) = head.remove("sealed") else {
            return Ok(serde_json::from_value(Value::Object(head))?);
        };
        // A clear part beside a sealed one is not what `seal` writes: never read it.
        if head.contains_key("event") || head.contains_key("resolution") {
            return Err(OpenError::Unreadable(
                "a sealed message with a clear event or resolution beside it".into(),
            ));
        }
        let sealed: Sealed = serde_json::from_value(sealed)?;
        let tenant = head
            .get("tenant_id")
            .and_then(Value::as_str)
            .ok_or_else(|| OpenError::Unreadable("no tenant".into()))?
            .to_owned();
        let plain = self
            .open_bytes(&tenant, &aad(&head), &sealed)
            .await
            .map_err(OpenError::from_store)?;
        let personal: Personal = serde_json::from_slice(&plain)?;
        head.insert("event".into(), personal.event);
        if let Some(r) = personal.resolution {
            head.insert("resolution".into(), serde_json::to_value(r)?);
        }
        Ok(serde_json::from_value(Value::Object(head))?)
    }

    /// Seals `plain` for `tenant`, bound to `context` (what it belongs to: it opens only
    /// under the same context).
    /// A Salesforce change as its queue message: the fields sealed, the rest in clear.
    pub async fn seal_change(
        &self,
        change: &crate::event::change::SalesforceChange,
    ) -> Result<String, StoreError> {
        let fields = serde_json::to_vec(&change.fields).map_err(|e| corrupt(e.to_string()))?;
        let sealed = self
            .seal_bytes(&change.tenant_id, &change.seal_context(), fields)
            .await?;
        let Value::Object(mut head) =
            serde_json::to_value(change).map_err(|e| corrupt(e.to_string()))?
        else {
            return Err(corrupt("a change is not a JSON object"));
        };
        head.insert(
            "sealed".into(),
            serde_json::to_value(sealed).map_err(|e| corrupt(e.to_string()))?,
        );
        serde_json::to_string(&head).map_err(|e| corrupt(e.to_string()))
    }

    /// Reads a queue message written by [`Sealer::seal_change`].
    pub async fn open_change(
        &self,
        body: &str,
    ) -> Result<crate::event::change::SalesforceChange, StoreError> {
        let Value::Object(mut head) =
            serde_json::from_str(body).map_err(|e| corrupt(e.to_string()))?
        else {
            return Err(corrupt("a change is not a JSON object"));
        };
        let sealed: Sealed = head
            .remove("sealed")
            .ok_or_else(|| corrupt("a change without its sealed fields"))
            .and_then(|v| serde_json::from_value(v).map_err(|e| corrupt(e.to_string())))?;
        let mut change: crate::event::change::SalesforceChange =
            serde_json::from_value(Value::Object(head)).map_err(|e| corrupt(e.to_string()))?;
        let plain = self
            .open_bytes(&change.tenant_id, &change.seal_context(), &sealed)
            .await?;
        change.fields = serde_json::from_slice(&plain).map_err(|e| corrupt(e.to_string()))?;
        Ok(change)
    }

    pub async fn seal_bytes(
        &self,
        tenant: &str,
        context: &str,
        mut plain: Vec<u8>,
    ) -> Result<Sealed, StoreError> {
        let (key, blob) = self.sealing_key(tenant).await?;
        let nonce = key
            .seal_in_place_append_tag(Aad::from(context.as_bytes()), &mut plain)
            .map_err(|_| corrupt("encryption failed"))?;
        Ok(Sealed {
            v: FORMAT,
            key: blob,
            nonce: B64.encode(nonce.as_ref()),
            data: B64.encode(&plain),
        })
    }

    /// What [`Sealer::seal_bytes`] sealed, under the same tenant and context.
    pub async fn open_bytes(
        &self,
        tenant: &str,
        context: &str,
        sealed: &Sealed,
    ) -> Result<Vec<u8>, StoreError> {
        if sealed.v != FORMAT {
            return Err(corrupt(format!("unknown format {}", sealed.v)));
        }
        let key = self.opening_key(tenant, &sealed.key).await?;
        let nonce: [u8; NONCE_LEN] = B64
            .decode(&sealed.nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or_else(|| corrupt("bad nonce"))?;
        let mut data = B64
            .decode(&sealed.data)
            .map_err(|_| corrupt("bad data encoding"))?;
        let plain = key
            .open_in_place(
                Nonce::from(&nonce),
                Aad::from(context.as_bytes()),
                &mut data,
            )
            .map_err(|_| corrupt("it does not open under its data key and context"))?;
        Ok(plain.to_vec())
    }

    /// A text sealed into one string (JSON of [`Sealed`]), for a stored attribute.
    pub async fn seal_text(
        &self,
        tenant: &str,
        context: &str,
        text: &str,
    ) -> Result<String, StoreError> {
        let sealed = self
            .seal_bytes(tenant, context, text.as_bytes().to_vec())
            .await?;
        serde_json::to_string(&sealed).map_err(|e| corrupt(e.to_string()))
    }

    /// What [`Sealer::seal_text`] sealed.
    pub async fn open_text(
        &self,
        tenant: &str,
        context: &str,
        stored: &str,
    ) -> Result<String, StoreError> {
        let sealed: Sealed = serde_json::from_str(stored).map_err(|e| corrupt(e.to_string()))?;
        let plain = self.open_bytes(tenant, context, &sealed).await?;
        String::from_utf8(plain).map_err(|_| corrupt("sealed text is not UTF-8"))
    }

    async fn sealing_key(
        &self,
        tenant: &str,
    ) -> Result<(Arc<RandomizedNonceKey>, String), StoreError> {
        {
            let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(k) = keys.sealing.get_mut(tenant)
                && k.made.elapsed() < DATA_KEY_AGE
                && k.uses < DATA_KEY_USES
            {
                k.uses += 1;
                return Ok((k.key.clone(), k.blob.clone()));
            }
        }
        let out = self
            .kms
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .encryption_context(CONTEXT_TENANT, tenant)
            .send()
            .await
            .map_err(|e| aws_error("kms", "GenerateDataKey", e))?;
        let key = data_key(out.plaintext())?;
        let blob = B64.encode(
            out.ciphertext_blob()
                .ok_or_else(|| corrupt("KMS gave no encrypted data key"))?
                .as_ref(),
        );
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.sealing.insert(
            tenant.to_owned(),
            DataKey {
                key: key.clone(),
                blob: blob.clone(),
                made: Instant::now(),
                uses: 1,
            },
        );
        // What this function sealed, it can open without asking KMS.
        keys.opened
            .insert(blob.clone(), (key.clone(), Instant::now()));
        Ok((key, blob))
    }

    async fn opening_key(
        &self,
        tenant: &str,
        blob: &str,
    ) -> Result<Arc<RandomizedNonceKey>, StoreError> {
        {
            let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((key, at)) = keys.opened.get(blob)
                && at.elapsed() < OPENED_KEY_AGE
            {
                return Ok(key.clone());
            }
        }
        let encrypted = B64
            .decode(blob)
            .map_err(|_| corrupt("bad data key encoding"))?;
        // The key id is named so IAM can scope Decrypt to the one key.
        let out = self
            .kms
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(encrypted))
            .encryption_context(CONTEXT_TENANT, tenant)
            .send()
            .await
            .map_err(|e| {
                // Not a data key of this tenant and key: no retry opens it.
                if e.as_service_error().is_some_and(|s| {
                    s.is_invalid_ciphertext_exception() || s.is_incorrect_key_exception()
                }) {
                    corrupt("KMS does not open its data key (InvalidCiphertext)")
                } else {
                    aws_error("kms", "Decrypt", e)
                }
            })?;
        let key = data_key(out.plaintext())?;
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if keys.opened.len() >= OPENED_KEYS {
            keys.opened
                .retain(|_, (_, at)| at.elapsed() < OPENED_KEY_AGE);
            if keys.opened.len() >= OPENED_KEYS {
                keys.opened.clear();
            }
        }
        keys.opened
            .insert(blob.to_owned(), (key.clone(), Instant::now()));
        Ok(key)
    }
}

/// Why a message body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("queued message is not an event: {0}")]
    Malformed(#[from] serde_json::Error),
    /// Sealed, but it does not open (tampered, another key or tenant, an unknown format): no
    /// retry can read it.
    #[error("sealed message does not open: {0}")]
    Unreadable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl OpenError {
    /// A corrupt sealed part is the message's fault; a KMS failure is the store's.
    fn from_store(e: StoreError) -> Self {
        match e {
            StoreError::Corrupt { reason, .. } => Self::Unreadable(reason),
            other => Self::Store(other),
        }
    }
}

impl crate::error::Classify for OpenError {
    fn class(&self) -> crate::error::ErrorClass {
        match self {
            Self::Malformed(_) | Self::Unreadable(_) => crate::error::ErrorClass::Data,
            Self::Store(e) => e.class(),
        }
    }
}
