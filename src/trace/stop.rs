//! Stop guards: the only way to read or resume a tracee.
//!
//! A [`Stopped`] is created by the tracer loop from a `waitpid` status that reports a ptrace
//! stop, so holding one is proof that the tracee is stopped and that its registers and memory
//! may be read. Resuming consumes the guard. Every ptrace error goes through [`died_if_esrch`],
//! which turns `ESRCH` (the tracee vanished, e.g. killed by `SIGKILL` or by a sibling thread's
//! `exit_group`) into [`TraceError::TraceeGone`]; the loop drops that stop and carries on.

use super::TraceError;
use nix::errno::Errno;
use nix::libc;
use nix::sys::ptrace;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

/// Proof that the tracee `pid` is in a ptrace stop. Not `Clone`: there is one per stop.
#[derive(Debug)]
pub(crate) struct Stopped {
    pid: Pid,
}

/// How to resume a tracee.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Resume {
    /// Until the next seccomp stop, event or signal (`PTRACE_CONT`).
    Cont,
    /// Also stop at the next syscall entry or exit (`PTRACE_SYSCALL`).
    Syscall,
}

/// What a syscall stop reported by `PTRACE_GET_SYSCALL_INFO` is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SyscallOp {
    /// A syscall entry, for this audit architecture.
    Entry {
        /// `AUDIT_ARCH_*` of the syscall.
        arch: u32,
    },
    /// A syscall exit.
    Exit,
    /// Anything else (a seccomp stop, or not a syscall stop at all).
    Other,
}

/// Maps a ptrace error on `pid`: `ESRCH` means the tracee is gone, anything else is the
/// tracer's own failure.
pub(crate) fn died_if_esrch(pid: Pid, what: &'static str, e: Errno) -> TraceError {
    if e == Errno::ESRCH {
        TraceError::TraceeGone { pid: pid.as_raw() }
    } else {
        TraceError::Sys { what, source: e }
    }
}

impl Stopped {
    /// Wraps a pid that `waitpid` just reported in a ptrace stop. Only the tracer loop (and the
    /// spawner, for the first stop) may call this.
    pub(crate) fn new(pid: Pid) -> Stopped {
        Stopped { pid }
    }

    /// Returns the stopped tracee's thread id.
    pub(crate) fn pid(&self) -> Pid {
        self.pid
    }

    /// Reads the general-purpose registers.
    pub(crate) fn regs(&self) -> Result<libc::user_regs_struct, TraceError> {
        ptrace::getregs(self.pid).map_err(|e| died_if_esrch(self.pid, "PTRACE_GETREGS", e))
    }

    /// Writes the general-purpose registers (the arguments of the syscall the tracee is about
    /// to make, at a seccomp or syscall-entry stop).
    pub(crate) fn set_regs(&self, regs: libc::user_regs_struct) -> Result<(), TraceError> {
        ptrace::setregs(self.pid, regs).map_err(|e| died_if_esrch(self.pid, "PTRACE_SETREGS", e))
    }

    /// Returns the event message of a `PTRACE_EVENT_*` stop (new pid, former tid, ...).
    pub(crate) fn event_msg(&self) -> Result<u64, TraceError> {
        let msg = ptrace::getevent(self.pid)
            .map_err(|e| died_if_esrch(self.pid, "PTRACE_GETEVENTMSG", e))?;
        // The kernel stores an unsigned long; nix hands it back as a c_long.
        Ok(msg as u64)
    }

    /// Reports what kind of syscall stop this is.
    pub(crate) fn syscall_op(&self) -> Result<SyscallOp, TraceError> {
        let info = ptrace::syscall_info(self.pid)
            .map_err(|e| died_if_esrch(self.pid, "PTRACE_GET_SYSCALL_INFO", e))?;
        Ok(match info.op {
            libc::PTRACE_SYSCALL_INFO_ENTRY => SyscallOp::Entry { arch: info.arch },
            libc::PTRACE_SYSCALL_INFO_EXIT => SyscallOp::Exit,
            _ => SyscallOp::Other,
        })
    }

    /// Reports whether a stop with a stopping signal is a group-stop (no signal to deliver)
    /// rather than a signal-delivery stop.
    pub(crate) fn is_group_stop(&self) -> Result<bool, TraceError> {
        match ptrace::getsiginfo(self.pid) {
            Ok(_) => Ok(false),
            Err(Errno::EINVAL) => Ok(true),
            Err(e) => Err(died_if_esrch(self.pid, "PTRACE_GETSIGINFO", e)),
        }
    }

    /// Sets the tracer's options on this tracee (inherited by its future children).
    pub(crate) fn set_options(&self, options: ptrace::Options) -> Result<(), TraceError> {
        ptrace::setoptions(self.pid, options)
            .map_err(|e| died_if_esrch(self.pid, "PTRACE_SETOPTIONS", e))
    }

    /// Resumes the tracee, delivering `sig` if given; the guard is gone afterwards.
    pub(crate) fn resume(self, how: Resume, sig: Option<Signal>) -> Result<(), TraceError> {
        let result = match how {
            Resume::Cont => ptrace::cont(self.pid, sig),
            Resume::Syscall => ptrace::syscall(self.pid, sig),
        };
        result.map_err(|e| died_if_esrch(self.pid, "PTRACE_CONT", e))
    }
}
