//! The filesystem trait every file operation of the engine goes through, with the real
//! disk behind it in production and a power-loss simulator with fault injection in tests.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

/// An open file the engine writes.
pub trait FsFile: Send {
    /// Writes every byte or fails: a short write is an error, never a success.
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()>;
    /// Makes the file's data durable (fdatasync). After a failure, this handle must not be
    /// trusted again: the kernel may have dropped the dirty pages.
    fn sync(&mut self) -> io::Result<()>;
    fn set_len(&mut self, len: u64) -> io::Result<()>;
}

/// An exclusive advisory lock; released when dropped (or when the process dies).
pub trait FsLock: Send {}

/// The operations the engine needs, and only those.
pub trait Fs: Send + Sync {
    /// Takes an exclusive lock on `path` (created if absent) without waiting:
    /// `ErrorKind::WouldBlock` when another holder has it.
    fn lock(&self, path: &Path) -> io::Result<Box<dyn FsLock>>;
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Reads the file at `path` in pieces, handing each to `each` in order: for a hash
    /// or a comparison that need not hold the whole file (a 10 MiB snapshot checked
    /// while its replacement is in memory). The real disk reads [`READ_PIECE`] bytes at
    /// a time; the simulator hands its one image.
    fn read_each(&self, path: &Path, each: &mut dyn FnMut(&[u8])) -> io::Result<()>;
    /// The size of the file at `path`, without reading it.
    fn len(&self, path: &Path) -> io::Result<u64>;
    /// Creates or truncates `path` for writing, with permission `mode` for a new file.
    fn create(&self, path: &Path, mode: u32) -> io::Result<Box<dyn FsFile>>;
    /// Opens an existing file for appending.
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn FsFile>>;
    /// Atomically replaces `to` with `from`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Atomically swaps the files at `a` and `b` (both must exist), so that what was at
    /// `b` at that instant is kept at `a`, whoever wrote it. `ErrorKind::Unsupported`
    /// where the platform or filesystem has no such operation; the caller then renames.
    fn exchange(&self, a: &Path, b: &Path) -> io::Result<()>;
    /// Renames `from` to `to` only while nothing is at `to` (atomically):
    /// `ErrorKind::AlreadyExists` when something is.
    fn rename_new(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Makes `to` a second name for the file at `from`, replacing `to`.
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()>;
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Makes the directory's entries (creations, renames, removals) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Names of the entries of `dir`.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Whether `dir` is (still) a directory. The simulator has no directory removal, so
    /// its directories always are.
    fn is_dir(&self, dir: &Path) -> bool {
        let _every_simulated_directory_exists = dir;
        true
    }
}

/// A filesystem over another that changes only some of its operations (timing fsyncs,
/// retrying renames, a test's hooks). It names the filesystem below; every operation it
/// does not override goes there, and the blanket impl makes it an [`Fs`]. The forwarding
/// is written once, here, so a layer cannot forget an operation (and fall back to a
/// default, as `is_dir` would).
pub trait FsLayer: Send + Sync {
    fn below(&self) -> &dyn Fs;
    fn lock(&self, path: &Path) -> io::Result<Box<dyn FsLock>> {
        self.below().lock(path)
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.below().read(path)
    }
    fn read_each(&self, path: &Path, each: &mut dyn FnMut(&[u8])) -> io::Result<()> {
        self.below().read_each(path, each)
    }
    fn len(&self, path: &Path) -> io::Result<u64> {
        self.below().len(path)
    }
    fn create(&self, path: &Path, mode: u32) -> io::Result<Box<dyn FsFile>> {
        self.below().create(path, mode)
    }
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        self.below().open_append(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.below().rename(from, to)
    }
    fn exchange(&self, a: &Path, b: &Path) -> io::Result<()> {
        self.below().exchange(a, b)
    }
    fn rename_new(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.below().rename_new(from, to)
    }
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.below().hard_link(from, to)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.below().remove(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.below().sync_dir(dir)
    }
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.below().create_dir_all(dir)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.below().list(dir)
    }
    fn is_dir(&self, dir: &Path) -> bool {
        self.below().is_dir(dir)
    }
}

