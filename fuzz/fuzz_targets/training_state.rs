#![no_main]
//! Fuzz target `training_state`: the body is shared with `tests/fuzz_regressions.rs`,
//! which replays every saved finding on stable.

#[path = "../../tests/fuzz_cases/mod.rs"]
mod fuzz_cases;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = fuzz_cases::training_state::run(data);
});
