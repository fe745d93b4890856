//! Permission bits as inputs (G21–G24 of notes/model.md): a replay must leave what a rerun
//! leaves when only a mode, or a symlink on the way to a file changed in place, differs. Each
//! test failed before its fix (a replay where a run behaves otherwise).

use super::harness::{Project, Run};
use std::os::unix::fs::{symlink, PermissionsExt};

/// Runs `dry build -v --strict -- sh -c SCRIPT`.
fn strict(p: &Project, script: &str) -> Run {
    let args = ["build", "-v", "--strict", "--", "sh", "-c", script];
    Run::from(p.dry_cmd(&args).output().expect("running dry build"))
}

fn chmod(p: &Project, rel: &str, mode: u32) {
    std::fs::set_permissions(p.path(rel), std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn mode(p: &Project, rel: &str) -> u32 {
    std::fs::symlink_metadata(p.path(rel)).expect("lstat").permissions().mode() & 0o7777
}

/// G23: whether a file may be exec'd is its mode. Recorded while `s` was executable, the entry
/// replayed `hi` after `chmod 644 s`, where the shell fails with "Permission denied", 126.
#[test]
fn an_exec_depends_on_the_execute_permission() {
    let p = Project::new();
    p.write("s", "#!/bin/sh\necho hi\n");
    chmod(&p, "s", 0o755);
    let first = strict(&p, "./s");
    first.assert_ran();
    assert_eq!(first.stdout, "hi\n", "{first:#?}");
    strict(&p, "./s").assert_replayed();
    chmod(&p, "s", 0o644);
    let r = strict(&p, "./s");
    assert!(r.ran() && !r.replayed(), "{r:#?}");
    assert_eq!(r.code, 126, "{r:#?}");
    assert!(r.stderr.contains("Permission denied"), "{r:#?}");
    assert_eq!(r.stdout, "", "{r:#?}");
}

/// G23: `access(X_OK)` (`[ -x f ]`) succeeds or not by the mode; it recorded only that `f`
/// resolves.
#[test]
fn an_access_check_depends_on_the_mode() {
    let p = Project::new();
    p.write("f", "");
    chmod(&p, "f", 0o755);
    let script = "if [ -x f ]; then echo yes; else echo no; fi";
    let first = strict(&p, script);
    first.assert_ran();
    assert_eq!(first.stdout, "yes\n", "{first:#?}");
    strict(&p, script).assert_replayed();
    chmod(&p, "f", 0o644);
    let r = strict(&p, script);
    r.assert_ran();
    assert_eq!(r.stdout, "no\n", "{r:#?}");
}

/// Builds `script` on a tree where `b` holds "x" (mode 644), twice, then `chmod 755 b` and
/// builds again: a run keeps the mode of the `b` it writes to.
fn mode_kept_by(script: &str) {
    let p = Project::new();
    p.write("in", "x");
    p.write("b", "x");
    chmod(&p, "b", 0o644);
    strict(&p, script).assert_ran();
    strict(&p, script);
    strict(&p, script).assert_replayed();
    chmod(&p, "b", 0o755);
    let content = p.read("b");
    let r = strict(&p, script);
    r.assert_ran();
    assert_eq!(mode(&p, "b"), 0o755, "{script}: {r:#?}");
    assert!(p.read("b").starts_with(&content), "{script}");
}

/// G22: an open that writes an existing file in place keeps its mode; replay restored the
/// mode recorded (644) over a `chmod +x` made between the builds.
#[test]
fn an_output_written_in_place_keeps_the_mode_it_had() {
    for script in ["printf x 1<> b", "printf x | dd of=b conv=notrunc status=none"] {
        mode_kept_by(script);
    }
}

/// G22 with `O_TRUNC`: a truncating open keeps an existing file's mode too; the mode (not the
/// size) is recorded by `Predicate::Links`.
#[test]
fn a_truncated_output_keeps_the_mode_it_had() {
    for script in ["printf x > b", "cp in b", "printf x | tee b > /dev/null"] {
        mode_kept_by(script);
    }
}

/// Runs `script` on the file `b`, replaces `b` by a symlink to `d`, runs it again (which must
/// run, not replay) and checks that `b` is left a symlink.
fn run_then_again_over_b_to_d(p: &Project, script: &str) -> Run {
    strict(p, script).assert_ran();
    std::fs::remove_file(p.path("b")).expect("rm b");
    symlink("d", p.path("b")).expect("ln -s d b");
    let r = strict(p, script);
    r.assert_ran();
    let b = std::fs::symlink_metadata(p.path("b")).expect("lstat b");
    assert!(b.file_type().is_symlink(), "{r:#?}");
    r
}

/// G21: `chmod b` follows `b`; recorded while `b` was a file, it replayed over `b -> d` (same
/// kind, mode and size through the link), leaving `b` a 755 file where a run changes `d`.
#[test]
fn a_chmod_through_a_path_that_became_a_symlink() {
    let p = Project::new();
    p.write("b", "y\n");
    let script = "printf yx > d; [ -f b ] && chmod 755 b";
    let r = run_then_again_over_b_to_d(&p, script);
    assert_eq!(mode(&p, "d"), 0o755, "{r:#?}");
    assert_eq!(p.read("d"), "yx");
}

/// G21 for `truncate(2)`: recorded on a file, replayed over a symlink to another.
#[test]
fn a_truncate_through_a_path_that_became_a_symlink() {
    let p = Project::new();
    // truncate(1) opens the file; this calls truncate(2) on the name.
    p.compile("t", "#include <unistd.h>\nint main(void) { return truncate(\"b\", 1) != 0; }\n");
    p.write("b", "yy");
    let script = "printf yy > d; [ -f b ] && ./t";
    run_then_again_over_b_to_d(&p, script);
    assert_eq!(p.read("d"), "y");
}

/// G24: a file created through a dangling symlink `a -> c` is created at `c`; once `c` is
/// itself a symlink (to `d/a`), a run creates `d/a`, while replay overwrote the symlink `c`.
#[test]
fn a_file_created_through_a_dangling_symlink_depends_on_its_target() {
    for script in ["echo x > a", "dd if=/dev/null of=a status=none"] {
        let p = Project::new();
        std::fs::create_dir(p.path("d")).expect("mkdir d");
        symlink("c", p.path("a")).expect("ln -s c a");
        strict(&p, script).assert_ran();
        std::fs::remove_file(p.path("c")).expect("rm c");
        symlink("d/a", p.path("c")).expect("ln -s d/a c");
        let r = strict(&p, script);
        r.assert_ran();
        let c = std::fs::symlink_metadata(p.path("c")).expect("lstat c");
        assert!(c.file_type().is_symlink(), "{script}: {r:#?}");
        assert!(std::fs::symlink_metadata(p.path("d/a")).is_ok(), "{script}: {r:#?}");
    }
}

/// G25: `cd b` recorded that `b` resolves to a directory and pinned the directories on the
/// way, not `b` itself; once `b -> y.h`, the shell lands where the run wrote `x.c`, while
/// replay printed what it saw in the old `b`.
#[test]
fn a_chdir_depends_on_where_it_lands() {
    let p = Project::new();
    std::fs::create_dir(p.path("b")).expect("mkdir b");
    std::fs::create_dir(p.path("y.h")).expect("mkdir y.h");
    let script = "printf 1 > y.h/x.c; cd b && if [ -e x.c ]; then echo yes; else echo no; fi";
    let first = strict(&p, script);
    first.assert_ran();
    assert_eq!(first.stdout, "no\n", "{first:#?}");
    std::fs::remove_dir(p.path("b")).expect("rmdir b");
    symlink("y.h", p.path("b")).expect("ln -s y.h b");
    std::fs::remove_file(p.path("y.h/x.c")).expect("rm y.h/x.c");
    let r = strict(&p, script);
    r.assert_ran();
    assert_eq!(r.stdout, "yes\n", "{r:#?}");
}

/// G29 for a nested step skipped in place: the parent reruns (its first step's input changed),
/// the `chmod` of `d` is replayed, and the parent's later read of `d/f` must stay an input of
/// the parent (the replayed chmod changes `d`'s mode, not its subtree).
#[test]
fn a_replayed_chmod_of_a_directory_keeps_its_subtree_an_input_of_the_parent() {
    let p = Project::new();
    p.write("d/f", "one\n");
    p.write("x", "x1\n");
    let script = "cat x; chmod 755 d; cat d/f";
    chmod(&p, "d", 0o700);
    p.build(&["bash", "-c", script]).assert_ran();
    p.write("x", "x2\n");
    chmod(&p, "d", 0o700);
    let second = p.build(&["bash", "-c", script]);
    second.assert_ran();
    assert!(second.stderr.contains("nested: replayed `chmod 755 d`"), "{second:#?}");
    p.write("d/f", "two\n");
    chmod(&p, "d", 0o700);
    let third = p.build(&["bash", "-c", script]);
    assert_eq!(third.stdout, "x2\ntwo\n", "{third:#?}");
    assert_eq!(mode(&p, "d"), 0o755);
}
