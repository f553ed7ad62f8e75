"""Time scikit-learn's PCA on the same .npy file as `eigentechno bench pca`.

    python benches/pca_sklearn.py X.npy [-k 64] [--solvers full,randomized] [--out ref.json]

Prints, per solver, the wall time of `np.load` + `PCA(k, svd_solver=...).fit(X)` and
the largest relative error of its top-k singular values against the float64 reference
(Gram matrix + eigh, computed once and not timed); writes {solver: seconds} as JSON
with the names `eigentechno bench pca --compare` expects (full -> exact).
"""
import argparse, json, time
import numpy as np
from sklearn.decomposition import PCA

ap = argparse.ArgumentParser()
ap.add_argument("path")
ap.add_argument("-k", type=int, default=64)
ap.add_argument("--solvers", default="full,randomized")
ap.add_argument("--out")
a = ap.parse_args()

ref = None
times = {}
for solver in a.solvers.split(","):
    t = time.perf_counter()
    X = np.load(a.path)
    p = PCA(a.k, svd_solver=solver, random_state=0).fit(X)
    dt = time.perf_counter() - t
    s = p.singular_values_.astype(np.float64)
    if ref is None:
        Xc = X.astype(np.float64) - X.astype(np.float64).mean(0)
        small = Xc @ Xc.T if Xc.shape[0] <= Xc.shape[1] else Xc.T @ Xc
        ref = np.sqrt(np.maximum(np.linalg.eigvalsh(small)[::-1][: a.k], 0))
        del Xc, small
    err = np.max(np.abs(s - ref) / ref)
    print(f"{solver:<11} {dt:8.2f} s, top-{a.k} max rel error {err:.1e}")
    times["exact" if solver == "full" else solver] = dt
    del X, p
if a.out:
    json.dump(times, open(a.out, "w"), indent=1)
