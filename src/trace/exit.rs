//! Syscall exit: turns a [`Pending`] and the syscall's result into observations, and keeps the
//! tracee's fd table and current directory in step with what the kernel did.
//!
//! Also handles the successful `exec` (reported by `PTRACE_EVENT_EXEC`, before the exit stop).
//! Reads tracee memory (a `struct stat`, a readlink buffer, a sockaddr) only through the guard
//! in [`Cx`].

use super::entry::{Cx, Pending, PendingOpen, PendingPair};
use super::mem;
use super::observe::follow_flags;
use super::probe;
use super::procs::{FdEntry, Replay};
use super::syscall::{Addr, StatBuf};
use model::entry::Uncacheable;
use model::fs::{FileKind, Meta};
use model::observe::{At, Observation};
use model::resolve::ResolveFlags;
use model::walk::Pin;
use nix::libc;
use nix::unistd::Pid;
use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;

/// Handles the exit of a syscall whose entry left `pending`; `ret` is its value or errno.
pub(crate) fn exit(cx: &mut Cx<'_>, pending: Pending, ret: Result<u64, i32>) {
    match pending {
        Pending::Open(p) => open(cx, p, ret),
        Pending::Stat { at, follow, buf, host } => stat(cx, &at, follow, buf, &host, ret),
        Pending::Access { at, follow, host, mode } => access(cx, &at, follow, mode, &host, ret),
        Pending::Readlink { at, buf, host } => readlink(cx, &at, buf, &host, ret),
        Pending::Exec { nested: Some(n), .. } if n.rewritten => {
            // The exec was rewritten to replay a skipped command and the replay program could
            // not be exec'd: the process goes on after a failed exec it never asked for.
            if ret.is_err() {
                cx.task.replay = Replay::No;
                let what = "could not start the replay of a skipped command".to_string();
                cx.sink.emit(Observation::Uncacheable(Uncacheable::Unsupported { what }));
            }
        }
        Pending::Exec { at, follow, canon, .. } => {
            if let Err(e) = ret {
                exec_failed(cx, at.as_ref(), follow, &canon, e);
            }
        }
        Pending::Chdir { at, pins } => chdir(cx, at.as_ref(), pins, ret),
        Pending::Unlink { at, before, canon, named, pins } => {
            if ret.is_ok() {
                emit_pins(cx, pins);
            }
            emit_probes(cx, named);
            unlink(cx, &at, before, canon, ret)
        }
        Pending::Create { at, canon, host, created, pins } => {
            if ret.is_ok() {
                emit_pins(cx, pins);
            }
            emit_probes(cx, created);
            match ret {
                Ok(_) => {
                    cx.sink.resolve(&at, ResolveFlags::NOFOLLOW, Err(libc::ENOENT));
                    cx.sink.touch(canon, None);
                }
                Err(libc::EEXIST) => {
                    if let Ok(kind) = probe::kind(&host, false) {
                        cx.sink.resolve(&at, ResolveFlags::NOFOLLOW, Ok(kind));
                    }
                }
                Err(e) => cx.sink.resolve_failed(&at, ResolveFlags::NOFOLLOW, e),
            }
        }
        Pending::Link(p) => link(cx, &p, ret),
        Pending::Rename(p, flags) => rename(cx, &p, flags, ret),
        Pending::Truncate { at, before, canon, last, pins, was } => match ret {
            Ok(_) => {
                emit_pins(cx, pins);
                let kind = before.unwrap_or(FileKind::Regular);
                cx.sink.resolve(&at, ResolveFlags::FOLLOW, Ok(kind));
                emit_probes(cx, vec![last]);
                reached(cx, &canon, kind);
                emit_in_place(cx, &at, was);
                cx.sink.touch(canon, before);
            }
            Err(libc::EISDIR) if before.is_some() => {
                cx.sink.resolve(&at, ResolveFlags::FOLLOW, Ok(FileKind::Directory));
            }
            Err(e) => cx.sink.resolve_failed(&at, ResolveFlags::FOLLOW, e),
        },
        Pending::Chmod { at, canon, host, last, pins, was } => match ret {
            Ok(_) => {
                let Ok(kind) = probe::kind(&host, true) else { return };
                // G21: the walk, and whether the last component was the file or a symlink.
                emit_pins(cx, pins);
                cx.sink.resolve(&at, ResolveFlags::FOLLOW, Ok(kind));
                emit_probes(cx, vec![last]);
                reached(cx, &canon, kind);
                emit_in_place(cx, &at, was);
                if kind == FileKind::Directory {
                    // Only the directory's mode changed, not what is below it (its subtree is
                    // no output of the run: later observations there are inputs).
                    cx.sink.emit(Observation::TouchMode { path: canon });
                } else {
                    cx.sink.touch(canon, Some(kind));
                }
            }
            Err(e) => cx.sink.resolve_failed(&at, ResolveFlags::FOLLOW, e),
        },
        Pending::Dup { fd, cloexec } => {
            if let Ok(new) = ret {
                dup(cx, fd, new as i32, cloexec);
            }
        }
        Pending::SetCloexec { fd, cloexec } => {
            if ret.is_ok() {
                cx.task.fds.borrow_mut().set_cloexec(fd, cloexec);
            }
        }
        Pending::Connect { addr } => connect(cx, addr, ret),
        Pending::Unseen { what } => {
            if ret.is_ok() {
                let what = what.to_string();
                cx.sink.emit(Observation::Uncacheable(Uncacheable::Unsupported { what }));
            }
        }
        // Handled by the tracer, which owns the instances' streams.
        Pending::Output(_) => {}
    }
}

