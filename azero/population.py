"""The shape of a config's population: its initial model and the room each component function gets in a row.

Both the experiment loop (to build the evolution) and the run store (to lay out program rows) need them.
"""
from __future__ import annotations

from azero import algorithms
from azero._core import ops
from azero.algorithm import Algorithm
from azero.config import SearchConfig


def initial_model(cfg: SearchConfig) -> tuple[Algorithm, bool]:
    """The Generator's TheInitModel (docs/semantics.md §8.5): the padded model, and whether each slot is randomised."""
    sizes = (cfg.setup_size_init, cfg.predict_size_init, cfg.learn_size_init)
    if cfg.learn_only is not None:  # its Setup and Predict, an empty Learn; RANDOM_ALGORITHM fills only Learn
        given = algorithms.load_program(cfg.learn_only, cfg.num_scalars, cfg.num_vectors, cfg.num_matrices)
        return algorithms.pad(Algorithm.from_arrays(given.setup, given.predict, Algorithm.empty().learn), *sizes), True
    if cfg.initial_population == ops.RANDOM_ALGORITHM:
        return algorithms.by_id(ops.NO_OP_ALGORITHM, sizes), True
    return algorithms.by_id(cfg.initial_population, sizes), False


def capacities(cfg: SearchConfig, initial: Algorithm) -> tuple[int, int, int]:
    """Room per component function: the largest size a mutation can reach, plus one for TRADE's insert."""
    setup, predict, learn = (
        max(size_init, initial_size, size_max) + 1
        for size_init, initial_size, size_max in zip(
            (cfg.setup_size_init, cfg.predict_size_init, cfg.learn_size_init), initial.sizes,
            (cfg.mutate_setup_size_max, cfg.mutate_predict_size_max, cfg.mutate_learn_size_max)))
    return setup, predict, learn
