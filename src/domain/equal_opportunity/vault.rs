//! The document vault: encryption at rest, storage and type detection for the supporting
//! documents of equal-opportunity discount applications (tax notices, identity documents…),
//! the most sensitive data Pupitre holds.
//!
//! # What it does
//!
//! * [`sniff`] decides a document's type from its magic bytes only (never from a file name or a
//!   client-supplied MIME type); [`sha256_hex`] fingerprints the plaintext.
//! * [`seal`] encrypts a document with **envelope encryption**: a fresh random 256-bit data key
//!   encrypts the document with AES-256-GCM, and the data key is itself encrypted ("wrapped") with
//!   AES-256-GCM under the current master key (KEK) from [`MasterKeys`]. [`open`] reverses it,
//!   [`rewrap`] moves a data key to the current master key during a rotation without touching
//!   the (possibly large) encrypted blob.
//! * [`DocumentStore`] keeps the sealed blobs behind one `object_store` interface: a local
//!   directory by default, an S3-compatible bucket later. Objects are named by
//!   [`storage_key`], which holds identifiers only.
//!
//! # Formats (version 1)
//!
//! * blob: `0x01 ‖ nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)`; the associated data binds the
//!   document id, so a blob cannot be swapped for another document's.
//! * wrapped key: `0x01 ‖ nonce (12 bytes) ‖ encrypted data key (32 bytes) ‖ tag (16 bytes)`
//!   (61 bytes); the associated data binds the document id and the master key id.
//!
//! # What it must never do
//!
//! * Never log, print, return in an error or `Debug` output any plaintext, data key or master
//!   key: errors carry no content, [`MasterKeys`]' `Debug` prints key ids only, and the only
//!   log line (a failed integrity check) names the document id and key id.
//! * Never write plaintext to disk: only sealed blobs reach the [`DocumentStore`]; plaintext
//!   lives in memory only, and key material is zeroized when dropped.
//! * Never return unauthenticated data: any tampering yields [`VaultError::Tampered`], never
//!   garbage.
//!
//! One job, one file: the vault's keys, envelope format, type detection and store belong
//! together; reviewing the cryptography means reading them as one.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use base64::Engine as _;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};
use rand::TryRngCore as _;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;
use zeroize::{Zeroize as _, Zeroizing};

/// Version byte at the start of every blob and wrapped key written by this module.
pub const FORMAT_VERSION: u8 = 1;

/// Key id of the development master key (see [`MasterKeys::development`]).
pub const DEVELOPMENT_KID: &str = "dev";

/// The development master keys in the environment format: the ASCII bytes
/// `pupitre-development-key-not-prod`, standard base64, under the key id `dev`.
///
/// Public knowledge, hence worthless for protection: the configuration refuses it in production.
pub const DEVELOPMENT_MASTER_KEYS: &str = "dev:cHVwaXRyZS1kZXZlbG9wbWVudC1rZXktbm90LXByb2Q=";

/// The development master key material (32 ASCII bytes), see [`DEVELOPMENT_MASTER_KEYS`].
const DEVELOPMENT_KEY: [u8; KEY_LEN] = *b"pupitre-development-key-not-prod";

/// Length of data keys and master keys (AES-256).
const KEY_LEN: usize = 32;
/// Length of an AES-GCM nonce (96 bits).
const NONCE_LEN: usize = 12;
/// Length of an AES-GCM tag.
const TAG_LEN: usize = 16;
/// Version byte and nonce.
const HEADER_LEN: usize = 1 + NONCE_LEN;
/// Length of a version-1 wrapped key.
const WRAPPED_KEY_LEN: usize = HEADER_LEN + KEY_LEN + TAG_LEN;
/// Longest accepted key id.
const MAX_KID_LEN: usize = 32;

/// Domain separation of the associated data of document blobs.
const BLOB_AAD_CONTEXT: &[u8] = b"pupitre/vault/v1/document";
/// Domain separation of the associated data of wrapped data keys.
const WRAP_AAD_CONTEXT: &[u8] = b"pupitre/vault/v1/data-key";

