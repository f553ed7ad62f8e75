"""Speed of the eigentechno Python package against reference tools, in one process.

    python benches/bench_python.py [--tracks DIR] [--out results.json] [--quick]

Three benchmarks, each on identical inputs for both tools:

1. ``et.beat_track(path=...)`` vs ``librosa.load(path, sr=22050)`` +
   ``librosa.beat.beat_track`` on every real track (decode included, best of 3 per
   file; librosa is run once beforehand so numba's JIT compile is not timed).
   Goal: eigentechno >= 5x faster.
2. ``et.PCA(64, method='randomized')`` vs ``sklearn.decomposition.PCA(64,
   svd_solver='randomized')`` on a 4000 x 20672 float32 matrix of bars
   (``et.ingest`` at rate=11025 of the real tracks, topped up with a synthetic corpus
   from ``eigentechno synth`` when short; cached as .npy in --cache). Best of 2, plus the
   max relative error of the top-64 singular values against an exact float64 reference
   (eigenvalues of the centred Gram matrix). Goal: >= 2x faster, error <= 1e-4.
3. ``et.correlate`` vs ``scipy.signal.correlate`` (method='auto'), a 1e6-sample signal
   with a 1000-sample kernel, modes 'full' and 'valid', float64 and float32. Best of 5.

Prints Markdown tables and writes every number (plus library versions) as JSON.
``--quick`` is a smoke run: 2 tracks, a 500-row matrix, a 1e5-sample signal, 1 repeat.
"""
import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy
import scipy.signal
import sklearn
from sklearn.decomposition import PCA as SkPCA

import eigentechno as et

AUDIO_EXT = (".wav", ".flac", ".mp3", ".ogg", ".m4a", ".aac", ".aif", ".aiff")
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BIN = os.path.normpath(os.path.join(HERE, "..", "..", "target", "release", "eigentechno"))


def best_of(fn, repeats):
    """Smallest wall time (s) of ``repeats`` calls of ``fn`` and the last result."""
    best, out = math.inf, None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def audio_files(root):
    return sorted(
        os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.lower().endswith(AUDIO_EXT)
    )


def versions():
    v = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "eigentechno": getattr(et, "__version__", "?"),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
    }
    try:
        import librosa

        v["librosa"] = librosa.__version__
    except ImportError:
        v["librosa"] = None
    try:
        from threadpoolctl import threadpool_info

        v["threadpools"] = [
            {k: p.get(k) for k in ("user_api", "internal_api", "version", "num_threads", "architecture", "filepath")}
            for p in threadpool_info()
        ]
    except ImportError:
        v["threadpools"] = None
    return v


# ---------------------------------------------------------------- 1. beat tracking


def bench_beats(files, repeats):
    import librosa

    def lib(path):
        y, sr = librosa.load(path, sr=22050)
        tempo, beats = librosa.beat.beat_track(y=y, sr=sr)
        return float(np.atleast_1d(tempo)[0]), len(beats)

    lib(files[0])  # warm-up: numba JIT compiles here, not timed
    rows = []
    for path in files:
        row = {"file": path}
        try:
            row["et_s"], r = best_of(lambda: et.beat_track(path=path), repeats)
            row["et_bpm"], row["et_beats"] = float(r["bpm"]), len(r["beats"])
            row["et_confidence"] = float(r["confidence"])
        except Exception as e:  # a failing file is reported, not fatal
            row["et_error"] = f"{type(e).__name__}: {e}"
        try:
            row["librosa_s"], (row["librosa_bpm"], row["librosa_beats"]) = best_of(lambda: lib(path), repeats)
        except Exception as e:
            row["librosa_error"] = f"{type(e).__name__}: {e}"
        rows.append(row)
        print(f"  beat {os.path.basename(path)}: et {row.get('et_s', float('nan')):.3f} s,"
              f" librosa {row.get('librosa_s', float('nan')):.3f} s", file=sys.stderr)
    ok = [r for r in rows if "et_s" in r and "librosa_s" in r]
    et_total = sum(r["et_s"] for r in ok)
    lib_total = sum(r["librosa_s"] for r in ok)
    return {
        "repeats": repeats,
        "files": rows,
        "n_timed": len(ok),
        "et_total_s": et_total,
        "librosa_total_s": lib_total,
        "ratio": lib_total / et_total if et_total else None,
        "goal_ratio": 5.0,
    }


