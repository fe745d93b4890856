//! Regression tests of issue 20 ("every replay equals a rerun"): each reproduces one case in
//! which a replay left something other than what running the command leaves, and fails on the
//! commit that had the bug (3c0de05).

use super::harness::{Project, Run};

/// Item 7: an open for writing that neither truncates nor creates keeps what it does not
/// overwrite, so the old content is an input of the new one. `touch out` opens `out` with
/// `O_WRONLY|O_CREAT` and only changes its times: replaying it must not restore old bytes.
#[test]
fn r20_a_write_open_without_truncation_makes_the_old_content_an_input() {
    let p = Project::new();
    p.write("in", "one\n");
    let script = "cat in > out; touch out";
    p.bash(script).assert_ran();
    assert_eq!(p.read("out"), "one\n");
    p.write("in", "two\n");
    p.bash(script).assert_ran();
    assert_eq!(p.read("out"), "two\n", "the nested `touch out` replayed the old bytes");
    p.bash(script).assert_replayed();
    assert_eq!(p.read("out"), "two\n");
}

/// Item 7, with `dd conv=notrunc`: a partial overwrite in place.
#[test]
fn r20_a_partial_overwrite_in_place_depends_on_what_it_overwrites() {
    let p = Project::new();
    p.write("out", "abcdef\n");
    let cmd = ["sh", "-c", "printf XY | dd of=out conv=notrunc status=none"];
    p.build(&cmd).assert_ran();
    assert_eq!(p.read("out"), "XYcdef\n");
    p.write("out", "123456\n");
    p.build(&cmd).assert_ran();
    assert_eq!(p.read("out"), "XY3456\n", "replayed over a changed `out`");
}

/// Runs `dry build -v --strict -- CMD`.
fn strict(p: &Project, cmd: &[&str]) -> Run {
    let mut args = vec!["build", "-v", "--strict", "--"];
    args.extend_from_slice(cmd);
    Run::from(p.dry_cmd(&args).output().expect("running dry build --strict"))
}

/// Item 4: `rm f` twice. By default the second build replays the first (the documented
/// assumption that a command's own outputs, left as it left them, are not its inputs), and
/// `dry why` names that assumption; `--strict` runs it, and `rm` fails as it does untraced.
#[test]
fn r20_strict_reruns_a_removal_whose_target_is_gone() {
    let p = Project::new();
    p.write("f", "");
    p.build(&["rm", "f"]).assert_ran();
    p.build(&["rm", "f"]).assert_replayed();
    let why = p.dry(&["why", "--", "rm", "f"]);
    let why = String::from_utf8_lossy(&why.stdout).into_owned();
    assert!(why.contains("holds by the output rule") && why.contains("--strict"), "{why}");
    let why = p.dry(&["why", "--strict", "--", "rm", "f"]);
    let why = String::from_utf8_lossy(&why.stdout).into_owned();
    assert!(why.contains("would run"), "{why}");
    let check = p.dry(&["check", "--strict", "--", "rm", "f"]);
    assert_eq!(check.status.code(), Some(1), "dry check --strict says it would run");
    let r = strict(&p, &["rm", "f"]);
    assert!(r.ran() && !r.replayed(), "{r:#?}");
    assert_eq!(r.code, 1, "rm of a missing file fails: {r:#?}");
    assert!(r.stderr.contains("No such file"), "{r:#?}");
}

/// Item 4: `>>` onto a file that did not exist, and a script that reads what it wrote last
/// time: under `--strict` each build equals a run.
#[test]
fn r20_strict_reruns_appends_and_reads_of_the_last_output() {
    let p = Project::new();
    strict(&p, &["sh", "-c", "echo x >> log"]).assert_ran();
    strict(&p, &["sh", "-c", "echo x >> log"]).assert_ran();
    assert_eq!(p.read("log"), "x\nx\n");

    p.write("y", "a\n");
    let script = "cat c >> x; tr a b < y > c";
    let first = strict(&p, &["sh", "-c", script]);
    assert_eq!(first.code, 0, "{first:#?}");
    assert_eq!(p.read("x"), "");
    strict(&p, &["sh", "-c", script]).assert_ran();
    assert_eq!(p.read("x"), "b\n", "the second run reads the first run's c");
    strict(&p, &["sh", "-c", script]).assert_ran();
    assert_eq!(p.read("x"), "b\nb\n");
}

