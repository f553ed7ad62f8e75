"""Distributed PCA at Isik's scale, against single-machine `eigentechno pca`.

    python python/benches/bench_distributed.py --rows 90933 --shards 16 --k 400
    python python/benches/bench_distributed.py --workers 2 4  # bytes per pass, 2 and 4 workers
    python python/benches/bench_distributed.py --rows 20000 --shards 8 --method exact --memory 3GB

The matrix (rows x 16,538 float32) is made from real bars when a bar matrix is given
(`--bars`, e.g. `eigentechno ingest` output at 8,820 Hz), each row a bar of it at a
random gain plus a little noise, else from Gaussian rows with a decaying spectrum. It
is written once as shards (with a manifest) and as one `.npy` for the CLI. Workers run
as separate processes with a memory limit; their peak resident memory (VmHWM) is read
from /proc at the end (the client's since the fit began), and the loopback interface's
byte counters measure the traffic.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np


def loopback_bytes() -> int:
    with open("/proc/net/dev") as f:
        for line in f:
            if line.strip().startswith("lo:"):
                fields = line.split(":", 1)[1].split()
                return int(fields[0])  # received on lo == sent on lo
    return 0


def peak_rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def make_matrix(folder: str, rows: int, shards: int, d: int, bars: str, seed: int) -> str:
    """Shards under `folder` (and `folder/X.npy`), unless already there."""
    manifest = os.path.join(folder, "manifest.json")
    if os.path.exists(manifest) and json.load(open(manifest))["rows"] == rows:
        return manifest
    os.makedirs(os.path.join(folder, "shards"), exist_ok=True)
    rng = np.random.default_rng(seed)
    source = np.load(bars, mmap_mode="r") if bars else None
    if source is not None and source.shape[1] != d:
        sys.exit(f"{bars} has {source.shape[1]} columns, expected {d}")
    whole = np.lib.format.open_memmap(os.path.join(folder, "X.npy"), mode="w+", dtype=np.float32, shape=(rows, d))
    per = -(-rows // shards)
    entries = []
    basis = None if source is not None else rng.normal(size=(512, d)).astype(np.float32) / np.sqrt(d)
    scales = None if source is not None else (1.0 / np.arange(1, 513) ** 0.7).astype(np.float32)
    for i in range(shards):
        start, stop = i * per, min(rows, (i + 1) * per)
        if start >= stop:
            break
        n = stop - start
        if source is not None:
            pick = rng.integers(0, source.shape[0], size=n)
            block = np.asarray(source[np.sort(pick)]) * rng.uniform(0.5, 1.5, size=(n, 1)).astype(np.float32)
            block += 0.01 * rng.standard_normal((n, d), dtype=np.float32)
        else:
            block = (rng.standard_normal((n, 512), dtype=np.float32) * scales) @ basis
        whole[start:stop] = block
        shard = os.path.join(folder, "shards", f"{i:05d}")
        os.makedirs(shard, exist_ok=True)
        np.save(os.path.join(shard, "bars.npy"), block.astype(np.float32))
        entries.append({"index": i, "dir": f"shards/{i:05d}", "rows": n, "fingerprint": ""})
    whole.flush()
    del whole
    json.dump({"format": 1, "version": "bench", "options": {}, "tracks": 0, "rows": rows, "shards": entries},
              open(manifest, "w"))
    return manifest


def distributed_fit(folder: str, workers: int, memory: str, k: int, out: str, q=None, method="randomized") -> dict:
    from distributed import Client, LocalCluster

    import eigentechno.distributed as etd

    with LocalCluster(n_workers=workers, threads_per_worker=1, memory_limit=memory, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        pids = client.run(os.getpid)
        # Reset this (the client's) process's peak RSS: making the matrix touched more.
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = loopback_bytes()
        t = time.perf_counter()
        # No scores pass: the CLI run below is `--model-only`.
        model = etd.pca(folder, out, client=client, n_components=k, method=method,
                        power_iterations=q if method == "randomized" else None, scores=False)
        seconds = time.perf_counter() - t
        moved = loopback_bytes() - before
        peaks = {w: peak_rss(p) for w, p in pids.items()}
        client_peak = peak_rss(os.getpid())
        lost = cluster.scheduler.events.get("worker-restart") if hasattr(cluster.scheduler, "events") else None
    traffic = json.load(open(os.path.join(out, "traffic.json")))
    return {
        "workers": workers,
        "memory_limit": memory,
        "seconds": round(seconds, 2),
        "loopback_bytes": moved,
        "passes": len([p for p in traffic["passes"] if p["pass"] in ("X @ W", "X.T @ Q")]),
        "accounted_passes": traffic["passes"],
        "worker_peak_rss": peaks,
        "client_peak_rss": client_peak,
        "restarts": bool(lost),
        "singular_values": model.singular_values_[:8].tolist(),
    }


def cli_fit(eigentechno: str, npy: str, k: int, out: str, method: str = "randomized") -> dict:
    t = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", eigentechno, "pca", npy, "--out", out, "-k", str(k),
                           "--method", method, "--model-only"], capture_output=True, text=True)
    seconds = time.perf_counter() - t
    if done.returncode != 0:
        sys.exit(done.stderr)
    peak_kb = int(done.stderr.strip().splitlines()[-1])
    sv = np.load(os.path.join(out, "singular_values.npy"))
    return {"seconds": round(seconds, 2), "peak_rss": peak_kb * 1024, "singular_values": sv[:8].tolist()}


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=90933)
    ap.add_argument("--shards", type=int, default=16)
    ap.add_argument("--d", type=int, default=16538)
    ap.add_argument("--k", type=int, default=400)
    ap.add_argument("--bars", default="", help="a real bar matrix (.npy, d columns) to draw rows from")
    ap.add_argument("--folder", default="/tmp/eigentechno_isik")
    ap.add_argument("--memory", default="4GB")
    ap.add_argument("--workers", type=int, nargs="+", default=[2])
    ap.add_argument("--bin", default=os.path.join(here, "..", "..", "target", "release", "eigentechno"))
    ap.add_argument("--skip-cli", action="store_true")
    ap.add_argument("--method", choices=["randomized", "exact"], default="randomized")
    ap.add_argument("--power-iterations", type=int, default=None, help="a fixed count (default: adaptive)")
    ap.add_argument("--out", default="distributed_results.json")
    args = ap.parse_args()

    t = time.perf_counter()
    make_matrix(args.folder, args.rows, args.shards, args.d, args.bars, seed=1)
    print(f"matrix {args.rows} x {args.d} in {args.shards} shards: {time.perf_counter() - t:.1f} s", flush=True)
    results = {"rows": args.rows, "d": args.d, "k": args.k, "shards": args.shards, "runs": []}
    for w in args.workers:
        r = distributed_fit(args.folder, w, args.memory, args.k, os.path.join(args.folder, f"pca_{w}"),
                            args.power_iterations, args.method)
        results["runs"].append(r)
        print(json.dumps({k: v for k, v in r.items() if k != "accounted_passes"}), flush=True)
    if not args.skip_cli:
        results["cli"] = cli_fit(args.bin, os.path.join(args.folder, "X.npy"), args.k, os.path.join(args.folder, "pca_cli"),
                                 args.method)
        print(json.dumps(results["cli"]), flush=True)
        a = np.array(results["runs"][0]["singular_values"])
        b = np.array(results["cli"]["singular_values"])
        results["max_rel_diff_top8"] = float(np.max(np.abs(a / b - 1)))
        models = [os.path.join(args.folder, f"pca_{args.workers[0]}"), os.path.join(args.folder, "pca_cli")]
        a, b = (np.load(os.path.join(m, "singular_values.npy")) for m in models)
        results["max_rel_diff_all"] = float(np.max(np.abs(a / b - 1)))
        results["power_iterations"] = [json.load(open(os.path.join(m, "pca.json")))["power_iterations"] for m in models]
        print(f"all {len(a)} singular values within {results['max_rel_diff_all']:.2e} relative; power iterations "
              f"(distributed, one machine): {results['power_iterations']}")
    json.dump(results, open(args.out, "w"), indent=2)
    print(f"results in {args.out}")


if __name__ == "__main__":
    main()
