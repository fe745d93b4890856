//! Tests of the tracer against real programs (sh, coreutils, python3) in temporary
//! directories, each run in every [`crate::trace::Stops`] mode (user notification, seccomp filter, no filter). Paths are normalised (`$T` for the
//! temporary directory) before they are compared.

mod files;
mod harness;
mod nested;
mod notify;
mod procs;
