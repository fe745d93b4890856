//! The test harness: runs a command under the real tracer and collects what it reports, with
//! helpers that normalise temporary paths and pick observations out of a run.

use crate::trace::{
    run_with_stdin, CmdId, ExecDecision, ExecRequest, Observer, Spawn, Stops, TraceError,
};
use model::entry::ExitStatus;
use model::fingerprint::Fingerprint;
use model::fs::FileKind;
use model::observe::Observation;
use model::resolve::ResolveFlags;
use model::{Errno, Hash};
use std::ffi::OsString;
use std::io::{Read, Seek};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;
use tempfile::TempDir;

/// The Python interpreter used by the tests (the real binary, not a shim script).
pub(super) const PYTHON: &str = "/usr/bin/python3";

/// An exec request as the tests keep it: bytes as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Req {
    pub(super) pid: i32,
    pub(super) exe: String,
    pub(super) argv: Vec<String>,
    pub(super) env: Vec<String>,
    pub(super) cwd: String,
    pub(super) chain: Vec<CmdId>,
    pub(super) open_for_writing: Vec<String>,
}

impl Req {
    fn of(r: &ExecRequest<'_>) -> Req {
        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let all = |v: &[Vec<u8>]| v.iter().map(|b| s(b)).collect();
        Req {
            pid: r.pid,
            exe: s(r.exe),
            argv: all(r.argv),
            env: all(r.env),
            cwd: s(r.cwd),
            chain: r.chain.to_vec(),
            open_for_writing: all(r.open_for_writing),
        }
    }
}

/// What the tracer told the observer besides observations (nested mode).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Event {
    /// `exec_requested`.
    Requested(Req),
    /// `command_started`.
    Started(CmdId, Req),
    /// `output`.
    Output(CmdId, i32, Vec<u8>),
    /// `command_ended`.
    Ended(CmdId, ExitStatus),
    /// `listed`: the directory, its fingerprint before it was read, its names.
    Listed(Vec<u8>, Fingerprint, Vec<Vec<u8>>),
}

/// How the test observer answers `exec_requested`.
pub(super) type Decide = Box<dyn FnMut(&Req) -> ExecDecision + Send>;

/// An observer that keeps everything and hashes with blake3.
#[derive(Default)]
pub(super) struct Collect {
    pub(super) obs: Vec<(Vec<CmdId>, Observation)>,
    pub(super) events: Vec<Event>,
    pub(super) decide: Option<Decide>,
}

impl Observer for Collect {
    fn observe(&mut self, chain: &[CmdId], obs: Observation) {
        self.obs.push((chain.to_vec(), obs));
    }

    fn hash_file(&mut self, path: &Path) -> std::io::Result<Hash> {
        Ok(Hash::of(&std::fs::read(path)?))
    }

    fn hash_open_file(
        &mut self,
        _path: &Path,
        file: &std::fs::File,
        _meta: &std::fs::Metadata,
    ) -> std::io::Result<Hash> {
        // As the recorder does: through the tracer's own file, by positional reads, so that a
        // hand-over that moved its offset would show in what the tracee reads.
        crate::check::hash_whole(file)
    }

    fn listed(&mut self, dir: &[u8], before: Fingerprint, names: &[Vec<u8>]) {
        self.events.push(Event::Listed(dir.to_vec(), before, names.to_vec()));
    }

    fn exec_requested(&mut self, req: &ExecRequest<'_>) -> ExecDecision {
        let req = Req::of(req);
        let decision = self.decide.as_mut().map_or(ExecDecision::Run, |d| d(&req));
        self.events.push(Event::Requested(req));
        decision
    }

    fn command_started(&mut self, id: CmdId, req: &ExecRequest<'_>) {
        self.events.push(Event::Started(id, Req::of(req)));
    }

    fn output(&mut self, id: CmdId, fd: i32, bytes: &[u8]) {
        self.events.push(Event::Output(id, fd, bytes.to_vec()));
    }

    fn command_ended(&mut self, id: CmdId, status: ExitStatus) {
        self.events.push(Event::Ended(id, status));
    }
}

