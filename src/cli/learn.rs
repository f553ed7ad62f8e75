//! `learn fit` (one model, or K diffusion replicas), `learn cv`, `learn eval` and
//! `learn predict`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use eigentechno::learn::{Augment, DiffusionParams, FitParams, Head, Net, Progress, Topology};
use eigentechno::ops::learn::{COVERAGES, learn_eval, learn_fit, learn_predict};
use eigentechno::ops::learn_ensemble::{learn_cv, learn_diffuse};

use super::{Outcome, progress_bar, usage};

#[derive(Subcommand)]
pub enum LearnCommand {
    /// Train a classifier: an SKM, softmax or L2-SVM head on a CNN or an MLP. Writes
    /// model.safetensors, learn.json, training.png and embedding.png into --out. With
    /// --diffusion K: K replicas on 1/K of the data each, mixing parameters (README,
    /// "Parameter diffusion"); writes replica_NN/, diffusion.json and diffusion.png.
    Fit(FitArgs),
    /// K-fold cross-validation of the same model: K trainings, the mean validation
    /// accuracy as the estimate, and their ensemble. Writes fold_NN/ and cv.json.
    Cv(CvArgs),
    /// Accuracy, NLL, calibration (ECE), rejection and, with --ood, the AUROC of the
    /// confidence; writes eval.json and rejection.png into DIR.
    Eval {
        /// A folder `learn fit` or `learn cv` wrote (an ensemble's folder is scored as
        /// the mean of its members' probabilities).
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
    /// Train K replicas, each on its own 1/K shard, mixing parameters every --exchange
    /// steps.
    #[arg(long, value_name = "K")]
    diffusion: Option<usize>,
    /// Diffusion: the weight A a replica gives its neighbours at an exchange, in [0, 1]
    /// (0: K independent models; 1 with --topology complete: one consensus model).
    #[arg(long, value_name = "A", default_value_t = DiffusionParams::default().coupling, requires = "diffusion")]
    coupling: f64,
    /// Diffusion: steps between exchanges.
    #[arg(long, value_name = "T", default_value_t = DiffusionParams::default().exchange, requires = "diffusion")]
    exchange: usize,
    /// Diffusion: ring (both neighbours), oneway (the predecessor) or complete (all).
    #[arg(long, default_value = "ring", requires = "diffusion")]
    topology: String,
    #[command(flatten)]
    model: ModelArgs,
}

#[derive(Args)]
pub struct CvArgs {
    /// An IDX folder (its train split) or a float .npy matrix with --labels.
    data: PathBuf,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// Labels of a .npy matrix (.npy, or text: one integer a line).
    #[arg(long)]
    labels: Option<PathBuf>,
    /// K: folds (and trainings).
    #[arg(long, default_value_t = 4)]
    folds: usize,
    #[command(flatten)]
    model: ModelArgs,
}

/// The model and training options `fit` and `cv` share.
#[derive(Args)]
pub struct ModelArgs {
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

impl ModelArgs {
    fn params(&self) -> Result<FitParams, super::Failure> {
        Ok(FitParams {
            head: self.head.parse::<Head>().map_err(usage)?,
            net: self.net.parse::<Net>().map_err(usage)?,
            epochs: self.epochs,
            batch: self.batch,
            support: self.support,
            embed: self.embed,
            hidden: self.hidden,
            seed: self.seed,
            learning_rate: self.learning_rate,
            weight_decay: self.weight_decay,
            augment: self.augment.parse::<Augment>().map_err(usage)?,
            dropout: self.dropout,
        })
    }
}

pub fn learn(command: LearnCommand) -> Outcome {
    match command {
        LearnCommand::Fit(a) => fit(a),
        LearnCommand::Cv(a) => cv(a),
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
                if let Some(members) = &r.replicas {
                    let accs: Vec<String> = members
                        .iter()
                        .map(|m| format!("{:.2}", 100.0 * m.accuracy))
                        .collect();
                    println!(
                        "  ensemble of {}: members {} %",
                        members.len(),
                        accs.join(", ")
                    );
                }
                if let (Some(e), Some(se)) = (r.estimate, r.estimate_error) {
                    println!(
                        "  the run's estimate {:.2} +- {:.2} % beside the measured {:.2} % (off by {:+.2} points)",
                        100.0 * e,
                        100.0 * se,
                        100.0 * r.accuracy,
                        100.0 * (e - r.accuracy)
                    );
                }
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

/// The progress bar of a fit: batches of the epoch (one model) or of the whole run
/// (ensembles), and one line an epoch.
fn fit_progress(quiet: bool) -> (indicatif::ProgressBar, impl FnMut(Progress) + Send) {
    let bar = progress_bar(0, quiet);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "epoch {prefix} [{bar:30}] {pos}/{len} batches, loss {msg}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    let b = bar.clone();
    let on = move |p: Progress| match p {
        Progress::Batch {
            epoch,
            done,
            of,
            loss,
        } => {
            b.set_length(of as u64);
            b.set_prefix(epoch.to_string());
            b.set_position(done as u64);
            b.set_message(format!("{loss:.4}"));
        }
        Progress::Epoch(e) => {
            if !quiet {
                b.suspend(|| {
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
    (bar, on)
}

fn fit(a: FitArgs) -> Outcome {
    let params = a.model.params()?;
    let quiet = a.model.quiet;
    if let Some(k) = a.diffusion {
        let diffusion = DiffusionParams {
            replicas: k,
            coupling: a.coupling,
            exchange: a.exchange,
            topology: a.topology.parse::<Topology>().map_err(usage)?,
        };
        let (bar, mut on) = fit_progress(quiet);
        let outcome = learn_diffuse(
            &a.data,
            a.labels.as_deref(),
            &a.out,
            &params,
            &diffusion,
            a.model.threads,
            &mut on,
        )?;
        bar.finish_and_clear();
        if !quiet {
            let r = &outcome.record;
            println!(
                "{k} replicas ({} topology, A = {}, T = {}) on {} training rows in {:.1} s: estimate {:.2} +- {:.2} %, disagreement {:.2} +- {:.2} %, isolation {:.2}",
                r.diffusion.topology.as_str(),
                r.diffusion.coupling,
                r.diffusion.exchange,
                r.train_rows,
                r.seconds,
                100.0 * r.estimate,
                100.0 * r.estimate_error,
                100.0 * r.disagreement,
                100.0 * r.disagreement_error,
                r.isolation
            );
            if let Some(step) = r.resumed_at_step {
                println!("  went on from the checkpoint an interrupted run left at step {step}");
            }
            if let Some(last) = r.curve.last() {
                println!(
                    "  on {}: ensemble {:.2} %, replicas {:.2} to {:.2} %",
                    r.disagreement_data,
                    100.0 * last.ensemble,
                    100.0 * last.replicas.iter().copied().fold(1.0, f64::min),
                    100.0 * last.replicas.iter().copied().fold(0.0, f64::max)
                );
            }
            println!(
                "  wrote {} files into {}",
                outcome.files.len(),
                a.out.display()
            );
        }
        return Ok(());
    }
    let (bar, mut on) = fit_progress(quiet);
    let outcome = learn_fit(
        &a.data,
        a.labels.as_deref(),
        &a.out,
        &params,
        a.model.threads,
        &mut on,
    )?;
    bar.finish_and_clear();
    if !quiet {
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

fn cv(a: CvArgs) -> Outcome {
    let params = a.model.params()?;
    let (bar, mut on) = fit_progress(a.model.quiet);
    let outcome = learn_cv(
        &a.data,
        a.labels.as_deref(),
        &a.out,
        &params,
        a.folds,
        a.model.threads,
        &mut on,
    )?;
    bar.finish_and_clear();
    if !a.model.quiet {
        let r = &outcome.record;
        let accs: Vec<String> = r
            .folds
            .iter()
            .map(|f| format!("{:.2}", 100.0 * f.validation_accuracy))
            .collect();
        println!(
            "{}-fold cross-validation on {} rows in {:.1} s: estimate {:.2} +- {:.2} % (folds {} %)",
            r.folds.len(),
            r.train_rows,
            r.seconds,
            100.0 * r.estimate,
            100.0 * r.estimate_error,
            accs.join(", ")
        );
        println!(
            "  wrote {} files into {}",
            outcome.files.len(),
            a.out.display()
        );
    }
    Ok(())
}
