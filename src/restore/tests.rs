//! Tests of restoring in temporary directories, with an in-memory object store.

use super::*;
use model::lower::order_effects;
use model::{Effect, Hash};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};

/// Objects in memory; a corrupt one writes half its bytes and then reports a mismatch, as the
/// store does when verification fails mid-copy.
#[derive(Default)]
struct Fake {
    objects: HashMap<Hash, Vec<u8>>,
    corrupt: Vec<Hash>,
}

impl Fake {
    fn with(contents: &[&[u8]]) -> Fake {
        let mut fake = Fake::default();
        for c in contents {
            fake.objects.insert(Hash::of(c), c.to_vec());
        }
        fake
    }
}

impl Objects for Fake {
    fn copy_object(&self, hash: &Hash, dest: &mut fs::File) -> Result<u64, String> {
        let bytes = self.objects.get(hash).ok_or("missing")?;
        if self.corrupt.contains(hash) {
            dest.write_all(&bytes[..bytes.len() / 2]).map_err(|e| e.to_string())?;
            return Err("hash mismatch".to_string());
        }
        dest.write_all(bytes).map_err(|e| e.to_string())?;
        Ok(bytes.len() as u64)
    }

    fn has_object(&self, hash: &Hash) -> bool {
        self.objects.contains_key(hash)
    }
}

/// A temporary directory holding the project root `p/` and a neighbour `outside/`.
struct Tree {
    _dir: tempfile::TempDir,
    top: PathBuf,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::tempdir().expect("tempdir");
        let top = dir.path().to_path_buf();
        fs::create_dir(top.join("p")).expect("mkdir");
        fs::create_dir(top.join("outside")).expect("mkdir");
        Tree { _dir: dir, top }
    }

    fn root(&self) -> PathBuf {
        self.top.join("p")
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.top.join(rel)
    }

    fn abs(&self, rel: &str) -> Vec<u8> {
        self.path(rel).as_os_str().as_bytes().to_vec()
    }

    fn write(&self, rel: &str, content: &[u8]) {
        fs::write(self.path(rel), content).expect("write");
    }

    fn file(&self, rel: &str, content: &[u8], mode: u32) -> Effect {
        Effect::File { path: self.abs(rel), hash: Hash::of(content), mode }
    }

    /// Everything below the top directory: kind, mode, content or target, by path.
    fn snapshot(&self) -> BTreeMap<PathBuf, (String, u32, Vec<u8>)> {
        let mut out = BTreeMap::new();
        snapshot_into(&self.top, &mut out);
        out
    }
}

fn snapshot_into(dir: &Path, out: &mut BTreeMap<PathBuf, (String, u32, Vec<u8>)>) {
    let mut entries: Vec<_> =
        fs::read_dir(dir).expect("read_dir").map(|e| e.expect("entry").path()).collect();
    entries.sort();
    for p in entries {
        let m = fs::symlink_metadata(&p).expect("lstat");
        let mode = m.mode() & 0o7777;
        if m.file_type().is_symlink() {
            let target = fs::read_link(&p).expect("readlink").as_os_str().as_bytes().to_vec();
            out.insert(p, ("symlink".into(), 0, target));
        } else if m.is_dir() {
            out.insert(p.clone(), ("dir".into(), mode, vec![]));
            snapshot_into(&p, out);
        } else {
            out.insert(p.clone(), ("file".into(), mode, fs::read(&p).expect("read")));
        }
    }
}

fn mode_of(p: &Path) -> u32 {
    fs::symlink_metadata(p).expect("lstat").mode() & 0o7777
}

