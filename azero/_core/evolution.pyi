"""Type stub of azero._core.evolution (compiled): regularized evolution of one island's population."""
from collections.abc import Sequence
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from azero._core.evaluator import Evaluator
from azero._core.mutator import Mutator
from azero._core.rng import RandomGenerator


def linear_percentile(values: ArrayLike, percentile: float) -> float: ...

class RegularizedEvolution:
    # Read-only attributes (Cython `readonly`).
    population_size: Final[int]
    tournament_size: Final[int]
    row_length: Final[int]
    random_search: Final[bool]
    programs: Final[NDArray[np.void]]
    sizes: Final[NDArray[np.int32]]
    fitness: Final[NDArray[np.float64]]
    template: Final[NDArray[np.void]]
    num_individuals: Final[int]
    best_ever_fitness: Final[float]
    improved_individuals: Final[NDArray[np.int64]]
    improved_fitness: Final[NDArray[np.float64]]
    improved_programs: Final[NDArray[np.void]]
    improved_sizes: Final[NDArray[np.int32]]
    num_improved: Final[int]
    use_hurdles: Final[bool]
    hurdle_percentile: Final[float]
    hurdle_window: Final[int]
    hurdle_tasks: Final[int]
    hurdle: Final[float]
    hurdle_rejections: Final[int]
    capacities: Final[tuple[int, int, int]]
    offsets: Final[tuple[int, int, int]]
    def __init__(self, evaluator: Evaluator, mutator: Mutator, rng: RandomGenerator, population_size: int,
                 tournament_size: int, initial: Sequence[NDArray[np.void]], capacities: Sequence[int],
                 randomize_initial: bool = False, random_search: bool = False,
                 hurdles: tuple[float, int, int] | None = None) -> None: ...
    def init_population(self) -> int: ...
    def run_generation(self) -> int: ...
    def stats(self) -> tuple[float, float, float, int]: ...
    def restore(self, num_individuals: int, best_ever_fitness: float, hurdle_rejections: int = 0) -> None: ...
    def hurdle_state(self) -> tuple[NDArray[np.float64], int, int, float] | None: ...
    def set_hurdle_state(self, ring: ArrayLike, fill: int, position: int, hurdle: float) -> None: ...
    def individual(self, slot: int) -> tuple[NDArray[np.void], NDArray[np.void], NDArray[np.void]]: ...
