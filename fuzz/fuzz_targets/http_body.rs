//! One input is a JSON body for one of the API's body-taking routes, sent
//! through the real router and store (`easel_fuzzing::http_body`).
//!
//! Run: `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run http_body corpus/http_body`
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    easel_fuzzing::init_for_libfuzzer();
    easel_fuzzing::http_body(data)
});
