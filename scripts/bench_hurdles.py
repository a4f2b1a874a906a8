"""Full (hurdles on) against Basic (no hurdles) at equal wall time: individuals/s, train steps per individual,
search / select / final fitness.

Each pair runs the two arms concurrently, one process each (on a 2-core machine one per core), so machine load
hits both alike. An arm is one experiment of `--seconds` (the preset's train budget lifted so the wall time
ends it), then T_select and T_final as in `azero search`. Full uses the preset's [hurdles], or 75,1000,1.

    .venv/bin/python scripts/bench_hurdles.py --preset fig5_hurdles --seeds 20250101,20250102,20250103 \\
        --seconds 90 [--dataset-dir DIR]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

import azero.presets  # noqa: E402
from azero.config import HurdlesSpec  # noqa: E402
from azero.search import Search  # noqa: E402

ARMS = ("basic", "full")


class _Clock:
    """An output stream that notes when the experiment's evolution ends (the line the search prints then)."""

    def __init__(self) -> None:
        self.evolution_done: float | None = None

    def write(self, text: str) -> int:
        if self.evolution_done is None and text.startswith("Experiment done."):
            self.evolution_done = time.monotonic()
        return len(text)

    def flush(self) -> None:
        pass


def run_arm(preset: str, seed: int, arm: str, seconds: float, dataset_dir: str | None) -> dict:
    cfg = azero.presets.load(preset, dataset_dir=dataset_dir)
    hurdles = (cfg.hurdles or HurdlesSpec()) if arm == "full" else None
    cfg = cfg.replace(hurdles=hurdles, max_experiments=1, max_seconds=seconds, max_train_steps=10**15)
    clock = _Clock()
    started = time.monotonic()
    result = Search(cfg, seed, out=clock).run()
    experiment = result.experiments[0]
    return dict(preset=preset, seed=seed, arm=arm, seconds=clock.evolution_done - started,
                individuals=experiment.num_individuals, train_steps=experiment.num_train_steps,
                search=experiment.search_fitness, select=experiment.select_fitness, final=result.final_fitness)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", required=True)
    parser.add_argument("--seeds", required=True, help="comma-separated seeds, one pair each")
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--dataset-dir", default=None)
    parser.add_argument("--arm", choices=ARMS, help=argparse.SUPPRESS)   # one arm in this process (a pair's child)
    args = parser.parse_args()
    if args.arm is not None:
        print(json.dumps(run_arm(args.preset, int(args.seeds), args.arm, args.seconds, args.dataset_dir)))
        return
    extra = [] if args.dataset_dir is None else ["--dataset-dir", args.dataset_dir]
    print("preset seed arm indivs/s steps/indiv search select final")
    for seed in args.seeds.split(","):
        children = [subprocess.Popen([sys.executable, __file__, "--preset", args.preset, "--seeds", seed,
                                      "--seconds", str(args.seconds), "--arm", arm, *extra],
                                     stdout=subprocess.PIPE, text=True) for arm in ARMS]
        for child in children:
            out, _ = child.communicate()
            if child.returncode != 0:
                sys.exit(f"an arm of seed {seed} failed (exit {child.returncode})")
            row = json.loads(out)
            print(f"{row['preset']} {row['seed']} {row['arm']} {row['individuals'] / row['seconds']:.0f} "
                  f"{row['train_steps'] / row['individuals']:.1f} {row['search']:.6f} {row['select']:.6f} "
                  f"{row['final']:.6f}", flush=True)


if __name__ == "__main__":
    main()
