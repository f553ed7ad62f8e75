//! Trained network weights: the convolution kernels of a model file, in network order.
//!
//! Four forms are read, found by their content (the extension only breaks ties):
//! `.npy` (one tensor), `.npz` (numpy's zip of tensors, in the order saved),
//! safetensors (in storage order, which is the order of the model's `state_dict`) and
//! ONNX (the weights feeding `Conv` nodes, as graph initializers or `Constant` nodes,
//! in graph order, subgraphs included). Pickled files (`.pt`, `.pth`, `.pkl`, PyTorch's
//! zip checkpoints) are refused: unpickling runs arbitrary code.
//!
//! Every layer comes out in one layout, OIHW (output channel, input channel, height,
//! width), as ONNX and PyTorch store it; Keras' HWIO is transposed on reading. A 1-D
//! convolution is a layer of height 1.
//!
//! ```
//! use eigentechno::store::weights::{Layout, layer_from_tensor};
//! // Keras stores a 3x3 kernel bank as HWIO: here 2 output channels, 1 input channel.
//! let hwio: Vec<f32> = (0..18).map(|v| v as f32).collect();
//! let layer = layer_from_tensor("conv/kernel", &[3, 3, 1, 2], hwio, Layout::Auto, 1)
//!     .unwrap()
//!     .unwrap();
//! assert_eq!((layer.out_channels, layer.in_channels, layer.kh, layer.kw), (2, 1, 3, 3));
//! assert_eq!(layer.layout, "hwio");
//! // Output channel 1 is every second value of the HWIO data.
//! assert_eq!(layer.kernel(1, 0), &[1.0, 3.0, 5.0, 7.0, 9.0, 11.0, 13.0, 15.0, 17.0]);
//! ```

mod npz;
mod onnx;

use std::path::{Path, PathBuf};

use ndarray::ArrayD;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::store::npy_header;

/// How a 4-D (or 3-D) kernel tensor is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Guess from the shape (kernels are small, usually square) and the name (Keras
    /// calls its conv weights `kernel`); ONNX is always OIHW.
    Auto,
    /// Output, input, height, width (ONNX, PyTorch); 1-D: output, input, width.
    Oihw,
    /// Height, width, input, output (Keras, TensorFlow); 1-D: width, input, output.
    Hwio,
}

/// The file forms read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightsFormat {
    /// numpy `.npy`: a single tensor.
    Npy,
    /// numpy `.npz`: named tensors in a zip archive.
    Npz,
    /// Hugging Face safetensors.
    Safetensors,
    /// ONNX model (protobuf).
    Onnx,
}

/// One convolution layer's kernels, OIHW.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvLayer {
    /// The weight tensor's name (the same in every form of one network).
    pub name: String,
    /// Output channels.
    pub out_channels: usize,
    /// Input channels per group (the tensor's second axis).
    pub in_channels: usize,
    /// Groups (from the ONNX graph; 1 when the file does not say). Output channel `o`
    /// reads input channels `g * in_channels ..` of group `g = o / (out / groups)`.
    pub groups: usize,
    /// Kernel height (1 for a 1-D convolution).
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// `out x in x kh x kw` values.
    pub weights: Vec<f32>,
    /// The shape as stored in the file.
    pub stored_shape: Vec<usize>,
    /// `oihw` or `hwio`: how the file stored it.
    pub layout: &'static str,
    /// Whether the layout was guessed rather than given or known from the format.
    pub layout_guessed: bool,
}

impl ConvLayer {
    /// The `kh x kw` kernel from input channel `i` to output channel `o`, row-major.
    pub fn kernel(&self, o: usize, i: usize) -> &[f32] {
        let n = self.kh * self.kw;
        let at = (o * self.in_channels + i) * n;
        &self.weights[at..at + n]
    }

    /// Input channels of the layer's input (per group times groups).
    pub fn total_in_channels(&self) -> usize {
        self.in_channels * self.groups
    }

    /// Whether the kernels are 1-D (height 1).
    pub fn is_1d(&self) -> bool {
        self.stored_shape.len() == 3
    }
}

