//! Target `npy`: the `.npy` header parser and the readers built on it: the header
//! alone, the whole array (`store::read_npy_from`, `store::read_npy`), the labels
//! (`store::read_npy_integers_from`) and the streamed matrix (`store::NpyMatrix`: open, `read_rows`, block visits).

use std::path::Path;

use eigentechno::engine::pca::RowSource;
use eigentechno::store::npy_header::read_header;
use eigentechno::store::{NpyMatrix, read_npy, read_npy_from, read_npy_integers_from};

use super::{msg, temp_file};

/// Every reader over the bytes; `Ok` only when the bytes are a readable 2-D matrix.
pub fn run(data: &[u8]) -> Result<(), String> {
    let name = Path::new("fuzz.npy");
    let header = read_header(name, &mut &data[..], data.len() as u64);
    let whole = read_npy_from(name, data, data.len() as u64);
    if let (Ok(h), Ok(a)) = (&header, &whole) {
        assert_eq!(h.shape, a.shape(), "the header's shape is the array's");
    }
    if whole.is_ok() {
        assert!(header.is_ok(), "an array was read whose header is refused");
    }
    // The labels reader: any outcome but a panic, and never more values than the file
    // holds.
    if let Ok(labels) = read_npy_integers_from(name, data, data.len() as u64) {
        assert!(labels.len() <= data.len(), "more labels than bytes");
    }
    let file = temp_file("npy", data);
    // The file reader and the in-memory reader agree (values may be NaN: compare shapes).
    let from_file = read_npy(file.path());
    assert_eq!(
        from_file
            .as_ref()
            .map(|a| a.shape().to_vec())
            .map_err(|_| ()),
        whole.as_ref().map(|a| a.shape().to_vec()).map_err(|_| ()),
        "read_npy and read_npy_from agree"
    );
    let m = NpyMatrix::open(file.path()).map_err(msg)?;
    let (rows, cols) = (m.nrows(), m.ncols());
    let all = m.read_rows(0, rows.min(64)).map_err(msg)?;
    assert_eq!(all.len(), rows.min(64) * cols);
    let some = m.read_rows(rows / 2, 3).map_err(msg)?;
    assert_eq!(some.len(), (rows - rows / 2).min(3) * cols);
    let mut seen = 0;
    m.visit(7, &mut |start, block| {
        assert_eq!(start, seen);
        seen += block.len() / cols;
        Ok(())
    })
    .map_err(msg)?;
    assert_eq!(seen, rows);
    whole.map(|_| ()).map_err(msg)
}
