"""`evaluate`: the fitness of one algorithm on a list of tasks, as the reference's Evaluator computes it."""
from __future__ import annotations

from typing import Sequence

from azero._core.checks import check_memory
from azero._core.evaluator import Evaluator
from azero._core.rng import RandomGenerator
from azero.algorithm import Algorithm
from azero.config import check_seed
from azero.tasks import Task


def evaluate(alg: Algorithm, tasks: Sequence[Task], seed: int = 10000, max_abs_error: float = 100.0,
             combine: str = "mean", num_scalars: int = 20, num_vectors: int = 20, num_matrices: int = 20) -> float:
    """Combined fitness of `alg` over `tasks` (docs/semantics.md §4.1–4.2), without FEC or train budget.

    One MT19937(seed) stream serves the random ops of all tasks in order, like the reference evaluator.
    ProgramError/ValueError (one line) for an algorithm, memory or seed the compiled code cannot run.
    """
    check_memory(num_scalars, num_vectors, num_matrices)
    seed = check_seed(seed, "seed", clock=False)
    evaluator = Evaluator(list(tasks), num_scalars=num_scalars, num_vectors=num_vectors, num_matrices=num_matrices,
                          max_abs_error=max_abs_error, combine=combine)
    return evaluator.evaluate(alg.setup, alg.predict, alg.learn, RandomGenerator(seed))
