"""corrmatrix, kernels, listen, explore and run write what the CLI writes."""

import json

import numpy as np
import pytest

import eigentechno as et
from conftest import FIXTURES, ROOT


def test_corrmatrix_matches_numpy_and_draws_the_cli_heatmap(tmp_path, cli):
    X = np.load(FIXTURES / "corr" / "X.npy")
    C, order = et.corrmatrix(X, out=tmp_path / "c.png")
    np.testing.assert_allclose(C, np.corrcoef(X.T), atol=1e-9)
    assert sorted(order) == list(range(X.shape[1])) and order.dtype == np.int64
    cli("corrmatrix", FIXTURES / "corr" / "X.npy", "--out", tmp_path / "cli.png")
    assert json.loads((tmp_path / "cli.json").read_text())["order"] == order.tolist()
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((tmp_path / "c.json").read_text())["order"] == order.tolist()


def test_kernels_writes_what_the_cli_writes(tmp_path, cli):
    report = et.kernels(FIXTURES / "kernels" / "tiny_cnn.safetensors", tmp_path / "py")
    cli("kernels", FIXTURES / "kernels" / "tiny_cnn.safetensors", "--out", tmp_path / "cli")
    assert report["layers"], report
    py_files = sorted(p.name for p in (tmp_path / "py").iterdir())
    cli_files = sorted(p.name for p in (tmp_path / "cli").iterdir())
    assert py_files == cli_files
    for name in py_files:
        if name.endswith(".png"):
            assert (tmp_path / "py" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name


def test_run_listen_explore(tmp_path):
    out = tmp_path / "run"
    summary = et.run(ROOT / "pipelines" / "eigentechno.toml", out=out, set={"pca.k": 6}, progress=False)
    assert summary == json.loads((out / "summary.json").read_text())
    assert not any(s.get("error") for s in summary["stages"]), summary["stages"]
    again = et.run(ROOT / "pipelines" / "eigentechno.toml", out=out, set=["pca.k=6"], progress=False)
    assert all(s["already_done"] for s in again["stages"])
    model = out / "pca"
    pca = et.PCA.load(model)
    assert pca.n_components_ == 6
    wavs = et.listen(model, tmp_path / "listen")
    assert wavs and all(w.endswith(".wav") for w in wavs)
    page = et.explore(out)
    assert page.endswith("index.html") and "<html" in open(page).read().lower()
