//! The live filesystem as a [`model::Fs`]: the kernel answers each per-directory lookup, and
//! the model's resolution algorithm (written once, in `model::resolve`) does the rest.
//!
//! A [`LiveNode`] is the node's absolute canonical path (no symlink in it: the model follows
//! symlinks itself, one component at a time) together with its `lstat`. Lookups are `lstat` of
//! `dir/name`, cached for the life of one [`LiveFs`]: a check touches shared prefixes (the project
//! root, `/usr/include`...) many times. A `LiveFs` is therefore a snapshot for one decision; make
//! a new one after anything may have changed the filesystem (a restore, a run).
//!
//! Content hashes go through [`Fingerprints`], so an unchanged file costs one `lstat` and is never
//! read. The same cache remembers names found absent from a directory: while the directory's
//! fingerprint is unchanged, such a name costs no `lstat` at all (notes/0010-absent-names.md).
//! That holds only on filesystems that change a directory's times with its entries, so it is used
//! only on the local disk filesystems listed in [`keeps_directory_times`]. A directory looked in
//! twice is opened, and later lookups in it are relative to it (one component for the kernel to
//! walk instead of the whole path). This module reads user files and never writes them.
//!
//! Limit: the kernel walks a path one component at a time, while the first lookup in a directory
//! (`lstat(dir/name)`, before the directory is open) hands it the whole canonical path, so a
//! canonical path longer than `PATH_MAX` fails there with `ENAMETOOLONG` where the command itself
//! may have succeeded; the directory cannot be opened by that path either. The check then fails,
//! and the command runs: safe, only slower.

use super::dir_times::keeps_directory_times;
use super::dryignore::DryIgnore;
use super::fed::{Fed, Plan};
use super::fingerprint::Fingerprints;
use super::listing::{listing_hash, read_names, Listed};
use super::lstat::{errno_of, lstat, lstat_at, Lstat, Stat};
use super::prefetch::Ahead;
use model::fast_hash::FastMap;
use model::fingerprint::Fingerprint;
use model::fs::{FileKind, Fs, Meta};
use model::view::PredicateView;
use model::{Errno, Hash};
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::borrow::Borrow;
use std::cell::{Cell, RefCell};
use std::collections::hash_map::Entry;
use std::ffi::OsStr;
use std::ops::Deref;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::rc::Rc;

/// A node's number in the snapshot, or the error that reaching it met.
type NodeId = Result<u32, Errno>;

/// Where a directory part led: the node's number and the symlinks followed, or the error.
type DirPart = Result<(u32, u32), Errno>;

/// One file of the live filesystem: its canonical absolute path and its `lstat`.
#[derive(Clone, Debug)]
pub struct LiveNode {
    /// Its number in the snapshot's node table.
    id: u32,
    path: Rc<[u8]>,
    stat: Result<Stat, Errno>,
}

impl LiveNode {
    /// Returns the node's absolute canonical path (no symlink, `.` or `..` in it).
    pub fn path(&self) -> &[u8] {
        &self.path
    }

    /// Returns what `lstat` said of the node: its metadata and fingerprint.
    #[cfg(test)]
    pub(crate) fn stat(&self) -> Result<(Meta, Fingerprint), Errno> {
        self.stat.map(|s| s.of())
    }
}

/// A name looked up in a directory, as its key in the directory's answers: the last component
/// of the child's path when the lookup found a node (so the name costs no allocation of its
/// own: a check of 100 000 files makes 100 000 of them), the name alone otherwise. Hashes and
/// compares as the name's bytes, so the map is probed with a plain `&[u8]`.
#[derive(Clone)]
struct ChildName {
    text: Rc<[u8]>,
    /// Where the name starts in `text`.
    start: u32,
}

impl ChildName {
    /// The key for `name`, the tail of `path` if it ends with it (and fits the offset).
    fn new(path: &Rc<[u8]>, name: &[u8]) -> ChildName {
        let start = path.len().checked_sub(name.len()).and_then(|s| u32::try_from(s).ok());
        match start {
            Some(start) if path.ends_with(name) => ChildName { text: Rc::clone(path), start },
            _ => ChildName::own(name),
        }
    }

    /// The key for `name` on its own (a lookup that found no node).
    fn own(name: &[u8]) -> ChildName {
        ChildName { text: Rc::from(name), start: 0 }
    }

    fn name(&self) -> &[u8] {
        &self.text[self.start as usize..]
    }
}

impl Borrow<[u8]> for ChildName {
    fn borrow(&self) -> &[u8] {
        self.name()
    }
}

impl PartialEq for ChildName {
    fn eq(&self, other: &ChildName) -> bool {
        self.name() == other.name()
    }
}

