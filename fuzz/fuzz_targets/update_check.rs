//! One input is a v1 update: the protocol's structural check, then yrs'
//! decoder (`easel_fuzzing::update_check` says what must hold). Run with a
//! small `-malloc_limit_mb` to catch any reservation out of proportion to
//! the input.
//!
//! Run: `cd fuzz && cargo +nightly fuzz run update_check corpus/update_check -- -malloc_limit_mb=64`
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    easel_fuzzing::init_for_libfuzzer();
    easel_fuzzing::update_check(data)
});
