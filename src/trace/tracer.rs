//! The tracer loop: waits for every stop of every tracee, dispatches it, and resumes.
//!
//! Owns the process table ([`Procs`]) for the whole run. Each `waitpid` status becomes a
//! [`Stopped`] guard that the handlers read through and that `resume` consumes. A tracee that
//! vanishes mid-stop ([`TraceError::TraceeGone`]) costs that stop only; any other ptrace failure
//! kills the traced tree and ends the run with the error. The loop ends when `waitpid` reports
//! no tracee left (`ECHILD`), and returns how the top-level process ended.
//!
//! With seccomp, only filtered syscalls stop (`PTRACE_EVENT_SECCOMP`), and a tracee is resumed
//! with `PTRACE_SYSCALL` only when its syscall's result is needed. Without seccomp every
//! syscall entry and exit stops, and `PTRACE_GET_SYSCALL_INFO` tells which one it is.

use super::arch::x86_64::{self as arch, AUDIT_ARCH};
use super::entry::{enter, Cx, Pending};
use super::exit::{exec_done, exit};
use super::observe::{Sink, StdinRef};
use super::procs::Procs;
use super::stop::{Resume, Stopped, SyscallOp};
use super::{seccomp, syscall, Observer, TraceError};
use model::entry::ExitStatus;
use nix::errno::Errno;
use nix::libc;
use nix::sys::ptrace::Event;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// The tracer's state for one run.
pub(crate) struct Tracer<'a> {
    observer: &'a mut dyn Observer,
    seccomp: bool,
    stdin: Option<StdinRef>,
    procs: Procs,
    root: Pid,
    status: Option<ExitStatus>,
}

/// What the flags of a clone event must be when they cannot be read from the parent.
fn default_clone_flags(event: i32) -> u64 {
    match event {
        e if e == Event::PTRACE_EVENT_VFORK as i32 => (libc::CLONE_VM | libc::CLONE_VFORK) as u64,
        e if e == Event::PTRACE_EVENT_CLONE as i32 => (libc::CLONE_FS | libc::CLONE_FILES) as u64,
        _ => 0,
    }
}

