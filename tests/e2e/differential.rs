//! Differential fuzzing over real programs: random short shell scripts on random small trees,
//! run once under `dry build` and once plainly, must leave the same world behind.
//!
//! A case is a starting tree, a script and the edits made to the tree between runs
//! ([`Case`]). Two copies of the tree are made; in one the script runs as
//! `dry build -v $DRY_DIFF_FLAGS -- bash -c SCRIPT`, in the other as `bash -c SCRIPT`. After
//! every run the exit status, stdout, stderr (minus dry's own `dry: ` lines) and the whole tree
//! (kind, content, permission bits, symlink targets, hard-link groups; `.dry/` excluded) must be
//! equal. Then the same edits are made to both copies and the script runs again, so later runs
//! exercise replays, nested skips and misses. The scripts come from a vocabulary of everyday
//! tools ([`VOCABULARY`], in `differential_gen.rs`) over a five-letter name alphabet, so that
//! scripts, trees and edits collide.
//!
//! What this module must not do: it never judges a run dry decided not to cache (a rerun is
//! always allowed), only outputs, and it never writes outside the temporary projects (the work
//! directory is three levels below the project root so that `..` in generated symlinks stays
//! inside). Everything is deterministic from a seed: case `i` of a run is generated from
//! `DRY_DIFF_SEED + i`. How to run it long and how findings become regression cases:
//! notes/differential.md.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::differential_gen::{generate, Vocabulary};
use super::harness::Project;

/// The work directory of a case, relative to the project root: deep enough that a generated
/// symlink's `..` cannot leave the project.
const WORK: &str = "u/v/w";

/// One entry of a starting tree, made in order (a file under a directory comes after it).
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// A regular file with its content and permission bits.
    File(String, String, u32),
    /// A directory.
    Dir(String),
    /// A symbolic link and its target.
    Symlink(String, String),
    /// A hard link to an earlier file.
    Hardlink(String, String),
}

impl Node {
    /// Returns a regular file with mode 0644.
    pub fn file(path: &str, content: &str) -> Node {
        Node::File(path.into(), content.into(), 0o644)
    }

    /// Returns an executable regular file (mode 0755).
    pub fn exec(path: &str, content: &str) -> Node {
        Node::File(path.into(), content.into(), 0o755)
    }

    /// Returns a directory.
    pub fn dir(path: &str) -> Node {
        Node::Dir(path.into())
    }

    /// Returns a symbolic link `path -> target`.
    pub fn symlink(path: &str, target: &str) -> Node {
        Node::Symlink(path.into(), target.into())
    }

    /// Returns a hard link `path` to the earlier file `to`.
    pub fn hardlink(path: &str, to: &str) -> Node {
        Node::Hardlink(path.into(), to.into())
    }

    fn make(&self, work: &Path) {
        // Errors are ignored on purpose: both copies fail the same way (a minimised tree may
        // have lost the directory a file was in).
        let _ = match self {
            Node::File(p, content, mode) => std::fs::write(work.join(p), content).and_then(|()| {
                std::fs::set_permissions(work.join(p), std::fs::Permissions::from_mode(*mode))
            }),
            Node::Dir(p) => std::fs::create_dir(work.join(p)),
            Node::Symlink(p, target) => std::os::unix::fs::symlink(target, work.join(p)),
            Node::Hardlink(p, to) => std::fs::hard_link(work.join(to), work.join(p)),
        };
    }

    fn rust(&self) -> String {
        match self {
            Node::File(p, c, 0o755) => format!("Node::exec({p:?}, {c:?})"),
            Node::File(p, c, _) => format!("Node::file({p:?}, {c:?})"),
            Node::Dir(p) => format!("Node::dir({p:?})"),
            Node::Symlink(p, t) => format!("Node::symlink({p:?}, {t:?})"),
            Node::Hardlink(p, t) => format!("Node::hardlink({p:?}, {t:?})"),
        }
    }
}

/// One change made to both copies between two runs, from outside (not traced).
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    /// Replaces the content of a file (through symlinks, creating it).
    Write(String, String),
    /// Appends to a file (through symlinks, creating it).
    Append(String, String),
    /// Removes whatever is at the path (a directory recursively; a symlink itself).
    Remove(String),
    /// Replaces whatever is at the path by a symlink.
    Symlink(String, String),
    /// Creates a directory.
    Mkdir(String),
    /// Flips the execute bits of a regular file (not through a symlink).
    Chmod(String),
}

