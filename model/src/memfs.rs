//! An in-memory filesystem implementing [`Fs`], for tests, property tests and fuzzing.

use crate::fs::{FileKind, Fs, Meta};
use crate::{Errno, Hash};
use std::collections::BTreeMap;

/// The content of one inode.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Inode {
    /// A regular file.
    File {
        /// Its bytes.
        content: Vec<u8>,
        /// Permission bits.
        mode: u32,
    },
    /// A directory: names to inode numbers, and its parent's inode number.
    Dir {
        /// Entries, without `.` and `..`.
        entries: BTreeMap<Vec<u8>, usize>,
        /// The parent directory (the root is its own parent).
        parent: usize,
        /// Permission bits.
        mode: u32,
    },
    /// A symlink.
    Symlink {
        /// Its target.
        target: Vec<u8>,
    },
}

/// An in-memory tree of inodes; inode 0 is the root directory.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MemFs {
    inodes: Vec<Inode>,
}

impl Default for MemFs {
    fn default() -> Self {
        MemFs::new()
    }
}

impl MemFs {
    /// Returns a filesystem holding only an empty root directory.
    pub fn new() -> MemFs {
        MemFs { inodes: vec![Inode::Dir { entries: BTreeMap::new(), parent: 0, mode: 0o755 }] }
    }

    /// Returns inode `ino`.
    pub fn inode(&self, ino: usize) -> Option<&Inode> {
        self.inodes.get(ino)
    }

    /// Looks up the directory at normalised absolute `dir` without following symlinks.
    fn dir_ino(&self, dir: &[u8]) -> Option<usize> {
        let mut cur = 0;
        for comp in dir.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
            match &self.inodes[cur] {
                Inode::Dir { entries, .. } => cur = *entries.get(comp)?,
                _ => return None,
            }
        }
        matches!(self.inodes[cur], Inode::Dir { .. }).then_some(cur)
    }

    fn insert(&mut self, abs: &[u8], node: Inode) -> Option<usize> {
        let (dir, name) = (crate::path::parent(abs), crate::path::file_name(abs));
        let parent = self.dir_ino(dir)?;
        let ino = self.inodes.len();
        let node = match node {
            Inode::Dir { entries, mode, .. } => Inode::Dir { entries, parent, mode },
            other => other,
        };
        self.inodes.push(node);
        if let Inode::Dir { entries, .. } = &mut self.inodes[parent] {
            entries.insert(name.to_vec(), ino);
        }
        Some(ino)
    }

    /// Creates directory `abs` and its missing ancestors (no symlinks are followed).
    pub fn mkdir_p(&mut self, abs: &[u8]) {
        let norm = crate::path::normalize(abs);
        let mut so_far = Vec::new();
        for comp in norm.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
            so_far.push(b'/');
            so_far.extend_from_slice(comp);
            if self.dir_ino(&so_far).is_none() {
                self.insert(
                    &so_far,
                    Inode::Dir { entries: BTreeMap::new(), parent: 0, mode: 0o755 },
                );
            }
        }
    }

    /// Creates (or replaces the entry at) regular file `abs`, creating ancestors.
    pub fn write(&mut self, abs: &[u8], content: &[u8]) {
        self.mkdir_p(crate::path::parent(abs));
        self.insert(abs, Inode::File { content: content.to_vec(), mode: 0o644 });
    }

    /// Creates (or replaces the entry at) symlink `abs` with `target`, creating ancestors.
    pub fn symlink(&mut self, abs: &[u8], target: &[u8]) {
        self.mkdir_p(crate::path::parent(abs));
        self.insert(abs, Inode::Symlink { target: target.to_vec() });
    }

    /// Makes `abs` another name of the file at `to` (both absolute, no symlink followed),
    /// replacing what `abs` named, as `ln -f` does; returns false, changing nothing, if `to` is
    /// absent or a directory, or `abs` names a directory or has no parent directory.
    pub fn hard_link(&mut self, abs: &[u8], to: &[u8]) -> bool {
        let node_of = |fs: &MemFs, p: &[u8]| {
            let dir = fs.dir_ino(crate::path::parent(p))?;
            match &fs.inodes[dir] {
                Inode::Dir { entries, .. } => entries.get(crate::path::file_name(p)).copied(),
                _ => None,
            }
        };
        let Some(target) = node_of(self, to) else { return false };
        let Some(parent) = self.dir_ino(crate::path::parent(abs)) else { return false };
        let replaced = node_of(self, abs);
        let is_dir = |n: usize| matches!(self.inodes[n], Inode::Dir { .. });
        if is_dir(target) || replaced.is_some_and(is_dir) {
            return false;
        }
        self.link_entry(parent, crate::path::file_name(abs), target)
    }

    /// Removes the entry at `abs` (whatever it is); returns whether there was one.
    pub fn remove(&mut self, abs: &[u8]) -> bool {
        let Some(parent) = self.dir_ino(crate::path::parent(abs)) else { return false };
        match &mut self.inodes[parent] {
            Inode::Dir { entries, .. } => entries.remove(crate::path::file_name(abs)).is_some(),
            _ => false,
        }
    }
}

