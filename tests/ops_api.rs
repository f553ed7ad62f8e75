//! The operations layer as a library user calls it: ingest to memory gives the bars the
//! CLI writes, a list of files keeps its order, and awkward track names survive the
//! round trip through `bars.csv`.

use crate::common;

use common::{corpus, eigentechno, text};
use eigentechno::ops::{self, IngestParams, TrackInput};
use eigentechno::store::tables::{BarRow, read_table};
use eigentechno::store::{NdArray, read_npy};

fn quick() -> ops::IngestOptions {
    IngestParams {
        max_bars_per_track: 2,
        progress: false,
        ..Default::default()
    }
    .check()
    .unwrap()
}

#[test]
fn ingest_to_memory_gives_the_bars_the_cli_writes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = eigentechno(&[
        "ingest",
        corpus().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--max-bars-per-track",
        "2",
        "-q",
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let NdArray::F32(cli) = read_npy(&out.join("matrix/bars.npy")).unwrap() else {
        panic!("float32 bars")
    };
    let got = ops::ingest_to_memory(&TrackInput::path(corpus()), &quick()).unwrap();
    assert_eq!(got.bars.shape(), cli.shape());
    assert!(
        got.bars
            .iter()
            .zip(cli.iter())
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "bit for bit"
    );
    let csv: Vec<BarRow> = read_table(&out.join("matrix/bars.csv")).unwrap();
    assert_eq!(got.rows, csv);
}

#[test]
fn a_list_of_files_keeps_its_order() {
    let files = vec![
        corpus().join("wav-0001.wav"),
        corpus().join("flac-0000.flac"),
    ];
    let got = ops::ingest_to_memory(&TrackInput::Files(files.clone()), &quick()).unwrap();
    let tracks: Vec<&str> = got.rows.iter().map(|r| r.track.as_str()).collect();
    assert_eq!(tracks.len(), 4, "{tracks:?}");
    assert!(
        tracks[..2].iter().all(|t| t.ends_with("wav-0001.wav")),
        "{tracks:?}"
    );
    assert!(
        tracks[2..].iter().all(|t| t.ends_with("flac-0000.flac")),
        "{tracks:?}"
    );
    assert_eq!(got.bars.nrows(), 4);
}

#[test]
fn awkward_track_names_round_trip_through_bars_csv() {
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir(&music).unwrap();
    let names = ["a, \"b\" c.wav", "line\nbreak.wav"];
    for n in names {
        std::fs::copy(corpus().join("wav-0000.wav"), music.join(n)).unwrap();
    }
    let out = dir.path().join("out");
    let report = ops::ingest_to_dir(&TrackInput::path(&music), &out, &quick()).unwrap();
    assert!(!report.has_failures());
    let rows: Vec<BarRow> = read_table(&out.join("matrix/bars.csv")).unwrap();
    assert_eq!(rows.len(), 4);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.row, i);
        let want = music.join(names[i / 2]);
        assert_eq!(r.track, want.display().to_string());
    }
}
