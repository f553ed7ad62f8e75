"""eigentechno on a Dask cluster: sharded ingest and PCA, identical to one machine.

A catalogue too big for one machine is ingested in shards of tracks, each a Dask task
that writes ``out/shards/NNNNN/{bars.npy, bars.csv, report.json}`` atomically;
``out/manifest.json`` lists them in track order. The PCA then runs over the shards
where they lie: every pass of the randomized method is a map over shards whose partial
products are summed on the cluster; only the k-sized sketch and the small dense steps
come back to the client. The model folder is the one ``eigentechno pca`` writes, and
its ``pca.json`` names the manifest: listening, figures and outliers read the bars from
the shards.

Works with any ``distributed.Client``: a ``LocalCluster``, ``dask scheduler`` plus
``dask worker`` processes, or ``dask_jobqueue.SLURMCluster``. Workers need this package
installed (``pip install ./python``) and the shards' folder on a shared filesystem.

>>> from distributed import Client, LocalCluster                     # doctest: +SKIP
>>> import eigentechno.distributed as etd
>>> client = Client(LocalCluster(n_workers=3, threads_per_worker=1))
>>> summary = etd.ingest("/music", "/scratch/out", client=client, shard_tracks=64)
>>> pca = etd.pca("/scratch/out", "/scratch/out/pca", client=client, n_components=400)

``learn`` trains a parameter-diffusion ensemble (``learn fit --diffusion K``) with one
task per replica and round; see :func:`eigentechno.distributed.learn`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

import numpy as np

from .. import PCA, InvalidInputError, _count, _number
from .. import _eigentechno as _native
from ._learn import learn

__all__ = [
    "exact_plan",
    "ingest",
    "learn",
    "load_matrix",
    "load_meta",
    "matrix",
    "pca",
    "read_manifest",
    "write_meta",
    "write_shards",
]

PathLike = Union[str, "os.PathLike[str]"]
MANIFEST = "manifest.json"
FORMAT = 1


# ---------------------------------------------------------------- small helpers


def _write_atomic(path: str, data: bytes) -> None:
    tmp = f"{path}.{uuid.uuid4().hex}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _write_json(path: str, value: Any) -> None:
    _write_atomic(path, (json.dumps(value, indent=2) + "\n").encode())


def _read_json(path: str) -> Any:
    with open(path) as f:
        return json.load(f)


def _client(client: Any) -> Any:
    if client is not None:
        return client
    from distributed import get_client

    try:
        return get_client()
    except ValueError:
        raise InvalidInputError(
            "no Dask client: pass client=, or create one first (distributed.Client(...))"
        ) from None


def _ingest_options(options: Dict[str, Any]) -> Dict[str, Any]:
    known = {"bpm": 128.0, "rate": 8820, "stretch": "pitch", "max_bars_per_track": 0, "threads": 1}
    unknown = set(options) - set(known) - {"progress"}
    if unknown:
        raise InvalidInputError(f"unknown ingest option(s) {sorted(unknown)}; known: {sorted(known)}")
    opts = {**known, **{k: v for k, v in options.items() if k != "progress"}}
    return {
        "bpm": _number(opts["bpm"], "bpm"),
        "rate": _count(opts["rate"], "rate", 1),
        "stretch": str(opts["stretch"]),
        "max_bars_per_track": _count(opts["max_bars_per_track"], "max_bars_per_track"),
        "threads": _count(opts["threads"], "threads"),
    }


def _fingerprint(tracks: Sequence[str], options: Dict[str, Any]) -> str:
    """What a shard's result depends on: its files (path, size, modification time), the
    options and the package's version and source hash (a changed build recomputes)."""
    h = hashlib.sha256()
    program = {"version": _native.__version__, "source": _native.__source_hash__}
    h.update(json.dumps({**program, "options": options}, sort_keys=True).encode())
    for t in tracks:
        try:
            st = os.stat(t)
            h.update(f"{t}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        except OSError:
            h.update(f"{t}\0missing\n".encode())
    return h.hexdigest()


def _shard_dir(out: str, index: int) -> str:
    return os.path.join(out, "shards", f"{index:05d}")


def _complete(shard: str, fingerprint: str) -> Optional[Dict[str, Any]]:
    """The shard's record when it is complete and made from the same inputs."""
    try:
        record = _read_json(os.path.join(shard, "shard.json"))
    except (OSError, ValueError):
        return None
    if record.get("fingerprint") != fingerprint:
        return None
    if record["rows"] > 0 and not os.path.exists(os.path.join(shard, "bars.npy")):
        return None
    return record


# ---------------------------------------------------------------- ingest


def _ingest_shard(out: str, index: int, tracks: List[str], options: Dict[str, Any], fingerprint: str) -> Dict[str, Any]:
    """One Dask task: ingest `tracks` into `out/shards/NNNNN`, atomically. A worker that
    dies mid-shard leaves only its work folder (the retry resumes from the tracks it
    finished); the shard appears under its final name complete, or not at all."""
    final = _shard_dir(out, index)
    done = _complete(final, fingerprint)
    if done is not None:
        return {**done, "ran": False}
    started = time.time()
    work = os.path.join(out, "shards", f".work-{index:05d}-{fingerprint[:16]}")
    summary = json.loads(
        _native.ingest_to_dir(
            tracks,
            work,
            options["bpm"],
            options["rate"],
            options["stretch"],
            options["max_bars_per_track"],
            options["threads"],
            False,
        )
    )
    staged = os.path.join(out, "shards", f".staged-{index:05d}-{uuid.uuid4().hex}")
    os.makedirs(staged)
    rows = 0
    matrix = os.path.join(work, "matrix")
    for name in ("bars.npy", "bars.csv", "report.json"):
        src = os.path.join(matrix, name)
        if os.path.exists(src):
            shutil.copyfile(src, os.path.join(staged, name))
    if os.path.exists(os.path.join(staged, "bars.npy")):
        rows = int(np.load(os.path.join(staged, "bars.npy"), mmap_mode="r").shape[0])
    record = {
        "index": index,
        "tracks": tracks,
        "rows": rows,
        "fingerprint": fingerprint,
        "seconds": round(time.time() - started, 3),
        "summary": summary,
    }
    _write_json(os.path.join(staged, "shard.json"), record)
    if os.path.exists(final):  # made from other inputs: replaced whole
        aside = f"{final}.old-{uuid.uuid4().hex}"
        os.replace(final, aside)
        shutil.rmtree(aside, ignore_errors=True)
    os.replace(staged, final)
    shutil.rmtree(work, ignore_errors=True)
    return {**record, "ran": True}


def _list(paths_or_folder: Union[PathLike, Iterable[PathLike]]) -> List[str]:
    if isinstance(paths_or_folder, (str, bytes, os.PathLike)):
        return [os.fspath(p) for p in _native.list_tracks(os.fspath(paths_or_folder))]
    paths = [os.fspath(p) for p in paths_or_folder]
    if not paths:
        raise InvalidInputError("no files given")
    return paths


def ingest(
    paths_or_folder: Union[PathLike, Iterable[PathLike]],
    out: PathLike,
    *,
    client: Any = None,
    shard_tracks: int = 64,
    **ingest_options: Any,
) -> Dict[str, Any]:
    """Ingest a folder (or a list of files) on a Dask cluster, ``shard_tracks`` tracks
    per task, into ``out/shards/``; write ``out/manifest.json`` and ``out/summary.json``.

    Tracks are listed once, in path order. A re-run skips every shard already complete
    with the same inputs (files, sizes, times, options) and redoes the rest. Bad files
    are reported per shard, as on one machine, and gathered in the summary, which is
    returned: ``eigentechno run``'s summary (``tracks``, ``stages``) plus ``shards``,
    ``rows`` and ``shards_run``. ``ingest_options``: ``bpm``, ``rate``, ``stretch``,
    ``max_bars_per_track``, ``threads`` (per task; default 1).

    >>> summary = ingest("fixtures/corpus", "out/dist", client=client, shard_tracks=4)  # doctest: +SKIP
    >>> summary["rows"], summary["shards_run"]
    (231, 3)
    """
    started = time.time()
    out = os.path.abspath(os.fspath(out))
    shard_tracks = _count(shard_tracks, "shard_tracks", 1)
    options = _ingest_options(ingest_options)
    tracks = _list(paths_or_folder)
    shards = [tracks[i : i + shard_tracks] for i in range(0, len(tracks), shard_tracks)]
    fingerprints = [_fingerprint(s, options) for s in shards]
    os.makedirs(os.path.join(out, "shards"), exist_ok=True)
    client = _client(client)
    futures = [
        client.submit(_ingest_shard, out, i, s, options, fp, key=f"eigentechno-ingest-{i:05d}-{fp[:16]}", pure=False)
        for i, (s, fp) in enumerate(zip(shards, fingerprints))
    ]
    records = client.gather(futures)
    # Shards beyond the new count (a shorter catalogue) are no longer listed.
    manifest = {
        "format": FORMAT,
        "version": _native.__version__,
        "options": options,
        "tracks": len(tracks),
        "rows": sum(r["rows"] for r in records),
        "shards": [
            {
                "index": r["index"],
                "dir": os.path.relpath(_shard_dir(out, r["index"]), out),
                "tracks": len(r["tracks"]),
                "first_track": r["tracks"][0],
                "rows": r["rows"],
                "fingerprint": r["fingerprint"],
            }
            for r in records
        ],
    }
    _write_json(os.path.join(out, MANIFEST), manifest)
    summary = _gather_summaries(records)
    summary.update(
        {
            "pipeline": "eigentechno.distributed.ingest",
            "shards": len(records),
            "shards_run": sum(1 for r in records if r["ran"]),
            "shards_ran": [r["index"] for r in records if r["ran"]],
            "rows": manifest["rows"],
            "elapsed_seconds": round(time.time() - started, 3),
        }
    )
    _write_json(os.path.join(out, "summary.json"), summary)
    return summary


def _gather_summaries(records: List[Dict[str, Any]]) -> Dict[str, Any]:
    """One summary from the shards' own: tracks in order, stage times summed, files
    named from ``out``, the first error of each stage."""
    tracks: List[Dict[str, Any]] = []
    stages: Dict[str, Dict[str, Any]] = {}
    for r in records:
        s = r["summary"]
        tracks.extend(s.get("tracks", []))
        shard = f"shards/{r['index']:05d}"
        for st in s.get("stages", []):
            agg = stages.setdefault(
                st["name"],
                {"name": st["name"], "type": st.get("type"), "files": [], "error": None, "seconds": 0.0},
            )
            agg["seconds"] = round(agg["seconds"] + st.get("seconds", 0.0), 3)
            if st["name"] == "matrix" and r["rows"] > 0:
                agg["files"] += [f"{shard}/bars.npy", f"{shard}/bars.csv", f"{shard}/report.json"]
            if st.get("error") and not agg["error"]:
                agg["error"] = f"{shard}: {st['error']}"
    return {"tracks": tracks, "stages": list(stages.values())}


def write_shards(X: Union[np.ndarray, PathLike], out: PathLike, *, shard_rows: int) -> Dict[str, Any]:
    """Write a matrix (an array, or a ``.npy`` file read by memory map) as shards of
    ``shard_rows`` rows with a manifest, as :func:`ingest` lays them out: for matrices
    made elsewhere, and for benchmarks.

    >>> write_shards(np.load("bars.npy", mmap_mode="r"), "out/big", shard_rows=6000)  # doctest: +SKIP
    """
    out = os.path.abspath(os.fspath(out))
    x = np.load(os.fspath(X), mmap_mode="r") if isinstance(X, (str, os.PathLike)) else np.asarray(X)
    if x.ndim != 2 or x.dtype not in (np.float32, np.float64) or x.shape[0] == 0:
        raise InvalidInputError(f"X must be a non-empty 2-D float32 or float64 matrix, got {x.dtype} {x.shape}")
    shard_rows = _count(shard_rows, "shard_rows", 1)
    shards = []
    for index, start in enumerate(range(0, x.shape[0], shard_rows)):
        part = np.ascontiguousarray(x[start : start + shard_rows])
        final = _shard_dir(out, index)
        staged = f"{final}.staged-{uuid.uuid4().hex}"
        os.makedirs(staged)
        np.save(os.path.join(staged, "bars.npy"), part)
        _write_json(os.path.join(staged, "shard.json"), {"index": index, "rows": part.shape[0], "fingerprint": ""})
        if os.path.exists(final):
            shutil.rmtree(final)
        os.replace(staged, final)
        shards.append({"index": index, "dir": os.path.relpath(final, out), "rows": part.shape[0], "fingerprint": ""})
    manifest = {"format": FORMAT, "version": _native.__version__, "options": {}, "tracks": 0,
                "rows": int(x.shape[0]), "shards": shards}
    _write_json(os.path.join(out, MANIFEST), manifest)
    return manifest


def read_manifest(out: PathLike) -> Dict[str, Any]:
    """``out/manifest.json``, checked."""
    path = os.path.join(os.fspath(out), MANIFEST)
    try:
        manifest = _read_json(path)
    except OSError as e:
        from .._errors import FileError

        raise FileError(f"{path}: {e.strerror or e}") from None
    if manifest.get("format") != FORMAT:
        raise InvalidInputError(f"{path}: not a manifest of format {FORMAT}")
    return manifest


def _shard_paths(out: str, manifest: Dict[str, Any]) -> List[str]:
    return [os.path.join(out, s["dir"], "bars.npy") for s in manifest["shards"] if s["rows"] > 0]


def load_matrix(out: PathLike) -> np.ndarray:
    """Every shard's bars, concatenated in track order (in memory: for small data and
    tests). The same bytes as ``eigentechno ingest`` on one machine."""
    out = os.fspath(out)
    paths = _shard_paths(out, read_manifest(out))
    if not paths:
        raise InvalidInputError(f"{out}: no bars in any shard")
    return np.concatenate([np.load(p) for p in paths])


def load_meta(out: PathLike) -> List[Dict[str, str]]:
    """Every shard's ``bars.csv`` rows in track order, ``row`` numbered across shards as
    in the one-machine ``bars.csv`` (values as the CSV's text)."""
    import csv

    out = os.fspath(out)
    rows: List[Dict[str, str]] = []
    for s in read_manifest(out)["shards"]:
        if s["rows"] == 0:
            continue
        with open(os.path.join(out, s["dir"], "bars.csv"), newline="") as f:
            for r in csv.DictReader(f):
                r["row"] = str(len(rows))
                rows.append(r)
    return rows


def write_meta(out: PathLike, target: PathLike) -> str:
    """Write :func:`load_meta`'s rows as one ``bars.csv`` at ``target`` (atomically): the
    table one machine's ingest writes beside ``bars.npy``, for the stages that read it."""
    import csv
    import io

    out = os.fspath(out)
    target = os.fspath(target)
    rows = load_meta(out)
    header: List[str] = []
    for s in read_manifest(out)["shards"]:
        if s["rows"] > 0:
            with open(os.path.join(out, s["dir"], "bars.csv"), newline="") as f:
                header = next(csv.reader(f))
            break
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    _write_atomic(target, text.getvalue().encode())
    return target


def _concatenate_rows(paths: List[str], target: str) -> None:
    """The ``.npy`` files' rows, in order, as one ``.npy`` at ``target`` (atomically),
    written a file at a time (plain writes, not a memory map: the client's resident
    memory stays one file's rows)."""
    shapes = [np.load(p, mmap_mode="r") for p in paths]
    dtype, tail = shapes[0].dtype, shapes[0].shape[1:]
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
              "shape": (sum(s.shape[0] for s in shapes),) + tail}
    del shapes
    tmp = f"{target}.{uuid.uuid4().hex}.tmp.npy"
    with open(tmp, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        for p in paths:
            f.write(np.ascontiguousarray(np.load(p), dtype=dtype).tobytes())
    os.replace(tmp, target)


def matrix(out: PathLike) -> Any:
    """The bars as a lazy ``dask.array.Array``, one chunk per shard (memory-mapped)."""
    import dask
    import dask.array as da

    out = os.fspath(out)
    manifest = read_manifest(out)
    chunks = []
    for s, path in zip([s for s in manifest["shards"] if s["rows"] > 0], _shard_paths(out, manifest)):
        head = np.load(path, mmap_mode="r")
        chunks.append(da.from_delayed(dask.delayed(np.load)(path), shape=head.shape, dtype=head.dtype))
    if not chunks:
        raise InvalidInputError(f"{out}: no bars in any shard")
    return da.concatenate(chunks, axis=0)


# ---------------------------------------------------------------- PCA

BLOCK_ROWS = 2048


def _engine_threads() -> int:
    """The engine's threads in a task on a worker: ``OMP_NUM_THREADS``, which Dask's
    nanny sets for its workers (1 by default, so that each of a worker's task threads
    computes on one core and workers sharing a machine do not oversubscribe it). Where
    it is not set: on a worker started without a nanny, the machine's cores shared
    among the worker's task threads; elsewhere 0 (one per core)."""
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    if value.isdigit():
        return int(value)
    try:
        from distributed import get_worker
        worker = get_worker()
    except (ImportError, ValueError):
        return 0
    tasks = max(1, int(getattr(worker.state, "nthreads", 1) or 1))
    return max(1, (os.cpu_count() or 1) // tasks)


def _shard_stats(path: str) -> tuple:
    """(rows, column means, centred sum of squares over all columns) of one shard, in
    one pass in the engine, as one machine's first pass computes them."""
    return _native.shard_column_stats(_shard(path), _engine_threads())


def _combine_stats(parts: List[tuple]) -> tuple:
    """Chan et al.'s pairwise combination of (rows, means, total centred sum of
    squares): exact for any split of the rows."""
    n, mean, m2 = parts[0]
    mean = mean.copy()
    for nb, mb, m2b in parts[1:]:
        delta = mb - mean
        total = n + nb
        mean += delta * (nb / total)
        m2 += m2b + float(delta @ delta) * (n * nb / total)
        n = total
    return n, mean, m2


def _shard(path: str) -> np.ndarray:
    """A shard's rows as written (float32 or float64), memory-mapped."""
    return np.load(path, mmap_mode="r")


def _times(path: str, mean: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Rows of (X_i - mean) @ W, in the engine (float32 shards multiplied in float32,
    as on one machine; the GIL released)."""
    return _native.shard_times(_shard(path), _plain(mean), _plain(w), _engine_threads())


def _t_times(path: str, mean: np.ndarray, q: np.ndarray) -> np.ndarray:
    """(X_i - mean)^T Q_i, in the engine."""
    return _native.shard_t_times(_shard(path), _plain(mean), _plain(q), _engine_threads())


def _covariance_tile(prev: Optional[np.ndarray], path: str, mean: np.ndarray, lo: int, hi: int,
                     rows: int) -> np.ndarray:
    """prev + columns lo..hi of (X_i - mean)^T (X_i - mean), about the global mean: a
    d x (hi - lo) tile in float64, read in blocks of `rows` rows, in the engine. Chained
    over a lane's shards, so a worker holds two tiles and a block, never one tile per
    shard it has done."""
    return _native.shard_covariance_tile(
        _shard(path), _plain(mean), lo, hi, rows, None if prev is None else _plain(prev), _engine_threads()
    )


# Share of a worker thread's memory limit an exact-PCA task may plan on: Dask starts
# spilling at 60 % and pauses the worker at 80 %.
TASK_MEMORY_SHARE = 0.5


def _worker_memory(client: Any) -> Optional[float]:
    """Bytes a task may use on the tightest worker (its memory limit over its threads,
    times TASK_MEMORY_SHARE); None when no worker has a limit."""
    budgets = []
    for w in client.scheduler_info().get("workers", {}).values():
        limit = w.get("memory_limit") or 0
        if limit:
            budgets.append(TASK_MEMORY_SHARE * limit / max(1, int(w.get("nthreads") or 1)))
    return min(budgets) if budgets else None


def exact_plan(d: int, budget: Optional[float], source: str = "worker_memory") -> Dict[str, int]:
    """How exact PCA cuts the d x d covariance so a task fits in `budget` bytes: tiles of
    ``tile`` columns, shards read ``rows`` rows at a time. A task holds the running tile,
    its copy and a block (three copies of ``rows x d`` in float64); the sum of two lanes
    holds three tiles. Raises InvalidInputError, naming what it needs and what the workers
    have (`source` says where `budget` came from), when even a one-column tile does not
    fit."""
    f8 = 8
    if budget is None or budget >= 3 * d * d * f8 + 3 * BLOCK_ROWS * d * f8:
        return {"tile": d, "tiles": 1, "rows": BLOCK_ROWS}
    # The widest tile whose sum step fits, then the longest block beside it; a block
    # under 16 rows gives way to a narrower tile.
    tile = int(min(d, budget // (3 * d * f8)))
    rows = int(min(BLOCK_ROWS, (budget - 2 * d * tile * f8) // (3 * d * f8)))
    if rows < 16:
        tile = int(min(tile, (budget - 3 * 16 * d * f8) // (2 * d * f8)))
        rows = int(min(BLOCK_ROWS, (budget - 2 * d * max(tile, 0) * f8) // (3 * d * f8)))
    if rows < 16 or tile < 1:
        need = 3 * 16 * d * f8 + 2 * d * f8
        raise InvalidInputError(
            f"exact PCA of {d} columns cannot fit its tasks in the workers' memory: a task "
            f"needs at least {need / 2**20:.1f} MiB (a block of 16 rows and a one-column tile "
            f"of the {d} x {d} covariance, in float64), and a task may use "
            f"{budget / 2**20:.1f} MiB ({source}); use method='randomized' (a task holds "
            f"d x l), or workers with more memory"
        )
    return {"tile": tile, "tiles": -(-d // tile), "rows": rows}


def _exact_covariance(client: Any, paths: List[str], mean: np.ndarray, mean_f: Any,
                      plan: Dict[str, int], traffic: "_Traffic") -> np.ndarray:
    """The d x d covariance (unnormalised) about `mean`, tile by tile: per tile, one
    chain of shards per worker thread (each task adds its shard to the running tile),
    then the lanes' tiles summed in pairs; only the finished tile comes to the client."""
    d = mean.shape[0]
    threads = sum(int(w.get("nthreads") or 1) for w in client.scheduler_info().get("workers", {}).values())
    lanes = max(1, min(len(paths), threads))
    cov = np.empty((d, d))
    for lo in range(0, d, plan["tile"]):
        hi = min(d, lo + plan["tile"])
        ends = []
        for lane in range(lanes):
            acc = None
            for path in paths[lane::lanes]:
                acc = client.submit(_covariance_tile, acc, path, mean_f, lo, hi, plan["rows"], pure=False)
            ends.append(acc)
        cov[:, lo:hi] = client.gather(_tree_sum(client, ends, d * (hi - lo) * 8))
        traffic.record(f"covariance columns {lo}..{hi}", d * 8 * len(paths), d * (hi - lo) * 8)
    return cov


def _plain(a: np.ndarray) -> np.ndarray:
    """C-contiguous, aligned float64 (arrays Dask deserialises may be unaligned)."""
    return np.require(a, dtype=np.float64, requirements=["C", "A"])


def _add(*parts: np.ndarray) -> np.ndarray:
    total = parts[0].copy()
    for p in parts[1:]:
        total += p
    return total


def _tree_sum(client: Any, futures: List[Any], nbytes: int) -> Any:
    """Sum arrays of `nbytes` each on the cluster, a few at a time (two when they are
    big, so a worker holds at most three), so the client receives one."""
    fan_in = 2 if nbytes > (256 << 20) else 4
    while len(futures) > 1:
        futures = [client.submit(_add, *futures[i : i + fan_in]) for i in range(0, len(futures), fan_in)]
    return futures[0]


def _scores(path: str, mean: np.ndarray, components: np.ndarray, target: str) -> int:
    """Scores of one shard's rows, written atomically as float32 .npy."""
    z = _native.shard_times(_shard(path), _plain(mean), _plain(components.T), _engine_threads()).astype(np.float32)
    tmp = f"{target}.{uuid.uuid4().hex}.tmp.npy"
    np.save(tmp, z)
    os.replace(tmp, target)
    return z.shape[0]


def _gram(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _plain(a).T @ _plain(b)


def _combine(coefficients: List[np.ndarray], *blocks: np.ndarray) -> np.ndarray:
    out = _plain(blocks[0]) @ coefficients[0]
    for block, c in zip(blocks[1:], coefficients[1:]):
        out += _plain(block) @ c
    return out


class _ShardRows:
    """The centred shards and the randomized method's tall blocks, for the engine
    (``PcaModel.fit_remote``): each tall block is a list of futures, one per shard,
    held on the workers beside the shard's rows. The client sends ``d x l`` and small
    ``l x l`` matrices and receives ``d x l`` sums and ``l x l`` Gram matrices: nothing
    with a row per bar."""

    def __init__(self, client: Any, paths: List[str], mean_f: Any, traffic: "_Traffic") -> None:
        self.client, self.paths, self.mean_f, self.traffic = client, paths, mean_f, traffic
        self.tall: Dict[int, List[Any]] = {}
        self.width: Dict[int, int] = {}
        self.d = 0

    def _workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def times(self, w: np.ndarray, target: int) -> None:
        w_f = self.client.scatter(w, broadcast=True)
        n = len(self.paths)
        self.tall[target] = self.client.map(_times, self.paths, [self.mean_f] * n, [w_f] * n, pure=False)
        self.d, self.width[target] = w.shape
        # W is broadcast: one copy to each worker; X W stays there.
        self.traffic.record("X @ W", w.nbytes * self._workers(), 0)

    def t_times(self, a: int) -> np.ndarray:
        n = len(self.paths)
        parts = self.client.map(_t_times, self.paths, [self.mean_f] * n, self.tall[a], pure=False)
        total = self.client.gather(_tree_sum(self.client, parts, self.d * self.width[a] * 8))
        self.traffic.record("X.T @ Q", 0, total.nbytes)
        return _plain(total)

    def gram(self, a: int, b: int) -> np.ndarray:
        parts = [self.client.submit(_gram, x, y, pure=False) for x, y in zip(self.tall[a], self.tall[b])]
        total = self.client.gather(_tree_sum(self.client, parts, 0))
        self.traffic.record("Gram", 0, total.nbytes)
        return _plain(total)

    def combine(self, terms: List[tuple], target: int) -> None:
        coefficients = [np.ascontiguousarray(c) for _, c in terms]
        coefficients_f = self.client.scatter(coefficients, broadcast=True, hash=False)
        blocks = [self.tall[a] for a, _ in terms]
        self.tall[target] = [
            self.client.submit(_combine, coefficients_f, *[b[i] for b in blocks], pure=False)
            for i in range(len(self.paths))
        ]
        self.width[target] = coefficients[0].shape[1]
        self.traffic.record("combine", sum(c.nbytes for c in coefficients) * self._workers(), 0)

    def release(self, a: int) -> None:
        self.tall.pop(a, None)
        self.width.pop(a, None)

    def release_all(self) -> None:
        self.tall.clear()
        self.width.clear()


class _Traffic:
    """Bytes sent to and received from the cluster, per pass over the shards."""

    def __init__(self) -> None:
        self.passes: List[Dict[str, Any]] = []

    def record(self, kind: str, sent: int, received: int) -> None:
        self.passes.append({"pass": kind, "bytes_to_workers": int(sent), "bytes_from_workers": int(received)})


def pca(
    out: PathLike,
    model_dir: PathLike,
    *,
    client: Any = None,
    n_components: int = 400,
    method: str = "randomized",
    random_state: int = 0,
    power_iterations: Optional[int] = None,
    worker_memory: Optional[float] = None,
    scores: bool = True,
) -> PCA:
    """PCA of the sharded bars in ``out`` on the cluster; the matrix is never gathered.

    ``'randomized'`` runs the single-machine block Krylov method, each product with the
    data a map over shards computed by the engine on the workers (``X_i @ W``,
    ``X_i.T @ Q_i``, the ``d x l`` sums added up on the cluster), the sketch's rows kept
    on the workers and orthonormalised there through their Gram matrices (the client
    holds ``d x l`` and ``l x l`` matrices, never a row per bar); ``'exact'`` sums the
    shards' ``d x d`` covariance on the cluster in column tiles sized to the workers'
    memory (:func:`exact_plan`; ``worker_memory`` bytes per task, by default half of the
    tightest worker's memory limit over its threads), refuses up front with what it needs
    when even one column does not fit, and decomposes on the client (which holds
    ``d x d``). Writes
    the model folder ``eigentechno pca`` writes (``model_dir``), the scores of each
    shard (``model_dir/scores/NNNNN.npy``) and ``model_dir/traffic.json`` (bytes moved
    per pass), and every shard's scores again as one ``model_dir/scores.npy``
    (``scores=False``: no scores, one pass less, as ``eigentechno pca --model-only``);
    returns the fitted :class:`eigentechno.PCA`.

    >>> model = pca("out/dist", "out/dist/pca", client=client, n_components=64)  # doctest: +SKIP
    >>> model.singular_values_[:3]
    """
    out = os.fspath(out)
    model_dir = os.fspath(model_dir)
    if method not in ("randomized", "exact"):
        raise InvalidInputError(f"method must be 'randomized' or 'exact', got {method!r}")
    k = None if (method == "exact" and n_components is None) else _count(n_components, "n_components", 1)
    client = _client(client)
    manifest = read_manifest(out)
    paths = _shard_paths(out, manifest)
    if not paths:
        raise InvalidInputError(f"{out}: no bars in any shard")
    dtype = np.load(paths[0], mmap_mode="r").dtype
    traffic = _Traffic()

    parts = client.gather(client.map(_shard_stats, paths, pure=False))
    n, mean, m2 = _combine_stats(parts)
    if n < 2:
        raise InvalidInputError(f"{out}: PCA needs at least 2 bars; the shards hold {n}")
    d = mean.shape[0]
    total_variance = float(m2 / (n - 1))
    traffic.record("column statistics", 0, len(paths) * (d * 8 + 16))
    mean_f = client.scatter(mean, broadcast=True)

    if method == "exact":
        if worker_memory is None:
            source = f"{TASK_MEMORY_SHARE:.0%} of the tightest worker's memory limit over its threads"
            plan = exact_plan(d, _worker_memory(client), source)
        else:
            plan = exact_plan(d, float(worker_memory), "worker_memory")
        cov = _exact_covariance(client, paths, mean, mean_f, plan, traffic)
        model = _native.PcaModel.fit_covariance(_plain(cov), n, _plain(mean), total_variance, k)
    else:
        rows = _ShardRows(client, paths, mean_f, traffic)
        try:
            model = _native.PcaModel.fit_remote(
                n, _plain(mean), total_variance, rows, k, int(random_state), power_iterations,
                dtype == np.float32,
            )
        finally:
            rows.release_all()

    result = PCA(n_components=model.n_components, method=method, random_state=random_state)
    result._set_model(model, dtype)
    # pca.json names the manifest: listening reads the original bars from the shards.
    rate = manifest.get("options", {}).get("rate")
    model.save(model_dir, os.path.join(os.path.abspath(out), MANIFEST), rate)
    if scores:
        comps = client.scatter(np.asarray(model.components()), broadcast=True)
        os.makedirs(os.path.join(model_dir, "scores"), exist_ok=True)
        targets = [os.path.join(model_dir, "scores", f"{i:05d}.npy") for i in range(len(paths))]
        n_shards = len(paths)
        client.gather(client.map(_scores, paths, [mean_f] * n_shards, [comps] * n_shards, targets, pure=False))
        # And all of them as one scores.npy, as one machine writes it (the bar-features
        # stage reads it): k floats per bar, streamed shard by shard.
        _concatenate_rows(targets, os.path.join(model_dir, "scores.npy"))
    _write_json(
        os.path.join(model_dir, "traffic.json"),
        {"shards": len(paths), "rows": int(n), "features": int(d), "passes": traffic.passes},
    )
    return result
