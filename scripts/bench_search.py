"""Throughput of the evolution loop: individuals/s and FEC hit rate on a preset, single core.

Builds the first experiment's T_search evaluator, mutator and population exactly as `azero.search` does
(task seeds re-drawn first when the preset randomises them), then times only the evolution: Init plus whole
generations until at least `--individuals` individuals are evaluated. The run is deterministic for a seed, so
the individual count, train steps, FEC figures and best fitness are the same on every machine; only the
time varies.

    .venv/bin/python scripts/bench_search.py [--preset demo] [--individuals 200000] [--seed 2]
                                             [--hurdles 75,1000,1]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

import azero.presets  # noqa: E402
from azero._core.evolution import RegularizedEvolution  # noqa: E402
from azero._core.rng import RandomGenerator  # noqa: E402
from azero.search import build_evaluator, build_mutator, capacities, initial_model  # noqa: E402
from azero.tasks import make_tasks, randomize_task_seeds  # noqa: E402


def parse_hurdles(text: str) -> tuple[float, int, int]:
    percentile, window, tasks = text.split(",")
    return float(percentile), int(window), int(tasks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="demo")
    parser.add_argument("--individuals", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--hurdles", type=parse_hurdles, default=None,
                        help="percentile,window,tasks (default: the preset's setting)")
    args = parser.parse_args()

    cfg = azero.presets.load(args.preset)
    rng = RandomGenerator(args.seed)
    initial, randomize_initial = initial_model(cfg)
    specs = list(cfg.search_tasks)
    if cfg.randomize_task_seeds:
        specs = randomize_task_seeds(specs, rng.random_seed())
    evaluator = build_evaluator(cfg, make_tasks(specs))
    hurdles = args.hurdles
    if hurdles is None and cfg.hurdles is not None:
        hurdles = (cfg.hurdles.percentile, cfg.hurdles.window, cfg.hurdles.tasks)
    evolution = RegularizedEvolution(
        evaluator, build_mutator(cfg), rng, cfg.population_size, cfg.tournament_size,
        (initial.setup, initial.predict, initial.learn), capacities(cfg, initial),
        randomize_initial=randomize_initial, random_search=cfg.mode == "random_search", hurdles=hurdles)

    start = time.perf_counter()
    evolution.init_population()
    while evolution.num_individuals < args.individuals:
        evolution.run_generation()
    seconds = time.perf_counter() - start

    n = evolution.num_individuals
    print(f"preset={args.preset} seed={args.seed} population={cfg.population_size} hurdles={hurdles}")
    print(f"individuals={n} seconds={seconds:.3f} individuals/s={n / seconds:,.0f}")
    print(f"train_steps={evaluator.num_train_steps} steps/individual={evaluator.num_train_steps / n:.1f}")
    fec = evaluator.fec
    if fec is not None:
        lookups = fec.hits + fec.misses
        print(f"fec lookups={lookups} hits={fec.hits} hit_rate={fec.hits / lookups:.4f}")
    if hurdles is not None:
        print(f"hurdle_rejections={evolution.hurdle_rejections} ({evolution.hurdle_rejections / n:.4f} per individual)")
    mean, stdev, best, _ = evolution.stats()
    print(f"mean={mean:.6f} stdev={stdev:.6f} best fit={best:.6f}")


if __name__ == "__main__":
    main()
