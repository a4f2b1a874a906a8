"""The experiment loop of the reference (SPEC 5.7): T_search -> best of population -> T_select -> T_final.

`search(cfg)` builds the compiled pieces (evaluator, mutator, evolution) from a SearchConfig, runs experiments
until `sufficient_fitness` or `max_experiments`, and prints the reference's lines so logs compare line by line.
"""
from __future__ import annotations

import dataclasses
import sys
import time
from typing import Callable, TextIO

import numpy as np

from azero import algorithms, ops
from azero._core.evaluator import Evaluator
from azero._core.evolution import RegularizedEvolution
from azero._core.mutator import Mutator
from azero._core.rng import RandomGenerator
from azero.algorithm import Algorithm
from azero.config import SearchConfig
from azero.tasks import make_tasks, randomize_task_seeds

COMBINE = {"mean": "mean", "median": "median"}


@dataclasses.dataclass
class Experiment:
    """What one search experiment produced."""

    search_fitness: float
    select_fitness: float
    num_individuals: int
    num_train_steps: int
    algorithm: Algorithm


@dataclasses.dataclass
class SearchResult:
    """Outcome of `search`: the best algorithm on T_select and its fitness on T_final."""

    seed: int
    best_algorithm: Algorithm
    best_select_fitness: float
    final_fitness: float
    experiments: list[Experiment]
    elapsed_seconds: float


def time_seed() -> int:
    """The reference's seed for `random_seed = 0`: current time in ns mod (2^32 - 1), never 0."""
    return time.time_ns() % (2**32 - 1) or 1


def program_cost(instructions: np.ndarray) -> float:
    """Compute-cost units of a component function (SPEC 4.3)."""
    return float(ops.OP_COST[instructions["op"]].sum()) if len(instructions) else 0.0


def initial_model(cfg: SearchConfig) -> tuple[Algorithm, bool]:
    """The Generator's TheInitModel (SPEC 5.2): the padded model, and whether each slot is randomised."""
    sizes = (cfg.setup_size_init, cfg.predict_size_init, cfg.learn_size_init)
    if cfg.initial_population == ops.RANDOM_ALGORITHM:
        return algorithms.by_id(ops.NO_OP_ALGORITHM, sizes), True
    return algorithms.by_id(cfg.initial_population, sizes), False


def build_mutator(cfg: SearchConfig) -> Mutator:
    return Mutator(
        allowed_mutation_types=list(cfg.allowed_mutation_types), mutate_prob=cfg.mutate_prob,
        setup_ops=list(cfg.setup_ops), predict_ops=list(cfg.predict_ops), learn_ops=list(cfg.learn_ops),
        setup_size_min=cfg.mutate_setup_size_min, setup_size_max=cfg.mutate_setup_size_max,
        predict_size_min=cfg.mutate_predict_size_min, predict_size_max=cfg.mutate_predict_size_max,
        learn_size_min=cfg.mutate_learn_size_min, learn_size_max=cfg.mutate_learn_size_max,
        num_scalars=cfg.num_scalars, num_vectors=cfg.num_vectors, num_matrices=cfg.num_matrices,
        op_category=ops.OP_CATEGORY, in1_bank=ops.IN1_BANK, in2_bank=ops.IN2_BANK, out_bank=ops.OUT_BANK)


def budget_args(cfg: SearchConfig):
    """(baseline setup cost, baseline cost per train step, threshold factor) of the train budget, or None."""
    if cfg.train_budget is None:
        return None
    sizes = (cfg.setup_size_init, cfg.predict_size_init, cfg.learn_size_init)
    baseline = algorithms.by_id(cfg.train_budget.baseline, sizes)
    return (program_cost(baseline.setup), program_cost(baseline.predict) + program_cost(baseline.learn),
            cfg.train_budget.threshold_factor)


def build_evaluator(cfg: SearchConfig, tasks, *, search: bool) -> Evaluator:
    """T_search evaluators get the config's FEC, budget and combination; select/final ones plain MEAN."""
    kwargs = dict(num_scalars=cfg.num_scalars, num_vectors=cfg.num_vectors, num_matrices=cfg.num_matrices,
                  max_abs_error=cfg.max_abs_error)
    if search:
        fec = cfg.fec
        kwargs.update(
            combine=cfg.fitness_combination_mode,
            fec=None if fec is None else (fec.num_train_examples, fec.num_valid_examples, fec.cache_size,
                                          fec.forget_every),
            budget=budget_args(cfg), op_costs=ops.OP_COST)
    return Evaluator(tasks, **kwargs)


def capacities(cfg: SearchConfig, initial: Algorithm) -> tuple[int, int, int]:
    """Room per component function: the largest size a mutation can reach, plus one for TRADE's insert."""
    return tuple(
        max(size_init, initial_size, size_max) + 1
        for size_init, initial_size, size_max in zip(
            (cfg.setup_size_init, cfg.predict_size_init, cfg.learn_size_init), initial.sizes,
            (cfg.mutate_setup_size_max, cfg.mutate_predict_size_max, cfg.mutate_learn_size_max)))


