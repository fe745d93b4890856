//! Tests of the store against real files in temp directories: round trips, corruption of every
//! kind (always `Corrupt`, never a panic), an injected crash at every stage of a write, a
//! reference model of the retention policy, concurrent writers, golden archives of format
//! versions 1 and 2, the caches, the log and gc.
#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use super::db;
use super::fingerprints;
use super::format::{self, ENTRIES_MAGIC, HEADER_LEN};
use super::layout::{self, crash};
use super::log::{encode_line, parse_line};
use super::*;
use model::entry::{Captured, ExitStatus, Uncacheable};
use model::predicate::StdinKind;
use model::resolve::ResolveFlags;
use model::{CommandKey, Effect, Errno, FileKind, Predicate};
use proptest::prelude::*;
use std::io::{Seek, SeekFrom};
use std::time::Duration;
use tempfile::TempDir;

fn new_store() -> (TempDir, Store) {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join(".dry")).unwrap();
    (tmp, store)
}

fn key(argv0: &str, env: &[(&str, &str)]) -> CommandKey {
    CommandKey::new(
        b"/usr/bin/cc".to_vec(),
        Hash::of(b"cc binary"),
        vec![argv0.as_bytes().to_vec(), b"-c".to_vec(), b"a.c".to_vec()],
        b"src".to_vec(),
        env.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec())),
        &[],
    )
}

fn captured(bytes: &[u8]) -> Captured {
    Captured { hash: Hash::of(bytes), size_bytes: bytes.len() as u64 }
}

/// An entry with every predicate and effect variant; `n` varies the content.
fn full_entry(key: &CommandKey, n: u64) -> Entry {
    let p = |s: &str| s.as_bytes().to_vec();
    Entry {
        key: key.clone(),
        predicates: vec![
            Predicate::Resolves {
                path: p("a.c"),
                base: p("/proj/src"),
                flags: ResolveFlags::FOLLOW,
                to: FileKind::Regular,
            },
            Predicate::DoesNotResolve {
                path: p("missing.h"),
                base: p("/proj/src"),
                flags: ResolveFlags::NOFOLLOW,
                errno: Errno::ENOENT,
            },
            Predicate::Content { path: p("/proj/src/a.c"), hash: Hash::of(&n.to_le_bytes()) },
            Predicate::Metadata {
                path: p("/proj/src"),
                kind: FileKind::Directory,
                mode: 0o755,
                size_bytes: n,
            },
            Predicate::Listing { dir: p("/proj/src"), names: vec![p("a.c"), vec![0xff, b'\n']] },
            Predicate::Readlink { path: p("/proj/link"), target: p("../elsewhere") },
            Predicate::Stdin { hash: Hash::of(b"stdin") },
            Predicate::StdinIs { kind: StdinKind::Terminal },
        ],
        effects: vec![
            Effect::Dir { path: p("/proj/out"), mode: 0o755 },
            Effect::File { path: p("/proj/out/a.o"), hash: Hash::of(b"object code"), mode: 0o644 },
            Effect::Symlink { path: p("/proj/out/latest"), target: p("a.o") },
            Effect::HardLink { path: p("/proj/out/b.o"), to: p("/proj/out/a.o") },
            Effect::Absent { path: p("/proj/out/stale.o") },
        ],
        effects_since: vec![0, 3, 3, 4, 7],
        stdout: captured(b"compiled\n"),
        stderr: captured(b""),
        exit: ExitStatus::Code(0),
        run_ns: 1_000 + n,
        recorded_unix_ns: 1_700_000_000_000_000_000 + n,
        uncacheable: vec![],
        unknown_syscalls: vec![(441, n), (999, 1)],
    }
}

/// An entry of `key` whose only predicate is the content `n` of one file.
fn small_entry(key: &CommandKey, n: u64) -> Entry {
    Entry {
        key: key.clone(),
        predicates: vec![Predicate::Content {
            path: b"/proj/in".to_vec(),
            hash: Hash::of(&n.to_le_bytes()),
        }],
        effects: vec![],
        effects_since: vec![],
        stdout: captured(&n.to_le_bytes()),
        stderr: captured(b""),
        exit: ExitStatus::Code(0),
        run_ns: n,
        recorded_unix_ns: n,
        uncacheable: vec![],
        unknown_syscalls: vec![],
    }
}

fn family_file(store: &Store, key: &CommandKey) -> std::path::PathBuf {
    layout::family_path(store.dir(), &key.family())
}

fn assert_corrupt<T: std::fmt::Debug>(r: Result<T, StoreError>) {
    assert!(matches!(r, Err(StoreError::Corrupt { .. })), "expected Corrupt, got {r:?}");
}

// ---------------------------------------------------------------------------------- entries

#[test]
fn entries_round_trip() {
    let (_tmp, store) = new_store();
    let k = key("cc", &[("PATH", "/usr/bin")]);
    assert_eq!(store.load_family(&k.family()).unwrap(), vec![]);
    let mut failed = full_entry(&k, 3);
    failed.exit = ExitStatus::Signal(9);
    failed.uncacheable = vec![
        Uncacheable::Random { path: b"/dev/urandom".to_vec() },
        Uncacheable::Network,
        Uncacheable::InteractiveStdin,
        Uncacheable::StreamStdin { kind: StdinKind::Stream },
        Uncacheable::OutsideRoot { path: b"/etc/x".to_vec() },
        Uncacheable::InputRaced { path: b"/proj/in".to_vec() },
        Uncacheable::Unsupported { what: "renamed a directory".into() },
        Uncacheable::Failed,
    ];
    let want = vec![full_entry(&k, 1), full_entry(&k, 2), failed];
    for e in &want {
        store.record(e.clone()).unwrap();
    }
    assert_eq!(store.load_family(&k.family()).unwrap(), want);
    assert_eq!(store.families().unwrap(), vec![k.family()]);
}

