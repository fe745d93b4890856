//! The seccomp-bpf filter that makes only path syscalls stop the tracee.
//!
//! Owns the list of traced syscalls ([`TRACED`]) and the BPF program built from it. The program
//! is built in the tracer before `fork` (the child may not allocate) and installed by the child
//! in [`super::spawn`]. It must stay a pure function of constants: it decides which syscalls the
//! tracer can see at all, so a syscall missing here is a syscall dry never observes.
//!
//! Layout of the program (x86_64 only; other architectures and x32 run unfiltered):
//!
//! ```text
//! ld  arch ; jeq AUDIT_ARCH_X86_64 ? next : allow
//! ld  nr   ; jge X32_BIT ? allow : next
//! jeq TRACED[i] ? trace : next        (one per traced syscall)
//! jeq read ? next : allow
//! ld  args[0].lo ; jeq 0 ? next : allow
//! ld  args[0].hi ; jeq 0 ? trace : allow
//! allow: ret ALLOW
//! trace: ret TRACE
//! ```

use super::arch::x86_64::AUDIT_ARCH;
use nix::libc;

/// The syscalls that always stop the tracee (x86_64 numbers). `read` is traced separately, only
/// when it reads fd 0.
pub(crate) const TRACED: &[libc::c_long] = &[
    libc::SYS_open,
    libc::SYS_openat,
    libc::SYS_openat2,
    libc::SYS_creat,
    libc::SYS_stat,
    libc::SYS_lstat,
    libc::SYS_newfstatat,
    libc::SYS_statx,
    libc::SYS_access,
    libc::SYS_faccessat,
    libc::SYS_faccessat2,
    libc::SYS_readlink,
    libc::SYS_readlinkat,
    libc::SYS_execve,
    libc::SYS_execveat,
    libc::SYS_chdir,
    libc::SYS_fchdir,
    libc::SYS_getdents64,
    libc::SYS_getdents,
    libc::SYS_rename,
    libc::SYS_renameat,
    libc::SYS_renameat2,
    libc::SYS_unlink,
    libc::SYS_unlinkat,
    libc::SYS_link,
    libc::SYS_linkat,
    libc::SYS_symlink,
    libc::SYS_symlinkat,
    libc::SYS_mkdir,
    libc::SYS_mkdirat,
    libc::SYS_rmdir,
    libc::SYS_truncate,
    libc::SYS_chmod,
    libc::SYS_fchmodat,
    libc::SYS_mknod,
    libc::SYS_mknodat,
    libc::SYS_close,
    libc::SYS_dup,
    libc::SYS_dup2,
    libc::SYS_dup3,
    libc::SYS_fcntl,
    libc::SYS_connect,
];

/// Syscall numbers with this bit set are x32 ABI calls.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
/// `offsetof(struct seccomp_data, nr)`.
const OFF_NR: u32 = 0;
/// `offsetof(struct seccomp_data, arch)`.
const OFF_ARCH: u32 = 4;
/// `offsetof(struct seccomp_data, args[0])`, low half (little-endian).
const OFF_ARG0_LO: u32 = 16;
/// `offsetof(struct seccomp_data, args[0])`, high half.
const OFF_ARG0_HI: u32 = 20;

fn stmt(code: u32, k: u32) -> libc::sock_filter {
    // BPF opcodes fit in 16 bits by construction (class | size | mode).
    libc::sock_filter { code: code as u16, jt: 0, jf: 0, k }
}

fn jump(code: u32, k: u32, jt: usize, jf: usize) -> libc::sock_filter {
    // The program is far shorter than 256 instructions, so every offset fits in a u8.
    let (jt, jf) = (u8::try_from(jt).unwrap_or(u8::MAX), u8::try_from(jf).unwrap_or(u8::MAX));
    libc::sock_filter { code: code as u16, jt, jf, k }
}

