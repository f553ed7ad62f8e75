//! The CNN's convolution and pooling as custom burn operations: the forward and the
//! gradients run the engine's kernels (`engine::nn`, a 3x3 convolution on faer's GEMM),
//! and burn's autodiff chains them with the rest of the network. burn's own Flex
//! convolution and pooling took about 60 % of a training step (README, Smooth kernel
//! machines: the speed measurement).

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::nn::BatchNorm;
use burn::tensor::{Bytes, DType, Shape, Tensor};

use crate::engine::nn::{Nchw, batch_norm, conv3x3, pool};

/// The operations, routed by burn's dispatch to the Flex backend or to its autodiff.
#[backend_extension(Flex, Autodiff)]
pub trait CnnOps: Backend {
    /// 3x3 convolution, stride 1, no padding, with bias: x `[b, c, h, w]`, weight
    /// `[o, c, 3, 3]`, bias `[o]`, giving `[b, o, h - 2, w - 2]`.
    fn conv3x3(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
    /// 2x2 max pooling, stride 2: `[b, c, h, w]` to `[b, c, h / 2, w / 2]`.
    fn max_pool2(x: FloatTensor<Self>) -> FloatTensor<Self>;
    /// Batch normalisation of `[b, c, h, w]` with the batch's statistics: the output, and
    /// the per-channel mean and biased variance (`[c]` each, not differentiated).
    fn batch_norm_nchw(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// The gradients, on the backend that computes (autodiff calls them in its backward pass).
pub trait CnnGradients: Backend {
    /// The convolution's gradient with respect to its input of shape `x`.
    fn conv3x3_input_gradient(
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        x: Shape,
    ) -> FloatTensor<Self>;
    /// The convolution's gradients with respect to its weights and its bias.
    fn conv3x3_weight_gradient(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
    /// The pooling's gradient with respect to its input.
    fn max_pool2_gradient(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self>;
    /// Batch normalisation's gradients with respect to its input, gamma and beta.
    fn batch_norm_gradient(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        statistics: (FloatTensor<Self>, FloatTensor<Self>),
        epsilon: f64,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// A contiguous f32 copy (or the tensor itself, when it already is one).
fn contiguous(t: FlexTensor, what: &str) -> FlexTensor {
    assert_eq!(
        t.dtype(),
        DType::F32,
        "{what}: the CNN's operations take f32 tensors"
    );
    t.to_contiguous()
}

fn values(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("a contiguous tensor")
}

fn nchw(s: &Shape, what: &str) -> Nchw {
    assert_eq!(
        s.num_dims(),
        4,
        "{what}: a [batch, channels, height, width] tensor, got {s:?}"
    );
    Nchw {
        batch: s[0],
        channels: s[1],
        height: s[2],
        width: s[3],
    }
}

fn tensor(values: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::new(
        Bytes::from_elems(values),
        Layout::contiguous(Shape::from(shape)),
        DType::F32,
    )
}

impl CnnOps for Flex {
    fn conv3x3(x: FlexTensor, weight: FlexTensor, bias: FlexTensor) -> FlexTensor {
        let (x, weight, bias) = (
            contiguous(x, "conv3x3 input"),
            contiguous(weight, "conv3x3 weight"),
            contiguous(bias, "conv3x3 bias"),
        );
        let shape = nchw(&x.shape(), "conv3x3 input");
        let o = weight.shape()[0];
        let y = conv3x3::output_shape(shape, o);
        let mut out = vec![0f32; y.len()];
        conv3x3::forward(
            shape,
            values(&x),
            values(&weight),
            Some(values(&bias)),
            o,
            &mut out,
        );
        tensor(out, vec![y.batch, y.channels, y.height, y.width])
    }

    fn max_pool2(x: FlexTensor) -> FlexTensor {
        let x = contiguous(x, "max_pool2 input");
        let shape = nchw(&x.shape(), "max_pool2 input");
        let y = pool::output_shape(shape);
        let mut out = vec![0f32; y.len()];
        pool::forward(shape, values(&x), &mut out);
        tensor(out, vec![y.batch, y.channels, y.height, y.width])
    }

    fn batch_norm_nchw(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        epsilon: f64,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let (x, gamma, beta) = (
            contiguous(x, "batch_norm input"),
            contiguous(gamma, "batch_norm gamma"),
            contiguous(beta, "batch_norm beta"),
        );
        let s = x.shape();
        let shape = nchw(&s, "batch_norm input");
        let mut out = vec![0f32; shape.len()];
        let (mean, var) = batch_norm::train_forward(
            shape,
            values(&x),
            values(&gamma),
            values(&beta),
            epsilon,
            &mut out,
        );
        let c = shape.channels;
        (
            tensor(out, s.to_vec()),
            tensor(mean, vec![c]),
            tensor(var, vec![c]),
        )
    }
}

impl CnnGradients for Flex {
    fn conv3x3_input_gradient(weight: FlexTensor, grad: FlexTensor, x: Shape) -> FlexTensor {
        let (weight, grad) = (
            contiguous(weight, "conv3x3 weight"),
            contiguous(grad, "conv3x3 gradient"),
        );
        let shape = nchw(&x, "conv3x3 input");
        let dx = conv3x3::input_gradient(shape, values(&weight), values(&grad), weight.shape()[0]);
        tensor(dx, x.to_vec())
    }

    fn conv3x3_weight_gradient(x: FlexTensor, grad: FlexTensor) -> (FlexTensor, FlexTensor) {
        let (x, grad) = (
            contiguous(x, "conv3x3 input"),
            contiguous(grad, "conv3x3 gradient"),
        );
        let shape = nchw(&x.shape(), "conv3x3 input");
        let o = grad.shape()[1];
        let (dw, db) = conv3x3::weight_gradient(shape, values(&x), values(&grad), o);
        (
            tensor(dw, vec![o, shape.channels, 3, 3]),
            tensor(db, vec![o]),
        )
    }

    fn max_pool2_gradient(x: FlexTensor, grad: FlexTensor) -> FlexTensor {
        let (x, grad) = (
            contiguous(x, "max_pool2 input"),
            contiguous(grad, "max_pool2 gradient"),
        );
        let s = x.shape();
        let dx = pool::input_gradient(nchw(&s, "max_pool2 input"), values(&x), values(&grad));
        tensor(dx, s.to_vec())
    }

    fn batch_norm_gradient(
        x: FlexTensor,
        gamma: FlexTensor,
        (mean, var): (FlexTensor, FlexTensor),
        epsilon: f64,
        grad: FlexTensor,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let (x, gamma, grad) = (
            contiguous(x, "batch_norm input"),
            contiguous(gamma, "batch_norm gamma"),
            contiguous(grad, "batch_norm gradient"),
        );
        let (mean, var) = (
            contiguous(mean, "batch_norm mean"),
            contiguous(var, "batch_norm variance"),
        );
        let s = x.shape();
        let shape = nchw(&s, "batch_norm input");
        let (dx, dgamma, dbeta) = batch_norm::train_backward(
            shape,
            values(&x),
            values(&gamma),
            values(&mean),
            values(&var),
            epsilon,
            values(&grad),
        );
        let c = shape.channels;
        (
            tensor(dx, s.to_vec()),
            tensor(dgamma, vec![c]),
            tensor(dbeta, vec![c]),
        )
    }
}

impl<B: Backend + CnnOps + CnnGradients, C: CheckpointStrategy> CnnOps for Autodiff<B, C> {
    fn conv3x3(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct Conv3x3;

        impl<B: Backend + CnnGradients> Backward<B, 3> for Conv3x3 {
            type State = (NodeId, NodeId, Shape);

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                checkpointer: &mut Checkpointer,
            ) {
                let [node_x, node_weight, node_bias] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (x_state, weight_state, x_shape) = ops.state;
                if let Some(node) = node_x {
                    let weight =
                        checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(weight_state);
                    grads.register::<B>(
                        node.id,
                        B::conv3x3_input_gradient(weight, grad.clone(), x_shape),
                    );
                }
                if node_weight.is_some() || node_bias.is_some() {
                    let x = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(x_state);
                    let (dw, db) = B::conv3x3_weight_gradient(x, grad);
                    if let Some(node) = node_weight {
                        grads.register::<B>(node.id, dw);
                    }
                    if let Some(node) = node_bias {
                        grads.register::<B>(node.id, db);
                    }
                }
            }
        }

        match Conv3x3
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let weight_state = prep.checkpoint(&weight);
                let shape = x.primitive().shape();
                let out = B::conv3x3(
                    x.into_primitive(),
                    weight.into_primitive(),
                    bias.into_primitive(),
                );
                prep.finish((x_state, weight_state, shape), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::conv3x3(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
            )),
        }
    }

    fn max_pool2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct MaxPool2;

        impl<B: Backend + CnnGradients> Backward<B, 1> for MaxPool2 {
            type State = NodeId;

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                checkpointer: &mut Checkpointer,
            ) {
                let [node_x] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                if let Some(node) = node_x {
                    let x = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(ops.state);
                    grads.register::<B>(node.id, B::max_pool2_gradient(x, grad));
                }
            }
        }

        match MaxPool2.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                prep.finish(x_state, B::max_pool2(x.into_primitive()))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::max_pool2(x.into_primitive())),
        }
    }

    fn batch_norm_nchw(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        #[derive(Debug)]
        struct BatchNormTrain;

        impl<B: Backend + CnnGradients> Backward<B, 3> for BatchNormTrain {
            type State = (
                NodeId,
                NodeId,
                B::FloatTensorPrimitive,
                B::FloatTensorPrimitive,
                f64,
            );

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                checkpointer: &mut Checkpointer,
            ) {
                let [node_x, node_gamma, node_beta] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (x_state, gamma_state, mean, var, epsilon) = ops.state;
                let x = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(x_state);
                let gamma =
                    checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(gamma_state);
                let (dx, dgamma, dbeta) =
                    B::batch_norm_gradient(x, gamma, (mean, var), epsilon, grad);
                for (node, g) in [(node_x, dx), (node_gamma, dgamma), (node_beta, dbeta)] {
                    if let Some(node) = node {
                        grads.register::<B>(node.id, g);
                    }
                }
            }
        }

        match BatchNormTrain
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let gamma_state = prep.checkpoint(&gamma);
                let (out, mean, var) = B::batch_norm_nchw(
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    epsilon,
                );
                let out = prep.finish(
                    (x_state, gamma_state, mean.clone(), var.clone(), epsilon),
                    out,
                );
                (
                    out,
                    FloatTensor::<Self>::new(mean),
                    FloatTensor::<Self>::new(var),
                )
            }
            OpsKind::UnTracked(prep) => {
                let (out, mean, var) = B::batch_norm_nchw(
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    epsilon,
                );
                (
                    prep.finish(out),
                    FloatTensor::<Self>::new(mean),
                    FloatTensor::<Self>::new(var),
                )
            }
        }
    }
}

