"""Success of a search against a reference program (config `[success]`), counted once, at its first occurrence.

The reference (a hand-designed model of azero.algorithms or a program file) is scored on each experiment's
T_search tasks the way T_select and T_final are scored: mean fitness, no FEC, no train budget, random ops drawn
from MT19937(REFERENCE_SEED). A search succeeds at the first evaluated individual whose T_search fitness reaches
that score less `tolerance` (>=: rediscovering the reference itself counts); the evolution reports every new
best-ever fitness with its individual count, so the individual is exact even though the check runs between
generations.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from azero import algorithms
from azero.config import SearchConfig
from azero.evaluation import evaluate
from azero.tasks import make_tasks

if TYPE_CHECKING:
    from azero.search import Search

# Seed of the random-op stream the reference is scored with (the default of `azero eval` and `evaluate`).
REFERENCE_SEED = 10000


@dataclasses.dataclass(frozen=True)
class Success:
    """The first success of a search: in which experiment (0-based), at which individual of it (1-based, as
    the evolution counts them), with which fitness, against which reference fitness."""

    experiment: int
    individual: int
    fitness: float
    reference_fitness: float


class SuccessWatch:
    """Watches one search for its first success; `threshold` is set per experiment by `start_experiment`."""

    def __init__(self, cfg: SearchConfig):
        assert cfg.success is not None
        self.spec = cfg.success
        self.reference = algorithms.load_program(cfg.success.reference, cfg.num_scalars, cfg.num_vectors,
                                                 cfg.num_matrices)
        self.cfg = cfg
        self.reference_fitness = float("nan")
        self.success: Success | None = None

    def start_experiment(self, search: Search) -> None:
        """Score the reference on the experiment's T_search tasks (they may be re-drawn per experiment)."""
        cfg = self.cfg
        self.reference_fitness = evaluate(
            self.reference, make_tasks(search.search_specs), seed=REFERENCE_SEED, max_abs_error=cfg.max_abs_error,
            num_scalars=cfg.num_scalars, num_vectors=cfg.num_vectors, num_matrices=cfg.num_matrices)

    def after_generation(self, search: Search) -> None:
        """Record the first individual of the last generation (or Init) that beat the reference, if any."""
        if self.success is not None:
            return
        _, evolution = search.running()
        threshold = self.reference_fitness - self.spec.tolerance
        for i in range(evolution.num_improved):
            fitness = float(evolution.improved_fitness[i])
            if fitness >= threshold:
                self.success = Success(len(search.experiments), int(evolution.improved_individuals[i]), fitness,
                                       self.reference_fitness)
                search.say(f"Success: individual {self.success.individual} has search fitness {fitness:.6f} >= "
                           f"reference {self.reference_fitness:.6f} - tolerance {self.spec.tolerance}")
                return

    @property
    def stop(self) -> bool:
        """True once the search has succeeded and the config asks to stop there."""
        return self.success is not None and self.spec.stop
