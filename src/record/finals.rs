//! The end of a run: the final state of every changed path, with output files stored as
//! objects, turned into a [`Lowered`] by the model.

use crate::store::{Store, StoreError};
use model::entry::{Captured, ExitStatus};
use model::lower::{Final, Lowered, Lowering};
use model::{CommandKey, Entry};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// Reads the final state of every path `lowering` saw changed (within `root`: outside it, only
/// presence matters) and lowers the run.
pub fn finish(mut lowering: Lowering, root: &[u8], store: &Store) -> Result<Lowered, StoreError> {
    let trees: Vec<Vec<u8>> =
        lowering.changed().filter(|c| c.tree).map(|c| c.path.clone()).collect();
    for tree in trees {
        let mut below = Vec::new();
        walk(&tree, &mut below);
        for p in below {
            lowering.add_changed(p, None);
        }
    }
    let mut finals = HashMap::new();
    for c in lowering.changed() {
        let inside = model::path::is_within(&c.path, root);
        finals.insert(c.path.clone(), final_state(&c.path, inside, store)?);
    }
    let mut lowered = lowering.finish(root, &finals);
    // Content read through a symlink the run did not make into one of its outputs was hashed
    // at the open, maybe before the run changed the output under it (gap G6 at record time).
    let mut fingerprints = crate::check::Fingerprints::new();
    let live = crate::check::LiveFs::new(&mut fingerprints);
    model::into_output::mark_reads_into_outputs(&mut lowered, &live);
    Ok(lowered)
}

/// Reads the state a changed path was left in. Outside the project root only presence matters
/// (the run is uncacheable if something remains there), so nothing is hashed.
fn final_state(path: &[u8], inside_root: bool, store: &Store) -> Result<Final, StoreError> {
    let p = Path::new(OsStr::from_bytes(path));
    let Ok(meta) = std::fs::symlink_metadata(p) else {
        return Ok(Final::Absent);
    };
    if !inside_root {
        return Ok(Final::Other);
    }
    let mode = meta.permissions().mode() & 0o7777;
    let ft = meta.file_type();
    Ok(if ft.is_file() {
        let (hash, _) = store.put_file(p)?;
        let shared_inode = (meta.nlink() > 1).then(|| (meta.dev(), meta.ino()));
        Final::File { hash, mode, shared_inode, links: meta.nlink() }
    } else if ft.is_dir() {
        Final::Dir { mode }
    } else if ft.is_symlink() {
        match std::fs::read_link(p) {
            Ok(t) => {
                Final::Symlink { target: t.as_os_str().as_bytes().to_vec(), links: meta.nlink() }
            }
            Err(_) => Final::Absent,
        }
    } else {
        Final::Other
    })
}

/// Returns the kind of file at `path` now (not following a final symlink), `None` if absent.
pub fn kind_now(path: &[u8]) -> Option<model::FileKind> {
    let meta = std::fs::symlink_metadata(OsStr::from_bytes(path)).ok()?;
    let ft = meta.file_type();
    Some(if ft.is_file() {
        model::FileKind::Regular
    } else if ft.is_dir() {
        model::FileKind::Directory
    } else if ft.is_symlink() {
        model::FileKind::Symlink
    } else {
        model::FileKind::Other
    })
}

/// Collects every path below directory `dir` (not following symlinks).
fn walk(dir: &[u8], out: &mut Vec<Vec<u8>>) {
    let Ok(rd) = std::fs::read_dir(OsStr::from_bytes(dir)) else { return };
    for ent in rd.flatten() {
        let p = ent.path().as_os_str().as_bytes().to_vec();
        let is_dir = ent.file_type().map(|t| t.is_dir()).unwrap_or(false);
        out.push(p.clone());
        if is_dir {
            walk(&p, out);
        }
    }
}

/// Builds the entry of a finished run: stores its captured stdout and stderr as objects.
pub fn entry_of(
    key: CommandKey,
    lowered: Lowered,
    stdout: &[u8],
    stderr: &[u8],
    exit: ExitStatus,
    run_ns: u64,
    store: &Store,
) -> Result<Entry, StoreError> {
    Ok(Entry {
        key,
        predicates: lowered.predicates,
        effects: lowered.effects,
        effects_since: lowered.effects_since,
        stdout: Captured { hash: store.put_bytes(stdout)?, size_bytes: stdout.len() as u64 },
        stderr: Captured { hash: store.put_bytes(stderr)?, size_bytes: stderr.len() as u64 },
        exit,
        run_ns,
        recorded_unix_ns: unix_ns(),
        uncacheable: lowered.uncacheable,
        unknown_syscalls: lowered.unknown_syscalls,
    })
}

/// Returns the time now in nanoseconds since the Unix epoch (0 if the clock is before it).
pub fn unix_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(0))
        .unwrap_or(0)
}
