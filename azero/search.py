"""The experiment loop of the reference (docs/semantics.md §9.6): T_search -> best of population -> T_select -> T_final.

`Search` builds the compiled pieces (evaluator, mutator, evolution) from a SearchConfig, runs experiments until
`sufficient_fitness` or `max_experiments`, and prints the reference's lines so logs compare line by line. It is
written to be resumable: everything it needs to continue lives in `checkpoint_state()`, taken between
generations. Two collaborators plug in without changing the loop:

- an *island* (`LocalIsland` here; `azero.islands.MPIIsland` under MPI) makes the collective decisions — seeds,
  migration, stopping, the global best — so that a 1-rank run is exactly the single-process run;
- a *store* (a `RunRecorder`: `azero.runs.writer.RunStore`, optional) records progress, lineage, experiments and
  checkpoints.

`run_search` is the one-call form (`azero.run_search`); resuming a recorded run is `azero.runs.resume`.
"""
from __future__ import annotations

import sys
import time
from typing import Any, Protocol, TextIO

import numpy as np

from azero import algorithms
from azero._core import ops
from azero._core.evaluator import Evaluator
from azero._core.evolution import RegularizedEvolution
from azero._core.mutator import Mutator
from azero._core.rng import RandomGenerator
from azero.algorithm import Algorithm
from azero.config import SearchConfig, check_seed
from azero.evaluation import evaluate
from azero.population import capacities, initial_model
from azero.results import Experiment, SearchResult
from azero.runs.writer import RunStore
from azero.search_state import EvaluatorState, EvolutionState, FECState, SearchState
from azero.success import SuccessWatch
from azero.tasks import TaskSpec, check_task_sources, make_tasks, randomize_task_seeds


def time_seed() -> int:
    """The reference's seed for `random_seed = 0`: current time in ns mod (2^32 - 1), never 0."""
    return time.time_ns() % (2**32 - 1) or 1


def program_cost(instructions: np.ndarray) -> float:
    """Compute-cost units of a component function (docs/semantics.md §4.3)."""
    return float(ops.OP_COST[instructions["op"]].sum()) if len(instructions) else 0.0


def build_mutator(cfg: SearchConfig) -> Mutator:
    return Mutator(
        allowed_mutation_types=list(cfg.allowed_mutation_types), mutate_prob=cfg.mutate_prob,
        setup_ops=list(cfg.setup_ops), predict_ops=list(cfg.predict_ops), learn_ops=list(cfg.learn_ops),
        setup_size_min=cfg.mutate_setup_size_min, setup_size_max=cfg.mutate_setup_size_max,
        predict_size_min=cfg.mutate_predict_size_min, predict_size_max=cfg.mutate_predict_size_max,
        learn_size_min=cfg.mutate_learn_size_min, learn_size_max=cfg.mutate_learn_size_max,
        num_scalars=cfg.num_scalars, num_vectors=cfg.num_vectors, num_matrices=cfg.num_matrices,
        op_category=ops.OP_CATEGORY, in1_bank=ops.IN1_BANK, in2_bank=ops.IN2_BANK, out_bank=ops.OUT_BANK)


def budget_args(cfg: SearchConfig) -> tuple[float, float, float] | None:
    """(baseline setup cost, baseline cost per train step, threshold factor) of the train budget, or None."""
    if cfg.train_budget is None:
        return None
    sizes = (cfg.setup_size_init, cfg.predict_size_init, cfg.learn_size_init)
    baseline = algorithms.by_id(cfg.train_budget.baseline, sizes)
    return (program_cost(baseline.setup), program_cost(baseline.predict) + program_cost(baseline.learn),
            cfg.train_budget.threshold_factor)


def build_evaluator(cfg: SearchConfig, tasks) -> Evaluator:
    """The T_search evaluator: the config's memory, FEC, train budget and fitness combination."""
    fec = cfg.fec
    return Evaluator(
        tasks, num_scalars=cfg.num_scalars, num_vectors=cfg.num_vectors, num_matrices=cfg.num_matrices,
        max_abs_error=cfg.max_abs_error, combine=cfg.fitness_combination_mode,
        fec=None if fec is None else (fec.num_train_examples, fec.num_valid_examples, fec.cache_size,
                                      fec.forget_every),
        budget=budget_args(cfg), op_costs=ops.OP_COST)


