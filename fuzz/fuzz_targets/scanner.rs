//! Fuzz target: `xdrmap::fuzzing::scanner` (its property is documented there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xdrmap::fuzzing::scanner(data));
