//! Nested mode (notes/0006-nested.md): command instances and their chains, exec requests and
//! their replacement, the output of instances, and what replaying processes do unobserved.

use super::harness::{sh_nested, workdir, write, Decide, Event, Req, Run};
use crate::trace::{CmdId, ExecDecision, Stops};
use model::entry::{ExitStatus, Uncacheable};
use model::observe::Observation;

const MODES: [Stops; 3] = Stops::ALL;

/// Lets every command run.
fn run_all() -> Decide {
    Box::new(|_| ExecDecision::Run)
}

/// Replaces the exec whose argv is `argv` with `exe replacement...`.
fn replace(argv: &'static [&'static str], exe: &'static str, replacement: &[&str]) -> Decide {
    let replacement: Vec<Vec<u8>> = replacement.iter().map(|a| a.as_bytes().to_vec()).collect();
    Box::new(move |req: &Req| {
        if req.argv == argv {
            ExecDecision::Replace { exe: exe.as_bytes().to_vec(), argv: replacement.clone() }
        } else {
            ExecDecision::Run
        }
    })
}

impl Run {
    /// Every `command_started`, normalised.
    fn started(&self) -> Vec<(CmdId, Req)> {
        (self.events.iter())
            .filter_map(|e| match e {
                Event::Started(id, req) => Some((*id, self.norm_req(req))),
                _ => None,
            })
            .collect()
    }

    /// The instance started with exactly `argv`.
    fn id_of(&self, argv: &[&str]) -> CmdId {
        let found = self.started().into_iter().find(|(_, r)| r.argv == argv);
        found.unwrap_or_else(|| panic!("no instance {argv:?}\n{}", self.ctx())).0
    }

    /// Every `exec_requested`, normalised.
    fn requested(&self) -> Vec<Req> {
        (self.events.iter())
            .filter_map(|e| match e {
                Event::Requested(req) => Some(self.norm_req(req)),
                _ => None,
            })
            .collect()
    }

    /// Every `command_ended`.
    fn ended(&self) -> Vec<(CmdId, ExitStatus)> {
        (self.events.iter())
            .filter_map(|e| match e {
                Event::Ended(id, status) => Some((*id, *status)),
                _ => None,
            })
            .collect()
    }

