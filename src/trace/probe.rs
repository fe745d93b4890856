//! The tracer's own look at the filesystem: the kind and metadata of a path, its canonical
//! name, a directory's names, and the `/proc/PID/...` links that say what a tracee holds.
//!
//! These are read at a syscall stop, while the tracee waits, so they see what the tracee is
//! about to see (or has just seen). Paths a tracee names through `/proc/self` are rewritten to
//! `/proc/PID` first, so that the tracer does not look at itself. Never touches tracee memory.

use model::fingerprint::Fingerprint;
use model::fs::{FileKind, Meta};
use model::path;
use model::Errno;
use nix::unistd::Pid;
use std::ffi::OsStr;
use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Views a byte path as a `Path` (no conversion: paths stay bytes).
pub(crate) fn os(p: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(p))
}

/// Returns `/proc/PID/<rest>`.
pub(crate) fn proc_path(pid: Pid, rest: &str) -> Vec<u8> {
    format!("/proc/{}/{}", pid.as_raw(), rest).into_bytes()
}

/// Rewrites `/proc/self` and `/proc/thread-self` in an absolute path to the tracee's own
/// `/proc/PID`, so that the tracer's probes land on the tracee's files.
pub(crate) fn for_tracee(pid: Pid, abs: Vec<u8>) -> Vec<u8> {
    for prefix in [&b"/proc/self"[..], b"/proc/thread-self"] {
        if abs.starts_with(prefix) && matches!(abs.get(prefix.len()), None | Some(b'/')) {
            let mut out = format!("/proc/{}", pid.as_raw()).into_bytes();
            out.extend_from_slice(&abs[prefix.len()..]);
            return out;
        }
    }
    abs
}

fn errno_of(e: &std::io::Error) -> Errno {
    Errno(e.raw_os_error().unwrap_or(nix::libc::EIO))
}

/// Maps `st_mode` to a kind.
pub(crate) fn kind_of_mode(mode: u32) -> FileKind {
    match mode & nix::libc::S_IFMT {
        nix::libc::S_IFREG => FileKind::Regular,
        nix::libc::S_IFDIR => FileKind::Directory,
        nix::libc::S_IFLNK => FileKind::Symlink,
        _ => FileKind::Other,
    }
}

/// Returns the whole `stat` (or `lstat`) of `p`.
pub(crate) fn metadata(p: &[u8], follow: bool) -> Result<fs::Metadata, Errno> {
    let r = if follow { fs::metadata(os(p)) } else { fs::symlink_metadata(os(p)) };
    r.map_err(|e| errno_of(&e))
}

/// Returns the metadata dry observes of `p` (following a last symlink if `follow`).
pub(crate) fn meta(p: &[u8], follow: bool) -> Result<Meta, Errno> {
    Ok(meta_of(&metadata(p, follow)?))
}

/// The metadata dry observes of a `stat` result.
pub(crate) fn meta_of(m: &fs::Metadata) -> Meta {
    Meta {
        kind: kind_of_mode(m.mode()),
        mode: m.permissions().mode() & 0o7777,
        size_bytes: m.len(),
    }
}

/// Returns the kind of file `p` reaches.
pub(crate) fn kind(p: &[u8], follow: bool) -> Result<FileKind, Errno> {
    Ok(meta(p, follow)?.kind)
}

/// Reports whether the file at `p` (followed) grants this process the access `want` (`R_OK`,
/// `W_OK`, `X_OK` bits), as `access(2)` with the effective ids says (mode, owner, ACLs, a
/// read-only mount); an error if it cannot tell. Shared by the tracer (a refused open) and the
/// check of `Predicate::Access`, so both ask the same question.
pub(crate) fn grants(p: &[u8], want: u32) -> Result<bool, Errno> {
    use nix::unistd::{faccessat, AccessFlags};
    let flags = AccessFlags::from_bits_truncate(want as i32 & 7);
    match faccessat(nix::fcntl::AT_FDCWD, os(p), flags, nix::fcntl::AtFlags::AT_EACCESS) {
        Ok(()) => Ok(true),
        Err(nix::errno::Errno::EACCES | nix::errno::Errno::EPERM | nix::errno::Errno::EROFS) => {
            Ok(false)
        }
        Err(e) => Err(Errno(e as i32)),
    }
}

/// Returns `(dev, ino)` and whether it is a regular file, a pipe/socket, or a char device.
pub(crate) fn identity(p: &[u8]) -> Option<((u64, u64), fs::FileType)> {
    let m = fs::metadata(os(p)).ok()?;
    Some(((m.dev(), m.ino()), m.file_type()))
}

/// Returns the identity `(dev, ino)` of the file `p` reaches (following a last symlink if
/// `follow`), for telling two names of one file from two files.
pub(crate) fn file_id(p: &[u8], follow: bool) -> Option<(u64, u64)> {
    let m = metadata(p, follow).ok()?;
    Some((m.dev(), m.ino()))
}

/// The fingerprint of the directory at canonical `dir` (not following a last symlink), if it is
/// one: taken before [`list`] reads it, for a listing record (`Fingerprints::note_listing`).
pub(crate) fn dir_fingerprint(dir: &[u8]) -> Option<Fingerprint> {
    let m = fs::symlink_metadata(os(dir)).ok().filter(fs::Metadata::is_dir)?;
    Some(crate::check::fingerprint_of(&m))
}

/// Reports whether a file type is a pipe or a socket.
pub(crate) fn is_stream(t: &fs::FileType) -> bool {
    t.is_fifo() || t.is_socket()
}

