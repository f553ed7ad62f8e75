//! The SKM layer against finite differences, and training end to end on small data.

use burn::tensor::{Int, Tensor, TensorData};

use super::model::{SkmLayer, loss, probabilities};
use super::*;
use crate::engine::rng::Rng;

fn randn(rng: &mut Rng, n: usize, scale: f64) -> Vec<f32> {
    (0..n).map(|_| (rng.normal() * scale) as f32).collect()
}

/// The SKM loss as a plain function of all its inputs, for finite differences.
fn skm_loss(z: &[f32], s: &[f32], lw: &[f32], a: &[f32], b: &[f32], y: &[i64]) -> f64 {
    let dev = train::device();
    let layer = SkmLayer::from_values(s.to_vec(), lw.to_vec(), a.to_vec(), b.to_vec(), &dev);
    let zt = Tensor::<2>::from_data(
        TensorData::new(z.to_vec(), [y.len(), z.len() / y.len()]),
        &dev,
    );
    let yt = Tensor::<1, Int>::from_ints(y, &dev);
    let scores = layer.scores(layer.kernels(zt));
    let logits = layer.class_logits(scores.clone());
    loss(Head::Skm, scores, logits, yt).into_scalar::<f32>() as f64
}

#[test]
fn skm_gradients_match_finite_differences() {
    let (bsz, d, m, c) = (5, 3, 4, 3);
    let mut rng = Rng::new(11);
    let z = randn(&mut rng, bsz * d, 1.0);
    let s = randn(&mut rng, m * d, 1.0);
    let lw: Vec<f32> = randn(&mut rng, m, 0.2).iter().map(|v| v + 0.3).collect();
    let a = randn(&mut rng, c * m, 2.0);
    let b = randn(&mut rng, c, 0.5);
    let y: Vec<i64> = vec![0, 2, 1, 1, 0];

    let dev = train::device().autodiff();
    let layer = SkmLayer::from_values(s.clone(), lw.clone(), a.clone(), b.clone(), &dev);
    let zt = Tensor::<2>::from_data(TensorData::new(z.clone(), [bsz, d]), &dev).require_grad();
    let yt = Tensor::<1, Int>::from_ints(y.as_slice(), &dev);
    let scores = layer.scores(layer.kernels(zt.clone()));
    let l = loss(Head::Skm, scores.clone(), layer.class_logits(scores), yt);
    let grads = l.backward();
    let grad = |t: Tensor<2>| {
        t.grad(&grads)
            .expect("a gradient")
            .into_data()
            .try_into_vec::<f32>()
            .unwrap()
    };
    let grad1 = |t: Tensor<1>| {
        t.grad(&grads)
            .expect("a gradient")
            .into_data()
            .try_into_vec::<f32>()
            .unwrap()
    };
    let analytic = [
        grad(zt),
        grad(layer.support.val()),
        grad1(layer.log_width.val()),
        grad(layer.weight.val()),
        grad1(layer.bias.val()),
    ];

    let eps = 1e-2f32;
    let mut worst = 0f64;
    for (which, g) in analytic.iter().enumerate() {
        let mut args = [z.clone(), s.clone(), lw.clone(), a.clone(), b.clone()];
        assert_eq!(g.len(), args[which].len());
        for i in 0..g.len() {
            let x0 = args[which][i];
            args[which][i] = x0 + eps;
            let up = skm_loss(&args[0], &args[1], &args[2], &args[3], &args[4], &y);
            args[which][i] = x0 - eps;
            let down = skm_loss(&args[0], &args[1], &args[2], &args[3], &args[4], &y);
            args[which][i] = x0;
            let numeric = (up - down) / (2.0 * eps as f64);
            let err = (numeric - g[i] as f64).abs() / (1.0 + numeric.abs());
            worst = worst.max(err);
            assert!(
                err < 2e-3,
                "parameter {which}, element {i}: backprop {} against finite difference {numeric}",
                g[i]
            );
        }
    }
    // The check can fail: a wrong gradient (here, half of it) is far outside the tolerance.
    assert!(worst < 2e-3);
    let numeric_b0 = {
        let mut b2 = b.clone();
        b2[0] += eps;
        let up = skm_loss(&z, &s, &lw, &a, &b2, &y);
        b2[0] -= 2.0 * eps;
        let down = skm_loss(&z, &s, &lw, &a, &b2, &y);
        (up - down) / (2.0 * eps as f64)
    };
    assert!((numeric_b0 - 0.5 * analytic[4][0] as f64).abs() > 1e-2);
}

/// Three Gaussian blobs in the plane, `per` rows each.
fn blobs(per: usize, seed: u64) -> (Inputs, Vec<u32>) {
    let centres = [(-3.0, 0.0), (3.0, 0.0), (0.0, 4.0)];
    let mut rng = Rng::new(seed);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for _ in 0..per {
        for (c, &(cx, cy)) in centres.iter().enumerate() {
            x.push((cx + 0.6 * rng.normal()) as f32);
            x.push((cy + 0.6 * rng.normal()) as f32);
            y.push(c as u32);
        }
    }
    (
        Inputs::new(x, InputShape::Vector { features: 2 }).unwrap(),
        y,
    )
}

