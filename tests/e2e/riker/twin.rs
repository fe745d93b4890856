//! The differential oracle of the Riker translation: a scenario's tree kept twice, one copy built
//! with `dry build -v --strict -- CMD` and the other with CMD run plainly, compared after every
//! step.
//!
//! Both copies live in one temporary directory and take turns at the same absolute path (`w`,
//! by rename), so a tool that records its working directory (a compiler's debug info, `pwd`)
//! sees the same path in both. A step compares the exit status, the stdout and the stderr (dry's
//! own `dry: ` lines taken out of the dry side) and the whole tree, `.dry/` excluded: every
//! path's kind, mode, content or symlink target, and which regular files are hard links of one
//! another. Edits between builds are shell snippets applied to both copies alike.
//!
//! This module owns nothing of dry's: it drives the binary like a user and must not reach into
//! `.dry/`. It is self-contained on purpose (no shared fuzzing helper), so that the translated
//! scenarios read as Riker's cram files do: files, edits, builds.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One scenario's two trees and its build command.
pub struct Twin {
    _dir: tempfile::TempDir,
    base: PathBuf,
    cmd: Vec<String>,
    steps: usize,
    volatile: Vec<String>,
}

/// Which of the two trees.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Side {
    Dry,
    Plain,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Dry => "dry",
            Side::Plain => "plain",
        }
    }
}