/// A finished traced run.
pub(super) struct Run {
    pub(super) status: ExitStatus,
    pub(super) obs: Vec<(Vec<CmdId>, Observation)>,
    pub(super) events: Vec<Event>,
    /// The canonical temporary directory, as bytes.
    root: Vec<u8>,
    pub(super) stdout: Vec<u8>,
    pub(super) stops: Stops,
    /// How many syscalls reached the tracer as seccomp notifications.
    pub(super) notices: u64,
}

/// A temporary work directory and its canonical path (`/tmp` may be a symlink).
pub(super) fn workdir() -> (TempDir, PathBuf) {
    let dir = TempDir::new().expect("tempdir");
    let f = std::fs::File::open(dir.path()).expect("open tempdir");
    let fd = std::os::fd::AsRawFd::as_raw_fd(&f);
    let real = std::fs::read_link(format!("/proc/self/fd/{fd}")).expect("readlink tempdir");
    (dir, real)
}

/// Writes `content` to `dir/name`, creating parent directories.
pub(super) fn write(dir: &Path, name: &str, content: &str) {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).expect("mkdir -p");
    }
    std::fs::write(p, content).expect("write fixture");
}

fn spawn(
    dir: &Path,
    exe: &str,
    argv: &[&str],
    stops: Stops,
    nested: bool,
) -> (Spawn, std::fs::File) {
    let out = tempfile::tempfile().expect("stdout file");
    let err = out.try_clone().expect("stderr file");
    let path = format!("{}/bin1:/usr/bin:/bin", dir.display());
    let spawn = Spawn {
        exe: PathBuf::from(exe),
        argv: argv.iter().map(OsString::from).collect(),
        env: vec![
            ("PATH".into(), path.into()),
            ("LC_ALL".into(), "C".into()),
            ("HOME".into(), dir.as_os_str().to_owned()),
        ],
        cwd: dir.to_path_buf(),
        stdout: OwnedFd::from(out.try_clone().expect("stdout fd")),
        stderr: OwnedFd::from(err),
        stops,
        nested,
    };
    (spawn, out)
}

/// How long a traced test command may take before the test fails (a hung tracer).
const TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `exe argv...` in `dir`; `stdin` replaces the inherited standard input if given. The
/// tracer runs on its own thread so that a hang fails the test instead of blocking it.
pub(super) fn trace(
    dir: &Path,
    exe: &str,
    argv: &[&str],
    stops: Stops,
    stdin: Option<OwnedFd>,
) -> Result<Run, TraceError> {
    trace_nested(dir, exe, argv, stops, stdin, None)
}

/// Runs `exe argv...` in `dir`, in nested mode if `decide` is given (it answers every exec
/// request).
pub(super) fn trace_nested(
    dir: &Path,
    exe: &str,
    argv: &[&str],
    stops: Stops,
    stdin: Option<OwnedFd>,
    decide: Option<Decide>,
) -> Result<Run, TraceError> {
    let (spawn, mut out) = spawn(dir, exe, argv, stops, decide.is_some());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut c = Collect { decide, ..Collect::default() };
        let traced = run_with_stdin(spawn, stdin, &mut c);
        let _ = tx.send(traced.map(|t| (t, c.obs, c.events)));
    });
    let (traced, obs, events) = rx
        .recv_timeout(TIMEOUT)
        .unwrap_or_else(|_| panic!("the traced command hung ({stops:?})"))?;
    let (status, notices) = (traced.status, traced.notices);
    let mut stdout = Vec::new();
    out.rewind().expect("rewind stdout");
    out.read_to_end(&mut stdout).expect("read stdout");
    let root = dir.as_os_str().as_bytes().to_vec();
    Ok(Run { status, obs, events, root, stdout, stops, notices })
}

/// Runs `sh -c script` in `dir`.
pub(super) fn sh(dir: &Path, script: &str, stops: Stops) -> Run {
    trace(dir, "/bin/sh", &["sh", "-c", script], stops, None).expect("trace sh")
}

/// Runs `sh -c script` in `dir` in nested mode, answering exec requests with `decide`.
pub(super) fn sh_nested(dir: &Path, script: &str, stops: Stops, decide: Decide) -> Run {
    trace_nested(dir, "/bin/sh", &["sh", "-c", script], stops, None, Some(decide))
        .expect("trace sh")
}

