use ndarray::{Array3, Array4};

use super::{Nchw, conv3x3, pool};
use crate::engine::Rng;
use crate::engine::conv::Conv2dLayer;

fn random(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.range(-1.0, 1.0) as f32).collect()
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

const X: Nchw = Nchw {
    batch: 11,
    channels: 3,
    height: 7,
    width: 6,
};
const OUT: usize = 4;

#[test]
fn the_convolution_equals_the_engine_conv_layer() {
    let mut rng = Rng::new(1);
    let (input, weight, bias) = (
        random(&mut rng, X.len()),
        random(&mut rng, OUT * 27),
        random(&mut rng, OUT),
    );
    let y = conv3x3::output_shape(X, OUT);
    let mut out = vec![0f32; y.len()];
    conv3x3::forward(X, &input, &weight, Some(&bias), OUT, &mut out);
    let w =
        Array4::from_shape_vec((OUT, 3, 3, 3), weight.iter().map(|&v| v as f64).collect()).unwrap();
    let layer = Conv2dLayer::new(
        w,
        Some(bias.iter().map(|&v| v as f64).collect()),
        (1, 1),
        (0, 0),
        1,
    )
    .unwrap();
    for (b, o) in input.chunks(X.image_len()).zip(out.chunks(y.image_len())) {
        let image =
            Array3::from_shape_vec((3, 7, 6), b.iter().map(|&v| v as f64).collect()).unwrap();
        let want = layer.forward(image.view()).unwrap();
        assert_eq!(want.dim(), (OUT, 5, 4));
        for (g, w) in o.iter().zip(want.iter()) {
            assert!((*g as f64 - w).abs() < 1e-5, "{g} against {w}");
        }
    }
}

/// The convolution is linear in its input and in its weights, so its gradients are the
/// adjoint maps: <dL/dx, x'> = <g, conv(x', w)> and <dL/dw, w'> = <g, conv(x, w')>
/// (without bias) for any x', w', and dL/db sums g over pixels.
#[test]
fn the_gradients_are_the_adjoints_of_the_convolution() {
    let mut rng = Rng::new(2);
    let (input, weight) = (random(&mut rng, X.len()), random(&mut rng, OUT * 27));
    let y = conv3x3::output_shape(X, OUT);
    let g = random(&mut rng, y.len());
    let conv = |x: &[f32], w: &[f32]| {
        let mut o = vec![0f32; y.len()];
        conv3x3::forward(X, x, w, None, OUT, &mut o);
        o
    };
    let dx = conv3x3::input_gradient(X, &weight, &g, OUT);
    let (dw, db) = conv3x3::weight_gradient(X, &input, &g, OUT);
    for _ in 0..3 {
        let (x2, w2) = (random(&mut rng, X.len()), random(&mut rng, OUT * 27));
        let (a, b) = (dot(&dx, &x2), dot(&g, &conv(&x2, &weight)));
        assert!(
            (a - b).abs() < 1e-4 * b.abs().max(1.0),
            "input: {a} against {b}"
        );
        let (a, b) = (dot(&dw, &w2), dot(&g, &conv(&input, &w2)));
        assert!(
            (a - b).abs() < 1e-4 * b.abs().max(1.0),
            "weights: {a} against {b}"
        );
    }
    let p = y.height * y.width;
    for (o, &d) in db.iter().enumerate() {
        let want: f64 = g
            .chunks(p)
            .skip(o)
            .step_by(OUT)
            .flatten()
            .map(|&v| v as f64)
            .sum();
        assert!(
            (d as f64 - want).abs() < 1e-4,
            "bias {o}: {d} against {want}"
        );
    }
}

#[test]
fn the_weight_gradient_is_the_same_bits_on_any_thread_count() {
    let mut rng = Rng::new(3);
    let x = Nchw { batch: 37, ..X };
    let input = random(&mut rng, x.len());
    let g = random(&mut rng, conv3x3::output_shape(x, OUT).len());
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| conv3x3::weight_gradient(x, &input, &g, OUT))
    };
    assert_eq!(run(1), run(3));
}

#[test]
fn pooling_takes_window_maxima_and_drops_an_odd_edge() {
    let x = Nchw {
        batch: 1,
        channels: 1,
        height: 3,
        width: 5,
    };
    let input: Vec<f32> = vec![1., 5., 2., 0., 9., 3., 4., 8., 1., 9., 7., 7., 7., 7., 7.];
    let mut out = vec![0f32; 2];
    pool::forward(x, &input, &mut out);
    assert_eq!(out, vec![5., 8.]);
    let dx = pool::input_gradient(x, &input, &[10., 20.]);
    assert_eq!(
        dx,
        vec![0., 10., 0., 0., 0., 0., 0., 20., 0., 0., 0., 0., 0., 0., 0.]
    );
}

/// Away from ties the pooled sum is differentiable: a small change of each input moves
/// `<g, pool(x)>` by the gradient's share.
#[test]
fn the_pooling_gradient_matches_finite_differences() {
    let mut rng = Rng::new(4);
    let x = Nchw {
        batch: 2,
        channels: 3,
        height: 6,
        width: 5,
    };
    let input = random(&mut rng, x.len());
    let y = pool::output_shape(x);
    let g = random(&mut rng, y.len());
    let f = |v: &[f32]| {
        let mut o = vec![0f32; y.len()];
        pool::forward(x, v, &mut o);
        dot(&g, &o)
    };
    let dx = pool::input_gradient(x, &input, &g);
    let eps = 1e-3f32;
    for i in 0..x.len() {
        let (mut up, mut down) = (input.clone(), input.clone());
        up[i] += eps;
        down[i] -= eps;
        let fd = (f(&up) - f(&down)) / (2.0 * eps as f64);
        assert!(
            (fd - dx[i] as f64).abs() < 1e-3,
            "input {i}: {fd} against {}",
            dx[i]
        );
    }
}

#[test]
fn a_nan_wins_its_window() {
    let x = Nchw {
        batch: 1,
        channels: 1,
        height: 2,
        width: 2,
    };
    let mut out = vec![0f32; 1];
    pool::forward(x, &[1.0, f32::NAN, 3.0, 2.0], &mut out);
    assert!(out[0].is_nan());
}

#[test]
fn a_tie_sends_the_gradient_to_the_first_of_the_window() {
    let x = Nchw {
        batch: 1,
        channels: 1,
        height: 2,
        width: 6,
    };
    let input = [2., 2., 1., 3., 0., 0., 2., 2., 3., 0., 0., 5.];
    let mut out = vec![0f32; 3];
    pool::forward(x, &input, &mut out);
    assert_eq!(out, vec![2., 3., 5.]);
    let dx = pool::input_gradient(x, &input, &[1., 2., 3.]);
    assert_eq!(dx, vec![1., 0., 0., 2., 0., 0., 0., 0., 0., 0., 0., 3.]);
}
