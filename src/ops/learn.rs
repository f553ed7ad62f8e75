//! `learn fit`, `learn eval` and `learn predict`: data from IDX folders or `.npy`
//! matrices, models to and from a folder (model.safetensors, learn.json), figures.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use serde::{Deserialize, Serialize};

use crate::engine::pca::{MemoryRows, PcaParams};
use crate::error::{Error, Result};
use crate::image::learn_plots::{self, EmbeddingMap, EpochPoint, Field};
use crate::learn::calibrate::Calibration;
use crate::learn::metrics::{accuracy, auroc, ece, error_at_coverage, nll};
use crate::learn::model::Classifier;
use crate::learn::{
    Architecture, EpochRecord, FitParams, InputShape, Inputs, Labelled, Predictions, Progress,
    check_labels, fit, predict,
};
use crate::store::idx::read_idx;
use crate::store::{read_json, read_npy, write_atomic};

/// Which split of an IDX folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// `train-*`.
    Train,
    /// `t10k-*`.
    Test,
}

impl Split {
    fn prefix(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "t10k",
        }
    }
}

/// Rows read from disk, with their labels as written in the files (any integers).
#[derive(Clone, Debug)]
pub struct LabelledData {
    /// The rows.
    pub inputs: Inputs,
    /// One label a row, as given.
    pub labels: Vec<i64>,
    /// Where they came from, for the reports.
    pub source: String,
}

pub(crate) fn bad(path: &Path, reason: impl Into<String>) -> Error {
    Error::InvalidData {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// The first of `names` that exists in `dir`, gzipped or not.
fn find_in(dir: &Path, stem: &str) -> Option<PathBuf> {
    [format!("{stem}.gz"), stem.to_string()]
        .into_iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// Whether `dir` holds the `split` of an IDX image set.
pub fn has_idx_split(dir: &Path, split: Split) -> bool {
    let p = split.prefix();
    find_in(dir, &format!("{p}-images-idx3-ubyte")).is_some()
        && find_in(dir, &format!("{p}-labels-idx1-ubyte")).is_some()
}

/// Images (scaled to [0, 1]) and labels of one split of an IDX folder
/// (`train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`, or `t10k-*`).
pub fn read_idx_split(dir: &Path, split: Split) -> Result<LabelledData> {
    let p = split.prefix();
    let missing = |what: &str| {
        bad(
            dir,
            format!(
                "no {p}-{what}-ubyte or {p}-{what}-ubyte.gz in this folder (an IDX image set: MNIST's file names)"
            ),
        )
    };
    let images_path =
        find_in(dir, &format!("{p}-images-idx3-ubyte")).ok_or_else(|| missing("images-idx3"))?;
    let labels_path =
        find_in(dir, &format!("{p}-labels-idx1-ubyte")).ok_or_else(|| missing("labels-idx1"))?;
    let images = read_idx(&images_path)?;
    let shape = match images.shape[..] {
        [_, h, w] => InputShape::Image {
            channels: 1,
            height: h,
            width: w,
        },
        [_, c, h, w] => InputShape::Image {
            channels: c,
            height: h,
            width: w,
        },
        _ => {
            return Err(bad(
                &images_path,
                format!(
                    "images of shape {:?}: expected (count, rows, columns)",
                    images.shape
                ),
            ));
        }
    };
    // Bytes are grey levels 0-255; other element types are taken as they are.
    let values: Vec<f32> = match images.as_u8() {
        Some(b) => b.iter().map(|&v| v as f32 / 255.0).collect(),
        None => images.to_f64().into_iter().map(|v| v as f32).collect(),
    };
    let labels = read_idx(&labels_path)?;
    if labels.shape.len() != 1 {
        return Err(bad(
            &labels_path,
            format!("labels of shape {:?}: expected one dimension", labels.shape),
        ));
    }
    let labels = integer_labels(&labels_path, &labels.to_f64())?;
    if labels.len() != images.shape[0] {
        return Err(bad(
            &labels_path,
            format!(
                "{} labels for the {} images of {}",
                labels.len(),
                images.shape[0],
                images_path.display()
            ),
        ));
    }
    let inputs = Inputs::new(values, shape).map_err(|e| bad(&images_path, e.to_string()))?;
    Ok(LabelledData {
        inputs,
        labels,
        source: format!("{} ({} split)", dir.display(), p),
    })
}

fn integer_labels(path: &Path, values: &[f64]) -> Result<Vec<i64>> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 {
                Ok(v as i64)
            } else {
                Err(bad(
                    path,
                    format!("label {} (row {i}) is not an integer", v),
                ))
            }
        })
        .collect()
}

/// Labels from a `.npy` array (any integer dtype, or whole-number floats) or a text
/// file of one integer a line (blank lines and `#` comments skipped).
pub fn read_labels(path: &Path) -> Result<Vec<i64>> {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
    {
        return crate::store::read_npy_integers(path);
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        out.push(t.parse::<i64>().map_err(|_| {
            bad(
                path,
                format!("line {}: '{t}' is not an integer label", i + 1),
            )
        })?);
    }
    Ok(out)
}

