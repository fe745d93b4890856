//! Taking the `lstat`s a big check will need ahead of time, on several threads.
//!
//! A no-op check of a command with 100 000 inputs is 100 000 `lstat`s, each a few microseconds
//! of kernel time on one core; the model's resolution then asks for them one at a time. Taken
//! ahead, split across the machine's cores, they cost their kernel time divided by the core
//! count, and each lookup then finds its answer in the snapshot. The answers are *streamed*:
//! worker threads take chunks of [`CHUNK`] paths in order and the check, on its own thread,
//! settles each chunk when it reaches the predicates that need it, so that walking the paths
//! overlaps taking them instead of following it (see [`streamed`]). Only plain absolute paths (no
//! `.`, `..` or empty component) are taken ahead: exactly the paths the snapshot builds when it
//! walks them with no symlink on the way. Any other path, or a path whose walk meets a symlink,
//! is looked up as before, so what a check decides does not depend on this module; it only
//! changes when each `lstat` is made (still once per snapshot and path). The same threads look
//! each regular file up in the stored fingerprint table (the check's fast path for content) and
//! read the listings the predicates name, which the check would otherwise do one at a time.

use super::fingerprint::{stored_hash, CachedFingerprints};
use super::listing::{read_listed, Listed};
use super::lstat::{lstat, lstat_at, Lstat};
use model::fast_hash::{FastMap, FastSet};
use model::fs::FileKind;
use model::view::PredicateView;
use model::Hash;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::ffi::OsStr;
use std::ops::Deref;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::thread::ScopedJoinHandle;

/// Fewer paths than this are not worth taking ahead. Measured (notes/performance.md, session
/// 10): a check of 650 paths (the Lua build's no-op) was 0.4 ms *slower* with the prefetch,
/// because it `lstat`s leaves whose parent the walk finds absent and pays for a thread, a map by
/// path and the cgroup reads of `available_parallelism`; the gain starts near 2 000 paths and is
/// 3–6 % at 5 000–100 000.
pub(crate) const MIN_PATHS: usize = 2048;

/// The most threads a prefetch uses.
const MAX_THREADS: usize = 8;

/// How many paths a worker takes at a time: small enough that the check starts walking soon
/// and that workers stop soon after it fails, big enough that handing a chunk over costs
/// nothing next to its `lstat`s (about 2 ms of them).
pub(crate) const CHUNK: usize = 1024;

/// A path (or a directory) worth taking ahead, with the number of the first predicate that
/// names it: the check must have its answer before it checks that predicate.
pub(crate) type Planned<'a> = (&'a [u8], u32);

