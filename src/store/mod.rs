//! The store: everything under `.dry/`. Objects (blake3 content-addressed files), the entry
//! database (rkyv archives read through memmap2), the fingerprint cache, the build log and the
//! pointer to the last build. Only this module touches `.dry/`, and it never touches anything
//! outside it: not the user's files, not the tracee.
//!
//! The byte layout of every file is documented in `notes/format.md`; the submodules own one file
//! kind each: `layout` (paths, temp files, atomic replacement), `format` (the header every
//! archive starts with), `db` (the entry database, the only `unsafe` of the store), `objects`,
//! `retention`, `lock`, `fingerprints`, `log` (the build log and the last-build pointer) and `gc`.
//!
//! Concurrency: writers of the entry database serialize on an advisory `flock` of `.dry/lock`;
//! readers never lock. Every file is replaced by writing a temp file under `.dry/tmp/` and
//! renaming it into place, so a reader sees the old file or the new one, never a mix, and a
//! `kill -9` at any instant leaves the previous file complete.
//!
//! OWNER: store helper.

mod db;
mod fingerprints;
mod format;
mod gc;
mod layout;
mod lock;
mod log;
mod objects;
mod retention;
#[cfg(test)]
mod tests;

pub use fingerprints::FingerprintFile;
pub use gc::GcReport;
pub use log::{LogRecord, Outcome};
pub use retention::MAX_ENTRIES_PER_FAMILY;

use model::entry::ArchivedEntry;
use model::fingerprint::Fingerprint;
use model::{Entry, Hash};
use std::fs::File;
use std::path::{Path, PathBuf};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An I/O error on a file of the store.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A file of the store is corrupt (bad magic, version, checksum, archive or hash).
    #[error("{path}: corrupt: {why}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
}

impl StoreError {
    /// Returns a closure wrapping an I/O error on `path`, for `map_err`.
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
        move |source| StoreError::Io { path: path.to_path_buf(), source }
    }

    /// Builds a [`StoreError::Corrupt`] for `path`.
    pub(crate) fn corrupt(path: &Path, why: impl Into<String>) -> StoreError {
        StoreError::Corrupt { path: path.to_path_buf(), why: why.into() }
    }
}

/// Decodes the bytes of a whole entry database file of `family` (header, checksum, bytecheck
/// validation, deserialization, family check), as [`Store::load_family`] does after mapping the
/// file, except that the older format versions the current one extends are decoded too (the
/// store itself reads them as damaged: notes/format.md). For the `archive_open` fuzz target and
/// for tools; never panics, whatever the bytes.
pub fn decode_family_file(bytes: &[u8], family: &Hash) -> Result<Vec<Entry>, StoreError> {
    db::decode_entries(Path::new("<bytes>"), bytes, family)
}

