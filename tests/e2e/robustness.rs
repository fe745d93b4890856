//! Bad input and bad luck: corrupt store files, parallel builds, a kill -9 mid-build.

use super::harness::{Project, STAMP};
use std::path::PathBuf;

fn files_under(dir: PathBuf) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn a_corrupt_database_is_reported_and_treated_as_a_miss() {
    let p = Project::new();
    p.write("in.txt", "in\n");
    let script = format!("{STAMP}cp in.txt out.txt");
    p.bash(&script).assert_ran();
    let dbs = files_under(p.path(".dry/entries"));
    assert!(!dbs.is_empty(), "an entry database exists");
    for db in &dbs {
        let mut bytes = std::fs::read(db).expect("read db");
        let n = bytes.len();
        bytes[n / 2] ^= 0xff;
        bytes.truncate(n - 3);
        std::fs::write(db, bytes).expect("corrupt db");
    }
    let after = p.bash(&script);
    after.assert_ran();
    assert!(after.stderr.contains("corrupt"), "the corruption is reported: {after:#?}");
    assert!(!after.stderr.contains("panicked"));
    // The corrupt database was replaced: the next build replays.
    p.bash(&script).assert_replayed();
    // Garbage and empty files too.
    for db in files_under(p.path(".dry/entries")) {
        std::fs::write(&db, b"").expect("empty");
    }
    p.bash(&script).assert_ran();
    assert_eq!(p.read("out.txt"), "in\n");
}

#[test]
fn a_corrupt_object_is_never_restored() {
    let p = Project::new();
    p.write("in.txt", "precious input\n");
    let script = format!("{STAMP}tr a-z A-Z < in.txt > out.txt");
    p.bash(&script).assert_ran();
    std::fs::remove_file(p.path("out.txt")).expect("rm out");
    for obj in files_under(p.path(".dry/objects")) {
        let mut bytes = std::fs::read(&obj).expect("read object");
        if bytes == b"PRECIOUS INPUT\n" {
            bytes[0] = b'X';
            std::fs::write(&obj, bytes).expect("corrupt object");
        }
    }
    let after = p.bash(&script);
    assert_eq!(after.code, 0, "{after:#?}");
    assert!(after.ran(), "a corrupt object means running again: {after:#?}");
    assert_eq!(p.read("out.txt"), "PRECIOUS INPUT\n");
    assert_eq!(p.read("in.txt"), "precious input\n");
}

#[test]
fn parallel_builds_in_one_project_are_all_recorded() {
    let p = Project::new();
    for i in 0..6 {
        p.write(&format!("in{i}.txt"), &format!("{i}\n"));
    }
    let script = |i: usize| format!("{STAMP}cp in{i}.txt out{i}.txt; cat in.txt 2>/dev/null; true");
    let mut children = Vec::new();
    for i in 0..6 {
        let s = script(i);
        children.push(p.dry_cmd(&["build", "-v", "--", "bash", "-c", &s]).output());
    }
    // Also several builds of one and the same command at once.
    let same = script(0);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let mut c = p.dry_cmd(&["build", "--", "bash", "-c", &same]);
            std::thread::spawn(move || c.output().expect("dry build"))
        })
        .collect();
    for h in handles {
        let out = h.join().expect("thread");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    for c in children {
        assert!(c.expect("dry build").status.success());
    }
    for i in 0..6 {
        assert_eq!(p.read(&format!("out{i}.txt")), format!("{i}\n"));
        let again = p.bash(&script(i));
        again.assert_replayed();
    }
}

#[test]
fn concurrent_builds_really_overlap() {
    let p = Project::new();
    let kids: Vec<std::process::Child> = (0..4)
        .map(|i| {
            let s = format!("{STAMP}sleep 0.3; echo {i} > par{i}.txt");
            // Pipes, as `p.bash` gives below: stdout and stderr inherited from the test runner
            // may be a terminal or one stream, another key (notes/transparency.md).
            let mut c = p.dry_cmd(&["build", "--", "bash", "-c", &s]);
            c.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
            c.spawn().expect("spawn")
        })
        .collect();
    for k in kids {
        assert!(k.wait_with_output().expect("wait").status.success());
    }
    for i in 0..4 {
        let s = format!("{STAMP}sleep 0.3; echo {i} > par{i}.txt");
        p.bash(&s).assert_replayed();
    }
}

