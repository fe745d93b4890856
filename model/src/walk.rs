//! What a call that changes a path depends on beyond the outcome of resolving it: the walk
//! itself (gaps G12 and G15 of notes/model.md). The change is recorded at the canonical path,
//! where replay restores it, so the walk must reach the same place again: every directory it
//! looks a name up in, or leaves through `..`, must still be a directory (not a symlink to
//! elsewhere), and every symlink it follows must still have its target. `d/../x` names `x`
//! beside `d` only while `d` is a directory; `a/b` names `b` in `a` only while `a` is not
//! a symlink; `l/b` names `b` in `l`'s target only while `l` has that target.

use crate::errno::Errno;
use crate::fs::{FileKind, Fs, Meta};
use crate::observe::At;
use crate::resolve::{resolve_kind, ResolveFlags};
use crate::Hash;
use std::cell::RefCell;

/// One fact of a walk to record as an input.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Pin {
    /// An absolute path (a prefix of a directory the walk went through) and how it resolves
    /// without following.
    Dir {
        /// The path, with base `/`.
        at: At,
        /// What it resolves to (a directory, unless the walk raced).
        outcome: Result<FileKind, Errno>,
    },
    /// A symlink the walk followed: its canonical path and target.
    Link {
        /// The symlink's canonical path.
        path: Vec<u8>,
        /// Its target.
        target: Vec<u8>,
    },
}

/// A filesystem that remembers where a resolution went.
struct Spy<'a, F: Fs> {
    fs: &'a F,
    /// The directories looked in or left through `..`, and the symlinks followed (with the
    /// directory and name they were found by), in walk order.
    steps: RefCell<Vec<Step<F::Node>>>,
    last_lookup: RefCell<Option<(F::Node, Vec<u8>)>>,
}

enum Step<N> {
    Dir(N),
    Link { dir: N, name: Vec<u8>, target: Vec<u8> },
}

impl<F: Fs> Fs for Spy<'_, F> {
    type Node = F::Node;
    fn root(&self) -> F::Node {
        self.fs.root()
    }
    fn lookup(&self, dir: &F::Node, name: &[u8]) -> Result<Option<F::Node>, Errno> {
        self.steps.borrow_mut().push(Step::Dir(dir.clone()));
        *self.last_lookup.borrow_mut() = Some((dir.clone(), name.to_vec()));
        self.fs.lookup(dir, name)
    }
    fn parent(&self, dir: &F::Node) -> F::Node {
        self.steps.borrow_mut().push(Step::Dir(dir.clone()));
        self.fs.parent(dir)
    }
    fn meta(&self, node: &F::Node) -> Result<Meta, Errno> {
        self.fs.meta(node)
    }
    fn read_link(&self, node: &F::Node) -> Result<Vec<u8>, Errno> {
        let target = self.fs.read_link(node)?;
        if let Some((dir, name)) = self.last_lookup.borrow().clone() {
            let step = Step::Link { dir, name, target: target.clone() };
            self.steps.borrow_mut().push(step);
        }
        Ok(target)
    }
    fn content_hash(&self, node: &F::Node) -> Result<Hash, Errno> {
        self.fs.content_hash(node)
    }
    fn list(&self, node: &F::Node) -> Result<Vec<Vec<u8>>, Errno> {
        self.fs.list(node)
    }
    fn identity(&self, node: &F::Node) -> Result<(u64, u64), Errno> {
        self.fs.identity(node)
    }
    fn link_count(&self, node: &F::Node) -> Result<u64, Errno> {
        self.fs.link_count(node)
    }
    fn grants(&self, node: &F::Node, want: u32) -> Result<bool, Errno> {
        self.fs.grants(node, want)
    }
    fn vouches_for_listing(&self, node: &F::Node, names: &[&[u8]]) -> bool {
        self.fs.vouches_for_listing(node, names)
    }

    fn leaves_out(&self, node: &F::Node, name: &[u8]) -> bool {
        self.fs.leaves_out(node, name)
    }
}

/// Resolves `at` with `flags` on `fs` and returns the pins of its walk, in walk order without
/// repeats: for every directory it looked a name up in or left through `..` (canonical path
/// given by `path_of`), `/` and each prefix of that path with how it resolves without
/// following; for every symlink it followed, its canonical path and target.
pub fn change_pins<F: Fs>(
    fs: &F,
    at: &At,
    flags: ResolveFlags,
    path_of: impl Fn(&F::Node) -> Option<Vec<u8>>,
) -> Vec<Pin> {
    let spy = Spy { fs, steps: RefCell::new(Vec::new()), last_lookup: RefCell::new(None) };
    let _ = resolve_kind(&spy, &at.base, &at.path, flags);
    let mut out: Vec<Pin> = Vec::new();
    let mut push = |pin: Pin| {
        if !out.contains(&pin) {
            out.push(pin);
        }
    };
    for step in spy.steps.take() {
        match step {
            Step::Dir(dir) => {
                let Some(canon) = path_of(&dir) else { continue };
                for prefix in prefixes(&canon) {
                    let outcome = resolve_kind(fs, b"/", &prefix, ResolveFlags::NOFOLLOW);
                    push(Pin::Dir { at: At { base: b"/".to_vec(), path: prefix }, outcome });
                }
            }
            Step::Link { dir, name, target } => {
                let Some(canon) = path_of(&dir) else { continue };
                push(Pin::Link { path: crate::path::join(&canon, &name), target });
            }
        }
    }
    out
}

/// `/` and every prefix of absolute `path` (`/a/b` → `/`, `/a`, `/a/b`).
fn prefixes(path: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![b"/".to_vec()];
    let mut prefix = Vec::new();
    for name in path.split(|&c| c == b'/').filter(|n| !n.is_empty()) {
        prefix.push(b'/');
        prefix.extend_from_slice(name);
        out.push(prefix.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memfs::MemFs;

    fn pins(fs: &MemFs, path: &str) -> Vec<String> {
        let at = At::new(b"/p", path.as_bytes());
        change_pins(fs, &at, ResolveFlags::FOLLOW, |n| fs.dir_path(*n))
            .into_iter()
            .map(|pin| match pin {
                Pin::Dir { at, outcome: Ok(FileKind::Directory) } => {
                    String::from_utf8_lossy(&at.path).into_owned()
                }
                Pin::Dir { at, outcome } => {
                    format!("{} {outcome:?}", String::from_utf8_lossy(&at.path))
                }
                Pin::Link { path, target } => format!(
                    "{} -> {}",
                    String::from_utf8_lossy(&path),
                    String::from_utf8_lossy(&target)
                ),
            })
            .collect()
    }

    #[test]
    fn a_walk_pins_the_directories_it_looks_in() {
        let mut fs = MemFs::new();
        fs.write(b"/p/d/f", b"1");
        assert_eq!(pins(&fs, "d/f"), ["/", "/p", "/p/d"]);
    }

    #[test]
    fn dotdot_pins_the_directory_it_leaves() {
        let mut fs = MemFs::new();
        fs.write(b"/p/d/f", b"1");
        assert_eq!(pins(&fs, "d/../out"), ["/", "/p", "/p/d"]);
    }

    #[test]
    fn a_followed_symlink_is_pinned_with_its_target_and_where_it_leads() {
        let mut fs = MemFs::new();
        fs.write(b"/p/x/y/f", b"1");
        fs.symlink(b"/p/l", b"x/y/..");
        assert_eq!(pins(&fs, "l/out"), ["/", "/p", "/p/l -> x/y/..", "/p/x", "/p/x/y"]);
    }
}
