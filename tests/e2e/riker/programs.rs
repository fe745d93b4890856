//! Riker's scenarios driven by small C programs of their own: a file made or appended to
//! depending on whether it exists (alter-if-exists), odd `open` flags (creat-dir-open,
//! creat-excl-path, o_creat, openat-directory), a chmod of another step's input
//! (metadata-maychange), a reopen through `/proc/self/fd` (proc-self), renames between hard
//! links (rename), a program that execs another (skip), a core dump (coredump), and a build
//! file that is executable or not (buildfile).
//!
//! Each program is written here (in C where Riker's was C++) and compiled once per test with
//! `cc`, as the cram files compile theirs before the first build. One test per cram file,
//! compared with the untraced run by [`Twin`] (see `basic` for `settle`).

use super::twin::Twin;

/// alter-if-exists: creates `a_file` when it is absent, appends to it when it is present.
fn alter_if_exists() -> Twin {
    let t = Twin::rikerfile("#!/bin/sh\n\n./conditional-maker\n");
    t.write(
        "conditional-maker.c",
        r#"#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
  struct stat st;
  if (stat("a_file", &st) != 0) {
    printf("'a_file' does not exist.\n");
    int fd = open("a_file", O_WRONLY | O_CREAT | O_EXCL, 0754);
    write(fd, "hello\n", 6);
  } else {
    printf("'a_file' exists.\n");
    int fd = open("a_file", O_RDWR | O_APPEND);
    write(fd, "world\n", 6);
  }
  return 0;
}
"#,
    );
    t.compile("conditional-maker.c", "conditional-maker");
    t
}

/// Riker replays the first build's effect; under `--strict` dry reruns it, as running does
/// (`a_file` now exists, so the program appends, every time).
#[test]
fn alter_if_exists_01_build() {
    let mut t = alter_if_exists();
    let first = t.build();
    first.ran();
    assert_eq!(first.stdout, "'a_file' does not exist.\n");
    t.build().ran();
    assert_eq!(t.read("a_file"), "hello\nworld\n");
}

#[test]
fn alter_if_exists_02_build() {
    let mut t = alter_if_exists();
    t.edit("echo hello > a_file");
    let first = t.build();
    first.ran();
    assert_eq!(first.stdout, "'a_file' exists.\n");
    assert_eq!(t.read("a_file"), "hello\nworld\n");
    t.build().ran();
}

/// creat-dir-open: `O_CREAT|O_DIRECTORY`, which Linux refuses (EINVAL, since 6.4) or turns
/// into a plain file.
#[test]
fn creat_dir_open_01_build() {
    let mut t = Twin::rikerfile("#!/bin/sh\n\n./creat-dir-open\n");
    t.write(
        "creat-dir-open.c",
        "#include <fcntl.h>\n\nint main(void) {\n  \
         openat(AT_FDCWD, \"outcome\", O_RDWR | O_CREAT | O_DIRECTORY, 0770);\n  return 0;\n}\n",
    );
    t.compile("creat-dir-open.c", "creat-dir-open");
    t.build().ran();
    t.edit("rm -f creat-dir-open outcome");
    t.build();
}

/// creat-excl-path: `O_CREAT|O_EXCL|O_PATH` on an existing file (Riker's program tries any
/// combination of flags; this one is the combination of the cram file).
#[test]
fn creat_excl_path_01_build() {
    let mut t = Twin::rikerfile("#!/bin/sh\n\n./stress\n");
    t.write(
        "stress.c",
        r#"#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  int flags = O_CREAT | O_EXCL | O_PATH;
  printf("O_CREAT|O_EXCL|O_PATH (%d)\n", flags);
  if (open("file", flags, 0777) == -1) printf("open failed: %s\n", strerror(errno));
  return 0;
}
"#,
    );
    t.compile("stress.c", "stress");
    t.edit("touch file");
    t.build().ran();
    t.settle();
}