/// The convolution layers of a weights file.
#[derive(Clone, Debug)]
pub struct Weights {
    /// The file.
    pub path: PathBuf,
    /// Its form.
    pub format: WeightsFormat,
    /// Conv layers in network order.
    pub layers: Vec<ConvLayer>,
    /// Tensors or nodes passed over, with why (biases, dense layers, ...).
    pub skipped: Vec<String>,
}

fn invalid(path: &Path, reason: impl Into<String>) -> Error {
    Error::InvalidData {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

const PICKLE_HELP: &str = "pickled files are not read: unpickling runs arbitrary code from the file. \
     Export the weights to safetensors instead, e.g. in Python: \
     `from safetensors.torch import save_file; save_file(torch.load(p, weights_only=True), \"model.safetensors\")`, \
     or to ONNX with torch.onnx.export";

/// Read the convolution layers of `path`.
pub fn load_weights(path: &Path, layout: Layout) -> Result<Weights> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if ["pt", "pth", "pkl", "pickle", "ckpt", "joblib"].contains(&ext.as_str()) {
        return Err(invalid(path, PICKLE_HELP));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.is_empty() {
        return Err(invalid(path, "empty file (0 bytes)"));
    }
    // Pickle protocol 2+ opens with 0x80 and the protocol number.
    if bytes[0] == 0x80 && (2..=5).contains(&bytes.get(1).copied().unwrap_or(0)) {
        return Err(invalid(path, PICKLE_HELP));
    }
    let (format, layers, skipped) = if bytes.starts_with(b"\x93NUMPY") {
        let (layers, skipped) = read_npy_bytes(path, &bytes, layout)?;
        (WeightsFormat::Npy, layers, skipped)
    } else if bytes.starts_with(b"PK\x03\x04") {
        let (layers, skipped) = read_npz(path, &bytes, layout)?;
        (WeightsFormat::Npz, layers, skipped)
    } else if looks_like_safetensors(&bytes) || ext == "safetensors" {
        let (layers, skipped) = read_safetensors(path, &bytes, layout)?;
        (WeightsFormat::Safetensors, layers, skipped)
    } else if ext == "onnx" || onnx::looks_like_onnx(&bytes) {
        let (layers, skipped) = onnx::read_onnx(path, &bytes)?;
        (WeightsFormat::Onnx, layers, skipped)
    } else {
        return Err(invalid(
            path,
            "not a weights file eigentechno reads (.npy, .npz, .safetensors or .onnx)",
        ));
    };
    if layers.is_empty() {
        return Err(invalid(
            path,
            format!(
                "no convolution layers found (a conv kernel is a 3-D or 4-D tensor){}",
                if skipped.is_empty() {
                    String::new()
                } else {
                    format!("; passed over: {}", skipped.join("; "))
                }
            ),
        ));
    }
    Ok(Weights {
        path: path.to_path_buf(),
        format,
        layers,
        skipped,
    })
}

fn looks_like_safetensors(bytes: &[u8]) -> bool {
    bytes.len() >= 10
        && bytes[8] == b'{'
        && u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) < bytes.len() as u64
}

/// A conv layer from a tensor, or `Ok(None)` when the tensor is no conv kernel
/// (rank other than 3 or 4). `groups` comes from a graph when there is one.
pub fn layer_from_tensor(
    name: &str,
    shape: &[usize],
    data: Vec<f32>,
    layout: Layout,
    groups: usize,
) -> std::result::Result<Option<ConvLayer>, String> {
    if shape.len() != 3 && shape.len() != 4 {
        return Ok(None);
    }
    if shape.contains(&0) {
        return Err(format!(
            "tensor '{name}' has an empty axis: shape {shape:?}"
        ));
    }
    let count = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    if count != Some(data.len()) {
        return Err(format!(
            "tensor '{name}' of shape {shape:?} holds {} values, not the {} its shape needs",
            data.len(),
            count.map_or("more than addressable".to_string(), |c| c.to_string())
        ));
    }
    let (layout, guessed) = match layout {
        Layout::Auto => (guess_layout(name, shape), true),
        l => (l, false),
    };
    // Normalise to 4-D: a 1-D conv is height 1.
    let (o, i, h, w, hwio) = match (shape.len(), layout) {
        (4, Layout::Hwio) => (shape[3], shape[2], shape[0], shape[1], true),
        (4, _) => (shape[0], shape[1], shape[2], shape[3], false),
        (3, Layout::Hwio) => (shape[2], shape[1], 1, shape[0], true),
        _ => (shape[0], shape[1], 1, shape[2], false),
    };
    let weights = if hwio {
        // HWIO (or WIO) -> OIHW.
        let mut out = vec![0.0f32; data.len()];
        for y in 0..h {
            for x in 0..w {
                for c in 0..i {
                    for k in 0..o {
                        out[((k * i + c) * h + y) * w + x] = data[((y * w + x) * i + c) * o + k];
                    }
                }
            }
        }
        out
    } else {
        data
    };
    Ok(Some(ConvLayer {
        name: name.to_string(),
        out_channels: o,
        in_channels: i,
        groups,
        kh: h,
        kw: w,
        weights,
        stored_shape: shape.to_vec(),
        layout: if hwio { "hwio" } else { "oihw" },
        layout_guessed: guessed,
    }))
}

/// Kernels are small and usually square: OIHW when the last two axes look like a
/// kernel, HWIO when the first two do; Keras' name `kernel` settles a tie, and for
/// non-square kernels the pair of axes with the smaller area is the kernel.
fn guess_layout(name: &str, shape: &[usize]) -> Layout {
    let keras_name = name.to_ascii_lowercase().contains("kernel");
    const SMALL: usize = 15;
    if shape.len() == 3 {
        // OIW unless Keras: WIO cannot be told from the shape alone.
        return if keras_name && shape[0] <= SMALL {
            Layout::Hwio
        } else {
            Layout::Oihw
        };
    }
    let tail = shape[2] == shape[3] && shape[2] <= SMALL;
    let head = shape[0] == shape[1] && shape[0] <= SMALL;
    match (tail, head) {
        (true, false) => Layout::Oihw,
        (false, true) => Layout::Hwio,
        (true, true) if keras_name => Layout::Hwio,
        (true, true) => Layout::Oihw,
        // Neither pair is a small square: the pair with the smaller area is the kernel.
        (false, false) if shape[0] * shape[1] < shape[2] * shape[3] => Layout::Hwio,
        (false, false) => Layout::Oihw,
    }
}

fn standard_order(a: ArrayD<f32>) -> Vec<f32> {
    if a.is_standard_layout() {
        a.into_raw_vec_and_offset().0
    } else {
        a.iter().copied().collect()
    }
}

fn read_npy_bytes(
    path: &Path,
    bytes: &[u8],
    layout: Layout,
) -> Result<(Vec<ConvLayer>, Vec<String>)> {
    // An object array is a pickle: say so before the header parser refuses its dtype.
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]);
    if head.contains("'|O'") || head.contains("\"|O\"") {
        return Err(invalid(
            path,
            format!("object array (dtype |O): {PICKLE_HELP}"),
        ));
    }
    // The strict reader: no header can make it allocate more than the file holds.
    let a = match crate::store::read_npy_from(path, bytes, bytes.len() as u64)? {
        crate::store::NdArray::F32(a) => a,
        crate::store::NdArray::F64(a) => a.mapv(|v| v as f32),
    };
    let shape = a.shape().to_vec();
    if shape.len() != 3 && shape.len() != 4 {
        return Err(invalid(
            path,
            format!(
                "a {}-D tensor of shape {shape:?} is not a convolution kernel bank \
                 (expected 4-D OIHW/HWIO, or 3-D for a 1-D convolution)",
                shape.len()
            ),
        ));
    }
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "weights".into());
    let layer = layer_from_tensor(&name, &shape, standard_order(a), layout, 1)
        .map_err(|e| invalid(path, e))?
        .expect("rank checked");
    Ok((vec![layer], Vec::new()))
}

