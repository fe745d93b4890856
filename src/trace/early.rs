//! Syscalls answered at their entry stop. A path probe's result is a function of the
//! filesystem, which cannot change while the tracee is stopped at entry except by another
//! process: the tracer looks the path up itself (as the kernel is about to) and resumes the
//! tracee with `PTRACE_CONT`, saving the exit stop — half the cost of each such syscall. This
//! covers `readlink`, `stat` and the failures of `access` and of non-creating `open`s (a
//! compiler's include search and `realpath` are mostly these). Whenever the tracer's own look
//! gives an answer it cannot be sure the kernel gives too (a permission error, an unreadable
//! link), it returns `false` and the syscall takes the usual exit path.
//!
//! A race with another process that creates the path between the tracer's look and the
//! kernel's records "does not resolve" for a path the tracee then opened; that predicate is
//! false once the path exists, so the next check reruns the command: never unsound.

use super::entry::Cx;
use super::exit::spelled;
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
    match probe::kind(host, flags.follow) {
        Err(e) if lookup_errno(e.0) => {
            cx.sink.resolve(at, flags, Err(e.0));
            true
        }
        _ => false,
    }
}

/// `stat`/`lstat`/`statx`/`newfstatat`: records what it resolves to and its metadata, as
/// [`super::exit`] does from the kernel's buffer.
pub(crate) fn stat(cx: &mut Cx<'_>, at: &At, follow: bool, host: &[u8]) -> bool {
    let flags = follow_flags(follow);
    match probe::meta(host, follow) {
        Ok(meta) => {
            cx.sink.resolve(at, flags, Ok(meta.kind));
            if follow || meta.kind != FileKind::Symlink {
                cx.sink.emit(Observation::Stat { path: spelled(at), meta });
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
