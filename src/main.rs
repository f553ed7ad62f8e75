//! The `eigentechno` command line: a thin layer over the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use eigentechno::audio::rhythm::{Rhythm, RhythmOptions, analyse_file};
use eigentechno::audio::synth::{SynthFormat, SynthParams, synth_track, write_synth_track};
use eigentechno::engine::conv::{Method, Mode, Op};
use eigentechno::pipeline::{self, Pipeline, Registry, RunOptions};
use rayon::prelude::*;

/// Exit code for a rejected pipeline or bad arguments.
const EXIT_CONFIG: u8 = 2;
/// Exit code for a failed run.
const EXIT_FAILED: u8 = 1;

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
        #[arg(long, default_value = "cluster", value_parser = ["none", "cluster", "eigen"])]
        order: String,
        /// Colour limits at the middle N % of the off-diagonal values.
        #[arg(long, default_value_t = 99.5)]
        clip: f64,
        /// Also draw the rules one by one (FILE_steps.png).
        #[arg(long)]
        steps: bool,
    },
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
        #[arg(long, default_value = "auto", value_parser = ["auto", "oihw", "hwio"])]
        layout: String,
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
    Audition {
        /// The model folder (`eigentechno pca --out DIR`, or OUT/pca of a pipeline run).
        dir: PathBuf,
        /// Component I (0-based), peak-normalised.
        #[arg(long, group = "what")]
        component: Option<usize>,
        /// Row of the matrix to reconstruct (with --k).
        #[arg(long, group = "what", requires = "k")]
        reconstruct: Option<usize>,
        /// Components used by --reconstruct.
        #[arg(long)]
        k: Option<usize>,
        /// Isik's morph of this row, from the mean loop to the bar.
        #[arg(long, group = "what")]
        morph: Option<usize>,
        /// The mean loop.
        #[arg(long, group = "what")]
        mean: bool,
        /// Bar N drawn from the model read as a Gaussian (probabilistic PCA; seed 0,
        /// k explaining 90 % of the variance).
        #[arg(long, group = "what")]
        sample: Option<usize>,
        /// Repetitions of the bar.
        #[arg(long, default_value_t = 4)]
        loops: usize,
        /// Play it (build with `--features playback`).
        #[arg(long)]
        play: bool,
    },
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
        #[arg(long, default_value = "pitch", value_parser = ["pitch", "varispeed"])]
        stretch: String,
        /// At most N bars per track (0: all).
        #[arg(long, default_value_t = 0)]
        max_bars_per_track: usize,
        /// Fail at the first track that cannot be processed.
        #[arg(long)]
        strict: bool,
        /// Worker threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
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
        what: BenchWhat,
    },
    /// Write a synthetic techno corpus with beat and downbeat annotations (JSON beside each track).
    Synth {
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
        #[arg(long, default_value = "wav", value_delimiter = ',')]
        formats: Vec<String>,
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
        /// File name prefix.
        #[arg(long, default_value = "synth")]
        prefix: String,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
    },
}

#[derive(clap::Args)]
struct ConvArgs {
    /// First input (the signal or image).
    a: PathBuf,
    /// Second input (the kernel).
    b: PathBuf,
    /// scipy's mode.
    #[arg(long, default_value = "full", value_parser = ["full", "same", "valid"])]
    mode: String,
    /// Direct sums, FFT, or chosen by the cost model.
    #[arg(long, default_value = "auto", value_parser = ["auto", "direct", "fft"])]
    method: String,
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
        /// Components of the probabilistic model (default: the fewest explaining 90 %).
        #[arg(short, default_value_t = 0)]
        k: usize,
    },
}

