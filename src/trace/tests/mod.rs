//! Tests of the tracer against real programs (sh, coreutils, python3) in temporary
//! directories, each run with the seccomp filter on and off. Paths are normalised (`$T` for the
//! temporary directory) before they are compared.

mod files;
mod harness;
mod nested;
mod procs;
