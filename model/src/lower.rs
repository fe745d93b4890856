//! Lowering: from the observations of one run to its predicates and effects (SPEC §3).
//!
//! [`Lowering`] is a state machine fed one [`Observation`] at a time. It keeps the first
//! observation of each fact, drops observations of paths the run itself had already changed
//! (a read of its own write is not an input), drops `/proc`, `/sys` and `/dev`, and marks the run
//! uncacheable on randomness, sockets and interactive standard input. When the run has ended,
//! [`Lowering::finish`] turns the changed paths and their final states into effects.

use crate::effect::Effect;
use crate::entry::Uncacheable;
use crate::fast_hash::FastSet;
use crate::fs::FileKind;
use crate::hash::Hash;
use crate::observe::{At, Observation};
use crate::path;
use crate::predicate::Predicate;
use crate::resolve::ResolveFlags;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

/// How a path outside the model's concern is treated.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PathClass {
    /// An ordinary path: observations are predicates, changes are effects.
    Ordinary,
    /// Under `/proc`, `/sys` or `/dev`: never a predicate, never an effect.
    Pseudo,
    /// A source of randomness: reading it makes the run uncacheable.
    Random,
}

/// Classifies an absolute normalised path.
pub fn classify(abs: &[u8]) -> PathClass {
    if abs == b"/dev/urandom" || abs == b"/dev/random" {
        return PathClass::Random;
    }
    for pseudo in [&b"/proc"[..], b"/sys", b"/dev"] {
        if path::is_within(abs, pseudo) {
            return PathClass::Pseudo;
        }
    }
    PathClass::Ordinary
}

/// The state of a changed path when the run ended, read by the caller from the filesystem.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Final {
    /// Nothing is there.
    Absent,
    /// A regular file.
    File {
        /// Its content (already stored as an object by the caller).
        hash: Hash,
        /// Permission bits.
        mode: u32,
        /// (device, inode) when the file has more than one link, to keep hard links as links.
        shared_inode: Option<(u64, u64)>,
        /// How many names the file has (`st_nlink`): more than the run's effects name means a
        /// name outside them changed with it (gap G9).
        links: u64,
    },
    /// A directory.
    Dir {
        /// Permission bits.
        mode: u32,
    },
    /// A symlink.
    Symlink {
        /// Its target.
        target: Vec<u8>,
        /// How many names it has (`st_nlink`): a replay makes a new symlink, so one with hard
        /// links (`ln` of a symlink) cannot be restored as it was.
        links: u64,
    },
    /// A device, FIFO or socket: not restorable.
    Other,
}

/// A path the run changed: its state before the first change, and whether its whole subtree is
/// an output (a directory renamed into place).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Changed {
    /// Absolute normalised path.
    pub path: Vec<u8>,
    /// Kind just before the run first changed it; `None` if absent.
    pub before: Option<FileKind>,
    /// The path is a directory renamed into place; the caller adds its subtree.
    pub tree: bool,
    /// How many predicates had been kept when the run first changed the path.
    pub since: u32,
    /// Only the mode of this existing directory changed so far ([`Observation::TouchMode`]):
    /// neither the directory nor anything below it is the run's own.
    pub mode_only: bool,
    /// How many changes ([`Observation::Touch`]es of ordinary paths) the run had made up to
    /// and including its last change of the path (0: none but its mode).
    pub last: u64,
}

/// One path a child command skipped in place changes when it is replayed
/// ([`Lowering::absorb`]).
#[derive(Clone, Debug)]
pub struct ChildChange {
    /// The path its effect sets.
    pub path: Vec<u8>,
    /// What the path is just before the replay.
    pub before: Option<FileKind>,
    /// The effect is a directory's mode ([`crate::Effect::Dir`]): on an existing directory
    /// the replay only chmods it.
    pub mode_only: bool,
}

