//! The tracer, modelled: each syscall of [`crate::ops`] together with the observations the real
//! tracer (`src/trace`, table in `src/trace/mod.rs`) emits for it.
//!
//! [`Traced::call`] takes what the tracer takes at syscall entry (the kind and canonical name of
//! a path about to change, the content of a file about to be appended to), performs the call on
//! the [`Os`], and emits what the tracer emits at exit, in the same order and with the same
//! paths (inputs as spelled, outputs canonical). Any difference between this file and `src/trace/entry.rs` + `src/trace/exit.rs` is a
//! bug in one of them.

use crate::entry::Uncacheable;
use crate::fs::{FileKind, Meta};
use crate::observe::{At, Observation};
use crate::ops::{
    canonical, exact_canonical, hash_at, kind_at, realpath, Os, RenameMode, WriteMode,
};
use crate::resolve::ResolveFlags;
use crate::walk::Pin;
use crate::{Errno, Hash};

/// One call a program makes, with its arguments evaluated.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Call {
    /// Open for reading and read the whole content.
    Read(Vec<u8>),
    /// Create or truncate, then write.
    Write(Vec<u8>, Vec<u8>),
    /// Open with `O_APPEND|O_CREAT`, then write.
    Append(Vec<u8>, Vec<u8>),
    /// Open with `O_WRONLY|O_CREAT` (no `O_TRUNC`), then write at offset 0.
    Overwrite(Vec<u8>, Vec<u8>),
    /// `stat`.
    Stat(Vec<u8>),
    /// `lstat`.
    Lstat(Vec<u8>),
    /// `readlink`.
    Readlink(Vec<u8>),
    /// `opendir` + `getdents`.
    List(Vec<u8>),
    /// `mkdir`.
    Mkdir(Vec<u8>),
    /// `rmdir`.
    Rmdir(Vec<u8>),
    /// `unlink`.
    Unlink(Vec<u8>),
    /// `link(old, new)`.
    Link(Vec<u8>, Vec<u8>),
    /// `symlink(target, path)`.
    Symlink(Vec<u8>, Vec<u8>),
    /// `rename(old, new)`.
    Rename(Vec<u8>, Vec<u8>),
    /// `chdir`.
    Chdir(Vec<u8>),
    /// `chmod(path, mode)`.
    Chmod(Vec<u8>, u32),
    /// `truncate(path, len)`.
    Truncate(Vec<u8>, u64),
    /// `access(path, mode)`; `mode` is `F_OK` (0) or `R_OK|W_OK|X_OK` bits (4, 2, 1).
    Access(Vec<u8>, u32),
    /// Open with `O_RDWR|O_CREAT` (no `O_TRUNC`), read to the end, then write at offset 0.
    ReadWrite(Vec<u8>, Vec<u8>),
    /// `utimensat(AT_FDCWD, path, NULL, 0)`.
    Touch(Vec<u8>),
    /// `mknod(path, S_IFREG|0644, 0)`.
    Mknod(Vec<u8>),
    /// `renameat2(old, new, RENAME_NOREPLACE)`.
    RenameNoreplace(Vec<u8>, Vec<u8>),
    /// `renameat2(old, new, RENAME_EXCHANGE)`.
    Exchange(Vec<u8>, Vec<u8>),
    /// `execve(path, [path], [])`, which fails ([`Os::exec`]).
    Exec(Vec<u8>),
    /// `open(path, O_RDONLY|O_DIRECTORY)`, kept open as the next dir fd ([`Os::open_dir`]).
    OpenDir(Vec<u8>),
    /// `openat(fd, rel, O_RDONLY)` with dir fd number `index` (in the order of the
    /// [`Call::OpenDir`]s that succeeded), then read to the end; `EBADF` without a syscall if
    /// there is no such fd.
    ReadAt(u8, Vec<u8>),
    /// `fstatat(fd, rel, &st, 0)` with dir fd number `index`, as [`Call::ReadAt`].
    StatAt(u8, Vec<u8>),
}

impl Call {
    /// Returns the syscall's name, used to tag its observations.
    pub fn name(&self) -> &'static str {
        match self {
            Call::Read(_) => "read",
            Call::Write(..) => "write",
            Call::Append(..) => "append",
            Call::Overwrite(..) => "overwrite",
            Call::Stat(_) => "stat",
            Call::Lstat(_) => "lstat",
            Call::Readlink(_) => "readlink",
            Call::List(_) => "list",
            Call::Mkdir(_) => "mkdir",
            Call::Rmdir(_) => "rmdir",
            Call::Unlink(_) => "unlink",
            Call::Link(..) => "link",
            Call::Symlink(..) => "symlink",
            Call::Rename(..) => "rename",
            Call::Chdir(_) => "chdir",
            Call::Chmod(..) => "chmod",
            Call::Truncate(..) => "truncate",
            Call::Access(..) => "access",
            Call::ReadWrite(..) => "readwrite",
            Call::Touch(_) => "touch",
            Call::Mknod(_) => "mknod",
            Call::RenameNoreplace(..) => "rename_noreplace",
            Call::Exchange(..) => "exchange",
            Call::Exec(_) => "exec",
            Call::OpenDir(_) => "opendir",
            Call::ReadAt(..) => "readat",
            Call::StatAt(..) => "statat",
        }
    }
}

/// What a call returned to the program.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// It succeeded and returned nothing more.
    Done,
    /// File content or a symlink target.
    Bytes(Vec<u8>),
    /// Metadata as dry observes it (size only for regular files: notes/0003-metadata.md).
    Meta(Meta),
    /// Names listed.
    Names(Vec<Vec<u8>>),
}

/// The calls that change a file in place through a path they follow (G21).
#[derive(Clone, Copy)]
enum InPlaceCall {
    /// `chmod` to this mode.
    Chmod(u32),
    /// `truncate` to this length.
    Truncate(u64),
}

