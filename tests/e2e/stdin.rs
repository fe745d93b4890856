//! SPEC §3 and §6, notes/0002-stdin.md: what a command's standard input is (a regular file and
//! its content, `/dev/null`, a pipe or terminal) is an input of every command, top-level or
//! nested, checked before any replay; a nested step whose standard input is a pipe set up by
//! the tree (a here-document, a pipeline stage) is never replayed.

use super::harness::{Project, Run};

/// Runs `dry build -v -- CMD` with `rel` (a file of the project) on its standard input.
fn build_from(p: &Project, rel: &str, cmd: &[&str]) -> Run {
    let mut args = vec!["build", "-v", "--"];
    args.extend_from_slice(cmd);
    let f = std::fs::File::open(p.path(rel)).expect("open stdin file");
    Run::from(p.dry_cmd(&args).stdin(f).output().expect("running dry build"))
}

#[test]
fn a_here_document_is_not_replayed_from_a_step_that_read_dev_null() {
    // The first `cat`'s entry (stdin /dev/null, output empty) must not stand for the second,
    // whose stdin is a here-document: bash writes a small one into a pipe.
    let p = Project::new();
    p.write("s.sh", "cat </dev/null\ncat > out <<EOF\nhello\nEOF\ncat out\n");
    let first = p.build(&["bash", "s.sh"]);
    first.assert_ran();
    assert_eq!(p.read("out"), "hello\n", "{first:#?}");
    assert_eq!(first.stdout, "hello\n", "{first:#?}");
    std::fs::remove_file(p.path("out")).expect("rm out");
    let second = p.build(&["bash", "s.sh"]);
    assert_eq!(second.code, 0, "{second:#?}");
    assert_eq!(p.read("out"), "hello\n", "{second:#?}");
    assert_eq!(second.stdout, "hello\n", "{second:#?}");
}

#[test]
fn a_big_here_document_in_a_deleted_temp_file_is_an_input() {
    // bash puts a here-document bigger than a pipe's buffer into a temporary file that it
    // deletes before the exec: a regular file with no name, hashed through /proc/PID/fd/0. It
    // is not the /dev/null of the first `md5sum`, nor the here-document of the second.
    let p = Project::new();
    let script = |c: char| {
        let body: String = std::iter::repeat_n(c, 100_000).collect();
        format!("md5sum </dev/null\nmd5sum <<EOF\n{body}\nEOF\nmd5sum <<EOF\n{body}{body}\nEOF\n")
    };
    let md5 = |s: &str| {
        let mut c = std::process::Command::new("md5sum");
        c.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
        let mut child = c.spawn().expect("md5sum");
        std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), s.as_bytes())
            .expect("write");
        String::from_utf8(child.wait_with_output().expect("md5sum").stdout).expect("utf-8")
    };
    let want = |c: char| {
        let body: String = std::iter::repeat_n(c, 100_000).collect();
        md5("") + &md5(&format!("{body}\n")) + &md5(&format!("{body}{body}\n"))
    };
    p.write("s.sh", &script('a'));
    let first = p.build(&["bash", "s.sh"]);
    first.assert_ran();
    assert_eq!(first.stdout, want('a'), "{first:#?}");
    p.write("s.sh", &script('b'));
    let second = p.build(&["bash", "s.sh"]);
    second.assert_ran();
    assert_eq!(second.stdout, want('b'), "{second:#?}");
}

#[test]
fn redirected_files_on_stdin_are_told_apart_in_one_build_and_across_builds() {
    let p = Project::new();
    p.write("a", "from a\n");
    p.write("b", "from b\n");
    let script = "cat </dev/null; cat < a; cat < b";
    let first = p.bash(script);
    first.assert_ran();
    assert_eq!(first.stdout, "from a\nfrom b\n", "{first:#?}");
    p.write("a", "edited a\n");
    let second = p.bash(script);
    second.assert_ran();
    assert_eq!(second.stdout, "edited a\nfrom b\n", "{second:#?}");
    p.write("b", "edited b\n");
    let third = p.bash(script);
    third.assert_ran();
    assert_eq!(third.stdout, "edited a\nedited b\n", "{third:#?}");
    let fourth = p.bash(script);
    fourth.assert_replayed();
    assert_eq!(fourth.stdout, "edited a\nedited b\n", "{fourth:#?}");
}

