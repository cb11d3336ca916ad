#![no_main]
// cargo fuzz run recovery (see fuzz/README.md); the check lives in tad_store::engine::fuzzing.
libfuzzer_sys::fuzz_target!(|data: &[u8]| tad_store::engine::fuzzing::recovery(data));
