//! A borrowed view of one predicate, so that [`crate::check::check_view`] decides over an owned
//! [`Predicate`] and over its zero-copy rkyv archive (a database file mapped in memory) with one
//! and the same code. The view holds byte slices and the small `Copy` fields; a listing's names
//! are any slice whose items read as bytes (`Vec<u8>` owned, `ArchivedVec<u8>` archived).

use crate::errno::Errno;
use crate::fs::FileKind;
use crate::hash::Hash;
use crate::predicate::{Predicate, StdinKind};
use crate::resolve::ResolveFlags;

/// One predicate, borrowed: the same variants and fields as [`Predicate`].
#[derive(Debug)]
pub enum PredicateView<'a, N> {
    /// See [`Predicate::Resolves`].
    Resolves {
        /// The path as the command passed it.
        path: &'a [u8],
        /// The absolute directory a relative path starts from.
        base: &'a [u8],
        /// The lookup flags.
        flags: ResolveFlags,
        /// The kind of file reached.
        to: FileKind,
    },
    /// See [`Predicate::DoesNotResolve`].
    DoesNotResolve {
        /// The path as the command passed it.
        path: &'a [u8],
        /// The absolute directory a relative path starts from.
        base: &'a [u8],
        /// The lookup flags.
        flags: ResolveFlags,
        /// The error the kernel returned.
        errno: Errno,
    },
    /// See [`Predicate::Content`].
    Content {
        /// Absolute path of the file.
        path: &'a [u8],
        /// blake3 of the whole content.
        hash: Hash,
    },
    /// See [`Predicate::Metadata`].
    Metadata {
        /// Absolute path of the file.
        path: &'a [u8],
        /// The kind of file.
        kind: FileKind,
        /// Permission bits.
        mode: u32,
        /// Size in bytes (regular files only).
        size_bytes: u64,
    },
    /// See [`Predicate::Listing`].
    Listing {
        /// Absolute path of the directory.
        dir: &'a [u8],
        /// The names listed, sorted bytewise.
        names: &'a [N],
    },
    /// See [`Predicate::Readlink`].
    Readlink {
        /// Absolute path of the symlink.
        path: &'a [u8],
        /// Its target, as stored.
        target: &'a [u8],
    },
    /// See [`Predicate::Stdin`].
    Stdin {
        /// blake3 of standard input's content.
        hash: Hash,
    },
    /// See [`Predicate::StdinIs`].
    StdinIs {
        /// What standard input is.
        kind: StdinKind,
    },
    /// See [`Predicate::SameFile`].
    SameFile {
        /// Absolute path of the first name, as spelled.
        a: &'a [u8],
        /// Absolute path of the second name, as spelled.
        b: &'a [u8],
        /// How both names are resolved.
        flags: ResolveFlags,
        /// Whether both names reached one file.
        same: bool,
    },
    /// See [`Predicate::Links`].
    Links {
        /// Absolute path, as spelled.
        path: &'a [u8],
        /// How many names the file had; 0 if there was none.
        count: u64,
        /// Its permission bits.
        mode: u32,
    },
    /// See [`Predicate::Identities`].
    Identities {
        /// The paths, groups separated by an empty name.
        groups: &'a [N],
    },
    /// See [`Predicate::Access`].
    Access {
        /// Absolute path, as spelled.
        path: &'a [u8],
        /// The access asked for (`R_OK`, `W_OK`, `X_OK` bits).
        want: u32,
        /// Whether it was granted.
        granted: bool,
    },
}

// By hand: the derives would ask `N: Copy`, and only `&[N]` is held.
impl<N> Clone for PredicateView<'_, N> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<N> Copy for PredicateView<'_, N> {}

impl<N> PredicateView<'_, N> {
    /// Returns the path this predicate is about, as bytes, for messages and the output rule
    /// (see [`Predicate::subject`]).
    pub fn subject(&self) -> Vec<u8> {
        match *self {
            PredicateView::Resolves { path, base, .. }
            | PredicateView::DoesNotResolve { path, base, .. } => {
                crate::path::normalize(&crate::path::join(base, path))
            }
            PredicateView::Content { path, .. }
            | PredicateView::Metadata { path, .. }
            | PredicateView::Readlink { path, .. }
            | PredicateView::SameFile { a: path, .. }
            | PredicateView::Links { path, .. }
            | PredicateView::Access { path, .. } => path.to_vec(),
            PredicateView::Listing { dir, .. } => dir.to_vec(),
            PredicateView::Identities { .. } => b"<identities>".to_vec(),
            PredicateView::Stdin { .. } | PredicateView::StdinIs { .. } => b"<stdin>".to_vec(),
        }
    }
}

