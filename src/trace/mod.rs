//! Tracing: runs a command under ptrace and reports what its whole process tree observed and
//! did, as [`model::observe::Observation`]s. Owns every interaction with tracees; touches no
//! other state (it reads the filesystem to hash and classify what tracees touch, never writes).
//!
//! # How
//!
//! [`run`] forks the command stopped at `PTRACE_TRACEME` (`spawn`), installs a seccomp-bpf
//! filter so that only path syscalls stop it (`seccomp`), and follows `fork`, `vfork`,
//! `clone` (threads too) and `exec` through the whole tree (`tracer`). Each stop is read only
//! through a `stop::Stopped` guard; registers are decoded in `arch`, arguments typed in
//! `syscall`, memory read in `mem`; per-thread state (cwd, fd table, shared per
//! `CLONE_FS`/`CLONE_FILES`) lives in `procs`. `entry` and `exit` turn a syscall into
//! observations, with `probe` (the tracer's own stat/realpath/readdir) and `observe`; `early`
//! answers path probes at their entry stop so that the tracee need not stop at their exit.
//! Where the kernel grants a seccomp listener, those probes do not stop the tracee at all: they
//! reach the tracer as user notifications (`notify`), waited for beside `waitpid` (`wake`).
//!
//! # Syscalls and what they emit
//!
//! Paths in `Resolve` are `At { base, path }` as the command passed them; `Stat`, `Read`,
//! `ReadLink`, `List` and `Touch` paths are canonical: the `/proc/PID/fd/N` link of a file the
//! command opened, else the resolved parent plus the last name (fully resolved for calls that
//! follow symlinks: `truncate`, `chmod`, `execve`).
//!
//! | syscall | observations |
//! |---|---|
//! | `open` `openat` `creat` `openat2` | `Resolve` (ok: kind opened; error: path errnos only; a non-creating open of a path that does not resolve is answered at entry; with a listener, a read-only open of a regular file or directory is performed by the tracer and handed over, `adopt`); a regular file opened for reading, or for read-write/append (content hashed *before* the open), → `Read`; write intent → `Stat` of an existing regular file whose content it keeps, as it was (G22) + `Touch { before }`; a following create-mode open also → `Resolve(O_NOFOLLOW)` (G7), and through a symlink the canonical name reached → `Resolve(NOFOLLOW)` as it was (G24) |
//! | `stat` `lstat` `newfstatat` `statx` | `Resolve` + `Stat` (the tracer's own stat at entry, no exit stop; no `Stat` for an unfollowed symlink); `AT_EMPTY_PATH` with an empty path (fstat) → nothing |
//! | `access` `faccessat(2)` | `Resolve` (+ `Stat` when `R_OK`/`W_OK`/`X_OK` is asked, G23); `EACCES`/`EROFS`/`ETXTBSY` on an existing path → `Resolve` ok + `Stat`; a path that does not resolve is answered at entry |
//! | `readlink(at)` | answered at entry: `Resolve(NOFOLLOW)` + `ReadLink`; not a symlink (`EINVAL`) → `Resolve` ok (kind by lstat) |
//! | `execve(at)` | success (`PTRACE_EVENT_EXEC`) → `Resolve` + `Stat` (its mode, G23) + `Read` of the file, + `Read` of `/proc/PID/exe` if it differs (`#!` interpreter); failure → `Resolve` error, or, when the path resolves, `Resolve` + (regular file) `Stat` + (an execute bit) `Read`, as the failure was the file's kind, mode or content (G32); a `#!` script, or an ELF binary failing other than `ENOEXEC`, → `Uncacheable` (its interpreter) |
//! | `chdir` / `fchdir` | pins of the walk (G17), `Resolve(DIRECTORY)`, the canonical directory landed in `Resolve(NOFOLLOW)` (G25) / nothing; both update the cwd from `/proc/PID/cwd` |
//! | `getdents(64)` | `List` once per open fd (listed by the tracer at entry) |
//! | `unlink(at)` `rmdir` | `Resolve(NOFOLLOW)` + `Touch` (+ the empty `List` of a removed directory); `ENOTEMPTY` → `Resolve` ok directory + its `List` |
//! | `mkdir(at)` `mknod(at)` `symlink(at)` | first the parent `Resolve(DIRECTORY)` and the trimmed name `Resolve(NOFOLLOW)` as they were at entry (G2); then `Resolve(NOFOLLOW, ENOENT)` + `Touch { before: None }`; `EEXIST` → `Resolve` ok |
//! | `link(at)` | G2 probes of new + `Resolve` old + `Read` old (`ReadLink` for a symlink) + `Resolve(new, ENOENT)` + `Touch` new |
//! | `rename(at/at2)` | G2 probes of new + `Resolve` old + `Read` old (`ReadLink` for a symlink) + `Touch` both (+ `TouchTree` for a directory); one canonical path (`rename(a, a)`) → the two `Resolve`s only; both names existing → `SameFile` (their `(dev, ino)` compared at entry, G19), and one file (hard links) → `Resolve` old, `SameFile`, `Resolve` new only; `RENAME_EXCHANGE` → `Uncacheable` |
//! | `truncate` `chmod` `fchmodat` | pins of the walk, `Resolve(FOLLOW)`, `Resolve(NOFOLLOW)` of the path as it was (G21), the canonical name reached `Resolve(NOFOLLOW)` (G31), a regular file's `Links` and prior `Read` + `Touch` (a directory's chmod: `TouchMode`, G29) |
//! | `close` `dup*` `fcntl(F_DUPFD*, F_SETFD)` | fd table only |
//! | `connect` (inet, inet6, unix; ok or `EINPROGRESS`) | `Uncacheable(Network)` |
//! | `fchmodat2` (no flags) | as `fchmodat` |
//! | `getxattr` `lgetxattr` `listxattr` `llistxattr` `getxattrat` `listxattrat` `file_getattr` `statfs` `name_to_handle_at`, `utime` `utimes` `futimesat` `utimensat` with a path | `Resolve` only, at entry (what they read or set is not modelled; times are not recorded) |
//! | `open_by_handle_at`, `chown` family, `setxattr` family, mount family, `chroot`, `setns`, `inotify_add_watch`, `fanotify_mark`, ... (notes/syscalls.md) | success → `Uncacheable(Unsupported)` with the reason |
//! | `io_uring_*`, `uselib`, `lookup_dcookie` | refused with `ENOSYS` by the filter; without it, as the row above |
//! | `read(0)` | once per fd 0: the command's stdin as a regular file → `StdinFile`; a pipe, socket, terminal or device other than `/dev/null` → `Uncacheable(InteractiveStdin)` (what stdin is was recorded at the start: notes/0002-stdin.md) |
//!
//! A filtered syscall that cannot be decoded, or whose path cannot be read from the tracee,
//! is reported as `UnknownSyscall`. A file that cannot be hashed is reported as
//! `Uncacheable(InputRaced)`.
//!
//! # Nested mode ([`Spawn::nested`], notes/0006-nested.md)
//!
//! Every successful exec after the top-level command's own starts a command instance
//! ([`CmdId`]); each process carries its chain of instances (`fork`/`clone` copy it, an exec
//! pushes the new id), and every observation is made with the chain of the process that made
//! it (`[0]` for everything without nested mode). `nested` handles execs and exits, `rewrite`
//! the replacement of an exec, `output` the instances' stdout and stderr.
//!
//! | event | what the observer is told |
//! |---|---|
//! | `execve(at)` entry of a process that is not replaying, program resolves to a regular file, argv/envp readable (≤ 64 Ki entries each, ≤ 4 MiB) | [`Observer::exec_requested`] with the request and the paths open for writing in the whole tree; `Replace` → the path and argv are written on the tracee's stack and the syscall's arguments pointed at them; the process is about to replay |
//! | exec success (`PTRACE_EVENT_EXEC`) of a process about to replay | nothing: it now replays, unobserved with all its descendants (no observations, no requests) |
//! | exec success of any other process with a readable request (a replaying one included: the replay fell back to the original command) | [`Observer::command_started`] with a new id, pushed on its chain; the identities of its fds 1 and 2 are kept; then the exec's observations, with the new chain |
//! | failed exec of a process about to replay | `Uncacheable(Unsupported)` with its chain; it is no longer about to replay |
//! | exit of a process (its leader, or its last thread) | [`Observer::command_ended`] for each instance it started, innermost first, with its status |
//! | `write` `writev` to fd 1 or 2 (result n > 0) | [`Observer::output`] of the first n bytes, for each instance of the writer's chain (not 0) whose fd 1 or 2 (at its exec) is the same file (dev, inode) as the writer's fd: reported as that stream, the writer's own fd number first; as stream 1 for an instance whose fds 1 and 2 were one open file description. Replaying processes count |
//! | `sendfile` `splice` `copy_file_range` `pwrite64` `pwritev(2)` into fd 1 or 2 (result > 0) | `Uncacheable(Unsupported { "wrote standard output with copy_file_range" })`, observed with a chain of only the instances whose stream it is (never 0) |
//!
//! The seccomp filter stops the write family only in nested mode, and only for fds 1 and 2. The
//! identity of a writer's fd is cached in its fd table until fd 1 or 2 changes (`dup*`, `close`,
//! `open`, exec); fds replaced by calls the tracer does not follow (`close_range` then `pipe`)
//! keep a stale identity.

