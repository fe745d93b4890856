//! Starting the command: checks its executable, forks, and in the child sets up fds, the
//! working directory, `PTRACE_TRACEME`, `PR_SET_NO_NEW_PRIVS`, the seccomp filter (with a
//! user-notification listener sent to the tracer when the kernel grants one, [`super::notify`]),
//! a stop for the tracer and finally `execve`.
//!
//! Everything the child needs (C strings, pointer arrays, the filter) is built before `fork`:
//! the tracer may have other threads, so between `fork` and `execve` the child makes only
//! async-signal-safe calls and never allocates. A failure in the child before `execve` is
//! written as `(step, errno)` to a close-on-exec pipe and the child exits 125; a failed
//! `execve` is reported the same way and exits 127 (`ENOENT`) or 126 like a shell. This module
//! ends when the child sits in its first stop with the tracer's options set; [`super::tracer`]
//! takes over from there.
//!
//! The command is exec'd as execvp(3) would: with the path as [`Spawn::exe`] spells it (a `#!`
//! interpreter receives that path, so a script's `$0` is what the user typed) and its argv
//! untouched. A file the kernel refuses with `ENOEXEC` (no `#!` line) is run by `/bin/sh` with
//! argv `/bin/sh PATH ARGS...`, as glibc's execvp(3) does; like bash, not a file that looks
//! binary (a NUL before its first newline) nor one that has a `#!` line (its interpreter is the
//! problem). The tracer sees both execs: the failed one records nothing, the second records
//! `/bin/sh`, and the shell's own open of the script records it as an input.

use super::notify::{self, Channel, Installed, Listener};
use super::seccomp;
use super::stop::{Resume, Stopped};
use super::{Spawn, Stops, TraceError};
use nix::errno::Errno;
use nix::libc;
use nix::sys::ptrace::Options;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{access, AccessFlags, ForkResult, Pid};
use std::ffi::CString;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The steps of the child's setup, as reported through the error pipe.
const STEPS: [&str; 11] = [
    "dup2 (stdin)",
    "dup2 (stdout)",
    "dup2 (stderr)",
    "chdir",
    "PTRACE_TRACEME",
    "raise(SIGSTOP)",
    "PR_SET_NO_NEW_PRIVS",
    "seccomp filter",
    "sending the seccomp listener",
    "execve",
    "execve /bin/sh",
];

/// The step of the command's own `execve`, and of its fallback to `/bin/sh`.
const EXEC_STEP: u32 = 9;
const SH_STEP: u32 = 10;

/// The shell execvp(3) runs a file without `#!` with.
const SH: &str = "/bin/sh";

/// The options every tracee gets (inherited by its children).
fn options() -> Options {
    Options::PTRACE_O_TRACESECCOMP
        | Options::PTRACE_O_TRACEFORK
        | Options::PTRACE_O_TRACEVFORK
        | Options::PTRACE_O_TRACECLONE
        | Options::PTRACE_O_TRACEEXEC
        | Options::PTRACE_O_TRACESYSGOOD
        | Options::PTRACE_O_EXITKILL
}

/// Everything the child uses, prepared before `fork`.
struct Prepared {
    exe: CString,
    cwd: CString,
    _argv: Vec<CString>,
    /// For an executable `/bin/sh` may run on `ENOEXEC`: `/bin/sh` and its argv.
    sh: Option<(CString, Vec<*const libc::c_char>)>,
    _sh_argv: Vec<CString>,
    _env: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    env_ptrs: Vec<*const libc::c_char>,
    filter: Option<Vec<libc::sock_filter>>,
    /// The filter that notifies (tried first), and the socket its listener goes through.
    notifying: Option<(Vec<libc::sock_filter>, RawFd)>,
    stdin: Option<RawFd>,
    stdout: RawFd,
    stderr: RawFd,
    report: RawFd,
    no_signals: SigSet,
}

fn cstring(bytes: &[u8], what: &'static str) -> Result<CString, TraceError> {
    CString::new(bytes).map_err(|_| TraceError::Sys { what, source: Errno::EINVAL })
}

