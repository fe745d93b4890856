//! Waiting for two kinds of events at once: a tracee's ptrace status (reported by `SIGCHLD`) and
//! a seccomp notification (a readable listener fd).
//!
//! `waitpid` cannot also wait for an fd, so while a listener is in use the tracer thread blocks
//! `SIGCHLD`, reads it through a `signalfd` and `poll`s both fds. A blocked `SIGCHLD` stays
//! pending until read; the tracer reads it first and then drains every status with `WNOHANG`,
//! so a status that comes meanwhile leaves a new `SIGCHLD` pending, and no stop is missed as long as no other thread of the process takes the signal first (the
//! CLI's other threads block it, see `cli::build`). Should one take it anyway, the wait ends
//! after [`FALLBACK`] and the statuses are drained then: slower, never stuck.

use super::TraceError;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::os::fd::{AsFd, BorrowedFd};

/// The longest wait without looking for statuses, should a `SIGCHLD` go to another thread.
const FALLBACK: u16 = 20;

/// What ended a wait.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Ready {
    /// A notification is pending.
    pub(crate) notice: bool,
    /// A `SIGCHLD` came (or the wait timed out): statuses may be waiting.
    pub(crate) statuses: bool,
}

/// `SIGCHLD` blocked in this thread and readable as an fd; unblocked again on drop.
pub(crate) struct ChildSignals {
    fd: SignalFd,
    /// The thread's mask before, restored on drop.
    before: SigSet,
}

impl ChildSignals {
    /// Blocks `SIGCHLD` in the calling thread and opens a `signalfd` for it.
    pub(crate) fn watch() -> Result<ChildSignals, TraceError> {
        let mut set = SigSet::empty();
        set.add(Signal::SIGCHLD);
        let mut before = SigSet::empty();
        pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut before))
            .map_err(|source| TraceError::Sys { what: "pthread_sigmask", source })?;
        let flags = SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC;
        match SignalFd::with_flags(&set, flags) {
            Ok(fd) => Ok(ChildSignals { fd, before }),
            Err(source) => {
                let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&before), None);
                Err(TraceError::Sys { what: "signalfd", source })
            }
        }
    }

    /// Waits until a `SIGCHLD` arrives, `listener` is readable, or [`FALLBACK`] passes; takes
    /// the pending `SIGCHLD`s.
    pub(crate) fn wait(&self, listener: BorrowedFd<'_>) -> Result<Ready, TraceError> {
        let mut fds = [
            PollFd::new(self.fd.as_fd(), PollFlags::POLLIN),
            PollFd::new(listener, PollFlags::POLLIN),
        ];
        let timed_out = match poll(&mut fds, PollTimeout::from(FALLBACK)) {
            Ok(n) => n == 0,
            Err(nix::errno::Errno::EINTR) => false,
            Err(source) => return Err(TraceError::Sys { what: "poll", source }),
        };
        let readable = |f: &PollFd<'_>| f.revents().is_some_and(|r| r.contains(PollFlags::POLLIN));
        let signalled = readable(&fds[0]);
        if signalled {
            while let Ok(Some(_)) = self.fd.read_signal() {}
        }
        let notice = readable(&fds[1]);
        // Anything else that ends the wait — a timeout, or the listener's POLLHUP once no tracee
        // uses the filter any more (the last exits) — is a reason to look for statuses: with
        // a SIGCHLD taken elsewhere, nothing else would.
        Ok(Ready { notice, statuses: signalled || timed_out || !notice })
    }
}

impl Drop for ChildSignals {
    fn drop(&mut self) {
        let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&self.before), None);
    }
}
