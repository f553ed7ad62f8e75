//! The float element types a `.npy` reader here accepts, and their decoding.

/// Element type of a float `.npy` file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    /// `<f4` (or `>f4`).
    F32,
    /// `<f8` (or `>f8`).
    F64,
}

impl Dtype {
    /// Bytes per element.
    pub fn width(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::F64 => 8,
        }
    }
}

/// A float element of a `.npy` file.
pub trait NpyFloat: Copy + Default + Send + 'static {
    /// The dtype.
    const DTYPE: Dtype;
    /// Append the elements of `bytes` (whole elements, in the file's byte order).
    fn decode_into(bytes: &[u8], big_endian: bool, out: &mut Vec<Self>);
}

macro_rules! npy_float {
    ($t:ty, $dtype:expr, $w:expr) => {
        impl NpyFloat for $t {
            const DTYPE: Dtype = $dtype;
            fn decode_into(bytes: &[u8], big_endian: bool, out: &mut Vec<Self>) {
                let chunks = bytes.chunks_exact($w);
                if big_endian {
                    out.extend(chunks.map(|b| <$t>::from_be_bytes(b.try_into().unwrap())));
                } else {
                    out.extend(chunks.map(|b| <$t>::from_le_bytes(b.try_into().unwrap())));
                }
            }
        }
    };
}
npy_float!(f32, Dtype::F32, 4);
npy_float!(f64, Dtype::F64, 8);
