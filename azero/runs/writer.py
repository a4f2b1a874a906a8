"""The writer of a run directory: `RunStore`, the store a search calls to record itself.

`RunStore` implements the hooks of `azero.search.RunRecorder` (`start`, `progress`, `after_generation`,
`checkpoint`, `experiment_done`, `finish`; the island layer calls `migration` and, before immigrants arrive,
`before_migration`). Under MPI every rank gets its own RunStore for the same directory; its hooks contain
collectives, like the loop's. Rank 0 keeps run.h5's contents and replaces the file whole on every change; each
rank appends to its island file in HDF5 SWMR mode, so readers can follow it live and a kill -9 at any moment
leaves every committed checkpoint readable.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime
import os
import time
from pathlib import Path
from typing import Any, Protocol

import h5py
import numpy as np

from azero.config import SearchConfig
from azero.results import Experiment, SearchResult
from azero.runs.directory import RunInfo, _create_island, _holds_run, _write_run
from azero.runs.files import _fsync, _lock, _Table
from azero.runs.schema import (_TABLES, NO_PRINT, NUM_SLOTS, PROGRESS_DTYPE, Layout, RunStoreError, _specs_seeds,
                               island_file)
from azero.search_state import SearchState


class RecordedSearch(Protocol):
    """What the store reads of the search it records (`azero.search.Search` is one)."""

    cfg: SearchConfig
    base_seed: int
    seed: int
    island: Any             # the search's `azero.search.Island`: rank, size, is_root, broadcast, any
    evolution: Any          # the compiled RegularizedEvolution of the current experiment
    evaluator: Any          # the compiled Evaluator of the current experiment
    experiments: list[Experiment]
    started: float          # time.monotonic() when the search started

    def checkpoint_state(self) -> SearchState: ...

@dataclasses.dataclass
class Counters:
    """Where an island's store goes on: checkpoint numbering and generation count."""

    generation: int = -1            # after_generation calls so far minus one (Init is generation 0)
    next_seq: int = 1
    resumable: int = 0              # resumable checkpoints written (the next one uses slot resumable % NUM_SLOTS)
    last_checkpoint_generation: int = -2


