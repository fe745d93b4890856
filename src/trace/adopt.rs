//! Read-only opens of notified tracees, performed by the tracer and handed over.
//!
//! A notified `open` that resolves has no exit stop to tell the tracer which fd the tracee got,
//! and the fd table needs it (a directory fd is the base of later `*at` calls). So the tracer
//! opens the file itself, with the tracee's flags, records what the exit stop would have
//! recorded (looking at its own fd), and installs the file in the tracee with
//! `SECCOMP_IOCTL_NOTIF_ADDFD` and `SECCOMP_ADDFD_FLAG_SEND`: the kernel picks the lowest free
//! fd, as `open` would, and makes it the syscall's result in one step.
//!
//! Only regular files and directories are opened this way: opening them has no effect on
//! anything but the new file description, and never blocks. A device, FIFO or socket (a FIFO
//! blocks until a writer comes; a terminal can become the opener's controlling terminal) is
//! left to the kernel, and only its resolution is recorded, as for a failed look: the fd table
//! does not learn its fd, which only matters for a directory. The filter notifies only opens
//! without write access, `O_CREAT`, `O_TRUNC` or `O_TMPFILE` (notes/0008-user-notification.md).

use super::entry::{Cx, PendingOpen};
use super::exit;
use super::notify::{Listener, Notice};
use super::probe;
use model::fs::FileKind;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use nix::unistd::Pid;

/// How a notified open was answered.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Answer {
    /// The tracee got its fd (or stopped waiting): nothing left to answer.
    Given,
    /// The kernel is to run the open itself (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`).
    Continue,
}

/// The links to "my own fds" in `/dev` (`/dev/stdin -> /proc/self/fd/0`, ...), rewritten to the
/// tracee's own `/proc/PID/fd`: followed by the tracer, they would open the tracer's fds.
/// (`/proc/self` itself is rewritten for every probe, `probe::for_tracee`.) `None` for any
/// other path.
fn own_fd_link(pid: Pid, host: &[u8]) -> Option<Vec<u8>> {
    let fd = |n: &str| format!("/proc/{}/fd{n}", pid.as_raw()).into_bytes();
    for (prefix, to) in [
        (&b"/dev/fd"[..], fd("")),
        (b"/dev/stdin", fd("/0")),
        (b"/dev/stdout", fd("/1")),
        (b"/dev/stderr", fd("/2")),
    ] {
        if host.starts_with(prefix) && matches!(host.get(prefix.len()), None | Some(b'/')) {
            let mut out = to;
            out.extend_from_slice(&host[prefix.len()..]);
            return Some(out);
        }
    }
    None
}

/// Opens what `p` names for the tracee waiting in `notice`, whose open flags are `raw`.
pub(crate) fn open(
    cx: &mut Cx<'_>,
    p: PendingOpen,
    raw: u64,
    listener: &Listener,
    notice: &Notice,
) -> Answer {
    let spelled_host = cx.host(&p.at);
    // The entry has just looked (`early::look`), unless the path names one of the tracee's own
    // fds: that look reached the tracer's. A path relative to a directory fd is opened from
    // that directory, through the tracee's `/proc/PID/fd/N` (the kernel walks from the
    // directory itself, wherever the path it was opened as leads now: G33 in notes/model.md).
    let pid = cx.tracee.pid();
    let (host, looked) = match (p.dirfd, own_fd_link(pid, &spelled_host)) {
        (Some(fd), _) => {
            let dir = probe::proc_path(pid, &format!("fd/{fd}"));
            (model::path::join(&dir, &p.at.path), None)
        }
        (None, Some(own)) => (own, None),
        (None, None) => (spelled_host, p.found),
    };
    let kind = match looked.map_or_else(|| probe::kind(&host, p.intent.flags.follow), Ok) {
        Ok(kind) => kind,
        Err(e) => {
            // The entry found it; it is gone now. The kernel will answer as it finds it.
            cx.sink.resolve_failed(&p.at, p.intent.flags, e.0);
            return Answer::Continue;
        }
    };
    if !matches!(kind, FileKind::Regular | FileKind::Directory) {
        // Left to the kernel, which applies the open's rule for the last component (as
        // `model::resolve` does: `O_DIRECTORY` first, then `O_NOFOLLOW`); the outcome recorded
        // is that rule's, not the look's (found by Riker's nofollow-symlinks test: an
        // `O_NOFOLLOW` open of a symlink was recorded as reaching it, and never replayed).
        let flags = p.intent.flags;
        let outcome = match kind {
            _ if flags.directory => Err(nix::libc::ENOTDIR),
            FileKind::Symlink if flags.reject_symlink => Err(nix::libc::ELOOP),
            k => Ok(k),
        };
        cx.sink.resolve_open(&p.at, flags, outcome, p.intent.readable && outcome.is_ok());
        return Answer::Continue;
    }
    // The kernel reads open flags as an int: the low half of the argument.
    let low = u32::try_from(raw & 0xffff_ffff).unwrap_or(0);
    let given = OFlag::from_bits_retain(i32::from_ne_bytes(low.to_ne_bytes()));
    let flags = (given - OFlag::O_CLOEXEC) | OFlag::O_NOCTTY;
    let file = match nix::fcntl::open(probe::os(&host), flags, Mode::empty()) {
        Ok(file) => std::fs::File::from(file),
        Err(e) => {
            // Same path, same flags, same credentials: the kernel's answer would be this one.
            exit::open_failed(cx, &p, e as i32);
            return Answer::Continue;
        }
    };
    let Ok(meta) = file.metadata() else {
        cx.sink.unknown(cx.nr);
        return Answer::Continue;
    };
    let cloexec = p.intent.cloexec;
    let entry = exit::opened(cx, p, exit::Holder::Tracer { file: &file, meta: &meta });
    match listener.hand_over(notice, &file, cloexec) {
        Ok(fd) => {
            let mut fds = cx.task.fds.borrow_mut();
            match entry {
                Some(entry) => fds.insert_entry(fd, entry),
                None => fds.remove(fd),
            }
            Answer::Given
        }
        // The tracee stopped waiting (a signal): it will ask again.
        Err(Errno::ENOENT) => Answer::Given,
        Err(_) => {
            // The tracee keeps waiting; the kernel opens instead, and the fd stays unknown.
            cx.sink.unknown(cx.nr);
            Answer::Continue
        }
    }
}

#[cfg(test)]
mod tests {
    use super::own_fd_link;
    use nix::unistd::Pid;

    #[test]
    fn links_to_own_fds_name_the_tracees_fds() {
        let pid = Pid::from_raw(42);
        let own = |p: &str| {
            let host = own_fd_link(pid, p.as_bytes()).unwrap_or_else(|| p.as_bytes().to_vec());
            String::from_utf8(host).expect("utf-8")
        };
        assert_eq!(own("/dev/stdin"), "/proc/42/fd/0");
        assert_eq!(own("/dev/stderr"), "/proc/42/fd/2");
        assert_eq!(own("/dev/fd/7"), "/proc/42/fd/7");
        assert_eq!(own("/dev/fdx"), "/dev/fdx");
        assert_eq!(own("/dev/stdinx"), "/dev/stdinx");
        assert_eq!(own("/tmp/dev/stdin"), "/tmp/dev/stdin");
    }
}
