"""eigentechno: tempo, beats, one-bar loops and PCA of music, from Rust.

numpy in, numpy out. Every long call releases the GIL and stops on Ctrl-C
(``KeyboardInterrupt``), leaving complete files behind as the command line does.

>>> import eigentechno as et
>>> y, sr = et.load("track.flac")                       # doctest: +SKIP
>>> et.beat_track(y, sr)["bpm"]                         # doctest: +SKIP
128.0

Errors are ``eigentechno.Error``; file problems are also ``OSError`` (``FileError``),
bad arrays and options also ``ValueError`` (``InvalidInputError``).
"""

from __future__ import annotations

import json as _json
import os as _os
import warnings as _warnings
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as _np

from . import _eigentechno as _native
from ._errors import (
    Error,
    FileError,
    InternalError,
    InvalidInputError,
    NoRhythmError,
    NotFittedError,
)
from ._learn import SKMClassifier, learn_cv, learn_fit
from ._pca import PCA

__version__: str = _native.__version__

__all__ = [
    "__version__",
    "load",
    "beat_track",
    "ingest",
    "PCA",
    "SKMClassifier",
    "learn_cv",
    "learn_fit",
    "correlate",
    "convolve",
    "corrmatrix",
    "poly_distance",
    "poly_embedding",
    "poly_fit",
    "de_bruijn",
    "kernels",
    "listen",
    "explore",
    "run",
    "Error",
    "FileError",
    "InvalidInputError",
    "NoRhythmError",
    "InternalError",
    "NotFittedError",
]

PathLike = Union[str, "_os.PathLike[str]"]


def _float_array(a: Any, name: str, ndims: Sequence[int], finite: bool = True) -> _np.ndarray:
    """``a`` as a C-contiguous float32 or float64 array with one of ``ndims`` dimensions."""
    arr = _np.asarray(a)
    if arr.dtype.kind != "f" or arr.dtype.itemsize not in (4, 8):
        raise InvalidInputError(
            f"{name} must be a float32 or float64 array, got dtype {arr.dtype}"
            f" (convert it with {name}.astype(_np.float64))"
        )
    if arr.ndim not in ndims:
        want = " or ".join(f"{n}-D" for n in ndims)
        raise InvalidInputError(f"{name} must be {want}, got a {arr.ndim}-D array of shape {arr.shape}")
    if arr.size == 0:
        raise InvalidInputError(f"{name} is empty (shape {arr.shape})")
    if finite and not _np.isfinite(arr).all():
        raise InvalidInputError(f"{name} holds NaN or infinity")
    # C order and aligned: what the native layer reads in place.
    return _np.require(arr, requirements=["C", "A"])