/// What a name-creating call creates (`Pending::Create` of `src/trace/entry.rs`).
#[derive(Clone, Copy)]
enum Created<'a> {
    /// `mkdir`.
    Dir,
    /// `symlink` with this target.
    Symlink(&'a [u8]),
    /// `mknod` of a regular file.
    File,
}

/// The path-pair calls (`PendingPair` of `src/trace/entry.rs`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum PairCall {
    /// `link`.
    Link,
    /// `rename` or `renameat2` with these flags.
    Rename(RenameMode),
}

/// A resolution the tracer makes itself before the call: path, flags, outcome.
type Probe = (At, ResolveFlags, Result<FileKind, Errno>);

/// Mirrors `is_path_errno` of `src/trace/observe.rs`.
fn is_path_errno(e: Errno) -> bool {
    matches!(e.0, 2 | 20 | 40 | 13 | 17 | 21 | 36 | 1 | 30 | 26)
}

/// What the tracer's fd table keeps of a directory fd (`FdEntry` of `src/trace/procs.rs`).
#[derive(Clone, Debug)]
struct DirFd {
    /// The path it was opened as, joined to its base: the base of paths relative to it.
    spelled: Vec<u8>,
    /// How many changes the run had made when it was opened (`FdEntry::mark`).
    mark: u64,
}

/// Mirrors `lookup_errno` of `src/trace/early.rs`: a lookup failure, which the tracer records
/// at entry from its own look.
fn lookup_errno(e: Errno) -> bool {
    matches!(e, Errno::ENOENT | Errno::ENOTDIR | Errno::ELOOP | Errno::ENAMETOOLONG)
}

/// A traced process: an [`Os`] and what the tracer reported so far.
#[derive(Clone, Debug)]
pub struct Traced {
    /// The process.
    pub os: Os,
    /// The observations, in order.
    pub obs: Vec<Observation>,
    /// For each observation, the name of the call that produced it.
    pub origin: Vec<&'static str>,
    /// Also emit the observations of the proposed tracer fixes ([`crate::fixes`]).
    pub proposed: bool,
    /// Every call performed, in order (what a real program would execute).
    pub calls: Vec<Call>,
    current: &'static str,
    /// The paths changed so far ([`Observation::Touch`] of an ordinary path), each with the
    /// number of changes made up to its last one: the real tracer asks the lowering of the
    /// whole tree (`Observer::walks_through_changes`, `Observer::walks_through_changes_since`).
    changed: std::collections::BTreeMap<Vec<u8>, u64>,
    /// How many changes ([`Observation::Touch`] of an ordinary path) were made so far.
    changes: u64,
    /// The directory fds opened so far ([`Call::OpenDir`]), in the order of [`Os::open_dir`].
    dirfds: Vec<DirFd>,
}

impl Traced {
    /// Starts tracing `os`.
    pub fn new(os: Os) -> Traced {
        Traced {
            os,
            obs: Vec::new(),
            origin: Vec::new(),
            proposed: false,
            calls: Vec::new(),
            current: "",
            changed: std::collections::BTreeMap::new(),
            changes: 0,
            dirfds: Vec::new(),
        }
    }

    /// Records one observation (tagged with the current call).
    pub fn emit(&mut self, o: Observation) {
        if let Observation::Touch { path, .. } = &o {
            if crate::lower::classify(path) == crate::lower::PathClass::Ordinary {
                self.changes += 1;
                self.changed.insert(path.clone(), self.changes);
            }
        }
        self.obs.push(o);
        self.origin.push(self.current);
    }

    /// Pairs `path` with the current directory.
    pub fn at(&self, path: &[u8]) -> At {
        At::new(&self.os.cwd_path(), path)
    }

    /// The path the tracer probes for `at` (`Cx::host`).
    fn host(at: &At) -> Vec<u8> {
        crate::path::join(&at.base, &at.path)
    }

    fn resolve(&mut self, at: &At, flags: ResolveFlags, outcome: Result<FileKind, Errno>) {
        self.resolve_open(at, flags, outcome, false);
    }

    fn resolve_open(
        &mut self,
        at: &At,
        flags: ResolveFlags,
        out: Result<FileKind, Errno>,
        rd: bool,
    ) {
        // As `Sink::resolve_open`: a spelling whose walk meets a change of the run is pinned
        // and named canonically first (gaps G8, G10).
        let host = Self::host(at);
        if !self.changed.is_empty()
            && crate::path::walk_meets(&host, |p| self.changed.contains_key(p))
        {
            let pins = self.change_pins(at, flags);
            self.emit_pins(pins);
            // A trailing slash follows a last symlink whatever the flags say (G30).
            let follow = flags.follow || host.ends_with(b"/");
            let canonical = exact_canonical(&self.os.fs, &host, follow);
            self.emit(Observation::Canonical { spelled: host, follow, canonical });
        }
        self.emit_resolve(at, flags, out, rd);
    }

    /// Emits a resolution as it is (a pin, or after [`Traced::resolve_open`]'s check).
    fn emit_resolve(
        &mut self,
        at: &At,
        flags: ResolveFlags,
        out: Result<FileKind, Errno>,
        rd: bool,
    ) {
        self.emit(Observation::Resolve {
            at: at.clone(),
            flags,
            outcome: out,
            opened_for_read: rd,
        });
    }

    fn resolve_failed(&mut self, at: &At, flags: ResolveFlags, e: Errno) {
        if is_path_errno(e) {
            self.resolve(at, flags, Err(e));
        }
    }

    fn kind(&self, host: &[u8], follow: bool) -> Option<FileKind> {
        kind_at(&self.os.fs, host, follow).ok()
    }

    fn canon(&self, host: &[u8], follow: bool) -> Vec<u8> {
        canonical(&self.os.fs, host, follow)
    }

