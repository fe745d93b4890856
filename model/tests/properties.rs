//! Theorems 1, 2 and 6 of notes/model.md: soundness and precision as proptest properties over
//! decoded scenarios, one minimal counterexample per known gap of the shipped tracer, and the
//! proof that the properties can fail (deliberately broken lowerings are caught).
//!
//! `PROPTEST_CASES` sets the number of cases (256 by default; CI's deep run uses thousands).

use model::memfs::MemFs;
use model::program::{Data, Op, PathExpr, Program, Stmt};
use model::run::Run;
use model::scenario::{
    precision, proposed, shipped, show_entry, soundness, Case, Edit, Pipeline, Scenario, PROPOSED,
    ROOT, SHIPPED,
};
use model::Predicate;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestError, TestRunner};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(256)
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..160)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Theorem 1 with the proposed tracer fixes (G1–G5, G7); G6/G8 runs are classified.
    #[test]
    fn soundness_holds_with_the_proposed_fixes(b in bytes()) {
        let sc = Scenario::decode(&b);
        if let Err(e) = soundness(&sc, PROPOSED) {
            prop_assert!(false, "{e}\n{sc}");
        }
    }

    /// Theorem 1 for the tracer and lowering as shipped.
    #[test]
    fn soundness_holds_as_shipped(b in bytes()) {
        let sc = Scenario::decode(&b);
        if let Err(e) = soundness(&sc, SHIPPED) {
            prop_assert!(false, "{e}\n{sc}");
        }
    }

    /// Checking some predicates after the others (`check_views_in_family_deferring`, as the
    /// live checker does with listings read on another thread) decides exactly as checking
    /// them in order: the same first failing predicate, or none.
    #[test]
    fn deferring_predicates_does_not_change_the_verdict(b in bytes(), mask in any::<u64>()) {
        use model::check::{check_views_in_family, check_views_in_family_deferring, NoStdin, Own};
        use model::view::PredicateView;
        let sc = Scenario::decode(&b);
        let entry = shipped(&model::run::run_traced(&sc.program, &sc.s0, ROOT, false));
        let s1 = sc.s1();
        let views = || entry.predicates.iter().map(Predicate::view);
        let siblings = [entry.effects.as_slice()];
        let in_order = check_views_in_family(views(), Own::of(&entry), &siblings, &s1, &NoStdin);
        let n = std::cell::Cell::new(0u32);
        let by_mask = |_: &PredicateView<'_, Vec<u8>>| {
            n.set(n.get() + 1);
            mask >> (n.get() % 64) & 1 == 1
        };
        let listings = |p: &PredicateView<'_, Vec<u8>>| matches!(p, PredicateView::Listing { .. });
        let check = |defer: &dyn Fn(&PredicateView<'_, Vec<u8>>) -> bool| {
            check_views_in_family_deferring(views(), defer, Own::of(&entry), &siblings, &s1, &NoStdin)
        };
        prop_assert_eq!(&check(&by_mask), &in_order, "{}", sc);
        prop_assert_eq!(&check(&listings), &in_order, "{}", sc);
        prop_assert_eq!(&check(&|_| true), &in_order, "{}", sc);
    }

    /// A filesystem that vouches for a listing exactly when `list` would answer its names (as
    /// the live one may, from a listing record) decides every entry as one that never vouches:
    /// vouching may only save the listing, never change a verdict.
    #[test]
    fn vouching_for_listings_truthfully_does_not_change_the_verdict(b in bytes()) {
        use model::check::{check_views_in_family, NoStdin, Own};
        let sc = Scenario::decode(&b);
        let entry = shipped(&model::run::run_traced(&sc.program, &sc.s0, ROOT, false));
        for fs in [sc.s0.clone(), sc.s1()] {
            let views = || entry.predicates.iter().map(Predicate::view);
            let siblings = [entry.effects.as_slice()];
            let listing = check_views_in_family(views(), Own::of(&entry), &siblings, &fs, &NoStdin);
            let vouching = Vouching { fs: &fs, vouched: std::cell::Cell::new(0) };
            let vouched =
                check_views_in_family(views(), Own::of(&entry), &siblings, &vouching, &NoStdin);
            prop_assert_eq!(&vouched, &listing, "{}", sc);
        }
    }

    /// Theorem 2 (given that the entry checks on the state it was recorded on).
    #[test]
    fn precision_holds(b in bytes()) {
        let sc = Scenario::decode(&b);
        if let Err(e) = precision(&sc, PROPOSED) {
            prop_assert!(false, "{e}\n{sc}");
        }
        if let Err(e) = precision(&sc, SHIPPED) {
            prop_assert!(false, "{e}\n{sc}");
        }
    }
}

/// `fs`, vouching for a listing whenever its names are what `list` answers (counted).
struct Vouching<'a> {
    fs: &'a MemFs,
    vouched: std::cell::Cell<u32>,
}

impl model::fs::Fs for Vouching<'_> {
    type Node = usize;
    fn root(&self) -> usize {
        self.fs.root()
    }
    fn lookup(&self, dir: &usize, name: &[u8]) -> Result<Option<usize>, model::Errno> {
        self.fs.lookup(dir, name)
    }
    fn parent(&self, dir: &usize) -> usize {
        self.fs.parent(dir)
    }
    fn meta(&self, node: &usize) -> Result<model::fs::Meta, model::Errno> {
        self.fs.meta(node)
    }
    fn read_link(&self, node: &usize) -> Result<Vec<u8>, model::Errno> {
        self.fs.read_link(node)
    }
    fn content_hash(&self, node: &usize) -> Result<model::Hash, model::Errno> {
        self.fs.content_hash(node)
    }
    fn list(&self, node: &usize) -> Result<Vec<Vec<u8>>, model::Errno> {
        self.fs.list(node)
    }
    fn identity(&self, node: &usize) -> Result<(u64, u64), model::Errno> {
        self.fs.identity(node)
    }
    fn link_count(&self, node: &usize) -> Result<u64, model::Errno> {
        self.fs.link_count(node)
    }
    fn grants(&self, node: &usize, want: u32) -> Result<bool, model::Errno> {
        self.fs.grants(node, want)
    }
    fn vouches_for_listing(&self, node: &usize, names: &[&[u8]]) -> bool {
        let same =
            self.fs.list(node).is_ok_and(|n| n.iter().map(Vec::as_slice).eq(names.iter().copied()));
        self.vouched.set(self.vouched.get() + u32::from(same));
        same
    }
}

