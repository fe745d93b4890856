//! Which filesystems vouch for a directory's times: where adding, removing or renaming an entry
//! always changes the directory's mtime and ctime, so that an unchanged directory fingerprint
//! means unchanged entries (notes/0010-absent-names.md).

use nix::sys::statfs::{self, FsType};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

/// Reports whether the filesystem holding `dir` is one where adding, removing or renaming an
/// entry always changes the directory's mtime and ctime: the local disk and memory filesystems.
/// Not procfs, sysfs and the like (entries appear with no change of times), nor network and
/// FUSE filesystems (whose times are whatever the server says). Unknown means no.
pub(crate) fn keeps_directory_times(dir: &[u8]) -> bool {
    const XFS: FsType = FsType(0x5846_5342);
    const F2FS: FsType = FsType(0xF2F5_2010);
    const ZFS: FsType = FsType(0x2FC1_2FC1);
    let Ok(fs) = statfs::statfs(OsStr::from_bytes(dir)) else {
        return false;
    };
    let kind = fs.filesystem_type();
    [
        statfs::EXT4_SUPER_MAGIC,
        statfs::BTRFS_SUPER_MAGIC,
        statfs::TMPFS_MAGIC,
        statfs::OVERLAYFS_SUPER_MAGIC,
        XFS,
        F2FS,
        ZFS,
    ]
    .contains(&kind)
}
