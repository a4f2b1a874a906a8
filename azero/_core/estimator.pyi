"""Type stub of azero._core.estimator (compiled): fit and predict of one program on user data."""
import numpy as np
from numpy.typing import ArrayLike, NDArray

RNG_STATE_WORDS: int

def fit_program(setup: NDArray[np.void], predict: NDArray[np.void], learn: NDArray[np.void], features: ArrayLike,
                labels: ArrayLike, orders: ArrayLike, classify: bool, random_seed: int, scalars: NDArray[np.float64],
                vectors: NDArray[np.float64], matrices: NDArray[np.float64],
                max_abs_error: float = 100.0) -> tuple[int, NDArray[np.uint32]]: ...
def predict_program(predict: NDArray[np.void], features: ArrayLike, scalars: NDArray[np.float64],
                    vectors: NDArray[np.float64], matrices: NDArray[np.float64],
                    rng_state: ArrayLike) -> NDArray[np.float64]: ...
