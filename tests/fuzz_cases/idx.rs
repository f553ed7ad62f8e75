//! Target `idx`: the IDX reader (MNIST-family image sets), on the bytes as they are and
//! gzipped, through the file reader that sniffs the compression.

use std::io::Write;
use std::path::Path;

use eigentechno::store::idx::{read_idx, read_idx_from};

use super::{msg, temp_file};

/// `Ok` when the bytes are a readable IDX array.
pub fn run(data: &[u8]) -> Result<(), String> {
    let direct = read_idx_from(Path::new("fuzz.idx"), data);
    if let Ok(a) = &direct {
        let w = a.kind.width();
        assert_eq!(
            a.len() * w + 4 + 4 * a.shape.len(),
            data.len(),
            "exact size"
        );
        assert_eq!(a.to_f64().len(), a.len());
    }
    let plain = temp_file("idx", data);
    let from_file = read_idx(plain.path());
    // The file reader inflates gzipped bytes, the stream reader takes them as they are:
    // they agree on everything else.
    if !data.starts_with(&[0x1f, 0x8b]) {
        assert_eq!(
            from_file.as_ref().map_err(|_| ()).map(|a| a.shape.clone()),
            direct.as_ref().map_err(|_| ()).map(|a| a.shape.clone()),
            "the file reader and the stream reader agree"
        );
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).expect("in memory");
    let gzipped = temp_file("gz", &gz.finish().expect("in memory"));
    let inflated = read_idx(gzipped.path());
    assert_eq!(
        inflated.as_ref().map_err(|_| ()).map(|a| a.shape.clone()),
        direct.as_ref().map_err(|_| ()).map(|a| a.shape.clone()),
        "gzipped bytes read as the plain ones"
    );
    direct.map(|_| ()).map_err(msg)
}
