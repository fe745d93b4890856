//! Fixed cases of the differential fuzzer (differential.rs): each is a tree, a script and the
//! edits between runs, checked the same way as a random case (dry and a plain run must leave the
//! same status, output and tree after every run).
//!
//! Findings of the fuzzer land here once fixed, named after the behaviour, with what was wrong.
//! A finding that still fails is not committed (notes/differential.md). The first group pins
//! behaviours the fuzzer exercises that are easy to break: hard links, symlinks through `..`,
//! renames, `cd` in a subshell, absent names probed and then created. The second group needs
//! `--strict` (commands that read or probe their own previous outputs).

use super::differential::{lines, Case, Edit, Mode, Node};

/// Asserts that the fuzzer runs dry with `--strict` (the default; `DRY_DIFF_FLAGS` may say
/// otherwise), which the cases that read their own previous outputs need.
fn assert_strict() {
    assert!(Mode::from_env().strict, "this case needs dry build --strict (DRY_DIFF_FLAGS)");
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
    assert_strict();
    Case { tree: vec![Node::file("a", "x\n")], script: lines(&["rm a"]), edits: vec![vec![]] }
        .assert_same();
}

#[test]
fn strict_an_append_run_twice_appends_twice() {
    assert_strict();
    Case {
        tree: vec![Node::file("a", "x\n")],
        script: lines(&["echo y >> a", "sed -i 's/x/yy/' b", "cat a"]),
        edits: vec![vec![], vec![Edit::write("b", "x\n")]],
    }
    .assert_same();
}

// Findings of the long run of session 20 (seeds 5998 to 8381, `DRY_DIFF_VOCAB=all`), minimised
// by the fuzzer; each failed on the commit before its fix.

#[test]
fn a_copy_onto_what_became_a_symlink_writes_through_it() {
    Case {
        tree: vec![
            Node::dir("d"),
            Node::file("c", "a\n"),
            Node::file("d/a", ""),
            Node::symlink("d/b", "../a"),
        ],
        script: lines(&["sed 's/yx/x/' e/a > d/b", "cp -r c d/a"]),
        edits: vec![vec![Edit::symlink("d/a", "../a")]],
    }
    .assert_same();
}

#[test]
fn a_chmod_after_an_append_keeps_the_new_bytes() {
    Case {
        tree: vec![],
        script: lines(&["echo a | tee -a a", "[ -f a ] && chmod -x a"]),
        edits: vec![vec![], vec![Edit::write("a", "x\n")]],
    }
    .assert_same();
}

#[test]
fn a_chmod_through_a_symlink_keeps_the_targets_new_bytes() {
    Case {
        tree: vec![Node::file("a", "y\n"), Node::symlink("c", "a")],
        script: lines(&["[ -f c ] && chmod -x c"]),
        edits: vec![vec![Edit::write("c", "a\n")]],
    }
    .assert_same();
}

#[test]
fn a_truncating_copy_through_what_became_a_symlink_writes_its_target() {
    Case {
        tree: vec![Node::exec("b", "x y\nxy\n")],
        script: lines(&["tr xy yx < b > e", "cp /dev/null e"]),
        edits: vec![vec![Edit::symlink("e", "a")]],
    }
    .assert_same();
}

#[test]
fn a_chmod_in_a_subshell_keeps_new_bytes() {
    Case {
        tree: vec![Node::file("b", "y\n")],
        script: lines(&["( tee d/b < d; [ -f b ] && chmod 600 b; )"]),
        edits: vec![vec![], vec![Edit::write("b", "x\n")]],
    }
    .assert_same();
}

#[test]
fn an_append_then_a_copy_through_what_became_a_symlink_outside() {
    Case {
        tree: vec![],
        script: lines(&["echo xy >> a", "cp /dev/null a"]),
        edits: vec![vec![Edit::symlink("a", "../b")]],
    }
    .assert_same();
}

#[test]
fn a_replay_does_not_leave_an_output_linked_to_a_name_a_run_unlinks() {
    Case {
        tree: vec![Node::file("b", "a\nx\nyx\n")],
        script: lines(&["ln b a", "sed -i 's/x/yy/' b"]),
        edits: vec![vec![], vec![Edit::remove("a")]],
    }
    .assert_same();
}

