"""Resuming a run: the search and the store brought back to a checkpoint, on every rank.

This module sits above both the experiment loop (`azero.search`) and the run store (`azero.runs.writer`): it
plans with `azero.runs.checkpoints`, rebuilds each island's file, reopens the store and restores the search.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, TextIO

from azero.config import SearchConfig
from azero.results import SearchResult
from azero.runs.checkpoints import PreparedIsland, _plan, _prepare_island
from azero.runs.directory import _write_run
from azero.runs.schema import RunStoreError
from azero.runs.writer import RunStore
from azero.search import Island, LocalIsland, Search
from azero.search_state import SearchState


def resume(run_dir: str | os.PathLike, out: TextIO | None = None, island: Island | None = None, *,
           cfg: SearchConfig | None = None, progress_bar: bool = False,
           checkpoint_every_seconds: float | None = None, checkpoint_every_generations: int | None = None,
           prepare: Callable[[Search], object] | None = None, from_checkpoint: int | None = None,
           restart: bool = False) -> SearchResult:
    """Continue the run in `run_dir` from its last checkpoint and return its result.

    With the same rank count the result is bitwise the one of the uninterrupted run. With fewer ranks the best
    islands go on (best on rank 0); with more, the extra ranks start copies of the best islands with fresh
    random streams; the log says which. A finished run returns its stored result; a run with no checkpoint
    starts again from its seed. `cfg`, if given, must equal the stored config. Under MPI pass this rank's
    island (every rank calls resume). `prepare(search)` is called with the Search before it runs (e.g. to
    install signal handlers that call its request_stop). RunStoreError (one line) on a bad run directory,
    before any write.

    Every island file is read in full first (checksums; of the resume slots only those of the kept checkpoints):
    a damaged run is refused, changing nothing, unless
    `from_checkpoint=N` (continue from checkpoint N, giving up the records after it) or `restart=True` (start
    again from the seed, giving up every record) says what to give up.
    """
    island = island if island is not None else LocalIsland()
    out = sys.stdout if out is None else out
    run_dir = Path(run_dir)
    plan, error = None, None
    if island.is_root:
        try:
            if from_checkpoint is not None and restart:
                raise RunStoreError(f"{run_dir}: give --from-checkpoint or --restart, not both")
            plan = _plan(run_dir, island.size, cfg, from_checkpoint, restart)
        except RunStoreError as e:
            error = str(e)
        else:
            for stale in run_dir.glob(".*.tmp"):      # left by a writer killed while writing a file
                stale.unlink(missing_ok=True)
    plan, error = island.broadcast((plan, error))
    if error is not None:
        raise RunStoreError(error)
    info = plan.info
    if hasattr(island, "migrations"):       # MPI islands count migration rounds for their progress line
        island.migrations = plan.migration_rounds
    say = (lambda line: print(line, file=out, flush=True)) if island.is_root else (lambda line: None)
    if plan.result is not None:
        say(f"Run {run_dir} has finished; nothing to resume.")
        return plan.result
    options: dict[str, Any] = dict(full_history=info.full_history, checkpoint_every_seconds=checkpoint_every_seconds,
                                   checkpoint_every_generations=checkpoint_every_generations)
    for line in plan.messages:
        say(line)

    def run(store: RunStore, state: SearchState | None) -> SearchResult:
        search = Search(info.cfg, info.base_seed, out=out, island=island, store=store, progress_bar=progress_bar)
        if state is not None:
            search.restore_state(state)
        if prepare is not None:
            prepare(search)
        try:
            return search.run()
        finally:
            store.close()

    if plan.seq is None:   # start() replaces run.h5 and the island files, each by an atomic rename
        return run(RunStore(run_dir, replace_run=True, **options), None)
    # Phase 1: every rank builds its island file under a temporary name (nothing replaced yet).
    prepared: PreparedIsland | None = None
    failed, message = False, ""
    try:
        prepared = _prepare_island(run_dir, plan, island.rank, island.island_seed(info.base_seed))
    except RunStoreError as e:
        failed, message = True, str(e)
    if island.any(failed):
        if prepared is not None:
            prepared.tmp.unlink(missing_ok=True)
        raise RunStoreError(message or f"{run_dir}: resume failed on another rank")
    # Phase 2: move the files in place, then run.h5 names the new segment.
    assert prepared is not None  # set unless this rank failed, and a failure on any rank raised above
    os.replace(prepared.tmp, prepared.target)
    island.broadcast(None)
    state = prepared.state
    if island.is_root:
        ids = [a.island for a in plan.assignments]
        info.experiments = state.experiments
        info.status = "running"
        info.island_ids = ids
        info.num_islands = max(info.num_islands, max(ids) + 1)
        info.segments.append((time.time(), island.size, plan.seq, state.experiment_state()[0].num_individuals))
        info.segment_islands.append(ids)
        _write_run(run_dir, info)
    island.broadcast(None)
    store = RunStore.reopen(run_dir, info.cfg, plan.assignments[island.rank].island, prepared.counters,
                            info if island.is_root else None, **options)
    return run(store, state)
