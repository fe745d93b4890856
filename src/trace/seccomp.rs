//! The seccomp-bpf filter that makes only path syscalls stop the tracee.
//!
//! Owns the list of traced syscalls ([`TRACED`]) and the BPF program built from it. The program
//! is built in the tracer before `fork` (the child may not allocate) and installed by the child
//! in [`super::spawn`]. It must stay a pure function of constants: it decides which syscalls the
//! tracer can see at all, so a syscall missing here is a syscall dry never observes.
//!
//! Syscalls that would reach files where no stop shows a path ([`REFUSED`]: io_uring, whose
//! requests open and read files inside the kernel) are refused with `ENOSYS`, as container
//! runtimes' default profiles refuse io_uring: programs fall back to plain syscalls, which are
//! traced. The decision for every syscall of the table is in notes/syscalls.md.
//!
//! In nested mode the filter also stops the writes to fds 1 and 2 (the output of command
//! instances): `write`, `writev` and the calls that write without a user buffer or at an offset
//! ([`OUTPUT_ARG0`], [`OUTPUT_ARG2`]). The filter is built per run, so that a run without nested
//! commands never stops on a write.
//!
//! Layout of the program (x86_64 only; other architectures and x32 run unfiltered):
//!
//! ```text
//! ld  arch ; jeq AUDIT_ARCH_X86_64 ? next : allow
//! ld  nr   ; jge X32_BIT ? allow : next
//! jeq REFUSED[i] ? refuse : next      (one per refused syscall)
//! jeq NOTIFIED[i] ? notify : next     (one per notified syscall; with a listener only)
//! jeq open/openat ? open1/open2 : next                                     (listener only)
//! jeq TRACED[i] ? trace : next        (one per traced syscall)
//! jeq OUTPUT_ARG0[i] ? out0 : next    (nested only)
//! jeq OUTPUT_ARG2[i] ? out2 : next    (nested only)
//! jeq read ? next : allow
//! ld  args[0].lo ; jeq 0 ? next : allow
//! ld  args[0].hi ; jeq 0 ? trace : allow
//! out0: ld args[0].lo ; jeq 1 ? trace : next ; jeq 2 ? trace : allow    (nested only)
//! out2: ld args[2].lo ; jeq 1 ? trace : next ; jeq 2 ? trace : allow    (nested only)
//! open1: ld args[1].lo ; jset OPEN_CHANGES ? trace : notify                (listener only)
//! open2: ld args[2].lo ; jset OPEN_CHANGES ? trace : notify                (listener only)
//! allow: ret ALLOW
//! trace: ret TRACE
//! refuse: ret ERRNO(ENOSYS)
//! notify: ret USER_NOTIF                                                   (listener only)
//! ```
//!
//! Only the low half of an fd argument is tested: the kernel reads fds as `int`.

use super::arch::x86_64::{self, AUDIT_ARCH};
use nix::libc;

/// The syscalls refused with `ENOSYS` before they run: io_uring (its requests open, read and
/// write files inside the kernel, where no syscall stop shows them; every program that uses it
/// must already fall back where it is refused or absent), and two obsolete calls that load or
/// name files by other means (`uselib`, `lookup_dcookie`).
pub(crate) const REFUSED: &[libc::c_long] = &[
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_uselib,
    libc::SYS_lookup_dcookie,
];

