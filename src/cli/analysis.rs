//! `correlate`, `convolve`, `corrmatrix`, `curves`, `kernels`, `tempo`, `eval-tempo`, `synth`.

use std::path::{Path, PathBuf};

use super::{Failure, Outcome, usage};
use eigentechno::engine::conv::{Method, Mode, Op};
use eigentechno::engine::corr::Ordering;
use eigentechno::ops::{self, CorpusParams, CorrParams, KernelParams, TempoOptions, TempoReport};

pub fn conv(a: &Path, b: &Path, out: &Path, op: Op, mode: Mode, method: Method) -> Outcome {
    let result = ops::apply_files(a, b, out, op, mode, method)?;
    println!(
        "{} {:?} -> {}",
        result.dtype(),
        result.shape(),
        out.display()
    );
    Ok(())
}

pub fn corrmatrix(input: &Path, out: &Path, order: Ordering, clip: f64, steps: bool) -> Outcome {
    let opts = CorrParams {
        order,
        clip,
        steps,
        max_columns: 0,
    }
    .check()
    .map_err(usage)?;
    let (report, files) = ops::corrmatrix_of_file(input, out, &opts)?;
    if !report.constant_columns.is_empty() {
        eprintln!(
            "warning: {}: columns {:?} are constant: their correlations are undefined and drawn grey",
            input.display(),
            report.constant_columns
        );
    }
    if report.nothing_to_show {
        println!(
            "{} features from {} rows: nothing to show, every correlation off the diagonal is under {:e} (largest {:.1e})",
            report.features,
            report.rows,
            ops::NOISE_CORRELATION,
            report.largest_off_diagonal
        );
    } else {
        println!(
            "{} features from {} rows, {} order, limits +-{:.3}",
            report.features, report.rows, report.ordering, report.limits[1]
        );
    }
    for f in files {
        println!("  {}", f.display());
    }
    Ok(())
}

pub fn curves(a: crate::CurvesArgs) -> Outcome {
    let domain = a.domain.as_deref().map(parse_domain).transpose()?;
    let opts = ops::CurveParams {
        domain,
        basis: a.basis,
        samples: a.samples,
        degree: a.degree,
        centre: a.centre,
    }
    .check()
    .map_err(usage)?;
    let curves = ops::curves_of_path(&a.input, &opts)?;
    let (report, files) = ops::curves_to_dir(&curves, &a.out)?;
    let what = match report.source {
        "run" => "tempo curves (minus their mean tempo)".to_string(),
        "samples" => format!(
            "sampled curves, fitted at degree {}",
            report.degree.unwrap_or(0)
        ),
        _ => format!("curves ({} coefficients)", report.basis),
    };
    println!(
        "{} {what} on [{}, {}]; nearest neighbour the same by both distances for {} of {}",
        report.rows,
        report.domain[0],
        report.domain[1],
        report.nearest_agree,
        report.nearest.len()
    );
    for s in &report.skipped {
        println!("  skipped (no tempo curve): {s}");
    }
    if report.rows > ops::MAX_DRAWN {
        println!("  no figure: over {} curves", ops::MAX_DRAWN);
    }
    for f in files {
        println!("  {}", f.display());
    }
    Ok(())
}

/// `A,B` as two numbers (the engine checks A < B).
fn parse_domain(s: &str) -> Result<(f64, f64), Failure> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    match parts.as_slice() {
        [a, b] => match (a.parse::<f64>(), b.parse::<f64>()) {
            (Ok(a), Ok(b)) => Ok((a, b)),
            _ => Err(usage(format!(
                "--domain {s}: expected two numbers A,B (as -1,1)"
            ))),
        },
        _ => Err(usage(format!(
            "--domain {s}: expected two numbers A,B (as -1,1)"
        ))),
    }
}

