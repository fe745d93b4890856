//! The process table: per-thread state of every tracee, owned by the tracer loop.
//!
//! Each traced thread is a [`Task`]. Its current directory and its fd table are shared values:
//! threads (and processes) created with `CLONE_FS` share one current directory, those created
//! with `CLONE_FILES` one fd table, exactly as in the kernel. `exec` unshares the fd table and
//! closes its close-on-exec fds. Threads of one process (`CLONE_THREAD`) share a [`Group`]: the
//! command instances the process started, ended when it exits. Every task carries its chain of
//! command instances and whether it is replaying; children inherit both. New children may report their first stop before their parent's
//! clone event: such stops are held ([`Procs::hold_early`]) until the event says who they are.
//! This module only keeps state; it never talks to a tracee (the `/proc` fallback for a child
//! whose parent is unknown is the one exception, and only reads).

use super::entry::Pending;
use super::probe;
use super::stop::Stopped;
use super::CmdId;
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
    /// Opened for writing (`O_WRONLY` or `O_RDWR`).
    pub(crate) writable: bool,
    /// How many changes the traced tree had made when it was opened (`Observer::changes`): a
    /// path relative to this fd is named from `spelled` only while nothing on the walk of
    /// `spelled` changed since (G33 in notes/model.md).
    pub(crate) mark: u64,
}

/// A file's identity: `(st_dev, st_ino)`.
pub(crate) type FileId = (u64, u64);

/// An fd table. Fds the table does not know (inherited, pipes) are looked up in `/proc`.
#[derive(Clone, Debug, Default)]
pub(crate) struct FdTable {
    fds: HashMap<i32, FdEntry>,
    /// Standard input was already classified since fd 0 last changed.
    stdin_checked: bool,
    /// The identities of fds 1 and 2 once looked up since they last changed (`Some(None)`: the
    /// fd is closed or cannot be looked at).
    std_ids: [Option<Option<FileId>>; 2],
}

impl FdTable {
    /// Returns what the table knows of `fd`.
    pub(crate) fn get(&self, fd: i32) -> Option<&FdEntry> {
        self.fds.get(&fd)
    }

    /// Records that `fd` now refers to `path` (spelled as its canonical path, looked up when
    /// the tree had made `mark` changes), read-only.
    pub(crate) fn insert(&mut self, fd: i32, path: Vec<u8>, cloexec: bool, mark: u64) {
        let spelled = path.clone();
        let entry = FdEntry { path, spelled, cloexec, listed: false, writable: false, mark };
        self.insert_entry(fd, entry);
    }

    /// Records that `fd` now refers to what `entry` describes.
    pub(crate) fn insert_entry(&mut self, fd: i32, entry: FdEntry) {
        self.changed(fd);
        self.fds.insert(fd, entry);
    }

    /// Records that `fd` was closed (or now refers to something without a path).
    pub(crate) fn remove(&mut self, fd: i32) {
        self.changed(fd);
        self.fds.remove(&fd);
    }

    /// Forgets what was derived from what `fd` referred to.
    fn changed(&mut self, fd: i32) {
        match fd {
            0 => self.stdin_checked = false,
            1 | 2 => self.std_ids[(fd - 1) as usize] = None,
            _ => {}
        }
    }

    /// Returns the cached identity of fd 1 or 2, if it was looked up since it last changed.
    pub(crate) fn std_id(&self, fd: i32) -> Option<Option<FileId>> {
        match fd {
            1 | 2 => self.std_ids[(fd - 1) as usize],
            _ => None,
        }
    }

    /// Caches the identity of fd 1 or 2.
    pub(crate) fn set_std_id(&mut self, fd: i32, id: Option<FileId>) {
        if let 1 | 2 = fd {
            self.std_ids[(fd - 1) as usize] = Some(id);
        }
    }

    /// The canonical paths of the fds opened for writing.
    fn writable(&self) -> impl Iterator<Item = &Vec<u8>> {
        self.fds.values().filter(|e| e.writable).map(|e| &e.path)
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
        t.std_ids = [None, None];
        t
    }
}

/// Whether a process runs the replay of a skipped command (notes/0006-nested.md).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) enum Replay {
    /// It runs its own program.
    #[default]
    No,
    /// Its exec was rewritten to the replay program and has not succeeded yet.
    Pending,
    /// It (or an ancestor) runs the replay program: it is not observed.
    Active,
}

