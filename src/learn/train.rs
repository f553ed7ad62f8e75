//! Training and prediction: minibatch AdamW on a cosine schedule, progress per batch and
//! epoch, a stop at Ctrl-C.

use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::calibrate::{self, Calibration};
use super::data::{InputShape, Inputs};
use super::error::LearnError;
use super::metrics::{accuracy, argmax_rows};
use super::model::{
    Classifier, SkmInit, Standardize, flat_parameters_with_ids, loss, parameter_sizes,
    probabilities, with_parameters,
};
use super::params::{Architecture, Augment, Checked, Head};
use crate::engine::rng::Rng;

/// Rows and their labels.
#[derive(Clone, Copy)]
pub struct Labelled<'a> {
    /// The input rows.
    pub inputs: &'a Inputs,
    /// One label a row.
    pub labels: &'a [u32],
}

impl Labelled<'_> {
    /// A copy of the rows at `index`, in that order, with their labels (a diffusion
    /// replica's shard, a calibration hold-out).
    pub fn select(&self, index: &[usize]) -> (Inputs, Vec<u32>) {
        (
            self.inputs.select(index),
            index.iter().map(|&i| self.labels[i]).collect(),
        )
    }
}

/// One epoch of training, as learn.json records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1, 2, ...
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub loss: f64,
    /// Accuracy on the training batches as they were seen (the model moving on).
    pub train_accuracy: f64,
    /// Accuracy on the test rows after the epoch, when they were given.
    pub test_accuracy: Option<f64>,
    /// Wall seconds of the epoch (training only).
    pub seconds: f64,
}

/// What [`fit`] reports while it works.
pub enum Progress<'a> {
    /// A batch is done.
    Batch {
        /// The epoch (1-based).
        epoch: usize,
        /// Batches done in this epoch.
        done: usize,
        /// Batches in an epoch.
        of: usize,
        /// This batch's loss.
        loss: f64,
    },
    /// An epoch is done.
    Epoch(&'a EpochRecord),
}

/// A trained model and how it got there.
pub struct Fitted {
    /// The model (on the plain device: ready to predict and save).
    pub model: Classifier,
    /// What it is.
    pub architecture: Architecture,
    /// One record an epoch.
    pub history: Vec<EpochRecord>,
    /// The SKM head's calibration on held-out training rows, when it had enough rows.
    pub calibration: Option<Calibration>,
}

/// The CPU device models train on.
pub fn device() -> Device {
    Device::flex()
}

fn batch_tensor(inputs: &Inputs, rows: &[usize], device: &Device) -> Tensor<2> {
    let d = inputs.shape.len();
    let mut v = Vec::with_capacity(rows.len() * d);
    for &i in rows {
        v.extend_from_slice(&inputs.values[i * d..(i + 1) * d]);
    }
    Tensor::from_data(TensorData::new(v, [rows.len(), d]), device)
}

/// A training batch with `augment`'s random changes (images only), drawn from `rng`.
fn augmented_batch(
    inputs: &Inputs,
    rows: &[usize],
    augment: Augment,
    rng: &mut Rng,
    device: &Device,
) -> Tensor<2> {
    let InputShape::Image {
        channels,
        height,
        width,
    } = inputs.shape
    else {
        return batch_tensor(inputs, rows, device);
    };
    let (shift, flip) = match augment {
        Augment::None => return batch_tensor(inputs, rows, device),
        Augment::Shift => (true, false),
        Augment::Flip => (false, true),
        Augment::ShiftFlip => (true, true),
    };
    let d = inputs.shape.len();
    let mut v = vec![0f32; rows.len() * d];
    for (out, &i) in v.chunks_exact_mut(d).zip(rows) {
        let src = &inputs.values[i * d..(i + 1) * d];
        let (dy, dx) = if shift {
            (rng.below(5) as isize - 2, rng.below(5) as isize - 2)
        } else {
            (0, 0)
        };
        let mirror = flip && rng.below(2) == 1;
        for c in 0..channels {
            for y in 0..height {
                let sy = y as isize - dy;
                if sy < 0 || sy >= height as isize {
                    continue;
                }
                for x in 0..width {
                    let sx = x as isize - dx;
                    if sx < 0 || sx >= width as isize {
                        continue;
                    }
                    let sx = if mirror {
                        width - 1 - sx as usize
                    } else {
                        sx as usize
                    };
                    out[(c * height + y) * width + x] =
                        src[(c * height + sy as usize) * width + sx];
                }
            }
        }
    }
    Tensor::from_data(TensorData::new(v, [rows.len(), d]), device)
}

