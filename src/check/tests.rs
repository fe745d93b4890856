//! Tests of the live checker against real temporary directories: each predicate holds on the
//! state it was recorded from and fails with the right observation after a change, and the
//! fingerprint cache spares unchanged files a read.

use super::*;
use model::check::{NoStdin, Own};
use model::entry::{Captured, ExitStatus};
use model::fs::{FileKind, Fs};
use model::resolve::ResolveFlags;
use model::verdict::Observed;
use model::view::PredicateView;
use model::{CommandKey, Entry, Errno, Hash, Predicate, Verdict};
use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A temporary directory and its absolute path as bytes.
struct Tree {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        Tree { _dir: dir, root }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn abs(&self, rel: &str) -> Vec<u8> {
        self.path(rel).as_os_str().as_bytes().to_vec()
    }

    fn base(&self) -> Vec<u8> {
        self.root.as_os_str().as_bytes().to_vec()
    }

    fn write(&self, rel: &str, content: &[u8]) {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).expect("mkdir -p");
        }
        fs::write(p, content).expect("write");
    }
}

/// A stored fingerprint table held in memory, as the store's mapped file would answer.
pub(crate) struct VecTable(pub(crate) Vec<(Vec<u8>, model::fingerprint::Fingerprint, Hash)>);

impl CachedFingerprints for VecTable {
    fn get(&self, path: &[u8]) -> Option<(model::fingerprint::Fingerprint, Hash)> {
        self.0.iter().find(|(p, _, _)| p == path).map(|(_, fp, hash)| (*fp, *hash))
    }

