//! Fuzz target: `xdrmap::fuzzing::map_lines` (its property is documented there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xdrmap::fuzzing::map_lines(data));
