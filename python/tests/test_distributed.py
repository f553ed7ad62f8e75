"""eigentechno.distributed on real `dask scheduler` and `dask worker` processes on
loopback: sharded ingest identical to one machine, resume, a killed worker, and the
distributed PCA equal to the single-machine one."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

pytest.importorskip("distributed")
from distributed import Client  # noqa: E402

import eigentechno as et  # noqa: E402
import eigentechno.distributed as etd  # noqa: E402
from eigentechno import _eigentechno as _native  # noqa: E402
from conftest import CORPUS, ROOT  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A scheduler and `workers` single-threaded workers, each its own process."""

    def __init__(self, workers):
        port = free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.scheduler = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
             "--no-dashboard"], **quiet)
        self.workers = [
            subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", self.address, "--nthreads", "1",
                              "--no-nanny", "--no-dashboard", "--memory-limit", "4GB"], cwd=ROOT, **quiet)
            for _ in range(workers)
        ]
        self.client = Client(self.address, timeout=60)
        self.client.wait_for_workers(workers, timeout=60)

    def close(self):
        self.client.close()
        for p in self.workers + [self.scheduler]:
            p.kill()
            p.wait()


@pytest.fixture(scope="module")
def cluster():
    c = Cluster(3)
    yield c
    c.close()


@pytest.fixture(scope="module")
def music(tmp_path_factory, cli):
    """The fixture corpus plus 24 synthetic tracks, in one folder."""
    folder = tmp_path_factory.mktemp("music")
    for p in CORPUS.iterdir():
        if p.suffix in {".wav", ".flac", ".mp3", ".ogg"}:
            shutil.copy(p, folder / p.name)
    cli("synth", "--out", folder, "--tracks", 24, "--seconds", 20, "--seed", 3, "--formats", "flac",
        "--rate", 22050, "--quiet")
    return folder


@pytest.fixture(scope="module")
def one_machine(music, cli, tmp_path_factory):
    out = tmp_path_factory.mktemp("one")
    cli("ingest", music, "--out", out, "--quiet")
    return out / "matrix"


def assert_same_as_one_machine(out, one_machine):
    import csv

    X = etd.load_matrix(out)
    want = np.load(one_machine / "bars.npy")
    assert X.dtype == want.dtype and X.shape == want.shape
    assert X.tobytes() == want.tobytes()
    with open(one_machine / "bars.csv", newline="") as f:
        assert etd.load_meta(out) == list(csv.DictReader(f))


