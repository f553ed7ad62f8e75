//! Benchmarks behind `eigentechno bench`: fixed shapes, median wall times, and ratios
//! against reference tools timed on the same shapes (their timings come from the
//! scripts under `benches/`, as JSON).

use std::collections::BTreeMap;
use std::time::Instant;

use ndarray::Array2;

use crate::engine::Rng;
use crate::engine::conv::{CostModel, FftConvolver, Method, Mode, Op, correlate, correlate2d};

/// One timed case.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Timing {
    /// Case name (shared with the reference script).
    pub case: String,
    /// Median seconds.
    pub seconds: f64,
    /// The method `auto` chose.
    pub method: String,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time<F: FnMut()>(repeat: usize, mut f: F) -> f64 {
    f(); // warm-up: plans, buffers, page faults
    median(
        (0..repeat.max(1))
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

fn noise(n: usize, seed: u64) -> Vec<f64> {
    let mut r = Rng::new(seed);
    (0..n).map(|_| r.normal()).collect()
}

/// The correlation cases of the engine's acceptance (scipy `correlate(a, b, 'full', 'auto')`
/// on float64): 1-D 1M x 1M, 1M x 1k, 1M x 64; 2-D 1024x1024 with 3x3, 15x15, 64x64.
pub fn conv_cases(repeat: usize) -> Vec<Timing> {
    let mut out = Vec::new();
    let big = noise(1 << 20, 1);
    for (name, m) in [
        ("1d_1M_x_1M", 1usize << 20),
        ("1d_1M_x_1k", 1000),
        ("1d_1M_x_64", 64),
    ] {
        let k = noise(m, 2);
        let method = crate::engine::conv::choose_method(&[big.len()], &[m], Mode::Full);
        let seconds = time(repeat, || {
            std::hint::black_box(correlate(&big, &k, Mode::Full, Method::Auto).unwrap());
        });
        out.push(Timing {
            case: name.into(),
            seconds,
            method: method.to_string(),
        });
    }
    let img = Array2::from_shape_vec((1024, 1024), noise(1 << 20, 3)).unwrap();
    for (name, k) in [
        ("2d_1024_x_3", 3usize),
        ("2d_1024_x_15", 15),
        ("2d_1024_x_64", 64),
    ] {
        let kernel = Array2::from_shape_vec((k, k), noise(k * k, 4)).unwrap();
        let method = crate::engine::conv::choose_method(&[1024, 1024], &[k, k], Mode::Full);
        let seconds = time(repeat, || {
            std::hint::black_box(
                correlate2d(img.view(), kernel.view(), Mode::Full, Method::Auto).unwrap(),
            );
        });
        out.push(Timing {
            case: name.into(),
            seconds,
            method: method.to_string(),
        });
    }
    out
}

/// Measure the constants of the [`CostModel`] on this machine: time the direct and FFT
/// paths on sizes where each dominates and divide by their operation counts.
pub fn calibrate_conv() -> CostModel {
    let base = CostModel::default();
    let per_unit = |s1: &[usize], s2: &[usize], method: Method| -> f64 {
        let probe = CostModel {
            direct_1d: 1.0,
            direct_2d: 1.0,
            fft_1d: 1.0,
            fft_2d: 1.0,
            fft_overhead: 0.0,
        };
        let (d_ops, f_ops) = probe.estimate(s1, s2, Mode::Full);
        let secs = if s1.len() == 1 {
            let x = noise(s1[0], 5);
            let k = noise(s2[0], 6);
            time(5, || {
                std::hint::black_box(correlate(&x, &k, Mode::Full, method).unwrap());
            })
        } else {
            let x = Array2::from_shape_vec((s1[0], s1[1]), noise(s1[0] * s1[1], 7)).unwrap();
            let k = Array2::from_shape_vec((s2[0], s2[1]), noise(s2[0] * s2[1], 8)).unwrap();
            time(5, || {
                std::hint::black_box(correlate2d(x.view(), k.view(), Mode::Full, method).unwrap());
            })
        };
        secs / if method == Method::Direct {
            d_ops
        } else {
            f_ops
        }
    };
    let direct_1d = median(vec![
        per_unit(&[200_000], &[64], Method::Direct),
        per_unit(&[100_000], &[256], Method::Direct),
    ]);
    let fft_1d = median(vec![
        per_unit(&[200_000], &[200_000], Method::Fft),
        per_unit(&[1 << 20], &[5_000], Method::Fft),
    ]);
    let direct_2d = median(vec![
        per_unit(&[512, 512], &[5, 5], Method::Direct),
        per_unit(&[256, 256], &[15, 15], Method::Direct),
    ]);
    let fft_2d = median(vec![
        per_unit(&[512, 512], &[32, 32], Method::Fft),
        per_unit(&[256, 256], &[64, 64], Method::Fft),
    ]);
    // Fixed overhead: a tiny FFT problem.
    let mut conv = FftConvolver::<f64>::new();
    let mut out = vec![0.0; 15];
    let fft_overhead = time(200, || {
        conv.process(&[1.0; 8], &[1.0; 8], Op::Correlate, Mode::Full, &mut out)
            .unwrap();
    });
    CostModel {
        direct_1d,
        direct_2d,
        fft_1d,
        fft_2d,
        fft_overhead: fft_overhead.max(base.fft_overhead * 0.0),
    }
}

/// A table of our timings, with ratios when reference timings (case -> seconds) are given.
pub fn report(
    ours: &[Timing],
    reference: Option<&BTreeMap<String, f64>>,
    reference_name: &str,
) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<16} {:>8} {:>12} {:>14} {:>10}",
        "case",
        "method",
        "ours (ms)",
        &format!("{reference_name} (ms)"),
        "speed-up"
    );
    for t in ours {
        let r = reference.and_then(|r| r.get(&t.case)).copied();
        let _ = writeln!(
            s,
            "{:<16} {:>8} {:>12.2} {:>14} {:>10}",
            t.case,
            t.method,
            t.seconds * 1e3,
            r.map(|r| format!("{:.2}", r * 1e3))
                .unwrap_or_else(|| "-".into()),
            r.map(|r| format!("{:.2}x", r / t.seconds))
                .unwrap_or_else(|| "-".into()),
        );
    }
    s
}

