#![no_main]
// cargo fuzz run key_path (see fuzz/README.md); the check lives in tad_store_core::fuzzing.
libfuzzer_sys::fuzz_target!(|data: &[u8]| tad_store_core::fuzzing::key_path(data));
