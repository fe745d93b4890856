//! Regression tests of issue 21 ("dry is invisible"): the wrapped command behaves as it does
//! without dry. Each fails on the commit that had the bug (3c0de05).

use super::harness::{Project, Run};
use std::os::unix::fs::PermissionsExt;

/// Item 3: `--force` means run everything again and re-record it, nested steps included.
#[test]
fn r21_force_runs_nested_steps_too() {
    let p = Project::new();
    p.write("in", "1\n");
    let script = "cat in > out; cat out > out2";
    p.bash(script).assert_ran();
    let r = p.bash(script);
    r.assert_replayed();
    let r = Run::from(
        p.dry_cmd(&["build", "-v", "--force", "--", "bash", "-c", script])
            .output()
            .expect("dry build --force"),
    );
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(!r.stderr.contains("nested: replayed"), "--force replayed a nested step: {r:#?}");
    assert!(r.stderr.contains("nested: ran `cat in`"), "{r:#?}");
    assert_eq!(p.read("out2"), "1\n");
}

/// Item 6: dry under dry. The inner dry cannot trace (its process is traced already): it runs
/// its command in its own place, says so in one line, and its status is the command's.
#[test]
fn r21_dry_under_dry_runs_the_command_and_says_so() {
    let p = Project::new();
    let dry = env!("CARGO_BIN_EXE_dry");
    let r = p.build(&[dry, "build", "--", "sh", "-c", "echo inner; exit 3"]);
    assert_eq!(r.code, 3, "{r:#?}");
    assert_eq!(r.stdout, "inner\n", "{r:#?}");
    let said: Vec<&str> = r.stderr.lines().filter(|l| l.contains("already traced")).collect();
    assert_eq!(said.len(), 1, "{r:#?}");
    assert!(!r.stderr.contains("PTRACE_TRACEME"), "{r:#?}");
}

/// Runs `dry build -v -- sh -c SCRIPT` as user `nobody` (root reads and writes anything, so a
/// cache that cannot be read or written is only seen as another user).
fn build_as_nobody(p: &Project, script: &str) -> Run {
    let status = std::process::Command::new("chown")
        .args(["-R", "nobody:nogroup"])
        .arg(&p.root)
        .status()
        .expect("chown");
    assert!(status.success(), "chown -R nobody {}", p.root.display());
    let dry = env!("CARGO_BIN_EXE_dry");
    let args = ["--reuid=65534", "--regid=65534", "--clear-groups", dry, "build", "-v", "--"];
    Run::from(p.command("setpriv").args(args).args(["sh", "-c", script]).output().expect("setpriv"))
}

fn warnings(r: &Run) -> usize {
    r.stderr.lines().filter(|l| l.starts_with("dry: warning")).count()
}

/// Item 2: a cache that cannot be written, or read, or created: one warning line, the command
/// runs and its status is its own.
#[test]
fn r21_a_cache_that_cannot_be_used_never_stops_the_command() {
    let p = Project::new();
    p.write("x", "one\n");
    let script = "cat x; exit 0";
    let first = build_as_nobody(&p, script);
    first.assert_ran();
    assert_eq!(first.stdout, "one\n");

    // Read-only: the run happens, is not recorded, and says so once.
    p.write("x", "two\n");
    let chmod = |mode: &str, path: &std::path::Path| {
        let ok = std::process::Command::new("chmod").arg(mode).arg(path).status();
        assert!(ok.expect("chmod").success());
    };
    let ro = std::process::Command::new("chmod").args(["-R", "a-w"]).arg(p.path(".dry")).status();
    assert!(ro.expect("chmod -R a-w .dry").success());
    let r = build_as_nobody(&p, script);
    assert_eq!((r.code, r.stdout.as_str()), (0, "two\n"), "{r:#?}");
    assert_eq!(warnings(&r), 1, "{r:#?}");
    let failing = build_as_nobody(&p, "cat x; exit 4");
    assert_eq!((failing.code, failing.stdout.as_str()), (4, "two\n"), "{failing:#?}");

    // Unreadable: the command runs without dry.
    chmod("000", &p.path(".dry"));
    let r = build_as_nobody(&p, script);
    assert_eq!((r.code, r.stdout.as_str()), (0, "two\n"), "{r:#?}");
    assert_eq!(warnings(&r), 1, "{r:#?}");
    assert!(r.stderr.contains("without dry"), "{r:#?}");

    // No `.dry/` in a read-only directory: the same.
    std::fs::remove_dir_all(p.path(".dry")).expect("rm -r .dry");
    chmod("a-w", &p.root);
    let r = build_as_nobody(&p, script);
    chmod("u+w", &p.root);
    assert_eq!((r.code, r.stdout.as_str()), (0, "two\n"), "{r:#?}");
    assert_eq!(warnings(&r), 1, "{r:#?}");
}

