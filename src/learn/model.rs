//! The networks: a feature extractor (CNN or MLP) and an output layer (SKM, softmax or
//! L2-SVM), as burn modules with named parameters (saved as safetensors by `ops`).

use burn::module::RunningState;
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
use burn::tensor::activation::{log_sigmoid, relu, sigmoid, softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::layers;
use super::params::{Architecture, Head, Net};
use crate::engine::rng::Rng;

/// Uniform values in (-bound, bound) from `rng`: every initial weight comes from the
/// model's own seed, so two fits with one seed agree whatever else runs in the process.
fn uniform(rng: &mut Rng, n: usize, bound: f64) -> Vec<f32> {
    (0..n).map(|_| rng.range(-bound, bound) as f32).collect()
}

fn param<const D: usize>(values: Vec<f32>, shape: [usize; D], device: &Device) -> Param<Tensor<D>> {
    Param::from_data(TensorData::new(values, shape), device)
}

/// PyTorch's default initialisation (weights and biases uniform in +-1/sqrt(fan_in)), so
/// a comparison with PyTorch starts from the same distribution.
fn linear(rng: &mut Rng, d_in: usize, d_out: usize, device: &Device) -> Linear {
    let mut l = LinearConfig::new(d_in, d_out).init(device);
    let b = 1.0 / (d_in as f64).sqrt();
    l.weight = param(uniform(rng, d_in * d_out, b), [d_in, d_out], device);
    l.bias = Some(param(uniform(rng, d_out, b), [d_out], device));
    l
}

fn conv3x3(rng: &mut Rng, c_in: usize, c_out: usize, device: &Device) -> Conv2d {
    let mut c = Conv2dConfig::new([c_in, c_out], [3, 3]).init(device);
    let fan_in = c_in * 9;
    let b = 1.0 / (fan_in as f64).sqrt();
    c.weight = param(uniform(rng, c_out * fan_in, b), [c_out, c_in, 3, 3], device);
    c.bias = Some(param(uniform(rng, c_out, b), [c_out], device));
    c
}

/// A 3x3 convolution of the CNN through the engine's kernels (`learn::layers`).
fn conv(c: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let bias = c
        .bias
        .as_ref()
        .expect("the CNN's convolutions have biases")
        .val();
    layers::conv3x3(x, c.weight.val(), bias)
}

/// Input standardisation, fixed at fit time from the training rows (not trained).
#[derive(Module, Debug)]
pub struct Standardize {
    /// Subtracted from each input value.
    pub mean: Param<Tensor<1>>,
    /// Multiplies each centred value.
    pub scale: Param<Tensor<1>>,
}

impl Standardize {
    /// Per feature for vectors; one mean and scale over all pixels for images (a pixel
    /// that never changes must not get an infinite scale).
    pub fn from_rows(values: &[f32], features: usize, per_feature: bool, device: &Device) -> Self {
        let rows = values.len() / features;
        let (mean, scale) = if per_feature {
            let mut m = vec![0f64; features];
            let mut s = vec![0f64; features];
            for r in values.chunks_exact(features) {
                for (j, &v) in r.iter().enumerate() {
                    m[j] += v as f64;
                }
            }
            m.iter_mut().for_each(|v| *v /= rows as f64);
            for r in values.chunks_exact(features) {
                for (j, &v) in r.iter().enumerate() {
                    s[j] += (v as f64 - m[j]).powi(2);
                }
            }
            let scale = s.iter().map(|&ss| inverse_std(ss / rows as f64)).collect();
            (m, scale)
        } else {
            let n = values.len() as f64;
            let m = values.iter().map(|&v| v as f64).sum::<f64>() / n;
            let var = values.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / n;
            (vec![m; features], vec![inverse_std(var); features])
        };
        let f = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<_>>();
        Standardize {
            mean: param(f(mean), [features], device).set_require_grad(false),
            scale: param(f(scale), [features], device).set_require_grad(false),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        (x - self.mean.val().unsqueeze_dim(0)) * self.scale.val().unsqueeze_dim(0)
    }
}

fn inverse_std(var: f64) -> f64 {
    if var > 1e-12 { 1.0 / var.sqrt() } else { 1.0 }
}

/// conv(32, 3x3) - BN - ReLU - pool(2) - conv(64, 3x3) - BN - ReLU - pool(2) - (dropout)
/// - dense(embed) - ReLU.
#[derive(Module, Debug)]
pub struct Cnn {
    conv1: Conv2d,
    norm1: BatchNorm,
    conv2: Conv2d,
    norm2: BatchNorm,
    dense: Linear,
    /// (channels, height, width) of an input image.
    image: [usize; 3],
}

impl Cnn {
    fn new(rng: &mut Rng, a: &Architecture, device: &Device) -> Self {
        let (gh, gw) = a.cnn_grid().expect("checked: an image the CNN takes");
        let image = match a.input {
            super::data::InputShape::Image {
                channels,
                height,
                width,
            } => [channels, height, width],
            super::data::InputShape::Vector { .. } => unreachable!("checked: an image"),
        };
        Cnn {
            conv1: conv3x3(rng, image[0], 32, device),
            norm1: BatchNormConfig::new(32).init(device),
            conv2: conv3x3(rng, 32, 64, device),
            norm2: BatchNormConfig::new(64).init(device),
            dense: linear(rng, 64 * gh * gw, a.embed, device),
            image,
        }
    }

    /// `keep`: in training, the dropout mask of the flattened conv features (0 or
    /// 1/(1-p) each), drawn by the training loop from the fit's seed.
    fn forward(&self, x: Tensor<2>, keep: Option<Tensor<2>>) -> Tensor<2> {
        let [b, _] = x.dims();
        let [c, h, w] = self.image;
        let x = x.reshape([b, c, h, w]);
        // Pooling before ReLU: both are monotone, so the values and gradients are
        // those of ReLU then pooling, at a quarter of the ReLU's work.
        let x = relu(layers::max_pool2(layers::batch_norm(
            &self.norm1,
            conv(&self.conv1, x),
        )));
        let x = relu(layers::max_pool2(layers::batch_norm(
            &self.norm2,
            conv(&self.conv2, x),
        )));
        let x = x.flatten(1, 3);
        let x = match keep {
            Some(k) => x * k,
            None => x,
        };
        relu(self.dense.forward(x))
    }

    /// Values a flattened conv output holds (the dropout mask's width).
    pub fn flat_features(&self) -> usize {
        // Linear weights are (in, out).
        self.dense.weight.dims()[0]
    }

    /// The first convolution's kernels, (32, channels, 3, 3).
    pub fn first_kernels(&self) -> Tensor<4> {
        self.conv1.weight.val()
    }
}

/// dense(hidden) - ReLU - dense(embed).
#[derive(Module, Debug)]
pub struct Mlp {
    hidden: Linear,
    out: Linear,
}

impl Mlp {
    fn new(rng: &mut Rng, a: &Architecture, device: &Device) -> Self {
        Mlp {
            hidden: linear(rng, a.input.len(), a.hidden, device),
            out: linear(rng, a.hidden, a.embed, device),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.out.forward(relu(self.hidden.forward(x)))
    }
}

/// The smooth kernel machine layer: Gaussian kernels `k_j(z) = exp(-|z - s_j|^2 / (2 w_j^2))`
/// on learned support points `s_j` with learned widths `w_j`, and class scores
/// `f_c(z) = sum_j a_cj k_j(z) + b_c`.
#[derive(Module, Debug)]
pub struct SkmLayer {
    /// Support points, (M, D).
    pub support: Param<Tensor<2>>,
    /// Log of each support point's width, (M).
    pub log_width: Param<Tensor<1>>,
    /// Class weights `a`, (C, M).
    pub weight: Param<Tensor<2>>,
    /// Class biases `b`, (C).
    pub bias: Param<Tensor<1>>,
    /// Log of the scale t of the class probabilities softmax(t f), over 10, (1). The one-vs-rest
    /// term of the loss fixes the scale of f; t lets the cross-entropy term set how
    /// sharp the class probabilities are, independently (without it they stayed
    /// underconfident after a short training: ECE 0.25 on 8,000 digits, 10 epochs).
    pub log_temperature: Param<Tensor<1>>,
}

/// Where the SKM layer starts: support points on embedded training rows, each voting for
/// its row's class, with widths at the typical distance and biases that make every class
/// unlikely until a kernel speaks for it.
pub struct SkmInit {
    /// Embedded rows to start the support points on, (M, D) row-major.
    pub points: Vec<f32>,
    /// The class of each row.
    pub classes: Vec<u32>,
}

/// log t of the class probabilities is this times its parameter.
const TEMPERATURE_GAIN: f32 = 10.0;

/// The bias every SKM class score starts from: far from all support points the one-vs-rest
/// probability is sigmoid(-3) = 0.047.
const SKM_START_BIAS: f32 = -3.0;

impl SkmLayer {
    /// A layer from given values (tests and loading use this too).
    pub fn from_values(
        support: Vec<f32>,
        log_width: Vec<f32>,
        weight: Vec<f32>,
        bias: Vec<f32>,
        device: &Device,
    ) -> Self {
        let (m, c) = (log_width.len(), bias.len());
        let d = support.len() / m;
        SkmLayer {
            support: param(support, [m, d], device),
            log_width: param(log_width, [m], device),
            weight: param(weight, [c, m], device),
            bias: param(bias, [c], device),
            log_temperature: param(vec![0.0], [1], device),
        }
    }

    fn start(init: &SkmInit, classes: usize, device: &Device) -> Self {
        let m = init.classes.len();
        let d = init.points.len() / m;
        // The median squared distance between the starting points sets every width.
        let mut d2 = Vec::new();
        for i in 0..m {
            for j in i + 1..m {
                let a = &init.points[i * d..(i + 1) * d];
                let b = &init.points[j * d..(j + 1) * d];
                d2.push(a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>());
            }
        }
        d2.sort_by(f32::total_cmp);
        let typical = d2.get(d2.len() / 2).copied().unwrap_or(1.0).max(1e-6);
        let log_width = vec![0.5 * (typical / 2.0).ln(); m];
        // Each class's votes sum to 2|b|: a row at all of its class's support points
        // scores +|b|, a row at the typical distance from them (kernels e^-1) about
        // -0.26|b|. Larger votes make every class likely for every row at the start
        // (a random network does not yet separate them), and the first steps then
        // push all kernels to zero, where their gradients vanish.
        let mut per_class = vec![0usize; classes];
        for &c in &init.classes {
            per_class[c as usize] += 1;
        }
        let mut weight = vec![0f32; classes * m];
        for (j, &c) in init.classes.iter().enumerate() {
            weight[c as usize * m + j] = 2.0 * -SKM_START_BIAS / per_class[c as usize] as f32;
        }
        Self::from_values(
            init.points.clone(),
            log_width,
            weight,
            vec![SKM_START_BIAS; classes],
            device,
        )
    }

    /// The kernel values, (B, M).
    pub fn kernels(&self, z: Tensor<2>) -> Tensor<2> {
        let s = self.support.val();
        let zz = z.clone().powi_scalar(2).sum_dim(1); // (B, 1)
        let ss = s.clone().powi_scalar(2).sum_dim(1).transpose(); // (1, M)
        let d2 = (zz + ss - z.matmul(s.transpose()).mul_scalar(2.0)).clamp_min(0.0);
        let two_w2 = self.log_width.val().mul_scalar(2.0).exp().mul_scalar(2.0);
        (-(d2 / two_w2.unsqueeze_dim(0))).exp()
    }

    /// Class scores from kernel values, (B, C).
    pub fn scores(&self, k: Tensor<2>) -> Tensor<2> {
        k.matmul(self.weight.val().transpose()) + self.bias.val().unsqueeze_dim(0)
    }

    /// The scale t of the class probabilities softmax(t f).
    pub fn temperature(&self) -> f64 {
        let v = self
            .log_temperature
            .val()
            .into_data()
            .try_into_vec::<f32>()
            .expect("f32");
        (v[0] as f64 * TEMPERATURE_GAIN as f64).exp()
    }

    /// Set the scale t of the class probabilities (calibration after training).
    pub fn set_temperature(&mut self, t: f64) {
        let device = self.log_temperature.val().device();
        let p = (t.ln() / TEMPERATURE_GAIN as f64) as f32;
        self.log_temperature = param(vec![p], [1], &device);
    }

    /// The logits of the class probabilities, t f, from the scores f.
    pub fn class_logits(&self, scores: Tensor<2>) -> Tensor<2> {
        // log t = 10 x the parameter: Adam moves a parameter by about the learning rate
        // a step, and t must be able to change by orders of magnitude in a short fit.
        let t = self
            .log_temperature
            .val()
            .mul_scalar(TEMPERATURE_GAIN)
            .exp();
        scores * t.unsqueeze_dim(0)
    }
}

/// A classifier: standardised input, feature extractor, output layer.
#[derive(Module, Debug)]
pub struct Classifier {
    standardize: Standardize,
    cnn: Option<Cnn>,
    mlp: Option<Mlp>,
    /// SKM head only: the embedding standardised per dimension (batch statistics in
    /// training, running ones after; no learned scale or shift). Without it, Adam moves
    /// the whole embedding by about the learning rate per weight per step, far faster
    /// than the support points can follow, and every kernel falls to zero within a few
    /// steps, where its gradient vanishes.
    norm: Option<BatchNorm>,
    skm: Option<SkmLayer>,
    linear: Option<Linear>,
}

/// One forward pass: class scores and, for the SKM head, kernel values.
pub struct Output {
    /// Class scores (logits), (B, C).
    pub scores: Tensor<2>,
    /// SKM kernel values, (B, M).
    pub kernels: Option<Tensor<2>>,
    /// The logits of the class probabilities: the scores, scaled for the SKM head.
    pub class_logits: Tensor<2>,
}

impl Classifier {
    /// A new model for `a`, with weights from `seed` and standardisation from the
    /// training rows. The SKM head's support points start on `skm_init`'s embedded rows,
    /// which [`Classifier::embed`] of the untrained model gives (see `train`).
    pub fn new(
        a: &Architecture,
        seed: u64,
        standardize: Standardize,
        device: &Device,
    ) -> Classifier {
        let mut rng = Rng::new(seed ^ 0x5eed_1ea2);
        let (cnn, mlp) = match a.net {
            Net::Cnn => (Some(Cnn::new(&mut rng, a, device)), None),
            Net::Mlp => (None, Some(Mlp::new(&mut rng, a, device))),
        };
        let linear = match a.head {
            Head::Softmax | Head::Svm => Some(self::linear(&mut rng, a.embed, a.classes, device)),
            Head::Skm => None,
        };
        let norm = (a.head == Head::Skm).then(|| {
            let mut bn = BatchNormConfig::new(a.embed).init(device);
            bn.gamma = bn.gamma.set_require_grad(false);
            bn.beta = bn.beta.set_require_grad(false);
            bn
        });
        Classifier {
            standardize,
            cnn,
            mlp,
            norm,
            skm: None,
            linear,
        }
    }

    /// A model of `a`'s shape whose values do not matter: the frame a saved model's
    /// weights, or a trainer's saved state, are loaded into.
    pub fn skeleton(a: &Architecture, device: &Device) -> Classifier {
        let d = a.input.len();
        let std = Standardize::from_rows(&vec![0.0; d], d, true, device);
        let model = Classifier::new(a, 0, std, device);
        if a.head != Head::Skm {
            return model;
        }
        let init = SkmInit {
            points: vec![0.0; a.support * a.embed],
            classes: (0..a.support).map(|j| (j % a.classes) as u32).collect(),
        };
        model.with_skm(&init, a.classes, device)
    }

    /// Set the embedding's standardisation (SKM head) from the mean and variance of
    /// embedded rows, before training starts.
    pub fn set_embedding_stats(&mut self, mean: Vec<f32>, var: Vec<f32>, device: &Device) {
        if let Some(bn) = &mut self.norm {
            let d = mean.len();
            bn.running_mean =
                RunningState::new(Tensor::from_data(TensorData::new(mean, [d]), device));
            bn.running_var =
                RunningState::new(Tensor::from_data(TensorData::new(var, [d]), device));
        }
    }

    /// Put the SKM layer in place (before training; `init` from embedded rows).
    pub fn with_skm(mut self, init: &SkmInit, classes: usize, device: &Device) -> Classifier {
        self.skm = Some(SkmLayer::start(init, classes, device));
        self
    }

    /// The feature extractor's output, before the SKM head's standardisation, (B, D).
    pub fn features(&self, x: Tensor<2>) -> Tensor<2> {
        self.features_dropped(x, None)
    }

    /// [`Classifier::features`] with a CNN dropout mask (training).
    fn features_dropped(&self, x: Tensor<2>, keep: Option<Tensor<2>>) -> Tensor<2> {
        let x = self.standardize.forward(x);
        match (&self.cnn, &self.mlp) {
            (Some(c), _) => c.forward(x, keep),
            (_, Some(m)) => m.forward(x),
            _ => unreachable!("a classifier has a feature extractor"),
        }
    }

    /// The embedding the head sees, (B, D): the features, standardised for the SKM head.
    pub fn embed(&self, x: Tensor<2>) -> Tensor<2> {
        self.embed_dropped(x, None)
    }

    fn embed_dropped(&self, x: Tensor<2>, keep: Option<Tensor<2>>) -> Tensor<2> {
        let z = self.features_dropped(x, keep);
        match &self.norm {
            Some(bn) => bn.forward(z),
            None => z,
        }
    }

    /// Scores from embeddings.
    pub fn head(&self, z: Tensor<2>) -> Output {
        match (&self.skm, &self.linear) {
            (Some(s), _) => {
                let k = s.kernels(z);
                let scores = s.scores(k.clone());
                Output {
                    class_logits: s.class_logits(scores.clone()),
                    scores,
                    kernels: Some(k),
                }
            }
            (_, Some(l)) => {
                let scores = l.forward(z);
                Output {
                    class_logits: scores.clone(),
                    scores,
                    kernels: None,
                }
            }
            _ => unreachable!("a classifier has a head"),
        }
    }

    /// Inputs, (B, features), to scores.
    pub fn forward(&self, x: Tensor<2>) -> Output {
        self.head(self.embed(x))
    }

    /// [`Classifier::forward`] in training, with the CNN's dropout mask when given.
    pub fn forward_train(&self, x: Tensor<2>, keep: Option<Tensor<2>>) -> Output {
        self.head(self.embed_dropped(x, keep))
    }

    /// The SKM layer, when the head is one.
    pub fn skm(&self) -> Option<&SkmLayer> {
        self.skm.as_ref()
    }

    /// The CNN, when the extractor is one.
    pub fn cnn(&self) -> Option<&Cnn> {
        self.cnn.as_ref()
    }

    /// The SKM layer, for the SKM head.
    pub fn skm_mut(&mut self) -> Option<&mut SkmLayer> {
        self.skm.as_mut()
    }
}

/// The training loss of `head` for class scores and integer labels (a scalar).
///
/// - softmax: cross-entropy of softmax(f);
/// - svm: one-vs-rest squared hinge, sum_c max(0, 1 - t_c f_c)^2 with t = +-1;
/// - skm: one-vs-rest binary cross-entropy of sigmoid(f_c), as RBF networks and DUQ
///   train, which makes sigmoid(f_c) a probability that falls far from the data (the
///   confidence), plus the cross-entropy of softmax(f), which makes the class
///   probabilities softmax(f) calibrated (see [`probabilities`]).
pub fn loss(
    head: Head,
    scores: Tensor<2>,
    class_logits: Tensor<2>,
    labels: Tensor<1, Int>,
) -> Tensor<1> {
    let [_, c] = scores.dims();
    let onehot: Tensor<2> = labels.one_hot::<2>(c).float();
    match head {
        Head::Softmax => {
            let logp = burn::tensor::activation::log_softmax(scores, 1);
            (logp * onehot).sum_dim(1).mean().neg()
        }
        Head::Svm => {
            let t = onehot.mul_scalar(2.0).sub_scalar(1.0);
            let margin = (t * scores).neg().add_scalar(1.0).clamp_min(0.0);
            margin.powi_scalar(2).sum_dim(1).mean()
        }
        Head::Skm => {
            let pos = log_sigmoid(scores.clone());
            let neg = log_sigmoid(scores.clone().neg());
            let ll = onehot.clone() * pos + onehot.clone().neg().add_scalar(1.0) * neg;
            let ovr = ll.sum_dim(1).mean().neg();
            let logp = burn::tensor::activation::log_softmax(class_logits, 1);
            ovr + (logp * onehot).sum_dim(1).mean().neg()
        }
    }
}

/// Class probabilities and the confidence, (B, C) and (B), from class scores.
///
/// softmax and svm: softmax(f), confidence its largest value. skm: the class
/// probabilities are softmax(t f) (`class_logits`), and the confidence is the largest one-vs-rest
/// probability sigmoid(f_c), which falls to sigmoid(b_c) far from every support point.
/// The loss trains both readings (see [`loss`]). Trained with the one-vs-rest loss
/// alone, softmax(f) was overconfident (ECE 0.044 on Fashion-MNIST) and the normalised
/// sigmoids underconfident (0.030), against the softmax head's 0.013.
pub fn probabilities(
    head: Head,
    scores: Tensor<2>,
    class_logits: Tensor<2>,
) -> (Tensor<2>, Tensor<1>) {
    match head {
        Head::Softmax | Head::Svm => {
            let p = softmax(scores, 1);
            let conf = p.clone().max_dim(1).squeeze_dim(1);
            (p, conf)
        }
        Head::Skm => {
            let conf = sigmoid(scores).max_dim(1).squeeze_dim(1);
            (softmax(class_logits, 1), conf)
        }
    }
}

/// A model's parameters as flat vectors, one a tensor in the module's own order (trained
/// weights, fixed standardisation and running statistics alike), with their ids.
pub fn flat_parameters_with_ids(model: &Classifier) -> (Vec<u64>, Vec<Vec<f32>>) {
    // burn keeps a running statistic's latest update per thread until it syncs, and a
    // model trained in rounds runs on whichever thread is free: settle them first
    // (`valid` syncs the shared state in place).
    let _ = model.valid();
    struct Collect(Vec<u64>, Vec<Vec<f32>>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let v = param.val().into_data().convert::<f32>();
            self.0.push(param.id.val());
            self.1
                .push(v.try_into_vec::<f32>().expect("f32 parameters"));
        }
    }
    let mut c = Collect(Vec::new(), Vec::new());
    model.visit(&mut c);
    (c.0, c.1)
}

/// [`flat_parameters_with_ids`] without the ids.
pub fn flat_parameters(model: &Classifier) -> Vec<Vec<f32>> {
    flat_parameters_with_ids(model).1
}

/// Each parameter's number of values, in [`flat_parameters`]' order.
pub fn parameter_sizes(model: &Classifier) -> Vec<usize> {
    struct Sizes(Vec<usize>);
    impl ModuleVisitor for Sizes {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(param.shape().num_elements());
        }
    }
    let mut s = Sizes(Vec::new());
    model.visit(&mut s);
    s.0
}

/// `model` with its parameters replaced by `values` (as [`flat_parameters`] lists them,
/// sizes as [`parameter_sizes`] gives them: the caller checks). Each keeps whether it is
/// trained, and its id unless `ids` gives new ones (a restored trainer's optimizer finds
/// its moments by them).
pub fn with_parameters(
    model: Classifier,
    values: Vec<Vec<f32>>,
    ids: Option<&[u64]>,
) -> Classifier {
    struct Load<'a>(
        std::vec::IntoIter<Vec<f32>>,
        Option<std::slice::Iter<'a, u64>>,
    );
    impl ModuleMapper for Load<'_> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let (id, tensor, mapper) = param.consume();
            let values = self.0.next().expect("one vector a parameter");
            let id = match &mut self.1 {
                Some(ids) => ParamId::from(*ids.next().expect("one id a parameter")),
                None => id,
            };
            let shape = tensor.shape();
            assert_eq!(values.len(), shape.num_elements(), "a parameter's size");
            let grad = tensor.is_require_grad();
            let mut t = Tensor::<D>::from_data(TensorData::new(values, shape), &tensor.device());
            if grad {
                t = t.require_grad();
            }
            Param::from_mapped_value(id, t, mapper)
        }
    }
    let mut load = Load(values.into_iter(), ids.map(|i| i.iter()));
    let out = model.map(&mut load);
    assert!(load.0.next().is_none(), "one vector a parameter");
    out
}
