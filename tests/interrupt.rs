//! Cooperative interruption (`eigentechno::interrupt`), in its own test binary: the
//! request is process-wide, so no other test may run beside these.

use eigentechno::engine::pca::{MemoryRows, PcaParams};
use eigentechno::ops::{self, IngestParams, TrackInput};
use eigentechno::{Error, interrupt};

#[test]
fn an_interrupted_ingest_writes_no_summary_and_the_rerun_completes() {
    let out = tempfile::tempdir().unwrap();
    let opts = IngestParams {
        max_bars_per_track: 1,
        progress: false,
        ..Default::default()
    }
    .check()
    .unwrap();
    let input = TrackInput::path("fixtures/corpus");

    interrupt::request();
    let err = ops::ingest_to_dir(&input, out.path(), &opts).unwrap_err();
    assert!(matches!(err, Error::Interrupted), "{err}");
    assert!(!out.path().join("summary.json").exists());
    assert!(!out.path().join("matrix/bars.npy").exists());

    // PCA stops between blocks of rows too.
    let x: Vec<f64> = (0..400).map(|i| ((i * 37) % 101) as f64).collect();
    let rows = MemoryRows::f64(&x, 40, 10).unwrap();
    let err = ops::fit_memory(&rows, &PcaParams::default()).unwrap_err();
    assert!(err.is_interrupted(), "{err}");

    interrupt::clear();
    let report = ops::ingest_to_dir(&input, out.path(), &opts).unwrap();
    assert!(!report.has_failures());
    assert_eq!(report.tracks.len(), 10);
    assert!(out.path().join("matrix/bars.npy").exists());
    assert!(ops::fit_memory(&rows, &PcaParams::default()).is_ok());
}
