//! File fingerprints: the cheap identity that lets an unchanged file skip rehashing.

/// What `stat` says about a file's identity and last change. Equal fingerprints are taken to mean
/// equal content (SPEC §5), except for "racy" fingerprints taken too soon after the last change
/// (see notes/0004-fingerprints.md).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "rkyv", derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize))]
#[cfg_attr(feature = "rkyv", rkyv(derive(Debug, PartialEq, Eq)))]
pub struct Fingerprint {
    /// Device number.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Size in bytes.
    pub size_bytes: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// Status change time, nanoseconds since the epoch.
    pub ctime_ns: i64,
}
