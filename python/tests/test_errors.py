"""Bad input raises Python exceptions with the CLI's message, and never crashes."""

import numpy as np
import pytest

import eigentechno as et
from conftest import CORPUS, ROOT


def test_missing_file_is_an_oserror_naming_it(tmp_path):
    missing = tmp_path / "no-such.flac"
    for call in (lambda: et.load(missing), lambda: et.beat_track(path=missing)):
        with pytest.raises(OSError) as e:
            call()
        assert isinstance(e.value, et.Error) and isinstance(e.value, et.FileError)
        assert str(missing) in str(e.value)
        assert e.value.filename == str(missing)


def test_corrupt_and_text_files(tmp_path):
    text = tmp_path / "notes.wav"
    text.write_text("these are not samples\n" * 50)
    corrupt = tmp_path / "cut.flac"
    corrupt.write_bytes((CORPUS / "flac-0000.flac").read_bytes()[:200])
    for path in (text, corrupt):
        with pytest.raises(et.Error) as e:
            et.beat_track(path=path)
        assert path.name in str(e.value)
        assert isinstance(e.value, (OSError, ValueError))


def test_bad_arrays_are_value_errors():
    X = np.random.default_rng(0).normal(size=(50, 8))
    bad = {
        "3-D": np.zeros((4, 4, 4)),
        "integer": np.arange(400).reshape(50, 8),
        "NaN": np.where(np.eye(50, 8) > 0, np.nan, X),
        "empty": np.zeros((0, 8)),
    }
    for name, arr in bad.items():
        with pytest.raises(ValueError) as e:
            et.PCA(2).fit(arr)
        assert isinstance(e.value, et.InvalidInputError), name
    with pytest.raises(ValueError, match="3-D"):
        et.correlate(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="int64"):
        et.convolve(np.arange(5), np.arange(3))
    with pytest.raises(ValueError, match="NaN"):
        et.beat_track(np.array([0.0, np.nan] * 1000, dtype=np.float32), 8820)
    with pytest.raises(ValueError):
        et.corrmatrix(np.zeros((3, 3, 3)))
    with pytest.raises(ValueError, match="mode"):
        et.correlate(np.ones(3), np.ones(2), mode="circular")


def test_too_many_components_and_transform_before_fit():
    X = np.random.default_rng(0).normal(size=(20, 8))
    with pytest.raises(ValueError, match="n_components"):
        et.PCA(9).fit(X)
    with pytest.raises(ValueError):
        et.PCA(50, method="randomized").fit(X)
    with pytest.raises(et.NotFittedError):
        et.PCA(2).transform(X)
    with pytest.raises(AttributeError):
        et.PCA(2).score(X)
    pca = et.PCA(3).fit(X)
    with pytest.raises(ValueError, match="features"):
        pca.transform(np.zeros((2, 5)))


def test_no_rhythm_and_bad_options():
    with pytest.raises(et.NoRhythmError):
        et.beat_track(np.zeros(8820 * 10, dtype=np.float32), 8820)
    with pytest.raises(ValueError, match="bpm_max"):
        et.beat_track(path=CORPUS / "wav-0000.wav", bpm_min=150, bpm_max=100)
    with pytest.raises(ValueError, match="stretch"):
        et.ingest(CORPUS, stretch="elastic")
    with pytest.raises(ValueError, match="bpm"):
        et.ingest(CORPUS, bpm=5)


def test_bad_pipeline_names_line_and_key(tmp_path):
    toml = tmp_path / "p.toml"
    toml.write_text('[stages.tracks]\ntype = "folder"\npath = "fixtures/corpus"\nno_such_key = 3\n')
    with pytest.raises(ValueError) as e:
        et.run(toml, out=tmp_path / "out")
    assert "no_such_key" in str(e.value) and "p.toml:4:" in str(e.value)
    with pytest.raises(ValueError, match="pca.k"):
        et.run(ROOT / "pipelines" / "eigentechno.toml", out=tmp_path / "o2", set={"pca.k": "many"})


def test_bad_numbers_are_value_errors_not_overflows():
    X = np.random.default_rng(0).normal(size=(30, 6))
    calls = [
        lambda: et.load(CORPUS / "wav-0000.wav", sr=-1),
        lambda: et.load(CORPUS / "wav-0000.wav", sr=0),
        lambda: et.beat_track(path=CORPUS / "wav-0000.wav", beats_per_bar=-4),
        lambda: et.beat_track(path=CORPUS / "wav-0000.wav", bpm_min=float("nan")),
        lambda: et.ingest(CORPUS, max_bars_per_track=-1),
        lambda: et.ingest(CORPUS, rate=10**30),
        lambda: et.PCA(2, random_state=-5).fit(X),
        lambda: et.PCA(2, power_iterations=-1, method="randomized").fit(X),
        lambda: et.PCA("two").fit(X),
        lambda: et.PCA(2, method="magic").fit(X),
    ]
    for i, call in enumerate(calls):
        with pytest.raises(et.InvalidInputError):
            call()