/// One model in training: its weights, optimizer, generator and place in the schedule.
/// [`fit`] runs one to the end; a diffusion run steps several in rounds and mixes their
/// parameters between rounds.
pub struct Trainer<'a> {
    train: Labelled<'a>,
    checked: &'a Checked,
    /// Always `Some` between calls (taken for the optimizer's step, which consumes it).
    model: Option<Classifier>,
    /// SKM: the training rows the support points started on.
    support_rows: Vec<usize>,
    optimizer: ModuleOptimizer,
    rng: Rng,
    order: Vec<usize>,
    /// Batches done in the current epoch.
    batch: usize,
    /// Epochs done.
    epoch: usize,
    /// Steps done over the whole run.
    step: usize,
    loss_sum: f64,
    right: usize,
    /// Training seconds of the current epoch before this trainer was (re)built.
    epoch_seconds: f64,
    started: Instant,
}

/// A trainer between steps, whole: what [`Trainer::restore`] needs to go on exactly as
/// the trainer would have (weights with their ids, the optimizer's moments, the
/// generator, the epoch's order and tallies). A diffusion replica travels between
/// exchanges as one of these.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainerState {
    /// Parameter ids, in the module's order (the optimizer's moments are keyed by them).
    pub ids: Vec<u64>,
    /// Parameter values, in the same order.
    pub params: Vec<Vec<f32>>,
    /// The optimizer's state as burn serialises it (burnpack bytes).
    pub optimizer: Vec<u8>,
    /// The generator's words and held-back normal deviate.
    pub rng: ([u64; 4], Option<f64>),
    /// The current epoch's row order.
    pub order: Vec<usize>,
    /// Batches done in the current epoch.
    pub batch: usize,
    /// Epochs done.
    pub epoch: usize,
    /// Steps done.
    pub step: usize,
    /// The current epoch's loss so far.
    pub loss_sum: f64,
    /// The current epoch's right predictions so far.
    pub right: usize,
    /// The current epoch's training seconds so far.
    pub epoch_seconds: f64,
}

fn check_training_rows(train: &Labelled, classes: usize) -> Result<(), LearnError> {
    let n = train.inputs.rows();
    if train.labels.len() != n {
        return Err(LearnError::Data(format!(
            "{} labels for {n} training rows",
            train.labels.len()
        )));
    }
    if n == 0 {
        return Err(LearnError::Data("no training rows".into()));
    }
    if let Some(&l) = train.labels.iter().find(|&&l| l as usize >= classes) {
        return Err(LearnError::Data(format!(
            "label {l} in a model of {classes} classes"
        )));
    }
    Ok(())
}

