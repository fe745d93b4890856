//! Observations: what a command saw and did, in the order it happened, as the tracer reports it.
//!
//! The tracer translates each syscall into one or more observations (a successful
//! `open(O_RDWR)` of an existing file is a [`Observation::Resolve`], a [`Observation::Read`] of
//! its content before any write, and a [`Observation::Touch`]).
//!
//! Paths of inputs (`Stat`, `Read`, `ReadLink`, `List`, `SameFile`) are absolute *as spelled*: the path the
//! command passed joined to its base, not normalised, so that a check resolves them again through
//! any symlink. Paths of outputs (`Touch`, `TouchTree`) are canonical: the file really changed. [`crate::lower`] then decides which
//! observations are inputs of the run and which paths are its outputs.

use crate::entry::Uncacheable;
use crate::errno::Errno;
use crate::fs::{FileKind, Meta};
use crate::hash::Hash;
use crate::predicate::StdinKind;
use crate::resolve::ResolveFlags;

/// A path as the command passed it, with the absolute directory it was resolved from.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct At {
    /// The absolute directory a relative `path` starts from (`/` for an absolute path).
    pub base: Vec<u8>,
    /// The path as the command passed it.
    pub path: Vec<u8>,
}

impl At {
    /// Builds an `At`, using `/` as the base of an absolute path.
    pub fn new(base: &[u8], path: &[u8]) -> At {
        let base = if path.first() == Some(&b'/') { b"/".to_vec() } else { base.to_vec() };
        At { base, path: path.to_vec() }
    }

    /// Returns the absolute, lexically normalised path.
    pub fn absolute(&self) -> Vec<u8> {
        crate::path::normalize(&crate::path::join(&self.base, &self.path))
    }

    /// The directory part of `self` (to be resolved with `O_DIRECTORY`), for a call that
    /// creates, removes or renames the name `self`; `None` for `/`, which has none.
    pub fn named_parent(&self) -> Option<At> {
        let (parent, last) = crate::ops::split_last(&self.path);
        match last {
            crate::ops::Last::Root => None,
            _ => Some(At { base: self.base.clone(), path: parent }),
        }
    }

    /// For a call that creates the name `self` (`mkdir`, `symlink`, the new name of `link` and
    /// `rename`): the directory it is created in and the name itself, trailing slashes trimmed
    /// (to be resolved with `O_DIRECTORY` and without following, gap G2 of notes/model.md).
    /// `None` when the last component is not a name (`.`, `..`, `/`).
    pub fn created_name(&self) -> Option<(At, At)> {
        let (parent, last) = crate::ops::split_last(&self.path);
        let crate::ops::Last::Norm { .. } = last else { return None };
        let mut name = self.path.clone();
        while name.len() > 1 && name.ends_with(b"/") {
            name.pop();
        }
        Some((
            At { base: self.base.clone(), path: parent },
            At { base: self.base.clone(), path: name },
        ))
    }
}

