//! Field encryption for sensitive keys.
//!
//! A secret is stored as an envelope:
//! `enc:v1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>:<crc32>`.
//! The cipher is XChaCha20-Poly1305 with a fresh random 192-bit nonce per envelope (no
//! counter to lose across processes). The associated data binds the store and the key
//! path, so a ciphertext copied to another key or store does not open. The key id is a
//! fingerprint of the data key (not the key), which tells a wrong key from a damaged
//! envelope; the CRC-32 over the envelope's text catches a flipped bit anywhere in it,
//! the id included.
//!
//! Errors never carry the plaintext, the key or the envelope.

use super::error::{Result, StoreError};
use super::path::KeyPath;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::fmt;

/// How every envelope begins.
pub const PREFIX: &str = "enc:v1:";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// A 256-bit data key and its id. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct DataKey {
    id: String,
    key: [u8; 32],
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataKey({})", self.id)
    }
}

impl DataKey {
    /// A new random key, from the OS's random source.
    pub fn generate() -> Result<DataKey> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| StoreError::Crypto {
            code: "KEY_GENERATION_FAILED",
            key: String::new(),
            reason: e.to_string(),
        })?;
        Ok(DataKey::from_bytes(key))
    }

    pub fn from_bytes(key: [u8; 32]) -> DataKey {
        let digest = blake3::keyed_hash(b"tad-store data key fingerprint..", &key);
        let id = digest.as_bytes()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        DataKey { id, key }
    }

    /// The fingerprint envelopes name this key by.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.key
    }
}

fn aad(store_id: &str, path: &KeyPath) -> Vec<u8> {
    format!("tad-store:v1\0{store_id}\0{path}").into_bytes()
}

fn crypto_error(code: &'static str, path: &KeyPath, reason: &str) -> StoreError {
    StoreError::Crypto {
        code,
        key: path.to_string(),
        reason: reason.to_string(),
    }
}

/// The shortest envelope: prefix, a 16-hex-digit key id, the base64 of a nonce and a tag
/// (an empty plaintext), a CRC, and their separators.
const MIN_ENVELOPE_LEN: usize =
    PREFIX.len() + 16 + 1 + (NONCE_LEN + TAG_LEN).div_ceil(3) * 4 + 1 + 8;

/// An envelope-sized text whose prefix differs from `enc:v1:` in exactly one byte: a
/// damaged envelope (a flipped bit), not a plaintext someone wrote.
fn damaged_prefix(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= MIN_ENVELOPE_LEN
        && bytes[..PREFIX.len()]
            .iter()
            .zip(PREFIX.as_bytes())
            .filter(|(a, b)| a != b)
            .count()
            == 1
}

/// Whether a stored string is an envelope (rather than a plaintext).
pub fn is_envelope(text: &str) -> bool {
    text.starts_with(PREFIX)
}

/// The id of the key an envelope names (empty when it names none).
pub fn key_id(envelope: &str) -> &str {
    envelope
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split(':').next())
        .unwrap_or("")
}

/// Encrypts `plaintext` for the value at `path` of store `store_id`.
pub fn seal(key: &DataKey, store_id: &str, path: &KeyPath, plaintext: &[u8]) -> Result<String> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce)
        .map_err(|e| crypto_error("KEY_GENERATION_FAILED", path, &e.to_string()))?;
    let cipher = XChaCha20Poly1305::new((&key.key).into());
    let aad = aad(store_id, path);
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| crypto_error("ENCRYPT_FAILED", path, "the cipher refused the input"))?;
    let mut body = Vec::with_capacity(NONCE_LEN + sealed.len());
    body.extend_from_slice(&nonce);
    body.extend_from_slice(&sealed);
    let text = format!("{PREFIX}{}:{}", key.id, BASE64.encode(body));
    Ok(format!("{text}:{:08x}", crc32fast::hash(text.as_bytes())))
}