/// The state of one path in a [`MemFs::snapshot`]: what a command could observe there.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Snap {
    /// A regular file.
    File {
        /// Its bytes.
        content: Vec<u8>,
        /// Permission bits.
        mode: u32,
    },
    /// A directory.
    Dir {
        /// Permission bits.
        mode: u32,
    },
    /// A symlink.
    Symlink {
        /// Its target.
        target: Vec<u8>,
    },
}

/// Inode-level editing, for the syscalls of [`crate::ops`] and for replay.
impl MemFs {
    /// Adds an unlinked inode and returns its number. A directory's parent is set when it is
    /// linked with [`MemFs::link_entry`].
    pub fn alloc(&mut self, node: Inode) -> usize {
        self.inodes.push(node);
        self.inodes.len() - 1
    }

    /// Returns inode `ino` for editing.
    pub fn inode_mut(&mut self, ino: usize) -> Option<&mut Inode> {
        self.inodes.get_mut(ino)
    }

    /// Makes `name` in directory `dir` refer to inode `ino`, replacing any previous entry; a
    /// directory inode gets `dir` as its parent. Returns false if `dir` is not a directory.
    pub fn link_entry(&mut self, dir: usize, name: &[u8], ino: usize) -> bool {
        if !matches!(self.inodes.get(dir), Some(Inode::Dir { .. })) || ino >= self.inodes.len() {
            return false;
        }
        if let Inode::Dir { parent, .. } = &mut self.inodes[ino] {
            *parent = dir;
        }
        if let Inode::Dir { entries, .. } = &mut self.inodes[dir] {
            entries.insert(name.to_vec(), ino);
        }
        true
    }

    /// Removes `name` from directory `dir`; returns the inode it named.
    pub fn unlink_entry(&mut self, dir: usize, name: &[u8]) -> Option<usize> {
        match self.inodes.get_mut(dir)? {
            Inode::Dir { entries, .. } => entries.remove(name),
            _ => None,
        }
    }

    /// Returns the number of directory entries naming inode `ino` (its link count, not
    /// counting `.` and `..`), among the inodes reachable from the root.
    pub fn nlink(&self, ino: usize) -> usize {
        let mut n = 0;
        let mut stack = vec![0usize];
        while let Some(d) = stack.pop() {
            if let Inode::Dir { entries, .. } = &self.inodes[d] {
                for &child in entries.values() {
                    n += usize::from(child == ino);
                    if matches!(self.inodes[child], Inode::Dir { .. }) {
                        stack.push(child);
                    }
                }
            }
        }
        n
    }

