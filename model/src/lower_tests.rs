//! One test per lowering rule of SPEC §3, on synthetic observation sequences.

use super::*;
use crate::errno::Errno;
use crate::fs::Meta;
use crate::observe::At;

const ROOT: &[u8] = b"/p";

fn at(path: &str) -> At {
    At::new(ROOT, path.as_bytes())
}

fn resolve(path: &str, outcome: Result<FileKind, Errno>) -> Observation {
    Observation::Resolve {
        at: at(path),
        flags: ResolveFlags::FOLLOW,
        outcome,
        opened_for_read: true,
    }
}

fn read(path: &str, content: &[u8]) -> Observation {
    Observation::Read { path: path.as_bytes().to_vec(), hash: Hash::of(content) }
}

fn touch(path: &str, before: Option<FileKind>) -> Observation {
    Observation::Touch { path: path.as_bytes().to_vec(), before }
}

fn file(content: &[u8]) -> Final {
    Final::File { hash: Hash::of(content), mode: 0o644, shared_inode: None, links: 1 }
}

fn lower(obs: Vec<Observation>, finals: &[(&str, Final)]) -> Lowered {
    let mut l = Lowering::new();
    for o in &obs {
        l.observe(o);
    }
    let finals = finals.iter().map(|(p, f)| (p.as_bytes().to_vec(), f.clone())).collect();
    l.finish(ROOT, &finals)
}