    fn items(&self) -> Vec<(Vec<u8>, model::fingerprint::Fingerprint, Hash)> {
        self.0.clone()
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

/// The fingerprint of the file at `path` as it is now.
pub(crate) fn fingerprint_now(path: &Path) -> model::fingerprint::Fingerprint {
    fingerprint_of(&fs::symlink_metadata(path).expect("lstat"))
}

/// A cache that trusts even fresh timestamps, so that the fast path is visible in tests.
fn trusting() -> Fingerprints {
    let mut f = Fingerprints::new();
    f.set_racy_window(Duration::ZERO);
    f
}

fn verdict(predicates: &[Predicate], fps: &mut Fingerprints) -> Verdict {
    let live = LiveFs::new(fps);
    model::check::check(predicates, &live, &NoStdin)
}

fn fails(index: usize, observed: Observed) -> Verdict {
    Verdict::Fails { index, observed }
}

fn resolves(t: &Tree, path: &str, flags: ResolveFlags, to: FileKind) -> Predicate {
    Predicate::Resolves { path: path.into(), base: t.base(), flags, to }
}

fn misses(t: &Tree, path: &str, flags: ResolveFlags, errno: Errno) -> Predicate {
    Predicate::DoesNotResolve { path: path.into(), base: t.base(), flags, errno }
}

/// Sets a file's mtime to `secs` after the epoch without changing its content.
fn set_mtime(path: &Path, secs: i64) {
    put_mtime_back(path, (secs, 0));
}

#[test]
fn content_holds_then_fails_with_the_new_hash() {
    let t = Tree::new();
    t.write("src/a.c", b"int main;");
    let p = [Predicate::Content { path: t.abs("src/a.c"), hash: Hash::of(b"int main;") }];
    let mut fps = trusting();
    assert_eq!(verdict(&p, &mut fps), Verdict::Holds);
    t.write("src/a.c", b"int main(){}");
    assert_eq!(verdict(&p, &mut fps), fails(0, Observed::Hash(Hash::of(b"int main(){}"))));
    fs::remove_file(t.path("src/a.c")).expect("rm");
    assert_eq!(verdict(&p, &mut fps), fails(0, Observed::Errno(Errno::ENOENT)));
    next_tick();
    fs::create_dir(t.path("src/a.c")).expect("mkdir");
    assert_eq!(verdict(&p, &mut fps), fails(0, Observed::Kind(FileKind::Directory)));
}

#[test]
fn a_header_created_earlier_on_the_search_path_fails_the_absence() {
    let t = Tree::new();
    t.write("inc2/a.h", b"#define A 1");
    fs::create_dir(t.path("inc1")).expect("mkdir");
    let p = [
        misses(&t, "inc1/a.h", ResolveFlags::FOLLOW, Errno::ENOENT),
        resolves(&t, "inc2/a.h", ResolveFlags::FOLLOW, FileKind::Regular),
        misses(&t, "inc2/a.h/x", ResolveFlags::FOLLOW, Errno::ENOTDIR),
    ];
    let mut fps = trusting();
    assert_eq!(verdict(&p, &mut fps), Verdict::Holds);
    next_tick();
    t.write("inc1/a.h", b"#define A 2");
    assert_eq!(verdict(&p, &mut fps), fails(0, Observed::Kind(FileKind::Regular)));
}

#[test]
fn a_retargeted_symlink_fails_readlink_and_resolutions_through_it() {
    let t = Tree::new();
    t.write("a", b"A");
    fs::create_dir(t.path("d")).expect("mkdir");
    symlink("a", t.path("link")).expect("symlink");
    let p = [
        Predicate::Readlink { path: t.abs("link"), target: b"a".to_vec() },
        resolves(&t, "link", ResolveFlags::FOLLOW, FileKind::Regular),
        resolves(&t, "link", ResolveFlags::NOFOLLOW, FileKind::Symlink),
        Predicate::Content { path: t.abs("link"), hash: Hash::of(b"A") },
    ];
    let mut fps = trusting();
    assert_eq!(verdict(&p, &mut fps), Verdict::Holds);
    fs::remove_file(t.path("link")).expect("rm");
    symlink("d", t.path("link")).expect("symlink");
    assert_eq!(verdict(&p, &mut fps), fails(0, Observed::Target(b"d".to_vec())));
    assert_eq!(verdict(&p[1..], &mut fps), fails(0, Observed::Kind(FileKind::Directory)));
    assert_eq!(verdict(&p[2..3], &mut fps), Verdict::Holds);
    assert_eq!(verdict(&p[3..], &mut fps), fails(0, Observed::Kind(FileKind::Directory)));
}

#[test]
fn loops_and_dangling_links_fail_with_the_kernels_errno() {
    let t = Tree::new();
    symlink("loop", t.path("loop")).expect("symlink");
    symlink("nowhere", t.path("dangling")).expect("symlink");
    let p = [
        misses(&t, "loop", ResolveFlags::FOLLOW, Errno::ELOOP),
        misses(&t, "dangling", ResolveFlags::FOLLOW, Errno::ENOENT),
        resolves(&t, "dangling", ResolveFlags::NOFOLLOW, FileKind::Symlink),
    ];
    let mut fps = trusting();
    assert_eq!(verdict(&p, &mut fps), Verdict::Holds);
    next_tick();
    t.write("nowhere", b"");
    assert_eq!(verdict(&p, &mut fps), fails(1, Observed::Kind(FileKind::Regular)));
}

#[test]
fn a_listing_fails_with_the_names_added_and_removed() {
    let t = Tree::new();
    t.write("d/x", b"");
    t.write("d/y", b"");
    let p = [Predicate::Listing { dir: t.abs("d"), names: vec![b"x".to_vec(), b"y".to_vec()] }];
    let mut fps = trusting();
    assert_eq!(verdict(&p, &mut fps), Verdict::Holds);
    t.write("d/z", b"");
    let added = Observed::Names { added: vec![b"z".to_vec()], removed: vec![] };
    assert_eq!(verdict(&p, &mut fps), fails(0, added));
    fs::remove_file(t.path("d/z")).expect("rm");
    fs::remove_file(t.path("d/x")).expect("rm");
    let removed = Observed::Names { added: vec![], removed: vec![b"x".to_vec()] };
    assert_eq!(verdict(&p, &mut fps), fails(0, removed));
}

#[test]
fn a_mode_change_fails_metadata_and_a_touch_does_not() {
    let t = Tree::new();
    t.write("f", b"12345");
    fs::set_permissions(t.path("f"), fs::Permissions::from_mode(0o644)).expect("chmod");
    let p = [Predicate::Metadata {
        path: t.abs("f"),
        kind: FileKind::Regular,
        mode: 0o644,
        size_bytes: 5,
    }];
    let mut fps = trusting();
    assert_eq!(verdict(&p, &mut fps), Verdict::Holds);
    set_mtime(&t.path("f"), 1_000_000_000);
    assert_eq!(verdict(&p, &mut fps), Verdict::Holds);
    fs::set_permissions(t.path("f"), fs::Permissions::from_mode(0o755)).expect("chmod");
    let observed = Observed::Meta { kind: FileKind::Regular, mode: 0o755, size_bytes: 5 };
    assert_eq!(verdict(&p, &mut fps), fails(0, observed));
}

#[test]
fn a_touch_rehashes_once_then_the_cache_answers() {
    let t = Tree::new();
    t.write("f", b"same");
    let p = [Predicate::Content { path: t.abs("f"), hash: Hash::of(b"same") }];
    let mut fps = trusting();
    assert_eq!(verdict(&p, &mut fps), Verdict::Holds);
    assert_eq!((fps.files_hashed(), fps.len(), fps.is_dirty()), (1, 1, true));
    assert_eq!(verdict(&p, &mut fps), Verdict::Holds);
    assert_eq!(fps.files_hashed(), 1, "an unchanged file is not read again");
    set_mtime(&t.path("f"), 1_000_000_000);
    assert_eq!(verdict(&p, &mut fps), Verdict::Holds);
    assert_eq!(fps.files_hashed(), 2, "a touched file is read once");
    assert_eq!(verdict(&p, &mut fps), Verdict::Holds);
    assert_eq!(fps.files_hashed(), 2, "and then the new fingerprint answers");
}

#[test]
fn a_matching_fingerprint_is_believed_without_reading() {
    // The proof that the fast path does not read: a cache entry that carries the file's true
    // fingerprint but a made-up hash is returned as is.
    let t = Tree::new();
    t.write("f", b"real content");
    let meta = fs::metadata(t.path("f")).expect("stat");
    let bogus = Hash::of(b"not the content");
    let mut fps = Fingerprints::from(vec![(t.abs("f"), fingerprint_of(&meta), bogus)]);
    assert_eq!(fps.hash_path(&t.path("f")).expect("hash"), bogus);
    assert_eq!((fps.files_hashed(), fps.is_dirty()), (0, false));
    let p = [Predicate::Content { path: t.abs("f"), hash: bogus }];
    assert_eq!(verdict(&p, &mut fps), Verdict::Holds);
    assert_eq!(fps.files_hashed(), 0);
}

#[test]
fn a_racy_fingerprint_is_hashed_but_not_cached() {
    let t = Tree::new();
    t.write("f", b"fresh");
    let mut fps = Fingerprints::new();
    assert_eq!(fps.hash_path(&t.path("f")).expect("hash"), Hash::of(b"fresh"));
    assert_eq!(fps.hash_path(&t.path("f")).expect("hash"), Hash::of(b"fresh"));
    assert_eq!((fps.files_hashed(), fps.len(), fps.is_dirty()), (2, 0, false));
}

#[test]
fn the_cache_round_trips_and_forgets_vanished_files() {
    let t = Tree::new();
    t.write("a", b"A");
    t.write("b", b"B");
    let mut fps = trusting();
    fps.hash_path(&t.path("b")).expect("hash");
    fps.hash_path(&t.path("a")).expect("hash");
    let saved: Vec<_> = fps.clone().into();
    assert_eq!(saved.iter().map(|e| e.0.clone()).collect::<Vec<_>>(), vec![t.abs("a"), t.abs("b")]);
    let mut loaded = Fingerprints::from(saved);
    assert!(!loaded.is_dirty());
    fs::remove_file(t.path("a")).expect("rm");
    assert!(loaded.hash_path(&t.path("a")).is_err());
    assert_eq!((loaded.len(), loaded.is_dirty()), (1, true));
}

#[test]
fn hashing_refuses_what_is_not_a_regular_file() {
    let t = Tree::new();
    fs::create_dir(t.path("d")).expect("mkdir");
    let e = Fingerprints::new().hash_path(&t.path("d")).expect_err("a directory");
    assert_eq!(errno_of(&e), Errno::EISDIR);
}

#[test]
fn lookups_are_cached_within_one_snapshot() {
    let t = Tree::new();
    t.write("d/a", b"");
    t.write("d/b", b"");
    let p = [
        resolves(&t, "d/a", ResolveFlags::FOLLOW, FileKind::Regular),
        resolves(&t, "d/b", ResolveFlags::FOLLOW, FileKind::Regular),
    ];
    let mut fps = trusting();
    let live = LiveFs::new(&mut fps);
    assert!(model::check::check(&p, &live, &NoStdin).holds());
    let after_one = live.lstat_count();
    assert!(model::check::check(&p, &live, &NoStdin).holds());
    assert_eq!(live.lstat_count(), after_one, "a second check makes no new lstat");
}

#[test]
fn a_small_check_takes_nothing_ahead() {
    let t = Tree::new();
    let p: Vec<Predicate> = (0..crate::check::prefetch::MIN_PATHS - 1)
        .map(|i| Predicate::Content { path: t.abs(&format!("f{i}")), hash: Hash::of(b"") })
        .collect();
    let mut fps = trusting();
    let live = LiveFs::new(&mut fps);
    let before = live.lstat_count();
    live.prefetch(p.iter().map(Predicate::view));
    assert_eq!(live.lstat_count(), before, "no lstat below MIN_PATHS");
}

/// A tree of `n` files `d/f0`, `d/f1`... each holding its number, with a content predicate for
/// each: enough paths for a check to take them ahead.
fn numbered_files(n: usize) -> (Tree, Vec<Predicate>) {
    let t = Tree::new();
    let p = (0..n)
        .map(|i| {
            t.write(&format!("d/f{i}"), format!("{i}").as_bytes());
            Predicate::Content {
                path: t.abs(&format!("d/f{i}")),
                hash: Hash::of(format!("{i}").as_bytes()),
            }
        })
        .collect();
    (t, p)
}

#[test]
fn a_check_after_a_prefetch_asks_the_kernel_nothing_more() {
    let n = crate::check::prefetch::MIN_PATHS + 10;
    let (t, mut p) = numbered_files(n);
    p.push(Predicate::DoesNotResolve {
        path: t.abs("d/absent"),
        base: t.base(),
        flags: ResolveFlags::FOLLOW,
        errno: Errno::ENOENT,
    });
    let mut fps = trusting();
    let live = LiveFs::new(&mut fps);
    live.prefetch(p.iter().map(Predicate::view));
    let ahead = live.lstat_count();
    assert!(ahead > n, "the paths are taken ahead");
    assert_eq!(model::check::check(&p, &live, &NoStdin), Verdict::Holds);
    assert_eq!(live.lstat_count(), ahead, "every lookup of the check was answered ahead");
}

#[test]
fn a_prefetch_answers_from_the_stored_table_only_what_the_cache_would() {
    let n = crate::check::prefetch::MIN_PATHS + 10;
    let (t, p) = numbered_files(n);
    let stored: Vec<_> = (0..n)
        .map(|i| {
            let path = format!("d/f{i}");
            // f5's stored hash is wrong while its fingerprint matches: only the table says so.
            let hash =
                if i == 5 { Hash::of(b"stale") } else { Hash::of(format!("{i}").as_bytes()) };
            (t.abs(&path), fingerprint_now(&t.path(&path)), hash)
        })
        .collect();
    let check = |ahead: bool, fps: &mut Fingerprints| {
        let live = LiveFs::new(fps);
        if ahead {
            live.prefetch(p.iter().map(Predicate::view));
        }
        model::check::check(&p, &live, &NoStdin)
    };
    // The table is trusted on a matching fingerprint, with or without the prefetch...
    let expected = fails(5, Observed::Hash(Hash::of(b"stale")));
    for ahead in [false, true] {
        let mut fps = Fingerprints::over(VecTable(stored.clone()));
        assert_eq!(check(ahead, &mut fps), expected, "ahead: {ahead}");
        assert_eq!(fps.files_hashed(), 0, "ahead: {ahead}: no file read");
    }
    // A stored fingerprint that is not the file's own is no answer: the file is read.
    let mut stale = stored.clone();
    stale[5].1.size_bytes += 1;
    for ahead in [false, true] {
        let mut fps = Fingerprints::over(VecTable(stale.clone()));
        assert_eq!(check(ahead, &mut fps), Verdict::Holds, "ahead: {ahead}");
        assert_eq!(fps.files_hashed(), 1, "ahead: {ahead}: f5 read");
    }
}

#[test]
fn a_listing_read_ahead_is_the_snapshots_answer() {
    let n = crate::check::prefetch::MIN_PATHS + 10;
    let (t, mut p) = numbered_files(n);
    let mut names: Vec<Vec<u8>> = (0..n).map(|i| format!("f{i}").into_bytes()).collect();
    names.sort();
    p.push(Predicate::Listing { dir: t.abs("d"), names });
    let mut fps = trusting();
    let live = LiveFs::new(&mut fps);
    live.prefetch(p.iter().map(Predicate::view));
    // A snapshot answers as of when it asked, for a listing as for any lookup it holds: a
    // name added after the prefetch is seen by the next snapshot, not by this one.
    t.write("d/new", b"x");
    assert_eq!(model::check::check(&p, &live, &NoStdin), Verdict::Holds);
    drop(live);
    let added = Observed::Names { added: vec![b"new".to_vec()], removed: vec![] };
    assert_eq!(verdict(&p, &mut fps), fails(n, added.clone()));
    let live = LiveFs::new(&mut fps);
    live.prefetch(p.iter().map(Predicate::view));
    assert_eq!(model::check::check(&p, &live, &NoStdin), fails(n, added));
}

#[test]
fn a_streamed_check_that_defers_its_listings_finds_them_read_ahead() {
    let n = crate::check::prefetch::CHUNK * 3;
    let (t, mut p) = numbered_files(n);
    let mut names: Vec<Vec<u8>> = (0..n).map(|i| format!("f{i}").into_bytes()).collect();
    names.sort();
    // First, as the readall benchmark records it: the check reaches it long before it is read.
    p.insert(0, Predicate::Listing { dir: t.abs("d"), names });
    let listing = |v: &PredicateView<'_, _>| matches!(v, PredicateView::Listing { .. });
    let mut fps = trusting();
    let live = LiveFs::new(&mut fps);
    let verdict = live.checking(p.iter().map(Predicate::view), |v| deferring(v, listing, &live));
    assert_eq!(verdict, Verdict::Holds);
    assert_eq!(live.list_count(), 0, "the listing read ahead answered");
    // The same holds for a listing that fails: it is still checked, with the answer read ahead.
    t.write("d/new", b"x");
    let live = LiveFs::new(&mut fps);
    let verdict = live.checking(p.iter().map(Predicate::view), |v| deferring(v, listing, &live));
    assert_eq!(
        verdict,
        fails(0, Observed::Names { added: vec![b"new".to_vec()], removed: vec![] })
    );
    assert_eq!(live.list_count(), 0, "the listing read ahead answered");
}

#[test]
fn a_big_check_decides_the_same_with_its_lstats_taken_ahead() {
    let t = Tree::new();
    let n = crate::check::prefetch::MIN_PATHS + 10;
    // Files and directories alternate, so an answer handed to the wrong path changes a kind.
    for i in 0..n {
        if i.is_multiple_of(2) {
            t.write(&format!("real/f{i}"), format!("{i}").as_bytes());
        } else {
            fs::create_dir_all(t.path(&format!("real/f{i}"))).expect("mkdir");
        }
    }
    symlink(t.path("real"), t.path("link")).expect("symlink");
    let kind = |i: usize| if i.is_multiple_of(2) { FileKind::Regular } else { FileKind::Directory };
    // Every path by its real spelling (taken ahead) and through the symlink (walked).
    let mut p: Vec<Predicate> = Vec::new();
    for i in 0..n {
        for dir in ["real", "link"] {
            let path = t.abs(&format!("{dir}/f{i}"));
            p.push(Predicate::Resolves {
                path,
                base: t.base(),
                flags: ResolveFlags::FOLLOW,
                to: kind(i),
            });
        }
    }
    p.push(Predicate::Content { path: t.abs("real/f6"), hash: Hash::of(b"6") });
    // The listing of `real` by both spellings: read ahead for one, walked to for the other.
    let mut names: Vec<Vec<u8>> = (0..n).map(|i| format!("f{i}").into_bytes()).collect();
    names.sort();
    for dir in ["real", "link"] {
        p.push(Predicate::Listing { dir: t.abs(dir), names: names.clone() });
    }
    p.push(Predicate::DoesNotResolve {
        path: t.abs("real/absent"),
        base: t.base(),
        flags: ResolveFlags::FOLLOW,
        errno: Errno::ENOENT,
    });
    // Walked one lookup at a time, all taken ahead first, or taken while the check walks.
    let check = |how: Ahead| {
        let mut fps = trusting();
        let live = LiveFs::new(&mut fps);
        match how {
            Ahead::Not => model::check::check(&p, &live, &NoStdin),
            Ahead::First => {
                live.prefetch(p.iter().map(Predicate::view));
                assert!(live.lstat_count() > n, "the real paths are taken ahead");
                model::check::check(&p, &live, &NoStdin)
            }
            Ahead::Streamed => live.checking(p.iter().map(Predicate::view), |p| {
                model::check::check_views(p, &live, &NoStdin)
            }),
        }
    };
    let all = [Ahead::Not, Ahead::First, Ahead::Streamed];
    for how in all {
        assert_eq!(check(how), Verdict::Holds, "{how:?}");
    }
    // A change near the start and one in the last chunk the workers take.
    let last = if n.is_multiple_of(2) { n - 1 } else { n - 2 }; // the last directory
    fs::remove_dir(t.path(&format!("real/f{last}"))).expect("rmdir");
    fs::write(t.path(&format!("real/f{last}")), b"now a file").expect("write");
    let expected = fails(2 * last, Observed::Kind(FileKind::Regular));
    for how in all {
        assert_eq!(check(how), expected, "{how:?}");
    }
    fs::remove_dir(t.path("real/f9")).expect("rmdir");
    let expected = fails(18, Observed::Errno(Errno::ENOENT));
    for how in all {
        assert_eq!(check(how), expected, "{how:?}");
    }
}

/// How a test's check takes its lstats.
#[derive(Clone, Copy, Debug)]
enum Ahead {
    /// One at a time, as the walk asks.
    Not,
    /// All ahead, before the check (`LiveFs::prefetch`).
    First,
    /// Ahead, while the check walks (`LiveFs::checking`).
    Streamed,
}

#[test]
fn a_streamed_check_finds_every_answer_it_needs_already_settled() {
    // Several chunks of paths, so the check reaches each chunk's predicates while the workers
    // may still be on it: every lookup must wait for its answer, never make its own.
    let n = crate::check::prefetch::CHUNK * 4 + 10;
    let (t, mut p) = numbered_files(n);
    let mut names: Vec<Vec<u8>> = (0..n).map(|i| format!("f{i}").into_bytes()).collect();
    names.sort();
    p.insert(3, Predicate::Listing { dir: t.abs("d"), names });
    let count = |streamed: bool| {
        let mut fps = trusting();
        let live = LiveFs::new(&mut fps);
        let verdict = if streamed {
            live.checking(p.iter().map(Predicate::view), |p| {
                model::check::check_views(p, &live, &NoStdin)
            })
        } else {
            live.prefetch(p.iter().map(Predicate::view));
            model::check::check(&p, &live, &NoStdin)
        };
        assert_eq!(verdict, Verdict::Holds, "streamed: {streamed}");
        live.lstat_count()
    };
    let first = count(false);
    assert!(first > n, "the paths are taken ahead");
    for _ in 0..5 {
        assert_eq!(count(true), first, "no lookup of a streamed check asked the kernel again");
    }
}

#[test]
fn stdin_is_hashed_whole_through_a_new_open() {
    let t = Tree::new();
    t.write("in", b"line one\nline two\n");
    let mut file = fs::File::open(t.path("in")).expect("open");
    let mut first = [0u8; 5];
    std::io::Read::read_exact(&mut file, &mut first).expect("read");
    let link = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
    let stdin = LiveStdin::at(link);
    assert_eq!(
        model::check::StdinSource::stdin_hash(&stdin),
        Some(Hash::of(b"line one\nline two\n"))
    );
    let mut rest = Vec::new();
    std::io::Read::read_to_end(&mut file, &mut rest).expect("read");
    assert_eq!(rest, b"one\nline two\n", "the descriptor's own offset is untouched");
}

#[test]
fn stdin_from_a_pipe_has_no_hash() {
    let (reader, _writer) = std::io::pipe().expect("pipe");
    let stdin = LiveStdin::at(PathBuf::from(format!("/proc/self/fd/{}", reader.as_raw_fd())));
    assert_eq!(model::check::StdinSource::stdin_hash(&stdin), None);
    let p = [Predicate::Stdin { hash: Hash::of(b"") }];
    let mut fps = trusting();
    let live = LiveFs::new(&mut fps);
    assert_eq!(model::check::check(&p, &live, &stdin), fails(0, Observed::NoStdinFile));
}

#[test]
fn a_pipe_with_no_writer_and_no_bytes_is_drained() {
    use model::check::StdinSource as _;
    use model::predicate::StdinKind;
    let kind_of = |r: &std::io::PipeReader| {
        LiveStdin::at(PathBuf::from(format!("/proc/self/fd/{}", r.as_raw_fd()))).stdin_kind()
    };
    let (reader, writer) = std::io::pipe().expect("pipe");
    assert_eq!(kind_of(&reader), StdinKind::Stream, "a writer may still write");
    drop(writer);
    assert_eq!(kind_of(&reader), StdinKind::Null, "as GNU make -j's jobs get: like /dev/null");
    let (reader, mut writer) = std::io::pipe().expect("pipe");
    std::io::Write::write_all(&mut writer, b"left").expect("write");
    drop(writer);
    assert_eq!(kind_of(&reader), StdinKind::Stream, "bytes are still to be read");
    let mut rest = Vec::new();
    std::io::Read::read_to_end(&mut &reader, &mut rest).expect("read");
    assert_eq!(rest, b"left", "the probe read nothing");
    assert_eq!(kind_of(&reader), StdinKind::Null);
}

#[test]
fn check_entry_checks_the_entrys_predicates() {
    let t = Tree::new();
    t.write("in", b"x");
    let empty = Captured { hash: Hash::of(b""), size_bytes: 0 };
    let mut entry = Entry {
        key: CommandKey {
            exe: b"/bin/true".to_vec(),
            exe_hash: Hash::of(b""),
            argv: vec![b"true".to_vec()],
            cwd: b".".to_vec(),
            env: vec![],
        },
        predicates: vec![Predicate::Content { path: t.abs("in"), hash: Hash::of(b"x") }],
        effects: vec![],
        effects_since: vec![],
        stdout: empty,
        stderr: empty,
        exit: ExitStatus::Code(0),
        run_ns: 0,
        recorded_unix_ns: 0,
        uncacheable: vec![],
        unknown_syscalls: vec![],
    };
    let mut fps = trusting();
    assert!(check_entry(
        &entry,
        std::slice::from_ref(&entry),
        &LiveFs::new(&mut fps),
        &NoStdin,
        model::check::Rules::default()
    )
    .holds());
    entry.predicates.push(misses(&t, "in", ResolveFlags::FOLLOW, Errno::ENOENT));
    let v = check_entry(
        &entry,
        std::slice::from_ref(&entry),
        &LiveFs::new(&mut fps),
        &NoStdin,
        model::check::Rules::default(),
    );
    assert_eq!(v, fails(1, Observed::Kind(FileKind::Regular)));
}

#[test]
fn a_stored_cache_is_read_in_place_and_changes_go_over_it() {
    let t = Tree::new();
    for (name, content) in [("a", b"A"), ("b", b"B"), ("c", b"C")] {
        t.write(name, content);
    }
    let store = crate::store::Store::open(&t.path(".dry")).expect("store");
    let mut first = trusting();
    for name in ["a", "b", "c"] {
        first.hash_path(&t.path(name)).expect("hash");
    }
    store.save_fingerprints(&first.to_entries()).expect("save");

    let mut loaded = Fingerprints::over(store.load_fingerprints());
    loaded.set_racy_window(Duration::ZERO);
    assert_eq!((loaded.len(), loaded.is_dirty()), (3, false));
    assert_eq!(loaded.hash_path(&t.path("a")).expect("hash"), Hash::of(b"A"));
    assert_eq!(loaded.files_hashed(), 0, "the stored fingerprint answers");
    fs::write(t.path("b"), b"b2").expect("write");
    set_mtime(&t.path("b"), 1_000_000_000);
    assert_eq!(loaded.hash_path(&t.path("b")).expect("hash"), Hash::of(b"b2"));
    fs::remove_file(t.path("c")).expect("rm");
    assert!(loaded.hash_path(&t.path("c")).is_err());
    assert_eq!((loaded.files_hashed(), loaded.len(), loaded.is_dirty()), (1, 2, true));
    let b_now = fingerprint_of(&fs::metadata(t.path("b")).expect("stat"));
    let a_then = fingerprint_of(&fs::metadata(t.path("a")).expect("stat"));
    let expected = vec![(t.abs("a"), a_then, Hash::of(b"A")), (t.abs("b"), b_now, Hash::of(b"b2"))];
    assert_eq!(loaded.to_entries(), expected);
    store.save_fingerprints(&loaded.to_entries()).expect("save");
    assert_eq!(Fingerprints::over(store.load_fingerprints()).to_entries(), expected);
}

/// Waits longer than the coarsest kernel timestamp tick, so that a change made afterwards shows
/// in a directory's ctime even on a kernel without fine-grained timestamps (before Linux 6.13).
/// [`trusting`] caches remember absent names by their directory's fingerprint, so a test that
/// adds a name after a check of its absence needs it (real caches wait out [`RACY_WINDOW`]).
fn next_tick() {
    std::thread::sleep(Duration::from_millis(30));
}

/// Checks `p` in a fresh snapshot over `fps`: whether it holds, and how many `lstat`s it took.
fn lstats_of_check(p: &[Predicate], fps: &mut Fingerprints) -> (bool, usize) {
    let live = LiveFs::new(fps);
    let holds = model::check::check(p, &live, &NoStdin).holds();
    (holds, live.lstat_count())
}

#[test]
fn only_local_disk_and_memory_filesystems_vouch_for_directory_times() {
    let t = Tree::new();
    assert!(
        dir_times::keeps_directory_times(&t.base()),
        "the tests' temporary directory {} must be on a local disk filesystem",
        t.root.display()
    );
    // procfs and sysfs grow entries (a new pid) without touching the directory's times.
    assert!(!dir_times::keeps_directory_times(b"/proc"));
    assert!(!dir_times::keeps_directory_times(b"/sys"));
    assert!(!dir_times::keeps_directory_times(b"/no/such/directory"));
}

#[test]
fn an_absent_name_in_an_unchanged_directory_is_not_looked_up_again() {
    let t = Tree::new();
    fs::create_dir(t.path("inc")).expect("mkdir");
    let p = [misses(&t, "inc/a.h", ResolveFlags::FOLLOW, Errno::ENOENT)];
    let mut fps = trusting();
    let (holds, first) = lstats_of_check(&p, &mut fps);
    assert!(holds);
    assert!(fps.is_dirty(), "the absence is remembered");
    let (holds, second) = lstats_of_check(&p, &mut fps);
    assert!(holds);
    assert_eq!(second, first - 1, "the absent name costs no lstat the second time");
    // The memory is keyed by directory and name: another absent name is looked up.
    let other = [misses(&t, "inc/b.h", ResolveFlags::FOLLOW, Errno::ENOENT)];
    assert_eq!(lstats_of_check(&other, &mut fps), (true, first));
}

#[test]
fn a_name_added_to_a_remembered_directory_is_seen_even_with_its_mtime_put_back() {
    let t = Tree::new();
    fs::create_dir(t.path("inc")).expect("mkdir");
    set_mtime(&t.path("inc"), 1_000_000_000);
    let p = [misses(&t, "inc/a.h", ResolveFlags::FOLLOW, Errno::ENOENT)];
    let mut fps = trusting();
    assert_eq!(verdict(&p, &mut fps), Verdict::Holds);
    assert!(fps.is_dirty(), "the absence is remembered");
    next_tick();
    t.write("inc/a.h", b"#define A 1");
    // mtime can be put back by anyone; ctime cannot, and it is part of the fingerprint.
    set_mtime(&t.path("inc"), 1_000_000_000);
    assert_eq!(verdict(&p, &mut fps), fails(0, Observed::Kind(FileKind::Regular)));
    // Renamed away, the name is absent again; renamed back in, it is seen again.
    next_tick();
    fs::rename(t.path("inc/a.h"), t.path("a.h")).expect("mv out");
    assert_eq!(verdict(&p, &mut fps), Verdict::Holds);
    next_tick();
    fs::rename(t.path("a.h"), t.path("inc/a.h")).expect("mv in");
    assert_eq!(verdict(&p, &mut fps), fails(0, Observed::Kind(FileKind::Regular)));
}

#[test]
fn a_directory_changed_too_recently_does_not_vouch_for_absent_names() {
    let t = Tree::new();
    fs::create_dir(t.path("inc")).expect("mkdir");
    let p = [misses(&t, "inc/a.h", ResolveFlags::FOLLOW, Errno::ENOENT)];
    // The default window: `inc` was created just now, so its times are not trusted yet.
    let mut fps = Fingerprints::new();
    let (holds, first) = lstats_of_check(&p, &mut fps);
    assert!(holds);
    assert!(!fps.is_dirty(), "nothing remembered from a racy directory");
    assert_eq!(lstats_of_check(&p, &mut fps), (true, first));
}

#[test]
fn remembered_absent_names_survive_the_stored_cache() {
    let t = Tree::new();
    fs::create_dir(t.path("inc")).expect("mkdir");
    let p = [misses(&t, "inc/a.h", ResolveFlags::FOLLOW, Errno::ENOENT)];
    let mut fps = trusting();
    let (_, first) = lstats_of_check(&p, &mut fps);
    let store = crate::store::Store::open(&t.path(".dry")).expect("store");
    store.save_fingerprints(&fps.to_entries()).expect("save");
    let mut loaded = Fingerprints::over(store.load_fingerprints());
    loaded.set_racy_window(Duration::ZERO);
    assert_eq!(lstats_of_check(&p, &mut loaded), (true, first - 1));
    next_tick();
    t.write("inc/a.h", b"");
    assert_eq!(verdict(&p, &mut loaded), fails(0, Observed::Kind(FileKind::Regular)));
}

#[test]
fn a_snapshot_remembers_each_directory_part_with_its_base() {
    let t = Tree::new();
    t.write("a/inc/x.h", b"A");
    t.write("b/inc/y.h", b"B");
    let mut fps = trusting();
    let live = LiveFs::new(&mut fps);
    let kind = |base: &str, path: &str| {
        model::resolve::resolve_kind(&live, &t.abs(base), path.as_bytes(), ResolveFlags::FOLLOW)
    };
    assert_eq!(kind("a", "inc/x.h"), Ok(FileKind::Regular));
    assert_eq!(kind("b", "inc/x.h"), Err(Errno::ENOENT), "the same directory part, another base");
    assert_eq!(kind("b", "inc/y.h"), Ok(FileKind::Regular));
    assert_eq!(kind("a", "inc/y.h"), Err(Errno::ENOENT));
    let walked = live.lstat_count();
    assert_eq!(kind("a", "inc/x.h"), Ok(FileKind::Regular));
    assert_eq!(
        kind("a", &format!("{}/inc/x.h", t.root.join("a").display())),
        Ok(FileKind::Regular)
    );
    assert_eq!(live.lstat_count(), walked, "nothing is looked up again in one snapshot");
}

#[test]
fn a_remembered_directory_part_still_counts_its_symlinks() {
    let t = Tree::new();
    t.write("d/file", b"x");
    // x30 -> x29 -> ... -> x1 -> d, and d/y15 -> ... -> d/y1 -> file: 45 links in all.
    symlink("d", t.path("x1")).expect("symlink");
    for i in 2..=30 {
        symlink(format!("x{}", i - 1), t.path(&format!("x{i}"))).expect("symlink");
    }
    symlink("file", t.path("d/y1")).expect("symlink");
    for i in 2..=15 {
        symlink(format!("y{}", i - 1), t.path(&format!("d/y{i}"))).expect("symlink");
    }
    let mut fps = trusting();
    let live = LiveFs::new(&mut fps);
    let kind = |path: &str| {
        model::resolve::resolve_kind(&live, &t.base(), path.as_bytes(), ResolveFlags::FOLLOW)
    };
    assert_eq!(kind("x30/file"), Ok(FileKind::Regular));
    assert_eq!(kind("x30/y15"), Err(Errno::ELOOP), "the kernel's limit is 40 in all");
    assert_eq!(kind("x10/y15"), Ok(FileKind::Regular));
    assert_eq!(kind("x30/y15"), Err(Errno::ELOOP), "and again from what the snapshot remembers");
    // What the kernel says, for the record.
    let e = fs::metadata(t.path("x30/y15")).expect_err("too many links");
    assert_eq!(errno_of(&e), Errno::ELOOP);
}

#[test]
fn lookups_relative_to_an_open_directory_see_what_absolute_ones_see() {
    let t = Tree::new();
    let names: Vec<String> = (0..8).map(|i| format!("d/f{i}")).collect();
    for (i, name) in names.iter().enumerate() {
        t.write(name, &vec![b'x'; i]);
    }
    fs::set_permissions(t.path("d/f3"), fs::Permissions::from_mode(0o751)).expect("chmod");
    symlink("f1", t.path("d/link")).expect("symlink");
    fs::create_dir(t.path("d/sub")).expect("mkdir");
    let mut fps = trusting();
    let live = LiveFs::new(&mut fps);
    let root = live.root();
    let mut dir = root.clone();
    for part in t.root.join("d").iter().skip(1) {
        dir = live.lookup(&dir, part.as_bytes()).expect("lookup").expect("present");
    }
    for name in ["f0", "f1", "f3", "f7", "link", "sub", "absent"] {
        let by_name = live.lookup(&dir, name.as_bytes()).expect("lookup");
        let path = t.abs(&format!("d/{name}"));
        let by_path = lstat::lstat(&path).expect("lstat");
        assert_eq!(by_name.map(|n| n.stat().expect("stat")), by_path.map(|s| s.of()), "{name}");
    }
    assert_eq!(live.open_dirs(), 1, "`d` is opened at its second lookup, and only it");
}

#[test]
fn a_check_through_open_directories_reads_no_unchanged_file_again() {
    let (t, p) = numbered_files(20);
    let mut fps = trusting();
    assert_eq!(verdict(&p, &mut fps), Verdict::Holds);
    assert_eq!(fps.files_hashed(), 20);
    // The fingerprints were taken by the hashing (std's statx of the open file); the second
    // check's lookups are relative to the open `d`: they must compare equal.
    let live = LiveFs::new(&mut fps);
    assert!(model::check::check(&p, &live, &NoStdin).holds());
    assert!(live.open_dirs() >= 1);
    drop(live);
    assert_eq!(fps.files_hashed(), 20, "nothing read again");
    next_tick();
    t.write("d/f7", b"seven");
    assert_eq!(verdict(&p, &mut fps), fails(7, Observed::Hash(Hash::of(b"seven"))));
}

#[test]
fn a_snapshot_keeps_a_bounded_number_of_directories_open() {
    let t = Tree::new();
    let n = live::MAX_DIR_FDS + 20;
    let p: Vec<Predicate> = (0..n)
        .flat_map(|i| {
            ["a", "b"]
                .map(|f| misses(&t, &format!("d{i}/{f}"), ResolveFlags::FOLLOW, Errno::ENOENT))
        })
        .collect();
    for i in 0..n {
        fs::create_dir(t.path(&format!("d{i}"))).expect("mkdir");
    }
    let mut fps = trusting();
    let live = LiveFs::new(&mut fps);
    assert!(model::check::check(&p, &live, &NoStdin).holds());
    assert_eq!(live.open_dirs(), live::MAX_DIR_FDS);
}

/// Sets the mtime (and atime) of `path` to exactly `mtime` (seconds, nanoseconds), as `touch -d`
/// can.
fn put_mtime_back(path: &Path, mtime: (i64, i64)) {
    use nix::sys::stat::{utimensat, UtimensatFlags};
    use nix::sys::time::TimeSpec;
    let t = TimeSpec::new(mtime.0, mtime.1);
    utimensat(nix::fcntl::AT_FDCWD, path, &t, &t, UtimensatFlags::NoFollowSymlink)
        .expect("utimensat");
}

/// `d` holding `a` and `b`, and the predicate that it lists exactly those.
fn listed_ab() -> (Tree, [Predicate; 1]) {
    let t = Tree::new();
    t.write("d/a", b"");
    t.write("d/b", b"");
    let names = vec![b"a".to_vec(), b"b".to_vec()];
    let p = [Predicate::Listing { dir: t.abs("d"), names }];
    (t, p)
}

/// Checks `p` in a fresh snapshot over `fps`: its verdict, and how many directories it listed.
fn lists_of_check(p: &[Predicate], fps: &mut Fingerprints) -> (Verdict, usize) {
    let live = LiveFs::new(fps);
    let verdict = model::check::check(p, &live, &NoStdin);
    (verdict, live.list_count())
}

#[test]
fn a_listing_remembered_at_the_directorys_fingerprint_is_not_read_again() {
    let (_t, p) = listed_ab();
    let mut fps = trusting();
    assert_eq!(lists_of_check(&p, &mut fps), (Verdict::Holds, 1));
    assert!(fps.is_dirty(), "the listing is remembered");
    assert_eq!(lists_of_check(&p, &mut fps), (Verdict::Holds, 0), "vouched for, not read");
}

#[test]
fn a_name_added_to_a_remembered_listing_is_seen_even_with_its_mtime_put_back() {
    let (t, p) = listed_ab();
    let mut fps = trusting();
    assert_eq!(lists_of_check(&p, &mut fps).1, 1);
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(t.path("d")).expect("stat d");
    next_tick();
    t.write("d/c", b"");
    put_mtime_back(&t.path("d"), (meta.mtime(), meta.mtime_nsec()));
    let added = Observed::Names { added: vec![b"c".to_vec()], removed: vec![] };
    assert_eq!(lists_of_check(&p, &mut fps), (fails(0, added), 1), "the ctime moved on");
}

#[test]
fn a_remembered_listing_vouches_only_for_the_names_it_was() {
    let (t, p) = listed_ab();
    let mut fps = trusting();
    assert_eq!(lists_of_check(&p, &mut fps).1, 1);
    // Another entry's listing of the same unchanged directory, recorded without `b`.
    let only_a = [Predicate::Listing { dir: t.abs("d"), names: vec![b"a".to_vec()] }];
    let added = Observed::Names { added: vec![b"b".to_vec()], removed: vec![] };
    assert_eq!(lists_of_check(&only_a, &mut fps), (fails(0, added), 1));
    assert_eq!(lists_of_check(&p, &mut fps), (Verdict::Holds, 0));
}

#[test]
fn a_directory_changed_too_recently_is_listed_every_time() {
    let (_t, p) = listed_ab();
    // The default window: `d` was written just now, so its times are not trusted yet.
    let mut fps = Fingerprints::new();
    assert_eq!(lists_of_check(&p, &mut fps), (Verdict::Holds, 1));
    assert!(!fps.is_dirty(), "nothing remembered from a racy directory");
    assert_eq!(lists_of_check(&p, &mut fps), (Verdict::Holds, 1));
}

#[test]
fn remembered_listings_survive_the_stored_cache_and_are_not_read_ahead() {
    let n = crate::check::prefetch::MIN_PATHS + 10;
    let (t, mut p) = numbered_files(n);
    let mut names: Vec<Vec<u8>> = (0..n).map(|i| format!("f{i}").into_bytes()).collect();
    names.sort();
    p.push(Predicate::Listing { dir: t.abs("d"), names });
    let streamed = |fps: &mut Fingerprints| {
        let live = LiveFs::new(fps);
        let verdict =
            live.checking(p.iter().map(Predicate::view), |v| deferring(v, |_| false, &live));
        (verdict, live.list_count(), live.listings_unused())
    };
    let mut fps = trusting();
    assert_eq!(streamed(&mut fps), (Verdict::Holds, 0, 0), "read ahead, and remembered");
    let store = crate::store::Store::open(&t.path(".dry")).expect("store");
    store.save_fingerprints(&fps.to_entries()).expect("save");
    let mut loaded = Fingerprints::over(store.load_fingerprints());
    loaded.set_racy_window(Duration::ZERO);
    assert_eq!(streamed(&mut loaded), (Verdict::Holds, 0, 0), "neither read ahead nor listed");
    next_tick();
    t.write("d/new", b"");
    let live = LiveFs::new(&mut loaded);
    let verdict = model::check::check(&p, &live, &NoStdin);
    let added = Observed::Names { added: vec![b"new".to_vec()], removed: vec![] };
    assert_eq!(verdict, fails(n, added));
}

/// Checks `v` with no outputs and no family, deferring the predicates `defer` picks.
fn deferring<'a>(
    v: impl IntoIterator<Item = PredicateView<'a, Vec<u8>>>,
    defer: impl Fn(&PredicateView<'a, Vec<u8>>) -> bool,
    live: &LiveFs<'_>,
) -> Verdict {
    model::check::check_views_in_family_deferring(v, defer, Own::NONE, &[&[]], live, &NoStdin)
}

/// Checks `p` in a fresh snapshot over `fps` leaving out what `rules` ignore: its verdict,
/// how many directories it listed, and the names `dry why` would say were left out.
fn check_leaving_out(
    p: &[Predicate],
    fps: &mut Fingerprints,
    rules: &DryIgnore,
) -> (Verdict, usize, Vec<LeftOut>) {
    let live = LiveFs::new(fps).leaving_out(Some(rules));
    let verdict = model::check::check(p, &live, &NoStdin);
    let lists = live.list_count();
    (verdict, lists, left_out_of_listings(p, &live))
}

#[test]
fn a_listing_differing_only_by_ignored_names_holds_and_says_which() {
    let (t, _) = listed_ab();
    let root = t.root.canonicalize().expect("canonical");
    let rules = DryIgnore::parse(&root, &root.join(DRYIGNORE), b"*.swp\ntmp/\n").expect("rules");
    let dir = root.join("d").as_os_str().as_bytes().to_vec();
    let p = [Predicate::Listing { dir: dir.clone(), names: vec![b"a".to_vec(), b"b".to_vec()] }];
    let mut fps = trusting();
    assert_eq!(lists_of_check(&p, &mut fps), (Verdict::Holds, 1));
    assert_eq!(check_leaving_out(&p, &mut fps, &rules), (Verdict::Holds, 0, vec![]), "vouched");
    next_tick();
    t.write("d/.a.swp", b"");
    fs::create_dir(t.path("d/tmp")).expect("mkdir tmp");
    let both = LeftOut { dir: dir.clone(), names: vec![b".a.swp".to_vec(), b"tmp".to_vec()] };
    assert_eq!(check_leaving_out(&p, &mut fps, &rules), (Verdict::Holds, 1, vec![both.clone()]));
    assert_eq!(
        check_leaving_out(&p, &mut fps, &rules).1,
        1,
        "the remembered listing is of every name: listed again while it differs"
    );
    let added =
        Observed::Names { added: vec![b".a.swp".to_vec(), b"tmp".to_vec()], removed: vec![] };
    assert_eq!(lists_of_check(&p, &mut fps), (fails(0, added), 1), "without rules, all count");
    // A file named like an ignored directory counts; so does a removal of a name that is not
    // ignored whatever it was.
    fs::remove_dir(t.path("d/tmp")).expect("rmdir tmp");
    t.write("d/tmp", b"");
    let file = Observed::Names { added: vec![b"tmp".to_vec()], removed: vec![] };
    assert_eq!(check_leaving_out(&p, &mut fps, &rules).0, fails(0, file));
    fs::remove_file(t.path("d/tmp")).expect("rm tmp");
    let removed = [Predicate::Listing {
        dir: dir.clone(),
        names: vec![b".a.swp".to_vec(), b"a".to_vec(), b"b".to_vec(), b"tmp".to_vec()],
    }];
    let gone = Observed::Names { added: vec![], removed: vec![b"tmp".to_vec()] };
    assert_eq!(check_leaving_out(&removed, &mut fps, &rules).0, fails(0, gone));
}

#[test]
fn a_directory_outside_the_root_leaves_nothing_out() {
    let (t, p) = listed_ab();
    let elsewhere = Tree::new();
    let root = elsewhere.root.canonicalize().expect("canonical");
    let rules = DryIgnore::parse(&root, &root.join(DRYIGNORE), b"*\n").expect("rules");
    next_tick();
    t.write("d/c", b"");
    let mut fps = trusting();
    let added = Observed::Names { added: vec![b"c".to_vec()], removed: vec![] };
    assert_eq!(check_leaving_out(&p, &mut fps, &rules), (fails(0, added), 1, vec![]));
}