fn pointers(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings.iter().map(|s| s.as_ptr()).chain(std::iter::once(std::ptr::null())).collect()
}

/// Reports whether execvp(3) would hand `exe` to `/bin/sh` if the kernel refused it with
/// `ENOEXEC`: it can be read, has no `#!` line and does not look binary (a NUL before the first
/// newline in its first 80 bytes, bash's test).
fn sh_may_run(exe: &Path) -> bool {
    let Ok(mut file) = File::open(exe) else { return false };
    let mut head = [0u8; 80];
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    let head = &head[..n];
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    !head.starts_with(b"#!") && !first_line.contains(&0)
}

/// Checks that `exe` exists and may be executed.
fn check_exe(exe: &Path) -> Result<(), TraceError> {
    match std::fs::metadata(exe) {
        Err(_) => Err(TraceError::NotFound(exe.to_path_buf())),
        Ok(m) if m.is_dir() => Err(TraceError::NotExecutable(exe.to_path_buf())),
        Ok(_) => match access(exe, AccessFlags::X_OK) {
            Ok(()) => Ok(()),
            Err(_) => Err(TraceError::NotExecutable(exe.to_path_buf())),
        },
    }
}

/// A started command: its pid, its first stop, and its setup-error report.
pub(crate) struct Started {
    /// The command's pid.
    pub(crate) pid: Pid,
    /// Its first stop (`SIGSTOP` before `execve`), options set.
    pub(crate) first: Stopped,
    /// The seccomp listener, if the child made one.
    pub(crate) listener: Option<Listener>,
    /// Where the child reports a failed setup step.
    pub(crate) report: Report,
}

/// The read end of the child's setup-error pipe, and the path exec'd (for its messages).
pub(crate) struct Report(File, std::path::PathBuf);

impl Report {
    /// After the run: the setup step that failed in the child, if one did (non-blocking; the
    /// child has exited or exec-ed, so the pipe is at EOF or holds the report).
    pub(crate) fn setup_error(mut self) -> Option<TraceError> {
        let mut buf = [0u8; 8];
        let n = self.0.read(&mut buf).ok()?;
        if n != 8 {
            return None;
        }
        let step = usize::try_from(u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]])).ok()?;
        let source = Errno::from_raw(i32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]));
        match u32::try_from(step).ok()? {
            EXEC_STEP => Some(TraceError::Exec { path: self.1, source }),
            SH_STEP => Some(TraceError::Exec { path: SH.into(), source }),
            _ => Some(TraceError::Sys { what: STEPS.get(step)?, source }),
        }
    }
}

/// Forks and starts `spawn` under the tracer; `stdin` replaces the inherited fd 0 if given.
pub(crate) fn start(spawn: &Spawn, stdin: Option<BorrowedFd<'_>>) -> Result<Started, TraceError> {
    let full = spawn.cwd.join(&spawn.exe);
    check_exe(&full)?;
    let argv: Vec<CString> =
        (spawn.argv.iter().map(|a| cstring(a.as_bytes(), "argv"))).collect::<Result<_, _>>()?;
    let exe = cstring(spawn.exe.as_os_str().as_bytes(), "executable path")?;
    // execvp(3)'s fallback: `/bin/sh PATH ARGS...`.
    let sh_argv: Vec<CString> = if sh_may_run(&full) {
        let sh = cstring(SH.as_bytes(), "/bin/sh")?;
        [sh, exe.clone()].into_iter().chain(argv.iter().skip(1).cloned()).collect()
    } else {
        Vec::new()
    };
    let env: Vec<CString> = (spawn.env.iter())
        .map(|(k, v)| cstring(&[k.as_bytes(), b"=", v.as_bytes()].concat(), "environment"))
        .collect::<Result<_, _>>()?;
    let (report_r, report_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|source| TraceError::Sys { what: "pipe2", source })?;
    nix::fcntl::fcntl(&report_r, nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK))
        .map_err(|source| TraceError::Sys { what: "fcntl", source })?;
    let notified = spawn.stops == Stops::Notified && notify::supported();
    let channel = if notified { Some(Channel::new()?) } else { None };
    let prepared = Prepared {
        exe,
        sh: (!sh_argv.is_empty())
            .then(|| cstring(SH.as_bytes(), "/bin/sh").map(|sh| (sh, pointers(&sh_argv))))
            .transpose()?,
        _sh_argv: sh_argv,
        cwd: cstring(spawn.cwd.as_os_str().as_bytes(), "working directory")?,
        argv_ptrs: pointers(&argv),
        env_ptrs: pointers(&env),
        _argv: argv,
        _env: env,
        filter: (spawn.stops != Stops::Every).then(|| seccomp::filter(spawn.nested, false)),
        notifying: channel.as_ref().map(|c| (seccomp::filter(spawn.nested, true), c.child_end())),
        stdin: stdin.map(|fd| fd.as_raw_fd()),
        stdout: spawn.stdout.as_raw_fd(),
        stderr: spawn.stderr.as_raw_fd(),
        report: report_w.as_raw_fd(),
        no_signals: SigSet::empty(),
    };
    // SAFETY: the child runs only `child`, which makes async-signal-safe calls on data
    // prepared above and never returns (it execs or `_exit`s).
    let fork = unsafe { nix::unistd::fork() };
    match fork.map_err(|source| TraceError::Sys { what: "fork", source })? {
        ForkResult::Child => child(&prepared),
        ForkResult::Parent { child } => {
            drop(report_w);
            drop(prepared);
            first_stop(child, Report(File::from(report_r), spawn.exe.clone()), channel)
        }
    }
}