/// What a command printed and how it ended.
#[derive(Debug)]
struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Twin {
    /// Creates two empty trees (the dry one holding `.dry/`) whose build command is `cmd`.
    pub fn new(cmd: &[&str]) -> Twin {
        let dir = tempfile::Builder::new().prefix("dry-riker-").tempdir().expect("tempdir");
        let base = dir.path().canonicalize().expect("canonical tempdir");
        for sub in ["dry/.dry", "plain", "home"] {
            std::fs::create_dir_all(base.join(sub)).expect("mkdir");
        }
        let cmd = cmd.iter().map(|s| s.to_string()).collect();
        Twin { _dir: dir, base, cmd, steps: 0, volatile: Vec::new() }
    }

    /// Declares the top-level names starting with `prefix` volatile: output that no two runs
    /// share (the time, a core dump). They are compared by kind only, under the name
    /// `prefix*`, so the oracle still sees whether each side made one.
    pub fn volatile(&mut self, prefix: &str) {
        self.volatile.push(prefix.to_string());
    }

    /// Creates a scenario whose build is `sh Rikerfile`, the Rikerfile holding `script`.
    pub fn rikerfile(script: &str) -> Twin {
        let t = Twin::new(&["sh", "Rikerfile"]);
        t.write("Rikerfile", script);
        t
    }

    fn parked(&self, side: Side) -> PathBuf {
        self.base.join(side.name())
    }

    /// Runs `f` with the tree of `side` moved to the shared working path.
    fn at<R>(&self, side: Side, f: impl FnOnce(&Path) -> R) -> R {
        let work = self.base.join("w");
        std::fs::rename(self.parked(side), &work).expect("move a tree to the working path");
        let r = f(&work);
        std::fs::rename(&work, self.parked(side)).expect("park a tree");
        r
    }

    /// Writes `content` to `rel` in both trees, creating parent directories.
    pub fn write(&self, rel: &str, content: &str) {
        for side in [Side::Dry, Side::Plain] {
            let p = self.parked(side).join(rel);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).expect("mkdir -p");
            }
            std::fs::write(&p, content).unwrap_or_else(|e| panic!("writing {rel}: {e}"));
        }
    }

    /// Writes an executable script (mode 755) to `rel` in both trees.
    pub fn write_exec(&self, rel: &str, content: &str) {
        self.write(rel, content);
        for side in [Side::Dry, Side::Plain] {
            let p = self.parked(side).join(rel);
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
    }

    /// Applies the shell snippet `script` to both trees, untraced; it must succeed.
    #[track_caller]
    pub fn edit(&self, script: &str) {
        for side in [Side::Plain, Side::Dry] {
            let out = self.at(side, |w| run(self.command("sh", w).args(["-c", script])));
            assert_eq!(out.code, 0, "edit `{script}` failed in the {} tree: {out:#?}", side.name());
        }
    }

    /// Compiles the C file `src` into the program `out` once (`cc -o out src` in the untraced
    /// tree) and copies it to the other tree, as Riker's cram files compile their helpers.
    #[track_caller]
    pub fn compile(&self, src: &str, out: &str) {
        let built = self.at(Side::Plain, |w| run(self.command("cc", w).args(["-o", out, src])));
        assert_eq!(built.code, 0, "compiling {src}: {built:#?}");
        let from = self.parked(Side::Plain).join(out);
        std::fs::copy(&from, self.parked(Side::Dry).join(out)).expect("copy the program");
    }

    /// Reads `rel` from the untraced tree (equal to the dry one after a step).
    pub fn read(&self, rel: &str) -> String {
        let p = self.parked(Side::Plain).join(rel);
        std::fs::read_to_string(p).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
    }

    /// Runs the program `argv` untraced in the untraced tree and returns its stdout, as Riker's
    /// cram files check a built program (`./hello`); the dry tree holds the same bytes.
    #[track_caller]
    pub fn output_of(&self, argv: &[&str]) -> String {
        let (program, args) = argv.split_first().expect("a program");
        let out = self.at(Side::Plain, |w| run(self.command(program, w).args(args)));
        assert_eq!(out.code, 0, "running {argv:?}: {out:#?}");
        out.stdout
    }

    /// Reads `rel` from the tree dry builds.
    pub fn read_dry(&self, rel: &str) -> String {
        let p = self.parked(Side::Dry).join(rel);
        std::fs::read_to_string(p).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
    }

    /// A command with the hermetic environment of the e2e tests, run in `dir`.
    fn command(&self, program: &str, dir: &Path) -> Command {
        let mut c = Command::new(program);
        c.current_dir(dir)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", self.base.join("home"))
            .env("LANG", "C")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        c
    }

    /// Rebuilds without a change where Riker's cram file shows a rebuild doing nothing: the
    /// first build may run (under `--strict` a build that finds its own outputs where it found
    /// none, or other ones, runs again, as the untraced copy does), the second must replay.
    #[track_caller]
    pub fn settle(&mut self) {
        self.build();
        self.build().replayed();
    }

    /// Runs the build in both trees and compares them.
    #[track_caller]
    pub fn build(&mut self) -> Step {
        self.build_with(&[])
    }

    /// Runs the build in both trees, dry with the extra options `opts`, and compares them.
    #[track_caller]
    pub fn build_with(&mut self, opts: &[&str]) -> Step {
        self.steps += 1;
        let (program, args) = self.cmd.split_first().expect("a build command");
        let plain = self.at(Side::Plain, |w| run(self.command(program, w).args(args)));
        let dry = self.at(Side::Dry, |w| {
            let mut c = self.command(env!("CARGO_BIN_EXE_dry"), w);
            c.args(["build", "-v", "--strict"]).args(opts).arg("--").args(&self.cmd);
            run(&mut c)
        });
        let (own, stderr): (Vec<&str>, Vec<&str>) =
            dry.stderr.split_inclusive('\n').partition(|l| l.starts_with("dry: "));
        let own: Vec<String> = own.iter().map(|l| l.trim_end().to_string()).collect();
        let what = format!("step {} (`{}`), dry said {own:#?}", self.steps, self.cmd.join(" "));
        assert_eq!(dry.code, plain.code, "{what}: exit status; stderr {:?}", dry.stderr);
        assert_eq!(dry.stdout, plain.stdout, "{what}: stdout");
        assert_eq!(stderr.concat(), plain.stderr, "{what}: stderr");
        let dry_tree = snapshot(&self.parked(Side::Dry), &self.volatile);
        let diff = diff(&dry_tree, &snapshot(&self.parked(Side::Plain), &self.volatile));
        assert!(diff.is_empty(), "{what}: the trees differ (dry vs untraced):\n{diff}");
        Step { what, own, stdout: plain.stdout }
    }
}

/// What dry said about one step, to check that it replayed where it should.
#[derive(Debug)]
pub struct Step {
    what: String,
    own: Vec<String>,
    /// The build's standard output (equal in both trees).
    pub stdout: String,
}

