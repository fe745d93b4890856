//! The differential test of the live checker: on random small trees of files, directories and
//! symlinks (loops and dangling links included) in a temporary directory, the model's resolution
//! over [`LiveFs`] must reach the same kind, or fail with the same errno, as the kernel itself
//! does for the syscall the flags stand for.
//!
//! Symlink targets and queries may climb out of the tree with `..`; the tree's root therefore
//! sits [`DEPTH`] directories below the temporary directory, deeper than any walk can climb, so
//! that even an `O_CREAT` that escapes the tree creates its file inside the temporary directory.

use super::{Fingerprints, LiveFs};
use model::fs::FileKind;
use model::resolve::{resolve_kind, ResolveFlags};
use model::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{fstat, fstatat, FileStat, Mode, SFlag};
use proptest::prelude::*;
use std::ffi::OsStr;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// How deep below the temporary directory the tree's root lies (see the module comment).
const DEPTH: usize = 48;

/// One node to create, by its path below the root.
#[derive(Clone, Debug)]
enum Node {
    File(Vec<&'static str>),
    Dir(Vec<&'static str>),
    Symlink(Vec<&'static str>, Target),
}

/// A symlink target: components, absolute (below the root) or relative, maybe a final slash.
#[derive(Clone, Debug)]
struct Target {
    absolute: bool,
    parts: Vec<&'static str>,
    slash: bool,
}

impl Target {
    fn text(&self, root: &[u8]) -> Vec<u8> {
        text(root, self.absolute, &self.parts, self.slash)
    }
}

/// The syscalls whose resolution the model claims to reproduce, with the flags it uses for each.
#[derive(Clone, Copy, Debug)]
enum Call {
    Stat,
    Lstat,
    OpenDirectory,
    OpenNofollow,
    OpenDirectoryNofollow,
    OpenWrite,
    Creat,
    CreatExcl,
    CreatNofollow,
}

impl Call {
    fn flags(self) -> ResolveFlags {
        let write = ResolveFlags { write: true, ..ResolveFlags::FOLLOW };
        let create = ResolveFlags { create: true, ..write };
        let nofollow = ResolveFlags { reject_symlink: true, ..ResolveFlags::NOFOLLOW };
        match self {
            Call::Stat => ResolveFlags::FOLLOW,
            Call::Lstat => ResolveFlags::NOFOLLOW,
            Call::OpenDirectory => ResolveFlags::DIRECTORY,
            Call::OpenNofollow => nofollow,
            Call::OpenDirectoryNofollow => ResolveFlags { directory: true, ..nofollow },
            Call::OpenWrite => write,
            Call::Creat => create,
            Call::CreatExcl => ResolveFlags { exclusive: true, ..create },
            Call::CreatNofollow => ResolveFlags { create: true, write: true, ..nofollow },
        }
    }

    /// Asks the kernel, resolving `path` from the directory `dir`.
    fn kernel(self, dir: &OwnedFd, path: &[u8]) -> Result<FileKind, Errno> {
        let path = OsStr::from_bytes(path);
        let open = |flags: OFlag| {
            let fd = nix::fcntl::openat(
                dir,
                path,
                flags | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(0o644),
            )?;
            fstat(&fd)
        };
        let st = match self {
            Call::Stat => fstatat(dir, path, AtFlags::empty()),
            Call::Lstat => fstatat(dir, path, AtFlags::AT_SYMLINK_NOFOLLOW),
            Call::OpenDirectory => open(OFlag::O_RDONLY | OFlag::O_DIRECTORY),
            Call::OpenNofollow => open(OFlag::O_RDONLY | OFlag::O_NOFOLLOW),
            Call::OpenDirectoryNofollow => {
                open(OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW)
            }
            Call::OpenWrite => open(OFlag::O_WRONLY),
            Call::Creat => open(OFlag::O_WRONLY | OFlag::O_CREAT),
            Call::CreatExcl => open(OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL),
            Call::CreatNofollow => open(OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_NOFOLLOW),
        };
        st.map(|st| kind_of(&st)).map_err(|e| Errno(e as i32))
    }
}

fn kind_of(st: &FileStat) -> FileKind {
    match SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) {
        SFlag::S_IFREG => FileKind::Regular,
        SFlag::S_IFDIR => FileKind::Directory,
        SFlag::S_IFLNK => FileKind::Symlink,
        _ => FileKind::Other,
    }
}

fn name() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("a"), Just("b"), Just("c")]
}

fn component() -> impl Strategy<Value = &'static str> {
    prop_oneof![4 => name(), 1 => Just("."), 2 => Just(".."), 1 => Just("")]
}

fn target() -> impl Strategy<Value = Target> {
    (
        prop::bool::weighted(0.2),
        prop::collection::vec(component(), 1..=3),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(absolute, parts, slash)| Target { absolute, parts, slash })
}

fn node() -> impl Strategy<Value = Node> {
    let path = || prop::collection::vec(name(), 1..=3);
    prop_oneof![
        2 => path().prop_map(Node::File),
        2 => path().prop_map(Node::Dir),
        3 => (path(), target()).prop_map(|(p, t)| Node::Symlink(p, t)),
    ]
}

/// A query: components, absolute or relative, maybe a final slash; and the syscall.
fn query() -> impl Strategy<Value = (bool, Vec<&'static str>, bool, Call)> {
    let call = prop_oneof![
        Just(Call::Stat),
        Just(Call::Lstat),
        Just(Call::OpenDirectory),
        Just(Call::OpenNofollow),
        Just(Call::OpenDirectoryNofollow),
        Just(Call::OpenWrite),
        Just(Call::Creat),
        Just(Call::CreatExcl),
        Just(Call::CreatNofollow),
    ];
    (
        prop::bool::weighted(0.15),
        prop::collection::vec(component(), 0..=5),
        prop::bool::weighted(0.2),
        call,
    )
}