/// The lowering state machine for one run.
#[derive(Default, Debug)]
pub struct Lowering {
    predicates: Vec<Predicate>,
    /// The resolutions already kept, by [`resolve_key`]: (base, path, flags) in one buffer, so
    /// that a repeat is found without allocating (most observations of a build are repeats).
    seen_resolves: FastSet<Vec<u8>>,
    /// The path-keyed facts already kept, by [`path_key`]: a class tag and the [`dedup_key`].
    seen_paths: FastSet<Vec<u8>>,
    /// The buffer keys are built in before a lookup.
    scratch: Vec<u8>,
    changed: BTreeMap<Vec<u8>, Changed>,
    /// How many changes ([`Observation::Touch`]es of ordinary paths) were observed so far.
    touches: u64,
    /// The paths whose metadata was kept as an input, with the identity the command was shown.
    stat_ids: Vec<(Vec<u8>, (u64, u64))>,
    uncacheable: Vec<Uncacheable>,
    unknown: BTreeMap<u64, u64>,
    stdin_seen: bool,
    /// The tracer's canonical name for the spelling being observed, for a following
    /// resolution ([`Observation::Canonical`]).
    canonical_follow: Option<Renamed>,
    /// The same for a resolution that does not follow a last symlink.
    canonical_nofollow: Option<Renamed>,
    /// Whether the last [`Observation::Canonical`] was for a following resolution (a `stat`
    /// follows its resolution, an `lstat` does not).
    last_follow: bool,
}

/// An [`Observation::Canonical`]: a spelling and the name its walk reaches.
#[derive(Debug)]
struct Renamed {
    spelled: Vec<u8>,
    canonical: Option<Vec<u8>>,
}

/// Which of the tracer's canonical names an observation uses.
#[derive(Clone, Copy)]
enum Slot {
    /// The following one (a read, a listing), or else the other.
    Follow,
    /// The non-following one only (a readlink).
    NoFollow,
    /// That of the last resolution (a stat).
    Last,
    /// Exactly this one (a resolution).
    Exactly(bool),
}

/// What an input observation is about.
enum Place {
    /// The path as spelled (its walk meets nothing the run changed).
    AsSpelled,
    /// The run's own state: not an input.
    Own,
    /// This canonical name, which the run did not change.
    At(Vec<u8>),
}

impl Lowering {
    /// Starts lowering a run.
    pub fn new() -> Lowering {
        Lowering::default()
    }

    /// Reports whether `abs` or one of its ancestors was changed by the run so far, so that an
    /// observation of it shows the run's own work rather than an input.
    pub fn is_own(&self, abs: &[u8]) -> bool {
        if self.changed.is_empty() {
            return false;
        }
        let own = |p: &[u8]| self.changed.get(p).is_some_and(|c| !c.mode_only);
        own(abs) || path::ancestors(abs).any(own)
    }

    /// Whether the walk of absolute `spelled`, as spelled, meets a path the run changed so far
    /// ([`path::walk_meets`]): then the tracer names where it leads
    /// ([`Observation::Canonical`]).
    pub fn walks_through_own(&self, spelled: &[u8]) -> bool {
        self.walks_through_own_at(b"/", spelled)
    }

    /// [`Lowering::walks_through_own`] of `path` resolved from `base`, not joined first.
    pub fn walks_through_own_at(&self, base: &[u8], path: &[u8]) -> bool {
        !self.changed.is_empty()
            && path::walk_meets_at(base, path, |p| {
                self.changed.get(p).is_some_and(|c| !c.mode_only)
            })
    }

    /// How many changes ([`Observation::Touch`]es of ordinary paths) were observed so far: the
    /// mark a directory fd is opened with (gap G33 of notes/model.md).
    pub fn changes(&self) -> u64 {
        self.touches
    }

    /// Whether the walk of absolute `spelled`, as spelled ([`path::walk_meets`]), meets a path
    /// the run changed after it had made `mark` changes ([`Lowering::changes`]): a directory
    /// opened as `spelled` then may no longer be what `spelled` leads to (G33).
    pub fn walks_through_own_since(&self, spelled: &[u8], mark: u64) -> bool {
        self.touches > mark
            && path::walk_meets(spelled, |p| {
                self.changed.get(p).is_some_and(|c| !c.mode_only && c.last > mark)
            })
    }

