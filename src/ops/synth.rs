//! A synthetic techno corpus with exact beat and downbeat annotations (a JSON file
//! beside each track), for tests and benchmarks.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::audio::synth::{SynthFormat, SynthParams, synth_mix, synth_track, write_synth_track};
use crate::error::{Error, Result};

/// A corpus as asked for; [`CorpusParams::check`] turns it into a [`Corpus`].
#[derive(Clone, Debug, PartialEq)]
pub struct CorpusParams {
    /// Number of tracks.
    pub tracks: u64,
    /// Random seed.
    pub seed: u64,
    /// Each track's settings.
    pub track: SynthParams,
    /// Containers, used in turn.
    pub formats: Vec<SynthFormat>,
    /// File name prefix (`PREFIX-NNNN.wav`).
    pub prefix: String,
    /// Write mixes of this many tracks (lowest, highest; drawn per mix) instead of
    /// single tracks ([`synth_mix`]).
    pub mix: Option<(u32, u32)>,
}

impl Default for CorpusParams {
    fn default() -> Self {
        CorpusParams {
            tracks: 10,
            seed: 1,
            track: SynthParams::default(),
            formats: vec![SynthFormat::Wav],
            prefix: "synth".into(),
            mix: None,
        }
    }
}

/// A checked corpus description.
#[derive(Clone, Debug, PartialEq)]
pub struct Corpus(CorpusParams);

impl CorpusParams {
    /// Check the settings.
    pub fn check(self) -> Result<Corpus> {
        self.track.validate()?;
        if self.formats.is_empty() {
            return Err(Error::InvalidArgument {
                name: "formats",
                expected: "at least one of wav, flac".into(),
                actual: "none".into(),
            });
        }
        if self.prefix.is_empty() || self.prefix.contains(['/', '\\']) {
            return Err(Error::InvalidArgument {
                name: "prefix",
                expected: "a file name prefix without slashes".into(),
                actual: format!("{:?}", self.prefix),
            });
        }
        if let Some((lo, hi)) = self.mix
            && !(1 <= lo && lo <= hi && hi <= 64)
        {
            return Err(Error::InvalidArgument {
                name: "mix",
                expected: "1 <= MIN <= MAX <= 64 tracks per mix".into(),
                actual: format!("{lo}..{hi}"),
            });
        }
        Ok(Corpus(self))
    }
}

/// Write the corpus into `out` (tracks in parallel; `progress` is called after each)
/// and return the audio files' paths in order.
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// use eigentechno::audio::synth::SynthParams;
/// use eigentechno::ops::CorpusParams;
/// let dir = tempfile::tempdir().unwrap();
/// let corpus = CorpusParams {
///     tracks: 2,
///     track: SynthParams { seconds: 2.0, ..Default::default() },
///     ..Default::default()
/// }.check()?;
/// let files = eigentechno::ops::synth_corpus(dir.path(), &corpus, &|| ())?;
/// assert_eq!(files.len(), 2);
/// assert!(files[0].with_extension("json").exists());
/// # Ok(()) }
/// ```
pub fn synth_corpus(
    out: &Path,
    corpus: &Corpus,
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<PathBuf>> {
    let c = &corpus.0;
    (0..c.tracks)
        .into_par_iter()
        .map(|i| {
            let t = match c.mix {
                Some(tracks) => synth_mix(c.seed, i, &c.track, tracks),
                None => synth_track(c.seed, i, &c.track),
            };
            let fmt = c.formats[(i as usize) % c.formats.len()];
            let path = write_synth_track(out, &format!("{}-{i:04}", c.prefix), fmt, &t);
            progress();
            path
        })
        .collect()
}
