//! Checking predicates against a filesystem: the decision between replaying and running.

use crate::fs::{FileKind, Fs};
use crate::hash::Hash;
use crate::predicate::Predicate;
use crate::resolve::{resolve, resolve_kind, ResolveFlags, Resolved};
use crate::verdict::{Observed, Verdict};

/// Where the content of standard input comes from during a check: the live checker reads its
/// own standard input's file, tests supply a value.
pub trait StdinSource {
    /// Returns the content hash of standard input if it is a regular file.
    fn stdin_hash(&self) -> Option<Hash>;
}

/// Standard input that is never a regular file.
pub struct NoStdin;

impl StdinSource for NoStdin {
    fn stdin_hash(&self) -> Option<Hash> {
        None
    }
}

/// Checks `predicates` in order and returns the first that fails, or [`Verdict::Holds`].
pub fn check<F: Fs>(predicates: &[Predicate], fs: &F, stdin: &dyn StdinSource) -> Verdict {
    for (index, p) in predicates.iter().enumerate() {
        if let Some(observed) = check_one(p, fs, stdin) {
            return Verdict::Fails { index, observed };
        }
    }
    Verdict::Holds
}

/// Checks one predicate; returns what was observed if it fails, `None` if it holds.
pub fn check_one<F: Fs>(p: &Predicate, fs: &F, stdin: &dyn StdinSource) -> Option<Observed> {
    match p {
        Predicate::Resolves { path, base, flags, to } => {
            match resolve_kind(fs, base, path, *flags) {
                Ok(kind) if kind == *to => None,
                Ok(kind) => Some(Observed::Kind(kind)),
                Err(e) => Some(Observed::Errno(e)),
            }
        }
        Predicate::DoesNotResolve { path, base, flags, errno } => {
            match resolve_kind(fs, base, path, *flags) {
                Err(e) if e == *errno => None,
                Err(e) => Some(Observed::Errno(e)),
                Ok(kind) => Some(Observed::Kind(kind)),
            }
        }
        Predicate::Content { path, hash } => {
            let node = match node_at(fs, path, ResolveFlags::FOLLOW) {
                Ok(n) => n,
                Err(o) => return Some(o),
            };
            match fs.meta(&node) {
                Ok(m) if m.kind != FileKind::Regular => return Some(Observed::Kind(m.kind)),
                Err(e) => return Some(Observed::Errno(e)),
                Ok(_) => {}
            }
            match fs.content_hash(&node) {
                Ok(h) if h == *hash => None,
                Ok(h) => Some(Observed::Hash(h)),
                Err(e) => Some(Observed::Errno(e)),
            }
        }
        Predicate::Metadata { path, kind, mode, size_bytes } => {
            let node = match node_at(fs, path, ResolveFlags::FOLLOW) {
                Ok(n) => n,
                Err(o) => return Some(o),
            };
            match fs.meta(&node) {
                Ok(m) => {
                    let size = if m.kind == FileKind::Regular { m.size_bytes } else { 0 };
                    if m.kind == *kind && m.mode == *mode && size == *size_bytes {
                        None
                    } else {
                        Some(Observed::Meta { kind: m.kind, mode: m.mode, size_bytes: size })
                    }
                }
                Err(e) => Some(Observed::Errno(e)),
            }
        }
        Predicate::Listing { dir, names } => {
            let node = match node_at(fs, dir, ResolveFlags::DIRECTORY) {
                Ok(n) => n,
                Err(o) => return Some(o),
            };
            match fs.list(&node) {
                Ok(now) if now == *names => None,
                Ok(now) => Some(Observed::Names {
                    added: now.iter().filter(|n| !names.contains(n)).cloned().collect(),
                    removed: names.iter().filter(|n| !now.contains(n)).cloned().collect(),
                }),
                Err(e) => Some(Observed::Errno(e)),
            }
        }
        Predicate::Readlink { path, target } => {
            let node = match node_at(fs, path, ResolveFlags::NOFOLLOW) {
                Ok(n) => n,
                Err(o) => return Some(o),
            };
            match fs.read_link(&node) {
                Ok(t) if t == *target => None,
                Ok(t) => Some(Observed::Target(t)),
                Err(e) => Some(Observed::Errno(e)),
            }
        }
        Predicate::Stdin { hash } => match stdin.stdin_hash() {
            Some(h) if h == *hash => None,
            Some(h) => Some(Observed::Hash(h)),
            None => Some(Observed::NoStdinFile),
        },
    }
}