/// [`CnnOps::conv3x3`] on tensors of any device burn dispatches to.
pub fn conv3x3(x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as CnnOps>::conv3x3(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
    ))
}

/// `bn` on a `[b, c, h, w]` batch, as [`BatchNorm::forward`] computes it (the batch's
/// statistics in training on an autodiff device, updating the running ones with the
/// layer's momentum; the running ones otherwise), with the training path on
/// [`CnnOps::batch_norm_nchw`].
pub fn batch_norm(bn: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    if !(x.device().is_autodiff() && bn.training.is_enabled()) {
        return bn.forward(x);
    }
    let (out, mean, var) = <Dispatch as CnnOps>::batch_norm_nchw(
        x.into_dispatch(),
        bn.gamma.val().into_dispatch(),
        bn.beta.val().into_dispatch(),
        bn.epsilon,
    );
    let (mean, var) = (
        Tensor::<1>::from_dispatch(mean),
        Tensor::<1>::from_dispatch(var),
    );
    let device = mean.device();
    let m = bn.momentum;
    let running_mean = bn
        .running_mean
        .value_sync()
        .to_device(&device)
        .mul_scalar(1.0 - m)
        .add(mean.detach().mul_scalar(m));
    let running_var = bn
        .running_var
        .value_sync()
        .to_device(&device)
        .mul_scalar(1.0 - m)
        .add(var.detach().mul_scalar(m));
    bn.running_mean.update(running_mean.detach());
    bn.running_var.update(running_var.detach());
    Tensor::from_dispatch(out)
}

/// [`CnnOps::max_pool2`] on tensors of any device burn dispatches to.
pub fn max_pool2(x: Tensor<4>) -> Tensor<4> {
    Tensor::from_dispatch(<Dispatch as CnnOps>::max_pool2(x.into_dispatch()))
}
