//! What a resolution depends on beyond its outcome: the directories it leaves through `..`
//! (gap G12 of notes/model.md). `d/..` names the parent of `d` only while `d` is a directory;
//! once `d` is a symlink it names the parent of the symlink's target. Predicates that resolve
//! the spelled path again see that by themselves, but an effect is recorded at the canonical
//! path, where replay restores it: a call that changes a path spelled through `..` must also
//! pin each directory it left through `..`, every prefix of its canonical path, as resolving
//! (not followed) to what it was.

use crate::errno::Errno;
use crate::fs::{FileKind, Fs, Meta};
use crate::observe::At;
use crate::resolve::{resolve_kind, ResolveFlags};
use crate::Hash;
use std::cell::RefCell;

/// A filesystem that remembers the directories `..` was taken from.
struct Spy<'a, F: Fs> {
    fs: &'a F,
    left: RefCell<Vec<F::Node>>,
}

impl<F: Fs> Fs for Spy<'_, F> {
    type Node = F::Node;
    fn root(&self) -> F::Node {
        self.fs.root()
    }
    fn lookup(&self, dir: &F::Node, name: &[u8]) -> Result<Option<F::Node>, Errno> {
        self.fs.lookup(dir, name)
    }
    fn parent(&self, dir: &F::Node) -> F::Node {
        self.left.borrow_mut().push(dir.clone());
        self.fs.parent(dir)
    }
    fn meta(&self, node: &F::Node) -> Result<Meta, Errno> {
        self.fs.meta(node)
    }
    fn read_link(&self, node: &F::Node) -> Result<Vec<u8>, Errno> {
        self.fs.read_link(node)
    }
    fn content_hash(&self, node: &F::Node) -> Result<Hash, Errno> {
        self.fs.content_hash(node)
    }
    fn list(&self, node: &F::Node) -> Result<Vec<Vec<u8>>, Errno> {
        self.fs.list(node)
    }
}

/// Resolves `at` with `flags` on `fs` and returns, for every directory the walk left through
/// `..` (its canonical path given by `path_of`), each prefix of that path with how it
/// resolves without following: the pins of G12, in order, without repeats. Empty for a walk
/// that takes no `..`, which is the common case and costs one resolution.
pub fn dotdot_pins<F: Fs>(
    fs: &F,
    at: &At,
    flags: ResolveFlags,
    path_of: impl Fn(&F::Node) -> Option<Vec<u8>>,
) -> Vec<(At, Result<FileKind, Errno>)> {
    let spy = Spy { fs, left: RefCell::new(Vec::new()) };
    let _ = resolve_kind(&spy, &at.base, &at.path, flags);
    let mut out: Vec<(At, Result<FileKind, Errno>)> = Vec::new();
    for dir in spy.left.take() {
        let Some(canon) = path_of(&dir) else { continue };
        // `/` first: a chroot or a test's temporary root makes it one more directory.
        let mut prefixes = vec![b"/".to_vec()];
        let mut prefix = Vec::new();
        for name in canon.split(|&c| c == b'/').filter(|n| !n.is_empty()) {
            prefix.push(b'/');
            prefix.extend_from_slice(name);
            prefixes.push(prefix.clone());
        }
        for prefix in prefixes {
            if out.iter().any(|(a, _)| a.path == prefix) {
                continue;
            }
            let outcome = resolve_kind(fs, b"/", &prefix, ResolveFlags::NOFOLLOW);
            out.push((At { base: b"/".to_vec(), path: prefix }, outcome));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memfs::MemFs;

    fn pins(fs: &MemFs, path: &str) -> Vec<(String, Result<FileKind, Errno>)> {
        let at = At::new(b"/p", path.as_bytes());
        dotdot_pins(fs, &at, ResolveFlags::FOLLOW, |n| fs.dir_path(*n))
            .into_iter()
            .map(|(a, o)| (String::from_utf8_lossy(&a.path).into_owned(), o))
            .collect()
    }

    #[test]
    fn a_walk_without_dotdot_pins_nothing() {
        let mut fs = MemFs::new();
        fs.write(b"/p/d/f", b"1");
        assert!(pins(&fs, "d/f").is_empty());
    }

    #[test]
    fn dotdot_pins_the_directory_it_leaves_and_its_prefixes() {
        let mut fs = MemFs::new();
        fs.write(b"/p/d/f", b"1");
        let dir = Ok(FileKind::Directory);
        let want = vec![("/".to_string(), dir), ("/p".to_string(), dir), ("/p/d".to_string(), dir)];
        assert_eq!(pins(&fs, "d/../out"), want);
    }

    #[test]
    fn dotdot_inside_a_symlink_target_pins_the_target_directory() {
        let mut fs = MemFs::new();
        fs.write(b"/p/x/y/f", b"1");
        fs.symlink(b"/p/l", b"x/y/..");
        let dir = Ok(FileKind::Directory);
        let want: Vec<_> =
            ["/", "/p", "/p/x", "/p/x/y"].iter().map(|p| (p.to_string(), dir)).collect();
        assert_eq!(pins(&fs, "l/out"), want);
    }
}