#[test]
fn families_skips_names_that_are_not_families() {
    let (_tmp, store) = new_store();
    let (a, b) = (key("cc", &[]), key("gcc", &[]));
    store.record(small_entry(&a, 1)).unwrap();
    store.record(small_entry(&b, 1)).unwrap();
    let entries = store.dir().join(layout::ENTRIES);
    std::fs::write(entries.join("not-a-family"), b"x").unwrap();
    std::fs::write(entries.join(a.family().to_hex().to_uppercase()), b"x").unwrap();
    std::fs::write(entries.join(format!("{}.tmp", a.family())), b"x").unwrap();
    let mut want = vec![a.family(), b.family()];
    want.sort();
    assert_eq!(store.families().unwrap(), want);
}

#[test]
fn open_existing_creates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".dry");
    assert!(Store::open_existing(&dir).unwrap().is_none());
    assert!(std::fs::symlink_metadata(&dir).is_err());
    // A store whose subdirectories are missing still works: writes create what they need.
    std::fs::create_dir(&dir).unwrap();
    let store = Store::open_existing(&dir).unwrap().unwrap();
    let k = key("cc", &[]);
    assert_eq!(store.families().unwrap(), vec![]);
    store.record(small_entry(&k, 1)).unwrap();
    let h = store.put_bytes(b"x").unwrap();
    assert_eq!(store.read_object(&h).unwrap(), b"x");
    assert_eq!(store.load_family(&k.family()).unwrap(), vec![small_entry(&k, 1)]);
    std::fs::write(tmp.path().join("file"), b"").unwrap();
    assert!(Store::open_existing(&tmp.path().join("file")).is_err());
}

// ---------------------------------------------------------------------------------- objects

#[test]
fn objects_round_trip() {
    let (tmp, store) = new_store();
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let src = tmp.path().join("big");
    std::fs::write(&src, &big).unwrap();
    let (h, size) = store.put_file(&src).unwrap();
    assert_eq!((h, size), (Hash::of(&big), big.len() as u64));
    assert!(store.has_object(&h));
    assert_eq!(store.read_object(&h).unwrap(), big);
    // Storing the same content again is a no-op, from a file or from bytes.
    assert_eq!(store.put_file(&src).unwrap().0, h);
    assert_eq!(store.put_bytes(&big).unwrap(), h);
    let empty = store.put_bytes(b"").unwrap();
    assert_eq!(store.read_object(&empty).unwrap(), b"");
    let mut dest = tempfile::tempfile().unwrap();
    assert_eq!(store.copy_object(&h, &mut dest).unwrap(), big.len() as u64);
    dest.seek(SeekFrom::Start(0)).unwrap();
    let mut back = Vec::new();
    std::io::Read::read_to_end(&mut dest, &mut back).unwrap();
    assert_eq!(back, big);
    // Nothing is left in tmp/.
    assert_eq!(std::fs::read_dir(store.dir().join(layout::TMP)).unwrap().count(), 0);
    assert!(store.put_file(&tmp.path().join("no such file")).is_err());
}

#[test]
fn storing_content_already_held_creates_no_file() {
    let (tmp, store) = new_store();
    let src = tmp.path().join("a.o");
    std::fs::write(&src, b"object code").unwrap();
    let (h, _) = store.put_file(&src).unwrap();
    // With tmp/ a regular file, no temp file can be made: only a store that writes nothing for
    // content it holds can still take the same content again.
    let tmp_dir = store.dir().join(layout::TMP);
    std::fs::remove_dir(&tmp_dir).unwrap();
    std::fs::write(&tmp_dir, b"").unwrap();
    assert_eq!(store.put_file(&src).unwrap(), (h, 11));
    std::fs::write(&src, b"other code").unwrap();
    assert!(store.put_file(&src).is_err(), "new content needs a temp file");
}

#[test]
fn a_file_too_large_to_read_whole_is_streamed_into_the_store() {
    let (tmp, store) = new_store();
    let len = usize::try_from(super::objects::READ_WHOLE_MAX).unwrap() + 4097;
    let big: Vec<u8> = (0..len).map(|i| (i * 13 % 251) as u8).collect();
    let src = tmp.path().join("big");
    std::fs::write(&src, &big).unwrap();
    assert_eq!(store.put_file(&src).unwrap(), (Hash::of(&big), len as u64));
    assert_eq!(store.read_object(&Hash::of(&big)).unwrap(), big);
    assert_eq!(store.put_file(&src).unwrap().0, Hash::of(&big));
    assert_eq!(std::fs::read_dir(store.dir().join(layout::TMP)).unwrap().count(), 0);
}

#[test]
fn damaged_or_missing_objects_are_corrupt() {
    let (_tmp, store) = new_store();
    let h = store.put_bytes(b"hello object").unwrap();
    let path = store.object_path(&h);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[3] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    assert_corrupt(store.read_object(&h));
    // A damaged object is deleted, so storing the content again repairs it.
    assert!(!store.has_object(&h));
    assert_eq!(store.put_bytes(b"hello object").unwrap(), h);
    assert_eq!(store.read_object(&h).unwrap(), b"hello object");
    std::fs::write(&path, &bytes).unwrap();
    assert_corrupt(store.copy_object(&h, &mut tempfile::tempfile().unwrap()));
    assert!(!store.has_object(&h));
    std::fs::write(&path, b"hello").unwrap();
    assert_corrupt(store.read_object(&h));
    std::fs::write(&path, b"hello object and more").unwrap();
    assert_corrupt(store.copy_object(&h, &mut tempfile::tempfile().unwrap()));
    assert!(!store.has_object(&h));
    assert_corrupt(store.read_object(&h));
    assert_corrupt(store.copy_object(&h, &mut tempfile::tempfile().unwrap()));
}

