//! The entry database: one file per command family, `entries/<family hex>`, holding a header
//! (see `format`) and the rkyv archive of the family's `Vec<Entry>`, oldest first. Reads go
//! through memmap2 and are validated (header, checksum, bytecheck, family of every entry) before
//! anything is deserialized; writes replace the whole file (see `layout::replace`) and are only
//! made by `Store::record` and `gc`, under the store's lock.
//!
//! This is the store's one `unsafe`: mapping a file. It must not grow a second one: the zero-copy
//! read path ([`with_family`]) hands the validated archive to a closure for as long as the map
//! lives, instead of keeping a reference into it; [`with_entries`] is the one place archives
//! are accessed.

use super::format::{self, ENTRIES_MAGIC};
use super::layout::{self, Durability};
use super::StoreError;
use memmap2::Mmap;
use model::entry::ArchivedEntry;
use model::{CommandKey, Entry, Hash};
use rkyv::rancor;
use rkyv::util::AlignedVec;
use rkyv::vec::ArchivedVec;
use std::fs::File;
use std::io::ErrorKind;
use std::ops::Deref;
use std::path::Path;

/// The bytes of a whole file of the store: mapped, or empty (an empty file cannot be mapped).
pub(crate) enum FileBytes {
    /// A read-only map of the file.
    Mapped(Mmap),
    /// A file of length zero.
    Empty,
    /// Bytes held in memory (tests, fuzzing, decoding a buffer).
    Owned(Vec<u8>),
}

impl Deref for FileBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(m) => m,
            FileBytes::Empty => &[],
            FileBytes::Owned(v) => v,
        }
    }
}

/// Maps the file at `path` read-only; `None` if it does not exist.
pub(crate) fn map_file(path: &Path) -> Result<Option<FileBytes>, StoreError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::Io { path: path.to_path_buf(), source: e }),
    };
    let meta = file.metadata().map_err(StoreError::io(path))?;
    if !meta.is_file() {
        return Err(StoreError::corrupt(path, "not a regular file"));
    }
    if meta.len() == 0 {
        return Ok(Some(FileBytes::Empty));
    }
    // SAFETY: the store never modifies a file in place: archives are written to a temp file and
    // renamed into place, so the mapped file is immutable for as long as the map lives (a rename
    // or unlink by a writer leaves this inode intact). A truncation by someone outside dry would
    // raise SIGBUS on access; that is an accepted, documented risk (notes/format.md).
    let map = unsafe { Mmap::map(&file) }.map_err(StoreError::io(path))?;
    Ok(Some(FileBytes::Mapped(map)))
}

/// Reads the database of `family` at `path`: the entries, oldest first; empty if the file does
/// not exist; [`StoreError::Corrupt`] if it is damaged in any way.
pub(crate) fn read_family(path: &Path, family: &Hash) -> Result<Vec<Entry>, StoreError> {
    match map_file(path)? {
        None => Ok(Vec::new()),
        Some(bytes) => with_entries(path, &bytes, family, format::VERSION, |a| to_owned(path, a))?,
    }
}

/// Decodes a whole database file (`file`, read from `path`) of `family` into owned entries:
/// [`with_entries`], then deserialization. Unlike the store's reads, it also decodes the
/// older versions that this one extends (`format::OLDEST_DECODABLE`): the golden archives.
pub(crate) fn decode_entries(
    path: &Path,
    file: &[u8],
    family: &Hash,
) -> Result<Vec<Entry>, StoreError> {
    with_entries(path, file, family, format::OLDEST_DECODABLE, |archived| to_owned(path, archived))?
}

/// Copies validated archived entries (of the file at `path`) out into owned ones.
pub(crate) fn to_owned(path: &Path, archived: &[ArchivedEntry]) -> Result<Vec<Entry>, StoreError> {
    archived
        .iter()
        .map(rkyv::deserialize::<Entry, rancor::Error>)
        .collect::<Result<Vec<Entry>, _>>()
        .map_err(|e| StoreError::corrupt(path, format!("undecodable archive: {e}")))
}

/// A payload at least this long has its checksum verified on another thread while it is
/// validated and read: blake3 of the 100 000-input benchmark's 20.8 MiB family file is 4 ms,
/// while the second core is idle until the check starts its prefetch. A thread costs ~50 µs.
const CHECKSUM_APART_BYTES: usize = 1 << 20;

