//! Syscall entry: reads a traced syscall's arguments from the stopped tracee, takes what must
//! be seen before the kernel acts (the kind and content of a path about to be overwritten,
//! removed or renamed), and returns the [`Pending`] work for the syscall's exit.
//!
//! Syscalls that need no result (`getdents`, `read` of fd 0, `close`) are observed entirely
//! here. Argument memory is read only through the guard in [`Cx`] (a ptrace stop or a seccomp
//! notification, [`super::mem::Paused`]); a path that cannot be read is reported as an unknown syscall and the call is not observed further.

use super::mem::{self, Paused};
use super::nested::NestedExec;
use super::observe::{follow_flags, Sink, StdinClass, StdinRef};
use super::output::Output;
use super::probe;
use super::procs::Task;
use super::syscall::{Addr, Dirfd, OpenFlags, StatBuf, Syscall};
use model::entry::Uncacheable;
use model::fs::{FileKind, Meta};
use model::observe::{At, Observation};
use model::path;
use model::resolve::ResolveFlags;
use model::walk::Pin;
use model::Hash;
use nix::libc;

/// Everything a syscall's entry or exit handler may use, for one stop.
pub(crate) struct Cx<'a> {
    /// The waiting tracee (a ptrace stop or a seccomp notification).
    pub(crate) tracee: &'a dyn Paused,
    /// Its state.
    pub(crate) task: &'a mut Task,
    /// Where observations go.
    pub(crate) sink: Sink<'a>,
    /// The command's standard input.
    pub(crate) stdin: Option<StdinRef>,
    /// The nested instances' streams (nested mode only).
    pub(crate) streams: Option<&'a super::output::Streams>,
    /// The syscall number (for unknown-syscall reports).
    pub(crate) nr: u64,
}

/// What `open` flags mean for resolution and for the observations of a successful open.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct OpenIntent {
    /// The lookup flags.
    pub(crate) flags: ResolveFlags,
    /// Opened to change the file: write access, `O_CREAT` or `O_TRUNC`.
    pub(crate) write: bool,
    /// Opened with write access (`O_WRONLY` or `O_RDWR`, not `O_PATH`).
    pub(crate) writable: bool,
    /// Opened for reading (not `O_WRONLY`, not `O_PATH`).
    pub(crate) readable: bool,
    /// Write access without `O_TRUNC` (`O_RDWR`, `O_APPEND`, or a plain `O_WRONLY` that
    /// overwrites in place): what the writes leave depends on the prior content, so it is an
    /// input.
    pub(crate) keeps_content: bool,
    /// `O_CLOEXEC`.
    pub(crate) cloexec: bool,
    /// `O_TMPFILE`: the path is a directory, the file created has no name.
    pub(crate) tmpfile: bool,
}

/// Interprets open flags (as `open`, `openat` and `struct open_how` carry them).
pub(crate) fn open_intent(raw: u64) -> OpenIntent {
    let mut f = raw as u32 as i32;
    let path_only = f & libc::O_PATH != 0;
    if path_only {
        // The kernel ignores every other flag with O_PATH.
        f &= libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    }
    let has = |bit: i32| f & bit != 0;
    let acc = f & libc::O_ACCMODE;
    let tmpfile = f & libc::O_TMPFILE == libc::O_TMPFILE;
    let (creat, trunc, nofollow) = (has(libc::O_CREAT), has(libc::O_TRUNC), has(libc::O_NOFOLLOW));
    let flags = ResolveFlags {
        follow: !nofollow,
        reject_symlink: nofollow && !path_only,
        directory: has(libc::O_DIRECTORY),
        create: creat,
        exclusive: creat && has(libc::O_EXCL),
        write: acc != libc::O_RDONLY || trunc,
    };
    OpenIntent {
        flags,
        write: acc == libc::O_WRONLY || acc == libc::O_RDWR || creat || trunc,
        writable: (acc == libc::O_WRONLY || acc == libc::O_RDWR) && !path_only,
        readable: acc != libc::O_WRONLY && !path_only,
        keeps_content: (acc == libc::O_WRONLY || acc == libc::O_RDWR) && !trunc && !path_only,
        cloexec: has(libc::O_CLOEXEC),
        tmpfile,
    }
}