def evaluate_on(cfg: SearchConfig, specs: list[TaskSpec], alg: Algorithm, seed: int) -> float:
    """Mean fitness on a select/final task set (no FEC, no budget) with a fresh MT19937(seed) (docs/semantics.md §9.6)."""
    return evaluate(alg, make_tasks(specs), seed=seed, max_abs_error=cfg.max_abs_error,
                    num_scalars=cfg.num_scalars, num_vectors=cfg.num_vectors, num_matrices=cfg.num_matrices)


def progress_line(num_individuals: int, elapsed_secs: int, mean: float, stdev: float, best: float) -> str:
    """The reference's progress line (docs/semantics.md §9.5)."""
    return (f"indivs={num_individuals}, elapsed_secs={elapsed_secs}, mean={mean:.6f}, stdev={stdev:.6f}, "
            f"best fit={best:.6f},")


class Island(Protocol):
    """Collective decisions of one island; see LocalIsland (1 process) and azero.islands.MPIIsland."""

    rank: int
    size: int
    is_root: bool

    def island_seed(self, seed: int) -> int: ...
    def broadcast(self, value: Any) -> Any: ...
    def any(self, flag: bool) -> bool: ...
    def after_generation(self, search: Search) -> None: ...
    def progress_line(self, search: Search) -> str: ...
    def best_candidate(self, search: Search) -> tuple[float, Algorithm]: ...


class RunRecorder(Protocol):
    """A store recording one island's search (see azero.runs.writer.RunStore): the loop calls `start` before the
    first experiment, `progress` with each progress line, `after_generation` after Init and every generation,
    `checkpoint` on a stop request (`force`), `experiment_done` and `finish`; the island layer calls
    `before_migration` and `migration` around migrants. Under MPI its calls may be collectives."""

    def start(self, search: Search) -> None: ...
    def progress(self, search: Search) -> None: ...
    def after_generation(self, search: Search) -> None: ...
    def before_migration(self, search: Search) -> None: ...
    def migration(self, search: Search, from_rank: int, to_rank: int, fitness: np.ndarray) -> None: ...
    def checkpoint(self, search: Search, force: bool = False) -> None: ...
    def experiment_done(self, search: Search, experiment: Experiment) -> None: ...
    def finish(self, search: Search, result: SearchResult) -> None: ...


class LocalIsland:
    """The single-process island: rank 0 of 1, every collective is the identity."""

    rank = 0
    size = 1
    is_root = True

    def island_seed(self, seed: int) -> int:
        return seed

    def broadcast(self, value: Any) -> Any:
        return value

    def any(self, flag: bool) -> bool:
        return flag

    def after_generation(self, search: Search) -> None:
        pass

    def progress_line(self, search: Search) -> str:
        _, evolution = search.running()
        mean, stdev, best, _ = evolution.stats()
        return progress_line(evolution.num_individuals, search.elapsed_secs(), mean, stdev, best)

    def best_candidate(self, search: Search) -> tuple[float, Algorithm]:
        _, evolution = search.running()
        _, _, best, slot = evolution.stats()
        return best, Algorithm.from_arrays(*evolution.individual(slot))