// ------------------------------------------------------------------------------- corruption

/// Ways to damage a valid database file.
fn damages(valid: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let flip = |at: usize| {
        let mut v = valid.to_vec();
        v[at] ^= 0x10;
        v
    };
    let mut random = Vec::new();
    let mut x: u32 = 12345;
    for _ in 0..valid.len() {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        random.push((x >> 16) as u8);
    }
    let mut extended = valid.to_vec();
    extended.push(0);
    vec![
        ("empty", vec![]),
        ("header only", valid[..HEADER_LEN].to_vec()),
        ("truncated header", valid[..HEADER_LEN / 2].to_vec()),
        ("truncated payload", valid[..valid.len() - 1].to_vec()),
        ("truncated in half", valid[..valid.len() / 2].to_vec()),
        ("extended", extended),
        ("bad magic", flip(1)),
        ("wrong version", flip(8)),
        ("flags", flip(12)),
        ("length", flip(16)),
        ("checksum", flip(30)),
        ("reserved", flip(60)),
        ("first payload byte", flip(HEADER_LEN)),
        ("middle payload byte", flip((HEADER_LEN + valid.len()) / 2)),
        ("last payload byte", flip(valid.len() - 1)),
        ("random bytes", random),
    ]
}

#[test]
fn damaged_databases_are_corrupt_and_replaced_by_record() {
    let (_tmp, store) = new_store();
    let k = key("cc", &[]);
    store.record(full_entry(&k, 1)).unwrap();
    store.record(full_entry(&k, 2)).unwrap();
    let path = family_file(&store, &k);
    let valid = std::fs::read(&path).unwrap();
    for (what, bytes) in damages(&valid) {
        std::fs::write(&path, &bytes).unwrap();
        let got = store.load_family(&k.family());
        assert!(matches!(got, Err(StoreError::Corrupt { .. })), "{what}: {got:?}");
        store.record(full_entry(&k, 3)).unwrap();
        assert_eq!(store.load_family(&k.family()).unwrap(), vec![full_entry(&k, 3)], "{what}");
        std::fs::write(&path, &valid).unwrap();
    }
}

#[test]
fn a_big_family_file_is_checked_whole_while_it_is_read() {
    // Above `db::CHECKSUM_APART_BYTES`: the checksum is verified on another thread.
    let (_tmp, store) = new_store();
    let k = key("readall", &[]);
    let mut big = full_entry(&k, 1);
    big.predicates = (0..20_000)
        .map(|i| Predicate::Content {
            path: format!("/a/directory/deep/enough/for/a/long/path/f{i:06}").into_bytes(),
            hash: Hash::of(format!("{i}").as_bytes()),
        })
        .collect();
    store.record(big.clone()).unwrap();
    let path = family_file(&store, &k);
    let valid = std::fs::read(&path).unwrap();
    assert!(valid.len() > 1 << 20, "{} bytes", valid.len());
    let read = |store: &Store| store.with_family(&k.family(), |e| e.len());
    assert_eq!(read(&store).unwrap(), 1);
    assert_eq!(store.load_family(&k.family()).unwrap(), vec![big]);
    for (what, bytes) in damages(&valid) {
        std::fs::write(&path, &bytes).unwrap();
        let got = read(&store);
        assert!(matches!(got, Err(StoreError::Corrupt { .. })), "{what}: {got:?}");
        assert_corrupt(store.load_family(&k.family()));
    }
}

#[test]
fn a_family_file_that_is_not_a_file_is_corrupt() {
    let (_tmp, store) = new_store();
    let k = key("cc", &[]);
    std::fs::create_dir(family_file(&store, &k)).unwrap();
    assert_corrupt(store.load_family(&k.family()));
}

#[test]
fn a_valid_archive_of_another_family_is_corrupt() {
    let (_tmp, store) = new_store();
    let (a, b) = (key("cc", &[]), key("gcc", &[]));
    store.record(small_entry(&a, 1)).unwrap();
    std::fs::copy(family_file(&store, &a), family_file(&store, &b)).unwrap();
    assert_corrupt(store.load_family(&b.family()));
}

/// A whole database file whose header is valid for `payload`.
fn with_header(payload: &[u8]) -> Vec<u8> {
    let mut file = format::encode_header(ENTRIES_MAGIC, payload).to_vec();
    file.extend_from_slice(payload);
    file
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_fingerprint_files_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
        fix_header in any::<bool>(),
    ) {
        let mut bytes = bytes;
        if fix_header && bytes.len() >= 32 {
            // Past the header checks: a valid magic, version and flags, and a length that fits.
            let valid = fingerprints::encode(&fingerprint_items(3));
            bytes[..16].copy_from_slice(&valid[..16]);
        }
        let file = FingerprintFile::from_bytes(bytes);
        let mut paths: Vec<Vec<u8>> = file.items().into_iter().map(|(p, _, _)| p).collect();
        paths.push(b"/src/1.c".to_vec());
        let refs: Vec<&[u8]> = paths.iter().map(Vec::as_slice).collect();
        let one_by_one: Vec<_> = refs.iter().map(|p| file.get(p)).collect();
        prop_assert_eq!(file.get_many(&refs), one_by_one);
    }

    #[test]
    fn arbitrary_family_files_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let (_tmp, store) = new_store();
        let k = key("cc", &[]);
        std::fs::write(family_file(&store, &k), &bytes).unwrap();
        prop_assert!(store.load_family(&k.family()).is_err());
    }

    /// Past the checksum: an arbitrary payload under a valid header reaches bytecheck.
    #[test]
    fn arbitrary_payloads_never_panic(payload in proptest::collection::vec(any::<u8>(), 0..512)) {
        let k = key("cc", &[]);
        let _ = decode_family_file(&with_header(&payload), &k.family());
    }

    /// A valid archive with bytes overwritten, checksum recomputed: bytecheck must catch it or
    /// decode something well-formed.
    #[test]
    fn mutated_archives_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let k = key("cc", &[]);
        let entries = vec![full_entry(&k, 1), full_entry(&k, 2)];
        let (_, payload) = db::encode_entries(Path::new("x"), &entries, &k.family()).unwrap();
        let mut payload = payload.to_vec();
        for (at, byte) in edits {
            let at = at.index(payload.len());
            payload[at] = byte;
        }
        let _ = db::decode_entries(Path::new("x"), &with_header(&payload), &k.family());
    }
}