/// An `open` waiting for its result.
#[derive(Clone, Debug)]
pub(crate) struct PendingOpen {
    /// The path opened.
    pub(crate) at: At,
    /// What the flags mean.
    pub(crate) intent: OpenIntent,
    /// Kind of the path before a write-intent open; `None` if absent.
    pub(crate) before: Option<FileKind>,
    /// Content before the open, for opens that keep it.
    pub(crate) prior: Option<Result<Hash, ()>>,
    /// For a write-intent open of an existing regular file: how many names it had and its
    /// permission bits (G20, G22: it is written in place, under every name, and keeps them).
    pub(crate) links: Option<(u64, u32)>,
    /// Metadata before an open that keeps the content of an existing regular file: the open
    /// keeps its mode too, which the file then has as an output (G22 in notes/model.md; not
    /// for `O_TRUNC`, where the size in a `Metadata` predicate would be a false input).
    pub(crate) prior_meta: Option<Meta>,
    /// For a create-mode open that follows symlinks: whether the last component was a symlink
    /// before the open (a dangling one makes `O_CREAT` create its target).
    pub(crate) through_link: bool,
    /// For a write-intent open: the G12/G15 pins ([`change_pins`]).
    pub(crate) pins: Vec<Pin>,
    /// For an open that creates nothing: the kind the entry's look found it to be (`None` if
    /// the look could not tell), which a notified open acts on at once ([`super::adopt`]).
    pub(crate) found: Option<FileKind>,
    /// The directory fd a relative, non-empty path is resolved from (`None`: the cwd, or an
    /// absolute path): a notified open is performed from that directory itself, not from the
    /// path it was opened as, which may lead elsewhere by now (G33).
    pub(crate) dirfd: Option<i32>,
}

/// A path-pair syscall (`link`, `rename`) waiting for its result.
#[derive(Clone, Debug)]
pub(crate) struct PendingPair {
    /// The existing path; `None` for `linkat(AT_EMPTY_PATH)` of an fd.
    pub(crate) old: Option<At>,
    /// The path created or replaced.
    pub(crate) new: At,
    /// How the old path is resolved (`linkat(AT_SYMLINK_FOLLOW)` follows).
    pub(crate) old_flags: ResolveFlags,
    /// Kind of the old path before the call; `None` if absent.
    pub(crate) old_kind: Option<FileKind>,
    /// Kind of the new path before the call; `None` if absent.
    pub(crate) new_kind: Option<FileKind>,
    /// Content of the old path, if it is a regular file.
    pub(crate) old_hash: Option<Result<Hash, ()>>,
    /// Metadata of the old path, if it is a regular file: the new name gets its mode.
    pub(crate) old_meta: Option<Meta>,
    /// Target of the old path, if it is a symlink (`Err` if it could not be read).
    pub(crate) old_target: Option<Result<Vec<u8>, ()>>,
    /// Canonical name of the old path, taken before the call.
    pub(crate) old_canon: Vec<u8>,
    /// Canonical name of the new path, taken before the call.
    pub(crate) new_canon: Vec<u8>,
    /// The tracer's path to the new name, to look at it after a failure.
    pub(crate) new_host: Vec<u8>,
    /// How the new name's directory and the name resolved before the call (G2).
    pub(crate) created: Vec<Probe>,
    /// The G12/G15 pins of the old path (`rename` only) and of the new ([`change_pins`]).
    pub(crate) pins: Vec<Pin>,
    /// When both paths exist: whether they are one file (same device and inode), which decides
    /// what a `rename` does (G19 in notes/model.md).
    pub(crate) same: Option<bool>,
}

/// A resolution the tracer made itself before the kernel acted: path, flags, outcome.
pub(crate) type Probe = (At, ResolveFlags, Result<FileKind, i32>);

