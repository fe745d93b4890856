//! Theorem 3, model == Linux: random trees materialised in a temporary directory, then random
//! calls applied to both the model ([`model::ops::Os`]) and the kernel (through `std::fs`);
//! every call must return the same outcome (errno, kind, size, content, target, listing) and
//! leave the same tree.
//!
//! The tree sits below eight padding directories, in the model as on disk, so that `..` climbing
//! above the project root stays inside the temporary directory; symlink targets and paths are
//! relative. The process's cwd is never changed (tests run in threads).

use model::fs::FileKind;
use model::memfs::{MemFs, Snap};
use model::ops::{Os, RenameMode, WriteMode};
use model::program::{Data, Op, PathExpr};
use model::scenario::Scenario;
use model::Errno;
use nix::fcntl::{OFlag, RenameFlags};
use nix::sys::stat::Mode;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs::Permissions;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const PAD: &str = "/q/q/q/q/q/q/q/q";

fn relative(p: &[u8]) -> Vec<u8> {
    let s = p.strip_prefix(b"/p/").unwrap_or(p);
    let s = s.strip_prefix(b"/").unwrap_or(s);
    if s.is_empty() {
        b".".to_vec()
    } else {
        s.to_vec()
    }
}

/// The model tree: the decoded `s0` moved below the padding, targets made relative.
fn model_tree(s0: &MemFs) -> MemFs {
    let mut fs = MemFs::new();
    fs.mkdir_p(format!("{PAD}/p").as_bytes());
    for (path, snap) in s0.snapshot() {
        let mut p = PAD.as_bytes().to_vec();
        p.extend_from_slice(&path);
        match snap {
            Snap::File { content, .. } => fs.write(&p, &content),
            Snap::Dir { .. } => fs.mkdir_p(&p),
            Snap::Symlink { target } => fs.symlink(&p, &relative(&target)),
        }
    }
    fs
}

fn materialise(fs: &MemFs, dir: &Path) {
    for (path, snap) in fs.snapshot() {
        let p = host(dir, &path);
        match snap {
            Snap::File { content, .. } => std::fs::write(&p, content).expect("write"),
            Snap::Dir { .. } => std::fs::create_dir(&p).expect("mkdir"),
            Snap::Symlink { target } => {
                std::os::unix::fs::symlink(OsStr::from_bytes(&target), &p).expect("symlink")
            }
        }
    }
}

fn host(dir: &Path, abs: &[u8]) -> PathBuf {
    let mut b = dir.as_os_str().as_bytes().to_vec();
    b.extend_from_slice(abs);
    PathBuf::from(OsStr::from_bytes(&b))
}

/// Reads the tree on disk as the model's snapshot (modes left out: umask differs).
fn disk_tree(dir: &Path, rel: &[u8], out: &mut BTreeMap<Vec<u8>, Snap>) {
    let Ok(rd) = std::fs::read_dir(host(dir, rel)) else { return };
    for e in rd.flatten() {
        let mut p = rel.to_vec();
        p.push(b'/');
        p.extend_from_slice(e.file_name().as_bytes());
        let ft = e.file_type().expect("file type");
        let snap = if ft.is_symlink() {
            let t = std::fs::read_link(e.path()).expect("readlink");
            Snap::Symlink { target: t.as_os_str().as_bytes().to_vec() }
        } else if ft.is_dir() {
            disk_tree(dir, &p, out);
            Snap::Dir { mode: 0 }
        } else {
            Snap::File { content: std::fs::read(e.path()).expect("read"), mode: 0 }
        };
        out.insert(p, snap);
    }
}

fn without_modes(t: BTreeMap<Vec<u8>, Snap>) -> BTreeMap<Vec<u8>, Snap> {
    t.into_iter()
        .map(|(p, s)| {
            let s = match s {
                Snap::File { content, .. } => Snap::File { content, mode: 0 },
                Snap::Dir { .. } => Snap::Dir { mode: 0 },
                l => l,
            };
            (p, s)
        })
        .collect()
}

type Outcome = Result<String, Errno>;

fn kind_of(m: &std::fs::Metadata) -> FileKind {
    let t = m.file_type();
    if t.is_symlink() {
        FileKind::Symlink
    } else if t.is_dir() {
        FileKind::Directory
    } else if t.is_file() {
        FileKind::Regular
    } else {
        FileKind::Other
    }
}

fn meta_string(kind: FileKind, size: u64) -> String {
    let size = if kind == FileKind::Regular { size } else { 0 };
    format!("{kind:?} {size}")
}

