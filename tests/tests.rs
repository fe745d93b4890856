//! End-to-end tests: drive the real `dry` binary on real programs in temporary directories.