    /// Returns the absolute path of directory `ino`, or `None` if it is not reachable from the
    /// root (removed) or not a directory.
    pub fn dir_path(&self, ino: usize) -> Option<Vec<u8>> {
        let mut names: Vec<&[u8]> = Vec::new();
        let mut cur = ino;
        // A directory's depth is bounded by the number of inodes; more steps means a cycle.
        for _ in 0..=self.inodes.len() {
            if cur == 0 {
                let mut out = Vec::new();
                for n in names.iter().rev() {
                    out.push(b'/');
                    out.extend_from_slice(n);
                }
                return Some(if out.is_empty() { b"/".to_vec() } else { out });
            }
            let Inode::Dir { parent, .. } = self.inodes.get(cur)? else { return None };
            let Inode::Dir { entries, .. } = &self.inodes[*parent] else { return None };
            let (name, _) = entries.iter().find(|(_, &i)| i == cur)?;
            names.push(name);
            cur = *parent;
        }
        None
    }

    /// Returns every path reachable from the root without following symlinks (the root itself
    /// excluded), with what is there: the filesystem as a command can observe it, independent
    /// of inode numbering.
    pub fn snapshot(&self) -> BTreeMap<Vec<u8>, Snap> {
        let mut out = BTreeMap::new();
        let mut stack = vec![(0usize, Vec::new())];
        while let Some((d, prefix)) = stack.pop() {
            let Inode::Dir { entries, .. } = &self.inodes[d] else { continue };
            for (name, &child) in entries {
                let mut p = prefix.clone();
                p.push(b'/');
                p.extend_from_slice(name);
                let snap = match &self.inodes[child] {
                    Inode::File { content, mode } => {
                        Snap::File { content: content.clone(), mode: *mode }
                    }
                    Inode::Dir { mode, .. } => {
                        stack.push((child, p.clone()));
                        Snap::Dir { mode: *mode }
                    }
                    Inode::Symlink { target } => Snap::Symlink { target: target.clone() },
                };
                out.insert(p, snap);
            }
        }
        out
    }

    /// Returns the groups of paths (two or more) that name the same regular file, each sorted.
    pub fn hard_link_groups(&self) -> Vec<Vec<Vec<u8>>> {
        let mut by_ino: BTreeMap<usize, Vec<Vec<u8>>> = BTreeMap::new();
        let mut stack = vec![(0usize, Vec::new())];
        while let Some((d, prefix)) = stack.pop() {
            let Inode::Dir { entries, .. } = &self.inodes[d] else { continue };
            for (name, &child) in entries {
                let mut p: Vec<u8> = prefix.clone();
                p.push(b'/');
                p.extend_from_slice(name);
                match self.inodes[child] {
                    Inode::Dir { .. } => stack.push((child, p)),
                    _ => by_ino.entry(child).or_default().push(p),
                }
            }
        }
        let mut groups: Vec<Vec<Vec<u8>>> = by_ino
            .into_values()
            .filter(|g| g.len() > 1)
            .map(|mut g| {
                g.sort();
                g
            })
            .collect();
        groups.sort();
        groups
    }
}

impl Fs for MemFs {
    type Node = usize;

    fn root(&self) -> usize {
        0
    }