/// A float `.npy` matrix (rows x features) and its labels file.
pub fn read_matrix_data(
    matrix: &Path,
    labels: Option<&Path>,
) -> Result<(Inputs, Option<Vec<i64>>)> {
    let a = read_npy(matrix)?;
    let (n, d) = match a.shape() {
        [n, d] => (*n, *d),
        s => {
            return Err(bad(
                matrix,
                format!("an array of shape {s:?}: expected a matrix (rows x features)"),
            ));
        }
    };
    if n == 0 || d == 0 {
        return Err(bad(matrix, format!("an empty matrix ({n} x {d})")));
    }
    let values: Vec<f32> = match &a {
        crate::store::NdArray::F32(x) => x.iter().copied().collect(),
        crate::store::NdArray::F64(x) => x.iter().map(|&v| v as f32).collect(),
    };
    let inputs = Inputs::new(values, InputShape::Vector { features: d })
        .map_err(|e| bad(matrix, e.to_string()))?;
    let labels = match labels {
        Some(p) => {
            let l = read_labels(p)?;
            if l.len() != n {
                return Err(bad(
                    p,
                    format!(
                        "{} labels for the {n} rows of {}",
                        l.len(),
                        matrix.display()
                    ),
                ));
            }
            Some(l)
        }
        None => None,
    };
    Ok((inputs, labels))
}

/// Labels as written, mapped to class indices 0..C-1 in increasing order.
pub(crate) fn class_indices(labels: &[i64], classes: &[i64]) -> std::result::Result<Vec<u32>, i64> {
    labels
        .iter()
        .map(|l| classes.binary_search(l).map(|i| i as u32).map_err(|_| *l))
        .collect()
}

/// The data a `learn` command names: an IDX folder (its `split`), or a `.npy` matrix
/// with a labels file.
pub fn read_data(data: &Path, labels: Option<&Path>, split: Split) -> Result<LabelledData> {
    if data.is_dir() {
        if labels.is_some() {
            return Err(Error::InvalidArgument {
                name: "--labels",
                expected: "no labels file with an IDX folder (its labels are in it)".into(),
                actual: data.display().to_string(),
            });
        }
        return read_idx_split(data, split);
    }
    let Some(lp) = labels else {
        return Err(Error::InvalidArgument {
            name: "--labels",
            expected: "a labels file (.npy or text) for a matrix".into(),
            actual: "none".into(),
        });
    };
    let (inputs, labels) = read_matrix_data(data, Some(lp))?;
    Ok(LabelledData {
        inputs,
        labels: labels.expect("asked for"),
        source: data.display().to_string(),
    })
}

/// learn.json: what the model is and how it trained.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LearnRecord {
    /// The model.
    pub architecture: Architecture,
    /// The options it trained with.
    pub options: FitParams,
    /// The label of each class index, as the training files wrote it.
    pub classes: Vec<i64>,
    /// The training data.
    pub data: String,
    /// Training rows.
    pub train_rows: usize,
    /// Test rows (0 without a test split).
    pub test_rows: usize,
    /// One record an epoch.
    pub epochs: Vec<EpochRecord>,
    /// Training rows per second over the whole fit (test passes excluded).
    pub rows_per_second: f64,
    /// Wall seconds of the whole fit.
    pub seconds: f64,
    /// Threads training ran on.
    pub threads: usize,
    /// The SKM head's class-probability scale fitted to held-out training rows (README,
    /// Smooth kernel machines); absent when every row trained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
}

/// What `learn fit` wrote.
#[derive(Clone, Debug)]
pub struct FitOutcome {
    /// learn.json's content.
    pub record: LearnRecord,
    /// Files written.
    pub files: Vec<PathBuf>,
}

/// Train on `data` (an IDX folder's train split, or a matrix with `labels`) and write
/// the model and its figures into `out`. With an IDX folder that has a t10k split, test
/// accuracy is measured after each epoch. `threads` 0 uses every core.
pub fn learn_fit(
    data: &Path,
    labels: Option<&Path>,
    out: &Path,
    params: &FitParams,
    threads: usize,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<FitOutcome> {
    let started = Instant::now();
    let train = read_data(data, labels, Split::Train)?;
    let test = if data.is_dir() && has_idx_split(data, Split::Test) {
        Some(read_idx_split(data, Split::Test)?)
    } else {
        None
    };
    // Checked before any work: a bad option or label fails in a second, not after a fit.
    let classes = classes_of(&train.labels);
    params.check(train.inputs.shape, classes.len())?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let pool = thread_pool(threads)?;
    let mut learned = pool.install(|| fit_model(&train, test.as_ref(), params, progress))?;
    learned.record.seconds = started.elapsed().as_secs_f64();
    let record = &learned.record;
    let mut files = vec![write_model_weights(out, &learned)?];
    files.push(learn_plots::training_curves(
        &out.join("training.png"),
        &format!(
            "{} head on {} ({} training rows)",
            record.architecture.head.as_str(),
            record.architecture.net.as_str(),
            record.train_rows
        ),
        &record
            .epochs
            .iter()
            .map(|e| EpochPoint {
                epoch: e.epoch,
                loss: e.loss,
                train_accuracy: e.train_accuracy,
                test_accuracy: e.test_accuracy,
            })
            .collect::<Vec<_>>(),
    )?);
    let shown = test.as_ref().unwrap_or(&train);
    let shown_y = class_indices(&shown.labels, &record.classes).expect("checked by the fit");
    let pred = pool.install(|| learned.predict(&shown.inputs));
    files.push(embedding_figure(
        &out.join("embedding.png"),
        &learned.model,
        &record.architecture,
        &pred,
        &shown_y,
        &record.classes,
    )?);
    let json = serde_json::to_vec_pretty(record).expect("serialisable");
    files.push(write_atomic(&out.join("learn.json"), &json)?);
    Ok(FitOutcome {
        record: learned.record,
        files,
    })
}

pub(crate) fn write_model_weights(dir: &Path, learned: &LearnedModel) -> Result<PathBuf> {
    let path = dir.join("model.safetensors");
    let bytes = learned.weights().map_err(|reason| Error::Encode {
        path: path.clone(),
        reason,
    })?;
    write_atomic(&path, &bytes)
}

/// A rayon pool of `threads` workers (0: one a core) for a fit or a prediction. It also
/// calls [`keep_freed_memory`], as every fit and prediction runs on such a pool.
pub fn thread_pool(threads: usize) -> Result<rayon::ThreadPool> {
    keep_freed_memory();
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::InvalidArgument {
            name: "--threads",
            expected: "a thread count this machine can start".into(),
            actual: format!("{threads} ({e})"),
        })
}

