//! The semantics of the calls `model_vs_kernel.rs` compares with Linux, on small named trees.

use super::*;
use crate::memfs::Snap;

/// A process in `/p` over `/p/a` = "12", `/p/d/x.c` = "x", the directory `/p/e` and the
/// dangling symlink `/p/l -> nx`.
fn os() -> Os {
    let mut fs = MemFs::new();
    fs.write(b"/p/a", b"12");
    fs.write(b"/p/d/x.c", b"x");
    fs.mkdir_p(b"/p/e");
    fs.symlink(b"/p/l", b"nx");
    Os::new(fs, b"/p").expect("/p is a directory")
}

fn snap(os: &Os, abs: &str) -> Option<Snap> {
    os.fs.snapshot().remove(abs.as_bytes())
}

fn file(content: &str) -> Option<Snap> {
    Some(Snap::File { content: content.as_bytes().to_vec(), mode: 0o644 })
}

#[test]
fn read_write_sees_the_old_content_and_keeps_the_tail() {
    let mut os = os();
    assert_eq!(os.read_write(b"a", b"X"), Ok(b"12".to_vec()));
    assert_eq!(snap(&os, "/p/a"), file("X2"));
    // Created if absent, through a dangling symlink too; a directory is refused.
    assert_eq!(os.read_write(b"l", b"yz"), Ok(Vec::new()));
    assert_eq!(snap(&os, "/p/nx"), file("yz"));
    assert_eq!(os.read_write(b"e", b"1"), Err(Errno::EISDIR));
    // O_CREAT with a trailing slash: EISDIR, whatever the name is.
    assert_eq!(os.read_write(b"a/", b"1"), Err(Errno::EISDIR));
}

#[test]
fn touch_follows_and_changes_nothing() {
    let mut os = os();
    let before = os.fs.snapshot();
    assert_eq!(os.touch(b"a"), Ok(()));
    assert_eq!(os.touch(b"e"), Ok(()));
    assert_eq!(os.touch(b"l"), Err(Errno::ENOENT));
    assert_eq!(os.touch(b"a/"), Err(Errno::ENOTDIR));
    assert_eq!(os.fs.snapshot(), before);
    os.write(b"nx", b"", WriteMode::Truncate).expect("create nx");
    assert_eq!(os.touch(b"l"), Ok(()));
}

#[test]
fn mknod_creates_an_empty_file_and_refuses_any_existing_name() {
    let mut os = os();
    assert_eq!(os.mknod(b"b"), Ok(()));
    assert_eq!(snap(&os, "/p/b"), file(""));
    assert_eq!(os.mknod(b"a"), Err(Errno::EEXIST));
    assert_eq!(os.mknod(b"e"), Err(Errno::EEXIST));
    // A dangling symlink is not followed (its target is not created).
    assert_eq!(os.mknod(b"l"), Err(Errno::EEXIST));
    assert_eq!(snap(&os, "/p/nx"), None);
    assert_eq!(os.mknod(b"c/"), Err(Errno::ENOENT));
    assert_eq!(os.mknod(b"missing/c"), Err(Errno::ENOENT));
    assert_eq!(os.mknod(b"."), Err(Errno::EEXIST));
}

#[test]
fn rename_noreplace_refuses_an_existing_new_name() {
    let mut os = os();
    assert_eq!(os.renameat2(b"a", b"d/x.c", RenameMode::NoReplace), Err(Errno::EEXIST));
    assert_eq!(os.renameat2(b"a", b"l", RenameMode::NoReplace), Err(Errno::EEXIST));
    assert_eq!(os.renameat2(b"a", b"a", RenameMode::NoReplace), Err(Errno::EEXIST));
    assert_eq!(os.renameat2(b"missing", b"a", RenameMode::NoReplace), Err(Errno::ENOENT));
    // A new name that is not a name: EEXIST where a plain rename says EBUSY.
    assert_eq!(os.renameat2(b"a", b"..", RenameMode::NoReplace), Err(Errno::EEXIST));
    assert_eq!(os.rename(b"a", b".."), Err(Errno::EBUSY));
    assert_eq!(snap(&os, "/p/a"), file("12"));
    assert_eq!(os.renameat2(b"a", b"b", RenameMode::NoReplace), Ok(()));
    assert_eq!((snap(&os, "/p/a"), snap(&os, "/p/b")), (None, file("12")));
    assert_eq!(os.renameat2(b"e", b"d/e", RenameMode::NoReplace), Ok(()));
    assert_eq!(os.fs.dir_path(os.open_read(b"d/e").expect("moved")), Some(b"/p/d/e".to_vec()));
}

#[test]
fn exchange_swaps_two_existing_names() {
    let mut os = os();
    assert_eq!(os.renameat2(b"a", b"d/x.c", RenameMode::Exchange), Ok(()));
    assert_eq!((snap(&os, "/p/a"), snap(&os, "/p/d/x.c")), (file("x"), file("12")));
    // A file and a directory trade places; the directory's parent follows it.
    assert_eq!(os.renameat2(b"e", b"d/x.c", RenameMode::Exchange), Ok(()));
    assert_eq!(snap(&os, "/p/e"), file("12"));
    let moved = os.open_read(b"d/x.c").expect("the directory moved");
    assert_eq!(os.fs.dir_path(moved), Some(b"/p/d/x.c".to_vec()));
    assert_eq!(os.renameat2(b"a", b"b", RenameMode::Exchange), Err(Errno::ENOENT));
    assert_eq!(os.renameat2(b"a/", b"e", RenameMode::Exchange), Err(Errno::ENOTDIR));
    assert_eq!(os.renameat2(b"a", b"e/", RenameMode::Exchange), Err(Errno::ENOTDIR));
    // Neither may be an ancestor of the other's directory.
    assert_eq!(os.renameat2(b"d", b"d/x.c/", RenameMode::Exchange), Err(Errno::EINVAL));
    assert_eq!(os.renameat2(b"d/x.c", b"d", RenameMode::Exchange), Err(Errno::EINVAL));
    // A symlink is exchanged, not followed.
    assert_eq!(os.renameat2(b"l", b"a", RenameMode::Exchange), Ok(()));
    assert_eq!(snap(&os, "/p/a"), Some(Snap::Symlink { target: b"nx".to_vec() }));
}
