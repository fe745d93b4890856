//! The file syscalls a command uses, on a [`MemFs`], with the Linux kernel's errors.
//!
//! [`Os`] is one process: a filesystem and a current directory. Each method is one syscall (or
//! the short sequence a program would issue for it, such as `open` + `read` + `close`), written
//! from the kernel's own order of checks (`fs/namei.c`: `filename_parentat`, `filename_create`,
//! `do_rmdir`, `do_unlinkat`, `do_renameat2`, `vfs_rename`), so that the model answers with the
//! same errno as Linux. Path walks go through [`crate::resolve`], the resolution dry ships.
//!
//! The process runs as root: modes are changed ([`Os::chmod`]) and asked about
//! ([`Os::access`]) but never refuse a lookup, a read or a write. Not modelled: the
//! permission errors of other users (`EACCES`, `EPERM` from modes), mount points (`EXDEV`, `EBUSY` on
//! a mount), name length limits beyond `resolve`'s, and removing the current directory, which
//! Linux allows and the model refuses with `EBUSY` (a process in a deleted directory has no path
//! to report; see notes/model.md).

use crate::fs::{FileKind, Fs, Meta};
use crate::memfs::{Inode, MemFs};
use crate::resolve::{resolve, ResolveFlags, Resolved, MAX_SYMLINKS};
use crate::{Errno, Hash};
use std::collections::BTreeMap;

/// The last component of a path, as `filename_parentat` classifies it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Last {
    /// An ordinary name; `slash` if one or more slashes followed it.
    Norm {
        /// The name.
        name: Vec<u8>,
        /// A trailing slash was present.
        slash: bool,
    },
    /// `.`
    Dot,
    /// `..`
    DotDot,
    /// The path is only slashes.
    Root,
}

/// Splits `path` into the text of its parent (`.` when there is no slash) and its last
/// component.
pub fn split_last(path: &[u8]) -> (Vec<u8>, Last) {
    let mut end = path.len();
    while end > 0 && path[end - 1] == b'/' {
        end -= 1;
    }
    if end == 0 {
        return (b"/".to_vec(), Last::Root);
    }
    let slash = end < path.len();
    let trimmed = &path[..end];
    let (parent, name) = match trimmed.iter().rposition(|&b| b == b'/') {
        Some(i) => (trimmed[..=i].to_vec(), &trimmed[i + 1..]),
        None => (b".".to_vec(), trimmed),
    };
    let last = match name {
        b"." => Last::Dot,
        b".." => Last::DotDot,
        n => Last::Norm { name: n.to_vec(), slash },
    };
    (parent, last)
}

/// Returns the kind of `node`.
fn kind_of(fs: &MemFs, node: usize) -> FileKind {
    fs.meta(&node).map(|m| m.kind).unwrap_or(FileKind::Other)
}

/// Resolves the parent of `path` from `base` as `filename_parentat` does.
pub fn parent_of(fs: &MemFs, base: &[u8], path: &[u8]) -> Result<(usize, Last), Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let (parent, last) = split_last(path);
    match resolve(fs, base, &parent, ResolveFlags::DIRECTORY)? {
        Resolved::Node(dir) => Ok((dir, last)),
        Resolved::Absent => Err(Errno::ENOENT),
    }
}

/// Finds the directory entry a resolution ends at: the directory and the name in it, following
/// a final symlink if `follow`, and the node there if any. `None` if the path does not resolve
/// or ends in `.`, `..` or `/` (a directory, named by [`MemFs::dir_path`] instead).
pub fn last_dentry(
    fs: &MemFs,
    base: &[u8],
    path: &[u8],
    follow: bool,
) -> Option<(usize, Vec<u8>, Option<usize>)> {
    let (mut base, mut text) = (base.to_vec(), path.to_vec());
    for _ in 0..=MAX_SYMLINKS {
        let (dir, last) = parent_of(fs, &base, &text).ok()?;
        let Last::Norm { name, .. } = last else { return None };
        let node = fs.lookup(&dir, &name).ok()?;
        match node {
            Some(n) if follow && kind_of(fs, n) == FileKind::Symlink => {
                base = fs.dir_path(dir)?;
                text = fs.read_link(&n).ok()?;
            }
            _ => return Some((dir, name, node)),
        }
    }
    None
}