def test_sharded_ingest_is_the_one_machine_matrix(cluster, music, one_machine, tmp_path):
    out = tmp_path / "dist"
    summary = etd.ingest(music, out, client=cluster.client, shard_tracks=5)
    assert summary["shards"] == summary["shards_run"] == 7
    assert len(summary["tracks"]) == 34 and all(t["status"] == "ok" for t in summary["tracks"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert [s["index"] for s in manifest["shards"]] == list(range(7))
    assert sum(s["rows"] for s in manifest["shards"]) == manifest["rows"] == summary["rows"]
    assert_same_as_one_machine(out, one_machine)
    lazy = etd.matrix(out)
    assert lazy.numblocks[0] == 7 and np.asarray(lazy.compute()).tobytes() == etd.load_matrix(out).tobytes()

    # Resume: what an interrupted run leaves (two shards missing, a half-made work
    # folder) is finished by redoing those two shards only.
    for i in (2, 5):
        shutil.rmtree(out / "shards" / f"{i:05d}")
    (out / "shards" / ".work-00005-0000000000000000").mkdir()
    again = etd.ingest(music, out, client=cluster.client, shard_tracks=5)
    assert again["shards_run"] == 2
    assert_same_as_one_machine(out, one_machine)
    # Other options: every shard is redone.
    other = etd.ingest(music, out, client=cluster.client, shard_tracks=5, max_bars_per_track=2)
    assert other["shards_run"] == 7 and other["rows"] <= 2 * 34


def test_bad_files_are_reported_per_shard_and_gathered(cluster, music, tmp_path):
    files = sorted(str(p) for p in music.iterdir() if p.suffix == ".flac")[:4]
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVE" + bytes(40))
    summary = etd.ingest(files[:2] + [str(bad)] + files[2:], tmp_path / "o", client=cluster.client, shard_tracks=2)
    failed = [t for t in summary["tracks"] if t["status"] == "failed"]
    assert [t["path"] for t in failed] == [str(bad)]
    assert summary["rows"] == sum(s["rows"] for s in etd.read_manifest(tmp_path / "o")["shards"])


def test_distributed_pca_equals_one_machine(cluster, music, one_machine, tmp_path):
    out = tmp_path / "dist"
    etd.ingest(music, out, client=cluster.client, shard_tracks=6)
    assert len(etd.read_manifest(out)["shards"]) >= 4
    X = np.load(one_machine / "bars.npy")
    model = etd.pca(out, tmp_path / "model", client=cluster.client, n_components=24, method="randomized")
    ref = et.PCA(24, method="randomized", precision="f64").fit(X)
    np.testing.assert_allclose(model.singular_values_, ref.singular_values_, rtol=1e-5)
    a, b = model.components_[:20].astype(np.float64), ref.components_[:20].astype(np.float64)
    cos = np.abs(np.sum(a * b, axis=1)) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    assert cos.min() >= 1 - 1e-6, cos.min()
    # The folder is `eigentechno pca`'s: the package and the CLI read it.
    back = et.PCA.load(tmp_path / "model")
    np.testing.assert_allclose(back.singular_values_, model.singular_values_, rtol=1e-7)
    scores = np.concatenate([np.load(p) for p in sorted((tmp_path / "model" / "scores").glob("*.npy"))])
    np.testing.assert_allclose(scores, model.transform(X), rtol=1e-3, atol=1e-3 * np.abs(scores).max())
    # The sketch's rows stay on the workers: X @ W brings nothing back, and nothing the
    # client receives has a row per bar (at most d x l, or l x l).
    passes = json.loads((tmp_path / "model" / "traffic.json").read_text())["passes"]
    d, l = X.shape[1], 24 + 16
    sketch = [p for p in passes if p["pass"] == "X @ W"]
    assert sketch and all(p["bytes_from_workers"] == 0 for p in sketch)
    assert all(0 < p["bytes_from_workers"] <= max(d, l) * l * 8 for p in passes if p["pass"] in ("X.T @ Q", "Gram"))
    assert X.shape[0] > l


def test_distributed_exact_equals_one_machine_exact(cluster, tmp_path):
    rng = np.random.default_rng(4)
    X = (rng.normal(size=(900, 12)) @ rng.normal(size=(12, 60)) + rng.normal(size=(900, 60)) * 0.1 + 5.0)
    etd.write_shards(X, tmp_path / "m", shard_rows=200)
    model = etd.pca(tmp_path / "m", tmp_path / "model", client=cluster.client, n_components=10, method="exact")
    ref = et.PCA(10, method="exact").fit(X)
    np.testing.assert_allclose(model.singular_values_, ref.singular_values_, rtol=1e-6)
    np.testing.assert_allclose(model.mean_, ref.mean_, rtol=1e-12, atol=1e-12)
    a, b = model.components_, ref.components_
    assert np.abs(np.abs(np.sum(a * b, axis=1)) - 1).max() < 1e-6


def test_scores_are_one_npy_as_one_machine_writes_them_unless_not_asked(cluster, tmp_path):
    rng = np.random.default_rng(6)
    X = (rng.normal(size=(500, 6)) @ rng.normal(size=(6, 40)) + rng.normal(size=(500, 40)) * 0.1).astype(np.float32)
    etd.write_shards(X, tmp_path / "m", shard_rows=120)
    model = etd.pca(tmp_path / "m", tmp_path / "with", client=cluster.client, n_components=5)
    scores = np.load(tmp_path / "with" / "scores.npy")
    assert scores.dtype == np.float32 and scores.shape == (500, 5)
    np.testing.assert_allclose(scores, model.transform(X), atol=1e-4 * np.abs(scores).max())
    bare = etd.pca(tmp_path / "m", tmp_path / "without", client=cluster.client, n_components=5, scores=False)
    assert not (tmp_path / "without" / "scores.npy").exists() and not (tmp_path / "without" / "scores").exists()
    np.testing.assert_allclose(bare.singular_values_, model.singular_values_, rtol=1e-12)
    assert not [p for p in (tmp_path / "with").iterdir() if ".tmp" in p.name]


def test_exact_in_column_tiles_equals_one_machine_exact(cluster, tmp_path):
    """A task budget of 40,000 bytes: 60 columns in tiles of 17 (4 tiles), shards read 16
    rows at a time, and the same PCA as one machine's."""
    rng = np.random.default_rng(5)
    X = (rng.normal(size=(700, 9)) @ rng.normal(size=(9, 60)) + rng.normal(size=(700, 60)) * 0.1 - 2.0)
    etd.write_shards(X, tmp_path / "m", shard_rows=150)
    assert etd.exact_plan(60, 40_000) == {"tile": 17, "tiles": 4, "rows": 16}
    model = etd.pca(tmp_path / "m", tmp_path / "model", client=cluster.client, n_components=8, method="exact",
                    worker_memory=40_000)
    ref = et.PCA(8, method="exact").fit(X)
    np.testing.assert_allclose(model.singular_values_, ref.singular_values_, rtol=1e-6)
    np.testing.assert_allclose(model.explained_variance_, np.linalg.eigvalsh(np.cov(X.T))[::-1][:8], rtol=1e-6)
    a, b = model.components_, ref.components_
    assert np.abs(np.abs(np.sum(a * b, axis=1)) - 1).max() < 1e-6
    passes = json.loads((tmp_path / "model" / "traffic.json").read_text())["passes"]
    tiles = [p for p in passes if p["pass"].startswith("covariance columns")]
    assert len(tiles) == 4 and sum(p["bytes_from_workers"] for p in tiles) == 60 * 60 * 8


def test_exact_that_cannot_fit_the_workers_is_refused_up_front(cluster, tmp_path):
    """Bar width 16,538 on workers that give a task 1 MiB: refused before any work, saying
    what a task needs, what it has, and the randomized alternative."""
    with pytest.raises(et.InvalidInputError, match=r"needs at least 6\.3 MiB.*1\.0 MiB.*randomized"):
        etd.exact_plan(16_538, 2**20)
    X = np.zeros((40, 3000), dtype=np.float32)
    etd.write_shards(X, tmp_path / "m", shard_rows=20)
    with pytest.raises(et.InvalidInputError, match="randomized"):
        etd.pca(tmp_path / "m", tmp_path / "model", client=cluster.client, n_components=2, method="exact",
                worker_memory=100_000)
    assert not (tmp_path / "model").exists()


def test_the_exact_plan_reads_the_workers_memory_limits(cluster):
    """The workers run with --memory-limit 4GB and one thread: 2 GB per task. At Isik's
    bar width (16,538 columns: a 2.2 GB covariance) the tiles are the widest of which
    three fit in 2 GB, and a shard block fits beside two of them."""
    budget = etd._worker_memory(cluster.client)
    assert budget == 0.5 * 4e9
    d = 16_538
    plan = etd.exact_plan(d, budget)
    assert plan["tile"] == int(2e9 // (3 * d * 8)) == 5038 and plan["tiles"] == 4
    assert 2 * d * plan["tile"] * 8 + 3 * plan["rows"] * d * 8 <= budget


def test_a_killed_worker_loses_no_rows(music, one_machine, tmp_path):
    c = Cluster(3)
    try:
        out = tmp_path / "dist"
        result = {}
        run = threading.Thread(target=lambda: result.update(
            etd.ingest(music, out, client=c.client, shard_tracks=2)))
        run.start()
        # Kill a worker that is in the middle of a shard.
        deadline = time.time() + 60
        victim = None
        while victim is None and time.time() < deadline:
            busy = {w: ts for w, ts in c.client.processing().items() if ts}
            if busy and list((out / "shards").glob(".work-*")):
                pids = c.client.run(os.getpid, workers=[next(iter(busy))])
                victim = next(iter(pids.values()))
            time.sleep(0.02)
        assert victim is not None, "no shard was running"
        os.kill(victim, signal.SIGKILL)
        run.join(300)
        assert not run.is_alive()
        assert result["shards"] == 17
        assert_same_as_one_machine(out, one_machine)
        assert not [p for p in (out / "shards").iterdir() if p.name.startswith(".staged")]
    finally:
        c.close()


CLIENT = """
import sys
from distributed import Client
import eigentechno.distributed as etd
with Client(sys.argv[1]) as c:
    etd.ingest(sys.argv[2], sys.argv[3], client=c, shard_tracks=2)
"""


def test_a_rerun_after_an_interrupted_ingest_redoes_only_the_incomplete_shards(cluster, music, one_machine,
                                                                                tmp_path):
    out = tmp_path / "dist"
    run = subprocess.Popen([sys.executable, "-c", CLIENT, cluster.address, str(music), str(out)])
    # Kill the client (and with it the run) once a few shards are done.
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "shards").glob("[0-9]*"))) < 3:
        time.sleep(0.01)
    run.kill()
    run.wait()
    # Shards already running when the client died still finish on their workers (Dask
    # cannot stop a running task); queued ones are dropped. Let the running ones end.
    deadline = time.time() + 60
    while time.time() < deadline and list((out / "shards").glob(".work-*")):
        time.sleep(0.05)
    complete = {int(p.name) for p in (out / "shards").glob("[0-9]*") if (p / "shard.json").exists()}
    assert 3 <= len(complete) < 17, complete
    assert not (out / "manifest.json").exists()
    summary = etd.ingest(music, out, client=cluster.client, shard_tracks=2)
    ran = set(summary["shards_ran"])
    assert summary["shards_run"] == len(ran) >= 1
    assert not ran & complete, "complete shards are not redone"
    assert ran | complete == set(range(17))
    assert_same_as_one_machine(out, one_machine)


