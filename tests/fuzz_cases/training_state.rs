//! Target `training_state`: a diffusion replica's state and a run's checkpoint from bytes
//! (what a Dask task receives, what an interrupted run reads back), and a trainer rebuilt
//! from a decoded replica: a damaged or foreign state is refused, never a panic.

use std::sync::OnceLock;

use eigentechno::learn::train::{Labelled, Trainer};
use eigentechno::learn::{Checked, FitParams, Head, InputShape, Inputs, Net};
use eigentechno::store::training_state::{
    decode_checkpoint, decode_replica, encode_checkpoint, encode_replica,
};

/// A tiny model and data set the decoded states are restored against: 12 rows of 3
/// features, 2 classes, an MLP with the SKM head.
fn model() -> &'static (Inputs, Vec<u32>, Checked) {
    static M: OnceLock<(Inputs, Vec<u32>, Checked)> = OnceLock::new();
    M.get_or_init(|| {
        let x: Vec<f32> = (0..36).map(|i| (i % 7) as f32 - 3.0).collect();
        let y: Vec<u32> = (0..12).map(|i| (i % 2) as u32).collect();
        let shape = InputShape::Vector { features: 3 };
        let checked = FitParams {
            head: Head::Skm,
            net: Net::Mlp,
            epochs: 2,
            batch: 4,
            support: 4,
            embed: 2,
            hidden: 3,
            ..Default::default()
        }
        .check(shape, 2)
        .expect("valid options");
        (Inputs::new(x, shape).expect("12 rows"), y, checked)
    })
}

/// `Ok` when the bytes are a replica's state that restores onto the tiny model, or a
/// checkpoint.
pub fn run(data: &[u8]) -> Result<(), String> {
    let (x, y, checked) = model();
    if let Ok(c) = decode_checkpoint(data) {
        let again = encode_checkpoint(&c.fingerprint, &c.ledger, &c.replicas);
        let back = decode_checkpoint(&again).expect("an encoded checkpoint decodes");
        assert_eq!(back.replicas, c.replicas, "a checkpoint round-trips");
        return Ok(());
    }
    let state = decode_replica(data)?;
    let back = decode_replica(&encode_replica(&state)).expect("an encoded replica decodes");
    assert_eq!(back, state, "a replica round-trips");
    let train = Labelled {
        inputs: x,
        labels: y,
    };
    let mut t = Trainer::restore(train, checked, state.trainer).map_err(|e| e.to_string())?;
    t.step(&mut |_| {}).map_err(|e| e.to_string())?;
    Ok(())
}

/// A valid replica of the tiny model after `steps` steps, as bytes (a seed input).
pub fn valid_replica(steps: usize) -> Vec<u8> {
    let (x, y, checked) = model();
    let mut t = Trainer::new(
        Labelled {
            inputs: x,
            labels: y,
        },
        checked,
    )
    .expect("valid data");
    for _ in 0..steps {
        t.step(&mut |_| {}).expect("a step");
    }
    encode_replica(&eigentechno::learn::diffusion::ReplicaState {
        trainer: t.state(),
        history: Vec::new(),
    })
}
