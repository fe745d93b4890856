//! Taking the `lstat`s a big check will need ahead of time, on several threads.
//!
//! A no-op check of a command with 100 000 inputs is 100 000 `lstat`s, each a few microseconds
//! of kernel time on one core; the model's resolution then asks for them one at a time. Taken
//! ahead, split across the machine's cores, they cost their kernel time divided by the core
//! count, and each lookup then finds its answer in the snapshot. Only plain absolute paths (no
//! `.`, `..` or empty component) are taken ahead: exactly the paths the snapshot builds when it
//! walks them with no symlink on the way. Any other path, or a path whose walk meets a symlink,
//! is looked up as before, so what a check decides does not depend on this module; it only
//! changes when each `lstat` is made (still once per snapshot and path). The same threads look
//! each regular file up in the stored fingerprint table (the check's fast path for content) and
//! read the listings the predicates name, which the check would otherwise do one at a time.

use super::fingerprint::{stored_hash, CachedFingerprints};
use super::listing::{read_names, Listing};
use super::lstat::{lstat, lstat_at, Lstat};
use model::fast_hash::FastSet;
use model::fs::FileKind;
use model::view::PredicateView;
use model::Hash;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::ffi::OsStr;
use std::ops::Deref;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;

/// Fewer paths than this are not worth taking ahead. Measured (notes/performance.md, session
/// 10): a check of 650 paths (the Lua build's no-op) was 0.4 ms *slower* with the prefetch,
/// because it `lstat`s leaves whose parent the walk finds absent and pays for a thread, a map by
/// path and the cgroup reads of `available_parallelism`; the gain starts near 2 000 paths and is
/// 3–6 % at 5 000–100 000.
pub(crate) const MIN_PATHS: usize = 2048;

/// The most threads a prefetch uses.
const MAX_THREADS: usize = 8;

/// The paths of `predicates` worth taking ahead, each once: the absolute paths of content,
/// metadata and resolution predicates that are plain (a relative resolution is a project file
/// whose content predicate names it absolutely; joining each to its base would cost an
/// allocation per input for nothing); and the plain directories whose listing is a predicate.
pub(crate) fn paths_of<'a, N: Deref<Target = [u8]> + 'a>(
    predicates: impl IntoIterator<Item = PredicateView<'a, N>>,
) -> (Vec<&'a [u8]>, Vec<&'a [u8]>) {
    let (mut seen, mut seen_dirs): (FastSet<&'a [u8]>, FastSet<&'a [u8]>) = Default::default();
    let (mut paths, mut dirs) = (Vec::new(), Vec::new());
    for p in predicates {
        match p {
            PredicateView::Content { path, .. }
            | PredicateView::Metadata { path, .. }
            | PredicateView::Resolves { path, .. }
            | PredicateView::DoesNotResolve { path, .. }
                if is_plain(path) && seen.insert(path) =>
            {
                paths.push(path)
            }
            PredicateView::Listing { dir, .. } if is_plain(dir) && seen_dirs.insert(dir) => {
                dirs.push(dir)
            }
            _ => {}
        }
    }
    (paths, dirs)
}

/// Whether `path` is absolute with no empty, `.` or `..` component and no trailing slash.
fn is_plain(path: &[u8]) -> bool {
    path.len() > 1
        && path[0] == b'/'
        && path[1..].split(|&b| b == b'/').all(|c| !c.is_empty() && c != b"." && c != b"..")
}

/// What was learnt ahead of one path: its `lstat` and, for a regular file, the hash the stored
/// fingerprint table holds for it with the fingerprint just taken (the cache's fast path, so
/// the check does not probe the table itself; see `Fingerprints::hash_with_stored`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Ahead {
    /// The path's `lstat`.
    pub(crate) stat: Lstat,
    /// What the stored table holds for the file as it is now, if it does.
    pub(crate) stored_hash: Option<Hash>,
}