fn content_paths(l: &Lowered) -> Vec<String> {
    l.predicates
        .iter()
        .filter_map(|p| match p {
            Predicate::Content { path, .. } => Some(String::from_utf8_lossy(path).into_owned()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_read_of_something_the_command_wrote_earlier_is_not_an_input() {
    let l = lower(
        vec![
            touch("/p/t", None),
            resolve("t", Ok(FileKind::Regular)),
            read("/p/t", b"mine"),
            read("/p/in", b"theirs"),
        ],
        &[("/p/t", file(b"mine"))],
    );
    assert_eq!(content_paths(&l), vec!["/p/in"]);
    assert_eq!(l.predicates.len(), 1, "the resolve of t after writing it is dropped too");
    assert_eq!(
        l.effects,
        vec![Effect::File { path: b"/p/t".to_vec(), hash: Hash::of(b"mine"), mode: 0o644 }]
    );
}

#[test]
fn below_a_directory_the_command_created_nothing_is_an_input() {
    let l = lower(
        vec![touch("/p/out", None), resolve("out/x", Err(Errno::ENOENT))],
        &[("/p/out", Final::Dir { mode: 0o755 })],
    );
    assert!(l.predicates.is_empty(), "{:?}", l.predicates);
}

#[test]
fn a_file_created_and_removed_leaves_only_its_absence_and_its_probe_stays() {
    let l = lower(
        vec![
            resolve("tmp", Err(Errno::ENOENT)),
            touch("/p/tmp", None),
            touch("/p/tmp", Some(FileKind::Regular)),
        ],
        &[("/p/tmp", Final::Absent)],
    );
    // The absence is an output a replay has nothing to do for, which a walk through an input
    // symlink must not reach (gap G6).
    assert_eq!(l.effects, vec![Effect::Absent { path: b"/p/tmp".to_vec() }]);
    assert_eq!(l.predicates.len(), 1);
    assert!(matches!(l.predicates[0], Predicate::DoesNotResolve { errno: Errno::ENOENT, .. }));
}

#[test]
fn opening_an_existing_file_for_append_makes_its_prior_content_an_input() {
    // The tracer reports the pre-write content (Read) before the Touch.
    let l = lower(
        vec![
            resolve("log", Ok(FileKind::Regular)),
            read("/p/log", b"old"),
            touch("/p/log", Some(FileKind::Regular)),
        ],
        &[("/p/log", file(b"oldnew"))],
    );
    assert_eq!(content_paths(&l), vec!["/p/log"]);
    assert_eq!(l.effects.len(), 1);
}

#[test]
fn rename_leaves_the_source_absent_and_the_target_with_its_content() {
    let l = lower(
        vec![read("/p/a", b"payload"), touch("/p/a", Some(FileKind::Regular)), touch("/p/b", None)],
        &[("/p/a", Final::Absent), ("/p/b", file(b"payload"))],
    );
    assert_eq!(content_paths(&l), vec!["/p/a"]);
    assert_eq!(
        l.effects,
        vec![
            Effect::Absent { path: b"/p/a".to_vec() },
            Effect::File { path: b"/p/b".to_vec(), hash: Hash::of(b"payload"), mode: 0o644 },
        ]
    );
}

#[test]
fn hard_links_are_kept_as_links_and_dirs_and_symlinks_are_effects() {
    let shared = |c: &[u8]| Final::File {
        hash: Hash::of(c),
        mode: 0o644,
        shared_inode: Some((1, 9)),
        links: 2,
    };
    let l = lower(
        vec![
            touch("/p/x", None),
            touch("/p/y", None),
            touch("/p/d", None),
            touch("/p/l", None),
            touch("/p/gone", Some(FileKind::Directory)),
        ],
        &[
            ("/p/x", shared(b"s")),
            ("/p/y", shared(b"s")),
            ("/p/d", Final::Dir { mode: 0o700 }),
            ("/p/l", Final::Symlink { target: b"x".to_vec(), links: 1 }),
            ("/p/gone", Final::Absent),
        ],
    );
    assert_eq!(
        l.effects,
        vec![
            Effect::Absent { path: b"/p/gone".to_vec() },
            Effect::Dir { path: b"/p/d".to_vec(), mode: 0o700 },
            Effect::Symlink { path: b"/p/l".to_vec(), target: b"x".to_vec() },
            Effect::File { path: b"/p/x".to_vec(), hash: Hash::of(b"s"), mode: 0o644 },
            Effect::HardLink { path: b"/p/y".to_vec(), to: b"/p/x".to_vec() },
        ]
    );
    assert!(l.uncacheable.is_empty(), "both names of the file are effects: {:?}", l.uncacheable);
}

#[test]
fn a_changed_file_with_a_name_outside_the_effects_is_uncacheable() {
    // G9: `ln b a; echo 2 >> a` changes `b` too, and `b` is no effect.
    let linked =
        Final::File { hash: Hash::of(b"12"), mode: 0o644, shared_inode: Some((1, 9)), links: 2 };
    let l = lower(vec![touch("/p/a", None)], &[("/p/a", linked)]);
    assert_eq!(
        l.uncacheable,
        vec![Uncacheable::Unsupported {
            what: "changed /p/a, which has hard links the run did not change".to_string()
        }]
    );
}

#[test]
fn proc_sys_and_dev_are_not_predicates_and_dev_null_is_harmless() {
    let l = lower(
        vec![
            resolve("/proc/self/status", Ok(FileKind::Regular)),
            read("/proc/self/status", b"x"),
            resolve("/sys/kernel", Ok(FileKind::Directory)),
            resolve("/dev/null", Ok(FileKind::Other)),
            touch("/dev/null", Some(FileKind::Other)),
            Observation::Stat {
                path: b"/dev/tty".to_vec(),
                meta: Meta { kind: FileKind::Other, mode: 0o666, size_bytes: 0 },
                id: Some((1, 2)),
            },
        ],
        &[],
    );
    assert!(l.predicates.is_empty(), "{:?}", l.predicates);
    assert!(l.effects.is_empty());
    assert!(l.uncacheable.is_empty());
}

#[test]
fn reading_urandom_makes_the_run_uncacheable_but_a_stat_does_not() {
    let stat = Observation::Resolve {
        at: at("/dev/urandom"),
        flags: ResolveFlags::FOLLOW,
        outcome: Ok(FileKind::Other),
        opened_for_read: false,
    };
    assert!(lower(vec![stat], &[]).uncacheable.is_empty());
    let l = lower(vec![resolve("/dev/urandom", Ok(FileKind::Other))], &[]);
    assert_eq!(l.uncacheable, vec![Uncacheable::Random { path: b"/dev/urandom".to_vec() }]);
}

#[test]
fn network_and_interactive_stdin_make_the_run_uncacheable() {
    let l = lower(
        vec![
            Observation::Uncacheable(Uncacheable::Network),
            Observation::Uncacheable(Uncacheable::InteractiveStdin),
            Observation::Uncacheable(Uncacheable::Network),
        ],
        &[],
    );
    assert_eq!(l.uncacheable, vec![Uncacheable::Network, Uncacheable::InteractiveStdin]);
}

#[test]
fn stdin_from_a_regular_file_is_an_input() {
    let h = Hash::of(b"input");
    let l =
        lower(vec![Observation::StdinFile { hash: h }, Observation::StdinFile { hash: h }], &[]);
    assert_eq!(l.predicates, vec![Predicate::Stdin { hash: h }]);
}

#[test]
fn stdin_is_recorded_once_and_a_skipped_childs_stdin_is_not_the_parents() {
    use crate::predicate::StdinKind;
    // The command started with /dev/null on stdin; a later read of a file changes nothing.
    let mut l = Lowering::new();
    l.observe(&Observation::StdinIs { kind: StdinKind::Null });
    l.observe(&Observation::StdinFile { hash: Hash::of(b"x") });
    // A child skipped in place had a here-document on its stdin: its own business.
    l.absorb(&[Predicate::Stdin { hash: Hash::of(b"hello") }], &[]);
    l.absorb(&[Predicate::StdinIs { kind: StdinKind::Terminal }], &[]);
    let l = l.finish(ROOT, &Default::default());
    assert_eq!(l.predicates, vec![Predicate::StdinIs { kind: StdinKind::Null }]);
}

#[test]
fn a_listing_describes_the_directory_before_the_run() {
    let l = lower(
        vec![
            touch("/p/src/new.c", None),
            touch("/p/src/old.c", Some(FileKind::Regular)),
            Observation::List {
                dir: b"/p/src".to_vec(),
                names: vec![b"a.c".to_vec(), b"new.c".to_vec()],
            },
        ],
        &[("/p/src/new.c", file(b"n")), ("/p/src/old.c", Final::Absent)],
    );
    assert_eq!(
        l.predicates,
        vec![Predicate::Listing {
            dir: b"/p/src".to_vec(),
            names: vec![b"a.c".to_vec(), b"old.c".to_vec()]
        }]
    );
}

#[test]
fn changes_outside_the_root_are_uncacheable_unless_removed_temporaries() {
    let l = lower(
        vec![touch("/tmp/cc1.s", None), touch("/tmp/cc1.s", Some(FileKind::Regular))],
        &[("/tmp/cc1.s", Final::Absent)],
    );
    assert!(l.uncacheable.is_empty());
    let l = lower(vec![touch("/home/u/.cache/x", None)], &[("/home/u/.cache/x", file(b"x"))]);
    assert_eq!(
        l.uncacheable,
        vec![Uncacheable::OutsideRoot { path: b"/home/u/.cache/x".to_vec() }]
    );
}

#[test]
fn renaming_a_directory_the_run_did_not_create_is_unsupported() {
    let l = lower(
        vec![
            touch("/p/d", Some(FileKind::Directory)),
            touch("/p/e", None),
            Observation::TouchTree { from: b"/p/d".to_vec(), path: b"/p/e".to_vec() },
        ],
        &[("/p/e", Final::Dir { mode: 0o755 })],
    );
    assert!(matches!(l.uncacheable.as_slice(), [Uncacheable::Unsupported { .. }]));
    let l = lower(
        vec![
            touch("/p/d", None),
            touch("/p/e", None),
            Observation::TouchTree { from: b"/p/d".to_vec(), path: b"/p/e".to_vec() },
        ],
        &[("/p/e", Final::Dir { mode: 0o755 })],
    );
    assert!(l.uncacheable.is_empty());
}

#[test]
fn the_first_observation_of_a_fact_wins() {
    let l = lower(
        vec![
            read("/p/a", b"1"),
            read("/p/a", b"2"),
            resolve("a", Ok(FileKind::Regular)),
            resolve("a", Ok(FileKind::Regular)),
        ],
        &[],
    );
    assert_eq!(l.predicates.len(), 2);
    assert_eq!(
        l.predicates[0],
        Predicate::Content { path: b"/p/a".to_vec(), hash: Hash::of(b"1") }
    );
}

#[test]
fn unknown_syscalls_are_counted() {
    let l = lower(
        vec![Observation::UnknownSyscall { nr: 999 }, Observation::UnknownSyscall { nr: 999 }],
        &[],
    );
    assert_eq!(l.unknown_syscalls, vec![(999, 2)]);
}

#[test]
fn a_stat_of_urandom_does_not_hide_a_later_read_of_it() {
    let stat = Observation::Resolve {
        at: at("/dev/urandom"),
        flags: ResolveFlags::FOLLOW,
        outcome: Ok(FileKind::Other),
        opened_for_read: false,
    };
    let l = lower(vec![stat, resolve("/dev/urandom", Ok(FileKind::Other))], &[]);
    assert_eq!(l.uncacheable, vec![Uncacheable::Random { path: b"/dev/urandom".to_vec() }]);
}

#[test]
fn resolutions_differing_only_in_base_or_flags_are_distinct_facts() {
    let with = |base: &str, flags: ResolveFlags| Observation::Resolve {
        at: At { base: base.as_bytes().to_vec(), path: b"a".to_vec() },
        flags,
        outcome: Ok(FileKind::Regular),
        opened_for_read: false,
    };
    let nofollow = ResolveFlags { follow: false, ..ResolveFlags::FOLLOW };
    let directory = ResolveFlags { directory: true, ..ResolveFlags::FOLLOW };
    let l = lower(
        vec![
            with("/p", ResolveFlags::FOLLOW),
            with("/p", nofollow),
            with("/p", directory),
            with("/q", ResolveFlags::FOLLOW),
            with("/p", nofollow),
            with("/q", ResolveFlags::FOLLOW),
        ],
        &[],
    );
    assert_eq!(l.predicates.len(), 4, "{:?}", l.predicates);
}

#[test]
fn a_path_spelled_with_dot_dot_is_its_own_fact_and_dots_are_not() {
    let stat = |p: &str| Observation::Stat {
        path: p.as_bytes().to_vec(),
        meta: crate::fs::Meta { kind: FileKind::Regular, mode: 0o644, size_bytes: 1 },
        id: Some((1, 2)),
    };
    let l = lower(vec![stat("/p/a"), stat("/p/./a"), stat("/p//a/"), stat("/p/d/../a")], &[]);
    // Two metadata facts, and that both spellings reached one file.
    assert_eq!(l.predicates.len(), 3, "{:?}", l.predicates);
    let one = vec![b"/p/a".to_vec(), b"/p/d/../a".to_vec()];
    assert_eq!(l.predicates[2], Predicate::Identities { groups: one });
}
