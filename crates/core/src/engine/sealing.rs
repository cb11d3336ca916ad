//! Sensitive keys over the store's life: finding the data keys at open, sealing plaintext
//! a file held, rotating keys (crash-safe), and dropping whole-file encryption.

use super::changes::set_ops;
use super::state::*;
use crate::document::Node;
use crate::error::{Result, StoreError};
use crate::options::EngineOptions;
use crate::path::KeyPath;
use crate::snapshot;
use crate::{crypto, history, keys, secrets};
use std::sync::Arc;

impl Engine {
    /// Inside the opening transaction: records a new store id, and with `seal_plaintext`
    /// seals sensitive values the file held in plaintext.
    pub(super) fn prepare_secrets(
        &mut self,
        new_id: Option<String>,
        seal_plaintext: bool,
    ) -> Result<()> {
        if let Some(id) = new_id {
            let key = KeyPath::parse(secrets::STORE_ID_KEY)?;
            self.commit_ops(set_ops(vec![(key, Node::String(id.into()))]), false)?;
        }
        if !seal_plaintext {
            return Ok(());
        }
        let plain: Vec<(KeyPath, Node)> = {
            let st = self.shared.lock();
            let Some(secrets) = &st.secrets else {
                return Ok(());
            };
            secrets
                .plaintext_locations(&st.doc)
                .into_iter()
                .filter_map(|l| st.doc.get(&l).cloned().map(|v| (l, v)))
                .collect()
        };
        if plain.is_empty() {
            return Ok(());
        }
        self.report.sealed = plain.iter().map(|(k, _)| k.to_string()).collect();
        self.commit_ops(set_ops(plain), false)?;
        self.seal_backups()?;
        let mut st = self.shared.lock();
        // Every earlier state on disk holds the plaintext: the history goes, the file is
        // rewritten at once.
        st.purge_history = true;
        st.force_checkpoint = true;
        Ok(())
    }

    /// Seals, in place, the plaintext secrets migration backups hold.
    pub(super) fn seal_backups(&self) -> Result<()> {
        let fs = &*self.shared.fs;
        for entry in history::backups(fs, &self.shared.path)? {
            let bytes = fs
                .read(&entry.file)
                .map_err(|e| StoreError::io("read", &entry.file, &e))?;
            let cipher = self.shared.cipher();
            let Ok(mut doc) = snapshot::parse_stored(cipher.as_deref(), &entry.file, &bytes) else {
                continue;
            };
            let sealed = match &self.shared.lock().secrets {
                Some(secrets) => secrets.seal_plaintext(&mut doc)?,
                None => return Ok(()),
            };
            if sealed.is_empty() {
                continue;
            }
            let bytes = snapshot::encode(&entry.file, &doc, None, cipher.as_deref())?;
            snapshot::write_atomic(fs, &entry.file, &bytes, self.shared.file_mode)?;
        }
        Ok(())
    }

    /// Stops encrypting the whole file (electron-store's `encryptionKey`) and rewrites it
    /// as JSON, sealed values sealed: the last step of `migrateToFieldEncryption`.
    /// Durable after a flush; a crash before leaves the encrypted file, after it the new.
    pub fn drop_file_cipher(&self) {
        self.shared
            .file_cipher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        self.shared.lock().force_checkpoint = true;
        self.shared.wake();
    }

    /// The sensitive-key patterns in force (the option's and the schema's).
    pub fn sensitive_keys(&self) -> Vec<String> {
        let st = self.shared.lock();
        st.secrets
            .as_ref()
            .map(|s| s.patterns())
            .unwrap_or_default()
    }

    /// The same patterns as data: segments, `None` for `*` (see
    /// [`secrets::Pattern::segments`]).
    pub fn sensitive_pattern_segments(&self) -> Vec<Vec<Option<String>>> {
        let st = self.shared.lock();
        st.secrets
            .as_ref()
            .map(|s| s.pattern_segments())
            .unwrap_or_default()
    }