/// Vouching happens in the scenarios the property draws: a program that lists a directory
/// and a state where it is unchanged, checked through [`Vouching`], is vouched for.
#[test]
fn the_vouching_property_reaches_a_vouched_listing() {
    use model::check::{check, NoStdin};
    let p = program(vec![Op::List(lit("/p"))]);
    let s0 = fs(&[("/p/a", Some("A"), None)]);
    let entry = shipped(&model::run::run_traced(&p, &s0, ROOT, false));
    let vouching = Vouching { fs: &s0, vouched: std::cell::Cell::new(0) };
    assert!(check(&entry.predicates, &vouching, &NoStdin).holds());
    assert_eq!(vouching.vouched.get(), 1, "{}", show_entry(&entry));
}

fn lit(p: &str) -> PathExpr {
    PathExpr::Lit(p.as_bytes().to_vec())
}

fn fs(entries: &[(&str, Option<&str>, Option<&str>)]) -> MemFs {
    let mut fs = MemFs::new();
    fs.mkdir_p(b"/p");
    for (p, content, link) in entries {
        match (content, link) {
            (Some(c), _) => fs.write(p.as_bytes(), c.as_bytes()),
            (None, Some(t)) => fs.symlink(p.as_bytes(), t.as_bytes()),
            (None, None) => fs.mkdir_p(p.as_bytes()),
        }
    }
    fs
}

fn program(ops: Vec<Op>) -> Program {
    Program { stmts: ops.into_iter().map(Stmt::Do).collect() }
}

/// Asserts that a gap is closed in the shipped pipeline (and the proposed one): the changed
/// tree makes the check fail, so the command reruns.
fn closed(sc: &Scenario) {
    assert_eq!(soundness(sc, SHIPPED), Ok(Case::Vacuous), "{sc}");
    assert_eq!(soundness(sc, PROPOSED), Ok(Case::Vacuous), "{sc}");
}

/// G1 (fixed in the tracer by naming inputs as spelled): `read l` with `l -> a` recorded
/// `Content /p/a`, still true after pointing `l` at `b`. Now `Content /p/l` follows `l`.
#[test]
fn g1_a_retargeted_symlink_is_noticed() {
    let s0 = fs(&[("/p/a", Some("1"), None), ("/p/b", Some("2"), None), ("/p/l", None, Some("a"))]);
    let p = program(vec![Op::Read(lit("l")), Op::Write(lit("out"), Data::Digest)]);
    let edits = vec![Edit::Symlink(b"/p/l".to_vec(), b"b".to_vec())];
    closed(&Scenario { s0, program: p, edits });
}

/// G16 (fixed in the tracer and its mirror, found by the fuzz target): `rename x x/y/z` fails
/// with EINVAL while `x/y` is a directory of `x`. Once `x/y` is a symlink to a directory
/// elsewhere it succeeds, though `x/y/` is still a directory and `x/y/z` still absent. The walks
/// of a rename that fails with EINVAL are now pinned, as a changing call's are.
#[test]
fn g16_a_rename_into_itself_depends_on_the_walk() {
    let s0 = fs(&[("/p/x/y", None, None), ("/p/o", None, None)]);
    let p = program(vec![Op::Rename(lit("x"), lit("x/y/z"))]);
    let edits =
        vec![Edit::Remove(b"/p/x/y".to_vec()), Edit::Symlink(b"/p/x/y".to_vec(), b"../o".to_vec())];
    closed(&Scenario { s0, program: p, edits });
}

/// G17 (fixed in the tracer and its mirror, found by the fuzz target): after `chdir a/..`
/// every relative path is recorded from the directory the chdir landed in (`/p`). Once `a` is
/// a symlink to `o/x`, `a/..` is `/p/o`, whose `f` the run reads, while every predicate about
/// `/p/f` holds. The walk of a chdir is now pinned, as a changing call's is.
#[test]
fn g17_a_chdir_through_dotdot_depends_on_the_walk() {
    let s0 = fs(&[
        ("/p/a", None, None),
        ("/p/f", Some("1"), None),
        ("/p/o/x", None, None),
        ("/p/o/f", Some("2"), None),
    ]);
    let p = program(vec![
        Op::Chdir(lit("a/..")),
        Op::Read(lit("f")),
        Op::Write(lit("/p/out"), Data::Digest),
    ]);
    let edits =
        vec![Edit::Remove(b"/p/a".to_vec()), Edit::Symlink(b"/p/a".to_vec(), b"o/x".to_vec())];
    closed(&Scenario { s0, program: p, edits });
}

/// G25 (fixed in the tracer and its mirror, found by a 200 000-case release run): `chdir b`
/// pinned the directories its walk looked in (G17), not `b` itself. Once `b` is a symlink to
/// `y.h`, where the run wrote `x.c`, the chdir lands in `/p/y.h` and `stat x.c` finds it,
/// while `DoesNotResolve x.c from /p/b` held (checked before the run). A successful chdir now
/// also records that the directory it landed in (canonical) is a directory, not followed.
#[test]
fn g25_a_chdir_depends_on_where_it_lands() {
    let s0 = fs(&[("/p/b", None, None), ("/p/y.h", None, None)]);
    let p = program(vec![
        Op::Write(lit("y.h/x.c"), Data::Lit(b"1".to_vec())),
        Op::Chdir(lit("b")),
        Op::Stat(lit("x.c")),
    ]);
    let edits =
        vec![Edit::Remove(b"/p/b".to_vec()), Edit::Symlink(b"/p/b".to_vec(), b"y.h".to_vec())];
    closed(&Scenario { s0, program: p, edits });
}

/// G9 (fixed in the shipped lowering): appending through a hard link changes the file's other
/// name, which is no effect. A changed file with more names than the effects hold now makes the
/// run uncacheable.
#[test]
fn g9_writing_through_a_hard_link() {
    let s0 = fs(&[("/p/b", Some("1"), None)]);
    let p =
        program(vec![Op::Link(lit("b"), lit("a")), Op::Append(lit("a"), Data::Lit(b"2".to_vec()))]);
    let edits = vec![Edit::Write(b"/p/x".to_vec(), b"".to_vec())];
    let sc = Scenario { s0, program: p, edits };
    assert_eq!(soundness(&sc, SHIPPED), Ok(Case::Uncacheable), "{sc}");
    assert_eq!(soundness(&sc, PROPOSED), Ok(Case::Uncacheable), "{sc}");
}