impl<L: FsLayer> Fs for L {
    fn lock(&self, path: &Path) -> io::Result<Box<dyn FsLock>> {
        FsLayer::lock(self, path)
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        FsLayer::read(self, path)
    }
    fn read_each(&self, path: &Path, each: &mut dyn FnMut(&[u8])) -> io::Result<()> {
        FsLayer::read_each(self, path, each)
    }
    fn len(&self, path: &Path) -> io::Result<u64> {
        FsLayer::len(self, path)
    }
    fn create(&self, path: &Path, mode: u32) -> io::Result<Box<dyn FsFile>> {
        FsLayer::create(self, path, mode)
    }
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        FsLayer::open_append(self, path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        FsLayer::rename(self, from, to)
    }
    fn exchange(&self, a: &Path, b: &Path) -> io::Result<()> {
        FsLayer::exchange(self, a, b)
    }
    fn rename_new(&self, from: &Path, to: &Path) -> io::Result<()> {
        FsLayer::rename_new(self, from, to)
    }
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        FsLayer::hard_link(self, from, to)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        FsLayer::remove(self, path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        FsLayer::sync_dir(self, dir)
    }
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        FsLayer::create_dir_all(self, dir)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        FsLayer::list(self, dir)
    }
    fn is_dir(&self, dir: &Path) -> bool {
        FsLayer::is_dir(self, dir)
    }
}

/// `renameat2` with `flags` (Linux 3.15+; not every filesystem has every flag, e.g. NFS
/// answers EINVAL): `ErrorKind::Unsupported` where it is missing.
#[cfg(target_os = "linux")]
fn rename_with(from: &Path, to: &Path, flags: libc::c_uint) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let from = std::ffi::CString::new(from.as_os_str().as_bytes())?;
    let to = std::ffi::CString::new(to.as_os_str().as_bytes())?;
    // Through syscall(2): glibc before 2.28 has no renameat2 wrapper.
    // SAFETY: both paths are NUL-terminated and outlive the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            flags,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP) => {
            Err(io::Error::new(io::ErrorKind::Unsupported, err))
        }
        _ => Err(err),
    }
}

/// `renamex_np` with `flags` (macOS 10.12+; APFS and HFS+).
#[cfg(target_os = "macos")]
fn rename_with(from: &Path, to: &Path, flags: libc::c_uint) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let from = std::ffi::CString::new(from.as_os_str().as_bytes())?;
    let to = std::ffi::CString::new(to.as_os_str().as_bytes())?;
    // SAFETY: both paths are NUL-terminated and outlive the call.
    if unsafe { libc::renamex_np(from.as_ptr(), to.as_ptr(), flags) } == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::ENOTSUP) => {
            Err(io::Error::new(io::ErrorKind::Unsupported, err))
        }
        _ => Err(err),
    }
}

#[cfg(target_os = "linux")]
fn exchange_files(a: &Path, b: &Path) -> io::Result<()> {
    rename_with(a, b, libc::RENAME_EXCHANGE)
}

#[cfg(target_os = "macos")]
fn exchange_files(a: &Path, b: &Path) -> io::Result<()> {
    rename_with(a, b, libc::RENAME_SWAP)
}

/// Windows has no atomic swap of two names (ReplaceFile is not atomic either).
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn exchange_files(_a: &Path, _b: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "no atomic exchange of two files on this platform",
    ))
}

#[cfg(target_os = "linux")]
fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    rename_with(from, to, libc::RENAME_NOREPLACE)
}

#[cfg(target_os = "macos")]
fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    rename_with(from, to, libc::RENAME_EXCL)
}