/// The paths of `predicates` worth taking ahead, in the order of their first use: the absolute
/// paths of content, metadata and resolution predicates that are plain (a relative resolution
/// is a project file whose content predicate names it absolutely; joining each to its base
/// would cost an allocation per input for nothing); and the plain directories whose listing is
/// a predicate, each once. A path is left out when it repeats the one before (a file's
/// resolutions and its content are predicates in a row); one that comes back later is taken
/// again, and the snapshot keeps its first answer: a set of every path seen cost a tenth of a
/// 100 000-input check (measured, session 15) to save a few repeated `lstat`s on the workers.
pub(crate) fn paths_of<'a, N: Deref<Target = [u8]> + 'a>(
    predicates: impl IntoIterator<Item = PredicateView<'a, N>>,
) -> (Vec<Planned<'a>>, Vec<Planned<'a>>) {
    let mut seen_dirs: FastSet<&'a [u8]> = FastSet::default();
    let (mut paths, mut dirs): (Vec<Planned<'a>>, Vec<Planned<'a>>) = Default::default();
    for (i, p) in predicates.into_iter().enumerate() {
        let Ok(i) = u32::try_from(i) else { break };
        match p {
            PredicateView::Content { path, .. }
            | PredicateView::Metadata { path, .. }
            | PredicateView::Resolves { path, .. }
            | PredicateView::DoesNotResolve { path, .. } => {
                let repeat = paths.last().is_some_and(|(last, _)| *last == path);
                if !repeat && is_plain(path) {
                    paths.push((path, i));
                }
            }
            PredicateView::Listing { dir, .. } if is_plain(dir) && seen_dirs.insert(dir) => {
                dirs.push((dir, i))
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

/// The answers of a prefetch as they arrive, in the order of the paths: see [`streamed`].
pub(crate) struct Stream<'s> {
    /// The chunks the workers answer, with their numbers, in the order they finish.
    rx: Receiver<(usize, Vec<Ahead>)>,
    /// Chunks received ahead of their turn, by number, until the check takes them in order.
    early: FastMap<usize, Vec<Ahead>>,
    /// The number of the next chunk to hand out, and how many there are.
    next: usize,
    chunks: usize,
    lister: Option<ScopedJoinHandle<'s, Vec<Listed>>>,
}

impl Stream<'_> {
    /// Returns the next chunk's answers, in order (chunk `k` answers paths `k * CHUNK` on), as
    /// soon as a worker has taken them; `None` once every chunk was handed out, or if a worker
    /// is gone without answering (the check then asks the kernel itself).
    pub(crate) fn next_chunk(&mut self) -> Option<Vec<Ahead>> {
        if self.next >= self.chunks {
            return None;
        }
        let answers = match self.early.remove(&self.next) {
            Some(a) => a,
            None => loop {
                let (k, answers) = self.rx.recv().ok()?;
                if k == self.next {
                    break answers;
                }
                self.early.insert(k, answers);
            },
        };
        self.next += 1;
        Some(answers)
    }

    /// Returns the listings of the directories, in order, once they are read (waiting for
    /// them); `None` if they were taken already or there are none, or if reading them failed
    /// short of an answer (the check then reads them itself).
    pub(crate) fn listings(&mut self) -> Option<Vec<Listed>> {
        self.lister.take()?.join().ok()
    }

    /// [`Stream::listings`] if they are read already, without waiting; `None` otherwise.
    pub(crate) fn listings_if_read(&mut self) -> Option<Vec<Listed>> {
        if self.lister.as_ref().is_some_and(|l| l.is_finished()) {
            self.listings()
        } else {
            None
        }
    }
}

/// Runs `check` on this thread while worker threads take the `lstat`s of `paths` (plain
/// absolute paths), chunk by chunk and in order, and one more reads the listing of each of
/// `dirs` (a listing of 100 000 names is a tenth of such a check). Each worker looks the
/// regular files it found up in the stored fingerprint `table`. `check` takes the answers from
/// the [`Stream`] as it needs them. Once it returns, the workers stop after the chunk they are
/// on: a check that fails early does not wait for the `lstat`s of paths it will never look at.
pub(crate) fn streamed<R>(
    paths: &[&[u8]],
    dirs: &[&[u8]],
    table: Option<&dyn CachedFingerprints>,
    check: impl FnOnce(&mut Stream<'_>) -> R,
) -> R {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_THREADS);
    let chunks = paths.len().div_ceil(CHUNK);
    let taken = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let lister = (!dirs.is_empty())
            .then(|| scope.spawn(|| dirs.iter().map(|d| read_listed(d)).collect::<Vec<_>>()));
        let (tx, rx) = mpsc::channel();
        let workers: Vec<_> = (0..threads.min(chunks))
            .map(|_| {
                let tx = tx.clone();
                let (taken, stop) = (&taken, &stop);
                scope.spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let k = taken.fetch_add(1, Ordering::Relaxed);
                        let Some(part) = paths.chunks(CHUNK).nth(k) else { break };
                        if tx.send((k, look_ahead_run(part, table))).is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        let mut stream = Stream { rx, early: FastMap::default(), next: 0, chunks, lister };
        let verdict = check(&mut stream);
        stop.store(true, Ordering::Relaxed);
        // A worker only calls lstat and reads the table: it cannot panic short of a bug; if one
        // did, what it was to learn was looked up by the check itself.
        for w in workers {
            let _ = w.join();
        }
        if let Some(l) = stream.lister.take() {
            let _ = l.join();
        }
        verdict
    })
}

/// [`lstat_run`] of `paths`, with each regular file's [`Ahead::stored_hash`] from `table`
/// (looked up all at once: see `CachedFingerprints::get_many`).
fn look_ahead_run(paths: &[&[u8]], table: Option<&dyn CachedFingerprints>) -> Vec<Ahead> {
    let stats = lstat_run(paths);
    let mut ahead: Vec<Ahead> =
        stats.into_iter().map(|stat| Ahead { stat, stored_hash: None }).collect();
    let Some(table) = table else { return ahead };
    let regular = |a: &Ahead| match a.stat {
        Ok(Some(s)) if s.meta.kind == FileKind::Regular => Some(s.fingerprint),
        _ => None,
    };
    let files: Vec<&[u8]> =
        paths.iter().zip(&ahead).filter(|(_, a)| regular(a).is_some()).map(|(p, _)| *p).collect();
    let mut stored = table.get_many(&files).into_iter();
    for a in &mut ahead {
        if let Some(now) = regular(a) {
            a.stored_hash = stored_hash(stored.next().flatten(), now);
        }
    }
    ahead
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
    use crate::check::listing::Listing;

    /// Every answer of a stream over `paths` and `dirs`, taken to the end.
    fn look_ahead(
        paths: &[&[u8]],
        dirs: &[&[u8]],
        table: Option<&dyn CachedFingerprints>,
    ) -> (Vec<Ahead>, Vec<Listing>) {
        streamed(paths, dirs, table, |stream| {
            let mut out = Vec::new();
            while let Some(chunk) = stream.next_chunk() {
                out.extend(chunk);
            }
            let listed = stream.listings().unwrap_or_default();
            (out, listed.into_iter().map(|(_, listing)| listing).collect())
        })
    }

    #[test]
    fn paths_are_planned_in_order_of_first_use_with_repeats_in_a_row_left_out() {
        use model::resolve::ResolveFlags;
        use model::Predicate;
        let resolves = |path: &str| Predicate::Resolves {
            path: path.as_bytes().to_vec(),
            base: b"/p".to_vec(),
            flags: ResolveFlags::FOLLOW,
            to: FileKind::Regular,
        };
        let content =
            |path: &str| Predicate::Content { path: path.as_bytes().to_vec(), hash: Hash::of(b"") };
        let listing =
            |dir: &str| Predicate::Listing { dir: dir.as_bytes().to_vec(), names: vec![] };
        let p = [
            resolves("/a/x"),
            content("/a/x"),
            listing("/a"),
            resolves("rel/y"),
            content("/a/y"),
            resolves("/a/../z"),
            listing("/a"),
            content("/a/x"),
        ];
        let (paths, dirs) = paths_of(p.iter().map(Predicate::view));
        let expected: [(&[u8], u32); 3] = [(b"/a/x", 0), (b"/a/y", 4), (b"/a/x", 7)];
        assert_eq!(paths, expected);
        assert_eq!(dirs, [(&b"/a"[..], 2)]);
    }

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
