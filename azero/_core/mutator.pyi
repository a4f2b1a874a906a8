"""Type stub of azero._core.mutator (compiled): the reference's mutator and randomiser."""
from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from azero._core.rng import RandomGenerator

class Mutator:
    def __init__(
        self,
        *,
        allowed_mutation_types: Iterable[int],
        mutate_prob: float,
        setup_ops: Iterable[int],
        predict_ops: Iterable[int],
        learn_ops: Iterable[int],
        setup_size_min: int,
        setup_size_max: int,
        predict_size_min: int,
        predict_size_max: int,
        learn_size_min: int,
        learn_size_max: int,
        num_scalars: int,
        num_vectors: int,
        num_matrices: int,
        op_category: ArrayLike,
        in1_bank: ArrayLike,
        in2_bank: ArrayLike,
        out_bank: ArrayLike,
    ) -> None: ...
    def capacity_needed(self, sizes: Sequence[int]) -> tuple[int, int, int]: ...
    def mutate_arrays(
        self,
        setup: NDArray[np.void],
        predict: NDArray[np.void],
        learn: NDArray[np.void],
        rng: RandomGenerator,
        num_mutations: int = 1,
    ) -> tuple[NDArray[np.void], NDArray[np.void], NDArray[np.void]]: ...
    def randomize_arrays(
        self, setup: NDArray[np.void], predict: NDArray[np.void], learn: NDArray[np.void], rng: RandomGenerator
    ) -> tuple[NDArray[np.void], NDArray[np.void], NDArray[np.void]]: ...
    def random_instruction(self, op: int, rng: RandomGenerator) -> np.void: ...
