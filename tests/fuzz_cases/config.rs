//! Target `config`: pipeline text parsed (`RawPipeline::parse`) and checked against
//! the built-in stages (`Pipeline::build`), as `ops::run` and `ops::ingest` do. Build
//! only checks: besides reading the text it looks at the file system only to ask
//! whether a `folder` stage's path exists and a `kernels` or `npy` stage's path is a
//! file (relative paths are taken from the pipeline file's folder, here in a scratch
//! tree).

use std::path::Path;

use eigentechno::pipeline::{Pipeline, RawPipeline, Registry};

use super::{msg, scratch_dir};

/// Parse and build the text (invalid UTF-8 is replaced, as a lossy read would). The
/// file sits in `pipelines/` of a scratch tree holding (empty) stand-ins for the paths
/// the shipped pipelines name, so their builds get past the path checks.
pub fn run(data: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(data);
    check(&pipeline_file(), &text)
}

/// `pipelines/fuzz.toml` in the scratch tree (made once per process).
pub fn pipeline_file() -> std::path::PathBuf {
    static FILE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    FILE.get_or_init(|| {
        let root = scratch_dir().join("tree");
        for dir in [
            "pipelines",
            "fixtures/corpus",
            "fixtures/arrays",
            "fixtures/kernels",
        ] {
            std::fs::create_dir_all(root.join(dir)).expect("scratch tree");
        }
        for f in [
            "fixtures/arrays/image.npy",
            "fixtures/arrays/kernel.npy",
            "fixtures/kernels/tiny_cnn.onnx",
        ] {
            std::fs::write(root.join(f), b"").expect("scratch tree");
        }
        root.join("pipelines/fuzz.toml")
    })
    .clone()
}

/// Parse and build `text` as the pipeline file `file`.
pub fn check(file: &Path, text: &str) -> Result<(), String> {
    let raw = RawPipeline::parse(file, text).map_err(msg)?;
    // An override from the text's first line, as `--set` would give it.
    let mut with_set = raw.clone();
    if let Some(arg) = text.lines().next().and_then(|l| l.strip_prefix("#set ")) {
        with_set.apply_override(arg).map_err(msg)?;
    }
    let registry = Registry::builtin();
    Pipeline::build(with_set, &registry).map_err(msg)?;
    Ok(())
}
