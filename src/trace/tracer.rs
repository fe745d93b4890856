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
//!
//! In nested mode the loop also owns the command instances ([`Instances`]): execs go through
//! `nested` at their entry and success, exits end instances, and writes to fds
//! 1 and 2 go to `output` instead of the observation handlers.

use super::adopt::{self, Answer};
use super::arch::x86_64::{self as arch, AUDIT_ARCH};
use super::entry::{enter, Cx, Pending};
use super::exit::{exec_done, exit};
use super::mem::Paused;
use super::nested::{self, Instances};
use super::notify::{Listener, Notice};
use super::observe::{Sink, StdinRef};
use super::output;
use super::procs::{Procs, Replay, Task};
use super::stop::{Resume, Stopped, SyscallOp};
use super::syscall::{OpenFlags, Syscall};
use super::wake::ChildSignals;
use super::{seccomp, syscall, Observer, TraceError};
use model::entry::ExitStatus;
use nix::errno::Errno;
use nix::libc;
use nix::sys::ptrace::Event;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::rc::Rc;

/// How a run is traced.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Modes {
    /// The seccomp filter is installed (otherwise every syscall stops).
    pub(crate) seccomp: bool,
    /// Nested mode: command instances, exec decisions, output capture.
    pub(crate) nested: bool,
}

/// How a traced run ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Traced {
    /// How the top-level process ended.
    pub(crate) status: ExitStatus,
    /// How many syscalls reached the tracer as seccomp notifications.
    pub(crate) notices: u64,
}

/// The tracer's state for one run.
pub(crate) struct Tracer<'a> {
    observer: &'a mut dyn Observer,
    modes: Modes,
    stdin: Option<StdinRef>,
    procs: Procs,
    root: Pid,
    /// The top-level command's own exec succeeded.
    root_execd: bool,
    instances: Instances,
    status: Option<ExitStatus>,
    notices: u64,
}