impl Step {
    /// Asserts that dry replayed the whole build without running it.
    #[track_caller]
    pub fn replayed(&self) -> &Step {
        let hit = self.own.iter().any(|l| l.starts_with("dry: replayed"));
        assert!(hit, "{}: expected a replay", self.what);
        self
    }

    /// Asserts that dry ran the build.
    #[track_caller]
    pub fn ran(&self) -> &Step {
        let hit = self.own.iter().any(|l| l.starts_with("dry: ran"));
        assert!(hit, "{}: expected a run", self.what);
        self
    }

    fn nested(&self, outcome: &str, needle: &str) -> bool {
        let prefix = format!("dry: nested: {outcome} `");
        self.own.iter().any(|l| {
            l.strip_prefix(&prefix)
                .and_then(|rest| rest.split('`').next())
                .is_some_and(|cmd| cmd.contains(needle))
        })
    }

    /// Asserts that a step of the build (a command the top one exec'd) whose argv contains
    /// `needle` was replayed in place.
    #[track_caller]
    pub fn nested_replayed(&self, needle: &str) -> &Step {
        assert!(self.nested("replayed", needle), "{}: expected `{needle}` replayed", self.what);
        self
    }

    /// Asserts that dry ran the whole build and gave a reason containing `needle`.
    #[track_caller]
    pub fn ran_because(&self, needle: &str) -> &Step {
        let hit = self.own.iter().any(|l| l.starts_with("dry: ran") && l.contains(needle));
        assert!(hit, "{}: expected a run because of {needle:?}", self.what);
        self
    }

    /// Asserts that a step of the build whose argv contains `needle` ran.
    #[track_caller]
    pub fn nested_ran(&self, needle: &str) -> &Step {
        assert!(self.nested("ran", needle), "{}: expected `{needle}` to run", self.what);
        self
    }
}