#[derive(Subcommand)]
enum BenchWhat {
    /// Whole ingest of a folder (decode to matrix), in times realtime.
    Ingest {
        /// A folder of tracks (e.g. made by `eigentechno synth`).
        dir: PathBuf,
        /// Worker threads (default: one per core).
        #[arg(long, default_value_t = 0)]
        threads: usize,
    },
    /// PCA on a float32 .npy matrix (made first if FILE does not exist): wall time of
    /// each method, reading the file included, and the randomized error against exact.
    Pca {
        /// The matrix file (generated with a bar-like decaying spectrum if missing).
        file: PathBuf,
        /// Rows of a generated matrix.
        #[arg(long, default_value_t = 4000)]
        rows: usize,
        /// Columns of a generated matrix.
        #[arg(long, default_value_t = 20672)]
        cols: usize,
        /// Rank of the generated signal.
        #[arg(long, default_value_t = 1000)]
        rank: usize,
        /// Singular values of the generated signal decay as (1 + j)^-decay.
        #[arg(long, default_value_t = 0.5)]
        decay: f64,
        /// Components.
        #[arg(short, default_value_t = 64)]
        k: usize,
        /// Methods to time, comma-separated.
        #[arg(long, default_value = "exact,randomized", value_delimiter = ',')]
        methods: Vec<String>,
        /// Randomized: power iterations (default 3).
        #[arg(long)]
        power_iterations: Option<usize>,
        /// Randomized: oversampling (default max(16, k / 4)).
        #[arg(long)]
        oversampling: Option<usize>,
        /// Arithmetic precision: auto, f32, f64.
        #[arg(long, default_value = "auto")]
        precision: String,
        /// Reference timings (JSON {method: seconds}, from benches/pca_sklearn.py).
        #[arg(long)]
        compare: Option<PathBuf>,
    },
    /// Correlation: 1-D 1M x 1M, 1M x 1k, 1M x 64; 2-D 1024^2 with 3x3, 15x15, 64x64.
    Conv {
        /// Reference timings (JSON {case: seconds}, from benches/conv_scipy.py) to compare with.
        #[arg(long)]
        compare: Option<PathBuf>,
        /// Runs per case (median reported).
        #[arg(long, default_value_t = 5)]
        repeat: usize,
        /// Measure the cost model's constants instead.
        #[arg(long)]
        calibrate: bool,
    },
}

