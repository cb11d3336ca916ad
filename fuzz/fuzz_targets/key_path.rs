#![no_main]
// cargo fuzz run key_path (see fuzz/README.md); the check lives in tad_store::engine::fuzzing.
libfuzzer_sys::fuzz_target!(|data: &[u8]| tad_store::engine::fuzzing::key_path(data));
