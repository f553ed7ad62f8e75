//! Parameter diffusion: K replicas of one model, each trained on its own 1/K shard of the
//! data, mixing parameters with their neighbours every T steps; and the generalisation
//! estimate their isolation leaves (README, "Parameter diffusion").
//!
//! Every exchange is a fixed row-stochastic mixing matrix `W` (from the coupling A and the
//! topology) applied to the replicas' flat parameters. The same matrix moves an
//! *influence* ledger: how much of each replica's learning came from each shard, counted
//! in learning-rate-weighted steps. A shard's rows are scored by the replicas its data
//! reached least, weighted by their isolation from it: out-of-bag estimation, with the
//! bag blurred by diffusion.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::data::Inputs;
use super::error::{LearnError, invalid};
use super::metrics::argmax_rows;
use super::model::{Classifier, flat_parameters, with_parameters};
use super::params::{Architecture, Checked};
use super::train::{
    EpochRecord, Fitted, Labelled, Predictions, Progress, Trainer, TrainerState, predict,
    rate_factor,
};
use crate::engine::rng::Rng;

/// Which replicas mix with which.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Topology {
    /// Each replica with its two neighbours on a ring (A/2 from each).
    Ring,
    /// Each replica takes from its predecessor on the ring only (A from it).
    Oneway,
    /// Each replica with the mean of all (A = 1: one consensus model).
    Complete,
}

impl Topology {
    /// The name the CLI and the files use.
    pub fn as_str(self) -> &'static str {
        match self {
            Topology::Ring => "ring",
            Topology::Oneway => "oneway",
            Topology::Complete => "complete",
        }
    }
}

impl std::str::FromStr for Topology {
    type Err = LearnError;
    fn from_str(s: &str) -> Result<Self, LearnError> {
        match s {
            "ring" => Ok(Topology::Ring),
            "oneway" => Ok(Topology::Oneway),
            "complete" => Ok(Topology::Complete),
            _ => Err(invalid("topology", "ring, oneway, complete", s)),
        }
    }
}

/// What a diffusion run is asked for. [`DiffusionParams::check`] turns it into a
/// [`DiffusionPlan`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiffusionParams {
    /// K: replicas, one shard each.
    pub replicas: usize,
    /// A: the weight a replica gives its neighbours at an exchange, in [0, 1].
    pub coupling: f64,
    /// T: steps between exchanges.
    pub exchange: usize,
    /// Which replicas are neighbours.
    pub topology: Topology,
}

impl Default for DiffusionParams {
    fn default() -> Self {
        DiffusionParams {
            replicas: 4,
            coupling: 0.5,
            exchange: 10,
            topology: Topology::Ring,
        }
    }
}

/// Options that passed [`DiffusionParams::check`], with their mixing matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct DiffusionPlan {
    /// The options.
    pub params: DiffusionParams,
    /// `W`, K x K row-major: replica i's parameters after an exchange are
    /// `sum_j W[i][j] theta_j`.
    pub mixing: Vec<f64>,
}

impl DiffusionParams {
    /// Check the options against the number of training rows.
    pub fn check(&self, rows: usize) -> Result<DiffusionPlan, LearnError> {
        let k = self.replicas;
        if k < 2 {
            return Err(invalid("diffusion", "2 or more replicas", k));
        }
        if k > rows {
            return Err(invalid(
                "diffusion",
                format!("at most one replica a training row ({rows} rows)"),
                k,
            ));
        }
        if k > 1024 {
            return Err(invalid("diffusion", "at most 1024 replicas", k));
        }
        if !(self.coupling.is_finite() && (0.0..=1.0).contains(&self.coupling)) {
            return Err(invalid("coupling", "in [0, 1]", self.coupling));
        }
        if self.exchange == 0 {
            return Err(invalid("exchange", "1 or more steps", 0));
        }
        Ok(DiffusionPlan {
            params: self.clone(),
            mixing: mixing_matrix(k, self.coupling, self.topology),
        })
    }
}

/// The mixing matrix of K replicas at coupling `a` (row-stochastic; doubly stochastic
/// for every topology here, so the replicas' mean is kept by an exchange).
pub fn mixing_matrix(k: usize, a: f64, topology: Topology) -> Vec<f64> {
    let mut w = vec![0.0; k * k];
    for i in 0..k {
        w[i * k + i] = 1.0 - a;
        match topology {
            Topology::Ring => {
                w[i * k + (i + 1) % k] += a / 2.0;
                w[i * k + (i + k - 1) % k] += a / 2.0;
            }
            Topology::Oneway => w[i * k + (i + k - 1) % k] += a,
            Topology::Complete => {
                for j in 0..k {
                    w[i * k + j] += a / k as f64;
                }
            }
        }
    }
    w
}

/// The neighbour pairs whose distances an exchange records.
pub fn neighbour_pairs(k: usize, topology: Topology) -> Vec<[usize; 2]> {
    match topology {
        Topology::Complete => (0..k)
            .flat_map(|i| (i + 1..k).map(move |j| [i, j]))
            .collect(),
        _ if k == 2 => vec![[0, 1]],
        _ => (0..k).map(|i| [i, (i + 1) % k]).collect(),
    }
}

/// K shards of the rows, stratified by label and drawn from `seed`: each class is dealt
/// round the shards in a random order, so shard sizes differ by at most one row and every
/// shard holds about 1/K of each class. Each shard lists its rows in increasing order.
pub fn shards(labels: &[u32], k: usize, seed: u64) -> Vec<Vec<usize>> {
    let classes = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (i, &l) in labels.iter().enumerate() {
        by_class[l as usize].push(i);
    }
    let mut rng = Rng::for_item(seed, 0x5_4A2D);
    let mut out = vec![Vec::new(); k];
    let mut next = 0;
    for rows in &mut by_class {
        for i in (1..rows.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            rows.swap(i, j);
        }
        for &r in rows.iter() {
            out[next].push(r);
            next = (next + 1) % k;
        }
    }
    for s in &mut out {
        s.sort_unstable();
    }
    out
}

