//! Diffusion replicas between exchanges as bytes: one replica (what a Dask task takes and
//! returns) or a whole run's checkpoint (its ledger and every replica, one file that an
//! interrupted `learn fit --diffusion` resumes from).
//!
//! Both are safetensors: a replica's parameters as float32 tensors `param.NNNN`, its row
//! order as uint64 `order`, the optimizer's burnpack record as uint8 `optimizer`, and the
//! rest (parameter ids, generator, tallies, epoch records) as JSON in the metadata. A
//! checkpoint prefixes each replica's names with `replica_NN/` and keeps the ledger and
//! the run's fingerprint in its metadata. The bytes come from elsewhere (another machine,
//! a file that may be damaged): every count and size is checked, and nothing is trusted
//! beyond the buffer that holds it.

use std::collections::HashMap;

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};

use crate::learn::diffusion::{Ledger, ReplicaState};
use crate::learn::train::{EpochRecord, TrainerState};

/// Everything of a replica but its tensors.
#[derive(Serialize, Deserialize)]
struct ReplicaMeta {
    ids: Vec<u64>,
    rng: [u64; 4],
    spare_normal: Option<f64>,
    batch: usize,
    epoch: usize,
    step: usize,
    loss_sum: f64,
    right: usize,
    epoch_seconds: f64,
    history: Vec<EpochRecord>,
}

fn le_bytes_f32(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn le_bytes_u64(v: &[usize]) -> Vec<u8> {
    v.iter().flat_map(|&x| (x as u64).to_le_bytes()).collect()
}

/// The tensors of one replica, names prefixed, and its metadata's JSON.
fn replica_parts(prefix: &str, s: &ReplicaState) -> (Vec<(String, Dtype, Vec<u8>)>, String) {
    let t = &s.trainer;
    let mut parts: Vec<(String, Dtype, Vec<u8>)> = t
        .params
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("{prefix}param.{i:04}"), Dtype::F32, le_bytes_f32(p)))
        .collect();
    parts.push((format!("{prefix}order"), Dtype::U64, le_bytes_u64(&t.order)));
    parts.push((format!("{prefix}optimizer"), Dtype::U8, t.optimizer.clone()));
    let meta = ReplicaMeta {
        ids: t.ids.clone(),
        rng: t.rng.0,
        spare_normal: t.rng.1,
        batch: t.batch,
        epoch: t.epoch,
        step: t.step,
        loss_sum: t.loss_sum,
        right: t.right,
        epoch_seconds: t.epoch_seconds,
        history: s.history.clone(),
    };
    (parts, serde_json::to_string(&meta).expect("serialisable"))
}

fn serialize(parts: &[(String, Dtype, Vec<u8>)], meta: HashMap<String, String>) -> Vec<u8> {
    let views: Vec<(String, TensorView)> = parts
        .iter()
        .map(|(name, dtype, data)| {
            let width = match dtype {
                Dtype::F32 => 4,
                Dtype::U64 => 8,
                _ => 1,
            };
            let view =
                TensorView::new(*dtype, vec![data.len() / width], data).expect("a consistent view");
            (name.clone(), view)
        })
        .collect();
    safetensors::serialize(views, Some(meta)).expect("tensors of consistent sizes")
}

/// One replica's state as bytes.
pub fn encode_replica(s: &ReplicaState) -> Vec<u8> {
    let (parts, meta) = replica_parts("", s);
    serialize(&parts, HashMap::from([("replica".to_string(), meta)]))
}

fn tensor<'a>(st: &SafeTensors<'a>, name: &str, dtype: Dtype) -> Result<&'a [u8], String> {
    let view = st.tensor(name).map_err(|_| format!("no tensor {name}"))?;
    if view.dtype() != dtype || view.shape().len() != 1 {
        return Err(format!(
            "{name} is {:?} of shape {:?}, not a vector of {dtype:?}",
            view.dtype(),
            view.shape()
        ));
    }
    Ok(view.data())
}

fn read_replica(st: &SafeTensors, prefix: &str, meta: &str) -> Result<ReplicaState, String> {
    let m: ReplicaMeta = serde_json::from_str(meta)
        .map_err(|e| format!("{prefix}: the replica's description: {e}"))?;
    let params = (0..m.ids.len())
        .map(|i| {
            let data = tensor(st, &format!("{prefix}param.{i:04}"), Dtype::F32)?;
            Ok(data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect())
        })
        .collect::<Result<Vec<Vec<f32>>, String>>()?;
    if st.names().len() < params.len() + 2 {
        return Err(format!("{prefix}: fewer tensors than parameters"));
    }
    let order = tensor(st, &format!("{prefix}order"), Dtype::U64)?
        .chunks_exact(8)
        .map(|b| {
            let v = u64::from_le_bytes(b.try_into().expect("8 bytes"));
            usize::try_from(v).map_err(|_| format!("{prefix}: row {v} in the order"))
        })
        .collect::<Result<Vec<usize>, String>>()?;
    let optimizer = tensor(st, &format!("{prefix}optimizer"), Dtype::U8)?.to_vec();
    Ok(ReplicaState {
        trainer: TrainerState {
            ids: m.ids,
            params,
            optimizer,
            rng: (m.rng, m.spare_normal),
            order,
            batch: m.batch,
            epoch: m.epoch,
            step: m.step,
            loss_sum: m.loss_sum,
            right: m.right,
            epoch_seconds: m.epoch_seconds,
        },
        history: m.history,
    })
}