/// The syscalls that always stop the tracee (x86_64 numbers). `read` is traced separately, only
/// when it reads fd 0. The calls after `connect` are the ones the tracer records only as a
/// resolution ([`super::syscall::Syscall::Probe`]) or as a reason not to cache the run
/// ([`super::syscall::Syscall::Unseen`]); notes/syscalls.md.
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
    libc::SYS_fchmodat2,
    // Probes: the path resolves; what they read is not modelled.
    libc::SYS_getxattr,
    libc::SYS_lgetxattr,
    libc::SYS_listxattr,
    libc::SYS_llistxattr,
    x86_64::SYS_GETXATTRAT,
    x86_64::SYS_LISTXATTRAT,
    x86_64::SYS_FILE_GETATTR,
    libc::SYS_statfs,
    libc::SYS_name_to_handle_at,
    // Unseen: a run where one succeeds is not cached.
    libc::SYS_open_by_handle_at,
    libc::SYS_fanotify_mark,
    libc::SYS_inotify_add_watch,
    libc::SYS_chown,
    libc::SYS_lchown,
    libc::SYS_fchownat,
    libc::SYS_utime,
    libc::SYS_utimes,
    libc::SYS_futimesat,
    libc::SYS_utimensat,
    libc::SYS_setxattr,
    libc::SYS_lsetxattr,
    libc::SYS_removexattr,
    libc::SYS_lremovexattr,
    x86_64::SYS_SETXATTRAT,
    x86_64::SYS_REMOVEXATTRAT,
    x86_64::SYS_FILE_SETATTR,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_open_tree,
    x86_64::SYS_OPEN_TREE_ATTR,
    libc::SYS_move_mount,
    libc::SYS_fsopen,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_mount_setattr,
    libc::SYS_setns,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_acct,
    libc::SYS_quotactl,
    libc::SYS_bpf,
];

/// The path probes that go to the tracer as seccomp user notifications instead of ptrace
/// stops when a listener could be made ([`super::notify`]): the syscalls that
/// [`super::early`] answers at their entry. They are in [`TRACED`] too, for runs without a
/// listener.
pub(crate) const NOTIFIED: &[libc::c_long] = &[
    libc::SYS_stat,
    libc::SYS_lstat,
    libc::SYS_newfstatat,
    libc::SYS_statx,
    libc::SYS_access,
    libc::SYS_faccessat,
    libc::SYS_faccessat2,
    libc::SYS_readlink,
    libc::SYS_readlinkat,
    libc::SYS_close,
];

/// The opens that are notified when their flags (the low half of the argument at this
/// offset) ask for none of [`OPEN_CHANGES`]: read-only opens, which the tracer can perform for
/// the tracee ([`super::adopt`]). Other opens stop as before.
pub(crate) const NOTIFIED_OPENS: &[(libc::c_long, u32)] =
    &[(libc::SYS_open, OFF_ARG1_LO), (libc::SYS_openat, OFF_ARG2_LO)];

/// Open flags that change the file or need the kernel's own result: write access, `O_CREAT`,
/// `O_TRUNC`, `O_TMPFILE`.
pub(crate) const OPEN_CHANGES: u32 = (libc::O_WRONLY
    | libc::O_RDWR
    | libc::O_CREAT
    | libc::O_TRUNC
    | (libc::O_TMPFILE & !libc::O_DIRECTORY)) as u32;

/// The output syscalls whose fd is their first argument (stopped in nested mode when it is
/// 1 or 2).
pub(crate) const OUTPUT_ARG0: &[libc::c_long] = &[
    libc::SYS_write,
    libc::SYS_writev,
    libc::SYS_pwrite64,
    libc::SYS_pwritev,
    libc::SYS_pwritev2,
    libc::SYS_sendfile,
];

/// The output syscalls whose output fd is their third argument.
pub(crate) const OUTPUT_ARG2: &[libc::c_long] = &[libc::SYS_splice, libc::SYS_copy_file_range];

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
/// `offsetof(struct seccomp_data, args[1])`, low half.
const OFF_ARG1_LO: u32 = 24;
/// `offsetof(struct seccomp_data, args[2])`, low half.
const OFF_ARG2_LO: u32 = 32;

/// Where a jump goes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum To {
    /// The next instruction.
    Next,
    /// A labelled instruction.
    L(Label),
}

/// The instructions jumps name.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Label {
    Allow,
    Trace,
    Refuse,
    Out0,
    Out2,
    Notify,
    /// Tests open flags at this offset: a read-only open notifies, any other stops.
    Open(u32),
}