impl Edit {
    /// Returns an edit replacing the content of `path`.
    pub fn write(path: &str, content: &str) -> Edit {
        Edit::Write(path.into(), content.into())
    }

    /// Returns an edit appending to `path`.
    pub fn append(path: &str, content: &str) -> Edit {
        Edit::Append(path.into(), content.into())
    }

    /// Returns an edit removing `path`.
    pub fn remove(path: &str) -> Edit {
        Edit::Remove(path.into())
    }

    /// Returns an edit replacing `path` by a symlink to `target`.
    pub fn symlink(path: &str, target: &str) -> Edit {
        Edit::Symlink(path.into(), target.into())
    }

    /// Returns an edit creating the directory `path`.
    pub fn mkdir(path: &str) -> Edit {
        Edit::Mkdir(path.into())
    }

    /// Returns an edit flipping the execute bits of the regular file `path`.
    pub fn chmod(path: &str) -> Edit {
        Edit::Chmod(path.into())
    }

    fn apply(&self, work: &Path) {
        use std::io::Write as _;
        // As for nodes, failures are part of the case: they are the same in both copies.
        let _ = match self {
            Edit::Write(p, c) => std::fs::write(work.join(p), c),
            Edit::Append(p, c) => std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(work.join(p))
                .and_then(|mut f| f.write_all(c.as_bytes())),
            Edit::Remove(p) => remove(&work.join(p)),
            Edit::Symlink(p, t) => {
                let _ = remove(&work.join(p));
                std::os::unix::fs::symlink(t, work.join(p))
            }
            Edit::Mkdir(p) => std::fs::create_dir(work.join(p)),
            Edit::Chmod(p) => match std::fs::symlink_metadata(work.join(p)) {
                Ok(m) if m.is_file() => std::fs::set_permissions(
                    work.join(p),
                    std::fs::Permissions::from_mode((m.mode() & 0o7777) ^ 0o111),
                ),
                _ => Ok(()),
            },
        };
    }

    fn rust(&self) -> String {
        match self {
            Edit::Write(p, c) => format!("Edit::write({p:?}, {c:?})"),
            Edit::Append(p, c) => format!("Edit::append({p:?}, {c:?})"),
            Edit::Remove(p) => format!("Edit::remove({p:?})"),
            Edit::Symlink(p, t) => format!("Edit::symlink({p:?}, {t:?})"),
            Edit::Mkdir(p) => format!("Edit::mkdir({p:?})"),
            Edit::Chmod(p) => format!("Edit::chmod({p:?})"),
        }
    }
}

fn remove(p: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
        Ok(_) => std::fs::remove_file(p),
        Err(e) => Err(e),
    }
}

/// A differential case: a starting tree, a script (one statement a line) and the edits made
/// before each run after the first (so `edits.len() + 1` runs).
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    /// The starting tree, relative to the work directory.
    pub tree: Vec<Node>,
    /// The script's statements, joined by newlines.
    pub script: Vec<String>,
    /// `edits[i]` is made before run `i + 1`.
    pub edits: Vec<Vec<Edit>>,
}

impl Case {
    /// Returns the script text given to `bash -c`.
    pub fn script_text(&self) -> String {
        self.script.join("\n")
    }

    /// Returns the case as Rust source, ready to become a regression test.
    pub fn rust(&self) -> String {
        let mut s = String::from("Case {\n    tree: vec![\n");
        for n in &self.tree {
            let _ = writeln!(s, "        {},", n.rust());
        }
        s.push_str("    ],\n    script: lines(&[\n");
        for l in &self.script {
            let _ = writeln!(s, "        {l:?},");
        }
        s.push_str("    ]),\n    edits: vec![\n");
        for group in &self.edits {
            let items: Vec<String> = group.iter().map(Edit::rust).collect();
            let _ = writeln!(s, "        vec![{}],", items.join(", "));
        }
        s.push_str("    ],\n}");
        s
    }

