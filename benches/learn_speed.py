"""Training speed of the Fashion-MNIST CNN: eigentechno (burn) against PyTorch on the same
architecture, batch, thread count and images, alternating in one run (issue #27,
acceptance 5).

    python benches/learn_speed.py DATA/fashion-mnist [--images 6000] [--batch 128]
        [--threads 2] [--rounds 3] [--bin target/release/eigentechno]

The network: conv(32, 3x3) - BatchNorm - ReLU - maxpool 2 - conv(64, 3x3) - BatchNorm -
ReLU - maxpool 2 - dropout 0.25 - dense(128) - ReLU - dense(10), softmax cross-entropy,
AdamW at 1e-3 (PyTorch's default initialisation in both). eigentechno's figure is learn.json's `rows_per_second` of one
epoch of `learn fit --head softmax` over the first IMAGES training images (training
steps only); PyTorch's is the same steps timed in-process, after 5 warm-up batches.
PyTorch comes from PyPI in a bench venv only (`pip install torch --index-url
https://download.pytorch.org/whl/cpu`); it is never a dependency of the product.
"""

import argparse
import gzip
import json
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np


def read_idx(path: Path) -> np.ndarray:
    raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    dims = raw[3]
    shape = struct.unpack(f">{dims}I", raw[4:4 + 4 * dims])
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def write_idx(path: Path, a: np.ndarray) -> None:
    head = bytes([0, 0, 8, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
    path.write_bytes(head + a.astype(np.uint8).tobytes())


def torch_rate(x: np.ndarray, y: np.ndarray, batch: int, threads: int) -> float:
    import torch
    import torch.nn as nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    xt = torch.from_numpy(x.reshape(-1, 1, 28, 28).astype(np.float32) / 255)
    yt = torch.from_numpy(y.astype(np.int64))
    net = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10),
    )
    opt = torch.optim.AdamW(net.parameters(), 1e-3, weight_decay=1e-4)
    batches = len(x) // batch
    t = 0.0
    for b in range(batches):
        if b == 5:
            t = time.perf_counter()
        sl = slice(b * batch, (b + 1) * batch)
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(xt[sl]), yt[sl])
        loss.backward()
        opt.step()
    return (batches - 5) * batch / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", type=Path)
    ap.add_argument("--images", type=int, default=6000)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bin", default=str(Path(__file__).resolve().parents[1] / "target/release/eigentechno"))
    a = ap.parse_args()
    x = read_idx(next(a.data.glob("train-images-idx3-ubyte*")))[: a.images]
    y = read_idx(next(a.data.glob("train-labels-idx1-ubyte*")))[: a.images]
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "subset"
        d.mkdir()
        write_idx(d / "train-images-idx3-ubyte", x)
        write_idx(d / "train-labels-idx1-ubyte", y)
        ours, theirs = [], []
        for r in range(a.rounds):
            out = Path(tmp) / f"fit{r}"
            subprocess.run([a.bin, "learn", "fit", d, "--out", out, "--head", "softmax", "--epochs", "1",
                            "--batch", str(a.batch), "--threads", str(a.threads), "-q"], check=True)
            ours.append(json.loads((out / "learn.json").read_text())["rows_per_second"])
            theirs.append(torch_rate(x, y, a.batch, a.threads))
            print(f"round {r + 1}: eigentechno {ours[-1]:.0f} img/s, PyTorch {theirs[-1]:.0f} img/s", flush=True)
    import torch

    print(f"{a.images} images, batch {a.batch}, {a.threads} threads, PyTorch {torch.__version__}")
    print(f"eigentechno {np.median(ours):.0f} img/s (median), PyTorch {np.median(theirs):.0f} img/s: "
          f"{np.median(ours) / np.median(theirs):.2f}x")


if __name__ == "__main__":
    main()