    /// G2: how the directory a name is created in, and the name itself, resolve before the
    /// call (`src/trace/entry.rs`, `created_name`).
    fn created_probes(&self, at: &At) -> Vec<Probe> {
        let Some(parent) = at.named_parent() else { return Vec::new() };
        let fs = &self.os.fs;
        let dir = ResolveFlags::DIRECTORY;
        let p = crate::resolve::resolve_kind(fs, &parent.base, &parent.path, dir);
        let mut probes = vec![(parent, dir, p)];
        if let Some((_, name)) = at.created_name() {
            let nofollow = ResolveFlags::NOFOLLOW;
            let n = crate::resolve::resolve_kind(fs, &name.base, &name.path, nofollow);
            probes.push((name, nofollow, n));
        }
        probes
    }

    /// G12, G15: the walk of a changing call's path (`crate::walk::change_pins`;
    /// `src/trace/entry.rs`, `change_pins`).
    fn change_pins(&self, at: &At, flags: ResolveFlags) -> Vec<Pin> {
        let fs = &self.os.fs;
        crate::walk::change_pins(fs, at, flags, |n| fs.dir_path(*n))
    }

    fn emit_pins(&mut self, pins: Vec<Pin>) {
        for pin in pins {
            match pin {
                Pin::Dir { at, outcome: Ok(kind) } => {
                    self.emit_resolve(&at, ResolveFlags::NOFOLLOW, Ok(kind), false);
                }
                Pin::Dir { at, outcome: Err(e) } => {
                    if is_path_errno(e) {
                        self.emit_resolve(&at, ResolveFlags::NOFOLLOW, Err(e), false);
                    }
                }
                Pin::Link { path, target } => self.emit(Observation::ReadLink { path, target }),
            }
        }
    }

    fn emit_probes(&mut self, probes: Vec<Probe>) {
        for (at, flags, outcome) in probes {
            match outcome {
                Ok(_) => self.resolve(&at, flags, outcome),
                Err(e) => self.resolve_failed(&at, flags, e),
            }
        }
    }

    /// Performs `call` and emits its observations; returns what the program sees.
    pub fn call(&mut self, call: &Call) -> Result<Outcome, Errno> {
        self.current = call.name();
        self.calls.push(call.clone());
        crate::fixes::before_call(self, call);
        self.perform(call)
    }

    fn perform(&mut self, call: &Call) -> Result<Outcome, Errno> {
        match call {
            Call::Read(p) => self.read(p),
            Call::Write(p, d) => self.write(p, d, WriteMode::Truncate, false),
            Call::Append(p, d) => self.write(p, d, WriteMode::Append, false),
            Call::Overwrite(p, d) => self.write(p, d, WriteMode::Overwrite, false),
            Call::ReadWrite(p, d) => self.write(p, d, WriteMode::Overwrite, true),
            Call::Stat(p) => self.stat(p, true),
            Call::Lstat(p) => self.stat(p, false),
            Call::Readlink(p) => self.readlink(p),
            Call::List(p) => self.list(p),
            Call::Mkdir(p) => self.create(p, Created::Dir),
            Call::Symlink(t, p) => self.create(p, Created::Symlink(t)),
            Call::Mknod(p) => self.create(p, Created::File),
            Call::Rmdir(p) => self.unlink(p, true),
            Call::Unlink(p) => self.unlink(p, false),
            Call::Link(o, n) => self.pair(o, n, PairCall::Link),
            Call::Rename(o, n) => self.pair(o, n, PairCall::Rename(RenameMode::Replace)),
            Call::RenameNoreplace(o, n) => self.pair(o, n, PairCall::Rename(RenameMode::NoReplace)),
            Call::Exchange(o, n) => self.pair(o, n, PairCall::Rename(RenameMode::Exchange)),
            Call::Chdir(p) => self.chdir(p),
            Call::Chmod(p, mode) => self.in_place(p, InPlaceCall::Chmod(*mode)),
            Call::Truncate(p, len) => self.in_place(p, InPlaceCall::Truncate(*len)),
            Call::Access(p, mode) => self.access(p, *mode),
            Call::Touch(p) => self.touch(p),
            Call::Exec(p) => self.exec(p),
            Call::OpenDir(p) => self.open_dir(p),
            Call::ReadAt(i, rel) => self.read_at(*i, rel),
            Call::StatAt(i, rel) => self.stat_at(*i, rel),
        }
    }

    /// `open(O_RDONLY|O_DIRECTORY)`: a read open of a directory (`exit::opened`), as the open
    /// of [`Traced::list`]; the fd table keeps the path as spelled and the number of changes
    /// made so far.
    fn open_dir(&mut self, path: &[u8]) -> Result<Outcome, Errno> {
        let at = self.at(path);
        let flags = ResolveFlags::DIRECTORY;
        match self.os.open_dir(path) {
            Ok(_) => {
                self.resolve_open(&at, flags, Ok(FileKind::Directory), true);
                self.dirfds.push(DirFd { spelled: Self::host(&at), mark: self.changes });
                Ok(Outcome::Done)
            }
            Err(e) => {
                self.resolve_failed(&at, flags, e);
                Err(e)
            }
        }
    }

    /// The path `rel` relative to dir fd `index`, as the tracer names it (`Cx::at`): based on
    /// the path the fd was opened as. G33: when the run has changed a path that the walk of that
    /// spelling meets since the fd was opened, the spelling may no longer lead to the fd's
    /// directory, and the run is uncacheable. `None`: no such fd (the program makes no call).
    fn at_fd(&mut self, index: u8, rel: &[u8]) -> Option<At> {
        let fd = self.dirfds.get(usize::from(index))?.clone();
        let at = At::new(&fd.spelled, rel);
        let stale = |p: &[u8]| self.changed.get(p).is_some_and(|&last| last > fd.mark);
        if rel.first() != Some(&b'/') && crate::path::walk_meets(&fd.spelled, stale) {
            self.emit(Observation::Uncacheable(stale_fd(&fd.spelled, rel)));
        }
        Some(at)
    }