/// An instruction before its jumps are resolved.
enum Ins {
    Stmt(u32, u32),
    Jump(u32, u32, To, To),
    Here(Label),
}

const LD: u32 = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
const JEQ: u32 = libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K;
const JGE: u32 = libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K;
const JSET: u32 = libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K;
const RET: u32 = libc::BPF_RET | libc::BPF_K;

/// Resolves labels into relative jump offsets.
fn assemble(prog: &[Ins]) -> Vec<libc::sock_filter> {
    let mut at = Vec::new();
    let mut n = 0usize;
    for ins in prog {
        match ins {
            Ins::Here(l) => at.push((*l, n)),
            _ => n += 1,
        }
    }
    let target = |to: To, pc: usize| -> u8 {
        let dest = match to {
            To::Next => pc + 1,
            To::L(l) => at.iter().find(|(x, _)| *x == l).map_or(pc + 1, |&(_, i)| i),
        };
        // The program is shorter than 256 instructions (a test checks): every offset fits.
        u8::try_from(dest - pc - 1).unwrap_or(u8::MAX)
    };
    let mut out = Vec::with_capacity(n);
    for ins in prog {
        // BPF opcodes fit in 16 bits by construction (class | size | mode).
        let pc = out.len();
        match *ins {
            Ins::Stmt(code, k) => {
                out.push(libc::sock_filter { code: code as u16, jt: 0, jf: 0, k })
            }
            Ins::Jump(code, k, jt, jf) => out.push(libc::sock_filter {
                code: code as u16,
                jt: target(jt, pc),
                jf: target(jf, pc),
                k,
            }),
            Ins::Here(_) => {}
        }
    }
    out
}

/// Builds the filter program (see the module docs for its layout); `nested` adds the output
/// syscalls, `notify` sends the [`NOTIFIED`] syscalls to the filter's listener.
pub(crate) fn filter(nested: bool, notify: bool) -> Vec<libc::sock_filter> {
    use Label::*;
    use To::{Next, L};
    let mut p = vec![
        Ins::Stmt(LD, OFF_ARCH),
        Ins::Jump(JEQ, AUDIT_ARCH, Next, L(Allow)),
        Ins::Stmt(LD, OFF_NR),
        Ins::Jump(JGE, X32_SYSCALL_BIT, L(Allow), Next),
    ];
    p.extend(REFUSED.iter().map(|&nr| Ins::Jump(JEQ, nr as u32, L(Refuse), Next)));
    if notify {
        p.extend(NOTIFIED.iter().map(|&nr| Ins::Jump(JEQ, nr as u32, L(Notify), Next)));
        p.extend(
            NOTIFIED_OPENS.iter().map(|&(nr, off)| Ins::Jump(JEQ, nr as u32, L(Open(off)), Next)),
        );
    }
    p.extend(TRACED.iter().map(|&nr| Ins::Jump(JEQ, nr as u32, L(Trace), Next)));
    if nested {
        p.extend(OUTPUT_ARG0.iter().map(|&nr| Ins::Jump(JEQ, nr as u32, L(Out0), Next)));
        p.extend(OUTPUT_ARG2.iter().map(|&nr| Ins::Jump(JEQ, nr as u32, L(Out2), Next)));
    }
    p.extend([
        Ins::Jump(JEQ, libc::SYS_read as u32, Next, L(Allow)),
        Ins::Stmt(LD, OFF_ARG0_LO),
        Ins::Jump(JEQ, 0, Next, L(Allow)),
        Ins::Stmt(LD, OFF_ARG0_HI),
        Ins::Jump(JEQ, 0, L(Trace), L(Allow)),
    ]);
    if nested {
        for (label, off) in [(Out0, OFF_ARG0_LO), (Out2, OFF_ARG2_LO)] {
            p.extend([
                Ins::Here(label),
                Ins::Stmt(LD, off),
                Ins::Jump(JEQ, 1, L(Trace), Next),
                Ins::Jump(JEQ, 2, L(Trace), L(Allow)),
            ]);
        }
    }
    if notify {
        for &(_, off) in NOTIFIED_OPENS {
            p.extend([
                Ins::Here(Open(off)),
                Ins::Stmt(LD, off),
                Ins::Jump(JSET, OPEN_CHANGES, L(Trace), L(Notify)),
            ]);
        }
    }
    p.extend([
        Ins::Here(Allow),
        Ins::Stmt(RET, libc::SECCOMP_RET_ALLOW),
        Ins::Here(Trace),
        Ins::Stmt(RET, libc::SECCOMP_RET_TRACE),
        Ins::Here(Refuse),
        Ins::Stmt(RET, libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32),
    ]);
    if notify {
        p.extend([Ins::Here(Notify), Ins::Stmt(RET, libc::SECCOMP_RET_USER_NOTIF)]);
    }
    assemble(&p)
}