#[test]
fn pipeline_stages_reading_different_pipes_give_different_output() {
    let p = Project::new();
    // `cat /dev/stdin` reads the pipe through a descriptor of its own, not fd 0.
    let script = "cat </dev/null; echo x | cat; echo y | cat; \
                  echo x | cat /dev/stdin; echo y | cat /dev/stdin";
    let first = p.bash(script);
    first.assert_ran();
    assert_eq!(first.stdout, "x\ny\nx\ny\n", "{first:#?}");
    let script2 = "cat </dev/null; echo z | cat; echo w | cat /dev/stdin";
    let second = p.bash(script2);
    second.assert_ran();
    assert_eq!(second.stdout, "z\nw\n", "{second:#?}");
}

#[test]
fn the_top_level_command_is_not_replayed_for_another_kind_of_stdin() {
    let p = Project::new();
    p.write("in.txt", "from a file\n");
    // Recorded with /dev/null on stdin (the harness's default)...
    let first = p.build(&["cat"]);
    first.assert_ran();
    assert_eq!(first.stdout, "");
    p.build(&["cat"]).assert_replayed();
    // ...not replayed with a file on it.
    let from_file = build_from(&p, "in.txt", &["cat"]);
    from_file.assert_ran();
    assert_eq!(from_file.stdout, "from a file\n");
    assert!(from_file.stderr.contains("standard input"), "{from_file:#?}");
    build_from(&p, "in.txt", &["cat"]).assert_replayed();
    // And back to /dev/null: the first entry holds again.
    let again = p.build(&["cat"]);
    again.assert_replayed();
    assert_eq!(again.stdout, "");
}

#[test]
fn show_names_what_stdin_was() {
    let p = Project::new();
    p.build(&["true"]).assert_ran();
    let json = p.show_json_of(&["true"]);
    assert!(json.contains(r#"{"type":"stdin_is","kind":"null"}"#), "{json}");
    p.bash("echo x | cat").assert_ran();
    let json = p.show_json_of(&["cat"]);
    assert!(json.contains(r#""reason":"stream_stdin""#), "{json}");
}

#[test]
fn an_autoconf_configure_script_runs_and_reruns() {
    // configure writes its substitutions with `cat > conf$$subs.awk <<_ACEOF`: a replay of an
    // earlier `cat` left them empty and configure failed. Needs autoconf (.ci/run installs it).
    let p = Project::new();
    p.write("configure.ac", "AC_INIT([x],[1])\nAC_CONFIG_FILES([out])\nAC_OUTPUT\n");
    p.write("out.in", "v=@PACKAGE_VERSION@\n");
    let autoconf = std::process::Command::new("autoconf").current_dir(&p.root).status().expect(
        "autoconf is required by this test; .ci/run installs it (apt-get install autoconf)",
    );
    assert!(autoconf.success(), "autoconf failed");
    let first = p.build(&["./configure"]);
    first.assert_ran();
    assert_eq!(p.read("out"), "v=1\n", "{first:#?}");
    std::fs::remove_file(p.path("out")).expect("rm out");
    let second = p.build(&["./configure"]);
    assert_eq!(second.code, 0, "{second:#?}");
    assert_eq!(p.read("out"), "v=1\n", "{second:#?}");
    p.write("out.in", "v=@PACKAGE_VERSION@ again\n");
    let third = p.build(&["./configure"]);
    third.assert_ran();
    assert_eq!(p.read("out"), "v=1 again\n", "{third:#?}");
}
