//! The scenarios of the foundation issue: real compilers, interpreters and shells whose inputs
//! change in the ways builds see every day.

use super::harness::{Project, STAMP};

#[test]
fn cc_header_created_earlier_on_the_include_path_triggers_a_rebuild() {
    let p = Project::new();
    p.write("inc2/defs.h", "#define VALUE 2\n");
    std::fs::create_dir_all(p.path("inc1")).expect("mkdir");
    p.write("main.c", "#include <stdio.h>\n#include \"defs.h\"\nint main(void){printf(\"%d\\n\", VALUE);return 0;}\n");
    let script = format!("{STAMP}cc -Iinc1 -Iinc2 -o main main.c");
    let first = p.bash(&script);
    first.assert_ran();
    let second = p.bash(&script);
    second.assert_replayed();
    assert_eq!(first.stdout, second.stdout, "a replay prints the recorded stdout");
    p.write("inc1/defs.h", "#define VALUE 1\n");
    let third = p.bash(&script);
    third.assert_ran();
    assert!(third.stderr.contains("inc1/defs.h"), "the reason names the new header: {third:#?}");
    let out = std::process::Command::new(p.path("main")).output().expect("run main");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n");
    // Going back to the old inputs restores the old outputs without running.
    std::fs::remove_file(p.path("inc1/defs.h")).expect("rm");
    let fourth = p.bash(&script);
    fourth.assert_replayed();
    assert_eq!(fourth.stdout, first.stdout);
    let out = std::process::Command::new(p.path("main")).output().expect("run main");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2\n");
}

#[test]
fn cc_header_created_in_an_include_dir_remembered_as_lacking_it_triggers_a_rebuild() {
    let p = Project::new();
    p.write("inc2/defs.h", "#define VALUE 2\n");
    std::fs::create_dir_all(p.path("inc1")).expect("mkdir");
    p.write("main.c", "#include <stdio.h>\n#include <defs.h>\nint main(void){printf(\"%d\\n\", VALUE);return 0;}\n");
    // Older than the racy window, so a check may remember that `inc1` lacks `defs.h`.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let script = format!("{STAMP}cc -Iinc1 -Iinc2 -o main main.c");
    p.bash(&script).assert_ran();
    p.bash(&script).assert_replayed();
    let fingerprints = std::fs::read(p.path(".dry/fingerprints")).expect("fingerprint cache");
    let key = format!("{}\0defs.h", p.path("inc1").display());
    assert!(
        fingerprints.windows(key.len()).any(|w| w == key.as_bytes()),
        "the replay remembered the absent header in the fingerprint cache"
    );
    p.bash(&script).assert_replayed();
    p.write("inc1/defs.h", "#define VALUE 1\n");
    let rebuilt = p.bash(&script);
    rebuilt.assert_ran();
    assert!(
        rebuilt.stderr.contains("inc1/defs.h"),
        "the reason names the new header: {rebuilt:#?}"
    );
    let out = std::process::Command::new(p.path("main")).output().expect("run main");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n");
}

#[test]
fn a_listing_remembered_when_traced_still_sees_a_name_added_with_the_mtime_put_back() {
    let p = Project::new();
    p.write("d/a", "");
    p.write("d/b", "");
    // Older than the racy window, so the trace may remember what `d` listed.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let first = p.build(&["ls", "d"]);
    first.assert_ran();
    assert_eq!(first.stdout, "a\nb\n");
    let fingerprints = std::fs::read(p.path(".dry/fingerprints")).expect("fingerprint cache");
    let key = format!("{}\0\0", p.path("d").display());
    assert!(
        fingerprints.windows(key.len()).any(|w| w == key.as_bytes()),
        "the traced run remembered the listing in the fingerprint cache"
    );
    p.build(&["ls", "d"]).assert_replayed();
    let mtime = std::fs::metadata(p.path("d")).and_then(|m| m.modified()).expect("mtime of d");
    p.write("d/c", "");
    let dir = std::fs::File::open(p.path("d")).expect("open d");
    dir.set_modified(mtime).expect("put the mtime back");
    let after = p.build(&["ls", "d"]);
    after.assert_ran();
    assert_eq!(after.stdout, "a\nb\nc\n");
}

#[test]
fn python_module_shadowed_earlier_on_pythonpath_triggers_a_rerun() {
    let p = Project::new();
    p.write("b/mod.py", "VALUE = 'from b'\n");
    std::fs::create_dir_all(p.path("a")).expect("mkdir");
    p.write("main.py", "import mod\nprint(mod.VALUE)\n");
    let env = [("PYTHONPATH", "a:b"), ("PYTHONDONTWRITEBYTECODE", "1")];
    let cmd = ["python3", "main.py"];
    let first = p.build_env(&env, &cmd);
    first.assert_ran();
    assert_eq!(first.stdout, "from b\n");
    p.build_env(&env, &cmd).assert_replayed();
    p.write("a/mod.py", "VALUE = 'from a'\n");
    let third = p.build_env(&env, &cmd);
    third.assert_ran();
    assert_eq!(third.stdout, "from a\n");
}