/// Creates the nodes below `root`, skipping any whose parent is not a real directory (so that
/// nothing is ever created through a symlink) or whose name is taken.
fn build(root: &std::path::Path, nodes: &[Node]) {
    let root_bytes = root.as_os_str().as_bytes();
    for node in nodes {
        let parts = match node {
            Node::File(p) | Node::Dir(p) | Node::Symlink(p, _) => p,
        };
        let mut parent = root.to_path_buf();
        let mut ok = true;
        for p in &parts[..parts.len() - 1] {
            parent.push(p);
            ok &= std::fs::symlink_metadata(&parent).is_ok_and(|m| m.is_dir());
        }
        let path = parent.join(parts[parts.len() - 1]);
        if !ok || std::fs::symlink_metadata(&path).is_ok() {
            continue;
        }
        let created = match node {
            Node::File(_) => std::fs::write(&path, b"x"),
            Node::Dir(_) => std::fs::create_dir(&path),
            Node::Symlink(_, t) => {
                std::os::unix::fs::symlink(OsStr::from_bytes(&t.text(root_bytes)), &path)
            }
        };
        // An empty target is refused by the kernel; that node is simply absent.
        let _ = created;
    }
}

/// Spells a path: below `root` if `absolute`, else relative. A relative path never starts with
/// a slash (a leading empty component becomes `.`): nothing may reach outside the temporary
/// directory, where a creating call would leave files behind.
fn text(root: &[u8], absolute: bool, parts: &[&str], slash: bool) -> Vec<u8> {
    let mut out = if absolute { root.to_vec() } else { Vec::new() };
    for (i, p) in parts.iter().enumerate() {
        if absolute || i > 0 {
            out.push(b'/');
        }
        let p = if !absolute && i == 0 && p.is_empty() { "." } else { p };
        out.extend_from_slice(p.as_bytes());
    }
    if slash {
        if out.is_empty() {
            out.push(b'.');
        }
        out.push(b'/');
    }
    assert!(absolute == out.starts_with(b"/") || out.is_empty(), "{out:?} escapes");
    out
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn live_resolution_agrees_with_the_kernel(
        nodes in prop::collection::vec(node(), 0..12),
        queries in prop::collection::vec(query(), 1..16),
    ) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut root = PathBuf::from(tmp.path());
        for _ in 0..DEPTH {
            root.push("up");
        }
        root.push("root");
        std::fs::create_dir_all(&root).expect("mkdir -p");
        build(&root, &nodes);
        let root_bytes = root.as_os_str().as_bytes().to_vec();
        let dir = nix::fcntl::open(&root, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
            .expect("open root");
        // Every query in one snapshot too, before any call changes the tree: a snapshot that
        // remembers where the paths it walked before led must answer as a fresh one does.
        let mut shared_fps = Fingerprints::new();
        let shared = LiveFs::new(&mut shared_fps);
        let remembered: Vec<_> = queries
            .iter()
            .map(|(absolute, parts, slash, call)| {
                let path = text(&root_bytes, *absolute, parts, *slash);
                resolve_kind(&shared, &root_bytes, &path, call.flags())
            })
            .collect();
        drop(shared);
        let mut unchanged = true;
        for ((absolute, parts, slash, call), remembered) in queries.into_iter().zip(remembered) {
            let path = text(&root_bytes, absolute, &parts, slash);
            // The model first: a creating call changes the tree for the queries after it.
            let mut fps = Fingerprints::new();
            let model = resolve_kind(&LiveFs::new(&mut fps), &root_bytes, &path, call.flags());
            if unchanged {
                prop_assert_eq!(
                    &remembered, &model,
                    "one snapshot for all queries: {:?} {:?}", call, String::from_utf8_lossy(&path)
                );
            }
            let kernel = call.kernel(&dir, &path);
            prop_assert_eq!(
                model, kernel,
                "{:?} {:?} (relative to the root)", call, String::from_utf8_lossy(&path)
            );
            unchanged &= !call.flags().create;
        }
    }
}

/// Regression: open(O_CREAT) with a trailing slash is EISDIR even on an existing file.
#[test]
fn creat_with_a_trailing_slash_is_eisdir() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("a"), b"x").expect("write");
    let root = tmp.path().as_os_str().as_bytes().to_vec();
    let dir = nix::fcntl::open(tmp.path(), OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty())
        .expect("open");
    for call in [Call::Creat, Call::CreatExcl] {
        let mut fps = Fingerprints::new();
        let model = resolve_kind(&LiveFs::new(&mut fps), &root, b"a/", call.flags());
        assert_eq!(call.kernel(&dir, b"a/"), Err(Errno::EISDIR));
        assert_eq!(model, Err(Errno::EISDIR), "{call:?}");
    }
}

/// Regression: open(O_DIRECTORY|O_NOFOLLOW) on a symlink is ENOTDIR, not ELOOP.
#[test]
fn directory_nofollow_on_a_symlink_is_enotdir() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(tmp.path().join("d")).expect("mkdir");
    std::os::unix::fs::symlink("d", tmp.path().join("l")).expect("symlink");
    let root = tmp.path().as_os_str().as_bytes().to_vec();
    let dir = nix::fcntl::open(tmp.path(), OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty())
        .expect("open");
    let call = Call::OpenDirectoryNofollow;
    let mut fps = Fingerprints::new();
    let model = resolve_kind(&LiveFs::new(&mut fps), &root, b"l", call.flags());
    assert_eq!(call.kernel(&dir, b"l"), Err(Errno::ENOTDIR));
    assert_eq!(model, Err(Errno::ENOTDIR));
}
