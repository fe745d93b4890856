//! SPEC §6: nested commands are recorded and skipped in place, so plain scripts and make redo
//! only the steps whose inputs changed.

use super::harness::{Project, Run};

/// The nested steps a verbose build reports: (replayed?, argv text).
fn steps(run: &Run) -> Vec<(bool, String)> {
    run.stderr
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("dry: nested: ")?;
            let replayed = rest.starts_with("replayed");
            let cmd = rest.split('`').nth(1)?.to_string();
            Some((replayed, cmd))
        })
        .collect()
}

fn ran(run: &Run, needle: &str) -> bool {
    steps(run).iter().any(|(replayed, cmd)| !replayed && cmd.contains(needle))
}

fn replayed(run: &Run, needle: &str) -> bool {
    steps(run).iter().any(|(replayed, cmd)| *replayed && cmd.contains(needle))
}

fn c_project() -> Project {
    let p = Project::new();
    p.write("a.c", "int a(void) { return 1; }\n");
    p.write("b.c", "int b(void) { return 2; }\n");
    p.write(
        "main.c",
        "#include <stdio.h>\nint a(void); int b(void);\nint main(void) { printf(\"%d\\n\", a() + b()); return 0; }\n",
    );
    p.write(
        "build.sh",
        "#!/bin/sh\nset -e\ncc -g0 -c a.c -o a.o\ncc -g0 -c b.c -o b.o\ncc -g0 -c main.c -o main.o\ncc a.o b.o main.o -o prog\n",
    );
    std::process::Command::new("chmod").arg("+x").arg(p.path("build.sh")).status().expect("chmod");
    p
}