/// G2 (fixed in the tracer and its mirror): `mkdir x/y` failing with ENOENT recorded only
/// `DoesNotResolve x/y`, still true once `x` exists, when the mkdir succeeds. A name-creating
/// call now records how its directory (`O_DIRECTORY`) and the name (not followed) resolved.
#[test]
fn g2_the_parent_of_a_created_name_is_an_input() {
    let p = program(vec![Op::Mkdir(lit("x/y"))]);
    let edits = vec![Edit::Mkdir(b"/p/x".to_vec())];
    closed(&Scenario { s0: fs(&[]), program: p, edits });
}

/// G3 (fixed for `rmdir` in the tracer and its mirror): a successful `rmdir d` recorded only
/// that `d` is a directory, not that it is empty. It now records the (empty) listing.
#[test]
fn g3_rmdir_depends_on_emptiness() {
    let p = program(vec![Op::Rmdir(lit("d"))]);
    let edits = vec![Edit::Write(b"/p/d/f".to_vec(), b"".to_vec())];
    closed(&Scenario { s0: fs(&[("/p/d", None, None)]), program: p, edits });
}

/// G4 (fixed in the shipped lowering): a file created and removed left no effect and no
/// predicate of its absence; on a tree where it exists, running removes it and replaying kept
/// it. `Lowering::finish` now records `DoesNotResolve` for it.
#[test]
fn g4_created_and_removed_depends_on_absence() {
    let p = program(vec![Op::Write(lit("t"), Data::Lit(b"1".to_vec())), Op::Unlink(lit("t"))]);
    let edits = vec![Edit::Write(b"/p/t".to_vec(), b"0".to_vec())];
    closed(&Scenario { s0: fs(&[]), program: p, edits });
}

/// G5 (fixed in the tracer and its mirror): `append log` on a missing file recorded only
/// `Resolves log` in create mode, true whether or not `log` exists; replay then dropped the old
/// content. An append that creates the file now also records `DoesNotResolve log`.
#[test]
fn g5_append_creating_depends_on_absence() {
    let p = program(vec![Op::Append(lit("log"), Data::Lit(b"x".to_vec()))]);
    let edits = vec![Edit::Write(b"/p/log".to_vec(), b"old".to_vec())];
    closed(&Scenario { s0: fs(&[]), program: p, edits });
}

/// G18 (issue 20, item 7; fixed in the tracer and its mirror): an open for writing without
/// `O_TRUNC` (`touch out`, `dd conv=notrunc`) was recorded as a pure output, its whole final
/// content an effect; a replay over a changed `out` restored the old bytes. The open now reads
/// the prior content as an input, as `O_APPEND` and `O_RDWR` do.
#[test]
fn g18_an_overwrite_in_place_keeps_what_it_does_not_write() {
    let s0 = fs(&[("/p/out", Some("abc"), None)]);
    let p = program(vec![Op::Overwrite(lit("out"), Data::Lit(b"X".to_vec()))]);
    let edits = vec![Edit::Write(b"/p/out".to_vec(), b"123".to_vec())];
    closed(&Scenario { s0, program: p, edits });
}

/// G7 (fixed in the tracer and its mirror): `write y` creating `y` recorded `Resolves y` in
/// create mode, also true when `y` is a dangling symlink, through which the write creates
/// another file. A following create-mode open now also records the non-following resolution.
#[test]
fn g7_create_through_a_dangling_symlink() {
    let p = program(vec![Op::Write(lit("y"), Data::Lit(b"1".to_vec()))]);
    let edits = vec![Edit::Symlink(b"/p/y".to_vec(), b"a".to_vec())];
    closed(&Scenario { s0: fs(&[]), program: p, edits });
}

/// G24 (fixed in the tracer and its mirror): `write a` with `a -> c` and `c` absent creates
/// `c`. G7 records that `a` is a symlink and the pins its target, but nothing said `c` was
/// absent rather than a symlink: once `c -> d/a`, every predicate held, a run creates `d/a`
/// and replay overwrote the symlink `c`. An open that creates its file through a symlink now
/// records how the canonical name it created resolved, not followed (`DoesNotResolve ENOENT`).
#[test]
fn g24_a_file_created_through_a_dangling_symlink_depends_on_its_target() {
    let s0 = fs(&[("/p/d", None, None), ("/p/a", None, Some("c"))]);
    let p = program(vec![Op::Write(lit("a"), Data::Lit(b"1".to_vec()))]);
    let edits = vec![Edit::Symlink(b"/p/c".to_vec(), b"d/a".to_vec())];
    closed(&Scenario { s0, program: p, edits });
}

/// G11 (fixed in the tracer): `rename l out` of a symlink recorded that `l` is a symlink, not
/// its target, which becomes the content of `out`; pointing `l` elsewhere kept every predicate
/// true and replay restored the old target. The rename now records `Readlink l`.
#[test]
fn g11_a_renamed_symlink_keeps_its_target() {
    let s0 = fs(&[("/p/l", None, Some("a"))]);
    let p = program(vec![Op::Rename(lit("l"), lit("out"))]);
    let edits = vec![Edit::Symlink(b"/p/l".to_vec(), b"b".to_vec())];
    closed(&Scenario { s0, program: p, edits });
}

/// G19 (fixed in the tracer and its mirror): `rename a b` of two files replaces `b`; of two
/// names of one file (hard links) it does nothing (the kernel returns 0). Recorded on two
/// files, every predicate still held once `b` was made a hard link of `a` with the same
/// content, and replay removed `a` while running keeps both names. The rename now records
/// whether its two names are one file (`SameFile`).
#[test]
fn g19_a_rename_onto_a_hard_link_of_itself_moves_nothing() {
    let s0 = fs(&[("/p/a", Some(""), None), ("/p/b", Some(""), None)]);
    let p = program(vec![Op::Rename(lit("a"), lit("b"))]);
    let edits = vec![Edit::Link(b"/p/b".to_vec(), b"/p/a".to_vec())];
    closed(&Scenario { s0, program: p, edits });
}