/// G12 and G15 of notes/model.md (`model::walk`): the walk of a path a call is about to
/// change, as it is before the call: the directories it goes through, pinned, and the symlinks
/// it follows, with their targets. The change is recorded at the canonical path; these make
/// the check fail where the same spelling would now reach another place.
pub(crate) fn change_pins(at: &At, flags: ResolveFlags) -> Vec<Pin> {
    let mut fingerprints = crate::check::Fingerprints::new();
    let live = crate::check::LiveFs::new(&mut fingerprints);
    model::walk::change_pins(&live, at, flags, |n| Some(n.path().to_vec()))
}

/// G2 of notes/model.md: the directory a name is about to be created in, removed from or
/// renamed from (`O_DIRECTORY`) and the name itself (not followed, trailing slashes trimmed),
/// as they resolve before the call. A last component that is not a name (`.`, `..`) has its
/// directory probed alone; `/` has nothing to probe (`model::observe::At::named_parent`).
pub(crate) fn created_probes(cx: &Cx<'_>, at: &At) -> Vec<Probe> {
    let Some(parent) = at.named_parent() else { return Vec::new() };
    let dir = match probe::kind(&cx.host(&parent), true) {
        Ok(FileKind::Directory) => Ok(FileKind::Directory),
        Ok(_) => Err(libc::ENOTDIR),
        Err(e) => Err(e.0),
    };
    let mut probes = vec![(parent, ResolveFlags::DIRECTORY, dir)];
    if let Some((_, name)) = at.created_name() {
        let own = probe::kind(&cx.host(&name), false).map_err(|e| e.0);
        probes.push((name, ResolveFlags::NOFOLLOW, own));
    }
    probes
}

/// The work left for a syscall's exit stop.
///
/// `host` fields are the tracer's own path to what `at` names (see [`Cx::host`]); `canon`
/// fields are canonical names taken at entry, before the kernel changes anything.
#[derive(Clone, Debug)]
pub(crate) enum Pending {
    /// `open`, `openat`, `creat`, `openat2`.
    Open(PendingOpen),
    /// The stat family; the kernel writes the metadata to `buf`.
    Stat { at: At, follow: bool, buf: StatBuf, host: Vec<u8> },
    /// The access family; `mode` is what is asked (`F_OK`, or `R_OK|W_OK|X_OK` bits).
    Access { at: At, follow: bool, host: Vec<u8>, mode: u32 },
    /// `readlink(at)`; the target is written to `buf`.
    Readlink { at: At, buf: Addr, host: Vec<u8> },
    /// `execve(at)`: `at` is `None` for `execveat(AT_EMPTY_PATH)`; `canon` is the file;
    /// `nested` is what nested mode read and decided at the entry.
    Exec { at: Option<At>, follow: bool, canon: Vec<u8>, nested: Option<Box<NestedExec>> },
    /// `chdir`; `at` is `None` for `fchdir`; `pins` as in [`PendingOpen`] (G17).
    Chdir { at: Option<At>, pins: Vec<Pin> },
    /// `unlink`, `unlinkat`, `rmdir`; `before` is the kind removed; `named` the G2 probes of
    /// the directory the name is removed from and of the name itself (they decide the errno);
    /// `pins` as in [`PendingOpen`].
    Unlink { at: At, before: Option<FileKind>, canon: Vec<u8>, named: Vec<Probe>, pins: Vec<Pin> },
    /// `mkdir`, `mknod`, `symlink` (and their `at` forms); `created` as in [`PendingPair`].
    Create { at: At, canon: Vec<u8>, host: Vec<u8>, created: Vec<Probe>, pins: Vec<Pin> },
    /// `link`, `linkat`.
    Link(Box<PendingPair>),
    /// `rename`, `renameat`, `renameat2` with its flags.
    Rename(Box<PendingPair>, u32),
    /// `truncate`; `last` is how the last component resolved without following, `pins` as in
    /// [`PendingOpen`] (G21 in notes/model.md), `was` the file it changes in place.
    Truncate {
        at: At,
        before: Option<FileKind>,
        canon: Vec<u8>,
        last: Probe,
        pins: Vec<Pin>,
        was: InPlace,
    },
    /// `chmod`, `fchmodat`; `last`, `pins` and `was` as for `Truncate`.
    Chmod { at: At, canon: Vec<u8>, host: Vec<u8>, last: Probe, pins: Vec<Pin>, was: InPlace },
    /// A `dup` of `fd`: the new fd is the result.
    Dup { fd: i32, cloexec: bool },
    /// `fcntl(F_SETFD)`.
    SetCloexec { fd: i32, cloexec: bool },
    /// `connect` to the sockaddr at `addr`.
    Connect { addr: Addr },
    /// A call dry does not record: if it succeeds, the run is not cached for reason `what`.
    Unseen { what: &'static str },
    /// A write to fd 1 or 2 that counts as output of a command instance (nested mode).
    Output(Output),
}

impl Cx<'_> {
    /// Returns the absolute directory `dir` names for this tracee.
    fn base(&mut self, dir: Dirfd) -> Option<Vec<u8>> {
        match dir {
            Dirfd::Cwd => Some(self.task.cwd.borrow().clone()),
            Dirfd::Fd(fd) => self.fd_spelled(fd),
        }
    }

