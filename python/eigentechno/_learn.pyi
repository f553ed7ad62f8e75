import os
from typing import Any, Dict, List, Optional, Union

import numpy as np
import numpy.typing as npt

PathLike = Union[str, "os.PathLike[str]"]

class SKMClassifier:
    n_support: Optional[int]
    embed: int
    hidden: int
    epochs: Optional[int]
    batch_size: int
    learning_rate: float
    weight_decay: float
    head: str
    random_state: Any
    n_jobs: Optional[int]
    classes_: npt.NDArray[Any]
    n_features_in_: int
    support_points_: Optional[npt.NDArray[np.float32]]
    n_epochs_: int
    history_: List[Dict[str, Any]]
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
    ) -> None: ...
    def fit(self, X: Any, y: Any) -> "SKMClassifier": ...
    def predict(self, X: Any) -> npt.NDArray[Any]: ...
    def predict_proba(self, X: Any) -> npt.NDArray[np.float32]: ...
    def decision_function(self, X: Any) -> npt.NDArray[np.float32]: ...
    def confidence(self, X: Any) -> npt.NDArray[np.float32]: ...
    def embedding(self, X: Any) -> npt.NDArray[np.float32]: ...
    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float: ...
    def get_params(self, deep: bool = True) -> Dict[str, Any]: ...
    def set_params(self, **params: Any) -> "SKMClassifier": ...

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
) -> Dict[str, Any]: ...
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
) -> Dict[str, Any]: ...
