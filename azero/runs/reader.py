"""Reading a run directory into memory, also while it is being written: `load_run` returns a `Run` of numpy
arrays (every field in docs/run_format.md); `run_config` reads only the config."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from azero.algorithm import Algorithm
from azero.config import SearchConfig
from azero.runs.directory import _check_island, _read_run
from azero.runs.files import _damage, _open_read, _read_dataset, _valid_rows
from azero.runs.schema import RUN_FILE, Layout, RunStoreError, _text, island_file

@dataclasses.dataclass
class IslandRun:
    """One island's records as numpy arrays (see docs/run_format.md for every field).

    `population_*[k]` is the population at `checkpoints[k]`; `population_ages[k, s]` is the number of
    individuals evaluated since slot s was filled (snapshots are taken between generations, which fill the
    slots in order). `history` is None unless the run recorded every individual.
    """

    island: int
    path: Path
    attrs: dict
    layout: Layout
    progress: np.ndarray
    lineage: np.ndarray
    migrations: np.ndarray
    checkpoints: np.ndarray
    population_programs: np.ndarray
    population_sizes: np.ndarray
    population_fitness: np.ndarray
    history: np.ndarray | None

    @property
    def population_ages(self) -> np.ndarray:
        P = self.layout.population_size
        return np.broadcast_to(np.arange(P - 1, -1, -1, dtype=np.int64), self.population_fitness.shape)

    def algorithm(self, record) -> Algorithm:
        """The Algorithm of a lineage/history row (any record with `program` and `sizes`)."""
        return self.layout.decode(record["program"], record["sizes"])

    def population_algorithm(self, checkpoint: int, slot: int) -> Algorithm:
        return self.layout.decode(self.population_programs[checkpoint, slot],
                                  self.population_sizes[checkpoint, slot])


@dataclasses.dataclass
class Run:
    """A run directory read into memory: config, per-island records, experiments and final result."""

    path: Path
    config: SearchConfig
    config_toml: str
    azero_version: str
    schema_version: int
    seed: int
    num_ranks: int
    status: str
    island_ids: list[int]          # island continued by each rank of the latest segment
    segments: np.ndarray
    segment_islands: list[list[int]]
    islands: list[IslandRun]       # every island ever created, by island number
    experiments: np.ndarray
    experiment_algorithms: list[Algorithm]
    final: dict | None             # final_fitness, best_select_fitness, elapsed_seconds, best_algorithm


def _read_island(path: Path, cfg: SearchConfig, base_seed: int) -> IslandRun:
    layout = Layout.of(cfg)
    with _open_read(path) as f:
        try:
            _check_island(f, path, cfg, base_seed)
            tables = {name: _valid_rows(_read_dataset(f, name, path), name)
                      for name in ("progress", "lineage", "migrations", "checkpoints")}
            history = _valid_rows(_read_dataset(f, "history", path), "history") if "history" in f else None
            k = len(tables["checkpoints"])
            pop = f["population"]
            k = min(k, pop["programs"].shape[0], pop["sizes"].shape[0], pop["fitness"].shape[0])
            population = {name: _read_dataset(f, f"population/{name}", path, k)
                          for name in ("programs", "sizes", "fitness")}
            return IslandRun(
                int(f.attrs["island"]), path, {k: _text(v) for k, v in f.attrs.items()}, layout,
                tables["progress"], tables["lineage"], tables["migrations"], tables["checkpoints"][:k],
                population["programs"], population["sizes"], population["fitness"], history)
        except (KeyError, ValueError, TypeError, OSError) as error:
            if isinstance(error, RunStoreError):
                raise
            raise RunStoreError(f"{path}: damaged island file ({' '.join(str(error).split())})") from None


def load_run(run_dir: str | os.PathLike) -> Run:
    """Read a run directory (also while it is being written). RunStoreError on a bad directory."""
    run_dir = Path(run_dir)
    info = _read_run(run_dir)
    layout = Layout.of(info.cfg)
    with _open_read(run_dir / RUN_FILE) as f:
        try:
            meta = {k: _text(v) for k, v in f.attrs.items()}
            experiments = f["experiments"][()]
            segments = f["segments"][()]
        except (KeyError, ValueError, TypeError, OSError, RuntimeError) as error:
            raise _damage(run_dir / RUN_FILE, error, "run") from None
    islands = []
    for i in range(info.num_islands):
        path = run_dir / island_file(i)
        if path.exists() or (i in info.island_ids and info.status != "starting"):
            islands.append(_read_island(path, info.cfg, info.base_seed))
    return Run(run_dir, info.cfg, str(meta["config_toml"]), str(meta["azero_version"]), int(meta["schema_version"]),
               info.base_seed, len(info.island_ids), info.status, info.island_ids, segments, info.segment_islands,
               islands, experiments, [layout.decode(r["program"], r["sizes"]) for r in experiments], info.final)


def run_config(run_dir: str | os.PathLike) -> SearchConfig:
    """The config of the run in `run_dir` (reads run.h5 only). RunStoreError on a bad directory."""
    return _read_run(Path(run_dir)).cfg