#[test]
fn a_step_whose_stdin_is_its_own_output_is_not_replayed_from_another() {
    Case {
        tree: vec![],
        script: lines(&["tee e < a", "tee e < e"]),
        edits: vec![vec![Edit::append("a", "xy\n")]],
    }
    .assert_same();
}

#[test]
fn a_hard_link_of_a_symlink_is_not_replayed_as_a_copy() {
    Case {
        tree: vec![Node::dir("d"), Node::symlink("d/a", "../b")],
        script: lines(&["ln d/a c", "mv -f c a"]),
        edits: vec![vec![]],
    }
    .assert_same();
}

/// The long run of session 21 (seed 30139): `a` became a symlink to the file `cat a >> d/a`
/// appends to. The nested `cat a` was replayed (its input `a` had the recorded content, read
/// through `a` from `d/a`), where running fails with "input file is output file". The check
/// now refuses a walk through an input symlink into the step's own output (gap G6).
#[test]
fn a_symlink_into_the_file_a_step_appends_to_is_not_its_old_input() {
    Case {
        tree: vec![Node::dir("d"), Node::exec("a", "x\na\ny\n")],
        script: lines(&["cat a >> d/a"]),
        edits: vec![vec![Edit::symlink("a", "d/a")]],
    }
    .assert_same();
}

/// Seeds 22997 and 25668 of session 20: `cat a >> a` fails ("input file is output file") and
/// was recorded so; the next step, `cat a >> b`, has the same key and the same input and was
/// replayed as that failure. A step that resolves the file its output goes to is uncacheable,
/// and one whose output goes to a file its entry resolves is not replayed.
#[test]
fn a_step_reading_the_file_its_output_goes_to_is_not_replayed_for_another() {
    Case {
        tree: vec![Node::file("a", "x\n")],
        script: lines(&["cat a >> a", "cat a >> b", "cat b"]),
        edits: vec![vec![Edit::write("a", "y\n")]],
    }
    .assert_same();
}

/// The other order: `cat a >> b` recorded first, then `cat a >> a` must run (and fail).
#[test]
fn a_step_whose_output_goes_to_its_input_is_not_replayed() {
    Case {
        tree: vec![Node::file("a", "x\n")],
        script: lines(&["cat a >> b", "cat a >> a", "cat b"]),
        edits: vec![vec![Edit::write("a", "y\n")]],
    }
    .assert_same();
}

/// The long run of session 21 (seed 37087): `c` became a symlink to `a`, which `dd if=c of=a`
/// truncates before reading `c`. The content of `c` was recorded at its open, before the
/// truncation, and still matched (`a` held a copy of it): the whole script was replayed, where
/// running leaves `a` empty. A file's content counts as read at the end of the run.
#[test]
fn a_copy_onto_the_file_its_input_became_a_symlink_to_reads_it_truncated() {
    Case {
        tree: vec![Node::file("c", "x y\ny\nb\n")],
        script: lines(&["dd if=c of=a status=none"]),
        edits: vec![vec![Edit::symlink("c", "a")]],
    }
    .assert_same();
}

/// Seed 36426: `tee d < a` in `e`, then `e/a -> d`: the shell's stdin file is the file `tee`
/// truncates.
#[test]
fn tee_onto_the_file_its_stdin_became_a_symlink_to_reads_it_truncated() {
    Case {
        tree: vec![Node::dir("e"), Node::file("e/a", "y\nx\nb\n")],
        script: lines(&["cd e", "tee d < a"]),
        edits: vec![vec![Edit::symlink("e/a", "d")]],
    }
    .assert_same();
}

/// The first long run of session 21 (seed 32300): `cp -f b a` refused two names of one file
/// ("are the same file", a hard link from the last run's `ln -f a b`); after `b` was removed and
/// made again by `cat d >> b`, the refusal was replayed where running copies. Which of the
/// paths a command stat'ed were one file is an input (`Predicate::Identities`).
#[test]
fn cp_onto_a_name_that_was_a_hard_link_of_its_source_copies_once_it_is_not() {
    Case {
        tree: vec![],
        script: lines(&["cat d >> b", "cp -f b a", "ln -f a b"]),
        edits: vec![vec![], vec![Edit::remove("b")]],
    }
    .assert_same();
}

