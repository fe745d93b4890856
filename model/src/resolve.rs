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
    within_limits(base, path)?;
    // The directory part is resolved on its own (a snapshot remembers it: many paths share it),
    // and the last component from there. That is the same walk: every component of the
    // directory part is a non-last component of the whole, which must reach a directory with
    // symlinks followed, exactly what a `DIRECTORY` walk asks of its components; and the
    // symlinks it followed count toward the limit of the rest.
    if let Some((dir, rest)) = split_last(path) {
        // A name too long anywhere in the path fails before any lookup, as in one walk.
        if rest.split(|&b| b == b'/').any(|name| name.len() > NAME_MAX) {
            return Err(Errno::ENAMETOOLONG);
        }
        let (start, links) = fs.dir_part(base, dir)?;
        let mut links = links;
        return walk(fs, start, rest, flags, &mut links);
    }
    walk_from_start(fs, base, path, flags)
}

/// Resolves `path` from the directory `start` (ignored when `path` is absolute), as
/// `openat(fd, path)` does from the directory an fd holds: the walk starts at the node, not at
/// any path naming it, so it still starts there once the directory was renamed or removed (a
/// removed directory is empty: a name in it is `ENOENT`, `.` is itself, `..` its last parent).
pub fn resolve_from<F: Fs>(
    fs: &F,
    start: F::Node,
    path: &[u8],
    flags: ResolveFlags,
) -> Result<Resolved<F::Node>, Errno> {
    within_limits(b"", path)?;
    let start = if path[0] == b'/' { fs.root() } else { start };
    walk(fs, start, path, flags, &mut 0)
}

/// Resolves `path` from `base` in one walk, without splitting off its directory part: what
/// [`resolve`] must always agree with (the tests check that it does).
pub fn resolve_whole<F: Fs>(
    fs: &F,
    base: &[u8],
    path: &[u8],
    flags: ResolveFlags,
) -> Result<Resolved<F::Node>, Errno> {
    within_limits(base, path)?;
    walk_from_start(fs, base, path, flags)
}

/// The errors a path has before any lookup: empty (`ENOENT`), or it or its base too long.
fn within_limits(base: &[u8], path: &[u8]) -> Result<(), Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() >= PATH_MAX || base.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(())
}

/// Walks the whole non-empty `path` from the root if it is absolute, else from `base`.
fn walk_from_start<F: Fs>(
    fs: &F,
    base: &[u8],
    path: &[u8],
    flags: ResolveFlags,
) -> Result<Resolved<F::Node>, Errno> {
    let start = if path[0] == b'/' { fs.root() } else { fs.start_dir(base)? };
    walk(fs, start, path, flags, &mut 0)
}

/// Splits `path` before its last component: the directory part, without the slash that ends
/// it, and the rest (the last component with any trailing slashes). `None` when the directory
/// part is empty or only the root (`a`, `/a`, `//a/`): the walk starts where it would anyway.
fn split_last(path: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = path.len() - path.iter().rev().take_while(|&&b| b == b'/').count();
    let slash = path[..end].iter().rposition(|&b| b == b'/')?;
    let dir = &path[..slash];
    if dir.iter().all(|&b| b == b'/') {
        return None;
    }
    Some((dir, &path[slash + 1..]))
}

/// Resolves absolute directory `base` as the start of a relative resolution (what
/// [`Fs::start_dir`] does unless a filesystem remembers it).
pub fn start_dir<F: Fs>(fs: &F, base: &[u8]) -> Result<F::Node, Errno> {
    match walk(fs, fs.root(), base, ResolveFlags::DIRECTORY, &mut 0)? {
        Resolved::Node(n) => Ok(n),
        Resolved::Absent => Err(Errno::ENOENT),
    }
}