    /// Feeds one observation. It is borrowed: the tracer feeds the same observation to the
    /// lowering of every command instance it belongs to, and most are repeats that keep nothing,
    /// so only what a fresh predicate or change keeps is copied.
    pub fn observe(&mut self, obs: &Observation) {
        match obs {
            Observation::Resolve { at, flags, outcome, opened_for_read } => {
                self.resolve(at, *flags, *outcome, *opened_for_read);
            }
            Observation::Canonical { spelled, follow, canonical } => {
                let r = Some(Renamed { spelled: spelled.clone(), canonical: canonical.clone() });
                if *follow {
                    self.canonical_follow = r;
                } else {
                    self.canonical_nofollow = r;
                }
                self.last_follow = *follow;
            }
            Observation::Stat { path, meta, id } => {
                let Some(path) = self.placed(path, Slot::Last) else { return };
                let path = &path[..];
                // The metadata of a directory whose mode the run changed is the run's doing.
                if self.changed.get(&path::normalize(path)).is_some_and(|c| c.mode_only) {
                    return;
                }
                if self.wants(0, path) {
                    if let Some(id) = id {
                        self.stat_ids.push((path.to_vec(), *id));
                    }
                    let size_bytes =
                        if meta.kind == FileKind::Regular { meta.size_bytes } else { 0 };
                    self.predicates.push(Predicate::Metadata {
                        path: path.to_vec(),
                        kind: meta.kind,
                        mode: meta.mode,
                        size_bytes,
                    });
                }
            }
            Observation::Access { path, want, granted } => {
                let Some(path) = self.placed(path, Slot::Follow) else { return };
                let path = &path[..];
                if self.wants(6 + (*want as u8 & 7), path) {
                    let (want, granted) = (*want, *granted);
                    self.predicates.push(Predicate::Access { path: path.to_vec(), want, granted });
                }
            }
            Observation::Read { path, hash } => {
                let Some(path) = self.placed(path, Slot::Follow) else { return };
                let path = &path[..];
                if self.wants(1, path) {
                    self.predicates.push(Predicate::Content { path: path.to_vec(), hash: *hash });
                }
            }
            Observation::ReadLink { path, target } => {
                let Some(path) = self.placed(path, Slot::NoFollow) else { return };
                let path = &path[..];
                if self.wants(2, path) {
                    let (path, target) = (path.to_vec(), target.clone());
                    self.predicates.push(Predicate::Readlink { path, target });
                }
            }
            Observation::List { dir, names } => {
                if let Some(dir) = self.placed(dir, Slot::Follow) {
                    self.list(&dir, names);
                }
            }
            Observation::Links { path, count, mode } => {
                let Some(path) = self.placed(path, Slot::Follow) else { return };
                let path = &path[..];
                if self.wants(5, path) {
                    let (path, count, mode) = (path.to_vec(), *count, *mode);
                    self.predicates.push(Predicate::Links { path, count, mode });
                }
            }
            Observation::SameFile { a, b, flags, same } => {
                if self.wants_pair(a, b) {
                    let (a, b, flags, same) = (a.clone(), b.clone(), *flags, *same);
                    self.predicates.push(Predicate::SameFile { a, b, flags, same });
                }
            }
            Observation::Touch { path, before } => {
                if classify(path) != PathClass::Ordinary {
                    return;
                }
                self.touches += 1;
                if let Some(c) = self.changed.get_mut(path) {
                    // A directory whose mode the run changed is now changed as a whole.
                    c.mode_only = false;
                    c.last = self.touches;
                    return;
                }
                let (since, last) = (self.since(), self.touches);
                let (before, mode_only) = (*before, false);
                let c = Changed { path: path.clone(), before, tree: false, since, mode_only, last };
                self.changed.insert(path.clone(), c);
            }
            Observation::TouchMode { path } => {
                if classify(path) != PathClass::Ordinary || self.changed.contains_key(path) {
                    return;
                }
                let (since, before) = (self.since(), Some(FileKind::Directory));
                let (tree, mode_only, last) = (false, true, 0);
                let c = Changed { path: path.clone(), before, tree, since, mode_only, last };
                self.changed.insert(path.clone(), c);
            }
            Observation::TouchTree { from, path } => {
                if self.changed.get(from).is_none_or(|c| c.before.is_some()) {
                    self.mark(Uncacheable::Unsupported {
                        what: format!(
                            "renamed directory {} that it did not create",
                            String::from_utf8_lossy(from)
                        ),
                    });
                }
                if let Some(c) = self.changed.get_mut(path) {
                    c.tree = true;
                }
            }
            Observation::Uncacheable(u) => self.mark(u.clone()),
            Observation::StdinFile { hash } => {
                if !self.stdin_seen {
                    self.stdin_seen = true;
                    self.predicates.push(Predicate::Stdin { hash: *hash });
                }
            }
            Observation::StdinIs { kind } => {
                if !self.stdin_seen {
                    self.stdin_seen = true;
                    self.predicates.push(Predicate::StdinIs { kind: *kind });
                }
            }
            Observation::UnknownSyscall { nr } => *self.unknown.entry(*nr).or_insert(0) += 1,
        }
    }