/// G19, the other way: recorded on two names of one file (`s0` made with `MemFs::hard_link`),
/// the rename changed nothing; once they are two files, running removes `a`.
#[test]
fn g19_a_rename_of_two_files_is_not_a_rename_of_hard_links() {
    let mut s0 = fs(&[("/p/a", Some(""), None)]);
    assert!(s0.hard_link(b"/p/b", b"/p/a"));
    let p = program(vec![Op::Rename(lit("a"), lit("b"))]);
    let edits = vec![Edit::Write(b"/p/b".to_vec(), b"".to_vec())];
    closed(&Scenario { s0, program: p, edits });
}

/// G20 (fixed in the tracer and its mirror): a write in place (append, overwrite, truncate)
/// changes every name of the file. Recorded while `a` had one name, the entry still checked
/// once `b` was made a hard link of `a`; running then changes `b` too, while replay writes `a`
/// as a fresh file and leaves `b` as it was. A write in place now records `Links a 1`.
#[test]
fn g20_a_write_in_place_reaches_every_name_of_the_file() {
    let s0 = fs(&[("/p/a", Some("1"), None)]);
    let p = program(vec![Op::Append(lit("a"), Data::Lit(b"2".to_vec()))]);
    let edits = vec![Edit::Link(b"/p/b".to_vec(), b"/p/a".to_vec())];
    closed(&Scenario { s0, program: p, edits });
}

/// G21 (fixed in the tracer and its mirror): `chmod` follows its path and changes the file in
/// place, recorded at its canonical path. With `b` a file, `write d yx; if stat b { chmod 755
/// b }` recorded only `Resolves b` (followed), still true once `b -> d` (the `stat` sees `d`:
/// same kind, mode and size); a run chmods `d`, replay left `b` a 755 regular file. The walk
/// is now pinned and `b`'s own resolution (not followed) recorded.
#[test]
fn g21_a_chmod_through_a_path_that_became_a_symlink() {
    let s0 = fs(&[("/p/b", Some("22"), None)]);
    let p = Program {
        stmts: vec![
            Stmt::Do(Op::Write(lit("d"), Data::Lit(b"yx".to_vec()))),
            Stmt::If {
                op: Op::Stat(lit("b")),
                then: vec![Stmt::Do(Op::Chmod(lit("b"), 0o755))],
                otherwise: vec![],
            },
        ],
    };
    let edits = vec![Edit::Symlink(b"/p/b".to_vec(), b"d".to_vec())];
    closed(&Scenario { s0, program: p, edits });
}

/// G21 for `truncate(2)`, as for `chmod`: the file the path reached is cut in place.
#[test]
fn g21_a_truncate_through_a_path_that_became_a_symlink() {
    let s0 = fs(&[("/p/b", Some("22"), None)]);
    let p = Program {
        stmts: vec![
            Stmt::Do(Op::Write(lit("d"), Data::Lit(b"yx".to_vec()))),
            Stmt::If {
                op: Op::Stat(lit("b")),
                then: vec![Stmt::Do(Op::Truncate(lit("b"), 1))],
                otherwise: vec![],
            },
        ],
    };
    let edits = vec![Edit::Symlink(b"/p/b".to_vec(), b"d".to_vec())];
    closed(&Scenario { s0, program: p, edits });
}

/// G22, the mode half (fixed in the tracer and its mirror): a file appended to keeps its mode,
/// which it then has as an effect; after `chmod 755 a` a replay restored 644 where a run keeps
/// 755. `Links a 1 644` records the prior mode.
#[test]
fn g22_an_output_written_in_place_keeps_the_mode_it_had() {
    let s0 = fs(&[("/p/a", Some("1"), None)]);
    let p = program(vec![Op::Append(lit("a"), Data::Lit(b"2".to_vec()))]);
    let edits = vec![Edit::Chmod(b"/p/a".to_vec(), 0o755)];
    closed(&Scenario { s0, program: p, edits });
}

/// G23 (fixed in the tracer and its mirror): whether `access(X_OK)` succeeds is the file's
/// mode (root needs an execute bit on a regular file). A success or an `EACCES` records the
/// file's metadata; `F_OK` stays a pure resolution.
#[test]
fn g23_an_access_check_depends_on_the_mode() {
    let s0 = fs(&[("/p/a", Some("1"), None)]);
    let p = Program {
        stmts: vec![Stmt::If {
            op: Op::Access(lit("a"), 1),
            then: vec![Stmt::Do(Op::Write(lit("out"), Data::Lit(b"1".to_vec())))],
            otherwise: vec![Stmt::Do(Op::Write(lit("out"), Data::Lit(b"2".to_vec())))],
        }],
    };
    let edits = vec![Edit::Chmod(b"/p/a".to_vec(), 0o755)];
    closed(&Scenario { s0, program: p.clone(), edits });
    // `F_OK` does not depend on the mode: the entry still checks, and replay is right.
    let s0 = fs(&[("/p/a", Some("1"), None)]);
    let mut f_ok = p;
    if let Stmt::If { op, .. } = &mut f_ok.stmts[0] {
        *op = Op::Access(lit("a"), 0);
    }
    let sc = Scenario { s0, program: f_ok, edits: vec![Edit::Chmod(b"/p/a".to_vec(), 0o755)] };
    assert_eq!(soundness(&sc, SHIPPED), Ok(Case::Proved), "{sc}");
}

/// G29 (found by theorem 1 once the model had `chmod`; fixed in the tracer, its mirror and the
/// lowering): a `chmod` of a directory was a `Touch` of it, so the lowering took the whole
/// subtree for the run's output and dropped every later observation below it. `chmod 755
/// a/../.; list b/a` (with `b -> x.c -> a`) recorded no `Listing`; once `/p/a/a/a` existed the
/// check still held and the run listed another name. A chmod of a directory is now a
/// `TouchMode`: an effect at the directory, its subtree still inputs.
#[test]
fn g29_a_chmod_of_a_directory_does_not_make_its_subtree_an_output() {
    let s0 = fs(&[("/p/a/a", None, None), ("/p/b", None, Some("a"))]);
    let p = program(vec![Op::Chmod(lit("a/../."), 0o755), Op::List(lit("b/a"))]);
    let edits = vec![Edit::Write(b"/p/a/a/x".to_vec(), b"1".to_vec())];
    closed(&Scenario { s0, program: p, edits });
}

