//! The vocabulary and semantics of dry: POSIX path resolution over an abstract filesystem, the
//! predicates a command's run depends on, the effects it leaves, and the rules that lower a
//! sequence of observations into an [`entry::Entry`].
//!
//! This crate is pure: no I/O, no clock, no environment, no threads, no `unsafe`. The live system
//! reaches it only through the [`fs::Fs`] trait, implemented by the `dry` crate's checker, and
//! through [`observe::Observation`] values produced by the tracer. Everything dry decides about
//! "the same" is decided here, so the property tests of this crate speak about the shipped code.
#![forbid(unsafe_code)]
// rkyv's derives generate undocumented types; the docs lint is enforced on builds without it
// (`cargo clippy -p dry-model` in .ci/run).
#![cfg_attr(not(feature = "rkyv"), deny(missing_docs))]
#![cfg_attr(feature = "rkyv", allow(missing_docs))]

pub mod check;
pub mod effect;
pub mod entry;
pub mod errno;
pub mod fast_hash;
pub mod fingerprint;
pub mod fixes;
pub mod fs;
pub mod hash;
pub mod into_output;
pub mod key;
pub mod lower;
pub mod memfs;
pub mod observe;
pub mod ops;
pub mod path;
pub mod predicate;
pub mod program;
pub mod resolve;
pub mod run;
pub mod scenario;
pub mod trace;
pub mod verdict;
pub mod view;
pub mod walk;

pub use effect::Effect;
pub use entry::Entry;
pub use errno::Errno;
pub use fs::{FileKind, Fs, Meta};
pub use hash::Hash;
pub use key::CommandKey;
pub use predicate::Predicate;
pub use verdict::Verdict;