/// Reports whether the `/proc/PID/fd/N` link `fd` refers to a terminal: a character device
/// named as one (`/dev/pts/N`, `/dev/tty*`, `/dev/console`). The link is not opened: opening a
/// terminal can make it a controlling terminal, and a FIFO would block.
pub(crate) fn is_terminal(fd: &[u8]) -> bool {
    let Some((_, kind)) = identity(fd) else { return false };
    kind.is_char_device()
        && readlink(fd).is_some_and(|t| {
            t.starts_with(b"/dev/pts/") || t.starts_with(b"/dev/tty") || t == b"/dev/console"
        })
}

/// Reads the target of a symlink (or of a `/proc` magic link).
pub(crate) fn readlink(p: &[u8]) -> Option<Vec<u8>> {
    fs::read_link(os(p)).ok().map(|t| t.into_os_string().into_encoded_bytes())
}

/// Returns the absolute path the tracee's fd `fd` refers to, if it names a path at all (not
/// a pipe, socket or anonymous inode).
pub(crate) fn fd_path(pid: Pid, fd: i32) -> Option<Vec<u8>> {
    let target = readlink(&proc_path(pid, &format!("fd/{fd}")))?;
    target.starts_with(b"/").then_some(target)
}

/// Returns the canonical path of the tracer's own `fd` (`/proc/self/fd`: no `getpid`).
pub(crate) fn own_fd_path(fd: i32) -> Option<Vec<u8>> {
    let target = readlink(format!("/proc/self/fd/{fd}").as_bytes())?;
    target.starts_with(b"/").then_some(target)
}

/// Returns the tracee's current directory.
pub(crate) fn cwd(pid: Pid) -> Option<Vec<u8>> {
    readlink(&proc_path(pid, "cwd"))
}

/// Resolves `p` completely, as the kernel does: opens it with `O_PATH` and reads the fd's
/// `/proc` link. The tracer needs the kernel's own answer to "which file is this now"; the
/// model's lexical paths would be wrong after a `..` through a symlink.
fn realpath(p: &[u8]) -> Option<Vec<u8>> {
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_PATH | nix::libc::O_CLOEXEC)
        .open(os(p))
        .ok()?;
    let target = readlink(format!("/proc/self/fd/{}", file.as_raw_fd()).as_bytes())?;
    target.starts_with(b"/").then_some(target)
}

/// The exact name the walk of absolute `abs` reaches, for `Observation::Canonical`: the same
/// function as `model::ops::exact_canonical`, over the live filesystem. With `follow`, the
/// fully resolved name if it resolves, else the resolved directory part plus the last name
/// when that name is absent; without, the resolved directory part plus the last name. `None`
/// when no exact name can be given.
pub(crate) fn exact_canonical(abs: &[u8], follow: bool) -> Option<Vec<u8>> {
    let (parent, name) = path::split_name(abs)?;
    if name.is_empty() || name == b"." || name == b".." {
        return realpath(abs);
    }
    if follow {
        if let Some(r) = realpath(abs) {
            return Some(r);
        }
        let path = path::join(&realpath(parent)?, name);
        return (kind(&path, false) == Err(Errno::ENOENT)).then_some(path);
    }
    Some(path::join(&realpath(parent)?, name))
}

/// Returns the canonical name of the file an absolute path reaches: fully resolved if `follow`,
/// otherwise the resolved parent plus the last name. Falls back to the lexically normalised
/// path when the parent does not resolve.
pub(crate) fn canonical(abs: &[u8], follow: bool) -> Vec<u8> {
    let norm = path::normalize(abs);
    if follow {
        return realpath(abs).unwrap_or(norm);
    }
    let trimmed = trim_trailing_slashes(abs);
    let (parent, name) = match trimmed.iter().rposition(|&b| b == b'/') {
        Some(i) => (&trimmed[..i.max(1)], &trimmed[i + 1..]),
        None => return norm,
    };
    if name.is_empty() || name == b"." || name == b".." {
        return realpath(abs).unwrap_or(norm);
    }
    match realpath(parent) {
        Some(mut p) => {
            if !p.ends_with(b"/") {
                p.push(b'/');
            }
            p.extend_from_slice(name);
            p
        }
        None => norm,
    }
}

fn trim_trailing_slashes(p: &[u8]) -> &[u8] {
    let mut end = p.len();
    while end > 1 && p[end - 1] == b'/' {
        end -= 1;
    }
    &p[..end]
}

/// Lists directory `dir`: its names without `.` and `..`, sorted bytewise.
pub(crate) fn list(dir: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(os(dir)).ok()? {
        names.push(entry.ok()?.file_name().into_encoded_bytes());
    }
    names.sort();
    Some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_self_is_the_tracee() {
        let pid = Pid::from_raw(42);
        assert_eq!(for_tracee(pid, b"/proc/self/fd/3".to_vec()), b"/proc/42/fd/3");
        assert_eq!(for_tracee(pid, b"/proc/self".to_vec()), b"/proc/42");
        assert_eq!(for_tracee(pid, b"/proc/selfish".to_vec()), b"/proc/selfish");
    }

    #[test]
    fn canonical_without_follow_keeps_the_last_name() {
        let dir = tempfile::TempDir::new().expect("tempdir");
        let real = realpath(dir.path().as_os_str().as_bytes()).expect("canonical tempdir");
        std::os::unix::fs::symlink("missing", dir.path().join("link")).expect("symlink");
        let mut abs = real.clone();
        abs.extend_from_slice(b"/./link/");
        let mut want = real.clone();
        want.extend_from_slice(b"/link");
        assert_eq!(canonical(&abs, false), want);
        assert_eq!(canonical(&abs, true), path::normalize(&abs));
    }
}
