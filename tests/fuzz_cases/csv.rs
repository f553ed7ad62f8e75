//! Target `csv`: `ops::read_csv_matrix` (a CSV of numbers with an optional header
//! row) and `store::read_table::<BarRow>` (the `bars.csv` table, read by column
//! name) on the same bytes.

use eigentechno::ops::read_csv_matrix;
use eigentechno::store::{BarRow, read_table};

use super::{msg, temp_file};

/// Both readers; `Ok` when the matrix reader accepts the bytes.
pub fn run(data: &[u8]) -> Result<(), String> {
    let file = temp_file("csv", data);
    let _ = read_table::<BarRow>(file.path());
    let (values, rows, cols, labels) = read_csv_matrix(file.path()).map_err(msg)?;
    assert_eq!(values.len(), rows * cols, "rows x cols values");
    assert!(rows > 0 && cols > 0);
    if let Some(l) = labels {
        assert_eq!(l.len(), cols, "one label per column");
    }
    Ok(())
}
