//! The whole pipeline on the model: `run(program, fs)`, `lower(run)`, `check` (that is
//! [`crate::check::check`] itself) and `replay(entry, fs)`.
//!
//! [`run`] executes a [`Program`] under the modelled tracer and keeps what dry keeps: the
//! observations, the final filesystem, and the content of every file in it as objects (the
//! store's `Hash → bytes`). [`lower_observations`] is `src/record`'s `Recorder::finish` on a
//! [`MemFs`]: it feeds the shipped [`Lowering`], adds the subtree of directories renamed into
//! place, reads each changed path's [`Final`] state, and finishes. [`replay`] applies effects as
//! restore does: each effect replaces whatever is at its path, files as fresh inodes (written
//! to a temporary name and renamed into place).

use crate::effect::Effect;
use crate::entry::{Captured, Entry, ExitStatus};
use crate::fs::{FileKind, Fs};
use crate::key::CommandKey;
use crate::lower::{Final, Lowered, Lowering};
use crate::memfs::{Inode, MemFs, Snap};
use crate::observe::Observation;
use crate::ops::Os;
use crate::program::{exec, Program};
use crate::resolve::{resolve, ResolveFlags, Resolved};
use crate::Hash;
use std::collections::{BTreeMap, HashMap};

/// What one run of a program left.
#[derive(Clone, Debug)]
pub struct Run {
    /// The observations, as the tracer would report them.
    pub obs: Vec<Observation>,
    /// For each observation, the call that produced it ([`crate::trace::Call::name`]).
    pub origin: Vec<&'static str>,
    /// What the program saw: every call and its result.
    pub transcript: Vec<u8>,
    /// The filesystem when the run ended.
    pub fs: MemFs,
    /// The content of every regular file in `fs`, by hash.
    pub objects: BTreeMap<Hash, Vec<u8>>,
}

/// Runs `program` on a copy of `fs`, starting in directory `cwd`, under the tracer as shipped.
/// A `cwd` that is not a directory runs nothing.
pub fn run(program: &Program, fs: &MemFs, cwd: &[u8]) -> Run {
    run_traced(program, fs, cwd, false)
}

/// Runs `program` like [`run`]; with `proposed`, the tracer also emits the observations of the
/// proposed fixes ([`crate::fixes`]).
pub fn run_traced(program: &Program, fs: &MemFs, cwd: &[u8], proposed: bool) -> Run {
    let Some(os) = Os::new(fs.clone(), cwd) else {
        let objects = objects_of(fs);
        return Run {
            obs: Vec::new(),
            origin: Vec::new(),
            transcript: Vec::new(),
            fs: fs.clone(),
            objects,
        };
    };
    let mut traced = crate::trace::Traced::new(os);
    traced.proposed = proposed;
    let transcript = exec(program, &mut traced);
    let fs = traced.os.fs;
    let objects = objects_of(&fs);
    Run { obs: traced.obs, origin: traced.origin, transcript, fs, objects }
}

fn objects_of(fs: &MemFs) -> BTreeMap<Hash, Vec<u8>> {
    fs.snapshot()
        .into_values()
        .filter_map(|s| match s {
            Snap::File { content, .. } => Some((Hash::of(&content), content)),
            _ => None,
        })
        .collect()
}

/// Returns the node at absolute normalised `path`, not following a final symlink.
fn node_at(fs: &MemFs, path: &[u8]) -> Option<usize> {
    match resolve(fs, b"/", path, ResolveFlags::NOFOLLOW) {
        Ok(Resolved::Node(n)) => Some(n),
        _ => None,
    }
}

/// Reads the state a changed path was left in (`final_state` of `src/record`).
pub fn final_state(fs: &MemFs, path: &[u8], inside_root: bool) -> Final {
    let Some(n) = node_at(fs, path) else { return Final::Absent };
    if !inside_root {
        return Final::Other;
    }
    match fs.inode(n) {
        Some(Inode::File { content, mode }) => Final::File {
            hash: Hash::of(content),
            mode: *mode,
            shared_inode: (fs.nlink(n) > 1).then_some((0, n as u64)),
            links: fs.nlink(n) as u64,
        },
        Some(Inode::Dir { mode, .. }) => Final::Dir { mode: *mode },
        Some(Inode::Symlink { target }) => {
            Final::Symlink { target: target.clone(), links: fs.nlink(n) as u64 }
        }
        None => Final::Absent,
    }
}