/// Item 2, a full disk: `.dry/` on a 256 KiB tmpfs (in a private mount namespace, so the test
/// needs no cleanup), a command printing 1 MB. The output passes through whole, one warning
/// line, the status is the command's; then the cache still records and replays small runs.
#[test]
fn r21_a_full_disk_keeps_the_output_and_the_cache_usable() {
    let p = Project::new();
    let cache = p.path("cache");
    std::fs::create_dir(&cache).expect("mkdir cache");
    let dry = env!("CARGO_BIN_EXE_dry");
    let script = format!(
        "mount -t tmpfs -o size=256k none {c} || exit 99
         {dry} build -v -- sh -c 'head -c 1000000 /dev/zero | tr \"\\0\" a; exit 5' > big
         echo \"big $?\"
         {dry} build -v -- echo hi; {dry} build -v -- echo hi",
        c = cache.display()
    );
    let mut c = p.command("unshare");
    c.args(["--map-root-user", "--mount", "sh", "-c", &script]).env("DRY_DIR", &cache);
    let r = Run::from(c.output().expect("unshare"));
    assert!(r.stdout.starts_with("big 5\nhi\nhi\n"), "{r:#?}");
    assert_eq!(std::fs::metadata(p.path("big")).expect("big").len(), 1_000_000);
    assert_eq!(warnings(&r), 1, "{r:#?}");
    assert!(r.stderr.contains("No space left on device"), "{r:#?}");
    assert!(r.stderr.contains("dry: replayed: nothing changed"), "{r:#?}");
}

/// Runs `CMD` on a new terminal (a pty, as its session's foreground group), types Ctrl-C after
/// `DELAY` seconds, prints what the terminal showed, then `status exited N` or `status signal N`.
const PTY_CTRL_C: &str = r#"
import os, pty, select, sys, time
delay = float(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
out, sent, deadline = b"", False, time.time() + delay
while True:
    wait = 10 if sent else max(0, deadline - time.time())
    ready, _, _ = select.select([fd], [], [], wait)
    if not ready:
        if sent:
            break
        os.write(fd, b"\x03")
        sent = True
        continue
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
if os.WIFSIGNALED(st):
    print("status signal", os.WTERMSIG(st))
else:
    print("status exited", os.WEXITSTATUS(st))
"#;

/// Item 1: Ctrl-C on the terminal reaches make, which deletes its half-written target and dies
/// of SIGINT; dry waits for it, dies of SIGINT too, and records nothing, so the next build
/// makes the target again instead of calling the partial one up to date.
#[test]
fn r21_ctrl_c_reaches_the_command_and_records_nothing() {
    let p = Project::new();
    p.write("in.txt", "in\n");
    p.write("Makefile", "out.txt: in.txt\n\techo partial > $@; sleep 5; cat in.txt >> $@\n");
    p.write("pty_ctrl_c.py", PTY_CTRL_C);
    let dry = env!("CARGO_BIN_EXE_dry");
    let out = p
        .command("python3")
        .args(["pty_ctrl_c.py", "1", dry, "build", "-v", "--", "make"])
        .output()
        .expect("python3");
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(shown.contains("Deleting file 'out.txt'"), "{shown}");
    assert!(shown.contains("status signal 2"), "dry must die of SIGINT as make did: {shown}");
    assert!(std::fs::symlink_metadata(p.path("out.txt")).is_err(), "{shown}");
    let again = p.build(&["make"]);
    again.assert_ran();
    assert_eq!(p.read("out.txt"), "partial\nin\n", "{again:#?}");
}

/// Item 1: a signal sent to dry alone (`kill -TERM <dry>`) is forwarded to the command, whose
/// trap runs; dry exits as the command did and records nothing.
#[test]
fn r21_a_signal_sent_to_dry_is_forwarded_and_nothing_is_recorded() {
    let p = Project::new();
    let script = r#"trap 'echo trapped; exit 7' TERM; echo started; sleep 5 & wait"#;
    let mut child = p
        .dry_cmd(&["build", "-v", "--", "bash", "-c", script])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("dry build");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 8];
    std::io::Read::read_exact(&mut stdout, &mut first).expect("the command starts");
    assert_eq!(&first, b"started\n");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("kill -TERM dry");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).expect("stdout");
    let status = child.wait().expect("wait");
    assert_eq!(rest, "trapped\n");
    assert_eq!(status.code(), Some(7));
    let why = p.dry(&["why", "--", "bash", "-c", script]);
    let why = String::from_utf8_lossy(&why.stdout).into_owned();
    assert!(why.contains("would run: no entry for this command"), "{why}");
}