#[test]
fn a_glob_reruns_when_a_file_is_added_or_removed() {
    let p = Project::new();
    p.write("src/a.txt", "a\n");
    p.write("src/b.txt", "b\n");
    let script = format!("{STAMP}cat src/*.txt > all.txt");
    p.bash(&script).assert_ran();
    p.bash(&script).assert_replayed();
    p.write("src/c.txt", "c\n");
    let added = p.bash(&script);
    added.assert_ran();
    assert!(added.stderr.contains("+c.txt"), "{added:#?}");
    assert_eq!(p.read("all.txt"), "a\nb\nc\n");
    std::fs::remove_file(p.path("src/a.txt")).expect("rm");
    let removed = p.bash(&script);
    removed.assert_ran();
    assert_eq!(p.read("all.txt"), "b\nc\n");
}

#[test]
fn a_retargeted_symlink_reruns_and_the_old_target_replays() {
    let p = Project::new();
    p.write("one.txt", "one\n");
    p.write("two.txt", "two\n");
    std::os::unix::fs::symlink("one.txt", p.path("link")).expect("symlink");
    let script = format!("{STAMP}cat link > out.txt");
    let first = p.bash(&script);
    first.assert_ran();
    p.bash(&script).assert_replayed();
    std::fs::remove_file(p.path("link")).expect("rm link");
    std::os::unix::fs::symlink("two.txt", p.path("link")).expect("symlink");
    p.bash(&script).assert_ran();
    assert_eq!(p.read("out.txt"), "two\n");
    std::fs::remove_file(p.path("link")).expect("rm link");
    std::os::unix::fs::symlink("one.txt", p.path("link")).expect("symlink");
    let back = p.bash(&script);
    back.assert_replayed();
    assert_eq!(back.stdout, first.stdout);
    assert_eq!(p.read("out.txt"), "one\n");
}

#[test]
fn an_environment_variable_changed_and_changed_back() {
    let p = Project::new();
    let script = format!("{STAMP}echo \"$FOO\" > foo.txt");
    let one = p.build_env(&[("FOO", "1")], &["bash", "-c", &script]);
    one.assert_ran();
    let two = p.build_env(&[("FOO", "2")], &["bash", "-c", &script]);
    two.assert_ran();
    assert!(two.stderr.contains("FOO"), "the reason names the variable: {two:#?}");
    assert_eq!(p.read("foo.txt"), "2\n");
    let back = p.build_env(&[("FOO", "1")], &["bash", "-c", &script]);
    back.assert_replayed();
    assert_eq!(back.stdout, one.stdout);
    assert_eq!(p.read("foo.txt"), "1\n");
    // Volatile and ignored variables do not change the key.
    p.build_env(&[("FOO", "1"), ("TERM", "dumb"), ("SHLVL", "7")], &["bash", "-c", &script])
        .assert_replayed();
}