#[test]
fn kill_9_in_the_middle_of_a_build_leaves_the_cache_usable() {
    let p = Project::new();
    p.write("in.txt", "x\n");
    let quick = format!("{STAMP}cp in.txt quick.txt");
    p.bash(&quick).assert_ran();
    let slow = "echo started > slow.txt; sleep 30";
    let mut child = p.dry_cmd(&["build", "--", "bash", "-c", slow]).spawn().expect("spawn");
    // Wait until the traced command has really started.
    for _ in 0..200 {
        if std::fs::symlink_metadata(p.path("slow.txt")).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert!(std::fs::symlink_metadata(p.path("slow.txt")).is_ok(), "the slow build started");
    child.kill().expect("kill -9");
    let _ = child.wait();
    // The cache still works: the earlier entry replays, new builds record.
    p.bash(&quick).assert_replayed();
    let show = p.dry(&["show"]);
    assert!(show.status.success(), "{}", String::from_utf8_lossy(&show.stderr));
    p.bash("echo after > after.txt").assert_ran();
    p.bash("echo after > after.txt").assert_replayed();
}

#[test]
fn a_replay_never_removes_a_directory_that_has_gained_files() {
    let p = Project::new();
    std::fs::create_dir(p.path("d")).expect("mkdir");
    let script = "rmdir d 2>/dev/null; echo done";
    p.bash(script).assert_ran();
    assert!(std::fs::symlink_metadata(p.path("d")).is_err(), "the run removed the empty d");
    p.write("d/keep.txt", "precious\n");
    let again = p.bash(script);
    again.assert_ran();
    assert!(again.stderr.contains("directory d: listing changed"), "{again:#?}");
    assert_eq!(p.read("d/keep.txt"), "precious\n", "a user file survives");
    // And with d empty again, the first entry is replayed: d is removed without running.
    std::fs::remove_file(p.path("d/keep.txt")).expect("rm");
    p.bash(script).assert_replayed();
    assert!(std::fs::symlink_metadata(p.path("d")).is_err());
}

/// Copies the whole tree `from` (its `.dry/` included) into `to`.
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from.join("."))
        .arg(to)
        .status()
        .expect("running cp");
    assert!(status.success(), "cp -a failed");
}

#[test]
fn a_copied_project_checks_its_own_files_not_the_originals() {
    let p = Project::new();
    p.write("src.txt", "original\n");
    // The same environment in both places (no PWD, the same HOME): only the place differs.
    let env = [("HOME", "/")];
    let cmd = ["sh", "-c", "cat src.txt > out.txt"];
    p.build_env(&env, &cmd).assert_ran();
    let q = Project::new();
    copy_tree(&p.root, &q.root);
    q.write("src.txt", "edited in the copy\n");
    q.build_env(&env, &cmd).assert_ran();
    assert_eq!(q.read("out.txt"), "edited in the copy\n");
    q.build_env(&env, &cmd).assert_replayed();
    p.build_env(&env, &cmd).assert_replayed();
    assert_eq!(p.read("out.txt"), "original\n");
}

#[test]
fn two_directories_sharing_a_dry_dir_keep_their_entries_apart() {
    let shared = tempfile::tempdir().expect("tempdir");
    let dry_dir = shared.path().to_str().expect("utf-8 path").to_string();
    let (p, q) = (Project::new(), Project::new());
    p.write("src.txt", "p\n");
    q.write("src.txt", "q\n");
    let env = [("HOME", "/"), ("DRY_DIR", dry_dir.as_str())];
    let cmd = ["sh", "-c", "cat src.txt > out.txt"];
    p.build_env(&env, &cmd).assert_ran();
    q.build_env(&env, &cmd).assert_ran();
    assert_eq!((p.read("out.txt"), q.read("out.txt")), ("p\n".to_string(), "q\n".to_string()));
    p.build_env(&env, &cmd).assert_replayed();
    q.build_env(&env, &cmd).assert_replayed();
}
