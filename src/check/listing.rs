//! Reading a directory's names, sorted, as the live filesystem's `list` answers (shared by the
//! check and the prefetch that reads big listings ahead on another thread).

use super::lstat::errno_of;
use model::Errno;
use std::ffi::OsStr;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// The names in the directory at absolute `path` (without `.` and `..`), sorted bytewise.
pub(crate) type Listing = Result<Vec<Vec<u8>>, Errno>;

/// Reads the names in the directory at absolute `path`, sorted bytewise.
pub(crate) fn read_names(path: &[u8]) -> Listing {
    let dir = std::fs::read_dir(OsStr::from_bytes(path)).map_err(|e| errno_of(&e))?;
    let mut names = Vec::new();
    for entry in dir {
        let entry = entry.map_err(|e| errno_of(&e))?;
        names.push(entry.file_name().into_vec());
    }
    // Names in a directory are distinct: an unstable sort gives the same order, faster.
    names.sort_unstable();
    Ok(names)
}