    /// A resolution: a new `Resolves` or `DoesNotResolve` input unless it is a repeat, under
    /// `/proc`, `/sys` or `/dev`, or of a path the run changed. A repeat is looked for first:
    /// a (base, path, flags) once kept was of an ordinary path (the class is a function of the
    /// absolute path, which is one of base and path), so nothing else can differ for it.
    fn resolve(
        &mut self,
        at: &At,
        flags: ResolveFlags,
        outcome: Result<FileKind, crate::Errno>,
        opened_for_read: bool,
    ) {
        let rebased;
        let at = if self.canonical_follow.is_some() || self.canonical_nofollow.is_some() {
            let follow = flags.follow || at.path.ends_with(b"/");
            match self.place(&path::join(&at.base, &at.path), Slot::Exactly(follow)) {
                Place::AsSpelled => at,
                Place::Own => return,
                Place::At(c) => {
                    rebased = At { base: b"/".to_vec(), path: c };
                    &rebased
                }
            }
        } else {
            at
        };
        resolve_key(&mut self.scratch, &at.base, &at.path, flags);
        if self.seen_resolves.contains(self.scratch.as_slice()) {
            return;
        }
        let abs = at.absolute();
        match classify(&abs) {
            PathClass::Pseudo => return,
            PathClass::Random => {
                if opened_for_read && outcome.is_ok() {
                    self.mark(Uncacheable::Random { path: abs });
                }
                return;
            }
            PathClass::Ordinary => {}
        }
        if self.is_own(&abs) {
            return;
        }
        self.seen_resolves.insert(self.scratch.clone());
        let (base, path) = (at.base.clone(), at.path.clone());
        self.predicates.push(match outcome {
            Ok(to) => Predicate::Resolves { path, base, flags, to },
            Err(errno) => Predicate::DoesNotResolve { path, base, flags, errno },
        });
    }

    /// Where an input observation of absolute `spelled` is about. As spelled, unless its walk
    /// meets a path the run changed (a symlink or directory it made, `..` out of one; gaps G8
    /// and G10): then no predicate about the state before the run could walk the spelling
    /// again, and the observation is about the canonical name the tracer reported for it
    /// ([`Observation::Canonical`], in `slot`), or is the run's own state. Without such a
    /// name the run is marked uncacheable. The tracer reports a name whenever the walk meets
    /// a change of the whole tree, and this run's changes are among those.
    fn place(&mut self, spelled: &[u8], slot: Slot) -> Place {
        // Another path ends the naming, unless it is a directory on the way (a pin of the
        // walk, named canonically: a second resolution of one call, the G7 probe after the
        // open's own, pins the walk again before the call's `Links` and `Read`).
        for s in [&mut self.canonical_follow, &mut self.canonical_nofollow] {
            let on_the_way = |r: &Renamed| {
                path::is_within(&r.spelled, spelled)
                    || r.canonical.as_ref().is_some_and(|c| path::is_within(c, spelled))
            };
            if s.as_ref().is_some_and(|r| r.spelled != spelled && !on_the_way(r)) {
                *s = None;
            }
        }
        let renamed = match slot {
            Slot::Follow => self.canonical_follow.as_ref().or(self.canonical_nofollow.as_ref()),
            Slot::NoFollow => self.canonical_nofollow.as_ref(),
            Slot::Last | Slot::Exactly(_) => {
                let follow = match slot {
                    Slot::Exactly(f) => f,
                    _ => self.last_follow,
                };
                if follow {
                    self.canonical_follow.as_ref()
                } else {
                    self.canonical_nofollow.as_ref()
                }
            }
        };
        let Some(renamed) = renamed else { return Place::AsSpelled };
        if !self.walks_through_own(spelled) {
            return Place::AsSpelled;
        }
        match renamed.canonical.clone() {
            None => {
                self.mark(Uncacheable::Unsupported {
                    what: format!(
                        "resolved {} through a path it had changed, to no name that can be \
                         checked",
                        String::from_utf8_lossy(spelled)
                    ),
                });
                Place::Own
            }
            Some(c) if self.is_own(&c) => Place::Own,
            Some(c) => Place::At(c),
        }
    }

