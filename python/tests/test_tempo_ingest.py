"""beat_track and ingest agree with the CLI (`eigentechno tempo --json`, `eigentechno
ingest`) on every fixture track."""

import csv
import json

import numpy as np
import pytest

import eigentechno as et
from conftest import CORPUS, ROOT, corpus_tracks


@pytest.fixture(scope="module")
def cli_tempo(cli):
    files = [str(p.relative_to(ROOT)) for p in corpus_tracks()]
    return {r["file"]: r for r in json.loads(cli("tempo", "--json", *files))}


@pytest.mark.parametrize("track", corpus_tracks(), ids=lambda p: p.name)
def test_beat_track_equals_cli_tempo_json(track, cli_tempo):
    want = cli_tempo[str(track.relative_to(ROOT))]
    got = et.beat_track(path=track)
    assert set(got) == {
        "bpm",
        "confidence",
        "runner_up_bpm",
        "beats",
        "downbeats",
        "downbeat_confidence",
        "drift",
        "segments",
    }
    for key in ("bpm", "confidence", "runner_up_bpm", "downbeat_confidence"):
        assert got[key] == pytest.approx(want[key], rel=1e-9, abs=1e-9), key
    assert got["segments"] == want["segments"] and got["segments"], "the same segments"
    assert got["segments"][0]["status"] in ("steady", "drifting", "beatless")
    for key in ("beats", "downbeats"):
        assert got[key].dtype == np.float64
        np.testing.assert_allclose(got[key], want[key], rtol=0, atol=1e-9, err_msg=key)


def test_beat_track_of_loaded_samples_finds_the_annotated_tempo():
    track = CORPUS / "flac-0000.flac"
    truth = json.loads(track.with_suffix(".json").read_text())
    y, sr = et.load(track)
    assert y.dtype == np.float32 and y.ndim == 1 and sr == 8820
    got = et.beat_track(y, sr)
    assert got["bpm"] == pytest.approx(truth["bpm"], abs=0.5)
    # Samples at another rate are resampled first: float64 input is accepted too.
    y22, sr22 = et.load(track, sr=22050)
    assert et.beat_track(y22.astype(np.float64), sr22)["bpm"] == pytest.approx(truth["bpm"], abs=0.5)


def test_load_keeps_the_native_rate_and_channels_on_request():
    y, sr = et.load(CORPUS / "wav-0000.wav", sr=None, mono=False)
    truth = json.loads((CORPUS / "wav-0000.json").read_text())
    assert sr == truth.get("rate", sr)
    assert y.dtype == np.float32
    assert y.shape[-1] == pytest.approx(sr * truth.get("seconds", y.shape[-1] / sr), abs=2)


def test_ingest_is_byte_identical_to_the_cli(cli_ingest, monkeypatch):
    monkeypatch.chdir(ROOT)  # the CLI was given the same relative folder
    bars, meta = et.ingest("fixtures/corpus", progress=False)
    want = np.load(cli_ingest / "bars.npy")
    assert bars.dtype == np.float32 and bars.shape == want.shape
    assert bars.tobytes() == want.tobytes()
    with open(cli_ingest / "bars.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(meta) == len(rows) == bars.shape[0]
    for got, want_row in zip(meta, rows):
        assert list(got) == list(want_row), "bars.csv's columns, in order"
        for key, value in want_row.items():
            if key == "track":
                assert got[key] == value
            elif key in ("row", "bar"):
                assert got[key] == int(value)
            else:
                assert got[key] == float(value), key


def test_ingest_of_a_file_list_keeps_its_order():
    files = [CORPUS / "wav-0001.wav", CORPUS / "flac-0000.flac"]
    bars, meta = et.ingest(files, max_bars_per_track=2, progress=False)
    tracks = [m["track"] for m in meta]
    assert tracks[0].endswith("wav-0001.wav") and tracks[-1].endswith("flac-0000.flac")
    assert bars.shape == (len(meta), 16538)


def test_ingest_reports_a_bad_file_and_keeps_the_rest(tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" + bytes(64))
    with pytest.warns(UserWarning, match="broken.wav"):
        bars, meta = et.ingest([bad, CORPUS / "wav-0000.wav"], max_bars_per_track=1, progress=False)
    assert bars.shape[0] == 1 and meta[0]["track"].endswith("wav-0000.wav")


def test_a_track_past_its_time_budget_is_reported_as_timed_out(tmp_path):
    summary = et.run(
        ROOT / "pipelines" / "ingest.toml",
        out=tmp_path / "out",
        set={"tracks.path": str(CORPUS / "wav-0001.wav"), "pipeline.max_track_seconds": 1e-6},
        progress=False,
    )
    assert summary["tracks"][0]["status"] == "timed out"
    assert "max_track_seconds" in summary["tracks"][0]["error"]
    with pytest.raises(et.InvalidInputError, match="max_track_seconds"):
        et.ingest(CORPUS / "wav-0001.wav", max_track_seconds=-1, progress=False)
