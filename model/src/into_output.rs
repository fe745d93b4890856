//! Gap G6 of notes/model.md, closed at check time: a resolution that follows a symlink the
//! command did not make (an *input* symlink) and then reaches one of the entry's own outputs.
//!
//! A predicate speaks about the state before the run, but the command resolved its path during
//! the run, when its outputs may already have been written or removed. For a path spelled
//! through an output the tracer knows it (`Observation::Canonical`, gaps G8 and G10); through
//! an input symlink it cannot: the symlink may not even exist when the run is recorded. Recorded
//! without `d`, `echo hi > x.c; cat d` has "`d` does not resolve"; after `ln -s x.c d; rm x.c`
//! that still holds (`d` dangles), yet running prints `hi` through `d`. So the check watches
//! every walk: once it has followed an input symlink, reaching an output's name (or leaving
//! through `..` into an output directory) makes the predicate fail, with `--strict` or
//! without: whether the command met the output before or after changing it is not recorded,
//! so neither its state now (the output rule's "in place") nor before vouches for the walk.
//! Such a command runs every time, and `dry why` says why. A file the command created and
//! removed is an output here too (an `Effect::Absent` that restores nothing).
//!
//! The files that standard output and standard error go to, where they are regular files
//! (`cmd >> log`), are outputs too, written through a descriptor while the command runs: a walk
//! that reaches one, through a symlink or not, fails the predicate (`cat a >> a` fails untraced
//! with "input file is output file" where `cat a >> b` succeeds; both read `a` as it was).
//!
//! [`IntoOutputs`] is an [`Fs`] that forwards to another and remembers such a step. Outputs
//! are found by identity: the directory an output's name is looked up in, and the output
//! itself where it exists (a symlink the command made is not an input symlink).

use crate::errno::Errno;
use crate::fast_hash::FastMap;
use crate::fs::{FileKind, Fs, Meta};
use crate::resolve::{resolve, ResolveFlags, Resolved};
use crate::{Effect, Hash};
use std::cell::{Cell, OnceCell};
use std::collections::HashSet;

/// A file's identity, `(st_dev, st_ino)`.
type Id = (u64, u64);

/// An output's last name, its whole absolute path, and from which predicate on it counts
/// ([`crate::Entry::effects_since`]).
type Named<'e> = (&'e [u8], &'e [u8], u32);

/// Where the outputs are on the filesystem being checked, found by identity.
#[derive(Default)]
struct Table<'e> {
    /// Per identity of an output's parent directory: the output names in it, with the path.
    names: FastMap<Id, Vec<Named<'e>>>,
    /// Identities of the directories at output paths, with the path and from which predicate
    /// on it counts.
    dirs: FastMap<Id, (&'e [u8], u32)>,
    /// Identities of the symlinks at the paths of the command's own symlinks.
    own_links: HashSet<Id>,
}

/// What a walk reached that it must not.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Reached<'e> {
    /// This output of the entry (absolute path), after following an input symlink.
    Output(&'e [u8]),
    /// The regular file that descriptor 1 (standard output) or 2 (standard error) goes to.
    Stream(u8),
}

/// An [`Fs`] that forwards to `fs` and notes when a walk reaches an output of `effects` after
/// following an input symlink, or the file of an output stream: see the module comment.
pub struct IntoOutputs<'a, 'e, F: Fs> {
    fs: &'a F,
    effects: &'e [Effect],
    since: &'e [u32],
    streams: [Option<(u64, u64)>; 2],
    /// The number of the predicate being checked.
    index: Cell<u32>,
    table: OnceCell<Table<'e>>,
    /// Whether the walk has followed an input symlink.
    followed: Cell<bool>,
    /// The first thing reached that must not be.
    hit: Cell<Option<Reached<'e>>>,
}

impl<'a, 'e, F: Fs> IntoOutputs<'a, 'e, F> {
    /// Watches walks on `fs` for the outputs `effects`, each from the predicate numbered by
    /// `since` on (0 where `since` has no number: [`crate::Entry::effects_since`]), and the
    /// files `streams` (identities of standard output's and standard error's files, where
    /// regular).
    pub fn new(
        fs: &'a F,
        effects: &'e [Effect],
        since: &'e [u32],
        streams: [Option<(u64, u64)>; 2],
    ) -> IntoOutputs<'a, 'e, F> {
        IntoOutputs {
            fs,
            effects,
            since,
            streams,
            index: Cell::new(0),
            table: OnceCell::new(),
            followed: Cell::new(false),
            hit: Cell::new(None),
        }
    }

