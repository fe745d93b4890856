//! Fuzz target `lower_events`: see `dry_fuzz::lower_events`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dry_fuzz::lower_events(data));