impl<'a> Trainer<'a> {
    /// A model initialised from the fit's seed on `train` (labels checked against the
    /// architecture), before its first step.
    pub fn new(train: Labelled<'a>, checked: &'a Checked) -> Result<Trainer<'a>, LearnError> {
        let (p, a) = (&checked.params, &checked.architecture);
        check_training_rows(&train, a.classes)?;
        let n = train.inputs.rows();
        let plain = device();
        let autodiff = plain.clone().autodiff();
        let standardize = Standardize::from_rows(
            &train.inputs.values,
            a.input.len(),
            matches!(a.input, InputShape::Vector { .. }),
            &autodiff,
        );
        let mut rng = Rng::new(p.seed);
        let mut model = Classifier::new(a, p.seed, standardize, &autodiff);
        let mut support_rows = Vec::new();
        if a.head == Head::Skm {
            let rows = stratified(train.labels, a.classes, a.support, &mut rng);
            support_rows.clone_from(&rows);
            let z = model
                .valid()
                .features(batch_tensor(train.inputs, &rows, &plain));
            let mut points = z.into_data().try_into_vec::<f32>().expect("f32 embeddings");
            // The embedding's standardisation starts from these rows' statistics, and the
            // support points start on them standardised.
            let d = a.embed;
            let m = rows.len() as f64;
            let mut mean = vec![0f64; d];
            let mut var = vec![0f64; d];
            for r in points.chunks_exact(d) {
                for (k, &v) in r.iter().enumerate() {
                    mean[k] += v as f64 / m;
                }
            }
            for r in points.chunks_exact(d) {
                for (k, &v) in r.iter().enumerate() {
                    var[k] += (v as f64 - mean[k]).powi(2) / m;
                }
            }
            for r in points.chunks_exact_mut(d) {
                for (k, v) in r.iter_mut().enumerate() {
                    *v = ((*v as f64 - mean[k]) / (var[k] + 1e-5).sqrt()) as f32;
                }
            }
            let f = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<_>>();
            model.set_embedding_stats(f(mean), f(var), &autodiff);
            let init = SkmInit {
                points,
                classes: rows.iter().map(|&i| train.labels[i]).collect(),
            };
            model = model.with_skm(&init, a.classes, &autodiff);
        }
        let optimizer = AdamWConfig::new()
            .with_weight_decay(p.weight_decay as f32)
            .init();
        Ok(Trainer {
            train,
            checked,
            model: Some(model),
            support_rows,
            optimizer,
            rng,
            order: (0..n).collect(),
            batch: 0,
            epoch: 0,
            step: 0,
            loss_sum: 0.0,
            right: 0,
            epoch_seconds: 0.0,
            started: Instant::now(),
        })
    }

    /// The trainer as it stands, to [`Trainer::restore`] later or elsewhere.
    pub fn state(&self) -> TrainerState {
        let (ids, params) = flat_parameters_with_ids(self.model());
        let optimizer = self
            .optimizer
            .to_record()
            .into_bytes()
            .expect("an in-memory optimizer record")
            .to_vec();
        let (words, spare) = self.rng.state();
        let running = if self.batch > 0 {
            self.started.elapsed().as_secs_f64()
        } else {
            0.0
        };
        TrainerState {
            ids,
            params,
            optimizer,
            rng: (words, spare),
            order: self.order.clone(),
            batch: self.batch,
            epoch: self.epoch,
            step: self.step,
            loss_sum: self.loss_sum,
            right: self.right,
            epoch_seconds: self.epoch_seconds + running,
        }
    }

    /// A trainer on `train` that goes on from `state` exactly as the trainer
    /// [`Trainer::state`] was taken from would have. A state that does not fit `train`
    /// and `checked` (another model's parameters, another size of data, a damaged
    /// optimizer record) is refused, naming what does not fit.
    pub fn restore(
        train: Labelled<'a>,
        checked: &'a Checked,
        state: TrainerState,
    ) -> Result<Trainer<'a>, LearnError> {
        let (p, a) = (&checked.params, &checked.architecture);
        check_training_rows(&train, a.classes)?;
        let n = train.inputs.rows();
        let bad = |what: String| Err(LearnError::State(what));
        let autodiff = device().autodiff();
        let skeleton = Classifier::skeleton(a, &autodiff);
        let sizes = parameter_sizes(&skeleton);
        let given: Vec<usize> = state.params.iter().map(Vec::len).collect();
        if given != sizes || state.ids.len() != sizes.len() {
            return bad(format!(
                "{} parameters of sizes {given:?} with {} ids, for a {} {} model of sizes {sizes:?}",
                given.len(),
                state.ids.len(),
                a.head.as_str(),
                a.net.as_str()
            ));
        }
        let mut seen = vec![false; n];
        if state.order.len() != n
            || state
                .order
                .iter()
                .any(|&i| i >= n || std::mem::replace(&mut seen[i], true))
        {
            return bad(format!(
                "the row order is not a permutation of the {n} training rows"
            ));
        }
        let batches = n.div_ceil(p.batch);
        if state.batch >= batches
            || state.step != state.epoch * batches + state.batch
            || state.epoch > p.epochs
            || state.right > n
            || !state.loss_sum.is_finite()
            || !state.epoch_seconds.is_finite()
        {
            return bad(format!(
                "step {} at epoch {} batch {} does not fit {batches} batches an epoch for {} epochs",
                state.step, state.epoch, state.batch, p.epochs
            ));
        }
        let optimizer = AdamWConfig::new()
            .with_weight_decay(p.weight_decay as f32)
            .init();
        let record = burn::optim::OptimizerRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(
            state.optimizer,
        ))
        .map_err(|e| LearnError::State(format!("the optimizer record: {e}")))?;
        let model = with_parameters(skeleton, state.params, Some(&state.ids));
        Ok(Trainer {
            train,
            checked,
            model: Some(model),
            support_rows: Vec::new(),
            optimizer: optimizer.load_record(record),
            rng: Rng::from_state(state.rng.0, state.rng.1),
            order: state.order,
            batch: state.batch,
            epoch: state.epoch,
            step: state.step,
            loss_sum: state.loss_sum,
            right: state.right,
            epoch_seconds: state.epoch_seconds,
            started: Instant::now(),
        })
    }

    /// SKM: the training rows the support points started on (none for other heads).
    pub fn support_rows(&self) -> &[usize] {
        &self.support_rows
    }

    /// Gradient steps in an epoch.
    pub fn batches(&self) -> usize {
        self.train.inputs.rows().div_ceil(self.checked.params.batch)
    }

    /// Gradient steps in the whole run.
    pub fn total_steps(&self) -> usize {
        self.batches() * self.checked.params.epochs
    }

    /// Steps done.
    pub fn steps_done(&self) -> usize {
        self.step
    }

    /// Epochs done.
    pub fn epochs_done(&self) -> usize {
        self.epoch
    }

    /// The learning rate at step `s` as a share of the full rate: a cosine from 1 down to
    /// 1/100 over the whole run.
    pub fn rate_factor(&self, s: usize) -> f64 {
        rate_factor(s, self.total_steps())
    }

    /// Whether every epoch is done.
    pub fn finished(&self) -> bool {
        self.step >= self.total_steps()
    }

    /// The model as it stands, on the training (autodiff) device.
    pub fn model(&self) -> &Classifier {
        self.model.as_ref().expect("a model between steps")
    }

    /// Replace the model's parameters (a diffusion exchange); the optimizer's moments
    /// stay as they are.
    pub fn set_model(&mut self, model: Classifier) {
        self.model = Some(model);
    }

    /// One gradient step on the next batch. At an epoch's last batch, the epoch's record
    /// (without test accuracy; the caller measures it) comes back.
    pub fn step(
        &mut self,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<Option<EpochRecord>, LearnError> {
        let (p, a) = (&self.checked.params, &self.checked.architecture);
        let batches = self.batches();
        if self.batch == 0 {
            self.started = Instant::now();
            self.epoch_seconds = 0.0;
            shuffle(&mut self.order, &mut self.rng);
            self.loss_sum = 0.0;
            self.right = 0;
        }
        let epoch = self.epoch + 1;
        let b = self.batch;
        let rows = &self.order[b * p.batch..((b + 1) * p.batch).min(self.order.len())];
        crate::interrupt::check().map_err(|_| LearnError::Interrupted)?;
        let autodiff = device().autodiff();
        let x = augmented_batch(self.train.inputs, rows, p.augment, &mut self.rng, &autodiff);
        let labels: Vec<i64> = rows.iter().map(|&i| self.train.labels[i] as i64).collect();
        let y = Tensor::<1, Int>::from_ints(labels.as_slice(), &autodiff);
        let keep = match self.model().cnn() {
            Some(c) if p.dropout > 0.0 => {
                let w = c.flat_features();
                let scale = (1.0 / (1.0 - p.dropout)) as f32;
                let rng = &mut self.rng;
                let mask: Vec<f32> = (0..rows.len() * w)
                    .map(|_| {
                        if rng.uniform() < p.dropout {
                            0.0
                        } else {
                            scale
                        }
                    })
                    .collect();
                Some(Tensor::from_data(
                    TensorData::new(mask, [rows.len(), w]),
                    &autodiff,
                ))
            }
            _ => None,
        };
        let out = self.model().forward_train(x, keep);
        let predicted = out.scores.clone().argmax(1).into_data();
        self.right += predicted
            .iter::<i64>()
            .zip(&labels)
            .filter(|(p, l)| p == *l)
            .count();
        let l = loss(a.head, out.scores, out.class_logits, y);
        let value = l.clone().into_scalar::<f32>() as f64;
        if !value.is_finite() {
            return Err(LearnError::Data(format!(
                "the training loss became {value} in epoch {epoch}, batch {}: try a smaller learning rate",
                b + 1
            )));
        }
        self.loss_sum += value;
        let grads = GradientsParams::from_grads(l.backward(), self.model());
        let lr = p.learning_rate * self.rate_factor(self.step);
        let model = self.model.take().expect("a model between steps");
        self.model = Some(self.optimizer.step(lr, model, grads));
        self.step += 1;
        self.batch += 1;
        progress(Progress::Batch {
            epoch,
            done: self.batch,
            of: batches,
            loss: value,
        });
        if self.batch < batches {
            return Ok(None);
        }
        self.batch = 0;
        self.epoch = epoch;
        let seconds = self.epoch_seconds + self.started.elapsed().as_secs_f64();
        Ok(Some(EpochRecord {
            epoch,
            loss: self.loss_sum / batches as f64,
            train_accuracy: self.right as f64 / self.train.inputs.rows() as f64,
            test_accuracy: None,
            seconds,
        }))
    }

    /// The model on the plain device, ready to predict and save.
    pub fn into_model(self) -> Classifier {
        self.model().valid()
    }
}

