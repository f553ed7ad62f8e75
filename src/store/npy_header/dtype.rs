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

/// Element type of any `.npy` file read here: a float, or an integer (labels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Element {
    /// float32 or float64.
    Float(Dtype),
    /// A signed (`i`) or unsigned (`u`, and numpy's `b1` bool) integer of 1, 2, 4 or 8
    /// bytes.
    Int {
        /// `i` rather than `u`.
        signed: bool,
        /// Bytes per element.
        width: usize,
    },
}

impl Element {
    /// Bytes per element.
    pub fn width(self) -> usize {
        match self {
            Element::Float(d) => d.width(),
            Element::Int { width, .. } => width,
        }
    }

    /// numpy's name (`float32`, `int64`, `uint8`).
    pub fn name(self) -> String {
        match self {
            Element::Float(Dtype::F32) => "float32".into(),
            Element::Float(Dtype::F64) => "float64".into(),
            Element::Int { signed, width } => {
                format!("{}int{}", if signed { "" } else { "u" }, 8 * width)
            }
        }
    }

    /// The element and its byte order (`true`: big-endian) from a descr such as `<f4`,
    /// `|u1` or `>i8`; `None` for any other dtype.
    pub(super) fn parse(descr: &str) -> Option<(Element, bool)> {
        let b = descr.as_bytes();
        if b.len() < 3 {
            return None;
        }
        let big_endian = match b[0] {
            b'<' | b'|' => false,
            b'>' => true,
            _ => return None,
        };
        let element = match &descr[1..] {
            "f4" => Element::Float(Dtype::F32),
            "f8" => Element::Float(Dtype::F64),
            "b1" | "u1" => Element::Int {
                signed: false,
                width: 1,
            },
            "i1" => Element::Int {
                signed: true,
                width: 1,
            },
            "i2" | "i4" | "i8" | "u2" | "u4" | "u8" => Element::Int {
                signed: b[1] == b'i',
                width: (b[2] - b'0') as usize,
            },
            _ => return None,
        };
        Some((element, big_endian))
    }
}

/// Append whole integer elements (in the file's byte order) as i64. False, with the
/// output cut short, for an unsigned value past `i64::MAX` or a float element.
pub fn decode_ints(bytes: &[u8], element: Element, big_endian: bool, out: &mut Vec<i64>) -> bool {
    let Element::Int { signed, width } = element else {
        return false;
    };
    for chunk in bytes.chunks_exact(width) {
        let mut buf = [0u8; 8];
        if big_endian {
            buf[8 - width..].copy_from_slice(chunk);
            buf.reverse();
        } else {
            buf[..width].copy_from_slice(chunk);
        }
        // buf is now little-endian, zero-extended; sign-extend a negative signed value.
        let raw = u64::from_le_bytes(buf);
        let v = if signed {
            let shift = 64 - 8 * width as u32;
            ((raw << shift) as i64) >> shift
        } else if raw > i64::MAX as u64 {
            return false;
        } else {
            raw as i64
        };
        out.push(v);
    }
    true
}