    /// Everything reported as output `fd` of instance `id`, in order.
    fn output(&self, id: CmdId, fd: i32) -> String {
        let bytes: Vec<u8> = (self.events.iter())
            .filter_map(|e| match e {
                Event::Output(i, f, b) if *i == id && *f == fd => Some(b.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The chains of the observations that satisfy `pred`.
    fn chains_of(&self, pred: impl Fn(&Observation) -> bool) -> Vec<Vec<CmdId>> {
        self.obs.iter().filter(|(_, o)| pred(o)).map(|(c, _)| c.clone()).collect()
    }

    fn norm_req(&self, r: &Req) -> Req {
        let n = |s: &String| self.norm(s.as_bytes());
        Req {
            pid: r.pid,
            exe: n(&r.exe),
            argv: r.argv.iter().map(n).collect(),
            env: r.env.iter().map(n).collect(),
            cwd: n(&r.cwd),
            chain: r.chain.clone(),
            open_for_writing: r.open_for_writing.iter().map(n).collect(),
        }
    }
}

fn read_of(path: &'static str) -> impl Fn(&Observation) -> bool {
    move |o| matches!(o, Observation::Read { path: p, .. } if p.ends_with(path.as_bytes()))
}

#[test]
fn every_exec_is_an_instance_with_its_own_chain() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "a", "A\n");
        let r = sh_nested(&dir, "cat a; echo x | cat; sh -c 'exit 3'; true", seccomp, run_all());
        assert_eq!(r.status, ExitStatus::Code(0), "{}", r.ctx());
        let started = r.started();
        let ids: Vec<CmdId> = started.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [1, 2, 3], "{}", r.ctx());
        let (_, cat) = &started[0];
        assert_eq!(cat.argv, ["cat", "a"]);
        assert_eq!(cat.exe, "/usr/bin/cat");
        assert_eq!((cat.cwd.as_str(), cat.chain.as_slice()), ("$T", &[0][..]));
        assert!(cat.env.contains(&"LC_ALL=C".to_string()), "{:?}", cat.env);
        assert!(cat.env.contains(&"HOME=$T".to_string()), "{:?}", cat.env);
        assert_eq!(started[1].1.argv, ["cat"]);
        assert_eq!(started[1].1.chain, [0]);
        assert_eq!(started[2].1.argv, ["sh", "-c", "exit 3"]);
        // Every exec but the top-level one was asked about, with the same request.
        let asked: Vec<Vec<String>> = r.requested().into_iter().map(|q| q.argv).collect();
        let began: Vec<Vec<String>> = started.iter().map(|(_, q)| q.argv.clone()).collect();
        assert_eq!(asked, began, "{}", r.ctx());
        let mut ended = r.ended();
        ended.sort_by_key(|(id, _)| *id);
        let want = [(1, ExitStatus::Code(0)), (2, ExitStatus::Code(0)), (3, ExitStatus::Code(3))];
        assert_eq!(ended, want, "{}", r.ctx());
        // An instance's observations carry its chain.
        assert!(r.chains_of(read_of("/a")).contains(&vec![0, 1]), "{}", r.ctx());
        // (An uncapturable write concerns only the instances whose output it was.)
        let rooted = |(c, o): &(Vec<CmdId>, Observation)| {
            c.first() == Some(&0) || matches!(o, Observation::Uncacheable(_))
        };
        assert!(r.obs.iter().all(rooted), "{}", r.ctx());
        assert_eq!(r.stdout, b"A\nx\n");
    }
}

#[test]
fn an_exec_of_an_exec_nests_and_ends_innermost_first() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "a", "A");
        let r = sh_nested(&dir, "sh -c 'exec cat a'; true", seccomp, run_all());
        let (sh, cat) = (r.id_of(&["sh", "-c", "exec cat a"]), r.id_of(&["cat", "a"]));
        let cat_req = r.started().into_iter().find(|(id, _)| *id == cat).expect("cat").1;
        assert_eq!(cat_req.chain, [0, sh], "{}", r.ctx());
        assert!(r.chains_of(read_of("/a")).contains(&vec![0, sh, cat]), "{}", r.ctx());
        let ended: Vec<CmdId> = r.ended().into_iter().map(|(id, _)| id).collect();
        assert_eq!(ended, [cat, sh], "{}", r.ctx());
    }
}

#[test]
fn output_goes_to_the_instances_whose_streams_the_writer_writes() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "f", "F\n");
        let script = "bash -c 'echo hi; cat f; cat missing 2>&1; echo err >&2' 2>err.txt | cat";
        let r = sh_nested(&dir, script, seccomp, run_all());
        let bash = r.id_of(&["bash", "-c", "echo hi; cat f; cat missing 2>&1; echo err >&2"]);
        let (cat_f, cat_missing) = (r.id_of(&["cat", "f"]), r.id_of(&["cat", "missing"]));
        let missing = "cat: missing: No such file or directory\n";
        assert_eq!(r.output(bash, 1), format!("hi\nF\n{missing}"), "{}", r.ctx());
        assert_eq!(r.output(bash, 2), "err\n", "{}", r.ctx());
        assert_eq!((r.output(cat_f, 1), r.output(cat_f, 2)), ("F\n".into(), String::new()));
        // `2>&1`: its fds 1 and 2 are one description of the pipe, one stream: its fd 2
        // writes are its stdout, in order (notes/transparency.md, "Terminals").
        assert_eq!(r.output(cat_missing, 1), missing, "{}", r.ctx());
        assert_eq!(r.output(cat_missing, 2), "", "{}", r.ctx());
        assert!(!r.events.iter().any(|e| matches!(e, Event::Output(0, ..))), "{}", r.ctx());
        assert_eq!(r.stdout, format!("hi\nF\n{missing}").as_bytes());
    }
}