impl Eq for ChildName {}

impl std::hash::Hash for ChildName {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // As `[u8]` hashes, which `Borrow` requires: lookups are made with the bare name.
        self.name().hash(state)
    }
}

/// What a snapshot knows of one node it reached: the parent it was reached from, and what
/// was looked up in it if it is a directory.
///
/// A check of 100 000 files makes 100 000 of these, written once each into fresh memory: what
/// only a directory needs is behind a box, so a file's costs 128 bytes instead of 160.
struct Known {
    node: LiveNode,
    parent: u32,
    /// The hash the stored fingerprint table holds for the file as `lstat` found it, if a
    /// prefetch looked it up (`check::prefetch::Ahead`).
    stored_hash: Option<Hash>,
    /// The lookups made in this node, once there is one.
    dir: Option<Box<Looked>>,
}

/// The lookups made in one directory.
#[derive(Default)]
struct Looked {
    /// `Ok(Some(id))`: that node; `Ok(None)`: absent; `Err`: the kernel's error.
    children: FastMap<ChildName, Result<Option<u32>, Errno>>,
    /// How many names were looked up in this directory with the kernel's help.
    with_kernel: u32,
    /// The directory itself, opened (`O_PATH`) at its second lookup: a lookup relative to it
    /// costs the kernel one component instead of the whole path (see [`MAX_DIR_FDS`]).
    fd: Option<OwnedFd>,
}

impl Known {
    /// A node reached from `parent`, nothing looked up in it yet.
    fn new(node: LiveNode, parent: u32, stored_hash: Option<Hash>) -> Known {
        Known { node, parent, stored_hash, dir: None }
    }

    /// What `name` was found to be in this node, if it was looked up.
    fn child(&self, name: &[u8]) -> Option<Result<Option<u32>, Errno>> {
        self.dir.as_ref()?.children.get(name).copied()
    }

    /// The lookups made in this node, made room for.
    fn looked(&mut self) -> &mut Looked {
        self.dir.get_or_insert_with(Box::default)
    }
}

/// How many directories one snapshot keeps open for lookups relative to them. A lookup by
/// absolute path walks every component again: on the benchmark VM `lstat` of a file 7
/// directories deep costs 2.6–3.3 µs by absolute path and 1.6–2.1 µs relative to an open
/// directory (benches/statfloor.c). A directory is opened at its second lookup (opening costs
/// about one lookup), and no more than this many, far below any file descriptor limit.
pub(crate) const MAX_DIR_FDS: usize = 256;

/// The real filesystem, seen through cached `lstat` calls and the fingerprint cache.
///
/// The snapshot is a tree of the nodes reached, rooted at `/` (canonical paths form a tree, so
/// each path has one node): a lookup that was made before costs one map probe by name in its
/// directory, and only a new one builds a path and calls `lstat`.
pub struct LiveFs<'a> {
    nodes: RefCell<Vec<Known>>,
    /// Where each base directory of a relative resolution led (a function of the snapshot).
    starts: RefCell<FastMap<Box<[u8]>, NodeId>>,
    /// Where each directory part of a path led, with the symlinks followed on the way, keyed
    /// by the absolute directory part, or by base, NUL, relative directory part.
    dirs: RefCell<FastMap<Box<[u8]>, DirPart>>,
    /// What `readlink` answered for each symlink node asked, by node (once per snapshot).
    targets: RefCell<FastMap<u32, Result<Vec<u8>, Errno>>>,
    /// A buffer for building the key of a relative directory part (see `dir_part`).
    key_buf: RefCell<Vec<u8>>,
    /// The node the last lookup found, where [`LiveFs::guess`] looks first.
    last_found: Cell<u32>,
    /// Listings read ahead by a prefetch, by node, until the check asks for them.
    listings: RefCell<FastMap<u32, Listed>>,
    /// Per device: whether its filesystem changes a directory's times with its entries.
    honest_dirs: RefCell<FastMap<u64, bool>>,
    /// How many directories this snapshot holds open (at most [`MAX_DIR_FDS`]).
    dir_fds: Cell<usize>,
    lstats: Cell<usize>,
    /// How many listings this snapshot read itself (not read ahead).
    lists: Cell<usize>,
    fingerprints: RefCell<&'a mut Fingerprints>,
    /// The names listings leave out (`.dryignore`), if any.
    dryignore: Option<&'a DryIgnore>,
}