/// Have glibc's allocator keep freed blocks of up to 64 MiB in the heap (and trim it only
/// above 128 MiB free) instead of returning each to the system. A training step allocates
/// and frees tensors of several MiB by the dozen; glibc's default hands blocks above its
/// adaptive mmap threshold back to the kernel on every free, and the page faults of the
/// next allocation took about 40 % of a Fashion-MNIST CNN step (3,100 against 5,100
/// images/s on 2 threads, README "Smooth kernel machines"). The cost is a higher peak:
/// 124 -> 164 MB on that run. Process-wide and idempotent; other allocators are untouched.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's tuning parameters; it is thread-safe.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 << 20);
    }
}

/// The distinct labels, in increasing order: class `i` is the `i`-th.
pub fn classes_of(labels: &[i64]) -> Vec<i64> {
    let mut classes = labels.to_vec();
    classes.sort_unstable();
    classes.dedup();
    classes
}

/// Train a model in memory on `train`, with test accuracy after each epoch on `test`
/// when given (its labels must be among the training labels). Runs on the current rayon
/// pool. The record's `seconds` is the fit's own; `data` names `train.source`.
pub fn fit_model(
    train: &LabelledData,
    test: Option<&LabelledData>,
    params: &FitParams,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<LearnedModel> {
    let started = Instant::now();
    let classes = classes_of(&train.labels);
    let y = class_indices(&train.labels, &classes).expect("from the labels themselves");
    check_labels(&train.inputs, &y)?;
    let checked = params.check(train.inputs.shape, classes.len())?;
    let test_y = match test {
        Some(t) => {
            if t.inputs.shape != train.inputs.shape {
                return Err(Error::InvalidArgument {
                    name: "test data",
                    expected: format!("{}, as in training", train.inputs.shape),
                    actual: format!("{} in {}", t.inputs.shape, t.source),
                });
            }
            Some(
                class_indices(&t.labels, &classes).map_err(|l| Error::InvalidArgument {
                    name: "test labels",
                    expected: format!("labels the training split has ({classes:?})"),
                    actual: format!("label {l} in {}", t.source),
                })?,
            )
        }
        None => None,
    };
    let fitted = fit(
        Labelled {
            inputs: &train.inputs,
            labels: &y,
        },
        test.zip(test_y.as_deref()).map(|(t, l)| Labelled {
            inputs: &t.inputs,
            labels: l,
        }),
        &checked,
        progress,
    )?;
    let train_seconds: f64 = fitted.history.iter().map(|e| e.seconds).sum();
    let trained_apart = fitted.calibration.as_ref().map_or(0, |c| c.rows);
    let record = LearnRecord {
        architecture: fitted.architecture.clone(),
        options: checked.params.clone(),
        classes,
        data: train.source.clone(),
        train_rows: train.inputs.rows() - trained_apart,
        test_rows: test.map_or(0, |t| t.inputs.rows()),
        rows_per_second: ((train.inputs.rows() - trained_apart) * fitted.history.len()) as f64
            / train_seconds.max(1e-9),
        epochs: fitted.history,
        seconds: started.elapsed().as_secs_f64(),
        threads: rayon::current_num_threads(),
        calibration: fitted.calibration,
    };
    Ok(LearnedModel {
        record,
        model: fitted.model,
    })
}

/// A trained model: its record (learn.json) and its weights.
pub struct LearnedModel {
    /// learn.json.
    pub record: LearnRecord,
    /// The weights.
    pub model: Classifier,
}

impl LearnedModel {
    /// The weights as a safetensors file's bytes.
    pub fn weights(&self) -> std::result::Result<Vec<u8>, String> {
        let mut store = SafetensorsStore::from_bytes(None);
        self.model
            .save_into(&mut store)
            .map_err(|e| format!("saving the model: {e}"))?;
        store
            .get_bytes()
            .map_err(|e| format!("saving the model: {e}"))
    }

    /// A model from its record and its weights' safetensors bytes (a reason on failure).
    pub fn from_weights(
        record: LearnRecord,
        weights: Vec<u8>,
    ) -> std::result::Result<LearnedModel, String> {
        let a = &record.architecture;
        if record.classes.len() != a.classes {
            return Err(format!(
                "{} class labels for {} classes",
                record.classes.len(),
                a.classes
            ));
        }
        let checked = record
            .options
            .check(a.input, a.classes)
            .map_err(|e| e.to_string())?;
        let dev = crate::learn::train::device();
        let mut model = Classifier::skeleton(&checked.architecture, &dev);
        let mut store = SafetensorsStore::from_bytes(Some(weights));
        let applied = model
            .load_from(&mut store)
            .map_err(|e| format!("not a model file eigentechno reads: {e}"))?;
        if !applied.missing.is_empty() || !applied.errors.is_empty() {
            let missing: Vec<&str> = applied.missing.iter().map(|m| m.0.as_str()).collect();
            return Err(format!(
                "does not match learn.json's {} {} model: missing {:?}, errors {:?}",
                a.head.as_str(),
                a.net.as_str(),
                missing,
                applied
                    .errors
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
            ));
        }
        Ok(LearnedModel {
            record,
            model: model.valid(),
        })
    }

    /// Predictions for `inputs` (on the current rayon pool).
    pub fn predict(&self, inputs: &Inputs) -> Predictions {
        predict(&self.model, &self.record.architecture, inputs, 512)
    }

    /// Check that `inputs` are rows this model takes.
    pub fn check_inputs(&self, inputs: &Inputs) -> std::result::Result<(), String> {
        let a = &self.record.architecture;
        if inputs.shape != a.input {
            return Err(format!("{}, but the model takes {}", inputs.shape, a.input));
        }
        Ok(())
    }
}

/// Read `dir/learn.json` and `dir/model.safetensors`.
pub fn load_learned(dir: &Path) -> Result<LearnedModel> {
    let json_path = dir.join("learn.json");
    let value = read_json(&json_path)?;
    let record: LearnRecord = serde_json::from_value(value).map_err(|e| {
        bad(
            &json_path,
            format!("not a learn.json eigentechno wrote: {e}"),
        )
    })?;
    let weights = dir.join("model.safetensors");
    let bytes = std::fs::read(&weights).map_err(|e| Error::io(&weights, e))?;
    LearnedModel::from_weights(record, bytes).map_err(|reason| bad(&weights, reason))
}

/// eval.json.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EvalReport {
    /// The data evaluated.
    pub data: String,
    /// Rows.
    pub rows: usize,
    /// Fraction right.
    pub accuracy: f64,
    /// 1 - accuracy.
    pub error: f64,
    /// Mean negative log-likelihood of the labels.
    pub nll: f64,
    /// Expected calibration error, 15 bins of the top probability.
    pub ece: f64,
    /// AUROC of the confidence for telling the data from `--ood` data (when given).
    pub auroc_ood: Option<f64>,
    /// The out-of-distribution data, when given.
    pub ood: Option<String>,
    /// Error among the most confident rows at each coverage: keys "100", "99", "95",
    /// "90", "80" (percent of rows kept).
    pub rejection: std::collections::BTreeMap<String, f64>,
    /// An ensemble folder: each member's accuracy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<Vec<MemberEval>>,
    /// An ensemble folder: the accuracy its run predicted (diffusion.json or cv.json).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<f64>,
    /// One standard error of `estimate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate_error: Option<f64>,
}

