"""Long calls release the GIL, run side by side from two Python threads, and stop on
Ctrl-C with KeyboardInterrupt, leaving outputs a re-run resumes from."""

import json
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import eigentechno as et
from eigentechno import _eigentechno as native
from conftest import ROOT


@pytest.fixture(scope="module")
def long_tracks(tmp_path_factory, cli):
    """Synthetic tracks long enough that a call takes a few tenths of a second."""
    out = tmp_path_factory.mktemp("long")
    cli("synth", "--out", out, "--tracks", 16, "--seconds", 90, "--rate", 22050, "--channels", 1,
        "--formats", "flac", "--seed", 5, "--quiet")
    return sorted(out.glob("*.flac"))


def test_two_threads_run_beat_track_side_by_side(long_tracks):
    native._concurrency_peak()  # reset
    barrier = threading.Barrier(3)
    results = {}

    def work(i, path):
        barrier.wait()
        results[i] = et.beat_track(path=path)

    threads = [threading.Thread(target=work, args=(i, p)) for i, p in enumerate(long_tracks[:2])]
    for t in threads:
        t.start()
    barrier.wait()
    # The main thread keeps running Python while both calls are in Rust.
    spins = 0
    while any(t.is_alive() for t in threads):
        spins += 1
    for t in threads:
        t.join()
    assert native._concurrency_peak() == 2, "both calls were inside the native code at once"
    assert spins > 1000, "the GIL was free while the calls ran"
    for i, p in enumerate(long_tracks[:2]):
        truth = json.loads(p.with_suffix(".json").read_text())
        assert results[i]["bpm"] == pytest.approx(truth["bpm"], abs=0.5)


SCRIPT = textwrap.dedent(
    """
    import os, signal, sys, threading, time
    import eigentechno as et
    # As in an interactive session: a process started in the background (as CI may
    # start the tests) inherits SIGINT ignored, and Python then installs no handler.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    folder, out, pipeline = sys.argv[1], sys.argv[2], sys.argv[3]
    fired = []
    def fire():
        # Ctrl-C once the first track is done (its cache is on disk), while the rest run.
        cache = os.path.join(out, ".eigentechno", "cache")
        while not any(files for _, _, files in os.walk(cache)):
            time.sleep(0.005)
        fired.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)
    threading.Thread(target=fire, daemon=True).start()
    try:
        et.run(pipeline, out=out, set={"tracks.path": folder}, progress=False, threads=1)
        print("finished")
    except KeyboardInterrupt:
        print("interrupted %.3f" % (time.perf_counter() - fired[0]))
    """
)


def test_ctrl_c_interrupts_a_run_within_a_second_and_the_rerun_resumes(long_tracks, tmp_path):
    folder = long_tracks[0].parent
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(folder), str(out), str(ROOT / "pipelines" / "ingest.toml")],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    word, *rest = done.stdout.split()
    assert word == "interrupted", done.stdout
    assert float(rest[0]) < 1.0, f"KeyboardInterrupt came {rest[0]} s after Ctrl-C"
    # Nothing claims to be finished: no summary, no matrix.
    assert not (out / "summary.json").exists()
    assert not (out / "matrix" / "bars.npy").exists()
    leftovers = [p for p in out.rglob("*") if p.is_file() and ".tmp" in p.name]
    assert not leftovers, leftovers

    summary = et.run(ROOT / "pipelines" / "ingest.toml", out=out, set={"tracks.path": str(folder)}, progress=False)
    statuses = [t["status"] for t in summary["tracks"]]
    assert "done-before" in statuses, "tracks finished before Ctrl-C are not redone"
    assert "failed" not in statuses
    fresh = et.run(ROOT / "pipelines" / "ingest.toml", out=tmp_path / "fresh", set={"tracks.path": str(folder)},
                   progress=False)
    assert fresh["tracks"] and all(t["status"] == "ok" for t in fresh["tracks"])
    a = np.load(out / "matrix" / "bars.npy")
    b = np.load(tmp_path / "fresh" / "matrix" / "bars.npy")
    assert a.tobytes() == b.tobytes(), "the resumed matrix is the uninterrupted one"


def test_a_second_call_after_an_interruption_works(long_tracks):
    # The interruption request is withdrawn once the interrupted call returns.
    assert et.beat_track(path=long_tracks[2])["bpm"] > 0