/// Decrypts an envelope found at `path`. A damaged envelope is `SECRET_TAMPERED`, one
/// made with a key this store does not hold `DECRYPT_FAILED`, no key at all
/// `KEY_NOT_FOUND`, and a plaintext where an envelope belongs `SECRET_NOT_ENCRYPTED`.
pub fn open(keys: &[DataKey], store_id: &str, path: &KeyPath, envelope: &str) -> Result<Vec<u8>> {
    let tampered = || {
        crypto_error(
            "SECRET_TAMPERED",
            path,
            "the encrypted value is damaged or was altered",
        )
    };
    let Some(rest) = envelope.strip_prefix(PREFIX) else {
        // An envelope whose prefix was damaged is still an envelope, damaged.
        if damaged_prefix(envelope) {
            return Err(tampered());
        }
        return Err(crypto_error(
            "SECRET_NOT_ENCRYPTED",
            path,
            "a sensitive key holds a value that is not encrypted",
        ));
    };
    let (text, check) = envelope.rsplit_once(':').ok_or_else(tampered)?;
    // Compared as text: `A` for `a` in the checksum is a change too.
    if format!("{:08x}", crc32fast::hash(text.as_bytes())) != check || rest.len() < 17 {
        return Err(tampered());
    }
    let (id, body) = text[PREFIX.len()..].split_once(':').ok_or_else(tampered)?;
    if keys.is_empty() {
        return Err(crypto_error(
            "KEY_NOT_FOUND",
            path,
            "no data key is available to decrypt it",
        ));
    }
    let Some(key) = keys.iter().find(|k| k.id == id) else {
        return Err(crypto_error(
            "DECRYPT_FAILED",
            path,
            "it was encrypted with another key than the ones this store holds",
        ));
    };
    let body = BASE64.decode(body).map_err(|_| tampered())?;
    if body.len() < NONCE_LEN + TAG_LEN {
        return Err(tampered());
    }
    let (nonce, sealed) = body.split_at(NONCE_LEN);
    let cipher = XChaCha20Poly1305::new((&key.key).into());
    cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: &aad(store_id, path),
            },
        )
        .map_err(|_| tampered())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn p(s: &str) -> KeyPath {
        KeyPath::parse(s).unwrap()
    }

    #[test]
    fn a_secret_round_trips_and_the_envelope_hides_it() {
        let key = DataKey::generate().unwrap();
        let envelope = seal(&key, "store-1", &p("ai.apiKey"), b"sk-canary-123").unwrap();
        assert!(envelope.starts_with(&format!("enc:v1:{}:", key.id())));
        assert!(!envelope.contains("canary"));
        assert_eq!(
            open(
                std::slice::from_ref(&key),
                "store-1",
                &p("ai.apiKey"),
                &envelope
            )
            .unwrap(),
            b"sk-canary-123"
        );
        assert!(
            !format!("{key:?}").contains(&format!("{:02x}", key.bytes()[0]).repeat(2)),
            "Debug shows the id only"
        );
    }

    #[test]
    fn a_ciphertext_moved_to_another_key_or_store_does_not_open() {
        let key = DataKey::generate().unwrap();
        let envelope = seal(&key, "store-1", &p("ai.apiKey"), b"secret").unwrap();
        let moved = open(
            std::slice::from_ref(&key),
            "store-1",
            &p("profile.token"),
            &envelope,
        )
        .unwrap_err();
        assert_eq!(moved.code(), "SECRET_TAMPERED");
        assert_eq!(
            open(&[key], "store-2", &p("ai.apiKey"), &envelope)
                .unwrap_err()
                .code(),
            "SECRET_TAMPERED"
        );
    }

    #[test]
    fn a_flipped_bit_anywhere_is_tampering() {
        let key = DataKey::generate().unwrap();
        let envelope = seal(&key, "s", &p("k"), b"secret").unwrap();
        let bytes = envelope.as_bytes();
        for at in 0..bytes.len() {
            for bit in 0..8 {
                let mut flipped = bytes.to_vec();
                flipped[at] ^= 1 << bit;
                let Ok(text) = String::from_utf8(flipped) else {
                    continue;
                };
                let err = open(std::slice::from_ref(&key), "s", &p("k"), &text).unwrap_err();
                let code = err.code();
                assert_eq!(code, "SECRET_TAMPERED", "bit {bit} of byte {at}");
                assert!(
                    !err.to_string().contains("secret\""),
                    "no plaintext in errors"
                );
            }
        }
    }

    #[test]
    fn wrong_missing_and_plaintext_are_distinct() {
        let key = DataKey::generate().unwrap();
        let other = DataKey::generate().unwrap();
        let envelope = seal(&key, "s", &p("k"), b"secret").unwrap();
        assert_eq!(
            open(&[other], "s", &p("k"), &envelope).unwrap_err().code(),
            "DECRYPT_FAILED"
        );
        assert_eq!(
            open(&[], "s", &p("k"), &envelope).unwrap_err().code(),
            "KEY_NOT_FOUND"
        );
        assert_eq!(
            open(&[key], "s", &p("k"), "sk-plain").unwrap_err().code(),
            "SECRET_NOT_ENCRYPTED"
        );
    }

    /// A million seals, about three seconds in a test build.
    #[test]
    fn a_million_envelopes_never_repeat_a_nonce() {
        nonces_never_repeat(1_000_000);
    }

    fn nonces_never_repeat(count: usize) {
        let key = DataKey::generate().unwrap();
        let mut seen = HashSet::with_capacity(count);
        for _ in 0..count {
            let envelope = seal(&key, "s", &p("k"), b"x").unwrap();
            let body = BASE64.decode(envelope.split(':').nth(3).unwrap()).unwrap();
            let nonce: [u8; NONCE_LEN] = body[..NONCE_LEN].try_into().unwrap();
            assert!(seen.insert(nonce), "a nonce repeated");
        }
    }
}