/// Builds the filter program (see the module docs for its layout).
pub(crate) fn filter() -> Vec<libc::sock_filter> {
    let ld = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let jeq = libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K;
    let jge = libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K;
    let ret = libc::BPF_RET | libc::BPF_K;
    let n = TRACED.len();
    // Index of each instruction, so that jumps can be computed relative to the next one.
    let allow = 4 + n + 5;
    let trace = allow + 1;
    let mut prog = Vec::with_capacity(trace + 1);
    prog.push(stmt(ld, OFF_ARCH));
    prog.push(jump(jeq, AUDIT_ARCH, 0, allow - 2));
    prog.push(stmt(ld, OFF_NR));
    prog.push(jump(jge, X32_SYSCALL_BIT, allow - 4, 0));
    for (i, &nr) in TRACED.iter().enumerate() {
        let at = 4 + i;
        prog.push(jump(jeq, nr as u32, trace - at - 1, 0));
    }
    let at = 4 + n;
    prog.push(jump(jeq, libc::SYS_read as u32, 0, allow - at - 1));
    prog.push(stmt(ld, OFF_ARG0_LO));
    prog.push(jump(jeq, 0, 0, allow - (at + 2) - 1));
    prog.push(stmt(ld, OFF_ARG0_HI));
    prog.push(jump(jeq, 0, trace - (at + 4) - 1, allow - (at + 4) - 1));
    prog.push(stmt(ret, libc::SECCOMP_RET_ALLOW));
    prog.push(stmt(ret, libc::SECCOMP_RET_TRACE));
    debug_assert_eq!(prog.len(), trace + 1);
    prog
}

/// Reports whether `nr` is a syscall the filter stops on (ignoring the fd test of `read`).
pub(crate) fn is_traced(nr: u64) -> bool {
    nr == libc::SYS_read as u64 || TRACED.iter().any(|&t| t as u64 == nr)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Interprets the subset of classic BPF the filter uses.
    fn run(prog: &[libc::sock_filter], data: &[u32; 8]) -> u32 {
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let ins = prog[pc];
            let code = u32::from(ins.code);
            if code == libc::BPF_RET | libc::BPF_K {
                return ins.k;
            }
            if code == libc::BPF_LD | libc::BPF_W | libc::BPF_ABS {
                acc = data[(ins.k / 4) as usize];
                pc += 1;
                continue;
            }
            let taken = if code & 0xf0 == libc::BPF_JEQ { acc == ins.k } else { acc >= ins.k };
            pc += 1 + usize::from(if taken { ins.jt } else { ins.jf });
        }
    }

    fn data(arch: u32, nr: u64, arg0: u64) -> [u32; 8] {
        [nr as u32, arch, 0, 0, arg0 as u32, (arg0 >> 32) as u32, 0, 0]
    }

    #[test]
    fn traces_exactly_the_listed_syscalls_and_read_of_fd_0() {
        let prog = filter();
        for nr in 0..460u64 {
            let want = if TRACED.iter().any(|&t| t as u64 == nr) {
                libc::SECCOMP_RET_TRACE
            } else {
                libc::SECCOMP_RET_ALLOW
            };
            if nr != libc::SYS_read as u64 {
                assert_eq!(run(&prog, &data(AUDIT_ARCH, nr, 0)), want, "nr {nr}");
            }
        }
        let read = libc::SYS_read as u64;
        assert_eq!(run(&prog, &data(AUDIT_ARCH, read, 0)), libc::SECCOMP_RET_TRACE);
        assert_eq!(run(&prog, &data(AUDIT_ARCH, read, 3)), libc::SECCOMP_RET_ALLOW);
        assert_eq!(run(&prog, &data(AUDIT_ARCH, read, 1 << 32)), libc::SECCOMP_RET_ALLOW);
        let openat = libc::SYS_openat as u64;
        assert_eq!(run(&prog, &data(0x4000_0003, openat, 0)), libc::SECCOMP_RET_ALLOW);
        let x32 = openat | u64::from(X32_SYSCALL_BIT);
        assert_eq!(run(&prog, &data(AUDIT_ARCH, x32, 0)), libc::SECCOMP_RET_ALLOW);
    }
}
