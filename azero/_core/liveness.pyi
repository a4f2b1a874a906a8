"""Type stub of azero._core.liveness (compiled): which instructions of a program can change a result."""
import numpy as np
from numpy.typing import ArrayLike, NDArray

class LiveCode:
    def __init__(self, num_scalars: int, num_vectors: int, num_matrices: int) -> None: ...

def live_instructions(predict: ArrayLike, learn: ArrayLike, num_scalars: int, num_vectors: int,
                      num_matrices: int) -> tuple[NDArray[np.bool_], NDArray[np.bool_], bool, bool]: ...