// ------------------------------------------------------------------------- crash injection

#[test]
fn a_crash_at_any_byte_leaves_the_previous_database() {
    let (_tmp, store) = new_store();
    let k = key("cc", &[]);
    store.record(full_entry(&k, 1)).unwrap();
    let path = family_file(&store, &k);
    let before = std::fs::read(&path).unwrap();
    let len = before.len(); // the new file is a little longer: every n below tears it
    for n in [0, 1, 7, HEADER_LEN - 1, HEADER_LEN, HEADER_LEN + 1, len / 2, len - 1, len, len + 8] {
        crash::arm(n);
        let r = store.record(full_entry(&k, 2));
        assert!(matches!(r, Err(StoreError::Io { .. })), "crash after {n} bytes: {r:?}");
        assert_eq!(std::fs::read(&path).unwrap(), before, "crash after {n} bytes");
        assert_eq!(store.load_family(&k.family()).unwrap(), vec![full_entry(&k, 1)]);
    }
    // The torn temp files are left behind, as a killed process would leave them...
    let tmp = store.dir().join(layout::TMP);
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 10);
    // ...the store keeps working...
    store.record(full_entry(&k, 3)).unwrap();
    assert_eq!(store.load_family(&k.family()).unwrap(), vec![full_entry(&k, 1), full_entry(&k, 3)]);
    // ...and gc deletes them once they are stale.
    let report = gc::run(store.dir(), None, None, gc::GRACE).unwrap();
    assert_eq!(report.temp_files_removed, 0);
    let report = gc::run(store.dir(), None, None, Duration::ZERO).unwrap();
    assert_eq!(report.temp_files_removed, 10);
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
}

/// The retention policy, written independently of `retention::apply`, as the reference model.
fn model_record(model: &mut Vec<Entry>, new: Entry) {
    let id = new.key.id();
    model.retain(|old| {
        let same_inputs = old.key.id() == id && old.predicates == new.predicates;
        let both_uncacheable = old.key.id() == id && !old.cacheable() && !new.cacheable();
        !same_inputs && !both_uncacheable
    });
    model.push(new);
    if model.len() > MAX_ENTRIES_PER_FAMILY {
        model.remove(0);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Records, some crashing part-way, against the reference model: after every step the
    /// database holds exactly what the model says.
    #[test]
    fn records_and_crashes_follow_the_model(
        ops in proptest::collection::vec((0..3usize, 0..4u64, any::<bool>(), 0..8usize), 1..90),
    ) {
        let (_tmp, store) = new_store();
        let keys = [key("cc", &[]), key("cc", &[("A", "1")]), key("cc", &[("A", "2")])];
        let family = keys[0].family();
        let mut model = Vec::new();
        for (step, (k, input, failed, crash_at)) in ops.into_iter().enumerate() {
            let mut e = small_entry(&keys[k], input);
            e.recorded_unix_ns = step as u64;
            if failed {
                e.uncacheable = vec![Uncacheable::Failed];
            }
            if crash_at < 2 {
                crash::arm(crash_at * 100);
                prop_assert!(store.record(e).is_err());
            } else {
                store.record(e.clone()).unwrap();
                model_record(&mut model, e);
            }
            prop_assert_eq!(&store.load_family(&family).unwrap(), &model);
        }
    }
}

/// The child of [`kill_9_at_any_instant_leaves_a_complete_database`]: records forever into the
/// store named by `DRY_TEST_KILL_DIR`, continuing the sequence of `run_ns` found there.
#[test]
#[ignore = "the child process of kill_9_at_any_instant_leaves_a_complete_database"]
fn kill_9_child() {
    let Some(dir) = std::env::var_os("DRY_TEST_KILL_DIR") else { return };
    let store = Store::open(Path::new(&dir)).unwrap();
    let k = key("cc", &[]);
    let last = store.load_family(&k.family()).unwrap().last().map_or(0, |e| e.run_ns);
    for n in last + 1.. {
        store.record(small_entry(&k, n)).unwrap();
    }
}

#[test]
fn kill_9_at_any_instant_leaves_a_complete_database() {
    let (_tmp, store) = new_store();
    let k = key("cc", &[]);
    let exe = std::env::current_exe().unwrap();
    for round in 0..6u64 {
        let mut child = std::process::Command::new(&exe)
            .args(["--exact", "store::tests::kill_9_child", "--ignored", "--test-threads=1"])
            .env("DRY_TEST_KILL_DIR", store.dir())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(40 + round * 17));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // The database is complete: a consecutive run of the newest entries, nothing torn.
        let got: Vec<u64> =
            store.load_family(&k.family()).unwrap().iter().map(|e| e.run_ns).collect();
        assert!(got.windows(2).all(|w| w[1] == w[0] + 1), "round {round}: {got:?}");
        assert!(got.len() <= MAX_ENTRIES_PER_FAMILY);
    }
    let before = store.load_family(&k.family()).unwrap();
    assert!(!before.is_empty(), "the children never recorded anything");
    // The killed writers' lock died with them.
    store.record(small_entry(&k, 1_000_000)).unwrap();
}