/// Runs `python3 -c code` in `dir`.
pub(super) fn python(dir: &Path, code: &str, stops: Stops) -> Run {
    trace(dir, PYTHON, &["python3", "-c", code], stops, None).expect("trace python3")
}

impl Run {
    /// Replaces the temporary directory in a path by `$T`.
    pub(super) fn norm(&self, p: &[u8]) -> String {
        let s = String::from_utf8_lossy(p).into_owned();
        let root = String::from_utf8_lossy(&self.root).into_owned();
        s.replace(&root, "$T")
    }

    /// Every observation, with pids.
    pub(super) fn all(&self) -> impl Iterator<Item = &Observation> {
        self.obs.iter().map(|(_, o)| o)
    }

    /// `(path, hash)` of every `Read`.
    pub(super) fn reads(&self) -> Vec<(String, Hash)> {
        (self.all())
            .filter_map(|o| match o {
                Observation::Read { path, hash } => Some((self.norm(path), *hash)),
                _ => None,
            })
            .collect()
    }

    /// `(path, before)` of every `Touch`.
    pub(super) fn touches(&self) -> Vec<(String, Option<FileKind>)> {
        (self.all())
            .filter_map(|o| match o {
                Observation::Touch { path, before } => Some((self.norm(path), *before)),
                _ => None,
            })
            .collect()
    }

    /// `(absolute path, flags, outcome)` of every `Resolve`.
    pub(super) fn resolves(&self) -> Vec<(String, ResolveFlags, Result<FileKind, Errno>)> {
        (self.all())
            .filter_map(|o| match o {
                Observation::Resolve { at, flags, outcome, .. } => {
                    Some((self.norm(&at.absolute()), *flags, *outcome))
                }
                _ => None,
            })
            .collect()
    }

    /// Reports whether some `Resolve` of `path` had `outcome`.
    pub(super) fn resolved(&self, path: &str, outcome: Result<FileKind, Errno>) -> bool {
        self.resolves().iter().any(|(p, _, o)| p == path && *o == outcome)
    }

    /// Reports whether `obs` was observed.
    pub(super) fn saw(&self, obs: &Observation) -> bool {
        self.all().any(|o| o == obs)
    }

    /// A label for assertion messages: the mode and the observations.
    pub(super) fn ctx(&self) -> String {
        let mut lines: Vec<String> =
            self.obs.iter().map(|(c, o)| format!("{c:?} {}", self.show(o))).collect();
        lines.extend(self.events.iter().map(|e| self.norm(format!("{e:?}").as_bytes())));
        format!("stops={:?} status={:?}\n{}", self.stops, self.status, lines.join("\n"))
    }
}

impl Run {
    /// One observation in words, paths as text.
    fn show(&self, o: &Observation) -> String {
        let n = |p: &[u8]| self.norm(p);
        match o {
            Observation::Resolve { at, flags, outcome, opened_for_read } => format!(
                "Resolve {} (base {}) {flags:?} {outcome:?} read={opened_for_read}",
                n(&at.path),
                n(&at.base)
            ),
            Observation::Stat { path, meta, .. } => format!("Stat {} {meta:?}", n(path)),
            Observation::Read { path, .. } => format!("Read {}", n(path)),
            Observation::ReadLink { path, target } => {
                format!("ReadLink {} -> {}", n(path), n(target))
            }
            Observation::List { dir, names } => {
                let names: Vec<String> = names.iter().map(|x| n(x)).collect();
                format!("List {} {names:?}", n(dir))
            }
            Observation::Touch { path, before } => format!("Touch {} {before:?}", n(path)),
            Observation::TouchMode { path } => format!("TouchMode {}", n(path)),
            Observation::TouchTree { from, path } => {
                format!("TouchTree {} -> {}", n(from), n(path))
            }
            other => format!("{other:?}"),
        }
    }
}

/// The hash of `content`.
pub(super) fn h(content: &str) -> Hash {
    Hash::of(content.as_bytes())
}