    /// Runs the case with the flags of the environment and panics, printing the case and the
    /// first difference, unless dry and the plain runs agree (up to what [`Mode`] tolerates).
    #[track_caller]
    pub fn assert_same(&self) {
        let mode = Mode::from_env();
        if let Outcome::Differs(d) = run_case(self, &mode) {
            panic!("{}", describe(None, self, &d, &mode));
        }
    }
}

/// Turns string literals into script lines (for regression cases).
pub fn lines(ls: &[&str]) -> Vec<String> {
    ls.iter().map(|l| l.to_string()).collect()
}

/// How dry is run, and what a difference may be blamed on.
pub struct Mode {
    /// Flags given to `dry build` (from `DRY_DIFF_FLAGS`).
    pub flags: Vec<String>,
    /// Whether the flags include `--strict`: then no difference is tolerated.
    pub strict: bool,
}

impl Mode {
    /// Reads `DRY_DIFF_FLAGS`; unset means `--strict` if this dry has it (else plain, with a
    /// note on stderr: the idempotence assumption then excuses some differences).
    pub fn from_env() -> Mode {
        let flags: Vec<String> = match std::env::var("DRY_DIFF_FLAGS") {
            Ok(v) => v.split_whitespace().map(str::to_string).collect(),
            Err(_) if dry_has_strict() => vec!["--strict".into()],
            Err(_) => Vec::new(),
        };
        let strict = flags.iter().any(|f| f == "--strict");
        Mode { flags, strict }
    }
}

fn dry_has_strict() -> bool {
    let out = Command::new(env!("CARGO_BIN_EXE_dry"))
        .args(["build", "--help"])
        .output()
        .expect("running dry build --help");
    String::from_utf8_lossy(&out.stdout).contains("--strict")
}

/// What one run left: status, output and the tree.
#[derive(Debug, PartialEq)]
struct World {
    code: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    tree: BTreeMap<String, Seen>,
}

/// What the snapshot saw at one path.
#[derive(Debug, PartialEq)]
enum Seen {
    File { mode: u32, content: Vec<u8>, links: Vec<String> },
    Dir { mode: u32 },
    Symlink { target: PathBuf },
    Other { mode: u32 },
}

/// The first difference between the dry copy and the plain copy.
#[derive(Debug)]
pub struct Difference {
    /// The run (0-based) after which it was seen.
    pub run: usize,
    /// What differed, in words.
    pub what: String,
    /// dry's own `-v` lines of that run.
    pub dry_lines: Vec<String>,
    /// Whether dry replayed the whole command or a nested step in that run.
    pub replayed: bool,
}

/// The verdict on one case.
#[derive(Debug)]
pub enum Outcome {
    /// Every run agreed; the count is how many runs replayed something.
    Same(usize),
    /// A difference after a replay of a script that is not idempotent (running it again on
    /// its own result changes something), in a mode that assumes it is: not a finding.
    Tolerated(Difference),
    /// A difference in a case whose plain runs differ among themselves (the order of a
    /// directory listing that the script changes while it reads it: `cp -r d d/b`): not a
    /// finding.
    Nondeterministic(Difference),
    /// A finding.
    Differs(Difference),
}

/// Runs a case in two fresh copies and compares them after every run.
pub fn run_case(case: &Case, mode: &Mode) -> Outcome {
    let traced = Project::new();
    let plain = Project::new();
    let (tw, pw) = (setup(&traced, case), setup(&plain, case));
    let script = case.script_text();
    let mut replays = 0;
    for run in 0..=case.edits.len() {
        if run > 0 {
            for e in &case.edits[run - 1] {
                e.apply(&tw);
                e.apply(&pw);
            }
        }
        let (dry_world, dry_lines) = run_dry(&traced, &tw, &mode.flags, &script);
        let plain_world = run_plain(&plain, &pw, &script);
        let replayed =
            dry_lines.iter().any(|l| l.starts_with("dry: replayed") || l.contains(": replayed `"));
        replays += usize::from(replayed);
        if let Some(what) = first_difference(&dry_world, &plain_world) {
            let d = Difference { run, what, dry_lines, replayed };
            if !plain_is_deterministic(case, run) {
                return Outcome::Nondeterministic(d);
            }
            if !mode.strict && replayed && !idempotent_through(case, run) {
                return Outcome::Tolerated(d);
            }
            return Outcome::Differs(d);
        }
    }
    Outcome::Same(replays)
}