    /// Forgets the walks so far: call before checking predicate number `index`. An output
    /// counts for it if the run had changed the output before observing it.
    pub fn start(&self, index: usize) {
        self.index.set(u32::try_from(index).unwrap_or(u32::MAX));
        self.followed.set(false);
        self.hit.set(None);
    }

    /// What a walk since [`IntoOutputs::start`] reached that it must not, if anything.
    pub fn reached(&self) -> Option<Reached<'e>> {
        self.hit.get()
    }

    fn armed(&self) -> bool {
        !self.effects.is_empty()
    }

    fn table(&self) -> &Table<'e> {
        self.table.get_or_init(|| {
            let mut t = Table::default();
            for (i, e) in self.effects.iter().enumerate() {
                let path = e.path();
                let since = self.since.get(i).copied().unwrap_or(0);
                if let Some((parent, name)) = split(path) {
                    let dir = resolve(self.fs, b"/", parent, ResolveFlags::DIRECTORY);
                    if let Some(id) = self.id_of(dir) {
                        t.names.entry(id).or_default().push((name, path, since));
                    }
                }
                let node = resolve(self.fs, b"/", path, ResolveFlags::NOFOLLOW);
                let Ok(Resolved::Node(node)) = node else { continue };
                let (Ok(meta), Ok(id)) = (self.fs.meta(&node), self.fs.identity(&node)) else {
                    continue;
                };
                match (meta.kind, e) {
                    (FileKind::Directory, _) => {
                        t.dirs.insert(id, (path, since));
                    }
                    (FileKind::Symlink, Effect::Symlink { .. }) => {
                        t.own_links.insert(id);
                    }
                    _ => {}
                }
            }
            t
        })
    }

    fn id_of(&self, node: Result<Resolved<F::Node>, Errno>) -> Option<(u64, u64)> {
        match node {
            Ok(Resolved::Node(n)) => self.fs.identity(&n).ok(),
            _ => None,
        }
    }

    fn note(&self, reached: Reached<'e>) {
        if self.hit.get().is_none() {
            self.hit.set(Some(reached));
        }
    }

    /// Notes `node` if it is the file of an output stream.
    fn note_stream(&self, node: &F::Node) {
        let Ok(id) = self.fs.identity(node) else { return };
        if let Some(i) = self.streams.iter().position(|s| *s == Some(id)) {
            self.note(Reached::Stream(i as u8 + 1));
        }
    }
}

/// Which output stream (1 or 2) of a command a walk of one of its `predicates` reaches on `fs`,
/// given the identities of the regular files the streams go to: the command resolved the file
/// it writes through a descriptor (`cat a >> a`), and whether it did decides its outcome, so
/// its run is recorded as uncacheable (a later check of another step with the same key and
/// another output file would find nothing wrong).
pub fn reaches_stream<F: Fs>(
    predicates: &[crate::Predicate],
    fs: &F,
    streams: [Option<(u64, u64)>; 2],
) -> Option<u8> {
    if streams.iter().all(Option::is_none) {
        return None;
    }
    let guard = IntoOutputs::new(fs, &[], &[], streams);
    predicates.iter().enumerate().find_map(|(i, p)| {
        guard.start(i);
        let _ = crate::check::check_view(p.view(), &guard, &crate::check::NoStdin);
        match guard.reached() {
            Some(Reached::Stream(fd)) => Some(fd),
            _ => None,
        }
    })
}

/// The first file content or listing among `predicates` that the run read, on `fs` as the run
/// left it, through a symlink it did not make into one of its own outputs (`effects`): what it
/// read there is not what was recorded (the content is hashed at the open; `dd if=b of=d` with
/// `b -> d` reads what it truncated). Returns the path read and the output; such a run is
/// recorded as uncacheable.
pub fn read_through_into_output<'p, F: Fs>(
    predicates: &'p [crate::Predicate],
    effects: &[Effect],
    fs: &F,
) -> Option<(&'p [u8], Vec<u8>)> {
    if effects.is_empty() {
        return None;
    }
    let guard = IntoOutputs::new(fs, effects, &[], [None, None]);
    predicates.iter().find_map(|p| {
        let (path, flags) = match p {
            crate::Predicate::Content { path, .. } => (path, ResolveFlags::FOLLOW),
            crate::Predicate::Listing { dir, .. } => (dir, ResolveFlags::DIRECTORY),
            _ => return None,
        };
        guard.start(usize::MAX);
        let _ = resolve(&guard, b"/", path, flags);
        match guard.reached() {
            Some(Reached::Output(output)) => Some((path.as_slice(), output.to_vec())),
            _ => None,
        }
    })
}