/// Returns the name the kernel gives the file `abs` reaches, following every symlink (what
/// `/proc/PID/fd/N` reads after opening it): `None` if it does not resolve.
pub fn realpath(fs: &MemFs, abs: &[u8]) -> Option<Vec<u8>> {
    let node = match resolve(fs, b"/", abs, ResolveFlags::FOLLOW).ok()? {
        Resolved::Node(n) => n,
        Resolved::Absent => return None,
    };
    if kind_of(fs, node) == FileKind::Directory {
        return fs.dir_path(node);
    }
    let (dir, name, _) = last_dentry(fs, b"/", abs, true)?;
    Some(crate::path::join(&fs.dir_path(dir)?, &name))
}

/// The tracer's canonical name of the file an absolute path reaches (`probe::canonical` in
/// `src/trace`): fully resolved if `follow`, otherwise the resolved parent plus the last name;
/// the lexically normalised path when the parent does not resolve.
pub fn canonical(fs: &MemFs, abs: &[u8], follow: bool) -> Vec<u8> {
    let norm = crate::path::normalize(abs);
    if follow {
        return realpath(fs, abs).unwrap_or(norm);
    }
    let mut end = abs.len();
    while end > 1 && abs[end - 1] == b'/' {
        end -= 1;
    }
    let trimmed = &abs[..end];
    let (parent, name) = match trimmed.iter().rposition(|&b| b == b'/') {
        Some(i) => (&trimmed[..i.max(1)], &trimmed[i + 1..]),
        None => return norm,
    };
    if name.is_empty() || name == b"." || name == b".." {
        return realpath(fs, abs).unwrap_or(norm);
    }
    match realpath(fs, parent) {
        Some(p) => crate::path::join(&p, name),
        None => norm,
    }
}

/// The exact name the walk of absolute `abs` reaches, for [`Observation::Canonical`]: with
/// `follow`, the fully resolved name if it resolves, else the resolved directory part plus the
/// last name when that name is absent; without, the resolved directory part plus the last
/// name. `None` when the directory part does not resolve, when a followed last component
/// exists but does not resolve (a dangling symlink), or when the last component is not a name
/// (`.`, `..`) and the path does not resolve. `src/trace/probe.rs` has the same function over
/// the live filesystem.
///
/// [`Observation::Canonical`]: crate::observe::Observation::Canonical
pub fn exact_canonical(fs: &MemFs, abs: &[u8], follow: bool) -> Option<Vec<u8>> {
    let (parent, name) = crate::path::split_name(abs)?;
    if name.is_empty() || name == b"." || name == b".." {
        return realpath(fs, abs);
    }
    if follow {
        if let Some(r) = realpath(fs, abs) {
            return Some(r);
        }
        let dir = realpath(fs, parent)?;
        let path = crate::path::join(&dir, name);
        return (kind_at(fs, &path, false) == Err(Errno::ENOENT)).then_some(path);
    }
    Some(crate::path::join(&realpath(fs, parent)?, name))
}

/// Returns the kind of file absolute `abs` reaches (`stat` if `follow`, else `lstat`).
pub fn kind_at(fs: &MemFs, abs: &[u8], follow: bool) -> Result<FileKind, Errno> {
    let flags = if follow { ResolveFlags::FOLLOW } else { ResolveFlags::NOFOLLOW };
    crate::resolve::resolve_kind(fs, b"/", abs, flags)
}

/// Returns the content hash of the regular file absolute `abs` reaches.
pub fn hash_at(fs: &MemFs, abs: &[u8]) -> Result<Hash, Errno> {
    match resolve(fs, b"/", abs, ResolveFlags::FOLLOW)? {
        Resolved::Node(n) => fs.content_hash(&n),
        Resolved::Absent => Err(Errno::ENOENT),
    }
}