mod adopt;
mod arch;
mod early;
mod entry;
mod exit;
pub mod interrupt;
mod mem;
mod nested;
mod notify;
mod observe;
mod output;
mod probe;
mod procs;
mod rewrite;
mod seccomp;
mod spawn;
mod stop;
mod syscall;
pub mod terminal;
mod tracer;
mod wake;

#[cfg(test)]
mod tests;

pub(crate) use probe::grants;
pub use wake::spawn_without_sigchld;

use model::entry::ExitStatus;
use model::fingerprint::Fingerprint;
use model::observe::{At, Observation};
use model::Hash;
use std::ffi::OsString;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// What to run and how.
#[derive(Debug)]
pub struct Spawn {
    /// The path of the executable to pass to execve(2), relative to `cwd` unless absolute
    /// (already resolved through `PATH`, spelled as execvp(3) spells it: a `#!` script sees it
    /// as `$0`). An executable the kernel refuses as `ENOEXEC` (a script without `#!`) is run
    /// by `/bin/sh` as execvp(3) does.
    pub exe: PathBuf,
    /// The argument vector, `argv[0]` included.
    pub argv: Vec<OsString>,
    /// The complete environment of the command.
    pub env: Vec<(OsString, OsString)>,
    /// The working directory (absolute, canonical).
    pub cwd: PathBuf,
    /// Becomes the command's fd 1.
    pub stdout: OwnedFd,
    /// Becomes the command's fd 2.
    pub stderr: OwnedFd,
    /// Which syscalls stop the command, and how.
    pub stops: Stops,
    /// Nested mode (notes/0006-nested.md): every exec after the top-level command's own starts
    /// a command instance, execs may be replaced ([`Observer::exec_requested`]) and writes to
    /// fds 1 and 2 are captured as the instances' output.
    pub nested: bool,
}