/// A handle on a `.dry/` directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// Opens the store at `dir`, creating `dir` and its subdirectories if needed.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        layout::create(dir)?;
        Ok(Store { dir: dir.to_path_buf() })
    }

    /// Opens the store at `dir` without creating anything; `None` if there is none.
    ///
    /// Writes through a store opened this way create the subdirectories they need.
    pub fn open_existing(dir: &Path) -> Result<Option<Store>, StoreError> {
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => Ok(Some(Store { dir: dir.to_path_buf() })),
            Ok(_) => Err(StoreError::Io {
                path: dir.to_path_buf(),
                source: std::io::Error::from_raw_os_error(nix::libc::ENOTDIR),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::Io { path: dir.to_path_buf(), source: e }),
        }
    }

    /// Checks that the store's directory can be listed (an unreadable `.dry/` is found before
    /// the command runs, not by a lookup that would take it for an empty cache).
    pub fn check_readable(&self) -> Result<(), StoreError> {
        std::fs::read_dir(&self.dir)
            .map(drop)
            .map_err(|source| StoreError::Io { path: self.dir.clone(), source })
    }

    /// Returns the `.dry/` directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stores the content of the file at `path`; returns its hash and size.
    ///
    /// The hash is of the bytes actually read, so a file changing while it is read yields the
    /// hash of what was stored (detecting that race is the caller's job).
    pub fn put_file(&self, path: &Path) -> Result<(Hash, u64), StoreError> {
        objects::put_file(&self.dir, path)
    }

    /// Stores `bytes`; returns their hash.
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<Hash, StoreError> {
        objects::put_bytes(&self.dir, bytes)
    }

    /// Reports whether object `hash` is present (its content is not verified).
    pub fn has_object(&self, hash: &Hash) -> bool {
        objects::has(&self.dir, hash)
    }

    /// Reads object `hash`, verifying its content against the hash. A missing object is
    /// [`StoreError::Corrupt`]; so is a damaged one, which is then deleted (the next build that
    /// stores that content repairs it).
    pub fn read_object(&self, hash: &Hash) -> Result<Vec<u8>, StoreError> {
        objects::read(&self.dir, hash)
    }

    /// Copies object `hash` into `dest`, verifying the content; on a mismatch returns
    /// [`StoreError::Corrupt`] (and `dest` must then be discarded by the caller; the damaged
    /// object is deleted). Returns the number of bytes copied.
    pub fn copy_object(&self, hash: &Hash, dest: &mut File) -> Result<u64, StoreError> {
        objects::copy(&self.dir, hash, dest)
    }

    /// Returns the path of object `hash` (which may not exist), for messages.
    pub fn object_path(&self, hash: &Hash) -> PathBuf {
        layout::object_path(&self.dir, hash)
    }

    /// Returns the entries of command family `family`, oldest first (empty if none).
    ///
    /// A damaged database file is [`StoreError::Corrupt`]; the caller reports it and treats the
    /// family as a miss. The next [`Store::record`] into the family replaces the file.
    pub fn load_family(&self, family: &Hash) -> Result<Vec<Entry>, StoreError> {
        db::read_family(&layout::family_path(&self.dir, family), family)
    }

    /// Hands the entries of command family `family`, oldest first, to `f`, read in place from the
    /// mapped database file (zero-copy: validated, never deserialized; `f` deserializes what it
    /// keeps). An empty slice if the family has no file; [`StoreError::Corrupt`] as for
    /// [`Store::load_family`], and then `f`'s result is dropped. `f` must only read: for a big
    /// file it runs on the validated archive while the checksum is verified beside it.
    pub fn with_family<R>(
        &self,
        family: &Hash,
        f: impl FnOnce(&[ArchivedEntry]) -> R,
    ) -> Result<R, StoreError> {
        db::with_family(&layout::family_path(&self.dir, family), family, f)
    }

    /// Copies the entries `with_family` handed out (of family `family`) into owned ones, as
    /// [`Store::load_family`] would have returned them, without mapping the file again.
    pub fn copy_family(
        &self,
        family: &Hash,
        archived: &[ArchivedEntry],
    ) -> Result<Vec<Entry>, StoreError> {
        db::to_owned(&layout::family_path(&self.dir, family), archived)
    }

    /// Adds `entry` to its family, atomically, under the store's lock.
    ///
    /// Retention (see [`MAX_ENTRIES_PER_FAMILY`]): older entries with the same key id and the
    /// same predicates are dropped, only the newest uncacheable entry per key id is kept, and
    /// at most [`MAX_ENTRIES_PER_FAMILY`] entries are kept, newest first. A corrupt database
    /// file is replaced (its entries are lost), not an error.
    pub fn record(&self, entry: Entry) -> Result<(), StoreError> {
        let family = entry.key.family();
        let path = layout::family_path(&self.dir, &family);
        let _lock = lock::acquire(&self.dir)?;
        let mut entries = match db::read_family(&path, &family) {
            Ok(entries) => entries,
            Err(StoreError::Corrupt { .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        entries.push(entry);
        let entries = retention::apply(entries);
        db::write_family(&self.dir, &path, &entries, &family)
    }

    /// Returns every family in the store, sorted (names that are not families are skipped).
    pub fn families(&self) -> Result<Vec<Hash>, StoreError> {
        db::families(&self.dir)
    }

    /// Maps the fingerprint cache: absolute path → (fingerprint, content hash), read in place
    /// (opening costs the same whatever its size). Empty if the cache is absent or its header is
    /// damaged; a damaged record is a miss.
    pub fn load_fingerprints(&self) -> FingerprintFile {
        fingerprints::load(&self.dir)
    }

    /// Replaces the fingerprint cache (last writer wins; losing the cache only costs rehashing).
    pub fn save_fingerprints(
        &self,
        items: &[(Vec<u8>, Fingerprint, Hash)],
    ) -> Result<(), StoreError> {
        fingerprints::save(&self.dir, items)
    }

    /// Records `family` as the family of the last `dry build`.
    pub fn set_last(&self, family: &Hash) -> Result<(), StoreError> {
        log::set_last(&self.dir, family)
    }

    /// Returns the family of the last `dry build`; `None` if there is none or the file is damaged.
    pub fn last(&self) -> Option<Hash> {
        log::last(&self.dir)
    }

    /// Records what happened to the nested steps of the last build, one sentence each.
    pub fn set_last_steps(&self, lines: &[String]) -> Result<(), StoreError> {
        log::set_last_steps(&self.dir, lines)
    }

    /// Returns the nested steps of the last build, as recorded by [`Store::set_last_steps`].
    pub fn last_steps(&self) -> Vec<String> {
        log::last_steps(&self.dir)
    }

    /// Appends one record to the build log.
    pub fn append_log(&self, record: &LogRecord) -> Result<(), StoreError> {
        log::append(&self.dir, record)
    }

    /// Reads the build log, oldest first. Damaged or torn lines are skipped.
    pub fn read_log(&self) -> Result<Vec<LogRecord>, StoreError> {
        log::read(&self.dir)
    }

    /// Empties the store (objects, entries, fingerprints, log, last build), keeping `.dry/`
    /// itself. Files in `.dry/` that the store does not own are left alone.
    pub fn clean(&self) -> Result<(), StoreError> {
        gc::clean(&self.dir)
    }

    /// Trims the store under its lock: keeps the newest `keep` entries of each family, deletes
    /// objects no entry references, then, while the store is larger than `max_size_bytes`,
    /// deletes the oldest entries and the objects only they referenced.
    ///
    /// Unreferenced objects and temp files younger than an hour are kept: they may belong to a
    /// `dry build` that has stored its outputs but not yet recorded its entry.
    pub fn gc(
        &self,
        max_size_bytes: Option<u64>,
        keep: Option<usize>,
    ) -> Result<GcReport, StoreError> {
        gc::run(&self.dir, max_size_bytes, keep, gc::GRACE)
    }
}
