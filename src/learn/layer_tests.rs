//! The CNN's custom operations (`layers`) against burn's own layers: forward values,
//! every gradient, and batch normalisation's running statistics.

use burn::module::Module;
use burn::nn::conv::Conv2dConfig;
use burn::nn::pool::MaxPool2dConfig;
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::tensor::{Tensor, TensorData};

use super::layers;
use super::train::device;
use crate::engine::rng::Rng;

fn random(rng: &mut Rng, shape: [usize; 4], autodiff: bool) -> Tensor<4> {
    let n = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
    let dev = if autodiff {
        device().autodiff()
    } else {
        device()
    };
    Tensor::from_data(TensorData::new(v, shape), &dev)
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap()
}

fn assert_close(what: &str, got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{what}[{i}]: {g} against burn's {w}"
        );
    }
}

/// A fixed mix of the output, so every output value gets its own gradient.
fn weighted_sum(y: Tensor<4>, rng: &mut Rng) -> Tensor<1> {
    let w = random(rng, y.dims(), false);
    (y * w.to_device(&device().autodiff())).sum()
}

#[test]
fn conv3x3_equals_burns_conv2d_with_its_gradients() {
    let mut rng = Rng::new(21);
    let dev = device().autodiff();
    let conv = Conv2dConfig::new([3, 5], [3, 3]).init(&dev);
    let x = random(&mut rng, [4, 3, 9, 8], true).require_grad();
    let (w, b) = (conv.weight.val(), conv.bias.as_ref().unwrap().val());
    let ours = layers::conv3x3(x.clone(), w.clone(), b.clone());
    let theirs = conv.forward(x.clone());
    assert_eq!(ours.dims(), [4, 5, 7, 6]);
    assert_close(
        "forward",
        &values(ours.clone()),
        &values(theirs.clone()),
        1e-5,
    );

    let mut r1 = Rng::new(5);
    let g_ours = weighted_sum(ours, &mut r1).backward();
    let mut r2 = Rng::new(5);
    let g_theirs = weighted_sum(theirs, &mut r2).backward();
    assert_close(
        "dx",
        &values(x.grad(&g_ours).unwrap()),
        &values(x.grad(&g_theirs).unwrap()),
        1e-4,
    );
    assert_close(
        "dw",
        &values(w.grad(&g_ours).unwrap()),
        &values(w.grad(&g_theirs).unwrap()),
        1e-4,
    );
    let (bo, bt) = (b.grad(&g_ours).unwrap(), b.grad(&g_theirs).unwrap());
    assert_close(
        "db",
        &values(bo.reshape([1, 1, 1, 5])),
        &values(bt.reshape([1, 1, 1, 5])),
        1e-4,
    );
}

#[test]
fn max_pool2_equals_burns_max_pool_with_its_gradient() {
    let mut rng = Rng::new(22);
    let pool = MaxPool2dConfig::new([2, 2]).init();
    // Odd sizes: the last row and column are dropped by both.
    let x = random(&mut rng, [3, 2, 7, 9], true).require_grad();
    let ours = layers::max_pool2(x.clone());
    let theirs = pool.forward(x.clone());
    assert_eq!(ours.dims(), [3, 2, 3, 4]);
    assert_close(
        "forward",
        &values(ours.clone()),
        &values(theirs.clone()),
        0.0,
    );
    let g_ours = weighted_sum(ours, &mut Rng::new(6)).backward();
    let g_theirs = weighted_sum(theirs, &mut Rng::new(6)).backward();
    assert_close(
        "dx",
        &values(x.grad(&g_ours).unwrap()),
        &values(x.grad(&g_theirs).unwrap()),
        0.0,
    );
}

fn trained_bn(dev: &burn::tensor::Device, rng: &mut Rng) -> BatchNorm {
    let mut bn = BatchNormConfig::new(3).init(dev);
    let g: Vec<f32> = (0..3).map(|_| 1.0 + 0.3 * rng.normal() as f32).collect();
    let b: Vec<f32> = (0..3).map(|_| 0.3 * rng.normal() as f32).collect();
    bn.gamma = burn::module::Param::from_data(TensorData::new(g, [3]), dev);
    bn.beta = burn::module::Param::from_data(TensorData::new(b, [3]), dev);
    bn
}

#[test]
fn batch_norm_equals_burns_batch_norm_in_training_and_after() {
    let mut rng = Rng::new(23);
    let dev = device().autodiff();
    let ours_bn = trained_bn(&dev, &mut Rng::new(1));
    let theirs_bn = trained_bn(&dev, &mut Rng::new(1));
    // A channel far from zero: the gradient must not lose it to cancellation.
    let x = (random(&mut rng, [5, 3, 4, 6], true) + 100.0)
        .detach()
        .require_grad();
    let ours = layers::batch_norm(&ours_bn, x.clone());
    let theirs = theirs_bn.forward(x.clone());
    assert_close(
        "forward",
        &values(ours.clone()),
        &values(theirs.clone()),
        1e-4,
    );
    let g_ours = weighted_sum(ours, &mut Rng::new(7)).backward();
    let g_theirs = weighted_sum(theirs, &mut Rng::new(7)).backward();
    assert_close(
        "dx",
        &values(x.grad(&g_ours).unwrap()),
        &values(x.grad(&g_theirs).unwrap()),
        2e-3,
    );
    for (what, o, t) in [
        ("dgamma", &ours_bn.gamma, &theirs_bn.gamma),
        ("dbeta", &ours_bn.beta, &theirs_bn.beta),
    ] {
        let (go, gt) = (
            o.val().grad(&g_ours).unwrap(),
            t.val().grad(&g_theirs).unwrap(),
        );
        assert_close(
            what,
            &values(go.reshape([1, 1, 1, 3])),
            &values(gt.reshape([1, 1, 1, 3])),
            1e-3,
        );
    }
    let running = |bn: &BatchNorm| {
        let (m, v) = (bn.running_mean.value(), bn.running_var.value());
        (
            values(m.reshape([1, 1, 1, 3])),
            values(v.reshape([1, 1, 1, 3])),
        )
    };
    let ((om, ov), (tm, tv)) = (running(&ours_bn), running(&theirs_bn));
    assert_close("running mean", &om, &tm, 1e-5);
    assert_close("running variance", &ov, &tv, 1e-4);
    // Off the autodiff device both use the running statistics.
    let plain = random(&mut rng, [2, 3, 4, 6], false);
    let bn = ours_bn.valid();
    let (a, b) = (
        layers::batch_norm(&bn, plain.clone()),
        theirs_bn.valid().forward(plain),
    );
    assert_close("inference", &values(a), &values(b), 1e-5);
}