fn fit_blobs(head: Head) -> (Fitted, f64) {
    let (x, y) = blobs(100, 1);
    let (tx, ty) = blobs(50, 2);
    let params = FitParams {
        head,
        net: Net::Mlp,
        epochs: 40,
        batch: 32,
        embed: 8,
        hidden: 32,
        learning_rate: 1e-2,
        ..Default::default()
    };
    let checked = params.check(x.shape, 3).unwrap();
    let test = Labelled {
        inputs: &tx,
        labels: &ty,
    };
    let fitted = fit(
        Labelled {
            inputs: &x,
            labels: &y,
        },
        Some(test),
        &checked,
        &mut |_| {},
    )
    .unwrap();
    let acc = fitted.history.last().unwrap().test_accuracy.unwrap();
    (fitted, acc)
}

#[test]
fn skm_confidence_falls_to_zero_far_from_the_data_where_softmax_stays_sure() {
    let (skm, acc) = fit_blobs(Head::Skm);
    assert!(acc > 0.97, "SKM test accuracy {acc}");
    let far: Vec<f32> = [(60.0, 60.0), (-80.0, 10.0), (0.0, -90.0), (100.0, -100.0)]
        .iter()
        .flat_map(|&(a, b)| [a, b])
        .collect();
    let near: Vec<f32> = vec![-3.0, 0.0, 3.0, 0.0, 0.0, 4.0];
    let shape = InputShape::Vector { features: 2 };
    let conf = |f: &Fitted, v: &[f32]| {
        predict(
            &f.model,
            &f.architecture,
            &Inputs::new(v.to_vec(), shape).unwrap(),
            16,
        )
        .confidence
    };
    for c in conf(&skm, &near) {
        assert!(c > 0.8, "confidence {c} at a blob's centre");
    }
    for c in conf(&skm, &far) {
        assert!(c < 0.06, "SKM confidence {c} far from every blob");
    }
    let (soft, acc) = fit_blobs(Head::Softmax);
    assert!(acc > 0.97, "softmax test accuracy {acc}");
    let sure = conf(&soft, &far);
    assert!(sure.iter().all(|&c| c > 0.9), "softmax far away: {sure:?}");
}

#[test]
fn probabilities_follow_the_heads_definitions() {
    let dev = train::device();
    let scores =
        Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 2.0, -1.0, 1.0], [2, 2]), &dev);
    let (p, c) = probabilities(Head::Skm, scores.clone(), scores.clone());
    let p = p.into_data().try_into_vec::<f32>().unwrap();
    let c = c.into_data().try_into_vec::<f32>().unwrap();
    let sig = |x: f32| 1.0 / (1.0 + (-x).exp());
    assert!((c[0] - sig(2.0)).abs() < 1e-6 && (c[1] - sig(1.0)).abs() < 1e-6);
    // The class probabilities are softmax(f), not the normalised sigmoids.
    assert!((p[0] - 1.0 / (1.0 + 2f32.exp())).abs() < 1e-6);
    assert!((p[3] - 1.0 / (1.0 + (-2f32).exp())).abs() < 1e-6);
    let (p, _) = probabilities(Head::Softmax, scores.clone(), scores);
    let p = p.into_data().try_into_vec::<f32>().unwrap();
    assert!((p[1] - 2f32.exp() / (1.0 + 2f32.exp())).abs() < 1e-6);
}

/// Blobs that overlap: a classifier cannot be sure of every row, so its probabilities'
/// scale matters.
fn overlapping_blobs(per: usize, seed: u64) -> (Inputs, Vec<u32>) {
    let (x, y) = blobs(per, seed);
    let v = x.values.iter().map(|&v| v * 0.4).collect();
    (Inputs::new(v, x.shape).unwrap(), y)
}

#[test]
fn the_skm_scale_is_fitted_to_rows_held_out_of_training_when_there_are_enough() {
    let params = FitParams {
        head: Head::Skm,
        net: Net::Mlp,
        epochs: 1,
        batch: 64,
        embed: 8,
        hidden: 32,
        learning_rate: 1e-2,
        ..Default::default()
    };
    let fit_on = |per: usize| {
        let (x, y) = overlapping_blobs(per, 3);
        let checked = params.check(x.shape, 3).unwrap();
        fit(
            Labelled {
                inputs: &x,
                labels: &y,
            },
            None,
            &checked,
            &mut |_| {},
        )
        .unwrap()
    };
    // 3 x 6,667 rows: 1/20 held out, stratified.
    let mut fitted = fit_on(6_667);
    let cal = fitted
        .calibration
        .clone()
        .expect("20,001 rows are enough to hold some out");
    assert_eq!(cal.rows, 1_000);
    assert!(cal.nll <= cal.nll_before, "{cal:?}");
    assert!(cal.temperature > 0.0 && cal.temperature.is_finite());
    let t = fitted.model.skm_mut().unwrap().temperature();
    assert!(
        (t / cal.temperature - 1.0).abs() < 1e-5,
        "the model's scale {t} against {cal:?}"
    );
    // 3 x 6,666 = 19,998 rows: every row trains, and the scale stays as learned.
    assert!(fit_on(6_666).calibration.is_none());
}
