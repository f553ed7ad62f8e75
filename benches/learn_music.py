"""Which track is this bar from? SKM on a run's PCA scores (issue #27, acceptance 4).

    python benches/learn_music.py RUN_DIR [--held-out 3] [--components 64]

RUN_DIR is an `eigentechno run pipelines/eigentechno.toml` output folder (it reads
pca/scores.npy and matrix/bars.csv). The tracks are sorted by name; every
`len/held_out`-th track is held out entirely (its bars are the out-of-distribution
set). Each remaining track's bars are split in time: the first 80 % train, the last
20 % test (a random split would put neighbouring, nearly equal bars on both sides).

Prints, for the SKM and the softmax and L2-SVM heads on the same MLP: test accuracy,
and the AUROC with which the confidence tells the test bars of known tracks from the
bars of the held-out tracks. Needs the package and scikit-learn (scripts/test's venv).
"""

import argparse
import csv
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

import eigentechno as et


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run", type=Path)
    ap.add_argument("--held-out", type=int, default=3)
    ap.add_argument("--components", type=int, default=64)
    ap.add_argument("--seeds", type=int, default=3)
    a = ap.parse_args()
    scores = np.load(a.run / "pca" / "scores.npy")[:, : a.components]
    with open(a.run / "matrix" / "bars.csv") as f:
        tracks = [row["track"] for row in csv.DictReader(f)]
    assert len(tracks) == len(scores), (len(tracks), scores.shape)
    names = sorted(set(tracks))
    step = max(1, len(names) // a.held_out)
    held = set(names[::step][: a.held_out])
    tracks = np.array(tracks)
    train, test, ood = [], [], []
    for name in names:
        rows = np.flatnonzero(tracks == name)
        if name in held:
            ood.extend(rows)
        else:
            cut = int(round(0.8 * len(rows)))
            train.extend(rows[:cut])
            test.extend(rows[cut:])
    train, test, ood = map(np.array, (train, test, ood))
    print(f"{len(names)} tracks, {len(scores)} bars, {scores.shape[1]} PCA scores a bar")
    print(f"known: {len(names) - len(held)} tracks, {len(train)} training and {len(test)} test bars")
    print(f"held out: {', '.join(Path(h).name for h in sorted(held))} ({len(ood)} bars)")
    print(f"{'head':8s} {'accuracy':>16s} {'AUROC held-out':>16s} {'fit s':>6s}")
    for head in ["skm", "softmax", "svm"]:
        acc, auc, secs = [], [], []
        for seed in range(a.seeds):
            t = time.perf_counter()
            m = et.SKMClassifier(head=head, random_state=seed).fit(scores[train], tracks[train])
            secs.append(time.perf_counter() - t)
            acc.append(m.score(scores[test], tracks[test]))
            if head == "skm":
                conf_in, conf_out = m.confidence(scores[test]), m.confidence(scores[ood])
            else:
                conf_in = m.predict_proba(scores[test]).max(1)
                conf_out = m.predict_proba(scores[ood]).max(1)
            y = np.r_[np.ones(len(conf_in)), np.zeros(len(conf_out))]
            auc.append(roc_auc_score(y, np.r_[conf_in, conf_out]))
        print(f"{head:8s} {np.mean(acc):8.3f} +- {np.std(acc):.3f} {np.mean(auc):8.3f} +- {np.std(auc):.3f} {np.mean(secs):6.1f}")


if __name__ == "__main__":
    main()
