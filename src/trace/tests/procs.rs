//! What the tracer reports across processes and threads: fork, exec, pipelines, vfork,
//! threads sharing a current directory, exec from a thread, PATH probes, exit statuses,
//! standard input, sockets, and the errors of a command that cannot start.

use super::harness::{h, python, sh, trace, workdir, write};
use crate::trace::{Stops, TraceError};
use model::entry::{ExitStatus, Uncacheable};
use model::fs::FileKind;
use model::observe::Observation;
use model::Errno;
use std::io::Write;
use std::os::fd::OwnedFd;

const MODES: [Stops; 3] = Stops::ALL;

#[test]
fn subshell_and_pipeline_children_are_traced() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "a", "A\n");
        let r = sh(&dir, "(cat a) | cat > out; (cd /; true)", seccomp);
        assert_eq!(r.status, ExitStatus::Code(0), "{}", r.ctx());
        assert!(r.reads().contains(&("$T/a".into(), h("A\n"))), "{}", r.ctx());
        assert!(r.touches().contains(&("$T/out".into(), None)), "{}", r.ctx());
        let cat = std::fs::read("/usr/bin/cat").expect("/usr/bin/cat");
        let cat_read = ("/usr/bin/cat".to_string(), model::Hash::of(&cat));
        assert!(r.reads().contains(&cat_read), "{}", r.ctx());
        // Without nested mode every process belongs to the top-level command only.
        assert!(r.obs.iter().all(|(chain, _)| chain == &[0]), "{}", r.ctx());
        assert!(r.events.is_empty(), "{}", r.ctx());
        assert_eq!(std::fs::read(dir.join("out")).expect("out"), b"A\n");
    }
}

#[test]
fn a_thread_changing_directory_moves_the_whole_process() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "sub/f", "T");
        let code = "import os, threading\nt = threading.Thread(target=os.chdir, args=('sub',))\n\
                    t.start(); t.join()\nopen('f').read()";
        let r = python(&dir, code, seccomp);
        assert_eq!(r.status, ExitStatus::Code(0), "{}", r.ctx());
        assert!(r.reads().contains(&("$T/sub/f".into(), h("T"))), "{}", r.ctx());
        // The main thread resolved `f` from the directory its sibling thread moved to.
        assert!(r.resolved("$T/sub/f", Ok(FileKind::Regular)), "{}", r.ctx());
    }
}

#[test]
fn posix_spawn_child_inherits_the_directory() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "sub/f", "V");
        let code = "import os\nos.chdir('sub')\n\
                    pid = os.posix_spawn('/usr/bin/cat', ['cat', 'f'], {})\n\
                    os.chdir('/')\nos.waitpid(pid, 0)";
        let r = python(&dir, code, seccomp);
        assert!(r.reads().contains(&("$T/sub/f".into(), h("V"))), "{}", r.ctx());
        assert!(r.resolved("$T/sub/f", Ok(FileKind::Regular)), "{}", r.ctx());
        assert_eq!(r.stdout, b"V", "{}", r.ctx());
    }
}

#[test]
fn exec_from_a_thread_is_followed() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "f", "X");
        let code = "import os, threading\n\
                    t = threading.Thread(target=os.execv, args=('/usr/bin/cat', ['cat', 'f']))\n\
                    t.start(); t.join()";
        let r = python(&dir, code, seccomp);
        assert_eq!(r.status, ExitStatus::Code(0), "{}", r.ctx());
        assert!(r.reads().contains(&("$T/f".into(), h("X"))), "{}", r.ctx());
        assert_eq!(r.stdout, b"X", "{}", r.ctx());
        // The exec itself is observed although a non-leader thread made it.
        assert!(r.resolved("/usr/bin/cat", Ok(FileKind::Regular)), "{}", r.ctx());
    }
}

#[test]
fn a_missing_command_is_probed_on_the_path() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        std::fs::create_dir(dir.join("bin1")).expect("bin1");
        let r = sh(&dir, "nonexistent_cmd_xyz; true", seccomp);
        assert_eq!(r.status, ExitStatus::Code(0), "{}", r.ctx());
        assert!(r.resolved("$T/bin1/nonexistent_cmd_xyz", Err(Errno::ENOENT)), "{}", r.ctx());
    }
}

#[test]
fn exit_codes_and_signals_are_returned() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        assert_eq!(sh(&dir, "exit 3", seccomp).status, ExitStatus::Code(3));
        assert_eq!(sh(&dir, "kill -9 $$", seccomp).status, ExitStatus::Signal(9));
        // Signals reach the tracee: the default action, and a handler.
        assert_eq!(sh(&dir, "kill -USR1 $$; exit 0", seccomp).status, ExitStatus::Signal(10));
        let trapped = sh(&dir, "trap 'exit 4' USR1; kill -USR1 $$; exit 0", seccomp);
        assert_eq!(trapped.status, ExitStatus::Code(4));
    }
}

fn pipe_with(content: &[u8]) -> OwnedFd {
    let (r, mut w) = std::io::pipe().expect("pipe");
    w.write_all(content).expect("fill pipe");
    OwnedFd::from(r)
}

