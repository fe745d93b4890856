//! `decide_stored` (the family read in place, only the winner copied out) decides exactly as
//! `decide` over the deserialized family, in each way a family can be: the newest entry holds,
//! an older one does, one holds only by the output rule, the newest is uncacheable or another
//! key's, the file is corrupt or absent.

use super::*;
use crate::check::{Fingerprints, LiveStdin};
use model::check::Rules;
use model::entry::{Captured, ExitStatus, Uncacheable};
use model::{Effect, FileKind, Hash, Predicate};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

struct Project {
    _tmp: tempfile::TempDir,
    root: Vec<u8>,
    store: Store,
}

fn project() -> Project {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().canonicalize().expect("canonical").join("p");
    std::fs::create_dir(&root).expect("mkdir");
    std::fs::write(root.join("a"), b"A").expect("write");
    let store = Store::open(&tmp.path().join("store")).expect("store");
    Project { root: root.as_os_str().as_bytes().to_vec(), _tmp: tmp, store }
}

fn key(p: &Project, env: &[(&str, &str)]) -> CommandKey {
    let env = env.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()));
    CommandKey::new(
        b"/bin/x".to_vec(),
        Hash::of(b"x"),
        vec![b"x".to_vec()],
        p.root.clone(),
        env,
        &[],
    )
}

fn abs(p: &Project, name: &str) -> Vec<u8> {
    let mut v = p.root.clone();
    v.push(b'/');
    v.extend_from_slice(name.as_bytes());
    v
}

/// An entry of `key` that read `a` with content `a` and listed the root as `names`, and wrote
/// `out` (content "O") unless `writes` is false.
fn entry(p: &Project, key: &CommandKey, at: u64, a: &[u8], names: &[&str], writes: bool) -> Entry {
    let effects = if writes {
        vec![Effect::File { path: abs(p, "out"), hash: Hash::of(b"O"), mode: 0o644 }]
    } else {
        Vec::new()
    };
    Entry {
        key: key.clone(),
        predicates: vec![
            Predicate::Resolves {
                path: b"a".to_vec(),
                base: p.root.clone(),
                flags: model::resolve::ResolveFlags::FOLLOW,
                to: FileKind::Regular,
            },
            Predicate::Content { path: abs(p, "a"), hash: Hash::of(a) },
            Predicate::Listing {
                dir: p.root.clone(),
                names: names.iter().map(|n| n.as_bytes().to_vec()).collect(),
            },
        ],
        effects,
        effects_since: vec![],
        stdout: Captured { hash: Hash::of(b""), size_bytes: 0 },
        stderr: Captured { hash: Hash::of(b""), size_bytes: 0 },
        exit: ExitStatus::Code(0),
        run_ns: 1,
        recorded_unix_ns: at,
        uncacheable: Vec::new(),
        unknown_syscalls: Vec::new(),
    }
}

/// Both deciders' answers, as (recorded_unix_ns of the replayed entry | reason to run).
fn both(p: &Project, key: &CommandKey) -> (Result<u64, String>, Result<u64, String>, usize) {
    both_under(p, key, Rules::OutputsIdempotent)
}

/// [`both`] under `rules`.
fn both_under(
    p: &Project,
    key: &CommandKey,
    rules: Rules,
) -> (Result<u64, String>, Result<u64, String>, usize) {
    let mut warnings = 0;
    let mut fps = Fingerprints::new();
    let stdin = LiveStdin::new();
    let live = LiveFs::new(&mut fps);
    let stored =
        match decide_stored(&p.store, key, &p.root, &live, &stdin, (rules, None), &mut |_| {
            warnings += 1
        }) {
            Decided::Replay(e) => {
                assert!(e.predicates.is_empty(), "the winner is copied out without predicates");
                Ok(e.recorded_unix_ns)
            }
            Decided::Run(r) => Err(r),
        };
    let entries = p.store.load_family(&key.family()).unwrap_or_default();
    let mut fps = Fingerprints::new();
    let owned = match decide(&entries, key, &p.root, &LiveFs::new(&mut fps), &stdin, (rules, None))
    {
        Decision::Replay(i) => Ok(entries[i].recorded_unix_ns),
        Decision::Run(r) => Err(r),
    };
    (stored, owned, warnings)
}

