//! The layers of a small image network, forward and backward, on plain slices: the
//! kernels the `learn` module's custom operations run (a 3x3 convolution on the
//! engine's GEMM, 2x2 max pooling, batch normalisation in training). Tensors are
//! row-major NCHW `f32`.

pub mod batch_norm;
pub mod conv3x3;
pub mod pool;

#[cfg(test)]
mod tests;

/// The shape of a batch of images: (images, channels, height, width).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nchw {
    /// Images in the batch.
    pub batch: usize,
    /// Channels of each image.
    pub channels: usize,
    /// Rows of each channel.
    pub height: usize,
    /// Columns of each channel.
    pub width: usize,
}

impl Nchw {
    /// Values in one image.
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Values in the batch.
    pub fn len(&self) -> usize {
        self.batch * self.image_len()
    }

    /// Whether the batch holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