/// One member of an ensemble, scored alone.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MemberEval {
    /// Its folder's name.
    pub name: String,
    /// Its accuracy.
    pub accuracy: f64,
}

/// The coverages of the rejection curve in eval.json (percent).
pub const COVERAGES: [u32; 5] = [100, 99, 95, 90, 80];

/// The files that make a folder an ensemble: `learn fit --diffusion` writes the first,
/// `learn cv` the second. Each lists its members' folders under `members`.
pub const ENSEMBLE_FILES: [&str; 2] = ["diffusion.json", "cv.json"];

/// What a `learn` folder holds: one model, or an ensemble's members (their folders'
/// names and models) with the estimate its run made of their accuracy.
pub struct FolderModel {
    /// (name, model) of each member; one unnamed member for a single model.
    pub members: Vec<(String, LearnedModel)>,
    /// The ensemble's file (diffusion.json or cv.json), when it is one.
    pub ensemble: Option<PathBuf>,
    /// `estimate` and `estimate_error` from that file.
    pub estimate: Option<(f64, f64)>,
}

impl FolderModel {
    /// The first member: the architecture and classes every member shares.
    pub fn first(&self) -> &LearnedModel {
        &self.members[0].1
    }

    /// Predictions of each member.
    pub fn member_predictions(&self, inputs: &Inputs) -> Vec<Predictions> {
        self.members
            .iter()
            .map(|(_, m)| m.predict(inputs))
            .collect()
    }

    /// The ensemble's predictions: the mean of the members' probabilities, confidences
    /// and scores (the embedding is the first member's).
    pub fn combine(mut preds: Vec<Predictions>) -> Predictions {
        if preds.len() == 1 {
            return preds.pop().expect("one");
        }
        let k = preds.len() as f32;
        let mean = |f: &dyn Fn(&Predictions) -> &Vec<f32>| -> Vec<f32> {
            let mut out = vec![0f32; f(&preds[0]).len()];
            for p in &preds {
                for (o, v) in out.iter_mut().zip(f(p)) {
                    *o += v / k;
                }
            }
            out
        };
        Predictions {
            classes: preds[0].classes,
            probabilities: mean(&|p| &p.probabilities),
            confidence: mean(&|p| &p.confidence),
            scores: mean(&|p| &p.scores),
            embedding: preds[0].embedding.clone(),
            embed: preds[0].embed,
        }
    }
}

