//! Applying an entry's effects to disk, as running the command would have left it (SPEC §5).
//!
//! Everything that can be known to fail is checked before the first user file is touched: every
//! path is absolute, normalised and within the project root, no parent is a symlink leading
//! outside it, and every file's object is present. Then the effects are applied in the order
//! given (`model::lower::order_effects`: removals deepest first, directories shallowest first,
//! then files and symlinks, hard links last):
//!
//! - files, symlinks and hard links are made at a temporary name in the same directory and
//!   renamed over the path, so a reader sees the old file or the new one, never a partial one,
//!   and a symlink at the path is replaced, never followed;
//! - file modes are the recorded ones without setuid and setgid;
//! - directory modes are set last, deepest first, so that a read-only directory is still
//!   writable while its content is restored;
//! - missing parent directories are created with mode 0755 (less the umask).
//!
//! Concurrent changes by other processes while a restore runs are not defended against beyond
//! re-checking each effect's parents just before it is applied.

use super::confine::{path_buf, Root};
use super::error::RestoreError;
use super::objects::Objects;
use model::{Effect, Hash};
use std::ffi::OsStr;
use std::fs::{self, DirBuilder, OpenOptions, Permissions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The permission bits a restore may set: everything but setuid and setgid.
const MODE_MASK: u32 = 0o1777;

/// What a restore did, for `-v` and `dry log`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Applied {
    /// Regular files written.
    pub files: u64,
    /// Bytes written into them.
    pub bytes: u64,
    /// Directories created or given their mode.
    pub dirs: u64,
    /// Symlinks made.
    pub symlinks: u64,
    /// Hard links made.
    pub hard_links: u64,
    /// Paths removed.
    pub removed: u64,
}

/// Applies `effects`, in order, below the project root `root`, taking file content from
/// `objects`. On an error found before anything is touched (see [`RestoreError`]) no user file
/// has changed; a later error leaves the effects before it applied.
pub fn apply(
    effects: &[Effect],
    root: &Path,
    objects: &dyn Objects,
) -> Result<Applied, RestoreError> {
    let root = Root::new(root)?;
    preflight(effects, &root, objects)?;
    let mut applied = Applied::default();
    let mut dir_modes: Vec<(&[u8], u32)> = Vec::new();
    for effect in effects {
        let path = effect.path();
        root.check_parents(path, &[])?;
        match effect {
            Effect::File { hash, mode, .. } => {
                applied.bytes += write_file(path, hash, *mode, objects)?;
                applied.files += 1;
            }
            Effect::Dir { mode, .. } => {
                make_dir(path)?;
                dir_modes.push((path, *mode));
                applied.dirs += 1;
            }
            Effect::Symlink { target, .. } => {
                make_symlink(path, target)?;
                applied.symlinks += 1;
            }
            Effect::HardLink { to, .. } => {
                root.check_parents(to, &[])?;
                make_hard_link(path, to)?;
                applied.hard_links += 1;
            }
            Effect::Absent { .. } => {
                remove(path)?;
                applied.removed += 1;
            }
        }
    }
    // Deepest first: a parent that loses its search bit must not hide a child still to do.
    dir_modes
        .sort_by_key(|(path, _)| std::cmp::Reverse(path.iter().filter(|&&b| b == b'/').count()));
    for (path, mode) in dir_modes {
        set_dir_mode(path, mode)?;
    }
    Ok(applied)
}

/// The checks made before anything is touched.
fn preflight(effects: &[Effect], root: &Root, objects: &dyn Objects) -> Result<(), RestoreError> {
    for effect in effects {
        root.check_lexical(effect.path(), matches!(effect, Effect::Dir { .. }))?;
        if let Effect::HardLink { to, .. } = effect {
            root.check_lexical(to, false)?;
        }
        if let Effect::File { path, hash, .. } = effect {
            if !objects.has_object(hash) {
                return Err(RestoreError::MissingObject { path: path_buf(path), hash: *hash });
            }
        }
    }
    // Directories the restore itself makes real before anything below them is written.
    let replaced: Vec<&[u8]> =
        effects.iter().filter(|e| matches!(e, Effect::Dir { .. })).map(|e| e.path()).collect();
    for effect in effects {
        root.check_parents(effect.path(), &replaced)?;
        if let Effect::HardLink { to, .. } = effect {
            root.check_parents(to, &replaced)?;
        }
    }
    Ok(())
}

/// Writes object `hash` to `path` with `mode` through a temporary file; returns its size.
fn write_file(
    path: &[u8],
    hash: &Hash,
    mode: u32,
    objects: &dyn Objects,
) -> Result<u64, RestoreError> {
    create_parents(path)?;
    let (tmp, mut file) = temp_file(path)?;
    let copied = match objects.copy_object(hash, &mut file) {
        Ok(n) => n,
        Err(message) => {
            drop(file);
            discard(&tmp);
            return Err(RestoreError::Object { path: path_buf(path), hash: *hash, message });
        }
    };
    // fchmod on the open file: the umask does not apply, and no path is followed.
    if let Err(source) = file.set_permissions(Permissions::from_mode(mode & MODE_MASK)) {
        drop(file);
        discard(&tmp);
        return Err(RestoreError::Io { op: "chmod", path: tmp, source });
    }
    drop(file);
    rename_over(&tmp, path)?;
    Ok(copied)
}