    /// [`Lowering::place`] as the path to record the observation under: `None` when it is
    /// the run's own state.
    fn placed<'p>(&mut self, spelled: &'p [u8], slot: Slot) -> Option<Cow<'p, [u8]>> {
        match self.place(spelled, slot) {
            Place::AsSpelled => Some(Cow::Borrowed(spelled)),
            Place::Own => None,
            Place::At(c) => Some(Cow::Owned(c)),
        }
    }

    /// Whether a path-keyed fact of class `tag` about `abs` is a new input. `abs` may be
    /// spelled with `.`, `..` or symlinks; it is classified by its lexically normalised form
    /// and deduplicated by [`dedup_key`]. A repeat is looked for first, without allocating: a
    /// key once kept was of an ordinary path, so the rest cannot change the answer.
    fn wants(&mut self, tag: u8, abs: &[u8]) -> bool {
        path_key(&mut self.scratch, tag, abs);
        if self.seen_paths.contains(self.scratch.as_slice()) {
            return false;
        }
        let norm = path::normalize(abs);
        if classify(&norm) != PathClass::Ordinary || self.is_own(&norm) {
            return false;
        }
        self.seen_paths.insert(self.scratch.clone())
    }

    /// [`Lowering::wants`] for a fact about two paths (`SameFile`): new unless a repeat of the
    /// pair, or about a path outside the model's concern or changed by the run.
    fn wants_pair(&mut self, a: &[u8], b: &[u8]) -> bool {
        path_key(&mut self.scratch, 4, a);
        self.scratch.push(0);
        dedup_key(&mut self.scratch, b);
        if self.seen_paths.contains(self.scratch.as_slice()) {
            return false;
        }
        let input = |p: &[u8]| {
            let norm = path::normalize(p);
            classify(&norm) == PathClass::Ordinary && !self.is_own(&norm)
        };
        input(a) && input(b) && self.seen_paths.insert(self.scratch.clone())
    }

    fn mark(&mut self, u: Uncacheable) {
        if !self.uncacheable.contains(&u) {
            self.uncacheable.push(u);
        }
    }

    /// A listing is an input about the directory as it was before the run: names the run
    /// created are taken out, names it removed are put back.
    fn list(&mut self, spelled: &[u8], names: &[Vec<u8>]) {
        path_key(&mut self.scratch, 3, spelled);
        if self.seen_paths.contains(self.scratch.as_slice()) {
            return;
        }
        let dir = path::normalize(spelled);
        if classify(&dir) != PathClass::Ordinary || self.is_own(&dir) {
            return;
        }
        let mut set: std::collections::BTreeSet<Vec<u8>> = names
            .iter()
            .filter(|n| n.as_slice() != b"." && n.as_slice() != b"..")
            .cloned()
            .collect();
        for (p, c) in self.changed.range(dir.clone()..) {
            if !path::is_within(p, &dir) {
                break;
            }
            if path::parent(p) != dir.as_slice() {
                continue;
            }
            let name = path::file_name(p).to_vec();
            match c.before {
                None => {
                    set.remove(&name);
                }
                Some(_) => {
                    set.insert(name);
                }
            }
        }
        self.seen_paths.insert(self.scratch.clone());
        let names = set.into_iter().collect();
        self.predicates.push(Predicate::Listing { dir: spelled.to_vec(), names });
    }

    /// Takes in a child command that was skipped in place (SPEC §6): its predicates become
    /// this run's inputs, except those about paths this run had already changed, and its effect
    /// paths become this run's changes, with `before` their state just before the replay.
    pub fn absorb(&mut self, predicates: &[Predicate], changes: &[ChildChange]) {
        for p in predicates {
            let subject = path::normalize(&p.subject());
            let fresh = match p {
                Predicate::Stdin { .. } | Predicate::StdinIs { .. } => {
                    !std::mem::replace(&mut self.stdin_seen, true)
                }
                Predicate::Resolves { path, base, flags, .. }
                | Predicate::DoesNotResolve { path, base, flags, .. } => {
                    resolve_key(&mut self.scratch, base, path, *flags);
                    classify(&subject) == PathClass::Ordinary
                        && !self.is_own(&subject)
                        && self.seen_resolves.insert(self.scratch.clone())
                }
                Predicate::Metadata { .. } => self.wants(0, &subject),
                Predicate::Content { .. } => self.wants(1, &subject),
                Predicate::Readlink { .. } => self.wants(2, &subject),
                Predicate::SameFile { a, b, .. } => self.wants_pair(a, b),
                Predicate::Links { .. } => self.wants(5, &subject),
                Predicate::Access { want, .. } => self.wants(6 + (*want as u8 & 7), &subject),
                Predicate::Identities { groups } => {
                    // Without the paths this run had already changed (its own state).
                    let kept = groups.split(|p| p.is_empty()).filter_map(|g| {
                        let g: Vec<Vec<u8>> = g
                            .iter()
                            .filter(|p| !self.is_own(&path::normalize(p)))
                            .cloned()
                            .collect();
                        (!g.is_empty()).then_some(g)
                    });
                    let kept: Vec<Vec<Vec<u8>>> = kept.collect();
                    if kept.iter().map(Vec::len).sum::<usize>() >= 2 {
                        let groups = kept.join(&Vec::new());
                        self.predicates.push(Predicate::Identities { groups });
                    }
                    false
                }
                Predicate::Listing { .. } => {
                    path_key(&mut self.scratch, 3, &p.subject());
                    classify(&subject) == PathClass::Ordinary
                        && !self.is_own(&subject)
                        && self.seen_paths.insert(self.scratch.clone())
                }
            };
            if fresh {
                self.predicates.push(p.clone());
            }
        }
        for c in changes {
            let path = c.path.clone();
            // G29 for a skipped child: a directory that existed and that the replay only
            // chmods keeps its subtree as this run's inputs.
            if c.mode_only && c.before == Some(FileKind::Directory) {
                self.observe(&Observation::TouchMode { path });
            } else {
                self.observe(&Observation::Touch { path, before: c.before });
            }
        }
    }

    /// Returns the paths the run changed, in path order.
    pub fn changed(&self) -> impl Iterator<Item = &Changed> {
        self.changed.values()
    }

    /// Records that the caller found more changed paths (the subtree of a renamed directory).
    pub fn add_changed(&mut self, path: Vec<u8>, before: Option<FileKind>) {
        // When in the run it changed is not known: from the start, for gap G6.
        let (tree, since, mode_only, last) = (false, 0, false, 0);
        let c = Changed { path: path.clone(), before, tree, since, mode_only, last };
        self.changed.entry(path).or_insert(c);
    }

    /// Records which of the paths whose metadata the command was shown were one file
    /// ([`Predicate::Identities`]), when there were two or more.
    fn identities(&mut self) {
        // A path the run changed is judged by the predicates of its change (the `Links` of a
        // file written in place, the `SameFile` of a rename...) and by the output rule: which
        // file it was before the run is not asked again (`rm -f old` stat'ed `old`).
        let changed = &self.changed;
        self.stat_ids.retain(|(p, _)| !changed.contains_key(&path::normalize(p)));
        if self.stat_ids.len() < 2 {
            return;
        }
        let mut order: Vec<(u64, u64)> = Vec::new();
        let mut groups: HashMap<(u64, u64), Vec<Vec<u8>>> = HashMap::new();
        for (path, id) in std::mem::take(&mut self.stat_ids) {
            if !groups.contains_key(&id) {
                order.push(id);
            }
            groups.entry(id).or_default().push(path);
        }
        let groups: Vec<Vec<Vec<u8>>> = order.iter().filter_map(|id| groups.remove(id)).collect();
        let groups = groups.join(&Vec::new());
        self.predicates.push(Predicate::Identities { groups });
    }

    /// The number of predicates kept so far, as stamped on a change ([`Changed::since`]).
    fn since(&self) -> u32 {
        u32::try_from(self.predicates.len()).unwrap_or(u32::MAX)
    }

    /// Whether a predicate already says that `abs` (normalised) did not resolve.
    fn probed_absent(&self, abs: &[u8]) -> bool {
        self.predicates.iter().any(|p| {
            matches!(p, Predicate::DoesNotResolve { errno: crate::Errno::ENOENT, .. })
                && path::normalize(&p.subject()) == abs
        })
    }

    /// Ends the run: turns each changed path's final state into an effect. `root` is the project
    /// root; a change that remains outside it makes the run uncacheable.
    pub fn finish(mut self, root: &[u8], finals: &HashMap<Vec<u8>, Final>) -> Lowered {
        self.identities();
        let mut effects = Vec::new();
        let mut first_of_inode: HashMap<(u64, u64), Vec<u8>> = HashMap::new();
        // Per shared inode among the effects: its number of names, and how many are effects.
        let mut names_of_inode: HashMap<(u64, u64), (u64, u64)> = HashMap::new();
        let changed: Vec<Changed> = std::mem::take(&mut self.changed).into_values().collect();
        for c in &changed {
            let fin = finals.get(&c.path).cloned().unwrap_or(Final::Absent);
            if fin == Final::Absent && c.before.is_none() {
                // Created and removed within the run. Inside the root its absence is an input:
                // had it existed, the run would have removed it and a replay would not (found
                // by the model's soundness property, gap G4). It is an output too, one a
                // replay has nothing to do for: a walk that reaches it through an input symlink
                // met it while it existed (gap G6, `crate::into_output`).
                if path::is_within(&c.path, root) {
                    if !self.probed_absent(&c.path) {
                        self.predicates.push(Predicate::DoesNotResolve {
                            path: c.path.clone(),
                            base: b"/".to_vec(),
                            flags: ResolveFlags::NOFOLLOW,
                            errno: crate::Errno::ENOENT,
                        });
                    }
                    effects.push(Effect::Absent { path: c.path.clone() });
                }
                continue;
            }
            if !path::is_within(&c.path, root) {
                self.mark(Uncacheable::OutsideRoot { path: c.path.clone() });
                continue;
            }
            let p = c.path.clone();
            effects.push(match fin {
                Final::Absent => Effect::Absent { path: p },
                Final::File { hash, mode, shared_inode, links } => {
                    if let Some(ino) = shared_inode {
                        names_of_inode.entry(ino).or_insert((links, 0)).1 += 1;
                    }
                    match shared_inode.and_then(|ino| {
                        first_of_inode.get(&ino).cloned().or_else(|| {
                            first_of_inode.insert(ino, p.clone());
                            None
                        })
                    }) {
                        Some(to) => Effect::HardLink { path: p, to },
                        None => Effect::File { path: p, hash, mode },
                    }
                }
                Final::Dir { mode } => Effect::Dir { path: p, mode },
                Final::Symlink { links, .. } if links > 1 => {
                    self.mark(Uncacheable::Unsupported {
                        what: format!(
                            "left the symlink {} with hard links, which a replay cannot make",
                            String::from_utf8_lossy(&c.path)
                        ),
                    });
                    continue;
                }
                Final::Symlink { target, .. } => Effect::Symlink { path: p, target },
                Final::Other => {
                    self.mark(Uncacheable::Unsupported {
                        what: format!(
                            "created a special file at {}",
                            String::from_utf8_lossy(&c.path)
                        ),
                    });
                    continue;
                }
            });
        }
        // G9: a file the run changed that has names outside the effects changed under those
        // names too (an append through one hard link); a replay would restore only the effects.
        if let Some(path) = changed.iter().find_map(|c| match finals.get(&c.path) {
            Some(Final::File { shared_inode: Some(ino), .. })
                if names_of_inode.get(ino).is_some_and(|(links, named)| named < links) =>
            {
                Some(c.path.clone())
            }
            _ => None,
        }) {
            self.mark(Uncacheable::Unsupported {
                what: format!(
                    "changed {}, which has hard links the run did not change",
                    String::from_utf8_lossy(&path)
                ),
            });
        }
        let effects = order_effects(effects);
        let since_of: HashMap<&[u8], u32> =
            changed.iter().map(|c| (c.path.as_slice(), c.since)).collect();
        let effects_since = effects.iter().map(|e| since_of.get(e.path()).copied().unwrap_or(0));
        let effects_since = effects_since.collect();
        Lowered {
            predicates: self.predicates,
            effects,
            effects_since,
            uncacheable: self.uncacheable,
            unknown_syscalls: self.unknown.into_iter().collect(),
        }
    }
}

