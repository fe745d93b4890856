//! Decoding: a [`RawSyscall`] (number and six registers) into a typed [`Syscall`].
//!
//! Pure: no tracee memory is read here, pointers stay addresses ([`Addr`]). Only the syscalls
//! the seccomp filter traces are decoded; anything else is `None`. The numbers and flag values
//! are the x86_64 ones.

use super::arch::x86_64::RawSyscall;
use nix::libc;

/// A pointer into the tracee's memory.
pub(crate) type Addr = u64;

/// The directory a relative path starts from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Dirfd {
    /// `AT_FDCWD` (or a syscall without a dirfd): the current directory.
    Cwd,
    /// An open directory.
    Fd(i32),
}

/// Where the open flags are.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum OpenFlags {
    /// In a register.
    Given(u64),
    /// In a `struct open_how` at this address (`openat2`).
    How(Addr),
}

/// Where the kernel writes the metadata of a stat-family call.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum StatBuf {
    /// A `struct stat`.
    Stat(Addr),
    /// A `struct statx`.
    Statx(Addr),
}

/// A traced syscall with its arguments decoded.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Syscall {
    /// `open`, `openat`, `creat`, `openat2`.
    Open { dir: Dirfd, path: Addr, flags: OpenFlags },
    /// `stat`, `lstat`, `newfstatat`, `statx`.
    Stat { dir: Dirfd, path: Addr, follow: bool, empty_path: bool, buf: StatBuf },
    /// `access`, `faccessat`, `faccessat2`; `mode` is what is asked (`F_OK`, or the bits of
    /// `R_OK`, `W_OK`, `X_OK`).
    Access { dir: Dirfd, path: Addr, follow: bool, empty_path: bool, mode: u32 },
    /// `readlink`, `readlinkat`.
    Readlink { dir: Dirfd, path: Addr, buf: Addr },
    /// `execve`, `execveat`; `argv` and `envp` are the pointer arrays.
    Exec { dir: Dirfd, path: Addr, follow: bool, empty_path: bool, argv: Addr, envp: Addr },
    /// `chdir`.
    Chdir { path: Addr },
    /// `fchdir`.
    Fchdir { fd: i32 },
    /// `getdents`, `getdents64`.
    Getdents { fd: i32 },
    /// `unlink`, `unlinkat`, `rmdir`.
    Unlink { dir: Dirfd, path: Addr, rmdir: bool },
    /// `mkdir(at)`, `mknod(at)`, `symlink(at)`: the path created.
    Create { dir: Dirfd, path: Addr },
    /// `link`, `linkat`.
    Link { old_dir: Dirfd, old: Addr, new_dir: Dirfd, new: Addr, follow: bool, empty: bool },
    /// `rename`, `renameat`, `renameat2`.
    Rename { old_dir: Dirfd, old: Addr, new_dir: Dirfd, new: Addr, flags: u32 },
    /// `truncate`.
    Truncate { path: Addr },
    /// `chmod`, `fchmodat`.
    Chmod { dir: Dirfd, path: Addr },
    /// `close`.
    Close { fd: i32 },
    /// `dup`, `dup2`, `dup3`, `fcntl(F_DUPFD*)`: the new fd is the return value.
    Dup { fd: i32, cloexec: bool },
    /// `fcntl(F_SETFD)`.
    SetCloexec { fd: i32, cloexec: bool },
    /// `connect`.
    Connect { addr: Addr },
    /// `read` of fd 0.
    ReadStdin,
    /// `write` to fd 1 or 2.
    Write { fd: i32, buf: Addr },
    /// `writev` to fd 1 or 2.
    Writev { fd: i32, iov: Addr, iovcnt: u64 },
    /// A call that only resolves a path and reads what the model does not keep (extended
    /// attributes, filesystem statistics, a file handle): recorded as the resolution alone.
    Probe { dir: Dirfd, path: Addr, follow: bool, empty_path: bool },
    /// A call that reaches a file, or changes how paths resolve or what they hold, in a way
    /// the tracer does not record (notes/syscalls.md): if it succeeds, the run is not cached,
    /// for the reason `what`.
    Unseen { what: &'static str },
    /// A call that writes to fd 1 or 2 in a way dry does not capture (`sendfile`, `splice`,
    /// `copy_file_range`, `pwrite64`, `pwritev`, `pwritev2`), named.
    OutputOther { fd: i32, name: &'static str },
}

/// The low 32 bits of a register, as the kernel reads an `int` argument.
fn int(arg: u64) -> i32 {
    arg as u32 as i32
}

fn dirfd(arg: u64) -> Dirfd {
    match int(arg) {
        libc::AT_FDCWD => Dirfd::Cwd,
        fd => Dirfd::Fd(fd),
    }
}

fn has(flags: u64, bit: libc::c_int) -> bool {
    flags & bit as u64 != 0
}

/// Decodes a traced syscall; `None` for anything the filter does not trace (or `read` of an
/// fd other than 0, or an `fcntl` command that does not touch the fd table).
pub(crate) fn decode(raw: &RawSyscall) -> Option<Syscall> {
    let a = raw.args;
    let cwd = Dirfd::Cwd;
    let nr = libc::c_long::try_from(raw.nr).ok()?;
    Some(match nr {
        libc::SYS_open => Syscall::Open { dir: cwd, path: a[0], flags: OpenFlags::Given(a[1]) },
        libc::SYS_openat => {
            Syscall::Open { dir: dirfd(a[0]), path: a[1], flags: OpenFlags::Given(a[2]) }
        }
        libc::SYS_creat => {
            let flags = (libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC) as u64;
            Syscall::Open { dir: cwd, path: a[0], flags: OpenFlags::Given(flags) }
        }
        libc::SYS_openat2 => {
            Syscall::Open { dir: dirfd(a[0]), path: a[1], flags: OpenFlags::How(a[2]) }
        }
        libc::SYS_stat | libc::SYS_lstat => Syscall::Stat {
            dir: cwd,
            path: a[0],
            follow: nr == libc::SYS_stat,
            empty_path: false,
            buf: StatBuf::Stat(a[1]),
        },
        libc::SYS_newfstatat => at_stat(dirfd(a[0]), a[1], a[3], StatBuf::Stat(a[2])),
        libc::SYS_statx => at_stat(dirfd(a[0]), a[1], a[2], StatBuf::Statx(a[4])),
        libc::SYS_access => Syscall::Access {
            dir: cwd,
            path: a[0],
            follow: true,
            empty_path: false,
            mode: a[1] as u32,
        },
        libc::SYS_faccessat => {
            let mode = a[2] as u32;
            Syscall::Access { dir: dirfd(a[0]), path: a[1], follow: true, empty_path: false, mode }
        }
        libc::SYS_faccessat2 => Syscall::Access {
            dir: dirfd(a[0]),
            path: a[1],
            follow: !has(a[3], libc::AT_SYMLINK_NOFOLLOW),
            empty_path: has(a[3], libc::AT_EMPTY_PATH),
            mode: a[2] as u32,
        },
        libc::SYS_readlink => Syscall::Readlink { dir: cwd, path: a[0], buf: a[1] },
        libc::SYS_readlinkat => Syscall::Readlink { dir: dirfd(a[0]), path: a[1], buf: a[2] },
        libc::SYS_execve => Syscall::Exec {
            dir: cwd,
            path: a[0],
            follow: true,
            empty_path: false,
            argv: a[1],
            envp: a[2],
        },
        libc::SYS_execveat => Syscall::Exec {
            dir: dirfd(a[0]),
            path: a[1],
            follow: !has(a[4], libc::AT_SYMLINK_NOFOLLOW),
            empty_path: has(a[4], libc::AT_EMPTY_PATH),
            argv: a[2],
            envp: a[3],
        },
        libc::SYS_chdir => Syscall::Chdir { path: a[0] },
        libc::SYS_fchdir => Syscall::Fchdir { fd: int(a[0]) },
        libc::SYS_getdents | libc::SYS_getdents64 => Syscall::Getdents { fd: int(a[0]) },
        _ => return decode_changes(nr, &a),
    })
}

fn at_stat(dir: Dirfd, path: Addr, flags: u64, buf: StatBuf) -> Syscall {
    let follow = !has(flags, libc::AT_SYMLINK_NOFOLLOW);
    Syscall::Stat { dir, path, follow, empty_path: has(flags, libc::AT_EMPTY_PATH), buf }
}

/// Decodes the syscalls that change the filesystem or the fd table.
fn decode_changes(nr: libc::c_long, a: &[u64; 6]) -> Option<Syscall> {
    let cwd = Dirfd::Cwd;
    Some(match nr {
        libc::SYS_unlink => Syscall::Unlink { dir: cwd, path: a[0], rmdir: false },
        libc::SYS_rmdir => Syscall::Unlink { dir: cwd, path: a[0], rmdir: true },
        libc::SYS_unlinkat => {
            Syscall::Unlink { dir: dirfd(a[0]), path: a[1], rmdir: has(a[2], libc::AT_REMOVEDIR) }
        }
        libc::SYS_mkdir | libc::SYS_mknod => Syscall::Create { dir: cwd, path: a[0] },
        libc::SYS_mkdirat | libc::SYS_mknodat => Syscall::Create { dir: dirfd(a[0]), path: a[1] },
        libc::SYS_symlink => Syscall::Create { dir: cwd, path: a[1] },
        libc::SYS_symlinkat => Syscall::Create { dir: dirfd(a[1]), path: a[2] },
        libc::SYS_link => Syscall::Link {
            old_dir: cwd,
            old: a[0],
            new_dir: cwd,
            new: a[1],
            follow: false,
            empty: false,
        },
        libc::SYS_linkat => Syscall::Link {
            old_dir: dirfd(a[0]),
            old: a[1],
            new_dir: dirfd(a[2]),
            new: a[3],
            follow: has(a[4], libc::AT_SYMLINK_FOLLOW),
            empty: has(a[4], libc::AT_EMPTY_PATH),
        },
        libc::SYS_rename => {
            Syscall::Rename { old_dir: cwd, old: a[0], new_dir: cwd, new: a[1], flags: 0 }
        }
        libc::SYS_renameat | libc::SYS_renameat2 => Syscall::Rename {
            old_dir: dirfd(a[0]),
            old: a[1],
            new_dir: dirfd(a[2]),
            new: a[3],
            flags: if nr == libc::SYS_renameat2 { a[4] as u32 } else { 0 },
        },
        libc::SYS_truncate => Syscall::Truncate { path: a[0] },
        libc::SYS_chmod => Syscall::Chmod { dir: cwd, path: a[0] },
        libc::SYS_fchmodat => Syscall::Chmod { dir: dirfd(a[0]), path: a[1] },
        // With flags (a symlink's own mode, or an fd's), fchmodat2 is not a chmod of a path.
        libc::SYS_fchmodat2 if a[3] as u32 == 0 => Syscall::Chmod { dir: dirfd(a[0]), path: a[1] },
        libc::SYS_close => Syscall::Close { fd: int(a[0]) },
        libc::SYS_dup | libc::SYS_dup2 => Syscall::Dup { fd: int(a[0]), cloexec: false },
        libc::SYS_dup3 => Syscall::Dup { fd: int(a[0]), cloexec: has(a[2], libc::O_CLOEXEC) },
        libc::SYS_fcntl => match int(a[1]) {
            libc::F_DUPFD => Syscall::Dup { fd: int(a[0]), cloexec: false },
            libc::F_DUPFD_CLOEXEC => Syscall::Dup { fd: int(a[0]), cloexec: true },
            libc::F_SETFD => {
                Syscall::SetCloexec { fd: int(a[0]), cloexec: has(a[2], libc::FD_CLOEXEC) }
            }
            _ => return None,
        },
        libc::SYS_connect => Syscall::Connect { addr: a[1] },
        libc::SYS_read if int(a[0]) == 0 => Syscall::ReadStdin,
        _ => return decode_output(nr, a),
    })
}

/// Decodes the writes to fds 1 and 2 (traced in nested mode only).
fn decode_output(nr: libc::c_long, a: &[u64; 6]) -> Option<Syscall> {
    let std = |fd: u64| matches!(int(fd), 1 | 2).then_some(int(fd));
    let other = |fd: u64, name| Some(Syscall::OutputOther { fd: std(fd)?, name });
    match nr {
        libc::SYS_write => Some(Syscall::Write { fd: std(a[0])?, buf: a[1] }),
        libc::SYS_writev => Some(Syscall::Writev { fd: std(a[0])?, iov: a[1], iovcnt: a[2] }),
        libc::SYS_sendfile => other(a[0], "sendfile"),
        libc::SYS_pwrite64 => other(a[0], "pwrite64"),
        libc::SYS_pwritev => other(a[0], "pwritev"),
        libc::SYS_pwritev2 => other(a[0], "pwritev2"),
        libc::SYS_splice => other(a[2], "splice"),
        libc::SYS_copy_file_range => other(a[2], "copy_file_range"),
        _ => decode_probe(nr, a).or_else(|| decode_unseen(nr)),
    }
}

/// Decodes the calls recorded as a resolution only ([`Syscall::Probe`]).
fn decode_probe(nr: libc::c_long, a: &[u64; 6]) -> Option<Syscall> {
    use super::arch::x86_64::{SYS_FILE_GETATTR, SYS_GETXATTRAT, SYS_LISTXATTRAT};
    let cwd = Dirfd::Cwd;
    let probe = |dir, path, follow, empty_path| Syscall::Probe { dir, path, follow, empty_path };
    let at_flags = |flags: u64| {
        probe(
            dirfd(a[0]),
            a[1],
            !has(flags, libc::AT_SYMLINK_NOFOLLOW),
            has(flags, libc::AT_EMPTY_PATH),
        )
    };
    Some(match nr {
        libc::SYS_getxattr | libc::SYS_listxattr | libc::SYS_statfs => {
            probe(cwd, a[0], true, false)
        }
        libc::SYS_lgetxattr | libc::SYS_llistxattr => probe(cwd, a[0], false, false),
        SYS_GETXATTRAT | SYS_LISTXATTRAT => at_flags(a[2]),
        SYS_FILE_GETATTR => at_flags(a[4]),
        // Times are neither predicates nor effects (notes/0003-metadata.md): setting them on a
        // path records only that the path resolves, as futimens(3) on an fd records nothing.
        // (Uncacheable would make every shutil.copy2, `touch -r` and `cp -p` uncacheable.)
        libc::SYS_utimensat | libc::SYS_futimesat if a[1] == 0 => return None,
        libc::SYS_utime | libc::SYS_utimes => probe(cwd, a[0], true, false),
        libc::SYS_futimesat => probe(dirfd(a[0]), a[1], true, false),
        libc::SYS_utimensat => at_flags(a[3]),
        // name_to_handle_at follows a last symlink only when asked to.
        libc::SYS_name_to_handle_at => probe(
            dirfd(a[0]),
            a[1],
            has(a[4], libc::AT_SYMLINK_FOLLOW),
            has(a[4], libc::AT_EMPTY_PATH),
        ),
        _ => return None,
    })
}

/// Decodes the calls whose success makes the run uncacheable ([`Syscall::Unseen`]), and the
/// refused ones, which reach the tracer only without the seccomp filter.
fn decode_unseen(nr: libc::c_long) -> Option<Syscall> {
    use super::arch::x86_64::{
        SYS_FILE_SETATTR, SYS_OPEN_TREE_ATTR, SYS_REMOVEXATTRAT, SYS_SETXATTRAT,
    };
    let what = match nr {
        libc::SYS_io_uring_setup | libc::SYS_io_uring_enter | libc::SYS_io_uring_register => {
            "used io_uring, whose requests open and read files where no syscall shows the path"
        }
        libc::SYS_uselib | libc::SYS_lookup_dcookie => {
            "called an obsolete syscall that names files"
        }
        libc::SYS_open_by_handle_at => {
            "opened a file by handle (open_by_handle_at), not by a path that can be checked"
        }
        libc::SYS_fanotify_mark => "watched files with fanotify, whose events open files",
        libc::SYS_inotify_add_watch => "watched a path with inotify",
        libc::SYS_chown | libc::SYS_lchown | libc::SYS_fchownat => {
            "changed the owner of a path (owners are not recorded)"
        }
        libc::SYS_setxattr
        | libc::SYS_lsetxattr
        | libc::SYS_removexattr
        | libc::SYS_lremovexattr
        | SYS_SETXATTRAT
        | SYS_REMOVEXATTRAT
        | SYS_FILE_SETATTR => "changed the attributes of a path (not recorded)",
        libc::SYS_fchmodat2 => "changed the mode of a symlink or of an fd with fchmodat2",
        libc::SYS_mount
        | libc::SYS_umount2
        | libc::SYS_pivot_root
        | libc::SYS_chroot
        | libc::SYS_open_tree
        | SYS_OPEN_TREE_ATTR
        | libc::SYS_move_mount
        | libc::SYS_fsopen
        | libc::SYS_fsconfig
        | libc::SYS_fsmount
        | libc::SYS_fspick
        | libc::SYS_mount_setattr => "changed the mounts or the root, where paths resolve",
        libc::SYS_setns => "entered another namespace (setns), where paths may resolve elsewhere",
        libc::SYS_swapon | libc::SYS_swapoff => "used a swap file",
        libc::SYS_acct => "turned process accounting on or off (it writes to a file)",
        libc::SYS_quotactl => "used disk quotas, which name a device by path",
        libc::SYS_bpf => "used bpf, which can pin and open objects by path",
        _ => return None,
    };
    Some(Syscall::Unseen { what })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(nr: libc::c_long, args: [u64; 6]) -> RawSyscall {
        RawSyscall { nr: nr as u64, args }
    }

    #[test]
    fn at_fdcwd_is_the_current_directory_and_flags_are_split() {
        let fdcwd = libc::AT_FDCWD as u32 as u64;
        let flags = libc::AT_SYMLINK_NOFOLLOW as u64;
        let got = decode(&raw(libc::SYS_newfstatat, [fdcwd, 0x10, 0x20, flags, 0, 0]));
        let want = Syscall::Stat {
            dir: Dirfd::Cwd,
            path: 0x10,
            follow: false,
            empty_path: false,
            buf: StatBuf::Stat(0x20),
        };
        assert_eq!(got, Some(want));
        let got = decode(&raw(libc::SYS_unlinkat, [7, 0x10, libc::AT_REMOVEDIR as u64, 0, 0, 0]));
        assert_eq!(got, Some(Syscall::Unlink { dir: Dirfd::Fd(7), path: 0x10, rmdir: true }));
    }

    #[test]
    fn read_is_decoded_only_for_fd_0_and_fcntl_only_for_fd_commands() {
        assert_eq!(decode(&raw(libc::SYS_read, [0; 6])), Some(Syscall::ReadStdin));
        assert_eq!(decode(&raw(libc::SYS_read, [3, 0, 0, 0, 0, 0])), None);
        let getfl = [3, libc::F_GETFL as u64, 0, 0, 0, 0];
        assert_eq!(decode(&raw(libc::SYS_fcntl, getfl)), None);
        let dupfd = [3, libc::F_DUPFD_CLOEXEC as u64, 10, 0, 0, 0];
        assert_eq!(
            decode(&raw(libc::SYS_fcntl, dupfd)),
            Some(Syscall::Dup { fd: 3, cloexec: true })
        );
        assert_eq!(decode(&raw(libc::SYS_write, [3, 0, 0, 0, 0, 0])), None);
    }

    #[test]
    fn writes_are_decoded_only_for_fds_1_and_2() {
        let w = decode(&raw(libc::SYS_write, [2, 0x10, 5, 0, 0, 0]));
        assert_eq!(w, Some(Syscall::Write { fd: 2, buf: 0x10 }));
        let v = decode(&raw(libc::SYS_writev, [1, 0x10, 3, 0, 0, 0]));
        assert_eq!(v, Some(Syscall::Writev { fd: 1, iov: 0x10, iovcnt: 3 }));
        let splice = decode(&raw(libc::SYS_splice, [5, 0, 1, 0, 9, 0]));
        assert_eq!(splice, Some(Syscall::OutputOther { fd: 1, name: "splice" }));
        assert_eq!(decode(&raw(libc::SYS_splice, [1, 0, 5, 0, 9, 0])), None);
        let cfr = decode(&raw(libc::SYS_copy_file_range, [4, 0, 2, 0, 9, 0]));
        assert_eq!(cfr, Some(Syscall::OutputOther { fd: 2, name: "copy_file_range" }));
        assert_eq!(decode(&raw(libc::SYS_sendfile, [7, 1, 0, 9, 0, 0])), None);
    }

    #[test]
    fn unseen_calls_are_named_and_fd_forms_are_left_alone() {
        let fdcwd = libc::AT_FDCWD as u32 as u64;
        let is_unseen = |nr, args| matches!(decode(&raw(nr, args)), Some(Syscall::Unseen { .. }));
        assert!(is_unseen(libc::SYS_open_by_handle_at, [3, 0x10, 0, 0, 0, 0]));
        assert!(is_unseen(libc::SYS_io_uring_setup, [4, 0x10, 0, 0, 0, 0]));
        // utimensat on a path: a resolution only (times are not recorded).
        let nofollow = libc::AT_SYMLINK_NOFOLLOW as u64;
        let want = Syscall::Probe { dir: Dirfd::Cwd, path: 0x10, follow: false, empty_path: false };
        assert_eq!(decode(&raw(libc::SYS_utimensat, [fdcwd, 0x10, 0, nofollow, 0, 0])), Some(want));
        // futimens(3): utimensat on an fd, without a path.
        assert_eq!(decode(&raw(libc::SYS_utimensat, [3, 0, 0x20, 0, 0, 0])), None);
        assert!(is_unseen(libc::SYS_fchmodat2, [fdcwd, 0x10, 0o644, nofollow, 0, 0]));
        assert_eq!(
            decode(&raw(libc::SYS_fchmodat2, [fdcwd, 0x10, 0o644, 0, 0, 0])),
            Some(Syscall::Chmod { dir: Dirfd::Cwd, path: 0x10 })
        );
        let lget = decode(&raw(libc::SYS_lgetxattr, [0x10, 0x20, 0, 0, 0, 0]));
        let want = Syscall::Probe { dir: Dirfd::Cwd, path: 0x10, follow: false, empty_path: false };
        assert_eq!(lget, Some(want));
        let handle = [5, 0x10, 0, 0, libc::AT_SYMLINK_FOLLOW as u64, 0];
        let want =
            Syscall::Probe { dir: Dirfd::Fd(5), path: 0x10, follow: true, empty_path: false };
        assert_eq!(decode(&raw(libc::SYS_name_to_handle_at, handle)), Some(want));
    }

    #[test]
    fn symlink_observes_the_new_path() {
        let got = decode(&raw(libc::SYS_symlinkat, [0x10, 5, 0x20, 0, 0, 0]));
        assert_eq!(got, Some(Syscall::Create { dir: Dirfd::Fd(5), path: 0x20 }));
    }
}
