//! `debruijn`: the keypad riddle's press sequence, its check, and the graph it walks.

use std::path::PathBuf;

use super::{Failure, Outcome, usage};
use eigentechno::engine::debruijn::Algorithm;
use eigentechno::ops::{DeBruijnJobParams, Symbols, thousands};

/// Longest sequence printed on the terminal.
const PRINT_AT_MOST: u64 = 200;

#[derive(clap::Args)]
pub struct DebruijnArgs {
    /// The alphabet: each character is one symbol (at most 256, all different).
    #[arg(long, default_value = "0123456789")]
    symbols: String,
    /// The code length n: every n-symbol code appears once.
    #[arg(long, default_value_t = 4)]
    order: usize,
    /// The cycle of k^n symbols instead of the k^n + n - 1 presses.
    #[arg(long)]
    cyclic: bool,
    /// Cover the codes of every length 1 to n (the keypad whose code length is
    /// forgotten); --check then counts every length.
    #[arg(long, conflicts_with = "cyclic")]
    up_to: bool,
    /// euler: Hierholzer's circuit of the de Bruijn graph; lyndon: FKM, the
    /// lexicographically least sequence.
    #[arg(long, value_enum, default_value = "euler")]
    algorithm: Algorithm,
    /// Count the distinct windows and fail (exit 1) unless every code is there.
    #[arg(long)]
    check: bool,
    /// Write the sequence to FILE as text, one character per symbol (streamed,
    /// atomically).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Draw the de Bruijn graph with the circuit numbered along its edges (PNG; k^n at
    /// most 64).
    #[arg(long, value_name = "FILE.png")]
    graph: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

pub fn debruijn(a: DebruijnArgs) -> Outcome {
    let job = DeBruijnJobParams {
        symbols: Symbols::Chars(a.symbols),
        order: a.order,
        cyclic: a.cyclic,
        up_to: a.up_to,
        algorithm: a.algorithm,
    }
    .check()
    .map_err(usage)?;
    let (k, n) = (job.size().k(), job.size().n());
    if a.graph.is_some() {
        // Before any long work: a refused picture is a usage error.
        job.check_graph().map_err(usage)?;
    }
    let len = job.len();
    let what = if a.cyclic {
        "symbols (cyclic)"
    } else {
        "presses"
    };
    let codes = if a.up_to {
        (1..=n as u32).map(|m| (k as u64).pow(m)).sum::<u64>()
    } else {
        job.size().cyclic_len()
    };
    let lengths = if a.up_to && n > 1 {
        format!(" of 1 to {n} symbols")
    } else {
        String::new()
    };
    println!(
        "{} {what} for all {} codes{lengths} over {k} symbols",
        thousands(len),
        thousands(codes)
    );
    if len <= PRINT_AT_MOST {
        println!("{}", job.text()?);
    }
    if a.out.is_some() || a.check {
        let bar = super::progress_bar(len, a.quiet || a.out.is_none() && len < 1 << 24);
        let report = job.write_text(a.out.as_deref(), a.check, &mut |done| {
            bar.set_position(done)
        })?;
        bar.finish_and_clear();
        if let Some(p) = &report.path {
            println!(
                "wrote {} symbols to {}",
                thousands(report.length),
                p.display()
            );
        }
        if let Some(cov) = &report.coverage {
            let per_length = if cov.lengths.len() > 1 {
                cov.lengths
                    .iter()
                    .map(|l| thousands(l.1))
                    .collect::<Vec<_>>()
                    .join(" + ")
                    + " = "
            } else {
                String::new()
            };
            let line = format!(
                "{} codes ({per_length}{} distinct windows)",
                thousands(cov.codes()),
                thousands(cov.distinct())
            );
            if !cov.complete() {
                return Err(Failure::Failed(format!(
                    "check failed: the sequence misses codes: {line}"
                )));
            }
            println!("covers all {line}");
        }
    }
    if let Some(g) = &a.graph {
        println!("graph: {}", job.graph(g)?.display());
    }
    Ok(())
}