/// Item 7: an input the user may not read. `cat secret.txt` refused by the file's mode is
/// replayed while the mode stays (it failed for the permission, not for a missing file), and
/// runs again once `chmod` grants it, `dry why` saying so. As user `nobody`: root reads
/// anything.
#[test]
fn r21_an_unreadable_input_is_a_permission_not_an_absence() {
    let p = Project::new();
    p.write("secret.txt", "s\n");
    let run = |p: &Project| build_as_nobody(p, "cat secret.txt; exit 0");
    std::fs::set_permissions(p.path("secret.txt"), std::fs::Permissions::from_mode(0o000))
        .expect("chmod 000");
    let first = run(&p);
    first.assert_ran();
    assert!(first.stderr.contains("Permission denied"), "{first:#?}");
    let second = run(&p);
    second.assert_replayed();
    assert!(
        second.stderr.contains("Permission denied"),
        "the replay shows cat's error: {second:#?}"
    );
    assert!(p.show_json().contains(r#""type":"access""#), "{}", p.show_json());

    std::fs::set_permissions(p.path("secret.txt"), std::fs::Permissions::from_mode(0o644))
        .expect("chmod 644");
    let why = p.command("setpriv");
    let mut why = why;
    let dry = env!("CARGO_BIN_EXE_dry");
    why.args(["--reuid=65534", "--regid=65534", "--clear-groups", dry, "why", "--"]);
    why.args(["sh", "-c", "cat secret.txt; exit 0"]);
    let why = String::from_utf8_lossy(&why.output().expect("dry why").stdout).into_owned();
    assert!(why.contains("secret.txt: now grants read access; refused it before"), "{why}");
    let third = run(&p);
    third.assert_ran();
    assert_eq!(third.stdout, "s\n", "{third:#?}");
}

/// Runs plain `make ARGS` (no dry) in the project, with the hermetic environment.
fn make(p: &Project, args: &[&str]) -> Run {
    Run::from(p.command("make").args(args).output().expect("running make"))
}

/// Asserts that make finds every target up to date, as after a real run: `make -q` exits 0
/// and `make -n` would run nothing (it prints only its own "is up to date" lines).
#[track_caller]
fn assert_make_is_happy(p: &Project, when: &str) {
    let q = make(p, &["-q"]);
    assert_eq!(q.code, 0, "make -q {when}: {q:#?}");
    let n = make(p, &["-n"]);
    let would_run = n.stdout.lines().any(|l| !l.starts_with("make: "));
    assert!(n.code == 0 && !would_run, "make -n {when}: {n:#?}");
}

/// Item 4: after a replay, make's comparisons of times come out as after the real run. Edit
/// `util.c`, build, revert, build: the replay restored `app` before `util.o`, so `make -n`
/// wanted to relink.
#[test]
fn r21_a_replay_keeps_makes_times_in_the_order_of_the_run() {
    let p = Project::new();
    p.write(
        "Makefile",
        "app: main.o util.o\n\tcc -o app main.o util.o\n\
         main.o: main.c util.h\n\tcc -c main.c\n\
         util.o: util.c util.h\n\tcc -c util.c\n",
    );
    p.write("util.h", "int twice(int);\n");
    p.write("main.c", "#include <stdio.h>\n#include \"util.h\"\nint main(void) { printf(\"%d\\n\", twice(21)); return 0; }\n");
    let util = "#include \"util.h\"\nint twice(int x) { return 2 * x; }\n";
    p.write("util.c", util);
    p.build(&["make"]).assert_ran();
    assert_make_is_happy(&p, "after the first run");
    p.write("util.c", "#include \"util.h\"\nint twice(int x) { return x + x; }\n");
    p.build(&["make"]).assert_ran();
    assert_make_is_happy(&p, "after the edit");
    p.write("util.c", util);
    let r = p.build(&["make"]);
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(r.replayed() || r.stderr.contains("nested: replayed"), "nothing replayed: {r:#?}");
    assert_make_is_happy(&p, "after the revert was replayed");
    let out = p.command(&p.path("app").display().to_string()).output().expect("app");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "42\n");
}

/// Item 4: a top-level replay gives an output already in place a fresh time when an input is
/// newer than it (`touch a.c`): make would have rebuilt it.
#[test]
fn r21_a_top_level_replay_refreshes_an_output_older_than_an_input() {
    let p = Project::new();
    p.write("Makefile", "a.o: a.c\n\tcc -c a.c\n");
    p.write("a.c", "int a(void) { return 1; }\n");
    p.build(&["make"]).assert_ran();
    assert_make_is_happy(&p, "after the run");
    let before = std::fs::read(p.path("a.o")).expect("a.o");
    let touched = p.command("touch").arg("a.c").status().expect("touch");
    assert!(touched.success());
    assert_eq!(make(&p, &["-q"]).code, 1, "make -q must see a.c newer than a.o");
    p.build(&["make"]).assert_replayed();
    assert_make_is_happy(&p, "after the replay");
    assert_eq!(std::fs::read(p.path("a.o")).expect("a.o"), before, "a time, never content");
    // Nothing changed since: the next replay leaves every time as it is.
    let mtime = |f: &str| std::fs::metadata(p.path(f)).and_then(|m| m.modified()).expect(f);
    let stamped = mtime("a.o");
    p.build(&["make"]).assert_replayed();
    assert_eq!(mtime("a.o"), stamped, "a no-op replay must not touch its outputs");
}

/// Every file of the project but `.dry/`, with its content, to compare two states.
fn tree(p: &Project) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(&p.root).expect("read_dir").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name != ".dry" && e.file_type().is_ok_and(|t| t.is_file()) {
            out.push((name, std::fs::read(e.path()).expect("read")));
        }
    }
    out.sort();
    out
}