/// Handles a successful `exec` at its `PTRACE_EVENT_EXEC` stop.
pub(crate) fn exec_done(cx: &mut Cx<'_>, pending: Pending) {
    let Pending::Exec { at, follow, canon, .. } = pending else { return };
    if let Some(at) = &at {
        cx.sink.resolve(at, follow_flags(follow), Ok(FileKind::Regular));
    }
    let hash = cx.sink.hash(&canon);
    let path = at.as_ref().map(spelled).unwrap_or_else(|| canon.clone());
    // G23: whether the file may be executed is its mode; an exec of it after a `chmod -x`
    // fails with EACCES.
    if let Ok(meta) = probe::meta(&canon, true) {
        cx.sink.emit(Observation::Stat { path: path.clone(), meta, id: None });
    }
    cx.sink.read(path, hash);
    if let Some(exe) = probe::readlink(&probe::proc_path(cx.tracee.pid(), "exe")) {
        if exe != canon {
            cx.sink.read_now(exe);
        }
    }
}

/// Handles a failed `exec` (gap G32 of notes/model.md): the program saw an errno that the file
/// decided as much as its path. A path that does not resolve is a failed resolution; one that
/// resolves to something other than a regular file failed for its kind (`EACCES`); a regular
/// file for its mode (no execute bit: `EACCES`) or else for its content (`ENOEXEC`: no `#!`
/// line, not a binary of this machine), so its kind, mode and content are recorded as a
/// successful exec records them. A `#!` script, or a binary with a loader, that failed for
/// another reason failed because of its interpreter, which dry does not follow: uncacheable.
fn exec_failed(cx: &mut Cx<'_>, at: Option<&At>, follow: bool, canon: &[u8], e: i32) {
    let flags = follow_flags(follow);
    let host = match at {
        Some(at) => cx.host(at),
        None => canon.to_vec(),
    };
    let kind = match probe::kind(&host, follow) {
        Ok(kind) => kind,
        Err(now) => {
            if let Some(at) = at {
                cx.sink.resolve_failed(at, flags, now.0);
            }
            return;
        }
    };
    if let Some(at) = at {
        cx.sink.resolve(at, flags, Ok(kind));
    }
    if kind != FileKind::Regular {
        return;
    }
    let path = at.map(spelled).unwrap_or_else(|| canon.to_vec());
    let Ok(meta) = probe::meta(canon, true) else { return };
    cx.sink.emit(Observation::Stat { path: path.clone(), meta, id: None });
    if meta.mode & 0o111 == 0 {
        return;
    }
    let hash = cx.sink.hash(canon);
    cx.sink.read(path.clone(), hash);
    let mut head = [0u8; 4];
    let n = File::open(probe::os(canon)).and_then(|mut f| f.read(&mut head)).unwrap_or(0);
    let script = head[..n].starts_with(b"#!");
    let binary = head[..n] == *b"\x7fELF";
    if script || (binary && e != libc::ENOEXEC) {
        let what = format!(
            "its exec of {} failed because of the file's interpreter, which dry does not follow",
            String::from_utf8_lossy(&path)
        );
        cx.sink.emit(Observation::Uncacheable(Uncacheable::Unsupported { what }));
    }
}

