//! Fuzz target: `xdrmap::fuzzing::query` (its property is documented there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xdrmap::fuzzing::query(data));
