//! The store's advisory lock: an exclusive `flock` on `.dry/lock`, held by every writer of the
//! entry database (`record`, `gc`, `clean`) for the whole read-modify-write. Readers never lock.
//!
//! `flock` locks belong to an open file description, so two threads of one process exclude each
//! other as two processes do; the kernel drops the lock when its holder dies, so a `kill -9`
//! never leaves the store locked.
#![forbid(unsafe_code)]

use super::layout;
use super::StoreError;
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions};
use std::path::Path;

/// Proof that the store is locked; dropping it unlocks.
#[derive(Debug)]
pub(crate) struct StoreLock {
    _flock: Flock<File>,
}

/// Takes the store's lock, waiting for it as long as another writer holds it. Creates the lock
/// file if it is missing.
pub(crate) fn acquire(dir: &Path) -> Result<StoreLock, StoreError> {
    let path = dir.join(layout::LOCK);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(StoreError::io(&path))?;
    loop {
        match Flock::lock(file, FlockArg::LockExclusive) {
            Ok(flock) => return Ok(StoreLock { _flock: flock }),
            Err((f, Errno::EINTR)) => file = f,
            Err((_, errno)) => {
                return Err(StoreError::Io { path, source: std::io::Error::from(errno) });
            }
        }
    }
}
