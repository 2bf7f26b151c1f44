//! The sync's own folder beside the device's file (`.NAME.sync/`): partial downloads that survive a restart,
//! the result being built, and a lock so that two syncs of one file never interleave. The file itself is only
//! ever replaced by one rename, after the result is complete, synced to disk and verified.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use super::SyncError;

/// The work folder of one output file, locked for this process while it lives.
pub struct WorkDir {
    dir: PathBuf,
    _lock: File,
}

impl WorkDir {
    /// Creates (or reopens) the work folder beside `output` and takes its lock; another sync of the same file
    /// holding it is [`SyncError::Busy`].
    pub fn beside(output: &Path) -> Result<WorkDir, SyncError> {
        let name = output.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let dir = parent_of(output).join(format!(".{name}.sync"));
        std::fs::create_dir_all(&dir).map_err(|source| SyncError::Io { path: dir.clone(), source })?;
        let lock_path = dir.join("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| SyncError::Io { path: lock_path.clone(), source })?;
        match lock.try_lock() {
            Ok(()) => Ok(WorkDir { dir, _lock: lock }),
            Err(std::fs::TryLockError::WouldBlock) => Err(SyncError::Busy { path: output.to_owned() }),
            Err(std::fs::TryLockError::Error(source)) => Err(SyncError::Io { path: lock_path, source }),
        }
    }

    /// A path inside the work folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Removes a leftover of an interrupted run (a half-applied result, say); absent is fine.
    pub fn discard(&self, name: &str) -> Result<PathBuf, SyncError> {
        let path = self.path(name);
        for stale in [path.clone(), with_suffix(&path, "-journal"), with_suffix(&path, "-wal")] {
            match std::fs::remove_file(&stale) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(SyncError::Io { path: stale, source }),
            }
        }
        Ok(path)
    }

    /// Puts the finished `result` in place of `output` in one rename, after syncing it to disk, then syncs the
    /// folder so that the rename survives a power cut.
    pub fn install(&self, result: &Path, output: &Path) -> Result<(), SyncError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| SyncError::Io { path, source }
        };
        File::open(result).and_then(|f| f.sync_all()).map_err(io(result))?;
        std::fs::rename(result, output).map_err(io(output))?;
        let parent = parent_of(output);
        // Directory fsync is not possible on every platform; the rename itself is atomic either way.
        if let Ok(dir) = File::open(&parent) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// Removes the work folder and everything left in it (after a successful install).
    pub fn clean(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}
