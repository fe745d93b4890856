//! Proposed fixes: the observations and the lowering rule that make the soundness theorem hold
//! where the shipped tracer (mirrored by [`crate::trace`]) leaves gaps. Each fix is named after
//! the gap it closes in notes/model.md (G1–G5); the property tests prove soundness with these
//! fixes on and show a counterexample for each gap with them off.
//!
//! - G1: a symlink followed while resolving a path is an input: emit a `ReadLink` of every
//!   symlink the walk follows (`Resolves` alone records only the kind reached).
//! - G2: a call that creates a name (`mkdir`, `symlink`, `link`, `rename`) depends on its parent
//!   directory and on the name itself without following it: emit `Resolve`s of both.
//! - G3: `rmdir` and `rename` over a directory depend on it being empty: emit its `List`.
//! - G4: a path created and removed by the run depends on having been absent before
//!   (otherwise the run removed a file that replay leaves): lower it to a `DoesNotResolve`.
//! - G5: `O_APPEND|O_CREAT` (and `O_RDWR|O_CREAT`) on a missing file depends on its absence:
//!   emit the plain resolution of the path.
//! - G9: writing a file through one of several hard links changes the other names, which are
//!   not effects: unless all of them are, the run is uncacheable.

use crate::fs::{FileKind, Fs, Meta};
use crate::memfs::MemFs;
use crate::observe::{At, Observation};
use crate::ops::split_last;
use crate::predicate::Predicate;
use crate::resolve::{resolve_kind, ResolveFlags};
use crate::run::{entry_of, lower_observations, Run};
use crate::trace::{Call, Traced};
use crate::{Entry, Errno, Hash};
use std::cell::RefCell;

/// One lookup a resolution made: directory, name, and the node found.
type Lookup = (usize, Vec<u8>, Option<usize>);

/// A filesystem that remembers the lookups and symlink reads of a resolution.
struct Spy<'a> {
    fs: &'a MemFs,
    lookups: RefCell<Vec<Lookup>>,
    links: RefCell<Vec<usize>>,
    /// Index into `lookups` at which the first symlink was followed.
    first_link: RefCell<Option<usize>>,
}

impl Fs for Spy<'_> {
    type Node = usize;
    fn root(&self) -> usize {
        self.fs.root()
    }
    fn lookup(&self, dir: &usize, name: &[u8]) -> Result<Option<usize>, Errno> {
        let r = self.fs.lookup(dir, name)?;
        self.lookups.borrow_mut().push((*dir, name.to_vec(), r));
        Ok(r)
    }
    fn parent(&self, dir: &usize) -> usize {
        self.fs.parent(dir)
    }
    fn meta(&self, node: &usize) -> Result<Meta, Errno> {
        self.fs.meta(node)
    }
    fn read_link(&self, node: &usize) -> Result<Vec<u8>, Errno> {
        self.links.borrow_mut().push(*node);
        let mut first = self.first_link.borrow_mut();
        if first.is_none() {
            *first = Some(self.lookups.borrow().len());
        }
        self.fs.read_link(node)
    }
    fn content_hash(&self, node: &usize) -> Result<Hash, Errno> {
        self.fs.content_hash(node)
    }
    fn list(&self, node: &usize) -> Result<Vec<Vec<u8>>, Errno> {
        self.fs.list(node)
    }
    fn identity(&self, node: &usize) -> Result<(u64, u64), Errno> {
        self.fs.identity(node)
    }

    fn link_count(&self, node: &usize) -> Result<u64, Errno> {
        self.fs.link_count(node)
    }
    fn grants(&self, node: &usize, want: u32) -> Result<bool, Errno> {
        self.fs.grants(node, want)
    }
}

/// What a resolution walked: the symlinks it followed (canonical path and target), and the
/// paths it looked up after following the first of them.
#[derive(Clone, Debug, Default)]
pub struct Walk {
    /// Canonical path and target of each symlink followed.
    pub links: Vec<(Vec<u8>, Vec<u8>)>,
    /// Absolute paths looked up after the first symlink was followed.
    pub after_link: Vec<Vec<u8>>,
}

/// Returns what resolving `at` with `flags` walks through.
pub fn walk(fs: &MemFs, at: &At, flags: ResolveFlags) -> Walk {
    let spy = Spy {
        fs,
        lookups: RefCell::new(Vec::new()),
        links: RefCell::new(Vec::new()),
        first_link: RefCell::new(None),
    };
    let _ = resolve_kind(&spy, &at.base, &at.path, flags);
    let lookups = spy.lookups.take();
    let mut out = Walk::default();
    if let Some(first) = spy.first_link.into_inner() {
        for (dir, name, _) in &lookups[first..] {
            if let Some(d) = fs.dir_path(*dir) {
                out.after_link.push(crate::path::join(&d, name));
            }
        }
    }
    for node in spy.links.into_inner() {
        let Some((dir, name, _)) = lookups.iter().rev().find(|(_, _, n)| *n == Some(node)) else {
            continue;
        };
        let (Some(d), Ok(target)) = (fs.dir_path(*dir), fs.read_link(&node)) else { continue };
        out.links.push((crate::path::join(&d, name), target));
    }
    out
}