    /// `openat(fd, rel, O_RDONLY)` + read (`entry::open`, `early::look`, `exit::opened`): the
    /// tracer looks the path up through the fd's spelled path at entry (a lookup failure there
    /// is all it records), then records the file the kernel opened, named as spelled.
    fn read_at(&mut self, index: u8, rel: &[u8]) -> Result<Outcome, Errno> {
        let Some(at) = self.at_fd(index, rel) else { return Err(Errno::EBADF) };
        let host = Self::host(&at);
        let flags = ResolveFlags::FOLLOW;
        if let Err(e) = kind_at(&self.os.fs, &host, true) {
            if lookup_errno(e) {
                self.resolve(&at, flags, Err(e));
                return self.os.read_at(index, rel).map(Outcome::Bytes);
            }
        }
        let node = match self.os.open_read_at(index, rel) {
            Ok(n) => n,
            Err(e) => {
                self.resolve_failed(&at, flags, e);
                return Err(e);
            }
        };
        let meta = crate::fs::Fs::meta(&self.os.fs, &node)?;
        self.resolve_open(&at, flags, Ok(meta.kind), true);
        if meta.kind == FileKind::Regular {
            // Hashed and `fstat`ed through the file opened (`/proc/PID/fd/N`).
            let hash = crate::fs::Fs::content_hash(&self.os.fs, &node)?;
            self.emit(Observation::Read { path: host.clone(), hash });
            self.emit(Observation::Stat { path: host, meta, id: None });
        }
        self.os.read_at(index, rel).map(Outcome::Bytes)
    }

    /// `fstatat(fd, rel, &st, 0)` (`early::stat`): answered at entry from the tracer's own
    /// `stat` of the path through the fd's spelled path; the program sees the kernel's.
    fn stat_at(&mut self, index: u8, rel: &[u8]) -> Result<Outcome, Errno> {
        let Some(at) = self.at_fd(index, rel) else { return Err(Errno::EBADF) };
        let host = Self::host(&at);
        let flags = ResolveFlags::FOLLOW;
        match crate::resolve::resolve(&self.os.fs, b"/", &host, flags) {
            Ok(crate::resolve::Resolved::Node(n)) => {
                let fs = &self.os.fs;
                let meta = crate::fs::Fs::meta(fs, &n)?;
                let id = crate::fs::Fs::identity(fs, &n).ok();
                self.resolve(&at, flags, Ok(meta.kind));
                self.emit(Observation::Stat { path: host, meta, id });
            }
            Ok(crate::resolve::Resolved::Absent) => {}
            Err(e) => {
                if lookup_errno(e) {
                    self.resolve(&at, flags, Err(e));
                }
            }
        }
        let meta = self.os.stat_at(index, rel)?;
        let size_bytes = if meta.kind == FileKind::Regular { meta.size_bytes } else { 0 };
        Ok(Outcome::Meta(Meta { size_bytes, ..meta }))
    }

    fn read(&mut self, path: &[u8]) -> Result<Outcome, Errno> {
        let at = self.at(path);
        let node = match self.os.open_read(path) {
            Ok(n) => n,
            Err(e) => {
                self.resolve_failed(&at, ResolveFlags::FOLLOW, e);
                return Err(e);
            }
        };
        let kind = crate::fs::Fs::meta(&self.os.fs, &node).map(|m| m.kind)?;
        self.resolve_open(&at, ResolveFlags::FOLLOW, Ok(kind), true);
        // Inputs are named as spelled (`src/trace/exit.rs`), hashed through the canonical path.
        let host = Self::host(&at);
        if kind == FileKind::Regular {
            if let Some(canon) = realpath(&self.os.fs, &host) {
                let hash = hash_at(&self.os.fs, &canon)?;
                self.emit(Observation::Read { path: host.clone(), hash });
                // Its mode, as a `fstat` shows it (`src/trace/exit.rs`).
                let meta = crate::fs::Fs::meta(&self.os.fs, &node)?;
                self.emit(Observation::Stat { path: host, meta, id: None });
            }
        }
        self.os.read(path).map(Outcome::Bytes)
    }

