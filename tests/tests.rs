//! End-to-end tests: drive the real `dry` binary on real programs (bash, cc, python3, make) in
//! temporary directories, under the real tracer. One test binary for the whole crate.

mod e2e;