fn open(cx: &mut Cx<'_>, p: PendingOpen, ret: Result<u64, i32>) {
    let fd = match ret {
        Ok(fd) => fd as i32,
        Err(e) => return open_failed(cx, &p, e),
    };
    let pid = cx.tracee.pid();
    match opened(cx, p, Holder::Tracee { pid, fd }) {
        Some(entry) => cx.task.fds.borrow_mut().insert_entry(fd, entry),
        None => cx.task.fds.borrow_mut().remove(fd),
    }
}

/// A failed open. Refused with `EACCES` or `EPERM` (issue 21, item 7): Refused on the way (a
/// directory that cannot be searched) the path does not resolve for this process either, and
/// that failure is the input. Refused for the file's own permission, the file exists: its kind
/// and the refused access are (`Predicate::Access`), so that a `chmod` that grants it reruns,
/// and nothing else does. A refusal the permission does not explain (`O_NOATIME`, a security
/// module) stays a failed resolution, which no check holds: the command runs again.
pub(crate) fn open_failed(cx: &mut Cx<'_>, p: &PendingOpen, e: i32) {
    if !matches!(e, libc::EACCES | libc::EPERM) {
        return cx.sink.resolve_failed(&p.at, p.intent.flags, e);
    }
    let flags = p.intent.flags;
    let host = cx.host(&p.at);
    let want = (u32::from(p.intent.readable) * 4) | (u32::from(flags.write) * 2);
    match probe::kind(&host, flags.follow) {
        Ok(kind) if want != 0 && probe::grants(&host, want) == Ok(false) => {
            cx.sink.resolve(&p.at, flags, Ok(kind));
            let path = spelled(&p.at);
            cx.sink.emit(Observation::Access { path, want, granted: false });
        }
        _ => cx.sink.resolve_failed(&p.at, flags, e),
    }
}

/// Who holds the file a successful open returned.
#[derive(Clone, Copy)]
pub(crate) enum Holder<'f> {
    /// The tracee, as its `fd` (at the open's exit stop): looked at through `/proc/{pid}/fd`.
    Tracee {
        /// The tracee.
        pid: Pid,
        /// Its new fd.
        fd: i32,
    },
    /// The tracer, which opened it for a notified tracee ([`super::adopt`]) and looks at it,
    /// and hashes it, through its own file: its `fstat` (`meta`) and positional reads, so the
    /// offset the tracee is handed stays at 0.
    Tracer {
        /// The tracer's file.
        file: &'f File,
        /// Its metadata, taken once it was open.
        meta: &'f std::fs::Metadata,
    },
}

impl Holder<'_> {
    /// The kind of the file opened.
    fn kind(self) -> Option<FileKind> {
        match self {
            Holder::Tracee { pid, fd } => {
                probe::kind(&probe::proc_path(pid, &format!("fd/{fd}")), true).ok()
            }
            Holder::Tracer { meta, .. } => Some(probe::kind_of_mode(meta.mode())),
        }
    }

    /// The metadata of the file opened, as a `fstat` of it shows.
    fn meta(self) -> Option<Meta> {
        match self {
            Holder::Tracee { pid, fd } => {
                probe::meta(&probe::proc_path(pid, &format!("fd/{fd}")), true).ok()
            }
            Holder::Tracer { meta, .. } => Some(probe::meta_of(meta)),
        }
    }

    /// The permission bits of the file opened.
    fn mode(self) -> Option<u32> {
        match self {
            Holder::Tracee { pid, fd } => {
                probe::meta(&probe::proc_path(pid, &format!("fd/{fd}")), true).ok().map(|m| m.mode)
            }
            Holder::Tracer { meta, .. } => Some(meta.mode() & 0o7777),
        }
    }

    /// The canonical path of the file opened.
    fn path(self) -> Option<Vec<u8>> {
        match self {
            Holder::Tracee { pid, fd } => probe::fd_path(pid, fd),
            Holder::Tracer { file, .. } => probe::own_fd_path(file.as_raw_fd()),
        }
    }
}

