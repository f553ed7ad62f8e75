//! `bench`: time the engine and the ingest, against reference timings.

use std::path::PathBuf;

use clap::Subcommand;

use super::{Outcome, usage};
use eigentechno::engine::pca::{Method, PcaParams, Precision};

#[derive(Subcommand)]
pub enum BenchWhat {
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
        #[arg(
            long,
            value_enum,
            default_value = "exact,randomized",
            value_delimiter = ','
        )]
        methods: Vec<Method>,
        /// Randomized: power iterations, all run (default: until the top k singular values
        /// settle to 1e-5, at most 12).
        #[arg(long)]
        power_iterations: Option<usize>,
        /// Randomized: oversampling (default max(16, k / 4)).
        #[arg(long)]
        oversampling: Option<usize>,
        /// Arithmetic precision: auto, f32, f64.
        #[arg(long, value_enum, default_value = "auto")]
        precision: Precision,
        /// Reference timings (JSON {method: seconds}, from benches/pca_sklearn.py).
        #[arg(long)]
        compare: Option<PathBuf>,
    },
    /// select-k (default settings) against the default pipeline's pca stage (every
    /// component, exact) on the same float32 .npy matrix, e.g. OUT/matrix/bars.npy of a
    /// run: median wall times, files read and written included, and select-k's time as a
    /// share of the pca stage's.
    SelectK {
        /// The bar matrix.
        file: PathBuf,
        /// Timed runs of each after one warm-up (median reported).
        #[arg(long, default_value_t = 3)]
        repeat: usize,
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
    /// de Bruijn sequences over the ten digits, written as text to a file in DIR (default:
    /// the system's temporary folder) by each algorithm: median wall time and symbols
    /// per second, the file's fsync included.
    Debruijn {
        /// The code length n (10^n + n - 1 symbols).
        #[arg(long, default_value_t = 8)]
        order: usize,
        /// Timed runs of each algorithm (median reported).
        #[arg(long, default_value_t = 3)]
        repeat: usize,
        /// Where to write the (deleted) files.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Reference seconds to compare with (e.g. benches/debruijn_reference.py's fkm).
        #[arg(long, value_name = "SECONDS")]
        reference: Option<f64>,
    },
}

/// A JSON object of reference timings.
fn reference_timings(
    path: Option<PathBuf>,
) -> Result<Option<std::collections::BTreeMap<String, f64>>, super::Failure> {
    let Some(p) = path else { return Ok(None) };
    let bytes = std::fs::read(&p).map_err(|e| usage(format!("{}: {e}", p.display())))?;
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        usage(format!(
            "{}: not a JSON object of timings ({e})",
            p.display()
        ))
    })
}

pub fn bench(what: BenchWhat) -> Outcome {
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
            let reference = reference_timings(compare)?;
            if !file.exists() {
                eprintln!(
                    "generating {rows} x {cols} float32 (rank {rank}, decay {decay}) -> {}",
                    file.display()
                );
                eigentechno::bench::make_pca_matrix(&file, rows, cols, rank, decay, 1)?;
            }
            // A count asked for is run in full; none: the adaptive default.
            let params = PcaParams {
                power_iterations: power_iterations.unwrap_or(PcaParams::default().power_iterations),
                tolerance: if power_iterations.is_some() {
                    0.0
                } else {
                    PcaParams::default().tolerance
                },
                oversampling,
                precision,
                ..Default::default()
            };
            for t in &eigentechno::bench::pca(&file, k, &methods, &params)? {
                let err = t
                    .max_rel_error
                    .map(|e| format!(", top-{k} max rel error {e:.1e}"))
                    .unwrap_or_default();
                let vs = reference
                    .as_ref()
                    .and_then(|r| r.get(&t.method))
                    .map(|r| format!(", reference {r:.2} s: {:.2}x faster", r / t.seconds))
                    .unwrap_or_default();
                let q = if t.method == "randomized" {
                    format!(", {} power iterations", t.power_iterations)
                } else {
                    String::new()
                };
                println!("{:<11} {:>8.2} s{q}{err}{vs}", t.method, t.seconds);
            }
            Ok(())
        }
        BenchWhat::SelectK { file, repeat } => {
            let t = eigentechno::bench::select_k(&file, repeat)?;
            println!(
                "{} x {} matrix, {} candidate ks up to {}, best k {}",
                t.shape.0, t.shape.1, t.candidates, t.kmax, t.best_k
            );
            println!("select-k    {:>8.2} s", t.select_k);
            println!("pca (exact) {:>8.2} s", t.pca);
            println!("select-k / pca: {:.2}", t.select_k / t.pca);
            Ok(())
        }
        BenchWhat::Ingest { dir, threads } => {
            let (n, audio, wall) = eigentechno::bench::ingest(&dir, threads)?;
            println!(
                "{n} tracks, {audio:.1} s of audio, ingested in {wall:.2} s: {:.0}x realtime",
                audio / wall
            );
            Ok(())
        }
        BenchWhat::Debruijn {
            order,
            repeat,
            dir,
            reference,
        } => {
            use eigentechno::engine::debruijn::Algorithm;
            use eigentechno::ops::{DeBruijnJobParams, thousands};
            let dir = match dir {
                Some(d) => d,
                None => std::env::temp_dir(),
            };
            let out = dir.join(format!(
                ".eigentechno-bench-debruijn-{}.txt",
                std::process::id()
            ));
            for algorithm in [Algorithm::Lyndon, Algorithm::Euler] {
                let job = DeBruijnJobParams {
                    order,
                    algorithm,
                    ..Default::default()
                }
                .check()
                .map_err(usage)?;
                let mut times = Vec::new();
                for _ in 0..repeat.max(1) {
                    let t = std::time::Instant::now();
                    job.write_text(Some(&out), false, &mut |_| {})?;
                    times.push(t.elapsed().as_secs_f64());
                }
                let _ = std::fs::remove_file(&out);
                times.sort_by(f64::total_cmp);
                let median = times[times.len() / 2];
                let vs = reference
                    .map(|r| format!(", reference {r:.2} s: {:.0}x faster", r / median))
                    .unwrap_or_default();
                println!(
                    "{:<7} 10^{order}: {} symbols in {median:.3} s ({:.0} M symbols/s){vs}",
                    eigentechno::ops::Choice::name(algorithm),
                    thousands(job.len()),
                    job.len() as f64 / median / 1e6
                );
            }
            Ok(())
        }
        BenchWhat::Conv {
            compare,
            repeat,
            calibrate,
        } => {
            if calibrate {
                let m = eigentechno::bench::calibrate_conv();
                println!("measured cost model (seconds per unit):\n{m:#?}");
                return Ok(());
            }
            let reference = reference_timings(compare)?;
            let timings = eigentechno::bench::conv_cases(repeat);
            print!(
                "{}",
                eigentechno::bench::report(&timings, reference.as_ref(), "scipy")
            );
            Ok(())
        }
    }
}
