//! The process table: per-thread state of every tracee, owned by the tracer loop.
//!
//! Each traced thread is a [`Task`]. Its current directory and its fd table are shared values:
//! threads (and processes) created with `CLONE_FS` share one current directory, those created
//! with `CLONE_FILES` one fd table, exactly as in the kernel. `exec` unshares the fd table and
//! closes its close-on-exec fds. New children may report their first stop before their parent's
//! clone event: such stops are held ([`Procs::hold_early`]) until the event says who they are.
//! This module only keeps state; it never talks to a tracee (the `/proc` fallback for a child
//! whose parent is unknown is the one exception, and only reads).

use super::entry::Pending;
use super::probe;
use super::stop::Stopped;
use nix::libc;
use nix::unistd::Pid;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// A value shared between tasks, as the kernel shares `fs_struct` and `files_struct`.
pub(crate) type Shared<T> = Rc<RefCell<T>>;

/// What the tracer knows of one open fd.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct FdEntry {
    /// The canonical path it was opened as.
    pub(crate) path: Vec<u8>,
    /// The path as the command spelled it, joined to its base (not normalised): predicates
    /// about what was reached through this fd name it, so that a symlink retargeted on the way
    /// is noticed by the check.
    pub(crate) spelled: Vec<u8>,
    /// `FD_CLOEXEC` is set.
    pub(crate) cloexec: bool,
    /// Its directory listing was already reported.
    pub(crate) listed: bool,
}

/// An fd table. Fds the table does not know (inherited, pipes) are looked up in `/proc`.
#[derive(Clone, Debug, Default)]
pub(crate) struct FdTable {
    fds: HashMap<i32, FdEntry>,
    /// Standard input was already classified since fd 0 last changed.
    stdin_checked: bool,
}

impl FdTable {
    /// Returns what the table knows of `fd`.
    pub(crate) fn get(&self, fd: i32) -> Option<&FdEntry> {
        self.fds.get(&fd)
    }

    /// Records that `fd` now refers to `path` (spelled as its canonical path).
    pub(crate) fn insert(&mut self, fd: i32, path: Vec<u8>, cloexec: bool) {
        let spelled = path.clone();
        self.insert_spelled(fd, path, spelled, cloexec);
    }

    /// Records that `fd` now refers to `path`, opened as `spelled`.
    pub(crate) fn insert_spelled(
        &mut self,
        fd: i32,
        path: Vec<u8>,
        spelled: Vec<u8>,
        cloexec: bool,
    ) {
        if fd == 0 {
            self.stdin_checked = false;
        }
        self.fds.insert(fd, FdEntry { path, spelled, cloexec, listed: false });
    }

    /// Records that `fd` was closed (or now refers to something without a path).
    pub(crate) fn remove(&mut self, fd: i32) {
        if fd == 0 {
            self.stdin_checked = false;
        }
        self.fds.remove(&fd);
    }

    /// Sets or clears `FD_CLOEXEC` on a known fd.
    pub(crate) fn set_cloexec(&mut self, fd: i32, cloexec: bool) {
        if let Some(e) = self.fds.get_mut(&fd) {
            e.cloexec = cloexec;
        }
    }

    /// Marks `fd`'s listing as reported; returns whether this is the first time.
    pub(crate) fn first_listing(&mut self, fd: i32) -> bool {
        match self.fds.get_mut(&fd) {
            Some(e) => !std::mem::replace(&mut e.listed, true),
            None => false,
        }
    }

    /// Marks standard input as classified; returns whether it still needed to be.
    pub(crate) fn first_stdin_read(&mut self) -> bool {
        !std::mem::replace(&mut self.stdin_checked, true)
    }

    /// Returns the table a process has after `exec`: close-on-exec fds closed.
    fn after_exec(&self) -> FdTable {
        let mut t = self.clone();
        t.fds.retain(|_, e| !e.cloexec);
        t
    }
}

/// One traced thread.
#[derive(Debug)]
pub(crate) struct Task {
    /// Its current directory (absolute), shared per `CLONE_FS`.
    pub(crate) cwd: Shared<Vec<u8>>,
    /// Its fd table, shared per `CLONE_FILES`.
    pub(crate) fds: Shared<FdTable>,
    /// What to do at the exit of the syscall it is in, if anything.
    pub(crate) pending: Option<Pending>,
    /// The number of the syscall it last entered.
    pub(crate) nr: u64,
    /// Its first stop (the `SIGSTOP` of a new child) has not been seen yet.
    pub(crate) awaiting_sigstop: bool,
}

/// Every traced thread, by thread id.
#[derive(Debug, Default)]
pub(crate) struct Procs {
    tasks: HashMap<Pid, Task>,
    early: HashMap<Pid, Stopped>,
}

