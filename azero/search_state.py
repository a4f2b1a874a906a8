"""A search's state at a generation boundary: everything `Search.restore_state` needs to go on exactly there.

`Search.checkpoint_state()` takes it (plain values and numpy copies, no live objects); the run store writes it
into a checkpoint and reads it back on resume (`azero.runs`).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from azero.algorithm import Algorithm
from azero.results import Experiment
from azero.success import Success
from azero.tasks import TaskSpec


@dataclasses.dataclass
class EvolutionState:
    """The population of the current experiment and its counters."""

    programs: np.ndarray
    sizes: np.ndarray
    fitness: np.ndarray
    num_individuals: int
    best_ever_fitness: float
    hurdle_rejections: int
    hurdles: tuple | None        # (ring, fill, position, hurdle) of the evolution's hurdle, None without hurdles


@dataclasses.dataclass
class FECState:
    """The fitness cache's contents (keys, fitness, counts) and its hit and miss counts."""

    entries: tuple[np.ndarray, np.ndarray, np.ndarray]
    hits: int
    misses: int


@dataclasses.dataclass
class EvaluatorState:
    """The T_search evaluator's train-step count and cache."""

    num_train_steps: int
    fec: FECState | None


@dataclasses.dataclass
class SearchState:
    """One island's search between generations; `evolution` and `evaluator` are None between experiments."""

    base_seed: int
    seed: int
    rng: np.ndarray              # the MT19937 state (625 words)
    experiments: list[Experiment]
    best_select_fitness: float
    best_algorithm: Algorithm
    search_specs: list[TaskSpec]
    select_specs: list[TaskSpec]
    init_steps: int
    steps: int
    last_printed: int | None
    elapsed: float               # seconds since the search started (all segments)
    experiment_elapsed: float    # seconds since the current experiment's evolution started
    evolution: EvolutionState | None
    evaluator: EvaluatorState | None
    success: Success | None = None   # run stores do not record it (README)

    def experiment_state(self) -> tuple[EvolutionState, EvaluatorState]:
        """The current experiment's population and evaluator state; RuntimeError between experiments."""
        if self.evolution is None or self.evaluator is None:
            raise RuntimeError("the search state is between experiments")
        return self.evolution, self.evaluator