fn read_npz(path: &Path, bytes: &[u8], layout: Layout) -> Result<(Vec<ConvLayer>, Vec<String>)> {
    let entries =
        npz::entries(bytes).map_err(|e| invalid(path, format!("reading the .npz archive: {e}")))?;
    // PyTorch's zip checkpoints hold a pickle (archive/data.pkl).
    if entries.iter().any(|e| e.name.ends_with(".pkl")) {
        return Err(invalid(
            path,
            format!("a PyTorch zip checkpoint: {PICKLE_HELP}"),
        ));
    }
    let (mut layers, mut skipped) = (Vec::new(), Vec::new());
    for entry in &entries {
        // numpy names the arrays `NAME.npy` in the archive.
        let name = entry.name.strip_suffix(".npy").unwrap_or(&entry.name);
        let in_array = |reason: String| invalid(path, format!("array '{name}': {reason}"));
        let data = npz::entry_data(bytes, entry).map_err(in_array)?;
        let reason = |e: Error| match e {
            Error::InvalidData { reason, .. } => reason,
            other => other.to_string(),
        };
        // The strict header first: another dtype is passed over, damage is an error.
        let total = data.len() as u64;
        let member = Path::new(&entry.name);
        match npy_header::read_header_or_dtype(member, &mut &data[..], total) {
            Ok(Ok(_)) => {}
            Ok(Err(descr)) if descr.contains('O') => {
                skipped.push(format!(
                    "{name}: object array (dtype {descr}): {PICKLE_HELP}"
                ));
                continue;
            }
            Ok(Err(descr)) => {
                skipped.push(format!(
                    "{name}: dtype {descr}: expected float32 or float64"
                ));
                continue;
            }
            Err(e) => return Err(in_array(reason(e))),
        }
        let a = match crate::store::read_npy_from(member, &data[..], total)
            .map_err(|e| in_array(reason(e)))?
        {
            crate::store::NdArray::F32(a) => a,
            crate::store::NdArray::F64(a) => a.mapv(|v| v as f32),
        };
        let shape = a.shape().to_vec();
        match layer_from_tensor(name, &shape, standard_order(a), layout, 1)
            .map_err(|e| invalid(path, e))?
        {
            Some(l) => layers.push(l),
            None => skipped.push(format!("{name} {shape:?}")),
        }
    }
    Ok((layers, skipped))
}

