//! The layout of `.dry/`: the name of every file the store owns, temp files, and the one way a
//! file of the store is replaced (write a temp file under `tmp/`, fsync, rename into place).
//! Knows nothing about what the files hold.
//!
//! Temp files live in `.dry/tmp/`, on the same filesystem as their destinations so that the
//! rename is atomic. Their names are `<pid>.<counter>.<what>`: unique per process (a process-wide
//! counter) and created with `O_EXCL`, so a name left behind by a crashed process with the same
//! pid is skipped, never reused. Leftovers are deleted by `gc`.
#![forbid(unsafe_code)]

use super::StoreError;
use model::Hash;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Directory of the content-addressed objects: `objects/<2 hex>/<62 hex>`.
pub(crate) const OBJECTS: &str = "objects";
/// Directory of the entry databases: `entries/<64 hex family>`.
pub(crate) const ENTRIES: &str = "entries";
/// Directory of temp files.
pub(crate) const TMP: &str = "tmp";
/// The advisory lock file.
pub(crate) const LOCK: &str = "lock";
/// The fingerprint cache.
pub(crate) const FINGERPRINTS: &str = "fingerprints";
/// The family of the last `dry build`.
pub(crate) const LAST: &str = "last";
/// The nested steps of the last build, in words (`dry why`).
pub(crate) const LAST_STEPS: &str = "last-steps";
/// The build log.
pub(crate) const LOG: &str = "log";

/// Creates `dir` and the store's subdirectories, if missing.
pub(crate) fn create(dir: &Path) -> Result<(), StoreError> {
    for sub in [OBJECTS, ENTRIES, TMP] {
        let path = dir.join(sub);
        std::fs::create_dir_all(&path).map_err(StoreError::io(&path))?;
    }
    Ok(())
}

/// Returns the path of object `hash`.
pub(crate) fn object_path(dir: &Path, hash: &Hash) -> PathBuf {
    let hex = hash.to_hex();
    let (fan, rest) = hex.split_at(2);
    dir.join(OBJECTS).join(fan).join(rest)
}

/// Returns the path of the database of family `family`.
pub(crate) fn family_path(dir: &Path, family: &Hash) -> PathBuf {
    dir.join(ENTRIES).join(family.to_hex())
}

/// Creates a new, empty temp file for `what` (a short word for the name); creates `tmp/` if it is
/// missing. Returns the open file and its path.
pub(crate) fn temp_file(dir: &Path, what: &str) -> Result<(File, PathBuf), StoreError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let tmp = dir.join(TMP);
    let mut created_tmp = false;
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = tmp.join(format!("{}.{n}.{what}", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((file, path)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) if e.kind() == ErrorKind::NotFound && !created_tmp => {
                created_tmp = true;
                std::fs::create_dir_all(&tmp).map_err(StoreError::io(&tmp))?;
            }
            Err(e) => return Err(StoreError::Io { path, source: e }),
        }
    }
}

/// Renames `from` to `to`, creating the parent of `to` if it is missing.
pub(crate) fn rename_into_place(from: &Path, to: &Path) -> Result<(), StoreError> {
    match std::fs::rename(from, to) {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(StoreError::io(parent))?;
            }
            std::fs::rename(from, to).map_err(StoreError::io(to))
        }
        other => other.map_err(StoreError::io(to)),
    }
}

/// Whether [`replace`] makes the new file durable before and after the rename.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Durability {
    /// fsync the temp file before the rename and the directory after it: for the entry database,
    /// which must survive a power loss complete or not at all.
    Synced,
    /// No fsync: for caches whose loss or damage is detected and harmless.
    Cached,
}

/// Replaces the file at `dest` by the concatenation of `parts`: writes a temp file, (fsyncs it,)
/// renames it over `dest` (and fsyncs the directory). A crash at any instant leaves either the
/// old file or the new one at `dest`.
pub(crate) fn replace(
    dir: &Path,
    dest: &Path,
    parts: &[&[u8]],
    durability: Durability,
) -> Result<(), StoreError> {
    let (mut file, temp) = temp_file(dir, "new")?;
    #[cfg(test)]
    if let Some(budget) = crash::take() {
        return crash::torn_write(&mut file, &temp, parts, budget);
    }
    let mut written = parts.iter().try_for_each(|part| file.write_all(part));
    if durability == Durability::Synced {
        written = written.and_then(|()| file.sync_all());
    }
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(StoreError::Io { path: temp, source: e });
    }
    drop(file);
    if let Err(e) = rename_into_place(&temp, dest) {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    if durability == Durability::Synced {
        if let Some(parent) = dest.parent() {
            sync_dir(parent)?;
        }
    }
    Ok(())
}

/// fsyncs directory `path`, making the renames into it durable.
pub(crate) fn sync_dir(path: &Path) -> Result<(), StoreError> {
    File::open(path).and_then(|d| d.sync_all()).map_err(StoreError::io(path))
}

/// A test-only fault injector: when armed on a thread, the next [`replace`] on that thread writes
/// only the first `n` bytes of its temp file, then stops as if the process had been killed: no
/// fsync, no rename, the torn temp file left behind.
#[cfg(test)]
pub(crate) mod crash {
    use super::StoreError;
    use std::cell::Cell;
    use std::fs::File;
    use std::io::Write;
    use std::path::Path;

    thread_local! {
        static BUDGET: Cell<Option<usize>> = const { Cell::new(None) };
    }

    /// Arms the injector: the next replacement on this thread stops after `n` bytes.
    pub(crate) fn arm(n: usize) {
        BUDGET.with(|b| b.set(Some(n)));
    }

    /// Disarms the injector and returns its byte budget if it was armed.
    pub(super) fn take() -> Option<usize> {
        BUDGET.with(Cell::take)
    }

    /// Writes the first `budget` bytes of `parts` to `file` and fails as a killed writer would.
    pub(super) fn torn_write(
        file: &mut File,
        temp: &Path,
        parts: &[&[u8]],
        mut budget: usize,
    ) -> Result<(), StoreError> {
        for part in parts {
            let n = part.len().min(budget);
            file.write_all(&part[..n]).map_err(StoreError::io(temp))?;
            budget -= n;
        }
        Err(StoreError::Io {
            path: temp.to_path_buf(),
            source: std::io::Error::other("injected crash"),
        })
    }
}
