//! Gap G6 of notes/model.md: a path resolved through a symlink the command did not make, into
//! one of the command's own outputs. What the command met there depends on when in the run it
//! looked, which no predicate about the state before the run can say; the check refuses such a
//! walk (`model::into_output`), with `--strict` or without.

use super::harness::Project;

/// Recorded while `d` did not exist, `cat d` failed. Then `d -> x.c` and `x.c` removed: `d`
/// still does not resolve before the run, but the command writes `x.c` before reading `d`, so
/// running prints `hi` where a replay printed the recorded error.
#[test]
fn a_symlink_made_later_into_the_commands_output_is_not_absent() {
    let p = Project::new();
    let cmd = ["sh", "-c", "echo hi > x.c; cat d"];
    let first = p.build(&cmd);
    assert!(first.ran() && first.code == 1, "cat d fails: {first:#?}");
    std::os::unix::fs::symlink("x.c", p.path("d")).expect("making the symlink");
    std::fs::remove_file(p.path("x.c")).expect("removing the output");
    let second = p.build(&cmd);
    assert!(second.ran(), "replayed the failed `cat d`: {second:#?}");
    assert_eq!((second.code, second.stdout.as_str()), (0, "hi\n"), "{second:#?}");
    // Recorded now through `d` into `x.c`: not cached, and `dry why` says why.
    let why = p.dry(&["why", "--", "sh", "-c", "echo hi > x.c; cat d"]);
    let why = String::from_utf8_lossy(&why.stdout).into_owned();
    assert!(why.contains("did not make into its own output") && why.contains("x.c"), "{why}");
    let third = p.build(&cmd);
    assert!(third.ran() && third.stdout == "hi\n", "{third:#?}");
}

/// The same through a file the command creates and removes: `d -> t` dangles before and after
/// the run, but resolves while `t` exists.
#[test]
fn a_symlink_into_a_file_the_command_creates_and_removes() {
    let p = Project::new();
    let cmd = ["sh", "-c", "echo hi > t; cat d; rm t"];
    let first = p.build(&cmd);
    assert!(first.ran() && first.code == 0 && first.stdout.is_empty(), "{first:#?}");
    std::os::unix::fs::symlink("t", p.path("d")).expect("making the symlink");
    let second = p.build(&cmd);
    assert!(second.ran(), "replayed the run that found no `d`: {second:#?}");
    assert_eq!(second.stdout, "hi\n", "{second:#?}");
    let t = std::fs::symlink_metadata(p.path("t"));
    assert!(t.is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound), "t is left behind");
}

/// A symlink of the input tree into a directory the command makes: the walk reaches the
/// directory's name after following `l`.
#[test]
fn a_symlink_into_a_directory_the_command_makes() {
    let p = Project::new();
    let cmd = ["sh", "-c", "mkdir -p out && echo x > out/f && cat l/f"];
    let first = p.build(&cmd);
    assert!(first.ran() && first.code != 0, "{first:#?}");
    std::os::unix::fs::symlink("out", p.path("l")).expect("making the symlink");
    std::fs::remove_dir_all(p.path("out")).expect("removing the output");
    let second = p.build(&cmd);
    assert!(second.ran(), "{second:#?}");
    assert_eq!((second.code, second.stdout.as_str()), (0, "x\n"), "{second:#?}");
}

/// A symlink the command makes itself is no input symlink: reading through it replays.
#[test]
fn the_commands_own_symlink_into_its_output_still_replays() {
    let p = Project::new();
    let cmd = ["sh", "-c", "echo hi > x.c; ln -sf x.c d; cat d"];
    p.build(&cmd).assert_ran();
    let again = p.build(&cmd);
    again.assert_replayed();
    assert_eq!(again.stdout, "hi\n");
}
