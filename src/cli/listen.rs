//! `pca`, `ppca score`, `audition` and `explore`.

use std::path::{Path, PathBuf};

use super::{Failure, Outcome, usage};
use eigentechno::engine::pca::PcaParams;
use eigentechno::ops::{self, Audition, PcaJobParams};
use eigentechno::store::tables::{VarianceRow, read_table};

pub fn pca(a: crate::PcaArgs) -> Outcome {
    let job = PcaJobParams {
        params: PcaParams {
            k: a.k,
            method: a.method,
            precision: a.precision,
            drop_nonfinite: a.drop_nonfinite,
            ..Default::default()
        },
        equalize: a.equalize,
        rate: a.rate.or_else(|| rate_beside(&a.matrix)),
    }
    .check()
    .map_err(usage)?;
    let csv = a.matrix.with_file_name("bars.csv");
    let csv = csv.exists().then_some(csv);
    let (meta, _) = ops::fit_to_dir(&a.matrix, csv.as_deref(), &a.out, &job)?;
    let variance: Vec<VarianceRow> = read_table(&a.out.join("explained_variance.csv"))?;
    println!(
        "{} x {}: {} components by the {} method ({}, {}) in {:.2} s; first explains {:.1} %",
        meta.n_samples,
        meta.n_features,
        meta.k,
        meta.method,
        meta.method_reason,
        meta.precision,
        meta.seconds,
        100.0 * variance.first().map_or(0.0, |v| v.ratio)
    );
    println!("  model:   {}", a.out.display());
    if !a.model_only {
        let listen = a.out.join("listen");
        let n = ops::listen_to_dir(&a.out, &listen, &Default::default())?.len();
        println!("  listen:  {} ({n} WAV files)", listen.display());
        let figures = a.out.join("figures");
        let n = ops::figures_to_dir(&a.out, &figures, &Default::default())?.len();
        println!("  figures: {} ({n} PNG files)", figures.display());
    }
    Ok(())
}

/// The bars' rate from `report.json` beside the matrix (written by the `matrix` stage).
fn rate_beside(matrix: &Path) -> Option<u32> {
    let report = matrix.parent()?.join("report.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(report).ok()?).ok()?;
    v.get("rate")?.as_u64().map(|r| r as u32)
}

pub fn ppca_score(matrix: &Path, model: &Path, out: &Path, k: usize) -> Outcome {
    let n = ops::score_to_npy(model, k, matrix, out)?;
    println!("{n} log-likelihoods -> {}", out.display());
    Ok(())
}

#[derive(clap::Args)]
pub struct AuditionArgs {
    /// The model folder (`eigentechno pca --out DIR`, or OUT/pca of a pipeline run).
    dir: PathBuf,
    /// Component N, numbered from 1 as in every file name and figure (1 is the
    /// first, the one explaining the most variance), peak-normalised.
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
    /// Bar N drawn from the model read as a Gaussian (probabilistic PCA; seed 0, the
    /// model's default k).
    #[arg(long, group = "what")]
    sample: Option<usize>,
    /// A loop tour: the first N components (or the N bars of --rows), one bar each,
    /// in de Bruijn order so that every ordered pair is heard once as a transition
    /// (N^2 + 1 bars at --order 2). Writes DIR/audition/tour.wav and tour.json.
    #[arg(long, group = "what", value_name = "N")]
    tour: Option<usize>,
    /// The bars (matrix rows) of --tour, as stored, comma-separated: N of them.
    #[arg(long, value_delimiter = ',', requires = "tour")]
    rows: Vec<usize>,
    /// The de Bruijn order of --tour: 2 hears every pair of loops, 3 every triple.
    #[arg(long, default_value_t = 2)]
    order: usize,
    /// Repetitions of the bar.
    #[arg(long, default_value_t = 4)]
    loops: usize,
    /// Play it (build with `--features playback`).
    #[arg(long)]
    play: bool,
}

pub fn audition(a: AuditionArgs) -> Outcome {
    if let Some(n) = a.tour {
        let of = if a.rows.is_empty() {
            ops::TourOf::Components(n)
        } else if a.rows.len() == n {
            ops::TourOf::Rows(a.rows.clone())
        } else {
            return Err(usage(format!(
                "--tour {n} with --rows naming {} bars: give N rows for a tour of N",
                a.rows.len()
            )));
        };
        let tour = ops::audition_tour(&a.dir, &of, a.order)?;
        eprintln!(
            "{} bars in de Bruijn order (order {}); bar order in {}",
            tour.order.len(),
            a.order,
            tour.json.display()
        );
        println!("{}", tour.wav.display());
        if a.play {
            play_file(&tour.wav)?;
        }
        return Ok(());
    }
    let what = match (a.component, a.reconstruct, a.morph, a.mean, a.sample) {
        (Some(i), ..) => Audition::Component(i),
        (_, Some(row), ..) => Audition::Reconstruct {
            row,
            k: a.k.unwrap_or(usize::MAX),
        },
        (_, _, Some(row), ..) => Audition::Morph(row),
        (_, _, _, true, _) => Audition::Mean,
        (.., Some(n)) => Audition::Sample(n),
        _ => {
            return Err(usage(
                "say what to hear: --component N (from 1), --reconstruct ROW --k K, --morph ROW, --mean, --sample N or --tour N",
            ));
        }
    };
    let path = ops::audition(&a.dir, what, a.loops)?;
    println!("{}", path.display());
    if a.play {
        play_file(&path)?;
    }
    Ok(())
}

#[cfg(feature = "playback")]
fn play_file(path: &Path) -> Outcome {
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
    played.map_err(|e| Failure::Failed(format!("playing {}: {e}", path.display())))
}

#[cfg(not(feature = "playback"))]
fn play_file(path: &Path) -> Outcome {
    Err(Failure::Usage(format!(
        "this eigentechno was built without playback; the WAV is at {}. To play from here, install the ALSA headers \
         (Debian: apt install libasound2-dev pkg-config) and build with `cargo build --release --features playback`.",
        path.display()
    )))
}

pub fn explore(dir: &Path, open: bool) -> Outcome {
    let page = ops::explore(dir)?;
    println!("{}", page.display());
    if open {
        ops::open_in_browser(&page)?;
    }
    Ok(())
}
