//! One test per lowering rule of SPEC §3, observed through `dry show --json` on real commands.

use super::harness::{Project, STAMP};

fn has(json: &str, needle: &str) -> bool {
    json.contains(needle)
}

#[test]
fn a_read_of_its_own_write_is_not_an_input() {
    let p = Project::new();
    let script = "echo a > t.txt; cat t.txt > u.txt";
    p.bash(script).assert_ran();
    let json = p.show_json_of(&["bash", "-c", script]);
    let t = p.path("t.txt").display().to_string();
    assert!(!has(&json, &format!(r#""type":"content","path":"{t}""#)), "{json}");
    assert!(has(&json, &format!(r#""type":"file","path":"{t}""#)), "{json}");
}

#[test]
fn a_file_created_and_removed_leaves_only_its_absence_and_its_probe_stays() {
    let p = Project::new();
    let script = "test -e tmp.txt || echo a > tmp.txt; rm tmp.txt";
    p.bash(script).assert_ran();
    let json = p.show_json_of(&["bash", "-c", script]);
    let tmp = p.path("tmp.txt").display().to_string();
    assert!(!has(&json, &format!(r#""path":"{tmp}","hash""#)), "no file effect: {json}");
    // Its absence is an output a replay has nothing to do for (gap G6 of notes/model.md).
    assert!(has(&json, &format!(r#""type":"absent","path":"{tmp}""#)), "absent effect: {json}");
    assert!(has(&json, r#""type":"does_not_resolve","path":"tmp.txt""#), "the probe stays: {json}");
    // Creating tmp.txt beforehand changes what the command would see.
    p.write("tmp.txt", "x");
    p.bash("test -e tmp.txt || echo a > tmp.txt; rm tmp.txt").assert_ran();
}

#[test]
fn appending_to_an_existing_file_makes_its_prior_content_an_input() {
    let p = Project::new();
    p.write("log.txt", "first\n");
    let script = format!("{STAMP}echo more >> log.txt");
    p.bash(&script).assert_ran();
    let json = p.show_json();
    let log = p.path("log.txt").display().to_string();
    assert!(has(&json, &format!(r#""type":"content","path":"{log}""#)), "{json}");
    assert_eq!(p.read("log.txt"), "first\nmore\n");
    // The file now holds the output; running again would append again, so dry must rerun.
    p.bash(&script).assert_ran();
    assert_eq!(p.read("log.txt"), "first\nmore\nmore\n");
}

#[test]
fn a_read_write_open_makes_prior_content_an_input() {
    let p = Project::new();
    p.write("data.txt", "0123456789\n");
    let script = "import sys\nwith open('data.txt', 'r+') as f:\n    f.write('X')\n";
    p.write("rw.py", script);
    p.build(&["python3", "rw.py"]).assert_ran();
    let json = p.show_json();
    let data = p.path("data.txt").display().to_string();
    assert!(has(&json, &format!(r#""type":"content","path":"{data}""#)), "{json}");
    assert!(has(&json, &format!(r#""type":"file","path":"{data}""#)), "{json}");
    assert_eq!(p.read("data.txt"), "X123456789\n");
}

#[test]
fn rename_moves_content_and_leaves_the_source_absent() {
    let p = Project::new();
    p.write("a.txt", "payload\n");
    p.build(&["mv", "a.txt", "b.txt"]).assert_ran();
    let json = p.show_json();
    let (a, b) = (p.path("a.txt").display().to_string(), p.path("b.txt").display().to_string());
    assert!(has(&json, &format!(r#""type":"absent","path":"{a}""#)), "{json}");
    assert!(has(&json, &format!(r#""type":"file","path":"{b}""#)), "{json}");
    assert!(has(&json, &format!(r#""type":"content","path":"{a}""#)), "{json}");
    // Put a.txt back and remove b.txt: the replay recreates b.txt and removes a.txt.
    std::fs::rename(p.path("b.txt"), p.path("a.txt")).expect("mv back");
    p.build(&["mv", "a.txt", "b.txt"]).assert_replayed();
    assert_eq!(p.read("b.txt"), "payload\n");
    assert!(std::fs::symlink_metadata(p.path("a.txt")).is_err());
}

#[test]
fn renaming_a_file_onto_itself_changes_nothing() {
    let p = Project::new();
    p.write("f", "same\n");
    p.write("mv.py", "import os\nos.rename('f', './f')\n");
    p.build(&["python3", "mv.py"]).assert_ran();
    let json = p.show_json();
    let f = p.path("f").display().to_string();
    assert!(!has(&json, &format!(r#""type":"file","path":"{f}""#)), "no effect: {json}");
    assert!(has(&json, r#""type":"resolves","path":"./f""#), "{json}");
    // Nothing it depends on changed, so the entry replays even after f's content changes.
    p.write("f", "other\n");
    p.build(&["python3", "mv.py"]).assert_replayed();
    assert_eq!(p.read("f"), "other\n");
}

#[test]
fn renaming_a_symlink_makes_its_target_an_input() {
    let p = Project::new();
    let link = |target: &str| {
        let _ = std::fs::remove_file(p.path("l"));
        std::os::unix::fs::symlink(target, p.path("l")).expect("symlink");
    };
    link("a");
    let cmd = ["bash", "-c", &format!("{STAMP}mv l out")];
    p.build(&cmd).assert_ran();
    assert_eq!(std::fs::read_link(p.path("out")).expect("out").to_str(), Some("a"));
    // The same name pointing elsewhere: moving it gives a different output, so dry reruns.
    link("b");
    p.build(&cmd).assert_ran();
    assert_eq!(std::fs::read_link(p.path("out")).expect("out").to_str(), Some("b"));
    // Back to the first target: the first entry holds again and is replayed.
    link("a");
    p.build(&cmd).assert_replayed();
    assert_eq!(std::fs::read_link(p.path("out")).expect("out").to_str(), Some("a"));
}

#[test]
fn hard_linking_a_symlink_makes_its_target_an_input() {
    let p = Project::new();
    std::os::unix::fs::symlink("a", p.path("l")).expect("symlink");
    let script = "import os\nos.link('l', 'out', follow_symlinks=False)\n";
    p.write("ln.py", script);
    p.build(&["python3", "ln.py"]).assert_ran();
    let json = p.show_json();
    let l = p.path("l").display().to_string();
    assert!(has(&json, &format!(r#""type":"readlink","path":"{l}","target":"a""#)), "{json}");
    std::fs::remove_file(p.path("out")).expect("rm out");
    std::fs::remove_file(p.path("l")).expect("rm l");
    std::os::unix::fs::symlink("b", p.path("l")).expect("symlink");
    p.build(&["python3", "ln.py"]).assert_ran();
    assert_eq!(std::fs::read_link(p.path("out")).expect("out").to_str(), Some("b"));
}

#[test]
fn creating_a_file_depends_on_its_name_not_being_a_dangling_symlink() {
    let p = Project::new();
    let script = format!("{STAMP}echo 1 > y");
    p.bash(&script).assert_ran();
    // `y` becomes a dangling symlink: the same script now creates `a` through it.
    std::fs::remove_file(p.path("y")).expect("rm y");
    std::os::unix::fs::symlink("a", p.path("y")).expect("symlink");
    p.bash(&script).assert_ran();
    assert_eq!(p.read("a"), "1\n");
    assert_eq!(std::fs::read_link(p.path("y")).expect("still a symlink").to_str(), Some("a"));
}

#[test]
fn a_failed_mkdir_depends_on_the_missing_parent() {
    let p = Project::new();
    let script = format!("{STAMP}mkdir x/y 2>/dev/null; echo $? > status");
    p.bash(&script).assert_ran();
    assert_eq!(p.read("status"), "1\n");
    // With x present the same mkdir succeeds: `x/y` is still missing, but x is not.
    std::fs::create_dir(p.path("x")).expect("mkdir x");
    p.bash(&script).assert_ran();
    assert_eq!(p.read("status"), "0\n");
    assert!(std::fs::metadata(p.path("x/y")).expect("x/y").is_dir());
}

#[test]
fn a_rename_into_itself_depends_on_the_directories_on_the_way() {
    // G16: renaming x to x/y/z fails (EINVAL: inside itself) while x/y is a directory of x.
    // Once x/y is a symlink to a directory elsewhere, the same rename succeeds, though both
    // walks end as before: x/y/ is a directory, x/y/z does not exist.
    let p = Project::new();
    std::fs::create_dir_all(p.path("x/y")).expect("mkdir x/y");
    std::fs::create_dir(p.path("o")).expect("mkdir o");
    let rename = "import os\ntry:\n os.rename('x', 'x/y/z'); print(0)\nexcept OSError as e:\n print(e.errno)";
    let script = format!("{STAMP}python3 -c \"{rename}\" > status");
    p.bash(&script).assert_ran();
    assert_eq!(p.read("status"), format!("{}\n", nix::libc::EINVAL));
    std::fs::remove_dir(p.path("x/y")).expect("rmdir x/y");
    std::os::unix::fs::symlink("../o", p.path("x/y")).expect("symlink");
    p.bash(&script).assert_ran();
    assert_eq!(p.read("status"), "0\n");
    assert!(std::fs::symlink_metadata(p.path("o/z/y")).is_ok(), "x moved to o/z");
}

#[test]
fn a_chdir_through_dotdot_depends_on_where_it_lands() {
    // G17: after `chdir("a/..")` every relative path is recorded from the directory it landed
    // in. Once a is a symlink to o/x, a/.. is o, and the same program reads o/f instead.
    let p = Project::new();
    std::fs::create_dir(p.path("a")).expect("mkdir a");
    std::fs::create_dir_all(p.path("o/x")).expect("mkdir o/x");
    std::fs::write(p.path("f"), "1").expect("write f");
    std::fs::write(p.path("o/f"), "2").expect("write o/f");
    let read = "import os\nos.chdir('a/..')\nprint(open('f').read())";
    let script = format!("{STAMP}python3 -c \"{read}\"");
    assert!(p.bash(&script).assert_ran().stdout.ends_with("\n1\n"));
    std::fs::remove_dir(p.path("a")).expect("rmdir a");
    std::os::unix::fs::symlink("o/x", p.path("a")).expect("symlink");
    assert!(p.bash(&script).assert_ran().stdout.ends_with("\n2\n"));
}

#[test]
fn a_write_through_dotdot_depends_on_the_directory_not_being_a_symlink() {
    let p = Project::new();
    std::fs::create_dir_all(p.path("d")).expect("mkdir d");
    std::fs::create_dir_all(p.path("x/y")).expect("mkdir x/y");
    let script = format!("{STAMP}echo 1 > d/../out");
    p.bash(&script).assert_ran();
    assert_eq!(p.read("out"), "1\n");
    // d becomes a symlink to x/y: d/.. is now x, and the same script writes x/out.
    std::fs::remove_dir(p.path("d")).expect("rmdir d");
    std::fs::remove_file(p.path("out")).expect("rm out");
    std::os::unix::fs::symlink("x/y", p.path("d")).expect("symlink");
    p.bash(&script).assert_ran();
    assert_eq!(p.read("x/out"), "1\n");
    assert!(std::fs::symlink_metadata(p.path("out")).is_err(), "nothing restored at ./out");
}

#[test]
fn a_write_through_a_symlinked_directory_depends_on_its_target() {
    let p = Project::new();
    std::fs::create_dir_all(p.path("debug")).expect("mkdir debug");
    std::fs::create_dir_all(p.path("release")).expect("mkdir release");
    std::os::unix::fs::symlink("debug", p.path("out")).expect("symlink");
    let script = format!("{STAMP}echo built > out/app");
    p.bash(&script).assert_ran();
    assert_eq!(p.read("debug/app"), "built\n");
    // out now points at release: the same script writes release/app, so dry must run it.
    std::fs::remove_file(p.path("out")).expect("rm out");
    std::os::unix::fs::symlink("release", p.path("out")).expect("symlink");
    p.bash(&script).assert_ran();
    assert_eq!(p.read("release/app"), "built\n");
    // And back: the first entry holds again and is replayed.
    std::fs::remove_file(p.path("debug/app")).expect("rm debug/app");
    std::fs::remove_file(p.path("out")).expect("rm out");
    std::os::unix::fs::symlink("debug", p.path("out")).expect("symlink");
    p.bash(&script).assert_replayed();
    assert_eq!(p.read("debug/app"), "built\n");
}

#[test]
fn link_unlink_symlink_mkdir_rmdir_are_effects() {
    let p = Project::new();
    p.write("src.txt", "s\n");
    p.write("gone.txt", "g\n");
    std::fs::create_dir(p.path("olddir")).expect("mkdir");
    p.bash("ln src.txt hard.txt; rm gone.txt; ln -s src.txt soft; mkdir newdir; rmdir olddir")
        .assert_ran();
    let json = p.show_json();
    let path = |r: &str| p.path(r).display().to_string();
    assert!(
        has(&json, &format!(r#""type":"hard_link","path":"{}""#, path("hard.txt")))
            || has(&json, &format!(r#""type":"file","path":"{}""#, path("hard.txt"))),
        "{json}"
    );
    assert!(has(&json, &format!(r#""type":"absent","path":"{}""#, path("gone.txt"))), "{json}");
    assert!(
        has(&json, &format!(r#""type":"symlink","path":"{}","target":"src.txt""#, path("soft"))),
        "{json}"
    );
    assert!(has(&json, &format!(r#""type":"dir","path":"{}""#, path("newdir"))), "{json}");
    assert!(has(&json, &format!(r#""type":"absent","path":"{}""#, path("olddir"))), "{json}");
}

#[test]
fn proc_sys_and_dev_are_not_predicates() {
    let p = Project::new();
    p.bash("cat /proc/self/status > /dev/null; ls /sys > /dev/null; echo x > /dev/null")
        .assert_ran();
    let json = p.show_json();
    for pseudo in ["\"/proc", "\"/sys", "\"/dev"] {
        assert!(!has(&json, &format!(r#""path":{pseudo}"#)), "{pseudo} in {json}");
    }
    assert!(has(&json, r#""cacheable":true"#), "{json}");
}

#[test]
fn reading_urandom_makes_the_run_uncacheable() {
    let p = Project::new();
    let script = format!("{STAMP}head -c 8 /dev/urandom > r.bin");
    p.bash(&script).assert_ran();
    let again = p.bash(&script);
    again.assert_ran();
    assert!(again.stderr.contains("randomness"), "{again:#?}");
    assert!(has(&p.show_json(), r#""reason":"random""#));
}

#[test]
fn connecting_a_socket_makes_the_run_uncacheable() {
    let p = Project::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("addr").port();
    let script = format!(
        "import socket\ns = socket.create_connection(('127.0.0.1', {port}))\ns.close()\nprint('ok')\n"
    );
    p.write("net.py", &script);
    let first = p.build(&["python3", "net.py"]);
    first.assert_ran();
    assert!(first.stderr.contains("socket"), "{first:#?}");
    p.build(&["python3", "net.py"]).assert_ran();
    assert!(has(&p.show_json(), r#""reason":"network""#));
}

#[test]
fn changes_outside_the_project_root_make_the_run_uncacheable() {
    let p = Project::new();
    let outside = tempfile::tempdir().expect("tempdir");
    let target = outside.path().join("leak.txt");
    let script = format!("{STAMP}echo x > {}", target.display());
    p.bash(&script).assert_ran();
    let again = p.bash(&script);
    again.assert_ran();
    assert!(again.stderr.contains("outside the project root"), "{again:#?}");
}

#[test]
fn appending_through_a_hard_link_is_not_cached() {
    // Gap G9: the append changes `b.txt` through `a.txt`, and `b.txt` is no effect, so a replay
    // would leave it as it was.
    let p = Project::new();
    p.write("b.txt", "1\n");
    let script = "ln b.txt a.txt && echo 2 >> a.txt";
    let first = p.bash(script);
    first.assert_ran();
    assert!(first.stderr.contains("which has hard links the run did not change"), "{first:#?}");
    std::fs::remove_file(p.path("a.txt")).expect("rm");
    p.write("b.txt", "1\n");
    p.bash(script).assert_ran();
    assert_eq!(p.read("b.txt"), "1\n2\n");
}
