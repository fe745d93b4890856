//! Nested mode at execs and exits (notes/0006-nested.md): command instances, their chains, and
//! the decision to run or replace an exec.
//!
//! At the entry of an `execve`/`execveat` (all but the top-level command's own), the tracer
//! reads the argv and envp arrays from the tracee and checks that the program resolves to a
//! regular file; a process that is not replaying then asks the [`Observer`] what to do, and a
//! `Replace` answer rewrites the exec ([`super::rewrite`]) and marks the process as about to
//! replay. What was read is kept in the pending exec ([`NestedExec`]). When the exec succeeds,
//! a process about to replay starts replaying (unobserved, no instance); any other gets a new
//! instance id pushed on its chain ([`Instances::exec_done`]), including a replaying process
//! that execs again (the replay mode falling back to the original command). The instances a
//! process started end, innermost first, when the process exits ([`Instances::process_ended`]).

use super::entry::Pending;
use super::mem;
use super::output::Streams;
use super::probe;
use super::procs::{Procs, Replay, Task};
use super::rewrite;
use super::stop::Stopped;
use super::syscall::Addr;
use super::{CmdId, ExecDecision, ExecRequest, Observer, TraceError};
use model::entry::ExitStatus;
use model::fs::FileKind;
use model::observe::At;
use nix::unistd::Pid;
use std::rc::Rc;

/// The most entries read from an argv or envp array.
const MAX_ENTRIES: usize = 64 * 1024;
/// The most bytes read from argv and envp together (strings and their NULs).
const MAX_BYTES: usize = 4 * 1024 * 1024;
/// The longest single argument or environment string the kernel accepts, NUL included
/// (`MAX_ARG_STRLEN`).
const MAX_ARG_BYTES: usize = 32 * 4096;

/// What nested mode read at an exec's entry.
#[derive(Clone, Debug)]
pub(crate) struct ExecInfo {
    exe: Vec<u8>,
    argv: Vec<Vec<u8>>,
    env: Vec<Vec<u8>>,
    cwd: Vec<u8>,
    chain: Rc<[CmdId]>,
    open_for_writing: Vec<Vec<u8>>,
    streams: super::terminal::OutputStreams,
}

impl ExecInfo {
    /// The request, as the observer sees it.
    fn request(&self, pid: Pid) -> ExecRequest<'_> {
        ExecRequest {
            pid: pid.as_raw(),
            exe: &self.exe,
            argv: &self.argv,
            env: &self.env,
            cwd: &self.cwd,
            chain: &self.chain,
            open_for_writing: &self.open_for_writing,
            streams: self.streams,
        }
    }
}

/// What nested mode keeps in a pending exec until its outcome.
#[derive(Clone, Debug)]
pub(crate) struct NestedExec {
    /// The request, if it could be read and the exec was not rewritten: the instance to start.
    info: Option<ExecInfo>,
    /// The exec was rewritten to the replay program.
    pub(crate) rewritten: bool,
}

/// Reads a NULL-terminated array of strings, spending `budget` bytes.
fn read_strings(stop: &Stopped, array: Addr, budget: &mut usize) -> Option<Vec<Vec<u8>>> {
    let ptrs = mem::read_ptrs(stop, array, MAX_ENTRIES)?;
    let mut out = Vec::with_capacity(ptrs.len());
    for p in ptrs {
        let s = mem::read_cstr_max(stop, p, (*budget).min(MAX_ARG_BYTES))?;
        *budget = budget.checked_sub(s.len() + 1)?;
        out.push(s);
    }
    Some(out)
}

/// Reports whether the exec will find a regular file to run: `canon` (what the path resolves
/// to, following symlinks) is one, and a last symlink is not refused (`AT_SYMLINK_NOFOLLOW`).
fn runs_a_file(pid: Pid, at: Option<&At>, follow: bool, canon: &[u8]) -> bool {
    if probe::kind(canon, true) != Ok(FileKind::Regular) {
        return false;
    }
    match at {
        Some(at) if !follow => {
            let host = probe::for_tracee(pid, model::path::join(&at.base, &at.path));
            probe::kind(&host, false) != Ok(FileKind::Symlink)
        }
        _ => true,
    }
}