/// IEEE half to f32.
pub(crate) fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let frac = (h & 0x3ff) as u32;
    let bits = match (exp, frac) {
        (0, 0) => sign,
        (0, f) => {
            // Subnormal: renormalise.
            let shift = f.leading_zeros() - 21;
            sign | ((113 - shift) << 23) | (((f << shift) & 0x3ff) << 13)
        }
        (0x1f, f) => sign | 0x7f80_0000 | (f << 13),
        (e, f) => sign | ((e + 112) << 23) | (f << 13),
    };
    f32::from_bits(bits)
}

/// bfloat16 to f32.
pub(crate) fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

/// Little-endian floats of a known element type to f32, or why not.
pub(crate) fn floats_from_le(kind: &str, data: &[u8]) -> std::result::Result<Vec<f32>, String> {
    let chunks = |n: usize| {
        if !data.len().is_multiple_of(n) {
            Err(format!(
                "{} bytes is not a whole number of {kind} values",
                data.len()
            ))
        } else {
            Ok(data.chunks_exact(n))
        }
    };
    Ok(match kind {
        "float32" => chunks(4)?
            .map(|c| f32::from_le_bytes(c.try_into().expect("4")))
            .collect(),
        "float64" => chunks(8)?
            .map(|c| f64::from_le_bytes(c.try_into().expect("8")) as f32)
            .collect(),
        "float16" => chunks(2)?
            .map(|c| f16_to_f32(u16::from_le_bytes(c.try_into().expect("2"))))
            .collect(),
        "bfloat16" => chunks(2)?
            .map(|c| bf16_to_f32(u16::from_le_bytes(c.try_into().expect("2"))))
            .collect(),
        other => return Err(format!("element type {other} is not a float type")),
    })
}