impl<'a> Tracer<'a> {
    /// Prepares to trace the tree rooted at `root`, whose current directory is `cwd`.
    pub(crate) fn new(
        observer: &'a mut dyn Observer,
        seccomp: bool,
        stdin: Option<StdinRef>,
        root: Pid,
        cwd: Vec<u8>,
    ) -> Tracer<'a> {
        Tracer { observer, seccomp, stdin, procs: Procs::new(root, cwd), root, status: None }
    }

    /// Resumes the root from its first stop and traces until no tracee is left.
    pub(crate) fn run(mut self, first: Stopped) -> Result<ExitStatus, TraceError> {
        if let Err(e) = self.resume(first, None) {
            return Err(self.abort(e));
        }
        let flags = WaitPidFlag::__WALL | WaitPidFlag::__WNOTHREAD;
        loop {
            let status = match waitpid(None, Some(flags)) {
                Ok(s) => s,
                Err(Errno::EINTR) => continue,
                Err(Errno::ECHILD) => break,
                Err(source) => return Err(self.abort(TraceError::Sys { what: "waitpid", source })),
            };
            match self.on_status(status) {
                Ok(()) | Err(TraceError::TraceeGone { .. }) => {}
                Err(e) => return Err(self.abort(e)),
            }
        }
        self.status
            .ok_or(TraceError::Sys { what: "waitpid (top-level exit)", source: Errno::ECHILD })
    }

    /// Kills every tracee after a fatal error, waits for them, and returns the error.
    fn abort(&mut self, e: TraceError) -> TraceError {
        for pid in self.procs.pids() {
            let _ = kill(pid, Signal::SIGKILL);
        }
        let flags = WaitPidFlag::__WALL | WaitPidFlag::__WNOTHREAD;
        while !matches!(waitpid(None, Some(flags)), Err(Errno::ECHILD)) {}
        e
    }

    fn on_status(&mut self, status: WaitStatus) -> Result<(), TraceError> {
        match status {
            WaitStatus::Exited(pid, code) => self.ended(pid, ExitStatus::Code(code)),
            WaitStatus::Signaled(pid, sig, _) => self.ended(pid, ExitStatus::Signal(sig as i32)),
            WaitStatus::Stopped(pid, sig) => return self.on_signal(Stopped::new(pid), sig),
            WaitStatus::PtraceEvent(pid, _, ev) => return self.on_event(Stopped::new(pid), ev),
            WaitStatus::PtraceSyscall(pid) => return self.on_syscall(Stopped::new(pid)),
            _ => {}
        }
        Ok(())
    }

    fn ended(&mut self, pid: Pid, status: ExitStatus) {
        self.procs.remove(pid);
        if pid == self.root {
            self.status = Some(status);
        }
    }

    /// Resumes `stop`: with `PTRACE_SYSCALL` when its syscall's exit is awaited (or always,
    /// without seccomp), else with `PTRACE_CONT`.
    fn resume(&mut self, stop: Stopped, sig: Option<Signal>) -> Result<(), TraceError> {
        let pending = self.procs.get_mut(stop.pid()).is_some_and(|t| t.pending.is_some());
        let how = if !self.seccomp || pending { Resume::Syscall } else { Resume::Cont };
        stop.resume(how, sig)
    }

    /// A signal-delivery stop, a group-stop, or the first stop of a new child.
    fn on_signal(&mut self, stop: Stopped, sig: Signal) -> Result<(), TraceError> {
        let Some(task) = self.procs.get_mut(stop.pid()) else {
            // A new child whose parent has not reported the clone yet.
            self.procs.hold_early(stop);
            return Ok(());
        };
        if task.awaiting_sigstop && sig == Signal::SIGSTOP {
            task.awaiting_sigstop = false;
            return self.resume(stop, None);
        }
        let stopping =
            matches!(sig, Signal::SIGSTOP | Signal::SIGTSTP | Signal::SIGTTIN | Signal::SIGTTOU);
        let deliver = if stopping && stop.is_group_stop()? { None } else { Some(sig) };
        self.resume(stop, deliver)
    }

    fn on_event(&mut self, stop: Stopped, event: i32) -> Result<(), TraceError> {
        let pid = stop.pid();
        let is = |e: Event| event == e as i32;
        if is(Event::PTRACE_EVENT_FORK)
            || is(Event::PTRACE_EVENT_VFORK)
            || is(Event::PTRACE_EVENT_CLONE)
        {
            let child = Pid::from_raw(i32::try_from(stop.event_msg()?).unwrap_or(0));
            let flags =
                arch::read_clone_flags(&stop)?.unwrap_or_else(|| default_clone_flags(event));
            if let Some(early) = self.procs.add_child(pid, child, flags) {
                match self.resume(early, None) {
                    Ok(()) | Err(TraceError::TraceeGone { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        } else if is(Event::PTRACE_EVENT_EXEC) {
            let former = Pid::from_raw(i32::try_from(stop.event_msg()?).unwrap_or(0));
            self.procs.exec(pid, former);
            if let Some(task) = self.procs.get_mut(pid) {
                if let Some(pending) = task.pending.take() {
                    let sink = Sink::new(self.observer, pid);
                    let mut cx = Cx { stop: &stop, task, sink, stdin: self.stdin, nr: 0 };
                    exec_done(&mut cx, pending);
                }
            }
        } else if is(Event::PTRACE_EVENT_SECCOMP) {
            return self.on_seccomp(stop);
        }
        self.resume(stop, None)
    }

    /// A seccomp stop: the entry of a filtered syscall.
    fn on_seccomp(&mut self, stop: Stopped) -> Result<(), TraceError> {
        let raw = arch::read_syscall(&stop)?;
        self.entered(&stop, raw, true);
        self.resume(stop, None)
    }

    /// A syscall-entry or -exit stop (`PTRACE_SYSCALL`).
    fn on_syscall(&mut self, stop: Stopped) -> Result<(), TraceError> {
        let op = if self.seccomp { SyscallOp::Exit } else { stop.syscall_op()? };
        match op {
            SyscallOp::Entry { arch: AUDIT_ARCH } => {
                let raw = arch::read_syscall(&stop)?;
                self.entered(&stop, raw, false);
            }
            SyscallOp::Exit => self.exited(&stop)?,
            SyscallOp::Entry { .. } | SyscallOp::Other => {}
        }
        self.resume(stop, None)
    }

    /// Handles a syscall entry; `filtered` says it came from the seccomp filter, so that a
    /// syscall the tracer cannot decode is reported rather than ignored.
    fn entered(&mut self, stop: &Stopped, raw: arch::RawSyscall, filtered: bool) {
        let Some(task) = self.procs.get_mut(stop.pid()) else { return };
        let sink = Sink::new(self.observer, stop.pid());
        let mut cx = Cx { stop, task: &mut *task, sink, stdin: self.stdin, nr: raw.nr };
        let pending: Option<Pending> = match syscall::decode(&raw) {
            Some(call) => enter(&mut cx, call),
            None => {
                if filtered && !seccomp::is_traced(raw.nr) {
                    cx.sink.unknown(raw.nr);
                }
                None
            }
        };
        task.pending = pending;
        task.nr = raw.nr;
    }

    /// Handles a syscall exit for the work its entry left.
    fn exited(&mut self, stop: &Stopped) -> Result<(), TraceError> {
        let Some(task) = self.procs.get_mut(stop.pid()) else { return Ok(()) };
        let Some(pending) = task.pending.take() else { return Ok(()) };
        let ret = arch::read_return(stop)?;
        let sink = Sink::new(self.observer, stop.pid());
        let nr = task.nr;
        let mut cx = Cx { stop, task, sink, stdin: self.stdin, nr };
        exit(&mut cx, pending, ret);
        Ok(())
    }
}