#[test]
fn a_replaced_exec_runs_the_replacement_unobserved_with_the_original_fds() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "a", "A\n");
        write(&dir, "b", "B\n");
        let decide = replace(&["cat", "b"], "/bin/echo", &["echo", "replaced"]);
        let r = sh_nested(&dir, "sh -c 'cat a; cat b; echo end' | cat", seccomp, decide);
        assert_eq!(r.status, ExitStatus::Code(0), "{}", r.ctx());
        assert_eq!(r.stdout, b"A\nreplaced\nend\n", "{}", r.ctx());
        assert!(r.requested().iter().any(|q| q.argv == ["cat", "b"]), "{}", r.ctx());
        assert!(!r.started().iter().any(|(_, q)| q.argv == ["cat", "b"]), "{}", r.ctx());
        assert_eq!(r.started().len(), 3, "{}", r.ctx());
        // Its output reached the pipe: the inner shell's stdout.
        let inner = r.id_of(&["sh", "-c", "cat a; cat b; echo end"]);
        assert_eq!(r.output(inner, 1), "A\nreplaced\nend\n", "{}", r.ctx());
        // Neither the replacement's exec nor anything it did was observed.
        assert!(r.chains_of(read_of("/b")).is_empty(), "{}", r.ctx());
        assert!(r.chains_of(read_of("/echo")).is_empty(), "{}", r.ctx());
        // Only the inner shell itself loaded libc in its own name (cat a has a longer chain).
        let libc = r.chains_of(read_of("/libc.so.6"));
        let own = libc.iter().filter(|c| c.as_slice() == [0, inner]).count();
        assert_eq!(own, 1, "{}", r.ctx());
        assert_eq!(r.ended().len(), 3, "{}", r.ctx());
    }
}

#[test]
fn a_replacement_that_execs_the_original_becomes_an_instance() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "b", "B\n");
        let decide = replace(&["cat", "b"], "/bin/sh", &["sh", "-c", "exec cat b"]);
        let r = sh_nested(&dir, "cat b; true", seccomp, decide);
        assert_eq!(r.stdout, b"B\n", "{}", r.ctx());
        assert_eq!(r.requested().len(), 1, "{}", r.ctx());
        let started = r.started();
        assert_eq!(started.len(), 1, "{}", r.ctx());
        let (id, req) = &started[0];
        assert_eq!((&req.argv, &req.chain), (&vec!["cat".to_string(), "b".into()], &vec![0]));
        assert!(r.chains_of(read_of("/b")).contains(&vec![0, *id]), "{}", r.ctx());
        // The replacement shell itself was not observed: only the top-level one was.
        assert_eq!(r.chains_of(read_of("/bin/sh")), [vec![0]], "{}", r.ctx());
        assert_eq!(r.ended(), [(*id, ExitStatus::Code(0))], "{}", r.ctx());
    }
}

#[test]
fn files_open_for_writing_are_listed_in_the_request() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "in.txt", "I");
        let r = sh_nested(&dir, "exec 3>out.txt 4<in.txt; cat in.txt; true", seccomp, run_all());
        let cat = r.requested().into_iter().find(|q| q.argv == ["cat", "in.txt"]).expect("cat");
        assert_eq!(cat.open_for_writing, ["$T/out.txt"], "{}", r.ctx());
    }
}