/// Records a successful open of `p`, looking at the opened file as `holder` holds it (the
/// tracee's new fd, or the tracer's own file: [`super::adopt`]); returns what the fd table
/// keeps of it, if anything.
pub(crate) fn opened(cx: &mut Cx<'_>, p: PendingOpen, holder: Holder<'_>) -> Option<FdEntry> {
    let PendingOpen { at, intent, before, prior, prior_meta, links, through_link, pins, .. } = p;
    emit_pins(cx, pins);
    if intent.tmpfile {
        cx.sink.resolve(&at, intent.flags, Ok(FileKind::Directory));
        return None;
    }
    let Some(kind) = holder.kind() else {
        cx.sink.unknown(cx.nr);
        return None;
    };
    cx.sink.resolve_open(&at, intent.flags, Ok(kind), intent.readable);
    // An open that keeps content (append, read-write, in-place overwrite) and created the
    // file depends on its absence: had it existed, its content would have been kept. (A
    // create-mode resolution holds either way.)
    if intent.keeps_content && intent.flags.create && before.is_none() {
        let plain = ResolveFlags { create: false, exclusive: false, write: false, ..intent.flags };
        cx.sink.resolve(&at, plain, Err(libc::ENOENT));
    }
    // A create-mode resolution holds for an absent name and for a dangling symlink alike, but
    // through the symlink the open creates another file: say which it was (G7).
    if intent.flags.create && intent.flags.follow && !intent.flags.exclusive {
        let flags = ResolveFlags { follow: false, reject_symlink: true, ..intent.flags };
        let outcome = if through_link { Err(libc::ELOOP) } else { Ok(kind) };
        cx.sink.resolve(&at, flags, outcome);
    }
    // An open for writing without O_CREAT follows a last symlink to its target, which it
    // changes; the effect is recorded at that target. Say whether the last component was the
    // file itself (the differential fuzzer: `cp -r c d/a` recorded on a file `d/a` was
    // replayed once `d/a` was a symlink, replacing it, where a run writes through it).
    if intent.write && !intent.flags.create && intent.flags.follow {
        if let Ok(k) = probe::kind(&cx.host(&at), false) {
            cx.sink.resolve(&at, ResolveFlags::NOFOLLOW, Ok(k));
        }
    }
    // G20, G22: written in place, the file changes under every name it has, and keeps its
    // mode. A file the open created is recorded with 0 names and the mode it got: one of one
    // name and that mode, truncated in place, ends the same.
    let created = || (intent.write && before.is_none()).then(|| holder.mode()).flatten();
    if let Some((count, mode)) = links.or_else(|| created().map(|m| (0, m))) {
        cx.sink.emit(Observation::Links { path: spelled(&at), count, mode });
    }
    let canon = holder.path()?;
    // Through a symlink, the file opened is its final target, which the open created or
    // truncated: whether that name was absent, or the file itself and not another symlink,
    // decides where a run writes (G24; the pins hold the symlinks followed).
    if intent.flags.create && through_link {
        let outcome = match before {
            Some(kind) => Ok(kind),
            None => Err(libc::ENOENT),
        };
        cx.sink.resolve(&At::new(b"/", &canon), ResolveFlags::NOFOLLOW, outcome);
    }
    // Inputs are named as spelled (resolved again at check time, symlinks included); outputs
    // by the canonical path of the file actually written.
    let spelled = spelled(&at);
    if kind == FileKind::Regular {
        match prior {
            // The content before this open could change it (read-write, append, overwrite).
            Some(hash) => cx.sink.read(spelled.clone(), hash),
            // A write-intent open without a prior hash created or truncated the file: what
            // it can read now is its own doing, not an input.
            None if intent.readable && !intent.write => {
                let hash = match holder {
                    Holder::Tracee { .. } => cx.sink.hash(&canon),
                    Holder::Tracer { file, meta } => cx.sink.hash_open(&canon, file, meta),
                };
                cx.sink.read(spelled.clone(), hash);
                // An `fstat` of it shows its mode, which programs copy (`sed -i` gives the
                // file it writes the mode of the one it read): an input too.
                if let Some(meta) = holder.meta() {
                    cx.sink.emit(Observation::Stat { path: spelled.clone(), meta, id: None });
                }
            }
            None => {}
        }
    }
    // The open keeps the mode of a file it writes in place (G22).
    if let Some(meta) = prior_meta {
        cx.sink.emit(Observation::Stat { path: spelled.clone(), meta, id: None });
    }
    if intent.write {
        cx.sink.touch(canon.clone(), before);
    }
    let entry = FdEntry {
        path: canon,
        spelled,
        cloexec: intent.cloexec,
        listed: false,
        writable: intent.writable,
        mark: cx.sink.changes(),
    };
    Some(entry)
}