def test_the_command_line_front(cluster, music, tmp_path):
    out = tmp_path / "cli"
    done = subprocess.run(
        [sys.executable, "-m", "eigentechno.distributed", "run", str(ROOT / "pipelines" / "eigentechno.toml"),
         "--scheduler", cluster.address, "--set", f"tracks.path={music}", "--set", "pca.k=8", "--out", str(out)],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "pca: 8 components" in done.stdout
    assert et.PCA.load(out / "pca").n_components_ == 8
    assert (out / "listen").is_dir() and (out / "index.html").exists()
    assert (out / "figures" / "average_spectrum.png").exists()
    ranked = (out / "outliers" / "outliers.csv").read_text().splitlines()
    assert len(ranked) == 1 + len(etd.load_matrix(out))
    assert list((out / "outliers" / "unusual").glob("*.wav"))


def _tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _close_wav(a, b, what):
    x, rate_a = et.load(a, sr=None)
    y, rate_b = et.load(b, sr=None)
    assert rate_a == rate_b and x.shape == y.shape, what
    peak = max(float(np.abs(x).max()), 1e-6)
    assert float(np.abs(x - y).max()) <= 2e-3 * peak, (what, float(np.abs(x - y).max()), peak)


def test_the_distributed_run_writes_every_stage_of_the_one_machine_run(cluster, music, cli, tmp_path):
    """Acceptance 4 of the scale issue: the pipeline file through `python -m
    eigentechno.distributed run` on a real scheduler gives the stage outputs of
    `eigentechno run`: the same files, equal where they come from the bars alone, and
    within the PCA's tolerance where they come from the model."""
    sets = [f"tracks.path={music}", "pca.k=8", "pca.method=randomized", "listen.components=3",
            "outliers.audio=2", "sample.count=2", "features.components=8"]
    flags = [a for s in sets for a in ("--set", s)]
    one, dist = tmp_path / "one", tmp_path / "dist"
    cli("run", ROOT / "pipelines" / "eigentechno.toml", *flags, "--set", "pca.precision=f64", "--out", one,
        "--quiet")
    done = subprocess.run(
        [sys.executable, "-m", "eigentechno.distributed", "run", str(ROOT / "pipelines" / "eigentechno.toml"),
         "--scheduler", cluster.address, *flags, "--out", str(dist), "--shard-tracks", "6"],
        capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr

    # Every stage ran, and wrote the same files (the distributed ingest's matrix is its
    # shards, with one bars.csv; the model folder adds the shards' scores and traffic).
    want = json.loads((one / "summary.json").read_text())
    got = json.loads((dist / "summary.json").read_text())
    assert [s["name"] for s in got["stages"]] == [s["name"] for s in want["stages"]]
    assert not [s for s in got["stages"] if s.get("error")]
    assert len(got["tracks"]) == len(want["tracks"]) and got["distributed"]["shards"] >= 4
    for stage in [s["name"] for s in want["stages"] if s["files"]]:
        if stage == "matrix":
            continue
        extra = {"traffic.json"} if stage == "pca" else set()
        have = {f for f in _tree(dist / stage) if not f.startswith("scores/")} - extra
        assert have == set(_tree(one / stage)), stage
    assert (dist / "index.html").exists()

    # From the bars alone: equal.
    X = np.load(one / "matrix" / "bars.npy")
    assert etd.load_matrix(dist).tobytes() == X.tobytes()
    import csv

    with open(one / "matrix" / "bars.csv", newline="") as f, open(dist / "matrix" / "bars.csv", newline="") as g:
        assert list(csv.DictReader(f)) == list(csv.DictReader(g))
    for f in ["bands/bands.npy", "bands/bands.labels.txt", "band_correlation/band_correlation.json"]:
        assert (one / f).read_bytes() == (dist / f).read_bytes(), f
    # select-k fits its own PCA of the training rows, read in other blocks: its sums
    # may be added in another order.
    ka = json.loads((one / "select_k" / "select_k.json").read_text())
    kb = json.loads((dist / "select_k" / "select_k.json").read_text())
    assert ka["best_k"] == kb["best_k"] and len(ka["curve"]) == len(kb["curve"]) > 3
    np.testing.assert_allclose(np.array(kb["curve"]), np.array(ka["curve"]), rtol=1e-9)

    # From the model: within the PCA's tolerance (the same sign rule on both).
    a, b = et.PCA.load(one / "pca"), et.PCA.load(dist / "pca")
    np.testing.assert_allclose(b.singular_values_, a.singular_values_, rtol=1e-5)
    np.testing.assert_allclose(b.components_, a.components_, atol=1e-4 * np.abs(a.components_).max())
    sa, sb = np.load(one / "pca" / "scores.npy"), np.load(dist / "pca" / "scores.npy")
    np.testing.assert_allclose(sb, sa, atol=1e-3 * np.abs(sa).max())
    fa, fb = np.load(one / "features" / "features.npy"), np.load(dist / "features" / "features.npy")
    assert fa.shape == fb.shape
    worst = (np.abs(fb - fa) / np.maximum(np.abs(fa).max(axis=0), 1e-12)).max(axis=0)
    assert worst.max() <= 1e-3, worst
    ca = json.loads((one / "score_correlation" / "score_correlation.json").read_text())
    cb = json.loads((dist / "score_correlation" / "score_correlation.json").read_text())
    assert ca["order"] == cb["order"]
    rank_a = [r.split(",")[1] for r in (one / "outliers" / "outliers.csv").read_text().splitlines()[1:]]
    rank_b = [r.split(",")[1] for r in (dist / "outliers" / "outliers.csv").read_text().splitlines()[1:]]
    assert rank_a[:5] == rank_b[:5] and sorted(rank_a) == sorted(rank_b)
    wavs = [f for f in _tree(one) if f.endswith(".wav") and f.split("/")[0] in ("listen", "sample", "outliers")]
    assert {f.split("/")[0] for f in wavs} == {"listen", "sample", "outliers"}
    for f in wavs:
        _close_wav(one / f, dist / f, f)


def test_worker_tasks_give_the_engine_the_threads_dask_gives_them(monkeypatch):
    """Dask's nanny sets OMP_NUM_THREADS (1 by default) for its workers; a shard product
    then runs the engine on that many threads, with the same result."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert etd._engine_threads() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert etd._engine_threads() == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert etd._engine_threads() == 0
    # A worker without a nanny (here in this process, so it sees the same environment):
    # the cores shared among its task threads.
    from distributed import Client, LocalCluster
    cores = os.cpu_count() or 1
    for tasks in (1, 2, cores + 1):
        with LocalCluster(n_workers=1, threads_per_worker=tasks, processes=False,
                          dashboard_address=":0") as cluster, Client(cluster) as client:
            assert client.submit(etd._engine_threads, pure=False).result() == max(1, cores // tasks)
    rng = np.random.default_rng(8)
    X = rng.normal(size=(3000, 300)).astype(np.float32)
    mean = X.astype(np.float64).mean(axis=0)
    W = rng.normal(size=(300, 40))
    Q = rng.normal(size=(3000, 40))
    for threads in (1, 2):
        np.testing.assert_allclose(_native.shard_times(X, mean, W, threads), _native.shard_times(X, mean, W),
                                   rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(_native.shard_t_times(X, mean, Q, threads), _native.shard_t_times(X, mean, Q),
                                   rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(_native.shard_covariance_tile(X, mean, 0, 30, 0, None, threads),
                                   _native.shard_covariance_tile(X, mean, 0, 30), rtol=1e-12)
        assert _native.shard_column_stats(X, threads)[0] == 3000


def test_shard_products_run_in_the_engine_and_equal_numpy():
    """The workers' products, computed by the engine: float32 rows far from zero (means
    of 1e3 against a spread of 1) centred before they are multiplied, so they match
    float64 numpy to float32 rounding; float64 rows to float64 rounding."""
    rng = np.random.default_rng(7)
    X = (rng.normal(size=(300, 40)) + 1000.0 + np.arange(40)).astype(np.float32)
    mean = X.astype(np.float64).mean(axis=0) + 0.25
    W = rng.normal(size=(40, 6))
    Q = rng.normal(size=(300, 6))
    C = X.astype(np.float64) - mean
    scale = np.abs(C).max() * np.sqrt(40)
    # Rounding the uncentred rows or the mean to float32 would cost about 1e-5 of scale.
    np.testing.assert_allclose(_native.shard_times(X, mean, W), C @ W, rtol=0, atol=1e-6 * scale)
    np.testing.assert_allclose(_native.shard_t_times(X, mean, Q), C.T @ Q, rtol=0, atol=1e-6 * scale * np.sqrt(300 / 40))
    X64 = X.astype(np.float64)
    np.testing.assert_allclose(_native.shard_times(X64, mean, W), C @ W, rtol=1e-12, atol=1e-10)
    tile = _native.shard_covariance_tile(X, mean, 5, 17, 16)
    np.testing.assert_allclose(tile, C.T @ C[:, 5:17], rtol=1e-12, atol=1e-8)
    twice = _native.shard_covariance_tile(X, mean, 5, 17, 0, tile)
    np.testing.assert_allclose(twice, 2 * (C.T @ C[:, 5:17]), rtol=1e-12, atol=1e-8)
    # The first pass: rows, means and the total centred sum of squares, as numpy's
    # float64 two-pass computation gives them, combining exactly across a split.
    X64c = X64 - X64.mean(axis=0)
    n, m, m2 = _native.shard_column_stats(X)
    assert n == 300
    np.testing.assert_allclose(m, X64.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(m2, (X64c**2).sum(), rtol=1e-9)
    halves = [_native.shard_column_stats(X[:100]), _native.shard_column_stats(X[100:])]
    n2, m_2, m2_2 = etd._combine_stats(halves)
    assert n2 == 300
    np.testing.assert_allclose(m_2, X64.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(m2_2, (X64c**2).sum(), rtol=1e-9)
    bad = X.copy()
    bad[7, 3] = np.nan
    with pytest.raises(et.InvalidInputError, match="row 7"):
        _native.shard_column_stats(bad)
    with pytest.raises(et.InvalidInputError, match="w"):
        _native.shard_times(X, mean, W[:30])
    with pytest.raises(et.InvalidInputError):
        _native.shard_covariance_tile(X, mean, 30, 50)
