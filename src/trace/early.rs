//! Syscalls answered at their entry stop. A path probe's result is a function of the
//! filesystem, which cannot change while the tracee is stopped at entry except by another
//! process: the tracer looks the path up itself (as the kernel is about to) and resumes the
//! tracee with `PTRACE_CONT`, saving the exit stop — half the cost of each such syscall. This
//! covers `readlink`, `stat` and the failures of `access` and of non-creating `open`s (a
//! compiler's include search and `realpath` are mostly these). Whenever the tracer's own look
//! gives an answer it cannot be sure the kernel gives too (a permission error, an unreadable
//! link), it returns `false` and the syscall takes the usual exit path.
//!
//! A probe that reaches the tracer as a seccomp notification ([`super::notify`]) has no exit
//! stop to fall back on: when the look above cannot answer, [`settle`] asks the kernel the same
//! question itself, with the tracer's credentials (the tracees' too: `PR_SET_NO_NEW_PRIVS` keeps
//! set-user-ID programs from changing them; notes/0008-user-notification.md).
//!
//! A race with another process that creates the path between the tracer's look and the
//! kernel's records "does not resolve" for a path the tracee then opened; that predicate is
//! false once the path exists, so the next check reruns the command: never unsound.

use super::entry::{Cx, Pending};
use super::exit::{self, spelled};
use super::observe::follow_flags;
use super::probe;
use model::fs::FileKind;
use model::observe::{At, Observation};
use model::resolve::ResolveFlags;
use nix::libc;

/// Whether the errno of a failed lookup is the kernel's answer for any syscall resolving the
/// path (the lookup fails before the syscall looks at permissions or flags).
fn lookup_errno(e: i32) -> bool {
    matches!(e, libc::ENOENT | libc::ENOTDIR | libc::ELOOP | libc::ENAMETOOLONG)
}

/// If `at` fails to resolve (following a last symlink per `flags.follow`), records the
/// failure and returns `true`.
pub(crate) fn missing(cx: &mut Cx<'_>, at: &At, flags: ResolveFlags, host: &[u8]) -> bool {
    look(cx, at, flags, host).is_none()
}

/// Looks `at` up (following a last symlink per `flags.follow`): `None`, the failure recorded,
/// if it fails to resolve; else the kind it resolves to, if the look could tell.
pub(crate) fn look(
    cx: &mut Cx<'_>,
    at: &At,
    flags: ResolveFlags,
    host: &[u8],
) -> Option<Option<FileKind>> {
    match probe::kind(host, flags.follow) {
        Err(e) if lookup_errno(e.0) => {
            cx.sink.resolve(at, flags, Err(e.0));
            None
        }
        found => Some(found.ok()),
    }
}

/// `stat`/`lstat`/`statx`/`newfstatat`: records what it resolves to and its metadata, as
/// [`super::exit`] does from the kernel's buffer.
pub(crate) fn stat(cx: &mut Cx<'_>, at: &At, follow: bool, host: &[u8]) -> bool {
    let flags = follow_flags(follow);
    match probe::metadata(host, follow) {
        Ok(m) => {
            use std::os::unix::fs::MetadataExt as _;
            let (meta, id) = (probe::meta_of(&m), Some((m.dev(), m.ino())));
            cx.sink.resolve(at, flags, Ok(meta.kind));
            if follow || meta.kind != FileKind::Symlink {
                cx.sink.emit(Observation::Stat { path: spelled(at), meta, id });
            } else if let Some(target) = probe::readlink(host) {
                // An lstat of a symlink shows its size, the length of its target.
                cx.sink.emit(Observation::ReadLink { path: spelled(at), target });
            }
            true
        }
        Err(e) if lookup_errno(e.0) => {
            cx.sink.resolve(at, flags, Err(e.0));
            true
        }
        Err(_) => false,
    }
}

/// `readlink`: a symlink's target, `EINVAL` (recorded as the kind it resolves to) for
/// anything else, or the lookup failure.
pub(crate) fn readlink(cx: &mut Cx<'_>, at: &At, host: &[u8]) -> bool {
    let flags = ResolveFlags::NOFOLLOW;
    match probe::kind(host, false) {
        Ok(FileKind::Symlink) => {
            let Some(target) = probe::readlink(host) else { return false };
            cx.sink.resolve(at, flags, Ok(FileKind::Symlink));
            cx.sink.emit(Observation::ReadLink { path: spelled(at), target });
            true
        }
        Ok(kind) => {
            cx.sink.resolve(at, flags, Ok(kind));
            true
        }
        Err(e) if lookup_errno(e.0) => {
            cx.sink.resolve(at, flags, Err(e.0));
            true
        }
        Err(_) => false,
    }
}

/// A notified probe that the entry could not answer (its `pending` work): records what the
/// exit stop would have recorded, from the tracer's own syscall on the same path. `args` are
/// the syscall's arguments.
pub(crate) fn settle(cx: &mut Cx<'_>, pending: Pending, args: &[u64; 6]) {
    match pending {
        // The entry answers every stat that succeeds or fails in the lookup; what is left
        // failed otherwise (a permission), and the exit records only lookup failures.
        Pending::Stat { at, follow, host, .. } => match probe::meta(&host, follow) {
            Err(e) => cx.sink.resolve_failed(&at, follow_flags(follow), e.0),
            // It resolves now: it changed under the tracer's two looks.
            Ok(_) => cx.sink.unknown(cx.nr),
        },
        Pending::Readlink { at, host, .. } => match probe::kind(&host, false) {
            Err(e) => cx.sink.resolve_failed(&at, ResolveFlags::NOFOLLOW, e.0),
            Ok(_) => cx.sink.unknown(cx.nr),
        },
        Pending::Access { at, follow, host, mode } => {
            let ret = access(cx.nr, args, &host);
            exit::access(cx, &at, follow, mode, &host, ret);
        }
        _ => cx.sink.unknown(cx.nr),
    }
}

/// The result of the `access` family syscall `nr` with `args`, asked by the tracer about
/// `host`.
fn access(nr: u64, args: &[u64; 6], host: &[u8]) -> Result<u64, i32> {
    use nix::fcntl::{AtFlags, AT_FDCWD};
    use nix::unistd::{faccessat, AccessFlags};
    let (mode, flags) = match i64::try_from(nr).unwrap_or(-1) {
        libc::SYS_access => (args[1], 0),
        libc::SYS_faccessat => (args[2], 0),
        _ => (args[2], args[3]),
    };
    let mode = AccessFlags::from_bits_truncate(i32::try_from(mode).unwrap_or(0));
    let keep = AtFlags::AT_EACCESS | AtFlags::AT_SYMLINK_NOFOLLOW;
    let flags = AtFlags::from_bits_truncate(i32::try_from(flags).unwrap_or(0)) & keep;
    match faccessat(AT_FDCWD, probe::os(host), mode, flags) {
        Ok(()) => Ok(0),
        Err(e) => Err(e as i32),
    }
}