fn arg(e: &PathExpr) -> Vec<u8> {
    match e {
        PathExpr::Lit(p) => relative(p),
        PathExpr::Each(_) => b"a".to_vec(),
    }
}

fn data(d: &Data) -> Vec<u8> {
    match d {
        Data::Lit(b) => relative(b),
        Data::Digest => b"digest".to_vec(),
    }
}

fn on_model(os: &mut Os, op: &Op) -> Outcome {
    let done = |r: Result<(), Errno>| r.map(|()| "ok".to_string());
    match op {
        Op::Read(p) => os.read(&arg(p)).map(|c| format!("{c:?}")),
        Op::Write(p, d) => os.write(&arg(p), &data(d), WriteMode::Truncate).map(|_| "ok".into()),
        Op::Append(p, d) => os.write(&arg(p), &data(d), WriteMode::Append).map(|_| "ok".into()),
        Op::Overwrite(p, d) => {
            os.write(&arg(p), &data(d), WriteMode::Overwrite).map(|_| "ok".into())
        }
        Op::Stat(p) => os.stat(&arg(p), true).map(|m| meta_string(m.kind, m.size_bytes)),
        Op::Lstat(p) => os.stat(&arg(p), false).map(|m| meta_string(m.kind, m.size_bytes)),
        Op::Readlink(p) => os.readlink(&arg(p)).map(|t| format!("{t:?}")),
        Op::List(p) => os.list(&arg(p)).map(|(_, n)| format!("{n:?}")),
        Op::Mkdir(p) => done(os.mkdir(&arg(p))),
        Op::Rmdir(p) => done(os.rmdir(&arg(p))),
        Op::Unlink(p) => done(os.unlink(&arg(p))),
        Op::Link(a, b) => done(os.link(&arg(a), &arg(b))),
        Op::Symlink(t, p) => done(os.symlink(&data(t), &arg(p))),
        Op::Rename(a, b) => done(os.rename(&arg(a), &arg(b))),
        Op::Chdir(_) => Ok("skipped".into()),
        Op::Chmod(p, m) => done(os.chmod(&arg(p), *m)),
        Op::Truncate(p, n) => done(os.truncate(&arg(p), *n)),
        Op::Access(p, m) => done(os.access(&arg(p), *m)),
        Op::ReadWrite(p, d) => os.read_write(&arg(p), &data(d)).map(|c| format!("{c:?}")),
        Op::Touch(p) => done(os.touch(&arg(p))),
        Op::Exec(p) => done(os.exec(&arg(p))),
        Op::Mknod(p) => done(os.mknod(&arg(p))),
        Op::RenameNoreplace(a, b) => done(os.renameat2(&arg(a), &arg(b), RenameMode::NoReplace)),
        Op::Exchange(a, b) => done(os.renameat2(&arg(a), &arg(b), RenameMode::Exchange)),
        Op::OpenDir(p) => os.open_dir(&arg(p)).map(|_| "ok".into()),
        Op::ReadAt(i, rel) => os.read_at(*i, rel).map(|c| format!("{c:?}")),
        Op::StatAt(i, rel) => os.stat_at(*i, rel).map(|m| meta_string(m.kind, m.size_bytes)),
    }
}

fn errno(e: std::io::Error) -> Errno {
    Errno(e.raw_os_error().unwrap_or(-1))
}

/// The directory fds [`Op::OpenDir`] opened on the kernel, in order (closed when dropped).
type DirFds = Vec<std::os::fd::OwnedFd>;

