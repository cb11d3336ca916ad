//! Where the data keys that seal sensitive values come from, and where they are kept.
//!
//! A store holds a *key ring*: the current key, which seals every new envelope, then any
//! older keys that still open envelopes (only while a rotation is under way). The ring is
//! either supplied by the app each time it opens the store (an explicit key, or its own
//! `keyProvider`, e.g. Electron `safeStorage`), or kept in a [`KeyStore`]: by default the
//! OS keyring (service `tad-store`, one entry per store, named by the store's id), or, only
//! when the app opts in, a key file beside the store (mode 0600).
//!
//! Errors never carry key material.

use super::crypto::DataKey;
use super::error::{Result, StoreError};
use super::fs::Fs;
use super::snapshot;
use super::store_files::StoreFiles;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The keyring service every store's entry is filed under.
pub const SERVICE: &str = "tad-store";
const RING_PREFIX: &str = "tad-store-keys:v1:";

/// How to supply a key, said in every `KEYRING_UNAVAILABLE` message.
const HOW_TO_SUPPLY: &str = "supply the key yourself with the `keyProvider` option (for \
     example one built on Electron's safeStorage) or `secretKey`, or opt in to a key file \
     beside the store with `keyStore: 'file'`";

/// Where a store's data keys come from.
#[derive(Clone)]
pub enum KeySource {
    /// Keys the app supplies on every open: the first seals, all of them open.
    Supplied(Vec<DataKey>),
    /// Kept in a key store, and created there the first time the store needs one.
    Stored(Arc<dyn KeyStore>),
    /// None can be had (the app's provider said so): the store opens, and its
    /// sensitive values stay sealed and untouched (see [`Secrets`](super::secrets)).
    Missing { code: &'static str, reason: String },
}

/// Keeps key rings by account (a store's id).
pub trait KeyStore: Send + Sync {
    /// The ring kept for `account`; `None` when there is none.
    fn load(&self, account: &str) -> Result<Option<Vec<DataKey>>>;
    /// Replaces the ring for `account`. Kept (durably, for a file) when it returns `Ok`.
    fn save(&self, account: &str, keys: &[DataKey]) -> Result<()>;
}

fn unavailable(reason: String) -> StoreError {
    StoreError::KeyUnavailable {
        code: "KEYRING_UNAVAILABLE",
        reason,
    }
}

/// A ring as text: `tad-store-keys:v1:<base64 key>,<base64 key>…`, current first.
pub fn encode_ring(keys: &[DataKey]) -> Vec<u8> {
    let keys: Vec<String> = keys.iter().map(|k| BASE64.encode(k.bytes())).collect();
    format!("{RING_PREFIX}{}", keys.join(",")).into_bytes()
}

/// Reads what [`encode_ring`] wrote; anything else is refused (never guessed at).
pub fn decode_ring(bytes: &[u8], source: &str) -> Result<Vec<DataKey>> {
    let bad = || StoreError::KeyUnavailable {
        code: "KEY_NOT_FOUND",
        reason: format!("the key kept in {source} is not one tad-store wrote"),
    };
    let text = std::str::from_utf8(bytes).map_err(|_| bad())?;
    let list = text.trim().strip_prefix(RING_PREFIX).ok_or_else(bad)?;
    let keys = list
        .split(',')
        .map(|k| key_from_bytes(&BASE64.decode(k).map_err(|_| bad())?).ok_or_else(bad))
        .collect::<Result<Vec<_>>>()?;
    if keys.is_empty() {
        return Err(bad());
    }
    Ok(keys)
}

/// A data key from exactly 32 bytes.
pub fn key_from_bytes(bytes: &[u8]) -> Option<DataKey> {
    Some(DataKey::from_bytes(bytes.try_into().ok()?))
}

/// A data key the app supplies (`secretKeys`, `rotateKey(newKey)`): exactly 32 bytes.
pub fn supplied_key(bytes: &[u8]) -> Result<DataKey> {
    key_from_bytes(bytes).ok_or_else(|| StoreError::InvalidOption {
        option: "secretKey".into(),
        reason: format!("a data key is 32 bytes, not {}", bytes.len()),
    })
}

/// Where a store keeps the data keys it makes itself (the `keyStore` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyStoreKind {
    /// The OS keyring (Keychain, Credential Manager, Secret Service).
    #[default]
    Keyring,
    /// An opt-in key file beside the store (see [`crate::store_files::StoreFiles::key_file`]).
    File,
}