fn conv_command(args: &ConvArgs, op: Op) -> ExitCode {
    let read = |p: &Path| eigentechno::store::read_npy(p);
    let result = read(&args.a).and_then(|a| {
        let b = read(&args.b)?;
        let mode = Mode::parse(&args.mode).expect("clap checked");
        let method = Method::parse(&args.method).expect("clap checked");
        let out = eigentechno::pipeline::stages::apply_arrays(&a, &b, op, mode, method)?;
        eigentechno::store::write_npy(&args.out, &out)?;
        Ok(out)
    });
    match result {
        Ok(out) => {
            println!(
                "{} {:?} -> {}",
                out.dtype(),
                out.shape(),
                args.out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

fn bench(what: BenchWhat) -> ExitCode {
    match what {
        BenchWhat::Pca {
            file,
            rows,
            cols,
            rank,
            decay,
            k,
            methods,
            power_iterations,
            oversampling,
            precision,
            compare,
        } => {
            use eigentechno::engine::pca::{Method, PcaParams, Precision};
            let mut ms = Vec::new();
            for m in &methods {
                match Method::parse(m) {
                    Some(m) => ms.push(m),
                    None => {
                        eprintln!(
                            "error: --methods: unknown method {m:?} (exact, randomized, auto)"
                        );
                        return ExitCode::from(EXIT_CONFIG);
                    }
                }
            }
            let Some(precision) = Precision::parse(&precision) else {
                eprintln!("error: --precision: expected auto, f32 or f64");
                return ExitCode::from(EXIT_CONFIG);
            };
            let reference: Option<std::collections::BTreeMap<String, f64>> = match compare {
                None => None,
                Some(p) => match std::fs::read(&p).map(|b| serde_json::from_slice(&b)) {
                    Ok(Ok(m)) => Some(m),
                    _ => {
                        eprintln!("error: {}: not a JSON object of timings", p.display());
                        return ExitCode::from(EXIT_CONFIG);
                    }
                },
            };
            if !file.exists() {
                eprintln!(
                    "generating {rows} x {cols} float32 (rank {rank}, decay {decay}) -> {}",
                    file.display()
                );
                if let Err(e) =
                    eigentechno::bench::make_pca_matrix(&file, rows, cols, rank, decay, 1)
                {
                    eprintln!("error: {e}");
                    return ExitCode::from(EXIT_FAILED);
                }
            }
            let params = PcaParams {
                power_iterations: power_iterations.unwrap_or(PcaParams::default().power_iterations),
                oversampling,
                precision,
                ..Default::default()
            };
            match eigentechno::bench::pca(&file, k, &ms, &params) {
                Ok(timings) => {
                    for t in &timings {
                        let err = t
                            .max_rel_error
                            .map(|e| format!(", top-{k} max rel error {e:.1e}"))
                            .unwrap_or_default();
                        let vs = reference
                            .as_ref()
                            .and_then(|r| r.get(&t.method))
                            .map(|r| format!(", reference {r:.2} s: {:.2}x faster", r / t.seconds))
                            .unwrap_or_default();
                        println!("{:<11} {:>8.2} s{err}{vs}", t.method, t.seconds);
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(EXIT_FAILED)
                }
            }
        }
        BenchWhat::Ingest { dir, threads } => match eigentechno::bench::ingest(&dir, threads) {
            Ok((n, audio, wall)) => {
                println!(
                    "{n} tracks, {audio:.1} s of audio, ingested in {wall:.2} s: {:.0}x realtime",
                    audio / wall
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_FAILED)
            }
        },
        BenchWhat::Conv {
            compare,
            repeat,
            calibrate,
        } => {
            if calibrate {
                let m = eigentechno::bench::calibrate_conv();
                println!("measured cost model (seconds per unit):\n{m:#?}");
                return ExitCode::SUCCESS;
            }
            let reference = match compare
                .as_ref()
                .map(|p| std::fs::read(p).map(|b| serde_json::from_slice(&b)))
            {
                None => None,
                Some(Ok(Ok(map))) => Some(map),
                Some(Ok(Err(e))) => {
                    eprintln!("error: {}: {e}", compare.unwrap().display());
                    return ExitCode::from(EXIT_CONFIG);
                }
                Some(Err(e)) => {
                    eprintln!("error: {}: {e}", compare.unwrap().display());
                    return ExitCode::from(EXIT_CONFIG);
                }
            };
            let timings = eigentechno::bench::conv_cases(repeat);
            print!(
                "{}",
                eigentechno::bench::report(&timings, reference.as_ref(), "scipy")
            );
            ExitCode::SUCCESS
        }
    }
}

fn tempo(files: &[PathBuf], json: bool) -> ExitCode {
    let opts = RhythmOptions::default();
    let results: Vec<(PathBuf, Result<Option<Rhythm>, eigentechno::Error>)> = files
        .par_iter()
        .map(|f| (f.clone(), analyse_file(f, 8_820, &opts)))
        .collect();
    let mut failed = false;
    if json {
        let list: Vec<serde_json::Value> = results
            .iter()
            .map(|(f, r)| match r {
                Ok(Some(r)) => serde_json::json!({
                    "file": f.display().to_string(),
                    "bpm": r.bpm,
                    "confidence": r.confidence,
                    "runner_up_bpm": r.runner_up_bpm,
                    "beats": r.beats,
                    "downbeats": r.downbeats,
                }),
                Ok(None) => {
                    failed = true;
                    serde_json::json!({"file": f.display().to_string(), "error": "no steady beat found"})
                }
                Err(e) => {
                    failed = true;
                    serde_json::json!({"file": f.display().to_string(), "error": e.to_string()})
                }
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list).expect("json"));
    } else {
        for (f, r) in &results {
            match r {
                Ok(Some(r)) => println!(
                    "{}: {:.2} bpm (confidence {:.2}, runner-up {:.2} bpm), first downbeat {:.3} s, {} beats{}",
                    f.display(),
                    r.bpm,
                    r.confidence,
                    r.runner_up_bpm,
                    r.downbeats.first().copied().unwrap_or(f64::NAN),
                    r.beats.len(),
                    if r.drifting {
                        format!(", tempo drifts ({:.2} bpm)", r.drift)
                    } else {
                        String::new()
                    }
                ),
                Ok(None) => {
                    failed = true;
                    eprintln!("{}: no steady beat found", f.display());
                }
                Err(e) => {
                    failed = true;
                    eprintln!("{e}");
                }
            }
        }
    }
    if failed {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

fn eval_tempo(dir: &Path, json: bool) -> ExitCode {
    let files = match eigentechno::pipeline::stages::list_tracks(dir, true) {
        Ok(t) => t.into_iter().map(|t| t.path).collect::<Vec<_>>(),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let report =
        eigentechno::audio::evaluate::evaluate_files(&files, 8_820, &RhythmOptions::default());
    if report.tracks.is_empty() {
        eprintln!(
            "error: {}: no audio file with an annotation (.json, .bpm, .beats) beside it",
            dir.display()
        );
        return ExitCode::from(EXIT_FAILED);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&report).expect("json"));
    } else {
        print!("{}", report.table());
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            file,
            overrides,
            out,
            threads,
            strict,
            quiet,
        } => run(&file, &overrides, out, threads, strict, quiet),
        Command::Check { file, overrides } => match Pipeline::load(&file, &overrides) {
            Ok(p) => {
                println!("{}: ok, {} stages", file.display(), p.nodes.len());
                for n in &p.nodes {
                    let inputs: Vec<&str> =
                        n.inputs.iter().map(|&i| p.nodes[i].name.as_str()).collect();
                    let from = if inputs.is_empty() {
                        String::new()
                    } else {
                        format!(" <- {}", inputs.join(", "))
                    };
                    println!("  {} ({}, {}){from}", n.name, n.type_name, n.produces);
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_CONFIG)
            }
        },
        Command::Stages { json } => {
            print!("{}", stages_text(&Registry::builtin(), json));
            ExitCode::SUCCESS
        }
        Command::Correlate(args) => conv_command(&args, Op::Correlate),
        Command::Convolve(args) => conv_command(&args, Op::Convolve),
        Command::Bench { what } => bench(what),
        Command::Pca(args) => pca_command(args),
        Command::Corrmatrix {
            input,
            out,
            order,
            clip,
            steps,
        } => corrmatrix_command(&input, &out, &order, clip, steps),
        Command::Explore { dir, open } => explore_command(&dir, open),
        Command::Kernels {
            weights,
            out,
            layout,
            clip,
            max_channels,
            components,
        } => {
            if !(50.0..=100.0).contains(&clip) || max_channels == 0 {
                eprintln!(
                    "error: --clip: expected 50 to 100 (got {clip}); --max-channels: at least 1 (got {max_channels})"
                );
                return ExitCode::from(EXIT_CONFIG);
            }
            let opts = eigentechno::pipeline::stages::KernelOptions {
                layout: eigentechno::store::weights::Layout::parse(&layout).expect("clap checked"),
                clip,
                max_channels,
                components,
            };
            kernels_command(&weights, &out, &opts)
        }
        Command::Ppca {
            what:
                PpcaWhat::Score {
                    matrix,
                    model,
                    out,
                    k,
                },
        } => match eigentechno::pipeline::stages::score_to_npy(&model, k, &matrix, &out) {
            Ok(n) => {
                println!("{n} log-likelihoods -> {}", out.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_FAILED)
            }
        },
        Command::Audition {
            dir,
            component,
            reconstruct,
            k,
            morph,
            mean,
            sample,
            loops,
            play,
        } => {
            let what = match (component, reconstruct, morph, mean, sample) {
                (Some(i), ..) => Audition::Component(i),
                (_, Some(row), ..) => Audition::Reconstruct(row, k.unwrap_or(usize::MAX)),
                (_, _, Some(row), ..) => Audition::Morph(row),
                (_, _, _, true, _) => Audition::Mean,
                (.., Some(n)) => Audition::Sample(n),
                _ => {
                    eprintln!(
                        "error: say what to hear: --component I, --reconstruct ROW --k K, --morph ROW, --mean or --sample N"
                    );
                    return ExitCode::from(EXIT_CONFIG);
                }
            };
            audition(&dir, what, loops, play)
        }
        Command::Tempo { files, json } => tempo(&files, json),
        Command::Ingest {
            dir,
            out,
            bpm,
            rate,
            stretch,
            max_bars_per_track,
            strict,
            threads,
            quiet,
        } => ingest(
            &dir,
            out,
            bpm,
            rate,
            &stretch,
            max_bars_per_track,
            strict,
            threads,
            quiet,
        ),
        Command::EvalTempo { dir, json } => eval_tempo(&dir, json),
        Command::Synth {
            out,
            tracks,
            seed,
            bpm,
            seconds,
            formats,
            rate,
            channels,
            swing,
            drift,
            prefix,
            quiet,
        } => synth(
            &out, tracks, seed, &bpm, seconds, &formats, rate, channels, swing, drift, &prefix,
            quiet,
        ),
    }
}

fn run(
    file: &Path,
    overrides: &[String],
    out: Option<PathBuf>,
    threads: Option<usize>,
    strict: bool,
    quiet: bool,
) -> ExitCode {
    match Pipeline::load(file, overrides) {
        Ok(p) => run_pipeline(p, file, out, threads, strict, quiet),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_CONFIG)
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn ingest(
    dir: &Path,
    out: PathBuf,
    bpm: f64,
    rate: u32,
    stretch: &str,
    max_bars: usize,
    strict: bool,
    threads: Option<usize>,
    quiet: bool,
) -> ExitCode {
    let file = Path::new("pipelines/ingest.toml");
    let overrides = [
        format!(
            "tracks.path={}",
            toml::Value::String(dir.display().to_string())
        ),
        format!("working_rate.rate={rate}"),
        format!("stretch.target_bpm={bpm}"),
        format!("stretch.method=\"{stretch}\""),
        format!("bars.max_bars={max_bars}"),
    ];
    // The built-in copy of pipelines/ingest.toml, so the command works from any folder.
    let pipeline =
        eigentechno::pipeline::RawPipeline::parse(file, eigentechno::pipeline::INGEST_PIPELINE)
            .and_then(|mut raw| {
                for o in &overrides {
                    raw.apply_override(o)?;
                }
                Pipeline::build(raw, &Registry::builtin())
            });
    match pipeline {
        Ok(p) => run_pipeline(p, file, Some(out), threads, strict, quiet),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_CONFIG)
        }
    }
}

fn run_pipeline(
    mut pipeline: Pipeline,
    file: &Path,
    out: Option<PathBuf>,
    threads: Option<usize>,
    strict: bool,
    quiet: bool,
) -> ExitCode {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pipeline".into());
    let out_dir = out
        .or_else(|| pipeline.settings.out.clone())
        .unwrap_or_else(|| PathBuf::from("out").join(stem));
    let threads = threads.unwrap_or(pipeline.settings.threads);
    if threads > 0 {
        // The engine's parallel parts use rayon: give them the same budget.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global();
    }
    let opts = RunOptions {
        out_dir: out_dir.clone(),
        threads,
        strict: strict || pipeline.settings.strict,
        quiet,
    };
    match pipeline::run(&mut pipeline, &opts) {
        Ok(report) => {
            let text = report.summary_text(&out_dir);
            if quiet {
                if report.has_failures() {
                    eprint!("{text}");
                }
            } else {
                print!("{text}");
            }
            if opts.strict && report.has_failures() {
                ExitCode::from(EXIT_FAILED)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

fn stages_text(registry: &Registry, json: bool) -> String {
    use std::fmt::Write;
    if json {
        let list: Vec<serde_json::Value> = registry
            .iter()
            .map(|t| {
                serde_json::json!({
                    "type": t.name(),
                    "about": t.about(),
                    "mode": t.mode().to_string(),
                    "consumes": t.consumes().iter().map(|k| k.to_string()).collect::<Vec<_>>(),
                    "produces": t.produces().to_string(),
                    "params": t.params().iter().map(|p| serde_json::json!({
                        "name": p.name, "type": p.ty.to_string(), "default": p.default, "help": p.help,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        return serde_json::to_string_pretty(&list).expect("json") + "\n";
    }
    let mut s = String::new();
    for t in registry.iter() {
        let consumes = if t.consumes().is_empty() {
            "nothing".to_string()
        } else {
            t.consumes()
                .iter()
                .map(|k| k.to_string())
                .collect::<Vec<_>>()
                .join(" | ")
        };
        let _ = writeln!(
            s,
            "{}  ({}; consumes {consumes}; produces {})",
            t.name(),
            t.mode(),
            t.produces()
        );
        let _ = writeln!(s, "    {}", t.about());
        for p in t.params() {
            let default = p
                .default
                .map(|d| format!("default {d}"))
                .unwrap_or_else(|| "required".into());
            let _ = writeln!(
                s,
                "    {:<12} {:<24} {:<18} {}",
                p.name,
                p.ty.to_string(),
                default,
                p.help
            );
        }
        s.push('\n');
    }
    let _ = writeln!(s, "[pipeline] settings:");
    for p in pipeline::PIPELINE_PARAMS {
        let _ = writeln!(
            s,
            "    {:<12} {:<24} default {:<10} {}",
            p.name,
            p.ty.to_string(),
            p.default.unwrap_or(""),
            p.help
        );
    }
    s
}

fn parse_bpm(s: &str) -> Option<(f64, f64)> {
    match s.split_once("..") {
        Some((a, b)) => Some((a.trim().parse().ok()?, b.trim().parse().ok()?)),
        None => {
            let v: f64 = s.trim().parse().ok()?;
            Some((v, v))
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn synth(
    out: &Path,
    tracks: u64,
    seed: u64,
    bpm: &str,
    seconds: f64,
    formats: &[String],
    rate: u32,
    channels: u16,
    swing: f64,
    drift: f64,
    prefix: &str,
    quiet: bool,
) -> ExitCode {
    let Some((bpm_min, bpm_max)) = parse_bpm(bpm) else {
        eprintln!("error: --bpm expects MIN..MAX or a number, got '{bpm}'");
        return ExitCode::from(EXIT_CONFIG);
    };
    let mut fmts = Vec::new();
    for f in formats {
        match SynthFormat::parse(f) {
            Some(x) => fmts.push(x),
            None => {
                eprintln!("error: --formats: unknown format '{f}' (expected wav, flac)");
                return ExitCode::from(EXIT_CONFIG);
            }
        }
    }
    let params = SynthParams {
        bpm_min,
        bpm_max,
        seconds,
        rate,
        channels,
        swing_share: swing,
        drift_share: drift,
    };
    if let Err(e) = params.validate() {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_CONFIG);
    }
    let bar = if quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(tracks)
    };
    let result: Result<Vec<PathBuf>, eigentechno::Error> = (0..tracks)
        .into_par_iter()
        .map(|i| {
            let t = synth_track(seed, i, &params);
            let fmt = fmts[(i as usize) % fmts.len()];
            let path = write_synth_track(out, &format!("{prefix}-{i:04}"), fmt, &t);
            bar.inc(1);
            path
        })
        .collect();
    bar.finish_and_clear();
    match result {
        Ok(paths) => {
            if !quiet {
                println!(
                    "{} tracks with annotations (.json) in {}",
                    paths.len(),
                    out.display()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_FAILED)
        }
    }
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
    #[arg(long, default_value = "auto", value_parser = ["auto", "exact", "randomized"])]
    method: String,
    /// Apply Isik's equalisation before PCA (undone for listening).
    #[arg(long)]
    equalize: bool,
    /// Arithmetic precision: auto, f32, f64.
    #[arg(long, default_value = "auto", value_parser = ["auto", "f32", "f64"])]
    precision: String,
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

/// The bars' rate from `report.json` beside the matrix (written by the `matrix` stage).
fn rate_beside(matrix: &Path) -> Option<u32> {
    let report = matrix.parent()?.join("report.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(report).ok()?).ok()?;
    v.get("rate")?.as_u64().map(|r| r as u32)
}

fn pca_command(a: PcaArgs) -> ExitCode {
    use eigentechno::engine::pca::{Method, PcaParams, Precision};
    use eigentechno::pipeline::stages::{
        FigureOptions, PcaJob, figures_to_dir, fit_to_dir, listen_to_dir,
    };
    let job = PcaJob {
        params: PcaParams {
            k: a.k,
            method: Method::parse(&a.method).expect("clap checked"),
            precision: Precision::parse(&a.precision).expect("clap checked"),
            drop_nonfinite: a.drop_nonfinite,
            ..Default::default()
        },
        equalize: a.equalize,
        rate: a.rate.or_else(|| rate_beside(&a.matrix)),
    };
    let csv = a.matrix.with_file_name("bars.csv");
    let csv = csv.exists().then_some(csv);
    let result = (|| -> eigentechno::Result<()> {
        let (meta, _) = fit_to_dir(&a.matrix, csv.as_deref(), &a.out, &job)?;
        println!(
            "{} x {}: {} components by the {} method ({}, {}) in {:.2} s; first explains {:.1} %",
            meta.n_samples,
            meta.n_features,
            meta.k,
            meta.method,
            meta.method_reason,
            meta.precision,
            meta.seconds,
            100.0
                * std::fs::read_to_string(a.out.join("explained_variance.csv"))
                    .ok()
                    .and_then(|t| t
                        .lines()
                        .nth(1)
                        .and_then(|l| l.split(',').nth(2))
                        .and_then(|r| r.parse::<f64>().ok()))
                    .unwrap_or(0.0)
        );
        println!("  model:   {}", a.out.display());
        if !a.model_only {
            let listen = a.out.join("listen");
            let n = listen_to_dir(&a.out, &listen, &Default::default())?.len();
            println!("  listen:  {} ({n} WAV files)", listen.display());
            let figures = a.out.join("figures");
            let n = figures_to_dir(&a.out, &figures, &FigureOptions::default())?.len();
            println!("  figures: {} ({n} PNG files)", figures.display());
        }
        Ok(())
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

enum Audition {
    Component(usize),
    Reconstruct(usize, usize),
    Morph(usize),
    Mean,
    Sample(usize),
}

fn audition(dir: &Path, what: Audition, loops: usize, play: bool) -> ExitCode {
    use eigentechno::audio::listen::{Listener, looped};
    let result = (|| -> eigentechno::Result<PathBuf> {
        let (model, meta) = eigentechno::store::pca_model::load_model(dir)?;
        let l = Listener::new(&model, &meta, dir)?;
        let (name, samples) = match what {
            Audition::Component(i) => (
                format!("component_{i:03}.wav"),
                looped(&l.component(i)?, loops),
            ),
            Audition::Reconstruct(row, k) => {
                let k = k.min(model.k());
                (
                    format!("row_{row:06}_k_{k:05}.wav"),
                    looped(&l.reconstruction(row, k)?, loops),
                )
            }
            Audition::Morph(row) => (format!("morph_{row:06}.wav"), l.morph(row, 32)?),
            Audition::Mean => ("mean.wav".to_string(), looped(&l.mean(), loops)),
            Audition::Sample(n) => {
                let m = eigentechno::pipeline::stages::PpcaModel::open(dir, 0)?;
                let bars = eigentechno::pipeline::stages::sample_bars(&m, n + 1, false, 0);
                (format!("sample_{n:03}.wav"), looped(&bars[n], loops))
            }
        };
        l.write(&dir.join("audition").join(name), &samples)
    })();
    let path = match result {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    println!("{}", path.display());
    if play {
        return play_file(&path);
    }
    ExitCode::SUCCESS
}

#[cfg(feature = "playback")]
fn play_file(path: &Path) -> ExitCode {
    let played = (|| -> Result<(), String> {
        let mut reader = hound::WavReader::open(path).map_err(|e| e.to_string())?;
        let spec = reader.spec();
        let samples: Vec<f32> = reader
            .samples::<i16>()
            .map(|s| s.map(|v| v as f32 / 32768.0))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        let seconds = samples.len() as f64 / spec.sample_rate as f64;
        let sink = rodio::DeviceSinkBuilder::open_default_sink().map_err(|e| e.to_string())?;
        let source = rodio::buffer::SamplesBuffer::new(
            std::num::NonZeroU16::new(spec.channels).ok_or("no channels")?,
            std::num::NonZeroU32::new(spec.sample_rate).ok_or("zero rate")?,
            samples,
        );
        sink.mixer().add(source);
        std::thread::sleep(std::time::Duration::from_secs_f64(seconds + 0.2));
        Ok(())
    })();
    match played {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: playing {}: {e}", path.display());
            ExitCode::from(EXIT_FAILED)
        }
    }
}

#[cfg(not(feature = "playback"))]
fn play_file(path: &Path) -> ExitCode {
    eprintln!(
        "this eigentechno was built without playback; the WAV is at {}. To play from here, install the ALSA headers \
         (Debian: apt install libasound2-dev pkg-config) and build with `cargo build --release --features playback`.",
        path.display()
    );
    ExitCode::from(EXIT_CONFIG)
}

fn explore_command(dir: &Path, open: bool) -> ExitCode {
    let page =
        match eigentechno::explore::write_explorer(dir, eigentechno::explore::Moment::Afterwards) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_FAILED);
            }
        };
    println!("{}", page.display());
    if open {
        // The platform's own opener; nothing is bundled.
        let (cmd, args): (&str, Vec<&std::ffi::OsStr>) = if cfg!(target_os = "macos") {
            ("open", vec![page.as_os_str()])
        } else if cfg!(windows) {
            (
                "cmd",
                vec![
                    "/C".as_ref(),
                    "start".as_ref(),
                    "".as_ref(),
                    page.as_os_str(),
                ],
            )
        } else {
            ("xdg-open", vec![page.as_os_str()])
        };
        match std::process::Command::new(cmd).args(&args).status() {
            Ok(s) if s.success() => {}
            Ok(s) => {
                eprintln!(
                    "error: {cmd} exited with {s}; open {} yourself",
                    page.display()
                );
                return ExitCode::from(EXIT_FAILED);
            }
            Err(e) => {
                eprintln!(
                    "error: could not start {cmd} ({e}); open {} yourself",
                    page.display()
                );
                return ExitCode::from(EXIT_FAILED);
            }
        }
    }
    ExitCode::SUCCESS
}

fn kernels_command(
    weights: &Path,
    out: &Path,
    opts: &eigentechno::pipeline::stages::KernelOptions,
) -> ExitCode {
    match eigentechno::pipeline::stages::kernels_of_file(weights, out, opts) {
        Ok(report) => {
            println!(
                "{}: {} conv layers ({:?})",
                weights.display(),
                report.layers.len(),
                report.format
            );
            for l in &report.layers {
                let guessed = if l.layout_guessed { ", guessed" } else { "" };
                println!(
                    "  {:>2} {:<40} {:?} ({}{guessed}) {} x {} x {}x{}{}",
                    l.index,
                    l.name,
                    l.stored_shape,
                    l.layout,
                    l.out_channels,
                    l.in_channels,
                    l.kernel[0],
                    l.kernel[1],
                    if l.groups > 1 {
                        format!(", {} groups", l.groups)
                    } else {
                        String::new()
                    }
                );
            }
            if !report.skipped.is_empty() {
                println!("  passed over: {}", report.skipped.len());
            }
            println!("figures in {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

fn corrmatrix_command(input: &Path, out: &Path, order: &str, clip: f64, steps: bool) -> ExitCode {
    if !(50.0..=100.0).contains(&clip) {
        eprintln!("error: --clip: expected 50 to 100, got {clip}");
        return ExitCode::from(EXIT_CONFIG);
    }
    let opts = eigentechno::pipeline::stages::CorrOptions {
        order: eigentechno::engine::corr::Ordering::parse(order).expect("clap checked"),
        clip,
        steps,
        max_columns: 0,
    };
    match eigentechno::pipeline::stages::corrmatrix_of_file(input, out, &opts) {
        Ok((report, files)) => {
            if !report.constant_columns.is_empty() {
                eprintln!(
                    "warning: {}: columns {:?} are constant: their correlations are undefined and drawn grey",
                    input.display(),
                    report.constant_columns
                );
            }
            println!(
                "{} features from {} rows, {} order, limits +-{:.3}",
                report.features, report.rows, report.ordering, report.limits[1]
            );
            for f in files {
                println!("  {}", f.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}
