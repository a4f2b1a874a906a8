"""Helper of tests/test_islands.py: one small island search per rank, started by `mpiexec -n N` (or alone).

Modes:
  migrate  evolve for a fixed number of individuals per island and dump, per rank, every migration round's
           population before and after, the immigrants' sources, the store's migration records and the final
           population to OUT/rank<r>.npz (+ OUT/rank<r>.json with the island's counters);
  search   the full experiment loop (rank 0 prints the usual lines to stdout); per rank OUT/rank<r>.json with
           the experiments and whether the run was interrupted. Options make rank R raise, install the signal
           handlers, or use the single-process LocalIsland (--local, no MPI at all).
"""
from __future__ import annotations

import argparse
import dataclasses
import io
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402

from azero import islands, presets  # noqa: E402
from azero.config import IslandsSpec  # noqa: E402
from azero.search import Search  # noqa: E402


def small_config(args: argparse.Namespace):
    """The demo with a small population and small T_select / T_final sets."""
    cfg = presets.load("demo")

    def shrink(specs):
        return [dataclasses.replace(spec, num_tasks=4, num_train_examples=100) for spec in specs]

    return cfg.replace(
        population_size=args.population, tournament_size=min(10, args.population), progress_every=args.progress_every,
        max_train_steps=args.max_train_steps, max_experiments=args.max_experiments,
        sufficient_fitness=args.sufficient, select_tasks=shrink(cfg.select_tasks), final_tasks=shrink(cfg.final_tasks),
        islands=IslandsSpec(migrate_every=args.migrate_every, num_migrants=args.num_migrants, protocol=args.protocol))


class RecordingStore:
    """A store that only records the migration callbacks (every other store method is a no-op)."""

    def __init__(self) -> None:
        self.records: list[tuple[int, int, np.ndarray]] = []

    def migration(self, search, from_rank: int, to_rank: int, fitness: np.ndarray) -> None:
        self.records.append((from_rank, to_rank, fitness))

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: None


def run_migrate(args: argparse.Namespace, cfg) -> None:
    from mpi4py import MPI

    rounds: list[dict[str, np.ndarray]] = []

    class Recording(islands.MPIIsland):
        def migrate(self, search):
            evolution = search.evolution
            before = [a.copy() for a in (evolution.programs, evolution.sizes, evolution.fitness)]
            received = super().migrate(search)
            after = [a.copy() for a in (evolution.programs, evolution.sizes, evolution.fitness)]
            rounds.append(dict(zip(("pre_programs", "pre_sizes", "pre_fitness"), before))
                          | dict(zip(("post_programs", "post_sizes", "post_fitness"), after))
                          | {"received": np.int64(received)})
            return received

        def after_generation(self, search):
            super().after_generation(search)
            if search.evolution.num_individuals >= args.individuals:
                search.request_stop()

    island = Recording(MPI.COMM_WORLD, cfg)
    store = RecordingStore()
    search = Search(cfg, args.seed, out=io.StringIO(), island=island, store=store)
    result = search.run()
    out = Path(args.out)
    evolution = search.evolution
    best_fitness, best = island.best_candidate(search)
    local_best = evolution.individual(evolution.stats()[3])
    arrays = {f"r{i}_{name}": value for i, round_ in enumerate(rounds) for name, value in round_.items()}
    arrays |= {f"store{i}_fitness": fitness for i, (_, _, fitness) in enumerate(store.records)}
    np.savez(out / f"rank{island.rank}.npz", programs=evolution.programs, sizes=evolution.sizes,
             fitness=evolution.fitness, store_ranks=np.array([(a, b) for a, b, _ in store.records], dtype=np.int64)
             .reshape(-1, 2), best_fitness=np.float64(best_fitness),
             **{f"best_{name}": part for name, part in zip(("setup", "predict", "learn"), best.functions)},
             **{f"local_best_{name}": part for name, part in zip(("setup", "predict", "learn"), local_best)}, **arrays)
    info = dict(rank=island.rank, size=island.size, rounds=len(rounds), migrations=island.migrations,
                migration_seconds=island.migration_seconds, sent=island.migrants_sent,
                received=island.migrants_received, interrupted=result.interrupted,
                individuals=evolution.num_individuals, k=island.num_migrants(search))
    (out / f"rank{island.rank}.json").write_text(json.dumps(info))


def run_search(args: argparse.Namespace, cfg) -> None:
    if args.abort_on_exception:
        islands.install_abort_on_exception()
    if args.local:
        island = None
    elif args.raise_on_rank is not None:
        from mpi4py import MPI

        class Failing(islands.MPIIsland):
            def after_generation(self, search):
                super().after_generation(search)
                if self.rank == args.raise_on_rank and search.evolution.num_individuals > 2 * cfg.population_size:
                    raise RuntimeError(f"deliberate failure on rank {self.rank}")

        island = Failing(MPI.COMM_WORLD, cfg)
    else:
        island = islands.detect(cfg)
        assert island is not None, "run without an MPI launcher"
    search = Search(cfg, args.seed, island=island)
    if args.signals:
        islands.install_signal_handlers(search)
    result = search.run()
    info = dict(rank=search.island.rank, size=search.island.size, interrupted=result.interrupted,
                experiments=[[e.search_fitness, e.select_fitness, e.num_individuals] for e in result.experiments],
                best_select_fitness=result.best_select_fitness, final_fitness=result.final_fitness,
                program=result.best_algorithm.to_text())
    if args.out:
        Path(args.out, f"rank{search.island.rank}.json").write_text(json.dumps(info))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("migrate", "search"))
    p.add_argument("--out", default=None)
    p.add_argument("--seed", type=int, default=4242)
    p.add_argument("--population", type=int, default=60)
    p.add_argument("--progress-every", type=int, default=10000)
    p.add_argument("--max-train-steps", type=int, default=10**12)
    p.add_argument("--max-experiments", type=int, default=1)
    p.add_argument("--sufficient", type=float, default=None)
    p.add_argument("--individuals", type=int, default=600, help="migrate mode: stop after this many per island")
    p.add_argument("--protocol", default="ring")
    p.add_argument("--migrate-every", type=int, default=120)
    p.add_argument("--num-migrants", type=int, default=7)
    p.add_argument("--local", action="store_true", help="search mode: LocalIsland, no MPI")
    p.add_argument("--signals", action="store_true", help="search mode: SIGTERM/SIGUSR1 request a stop")
    p.add_argument("--raise-on-rank", type=int, default=None)
    p.add_argument("--abort-on-exception", action="store_true")
    args = p.parse_args()
    cfg = small_config(args)
    (run_migrate if args.mode == "migrate" else run_search)(args, cfg)


if __name__ == "__main__":
    main()