impl KeyStoreKind {
    pub fn parse(name: Option<&str>) -> Result<KeyStoreKind> {
        match name {
            None | Some("keyring") => Ok(KeyStoreKind::Keyring),
            Some("file") => Ok(KeyStoreKind::File),
            Some(other) => Err(StoreError::InvalidOption {
                option: "keyStore".into(),
                reason: format!("`{other}` is not `keyring` or `file`"),
            }),
        }
    }
}

impl KeySource {
    /// Where the keys of the store at `store` come from, from its options: the app's
    /// `secret_keys`; or none to be had (`unavailable`: the app's provider's error code
    /// and message); or kept by the store (`kind`). `None` is the platform's keyring.
    pub fn from_options(
        secret_keys: Option<Vec<&[u8]>>,
        unavailable: Option<(&str, String)>,
        kind: KeyStoreKind,
        store: &std::path::Path,
        fs: Arc<dyn Fs>,
    ) -> Result<Option<KeySource>> {
        if let Some((code, reason)) = unavailable {
            let code = match code {
                "KEY_NOT_FOUND" => "KEY_NOT_FOUND",
                _ => "KEYRING_UNAVAILABLE",
            };
            return Ok(Some(KeySource::Missing { code, reason }));
        }
        if let Some(keys) = secret_keys {
            let keys = keys.into_iter().map(supplied_key).collect::<Result<_>>()?;
            return Ok(Some(KeySource::Supplied(keys)));
        }
        Ok(match kind {
            KeyStoreKind::Keyring => None,
            KeyStoreKind::File => Some(KeySource::Stored(Arc::new(KeyFile {
                path: StoreFiles::of(store).key_file(),
                fs,
            }))),
        })
    }
}

/// Which keyring a [`KeyringStore`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyringBackend {
    /// The platform's own: Secret Service on Linux, Keychain on macOS, Credential
    /// Manager on Windows.
    Platform,
    /// The Linux kernel keyring (keyutils). It does not survive a reboot, so it is only
    /// chosen explicitly (tests, short-lived sessions).
    #[cfg(target_os = "linux")]
    Keyutils,
    /// The `keyring` crate's in-memory mock, for tests.
    Mock,
}

/// Key rings kept in an OS keyring by the `keyring` crate: service [`SERVICE`], one entry
/// per store named by the store's id.
pub struct KeyringStore {
    backend: KeyringBackend,
    /// Entries already made, by account. The mock keeps its secret in the entry itself,
    /// so reusing it is what lets a mock-backed store be opened twice.
    entries: Mutex<HashMap<String, Arc<keyring::Entry>>>,
}

impl KeyringStore {
    pub fn new(backend: KeyringBackend) -> KeyringStore {
        KeyringStore {
            backend,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entry(&self, account: &str) -> Result<Arc<keyring::Entry>> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = entries.get(account) {
            return Ok(entry.clone());
        }
        let made = match self.backend {
            KeyringBackend::Mock => keyring::mock::default_credential_builder()
                .build(None, SERVICE, account)
                .map(keyring::Entry::new_with_credential),
            #[cfg(target_os = "linux")]
            KeyringBackend::Keyutils => {
                keyring::keyutils::KeyutilsCredential::new_with_target(None, SERVICE, account)
                    .map(|c| keyring::Entry::new_with_credential(Box::new(c)))
            }
            #[cfg(target_os = "linux")]
            KeyringBackend::Platform => {
                keyring::secret_service::SsCredential::new_with_target(None, SERVICE, account)
                    .map(|c| keyring::Entry::new_with_credential(Box::new(c)))
            }
            #[cfg(not(target_os = "linux"))]
            KeyringBackend::Platform => keyring::Entry::new(SERVICE, account),
        }
        .map_err(|e| unavailable(format!("no OS keyring can be used ({e}); {HOW_TO_SUPPLY}")))?;
        let entry = Arc::new(made);
        entries.insert(account.to_string(), entry.clone());
        Ok(entry)
    }

    /// Makes the mock entry for `account` fail its next operation with `error`.
    #[cfg(test)]
    pub fn fail_next(&self, account: &str, error: keyring::Error) -> Result<()> {
        let entry = self.entry(account)?;
        if let Some(mock) = entry
            .get_credential()
            .downcast_ref::<keyring::mock::MockCredential>()
        {
            mock.set_error(error);
        }
        Ok(())
    }
}

impl KeyStore for KeyringStore {
    fn load(&self, account: &str) -> Result<Option<Vec<DataKey>>> {
        match self.entry(account)?.get_secret() {
            Ok(bytes) => decode_ring(&bytes, "the OS keyring").map(Some),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(unavailable(format!(
                "the OS keyring cannot be read ({e}); {HOW_TO_SUPPLY}"
            ))),
        }
    }