    /// Returns the path the tracee's `fd` was opened as (canonical if unknown).
    pub(crate) fn fd_spelled(&mut self, fd: i32) -> Option<Vec<u8>> {
        if let Some(e) = self.task.fds.borrow().get(fd) {
            return Some(e.spelled.clone());
        }
        probe::fd_path(self.tracee.pid(), fd)
    }

    /// Returns the canonical path of the tracee's `fd` (from the table, or from `/proc`).
    pub(crate) fn fd_path(&mut self, fd: i32) -> Option<Vec<u8>> {
        if let Some(e) = self.task.fds.borrow().get(fd) {
            return Some(e.path.clone());
        }
        probe::fd_path(self.tracee.pid(), fd)
    }

    /// G33 of notes/model.md: a path relative to `fd` is named from the path the directory
    /// was opened as (`FdEntry::spelled`), which leads to that directory only while the tree
    /// changed nothing on its walk; if it did since the open, the kernel resolves `rel` from a
    /// directory the name no longer reaches (renamed, replaced, a symlink on the way
    /// retargeted), and the run is uncacheable.
    fn stale_fd(&mut self, fd: i32, rel: &[u8]) {
        let entry = self.task.fds.borrow().get(fd).map(|e| (e.spelled.clone(), e.mark));
        if let Some((spelled, mark)) = entry {
            if self.sink.changed_since(&spelled, mark) {
                let why = model::trace::stale_fd(&spelled, rel);
                self.sink.emit(Observation::Uncacheable(why));
            }
        }
    }

    /// Reads the path at `addr` and pairs it with its base; reports an unknown syscall if
    /// either cannot be had.
    fn at(&mut self, dir: Dirfd, addr: Addr) -> Option<At> {
        let at = mem::read_cstr(self.tracee, addr).and_then(|p| {
            if p.first() == Some(&b'/') {
                return Some(At::new(b"/", &p));
            }
            let base = self.base(dir)?;
            if let Dirfd::Fd(fd) = dir {
                self.stale_fd(fd, &p);
            }
            Some(At::new(&base, &p))
        });
        if at.is_none() {
            self.sink.unknown(self.nr);
        }
        at
    }

    /// The path the tracer itself uses to look at what `at` names.
    pub(crate) fn host(&self, at: &At) -> Vec<u8> {
        probe::for_tracee(self.tracee.pid(), path::join(&at.base, &at.path))
    }

    /// Reports whether the path argument at `addr` is empty (or NULL, which newer kernels
    /// accept with `AT_EMPTY_PATH`).
    fn empty_path(&self, addr: Addr) -> bool {
        addr == 0 || mem::read_cstr(self.tracee, addr).is_some_and(|p| p.is_empty())
    }
}

