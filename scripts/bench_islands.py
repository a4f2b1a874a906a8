"""Throughput of the MPI islands: individuals/s at 1 and 2 ranks (demo preset, fixed seed and individual count).

    python scripts/bench_islands.py [--ranks 1,2] [--individuals 200000] [--seed 1000]

Starts `mpiexec -n R` (the one beside sys.executable) on itself for each R; every island evolves the given number
of individuals (one experiment, no T_select/T_final evaluation), then the ranks report their timings. Printed per R:
total individuals over islands, wall seconds (slowest rank), individuals/s, migration rounds and the time spent
in migration (slowest rank, waiting for partners included).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def worker(args: argparse.Namespace) -> None:
    import io

    from mpi4py import MPI

    from azero import islands, presets
    from azero.config import IslandsSpec
    from azero.search import Search

    cfg = presets.load("demo").replace(max_experiments=1, max_train_steps=10**15, sufficient_fitness=None)
    if args.protocol or args.migrate_every or args.num_migrants is not None:
        spec = cfg.islands
        cfg = cfg.replace(islands=IslandsSpec(migrate_every=args.migrate_every or spec.migrate_every,
                                              num_migrants=spec.num_migrants if args.num_migrants is None
                                              else args.num_migrants, protocol=args.protocol or spec.protocol))

    class Counted(islands.MPIIsland):
        def after_generation(self, search):
            super().after_generation(search)
            if search.evolution.num_individuals >= args.individuals:
                search.request_stop()

    island = Counted(MPI.COMM_WORLD, cfg)
    search = Search(cfg, args.seed, out=io.StringIO(), island=island)
    MPI.COMM_WORLD.Barrier()
    started = time.perf_counter()
    search.run()
    seconds = time.perf_counter() - started
    report = MPI.COMM_WORLD.gather(
        dict(individuals=search.evolution.num_individuals, seconds=seconds, migrations=island.migrations,
             migration_seconds=island.migration_seconds), root=0)
    if island.is_root:
        print(json.dumps(report), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ranks", default="1,2", help="comma-separated rank counts (default 1,2)")
    p.add_argument("--individuals", type=int, default=200_000, help="individuals per island (default 200000)")
    p.add_argument("--seed", type=int, default=1000)
    p.add_argument("--protocol", default=None, help="migration protocol (default: the config's)")
    p.add_argument("--migrate-every", type=int, default=None)
    p.add_argument("--num-migrants", type=int, default=None)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    from azero.islands import mpiexec_path

    passed = ["--individuals", str(args.individuals), "--seed", str(args.seed)]
    for flag, value in (("--protocol", args.protocol), ("--migrate-every", args.migrate_every),
                        ("--num-migrants", args.num_migrants)):
        if value is not None:
            passed += [flag, str(value)]
    print(f"demo preset, seed {args.seed}, {args.individuals} individuals per island")
    print(f"{'ranks':>5} {'individuals':>12} {'seconds':>8} {'indivs/s':>10} {'migrations':>10} {'migr. s':>8}")
    for ranks in (int(r) for r in args.ranks.split(",")):
        proc = subprocess.run([mpiexec_path(), "-n", str(ranks), sys.executable, __file__, "--worker", *passed],
                              capture_output=True, text=True, timeout=3600)
        if proc.returncode != 0:
            raise SystemExit(f"bench_islands: {ranks} ranks failed:\n{proc.stderr}")
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        total = sum(r["individuals"] for r in report)
        seconds = max(r["seconds"] for r in report)
        print(f"{ranks:>5} {total:>12} {seconds:>8.2f} {total / seconds:>10.0f} {report[0]['migrations']:>10} "
              f"{max(r['migration_seconds'] for r in report):>8.3f}")


if __name__ == "__main__":
    main()
