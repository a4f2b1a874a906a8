"""Type stub of azero._core.liveness (compiled): which Predict and Learn instructions can change a result."""
import numpy as np
from numpy.typing import ArrayLike, NDArray

def live_instructions(predict: ArrayLike, learn: ArrayLike, num_scalars: int, num_vectors: int,
                      num_matrices: int) -> tuple[NDArray[np.bool_], NDArray[np.bool_], bool, bool]: ...
