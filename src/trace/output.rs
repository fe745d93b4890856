//! Output of command instances (nested mode, notes/0006-nested.md): which writes to fds 1 and
//! 2 are an instance's stdout or stderr, and their bytes.
//!
//! When an instance starts, the identities (`st_dev`, `st_ino`) of its fds 1 and 2 are kept in
//! [`Streams`]. A write by any process counts as output of each instance of the writer's chain
//! whose fd 1 (or 2) is the very file the writer's fd refers to, whatever the writer's fd number
//! (`2>&1` makes stderr writes stdout). An instance whose fds 1 and 2 were one open file
//! description at its exec has one stream: every write to either is its stdout, in order, so
//! that a replay keeps the interleaving (its key says so, notes/transparency.md). The writer's identity is cached in its fd table until fd
//! 1 or 2 changes, so a write costs no `stat`. A write that concerns no instance leaves no work
//! for its exit. `write` and `writev` are captured at their exit (the bytes the kernel took);
//! `sendfile`, `splice`, `copy_file_range` and the `pwrite` family cannot be, and make the
//! instances concerned uncacheable. Writes by replaying processes count like any other: they
//! replay a skipped child's output to its parent's streams.

use super::entry::Pending;
use super::mem;
use super::probe;
use super::procs::{FileId, Task};
use super::stop::Stopped;
use super::syscall::{Addr, Syscall};
use super::{CmdId, Observer};
use model::entry::Uncacheable;
use model::observe::Observation;
use nix::unistd::Pid;
use std::collections::{HashMap, HashSet};

/// The most iovecs a `writev` takes (`UIO_MAXIOV`).
const IOV_MAX: u64 = 1024;

/// The identities of every live instance's fds 1 and 2, as they were at its exec.
#[derive(Debug, Default)]
pub(crate) struct Streams {
    by_id: HashMap<CmdId, [Option<FileId>; 2]>,
    /// Instances whose fds 1 and 2 were one open file description at their exec (`2>&1`):
    /// their output is one stream, captured in order as standard output.
    one_stream: HashSet<CmdId>,
    /// Instances whose fd 0 was a pipe, socket or terminal at their exec: reading it makes
    /// them uncacheable, since those bytes cannot be checked later.
    interactive_stdin: HashMap<CmdId, FileId>,
}

impl Streams {
    /// Instance `id` started in process `pid` (stopped at its exec), its fds 1 and 2 one
    /// stream or two.
    pub(crate) fn started(&mut self, id: CmdId, pid: Pid, one_stream: bool) {
        let of = |fd: &str| probe::identity(&probe::proc_path(pid, fd)).map(|(file, _)| file);
        self.by_id.insert(id, [of("fd/1"), of("fd/2")]);
        if one_stream {
            self.one_stream.insert(id);
        }
        let fd0 = probe::proc_path(pid, "fd/0");
        if let Some((file, kind)) = probe::identity(&fd0) {
            if probe::is_stream(&kind) || probe::is_terminal(&fd0) {
                self.interactive_stdin.insert(id, file);
            }
        }
    }

    /// The instances of `chain` (but 0) whose standard input is the stream `file`.
    pub(crate) fn stdin_readers(&self, chain: &[CmdId], file: FileId) -> Vec<CmdId> {
        let mut ids: Vec<CmdId> = chain
            .iter()
            .copied()
            .filter(|id| *id != 0 && self.interactive_stdin.get(id) == Some(&file))
            .collect();
        ids.dedup();
        ids
    }

    /// Instance `id` ended.
    pub(crate) fn ended(&mut self, id: CmdId) {
        self.by_id.remove(&id);
        self.one_stream.remove(&id);
        self.interactive_stdin.remove(&id);
    }

    /// The stream (1 or 2) of instance `id` that `file` is, preferring the writer's own `fd`
    /// when both are; always 1 for an instance whose output is one stream.
    fn stream(&self, id: CmdId, file: FileId, fd: i32) -> Option<i32> {
        let streams = self.by_id.get(&id)?;
        let is = |s: i32| streams[usize::from(s == 2)] == Some(file);
        let other = if fd == 1 { 2 } else { 1 };
        let stream = [fd, other].into_iter().find(|&s| is(s))?;
        Some(if self.one_stream.contains(&id) { 1 } else { stream })
    }

    /// Each instance of `chain` (but 0) whose stream `file` is, with that stream.
    fn matching<'a>(
        &'a self,
        chain: &'a [CmdId],
        file: FileId,
        fd: i32,
    ) -> impl Iterator<Item = (CmdId, i32)> + 'a {
        let ids = chain.iter().filter(|&&id| id != 0);
        ids.filter_map(move |&id| Some((id, self.stream(id, file, fd)?)))
    }
}

