//! `learn fit`, `learn eval` and `learn predict`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use eigentechno::learn::{Augment, FitParams, Head, Net, Progress};
use eigentechno::ops::learn::{COVERAGES, learn_eval, learn_fit, learn_predict};

use super::{Outcome, progress_bar, usage};

#[derive(Subcommand)]
pub enum LearnCommand {
    /// Train a classifier: an SKM, softmax or L2-SVM head on a CNN or an MLP. Writes
    /// model.safetensors, learn.json, training.png and embedding.png into --out.
    Fit(FitArgs),
    /// Accuracy, NLL, calibration (ECE), rejection and, with --ood, the AUROC of the
    /// confidence; writes eval.json and rejection.png into DIR.
    Eval {
        /// A folder `learn fit` wrote.
        dir: PathBuf,
        /// An IDX folder (its t10k split) or a .npy matrix with --labels.
        data: PathBuf,
        /// Labels of a .npy matrix (.npy, or text: one integer a line).
        #[arg(long)]
        labels: Option<PathBuf>,
        /// Data from elsewhere (an IDX folder's t10k split or a .npy matrix): how well
        /// the confidence tells DATA from it.
        #[arg(long, value_name = "DATA2")]
        ood: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Predict each row: writes row,label,probability,confidence as CSV.
    Predict {
        /// A folder `learn fit` wrote.
        dir: PathBuf,
        /// An IDX folder (its t10k split) or a .npy matrix.
        data: PathBuf,
        /// The CSV to write.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Args)]
pub struct FitArgs {
    /// An IDX folder (its train split; test figures from its t10k split) or a float
    /// .npy matrix (rows x features) with --labels.
    data: PathBuf,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// Labels of a .npy matrix (.npy, or text: one integer a line).
    #[arg(long)]
    labels: Option<PathBuf>,
    /// The output layer: skm, softmax or svm.
    #[arg(long, default_value = "skm")]
    head: String,
    /// The feature extractor: cnn (images) or mlp.
    #[arg(long, default_value = "cnn")]
    net: String,
    /// Passes over the training data.
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Rows per gradient step.
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// SKM support points (default: 10 a class).
    #[arg(long, default_value_t = 0)]
    support: usize,
    /// Embedding width (the head's input).
    #[arg(long, default_value_t = 128)]
    embed: usize,
    /// MLP hidden width.
    #[arg(long, default_value_t = 128)]
    hidden: usize,
    /// Seed of the initial weights and the row order.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// AdamW's learning rate (it decays on a cosine to 1/100 of it).
    #[arg(long, default_value_t = 1e-3)]
    learning_rate: f64,
    /// AdamW's decoupled weight decay.
    #[arg(long, default_value_t = 1e-4)]
    weight_decay: f64,
    /// Random changes to training images: none, shift (up to 2 pixels), flip (mirror
    /// half; not for digits) or shift-flip.
    #[arg(long, default_value = "none")]
    augment: String,
    /// CNN: the share of flattened conv features dropped in each training step.
    #[arg(long, default_value_t = 0.25)]
    dropout: f64,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// No progress bar or summary.
    #[arg(long, short)]
    quiet: bool,
}

pub fn learn(command: LearnCommand) -> Outcome {
    match command {
        LearnCommand::Fit(a) => fit(a),
        LearnCommand::Eval {
            dir,
            data,
            labels,
            ood,
            json,
        } => {
            let (r, files) = learn_eval(&dir, &data, labels.as_deref(), ood.as_deref())?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&r).expect("serialisable")
                );
            } else {
                println!(
                    "{} rows: accuracy {:.2} % (error {:.2} %), NLL {:.4}, ECE {:.4}",
                    r.rows,
                    100.0 * r.accuracy,
                    100.0 * r.error,
                    r.nll,
                    r.ece
                );
                if let Some(a) = r.auroc_ood {
                    println!(
                        "  AUROC of the confidence against {}: {a:.4}",
                        r.ood.as_deref().unwrap_or("?")
                    );
                }
                // eval.json's keys sort as text ("100" < "80"); print by coverage.
                let rej: Vec<String> = COVERAGES
                    .iter()
                    .filter_map(|c| r.rejection.get(&c.to_string()).map(|e| (c, e)))
                    .map(|(c, e)| format!("{c} %: {:.2} %", 100.0 * e))
                    .collect();
                println!("  error at coverage {}", rej.join(", "));
                for f in files {
                    println!("  wrote {}", f.display());
                }
            }
            Ok(())
        }
        LearnCommand::Predict { dir, data, out } => {
            let path = learn_predict(&dir, &data, &out)?;
            println!("wrote {}", path.display());
            Ok(())
        }
    }
}

fn fit(a: FitArgs) -> Outcome {
    let params = FitParams {
        head: a.head.parse::<Head>().map_err(usage)?,
        net: a.net.parse::<Net>().map_err(usage)?,
        epochs: a.epochs,
        batch: a.batch,
        support: a.support,
        embed: a.embed,
        hidden: a.hidden,
        seed: a.seed,
        learning_rate: a.learning_rate,
        weight_decay: a.weight_decay,
        augment: a.augment.parse::<Augment>().map_err(usage)?,
        dropout: a.dropout,
    };
    let bar = progress_bar(0, a.quiet);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "epoch {prefix} [{bar:30}] {pos}/{len} batches, loss {msg}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    let quiet = a.quiet;
    let mut on = |p: Progress| match p {
        Progress::Batch {
            epoch,
            done,
            of,
            loss,
        } => {
            bar.set_length(of as u64);
            bar.set_prefix(epoch.to_string());
            bar.set_position(done as u64);
            bar.set_message(format!("{loss:.4}"));
        }
        Progress::Epoch(e) => {
            if !quiet {
                bar.suspend(|| {
                    eprintln!(
                        "epoch {:>3}: loss {:.4}, train {:.2} %{}, {:.1} s",
                        e.epoch,
                        e.loss,
                        100.0 * e.train_accuracy,
                        e.test_accuracy
                            .map_or(String::new(), |t| format!(", test {:.2} %", 100.0 * t)),
                        e.seconds
                    )
                });
            }
        }
    };
    let outcome = learn_fit(
        &a.data,
        a.labels.as_deref(),
        &a.out,
        &params,
        a.threads,
        &mut on,
    )?;
    bar.finish_and_clear();
    if !a.quiet {
        let r = &outcome.record;
        let last = r.epochs.last().expect("at least one epoch");
        println!(
            "{} head on {}: {} training rows, {} epochs in {:.1} s ({:.0} rows/s on {} threads); train {:.2} %{}",
            r.architecture.head.as_str(),
            r.architecture.net.as_str(),
            r.train_rows,
            r.epochs.len(),
            r.seconds,
            r.rows_per_second,
            r.threads,
            100.0 * last.train_accuracy,
            last.test_accuracy
                .map_or(String::new(), |t| format!(", test {:.2} %", 100.0 * t))
        );
        for f in &outcome.files {
            println!("  wrote {}", f.display());
        }
    }
    Ok(())
}
