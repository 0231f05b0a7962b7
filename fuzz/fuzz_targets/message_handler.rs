//! One input is one WebSocket frame, decoded and integrated the way a chart
//! actor does it (`easel_fuzzing::message_handler` says what must hold).
//!
//! Run: `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run message_handler corpus/message_handler`
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    easel_fuzzing::init_for_libfuzzer();
    easel_fuzzing::message_handler(data)
});
