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
//! observations, with `probe` (the tracer's own stat/realpath/readdir) and `observe`.
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
//! | `open` `openat` `creat` `openat2` | `Resolve` (ok: kind opened; error: path errnos only); a regular file opened for reading, or for read-write/append (content hashed *before* the open), → `Read`; write intent → `Touch { before }` |
//! | `stat` `lstat` `newfstatat` `statx` | `Resolve` + `Stat` (from the buffer the kernel filled; no `Stat` for an unfollowed symlink); `AT_EMPTY_PATH` with an empty path (fstat) → nothing |
//! | `access` `faccessat(2)` | `Resolve`; `EACCES`/`EROFS`/`ETXTBSY` on an existing path → `Resolve` ok + `Stat` |
//! | `readlink(at)` | `Resolve(NOFOLLOW)` + `ReadLink`; `EINVAL` → `Resolve` ok (kind by lstat) |
//! | `execve(at)` | success (`PTRACE_EVENT_EXEC`) → `Resolve` + `Read` of the file, + `Read` of `/proc/PID/exe` if it differs (`#!` interpreter); failure → `Resolve` error |
//! | `chdir` / `fchdir` | `Resolve(DIRECTORY)` / nothing; both update the cwd from `/proc/PID/cwd` |
//! | `getdents(64)` | `List` once per open fd (listed by the tracer at entry) |
//! | `unlink(at)` `rmdir` | `Resolve(NOFOLLOW)` + `Touch`; `ENOTEMPTY` → `Resolve` ok directory |
//! | `mkdir(at)` `mknod(at)` `symlink(at)` | `Resolve(NOFOLLOW, ENOENT)` + `Touch { before: None }`; `EEXIST` → `Resolve` ok |
//! | `link(at)` | `Resolve` old + `Read` old + `Resolve(new, ENOENT)` + `Touch` new |
//! | `rename(at/at2)` | `Resolve` old + `Read` old + `Touch` both (+ `TouchTree` for a directory); `RENAME_EXCHANGE` → `Uncacheable` |
//! | `truncate` `chmod` `fchmodat` | `Resolve(FOLLOW)` + `Touch` |
//! | `close` `dup*` `fcntl(F_DUPFD*, F_SETFD)` | fd table only |
//! | `connect` (inet, inet6, unix; ok or `EINPROGRESS`) | `Uncacheable(Network)` |
//! | `read(0)` | once per fd 0: the command's stdin as a regular file → `StdinFile`; a pipe, socket or terminal → `Uncacheable(InteractiveStdin)` |
//!
//! A filtered syscall that cannot be decoded, or whose path cannot be read from the tracee,
//! is reported as `UnknownSyscall`. A file that cannot be hashed is reported as
//! `Uncacheable(InputRaced)`.

mod arch;
mod entry;
mod exit;
mod mem;
mod observe;
mod probe;
mod procs;
mod seccomp;
mod spawn;
mod stop;
mod syscall;
mod tracer;

#[cfg(test)]
mod tests;

use model::entry::ExitStatus;
use model::observe::Observation;
use model::Hash;
use std::ffi::OsString;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// What to run and how.
#[derive(Debug)]
pub struct Spawn {
    /// Absolute path of the executable (already resolved through PATH).
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
    /// Install the seccomp filter so that only path syscalls stop (off only for testing).
    pub seccomp: bool,
}

/// Receives what the traced tree does, and hashes files on the tracer's behalf.
pub trait Observer {
    /// Called for every observation, in the order the tracer saw them.
    fn observe(&mut self, pid: i32, obs: Observation);
    /// Returns the content hash of the regular file at `path` (with a fingerprint cache).
    fn hash_file(&mut self, path: &Path) -> std::io::Result<Hash>;
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
    trace(spawn, None, stdin, observer)
}

/// Runs `spawn` with `stdin` as its fd 0 instead of the tracer's (for tests).
#[cfg(test)]
fn run_with_stdin(
    spawn: Spawn,
    stdin: OwnedFd,
    observer: &mut dyn Observer,
) -> Result<ExitStatus, TraceError> {
    let reference = observe::StdinRef::of(&stdin);
    trace(spawn, Some(stdin), reference, observer)
}

fn trace(
    spawn: Spawn,
    stdin: Option<OwnedFd>,
    reference: Option<observe::StdinRef>,
    observer: &mut dyn Observer,
) -> Result<ExitStatus, TraceError> {
    let started = spawn::start(&spawn, stdin.as_ref().map(|fd| fd.as_fd()))?;
    // The command has its own copies now.
    drop((spawn.stdout, spawn.stderr, stdin));
    let cwd = spawn.cwd.as_os_str().as_bytes().to_vec();
    let tracer = tracer::Tracer::new(observer, spawn.seccomp, reference, started.pid, cwd);
    let status = tracer.run(started.first)?;
    match started.report.setup_error() {
        Some(e) => Err(e),
        None => Ok(status),
    }
}
