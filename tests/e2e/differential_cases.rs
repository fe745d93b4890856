//! Fixed cases of the differential fuzzer (differential.rs): each is a tree, a script and the
//! edits between runs, checked the same way as a random case (dry and a plain run must leave the
//! same status, output and tree after every run).
//!
//! Findings of the fuzzer land here once fixed, named after the behaviour, with what was wrong.
//! A finding that still fails is not committed (notes/differential.md). The first group pins
//! behaviours the fuzzer exercises that are easy to break: hard links, symlinks through `..`,
//! renames, `cd` in a subshell, absent names probed and then created. The second group needs
//! `--strict` (commands that read or probe their own previous outputs) and is skipped by a dry
//! that does not have it.

use super::differential::{lines, Case, Edit, Mode, Node};

/// Whether this dry runs the fuzzer with `--strict`; if not, says that the test is skipped.
fn strict_only() -> bool {
    let strict = Mode::from_env().strict;
    if !strict {
        eprintln!("skipped: needs dry build --strict (DRY_DIFF_FLAGS)");
    }
    strict
}

#[test]
fn hard_links_made_by_a_script_stay_links_after_a_replay() {
    Case {
        tree: vec![Node::file("a", "x\n"), Node::dir("d")],
        script: lines(&["rm -f b d/a", "ln a b", "ln b d/a", "cat d/a"]),
        edits: vec![vec![Edit::write("c", "y\n")], vec![Edit::write("a", "y\n")]],
    }
    .assert_same();
}

#[test]
fn a_symlink_through_dotdot_is_restored_with_its_target() {
    Case {
        tree: vec![Node::file("a", "x\n"), Node::dir("d")],
        // Not `cat d/b`: a read through a symlink the command made itself is not recorded as
        // a read of its target (known, open).
        script: lines(&["ln -sfn ../a d/b", "readlink d/b", "cat a"]),
        edits: vec![vec![Edit::remove("d/b")], vec![Edit::write("a", "y\n")]],
    }
    .assert_same();
}

#[test]
fn a_rename_then_a_new_file_at_the_old_name_replays_both() {
    Case {
        tree: vec![Node::file("a", "x\n"), Node::exec("b", "y\n")],
        script: lines(&["cp -f b c", "mv -f c e", "echo xy > c", "stat -c '%F %s %a' e c"]),
        edits: vec![vec![Edit::remove("e")], vec![Edit::append("b", "x\n")]],
    }
    .assert_same();
}

#[test]
fn cd_in_a_subshell_writes_relative_to_the_new_directory() {
    Case {
        tree: vec![Node::dir("d"), Node::file("d/a", "b\na\n"), Node::symlink("e", "d")],
        script: lines(&["(cd e && sort a -o b)", "cat d/b", "ls d"]),
        edits: vec![vec![Edit::write("d/a", "y\nx\n")], vec![Edit::symlink("e", "nope")]],
    }
    .assert_same();
}

#[test]
fn a_name_probed_absent_then_created_by_an_edit_reruns() {
    Case {
        tree: vec![Node::file("a", "x\n")],
        script: lines(&["[ -e b ] && cat b", "[ -d d ] || echo no d", "cat d/a"]),
        edits: vec![
            vec![Edit::write("b", "y\n")],
            vec![Edit::mkdir("d"), Edit::write("d/a", "a\n")],
        ],
    }
    .assert_same();
}

#[test]
fn strict_rm_run_twice_fails_the_second_time() {
    if !strict_only() {
        return;
    }
    Case { tree: vec![Node::file("a", "x\n")], script: lines(&["rm a"]), edits: vec![vec![]] }
        .assert_same();
}

#[test]
fn strict_an_append_run_twice_appends_twice() {
    if !strict_only() {
        return;
    }
    Case {
        tree: vec![Node::file("a", "x\n")],
        script: lines(&["echo y >> a", "sed -i 's/x/yy/' b", "cat a"]),
        edits: vec![vec![], vec![Edit::write("b", "x\n")]],
    }
    .assert_same();
}
