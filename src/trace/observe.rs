//! Where a stop's observations go: the [`Sink`] that tags them with the tracee's chain of
//! command instances (and drops them for a replaying process), hashes files for them, and spells the recurring ones (a resolution, a read, a touch); the
//! [`StdinRef`] that says what the command's standard input is; the errno sets that decide
//! whether a failed syscall says something about a path.
//!
//! The sink never reads tracee state itself; it only forwards to the [`Observer`].

use super::probe;
use super::{CmdId, Observer};
use model::entry::Uncacheable;
use model::fingerprint::Fingerprint;
use model::fs::FileKind;
use model::observe::{At, Observation};
use model::predicate::StdinKind;
use model::resolve::ResolveFlags;
use model::{Errno, Hash};
use nix::libc;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::MetadataExt as _;
use std::rc::Rc;

/// Reports whether a syscall failing with `errno` tells something about the path it was given
/// (and so is worth a [`Observation::Resolve`]); `EINTR`, `EMFILE`, `EFAULT`... are not.
pub(crate) fn is_path_errno(errno: i32) -> bool {
    matches!(
        errno,
        libc::ENOENT
            | libc::ENOTDIR
            | libc::ELOOP
            | libc::EACCES
            | libc::EEXIST
            | libc::EISDIR
            | libc::ENAMETOOLONG
            | libc::EPERM
            | libc::EROFS
            | libc::ETXTBSY
    )
}

/// The resolve flags of a lookup that follows a last symlink or not.
pub(crate) fn follow_flags(follow: bool) -> ResolveFlags {
    if follow {
        ResolveFlags::FOLLOW
    } else {
        ResolveFlags::NOFOLLOW
    }
}

/// What the command's standard input is, as classified when tracing started.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum StdinClass {
    /// A regular file: its content is an input.
    File,
    /// A pipe, socket, terminal or device other than `/dev/null`: reading it makes the run
    /// uncacheable.
    Interactive,
    /// `/dev/null`: harmless.
    Harmless,
}

/// The command's standard input: the object the tracer's fd 0 (inherited by the command)
/// refers to, so that a tracee reading its fd 0 can be recognised as reading it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct StdinRef {
    /// `(st_dev, st_ino)`.
    pub(crate) id: (u64, u64),
    /// What it is.
    pub(crate) class: StdinClass,
}

impl StdinRef {
    /// Classifies `fd` (the fd the command gets as its standard input); `None` if it is closed.
    pub(crate) fn of(fd: impl AsFd) -> Option<StdinRef> {
        let raw = fd.as_fd().as_raw_fd();
        let m = std::fs::metadata(format!("/proc/self/fd/{raw}")).ok()?;
        // The same classification as the check's (`model::predicate::StdinKind`): the bytes of
        // anything but a regular file or /dev/null cannot be checked later (/dev/zero and
        // /dev/urandom are devices too; a terminal on a serial line has its own major).
        let class = match StdinKind::of_mode(m.mode(), m.rdev()) {
            StdinKind::File => StdinClass::File,
            StdinKind::Null | StdinKind::Closed => StdinClass::Harmless,
            // (A drained pipe is not told from another here: reading it is not cached.)
            StdinKind::Terminal | StdinKind::Stream | StdinKind::Other => StdinClass::Interactive,
        };
        Some(StdinRef { id: (m.dev(), m.ino()), class })
    }
}

/// The observer, bound to the tracee of the current stop.
pub(crate) struct Sink<'a> {
    observer: &'a mut dyn Observer,
    chain: Rc<[CmdId]>,
    quiet: bool,
}

