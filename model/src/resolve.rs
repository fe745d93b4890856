//! POSIX path resolution as Linux performs it, written once against [`Fs`].
//!
//! Covers components, `.`, `..`, symlinks (followed with the kernel's limit of 40), trailing
//! slashes, `O_NOFOLLOW`, `O_DIRECTORY`, `O_CREAT`, `O_CREAT|O_EXCL` and opening for writing,
//! with the errors `ENOENT`, `ENOTDIR`, `EEXIST`, `EISDIR`, `ELOOP` and `ENAMETOOLONG`.
//! Permissions and mount points are not modelled (see notes/model.md); errors the filesystem
//! itself reports (e.g. `EACCES` from a live lookup) pass through.

use crate::fs::{FileKind, Fs};
use crate::Errno;
use std::collections::VecDeque;

/// The kernel's limit on symlinks followed in one resolution (`MAXSYMLINKS`).
pub const MAX_SYMLINKS: u32 = 40;
/// The kernel's limit on a path's length in bytes, including the NUL (`PATH_MAX`).
pub const PATH_MAX: usize = 4096;
/// The limit on one component's length in bytes (`NAME_MAX`).
pub const NAME_MAX: usize = 255;

/// How a path is resolved: the lookup flags of the syscall that resolved it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
#[cfg_attr(feature = "rkyv", derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize))]
#[cfg_attr(feature = "rkyv", rkyv(derive(Debug, PartialEq, Eq), attr(allow(missing_docs))))]
pub struct ResolveFlags {
    /// Follow a symlink at the last component (`stat`, `open` without `O_NOFOLLOW`).
    pub follow: bool,
    /// A symlink at an unfollowed last component is an error, `ELOOP` (`open(O_NOFOLLOW)`).
    pub reject_symlink: bool,
    /// The result must be a directory (`O_DIRECTORY`, `chdir`).
    pub directory: bool,
    /// A missing last component is acceptable: it would be created (`O_CREAT`).
    pub create: bool,
    /// With `create`: an existing last component is `EEXIST` (`O_EXCL`).
    pub exclusive: bool,
    /// Opened for writing: a directory is `EISDIR`.
    pub write: bool,
}

impl ResolveFlags {
    /// Flags of `stat`, `access`, `open(O_RDONLY)`, `execve`: follow the last symlink.
    pub const FOLLOW: ResolveFlags = ResolveFlags {
        follow: true,
        reject_symlink: false,
        directory: false,
        create: false,
        exclusive: false,
        write: false,
    };
    /// Flags of `lstat`, `readlink`, `unlink`: do not follow the last symlink.
    pub const NOFOLLOW: ResolveFlags = ResolveFlags {
        follow: false,
        reject_symlink: false,
        directory: false,
        create: false,
        exclusive: false,
        write: false,
    };
    /// Flags of `chdir` and `open(O_DIRECTORY)`.
    pub const DIRECTORY: ResolveFlags = ResolveFlags {
        follow: true,
        reject_symlink: false,
        directory: true,
        create: false,
        exclusive: false,
        write: false,
    };
}

/// The result of a successful resolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved<N> {
    /// The path reaches this node.
    Node(N),
    /// The last component is absent and `create` was asked: the file would be created.
    Absent,
}

/// Resolves `path` from the absolute directory `base` (ignored when `path` is absolute) with
/// `flags`, exactly as the Linux kernel would.
pub fn resolve<F: Fs>(
    fs: &F,
    base: &[u8],
    path: &[u8],
    flags: ResolveFlags,
) -> Result<Resolved<F::Node>, Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() >= PATH_MAX || base.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let start = if path[0] == b'/' { fs.root() } else { fs.start_dir(base)? };
    walk(fs, start, path, flags)
}

/// Resolves absolute directory `base` as the start of a relative resolution (what
/// [`Fs::start_dir`] does unless a filesystem remembers it).
pub fn start_dir<F: Fs>(fs: &F, base: &[u8]) -> Result<F::Node, Errno> {
    match walk(fs, fs.root(), base, ResolveFlags::DIRECTORY)? {
        Resolved::Node(n) => Ok(n),
        Resolved::Absent => Err(Errno::ENOENT),
    }
}

/// Returns the kind a resolution reaches; in create mode an absent last component counts as the
/// regular file that would be created.
pub fn resolve_kind<F: Fs>(
    fs: &F,
    base: &[u8],
    path: &[u8],
    flags: ResolveFlags,
) -> Result<FileKind, Errno> {
    match resolve(fs, base, path, flags)? {
        Resolved::Node(n) => Ok(fs.meta(&n)?.kind),
        Resolved::Absent => Ok(FileKind::Regular),
    }
}

/// One component still to walk: where its name lies in one of the texts being walked (the path,
/// or a symlink's target), and whether a slash followed it there. Ranges rather than copies: a
/// resolution allocates per symlink followed, not per component.
struct Pending {
    text: usize,
    start: usize,
    end: usize,
    slash_after: bool,
}