/// One process: a filesystem, a current directory and the directories it holds open.
#[derive(Clone, Debug)]
pub struct Os {
    /// The filesystem.
    pub fs: MemFs,
    cwd: usize,
    /// The directories opened with [`Os::open_dir`], in order: the directory nodes, not their
    /// paths (an fd keeps its directory through a rename, and a removed one stays open).
    dirfds: Vec<usize>,
}

/// How an open for writing treats the content already there.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum WriteMode {
    /// `O_TRUNC`: the old content is gone; the data is the whole file.
    Truncate,
    /// `O_APPEND`: the data goes after the old content.
    Append,
    /// Neither (`touch`, `dd conv=notrunc`): the data overwrites the start of the old content
    /// in place; what it does not reach stays.
    Overwrite,
}

impl WriteMode {
    /// Whether the old content is part of what the file holds afterwards (an input).
    pub fn keeps_content(self) -> bool {
        self != WriteMode::Truncate
    }
}

/// What `renameat2` does with an existing new name (its flags).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RenameMode {
    /// No flags (`rename`): replaces it.
    Replace,
    /// `RENAME_NOREPLACE`: fails with `EEXIST`.
    NoReplace,
    /// `RENAME_EXCHANGE`: swaps the two names, which must both exist.
    Exchange,
}

impl Os {
    /// Starts a process in directory `cwd` (absolute); `None` if it is not a directory.
    pub fn new(fs: MemFs, cwd: &[u8]) -> Option<Os> {
        match resolve(&fs, b"/", cwd, ResolveFlags::DIRECTORY) {
            Ok(Resolved::Node(cwd)) => Some(Os { fs, cwd, dirfds: Vec::new() }),
            _ => None,
        }
    }

    /// Returns the absolute path of the current directory (`/proc/PID/cwd`).
    pub fn cwd_path(&self) -> Vec<u8> {
        self.fs.dir_path(self.cwd).unwrap_or_else(|| b"/".to_vec())
    }

    fn resolve(&self, path: &[u8], flags: ResolveFlags) -> Result<Resolved<usize>, Errno> {
        resolve(&self.fs, &self.cwd_path(), path, flags)
    }

    fn parent_of(&self, path: &[u8]) -> Result<(usize, Last), Errno> {
        parent_of(&self.fs, &self.cwd_path(), path)
    }

    fn lookup(&self, dir: usize, name: &[u8]) -> Option<usize> {
        self.fs.lookup(&dir, name).ok().flatten()
    }

    fn is_dir(&self, node: usize) -> bool {
        kind_of(&self.fs, node) == FileKind::Directory
    }

    /// `open(path, O_RDONLY)`: returns the node opened (a directory opens too).
    pub fn open_read(&self, path: &[u8]) -> Result<usize, Errno> {
        match self.resolve(path, ResolveFlags::FOLLOW)? {
            Resolved::Node(n) => Ok(n),
            Resolved::Absent => Err(Errno::ENOENT),
        }
    }

    /// `open(O_RDONLY)` + `read` to the end: a directory opens, then `read` fails `EISDIR`.
    pub fn read(&self, path: &[u8]) -> Result<Vec<u8>, Errno> {
        let n = self.open_read(path)?;
        match self.fs.inode(n) {
            Some(Inode::File { content, .. }) => Ok(content.clone()),
            _ => Err(Errno::EISDIR),
        }
    }

    /// `open(O_WRONLY|O_CREAT, 0644)` (or `O_RDWR`): the regular file `path` reaches, created
    /// if absent; `EISDIR` for a directory.
    fn open_write(&mut self, path: &[u8]) -> Result<usize, Errno> {
        let flags = ResolveFlags { create: true, write: true, ..ResolveFlags::FOLLOW };
        let node = match self.resolve(path, flags)? {
            Resolved::Node(n) => n,
            Resolved::Absent => {
                let base = self.cwd_path();
                let (dir, name, _) =
                    last_dentry(&self.fs, &base, path, true).ok_or(Errno::ENOENT)?;
                let n = self.fs.alloc(Inode::File { content: Vec::new(), mode: 0o644 });
                self.fs.link_entry(dir, &name, n);
                n
            }
        };
        match self.fs.inode(node) {
            Some(Inode::File { .. }) => Ok(node),
            _ => Err(Errno::EISDIR),
        }
    }