impl<'a> LiveFs<'a> {
    /// Returns a fresh snapshot of the live filesystem hashing content through `fingerprints`.
    pub fn new(fingerprints: &'a mut Fingerprints) -> LiveFs<'a> {
        let root: Rc<[u8]> = Rc::from(&b"/"[..]);
        let stat = match lstat(&root) {
            Ok(Some(stat)) => Ok(stat),
            Ok(None) => Err(Errno::ENOENT),
            Err(e) => Err(e),
        };
        let root = Known::new(LiveNode { id: 0, path: root, stat }, 0, None);
        LiveFs {
            nodes: RefCell::new(vec![root]),
            starts: RefCell::new(FastMap::default()),
            dirs: RefCell::new(FastMap::default()),
            targets: RefCell::new(FastMap::default()),
            key_buf: RefCell::new(Vec::new()),
            last_found: Cell::new(0),
            listings: RefCell::new(FastMap::default()),
            honest_dirs: RefCell::new(FastMap::default()),
            dir_fds: Cell::new(0),
            lstats: Cell::new(1),
            lists: Cell::new(0),
            fingerprints: RefCell::new(fingerprints),
            dryignore: None,
        }
    }

    /// Returns this snapshot leaving the names `rules` ignore out of listings of the
    /// project's directories (`Fs::leaves_out`); `None` leaves out nothing, as before.
    pub fn leaving_out(self, rules: Option<&'a DryIgnore>) -> LiveFs<'a> {
        LiveFs { dryignore: rules, ..self }
    }

    /// Returns the rules this snapshot leaves names out of listings by, if any.
    pub fn dryignore(&self) -> Option<&'a DryIgnore> {
        self.dryignore
    }

    /// Returns how many directories this snapshot holds open for relative lookups.
    pub fn open_dirs(&self) -> usize {
        self.dir_fds.get()
    }

    /// Returns how many `lstat` calls this snapshot made (cache misses), for tests and `-v`.
    pub fn lstat_count(&self) -> usize {
        self.lstats.get()
    }

    /// Returns how many directories this snapshot listed itself (not read ahead), for tests.
    pub fn list_count(&self) -> usize {
        self.lists.get()
    }

    /// Returns the kind and modification time (ns since the epoch) of the file `path` leads to
    /// (its last component followed if `follow`), as this snapshot sees it: a path the check
    /// already walked costs no `lstat`. `None` if it leads nowhere.
    pub fn kind_and_mtime_ns(&self, path: &[u8], follow: bool) -> Option<(FileKind, i64)> {
        use model::resolve::{resolve, ResolveFlags, Resolved};
        let flags = if follow { ResolveFlags::FOLLOW } else { ResolveFlags::NOFOLLOW };
        match resolve(self, b"/", path, flags) {
            Ok(Resolved::Node(n)) => n.stat.ok().map(|s| (s.meta.kind, s.fingerprint.mtime_ns)),
            _ => None,
        }
    }

    /// Returns how many listings read ahead no `list` has taken yet, for tests.
    #[cfg(test)]
    pub(crate) fn listings_unused(&self) -> usize {
        self.listings.borrow().len()
    }

    /// Runs `check` over `predicates` (handed to it in order) while the `lstat`s of the
    /// content, metadata and resolution paths among them are taken on the other cores, with
    /// the listings they name (see `check::prefetch`). Before `check` is handed a predicate,
    /// every path it names that was taken ahead has its answer in this snapshot, so the walk
    /// finds it there instead of asking the kernel; taking and walking overlap. This changes
    /// when the kernel is asked, never what a check decides: each path is still looked up once
    /// per snapshot, by whichever comes first. A check of fewer than 2 048 paths
    /// (`check::prefetch::MIN_PATHS`) takes nothing ahead.
    pub fn checking<'p, N, I, R>(
        &self,
        predicates: I,
        check: impl FnOnce(&mut dyn Iterator<Item = PredicateView<'p, N>>) -> R,
    ) -> R
    where
        N: Deref<Target = [u8]> + 'p,
        I: Iterator<Item = PredicateView<'p, N>> + Clone,
    {
        let mut predicates = predicates;
        let Some(plan) = self.plan_ahead(predicates.clone()) else {
            return check(&mut predicates);
        };
        let table = self.fingerprints.borrow().table();
        // Room for every answer is made at once, not by doubling as they arrive.
        self.nodes.borrow_mut().reserve(plan.paths.len());
        super::prefetch::streamed(&plan.paths, &plan.dirs, table.as_deref(), |stream| {
            let mut fed = Fed::new(self, predicates, stream, &plan);
            check(&mut fed)
        })
    }

    /// Takes the `lstat`s [`LiveFs::checking`] would take ahead for `predicates`, all of them,
    /// before returning: the snapshot then holds every answer a check of them will look up.
    #[cfg(test)]
    pub(crate) fn prefetch<'p, N, I>(&self, predicates: I)
    where
        N: Deref<Target = [u8]> + 'p,
        I: IntoIterator<Item = PredicateView<'p, N>>,
        I::IntoIter: Clone,
    {
        self.checking(predicates.into_iter(), |p| p.for_each(drop));
    }

    /// What [`LiveFs::checking`] takes ahead for `predicates`: nothing if they name too few
    /// paths to be worth it.
    fn plan_ahead<'p, N: Deref<Target = [u8]> + 'p>(
        &self,
        predicates: impl Iterator<Item = PredicateView<'p, N>>,
    ) -> Option<Plan<'p>> {
        // Too few to be worth it: known without building the set of paths.
        if predicates.size_hint().1.is_some_and(|n| n < super::prefetch::MIN_PATHS) {
            return None;
        }
        let (mut paths, dirs) = super::prefetch::paths_of(predicates);
        if paths.len() < super::prefetch::MIN_PATHS {
            return None;
        }
        // A path under a symlinked top directory (`/lib -> usr/lib` on merged-/usr systems) is
        // never built by a walk, which goes through the target: its lstat would be wasted. The
        // top directories are looked up in the snapshot itself (a few lookups, needed anyway).
        let root = self.root();
        let mut walkable: FastMap<&[u8], bool> = FastMap::default();
        let mut last: Option<(&[u8], bool)> = None;
        paths.retain(|(p, _)| {
            let top = p[1..].split(|&b| b == b'/').next().unwrap_or_default();
            // Most paths share the top directory of the one before: no probe for them.
            if let Some((_, keep)) = last.filter(|(t, _)| *t == top) {
                return keep;
            }
            let keep = *walkable.entry(top).or_insert_with(|| {
                matches!(self.lookup(&root, top), Ok(Some(n)) if n.stat.is_ok_and(|s| s.meta.kind == FileKind::Directory))
            });
            last = Some((top, keep));
            keep
        });
        let (paths, first_use) = paths.into_iter().unzip();
        // A directory whose listing is remembered at its fingerprint now is not read ahead:
        // the check compares hashes, and reads it itself only if they differ.
        let remembered =
            |d: &[u8]| self.plain_dir(d).is_some_and(|n| self.known_listing(&n).is_some());
        let dirs = dirs.into_iter().map(|(d, _)| d).filter(|d| !remembered(d)).collect();
        Some(Plan { paths, first_use, dirs })
    }

