//! Seccomp user notification: the path probes that are answered at their entry
//! ([`super::early`]) reach the tracer as notifications on a listener fd instead of as ptrace
//! stops (notes/0008-user-notification.md).
//!
//! A ptrace stop costs two wake-ups across CPUs (the tracer's and then the tracee's); on this
//! project's 2-core VM that is about 30 µs for each of the ~50 000 probes of a compile of Lua. A
//! notification with `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP` (Linux 6.6) wakes the tracer on the
//! tracee's own CPU and back, about 8 µs. The tracee sleeps in the kernel until the tracer answers
//! `SECCOMP_USER_NOTIF_FLAG_CONTINUE`, so the tracer looks at the path exactly as it does at an
//! entry stop, and the kernel then runs the syscall as if nothing had happened.
//!
//! Owns the listener: its creation in the child ([`install`], async-signal-safe), its passing to
//! the tracer over a socket pair ([`Channel`]), receiving ([`Listener::recv`]) and answering
//! ([`Listener::proceed`]). A [`Notice`] is the proof that a tracee waits for an answer, as a
//! [`super::stop::Stopped`] is for a ptrace stop: its memory may be read while it is held.

use super::mem::Paused;
use super::TraceError;
use nix::errno::Errno;
use nix::libc;
use nix::unistd::Pid;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP` (linux/seccomp.h, Linux 6.6; not in the libc crate).
const SYNC_WAKE_UP: u64 = 1;

/// The oldest kernel with everything the notified mode uses: `SECCOMP_USER_NOTIF_FLAG_CONTINUE`
/// (5.5) and `SECCOMP_ADDFD_FLAG_SEND` (5.14). Synchronous wake-up (6.6) only makes it faster.
const OLDEST: (u32, u32) = (5, 14);

/// Reports whether the running kernel is at least [`OLDEST`] (by its release string, e.g.
/// `6.8.0-45-generic`); an unreadable release counts as too old.
pub(crate) fn supported() -> bool {
    nix::sys::utsname::uname()
        .is_ok_and(|u| release_at_least(u.release().as_encoded_bytes(), OLDEST))
}

/// Parses the leading `major.minor` of a kernel release and compares it with `min`.
fn release_at_least(release: &[u8], min: (u32, u32)) -> bool {
    let text = String::from_utf8_lossy(release);
    let mut parts = text.split(|c: char| !c.is_ascii_digit());
    let major = parts.next().and_then(|p| p.parse::<u32>().ok());
    let minor = parts.next().and_then(|p| p.parse::<u32>().ok());
    match (major, minor) {
        (Some(major), Some(minor)) => (major, minor) >= min,
        _ => false,
    }
}

/// A notified syscall: the tracee `pid` sleeps in it until [`Listener::proceed`].
#[derive(Debug)]
pub(crate) struct Notice {
    id: u64,
    pid: Pid,
    /// The syscall number.
    pub(crate) nr: u64,
    /// Its six arguments.
    pub(crate) args: [u64; 6],
}

impl Paused for Notice {
    fn pid(&self) -> Pid {
        self.pid
    }
}

/// The tracer's end of the filter's notifications.
#[derive(Debug)]
pub(crate) struct Listener {
    fd: OwnedFd,
}

impl Listener {
    /// Wraps a listener fd received from the child, asking the kernel for synchronous
    /// wake-ups where it has them (older kernels still notify, only slower).
    fn new(fd: OwnedFd) -> Listener {
        let flags: u64 = SYNC_WAKE_UP;
        // SAFETY: SECCOMP_IOCTL_NOTIF_SET_FLAGS takes its flags by value; no memory is passed.
        let _ =
            unsafe { libc::ioctl(fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SET_FLAGS as _, flags) };
        Listener { fd }
    }

    /// The fd to poll for a pending notification.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Takes the next notification; `None` if the tracee stopped waiting meanwhile (a signal
    /// or its death), which leaves nothing to answer.
    pub(crate) fn recv(&self) -> Result<Option<Notice>, TraceError> {
        // SAFETY: seccomp_notif is plain old data; all-zero is the state the kernel requires.
        let mut req: libc::seccomp_notif = unsafe { std::mem::zeroed() };
        let ptr: *mut libc::seccomp_notif = &mut req;
        // SAFETY: `ptr` points at a live, zeroed seccomp_notif that the kernel fills.
        let rc = unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_RECV, ptr) };
        if rc < 0 {
            return match Errno::last() {
                Errno::ENOENT | Errno::EINTR => Ok(None),
                source => Err(TraceError::Sys { what: "SECCOMP_IOCTL_NOTIF_RECV", source }),
            };
        }
        Ok(Some(Notice {
            id: req.id,
            pid: Pid::from_raw(i32::try_from(req.pid).unwrap_or(0)),
            nr: u64::try_from(req.data.nr).unwrap_or(u64::MAX),
            args: req.data.args,
        }))
    }

    /// Installs `file` in the tracee waiting in `notice` at its lowest free fd (close-on-exec
    /// if `cloexec`) and makes that fd the result of its syscall; returns the fd.
    pub(crate) fn hand_over(
        &self,
        notice: &Notice,
        file: &impl AsRawFd,
        cloexec: bool,
    ) -> Result<i32, Errno> {
        let addfd = libc::seccomp_notif_addfd {
            id: notice.id,
            flags: libc::SECCOMP_ADDFD_FLAG_SEND as u32,
            srcfd: u32::try_from(file.as_raw_fd()).map_err(|_| Errno::EBADF)?,
            newfd: 0,
            newfd_flags: if cloexec { libc::O_CLOEXEC as u32 } else { 0 },
        };
        let ptr: *const libc::seccomp_notif_addfd = &addfd;
        // SAFETY: `ptr` points at a live seccomp_notif_addfd that the kernel only reads.
        let rc = unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_ADDFD, ptr) };
        if rc < 0 {
            Err(Errno::last())
        } else {
            Ok(rc)
        }
    }

    /// Lets the kernel run the notified syscall as it would have without the filter.
    pub(crate) fn proceed(&self, notice: Notice) -> Result<(), TraceError> {
        let mut resp = libc::seccomp_notif_resp {
            id: notice.id,
            val: 0,
            error: 0,
            flags: libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32,
        };
        let ptr: *mut libc::seccomp_notif_resp = &mut resp;
        // SAFETY: `ptr` points at a live seccomp_notif_resp that the kernel only reads.
        let rc = unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SEND, ptr) };
        match (rc, Errno::last()) {
            (0.., _) | (_, Errno::ENOENT) => Ok(()),
            (_, source) => Err(TraceError::Sys { what: "SECCOMP_IOCTL_NOTIF_SEND", source }),
        }
    }
}

/// One `SCM_RIGHTS` control message carrying one fd, laid out as `CMSG_SPACE(4)` bytes on
/// x86_64: the header, the fd at `CMSG_DATA`, padding to 8 bytes.
#[repr(C)]
struct FdMessage {
    header: libc::cmsghdr,
    fd: RawFd,
    pad: u32,
}

impl FdMessage {
    /// `CMSG_LEN(4)`: the header and one fd, without the trailing padding.
    const LEN: usize = std::mem::size_of::<libc::cmsghdr>() + 4;

    fn new(fd: RawFd) -> FdMessage {
        // SAFETY: cmsghdr is plain old data (integers); all-zero is valid.
        let mut header: libc::cmsghdr = unsafe { std::mem::zeroed() };
        header.cmsg_len = FdMessage::LEN;
        header.cmsg_level = libc::SOL_SOCKET;
        header.cmsg_type = libc::SCM_RIGHTS;
        FdMessage { header, fd, pad: 0 }
    }

    /// A message header for one byte in `byte` and this control message.
    fn header(&mut self, byte: &mut [u8; 1], iov: &mut libc::iovec) -> libc::msghdr {
        *iov = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: 1 };
        // SAFETY: msghdr is plain old data; all-zero is a valid empty header.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = iov;
        msg.msg_iovlen = 1;
        msg.msg_control = std::ptr::from_mut(self).cast();
        msg.msg_controllen = std::mem::size_of::<FdMessage>();
        msg
    }
}

/// A socket pair that carries the listener fd from the child to the tracer.
pub(crate) struct Channel {
    tracer: OwnedFd,
    child: OwnedFd,
}

impl Channel {
    /// Opens the pair (close-on-exec on both ends).
    pub(crate) fn new() -> Result<Channel, TraceError> {
        let mut fds = [-1 as RawFd; 2];
        let kind = libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC;
        // SAFETY: `fds` is a live array of two ints that the kernel fills.
        if unsafe { libc::socketpair(libc::AF_UNIX, kind, 0, fds.as_mut_ptr()) } < 0 {
            return Err(TraceError::Sys { what: "socketpair", source: Errno::last() });
        }
        // SAFETY: socketpair just returned this fd; nothing else owns it.
        let tracer = unsafe { OwnedFd::from_raw_fd(fds[0]) };
        // SAFETY: as above.
        let child = unsafe { OwnedFd::from_raw_fd(fds[1]) };
        Ok(Channel { tracer, child })
    }

    /// The child's end, as a number for the child to use between fork and exec.
    pub(crate) fn child_end(&self) -> RawFd {
        self.child.as_raw_fd()
    }

    /// In the tracer, once the child has reached its first stop: the listener it sent, if it
    /// made one (`None` when the kernel refused one, e.g. under another listener).
    pub(crate) fn receive(self) -> Option<Listener> {
        drop(self.child);
        let (mut byte, mut control) = ([0u8; 1], FdMessage::new(-1));
        let mut iov = libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 };
        let mut msg = control.header(&mut byte, &mut iov);
        let flags = libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC;
        // SAFETY: `msg` points at live buffers (`byte`, `control`) of the sizes it states.
        let n = unsafe { libc::recvmsg(self.tracer.as_raw_fd(), &mut msg, flags) };
        let header = control.header;
        let one_fd = header.cmsg_level == libc::SOL_SOCKET
            && header.cmsg_type == libc::SCM_RIGHTS
            && header.cmsg_len == FdMessage::LEN;
        if n != 1 || byte[0] != 1 || !one_fd || control.fd < 0 {
            return None;
        }
        // SAFETY: the kernel just installed this fd in this process for us alone.
        Some(Listener::new(unsafe { OwnedFd::from_raw_fd(control.fd) }))
    }
}

/// What [`install`] did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Installed {
    /// The filter is in place and its listener is on its way to the tracer.
    Notifying,
    /// The kernel refused a listener (too old, or another listener above): nothing installed.
    Refused,
    /// The filter is in place but its listener could not be sent: the child must not exec.
    Lost,
}

/// In the child, between fork and exec (async-signal-safe, no allocation): installs `prog`
/// with a listener and sends the listener over `channel`.
pub(crate) fn install(prog: &libc::sock_fprog, channel: RawFd) -> Installed {
    let flags = libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
    let prog_ptr: *const libc::sock_fprog = prog;
    // SAFETY: `prog` points at a valid program that outlives the call; the kernel copies it.
    let rc =
        unsafe { libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, flags, prog_ptr) };
    let Ok(listener) = RawFd::try_from(rc) else { return Installed::Refused };
    if listener < 0 {
        return Installed::Refused;
    }
    let (mut byte, mut control) = ([1u8; 1], FdMessage::new(listener));
    let mut iov = libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 };
    let msg = control.header(&mut byte, &mut iov);
    // SAFETY: `msg` points at live buffers; sendmsg(2) is async-signal-safe.
    let sent = unsafe { libc::sendmsg(channel, &msg, libc::MSG_NOSIGNAL) };
    // The child's copy of the listener is left open: `close` is a notified syscall now, and
    // nobody answers before the tracer has the listener (a deadlock). It is close-on-exec.
    if sent == 1 {
        Installed::Notifying
    } else {
        Installed::Lost
    }
}

#[cfg(test)]
mod tests {
    use super::release_at_least;

    #[test]
    fn kernel_releases_compare_by_major_then_minor() {
        for (release, ok) in [
            ("6.18.44-fc-v595", true),
            ("5.14.0-362.el9.x86_64", true),
            ("5.15.0-91-generic", true),
            ("5.13.19", false),
            ("5.4.0-150-generic", false),
            ("4.19.0", false),
            ("10.0", true),
            ("garbage", false),
            ("", false),
        ] {
            assert_eq!(release_at_least(release.as_bytes(), (5, 14)), ok, "{release}");
        }
    }
}