# ---------------------------------------------------------------- 2. PCA


def build_matrix(tracks, rows, rate, cache, binary):
    """First ``rows`` bars of et.ingest(real tracks) + synthetic top-up, cached as .npy."""
    path = os.path.join(cache, f"eigentechno_bench_bars_r{rate}_n{rows}.npy")
    info_path = path[:-4] + ".json"
    if os.path.exists(path) and os.path.exists(info_path):
        with open(info_path) as f:
            return np.load(path), dict(json.load(f), cached=path)
    X, _ = et.ingest(tracks, rate=rate, progress=False)
    parts, info = [X], {"real_bars": int(X.shape[0]), "synth_tracks": 0, "synth_bars": 0}
    seed = 1
    while sum(p.shape[0] for p in parts) < rows:  # top up with synthetic techno
        need = rows - sum(p.shape[0] for p in parts)
        n_tracks = need // 55 + 2  # a 120 s track at 120-140 bpm gives ~60-70 bars
        with tempfile.TemporaryDirectory(dir=cache) as d:
            subprocess.run([binary, "synth", "--out", d, "--tracks", str(n_tracks), "--seconds", "120",
                            "--seed", str(seed), "--quiet"], check=True)
            S, _ = et.ingest(d, rate=rate, progress=False)
        parts.append(S)
        info["synth_tracks"] += n_tracks
        info["synth_bars"] += int(S.shape[0])
        seed += 1
    X = np.ascontiguousarray(np.concatenate(parts)[:rows], dtype=np.float32)
    info["real_rows_used"] = min(info["real_bars"], rows)
    np.save(path, X)
    with open(info_path, "w") as f:
        json.dump(info, f)
    return X, dict(info, cached=path)


def exact_singular_values(X, k):
    """Top-k singular values of the centred data, in float64 via the smaller Gram matrix."""
    Xc = X.astype(np.float64)
    Xc -= Xc.mean(axis=0)
    G = Xc @ Xc.T if Xc.shape[0] <= Xc.shape[1] else Xc.T @ Xc
    del Xc
    ev = np.linalg.eigvalsh(G)[::-1][:k]
    return np.sqrt(np.maximum(ev, 0.0))


def bench_pca(X, k, repeats):
    ref = exact_singular_values(X, k)

    def rel_err(s):
        return float(np.max(np.abs(np.asarray(s, np.float64)[:k] - ref) / ref))

    et_s, p_et = best_of(lambda: et.PCA(k, method="randomized", random_state=0).fit(X), repeats)
    sk_s, p_sk = best_of(lambda: SkPCA(k, svd_solver="randomized", random_state=0).fit(X), repeats)
    return {
        "shape": list(X.shape),
        "dtype": str(X.dtype),
        "k": k,
        "repeats": repeats,
        "et_s": et_s,
        "sklearn_s": sk_s,
        "ratio": sk_s / et_s,
        "et_max_rel_err": rel_err(p_et.singular_values_),
        "sklearn_max_rel_err": rel_err(p_sk.singular_values_),
        "et_sv_dtype": str(p_et.singular_values_.dtype),
        "sklearn_sv_dtype": str(p_sk.singular_values_.dtype),
        "reference_sv_first_last": [float(ref[0]), float(ref[-1])],
        "goal_ratio": 2.0,
        "goal_err": 1e-4,
    }


# ---------------------------------------------------------------- 3. correlate


def bench_correlate(n, m, repeats):
    rng = np.random.default_rng(0)
    a64, b64 = rng.standard_normal(n), rng.standard_normal(m)
    rows = []
    for dtype in (np.float64, np.float32):
        a, b = a64.astype(dtype), b64.astype(dtype)
        for mode in ("full", "valid"):
            et_s, r_et = best_of(lambda: et.correlate(a, b, mode=mode, method="auto"), repeats)
            sp_s, r_sp = best_of(lambda: scipy.signal.correlate(a, b, mode=mode, method="auto"), repeats)
            rows.append({
                "dtype": np.dtype(dtype).name,
                "mode": mode,
                "n": n,
                "m": m,
                "repeats": repeats,
                "scipy_method": scipy.signal.choose_conv_method(a, b, mode=mode),
                "et_s": et_s,
                "scipy_s": sp_s,
                "ratio": sp_s / et_s,
                "shape_match": r_et.shape == r_sp.shape,
                "out_dtypes": [str(r_et.dtype), str(r_sp.dtype)],
                "max_abs_diff": float(np.max(np.abs(r_et.astype(np.float64) - r_sp))) if r_et.shape == r_sp.shape else None,
                "max_abs_ref": float(np.max(np.abs(r_sp))),
            })
    return rows


