//! Nested commands: their keys, the skip-in-place decision at exec, and their entries.

use super::{Instance, Recorder};
use crate::check::{DryIgnore, LiveFs};
use crate::decide::{decide, Decision};
use crate::store::{Store, StoreError};
use crate::trace::{CmdId, ExecDecision, ExecRequest};
use model::check::Rules;
use model::check::StdinSource as _;
use model::entry::{ExitStatus, Uncacheable};
use model::lower::ChildChange;
use model::observe::Observation;
use model::predicate::{Predicate, StdinKind};
use model::{CommandKey, Entry};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

/// What nested recording needs to know about the build.
#[derive(Clone, Debug)]
pub struct Nested {
    /// The store of the project.
    pub store: Store,
    /// The project root.
    pub root: Vec<u8>,
    /// The `.dry/` directory, passed to `dry __replay`.
    pub dry_dir: Vec<u8>,
    /// dry's own executable, exec'd in place of a skipped command.
    pub dry_exe: Vec<u8>,
    /// Environment variables left out of keys (`--env-ignore`).
    pub ignored_env: Vec<Vec<u8>>,
    /// The rules nested entries are checked under (`--strict`: none relaxed).
    pub rules: Rules,
    /// `--force`: no nested command is skipped; every one runs and is recorded again.
    pub force: bool,
    /// `--ttl`: how long (ns) a run uncacheable only for unseen inputs may be replayed.
    pub ttl_ns: Option<u64>,
    /// `(st_dev, st_ino)` of dry's own standard input, which the top-level command inherits
    /// (`LiveStdin::identity`).
    pub stdin_id: Option<(u64, u64)>,
    /// The names listings leave out (`.dryignore`; `None` under `--strict`), for the check of
    /// a nested command as for the top-level one.
    pub dryignore: Option<Arc<DryIgnore>>,
}

/// Why a nested command with standard input `stdin` may never be replayed, if it may not: its
/// standard input is a pipe, socket, terminal or device that the tree itself set up (a
/// here-document, a pipeline stage), whose bytes it may read and dry cannot check. Dry's own
/// standard input, inherited, is treated as at the top level: recorded by kind, and a read of
/// a pipe or terminal makes the readers uncacheable (notes/0002-stdin.md).
fn unchecked_stdin(n: &Nested, stdin: &crate::check::LiveStdin) -> Option<StdinKind> {
    let kind = stdin.stdin_kind();
    let inherited = stdin.identity().is_some() && stdin.identity() == n.stdin_id;
    (!kind.checkable() && !inherited).then_some(kind)
}

/// What happened to one nested command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepOutcome {
    /// Skipped in place: its recorded entry was replayed.
    Replayed,
    /// Ran, for this reason.
    Ran(String),
}

/// One nested command of a build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Its argv.
    pub argv: Vec<Vec<u8>>,
    /// How many recorded nested commands it runs within (0: a step of the top-level command
    /// itself, such as a recipe of make or a line of a script).
    pub depth: usize,
    /// What happened.
    pub outcome: StepOutcome,
}

/// The key of an exec'd command, or `None` if it is not to be recorded (it runs outside the
/// project root, or its program cannot be hashed).
fn key_of(rec: &mut Recorder<'_>, req: &ExecRequest<'_>) -> Option<CommandKey> {
    let n = rec.nested.as_ref()?;
    // Only commands run inside the project are recorded; the key names the place itself.
    model::path::relative_to(req.cwd, &n.root)?;
    let cwd = req.cwd.to_vec();
    let ignored = n.ignored_env.clone();
    let exe_hash = rec.fingerprints.hash_path(Path::new(OsStr::from_bytes(req.exe))).ok()?;
    let env = req.env.iter().map(|kv| match kv.iter().position(|&b| b == b'=') {
        Some(i) => (kv[..i].to_vec(), kv[i + 1..].to_vec()),
        None => (kv.clone(), Vec::new()),
    });
    let key = CommandKey::new(req.exe.to_vec(), exe_hash, req.argv.to_vec(), cwd, env, &ignored);
    // A step whose stdout is the pseudo-terminal dry gave the command is at a terminal.
    Some(key.with_streams(req.streams))
}

/// Whether a `Content` input of `entry` is open for writing by a running process of the tree:
/// then the entry is not trusted (a parallel sibling may still change it).
fn input_busy(entry: &Entry, open_for_writing: &[Vec<u8>]) -> bool {
    entry.predicates.iter().any(|p| match p {
        Predicate::Content { path, .. } => {
            let norm = model::path::normalize(path);
            open_for_writing.contains(&norm)
        }
        _ => false,
    })
}

/// At a nested exec: replay a holding entry in place, or let the command run.
pub fn exec_requested(rec: &mut Recorder<'_>, req: &ExecRequest<'_>) -> ExecDecision {
    let Some(key) = key_of(rec, req) else { return ExecDecision::Run };
    let Some(n) = rec.nested.clone() else { return ExecDecision::Run };
    let stdin = crate::check::LiveStdin::of_process(req.pid);
    if let Some(kind) = unchecked_stdin(&n, &stdin) {
        let reason = format!("its standard input is {}, which dry cannot check", kind.name());
        rec.pending.insert(req.pid, (key, reason));
        return ExecDecision::Run;
    }
    if let Some(writer) = &rec.writer {
        // An entry of this family may still be on its way to the store.
        writer.wait_for(&key.family());
    }
    let entries = match n.store.load_family(&key.family()) {
        Ok(e) => e,
        Err(e) => {
            rec.warnings.push(format!("{e}; treating it as a cache miss"));
            Vec::new()
        }
    };
    let decision = if n.force {
        Decision::Run("--force".to_string())
    } else {
        let live = LiveFs::new(rec.fingerprints).leaving_out(n.dryignore.as_deref());
        decide(&entries, &key, &n.root, &live, &stdin, (n.rules, n.ttl_ns))
    };
    let reason = match decision {
        Decision::Replay(i) if input_busy(&entries[i], req.open_for_writing) => {
            "an input is still open for writing by a running process".to_string()
        }
        Decision::Replay(i) => return replace(rec, &n, req, &key, &entries[i]),
        Decision::Run(reason) => reason,
    };
    rec.pending.insert(req.pid, (key, reason));
    ExecDecision::Run
}