fn on_kernel(base: &Path, fds: &mut DirFds, op: &Op) -> Outcome {
    let at = |e: &PathExpr| host(base, &[b"/".as_slice(), &arg(e)].concat());
    let done = |r: std::io::Result<()>| r.map(|()| "ok".to_string()).map_err(errno);
    let write = |p: &PathExpr, d: &Data, mode: WriteMode| {
        let mut o = std::fs::OpenOptions::new();
        o.create(true);
        match mode {
            WriteMode::Append => o.append(true),
            WriteMode::Truncate => o.write(true).truncate(true),
            WriteMode::Overwrite => o.write(true),
        };
        o.open(at(p))
            .and_then(|mut f| f.write_all(&data(d)))
            .map(|()| "ok".to_string())
            .map_err(errno)
    };
    match op {
        Op::Read(p) => std::fs::read(at(p)).map(|c| format!("{c:?}")).map_err(errno),
        Op::Write(p, d) => write(p, d, WriteMode::Truncate),
        Op::Append(p, d) => write(p, d, WriteMode::Append),
        Op::Overwrite(p, d) => write(p, d, WriteMode::Overwrite),
        Op::Stat(p) => {
            std::fs::metadata(at(p)).map(|m| meta_string(kind_of(&m), m.len())).map_err(errno)
        }
        Op::Lstat(p) => std::fs::symlink_metadata(at(p))
            .map(|m| meta_string(kind_of(&m), m.len()))
            .map_err(errno),
        Op::Readlink(p) => std::fs::read_link(at(p))
            .map(|t| format!("{:?}", t.as_os_str().as_bytes()))
            .map_err(errno),
        Op::List(p) => std::fs::read_dir(at(p))
            .and_then(|rd| {
                let mut n: Vec<Vec<u8>> = rd
                    .map(|e| e.map(|e| e.file_name().as_bytes().to_vec()))
                    .collect::<Result<_, _>>()?;
                n.sort();
                Ok(format!("{n:?}"))
            })
            .map_err(errno),
        Op::Mkdir(p) => done(std::fs::create_dir(at(p))),
        Op::Rmdir(p) => done(std::fs::remove_dir(at(p))),
        Op::Unlink(p) => done(std::fs::remove_file(at(p))),
        Op::Link(a, b) => done(std::fs::hard_link(at(a), at(b))),
        Op::Symlink(t, p) => done(std::os::unix::fs::symlink(OsStr::from_bytes(&data(t)), at(p))),
        Op::Rename(a, b) => done(std::fs::rename(at(a), at(b))),
        Op::Chdir(_) => Ok("skipped".into()),
        Op::Chmod(p, m) => done(std::fs::set_permissions(at(p), Permissions::from_mode(*m))),
        Op::Truncate(p, n) => done(truncate(&at(p), *n)),
        Op::Access(p, m) => done(access(&at(p), *m)),
        Op::ReadWrite(p, d) => read_write(&at(p), &data(d)).map_err(errno),
        Op::Touch(p) => done(touch(&at(p))),
        Op::Exec(p) => done(exec(&at(p))),
        Op::Mknod(p) => done(mknod(&at(p))),
        Op::RenameNoreplace(a, b) => done(renameat2(&at(a), &at(b), RenameFlags::RENAME_NOREPLACE)),
        Op::Exchange(a, b) => done(renameat2(&at(a), &at(b), RenameFlags::RENAME_EXCHANGE)),
        Op::OpenDir(p) => {
            let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
            let fd = nix::fcntl::open(&at(p), flags, Mode::empty()).map_err(nix_errno)?;
            fds.push(fd);
            Ok("ok".into())
        }
        // An index with no fd: `EBADF`, which the program knows without a syscall (as the
        // model's and the fixture's do).
        Op::ReadAt(i, rel) => {
            let dir = fds.get(usize::from(*i)).ok_or(Errno::EBADF)?;
            let flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC;
            let fd =
                nix::fcntl::openat(dir, rel.as_slice(), flags, Mode::empty()).map_err(nix_errno)?;
            let mut content = Vec::new();
            std::io::Read::read_to_end(&mut std::fs::File::from(fd), &mut content)
                .map_err(errno)?;
            Ok(format!("{content:?}"))
        }
        Op::StatAt(i, rel) => {
            let dir = fds.get(usize::from(*i)).ok_or(Errno::EBADF)?;
            let st = nix::sys::stat::fstatat(dir, rel.as_slice(), nix::fcntl::AtFlags::empty())
                .map_err(nix_errno)?;
            let kind = match st.st_mode & nix::libc::S_IFMT {
                nix::libc::S_IFREG => FileKind::Regular,
                nix::libc::S_IFDIR => FileKind::Directory,
                nix::libc::S_IFLNK => FileKind::Symlink,
                _ => FileKind::Other,
            };
            Ok(meta_string(kind, st.st_size as u64))
        }
    }
}

fn nix_errno(e: nix::errno::Errno) -> Errno {
    Errno(e as i32)
}

/// `open(O_RDWR|O_CREAT)` + read to the end + `pwrite(data, 0)`: what the read saw.
fn read_write(p: &Path, data: &[u8]) -> std::io::Result<String> {
    use std::io::Read;
    use std::os::unix::fs::FileExt;
    let mut o = std::fs::OpenOptions::new();
    let mut f = o.read(true).write(true).create(true).truncate(false).open(p)?;
    let mut seen = Vec::new();
    f.read_to_end(&mut seen)?;
    f.write_all_at(data, 0)?;
    Ok(format!("{seen:?}"))
}