/// Resolves `dir`, the directory part of a path resolved from `base` (ignored when `dir` is
/// absolute): the directory it reaches and how many symlinks it followed to get there (what
/// [`Fs::dir_part`] does unless a filesystem remembers it).
pub fn dir_part<F: Fs>(fs: &F, base: &[u8], dir: &[u8]) -> Result<(F::Node, u32), Errno> {
    let start = if dir.first() == Some(&b'/') { fs.root() } else { fs.start_dir(base)? };
    let mut links = 0;
    match walk(fs, start, dir, ResolveFlags::DIRECTORY, &mut links)? {
        Resolved::Node(n) => Ok((n, links)),
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

/// Walks `text` from directory `start`. `start` is always a directory. `links` counts the
/// symlinks followed, from what the resolution had followed before this walk.
fn walk<F: Fs>(
    fs: &F,
    start: F::Node,
    text: &[u8],
    flags: ResolveFlags,
    links: &mut u32,
) -> Result<Resolved<F::Node>, Errno> {
    if let Some(done) = walk_one_name(fs, &start, text, flags) {
        return done;
    }
    // texts[0] is `text`; every symlink followed adds its target.
    let mut targets: Vec<Vec<u8>> = Vec::new();
    let mut first = Vec::new();
    components(0, text, &mut first)?;
    let mut queue: VecDeque<Pending> = first.into();
    let mut cur = start;
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
                    *links += 1;
                    if *links > MAX_SYMLINKS {
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

/// [`walk`] of a `text` that is one name (no slash, not `.` or `..`, not too long) reaching
/// something other than a symlink: what is left of most paths once their directory part is
/// found, walked without building a queue of components. `None` sends the caller to the
/// general walk (a symlink is followed there, from the same lookup).
fn walk_one_name<F: Fs>(
    fs: &F,
    start: &F::Node,
    text: &[u8],
    flags: ResolveFlags,
) -> Option<Result<Resolved<F::Node>, Errno>> {
    if text.is_empty()
        || text.len() > NAME_MAX
        || text == b"."
        || text == b".."
        || text.contains(&b'/')
    {
        return None;
    }
    let node = match fs.lookup(start, text) {
        Ok(Some(node)) => node,
        Ok(None) if flags.create => return Some(Ok(Resolved::Absent)),
        Ok(None) => return Some(Err(Errno::ENOENT)),
        Err(e) => return Some(Err(e)),
    };
    let kind = match fs.meta(&node) {
        Ok(m) => m.kind,
        Err(e) => return Some(Err(e)),
    };
    Some(match kind {
        FileKind::Symlink => return None,
        _ if flags.create && flags.exclusive => Err(Errno::EEXIST),
        FileKind::Directory => finish_dir(flags).map(|_| Resolved::Node(node)),
        _ if flags.directory => Err(Errno::ENOTDIR),
        _ => Ok(Resolved::Node(node)),
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memfs::MemFs;

    /// A tree with every kind of step a walk can take: directories, a file, symlinks to a
    /// directory (relative and absolute), to a file, to `/`, dangling, a loop, a target with a
    /// trailing slash.
    fn tree() -> MemFs {
        let mut fs = MemFs::new();
        fs.write(b"/p/d/f", b"x");
        fs.mkdir_p(b"/p/d/e");
        fs.symlink(b"/p/d/l", b"e");
        fs.symlink(b"/p/d/abs", b"/p/d");
        fs.symlink(b"/p/d/lf", b"f");
        fs.symlink(b"/p/d/root", b"/");
        fs.symlink(b"/p/d/dangling", b"nowhere");
        fs.symlink(b"/p/d/loop", b"loop");
        fs.symlink(b"/p/d/slash", b"e/");
        fs
    }

    /// Every path of up to three components from a set covering names, links, dots and empty
    /// components, relative and absolute, with and without a trailing slash.
    fn paths() -> Vec<Vec<u8>> {
        let parts: [&[u8]; 12] = [
            b"p",
            b"d",
            b"e",
            b"f",
            b"l",
            b"abs",
            b"lf",
            b"root",
            b"dangling",
            b"loop",
            b"..",
            b".",
        ];
        let mut out: Vec<Vec<u8>> = vec![Vec::new()];
        let mut level = vec![Vec::new()];
        for _ in 0..3 {
            let mut next = Vec::new();
            for prefix in &level {
                for part in parts.iter().chain([&&b""[..], &&b"slash"[..]]) {
                    let mut p: Vec<u8> = prefix.clone();
                    if !p.is_empty() {
                        p.push(b'/');
                    }
                    p.extend_from_slice(part);
                    next.push(p);
                }
            }
            out.extend(next.iter().cloned());
            level = next;
        }
        let mut all = Vec::new();
        for p in out {
            for lead in [&b""[..], b"/", b"/p/d/"] {
                for trail in [&b""[..], b"/"] {
                    all.push([lead, &p, trail].concat());
                }
            }
        }
        all
    }

    #[test]
    fn splitting_off_the_directory_part_walks_the_same() {
        let fs = tree();
        let creat = ResolveFlags { create: true, write: true, ..ResolveFlags::FOLLOW };
        let all_flags = [
            ResolveFlags::FOLLOW,
            ResolveFlags::NOFOLLOW,
            ResolveFlags::DIRECTORY,
            ResolveFlags { reject_symlink: true, ..ResolveFlags::NOFOLLOW },
            creat,
            ResolveFlags { exclusive: true, ..creat },
        ];
        let mut split = 0;
        for path in paths() {
            if split_last(&path).is_some() {
                split += 1;
            }
            for base in [&b"/p"[..], b"/p/d/l", b"/nowhere"] {
                for flags in all_flags {
                    assert_eq!(
                        resolve(&fs, base, &path, flags),
                        resolve_whole(&fs, base, &path, flags),
                        "{} from {} with {flags:?}",
                        String::from_utf8_lossy(&path),
                        String::from_utf8_lossy(base),
                    );
                }
            }
        }
        assert!(split > 8_000, "most paths have a directory part: {split}");
    }

    #[test]
    fn symlinks_in_the_directory_part_count_toward_the_limit_of_the_rest() {
        let mut fs = MemFs::new();
        fs.mkdir_p(b"/c/d");
        fs.write(b"/c/d/file", b"x");
        // /c/x30 -> x29 -> ... -> x1 -> d: 30 links to a directory.
        fs.symlink(b"/c/x1", b"d");
        for i in 2..=30 {
            fs.symlink(format!("/c/x{i}").as_bytes(), format!("x{}", i - 1).as_bytes());
        }
        // /c/d/y15 -> ... -> y1 -> file: 15 links to a file.
        fs.symlink(b"/c/d/y1", b"file");
        for i in 2..=15 {
            fs.symlink(format!("/c/d/y{i}").as_bytes(), format!("y{}", i - 1).as_bytes());
        }
        let kind = |p: &[u8]| resolve_kind(&fs, b"/", p, ResolveFlags::FOLLOW);
        assert_eq!(kind(b"/c/x30/file"), Ok(FileKind::Regular), "30 links alone");
        assert_eq!(kind(b"/c/d/y15"), Ok(FileKind::Regular), "15 links alone");
        assert_eq!(kind(b"/c/x30/y15"), Err(Errno::ELOOP), "45 links in one resolution");
        assert_eq!(kind(b"/c/x10/y15"), Ok(FileKind::Regular), "25 links");
        assert_eq!(
            resolve(&fs, b"/", b"/c/x30/y15", ResolveFlags::FOLLOW),
            resolve_whole(&fs, b"/", b"/c/x30/y15", ResolveFlags::FOLLOW)
        );
    }

    #[test]
    fn a_name_too_long_fails_before_a_missing_directory() {
        let fs = tree();
        let long = [&b"/nowhere/"[..], &[b'n'; NAME_MAX + 1]].concat();
        assert_eq!(resolve(&fs, b"/", &long, ResolveFlags::FOLLOW), Err(Errno::ENAMETOOLONG));
        assert_eq!(resolve_whole(&fs, b"/", &long, ResolveFlags::FOLLOW), Err(Errno::ENAMETOOLONG));
    }

    #[test]
    fn the_directory_part_is_everything_before_the_last_component() {
        assert_eq!(split_last(b"a"), None);
        assert_eq!(split_last(b"/a"), None);
        assert_eq!(split_last(b"//a//"), None);
        assert_eq!(split_last(b"a/b"), Some((&b"a"[..], &b"b"[..])));
        assert_eq!(split_last(b"/a/b/"), Some((&b"/a"[..], &b"b/"[..])));
        assert_eq!(split_last(b"a//b"), Some((&b"a/"[..], &b"b"[..])));
        assert_eq!(split_last(b"a/.."), Some((&b"a"[..], &b".."[..])));
        assert_eq!(split_last(b"///"), None);
    }
}