fn read_safetensors(
    path: &Path,
    bytes: &[u8],
    layout: Layout,
) -> Result<(Vec<ConvLayer>, Vec<String>)> {
    use safetensors::{Dtype, SafeTensors};
    let st = SafeTensors::deserialize(bytes).map_err(|e| {
        invalid(
            path,
            format!("not a valid safetensors file (truncated or damaged?): {e}"),
        )
    })?;
    let mut tensors = st.tensors();
    // Storage order is the order the model's state_dict listed its tensors.
    tensors.sort_by_key(|(_, v)| v.data().as_ptr() as usize);
    let (mut layers, mut skipped) = (Vec::new(), Vec::new());
    for (name, view) in tensors {
        let kind = match view.dtype() {
            Dtype::F32 => "float32",
            Dtype::F64 => "float64",
            Dtype::F16 => "float16",
            Dtype::BF16 => "bfloat16",
            other => {
                skipped.push(format!("{name}: dtype {other:?}"));
                continue;
            }
        };
        let shape = view.shape().to_vec();
        if shape.len() != 3 && shape.len() != 4 {
            skipped.push(format!("{name} {shape:?}"));
            continue;
        }
        let data = floats_from_le(kind, view.data()).map_err(|e| invalid(path, e))?;
        if let Some(l) =
            layer_from_tensor(&name, &shape, data, layout, 1).map_err(|e| invalid(path, e))?
        {
            layers.push(l);
        }
    }
    Ok((layers, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_floats_convert_exactly() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x0001), 5.960_464_5e-8, "smallest subnormal");
        assert_eq!(f16_to_f32(0x03ff), 6.097_555e-5, "largest subnormal");
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert!(f16_to_f32(0x7c00).is_infinite());
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(bf16_to_f32(0x3f80), 1.0);
        assert_eq!(bf16_to_f32(0xc0a0), -5.0);
    }

    #[test]
    fn layouts_are_guessed_from_shape_and_name() {
        assert_eq!(guess_layout("w", &[64, 3, 3, 3]), Layout::Oihw);
        assert_eq!(guess_layout("w", &[3, 3, 3, 64]), Layout::Hwio);
        assert_eq!(guess_layout("w", &[3, 3, 3, 3]), Layout::Oihw);
        assert_eq!(guess_layout("conv/kernel", &[3, 3, 3, 3]), Layout::Hwio);
        assert_eq!(guess_layout("w", &[16, 8, 1, 7]), Layout::Oihw);
        assert_eq!(guess_layout("w", &[1, 7, 8, 16]), Layout::Hwio);
        assert_eq!(guess_layout("w", &[128, 129, 3]), Layout::Oihw);
        assert_eq!(guess_layout("conv1d/kernel", &[3, 129, 128]), Layout::Hwio);
    }

    #[test]
    fn hwio_and_oihw_give_the_same_kernels() {
        // Kernel (o, i) has value 100 o + 10 i + position.
        let (o, i, h, w) = (4, 3, 2, 3);
        let mut oihw = Vec::new();
        for a in 0..o {
            for b in 0..i {
                for p in 0..h * w {
                    oihw.push((100 * a + 10 * b + p) as f32);
                }
            }
        }
        let mut hwio = vec![0.0; oihw.len()];
        for a in 0..o {
            for b in 0..i {
                for y in 0..h {
                    for x in 0..w {
                        hwio[((y * w + x) * i + b) * o + a] = oihw[((a * i + b) * h + y) * w + x];
                    }
                }
            }
        }
        let l1 = layer_from_tensor("a", &[o, i, h, w], oihw, Layout::Oihw, 1)
            .unwrap()
            .unwrap();
        let l2 = layer_from_tensor("a", &[h, w, i, o], hwio, Layout::Hwio, 1)
            .unwrap()
            .unwrap();
        assert_eq!(l1.weights, l2.weights);
        assert_eq!(l1.kernel(2, 1), &[210.0, 211.0, 212.0, 213.0, 214.0, 215.0]);
        assert!(
            layer_from_tensor("b", &[4], vec![0.0; 4], Layout::Auto, 1)
                .unwrap()
                .is_none()
        );
    }
}
