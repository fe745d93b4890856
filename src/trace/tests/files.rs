//! What the tracer reports for file operations: reads, writes, probes of absent files,
//! directory changes, listings, dirfd-relative opens, `chdir`, links and stat-family calls.

use super::harness::{h, python, sh, workdir, write, Event};
use crate::trace::Stops;
use model::fs::FileKind;
use model::observe::{At, Observation};
use model::resolve::ResolveFlags;
use model::Errno;

const MODES: [Stops; 3] = Stops::ALL;

#[test]
fn cat_redirect_reads_the_input_and_touches_the_new_output() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "in.txt", "hello\n");
        let r = sh(&dir, "cat in.txt > out.txt", seccomp);
        assert_eq!(r.status, model::entry::ExitStatus::Code(0), "{}", r.ctx());
        assert!(r.reads().contains(&("$T/in.txt".into(), h("hello\n"))), "{}", r.ctx());
        assert!(r.touches().contains(&("$T/out.txt".into(), None)), "{}", r.ctx());
        assert!(!r.touches().iter().any(|(p, _)| p == "$T/in.txt"), "{}", r.ctx());
        let created = ResolveFlags {
            follow: true,
            reject_symlink: false,
            directory: false,
            create: true,
            exclusive: false,
            write: true,
        };
        let out = r.resolves().into_iter().find(|(p, _, _)| p == "$T/out.txt");
        assert_eq!(out, Some(("$T/out.txt".into(), created, Ok(FileKind::Regular))), "{}", r.ctx());
        assert_eq!(std::fs::read(dir.join("out.txt")).expect("out.txt"), b"hello\n");
    }
}

#[test]
fn appending_reads_the_prior_content() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "log", "old\n");
        let r = sh(&dir, "echo new >> log", seccomp);
        assert!(r.reads().contains(&("$T/log".into(), h("old\n"))), "{}", r.ctx());
        assert!(r.touches().contains(&("$T/log".into(), Some(FileKind::Regular))), "{}", r.ctx());
    }
}

#[test]
fn testing_a_missing_file_is_a_failed_resolution() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        let r = sh(&dir, "test -e nope", seccomp);
        assert_eq!(r.status, model::entry::ExitStatus::Code(1), "{}", r.ctx());
        assert!(r.resolved("$T/nope", Err(Errno::ENOENT)), "{}", r.ctx());
    }
}

#[test]
fn mkdir_rmdir_symlink_mv_rm_are_touches() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "a", "A");
        write(&dir, "c", "C");
        let r = sh(&dir, "mkdir d && rmdir d && ln -s target link && mv a b && rm c", seccomp);
        assert_eq!(r.status, model::entry::ExitStatus::Code(0), "{}", r.ctx());
        let t = r.touches();
        for want in [
            ("$T/d", None),
            ("$T/d", Some(FileKind::Directory)),
            ("$T/link", None),
            ("$T/a", Some(FileKind::Regular)),
            ("$T/b", None),
            ("$T/c", Some(FileKind::Regular)),
        ] {
            assert!(t.contains(&(want.0.into(), want.1)), "missing {want:?}\n{}", r.ctx());
        }
        let nofollow = ResolveFlags::NOFOLLOW;
        let res = r.resolves();
        assert!(res.contains(&("$T/d".into(), nofollow, Err(Errno::ENOENT))), "{}", r.ctx());
        assert!(res.contains(&("$T/d".into(), nofollow, Ok(FileKind::Directory))), "{}", r.ctx());
        assert!(res.contains(&("$T/c".into(), nofollow, Ok(FileKind::Regular))), "{}", r.ctx());
        assert!(r.reads().contains(&("$T/a".into(), h("A"))), "{}", r.ctx());
    }
}

#[test]
fn renaming_a_directory_touches_its_tree() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "old/f", "F");
        let r = python(&dir, "import os; os.rename('old', 'new')", seccomp);
        let tree = Observation::TouchTree {
            from: format!("{}/old", dir.display()).into_bytes(),
            path: format!("{}/new", dir.display()).into_bytes(),
        };
        assert!(r.saw(&tree), "{}", r.ctx());
    }
}