#[test]
fn exit_status_and_stderr_are_replayed_with_cache_failures() {
    let p = Project::new();
    let script = "echo $EPOCHREALTIME >&2; echo out; exit 3";
    let run = |extra: &[&str]| {
        let mut args = vec!["build", "-v"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", "bash", "-c", script]);
        super::harness::Run::from(p.dry(&args))
    };
    let first = run(&["--cache-failures"]);
    assert_eq!(first.code, 3);
    assert!(first.ran());
    let second = run(&["--cache-failures"]);
    assert_eq!(second.code, 3);
    assert!(second.replayed(), "{second:#?}");
    assert_eq!(second.stdout, "out\n");
    let stamp = |r: &super::harness::Run| {
        r.stderr.lines().find(|l| !l.starts_with("dry:")).map(str::to_string)
    };
    assert_eq!(stamp(&first), stamp(&second), "stderr is replayed byte for byte");
}

#[test]
fn failures_are_not_recorded_without_cache_failures() {
    let p = Project::new();
    let script = format!("{STAMP}exit 4");
    let first = p.bash(&script);
    assert_eq!(first.code, 4);
    let second = p.bash(&script);
    assert_eq!(second.code, 4);
    assert!(second.ran(), "{second:#?}");
    assert_ne!(first.stdout, second.stdout);
}

#[test]
fn stdin_from_a_pipe_is_not_cached_but_from_a_file_it_is() {
    use std::io::Write;
    let p = Project::new();
    let piped = |input: &str| {
        let mut c = p.dry_cmd(&["build", "-v", "--", "bash", "-c", "echo $EPOCHREALTIME; cat"]);
        c.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = c.spawn().expect("spawn");
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write");
        super::harness::Run::from(child.wait_with_output().expect("wait"))
    };
    let first = piped("hello\n");
    first.assert_ran();
    assert!(first.stdout.ends_with("hello\n"));
    let second = piped("hello\n");
    second.assert_ran();
    assert!(second.stderr.contains("standard input"), "{second:#?}");

    p.write("in.txt", "from a file\n");
    let from_file = |name: &str| {
        let f = std::fs::File::open(p.path(name)).expect("open");
        let mut c = p.dry_cmd(&["build", "-v", "--", "bash", "-c", "echo $EPOCHREALTIME; cat"]);
        c.stdin(f);
        super::harness::Run::from(c.output().expect("run"))
    };
    let a = from_file("in.txt");
    a.assert_ran();
    let b = from_file("in.txt");
    b.assert_replayed();
    assert_eq!(a.stdout, b.stdout);
    p.write("other.txt", "another file\n");
    let c = from_file("other.txt");
    c.assert_ran();
    assert!(c.stdout.ends_with("another file\n"));
}

#[test]
fn check_has_no_side_effects() {
    let p = Project::new();
    p.write("in.txt", "v1\n");
    let script = format!("{STAMP}cp in.txt out.txt");
    let cmd = ["check", "--", "bash", "-c", script.as_str()];
    // Nothing recorded yet: would run.
    assert_eq!(p.dry(&cmd).status.code(), Some(1));
    p.bash(&script).assert_ran();
    assert_eq!(p.dry(&cmd).status.code(), Some(0));
    p.write("in.txt", "v2\n");
    let before = p.store_snapshot();
    let out = p.dry(&cmd);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(p.read("out.txt"), "v1\n", "check must not run or restore anything");
    assert_eq!(before, p.store_snapshot(), "check must not write to the store");
    // In a directory without a store, check creates none.
    let bare = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dry"))
        .args(["check", "--", "true"])
        .current_dir(bare.path())
        .env_remove("DRY_DIR")
        .output()
        .expect("dry check");
    assert_eq!(out.status.code(), Some(1));
    assert!(std::fs::symlink_metadata(bare.path().join(".dry")).is_err(), "no .dry created");
}

#[test]
fn outputs_are_restored_with_their_modes_and_removed_files_are_removed() {
    use std::os::unix::fs::PermissionsExt;
    let p = Project::new();
    p.write("old.txt", "old\n");
    let script = format!(
        "{STAMP}mkdir -p out/sub && printf '#!/bin/sh\\necho hi\\n' > out/run.sh && chmod 755 out/run.sh && ln -sf run.sh out/link && rm -f old.txt"
    );
    p.bash(&script).assert_ran();
    // The first run saw old.txt exist and removed it; old.txt being absent is the state the
    // run left (the output rule, notes/0005), so removing the outputs means a replay.
    std::fs::remove_dir_all(p.path("out")).expect("rm out");
    p.bash(&script).assert_replayed();
    let mode = std::fs::metadata(p.path("out/run.sh")).expect("run.sh").permissions().mode();
    assert_eq!(mode & 0o777, 0o755);
    assert_eq!(std::fs::read_link(p.path("out/link")).expect("link").to_str(), Some("run.sh"));
    assert!(std::fs::metadata(p.path("out/sub")).expect("sub").is_dir());
    assert!(std::fs::symlink_metadata(p.path("old.txt")).is_err());
}

#[test]
fn a_replay_leaves_outputs_in_place_alone_and_restores_the_others() {
    use std::os::unix::fs::MetadataExt;
    let p = Project::new();
    let script = format!("{STAMP}echo a > a.out; echo b > b.out");
    p.bash(&script).assert_ran();
    let inode = |f: &str| std::fs::symlink_metadata(p.path(f)).expect(f).ino();
    let a_before = inode("a.out");
    p.write("b.out", "edited\n");
    p.bash(&script).assert_replayed();
    assert_eq!(inode("a.out"), a_before, "a.out was in place: not rewritten");
    assert_eq!(p.read("b.out"), "b\n", "b.out was not: restored");
}

#[test]
fn a_command_reading_thousands_of_files_replays_until_one_changes_or_one_is_added() {
    // Above check::prefetch::MIN_PATHS (2 048 paths): the check takes its lstats, the stored
    // fingerprints' answers and the directory's listing ahead, on other threads.
    let p = Project::new();
    for i in 0..3000 {
        p.write(&format!("in/f{i:04}"), &format!("{i}\n"));
    }
    // Past the racy window, so the first build keeps every input's fingerprint and the checks
    // below answer content from the stored table.
    std::thread::sleep(std::time::Duration::from_millis(2300));
    let script = format!("{STAMP}cat in/* > all.txt");
    p.bash(&script).assert_ran();
    p.bash(&script).assert_replayed();
    p.write("in/f1234", "changed\n");
    let changed = p.bash(&script);
    changed.assert_ran();
    assert!(changed.stderr.contains("in/f1234"), "{changed:#?}");
    assert!(p.read("all.txt").contains("\n1233\nchanged\n1235\n"));
    p.bash(&script).assert_replayed();
    p.write("in/zz", "added\n");
    let added = p.bash(&script);
    added.assert_ran();
    assert!(added.stderr.contains("+zz"), "{added:#?}");
    assert!(p.read("all.txt").ends_with("2999\nadded\n"));
}