/// Which syscalls of the command the tracer sees, and how (notes/0008-user-notification.md).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Stops {
    /// No seccomp filter: every syscall's entry and exit is a ptrace stop (for testing).
    Every,
    /// A seccomp filter makes only path syscalls stop, as ptrace stops.
    Filtered,
    /// As [`Stops::Filtered`], but the path probes answered at their entry (`stat`, `access`,
    /// `readlink` and their variants) reach the tracer as seccomp user notifications, which
    /// are cheaper than ptrace stops. Where the kernel refuses a listener (before Linux 5.5,
    /// or under another listener), the run falls back to [`Stops::Filtered`].
    Notified,
}

impl Stops {
    /// Every mode, the default first (for tests that run each).
    pub const ALL: [Stops; 3] = [Stops::Notified, Stops::Filtered, Stops::Every];
}

/// Identifies one command instance: one successful exec in the traced tree. The top-level
/// command is `0`; later execs get 1, 2, 3, ... in the order they succeed.
pub type CmdId = u64;

/// A process asks to exec a program (seen at the execve/execveat seccomp stop, before the kernel
/// acts), or has just exec'd it (for [`Observer::command_started`]).
#[derive(Debug)]
pub struct ExecRequest<'a> {
    /// The thread id of the process.
    pub pid: i32,
    /// Canonical absolute path of the program file (resolved by the tracer at the stop,
    /// following symlinks, relative paths against the cwd or the dirfd).
    pub exe: &'a [u8],
    /// The argument vector read from the tracee, `argv[0]` included.
    pub argv: &'a [Vec<u8>],
    /// The environment read from the tracee, "NAME=value" entries in order.
    pub env: &'a [Vec<u8>],
    /// The process's cwd (canonical).
    pub cwd: &'a [u8],
    /// The command instances the process belongs to, outermost first (before this exec).
    pub chain: &'a [CmdId],
    /// Canonical paths currently open for writing by any live process of the tree.
    pub open_for_writing: &'a [Vec<u8>],
    /// What the process's fds 1 and 2 are (a terminal, one stream): part of the key.
    pub streams: terminal::OutputStreams,
}

