//! Paths relative to a directory fd (gap G33 of notes/model.md). The tracer names them from
//! the path the directory was opened as; the kernel resolves them from the directory itself.
//! Once the command changed something on the way of that path after the open (a symlink
//! retargeted, the directory renamed or replaced), the name no longer leads there: such a run
//! is not cached. A directory the command made and then filled through its fd stays cacheable.

use super::harness::Project;

/// `opendir l`, then `l` pointed at `e`, then `openat(fd, "f")`: prints what it read (`d/f`).
const RETARGET: &str = r#"
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
    int dir = open("l", O_RDONLY | O_DIRECTORY);
    if (dir < 0) { perror("open l"); return 1; }
    if (unlink("l") != 0 || symlink("e", "l") != 0) { perror("retarget l"); return 1; }
    int fd = openat(dir, "f", O_RDONLY);
    if (fd < 0) { perror("openat f"); return 1; }
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) fwrite(buf, 1, (size_t)n, stdout);
    return 0;
}
"#;

/// `mkdir out`, `opendir out`, then `openat(fd, "f", O_CREAT)` written and read back.
const FILL: &str = r#"
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
int main(void) {
    if (mkdir("out", 0755) != 0) { perror("mkdir out"); return 1; }
    int dir = open("out", O_RDONLY | O_DIRECTORY);
    if (dir < 0) { perror("open out"); return 1; }
    int w = openat(dir, "f", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (w < 0 || write(w, "x", 1) != 1) { perror("write f"); return 1; }
    close(w);
    int r = openat(dir, "f", O_RDONLY);
    char c;
    if (r < 0 || read(r, &c, 1) != 1) { perror("read f"); return 1; }
    printf("%c\n", c);
    return 0;
}
"#;

/// `l -> d`, `d/f` and `e/f` (when `e_f` is given).
fn tree(p: &Project, d_f: &str, e_f: Option<&str>) {
    let _ = std::fs::remove_file(p.path("l"));
    std::os::unix::fs::symlink("d", p.path("l")).expect("ln -s d l");
    p.write("d/f", d_f);
    std::fs::create_dir_all(p.path("e")).expect("mkdir e");
    match e_f {
        Some(c) => p.write("e/f", c),
        None => {
            let _ = std::fs::remove_file(p.path("e/f"));
        }
    }
}

/// Recorded with `e/f` as `d/f` was (its content predicate holds), then `d/f` changed: a
/// replay printed the old `d/f`. Now the run is not cached at all. (Before, with seccomp
/// notification, the command did not even read `d/f`: the tracer opened `l/f`, now `e/f`, for
/// it; `DRY_NO_NOTIFY` traces every open with ptrace stops.)
#[test]
fn a_path_relative_to_a_directory_opened_through_a_retargeted_symlink_is_not_cached() {
    for env in [&[][..], &[("DRY_NO_NOTIFY", "1")]] {
        let p = Project::new();
        p.compile("retarget", RETARGET);
        tree(&p, "A", Some("B"));
        assert_eq!(p.build_env(env, &["./retarget"]).assert_ran().stdout, "A", "{env:?}");
        tree(&p, "A", Some("A"));
        assert_eq!(p.build_env(env, &["./retarget"]).assert_ran().stdout, "A", "{env:?}");
        let why = p.dry(&["why", "--", "./retarget"]);
        let why = String::from_utf8_lossy(&why.stdout).into_owned();
        assert!(why.contains("relative to the directory opened as"), "{why}");
        tree(&p, "C", Some("A"));
        assert_eq!(p.build_env(env, &["./retarget"]).assert_ran().stdout, "C", "{env:?}");
    }
}

/// The same with `e/f` absent: the tracer's own look through `l` failed, and that was all it
/// recorded.
#[test]
fn a_path_relative_to_a_directory_fd_whose_spelling_no_longer_resolves_is_not_cached() {
    let p = Project::new();
    p.compile("retarget", RETARGET);
    tree(&p, "A", None);
    assert_eq!(p.build(&["./retarget"]).assert_ran().stdout, "A");
    tree(&p, "C", None);
    assert_eq!(p.build(&["./retarget"]).assert_ran().stdout, "C");
}

/// A directory the command made, opened, then filled and read through its fd: the walk of its
/// spelling met only the `mkdir`, made before the open. Replayed.
#[test]
fn a_directory_made_then_filled_through_its_fd_is_replayed() {
    let p = Project::new();
    p.compile("fill", FILL);
    assert_eq!(p.build(&["./fill"]).assert_ran().stdout, "x\n");
    std::fs::remove_dir_all(p.path("out")).expect("rm -r out");
    assert_eq!(p.build(&["./fill"]).assert_replayed().stdout, "x\n");
    assert_eq!(p.read("out/f"), "x");
}
