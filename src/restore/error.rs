//! The ways a restore can fail. Each names the path concerned; none is a panic.

use model::Hash;
use std::io;
use std::path::PathBuf;

/// Why effects could not be applied or outputs not written back.
///
/// The errors found before anything is touched ([`RestoreError::InvalidPath`],
/// [`RestoreError::OutsideRoot`], [`RestoreError::UnsafeParent`],
/// [`RestoreError::MissingObject`]) leave every user file as it was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// A path is not absolute and normalised (no `.`, `..`, repeated or trailing slash).
    #[error("{} is not an absolute normalised path", path.display())]
    InvalidPath {
        /// The offending path.
        path: PathBuf,
    },
    /// An effect lies outside the project root, or would replace the root itself.
    #[error("{} is outside the project root {}", path.display(), root.display())]
    OutsideRoot {
        /// The effect's path.
        path: PathBuf,
        /// The project root.
        root: PathBuf,
    },
    /// A parent directory of an effect's path is a symlink leading outside the project root, or
    /// leading nowhere.
    #[error("{} would be written through symlink {}, which leads outside the project root",
        path.display(), through.display())]
    UnsafeParent {
        /// The effect's path.
        path: PathBuf,
        /// The symlink among its parents.
        through: PathBuf,
    },
    /// The content of a file to restore is not in the object store.
    #[error("object {hash} for {} is missing", path.display())]
    MissingObject {
        /// The file to restore.
        path: PathBuf,
        /// Its content hash.
        hash: Hash,
    },
    /// The object store failed to supply a file's content (unreadable or corrupt object).
    #[error("object {hash} for {}: {message}", path.display())]
    Object {
        /// The file to restore.
        path: PathBuf,
        /// Its content hash.
        hash: Hash,
        /// The store's description of the failure.
        message: String,
    },
    /// A filesystem operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// The operation, e.g. "rename".
        op: &'static str,
        /// The path it was applied to.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// Writing recorded output back to a descriptor failed.
    #[error("writing output to descriptor {fd}: {source}")]
    Output {
        /// The descriptor.
        fd: i32,
        /// The error.
        source: io::Error,
    },
}