/// Waits for the child's `SIGSTOP`, sets the tracer's options and takes the listener the
/// child sent before it stopped.
fn first_stop(pid: Pid, report: Report, channel: Option<Channel>) -> Result<Started, TraceError> {
    loop {
        match waitpid(pid, Some(WaitPidFlag::__WALL)) {
            Ok(WaitStatus::Stopped(_, Signal::SIGSTOP)) => break,
            Ok(WaitStatus::Exited(..) | WaitStatus::Signaled(..)) => {
                let err = report.setup_error();
                return Err(err.unwrap_or(TraceError::Sys { what: "start", source: Errno::ECHILD }));
            }
            // A signal before the SIGSTOP (the child is already traced): deliver it.
            Ok(WaitStatus::Stopped(_, sig)) => Stopped::new(pid).resume(Resume::Cont, Some(sig))?,
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(source) => return Err(TraceError::Sys { what: "waitpid", source }),
        }
    }
    let first = Stopped::new(pid);
    first.set_options(options())?;
    let listener = channel.and_then(Channel::receive);
    Ok(Started { pid, first, report, listener })
}

/// Reports the failed setup `step` with the current errno and exits 125.
fn fail(p: &Prepared, step: u32) -> ! {
    report(p, step);
    // SAFETY: _exit(2) is async-signal-safe and ends the child without running destructors.
    unsafe { libc::_exit(125) }
}

/// Writes `(step, errno)` to the report pipe. Async-signal-safe.
fn report(p: &Prepared, step: u32) {
    let errno = Errno::last_raw();
    let mut buf = [0u8; 8];
    buf[..4].copy_from_slice(&step.to_le_bytes());
    buf[4..].copy_from_slice(&errno.to_le_bytes());
    // SAFETY: `buf` is a live 8-byte buffer; write(2) is async-signal-safe.
    let _ = unsafe { libc::write(p.report, buf.as_ptr().cast(), buf.len()) };
    // The write may have changed errno; the caller may still need it.
    Errno::set_raw(errno);
}

/// Makes `fd` the child's `target` fd (clearing close-on-exec even when they are equal).
fn install_fd(p: &Prepared, fd: RawFd, target: RawFd, step: u32) {
    let rc = if fd == target {
        // SAFETY: fcntl(F_SETFD) on an fd number only changes its flags; async-signal-safe.
        unsafe { libc::fcntl(fd, libc::F_SETFD, 0) }
    } else {
        // SAFETY: dup2(2) on fd numbers is async-signal-safe and touches no memory.
        unsafe { libc::dup2(fd, target) }
    };
    if rc < 0 {
        fail(p, step);
    }
}