/// Read a `learn` folder: its ensemble's members when it holds diffusion.json or cv.json
/// (every member must share the first's architecture and classes), else its one model.
pub fn load_folder(dir: &Path) -> Result<FolderModel> {
    let Some(file) = ENSEMBLE_FILES
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
    else {
        return Ok(FolderModel {
            members: vec![(String::new(), load_learned(dir)?)],
            ensemble: None,
            estimate: None,
        });
    };
    let value = read_json(&file)?;
    let names: Vec<String> = value
        .get("members")
        .and_then(|m| serde_json::from_value(m.clone()).ok())
        .filter(|m: &Vec<String>| !m.is_empty())
        .ok_or_else(|| bad(&file, "no `members` list of folder names"))?;
    let mut members = Vec::with_capacity(names.len());
    for name in names {
        if name.is_empty() || name.contains(['/', '\\']) || name == ".." || name == "." {
            return Err(bad(&file, format!("member '{name}' is not a folder name")));
        }
        let m = load_learned(&dir.join(&name))?;
        if let Some((_, first)) = members.first() {
            let first: &LearnedModel = first;
            if m.record.architecture != first.record.architecture
                || m.record.classes != first.record.classes
            {
                return Err(bad(
                    &dir.join(&name),
                    "a member whose architecture or classes differ from the first's",
                ));
            }
        }
        members.push((name, m));
    }
    let num = |k: &str| value.get(k).and_then(serde_json::Value::as_f64);
    Ok(FolderModel {
        members,
        estimate: num("estimate").zip(num("estimate_error")),
        ensemble: Some(file),
    })
}

/// Evaluate the model in `dir` on `data` (an IDX folder's t10k split, or a matrix with
/// labels) and, with `ood`, the confidence's AUROC against that data (its t10k split or
/// matrix; labels are not needed). Writes eval.json and rejection.png into `dir`. An
/// ensemble folder ([`ENSEMBLE_FILES`]) is scored as the mean of its members'
/// probabilities, and each member under `replicas`, beside its run's estimate.
pub fn learn_eval(
    dir: &Path,
    data: &Path,
    labels: Option<&Path>,
    ood: Option<&Path>,
) -> Result<(EvalReport, Vec<PathBuf>)> {
    let folder = load_folder(dir)?;
    let m = folder.first();
    let a = &m.record.architecture;
    let test = read_data(data, labels, Split::Test)?;
    check_shape(data, &test.inputs, m)?;
    let y = class_indices(&test.labels, &m.record.classes).map_err(|l| {
        bad(
            data,
            format!(
                "label {l} is not one of the model's classes {:?}",
                m.record.classes
            ),
        )
    })?;
    let each = folder.member_predictions(&test.inputs);
    let replicas = folder.ensemble.as_ref().map(|_| {
        folder
            .members
            .iter()
            .zip(&each)
            .map(|((name, _), p)| MemberEval {
                name: name.clone(),
                accuracy: accuracy(&p.labels(), &y),
            })
            .collect()
    });
    let pred = FolderModel::combine(each);
    let auroc_ood = match ood {
        Some(o) => {
            let inputs = if o.is_dir() {
                read_idx_split(o, Split::Test)?.inputs
            } else {
                read_matrix_data(o, None)?.0
            };
            check_shape(o, &inputs, m)?;
            let out = FolderModel::combine(folder.member_predictions(&inputs));
            Some(auroc(&pred.confidence, &out.confidence))
        }
        None => None,
    };
    let mut report = evaluate(&pred, &y, test.source, auroc_ood, ood);
    report.replicas = replicas;
    if let Some((e, se)) = folder.estimate {
        report.estimate = Some(e);
        report.estimate_error = Some(se);
    }
    let mut curve = Vec::new();
    let correct: Vec<bool> = pred.labels().iter().zip(&y).map(|(p, l)| p == l).collect();
    let fine: Vec<f64> = (0..=100).map(|c| c as f64 / 100.0).rev().collect();
    for (c, e) in fine
        .iter()
        .zip(error_at_coverage(&pred.confidence, &correct, &fine))
    {
        curve.push((*c, e));
    }
    let what = match folder.members.len() {
        1 => format!("{} head", a.head.as_str()),
        k => format!("ensemble of {k} {} heads", a.head.as_str()),
    };
    let mut files = vec![learn_plots::rejection_curve(
        &dir.join("rejection.png"),
        &format!("{what}: error as the least confident rows are set aside"),
        &curve,
    )?];
    files.push(write_atomic(
        &dir.join("eval.json"),
        &serde_json::to_vec_pretty(&report).expect("serialisable"),
    )?);
    Ok((report, files))
}

fn check_shape(path: &Path, inputs: &Inputs, m: &LearnedModel) -> Result<()> {
    m.check_inputs(inputs).map_err(|reason| bad(path, reason))
}

/// The metrics of predictions against labels (class indices).
pub fn evaluate(
    pred: &Predictions,
    y: &[u32],
    data: String,
    auroc_ood: Option<f64>,
    ood: Option<&Path>,
) -> EvalReport {
    let c = pred.classes;
    let labels = pred.labels();
    let acc = accuracy(&labels, y);
    let correct: Vec<bool> = labels.iter().zip(y).map(|(p, l)| p == l).collect();
    let cov: Vec<f64> = COVERAGES.iter().map(|&c| c as f64 / 100.0).collect();
    let rejection = COVERAGES
        .iter()
        .map(|c| c.to_string())
        .zip(error_at_coverage(&pred.confidence, &correct, &cov))
        .collect();
    EvalReport {
        data,
        rows: y.len(),
        accuracy: acc,
        error: 1.0 - acc,
        nll: nll(&pred.probabilities, c, y),
        ece: ece(&pred.probabilities, c, y, 15),
        auroc_ood,
        ood: ood.map(|p| p.display().to_string()),
        rejection,
        replicas: None,
        estimate: None,
        estimate_error: None,
    }
}