/// Orders effects so that applying them in order is always possible: removals deepest first,
/// then directories shallowest first, then files, symlinks and finally hard links.
pub fn order_effects(mut effects: Vec<Effect>) -> Vec<Effect> {
    fn rank(e: &Effect) -> u8 {
        match e {
            Effect::Absent { .. } => 0,
            Effect::Dir { .. } => 1,
            Effect::File { .. } | Effect::Symlink { .. } => 2,
            Effect::HardLink { .. } => 3,
        }
    }
    fn depth(p: &[u8]) -> usize {
        p.iter().filter(|&&b| b == b'/').count()
    }
    effects.sort_by(|a, b| {
        rank(a)
            .cmp(&rank(b))
            .then_with(|| match a {
                Effect::Absent { .. } => depth(b.path()).cmp(&depth(a.path())),
                _ => depth(a.path()).cmp(&depth(b.path())),
            })
            .then_with(|| a.path().cmp(b.path()))
    });
    effects
}

/// The result of lowering one run.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Lowered {
    /// The inputs, in order of first observation.
    pub predicates: Vec<Predicate>,
    /// The outputs, in the order to apply them.
    pub effects: Vec<Effect>,
    /// For each output, [`Changed::since`] of its path ([`crate::Entry::effects_since`]).
    pub effects_since: Vec<u32>,
    /// Why the run cannot be replayed (empty if it can).
    pub uncacheable: Vec<Uncacheable>,
    /// Syscalls not understood: (number, count).
    pub unknown_syscalls: Vec<(u64, u64)>,
}

