"""What a search produces: one record per experiment and the search's result (the run store records both)."""
from __future__ import annotations

import dataclasses

from azero.algorithm import Algorithm
from azero.success import Success


@dataclasses.dataclass
class Experiment:
    """What one search experiment produced."""

    search_fitness: float
    select_fitness: float
    num_individuals: int
    num_train_steps: int
    algorithm: Algorithm
    select_seed: int = 0     # seed of the random-op stream of its T_select evaluation (0: not recorded)


@dataclasses.dataclass
class SearchResult:
    """Outcome of a search: the best algorithm on T_select and its fitness on T_final.

    `interrupted` runs (a stop signal) have no final evaluation (`final_fitness` is NaN) and can be resumed.
    """

    seed: int
    best_algorithm: Algorithm
    best_select_fitness: float
    final_fitness: float
    experiments: list[Experiment]
    elapsed_seconds: float
    interrupted: bool = False
    final_seed: int = 0      # seed of the random-op stream of the T_final evaluation (0: none or not recorded)
    success: Success | None = None  # the first success, when the config has a [success] criterion
