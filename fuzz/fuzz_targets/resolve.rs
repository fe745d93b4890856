//! Fuzz target `resolve`: see `dry_fuzz::resolve`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dry_fuzz::resolve(data));