    /// Re-encrypts every sensitive value under a new data key (`new`, or a generated
    /// one kept in the key store). Crash-safe: the key store first holds the new key and
    /// the old one, then every envelope is sealed again in one change, and only once that
    /// is durable is the old key dropped; a crash in between leaves both keys readable,
    /// and the next open finishes the rotation. `done` is called when it has finished.
    pub fn rotate_key(&self, new: Option<crypto::DataKey>, done: Completion) {
        let started = (|| {
            let new = match (new, &self.key_store) {
                (Some(key), _) => key,
                (None, Some(_)) => crypto::DataKey::generate()?,
                (None, None) => {
                    return Err(StoreError::InvalidOption {
                        option: "rotateKey".into(),
                        reason: "this store's key is supplied by the app: pass the new key".into(),
                    })
                }
            };
            let mut guard = self.shared.lock();
            let st = &mut *guard;
            let Some(secrets) = st.secrets.as_mut() else {
                return Err(StoreError::InvalidOption {
                    option: "rotateKey".into(),
                    reason: "the store has no sensitive keys".into(),
                });
            };
            if secrets.missing().is_some() {
                // No key was at hand: this one is taken if it opens every envelope, and
                // kept where the store keeps its keys (best effort: the keyring may still
                // be out of reach, and then the app supplies it again next time).
                secrets.supply_key(new.clone(), &st.doc)?;
                if let Some(store) = &self.key_store {
                    if let Err(err) = store.save(secrets.store_id(), std::slice::from_ref(&new)) {
                        self.shared.report(&err);
                    }
                }
                return Ok(());
            }
            let mut ring = vec![new];
            ring.extend(secrets.keys().iter().cloned());
            let previous = secrets.keys().to_vec();
            secrets.set_keys(ring.clone());
            // Nothing changes if an envelope does not open (or the keyring refuses).
            let resealed = secrets.reseal_all(&st.doc).and_then(|resealed| {
                if let Some(store) = &self.key_store {
                    store.save(secrets.store_id(), &ring)?;
                }
                Ok(resealed)
            });
            let resealed = match resealed {
                Ok(resealed) => resealed,
                Err(err) => {
                    if let Some(secrets) = st.secrets.as_mut() {
                        secrets.set_keys(previous);
                    }
                    return Err(err);
                }
            };
            drop(guard);
            self.rules()
                .commit_ops_with(set_ops(resealed), false, false)?;
            Ok(())
        })();
        if let Err(err) = started {
            return done(Err(err));
        }
        let shared = self.shared.clone();
        let key_store = self.key_store.clone();
        self.flush(Box::new(move |result| {
            done(result.and_then(|()| drop_old_keys(&shared, key_store.as_deref())))
        }));
    }

    /// Finishes a rotation a crash interrupted: the key store still holds old keys.
    pub(super) fn finish_rotation(&mut self) -> Result<()> {
        let resealed = {
            let st = self.shared.lock();
            match &st.secrets {
                Some(secrets) if secrets.keys().len() > 1 && !self.shared.read_only => {
                    secrets.reseal_all(&st.doc)?
                }
                _ => return Ok(()),
            }
        };
        self.rules()
            .commit_ops_with(set_ops(resealed), false, false)?;
        self.flush_blocking()?;
        drop_old_keys(&self.shared, self.key_store.as_deref())
    }
}

/// After a whole document replaced the state outside `commit_ops` (a backup or the
/// defaults put in place at open): the store's id goes back in (the envelopes are bound
/// to it) and plaintext at sensitive locations (defaults, an old backup) is sealed, so
/// the secrets invariant holds again.
pub(super) fn restore_secrets_invariant(st: &mut State) -> Result<()> {
    st.doc = with_secrets_invariant(st.secrets.as_ref(), st.doc.clone())?;
    Ok(())
}