/// Whole ingest (decode, resample, tempo, beats, downbeats, bars, stretch, matrix) of a
/// folder with the built-in `pipelines/ingest.toml`, into a temporary folder.
/// Returns (tracks, seconds of audio, wall seconds).
pub fn ingest(dir: &std::path::Path, threads: usize) -> crate::Result<(usize, f64, f64)> {
    let tracks = crate::ops::list_tracks(dir, true)?;
    let mut audio_seconds = 0.0;
    for t in &tracks {
        if let Ok(s) =
            crate::audio::DecodeStream::open(&t.path, &Default::default(), Default::default())
        {
            let i = s.info();
            audio_seconds += i.frames.unwrap_or(0) as f64 / i.rate as f64;
        }
    }
    let opts = crate::ops::IngestParams {
        threads,
        progress: false,
        ..Default::default()
    }
    .check()?;
    let out = tempfile::tempdir().map_err(|e| crate::Error::io(std::path::Path::new("."), e))?;
    let start = Instant::now();
    crate::ops::ingest_to_dir(&crate::ops::TrackInput::path(dir), out.path(), &opts)?;
    Ok((tracks.len(), audio_seconds, start.elapsed().as_secs_f64()))
}

/// A synthetic bar-like matrix for the PCA benchmarks: `rows x cols` float32, rank-`rank`
/// signal whose singular values decay as `(1 + j)^-decay` (the shape measured on real
/// bar matrices), plus isotropic noise at `noise` times the smallest signal value, and a
/// non-zero column mean. Written row by row to `path`, so any shape fits.
pub fn make_pca_matrix(
    path: &std::path::Path,
    rows: usize,
    cols: usize,
    rank: usize,
    decay: f64,
    seed: u64,
) -> crate::Result<()> {
    use rayon::prelude::*;
    let rank = rank.min(rows).min(cols);
    // Right factor: rank x cols Gaussian rows scaled by the spectrum.
    let basis: Vec<f32> = (0..rank)
        .into_par_iter()
        .flat_map_iter(|j| {
            let mut r = Rng::for_item(seed, j as u64);
            let s = (1.0 + j as f64).powf(-decay) * 100.0;
            (0..cols)
                .map(|_| (r.normal() * s / (cols as f64).sqrt()) as f32)
                .collect::<Vec<_>>()
        })
        .collect();
    let floor = (rank as f64).powf(-decay) * 100.0 * 0.05 / (cols as f64).sqrt();
    let mean: Vec<f32> = (0..cols)
        .map(|c| (0.01 * (c as f64 * 0.01).sin()) as f32)
        .collect();
    let mut w = crate::store::NpyRowWriter::create(path, cols)?;
    let chunk = 256;
    for start in (0..rows).step_by(chunk) {
        let block: Vec<Vec<f32>> = (start..(start + chunk).min(rows))
            .into_par_iter()
            .map(|i| {
                let mut r = Rng::for_item(seed ^ 0xABCD, i as u64);
                let a: Vec<f32> = (0..rank).map(|_| r.normal() as f32).collect();
                let mut row: Vec<f32> = (0..cols)
                    .map(|c| mean[c] + (r.normal() * floor) as f32)
                    .collect();
                for (j, &aj) in a.iter().enumerate() {
                    let b = &basis[j * cols..(j + 1) * cols];
                    for (x, &bv) in row.iter_mut().zip(b) {
                        *x += aj * bv;
                    }
                }
                row
            })
            .collect();
        for row in &block {
            w.push(row)?;
        }
    }
    w.finish()?;
    Ok(())
}