/// G31 (found by the 100 000-case run of theorem 1, seed 3; fixed in the tracer and its
/// mirror): `chmod 755 y.h/.` with `y.h` a directory recorded the walk's pins and `y.h/.`
/// resolved (followed and not), all still true once `y.h -> .`: the run then chmods `/p`,
/// and replay turned the symlink `y.h` into a directory. The canonical name reached is now
/// resolved unfollowed (`Resolves /p/y.h NOFOLLOW Directory`), as G25 does for `chdir`.
#[test]
fn g31_a_chmod_of_dir_dot_depends_on_the_directory_not_being_a_symlink() {
    let s0 = fs(&[("/p/y.h/a", Some("1"), None)]);
    let p = program(vec![Op::Chmod(lit("y.h/."), 0o755)]);
    let edits = vec![Edit::Symlink(b"/p/y.h".to_vec(), b".".to_vec())];
    closed(&Scenario { s0, program: p, edits });
}

/// G30 (fixed in the tracer, its mirror and the lowering; found by the 100 000-case run of
/// theorem 1 on branch `model-chmod`): `symlink x.c d; lstat d/` with `x.c` absent fails
/// ENOENT through the run's own symlink `d` (a trailing slash follows it); the walk was named
/// canonically as not followed (`d`, the run's own) and dropped, so once `x.c` is a file the
/// check held and the run sees ENOTDIR. A trailing slash now names the walk followed: here it
/// reaches no name that can be checked (a dangling symlink), and the run is uncacheable.
#[test]
fn g30_a_walk_through_the_runs_own_symlink_into_an_input() {
    let s0 = fs(&[("/p/a", Some("1"), None)]);
    let p = program(vec![Op::Symlink(Data::Lit(b"x.c".to_vec()), lit("d")), Op::Lstat(lit("d/"))]);
    let edits = vec![Edit::Write(b"/p/x.c".to_vec(), b"1".to_vec())];
    let sc = Scenario { s0, program: p, edits };
    assert_eq!(soundness(&sc, SHIPPED), Ok(Case::Uncacheable), "{sc}");
}

/// A program that reads a file sees its mode (`fstat`, as `sed -i` copies it): a chmod of an
/// input between runs makes the check fail.
#[test]
fn a_read_depends_on_the_mode_of_the_file_read() {
    let s0 = fs(&[("/p/a", Some("1"), None)]);
    let p = program(vec![Op::Read(lit("a")), Op::Write(lit("out"), Data::Digest)]);
    let edits = vec![Edit::Chmod(b"/p/a".to_vec(), 0o600)];
    closed(&Scenario { s0, program: p, edits });
}

/// G12 (fixed in the tracer and its mirror, `model::walk`): `write d/../out` with `d` a
/// directory recorded `Resolves d/../out` (create mode) and the effect at the canonical
/// `/p/out`; once `d` is a symlink to `x/y`, the resolution still held but the run writes
/// `/p/x/out` while replay restored `/p/out`. A call that changes a path now pins the
/// directories its walk left through `..` (and their canonical prefixes) as non-symlinks.
#[test]
fn g12_dotdot_out_of_a_directory_that_becomes_a_symlink() {
    let s0 = fs(&[("/p/d", None, None), ("/p/x/y", None, None)]);
    let p = program(vec![Op::Write(lit("d/../out"), Data::Lit(b"1".to_vec()))]);
    let edits =
        vec![Edit::Remove(b"/p/d".to_vec()), Edit::Symlink(b"/p/d".to_vec(), b"x/y".to_vec())];
    closed(&Scenario { s0, program: p, edits });
}

/// G15 (fixed in the tracer and its mirror, `model::walk`; found by the fuzz target): a write
/// through `a/b` with `a` a directory, or through `l/b` with `l -> d`, recorded the effect at the
/// canonical `/p/a/b` (`/p/d/b`) and only the outcome of resolving the path; once `a` is a
/// symlink (or `l` points elsewhere) the run writes elsewhere and replay did not. The walk of a
/// changing call is now pinned: the directories it looks in, the symlinks it follows.
#[test]
fn g15_a_write_depends_on_the_walk_to_its_directory() {
    let s0 = fs(&[("/p/a", None, None), ("/p/b", None, None), ("/p/l", None, Some("a"))]);
    for (path, edits) in [
        (
            "a/x",
            vec![Edit::Remove(b"/p/a".to_vec()), Edit::Symlink(b"/p/a".to_vec(), b"b".to_vec())],
        ),
        ("l/x", vec![Edit::Symlink(b"/p/l".to_vec(), b"b".to_vec())]),
    ] {
        let p = program(vec![Op::Write(lit(path), Data::Lit(b"1".to_vec()))]);
        closed(&Scenario { s0: s0.clone(), program: p, edits });
    }
}

/// G13 (fixed in the shipped lowering): `list .; list d/..` kept one `Listing` because both
/// spellings normalise lexically to `/p`; once `d` is a symlink to `x/y`, `d/..` lists `/p/x`.
/// Spellings with `..` are now deduplicated only with themselves.
#[test]
fn g13_spellings_with_dotdot_are_separate_inputs() {
    let s0 = fs(&[("/p/d", None, None), ("/p/x/y", None, None), ("/p/x/f", Some("1"), None)]);
    let p = program(vec![Op::List(lit(".")), Op::List(lit("d/.."))]);
    let edits =
        vec![Edit::Remove(b"/p/d".to_vec()), Edit::Symlink(b"/p/d".to_vec(), b"x/y".to_vec())];
    closed(&Scenario { s0, program: p, edits });
}

/// `renameat2(RENAME_NOREPLACE)` fails with `EEXIST` once the new name exists (whatever it
/// is: here a dangling symlink); the run recorded that it was absent.
#[test]
fn a_rename_without_replacing_depends_on_the_new_name_being_absent() {
    let s0 = fs(&[("/p/a", Some("1"), None)]);
    let p =
        program(vec![Op::RenameNoreplace(lit("a"), lit("b")), Op::Write(lit("out"), Data::Digest)]);
    let edits = vec![Edit::Symlink(b"/p/b".to_vec(), b"nx".to_vec())];
    closed(&Scenario { s0, program: p, edits });
}

