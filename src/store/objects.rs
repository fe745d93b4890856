//! The object store: immutable blobs named by the blake3 hash of their content, at
//! `objects/<first 2 hex digits>/<other 62>`. An object is written to a temp file, fsynced and
//! renamed into place, so a name only ever holds its full content; every read verifies the
//! content against the name, so damage is reported as [`StoreError::Corrupt`], never restored,
//! and the damaged file is deleted so that the next build storing that content repairs it.
//!
//! Objects are not locked: two writers of one object write the same bytes, and either rename
//! wins. The directory is not fsynced after the rename: an object lost to a power cut is a
//! missing object, which every reader already treats as corrupt (a cache miss).
#![forbid(unsafe_code)]

use super::layout;
use super::StoreError;
use model::Hash;
use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Size of the buffer objects are streamed through.
const CHUNK: usize = 64 * 1024;

/// Files up to this size are read whole and hashed before anything is written, so that storing
/// content the store already holds creates and fsyncs no file: a nested build stores each
/// object file three times (the assembler's entry, the compiler driver's, the top level's), and
/// on ext4 a file created where many were recently deleted can cost a millisecond.
pub(crate) const READ_WHOLE_MAX: u64 = 4 << 20;

/// Stores the content of the file at `src`; returns its hash and size.
pub(crate) fn put_file(dir: &Path, src: &Path) -> Result<(Hash, u64), StoreError> {
    let mut input = File::open(src).map_err(StoreError::io(src))?;
    let len = input.metadata().map_err(StoreError::io(src))?.len();
    if len <= READ_WHOLE_MAX {
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0).saturating_add(1));
        input.read_to_end(&mut bytes).map_err(StoreError::io(src))?;
        return put_bytes(dir, &bytes).map(|hash| (hash, bytes.len() as u64));
    }
    let (mut temp, temp_path) = layout::temp_file(dir, "obj")?;
    let copied = stream(&mut input, &mut temp, src, &temp_path).and_then(|(hash, size)| {
        temp.sync_all().map_err(StoreError::io(&temp_path))?;
        Ok((hash, size))
    });
    drop(temp);
    match copied {
        Ok((hash, size)) => install(dir, &temp_path, &hash).map(|()| (hash, size)),
        Err(e) => {
            let _ = std::fs::remove_file(&temp_path);
            Err(e)
        }
    }
}

/// Stores `bytes`; returns their hash.
pub(crate) fn put_bytes(dir: &Path, bytes: &[u8]) -> Result<Hash, StoreError> {
    let hash = Hash::of(bytes);
    if touch(&layout::object_path(dir, &hash)) {
        return Ok(hash);
    }
    let (mut temp, temp_path) = layout::temp_file(dir, "obj")?;
    let written = temp.write_all(bytes).and_then(|()| temp.sync_all());
    drop(temp);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp_path);
        return Err(StoreError::Io { path: temp_path, source: e });
    }
    install(dir, &temp_path, &hash).map(|()| hash)
}

/// Reports whether object `hash` exists as a regular file (its content is not verified).
pub(crate) fn has(dir: &Path, hash: &Hash) -> bool {
    std::fs::symlink_metadata(layout::object_path(dir, hash)).is_ok_and(|m| m.is_file())
}

/// Reads object `hash`, verifying it.
pub(crate) fn read(dir: &Path, hash: &Hash) -> Result<Vec<u8>, StoreError> {
    let path = layout::object_path(dir, hash);
    let mut file = open(&path)?;
    let mut out = Vec::new();
    file.read_to_end(&mut out).map_err(StoreError::io(&path))?;
    if Hash::of(&out) != *hash {
        return Err(discard(&path));
    }
    Ok(out)
}

/// Copies object `hash` into `dest`, verifying it while streaming; returns the size. On
/// [`StoreError::Corrupt`] some bytes may already be in `dest`.
pub(crate) fn copy(dir: &Path, hash: &Hash, dest: &mut File) -> Result<u64, StoreError> {
    let path = layout::object_path(dir, hash);
    let mut file = open(&path)?;
    let (got, size) = stream(&mut file, dest, &path, Path::new("<restore destination>"))?;
    if got != *hash {
        return Err(discard(&path));
    }
    Ok(size)
}

/// Deletes the damaged object at `path`, so that the next build that produces its content stores
/// it afresh instead of finding it present; returns the error to report. (A good copy renamed into
/// place by a concurrent writer in between may be deleted too: that costs one cache miss.)
fn discard(path: &Path) -> StoreError {
    let removed = std::fs::remove_file(path).is_ok();
    let why = if removed {
        "content does not match its hash (deleted)"
    } else {
        "content does not match its hash"
    };
    StoreError::corrupt(path, why)
}

/// Opens object file `path`; a missing object is corrupt.
fn open(path: &Path) -> Result<File, StoreError> {
    File::open(path).map_err(|e| match e.kind() {
        ErrorKind::NotFound => StoreError::corrupt(path, "missing object"),
        _ => StoreError::Io { path: path.to_path_buf(), source: e },
    })
}

/// Copies `input` (at `from`) to `output` (at `to`) while hashing; returns the hash and size.
fn stream(
    input: &mut File,
    output: &mut File,
    from: &Path,
    to: &Path,
) -> Result<(Hash, u64), StoreError> {
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; CHUNK];
    let mut size = 0u64;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(StoreError::Io { path: from.to_path_buf(), source: e }),
        };
        hasher.update(&buf[..n]);
        output.write_all(&buf[..n]).map_err(StoreError::io(to))?;
        size += n as u64;
    }
    Ok((Hash(*hasher.finalize().as_bytes()), size))
}

/// Moves the complete, fsynced temp file at `temp` to the place of object `hash`; if the object
/// already exists, drops the temp file instead and refreshes the object's mtime.
fn install(dir: &Path, temp: &Path, hash: &Hash) -> Result<(), StoreError> {
    let dest: PathBuf = layout::object_path(dir, hash);
    if touch(&dest) {
        let _ = std::fs::remove_file(temp);
        return Ok(());
    }
    layout::rename_into_place(temp, &dest).inspect_err(|_| {
        let _ = std::fs::remove_file(temp);
    })
}

/// Sets the mtime of the object at `path` to now; reports whether it exists. A fresh mtime
/// tells `gc` that a build still in flight is about to reference the object.
fn touch(path: &Path) -> bool {
    match File::open(path) {
        Ok(f) => {
            let _ = f.set_modified(SystemTime::now());
            true
        }
        Err(_) => false,
    }
}