/// `lstat`s every one of `paths`, split across the available cores, looking each regular file
/// up in the stored fingerprint `table` on the same thread; and reads the listing of each of
/// `dirs` on one more thread (a listing of 100 000 names is a tenth of such a check).
pub(crate) fn look_ahead(
    paths: &[&[u8]],
    dirs: &[&[u8]],
    table: Option<&dyn CachedFingerprints>,
) -> (Vec<Ahead>, Vec<Listing>) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_THREADS);
    let read_all = || dirs.iter().map(|d| read_names(d)).collect::<Vec<Listing>>();
    if threads < 2 || paths.len() < MIN_PATHS {
        return (look_ahead_run(paths, table), read_all());
    }
    let chunk = paths.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let lister = (!dirs.is_empty()).then(|| scope.spawn(read_all));
        let workers: Vec<_> = paths
            .chunks(chunk)
            .skip(1)
            .map(|part| scope.spawn(move || look_ahead_run(part, table)))
            .collect();
        let mut out = look_ahead_run(&paths[..chunk.min(paths.len())], table);
        // A worker only calls lstat, readdir and reads the table: it cannot panic short of a
        // bug; if one did, what it was to learn is simply looked up again by the check.
        let listings = lister.map_or_else(Vec::new, |l| l.join().unwrap_or_default());
        for w in workers {
            match w.join() {
                Ok(part) => out.extend(part),
                Err(_) => break,
            }
        }
        (out, listings)
    })
}

/// [`lstat_run`] of `paths`, with each regular file's [`Ahead::stored_hash`] from `table`.
fn look_ahead_run(paths: &[&[u8]], table: Option<&dyn CachedFingerprints>) -> Vec<Ahead> {
    let stats = lstat_run(paths);
    paths
        .iter()
        .zip(stats)
        .map(|(path, stat)| {
            let stored_hash = match (table, stat) {
                (Some(table), Ok(Some(s))) if s.meta.kind == FileKind::Regular => {
                    stored_hash(table, path, s.fingerprint)
                }
                _ => None,
            };
            Ahead { stat, stored_hash }
        })
        .collect()
}

/// `lstat`s each of the plain absolute `paths` in order. A parent directory shared with the
/// next path is opened and the names are looked up relative to it: the kernel then walks one
/// component instead of the whole path (the answer is the same: opening the parent resolves
/// it as `lstat` of the path would).
fn lstat_run(paths: &[&[u8]]) -> Vec<Lstat> {
    let mut out = Vec::with_capacity(paths.len());
    let mut open: Option<(&[u8], OwnedFd)> = None;
    let mut split = paths.iter().map(|p| split_parent(p)).peekable();
    for path in paths {
        let Some((parent, name)) = split.next() else { break };
        if open.as_ref().is_none_or(|(dir, _)| *dir != parent) {
            open = None;
            if split.peek().is_some_and(|(next, _)| *next == parent) {
                let dir = if parent.is_empty() { &b"/"[..] } else { parent };
                let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
                if let Ok(fd) = nix::fcntl::open(OsStr::from_bytes(dir), flags, Mode::empty()) {
                    open = Some((parent, fd));
                }
            }
        }
        out.push(match &open {
            Some((_, fd)) => lstat_at(fd, name),
            None => lstat(path),
        });
    }
    out
}