#[test]
fn ls_lists_the_directory_once() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "sub/y", "");
        write(&dir, "sub/x", "");
        let r = sh(&dir, "ls sub", seccomp);
        let lists: Vec<_> = (r.all())
            .filter_map(|o| match o {
                Observation::List { dir, names } => Some((r.norm(dir), names.clone())),
                _ => None,
            })
            .collect();
        let want = vec![("$T/sub".to_string(), vec![b"x".to_vec(), b"y".to_vec()])];
        assert_eq!(lists, want, "{}", r.ctx());
        assert_eq!(r.stdout, b"x\ny\n");
        // The observer is told what was listed, with the directory's fingerprint from before
        // the listing (for a listing record): nothing changed it since.
        let sub = std::fs::symlink_metadata(dir.join("sub")).expect("sub");
        let listed: Vec<_> = (r.events.iter())
            .filter_map(|e| match e {
                Event::Listed(d, fp, names) => Some((r.norm(d), *fp, names.clone())),
                _ => None,
            })
            .collect();
        let fp = crate::check::fingerprint_of(&sub);
        assert_eq!(listed, vec![(want[0].0.clone(), fp, want[0].1.clone())], "{}", r.ctx());
    }
}

#[test]
fn openat_relative_to_a_dirfd_uses_the_directory_as_base() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "sub/f", "inside");
        let code = "import os\nd = os.open('sub', os.O_RDONLY)\n\
                    f = os.open('f', os.O_RDONLY, dir_fd=d)\nos.read(f, 100)";
        let r = python(&dir, code, seccomp);
        assert!(r.reads().contains(&("$T/sub/f".into(), h("inside"))), "{}", r.ctx());
        let at = At::new(format!("{}/sub", dir.display()).as_bytes(), b"f");
        let want = Observation::Resolve {
            at,
            flags: ResolveFlags::FOLLOW,
            outcome: Ok(FileKind::Regular),
            opened_for_read: true,
        };
        assert!(r.saw(&want), "{}", r.ctx());
    }
}

#[test]
fn cd_then_cat_reads_the_file_under_the_new_directory() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "sub/f", "deep");
        let r = sh(&dir, "cd sub && cat f", seccomp);
        assert!(r.reads().contains(&("$T/sub/f".into(), h("deep"))), "{}", r.ctx());
        assert!(r.resolved("$T/sub/f", Ok(FileKind::Regular)), "{}", r.ctx());
        assert!(r.resolved("$T/sub", Ok(FileKind::Directory)), "{}", r.ctx());
        assert_eq!(r.stdout, b"deep");
    }
}

#[test]
fn stat_reports_metadata_and_readlink_the_target() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "f", "12345");
        std::os::unix::fs::symlink("f", dir.join("link")).expect("symlink");
        let r = sh(&dir, "stat -c %s f && readlink link", seccomp);
        assert_eq!(r.stdout, b"5\nf\n", "{}", r.ctx());
        let stat = (r.all()).find_map(|o| match o {
            Observation::Stat { path, meta, .. } if r.norm(path) == "$T/f" => Some(*meta),
            _ => None,
        });
        assert_eq!(
            stat.map(|m| (m.kind, m.size_bytes)),
            Some((FileKind::Regular, 5)),
            "{}",
            r.ctx()
        );
        let link = Observation::ReadLink {
            path: format!("{}/link", dir.display()).into_bytes(),
            target: b"f".to_vec(),
        };
        assert!(r.saw(&link), "{}", r.ctx());
    }
}

/// Python code that defines `libc` (ctypes) and `AT_FDCWD`, for raw syscalls.
const CTYPES: &str = "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n\
                      libc.syscall.restype = ctypes.c_long\nAT_FDCWD = -100\n";

