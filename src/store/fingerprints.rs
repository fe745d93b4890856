//! The fingerprint cache, `.dry/fingerprints`: for each absolute path hashed lately, the
//! fingerprint (dev, ino, size, mtime, ctime) it had and the content hash computed then, so the
//! checker can skip rehashing unchanged files. A cache only: absent or damaged means empty, and
//! concurrent savers race harmlessly (the last rename wins).
//!
//! Same header scheme as the entry database (`format`), with its own magic; the payload is the
//! rkyv archive of `Vec<(Vec<u8>, Fingerprint, Hash)>`.
#![forbid(unsafe_code)]

use super::db;
use super::format::{self, FINGERPRINTS_MAGIC};
use super::layout::{self, Durability};
use super::StoreError;
use model::fingerprint::Fingerprint;
use model::Hash;
use rkyv::rancor;
use rkyv::util::AlignedVec;
use std::path::Path;

/// One cached fingerprint: absolute path, fingerprint, content hash.
pub(crate) type Item = (Vec<u8>, Fingerprint, Hash);

/// Loads the cache; empty if it is absent or damaged.
pub(crate) fn load(dir: &Path) -> Vec<Item> {
    match db::map_file(&dir.join(layout::FINGERPRINTS)) {
        Ok(Some(bytes)) => decode(&bytes).unwrap_or_default(),
        Ok(None) | Err(_) => Vec::new(),
    }
}

/// Decodes a whole cache file; `None` if it is damaged in any way.
pub(crate) fn decode(file: &[u8]) -> Option<Vec<Item>> {
    let payload = format::decode(FINGERPRINTS_MAGIC, file).ok()?;
    let mut buf = AlignedVec::new();
    let payload = format::align_payload(payload, &mut buf);
    rkyv::from_bytes::<Vec<Item>, rancor::Error>(payload).ok()
}

/// Replaces the cache with `items`. Not fsynced: a cache lost to a power cut costs rehashing.
pub(crate) fn save(dir: &Path, items: &[Item]) -> Result<(), StoreError> {
    let path = dir.join(layout::FINGERPRINTS);
    let payload = rkyv::to_bytes::<rancor::Error>(&items.to_vec()).map_err(|e| StoreError::Io {
        path: path.clone(),
        source: std::io::Error::other(format!("serializing fingerprints: {e}")),
    })?;
    let header = format::encode_header(FINGERPRINTS_MAGIC, &payload);
    layout::replace(dir, &path, &[&header, &payload], Durability::Cached)
}
