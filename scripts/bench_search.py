"""Search speed: the evolution loop in process, or whole CLI runs side by side against another checkout.

In process (default): builds the first experiment's T_search evaluator, mutator and population exactly as
`azero.search` does, then times only the evolution (Init plus whole generations) until `--individuals`
individuals, or else the preset's max_train_steps, are reached. The run is deterministic for a seed.

    .venv/bin/python scripts/bench_search.py [--preset basic_nonlinear] [--individuals N] [--seed S]
                                             [--hurdles 75,1000,1]

Side by side (`--compare OTHER`): runs each workload as `python -m azero ...` in a subprocess, alternating this
checkout (A) and OTHER (B) `--runs` times (A B A B ...), and prints min/median/max wall seconds of each side,
the speedup B/A of the medians (also of the runs' CPU seconds, steadier on a shared machine), and whether both
printed identical output (progress lines without elapsed seconds, final lines, the program). OTHER is a checkout directory (run with this python and PYTHONPATH=OTHER)
or a python executable that imports its own azero. Workloads: basic_nonlinear (200M train steps), `demo --seed
2`, linear_integration, nonlinear_integration; all with --no-store.

    .venv/bin/python scripts/bench_search.py --compare /path/to/other/checkout [--runs 3] [--workloads demo,...]
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

# Workload name -> azero CLI arguments. basic_nonlinear is passed as this checkout's TOML file, so that a
# checkout without the preset runs the same search.
WORKLOADS = {
    "basic_nonlinear": ["search", str(ROOT / "azero" / "presets" / "basic_nonlinear.toml"), "--no-store"],
    "demo": ["demo", "--seed", "2", "--no-store"],
    "linear_integration": ["search", "linear_integration", "--no-store"],
    "nonlinear_integration": ["search", "nonlinear_integration", "--no-store"],
}
ELAPSED = re.compile(r"elapsed_secs=[0-9.]+, ")


def parse_hurdles(text: str) -> tuple[float, int, int]:
    percentile, window, tasks = text.split(",")
    return float(percentile), int(window), int(tasks)


def in_process(args: argparse.Namespace) -> None:
    import azero.presets
    from azero._core.evaluator import simd_level
    from azero._core.evolution import RegularizedEvolution
    from azero._core.rng import RandomGenerator
    from azero.population import capacities, initial_model
    from azero.search import build_evaluator, build_mutator
    from azero.tasks import make_tasks, randomize_task_seeds

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
    if args.individuals:
        while evolution.num_individuals < args.individuals:
            evolution.run_generation()
    else:
        while evaluator.num_train_steps < cfg.max_train_steps:
            evolution.run_generation()
    seconds = time.perf_counter() - start

    n = evolution.num_individuals
    print(f"preset={args.preset} seed={args.seed} population={cfg.population_size} hurdles={hurdles} "
          f"simd={simd_level()}")
    print(f"individuals={n} seconds={seconds:.3f} individuals/s={n / seconds:,.0f}")
    print(f"train_steps={evaluator.num_train_steps} steps/individual={evaluator.num_train_steps / n:.1f} "
          f"steps/s={evaluator.num_train_steps / seconds:,.0f}")
    fec = evaluator.fec
    if fec is not None:
        lookups = fec.hits + fec.misses
        print(f"fec lookups={lookups} hits={fec.hits} hit_rate={fec.hits / lookups:.4f}")
    if hurdles is not None:
        print(f"hurdle_rejections={evolution.hurdle_rejections} ({evolution.hurdle_rejections / n:.4f} per individual)")
    mean, stdev, best, _ = evolution.stats()
    print(f"mean={mean:.6f} stdev={stdev:.6f} best fit={best:.6f}")


def side_command(side: str) -> tuple[list[str], dict[str, str]]:
    """(python command, environment) that runs `python -m azero` from `side` (a checkout dir or a python)."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    path = Path(side)
    if path.is_dir():
        env["PYTHONPATH"] = str(path.resolve())
        return [sys.executable, "-m", "azero"], env
    return [str(path), "-m", "azero"], env


def child_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_run(side: str, workload: list[str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds and normalised stdout (elapsed seconds removed) of one CLI run."""
    command, env = side_command(side)
    cpu = child_cpu_seconds()
    start = time.perf_counter()
    # From an empty directory: `python -m` puts the working directory first on sys.path, so running from a
    # checkout would import that checkout's azero on both sides.
    with tempfile.TemporaryDirectory() as neutral:
        result = subprocess.run(command + workload, env=env, capture_output=True, text=True, cwd=neutral)
    seconds = time.perf_counter() - start
    cpu = child_cpu_seconds() - cpu
    if result.returncode != 0:
        sys.exit(f"{side}: {' '.join(workload)} failed with exit code {result.returncode}:\n{result.stderr}")
    return seconds, cpu, ELAPSED.sub("", result.stdout)


def spread(values: list[float]) -> str:
    return f"{min(values):7.2f} / {statistics.median(values):7.2f} / {max(values):7.2f}"


def compare(args: argparse.Namespace) -> None:
    sides = {"A": str(ROOT), "B": args.compare}
    names = args.workloads.split(",") if args.workloads else list(WORKLOADS)
    for name in names:
        if name not in WORKLOADS:
            sys.exit(f"unknown workload {name!r}; choose from {', '.join(WORKLOADS)}")
    print(f"A = {sides['A']}\nB = {sides['B']}\nruns per side: {args.runs}, alternating A B A B; "
          f"B/A = median of B / median of A (wall seconds; CPU seconds of the run in brackets)")
    print(f"{'workload':22s} {'A wall min / median / max':>27s} {'B wall min / median / max':>27s} "
          f"{'B/A':>6s} {'(CPU)':>7s}  identical")
    for name in names:
        wall = {"A": [], "B": []}
        cpu = {"A": [], "B": []}
        outputs = {"A": set(), "B": set()}
        for _ in range(args.runs):
            for side in ("A", "B"):
                seconds, cpu_seconds, output = timed_run(sides[side], WORKLOADS[name])
                wall[side].append(seconds)
                cpu[side].append(cpu_seconds)
                outputs[side].add(output)
        identical = len(outputs["A"] | outputs["B"]) == 1
        ratio = statistics.median(wall["B"]) / statistics.median(wall["A"])
        cpu_ratio = statistics.median(cpu["B"]) / statistics.median(cpu["A"])
        print(f"{name:22s} {spread(wall['A']):>27s} {spread(wall['B']):>27s} {ratio:5.2f}x ({cpu_ratio:4.2f}x)  "
              f"{'yes' if identical else 'NO'}", flush=True)
        if not identical and args.show_diff:
            for side in ("A", "B"):
                for output in outputs[side]:
                    print(f"--- {side} ---\n{output}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="basic_nonlinear")
    parser.add_argument("--individuals", type=int, default=0, help="stop here (default: the preset's train budget)")
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--hurdles", type=parse_hurdles, default=None,
                        help="percentile,window,tasks (default: the preset's setting)")
    parser.add_argument("--compare", metavar="OTHER", help="checkout directory or python executable to compare with")
    parser.add_argument("--runs", type=int, default=3, help="runs per side with --compare")
    parser.add_argument("--workloads", default="", help=f"comma-separated subset of {', '.join(WORKLOADS)}")
    parser.add_argument("--show-diff", action="store_true", help="print both outputs when they differ")
    args = parser.parse_args()
    if args.compare:
        compare(args)
    else:
        in_process(args)


if __name__ == "__main__":
    main()