/// One thing a command observed or did.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Observation {
    /// A path was resolved; `outcome` is the kind of file reached (in create mode, a missing last
    /// component counts as the regular file created) or the error returned.
    Resolve {
        /// The path and its base.
        at: At,
        /// The lookup flags.
        flags: ResolveFlags,
        /// What the resolution returned.
        outcome: Result<FileKind, Errno>,
        /// The syscall opened the file for reading (so a device here is read).
        opened_for_read: bool,
    },
    /// An open of an existing file was refused (`EACCES`, `EPERM`): the file grants
    /// (`granted`) or refuses the command the access `want` (`R_OK`, `W_OK`, `X_OK` bits).
    Access {
        /// Absolute path, as spelled.
        path: Vec<u8>,
        /// The access asked for.
        want: u32,
        /// Whether it was granted.
        granted: bool,
    },
    /// The metadata of a file was returned to the command (stat family).
    Stat {
        /// Absolute normalised path.
        path: Vec<u8>,
        /// What the command was shown.
        meta: Meta,
        /// The device and inode numbers the command was shown (a `stat`; `None` for metadata
        /// the tracer records of a file it opens or renames, which the command is not shown):
        /// which stat'ed paths were one file is an input (`Predicate::Identities`).
        id: Option<(u64, u64)>,
    },
    /// A regular file was opened for reading (or read-write, or append): its content at that
    /// moment.
    Read {
        /// Absolute normalised path.
        path: Vec<u8>,
        /// blake3 of the content.
        hash: Hash,
    },
    /// A symlink's target was read.
    ReadLink {
        /// Absolute normalised path of the symlink.
        path: Vec<u8>,
        /// The target.
        target: Vec<u8>,
    },
    /// A directory was listed.
    List {
        /// Absolute normalised path of the directory.
        dir: Vec<u8>,
        /// The names returned, without `.` and `..`.
        names: Vec<Vec<u8>>,
    },
    /// A regular file opened for writing had `count` names and permission bits `mode` (gaps
    /// G20 and G22 of notes/model.md); `count` 0: it did not exist, the open created it with
    /// `mode`.
    Links {
        /// Absolute path, as spelled (followed).
        path: Vec<u8>,
        /// Its `st_nlink`, or 0.
        count: u64,
        /// Its permission bits.
        mode: u32,
    },
    /// Two names were found to be one file, or two (gap G19 of notes/model.md): the outcome of
    /// the call depended on it (`rename(a, b)` of two names of one inode does nothing).
    SameFile {
        /// Absolute path of the first name, as spelled.
        a: Vec<u8>,
        /// Absolute path of the second name, as spelled.
        b: Vec<u8>,
        /// How both names were resolved.
        flags: ResolveFlags,
        /// Whether both reached one file.
        same: bool,
    },
    /// A path is about to be changed by the command (created, written, truncated, chmod-ed,
    /// removed, renamed to or from). `before` is its kind just before the change, `None` if
    /// absent.
    Touch {
        /// Absolute normalised path.
        path: Vec<u8>,
        /// Its state just before the change.
        before: Option<FileKind>,
    },
    /// The mode of the existing directory at `path` changed (`chmod`), and nothing else: its
    /// final state is an effect, but what is below it is not the run's output (a chmod of a
    /// file is a [`Observation::Touch`]: the file is the whole output).
    TouchMode {
        /// Absolute normalised path.
        path: Vec<u8>,
    },
    /// A directory was renamed from `from` to `path` (both already [`Observation::Touch`]ed):
    /// everything below `path` is an output. Renaming a directory the run did not create makes
    /// the run uncacheable, since its contents were never observed.
    TouchTree {
        /// Absolute normalised path of the directory's old name.
        from: Vec<u8>,
        /// Absolute normalised path of the directory's new name.
        path: Vec<u8>,
    },
    /// The run cannot be replayed, for this reason.
    Uncacheable(Uncacheable),
    /// The command read standard input, which is a regular file with this content.
    StdinFile {
        /// blake3 of the content.
        hash: Hash,
    },
    /// The tracer's exact canonical name for a path whose walk, as spelled, passes through a
    /// path the build had already changed (a symlink or directory it created, `..` out of one):
    /// the observations of that spelling that follow (a resolution with the same `follow`, and
    /// the read, stat, listing or readlink of the same call) are about this name, since no
    /// predicate about the state before the run can re-walk the spelling (gaps G8 and G10 of
    /// notes/model.md, issue 20 items 1 and 3). Emitted just before the first resolution of
    /// such a spelling, after the walk's pins ([`crate::walk::change_pins`]).
    Canonical {
        /// The absolute path as spelled (base joined with the path, not normalised).
        spelled: Vec<u8>,
        /// Whether the resolution follows a last symlink.
        follow: bool,
        /// The name the walk reaches ([`crate::ops::exact_canonical`]); `None` when no exact
        /// name can be given (the directory part does not resolve, or a followed last
        /// component exists but does not resolve).
        canonical: Option<Vec<u8>>,
    },
    /// The command's standard input, when it started, was not a regular file but `kind`.
    StdinIs {
        /// What it was.
        kind: StdinKind,
    },
    /// The tracer stopped on a syscall it does not understand.
    UnknownSyscall {
        /// The syscall number.
        nr: u64,
    },
}