/// Handles a syscall's entry; returns the work for its exit, if any.
pub(crate) fn enter(cx: &mut Cx<'_>, call: Syscall) -> Option<Pending> {
    match call {
        Syscall::Open { dir, path, flags } => open(cx, dir, path, flags),
        Syscall::Stat { empty_path: true, path, .. } if cx.empty_path(path) => None,
        Syscall::Stat { dir, path, follow, buf, .. } => {
            let at = cx.at(dir, path)?;
            let host = cx.host(&at);
            if super::early::stat(cx, &at, follow, &host) {
                return None;
            }
            Some(Pending::Stat { host, at, follow, buf })
        }
        Syscall::Access { empty_path: true, path, .. } if cx.empty_path(path) => None,
        Syscall::Access { dir, path, follow, mode, .. } => {
            let at = cx.at(dir, path)?;
            let host = cx.host(&at);
            if super::early::missing(cx, &at, follow_flags(follow), &host) {
                return None;
            }
            Some(Pending::Access { host, at, follow, mode })
        }
        Syscall::Readlink { dir, path, buf } => {
            let at = cx.at(dir, path)?;
            let host = cx.host(&at);
            if super::early::readlink(cx, &at, &host) {
                return None;
            }
            Some(Pending::Readlink { host, at, buf })
        }
        Syscall::Exec { dir, path, follow, empty_path, .. } => {
            exec(cx, dir, path, follow, empty_path)
        }
        Syscall::Chdir { path } => {
            let at = cx.at(Dirfd::Cwd, path)?;
            // G17: every later relative path is recorded from where this lands; pin the walk.
            let pins = change_pins(&at, ResolveFlags::DIRECTORY);
            Some(Pending::Chdir { at: Some(at), pins })
        }
        Syscall::Fchdir { .. } => Some(Pending::Chdir { at: None, pins: Vec::new() }),
        Syscall::Getdents { fd } => {
            list(cx, fd);
            None
        }
        Syscall::Unlink { dir, path, .. } => {
            let at = cx.at(dir, path)?;
            let host = cx.host(&at);
            let before = probe::kind(&host, false).ok();
            let pins = change_pins(&at, ResolveFlags::NOFOLLOW);
            let named = created_probes(cx, &at);
            let canon = probe::canonical(&host, false);
            Some(Pending::Unlink { at, before, canon, named, pins })
        }
        Syscall::Create { dir, path } => {
            let at = cx.at(dir, path)?;
            let host = cx.host(&at);
            let created = created_probes(cx, &at);
            let pins = change_pins(&at, ResolveFlags::NOFOLLOW);
            let canon = probe::canonical(&host, false);
            Some(Pending::Create { at, canon, host, created, pins })
        }
        Syscall::Link { old_dir, old, new_dir, new, follow, empty } => {
            let old = if empty && cx.empty_path(old) { None } else { Some((old_dir, old)) };
            let mut pair = pair(cx, old, (new_dir, new), follow)?;
            pair.pins = change_pins(&pair.new, ResolveFlags::NOFOLLOW);
            Some(Pending::Link(Box::new(pair)))
        }
        Syscall::Rename { old_dir, old, new_dir, new, flags } => {
            let mut pair = pair(cx, Some((old_dir, old)), (new_dir, new), false)?;
            let nofollow = ResolveFlags::NOFOLLOW;
            let mut pins = pair.old.as_ref().map(|o| change_pins(o, nofollow)).unwrap_or_default();
            pins.extend(change_pins(&pair.new, nofollow));
            pair.pins = pins;
            // G2 for the old name too: its directory and the name decide the errno.
            if let Some(old) = &pair.old {
                let named = created_probes(cx, old);
                pair.created.extend(named);
            }
            Some(Pending::Rename(Box::new(pair), flags))
        }
        _ => enter_rest(cx, call),
    }
}

