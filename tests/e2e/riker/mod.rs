//! A translation of Riker's test suite (curtsinger-lab/riker, `tests/*/*.t`): each cram file
//! is a Rust test that creates its own files, runs the build (`sh Rikerfile` and the like)
//! under `dry build --strict` and untraced side by side, applies the same edits to both and
//! compares them after every build (`twin`). notes/riker.md lists what was translated, what was
//! left out and why, and the scenarios that fail on dry's known bugs.

mod twin;

mod basic;
mod gcc;
mod links;
mod pipes;
mod programs;
