"""eigentechno.distributed.learn (parameter diffusion, one task per replica and round) on a
real `dask scheduler` and two `dask worker` processes on loopback: its replicas equal the
in-process run's, and a worker killed mid-run costs nothing but time."""

import json
import os
import signal
import struct
import threading
import time

import numpy as np
import pytest

pytest.importorskip("distributed")

import eigentechno as et  # noqa: E402
import eigentechno.distributed as etd  # noqa: E402
from conftest import FIXTURES  # noqa: E402
from test_distributed import Cluster  # noqa: E402

FASHION = FIXTURES / "learn" / "fashion-1000"
# The CNN and SKM head of the product, small: 2 replicas of 500 images, batches of 32
# each, 16 steps an epoch, an exchange every 4.
MODEL = dict(embed=16, epochs=2, batch=64, seed=3, threads=2)
DIFFUSION = dict(coupling=0.2, exchange=4, topology="ring")


def weights(path):
    """A safetensors file's tensors, read with the format's own layout (8-byte header
    length, JSON header, little-endian data)."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    body = raw[8 + n :]
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", (name, t["dtype"])
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(body[a:b], dtype="<f4").reshape(t["shape"])
    return out


def assert_same_replicas(a, b, k=2):
    for i in range(k):
        wa = weights(a / f"replica_{i:02d}" / "model.safetensors")
        wb = weights(b / f"replica_{i:02d}" / "model.safetensors")
        assert wa.keys() == wb.keys()
        for name in wa:
            np.testing.assert_allclose(wa[name], wb[name], rtol=0, atol=1e-6, err_msg=f"replica {i} {name}")


@pytest.fixture(scope="module")
def in_process(tmp_path_factory):
    out = tmp_path_factory.mktemp("here")
    rec = et.learn_fit(FASHION, out, diffusion=2, **DIFFUSION, **MODEL)
    return out, rec


def test_the_distributed_run_equals_the_in_process_run(in_process, tmp_path):
    here, rec_here = in_process
    c = Cluster(2)
    try:
        seen = []
        rec = etd.learn(FASHION, tmp_path / "dist", client=c.client, replicas=2, **DIFFUSION, **MODEL,
                        on_exchange=lambda step, steps: seen.append((step, steps)))
    finally:
        c.close()
    assert seen == [(s, 32) for s in range(4, 33, 4)]
    assert_same_replicas(here, tmp_path / "dist")
    assert [e["step"] for e in rec["exchanges"]] == [e["step"] for e in rec_here["exchanges"]]
    np.testing.assert_allclose([e["distances"] for e in rec["exchanges"]],
                               [e["distances"] for e in rec_here["exchanges"]], rtol=1e-6)
    assert rec["estimate"] == pytest.approx(rec_here["estimate"], abs=1e-6)
    np.testing.assert_allclose(rec["influence"], rec_here["influence"], rtol=0, atol=1e-12)
    assert rec["influence"][0][1] > 0.05 and rec["disagreement"] > 0  # two distinct replicas
    assert [p["epoch"] for p in rec["curve"]] == [1, 2]
    assert sorted(os.listdir(tmp_path / "dist")) == ["diffusion.json", "diffusion.png", "replica_00", "replica_01"]


def test_a_killed_worker_costs_a_round_and_changes_nothing(in_process, tmp_path):
    here, _ = in_process
    c = Cluster(2)
    killed = []

    def kill_a_busy_worker():
        # Kill a worker in the middle of a round when one is caught at it, else any.
        deadline = time.time() + 5
        victim = None
        while time.time() < deadline:
            busy = [w for w, ts in c.client.processing().items() if ts]
            if busy:
                victim = busy[0]
                break
            time.sleep(0.005)
        if victim is None:
            victim = next(iter(c.client.scheduler_info()["workers"]))
        pid = next(iter(c.client.run(os.getpid, workers=[victim]).values()))
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    def on_exchange(step, steps):
        if step == 8:
            threading.Thread(target=kill_a_busy_worker).start()

    try:
        etd.learn(FASHION, tmp_path / "dist", client=c.client, replicas=2, **DIFFUSION, **MODEL,
                  on_exchange=on_exchange)
        assert killed
        assert len(c.client.scheduler_info()["workers"]) == 1
    finally:
        c.close()
    assert_same_replicas(here, tmp_path / "dist")


def test_bad_options_are_refused_before_any_task(tmp_path):
    with pytest.raises(et.InvalidInputError, match="coupling"):
        etd.learn(FASHION, tmp_path / "bad", client=object(), replicas=2, coupling=1.5, **MODEL)
    with pytest.raises(et.InvalidInputError, match="replicas"):
        etd.learn(FASHION, tmp_path / "bad", client=object(), replicas=1, **MODEL)
    assert not (tmp_path / "bad").exists()


def test_a_run_whose_client_died_goes_on_from_its_checkpoint_on_one_machine(in_process, tmp_path, monkeypatch):
    here, _ = in_process
    monkeypatch.setattr(etd._learn, "CHECKPOINT_SECONDS", 0.0)
    out = tmp_path / "dist"

    class ClientDied(Exception):
        pass

    def die(step, steps):
        if step == 12:
            raise ClientDied

    c = Cluster(2)
    try:
        with pytest.raises(ClientDied):
            etd.learn(FASHION, out, client=c.client, replicas=2, **DIFFUSION, **MODEL, on_exchange=die)
    finally:
        c.close()
    assert (out / ".diffusion-checkpoint.safetensors").is_file()
    assert not (out / "diffusion.json").exists()
    # The client's checkpoint is the in-process run's file: learn_fit goes on from it.
    rec = et.learn_fit(FASHION, out, diffusion=2, **DIFFUSION, **MODEL)
    assert rec["resumed_at_step"] == 12
    assert not (out / ".diffusion-checkpoint.safetensors").exists()
    assert_same_replicas(here, out)