/// The key under which two spellings of a path are one input: the lexically normalised path
/// when removing `.` and repeated slashes is all normalising does, else the spelling itself.
/// `d/..` names the parent of `d` only while `d` is a directory; once `d` is a symlink it is
/// the parent of its target, so it cannot stand for (or be stood for by) another spelling
/// (found by the model's soundness fuzz target).
fn dedup_key(out: &mut Vec<u8>, abs: &[u8]) {
    if abs.split(|&c| c == b'/').any(|c| c == b"..") {
        out.extend_from_slice(abs);
    } else {
        path::normalize_into(out, abs);
    }
}

/// Builds in `out` the key of a path-keyed fact: its class `tag`, then the [`dedup_key`] of
/// `abs`.
fn path_key(out: &mut Vec<u8>, tag: u8, abs: &[u8]) {
    out.clear();
    out.push(tag);
    dedup_key(out, abs);
}

/// Builds in `out` the key of a resolution: `base`, NUL, `path`, NUL, the flags as bits. Paths
/// hold no NUL (they come from C strings), so distinct triples have distinct keys.
fn resolve_key(out: &mut Vec<u8>, base: &[u8], path: &[u8], flags: ResolveFlags) {
    out.clear();
    out.extend_from_slice(base);
    out.push(0);
    out.extend_from_slice(path);
    out.push(0);
    let bits = [
        flags.follow,
        flags.reject_symlink,
        flags.directory,
        flags.create,
        flags.exclusive,
        flags.write,
    ];
    out.push(bits.iter().enumerate().fold(0u8, |acc, (i, &b)| acc | (u8::from(b) << i)));
}

#[cfg(test)]
#[path = "lower_tests.rs"]
mod tests;