/// A hard link never replaces its target (on NTFS as on POSIX); the temporary name is
/// then removed. Filesystems without links (FAT) answer Unsupported.
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::hard_link(from, to)?;
    std::fs::remove_file(from)
}

/// The filesystem of this platform: the real disk, and on Windows with renames and
/// removals retried while another program holds the file ([`Retrying`]).
pub fn platform() -> Arc<dyn Fs> {
    if cfg!(windows) {
        Arc::new(Retrying::new(RealFs))
    } else {
        Arc::new(RealFs)
    }
}

/// A filesystem whose renames and removals are retried, with bounded backoff, while they
/// fail because another program holds the file for a moment. On Windows an antivirus or
/// a search indexer opening a just-written file makes a rename over it fail with
/// ERROR_ACCESS_DENIED or ERROR_SHARING_VIOLATION for a few milliseconds
/// (write-file-atomic and graceful-fs retry for the same reason). Which errors count is
/// [`os_error::is_busy`]'s per-platform table; the retrying is tested on Linux.
pub struct Retrying<F> {
    inner: F,
    /// Waits before each retry; the total is about a second and a half.
    delays: &'static [std::time::Duration],
    sleep: fn(std::time::Duration),
}

/// 10 ms doubling to 640 ms: 1.27 s in all before the failure is reported.
const RETRY_DELAYS: [std::time::Duration; 7] = [
    std::time::Duration::from_millis(10),
    std::time::Duration::from_millis(20),
    std::time::Duration::from_millis(40),
    std::time::Duration::from_millis(80),
    std::time::Duration::from_millis(160),
    std::time::Duration::from_millis(320),
    std::time::Duration::from_millis(640),
];

impl<F: Fs> Retrying<F> {
    pub fn new(inner: F) -> Retrying<F> {
        Retrying {
            inner,
            delays: &RETRY_DELAYS,
            sleep: std::thread::sleep,
        }
    }

    fn retry<T>(&self, mut op: impl FnMut(&F) -> io::Result<T>) -> io::Result<T> {
        let mut delays = self.delays.iter();
        loop {
            match op(&self.inner) {
                Err(e) if super::os_error::is_busy(&e) => match delays.next() {
                    Some(delay) => (self.sleep)(*delay),
                    None => return Err(e),
                },
                other => return other,
            }
        }
    }
}

impl<F: Fs> FsLayer for Retrying<F> {
    fn below(&self) -> &dyn Fs {
        &self.inner
    }
    fn create(&self, path: &Path, mode: u32) -> io::Result<Box<dyn FsFile>> {
        self.retry(|fs| fs.create(path, mode))
    }
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        self.retry(|fs| fs.open_append(path))
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.retry(|fs| fs.rename(from, to))
    }
    fn exchange(&self, a: &Path, b: &Path) -> io::Result<()> {
        self.retry(|fs| fs.exchange(a, b))
    }
    fn rename_new(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.retry(|fs| fs.rename_new(from, to))
    }
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.retry(|fs| fs.hard_link(from, to))
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.retry(|fs| fs.remove(path))
    }
}

/// The real disk.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealFs;

struct RealFile(File);

/// Holds the lock file open; the OS drops the lock with the descriptor.
struct RealLock(#[allow(dead_code)] File);
impl FsLock for RealLock {}

impl FsFile for RealFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        // std's write_all loops over short writes and turns a zero-byte write into an
        // error, so a full disk can never pass for success.
        self.0.write_all(buf)
    }
    /// fdatasync on Linux. On macOS std's `sync_data` is `fcntl(F_FULLFSYNC)` (its
    /// `File::datasync` in library/std/src/sys/fs/unix.rs, for `target_vendor = "apple"`),
    /// which also flushes the drive's cache: a plain fsync there does not survive power
    /// loss. On Windows, `FlushFileBuffers`.
    fn sync(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
}