/// Marks `lowered` uncacheable if [`read_through_into_output`] finds a read on `fs` (the
/// filesystem as the run left it): the one rule of `src/record/finals.rs` and of the model's
/// run alike.
pub fn mark_reads_into_outputs<F: Fs>(lowered: &mut crate::lower::Lowered, fs: &F) {
    let (predicates, effects) = (&lowered.predicates, &lowered.effects);
    if let Some((read, output)) = read_through_into_output(predicates, effects, fs) {
        let what = format!(
            "read {} through a symlink it did not make into its own output {}",
            String::from_utf8_lossy(read),
            String::from_utf8_lossy(&output)
        );
        lowered.uncacheable.push(crate::entry::Uncacheable::Unsupported { what });
    }
}

/// Splits absolute `path` into its parent and last name; `None` for `/`.
fn split(path: &[u8]) -> Option<(&[u8], &[u8])> {
    let slash = path.iter().rposition(|&b| b == b'/')?;
    let name = &path[slash + 1..];
    if name.is_empty() {
        return None;
    }
    Some((if slash == 0 { b"/" } else { &path[..slash] }, name))
}

impl<F: Fs> Fs for IntoOutputs<'_, '_, F> {
    type Node = F::Node;

    fn root(&self) -> F::Node {
        self.fs.root()
    }

    fn lookup(&self, dir: &F::Node, name: &[u8]) -> Result<Option<F::Node>, Errno> {
        if self.followed.get() {
            if let Ok(id) = self.fs.identity(dir) {
                let found = self.table().names.get(&id);
                let index = self.index.get();
                let counts = |(n, _, since): &&Named<'_>| *n == name && index >= *since;
                if let Some((_, path, _)) = found.and_then(|ns| ns.iter().find(counts)) {
                    self.note(Reached::Output(path));
                }
            }
        }
        let found = self.fs.lookup(dir, name);
        if let (true, Ok(Some(node))) = (self.streams.iter().any(Option::is_some), &found) {
            self.note_stream(node);
        }
        found
    }

    fn parent(&self, dir: &F::Node) -> F::Node {
        let up = self.fs.parent(dir);
        if self.followed.get() {
            let dir = self.fs.identity(&up).ok().and_then(|id| self.table().dirs.get(&id));
            if let Some((path, _)) = dir.filter(|(_, since)| self.index.get() >= *since) {
                self.note(Reached::Output(path));
            }
        }
        up
    }

    fn meta(&self, node: &F::Node) -> Result<Meta, Errno> {
        self.fs.meta(node)
    }

    fn read_link(&self, node: &F::Node) -> Result<Vec<u8>, Errno> {
        // The resolver reads a symlink only to follow it (a `Readlink` predicate reads its own
        // last, after the walk).
        if self.armed() && !self.followed.get() {
            let own = self.fs.identity(node).is_ok_and(|id| self.table().own_links.contains(&id));
            if !own {
                self.followed.set(true);
            }
        }
        self.fs.read_link(node)
    }

    fn content_hash(&self, node: &F::Node) -> Result<Hash, Errno> {
        self.fs.content_hash(node)
    }

    fn list(&self, node: &F::Node) -> Result<Vec<Vec<u8>>, Errno> {
        self.fs.list(node)
    }

    fn identity(&self, node: &F::Node) -> Result<(u64, u64), Errno> {
        self.fs.identity(node)
    }

    fn link_count(&self, node: &F::Node) -> Result<u64, Errno> {
        self.fs.link_count(node)
    }

    fn grants(&self, node: &F::Node, want: u32) -> Result<bool, Errno> {
        self.fs.grants(node, want)
    }

    fn vouches_for_listing(&self, node: &F::Node, names: &[&[u8]]) -> bool {
        self.fs.vouches_for_listing(node, names)
    }

    fn leaves_out(&self, node: &F::Node, name: &[u8]) -> bool {
        self.fs.leaves_out(node, name)
    }

    fn start_dir(&self, base: &[u8]) -> Result<F::Node, Errno> {
        // A base is the canonical working directory of a process: it follows no symlink.
        self.fs.start_dir(base)
    }

    fn dir_part(&self, base: &[u8], dir: &[u8]) -> Result<(F::Node, u32), Errno> {
        // The wrapped filesystem may remember directory parts; one that followed no symlink
        // cannot have reached an output through one. Anything else is walked here, step by step.
        match self.fs.dir_part(base, dir) {
            Ok((node, 0)) => Ok((node, 0)),
            answer if !self.armed() => answer,
            _ => crate::resolve::dir_part(self, base, dir),
        }
    }
}
