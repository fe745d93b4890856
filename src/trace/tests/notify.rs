//! Path probes answered through seccomp user notification ([`Stops::Notified`]): they reach
//! the tracer as notifications, and what it records is what it records from ptrace stops.

use super::harness::{python, sh, workdir, write, Run};
use crate::trace::Stops;
use model::entry::ExitStatus;
use model::fs::FileKind;
use model::observe::Observation;
use model::Errno;

/// The observations of a run in words, without the header line naming the mode.
fn observed(r: &Run) -> Vec<String> {
    r.ctx().lines().skip(1).map(str::to_owned).collect()
}

const PROBES: &str = "
import os
os.stat('a'); os.lstat('l'); os.readlink('l'); os.path.exists('nope')
os.path.exists('d/nope'); os.access('a', os.R_OK); os.access('gone', os.F_OK)
try:
    os.readlink('a')
except OSError:
    pass
print(os.path.isdir('d'), os.path.islink('l'))
";

#[test]
fn probes_are_notified_with_a_listener_and_recorded_as_from_stops() {
    let (_d, dir) = workdir();
    write(&dir, "a", "x");
    write(&dir, "d/f", "y");
    std::os::unix::fs::symlink("a", dir.join("l")).expect("symlink");
    let notified = python(&dir, PROBES, Stops::Notified);
    let filtered = python(&dir, PROBES, Stops::Filtered);
    let every = python(&dir, PROBES, Stops::Every);
    for r in [&notified, &filtered, &every] {
        assert_eq!(r.status, ExitStatus::Code(0), "{}", r.ctx());
        assert_eq!(r.stdout, b"True True\n", "{}", r.ctx());
        assert!(r.resolved("$T/nope", Err(Errno::ENOENT)), "{}", r.ctx());
        assert!(r.resolved("$T/d/nope", Err(Errno::ENOENT)), "{}", r.ctx());
        assert!(r.resolved("$T/l", Ok(FileKind::Symlink)), "{}", r.ctx());
    }
    // This kernel (Linux >= 5.5) grants listeners: the probes of the script and of Python's
    // own start (hundreds) come as notifications, and only in that mode.
    assert!(notified.notices >= 100, "{} notices\n{}", notified.notices, notified.ctx());
    assert_eq!((filtered.notices, every.notices), (0, 0));
    assert_eq!(observed(&notified), observed(&filtered));
}

#[test]
fn an_access_the_entry_cannot_answer_is_asked_by_the_tracer_itself() {
    // `a` exists, so the entry cannot answer: the result depends on permissions. The tracer
    // asks the same access(2) itself, as the tracee gets no exit stop.
    let code = "import os; print(os.access('a', os.R_OK), os.access('a', os.X_OK))";
    for stops in Stops::ALL {
        let (_d, dir) = workdir();
        write(&dir, "a", "x");
        let r = python(&dir, code, stops);
        assert_eq!(r.stdout, b"True False\n", "{}", r.ctx());
        assert!(r.resolved("$T/a", Ok(FileKind::Regular)), "{}", r.ctx());
        // The refused X_OK depends on the permission bits: recorded as the file's metadata.
        let stat =
            r.all().any(|o| matches!(o, Observation::Stat { path, .. } if r.norm(path) == "$T/a"));
        assert!(stat, "{}", r.ctx());
    }
}

#[test]
fn probes_from_concurrent_processes_and_threads_are_all_answered() {
    let script =
        "for i in 1 2 3 4; do (ls -lR /usr/include/linux > /dev/null; test -e nope$i) & done; wait";
    let threads = "
import os, threading
def probe(n):
    for i in range(300):
        os.path.exists('nope%d_%d' % (n, i)); os.stat('.')
ts = [threading.Thread(target=probe, args=(n,)) for n in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
print('done')
";
    for stops in Stops::ALL {
        let (_d, dir) = workdir();
        let r = sh(&dir, script, stops);
        assert_eq!(r.status, ExitStatus::Code(0), "{}", r.ctx());
        for i in 1..=4 {
            assert!(r.resolved(&format!("$T/nope{i}"), Err(Errno::ENOENT)), "{}", r.ctx());
        }
        let r = python(&dir, threads, stops);
        assert_eq!(r.stdout, b"done\n", "{}", r.ctx());
        for (n, i) in [(0, 0), (1, 150), (2, 299), (3, 42)] {
            let p = format!("$T/nope{n}_{i}");
            assert!(r.resolved(&p, Err(Errno::ENOENT)), "{p}\n{}", r.ctx());
        }
    }
}

const OPENS: &str = "
import os
fd = os.open('link', os.O_RDONLY)
f = os.open('f', os.O_RDONLY, dir_fd=fd)
data = os.read(f, 100).decode()
os.close(f)
os.close(fd)
with open('/dev/null') as n:
    n.read()
print(data, sorted(os.listdir('link')))
";

#[test]
fn read_only_opens_are_performed_by_the_tracer_and_recorded_as_from_stops() {
    let (_d, dir) = workdir();
    write(&dir, "real/f", "in real");
    std::os::unix::fs::symlink("real", dir.join("link")).expect("symlink");
    let notified = python(&dir, OPENS, Stops::Notified);
    let filtered = python(&dir, OPENS, Stops::Filtered);
    for r in [&notified, &filtered] {
        assert_eq!(r.stdout, b"in real ['f']\n", "{}", r.ctx());
        // Opened relative to the directory fd, the file is named through the spelled path:
        // the fd table knew the fd the tracer handed over.
        assert!(r.resolved("$T/link/f", Ok(FileKind::Regular)), "{}", r.ctx());
        assert!(
            r.reads().contains(&("$T/link/f".into(), super::harness::h("in real"))),
            "{}",
            r.ctx()
        );
        assert!(r.resolved("/dev/null", Ok(FileKind::Other)), "{}", r.ctx());
    }
    assert_eq!(observed(&notified), observed(&filtered));
}

#[test]
fn a_fifo_opened_for_reading_is_left_to_the_kernel() {
    // Opening a FIFO for reading blocks until a writer comes: the tracer must not do it itself.
    for stops in Stops::ALL {
        let (_d, dir) = workdir();
        let r = sh(&dir, "mkfifo p; (sleep 0.2; echo through > p) & cat p; wait", stops);
        assert_eq!(r.stdout, b"through\n", "{}", r.ctx());
        assert!(r.resolved("$T/p", Ok(FileKind::Other)), "{}", r.ctx());
    }
}

#[test]
fn dev_stdin_opens_the_tracees_own_standard_input() {
    // The shell redirects its child's stdin; /dev/stdin -> /proc/self/fd/0 must reach the
    // child's fd 0, not the tracer's (whose stdin is the test harness's).
    for stops in Stops::ALL {
        let (_d, dir) = workdir();
        write(&dir, "in", "from the file\n");
        let r = sh(&dir, "cat /dev/stdin < in", stops);
        assert_eq!(r.stdout, b"from the file\n", "{}", r.ctx());
        // And /dev/stdin resolved to that file, through the child's fd 0 (the entry's own look
        // of /dev/stdin reached the tracer's standard input, which a notified open must not use).
        assert!(r.resolved("/dev/stdin", Ok(FileKind::Regular)), "{}", r.ctx());
    }
}
