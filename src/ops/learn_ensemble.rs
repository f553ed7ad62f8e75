//! `learn fit --diffusion K` and `learn cv`: ensembles of one model trained on shards of
//! the data, each member in its own folder (`replica_NN/`, `fold_NN/`) beside the run's
//! record (diffusion.json, cv.json) that `learn eval` scores them by.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::image::learn_plots::{self, DiffusionPicture};
use crate::learn::diffusion::{
    self, CurvePoint, Diffused, DiffusionPlan, Exchange, Ledger, Probe, ReplicaState, disagreement,
    estimate, neighbour_pairs,
};
use crate::learn::metrics::{accuracy, argmax_rows};
use crate::learn::{Checked, LearnError};
use crate::learn::{
    DiffusionParams, FitParams, Fitted, Inputs, Labelled, Progress, check_labels, fit, predict,
};
use crate::ops::learn::{
    LabelledData, LearnRecord, LearnedModel, Split, class_indices, classes_of, has_idx_split,
    read_data, read_idx_split, thread_pool, write_model_weights,
};
use crate::store::fingerprint::Fingerprint;
use crate::store::training_state;
use crate::store::{write_atomic, write_atomic_unsynced};

/// One replica in diffusion.json.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ReplicaRecord {
    /// Its folder.
    pub name: String,
    /// The training rows of its shard (indices into the training data).
    pub shard: Vec<usize>,
    /// Its accuracy on the shards it is isolated from, weighted by that isolation.
    pub estimate: f64,
}

/// diffusion.json.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DiffusionRecord {
    /// Predicted test accuracy of the ensemble (the isolation-weighted out-of-shard score).
    pub estimate: f64,
    /// One standard error of `estimate`.
    pub estimate_error: f64,
    /// The alternative estimate: replica accuracies regressed on their exposure to each
    /// shard, read at zero exposure, plus the ensemble's gain (null without isolation).
    pub estimate_extrapolated: Option<f64>,
    /// One standard error of `estimate_extrapolated`.
    pub estimate_extrapolated_error: Option<f64>,
    /// K x K: replica i's accuracy on shard j's scored rows.
    pub pair_accuracy: Vec<Vec<f64>>,
    /// The replicas' mean pairwise disagreement rate on the held-back unlabelled rows.
    pub disagreement: f64,
    /// One standard error of `disagreement`.
    pub disagreement_error: f64,
    /// The unlabelled rows `disagreement` was measured on (at most
    /// [`DISAGREEMENT_ROWS`] of them, spread evenly).
    pub disagreement_data: String,
    /// How many.
    pub disagreement_rows: usize,
    /// Per replica.
    pub replicas: Vec<ReplicaRecord>,
    /// Per exchange: the step and the parameter distance of each neighbour pair.
    pub exchanges: Vec<Exchange>,
    /// The neighbour pairs, in the order of each exchange's distances.
    pub pairs: Vec<[usize; 2]>,
    /// Wall seconds of the whole run (training, estimate, files).
    pub seconds: f64,
    /// Wall seconds of training alone.
    pub train_seconds: f64,
    /// The members' folders (what `learn eval` reads).
    pub members: Vec<String>,
    /// K, A, T and the topology.
    pub diffusion: DiffusionParams,
    /// The mixing matrix W, K x K.
    pub mixing: Vec<Vec<f64>>,
    /// Influence, K x K: row i is how replica i's learning divides between the shards
    /// (learning-rate-weighted steps, moved by W at each exchange).
    pub influence: Vec<Vec<f64>>,
    /// Mean isolation of a shard from the replicas that score it (0 to 1).
    pub isolation: f64,
    /// Per shard: the isolation-weighted ensemble's accuracy on it.
    pub shard_estimates: Vec<f64>,
    /// Training rows the estimate scored.
    pub estimate_rows: usize,
    /// Accuracy on the probe rows at each epoch's end (when they have labels).
    pub curve: Vec<CurvePoint>,
    /// The model options every replica shares (one start; the shards differ).
    pub options: FitParams,
    /// The training data.
    pub data: String,
    /// Training rows.
    pub train_rows: usize,
    /// Threads the run used.
    pub threads: usize,
    /// The step an interrupted run went on from (null when it ran through).
    #[serde(default)]
    pub resumed_at_step: Option<usize>,
}