/// Creates directory `path` if it is not one already, replacing anything else found there (a
/// symlink to a directory included: it is not followed).
fn make_dir(path: &[u8]) -> Result<(), RestoreError> {
    let p = as_path(path);
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => return Ok(()),
        Ok(_) => fs::remove_file(p).map_err(|source| io_err("unlink", path, source))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => return Err(io_err("lstat", path, source)),
    }
    create_parents(path)?;
    // Owner-writable until its recorded mode is set, after its content is restored.
    match DirBuilder::new().mode(0o700).create(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(io_err("mkdir", path, source)),
    }
}

/// Sets the mode of directory `path` without following a symlink there.
fn set_dir_mode(path: &[u8], mode: u32) -> Result<(), RestoreError> {
    let flags = nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_NOFOLLOW;
    let dir = OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits())
        .open(as_path(path))
        .map_err(|source| io_err("open", path, source))?;
    dir.set_permissions(Permissions::from_mode(mode & MODE_MASK))
        .map_err(|source| io_err("chmod", path, source))
}

/// Makes symlink `path` with `target` through a temporary name.
fn make_symlink(path: &[u8], target: &[u8]) -> Result<(), RestoreError> {
    create_parents(path)?;
    let (tmp, ()) =
        fresh_name(path, |tmp| std::os::unix::fs::symlink(OsStr::from_bytes(target), tmp))?;
    rename_over(&tmp, path)
}

/// Makes `path` another name of the file at `to` (a symlink there is linked, not followed).
fn make_hard_link(path: &[u8], to: &[u8]) -> Result<(), RestoreError> {
    let target = fs::symlink_metadata(as_path(to)).map_err(|source| io_err("lstat", to, source))?;
    if let Ok(now) = fs::symlink_metadata(as_path(path)) {
        if (now.dev(), now.ino()) == (target.dev(), target.ino()) {
            return Ok(());
        }
    }
    create_parents(path)?;
    let (tmp, ()) = fresh_name(path, |tmp| {
        nix::unistd::linkat(
            nix::fcntl::AT_FDCWD,
            as_path(to),
            nix::fcntl::AT_FDCWD,
            tmp,
            nix::fcntl::AtFlags::empty(),
        )
        .map_err(io::Error::from)
    })?;
    rename_over(&tmp, path)
}

/// Removes whatever is at `path` (a directory with everything below it; a symlink itself).
fn remove(path: &[u8]) -> Result<(), RestoreError> {
    let p = as_path(path);
    let result = match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(p),
        Ok(_) => fs::remove_file(p),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(io_err("remove", path, source)),
    }
}

/// Creates the missing parent directories of `path` with mode 0755.
fn create_parents(path: &[u8]) -> Result<(), RestoreError> {
    let parent = model::path::parent(path);
    DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(as_path(parent))
        .map_err(|source| io_err("mkdir", parent, source))
}

/// Creates a new, empty, private file at a fresh temporary name beside `path`.
fn temp_file(path: &[u8]) -> Result<(PathBuf, fs::File), RestoreError> {
    let flags = nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_CLOEXEC;
    fresh_name(path, |tmp| {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(flags.bits())
            .open(tmp)
    })
}

/// Calls `make` with fresh temporary names beside `path` (`.dry-tmp-<pid>-<n>`) until one is
/// not taken; returns the name made and what `make` returned.
fn fresh_name<T>(
    path: &[u8],
    mut make: impl FnMut(&Path) -> io::Result<T>,
) -> Result<(PathBuf, T), RestoreError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = model::path::parent(path);
    let pid = std::process::id();
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut tmp = dir.to_vec();
        if !tmp.ends_with(b"/") {
            tmp.push(b'/');
        }
        tmp.extend_from_slice(format!(".dry-tmp-{pid}-{n}").as_bytes());
        let tmp = path_buf(&tmp);
        match make(&tmp) {
            Ok(made) => return Ok((tmp, made)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(source) => return Err(RestoreError::Io { op: "create", path: tmp, source }),
        }
    }
}

/// Renames the finished `tmp` over `path`, removing `tmp` if that fails (or if it was already
/// a name of the same file, in which case rename does nothing). A real directory at `path`,
/// which the run must have removed, is removed first: rename cannot replace it with a file.
fn rename_over(tmp: &Path, path: &[u8]) -> Result<(), RestoreError> {
    let result = match fs::symlink_metadata(as_path(path)) {
        Ok(m) if m.is_dir() => {
            fs::remove_dir_all(as_path(path)).map_err(|source| io_err("remove", path, source))
        }
        _ => Ok(()),
    }
    .and_then(|()| fs::rename(tmp, as_path(path)).map_err(|source| io_err("rename", path, source)));
    if fs::symlink_metadata(tmp).is_ok() {
        discard(tmp);
    }
    result
}

/// Removes a temporary file after a failure; a failure to remove it is not worth a second error.
fn discard(tmp: &Path) {
    let _ = fs::remove_file(tmp);
}

fn as_path(bytes: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(bytes))
}

fn io_err(op: &'static str, path: &[u8], source: io::Error) -> RestoreError {
    RestoreError::Io { op, path: path_buf(path), source }
}