fn run_prog(p: &Project) -> String {
    let out = std::process::Command::new(p.path("prog")).output().expect("run prog");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn changing_one_c_file_reruns_only_its_compile_and_the_link() {
    let p = c_project();
    p.build(&["./build.sh"]).assert_ran();
    assert_eq!(run_prog(&p), "3\n");
    p.write("b.c", "int b(void) { return 40; }\n");
    let second = p.build(&["./build.sh"]);
    second.assert_ran();
    assert!(replayed(&second, "-c a.c"), "{second:#?}");
    assert!(replayed(&second, "-c main.c"), "{second:#?}");
    assert!(ran(&second, "-c b.c"), "{second:#?}");
    assert!(ran(&second, "-o prog"), "the link reruns: {second:#?}");
    assert_eq!(run_prog(&p), "41\n");
    // `dry why` tells the same story about the last build's steps.
    let why = String::from_utf8_lossy(&p.dry(&["why"]).stdout).into_owned();
    assert!(why.contains("ran `cc -g0 -c b.c -o b.o`: b.c: content changed"), "{why}");
    assert!(why.contains("replayed `cc -g0 -c a.c -o a.o`"), "{why}");
    // Nothing changed: the whole script is replayed at the top.
    p.build(&["./build.sh"]).assert_replayed();
}

#[test]
fn early_cutoff_a_comment_only_change_does_not_relink() {
    let p = c_project();
    p.build(&["./build.sh"]).assert_ran();
    p.write("a.c", "/* a comment */\nint a(void) { return 1; }\n");
    let second = p.build(&["./build.sh"]);
    second.assert_ran();
    assert!(ran(&second, "-c a.c"), "{second:#?}");
    assert!(replayed(&second, "-o prog"), "identical a.o: the link is replayed: {second:#?}");
    assert_eq!(run_prog(&p), "3\n");
}

#[test]
fn make_reruns_touched_recipes_and_dry_replays_them() {
    let p = c_project();
    p.write(
        "Makefile",
        "prog: a.o b.o main.o\n\tcc a.o b.o main.o -o prog\n%.o: %.c\n\tcc -g0 -c $< -o $@\n",
    );
    p.build(&["make", "-j2"]).assert_ran();
    assert_eq!(run_prog(&p), "3\n");
    // Touch every source: make reruns every recipe; dry replays every one of them.
    let touch_sources = || {
        std::thread::sleep(std::time::Duration::from_millis(20));
        for f in ["a.c", "b.c", "main.c"] {
            let now = std::time::SystemTime::now();
            let file = std::fs::File::options().write(true).open(p.path(f)).expect("open");
            file.set_modified(now).expect("touch");
        }
    };
    touch_sources();
    // Timestamps are not inputs: the whole make is replayed at the top.
    p.build(&["make", "-j2"]).assert_replayed();
    // (The replay rewrote the outputs; make the sources newer again.)
    touch_sources();
    // Run as another command (the target named: a key with no entry), make sees the touched
    // sources and reruns every recipe; dry replays each. (`--force` would run them all:
    // `r21_force_runs_nested_steps_too`.)
    let touched = p.build(&["make", "-j2", "prog"]);
    assert_eq!(touched.code, 0, "{touched:#?}");
    for step in ["-c a.c", "-c b.c", "-c main.c", "-o prog"] {
        assert!(replayed(&touched, step), "{step} replayed: {touched:#?}");
        assert!(!ran(&touched, step), "{step} not run: {touched:#?}");
    }
    assert_eq!(run_prog(&p), "3\n");
    // An edit under make -j2 reruns just that compile and the link.
    p.write("a.c", "int a(void) { return 100; }\n");
    let edited = p.build(&["make", "-j2"]);
    assert!(ran(&edited, "-c a.c") && ran(&edited, "-o prog"), "{edited:#?}");
    assert!(!ran(&edited, "-c b.c"), "make does not even start it: {edited:#?}");
    assert_eq!(run_prog(&p), "102\n");
}

#[test]
fn the_capture_of_a_skipped_step_sees_its_recorded_stdout() {
    let p = Project::new();
    p.write("name.txt", "world\n");
    p.write("other.txt", "1\n");
    let script =
        "v=$(tr a-z A-Z < name.txt); echo \"hello $v\" > out.txt; cat other.txt >> out.txt";
    p.bash(script).assert_ran();
    assert_eq!(p.read("out.txt"), "hello WORLD\n1\n");
    p.write("other.txt", "2\n");
    let second = p.bash(script);
    second.assert_ran();
    assert!(replayed(&second, "tr a-z A-Z"), "{second:#?}");
    assert_eq!(p.read("out.txt"), "hello WORLD\n2\n");
    // Its input changes: the step reruns.
    p.write("name.txt", "there\n");
    let third = p.bash(script);
    assert!(ran(&third, "tr a-z A-Z"), "{third:#?}");
    assert_eq!(p.read("out.txt"), "hello THERE\n2\n");
}

#[test]
fn a_pipeline_stage_is_not_replayed_with_stale_input() {
    let p = Project::new();
    p.write("in.txt", "abc\n");
    p.write("extra.txt", "x\n");
    let script = "cat in.txt | tr a-z A-Z > out.txt; cat extra.txt > extra.out";
    p.bash(script).assert_ran();
    assert_eq!(p.read("out.txt"), "ABC\n");
    p.write("in.txt", "def\n");
    p.bash(script).assert_ran();
    assert_eq!(p.read("out.txt"), "DEF\n");
}

#[test]
fn a_failing_probe_is_replayed_with_its_status() {
    let p = Project::new();
    p.write("probe.sh", "#!/bin/sh\necho probing >&2\ntest -e feature.h\n");
    std::process::Command::new("chmod").arg("+x").arg(p.path("probe.sh")).status().expect("chmod");
    p.write("unrelated.txt", "1\n");
    let script = "if ./probe.sh; then echo yes > result.txt; else echo no > result.txt; fi; cat unrelated.txt > u.txt";
    p.bash(script).assert_ran();
    assert_eq!(p.read("result.txt"), "no\n");
    p.write("unrelated.txt", "2\n");
    let second = p.bash(script);
    second.assert_ran();
    assert!(replayed(&second, "probe.sh"), "{second:#?}");
    assert!(second.stderr.contains("probing"), "the probe's stderr is replayed: {second:#?}");
    assert_eq!(p.read("result.txt"), "no\n", "its non-zero status is replayed");
    p.write("feature.h", "");
    let third = p.bash(script);
    assert!(ran(&third, "probe.sh"), "{third:#?}");
    assert_eq!(p.read("result.txt"), "yes\n");
}

#[test]
fn skipped_steps_write_in_order_into_one_redirected_file() {
    let p = Project::new();
    for i in 0..4 {
        p.write(&format!("part{i}.txt"), &format!("part {i}\n"));
    }
    p.write("trigger.txt", "1\n");
    let script =
        "{ for i in 0 1 2 3; do tr a-z A-Z < part$i.txt; done; cat trigger.txt; } > all.txt";
    p.bash(script).assert_ran();
    assert_eq!(p.read("all.txt"), "PART 0\nPART 1\nPART 2\nPART 3\n1\n");
    p.write("trigger.txt", "2\n");
    let second = p.bash(script);
    second.assert_ran();
    let skipped = steps(&second).iter().filter(|(r, c)| *r && c.contains("tr a-z")).count();
    assert_eq!(skipped, 4, "{second:#?}");
    assert_eq!(p.read("all.txt"), "PART 0\nPART 1\nPART 2\nPART 3\n2\n");
}

#[test]
fn show_lists_nested_entries_and_no_nested_turns_it_off() {
    let p = c_project();
    let first =
        super::harness::Run::from(p.dry(&["build", "-v", "--no-nested", "--", "./build.sh"]));
    assert!(first.ran() && steps(&first).is_empty(), "{first:#?}");
    p.dry(&["build", "--force", "--", "./build.sh"]);
    let show = String::from_utf8_lossy(&p.dry(&["show"]).stdout).into_owned();
    assert!(show.contains("command: cc -g0 -c a.c -o a.o"), "{show}");
}

#[test]
fn a_command_run_twice_in_one_build_is_skipped_the_second_time() {
    // The first `wc`'s entry is written off the tracer's thread (src/record/writer.rs); the
    // second exec waits for it, so it is found and replayed, every time.
    let p = Project::new();
    p.write("in.txt", "hello\n");
    let run = p.build(&["sh", "-c", "wc -c in.txt; wc -c in.txt"]);
    run.assert_ran();
    assert_eq!(run.stdout, "6 in.txt\n6 in.txt\n", "{run:#?}");
    let steps = steps(&run);
    assert_eq!(
        steps,
        vec![(false, "wc -c in.txt".to_string()), (true, "wc -c in.txt".to_string())],
        "{run:#?}"
    );
    // Both entries of the build are in the store once it is over.
    let json = p.show_json_of(&["wc", "-c", "in.txt"]);
    assert!(json.contains("in.txt"), "{json}");
}
