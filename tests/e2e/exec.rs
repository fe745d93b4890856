//! Starting the command as a shell would: its argv exactly as given, a script without `#!` run
//! by `/bin/sh`, an executable that cannot be run reported.

use super::harness::Project;
use std::os::unix::fs::PermissionsExt;

/// Writes an executable file `rel` holding `content`.
fn executable(p: &Project, rel: &str, content: &[u8]) {
    let path = p.path(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir -p");
    }
    std::fs::write(&path, content).expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn a_script_sees_its_argv_0_exactly_as_given() {
    let p = Project::new();
    executable(&p, "s", b"#!/bin/bash\necho \"$0\"\n");
    let first = p.build(&["./s"]);
    first.assert_ran();
    assert_eq!(first.stdout, "./s\n", "{first:#?}");
    let second = p.build(&["./s"]);
    second.assert_replayed();
    assert_eq!(second.stdout, "./s\n");
    let check = p.dry(&["check", "--", "./s"]);
    assert_eq!(check.status.code(), Some(0), "check finds the same key: {check:?}");
    // A bare name is exec'd as execvp(3) spells it: the PATH entry as given, then the name.
    executable(&p, "bin/t", b"#!/bin/bash\necho \"$0\"\n");
    let found = p.build_env(&[("PATH", "bin:/usr/bin:/bin")], &["t"]);
    found.assert_ran();
    assert_eq!(found.stdout, "bin/t\n", "{found:#?}");
}

#[test]
fn a_script_without_a_shebang_is_run_by_bin_sh() {
    let p = Project::new();
    executable(&p, "s", b"echo hi $0 \"$@\"\n");
    let first = p.build(&["./s", "a b"]);
    first.assert_ran();
    assert_eq!(first.stdout, "hi ./s a b\n", "{first:#?}");
    p.build(&["./s", "a b"]).assert_replayed();
    // The script is an input.
    executable(&p, "s", b"echo bye $0\n");
    let changed = p.build(&["./s", "a b"]);
    changed.assert_ran();
    assert_eq!(changed.stdout, "bye ./s\n");
}

#[test]
fn an_executable_in_an_unknown_format_is_reported() {
    let p = Project::new();
    // Binary (a NUL before the first newline): not handed to /bin/sh, as bash and dash refuse.
    executable(&p, "b", b"\x7fELF\x02\x01\x01\x00garbage\n");
    let r = p.build(&["./b"]);
    assert_eq!(r.code, 126, "{r:#?}");
    assert!(r.stderr.contains("dry: ./b: Exec format error"), "{r:#?}");
}

/// A program that execs `./s` in a child and prints the errno when that fails.
const EXEC_S: &str = r#"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
int main(void) {
    char *argv[] = {"./s", 0};
    fflush(stdout);
    if (fork() == 0) {
        execve("./s", argv, environ);
        printf("exec failed: %s\n", strerror(errno));
        return 0;
    }
    int status;
    wait(&status);
    return 0;
}
"#;

/// Gap G32 of notes/model.md: an exec that failed depended on the file as much as one that
/// succeeded. `ENOEXEC` is decided by the content (a script without `#!`), `EACCES` by the
/// mode; a replay of the failure after either changed would print a failure a run does not.
#[test]
fn a_failed_exec_depends_on_the_content_and_mode_of_the_file() {
    let p = Project::new();
    p.compile("e", EXEC_S);
    executable(&p, "s", b"echo hi\n");
    let first = p.build(&["./e"]);
    first.assert_ran();
    assert_eq!(first.stdout, "exec failed: Exec format error\n", "{first:#?}");
    p.build(&["./e"]).assert_replayed();

    executable(&p, "s", b"#!/bin/sh\necho hi\n");
    let script = p.build(&["./e"]);
    script.assert_ran();
    assert_eq!(script.stdout, "hi\n", "{script:#?}");

    std::fs::set_permissions(p.path("s"), std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let denied = p.build(&["./e"]);
    denied.assert_ran();
    assert_eq!(denied.stdout, "exec failed: Permission denied\n", "{denied:#?}");
    p.build(&["./e"]).assert_replayed();

    // Back to a script without `#!`: the first entry replays.
    executable(&p, "s", b"echo hi\n");
    let again = p.build(&["./e"]);
    again.assert_replayed();
    assert_eq!(again.stdout, "exec failed: Exec format error\n", "{again:#?}");
}

/// A `#!` script whose interpreter cannot be run fails for a file dry does not follow: the run
/// is not cached, and says why.
#[test]
fn a_failed_exec_of_a_script_is_not_cached() {
    let p = Project::new();
    p.compile("e", EXEC_S);
    executable(&p, "s", b"#!/no/such/interpreter\n");
    let first = p.build(&["./e"]);
    first.assert_ran();
    assert_eq!(first.stdout, "exec failed: No such file or directory\n", "{first:#?}");
    assert!(first.stderr.contains("because of the file's interpreter"), "{first:#?}");
    p.build(&["./e"]).assert_ran();
}