/// Item 10: configure and make of an autoconf project (config.h, header and function checks)
/// under one `dry build`: recorded, replayed with identical outputs, and after a source edit
/// make's compile and link run again; make finds everything up to date after each replay.
/// Needs autoconf (.ci/run installs it).
#[test]
fn r21_configure_and_make_of_an_autoconf_project() {
    let p = Project::new();
    p.write(
        "configure.ac",
        "AC_INIT([hello],[1.0])\nAC_CONFIG_SRCDIR([hello.c])\nAC_CONFIG_HEADERS([config.h])\n\
         AC_PROG_CC\nAC_CHECK_HEADERS([stdlib.h string.h unistd.h])\n\
         AC_CHECK_FUNCS([strdup getpid])\nAC_CONFIG_FILES([Makefile])\nAC_OUTPUT\n",
    );
    p.write(
        "Makefile.in",
        "CC = @CC@\nCFLAGS = @CFLAGS@\n\
         hello: hello.o\n\t$(CC) $(CFLAGS) -o hello hello.o\n\
         hello.o: hello.c config.h\n\t$(CC) $(CFLAGS) -I. -c hello.c\n",
    );
    let source = |greeting: &str| {
        format!(
            "#include \"config.h\"\n#include <stdio.h>\n\
             int main(void) {{\n#ifdef HAVE_STRDUP\n  puts(\"strdup\");\n#endif\n\
             printf(\"{greeting} from %s\\n\", PACKAGE_STRING);\n  return 0;\n}}\n"
        )
    };
    p.write("hello.c", &source("hello"));
    for tool in ["autoconf", "autoheader"] {
        let status = std::process::Command::new(tool).current_dir(&p.root).status().expect(
            "autoconf is required by this test; .ci/run installs it (apt-get install autoconf)",
        );
        assert!(status.success(), "{tool} failed");
    }
    let build = ["sh", "-c", "./configure && make"];
    let hello = || {
        let out = p.command(&p.path("hello").display().to_string()).output().expect("hello");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    p.build(&build).assert_ran();
    assert_eq!(hello(), "strdup\nhello from hello 1.0\n");
    assert_make_is_happy(&p, "after the first run");
    let before = tree(&p);
    p.build(&build).assert_replayed();
    assert_eq!(tree(&p), before, "a replay leaves the outputs as the run left them");
    assert_make_is_happy(&p, "after a replay");
    // Same size: configure stats hello.c (AC_CONFIG_SRCDIR), and a stat records the size.
    p.write("hello.c", &source("salut"));
    let r = p.build(&build);
    r.assert_ran();
    // configure runs again too: it lists `.`, where make has since added hello and hello.o
    // (a listing is checked exactly; notes/transparency.md, "make's clock"). Its outputs come
    // out the same, and make recompiles because hello.c changed.
    assert!(r.stderr.contains("nested: ran `make`: hello.c: content changed"), "{r:#?}");
    assert_eq!(hello(), "strdup\nsalut from hello 1.0\n");
    assert_make_is_happy(&p, "after the rebuild");
    p.build(&build).assert_replayed();
    assert_make_is_happy(&p, "after the rebuild was replayed");
    assert_eq!(hello(), "strdup\nsalut from hello 1.0\n");
}

// ------------------------------------------------------------------------------ item 8

/// Runs `dry build ARGS -- CMD` without `-v`.
fn build_quiet(p: &Project, args: &[&str], cmd: &[&str]) -> Run {
    let mut all = vec!["build"];
    all.extend_from_slice(args);
    all.push("--");
    all.extend_from_slice(cmd);
    Run::from(p.dry_cmd(&all).output().expect("dry build"))
}

/// Item 8: a run that is never cached says so once, on stderr, with what would make it
/// cacheable; `--ttl` replays a run that was not cached only for randomness while it is young.
#[test]
fn r21_a_run_not_cached_says_why_once_and_ttl_replays_it() {
    let p = Project::new();
    let cmd = ["sh", "-c", "head -c 8 /dev/urandom | od -An -tx1"];
    let said = |r: &Run| r.stderr.lines().filter(|l| l.starts_with("dry: not cached:")).count();
    let first = build_quiet(&p, &[], &cmd);
    assert_eq!(first.code, 0, "{first:#?}");
    assert_eq!(said(&first), 1, "{first:#?}");
    assert!(first.stderr.contains("read randomness from /dev/urandom"), "{first:#?}");
    assert!(first.stderr.contains("--ttl DURATION"), "{first:#?}");
    let second = build_quiet(&p, &[], &cmd);
    assert_eq!(said(&second), 0, "said once, not on every build: {second:#?}");
    assert_ne!(second.stdout, first.stdout, "a new run: new random bytes");

    let young = build_quiet(&p, &["-v", "--ttl", "1h"], &cmd);
    young.assert_replayed();
    assert_eq!(young.stdout, second.stdout, "the last run, replayed");
    std::thread::sleep(std::time::Duration::from_millis(50));
    let old = build_quiet(&p, &["-v", "--ttl", "10ms"], &cmd);
    old.assert_ran();
    assert_ne!(old.stdout, second.stdout);
    // Only randomness and the network are forgiven: a run that changed a file outside the
    // project root is never replayed.
    let outside = tempfile::tempdir().expect("tempdir");
    let target = outside.path().join("x");
    let script = format!("echo hi > {}", target.display());
    let cmd = ["sh", "-c", script.as_str()];
    build_quiet(&p, &[], &cmd);
    build_quiet(&p, &["-v", "--ttl", "1h"], &cmd).assert_ran();
}

/// Item 8: the toolchains of this machine that can be replayed soundly are: python with its
/// `__pycache__` (written inside the project), cc, make.
#[test]
fn r21_python_cc_and_make_runs_are_cached() {
    let p = Project::new();
    p.write("helper.py", "x = 41\n");
    p.write("main.py", "import helper\nprint(helper.x + 1)\n");
    let first = p.build(&["python3", "main.py"]);
    first.assert_ran();
    assert!(!first.stderr.contains("not cached"), "{first:#?}");
    let again = p.build(&["python3", "main.py"]);
    again.assert_replayed();
    assert_eq!(again.stdout, "42\n");
    p.write("helper.py", "x = 1\n");
    let changed = p.build(&["python3", "main.py"]);
    changed.assert_ran();
    assert_eq!(changed.stdout, "2\n");

    p.write("a.c", "int main(void) { return 0; }\n");
    p.write("Makefile", "a: a.c\n\tcc -o a a.c\n");
    let made = p.build(&["make"]);
    made.assert_ran();
    assert!(!made.stderr.contains("not cached"), "{made:#?}");
    std::fs::remove_file(p.path("a")).expect("rm a");
    p.build(&["make"]).assert_replayed();
    assert!(std::fs::metadata(p.path("a")).is_ok_and(|m| m.len() > 0));
}

// ---------------------------------------------------------------------------------------------
// Item 5: the terminal. Where dry's stdout or stderr is a terminal the command sees one (a
// pseudo-terminal of dry's, with the terminal's size), and whether it did is part of the key; a
// replay of `2>&1` keeps the order of the two streams (notes/transparency.md, "Terminals").

/// Runs `CMD` on a new 33x77 terminal (a pty), prints what the terminal showed, then `status N`.
const PTY_RUN: &str = r#"
import fcntl, os, pty, struct, sys, termios
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 77, 0, 0))
    os.execvp(sys.argv[1], sys.argv[1:])