#[test]
fn every_kind_of_effect_is_applied() {
    let t = Tree::new();
    t.write("p/old", b"old");
    fs::create_dir_all(t.path("p/olddir/sub")).expect("mkdir");
    t.write("p/olddir/sub/x", b"x");
    let effects = order_effects(vec![
        Effect::Absent { path: t.abs("p/old") },
        Effect::Absent { path: t.abs("p/olddir") },
        Effect::Absent { path: t.abs("p/never-there") },
        Effect::Dir { path: t.abs("p/d"), mode: 0o750 },
        t.file("p/d/f", b"content", 0o640),
        Effect::Symlink { path: t.abs("p/d/l"), target: b"f".to_vec() },
        Effect::HardLink { path: t.abs("p/d/h"), to: t.abs("p/d/f") },
        t.file("p/new/deep/x", b"deep", 0o600),
    ]);
    let fake = Fake::with(&[b"content", b"deep"]);
    let applied = apply(&effects, &t.root(), &fake).expect("apply");
    let expected = Applied { files: 2, bytes: 11, dirs: 1, symlinks: 1, hard_links: 1, removed: 3 };
    assert_eq!(applied, expected);
    assert!(fs::symlink_metadata(t.path("p/old")).is_err());
    assert!(fs::symlink_metadata(t.path("p/olddir")).is_err());
    assert_eq!(mode_of(&t.path("p/d")), 0o750);
    assert_eq!(fs::read(t.path("p/d/f")).expect("read"), b"content");
    assert_eq!(mode_of(&t.path("p/d/f")), 0o640);
    assert_eq!(fs::read_link(t.path("p/d/l")).expect("readlink"), Path::new("f"));
    let (f, h) = (
        fs::metadata(t.path("p/d/f")).expect("stat"),
        fs::metadata(t.path("p/d/h")).expect("stat"),
    );
    assert_eq!((f.dev(), f.ino()), (h.dev(), h.ino()));
    assert_eq!(fs::read(t.path("p/new/deep/x")).expect("read"), b"deep");
    assert_eq!(mode_of(&t.path("p/new")), 0o755 & !current_umask());
    assert_no_temporaries(&t);
    // Applying again changes nothing and leaves nothing behind.
    let before = t.snapshot();
    apply(&effects, &t.root(), &fake).expect("apply again");
    assert_eq!(t.snapshot(), before);
}

fn current_umask() -> u32 {
    let probe = tempfile::tempdir().expect("tempdir");
    let d = probe.path().join("d");
    fs::DirBuilder::new().create(&d).expect("mkdir");
    0o777 & !mode_of(&d)
}

fn assert_no_temporaries(t: &Tree) {
    let temps: Vec<_> = t
        .snapshot()
        .into_keys()
        .filter(|p| p.file_name().is_some_and(|n| n.as_bytes().starts_with(b".dry-tmp-")))
        .collect();
    assert!(temps.is_empty(), "temporaries left: {temps:?}");
}

#[test]
fn modes_are_restored_without_setuid_or_setgid() {
    let t = Tree::new();
    let effects = order_effects(vec![
        t.file("p/suid", b"a", 0o4755),
        t.file("p/sgid", b"a", 0o2711),
        Effect::Dir { path: t.abs("p/shared"), mode: 0o3777 },
        Effect::Dir { path: t.abs("p/ro"), mode: 0o555 },
        t.file("p/ro/inside", b"a", 0o444),
    ]);
    apply(&effects, &t.root(), &Fake::with(&[b"a"])).expect("apply");
    assert_eq!(mode_of(&t.path("p/suid")), 0o755);
    assert_eq!(mode_of(&t.path("p/sgid")), 0o711);
    assert_eq!(mode_of(&t.path("p/shared")), 0o1777, "the sticky bit stays");
    assert_eq!(mode_of(&t.path("p/ro")), 0o555, "set after its content was restored");
    assert_eq!(mode_of(&t.path("p/ro/inside")), 0o444);
}

#[test]
fn an_existing_file_is_replaced_atomically() {
    let t = Tree::new();
    t.write("p/f", b"old content");
    let before = fs::metadata(t.path("p/f")).expect("stat").ino();
    apply(&[t.file("p/f", b"new", 0o644)], &t.root(), &Fake::with(&[b"new"])).expect("apply");
    assert_eq!(fs::read(t.path("p/f")).expect("read"), b"new");
    assert_ne!(fs::metadata(t.path("p/f")).expect("stat").ino(), before, "a new inode, renamed in");
}

