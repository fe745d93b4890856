//! x86_64 register conventions: where the syscall number, its arguments and its return value
//! live, and how the flags of a `clone`/`clone3` in progress are found.
//!
//! Reads registers only through a [`Stopped`] guard. The seccomp filter lets every other
//! architecture (i386 compat calls, x32) run unobserved, and the tracer ignores them too.

use crate::trace::mem;
use crate::trace::stop::Stopped;
use crate::trace::TraceError;
use nix::libc;

/// `AUDIT_ARCH_X86_64`: `EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE`.
pub(crate) const AUDIT_ARCH: u32 = 0xC000_003E;

/// `setxattrat` (Linux 6.13; not in the libc crate yet).
pub(crate) const SYS_SETXATTRAT: libc::c_long = 463;
/// `getxattrat` (Linux 6.13).
pub(crate) const SYS_GETXATTRAT: libc::c_long = 464;
/// `listxattrat` (Linux 6.13).
pub(crate) const SYS_LISTXATTRAT: libc::c_long = 465;
/// `removexattrat` (Linux 6.13).
pub(crate) const SYS_REMOVEXATTRAT: libc::c_long = 466;
/// `open_tree_attr` (Linux 6.15).
pub(crate) const SYS_OPEN_TREE_ATTR: libc::c_long = 467;
/// `file_getattr` (Linux 6.17).
pub(crate) const SYS_FILE_GETATTR: libc::c_long = 468;
/// `file_setattr` (Linux 6.17).
pub(crate) const SYS_FILE_SETATTR: libc::c_long = 469;

/// A syscall as the registers show it: number and the six raw arguments.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct RawSyscall {
    /// The syscall number (`orig_rax`).
    pub nr: u64,
    /// `rdi, rsi, rdx, r10, r8, r9`.
    pub args: [u64; 6],
}

/// Decodes the syscall a tracee is stopped in (entry, seccomp or exit stop).
pub(crate) fn read_syscall(stop: &Stopped) -> Result<RawSyscall, TraceError> {
    let r = stop.regs()?;
    Ok(RawSyscall { nr: r.orig_rax, args: [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9] })
}

/// Returns the result of the syscall at its exit stop: `Ok(value)` or `Err(errno)`.
pub(crate) fn read_return(stop: &Stopped) -> Result<Result<u64, i32>, TraceError> {
    let r = stop.regs()?;
    Ok(decode_return(r.rax))
}

/// Splits a raw `rax` into a value or an errno (the kernel returns `-errno` in -4095..-1).
pub(crate) fn decode_return(rax: u64) -> Result<u64, i32> {
    let signed = rax as i64;
    if (-4095..0).contains(&signed) {
        Err(i32::try_from(-signed).unwrap_or(i32::MAX))
    } else {
        Ok(rax)
    }
}

/// Returns the stack pointer of the stopped tracee.
pub(crate) fn stack_pointer(stop: &Stopped) -> Result<u64, TraceError> {
    Ok(stop.regs()?.rsp)
}

/// Rewrites the arguments of the `execve` or `execveat` the tracee is stopped at the entry of,
/// so that it execs the program at `path` with the argv array at `argv` (the environment is
/// kept): `execveat` becomes relative to `AT_FDCWD` without flags. Returns `false` (and changes
/// nothing) if the tracee is in another syscall.
pub(crate) fn set_exec_args(stop: &Stopped, path: u64, argv: u64) -> Result<bool, TraceError> {
    let mut r = stop.regs()?;
    match r.orig_rax as libc::c_long {
        libc::SYS_execve => {
            r.rdi = path;
            r.rsi = argv;
        }
        libc::SYS_execveat => {
            r.rdi = i64::from(libc::AT_FDCWD) as u64;
            r.rsi = path;
            r.rdx = argv;
            r.r8 = 0;
        }
        _ => return Ok(false),
    }
    stop.set_regs(r)?;
    Ok(true)
}

/// `CLONE_VM | CLONE_VFORK`: what `vfork` means as clone flags.
const VFORK_FLAGS: u64 = (libc::CLONE_VM | libc::CLONE_VFORK) as u64;

/// Returns the clone flags of the `fork`/`vfork`/`clone`/`clone3` the tracee is stopped in (at
/// its `PTRACE_EVENT_FORK/VFORK/CLONE` stop). `None` if the flags cannot be read.
pub(crate) fn read_clone_flags(stop: &Stopped) -> Result<Option<u64>, TraceError> {
    let r = stop.regs()?;
    let nr = r.orig_rax as libc::c_long;
    Ok(match nr {
        libc::SYS_clone => Some(r.rdi),
        // struct clone_args starts with `__u64 flags`.
        libc::SYS_clone3 => mem::read_u64(stop, r.rdi),
        libc::SYS_fork => Some(0),
        libc::SYS_vfork => Some(VFORK_FLAGS),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_small_values_are_errnos() {
        assert_eq!(decode_return((-2i64) as u64), Err(2));
        assert_eq!(decode_return((-4095i64) as u64), Err(4095));
        assert_eq!(decode_return(3), Ok(3));
        assert_eq!(decode_return((-4096i64) as u64), Ok((-4096i64) as u64));
    }
}