/// A `RENAME_EXCHANGE` that succeeds makes the run uncacheable (the tracer does not record
/// it); one that fails (here the new name is missing) is recorded as a rename's failure.
#[test]
fn an_exchange_is_uncacheable_and_a_failed_one_depends_on_both_names() {
    let s0 = fs(&[("/p/a", Some("1"), None), ("/p/b", Some("2"), None)]);
    let p = program(vec![Op::Exchange(lit("a"), lit("b"))]);
    let sc = Scenario { s0, program: p, edits: vec![] };
    assert_eq!(soundness(&sc, SHIPPED), Ok(Case::Uncacheable), "{sc}");
    let s0 = fs(&[("/p/a", Some("1"), None)]);
    let p = program(vec![Op::Exchange(lit("a"), lit("b")), Op::Write(lit("out"), Data::Digest)]);
    closed(&Scenario { s0, program: p, edits: vec![Edit::Write(b"/p/b".to_vec(), b"2".to_vec())] });
}

/// A read-write open over a file changed between the runs sees the new content (recorded as
/// the prior content, so the check fails); one that created its file depends on its absence.
#[test]
fn a_read_write_depends_on_the_prior_content_and_on_absence() {
    let s0 = fs(&[("/p/a", Some("22"), None)]);
    let p = program(vec![Op::ReadWrite(lit("a"), Data::Lit(b"1".to_vec()))]);
    closed(&Scenario { s0, program: p, edits: vec![Edit::Write(b"/p/a".to_vec(), b"2".to_vec())] });
    let p = program(vec![Op::ReadWrite(lit("b"), Data::Lit(b"1".to_vec()))]);
    let edits = vec![Edit::Write(b"/p/b".to_vec(), b"22".to_vec())];
    closed(&Scenario { s0: fs(&[]), program: p, edits });
}

/// `mknod` of an existing name fails; recorded on an absent name, the check fails once it
/// exists. A touch depends on its path resolving.
#[test]
fn mknod_and_touch_depend_on_their_names() {
    let p = program(vec![Op::Mknod(lit("a")), Op::Write(lit("out"), Data::Digest)]);
    let edits = vec![Edit::Mkdir(b"/p/a".to_vec())];
    closed(&Scenario { s0: fs(&[]), program: p, edits });
    let p = program(vec![Op::Touch(lit("a")), Op::Write(lit("out"), Data::Digest)]);
    let edits = vec![Edit::Write(b"/p/a".to_vec(), b"1".to_vec())];
    closed(&Scenario { s0: fs(&[]), program: p, edits });
}

/// G32 (fixed in the tracer and its mirror): a failed exec depends on the file's mode
/// (`EACCES` without an execute bit) and content (`ENOEXEC`, or a `#!` line naming an
/// interpreter: `ENOENT` in the model), not only on its path resolving.
#[test]
fn g32_a_failed_exec_depends_on_the_files_mode_and_content() {
    let mut s0 = fs(&[("/p/a", Some("1"), None)]);
    let mut os = model::ops::Os::new(s0.clone(), b"/").expect("os");
    os.chmod(b"/p/a", 0o755).expect("chmod");
    s0 = os.fs;
    let p = program(vec![Op::Exec(lit("a")), Op::Write(lit("out"), Data::Digest)]);
    let edits = vec![Edit::Chmod(b"/p/a".to_vec(), 0o644)];
    closed(&Scenario { s0: s0.clone(), program: p.clone(), edits });
    let edits = vec![Edit::Write(b"/p/a".to_vec(), b"#!/x".to_vec())];
    closed(&Scenario { s0: s0.clone(), program: p.clone(), edits });
    // A directory fails with EACCES as a file without an execute bit does: its kind counts.
    let edits = vec![Edit::Remove(b"/p/a".to_vec()), Edit::Mkdir(b"/p/a".to_vec())];
    let sc = Scenario { s0, program: p, edits };
    assert!(soundness(&sc, SHIPPED).is_ok(), "{sc}");
}

/// G6 (fixed in the check): a symlink of the input tree that leads into the run's own output
/// (here `d -> x.c`, made between the runs) changes a resolution's outcome mid-run, and "`d`
/// does not resolve" still holds before the run. The check refuses a walk that follows an
/// input symlink into one of the entry's outputs (`model::into_output`).
#[test]
fn g6_a_symlink_into_the_runs_output() {
    let p = program(vec![Op::Append(lit("x.c"), Data::Digest), Op::List(lit("d"))]);
    let edits = vec![Edit::Symlink(b"/p/d".to_vec(), b"x.c".to_vec())];
    let sc = Scenario { s0: fs(&[]), program: p, edits };
    assert_eq!(soundness(&sc, SHIPPED), Ok(Case::Vacuous), "{sc}");
    assert_eq!(soundness(&sc, PROPOSED), Ok(Case::Vacuous), "{sc}");
}

/// G6 for a file the run creates and removes (an output a replay has nothing to do for):
/// `d -> t`, dangling before the run, resolves while `t` exists.
#[test]
fn g6_a_symlink_into_a_file_the_run_created_and_removed() {
    let p =
        program(vec![Op::Write(lit("t"), Data::Digest), Op::Read(lit("d")), Op::Unlink(lit("t"))]);
    let edits = vec![Edit::Symlink(b"/p/d".to_vec(), b"t".to_vec())];
    let sc = Scenario { s0: fs(&[]), program: p, edits };
    assert_eq!(soundness(&sc, SHIPPED), Ok(Case::Vacuous), "{sc}");
}

/// P1 (precision, fixed for the new name by G2): `link` of a directory to a missing name
/// fails with EPERM, and the tracer recorded `DoesNotResolve new EPERM`, which no tree
/// satisfies, so the entry never checked. The tracer's own probe of the new name (ENOENT) now
/// comes first and the misattributed errno is a duplicate.
#[test]
fn p1_a_misattributed_errno_is_never_true() {
    let p = program(vec![Op::Link(lit("d"), lit("n"))]);
    let sc = Scenario { s0: fs(&[("/p/d", None, None)]), program: p, edits: vec![] };
    assert_eq!(precision(&sc, SHIPPED), Ok(Case::Proved));
}

/// The properties can fail: each broken lowering is caught by theorem 1.
fn caught(name: &str, lower: &dyn Fn(&Run) -> model::Entry) {
    caught_biased(name, &|_| {}, lower);
}