impl<'a> Sink<'a> {
    /// Binds `observer` to a tracee whose command instances are `chain`; a `quiet` sink (the
    /// tracee is replaying) drops every observation and hashes nothing.
    pub(crate) fn new(observer: &'a mut dyn Observer, chain: Rc<[CmdId]>, quiet: bool) -> Sink<'a> {
        Sink { observer, chain, quiet }
    }

    /// Emits one observation.
    pub(crate) fn emit(&mut self, obs: Observation) {
        if !self.quiet {
            self.observer.observe(&self.chain, obs);
        }
    }

    /// How many changes the traced tree has made so far ([`super::Observer::changes`]).
    pub(crate) fn changes(&self) -> u64 {
        self.observer.changes()
    }

    /// Whether the tree changed a path on the walk of `spelled` after it had made `mark`
    /// changes ([`super::Observer::walks_through_changes_since`]); never for a quiet sink.
    pub(crate) fn changed_since(&self, spelled: &[u8], mark: u64) -> bool {
        !self.quiet && self.observer.walks_through_changes_since(spelled, mark)
    }

    /// The chain of instances the tracee belongs to.
    pub(crate) fn chain(&self) -> &[CmdId] {
        &self.chain
    }

    /// Emits one observation to some instances only (a sub-chain, outermost first).
    pub(crate) fn emit_to(&mut self, ids: &[CmdId], obs: Observation) {
        if !self.quiet {
            self.observer.observe(ids, obs);
        }
    }

    /// Emits that the syscall `nr` stopped the tracee but could not be understood.
    pub(crate) fn unknown(&mut self, nr: u64) {
        self.emit(Observation::UnknownSyscall { nr });
    }

    /// Reports that the directory at canonical `dir`, with fingerprint `before` just before it
    /// was read, listed `names` (sorted bytewise), for the observer to remember.
    pub(crate) fn listed(&mut self, dir: &[u8], before: Fingerprint, names: &[Vec<u8>]) {
        if !self.quiet {
            self.observer.listed(dir, before, names);
        }
    }

    /// Hashes the regular file at `path`.
    pub(crate) fn hash(&mut self, path: &[u8]) -> Result<Hash, ()> {
        if self.quiet {
            return Err(());
        }
        self.observer.hash_file(probe::os(path)).map_err(drop)
    }

    /// Hashes the regular file at `path` that the tracer holds open as `file` (metadata
    /// `meta`), reading it through `file` without moving its offset.
    pub(crate) fn hash_open(
        &mut self,
        path: &[u8],
        file: &std::fs::File,
        meta: &std::fs::Metadata,
    ) -> Result<Hash, ()> {
        if self.quiet {
            return Err(());
        }
        self.observer.hash_open_file(probe::os(path), file, meta).map_err(drop)
    }

    /// Emits a [`Observation::Read`] of `path`, or, if it could not be hashed, that the run
    /// raced with a change of it.
    pub(crate) fn read(&mut self, path: Vec<u8>, hash: Result<Hash, ()>) {
        match hash {
            Ok(hash) => self.emit(Observation::Read { path, hash }),
            Err(()) => self.emit(Observation::Uncacheable(Uncacheable::InputRaced { path })),
        }
    }

    /// Hashes `path` now and emits the read.
    pub(crate) fn read_now(&mut self, path: Vec<u8>) {
        let hash = self.hash(&path);
        self.read(path, hash);
    }

    /// Emits a resolution that does not open the file for reading.
    pub(crate) fn resolve(&mut self, at: &At, flags: ResolveFlags, outcome: Result<FileKind, i32>) {
        self.resolve_open(at, flags, outcome, false);
    }

    /// Emits a resolution, saying whether the syscall opened the file for reading.
    pub(crate) fn resolve_open(
        &mut self,
        at: &At,
        flags: ResolveFlags,
        outcome: Result<FileKind, i32>,
        opened_for_read: bool,
    ) {
        let outcome = outcome.map_err(Errno);
        // Asked of the base and path as they are: nothing is allocated for the many resolutions
        // whose walk meets no change.
        if !self.quiet && self.observer.walks_through_changes(at) {
            // The spelling walks through the tree's own changes: pin the walk and name where
            // it leads, for the lowering (G8, G10; `model::trace::Traced` mirrors it).
            for pin in super::entry::change_pins(at, flags) {
                self.pin(pin);
            }
            let spelled = model::path::join(&at.base, &at.path);
            // A trailing slash follows a last symlink whatever the flags say (G30).
            let follow = flags.follow || spelled.ends_with(b"/");
            let canonical = probe::exact_canonical(&spelled, follow);
            self.emit(Observation::Canonical { spelled, follow, canonical });
        }
        self.emit(Observation::Resolve { at: at.clone(), flags, outcome, opened_for_read });
    }

    /// Emits one pin of a walk (`model::walk::Pin`): a non-following resolution of a directory
    /// on the way, or the target of a symlink followed. Pins are canonical: they are never
    /// named again through [`Sink::resolve_open`]'s check.
    pub(crate) fn pin(&mut self, pin: model::walk::Pin) {
        match pin {
            model::walk::Pin::Dir { at, outcome } => {
                if outcome.is_ok() || outcome.is_err_and(|e| is_path_errno(e.0)) {
                    let flags = ResolveFlags::NOFOLLOW;
                    self.emit(Observation::Resolve { at, flags, outcome, opened_for_read: false });
                }
            }
            model::walk::Pin::Link { path, target } => {
                self.emit(Observation::ReadLink { path, target })
            }
        }
    }

    /// Emits a resolution that failed with `errno`, if that errno is about the path.
    pub(crate) fn resolve_failed(&mut self, at: &At, flags: ResolveFlags, errno: i32) {
        if is_path_errno(errno) {
            self.resolve(at, flags, Err(errno));
        }
    }

    /// Emits that `path` is about to change (or just changed); `before` is its kind before.
    pub(crate) fn touch(&mut self, path: Vec<u8>, before: Option<FileKind>) {
        self.emit(Observation::Touch { path, before });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_path_errnos_are_resolutions() {
        assert!(is_path_errno(libc::ENOENT));
        assert!(is_path_errno(libc::ETXTBSY));
        assert!(!is_path_errno(libc::EINTR));
        assert!(!is_path_errno(libc::EMFILE));
    }

    #[test]
    fn a_regular_file_as_stdin_is_a_file_and_dev_null_is_harmless() {
        let f = tempfile::tempfile().expect("tempfile");
        assert_eq!(StdinRef::of(&f).map(|s| s.class), Some(StdinClass::File));
        let null = std::fs::File::open("/dev/null").expect("/dev/null");
        assert_eq!(StdinRef::of(&null).map(|s| s.class), Some(StdinClass::Harmless));
        let (r, _w) = std::io::pipe().expect("pipe");
        assert_eq!(StdinRef::of(&r).map(|s| s.class), Some(StdinClass::Interactive));
    }
}