# ---------------------------------------------------------------- report


def markdown(res):
    out = ["| Benchmark | eigentechno (s) | reference (s) | ref / et | goal | accuracy |",
           "|---|---:|---:|---:|---|---|"]
    b = res.get("beat_track")
    if b:
        out.append(f"| beat_track, {b['n_timed']} tracks (librosa load+beat_track) | {b['et_total_s']:.3f} |"
                   f" {b['librosa_total_s']:.3f} | {b['ratio']:.2f}x | >= 5x | - |")
    p = res.get("pca")
    if p:
        out.append(f"| PCA k={p['k']}, {p['shape'][0]}x{p['shape'][1]} {p['dtype']} (sklearn randomized) |"
                   f" {p['et_s']:.3f} | {p['sklearn_s']:.3f} | {p['ratio']:.2f}x | >= 2x, err <= 1e-4 |"
                   f" max rel err et {p['et_max_rel_err']:.1e}, sklearn {p['sklearn_max_rel_err']:.1e} |")
    for c in res.get("correlate", []):
        out.append(f"| correlate {c['mode']} {c['dtype']} {c['n']:,}x{c['m']:,} (scipy {c['scipy_method']}) |"
                   f" {c['et_s']:.4f} | {c['scipy_s']:.4f} | {c['ratio']:.2f}x | - |"
                   f" max abs diff {c['max_abs_diff']:.1e} (max abs {c['max_abs_ref']:.1e}) |")
    if b:
        out += ["", "| Track | et (s) | librosa (s) | ref / et | et bpm | librosa bpm |", "|---|---:|---:|---:|---:|---:|"]
        for r in b["files"]:
            name = os.path.relpath(r["file"], res["tracks"])
            if "et_s" in r and "librosa_s" in r:
                out.append(f"| {name} | {r['et_s']:.3f} | {r['librosa_s']:.3f} | {r['librosa_s'] / r['et_s']:.2f}x |"
                           f" {r['et_bpm']:.2f} | {r['librosa_bpm']:.2f} |")
            else:
                out.append(f"| {name} | {r.get('et_error', r.get('et_s'))} | {r.get('librosa_error', r.get('librosa_s'))} | - | - | - |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tracks", default="/work/real-data/tracks", help="folder of real music tracks")
    ap.add_argument("--out", default="benches/python_results.json", help="JSON results file")
    ap.add_argument("--cache", default="/tmp", help="folder for the cached bar matrix")
    ap.add_argument("--bin", default=DEFAULT_BIN, help="eigentechno CLI (for `synth`)")
    ap.add_argument("--quick", action="store_true", help="short smoke run")
    ap.add_argument("--only", default="beat,pca,correlate", help="comma-separated subset")
    a = ap.parse_args()
    only = set(a.only.split(","))

    files = audio_files(a.tracks) if os.path.isdir(a.tracks) else []
    if not files:
        sys.exit(f"no audio files under {a.tracks}")
    res = {"quick": a.quick, "tracks": a.tracks, "n_tracks": len(files), "versions": versions(),
           "loadavg_start": os.getloadavg()}
    if res["loadavg_start"][0] > 0.5:  # other work on the machine skews every timing
        print(f"warning: load average {res['loadavg_start'][0]:.2f} at start", file=sys.stderr)

    if "beat" in only:
        res["beat_track"] = bench_beats(files[:2] if a.quick else files, 1 if a.quick else 3)
    if "pca" in only:
        X, info = build_matrix(a.tracks, 500 if a.quick else 4000, 11025, a.cache, a.bin)
        res["pca"] = dict(bench_pca(X, 64, 1 if a.quick else 2), matrix=info)
        del X
    if "correlate" in only:
        res["correlate"] = bench_correlate(100_000 if a.quick else 1_000_000, 1000, 1 if a.quick else 5)

    res["loadavg_end"] = os.getloadavg()
    print(markdown(res))
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    print(f"\nresults: {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