#[test]
fn a_symlink_at_the_path_is_replaced_not_followed() {
    let t = Tree::new();
    t.write("outside/target", b"precious");
    t.write("p/inner", b"inner");
    symlink(t.path("outside/target"), t.path("p/f")).expect("symlink");
    symlink("inner", t.path("p/l")).expect("symlink");
    fs::create_dir(t.path("outside/dir")).expect("mkdir");
    symlink(t.path("outside/dir"), t.path("p/d")).expect("symlink");
    let effects = order_effects(vec![
        t.file("p/f", b"new", 0o644),
        Effect::Symlink { path: t.abs("p/l"), target: b"elsewhere".to_vec() },
        Effect::Dir { path: t.abs("p/d"), mode: 0o700 },
    ]);
    apply(&effects, &t.root(), &Fake::with(&[b"new"])).expect("apply");
    assert!(fs::symlink_metadata(t.path("p/f")).expect("lstat").is_file());
    assert_eq!(fs::read(t.path("p/f")).expect("read"), b"new");
    assert_eq!(fs::read(t.path("outside/target")).expect("read"), b"precious");
    assert_eq!(fs::read_link(t.path("p/l")).expect("readlink"), Path::new("elsewhere"));
    assert_eq!(fs::read(t.path("p/inner")).expect("read"), b"inner");
    assert!(fs::symlink_metadata(t.path("p/d")).expect("lstat").is_dir());
    assert_eq!(mode_of(&t.path("outside/dir")), 0o755 & !current_umask());
}

#[test]
fn a_directory_at_a_files_path_is_replaced() {
    let t = Tree::new();
    fs::create_dir_all(t.path("p/f/sub")).expect("mkdir");
    apply(&[t.file("p/f", b"x", 0o644)], &t.root(), &Fake::with(&[b"x"])).expect("apply");
    assert_eq!(fs::read(t.path("p/f")).expect("read"), b"x");
}

#[test]
fn a_missing_object_changes_nothing() {
    let t = Tree::new();
    t.write("p/a", b"old a");
    let effects = order_effects(vec![
        Effect::Absent { path: t.abs("p/a") },
        t.file("p/b", b"present", 0o644),
        t.file("p/c", b"missing", 0o644),
    ]);
    let before = t.snapshot();
    let err = apply(&effects, &t.root(), &Fake::with(&[b"present"])).expect_err("missing");
    assert!(
        matches!(err, RestoreError::MissingObject { hash, .. } if hash == Hash::of(b"missing"))
    );
    assert_eq!(t.snapshot(), before);
}

#[test]
fn an_effect_outside_the_root_changes_nothing() {
    let t = Tree::new();
    t.write("p/a", b"a");
    t.write("outside/x", b"x");
    let fake = Fake::with(&[b"y"]);
    let before = t.snapshot();
    for bad in [
        vec![Effect::Absent { path: t.abs("p/a") }, t.file("outside/y", b"y", 0o644)],
        vec![Effect::Absent { path: t.abs("p/a") }, Effect::Absent { path: t.abs("outside/x") }],
        vec![Effect::Absent { path: t.abs("p") }],
        vec![Effect::HardLink { path: t.abs("p/h"), to: t.abs("outside/x") }],
        vec![
            Effect::Absent { path: t.abs("p/a") },
            Effect::Absent { path: t.abs("p/../outside/x") },
        ],
        vec![Effect::Absent { path: b"p/a".to_vec() }],
    ] {
        let err = apply(&bad, &t.root(), &fake).expect_err("outside");
        assert!(
            matches!(err, RestoreError::OutsideRoot { .. } | RestoreError::InvalidPath { .. }),
            "{err}"
        );
        assert_eq!(t.snapshot(), before);
    }
}

