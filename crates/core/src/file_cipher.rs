//! electron-store's whole-file encryption (its `encryptionKey` option), for compatibility.
//!
//! The file is `IV ‖ ':' ‖ ciphertext` (‖ a 16-byte tag for AES-256-GCM), where the IV is
//! 16 random bytes and the AES-256 key is PBKDF2-HMAC-SHA512 of the `encryptionKey`,
//! 10,000 iterations, salted with the IV's bytes (conf 13 and later) or, in files older
//! electron-store versions wrote, with the IV decoded as UTF-8 text (`iv.toString()`).
//! Both are read; the IV's bytes are written, as conf writes them today.
//!
//! This is obfuscation more than protection: the key ships inside the app. Sensitive keys
//! get per-field authenticated encryption instead (see [`secrets`](super::secrets)).

use super::error::{Result, StoreError};
use aes::cipher::{
    block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit, StreamCipher,
};
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::aes::Aes256;
use aes_gcm::AesGcm;
use std::path::Path;

const IV_LEN: usize = 16;
const TAG_LEN: usize = 16;
const ITERATIONS: u32 = 10_000;

type CbcEnc = cbc::Encryptor<Aes256>;
type CbcDec = cbc::Decryptor<Aes256>;
type Ctr = ctr::Ctr128BE<Aes256>;
/// AES-256-GCM with Node's 16-byte IV as the nonce.
type Gcm = AesGcm<Aes256, aes_gcm::aead::consts::U16>;

/// conf's `encryptionAlgorithm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Cbc,
    Ctr,
    Gcm,
}

/// The `encryptionKey` and algorithm of a whole-file encrypted store. Its `Debug` never
/// shows the key.
pub struct FileCipher {
    password: Vec<u8>,
    algorithm: Algorithm,
}

impl std::fmt::Debug for FileCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FileCipher({:?})", self.algorithm)
    }
}

impl FileCipher {
    /// `algorithm` is conf's name: `aes-256-cbc` (the default), `aes-256-ctr` or
    /// `aes-256-gcm`.
    pub fn new(password: Vec<u8>, algorithm: Option<&str>) -> Result<FileCipher> {
        let algorithm = match algorithm.unwrap_or("aes-256-cbc") {
            "aes-256-cbc" => Algorithm::Cbc,
            "aes-256-ctr" => Algorithm::Ctr,
            "aes-256-gcm" => Algorithm::Gcm,
            other => {
                return Err(StoreError::InvalidOption {
                    option: "encryptionAlgorithm".into(),
                    reason: format!(
                        "`{other}` is not one of aes-256-cbc, aes-256-gcm, aes-256-ctr"
                    ),
                })
            }
        };
        if password.is_empty() {
            return Err(StoreError::InvalidOption {
                option: "encryptionKey".into(),
                reason: "it is empty".into(),
            });
        }
        Ok(FileCipher {
            password,
            algorithm,
        })
    }

    fn key(&self, salt: &[u8]) -> [u8; 32] {
        let mut key = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha512>(&self.password, salt, ITERATIONS, &mut key);
        key
    }