const PDF_MAGIC: &[u8] = b"%PDF-";
const JPEG_MAGIC: &[u8] = &[0xFF, 0xD8, 0xFF];
const PNG_MAGIC: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// Accepted document types, decided by content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentType {
    /// A PDF document (`application/pdf`).
    Pdf,
    /// A JPEG image (`image/jpeg`).
    Jpeg,
    /// A PNG image (`image/png`).
    Png,
}

impl DocumentType {
    /// The MIME type to store and to serve the document with.
    #[must_use]
    pub fn mime(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
        }
    }

    /// The conventional file extension (without the dot), for download file names.
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Jpeg => "jpg",
            Self::Png => "png",
        }
    }

    /// Parses a MIME type previously produced by [`DocumentType::mime`] (e.g. read back from the
    /// database). ASCII case and surrounding whitespace are ignored, parameters (`; …`) are
    /// ignored; anything else is `None`. Never use this to decide the type of an upload: use
    /// [`sniff`].
    #[must_use]
    pub fn parse_mime(s: &str) -> Option<Self> {
        let essence = s.split(';').next().unwrap_or_default().trim();
        [Self::Pdf, Self::Jpeg, Self::Png]
            .into_iter()
            .find(|t| t.mime().eq_ignore_ascii_case(essence))
    }
}

/// Decides a document's type by its magic bytes only: PDF `%PDF-` at offset 0; JPEG
/// `FF D8 FF`; PNG the 8-byte signature `89 50 4E 47 0D 0A 1A 0A`. Empty content or anything
/// else is `None` (HTML named `.pdf`, ELF/PE executables, ZIP, GIF, text…).
#[must_use]
pub fn sniff(content: &[u8]) -> Option<DocumentType> {
    if content.starts_with(PDF_MAGIC) {
        Some(DocumentType::Pdf)
    } else if content.starts_with(PNG_MAGIC) {
        Some(DocumentType::Png)
    } else if content.starts_with(JPEG_MAGIC) {
        Some(DocumentType::Jpeg)
    } else {
        None
    }
}

/// The SHA-256 of `content`, as 64 lowercase hexadecimal digits.
#[must_use]
pub fn sha256_hex(content: &[u8]) -> String {
    format!("{:x}", Sha256::digest(content))
}

/// Errors of the vault. None of them carries document content or key material.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The master key configuration is invalid (the message names the key id or entry position,
    /// never key bytes).
    #[error("invalid master keys: {0}")]
    Keys(String),
    /// The wrapped key names a master key id that is not configured.
    #[error("unknown key id")]
    UnknownKey,
    /// The blob, wrapped key, key id or document id was altered (or they do not belong together).
    #[error("the document failed its integrity check")]
    Tampered,
    /// Encryption itself failed (no randomness from the operating system, absurd sizes).
    #[error("encryption failed")]
    Crypto,
    /// The storage backend failed.
    #[error("storage: {0}")]
    Storage(String),
    /// No object is stored under that key.
    #[error("no such stored document")]
    Missing,
}

/// One master key: its id and its 32 bytes, zeroized on drop.
#[derive(Clone)]
struct MasterKey {
    kid: String,
    key: Zeroizing<[u8; KEY_LEN]>,
}

/// Master keys (KEKs) from the environment: `"kid1:BASE64,kid2:BASE64"` (each key 32 bytes,
/// standard base64 with padding; key ids match `[A-Za-z0-9_-]{1,32}`). The FIRST key is
/// current (it wraps new data keys), the others only unwrap (rotation). Key bytes are zeroized
/// on drop; `Debug` prints key ids only.
#[derive(Clone)]
pub struct MasterKeys {
    /// Never empty: the first is the current key.
    keys: Vec<MasterKey>,
}