/// [`caught`] on scenarios that `bias` adjusts after decoding: a break that needs a rarer
/// scenario (an overwrite of an existing file, then an edit of it) would need hundreds of
/// thousands of plain random ones.
fn caught_biased(name: &str, bias: &dyn Fn(&mut Scenario), lower: &dyn Fn(&Run) -> model::Entry) {
    // A fixed seed: whether a counterexample is found must not depend on luck.
    let config = Config { cases: 20_000, failure_persistence: None, ..Config::default() };
    let rng = proptest::test_runner::TestRng::deterministic_rng(
        proptest::test_runner::RngAlgorithm::ChaCha,
    );
    let mut runner = TestRunner::new_with_rng(config, rng);
    let pipe = Pipeline { fixes: true, lower };
    let decode = |b: &[u8]| {
        let mut sc = Scenario::decode(b);
        bias(&mut sc);
        sc
    };
    let result = runner
        .run(&bytes(), |b| soundness(&decode(&b), pipe).map(drop).map_err(TestCaseError::fail));
    match result {
        Err(TestError::Fail(why, b)) => {
            eprintln!("{name}: caught\n{}\n{why}", decode(&b));
        }
        other => panic!("{name}: the broken lowering was not caught: {other:?}"),
    }
}

fn without(run: &Run, drop: impl Fn(&'static str, &model::observe::Observation) -> bool) -> Run {
    let mut r = run.clone();
    let keep: Vec<bool> = r.obs.iter().zip(&r.origin).map(|(o, c)| !drop(c, o)).collect();
    let mut k = keep.iter();
    r.obs.retain(|_| *k.next().unwrap_or(&true));
    let mut k = keep.iter();
    r.origin.retain(|_| *k.next().unwrap_or(&true));
    r
}

#[test]
fn broken_lowerings_are_caught() {
    caught("drop DoesNotResolve", &|r| {
        let mut e = proposed(r);
        e.predicates.retain(|p| !matches!(p, Predicate::DoesNotResolve { .. }));
        e
    });
    // The program starts by stat'ing the first two regular files of the tree, and an edit
    // makes the first a hard link of the second.
    let stat_two_files = |sc: &mut Scenario| {
        let files: Vec<Vec<u8>> = sc
            .s0
            .snapshot()
            .into_iter()
            .filter_map(|(p, s)| matches!(s, model::memfs::Snap::File { .. }).then_some(p))
            .take(2)
            .collect();
        if let [a, b] = &files[..] {
            for f in [b, a] {
                sc.program.stmts.insert(0, Stmt::Do(Op::Stat(PathExpr::Lit(f.clone()))));
            }
            sc.edits.push(Edit::Link(a.clone(), b.clone()));
        }
    };
    caught_biased("ignore which stat'ed paths were one file", &stat_two_files, &|r| {
        let mut e = proposed(r);
        e.predicates.retain(|p| !matches!(p, Predicate::Identities { .. }));
        e
    });
    caught("ignore listings", &|r| {
        let mut e = proposed(r);
        e.predicates.retain(|p| !matches!(p, Predicate::Listing { .. }));
        e
    });
    // The program starts by changing, in place, the first regular file of the tree with `op`.
    let first_file = |op: fn(PathExpr) -> Op| {
        move |sc: &mut Scenario| {
            let file = sc.s0.snapshot().into_iter().find_map(|(p, s)| match s {
                model::memfs::Snap::File { .. } => Some(p),
                _ => None,
            });
            if let Some(f) = file {
                sc.program.stmts.insert(0, Stmt::Do(op(PathExpr::Lit(f))));
            }
        }
    };
    // Biased since the decoder makes the calls of `Op::ReadWrite` and after: 20 000 plain
    // scenarios no longer met an append onto a file an edit changed.
    let append_first_file = first_file(|f| Op::Append(f, Data::Lit(b"1".to_vec())));
    caught_biased("O_APPEND as a pure output", &append_first_file, &|r| {
        proposed(&without(r, |call, o| {
            // The prior file's content and (G22) its metadata.
            call == "append"
                && matches!(
                    o,
                    model::observe::Observation::Read { .. }
                        | model::observe::Observation::Stat { .. }
                )
        }))
    });
    let overwrite_first_file = first_file(|f| Op::Overwrite(f, Data::Lit(Vec::new())));
    caught_biased("O_WRONLY without O_TRUNC as a pure output", &overwrite_first_file, &|r| {
        proposed(&without(r, |call, o| {
            // The prior file's content and (G22) its metadata.
            call == "overwrite"
                && matches!(
                    o,
                    model::observe::Observation::Read { .. }
                        | model::observe::Observation::Stat { .. }
                )
        }))
    });
    let read_write_first_file = first_file(|f| Op::ReadWrite(f, Data::Lit(Vec::new())));
    caught_biased("O_RDWR without O_TRUNC as a pure output", &read_write_first_file, &|r| {
        proposed(&without(r, |call, o| {
            call == "readwrite"
                && matches!(
                    o,
                    model::observe::Observation::Read { .. }
                        | model::observe::Observation::Stat { .. }
                )
        }))
    });
}

/// The decoder reaches every outcome, with and without a changed tree.
#[test]
fn scenarios_reach_every_case() {
    let mut seen = std::collections::BTreeSet::new();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..2000 {
        let mut b = Vec::new();
        for _ in 0..(seed % 150) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            b.push((seed >> 32) as u8);
        }
        let sc = Scenario::decode(&b);
        let changed = sc.s1().snapshot() != sc.s0.snapshot();
        if let Ok(c) = soundness(&sc, PROPOSED) {
            seen.insert(format!("{c:?}/{changed}"));
        }
    }
    for want in ["Proved/true", "Proved/false", "Vacuous/true", "Uncacheable/false"] {
        assert!(seen.contains(want), "{want} never reached: {seen:?}");
    }
    let _ = show_entry;
}

/// The example of notes/model.md, kept compiling and true.
#[test]
fn the_notes_example_holds() {
    let mut s0 = MemFs::new();
    s0.write(b"/p/inc2/a.h", b"2");
    s0.mkdir_p(b"/p/inc1");
    let program = Program {
        stmts: vec![
            Stmt::If {
                op: Op::Read(lit("inc1/a.h")),
                then: vec![],
                otherwise: vec![Stmt::Do(Op::Read(lit("inc2/a.h")))],
            },
            Stmt::Do(Op::Write(lit("out"), Data::Digest)),
        ],
    };
    let edits = vec![Edit::Write(b"/p/inc1/a.h".to_vec(), b"1".to_vec())];
    let sc = Scenario { s0, program, edits };
    assert_eq!(soundness(&sc, SHIPPED), Ok(Case::Vacuous), "{sc}");
    assert_eq!(precision(&sc, SHIPPED), Ok(Case::Vacuous), "{sc}");
}

