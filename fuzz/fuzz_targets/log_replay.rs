//! One input is a chart's stored snapshot and log, replayed as a chart load
//! (`easel_fuzzing::log_replay` says what must hold).
//!
//! Run: `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run log_replay corpus/log_replay`
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    easel_fuzzing::init_for_libfuzzer();
    easel_fuzzing::log_replay(data)
});
