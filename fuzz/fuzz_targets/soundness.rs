//! Fuzz target `soundness`: see `dry_fuzz::soundness`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dry_fuzz::soundness(data));