/// Train a model as `checked` says, on `train`, reporting test accuracy on `test` after
/// each epoch when given.
pub fn fit(
    train: Labelled,
    test: Option<Labelled>,
    checked: &Checked,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Fitted, LearnError> {
    let (p, a) = (&checked.params, &checked.architecture);
    // The SKM head's class-probability scale is fitted to rows held out of training
    // (`calibrate`): a stratified 1/20, drawn from the fit's seed.
    let n = train.labels.len();
    let held_out = (a.head == Head::Skm && n >= calibrate::MIN_ROWS).then(|| {
        let mut rng = Rng::new(p.seed ^ 0xca1b_7a7e);
        let m = (n as f64 * calibrate::HELD_OUT_SHARE).round() as usize;
        let mut held = stratified(train.labels, a.classes, m, &mut rng);
        held.sort_unstable();
        let mut is_held = vec![false; n];
        held.iter().for_each(|&i| is_held[i] = true);
        let kept: Vec<usize> = (0..n).filter(|&i| !is_held[i]).collect();
        (train.select(&kept), train.select(&held))
    });
    let train = match &held_out {
        Some(((inputs, labels), _)) => Labelled { inputs, labels },
        None => train,
    };
    let mut trainer = Trainer::new(train, checked)?;
    let mut history = Vec::with_capacity(p.epochs);
    while !trainer.finished() {
        if let Some(mut record) = trainer.step(progress)? {
            record.test_accuracy = test.map(|t| {
                let pred = predict(&trainer.model().valid(), a, t.inputs, p.batch.max(256));
                accuracy(&argmax_rows(&pred.probabilities, a.classes), t.labels)
            });
            history.push(record);
            progress(Progress::Epoch(history.last().expect("pushed")));
        }
    }
    let mut model = trainer.into_model();
    let calibration = held_out.map(|(_, (inputs, labels))| {
        let scores = predict(&model, a, &inputs, p.batch.max(256)).scores;
        let skm = model.skm_mut().expect("an SKM head");
        let cal = calibrate::fit_temperature(&scores, &labels, a.classes, skm.temperature());
        skm.set_temperature(cal.temperature);
        cal
    });
    Ok(Fitted {
        model,
        architecture: a.clone(),
        history,
        calibration,
    })
}

/// The learning rate at step `s` of `total` as a share of the full rate: a cosine from 1
/// down to 1/100 over the whole run.
pub fn rate_factor(s: usize, total: usize) -> f64 {
    let t = s as f64 / total as f64;
    0.01 + 0.99 * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
}

/// Fisher-Yates with the fit's own generator.
fn shuffle(order: &mut [usize], rng: &mut Rng) {
    for i in (1..order.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
}

/// `m` rows spread over the classes as evenly as their sizes allow (drawn without
/// replacement within a class while it has rows left).
fn stratified(labels: &[u32], classes: usize, m: usize, rng: &mut Rng) -> Vec<usize> {
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (i, &l) in labels.iter().enumerate() {
        by_class[l as usize].push(i);
    }
    for rows in &mut by_class {
        shuffle(rows, rng);
    }
    let mut picked = Vec::with_capacity(m);
    let mut round = 0;
    while picked.len() < m {
        let before = picked.len();
        for rows in &by_class {
            if picked.len() < m && round < rows.len() {
                picked.push(rows[round]);
            }
        }
        if picked.len() == before {
            // Fewer rows than support points: start the rest on repeats.
            let all: Vec<usize> = picked.clone();
            picked.extend(all.iter().cycle().take(m - picked.len()));
        }
        round += 1;
    }
    picked
}

/// A model's outputs on rows.
#[derive(Clone, Debug)]
pub struct Predictions {
    /// Classes per row.
    pub classes: usize,
    /// Class probabilities, rows x classes.
    pub probabilities: Vec<f32>,
    /// The confidence of each row's prediction (see [`probabilities`]).
    pub confidence: Vec<f32>,
    /// The head's class scores (logits; the SKM's `f_c`), rows x classes.
    pub scores: Vec<f32>,
    /// The embedding the head saw, rows x `embed`.
    pub embedding: Vec<f32>,
    /// Embedding width.
    pub embed: usize,
}

impl Predictions {
    /// The most probable class of each row.
    pub fn labels(&self) -> Vec<u32> {
        argmax_rows(&self.probabilities, self.classes)
    }
}

/// Run `model` (on the plain device) over `inputs` in batches of `batch` rows.
pub fn predict(model: &Classifier, a: &Architecture, inputs: &Inputs, batch: usize) -> Predictions {
    let dev = device();
    let n = inputs.rows();
    let mut out = Predictions {
        classes: a.classes,
        probabilities: Vec::with_capacity(n * a.classes),
        confidence: Vec::with_capacity(n),
        scores: Vec::with_capacity(n * a.classes),
        embedding: Vec::with_capacity(n * a.embed),
        embed: a.embed,
    };
    let all: Vec<usize> = (0..n).collect();
    for rows in all.chunks(batch.max(1)) {
        let z = model.embed(batch_tensor(inputs, rows, &dev));
        let head = model.head(z.clone());
        let scores = head.scores;
        let (p, c) = probabilities(a.head, scores.clone(), head.class_logits);
        let f = |t: TensorData| t.try_into_vec::<f32>().expect("f32 outputs");
        out.scores.extend(f(scores.into_data()));
        out.embedding.extend(f(z.into_data()));
        out.probabilities.extend(f(p.into_data()));
        out.confidence.extend(f(c.into_data()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stratified_rows_spread_over_classes() {
        let labels = [0, 0, 0, 1, 1, 2, 0, 1];
        let mut rng = Rng::new(1);
        let rows = stratified(&labels, 3, 5, &mut rng);
        let count = |c| rows.iter().filter(|&&i| labels[i] == c).count();
        assert_eq!((count(0), count(1), count(2)), (2, 2, 1));
        let more = stratified(&labels, 3, 11, &mut rng);
        assert_eq!(more.len(), 11);
        let mut distinct = more.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 8);
    }
}
