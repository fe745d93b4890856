//! Tracing: runs a command under ptrace and reports what its whole process tree observed and
//! did, as [`model::observe::Observation`]s. Owns every interaction with tracees; touches no
//! other state.
//!
//! OWNER: tracer helper. See the table of syscalls → observations in this module's docs.

use model::entry::ExitStatus;
use model::observe::Observation;
use model::Hash;
use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// What to run and how.
#[derive(Debug)]
pub struct Spawn {
    /// Absolute path of the executable (already resolved through PATH).
    pub exe: PathBuf,
    /// The argument vector, argv[0] included.
    pub argv: Vec<OsString>,
    /// The complete environment of the command.
    pub env: Vec<(OsString, OsString)>,
    /// The working directory (absolute, canonical).
    pub cwd: PathBuf,
    /// Becomes the command's fd 1.
    pub stdout: OwnedFd,
    /// Becomes the command's fd 2.
    pub stderr: OwnedFd,
    /// Install the seccomp filter so that only path syscalls stop (off only for testing).
    pub seccomp: bool,
}

/// Receives what the traced tree does, and hashes files on the tracer's behalf.
pub trait Observer {
    /// Called for every observation, in the order the tracer saw them.
    fn observe(&mut self, pid: i32, obs: Observation);
    /// Returns the content hash of the regular file at `path` (with a fingerprint cache).
    fn hash_file(&mut self, path: &Path) -> std::io::Result<Hash>;
}

/// Why tracing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    /// The executable does not exist.
    #[error("{0}: command not found")]
    NotFound(PathBuf),
    /// The executable exists but cannot be executed.
    #[error("{0}: not executable")]
    NotExecutable(PathBuf),
    /// A system call of the tracer itself failed.
    #[error("{what}: {source}")]
    Sys {
        /// What the tracer was doing.
        what: &'static str,
        /// The error.
        source: nix::Error,
    },
}

/// Runs `spawn` to completion under the tracer, feeding `observer`; returns how the top-level
/// process ended.
pub fn run(spawn: Spawn, observer: &mut dyn Observer) -> Result<ExitStatus, TraceError> {
    let _ = (spawn, observer);
    unimplemented!("tracer")
}