/// Replica parameters after one exchange: `theta_i <- sum_j W[i][j] theta_j`, summed in
/// float64 in replica order (so replicas with equal rows of `W` get equal bits).
pub fn mix(params: &[&[Vec<f32>]], w: &[f64]) -> Vec<Vec<Vec<f32>>> {
    let k = params.len();
    (0..k)
        .map(|i| {
            let row = &w[i * k..(i + 1) * k];
            (0..params[i].len())
                .map(|t| {
                    let mut acc = vec![0f64; params[i][t].len()];
                    for (j, &wij) in row.iter().enumerate() {
                        if wij == 0.0 {
                            continue;
                        }
                        for (a, &v) in acc.iter_mut().zip(&params[j][t]) {
                            *a += wij * v as f64;
                        }
                    }
                    acc.into_iter().map(|v| v as f32).collect()
                })
                .collect()
        })
        .collect()
}

/// The Euclidean distance between two replicas' parameters.
pub fn distance(a: &[Vec<f32>], b: &[Vec<f32>]) -> f64 {
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| x.iter().zip(y))
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// One exchange, as diffusion.json records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    /// Steps each replica had taken (the longest shard's count).
    pub step: usize,
    /// Parameter distance of each neighbour pair ([`neighbour_pairs`]' order) just
    /// before the mix.
    pub distances: Vec<f64>,
}

/// The replicas' accuracy on the probe rows at an epoch's end.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Steps taken (the longest shard's count).
    pub step: usize,
    /// Epochs done.
    pub epoch: usize,
    /// Each replica's accuracy.
    pub replicas: Vec<f64>,
    /// The ensemble's (mean of probabilities).
    pub ensemble: f64,
}

/// Rows to watch training with (labels for the curve) and to measure disagreement on.
#[derive(Clone, Copy)]
pub struct Probe<'a> {
    /// The rows.
    pub inputs: &'a Inputs,
    /// Their labels, when known (only the curve reads them).
    pub labels: Option<&'a [u32]>,
}

/// A finished diffusion run.
pub struct Diffused {
    /// The replicas, each with its epoch history (test accuracy: on the probe).
    pub replicas: Vec<Fitted>,
    /// Each replica's shard (rows of the training data).
    pub shards: Vec<Vec<usize>>,
    /// Influence, K x K: row i is how replica i's learning divides between the shards.
    pub influence: Vec<Vec<f64>>,
    /// Every exchange.
    pub exchanges: Vec<Exchange>,
    /// Accuracy over training (empty without probe labels).
    pub curve: Vec<CurvePoint>,
    /// Training rows every replica saw at the start (the SKM's initial support points):
    /// the estimate does not score them.
    pub shared_rows: Vec<usize>,
}

/// A replica's options: the run's, with the batch shared between the K replicas
/// (`batch / K` rows a step, at least 1). Together they then take as many steps over
/// the data as one training with the run's batch: the same budget per row, and with
/// full coupling, the same steps as data-parallel training (local SGD).
pub fn replica_options(checked: &Checked, k: usize) -> Checked {
    let mut c = checked.clone();
    c.params.batch = (checked.params.batch / k).max(1);
    c
}

/// The probe rows the curve reads: at most this many, spread evenly.
pub const CURVE_ROWS: usize = 2000;

/// A replica between exchanges: its trainer's whole state and its epochs so far. A run
/// can stop here and go on (in another process, on another machine) with the same
/// result.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicaState {
    /// The trainer.
    pub trainer: TrainerState,
    /// One record an epoch done (test accuracy: on the probe, once the curve measured it).
    pub history: Vec<EpochRecord>,
}

/// A diffusion run's bookkeeping between rounds, beside its replicas' states: where the
/// run is, the influence ledger, and what it has recorded. It goes to JSON and back
/// unchanged (a Dask client holds it between rounds).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    /// The shards (rows of the training data), one a replica.
    pub shards: Vec<Vec<usize>>,
    /// Training rows every replica saw at the start ([`Diffused::shared_rows`]).
    pub shared_rows: Vec<usize>,
    /// Each replica's steps over the whole run.
    pub total_steps: Vec<usize>,
    /// The step the last round ended at (0 before the first).
    pub round_end: usize,
    /// `mass[i][j]`: learning-rate-weighted steps of shard j's gradients in replica i.
    pub mass: Vec<Vec<f64>>,
    /// Every exchange so far.
    pub exchanges: Vec<Exchange>,
    /// Accuracy over training so far.
    pub curve: Vec<CurvePoint>,
    /// Each replica's epochs done at the last exchange.
    pub epochs: Vec<usize>,
}

impl Ledger {
    /// The step the next round ends at, or `None` when the run is done.
    pub fn next_round(&self, plan: &DiffusionPlan) -> Option<usize> {
        let longest = self.total_steps.iter().copied().max().unwrap_or(0);
        (self.round_end < longest).then(|| (self.round_end + plan.params.exchange).min(longest))
    }

    /// Whether every round is done.
    pub fn finished(&self) -> bool {
        let longest = self.total_steps.iter().copied().max().unwrap_or(0);
        self.round_end >= longest
    }
}