/// A path that exists but is not a regular file: a directory, a FIFO, a socket, a
/// device. The engine reports it as `NOT_A_FILE`.
#[derive(Debug)]
pub struct NotARegularFile(pub &'static str);

impl std::fmt::Display for NotARegularFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "it is {}, not a regular file", self.0)
    }
}

impl std::error::Error for NotARegularFile {}

/// How much of a file [`Fs::read_each`] holds at once on the real disk.
pub const READ_PIECE: usize = 64 << 10;

/// The file at `path` opened for reading, with its length, once it is known to be a
/// regular file: checked before opening (a FIFO would block the open) and after (the
/// path may have changed in between).
fn open_regular(path: &Path) -> io::Result<(File, u64)> {
    regular(&std::fs::metadata(path)?)?;
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path)?;
    let meta = file.metadata()?;
    regular(&meta)?;
    Ok((file, meta.len()))
}

fn regular(meta: &std::fs::Metadata) -> io::Result<()> {
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(());
    }
    let what = if kind.is_dir() {
        "a directory"
    } else {
        special_kind(&kind)
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        NotARegularFile(what),
    ))
}

#[cfg(unix)]
fn special_kind(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_kind: &std::fs::FileType) -> &'static str {
    "a special file"
}

impl Fs for RealFs {
    fn lock(&self, path: &Path) -> io::Result<Box<dyn FsLock>> {
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path)?;
        file.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => io::Error::from(io::ErrorKind::WouldBlock),
            std::fs::TryLockError::Error(e) => e,
        })?;
        Ok(Box::new(RealLock(file)))
    }
    /// Refuses anything but a regular file before opening it (a FIFO would block the
    /// open forever, a device never end), then checks the file it opened again, in case
    /// the path was swapped in between; the open itself does not block.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        use std::io::Read;
        let (mut file, len) = open_regular(path)?;
        let mut bytes = Vec::with_capacity(len as usize);
        file.read_to_end(&mut bytes)?;
        Ok(bytes)
    }
    fn read_each(&self, path: &Path, each: &mut dyn FnMut(&[u8])) -> io::Result<()> {
        use std::io::Read;
        let (mut file, _) = open_regular(path)?;
        let mut piece = vec![0; READ_PIECE];
        loop {
            match file.read(&mut piece) {
                Ok(0) => return Ok(()),
                Ok(n) => each(&piece[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
    fn len(&self, path: &Path) -> io::Result<u64> {
        std::fs::metadata(path).map(|m| m.len())
    }
    fn create(&self, path: &Path, mode: u32) -> io::Result<Box<dyn FsFile>> {
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        #[cfg(not(unix))]
        let _unused_on_this_platform = mode;
        Ok(Box::new(RealFile(options.open(path)?)))
    }
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(Box::new(RealFile(file)))
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }
    fn exchange(&self, a: &Path, b: &Path) -> io::Result<()> {
        exchange_files(a, b)
    }
    fn rename_new(&self, from: &Path, to: &Path) -> io::Result<()> {
        rename_no_replace(from, to)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        match std::fs::remove_file(to) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        std::fs::hard_link(from, to)
    }
    /// Makes a rename durable. On macOS `sync_all` is F_FULLFSYNC, which some
    /// filesystems refuse on a directory: plain fsync there. Windows has no directory
    /// fsync (a directory opens only with backup semantics, and NTFS journals renames):
    /// nothing to do.
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        #[cfg(unix)]
        {
            let dir = File::open(dir)?;
            match dir.sync_all() {
                #[cfg(target_vendor = "apple")]
                Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOTSUP)) => {
                    use std::os::fd::AsRawFd;
                    // SAFETY: `dir` is an open descriptor for the whole call.
                    match unsafe { libc::fsync(dir.as_raw_fd()) } {
                        0 => Ok(()),
                        _ => Err(io::Error::last_os_error()),
                    }
                }
                other => other,
            }
        }
        #[cfg(not(unix))]
        {
            let _unused_on_this_platform = dir;
            Ok(())
        }
    }
    /// Directories it creates are private to their owner (0700; the umask applies).
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir)
    }
    fn is_dir(&self, dir: &Path) -> bool {
        std::fs::metadata(dir).is_ok_and(|m| m.is_dir())
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        Ok(names)
    }
}