/// The entries that concern the fd table, standard input, sockets and metadata changes.
fn enter_rest(cx: &mut Cx<'_>, call: Syscall) -> Option<Pending> {
    match call {
        Syscall::Truncate { path } => {
            let at = cx.at(Dirfd::Cwd, path)?;
            let host = cx.host(&at);
            let before = probe::kind(&host, true).ok();
            let (last, pins) = changed_in_place(&at, &host);
            let canon = probe::canonical(&host, true);
            let was = in_place_state(cx, &host);
            Some(Pending::Truncate { at, before, canon, last, pins, was })
        }
        Syscall::Chmod { dir, path } => {
            let at = cx.at(dir, path)?;
            let host = cx.host(&at);
            let (last, pins) = changed_in_place(&at, &host);
            let was = in_place_state(cx, &host);
            let canon = probe::canonical(&host, true);
            Some(Pending::Chmod { at, canon, host, last, pins, was })
        }
        Syscall::Close { fd } => {
            cx.task.fds.borrow_mut().remove(fd);
            None
        }
        Syscall::Dup { fd, cloexec } => Some(Pending::Dup { fd, cloexec }),
        Syscall::SetCloexec { fd, cloexec } => Some(Pending::SetCloexec { fd, cloexec }),
        Syscall::Connect { addr } => Some(Pending::Connect { addr }),
        Syscall::Probe { empty_path: true, path, .. } if cx.empty_path(path) => None,
        Syscall::Probe { dir, path, follow, .. } => {
            probe_only(cx, dir, path, follow);
            None
        }
        Syscall::Unseen { what } => Some(Pending::Unseen { what }),
        Syscall::ReadStdin => {
            stdin(cx);
            None
        }
        _ => None,
    }
}

/// G21 of notes/model.md: a call that changes a file in place through a path it follows
/// (`chmod`, `truncate`) changes what the walk reaches, recorded at its canonical path: the
/// walk is pinned ([`change_pins`]) and the last component's own resolution (not followed)
/// says whether it was the file itself or a symlink (whose target the pins hold).
/// What a call that changes a regular file in place (`truncate`, `chmod`) depends on besides
/// its walk: the file's content (truncate keeps a prefix; chmod keeps it all, so its effect,
/// the whole file, must not restore other bytes) and its names and mode (G20, G22).
#[derive(Clone, Debug, Default)]
pub(crate) struct InPlace {
    /// The content before the call.
    pub(crate) prior: Option<Result<Hash, ()>>,
    /// `st_nlink` and the permission bits before the call.
    pub(crate) links: Option<(u64, u32)>,
}

/// [`InPlace`] of the file `host` reaches, if it is a regular file.
fn in_place_state(cx: &mut Cx<'_>, host: &[u8]) -> InPlace {
    let Ok(m) = probe::metadata(host, true) else { return InPlace::default() };
    let meta = probe::meta_of(&m);
    if meta.kind != FileKind::Regular {
        return InPlace::default();
    }
    let links = Some((std::os::unix::fs::MetadataExt::nlink(&m), meta.mode));
    InPlace { prior: Some(cx.sink.hash(&probe::canonical(host, true))), links }
}

fn changed_in_place(at: &At, host: &[u8]) -> (Probe, Vec<Pin>) {
    let own = probe::kind(host, false).map_err(|e| e.0);
    ((at.clone(), ResolveFlags::NOFOLLOW, own), change_pins(at, ResolveFlags::FOLLOW))
}

fn open(cx: &mut Cx<'_>, dir: Dirfd, path: Addr, flags: OpenFlags) -> Option<Pending> {
    let raw = match flags {
        OpenFlags::Given(f) => Some(f),
        // struct open_how starts with `__u64 flags`.
        OpenFlags::How(addr) => mem::read_u64(cx.tracee, addr),
    };
    let Some(raw) = raw else {
        cx.sink.unknown(cx.nr);
        return None;
    };
    let intent = open_intent(raw);
    let at = cx.at(dir, path)?;
    let mut found = None;
    if !intent.flags.create && !intent.tmpfile {
        let host = cx.host(&at);
        found = super::early::look(cx, &at, intent.flags, &host)?;
    }
    let (mut before, mut prior, mut prior_meta, mut links) = (None, None, None, None);
    if intent.write && !intent.tmpfile {
        let host = cx.host(&at);
        let look = probe::metadata(&host, intent.flags.follow).ok();
        let meta = look.as_ref().map(probe::meta_of);
        before = meta.map(|m| m.kind);
        if before == Some(FileKind::Regular) {
            links = look
                .as_ref()
                .zip(meta)
                .map(|(l, m)| (std::os::unix::fs::MetadataExt::nlink(l), m.mode));
        }
        if intent.keeps_content && before == Some(FileKind::Regular) {
            prior_meta = meta;
            prior = Some(cx.sink.hash(&probe::canonical(&host, true)));
        }
    }
    let through_link = intent.flags.create
        && intent.flags.follow
        && !intent.tmpfile
        && probe::kind(&cx.host(&at), false) == Ok(FileKind::Symlink);
    let pins = if intent.write { change_pins(&at, intent.flags) } else { Vec::new() };
    let dirfd = match dir {
        Dirfd::Fd(fd) if at.base != b"/" && !at.path.is_empty() => Some(fd),
        _ => None,
    };
    let p = PendingOpen {
        at,
        intent,
        before,
        prior,
        prior_meta,
        links,
        through_link,
        pins,
        found,
        dirfd,
    };
    Some(Pending::Open(p))
}