impl fmt::Debug for MasterKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKeys")
            .field("current", &self.current_kid())
            .field("kids", &self.kids().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl MasterKeys {
    /// Parses `"kid1:BASE64,kid2:BASE64"`. Whitespace around entries is ignored. Errors (empty
    /// input or entry, missing `:`, invalid or duplicate key id, bad base64, length other than
    /// 32 bytes) name the entry position or key id, never key bytes.
    pub fn parse(raw: &str) -> Result<Self, VaultError> {
        if raw.trim().is_empty() {
            return Err(VaultError::Keys("no master key configured".to_owned()));
        }
        let mut keys: Vec<MasterKey> = Vec::new();
        for (index, entry) in raw.split(',').enumerate() {
            let position = index.saturating_add(1);
            let entry = entry.trim();
            if entry.is_empty() {
                return Err(VaultError::Keys(format!("entry {position} is empty")));
            }
            let Some((kid, encoded)) = entry.split_once(':') else {
                return Err(VaultError::Keys(format!(
                    "entry {position} is not of the form kid:BASE64"
                )));
            };
            let kid = kid.trim();
            if !is_valid_kid(kid) {
                return Err(VaultError::Keys(format!(
                    "entry {position}: key id must match [A-Za-z0-9_-]{{1,{MAX_KID_LEN}}}"
                )));
            }
            if keys.iter().any(|k| k.kid == kid) {
                return Err(VaultError::Keys(format!("duplicate key id '{kid}'")));
            }
            let key = decode_key(kid, encoded.trim())?;
            keys.push(MasterKey { kid: kid.to_owned(), key });
        }
        Ok(Self { keys })
    }

    /// The fixed, publicly documented development key ([`DEVELOPMENT_MASTER_KEYS`]), key id
    /// `dev`. It protects nothing: the configuration refuses it in production.
    #[must_use]
    pub fn development() -> Self {
        Self {
            keys: vec![MasterKey {
                kid: DEVELOPMENT_KID.to_owned(),
                key: Zeroizing::new(DEVELOPMENT_KEY),
            }],
        }
    }

    /// The id of the current master key, the one [`seal`] and [`rewrap`] use.
    #[must_use]
    pub fn current_kid(&self) -> &str {
        self.keys.first().map_or("", |k| k.kid.as_str())
    }

    /// All configured key ids, current first.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.kid.as_str())
    }

    /// Whether `kid` is configured (so its wrapped keys can be opened).
    #[must_use]
    pub fn contains(&self, kid: &str) -> bool {
        self.find(kid).is_some()
    }

    /// Whether any configured key is the development key material or uses the reserved key id
    /// `dev`; production configuration must refuse such keys.
    #[must_use]
    pub fn is_development(&self) -> bool {
        self.keys.iter().any(|k| k.kid == DEVELOPMENT_KID || *k.key == DEVELOPMENT_KEY)
    }

    fn current(&self) -> Result<&MasterKey, VaultError> {
        self.keys.first().ok_or_else(|| VaultError::Keys("no master key configured".to_owned()))
    }

    fn find(&self, kid: &str) -> Option<&MasterKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }
}