fn setup(p: &Project, case: &Case) -> PathBuf {
    let work = p.path(WORK);
    std::fs::create_dir_all(&work).expect("mkdir work dir");
    for n in &case.tree {
        n.make(&work);
    }
    work
}

fn run_dry(p: &Project, work: &Path, flags: &[String], script: &str) -> (World, Vec<String>) {
    let mut args: Vec<&str> = vec!["build", "-v"];
    args.extend(flags.iter().map(String::as_str));
    args.extend(["--", "bash", "-c", script]);
    let out = p.dry_cmd(&args).current_dir(work).output().expect("running dry build");
    let mut stderr = Vec::new();
    let mut dry_lines = Vec::new();
    for line in out.stderr.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"dry: ") {
            dry_lines.push(String::from_utf8_lossy(line).trim_end().to_string());
        } else {
            stderr.extend_from_slice(line);
        }
    }
    let world = World {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr,
        tree: snapshot(&p.root),
    };
    (world, dry_lines)
}

fn run_plain(p: &Project, work: &Path, script: &str) -> World {
    let out = Command::new("bash")
        .args(["-c", script])
        .current_dir(work)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", &p.root)
        .env("LANG", "C")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("running bash");
    World {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: out.stderr,
        tree: snapshot(&p.root),
    }
}

/// How many more times a case runs plainly, from scratch, before a difference is blamed on dry.
const PLAIN_REPEATS: usize = 4;

/// Whether the plain runs `0..=last` of the case leave the same worlds every time.
fn plain_is_deterministic(case: &Case, last: usize) -> bool {
    let first = plain_worlds(case, last);
    (1..PLAIN_REPEATS).all(|_| plain_worlds(case, last) == first)
}

/// The worlds that the plain runs `0..=last` of the case leave, in a fresh copy.
fn plain_worlds(case: &Case, last: usize) -> Vec<World> {
    let p = Project::new();
    let work = setup(&p, case);
    let script = case.script_text();
    (0..=last)
        .map(|run| {
            if run > 0 {
                case.edits[run - 1].iter().for_each(|e| e.apply(&work));
            }
            run_plain(&p, &work, &script)
        })
        .collect()
}

/// Whether the script, run plainly, is a fixpoint after each of the runs `0..=last`: running
/// it once more on its own result gives the same status, output and tree. dry's default mode
/// assumes this of every command it replays.
fn idempotent_through(case: &Case, last: usize) -> bool {
    let script = case.script_text();
    (0..=last).all(|upto| {
        let p = Project::new();
        let work = setup(&p, case);
        let mut world = None;
        for run in 0..=upto {
            if run > 0 {
                case.edits[run - 1].iter().for_each(|e| e.apply(&work));
            }
            world = Some(run_plain(&p, &work, &script));
        }
        world == Some(run_plain(&p, &work, &script))
    })
}

/// Walks the project (without following symlinks), skipping `.dry/`.
fn snapshot(root: &Path) -> BTreeMap<String, Seen> {
    let mut out = BTreeMap::new();
    let mut inodes: BTreeMap<(u64, u64), Vec<String>> = BTreeMap::new();
    walk(root, root, &mut out, &mut inodes);
    for names in inodes.values().filter(|n| n.len() > 1) {
        for name in names {
            if let Some(Seen::File { links, .. }) = out.get_mut(name) {
                *links = names.iter().filter(|n| *n != name).cloned().collect();
            }
        }
    }
    out
}

fn walk(
    root: &Path,
    dir: &Path,
    out: &mut BTreeMap<String, Seen>,
    inodes: &mut BTreeMap<(u64, u64), Vec<String>>,
) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        let rel = p.strip_prefix(root).expect("under the root").to_string_lossy().into_owned();
        if rel == ".dry" {
            continue;
        }
        let name = display_path(&rel);
        let Ok(m) = std::fs::symlink_metadata(&p) else { continue };
        let mode = m.mode() & 0o7777;
        let seen = if m.is_dir() {
            walk(root, &p, out, inodes);
            Seen::Dir { mode }
        } else if m.file_type().is_symlink() {
            Seen::Symlink { target: std::fs::read_link(&p).unwrap_or_default() }
        } else if m.is_file() {
            inodes.entry((m.dev(), m.ino())).or_default().push(name.clone());
            Seen::File { mode, content: std::fs::read(&p).unwrap_or_default(), links: Vec::new() }
        } else {
            Seen::Other { mode }
        };
        out.insert(name, seen);
    }
}