    /// An open for writing (`O_WRONLY`, or `O_RDWR` if `readable`: `Pending::Open` and
    /// `exit::opened` of `src/trace`), then the write (and for `O_RDWR` the read before it,
    /// which the tracer does not see: the prior content it records is what the read returns).
    fn write(
        &mut self,
        path: &[u8],
        data: &[u8],
        mode: WriteMode,
        readable: bool,
    ) -> Result<Outcome, Errno> {
        let at = self.at(path);
        let flags = ResolveFlags { create: true, write: true, ..ResolveFlags::FOLLOW };
        let host = Self::host(&at);
        let before = self.kind(&host, true);
        let through_link = self.kind(&host, false) == Some(FileKind::Symlink);
        // G20, G22: a file written in place changes under every name it has, and keeps its mode.
        let links = (before == Some(FileKind::Regular))
            .then(|| {
                let canon = self.canon(&host, true);
                match crate::resolve::resolve(&self.os.fs, b"/", &canon, ResolveFlags::NOFOLLOW) {
                    Ok(crate::resolve::Resolved::Node(n)) => {
                        let mode = crate::fs::Fs::meta(&self.os.fs, &n).ok()?.mode;
                        Some((self.os.fs.nlink(n) as u64, mode))
                    }
                    _ => None,
                }
            })
            .flatten();
        let prior: Option<Hash> = (mode.keeps_content() && before == Some(FileKind::Regular))
            .then(|| hash_at(&self.os.fs, &self.canon(&host, true)).ok())
            .flatten();
        // G22: an open that keeps the content keeps the mode (`entry.rs`, `prior_meta`).
        let prior_meta: Option<Meta> = (mode.keeps_content() && before == Some(FileKind::Regular))
            .then(|| self.os.stat(path, true).ok())
            .flatten();
        let pins = self.change_pins(&at, flags);
        let ret = if readable {
            self.os.read_write(path, data).map(Outcome::Bytes)
        } else {
            self.os.write(path, data, mode).map(|_| Outcome::Done)
        };
        let out = match ret {
            Ok(out) => out,
            Err(e) => {
                self.resolve_failed(&at, flags, e);
                return Err(e);
            }
        };
        self.emit_pins(pins);
        self.resolve_open(&at, flags, Ok(FileKind::Regular), readable);
        // G5: an append (or an overwrite in place) that created the file depends on its
        // absence.
        if mode.keeps_content() && before.is_none() {
            let plain = ResolveFlags { create: false, exclusive: false, write: false, ..flags };
            self.resolve(&at, plain, Err(Errno::ENOENT));
        }
        // G7: which of "absent" and "a dangling symlink" the create-mode resolution met.
        let g7 = ResolveFlags { follow: false, reject_symlink: true, ..flags };
        let outcome = if through_link { Err(Errno::ELOOP) } else { Ok(FileKind::Regular) };
        self.resolve(&at, g7, outcome);
        // G20, G22 (`src/trace/exit.rs`, `opened`).
        let created = || before.is_none().then(|| self.os.stat(path, true).ok()).flatten();
        if let Some((count, mode)) = links.or_else(|| created().map(|m| (0, m.mode))) {
            self.emit(Observation::Links { path: host.clone(), count, mode });
        }
        let Some(canon) = realpath(&self.os.fs, &host) else { return Ok(out) };
        // G24: through a symlink, whether its final target was absent (or the file itself).
        if through_link {
            let outcome = before.ok_or(Errno::ENOENT);
            self.resolve(&At::new(b"/", &canon), ResolveFlags::NOFOLLOW, outcome);
        }
        if let Some(hash) = prior {
            self.emit(Observation::Read { path: host.clone(), hash });
        }
        if let Some(meta) = prior_meta {
            self.emit(Observation::Stat { path: host, meta, id: None });
        }
        self.emit(Observation::Touch { path: canon, before });
        Ok(out)
    }

    fn stat(&mut self, path: &[u8], follow: bool) -> Result<Outcome, Errno> {
        let at = self.at(path);
        let flags = if follow { ResolveFlags::FOLLOW } else { ResolveFlags::NOFOLLOW };
        let meta = match self.os.stat(path, follow) {
            Ok(m) => m,
            Err(e) => {
                self.resolve_failed(&at, flags, e);
                return Err(e);
            }
        };
        self.resolve(&at, flags, Ok(meta.kind));
        let host = Self::host(&at);
        // The size an `lstat` shows of a symlink is the length of its target: an input.
        let mut size_bytes = if meta.kind == FileKind::Regular { meta.size_bytes } else { 0 };
        if follow || meta.kind != FileKind::Symlink {
            let node = crate::resolve::resolve(&self.os.fs, &at.base, &at.path, flags);
            let id = match node {
                Ok(crate::resolve::Resolved::Node(n)) => {
                    crate::fs::Fs::identity(&self.os.fs, &n).ok()
                }
                _ => None,
            };
            self.emit(Observation::Stat { path: host, meta, id });
        } else if let Ok(target) = self.os.readlink(path) {
            size_bytes = target.len() as u64;
            self.emit(Observation::ReadLink { path: host, target });
        }
        Ok(Outcome::Meta(Meta { size_bytes, ..meta }))
    }

    fn readlink(&mut self, path: &[u8]) -> Result<Outcome, Errno> {
        let at = self.at(path);
        let host = Self::host(&at);
        let flags = ResolveFlags::NOFOLLOW;
        match self.os.readlink(path) {
            Ok(target) => {
                self.resolve(&at, flags, Ok(FileKind::Symlink));
                self.emit(Observation::ReadLink { path: host, target: target.clone() });
                Ok(Outcome::Bytes(target))
            }
            Err(e) => {
                if e == Errno::EINVAL {
                    if let Some(kind) = self.kind(&host, false) {
                        self.resolve(&at, flags, Ok(kind));
                    }
                } else {
                    self.resolve_failed(&at, flags, e);
                }
                Err(e)
            }
        }
    }

    fn list(&mut self, path: &[u8]) -> Result<Outcome, Errno> {
        let at = self.at(path);
        match self.os.list(path) {
            Ok((_, names)) => {
                self.resolve_open(&at, ResolveFlags::DIRECTORY, Ok(FileKind::Directory), true);
                let dir = Self::host(&at);
                self.emit(Observation::List { dir, names: names.clone() });
                Ok(Outcome::Names(names))
            }
            Err(e) => {
                self.resolve_failed(&at, ResolveFlags::DIRECTORY, e);
                Err(e)
            }
        }
    }

    /// `mkdir`, `symlink` and `mknod` (`Pending::Create`).
    fn create(&mut self, path: &[u8], what: Created<'_>) -> Result<Outcome, Errno> {
        let at = self.at(path);
        let host = Self::host(&at);
        let canon = self.canon(&host, false);
        let pins = self.change_pins(&at, ResolveFlags::NOFOLLOW);
        let probes = self.created_probes(&at);
        let ret = match what {
            Created::Dir => self.os.mkdir(path),
            Created::Symlink(t) => self.os.symlink(t, path),
            Created::File => self.os.mknod(path),
        };
        if ret.is_ok() {
            self.emit_pins(pins);
        }
        self.emit_probes(probes);
        let flags = ResolveFlags::NOFOLLOW;
        match ret {
            Ok(()) => {
                self.resolve(&at, flags, Err(Errno::ENOENT));
                self.emit(Observation::Touch { path: canon, before: None });
            }
            Err(Errno::EEXIST) => {
                if let Some(kind) = self.kind(&host, false) {
                    self.resolve(&at, flags, Ok(kind));
                }
            }
            Err(e) => self.resolve_failed(&at, flags, e),
        }
        ret.map(|()| Outcome::Done)
    }

