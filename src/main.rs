//! The `eigentechno` command line: clap types and dispatch. Every command is one call
//! into [`eigentechno::ops`]; `cli/` formats what comes back, and maps errors to exit
//! codes in one place ([`cli::exit`]).

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use eigentechno::audio::stretch::StretchMethod;
use eigentechno::audio::synth::SynthFormat;
use eigentechno::engine::conv::{Method as ConvMethod, Mode as ConvMode, Op};
use eigentechno::engine::corr::Ordering;
use eigentechno::engine::pca::{Method as PcaMethod, Precision};
use eigentechno::ops::RunSettings;
use eigentechno::store::weights::Layout;

#[derive(Parser)]
#[command(
    name = "eigentechno",
    version,
    about = "Music folder in, tempo-normalised bars, PCA and listening outputs out."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a pipeline file.
    Run {
        /// The pipeline (TOML).
        file: PathBuf,
        /// Override a parameter: NAME.KEY=VALUE (NAME = a stage, or `pipeline`).
        #[arg(long = "set", value_name = "NAME.KEY=VALUE")]
        overrides: Vec<String>,
        /// Output folder (default: [pipeline] out, else out/<pipeline name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Worker threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
        /// Fail (exit 1) at the first file that cannot be processed.
        #[arg(long)]
        strict: bool,
        /// Time budget of one track in seconds, past which it is reported as timed out
        /// and the batch goes on (default: [pipeline] max_track_seconds, else 60 s
        /// plus 1 s per 16 kB of file).
        #[arg(long, value_name = "SECONDS")]
        max_track_seconds: Option<f64>,
        /// No progress bars or summary (errors still go to stderr).
        #[arg(long, short)]
        quiet: bool,
    },
    /// PCA of a bar matrix (eigentechno): the model, Isik's listening outputs
    /// (DIR/listen) and figures (DIR/figures).
    Pca(PcaArgs),
    /// Correlation-matrix heatmap of the columns of X.npy or X.csv (PNG, with a JSON of
    /// the feature order and colour limits beside it).
    Corrmatrix {
        /// Rows are samples, columns features (.npy, or .csv with an optional header).
        input: PathBuf,
        /// The PNG to write (FILE.json is written beside it).
        #[arg(long)]
        out: PathBuf,
        /// Feature order.
        #[arg(long, value_enum, default_value = "cluster")]
        order: Ordering,
        /// Colour limits at the middle N % of the off-diagonal values.
        #[arg(long, default_value_t = 99.5)]
        clip: f64,
        /// Also draw the rules one by one (FILE_steps.png).
        #[arg(long)]
        steps: bool,
    },
    /// Compare polynomial curves by how they look, beside the naive coefficient distance.
    ///
    /// Writes the RMS difference over the domain (distances.npy), the Euclidean distance
    /// of the power coefficients (naive.npy), a figure (curves.png) and curves.json.
    /// INPUT: a .npy of coefficient rows (ascending, as numpy.polynomial), of sampled
    /// curves (--samples), or a run's output folder, whose tracks' tempo curves
    /// (report.json) are compared minus their mean tempo.
    Curves(CurvesArgs),
    /// Pictures of a trained network's convolution kernels (.npy, .npz, .safetensors or
    /// .onnx): per layer a kernel grid, RGB patches, spatial-mode energy, slice PCA and
    /// norm map; network.png and kernels.json.
    Kernels {
        /// The weights file. Pickles (.pt, .pth, .pkl) are refused.
        weights: PathBuf,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Layout of 4-D tensors outside ONNX.
        #[arg(long, value_enum, default_value = "auto")]
        layout: Layout,
        /// Colour limits at the middle N % of each layer's weights.
        #[arg(long, default_value_t = 99.5)]
        clip: f64,
        /// At most N output and N input channels per kernel grid.
        #[arg(long, default_value_t = 64)]
        max_channels: usize,
        /// Principal components of the kernel slices to draw.
        #[arg(long, default_value_t = 8)]
        components: usize,
    },
    /// (Re)write DIR/index.html, the explorer page of an output folder: audition the
    /// components, reconstructions, outliers and samples, browse the figures.
    Explore {
        /// An output folder of `eigentechno run` (or of `eigentechno pca`).
        dir: PathBuf,
        /// Open the page in the system's browser.
        #[arg(long)]
        open: bool,
    },
    /// Probabilistic PCA on a fitted model (the folder `eigentechno pca` wrote).
    Ppca {
        #[command(subcommand)]
        what: PpcaWhat,
    },
    /// Listen to a fitted PCA: writes the WAV (DIR/audition/...) and prints its path;
    /// --play also plays it (needs the `playback` feature).
    Audition(cli::listen::AuditionArgs),
    /// Classifiers with built-in confidence: smooth kernel machines (and softmax and
    /// L2-SVM heads) on images (IDX folders) or feature matrices (.npy).
    #[command(subcommand)]
    Learn(cli::learn::LearnCommand),
    /// Check a pipeline file without running it.
    Check {
        /// The pipeline (TOML).
        file: PathBuf,
        /// Override a parameter: NAME.KEY=VALUE.
        #[arg(long = "set", value_name = "NAME.KEY=VALUE")]
        overrides: Vec<String>,
    },
    /// List every stage type with its parameters and defaults.
    Stages {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Cross-correlate two arrays (.npy, 1-D or 2-D), as scipy.signal.correlate.
    Correlate(ConvArgs),
    /// Convolve two arrays (.npy, 1-D or 2-D), as scipy.signal.convolve.
    Convolve(ConvArgs),
    /// A music folder to a tempo-normalised one-bar matrix (shorthand for pipelines/ingest.toml).
    Ingest {
        /// The music folder.
        dir: PathBuf,
        /// Output folder (bars.npy, bars.csv, report.json land in OUT/matrix/).
        #[arg(long)]
        out: PathBuf,
        /// Common tempo of the bars.
        #[arg(long, default_value_t = 128.0)]
        bpm: f64,
        /// Working sample rate.
        #[arg(long, default_value_t = 8_820)]
        rate: u32,
        /// pitch: keep pitch (WSOLA); varispeed: resample.
        #[arg(long, value_enum, default_value = "pitch")]
        stretch: StretchMethod,
        /// At most N bars per track (0: all).
        #[arg(long, default_value_t = 0)]
        max_bars_per_track: usize,
        /// Fail at the first track that cannot be processed.
        #[arg(long)]
        strict: bool,
        /// Worker threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
        /// Time budget of one track in seconds, past which it is reported as timed out
        /// (0: 60 s plus 1 s per 16 kB of file).
        #[arg(long, value_name = "SECONDS", default_value_t = 0.0)]
        max_track_seconds: f64,
        /// No progress bar or summary.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Tempo, confidence, first downbeat and beat count of audio files.
    Tempo {
        /// Audio files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// One JSON array with an object per file.
        #[arg(long)]
        json: bool,
    },
    /// Score tempo, beat and downbeat estimates against annotations beside the audio.
    EvalTempo {
        /// Folder of audio files with annotations (.json from synth, .bpm, .beats).
        dir: PathBuf,
        /// Print JSON instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Time the engine on fixed shapes (and compare with reference timings).
    Bench {
        #[command(subcommand)]
        what: cli::bench::BenchWhat,
    },
    /// A de Bruijn sequence: the fewest presses that try every code on a keypad that
    /// never resets (10,003 for four digits), its check, and the graph it walks.
    Debruijn(cli::debruijn::DebruijnArgs),
    /// Write a synthetic techno corpus with beat and downbeat annotations (JSON beside each track).
    Synth(SynthArgs),
}

#[derive(clap::Args)]
struct ConvArgs {
    /// First input (the signal or image).
    a: PathBuf,
    /// Second input (the kernel).
    b: PathBuf,
    /// scipy's mode.
    #[arg(long, value_enum, default_value = "full")]
    mode: ConvMode,
    /// Direct sums, FFT, or chosen by the cost model.
    #[arg(long, value_enum, default_value = "auto")]
    method: ConvMethod,
    /// Output .npy (float32 if both inputs are, else float64).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Subcommand)]
enum PpcaWhat {
    /// One float64 log-likelihood per row of X.npy under the model, written to LL.npy.
    Score {
        /// The matrix to score (its width must be the model's).
        matrix: PathBuf,
        /// The model folder.
        #[arg(long)]
        model: PathBuf,
        /// Output .npy (float64, one value per row).
        #[arg(long)]
        out: PathBuf,
        /// Components of the probabilistic model. Default (0): the k the model was
        /// fitted with, as scikit-learn's score_samples; for a model that kept every
        /// component, the fewest explaining 90 % of the variance.
        #[arg(short, default_value_t = 0)]
        k: usize,
    },
}

#[derive(clap::Args)]
struct SynthArgs {
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// Number of tracks.
    #[arg(long, default_value_t = 10)]
    tracks: u64,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Tempo range MIN..MAX (or one value).
    #[arg(long, default_value = "120..140")]
    bpm: String,
    /// Track length in seconds.
    #[arg(long, default_value_t = 30.0)]
    seconds: f64,
    /// Containers, used in turn: wav, flac.
    #[arg(long, value_enum, default_value = "wav", value_delimiter = ',')]
    formats: Vec<SynthFormat>,
    /// Sample rate.
    #[arg(long, default_value_t = 44_100)]
    rate: u32,
    /// Channels (1 or 2).
    #[arg(long, default_value_t = 2)]
    channels: u16,
    /// Share of tracks with swung 16ths (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    swing: f64,
    /// Share of tracks with a slow tempo drift (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    drift: f64,
    /// Share of tracks whose off-beat hats, bass or claps are louder than the kick (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    loud_offbeat: f64,
    /// Write continuous DJ mixes of N tracks each (or MIN..MAX, drawn per mix) instead of
    /// single tracks: hard cuts on a downbeat, crossfades that are not beat-matched, tempo
    /// ramps and beatless breakdowns, with per-stretch ground truth in the JSON.
    /// `--seconds` and `--drift` do not apply to mixes.
    #[arg(long)]
    mix: Option<String>,
    /// File name prefix.
    #[arg(long, default_value = "synth")]
    prefix: String,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(clap::Args)]
struct CurvesArgs {
    /// COEFFS.npy (rows of coefficients), CURVES.npy (rows of samples, --samples) or a
    /// run's output folder (its report.json).
    input: PathBuf,
    /// Output folder (distances.npy, naive.npy, curves.png, curves.json).
    #[arg(long)]
    out: PathBuf,
    /// The curves' domain A,B (default -1,1): coefficients are of x in [A, B], samples
    /// evenly spaced over it, both ends included.
    #[arg(long, value_name = "A,B", allow_hyphen_values = true)]
    domain: Option<String>,
    /// The coefficients' basis: power (default) or legendre (in t, [A, B] mapped to
    /// [-1, 1], as numpy.polynomial.Legendre).
    #[arg(long, value_enum)]
    basis: Option<eigentechno::engine::poly::Basis>,
    /// Rows are sampled curves: fit each by least squares first.
    #[arg(long)]
    samples: bool,
    /// Degree of that fit (default 3).
    #[arg(long, requires = "samples")]
    degree: Option<usize>,
    /// Compare shapes: subtract each curve's mean over the domain first (always done
    /// for a run's tempo curves).
    #[arg(long)]
    centre: bool,
}

#[derive(clap::Args)]
struct PcaArgs {
    /// The matrix (N x d float32/float64 .npy, e.g. OUT/matrix/bars.npy).
    matrix: PathBuf,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// Components to keep (default: all, by the exact method).
    #[arg(short)]
    k: Option<usize>,
    /// exact, randomized, or auto (chosen by cost).
    #[arg(long, value_enum, default_value = "auto")]
    method: PcaMethod,
    /// Apply Isik's equalisation before PCA (undone for listening).
    #[arg(long)]
    equalize: bool,
    /// Arithmetic precision: auto, f32, f64.
    #[arg(long, value_enum, default_value = "auto")]
    precision: Precision,
    /// Sample rate of the bars (default: from report.json beside the matrix, else 8820).
    #[arg(long)]
    rate: Option<u32>,
    /// Skip rows holding NaN or infinity instead of failing.
    #[arg(long)]
    drop_nonfinite: bool,
    /// Only the model: no listening outputs, no figures.
    #[arg(long)]
    model_only: bool,
}

fn main() -> ExitCode {
    let command = Cli::parse().command;
    cli::stop_on_ctrl_c();
    cli::exit(dispatch(command))
}

fn dispatch(command: Command) -> cli::Outcome {
    use cli::{analysis, bench, listen, pipeline};
    match command {
        Command::Run {
            file,
            overrides,
            out,
            threads,
            strict,
            max_track_seconds,
            quiet,
        } => pipeline::run(
            &file,
            &overrides,
            RunSettings {
                out,
                threads,
                strict,
                quiet,
                max_track_seconds,
                supplied: Vec::new(),
            },
        ),
        Command::Check { file, overrides } => pipeline::check(&file, &overrides),
        Command::Stages { json } => pipeline::stage_types(json),
        Command::Ingest {
            dir,
            out,
            bpm,
            rate,
            stretch,
            max_bars_per_track,
            strict,
            threads,
            max_track_seconds,
            quiet,
        } => {
            let params = eigentechno::ops::IngestParams {
                bpm,
                rate,
                stretch,
                max_bars_per_track,
                threads: threads.unwrap_or(0),
                strict,
                progress: !quiet,
                max_track_seconds,
            };
            pipeline::ingest(&dir, &out, &params, quiet)
        }
        Command::Correlate(a) => {
            analysis::conv(&a.a, &a.b, &a.out, Op::Correlate, a.mode, a.method)
        }
        Command::Convolve(a) => analysis::conv(&a.a, &a.b, &a.out, Op::Convolve, a.mode, a.method),
        Command::Corrmatrix {
            input,
            out,
            order,
            clip,
            steps,
        } => analysis::corrmatrix(&input, &out, order, clip, steps),
        Command::Curves(a) => analysis::curves(a),
        Command::Kernels {
            weights,
            out,
            layout,
            clip,
            max_channels,
            components,
        } => analysis::kernels(
            &weights,
            &out,
            eigentechno::ops::KernelParams {
                layout,
                clip,
                max_channels,
                components,
            },
        ),
        Command::Tempo { files, json } => analysis::tempo(&files, json),
        Command::EvalTempo { dir, json } => analysis::eval_tempo(&dir, json),
        Command::Synth(a) => analysis::synth(a),
        Command::Pca(a) => listen::pca(a),
        Command::Ppca {
            what:
                PpcaWhat::Score {
                    matrix,
                    model,
                    out,
                    k,
                },
        } => listen::ppca_score(&matrix, &model, &out, k),
        Command::Audition(a) => listen::audition(a),
        Command::Learn(c) => cli::learn::learn(c),
        Command::Explore { dir, open } => listen::explore(&dir, open),
        Command::Bench { what } => bench::bench(what),
        Command::Debruijn(a) => cli::debruijn::debruijn(a),
    }
}
