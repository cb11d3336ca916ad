//! What an operating system's error number means to the store, per platform: errno on
//! Unix, Win32 error codes on Windows (what `io::Error::raw_os_error` holds there). The
//! tables are the only platform-specific part; what the engine does with the answer is
//! the same everywhere, and tested on Linux.

/// What kind of failure an OS error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OsFailure {
    /// No space (or quota) left.
    DiskFull,
    /// Not allowed: permissions, a read-only filesystem.
    PermissionDenied,
    /// Someone else holds the file for a moment (an antivirus or indexer on Windows; an
    /// interrupted call): trying again shortly can work.
    Busy,
    Other,
}

#[cfg(unix)]
pub fn classify(code: i32) -> OsFailure {
    match code {
        libc::ENOSPC | libc::EDQUOT | libc::EFBIG => OsFailure::DiskFull,
        libc::EACCES | libc::EPERM | libc::EROFS => OsFailure::PermissionDenied,
        libc::EINTR | libc::EAGAIN | libc::EBUSY => OsFailure::Busy,
        _ => OsFailure::Other,
    }
}

/// Win32 codes (winerror.h). A rename over a file that another process has open without
/// `FILE_SHARE_DELETE` fails with ERROR_ACCESS_DENIED or ERROR_SHARING_VIOLATION, which
/// libuv reports as EPERM/EACCES/EBUSY: the failures write-file-atomic and graceful-fs
/// retry. Here they are `Busy` (retried by `fs::Retrying`), not a lasting denial.
#[cfg(windows)]
pub fn classify(code: i32) -> OsFailure {
    const ERROR_ACCESS_DENIED: i32 = 5;
    const ERROR_SHARING_VIOLATION: i32 = 32;
    const ERROR_LOCK_VIOLATION: i32 = 33;
    const ERROR_HANDLE_DISK_FULL: i32 = 39;
    const ERROR_DISK_FULL: i32 = 112;
    const ERROR_WRITE_PROTECT: i32 = 19;
    const ERROR_DISK_QUOTA_EXCEEDED: i32 = 1295;
    match code {
        ERROR_DISK_FULL | ERROR_HANDLE_DISK_FULL | ERROR_DISK_QUOTA_EXCEEDED => OsFailure::DiskFull,
        ERROR_WRITE_PROTECT => OsFailure::PermissionDenied,
        ERROR_ACCESS_DENIED | ERROR_SHARING_VIOLATION | ERROR_LOCK_VIOLATION => OsFailure::Busy,
        _ => OsFailure::Other,
    }
}

#[cfg(not(any(unix, windows)))]
pub fn classify(_code: i32) -> OsFailure {
    OsFailure::Other
}

/// Whether `err` is a failure that a retry shortly after can get past.
pub fn is_busy(err: &std::io::Error) -> bool {
    err.raw_os_error()
        .is_some_and(|code| classify(code) == OsFailure::Busy)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn errno_values_map_to_what_the_store_reports() {
        assert_eq!(classify(libc::ENOSPC), OsFailure::DiskFull);
        assert_eq!(classify(libc::EDQUOT), OsFailure::DiskFull);
        assert_eq!(classify(libc::EROFS), OsFailure::PermissionDenied);
        assert_eq!(classify(libc::EBUSY), OsFailure::Busy);
        assert_eq!(classify(libc::EIO), OsFailure::Other);
        assert!(is_busy(&std::io::Error::from_raw_os_error(libc::EINTR)));
        assert!(!is_busy(&std::io::Error::from(
            std::io::ErrorKind::NotFound
        )));
    }
}
