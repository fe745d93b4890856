//! The abstract filesystem that path resolution and predicate checking are written against.
//!
//! [`Fs`] exposes only per-directory lookups, so the resolution algorithm itself (components,
//! `.`, `..`, symlinks, trailing slashes) lives once, in [`crate::resolve`]. The live system and
//! the in-memory [`crate::memfs::MemFs`] both implement it.

use crate::{Errno, Hash};

/// The kind of file a path reaches.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
#[cfg_attr(feature = "rkyv", derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize))]
#[cfg_attr(feature = "rkyv", rkyv(derive(Debug, PartialEq, Eq), attr(allow(missing_docs))))]
pub enum FileKind {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link (only seen when the last component is not followed).
    Symlink,
    /// A device, FIFO or socket.
    Other,
}

impl FileKind {
    /// Returns the word used in dry's messages: "regular file", "directory", ...
    pub fn word(self) -> &'static str {
        match self {
            FileKind::Regular => "regular file",
            FileKind::Directory => "directory",
            FileKind::Symlink => "symlink",
            FileKind::Other => "special file",
        }
    }
}

/// The metadata dry treats as observable: kind, permission bits and size.
///
/// Timestamps and inode numbers are deliberately absent (see notes/0003-metadata.md).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Meta {
    /// The kind of file.
    pub kind: FileKind,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: u32,
    /// Size in bytes; meaningful for regular files only (0 for other kinds).
    pub size_bytes: u64,
}

/// The access root has to a file of metadata `meta`, which is all the model knows (it runs as
/// root): reading and writing always, executing a directory or a file with an execute bit.
pub fn root_grants(meta: &Meta, want: u32) -> bool {
    want & 1 == 0 || meta.kind == FileKind::Directory || meta.mode & 0o111 != 0
}

/// A filesystem as seen by path resolution: directories of named nodes.
pub trait Fs {
    /// A handle on one file (inode) of this filesystem.
    type Node: Clone;

    /// Returns the root directory `/`.
    fn root(&self) -> Self::Node;

    /// Looks up `name` (never `.` or `..`) in directory `dir` without following a symlink at
    /// `name`. `Ok(None)` means the name is absent; an error is the kernel's (e.g. `EACCES`).
    fn lookup(&self, dir: &Self::Node, name: &[u8]) -> Result<Option<Self::Node>, Errno>;

    /// Returns the parent directory of directory `dir` (the root is its own parent).
    fn parent(&self, dir: &Self::Node) -> Self::Node;

    /// Returns the metadata of `node`.
    fn meta(&self, node: &Self::Node) -> Result<Meta, Errno>;

    /// Returns the target of symlink `node`.
    fn read_link(&self, node: &Self::Node) -> Result<Vec<u8>, Errno>;

    /// Returns the content hash of regular file `node`.
    fn content_hash(&self, node: &Self::Node) -> Result<Hash, Errno>;

    /// Returns the names in directory `node`, without `.` and `..`, sorted bytewise.
    fn list(&self, node: &Self::Node) -> Result<Vec<Vec<u8>>, Errno>;

    /// Returns the identity of `node`: (device, inode number). Two names reach one file
    /// exactly when their identities are equal (hard links); nothing else is asked of the
    /// numbers, which are never predicates themselves (notes/0003-metadata.md).
    fn identity(&self, node: &Self::Node) -> Result<(u64, u64), Errno>;

    /// Returns how many names `node` has (`st_nlink`).
    fn link_count(&self, node: &Self::Node) -> Result<u64, Errno>;

    /// Reports whether `node` grants this process the access `want` (`R_OK`, `W_OK`, `X_OK`
    /// bits: 4, 2, 1), as `access(2)` with the effective ids answers
    /// ([`crate::Predicate::Access`]).
    fn grants(&self, node: &Self::Node, want: u32) -> Result<bool, Errno>;

    /// Reports whether directory `node` is known, without listing it, to list exactly `names`
    /// (sorted bytewise): a filesystem that remembers what a directory listed while it had its
    /// current identity and times may vouch for it. `true` must mean that [`Fs::list`] would
    /// answer `names`; `false` says nothing (the check then lists). By default nothing is
    /// known.
    fn vouches_for_listing(&self, node: &Self::Node, names: &[&[u8]]) -> bool {
        let _ = (node, names);
        false
    }

    /// Reports whether listings of directory `node` leave out `name`: a name the user asked
    /// dry not to compare (the live filesystem's `.dryignore`, notes/transparency.md), whether
    /// or not it is in the directory now. A check of a [`crate::Predicate::Listing`] counts
    /// only the names added or removed that are not left out. By default none is.
    fn leaves_out(&self, node: &Self::Node, name: &[u8]) -> bool {
        let _ = (node, name);
        false
    }

    /// Returns the directory that absolute `base` resolves to, where a relative path's
    /// resolution starts: by default [`crate::resolve::start_dir`], walked anew each time. A
    /// filesystem whose answers cannot change while it is in use (a snapshot) may remember it.
    fn start_dir(&self, base: &[u8]) -> Result<Self::Node, Errno>
    where
        Self: Sized,
    {
        crate::resolve::start_dir(self, base)
    }

    /// Returns the directory that `dir`, the directory part of a path resolved from `base`
    /// (ignored when `dir` is absolute), reaches, and how many symlinks were followed on the
    /// way (they count toward the whole resolution's limit): by default
    /// [`crate::resolve::dir_part`], walked anew each time. A filesystem whose answers cannot
    /// change while it is in use (a snapshot) may remember it.
    fn dir_part(&self, base: &[u8], dir: &[u8]) -> Result<(Self::Node, u32), Errno>
    where
        Self: Sized,
    {
        crate::resolve::dir_part(self, base, dir)
    }
}