    fn save(&self, account: &str, keys: &[DataKey]) -> Result<()> {
        self.entry(account)?
            .set_secret(&encode_ring(keys))
            .map_err(|e| {
                unavailable(match e {
                    // keyutils without a session keyring answers "no entry" to a write.
                    keyring::Error::NoEntry => {
                        format!("the OS keyring has nowhere to keep the key; {HOW_TO_SUPPLY}")
                    }
                    e => format!("the OS keyring cannot keep the key ({e}); {HOW_TO_SUPPLY}"),
                })
            })
    }
}

/// The weaker, opt-in alternative: the ring in a file beside the store, mode 0600 (the
/// umask can only take bits away), written atomically and durably. Anyone who can read
/// the store's directory as its owner can read the key.
pub struct KeyFile {
    pub path: PathBuf,
    pub fs: Arc<dyn Fs>,
}

impl KeyStore for KeyFile {
    fn load(&self, _account: &str) -> Result<Option<Vec<DataKey>>> {
        match self.fs.read(&self.path) {
            Ok(bytes) => decode_ring(&bytes, &self.path.display().to_string()).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io("read", &self.path, &e)),
        }
    }

    fn save(&self, _account: &str, keys: &[DataKey]) -> Result<()> {
        snapshot::write_atomic(&*self.fs, &self.path, &encode_ring(keys), 0o600)
    }
}

/// An in-memory key store shared by reference: what survives a simulated crash in tests.
#[cfg(test)]
#[derive(Default)]
pub struct MemoryKeyStore {
    rings: Mutex<HashMap<String, Vec<u8>>>,
}

#[cfg(test)]
impl MemoryKeyStore {
    /// How many keys the ring for `account` holds.
    pub fn ring_len(&self, account: &str) -> usize {
        self.load(account).ok().flatten().map_or(0, |r| r.len())
    }

    /// The only account kept, if exactly one is.
    pub fn single_account(&self) -> Option<String> {
        let rings = self.rings.lock().unwrap_or_else(|e| e.into_inner());
        (rings.len() == 1)
            .then(|| rings.keys().next().cloned())
            .flatten()
    }
}

#[cfg(test)]
impl KeyStore for MemoryKeyStore {
    fn load(&self, account: &str) -> Result<Option<Vec<DataKey>>> {
        let rings = self.rings.lock().unwrap_or_else(|e| e.into_inner());
        rings
            .get(account)
            .map(|bytes| decode_ring(bytes, "memory"))
            .transpose()
    }