/// Collects every path below directory `dir` (not following symlinks), as `src/record` does.
fn walk(fs: &MemFs, dir: &[u8], out: &mut Vec<Vec<u8>>) {
    let Some(n) = node_at(fs, dir) else { return };
    let Ok(names) = fs.list(&n) else { return };
    for name in names {
        let p = crate::path::join(dir, &name);
        let is_dir = node_at(fs, &p)
            .is_some_and(|c| fs.meta(&c).map(|m| m.kind).ok() == Some(FileKind::Directory));
        out.push(p.clone());
        if is_dir {
            walk(fs, &p, out);
        }
    }
}

/// Lowers `obs` with the shipped [`Lowering`], reading final states from `after`.
pub fn lower_observations(
    obs: impl IntoIterator<Item = Observation>,
    after: &MemFs,
    root: &[u8],
) -> Lowered {
    let mut lowering = Lowering::new();
    for o in obs {
        lowering.observe(&o);
    }
    let trees: Vec<Vec<u8>> =
        lowering.changed().filter(|c| c.tree).map(|c| c.path.clone()).collect();
    for tree in trees {
        let mut below = Vec::new();
        walk(after, &tree, &mut below);
        for p in below {
            lowering.add_changed(p, None);
        }
    }
    let mut finals = HashMap::new();
    for c in lowering.changed() {
        let inside = crate::path::is_within(&c.path, root);
        finals.insert(c.path.clone(), final_state(after, &c.path, inside));
    }
    let mut lowered = lowering.finish(root, &finals);
    crate::into_output::mark_reads_into_outputs(&mut lowered, after);
    lowered
}

/// Wraps a lowered run into an [`Entry`]; stdout stands for the transcript.
pub fn entry_of(lowered: Lowered, transcript: &[u8]) -> Entry {
    let key =
        CommandKey::new(b"/model/program".to_vec(), Hash::of(b""), vec![], b".".to_vec(), [], &[]);
    let empty = Captured { hash: Hash::of(b""), size_bytes: 0 };
    Entry {
        key,
        predicates: lowered.predicates,
        effects: lowered.effects,
        effects_since: lowered.effects_since,
        stdout: Captured { hash: Hash::of(transcript), size_bytes: transcript.len() as u64 },
        stderr: empty,
        exit: ExitStatus::Code(0),
        run_ns: 0,
        recorded_unix_ns: 0,
        uncacheable: lowered.uncacheable,
        unknown_syscalls: lowered.unknown_syscalls,
    }
}

/// Lowers a run: its observations, final filesystem and transcript, with project root `root`.
pub fn lower(run: &Run, root: &[u8]) -> Entry {
    entry_of(lower_observations(run.obs.iter().cloned(), &run.fs, root), &run.transcript)
}

/// Why an entry could not be replayed onto a filesystem.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ReplayError {
    /// The effect's path.
    pub path: Vec<u8>,
    /// What went wrong.
    pub why: &'static str,
}

/// Applies `effects` in order to a copy of `fs`, taking file contents from `objects`.
pub fn replay(
    effects: &[Effect],
    fs: &MemFs,
    objects: &BTreeMap<Hash, Vec<u8>>,
) -> Result<MemFs, ReplayError> {
    let mut fs = fs.clone();
    for e in effects {
        let path = e.path().to_vec();
        let fail = |why| ReplayError { path: path.clone(), why };
        let name = crate::path::file_name(&path).to_vec();
        let parent = match resolve(&fs, b"/", crate::path::parent(&path), ResolveFlags::DIRECTORY) {
            Ok(Resolved::Node(d)) => d,
            _ if matches!(e, Effect::Absent { .. }) => continue,
            _ => return Err(fail("parent directory missing")),
        };
        let node = match e {
            Effect::Absent { .. } => {
                fs.unlink_entry(parent, &name);
                continue;
            }
            Effect::Dir { mode, .. } => match fs.lookup(&parent, &name).ok().flatten() {
                Some(d) if matches!(fs.inode(d), Some(Inode::Dir { .. })) => {
                    if let Some(Inode::Dir { mode: m, .. }) = fs.inode_mut(d) {
                        *m = *mode;
                    }
                    continue;
                }
                _ => fs.alloc(Inode::Dir { entries: BTreeMap::new(), parent, mode: *mode }),
            },
            Effect::File { hash, mode, .. } => {
                let content = objects.get(hash).ok_or_else(|| fail("object missing"))?.clone();
                fs.alloc(Inode::File { content, mode: *mode })
            }
            Effect::Symlink { target, .. } => fs.alloc(Inode::Symlink { target: target.clone() }),
            Effect::HardLink { to, .. } => match node_at(&fs, to) {
                Some(n) if !matches!(fs.inode(n), Some(Inode::Dir { .. })) => n,
                _ => return Err(fail("hard link target missing")),
            },
        };
        fs.link_entry(parent, &name, node);
    }
    Ok(fs)
}