    /// Makes `answers`, the prefetch's `lstat`s of the first paths of `paths` (in order; the
    /// rest are the plan's paths still to come), this snapshot's answers of those lookups, as
    /// if the walk had made them now: each its name in its directory's node. The parent is
    /// found once per run of paths in the same directory; one that is not a directory reached
    /// without a symlink (a path only a walk through a link reaches) keeps none of its
    /// children's answers. A lookup the walk made already keeps the walk's answer.
    ///
    /// The paths of the nodes found are copied first, all in one loop: the path bytes were
    /// last read on another core, and a copy between map insertions waited for each in turn
    /// (a seventh of the check's main thread at 100 000 inputs), where copies in a row wait
    /// for several at once.
    pub(super) fn settle_ahead(&self, paths: &[&[u8]], answers: Vec<Ahead>) {
        self.lstats.set(self.lstats.get() + answers.len());
        let mut parent_at: Option<(&[u8], Option<LiveNode>)> = None;
        let answered = answers.len().min(paths.len());
        let copies: Vec<Option<Rc<[u8]>>> = (paths.iter().zip(&answers))
            .map(|(path, answer)| matches!(answer.stat, Ok(Some(_))).then(|| Rc::from(*path)))
            .collect();
        for (i, ((path, answer), copy)) in paths.iter().zip(answers).zip(copies).enumerate() {
            let (parent, name) = super::prefetch::split_parent(path);
            if parent_at.as_ref().is_none_or(|(p, _)| *p != parent) {
                let dir = self.plain_dir(parent);
                if let Some(dir) = &dir {
                    self.make_room(dir, parent, &paths[i..], answered - i);
                }
                parent_at = Some((parent, dir));
            }
            if let Some((_, Some(dir))) = &parent_at {
                // `dir`'s path is `parent`, so the child's path is `path`.
                let (stat, stored) = (answer.stat, answer.stored_hash);
                let _ = match copy {
                    Some(path) => self.settle(dir, name, path, stat, stored),
                    None => self.settle(dir, name, *path, stat, stored),
                };
            }
        }
    }

