//! Predicates: the typed facts about the filesystem that a recorded run depended on.

use crate::errno::Errno;
use crate::fs::FileKind;
use crate::hash::Hash;
use crate::resolve::ResolveFlags;

/// One input of a recorded run, checked against the live filesystem before a replay.
///
/// Paths are bytes. `base` is the absolute directory a relative `path` was resolved from (the
/// process's cwd or the directory fd), `/` for an absolute `path`; `path` is exactly what the
/// command passed, so the check resolves it as the kernel did, `..` and symlinks included.
/// Paths of `Content`, `Metadata`, `Listing`, `Readlink` and `SameFile` are absolute: the `path` of the
/// resolution that reached the file joined to its `base`, not normalised. The check resolves
/// them again as the kernel would (following a final symlink except for `Readlink`), so a
/// symlink retargeted anywhere on the way is noticed.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "rkyv", derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize))]
#[cfg_attr(feature = "rkyv", rkyv(derive(Debug), attr(allow(missing_docs))))]
pub enum Predicate {
    /// The path resolves to a file of kind `to`.
    Resolves {
        /// The path as the command passed it.
        path: Vec<u8>,
        /// The absolute directory a relative path starts from.
        base: Vec<u8>,
        /// The lookup flags.
        flags: ResolveFlags,
        /// The kind of file reached (in create mode, absent counts as a regular file).
        to: FileKind,
    },
    /// The path fails to resolve with `errno`.
    DoesNotResolve {
        /// The path as the command passed it.
        path: Vec<u8>,
        /// The absolute directory a relative path starts from.
        base: Vec<u8>,
        /// The lookup flags.
        flags: ResolveFlags,
        /// The error the kernel returned.
        errno: Errno,
    },
    /// The regular file at `path` (following symlinks) has content `hash`.
    Content {
        /// Absolute path of the file.
        path: Vec<u8>,
        /// blake3 of the whole content when the command first opened it.
        hash: Hash,
    },
    /// The file at `path` (following symlinks) has this kind, permission bits and size.
    Metadata {
        /// Absolute path of the file.
        path: Vec<u8>,
        /// The kind of file.
        kind: FileKind,
        /// Permission bits (`st_mode & 0o7777`).
        mode: u32,
        /// Size in bytes (regular files only; 0 otherwise).
        size_bytes: u64,
    },
    /// The directory at `dir` (following symlinks) lists exactly `names` (sorted, no `.`/`..`).
    Listing {
        /// Absolute path of the directory.
        dir: Vec<u8>,
        /// The names listed, sorted bytewise.
        names: Vec<Vec<u8>>,
    },
    /// The symlink at `path` (not followed) has target `target`.
    Readlink {
        /// Absolute path of the symlink.
        path: Vec<u8>,
        /// Its target, as stored.
        target: Vec<u8>,
    },
    /// Standard input is a regular file with content `hash` (see notes/0002-stdin.md).
    Stdin {
        /// blake3 of the whole content of the file on standard input.
        hash: Hash,
    },
    /// The paths `a` and `b` (absolute, as spelled, each resolved with `flags`) name one file
    /// (`same`: one device and inode number) or two different files. Recorded where an outcome
    /// depends on it: `rename(a, b)` of two names of one inode changes nothing, of two inodes
    /// replaces `b` (gap G19 of notes/model.md). New in format version 2, and last so that the
    /// archive of every older variant is unchanged.
    SameFile {
        /// Absolute path of the first name, as spelled.
        a: Vec<u8>,
        /// Absolute path of the second name, as spelled.
        b: Vec<u8>,
        /// How both names are resolved.
        flags: ResolveFlags,
        /// Whether both names reached one file.
        same: bool,
    },
}

impl Predicate {
    /// Returns the path this predicate is about, as bytes, for messages and `dry why PATH`.
    pub fn subject(&self) -> Vec<u8> {
        self.view().subject()
    }
}