/// One PCA benchmark result.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PcaTiming {
    /// `exact` or `randomized`.
    pub method: String,
    /// Wall seconds of the fit, reading the `.npy` file included.
    pub seconds: f64,
    /// Largest relative error of the top-k singular values against a float64 exact fit.
    pub max_rel_error: Option<f64>,
    /// The fitted singular values.
    #[serde(skip)]
    pub singular_values: Vec<f64>,
    /// Power iterations run (randomized; 0 for exact).
    pub power_iterations: usize,
}

/// Time `methods` on the matrix file, k components, each once (the data is big).
pub fn pca(
    path: &std::path::Path,
    k: usize,
    methods: &[crate::engine::pca::Method],
    params: &crate::engine::pca::PcaParams,
) -> crate::Result<Vec<PcaTiming>> {
    use crate::engine::pca::{Method, PcaParams, RowSource};
    let m = crate::store::NpyMatrix::open(path)?;
    let mut out: Vec<PcaTiming> = Vec::new();
    for &method in methods {
        let p = PcaParams {
            k: Some(k),
            method,
            ..params.clone()
        };
        let start = Instant::now();
        let fit = p.check(&m)?.fit(&m)?;
        let seconds = start.elapsed().as_secs_f64();
        out.push(PcaTiming {
            method: method.to_string(),
            seconds,
            max_rel_error: None,
            singular_values: fit.model.singular_values,
            power_iterations: fit.power_iterations,
        });
    }
    // Errors against float64 exact singular values (the float32 exact fit is itself
    // off by ~1e-4 in the tail); too big for that, against the timed exact fit.
    let (n, d) = (m.nrows() as f64, m.ncols() as f64);
    let reference = if n * d * n.min(d) <= 1e12 {
        let p = PcaParams {
            k: Some(k),
            method: Method::Exact,
            precision: crate::engine::pca::Precision::F64,
            ..params.clone()
        };
        Some(p.check(&m)?.fit(&m)?.model.singular_values)
    } else {
        out.iter()
            .find(|t| t.method == Method::Exact.to_string())
            .map(|t| t.singular_values.clone())
    };
    if let Some(exact) = reference {
        for t in &mut out {
            t.max_rel_error = Some(
                t.singular_values
                    .iter()
                    .zip(&exact)
                    .map(|(a, b)| (a - b).abs() / b)
                    .fold(0.0, f64::max),
            );
        }
    }
    Ok(out)
}

/// select-k against the pca stage on one matrix ([`select_k`]).
#[derive(Clone, Debug, serde::Serialize)]
pub struct SelectKTiming {
    /// Rows and columns of the matrix.
    pub shape: (usize, usize),
    /// Candidate ks scored and the largest.
    pub candidates: usize,
    /// The largest candidate k.
    pub kmax: usize,
    /// The k select-k chose.
    pub best_k: usize,
    /// Median wall seconds of select-k (`ops::select_k_to_dir`, default settings).
    pub select_k: f64,
    /// Median wall seconds of the pca stage's fit (`ops::fit_to_dir`, every component,
    /// exact, as `pipelines/eigentechno.toml`).
    pub pca: f64,
}

/// Time select-k and the default pipeline's pca stage on the `.npy` matrix at `path`,
/// each writing its files into a temporary folder, reading the file included: one
/// warm-up run, then the median of `repeat` runs.
pub fn select_k(path: &std::path::Path, repeat: usize) -> crate::Result<SelectKTiming> {
    use crate::engine::pca::RowSource;
    let shape = {
        let m = crate::store::NpyMatrix::open(path)?;
        (m.nrows(), m.ncols())
    };
    let out = tempfile::tempdir().map_err(|e| crate::Error::io(std::path::Path::new("."), e))?;
    let sk_opts = crate::ops::SelectKParams::default().check()?;
    let pca_job = crate::ops::PcaJobParams::default().check()?;
    let timed = |f: &mut dyn FnMut() -> crate::Result<()>| -> crate::Result<f64> {
        f()?;
        let mut v = Vec::new();
        for _ in 0..repeat.max(1) {
            let t = Instant::now();
            f()?;
            v.push(t.elapsed().as_secs_f64());
        }
        Ok(median(v))
    };
    let mut found = None;
    let select_k = timed(&mut || {
        found = Some(crate::ops::select_k_to_dir(path, &out.path().join("select_k"), &sk_opts)?.0);
        Ok(())
    })?;
    let pca = timed(&mut || {
        crate::ops::fit_to_dir(path, None, &out.path().join("pca"), &pca_job).map(|_| ())
    })?;
    let found = found.expect("select-k ran");
    Ok(SelectKTiming {
        shape,
        candidates: found.curve.len(),
        kmax: found.curve.last().map(|c| c.0).unwrap_or(0),
        best_k: found.best_k,
        select_k,
        pca,
    })
}