    /// Makes room in `dir` (the node of `parent`) for the answers of the run of `paths` in it
    /// that starts the slice, if the first `answered` of them do not fit: room for the whole
    /// run in the plan at once (`paths` goes to the plan's end), so that a directory of 100 000
    /// answers settled chunk by chunk is not grown, and every name in it hashed again, 7 times.
    fn make_room(&self, dir: &LiveNode, parent: &[u8], paths: &[&[u8]], answered: usize) {
        let in_dir = |p: &&&[u8]| super::prefetch::split_parent(p).0 == parent;
        let mut nodes = self.nodes.borrow_mut();
        let children = &mut nodes[dir.id as usize].looked().children;
        let now = paths[..answered].iter().take_while(in_dir).count();
        if children.capacity() - children.len() < now {
            let run = now + paths[answered..].iter().take_while(in_dir).count();
            children.reserve(run);
        }
    }

    /// Makes `listings`, read ahead, the answers of the first `list` of each of `dirs`.
    pub(super) fn settle_listings(&self, dirs: &[&[u8]], listings: Vec<Listed>) {
        for (dir, listing) in dirs.iter().zip(listings) {
            if let Some(node) = self.plain_dir(dir) {
                self.listings.borrow_mut().entry(node.id).or_insert(listing);
            }
        }
    }

    /// Returns the node of the plain absolute directory path `dir` (empty for the root) if
    /// every component is a directory, reached in this snapshot; `None` otherwise.
    fn plain_dir(&self, dir: &[u8]) -> Option<LiveNode> {
        let mut node = self.root();
        for name in dir.split(|&b| b == b'/').skip(1) {
            node = self.lookup(&node, name).ok().flatten()?;
            if node.stat.ok()?.meta.kind != FileKind::Directory {
                return None;
            }
        }
        Some(node)
    }

    /// Records `answer` as the lookup of `name` in `dir` (whose child path is `path`), with the
    /// stored table's hash of the file if a prefetch found it, unless `dir` holds an answer for
    /// `name` already, and returns what `dir` holds for it then. One probe of the directory's
    /// map: the key is made first (from the new node's path when the answer is a node).
    fn settle(
        &self,
        dir: &LiveNode,
        name: &[u8],
        path: impl Into<Rc<[u8]>>,
        answer: Lstat,
        stored_hash: Option<Hash>,
    ) -> Result<Option<LiveNode>, Errno> {
        let mut nodes = self.nodes.borrow_mut();
        let id = u32::try_from(nodes.len()).map_err(|_| Errno(nix::libc::ENOMEM))?;
        let (key, known, new) = match answer {
            Ok(Some(stat)) => {
                let node = LiveNode { id, path: path.into(), stat: Ok(stat) };
                (ChildName::new(&node.path, name), Ok(Some(id)), Some(node))
            }
            Ok(None) => (ChildName::own(name), Ok(None), None),
            Err(e) => (ChildName::own(name), Err(e), None),
        };
        match nodes[dir.id as usize].looked().children.entry(key) {
            Entry::Occupied(held) => {
                let held = *held.get();
                return held.map(|child| child.map(|id| nodes[id as usize].node.clone()));
            }
            Entry::Vacant(room) => {
                room.insert(known);
            }
        }
        let Some(node) = new else { return known.map(|_| None) };
        nodes.push(Known::new(node.clone(), dir.id, stored_hash));
        Ok(Some(node))
    }

    /// The answer of looking `name` up in `dir`, if it is the node the last lookup found or the
    /// node made after it, without hashing `name` into the directory's map: a check looks up
    /// the inputs of a command in the order they were settled, each twice in a row (by its
    /// relative path, then by its absolute one), so one of the two is nearly always it. Exact:
    /// a node other than the root is the child of its parent under the last component of its
    /// path, and a directory's map holds each name once, so a node whose parent is `dir` and
    /// whose path ends in `/name` is what the map holds for `name`.
    fn guess(&self, nodes: &[Known], dir: &LiveNode, name: &[u8]) -> Option<LiveNode> {
        let last = self.last_found.get() as usize;
        let is_it = |known: &&Known| {
            let path = known.node.path();
            known.node.id != 0
                && known.parent == dir.id
                && path.len() > name.len()
                && path.ends_with(name)
                && path[path.len() - name.len() - 1] == b'/'
        };
        let found = nodes.get(last).filter(is_it).or_else(|| nodes.get(last + 1).filter(is_it))?;
        self.last_found.set(found.node.id);
        Some(found.node.clone())
    }

    fn node(&self, id: u32) -> LiveNode {
        self.nodes.borrow()[id as usize].node.clone()
    }

    /// Returns `dir`'s fingerprint if absent names and listings may be remembered by it: `dir`
    /// is a directory on a filesystem that changes a directory's times with its entries.
    fn times_witness(&self, dir: &LiveNode) -> Option<Fingerprint> {
        let stat = dir.stat.ok().filter(|s| s.meta.kind == FileKind::Directory)?;
        let dev = stat.fingerprint.dev;
        let honest = *self
            .honest_dirs
            .borrow_mut()
            .entry(dev)
            .or_insert_with(|| keeps_directory_times(&dir.path));
        honest.then_some(stat.fingerprint)
    }

