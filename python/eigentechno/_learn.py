"""``eigentechno.SKMClassifier`` (a scikit-learn estimator over the ``learn`` module) and
``eigentechno.learn_fit`` (the CLI's ``learn fit``)."""

from __future__ import annotations

import json
import math
import os
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from . import _eigentechno as _native
from ._errors import InvalidInputError

try:  # scikit-learn is needed by the estimator only (pip install "eigentechno[learn]").
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, validate_data

    _SKLEARN_ERROR: Optional[ImportError] = None
except ImportError as e:  # pragma: no cover - the test venv has scikit-learn
    _SKLEARN_ERROR = e

    class BaseEstimator:  # type: ignore[no-redef]
        pass

    class ClassifierMixin:  # type: ignore[no-redef]
        pass


PathLike = Union[str, "os.PathLike[str]"]

# Gradient steps of a fit when `epochs` is None: enough for the small tables of post 10
# (a few hundred to a few thousand rows) to converge, few enough for a second or two.
_AUTO_STEPS = 3000
_AUTO_MAX_EPOCHS = 1000


def _seed(rs: Any) -> int:
    if rs is None:
        return int(np.random.randint(0, 2**31 - 1))
    if isinstance(rs, (int, np.integer)) and not isinstance(rs, bool):
        if not 0 <= rs < 2**63:
            raise InvalidInputError(f"random_state must be 0 to 2**63 - 1, got {rs}")
        return int(rs)
    if isinstance(rs, np.random.Generator):
        return int(rs.integers(0, 2**31 - 1))
    if isinstance(rs, np.random.RandomState):
        return int(rs.randint(0, 2**31 - 1))
    raise InvalidInputError(f"random_state must be an int, a numpy Generator or RandomState, or None; got {rs!r}")


