//! The signals that interrupt a build (SIGINT, SIGTERM, SIGHUP, SIGQUIT) while dry traces a
//! command (notes/transparency.md, "Interrupts").
//!
//! dry must not die of them while its command runs: the command gets the signal too, and may
//! clean up (make deletes a half-written target, a shell runs its `trap`). A signal from the
//! terminal reaches the whole foreground process group, the command included, by itself; one
//! sent to dry alone (by `kill`) is forwarded to the top-level command. dry then waits for the
//! command as usual, records nothing that finished after the signal, and exits as the command
//! did, by the same signal if it died of one ([`die_like`]).

use nix::libc;
use nix::sys::signal::{kill, raise, sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::unistd::Pid;
use std::sync::atomic::{AtomicI32, Ordering};

/// The signals handled.
const HANDLED: [Signal; 4] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP, Signal::SIGQUIT];

/// The first interrupting signal received (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// The top-level command's pid once it runs (0 before).
static COMMAND: AtomicI32 = AtomicI32::new(0);

/// Async-signal-safe: two atomic operations and `kill`.
extern "C" fn on_signal(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    let _ = RECEIVED.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let code = unsafe { (*info).si_code };
    // Sent by a process (SI_USER, SI_QUEUE, SI_TKILL: codes <= 0), not by the terminal or the
    // kernel, which signal the whole foreground group, the command included.
    let pid = COMMAND.load(Ordering::SeqCst);
    if code <= 0 && pid > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { libc::kill(pid, sig) };
    }
}

/// Installs the handlers (with `SA_RESTART`, so that dry's own blocking calls resume).
pub fn install() -> nix::Result<()> {
    let action = SigAction::new(
        SigHandler::SigAction(on_signal),
        SaFlags::SA_SIGINFO | SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in HANDLED {
        // SAFETY: the handler only touches atomics and calls kill(2), both async-signal-safe.
        unsafe { sigaction(sig, &action) }?;
    }
    Ok(())
}

/// Sets the process a signal sent to dry alone is forwarded to.
pub(crate) fn set_command(pid: Pid) {
    COMMAND.store(pid.as_raw(), Ordering::SeqCst);
}

/// Returns the first interrupting signal dry received, if any.
pub fn received() -> Option<Signal> {
    Signal::try_from(RECEIVED.load(Ordering::SeqCst)).ok()
}

/// Ends dry by signal `sig`, as the command ended (a shell running dry then sees what it would
/// have seen of the command: bash stops a script whose command died of SIGINT). No core file
/// is written for dry itself. Returns only if `sig` could not end the process (a signal whose
/// default action is to continue or to be ignored).
pub fn die_like(sig: i32) {
    let Ok(signal) = Signal::try_from(sig) else { return };
    let no_core = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: setrlimit reads the struct passed by reference.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &no_core) };
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    // SAFETY: restoring the default disposition installs no handler.
    if unsafe { sigaction(signal, &default) }.is_err() {
        return;
    }
    let mut set = SigSet::empty();
    set.add(signal);
    let _ = set.thread_unblock();
    let _ = raise(signal);
    let _ = kill(Pid::this(), signal);
}
