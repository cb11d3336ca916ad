//! The power-loss simulator behind the [`Fs`] trait: an in-memory disk that remembers
//! what was made durable, so every state a crash can leave after every operation can be
//! opened and checked, with faults injected on demand. Built for tests and the `testing`
//! feature (the fuzz targets), never into the addon.

use crate::fs::{Fs, FsFile, FsLock};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// The files of a simulated disk, by path.
pub type Image = BTreeMap<PathBuf, Vec<u8>>;

/// A fault to inject: the `at`-th mutating operation (counting from 0) fails with `errno`,
/// and with `sticky` every one after it too, until [`SimFs::heal`].
#[derive(Debug, Clone, Copy)]
pub struct Fault {
    pub at: usize,
    pub errno: i32,
    pub sticky: bool,
}

#[derive(Clone, Default)]
struct Inode {
    /// What a reader sees now.
    data: Vec<u8>,
    /// What survives power loss: the data as of the last successful sync.
    durable: Vec<u8>,
}

#[derive(Clone, Default)]
struct SimState {
    inodes: Vec<Inode>,
    /// Directory entries as a reader sees them now.
    names: BTreeMap<PathBuf, usize>,
    /// Directory entries as of each directory's last sync.
    durable_names: BTreeMap<PathBuf, usize>,
    dirs: Vec<PathBuf>,
    /// The last write, as (inode, length before, length after): a crash can tear it.
    last_write: Option<(usize, usize, usize)>,
}

#[derive(Default)]
struct Sim {
    /// Paths locked now (locks are not files: a crash or a reboot drops them).
    locks: std::collections::BTreeSet<PathBuf>,
    state: SimState,
    /// The state before the first mutating operation.
    initial: SimState,
    /// The state after every mutating operation, so every crash point can be examined.
    history: Vec<SimState>,
    ops: usize,
    fault: Option<Fault>,
}

/// An in-memory disk that remembers what has been made durable, for enumerating the
/// states a power loss can leave, and that can fail any operation on demand.
#[derive(Clone, Default)]
pub struct SimFs {
    sim: Arc<Mutex<Sim>>,
}

/// How much of the not-yet-durable work a simulated power loss keeps.
#[derive(Debug, Clone, Copy)]
pub enum CrashMode {
    /// Only what was synced.
    DurableOnly,
    /// Everything, as if the disk caught up just before the power went.
    Everything,
    /// Everything, but the last write kept only its first `n` bytes.
    TornLastWrite(usize),
    /// File data reached the disk but no directory change did.
    DataNotNames,
    /// Directory changes reached the disk but unsynced data did not.
    NamesNotData,
}

fn errno_error(errno: i32) -> io::Error {
    io::Error::from_raw_os_error(errno)
}

impl SimFs {
    pub fn new() -> SimFs {
        SimFs::default()
    }

    /// A disk holding exactly `image`, all of it durable, as after a reboot.
    pub fn from_image(image: &Image) -> SimFs {
        let fs = SimFs::new();
        {
            let mut sim = fs.lock();
            for (path, data) in image {
                let id = sim.state.inodes.len();
                sim.state.inodes.push(Inode {
                    data: data.clone(),
                    durable: data.clone(),
                });
                sim.state.names.insert(path.clone(), id);
                sim.state.durable_names.insert(path.clone(), id);
            }
            sim.initial = sim.state.clone();
        }
        fs
    }

    fn lock(&self) -> MutexGuard<'_, Sim> {
        // A panic in another test thread poisons the lock; the state is still usable.
        self.sim.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_fault(&self, fault: Option<Fault>) {
        self.lock().fault = fault;
    }

    /// Stops failing: the disk has "recovered".
    pub fn heal(&self) {
        self.lock().fault = None;
    }

    /// Mutating operations so far; a crash point is a number in `0..=op_count()`.
    pub fn op_count(&self) -> usize {
        self.lock().ops
    }

    /// The disk as it is now (every write visible).
    pub fn image(&self) -> Image {
        view(&self.lock().state, CrashMode::Everything)
    }

    /// The disk a power loss right after mutating operation `point` would leave.
    pub fn crash_image(&self, point: usize, mode: CrashMode) -> Image {
        let sim = self.lock();
        let state = if point == 0 {
            sim.initial.clone()
        } else {
            sim.history[point - 1].clone()
        };
        view(&state, mode)
    }