/// The sink for observations made by `task`.
fn sink<'a>(observer: &'a mut dyn Observer, task: &Task) -> Sink<'a> {
    Sink::new(observer, Rc::clone(&task.chain), task.replay == Replay::Active)
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
        modes: Modes,
        stdin: Option<StdinRef>,
        root: Pid,
        cwd: Vec<u8>,
    ) -> Tracer<'a> {
        Tracer {
            observer,
            modes,
            stdin,
            procs: Procs::new(root, cwd),
            root,
            root_execd: false,
            instances: Instances::new(),
            status: None,
            notices: 0,
        }
    }

    /// Resumes the root from its first stop and traces until no tracee is left; with a
    /// `listener`, also answers its notifications.
    pub(crate) fn run(
        mut self,
        first: Stopped,
        listener: Option<Listener>,
    ) -> Result<Traced, TraceError> {
        if let Err(e) = self.resume(first, None) {
            return Err(self.abort(e));
        }
        let traced = match &listener {
            None => self.reap(true).map(drop),
            Some(listener) => self.poll_loop(listener),
        };
        if let Err(e) = traced {
            return Err(self.abort(e));
        }
        let status = self
            .status
            .ok_or(TraceError::Sys { what: "waitpid (top-level exit)", source: Errno::ECHILD })?;
        Ok(Traced { status, notices: self.notices })
    }

    /// Handles statuses and notifications as they come, until no tracee is left.
    fn poll_loop(&mut self, listener: &Listener) -> Result<(), TraceError> {
        let children = ChildSignals::watch()?;
        if !self.reap(false)? {
            return Ok(());
        }
        loop {
            let ready = children.wait(listener.fd())?;
            if ready.notice {
                if let Some(notice) = listener.recv()? {
                    self.notices += 1;
                    if self.on_notice(&notice, listener) == Answer::Continue {
                        listener.proceed(notice)?;
                    }
                }
            }
            if ready.statuses && !self.reap(false)? {
                return Ok(());
            }
        }
    }

    /// Handles statuses until no tracee is left (`block`), or until none is reported yet;
    /// `false` once no tracee is left.
    fn reap(&mut self, block: bool) -> Result<bool, TraceError> {
        let mut flags = WaitPidFlag::__WALL | WaitPidFlag::__WNOTHREAD;
        if !block {
            flags |= WaitPidFlag::WNOHANG;
        }
        loop {
            match waitpid(None, Some(flags)) {
                Ok(WaitStatus::StillAlive) => return Ok(true),
                Ok(status) => self.handle(status)?,
                Err(Errno::EINTR) => {}
                Err(Errno::ECHILD) => return Ok(false),
                Err(source) => return Err(TraceError::Sys { what: "waitpid", source }),
            }
        }
    }

    /// Handles one status; a tracee that vanished mid-stop costs that stop only.
    fn handle(&mut self, status: WaitStatus) -> Result<(), TraceError> {
        match self.on_status(status) {
            Ok(()) | Err(TraceError::TraceeGone { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// A notified syscall: handled as at its entry stop, then either left to the kernel
    /// (`Continue`) or, for an open that resolves, performed by the tracer ([`adopt`]). A probe
    /// the entry cannot answer is asked of the kernel by the tracer itself (`early::settle`),
    /// since no exit stop will follow.
    fn on_notice(&mut self, notice: &Notice, listener: &Listener) -> Answer {
        let Some(task) = self.procs.get_mut(notice.pid()) else { return Answer::Continue };
        let raw = arch::RawSyscall { nr: notice.nr, args: notice.args };
        let sink = sink(self.observer, task);
        let mut cx =
            Cx { tracee: notice, task, sink, stdin: self.stdin, streams: None, nr: raw.nr };
        let Some(call) = syscall::decode(&raw) else {
            cx.sink.unknown(raw.nr);
            return Answer::Continue;
        };
        match (enter(&mut cx, call), call) {
            (None, _) => Answer::Continue,
            (Some(Pending::Open(p)), Syscall::Open { flags: OpenFlags::Given(flags), .. }) => {
                adopt::open(&mut cx, p, flags, listener, notice)
            }
            (Some(pending), _) => {
                super::early::settle(&mut cx, pending, &raw.args);
                Answer::Continue
            }
        }
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
        if let Some(task) = self.procs.remove(pid) {
            self.instances.process_ended(pid, &task, status, &mut *self.observer);
        }
        if pid == self.root {
            self.status = Some(status);
        }
    }

    /// Resumes `stop`: with `PTRACE_SYSCALL` when its syscall's exit is awaited (or always,
    /// without seccomp), else with `PTRACE_CONT`.
    fn resume(&mut self, stop: Stopped, sig: Option<Signal>) -> Result<(), TraceError> {
        let pending = self.procs.get_mut(stop.pid()).is_some_and(|t| t.pending.is_some());
        let how = if !self.modes.seccomp || pending { Resume::Syscall } else { Resume::Cont };
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
            if pid == self.root {
                self.root_execd = true;
            }
            if let Some(task) = self.procs.get_mut(pid) {
                let observed = self.instances.exec_done(pid, task, &mut *self.observer);
                if let (true, Some(pending)) = (observed, task.pending.take()) {
                    let sink = sink(self.observer, task);
                    let mut cx =
                        Cx { tracee: &stop, task, sink, stdin: self.stdin, streams: None, nr: 0 };
                    exec_done(&mut cx, pending);
                }
                task.pending = None;
            }
        } else if is(Event::PTRACE_EVENT_SECCOMP) {
            return self.on_seccomp(stop);
        }
        self.resume(stop, None)
    }

    /// A seccomp stop: the entry of a filtered syscall.
    fn on_seccomp(&mut self, stop: Stopped) -> Result<(), TraceError> {
        let raw = arch::read_syscall(&stop)?;
        self.entered(&stop, raw, true)?;
        self.resume(stop, None)
    }

    /// A syscall-entry or -exit stop (`PTRACE_SYSCALL`).
    fn on_syscall(&mut self, stop: Stopped) -> Result<(), TraceError> {
        let op = if self.modes.seccomp { SyscallOp::Exit } else { stop.syscall_op()? };
        match op {
            SyscallOp::Entry { arch: AUDIT_ARCH } => {
                let raw = arch::read_syscall(&stop)?;
                self.entered(&stop, raw, false)?;
            }
            SyscallOp::Exit => self.exited(&stop)?,
            SyscallOp::Entry { .. } | SyscallOp::Other => {}
        }
        self.resume(stop, None)
    }

    /// Handles a syscall entry; `filtered` says it came from the seccomp filter, so that a
    /// syscall the tracer cannot decode is reported rather than ignored.
    fn entered(
        &mut self,
        stop: &Stopped,
        raw: arch::RawSyscall,
        filtered: bool,
    ) -> Result<(), TraceError> {
        let first_exec = stop.pid() == self.root && !self.root_execd;
        let Some(task) = self.procs.get_mut(stop.pid()) else { return Ok(()) };
        let call = syscall::decode(&raw);
        let pending: Option<Pending> = match call {
            Some(
                c @ (Syscall::Write { .. } | Syscall::Writev { .. } | Syscall::OutputOther { .. }),
            ) => {
                let streams = &self.instances.streams;
                self.modes.nested.then(|| output::enter(stop, task, streams, c)).flatten()
            }
            Some(c) => {
                let sink = sink(self.observer, task);
                let streams = self.modes.nested.then_some(&self.instances.streams);
                let mut cx = Cx {
                    tracee: stop,
                    task: &mut *task,
                    sink,
                    stdin: self.stdin,
                    streams,
                    nr: raw.nr,
                };
                enter(&mut cx, c)
            }
            None => {
                if filtered && !seccomp::is_traced(raw.nr) {
                    sink(self.observer, task).unknown(raw.nr);
                }
                None
            }
        };
        task.pending = pending;
        task.nr = raw.nr;
        if let (true, false, Some(Syscall::Exec { argv, envp, .. })) =
            (self.modes.nested, first_exec, call)
        {
            nested::exec_entry(stop, &mut self.procs, &mut *self.observer, argv, envp)?;
        }
        Ok(())
    }

    /// Handles a syscall exit for the work its entry left.
    fn exited(&mut self, stop: &Stopped) -> Result<(), TraceError> {
        let Some(task) = self.procs.get_mut(stop.pid()) else { return Ok(()) };
        let Some(pending) = task.pending.take() else { return Ok(()) };
        let ret = arch::read_return(stop)?;
        if let Pending::Output(out) = pending {
            let streams = &self.instances.streams;
            output::exit(stop, task, streams, &mut *self.observer, out, ret);
            return Ok(());
        }
        let sink = sink(self.observer, task);
        let nr = task.nr;
        let mut cx = Cx { tracee: stop, task, sink, stdin: self.stdin, streams: None, nr };
        exit(&mut cx, pending, ret);
        Ok(())
    }
}