    /// `unlink` and `rmdir` (`dir`).
    fn unlink(&mut self, path: &[u8], dir: bool) -> Result<Outcome, Errno> {
        let at = self.at(path);
        let host = Self::host(&at);
        let before = self.kind(&host, false);
        let canon = self.canon(&host, false);
        let flags = ResolveFlags::NOFOLLOW;
        let pins = self.change_pins(&at, flags);
        // G2 for a removed name: its directory and the name decide the errno.
        let named = self.created_probes(&at);
        let ret = if dir { self.os.rmdir(path) } else { self.os.unlink(path) };
        if ret.is_ok() {
            self.emit_pins(pins);
        }
        self.emit_probes(named);
        match (ret, before) {
            (Ok(()), before) => {
                if let Some(kind) = before {
                    self.resolve(&at, flags, Ok(kind));
                }
                // G3: the directory removed was empty.
                if before == Some(FileKind::Directory) {
                    self.emit(Observation::List { dir: host.clone(), names: Vec::new() });
                }
                self.emit(Observation::Touch { path: canon, before });
            }
            // ENOTEMPTY, or EBUSY (the cwd here, after the emptiness check): the names decide.
            (Err(Errno::ENOTEMPTY), _) | (Err(Errno::EBUSY), Some(FileKind::Directory)) => {
                self.resolve(&at, flags, Ok(FileKind::Directory));
                if let Some(names) = list_at(&self.os.fs, &canon) {
                    self.emit(Observation::List { dir: host.clone(), names });
                }
            }
            (Err(Errno::EISDIR | Errno::ENOTDIR | Errno::EPERM), Some(kind)) => {
                self.resolve(&at, flags, Ok(kind));
            }
            (Err(e), _) => self.resolve_failed(&at, flags, e),
        }
        ret.map(|()| Outcome::Done)
    }

    fn chdir(&mut self, path: &[u8]) -> Result<Outcome, Errno> {
        let at = self.at(path);
        // G17: every later relative path is recorded from where this lands; pin the walk.
        let pins = self.change_pins(&at, ResolveFlags::DIRECTORY);
        match self.os.chdir(path) {
            Ok(()) => {
                self.emit_pins(pins);
                self.resolve(&at, ResolveFlags::DIRECTORY, Ok(FileKind::Directory));
                // G25: where it landed is a directory, not a symlink (`exit.rs`, `chdir`).
                let landed = At::new(b"/", &self.os.cwd_path());
                self.resolve(&landed, ResolveFlags::NOFOLLOW, Ok(FileKind::Directory));
                Ok(Outcome::Done)
            }
            Err(e) => {
                self.resolve_failed(&at, ResolveFlags::DIRECTORY, e);
                Err(e)
            }
        }
    }

    /// `chmod` and `truncate` (`Pending::Chmod`, `Pending::Truncate` of `src/trace/entry.rs`
    /// and their exits): G21, the walk pinned (following) and the last component's own
    /// resolution, as it was; then what the file changed in place depended on (its names,
    /// mode and content: `InPlace`), and the `Touch` of its canonical path.
    fn in_place(&mut self, path: &[u8], call: InPlaceCall) -> Result<Outcome, Errno> {
        let at = self.at(path);
        let host = Self::host(&at);
        let before = self.kind(&host, true);
        let last = kind_at(&self.os.fs, &host, false);
        let last: Probe = (at.clone(), ResolveFlags::NOFOLLOW, last);
        let pins = self.change_pins(&at, ResolveFlags::FOLLOW);
        let canon = self.canon(&host, true);
        // `in_place_state`: the names, mode and content of the regular file it reaches.
        let (links, prior) = match before {
            Some(FileKind::Regular) => {
                let node = crate::resolve::resolve(&self.os.fs, b"/", &host, ResolveFlags::FOLLOW);
                let links = match node {
                    Ok(crate::resolve::Resolved::Node(n)) => crate::fs::Fs::meta(&self.os.fs, &n)
                        .ok()
                        .map(|m| (self.os.fs.nlink(n) as u64, m.mode)),
                    _ => None,
                };
                (links, hash_at(&self.os.fs, &canon).ok())
            }
            _ => (None, None),
        };
        let ret = match call {
            InPlaceCall::Chmod(mode) => self.os.chmod(path, mode),
            InPlaceCall::Truncate(len) => self.os.truncate(path, len),
        };
        let flags = ResolveFlags::FOLLOW;
        match ret {
            Ok(()) => {
                // Chmod asks the kind again at exit; truncate reuses the one taken at entry.
                let kind = match call {
                    InPlaceCall::Chmod(_) => match self.kind(&host, true) {
                        Some(k) => k,
                        None => return Ok(Outcome::Done),
                    },
                    InPlaceCall::Truncate(_) => before.unwrap_or(FileKind::Regular),
                };
                self.emit_pins(pins);
                self.resolve(&at, flags, Ok(kind));
                self.emit_probes(vec![last]);
                // G31: the canonical name reached is that file, not a symlink (`exit.rs`,
                // `reached`).
                self.resolve(&At::new(b"/", &canon), ResolveFlags::NOFOLLOW, Ok(kind));
                if let Some((count, mode)) = links {
                    self.emit(Observation::Links { path: host.clone(), count, mode });
                }
                if let Some(hash) = prior {
                    self.emit(Observation::Read { path: host.clone(), hash });
                }
                let before = match call {
                    InPlaceCall::Chmod(_) => Some(kind),
                    InPlaceCall::Truncate(_) => before,
                };
                if before == Some(FileKind::Directory) && matches!(call, InPlaceCall::Chmod(_)) {
                    // Only the directory's mode changed, not what is below it.
                    self.emit(Observation::TouchMode { path: canon });
                } else {
                    self.emit(Observation::Touch { path: canon, before });
                }
                Ok(Outcome::Done)
            }
            Err(e) => {
                match (call, e) {
                    (InPlaceCall::Truncate(_), Errno::EISDIR) if before.is_some() => {
                        self.resolve(&at, flags, Ok(FileKind::Directory));
                    }
                    _ => self.resolve_failed(&at, flags, e),
                }
                Err(e)
            }
        }
    }

