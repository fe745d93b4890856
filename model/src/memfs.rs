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

    /// Removes the entry at `abs` (whatever it is); returns whether there was one.
    pub fn remove(&mut self, abs: &[u8]) -> bool {
        let Some(parent) = self.dir_ino(crate::path::parent(abs)) else { return false };
        match &mut self.inodes[parent] {
            Inode::Dir { entries, .. } => entries.remove(crate::path::file_name(abs)).is_some(),
            _ => false,
        }
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
