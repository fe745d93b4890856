//! One `lstat`, by absolute path or relative to an open directory, and what the checker keeps
//! of its answer: the kind, mode and size the model sees, and the fingerprint the cache
//! compares. Both ways of asking give the same [`Stat`] for the same file.

use model::fingerprint::Fingerprint;
use model::fs::{FileKind, Meta};
use model::Errno;
use nix::fcntl::AtFlags;
use nix::sys::stat::{fstatat, FileStat, SFlag};
use std::ffi::OsStr;
use std::fs::Metadata;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use super::fingerprint::fingerprint_of;

/// What `lstat` said about one node: the parts the model and the fingerprint fast path need.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Stat {
    /// What the model sees.
    pub(crate) meta: Meta,
    /// What the fingerprint cache compares.
    pub(crate) fingerprint: Fingerprint,
}

#[cfg(test)]
impl Stat {
    /// The metadata and fingerprint, for comparing two `lstat`s.
    pub(crate) fn of(self) -> (Meta, Fingerprint) {
        (self.meta, self.fingerprint)
    }
}

/// The answer of one `lstat`: the node, `None` for an absent name, or the kernel's error.
pub(crate) type Lstat = Result<Option<Stat>, Errno>;

/// `lstat`s `name` in the open directory `dir`, like [`lstat`].
pub(crate) fn lstat_at(dir: &OwnedFd, name: &[u8]) -> Lstat {
    match fstatat(dir, OsStr::from_bytes(name), AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(stat_of_raw(&st))),
        Err(nix::errno::Errno::ENOENT) => Ok(None),
        Err(e) => Err(Errno(e as i32)),
    }
}

/// Extracts what the model and the fingerprint cache need from a raw `stat`, exactly as
/// [`stat_of`] does from std's.
fn stat_of_raw(st: &FileStat) -> Stat {
    let kind = match SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT {
        SFlag::S_IFREG => FileKind::Regular,
        SFlag::S_IFDIR => FileKind::Directory,
        SFlag::S_IFLNK => FileKind::Symlink,
        _ => FileKind::Other,
    };
    let size_bytes = if kind == FileKind::Regular { st.st_size as u64 } else { 0 };
    let ns = |s: i64, n: i64| s.saturating_mul(1_000_000_000).saturating_add(n);
    Stat {
        meta: Meta { kind, mode: st.st_mode & 0o7777, size_bytes },
        fingerprint: Fingerprint {
            dev: st.st_dev,
            ino: st.st_ino,
            size_bytes: st.st_size as u64,
            mtime_ns: ns(st.st_mtime, st.st_mtime_nsec),
            ctime_ns: ns(st.st_ctime, st.st_ctime_nsec),
        },
    }
}

/// `lstat`s absolute `path`: the node's stat, `None` for an absent name, or the kernel's error.
pub(crate) fn lstat(path: &[u8]) -> Lstat {
    match std::fs::symlink_metadata(OsStr::from_bytes(path)) {
        Ok(m) => Ok(Some(stat_of(&m))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(errno_of(&e)),
    }
}

/// Extracts what the model and the fingerprint cache need from an `lstat`.
fn stat_of(m: &Metadata) -> Stat {
    let t = m.file_type();
    let kind = if t.is_file() {
        FileKind::Regular
    } else if t.is_dir() {
        FileKind::Directory
    } else if t.is_symlink() {
        FileKind::Symlink
    } else {
        debug_assert!(
            t.is_fifo() || t.is_socket() || t.is_block_device() || t.is_char_device(),
            "a file type std does not know"
        );
        FileKind::Other
    };
    let size_bytes = if kind == FileKind::Regular { m.size() } else { 0 };
    Stat {
        meta: Meta { kind, mode: m.mode() & 0o7777, size_bytes },
        fingerprint: fingerprint_of(m),
    }
}

/// Converts an I/O error into the kernel errno it carries (`EIO` if it carries none).
pub fn errno_of(e: &io::Error) -> Errno {
    Errno(e.raw_os_error().unwrap_or(nix::errno::Errno::EIO as i32))
}