/// What a diffusion run wrote.
pub struct DiffusionOutcome {
    /// diffusion.json's content.
    pub record: DiffusionRecord,
    /// Files written.
    pub files: Vec<PathBuf>,
}

/// Held-back rows the disagreement is measured on: at most this many, spread evenly (a
/// standard error of at most 0.7 points; the measurement stays a small part of a run).
pub const DISAGREEMENT_ROWS: usize = 5000;

/// Rows held back from training when the data has no test split, to measure
/// disagreement on: one in this many.
pub const HOLD_BACK_EVERY: usize = 10;

/// The training rows, the held-back unlabelled rows (with labels for the curve only) and
/// what they are: an IDX folder's t10k split when it has one, else one training row in
/// [`HOLD_BACK_EVERY`], set aside before any training.
fn training_and_probe(
    data: &Path,
    labels: Option<&Path>,
) -> Result<(LabelledData, LabelledData, String)> {
    let all = read_data(data, labels, Split::Train)?;
    if data.is_dir() && has_idx_split(data, Split::Test) {
        let probe = read_idx_split(data, Split::Test)?;
        let name = probe.source.clone();
        return Ok((all, probe, name));
    }
    let n = all.inputs.rows();
    let (held, kept): (Vec<usize>, Vec<usize>) = (0..n).partition(|i| i % HOLD_BACK_EVERY == 0);
    if held.is_empty() || kept.len() < 2 {
        return Err(Error::InvalidData {
            path: data.to_path_buf(),
            reason: format!("{n} rows: too few to hold one in {HOLD_BACK_EVERY} back"),
        });
    }
    let pick = |rows: &[usize], what: &str| LabelledData {
        inputs: all.inputs.select(rows),
        labels: rows.iter().map(|&i| all.labels[i]).collect(),
        source: format!("{} ({what})", all.source),
    };
    let probe = pick(&held, &format!("every {HOLD_BACK_EVERY}th row, held back"));
    let train = pick(&kept, "the rest");
    let name = probe.source.clone();
    Ok((train, probe, name))
}

fn member_record(
    train: &LabelledData,
    classes: &[i64],
    options: FitParams,
    fitted: &Fitted,
    rows: usize,
    test_rows: usize,
) -> LearnRecord {
    let seconds: f64 = fitted.history.iter().map(|e| e.seconds).sum();
    LearnRecord {
        architecture: fitted.architecture.clone(),
        options,
        classes: classes.to_vec(),
        data: train.source.clone(),
        train_rows: rows,
        test_rows,
        epochs: fitted.history.clone(),
        rows_per_second: (rows * fitted.history.len()) as f64 / seconds.max(1e-9),
        seconds,
        threads: rayon::current_num_threads(),
        calibration: fitted.calibration.clone(),
    }
}

fn write_member(dir: &Path, record: LearnRecord, fitted: Fitted) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let learned = LearnedModel {
        record,
        model: fitted.model,
    };
    let weights = write_model_weights(dir, &learned)?;
    let json = serde_json::to_vec_pretty(&learned.record).expect("serialisable");
    Ok(vec![weights, write_atomic(&dir.join("learn.json"), &json)?])
}

/// The checkpoint an interrupted diffusion run resumes from, in its output folder
/// (removed when the run is done).
pub const DIFFUSION_CHECKPOINT: &str = ".diffusion-checkpoint.safetensors";

/// Seconds between checkpoints of a running diffusion (each holds every replica's
/// weights and optimizer moments).
pub const CHECKPOINT_SECONDS: f64 = 60.0;