/// What to do with an exec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecDecision {
    /// Let it run (and trace it as a new command instance).
    Run,
    /// Exec this program with this argv instead (the environment is kept): dry's replay mode.
    Replace {
        /// Absolute path of the program to exec instead.
        exe: Vec<u8>,
        /// Its argv.
        argv: Vec<Vec<u8>>,
    },
}

/// Receives what the traced tree does, and hashes files on the tracer's behalf.
pub trait Observer {
    /// Called for every observation, with the chain of the process that made it (outermost
    /// first; always starts with 0). Not called for processes that are replaying. One
    /// exception: an uncapturable write to an instance's stdout or stderr (`copy_file_range`
    /// into fd 1...) is an `Uncacheable` observation whose chain lists only the instances whose
    /// output it was, outermost first (it never includes 0, whose output dry captures itself).
    fn observe(&mut self, chain: &[CmdId], obs: Observation);
    /// Whether the walk of `at` (as spelled) meets a path that the traced tree has changed so
    /// far: then the tracer pins the walk and names where it leads before the
    /// resolution (`Observation::Canonical`, gaps G8 and G10 of notes/model.md). By default
    /// nothing was changed.
    fn walks_through_changes(&self, at: &At) -> bool {
        let _ = at;
        false
    }
    /// How many changes the traced tree has made so far (a mark, for
    /// [`Observer::walks_through_changes_since`]). By default none.
    fn changes(&self) -> u64 {
        0
    }
    /// Whether the walk of absolute `spelled` (as spelled) meets a path the traced tree changed
    /// after it had made `mark` changes ([`Observer::changes`]): a directory opened as `spelled`
    /// may then no longer be what `spelled` leads to, and a path relative to its fd cannot be
    /// named from it (gap G33 of notes/model.md). By default nothing was changed.
    fn walks_through_changes_since(&self, spelled: &[u8], mark: u64) -> bool {
        let _ = (spelled, mark);
        false
    }
    /// Returns the content hash of the regular file at `path` (with a fingerprint cache).
    fn hash_file(&mut self, path: &Path) -> std::io::Result<Hash>;
    /// Returns the content hash of the regular file at `path`, which the tracer holds open as
    /// `file` and has just `fstat`ed (`meta`), without moving `file`'s offset (it is handed to
    /// a tracee after). By default, [`Observer::hash_file`] of `path`.
    fn hash_open_file(
        &mut self,
        path: &Path,
        file: &std::fs::File,
        meta: &std::fs::Metadata,
    ) -> std::io::Result<Hash> {
        let _ = (file, meta);
        self.hash_file(path)
    }
    /// The tracer read the directory at canonical `dir` for a listing: it listed `names`
    /// (sorted bytewise), and had fingerprint `before` just before it was read. An observer
    /// with a fingerprint cache may remember it (`Fingerprints::note_listing`).
    fn listed(&mut self, dir: &[u8], before: Fingerprint, names: &[Vec<u8>]) {
        let _ = (dir, before, names);
    }
    /// A process of the tree asks to exec a program (nested mode only; never for the
    /// top-level command's own exec, nor for an exec by a replaying process).
    fn exec_requested(&mut self, req: &ExecRequest<'_>) -> ExecDecision {
        let _ = req;
        ExecDecision::Run
    }
    /// A process exec'd successfully and became command instance `id` (nested mode only).
    /// `req.chain` is the chain before the exec; the process's chain is now `req.chain + [id]`.
    fn command_started(&mut self, id: CmdId, req: &ExecRequest<'_>) {
        let _ = (id, req);
    }
    /// Bytes a process wrote to its fd 1 (`fd == 1`) or fd 2 that count as output of instance
    /// `id` (nested mode only, never for id 0).
    fn output(&mut self, id: CmdId, fd: i32, bytes: &[u8]) {
        let _ = (id, fd, bytes);
    }
    /// Instance `id` ended: the process that exec'd it exited with `status` (nested mode only).
    fn command_ended(&mut self, id: CmdId, status: ExitStatus) {
        let _ = (id, status);
    }
}