fn is_valid_kid(kid: &str) -> bool {
    (1..=MAX_KID_LEN).contains(&kid.len())
        && kid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Decodes one base64 master key into a zeroizing buffer (no intermediate heap copy).
fn decode_key(kid: &str, encoded: &str) -> Result<Zeroizing<[u8; KEY_LEN]>, VaultError> {
    // Large enough for any 32-byte key's decoded-length estimate (33); longer input is rejected.
    let mut buffer = Zeroizing::new([0_u8; 48]);
    let written = base64::engine::general_purpose::STANDARD
        .decode_slice(encoded, buffer.as_mut_slice())
        .map_err(|e| match e {
            base64::DecodeSliceError::OutputSliceTooSmall => wrong_length(kid),
            // The decode error would quote an offending character of the key: not repeated.
            base64::DecodeSliceError::DecodeError(_) => {
                VaultError::Keys(format!("key '{kid}' is not valid standard base64"))
            }
        })?;
    let mut key = Zeroizing::new([0_u8; KEY_LEN]);
    match buffer.get(..written) {
        Some(decoded) if decoded.len() == KEY_LEN => key.copy_from_slice(decoded),
        _ => return Err(wrong_length(kid)),
    }
    Ok(key)
}

fn wrong_length(kid: &str) -> VaultError {
    VaultError::Keys(format!("key '{kid}' must decode to exactly {KEY_LEN} bytes"))
}

/// The result of sealing one document: store `key_id` and `wrapped_key` in the database and
/// `blob` in the [`DocumentStore`].
pub struct Sealed {
    /// Id of the master key that wrapped the data key.
    pub key_id: String,
    /// The data key, encrypted under that master key (61 bytes, see the module docs).
    pub wrapped_key: Vec<u8>,
    /// The encrypted document (version ‖ nonce ‖ ciphertext ‖ tag).
    pub blob: Vec<u8>,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed")
            .field("key_id", &self.key_id)
            .field("wrapped_key_len", &self.wrapped_key.len())
            .field("blob_len", &self.blob.len())
            .finish()
    }
}

/// Encrypts `plaintext` under a fresh random 256-bit data key with AES-256-GCM (random 96-bit
/// nonce; blob = version byte ‖ nonce ‖ ciphertext ‖ tag; the associated data binds the
/// document id), then wraps the data key with the current master key (AES-256-GCM, the
/// associated data binds the document id and key id). The data key is zeroized after use.
pub fn seal(keys: &MasterKeys, document_id: Uuid, plaintext: &[u8]) -> Result<Sealed, VaultError> {
    let master = keys.current()?;

    let mut data_key = Zeroizing::new([0_u8; KEY_LEN]);
    fill_random(data_key.as_mut_slice())?;
    let nonce = random_nonce()?;

    let capacity = HEADER_LEN
        .checked_add(plaintext.len())
        .and_then(|n| n.checked_add(TAG_LEN))
        .ok_or(VaultError::Crypto)?;
    let mut blob = Vec::with_capacity(capacity);
    blob.push(FORMAT_VERSION);
    blob.extend_from_slice(&nonce);
    blob.extend_from_slice(plaintext);
    // The capacity is exact, so encrypting in place and appending the tag never reallocates:
    // no plaintext copy is left behind in freed memory.
    let tag = match encrypt_in_place(&data_key, &nonce, &blob_aad(document_id), &mut blob) {
        Ok(tag) => tag,
        Err(e) => {
            blob.zeroize();
            return Err(e);
        }
    };
    blob.extend_from_slice(&tag);

    let wrapped_key = wrap_key(master, document_id, &data_key)?;
    Ok(Sealed { key_id: master.kid.clone(), wrapped_key, blob })
}

/// Decrypts a sealed document. Any tampering of the blob, wrapped key, key id or document id →
/// [`VaultError::Tampered`] (never garbage); a key id that is not configured →
/// [`VaultError::UnknownKey`].
pub fn open(
    keys: &MasterKeys,
    document_id: Uuid,
    key_id: &str,
    wrapped_key: &[u8],
    blob: &[u8],
) -> Result<Vec<u8>, VaultError> {
    let master = keys.find(key_id).ok_or(VaultError::UnknownKey)?;
    let result = unwrap_key(master, document_id, wrapped_key).and_then(|data_key| {
        let (nonce, body) = split_header(blob)?;
        let split = body.len().checked_sub(TAG_LEN).ok_or(VaultError::Tampered)?;
        let (ciphertext, tag) = body.split_at_checked(split).ok_or(VaultError::Tampered)?;
        let mut plaintext = ciphertext.to_vec();
        // On failure the buffer still holds ciphertext: AES-GCM checks the tag before decrypting.
        decrypt_in_place(&data_key, nonce, &blob_aad(document_id), &mut plaintext, tag)?;
        Ok(plaintext)
    });
    if matches!(result, Err(VaultError::Tampered)) {
        tracing::warn!(%document_id, key_id, "sealed document failed its integrity check");
    }
    result
}