fn exec(cx: &mut Cx<'_>, dir: Dirfd, path: Addr, follow: bool, empty: bool) -> Option<Pending> {
    if empty && cx.empty_path(path) {
        let Dirfd::Fd(fd) = dir else { return None };
        let canon = cx.fd_path(fd)?;
        return Some(Pending::Exec { at: None, follow, canon, nested: None });
    }
    let at = cx.at(dir, path)?;
    let canon = probe::canonical(&cx.host(&at), true);
    Some(Pending::Exec { at: Some(at), follow, canon, nested: None })
}

/// Reads both paths of a `link` or `rename` and what they are before the kernel acts.
fn pair(
    cx: &mut Cx<'_>,
    old: Option<(Dirfd, Addr)>,
    new: (Dirfd, Addr),
    follow: bool,
) -> Option<PendingPair> {
    let (old, old_host) = match old {
        Some((dir, addr)) => {
            let at = cx.at(dir, addr)?;
            let host = cx.host(&at);
            (Some(at), Some(host))
        }
        None => (None, None),
    };
    let new = cx.at(new.0, new.1)?;
    let new_host = cx.host(&new);
    let old_kind = old_host.as_ref().and_then(|h| probe::kind(h, follow).ok());
    let old_canon = old_host.as_ref().map(|h| probe::canonical(h, follow)).unwrap_or_default();
    let old_hash = (old_kind == Some(FileKind::Regular)).then(|| cx.sink.hash(&old_canon));
    let old_target =
        (old_kind == Some(FileKind::Symlink)).then(|| probe::readlink(&old_canon).ok_or(()));
    let new_kind = probe::kind(&new_host, false).ok();
    let same = match (&old_host, old_kind, new_kind) {
        (Some(old_host), Some(_), Some(_)) => {
            match (probe::file_id(old_host, follow), probe::file_id(&new_host, false)) {
                (Some(a), Some(b)) => Some(a == b),
                _ => None,
            }
        }
        _ => None,
    };
    Some(PendingPair {
        old,
        old_flags: follow_flags(follow),
        old_kind,
        new_kind,
        old_hash,
        old_meta: (old_kind == Some(FileKind::Regular))
            .then(|| probe::meta(&old_canon, false).ok())
            .flatten(),
        old_target,
        old_canon,
        new_canon: probe::canonical(&new_host, false),
        created: created_probes(cx, &new),
        pins: Vec::new(),
        same,
        new: new.clone(),
        new_host,
    })
}

/// A call that only resolves a path ([`Syscall::Probe`]): records the resolution the tracer
/// sees at entry, as an `access` would (what the call reads there is not modelled). A look
/// that cannot tell (a permission error) is counted as not understood.
fn probe_only(cx: &mut Cx<'_>, dir: Dirfd, path: Addr, follow: bool) {
    let Some(at) = cx.at(dir, path) else { return };
    let host = cx.host(&at);
    let flags = follow_flags(follow);
    match super::early::look(cx, &at, flags, &host) {
        None => {}
        Some(Some(kind)) => cx.sink.resolve(&at, flags, Ok(kind)),
        Some(None) => cx.sink.unknown(cx.nr),
    }
}