    /// The hash of the listing remembered for directory `dir` at its fingerprint in this
    /// snapshot, if there is one (see `Fingerprints::known_listing`).
    fn known_listing(&self, dir: &LiveNode) -> Option<Hash> {
        let fp = self.times_witness(dir)?;
        self.fingerprints.borrow().known_listing(&dir.path, fp)
    }

    /// Answers the lookup of `name` in `dir` (whose child path is `path`) from the kernel, or
    /// from the fingerprint cache if the name is known absent from the unchanged directory.
    fn lstat_child(&self, dir: &LiveNode, name: &[u8], path: &[u8]) -> Lstat {
        let witness = self.times_witness(dir);
        if let Some(fp) = witness {
            if self.fingerprints.borrow().known_absent(&dir.path, fp, name) {
                return Ok(None);
            }
        }
        self.lstats.set(self.lstats.get() + 1);
        let answer = self.lstat_in(dir, name, path);
        if let (Ok(None), Some(fp)) = (&answer, witness) {
            self.fingerprints.borrow_mut().note_absent(&dir.path, fp, name);
        }
        answer
    }

    /// `lstat`s `name` in `dir` (whose child path is `path`): relative to the directory once it
    /// is open, by absolute path before (and whenever it cannot be opened).
    fn lstat_in(&self, dir: &LiveNode, name: &[u8], path: &[u8]) -> Lstat {
        let mut nodes = self.nodes.borrow_mut();
        let known = nodes[dir.id as usize].looked();
        known.with_kernel = known.with_kernel.saturating_add(1);
        if known.fd.is_none() && known.with_kernel == 2 && self.dir_fds.get() < MAX_DIR_FDS {
            // O_NOFOLLOW: `dir.path` is canonical, its last component a directory; if that is
            // no longer so, the absolute path answers (as it did before the directory was open).
            let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
            if let Ok(fd) = nix::fcntl::open(OsStr::from_bytes(&dir.path), flags, Mode::empty()) {
                known.fd = Some(fd);
                self.dir_fds.set(self.dir_fds.get() + 1);
            }
        }
        match &known.fd {
            Some(fd) => lstat_at(fd, name),
            None => lstat(path),
        }
    }
}