/// Re-wraps a document's data key under the current master key (rotation): returns the new key
/// id and wrapped key to store in place of the old ones. The blob is untouched. Errors as for
/// [`open`].
pub fn rewrap(
    keys: &MasterKeys,
    document_id: Uuid,
    key_id: &str,
    wrapped_key: &[u8],
) -> Result<(String, Vec<u8>), VaultError> {
    let old = keys.find(key_id).ok_or(VaultError::UnknownKey)?;
    let data_key = unwrap_key(old, document_id, wrapped_key)?;
    let current = keys.current()?;
    let rewrapped = wrap_key(current, document_id, &data_key)?;
    Ok((current.kid.clone(), rewrapped))
}

fn fill_random(buffer: &mut [u8]) -> Result<(), VaultError> {
    rand::rngs::OsRng.try_fill_bytes(buffer).map_err(|_| VaultError::Crypto)
}

fn random_nonce() -> Result<[u8; NONCE_LEN], VaultError> {
    let mut nonce = [0_u8; NONCE_LEN];
    fill_random(&mut nonce)?;
    Ok(nonce)
}

fn blob_aad(document_id: Uuid) -> Vec<u8> {
    [BLOB_AAD_CONTEXT, document_id.as_bytes()].concat()
}

fn wrap_aad(document_id: Uuid, kid: &str) -> Vec<u8> {
    // Context and document id have fixed lengths, so the key id at the end is unambiguous.
    [WRAP_AAD_CONTEXT, document_id.as_bytes(), kid.as_bytes()].concat()
}

/// Splits `version ‖ nonce ‖ rest`, rejecting unknown versions and short input as tampering.
fn split_header(data: &[u8]) -> Result<([u8; NONCE_LEN], &[u8]), VaultError> {
    let (&version, rest) = data.split_first().ok_or(VaultError::Tampered)?;
    if version != FORMAT_VERSION {
        return Err(VaultError::Tampered);
    }
    let (nonce, rest) = rest.split_at_checked(NONCE_LEN).ok_or(VaultError::Tampered)?;
    let nonce = <[u8; NONCE_LEN]>::try_from(nonce).map_err(|_| VaultError::Tampered)?;
    Ok((nonce, rest))
}

fn cipher(key: &[u8; KEY_LEN]) -> Result<Aes256Gcm, VaultError> {
    Aes256Gcm::new_from_slice(key).map_err(|_| VaultError::Crypto)
}

/// Encrypts `buffer[HEADER_LEN..]` in place and returns the tag.
fn encrypt_in_place(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buffer: &mut [u8],
) -> Result<[u8; TAG_LEN], VaultError> {
    let body = buffer.get_mut(HEADER_LEN..).ok_or(VaultError::Crypto)?;
    let tag = cipher(key)?
        .encrypt_in_place_detached(&Nonce::from(*nonce), aad, body)
        .map_err(|_| VaultError::Crypto)?;
    Ok(tag.into())
}

/// Authenticates then decrypts `buffer` in place; any failure is tampering.
fn decrypt_in_place(
    key: &[u8; KEY_LEN],
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    buffer: &mut [u8],
    tag: &[u8],
) -> Result<(), VaultError> {
    let tag = <[u8; TAG_LEN]>::try_from(tag).map_err(|_| VaultError::Tampered)?;
    cipher(key)?
        .decrypt_in_place_detached(&Nonce::from(nonce), aad, buffer, &Tag::from(tag))
        .map_err(|_| VaultError::Tampered)
}

