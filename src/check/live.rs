//! The live filesystem as a [`model::Fs`]: the kernel answers each per-directory lookup, and
//! the model's resolution algorithm (written once, in `model::resolve`) does the rest.
//!
//! A [`LiveNode`] is the node's absolute canonical path (no symlink in it: the model follows
//! symlinks itself, one component at a time) together with its `lstat`. Lookups are `lstat` of
//! `dir/name`, cached for the life of one [`LiveFs`]: a check touches shared prefixes (the project
//! root, `/usr/include`...) many times. A `LiveFs` is therefore a snapshot for one decision; make
//! a new one after anything may have changed the filesystem (a restore, a run).
//!
//! Content hashes go through [`Fingerprints`], so an unchanged file costs one `lstat` and is never
//! read. This module reads user files and never writes them.
//!
//! Limit: the kernel walks a path one component at a time, while `lstat(dir/name)` hands it the
//! whole canonical path, so a canonical path longer than `PATH_MAX` fails here with
//! `ENAMETOOLONG` where the command itself may have succeeded (the check then fails, and the
//! command runs: safe, only slower).

use super::fingerprint::{fingerprint_of, Fingerprints};
use model::fingerprint::Fingerprint;
use model::fs::{FileKind, Fs, Meta};
use model::{Errno, Hash};
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::Metadata;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::rc::Rc;

/// What `lstat` said about one node: the parts the model and the fingerprint fast path need.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Stat {
    meta: Meta,
    fingerprint: Fingerprint,
}

/// The answer of one `lstat`: the node, `None` for an absent name, or the kernel's error.
type Lstat = Result<Option<Stat>, Errno>;

/// One file of the live filesystem: its canonical absolute path and its `lstat`.
#[derive(Clone, Debug)]
pub struct LiveNode {
    path: Rc<[u8]>,
    stat: Result<Stat, Errno>,
}

impl LiveNode {
    /// Returns the node's absolute canonical path (no symlink, `.` or `..` in it).
    pub fn path(&self) -> &[u8] {
        &self.path
    }
}

/// The real filesystem, seen through cached `lstat` calls and the fingerprint cache.
pub struct LiveFs<'a> {
    /// `lstat` results by absolute path: `Ok(None)` for an absent name.
    lstats: RefCell<HashMap<Rc<[u8]>, Lstat>>,
    fingerprints: RefCell<&'a mut Fingerprints>,
}

impl<'a> LiveFs<'a> {
    /// Returns a fresh snapshot of the live filesystem hashing content through `fingerprints`.
    pub fn new(fingerprints: &'a mut Fingerprints) -> LiveFs<'a> {
        LiveFs { lstats: RefCell::new(HashMap::new()), fingerprints: RefCell::new(fingerprints) }
    }

    /// Returns how many `lstat` calls this snapshot made (cache misses), for tests and `-v`.
    pub fn lstat_count(&self) -> usize {
        self.lstats.borrow().len()
    }

    /// Returns the node at canonical absolute `path`, `lstat`-ing it once per snapshot.
    fn node(&self, path: Vec<u8>) -> Result<Option<LiveNode>, Errno> {
        if let Some(cached) = self.lstats.borrow().get(path.as_slice()) {
            let path: Rc<[u8]> = path.into();
            return cached.map(|s| s.map(|stat| LiveNode { path, stat: Ok(stat) }));
        }
        let path: Rc<[u8]> = path.into();
        let result = match std::fs::symlink_metadata(OsStr::from_bytes(&path)) {
            Ok(m) => Ok(Some(stat_of(&m))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(errno_of(&e)),
        };
        self.lstats.borrow_mut().insert(path.clone(), result);
        result.map(|s| s.map(|stat| LiveNode { path, stat: Ok(stat) }))
    }
}

impl Fs for LiveFs<'_> {
    type Node = LiveNode;

    fn root(&self) -> LiveNode {
        match self.node(b"/".to_vec()) {
            Ok(Some(n)) => n,
            Ok(None) => LiveNode { path: Rc::from(&b"/"[..]), stat: Err(Errno::ENOENT) },
            Err(e) => LiveNode { path: Rc::from(&b"/"[..]), stat: Err(e) },
        }
    }

    fn lookup(&self, dir: &LiveNode, name: &[u8]) -> Result<Option<LiveNode>, Errno> {
        let mut path = Vec::with_capacity(dir.path.len() + 1 + name.len());
        path.extend_from_slice(&dir.path);
        if !path.ends_with(b"/") {
            path.push(b'/');
        }
        path.extend_from_slice(name);
        self.node(path)
    }

    fn parent(&self, dir: &LiveNode) -> LiveNode {
        let parent = model::path::parent(&dir.path).to_vec();
        match self.node(parent.clone()) {
            Ok(Some(n)) => n,
            // The parent vanished or became unreadable since `dir` was reached: the node carries
            // the error, and any use of it fails with the kernel's answer.
            Ok(None) => LiveNode { path: parent.into(), stat: Err(Errno::ENOENT) },
            Err(e) => LiveNode { path: parent.into(), stat: Err(e) },
        }
    }

    fn meta(&self, node: &LiveNode) -> Result<Meta, Errno> {
        node.stat.map(|s| s.meta)
    }

    fn read_link(&self, node: &LiveNode) -> Result<Vec<u8>, Errno> {
        match std::fs::read_link(OsStr::from_bytes(&node.path)) {
            Ok(target) => Ok(target.into_os_string().into_vec()),
            Err(e) => Err(errno_of(&e)),
        }
    }

    fn content_hash(&self, node: &LiveNode) -> Result<Hash, Errno> {
        let stat = node.stat?;
        if stat.meta.kind != FileKind::Regular {
            return Err(if stat.meta.kind == FileKind::Directory {
                Errno::EISDIR
            } else {
                Errno::EINVAL
            });
        }
        let path = Path::new(OsStr::from_bytes(&node.path));
        let mut fingerprints = self.fingerprints.borrow_mut();
        fingerprints.hash_with_fingerprint(path, stat.fingerprint).map_err(|e| errno_of(&e))
    }

    fn list(&self, node: &LiveNode) -> Result<Vec<Vec<u8>>, Errno> {
        let dir = std::fs::read_dir(OsStr::from_bytes(&node.path)).map_err(|e| errno_of(&e))?;
        let mut names = Vec::new();
        for entry in dir {
            let entry = entry.map_err(|e| errno_of(&e))?;
            names.push(entry.file_name().into_vec());
        }
        names.sort();
        Ok(names)
    }
}

/// Extracts what the model and the fingerprint cache need from an `lstat`.
fn stat_of(m: &Metadata) -> Stat {
    let t = m.file_type();
    let kind = if t.is_file() {
        FileKind::Regular
    } else if t.is_dir() {
        FileKind::Directory
    } else if t.is_symlink() {
        FileKind::Symlink
    } else {
        debug_assert!(
            t.is_fifo() || t.is_socket() || t.is_block_device() || t.is_char_device(),
            "a file type std does not know"
        );
        FileKind::Other
    };
    let size_bytes = if kind == FileKind::Regular { m.size() } else { 0 };
    Stat {
        meta: Meta { kind, mode: m.mode() & 0o7777, size_bytes },
        fingerprint: fingerprint_of(m),
    }
}

/// Converts an I/O error into the kernel errno it carries (`EIO` if it carries none).
pub fn errno_of(e: &io::Error) -> Errno {
    Errno(e.raw_os_error().unwrap_or(nix::errno::Errno::EIO as i32))
}