    /// `open(O_WRONLY|O_CREAT|O_TRUNC, 0644)` (with `O_APPEND` instead of `O_TRUNC` for
    /// [`WriteMode::Append`], with neither for [`WriteMode::Overwrite`]) + `write(data)`.
    /// Returns the node written.
    pub fn write(&mut self, path: &[u8], data: &[u8], mode: WriteMode) -> Result<usize, Errno> {
        let node = self.open_write(path)?;
        if let Some(Inode::File { content, .. }) = self.fs.inode_mut(node) {
            match mode {
                WriteMode::Truncate => {
                    content.clear();
                    content.extend_from_slice(data);
                }
                WriteMode::Append => content.extend_from_slice(data),
                WriteMode::Overwrite => {
                    let n = data.len().min(content.len());
                    content[..n].copy_from_slice(&data[..n]);
                    content.extend_from_slice(&data[n..]);
                }
            }
        }
        Ok(node)
    }

    /// `open(O_RDWR|O_CREAT, 0644)` + `read` to the end + `pwrite(data, 0)`: returns what the
    /// read saw (empty for a file the open created); the data overwrites the start of the
    /// content in place, what it does not reach stays.
    pub fn read_write(&mut self, path: &[u8], data: &[u8]) -> Result<Vec<u8>, Errno> {
        let node = self.open_write(path)?;
        let Some(Inode::File { content, .. }) = self.fs.inode_mut(node) else {
            return Err(Errno::EISDIR);
        };
        let seen = content.clone();
        let n = data.len().min(content.len());
        content[..n].copy_from_slice(&data[..n]);
        content.extend_from_slice(&data[n..]);
        Ok(seen)
    }

    /// `stat` (`follow`) or `lstat`.
    pub fn stat(&self, path: &[u8], follow: bool) -> Result<Meta, Errno> {
        let flags = if follow { ResolveFlags::FOLLOW } else { ResolveFlags::NOFOLLOW };
        match self.resolve(path, flags)? {
            Resolved::Node(n) => self.fs.meta(&n),
            Resolved::Absent => Err(Errno::ENOENT),
        }
    }

    /// `readlink`: `EINVAL` on anything but a symlink.
    pub fn readlink(&self, path: &[u8]) -> Result<Vec<u8>, Errno> {
        match self.resolve(path, ResolveFlags::NOFOLLOW)? {
            Resolved::Node(n) => self.fs.read_link(&n),
            Resolved::Absent => Err(Errno::ENOENT),
        }
    }

    /// `opendir` + `readdir`: returns the directory node and its names, sorted.
    pub fn list(&self, path: &[u8]) -> Result<(usize, Vec<Vec<u8>>), Errno> {
        match self.resolve(path, ResolveFlags::DIRECTORY)? {
            Resolved::Node(n) => Ok((n, self.fs.list(&n)?)),
            Resolved::Absent => Err(Errno::ENOENT),
        }
    }

    /// The checks of `filename_create`: where a new entry would go.
    fn create_spot(&self, path: &[u8], is_dir: bool) -> Result<(usize, Vec<u8>), Errno> {
        let (dir, last) = self.parent_of(path)?;
        let Last::Norm { name, slash } = last else { return Err(Errno::EEXIST) };
        if self.lookup(dir, &name).is_some() {
            return Err(Errno::EEXIST);
        }
        if slash && !is_dir {
            return Err(Errno::ENOENT);
        }
        Ok((dir, name))
    }

    /// `mkdir(path, 0755)`.
    pub fn mkdir(&mut self, path: &[u8]) -> Result<(), Errno> {
        let (dir, name) = self.create_spot(path, true)?;
        let n = self.fs.alloc(Inode::Dir { entries: BTreeMap::new(), parent: dir, mode: 0o755 });
        self.fs.link_entry(dir, &name, n);
        Ok(())
    }

    /// `symlink(target, path)`.
    pub fn symlink(&mut self, target: &[u8], path: &[u8]) -> Result<(), Errno> {
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        let (dir, name) = self.create_spot(path, false)?;
        let n = self.fs.alloc(Inode::Symlink { target: target.to_vec() });
        self.fs.link_entry(dir, &name, n);
        Ok(())
    }