#[test]
fn openat2_reads_its_flags_from_open_how() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "f", "two");
        // struct open_how { u64 flags; u64 mode; u64 resolve; }: O_WRONLY|O_CREAT|O_TRUNC.
        let code = format!(
            "{CTYPES}how = (ctypes.c_uint64 * 3)({}, 0o644, 0)\n\
             fd = libc.syscall(437, AT_FDCWD, b'new', ctypes.byref(how), 24)\n\
             assert fd >= 0, ctypes.get_errno()\n\
             ro = (ctypes.c_uint64 * 3)(0, 0, 0)\n\
             assert libc.syscall(437, AT_FDCWD, b'f', ctypes.byref(ro), 24) >= 0",
            nix::libc::O_WRONLY | nix::libc::O_CREAT | nix::libc::O_TRUNC
        );
        let r = python(&dir, &code, seccomp);
        assert_eq!(r.status, model::entry::ExitStatus::Code(0), "{}", r.ctx());
        assert!(r.touches().contains(&("$T/new".into(), None)), "{}", r.ctx());
        let res = r.resolves();
        let created = res.iter().find(|(p, _, _)| p == "$T/new").map(|(_, f, _)| *f);
        assert!(created.is_some_and(|f| f.create && f.write), "{}", r.ctx());
        assert!(r.reads().contains(&("$T/f".into(), h("two"))), "{}", r.ctx());
    }
}

#[test]
fn an_unreadable_path_argument_is_an_unknown_syscall() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        let code = format!("{CTYPES}libc.syscall({}, 1, 0)", nix::libc::SYS_open);
        let r = python(&dir, &code, seccomp);
        let unknown = Observation::UnknownSyscall { nr: nix::libc::SYS_open as u64 };
        assert!(r.saw(&unknown), "{}", r.ctx());
    }
}

#[test]
fn chmod_truncate_and_link_touch_their_targets() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "f", "content");
        write(&dir, "g", "long content");
        let code = "import os\nos.chmod('f', 0o600)\nos.truncate('g', 0)\nos.link('f', 'h')";
        let r = python(&dir, code, seccomp);
        assert_eq!(r.status, model::entry::ExitStatus::Code(0), "{}", r.ctx());
        let t = r.touches();
        assert!(t.contains(&("$T/f".into(), Some(FileKind::Regular))), "{}", r.ctx());
        assert!(t.contains(&("$T/g".into(), Some(FileKind::Regular))), "{}", r.ctx());
        assert!(t.contains(&("$T/h".into(), None)), "{}", r.ctx());
        assert!(r.reads().contains(&("$T/f".into(), h("content"))), "{}", r.ctx());
        assert!(r.resolved("$T/h", Err(Errno::ENOENT)), "{}", r.ctx());
    }
}

#[test]
fn exchanging_two_paths_is_unsupported() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "a", "A");
        write(&dir, "b", "B");
        let code = format!(
            "{CTYPES}assert libc.renameat2(AT_FDCWD, b'a', AT_FDCWD, b'b', {}) == 0",
            nix::libc::RENAME_EXCHANGE
        );
        let r = python(&dir, &code, seccomp);
        assert_eq!(r.status, model::entry::ExitStatus::Code(0), "{}", r.ctx());
        let unsupported = r.all().any(|o| {
            matches!(o, Observation::Uncacheable(model::entry::Uncacheable::Unsupported { .. }))
        });
        assert!(unsupported, "{}", r.ctx());
    }
}

#[test]
fn a_file_created_read_write_is_not_read_but_an_existing_one_is() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "old", "before");
        let code = "import os\nfd = os.open('new', os.O_RDWR | os.O_CREAT | os.O_EXCL)\n\
                    os.write(fd, b'x')\nfd = os.open('old', os.O_RDWR)\nos.write(fd, b'after!')";
        let r = python(&dir, code, seccomp);
        assert_eq!(r.status, model::entry::ExitStatus::Code(0), "{}", r.ctx());
        assert!(!r.reads().iter().any(|(p, _)| p == "$T/new"), "{}", r.ctx());
        assert!(r.touches().contains(&("$T/new".into(), None)), "{}", r.ctx());
        assert!(r.reads().contains(&("$T/old".into(), h("before"))), "{}", r.ctx());
        assert!(r.touches().contains(&("$T/old".into(), Some(FileKind::Regular))), "{}", r.ctx());
    }
}

#[test]
fn fchdir_moves_the_base_of_relative_paths() {
    for seccomp in MODES {
        let (_d, dir) = workdir();
        write(&dir, "sub/f", "via fd");
        let code = "import os\nos.fchdir(os.open('sub', os.O_RDONLY))\nopen('f').read()";
        let r = python(&dir, code, seccomp);
        assert!(r.resolved("$T/sub/f", Ok(FileKind::Regular)), "{}", r.ctx());
        assert!(r.reads().contains(&("$T/sub/f".into(), h("via fd"))), "{}", r.ctx());
    }
}
