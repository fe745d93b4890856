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
        /// blake3 of the whole content of the file on standard input (mixed with the
        /// descriptor's offset when that is not 0, see `dry::check::stdin`).
        hash: Hash,
    },
    /// Standard input is not a regular file but something of kind `kind` (`/dev/null`, a
    /// terminal...), see notes/0002-stdin.md. Every entry recorded since format version 2 has
    /// exactly one `Stdin` or `StdinIs`: without it, an entry recorded with `/dev/null` on
    /// standard input would be replayed for a command reading a file or a pipe.
    StdinIs {
        /// What standard input is ([`StdinKind::File`] is never recorded here).
        kind: StdinKind,
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
    /// The regular file `path` reaches (absolute as spelled, following) has `count` names
    /// (`st_nlink`) and permission bits `mode`; `count` 0 says the path did not resolve (the
    /// open created the file), and then the path not resolving holds too. Recorded for a file
    /// the command opens for writing: an existing one is written in place, and keeps its mode
    /// (gap G22 of notes/model.md), and every other name of it changes too, which a replay,
    /// writing a fresh file, would not do (G20); a file truncated in place under its only name
    /// with the mode a create gives ends as a created one. New in format version 2.
    Links {
        /// Absolute path, as spelled.
        path: Vec<u8>,
        /// How many names the file had; 0 if there was none.
        count: u64,
        /// Its permission bits (those the open created it with, for `count` 0).
        mode: u32,
    },
    /// The paths whose metadata the command was shown (`stat` and its variants: absolute, as
    /// spelled, followed), in groups separated by an empty name: the paths of one group reach
    /// one file, those of different groups different files. A `stat` shows the device and inode
    /// numbers, and programs compare them (`cp`, `ln` and `mv` refuse two names of one file:
    /// "are the same file"); the numbers themselves are never compared, only which names share
    /// them. Recorded once per run, when it stat'ed two paths or more. New in format version 3.
    Identities {
        /// The paths, groups separated by an empty name.
        groups: Vec<Vec<u8>>,
    },
    /// The file at `path` (absolute as spelled, following) grants the command (`granted`) or
    /// refuses it the access `want` (`R_OK`, `W_OK`, `X_OK` bits: 4, 2, 1), as `access(2)`
    /// with the effective ids would say: mode, owner, group, ACLs, a read-only mount. Recorded
    /// where an open failed with `EACCES` or `EPERM` on a file that exists (`chmod 000
    /// secret.txt; cat secret.txt`): the failure is the file's permission, not its absence
    /// (issue 21, item 7). New in format version 4.
    Access {
        /// Absolute path, as spelled.
        path: Vec<u8>,
        /// The access asked for.
        want: u32,
        /// Whether it was granted.
        granted: bool,
    },
}

/// What a command's standard input (its descriptor 0) refers to, as far as replaying it goes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "rkyv", derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize))]
#[cfg_attr(feature = "rkyv", rkyv(derive(Debug, PartialEq, Eq), attr(allow(missing_docs))))]
pub enum StdinKind {
    /// Descriptor 0 is closed: a read fails with `EBADF`.
    Closed,
    /// `/dev/null`, or a pipe that holds no bytes and whose every write end is closed: every
    /// read ends at once. GNU make -j gives such a pipe to every job but one, the one that
    /// gets make's own stdin depending on timing, so the two must not be told apart. Only a
    /// live probe tells a drained pipe from a [`StdinKind::Stream`] (`of_mode` cannot).
    Null,
    /// A regular file: its content is the input (`Predicate::Stdin`).
    File,
    /// A terminal.
    Terminal,
    /// A pipe or a socket: bytes written by someone else, which cannot be checked later.
    Stream,
    /// Anything else (another device, a directory): treated like a stream.
    Other,
}

/// Mask of the file type bits of `st_mode`.
const S_IFMT: u32 = 0o170_000;

impl StdinKind {
    /// Classifies an open file by its `st_mode` and `st_rdev` (for a character device).
    /// Terminals are the character devices of majors 4 and 5 (consoles, `/dev/tty`) and
    /// 136-143 (pseudo-terminals); `/dev/null` is 1:3.
    pub fn of_mode(mode: u32, rdev: u64) -> StdinKind {
        // The glibc encoding of dev_t (`major(3)`, `minor(3)`).
        let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
        let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
        match mode & S_IFMT {
            0o100_000 => StdinKind::File,
            0o010_000 | 0o140_000 => StdinKind::Stream,
            0o020_000 if (major, minor) == (1, 3) => StdinKind::Null,
            0o020_000 if matches!(major, 4 | 5 | 136..=143) => StdinKind::Terminal,
            _ => StdinKind::Other,
        }
    }

    /// Reports whether a command whose standard input is of this kind can be replayed without
    /// knowing whether it reads it: a closed descriptor, `/dev/null` and a regular file (whose
    /// content is checked) always give the same bytes.
    pub fn checkable(self) -> bool {
        matches!(self, StdinKind::Closed | StdinKind::Null | StdinKind::File)
    }

    /// Names the kind in words, for messages and `dry show --json`.
    pub fn name(self) -> &'static str {
        match self {
            StdinKind::Closed => "closed",
            StdinKind::Null => "empty (/dev/null or a pipe with no writer)",
            StdinKind::File => "a regular file",
            StdinKind::Terminal => "a terminal",
            StdinKind::Stream => "a pipe or socket",
            StdinKind::Other => "a device or directory",
        }
    }
}

impl Predicate {
    /// Returns the path this predicate is about, as bytes, for messages and `dry why PATH`.
    pub fn subject(&self) -> Vec<u8> {
        self.view().subject()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdin_kinds_follow_mode_and_device_numbers() {
        let chr = |major: u64, minor: u64| (0o020_666, (major << 8) | minor);
        let of = |(mode, rdev): (u32, u64)| StdinKind::of_mode(mode, rdev);
        assert_eq!(of(chr(1, 3)), StdinKind::Null);
        assert_eq!(of(chr(1, 5)), StdinKind::Other, "/dev/zero");
        assert_eq!(of(chr(5, 0)), StdinKind::Terminal, "/dev/tty");
        assert_eq!(of(chr(136, 2)), StdinKind::Terminal, "/dev/pts/2");
        assert_eq!(of((0o100_644, 0)), StdinKind::File);
        assert_eq!(of((0o010_600, 0)), StdinKind::Stream, "a pipe");
        assert_eq!(of((0o140_777, 0)), StdinKind::Stream, "a socket");
        assert_eq!(of((0o040_755, 0)), StdinKind::Other, "a directory");
        // A large minor, in the high bits of the encoding.
        assert_eq!(of((0o020_620, (136 << 8) | (1 << 20))), StdinKind::Terminal);
    }
}