#[test]
fn a_symlinked_parent_leading_outside_is_refused() {
    let t = Tree::new();
    t.write("p/a", b"a");
    symlink(t.path("outside"), t.path("p/out")).expect("symlink");
    symlink("nowhere", t.path("p/dangling")).expect("symlink");
    fs::create_dir(t.path("p/real")).expect("mkdir");
    symlink("real", t.path("p/inside")).expect("symlink");
    let fake = Fake::with(&[b"y"]);
    let before = t.snapshot();
    for bad in ["p/out/y", "p/out/deeper/y", "p/dangling/y", "p/inside/../out/y"] {
        let effects = [Effect::Absent { path: t.abs("p/a") }, t.file(bad, b"y", 0o644)];
        let err = apply(&effects, &t.root(), &fake).expect_err("unsafe");
        // A lexical `..` after a symlink is not a normalised path: refused before any lstat.
        assert!(
            matches!(err, RestoreError::UnsafeParent { .. } | RestoreError::InvalidPath { .. }),
            "{bad}: {err}"
        );
        assert_eq!(t.snapshot(), before);
    }
    apply(&[t.file("p/inside/y", b"y", 0o644)], &t.root(), &fake).expect("a link within the root");
    assert_eq!(fs::read(t.path("p/real/y")).expect("read"), b"y");
    // A symlinked parent that the restore itself replaces with a real directory is fine.
    let effects = order_effects(vec![
        Effect::Dir { path: t.abs("p/out"), mode: 0o755 },
        t.file("p/out/y", b"y", 0o644),
    ]);
    apply(&effects, &t.root(), &fake).expect("replaced parent");
    assert_eq!(fs::read(t.path("p/out/y")).expect("read"), b"y");
    assert!(fs::symlink_metadata(t.path("outside/y")).is_err());
}

#[test]
fn a_corrupt_object_leaves_the_destination_and_no_temporary() {
    let t = Tree::new();
    t.write("p/f", b"old");
    fs::create_dir_all(t.path("p/d/sub")).expect("mkdir");
    let mut fake = Fake::with(&[b"new content"]);
    fake.corrupt.push(Hash::of(b"new content"));
    let before = t.snapshot();
    for dest in ["p/f", "p/d"] {
        let effects = [t.file(dest, b"new content", 0o644)];
        let err = apply(&effects, &t.root(), &fake).expect_err("corrupt");
        assert!(
            matches!(err, RestoreError::Object { ref message, .. } if message == "hash mismatch")
        );
        assert_eq!(t.snapshot(), before, "{dest}");
    }
}

#[test]
fn a_hard_link_already_in_place_leaves_no_temporary() {
    let t = Tree::new();
    t.write("p/f", b"f");
    fs::hard_link(t.path("p/f"), t.path("p/h")).expect("link");
    let effects = [Effect::HardLink { path: t.abs("p/h"), to: t.abs("p/f") }];
    apply(&effects, &t.root(), &Fake::default()).expect("apply");
    assert_no_temporaries(&t);
    t.write("p/g", b"g");
    let effects = [Effect::HardLink { path: t.abs("p/h"), to: t.abs("p/g") }];
    apply(&effects, &t.root(), &Fake::default()).expect("apply");
    assert_eq!(fs::read(t.path("p/h")).expect("read"), b"g");
    assert_eq!(fs::read(t.path("p/f")).expect("read"), b"f");
    assert_no_temporaries(&t);
}

#[test]
fn the_root_given_through_a_symlink_works() {
    let t = Tree::new();
    symlink(t.path("p"), t.path("alias")).expect("symlink");
    let effects = [t.file("alias/f", b"x", 0o644)];
    apply(&effects, &t.path("alias"), &Fake::with(&[b"x"])).expect("apply");
    assert_eq!(fs::read(t.path("p/f")).expect("read"), b"x");
}

#[test]
fn output_is_written_whole_at_the_current_offset() {
    let t = Tree::new();
    t.write("p/log", b"before;");
    let file = fs::OpenOptions::new().append(true).open(t.path("p/log")).expect("open");
    assert_eq!(write_all_fd(file.as_fd(), b"one;").expect("write"), Replayed::All);
    assert_eq!(write_all_fd(file.as_fd(), b"").expect("write"), Replayed::All);
    assert_eq!(write_all_fd(file.as_fd(), b"two").expect("write"), Replayed::All);
    assert_eq!(fs::read(t.path("p/log")).expect("read"), b"before;one;two");
}