/// Wraps a data key: `version ‖ nonce ‖ encrypted key ‖ tag`.
fn wrap_key(
    master: &MasterKey,
    document_id: Uuid,
    data_key: &[u8; KEY_LEN],
) -> Result<Vec<u8>, VaultError> {
    let nonce = random_nonce()?;
    let mut wrapped = Vec::with_capacity(WRAPPED_KEY_LEN);
    wrapped.push(FORMAT_VERSION);
    wrapped.extend_from_slice(&nonce);
    wrapped.extend_from_slice(data_key);
    let aad = wrap_aad(document_id, &master.kid);
    let tag = match encrypt_in_place(&master.key, &nonce, &aad, &mut wrapped) {
        Ok(tag) => tag,
        Err(e) => {
            wrapped.zeroize();
            return Err(e);
        }
    };
    wrapped.extend_from_slice(&tag);
    Ok(wrapped)
}

/// Unwraps a data key; any malformation or authentication failure is tampering.
fn unwrap_key(
    master: &MasterKey,
    document_id: Uuid,
    wrapped: &[u8],
) -> Result<Zeroizing<[u8; KEY_LEN]>, VaultError> {
    if wrapped.len() != WRAPPED_KEY_LEN {
        return Err(VaultError::Tampered);
    }
    let (nonce, body) = split_header(wrapped)?;
    let (encrypted, tag) = body.split_at_checked(KEY_LEN).ok_or(VaultError::Tampered)?;
    let mut data_key = Zeroizing::new([0_u8; KEY_LEN]);
    data_key
        .copy_from_slice(<&[u8; KEY_LEN]>::try_from(encrypted).map_err(|_| VaultError::Tampered)?);
    let aad = wrap_aad(document_id, &master.kid);
    decrypt_in_place(&master.key, nonce, &aad, data_key.as_mut_slice(), tag)?;
    Ok(data_key)
}

/// Storage key of a document: `documents/<tenant uuid>/<document uuid>` (identifiers only, no
/// user-supplied text).
#[must_use]
pub fn storage_key(tenant_id: Uuid, document_id: Uuid) -> String {
    format!("documents/{}/{}", tenant_id.as_hyphenated(), document_id.as_hyphenated())
}

/// Where sealed blobs live: one interface over [`object_store`] (a local directory by default,
/// an S3-compatible bucket later). It only ever receives sealed blobs.
#[derive(Clone, Debug)]
pub struct DocumentStore {
    store: Arc<dyn ObjectStore>,
}

impl DocumentStore {
    /// A store in the local directory `dir`, created if missing (mode `0700` on Unix for the
    /// directories this call creates). Writes are fsynced (file and directory) and atomic
    /// (staged file, then rename); empty directories are removed after deletes.
    pub fn local(dir: &Path) -> Result<Self, VaultError> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt as _;
            builder.mode(0o700);
        }
        builder
            .create(dir)
            .map_err(|e| VaultError::Storage(format!("cannot create {}: {e}", dir.display())))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(storage_error)?
            .with_fsync(true)
            .with_automatic_cleanup(true);
        Ok(Self::from_store(Arc::new(store)))
    }

    /// A store over any `object_store` backend (S3-compatible storage later).
    #[must_use]
    pub fn from_store(store: Arc<dyn ObjectStore>) -> Self {
        Self { store }
    }

    /// Stores `blob` under `key`, replacing any previous object.
    pub async fn put(&self, key: &str, blob: Vec<u8>) -> Result<(), VaultError> {
        let location = location(key)?;
        self.store.put(&location, PutPayload::from(blob)).await.map_err(storage_error)?;
        Ok(())
    }

    /// Reads the object under `key`; [`VaultError::Missing`] if there is none.
    pub async fn get(&self, key: &str) -> Result<Vec<u8>, VaultError> {
        let location = location(key)?;
        let result = self.store.get(&location).await.map_err(storage_error)?;
        let bytes = result.bytes().await.map_err(storage_error)?;
        Ok(bytes.into())
    }

    /// Starts a streamed upload of a large sealed file under `key` (an export): the caller
    /// writes its parts, waits for capacity between them, and finishes (or aborts) it.
    pub async fn upload(&self, key: &str) -> Result<object_store::WriteMultipart, VaultError> {
        let location = location(key)?;
        let upload = self.store.put_multipart(&location).await.map_err(storage_error)?;
        Ok(object_store::WriteMultipart::new(upload))
    }

    /// The object under `key` as a stream of chunks, never whole in memory;
    /// [`VaultError::Missing`] if there is none.
    pub async fn stream(
        &self,
        key: &str,
    ) -> Result<
        futures_util::stream::BoxStream<'static, Result<bytes::Bytes, VaultError>>,
        VaultError,
    > {
        use futures_util::StreamExt as _;
        let location = location(key)?;
        let result = self.store.get(&location).await.map_err(storage_error)?;
        Ok(result.into_stream().map(|chunk| chunk.map_err(storage_error)).boxed())
    }

    /// The keys under `prefix` (a folder such as `exports/`) with their last change.
    pub async fn list(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, chrono::DateTime<chrono::Utc>)>, VaultError> {
        use futures_util::TryStreamExt as _;
        let location = location(prefix)?;
        self.store
            .list(Some(&location))
            .map_ok(|m| (m.location.to_string(), m.last_modified))
            .try_collect()
            .await
            .map_err(storage_error)
    }

    /// Deletes the object under `key`; idempotent (a missing object is `Ok`).
    pub async fn delete(&self, key: &str) -> Result<(), VaultError> {
        let location = location(key)?;
        match self.store.delete(&location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(storage_error(e)),
        }
    }
}