// ------------------------------------------------------------------------------ concurrency

#[test]
fn concurrent_writers_lose_no_entries() {
    let (_tmp, store) = new_store();
    let k = key("cc", &[]);
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let (store, k) = (store.clone(), k.clone());
            std::thread::spawn(move || {
                for i in 0..8 {
                    store.record(small_entry(&k, t * 100 + i)).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut got: Vec<u64> =
        store.load_family(&k.family()).unwrap().iter().map(|e| e.run_ns).collect();
    got.sort();
    let want: Vec<u64> = (0..8).flat_map(|t| (0..8).map(move |i| t * 100 + i)).collect();
    assert_eq!(got, want);
}

// ---------------------------------------------------------------------------------- golden

/// The entries of the golden archive. Never change them: the file must keep reading back as
/// these values for as long as dry decodes format version 3.
fn golden_entries() -> (Hash, Vec<Entry>) {
    let k = key("cc", &[("LANG", "C"), ("PATH", "/usr/bin:/bin")]);
    let mut failed = small_entry(&k, 7);
    failed.exit = ExitStatus::Code(2);
    failed.uncacheable = vec![
        Uncacheable::Failed,
        Uncacheable::Unsupported { what: "x".into() },
        Uncacheable::StreamStdin { kind: StdinKind::Other },
    ];
    (k.family(), vec![full_entry(&k, 1), failed, full_entry(&k, 2)])
}

/// The entries of the version-3 golden archive: [`golden_entries`] (whose full entries carry
/// `effects_since`), and one with `SameFile` and `Links` predicates. Never change them.
fn golden_entries_v3() -> (Hash, Vec<Entry>) {
    let (family, mut entries) = golden_entries();
    let mut same = small_entry(&entries[0].key, 3);
    same.predicates.push(Predicate::SameFile {
        a: b"/proj/f1".to_vec(),
        b: b"/proj/f2".to_vec(),
        flags: ResolveFlags::NOFOLLOW,
        same: false,
    });
    same.predicates.push(Predicate::Links { path: b"/proj/log".to_vec(), count: 1, mode: 0o644 });
    same.predicates.push(Predicate::Links { path: b"/proj/new".to_vec(), count: 0, mode: 0o600 });
    same.predicates.push(Predicate::SameFile {
        a: b"/proj/a/very/long/path/name".to_vec(),
        b: b"/proj/b".to_vec(),
        flags: ResolveFlags::FOLLOW,
        same: true,
    });
    entries.push(same);
    (family, entries)
}

/// The entries of the version-4 golden archive: [`golden_entries_v3`] and one with `Access`
/// predicates. Never change them.
fn golden_entries_v4() -> (Hash, Vec<Entry>) {
    let (family, mut entries) = golden_entries_v3();
    let mut access = small_entry(&entries[0].key, 4);
    let path = b"/proj/secret.txt".to_vec();
    access.predicates.push(Predicate::Access { path: path.clone(), want: 4, granted: false });
    access.predicates.push(Predicate::Access { path, want: 6, granted: true });
    entries.push(access);
    (family, entries)
}

/// Version 3 is decodable (version 4 only appended a predicate), so the golden file still
/// reads back; the store reads it as a miss (its entries may lack an `Access` predicate).
#[test]
fn golden_archive_v3_still_decodes() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/entries-v3.bin");
    let (family, want) = golden_entries_v3();
    let golden = std::fs::read(&path).expect("tests/golden/entries-v3.bin");
    assert_eq!(db::decode_entries(&path, &golden, &family).unwrap(), want);
}

/// Version 3 entries record an open refused by the file's permission as a failed resolution
/// (which never holds again) and carry no `Access` predicate.
#[test]
fn golden_archive_v3_is_rejected_as_a_miss() {
    golden_archive_is_rejected_as_a_miss(3);
}

#[test]
fn golden_archive_v4_reads_back() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/entries-v4.bin");
    let (family, want) = golden_entries_v4();
    let (header, payload) = db::encode_entries(&path, &want, &family).unwrap();
    let encoded = [header, payload.to_vec()].concat();
    if std::env::var_os("DRY_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &encoded).unwrap();
    }
    let golden = std::fs::read(&path).expect("tests/golden/entries-v4.bin (DRY_BLESS=1 writes it)");
    // Every later dry must read it back...
    assert_eq!(db::decode_entries(&path, &golden, &family).unwrap(), want);
    // ...and this one writes it byte for byte: a difference is a format change, which needs a
    // new version number, a new golden file and a line in notes/format.md.
    assert!(encoded == golden, "the writer's output differs from the version 4 golden file");
}

/// Version 1 entries carry no `StdinIs` predicate: one recorded with `/dev/null` on standard
/// input would hold for a command reading a here-document (notes/0002-stdin.md). This dry
/// rejects the whole file as corrupt, which every caller treats as a cache miss; the next
/// record replaces it.
#[test]
fn golden_archive_v1_is_rejected_as_a_miss() {
    golden_archive_is_rejected_as_a_miss(1);
}

/// Version 2 entries carry no `effects_since`: when a walk through an input symlink reached an
/// output before or after the run changed it is unknown (gap G6, notes/format.md).
#[test]
fn golden_archive_v2_is_rejected_as_a_miss() {
    golden_archive_is_rejected_as_a_miss(2);
}

/// Asserts that the golden archive of format `version` reads as damaged (a miss), and that
/// recording over it replaces it with a current file.
fn golden_archive_is_rejected_as_a_miss(version: u32) {
    let name = format!("tests/golden/entries-v{version}.bin");
    let golden =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(&name)).expect("golden file");
    let k = key("cc", &[("LANG", "C"), ("PATH", "/usr/bin:/bin")]);
    let (_tmp, store) = new_store();
    let file = family_file(&store, &k);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, &golden).unwrap();
    match store.load_family(&k.family()) {
        Err(StoreError::Corrupt { why, .. }) => {
            assert!(why.contains(&format!("version {version}")), "{why}")
        }
        other => panic!("expected a version-{version} file to be corrupt, got {other:?}"),
    }
    assert_corrupt(store.with_family(&k.family(), |entries| entries.len()));
    store.record(small_entry(&k, 1)).unwrap();
    assert_eq!(store.load_family(&k.family()).unwrap(), vec![small_entry(&k, 1)]);
}