/// Reads the kind, permission bits and size from the stat buffer the kernel filled.
/// Reads what a `stat` family call showed the command: the metadata dry records, and the
/// device and inode numbers (`st_dev` as `stat` encodes it, so both buffers compare alike).
fn read_meta(cx: &Cx<'_>, buf: StatBuf) -> Option<(Meta, (u64, u64))> {
    let (mode, size_bytes, id) = match buf {
        // struct stat: st_dev (u64) at 0, st_ino (u64) at 8, st_mode (u32) at 24, st_size
        // (i64) at 48.
        StatBuf::Stat(addr) => (
            mem::read_u32(cx.tracee, addr + 24)?,
            mem::read_u64(cx.tracee, addr + 48)?,
            (mem::read_u64(cx.tracee, addr)?, mem::read_u64(cx.tracee, addr + 8)?),
        ),
        // struct statx: stx_mode (u16) at 0x1c, stx_ino (u64) at 0x20, stx_size (u64) at
        // 0x28, stx_dev_major and stx_dev_minor (u32) at 0x88 and 0x8c.
        StatBuf::Statx(addr) => {
            let major = mem::read_u32(cx.tracee, addr + 0x88)?;
            let minor = mem::read_u32(cx.tracee, addr + 0x8c)?;
            (
                u32::from(mem::read_u16(cx.tracee, addr + 0x1c)?),
                mem::read_u64(cx.tracee, addr + 0x28)?,
                (libc::makedev(major, minor), mem::read_u64(cx.tracee, addr + 0x20)?),
            )
        }
    };
    Some((Meta { kind: probe::kind_of_mode(mode), mode: mode & 0o7777, size_bytes }, id))
}

fn stat(cx: &mut Cx<'_>, at: &At, follow: bool, buf: StatBuf, host: &[u8], ret: Result<u64, i32>) {
    let flags = follow_flags(follow);
    if let Err(e) = ret {
        return cx.sink.resolve_failed(at, flags, e);
    }
    let Some((meta, id)) = read_meta(cx, buf) else {
        return cx.sink.unknown(cx.nr);
    };
    cx.sink.resolve(at, flags, Ok(meta.kind));
    if follow || meta.kind != FileKind::Symlink {
        cx.sink.emit(Observation::Stat { path: spelled(at), meta, id: Some(id) });
    } else if let Some(target) = probe::readlink(host) {
        // An lstat of a symlink shows its size, the length of its target.
        cx.sink.emit(Observation::ReadLink { path: spelled(at), target });
    }
}

/// `access`, `faccessat(2)`: what the result says about the path. `mode` is what was asked:
/// beyond `F_OK`, a success depends on the permission bits too (G23 in notes/model.md).
pub(crate) fn access(
    cx: &mut Cx<'_>,
    at: &At,
    follow: bool,
    mode: u32,
    host: &[u8],
    ret: Result<u64, i32>,
) {
    let flags = follow_flags(follow);
    match ret {
        Ok(_) if mode & (libc::R_OK | libc::W_OK | libc::X_OK) as u32 != 0 => {
            if let Ok(meta) = probe::meta(host, follow) {
                cx.sink.resolve(at, flags, Ok(meta.kind));
                // A symlink's own permissions are never checked.
                if meta.kind != FileKind::Symlink {
                    cx.sink.emit(Observation::Stat { path: spelled(at), meta, id: None });
                }
            }
        }
        Ok(_) => {
            if let Ok(kind) = probe::kind(host, follow) {
                cx.sink.resolve(at, flags, Ok(kind));
            }
        }
        Err(e @ (libc::EACCES | libc::EROFS | libc::ETXTBSY)) => match probe::meta(host, follow) {
            // The path resolves; the answer depends on its permission bits.
            Ok(meta) => {
                cx.sink.resolve(at, flags, Ok(meta.kind));
                cx.sink.emit(Observation::Stat { path: spelled(at), meta, id: None });
            }
            Err(_) => cx.sink.resolve(at, flags, Err(e)),
        },
        Err(e @ (libc::ENOENT | libc::ENOTDIR | libc::ELOOP | libc::ENAMETOOLONG)) => {
            cx.sink.resolve(at, flags, Err(e));
        }
        Err(_) => {}
    }
}

