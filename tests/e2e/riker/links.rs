//! Riker's path scenarios: writes through a symlink to a directory (symlink), `readlink` and a
//! dangling link (readlink), links the script makes and removes (makelink), a symlink whose
//! target climbs out of directories the script makes (evil-links), `cd` into a scratch
//! directory (cd), and `O_NOFOLLOW` on a symlink (nofollow-symlinks).
//!
//! One test per cram file, compared with the untraced run by [`Twin`] (see `basic` for
//! `settle`). Where a known dry bug keeps a build from replaying, the test says so and
//! notes/riker.md has the reproduction.

use super::twin::Twin;

/// symlink: `link -> dir1`; the script writes through the link and appends beside it.
fn symlink() -> Twin {
    let t = Twin::rikerfile(
        "#!/bin/sh\n\ncat input1 > dir1/output\ncat input2 > link/output\ncat input3 >> dir1/output\n",
    );
    t.write("input1", "Written to dir1/output\n");
    t.write("input2", "Written to link/output\n");
    t.write("input3", "Appended to dir1/output\n");
    t.edit("mkdir -p dir1 dir2 && ln -s dir1 link");
    t
}

/// Riker's second build does nothing; dry reruns the script every time (its steps replay):
/// it writes `dir1/output`, then opens it again through `link`, a symlink it did not make, so
/// what that walk met depended on the script's own earlier write (gap G6, notes/limits.md).
#[test]
fn symlink_01_build() {
    let mut t = symlink();
    t.build().ran();
    assert_eq!(t.read("dir1/output"), "Written to link/output\nAppended to dir1/output\n");
    t.build();
    let again = t.build();
    again.ran_because("through a symlink the command did not make into its own output");
    again.nested_replayed("cat input3");
}

#[test]
fn symlink_02_change_link() {
    let mut t = symlink();
    t.build().ran();
    t.edit("rm link && rm -f dir1/output dir2/output && ln -s dir2 link");
    t.build().ran();
    assert_eq!(t.read("dir1/output"), "Written to dir1/output\nAppended to dir1/output\n");
    assert_eq!(t.read("dir2/output"), "Written to link/output\n");
}

/// readlink: `link -> HELLO`, which does not exist, so `cat link` fails and so does the build:
/// a failed build is not recorded, but its steps are and are replayed.
fn readlink() -> Twin {
    let t = Twin::rikerfile("#!/bin/sh\n\nreadlink link > output1\ncat link > output2\n");
    t.write("GOODBYE", "FAREWELL\n");
    t.edit("ln -s HELLO link");
    t
}

#[test]
fn readlink_01_build() {
    let mut t = readlink();
    t.build().ran();
    assert_eq!(t.read("output1"), "HELLO\n");
    t.build().ran().nested_replayed("readlink link").nested_replayed("cat link");
}

#[test]
fn readlink_02_change_link_valid() {
    let mut t = readlink();
    t.build().ran();
    t.edit("unlink link && ln -s GOODBYE link");
    t.build().ran().nested_ran("readlink link").nested_ran("cat link");
    assert_eq!(t.read("output1"), "GOODBYE\n");
    assert_eq!(t.read("output2"), "FAREWELL\n");
    t.settle();
}

#[test]
fn readlink_03_change_link_invalid() {
    let mut t = readlink();
    t.build().ran();
    t.edit("unlink link && ln -s ADIOS link");
    t.build().ran().nested_ran("readlink link");
    assert_eq!(t.read("output1"), "ADIOS\n");
    t.build().ran().nested_replayed("readlink link");
}

/// makelink: `A -> input` and `B -> output`, `cat A > B`, then both links removed.
fn makelink() -> Twin {
    let t = Twin::rikerfile(
        "#!/bin/sh\n\nln -s input A\nln -s output B\n\ncat A > B\n\nunlink A\nunlink B\n",
    );
    t.write("input", "Hello\n");
    t
}

#[test]
fn makelink_01_build() {
    let mut t = makelink();
    t.build().ran();
    assert_eq!(t.read("output"), "Hello\n");
    t.settle();
}

#[test]
fn makelink_02_change_input() {
    let mut t = makelink();
    t.build().ran();
    t.edit("echo Goodbye > input");
    t.build().ran();
    assert_eq!(t.read("output"), "Goodbye\n");
}

#[test]
fn makelink_03_remove_output() {
    let mut t = makelink();
    t.build().ran();
    t.edit("rm output");
    t.build().replayed();
    assert_eq!(t.read("output"), "Hello\n");
}

/// evil-links: `foo/bar/baz/win -> ../../../a/b/c/out`, written from inside `foo/bar/baz`.
fn evil_links() -> Twin {
    let t = Twin::rikerfile(
        "#!/bin/sh\n\nmkdir foo\nmkdir foo/bar\nmkdir foo/bar/baz\nmkdir -p a/b/c\n\
         ln -s ../../../a/b/c/out foo/bar/baz/win\ncd foo/bar/baz\ncat ../../../input > win\n\
         cd ../../..\nmv a/b/c/out output\nrm -rf foo a\n",
    );
    t.write("input", "Hello\n");
    t
}

#[test]
fn evil_links_01_build() {
    let mut t = evil_links();
    t.build().ran();
    assert_eq!(t.read("output"), "Hello\n");
    t.settle();
}

#[test]
fn evil_links_02_change_input() {
    let mut t = evil_links();
    t.build().ran();
    t.edit("echo Goodbye > input");
    t.build().ran();
    assert_eq!(t.read("output"), "Goodbye\n");
    t.settle();
}

/// cd: the script works in a directory it makes and removes, reading `../input`.
fn cd() -> Twin {
    let t = Twin::rikerfile(
        "#!/bin/sh\n\nmkdir working_dir\ncd working_dir\ncat ../input > output\ncd ..\n\
         mv working_dir/output .\nrmdir working_dir\n",
    );
    t.write("input", "Hello\n");
    t
}

#[test]
fn cd_01_build() {
    let mut t = cd();
    t.build().ran();
    assert_eq!(t.read("output"), "Hello\n");
    t.settle();
}

#[test]
fn cd_02_change_input() {
    let mut t = cd();
    t.build().ran();
    t.edit("echo Goodbye > input");
    t.build().ran();
    assert_eq!(t.read("output"), "Goodbye\n");
    t.settle();
}

#[test]
fn cd_03_remove_output() {
    let mut t = cd();
    t.build().ran();
    t.edit("rm output");
    t.build().replayed();
    assert_eq!(t.read("output"), "Hello\n");
    t.edit("rm output");
    t.build_with(&["--no-nested"]).replayed();
    t.settle();
    assert_eq!(t.read("output"), "Hello\n");
}

/// nofollow-symlinks: a program makes `a_symlink -> a_file` and opens it `O_NOFOLLOW`
/// (ELOOP), then `cat` reads through it.
#[test]
fn nofollow_symlinks_01_build() {
    let mut t = Twin::rikerfile("#!/bin/sh\n\n./symlink-nofollow\ncat a_symlink\n");
    t.write("a_file", "Heya\n");
    t.write(
        "symlink-nofollow.c",
        r#"#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  symlink("a_file", "a_symlink");
  int fd = openat(AT_FDCWD, "a_symlink", O_NOFOLLOW);
  printf("fd = %d\n", fd);
  if (fd == -1) printf("Error: %s\n", strerror(errno));
  return 0;
}
"#,
    );
    t.compile("symlink-nofollow.c", "symlink-nofollow");
    let first = t.build();
    first.ran();
    assert_eq!(first.stdout, "fd = -1\nError: Too many levels of symbolic links\nHeya\n");
    t.settle();
}
