#![no_main]
// cargo fuzz run history_apply (see fuzz/README.md); the check lives in tad_store_core::fuzzing.
libfuzzer_sys::fuzz_target!(|data: &[u8]| tad_store_core::fuzzing::history_apply(data));