/// metadata-maychange: `./a` reads `a_input` and chmods `b_input`, which `./b` reads.
fn metadata_maychange() -> Twin {
    let t = Twin::rikerfile("#!/bin/sh\n\n./a\n./b\n");
    t.write("a_input", "hello\n");
    t.write("b_input", "world\n");
    let reader = |input: &str, then: &str| {
        format!(
            "#include <fcntl.h>\n#include <sys/stat.h>\n#include <unistd.h>\n\nint main(void) {{\n  \
             char buf[128];\n  int fd = open(\"{input}\", O_RDONLY);\n  read(fd, buf, sizeof buf);\n  \
             close(fd);\n{then}  return 0;\n}}\n"
        )
    };
    t.write("a.c", &reader("a_input", "  chmod(\"b_input\", 0644);\n"));
    t.write("b.c", &reader("b_input", ""));
    t.compile("a.c", "a");
    t.compile("b.c", "b");
    t.edit("chmod 0644 b_input");
    t
}

#[test]
fn metadata_maychange_01_build() {
    let mut t = metadata_maychange();
    t.build().ran();
    t.settle();
}

#[test]
fn metadata_maychange_02_change_input() {
    let mut t = metadata_maychange();
    t.build().ran();
    t.edit("echo goodbye > a_input");
    t.build().ran().nested_ran("./a").nested_replayed("./b");
}

/// o_creat: the build file is itself a program, which reads `input` and creates `foo`
/// (mode 0444) with `O_CREAT|O_EXCL`.
#[test]
fn o_creat_01_build() {
    let mut t = Twin::new(&["./Rikerfile"]);
    t.write(
        "o_creat.c",
        r#"#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  int in = open("input", O_RDONLY);
  if (in < 0) {
    printf("Failed to open input file: %s\n", strerror(errno));
    exit(2);
  }
  char buf[128];
  read(in, buf, sizeof buf);
  int fd = openat(AT_FDCWD, "foo", O_WRONLY | O_CREAT | O_EXCL, 0444);
  if (fd == -1) {
    printf("Error: %s\n", strerror(errno));
  } else {
    printf("File created with fd = %d\n", fd);
    write(fd, "Hello world!\n", 13);
  }
  return 0;
}
"#,
    );
    t.compile("o_creat.c", "Rikerfile");
    t.write("input", "first\n");
    let first = t.build();
    first.ran();
    assert_eq!(first.stdout, "File created with fd = 4\n");
    assert_eq!(t.read("foo"), "Hello world!\n");
    t.settle();
    t.write("input", "second\n");
    let last = t.build();
    last.ran();
    assert_eq!(last.stdout, "Error: File exists\n");
}

#[test]
fn openat_directory_01_build() {
    let mut t = Twin::rikerfile("#!/bin/sh\n\n./openat-directory\n");
    t.write(
        "openat-directory.c",
        r#"#include <fcntl.h>
#include <stdio.h>

int main(void) {
  printf("Trying openat(%d, \"mydir\", O_RDONLY|O_CLOEXEC|O_NOFOLLOW, 0)\n", AT_FDCWD);
  int fd = openat(AT_FDCWD, "mydir", O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0);
  printf("Got fd = %d\n", fd);
  return 0;
}
"#,
    );
    t.compile("openat-directory.c", "openat-directory");
    t.edit("mkdir -p mydir");
    let first = t.build();
    first.ran();
    assert!(first.stdout.ends_with("Got fd = 3\n"), "{first:?}");
    t.settle();
}

