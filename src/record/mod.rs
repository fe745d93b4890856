//! Recording: feeds the tracer's observations into the model's lowering, then reads the final
//! state of every path the run changed (storing the content of output files as objects) and
//! turns the run into a [`model::lower::Lowered`]. Reads user files; never writes them.
#![forbid(unsafe_code)]

use crate::check::Fingerprints;
use crate::store::{Store, StoreError};
use crate::trace::Observer;
use model::lower::{Final, Lowered, Lowering};
use model::observe::Observation;
use model::Hash;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// Collects a run's observations; the tracer's [`Observer`].
pub struct Recorder<'a> {
    lowering: Lowering,
    fingerprints: &'a mut Fingerprints,
}

impl<'a> Recorder<'a> {
    /// Starts recording a run, hashing inputs through `fingerprints`.
    pub fn new(fingerprints: &'a mut Fingerprints) -> Recorder<'a> {
        Recorder { lowering: Lowering::new(), fingerprints }
    }

    /// Ends the run: reads the final state of every changed path within `root`, stores output
    /// files as objects, and lowers the run.
    pub fn finish(mut self, root: &Path, store: &Store) -> Result<Lowered, StoreError> {
        let root = root.as_os_str().as_bytes();
        let trees: Vec<Vec<u8>> =
            self.lowering.changed().filter(|c| c.tree).map(|c| c.path.clone()).collect();
        for tree in trees {
            let mut below = Vec::new();
            walk(&tree, &mut below);
            for p in below {
                self.lowering.add_changed(p, None);
            }
        }
        let mut finals = HashMap::new();
        for c in self.lowering.changed() {
            let inside = model::path::is_within(&c.path, root);
            finals.insert(c.path.clone(), final_state(&c.path, inside, store)?);
        }
        Ok(self.lowering.finish(root, &finals))
    }
}

impl Observer for Recorder<'_> {
    fn observe(&mut self, _pid: i32, obs: Observation) {
        self.lowering.observe(obs);
    }

    fn hash_file(&mut self, path: &Path) -> std::io::Result<Hash> {
        self.fingerprints.hash_path(path)
    }
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
        Final::File { hash, mode, shared_inode }
    } else if ft.is_dir() {
        Final::Dir { mode }
    } else if ft.is_symlink() {
        match std::fs::read_link(p) {
            Ok(t) => Final::Symlink { target: t.as_os_str().as_bytes().to_vec() },
            Err(_) => Final::Absent,
        }
    } else {
        Final::Other
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
