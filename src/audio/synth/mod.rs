//! A synthetic techno corpus with exact ground truth.
//!
//! Each track: a kick on every beat, a clap on beats 2 and 4, off-beat open hats,
//! 16th closed hats (optionally swung), a bass line and chord stabs whose harmony
//! changes at every bar start, and a crash on the first beat of every 8-bar phrase.
//! The first beat falls at a random time and on a random beat of the bar; the tempo may
//! drift slowly (a linear ramp). Beat and downbeat times are written beside each track,
//! so tempo, beat and downbeat estimates can be scored exactly.

mod annotation;
mod clock;
pub mod mix;
mod params;
mod render;
mod style;
mod track;
mod write;

pub use annotation::{Annotation, LoudOffbeat, TruthSegment, TruthStatus};
pub use mix::synth_mix;
pub use params::SynthParams;
pub use track::{SynthTrack, synth_track};
pub use write::{SynthFormat, encode_flac16, write_synth_track};

#[cfg(test)]
mod tests;
