//! The command's standard output and error (notes/transparency.md, "Terminals"): what dry's
//! own (or a tracee's) fds 1 and 2 are ([`OutputStreams`]: a terminal each, one open file
//! description or two), and the descriptors the command gets in their place ([`Outputs`]), which
//! dry reads to pass the output through and capture it.
//!
//! Where dry's fd 1 (or 2) is a terminal, the command gets the slave of a pseudo-terminal with
//! dry's terminal's settings and window size, so that it sees a terminal too (colours, line
//! buffering); otherwise a pipe. Output processing (`OPOST`: `\n` to `\r\n`) is turned off on
//! the pseudo-terminal, so that it happens once, on dry's terminal, and the bytes captured are
//! the bytes the command wrote. The pseudo-terminal is never the command's controlling terminal
//! (no `setsid`, no `TIOCSCTTY`; the slave is opened `O_NOCTTY`): the command stays in dry's
//! process group and session, where the real terminal's Ctrl-C reaches it. Where fds 1 and 2
//! are one open file description (`2>&1`, or the terminal a shell gives both), the command
//! gets one pipe or pseudo-terminal for both, read as one stream, so its order is kept.

use super::probe;
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::libc;
use nix::pty::{openpty, OpenptyResult, Winsize};
use nix::sys::termios::{tcgetattr, OutputFlags};
use nix::unistd::Pid;
use std::io::IsTerminal as _;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

pub use model::key::OutputStreams;

/// `KCMP_FILE` of `<linux/kcmp.h>`: compare two file descriptors' open file descriptions.
const KCMP_FILE: libc::c_long = 0;

/// What this process's own fds 1 and 2 are.
pub fn own_streams() -> OutputStreams {
    OutputStreams {
        stdout_terminal: std::io::stdout().is_terminal(),
        stderr_terminal: std::io::stderr().is_terminal(),
        one_stream: same_description(Pid::this()),
    }
}

/// What the fds 1 and 2 of process `pid` (a stopped tracee) are.
pub(crate) fn tracee_streams(pid: Pid) -> OutputStreams {
    OutputStreams {
        stdout_terminal: probe::is_terminal(&probe::proc_path(pid, "fd/1")),
        stderr_terminal: probe::is_terminal(&probe::proc_path(pid, "fd/2")),
        one_stream: same_description(pid),
    }
}

/// Reports whether fds 1 and 2 of process `pid` are one open file description (`kcmp(2)`).
/// Where the kernel has no `kcmp` (built without `CONFIG_KCMP`) or refuses it, the same file
/// (device and inode) counts as the same description unless it is a regular file: a pipe or a
/// terminal has no offset, so writes through two descriptions of it still arrive in order.
fn same_description(pid: Pid) -> bool {
    let p = libc::c_long::from(pid.as_raw());
    // SAFETY: kcmp(2) with KCMP_FILE takes integers only and touches no memory of this process.
    let rc = unsafe { libc::syscall(libc::SYS_kcmp, p, p, KCMP_FILE, 1 as libc::c_long, 2) };
    match Errno::result(rc) {
        Ok(rc) => rc == 0,
        Err(Errno::EBADF | Errno::ESRCH) => false,
        Err(_) => {
            let of = |fd| probe::identity(&probe::proc_path(pid, fd));
            match (of("fd/1"), of("fd/2")) {
                (Some((a, kind)), Some((b, _))) => a == b && !kind.is_file(),
                _ => false,
            }
        }
    }
}

/// The command's fds 1 and 2, and the ends dry reads what it writes to them from.
#[derive(Debug)]
pub struct Outputs {
    /// Becomes the command's fd 1: a pipe's write end or a pseudo-terminal's slave.
    pub stdout: OwnedFd,
    /// Becomes the command's fd 2; a duplicate of `stdout` (one description) for one stream.
    pub stderr: OwnedFd,
    /// Where standard output arrives (for one stream, standard error too). A pseudo-terminal's
    /// master reports the end, once every slave descriptor is closed, as `EIO`.
    pub stdout_from: OwnedFd,
    /// Where standard error arrives; `None` for one stream.
    pub stderr_from: Option<OwnedFd>,
    /// What the command sees: the streams asked for, but no terminal where no pseudo-terminal
    /// could be made (then `warning` says why).
    pub streams: OutputStreams,
    /// Why a pseudo-terminal could not be made, if one could not.
    pub warning: Option<String>,
}

/// Makes the command's fds 1 and 2 for dry's own being `streams` (all close-on-exec in dry).
/// Where no pseudo-terminal can be made (no `/dev/ptmx` in a container), the command gets a
/// pipe and [`Outputs::streams`] says so: the entry's key is what the command saw.
pub fn outputs(streams: OutputStreams) -> std::io::Result<Outputs> {
    let (out, err) = (std::io::stdout(), std::io::stderr());
    let mut seen = streams;
    let mut warning = None;
    let mut channel = |terminal: &mut bool, like| -> std::io::Result<(OwnedFd, OwnedFd)> {
        if *terminal {
            match pty(like) {
                Ok(ends) => return Ok(ends),
                Err(e) => {
                    warning = Some(format!("no pseudo-terminal ({e}): the command sees a pipe"));
                    *terminal = false;
                }
            }
        }
        Ok(nix::unistd::pipe2(OFlag::O_CLOEXEC)?)
    };
    let (stdout_from, stdout) = channel(&mut seen.stdout_terminal, out.as_fd())?;
    let (stderr, stderr_from) = if streams.one_stream {
        seen.stderr_terminal = seen.stdout_terminal;
        (stdout.try_clone()?, None)
    } else {
        let (from, to) = channel(&mut seen.stderr_terminal, err.as_fd())?;
        (to, Some(from))
    };
    Ok(Outputs { stdout, stderr, stdout_from, stderr_from, streams: seen, warning })
}

/// A pseudo-terminal with the settings and window size of terminal `like`: (master, slave).
fn pty(like: BorrowedFd<'_>) -> nix::Result<(OwnedFd, OwnedFd)> {
    let mut termios = tcgetattr(like).ok();
    if let Some(t) = &mut termios {
        t.output_flags.remove(OutputFlags::OPOST);
    }
    let size = window_size(like);
    // glibc opens the slave O_NOCTTY: it never becomes a controlling terminal.
    let OpenptyResult { master, slave } = openpty(size.as_ref(), termios.as_ref())?;
    for fd in [&master, &slave] {
        fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    }
    Ok((master, slave))
}

/// The window size of terminal `fd` (`TIOCGWINSZ`), if it has one.
fn window_size(fd: BorrowedFd<'_>) -> Option<Winsize> {
    let mut size = Winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    let ptr: *mut Winsize = &mut size;
    // SAFETY: TIOCGWINSZ writes one `struct winsize` through the pointer, which points at
    // `size`, alive for the call.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, ptr) };
    (rc == 0 && size.ws_row > 0 && size.ws_col > 0).then_some(size)
}