/// Why tracing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    /// The executable does not exist.
    #[error("{0}: command not found")]
    NotFound(PathBuf),
    /// The executable exists but cannot be executed.
    #[error("{0}: not executable")]
    NotExecutable(PathBuf),
    /// The kernel refused to execute the command after the checks passed: an unknown format,
    /// a missing `#!` interpreter, a `noexec` mount...
    #[error("{}: {}", path.display(), source.desc())]
    Exec {
        /// The path exec'd, as spelled.
        path: PathBuf,
        /// Why `execve` failed.
        source: nix::Error,
    },
    /// A system call of the tracer itself failed (or, with a step name such as `chdir`, a
    /// step of the command's setup before `execve`).
    #[error("{what}: {source}")]
    Sys {
        /// What the tracer was doing.
        what: &'static str,
        /// The error.
        source: nix::Error,
    },
    /// A tracee vanished while the tracer handled one of its stops (`ESRCH`). The tracer
    /// handles this itself: [`run`] never returns it.
    #[error("traced process {pid} vanished")]
    TraceeGone {
        /// The thread id.
        pid: i32,
    },
}

/// Runs `spawn` to completion under the tracer, feeding `observer`; returns how the top-level
/// process ended.
pub fn run(spawn: Spawn, observer: &mut dyn Observer) -> Result<ExitStatus, TraceError> {
    let stdin = observe::StdinRef::of(std::io::stdin());
    trace(spawn, None, stdin, observer).map(|t| t.status)
}

/// Runs `spawn` with `stdin`, if given, as its fd 0 instead of the tracer's (for tests).
#[cfg(test)]
fn run_with_stdin(
    spawn: Spawn,
    stdin: Option<OwnedFd>,
    observer: &mut dyn Observer,
) -> Result<tracer::Traced, TraceError> {
    match stdin {
        Some(stdin) => {
            let reference = observe::StdinRef::of(&stdin);
            trace(spawn, Some(stdin), reference, observer)
        }
        None => trace(spawn, None, observe::StdinRef::of(std::io::stdin()), observer),
    }
}

fn trace(
    spawn: Spawn,
    stdin: Option<OwnedFd>,
    reference: Option<observe::StdinRef>,
    observer: &mut dyn Observer,
) -> Result<tracer::Traced, TraceError> {
    let started = spawn::start(&spawn, stdin.as_ref().map(|fd| fd.as_fd()))?;
    interrupt::set_command(started.pid);
    // The command has its own copies now.
    drop((spawn.stdout, spawn.stderr, stdin));
    let cwd = spawn.cwd.as_os_str().as_bytes().to_vec();
    let modes = tracer::Modes { seccomp: spawn.stops != Stops::Every, nested: spawn.nested };
    let tracer = tracer::Tracer::new(observer, modes, reference, started.pid, cwd);
    let traced = tracer.run(started.first, started.listener)?;
    match started.report.setup_error() {
        Some(e) => Err(e),
        None => Ok(traced),
    }
}
