"""The files of a run directory: run.h5 (its contents in memory as `RunInfo`, replaced whole on every change),
island files (created complete under a temporary name, then renamed in), and fresh run directories."""
from __future__ import annotations

import dataclasses
import datetime
import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from azero._core import INSTRUCTION_DTYPE
from azero._version import __version__
from azero.algorithm import Algorithm
from azero.config import SearchConfig
from azero.results import Experiment
from azero.runs.files import _append, _check_header, _checked_dataset, _open_read, _replace, _tmp_path
from azero.runs.schema import (ISLAND_FORMAT, LIBVER, NUM_SLOTS, RUN_FILE, RUN_FORMAT, RUN_USERBLOCK, SCHEMA_VERSION,
                               SEGMENT_DTYPE, _TABLES, Layout, RunStoreError, _config_difference, _parse_config,
                               _seal_run_file, _store_attrs, _text, _write_config)


def _holds_run(run_dir: Path) -> bool:
    return (run_dir / RUN_FILE).exists() or any(run_dir.glob("island-*.h5"))


# ---------------------------------------------------------------------------------------------------------
# run.h5


@dataclasses.dataclass
class RunInfo:
    """Contents of run.h5 (rank 0 keeps it in memory and replaces the file whole on every change)."""

    cfg: SearchConfig
    base_seed: int
    full_history: bool
    created: str
    status: str                      # starting | running | stopped | finished
    island_ids: list[int]            # island continued by each rank of the current segment
    num_islands: int                 # islands ever created (files island-0000 .. num_islands - 1)
    segments: list[tuple]            # SEGMENT_DTYPE rows
    segment_islands: list[list[int]]
    experiments: list[Experiment]
    final: dict | None = None        # final_fitness, best_select_fitness, elapsed_seconds, best_algorithm


def _write_run(run_dir: Path, info: RunInfo) -> None:
    layout = Layout.of(info.cfg)
    path = run_dir / RUN_FILE
    tmp = _tmp_path(path)
    with h5py.File(tmp, "w", libver=LIBVER, userblock_size=RUN_USERBLOCK) as f:
        _store_attrs(f.attrs, dict(
            format=RUN_FORMAT, schema_version=SCHEMA_VERSION, azero_version=__version__,
            created=info.created, config_toml=info.cfg.to_toml(), base_seed=info.base_seed,
            num_ranks=len(info.island_ids), island_ids=np.array(info.island_ids, dtype=np.int32),
            num_islands=info.num_islands, status=info.status, full_history=info.full_history,
            capacities=np.array(layout.capacities, dtype=np.int32)))
        _write_config(f.create_group("config"), info.cfg)
        _checked_dataset(f, "segments", np.array(info.segments, dtype=SEGMENT_DTYPE))
        group = f.create_group("segment_islands")
        for i, ids in enumerate(info.segment_islands):
            _checked_dataset(group, str(i), np.array(ids, dtype=np.int32))
        experiments = np.zeros(len(info.experiments), dtype=layout.experiment_dtype)
        for i, e in enumerate(info.experiments):
            program, sizes = layout.encode(e.algorithm)
            experiments[i] = (e.search_fitness, e.select_fitness, e.num_individuals, e.num_train_steps, sizes,
                              program, e.select_seed)
        _checked_dataset(f, "experiments", experiments)
        if info.final is not None:
            final = f.create_group("final")
            program, sizes = layout.encode(info.final["best_algorithm"])
            _store_attrs(final.attrs, dict(final_fitness=info.final["final_fitness"],
                                           best_select_fitness=info.final["best_select_fitness"],
                                           elapsed_seconds=info.final["elapsed_seconds"],
                                           final_seed=info.final["final_seed"],
                                           best_algorithm_text=info.final["best_algorithm"].to_text()))
            _checked_dataset(final, "best_program", program)
            _checked_dataset(final, "best_sizes", sizes)
    _seal_run_file(tmp)
    _replace(tmp, path)


def _read_run(run_dir: Path) -> RunInfo:
    path = run_dir / RUN_FILE
    if not run_dir.is_dir():
        raise RunStoreError(f"{run_dir}: no such run directory")
    if not path.exists():
        raise RunStoreError(f"{path}: missing (not a run directory)")
    with _open_read(path) as f:
        _check_header(f, path, RUN_FORMAT)
        try:
            cfg = _parse_config(_text(f.attrs["config_toml"]), str(path))
            layout = Layout.of(cfg)
            if tuple(f.attrs["capacities"]) != layout.capacities:
                raise RunStoreError(f"{path}: stored program rows {tuple(f.attrs['capacities'])} do not match "
                                    f"its config ({layout.capacities})")
            rows = f["experiments"][()]
            if rows.dtype != layout.experiment_dtype_of(int(f.attrs["schema_version"])):
                raise RunStoreError(f"{path}: experiments table does not match the config's layout")
            experiments = [Experiment(float(r["search_fitness"]), float(r["select_fitness"]),
                                      int(r["num_individuals"]), int(r["num_train_steps"]),
                                      layout.decode(r["program"], r["sizes"]),
                                      int(r["select_seed"]) if "select_seed" in rows.dtype.names else 0)
                           for r in rows]
            final = None
            if "final" in f:
                g = f["final"]
                final = dict(final_fitness=float(g.attrs["final_fitness"]),
                             best_select_fitness=float(g.attrs["best_select_fitness"]),
                             elapsed_seconds=float(g.attrs["elapsed_seconds"]),
                             final_seed=int(g.attrs.get("final_seed", 0)),
                             best_algorithm=layout.decode(g["best_program"][()], g["best_sizes"][()]))
            segments = [tuple(r) for r in f["segments"][()]]
            return RunInfo(
                cfg=cfg, base_seed=int(f.attrs["base_seed"]), full_history=bool(f.attrs["full_history"]),
                created=_text(f.attrs["created"]), status=_text(f.attrs["status"]),
                island_ids=[int(i) for i in f.attrs["island_ids"]], num_islands=int(f.attrs["num_islands"]),
                segments=segments,
                segment_islands=[[int(i) for i in f["segment_islands"][str(k)][()]] for k in range(len(segments))],
                experiments=experiments, final=final)
        except (KeyError, ValueError, TypeError, OSError) as error:
            if isinstance(error, RunStoreError):
                raise
            raise RunStoreError(f"{path}: damaged run file ({' '.join(str(error).split())})") from None