/// `getdents`: reports the listing of the directory behind `fd`, once per open fd.
fn list(cx: &mut Cx<'_>, fd: i32) {
    let known = cx.task.fds.borrow().get(fd).is_some();
    if !known {
        let Some(path) = probe::fd_path(cx.tracee.pid(), fd) else { return };
        let mark = cx.sink.changes();
        cx.task.fds.borrow_mut().insert(fd, path, false, mark);
    }
    if !cx.task.fds.borrow_mut().first_listing(fd) {
        return;
    }
    // G33: the listing is named as the directory was spelled when it was opened.
    cx.stale_fd(fd, b".");
    let (Some(canon), Some(dir)) = (cx.fd_path(fd), cx.fd_spelled(fd)) else { return };
    let before = probe::dir_fingerprint(&canon);
    match probe::list(&canon) {
        Some(names) => {
            if let Some(fp) = before {
                cx.sink.listed(&canon, fp, &names);
            }
            cx.sink.emit(Observation::List { dir, names })
        }
        None => cx.sink.unknown(cx.nr),
    }
}

/// `read(0, ...)`: classifies standard input once per process until its fd 0 changes.
fn stdin(cx: &mut Cx<'_>) {
    if !cx.task.fds.borrow_mut().first_stdin_read() {
        return;
    }
    let fd0 = probe::proc_path(cx.tracee.pid(), "fd/0");
    let Some((file, _)) = probe::identity(&fd0) else { return };
    // A nested command reading the pipe or terminal it got as its stdin cannot be replayed.
    if let Some(streams) = cx.streams {
        let readers = streams.stdin_readers(cx.sink.chain(), file);
        if !readers.is_empty() {
            cx.sink.emit_to(&readers, Observation::Uncacheable(Uncacheable::InteractiveStdin));
        }
    }
    let Some(reference) = cx.stdin else { return };
    if file != reference.id {
        return;
    }
    match reference.class {
        StdinClass::File => match cx.sink.hash(&fd0) {
            Ok(hash) => cx.sink.emit(Observation::StdinFile { hash }),
            Err(()) => {
                let path = probe::readlink(&fd0).unwrap_or(fd0);
                cx.sink.emit(Observation::Uncacheable(Uncacheable::InputRaced { path }));
            }
        },
        StdinClass::Interactive => {
            cx.sink.emit(Observation::Uncacheable(Uncacheable::InteractiveStdin));
        }
        StdinClass::Harmless => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(f: i32) -> OpenIntent {
        open_intent(f as u64)
    }

    #[test]
    fn open_flags_map_to_resolve_flags_and_intent() {
        let ro = intent(libc::O_RDONLY | libc::O_CLOEXEC);
        assert_eq!(ro.flags, ResolveFlags::FOLLOW);
        assert!(ro.readable && !ro.write && ro.cloexec);
        let w = intent(libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC);
        assert!(w.write && !w.readable && !w.keeps_content);
        assert!(w.flags.create && w.flags.write && !w.flags.exclusive);
        let excl = intent(libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW);
        assert!(excl.flags.exclusive && excl.flags.reject_symlink && !excl.flags.follow);
        let append = intent(libc::O_WRONLY | libc::O_APPEND);
        assert!(append.write && append.keeps_content && !append.readable);
        let rdwr = intent(libc::O_RDWR);
        assert!(rdwr.write && rdwr.readable && rdwr.keeps_content && rdwr.flags.write);
        // `touch out`, `dd conv=notrunc`: an in-place overwrite keeps what it does not write.
        let notrunc = intent(libc::O_WRONLY | libc::O_CREAT | libc::O_NONBLOCK);
        assert!(notrunc.write && notrunc.keeps_content);
        let rdonly_trunc = intent(libc::O_RDONLY | libc::O_TRUNC);
        assert!(rdonly_trunc.write && !rdonly_trunc.keeps_content);
    }

    #[test]
    fn o_path_ignores_everything_but_directory_and_nofollow() {
        let p = intent(libc::O_PATH | libc::O_NOFOLLOW | libc::O_CREAT | libc::O_RDWR);
        assert!(!p.write && !p.readable && !p.flags.create);
        assert!(!p.flags.follow && !p.flags.reject_symlink);
        let t = intent(libc::O_TMPFILE | libc::O_WRONLY);
        assert!(t.tmpfile && t.flags.directory);
    }
}