class Search:
    """One island's experiment loop (docs/semantics.md §9.6), resumable between generations.

    `seed` overrides `cfg.random_seed` (0 or None there: from the clock). Only the root island prints, to `out`
    (default stdout); `progress_bar` replaces the progress lines by a tqdm bar (for terminals).
    """

    def __init__(self, cfg: SearchConfig, seed: int | None = None, *, out: TextIO | None = None,
                 island: Island | None = None, store: RunRecorder | None = None, progress_bar: bool = False):
        self.cfg = cfg
        self.island: Island = island if island is not None else LocalIsland()
        self.store = store
        self.out = sys.stdout if out is None else out
        self.progress_bar = progress_bar
        seed = cfg.random_seed if seed is None else check_seed(seed, "seed")
        self.base_seed = self.island.broadcast(seed or time_seed())     # 0: from the clock
        self.seed = self.island.island_seed(self.base_seed)
        self.rng = RandomGenerator(self.seed)
        self.initial, self.randomize_initial = initial_model(cfg)
        self.mutator = build_mutator(cfg)
        self.search_specs = list(cfg.search_tasks)
        self.select_specs = list(cfg.select_tasks)
        self.experiments: list[Experiment] = []
        self.best_select_fitness = -np.inf
        self.best_algorithm = Algorithm.empty()
        self.evaluator: Evaluator | None = None
        self.evolution: RegularizedEvolution | None = None
        self.init_steps = 0          # train steps used by the current experiment's Init
        self.steps = 0               # train steps used by the current experiment's Run
        self.last_printed: int | None = None
        self.started = time.monotonic()
        self.experiment_started = time.time()   # wall clock of the evolution's start (elapsed_secs)
        self.stop_requested = False
        self._bar = None
        self.success_watch = None if cfg.success is None else SuccessWatch(cfg)

    # -- output --

    def say(self, line: str = "") -> None:
        if not self.island.is_root:
            return
        if self._bar is not None:
            self._bar.write(line, file=self.out)
        else:
            print(line, file=self.out, flush=True)

    def elapsed_secs(self) -> int:
        """Whole seconds since the evolution started, as the reference prints them."""
        return int(time.time()) - int(self.experiment_started)

    def request_stop(self) -> None:
        """Stop at the next generation boundary with a checkpoint (signal handlers call this)."""
        self.stop_requested = True

    # -- checkpoints --

    def checkpoint_state(self) -> SearchState:
        """Everything needed to continue this island's loop from the current generation boundary.

        Plain values and numpy copies (no live objects): seeds, generator state, experiments so far, the best
        algorithm, the current (possibly randomised) task specs, counters, elapsed times and, inside an
        experiment, the population, its counters, hurdle state, train steps and FEC contents.
        """
        state = SearchState(
            base_seed=self.base_seed, seed=self.seed, rng=self.rng.get_state(),
            experiments=list(self.experiments), best_select_fitness=float(self.best_select_fitness),
            best_algorithm=self.best_algorithm.copy(), search_specs=list(self.search_specs),
            select_specs=list(self.select_specs), init_steps=self.init_steps, steps=self.steps,
            last_printed=self.last_printed, elapsed=time.monotonic() - self.started,
            experiment_elapsed=time.time() - self.experiment_started, evolution=None, evaluator=None,
            success=None if self.success_watch is None else self.success_watch.success)
        evolution, evaluator = self.evolution, self.evaluator
        if evolution is not None and evaluator is not None:
            state.evolution = EvolutionState(
                programs=evolution.programs.copy(), sizes=evolution.sizes.copy(), fitness=evolution.fitness.copy(),
                num_individuals=evolution.num_individuals, best_ever_fitness=evolution.best_ever_fitness,
                hurdle_rejections=evolution.hurdle_rejections, hurdles=evolution.hurdle_state())
            fec = evaluator.fec
            state.evaluator = EvaluatorState(
                num_train_steps=evaluator.num_train_steps,
                fec=None if fec is None else FECState(fec.get_state(), fec.hits, fec.misses))
        return state

    def restore_state(self, state: SearchState) -> None:
        """Continue from `checkpoint_state()` output: the next `run()` goes on exactly where it was taken."""
        self.base_seed = state.base_seed
        self.seed = state.seed
        self.rng.set_state(state.rng)
        self.experiments = list(state.experiments)
        self.best_select_fitness = state.best_select_fitness
        self.best_algorithm = state.best_algorithm.copy()
        self.search_specs = list(state.search_specs)
        self.select_specs = list(state.select_specs)
        self.init_steps = state.init_steps
        self.steps = state.steps
        self.last_printed = state.last_printed
        self.started = time.monotonic() - state.elapsed
        self.experiment_started = time.time() - state.experiment_elapsed
        self.evolution = None
        self.evaluator = None
        if self.success_watch is not None:
            self.success_watch.success = state.success  # run stores do not record it (README)
        if state.evolution is None:
            return
        saved, saved_evaluator = state.experiment_state()
        self._build_experiment()
        if self.success_watch is not None:
            self.success_watch.start_experiment(self)
        evaluator, evolution = self.running()
        evolution.programs[...] = saved.programs
        evolution.sizes[...] = saved.sizes
        evolution.fitness[...] = saved.fitness
        evolution.restore(saved.num_individuals, saved.best_ever_fitness, saved.hurdle_rejections)
        if saved.hurdles is not None:
            evolution.set_hurdle_state(*saved.hurdles)
        evaluator.num_train_steps = saved_evaluator.num_train_steps
        fec = saved_evaluator.fec
        cache = evaluator.fec
        if fec is not None and cache is not None:   # a config whose checkpoint holds FEC entries builds an FEC
            cache.set_state(*fec.entries)
            cache.hits = fec.hits
            cache.misses = fec.misses

    def running(self) -> tuple[Evaluator, RegularizedEvolution]:
        """The current experiment's evaluator and evolution; RuntimeError between experiments."""
        if self.evaluator is None or self.evolution is None:
            raise RuntimeError("no experiment is running")
        return self.evaluator, self.evolution

    # -- the loop --

    def run(self) -> SearchResult:
        """Run (or continue) experiments until done; returns the result (interrupted on a stop request)."""
        if self.evolution is None and not self.experiments:
            # Everything that can refuse the run comes first: the seed is printed when it really starts.
            check_task_sources([*self.cfg.search_tasks, *self.cfg.select_tasks, *self.cfg.final_tasks])
            if self.store is not None:
                self.store.start(self)
            self.say(f"Random seed = {self.base_seed}")
        while True:
            if self.evolution is None:
                self._start_experiment()
            if not self._evolve():
                return self._interrupted()
            if self._finish_experiment():
                break
        return self._final()

    def _build_experiment(self) -> None:
        """A fresh evaluator (T_search tasks, FEC, budget) and population for the current task specs."""
        cfg = self.cfg
        self.evaluator = build_evaluator(cfg, make_tasks(self.search_specs))
        hurdles = None if cfg.hurdles is None else (cfg.hurdles.percentile, cfg.hurdles.window, cfg.hurdles.tasks)
        self.evolution = RegularizedEvolution(
            self.evaluator, self.mutator, self.rng, cfg.population_size, cfg.tournament_size,
            (self.initial.setup, self.initial.predict, self.initial.learn), capacities(cfg, self.initial),
            randomize_initial=self.randomize_initial, random_search=cfg.mode == "random_search",
            hurdles=hurdles)

    def _start_experiment(self) -> None:
        cfg = self.cfg
        if cfg.randomize_task_seeds:
            self.search_specs = randomize_task_seeds(self.search_specs, self.island.broadcast(self.rng.random_seed()))
        self._build_experiment()
        if self.success_watch is not None:
            self.success_watch.start_experiment(self)
        self.experiment_started = time.time()
        self.steps = 0
        self.last_printed = None
        self.say("Running evolution experiment (on the T_search tasks)...")
        self._open_bar()
        self.init_steps = self.running()[1].init_population()
        self._after_generation()

    def _open_bar(self) -> None:
        """The terminal's progress bar over the experiment's train-step budget (root only)."""
        if self.progress_bar and self.island.is_root and self._bar is None:
            from tqdm import tqdm
            self._bar = tqdm(total=self.cfg.max_train_steps, unit="step", unit_scale=True, file=self.out,
                             initial=self.init_steps + self.steps, dynamic_ncols=True)

    def _evolve(self) -> bool:
        """Generations until the train-step budget or the wall-time limit; False on a stop request."""
        cfg = self.cfg
        deadline = None if cfg.max_seconds is None else self.started + cfg.max_seconds
        self._open_bar()
        try:
            while True:
                budget_used = self.steps >= cfg.max_train_steps - self.init_steps or self._experiment_limit()
                timed_out = deadline is not None and time.monotonic() >= deadline
                if self.island.any(self.stop_requested):
                    if self.store is not None:
                        self.store.checkpoint(self, force=True)
                    return False
                if self.island.any(budget_used or timed_out):
                    return True
                self.steps += self.running()[1].run_generation()
                self._after_generation()
        finally:
            if self._bar is not None:
                self._bar.close()
                self._bar = None

    def _experiment_limit(self) -> bool:
        """The individual budget is spent, or the search succeeded and stops at its first success."""
        limit = self.cfg.max_individuals
        return (limit is not None and self.running()[1].num_individuals >= limit) or (
            self.success_watch is not None and self.success_watch.stop)

    def _after_generation(self) -> None:
        """Success check, migration, progress output and storage after Init and after every generation."""
        if self.success_watch is not None:
            self.success_watch.after_generation(self)
        self.island.after_generation(self)
        _, evolution = self.running()
        if self._bar is not None:
            _, _, best, _ = evolution.stats()
            self._bar.n = min(self.init_steps + self.steps, self.cfg.max_train_steps)
            self._bar.set_postfix_str(f"indivs={evolution.num_individuals} best={best:.6f}", refresh=True)
        if self.last_printed is None or evolution.num_individuals >= self.last_printed + self.cfg.progress_every:
            self.last_printed = evolution.num_individuals
            line = self.island.progress_line(self)
            if self._bar is None:
                self.say(line)
            if self.store is not None:
                self.store.progress(self)
        if self.store is not None:
            self.store.after_generation(self)

    def _finish_experiment(self) -> bool:
        """Candidate -> T_select -> keep the best; True when the experiment loop is done (docs/semantics.md §9.6 h)."""
        cfg = self.cfg
        self.say("Experiment done. Retrieving candidate algorithm.")
        search_fitness, candidate = self.island.best_candidate(self)
        self.say(f"Search fitness for candidate algorithm = {search_fitness:.6f}")
        if cfg.randomize_task_seeds:
            self.select_specs = randomize_task_seeds(self.select_specs, self.island.broadcast(self.rng.random_seed()))
        select_seed = self.island.broadcast(self.rng.random_seed())
        self.say("Evaluating candidate algorithm from experiment (on T_select tasks)... ")
        select_fitness = self.island.broadcast(
            evaluate_on(cfg, self.select_specs, candidate, select_seed) if self.island.is_root else None)
        self.say(f"Select fitness for candidate algorithm = {select_fitness:.6f}")
        evaluator, evolution = self.running()
        experiment = Experiment(search_fitness, select_fitness, evolution.num_individuals,
                                evaluator.num_train_steps, candidate, select_seed)
        self.experiments.append(experiment)
        if select_fitness >= self.best_select_fitness:
            self.best_select_fitness = select_fitness
            self.best_algorithm = candidate
            self.say("Select fitness is the best so far. ")
        if self.store is not None:
            self.store.experiment_done(self, experiment)
        self.evolution = None
        self.evaluator = None
        if self.success_watch is not None and self.success_watch.stop:
            return True
        if cfg.sufficient_fitness is not None and cfg.sufficient_fitness > 0.0 \
                and self.best_select_fitness > cfg.sufficient_fitness:
            return True
        if cfg.max_seconds is not None and time.monotonic() >= self.started + cfg.max_seconds:
            return True
        return cfg.max_experiments != 0 and len(self.experiments) >= cfg.max_experiments

    def _final(self) -> SearchResult:
        self.say()
        self.say("Final evaluation of best algorithm (on unseen tasks)...")
        final_seed = self.island.broadcast(self.rng.random_seed())
        final_fitness = self.island.broadcast(
            evaluate_on(self.cfg, list(self.cfg.final_tasks), self.best_algorithm, final_seed)
            if self.island.is_root else None)
        self.say(f"Final evaluation fitness (on unseen data) = {final_fitness:.6f}")
        self.say("Algorithm found: ")
        self.say(self.best_algorithm.to_text())
        result = SearchResult(self.base_seed, self.best_algorithm, self.best_select_fitness, final_fitness,
                              self.experiments, time.monotonic() - self.started, final_seed=final_seed,
                              success=None if self.success_watch is None else self.success_watch.success)
        if self.store is not None:
            self.store.finish(self, result)
        return result

    def _interrupted(self) -> SearchResult:
        self.say("Stopped on request; the run can be resumed from its last checkpoint." if self.store is not None
                 else "Stopped on request.")
        return SearchResult(self.base_seed, self.best_algorithm, self.best_select_fitness, float("nan"),
                            self.experiments, time.monotonic() - self.started, interrupted=True)


def run_search(cfg: SearchConfig, seed: int | None = None, run_dir=None, out: TextIO | None = None, *,
               full_history: bool = False) -> SearchResult:
    """Run the experiment loop of `cfg` in this process and return the best algorithm found.

    `run_dir=None` stores nothing; otherwise the run is recorded there (azero.runs; the folder must not hold
    a run yet), with every evaluated individual too when `full_history`. Continue a stopped or killed run with
    `azero.resume(run_dir)`.
    """
    if run_dir is None:
        return Search(cfg, seed, out=out).run()
    store = RunStore(run_dir, full_history=full_history)
    try:
        return Search(cfg, seed, out=out, store=store).run()
    finally:
        store.close()
