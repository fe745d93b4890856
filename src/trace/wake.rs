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
        Ok(Ready::after(signalled, timed_out, readable(&fds[1])))
    }
}

impl Ready {
    /// What a wait that ended this way calls for. Anything but a notification alone — a
    /// `SIGCHLD`, a timeout, or the listener's `POLLHUP` once no tracee uses the filter any more
    /// (the last exits) — is a reason to look for statuses: with the last `SIGCHLD` taken by
    /// another thread, nothing else would (notes/0008, "A hang found by looping the tests").
    fn after(signalled: bool, timed_out: bool, notice: bool) -> Ready {
        Ready { notice, statuses: signalled || timed_out || !notice }
    }
}

impl Drop for ChildSignals {
    fn drop(&mut self) {
        let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&self.before), None);
    }
}

/// Starts a thread with `SIGCHLD` blocked: the tracer reads `SIGCHLD` through a signalfd
/// while it runs (this module), and a thread that let the signal in could take it first.
pub fn spawn_without_sigchld<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow, Signal};
    let mut block = SigSet::empty();
    block.add(Signal::SIGCHLD);
    let mut before = SigSet::empty();
    let blocked = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&block), Some(&mut before)).is_ok();
    let handle = std::thread::spawn(f);
    if blocked {
        let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&before), None);
    }
    handle
}

#[cfg(test)]
mod tests {
    use super::Ready;

    #[test]
    fn a_wait_ended_by_anything_but_a_notification_looks_for_statuses() {
        // The hang of session 9: POLLHUP on the listener, no SIGCHLD (another thread took it),
        // no timeout (POLLHUP ends every poll at once). Statuses must be drained, or the last
        // exit is never reaped.
        assert_eq!(Ready::after(false, false, false), Ready { notice: false, statuses: true });
        assert_eq!(Ready::after(true, false, false), Ready { notice: false, statuses: true });
        assert_eq!(Ready::after(false, true, false), Ready { notice: false, statuses: true });
        // A notification alone: answer it, no status to look for.
        assert_eq!(Ready::after(false, false, true), Ready { notice: true, statuses: false });
        assert_eq!(Ready::after(true, false, true), Ready { notice: true, statuses: true });
    }
}
