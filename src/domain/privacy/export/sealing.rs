//! Encryption at rest of an export file, streamed: the ZIP holds the person's decrypted
//! supporting documents, and the vault's rule is that no plaintext document reaches storage.
//!
//! Each export has its own random 256-bit data key, kept in its row sealed by the vault
//! ([`vault::seal`] under the current master key, the export id as associated data), so a master
//! key rotation or loss covers exports as it covers documents. The file is cut into frames of
//! [`FRAME`] plaintext bytes, each encrypted with AES-256-GCM (the STREAM construction of
//! Hoang, Reyhanitabar, Rogaway and Vizár, as in the `aead` crate's `StreamBE32`): nonce =
//! 7-byte random prefix ‖ 32-bit big-endian frame counter ‖ last-frame flag; associated data =
//! the export id. Reordering, dropping, truncating or swapping frames or files fails
//! authentication.
//!
//! File: `PUPX` ‖ version 1 ‖ nonce prefix (7 bytes) ‖ frames, each `ciphertext ‖ tag (16)`;
//! every frame but the last holds exactly [`FRAME`] plaintext bytes, the last 0 to [`FRAME`].
//!
//! Never logs or returns key material or plaintext in an error.

use std::io::{self, Write};

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use rand::TryRngCore as _;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::domain::equal_opportunity::vault::{self, MasterKeys, VaultError};

/// Plaintext bytes per frame.
pub const FRAME: usize = 64 * 1024;
const TAG_LEN: usize = 16;
const PREFIX_LEN: usize = 7;
const MAGIC: &[u8; 4] = b"PUPX";
const VERSION: u8 = 1;
/// Bytes before the first frame.
pub const HEADER_LEN: usize = MAGIC.len() + 1 + PREFIX_LEN;

/// An export's data key.
pub struct DataKey(Zeroizing<[u8; 32]>);

/// The data key as the row keeps it.
pub struct StoredKey {
    pub key_id: String,
    pub wrapped_key: Vec<u8>,
    pub sealed_key: Vec<u8>,
}

impl DataKey {
    /// A fresh random key, and how the row keeps it.
    pub fn generate(
        keys: &MasterKeys,
        export_id: Uuid,
    ) -> Result<(DataKey, StoredKey), VaultError> {
        let mut key = Zeroizing::new([0_u8; 32]);
        rand::rngs::OsRng.try_fill_bytes(key.as_mut_slice()).map_err(|_| VaultError::Crypto)?;
        let sealed = vault::seal(keys, export_id, key.as_slice())?;
        let stored = StoredKey {
            key_id: sealed.key_id,
            wrapped_key: sealed.wrapped_key,
            sealed_key: sealed.blob,
        };
        Ok((DataKey(key), stored))
    }

    /// The key of a row.
    pub fn open(
        keys: &MasterKeys,
        export_id: Uuid,
        stored: &StoredKey,
    ) -> Result<DataKey, VaultError> {
        let plain = Zeroizing::new(vault::open(
            keys,
            export_id,
            &stored.key_id,
            &stored.wrapped_key,
            &stored.sealed_key,
        )?);
        let mut key = Zeroizing::new([0_u8; 32]);
        if plain.len() != key.len() {
            return Err(VaultError::Tampered);
        }
        key.copy_from_slice(&plain);
        Ok(DataKey(key))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(self.0.as_slice().into())
    }
}

fn nonce(prefix: &[u8; PREFIX_LEN], counter: u32, last: bool) -> [u8; 12] {
    let mut n = [0_u8; 12];
    n[..PREFIX_LEN].copy_from_slice(prefix);
    n[PREFIX_LEN..11].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    n
}

/// Encrypts what is written to it into `inner`, frame by frame; [`Sealer::finish`] writes the
/// last frame. Holds one frame of plaintext at most.
pub struct Sealer<W: Write> {
    inner: W,
    cipher: Aes256Gcm,
    prefix: [u8; PREFIX_LEN],
    counter: u32,
    aad: [u8; 16],
    buf: Zeroizing<Vec<u8>>,
    /// Plaintext bytes written so far.
    written: u64,
}

impl<W: Write> Sealer<W> {
    pub fn new(mut inner: W, key: &DataKey, export_id: Uuid) -> io::Result<Self> {
        let mut prefix = [0_u8; PREFIX_LEN];
        rand::rngs::OsRng.try_fill_bytes(&mut prefix).map_err(io::Error::other)?;
        inner.write_all(MAGIC)?;
        inner.write_all(&[VERSION])?;
        inner.write_all(&prefix)?;
        Ok(Sealer {
            inner,
            cipher: key.cipher(),
            prefix,
            counter: 0,
            aad: *export_id.as_bytes(),
            buf: Zeroizing::new(Vec::with_capacity(FRAME + TAG_LEN)),
            written: 0,
        })
    }

    fn emit(&mut self, last: bool) -> io::Result<()> {
        let n = nonce(&self.prefix, self.counter, last);
        let tag = self
            .cipher
            .encrypt_in_place_detached(&Nonce::from(n), &self.aad, &mut self.buf)
            .map_err(|_| io::Error::other("export encryption failed"))?;
        self.inner.write_all(&self.buf)?;
        self.inner.write_all(&tag)?;
        self.buf.clear();
        self.counter = self
            .counter
            .checked_add(1)
            .ok_or_else(|| io::Error::other("export too large for its frame counter"))?;
        Ok(())
    }

