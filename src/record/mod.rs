//! Recording: receives what the traced tree does, one [`model::lower::Lowering`] per command
//! instance (the top-level command and, in nested mode, every exec'd command), decides at each
//! nested exec whether the command can be skipped in place (notes/0006-nested.md), records the
//! entries of nested commands when they end, and finally lowers the top-level run. Reads user
//! files and `lstat`s outputs; never writes user files.
#![forbid(unsafe_code)]

mod finals;
mod nested;
mod writer;

pub use finals::{entry_of, finish, kind_now, unix_ns};
pub use nested::{Nested, Step, StepOutcome};

use crate::check::{keeps_directory_times, listing_hash, Fingerprints};
use crate::store::{Store, StoreError};
use crate::trace::{CmdId, ExecDecision, ExecRequest, Observer};
use model::entry::ExitStatus;
use model::fingerprint::Fingerprint;
use model::lower::{Lowered, Lowering};
use model::observe::Observation;
use model::{CommandKey, Hash};
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;
use writer::EntryWriter;

/// One command instance being recorded.
struct Instance {
    lowering: Lowering,
    /// The key of a nested command; `None` for the top-level command (the CLI knows its key).
    key: Option<CommandKey>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    started: Instant,
    /// Identities of the regular files its fds 1 and 2 were at its exec.
    streams: [Option<(u64, u64)>; 2],
    /// Identity of the regular file its fd 0 was at its exec.
    stdin: Option<(u64, u64)>,
}

impl Instance {
    fn new(key: Option<CommandKey>) -> Instance {
        Instance {
            lowering: Lowering::new(),
            key,
            stdout: Vec::new(),
            stderr: Vec::new(),
            started: Instant::now(),
            streams: [None, None],
            stdin: None,
        }
    }
}

/// Collects a run's observations; the tracer's [`Observer`].
pub struct Recorder<'a> {
    fingerprints: &'a mut Fingerprints,
    instances: HashMap<CmdId, Instance>,
    nested: Option<Nested>,
    /// Keys (and the reason to run) decided at an exec stop, awaiting the exec's success.
    pending: HashMap<i32, (CommandKey, String)>,
    steps: Vec<Step>,
    warnings: Vec<String>,
    /// Records the entries of nested commands, off the tracer's thread (nested mode only).
    writer: Option<EntryWriter>,
}

impl<'a> Recorder<'a> {
    /// Starts recording a run, hashing inputs through `fingerprints`. With `nested`, exec'd
    /// commands are recorded and skipped in place.
    pub fn new(fingerprints: &'a mut Fingerprints, nested: Option<Nested>) -> Recorder<'a> {
        let mut instances = HashMap::new();
        instances.insert(0, Instance::new(None));
        let writer = nested.as_ref().map(|n| EntryWriter::start(n.store.clone()));
        Recorder {
            fingerprints,
            instances,
            nested,
            pending: HashMap::new(),
            steps: Vec::new(),
            warnings: Vec::new(),
            writer,
        }
    }

    /// The nested steps so far: what ran and why, what was replayed.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Problems met while recording nested commands (reported as warnings by the caller).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Ends the run: records the nested commands' entries still waiting to be written (what
    /// fails becomes a warning), then lowers the top-level command's observations.
    pub fn finish(&mut self, root: &Path, store: &Store) -> Result<Lowered, StoreError> {
        use std::os::unix::ffi::OsStrExt;
        if let Some(writer) = self.writer.as_mut() {
            self.warnings.extend(writer.finish());
        }
        let top = self.instances.remove(&0).map(|i| i.lowering).unwrap_or_default();
        finish(top, root.as_os_str().as_bytes(), store)
    }
}

impl Observer for Recorder<'_> {
    fn observe(&mut self, chain: &[CmdId], obs: Observation) {
        for id in chain {
            if let Some(inst) = self.instances.get_mut(id) {
                inst.lowering.observe(&obs);
            }
        }
    }

    fn hash_file(&mut self, path: &Path) -> std::io::Result<Hash> {
        self.fingerprints.hash_path(path)
    }

    fn walks_through_changes(&self, at: &model::observe::At) -> bool {
        // Instance 0 (the top-level command) changed everything the tree changed.
        self.instances.get(&0).is_some_and(|i| i.lowering.walks_through_own_at(&at.base, &at.path))
    }

    fn changes(&self) -> u64 {
        self.instances.get(&0).map_or(0, |i| i.lowering.changes())
    }

    fn walks_through_changes_since(&self, spelled: &[u8], mark: u64) -> bool {
        self.instances.get(&0).is_some_and(|i| i.lowering.walks_through_own_since(spelled, mark))
    }

    fn hash_open_file(
        &mut self,
        path: &Path,
        file: &std::fs::File,
        meta: &std::fs::Metadata,
    ) -> std::io::Result<Hash> {
        use std::os::unix::ffi::OsStrExt;
        self.fingerprints.hash_opened(path.as_os_str().as_bytes(), file, meta)
    }

    fn listed(&mut self, dir: &[u8], before: Fingerprint, names: &[Vec<u8>]) {
        // As a check does (`check::live`): only where a directory's times follow its entries.
        if keeps_directory_times(dir) {
            let hash = listing_hash(names.iter().map(Vec::as_slice));
            self.fingerprints.note_listing(dir, before, hash);
        }
    }

    fn exec_requested(&mut self, req: &ExecRequest<'_>) -> ExecDecision {
        nested::exec_requested(self, req)
    }

    fn command_started(&mut self, id: CmdId, req: &ExecRequest<'_>) {
        nested::command_started(self, id, req);
    }

    fn output(&mut self, id: CmdId, fd: i32, bytes: &[u8]) {
        if let Some(inst) = self.instances.get_mut(&id) {
            match fd {
                1 => inst.stdout.extend_from_slice(bytes),
                _ => inst.stderr.extend_from_slice(bytes),
            }
        }
    }

    fn command_ended(&mut self, id: CmdId, status: ExitStatus) {
        if id == 0 {
            return;
        }
        if let Some(inst) = self.instances.remove(&id) {
            if let Err(e) = nested::record_instance(self, inst, status) {
                self.warnings.push(e.to_string());
            }
        }
    }
}