impl Procs {
    /// Starts a table with the top-level process, already past its first stop.
    pub(crate) fn new(root: Pid, cwd: Vec<u8>) -> Procs {
        let task = Task {
            cwd: Rc::new(RefCell::new(cwd)),
            fds: Rc::default(),
            pending: None,
            nr: 0,
            awaiting_sigstop: false,
        };
        Procs { tasks: HashMap::from([(root, task)]), early: HashMap::new() }
    }

    /// Returns the task `pid`, if traced.
    pub(crate) fn get_mut(&mut self, pid: Pid) -> Option<&mut Task> {
        self.tasks.get_mut(&pid)
    }

    /// Forgets a task that exited.
    pub(crate) fn remove(&mut self, pid: Pid) {
        self.tasks.remove(&pid);
        self.early.remove(&pid);
    }

    /// Every thread id in the table (to kill the tree after a fatal error).
    pub(crate) fn pids(&self) -> Vec<Pid> {
        self.tasks.keys().chain(self.early.keys()).copied().collect()
    }

    /// Keeps a stop of an unknown thread (a new child whose parent's event is still to come)
    /// until [`Procs::add_child`] claims it.
    pub(crate) fn hold_early(&mut self, stop: Stopped) {
        self.early.insert(stop.pid(), stop);
    }

    /// Adds `child`, created by `parent` with clone `flags`. Returns its first stop if it was
    /// already held, for the caller to resume.
    pub(crate) fn add_child(&mut self, parent: Pid, child: Pid, flags: u64) -> Option<Stopped> {
        let (cwd, fds) = match self.tasks.get(&parent) {
            Some(p) => {
                let cwd = if flags & libc::CLONE_FS as u64 != 0 {
                    Rc::clone(&p.cwd)
                } else {
                    Rc::new(RefCell::new(p.cwd.borrow().clone()))
                };
                let fds = if flags & libc::CLONE_FILES as u64 != 0 {
                    Rc::clone(&p.fds)
                } else {
                    Rc::new(RefCell::new(p.fds.borrow().clone()))
                };
                (cwd, fds)
            }
            None => {
                let cwd = probe::cwd(child).unwrap_or_else(|| b"/".to_vec());
                (Rc::new(RefCell::new(cwd)), Rc::default())
            }
        };
        let early = self.early.remove(&child);
        let task = Task { cwd, fds, pending: None, nr: 0, awaiting_sigstop: early.is_none() };
        self.tasks.insert(child, task);
        early
    }

    /// Applies a successful `exec` reported at `pid` by the thread that was `former` (a
    /// non-leader thread takes over the leader's id): moves its state, unshares its fd table
    /// and closes its close-on-exec fds.
    pub(crate) fn exec(&mut self, pid: Pid, former: Pid) {
        if former != pid {
            if let Some(task) = self.tasks.remove(&former) {
                self.tasks.insert(pid, task);
            }
        }
        if let Some(task) = self.tasks.get_mut(&pid) {
            let after = task.fds.borrow().after_exec();
            task.fds = Rc::new(RefCell::new(after));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_flags_decide_sharing() {
        let (root, a, b) = (Pid::from_raw(1), Pid::from_raw(2), Pid::from_raw(3));
        let mut procs = Procs::new(root, b"/w".to_vec());
        assert!(procs.add_child(root, a, (libc::CLONE_FS | libc::CLONE_FILES) as u64).is_none());
        assert!(procs.add_child(root, b, 0).is_none());
        *procs.get_mut(a).expect("a").cwd.borrow_mut() = b"/x".to_vec();
        procs.get_mut(a).expect("a").fds.borrow_mut().insert(3, b"/f".to_vec(), true);
        let root_task = procs.get_mut(root).expect("root");
        assert_eq!(*root_task.cwd.borrow(), b"/x");
        assert!(root_task.fds.borrow().get(3).is_some());
        let b_task = procs.get_mut(b).expect("b");
        assert_eq!(*b_task.cwd.borrow(), b"/w");
        assert!(b_task.fds.borrow().get(3).is_none());
    }

    #[test]
    fn exec_from_a_thread_takes_the_leader_id_and_drops_cloexec_fds() {
        let (root, t) = (Pid::from_raw(1), Pid::from_raw(2));
        let mut procs = Procs::new(root, b"/w".to_vec());
        procs.add_child(root, t, (libc::CLONE_FS | libc::CLONE_FILES) as u64);
        {
            let task = procs.get_mut(t).expect("thread");
            task.fds.borrow_mut().insert(3, b"/a".to_vec(), true);
            task.fds.borrow_mut().insert(4, b"/b".to_vec(), false);
            *task.cwd.borrow_mut() = b"/t".to_vec();
        }
        procs.exec(root, t);
        assert!(procs.get_mut(t).is_none());
        let leader = procs.get_mut(root).expect("leader");
        assert_eq!(*leader.cwd.borrow(), b"/t");
        assert!(leader.fds.borrow().get(3).is_none());
        assert!(leader.fds.borrow().get(4).is_some());
    }
}