impl Predicate {
    /// Returns the borrowed view of this predicate.
    pub fn view(&self) -> PredicateView<'_, Vec<u8>> {
        match self {
            Predicate::Resolves { path, base, flags, to } => {
                PredicateView::Resolves { path, base, flags: *flags, to: *to }
            }
            Predicate::DoesNotResolve { path, base, flags, errno } => {
                PredicateView::DoesNotResolve { path, base, flags: *flags, errno: *errno }
            }
            Predicate::Content { path, hash } => PredicateView::Content { path, hash: *hash },
            Predicate::Metadata { path, kind, mode, size_bytes } => {
                PredicateView::Metadata { path, kind: *kind, mode: *mode, size_bytes: *size_bytes }
            }
            Predicate::Listing { dir, names } => PredicateView::Listing { dir, names },
            Predicate::Readlink { path, target } => PredicateView::Readlink { path, target },
            Predicate::Stdin { hash } => PredicateView::Stdin { hash: *hash },
            Predicate::StdinIs { kind } => PredicateView::StdinIs { kind: *kind },
            Predicate::SameFile { a, b, flags, same } => {
                PredicateView::SameFile { a, b, flags: *flags, same: *same }
            }
            Predicate::Links { path, count, mode } => {
                PredicateView::Links { path, count: *count, mode: *mode }
            }
            Predicate::Identities { groups } => PredicateView::Identities { groups },
            Predicate::Access { path, want, granted } => {
                PredicateView::Access { path, want: *want, granted: *granted }
            }
        }
    }
}

#[cfg(feature = "rkyv")]
mod archived {
    //! The views of archived predicates: what `rkyv` maps in place, read without deserializing.
    use super::PredicateView;
    use crate::errno::{ArchivedErrno, Errno};
    use crate::fs::{ArchivedFileKind, FileKind};
    use crate::hash::{ArchivedHash, Hash};
    use crate::predicate::{ArchivedPredicate, ArchivedStdinKind, StdinKind};
    use crate::resolve::{ArchivedResolveFlags, ResolveFlags};
    use rkyv::vec::ArchivedVec;

    impl ArchivedPredicate {
        /// Returns the borrowed view of this archived predicate, reading it in place.
        pub fn view(&self) -> PredicateView<'_, ArchivedVec<u8>> {
            match self {
                ArchivedPredicate::Resolves { path, base, flags, to } => {
                    PredicateView::Resolves { path, base, flags: flags.into(), to: to.into() }
                }
                ArchivedPredicate::DoesNotResolve { path, base, flags, errno } => {
                    PredicateView::DoesNotResolve {
                        path,
                        base,
                        flags: flags.into(),
                        errno: errno.into(),
                    }
                }
                ArchivedPredicate::Content { path, hash } => {
                    PredicateView::Content { path, hash: hash.into() }
                }
                ArchivedPredicate::Metadata { path, kind, mode, size_bytes } => {
                    PredicateView::Metadata {
                        path,
                        kind: kind.into(),
                        mode: mode.to_native(),
                        size_bytes: size_bytes.to_native(),
                    }
                }
                ArchivedPredicate::Listing { dir, names } => {
                    PredicateView::Listing { dir, names: names.as_slice() }
                }
                ArchivedPredicate::Readlink { path, target } => {
                    PredicateView::Readlink { path, target }
                }
                ArchivedPredicate::Stdin { hash } => PredicateView::Stdin { hash: hash.into() },
                ArchivedPredicate::StdinIs { kind } => PredicateView::StdinIs { kind: kind.into() },
                ArchivedPredicate::SameFile { a, b, flags, same } => {
                    PredicateView::SameFile { a, b, flags: flags.into(), same: *same }
                }
                ArchivedPredicate::Links { path, count, mode } => {
                    PredicateView::Links { path, count: count.to_native(), mode: mode.to_native() }
                }
                ArchivedPredicate::Identities { groups } => {
                    PredicateView::Identities { groups: groups.as_slice() }
                }
                ArchivedPredicate::Access { path, want, granted } => {
                    PredicateView::Access { path, want: want.to_native(), granted: *granted }
                }
            }
        }
    }

    impl From<&ArchivedResolveFlags> for ResolveFlags {
        fn from(a: &ArchivedResolveFlags) -> ResolveFlags {
            ResolveFlags {
                follow: a.follow,
                reject_symlink: a.reject_symlink,
                directory: a.directory,
                create: a.create,
                exclusive: a.exclusive,
                write: a.write,
            }
        }
    }

    impl From<&ArchivedFileKind> for FileKind {
        fn from(a: &ArchivedFileKind) -> FileKind {
            match a {
                ArchivedFileKind::Regular => FileKind::Regular,
                ArchivedFileKind::Directory => FileKind::Directory,
                ArchivedFileKind::Symlink => FileKind::Symlink,
                ArchivedFileKind::Other => FileKind::Other,
            }
        }
    }

    impl From<&ArchivedStdinKind> for StdinKind {
        fn from(a: &ArchivedStdinKind) -> StdinKind {
            match a {
                ArchivedStdinKind::Closed => StdinKind::Closed,
                ArchivedStdinKind::Null => StdinKind::Null,
                ArchivedStdinKind::File => StdinKind::File,
                ArchivedStdinKind::Terminal => StdinKind::Terminal,
                ArchivedStdinKind::Stream => StdinKind::Stream,
                ArchivedStdinKind::Other => StdinKind::Other,
            }
        }
    }

    impl From<&ArchivedErrno> for Errno {
        fn from(a: &ArchivedErrno) -> Errno {
            Errno(a.0.to_native())
        }
    }

    impl From<&ArchivedHash> for Hash {
        fn from(a: &ArchivedHash) -> Hash {
            Hash(a.0)
        }
    }
}
