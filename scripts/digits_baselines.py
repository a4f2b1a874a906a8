"""Hand-designed baselines on the digits_binary preset's tasks: chance, linear model, neural net.

Builds the projected digits task files (seeds 0..9, as `azero datasets build --source digits` does by default)
in a temporary folder, or uses --dataset-dir, then prints the mean accuracy fitness (docs/semantics.md §3.5) of the
reference's LINEAR_ALGORITHM and NEURAL_NET_ALGORITHM (docs/semantics.md §8.5) for a few learning rates on T_search,
T_select and T_final. Learning rates are compared on T_select (the best per model is marked *); T_final,
on the held-out pairs, is the number to quote. 0.01 is the reference's default learning rate.

    python scripts/digits_baselines.py [--dataset-dir DIR] [--learning-rates 0.01,0.1] [--seed 10000]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from azero import algorithms, evaluate, make_tasks, presets  # noqa: E402
from azero.datasets import build_datasets  # noqa: E402

PRESET = "digits_binary"
TASK_SETS = ("search", "select", "final")
DEFAULT_LEARNING_RATES = "0.01,0.05,0.1"


def chance(tasks) -> float:
    """Mean over tasks of the majority class's share of the validation labels (the best constant guess)."""
    return float(np.mean([max(t.valid_labels.mean(), 1.0 - t.valid_labels.mean()) for t in tasks]))


def table(dataset_dir: str, learning_rates: list[float], seed: int) -> list[tuple[str, list[float]]]:
    """Rows (name, fitness on T_search, T_select, T_final) of the baselines on the preset's task sets; per
    model, the learning rate with the best T_select fitness (the first on ties) gets a "*" after its name."""
    cfg = presets.load(PRESET).replace(dataset_dir=dataset_dir)
    task_sets = [make_tasks(list(getattr(cfg, f"{name}_tasks"))) for name in TASK_SETS]
    memory = dict(num_scalars=cfg.num_scalars, num_vectors=cfg.num_vectors, num_matrices=cfg.num_matrices)
    rows = [("chance (majority class)", [chance(tasks) for tasks in task_sets])]
    for name, build in (("linear", algorithms.linear), ("neural net", algorithms.neural_net)):
        model_rows = [(f"{name}, lr={lr:g}", [evaluate(build(lr), tasks, seed=seed, max_abs_error=cfg.max_abs_error,
                                                        **memory) for tasks in task_sets])
                      for lr in learning_rates]
        best = max(range(len(model_rows)), key=lambda i: (model_rows[i][1][1], -i))
        model_rows[best] = (model_rows[best][0] + " *", model_rows[best][1])
        rows.extend(model_rows)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset-dir", default=None,
                        help="folder of digits task files (default: build seeds 0..9 in a temporary folder)")
    parser.add_argument("--learning-rates", default=DEFAULT_LEARNING_RATES,
                        help=f"comma-separated learning rates (default {DEFAULT_LEARNING_RATES})")
    parser.add_argument("--seed", type=int, default=10000, help="seed of the random ops' stream (default 10000)")
    args = parser.parse_args()
    learning_rates = [float(x) for x in args.learning_rates.split(",")]
    with tempfile.TemporaryDirectory(prefix="azero-digits-") as tmp:
        dataset_dir = args.dataset_dir
        if dataset_dir is None:
            dataset_dir = tmp
            build_datasets("digits", dataset_dir, seeds=range(0, 10))
        rows = table(dataset_dir, learning_rates, args.seed)
    cfg = presets.load(PRESET)
    sizes = [sum(spec.num_tasks for spec in getattr(cfg, f"{name}_tasks")) for name in TASK_SETS]
    print(f"mean accuracy fitness on the {PRESET} tasks (random-op seed {args.seed})")
    header = "".join(f"{f'T_{name} ({n})':>16}" for name, n in zip(TASK_SETS, sizes))
    print(f"{'model':<26}{header}")
    for name, values in rows:
        print(f"{name:<26}" + "".join(f"{v:>16.4f}" for v in values))


if __name__ == "__main__":
    main()