/// Splits a plain absolute path at its last slash: the parent (empty for the root) and the name.
pub(crate) fn split_parent(path: &[u8]) -> (&[u8], &[u8]) {
    let slash = path.iter().rposition(|&b| b == b'/').unwrap_or(0);
    (&path[..slash], &path[slash + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_absolute_paths_are_taken_ahead() {
        for plain in [&b"/a"[..], b"/a/b.c", b"/tmp/x/.hidden", b"/a/..b"] {
            assert!(is_plain(plain), "{}", String::from_utf8_lossy(plain));
        }
        for not in [&b"/"[..], b"a/b", b"/a//b", b"/a/./b", b"/a/../b", b"/a/", b"/a/.", b""] {
            assert!(!is_plain(not), "{}", String::from_utf8_lossy(not));
        }
    }

    #[test]
    fn lookups_relative_to_a_shared_parent_answer_as_lstat_does() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::create_dir(d.join("d1")).expect("mkdir");
        std::fs::write(d.join("d1/a"), b"a").expect("write");
        std::os::unix::fs::symlink("d1", d.join("link")).expect("symlink");
        std::os::unix::fs::symlink("nowhere", d.join("d1/dangling")).expect("symlink");
        std::fs::write(d.join("file"), b"f").expect("write");
        let abs = |rel: &str| d.join(rel).into_os_string().into_encoded_bytes();
        let paths: Vec<Vec<u8>> = vec![
            abs("d1/a"),
            abs("d1/b"),
            abs("d1/dangling"),
            abs("link/a"),
            abs("link/dangling"),
            abs("file/x"),
            abs("file/y"),
            abs("nodir/x"),
            abs("nodir/y"),
            b"/etc".to_vec(),
            b"/nonexistent-top".to_vec(),
            b"/usr".to_vec(),
            d.as_os_str().as_encoded_bytes().to_vec(),
        ];
        // Not /tmp: tests running beside this one create entries in it between the two lstats.
        let refs: Vec<&[u8]> = paths.iter().map(Vec::as_slice).collect();
        let by_path: Vec<Lstat> = refs.iter().map(|p| lstat(p)).collect();
        assert_eq!(lstat_run(&refs), by_path);
        assert!(matches!(by_path[5], Err(e) if e == model::Errno::ENOTDIR));
    }

    #[test]
    fn a_regular_file_gets_the_stored_hash_only_for_its_current_fingerprint() {
        use crate::check::tests::{fingerprint_now, VecTable};
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        for name in ["same", "changed"] {
            std::fs::write(d.join(name), name).expect("write");
        }
        std::fs::create_dir(d.join("sub")).expect("mkdir");
        let abs = |rel: &str| d.join(rel).into_os_string().into_encoded_bytes();
        let mut stale = fingerprint_now(&d.join("changed"));
        stale.size_bytes += 1;
        let table = VecTable(vec![
            (abs("same"), fingerprint_now(&d.join("same")), Hash::of(b"same")),
            (abs("changed"), stale, Hash::of(b"old")),
            (abs("sub"), fingerprint_now(&d.join("sub")), Hash::of(b"a directory")),
        ]);
        let paths = [abs("same"), abs("changed"), abs("sub"), abs("absent")];
        let refs: Vec<&[u8]> = paths.iter().map(Vec::as_slice).collect();
        let got: Vec<Option<Hash>> =
            look_ahead(&refs, &[], Some(&table)).0.iter().map(|a| a.stored_hash).collect();
        assert_eq!(got, [Some(Hash::of(b"same")), None, None, None]);
    }

    #[test]
    fn every_path_gets_its_own_answer_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut paths = Vec::new();
        for i in 0..(MIN_PATHS * 3 + 7) {
            let p = dir.path().join(format!("f{i}"));
            if i % 3 == 0 {
                std::fs::write(&p, vec![b'x'; i]).expect("write");
            }
            paths.push(p.into_os_string().into_encoded_bytes());
        }
        let refs: Vec<&[u8]> = paths.iter().map(Vec::as_slice).collect();
        let (got, _) = look_ahead(&refs, &[], None);
        assert_eq!(got.len(), refs.len());
        for (i, (p, a)) in refs.iter().zip(&got).enumerate() {
            let r = a.stat;
            assert_eq!(r, lstat(p), "path {i}");
            assert_eq!(a.stored_hash, None, "path {i}: no table, no hash");
            assert_eq!(r.map(|s| s.is_some()), Ok(i % 3 == 0), "path {i}");
        }
    }
}