def _best_of(experiments: list[Experiment]) -> tuple[float, Algorithm]:
    """Best select fitness and its algorithm, chosen as the loop chooses (later ties win)."""
    best, alg = -np.inf, Algorithm.empty()
    for e in experiments:
        if e.select_fitness >= best:
            best, alg = e.select_fitness, e.algorithm
    return best, alg


# ---------------------------------------------------------------------------------------------------------
# Island files


def _create_island(path: Path, cfg: SearchConfig, attrs: dict, full_history: bool,
                   content: dict[str, Any] | None = None) -> None:
    """Write a complete island file (empty tables, or `content`) under a temporary name and move it in place.

    `content` maps table names to rows (or a callable that copies them into the new dataset) and may hold
    `population/...` and `resume/...` arrays.
    """
    layout = Layout.of(cfg)
    P, R = layout.population_size, layout.row_length
    tmp = _tmp_path(path)
    content = content or {}
    with h5py.File(tmp, "w", libver=LIBVER) as f:
        _store_attrs(f.attrs, dict(
            format=ISLAND_FORMAT, schema_version=SCHEMA_VERSION, azero_version=__version__,
            config_toml=cfg.to_toml(), population_size=P, capacities=np.array(layout.capacities, dtype=np.int32),
            full_history=full_history, created=datetime.datetime.now().isoformat(timespec="seconds")))
        f.attrs.update(attrs)
        _write_config(f.create_group("config"), cfg)
        tables = dict(_TABLES)
        if full_history:
            tables["history"] = (lambda lay: lay.lineage_dtype, P)   # one chunk per generation
        for name, (dtype_of, chunk) in tables.items():
            ds = f.create_dataset(name, (0,), maxshape=(None,), dtype=dtype_of(layout), chunks=(chunk,),
                                  compression="lzf" if name == "history" else None, fletcher32=True)
            rows = content.get(name)
            if callable(rows):
                rows(ds)
            elif rows is not None and len(rows):
                _append(ds, rows)
        pop = f.create_group("population")
        for name, shape, dtype in (("programs", (P, R), INSTRUCTION_DTYPE), ("sizes", (P, 3), np.int32),
                                   ("fitness", (P,), np.float64)):
            ds = pop.create_dataset(name, (0, *shape), maxshape=(None, *shape), dtype=dtype, chunks=(1, *shape),
                                    compression="gzip", compression_opts=1, shuffle=True, fletcher32=True)
            rows = content.get(f"population/{name}")
            if callable(rows):
                rows(ds)
            elif rows is not None and len(rows):
                _append(ds, rows)
        resume = f.create_group("resume")
        slots = [("fec_keys", layout.fec_capacity, np.uint64), ("fec_fitness", layout.fec_capacity, np.float64),
                 ("fec_counts", layout.fec_capacity, np.int64), ("hurdle_ring", layout.hurdle_window, np.float64)]
        for name, width, slot_dtype in slots:
            if width:
                ds = resume.create_dataset(name, (NUM_SLOTS, width), dtype=slot_dtype,
                                           chunks=(1, min(width, 4096)), fletcher32=True)
                rows = content.get(f"resume/{name}")
                if callable(rows):
                    rows(ds)
                elif rows is not None:
                    ds[...] = rows
    _replace(tmp, path)


def _check_island(f: h5py.File, path: Path, cfg: SearchConfig, base_seed: int) -> None:
    """An island file of this run: format, schema, the run's config and seed."""
    _check_header(f, path, ISLAND_FORMAT)
    stored = _parse_config(_text(f.attrs["config_toml"]), str(path))
    if stored != cfg:
        raise RunStoreError(f"{path}: belongs to another run (config differs from run.h5 in "
                            f"{_config_difference(stored, cfg)})")
    if int(f.attrs["base_seed"]) != base_seed:
        raise RunStoreError(f"{path}: belongs to another run (seed {int(f.attrs['base_seed'])}, "
                            f"run.h5 has {base_seed})")


# ---------------------------------------------------------------------------------------------------------
# New run directories


def new_run_dir(root: str | os.PathLike = "runs", seed: int | None = None) -> Path:
    """Create and return a fresh folder `root/YYYYmmdd-HHMMSS[-seedN][-k]` (the CLI's default run directory)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    stem = datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + ("" if seed is None else f"-seed{seed}")
    for k in range(1000):
        path = root / (stem if k == 0 else f"{stem}-{k}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise RunStoreError(f"{root}: cannot create a new run directory")
