//! `.dryignore` (issue 21, item 9): names a project's listings leave out. Without the file a
//! listing is compared in full (sound); with it, ignored names added or removed do not make
//! a command run again, and only listings are affected (notes/transparency.md, "`.dryignore`").

use super::harness::{Project, Run};

/// A script that imports a module, so that Python lists the script's directory (its first
/// `sys.path` entry) looking for it.
const SCRIPT: &str = "import json\nprint(json.dumps([1, 2]))\n";

fn why(p: &Project, cmd: &[&str]) -> String {
    let mut args = vec!["why", "--"];
    args.extend_from_slice(cmd);
    let out = p.dry(&args);
    assert!(out.status.success(), "dry why: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// (a) Python lists its script's directory: a new `notes.txt` makes it run again, unless
/// `.dryignore` ignores it; `dry why` then names the name left out.
#[test]
fn dryignore_python_is_not_rerun_for_an_ignored_new_file() {
    let p = Project::new();
    p.write("script.py", SCRIPT);
    let cmd = ["python3", "script.py"];
    p.build(&cmd).assert_ran();
    p.build(&cmd).assert_replayed();
    p.write("notes.txt", "a note\n");
    let r = p.build(&cmd);
    r.assert_ran();
    assert!(r.stderr.contains("notes.txt"), "the listing names it: {r:#?}");

    // `.dryignore` is a new name in the directory too: one run for it.
    p.write(".dryignore", "*.txt\n");
    p.build(&cmd).assert_ran();
    p.build(&cmd).assert_replayed();
    p.write("more.txt", "another\n");
    let r = p.build(&cmd);
    r.assert_replayed();
    assert_eq!(r.stdout, "[1, 2]\n");
    std::fs::remove_file(p.path("notes.txt")).expect("rm notes.txt");
    p.build(&cmd).assert_replayed();
    let said = why(&p, &cmd);
    assert!(said.contains("up to date"), "{said}");
    let line = said.lines().find(|l| l.contains("directory .: holds ignoring")).unwrap_or("");
    assert!(line.contains("more.txt") && line.contains("notes.txt"), "{said}");
    assert!(line.contains("(.dryignore)"), "{said}");

    // --strict compares every name.
    let strict = ["build", "-v", "--strict", "--", "python3", "script.py"];
    let r = Run::from(p.dry_cmd(&strict).output().expect("dry build --strict"));
    r.assert_ran();

    // A name not ignored still counts.
    p.write("other.py", "\n");
    p.build(&cmd).assert_ran();
}

/// (b) make with a wildcard lists its directory: an editor's swap file and a new empty
/// directory, both ignored, do not make it run again; a new source does.
#[test]
fn dryignore_make_ignores_swap_files_and_scratch_directories() {
    let p = Project::new();
    p.write("Makefile", "out: $(wildcard *.c)\n\tcat $^ > $@\n");
    p.write("main.c", "int main(void) { return 0; }\n");
    p.write(".dryignore", ".*.swp\ntmp/\n");
    let cmd = ["make"];
    p.build(&cmd).assert_ran();
    p.build(&cmd).assert_replayed();
    p.write(".main.c.swp", "swap");
    p.build(&cmd).assert_replayed();
    let out = p.dry(&["why", "out"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("produced by `make`") && said.contains("up to date"), "{said}");
    std::fs::create_dir(p.path("tmp")).expect("mkdir tmp");
    p.build(&cmd).assert_replayed();
    assert_eq!(p.read("out"), "int main(void) { return 0; }\n");
    p.write("util.c", "int util;\n");
    p.build(&cmd).assert_ran();
    assert_eq!(p.read("out"), "int main(void) { return 0; }\nint util;\n");
}

/// (c) Dropping a pattern from `.dryignore` counts the names it ignored again: a listing that
/// differs by them no longer holds. A name that was there when the listing was recorded, and
/// is gone, is one of them: listings are recorded in full, so the new rules see it.
#[test]
fn dryignore_dropping_a_pattern_counts_its_names_again() {
    let p = Project::new();
    p.write("Makefile", "out: $(wildcard *.c)\n\tcat $^ > $@\n");
    p.write("main.c", "int x;\n");
    p.write(".dryignore", ".*.swp\n*.txt\n");
    let cmd = ["make"];
    p.build(&cmd).assert_ran();
    p.write(".main.c.swp", "swap");
    p.build(&cmd).assert_replayed();
    p.write(".dryignore", "*.txt\n");
    p.build(&cmd).assert_ran();
    p.build(&cmd).assert_replayed();

    // `ls` acts on the names: an ignored name removed is replayed with the old output (what
    // `.dryignore` trades away). Recorded with `notes.txt` there and ignored, then removed: once
    // the pattern is dropped the listing counts it again, and was recorded with it.
    let q = Project::new();
    q.write("notes.txt", "n\n");
    q.write(".dryignore", "*.txt\n");
    assert_eq!(q.build(&["ls"]).assert_ran().stdout, "notes.txt\n");
    std::fs::remove_file(q.path("notes.txt")).expect("rm notes.txt");
    assert_eq!(q.build(&["ls"]).assert_replayed().stdout, "notes.txt\n", "the trade-off");
    q.write(".dryignore", "# nothing ignored\n");
    assert_eq!(q.build(&["ls"]).assert_ran().stdout, "");
}

/// (d) An ignored file that the command reads is an input like any other.
#[test]
fn dryignore_an_ignored_file_that_is_read_is_still_an_input() {
    let p = Project::new();
    p.write(".dryignore", "*.txt\n");
    p.write("data.txt", "one\n");
    p.write("script.py", "import json\nprint(open('data.txt').read(), end='')\n");
    let cmd = ["python3", "script.py"];
    assert_eq!(p.build(&cmd).assert_ran().stdout, "one\n");
    p.build(&cmd).assert_replayed();
    p.write("data.txt", "two\n");
    assert_eq!(p.build(&cmd).assert_ran().stdout, "two\n");
    std::fs::remove_file(p.path("data.txt")).expect("rm data.txt");
    let r = p.build(&cmd);
    assert!(r.ran() && r.code != 0, "the file it opens is gone: {r:#?}");
}

/// A nested step is checked under the same rules: the script's step is skipped in place when
/// only an ignored name was added, while the step whose input changed runs.
#[test]
fn dryignore_applies_to_nested_steps() {
    let p = Project::new();
    p.write(".dryignore", "*.txt\n");
    p.write("script.py", SCRIPT);
    p.write("in", "1\n");
    let script = "cat in > out; python3 script.py > py.out";
    p.bash(script).assert_ran();
    p.write("in", "2\n");
    p.write("notes.txt", "a note\n");
    let r = p.bash(script);
    r.assert_ran();
    assert!(r.stderr.contains("dry: nested: replayed `python3 script.py`"), "{r:#?}");
    assert!(r.stderr.contains("dry: nested: ran `cat in`"), "{r:#?}");
    assert_eq!(p.read("py.out"), "[1, 2]\n");
}