#[test]
fn the_newest_holding_entry_is_replayed_with_its_outcome() {
    let p = project();
    let k = key(&p, &[]);
    p.store.record(entry(&p, &k, 1, b"A", &["a"], false)).expect("record");
    let (stored, owned, _) = both(&p, &k);
    assert_eq!((stored, owned), (Ok(1), Ok(1)));
    let mut fps = Fingerprints::new();
    let d = decide_stored(
        &p.store,
        &k,
        &p.root,
        &LiveFs::new(&mut fps),
        &LiveStdin::new(),
        (Rules::default(), None),
        &mut |_| (),
    );
    let Decided::Replay(e) = d else { panic!("{d:?}") };
    let mut expected = entry(&p, &k, 1, b"A", &["a"], false);
    expected.predicates.clear();
    assert_eq!(*e, expected, "everything but the predicates is copied out");
}

#[test]
fn a_failing_newest_entry_falls_back_to_an_older_one_that_holds() {
    let p = project();
    let k = key(&p, &[]);
    p.store.record(entry(&p, &k, 1, b"A", &["a"], false)).expect("record");
    p.store.record(entry(&p, &k, 2, b"B", &["a"], false)).expect("record");
    assert_eq!(both(&p, &k), (Ok(1), Ok(1), 0));
    std::fs::write(Path::new(std::ffi::OsStr::from_bytes(&abs(&p, "a"))), b"C").expect("write");
    let (stored, owned, _) = both(&p, &k);
    assert!(stored.as_ref().is_err_and(|r| r.contains("content changed")), "{stored:?}");
    assert_eq!(stored, owned);
}

#[test]
fn an_entry_that_holds_only_by_the_output_rule_is_replayed() {
    let p = project();
    let k = key(&p, &[]);
    // Recorded before `out` existed; `out` is now there exactly as the entry left it.
    p.store.record(entry(&p, &k, 1, b"A", &["a"], true)).expect("record");
    std::fs::write(Path::new(std::ffi::OsStr::from_bytes(&abs(&p, "out"))), b"O").expect("write");
    std::fs::set_permissions(
        Path::new(std::ffi::OsStr::from_bytes(&abs(&p, "out"))),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .expect("chmod");
    assert_eq!(both(&p, &k), (Ok(1), Ok(1), 0));
    // Strictly, the listing has a name it did not have: both deciders run.
    let (stored, owned, _) = both_under(&p, &k, Rules::Strict);
    assert!(stored.as_ref().is_err_and(|r| r.contains("out")), "{stored:?}");
    assert_eq!(stored, owned);
    // Any other new name is a change.
    std::fs::write(Path::new(std::ffi::OsStr::from_bytes(&abs(&p, "new"))), b"").expect("write");
    let (stored, owned, _) = both(&p, &k);
    assert!(stored.as_ref().is_err_and(|r| r.contains("new")), "{stored:?}");
    assert_eq!(stored, owned);
}

#[test]
fn uncacheable_and_foreign_newest_entries_decide_as_the_owned_path_does() {
    let p = project();
    let k = key(&p, &[]);
    let other = key(&p, &[("CC", "clang")]);
    assert_eq!(k.family(), other.family());
    p.store.record(entry(&p, &k, 1, b"A", &["a"], false)).expect("record");
    // (Other inputs than entry 1's: retention drops an older run with the same predicates.)
    let mut failed = entry(&p, &k, 2, b"Z", &["a"], false);
    failed.uncacheable = vec![Uncacheable::Failed];
    p.store.record(failed).expect("record");
    p.store.record(entry(&p, &other, 3, b"A", &["a"], false)).expect("record");
    assert_eq!(both(&p, &k), (Ok(1), Ok(1), 0));
    assert_eq!(both(&p, &other), (Ok(3), Ok(3), 0));
    let lone = key(&p, &[("CC", "gcc")]);
    let (stored, owned, _) = both(&p, &lone);
    assert!(stored.is_err(), "{stored:?}");
    assert_eq!(stored, owned);
}

#[test]
fn a_corrupt_or_missing_database_is_a_miss_and_a_warning() {
    let p = project();
    let k = key(&p, &[]);
    assert_eq!(
        both(&p, &k),
        (Err("no entry for this command".into()), Err("no entry for this command".into()), 0)
    );
    p.store.record(entry(&p, &k, 1, b"A", &["a"], false)).expect("record");
    let file = p.store.dir().join("entries").join(k.family().to_hex());
    let mut bytes = std::fs::read(&file).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&file, bytes).expect("write");
    let (stored, _, warnings) = both(&p, &k);
    assert_eq!((stored, warnings), (Err("no entry for this command".into()), 1));
}