    fn save(&self, account: &str, keys: &[DataKey]) -> Result<()> {
        let mut rings = self.rings.lock().unwrap_or_else(|e| e.into_inner());
        rings.insert(account.to_string(), encode_ring(keys));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ring_round_trips_and_garbage_is_refused() {
        let keys = vec![DataKey::generate().unwrap(), DataKey::generate().unwrap()];
        let back = decode_ring(&encode_ring(&keys), "test").unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].bytes(), keys[0].bytes());
        assert_eq!(back[1].bytes(), keys[1].bytes());
        for garbage in [
            &b""[..],
            b"tad-store-keys:v1:",
            b"hello",
            b"tad-store-keys:v1:AAAA",
        ] {
            assert_eq!(
                decode_ring(garbage, "test").unwrap_err().code(),
                "KEY_NOT_FOUND"
            );
        }
    }

    #[test]
    fn the_mock_keyring_keeps_a_ring_per_store_and_reports_failures() {
        let store = KeyringStore::new(KeyringBackend::Mock);
        assert!(store.load("a").unwrap().is_none());
        let key = DataKey::generate().unwrap();
        store.save("a", std::slice::from_ref(&key)).unwrap();
        assert_eq!(store.load("a").unwrap().unwrap()[0].id(), key.id());
        assert!(store.load("b").unwrap().is_none(), "one entry per store");
        store
            .fail_next("a", keyring::Error::PlatformFailure("no daemon".into()))
            .unwrap();
        let err = store.load("a").unwrap_err();
        assert_eq!(err.code(), "KEYRING_UNAVAILABLE");
        assert!(
            err.to_string().contains("keyProvider"),
            "says how to supply a key"
        );
        assert!(!err.to_string().contains(&BASE64.encode(key.bytes())));
    }

    /// The real kernel keyring. A process has a session keyring only when its login gave
    /// it one; the test joins a new anonymous one first, as `keyctl session` does.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_linux_kernel_keyring_keeps_a_ring() {
        // KEYCTL_JOIN_SESSION_KEYRING with no name: a new session keyring for this process.
        let joined = unsafe { libc::syscall(libc::SYS_keyctl, 1, std::ptr::null::<u8>()) };
        if joined < 0 {
            eprintln!(
                "skipped: this machine has no kernel keyring for this process ({})",
                std::io::Error::last_os_error()
            );
            return;
        }
        let store = KeyringStore::new(KeyringBackend::Keyutils);
        let account = format!("test-{}", std::process::id());
        assert!(store.load(&account).unwrap().is_none());
        let key = DataKey::generate().unwrap();
        store.save(&account, std::slice::from_ref(&key)).unwrap();
        // A fresh store object reads it back from the kernel, not from a cache.
        let again = KeyringStore::new(KeyringBackend::Keyutils);
        assert_eq!(again.load(&account).unwrap().unwrap()[0].id(), key.id());
        again.entry(&account).unwrap().delete_credential().unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("tad-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = KeyFile {
            path: dir.join("config.key"),
            fs: Arc::new(super::super::fs::RealFs),
        };
        assert!(file.load("x").unwrap().is_none());
        file.save("x", &[DataKey::generate().unwrap()]).unwrap();
        let mode = std::fs::metadata(&file.path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(file.load("x").unwrap().unwrap().len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_key_options_choose_one_source_and_refuse_what_they_do_not_know() {
        let fs: Arc<dyn Fs> = Arc::new(crate::sim_fs::SimFs::new());
        let store = std::path::Path::new("/d/config.json");
        assert_eq!(KeyStoreKind::parse(None).unwrap(), KeyStoreKind::Keyring);
        assert_eq!(
            KeyStoreKind::parse(Some("file")).unwrap(),
            KeyStoreKind::File
        );
        let err = KeyStoreKind::parse(Some("vault")).err().unwrap();
        assert_eq!(err.code(), "INVALID_OPTION");
        assert!(err.to_string().contains("keyStore"));
        let key = [7u8; 32];
        let supplied = KeySource::from_options(
            Some(vec![&key[..]]),
            None,
            KeyStoreKind::File,
            store,
            fs.clone(),
        );
        assert!(matches!(supplied, Ok(Some(KeySource::Supplied(keys))) if keys.len() == 1));
        let short = KeySource::from_options(
            Some(vec![&key[..5]]),
            None,
            KeyStoreKind::Keyring,
            store,
            fs.clone(),
        );
        assert_eq!(short.err().unwrap().code(), "INVALID_OPTION");
        let missing = KeySource::from_options(
            Some(vec![&key[..]]),
            Some(("SOMETHING_ELSE", "no keychain".into())),
            KeyStoreKind::Keyring,
            store,
            fs.clone(),
        );
        assert!(matches!(
            missing,
            Ok(Some(KeySource::Missing {
                code: "KEYRING_UNAVAILABLE",
                ..
            }))
        ));
        assert!(matches!(
            KeySource::from_options(None, None, KeyStoreKind::Keyring, store, fs.clone()),
            Ok(None)
        ));
        assert!(matches!(
            KeySource::from_options(None, None, KeyStoreKind::File, store, fs),
            Ok(Some(KeySource::Stored(_)))
        ));
    }
}