out = b""
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
print("status", os.waitstatus_to_exitcode(st))
"#;

/// What the terminal showed when `dry build -v -- sh -c SCRIPT` ran on one (TERM set, for grep).
fn on_a_terminal(p: &Project, script: &str) -> String {
    p.write("pty_run.py", PTY_RUN);
    let dry = env!("CARGO_BIN_EXE_dry");
    let out = p
        .command("python3")
        .args(["pty_run.py", dry, "build", "-v", "--", "sh", "-c", script])
        .env("TERM", "xterm")
        .output()
        .expect("python3");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The lines of a terminal's text that are not dry's own.
fn command_lines(shown: &str) -> Vec<&str> {
    shown.lines().filter(|l| !l.starts_with("dry: ")).collect()
}

const TTY_SCRIPT: &str =
    "[ -t 1 ] && echo tty || echo pipe; stty size <&1; grep --color=auto match in.txt";

/// Item 5 (a): at a terminal, the command sees a terminal of the same size, grep colours its
/// match, and a replay shows exactly what the run showed.
#[test]
fn r21_at_a_terminal_the_command_sees_a_terminal_and_a_replay_shows_the_same() {
    let p = Project::new();
    p.write("in.txt", "a match here\n");
    let first = on_a_terminal(&p, TTY_SCRIPT);
    assert!(first.contains("dry: ran"), "{first}");
    assert!(first.contains("status 0"), "{first}");
    let lines = command_lines(&first);
    assert_eq!(lines[..2], ["tty", "33 77"], "{first}");
    assert!(lines[2].contains("\x1b[") && lines[2].contains("match"), "no colour: {first}");
    let second = on_a_terminal(&p, TTY_SCRIPT);
    assert!(second.contains("dry: replayed"), "{second}");
    assert_eq!(command_lines(&second), lines, "{second}");
    // Nested: grep, at the terminal dry made, is replayed in place with its colours.
    let script = format!("{TTY_SCRIPT}; cat other.txt");
    p.write("other.txt", "first\n");
    assert!(on_a_terminal(&p, &script).contains("dry: ran"));
    p.write("other.txt", "changed\n");
    let third = on_a_terminal(&p, &script);
    assert!(third.contains("dry: nested: replayed `grep --color=auto match in.txt`"), "{third}");
    assert_eq!(command_lines(&third)[..3], lines[..3], "{third}");
}

/// Item 5 (b): the same command with its stdout a file is not replayed from the entry made at
/// a terminal: it runs, sees no terminal and writes no colour; and each entry then replays in
/// its own setting.
#[test]
fn r21_an_entry_made_at_a_terminal_is_not_replayed_to_a_file() {
    let p = Project::new();
    p.write("in.txt", "a match here\n");
    assert!(on_a_terminal(&p, TTY_SCRIPT).contains("dry: ran"));
    // Its stdout a file, its stderr the terminal (where dry's messages show).
    let dry = env!("CARGO_BIN_EXE_dry");
    let script = format!("exec {dry} build -v -- sh -c '{TTY_SCRIPT}' > out.txt");
    let out = p
        .command("python3")
        .args(["pty_run.py", "sh", "-c", &script])
        .env("TERM", "xterm")
        .output()
        .expect("python3");
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        shown.contains(
            "dry: ran: now stderr is a terminal, stdout is not; when recorded, \
                        stdout and stderr are one terminal"
        ),
        "{shown}"
    );
    let out = p.read("out.txt");
    assert!(out.starts_with("pipe\n") && out.contains("a match here\n"), "{out}");
    assert!(!out.contains('\x1b'), "colour in a file: {out}");
    assert!(on_a_terminal(&p, TTY_SCRIPT).contains("dry: replayed"));
}