/// A diffusion run's data and options, checked and loaded once: the in-process run
/// ([`learn_diffuse`]) and the Dask front's tasks (start, rounds, exchanges, the folder)
/// all work through one, so both compute the same thing.
pub struct DiffusionJob {
    train: LabelledData,
    probe: LabelledData,
    probe_name: String,
    classes: Vec<i64>,
    y: Vec<u32>,
    probe_y: Option<Vec<u32>>,
    checked: Checked,
    each: Checked,
    plan: DiffusionPlan,
    shards: Vec<Vec<usize>>,
    shard_data: Vec<(Inputs, Vec<u32>)>,
    curve: Option<(Inputs, Vec<u32>)>,
    fingerprint: String,
}

impl DiffusionJob {
    /// Read `data` (and `labels`), set the probe rows aside, and check `params` and
    /// `diffusion` against them, before any training.
    pub fn prepare(
        data: &Path,
        labels: Option<&Path>,
        params: &FitParams,
        diffusion: &DiffusionParams,
    ) -> Result<DiffusionJob> {
        let (train, probe, probe_name) = training_and_probe(data, labels)?;
        let classes = classes_of(&train.labels);
        let y = class_indices(&train.labels, &classes).expect("from the labels themselves");
        check_labels(&train.inputs, &y)?;
        let checked = params.check(train.inputs.shape, classes.len())?;
        let plan = diffusion.check(train.inputs.rows())?;
        if probe.inputs.shape != train.inputs.shape {
            return Err(Error::InvalidArgument {
                name: "test data",
                expected: format!("{}, as in training", train.inputs.shape),
                actual: format!("{} in {}", probe.inputs.shape, probe.source),
            });
        }
        // Labels the training split lacks leave the probe unlabelled (the curve is skipped).
        let probe_y = class_indices(&probe.labels, &classes).ok();
        let shards = diffusion::shards(&y, plan.params.replicas, checked.params.seed);
        let labelled = Labelled {
            inputs: &train.inputs,
            labels: &y,
        };
        let shard_data = shards.iter().map(|rows| labelled.select(rows)).collect();
        let curve = diffusion::curve_rows(Some(Probe {
            inputs: &probe.inputs,
            labels: probe_y.as_deref(),
        }));
        let mut f = Fingerprint::new();
        f.add_str(&train.source)
            .add_str(&serde_json::to_string(&checked.params).expect("serialisable"))
            .add_str(&serde_json::to_string(&plan.params).expect("serialisable"))
            .add_u64(train.inputs.rows() as u64);
        for &l in &y {
            f.add_u64(l as u64);
        }
        // Every 61st value: a changed data file changes the fingerprint without a pass
        // over all of it.
        for v in train.inputs.values.iter().step_by(61) {
            f.add(&v.to_le_bytes());
        }
        let each = diffusion::replica_options(&checked, plan.params.replicas);
        Ok(DiffusionJob {
            train,
            probe,
            probe_name,
            classes,
            y,
            probe_y,
            checked,
            each,
            plan,
            shards,
            shard_data,
            curve,
            fingerprint: f.hex(),
        })
    }

