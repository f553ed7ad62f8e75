#![no_main]
//! Fuzz target `idx`: the body is shared with `tests/fuzz_regressions.rs`, which
//! replays every saved finding on stable.

#[path = "../../tests/fuzz_cases/mod.rs"]
mod fuzz_cases;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = fuzz_cases::idx::run(data);
});