pub fn kernels(weights: &Path, out: &Path, params: KernelParams) -> Outcome {
    let opts = params.check().map_err(usage)?;
    let report = ops::kernels_of_file(weights, out, &opts)?;
    println!(
        "{}: {} conv layers ({:?})",
        weights.display(),
        report.layers.len(),
        report.format
    );
    for l in &report.layers {
        let guessed = if l.layout_guessed { ", guessed" } else { "" };
        let groups = if l.groups > 1 {
            format!(", {} groups", l.groups)
        } else {
            String::new()
        };
        println!(
            "  {:>2} {:<40} {:?} ({}{guessed}) {} x {} x {}x{}{groups}",
            l.index,
            l.name,
            l.stored_shape,
            l.layout,
            l.out_channels,
            l.in_channels,
            l.kernel[0],
            l.kernel[1],
        );
    }
    if !report.skipped.is_empty() {
        println!("  passed over: {}", report.skipped.len());
    }
    println!("figures in {}", out.display());
    Ok(())
}

pub fn tempo(files: &[PathBuf], json: bool) -> Outcome {
    let results = ops::tempo_of_files(files, &TempoOptions::default());
    let failed = results.iter().any(|r| r.is_err());
    if json {
        let list: Vec<serde_json::Value> = files
            .iter()
            .zip(&results)
            .map(|(f, r)| match r {
                Ok(r) => serde_json::to_value(TempoReport::new(f, r)).expect("json"),
                Err(e) => {
                    serde_json::json!({"file": f.display().to_string(), "error": no_beat(e)})
                }
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&list).expect("json"));
    } else {
        for (f, r) in files.iter().zip(&results) {
            match r {
                Ok(r) => println!(
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
                Err(eigentechno::Error::NoRhythm(_)) => {
                    eprintln!("{}: no steady beat found", f.display())
                }
                Err(e) => eprintln!("{e}"),
            }
        }
    }
    if failed {
        Err(Failure::Reported)
    } else {
        Ok(())
    }
}

/// The JSON's error text: "no steady beat found" alone for a track without a beat.
fn no_beat(e: &eigentechno::Error) -> String {
    match e {
        eigentechno::Error::NoRhythm(_) => "no steady beat found".into(),
        e => e.to_string(),
    }
}

pub fn eval_tempo(dir: &Path, json: bool) -> Outcome {
    let report = ops::evaluate_folder(dir, &TempoOptions::default())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report).expect("json"));
    } else {
        print!("{}", report.table());
    }
    Ok(())
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

pub fn synth(a: crate::SynthArgs) -> Outcome {
    let (bpm_min, bpm_max) = parse_bpm(&a.bpm).ok_or_else(|| {
        usage(format!(
            "--bpm expects MIN..MAX or a number, got '{}'",
            a.bpm
        ))
    })?;
    let mix = match &a.mix {
        None => None,
        Some(m) => {
            let (lo, hi) = parse_bpm(m)
                .filter(|&(lo, hi)| lo.fract() == 0.0 && hi.fract() == 0.0)
                .ok_or_else(|| usage(format!("--mix expects N or MIN..MAX tracks, got '{m}'")))?;
            Some((lo as u32, hi as u32))
        }
    };
    let corpus = CorpusParams {
        tracks: a.tracks,
        seed: a.seed,
        track: eigentechno::audio::synth::SynthParams {
            bpm_min,
            bpm_max,
            seconds: a.seconds,
            rate: a.rate,
            channels: a.channels,
            swing_share: a.swing,
            drift_share: a.drift,
            loud_offbeat_share: a.loud_offbeat,
        },
        mix,
        formats: a.formats,
        prefix: a.prefix,
    }
    .check()
    .map_err(usage)?;
    let bar = super::progress_bar(a.tracks, a.quiet);
    let written = ops::synth_corpus(&a.out, &corpus, &|| bar.inc(1));
    bar.finish_and_clear();
    let paths = written?;
    if !a.quiet {
        println!(
            "{} {} with annotations (.json) in {}",
            paths.len(),
            if mix.is_some() { "mixes" } else { "tracks" },
            a.out.display()
        );
    }
    Ok(())
}
