//! Target `weights`: `store::weights::load_weights` on `.npz`, `.safetensors`, `.onnx`
//! and `.npy` files, with every `Layout`. The first byte picks the extension (which
//! only breaks ties: the content decides the form); the rest is the file.

use eigentechno::store::weights::{Layout, load_weights};

use super::{msg, temp_file};

/// The extensions the first byte picks from.
pub const EXTENSIONS: [&str; 4] = ["npz", "safetensors", "onnx", "npy"];

/// Load the file with each layout; `Ok` when every load found layers.
pub fn run(data: &[u8]) -> Result<(), String> {
    let Some((&pick, file)) = data.split_first() else {
        return Err("empty input".into());
    };
    load(EXTENSIONS[pick as usize % EXTENSIONS.len()], file)
}

/// Load `bytes` as a file named `*.{ext}`, with every layout.
pub fn load(ext: &str, bytes: &[u8]) -> Result<(), String> {
    let file = temp_file(ext, bytes);
    let mut first_err = None;
    for layout in [Layout::Auto, Layout::Oihw, Layout::Hwio] {
        match load_weights(file.path(), layout) {
            Ok(w) => {
                for l in &w.layers {
                    assert_eq!(
                        l.weights.len(),
                        l.out_channels * l.in_channels * l.kh * l.kw,
                        "layer '{}' holds its shape's values",
                        l.name
                    );
                    if l.out_channels > 0 && l.in_channels > 0 {
                        let _ = l.kernel(l.out_channels - 1, l.in_channels - 1);
                    }
                }
            }
            Err(e) => {
                first_err.get_or_insert(msg(e));
            }
        }
    }
    first_err.map_or(Ok(()), Err)
}