    fn labelled(&self) -> Labelled<'_> {
        Labelled {
            inputs: &self.train.inputs,
            labels: &self.y,
        }
    }

    /// What run this is: the data, options and replicas (a checkpoint must match it).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The replicas at step 0 and the run's ledger.
    pub fn start(&self) -> Result<(Ledger, Vec<ReplicaState>)> {
        Ok(diffusion::start(
            self.labelled(),
            &self.checked,
            &self.plan,
        )?)
    }

    /// The step the next round ends at, or `None` when the run is done.
    pub fn next_round(&self, ledger: &Ledger) -> Option<usize> {
        ledger.next_round(&self.plan)
    }

    /// Replica `replica`'s round, from `state` up to step `until`.
    pub fn round(
        &self,
        replica: usize,
        state: ReplicaState,
        until: usize,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<ReplicaState> {
        let (inputs, labels) =
            self.shard_data
                .get(replica)
                .ok_or_else(|| Error::InvalidArgument {
                    name: "replica",
                    expected: format!("below {}", self.shard_data.len()),
                    actual: replica.to_string(),
                })?;
        Ok(diffusion::round(
            Labelled { inputs, labels },
            &self.each,
            state,
            until,
            progress,
        )?)
    }

    /// The exchange after the round that ended at `round_end`, and the curve's point
    /// when an epoch ended.
    pub fn exchange(
        &self,
        ledger: &mut Ledger,
        round_end: usize,
        states: &mut [ReplicaState],
    ) -> Result<Option<CurvePoint>> {
        if ledger.shards != self.shards || states.len() != self.shards.len() {
            return Err(Error::Learn(LearnError::State(format!(
                "a ledger of {} shards and {} replicas that are not this run's {} shards",
                ledger.shards.len(),
                states.len(),
                self.shards.len()
            ))));
        }
        let ended = diffusion::exchange(&self.plan, ledger, round_end, states);
        Ok(match (&self.curve, ended) {
            (Some((inputs, labels)), true) => Some(diffusion::curve_point(
                &self.checked.architecture,
                ledger,
                states,
                inputs,
                labels,
            )),
            _ => None,
        })
    }

    /// Save `ledger` and `states` as `out`'s checkpoint ([`DIFFUSION_CHECKPOINT`],
    /// written atomically), for a later run of this job, here or on a cluster, to go on
    /// from.
    pub fn save_checkpoint(
        &self,
        out: &Path,
        ledger: &Ledger,
        states: &[ReplicaState],
    ) -> Result<PathBuf> {
        std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        let bytes = training_state::encode_checkpoint(&self.fingerprint, ledger, states);
        write_atomic_unsynced(&out.join(DIFFUSION_CHECKPOINT), &bytes)
    }

    /// The ledger and states of `out`'s checkpoint when it is this job's (the same data,
    /// options and replicas); `None` when there is none, or it is another run's or
    /// damaged (the run then starts over and replaces it).
    pub fn load_checkpoint(&self, out: &Path) -> Option<(Ledger, Vec<ReplicaState>)> {
        std::fs::read(out.join(DIFFUSION_CHECKPOINT))
            .ok()
            .and_then(|b| training_state::decode_checkpoint(&b).ok())
            .filter(|c| {
                c.fingerprint == self.fingerprint
                    && c.ledger.shards == self.shards
                    && c.replicas.len() == self.shards.len()
            })
            .map(|c| (c.ledger, c.replicas))
    }

    /// Train every round in process, on the current rayon pool, saving a checkpoint in
    /// `out` at most every [`CHECKPOINT_SECONDS`] and when the run stops part way
    /// (Ctrl-C), and going on from one a stopped run of the same job left (the step it
    /// went on from comes back).
    fn run_here(
        &self,
        out: &Path,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<(Diffused, Option<usize>)> {
        let resume = self.load_checkpoint(out);
        let resumed_at = resume.as_ref().map(|(l, _)| l.round_end);
        let mut saved = Instant::now();
        let mut save = |ledger: &Ledger, states: &[ReplicaState], stopping: bool| {
            let due = saved.elapsed().as_secs_f64() >= CHECKPOINT_SECONDS;
            if ledger.finished() || !(stopping || due) {
                return Ok(());
            }
            self.save_checkpoint(out, ledger, states)
                .map_err(|e| LearnError::State(e.to_string()))?;
            saved = Instant::now();
            Ok(())
        };
        let diffused = diffusion::diffuse(
            self.labelled(),
            Some(Probe {
                inputs: &self.probe.inputs,
                labels: self.probe_y.as_deref(),
            }),
            &self.checked,
            &self.plan,
            resume,
            &mut save,
            progress,
        )?;
        Ok((diffused, resumed_at))
    }

    /// Write the finished run into `out`: `replica_NN/` folders, diffusion.json and
    /// diffusion.png, with the estimate and the disagreement measured here.
    /// `train_seconds` and `started` time the run; `resumed_at` is the step it went on
    /// from after an interruption.
    pub fn write(
        &self,
        out: &Path,
        ledger: Ledger,
        states: Vec<ReplicaState>,
        train_seconds: f64,
        started: Instant,
        resumed_at: Option<usize>,
    ) -> Result<DiffusionOutcome> {
        if ledger.shards != self.shards || !ledger.finished() {
            return Err(Error::Learn(LearnError::State(
                "a ledger that is not this run's, or not finished".into(),
            )));
        }
        let diffused = diffusion::finish(&self.checked.architecture, ledger, states);
        self.write_diffused(out, diffused, train_seconds, started, resumed_at)
    }

    fn write_diffused(
        &self,
        out: &Path,
        diffused: Diffused,
        train_seconds: f64,
        started: Instant,
        resumed_at: Option<usize>,
    ) -> Result<DiffusionOutcome> {
        let Diffused {
            replicas,
            shards,
            influence,
            exchanges,
            curve,
            shared_rows,
        } = diffused;
        let (train, probe, checked) = (&self.train, &self.probe, &self.checked);
        let diffusion = &self.plan.params;
        std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        let est = estimate(
            &replicas,
            self.labelled(),
            &shards,
            &influence,
            &shared_rows,
        );
        let a = &checked.architecture;
        let m = probe.inputs.rows();
        let unlabelled = if m <= DISAGREEMENT_ROWS {
            probe.inputs.clone()
        } else {
            let rows: Vec<usize> = (0..DISAGREEMENT_ROWS)
                .map(|i| i * m / DISAGREEMENT_ROWS)
                .collect();
            probe.inputs.select(&rows)
        };
        let probe_preds: Vec<_> = replicas
            .par_iter()
            .map(|r| predict(&r.model, a, &unlabelled, 512))
            .collect();
        let (disagree, disagree_se) = disagreement(&probe_preds);
        let k = replicas.len();
        let names: Vec<String> = (0..k).map(|i| format!("replica_{i:02}")).collect();
        let mut files = Vec::new();
        for (i, (fitted, shard)) in replicas.into_iter().zip(&shards).enumerate() {
            let record = member_record(
                train,
                &self.classes,
                self.each.params.clone(),
                &fitted,
                shard.len(),
                probe.inputs.rows(),
            );
            files.extend(write_member(&out.join(&names[i]), record, fitted)?);
        }
        let pairs = neighbour_pairs(k, diffusion.topology);
        let picture_accuracy: Vec<(usize, Vec<f64>, f64)> = curve
            .iter()
            .map(|p| (p.epoch, p.replicas.clone(), p.ensemble))
            .collect();
        let picture_distances: Vec<(usize, Vec<f64>)> = exchanges
            .iter()
            .map(|e| (e.step, e.distances.clone()))
            .collect();
        files.push(learn_plots::diffusion_picture(
            &out.join("diffusion.png"),
            &DiffusionPicture {
                title: &format!(
                    "{k} replicas, {} topology, coupling A = {}, exchange every {} steps: estimate {:.2} +- {:.2} %",
                    diffusion.topology.as_str(),
                    diffusion.coupling,
                    diffusion.exchange,
                    100.0 * est.estimate,
                    100.0 * est.estimate_error
                ),
                accuracy: &picture_accuracy,
                distances: &picture_distances,
                pairs: &pairs,
                influence: &influence,
            },
        )?);
        let mut record = DiffusionRecord {
            estimate: est.estimate,
            estimate_error: est.estimate_error,
            estimate_extrapolated: est.extrapolated,
            estimate_extrapolated_error: est.extrapolated_error,
            pair_accuracy: est.pair_accuracy.clone(),
            disagreement: disagree,
            disagreement_error: disagree_se,
            disagreement_data: self.probe_name.clone(),
            disagreement_rows: unlabelled.rows(),
            replicas: names
                .iter()
                .zip(shards)
                .zip(&est.replicas)
                .map(|((name, shard), &e)| ReplicaRecord {
                    name: name.clone(),
                    shard,
                    estimate: e,
                })
                .collect(),
            exchanges,
            pairs,
            seconds: 0.0,
            train_seconds,
            members: names,
            diffusion: diffusion.clone(),
            mixing: self.plan.mixing.chunks(k).map(<[f64]>::to_vec).collect(),
            influence,
            isolation: est.isolation,
            shard_estimates: est.shards,
            estimate_rows: est.rows,
            curve,
            options: checked.params.clone(),
            data: train.source.clone(),
            train_rows: train.inputs.rows(),
            threads: rayon::current_num_threads(),
            resumed_at_step: resumed_at,
        };
        record.seconds = started.elapsed().as_secs_f64();
        let json = serde_json::to_vec_pretty(&record).expect("serialisable");
        files.push(write_atomic(&out.join("diffusion.json"), &json)?);
        let _ = std::fs::remove_file(out.join(DIFFUSION_CHECKPOINT));
        Ok(DiffusionOutcome { record, files })
    }
}

/// Train K replicas of the model `params` describes, each on its shard of `data`, mixing
/// parameters as `diffusion` says; write `replica_NN/` folders, diffusion.json and
/// diffusion.png into `out`. `threads` 0 uses every core. A run stopped part way
/// (Ctrl-C, a crash) goes on from its last checkpoint in `out` when run again.
pub fn learn_diffuse(
    data: &Path,
    labels: Option<&Path>,
    out: &Path,
    params: &FitParams,
    diffusion: &DiffusionParams,
    threads: usize,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<DiffusionOutcome> {
    let started = Instant::now();
    let job = DiffusionJob::prepare(data, labels, params, diffusion)?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let pool = thread_pool(threads)?;
    let trained = Instant::now();
    let (diffused, resumed_at) = pool.install(|| job.run_here(out, progress))?;
    let train_seconds = trained.elapsed().as_secs_f64();
    pool.install(|| job.write_diffused(out, diffused, train_seconds, started, resumed_at))
}

/// One fold in cv.json.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FoldRecord {
    /// Its folder.
    pub name: String,
    /// Rows held out for validation.
    pub validation_rows: usize,
    /// The model's accuracy on them.
    pub validation_accuracy: f64,
}

/// cv.json.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CvRecord {
    /// The mean validation accuracy: k-fold's estimate of one model's test accuracy.
    pub estimate: f64,
    /// Its standard error (the folds' spread over sqrt(K), no smaller than binomial).
    pub estimate_error: f64,
    /// Per fold.
    pub folds: Vec<FoldRecord>,
    /// Wall seconds of the whole run.
    pub seconds: f64,
    /// Wall seconds of training alone.
    pub train_seconds: f64,
    /// The members' folders (what `learn eval` reads).
    pub members: Vec<String>,
    /// The model options every fold shares (one seed: the folds differ by their data).
    pub options: FitParams,
    /// The training data.
    pub data: String,
    /// Training rows.
    pub train_rows: usize,
    /// Threads the run used.
    pub threads: usize,
}

