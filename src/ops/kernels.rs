//! Pictures of the convolution kernels of a trained network (the post "Visualizing
//! convolution kernels"), from `.npy`, `.npz`, safetensors or ONNX.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::error::Result;
use crate::image::kernels::{
    kernel_grid, layer_limits, mode_energy_of, modes_figure, network_figure, norm_figure,
    pca_figure, rgb_patches, slice_pca,
};
use crate::store::weights::{ConvLayer, Layout, Weights, WeightsFormat, load_weights};
use crate::store::write_atomic;

/// Figure settings as given; [`KernelParams::check`] makes them [`KernelOptions`].
#[derive(Clone, Debug)]
pub struct KernelParams {
    /// Layout of 4-D tensors in `.npy`/`.npz`/safetensors files.
    pub layout: Layout,
    /// Colour limits at the middle `clip` % of each layer's weights (symmetric).
    pub clip: f64,
    /// At most this many output and input channels in a kernel grid.
    pub max_channels: usize,
    /// Principal components of the kernel slices to draw.
    pub components: usize,
}

impl Default for KernelParams {
    fn default() -> Self {
        KernelParams {
            layout: Layout::Auto,
            clip: 99.5,
            max_channels: 64,
            components: 8,
        }
    }
}

super::checked_options!(
    /// Checked figure settings: `clip` from 50 to 100, at least one channel, at most
    /// 64 components.
    KernelOptions(KernelParams)
);

impl KernelParams {
    /// Check the settings.
    pub fn check(self) -> Result<KernelOptions> {
        super::check_range("clip", self.clip, 50.0, 100.0)?;
        super::check_range("max_channels", self.max_channels as f64, 1.0, 1024.0)?;
        super::check_range("components", self.components as f64, 0.0, 64.0)?;
        Ok(KernelOptions(self))
    }
}

/// What was drawn for one layer (an entry of `kernels.json`).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LayerReport {
    /// 1-based position in the network.
    pub index: usize,
    /// The weight tensor's name.
    pub name: String,
    /// Shape as stored.
    pub stored_shape: Vec<usize>,
    /// `oihw` or `hwio`.
    pub layout: String,
    /// Whether the layout was guessed.
    pub layout_guessed: bool,
    /// Output channels.
    pub out_channels: usize,
    /// Input channels per group.
    pub in_channels: usize,
    /// Groups (1 unless the ONNX graph says otherwise).
    pub groups: usize,
    /// `[height, width]` of a kernel.
    pub kernel: [usize; 2],
    /// Colour limits of the layer's grid `[-m, m]`.
    pub limits: [f64; 2],
    /// Mode names and the layer's energy share in each (kernels up to 7x7, 1-D too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode_energy: Option<Vec<(String, f64)>>,
    /// Explained-variance ratios of the slice PCA's components.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pca_explained_variance_ratio: Option<Vec<f64>>,
    /// Files written, relative to the output folder.
    pub files: Vec<String>,
}

/// What `kernels` wrote (`kernels.json`).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct KernelsReport {
    /// The weights file.
    pub weights: PathBuf,
    /// Its form.
    pub format: WeightsFormat,
    /// Tensors or nodes passed over, and why.
    pub skipped: Vec<String>,
    /// Colour clip percentage.
    pub clip_percent: f64,
    /// One entry per conv layer, in network order.
    pub layers: Vec<LayerReport>,
    /// The whole-network figure.
    pub network: String,
}

/// A name fit for a folder.
fn folder_name(index: usize, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    format!("layer{index:02}_{clean}")
}

fn layer_figures(
    index: usize,
    layer: &ConvLayer,
    out_dir: &Path,
    opts: &KernelOptions,
) -> Result<LayerReport> {
    let sub = folder_name(index, &layer.name);
    let dir = out_dir.join(&sub);
    std::fs::create_dir_all(&dir).map_err(|e| crate::error::Error::io(&dir, e))?;
    let limits = layer_limits(layer, opts.clip);
    let mut files = Vec::new();
    let mut write = |name: &str, img: crate::image::heatmap::RgbImage| -> Result<()> {
        img.write_png(&dir.join(name))?;
        files.push(format!("{sub}/{name}"));
        Ok(())
    };
    write("grid.png", kernel_grid(layer, limits, opts.max_channels))?;
    if index == 1
        && let Some(img) = rgb_patches(layer, limits)
    {
        write("rgb.png", img)?;
    }
    let energy = mode_energy_of(layer);
    if let Some(e) = &energy {
        write("modes.png", modes_figure(layer, e))?;
    }
    let pca = slice_pca(layer, opts.components);
    if let Some(m) = &pca {
        write("pca.png", pca_figure(layer, m))?;
    }
    write("norms.png", norm_figure(layer))?;
    Ok(LayerReport {
        index,
        name: layer.name.clone(),
        stored_shape: layer.stored_shape.clone(),
        layout: layer.layout.to_string(),
        layout_guessed: layer.layout_guessed,
        out_channels: layer.out_channels,
        in_channels: layer.in_channels,
        groups: layer.groups,
        kernel: [layer.kh, layer.kw],
        limits: [limits.0, limits.1],
        mode_energy: energy.map(|e| e.names.into_iter().zip(e.layer_share).collect()),
        pca_explained_variance_ratio: pca.map(|m| m.explained_variance_ratio),
        files,
    })
}

/// Draw every conv layer of `weights` into `out_dir`: per layer
/// `layerNN_<name>/grid.png`, `rgb.png` (first layer of an RGB network), `modes.png`
/// (3x3 kernels), `pca.png`, `norms.png`; `network.png` and `kernels.json` for the
/// whole network.
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// use eigentechno::store::weights::{Layout, load_weights};
/// let dir = tempfile::tempdir().unwrap();
/// let weights = load_weights("fixtures/kernels/tiny_cnn.onnx".as_ref(), Layout::Auto)?;
/// let report = eigentechno::ops::kernels_to_dir(&weights, dir.path(), &Default::default())?;
/// assert_eq!(report.layers.len(), weights.layers.len());
/// # Ok(()) }
/// ```
pub fn kernels_to_dir(
    weights: &Weights,
    out_dir: &Path,
    opts: &KernelOptions,
) -> Result<KernelsReport> {
    std::fs::create_dir_all(out_dir).map_err(|e| crate::error::Error::io(out_dir, e))?;
    let layers = weights
        .layers
        .par_iter()
        .enumerate()
        .map(|(i, l)| layer_figures(i + 1, l, out_dir, opts))
        .collect::<Result<Vec<_>>>()?;
    network_figure(&weights.layers).write_png(&out_dir.join("network.png"))?;
    let report = KernelsReport {
        weights: weights.path.clone(),
        format: weights.format,
        skipped: weights.skipped.clone(),
        clip_percent: opts.clip,
        layers,
        network: "network.png".into(),
    };
    let json = serde_json::to_vec_pretty(&report).expect("serialises");
    write_atomic(&out_dir.join("kernels.json"), &json)?;
    Ok(report)
}

/// Read `path` and draw its kernels into `out_dir`.
///
/// ```
/// # fn main() -> eigentechno::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let report = eigentechno::ops::kernels_of_file(
///     "fixtures/kernels/tiny_cnn.safetensors".as_ref(), dir.path(), &Default::default())?;
/// assert!(!report.layers.is_empty());
/// assert!(dir.path().join("kernels.json").exists());
/// # Ok(()) }
/// ```
pub fn kernels_of_file(path: &Path, out_dir: &Path, opts: &KernelOptions) -> Result<KernelsReport> {
    let w = load_weights(path, opts.layout)?;
    kernels_to_dir(&w, out_dir, opts)
}