    /// `mknod(path, S_IFREG|0644, 0)`: an empty regular file, created as `symlink` creates its
    /// name (`filename_create`: `EEXIST` whatever the name is, a final symlink not followed).
    pub fn mknod(&mut self, path: &[u8]) -> Result<(), Errno> {
        let (dir, name) = self.create_spot(path, false)?;
        let n = self.fs.alloc(Inode::File { content: Vec::new(), mode: 0o644 });
        self.fs.link_entry(dir, &name, n);
        Ok(())
    }

    /// `utimensat(AT_FDCWD, path, NULL, 0)`: follows symlinks; the path must resolve. It sets
    /// the times to now, which the model does not keep: nothing changes. (As root, or as the
    /// owner, no permission check can fail.)
    pub fn touch(&self, path: &[u8]) -> Result<(), Errno> {
        self.stat(path, true).map(|_| ())
    }

    /// `link(old, new)` (`linkat` without `AT_SYMLINK_FOLLOW`).
    pub fn link(&mut self, old: &[u8], new: &[u8]) -> Result<(), Errno> {
        let node = match self.resolve(old, ResolveFlags::NOFOLLOW)? {
            Resolved::Node(n) => n,
            Resolved::Absent => return Err(Errno::ENOENT),
        };
        let (dir, name) = self.create_spot(new, false)?;
        if self.is_dir(node) {
            return Err(Errno::EPERM);
        }
        self.fs.link_entry(dir, &name, node);
        Ok(())
    }

    /// `rmdir(path)`.
    pub fn rmdir(&mut self, path: &[u8]) -> Result<(), Errno> {
        let (dir, last) = self.parent_of(path)?;
        let name = match last {
            Last::Norm { name, .. } => name,
            Last::Dot => return Err(Errno::EINVAL),
            Last::DotDot => return Err(Errno::ENOTEMPTY),
            Last::Root => return Err(Errno(16)), // EBUSY
        };
        let node = self.lookup(dir, &name).ok_or(Errno::ENOENT)?;
        if !self.is_dir(node) {
            return Err(Errno::ENOTDIR);
        }
        if !self.fs.list(&node).unwrap_or_default().is_empty() {
            return Err(Errno::ENOTEMPTY);
        }
        if node == self.cwd {
            return Err(Errno(16)); // EBUSY: the model keeps the cwd reachable
        }
        self.fs.unlink_entry(dir, &name);
        Ok(())
    }

    /// `unlink(path)`: `EISDIR` for a directory (Linux's answer).
    pub fn unlink(&mut self, path: &[u8]) -> Result<(), Errno> {
        let (dir, last) = self.parent_of(path)?;
        let Last::Norm { name, slash } = last else { return Err(Errno::EISDIR) };
        let node = self.lookup(dir, &name).ok_or(Errno::ENOENT)?;
        if self.is_dir(node) {
            return Err(Errno::EISDIR);
        }
        if slash {
            return Err(Errno::ENOTDIR);
        }
        self.fs.unlink_entry(dir, &name);
        Ok(())
    }

    /// Reports whether directory `a` is `d` or one of its ancestors.
    fn is_ancestor_or_self(&self, a: usize, d: usize) -> bool {
        let mut cur = d;
        loop {
            if cur == a {
                return true;
            }
            if cur == self.fs.root() {
                return false;
            }
            cur = self.fs.parent(&cur);
        }
    }

    /// `rename(old, new)`, in the order of checks of `do_renameat2` and `vfs_rename`.
    pub fn rename(&mut self, old: &[u8], new: &[u8]) -> Result<(), Errno> {
        self.renameat2(old, new, RenameMode::Replace)
    }