/// What the threads of one process share.
#[derive(Debug, Default)]
pub(crate) struct Group {
    /// The command instances the process started by exec'ing, outermost first; they end when
    /// it exits.
    pub(crate) started: Vec<CmdId>,
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
    /// The command instances it belongs to, outermost first (always starts with 0).
    pub(crate) chain: Rc<[CmdId]>,
    /// Whether it is replaying.
    pub(crate) replay: Replay,
    /// Its process's shared state.
    pub(crate) group: Shared<Group>,
    /// Its process id (the thread-group leader's thread id).
    pub(crate) tgid: Pid,
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
            chain: Rc::from([0]),
            replay: Replay::No,
            group: Rc::default(),
            tgid: root,
        };
        Procs { tasks: HashMap::from([(root, task)]), early: HashMap::new() }
    }

    /// Returns the task `pid`, if traced.
    pub(crate) fn get_mut(&mut self, pid: Pid) -> Option<&mut Task> {
        self.tasks.get_mut(&pid)
    }

    /// Returns the task `pid`, if traced.
    pub(crate) fn get(&self, pid: Pid) -> Option<&Task> {
        self.tasks.get(&pid)
    }

    /// Forgets a task that exited; returns it.
    pub(crate) fn remove(&mut self, pid: Pid) -> Option<Task> {
        self.early.remove(&pid);
        self.tasks.remove(&pid)
    }

    /// The canonical paths open for writing in any fd table of the tree, sorted, once each.
    pub(crate) fn open_for_writing(&self) -> Vec<Vec<u8>> {
        let mut seen: Vec<*const RefCell<FdTable>> = Vec::new();
        let mut paths = Vec::new();
        for task in self.tasks.values() {
            let table = Rc::as_ptr(&task.fds);
            if seen.contains(&table) {
                continue;
            }
            seen.push(table);
            paths.extend(task.fds.borrow().writable().cloned());
        }
        paths.sort();
        paths.dedup();
        paths
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
        let thread = flags & libc::CLONE_THREAD as u64 != 0;
        let (cwd, fds, inherited) = match self.tasks.get(&parent) {
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
                let replay = if p.replay == Replay::Active { Replay::Active } else { Replay::No };
                let group = thread.then(|| (Rc::clone(&p.group), p.tgid));
                (cwd, fds, Some((Rc::clone(&p.chain), replay, group)))
            }
            None => {
                let cwd = probe::cwd(child).unwrap_or_else(|| b"/".to_vec());
                (Rc::new(RefCell::new(cwd)), Rc::default(), None)
            }
        };
        let (chain, replay, group) = inherited.unwrap_or_else(|| (Rc::from([0]), Replay::No, None));
        let (group, tgid) = group.unwrap_or_else(|| (Rc::default(), child));
        let early = self.early.remove(&child);
        let task = Task {
            cwd,
            fds,
            pending: None,
            nr: 0,
            awaiting_sigstop: early.is_none(),
            chain,
            replay,
            group,
            tgid,
        };
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
            task.tgid = pid;
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
        procs.get_mut(a).expect("a").fds.borrow_mut().insert(3, b"/f".to_vec(), true, 0);
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
            task.fds.borrow_mut().insert(3, b"/a".to_vec(), true, 0);
            task.fds.borrow_mut().insert(4, b"/b".to_vec(), false, 0);
            *task.cwd.borrow_mut() = b"/t".to_vec();
        }
        procs.exec(root, t);
        assert!(procs.get_mut(t).is_none());
        let leader = procs.get_mut(root).expect("leader");
        assert_eq!(*leader.cwd.borrow(), b"/t");
        assert!(leader.fds.borrow().get(3).is_none());
        assert!(leader.fds.borrow().get(4).is_some());
    }

    #[test]
    fn writable_fds_of_every_table_are_listed_once() {
        let (root, a, b) = (Pid::from_raw(1), Pid::from_raw(2), Pid::from_raw(3));
        let mut procs = Procs::new(root, b"/w".to_vec());
        procs.add_child(root, a, libc::CLONE_FILES as u64);
        procs.add_child(root, b, 0);
        let entry = |path: &[u8], writable| FdEntry {
            path: path.to_vec(),
            spelled: path.to_vec(),
            cloexec: false,
            listed: false,
            writable,
            mark: 0,
        };
        let fds = |p: &mut Procs, pid| Rc::clone(&p.get_mut(pid).expect("task").fds);
        fds(&mut procs, a).borrow_mut().insert_entry(3, entry(b"/out", true));
        fds(&mut procs, a).borrow_mut().insert_entry(4, entry(b"/in", false));
        fds(&mut procs, b).borrow_mut().insert_entry(5, entry(b"/out", true));
        fds(&mut procs, b).borrow_mut().insert_entry(6, entry(b"/log", true));
        assert_eq!(procs.open_for_writing(), [b"/log".to_vec(), b"/out".to_vec()]);
    }

    #[test]
    fn std_identities_are_forgotten_when_fds_1_and_2_change() {
        let mut t = FdTable::default();
        assert_eq!(t.std_id(1), None);
        t.set_std_id(1, Some((1, 2)));
        t.set_std_id(2, None);
        assert_eq!((t.std_id(1), t.std_id(2)), (Some(Some((1, 2))), Some(None)));
        t.remove(2);
        assert_eq!((t.std_id(1), t.std_id(2)), (Some(Some((1, 2))), None));
        t.insert(1, b"/f".to_vec(), true, 0);
        assert_eq!(t.std_id(1), None);
        t.set_std_id(1, Some((3, 4)));
        assert_eq!(t.after_exec().std_id(1), None);
    }

    #[test]
    fn threads_share_their_group_and_processes_inherit_chain_and_replay() {
        let (root, thread, child) = (Pid::from_raw(1), Pid::from_raw(2), Pid::from_raw(3));
        let mut procs = Procs::new(root, b"/w".to_vec());
        {
            let r = procs.get_mut(root).expect("root");
            r.chain = Rc::from([0, 7]);
            r.replay = Replay::Active;
        }
        let thread_flags = (libc::CLONE_THREAD | libc::CLONE_VM | libc::CLONE_FILES) as u64;
        procs.add_child(root, thread, thread_flags);
        procs.add_child(root, child, 0);
        let t = procs.get(thread).expect("thread");
        assert_eq!((t.tgid, &*t.chain, t.replay), (root, &[0, 7][..], Replay::Active));
        let r = procs.get(root).expect("root");
        assert!(Rc::ptr_eq(&t.group, &r.group));
        let c = procs.get(child).expect("child");
        assert_eq!((c.tgid, &*c.chain, c.replay), (child, &[0, 7][..], Replay::Active));
        assert!(!Rc::ptr_eq(&c.group, &r.group));
    }
}
