"""Time scipy.signal.correlate(a, b, mode='full', method='auto') on float64 arrays of the
shapes `eigentechno bench conv` uses, and write {case: median seconds} as JSON.

    python benches/conv_scipy.py > /tmp/scipy_conv.json
    eigentechno bench conv --compare /tmp/scipy_conv.json
"""
import json
import sys
import time

import numpy as np
import scipy.signal as ss


def median_time(f, repeat):
    f()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return sorted(ts)[len(ts) // 2]


def main():
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    rng = np.random.default_rng(1)
    big = rng.standard_normal(1 << 20)
    out = {}
    for name, m in [("1d_1M_x_1M", 1 << 20), ("1d_1M_x_1k", 1000), ("1d_1M_x_64", 64)]:
        k = rng.standard_normal(m)
        out[name] = median_time(lambda: ss.correlate(big, k, mode="full", method="auto"), repeat)
        print(name, ss.choose_conv_method(big, k, mode="full"), f"{out[name]*1e3:.2f} ms", file=sys.stderr)
    img = rng.standard_normal((1024, 1024))
    for name, n in [("2d_1024_x_3", 3), ("2d_1024_x_15", 15), ("2d_1024_x_64", 64)]:
        k = rng.standard_normal((n, n))
        out[name] = median_time(lambda: ss.correlate(img, k, mode="full", method="auto"), repeat)
        print(name, ss.choose_conv_method(img, k, mode="full"), f"{out[name]*1e3:.2f} ms", file=sys.stderr)
    json.dump(out, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
