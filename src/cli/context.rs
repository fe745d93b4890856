//! What every subcommand needs from the process: the working directory, the project, the
//! environment, and the command key of a requested command.

use crate::check::{DryIgnore, Fingerprints};
use crate::key::Exe;
use crate::project::Project;
use crate::store::Store;
use anyhow::Context as _;
use model::CommandKey;
use std::ffi::OsString;
use std::path::PathBuf;

/// The invocation's surroundings.
pub struct Context {
    /// Canonical working directory.
    pub cwd: PathBuf,
    /// The project it belongs to.
    pub project: Project,
    /// The environment.
    pub env: Vec<(OsString, OsString)>,
    /// What dry's own standard output and error are (a terminal, one stream): what the
    /// command will see, and so part of its key.
    pub streams: model::key::OutputStreams,
}

impl Context {
    /// Reads the process's working directory and environment and locates the project.
    pub fn from_process() -> anyhow::Result<Context> {
        let cwd = std::env::current_dir().context("reading the working directory")?;
        let env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
        let dry_dir = env.iter().find(|(k, _)| k == "DRY_DIR").map(|(_, v)| v.clone());
        let project = Project::locate(&cwd, dry_dir);
        let streams = crate::trace::terminal::own_streams();
        Ok(Context { cwd, project, env, streams })
    }

    /// Opens the store, creating `.dry/` if needed.
    pub fn store(&self) -> anyhow::Result<Store> {
        Store::open(&self.project.dry_dir).context("opening the store")
    }

    /// Opens the store if there is one; creates nothing.
    pub fn existing_store(&self) -> anyhow::Result<Option<Store>> {
        Store::open_existing(&self.project.dry_dir).context("opening the store")
    }

    /// Reads the project's `.dryignore`, the names listings leave out (notes/transparency.md):
    /// `None` under `--strict` (every name counts), without one (one failed open), or when it
    /// cannot be used, which a warning says: then every name counts too.
    pub fn dryignore(&self, strict: bool) -> Option<DryIgnore> {
        if strict {
            return None;
        }
        DryIgnore::read(&self.project.root).unwrap_or_else(|e| {
            eprintln!("dry: warning: {e}; no name is left out of listings");
            None
        })
    }

    /// Returns the value of environment variable `name`.
    pub fn var(&self, name: &str) -> Option<&OsString> {
        self.env.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Resolves `cmd[0]` and builds the command's key; returns it with the executable.
    pub fn key(
        &self,
        cmd: &[OsString],
        ignored: &[OsString],
        fingerprints: &mut Fingerprints,
    ) -> anyhow::Result<(CommandKey, Exe)> {
        self.key_in(cmd, &self.cwd, ignored, fingerprints)
    }

    /// Like [`Context::key`], for a command run in directory `cwd`.
    pub fn key_in(
        &self,
        cmd: &[OsString],
        cwd: &std::path::Path,
        ignored: &[OsString],
        fingerprints: &mut Fingerprints,
    ) -> anyhow::Result<(CommandKey, Exe)> {
        let argv0 =
            cmd.first().ok_or_else(|| super::exit::UsageError("no command given".into()))?;
        let exe = crate::key::resolve_exe(argv0, self.var("PATH").map(|p| p.as_os_str()), cwd)?;
        let exe_hash = (fingerprints.hash_path(&exe.path))
            .with_context(|| format!("hashing {}", exe.path.display()))?;
        let env = self.env.iter().cloned();
        // The key names the executable by its absolute path; argv stays as given.
        let key = crate::key::command_key(&exe.path, exe_hash, cmd, cwd, env, ignored);
        Ok((key.with_streams(self.streams), exe))
    }
}