impl Fs for LiveFs<'_> {
    type Node = LiveNode;

    fn root(&self) -> LiveNode {
        self.node(0)
    }

    fn lookup(&self, dir: &LiveNode, name: &[u8]) -> Result<Option<LiveNode>, Errno> {
        {
            let nodes = self.nodes.borrow();
            if let Some(node) = self.guess(&nodes, dir, name) {
                return Ok(Some(node));
            }
            if let Some(known) = nodes[dir.id as usize].child(name) {
                return known.map(|child| {
                    child.map(|id| {
                        self.last_found.set(id);
                        nodes[id as usize].node.clone()
                    })
                });
            }
        }
        let mut path = Vec::with_capacity(dir.path.len() + 1 + name.len());
        path.extend_from_slice(&dir.path);
        if !path.ends_with(b"/") {
            path.push(b'/');
        }
        path.extend_from_slice(name);
        let answer = self.lstat_child(dir, name, &path);
        let found = self.settle(dir, name, &path[..], answer, None);
        if let Ok(Some(node)) = &found {
            self.last_found.set(node.id);
        }
        found
    }

    fn parent(&self, dir: &LiveNode) -> LiveNode {
        let parent = self.nodes.borrow()[dir.id as usize].parent;
        self.node(parent)
    }

    fn meta(&self, node: &LiveNode) -> Result<Meta, Errno> {
        node.stat.map(|s| s.meta)
    }

    fn read_link(&self, node: &LiveNode) -> Result<Vec<u8>, Errno> {
        // Once per snapshot, like the lstat: `/lib -> usr/lib` is met by every library path.
        if let Some(known) = self.targets.borrow().get(&node.id) {
            return known.clone();
        }
        let target = match std::fs::read_link(OsStr::from_bytes(&node.path)) {
            Ok(target) => Ok(target.into_os_string().into_vec()),
            Err(e) => Err(errno_of(&e)),
        };
        self.targets.borrow_mut().insert(node.id, target.clone());
        target
    }

    fn content_hash(&self, node: &LiveNode) -> Result<Hash, Errno> {
        let stat = node.stat?;
        if stat.meta.kind != FileKind::Regular {
            return Err(if stat.meta.kind == FileKind::Directory {
                Errno::EISDIR
            } else {
                Errno::EINVAL
            });
        }
        let path = Path::new(OsStr::from_bytes(&node.path));
        let stored = self.nodes.borrow()[node.id as usize].stored_hash;
        let mut fingerprints = self.fingerprints.borrow_mut();
        match stored {
            Some(hash) => fingerprints.hash_with_stored(path, stat.fingerprint, hash),
            None => fingerprints.hash_with_fingerprint(path, stat.fingerprint),
        }
        .map_err(|e| errno_of(&e))
    }

    fn identity(&self, node: &LiveNode) -> Result<(u64, u64), Errno> {
        node.stat.map(|s| (s.fingerprint.dev, s.fingerprint.ino))
    }

    fn grants(&self, node: &LiveNode, want: u32) -> Result<bool, Errno> {
        // Asked only where an open was refused (`Predicate::Access`): the question the tracer
        // asked when it recorded the refusal.
        crate::trace::grants(&node.path, want)
    }

    fn link_count(&self, node: &LiveNode) -> Result<u64, Errno> {
        // Asked only of files a command wrote in place (`Predicate::Links`): one lstat, not
        // kept in the snapshot's compact stat.
        use std::os::unix::fs::MetadataExt;
        std::fs::symlink_metadata(OsStr::from_bytes(&node.path))
            .map(|m| m.nlink())
            .map_err(|e| errno_of(&e))
    }

    fn start_dir(&self, base: &[u8]) -> Result<LiveNode, Errno> {
        // Every answer the walk depends on is cached in this snapshot, so walking `base` again
        // would reach the same node: remember it (a relative input re-walked the cwd).
        if let Some(known) = self.starts.borrow().get(base) {
            return known.map(|id| self.node(id));
        }
        let found = model::resolve::start_dir(self, base);
        self.starts.borrow_mut().insert(base.into(), found.as_ref().map(|n| n.id).map_err(|e| *e));
        found
    }

    fn dir_part(&self, base: &[u8], dir: &[u8]) -> Result<(LiveNode, u32), Errno> {
        // As `start_dir`: a function of the snapshot. `/usr/include/x86_64-linux-gnu/bits` is
        // the directory part of dozens of paths; it is walked once.
        // The key of a relative one is built in a reused buffer: every relative input of a
        // check asks (`files/f000001 resolves`), and only the first of each directory inserts.
        let key: Box<[u8]> = {
            let mut buf = self.key_buf.borrow_mut();
            let key: &[u8] = if dir.first() == Some(&b'/') {
                dir
            } else {
                buf.clear();
                buf.extend_from_slice(base);
                buf.push(0);
                buf.extend_from_slice(dir);
                &buf
            };
            if let Some(known) = self.dirs.borrow().get(key) {
                return known.map(|(id, links)| (self.node(id), links));
            }
            key.into()
        };
        let found = model::resolve::dir_part(self, base, dir);
        let remembered = found.as_ref().map(|(n, links)| (n.id, *links)).map_err(|e| *e);
        self.dirs.borrow_mut().insert(key, remembered);
        found
    }

    fn list(&self, node: &LiveNode) -> Result<Vec<Vec<u8>>, Errno> {
        // A listing read ahead answers the first `list` of its node; any later one reads again.
        let witness = self.times_witness(node);
        let ahead = self.listings.borrow_mut().remove(&node.id);
        let (before, names) = ahead.unwrap_or_else(|| {
            self.lists.set(self.lists.get() + 1);
            // The snapshot took the node's fingerprint before this read.
            (witness, read_names(&node.path))
        });
        // Remembered only if the fingerprint taken before the read is the snapshot's: a
        // listing read ahead of a directory that changed since is not the one it vouches for.
        if let (Some(fp), Ok(names)) = (witness.filter(|fp| before == Some(*fp)), &names) {
            let hash = listing_hash(names.iter().map(Vec::as_slice));
            self.fingerprints.borrow_mut().note_listing(&node.path, fp, hash);
        }
        names
    }

    fn vouches_for_listing(&self, node: &LiveNode, names: &[&[u8]]) -> bool {
        // The remembered hash is of every name (`.dryignore` or not): the same hash is the
        // same list, which holds under any rules.
        self.known_listing(node).is_some_and(|hash| hash == listing_hash(names.iter().copied()))
    }

    fn leaves_out(&self, dir: &LiveNode, name: &[u8]) -> bool {
        let Some(rules) = self.dryignore.filter(|r| r.covers(&dir.path)) else { return false };
        // Whether it is a directory now (`tmp/` ignores only those), found as any lookup is.
        let is_dir = match self.lookup(dir, name) {
            Ok(Some(node)) => Some(node.stat.is_ok_and(|s| s.meta.kind == FileKind::Directory)),
            Ok(None) | Err(_) => None,
        };
        rules.leaves_out(&dir.path, name, is_dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The guess from the last lookup answers only for that directory and that whole name:
    /// the same name in another directory, or a name that is the tail of another, is looked
    /// up for itself.
    #[test]
    fn a_lookup_finds_its_own_node_whatever_was_looked_up_before() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        for sub in ["a", "b"] {
            std::fs::create_dir(d.join(sub)).expect("mkdir");
            for name in ["x", "ax", "xa"] {
                std::fs::write(d.join(sub).join(name), format!("{sub}/{name}")).expect("write");
            }
        }
        let mut fps = Fingerprints::new();
        let live = LiveFs::new(&mut fps);
        let base = d.as_os_str().as_bytes();
        let dir_of = |sub: &str| {
            let path = [base, b"/", sub.as_bytes()].concat();
            model::resolve::dir_part(&live, b"/", &path).expect("dir").0
        };
        let (a, b) = (dir_of("a"), dir_of("b"));
        let order = [(&a, "ax"), (&a, "x"), (&b, "x"), (&a, "x"), (&b, "xa"), (&b, "ax")];
        for _ in 0..2 {
            for (dir, name) in order {
                let node = live.lookup(dir, name.as_bytes()).expect("lookup").expect("found");
                let expected = [&dir.path[..], b"/", name.as_bytes()].concat();
                assert_eq!(node.path(), &expected[..], "{name}");
                assert!(matches!(live.lookup(dir, b"absent"), Ok(None)));
            }
        }
    }

    /// An answer taken ahead settles only a name the snapshot has no answer for: one the walk
    /// looked up already keeps the walk's node (a snapshot answers each path once), and the
    /// others get the answers handed in, even where the file has changed since (`gone` is
    /// there, but was absent when taken).
    #[test]
    fn an_answer_taken_ahead_never_replaces_the_walks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        for name in ["seen", "gone"] {
            std::fs::write(d.join(name), name).expect("write");
        }
        let mut fps = Fingerprints::new();
        let live = LiveFs::new(&mut fps);
        let base = d.as_os_str().as_bytes();
        let path = |name: &str| [base, b"/", name.as_bytes()].concat();
        let parent = model::resolve::dir_part(&live, b"/", base).expect("dir").0;
        let walked = live.lookup(&parent, b"seen").expect("lookup").expect("found");
        let stat_of = |name: &str| lstat(&path(name));
        let seen_ahead = stat_of("gone");
        let (seen, gone, new) = (path("seen"), path("gone"), path("new"));
        let answers =
            [seen_ahead, Ok(None), Ok(None)].map(|stat| Ahead { stat, stored_hash: None }).to_vec();
        live.settle_ahead(&[&seen[..], &gone[..], &new[..]], answers);
        let held = live.nodes.borrow()[parent.id as usize].child(b"seen");
        assert_eq!(held, Some(Ok(Some(walked.id))), "the walk's answer stays");
        let again = live.lookup(&parent, b"seen").expect("lookup").expect("found");
        assert_eq!((again.id, again.stat), (walked.id, walked.stat));
        assert!(matches!(live.lookup(&parent, b"gone"), Ok(None)), "as settled, not as it is");
        assert!(matches!(live.lookup(&parent, b"new"), Ok(None)), "settled absent");
        let before = live.lstat_count();
        let _ = live.lookup(&parent, b"seen");
        assert_eq!(live.lstat_count(), before, "no lstat for a settled name");
    }

    #[test]
    fn a_child_name_is_found_by_the_bare_name_whether_it_borrows_the_path_or_not() {
        let path: Rc<[u8]> = Rc::from(&b"/usr/include/stdio.h"[..]);
        let tail = ChildName::new(&path, b"stdio.h");
        assert!(Rc::ptr_eq(&tail.text, &path), "a found node's name shares its path");
        let own = ChildName::new(&path, b"stdlib.h");
        assert_eq!(own.name(), b"stdlib.h", "a name that is not the path's tail is its own");
        let long = ChildName::new(&Rc::from(&b"/a"[..]), b"longer than the path");
        assert_eq!(long.name(), b"longer than the path");
        let mut map: FastMap<ChildName, u32> = FastMap::default();
        map.insert(tail, 1);
        map.insert(own, 2);
        map.insert(long, 3);
        assert_eq!(map.get(&b"stdio.h"[..]), Some(&1));
        assert_eq!(map.get(&b"stdlib.h"[..]), Some(&2));
        assert_eq!(map.get(&b"longer than the path"[..]), Some(&3));
        assert_eq!(map.get(&b"include/stdio.h"[..]), None);
        assert_eq!(map.get(&b"stdio"[..]), None);
    }
}