// ---------------------------------------------------------------------------------------
// Power-loss simulator
// ---------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim_fs::{CrashMode, Fault, Image, SimFs};
    use std::path::PathBuf;

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    #[test]
    fn unsynced_data_is_lost_on_power_loss() {
        let fs = SimFs::new();
        let mut f = fs.create(&p("/d/a"), 0o600).unwrap();
        f.write_all(b"hello").unwrap();
        let n = fs.op_count();
        assert!(
            fs.crash_image(n, CrashMode::DurableOnly).is_empty(),
            "name not synced"
        );
        f.sync().unwrap();
        fs.sync_dir(&p("/d")).unwrap();
        let n = fs.op_count();
        assert_eq!(
            fs.crash_image(n, CrashMode::DurableOnly)[&p("/d/a")],
            b"hello"
        );
        f.write_all(b" world").unwrap();
        let n = fs.op_count();
        assert_eq!(
            fs.crash_image(n, CrashMode::DurableOnly)[&p("/d/a")],
            b"hello"
        );
        assert_eq!(
            fs.crash_image(n, CrashMode::Everything)[&p("/d/a")],
            b"hello world"
        );
        assert_eq!(
            fs.crash_image(n, CrashMode::TornLastWrite(2))[&p("/d/a")],
            b"hello w"
        );
    }

    #[test]
    fn a_rename_is_durable_only_after_the_directory_sync() {
        let fs = SimFs::from_image(&Image::from([(p("/d/a"), b"old".to_vec())]));
        let mut f = fs.create(&p("/d/a.tmp"), 0o600).unwrap();
        f.write_all(b"new").unwrap();
        f.sync().unwrap();
        fs.rename(&p("/d/a.tmp"), &p("/d/a")).unwrap();
        let n = fs.op_count();
        assert_eq!(
            fs.crash_image(n, CrashMode::DurableOnly)[&p("/d/a")],
            b"old"
        );
        assert_eq!(fs.crash_image(n, CrashMode::Everything)[&p("/d/a")], b"new");
        fs.sync_dir(&p("/d")).unwrap();
        let n = fs.op_count();
        let image = fs.crash_image(n, CrashMode::DurableOnly);
        assert_eq!(image[&p("/d/a")], b"new");
        assert!(!image.contains_key(&p("/d/a.tmp")));
    }

    #[test]
    fn faults_fail_the_chosen_operation() {
        let fs = SimFs::new();
        fs.set_fault(Some(Fault {
            at: 1,
            errno: libc::ENOSPC,
            sticky: true,
        }));
        let mut f = fs.create(&p("/d/a"), 0o600).unwrap();
        let err = f.write_all(b"0123456789").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOSPC));
        assert_eq!(
            fs.read(&p("/d/a")).unwrap(),
            b"01234",
            "a short write happened"
        );
        assert!(f.sync().is_err(), "sticky");
        fs.heal();
        assert!(f.sync().is_err(), "a handle whose sync failed stays failed");
    }

    #[cfg(unix)]
    #[test]
    fn the_real_disk_reads_regular_files_whole_or_in_pieces_and_refuses_anything_else() {
        use crate::error::StoreError;
        let dir = std::env::temp_dir().join(format!("tad-fs-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let fifo = dir.join("fifo");
        let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo has no other preconditions.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        std::fs::write(dir.join("file"), b"{}").unwrap();
        let fs = RealFs;
        for (path, what) in [
            (fifo.clone(), "a FIFO"),
            (dir.join("sub"), "a directory"),
            (PathBuf::from("/dev/zero"), "a device"),
        ] {
            let whole = fs.read(&path).expect_err("refused");
            let pieces = fs.read_each(&path, &mut |_| {}).expect_err("refused");
            for err in [whole, pieces] {
                match StoreError::io("read", &path, &err) {
                    StoreError::NotAFile { what: found, .. } => assert_eq!(found, what),
                    other => panic!("{path:?}: {other:?}"),
                }
            }
        }
        assert_eq!(fs.read(&dir.join("file")).unwrap(), b"{}");
        // In pieces, the same bytes in order.
        let big: Vec<u8> = (0..3 * READ_PIECE + 17).map(|i| (i % 251) as u8).collect();
        std::fs::write(dir.join("big"), &big).unwrap();
        let mut read = Vec::new();
        fs.read_each(&dir.join("big"), &mut |piece| {
            assert!(piece.len() <= READ_PIECE);
            read.extend_from_slice(piece);
        })
        .unwrap();
        assert_eq!(read, big);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    #[cfg(any(target_os = "linux", target_os = "macos"))]
    fn the_real_disk_exchanges_two_files_atomically() {
        let dir = std::env::temp_dir().join(format!("tad-exchange-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a"), dir.join("b"));
        std::fs::write(&a, b"new").unwrap();
        std::fs::write(&b, b"theirs").unwrap();
        match RealFs.exchange(&a, &b) {
            Ok(()) => {
                assert_eq!(std::fs::read(&a).unwrap(), b"theirs");
                assert_eq!(std::fs::read(&b).unwrap(), b"new");
            }
            // A temporary directory on a filesystem without the operation (rare).
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::Unsupported, "{e}"),
        }
        std::fs::remove_file(&b).unwrap();
        let missing = RealFs.exchange(&a, &b).expect_err("b is gone");
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
        // rename_new: only onto nothing.
        std::fs::write(&b, b"theirs").unwrap();
        let taken = RealFs.rename_new(&a, &b).expect_err("b exists");
        assert_eq!(taken.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&b).unwrap(), b"theirs");
        std::fs::remove_file(&b).unwrap();
        RealFs.rename_new(&a, &b).unwrap();
        assert!(!a.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn renames_are_retried_while_the_file_is_busy_and_a_lasting_failure_is_reported() {
        let disk = SimFs::new();
        let retrying = Retrying {
            inner: disk.clone(),
            delays: &RETRY_DELAYS,
            sleep: |_| {},
        };
        // Through the trait, as the engine uses it.
        let fs: &dyn Fs = &retrying;
        let write = |path: &str| {
            let mut f = disk.create(&p(path), 0o600).unwrap();
            f.write_all(b"x").unwrap();
        };
        write("/d/tmp");
        // Busy for a moment (the next operation fails once): the rename goes through.
        disk.set_fault(Some(Fault {
            at: disk.op_count(),
            errno: libc::EBUSY,
            sticky: false,
        }));
        fs.rename(&p("/d/tmp"), &p("/d/file")).unwrap();
        assert_eq!(disk.read(&p("/d/file")).unwrap(), b"x");
        // Busy for good: reported after the bounded retries, file untouched.
        write("/d/tmp");
        disk.set_fault(Some(Fault {
            at: disk.op_count(),
            errno: libc::EBUSY,
            sticky: true,
        }));
        let before = disk.op_count();
        let err = fs.rename(&p("/d/tmp"), &p("/d/file")).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBUSY));
        assert_eq!(disk.op_count() - before, RETRY_DELAYS.len() + 1, "tries");
        // Not busy: not retried.
        disk.set_fault(Some(Fault {
            at: disk.op_count(),
            errno: libc::ENOSPC,
            sticky: true,
        }));
        let before = disk.op_count();
        fs.rename(&p("/d/tmp"), &p("/d/file")).unwrap_err();
        assert_eq!(disk.op_count() - before, 1, "a full disk is not retried");
        disk.set_fault(None);
    }
}