/// Reports whether `nr` is a syscall the filter stops on (ignoring the fd test of `read`).
pub(crate) fn is_traced(nr: u64) -> bool {
    nr == libc::SYS_read as u64
        || TRACED.iter().chain(OUTPUT_ARG0).chain(OUTPUT_ARG2).any(|&t| t as u64 == nr)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Interprets the subset of classic BPF the filter uses.
    fn run(prog: &[libc::sock_filter], data: &[u32]) -> u32 {
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
            let taken = match code & 0xf0 {
                libc::BPF_JEQ => acc == ins.k,
                libc::BPF_JSET => acc & ins.k != 0,
                _ => acc >= ins.k,
            };
            pc += 1 + usize::from(if taken { ins.jt } else { ins.jf });
        }
    }

    fn data(arch: u32, nr: u64, arg0: u64) -> [u32; 8] {
        [nr as u32, arch, 0, 0, arg0 as u32, (arg0 >> 32) as u32, 0, 0]
    }

    /// Seccomp data with `args[2] = arg2` (`args[1]` is left 0).
    fn data2(nr: u64, arg0: u64, arg2: u64) -> [u32; 12] {
        let mut d = [0u32; 12];
        d[0] = nr as u32;
        d[1] = AUDIT_ARCH;
        d[4] = arg0 as u32;
        d[8] = arg2 as u32;
        d
    }

    #[test]
    fn nested_mode_also_stops_output_to_fds_1_and_2() {
        let (trace, allow) = (libc::SECCOMP_RET_TRACE, libc::SECCOMP_RET_ALLOW);
        let nested = filter(true, false);
        let plain = filter(false, false);
        for &nr in OUTPUT_ARG0 {
            let nr = nr as u64;
            for (fd, want) in [(0, allow), (1, trace), (2, trace), (3, allow)] {
                assert_eq!(run(&nested, &data2(nr, fd, 1)), want, "nr {nr} fd {fd}");
            }
            assert_eq!(run(&plain, &data2(nr, 1, 1)), allow, "nr {nr}");
        }
        for &nr in OUTPUT_ARG2 {
            let nr = nr as u64;
            assert_eq!(run(&nested, &data2(nr, 5, 1)), trace, "nr {nr}");
            assert_eq!(run(&nested, &data2(nr, 1, 5)), allow, "nr {nr}");
            assert_eq!(run(&nested, &data2(nr, 2, 2)), trace, "nr {nr}");
        }
        // Everything else behaves as without nested mode.
        for nr in 0..480u64 {
            if OUTPUT_ARG0.iter().chain(OUTPUT_ARG2).any(|&o| o as u64 == nr) {
                continue;
            }
            let d = data2(nr, 0, 0);
            assert_eq!(run(&nested, &d), run(&plain, &d), "nr {nr}");
        }
    }

    #[test]
    fn with_a_listener_the_probes_notify_and_nothing_else_changes() {
        for nested in [false, true] {
            let (notify, plain) = (filter(nested, true), filter(nested, false));
            for nr in 0..480u64 {
                for (arg0, arg2) in [(0, 0), (1, 1), (2, 5), (7, 2)] {
                    let d = data2(nr, arg0, arg2);
                    if NOTIFIED_OPENS.iter().any(|&(n, _)| n as u64 == nr) {
                        continue;
                    }
                    let want = if NOTIFIED.iter().any(|&n| n as u64 == nr) {
                        assert_eq!(run(&plain, &d), libc::SECCOMP_RET_TRACE, "nr {nr}");
                        libc::SECCOMP_RET_USER_NOTIF
                    } else {
                        run(&plain, &d)
                    };
                    assert_eq!(run(&notify, &d), want, "nr {nr} nested {nested}");
                }
            }
            let x32 = libc::SYS_readlink as u64 | u64::from(X32_SYSCALL_BIT);
            assert_eq!(run(&notify, &data2(x32, 0, 0)), libc::SECCOMP_RET_ALLOW);
        }
    }

    #[test]
    fn with_a_listener_only_read_only_opens_notify() {
        let (notify, trace) = (libc::SECCOMP_RET_USER_NOTIF, libc::SECCOMP_RET_TRACE);
        let changes = [
            libc::O_WRONLY,
            libc::O_RDWR,
            libc::O_CREAT,
            libc::O_TRUNC,
            libc::O_TMPFILE,
            libc::O_WRONLY | libc::O_CLOEXEC,
        ];
        let reads = [
            libc::O_RDONLY,
            libc::O_RDONLY | libc::O_CLOEXEC,
            libc::O_DIRECTORY | libc::O_NONBLOCK | libc::O_CLOEXEC,
            libc::O_PATH | libc::O_NOFOLLOW,
            libc::O_APPEND,
        ];
        for nested in [false, true] {
            let (with, without) = (filter(nested, true), filter(nested, false));
            for (nr, flags_at) in [(libc::SYS_open as u64, 1), (libc::SYS_openat as u64, 2)] {
                let data = |flags: i32| {
                    let mut d = data2(nr, 0, 0);
                    d[4 + 2 * flags_at] = flags as u32;
                    // A set high half is ignored by the kernel (flags are an int).
                    d[5 + 2 * flags_at] = 0xffff_ffff;
                    d
                };
                for f in changes {
                    assert_eq!(run(&with, &data(f)), trace, "nr {nr} flags {f:#o}");
                }
                for f in reads {
                    assert_eq!(run(&with, &data(f)), notify, "nr {nr} flags {f:#o}");
                    assert_eq!(run(&without, &data(f)), trace, "nr {nr} flags {f:#o}");
                }
            }
            for nr in [libc::SYS_openat2, libc::SYS_creat] {
                assert_eq!(run(&with, &data2(nr as u64, 0, 0)), trace, "nr {nr}");
            }
        }
    }

    #[test]
    fn every_jump_fits_and_io_uring_is_refused_in_every_mode() {
        let refused = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;
        for (nested, notify) in [(false, false), (true, false), (false, true), (true, true)] {
            let prog = filter(nested, notify);
            assert!(prog.len() < 256, "{} instructions", prog.len());
            for &nr in REFUSED {
                assert_eq!(run(&prog, &data2(nr as u64, 1, 1)), refused, "nr {nr}");
            }
            let setup = libc::SYS_io_uring_setup as u64;
            assert_eq!(run(&prog, &data(0x4000_0003, setup, 0)), libc::SECCOMP_RET_ALLOW);
        }
    }

    #[test]
    fn traces_exactly_the_listed_syscalls_and_read_of_fd_0() {
        let prog = filter(false, false);
        for nr in 0..480u64 {
            let want = if TRACED.iter().any(|&t| t as u64 == nr) {
                libc::SECCOMP_RET_TRACE
            } else if REFUSED.iter().any(|&t| t as u64 == nr) {
                libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32
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