fn location(key: &str) -> Result<object_store::path::Path, VaultError> {
    object_store::path::Path::parse(key)
        .map_err(|e| VaultError::Storage(format!("invalid storage key: {e}")))
}

fn storage_error(error: object_store::Error) -> VaultError {
    match error {
        object_store::Error::NotFound { .. } => VaultError::Missing,
        other => VaultError::Storage(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(raw: &str) -> MasterKeys {
        MasterKeys::parse(raw).unwrap()
    }

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn key_entry(kid: &str, fill: u8) -> String {
        format!("{kid}:{}", b64(&[fill; 32]))
    }

    #[test]
    fn sniff_by_magic_bytes() {
        assert_eq!(
            sniff(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"),
            Some(DocumentType::Pdf)
        );
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0]),
            Some(DocumentType::Jpeg)
        );
        assert_eq!(
            sniff(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]),
            Some(DocumentType::Png)
        );
        for rejected in [
            &b"<!DOCTYPE html><html></html>"[..],
            &[0x7F, b'E', b'L', b'F', 2, 1, 1][..],
            &b"MZ\x90\x00\x03"[..],
            &b""[..],
            &b"%PD"[..],
            &b"%PDF"[..],
            &b"GIF89a\x01\x00\x01\x00"[..],
            &b"PK\x03\x04"[..],
            &b" %PDF-1.4"[..],
            &[0xFF, 0xD8][..],
            &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A][..],
        ] {
            assert_eq!(sniff(rejected), None, "{rejected:?}");
        }
    }

    #[test]
    fn mime_round_trip() {
        for t in [DocumentType::Pdf, DocumentType::Jpeg, DocumentType::Png] {
            assert_eq!(DocumentType::parse_mime(t.mime()), Some(t));
        }
        assert_eq!(DocumentType::parse_mime(" Application/PDF; name=x"), Some(DocumentType::Pdf));
        assert_eq!(DocumentType::parse_mime("text/html"), None);
        assert_eq!(DocumentType::parse_mime(""), None);
        assert_eq!(DocumentType::parse_mime("image/gif"), None);
    }

    #[test]
    fn sha256_of_abc() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn parse_errors() {
        let good = b64(&[7; 32]);
        let cases = [
            String::new(),
            "   ".to_owned(),
            format!("k1:{good},"),
            format!("k1{good}"),
            format!(":{good}"),
            format!("bad kid:{good}"),
            format!("{}:{good}", "k".repeat(33)),
            format!("k1:{good},k1:{good}"),
            "k1:not base64!!".to_owned(),
            format!("k1:{}", b64(&[7; 31])),
            format!("k1:{}", b64(&[7; 33])),
            format!("k1:{}", b64(&[7; 64])),
            format!("k1:{}", good.trim_end_matches('=')),
        ];
        for raw in &cases {
            assert!(matches!(MasterKeys::parse(raw), Err(VaultError::Keys(_))), "{raw:?}");
        }
        let parsed = keys(&format!(" k1:{good} , old-2_b:{}", b64(&[8; 32])));
        assert_eq!(parsed.current_kid(), "k1");
        assert_eq!(parsed.kids().collect::<Vec<_>>(), ["k1", "old-2_b"]);
        assert!(!parsed.is_development());
    }

    #[test]
    fn errors_and_debug_never_show_key_bytes() {
        let secret = b64(&[0xAB; 32]);
        let parsed = keys(&format!("k1:{secret}"));
        let debug = format!("{parsed:?}");
        assert!(debug.contains("k1"));
        assert!(!debug.contains(&secret) && !debug.contains("171") && !debug.contains("AB"));
        let err = MasterKeys::parse("k1:q*qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq=").unwrap_err();
        assert!(!err.to_string().contains('*') && !err.to_string().contains("qqq"));
    }

    #[test]
    fn development_keys() {
        let dev = MasterKeys::development();
        assert_eq!(dev.current_kid(), "dev");
        assert!(dev.is_development());
        let parsed = keys(DEVELOPMENT_MASTER_KEYS);
        assert!(parsed.is_development());
        let sealed = seal(&dev, Uuid::nil(), b"x").unwrap();
        assert_eq!(
            open(&parsed, Uuid::nil(), "dev", &sealed.wrapped_key, &sealed.blob).unwrap(),
            b"x"
        );
        // The development key material under another id is still development.
        let disguised = keys(&format!("prod:{}", b64(&DEVELOPMENT_KEY)));
        assert!(disguised.is_development());
    }

    #[test]
    fn seal_open_round_trip_and_formats() {
        let k = keys(&key_entry("k1", 1));
        let id = Uuid::new_v4();
        for plaintext in [&b""[..], &b"hello"[..]] {
            let sealed = seal(&k, id, plaintext).unwrap();
            assert_eq!(sealed.key_id, "k1");
            assert_eq!(sealed.wrapped_key.len(), WRAPPED_KEY_LEN);
            assert_eq!(sealed.blob.len(), HEADER_LEN + plaintext.len() + TAG_LEN);
            assert_eq!(sealed.blob.first(), Some(&FORMAT_VERSION));
            let opened = open(&k, id, "k1", &sealed.wrapped_key, &sealed.blob).unwrap();
            assert_eq!(opened, plaintext);
        }
        // Fresh data key and nonce every time.
        let a = seal(&k, id, b"same").unwrap();
        let b = seal(&k, id, b"same").unwrap();
        assert_ne!(a.blob, b.blob);
        assert_ne!(a.wrapped_key, b.wrapped_key);
        assert!(!format!("{a:?}").contains("same"));
    }

    #[test]
    fn truncated_inputs_are_tampered() {
        let k = keys(&key_entry("k1", 1));
        let id = Uuid::new_v4();
        let sealed = seal(&k, id, b"hello").unwrap();
        for len in 0..sealed.blob.len() {
            assert!(matches!(
                open(&k, id, "k1", &sealed.wrapped_key, &sealed.blob[..len]),
                Err(VaultError::Tampered)
            ));
        }
        for len in 0..sealed.wrapped_key.len() {
            assert!(matches!(
                open(&k, id, "k1", &sealed.wrapped_key[..len], &sealed.blob),
                Err(VaultError::Tampered)
            ));
        }
        let mut longer = sealed.wrapped_key.clone();
        longer.push(0);
        assert!(matches!(open(&k, id, "k1", &longer, &sealed.blob), Err(VaultError::Tampered)));
    }
}