/// `utimensat(AT_FDCWD, path, {UTIME_NOW, UTIME_NOW}, 0)`, which is `utimensat(path, NULL)`.
fn touch(p: &Path) -> std::io::Result<()> {
    use nix::sys::stat::{utimensat, UtimensatFlags};
    use nix::sys::time::TimeSpec;
    let now = TimeSpec::UTIME_NOW;
    utimensat(nix::fcntl::AT_FDCWD, p, &now, &now, UtimensatFlags::FollowSymlink)
        .map_err(|e| std::io::Error::from_raw_os_error(e as i32))
}

/// `execve(path, [path], [])`: it fails (the scenarios' files are never programs), so this
/// process goes on with the errno.
fn exec(p: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    let path = CString::new(p.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    let env: [&CString; 0] = [];
    match nix::unistd::execve(&path, &[&path], &env) {
        Err(e) => Err(std::io::Error::from_raw_os_error(e as i32)),
        Ok(never) => match never {},
    }
}

/// `mknod(path, S_IFREG|0644, 0)`.
fn mknod(p: &Path) -> std::io::Result<()> {
    use nix::sys::stat::{Mode, SFlag};
    nix::sys::stat::mknod(p, SFlag::S_IFREG, Mode::from_bits_truncate(0o644), 0)
        .map_err(|e| std::io::Error::from_raw_os_error(e as i32))
}

/// `renameat2(AT_FDCWD, old, AT_FDCWD, new, flags)`.
fn renameat2(old: &Path, new: &Path, flags: RenameFlags) -> std::io::Result<()> {
    use nix::fcntl::AT_FDCWD;
    nix::fcntl::renameat2(AT_FDCWD, old, AT_FDCWD, new, flags)
        .map_err(|e| std::io::Error::from_raw_os_error(e as i32))
}

/// `truncate(2)` of a path (not `open` + `ftruncate`, which would fail differently).
fn truncate(p: &Path, len: u64) -> std::io::Result<()> {
    let len = i64::try_from(len).map_err(|_| std::io::Error::from_raw_os_error(22))?;
    nix::unistd::truncate(p, len).map_err(|e| std::io::Error::from_raw_os_error(e as i32))
}

/// `access(2)` of a path with `mode` (`R_OK|W_OK|X_OK` bits, or `F_OK`).
fn access(p: &Path, mode: u32) -> std::io::Result<()> {
    let mode = nix::unistd::AccessFlags::from_bits_truncate(mode as i32);
    nix::unistd::access(p, mode).map_err(|e| std::io::Error::from_raw_os_error(e as i32))
}

/// The calls of a scenario's program, flattened (branches and loops dropped).
fn ops(sc: &Scenario) -> Vec<Op> {
    fn flat(stmts: &[model::program::Stmt], out: &mut Vec<Op>) {
        for s in stmts {
            match s {
                model::program::Stmt::Do(op) => out.push(op.clone()),
                model::program::Stmt::If { op, then, otherwise } => {
                    out.push(op.clone());
                    flat(then, out);
                    flat(otherwise, out);
                }
                model::program::Stmt::ForEach { dir, body, .. } => {
                    out.push(Op::List(dir.clone()));
                    flat(body, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    flat(&sc.program.stmts, &mut out);
    out
}

fn same_as_linux(bytes: &[u8]) -> Result<usize, String> {
    let sc = Scenario::decode(bytes);
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let fs = model_tree(&sc.s0);
    materialise(&fs, tmp.path());
    let base = host(tmp.path(), format!("{PAD}/p").as_bytes());
    let mut os = Os::new(fs, format!("{PAD}/p").as_bytes()).ok_or("no cwd")?;
    let ops = ops(&sc);
    let mut fds = DirFds::new();
    for (i, op) in ops.iter().enumerate() {
        let (m, k) = (on_model(&mut os, op), on_kernel(&base, &mut fds, op));
        if m != k {
            return Err(format!("call {i} `{op}`: model {m:?}, Linux {k:?}\n{sc}"));
        }
        let mut disk = BTreeMap::new();
        disk_tree(tmp.path(), b"", &mut disk);
        if without_modes(os.fs.snapshot()) != disk {
            return Err(format!("after call {i} `{op}` the trees differ\n{sc}"));
        }
    }
    Ok(ops.len())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn the_model_answers_like_linux(b in proptest::collection::vec(any::<u8>(), 0..160)) {
        if let Err(e) = same_as_linux(&b) {
            prop_assert!(false, "{e}");
        }
    }
}
