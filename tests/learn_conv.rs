//! Post 2's claim, checked against a real deep-learning framework: what a CNN layer
//! computes (burn's `conv2d`, as PyTorch's and candle's) is eigentechno's `correlate` in
//! `valid` mode, and not `convolve`.

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};
use eigentechno::engine::conv::{Method, Mode};
use eigentechno::engine::rng::Rng;
use eigentechno::ops::{convolve, correlate};
use eigentechno::store::NdArray;

fn random(rng: &mut Rng, h: usize, w: usize) -> Vec<f32> {
    (0..h * w).map(|_| rng.normal() as f32).collect()
}

fn array(v: &[f32], h: usize, w: usize) -> NdArray {
    NdArray::F32(
        ndarray::Array2::from_shape_vec((h, w), v.to_vec())
            .unwrap()
            .into_dyn(),
    )
}

fn values(a: NdArray) -> Vec<f32> {
    match a {
        NdArray::F32(x) => x.iter().copied().collect(),
        NdArray::F64(x) => x.iter().map(|&v| v as f32).collect(),
    }
}

#[test]
fn a_cnn_layer_is_correlation_not_convolution() {
    let dev = Device::flex();
    let mut rng = Rng::new(2);
    for (h, w, kh, kw) in [(9, 11, 3, 3), (16, 7, 5, 2), (6, 6, 6, 1)] {
        let image = random(&mut rng, h, w);
        let kernel = random(&mut rng, kh, kw);
        let x = Tensor::<4>::from_data(TensorData::new(image.clone(), [1, 1, h, w]), &dev);
        let k = Tensor::<4>::from_data(TensorData::new(kernel.clone(), [1, 1, kh, kw]), &dev);
        let layer = conv2d(x, k, None, ConvOptions::new([1, 1], [0, 0], [1, 1], 1));
        assert_eq!(layer.dims(), [1, 1, h - kh + 1, w - kw + 1]);
        let layer: Vec<f32> = layer.into_data().try_into_vec().unwrap();
        let a = array(&image, h, w);
        let b = array(&kernel, kh, kw);
        let corr = values(correlate(&a, &b, Mode::Valid, Method::Direct).unwrap());
        let conv = values(convolve(&a, &b, Mode::Valid, Method::Direct).unwrap());
        let diff = |p: &[f32], q: &[f32]| {
            p.iter()
                .zip(q)
                .map(|(x, y)| (x - y).abs())
                .fold(0f32, f32::max)
        };
        assert!(
            diff(&layer, &corr) < 1e-4,
            "{h}x{w} * {kh}x{kw}: conv2d against correlate"
        );
        assert!(
            diff(&layer, &conv) > 0.1,
            "{h}x{w} * {kh}x{kw}: conv2d is not convolve"
        );
    }
}