/// The start of a diffusion run: its ledger and K replicas at step 0.
///
/// Every replica starts from one model, initialised as [`super::fit`] would on all of
/// `train` (parameters averaged between networks of different starts mean nothing). Its
/// SKM support points start on training rows, so those rows are seen by every replica:
/// [`Ledger::shared_rows`] lists them. Each replica then orders its shard with the run's
/// seed; with A = 0 they are K independent trainings from that start.
pub fn start(
    train: Labelled,
    checked: &Checked,
    plan: &DiffusionPlan,
) -> Result<(Ledger, Vec<ReplicaState>), LearnError> {
    let k = plan.params.replicas;
    plan.params.check(train.inputs.rows())?;
    let shards = shards(train.labels, k, checked.params.seed);
    let first = Trainer::new(train, checked)?;
    let shared_rows = first.support_rows().to_vec();
    let common = flat_parameters(first.model());
    drop(first);
    let each = replica_options(checked, k);
    let mut total_steps = Vec::with_capacity(k);
    let states = shards
        .iter()
        .map(|rows| {
            let (inputs, labels) = train.select(rows);
            let mut t = Trainer::new(
                Labelled {
                    inputs: &inputs,
                    labels: &labels,
                },
                &each,
            )?;
            let own = t.model().clone();
            t.set_model(with_parameters(own, common.clone(), None));
            total_steps.push(t.total_steps());
            Ok(ReplicaState {
                trainer: t.state(),
                history: Vec::new(),
            })
        })
        .collect::<Result<Vec<_>, LearnError>>()?;
    let ledger = Ledger {
        shards,
        shared_rows,
        total_steps,
        round_end: 0,
        mass: vec![vec![0.0; k]; k],
        exchanges: Vec::new(),
        curve: Vec::new(),
        epochs: vec![0; k],
    };
    Ok((ledger, states))
}

