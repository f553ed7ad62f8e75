"""correlate/convolve against scipy.signal on random shapes, every mode and method."""

import numpy as np
import pytest
from scipy import signal

import eigentechno as et

SHAPES_1D = [(1, 1), (7, 3), (3, 7), (64, 64), (257, 31), (1000, 129)]
SHAPES_2D = [((1, 1), (1, 1)), ((9, 7), (3, 2)), ((4, 5), (6, 7)), ((40, 33), (5, 9)), ((16, 16), (16, 16))]


def cases():
    for dtype, tol in [(np.float64, 1e-9), (np.float32, 1e-5)]:
        for mode in ["full", "same", "valid"]:
            for method in ["auto", "direct", "fft"]:
                for op in ["correlate", "convolve"]:
                    yield dtype, tol, mode, method, op


@pytest.mark.parametrize("dtype,tol,mode,method,op", list(cases()))
def test_matches_scipy(dtype, tol, mode, method, op):
    rng = np.random.default_rng(abs(hash((mode, method, op, str(dtype)))) % 2**32)
    ours, ref = getattr(et, op), getattr(signal, op)
    shapes = [(( a,), (b,)) for a, b in SHAPES_1D] + SHAPES_2D
    for sa, sb in shapes:
        a = rng.normal(size=sa).astype(dtype)
        b = rng.normal(size=sb).astype(dtype)
        if mode == "valid" and not (all(x >= y for x, y in zip(sa, sb)) or all(y >= x for x, y in zip(sa, sb))):
            with pytest.raises(ValueError):
                ours(a, b, mode=mode, method=method)
            continue
        want = ref(a, b, mode=mode, method="direct" if method == "direct" else "fft" if method == "fft" else "auto")
        got = ours(a, b, mode=mode, method=method)
        assert got.shape == want.shape, (sa, sb)
        assert got.dtype == want.dtype == dtype
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(got, want, rtol=0, atol=tol * scale, err_msg=f"{sa} {sb}")


def test_mixed_precision_promotes_to_float64():
    a = np.arange(5, dtype=np.float32)
    b = np.ones(2, dtype=np.float64)
    assert et.correlate(a, b).dtype == np.float64


def test_large_1d_by_fft():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=200_000), rng.normal(size=1000)
    np.testing.assert_allclose(et.correlate(a, b, mode="valid"), signal.correlate(a, b, mode="valid"), atol=1e-9 * 1e3)