def _whole(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise InvalidInputError(f"{name} must be a whole number of at least {low}, got {value!r}")
    return int(value)


class SKMClassifier(ClassifierMixin, BaseEstimator):
    """A smooth kernel machine: an MLP feature extractor with a layer of Gaussian kernels
    on learned support points as its output, trained end to end (README, "Smooth kernel
    machines").

    Class scores are ``f_c(z) = sum_j a_cj exp(-|z - s_j|^2 / (2 w_j^2)) + b_c`` on the
    embedding ``z`` of a row; ``sigmoid(f_c)`` is the one-vs-rest probability of class
    ``c``. Far from every support point all kernels vanish and every ``f_c`` falls to its
    bias: :meth:`confidence` (the largest one-vs-rest probability) is then small, and the
    model says it does not know.

    Parameters
    ----------
    n_support : int or None
        Support points (at least one a class). ``None``: 10 a class.
    embed : int
        Width of the embedding the kernels live in.
    hidden : int
        Width of the MLP's hidden layer.
    epochs : int or None
        Passes over the data. ``None``: enough for about 3,000 gradient steps (at most
        1,000 passes), which suits a few hundred to a few thousand rows.
    batch_size : int
        Rows a gradient step.
    learning_rate : float
        AdamW's starting step (it decays on a cosine to 1/100).
    weight_decay : float
        AdamW's decoupled weight decay.
    head : {'skm', 'softmax', 'svm'}
        The output layer: the SKM, or the softmax and L2-SVM baselines on the same MLP.
    random_state : int, numpy Generator/RandomState or None
        Seeds the initial weights and the order of rows.
    n_jobs : int or None
        Threads (``None``: every core).

    Attributes
    ----------
    classes_ : ndarray
        The class labels, sorted.
    n_features_in_ : int
        Features seen in ``fit``.
    support_points_ : ndarray (n_support, embed), float32
        Where the kernels sit in the embedding (``None`` for other heads).
    n_epochs_ : int
        Passes ``fit`` made.
    history_ : list of dict
        Per epoch: loss, training accuracy, seconds (learn.json's ``epochs``).

    Notes
    -----
    Inputs are standardised per feature inside the model (mean and scale from the
    training rows), so no scaler is needed in front of it.

    ``predict_proba`` is ``softmax(f)``, and :meth:`confidence` the largest
    ``sigmoid(f_c)``: the loss trains both readings of the scores (one-vs-rest binary
    cross-entropy plus softmax cross-entropy). ``decision_function`` gives the scores
    ``f_c`` (n_samples x n_classes); with two classes one column, ``f_1 - f_0``, whose
    sign is the prediction and whose order is that of ``predict_proba[:, 1]``.

    It passes scikit-learn's ``check_estimator`` in full
    (``python/tests/test_learn.py``).

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from sklearn.model_selection import cross_val_score
    >>> import eigentechno as et
    >>> X, y = load_wine(return_X_y=True)
    >>> cross_val_score(et.SKMClassifier(), X, y, cv=5).mean()   # doctest: +SKIP
    0.97
    >>> m = et.SKMClassifier().fit(X, y)
    >>> m.confidence(X[:3] * 100)      # far from every training row  # doctest: +SKIP
    array([0.045, 0.045, 0.045], dtype=float32)
    """

    def __init__(
        self,
        n_support: Optional[int] = None,
        *,
        embed: int = 32,
        hidden: int = 128,
        epochs: Optional[int] = None,
        batch_size: int = 32,
        learning_rate: float = 3e-3,
        weight_decay: float = 1e-4,
        head: str = "skm",
        random_state: Any = 0,
        n_jobs: Optional[int] = None,
    ) -> None:
        self.n_support = n_support
        self.embed = embed
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.head = head
        self.random_state = random_state
        self.n_jobs = n_jobs

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags

    def _n_epochs(self, n: int) -> int:
        if self.epochs is not None:
            return _whole(self.epochs, "epochs", 1)
        batches = math.ceil(n / _whole(self.batch_size, "batch_size", 1))
        return max(1, min(_AUTO_MAX_EPOCHS, math.ceil(_AUTO_STEPS / batches)))

    def fit(self, X: Any, y: Any) -> "SKMClassifier":
        """Train on ``X`` (n_samples x n_features) and labels ``y``. Returns ``self``."""
        if _SKLEARN_ERROR is not None:  # pragma: no cover
            raise ImportError('SKMClassifier needs scikit-learn: pip install "eigentechno[learn]"') from _SKLEARN_ERROR
        X, y = validate_data(self, X, y, dtype=np.float32, order="C", y_numeric=False)
        check_classification_targets(y)
        self.classes_, index = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"SKMClassifier needs at least 2 classes in y; got 1 class ({self.classes_[0]!r})")
        n = X.shape[0]
        support = 0 if self.n_support is None else _whole(self.n_support, "n_support", len(self.classes_))
        jobs = self.n_jobs
        threads = 0 if jobs is None or jobs == -1 else _whole(jobs, "n_jobs", 1)
        self.n_epochs_ = self._n_epochs(n)
        self._model = _native.LearnedModel.fit(
            np.ascontiguousarray(X),
            np.ascontiguousarray(index, dtype=np.int64),
            str(self.head),
            "mlp",
            self.n_epochs_,
            _whole(self.batch_size, "batch_size", 1),
            support,
            _whole(self.embed, "embed", 1),
            _whole(self.hidden, "hidden", 1),
            _seed(self.random_state),
            float(self.learning_rate),
            float(self.weight_decay),
            threads,
        )
        record = json.loads(self._model.record)
        self.history_ = record["epochs"]
        points = self._model.support_points()
        self.support_points_ = points
        return self

    def _outputs(self, X: Any) -> Any:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float32, order="C", reset=False)
        return self._model.predict(np.ascontiguousarray(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, (n_samples, n_classes): ``softmax(f)``."""
        return self._outputs(X)[0]

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row."""
        p = self.predict_proba(X)
        return self.classes_[np.argmax(p, axis=1)]

    def confidence(self, X: Any) -> np.ndarray:
        """How sure the model is of each row's class, in (0, 1): the largest one-vs-rest
        probability. It falls towards ``sigmoid(b)`` (about 0.05) far from every support
        point: low confidence flags rows unlike anything seen in training."""
        return self._outputs(X)[1]

    def decision_function(self, X: Any) -> np.ndarray:
        """The class scores ``f_c`` (n_samples, n_classes); with two classes one column
        (see Notes)."""
        scores = self._outputs(X)[2]
        if len(self.classes_) == 2:
            return scores[:, 1] - scores[:, 0]
        return scores

    def embedding(self, X: Any) -> np.ndarray:
        """The embedding the output layer sees, (n_samples, embed)."""
        return self._outputs(X)[3]

    def __getstate__(self) -> Dict[str, Any]:
        state = self.__dict__.copy()
        model = state.pop("_model", None)
        if model is not None:
            state["_model_state"] = model.state()
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        saved = state.pop("_model_state", None)
        self.__dict__.update(state)
        if saved is not None:
            self._model = _native.LearnedModel.from_state(saved[0], bytes(saved[1]))


def _model_options(
    head: str,
    net: str,
    epochs: int,
    batch: int,
    support: int,
    embed: int,
    hidden: int,
    seed: int,
    learning_rate: float,
    weight_decay: float,
    augment: str,
    dropout: float,
    threads: int,
) -> Tuple[Any, ...]:
    return (
        head,
        net,
        _whole(epochs, "epochs", 1),
        _whole(batch, "batch", 1),
        _whole(support, "support", 0),
        _whole(embed, "embed", 1),
        _whole(hidden, "hidden", 1),
        _whole(seed, "seed", 0),
        float(learning_rate),
        float(weight_decay),
        str(augment),
        float(dropout),
        _whole(threads, "threads", 0),
    )


def learn_fit(
    data: PathLike,
    out: PathLike,
    *,
    labels: Optional[PathLike] = None,
    head: str = "skm",
    net: str = "cnn",
    epochs: int = 10,
    batch: int = 128,
    support: int = 0,
    embed: int = 128,
    hidden: int = 128,
    seed: int = 0,
    learning_rate: float = 1e-3,
    weight_decay: float = 1e-4,
    augment: str = "none",
    dropout: float = 0.25,
    threads: int = 0,
    diffusion: Optional[int] = None,
    coupling: float = 0.5,
    exchange: int = 10,
    topology: str = "ring",
) -> Dict[str, Any]:
    """``eigentechno learn fit DATA --out OUT``: train on an IDX folder (its train split;
    test accuracy per epoch on its t10k split) or a float ``.npy`` matrix with
    ``labels`` (``.npy`` of integers, or text, one a line). ``augment``: ``'none'``,
    ``'shift'``, ``'flip'`` or ``'shift-flip'`` (random changes to training images);
    ``dropout``: the CNN's share of flattened conv features dropped per step. Writes model.safetensors,
    learn.json, training.png and embedding.png into ``out`` and returns learn.json as a
    dict. Releases the GIL; Ctrl-C stops it.

    With ``diffusion=K`` (the CLI's ``--diffusion K``): K replicas, each trained on its
    own 1/K shard, mixing parameters with weight ``coupling`` every ``exchange`` steps
    with their ``topology`` neighbours (``'ring'``, ``'oneway'`` or ``'complete'``).
    Writes ``replica_NN/``, diffusion.json and diffusion.png into ``out`` and returns
    diffusion.json as a dict (``estimate``, ``estimate_error``, ``disagreement``, ...).

    >>> import eigentechno as et
    >>> rec = et.learn_fit("data/fashion-mnist", "fashion-skm", head="skm")  # doctest: +SKIP
    >>> rec["epochs"][-1]["test_accuracy"]                                   # doctest: +SKIP
    0.92
    >>> d = et.learn_fit("data/fashion-mnist", "fashion-d4", diffusion=4)    # doctest: +SKIP
    >>> d["estimate"], d["disagreement"]                                     # doctest: +SKIP
    (0.9, 0.05)
    """
    opts = _model_options(
        head, net, epochs, batch, support, embed, hidden, seed, learning_rate,
        weight_decay, augment, dropout, threads,
    )
    where = (os.fspath(data), os.fspath(out), None if labels is None else os.fspath(labels))
    text = _native.learn_fit(
        *where,
        *opts,
        None if diffusion is None else _whole(diffusion, "diffusion", 0),
        float(coupling),
        _whole(exchange, "exchange", 0),
        str(topology),
    )
    result: Dict[str, Any] = json.loads(text)
    return result


def learn_cv(
    data: PathLike,
    out: PathLike,
    *,
    folds: int = 4,
    labels: Optional[PathLike] = None,
    head: str = "skm",
    net: str = "cnn",
    epochs: int = 10,
    batch: int = 128,
    support: int = 0,
    embed: int = 128,
    hidden: int = 128,
    seed: int = 0,
    learning_rate: float = 1e-3,
    weight_decay: float = 1e-4,
    augment: str = "none",
    dropout: float = 0.25,
    threads: int = 0,
) -> Dict[str, Any]:
    """``eigentechno learn cv DATA --folds K --out OUT``: plain k-fold cross-validation
    of the model ``learn_fit`` would train (the same options): K trainings, each
    validated on the shard it left out. Writes ``fold_NN/`` and cv.json into ``out`` and
    returns cv.json as a dict (``estimate``: the mean validation accuracy,
    ``estimate_error``, ``folds``, ``seconds``). Releases the GIL.

    >>> import eigentechno as et
    >>> cv = et.learn_cv("data/fashion-mnist", "fashion-cv", folds=4)  # doctest: +SKIP
    >>> cv["estimate"], cv["estimate_error"]                           # doctest: +SKIP
    (0.905, 0.002)
    """
    opts = _model_options(
        head, net, epochs, batch, support, embed, hidden, seed, learning_rate,
        weight_decay, augment, dropout, threads,
    )
    text = _native.learn_cv(
        os.fspath(data),
        os.fspath(out),
        None if labels is None else os.fspath(labels),
        *opts,
        _whole(folds, "folds", 0),
    )
    result: Dict[str, Any] = json.loads(text)
    return result