class RunStore:
    """Records a search into `run_dir` (see the module docstring); pass it as `Search(..., store=...)`.

    `checkpoint_every_seconds` overrides the config's interval (0 = only at stop); `checkpoint_every_generations`
    checkpoints at fixed generations instead (deterministic; for tests and benchmarks). `full_history` also
    records every evaluated individual (fitness and program). `replace_run`: `start` may replace a run already
    in `run_dir` (a resume that starts again from the seed). `reopen` continues a resumed island instead.
    """

    def __init__(self, run_dir: str | os.PathLike, *, full_history: bool = False,
                 checkpoint_every_seconds: float | None = None, checkpoint_every_generations: int | None = None,
                 replace_run: bool = False):
        self.run_dir = Path(run_dir)
        self.full_history = full_history
        self.every_seconds = checkpoint_every_seconds
        self.every_generations = checkpoint_every_generations
        self.counters = Counters()
        self.info: RunInfo | None = None      # rank 0 only
        self.island_id = 0
        self.layout: Layout | None = None
        self.file: h5py.File | None = None
        self.tables: dict[str, _Table] = {}
        self._writer: concurrent.futures.ThreadPoolExecutor | None = None
        self._history: concurrent.futures.Future | None = None
        self._history_key: tuple[int, int] | None = None   # (experiment, individuals) last recorded in history
        self._lock: int | None = None           # flock held on .island-NNNN.lock while this store writes
        self.last_checkpoint_time = time.monotonic()
        self.seconds_in_store = 0.0            # time spent in the hooks (benchmarks)
        self.replace_run = replace_run

    @classmethod
    def reopen(cls, run_dir: str | os.PathLike, cfg: SearchConfig, island_id: int, counters: Counters,
               info: RunInfo | None, **options: Any) -> RunStore:
        """The store of a resumed island: its file (complete and renamed in) opened for appending, numbering
        checkpoints on from `counters`. `info` is run.h5's contents on rank 0 (None on the other ranks);
        `options` are the constructor's."""
        store = cls(run_dir, **options)
        store.info = info
        store.counters = counters
        store._attach(cfg, island_id)
        return store

    # -- setup --

    def _attach(self, cfg: SearchConfig, island_id: int) -> None:
        """Open this island's (complete, renamed-in) file for appending in SWMR mode."""
        self.island_id = island_id
        self.layout = Layout.of(cfg)
        if self.every_seconds is None:
            self.every_seconds = cfg.checkpoint_every_seconds
        path = self.run_dir / island_file(island_id)
        self._lock = _lock(self.run_dir, island_id)
        # Opened in SWMR-write mode from the first moment (no window in which a kill would leave a file that
        # only h5clear can open again).
        fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
        fapl.set_libver_bounds(h5py.h5f.LIBVER_V110, h5py.h5f.LIBVER_V110)
        fapl.set_file_locking(True, True)      # best effort: file systems without locks are fine
        self.file = h5py.File(h5py.h5f.open(os.fsencode(path), h5py.h5f.ACC_RDWR | h5py.h5f.ACC_SWMR_WRITE,
                                            fapl=fapl))
        self.tables = {name: _Table(self.file[name]) for name in (*_TABLES, "history") if name in self.file}
        if self.full_history:
            self._writer = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        self.last_checkpoint_time = time.monotonic()

    def _write_run(self) -> None:
        _write_run(self.run_dir, self._run_info())

    def _run_info(self) -> RunInfo:
        """run.h5's record (rank 0 holds it from start or resume on)."""
        if self.info is None:
            raise RuntimeError("only rank 0 of a started run holds run.h5's record")
        return self.info

    def _attached(self) -> tuple[Layout, h5py.File]:
        """The layout and open file of this island (from start or resume on)."""
        if self.layout is None or self.file is None:
            raise RuntimeError("the run store has no island file open")
        return self.layout, self.file

    # -- hooks called by Search --

    def start(self, search: RecordedSearch) -> None:
        """A fresh run: run.h5 saying "starting" (rank 0), every island's empty file, then run.h5 "running".

        A run killed while starting holds nothing worth keeping: resume starts it again."""
        t0 = time.perf_counter()
        island = search.island
        error = None
        if island.is_root and not self.replace_run and _holds_run(self.run_dir):
            error = f"{self.run_dir}: already holds a run; continue it with resume"
        error = island.broadcast(error)
        if error is not None:
            raise RunStoreError(error)
        if island.is_root:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self.info = RunInfo(
                cfg=search.cfg, base_seed=search.base_seed, full_history=self.full_history,
                created=datetime.datetime.now().isoformat(timespec="seconds"), status="starting",
                island_ids=list(range(island.size)), num_islands=island.size,
                segments=[(time.time(), island.size, -1, 0)], segment_islands=[list(range(island.size))],
                experiments=[])
            self._write_run()
        island.broadcast(None)   # run directory exists on every rank
        _create_island(self.run_dir / island_file(island.rank), search.cfg,
                       dict(island=island.rank, base_seed=search.base_seed, island_seed=search.seed,
                            parent_island=-1, parent_checkpoint=-1), self.full_history)
        self._attach(search.cfg, island.rank)
        island.any(False)        # a barrier: every island file exists
        if island.is_root:
            self._run_info().status = "running"
            self._write_run()
        self.seconds_in_store += time.perf_counter() - t0

    def progress(self, search: RecordedSearch) -> None:
        """One progress row (what the progress line shows, plus counters), flushed for live readers."""
        t0 = time.perf_counter()
        evolution, evaluator = search.evolution, search.evaluator
        mean, stdev, best, _ = evolution.stats()
        fec = evaluator.fec
        row = np.array([(len(search.experiments), evolution.num_individuals, evaluator.num_train_steps,
                         time.monotonic() - search.started, time.time(), mean, stdev, best,
                         0 if fec is None else fec.hits, 0 if fec is None else fec.misses,
                         evolution.hurdle_rejections)], dtype=PROGRESS_DTYPE)
        self.tables["progress"].append(row)
        self._attached()[1].flush()
        self.seconds_in_store += time.perf_counter() - t0

    def after_generation(self, search: RecordedSearch) -> None:
        """New bests (and every individual with full history); a checkpoint when one is due."""
        t0 = time.perf_counter()
        self.counters.generation += 1
        evolution = search.evolution
        experiment = len(search.experiments)
        n = evolution.num_improved
        if n:
            rows = np.zeros(n, dtype=self._attached()[0].lineage_dtype)
            rows["experiment"] = experiment
            rows["individual"] = evolution.improved_individuals[:n]
            rows["fitness"] = evolution.improved_fitness[:n]
            rows["sizes"] = evolution.improved_sizes[:n]
            rows["program"] = evolution.improved_programs[:n]
            self.tables["lineage"].append(rows)
        self.before_migration(search)
        if self.every_generations:     # the same on every rank: no collective needed
            due = self.counters.generation % self.every_generations == 0
        elif self.every_seconds:         # rank 0's clock decides for all
            due = search.island.broadcast(search.island.is_root and
                                          time.monotonic() - self.last_checkpoint_time >= self.every_seconds)
        else:
            due = False
        self.seconds_in_store += time.perf_counter() - t0
        if due:
            self.checkpoint(search)

    def before_migration(self, search: RecordedSearch) -> None:
        """With full history, record the generation just evaluated (slot s = its s-th individual) now, before
        immigrants replace its oldest slots; after_generation then skips it. A no-op without full history."""
        if not self.full_history:
            return
        evolution = search.evolution
        key = (len(search.experiments), evolution.num_individuals)
        if key == self._history_key:
            return
        self._history_key = key
        P = evolution.population_size
        rows = np.zeros(P, dtype=self._attached()[0].lineage_dtype)
        rows["experiment"] = key[0]
        rows["individual"] = np.arange(evolution.num_individuals - P + 1, evolution.num_individuals + 1)
        rows["fitness"] = evolution.fitness
        rows["sizes"] = evolution.sizes
        rows["program"] = evolution.programs
        self._wait_history()
        assert self._writer is not None  # _attach starts it for a full history
        self._history = self._writer.submit(self.tables["history"].append, rows)

    def checkpoint(self, search: RecordedSearch, force: bool = False) -> None:
        """Write a resumable checkpoint now (`force`: the stop request's; skipped if this boundary has one)."""
        t0 = time.perf_counter()
        if self.counters.last_checkpoint_generation != self.counters.generation:
            self._snapshot(search, resumable=True)
        if force and search.island.is_root:
            self._run_info().status = "stopped"
            self._write_run()
        self.seconds_in_store += time.perf_counter() - t0

    def experiment_done(self, search: RecordedSearch, experiment: Experiment) -> None:
        """Final population of the experiment (a non-resumable snapshot); the experiment into run.h5."""
        t0 = time.perf_counter()
        self._snapshot(search, resumable=False)
        if search.island.is_root:
            self._run_info().experiments = list(search.experiments)
            self._write_run()
        self.seconds_in_store += time.perf_counter() - t0

    def finish(self, search: RecordedSearch, result: SearchResult) -> None:
        """Final result into run.h5 (rank 0); close this island's file (which ends SWMR mode)."""
        t0 = time.perf_counter()
        if search.island.is_root:
            info = self._run_info()
            info.experiments = list(result.experiments)
            info.status = "finished"
            info.final = dict(final_fitness=float(result.final_fitness),
                              best_select_fitness=float(result.best_select_fitness),
                              elapsed_seconds=float(result.elapsed_seconds),
                              final_seed=int(result.final_seed), best_algorithm=result.best_algorithm)
            self._write_run()
        self.close()
        self.seconds_in_store += time.perf_counter() - t0

    def migration(self, search: RecordedSearch, from_rank: int, to_rank: int, fitness: np.ndarray) -> None:
        """Record migrants moved from `from_rank` to `to_rank` (their fitness), at this island's count."""
        t0 = time.perf_counter()
        fitness = np.asarray(fitness, dtype=np.float64).reshape(-1)
        layout, _ = self._attached()
        if len(fitness) > layout.num_migrants:
            raise ValueError(f"{len(fitness)} migrants > islands.num_migrants ({layout.num_migrants})")
        row = np.zeros(1, dtype=layout.migration_dtype)
        row["fitness"] = np.nan
        row[0]["fitness"][:len(fitness)] = fitness
        row["experiment"] = len(search.experiments)
        row["individuals"] = search.evolution.num_individuals
        row["elapsed"] = time.monotonic() - search.started
        row["wall_time"] = time.time()
        row["from_rank"], row["to_rank"], row["count"] = from_rank, to_rank, len(fitness)
        self.tables["migrations"].append(row)
        self.seconds_in_store += time.perf_counter() - t0

    def close(self) -> None:
        self._wait_history()
        if self._writer is not None:
            self._writer.shutdown()
            self._writer = None
        if self.file is not None:
            self.file.close()
            self.file = None
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def _wait_history(self) -> None:
        """Finish the pending history append (it runs in a thread, beside the next nogil generation)."""
        if self._history is not None:
            self._history.result()
            self._history = None

    # -- checkpoints --

    def _snapshot(self, search: RecordedSearch, resumable: bool) -> None:
        """Population snapshot, then (resumable) FEC and hurdle ring into the next slot, then the commit row.

        Each step is flushed before the next, so the checkpoint row — written last — only ever names data that
        is complete in the file; the slots of the previous NUM_SLOTS - 1 resumable checkpoints are untouched.
        """
        (layout, f), counters = self._attached(), self.counters
        self._wait_history()
        state = search.checkpoint_state()
        evo, ev = state.experiment_state()
        pop = f["population"]
        k = self.tables["checkpoints"].length
        for name in ("programs", "sizes", "fitness"):
            ds = pop[name]
            ds.resize((k + 1,) + ds.shape[1:])
            ds[k] = getattr(evo, name)
        slot = -1
        fec = ev.fec
        fec_size = 0 if fec is None else len(fec.entries[0])
        hurdles = evo.hurdles
        if resumable:
            slot = counters.resumable % NUM_SLOTS
            if fec is not None and fec_size:
                for name, values in zip(("fec_keys", "fec_fitness", "fec_counts"), fec.entries):
                    f["resume"][name][slot, :fec_size] = values
            if hurdles is not None:
                f["resume"]["hurdle_ring"][slot] = hurdles[0]
        f.flush()
        if resumable:
            _fsync(f)
        search_flag, search_param, search_data = _specs_seeds(
            state.search_specs, search.cfg.search_tasks, layout.num_search_tasks)
        select_flag, select_param, select_data = _specs_seeds(
            state.select_specs, search.cfg.select_tasks, layout.num_select_tasks)
        fitness = evo.fitness
        row = np.zeros(1, dtype=layout.checkpoint_dtype)
        row[0] = (
            counters.next_seq, resumable, slot, counters.generation, len(state.experiments),
            evo.num_individuals, ev.num_train_steps, state.init_steps, state.steps,
            NO_PRINT if state.last_printed is None else state.last_printed, state.elapsed,
            state.experiment_elapsed, time.time(), state.best_select_fitness, evo.best_ever_fitness,
            fitness.max(), fitness.mean(), 0 if fec is None else fec.hits, 0 if fec is None else fec.misses,
            fec_size, evo.hurdle_rejections, *((0, 0, 0.0) if hurdles is None else hurdles[1:]), state.rng,
            search_flag, search_param, search_data, select_flag, select_param, select_data,
            self.tables["progress"].length, self.tables["lineage"].length, self.tables["migrations"].length,
            self.tables["history"].length if self.full_history else 0)
        self.tables["checkpoints"].append(row)
        f.flush()
        counters.next_seq += 1
        if resumable:
            _fsync(f)
            counters.resumable += 1
            counters.last_checkpoint_generation = counters.generation
            self.last_checkpoint_time = time.monotonic()


