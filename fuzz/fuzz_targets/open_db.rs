//! Fuzz target `open_db`: see `dry_fuzz::open_db`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dry_fuzz::open_db(data));