def _count(value: Any, name: str, low: int = 0) -> int:
    """``value`` as an int >= ``low`` (an ``InvalidInputError`` otherwise, never an
    ``OverflowError`` from the native layer)."""
    if isinstance(value, bool) or not isinstance(value, (int, _np.integer)):
        if isinstance(value, (float, _np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise InvalidInputError(f"{name} must be a whole number, got {value!r}")
    value = int(value)
    if not low <= value < 2**63:
        raise InvalidInputError(f"invalid {name}: expected at least {low}, got {value}")
    return value


def _number(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be a number, got {value!r}") from None
    if not _np.isfinite(v):
        raise InvalidInputError(f"{name} must be finite, got {value!r}")
    return v


def load(path: PathLike, sr: Optional[int] = 8820, mono: bool = True) -> Tuple[_np.ndarray, int]:
    """Decode an audio file (WAV, FLAC, MP3, Ogg Vorbis, AAC/M4A, AIFF) and resample it.

    Returns ``(y, sr)`` as ``librosa.load`` does: ``y`` is float32, shape ``(n,)`` when
    ``mono`` (the mean of the channels) or the file has one channel, else ``(2, n)``
    (left and right; a file with more channels gives its first two). ``sr=None`` keeps
    the file's own rate. Resampling is anti-aliased (the ingest's own).

    Raises ``FileError`` (an ``OSError``) for a missing, unreadable or non-audio file.

    >>> y, sr = eigentechno.load("fixtures/corpus/wav-0000.wav")       # doctest: +SKIP
    >>> y.dtype, sr
    (dtype('float32'), 8820)
    """
    return _native.load(_os.fspath(path), None if sr is None else _count(sr, "sr", 1), bool(mono))


def beat_track(
    y: Optional[_np.ndarray] = None,
    sr: Optional[int] = None,
    *,
    path: Optional[PathLike] = None,
    bpm_min: float = 60,
    bpm_max: float = 200,
    beats_per_bar: int = 4,
) -> Dict[str, Any]:
    """Tempo, beats and downbeats of samples ``y`` at ``sr`` Hz, or of the file ``path``.

    Returns a dict: ``bpm``, ``confidence`` (0 to 1), ``runner_up_bpm``, ``beats`` and
    ``downbeats`` (float64 arrays of seconds), ``downbeat_confidence`` (0 to 1: how
    sure the bar phase is), ``drift`` (how far the local tempo strays from constant,
    bpm) and ``segments`` (dicts ``start``, ``end``, ``bpm``, ``drift``, ``status``,
    ``downbeat_confidence``: stretches of steady tempo, drift or no pulse; ``bpm`` is the
    longest steady one's). With ``path`` the numbers are those of
    ``eigentechno tempo --json`` on that file. ``y`` may be ``(channels, n)``: its channels
    are averaged.

    Raises ``NoRhythmError`` (a ``ValueError``) when there is no steady beat.

    >>> r = eigentechno.beat_track(path="fixtures/corpus/wav-0000.wav")  # doctest: +SKIP
    >>> round(r["bpm"], 1), r["beats"][:2]
    (126.0, array([0.23, 0.706]))
    """
    if (y is None) == (path is None):
        raise InvalidInputError("give either y (with sr) or path, not both")
    tempo = (_number(bpm_min, "bpm_min"), _number(bpm_max, "bpm_max"), _count(beats_per_bar, "beats_per_bar", 1))
    if path is not None:
        return _native.beat_track_file(_os.fspath(path), *tempo)
    if sr is None:
        raise InvalidInputError("sr is needed with y (the samples' rate in Hz)")
    arr = _float_array(y, "y", (1, 2))
    if arr.ndim == 2:
        arr = arr.mean(axis=0)
    arr = _np.ascontiguousarray(arr, dtype=_np.float32)
    return _native.beat_track_samples(arr, _count(sr, "sr", 1), *tempo)


def ingest(
    paths_or_folder: Union[PathLike, Iterable[PathLike]],
    *,
    bpm: float = 128,
    rate: int = 8820,
    stretch: str = "pitch",
    max_bars_per_track: int = 0,
    threads: int = 0,
    progress: bool = True,
    max_track_seconds: float = 0,
) -> Tuple[_np.ndarray, List[Dict[str, Any]]]:
    """Decode, beat-track, cut into bars and time-normalise every track: the matrix of
    ``eigentechno ingest``, in memory.

    ``paths_or_folder`` is a folder (every audio file under it, by content, sorted by
    path), one file, or a list of files (in that order). Returns ``(bars, meta)``:
    ``bars`` is float32 ``(N, d)`` with ``d = round(rate * 60 / bpm * 4)`` (16,538 at
    the defaults), byte for byte the CLI's ``bars.npy``; ``meta`` holds one dict per bar
    with ``bars.csv``'s columns (``row``, ``track``, ``bar``, ``start_s``, ``bpm``,
    ``tempo_confidence``, ``downbeat_confidence``, ``stretch_ratio``, ``segment``). ``stretch`` is
    ``'pitch'`` (WSOLA, pitch kept) or ``'varispeed'``. A track that fails is reported
    with a ``UserWarning`` and the rest go on; so is one that runs past
    ``max_track_seconds`` (0: 60 s plus 1 s per 16 kB of file), as ``timed out``.

    >>> bars, meta = eigentechno.ingest("fixtures/corpus", max_bars_per_track=2)  # doctest: +SKIP
    >>> bars.shape, meta[0]["track"]
    ((20, 16538), 'fixtures/corpus/flac-0000.flac')
    """
    if isinstance(paths_or_folder, (str, bytes, _os.PathLike)):
        paths, folder = [_os.fspath(paths_or_folder)], True
    else:
        paths, folder = [_os.fspath(p) for p in paths_or_folder], False
        if not paths:
            raise InvalidInputError("no files given")
    bars, meta, failures = _native.ingest(
        paths,
        folder,
        _number(bpm, "bpm"),
        _count(rate, "rate", 1),
        str(stretch),
        _count(max_bars_per_track, "max_bars_per_track"),
        _count(threads, "threads"),
        bool(progress),
        _number(max_track_seconds, "max_track_seconds"),
    )
    for track, why in failures:
        _warnings.warn(f"{track}: {why}", UserWarning, stacklevel=2)
    return bars, meta


def _conv(op: str, a: Any, b: Any, mode: str, method: str) -> _np.ndarray:
    a = _float_array(a, "a", (1, 2), finite=False)
    b = _float_array(b, "b", (1, 2), finite=False)
    if a.ndim != b.ndim:
        raise InvalidInputError(f"a and b must have the same number of dimensions, got {a.ndim} and {b.ndim}")
    if a.dtype != b.dtype:
        a, b = a.astype(_np.float64), b.astype(_np.float64)
    return _native.apply(a, b, op, str(mode), str(method))


def correlate(a: _np.ndarray, b: _np.ndarray, mode: str = "full", method: str = "auto") -> _np.ndarray:
    """Cross-correlation of two 1-D or two 2-D arrays, as ``scipy.signal.correlate``.

    ``mode`` is ``'full'``, ``'same'`` or ``'valid'``; ``method`` ``'auto'`` (by cost),
    ``'direct'`` or ``'fft'``. float32 in both gives float32, else float64.

    >>> eigentechno.correlate(_np.array([1.0, 2.0, 3.0]), _np.array([0.0, 1.0, 0.5]))
    array([0.5, 2. , 3.5, 3. , 0. ])
    """
    return _conv("correlate", a, b, mode, method)


def convolve(a: _np.ndarray, b: _np.ndarray, mode: str = "full", method: str = "auto") -> _np.ndarray:
    """Convolution of two 1-D or two 2-D arrays, as ``scipy.signal.convolve``.

    Modes and methods as in :func:`correlate`.

    >>> eigentechno.convolve(_np.array([1.0, 2.0, 3.0]), _np.array([0.0, 1.0, 0.5]))
    array([0. , 1. , 2.5, 4. , 1.5])
    """
    return _conv("convolve", a, b, mode, method)


def corrmatrix(
    X: _np.ndarray, *, order: str = "cluster", out: Optional[PathLike] = None
) -> Tuple[_np.ndarray, _np.ndarray]:
    """Pearson correlation of the columns of ``X`` (samples x features) and an order of
    the features for a heatmap: ``(C, order)``.

    ``C`` is float64 ``(d, d)`` in the columns' own order (``numpy.corrcoef(X.T)``);
    ``order`` (int64) lists the features from the heatmap's first row to its last:
    ``'cluster'`` (hierarchical clustering), ``'eigen'`` (by loading on the leading
    eigenvector) or ``'none'``. With ``out``, the heatmap PNG of
    ``eigentechno corrmatrix`` is drawn there, with its JSON beside it.

    >>> X = _np.random.default_rng(0).normal(size=(200, 6))
    >>> C, order = eigentechno.corrmatrix(X, out="corr.png")              # doctest: +SKIP
    """
    arr = _float_array(X, "X", (2,))
    c, order_ = _native.corrmatrix(arr, str(order), None if out is None else _os.fspath(out))
    return c, _np.asarray(order_, dtype=_np.int64)


def _real_array(a: Any, name: str, ndims: Sequence[int]) -> _np.ndarray:
    """``a`` (ints or floats) as a C-contiguous float64 array with one of ``ndims``
    dimensions; NaN is left for the native layer to find and locate."""
    arr = _np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise InvalidInputError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim not in ndims:
        want = " or ".join(f"{n}-D" for n in ndims)
        raise InvalidInputError(f"{name} must be {want}, got a {arr.ndim}-D array of shape {arr.shape}")
    if arr.size == 0:
        raise InvalidInputError(f"{name} is empty (shape {arr.shape})")
    return _np.ascontiguousarray(arr, dtype=_np.float64)


def _domain(domain: Any) -> Tuple[float, float]:
    """``(A, B)`` as two floats (the native layer checks that A < B)."""
    try:
        lo, hi = domain
        return float(lo), float(hi)
    except (TypeError, ValueError):
        raise InvalidInputError(f"domain must be two numbers (A, B), got {domain!r}") from None


def poly_distance(a: Any, b: Any, *, domain: Tuple[float, float] = (-1.0, 1.0), basis: str = "power") -> float:
    """How different two polynomial curves look: the RMS of ``a(x) - b(x)`` over
    ``x`` in ``domain`` (the limit of the RMS difference sampled at N evenly spaced
    points as N grows), computed exactly from the coefficients.

    ``a`` and ``b`` are 1-D coefficient arrays in ascending order, as
    ``numpy.polynomial`` (``a[k]`` multiplies ``x**k``); lengths may differ (the shorter
    is padded with zeros). ``basis='legendre'``: coefficients of Legendre polynomials in
    ``t`` on [-1, 1], the domain mapped there (``numpy.polynomial.Legendre(c,
    domain=domain).coef``); the domain then changes nothing, since mapping it keeps the
    RMS. For rows of curves, use :func:`poly_embedding` and Euclidean distances.

    >>> round(eigentechno.poly_distance([0, 1], [0, 0, 0, 1]), 12)   # x vs x**3: sqrt(8/105)
    0.276026223737
    >>> round(eigentechno.poly_distance([1], [0, 1], domain=(0, 1)) ** 2, 12)
    0.333333333333
    """
    lo, hi = _domain(domain)
    return _native.poly_distance(_real_array(a, "a", (1,)), _real_array(b, "b", (1,)), lo, hi, str(basis))


def poly_embedding(
    coeffs: Any, *, domain: Tuple[float, float] = (-1.0, 1.0), basis: str = "power"
) -> _np.ndarray:
    """Curves as points whose Euclidean distance is :func:`poly_distance`: the
    Legendre coefficients on [-1, 1] (the domain mapped there), ``c_k`` scaled by
    ``1/sqrt(2k + 1)``. Rows in, rows out (float64, as long as the input rows; a 1-D
    array is one curve), so scikit-learn's neighbours, clustering and PCA apply to
    curves directly. ``coeffs`` and ``basis`` are as in :func:`poly_distance`.

    >>> E = eigentechno.poly_embedding([[0, 1, 0, 0], [0, 0, 0, 1]])   # x and x**3
    >>> round(float(np.linalg.norm(E[0] - E[1])), 6)
    0.276026
    """
    arr = _real_array(coeffs, "coeffs", (1, 2))
    lo, hi = _domain(domain)
    rows = arr.reshape(1, -1) if arr.ndim == 1 else arr
    out = _native.poly_embedding(rows, lo, hi, str(basis))
    return out[0] if arr.ndim == 1 else out


def poly_fit(
    x: Any, y: Any, degree: int, *, domain: Optional[Tuple[float, float]] = None, basis: str = "power"
) -> _np.ndarray:
    """Least-squares polynomial of ``degree`` through the points ``(x, y)``: one fit per
    row when ``y`` is 2-D (rows of samples at the same ``x``). Solved by QR in the
    Legendre basis on ``domain`` mapped to [-1, 1] (``None``: from ``min(x)`` to
    ``max(x)``), well conditioned where the power basis' normal equations are not.

    Returns ascending coefficients (``(degree + 1,)``, or a row per row of ``y``) in
    ``basis`` on ``domain``, the convention :func:`poly_distance` and
    :func:`poly_embedding` read with the same ``domain`` and ``basis``:
    ``'power'`` gives coefficients of ``x`` itself, as
    ``numpy.polynomial.polynomial.polyfit(x, y, degree)`` (the domain changes only the
    route); ``'legendre'`` gives ``numpy.polynomial.Legendre.fit(x, y, degree,
    domain).coef``, the safer form on domains far from 0.

    >>> x = np.linspace(0, 10, 50)
    >>> np.round(eigentechno.poly_fit(x, 1 + 2 * x - 0.5 * x**2, 2), 9)
    array([ 1. ,  2. , -0.5])
    """
    xs = _real_array(x, "x", (1,))
    ys = _real_array(y, "y", (1, 2))
    rows = ys.reshape(1, -1) if ys.ndim == 1 else ys
    d = _count(degree, "degree")
    dom = None if domain is None else _domain(domain)
    out = _native.poly_fit(xs, rows, d, dom, str(basis))
    return out[0] if ys.ndim == 1 else out


def de_bruijn(
    symbols_or_k: Union[str, int], n: int, *, cyclic: bool = False, algorithm: str = "euler"
) -> Union[str, _np.ndarray]:
    """A de Bruijn sequence: every code of ``n`` symbols exactly once, as
    ``eigentechno debruijn`` writes it.

    The linear sequence (the default) has ``k**n + n - 1`` symbols: the fewest presses
    that surely open a keypad that never resets (10,003 for four digits), and it also
    holds every shorter code. ``cyclic=True`` gives the ``k**n`` symbols of the cycle.
    ``algorithm`` is ``'euler'`` (Hierholzer's circuit of the de Bruijn graph) or
    ``'lyndon'`` (FKM: the lexicographically least sequence).

    Given a string, each character is one symbol and a string comes back; given an
    int ``k``, a uint8 array of symbol indices ``0..k`` comes back. At most 256
    distinct symbols and ``10**9`` symbols in memory (the command line streams longer
    ones to a file). Bad input raises ``InvalidInputError`` (a ``ValueError``).

    >>> eigentechno.de_bruijn("01", 3, cyclic=True, algorithm="lyndon")
    '00010111'
    >>> len(eigentechno.de_bruijn(10, 4))
    10003
    """
    if isinstance(symbols_or_k, str):
        symbols, k = symbols_or_k, 0
    elif isinstance(symbols_or_k, (int, _np.integer)) and not isinstance(symbols_or_k, bool):
        symbols, k = None, _count(symbols_or_k, "k", 1)
    else:
        raise InvalidInputError(
            f"symbols_or_k must be a string of symbols or an int k, got {symbols_or_k!r}"
        )
    if not isinstance(algorithm, str):
        raise InvalidInputError(f"algorithm must be 'euler' or 'lyndon', got {algorithm!r}")
    return _native.de_bruijn(symbols, k, _count(n, "n"), bool(cyclic), algorithm)


def kernels(path: PathLike, out: PathLike) -> Dict[str, Any]:
    """Pictures of the convolution kernels of trained weights (``.safetensors``,
    ``.onnx``, ``.npz``, ``.npy``) in the folder ``out``, as ``eigentechno kernels``.
    Returns the report (the ``kernels.json`` written beside them) as a dict.

    >>> report = eigentechno.kernels("model.safetensors", "kernels/")   # doctest: +SKIP
    >>> [layer["name"] for layer in report["layers"]][:1]
    ['conv1.weight']
    """
    return _json.loads(_native.kernels(_os.fspath(path), _os.fspath(out)))


def listen(model: PathLike, out: PathLike) -> List[str]:
    """The listening WAVs of a PCA model folder (components, the mean, reconstructions)
    in ``out``, as ``eigentechno pca`` writes them. Returns the files written.

    >>> eigentechno.listen("out/pca", "out/listen")                    # doctest: +SKIP
    ['out/listen/mean.wav', 'out/listen/component_001.wav', ...]
    """
    return [_os.fspath(p) for p in _native.listen(_os.fspath(model), _os.fspath(out))]


def explore(dir: PathLike) -> str:
    """Write the HTML explorer of a run folder (``index.html``) and return its path.

    >>> eigentechno.explore("out")                                     # doctest: +SKIP
    'out/index.html'
    """
    return _os.fspath(_native.explore(_os.fspath(dir)))


def run(
    pipeline_toml: PathLike,
    *,
    out: Optional[PathLike] = None,
    set: Optional[Union[Dict[str, Any], Sequence[str]]] = None,
    progress: bool = True,
    threads: int = 0,
) -> Dict[str, Any]:
    """Run a pipeline file, as ``eigentechno run``; returns ``summary.json`` as a dict.
    ``threads``: worker threads (0: the file's setting, else one per core).

    ``set`` overrides stage parameters: a dict ``{"pca.k": 8}`` or strings
    ``["pca.k=8"]`` (TOML values, as ``--set``). A bad file or override raises
    ``InvalidInputError`` naming the line and key, before any work starts. A re-run
    into the same ``out`` resumes.

    >>> summary = eigentechno.run("pipelines/eigentechno.toml", out="out", set={"pca.k": 8})  # doctest: +SKIP
    >>> summary["stages"][0]["name"]
    'tracks'
    """
    overrides: List[str] = []
    if isinstance(set, dict):
        for key, value in set.items():
            overrides.append(f"{key}={_toml_value(value)}")
    elif set is not None:
        if isinstance(set, str):
            set = [set]
        overrides = [str(s) for s in set]
    text, _ = _native.run(
        _os.fspath(pipeline_toml),
        None if out is None else _os.fspath(out),
        overrides,
        bool(progress),
        _count(threads, "threads"),
    )
    return _json.loads(text)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return _json.dumps(str(v))


def __dir__() -> List[str]:
    # dir(eigentechno) shows the API, not the modules and typing names it uses.
    return sorted(__all__)
