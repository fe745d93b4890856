//! Verdicts: the outcome of checking an entry's predicates, with what was observed instead.

use crate::errno::Errno;
use crate::fs::FileKind;
use crate::hash::Hash;
use crate::predicate::StdinKind;

/// What the live filesystem showed where a predicate failed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Observed {
    /// The path resolved to a file of this kind.
    Kind(FileKind),
    /// The path failed to resolve with this error.
    Errno(Errno),
    /// The file has this content.
    Hash(Hash),
    /// The file has this metadata (kind, mode, size).
    Meta {
        /// The kind.
        kind: FileKind,
        /// Permission bits.
        mode: u32,
        /// Size in bytes.
        size_bytes: u64,
    },
    /// The directory lists other names: these were added, these removed.
    Names {
        /// Names present now but not recorded.
        added: Vec<Vec<u8>>,
        /// Names recorded but not present now.
        removed: Vec<Vec<u8>>,
    },
    /// The symlink has this target.
    Target(Vec<u8>),
    /// Standard input is not a regular file now.
    NoStdinFile,
    /// Standard input is something else now.
    Stdin(StdinKind),
    /// The two names of a [`crate::Predicate::SameFile`] now are one file (`true`) or two.
    SameFile(bool),
    /// The file of a [`crate::Predicate::Links`] has this many names, and these permission
    /// bits, now.
    Links(u64, u32),
    /// Resolving the predicate's path now follows a symlink the command did not make into
    /// this output of the entry (absolute path), which the command itself changes while it
    /// runs (gap G6, [`crate::into_output`]).
    IntoOutput(Vec<u8>),
    /// Two paths of a [`crate::Predicate::Identities`] now reach one file (`same`) where they
    /// reached two, or two files where they reached one.
    Identities {
        /// The first path.
        a: Vec<u8>,
        /// The second path.
        b: Vec<u8>,
        /// Whether they are one file now.
        same: bool,
    },
    /// Resolving the predicate's path now reaches the regular file that the command's
    /// standard output (1) or standard error (2) goes to ([`crate::into_output`]).
    OutputStream(u8),
    /// The file of a [`crate::Predicate::Access`] now grants (`true`) or refuses the access.
    Access(bool),
}

/// The outcome of checking an entry against a filesystem.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Verdict {
    /// Every predicate holds: the entry may be replayed.
    Holds,
    /// Predicate number `index` (the first in order) fails; `observed` is what was found.
    Fails {
        /// Index into the entry's predicates.
        index: usize,
        /// What was observed instead.
        observed: Observed,
    },
}

impl Verdict {
    /// Reports whether the verdict is [`Verdict::Holds`].
    pub fn holds(&self) -> bool {
        matches!(self, Verdict::Holds)
    }
}
