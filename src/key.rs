//! Building the [`model::CommandKey`] of a command from the live process: resolving the
//! executable through `PATH` as execvp(3) does, hashing it, and filtering the environment.
#![forbid(unsafe_code)]

use model::{CommandKey, Hash};
use nix::unistd::AccessFlags;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// Why a command's executable cannot be run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExeError {
    /// Nothing by that name on `PATH` (or at that path).
    #[error("{0}: command not found")]
    NotFound(String),
    /// Found, but not an executable regular file.
    #[error("{0}: permission denied")]
    NotExecutable(String),
}

/// Resolves `argv0` as execvp(3) would: a name with a slash is taken relative to `cwd`; a bare
/// name is searched on `path_var` (default `/usr/local/bin:/usr/bin:/bin`).
pub fn resolve_exe(
    argv0: &OsStr,
    path_var: Option<&OsStr>,
    cwd: &Path,
) -> Result<PathBuf, ExeError> {
    let shown = || argv0.to_string_lossy().into_owned();
    if argv0.is_empty() {
        return Err(ExeError::NotFound(shown()));
    }
    if argv0.as_bytes().contains(&b'/') {
        let p = cwd.join(argv0);
        return match executable(&p) {
            Some(true) => Ok(p),
            Some(false) => Err(ExeError::NotExecutable(shown())),
            None => Err(ExeError::NotFound(shown())),
        };
    }
    let default = OsStr::new("/usr/local/bin:/usr/bin:/bin");
    let mut denied = false;
    for dir in path_var.unwrap_or(default).as_bytes().split(|&b| b == b':') {
        let dir = if dir.is_empty() { cwd.to_path_buf() } else { cwd.join(OsStr::from_bytes(dir)) };
        let p = dir.join(argv0);
        match executable(&p) {
            Some(true) => return Ok(p),
            Some(false) => denied = true,
            None => {}
        }
    }
    if denied {
        Err(ExeError::NotExecutable(shown()))
    } else {
        Err(ExeError::NotFound(shown()))
    }
}

/// `None`: nothing there; `Some(false)`: there but not an executable regular file.
fn executable(p: &Path) -> Option<bool> {
    let meta = std::fs::metadata(p).ok()?;
    Some(meta.is_file() && nix::unistd::access(p, AccessFlags::X_OK).is_ok())
}

/// Builds the key of a command: `exe` with content `exe_hash`, `argv`, the absolute working
/// directory `cwd`, and the environment `env` minus volatile and `ignored` names.
pub fn command_key(
    exe: &Path,
    exe_hash: Hash,
    argv: &[OsString],
    cwd: &Path,
    env: impl IntoIterator<Item = (OsString, OsString)>,
    ignored: &[OsString],
) -> CommandKey {
    let ignored: Vec<Vec<u8>> = ignored.iter().map(|n| n.as_bytes().to_vec()).collect();
    CommandKey::new(
        exe.as_os_str().as_bytes().to_vec(),
        exe_hash,
        argv.iter().map(|a| a.as_bytes().to_vec()).collect(),
        cwd.as_os_str().as_bytes().to_vec(),
        env.into_iter().map(|(k, v)| (k.into_vec(), v.into_vec())),
        &ignored,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sh_on_path_and_reports_missing_and_unexecutable() {
        let cwd = Path::new("/");
        let sh = resolve_exe(OsStr::new("sh"), Some(OsStr::new("/nonexistent:/bin")), cwd);
        assert_eq!(sh.expect("sh on /bin"), PathBuf::from("/bin/sh"));
        let missing = resolve_exe(OsStr::new("no-such-cmd-xyz"), None, cwd);
        assert!(matches!(missing, Err(ExeError::NotFound(_))));
        let t = tempfile::tempdir().expect("tempdir");
        std::fs::write(t.path().join("plain"), "x").expect("write");
        let r = resolve_exe(OsStr::new("./plain"), None, t.path());
        assert!(matches!(r, Err(ExeError::NotExecutable(_))));
    }
}