#[test]
fn output_larger_than_a_pipe_is_written_in_parts() {
    let (mut reader, writer) = std::io::pipe().expect("pipe");
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let expected = big.clone();
    let drain = std::thread::spawn(move || {
        let mut got = Vec::new();
        reader.read_to_end(&mut got).expect("read");
        got
    });
    assert_eq!(write_all_fd(writer.as_fd(), &big).expect("write"), Replayed::All);
    drop(writer);
    assert_eq!(drain.join().expect("join"), expected);
}

#[test]
fn a_closed_pipe_stops_the_output_quietly() {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    assert_eq!(write_all_fd(writer.as_fd(), b"lost").expect("write"), Replayed::PipeClosed);
}

/// make's clock: the modification time of `path`, in ns.
fn mtime_ns(path: &Path) -> i64 {
    let m = fs::symlink_metadata(path).expect("lstat");
    m.mtime() * 1_000_000_000 + m.mtime_nsec()
}

#[test]
fn stamps_follow_the_order_the_run_changed_its_outputs_in_not_the_path_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().canonicalize().expect("canonical");
    let file = |name: &str| {
        let path = root.join(name).as_os_str().as_bytes().to_vec();
        fs::write(root.join(name), name).expect("write");
        Effect::File { path, hash: Hash::of(name.as_bytes()), mode: 0o644 }
    };
    // Path order: app, b, util.o; the run's order: util.o, then app and b together.
    let effects = vec![file("app"), file("b"), file("util.o")];
    let since = [7, 7, 3];
    let mut fps = crate::check::Fingerprints::new();
    let live = crate::check::LiveFs::new(&mut fps);
    let stamps = stamps(&effects, &since, &[], &live, i64::MIN, Keep::Nothing);
    drop(live);
    stamp(&stamps, &root).expect("stamp");
    let t = |n: &str| mtime_ns(&root.join(n));
    assert!(t("util.o") < t("app"), "{} {}", t("util.o"), t("app"));
    assert_eq!(t("app"), t("b"), "one group, one time");
    assert_eq!(fs::read(root.join("app")).expect("app"), b"app", "times only");
}

#[test]
fn a_top_level_replay_keeps_consistent_outputs_and_stamps_from_the_first_inconsistent_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().canonicalize().expect("canonical");
    let file = |name: &str| {
        let path = root.join(name).as_os_str().as_bytes().to_vec();
        fs::write(root.join(name), name).expect("write");
        Effect::File { path, hash: Hash::of(name.as_bytes()), mode: 0o644 }
    };
    let effects = vec![file("a"), file("b"), file("c")];
    let since = [1, 2, 3];
    let t = |n: &str| mtime_ns(&root.join(n));
    let mut fps = crate::check::Fingerprints::new();
    let live = crate::check::LiveFs::new(&mut fps);
    // All older than the input: everything is stamped.
    let newest_input = t("c") + 1;
    let all = stamps(&effects, &since, &[], &live, newest_input, Keep::Consistent);
    assert_eq!(all.groups.len(), 3);
    // Consistent: nothing is stamped (a no-op replay keeps every fingerprint valid).
    let none = stamps(&effects, &since, &[], &live, i64::MIN, Keep::Consistent);
    assert!(none.groups.is_empty(), "{none:?}");
    // `b` is written again: `a` keeps its time, `b` and `c` (changed after it) are stamped.
    let some = stamps(&effects, &since, &effects[1..2], &live, i64::MIN, Keep::Consistent);
    let paths: Vec<&[u8]> = some.groups.iter().flatten().map(Vec::as_slice).collect();
    assert_eq!(paths, [effects[1].path(), effects[2].path()]);
    assert!(some.floor_ns >= t("a"));
}