/// Item 1 (gap G8): a file read through a symlink the command created itself is an input.
#[test]
fn r20_a_file_read_through_the_commands_own_symlink_is_an_input() {
    let p = Project::new();
    p.write("input", "Hello\n");
    let script = "ln -s input A; cat A; rm A";
    let r = p.bash(script);
    r.assert_ran();
    assert_eq!(r.stdout, "Hello\n");
    let r = p.bash(script);
    r.assert_replayed();
    assert_eq!(r.stdout, "Hello\n");
    p.write("input", "Goodbye\n");
    let r = p.bash(script);
    r.assert_ran();
    assert_eq!(r.stdout, "Goodbye\n", "replayed the old content: {r:#?}");
}

/// Item 3: `..` through a directory the command made and removed: the file reached is an
/// input under its own name, so the build replays, and reruns when that file changes.
#[test]
fn r20_dotdot_through_a_directory_made_in_the_run_replays() {
    let p = Project::new();
    p.write("input", "hi\n");
    let script = "mkdir d; cat d/../input; rmdir d";
    p.bash(script).assert_ran();
    let r = p.bash(script);
    r.assert_replayed();
    assert_eq!(r.stdout, "hi\n");
    let why = p.dry(&["why", "--", "bash", "-c", script]);
    let why = String::from_utf8_lossy(&why.stdout).into_owned();
    assert!(why.contains("up to date"), "{why}");
    p.write("input", "ho\n");
    let r = p.bash(script);
    r.assert_ran();
    assert_eq!(r.stdout, "ho\n");
}

/// Gap G10: `b/../out` where `out` is the command's own output but `b` is an input directory:
/// once `b` is a symlink elsewhere, `b/..` is another directory, and the run writes there.
#[test]
fn r20_dotdot_through_an_input_directory_to_an_output_depends_on_the_directory() {
    let p = Project::new();
    std::fs::create_dir_all(p.path("b")).expect("mkdir b");
    std::fs::create_dir_all(p.path("elsewhere/sub")).expect("mkdir elsewhere/sub");
    let script = "echo 1 > out; cat b/../out > copy";
    p.bash(script).assert_ran();
    assert_eq!(p.read("copy"), "1\n");
    p.bash(script).assert_replayed();
    std::fs::remove_dir(p.path("b")).expect("rmdir b");
    std::os::unix::fs::symlink("elsewhere/sub", p.path("b")).expect("symlink b");
    p.write("elsewhere/out", "2\n");
    let r = p.bash(script);
    assert!(r.ran() && !r.replayed(), "{r:#?}");
    assert_eq!(p.read("copy"), "2\n", "b/../out is elsewhere/out now");
}

/// Found by the differential fuzzer: the size an `lstat` shows of a symlink is the length of
/// its target, so the target is an input (`stat -c %s` printed the old size on replay).
#[test]
fn r20_the_size_an_lstat_shows_of_a_symlink_is_an_input() {
    let p = Project::new();
    std::os::unix::fs::symlink("e", p.path("b")).expect("symlink");
    let cmd = ["stat", "-c", "%F %s", "b"];
    assert_eq!(p.build(&cmd).assert_ran().stdout, "symbolic link 1\n");
    p.build(&cmd).assert_replayed();
    std::fs::remove_file(p.path("b")).expect("rm b");
    std::os::unix::fs::symlink("nope", p.path("b")).expect("symlink");
    let r = p.build(&cmd);
    assert!(r.ran() && !r.replayed(), "{r:#?}");
    assert_eq!(r.stdout, "symbolic link 4\n");
}

/// Found by the differential fuzzer: a renamed file keeps its mode, so the old name's mode is
/// an input of the rename (a replay restored the mode the file had when it was recorded).
#[test]
fn r20_a_renamed_file_keeps_its_mode_which_is_an_input() {
    let p = Project::new();
    p.write("c", "x\n");
    let cmd = ["mv", "c", "e"];
    p.build(&cmd).assert_ran();
    std::fs::rename(p.path("e"), p.path("c")).expect("mv back");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p.path("c"), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let r = p.build(&cmd);
    assert!(r.ran() && !r.replayed(), "{r:#?}");
    let mode = std::fs::metadata(p.path("e")).expect("e").permissions().mode() & 0o777;
    assert_eq!(mode, 0o755);
}

