"""Type stubs of the public API of eigentechno."""

import os
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union, overload

import numpy as np
import numpy.typing as npt

from ._errors import (
    Error as Error,
    FileError as FileError,
    InternalError as InternalError,
    InvalidInputError as InvalidInputError,
    NoRhythmError as NoRhythmError,
    NotFittedError as NotFittedError,
)
from ._learn import SKMClassifier as SKMClassifier
from ._learn import learn_cv as learn_cv
from ._learn import learn_fit as learn_fit
from ._pca import PCA as PCA

__version__: str
__all__: List[str]

PathLike = Union[str, os.PathLike[str]]
FloatArray = npt.NDArray[np.floating[Any]]

def load(path: PathLike, sr: Optional[int] = 8820, mono: bool = True) -> Tuple[npt.NDArray[np.float32], int]: ...
def beat_track(
    y: Optional[FloatArray] = None,
    sr: Optional[int] = None,
    *,
    path: Optional[PathLike] = None,
    bpm_min: float = 60,
    bpm_max: float = 200,
    beats_per_bar: int = 4,
) -> Dict[str, Any]: ...
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
) -> Tuple[npt.NDArray[np.float32], List[Dict[str, Any]]]: ...
def correlate(a: FloatArray, b: FloatArray, mode: str = "full", method: str = "auto") -> FloatArray: ...
def convolve(a: FloatArray, b: FloatArray, mode: str = "full", method: str = "auto") -> FloatArray: ...
def corrmatrix(
    X: FloatArray, *, order: str = "cluster", out: Optional[PathLike] = None
) -> Tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]: ...
def poly_distance(
    a: npt.ArrayLike, b: npt.ArrayLike, *, domain: Tuple[float, float] = (-1.0, 1.0), basis: str = "power"
) -> float: ...
def poly_embedding(
    coeffs: npt.ArrayLike, *, domain: Tuple[float, float] = (-1.0, 1.0), basis: str = "power"
) -> npt.NDArray[np.float64]: ...
def poly_fit(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    degree: int,
    *,
    domain: Optional[Tuple[float, float]] = None,
    basis: str = "power",
) -> npt.NDArray[np.float64]: ...
@overload
def de_bruijn(symbols_or_k: str, n: int, *, cyclic: bool = False, algorithm: str = "euler") -> str: ...
@overload
def de_bruijn(
    symbols_or_k: int, n: int, *, cyclic: bool = False, algorithm: str = "euler"
) -> npt.NDArray[np.uint8]: ...
def kernels(path: PathLike, out: PathLike) -> Dict[str, Any]: ...
def listen(model: PathLike, out: PathLike) -> List[str]: ...
def explore(dir: PathLike) -> str: ...
def run(
    pipeline_toml: PathLike,
    *,
    out: Optional[PathLike] = None,
    set: Optional[Union[Dict[str, Any], Sequence[str]]] = None,
    progress: bool = True,
    threads: int = 0,
) -> Dict[str, Any]: ...