/// Installs the seccomp filter, if any: the notifying one first, the plain one if the kernel
/// refuses a listener. Async-signal-safe.
fn install_filter(p: &Prepared) {
    let fprog = |f: &Vec<libc::sock_filter>| libc::sock_fprog {
        len: u16::try_from(f.len()).unwrap_or(u16::MAX),
        filter: f.as_ptr().cast_mut(),
    };
    if let Some((filter, channel)) = &p.notifying {
        match notify::install(&fprog(filter), *channel) {
            Installed::Notifying => return,
            Installed::Refused => {}
            Installed::Lost => fail(p, 8),
        }
    }
    if let Some(filter) = &p.filter {
        let prog = fprog(filter);
        let prog_ptr: *const libc::sock_fprog = &prog;
        let mode = libc::SECCOMP_MODE_FILTER as libc::c_ulong;
        // SAFETY: `prog` points at `len` valid instructions that outlive the call; the kernel
        // copies the program.
        if unsafe { libc::prctl(libc::PR_SET_SECCOMP, mode, prog_ptr) } < 0 {
            fail(p, 7);
        }
    }
}

/// The child between `fork` and `execve`: async-signal-safe calls only.
fn child(p: &Prepared) -> ! {
    if let Some(fd) = p.stdin {
        install_fd(p, fd, 0, 0);
    }
    install_fd(p, p.stdout, 1, 1);
    install_fd(p, p.stderr, 2, 2);
    // SAFETY: `cwd` is a NUL-terminated string that outlives the call.
    if unsafe { libc::chdir(p.cwd.as_ptr()) } < 0 {
        fail(p, 3);
    }
    // SAFETY: resets one signal disposition to the default (Rust ignores SIGPIPE).
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    // SAFETY: `no_signals` is an initialised, empty sigset_t.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, p.no_signals.as_ref(), std::ptr::null_mut()) };
    let null = std::ptr::null_mut::<libc::c_void>();
    // SAFETY: PTRACE_TRACEME takes no pointers.
    if unsafe { libc::ptrace(libc::PTRACE_TRACEME, 0, null, null) } < 0 {
        fail(p, 4);
    }
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } < 0 {
        fail(p, 6);
    }
    install_filter(p);
    // SAFETY: raise(3) is async-signal-safe; the tracer resumes us after this stop. The filter
    // is in place but stops nothing before then: raise makes no traced syscall.
    if unsafe { libc::raise(libc::SIGSTOP) } != 0 {
        fail(p, 5);
    }
    // SAFETY: `exe` and both NULL-terminated pointer arrays point at live C strings.
    unsafe { libc::execve(p.exe.as_ptr(), p.argv_ptrs.as_ptr(), p.env_ptrs.as_ptr()) };
    let mut step = EXEC_STEP;
    if let (Errno::ENOEXEC, Some((sh, sh_argv))) = (Errno::last(), &p.sh) {
        // SAFETY: as above; `sh` and `sh_argv` were prepared before `fork`.
        unsafe { libc::execve(sh.as_ptr(), sh_argv.as_ptr(), p.env_ptrs.as_ptr()) };
        step = SH_STEP;
    }
    let code = if Errno::last() == Errno::ENOENT { 127 } else { 126 };
    report(p, step);
    // SAFETY: _exit(2) is async-signal-safe; the exec failed and the child must end here.
    unsafe { libc::_exit(code) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_text_file_without_shebang_is_handed_to_bin_sh() {
        let t = tempfile::tempdir().expect("tempdir");
        let case = |content: &[u8]| {
            let p = t.path().join("f");
            std::fs::write(&p, content).expect("write");
            sh_may_run(&p)
        };
        assert!(case(b"echo hi\n"));
        assert!(case(b""));
        assert!(case(b"echo hi\n\0binary after the first line"));
        assert!(!case(b"#!/nonexistent\necho hi\n"));
        assert!(!case(b"\x7fELF\x02\x01\x01\0"));
        assert!(!sh_may_run(&t.path().join("absent")));
    }
}
