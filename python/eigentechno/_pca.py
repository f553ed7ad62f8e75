"""``eigentechno.PCA``: scikit-learn's ``PCA`` interface over eigentechno's PCA engine."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Optional, Union

import numpy as np

from . import _eigentechno as _native
from ._errors import InvalidInputError, NotFittedError


def _matrix(X: Any, name: str = "X") -> np.ndarray:
    from . import _float_array

    # NaN and infinity are found by the native layer (naming the row and column), in
    # the same pass that reads the data: no second scan here.
    return _float_array(X, name, (2,), finite=False)


class PCA:
    """Principal component analysis with scikit-learn's ``PCA`` interface.

    Parameters
    ----------
    n_components : int, float or None
        Components to keep. ``None``: all there are, ``min(n_samples - 1, n_features)``
        (the centred data has no more; scikit-learn also lists a last, zero-variance one
        when ``n_samples <= n_features``). A float in (0, 1): the fewest components
        whose explained variance reaches that fraction (fitted exactly, then cut).
    method : {'auto', 'exact', 'randomized'}
        ``'exact'``: eigendecomposition of the Gram or covariance matrix (scikit-learn's
        ``'full'``). ``'randomized'``: a block Krylov sketch, the top components only.
        ``'auto'`` picks by estimated cost.
    precision : {'auto', 'f32', 'f64'}
        Arithmetic precision: ``'auto'`` is float64 for float64 data and small problems.
    random_state : int, numpy Generator/RandomState or None
        Seed of the randomized sketch.
    power_iterations : int or None
        Randomized: power iterations, all run (scikit-learn's ``n_iter``). ``None``
        (default): until no top-k singular value moves by more than 1e-5 of itself, at
        most 12; ``pca.json`` records how many ran.

    Attributes have scikit-learn's meanings and dtypes (float32 for float32 input,
    float64 otherwise): ``components_``, ``explained_variance_``,
    ``explained_variance_ratio_``, ``singular_values_``, ``mean_``, ``noise_variance_``,
    ``n_components_``, ``n_samples_``, ``n_features_in_``; and ``method_`` (``'exact'``
    or ``'randomized'``: what ``'auto'`` chose) with ``method_reason_`` (why), as
    ``pca.json`` records them.

    Why the spectra's dtypes differ from the model folder's: :meth:`save` (and
    ``eigentechno pca``) store ``singular_values.npy``, ``explained_variance.npy`` and
    ``explained_variance_ratio.npy`` as float64 whatever the data, because they are
    computed in float64 and a folder is read by other tools (ratios of tail components
    and their cumulative sums lose digits in float32). The attributes here follow
    scikit-learn's rule instead (float32 in, float32 out), so code written for
    ``sklearn.decomposition.PCA`` sees the dtypes it expects. :meth:`load` gives float64
    attributes when the folder's components are float64.

    Examples
    --------
    >>> import numpy as np, eigentechno
    >>> X = np.random.default_rng(0).normal(size=(500, 40))
    >>> pca = eigentechno.PCA(8).fit(X)
    >>> Z = pca.transform(X)                    # (500, 8)
    >>> X_hat = pca.inverse_transform(Z)        # (500, 40)
    >>> ll = pca.score_samples(X)               # log-likelihood of every row
    >>> pca.save("pca_model")                   # the folder `eigentechno pca` writes  # doctest: +SKIP
    """

    def __init__(
        self,
        n_components: Optional[Union[int, float]] = None,
        *,
        method: str = "auto",
        precision: str = "auto",
        random_state: Any = 0,
        power_iterations: Optional[int] = None,
    ) -> None:
        self.n_components = n_components
        self.method = method
        self.precision = precision
        self.random_state = random_state
        self.power_iterations = power_iterations

    # scikit-learn's estimator protocol (clone, grid search, pipelines).
    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        """The constructor's parameters, as scikit-learn's ``get_params``."""
        return {
            "n_components": self.n_components,
            "method": self.method,
            "precision": self.precision,
            "random_state": self.random_state,
            "power_iterations": self.power_iterations,
        }

    def set_params(self, **params: Any) -> "PCA":
        """Set constructor parameters, as scikit-learn's ``set_params``."""
        valid = self.get_params()
        for key, value in params.items():
            if key not in valid:
                raise InvalidInputError(f"invalid parameter {key!r} for PCA; valid: {sorted(valid)}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.get_params().items() if v != PCA().get_params()[k]}
        return "PCA(" + ", ".join(f"{k}={v!r}" for k, v in changed.items()) + ")"

    def _seed(self) -> int:
        rs = self.random_state
        if rs is None:
            return int(np.random.randint(0, 2**31 - 1))
        if isinstance(rs, (int, np.integer)) and not isinstance(rs, bool):
            if not 0 <= rs < 2**64:
                raise InvalidInputError(f"random_state must be 0 to 2**64 - 1, got {rs}")
            return int(rs)
        if isinstance(rs, np.random.Generator):
            return int(rs.integers(0, 2**31 - 1))
        if isinstance(rs, np.random.RandomState):
            return int(rs.randint(0, 2**31 - 1))
        raise InvalidInputError(f"random_state must be an int, a numpy Generator or RandomState, or None; got {rs!r}")

    def fit(self, X: Any, y: Any = None) -> "PCA":
        """Fit the model to ``X`` (n_samples x n_features, float32 or float64).
        Returns ``self``."""
        X = _matrix(X)
        self._fit(X)
        return self

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit to ``X`` and return its scores (``fit(X).transform(X)``)."""
        X = _matrix(X)
        self._fit(X)
        return self.transform(X)

    def _fit(self, X: np.ndarray) -> None:
        n, d = X.shape
        nc = self.n_components
        fraction = None
        if nc is None:
            k = None
        elif isinstance(nc, (float, np.floating)) and not float(nc).is_integer():
            if not 0.0 < float(nc) < 1.0:
                raise InvalidInputError(f"n_components as a fraction must be in (0, 1), got {nc}")
            k, fraction = None, float(nc)
        elif isinstance(nc, (int, np.integer, float, np.floating)) and not isinstance(nc, bool):
            k = int(nc)
            limit = min(n - 1, d)
            if not 1 <= k <= limit:
                raise InvalidInputError(
                    f"n_components={k} must be between 1 and min(n_samples - 1, n_features) = {limit}"
                    f" for data of shape {X.shape}"
                )
        else:
            raise InvalidInputError(f"n_components must be an int, a float in (0, 1) or None; got {nc!r}")
        method = "exact" if fraction is not None and self.method == "auto" else str(self.method)
        from . import _count

        q = None if self.power_iterations is None else _count(self.power_iterations, "power_iterations")
        model = _native.PcaModel.fit(X, k, method, str(self.precision), self._seed(), q)
        if fraction is not None:
            _, ratio, _ = model.spectrum()
            keep = int(np.searchsorted(np.cumsum(ratio), fraction, side="right") + 1)
            model = model.truncated(min(keep, model.n_components))
        self._set_model(model, X.dtype)

    def _set_model(self, model: Any, dtype: np.dtype) -> None:
        self._model = model
        self._dtype = np.dtype(dtype)
        meta = json.loads(model.meta_json)
        # What 'auto' chose, and why, as the CLI prints and pca.json records.
        self.method_ = str(meta.get("method", self.method))
        self.method_reason_ = str(meta.get("method_reason", ""))
        ev, ratio, sv = model.spectrum()
        t = self._dtype.type
        self.components_ = model.components().astype(t)
        self.explained_variance_ = ev.astype(t)
        self.explained_variance_ratio_ = ratio.astype(t)
        self.singular_values_ = sv.astype(t)
        self.mean_ = model.mean().astype(t)
        self.noise_variance_ = t(model.noise_variance())
        self.n_components_ = int(model.n_components)
        self.n_samples_ = int(model.n_samples)
        self.n_features_in_ = int(model.n_features)

    def _fitted(self) -> Any:
        model = getattr(self, "_model", None)
        if model is None:
            raise NotFittedError(
                "This PCA instance is not fitted yet. Call 'fit' with appropriate arguments before using this estimator."
            )
        return model

    def _out_dtype(self, X: np.ndarray) -> type:
        both32 = X.dtype == np.float32 and self._dtype == np.float32
        return np.float32 if both32 else np.float64

    def transform(self, X: Any) -> np.ndarray:
        """Scores of ``X`` on the components: ``(X - mean_) @ components_.T``."""
        model = self._fitted()
        X = _matrix(X)
        return model.transform(X).astype(self._out_dtype(X), copy=False)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Data rebuilt from scores: ``X @ components_ + mean_``."""
        model = self._fitted()
        Z = _matrix(X)
        out = model.inverse_transform(np.require(Z, dtype=np.float64, requirements=["C", "A"]))
        return out.astype(self._out_dtype(Z), copy=False)

    def score_samples(self, X: Any) -> np.ndarray:
        """Log-likelihood of each row of ``X`` under the probabilistic PCA model
        (Tipping and Bishop), with scikit-learn's ``noise_variance_``."""
        model = self._fitted()
        X = _matrix(X)
        ll = model.score_samples(X, float(model.noise_variance()))
        return ll.astype(self._out_dtype(X), copy=False)

    def score(self, X: Any, y: Any = None) -> float:
        """Average log-likelihood of the rows of ``X``."""
        return float(np.mean(self.score_samples(X)))

    def get_covariance(self) -> np.ndarray:
        """The model's covariance, ``components_.T @ diag(explained_variance_ - noise) @
        components_ + noise * I`` (d x d)."""
        self._fitted()
        c, ev, nv = self.components_, self.explained_variance_, self.noise_variance_
        cov = (c.T * np.maximum(ev - nv, 0.0)) @ c
        cov.flat[:: cov.shape[0] + 1] += nv
        return cov

    def get_precision(self) -> np.ndarray:
        """The inverse of :meth:`get_covariance`."""
        return np.linalg.inv(self.get_covariance())

    def save(self, dir: Union[str, "os.PathLike[str]"]) -> None:
        """Write the model folder that ``eigentechno pca`` writes (``components.npy``,
        ``mean.npy``, ``explained_variance.csv``, ``pca.json``, ...), so ``eigentechno
        audition``, ``listen``, ``explore`` and ``ppca score`` read it."""
        self._fitted().save(os.fspath(dir))

    @classmethod
    def load(cls, dir: Union[str, "os.PathLike[str]"]) -> "PCA":
        """Open a model folder written by ``eigentechno pca``, the ``pca`` stage or
        :meth:`save`. Attributes are float64 when the folder's arrays are."""
        model = _native.PcaModel.load(os.fspath(dir))
        meta = json.loads(model.meta_json)
        pca = cls(n_components=int(model.n_components), method=meta.get("method", "auto"))
        pca._set_model(model, np.float64 if model.is_f64 else np.float32)
        return pca
