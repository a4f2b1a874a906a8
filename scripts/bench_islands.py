"""Throughput and migration cost of the MPI islands (demo preset, fixed seed and individual count per island).

    python scripts/bench_islands.py [--ranks 1,2] [--individuals 200000] [--seed 1000] [--repeat 3]
    python scripts/bench_islands.py --ranks 2,4,8,16 --individuals 20000 --protocol pool --num-migrants 0 \
        --migrate-every 2000                      # migration table: the paper's half-population pool

Starts the launcher (`--mpiexec`, default the mpiexec beside sys.executable; Open MPI gets --oversubscribe, and
--allow-run-as-root as root) on itself for each rank count R; every island evolves the given number of
individuals (one experiment, no T_select/T_final evaluation), then the ranks report. Printed per R: total
individuals over islands, wall seconds (slowest rank), individuals/s, weak-scaling efficiency (individuals/s
over R times the 1-rank figure, when R=1 is in the list), migration rounds, the migration exchange time per
round (after a barrier, so waiting for slower islands is left out; slowest rank, mean over rounds) and the
migrant bytes each rank sends per round (most over ranks), the mean time of a generation (its collective
checks included) and its coefficient of variation, and the share of wall time spent in the per-generation
collective checks (stop, budget: waiting for the slowest island; most over ranks). With --repeat n the rank
counts are run n times in turn (R1 R2 R1 R2 …) and the median of each column is printed, so machine load hits
every R alike.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def worker(args: argparse.Namespace) -> None:
    import io

    import numpy as np
    from mpi4py import MPI

    from azero import islands, presets
    from azero.config import IslandsSpec
    from azero.search import Search

    cfg = presets.load("demo").replace(max_experiments=1, max_train_steps=10**15, sufficient_fitness=None)
    spec = cfg.islands
    cfg = cfg.replace(islands=IslandsSpec(migrate_every=args.migrate_every or spec.migrate_every,
                                          num_migrants=spec.num_migrants if args.num_migrants is None
                                          else args.num_migrants, protocol=args.protocol or spec.protocol))

    class Measured(islands.MPIIsland):
        exchange_seconds = 0.0
        sync_seconds = 0.0                 # inside the per-generation collective checks (waiting included)
        generation_ends: list[float] = []  # after_generation times: gaps are generations (+ their checks)

        def any(self, flag):
            started = time.perf_counter()
            result = super().any(flag)
            self.sync_seconds += time.perf_counter() - started
            return result

        def migrate(self, search):
            self.comm.Barrier()   # the islands' generations end at different times: time the exchange alone
            started = time.perf_counter()
            received = super().migrate(search)
            self.exchange_seconds += time.perf_counter() - started
            return received

        def after_generation(self, search):
            self.generation_ends.append(time.perf_counter())
            super().after_generation(search)
            if search.evolution.num_individuals >= args.individuals:
                search.request_stop()

    island = Measured(MPI.COMM_WORLD, cfg)
    search = Search(cfg, args.seed, out=io.StringIO(), island=island)
    MPI.COMM_WORLD.Barrier()
    started = time.perf_counter()
    search.run()
    seconds = time.perf_counter() - started
    gaps = np.diff(island.generation_ends)
    report = MPI.COMM_WORLD.gather(
        dict(individuals=search.evolution.num_individuals, seconds=seconds, migrations=island.migrations,
             exchange_seconds=island.exchange_seconds, bytes_sent=island.bytes_sent,
             sync_seconds=island.sync_seconds, generation_mean=float(gaps.mean()),
             generation_cv=float(gaps.std() / gaps.mean())), root=0)
    if island.is_root:
        print(json.dumps(report), flush=True)


def launcher(path: str | None) -> list[str]:
    """The launcher and the flags Open MPI needs on an oversubscribed machine (and as root)."""
    from azero.islands import mpiexec_path

    path = path or mpiexec_path()
    version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
    if not any(name in version.stdout + version.stderr for name in ("Open MPI", "OpenRTE")):
        return [path]
    return [path, "--oversubscribe", *(["--allow-run-as-root"] if os.geteuid() == 0 else [])]


def measure(command: list[str], ranks: int, passed: list[str]) -> dict[str, float]:
    proc = subprocess.run([*command, "-n", str(ranks), sys.executable, __file__, "--worker", *passed],
                          capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise SystemExit(f"bench_islands: {ranks} ranks failed:\n{proc.stderr}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    total = sum(r["individuals"] for r in report)
    seconds = max(r["seconds"] for r in report)
    rounds = report[0]["migrations"]
    return dict(individuals=total, seconds=seconds, rate=total / seconds, rounds=rounds,
                sync=max(r["sync_seconds"] / r["seconds"] for r in report),
                generation_ms=1000 * statistics.mean(r["generation_mean"] for r in report),
                generation_cv=statistics.mean(r["generation_cv"] for r in report),
                exchange_ms=1000 * max(r["exchange_seconds"] for r in report) / rounds if rounds else 0.0,
                bytes=max(r["bytes_sent"] for r in report) / rounds if rounds else 0.0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ranks", default="1,2", help="comma-separated rank counts (default 1,2)")
    p.add_argument("--individuals", type=int, default=200_000, help="individuals per island (default 200000)")
    p.add_argument("--seed", type=int, default=1000)
    p.add_argument("--protocol", default=None, help="migration protocol (default: the config's)")
    p.add_argument("--migrate-every", type=int, default=None)
    p.add_argument("--num-migrants", type=int, default=None)
    p.add_argument("--repeat", type=int, default=1, help="runs per rank count, interleaved; medians are printed")
    p.add_argument("--mpiexec", default=None, help="the launcher (default: the mpiexec beside sys.executable)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    passed = ["--individuals", str(args.individuals), "--seed", str(args.seed)]
    for flag, value in (("--protocol", args.protocol), ("--migrate-every", args.migrate_every),
                        ("--num-migrants", args.num_migrants)):
        if value is not None:
            passed += [flag, str(value)]
    command = launcher(args.mpiexec)
    rank_counts = [int(r) for r in args.ranks.split(",")]
    runs: dict[int, list[dict[str, float]]] = {ranks: [] for ranks in rank_counts}
    for _ in range(args.repeat):
        for ranks in rank_counts:
            runs[ranks].append(measure(command, ranks, passed))
    print(f"demo preset, seed {args.seed}, {args.individuals} individuals per island, {' '.join(passed[4:])} "
          f"launcher {' '.join(command)}, median of {args.repeat}")
    print(f"{'ranks':>5} {'individuals':>12} {'seconds':>8} {'indivs/s':>10} {'weak eff.':>9} {'rounds':>6} "
          f"{'ms/round':>9} {'bytes/rank/round':>16} {'gen. ms':>7} {'gen. cv':>7} {'sync':>6}")
    single = statistics.median(r["rate"] for r in runs[1]) if 1 in runs else None
    for ranks in rank_counts:
        m = {key: statistics.median(r[key] for r in runs[ranks]) for key in runs[ranks][0]}
        efficiency = f"{m['rate'] / (ranks * single):.3f}" if single else "-"
        print(f"{ranks:>5} {int(m['individuals']):>12} {m['seconds']:>8.2f} {m['rate']:>10.0f} {efficiency:>9} "
              f"{int(m['rounds']):>6} {m['exchange_ms']:>9.3f} {int(m['bytes']):>16} {m['generation_ms']:>7.2f} "
              f"{m['generation_cv']:>7.3f} {m['sync']:>6.1%}")


if __name__ == "__main__":
    main()