    /// `access` (`Pending::Access`, `early::missing` and `exit::access` of `src/trace`): a
    /// path that does not resolve is recorded at entry; beyond `F_OK`, the answer depends on
    /// the permission bits (G23), so a success, or an `EACCES`, records the file's metadata.
    fn access(&mut self, path: &[u8], mode: u32) -> Result<Outcome, Errno> {
        let at = self.at(path);
        let host = Self::host(&at);
        let flags = ResolveFlags::FOLLOW;
        if let Err(e) = kind_at(&self.os.fs, &host, true) {
            self.resolve(&at, flags, Err(e));
            return Err(e);
        }
        let ret = self.os.access(path, mode);
        let meta = self.os.stat(&host, true);
        match (ret, meta) {
            (Ok(()), Ok(meta)) if mode & 0o7 != 0 => {
                self.resolve(&at, flags, Ok(meta.kind));
                self.emit(Observation::Stat { path: host, meta, id: None });
            }
            (Ok(()), Ok(meta)) => self.resolve(&at, flags, Ok(meta.kind)),
            (Err(Errno::EACCES), Ok(meta)) => {
                self.resolve(&at, flags, Ok(meta.kind));
                self.emit(Observation::Stat { path: host, meta, id: None });
            }
            (Err(e), _) => self.resolve_failed(&at, flags, e),
            (Ok(()), Err(_)) => {}
        }
        ret.map(|()| Outcome::Done)
    }

    /// `utimensat` with a path (`Syscall::Probe` of `src/trace/syscall.rs`, `probe_only` of
    /// `src/trace/entry.rs`): the resolution as the tracer looks at it at entry, nothing else
    /// (times are not recorded). A look failing otherwise than with a lookup errno would be
    /// reported as an unknown syscall; as root the model has no such failure.
    fn touch(&mut self, path: &[u8]) -> Result<Outcome, Errno> {
        let at = self.at(path);
        let flags = ResolveFlags::FOLLOW;
        match kind_at(&self.os.fs, &Self::host(&at), true) {
            Ok(kind) => self.resolve(&at, flags, Ok(kind)),
            Err(e @ (Errno::ENOENT | Errno::ENOTDIR | Errno::ELOOP | Errno::ENAMETOOLONG)) => {
                self.resolve(&at, flags, Err(e));
            }
            Err(_) => {}
        }
        self.os.touch(path).map(|()| Outcome::Done)
    }

    /// A failed `execve` (`exit_failed` of `src/trace/exit.rs`, G32): the resolution, and for
    /// a regular file its metadata and, with an execute bit, its content, named as spelled;
    /// a `#!` script failed for its interpreter: uncacheable.
    fn exec(&mut self, path: &[u8]) -> Result<Outcome, Errno> {
        let at = self.at(path);
        let host = Self::host(&at);
        let flags = ResolveFlags::FOLLOW;
        let ret = self.os.exec(path).map(|()| Outcome::Done);
        let kind = match kind_at(&self.os.fs, &host, true) {
            Ok(kind) => kind,
            Err(e) => {
                self.resolve_failed(&at, flags, e);
                return ret;
            }
        };
        self.resolve(&at, flags, Ok(kind));
        if kind != FileKind::Regular {
            return ret;
        }
        let canon = self.canon(&host, true);
        let Ok(meta) = self.os.stat(&canon, true) else { return ret };
        self.emit(Observation::Stat { path: host.clone(), meta, id: None });
        if meta.mode & 0o111 == 0 {
            return ret;
        }
        let hash = hash_at(&self.os.fs, &canon)?;
        self.emit(Observation::Read { path: host.clone(), hash });
        if self.os.read(&canon).is_ok_and(|c| c.starts_with(b"#!")) {
            let what = format!(
                "its exec of {} failed because of the file's interpreter, which dry does not follow",
                String::from_utf8_lossy(&host)
            );
            self.emit(Observation::Uncacheable(Uncacheable::Unsupported { what }));
        }
        ret
    }