fn node_at<F: Fs>(fs: &F, path: &[u8], flags: ResolveFlags) -> Result<F::Node, Observed> {
    match resolve(fs, b"/", path, flags) {
        Ok(Resolved::Node(n)) => Ok(n),
        Ok(Resolved::Absent) => Err(Observed::Errno(crate::Errno::ENOENT)),
        Err(e) => Err(Observed::Errno(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errno::Errno;
    use crate::memfs::MemFs;

    #[test]
    fn each_predicate_fails_after_the_change_it_guards() {
        let mut fs = MemFs::new();
        fs.write(b"/p/inc2/a.h", b"2");
        fs.mkdir_p(b"/p/inc1");
        fs.symlink(b"/p/l", b"inc2/a.h");
        let preds = vec![
            Predicate::DoesNotResolve {
                path: b"inc1/a.h".to_vec(),
                base: b"/p".to_vec(),
                flags: ResolveFlags::FOLLOW,
                errno: Errno::ENOENT,
            },
            Predicate::Resolves {
                path: b"inc2/a.h".to_vec(),
                base: b"/p".to_vec(),
                flags: ResolveFlags::FOLLOW,
                to: FileKind::Regular,
            },
            Predicate::Content { path: b"/p/inc2/a.h".to_vec(), hash: Hash::of(b"2") },
            Predicate::Listing { dir: b"/p/inc2".to_vec(), names: vec![b"a.h".to_vec()] },
            Predicate::Readlink { path: b"/p/l".to_vec(), target: b"inc2/a.h".to_vec() },
        ];
        assert_eq!(check(&preds, &fs, &NoStdin), Verdict::Holds);

        let mut shadowed = fs.clone();
        shadowed.write(b"/p/inc1/a.h", b"1");
        assert_eq!(
            check(&preds, &shadowed, &NoStdin),
            Verdict::Fails { index: 0, observed: Observed::Kind(FileKind::Regular) }
        );
        let mut edited = fs.clone();
        edited.write(b"/p/inc2/a.h", b"3");
        assert_eq!(
            check(&preds, &edited, &NoStdin),
            Verdict::Fails { index: 2, observed: Observed::Hash(Hash::of(b"3")) }
        );
        let mut listed = fs.clone();
        listed.write(b"/p/inc2/b.h", b"");
        assert!(matches!(check(&preds, &listed, &NoStdin), Verdict::Fails { index: 3, .. }));
        let mut relinked = fs.clone();
        relinked.symlink(b"/p/l", b"elsewhere");
        assert_eq!(
            check(&preds, &relinked, &NoStdin),
            Verdict::Fails { index: 4, observed: Observed::Target(b"elsewhere".to_vec()) }
        );
    }

    struct FileStdin(Hash);
    impl StdinSource for FileStdin {
        fn stdin_hash(&self) -> Option<Hash> {
            Some(self.0)
        }
    }

    #[test]
    fn stdin_predicate_compares_the_current_stdin() {
        let fs = MemFs::new();
        let preds = vec![Predicate::Stdin { hash: Hash::of(b"a") }];
        assert!(check(&preds, &fs, &FileStdin(Hash::of(b"a"))).holds());
        assert!(!check(&preds, &fs, &FileStdin(Hash::of(b"b"))).holds());
        assert!(!check(&preds, &fs, &NoStdin).holds());
    }
}
