"""A live or finished run in a few lines: its state (told apart by the writers' locks) and its progress."""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from azero.runs.files import _writer_alive
from azero.runs.reader import load_run


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def run_state(run_dir: str | os.PathLike, status_attr: str, island_ids: list[int]) -> str:
    """What a person needs to know of a run: "finished", "running" (a live process holds a writer's lock),
    "stopped (resume with: ...)" or "killed (resume with: ...)"."""
    run_dir = Path(run_dir)
    if status_attr == "finished":
        return "finished"
    live = [_writer_alive(run_dir, i) for i in island_ids]
    if any(live):
        return "running"
    hint = f"resume with: azero resume {run_dir}"
    if None in live:
        return f"{status_attr} (this file system cannot tell a live writer from a dead one; if none runs, {hint})"
    return f"stopped ({hint})" if status_attr == "stopped" else f"killed ({hint})"


def status(run_dir: str | os.PathLike) -> str:
    """A few lines on a live or finished run: its state (running, stopped, finished or killed, told apart by the
    writers' locks), experiments, and per island individuals (counted as `azero show` counts them), best
    fitness, last progress and last checkpoint. Experiments are numbered from 0, as in the files and in
    `show`. Reads (and so checks) every file; RunStoreError naming the file on a bad directory."""
    from azero.analysis import _experiment_lengths    # the one count of an island's individuals (show's)

    run_dir = Path(run_dir)
    run = load_run(run_dir)
    now = time.time()
    state = run_state(run_dir, run.status, run.island_ids)
    best = f", best select fitness {_best_of_rows(run.experiments):.6f}" if len(run.experiments) else ""
    lines = [f"run {run_dir}: {state}, seed {run.seed}, {run.num_ranks} rank(s), "
             f"{len(run.experiments)} experiment(s) done{best}"]
    by_number = {island.island: island for island in run.islands}
    total = 0
    for rank, i in enumerate(run.island_ids):
        island = by_number.get(i)
        if island is None:
            lines.append(f"  island {i} (rank {rank}): not started")
            continue
        individuals = sum(_experiment_lengths(run, island).values())
        total += individuals
        text = f"  island {i} (rank {rank}): {individuals:,} individuals"
        if len(island.progress):
            p = island.progress[-1]
            text += (f"; latest: experiment {int(p['experiment'])}, indivs={int(p['individuals'])}, "
                     f"best fit={p['best']:.6f}, mean={p['mean']:.6f}, {_ago(now - p['wall_time'])}")
        if run.status != "finished":
            resumable = island.checkpoints[island.checkpoints["resumable"] == 1]
            if len(resumable):
                c = resumable[-1]
                text += (f"; last checkpoint {int(c['seq'])} {_ago(now - c['wall_time'])} "
                         f"(experiment {int(c['experiment'])}, indivs={int(c['individuals'])})")
            else:
                text += "; no checkpoint yet"
        lines.append(text)
    if len(run.island_ids) > 1:
        lines.append(f"  total: {total:,} individuals")
    if run.final is not None:
        final = run.final
        lines.append(f"final fitness {final['final_fitness']:.6f} (select {final['best_select_fitness']:.6f}, "
                     f"{final['elapsed_seconds']:.0f} s)")
    return "\n".join(lines)


def _best_of_rows(experiments: np.ndarray) -> float:
    return float(np.max(experiments["select_fitness"]))
