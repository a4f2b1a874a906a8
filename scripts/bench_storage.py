"""Cost of the HDF5 run store: share of wall time spent storing, and file size per million individuals.

Runs the first experiment of a preset (default: the demo, seed 2) three ways — without a store, with a store
at a given checkpoint interval, and with a store that also records every individual — each for the same
train-step budget, so all three evaluate the same individuals. Prints per variant: wall time, time inside
the store's hooks (and its share of the wall time), checkpoints written, and the run directory's size per
million individuals. The store's time is measured inside its hooks, so the share does not depend on noise
between two runs.

    .venv/bin/python scripts/bench_storage.py [--preset demo] [--seed 2] [--max-train-steps N]
                                              [--checkpoint-every 2]
"""
from __future__ import annotations

import argparse
import io
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

import azero.presets  # noqa: E402
from azero.search import Search  # noqa: E402
from azero.runs.writer import RunStore  # noqa: E402


def run(cfg, seed: int, store: RunStore | None) -> tuple[float, int]:
    """Wall seconds and individuals of one search."""
    start = time.perf_counter()
    result = Search(cfg, seed, out=io.StringIO(), store=store).run()
    seconds = time.perf_counter() - start
    if store is not None:
        store.close()
    return seconds, sum(e.num_individuals for e in result.experiments)


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="demo")
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--max-train-steps", type=int, default=None, help="default: the preset's")
    parser.add_argument("--checkpoint-every", type=float, default=2.0, help="seconds between checkpoints")
    args = parser.parse_args()

    cfg = azero.presets.load(args.preset)
    cfg = cfg.replace(max_train_steps=args.max_train_steps or cfg.max_train_steps, max_experiments=1)
    print(f"preset {args.preset}, seed {args.seed}, max_train_steps {cfg.max_train_steps}, population "
          f"{cfg.population_size}, progress every {cfg.progress_every}, checkpoint every {args.checkpoint_every} s")
    base, individuals = run(cfg, args.seed, None)
    print(f"{'no store':<24} wall {base:7.2f} s  ({individuals} individuals)")
    root = Path(tempfile.mkdtemp(prefix="bench_storage_"))
    try:
        for name, full in (("store", False), ("store + full history", True)):
            folder = root / name.replace(" ", "_")
            store = RunStore(folder, full_history=full, checkpoint_every_seconds=args.checkpoint_every)
            wall, n = run(cfg, args.seed, store)
            assert n == individuals
            checkpoints = store.counters.resumable
            size = folder_size(folder)
            print(f"{name:<24} wall {wall:7.2f} s  in store {store.seconds_in_store:6.3f} s "
                  f"({100 * store.seconds_in_store / wall:5.2f} %)  checkpoints {checkpoints:3d}  "
                  f"size {size / 1e6:8.2f} MB = {size / 1e6 / (individuals / 1e6):8.2f} MB per million individuals")
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