fn run(c: &mut Command) -> Outcome {
    let out = c.output().unwrap_or_else(|e| panic!("running {c:?}: {e}"));
    Outcome {
        code: out.status.code().unwrap_or_else(|| 128 + out.status.signal().unwrap_or(0)),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// One path of a tree as the comparison sees it.
#[derive(Debug, PartialEq)]
enum Node {
    File { mode: u32, content: Vec<u8>, links: Vec<PathBuf> },
    Dir { mode: u32 },
    Symlink { target: PathBuf },
    Other { mode: u32 },
    Volatile { kind: &'static str },
}

/// Every path under `root` except `.dry/`, with the hard-link partition of regular files;
/// top-level names starting with one of `volatile` become their kind under `prefix*`.
fn snapshot(root: &Path, volatile: &[String]) -> BTreeMap<PathBuf, Node> {
    let mut nodes = BTreeMap::new();
    let mut inodes: BTreeMap<u64, Vec<PathBuf>> = BTreeMap::new();
    walk(root, Path::new(""), &mut nodes, &mut inodes);
    for group in inodes.values_mut().filter(|g| g.len() > 1) {
        group.sort();
        for p in group.iter() {
            if let Some(Node::File { links, .. }) = nodes.get_mut(p) {
                links.extend(group.iter().filter(|q| *q != p).cloned());
            }
        }
    }
    for prefix in volatile {
        let top = |p: &&PathBuf| p.components().count() == 1;
        let names: Vec<PathBuf> = (nodes.keys().filter(top))
            .filter(|p| p.to_string_lossy().starts_with(prefix.as_str()))
            .cloned()
            .collect();
        for p in names {
            let kind = match nodes.remove(&p) {
                Some(Node::File { .. }) => "file",
                Some(Node::Dir { .. }) => "dir",
                Some(Node::Symlink { .. }) => "symlink",
                _ => "other",
            };
            nodes.insert(PathBuf::from(format!("{prefix}*")), Node::Volatile { kind });
        }
    }
    nodes
}

fn walk(
    root: &Path,
    rel: &Path,
    nodes: &mut BTreeMap<PathBuf, Node>,
    inodes: &mut BTreeMap<u64, Vec<PathBuf>>,
) {
    let rd = std::fs::read_dir(root.join(rel)).expect("read_dir");
    for e in rd {
        let e = e.expect("dir entry");
        let rel = rel.join(e.file_name());
        if rel == Path::new(".dry") {
            continue;
        }
        let path = root.join(&rel);
        let m = std::fs::symlink_metadata(&path).expect("lstat");
        let mode = m.mode() & 0o7777;
        let node = if m.file_type().is_symlink() {
            Node::Symlink { target: std::fs::read_link(&path).expect("readlink") }
        } else if m.is_dir() {
            walk(root, &rel, nodes, inodes);
            Node::Dir { mode }
        } else if m.is_file() {
            inodes.entry(m.ino()).or_default().push(rel.clone());
            Node::File { mode, content: std::fs::read(&path).expect("read"), links: Vec::new() }
        } else {
            Node::Other { mode }
        };
        nodes.insert(rel, node);
    }
}

/// The paths on which two snapshots differ, one line each; empty when they are equal.
fn diff(dry: &BTreeMap<PathBuf, Node>, plain: &BTreeMap<PathBuf, Node>) -> String {
    let mut out = String::new();
    for (p, n) in dry {
        match plain.get(p) {
            None => writeln!(out, "  only with dry: {} {}", p.display(), brief(n)),
            Some(m) if m != n => {
                writeln!(out, "  {}: dry {} / untraced {}", p.display(), brief(n), brief(m))
            }
            Some(_) => Ok(()),
        }
        .expect("write to a String");
    }
    for (p, n) in plain.iter().filter(|(p, _)| !dry.contains_key(*p)) {
        writeln!(out, "  only untraced: {} {}", p.display(), brief(n)).expect("write");
    }
    out
}

/// A short description of a node: the first bytes of a file, not all of a binary.
fn brief(n: &Node) -> String {
    match n {
        Node::File { mode, content, links } => {
            let head = String::from_utf8_lossy(&content[..content.len().min(60)]).into_owned();
            format!("file {mode:o}, {} bytes {head:?}, links {links:?}", content.len())
        }
        Node::Dir { mode } => format!("dir {mode:o}"),
        Node::Symlink { target } => format!("symlink -> {}", target.display()),
        Node::Other { mode } => format!("other {mode:o}"),
        Node::Volatile { kind } => format!("volatile {kind}"),
    }
}

/// The comparison itself: `.dry/` is left out; a hard link and a copy, two modes, two symlink
/// targets differ; a volatile name is compared by kind.
#[test]
fn the_tree_comparison_sees_links_modes_targets_and_not_dry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for root in [&a, &b] {
        std::fs::create_dir_all(root.join(".dry")).expect("mkdir");
        std::fs::write(root.join(".dry/db"), root.to_string_lossy().as_bytes()).expect("write");
        std::fs::write(root.join("f"), "x").expect("write");
        std::fs::write(root.join("core"), root.to_string_lossy().as_bytes()).expect("write");
    }
    let same = |volatile: &[String]| diff(&snapshot(&a, volatile), &snapshot(&b, volatile));
    assert!(same(&["core".to_string()]).is_empty(), "{}", same(&["core".to_string()]));
    assert!(same(&[]).contains("core"), "the core files differ unless volatile");
    std::fs::hard_link(a.join("f"), a.join("g")).expect("ln");
    std::fs::copy(b.join("f"), b.join("g")).expect("cp");
    assert!(same(&[]).contains("links"), "a hard link is not a copy: {}", same(&[]));
    std::fs::remove_file(a.join("g")).expect("rm");
    std::fs::remove_file(b.join("g")).expect("rm");
    std::fs::set_permissions(a.join("f"), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    assert!(same(&[]).contains("f: dry file 755"), "{}", same(&[]));
    std::fs::set_permissions(a.join("f"), std::fs::Permissions::from_mode(0o644)).expect("chmod");
    std::fs::set_permissions(b.join("f"), std::fs::Permissions::from_mode(0o644)).expect("chmod");
    std::os::unix::fs::symlink("f", a.join("l")).expect("symlink");
    std::os::unix::fs::symlink("g", b.join("l")).expect("symlink");
    assert!(same(&[]).contains("symlink -> f"), "{}", same(&[]));
}