    /// Writes the last frame and returns the inner writer and the plaintext size.
    pub fn finish(mut self) -> io::Result<(W, u64)> {
        self.emit(true)?;
        self.inner.flush()?;
        Ok((self.inner, self.written))
    }
}

impl<W: Write> Write for Sealer<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        // A full frame is sealed only once more data comes: the last frame is never a full one
        // sealed as "not last".
        if self.buf.len() == FRAME && !data.is_empty() {
            self.emit(false)?;
        }
        let n = data.len().min(FRAME - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Decrypts a sealed file fed in chunks of any size; holds one frame and a chunk at most.
pub struct Opener {
    cipher: Aes256Gcm,
    prefix: Option<[u8; PREFIX_LEN]>,
    counter: u32,
    aad: [u8; 16],
    buf: Vec<u8>,
}

impl Opener {
    pub fn new(key: &DataKey, export_id: Uuid) -> Self {
        Opener {
            cipher: key.cipher(),
            prefix: None,
            counter: 0,
            aad: *export_id.as_bytes(),
            buf: Vec::with_capacity(2 * (FRAME + TAG_LEN)),
        }
    }

    fn open_frame(&mut self, len: usize, last: bool) -> Result<Vec<u8>, VaultError> {
        let prefix = self.prefix.ok_or(VaultError::Tampered)?;
        let mut frame: Vec<u8> = self.buf.drain(..len).collect();
        let split = frame.len().checked_sub(TAG_LEN).ok_or(VaultError::Tampered)?;
        let tag = <[u8; TAG_LEN]>::try_from(&frame[split..]).map_err(|_| VaultError::Tampered)?;
        let tag = Tag::from(tag);
        frame.truncate(split);
        let n = nonce(&prefix, self.counter, last);
        self.cipher
            .decrypt_in_place_detached(&Nonce::from(n), &self.aad, &mut frame, &tag)
            .map_err(|_| VaultError::Tampered)?;
        self.counter = self.counter.checked_add(1).ok_or(VaultError::Tampered)?;
        Ok(frame)
    }

    /// Feeds a chunk; returns the plaintext of the frames it completed (never the last one).
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, VaultError> {
        self.buf.extend_from_slice(chunk);
        if self.prefix.is_none() {
            if self.buf.len() < HEADER_LEN {
                return Ok(Vec::new());
            }
            if &self.buf[..MAGIC.len()] != MAGIC || self.buf[MAGIC.len()] != VERSION {
                return Err(VaultError::Tampered);
            }
            let mut prefix = [0_u8; PREFIX_LEN];
            prefix.copy_from_slice(&self.buf[MAGIC.len() + 1..HEADER_LEN]);
            self.prefix = Some(prefix);
            self.buf.drain(..HEADER_LEN);
        }
        let mut out = Vec::new();
        // A frame is known not to be the last only once a byte of the next one is here.
        while self.buf.len() > FRAME + TAG_LEN {
            out.extend_from_slice(&self.open_frame(FRAME + TAG_LEN, false)?);
        }
        Ok(out)
    }

    /// The end of the file: the last frame's plaintext; a truncated file fails.
    pub fn finish(mut self) -> Result<Vec<u8>, VaultError> {
        if self.prefix.is_none() {
            return Err(VaultError::Tampered);
        }
        let len = self.buf.len();
        self.open_frame(len, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(len: usize, chunk: usize) {
        let keys = MasterKeys::development();
        let id = Uuid::now_v7();
        let (key, stored) = DataKey::generate(&keys, id).unwrap();
        let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut s = Sealer::new(Vec::new(), &key, id).unwrap();
        for part in plain.chunks(7919) {
            s.write_all(part).unwrap();
        }
        let (sealed, written) = s.finish().unwrap();
        assert_eq!(written, len as u64);
        let key = DataKey::open(&keys, id, &stored).unwrap();
        let mut o = Opener::new(&key, id);
        let mut back = Vec::new();
        for part in sealed.chunks(chunk) {
            back.extend(o.push(part).unwrap());
        }
        back.extend(o.finish().unwrap());
        assert_eq!(back, plain, "len {len}");
    }

    #[test]
    fn files_of_every_length_come_back_whole() {
        for len in [0, 1, FRAME - 1, FRAME, FRAME + 1, 3 * FRAME, 3 * FRAME + 17] {
            roundtrip(len, 1000);
            roundtrip(len, FRAME + TAG_LEN);
        }
    }

    #[test]
    fn a_truncated_or_altered_file_or_another_export_id_fails() {
        let keys = MasterKeys::development();
        let id = Uuid::now_v7();
        let (key, _) = DataKey::generate(&keys, id).unwrap();
        let mut s = Sealer::new(Vec::new(), &key, id).unwrap();
        s.write_all(&vec![7_u8; 2 * FRAME + 5]).unwrap();
        let (sealed, _) = s.finish().unwrap();
        let open = |bytes: &[u8], id: Uuid| -> Result<Vec<u8>, VaultError> {
            let mut o = Opener::new(&key, id);
            let mut out = o.push(bytes)?;
            out.extend(o.finish()?);
            Ok(out)
        };
        assert!(open(&sealed, id).is_ok());
        // Cut after two whole frames: the second is taken as last and fails.
        assert!(open(&sealed[..HEADER_LEN + 2 * (FRAME + TAG_LEN)], id).is_err());
        let mut flipped = sealed.clone();
        flipped[HEADER_LEN + 10] ^= 1;
        assert!(open(&flipped, id).is_err());
        assert!(open(&sealed, Uuid::now_v7()).is_err());
    }
}