#[test]
fn reading_stdin_from_a_pipe_is_interactive() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        let argv = ["sh", "-c", "cat"];
        let r = trace(&dir, "/bin/sh", &argv, seccomp, Some(pipe_with(b"data"))).expect("cat");
        assert_eq!(r.stdout, b"data");
        let interactive = Observation::Uncacheable(Uncacheable::InteractiveStdin);
        assert!(r.saw(&interactive), "{}", r.ctx());
        let argv = ["sh", "-c", "true"];
        let r = trace(&dir, "/bin/sh", &argv, seccomp, Some(pipe_with(b"data"))).expect("true");
        assert!(!r.saw(&interactive), "{}", r.ctx());
    }
}

#[test]
fn reading_stdin_from_a_file_is_an_input() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "input", "from file\n");
        let f = std::fs::File::open(dir.join("input")).expect("input");
        // `cat` copies a regular file with copy_file_range, which is not a read: the shell's
        // `read` builtin reads fd 0 with read(2).
        let argv = ["sh", "-c", "read x; echo \"$x\""];
        let r = trace(&dir, "/bin/sh", &argv, seccomp, Some(OwnedFd::from(f))).expect("read");
        assert!(r.saw(&Observation::StdinFile { hash: h("from file\n") }), "{}", r.ctx());
        assert_eq!(r.stdout, b"from file\n");
    }
}

#[test]
fn connecting_a_socket_is_uncacheable() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
        let port = listener.local_addr().expect("addr").port();
        let code = format!("import socket\nsocket.create_connection(('127.0.0.1', {port}))");
        let r = python(&dir, &code, seccomp);
        assert_eq!(r.status, ExitStatus::Code(0), "{}", r.ctx());
        assert!(r.saw(&Observation::Uncacheable(Uncacheable::Network)), "{}", r.ctx());
        let r = python(&dir, "import socket\nsocket.socket()", seccomp);
        assert!(!r.saw(&Observation::Uncacheable(Uncacheable::Network)), "{}", r.ctx());
    }
}

#[test]
fn missing_and_unexecutable_commands_are_errors() {
    let (_d, dir) = workdir();
    let missing = dir.join("missing");
    let r = trace(&dir, missing.to_str().expect("utf-8"), &["missing"], Stops::Notified, None);
    assert!(matches!(r, Err(TraceError::NotFound(p)) if p == missing));
    write(&dir, "plain", "#!/bin/sh\n");
    let plain = dir.join("plain");
    let r = trace(&dir, plain.to_str().expect("utf-8"), &["plain"], Stops::Notified, None);
    assert!(matches!(r, Err(TraceError::NotExecutable(p)) if p == plain));
    let r = trace(&dir, dir.to_str().expect("utf-8"), &["dir"], Stops::Notified, None);
    assert!(matches!(r, Err(TraceError::NotExecutable(_))));
}

#[test]
fn a_script_reads_itself_and_its_interpreter() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "bin1/script", "#!/bin/sh\necho ran\n");
        let script = dir.join("bin1/script");
        let mut perms = std::fs::metadata(&script).expect("script").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&script, perms).expect("chmod");
        let r = sh(&dir, "script", seccomp);
        assert_eq!(r.stdout, b"ran\n", "{}", r.ctx());
        assert!(r.reads().contains(&("$T/bin1/script".into(), h("#!/bin/sh\necho ran\n"))));
        assert!(r.reads().iter().any(|(p, _)| p.ends_with("/dash")), "{}", r.ctx());
        assert!(r.resolved("$T/bin1/script", Ok(FileKind::Regular)), "{}", r.ctx());
    }
}

#[test]
fn many_concurrent_children_are_all_followed() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "f", "many");
        let script =
            "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do cat f > out$i & done; wait";
        let r = sh(&dir, script, seccomp);
        assert_eq!(r.status, ExitStatus::Code(0), "{}", r.ctx());
        let reads = r.reads().iter().filter(|(p, _)| p == "$T/f").count();
        assert_eq!(reads, 16, "{}", r.ctx());
        for i in 1..=16 {
            assert!(r.touches().contains(&(format!("$T/out{i}"), None)), "{}", r.ctx());
        }
    }
}

#[test]
fn gcc_compiles_through_its_driver_and_subprocesses() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "hello.c", "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n");
        let r = sh(&dir, "gcc -o hello hello.c && ./hello", seccomp);
        assert_eq!(r.status, ExitStatus::Code(0), "{}", r.ctx());
        assert_eq!(r.stdout, b"hi\n");
        let src = h("#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n");
        assert!(r.reads().contains(&("$T/hello.c".into(), src)), "{}", r.ctx());
        assert!(r.touches().iter().any(|(p, _)| p == "$T/hello"), "{}", r.ctx());
        assert!(r.reads().iter().any(|(p, _)| p.ends_with("/stdio.h")), "{}", r.ctx());
        assert!(!r.all().any(|o| matches!(o, Observation::UnknownSyscall { .. })), "{}", r.ctx());
    }
}

#[test]
fn a_missing_working_directory_is_a_setup_error() {
    let (_d, dir) = workdir();
    let out = tempfile::tempfile().expect("stdout");
    let spawn = crate::trace::Spawn {
        exe: "/bin/true".into(),
        argv: vec!["true".into()],
        env: vec![],
        cwd: dir.join("missing"),
        stdout: OwnedFd::from(out.try_clone().expect("stdout fd")),
        stderr: OwnedFd::from(out),
        stops: Stops::Notified,
        nested: false,
    };
    let r = crate::trace::run(spawn, &mut super::harness::Collect::default());
    assert!(
        matches!(r, Err(TraceError::Sys { what: "chdir", source: nix::errno::Errno::ENOENT })),
        "{r:?}"
    );
}