    /// The file's bytes for `plain`, with a fresh random IV.
    pub fn encrypt(&self, plain: &[u8]) -> Result<Vec<u8>> {
        let mut iv = [0u8; IV_LEN];
        getrandom::fill(&mut iv).map_err(|e| StoreError::KeyUnavailable {
            code: "KEY_GENERATION_FAILED",
            reason: e.to_string(),
        })?;
        let key = self.key(&iv);
        let body = match self.algorithm {
            Algorithm::Cbc => {
                CbcEnc::new(&key.into(), &iv.into()).encrypt_padded_vec_mut::<Pkcs7>(plain)
            }
            Algorithm::Ctr => {
                let mut body = plain.to_vec();
                Ctr::new(&key.into(), &iv.into()).apply_keystream(&mut body);
                body
            }
            // Ciphertext then tag, as conf appends `getAuthTag()`.
            Algorithm::Gcm => Gcm::new(&key.into())
                .encrypt(&iv.into(), plain)
                .map_err(|_| StoreError::Serialize {
                    file: Default::default(),
                    reason: "AES-GCM refused the input".into(),
                })?,
        };
        let mut out = Vec::with_capacity(IV_LEN + 1 + body.len());
        out.extend_from_slice(&iv);
        out.push(b':');
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// The plaintext of a file. A file with no IV separator is taken as plaintext with
    /// CBC, as conf takes it (a store that was not encrypted yet). Whatever does not
    /// decrypt to JSON with either salt is `DECRYPT_FAILED`.
    pub fn decrypt(&self, file: &Path, data: &[u8]) -> Result<Vec<u8>> {
        let failed = || StoreError::FileDecrypt {
            file: file.to_path_buf(),
        };
        if data.get(IV_LEN) != Some(&b':') {
            return match self.algorithm {
                Algorithm::Cbc if is_json(data) => Ok(data.to_vec()),
                _ => Err(failed()),
            };
        }
        let iv: [u8; IV_LEN] = data[..IV_LEN].try_into().map_err(|_| failed())?;
        let body = &data[IV_LEN + 1..];
        let legacy_salt = String::from_utf8_lossy(&iv).into_owned();
        for salt in [&iv[..], legacy_salt.as_bytes()] {
            let key = self.key(salt);
            let plain = match self.algorithm {
                Algorithm::Cbc => CbcDec::new(&key.into(), &iv.into())
                    .decrypt_padded_vec_mut::<Pkcs7>(body)
                    .ok(),
                Algorithm::Ctr => {
                    let mut plain = body.to_vec();
                    Ctr::new(&key.into(), &iv.into()).apply_keystream(&mut plain);
                    Some(plain)
                }
                Algorithm::Gcm if body.len() >= TAG_LEN => {
                    Gcm::new(&key.into()).decrypt(&iv.into(), body).ok()
                }
                Algorithm::Gcm => None,
            };
            // Unauthenticated modes "decrypt" with any key: only JSON tells it worked.
            if let Some(plain) = plain.filter(|p| is_json(p)) {
                return Ok(plain);
            }
        }
        Err(failed())
    }
}

fn is_json(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_algorithm_round_trips_and_refuses_a_wrong_key() {
        for algorithm in ["aes-256-cbc", "aes-256-ctr", "aes-256-gcm"] {
            let cipher = FileCipher::new(b"hunter2".to_vec(), Some(algorithm)).unwrap();
            let file = cipher.encrypt(br#"{"a":1}"#).unwrap();
            assert_eq!(file[16], b':');
            assert!(!file.windows(5).any(|w| w == b"\"a\":1"));
            assert_eq!(
                cipher.decrypt(Path::new("f"), &file).unwrap(),
                br#"{"a":1}"#
            );
            let wrong = FileCipher::new(b"hunter3".to_vec(), Some(algorithm)).unwrap();
            let err = wrong.decrypt(Path::new("f"), &file).unwrap_err();
            assert_eq!(err.code(), "DECRYPT_FAILED", "{algorithm}");
        }
    }

    #[test]
    fn a_plain_file_reads_as_is_only_with_cbc_and_bad_options_are_refused() {
        let cbc = FileCipher::new(b"k".to_vec(), None).unwrap();
        assert_eq!(
            cbc.decrypt(Path::new("f"), b"{\"a\":1}").unwrap(),
            b"{\"a\":1}"
        );
        let gcm = FileCipher::new(b"k".to_vec(), Some("aes-256-gcm")).unwrap();
        assert!(gcm.decrypt(Path::new("f"), b"{\"a\":1}").is_err());
        assert_eq!(
            FileCipher::new(b"k".to_vec(), Some("rot13"))
                .unwrap_err()
                .code(),
            "INVALID_OPTION"
        );
        assert!(!format!("{cbc:?}").contains('k'));
    }
}
