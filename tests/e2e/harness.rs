//! A temporary project and a hermetic way to run `dry` in it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A temporary project directory.
pub struct Project {
    _dir: tempfile::TempDir,
    /// Canonical root of the project.
    pub root: PathBuf,
}

impl Project {
    /// Creates an empty project (with a `home/` for HOME).
    pub fn new() -> Project {
        let dir = tempfile::Builder::new().prefix("dry-e2e-").tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical tempdir");
        std::fs::create_dir_all(root.join(".dry")).expect("mkdir .dry");
        Project { _dir: dir, root }
    }

    /// Returns the absolute path of `rel`.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Writes `content` to `rel`, creating parent directories.
    pub fn write(&self, rel: &str, content: &str) {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir -p");
        }
        std::fs::write(p, content).expect("write");
    }

    /// Reads `rel` as text.
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
    }

    /// Compiles the C source `src` into the executable `rel` in the project, outside dry.
    pub fn compile(&self, rel: &str, src: &str) {
        self.write(&format!("{rel}.c"), src);
        let out = Command::new("cc")
            .args(["-O1", "-o", rel, &format!("{rel}.c")])
            .current_dir(&self.root)
            .output()
            .expect("running cc");
        assert!(out.status.success(), "cc failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// A `dry` command with a hermetic environment, run in the project root.
    pub fn dry_cmd(&self, args: &[&str]) -> Command {
        let mut c = self.command(env!("CARGO_BIN_EXE_dry"));
        c.args(args);
        c
    }

    /// `program` with the hermetic environment of [`Project::dry_cmd`], run in the project root
    /// (for wrappers such as `setpriv` or `unshare` that run dry in turn).
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.current_dir(&self.root)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", &self.root)
            .env("LANG", "C")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        c
    }

    /// Runs `dry ARGS` and returns its output.
    pub fn dry(&self, args: &[&str]) -> Output {
        self.dry_cmd(args).output().expect("running dry")
    }

    /// Runs `dry build -- CMD` with extra environment `env`.
    pub fn build_env(&self, env: &[(&str, &str)], cmd: &[&str]) -> Run {
        let mut args = vec!["build", "-v", "--"];
        args.extend_from_slice(cmd);
        let mut c = self.dry_cmd(&args);
        for (k, v) in env {
            c.env(k, v);
        }
        Run::from(c.output().expect("running dry build"))
    }

    /// Runs `dry build -v -- CMD`.
    pub fn build(&self, cmd: &[&str]) -> Run {
        self.build_env(&[], cmd)
    }

    /// Runs `dry build -v -- bash -c SCRIPT`.
    pub fn bash(&self, script: &str) -> Run {
        self.build(&["bash", "-c", script])
    }

    /// Returns `dry show --json` of all entries.
    pub fn show_json(&self) -> String {
        let out = self.dry(&["show", "--json"]);
        assert!(out.status.success(), "dry show failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8 json")
    }

    /// Returns `dry show --json -- CMD`: the entries of that command only.
    pub fn show_json_of(&self, cmd: &[&str]) -> String {
        let mut args = vec!["show", "--json", "--"];
        args.extend_from_slice(cmd);
        let out = self.dry(&args);
        assert!(out.status.success(), "dry show failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8 json")
    }

    /// Returns a listing of every file under `.dry/` with its content hash, to detect changes.
    pub fn store_snapshot(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        snapshot(&self.path(".dry"), &mut out);
        out.sort();
        out
    }
}

fn snapshot(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            snapshot(&p, out);
        } else {
            out.push((p.clone(), std::fs::read(&p).unwrap_or_default()));
        }
    }
}

/// The outcome of one `dry build`.
#[derive(Debug)]
pub struct Run {
    /// Exit status code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Reports whether dry replayed (from its `-v` message).
    pub fn replayed(&self) -> bool {
        self.stderr.contains("dry: replayed")
    }

    /// Reports whether dry ran the command (from its `-v` message).
    pub fn ran(&self) -> bool {
        self.stderr.contains("dry: ran")
    }

    /// Asserts a real run that succeeded.
    #[track_caller]
    pub fn assert_ran(&self) -> &Run {
        assert!(self.ran() && !self.replayed(), "expected a run: {self:#?}");
        assert_eq!(self.code, 0, "{self:#?}");
        self
    }

    /// Asserts a replay that succeeded.
    #[track_caller]
    pub fn assert_replayed(&self) -> &Run {
        assert!(self.replayed() && !self.ran(), "expected a replay: {self:#?}");
        assert_eq!(self.code, 0, "{self:#?}");
        self
    }
}

/// A script prefix that prints bash's clock without exec'ing anything: a replay shows the old
/// value, a real run a new one.
pub const STAMP: &str = "echo $EPOCHREALTIME; ";
