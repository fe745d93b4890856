//! The syscalls that reach files without naming a path the tracer sees (notes/syscalls.md):
//! refused so that programs fall back, or making the run uncacheable with its reason.

use super::harness::Project;
use std::process::Command;

const IO_URING: &str = r#"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    char params[120];
    memset(params, 0, sizeof params);
    long fd = syscall(SYS_io_uring_setup, 4, params);
    if (fd < 0) printf("io_uring_setup: errno %d\n", errno);
    else printf("io_uring_setup: a ring\n");
    return 0;
}
"#;

#[test]
fn io_uring_is_refused_with_enosys_so_programs_fall_back() {
    let p = Project::new();
    p.compile("ring", IO_URING);
    let first = p.build(&["./ring"]);
    first.assert_ran();
    assert_eq!(first.stdout, format!("io_uring_setup: errno {ENOSYS}\n"), "{first:#?}");
    // Refused, nothing was done unseen: the run is cached.
    p.build(&["./ring"]).assert_replayed();
}

/// ENOSYS on x86_64.
const ENOSYS: i32 = 38;

const BY_HANDLE: &str = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(void) {
    struct file_handle *h = malloc(sizeof *h + MAX_HANDLE_SZ);
    h->handle_bytes = MAX_HANDLE_SZ;
    int mount_id;
    if (name_to_handle_at(AT_FDCWD, "in.txt", h, &mount_id, 0) < 0) {
        printf("name_to_handle_at: errno %d\n", errno);
        return 0;
    }
    int fd = open_by_handle_at(AT_FDCWD, h, O_RDONLY);
    if (fd < 0) {
        printf("open_by_handle_at: errno %d\n", errno);
        return 0;
    }
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf);
    printf("read: %.*s", (int)(n > 0 ? n : 0), buf);
    return 0;
}
"#;

#[test]
fn a_file_read_through_open_by_handle_at_is_never_replayed_stale() {
    let p = Project::new();
    p.compile("byhandle", BY_HANDLE);
    let plain = || {
        let out = Command::new(p.path("byhandle")).current_dir(&p.root).output().expect("run");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    p.write("in.txt", "one\n");
    let first = p.build(&["./byhandle"]);
    assert_eq!(first.code, 0, "{first:#?}");
    assert_eq!(first.stdout, plain(), "{first:#?}");
    if first.stdout.starts_with("read:") {
        // The file was read unseen: the run is not cached, and says why.
        assert!(first.stderr.contains("open_by_handle_at"), "{first:#?}");
    }
    // Whatever this process may do (as root or not), the output is what a plain run prints.
    p.write("in.txt", "two\n");
    let second = p.build(&["./byhandle"]);
    assert_eq!(second.code, 0, "{second:#?}");
    assert_eq!(second.stdout, plain(), "{second:#?}");
}

#[test]
fn changing_the_owner_of_a_path_is_not_cached_and_says_why() {
    let p = Project::new();
    p.write("f", "x\n");
    // To its own owner: allowed to anyone, and still a change dry cannot restore in general.
    let uid = std::fs::metadata(p.path("f")).map(|m| std::os::unix::fs::MetadataExt::uid(&m));
    let uid = uid.expect("stat f").to_string();
    let first = p.build(&["chown", &uid, "f"]);
    assert_eq!(first.code, 0, "{first:#?}");
    assert!(first.stderr.contains("not cached: changed the owner of a path"), "{first:#?}");
    p.build(&["chown", &uid, "f"]).assert_ran();
}

const GETXATTR: &str = r#"
#include <errno.h>
#include <stdio.h>
#include <sys/xattr.h>
int main(void) {
    char buf[64];
    if (getxattr("d/f", "user.none", buf, sizeof buf) < 0) printf("errno %d\n", errno);
    else printf("found\n");
    return 0;
}
"#;

#[test]
fn a_path_probed_for_extended_attributes_is_an_input() {
    let p = Project::new();
    p.compile("xattr", GETXATTR);
    let first = p.build(&["./xattr"]);
    first.assert_ran();
    assert_eq!(first.stdout, "errno 2\n", "{first:#?}");
    p.build(&["./xattr"]).assert_replayed();
    // The path now resolves: the answer changes (ENODATA, or ENOTSUP where user xattrs are
    // unsupported), so the command must run again.
    p.write("d/f", "");
    let second = p.build(&["./xattr"]);
    second.assert_ran();
    assert_ne!(second.stdout, "errno 2\n", "{second:#?}");
}

/// Setting the times of a path (Python's `shutil.copy2`, `touch -r`, `touch DIR`) is not an
/// unseen change: times are neither predicates nor effects (notes/0003-metadata.md), so the
/// run is cached, and it depends on the path resolving.
#[test]
fn setting_the_times_of_a_path_is_cached() {
    let p = Project::new();
    p.write("a", "A\n");
    std::fs::create_dir(p.path("d")).expect("mkdir d");
    let code = "import shutil, os; shutil.copy2('a', 'b'); os.utime('d')";
    p.build(&["python3", "-c", code]).assert_ran();
    assert_eq!(p.read("b"), "A\n");
    p.build(&["python3", "-c", code]).assert_replayed();
    std::fs::remove_dir(p.path("d")).expect("rmdir d");
    let r = p.build(&["python3", "-c", code]);
    assert!(r.ran() && r.code != 0, "os.utime of a missing path fails again: {r:#?}");
}
