//! dry makes any command incremental: it runs the command under ptrace, lowers every path
//! resolution into typed predicates (see the `model` crate), stores them with the outputs in a
//! content-addressed cache, and replays the outputs when every predicate still holds.
//!
//! One module per stage: [`trace`] runs and observes, [`record`] turns a finished run into an
//! entry, [`store`] keeps entries and objects under `.dry/`, [`check`] decides against the live
//! filesystem, [`restore`] replays, [`explain`] puts verdicts into words, [`cli`] ties them
//! together. Dependencies point one way: `cli` → stages → `model`.
#![warn(missing_docs)]

pub mod check;
pub mod cli;
pub mod decide;
pub mod explain;
pub mod key;
pub mod project;
pub mod record;
pub mod restore;
pub mod store;
pub mod trace;
