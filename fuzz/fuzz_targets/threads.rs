//! Fuzz target: `xdrmap::fuzzing::threads` (its property is documented there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xdrmap::fuzzing::threads(data));
