//! Checking: the live filesystem as a [`model::Fs`], and the fingerprint fast path that lets an
//! unchanged file skip rehashing. Reads user files; never writes them, never touches `.dry/`
//! (the store persists [`Fingerprints`]) and never decides anything itself: the semantics of every
//! predicate live in `model::check`, written once against `model::Fs`.
//!
//! Typical use, one decision:
//! ```no_run
//! # fn entries() -> Vec<model::Entry> { Vec::new() }
//! use dry::check::{check_entry, Fingerprints, LiveFs, LiveStdin};
//! let mut fingerprints = Fingerprints::new(); // loaded from the store in practice
//! let stdin = LiveStdin::new();
//! let live = LiveFs::new(&mut fingerprints);
//! let family = entries();
//! let rules = model::check::Rules::default(); // the output rule; `Rules::Strict` for --strict
//! let winner = family.iter().find(|e| check_entry(e, &family, &live, &stdin, rules).holds());
//! drop(live);
//! if fingerprints.is_dirty() { /* save them */ }
//! # let _ = winner;
//! ```
#![forbid(unsafe_code)]

#[cfg(test)]
mod differential;
mod dir_times;
mod dryignore;
mod entry;
mod fed;
mod fingerprint;
mod listing;
mod live;
mod lstat;
mod prefetch;
mod stdin;
#[cfg(test)]
mod tests;

pub(crate) use dir_times::keeps_directory_times;
pub use dryignore::{left_out_of_listings, DryIgnore, DryIgnoreError, LeftOut, DRYIGNORE};
pub use entry::check_entry;
#[cfg(test)]
pub(crate) use fingerprint::hash_whole;
pub use fingerprint::{fingerprint_of, read_hash, CachedFingerprints, Fingerprints, RACY_WINDOW};
pub(crate) use listing::listing_hash;
pub use live::{LiveFs, LiveNode};
pub use lstat::errno_of;
pub use stdin::LiveStdin;