/// Predict each row of `data` (an IDX folder's t10k split, or a matrix; labels are
/// not needed) and write `out` as CSV: row,label,probability,confidence.
pub fn learn_predict(dir: &Path, data: &Path, out: &Path) -> Result<PathBuf> {
    let folder = load_folder(dir)?;
    let m = folder.first();
    let a = &m.record.architecture;
    let inputs = if data.is_dir() {
        read_idx_split(data, Split::Test)?.inputs
    } else {
        read_matrix_data(data, None)?.0
    };
    check_shape(data, &inputs, m)?;
    let pred = FolderModel::combine(folder.member_predictions(&inputs));
    let mut text = String::from("row,label,probability,confidence\n");
    for (i, k) in pred.labels().iter().enumerate() {
        let p = pred.probabilities[i * a.classes + *k as usize];
        text.push_str(&format!(
            "{i},{},{p},{}\n",
            m.record.classes[*k as usize], pred.confidence[i]
        ));
    }
    write_atomic(out, text.as_bytes())
}

/// embedding.png: rows in the embedding's plane (the embedding when it is 2-D, else its
/// first two principal components), coloured by class, with the support points and
/// the model's confidence over the plane behind them.
fn embedding_figure(
    path: &Path,
    model: &Classifier,
    a: &Architecture,
    pred: &Predictions,
    y: &[u32],
    classes: &[i64],
) -> Result<PathBuf> {
    let names: Vec<String> = classes.iter().map(|c| format!("class {c}")).collect();
    embedding_figure_named(path, model, a, pred, y, &names, None)
}

/// [`embedding_figure`] with a legend name for each class index in `y`.
fn embedding_figure_named(
    path: &Path,
    model: &Classifier,
    a: &Architecture,
    pred: &Predictions,
    y: &[u32],
    names: &[String],
    outsider: Option<u32>,
) -> Result<PathBuf> {
    let d = pred.embed;
    let n = y.len();
    // At most 5,000 points: enough to see the classes, few enough to see through.
    let step = n.div_ceil(5_000).max(1);
    let rows: Vec<usize> = (0..n).step_by(step).collect();
    let (mean, axes) = plane(&pred.embedding, d, &rows)?;
    let project = |z: &[f32]| -> (f64, f64) {
        let c: Vec<f64> = z.iter().zip(&mean).map(|(&v, m)| v as f64 - m).collect();
        let dot = |u: &[f64]| c.iter().zip(u).map(|(a, b)| a * b).sum::<f64>();
        (dot(&axes[0]), dot(&axes[1]))
    };
    let points: Vec<(f64, f64, u32)> = rows
        .iter()
        .map(|&i| {
            let (x, yv) = project(&pred.embedding[i * d..(i + 1) * d]);
            (x, yv, y[i])
        })
        .collect();
    let support: Vec<(f64, f64)> = match model.skm() {
        Some(s) => {
            let v = s
                .support
                .val()
                .into_data()
                .try_into_vec::<f32>()
                .expect("f32");
            v.chunks_exact(d).map(project).collect()
        }
        None => Vec::new(),
    };
    let (x0, x1, y0, y1) = learn_plots::bounds(points.iter().map(|p| (p.0, p.1)));
    // The confidence over the plane: each grid point lifted back into the embedding.
    let (nx, ny) = (120, 120);
    let mut grid = Vec::with_capacity(nx * ny * d);
    for j in 0..ny {
        for i in 0..nx {
            let (u, v) = (
                x0 + (i as f64 + 0.5) * (x1 - x0) / nx as f64,
                y0 + (j as f64 + 0.5) * (y1 - y0) / ny as f64,
            );
            grid.extend((0..d).map(|k| (mean[k] + u * axes[0][k] + v * axes[1][k]) as f32));
        }
    }
    let dev = crate::learn::train::device();
    let z = burn::tensor::Tensor::<2>::from_data(
        burn::tensor::TensorData::new(grid, [nx * ny, d]),
        &dev,
    );
    let out = model.head(z);
    let (_, conf) = crate::learn::model::probabilities(a.head, out.scores, out.class_logits);
    let values = conf
        .into_data()
        .try_into_vec::<f32>()
        .expect("f32")
        .into_iter()
        .map(f64::from)
        .collect();
    let field = Field {
        x: (x0, x1),
        y: (y0, y1),
        nx,
        ny,
        values,
    };
    let (ax, title) = if d == 2 {
        (
            ("embedding 1", "embedding 2"),
            format!("{}-D embedding of {} rows", d, points.len()),
        )
    } else {
        (
            ("PC1 of the embedding", "PC2 of the embedding"),
            format!(
                "{}-D embedding of {} rows, its first two principal components",
                d,
                points.len()
            ),
        )
    };
    learn_plots::embedding_map(
        path,
        &EmbeddingMap {
            title: &title,
            axes: ax,
            points: &points,
            class_names: names,
            support: &support,
            field: Some(&field),
            outsider,
        },
    )
}