    /// The torn-write cut points worth trying at crash point `point`.
    pub fn torn_cuts(&self, point: usize) -> Vec<usize> {
        let sim = self.lock();
        if point == 0 {
            return Vec::new();
        }
        match sim.history[point - 1].last_write {
            Some((_, before, after)) if after > before + 1 => {
                let span = after - before;
                let step = (span / 16).max(1);
                (1..span).step_by(step).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Runs one mutating operation: counts it, applies a due fault, records history.
    fn mutate<T>(
        &self,
        op: impl FnOnce(&mut SimState, Option<i32>) -> io::Result<T>,
    ) -> io::Result<T> {
        let mut sim = self.lock();
        let n = sim.ops;
        sim.ops += 1;
        let failing = match sim.fault {
            Some(f) if n == f.at || (f.sticky && n > f.at) => Some(f.errno),
            _ => None,
        };
        let result = op(&mut sim.state, failing);
        let snapshot = sim.state.clone();
        sim.history.push(snapshot);
        result
    }
}

fn view(state: &SimState, mode: CrashMode) -> Image {
    let names = match mode {
        CrashMode::DurableOnly | CrashMode::DataNotNames => &state.durable_names,
        _ => &state.names,
    };
    names
        .iter()
        .map(|(path, &id)| {
            let inode = &state.inodes[id];
            let data = match mode {
                CrashMode::DurableOnly | CrashMode::NamesNotData => inode.durable.clone(),
                CrashMode::Everything | CrashMode::DataNotNames => inode.data.clone(),
                CrashMode::TornLastWrite(cut) => match state.last_write {
                    // A write already synced cannot be torn.
                    Some((w, before, after))
                        if w == id && before + cut < after && inode.durable != inode.data =>
                    {
                        inode.data[..before + cut].to_vec()
                    }
                    _ => inode.data.clone(),
                },
            };
            (path.clone(), data)
        })
        .collect()
}

struct SimFile {
    fs: SimFs,
    inode: usize,
    /// Set once a sync fails: like Linux, the dirty data may be gone, so later syncs on
    /// this handle report the failure again rather than pretend.
    sync_failed: bool,
}

impl FsFile for SimFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let id = self.inode;
        self.fs.mutate(|state, fail| {
            let inode = &mut state.inodes[id];
            let before = inode.data.len();
            if let Some(errno) = fail {
                // A failing disk accepts part of the write first, as a real one can.
                inode.data.extend_from_slice(&buf[..buf.len() / 2]);
                state.last_write = Some((id, before, inode.data.len()));
                return Err(errno_error(errno));
            }
            inode.data.extend_from_slice(buf);
            state.last_write = Some((id, before, inode.data.len()));
            Ok(())
        })
    }
    fn sync(&mut self) -> io::Result<()> {
        let id = self.inode;
        let already_failed = self.sync_failed;
        let result = self.fs.mutate(|state, fail| {
            if let Some(errno) = fail {
                return Err(errno_error(errno));
            }
            if already_failed {
                return Err(errno_error(libc::EIO));
            }
            let inode = &mut state.inodes[id];
            inode.durable = inode.data.clone();
            Ok(())
        });
        if result.is_err() {
            self.sync_failed = true;
        }
        result
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let id = self.inode;
        self.fs.mutate(|state, fail| {
            if let Some(errno) = fail {
                return Err(errno_error(errno));
            }
            state.inodes[id].data.resize(len as usize, 0);
            Ok(())
        })
    }
}

fn not_found() -> io::Error {
    io::Error::from(io::ErrorKind::NotFound)
}

struct SimLock {
    fs: SimFs,
    path: PathBuf,
}
impl FsLock for SimLock {}
impl Drop for SimLock {
    fn drop(&mut self) {
        self.fs.lock().locks.remove(&self.path);
    }
}

impl Fs for SimFs {
    fn lock(&self, path: &Path) -> io::Result<Box<dyn FsLock>> {
        if !self.lock().locks.insert(path.to_path_buf()) {
            return Err(io::Error::from(io::ErrorKind::WouldBlock));
        }
        Ok(Box::new(SimLock {
            fs: self.clone(),
            path: path.to_path_buf(),
        }))
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let sim = self.lock();
        let id = sim.state.names.get(path).ok_or_else(not_found)?;
        Ok(sim.state.inodes[*id].data.clone())
    }
    fn read_each(&self, path: &Path, each: &mut dyn FnMut(&[u8])) -> io::Result<()> {
        // In small pieces, so what reads in pieces is tested as reading in pieces.
        let bytes = self.read(path)?;
        bytes.chunks(4096).for_each(each);
        Ok(())
    }
    fn len(&self, path: &Path) -> io::Result<u64> {
        let sim = self.lock();
        let id = sim.state.names.get(path).ok_or_else(not_found)?;
        Ok(sim.state.inodes[*id].data.len() as u64)
    }
    fn create(&self, path: &Path, _mode: u32) -> io::Result<Box<dyn FsFile>> {
        let inode = self.mutate(|state, fail| {
            if let Some(errno) = fail {
                return Err(errno_error(errno));
            }
            if let Some(&id) = state.names.get(path) {
                state.inodes[id].data.clear();
                return Ok(id);
            }
            let id = state.inodes.len();
            state.inodes.push(Inode::default());
            state.names.insert(path.to_path_buf(), id);
            Ok(id)
        })?;
        Ok(Box::new(SimFile {
            fs: self.clone(),
            inode,
            sync_failed: false,
        }))
    }
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        let inode = *self.lock().state.names.get(path).ok_or_else(not_found)?;
        Ok(Box::new(SimFile {
            fs: self.clone(),
            inode,
            sync_failed: false,
        }))
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.mutate(|state, fail| {
            if let Some(errno) = fail {
                return Err(errno_error(errno));
            }
            let id = state.names.remove(from).ok_or_else(not_found)?;
            state.names.insert(to.to_path_buf(), id);
            Ok(())
        })
    }
    fn exchange(&self, a: &Path, b: &Path) -> io::Result<()> {
        self.mutate(|state, fail| {
            if let Some(errno) = fail {
                return Err(errno_error(errno));
            }
            let at_a = *state.names.get(a).ok_or_else(not_found)?;
            let at_b = *state.names.get(b).ok_or_else(not_found)?;
            state.names.insert(a.to_path_buf(), at_b);
            state.names.insert(b.to_path_buf(), at_a);
            Ok(())
        })
    }
    fn rename_new(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.mutate(|state, fail| {
            if let Some(errno) = fail {
                return Err(errno_error(errno));
            }
            if state.names.contains_key(to) {
                return Err(io::Error::from(io::ErrorKind::AlreadyExists));
            }
            let id = state.names.remove(from).ok_or_else(not_found)?;
            state.names.insert(to.to_path_buf(), id);
            Ok(())
        })
    }
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.mutate(|state, fail| {
            if let Some(errno) = fail {
                return Err(errno_error(errno));
            }
            let id = *state.names.get(from).ok_or_else(not_found)?;
            state.names.insert(to.to_path_buf(), id);
            Ok(())
        })
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.mutate(|state, fail| {
            if let Some(errno) = fail {
                return Err(errno_error(errno));
            }
            state.names.remove(path).map(|_| ()).ok_or_else(not_found)
        })
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.mutate(|state, fail| {
            if let Some(errno) = fail {
                return Err(errno_error(errno));
            }
            let in_dir = |p: &PathBuf| p.parent() == Some(dir);
            state.durable_names.retain(|p, _| !in_dir(p));
            let current: Vec<_> = state
                .names
                .iter()
                .filter(|(p, _)| in_dir(p))
                .map(|(p, id)| (p.clone(), *id))
                .collect();
            state.durable_names.extend(current);
            Ok(())
        })
    }
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut sim = self.lock();
        for dir in dir.ancestors().filter(|d| !d.as_os_str().is_empty()) {
            if !sim.state.dirs.iter().any(|d| d == dir) {
                sim.state.dirs.push(dir.to_path_buf());
            }
        }
        Ok(())
    }
    /// Files, and directories made or holding files (a sync folder's device directories).
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let sim = self.lock();
        let files = sim.state.names.keys().filter(|p| p.parent() == Some(dir));
        let dirs = sim.state.dirs.iter().filter(|p| p.parent() == Some(dir));
        let mut names: Vec<String> = files
            .chain(dirs)
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }
    /// A directory made, or one holding files: a path never made is not one (an
    /// unmounted sync folder).
    fn is_dir(&self, dir: &Path) -> bool {
        let sim = self.lock();
        sim.state.dirs.iter().any(|d| d == dir)
            || sim
                .state
                .names
                .keys()
                .any(|p| p.starts_with(dir) && p != dir)
    }
}