fn readlink(cx: &mut Cx<'_>, at: &At, buf: Addr, host: &[u8], ret: Result<u64, i32>) {
    let flags = ResolveFlags::NOFOLLOW;
    match ret {
        Ok(n) => {
            let target = usize::try_from(n).ok().and_then(|n| mem::read_bytes(cx.tracee, buf, n));
            let Some(target) = target else {
                return cx.sink.unknown(cx.nr);
            };
            cx.sink.resolve(at, flags, Ok(FileKind::Symlink));
            cx.sink.emit(Observation::ReadLink { path: spelled(at), target });
        }
        Err(libc::EINVAL) => {
            if let Ok(kind) = probe::kind(host, false) {
                cx.sink.resolve(at, flags, Ok(kind));
            }
        }
        Err(e) => cx.sink.resolve_failed(at, flags, e),
    }
}

fn chdir(cx: &mut Cx<'_>, at: Option<&At>, pins: Vec<Pin>, ret: Result<u64, i32>) {
    match (ret, at) {
        (Ok(_), at) => {
            // G17 (notes/model.md): later relative paths are recorded from where this landed.
            emit_pins(cx, pins);
            if let Some(at) = at {
                cx.sink.resolve(at, ResolveFlags::DIRECTORY, Ok(FileKind::Directory));
            }
            if let Some(cwd) = probe::cwd(cx.tracee.pid()) {
                // G25: the directory it landed in is itself a directory, not a symlink to
                // another (the pins cover the directories on the way, not the last).
                if at.is_some() {
                    let landed = At::new(b"/", &cwd);
                    cx.sink.resolve(&landed, ResolveFlags::NOFOLLOW, Ok(FileKind::Directory));
                }
                *cx.task.cwd.borrow_mut() = cwd;
            }
        }
        (Err(e), Some(at)) => cx.sink.resolve_failed(at, ResolveFlags::DIRECTORY, e),
        (Err(_), None) => {}
    }
}

fn unlink(
    cx: &mut Cx<'_>,
    at: &At,
    before: Option<FileKind>,
    canon: Vec<u8>,
    ret: Result<u64, i32>,
) {
    let flags = ResolveFlags::NOFOLLOW;
    match (ret, before) {
        (Ok(_), before) => {
            if let Some(kind) = before {
                cx.sink.resolve(at, flags, Ok(kind));
            }
            // rmdir succeeded, so the directory was empty: that is an input too (removing a
            // directory that has gained files would fail with ENOTEMPTY instead).
            if before == Some(FileKind::Directory) {
                cx.sink.emit(Observation::List { dir: spelled(at), names: Vec::new() });
            }
            cx.sink.touch(canon, before);
        }
        // ENOTEMPTY, or EBUSY (a mount point, or the cwd in the model, which checks emptiness
        // first): the directory's names decide between them and success.
        (Err(libc::ENOTEMPTY), _) | (Err(libc::EBUSY), Some(FileKind::Directory)) => {
            cx.sink.resolve(at, flags, Ok(FileKind::Directory));
            if let Some(names) = probe::list(&canon) {
                cx.sink.emit(Observation::List { dir: spelled(at), names });
            }
        }
        // The path resolved, but to the wrong kind of file for this call.
        (Err(libc::EISDIR | libc::ENOTDIR | libc::EPERM), Some(kind)) => {
            cx.sink.resolve(at, flags, Ok(kind));
        }
        (Err(e), _) => cx.sink.resolve_failed(at, flags, e),
    }
}

/// A failed `link` or `rename`: which of the two paths it says something about.
fn pair_failed(cx: &mut Cx<'_>, p: &PendingPair, errno: i32) {
    let Some(old) = &p.old else { return };
    let Some(kind) = p.old_kind else {
        return cx.sink.resolve_failed(old, p.old_flags, errno);
    };
    if !super::observe::is_path_errno(errno) && errno != libc::ENOTEMPTY {
        return;
    }
    cx.sink.resolve(old, p.old_flags, Ok(kind));
    match probe::kind(&p.new_host, false) {
        Ok(k) => cx.sink.resolve(&p.new, ResolveFlags::NOFOLLOW, Ok(k)),
        Err(_) => cx.sink.resolve_failed(&p.new, ResolveFlags::NOFOLLOW, errno),
    }
}