/// A write to fd 1 or 2 waiting for its result.
#[derive(Clone, Debug)]
pub(crate) struct Output {
    /// The writer's fd (1 or 2).
    fd: i32,
    /// What it refers to.
    file: FileId,
    /// How the bytes are passed.
    how: How,
}

#[derive(Clone, Debug)]
enum How {
    /// `write`: the bytes are at `buf`.
    Write { buf: Addr },
    /// `writev`: the bytes are in the buffers of the iovec array at `iov`.
    Writev { iov: Addr, iovcnt: u64 },
    /// A call whose bytes dry does not capture, named.
    Other(&'static str),
}

/// Returns the identity of the tracee's fd 1 or 2, from its fd table's cache if it is there.
fn identity(stop: &Stopped, task: &Task, fd: i32) -> Option<FileId> {
    if let Some(cached) = task.fds.borrow().std_id(fd) {
        return cached;
    }
    let link = probe::proc_path(stop.pid(), if fd == 1 { "fd/1" } else { "fd/2" });
    let file = probe::identity(&link).map(|(file, _)| file);
    task.fds.borrow_mut().set_std_id(fd, file);
    file
}

/// At the entry of an output syscall: the work for its exit, if the write is output of an
/// instance of the writer's chain.
pub(crate) fn enter(
    stop: &Stopped,
    task: &Task,
    streams: &Streams,
    call: Syscall,
) -> Option<Pending> {
    if streams.by_id.is_empty() || task.chain.len() < 2 {
        return None;
    }
    let (fd, how) = match call {
        Syscall::Write { fd, buf } => (fd, How::Write { buf }),
        Syscall::Writev { fd, iov, iovcnt } => (fd, How::Writev { iov, iovcnt }),
        Syscall::OutputOther { fd, name } => (fd, How::Other(name)),
        _ => return None,
    };
    let file = identity(stop, task, fd)?;
    let concerned = streams.matching(&task.chain, file, fd).next().is_some();
    concerned.then_some(Pending::Output(Output { fd, file, how }))
}

/// Reads the first `n` bytes a `writev` wrote.
fn read_iov(stop: &Stopped, iov: Addr, iovcnt: u64, n: u64) -> Option<Vec<u8>> {
    let count = usize::try_from(iovcnt.min(IOV_MAX)).ok()?;
    let raw = mem::read_bytes(stop, iov, count * 16)?;
    let mut out = Vec::with_capacity(usize::try_from(n).ok()?);
    for vec in raw.chunks_exact(16) {
        let left = n - out.len() as u64;
        if left == 0 {
            break;
        }
        let base = u64::from_le_bytes(vec[..8].try_into().ok()?);
        let len = u64::from_le_bytes(vec[8..].try_into().ok()?).min(left);
        if len > 0 {
            out.extend_from_slice(&mem::read_bytes(stop, base, usize::try_from(len).ok()?)?);
        }
    }
    (out.len() as u64 == n).then_some(out)
}

/// At the exit of an output syscall: reports the bytes written to each instance they are
/// output of, or, for bytes that cannot be captured, that those instances are uncacheable.
///
/// The uncacheable observation is made with a chain of only the instances concerned: the
/// writer's other instances (the top-level command above all) lose nothing.
pub(crate) fn exit(
    stop: &Stopped,
    task: &Task,
    streams: &Streams,
    observer: &mut dyn Observer,
    out: Output,
    ret: Result<u64, i32>,
) {
    let n = match ret {
        Ok(n) if n > 0 => n,
        _ => return,
    };
    let Output { fd, file, how } = out;
    let bytes = match how {
        How::Write { buf } => usize::try_from(n).ok().and_then(|n| mem::read_bytes(stop, buf, n)),
        How::Writev { iov, iovcnt } => read_iov(stop, iov, iovcnt, n),
        How::Other(name) => return uncaptured(task, streams, observer, (fd, file), name),
    };
    let Some(bytes) = bytes else {
        return uncaptured(task, streams, observer, (fd, file), "a buffer dry could not read");
    };
    for (id, stream) in streams.matching(&task.chain, file, fd) {
        observer.output(id, stream, &bytes);
    }
}

/// Reports that the instances whose stream `file` is lost output written with `how`.
fn uncaptured(
    task: &Task,
    streams: &Streams,
    observer: &mut dyn Observer,
    (fd, file): (i32, FileId),
    how: &str,
) {
    let concerned: Vec<(CmdId, i32)> = streams.matching(&task.chain, file, fd).collect();
    let Some(&(_, stream)) = concerned.last() else { return };
    let ids: Vec<CmdId> = concerned.iter().map(|&(id, _)| id).collect();
    let name = if stream == 1 { "output" } else { "error" };
    let what = format!("wrote standard {name} with {how}");
    observer.observe(&ids, Observation::Uncacheable(Uncacheable::Unsupported { what }));
}