// -------------------------------------------------------------------------------- retention

#[test]
fn retention_drops_redundant_entries_and_caps_the_family() {
    let (_tmp, store) = new_store();
    let (k, k2) = (key("cc", &[]), key("cc", &[("A", "1")]));
    let load = || store.load_family(&k.family()).unwrap();
    let ns = |v: Vec<Entry>| v.iter().map(|e| e.recorded_unix_ns).collect::<Vec<_>>();
    let at = |key: &CommandKey, input: u64, t: u64| {
        let mut e = small_entry(key, input);
        e.recorded_unix_ns = t;
        e
    };
    store.record(at(&k, 1, 10)).unwrap();
    store.record(at(&k, 2, 11)).unwrap();
    store.record(at(&k2, 1, 12)).unwrap(); // same inputs, other key id: kept
    store.record(at(&k, 1, 13)).unwrap(); // same key id and inputs as 10: replaces it
    assert_eq!(ns(load()), vec![11, 12, 13]);
    let failed = |key: &CommandKey, input: u64, t: u64| {
        let mut e = at(key, input, t);
        e.uncacheable = vec![Uncacheable::Network];
        e
    };
    store.record(failed(&k, 5, 14)).unwrap();
    store.record(failed(&k2, 6, 15)).unwrap();
    store.record(failed(&k, 7, 16)).unwrap(); // newest uncacheable of k: replaces 14
    assert_eq!(ns(load()), vec![11, 12, 13, 15, 16]);
    for t in 100..200 {
        store.record(at(&k, t, t)).unwrap();
    }
    assert_eq!(ns(load()), (200 - MAX_ENTRIES_PER_FAMILY as u64..200).collect::<Vec<_>>());
}

// ----------------------------------------------------------------------------- fingerprints

fn fingerprint(n: u64) -> Fingerprint {
    Fingerprint { dev: n, ino: n + 1, size_bytes: n + 2, mtime_ns: -(n as i64), ctime_ns: i64::MAX }
}

fn fingerprint_items(n: u64) -> Vec<fingerprints::Item> {
    let mut items: Vec<_> = (0..n)
        .map(|i| (format!("/src/{i}.c").into_bytes(), fingerprint(i), Hash::of(&i.to_le_bytes())))
        .collect();
    items.push((vec![0xff; 300], fingerprint(n), Hash::of(b"long")));
    items.sort_by(|a, b| a.0.cmp(&b.0));
    items
}

#[test]
fn numbered_paths_spread_over_the_fingerprint_table_wherever_their_digits_fall() {
    // 4 096 paths in 8 192 slots: random slots would fill about 3 220. Each prefix length puts
    // the changing digits at another place of their 8-byte words (version 2's table put all of
    // "/tmp/s100k/files/f000000".."f099999" in one run of slots).
    let n = 4096;
    for prefix in 0..8 {
        let dir = format!("/tmp/{}/files/f", "x".repeat(prefix));
        let used: std::collections::HashSet<usize> = (0..n)
            .map(|i| fingerprints::slot_of(format!("{dir}{i:06}").as_bytes(), 2 * n))
            .collect();
        assert!(used.len() > n * 7 / 10, "prefix {prefix}: {} slots for {n} paths", used.len());
    }
}

#[test]
fn fingerprints_round_trip_and_a_damaged_header_means_empty() {
    let (_tmp, store) = new_store();
    assert_eq!(store.load_fingerprints().items(), vec![]);
    assert_eq!(store.load_fingerprints().get(b"/a"), None);
    let items = fingerprint_items(40);
    store.save_fingerprints(&items).unwrap();
    let loaded = store.load_fingerprints();
    assert_eq!(loaded.items(), items);
    for (p, fp, h) in &items {
        assert_eq!(loaded.get(p), Some((*fp, *h)));
    }
    assert_eq!(loaded.get(b"/src/40.c"), None);
    store.save_fingerprints(&items[1..]).unwrap();
    assert_eq!(store.load_fingerprints().items(), items[1..]);
    store.save_fingerprints(&[]).unwrap();
    assert_eq!(store.load_fingerprints().items(), vec![]);
    store.save_fingerprints(&items).unwrap();
    let path = store.dir().join(layout::FINGERPRINTS);
    let valid = std::fs::read(&path).unwrap();
    let flip = |at: usize| {
        let mut v = valid.clone();
        v[at] ^= 0x10;
        v
    };
    let mut extended = valid.clone();
    extended.push(0);
    let damages = [
        ("empty", vec![]),
        ("truncated header", valid[..16].to_vec()),
        ("header only", valid[..32].to_vec()),
        ("truncated", valid[..valid.len() - 1].to_vec()),
        ("extended", extended),
        ("bad magic", flip(1)),
        ("wrong version", flip(8)),
        ("flags", flip(12)),
        ("count", flip(16)),
        ("slots", flip(22)),
        ("heap length", flip(24)),
    ];
    for (what, bytes) in damages {
        std::fs::write(&path, &bytes).unwrap();
        let loaded = store.load_fingerprints();
        assert_eq!(loaded.items(), vec![], "{what}");
        assert!(items.iter().all(|(p, _, _)| loaded.get(p).is_none()), "{what}");
    }
    // An entry database is not a fingerprint cache.
    assert_eq!(fingerprints::decode(&with_header(&valid[HEADER_LEN..])), None);
}

