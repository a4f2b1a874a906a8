"""Type stub of azero._core.executor (compiled): one program on one task, and instructions on a memory."""
from typing import NamedTuple, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from azero._core.rng import RandomGenerator

class _Task(Protocol):
    """What the compiled code reads from a task (the attributes of azero.tasks.Task)."""

    @property
    def features_size(self) -> int: ...
    @property
    def eval_type_code(self) -> int: ...
    @property
    def num_epochs(self) -> int: ...
    @property
    def train_features(self) -> ArrayLike: ...
    @property
    def train_labels(self) -> ArrayLike: ...
    @property
    def valid_features(self) -> ArrayLike: ...
    @property
    def valid_labels(self) -> ArrayLike: ...
    @property
    def epoch_orders(self) -> ArrayLike: ...

class ExecutionResult(NamedTuple):
    fitness: float
    train_steps: int
    scalars: NDArray[np.float64]
    vectors: NDArray[np.float64]
    matrices: NDArray[np.float64]
    train_errors: list[float] | None
    valid_errors: list[float] | None

def run_executor(setup: NDArray[np.void], predict: NDArray[np.void], learn: NDArray[np.void], task: _Task,
                 num_train_examples: int, num_valid_examples: int, rng: RandomGenerator,
                 max_abs_error: float = 100.0, num_scalars: int = 20, num_vectors: int = 20,
                 num_matrices: int = 20, record: bool = False) -> ExecutionResult: ...
def time_executor(setup: NDArray[np.void], predict: NDArray[np.void], learn: NDArray[np.void], task: _Task,
                  num_train_examples: int, num_valid_examples: int, rng: RandomGenerator, repeats: int,
                  max_abs_error: float = 100.0, num_scalars: int = 20, num_vectors: int = 20,
                  num_matrices: int = 20) -> tuple[float, float, int]: ...
def execute_ops(instructions: NDArray[np.void], features_size: int, scalars: NDArray[np.float64],
                vectors: NDArray[np.float64], matrices: NDArray[np.float64], rng: RandomGenerator) -> None: ...
