"""Issue #28, acceptance 4: parameter diffusion over a sweep of the coupling A, through
the CLI, with one model on all the data and `learn cv` beside it.

    python benches/diffusion_sweep.py DATA OUT [--replicas 4] [--exchange 10]
        [--topology ring] [--couplings 0,0.003,0.01,0.03,0.1,0.3,1] [--epochs 10]
        [--head softmax] [--threads 2] [--binary target/release/eigentechno]

DATA is an IDX folder (`scripts/datasets`'s DATA/fashion-mnist). For each A, `learn fit
DATA --diffusion K --coupling A ...` and then `learn eval` on DATA's t10k split; then one
model on all the data (`learn fit`) and `learn cv --folds K` with the same options. A
finished run (its eval.json) is not run again. Prints a table (ensemble test accuracy,
the spread of the replicas' accuracies, the estimate and its bias against the measured
accuracy, its error bar, isolation, disagreement, wall seconds) and writes OUT/sweep.json
and, with matplotlib, OUT/sweep.png.
"""

import argparse
import json
import statistics
import subprocess
import time
from pathlib import Path


def run(cmd, quiet=False):
    subprocess.run([str(c) for c in cmd], check=True,
                   stdout=subprocess.DEVNULL if quiet else None)


def fit_and_eval(a, out, extra):
    if not (out / "eval.json").exists():
        started = time.monotonic()
        run([a.binary, "learn", *extra, "--out", out, "--head", a.head, "--epochs", a.epochs,
             "--threads", a.threads, "-q"])
        (out / "wall.txt").write_text(f"{time.monotonic() - started:.3f}\n")
        run([a.binary, "learn", "eval", out, a.data, "--json"], quiet=True)
    ev = json.loads((out / "eval.json").read_text())
    ev["wall"] = float((out / "wall.txt").read_text())
    return ev


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--replicas", type=int, default=4)
    ap.add_argument("--exchange", type=int, default=10)
    ap.add_argument("--topology", default="ring")
    ap.add_argument("--couplings", default="0,0.003,0.01,0.03,0.1,0.3,1")
    ap.add_argument("--epochs", default="10")
    ap.add_argument("--head", default="softmax")
    ap.add_argument("--threads", default="2")
    ap.add_argument("--binary", default="target/release/eigentechno")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    k = a.replicas
    rows = []
    for coupling in [float(c) for c in a.couplings.split(",")]:
        d = a.out / f"diffusion-K{k}-A{coupling:g}-T{a.exchange}-{a.topology}"
        ev = fit_and_eval(a, d, ["fit", a.data, "--diffusion", k, "--coupling", coupling,
                                 "--exchange", a.exchange, "--topology", a.topology])
        rec = json.loads((d / "diffusion.json").read_text())
        members = [m["accuracy"] for m in ev["replicas"]]
        rows.append({
            "coupling": coupling,
            "accuracy": ev["accuracy"],
            "replica_mean": statistics.mean(members),
            "replica_spread": statistics.stdev(members),
            "estimate": rec["estimate"],
            "estimate_error": rec["estimate_error"],
            "bias": rec["estimate"] - ev["accuracy"],
            "extrapolated": rec["estimate_extrapolated"],
            "extrapolated_error": rec["estimate_extrapolated_error"],
            "bias_extrapolated": None if rec["estimate_extrapolated"] is None
            else rec["estimate_extrapolated"] - ev["accuracy"],
            "isolation": rec["isolation"],
            "disagreement": rec["disagreement"],
            "wall": ev["wall"],
        })
    # Lines join the couplings in increasing order, whatever order they ran in.
    rows.sort(key=lambda r: r["coupling"])
    one = fit_and_eval(a, a.out / "one-model", ["fit", a.data])
    cv = fit_and_eval(a, a.out / f"cv-K{k}", ["cv", a.data, "--folds", k])
    cv_rec = json.loads((a.out / f"cv-K{k}" / "cv.json").read_text())
    print(f"K = {k}, T = {a.exchange}, {a.topology}, {a.head} head, {a.epochs} epochs")
    print(f"{'A':>7} {'ensemble':>9} {'replicas':>15} {'estimate':>15} {'bias':>7} "
          f"{'isolation':>9} {'disagree':>8} {'wall s':>7} {'extrapolated':>15} {'bias':>7}")
    for r in rows:
        print(f"{r['coupling']:>7g} {100 * r['accuracy']:>8.2f}% "
              f"{100 * r['replica_mean']:>8.2f}+-{100 * r['replica_spread']:<4.2f} "
              f"{100 * r['estimate']:>8.2f}+-{100 * r['estimate_error']:<4.2f} "
              f"{100 * r['bias']:>+7.2f} {r['isolation']:>9.3f} "
              f"{100 * r['disagreement']:>7.2f}% {r['wall']:>7.0f} "
              + ("" if r["extrapolated"] is None else
                 f"{100 * r['extrapolated']:>8.2f}+-{100 * r['extrapolated_error']:<4.2f} "
                 f"{100 * r['bias_extrapolated']:>+7.2f}"))
    print(f"one model on all the data: {100 * one['accuracy']:.2f} % in {one['wall']:.0f} s")
    print(f"learn cv --folds {k}: ensemble {100 * cv['accuracy']:.2f} %, estimate "
          f"{100 * cv_rec['estimate']:.2f} +- {100 * cv_rec['estimate_error']:.2f} % "
          f"(bias {100 * (cv_rec['estimate'] - cv['accuracy']):+.2f}), {cv['wall']:.0f} s")
    summary = {"rows": rows, "one_model": {"accuracy": one["accuracy"], "wall": one["wall"]},
               "cv": {"accuracy": cv["accuracy"], "estimate": cv_rec["estimate"],
                      "estimate_error": cv_rec["estimate_error"], "wall": cv["wall"]}}
    (a.out / "sweep.json").write_text(json.dumps(summary, indent=2))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no sweep.png")
        return
    xs = [max(r["coupling"], 1e-3) for r in rows]
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.5))
    ax[0].plot(xs, [100 * r["accuracy"] for r in rows], "o-", label="diffusion ensemble")
    ax[0].axhline(100 * one["accuracy"], color="k", ls="--", label="one model, all data")
    ax[0].axhline(100 * cv["accuracy"], color="g", ls=":", label=f"learn cv ensemble (K={k})")
    ax[0].set_ylabel("test accuracy (%)")
    ax[1].errorbar(xs, [100 * r["replica_mean"] for r in rows],
                   yerr=[100 * r["replica_spread"] for r in rows], fmt="o-")
    ax[1].set_ylabel("replicas' test accuracy, mean +- sd (%)")
    ax[2].errorbar(xs, [100 * r["bias"] for r in rows],
                   yerr=[100 * r["estimate_error"] for r in rows], fmt="o-",
                   label="diffusion estimate - measured")
    # Without isolation the extrapolation has nothing to stand on (its error bar is
    # tens of points): such points are left out of the picture, not clipped into it.
    alt = [r for r in rows if r["extrapolated"] is not None and r["extrapolated_error"] < 0.05]
    ax[2].errorbar([max(r["coupling"], 1e-3) * 1.08 for r in alt],
                   [100 * r["bias_extrapolated"] for r in alt],
                   yerr=[100 * r["extrapolated_error"] for r in alt], fmt="s--",
                   label="extrapolated estimate - measured")
    ax[2].axhline(100 * (cv_rec["estimate"] - cv["accuracy"]), color="g", ls=":",
                  label="learn cv estimate - its ensemble")
    ax[2].axhline(0, color="k", lw=0.5)
    ax[2].set_ylabel("estimate bias (points)")
    ax[2].set_ylim(-5, 5)
    for x in ax:
        x.set_xscale("log")
        x.set_xlabel("coupling A (A = 0 drawn at 0.001)")
        x.grid(alpha=0.3)
    ax[0].legend()
    ax[2].legend()
    fig.suptitle(f"Parameter diffusion: K = {k}, T = {a.exchange}, {a.topology}, "
                 f"{a.head} head, {a.epochs} epochs")
    fig.tight_layout()
    fig.savefig(a.out / "sweep.png", dpi=100)
    print(f"wrote {a.out / 'sweep.png'}")


if __name__ == "__main__":
    main()