/// Damage past the header costs at most the records it touches: a lookup answers the true
/// value or nothing, never another path's or a damaged value, whichever byte is hit.
#[test]
fn a_damaged_fingerprint_record_is_a_miss_never_a_wrong_answer() {
    let items = fingerprint_items(12);
    let valid = fingerprints::encode(&items);
    for at in 32..valid.len() {
        for bit in [0x01u8, 0x80] {
            let mut bytes = valid.clone();
            bytes[at] ^= bit;
            let file = FingerprintFile::from_bytes(bytes);
            let survivors = file.items();
            assert!(survivors.len() >= items.len() - 2, "byte {at}: one flip lost {survivors:?}");
            assert!(survivors.iter().all(|i| items.contains(i)), "byte {at}: a wrong record");
            for (p, fp, h) in &items {
                let got = file.get(p);
                assert!(got.is_none() || got == Some((*fp, *h)), "byte {at}: {got:?}");
            }
            let paths: Vec<&[u8]> = items.iter().map(|(p, _, _)| p.as_slice()).collect();
            let one_by_one: Vec<_> = paths.iter().map(|p| file.get(p)).collect();
            assert_eq!(file.get_many(&paths), one_by_one, "byte {at}");
        }
    }
}

/// Many lookups at once answer as many lookups one by one: in a table full enough that
/// probes run past their first slot, with absent paths and repeats among them.
#[test]
fn fingerprint_lookups_in_a_batch_answer_as_one_by_one() {
    let items = fingerprint_items(3000);
    let file = FingerprintFile::from_bytes(fingerprints::encode(&items));
    let mut paths: Vec<Vec<u8>> = items.iter().rev().map(|(p, _, _)| p.clone()).collect();
    paths.extend((0..3000).map(|i| format!("/src/{i}.h").into_bytes()));
    paths.push(items[7].0.clone());
    let refs: Vec<&[u8]> = paths.iter().map(Vec::as_slice).collect();
    let got = file.get_many(&refs);
    for (i, (path, got)) in refs.iter().zip(&got).enumerate() {
        let expected = items.iter().find(|(p, _, _)| p == path).map(|(_, fp, h)| (*fp, *h));
        assert_eq!(*got, expected, "path {i}: {}", String::from_utf8_lossy(path));
    }
    assert_eq!(got.len(), refs.len());
    assert!(got[..items.len()].iter().all(Option::is_some));
}

// ------------------------------------------------------------------------------ log, last

fn record(n: u64, argv: &[&[u8]], outcome: Outcome) -> LogRecord {
    LogRecord {
        unix_ns: 1_700_000_000_000_000_000 + n,
        family: Hash::of(&n.to_le_bytes()),
        argv: argv.iter().map(|a| a.to_vec()).collect(),
        outcome,
        run_ns: n * 1000,
        saved_ns: n,
    }
}

#[test]
fn log_lines_round_trip_any_argv() {
    let argvs: [&[&[u8]]; 5] = [
        &[],
        &[b""],
        &[b"sh", b"-c", b"echo 100% done\n", b"", b"\xff\x00\t"],
        &[b"%41", b" ", b"  "],
        &[b"make", b"-j2"],
    ];
    for (i, argv) in argvs.iter().enumerate() {
        for outcome in [Outcome::Ran, Outcome::Replayed, Outcome::Uncached] {
            let r = record(i as u64, argv, outcome);
            let line = encode_line(&r);
            assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
            assert_eq!(parse_line(&line[..line.len() - 1]), Some(r));
        }
    }
    assert_eq!(parse_line(b""), None);
    assert_eq!(parse_line(b"2 1 00 ran 1 1"), None);
    let good = encode_line(&record(1, &[b"a"], Outcome::Ran));
    assert_eq!(parse_line(&good[..good.len() - 1]).map(|r| r.argv), Some(vec![b"a".to_vec()]));
    for cut in 1..good.len() - 1 {
        // A torn line may parse only if the cut fell inside a number or the last argument;
        // then it must never be mistaken for the whole record.
        if let Some(r) = parse_line(&good[..cut]) {
            assert_ne!(r, record(1, &[b"a"], Outcome::Ran), "cut at {cut}");
        }
    }
    let bad_escape = String::from_utf8(good[..good.len() - 2].to_vec()).unwrap() + "%G1";
    assert_eq!(parse_line(bad_escape.as_bytes()), None);
}

#[test]
fn log_appends_and_survives_a_torn_last_line() {
    let (_tmp, store) = new_store();
    assert_eq!(store.read_log().unwrap(), vec![]);
    let (a, b, c) = (
        record(1, &[b"make"], Outcome::Ran),
        record(2, &[b"make", b"all"], Outcome::Replayed),
        record(3, &[], Outcome::Uncached),
    );
    store.append_log(&a).unwrap();
    store.append_log(&b).unwrap();
    assert_eq!(store.read_log().unwrap(), vec![a.clone(), b.clone()]);
    // A crash tore the next line: it is skipped, and so is a garbage line.
    let path = store.dir().join(layout::LOG);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"garbage\n");
    bytes.extend_from_slice(&encode_line(&c)[..20]);
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(store.read_log().unwrap(), vec![a.clone(), b.clone()]);
    // The next append starts on a line of its own.
    store.append_log(&c).unwrap();
    assert_eq!(store.read_log().unwrap(), vec![a, b, c]);
}

#[test]
fn last_build_round_trips_and_damage_means_none() {
    let (_tmp, store) = new_store();
    assert_eq!(store.last(), None);
    let h = Hash::of(b"family");
    store.set_last(&h).unwrap();
    assert_eq!(store.last(), Some(h));
    std::fs::write(store.dir().join(layout::LAST), b"zz\n").unwrap();
    assert_eq!(store.last(), None);
}

