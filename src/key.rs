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

/// A command's executable, found as execvp(3) finds it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Exe {
    /// Its absolute path (not normalised): the executable of the command key.
    pub path: PathBuf,
    /// The path execvp(3) passes to execve(2), relative to the working directory unless
    /// absolute: `argv0` itself when it holds a slash, else the `PATH` entry as spelled
    /// joined with it. The kernel hands this path to a `#!` interpreter, so a script's `$0` is
    /// this, not [`Exe::path`].
    pub spelled: PathBuf,
}

/// Resolves `argv0` as execvp(3) would: a name with a slash is taken relative to `cwd`; a bare
/// name is searched on `path_var` (default `/usr/local/bin:/usr/bin:/bin`).
pub fn resolve_exe(argv0: &OsStr, path_var: Option<&OsStr>, cwd: &Path) -> Result<Exe, ExeError> {
    let shown = || argv0.to_string_lossy().into_owned();
    if argv0.is_empty() {
        return Err(ExeError::NotFound(shown()));
    }
    if argv0.as_bytes().contains(&b'/') {
        let p = cwd.join(argv0);
        return match executable(&p) {
            Some(true) => Ok(Exe { path: p, spelled: PathBuf::from(argv0) }),
            Some(false) => Err(ExeError::NotExecutable(shown())),
            None => Err(ExeError::NotFound(shown())),
        };
    }
    let default = OsStr::new("/usr/local/bin:/usr/bin:/bin");
    let mut denied = false;
    for dir in path_var.unwrap_or(default).as_bytes().split(|&b| b == b':') {
        // An empty entry is the current directory; execvp(3) then passes the bare name.
        let spelled = if dir.is_empty() {
            PathBuf::from(argv0)
        } else {
            Path::new(OsStr::from_bytes(dir)).join(argv0)
        };
        let p = cwd.join(&spelled);
        match executable(&p) {
            Some(true) => return Ok(Exe { path: p, spelled }),
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
        let sh = sh.expect("sh on /bin");
        assert_eq!(
            (sh.path.as_path(), sh.spelled.as_path()),
            (Path::new("/bin/sh"), Path::new("/bin/sh"))
        );
        let missing = resolve_exe(OsStr::new("no-such-cmd-xyz"), None, cwd);
        assert!(matches!(missing, Err(ExeError::NotFound(_))));
        let t = tempfile::tempdir().expect("tempdir");
        std::fs::write(t.path().join("plain"), "x").expect("write");
        let r = resolve_exe(OsStr::new("./plain"), None, t.path());
        assert!(matches!(r, Err(ExeError::NotExecutable(_))));
    }

    #[test]
    fn the_exec_path_is_spelled_as_execvp_spells_it() {
        let t = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(t.path().join("bin")).expect("mkdir");
        for name in ["s", "bin/s"] {
            std::fs::write(t.path().join(name), "#!/bin/sh\n").expect("write");
            let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
            std::fs::set_permissions(t.path().join(name), mode).expect("chmod");
        }
        let exe = |argv0: &str, path: &str| {
            let e = resolve_exe(OsStr::new(argv0), Some(OsStr::new(path)), t.path());
            let e = e.expect("found");
            (e.path, e.spelled)
        };
        assert_eq!(exe("./s", "/bin"), (t.path().join("./s"), PathBuf::from("./s")));
        assert_eq!(exe("s", "bin:/bin"), (t.path().join("bin/s"), PathBuf::from("bin/s")));
        assert_eq!(exe("s", ":/bin"), (t.path().join("s"), PathBuf::from("s")));
    }
}