/// Emits what a call that changed a regular file in place depended on (`InPlace`): its
/// names and mode, and its content (the differential fuzzer: a replayed `chmod -x a` restored
/// the bytes `a` had when it was recorded over bytes written since).
fn emit_in_place(cx: &mut Cx<'_>, at: &At, was: super::entry::InPlace) {
    if let Some((count, mode)) = was.links {
        cx.sink.emit(Observation::Links { path: spelled(at), count, mode });
    }
    if let Some(hash) = was.prior {
        cx.sink.read(spelled(at), hash);
    }
}

/// G31: the canonical name a call that changes a file in place reached is itself that file,
/// not a symlink: the pins cover the directories on the way, not the last, and a path ending
/// in `.` (`chmod 755 d/.`) has no own name to resolve unfollowed (as G25 for `chdir`).
fn reached(cx: &mut Cx<'_>, canon: &[u8], kind: FileKind) {
    cx.sink.resolve(&At::new(b"/", canon), ResolveFlags::NOFOLLOW, Ok(kind));
}

/// Emits the pins of a changing call's walk, taken at entry.
fn emit_pins(cx: &mut Cx<'_>, pins: Vec<Pin>) {
    for pin in pins {
        cx.sink.pin(pin);
    }
}

/// Emits the tracer's own resolutions made at entry (a path errno or a kind).
fn emit_probes(cx: &mut Cx<'_>, probes: Vec<super::entry::Probe>) {
    for (at, flags, outcome) in probes {
        match outcome {
            Ok(kind) => cx.sink.resolve(&at, flags, Ok(kind)),
            Err(e) => cx.sink.resolve_failed(&at, flags, e),
        }
    }
}

fn link(cx: &mut Cx<'_>, p: &PendingPair, ret: Result<u64, i32>) {
    if ret.is_ok() {
        emit_pins(cx, p.pins.clone());
    }
    emit_probes(cx, p.created.clone());
    if let Err(e) = ret {
        return pair_failed(cx, p, e);
    }
    if let (Some(old), Some(kind)) = (&p.old, p.old_kind) {
        cx.sink.resolve(old, p.old_flags, Ok(kind));
    }
    if let Some(hash) = p.old_hash {
        cx.sink.read(p.old_canon.clone(), hash);
    }
    // The new name is the old file: its mode too is an input.
    if let Some(meta) = p.old_meta {
        cx.sink.emit(Observation::Stat { path: p.old_canon.clone(), meta, id: None });
    }
    moved_link(cx, p);
    cx.sink.resolve(&p.new, ResolveFlags::NOFOLLOW, Err(libc::ENOENT));
    cx.sink.touch(p.new_canon.clone(), None);
}

/// A symlink renamed or hard-linked keeps its target, which becomes the new name's content:
/// the target is an input (G11 in notes/model.md).
fn moved_link(cx: &mut Cx<'_>, p: &PendingPair) {
    let (Some(old), Some(target)) = (&p.old, &p.old_target) else { return };
    match target {
        Ok(target) => {
            let target = target.clone();
            cx.sink.emit(Observation::ReadLink { path: spelled(old), target });
        }
        Err(()) => {
            let path = p.old_canon.clone();
            cx.sink.emit(Observation::Uncacheable(Uncacheable::InputRaced { path }));
        }
    }
}