    fn lookup(&self, dir: &usize, name: &[u8]) -> Result<Option<usize>, Errno> {
        match &self.inodes[*dir] {
            Inode::Dir { entries, .. } => Ok(entries.get(name).copied()),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn parent(&self, dir: &usize) -> usize {
        match &self.inodes[*dir] {
            Inode::Dir { parent, .. } => *parent,
            _ => *dir,
        }
    }

    fn meta(&self, node: &usize) -> Result<Meta, Errno> {
        Ok(match &self.inodes[*node] {
            Inode::File { content, mode } => {
                Meta { kind: FileKind::Regular, mode: *mode, size_bytes: content.len() as u64 }
            }
            Inode::Dir { mode, .. } => {
                Meta { kind: FileKind::Directory, mode: *mode, size_bytes: 0 }
            }
            Inode::Symlink { target } => {
                Meta { kind: FileKind::Symlink, mode: 0o777, size_bytes: target.len() as u64 }
            }
        })
    }

    fn read_link(&self, node: &usize) -> Result<Vec<u8>, Errno> {
        match &self.inodes[*node] {
            Inode::Symlink { target } => Ok(target.clone()),
            _ => Err(Errno::EINVAL),
        }
    }

    fn content_hash(&self, node: &usize) -> Result<Hash, Errno> {
        match &self.inodes[*node] {
            Inode::File { content, .. } => Ok(Hash::of(content)),
            Inode::Dir { .. } => Err(Errno::EISDIR),
            Inode::Symlink { .. } => Err(Errno::EINVAL),
        }
    }

    fn list(&self, node: &usize) -> Result<Vec<Vec<u8>>, Errno> {
        match &self.inodes[*node] {
            Inode::Dir { entries, .. } => Ok(entries.keys().cloned().collect()),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn identity(&self, node: &usize) -> Result<(u64, u64), Errno> {
        Ok((0, *node as u64))
    }

    fn link_count(&self, node: &usize) -> Result<u64, Errno> {
        Ok(self.nlink(*node) as u64)
    }

    fn grants(&self, node: &usize, want: u32) -> Result<bool, Errno> {
        Ok(crate::fs::root_grants(&self.meta(node)?, want))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::{resolve_kind, ResolveFlags};

    fn fs() -> MemFs {
        let mut fs = MemFs::new();
        fs.write(b"/p/inc2/a.h", b"x");
        fs.mkdir_p(b"/p/inc1");
        fs.symlink(b"/p/link", b"inc2/a.h");
        fs.symlink(b"/p/dirlink", b"inc2");
        fs.symlink(b"/p/loop", b"loop");
        fs
    }

    #[test]
    fn resolves_like_the_kernel() {
        let fs = fs();
        let k = |p: &[u8], f| resolve_kind(&fs, b"/p", p, f);
        assert_eq!(k(b"inc2/a.h", ResolveFlags::FOLLOW), Ok(FileKind::Regular));
        assert_eq!(k(b"inc1/a.h", ResolveFlags::FOLLOW), Err(Errno::ENOENT));
        assert_eq!(k(b"link", ResolveFlags::FOLLOW), Ok(FileKind::Regular));
        assert_eq!(k(b"link", ResolveFlags::NOFOLLOW), Ok(FileKind::Symlink));
        assert_eq!(k(b"dirlink/../inc1", ResolveFlags::FOLLOW), Ok(FileKind::Directory));
        assert_eq!(k(b"inc2/a.h/x", ResolveFlags::FOLLOW), Err(Errno::ENOTDIR));
        assert_eq!(k(b"inc2/a.h/", ResolveFlags::FOLLOW), Err(Errno::ENOTDIR));
        assert_eq!(k(b"loop", ResolveFlags::FOLLOW), Err(Errno::ELOOP));
        assert_eq!(k(b"loop", ResolveFlags::NOFOLLOW), Ok(FileKind::Symlink));
        let nofollow_open = ResolveFlags { reject_symlink: true, ..ResolveFlags::NOFOLLOW };
        assert_eq!(k(b"link", nofollow_open), Err(Errno::ELOOP));
        let creat = ResolveFlags { create: true, write: true, ..ResolveFlags::FOLLOW };
        assert_eq!(k(b"inc1/new", creat), Ok(FileKind::Regular));
        assert_eq!(k(b"inc1", creat), Err(Errno::EISDIR));
        let excl = ResolveFlags { exclusive: true, ..creat };
        assert_eq!(k(b"link", excl), Err(Errno::EEXIST));
        assert_eq!(k(b"nodir/new", creat), Err(Errno::ENOENT));
        assert_eq!(k(b"/", ResolveFlags::DIRECTORY), Ok(FileKind::Directory));
        assert_eq!(k(b"", ResolveFlags::FOLLOW), Err(Errno::ENOENT));
    }
}
