//! The store: everything under `.dry/`. Objects (blake3 content-addressed files), the entry
//! database (rkyv archives read through memmap2), the fingerprint cache, the build log and the
//! pointer to the last build. Only this module touches `.dry/`.
//!
//! OWNER: store helper.

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

/// A handle on a `.dry/` directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// Opens the store at `dir`, creating its layout if needed.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let _ = dir;
        unimplemented!("store")
    }

    /// Opens the store at `dir` without creating anything; `None` if there is none.
    pub fn open_existing(dir: &Path) -> Result<Option<Store>, StoreError> {
        let _ = dir;
        unimplemented!("store")
    }

    /// Returns the `.dry/` directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stores the content of the file at `path`; returns its hash and size.
    pub fn put_file(&self, path: &Path) -> Result<(Hash, u64), StoreError> {
        let _ = path;
        unimplemented!("store")
    }

    /// Stores `bytes`; returns their hash.
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<Hash, StoreError> {
        let _ = bytes;
        unimplemented!("store")
    }

    /// Reports whether object `hash` is present (its content is not verified).
    pub fn has_object(&self, hash: &Hash) -> bool {
        let _ = hash;
        unimplemented!("store")
    }

    /// Reads object `hash`, verifying its content against the hash.
    pub fn read_object(&self, hash: &Hash) -> Result<Vec<u8>, StoreError> {
        let _ = hash;
        unimplemented!("store")
    }

    /// Copies object `hash` into `dest`, verifying the content; on a mismatch returns
    /// [`StoreError::Corrupt`] (and `dest` must then be discarded by the caller).
    pub fn copy_object(&self, hash: &Hash, dest: &mut File) -> Result<u64, StoreError> {
        let _ = (hash, dest);
        unimplemented!("store")
    }

    /// Returns the entries of command family `family`, oldest first (empty if none).
    pub fn load_family(&self, family: &Hash) -> Result<Vec<Entry>, StoreError> {
        let _ = family;
        unimplemented!("store")
    }

    /// Adds `entry` to its family, atomically, under the store's lock.
    pub fn record(&self, entry: Entry) -> Result<(), StoreError> {
        let _ = entry;
        unimplemented!("store")
    }

    /// Returns every family in the store.
    pub fn families(&self) -> Result<Vec<Hash>, StoreError> {
        unimplemented!("store")
    }

    /// Loads the fingerprint cache: absolute path → (fingerprint, content hash).
    pub fn load_fingerprints(&self) -> Vec<(Vec<u8>, Fingerprint, Hash)> {
        unimplemented!("store")
    }

    /// Replaces the fingerprint cache.
    pub fn save_fingerprints(
        &self,
        items: &[(Vec<u8>, Fingerprint, Hash)],
    ) -> Result<(), StoreError> {
        let _ = items;
        unimplemented!("store")
    }
}