def progress_line(num_individuals: int, elapsed_secs: int, mean: float, stdev: float, best: float) -> str:
    """The reference's progress line (SPEC 5.6)."""
    return (f"indivs={num_individuals}, elapsed_secs={elapsed_secs}, mean={mean:.6f}, stdev={stdev:.6f}, "
            f"best fit={best:.6f},")


def search(cfg: SearchConfig, seed: int | None = None, run_dir=None, out: TextIO | None = None,
           on_generation: Callable[[RegularizedEvolution], None] | None = None) -> SearchResult:
    """Run the experiment loop of `cfg` on one process and return the best algorithm found.

    `seed` overrides `cfg.random_seed` (0 or None there means: from the clock). Lines go to `out`
    (default stdout). `run_dir` is reserved for the HDF5 run store; None stores nothing.
    """
    if run_dir is not None:
        raise NotImplementedError("the HDF5 run store is not available yet; use run_dir=None")
    out = sys.stdout if out is None else out

    def say(line: str = "") -> None:
        print(line, file=out, flush=True)

    start = time.monotonic()
    seed = seed or cfg.random_seed or time_seed()
    rng = RandomGenerator(seed)
    say(f"Random seed = {seed}")
    initial, randomize_initial = initial_model(cfg)
    mutator = build_mutator(cfg)
    search_specs = list(cfg.search_tasks)
    select_specs = list(cfg.select_tasks)
    select_tasks = None if cfg.randomize_task_seeds else make_tasks(select_specs)
    best_select = -np.inf
    best_algorithm = Algorithm.empty()
    experiments: list[Experiment] = []
    random_search = cfg.mode == "random_search"
    while True:
        if cfg.randomize_task_seeds:
            search_specs = randomize_task_seeds(search_specs, rng.random_seed())
        evaluator = build_evaluator(cfg, make_tasks(search_specs), search=True)
        evolution = RegularizedEvolution(
            evaluator, mutator, rng, cfg.population_size, cfg.tournament_size,
            (initial.setup, initial.predict, initial.learn), capacities(cfg, initial),
            randomize_initial=randomize_initial, random_search=random_search)
        start_secs = int(time.time())
        say("Running evolution experiment (on the T_search tasks)...")
        init_steps = evolution.init_population()
        last_printed = None

        def maybe_print() -> None:
            nonlocal last_printed
            if last_printed is not None and evolution.num_individuals < last_printed + cfg.progress_every:
                return
            last_printed = evolution.num_individuals
            mean, stdev, best, _ = evolution.stats()
            say(progress_line(evolution.num_individuals, int(time.time()) - start_secs, mean, stdev, best))

        maybe_print()
        if on_generation is not None:
            on_generation(evolution)
        max_steps = cfg.max_train_steps - init_steps
        steps = 0
        deadline = None if cfg.max_seconds is None else start + cfg.max_seconds
        while steps < max_steps and (deadline is None or time.monotonic() < deadline):
            steps += evolution.run_generation()
            maybe_print()
            if on_generation is not None:
                on_generation(evolution)
        say("Experiment done. Retrieving candidate algorithm.")
        _, _, search_fitness, best_slot = evolution.stats()
        candidate = Algorithm.from_arrays(*evolution.individual(best_slot))
        say(f"Search fitness for candidate algorithm = {search_fitness:.6f}")
        if cfg.randomize_task_seeds:
            select_specs = randomize_task_seeds(select_specs, rng.random_seed())
            select_tasks = make_tasks(select_specs)
        select_rng = RandomGenerator(rng.random_seed())
        say("Evaluating candidate algorithm from experiment (on T_select tasks)... ")
        select_fitness = build_evaluator(cfg, select_tasks, search=False).evaluate(
            candidate.setup, candidate.predict, candidate.learn, select_rng)
        say(f"Select fitness for candidate algorithm = {select_fitness:.6f}")
        experiments.append(Experiment(search_fitness, select_fitness, evolution.num_individuals,
                                      evaluator.num_train_steps, candidate))
        if select_fitness >= best_select:
            best_select = select_fitness
            best_algorithm = candidate
            say("Select fitness is the best so far. ")
        if cfg.sufficient_fitness is not None and cfg.sufficient_fitness > 0.0 and best_select > cfg.sufficient_fitness:
            break
        if cfg.max_experiments != 0 and len(experiments) >= cfg.max_experiments:
            break
    say()
    say("Final evaluation of best algorithm (on unseen tasks)...")
    final_rng = RandomGenerator(rng.random_seed())
    final_fitness = build_evaluator(cfg, make_tasks(list(cfg.final_tasks)), search=False).evaluate(
        best_algorithm.setup, best_algorithm.predict, best_algorithm.learn, final_rng)
    say(f"Final evaluation fitness (on unseen data) = {final_fitness:.6f}")
    say("Algorithm found: ")
    say(best_algorithm.to_text())
    return SearchResult(seed, best_algorithm, best_select, final_fitness, experiments, time.monotonic() - start)