/// Hands the entries of a whole database file (`file`, read from `path`) of `family` to `f`,
/// read in place (zero-copy). This is the one path by which entry archives are accessed:
/// header and checksum, then bytecheck validation, then a check that every entry belongs to
/// `family`. For a big file the checksum is verified on another thread while `f` runs on the
/// validated archive: `f` must then only read (its result is dropped, and the file reported
/// corrupt, if the checksum fails); bytecheck has made every read of the archive safe by then.
/// Format versions from `oldest` to the current one are read.
pub(crate) fn with_entries<R>(
    path: &Path,
    file: &[u8],
    family: &Hash,
    oldest: u32,
    f: impl FnOnce(&[ArchivedEntry]) -> R,
) -> Result<R, StoreError> {
    let (payload, sum) = format::decode_header(ENTRIES_MAGIC, file, oldest)
        .map_err(|why| StoreError::corrupt(path, why))?;
    if payload.len() < CHECKSUM_APART_BYTES {
        format::verify(payload, &sum).map_err(|why| StoreError::corrupt(path, why))?;
        return validated(path, payload, family, f);
    }
    std::thread::scope(|scope| {
        let checksum = scope.spawn(|| format::verify(payload, &sum));
        let read = validated(path, payload, family, f);
        let verified = checksum.join().unwrap_or_else(|_| Err("checksum thread failed".into()));
        verified.map_err(|why| StoreError::corrupt(path, why))?;
        read
    })
}

/// The rest of [`with_entries`] once the header is checked: bytecheck validation, the family
/// of every entry, then `f`.
fn validated<R>(
    path: &Path,
    payload: &[u8],
    family: &Hash,
    f: impl FnOnce(&[ArchivedEntry]) -> R,
) -> Result<R, StoreError> {
    let mut buf = AlignedVec::new();
    let payload = format::align_payload(payload, &mut buf);
    let archived = rkyv::access::<ArchivedVec<ArchivedEntry>, rancor::Error>(payload)
        .map_err(|e| StoreError::corrupt(path, format!("invalid archive: {e}")))?;
    for (i, entry) in archived.iter().enumerate() {
        let key = rkyv::deserialize::<CommandKey, rancor::Error>(&entry.key)
            .map_err(|e| StoreError::corrupt(path, format!("undecodable key {i}: {e}")))?;
        if key.family() != *family {
            return Err(StoreError::corrupt(path, format!("entry {i} belongs to another family")));
        }
    }
    Ok(f(archived.as_slice()))
}

/// Maps the database of `family` at `path` and hands its entries, validated and read in place,
/// to `f` (no entries if the file does not exist).
pub(crate) fn with_family<R>(
    path: &Path,
    family: &Hash,
    f: impl FnOnce(&[ArchivedEntry]) -> R,
) -> Result<R, StoreError> {
    match map_file(path)? {
        None => Ok(f(&[])),
        Some(bytes) => with_entries(path, &bytes, family, format::VERSION, f),
    }
}

/// Encodes `entries` of `family` as a whole database file: header, then archive. Checks what it
/// wrote by reading it back through [`decode_entries`]' validation.
// rkyv serializes the root value, a `Vec<Entry>`: a slice would need a hand-written serializer.
#[allow(clippy::ptr_arg)]
pub(crate) fn encode_entries(
    path: &Path,
    entries: &Vec<Entry>,
    family: &Hash,
) -> Result<(Vec<u8>, AlignedVec), StoreError> {
    if let Some(i) = entries.iter().position(|e| e.key.family() != *family) {
        return Err(StoreError::corrupt(
            path,
            format!("refusing to write entry {i}: wrong family"),
        ));
    }
    let payload = rkyv::to_bytes::<rancor::Error>(entries).map_err(|e| StoreError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(format!("serializing entries: {e}")),
    })?;
    // Assert on write: the archive must validate before it may replace the previous one.
    rkyv::access::<ArchivedVec<ArchivedEntry>, rancor::Error>(&payload).map_err(|e| {
        StoreError::corrupt(path, format!("serializer wrote an invalid archive: {e}"))
    })?;
    let header = format::encode_header(ENTRIES_MAGIC, &payload).to_vec();
    Ok((header, payload))
}

/// Replaces the database at `path` (of `family`) with `entries`, durably; deletes it if
/// `entries` is empty. The caller holds the store's lock.
#[allow(clippy::ptr_arg)] // see encode_entries
pub(crate) fn write_family(
    dir: &Path,
    path: &Path,
    entries: &Vec<Entry>,
    family: &Hash,
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != ErrorKind::NotFound => {
                Err(StoreError::Io { path: path.to_path_buf(), source: e })
            }
            _ => Ok(()),
        };
    }
    let (header, payload) = encode_entries(path, entries, family)?;
    layout::replace(dir, path, &[&header, &payload], Durability::Synced)
}

/// Returns every family that has a database file, sorted; other names are skipped.
pub(crate) fn families(dir: &Path) -> Result<Vec<Hash>, StoreError> {
    let entries_dir = dir.join(layout::ENTRIES);
    let listing = match std::fs::read_dir(&entries_dir) {
        Ok(l) => l,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::Io { path: entries_dir, source: e }),
    };
    let mut out = Vec::new();
    for item in listing {
        let item = item.map_err(StoreError::io(&entries_dir))?;
        let name = item.file_name();
        let Some(name) = name.to_str() else { continue };
        // Only the canonical (lowercase) spelling names a family file.
        if let Some(hash) = Hash::from_hex(name).filter(|h| h.to_hex() == name) {
            out.push(hash);
        }
    }
    out.sort();
    Ok(out)
}
