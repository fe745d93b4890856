//! Whether two names are one file (gap G19 of notes/model.md): `rename(f1, f2)` of two names of
//! one inode does nothing (the kernel returns 0), of two inodes replaces `f2`. A run recorded
//! on two files must not be replayed on two hard links, nor the other way round.

use super::harness::Project;
use std::os::unix::fs::MetadataExt;

const RENAME: &str = r#"
#include <stdio.h>
int main(void) {
    if (rename("f1", "f2") != 0) { perror("rename"); return 1; }
    return 0;
}
"#;

/// `rm -f f1 f2; touch f1 f2`: two empty files.
fn two_files(p: &Project) {
    for f in ["f1", "f2"] {
        let _ = std::fs::remove_file(p.path(f));
    }
    p.write("f1", "");
    p.write("f2", "");
}

/// `touch f1; ln -f f1 f2`: two names of one empty file.
fn hard_links(p: &Project) {
    p.write("f1", "");
    let _ = std::fs::remove_file(p.path("f2"));
    std::fs::hard_link(p.path("f1"), p.path("f2")).expect("ln f1 f2");
}

fn exists(p: &Project, rel: &str) -> bool {
    std::fs::symlink_metadata(p.path(rel)).is_ok()
}

fn one_file(p: &Project) -> bool {
    let id = |rel| std::fs::symlink_metadata(p.path(rel)).map(|m| (m.dev(), m.ino())).ok();
    id("f1").is_some() && id("f1") == id("f2")
}

/// The C program: recorded on two files it removed `f1`; on two names of one file it must run
/// again (and keep both names, as a plain run does), then replay each entry on its own state.
#[test]
fn a_rename_recorded_on_two_files_is_not_replayed_on_hard_links() {
    let p = Project::new();
    p.compile("ren", RENAME);
    two_files(&p);
    p.build(&["./ren"]).assert_ran();
    assert!(!exists(&p, "f1") && exists(&p, "f2"));

    hard_links(&p);
    let why = p.dry(&["why", "--", "./ren"]);
    let why = String::from_utf8_lossy(&why.stdout).into_owned();
    assert!(why.contains("f1 and f2: are now the same file"), "{why}");
    p.build(&["./ren"]).assert_ran();
    assert!(one_file(&p), "a plain run keeps both names of the one file");
    assert!(p.show_json().contains(r#""type":"same_file""#), "{}", p.show_json());

    p.build(&["./ren"]).assert_replayed();
    assert!(one_file(&p), "the entry recorded on hard links changes nothing");

    two_files(&p);
    p.build(&["./ren"]).assert_replayed();
    assert!(!exists(&p, "f1") && exists(&p, "f2"), "the entry recorded on two files");
}

/// `mv f1 f2`: GNU mv tries `renameat2(RENAME_NOREPLACE)`, then compares the two names'
/// `lstat`s and refuses two names of one file ("are the same file"), else renames. Recorded on
/// two files, it must run again on hard links, fail, and keep both names.
#[test]
fn mv_onto_a_hard_link_of_itself_is_not_replayed_as_a_move() {
    let p = Project::new();
    two_files(&p);
    p.build(&["mv", "f1", "f2"]).assert_ran();
    assert!(!exists(&p, "f1") && exists(&p, "f2"));

    hard_links(&p);
    let run = p.build(&["mv", "f1", "f2"]);
    assert!(run.ran() && !run.replayed(), "{run:#?}");
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains("are the same file"), "{run:#?}");
    assert!(one_file(&p), "mv kept both names");

    two_files(&p);
    p.build(&["mv", "f1", "f2"]).assert_replayed();
    assert!(!exists(&p, "f1") && exists(&p, "f2"));
}

/// Which stat'ed paths were one file (gap G26): `cp -f b a` refuses two names of one file.
/// Recorded on hard links (the refusal), it must run again once `a` is a file of its own,
/// and `dry show --json` lists both names in one group.
#[test]
fn cp_refusing_two_names_of_one_file_is_not_replayed_on_two_files() {
    let p = Project::new();
    p.write("b", "x\n");
    std::fs::hard_link(p.path("b"), p.path("a")).expect("ln b a");
    let script = "cp -f b a 2>/dev/null; echo $?";
    let first = p.bash(script);
    assert!(first.ran() && first.stdout == "1\n", "cp refuses one file: {first:#?}");
    let json = p.show_json_of(&["bash", "-c", script]);
    let (a, b) = (p.path("a").display().to_string(), p.path("b").display().to_string());
    let identities = json.split(r#""type":"identities""#).nth(1).expect("identities");
    let (group, other) = (format!(r#"["{b}","{a}"]"#), format!(r#"["{a}","{b}"]"#));
    let one = identities.contains(&group) || identities.contains(&other);
    assert!(one, "one group of a and b: {identities}");
    // `a` becomes a file of its own, with the same content and mode.
    std::fs::remove_file(p.path("a")).expect("rm a");
    p.write("a", "x\n");
    let second = p.bash(script);
    assert!(second.ran(), "replayed the refusal on two files: {second:#?}");
    assert_eq!(second.stdout, "0\n", "{second:#?}");
}
