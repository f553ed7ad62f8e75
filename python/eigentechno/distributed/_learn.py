"""Parameter diffusion on a Dask cluster: one task per replica and round, the exchange a
task too, the replicas' states held by the client between rounds.

Every round, replica i's task takes its state (weights, optimizer moments, generator,
row order: safetensors bytes) from the client and trains it T steps on its shard; one
exchange task takes the K new states straight from those tasks, mixes them and returns
them, with the ledger, to the client. Nothing goes through files. A worker that dies
loses at most one round: the scheduler runs its task again, from the same state (the
last exchange), on another worker, and every step is deterministic, so the result is the
one an undisturbed run gives, and the one ``eigentechno.learn_fit(..., diffusion=K)``
gives on one machine.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from .. import _eigentechno as _native
from .._learn import _model_options, _whole

PathLike = Union[str, "os.PathLike[str]"]

# One loaded job per process and run: a worker reads the data once, not every round.
_JOBS: Dict[Tuple[Any, ...], Any] = {}
_JOBS_LOCK = threading.Lock()

# Seconds between the client's checkpoints (every replica's state, in OUT).
CHECKPOINT_SECONDS = 60.0


def _job(spec: Tuple[Any, ...]) -> Any:
    with _JOBS_LOCK:
        job = _JOBS.get(spec)
        if job is None:
            # A worker keeps the latest run's data only.
            _JOBS.clear()
            job = _JOBS[spec] = _native.DiffusionJob(*spec)
        return job


def _round(spec: Tuple[Any, ...], replica: int, state: bytes, until: int) -> bytes:
    return bytes(_job(spec).round(replica, state, until))


def _exchange(spec: Tuple[Any, ...], ledger: str, round_end: int, states: List[bytes]) -> Tuple[str, List[bytes], Optional[str]]:
    text, mixed, point = _job(spec).exchange(ledger, round_end, [bytes(s) for s in states])
    return text, [bytes(m) for m in mixed], point


def learn(
    data: PathLike,
    out: PathLike,
    *,
    client: Any = None,
    replicas: int = 4,
    coupling: float = 0.5,
    exchange: int = 10,
    topology: str = "ring",
    labels: Optional[PathLike] = None,
    head: str = "skm",
    net: str = "cnn",
    epochs: int = 10,
    batch: int = 128,
    support: int = 0,
    embed: int = 128,
    hidden: int = 128,
    seed: int = 0,
    learning_rate: float = 1e-3,
    weight_decay: float = 1e-4,
    augment: str = "none",
    dropout: float = 0.25,
    threads: int = 0,
    on_exchange: Optional[Callable[[int, int], None]] = None,
) -> Dict[str, Any]:
    """``eigentechno learn fit DATA --out OUT --diffusion K`` on a Dask cluster: one
    replica per task, parameters exchanged every ``exchange`` steps through the cluster.

    The options are ``eigentechno.learn_fit``'s; with the same seed the replicas equal
    an in-process run's. ``data`` (and ``labels``) must be readable at the same path by
    the client and every worker; the client reads it too (the start, and the estimate at
    the end). ``threads``: each task's threads (0: the worker machine's cores).
    ``on_exchange(step, steps)``, when given, is called on the client after every
    exchange. Writes ``replica_NN/``, diffusion.json and diffusion.png into ``out`` and
    returns diffusion.json as a dict.

    The client saves every replica's state in ``out`` at most once a minute (the file
    ``learn fit --diffusion`` writes); if the client dies, the same call goes on from
    there, on the cluster or, with ``eigentechno.learn_fit``, on one machine.

    >>> from distributed import Client                                    # doctest: +SKIP
    >>> import eigentechno.distributed as etd
    >>> d = etd.learn("data/fashion-mnist", "fashion-d4", client=Client("tcp://sched:8786"),
    ...               replicas=4, coupling=0.3, exchange=10, head="softmax")
    >>> d["estimate"], d["disagreement"]
    """
    from . import _client

    client = _client(client)
    opts = _model_options(
        head, net, epochs, batch, support, embed, hidden, seed, learning_rate,
        weight_decay, augment, dropout, threads,
    )
    names = ("head", "net", "epochs", "batch", "support", "embed", "hidden", "seed",
             "learning_rate", "weight_decay", "augment", "dropout")
    options = json.dumps(dict(zip(names, opts[:-1])))
    diffusion = json.dumps({
        "replicas": _whole(replicas, "replicas", 0),
        "coupling": float(coupling),
        "exchange": _whole(exchange, "exchange", 0),
        "topology": str(topology),
    })
    spec = (
        os.path.abspath(os.fspath(data)),
        None if labels is None else os.path.abspath(os.fspath(labels)),
        options,
        diffusion,
        opts[-1],
    )
    job = _native.DiffusionJob(*spec)
    out = os.fspath(out)
    resumed = job.resume(out)
    ledger, states = resumed if resumed is not None else job.start()
    states = [bytes(s) for s in states]
    resumed_at = json.loads(ledger)["round_end"] if resumed is not None else None
    steps = max(json.loads(ledger)["total_steps"])
    started = saved = time.monotonic()
    while True:
        until = job.next_round(ledger)
        if until is None:
            break
        rounds = [
            client.submit(_round, spec, i, state, until, key=f"diffusion-{job.fingerprint}-{until}-{i}")
            for i, state in enumerate(states)
        ]
        mixed = client.submit(_exchange, spec, ledger, until, rounds, key=f"diffusion-{job.fingerprint}-{until}-mix")
        ledger, states, _ = mixed.result()
        # The client now holds the exchange's result: the cluster may forget the round.
        del rounds, mixed
        if time.monotonic() - saved >= CHECKPOINT_SECONDS and job.next_round(ledger) is not None:
            job.checkpoint(out, ledger, states)
            saved = time.monotonic()
        if on_exchange is not None:
            on_exchange(until, steps)
    seconds = time.monotonic() - started
    text = job.write(out, ledger, states, seconds, resumed_at)
    result: Dict[str, Any] = json.loads(text)
    return result