/// The mean and two orthonormal axes of the embedding rows `rows`: the axes themselves
/// when the embedding is 2-D, else its first two principal components (the PCA engine).
fn plane(embedding: &[f32], d: usize, rows: &[usize]) -> Result<(Vec<f64>, [Vec<f64>; 2])> {
    let n = rows.len();
    let mut mean = vec![0f64; d];
    for &i in rows {
        for (m, &v) in mean.iter_mut().zip(&embedding[i * d..(i + 1) * d]) {
            *m += v as f64 / n as f64;
        }
    }
    if d <= 2 {
        let mut e0 = vec![0.0; d];
        e0[0] = 1.0;
        let mut e1 = vec![0.0; d];
        if d == 2 {
            e1[1] = 1.0;
        }
        return Ok((mean, [e0, e1]));
    }
    let x: Vec<f64> = rows
        .iter()
        .flat_map(|&i| embedding[i * d..(i + 1) * d].iter().map(|&v| v as f64))
        .collect();
    let source = MemoryRows::f64(&x, n, d)?;
    let params = PcaParams {
        k: Some(2),
        ..Default::default()
    };
    let fit = params.check(&source)?.fit(&source)?;
    let c = fit.model.components_f64(2);
    Ok((mean, [c[..d].to_vec(), c[d..2 * d].to_vec()]))
}

/// What the `skm` stage is asked for: which bars.csv column is the class, how the rows
/// split, and the fit (an MLP on the rows).
#[derive(Clone, Debug)]
pub struct BarClassesParams {
    /// The bars.csv column whose values are the classes (`track`, `segment`, ...).
    pub labels: String,
    /// Leading matrix columns used (0: all); a PCA's scores come in order of variance.
    pub components: usize,
    /// The last share of each class's rows (in row order) is the test set.
    pub test_fraction: f64,
    /// Classes held out entirely (every (C / n)-th in sorted order): their rows are
    /// the unfamiliar data the confidence should flag.
    pub hold_out: usize,
    /// The fit; `epochs` 0 picks enough passes for about 3,000 gradient steps.
    pub fit: FitParams,
}

/// skm.json: how well a bar's class is told from its row, and how well the confidence
/// flags rows of classes never seen.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BarClassesReport {
    /// The bars.csv column.
    pub labels: String,
    /// The classes trained on.
    pub classes: Vec<String>,
    /// The classes held out entirely.
    pub held_out: Vec<String>,
    /// Matrix columns used.
    pub features: usize,
    /// Rows in each split.
    pub train_rows: usize,
    /// Rows in each split.
    pub test_rows: usize,
    /// Rows in each split.
    pub held_out_rows: usize,
    /// Accuracy on the test rows.
    pub accuracy: f64,
    /// AUROC of the confidence for telling test rows from held-out rows.
    pub auroc_ood: Option<f64>,
    /// Wall seconds of the fit.
    pub seconds: f64,
}