/// Seed 30557: `ln -f e/a d/b` onto its own hard link, then `e/a` removed and made again by
/// `tee`: the link must be made again, not replayed as the no-op of one file.
#[test]
fn ln_onto_a_name_that_was_a_hard_link_of_its_source_links_once_it_is_not() {
    Case {
        tree: vec![Node::dir("d"), Node::dir("e")],
        script: lines(&["echo yx | tee e/a", "ln -f e/a d/b"]),
        edits: vec![vec![], vec![Edit::remove("e/a")]],
    }
    .assert_same();
}

/// The first long run of session 21 (seed 33192): `sed -i` gives the file it writes the mode
/// of the one it read (`fstat`); after a `chmod` of `d/a` its content still matched and the
/// replay restored the old mode. A file opened for reading has its metadata as an input.
#[test]
fn sed_in_place_keeps_the_mode_the_input_has_now() {
    Case {
        tree: vec![Node::dir("d"), Node::file("d/a", "yx\nb\n")],
        script: lines(&["sed -i 's/x/yy/' d/a"]),
        edits: vec![vec![], vec![Edit::chmod("d/a")]],
    }
    .assert_same();
}

/// Seed 39812: `a -> b` (mode 755) written through, then `sed -i a` replaces the symlink by a
/// file of `b`'s mode; with `a` removed and written again as a plain file (644), the replay
/// restored 755.
#[test]
fn sed_in_place_through_what_was_a_symlink_keeps_the_new_files_mode() {
    Case {
        tree: vec![Node::symlink("a", "b"), Node::exec("b", "xy\na\n")],
        script: lines(&["echo b > a", "sed -i 's/x/yy/' a"]),
        edits: vec![vec![], vec![Edit::remove("a")]],
    }
    .assert_same();
}

/// The second long run of session 21 (seed 46476): `truncate -s 2 e/a` through the symlink
/// `e/a -> ../a` that the script made: the second resolution of the open (whether the last
/// name is a symlink) pinned its walk again, and the lowering forgot where the first led, so
/// the prior content of `a`, its names and mode were dropped as the script's own symlink. A
/// replay then truncated `a` to NULs where running keeps what it holds.
#[test]
fn truncate_through_the_scripts_own_symlink_keeps_what_the_target_holds() {
    Case {
        tree: vec![Node::dir("e")],
        script: lines(&["ln -sf ../a e", "truncate -s 2 e/a"]),
        edits: vec![vec![], vec![Edit::write("a", "y\n")]],
    }
    .assert_same();
}

/// The long run of session 21 (seed 55406): `b -> d`, and `dd if=b of=d` truncates `d` before
/// reading it through `b`. The content of `b` was hashed at its open (before the truncation):
/// recorded so, the step was replayed once `b` was a file of its own, leaving `d` empty. A run
/// that reads through a symlink it did not make into one of its outputs is uncacheable.
#[test]
fn dd_reading_its_output_through_a_symlink_is_not_cached() {
    Case {
        tree: vec![Node::symlink("b", "d")],
        script: lines(&["printf yx > b", "dd if=b of=d status=none"]),
        edits: vec![vec![Edit::remove("b")]],
    }
    .assert_same();
}

/// Seed 53024: `tee a < a` with `a -> c` reads its standard input after truncating it. Its
/// entry (stdin content "xy" at the start, output empty) was replayed for `tee a < d/b`, whose
/// stdin held "xy" too. A step whose standard input is one of its outputs is uncacheable.
#[test]
fn tee_reading_its_own_output_on_stdin_is_not_replayed_for_another_stdin() {
    Case {
        tree: vec![Node::dir("d"), Node::symlink("a", "c"), Node::exec("d/b", "xy\n")],
        script: lines(&["tee a < d/b", "tee a < a"]),
        edits: vec![vec![]],
    }
    .assert_same();
}