/// Names a path relative to the work directory; one outside it starts with `/` (from the root).
fn display_path(rel: &str) -> String {
    match rel.strip_prefix(WORK) {
        Some("") => ".".into(),
        Some(rest) if rest.starts_with('/') => rest[1..].to_string(),
        _ => format!("/{rel}"),
    }
}

fn first_difference(dry: &World, plain: &World) -> Option<String> {
    if dry.code != plain.code {
        return Some(format!("exit status: dry {} / plain {}", dry.code, plain.code));
    }
    if dry.stdout != plain.stdout {
        return Some(format!(
            "stdout: dry {:?} / plain {:?}",
            lossy(&dry.stdout),
            lossy(&plain.stdout)
        ));
    }
    if dry.stderr != plain.stderr {
        return Some(format!(
            "stderr: dry {:?} / plain {:?}",
            lossy(&dry.stderr),
            lossy(&plain.stderr)
        ));
    }
    let names: std::collections::BTreeSet<&String> =
        dry.tree.keys().chain(plain.tree.keys()).collect();
    names.into_iter().find_map(|n| {
        let (a, b) = (dry.tree.get(n), plain.tree.get(n));
        (a != b).then(|| format!("tree at {n}: dry {} / plain {}", seen(a), seen(b)))
    })
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn seen(s: Option<&Seen>) -> String {
    match s {
        None => "absent".into(),
        Some(Seen::File { mode, content, links }) if links.is_empty() => {
            format!("file {mode:o} {:?}", lossy(content))
        }
        Some(Seen::File { mode, content, links }) => {
            format!("file {mode:o} {:?} linked to {links:?}", lossy(content))
        }
        Some(Seen::Dir { mode }) => format!("dir {mode:o}"),
        Some(Seen::Symlink { target }) => format!("symlink -> {}", target.display()),
        Some(Seen::Other { mode }) => format!("other {mode:o}"),
    }
}

/// Shrinks a failing case while it keeps failing the same way (`Differs` stays `Differs`,
/// `Tolerated` stays `Tolerated`): later runs cut, then single edits, statements, tree nodes
/// and intermediate runs dropped one at a time until nothing more can go. At most `budget`
/// reruns of the case.
pub fn minimise(
    case: &Case,
    d: &Difference,
    want_tolerated: bool,
    mode: &Mode,
    budget: usize,
) -> (Case, Difference) {
    let tolerated = |o: &Outcome| matches!(o, Outcome::Tolerated(_));
    let mut best = case.clone();
    best.edits.truncate(d.run);
    let mut best_d = None;
    let mut tries = 0;
    let mut progress = true;
    while progress && tries < budget {
        progress = false;
        for cand in shrinks(&best) {
            if tries >= budget {
                break;
            }
            tries += 1;
            match run_case(&cand, mode) {
                o @ (Outcome::Differs(_) | Outcome::Tolerated(_))
                    if tolerated(&o) == want_tolerated =>
                {
                    best = cand;
                    best_d = Some(o);
                    progress = true;
                    break;
                }
                _ => {}
            }
        }
    }
    let d = match best_d.or_else(|| Some(run_case(&best, mode))) {
        Some(Outcome::Differs(d) | Outcome::Tolerated(d)) => d,
        _ => Difference {
            run: d.run,
            what: d.what.clone(),
            dry_lines: d.dry_lines.clone(),
            replayed: d.replayed,
        },
    };
    (best, d)
}

/// Every case one step smaller than `c`.
fn shrinks(c: &Case) -> Vec<Case> {
    let mut out = Vec::new();
    if !c.edits.is_empty() {
        let mut fewer = c.clone();
        fewer.edits.pop();
        out.push(fewer);
    }
    for i in 0..c.script.len() {
        let mut s = c.clone();
        s.script.remove(i);
        out.push(s);
    }
    for g in 0..c.edits.len() {
        for i in 0..c.edits[g].len() {
            let mut s = c.clone();
            s.edits[g].remove(i);
            out.push(s);
        }
    }
    // Dropping run `g + 1` merges the edits made before and after it.
    for g in 0..c.edits.len().saturating_sub(1) {
        let mut s = c.clone();
        let next = s.edits.remove(g + 1);
        s.edits[g].extend(next);
        out.push(s);
    }
    for i in 0..c.tree.len() {
        let mut s = c.clone();
        s.tree.remove(i);
        out.push(s);
    }
    out
}

fn describe(seed: Option<u64>, case: &Case, d: &Difference, mode: &Mode) -> String {
    let mut s = String::new();
    if let Some(seed) = seed {
        let _ = writeln!(s, "seed {seed} (DRY_DIFF_SEED={seed} DRY_DIFF_CASES=1)");
    }
    let _ = writeln!(s, "dry build flags: {:?}", mode.flags);
    let _ = writeln!(s, "script:\n{}\n---", case.script_text());
    let _ = writeln!(s, "case:\n{}", case.rust());
    let _ = writeln!(
        s,
        "after run {} ({}): {}",
        d.run,
        if d.replayed { "dry replayed something" } else { "dry ran everything" },
        d.what
    );
    for l in &d.dry_lines {
        let _ = writeln!(s, "  {l}");
    }
    s
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

/// The CI-sized run: `DRY_DIFF_CASES` cases (default 40) from seed `DRY_DIFF_SEED` (default 0),
/// over the vocabulary `DRY_DIFF_VOCAB`. Stops after `DRY_DIFF_MAX_FINDINGS` findings (default
/// 1); each is minimised (`DRY_DIFF_MINIMISE=0` to skip) and printed. `DRY_DIFF_SHOW_TOLERATED=1`
/// also prints the differences the plain mode's idempotence assumption excuses.
#[test]
fn random_scripts_leave_the_same_world_under_dry_as_plainly() {
    let mode = Mode::from_env();
    let vocab = Vocabulary::from_env();
    let cases = env_u64("DRY_DIFF_CASES", 40);
    let seed0 = env_u64("DRY_DIFF_SEED", 0);
    let max_findings = env_u64("DRY_DIFF_MAX_FINDINGS", 1) as usize;
    let do_minimise = env_u64("DRY_DIFF_MINIMISE", 1) != 0;
    let show_tolerated = env_u64("DRY_DIFF_SHOW_TOLERATED", 0) != 0;
    if !mode.strict {
        eprintln!(
            "differential: dry build {:?} (no --strict): differences after a replay of a \
             script that is not idempotent are tolerated",
            mode.flags
        );
    }
    let (mut replays, mut tolerated, mut nondeterministic) = (0, 0, 0);
    let mut findings: Vec<String> = Vec::new();
    for i in 0..cases {
        if i > 0 && i % 100 == 0 {
            eprintln!(
                "differential: {i} cases, {} findings, {tolerated} tolerated",
                findings.len()
            );
        }
        let seed = seed0 + i;
        let case = generate(seed, &vocab);
        let (d, is_finding) = match run_case(&case, &mode) {
            Outcome::Same(n) => {
                replays += n;
                continue;
            }
            Outcome::Nondeterministic(d) => {
                eprintln!("differential: seed {seed}: plain runs differ too, skipped: {}", d.what);
                nondeterministic += 1;
                continue;
            }
            Outcome::Tolerated(d) => {
                tolerated += 1;
                if !show_tolerated {
                    continue;
                }
                (d, false)
            }
            Outcome::Differs(d) => (d, true),
        };
        let (small, small_d) = if do_minimise {
            minimise(&case, &d, !is_finding, &mode, 80)
        } else {
            (case.clone(), d)
        };
        let text = describe(Some(seed), &small, &small_d, &mode);
        eprintln!("\n=== {} ===\n{text}", if is_finding { "FINDING" } else { "tolerated" });
        if is_finding {
            findings.push(text);
            if findings.len() >= max_findings {
                break;
            }
        }
    }
    eprintln!(
        "differential: {cases} cases from seed {seed0}: {replays} runs replayed something, \
         {tolerated} tolerated, {nondeterministic} nondeterministic, {} findings",
        findings.len()
    );
    assert!(findings.is_empty(), "differential findings:\n{}", findings.join("\n"));
}
