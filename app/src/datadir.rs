//! The data directory: one serving process at a time, and where it listens.

use std::fs::{File, OpenOptions};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

const LOCK_FILE: &str = "commerce.lock";
const SERVER_FILE: &str = "server.json";

/// Held for as long as a process owns the data directory; released on drop or exit.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
    dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("cannot use data directory {dir}: {source}")]
    Io {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("data directory {dir} is in use by another commerce process (lock file {lock})")]
    InUse { dir: PathBuf, lock: PathBuf },
}

/// Where a running server says it listens, written beside the lock.
#[derive(Debug, Serialize, Deserialize)]
pub struct ServerInfo {
    pub address: SocketAddr,
    pub pid: u32,
}

impl DataDirLock {
    /// Create the directory if needed and take its lock, or say who holds it.
    pub fn acquire(dir: &Path) -> Result<Self, DataDirError> {
        let io = |source| DataDirError::Io {
            dir: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let lock = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(Self {
                _file: file,
                dir: dir.to_path_buf(),
            }),
            Err(std::fs::TryLockError::WouldBlock) => Err(DataDirError::InUse {
                dir: dir.to_path_buf(),
                lock,
            }),
            Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }

    pub fn write_server_info(&self, address: SocketAddr) -> std::io::Result<()> {
        let info = ServerInfo {
            address,
            pid: std::process::id(),
        };
        std::fs::write(
            self.dir.join(SERVER_FILE),
            serde_json::to_vec(&info).expect("server info serialises"),
        )
    }
}

impl Drop for DataDirLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.dir.join(SERVER_FILE));
    }
}

/// The address of the server holding `dir`, if one says so.
pub fn read_server_info(dir: &Path) -> Option<ServerInfo> {
    let text = std::fs::read(dir.join(SERVER_FILE)).ok()?;
    serde_json::from_slice(&text).ok()
}