/// A program that opens `dir`, makes the calls `between`, then reads `f` through the fd (and
/// writes what it saw to `out`).
fn through_dirfd(dir: &str, between: Vec<Op>) -> Program {
    let mut ops = vec![Op::OpenDir(lit(dir))];
    ops.extend(between);
    ops.extend([Op::ReadAt(0, b"f".to_vec()), Op::Write(lit("out"), Data::Digest)]);
    program(ops)
}

/// A directory renamed by the program after it was opened: `openat` still reads from it (now
/// `e`). Renaming an input directory is uncacheable; one the run made is its own.
#[test]
fn g33_a_directory_renamed_after_it_was_opened() {
    let s0 = fs(&[("/p/d/f", Some("A"), None)]);
    let p = through_dirfd("d", vec![Op::Rename(lit("d"), lit("e"))]);
    let edits = vec![Edit::Write(b"/p/d/f".to_vec(), b"B".to_vec())];
    let sc = Scenario { s0, program: p, edits };
    assert_eq!(soundness(&sc, SHIPPED), Ok(Case::Uncacheable), "{sc}");
    // The run's own directory, renamed and replaced by another of its own.
    let p = program(vec![
        Op::Mkdir(lit("d")),
        Op::Write(lit("d/f"), Data::Lit(b"1".to_vec())),
        Op::OpenDir(lit("d")),
        Op::Rename(lit("d"), lit("e")),
        Op::Mkdir(lit("d")),
        Op::Write(lit("d/f"), Data::Lit(b"2".to_vec())),
        Op::ReadAt(0, b"f".to_vec()),
        Op::Write(lit("out"), Data::Digest),
    ]);
    let edits = vec![Edit::Write(b"/p/x".to_vec(), b"B".to_vec())];
    let sc = Scenario { s0: fs(&[]), program: p, edits };
    assert!(soundness(&sc, SHIPPED).is_ok(), "{sc}");
}

/// G33 (fixed in the tracer and its mirror): `opendir l` with `l -> d`, then the program points
/// `l` at `e`: `openat(fd, "f")` reads `d/f`, but the tracer named it from the fd's spelled
/// path `l`, which now leads to `e` (`Content e/f` once canonically named, or `e/f` does not
/// resolve). Once `d/f` changed between the runs every predicate held and the replay wrote
/// what the old `d/f` gave. A path relative to a dir fd whose spelling met a change of the run
/// since the open is now uncacheable.
#[test]
fn g33_a_symlink_retargeted_after_the_directory_was_opened() {
    let retarget = vec![Op::Unlink(lit("l")), Op::Symlink(Data::Lit(b"e".to_vec()), lit("l"))];
    let edits = vec![Edit::Write(b"/p/d/f".to_vec(), b"C".to_vec())];
    // `e/f` has the content `d/f` had: its `Content` predicate holds.
    let s0 =
        fs(&[("/p/d/f", Some("A"), None), ("/p/e/f", Some("A"), None), ("/p/l", None, Some("d"))]);
    let sc = Scenario { s0, program: through_dirfd("l", retarget.clone()), edits: edits.clone() };
    assert_eq!(soundness(&sc, SHIPPED), Ok(Case::Uncacheable), "{sc}");
    assert_eq!(soundness(&sc, PROPOSED), Ok(Case::Uncacheable), "{sc}");
    // `e/f` absent: the tracer's own look fails and is all it records.
    let s0 = fs(&[("/p/d/f", Some("A"), None), ("/p/e", None, None), ("/p/l", None, Some("d"))]);
    let sc = Scenario { s0, program: through_dirfd("l", retarget), edits };
    assert_eq!(soundness(&sc, SHIPPED), Ok(Case::Uncacheable), "{sc}");
}

/// Edits between the runs that retarget the symlink a directory was opened through, or replace
/// the directory: the path as spelled is checked again, so the command reruns.
#[test]
fn g33_edits_that_retarget_or_replace_the_opened_directory() {
    let s0 =
        fs(&[("/p/d/f", Some("A"), None), ("/p/e/f", Some("B"), None), ("/p/l", None, Some("d"))]);
    let p = through_dirfd("l", vec![]);
    let edits = vec![Edit::Symlink(b"/p/l".to_vec(), b"e".to_vec())];
    closed(&Scenario { s0: s0.clone(), program: p.clone(), edits });
    let edits = vec![
        Edit::Remove(b"/p/d".to_vec()),
        Edit::Mkdir(b"/p/d".to_vec()),
        Edit::Write(b"/p/d/f".to_vec(), b"C".to_vec()),
    ];
    closed(&Scenario { s0: s0.clone(), program: p, edits: edits.clone() });
    let p = through_dirfd("d", vec![Op::Stat(lit("d/f"))]);
    closed(&Scenario { s0: s0.clone(), program: p, edits });
    // Opened through `l`, read after the program retargeted it, `l` edited between the runs.
    let retarget = vec![Op::Unlink(lit("l")), Op::Symlink(Data::Lit(b"e".to_vec()), lit("l"))];
    let edits = vec![Edit::Symlink(b"/p/l".to_vec(), b"e".to_vec())];
    let sc = Scenario { s0, program: through_dirfd("l", retarget), edits };
    assert!(soundness(&sc, SHIPPED).is_ok(), "{sc}");
}

/// A directory the run made, opened, then filled: `openat` of what the run wrote there is the
/// run's own (the walk of the spelled path met only changes made before the open).
#[test]
fn g33_a_directory_the_run_made_and_filled_through_its_fd_stays_cacheable() {
    let p = program(vec![
        Op::Mkdir(lit("d")),
        Op::OpenDir(lit("d")),
        Op::Write(lit("d/f"), Data::Lit(b"1".to_vec())),
        Op::ReadAt(0, b"f".to_vec()),
        Op::StatAt(0, b"g".to_vec()),
        Op::Write(lit("out"), Data::Digest),
    ]);
    let edits = vec![Edit::Write(b"/p/x".to_vec(), b"B".to_vec())];
    let sc = Scenario { s0: fs(&[]), program: p, edits };
    assert_eq!(soundness(&sc, SHIPPED), Ok(Case::Proved), "{sc}");
}