/// `doc` with the store's id and every sensitive value sealed (see
/// [`restore_secrets_invariant`]).
pub(super) fn with_secrets_invariant(
    secrets: Option<&secrets::Secrets>,
    mut doc: Node,
) -> Result<Node> {
    let Some(secrets) = secrets else {
        return Ok(doc);
    };
    let id_key = KeyPath::parse(secrets::STORE_ID_KEY)?;
    doc.set(&id_key, Node::String(secrets.store_id().into()))?;
    secrets.seal_plaintext(&mut doc)?;
    Ok(doc)
}

/// The end of a rotation, once the resealed document is durable: only the current key
/// is kept, in memory and in the key store.
pub(super) fn drop_old_keys(shared: &Shared, key_store: Option<&dyn keys::KeyStore>) -> Result<()> {
    let mut st = shared.lock();
    let Some(secrets) = st.secrets.as_mut() else {
        return Ok(());
    };
    let current = secrets.keys()[..1.min(secrets.keys().len())].to_vec();
    if let Some(store) = key_store {
        store.save(secrets.store_id(), &current)?;
    }
    secrets.set_keys(current);
    Ok(())
}

/// The store's sensitive keys, its id and its data keys, as opening finds them: the id
/// from the document (or a new one, returned to be recorded), the keys from the app or
/// the key store (created there when there are none yet). No sensitive keys, no secrets:
/// nothing touches a keyring.
#[allow(clippy::type_complexity)]
pub(super) fn open_secrets(
    options: &EngineOptions,
    doc: &Node,
) -> Result<(
    Option<secrets::Secrets>,
    Option<String>,
    Option<Arc<dyn keys::KeyStore>>,
)> {
    let mut patterns = options.sensitive_keys.clone();
    if let Some(schema) = &options.schema {
        patterns.extend(schema.sensitive_patterns());
    }
    if patterns.is_empty() {
        return Ok((None, None, None));
    }
    let id_key = KeyPath::parse(secrets::STORE_ID_KEY)?;
    let (store_id, new_id) = match doc.get(&id_key) {
        Some(Node::String(id)) if !id.is_empty() => (id.to_string(), None),
        _ => {
            let mut bytes = [0u8; 16];
            getrandom::fill(&mut bytes).map_err(|e| StoreError::KeyUnavailable {
                code: "KEY_GENERATION_FAILED",
                reason: e.to_string(),
            })?;
            let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            (id.clone(), Some(id))
        }
    };
    let supplied = matches!(
        options.key_source,
        Some(keys::KeySource::Supplied(_) | keys::KeySource::Missing { .. })
    );
    let (keys, store, missing) = match options.key_source.clone() {
        Some(keys::KeySource::Supplied(keys)) => (keys, None, None),
        Some(keys::KeySource::Missing { code, reason }) => (Vec::new(), None, Some((code, reason))),
        source => {
            let store: Arc<dyn keys::KeyStore> = match source {
                Some(keys::KeySource::Stored(store)) => store,
                _ => Arc::new(keys::KeyringStore::new(keys::KeyringBackend::Platform)),
            };
            let loaded = store.load(&store_id).and_then(|kept| match kept {
                Some(keys) => Ok(keys),
                // A reader never writes, not even a key: it reads what it can.
                None if options.read_only => Ok(Vec::new()),
                None => {
                    let key = crypto::DataKey::generate()?;
                    store.save(&store_id, std::slice::from_ref(&key))?;
                    Ok(vec![key])
                }
            });
            match loaded {
                Ok(keys) => (keys, Some(store), None),
                // No key to be had: the store opens without one (see `Secrets::without_key`).
                Err(StoreError::KeyUnavailable { code, reason })
                    if matches!(code, "KEYRING_UNAVAILABLE" | "KEY_NOT_FOUND") =>
                {
                    (Vec::new(), Some(store), Some((code, reason)))
                }
                Err(err) => return Err(err),
            }
        }
    };
    let secrets = secrets::Secrets::new(patterns, store_id, keys, supplied, options.literal_keys);
    let secrets = match missing {
        Some((code, reason)) => secrets.without_key(code, reason),
        None => secrets,
    };
    Ok((Some(secrets), new_id, store))
}