/// Skips a command in place: its entry's inputs and outputs become the chain's, and the exec is
/// replaced by `dry __replay`.
fn replace(
    rec: &mut Recorder<'_>,
    n: &Nested,
    req: &ExecRequest<'_>,
    key: &CommandKey,
    entry: &Entry,
) -> ExecDecision {
    let changes: Vec<ChildChange> = entry
        .effects
        .iter()
        .map(|e| ChildChange {
            path: e.path().to_vec(),
            before: super::kind_now(e.path()),
            mode_only: matches!(e, model::Effect::Dir { .. }),
        })
        .collect();
    for id in req.chain {
        if let Some(inst) = rec.instances.get_mut(id) {
            inst.lowering.absorb(&entry.predicates, &changes);
        }
    }
    let depth = depth(rec, req.chain);
    rec.steps.push(Step { argv: req.argv.to_vec(), depth, outcome: StepOutcome::Replayed });
    let mut argv: Vec<Vec<u8>> = vec![
        n.dry_exe.clone(),
        b"__replay".to_vec(),
        n.dry_dir.clone(),
        n.root.clone(),
        key.family().to_hex().into_bytes(),
        key.id().to_hex().into_bytes(),
        entry.recorded_unix_ns.to_string().into_bytes(),
        b"--".to_vec(),
        req.exe.to_vec(),
    ];
    argv.extend(req.argv.iter().cloned());
    ExecDecision::Replace { exe: n.dry_exe.clone(), argv }
}

/// How many recorded nested instances a chain holds.
fn depth(rec: &Recorder<'_>, chain: &[CmdId]) -> usize {
    chain.iter().filter(|id| **id != 0 && rec.instances.contains_key(id)).count()
}

/// A nested exec succeeded: start recording it as its own command.
pub fn command_started(rec: &mut Recorder<'_>, id: CmdId, req: &ExecRequest<'_>) {
    let (key, reason) = match rec.pending.remove(&req.pid) {
        Some(k) => k,
        None => match key_of(rec, req) {
            Some(k) => (k, "its replay failed".to_string()),
            None => return,
        },
    };
    let depth = depth(rec, req.chain);
    rec.steps.push(Step { argv: req.argv.to_vec(), depth, outcome: StepOutcome::Ran(reason) });
    let mut inst = Instance::new(Some(key));
    // What the command's standard input is, and a regular file's content, are inputs, read or
    // not (as at the top).
    let stdin = crate::check::LiveStdin::of_process(req.pid);
    inst.streams = model::check::StdinSource::output_files(&stdin);
    inst.stdin = model::check::StdinSource::stdin_identity(&stdin);
    if let Some(kind) = rec.nested.as_ref().and_then(|n| unchecked_stdin(n, &stdin)) {
        inst.lowering.observe(&Observation::Uncacheable(Uncacheable::StreamStdin { kind }));
    }
    inst.lowering.observe(&stdin.observation());
    rec.instances.insert(id, inst);
}

/// A nested command ended: record its entry (non-zero exits included, SPEC §6).
pub fn record_instance(
    rec: &mut Recorder<'_>,
    inst: Instance,
    status: ExitStatus,
) -> Result<(), StoreError> {
    let (Some(n), Some(key)) = (rec.nested.as_ref(), inst.key) else { return Ok(()) };
    let store: &Store = &n.store;
    let mut lowered = super::finish(inst.lowering, &n.root, store)?;
    // A step that resolved the file its output goes to (`cat a >> a`) ran as it did because of
    // it: a replay for another output file would not fail where a run fails.
    let reached = inst.streams.iter().any(Option::is_some).then(|| {
        let live = crate::check::LiveFs::new(rec.fingerprints);
        model::into_output::reaches_stream(&lowered.predicates, &live, inst.streams)
    });
    // A step that read its standard input after writing the same file (`tee a < a` truncates
    // `a` first) read what it wrote, not the content its `Stdin` predicate records.
    if inst.stdin.is_some_and(|id| crate::decide::is_an_output(&lowered.effects, id)) {
        let what = "read its standard input, which is one of its outputs".to_string();
        lowered.uncacheable.push(Uncacheable::Unsupported { what });
    }
    if let Some(fd) = reached.flatten() {
        let stream = if fd == 1 { "standard output" } else { "standard error" };
        lowered.uncacheable.push(Uncacheable::Unsupported {
            what: format!("resolved the file its {stream} goes to (as `cat a >> a` reads a)"),
        });
    }
    // A step that ended after dry was interrupted may have done what it did because of the
    // signal (a trap, a cleanup): not a result to replay.
    if let Some(sig) = crate::trace::interrupt::received() {
        lowered.uncacheable.push(Uncacheable::Unsupported {
            what: format!("was interrupted by {sig} sent to the build"),
        });
    }
    let run_ns = u64::try_from(inst.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    let entry = super::entry_of(key, lowered, &inst.stdout, &inst.stderr, status, run_ns, store)?;
    match &rec.writer {
        Some(writer) => {
            writer.record(entry);
            Ok(())
        }
        None => store.record(entry),
    }
}