/// proc-self: the program reopens its input through `/proc/self/fd/N`.
#[test]
fn proc_self_01_test() {
    let mut t = Twin::rikerfile("#!/bin/sh\n\n./prog\n");
    t.write("input", "X\n");
    t.write(
        "prog.c",
        r#"#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void) {
  int in = open("input", O_RDONLY);
  int out = open("output", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (in < 0 || out < 0) {
    perror("open");
    exit(EXIT_FAILURE);
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", in);
  int again = open(path, O_RDONLY);
  if (again < 0) {
    perror("reopen");
    exit(EXIT_FAILURE);
  }
  char data[256];
  ssize_t n = read(again, data, sizeof data);
  if (n <= 0 || write(out, data, n) != n) {
    perror("copy");
    exit(EXIT_FAILURE);
  }
  return 0;
}
"#,
    );
    t.compile("prog.c", "prog");
    t.build().ran();
    assert_eq!(t.read("output"), "X\n");
    t.settle();
    assert_eq!(t.read("output"), "X\n");
}

/// rename: renames `file1` over `file2`, unlinks `file2`, and probes both names by renaming
/// each onto itself; `file1` and `file2` are hard links of one file or two files.
fn rename(links: bool) -> Twin {
    let t = Twin::rikerfile("./test");
    t.write(
        "test.c",
        r#"#include <stdio.h>
#include <unistd.h>

int main(void) {
  if (rename("file1", "file2")) printf("rename(\"file1\", \"file2\") failed\n");
  if (unlink("file2")) printf("unlink(\"file2\") failed\n");
  if (rename("file1", "file1")) printf("rename(\"file1\", \"file1\") failed\n");
  if (rename("file2", "file2")) printf("rename(\"file2\", \"file2\") failed\n");
  return 0;
}
"#,
    );
    t.compile("test.c", "test");
    t.edit(if links { "touch file1 && ln file1 file2" } else { "touch file1 file2" });
    t
}

const SAME: &str = "rename(\"file2\", \"file2\") failed\n";
const DIFFERENT: &str =
    "rename(\"file1\", \"file1\") failed\nrename(\"file2\", \"file2\") failed\n";

#[test]
fn rename_01_same() {
    let mut t = rename(true);
    assert_eq!(t.build().stdout, SAME);
}

#[test]
fn rename_02_different() {
    let mut t = rename(false);
    assert_eq!(t.build().stdout, DIFFERENT);
}

#[test]
fn rename_03_recreate_same() {
    let mut t = rename(true);
    t.build().ran();
    t.edit("ln file1 file2");
    assert_eq!(t.build().stdout, SAME);
}

#[test]
fn rename_04_recreate_different() {
    let mut t = rename(false);
    t.build().ran();
    t.edit("touch file1 file2");
    t.build().replayed();
}

#[test]
fn rename_05_same_to_different() {
    let mut t = rename(true);
    t.build().ran();
    t.edit("touch file2");
    assert_eq!(t.build().ran().stdout, DIFFERENT);
}

#[test]
fn rename_06_different_to_same() {
    let mut t = rename(false);
    t.build().ran();
    t.edit("touch file1 && ln file1 file2");
    assert_eq!(t.build().ran().stdout, SAME);
}

/// skip: `./parent` copies its input, then forks and execs `./child`, which copies its own.
fn skip() -> Twin {
    let t = Twin::rikerfile("#!/bin/sh\n\n./parent\n");
    let copy = |name: &str, then: &str| {
        format!(
            "#include <fcntl.h>\n#include <sys/wait.h>\n#include <unistd.h>\n\nint main(void) {{\n  \
             int in = open(\"{name}_input\", O_RDONLY);\n  \
             int out = open(\"{name}_output\", O_WRONLY | O_CREAT | O_TRUNC, 0644);\n  \
             char buf[512];\n  ssize_t n = read(in, buf, sizeof buf);\n  write(out, buf, n);\n\
             {then}  close(in);\n  close(out);\n  return 0;\n}}\n"
        )
    };
    let fork = "  if (fork() == 0) {\n    execl(\"./child\", \"./child\", (char *)0);\n    \
                _exit(127);\n  }\n  wait(0);\n";
    t.write("parent.c", &copy("parent", fork));
    t.write("child.c", &copy("child", ""));
    t.compile("parent.c", "parent");
    t.compile("child.c", "child");
    t.write("parent_input", "Hello parent\n");
    t.write("child_input", "Hello child\n");
    t
}

#[test]
fn skip_01_build() {
    let mut t = skip();
    t.build().ran();
    assert_eq!(t.read("parent_output"), "Hello parent\n");
    assert_eq!(t.read("child_output"), "Hello child\n");
    t.settle();
}

#[test]
fn skip_02_remove_parent_output() {
    let mut t = skip();
    t.build().ran();
    t.edit("rm parent_output");
    t.build().replayed();
    assert_eq!(t.read("parent_output"), "Hello parent\n");
    t.settle();
}

#[test]
fn skip_03_remove_child_output() {
    let mut t = skip();
    t.build().ran();
    t.edit("rm child_output");
    t.build().replayed();
    assert_eq!(t.read("child_output"), "Hello child\n");
    t.settle();
}

#[test]
fn skip_04_change_parent_input() {
    let mut t = skip();
    t.build().ran();
    t.edit("echo 'Goodbye parent' > parent_input");
    t.build().ran().nested_ran("./parent");
    assert_eq!(t.read("parent_output"), "Goodbye parent\n");
    t.settle();
}

#[test]
fn skip_05_change_child_input() {
    let mut t = skip();
    t.build().ran();
    t.edit("echo 'Goodbye child' > child_input");
    t.build().ran();
    assert_eq!(t.read("child_output"), "Goodbye child\n");
    t.settle();
}

/// coredump: a program that aborts with core dumps enabled. Whether a core file appears
/// depends on the machine (`core_pattern`); the oracle checks that dry and the untraced run
/// agree on it, its bytes aside.
#[test]
fn coredump_01_build() {
    let mut t = Twin::rikerfile(
        "#!/bin/sh\n\nulimit -c unlimited\n\
         (test -f core.* || test -f core) && echo \"this should not print\"\n./abort\n\
         (test -f core.* || test -f core) && echo \"core exists\"\n",
    );
    t.write("abort.c", "#include <signal.h>\n\nint main(void) {\n  raise(SIGABRT);\n}\n");
    t.compile("abort.c", "abort");
    t.volatile("core");
    t.build();
}

/// buildfile: Riker runs `Rikerfile` directly when it is executable and with `/bin/sh`
/// otherwise; the launcher here does the same.
const LAUNCH: &str = "if [ -x Rikerfile ]; then exec ./Rikerfile; else exec sh Rikerfile; fi";

#[test]
fn buildfile_01_sh_rikerfile() {
    let mut t = Twin::new(&["sh", "-c", LAUNCH]);
    t.write("sh-Rikerfile", "#!/bin/sh\n\necho \"Hello\" > output\n");
    t.edit("cp sh-Rikerfile Rikerfile && chmod u+x Rikerfile");
    t.build().ran();
    assert_eq!(t.read("output"), "Hello\n");
    t.settle();
    t.edit("chmod a-x Rikerfile");
    // Riker runs `sh Rikerfile` now: the mode `[ -x Rikerfile ]` asks about is an input.
    t.build().ran();
    t.settle();
    t.edit("chmod a-r Rikerfile");
    t.build();
    t.edit("chmod u+rx Rikerfile");
    t.build().ran();
    assert_eq!(t.read("output"), "Hello\n");
    t.settle();
}

#[test]
fn buildfile_02_c_rikerfile() {
    let mut t = Twin::new(&["sh", "-c", LAUNCH]);
    t.write(
        "c-Rikerfile.c",
        r#"#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  const char *message = "Hello from C\n";
  int fd = open("output", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write(fd, message, strlen(message)) != (ssize_t)strlen(message) || close(fd)) {
    perror("output");
    return 2;
  }
  return 0;
}
"#,
    );
    t.compile("c-Rikerfile.c", "Rikerfile");
    t.build().ran();
    assert_eq!(t.read("output"), "Hello from C\n");
    t.settle();
    t.edit("chmod a-rx Rikerfile");
    t.build();
    t.edit("chmod u+rx Rikerfile");
    t.build().ran();
    t.settle();
}
