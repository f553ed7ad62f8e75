//! JSON files eigentechno writes (`report.json`, `pca.json`, `summary.json`, a
//! heatmap's `.json`), read back.

use std::path::Path;

use crate::error::{Error, Result};

/// The JSON document in `path`, or an error naming the file.
pub fn read_json(path: &Path) -> Result<serde_json::Value> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::InvalidData {
        path: path.to_path_buf(),
        reason: format!("not valid JSON: {e}"),
    })
}