/// Item 5 (c): `dry build -- CMD > f 2>&1`: stdout and stderr are one open file description,
/// and the replay writes them in the order the command did.
#[test]
fn r21_a_replay_of_2_to_1_keeps_the_order_of_stdout_and_stderr() {
    let p = Project::new();
    let script = "echo a; echo b >&2; echo c; echo d >&2; echo e";
    let both = |p: &Project, name: &str| {
        let f = std::fs::File::create(p.path(name)).expect("create");
        let err = f.try_clone().expect("dup: one open file description");
        let mut c = p.dry_cmd(&["build", "--", "sh", "-c", script]);
        let status = c.stdout(f).stderr(err).status().expect("dry build");
        assert!(status.success());
        p.read(name)
    };
    assert_eq!(both(&p, "first.txt"), "a\nb\nc\nd\ne\n");
    let r = p.dry(&["why", "--", "sh", "-c", script]);
    let why = String::from_utf8_lossy(&r.stdout).into_owned();
    assert!(why.contains("when recorded, stdout and stderr are one stream (2>&1)"), "{why}");
    assert_eq!(both(&p, "second.txt"), "a\nb\nc\nd\ne\n", "the replay keeps the order");
    // Nested: a step with one stream replayed in place (`dry __replay`) keeps the order too.
    p.write("ab.sh", script);
    p.write("x", "1\n");
    let nested = "sh ab.sh; cat x";
    let run = |p: &Project| {
        let f = std::fs::File::create(p.path("nested.txt")).expect("create");
        let err = f.try_clone().expect("dup");
        let mut c = p.dry_cmd(&["build", "-v", "--", "sh", "-c", nested]);
        assert!(c.stdout(f).stderr(err).status().expect("dry build").success());
        p.read("nested.txt")
    };
    assert!(run(&p).starts_with("a\nb\nc\nd\ne\n1\n"));
    p.write("x", "2\n");
    let again = run(&p);
    assert!(again.starts_with("a\nb\nc\nd\ne\n2\n"), "{again}");
    assert!(again.contains("dry: nested: replayed `sh ab.sh`"), "{again}");
    // With two streams the command runs (the entry has no stderr of its own to replay).
    let two = p.build(&["sh", "-c", script]);
    two.assert_ran();
    assert_eq!((two.stdout.as_str(), two.stderr.as_str().lines().next()), ("a\nc\ne\n", Some("b")));
}
