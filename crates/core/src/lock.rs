//! One writer per store: an exclusive advisory lock on `<file>.lock` beside it. Not on
//! the store file itself, which every checkpoint replaces by rename (a lock on the old
//! inode would protect nothing). The holder writes its pid into the lock file, so a
//! refused opener can say who holds it. The OS releases the lock when the holder's
//! descriptor closes, including when the process is killed.

use super::error::{Result, StoreError};
use super::fs::{Fs, FsLock};
use super::store_files::StoreFiles;
use std::io;
use std::path::Path;

/// Takes the store's lock, or fails with `LOCKED` naming the holder's pid.
pub fn acquire(fs: &dyn Fs, store: &Path) -> Result<Box<dyn FsLock>> {
    let path = StoreFiles::of(store).lock();
    match fs.lock(&path) {
        Ok(guard) => {
            let mut file = fs
                .create(&path, 0o600)
                .map_err(|e| StoreError::io("create", &path, &e))?;
            file.write_all(std::process::id().to_string().as_bytes())
                .map_err(|e| StoreError::io("write", &path, &e))?;
            Ok(guard)
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            let pid = fs
                .read(&path)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| s.trim().parse().ok());
            Err(StoreError::Locked {
                file: store.to_path_buf(),
                pid,
            })
        }
        Err(e) => Err(StoreError::io("lock", &path, &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim_fs::SimFs;
    use std::path::PathBuf;

    #[test]
    fn a_second_writer_is_refused_with_the_holders_pid_until_the_first_lets_go() {
        let fs = SimFs::new();
        let store = PathBuf::from("/d/config.json");
        let held = acquire(&fs, &store).unwrap();
        let err = acquire(&fs, &store).err().unwrap();
        assert_eq!(err.code(), "LOCKED");
        let StoreError::Locked { pid, .. } = &err else {
            panic!()
        };
        assert_eq!(*pid, Some(std::process::id()));
        assert!(err.to_string().contains("readOnly"));
        drop(held);
        assert!(acquire(&fs, &store).is_ok());
    }
}