/// Found by the differential fuzzer (default mode): the output rule relaxed a probe of `d`
/// because `d` was as `mkdir -p d/b` left it, while its other output `d/b` had been replaced
/// by a symlink; a run fails there. The rule now asks every output of the run to be as it
/// left it, or absent.
#[test]
fn r20_the_output_rule_needs_every_output_in_place_or_absent() {
    let p = Project::new();
    let cmd = ["mkdir", "-p", "d/b"];
    p.build(&cmd).assert_ran();
    p.build(&cmd).assert_replayed();
    std::fs::remove_dir(p.path("d/b")).expect("rmdir d/b");
    std::os::unix::fs::symlink("a", p.path("d/b")).expect("symlink d/b");
    let r = p.build(&cmd);
    assert!(r.ran() && !r.replayed(), "{r:#?}");
    assert_ne!(r.code, 0, "mkdir -p fails on a dangling symlink: {r:#?}");
    // Removed outputs are as good as absent: a replay restores them.
    std::fs::remove_file(p.path("d/b")).expect("rm d/b");
    std::fs::remove_dir(p.path("d")).expect("rmdir d");
    p.build(&cmd).assert_replayed();
    assert!(std::fs::metadata(p.path("d/b")).expect("d/b").is_dir());
}

/// Found by the differential fuzzer (default mode): a probe that follows its last component
/// was relaxed because that component was the command's own symlink, in place, though the
/// symlink now led to a file: followed, an output symlink is about its target.
#[test]
fn r20_a_followed_probe_of_an_output_symlink_is_about_its_target() {
    let p = Project::new();
    std::fs::create_dir(p.path("d")).expect("mkdir d");
    let script = "cat d/a 2>/dev/null || echo none; ln -sf nope d/a";
    assert_eq!(p.bash(script).assert_ran().stdout, "none\n");
    p.bash(script).assert_replayed();
    // Writing through the symlink creates d/nope: `cat d/a` now reads it.
    p.write("d/nope", "there\n");
    let r = p.bash(script);
    assert!(r.ran() && !r.replayed(), "{r:#?}");
    assert_eq!(r.stdout, "there\n");
}

/// Gap G20 (found by the model once its scenarios could make hard links between runs): a file
/// written in place changes under every name it has; after `ln log other`, running appends to
/// both names, a replay would write `log` as a fresh file and leave `other`. The number of
/// names of a file written in place is an input.
#[test]
fn r20_a_file_written_in_place_that_gained_a_name_is_run_again() {
    let p = Project::new();
    p.write("log", "1\n");
    let cmd = ["sh", "-c", "echo 2 >> log"];
    p.build(&cmd).assert_ran();
    p.write("log", "1\n");
    p.build(&cmd).assert_replayed();
    p.write("log", "1\n");
    std::fs::hard_link(p.path("log"), p.path("other")).expect("ln log other");
    let r = p.build(&cmd);
    assert!(r.ran() && !r.replayed(), "{r:#?}");
    assert_eq!(p.read("other"), "1\n2\n", "the other name of the file changed too");
}

/// Found by the differential fuzzer: `chmod` changes only the mode, but its effect is the whole
/// file; a replayed `chmod -x a` restored the bytes `a` had when it was recorded over bytes a
/// step before it had written since. The content of a file chmod-ed (or truncated) in place is
/// an input.
#[test]
fn r20_a_chmod_does_not_restore_old_bytes() {
    let p = Project::new();
    let script = "echo a | tee -a a > /dev/null; chmod -x a";
    let cmd = ["bash", "-c", script];
    strict(&p, &cmd).assert_ran();
    strict(&p, &cmd).assert_ran();
    assert_eq!(p.read("a"), "a\na\n");
    // The same size, other bytes: the chmod's stat of `a` holds.
    p.write("a", "x\n");
    let r = strict(&p, &cmd);
    assert!(r.ran() && !r.replayed(), "{r:#?}");
    assert_eq!(p.read("a"), "x\na\n", "the nested chmod restored old bytes: {r:#?}");
}

/// Found by the differential fuzzer: an open for writing without `O_CREAT` follows a last
/// symlink; recorded on a regular file, `cp -r c d/a` was replayed once `d/a` was a symlink,
/// replacing it with a file, where a run writes through it.
#[test]
fn r20_a_write_open_through_what_became_a_symlink_is_run_again() {
    let p = Project::new();
    p.write("c", "new\n");
    p.write("d/a", "old\n");
    p.write("t", "target\n");
    let cmd = ["cp", "c", "d/a"];
    p.build(&cmd).assert_ran();
    std::fs::remove_file(p.path("d/a")).expect("rm d/a");
    std::os::unix::fs::symlink("../t", p.path("d/a")).expect("symlink");
    p.write("t", "new\n");
    let r = p.build(&cmd);
    assert!(r.ran() && !r.replayed(), "{r:#?}");
    assert!(std::fs::symlink_metadata(p.path("d/a")).expect("d/a").file_type().is_symlink());
}