fn rename(cx: &mut Cx<'_>, p: &PendingPair, flags: u32, ret: Result<u64, i32>) {
    // G16 (notes/model.md): EINVAL, the new name inside the old directory, depends on the
    // identity of every directory on both walks, not on where they end.
    if ret.is_ok() || ret == Err(libc::EINVAL) {
        emit_pins(cx, p.pins.clone());
    }
    emit_probes(cx, p.created.clone());
    if let Err(e) = ret {
        // G3: a rename onto a directory that is not empty fails; that it is not is an input.
        if matches!(e, libc::ENOTEMPTY | libc::EEXIST) && p.new_kind == Some(FileKind::Directory) {
            if let Some(names) = probe::list(&p.new_canon) {
                cx.sink.emit(Observation::List { dir: spelled(&p.new), names });
            }
        }
        return pair_failed(cx, p, e);
    }
    if flags & libc::RENAME_EXCHANGE != 0 {
        let what = "exchanged two paths (renameat2 RENAME_EXCHANGE)".to_string();
        return cx.sink.emit(Observation::Uncacheable(Uncacheable::Unsupported { what }));
    }
    let (Some(old), Some(kind)) = (&p.old, p.old_kind) else {
        // It vanished between entry and exit: nothing reliable to say about its content.
        let path = p.old_canon.clone();
        return cx.sink.emit(Observation::Uncacheable(Uncacheable::InputRaced { path }));
    };
    cx.sink.resolve(old, ResolveFlags::NOFOLLOW, Ok(kind));
    if p.old_canon == p.new_canon && flags & libc::RENAME_NOREPLACE == 0 {
        // `rename(a, a)`: nothing moves (fs/namei.c: same inode, return 0).
        return cx.sink.resolve(&p.new, ResolveFlags::NOFOLLOW, Ok(kind));
    }
    if let Some(same) = p.same {
        // G19: two names of one inode: nothing moves either (fs/namei.c, `source == target`);
        // two inodes: the new name is replaced. Which one it was is an input.
        let (a, b) = (spelled(old), spelled(&p.new));
        cx.sink.emit(Observation::SameFile { a, b, flags: ResolveFlags::NOFOLLOW, same });
        if same {
            return cx.sink.resolve(&p.new, ResolveFlags::NOFOLLOW, Ok(kind));
        }
    }
    if flags & libc::RENAME_NOREPLACE != 0 {
        cx.sink.resolve(&p.new, ResolveFlags::NOFOLLOW, Err(libc::ENOENT));
    }
    if let Some(hash) = p.old_hash {
        cx.sink.read(p.old_canon.clone(), hash);
    }
    // The new name is the old file: its mode too is an input.
    if let Some(meta) = p.old_meta {
        cx.sink.emit(Observation::Stat { path: p.old_canon.clone(), meta, id: None });
    }
    moved_link(cx, p);
    // G3: a directory replaced by a rename was empty (else ENOTEMPTY).
    if p.new_kind == Some(FileKind::Directory) {
        cx.sink.emit(Observation::List { dir: spelled(&p.new), names: Vec::new() });
    }
    cx.sink.touch(p.old_canon.clone(), Some(kind));
    cx.sink.touch(p.new_canon.clone(), p.new_kind);
    if kind == FileKind::Directory {
        let (from, path) = (p.old_canon.clone(), p.new_canon.clone());
        cx.sink.emit(Observation::TouchTree { from, path });
    }
}

fn dup(cx: &mut Cx<'_>, old: i32, new: i32, cloexec: bool) {
    let known = cx.task.fds.borrow().get(old).cloned();
    let entry = known.or_else(|| {
        let path = probe::fd_path(cx.tracee.pid(), new)?;
        let (spelled, cloexec, listed, writable) = (path.clone(), false, false, false);
        let mark = cx.sink.changes();
        Some(FdEntry { path, spelled, cloexec, listed, writable, mark })
    });
    let mut fds = cx.task.fds.borrow_mut();
    match entry {
        Some(e) => fds.insert_entry(new, FdEntry { cloexec, listed: false, ..e }),
        None => fds.remove(new),
    }
}

/// The path as the command spelled it, joined to its base without normalising, so that the
/// check resolves `..` and symlinks as the kernel did.
pub(crate) fn spelled(at: &At) -> Vec<u8> {
    model::path::join(&at.base, &at.path)
}

fn connect(cx: &mut Cx<'_>, addr: Addr, ret: Result<u64, i32>) {
    if !matches!(ret, Ok(_) | Err(libc::EINPROGRESS)) {
        return;
    }
    let Some(family) = mem::read_u16(cx.tracee, addr) else {
        return cx.sink.unknown(cx.nr);
    };
    let family = i32::from(family);
    if family == libc::AF_INET || family == libc::AF_INET6 || family == libc::AF_UNIX {
        cx.sink.emit(Observation::Uncacheable(Uncacheable::Network));
    }
}
