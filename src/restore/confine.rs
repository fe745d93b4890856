//! Keeping a restore inside the project root: every effect's path must lie lexically within the
//! root, and no directory on the way to it may be a symlink that leads outside the root (or
//! nowhere), so that writing `root/out/x` can never write through `root/out -> /etc`.
//!
//! Symlinks among the parents are resolved with the model's resolution over the live filesystem
//! (`check::LiveFs`), the same algorithm that checks predicates, rather than a second one. The
//! last component is never resolved here: restoring replaces whatever is there, a symlink
//! included, and never follows it.

use super::error::RestoreError;
use crate::check::{Fingerprints, LiveFs};
use model::path::{is_within, normalize, relative_to};
use model::resolve::{resolve, ResolveFlags, Resolved};
use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The project root, lexically and as the kernel resolves it.
#[derive(Debug, Clone)]
pub struct Root {
    /// The root as given, normalised.
    lexical: Vec<u8>,
    /// The root with every symlink resolved.
    canonical: Vec<u8>,
}

impl Root {
    /// Resolves the project root `root`, which must be an absolute path to a directory.
    pub fn new(root: &Path) -> Result<Root, RestoreError> {
        let bytes = root.as_os_str().as_bytes();
        if bytes.first() != Some(&b'/') {
            return Err(RestoreError::InvalidPath { path: root.to_path_buf() });
        }
        let lexical = normalize(bytes);
        let mut fingerprints = Fingerprints::new();
        let live = LiveFs::new(&mut fingerprints);
        let canonical = match resolve(&live, b"/", &lexical, ResolveFlags::DIRECTORY) {
            Ok(Resolved::Node(n)) => n.path().to_vec(),
            Ok(Resolved::Absent) => {
                return Err(io_error("resolve", bytes, nix::errno::Errno::ENOENT))
            }
            Err(e) => return Err(io_error("resolve", bytes, nix::errno::Errno::from_raw(e.0))),
        };
        Ok(Root { lexical, canonical })
    }

    /// Checks that `path` is absolute, normalised, within the root and not the root itself
    /// (unless `root_allowed`).
    pub fn check_lexical(&self, path: &[u8], root_allowed: bool) -> Result<(), RestoreError> {
        if path.first() != Some(&b'/') || normalize(path) != path {
            return Err(RestoreError::InvalidPath { path: path_buf(path) });
        }
        if !is_within(path, &self.lexical) || (path == self.lexical && !root_allowed) {
            return Err(RestoreError::OutsideRoot {
                path: path_buf(path),
                root: path_buf(&self.lexical),
            });
        }
        Ok(())
    }

    /// Checks the directories between the root and `path`'s last component: each is absent, a
    /// directory, something not a directory (the write will then fail by itself), or a symlink
    /// that resolves to a directory within the root. Directories in `replaced` will have been
    /// replaced by real directories before `path` is written, and are not examined.
    pub fn check_parents(&self, path: &[u8], replaced: &[&[u8]]) -> Result<(), RestoreError> {
        let Some(rel) = relative_to(path, &self.lexical) else {
            return Err(RestoreError::OutsideRoot {
                path: path_buf(path),
                root: path_buf(&self.lexical),
            });
        };
        let components: Vec<&[u8]> = rel.split(|&b| b == b'/').filter(|c| *c != b".").collect();
        let Some((_, parents)) = components.split_last() else { return Ok(()) };
        let mut fingerprints = Fingerprints::new();
        let live = LiveFs::new(&mut fingerprints);
        let mut cur = self.lexical.clone();
        for name in parents {
            if !cur.ends_with(b"/") {
                cur.push(b'/');
            }
            cur.extend_from_slice(name);
            if replaced.contains(&cur.as_slice()) {
                continue;
            }
            match std::fs::symlink_metadata(OsStr::from_bytes(&cur)) {
                Ok(m) if m.is_dir() => {}
                Ok(m) if m.file_type().is_symlink() => {
                    let leads_inside = match resolve(&live, b"/", &cur, ResolveFlags::DIRECTORY) {
                        Ok(Resolved::Node(n)) => is_within(n.path(), &self.canonical),
                        _ => false,
                    };
                    if !leads_inside {
                        return Err(RestoreError::UnsafeParent {
                            path: path_buf(path),
                            through: path_buf(&cur),
                        });
                    }
                }
                // Not a directory: nothing can be written below it, and the write will say so.
                Ok(_) => return Ok(()),
                // Absent: it and everything below it will be created as real directories.
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(source) => {
                    return Err(RestoreError::Io { op: "lstat", path: path_buf(&cur), source })
                }
            }
        }
        Ok(())
    }
}

/// Returns a byte path as a `PathBuf`, losslessly.
pub fn path_buf(bytes: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(bytes))
}

fn io_error(op: &'static str, path: &[u8], errno: nix::errno::Errno) -> RestoreError {
    RestoreError::Io {
        op,
        path: path_buf(path),
        source: io::Error::from_raw_os_error(errno as i32),
    }
}