/// One replica's round: from `state`, train on its `shard` (as [`Labelled::select`] cut it)
/// up to step `until` (or the run's end). `each` is [`replica_options`] of the run's.
pub fn round(
    shard: Labelled,
    each: &Checked,
    state: ReplicaState,
    until: usize,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<ReplicaState, LearnError> {
    let ReplicaState {
        trainer,
        mut history,
    } = state;
    let mut tr = Trainer::restore(shard, each, trainer)?;
    while tr.steps_done() < until && !tr.finished() {
        if let Some(r) = tr.step(progress)? {
            history.push(r);
        }
    }
    Ok(ReplicaState {
        trainer: tr.state(),
        history,
    })
}

/// The exchange after the round that ended at `round_end`: the influence ledger takes
/// the round's steps, the neighbours' distances are recorded, and the replicas' parameters
/// mix as `plan` says. Returns whether some replica finished an epoch in the round (the
/// curve is then due: [`curve_point`]).
pub fn exchange(
    plan: &DiffusionPlan,
    ledger: &mut Ledger,
    round_end: usize,
    states: &mut [ReplicaState],
) -> bool {
    let k = states.len();
    let before = ledger.round_end;
    for (i, total) in ledger.total_steps.iter().enumerate() {
        for s in before.min(*total)..round_end.min(*total) {
            ledger.mass[i][i] += rate_factor(s, *total);
        }
    }
    let pairs = neighbour_pairs(k, plan.params.topology);
    let params: Vec<&[Vec<f32>]> = states.iter().map(|s| &s.trainer.params[..]).collect();
    ledger.exchanges.push(Exchange {
        step: round_end,
        distances: pairs
            .iter()
            .map(|&[i, j]| distance(params[i], params[j]))
            .collect(),
    });
    if plan.params.coupling > 0.0 {
        let mixed = mix(&params, &plan.mixing);
        for (s, v) in states.iter_mut().zip(mixed) {
            s.trainer.params = v;
        }
        let mass = &ledger.mass;
        ledger.mass = (0..k)
            .map(|i| {
                (0..k)
                    .map(|j| (0..k).map(|l| plan.mixing[i * k + l] * mass[l][j]).sum())
                    .collect()
            })
            .collect();
    }
    let mut ended = false;
    for (seen, s) in ledger.epochs.iter_mut().zip(states.iter()) {
        ended |= s.trainer.epoch > *seen;
        *seen = s.trainer.epoch;
    }
    ledger.round_end = round_end;
    ended
}

/// A model on the plain device from a replica's state.
pub fn replica_model(a: &Architecture, state: &ReplicaState) -> Classifier {
    let skeleton = Classifier::skeleton(a, &super::train::device());
    with_parameters(skeleton, state.trainer.params.clone(), None)
}

/// The probe rows the curve reads: at most [`CURVE_ROWS`], spread evenly, with their
/// labels (`None` without labels).
pub fn curve_rows(probe: Option<Probe>) -> Option<(Inputs, Vec<u32>)> {
    let p = probe?;
    let labels = p.labels?;
    let m = p.inputs.rows();
    let take: Vec<usize> = if m <= CURVE_ROWS {
        (0..m).collect()
    } else {
        (0..CURVE_ROWS).map(|i| i * m / CURVE_ROWS).collect()
    };
    Some((
        p.inputs.select(&take),
        take.iter().map(|&i| labels[i]).collect(),
    ))
}

/// The curve's point after an exchange that ended an epoch: every replica's accuracy on
/// the curve rows, and the ensemble's; each replica's last epoch record takes its own.
pub fn curve_point(
    a: &Architecture,
    ledger: &mut Ledger,
    states: &mut [ReplicaState],
    rows: &Inputs,
    labels: &[u32],
) -> CurvePoint {
    let preds: Vec<Predictions> = states
        .par_iter()
        .map(|s| predict(&replica_model(a, s), a, rows, 512))
        .collect();
    let acc = |p: &[f32]| super::metrics::accuracy(&argmax_rows(p, a.classes), labels);
    let epoch = states.iter().map(|s| s.trainer.epoch).min().unwrap_or(0);
    for (s, p) in states.iter_mut().zip(&preds) {
        if let Some(last) = s.history.last_mut()
            && last.test_accuracy.is_none()
        {
            last.test_accuracy = Some(acc(&p.probabilities));
        }
    }
    let point = CurvePoint {
        step: ledger.round_end,
        epoch,
        replicas: preds.iter().map(|p| acc(&p.probabilities)).collect(),
        ensemble: acc(&mean_probabilities(&preds)),
    };
    ledger.curve.push(point.clone());
    point
}

/// The finished run from its ledger and its replicas' final states.
pub fn finish(a: &Architecture, ledger: Ledger, states: Vec<ReplicaState>) -> Diffused {
    let influence = ledger
        .mass
        .iter()
        .map(|row| {
            let s: f64 = row.iter().sum();
            row.iter()
                .map(|v| if s > 0.0 { v / s } else { 0.0 })
                .collect()
        })
        .collect();
    let replicas = states
        .into_iter()
        .map(|s| Fitted {
            calibration: None,
            model: replica_model(a, &s),
            architecture: a.clone(),
            history: s.history,
        })
        .collect();
    Diffused {
        replicas,
        shards: ledger.shards,
        influence,
        exchanges: ledger.exchanges,
        curve: ledger.curve,
        shared_rows: ledger.shared_rows,
    }
}

/// What [`diffuse`] hands the ledger and states to, after every exchange (`false`) and
/// when the run stops part way (`true`).
pub type Checkpointer<'a> =
    dyn FnMut(&Ledger, &[ReplicaState], bool) -> Result<(), LearnError> + 'a;

/// Train K replicas as `plan` says, each on its shard of `train`, in parallel on the
/// current rayon pool: [`start`], then rounds of [`round`] and [`exchange`] (the curve
/// measured on `probe` at epoch ends), then [`finish`]. `resume`, when given, is a
/// ledger and states an earlier run of the same data and options saved after an
/// exchange; `checkpoint` sees the ledger and states after every exchange, and once
/// more, with `true`, when the run stops part way (an interruption, a failed step): the
/// states of the last exchange, to save for a later run to go on from.
pub fn diffuse(
    train: Labelled,
    probe: Option<Probe>,
    checked: &Checked,
    plan: &DiffusionPlan,
    resume: Option<(Ledger, Vec<ReplicaState>)>,
    checkpoint: &mut Checkpointer,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Diffused, LearnError> {
    let a = &checked.architecture;
    let (mut ledger, mut states) = match resume {
        Some(r) => r,
        None => start(train, checked, plan)?,
    };
    let k = plan.params.replicas;
    if ledger.shards.len() != k || states.len() != k {
        return Err(LearnError::State(format!(
            "{} shards and {} replicas saved, for a run of {k} replicas",
            ledger.shards.len(),
            states.len()
        )));
    }
    let each = replica_options(checked, k);
    let shard_data: Vec<(Inputs, Vec<u32>)> = ledger
        .shards
        .iter()
        .map(|rows| train.select(rows))
        .collect();
    let curve = curve_rows(probe);
    let total: usize = ledger.total_steps.iter().sum();
    let done = AtomicUsize::new(states.iter().map(|s| s.trainer.step).sum());
    let shared = Mutex::new(progress);
    while let Some(round_end) = ledger.next_round(plan) {
        // The last exchange's states, kept until the round has gone through.
        let kept = states.clone();
        let next: Vec<Result<ReplicaState, LearnError>> = states
            .into_par_iter()
            .zip(&shard_data)
            .map(|(state, (inputs, labels))| {
                let mut on = |p: Progress| {
                    if let Progress::Batch { epoch, loss, .. } = p {
                        let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                        if let Ok(mut f) = shared.lock() {
                            f(Progress::Batch {
                                epoch,
                                done: d,
                                of: total,
                                loss,
                            });
                        }
                    }
                };
                round(
                    Labelled { inputs, labels },
                    &each,
                    state,
                    round_end,
                    &mut on,
                )
            })
            .collect();
        states = match next.into_iter().collect::<Result<_, _>>() {
            Ok(s) => s,
            Err(e) => {
                checkpoint(&ledger, &kept, true)?;
                return Err(e);
            }
        };
        if exchange(plan, &mut ledger, round_end, &mut states)
            && let Some((inputs, labels)) = &curve
        {
            let point = curve_point(a, &mut ledger, &mut states, inputs, labels);
            if let Ok(mut f) = shared.lock()
                && let Some(s) = states.iter().find(|s| s.trainer.epoch == point.epoch)
                && let Some(last) = s.history.last()
            {
                f(Progress::Epoch(last));
            }
        }
        checkpoint(&ledger, &states, false)?;
    }
    Ok(finish(a, ledger, states))
}

/// The mean of the replicas' class probabilities, row by row.
pub fn mean_probabilities(preds: &[Predictions]) -> Vec<f32> {
    let k = preds.len() as f64;
    let len = preds.first().map_or(0, |p| p.probabilities.len());
    (0..len)
        .map(|i| (preds.iter().map(|p| p.probabilities[i] as f64).sum::<f64>() / k) as f32)
        .collect()
}

/// How isolated replica i is from shard j: `1 - F[i][j] / F[j][j]`, clipped to [0, 1],
/// and 0 for a replica's own shard. With A = 0 every other replica is fully isolated; a
/// replica that learned from shard j as much as j's own did is not isolated at all.
pub fn isolation(influence: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let k = influence.len();
    (0..k)
        .map(|i| {
            (0..k)
                .map(|j| {
                    let own = influence[j][j];
                    if i == j || own <= 0.0 {
                        0.0
                    } else {
                        (1.0 - influence[i][j] / own).clamp(0.0, 1.0)
                    }
                })
                .collect()
        })
        .collect()
}

/// The generalisation estimate of a diffusion run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Predicted test accuracy of the ensemble: the isolation-weighted out-of-shard score.
    pub estimate: f64,
    /// One standard error.
    pub estimate_error: f64,
    /// The alternative: each shard's replica accuracies regressed on their exposure to
    /// it and read at zero exposure, plus the ensemble's gain over its members (`None`
    /// when every replica saw every shard alike).
    pub extrapolated: Option<f64>,
    /// One standard error of `extrapolated`.
    pub extrapolated_error: Option<f64>,
    /// Per replica: its accuracy on the other shards' scored rows, weighted by its
    /// isolation from each.
    pub replicas: Vec<f64>,
    /// Per shard: the isolation-weighted ensemble's accuracy on it.
    pub shards: Vec<f64>,
    /// K x K: replica i's accuracy on shard j's scored rows.
    pub pair_accuracy: Vec<Vec<f64>>,
    /// Rows scored.
    pub rows: usize,
    /// Mean isolation of a shard from the replicas that score it (0: none, every score
    /// is in-sample and the estimate is optimistic).
    pub isolation: f64,
}

/// Predictions the estimate makes in all (every replica on every shard's scored rows):
/// each shard scores `ESTIMATE_PREDICTIONS / K^2` rows, spread evenly, at least 250.
pub const ESTIMATE_PREDICTIONS: usize = 32_000;

/// Score each shard's rows by the other replicas, weighted by their isolation from it
/// ([`isolation`]): the estimate of the ensemble's accuracy on new data, with a standard
/// error from the spread between shards (and no smaller than the binomial one). Rows in
/// `shared` (seen by every replica) are not scored. The extrapolated alternative is
/// computed from the same predictions.
pub fn estimate(
    replicas: &[Fitted],
    train: Labelled,
    shards: &[Vec<usize>],
    influence: &[Vec<f64>],
    shared: &[usize],
) -> Estimate {
    let k = replicas.len();
    let a = &replicas[0].architecture;
    let mut w = isolation(influence);
    // Every off-diagonal entry once: the mean over shards of the mean over the others.
    let mean_isolation = w.iter().flatten().sum::<f64>() / ((k - 1) * k) as f64;
    if w.iter().flatten().all(|&v| v == 0.0) {
        // No isolation at all (a consensus): score by the other replicas evenly, and
        // say so through `isolation`.
        w = (0..k)
            .map(|i| (0..k).map(|j| if i == j { 0.0 } else { 1.0 }).collect())
            .collect();
    }
    let mut seen = vec![false; train.inputs.rows()];
    for &r in shared {
        seen[r] = true;
    }
    let per_shard = (ESTIMATE_PREDICTIONS / (k * k)).max(250);
    let scored: Vec<Vec<usize>> = shards
        .iter()
        .map(|rows| {
            let rows: Vec<usize> = rows.iter().copied().filter(|&r| !seen[r]).collect();
            let m = rows.len();
            if m <= per_shard {
                rows
            } else {
                (0..per_shard).map(|i| rows[i * m / per_shard]).collect()
            }
        })
        .collect();
    // pred[i][j]: replica i on shard j's scored rows.
    let pred: Vec<Vec<Predictions>> = (0..k)
        .into_par_iter()
        .map(|i| {
            (0..k)
                .map(|j| predict(&replicas[i].model, a, &train.inputs.select(&scored[j]), 512))
                .collect()
        })
        .collect();
    let c = a.classes;
    let right = |labels: &[u32], rows: &[usize]| {
        labels
            .iter()
            .zip(rows)
            .filter(|(l, r)| **l == train.labels[**r])
            .count() as f64
            / rows.len().max(1) as f64
    };
    let pair_accuracy: Vec<Vec<f64>> = (0..k)
        .map(|i| {
            (0..k)
                .map(|j| right(&pred[i][j].labels(), &scored[j]))
                .collect()
        })
        .collect();
    let mut shard_acc = vec![0.0; k];
    let mut members_acc = vec![0.0; k];
    for j in 0..k {
        let rows = &scored[j];
        let wsum: f64 = (0..k).map(|i| w[i][j]).sum();
        let mut p = vec![0f32; rows.len() * c];
        for i in 0..k {
            let share = w[i][j] / wsum;
            if share > 0.0 {
                for (acc, &v) in p.iter_mut().zip(&pred[i][j].probabilities) {
                    *acc += (share * v as f64) as f32;
                }
                members_acc[j] += share * pair_accuracy[i][j];
            }
        }
        shard_acc[j] = right(&argmax_rows(&p, c), rows);
    }
    let m: usize = scored.iter().map(Vec::len).sum();
    let share: Vec<f64> = scored
        .iter()
        .map(|r| r.len() as f64 / m.max(1) as f64)
        .collect();
    let pooled = |v: &[f64]| v.iter().zip(&share).map(|(a, s)| a * s).sum::<f64>();
    let spread = |v: &[f64], mean: f64| {
        (k as f64 / (k as f64 - 1.0)
            * v.iter()
                .zip(&share)
                .map(|(a, s)| (s * (a - mean)).powi(2))
                .sum::<f64>())
        .sqrt()
    };
    let est = pooled(&shard_acc);
    let binomial = (est * (1.0 - est) / m.max(1) as f64).sqrt();

    // The alternative: per shard, replica accuracy against exposure (F_ij / F_jj; 1 for
    // the shard's own replica), a least-squares line read at 0, plus the ensemble's gain.
    let exposure = |i: usize, j: usize| {
        if i == j || influence[j][j] <= 0.0 {
            1.0
        } else {
            (influence[i][j] / influence[j][j]).clamp(0.0, 1.0)
        }
    };
    let at_zero: Vec<Option<f64>> = (0..k)
        .map(|j| {
            let xs: Vec<f64> = (0..k).map(|i| exposure(i, j)).collect();
            let ys: Vec<f64> = (0..k).map(|i| pair_accuracy[i][j]).collect();
            let (mx, my) = (
                xs.iter().sum::<f64>() / k as f64,
                ys.iter().sum::<f64>() / k as f64,
            );
            let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
            if sxx < 1e-9 {
                return None;
            }
            let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
            Some(my - sxy / sxx * mx + (shard_acc[j] - members_acc[j]))
        })
        .collect();
    let (extrapolated, extrapolated_error) =
        match at_zero.iter().copied().collect::<Option<Vec<f64>>>() {
            Some(g) => {
                let e = pooled(&g);
                (Some(e), Some(spread(&g, e).max(binomial)))
            }
            None => (None, None),
        };
    let replica_estimate = (0..k)
        .map(|i| {
            let wsum: f64 = (0..k).map(|j| w[i][j] * scored[j].len() as f64).sum();
            if wsum > 0.0 {
                (0..k)
                    .map(|j| w[i][j] * scored[j].len() as f64 * pair_accuracy[i][j])
                    .sum::<f64>()
                    / wsum
            } else {
                f64::NAN
            }
        })
        .collect();
    Estimate {
        estimate: est,
        estimate_error: spread(&shard_acc, est).max(binomial),
        extrapolated,
        extrapolated_error,
        replicas: replica_estimate,
        shards: shard_acc,
        pair_accuracy,
        rows: m,
        isolation: mean_isolation,
    }
}

/// The replicas' mean pairwise disagreement on unlabelled rows (the share of rows two
/// replicas label differently, averaged over pairs), and its standard error over rows.
pub fn disagreement(preds: &[Predictions]) -> (f64, f64) {
    let labels: Vec<Vec<u32>> = preds.iter().map(Predictions::labels).collect();
    let k = labels.len();
    let n = labels.first().map_or(0, Vec::len);
    if k < 2 || n == 0 {
        return (0.0, 0.0);
    }
    let pairs = (k * (k - 1) / 2) as f64;
    let per_row: Vec<f64> = (0..n)
        .map(|r| {
            let mut d = 0usize;
            for i in 0..k {
                for j in i + 1..k {
                    d += usize::from(labels[i][r] != labels[j][r]);
                }
            }
            d as f64 / pairs
        })
        .collect();
    let mean = per_row.iter().sum::<f64>() / n as f64;
    let var = per_row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n.max(2) - 1) as f64;
    (mean, (var / n as f64).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::{FitParams, Head, InputShape, Net, fit};

    /// Three overlapping Gaussian classes in 4-D, `per` rows each.
    fn blobs(per: usize, seed: u64) -> (Inputs, Vec<u32>) {
        let mut rng = Rng::new(seed);
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for _ in 0..per {
            for c in 0..3u32 {
                for f in 0..4 {
                    let centre = if f as u32 == c { 1.5 } else { 0.0 };
                    x.push((centre + rng.normal()) as f32);
                }
                y.push(c);
            }
        }
        (
            Inputs::new(x, InputShape::Vector { features: 4 }).unwrap(),
            y,
        )
    }

    fn checked(head: Head) -> Checked {
        FitParams {
            head,
            net: Net::Mlp,
            epochs: 3,
            batch: 16,
            embed: 6,
            hidden: 12,
            learning_rate: 1e-2,
            ..Default::default()
        }
        .check(InputShape::Vector { features: 4 }, 3)
        .unwrap()
    }

    fn run(x: &Inputs, y: &[u32], c: &Checked, d: DiffusionParams) -> Diffused {
        let plan = d.check(x.rows()).unwrap();
        diffuse(
            Labelled {
                inputs: x,
                labels: y,
            },
            None,
            c,
            &plan,
            None,
            &mut |_, _, _| Ok(()),
            &mut |_| {},
        )
        .unwrap()
    }

    #[test]
    fn mixing_matrices_are_doubly_stochastic_and_a_zero_is_the_identity() {
        for topology in [Topology::Ring, Topology::Oneway, Topology::Complete] {
            for k in [2, 3, 5] {
                for a in [0.0, 0.3, 1.0] {
                    let w = mixing_matrix(k, a, topology);
                    for i in 0..k {
                        let row: f64 = (0..k).map(|j| w[i * k + j]).sum();
                        let col: f64 = (0..k).map(|j| w[j * k + i]).sum();
                        assert!((row - 1.0).abs() < 1e-12 && (col - 1.0).abs() < 1e-12);
                        if a == 0.0 {
                            assert_eq!(w[i * k + i], 1.0);
                        }
                    }
                }
            }
        }
        // Ring of 4 at A = 0.5: a quarter from each neighbour, nothing from the far side.
        let w = mixing_matrix(4, 0.5, Topology::Ring);
        assert_eq!(&w[..4], &[0.5, 0.25, 0.0, 0.25]);
        let w = mixing_matrix(4, 0.5, Topology::Oneway);
        assert_eq!(&w[..4], &[0.5, 0.0, 0.0, 0.5]);
    }

    #[test]
    fn shards_partition_the_rows_by_class() {
        let labels: Vec<u32> = (0..103).map(|i| (i % 3) as u32).collect();
        let s = shards(&labels, 4, 7);
        let mut all: Vec<usize> = s.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..103).collect::<Vec<_>>());
        let sizes: Vec<usize> = s.iter().map(Vec::len).collect();
        assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
        for shard in &s {
            for c in 0..3 {
                let n = shard.iter().filter(|&&r| labels[r] == c).count();
                assert!((8..=9).contains(&n), "class {c}: {n} rows in a shard");
            }
        }
        assert_eq!(s, shards(&labels, 4, 7));
        assert_ne!(s, shards(&labels, 4, 8));
    }

    #[test]
    fn parameters_flatten_and_load_back() {
        let (x, y) = blobs(20, 1);
        let c = checked(Head::Skm);
        let f = fit(
            Labelled {
                inputs: &x,
                labels: &y,
            },
            None,
            &c,
            &mut |_| {},
        )
        .unwrap();
        let p = flat_parameters(&f.model);
        assert!(distance(&p, &flat_parameters(&f.model)) == 0.0);
        let doubled: Vec<Vec<f32>> = p
            .iter()
            .map(|t| t.iter().map(|v| 2.0 * v).collect())
            .collect();
        let m = with_parameters(f.model.clone(), doubled.clone(), None);
        assert_eq!(flat_parameters(&m), doubled);
        assert!(distance(&p, &doubled) > 0.0);
    }

    #[test]
    fn the_same_seed_gives_the_same_replicas() {
        let (x, y) = blobs(40, 2);
        let c = checked(Head::Skm);
        let d = DiffusionParams {
            replicas: 3,
            coupling: 0.4,
            exchange: 3,
            topology: Topology::Ring,
        };
        let a = run(&x, &y, &c, d.clone());
        let b = run(&x, &y, &c, d.clone());
        for (ra, rb) in a.replicas.iter().zip(&b.replicas) {
            assert_eq!(flat_parameters(&ra.model), flat_parameters(&rb.model));
        }
        assert_eq!(a.exchanges, b.exchanges);
        // 40 rows a shard, batches of 16 / 3 = 5: 8 steps an epoch, 24 in all, an
        // exchange every 3 and after the last.
        assert_eq!(
            a.exchanges.iter().map(|e| e.step).collect::<Vec<_>>(),
            [3, 6, 9, 12, 15, 18, 21, 24]
        );
        assert!(a.replicas.iter().all(|r| r.history.len() == 3));
        // The SKM's support points start on rows every replica then holds.
        assert_eq!(a.shared_rows.len(), c.architecture.support);
        // Another seed trains other replicas.
        let mut c2 = c.clone();
        c2.params.seed = 1;
        let other = run(&x, &y, &c2, d);
        assert_ne!(
            flat_parameters(&a.replicas[0].model),
            flat_parameters(&other.replicas[0].model)
        );
    }

    #[test]
    fn a_run_stopped_after_an_exchange_goes_on_from_its_saved_states_to_the_same_end() {
        let (x, y) = blobs(40, 4);
        let c = checked(Head::Skm);
        let d = DiffusionParams {
            replicas: 3,
            coupling: 0.3,
            exchange: 5,
            topology: Topology::Ring,
        };
        let plan = d.clone().check(x.rows()).unwrap();
        let data = Labelled {
            inputs: &x,
            labels: &y,
        };
        let whole = run(&x, &y, &c, d);
        let mut saved = None;
        let stopped = diffuse(
            data,
            None,
            &c,
            &plan,
            None,
            &mut |ledger, states, _| {
                if ledger.round_end == 10 {
                    saved = Some((ledger.clone(), states.to_vec()));
                    return Err(LearnError::Interrupted);
                }
                Ok(())
            },
            &mut |_| {},
        );
        assert!(matches!(stopped, Err(LearnError::Interrupted)));
        let resumed = diffuse(
            data,
            None,
            &c,
            &plan,
            saved,
            &mut |_, _, _| Ok(()),
            &mut |_| {},
        )
        .unwrap();
        for (a, b) in whole.replicas.iter().zip(&resumed.replicas) {
            assert_eq!(flat_parameters(&a.model), flat_parameters(&b.model));
            assert_eq!(a.history.len(), b.history.len());
        }
        assert_eq!(whole.exchanges, resumed.exchanges);
        assert_eq!(whole.influence, resumed.influence);
    }

    #[test]
    fn coupling_zero_is_k_independent_trainings() {
        let (x, y) = blobs(30, 3);
        for head in [Head::Skm, Head::Softmax] {
            let c = checked(head);
            let d = DiffusionParams {
                replicas: 3,
                coupling: 0.0,
                exchange: 2,
                topology: Topology::Complete,
            };
            let out = run(&x, &y, &c, d);
            let all = Labelled {
                inputs: &x,
                labels: &y,
            };
            let start = flat_parameters(Trainer::new(all, &c).unwrap().model());
            let each = replica_options(&c, 3);
            assert_eq!(each.params.batch, 5);
            for (i, rows) in out.shards.iter().enumerate() {
                let xi = x.select(rows);
                let yi: Vec<u32> = rows.iter().map(|&r| y[r]).collect();
                let mut alone = Trainer::new(
                    Labelled {
                        inputs: &xi,
                        labels: &yi,
                    },
                    &each,
                )
                .unwrap();
                let own = alone.model().clone();
                alone.set_model(with_parameters(own, start.clone(), None));
                while !alone.finished() {
                    alone.step(&mut |_| {}).unwrap();
                }
                assert_eq!(
                    flat_parameters(&alone.into_model()),
                    flat_parameters(&out.replicas[i].model),
                    "{head:?} replica {i}"
                );
            }
            // Pure out-of-bag: the line through the other replicas (exposure 0) and the
            // own one (1), read at 0 and plus the ensemble's gain, is the other
            // replicas' ensemble score: the two estimates agree.
            let e = estimate(
                &out.replicas,
                all,
                &out.shards,
                &out.influence,
                &out.shared_rows,
            );
            let alt = e.extrapolated.expect("isolation");
            assert!(
                (alt - e.estimate).abs() < 1e-12,
                "{alt} against {}",
                e.estimate
            );
            assert_eq!(e.extrapolated_error, Some(e.estimate_error));
            // No replica learned from another's shard: every other one is isolated.
            for (i, row) in out.influence.iter().enumerate() {
                for (j, &f) in row.iter().enumerate() {
                    assert_eq!(f, if i == j { 1.0 } else { 0.0 });
                }
            }
        }
    }

    #[test]
    fn full_coupling_on_a_complete_graph_is_one_consensus_model() {
        let (x, y) = blobs(30, 4);
        let c = checked(Head::Skm);
        let out = run(
            &x,
            &y,
            &c,
            DiffusionParams {
                replicas: 3,
                coupling: 1.0,
                exchange: 2,
                topology: Topology::Complete,
            },
        );
        let first = flat_parameters(&out.replicas[0].model);
        for r in &out.replicas[1..] {
            assert_eq!(flat_parameters(&r.model), first);
        }
        // Before every mix the replicas had moved apart on their own shards.
        assert!(
            out.exchanges
                .iter()
                .all(|e| e.distances.iter().all(|&d| d > 0.0))
        );
        // Every replica's learning is a third from each shard: no isolation is left.
        for row in &out.influence {
            for &f in row {
                assert!((f - 1.0 / 3.0).abs() < 1e-9, "{:?}", out.influence);
            }
        }
        assert!(
            isolation(&out.influence)
                .iter()
                .flatten()
                .all(|&v| v < 1e-9)
        );
    }

    #[test]
    fn a_ring_isolates_the_far_side_most() {
        let (x, y) = blobs(40, 5);
        let mut c = checked(Head::Softmax);
        c.params.epochs = 30;
        let out = run(
            &x,
            &y,
            &c,
            DiffusionParams {
                replicas: 4,
                coupling: 0.2,
                exchange: 1,
                topology: Topology::Ring,
            },
        );
        let iso = isolation(&out.influence);
        // Replica 2 is opposite shard 0; replicas 1 and 3 are its neighbours.
        assert!(iso[2][0] > iso[1][0] && iso[2][0] > iso[3][0], "{iso:?}");
        assert!((iso[1][0] - iso[3][0]).abs() < 1e-9);
        assert!(iso[1][0] > 0.0 && iso[2][0] < 1.0);
        let e = estimate(
            &out.replicas,
            Labelled {
                inputs: &x,
                labels: &y,
            },
            &out.shards,
            &out.influence,
            &out.shared_rows,
        );
        assert_eq!(e.rows, 120);
        // Classes one standard deviation and a half apart on one axis each: about 3 in 4
        // rows are told right.
        assert!(e.estimate > 0.6 && e.estimate < 0.95, "{e:?}");
        assert!(e.estimate_error > 0.0 && e.estimate_error < 0.2);
        assert!(e.isolation > 0.0 && e.isolation < 1.0);
    }

    #[test]
    fn bad_options_are_refused_with_what_they_accept() {
        for (d, rows, says) in [
            (
                DiffusionParams {
                    replicas: 9,
                    ..Default::default()
                },
                8,
                "at most one replica a training row (8 rows)",
            ),
            (
                DiffusionParams {
                    replicas: 1,
                    ..Default::default()
                },
                8,
                "2 or more replicas",
            ),
            (
                DiffusionParams {
                    coupling: 1.5,
                    ..Default::default()
                },
                8,
                "invalid coupling: expected in [0, 1], got 1.5",
            ),
            (
                DiffusionParams {
                    coupling: f64::NAN,
                    ..Default::default()
                },
                8,
                "invalid coupling",
            ),
            (
                DiffusionParams {
                    exchange: 0,
                    ..Default::default()
                },
                8,
                "invalid exchange: expected 1 or more steps",
            ),
        ] {
            let e = d.check(rows).unwrap_err().to_string();
            assert!(e.contains(says), "{e} should say {says}");
        }
        assert!(
            "star"
                .parse::<Topology>()
                .unwrap_err()
                .to_string()
                .contains("ring, oneway, complete")
        );
    }

    #[test]
    fn disagreement_counts_pairs_that_differ() {
        let pred = |labels: &[u32]| Predictions {
            classes: 2,
            probabilities: labels
                .iter()
                .flat_map(|&l| if l == 0 { [0.9, 0.1] } else { [0.2, 0.8] })
                .collect(),
            confidence: vec![0.0; labels.len()],
            scores: vec![0.0; 2 * labels.len()],
            embedding: Vec::new(),
            embed: 0,
        };
        // Rows: all agree; one of three pairs differs twice over... by hand:
        // row 0: 0,0,0 -> 0 of 3 pairs; row 1: 0,1,1 -> 2 of 3; row 2: 1,1,0 -> 2 of 3.
        let (d, se) = disagreement(&[pred(&[0, 0, 1]), pred(&[0, 1, 1]), pred(&[0, 1, 0])]);
        assert!((d - 4.0 / 9.0).abs() < 1e-12);
        // Per-row values 0, 2/3, 2/3: sample sd 0.3849, over sqrt(3).
        assert!(
            (se - (4.0f64 / 27.0).sqrt() / 3f64.sqrt()).abs() < 1e-12,
            "{se}"
        );
    }
}