fn open(bytes: &[u8]) -> Result<(SafeTensors<'_>, HashMap<String, String>), String> {
    let (_, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| format!("not a training state (safetensors): {e}"))?;
    let meta = header.metadata().clone().unwrap_or_default();
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| format!("not a training state (safetensors): {e}"))?;
    Ok((st, meta))
}

/// A replica's state from [`encode_replica`]'s bytes (the reason on failure). The state's
/// fit to a model and data is checked when a trainer is restored from it.
pub fn decode_replica(bytes: &[u8]) -> Result<ReplicaState, String> {
    let (st, meta) = open(bytes)?;
    let m = meta
        .get("replica")
        .ok_or("a safetensors file, but not a replica's state")?;
    read_replica(&st, "", m)
}

/// A diffusion run saved after an exchange: what it is (`fingerprint`, compared before
/// resuming), its ledger and its replicas.
#[derive(Debug)]
pub struct Checkpoint {
    /// What run this is (data, options, replicas), as the writer described it.
    pub fingerprint: String,
    /// The run's bookkeeping.
    pub ledger: Ledger,
    /// Every replica.
    pub replicas: Vec<ReplicaState>,
}

/// A checkpoint's bytes.
pub fn encode_checkpoint(fingerprint: &str, ledger: &Ledger, replicas: &[ReplicaState]) -> Vec<u8> {
    let mut parts = Vec::new();
    let mut meta = HashMap::from([
        ("fingerprint".to_string(), fingerprint.to_string()),
        (
            "ledger".to_string(),
            serde_json::to_string(ledger).expect("serialisable"),
        ),
        ("replicas".to_string(), replicas.len().to_string()),
    ]);
    for (i, r) in replicas.iter().enumerate() {
        let prefix = format!("replica_{i:02}/");
        let (p, m) = replica_parts(&prefix, r);
        parts.extend(p);
        meta.insert(prefix, m);
    }
    serialize(&parts, meta)
}

/// A checkpoint from [`encode_checkpoint`]'s bytes (the reason on failure).
pub fn decode_checkpoint(bytes: &[u8]) -> Result<Checkpoint, String> {
    let (st, meta) = open(bytes)?;
    let get = |key: &str| {
        meta.get(key)
            .ok_or_else(|| format!("a safetensors file, but not a diffusion checkpoint (no {key})"))
    };
    let fingerprint = get("fingerprint")?.clone();
    let ledger: Ledger = serde_json::from_str(get("ledger")?)
        .map_err(|e| format!("the checkpoint's ledger: {e}"))?;
    let k: usize = get("replicas")?
        .parse()
        .map_err(|_| "the checkpoint's replica count is not a number".to_string())?;
    if k != ledger.shards.len() {
        return Err(format!(
            "{k} replicas for a ledger of {} shards",
            ledger.shards.len()
        ));
    }
    let replicas = (0..k)
        .map(|i| {
            let prefix = format!("replica_{i:02}/");
            read_replica(&st, &prefix, get(&prefix)?)
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Checkpoint {
        fingerprint,
        ledger,
        replicas,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replica(seed: u64) -> ReplicaState {
        ReplicaState {
            trainer: TrainerState {
                ids: vec![seed, seed + 1],
                params: vec![vec![1.5, -2.0, f32::MIN_POSITIVE], vec![seed as f32]],
                optimizer: vec![1, 2, 3, 250],
                rng: ([seed, 2, 3, 4], Some(-0.25)),
                order: vec![2, 0, 1],
                batch: 1,
                epoch: 2,
                step: 7,
                loss_sum: 0.1 + 0.2,
                right: 3,
                epoch_seconds: 1.25,
            },
            history: vec![EpochRecord {
                epoch: 1,
                loss: 0.5,
                train_accuracy: 0.75,
                test_accuracy: Some(0.8),
                seconds: 2.0,
            }],
        }
    }

    #[test]
    fn a_replica_round_trips_bit_for_bit() {
        let r = replica(11);
        assert_eq!(decode_replica(&encode_replica(&r)).unwrap(), r);
    }

    #[test]
    fn a_checkpoint_round_trips_and_damage_is_refused() {
        let ledger = Ledger {
            shards: vec![vec![0, 2], vec![1]],
            shared_rows: vec![2],
            total_steps: vec![4, 4],
            round_end: 2,
            mass: vec![vec![1.0, 0.5], vec![0.5, 1.0]],
            exchanges: Vec::new(),
            curve: Vec::new(),
            epochs: vec![1, 1],
        };
        let rs = vec![replica(1), replica(2)];
        let bytes = encode_checkpoint("run 1", &ledger, &rs);
        let c = decode_checkpoint(&bytes).unwrap();
        assert_eq!(
            (c.fingerprint.as_str(), &c.ledger, &c.replicas),
            ("run 1", &ledger, &rs)
        );
        for cut in [0, 7, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode_checkpoint(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let e = decode_replica(&bytes).unwrap_err();
        assert!(e.contains("not a replica"), "{e}");
        let e = decode_checkpoint(&encode_replica(&rs[0])).unwrap_err();
        assert!(e.contains("not a diffusion checkpoint"), "{e}");
    }
}
