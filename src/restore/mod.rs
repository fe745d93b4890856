//! Restoring: applies an entry's effects to disk (temp file + rename, recorded modes, no
//! setuid/setgid, never following a final symlink, never outside the project root) and writes
//! back its stdout and stderr.
//!
//! This stage touches user files only through [`apply`] and descriptors only through
//! [`write_all_fd`]; it never reads `.dry/` itself: content comes through the [`Objects`] trait,
//! which the store implements (verifying every object against its hash while copying).
#![forbid(unsafe_code)]

mod clock;
mod confine;
mod effects;
mod error;
mod objects;
mod output;
mod pending;
#[cfg(test)]
mod tests;

pub use clock::{newest_input_ns, stamp, stamps, Keep, Stamps};
pub use effects::{apply, Applied};
pub use error::RestoreError;
pub use objects::Objects;
pub use output::{write_all_fd, Replayed};
pub use pending::{pending, Pending};