    /// `renameat2(AT_FDCWD, old, AT_FDCWD, new, flags)`, in the order of checks of
    /// `do_renameat2` and `vfs_rename`: `RENAME_NOREPLACE` turns an existing new name (and a
    /// new name that is `.` or `..`) into `EEXIST` before any other check of the two names;
    /// `RENAME_EXCHANGE` needs both names (`ENOENT`), lets either be a directory, and refuses
    /// either being an ancestor of the other's directory with `EINVAL`.
    pub fn renameat2(&mut self, old: &[u8], new: &[u8], mode: RenameMode) -> Result<(), Errno> {
        let (od, ol) = self.parent_of(old)?;
        let (nd, nl) = self.parent_of(new)?;
        let Last::Norm { name: on, slash: os } = ol else { return Err(Errno::EBUSY) };
        let Last::Norm { name: nn, slash: ns } = nl else {
            return Err(if mode == RenameMode::NoReplace { Errno::EEXIST } else { Errno::EBUSY });
        };
        let o = self.lookup(od, &on).ok_or(Errno::ENOENT)?;
        let n = self.lookup(nd, &nn);
        match (mode, n) {
            (RenameMode::NoReplace, Some(_)) => return Err(Errno::EEXIST),
            (RenameMode::Exchange, None) => return Err(Errno::ENOENT),
            (RenameMode::Exchange, Some(n)) if ns && !self.is_dir(n) => return Err(Errno::ENOTDIR),
            _ => {}
        }
        let o_dir = self.is_dir(o);
        if !o_dir && (os || (ns && mode != RenameMode::Exchange)) {
            return Err(Errno::ENOTDIR);
        }
        if od != nd && o_dir && self.is_ancestor_or_self(o, nd) {
            return Err(Errno::EINVAL);
        }
        if let Some(n) = n {
            if od != nd && self.is_dir(n) && self.is_ancestor_or_self(n, od) {
                return Err(if mode == RenameMode::Exchange {
                    Errno::EINVAL
                } else {
                    Errno::ENOTEMPTY
                });
            }
            if n == o {
                return Ok(());
            }
            if mode == RenameMode::Exchange {
                // Nothing is removed: the two entries trade inodes (directories their parents).
                self.fs.link_entry(od, &on, n);
                self.fs.link_entry(nd, &nn, o);
                return Ok(());
            }
            match (o_dir, self.is_dir(n)) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                (true, true) if !self.fs.list(&n).unwrap_or_default().is_empty() => {
                    return Err(Errno::ENOTEMPTY)
                }
                _ => {}
            }
            if n == self.cwd {
                return Err(Errno::EBUSY); // the model keeps the cwd reachable
            }
        }
        self.fs.unlink_entry(od, &on);
        self.fs.link_entry(nd, &nn, o);
        Ok(())
    }

    /// `chmod(path, mode)`: follows symlinks; sets the permission bits (`mode & 0o7777`) of
    /// the file or directory reached. The model runs as root, which may change any mode.
    pub fn chmod(&mut self, path: &[u8], mode: u32) -> Result<(), Errno> {
        let node = match self.resolve(path, ResolveFlags::FOLLOW)? {
            Resolved::Node(n) => n,
            Resolved::Absent => return Err(Errno::ENOENT),
        };
        match self.fs.inode_mut(node) {
            Some(Inode::File { mode: m, .. } | Inode::Dir { mode: m, .. }) => {
                *m = mode & 0o7777;
                Ok(())
            }
            // A followed path never ends at a symlink.
            _ => Err(Errno::ELOOP),
        }
    }

    /// `truncate(path, len)` (`do_sys_truncate`, `vfs_truncate`): follows symlinks; the file
    /// must exist (`ENOENT`), a directory is `EISDIR`; the content is cut to `len` bytes or
    /// extended with zeros, the mode kept.
    pub fn truncate(&mut self, path: &[u8], len: u64) -> Result<(), Errno> {
        let node = match self.resolve(path, ResolveFlags::FOLLOW)? {
            Resolved::Node(n) => n,
            Resolved::Absent => return Err(Errno::ENOENT),
        };
        match self.fs.inode_mut(node) {
            Some(Inode::File { content, .. }) => {
                content.resize(usize::try_from(len).map_err(|_| Errno::EINVAL)?, 0);
                Ok(())
            }
            Some(Inode::Dir { .. }) => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }

    /// `access(path, mode)` as root (`do_faccessat`, `generic_permission` with
    /// `CAP_DAC_OVERRIDE`): the path must resolve (followed); reading and writing are always
    /// granted; executing (`mode & 1`, `X_OK`) is granted for a directory, and for a regular
    /// file only if one of its three execute bits is set (`EACCES` otherwise).
    pub fn access(&self, path: &[u8], mode: u32) -> Result<(), Errno> {
        let meta = self.stat(path, true)?;
        let exec = meta.kind == FileKind::Directory || meta.mode & 0o111 != 0;
        if mode & 1 != 0 && !exec {
            return Err(Errno::EACCES);
        }
        Ok(())
    }

    /// `execve(path)`. The model's files are never programs of this machine (their contents
    /// are short bytes), so it fails as Linux fails: a lookup errno; `EACCES` for anything but
    /// a regular file, and for a file without an execute bit (root needs one); `ENOENT` for a
    /// `#!` script (its interpreter, which the model has none of); else `ENOEXEC`.
    pub fn exec(&self, path: &[u8]) -> Result<(), Errno> {
        let meta = self.stat(path, true)?;
        if meta.kind != FileKind::Regular || meta.mode & 0o111 == 0 {
            return Err(Errno::EACCES);
        }
        if self.read(path)?.starts_with(b"#!") {
            return Err(Errno::ENOENT);
        }
        Err(Errno::ENOEXEC)
    }

    /// `open(path, O_RDONLY|O_DIRECTORY)`: the directory is kept as the next dir fd (numbered
    /// from 0 in the order of the opens that succeeded); returns its node.
    pub fn open_dir(&mut self, path: &[u8]) -> Result<usize, Errno> {
        match self.resolve(path, ResolveFlags::DIRECTORY)? {
            Resolved::Node(n) => {
                self.dirfds.push(n);
                Ok(n)
            }
            Resolved::Absent => Err(Errno::ENOENT),
        }
    }

    /// The directory node of dir fd `index`, if [`Os::open_dir`] opened that many.
    pub fn dirfd(&self, index: u8) -> Option<usize> {
        self.dirfds.get(usize::from(index)).copied()
    }

    /// Resolves `rel` from dir fd `index` (`EBADF` if there is none) with `flags`.
    fn resolve_at(&self, index: u8, rel: &[u8], flags: ResolveFlags) -> Result<usize, Errno> {
        let start = self.dirfd(index).ok_or(Errno::EBADF)?;
        match crate::resolve::resolve_from(&self.fs, start, rel, flags)? {
            Resolved::Node(n) => Ok(n),
            Resolved::Absent => Err(Errno::ENOENT),
        }
    }

    /// `openat(fd, rel, O_RDONLY)` with dir fd `index`: returns the node opened.
    pub fn open_read_at(&self, index: u8, rel: &[u8]) -> Result<usize, Errno> {
        self.resolve_at(index, rel, ResolveFlags::FOLLOW)
    }

    /// `openat(fd, rel, O_RDONLY)` + `read` to the end: a directory opens, then `EISDIR`.
    pub fn read_at(&self, index: u8, rel: &[u8]) -> Result<Vec<u8>, Errno> {
        match self.fs.inode(self.open_read_at(index, rel)?) {
            Some(Inode::File { content, .. }) => Ok(content.clone()),
            _ => Err(Errno::EISDIR),
        }
    }

    /// `fstatat(fd, rel, &st, 0)` with dir fd `index` (follows a last symlink).
    pub fn stat_at(&self, index: u8, rel: &[u8]) -> Result<Meta, Errno> {
        self.fs.meta(&self.resolve_at(index, rel, ResolveFlags::FOLLOW)?)
    }

    /// `chdir(path)`.
    pub fn chdir(&mut self, path: &[u8]) -> Result<(), Errno> {
        match self.resolve(path, ResolveFlags::DIRECTORY)? {
            Resolved::Node(n) => {
                self.cwd = n;
                Ok(())
            }
            Resolved::Absent => Err(Errno::ENOENT),
        }
    }
}

#[cfg(test)]
#[path = "ops_tests.rs"]
mod tests;
