//! Where restored file content comes from: an abstraction of the object store, so that this
//! stage never reaches into `.dry/` itself (the store implements it, tests use a map).

use model::Hash;
use std::fs::File;

/// A source of content-addressed objects to restore files from.
pub trait Objects {
    /// Copies object `hash` into `dest` (a fresh, empty file open for writing) and returns the
    /// number of bytes written. The content must be verified against `hash` while copying; a
    /// missing, unreadable or corrupt object is an error, described in words.
    fn copy_object(&self, hash: &Hash, dest: &mut File) -> Result<u64, String>;

    /// Reports whether object `hash` is present (its content is checked only when copied).
    fn has_object(&self, hash: &Hash) -> bool;
}