/// The path arguments of `call` and the flags the kernel resolves them with; a name-creating
/// argument is resolved up to its parent.
fn walks(call: &Call) -> Vec<(&[u8], ResolveFlags, bool)> {
    let creat = ResolveFlags { create: true, write: true, ..ResolveFlags::FOLLOW };
    match call {
        Call::Read(p)
        | Call::Stat(p)
        | Call::Chmod(p, _)
        | Call::Truncate(p, _)
        | Call::Access(p, _)
        | Call::Touch(p)
        | Call::Exec(p) => vec![(p, ResolveFlags::FOLLOW, false)],
        Call::Write(p, _) | Call::Append(p, _) | Call::Overwrite(p, _) | Call::ReadWrite(p, _) => {
            vec![(p, creat, false)]
        }
        Call::Lstat(p) | Call::Readlink(p) => vec![(p, ResolveFlags::NOFOLLOW, false)],
        Call::List(p) | Call::Chdir(p) | Call::OpenDir(p) => {
            vec![(p, ResolveFlags::DIRECTORY, false)]
        }
        // Relative to a directory fd: no proposed observation (every fix is shipped).
        Call::ReadAt(..) | Call::StatAt(..) => Vec::new(),
        Call::Mkdir(p)
        | Call::Symlink(_, p)
        | Call::Mknod(p)
        | Call::Rmdir(p)
        | Call::Unlink(p) => {
            vec![(p, ResolveFlags::DIRECTORY, true)]
        }
        Call::Link(o, n) => {
            vec![(o, ResolveFlags::NOFOLLOW, false), (n, ResolveFlags::DIRECTORY, true)]
        }
        Call::Rename(o, n) | Call::RenameNoreplace(o, n) | Call::Exchange(o, n) => {
            vec![(o, ResolveFlags::DIRECTORY, true), (n, ResolveFlags::DIRECTORY, true)]
        }
    }
}

/// Emits the proposed observations that must precede `call`'s own (G2, G3, G5) when the
/// tracer runs with them.
pub fn before_call(t: &mut Traced, call: &Call) {
    if !t.proposed {
        return;
    }
    for (path, flags, parent_only) in walks(call) {
        let at = t.at(path);
        let walked = if parent_only {
            At { base: at.base.clone(), path: split_last(path).0 }
        } else {
            at.clone()
        };
        let w = walk(&t.os.fs, &walked, flags);
        for (link, target) in w.links {
            t.emit(Observation::ReadLink { path: link, target });
        }
        if parent_only {
            name_and_parent(t, path, &walked);
        }
    }
    if let Call::Append(p, _) | Call::Overwrite(p, _) | Call::ReadWrite(p, _) = call {
        let at = t.at(p);
        let outcome = resolve_kind(&t.os.fs, &at.base, &at.path, ResolveFlags::FOLLOW);
        let flags = ResolveFlags::FOLLOW;
        t.emit(Observation::Resolve { at, flags, outcome, opened_for_read: false });
    }
}

/// G2 and G3: the parent of a name-changing call, the name itself (not followed, trailing
/// slashes trimmed), and the listing of a directory it would remove or replace.
fn name_and_parent(t: &mut Traced, path: &[u8], parent: &At) {
    let fs = &t.os.fs;
    let outcome = resolve_kind(fs, &parent.base, &parent.path, ResolveFlags::DIRECTORY);
    let obs = Observation::Resolve {
        at: parent.clone(),
        flags: ResolveFlags::DIRECTORY,
        outcome,
        opened_for_read: false,
    };
    t.emit(obs);
    let named = At { base: parent.base.clone(), path: path.to_vec() };
    let Some((_, at)) = named.created_name() else { return };
    let outcome = resolve_kind(&t.os.fs, &at.base, &at.path, ResolveFlags::NOFOLLOW);
    let host = crate::path::join(&at.base, &at.path);
    t.emit(Observation::Resolve {
        at,
        flags: ResolveFlags::NOFOLLOW,
        outcome,
        opened_for_read: false,
    });
    if outcome == Ok(FileKind::Directory) {
        let canon = crate::ops::canonical(&t.os.fs, &host, false);
        if let Some(names) = crate::trace::list_at(&t.os.fs, &canon) {
            t.emit(Observation::List { dir: canon, names });
        }
    }
}

/// The shipped lowering plus G4: a path created and removed by the run was absent before it.
pub fn lower_proposed(run: &Run, root: &[u8]) -> Entry {
    let created: Vec<Vec<u8>> = {
        let mut l = crate::lower::Lowering::new();
        for o in &run.obs {
            l.observe(o);
        }
        l.changed()
            .filter(|c| c.before.is_none() && crate::path::is_within(&c.path, root))
            .filter(|c| {
                crate::run::final_state(&run.fs, &c.path, true) == crate::lower::Final::Absent
            })
            .map(|c| c.path.clone())
            .collect()
    };
    let mut entry = entry_of(lower_observations(run.obs.clone(), &run.fs, root), &run.transcript);
    // G9: a file written through one of several hard links changes every name of it; unless
    // all of them are effects, the run cannot be replayed faithfully.
    let outputs: Vec<&[u8]> = entry.effects.iter().map(|e| e.path()).collect();
    for group in run.fs.hard_link_groups() {
        let touched = group.iter().any(|p| outputs.contains(&p.as_slice()));
        if touched && !group.iter().all(|p| outputs.contains(&p.as_slice())) {
            let what = "wrote a file that has other hard links".to_string();
            entry.uncacheable.push(crate::entry::Uncacheable::Unsupported { what });
            break;
        }
    }
    for path in created {
        entry.predicates.push(Predicate::DoesNotResolve {
            path,
            base: b"/".to_vec(),
            flags: ResolveFlags::NOFOLLOW,
            errno: Errno::ENOENT,
        });
    }
    entry
}