/// What `learn cv` wrote.
pub struct CvOutcome {
    /// cv.json's content.
    pub record: CvRecord,
    /// Files written.
    pub files: Vec<PathBuf>,
}

/// Plain k-fold cross-validation: K trainings of the model `params` describes, each on
/// all but one of the K shards diffusion would use, validated on that shard; writes
/// `fold_NN/` folders and cv.json into `out`. The folds train in parallel on the pool.
pub fn learn_cv(
    data: &Path,
    labels: Option<&Path>,
    out: &Path,
    params: &FitParams,
    folds: usize,
    threads: usize,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<CvOutcome> {
    let started = Instant::now();
    let train = read_data(data, labels, Split::Train)?;
    let classes = classes_of(&train.labels);
    let y = class_indices(&train.labels, &classes).expect("from the labels themselves");
    check_labels(&train.inputs, &y)?;
    let checked = params.check(train.inputs.shape, classes.len())?;
    let n = train.inputs.rows();
    if folds < 2 || folds > n {
        return Err(Error::InvalidArgument {
            name: "--folds",
            expected: format!("2 to the number of training rows ({n})"),
            actual: folds.to_string(),
        });
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let pool = thread_pool(threads)?;
    let shards = diffusion::shards(&y, folds, checked.params.seed);
    let trained = Instant::now();
    let shared = Mutex::new(progress);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let steps_each: Vec<usize> = shards
        .iter()
        .map(|s| (n - s.len()).div_ceil(checked.params.batch) * checked.params.epochs)
        .collect();
    let total: usize = steps_each.iter().sum();
    let fitted: Vec<(Fitted, f64, FitParams)> = pool.install(|| {
        shards
            .par_iter()
            .map(|held| {
                let mut inside = vec![true; n];
                for &r in held {
                    inside[r] = false;
                }
                let rows: Vec<usize> = (0..n).filter(|&r| inside[r]).collect();
                let x = train.inputs.select(&rows);
                let yf: Vec<u32> = rows.iter().map(|&r| y[r]).collect();
                let c = &checked;
                let mut on = |p: Progress| {
                    if let Progress::Batch { epoch, loss, .. } = p {
                        let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                        if let Ok(mut cb) = shared.lock() {
                            cb(Progress::Batch {
                                epoch,
                                done: d,
                                of: total,
                                loss,
                            });
                        }
                    }
                };
                let fitted = fit(
                    Labelled {
                        inputs: &x,
                        labels: &yf,
                    },
                    None,
                    c,
                    &mut on,
                )?;
                let xv: Inputs = train.inputs.select(held);
                let pred = predict(&fitted.model, &c.architecture, &xv, 512);
                let yv: Vec<u32> = held.iter().map(|&r| y[r]).collect();
                let acc = accuracy(
                    &argmax_rows(&pred.probabilities, c.architecture.classes),
                    &yv,
                );
                Ok((fitted, acc, c.params.clone()))
            })
            .collect::<std::result::Result<Vec<_>, crate::learn::LearnError>>()
    })?;
    let train_seconds = trained.elapsed().as_secs_f64();
    let names: Vec<String> = (0..folds).map(|i| format!("fold_{i:02}")).collect();
    let mut files = Vec::new();
    let mut fold_records = Vec::new();
    for (i, ((fitted, acc, options), held)) in fitted.into_iter().zip(&shards).enumerate() {
        fold_records.push(FoldRecord {
            name: names[i].clone(),
            validation_rows: held.len(),
            validation_accuracy: acc,
        });
        let record = member_record(&train, &classes, options, &fitted, n - held.len(), 0);
        files.extend(write_member(&out.join(&names[i]), record, fitted)?);
    }
    let accs: Vec<f64> = fold_records.iter().map(|f| f.validation_accuracy).collect();
    let k = folds as f64;
    // Every row is validated once: the pooled accuracy weights folds by their size.
    let est = fold_records
        .iter()
        .map(|f| f.validation_accuracy * f.validation_rows as f64)
        .sum::<f64>()
        / n as f64;
    let mean = accs.iter().sum::<f64>() / k;
    let sd = (accs.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (k - 1.0)).sqrt();
    let binomial = (est * (1.0 - est) / n as f64).sqrt();
    let mut record = CvRecord {
        estimate: est,
        estimate_error: (sd / k.sqrt()).max(binomial),
        folds: fold_records,
        seconds: 0.0,
        train_seconds,
        members: names,
        options: checked.params.clone(),
        data: train.source.clone(),
        train_rows: n,
        threads: pool.current_num_threads(),
    };
    record.seconds = started.elapsed().as_secs_f64();
    let json = serde_json::to_vec_pretty(&record).expect("serialisable");
    files.push(write_atomic(&out.join("cv.json"), &json)?);
    Ok(CvOutcome { record, files })
}
