"""Type stub of azero._core.evaluator (compiled): the fitness of programs over a list of tasks."""
from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from azero._core.executor import _Task
from azero._core.fec import FECache
from azero._core.rng import RandomGenerator

SIMD_LEVELS: tuple[str, ...]

def available_simd_levels() -> tuple[str, ...]: ...
def simd_level() -> str: ...
def set_simd_level(level: str, min_features_size: int = 8) -> str: ...

class Evaluator:
    num_train_steps: int
    @property
    def num_tasks(self) -> int: ...
    @property
    def features_size(self) -> int: ...
    @property
    def fec(self) -> FECache | None: ...
    def __init__(
        self,
        tasks: Iterable[_Task],
        *,
        num_scalars: int = 20,
        num_vectors: int = 20,
        num_matrices: int = 20,
        max_abs_error: float = 100.0,
        combine: str = "mean",
        fec: tuple[int, int, int, int] | None = None,
        budget: tuple[float, float, float] | None = None,
        op_costs: ArrayLike | None = None,
    ) -> None: ...
    def evaluate(
        self, setup: NDArray[np.void], predict: NDArray[np.void], learn: NDArray[np.void], rng: RandomGenerator
    ) -> float: ...
    def evaluate_per_task(
        self, setup: NDArray[np.void], predict: NDArray[np.void], learn: NDArray[np.void], rng: RandomGenerator
    ) -> NDArray[np.float64]: ...