#[test]
fn the_same_last_build_and_steps_are_not_rewritten() {
    use std::os::unix::fs::MetadataExt;
    let (_tmp, store) = new_store();
    let ino = |name: &str| std::fs::metadata(store.dir().join(name)).unwrap().ino();
    let (f, g) = (Hash::of(b"f"), Hash::of(b"g"));
    store.set_last(&f).unwrap();
    store.set_last_steps(&[]).unwrap();
    let (last, steps) = (ino(layout::LAST), ino(layout::LAST_STEPS));
    store.set_last(&f).unwrap();
    store.set_last_steps(&[]).unwrap();
    assert_eq!((ino(layout::LAST), ino(layout::LAST_STEPS)), (last, steps), "left as they were");
    store.set_last(&g).unwrap();
    store.set_last_steps(&["ran `cc`".to_string()]).unwrap();
    assert_eq!((store.last(), store.last_steps()), (Some(g), vec!["ran `cc`".to_string()]));
}

// ----------------------------------------------------------------------------------- gc

/// An entry of `key` at time `t` whose stdout is the object `content`, stored.
fn entry_with_object(store: &Store, key: &CommandKey, t: u64, content: &[u8]) -> Entry {
    let mut e = small_entry(key, t);
    e.stdout =
        Captured { hash: store.put_bytes(content).unwrap(), size_bytes: content.len() as u64 };
    e.stderr = e.stdout;
    e
}

#[test]
fn gc_keeps_the_newest_and_deletes_unreferenced_objects() {
    let (tmp, store) = new_store();
    let (a, b) = (key("cc", &[]), key("ld", &[]));
    for t in 0..5 {
        store.record(entry_with_object(&store, &a, t, format!("a{t}").as_bytes())).unwrap();
    }
    store.record(entry_with_object(&store, &b, 10, b"a4")).unwrap(); // shares a4 with a
    let orphan = store.put_bytes(b"orphan").unwrap();
    let outside = tmp.path().join("user-file");
    std::fs::write(&outside, b"mine").unwrap();
    let foreign = store.dir().join("README");
    std::fs::write(&foreign, b"not the store's").unwrap();

    // A young orphan may belong to a build in flight: kept with the real grace period.
    let r = store.gc(None, Some(2)).unwrap();
    assert_eq!(r.entries_removed, 3);
    assert_eq!(r.objects_removed, 3);
    assert!(store.has_object(&orphan));
    let times = |k: &CommandKey| -> Vec<u64> {
        store.load_family(&k.family()).unwrap().iter().map(|e| e.recorded_unix_ns).collect()
    };
    assert_eq!(times(&a), vec![3, 4]);
    assert_eq!(times(&b), vec![10]);
    for (t, present) in [(0, false), (1, false), (2, false), (3, true), (4, true)] {
        assert_eq!(store.has_object(&Hash::of(format!("a{t}").as_bytes())), present, "a{t}");
    }
    let r = gc::run(store.dir(), None, None, Duration::ZERO).unwrap();
    assert_eq!((r.entries_removed, r.objects_removed), (0, 1));
    assert!(!store.has_object(&orphan));

    // Over the size limit: the oldest entries go first, with the objects only they used.
    let r = gc::run(store.dir(), Some(r.size_bytes - 1), None, Duration::ZERO).unwrap();
    assert_eq!(r.entries_removed, 1);
    assert_eq!(times(&a), vec![4]);
    assert!(!store.has_object(&Hash::of(b"a3")));
    let r = gc::run(store.dir(), Some(0), None, Duration::ZERO).unwrap();
    assert_eq!((r.entries_removed, r.size_bytes), (2, 0));
    assert_eq!(store.families().unwrap(), vec![]);
    assert!(!store.has_object(&Hash::of(b"a4")));

    assert_eq!(std::fs::read(&outside).unwrap(), b"mine");
    assert_eq!(std::fs::read(&foreign).unwrap(), b"not the store's");
}

#[test]
fn gc_removes_damaged_families_and_keeps_their_objects_for_the_grace_period() {
    let (_tmp, store) = new_store();
    let k = key("cc", &[]);
    let e = entry_with_object(&store, &k, 1, b"out");
    store.record(e).unwrap();
    std::fs::write(family_file(&store, &k), b"garbage").unwrap();
    let r = store.gc(None, None).unwrap();
    assert_eq!((r.damaged_families_removed, r.objects_removed), (1, 0));
    assert_eq!(store.families().unwrap(), vec![]);
}

#[test]
fn clean_empties_the_store_and_nothing_else() {
    let (tmp, store) = new_store();
    let k = key("cc", &[]);
    store.record(entry_with_object(&store, &k, 1, b"out")).unwrap();
    store.set_last(&k.family()).unwrap();
    store.append_log(&record(1, &[b"cc"], Outcome::Ran)).unwrap();
    store.save_fingerprints(&[]).unwrap();
    let foreign = store.dir().join("README");
    std::fs::write(&foreign, b"x").unwrap();
    let outside = tmp.path().join("user-file");
    std::fs::write(&outside, b"mine").unwrap();
    store.clean().unwrap();
    assert_eq!(store.families().unwrap(), vec![]);
    assert!(!store.has_object(&Hash::of(b"out")));
    assert_eq!(store.last(), None);
    assert_eq!(store.read_log().unwrap(), vec![]);
    assert!(std::fs::symlink_metadata(store.dir().join(layout::FINGERPRINTS)).is_err());
    assert!(std::fs::read(&foreign).is_ok() && std::fs::read(&outside).is_ok());
    // Still a working store.
    store.record(small_entry(&k, 2)).unwrap();
    assert_eq!(store.load_family(&k.family()).unwrap().len(), 1);
}
