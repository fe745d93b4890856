//! The command line's contract: exit statuses, `why`, `show`, help.

use super::harness::{Project, STAMP};

#[test]
fn exit_statuses_follow_env_and_timeout_conventions() {
    let p = Project::new();
    let code = |args: &[&str]| p.dry(args).status.code();
    assert_eq!(code(&["build", "--", "no-such-command-xyz"]), Some(127));
    p.write("plain.sh", "echo hi\n");
    assert_eq!(code(&["build", "--", "./plain.sh"]), Some(126));
    assert_eq!(code(&["build"]), Some(2));
    assert_eq!(code(&["no-such-subcommand"]), Some(2));
    assert_eq!(code(&["build", "--", "sh", "-c", "exit 7"]), Some(7));
}

#[test]
fn build_prints_nothing_of_its_own_on_stdout() {
    let p = Project::new();
    let first = p.bash("printf 'exact bytes\\n'");
    assert_eq!(first.stdout, "exact bytes\n");
    let second = p.bash("printf 'exact bytes\\n'");
    second.assert_replayed();
    assert_eq!(second.stdout, "exact bytes\n");
    assert!(second.stderr.lines().all(|l| l.starts_with("dry:")), "{second:#?}");
}

#[test]
fn why_names_the_file_that_changed() {
    let p = Project::new();
    p.write("in.txt", "1\n");
    let script = format!("{STAMP}cat in.txt > out.txt");
    p.bash(&script).assert_ran();
    p.write("in.txt", "2\n");
    let why = p.dry(&["why", "--", "bash", "-c", &script]);
    let text = String::from_utf8_lossy(&why.stdout);
    assert!(text.contains("in.txt: content changed"), "{text}");
    // Without a command: the last build.
    let last = p.dry(&["why"]);
    let text = String::from_utf8_lossy(&last.stdout);
    assert!(text.contains("in.txt: content changed"), "{text}");
    // By path: which command produced out.txt, and is it up to date?
    let by_path = p.dry(&["why", "out.txt"]);
    let text = String::from_utf8_lossy(&by_path.stdout);
    assert!(text.contains("produced by `bash -c"), "{text}");
    assert!(text.contains("out of date") && text.contains("in.txt: content changed"), "{text}");
    p.bash(&script).assert_ran();
    let text = String::from_utf8_lossy(&p.dry(&["why", "out.txt"]).stdout).into_owned();
    assert!(text.contains("up to date"), "{text}");
}

#[test]
fn show_lists_predicates_effects_and_sizes() {
    let p = Project::new();
    p.write("in.txt", "abc\n");
    p.bash("cat in.txt > out.txt; echo done; echo warn >&2").assert_ran();
    let out = p.dry(&["show"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("in.txt has content"), "{text}");
    assert!(text.contains("out.txt: regular file"), "{text}");
    assert!(text.contains("stdout: 5 bytes") && text.contains("stderr: 5 bytes"), "{text}");
    let json = p.show_json();
    assert!(json.starts_with("{\"entries\":[{"), "{json}");
    assert!(json.contains("\"stdout_bytes\":5"), "{json}");
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    let p = Project::new();
    for sub in ["build", "why", "check", "show", "log", "gc", "clean"] {
        let out = p.dry(&[sub, "--help"]);
        assert!(out.status.success(), "{sub} --help");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Example"),
            "{sub} --help has an example"
        );
    }
}

#[test]
fn log_gc_and_clean_trim_the_cache_and_never_touch_user_files() {
    let p = Project::new();
    p.write("in.txt", "1\n");
    let script = format!("{STAMP}cat in.txt > out.txt");
    p.bash(&script).assert_ran();
    p.bash(&script).assert_replayed();
    let log = String::from_utf8_lossy(&p.dry(&["log"]).stdout).into_owned();
    assert!(log.contains("ran") && log.contains("replayed"), "{log}");
    let gc = p.dry(&["gc", "--keep", "1"]);
    assert!(gc.status.success(), "{}", String::from_utf8_lossy(&gc.stderr));
    p.bash(&script).assert_replayed();
    let clean = p.dry(&["clean"]);
    assert!(clean.status.success());
    assert_eq!(p.read("out.txt"), "1\n", "clean leaves the user's files alone");
    assert_eq!(p.read("in.txt"), "1\n");
    p.bash(&script).assert_ran();
}