/// The `skm` stage: learn each row's class (a bars.csv column) from the matrix `npy`
/// (bars, or a PCA's scores), and write into `out` predictions.csv (row, label,
/// predicted, probability, confidence, split), skm.json, embedding.png and the model
/// (model/learn.json, model/model.safetensors). `skip_rows`: bars.csv rows the
/// matrix does not have (a PCA's dropped rows).
pub fn bar_classes_to_dir(
    npy: &Path,
    csv_path: &Path,
    skip_rows: &[usize],
    out: &Path,
    p: &BarClassesParams,
) -> Result<(BarClassesReport, Vec<PathBuf>)> {
    let started = Instant::now();
    let (inputs, _) = read_matrix_data(npy, None)?;
    let d_all = inputs.shape.len();
    let d = if p.components == 0 {
        d_all
    } else {
        p.components.min(d_all)
    };
    let n = inputs.rows();
    let values: Vec<f32> = if d == d_all {
        inputs.values
    } else {
        inputs
            .values
            .chunks_exact(d_all)
            .flat_map(|r| r[..d].iter().copied())
            .collect()
    };
    let names = read_csv_column(csv_path, &p.labels, skip_rows)?;
    if names.len() != n {
        return Err(bad(
            csv_path,
            format!(
                "{} rows (after {} skipped) for the {n} rows of {}",
                names.len(),
                skip_rows.len(),
                npy.display()
            ),
        ));
    }
    let mut distinct: Vec<&str> = names.iter().map(String::as_str).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let step = distinct
        .len()
        .checked_div(p.hold_out)
        .map_or(usize::MAX, |s| s.max(1));
    let held: Vec<&str> = distinct
        .iter()
        .step_by(step.min(distinct.len().max(1)))
        .take(p.hold_out)
        .copied()
        .collect();
    let kept: Vec<&str> = distinct
        .iter()
        .filter(|c| !held.contains(c))
        .copied()
        .collect();
    if kept.len() < 2 {
        return Err(Error::InvalidArgument {
            name: "skm",
            expected: "at least 2 classes left to train on".into(),
            actual: format!(
                "{} distinct '{}' values, {} held out",
                distinct.len(),
                p.labels,
                held.len()
            ),
        });
    }
    // Split each kept class in row order: the first share trains, the rest tests.
    #[derive(Clone, Copy, PartialEq)]
    enum Part {
        Train,
        Test,
        Held,
    }
    let mut part = vec![Part::Held; n];
    let mut class = vec![0i64; n];
    for (ci, c) in kept.iter().enumerate() {
        let rows: Vec<usize> = (0..n).filter(|&i| names[i] == *c).collect();
        let train_n = ((rows.len() as f64) * (1.0 - p.test_fraction)).round() as usize;
        let train_n = train_n.clamp(1, rows.len());
        for (k, &i) in rows.iter().enumerate() {
            class[i] = ci as i64;
            part[i] = if k < train_n { Part::Train } else { Part::Test };
        }
    }
    let pick = |which: Part| -> (Vec<f32>, Vec<i64>) {
        let mut v = Vec::new();
        let mut l = Vec::new();
        for i in (0..n).filter(|&i| part[i] == which) {
            v.extend_from_slice(&values[i * d..(i + 1) * d]);
            l.push(class[i]);
        }
        (v, l)
    };
    let shape = InputShape::Vector { features: d };
    let (tv, tl) = pick(Part::Train);
    let train = LabelledData {
        inputs: Inputs::new(tv, shape).map_err(|e| bad(npy, e.to_string()))?,
        labels: tl,
        source: format!("{} ({} = class)", npy.display(), p.labels),
    };
    let mut fit_params = p.fit.clone();
    fit_params.net = crate::learn::Net::Mlp;
    if fit_params.epochs == 0 {
        let batches = train.inputs.rows().div_ceil(fit_params.batch.max(1));
        fit_params.epochs = 3000usize.div_ceil(batches.max(1)).clamp(1, 1000);
    }
    let learned = fit_model(&train, None, &fit_params, &mut |_| {})?;
    let all = Inputs::new(values, shape).map_err(|e| bad(npy, e.to_string()))?;
    let pred = learned.predict(&all);
    let labels = pred.labels();
    let c = pred.classes;
    let mut text = String::from("row,label,predicted,probability,confidence,split\n");
    for i in 0..n {
        let k = labels[i] as usize;
        text.push_str(&format!(
            "{i},{},{},{},{},{}\n",
            csv_field(&names[i]),
            csv_field(kept[k]),
            pred.probabilities[i * c + k],
            pred.confidence[i],
            match part[i] {
                Part::Train => "train",
                Part::Test => "test",
                Part::Held => "held-out",
            }
        ));
    }
    let rows_of = |w: Part| (0..n).filter(|&i| part[i] == w).collect::<Vec<_>>();
    let (test_rows, held_rows) = (rows_of(Part::Test), rows_of(Part::Held));
    let accuracy = if test_rows.is_empty() {
        f64::NAN
    } else {
        test_rows
            .iter()
            .filter(|&&i| labels[i] as i64 == class[i])
            .count() as f64
            / test_rows.len() as f64
    };
    let conf = |rows: &[usize]| rows.iter().map(|&i| pred.confidence[i]).collect::<Vec<_>>();
    let auroc_ood = (!held_rows.is_empty() && !test_rows.is_empty())
        .then(|| auroc(&conf(&test_rows), &conf(&held_rows)));
    let report = BarClassesReport {
        labels: p.labels.clone(),
        classes: kept.iter().map(|s| s.to_string()).collect(),
        held_out: held.iter().map(|s| s.to_string()).collect(),
        features: d,
        train_rows: train.inputs.rows(),
        test_rows: test_rows.len(),
        held_out_rows: held_rows.len(),
        accuracy,
        auroc_ood,
        seconds: started.elapsed().as_secs_f64(),
    };
    let model_dir = out.join("model");
    std::fs::create_dir_all(&model_dir).map_err(|e| Error::io(&model_dir, e))?;
    let mut files = vec![
        write_atomic(&out.join("predictions.csv"), text.as_bytes())?,
        write_model_weights(&model_dir, &learned)?,
        write_atomic(
            &model_dir.join("learn.json"),
            &serde_json::to_vec_pretty(&learned.record).expect("serialisable"),
        )?,
    ];
    // The embedding of the test and held-out rows (all rows when there are none).
    let shown: Vec<usize> = if test_rows.is_empty() {
        (0..n).collect()
    } else {
        test_rows.iter().chain(&held_rows).copied().collect()
    };
    let sub = Predictions {
        classes: c,
        probabilities: Vec::new(),
        confidence: Vec::new(),
        scores: Vec::new(),
        embedding: shown
            .iter()
            .flat_map(|&i| {
                pred.embedding[i * pred.embed..(i + 1) * pred.embed]
                    .iter()
                    .copied()
            })
            .collect(),
        embed: pred.embed,
    };
    // Held-out rows are drawn as one more class, after the trained ones.
    let shown_y: Vec<u32> = shown
        .iter()
        .map(|&i| match part[i] {
            Part::Held => kept.len() as u32,
            _ => class[i] as u32,
        })
        .collect();
    let mut legend: Vec<String> = kept.iter().map(|s| short_name(s)).collect();
    legend.push("held out".into());
    files.push(embedding_figure_named(
        &out.join("embedding.png"),
        &learned.model,
        &learned.record.architecture,
        &sub,
        &shown_y,
        &legend,
        Some(kept.len() as u32),
    )?);
    files.push(write_atomic(
        &out.join("skm.json"),
        &serde_json::to_vec_pretty(&report).expect("serialisable"),
    )?);
    Ok((report, files))
}

/// A file path's name, or the value as it is.
fn short_name(s: &str) -> String {
    Path::new(s)
        .file_name()
        .map_or_else(|| s.to_string(), |f| f.to_string_lossy().into_owned())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The values of one column of a CSV file with a header, skipping the data rows
/// `skip` (0-based, sorted or not).
fn read_csv_column(path: &Path, column: &str, skip: &[usize]) -> Result<Vec<String>> {
    let mut r = csv::Reader::from_path(path).map_err(|e| bad(path, e.to_string()))?;
    let headers = r.headers().map_err(|e| bad(path, e.to_string()))?.clone();
    let Some(at) = headers.iter().position(|h| h == column) else {
        return Err(bad(
            path,
            format!(
                "no column '{column}'; it has {}",
                headers.iter().collect::<Vec<_>>().join(", ")
            ),
        ));
    };
    let mut out = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| bad(path, e.to_string()))?;
        if skip.contains(&i) {
            continue;
        }
        out.push(rec.get(at).unwrap_or("").to_string());
    }
    Ok(out)
}
