//! Effects: the net state a run left at every path it changed.

use crate::hash::Hash;

/// The final state of one path the command changed. Paths are absolute and normalised.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "rkyv", derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize))]
#[cfg_attr(feature = "rkyv", rkyv(derive(Debug), attr(allow(missing_docs))))]
pub enum Effect {
    /// A regular file with this content and permission bits.
    File {
        /// Absolute path.
        path: Vec<u8>,
        /// Content, stored as an object.
        hash: Hash,
        /// Permission bits (`st_mode & 0o7777`; setuid/setgid are never restored).
        mode: u32,
    },
    /// A directory with these permission bits.
    Dir {
        /// Absolute path.
        path: Vec<u8>,
        /// Permission bits.
        mode: u32,
    },
    /// A symlink with this target.
    Symlink {
        /// Absolute path.
        path: Vec<u8>,
        /// Target, as stored.
        target: Vec<u8>,
    },
    /// A hard link to the file that another effect (or an existing file) holds at `to`.
    HardLink {
        /// Absolute path of the new name.
        path: Vec<u8>,
        /// Absolute path of the file it shares an inode with.
        to: Vec<u8>,
    },
    /// Nothing: the path existed before the run and the run removed it.
    Absent {
        /// Absolute path.
        path: Vec<u8>,
    },
}

impl Effect {
    /// Returns the path this effect sets.
    pub fn path(&self) -> &[u8] {
        match self {
            Effect::File { path, .. }
            | Effect::Dir { path, .. }
            | Effect::Symlink { path, .. }
            | Effect::HardLink { path, .. }
            | Effect::Absent { path } => path,
        }
    }
}
