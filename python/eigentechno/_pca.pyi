import os
from typing import Any, Dict, Optional, Union

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.floating[Any]]

class PCA:
    n_components: Optional[Union[int, float]]
    method: str
    precision: str
    random_state: Any
    power_iterations: Optional[int]
    components_: FloatArray
    explained_variance_: FloatArray
    explained_variance_ratio_: FloatArray
    singular_values_: FloatArray
    mean_: FloatArray
    noise_variance_: np.floating[Any]
    n_components_: int
    n_samples_: int
    n_features_in_: int
    method_: str
    method_reason_: str
    def __init__(
        self,
        n_components: Optional[Union[int, float]] = None,
        *,
        method: str = "auto",
        precision: str = "auto",
        random_state: Any = 0,
        power_iterations: Optional[int] = None,
    ) -> None: ...
    def get_params(self, deep: bool = True) -> Dict[str, Any]: ...
    def set_params(self, **params: Any) -> PCA: ...
    def fit(self, X: Any, y: Any = None) -> PCA: ...
    def fit_transform(self, X: Any, y: Any = None) -> FloatArray: ...
    def transform(self, X: Any) -> FloatArray: ...
    def inverse_transform(self, X: Any) -> FloatArray: ...
    def score_samples(self, X: Any) -> FloatArray: ...
    def score(self, X: Any, y: Any = None) -> float: ...
    def get_covariance(self) -> FloatArray: ...
    def get_precision(self) -> FloatArray: ...
    def save(self, dir: Union[str, os.PathLike[str]]) -> None: ...
    @classmethod
    def load(cls, dir: Union[str, os.PathLike[str]]) -> PCA: ...