#[test]
fn output_written_without_a_user_buffer_is_uncacheable() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "f", "data");
        // cat copies a regular file to a regular file with copy_file_range.
        let r = sh_nested(&dir, "cat f > out.txt; true", seccomp, run_all());
        let cat = r.id_of(&["cat", "f"]);
        let what = "wrote standard output with copy_file_range".to_string();
        let unsupported = Observation::Uncacheable(Uncacheable::Unsupported { what });
        assert_eq!(r.chains_of(|o| *o == unsupported), [vec![cat]], "{}", r.ctx());
        assert_eq!(std::fs::read(dir.join("out.txt")).expect("out.txt"), b"data");
        let code = "import os; f = os.open('f', os.O_RDONLY); os.sendfile(1, f, 0, 4)";
        let script = format!("python3 -c \"{code}\" | cat");
        let r = sh_nested(&dir, &script, seccomp, run_all());
        let py = r.id_of(&["python3", "-c", code]);
        let what = "wrote standard output with sendfile".to_string();
        let unsupported = Observation::Uncacheable(Uncacheable::Unsupported { what });
        assert_eq!(r.chains_of(|o| *o == unsupported), [vec![py]], "{}", r.ctx());
        assert_eq!(r.stdout, b"data");
    }
}

#[test]
fn execs_on_borrowed_stacks_are_replaced_too() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "b", "B\n");
        // posix_spawn runs the child on a small stack of its own (CLONE_VM | CLONE_VFORK), and
        // subprocess uses vfork: the replacement must fit below the child's stack pointer
        // without touching the parent's memory.
        let code = "import os, subprocess, sys\n\
                    pid = os.posix_spawn('/usr/bin/cat', ['cat', 'b'], os.environ)\n\
                    os.waitpid(pid, 0)\n\
                    subprocess.run(['cat', 'b'], check=True)\n\
                    print('parent ok', flush=True)";
        let decide = replace(&["cat", "b"], "/bin/echo", &["echo", "replaced"]);
        let r = sh_nested(&dir, &format!("python3 -c \"{code}\""), seccomp, decide);
        assert_eq!(r.status, ExitStatus::Code(0), "{}", r.ctx());
        assert_eq!(r.stdout, b"replaced\nreplaced\nparent ok\n", "{}", r.ctx());
        assert_eq!(r.requested().iter().filter(|q| q.argv == ["cat", "b"]).count(), 2);
        assert!(r.chains_of(read_of("/b")).is_empty(), "{}", r.ctx());
    }
}

#[test]
fn a_replacement_that_cannot_be_exec_d_is_uncacheable() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "b", "B\n");
        let decide = replace(&["cat", "b"], "/nonexistent/dry", &["dry", "__replay"]);
        let r = sh_nested(&dir, "cat b; echo after", seccomp, decide);
        // The shell tried the next PATH entry (replaced too), then gave up.
        assert_eq!(r.stdout, b"sh: 1: cat: not found\nafter\n", "{}", r.ctx());
        assert!(r.started().is_empty(), "{}", r.ctx());
        let what = "could not start the replay of a skipped command".to_string();
        let unsupported = Observation::Uncacheable(Uncacheable::Unsupported { what });
        let chains = r.chains_of(|o| *o == unsupported);
        assert_eq!(chains, vec![vec![0]; r.requested().len()], "{}", r.ctx());
    }
}

#[test]
fn an_exec_from_a_thread_starts_an_instance_ended_with_the_process() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "f", "X");
        let code = "import os, threading\n\
                    t = threading.Thread(target=os.execv, args=('/usr/bin/cat', ['cat', 'f']))\n\
                    t.start(); t.join()";
        let r = sh_nested(&dir, &format!("python3 -c \"{code}\"; true"), seccomp, run_all());
        assert_eq!(r.stdout, b"X", "{}", r.ctx());
        let (py, cat) = (r.id_of(&["python3", "-c", code]), r.id_of(&["cat", "f"]));
        assert!(r.chains_of(read_of("/f")).contains(&vec![0, py, cat]), "{}", r.ctx());
        let ended = r.ended();
        assert_eq!(ended, [(cat, ExitStatus::Code(0)), (py, ExitStatus::Code(0))], "{}", r.ctx());
    }
}