/// Appends the components of `text` (number `text_id` among the texts walked) to `out`.
fn components(text_id: usize, text: &[u8], out: &mut Vec<Pending>) -> Result<(), Errno> {
    let mut start = 0;
    for part in text.split(|&b| b == b'/') {
        let end = start + part.len();
        if !part.is_empty() {
            if part.len() > NAME_MAX {
                return Err(Errno::ENAMETOOLONG);
            }
            out.push(Pending { text: text_id, start, end, slash_after: end < text.len() });
        }
        start = end + 1;
    }
    Ok(())
}

/// Walks `text` from directory `start`. `start` is always a directory.
fn walk<F: Fs>(
    fs: &F,
    start: F::Node,
    text: &[u8],
    flags: ResolveFlags,
) -> Result<Resolved<F::Node>, Errno> {
    // texts[0] is `text`; every symlink followed adds its target.
    let mut targets: Vec<Vec<u8>> = Vec::new();
    let mut first = Vec::new();
    components(0, text, &mut first)?;
    let mut queue: VecDeque<Pending> = first.into();
    let mut cur = start;
    let mut links = 0u32;
    // A path that is only slashes ("/") names the start directory itself.
    if queue.is_empty() {
        return finish_dir(flags).map(|_| Resolved::Node(cur));
    }
    // A slash after the last component demands a directory and follows a final symlink.
    let mut must_dir = queue.back().is_some_and(|p| p.slash_after);
    while let Some(comp) = queue.pop_front() {
        let last = queue.is_empty();
        let source = if comp.text == 0 { text } else { &targets[comp.text - 1] };
        match &source[comp.start..comp.end] {
            b"." => {
                if last {
                    return finish_dir(flags).map(|_| Resolved::Node(cur));
                }
            }
            b".." => {
                cur = fs.parent(&cur);
                if last {
                    return finish_dir(flags).map(|_| Resolved::Node(cur));
                }
            }
            name => {
                // open(O_CREAT) on a last component followed by a slash is EISDIR before the
                // name is even looked up (fs/namei.c, open_last_lookups).
                if last && flags.create && must_dir {
                    return Err(Errno::EISDIR);
                }
                let Some(node) = fs.lookup(&cur, name)? else {
                    return match (last, flags.create, must_dir) {
                        (true, true, false) => Ok(Resolved::Absent),
                        (true, true, true) => Err(Errno::EISDIR),
                        _ => Err(Errno::ENOENT),
                    };
                };
                let kind = fs.meta(&node)?.kind;
                if kind == FileKind::Symlink {
                    if last && flags.create && flags.exclusive {
                        return Err(Errno::EEXIST);
                    }
                    if last && !flags.follow && !must_dir {
                        // O_DIRECTORY is checked before O_NOFOLLOW rejects the link (do_open).
                        if flags.directory {
                            return Err(Errno::ENOTDIR);
                        }
                        if flags.reject_symlink {
                            return Err(Errno::ELOOP);
                        }
                        return Ok(Resolved::Node(node));
                    }
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return Err(Errno::ELOOP);
                    }
                    let target = fs.read_link(&node)?;
                    if target.is_empty() {
                        return Err(Errno::ENOENT);
                    }
                    if target[0] == b'/' {
                        cur = fs.root();
                    }
                    let mut expansion = Vec::new();
                    components(targets.len() + 1, &target, &mut expansion)?;
                    if last && target.ends_with(b"/") {
                        must_dir = true;
                    }
                    targets.push(target);
                    if expansion.is_empty() {
                        // The target is "/": the root directory stands for this component.
                        if last {
                            return finish_dir(flags).map(|_| Resolved::Node(cur));
                        }
                        continue;
                    }
                    for p in expansion.into_iter().rev() {
                        queue.push_front(p);
                    }
                    continue;
                }
                if !last {
                    if kind != FileKind::Directory {
                        return Err(Errno::ENOTDIR);
                    }
                    cur = node;
                    continue;
                }
                if flags.create && flags.exclusive {
                    return Err(Errno::EEXIST);
                }
                if kind == FileKind::Directory {
                    return finish_dir(flags).map(|_| Resolved::Node(node));
                }
                if must_dir || flags.directory {
                    return Err(Errno::ENOTDIR);
                }
                return Ok(Resolved::Node(node));
            }
        }
    }
    // Only reached when the queue held "." or ".." components that were not last; unreachable
    // because the loop returns on the last component, but kept total.
    Ok(Resolved::Node(cur))
}

/// The checks on a last component that is a directory.
fn finish_dir(flags: ResolveFlags) -> Result<(), Errno> {
    if flags.create && flags.exclusive {
        return Err(Errno::EEXIST);
    }
    if flags.create || flags.write {
        return Err(Errno::EISDIR);
    }
    Ok(())
}