/// At the entry stop of an exec (not the top-level command's own) whose path was read
/// (`Pending::Exec`): reads the request, asks the observer unless the process replays, and
/// rewrites the exec if told to. `argv` and `envp` are the syscall's arrays.
pub(crate) fn exec_entry(
    stop: &Stopped,
    procs: &mut Procs,
    observer: &mut dyn Observer,
    argv: Addr,
    envp: Addr,
) -> Result<(), TraceError> {
    let pid = stop.pid();
    let Some(task) = procs.get(pid) else { return Ok(()) };
    let Some(Pending::Exec { at, follow, canon, .. }) = &task.pending else { return Ok(()) };
    if !runs_a_file(pid, at.as_ref(), *follow, canon) {
        return Ok(());
    }
    let mut budget = MAX_BYTES;
    let Some(argv) = read_strings(stop, argv, &mut budget) else { return Ok(()) };
    let Some(env) = read_strings(stop, envp, &mut budget) else { return Ok(()) };
    let replaying = task.replay != Replay::No;
    let mut info = ExecInfo {
        exe: canon.clone(),
        argv,
        env,
        cwd: task.cwd.borrow().clone(),
        chain: Rc::clone(&task.chain),
        open_for_writing: Vec::new(),
        streams: super::terminal::tracee_streams(pid),
    };
    let mut rewritten = false;
    if !replaying {
        info.open_for_writing = procs.open_for_writing();
        if let ExecDecision::Replace { exe, argv } = observer.exec_requested(&info.request(pid)) {
            rewritten = rewrite::replace_exec(stop, &exe, &argv)?;
        }
    }
    let Some(task) = procs.get_mut(pid) else { return Ok(()) };
    if rewritten {
        task.replay = Replay::Pending;
    }
    if let Some(Pending::Exec { nested, .. }) = &mut task.pending {
        let info = (!rewritten).then_some(info);
        *nested = Some(Box::new(NestedExec { info, rewritten }));
    }
    Ok(())
}

/// The command instances of a run: the next id to give, and their output streams.
#[derive(Debug)]
pub(crate) struct Instances {
    next: CmdId,
    /// The identities of each live instance's fds 1 and 2.
    pub(crate) streams: Streams,
}

impl Instances {
    /// No instance but the top-level command (0).
    pub(crate) fn new() -> Instances {
        Instances { next: 1, streams: Streams::default() }
    }

    /// A successful exec by `task` (now at `pid`, stopped at `PTRACE_EVENT_EXEC`): starts
    /// replaying, or starts a new instance if the entry read a request. Returns whether the
    /// exec is to be observed (not when the process now replays).
    pub(crate) fn exec_done(
        &mut self,
        pid: Pid,
        task: &mut Task,
        observer: &mut dyn Observer,
    ) -> bool {
        let nested = match &mut task.pending {
            Some(Pending::Exec { nested, .. }) => nested.take(),
            _ => None,
        };
        match task.replay {
            Replay::Pending => {
                task.replay = Replay::Active;
                return false;
            }
            Replay::Active => task.replay = Replay::No,
            Replay::No => {}
        }
        let Some(info) = nested.and_then(|n| n.info) else { return true };
        let id = self.next;
        self.next += 1;
        observer.command_started(id, &info.request(pid));
        task.chain = task.chain.iter().copied().chain([id]).collect();
        task.group.borrow_mut().started.push(id);
        self.streams.started(id, pid, info.streams.one_stream);
        true
    }

    /// The task `pid` exited with `status`: if it was the last of its process (or its leader,
    /// which the kernel reports last), the instances the process started end, innermost first.
    pub(crate) fn process_ended(
        &mut self,
        pid: Pid,
        task: &Task,
        status: ExitStatus,
        observer: &mut dyn Observer,
    ) {
        if task.tgid != pid && Rc::strong_count(&task.group) > 1 {
            return;
        }
        let started = std::mem::take(&mut task.group.borrow_mut().started);
        for &id in started.iter().rev() {
            self.streams.ended(id);
            observer.command_ended(id, status);
        }
    }
}
