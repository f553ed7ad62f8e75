"""The Fashion-MNIST table of issue #27 (acceptance 1): the same CNN and epochs with the
SKM, softmax and L2-SVM heads, over several seeds, through the CLI.

    python benches/learn_fashion.py DATA OUT [--seeds 3] [--epochs 10] [--jobs 2]
        [--binary target/release/eigentechno]

DATA is `scripts/datasets`'s folder (DATA/fashion-mnist, DATA/mnist-digits). Each run
is `learn fit DATA/fashion-mnist` (train split; test figures from t10k) and then
`learn eval` on the t10k split with `--ood DATA/mnist-digits` (the 2,000 test digits).
Runs go `--jobs` at a time, one thread each; a finished run (its eval.json) is not run
again. Prints per run and then per head: accuracy, ECE, NLL, AUROC against the digits
and the first epoch reaching 90 % test accuracy, as mean +- standard deviation.
Standard library only.
"""

import argparse
import json
import statistics
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HEADS = ("skm", "softmax", "svm")


def run(binary, data, out, head, seed, epochs):
    d = out / f"{head}-seed{seed}"
    if (d / "eval.json").exists():
        return head, seed, d
    subprocess.run(
        [binary, "learn", "fit", str(data / "fashion-mnist"), "--out", str(d), "--head", head,
         "--net", "cnn", "--epochs", str(epochs), "--batch", "128", "--seed", str(seed),
         "--threads", "1", "-q"],
        check=True,
    )
    subprocess.run(
        [binary, "learn", "eval", str(d), str(data / "fashion-mnist"), "--ood",
         str(data / "mnist-digits"), "--json"],
        check=True, stdout=subprocess.DEVNULL,
    )
    return head, seed, d


def first_at(history, level):
    for e in history:
        if e["test_accuracy"] is not None and e["test_accuracy"] >= level:
            return e["epoch"]
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--binary", default="target/release/eigentechno")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    jobs = [(h, s) for s in range(a.seeds) for h in HEADS]
    with ThreadPoolExecutor(a.jobs) as pool:
        done = list(pool.map(lambda j: run(a.binary, a.data, a.out, j[0], j[1], a.epochs), jobs))
    rows = {h: [] for h in HEADS}
    print("head     seed  accuracy  ECE     NLL     AUROC   epoch>=90%  s/epoch")
    for head, seed, d in done:
        ev = json.loads((d / "eval.json").read_text())
        fit = json.loads((d / "learn.json").read_text())
        hist = fit["epochs"]
        r = {
            "accuracy": 100 * ev["accuracy"],
            "ece": ev["ece"],
            "nll": ev["nll"],
            "auroc": ev["auroc_ood"],
            "epoch90": first_at(hist, 0.90),
            "seconds": statistics.mean(e["seconds"] for e in hist),
        }
        rows[head].append(r)
        print(f"{head:8} {seed:4}  {r['accuracy']:7.2f}  {r['ece']:.4f}  {r['nll']:.4f}  "
              f"{r['auroc']:.4f}  {r['epoch90']!s:>10}  {r['seconds']:7.1f}")
    print()
    print(f"| head | accuracy (%) | ECE | NLL | AUROC vs digits | epoch >= 90 % |")
    print("|---|---|---|---|---|---|")
    for head in HEADS:
        rs = rows[head]

        def ms(key, fmt):
            v = [r[key] for r in rs]
            sd = statistics.stdev(v) if len(v) > 1 else 0.0
            return f"{statistics.mean(v):{fmt}} +- {sd:{fmt}}"

        e90 = [r["epoch90"] for r in rs]
        print(f"| {head} | {ms('accuracy', '.2f')} | {ms('ece', '.4f')} | {ms('nll', '.4f')} | "
              f"{ms('auroc', '.3f')} | {', '.join(str(e) for e in e90)} |")


if __name__ == "__main__":
    main()