    /// `link`, `rename` and `renameat2`: `PendingPair` at entry, then `link`/`rename`/
    /// `pair_failed` at exit.
    fn pair(&mut self, old: &[u8], new: &[u8], call: PairCall) -> Result<Outcome, Errno> {
        let rename = call != PairCall::Link;
        let (old_at, new_at) = (self.at(old), self.at(new));
        let (old_host, new_host) = (Self::host(&old_at), Self::host(&new_at));
        let old_kind = self.kind(&old_host, false);
        let old_canon = self.canon(&old_host, false);
        let old_hash = (old_kind == Some(FileKind::Regular))
            .then(|| hash_at(&self.os.fs, &old_canon).ok())
            .flatten();
        let old_meta = (old_kind == Some(FileKind::Regular))
            .then(|| self.os.stat(&old_canon, false).ok())
            .flatten();
        // A symlink moved or linked keeps its target: the new name's content is an input.
        let old_target =
            (old_kind == Some(FileKind::Symlink)).then(|| self.os.readlink(old).ok()).flatten();
        let new_kind = self.kind(&new_host, false);
        let new_canon = self.canon(&new_host, false);
        let nofollow = ResolveFlags::NOFOLLOW;
        // G19: whether the two names are one file (`entry.rs`, `pair`).
        let same = (rename && old_kind.is_some() && new_kind.is_some())
            .then(|| {
                let node = |h: &[u8]| crate::resolve::resolve(&self.os.fs, b"/", h, nofollow);
                match (node(&old_host), node(&new_host)) {
                    (
                        Ok(crate::resolve::Resolved::Node(o)),
                        Ok(crate::resolve::Resolved::Node(n)),
                    ) => Some(o == n),
                    _ => None,
                }
            })
            .flatten();
        let mut pins = if rename { self.change_pins(&old_at, nofollow) } else { Vec::new() };
        pins.extend(self.change_pins(&new_at, nofollow));
        let mut probes = self.created_probes(&new_at);
        if rename {
            // G2 for the old name too (`src/trace/entry.rs`, `Syscall::Rename`).
            probes.extend(self.created_probes(&old_at));
        }
        let ret = match call {
            PairCall::Link => self.os.link(old, new),
            PairCall::Rename(mode) => self.os.renameat2(old, new, mode),
        };
        // G16: a rename fails with EINVAL when the new name lies inside the old directory, which
        // depends on the identity of every directory on both walks, not on where they end.
        if ret.is_ok() || (rename && ret == Err(Errno::EINVAL)) {
            self.emit_pins(pins);
        }
        self.emit_probes(probes);
        let Err(e) = ret else {
            if call == PairCall::Rename(RenameMode::Exchange) {
                // `exit.rs`, `rename`: nothing else is recorded.
                let what = "exchanged two paths (renameat2 RENAME_EXCHANGE)".to_string();
                self.emit(Observation::Uncacheable(Uncacheable::Unsupported { what }));
                return Ok(Outcome::Done);
            }
            let noreplace = call == PairCall::Rename(RenameMode::NoReplace);
            if let (true, Some(kind), true, false) =
                (rename, old_kind, old_canon == new_canon, noreplace)
            {
                // `rename(a, a)`: nothing moves (fs/namei.c: same inode, return 0).
                self.resolve(&old_at, nofollow, Ok(kind));
                self.resolve(&new_at, nofollow, Ok(kind));
                return Ok(Outcome::Done);
            }
            if let Some(kind) = old_kind {
                self.resolve(&old_at, nofollow, Ok(kind));
                if let Some(same) = same {
                    // G19: two names of one inode: nothing moves either; two inodes: the new
                    // name is replaced.
                    let (a, b) = (old_host.clone(), new_host.clone());
                    self.emit(Observation::SameFile { a, b, flags: nofollow, same });
                    if same {
                        self.resolve(&new_at, nofollow, Ok(kind));
                        return Ok(Outcome::Done);
                    }
                }
            } else if rename {
                // It vanished between entry and exit (never in the model; mirrors the tracer).
                let path = old_canon;
                self.emit(Observation::Uncacheable(Uncacheable::InputRaced { path }));
                return Ok(Outcome::Done);
            }
            if noreplace {
                // The new name was absent (else EEXIST).
                self.resolve(&new_at, nofollow, Err(Errno::ENOENT));
            }
            if let Some(hash) = old_hash {
                self.emit(Observation::Read { path: old_canon.clone(), hash });
                // The new name is the old file: its mode too is an input.
                if let Some(meta) = old_meta {
                    self.emit(Observation::Stat { path: old_canon.clone(), meta, id: None });
                }
            }
            if let Some(target) = old_target {
                self.emit(Observation::ReadLink { path: Self::host(&old_at), target });
            }
            if let (true, Some(kind)) = (rename, old_kind) {
                // G3: a directory replaced by a rename was empty (else ENOTEMPTY).
                if new_kind == Some(FileKind::Directory) {
                    self.emit(Observation::List { dir: new_host.clone(), names: Vec::new() });
                }
                self.emit(Observation::Touch { path: old_canon.clone(), before: Some(kind) });
                self.emit(Observation::Touch { path: new_canon.clone(), before: new_kind });
                if kind == FileKind::Directory {
                    self.emit(Observation::TouchTree { from: old_canon, path: new_canon });
                }
            } else {
                self.resolve(&new_at, nofollow, Err(Errno::ENOENT));
                self.emit(Observation::Touch { path: new_canon, before: None });
            }
            return Ok(Outcome::Done);
        };
        // G3: a rename onto a directory that is not empty fails; that it is not is an input.
        if rename
            && (e == Errno::ENOTEMPTY || e == Errno::EEXIST)
            && new_kind == Some(FileKind::Directory)
        {
            if let Some(names) = list_at(&self.os.fs, &new_canon) {
                self.emit(Observation::List { dir: new_host.clone(), names });
            }
        }
        match old_kind {
            None => self.resolve_failed(&old_at, nofollow, e),
            Some(_) if !is_path_errno(e) && e != Errno::ENOTEMPTY => {}
            Some(kind) => {
                self.resolve(&old_at, nofollow, Ok(kind));
                match self.kind(&new_host, false) {
                    Some(k) => self.resolve(&new_at, nofollow, Ok(k)),
                    None => self.resolve_failed(&new_at, nofollow, e),
                }
            }
        }
        Err(e)
    }
}

/// G33: why a path relative to a directory fd is not recorded (`stale_fd` of
/// `src/trace/entry.rs`, which words it the same).
pub fn stale_fd(spelled: &[u8], rel: &[u8]) -> Uncacheable {
    let what = format!(
        "resolved {} relative to the directory opened as {}, a path the run changed after the open",
        String::from_utf8_lossy(rel),
        String::from_utf8_lossy(spelled)
    );
    Uncacheable::Unsupported { what }
}

/// The names in the directory at canonical `abs` (`probe::list`).
pub(crate) fn list_at(fs: &crate::memfs::MemFs, abs: &[u8]) -> Option<Vec<Vec<u8>>> {
    match crate::resolve::resolve(fs, b"/", abs, ResolveFlags::NOFOLLOW) {
        Ok(crate::resolve::Resolved::Node(n)) => crate::fs::Fs::list(fs, &n).ok(),
        _ => None,
    }
}
