"""Sweeps: arms x replicates of seeded searches, spread over MPI ranks, one HDF5 row per search.

A sweep file (TOML) lists arms; an arm is a base config (preset name or TOML file) plus overrides::

    name = "fig4_smoke"          # default: the file's stem; also the default run directory sweeps/<name>
    seed = 1                     # the sweep seed
    replicates = 3               # searches per arm (an arm may set its own)
    write_every_seconds = 2.0    # how often finished rows are written (always at the end)
    compare_with = ["linear"]    # hand-designed models `azero show` compares T_select / T_final fitness with
    ranks_per_search = 1         # MPI ranks (islands) per search

    [overrides]                  # applied to every arm's config (tables merge key by key)
    max_individuals = 2000

    [[arms]]
    name = "linear/evolution"
    base = "fig4_linear"         # preset name, or a TOML file relative to the sweep file
    group = "linear"             # arms of a group with mode evolution / random_search form an evolution/RS pair
    [arms.overrides]
    mode = "random_search"

Seeds. Replicate r (0-based) of the arm named A runs with seed ``hash_mix(hash_mix(S, crc32(A)), r)`` (0 mapped
to 1), S the sweep seed and crc32 the zlib CRC-32 of A's UTF-8 name: a row depends only on its arm's config,
its name and r, never on the number of ranks, the order jobs ran in or the other arms.

Ranks. Under ``mpiexec -n N`` rank 0 hands out jobs one at a time (the next job to whoever asks) and runs searches
itself; it answers requests between its own generations and between jobs, so N ranks keep N cores busy. Only
rank 0 writes. An exception on any rank aborts the whole job (azero.islands). With ``ranks_per_search = k``
(default 1) the ranks form groups of k consecutive ranks (N must be a multiple of k) and every search is a k-island
search (azero.islands, with its arm's ``[islands]`` settings) on one group; the group's first rank asks for
its jobs. Rows then depend on k, which is recorded with them.

Storage (``DIR/sweep.h5``): the sweep text, the arms with their resolved configs, and a table of rows sorted by
(arm, replicate). The file is only ever replaced whole (write a temporary file, fsync, rename), so a kill at any
moment leaves the last complete version; `run_sweep` on the same directory skips the jobs it holds.
"""
from __future__ import annotations

import dataclasses
import os
import sys
import time
import tomllib
import zlib
from pathlib import Path
from typing import Any, TextIO

import h5py
import numpy as np

from azero import algorithms, presets
from azero._version import __version__
from azero._core.rng import hash_mix
from azero.config import ConfigError, SearchConfig

__all__ = ["SweepError", "Arm", "SweepSpec", "SWEEP_FILE", "is_sweep_dir", "ROW_DTYPE", "replicate_seed", "load_spec",
           "run_sweep", "read_sweep", "SweepData"]

SWEEP_FILE = "sweep.h5"


def is_sweep_dir(path: str | os.PathLike) -> bool:
    """A directory written by `azero sweep` (readers treat it as a sweep, not a run)."""
    return (Path(path) / SWEEP_FILE).exists()
FORMAT = "azero-sweep"
SCHEMA_VERSION = 1
_PRESET_FOLDER = Path(presets.__file__).resolve().parent / "sweeps"
_STRING = h5py.string_dtype("utf-8")
# One row per finished search. Fitness values are the search's: best T_search fitness over its experiments,
# the T_select fitness of its best candidate and that candidate's T_final fitness. individuals and train_steps
# sum over experiments; success_individual counts individuals over experiments up to the first success (-1: none).
ROW_DTYPE = np.dtype([
    ("arm", np.int32), ("replicate", np.int32), ("seed", np.uint32),
    ("search_fitness", np.float64), ("select_fitness", np.float64), ("final_fitness", np.float64),
    ("individuals", np.int64), ("train_steps", np.int64), ("wall_seconds", np.float64),
    ("succeeded", np.bool_), ("success_individual", np.int64), ("success_fitness", np.float64),
    ("reference_fitness", np.float64), ("program", _STRING),
])
_TOP_KEYS = ("name", "seed", "replicates", "write_every_seconds", "compare_with", "ranks_per_search", "overrides",
             "arms")
_ARM_KEYS = ("name", "base", "group", "replicates", "overrides")


class SweepError(ValueError):
    """A bad sweep file or sweep directory; the message is one line naming the file and field."""


@dataclasses.dataclass(frozen=True)
class Arm:
    """One arm: its name, group (may be empty), replicate count and resolved search config."""

    name: str
    group: str
    replicates: int
    config: SearchConfig


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep file."""

    name: str
    seed: int
    arms: list[Arm]
    compare_with: list[str]
    write_every_seconds: float
    ranks_per_search: int
    text: str

    def jobs(self) -> list[tuple[int, int]]:
        """(arm index, replicate) pairs, replicate-major so that a partial sweep covers every arm evenly."""
        most = max(arm.replicates for arm in self.arms)
        return [(a, r) for r in range(most) for a, arm in enumerate(self.arms) if r < arm.replicates]

    def seed_of(self, arm: int, replicate: int) -> int:
        return replicate_seed(self.seed, self.arms[arm].name, replicate)


def replicate_seed(sweep_seed: int, arm_name: str, replicate: int) -> int:
    """The search seed of replicate `replicate` of the arm named `arm_name` (module docstring)."""
    arm_key = zlib.crc32(arm_name.encode("utf-8"))
    return hash_mix(hash_mix(sweep_seed % 2**32, arm_key), replicate) or 1


# ---------------------------------------------------------------------------------------------------------
# Reading a sweep file


def _merge(base: dict, overrides: dict) -> dict:
    """`base` with `overrides` applied: tables merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _resolve(name: str) -> Path:
    """A sweep preset name (azero/presets/sweeps/NAME.toml) or a file."""
    path = Path(name)
    if path.suffix == ".toml" or path.is_file():
        return path
    available = sorted(p.stem for p in _PRESET_FOLDER.glob("*.toml"))
    if name not in available:
        raise SweepError(f"{name}: no such file, and not a sweep preset (available: {', '.join(available)})")
    return _PRESET_FOLDER / f"{name}.toml"


def _base_table(base: str, folder: Path, where: str) -> tuple[dict, str]:
    """The TOML table of an arm's base config (a search preset or a file relative to the sweep file)."""
    path = folder / base
    if not (base.endswith(".toml") or path.is_file()):
        try:
            path = presets.path(base)
        except ConfigError as error:
            raise SweepError(f"{where}.base: {error.message}") from None
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")), str(path)
    except OSError as error:
        raise SweepError(f"{where}.base: cannot read {path}: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise SweepError(f"{where}.base: {path}: invalid TOML: {error}") from None


_KIND_WORDS = {int: "an integer", str: "a string", dict: "a table", list: "an array", float: "a number"}


def _field(table: dict, key: str, kind: type, prefix: str, default: Any = None) -> Any:
    """table[key] (or `default`), which must be of `kind` (float accepts integers; int never accepts booleans);
    errors name the field as prefix + key."""
    value = table.get(key, default)
    accepted = (int, float) if kind is float else kind
    if isinstance(value, bool) and kind is not bool or not isinstance(value, accepted):
        raise SweepError(f"{prefix}{key}: expected {_KIND_WORDS[kind]}, got {value!r}")
    return float(value) if kind is float and isinstance(value, (int, float)) else value


def load_spec(name_or_path: str) -> SweepSpec:
    """Parse a sweep file (or sweep preset): every arm's config is built and validated here."""
    path = _resolve(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except OSError as error:
        raise SweepError(f"{path}: cannot read: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise SweepError(f"{path}: invalid TOML: {error}") from None
    where = str(path)
    top = f"{where}: "
    for key in data:
        if key not in _TOP_KEYS:
            raise SweepError(f"{where}: {key}: unknown field (expected one of {', '.join(_TOP_KEYS)})")
    name = _field(data, "name", str, top, path.stem)
    seed = _field(data, "seed", int, top, 1)
    replicates = _field(data, "replicates", int, top, 1)
    write_every = _field(data, "write_every_seconds", float, top, 2.0)
    compare_with = _field(data, "compare_with", list, top, [])
    ranks_per_search = _field(data, "ranks_per_search", int, top, 1)
    if ranks_per_search < 1:
        raise SweepError(f"{where}: ranks_per_search: must be >= 1, got {ranks_per_search}")
    common = _field(data, "overrides", dict, top, {})
    if not 0 <= seed < 2**32:
        raise SweepError(f"{where}: seed: must be in 0 .. 2^32 - 1, got {seed}")
    if write_every < 0:
        raise SweepError(f"{where}: write_every_seconds: must be >= 0, got {write_every}")
    for model in compare_with:
        if model not in algorithms.MODEL_NAMES:
            raise SweepError(f"{where}: compare_with: unknown model {model!r} (expected one of "
                             f"{', '.join(algorithms.MODEL_NAMES)})")
    arms_data = _field(data, "arms", list, top, [])
    if not arms_data:
        raise SweepError(f"{where}: arms: needs at least one [[arms]] table")
    arms, names = [], set()
    for i, table in enumerate(arms_data):
        here = f"{where}: arms[{i}]"
        if not isinstance(table, dict):
            raise SweepError(f"{here}: expected a table")
        for key in table:
            if key not in _ARM_KEYS:
                raise SweepError(f"{here}.{key}: unknown field (expected one of {', '.join(_ARM_KEYS)})")
        arm_name = _field(table, "name", str, f"{here}.")
        if arm_name in names:
            raise SweepError(f"{here}.name: {arm_name!r} is given twice")
        names.add(arm_name)
        count = _field(table, "replicates", int, f"{here}.", replicates)
        if count < 1:
            raise SweepError(f"{here}.replicates: must be >= 1, got {count}")
        base, source = _base_table(_field(table, "base", str, f"{here}."), path.parent, here)
        merged = _merge(_merge(base, common), _field(table, "overrides", dict, f"{here}.", {}))
        try:
            cfg = SearchConfig.from_dict(merged, f"{here} (base {source})")
        except ConfigError as error:
            raise SweepError(str(error)) from None
        arms.append(Arm(arm_name, _field(table, "group", str, f"{here}.", ""), count, cfg))
    return SweepSpec(name, seed, arms, list(compare_with), write_every, ranks_per_search, text)


# ---------------------------------------------------------------------------------------------------------
# The sweep file


@dataclasses.dataclass
class SweepData:
    """What a sweep directory holds: the sweep text and name, its seed, the arms and the finished rows."""

    name: str
    seed: int
    text: str
    arm_names: list[str]
    arm_groups: list[str]
    arm_replicates: list[int]
    arm_configs: list[SearchConfig]
    compare_with: list[str]
    ranks_per_search: int
    rows: np.ndarray


def _write(run_dir: Path, spec: SweepSpec, rows: dict[tuple[int, int], tuple]) -> None:
    """Replace DIR/sweep.h5 whole: a temporary file, fsync, rename."""
    path = run_dir / SWEEP_FILE
    tmp = run_dir / (SWEEP_FILE + ".tmp")
    table = np.array([rows[key] for key in sorted(rows)], dtype=ROW_DTYPE)
    with h5py.File(tmp, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["schema_version"] = SCHEMA_VERSION
        f.attrs["azero_version"] = __version__
        f.attrs["name"] = spec.name
        f.attrs["seed"] = spec.seed
        f.attrs["sweep_toml"] = spec.text
        f.attrs["compare_with"] = ",".join(spec.compare_with)
        f.attrs["ranks_per_search"] = spec.ranks_per_search
        arms = f.create_group("arms")
        arms.create_dataset("name", data=[arm.name for arm in spec.arms], dtype=_STRING)
        arms.create_dataset("group", data=[arm.group for arm in spec.arms], dtype=_STRING)
        arms.create_dataset("replicates", data=[arm.replicates for arm in spec.arms], dtype=np.int32)
        arms.create_dataset("config_toml", data=[arm.config.to_toml() for arm in spec.arms], dtype=_STRING)
        f.create_dataset("rows", data=table, maxshape=(None,))
        f.flush()
        os.fsync(f.id.get_vfd_handle())
    os.replace(tmp, path)
    fd = os.open(run_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_sweep(run_dir: str | os.PathLike) -> SweepData:
    """The sweep recorded in `run_dir` (SweepError if there is none or it is damaged)."""
    path = Path(run_dir) / SWEEP_FILE
    if not path.exists():
        raise SweepError(f"{run_dir}: no {SWEEP_FILE} (not a sweep directory)")
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != FORMAT:
                raise SweepError(f"{path}: not an azero sweep file")
            if int(f.attrs["schema_version"]) > SCHEMA_VERSION:
                raise SweepError(f"{path}: schema version {int(f.attrs['schema_version'])} is newer than this "
                                 f"azero's ({SCHEMA_VERSION})")
            arms = f["arms"]
            names = [s.decode() if isinstance(s, bytes) else s for s in arms["name"][()]]
            groups = [s.decode() if isinstance(s, bytes) else s for s in arms["group"][()]]
            tomls = [s.decode() if isinstance(s, bytes) else s for s in arms["config_toml"][()]]
            rows = f["rows"][()]
            rows["program"] = [p.decode() if isinstance(p, bytes) else p for p in rows["program"]]
            compare = str(f.attrs["compare_with"])
            return SweepData(str(f.attrs["name"]), int(f.attrs["seed"]), str(f.attrs["sweep_toml"]), names,
                             groups, [int(n) for n in arms["replicates"][()]],
                             [SearchConfig.from_toml(text) for text in tomls],
                             [m for m in compare.split(",") if m], int(f.attrs["ranks_per_search"]), rows)
    except SweepError:
        raise
    except (OSError, KeyError, ValueError) as error:
        raise SweepError(f"{path}: damaged sweep file ({' '.join(str(error).split())})") from None


def _finished_rows(run_dir: Path, spec: SweepSpec) -> dict[tuple[int, int], tuple]:
    """Rows already in DIR/sweep.h5, after checking that it records the same sweep."""
    if not (run_dir / SWEEP_FILE).exists():
        return {}
    stored = read_sweep(run_dir)
    if stored.seed != spec.seed or stored.arm_names != [arm.name for arm in spec.arms] or \
            stored.ranks_per_search != spec.ranks_per_search:
        raise SweepError(f"{run_dir}: holds another sweep (seed, arm names or ranks_per_search differ); use "
                         "another --run-dir")
    for arm, cfg in zip(spec.arms, stored.arm_configs):
        if cfg != arm.config:
            raise SweepError(f"{run_dir}: arm {arm.name!r} has another config than when the sweep started; "
                             "use another --run-dir")
    return {(int(row["arm"]), int(row["replicate"])): tuple(row) for row in stored.rows
            if row["replicate"] < spec.arms[int(row["arm"])].replicates}


# ---------------------------------------------------------------------------------------------------------
# Running one job


def run_job(spec: SweepSpec, arm: int, replicate: int, island: Any = None) -> tuple:
    """One search of the sweep, quiet; its row (a ROW_DTYPE tuple). `island` (a LocalIsland) sees every
    generation: rank 0 passes one that serves the other ranks' requests."""
    from azero.search import Search

    cfg = spec.arms[arm].config
    seed = spec.seed_of(arm, replicate)
    started = time.monotonic()
    with open(os.devnull, "w") as quiet:
        result = Search(cfg, seed, out=quiet, island=island).run()
    wall = time.monotonic() - started
    experiments = result.experiments
    success = result.success
    success_individual = -1
    if success is not None:
        success_individual = sum(e.num_individuals for e in experiments[:success.experiment]) + success.individual
    return (arm, replicate, seed, max(e.search_fitness for e in experiments), result.best_select_fitness,
            result.final_fitness, sum(e.num_individuals for e in experiments),
            sum(e.num_train_steps for e in experiments), wall, success is not None, success_individual,
            float("nan") if success is None else success.fitness,
            float("nan") if success is None else success.reference_fitness,
            result.best_algorithm.to_text())


# ---------------------------------------------------------------------------------------------------------
# Progress


class _Progress:
    """Jobs done and ETA: a tqdm bar on a terminal, one plain line per finished job otherwise."""

    def __init__(self, total: int, done: int, out: TextIO, bar: bool):
        self.out = out
        self.total = total
        self.done = done
        self.started = time.monotonic()
        self.start_done = done
        self.bar = None
        if bar:
            from tqdm import tqdm
            self.bar = tqdm(total=total, initial=done, unit="search", file=out, dynamic_ncols=True)

    def job_done(self, spec: SweepSpec, row: tuple) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
            return
        rate = (self.done - self.start_done) / max(time.monotonic() - self.started, 1e-9)
        eta = (self.total - self.done) / rate if rate > 0 else float("inf")
        arm = spec.arms[row[0]].name
        print(f"[{self.done}/{self.total}] {arm} replicate {row[1]}: select={row[4]:.6f}, "
              f"succeeded={'yes' if row[9] else 'no'}, individuals={row[6]}, {row[8]:.1f}s; eta {eta:.0f}s",
              file=self.out, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# ---------------------------------------------------------------------------------------------------------
# Running the sweep

_TAG_REQUEST = 11
_TAG_JOB = 12


class _Coordinator:
    """Rank 0's bookkeeping: the queue, the rows, writing them, and serving the other ranks' requests."""

    def __init__(self, spec: SweepSpec, run_dir: Path, rows: dict, comm: Any, progress: _Progress):
        self.spec = spec
        self.run_dir = run_dir
        self.rows = rows
        self.queue = [job for job in spec.jobs() if job not in rows]
        self.comm = comm
        self.progress = progress
        self.last_write = time.monotonic()
        # first ranks of the other groups not yet told to stop
        self.busy_workers = 0 if comm is None else comm.Get_size() // spec.ranks_per_search - 1
        self.dirty = False

    def next_job(self) -> tuple[int, int] | None:
        return self.queue.pop(0) if self.queue else None

    def record(self, row: tuple) -> None:
        self.rows[(int(row[0]), int(row[1]))] = row
        self.progress.job_done(self.spec, row)
        self.dirty = True
        if time.monotonic() - self.last_write >= self.spec.write_every_seconds:
            self.write()

    def write(self) -> None:
        _write(self.run_dir, self.spec, self.rows)
        self.last_write = time.monotonic()
        self.dirty = False

    def _answer(self, source: int, row: tuple | None) -> None:
        if row is not None:
            self.record(row)
        job = self.next_job()
        if job is None:
            self.busy_workers -= 1
        self.comm.send(job, dest=source, tag=_TAG_JOB)

    def serve(self) -> None:
        """Answer every pending request (non-blocking): record the row it carries, send the next job."""
        if self.comm is None:
            return
        from mpi4py import MPI
        status = MPI.Status()
        while self.comm.Iprobe(source=MPI.ANY_SOURCE, tag=_TAG_REQUEST, status=status):
            source = status.Get_source()
            self._answer(source, self.comm.recv(source=source, tag=_TAG_REQUEST))

    def drain(self) -> None:
        """Block until every other rank has been told to stop (their last rows recorded)."""
        from mpi4py import MPI
        status = MPI.Status()
        while self.busy_workers > 0:
            row = self.comm.recv(source=MPI.ANY_SOURCE, tag=_TAG_REQUEST, status=status)
            self._answer(status.Get_source(), row)


def _island(group: Any, cfg: SearchConfig, coordinator: _Coordinator | None) -> Any:
    """The island of one search: LocalIsland (groups of 1) or an MPIIsland over the group; on rank 0 one that
    also serves the other groups' requests after every generation."""
    from azero.islands import MPIIsland
    from azero.search import LocalIsland

    base = LocalIsland if group is None else MPIIsland
    if coordinator is None:
        return None if group is None else MPIIsland(group, cfg)

    serve = coordinator.serve

    class ServingIsland(base):  # type: ignore[valid-type,misc]  # the base class is chosen at run time
        def after_generation(self, search) -> None:
            super().after_generation(search)
            serve()

    return ServingIsland() if group is None else ServingIsland(group, cfg)


def run_sweep(name_or_path: str, run_dir: str | os.PathLike | None = None, *, comm: Any = None,
              out: TextIO | None = None, progress_bar: bool = False) -> Path:
    """Run (or continue) a sweep; returns its directory. `comm`: an MPI communicator (all its ranks call this),
    or None for one process. Only rank 0 reads the sweep's directory, writes and prints."""
    out = sys.stdout if out is None else out
    rank = 0 if comm is None else comm.Get_rank()
    size = 1 if comm is None else comm.Get_size()
    spec = load_spec(name_or_path)   # every rank builds the configs (they are small; errors abort the job)
    per = spec.ranks_per_search
    if size % per:
        raise SweepError(f"{name_or_path}: ranks_per_search = {per} needs a multiple of {per} MPI ranks "
                         f"(mpiexec -n {per}, {2 * per}, ...), got {size}")
    group = None if per == 1 else comm.Split(rank // per, rank)
    folder = Path(run_dir) if run_dir is not None else Path("sweeps") / spec.name
    if rank != 0:
        if rank % per:
            _follow(spec, group)
        else:
            _lead(spec, comm, group)
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / (SWEEP_FILE + ".tmp")).unlink(missing_ok=True)   # a write cut short by a kill
    rows = _finished_rows(folder, spec)
    total = len(spec.jobs())
    print(f"Sweep {spec.name}: {len(spec.arms)} arms, {total} searches ({len(rows)} already done), "
          f"{size} rank{'s' if size > 1 else ''}, {per} per search; results in {folder / SWEEP_FILE}",
          file=out, flush=True)
    progress = _Progress(total, len(rows), out, progress_bar)
    coordinator = _Coordinator(spec, folder, rows, comm, progress)
    coordinator.write()
    try:
        while True:
            coordinator.serve()
            job = coordinator.next_job()
            if group is not None:
                group.bcast(job, root=0)
            if job is None:
                break
            cfg = spec.arms[job[0]].config
            coordinator.record(run_job(spec, *job, island=_island(group, cfg, coordinator)))
        if comm is not None:
            coordinator.drain()
    finally:
        progress.close()
        if coordinator.dirty:
            coordinator.write()
    print(f"Sweep {spec.name}: {len(coordinator.rows)} of {total} searches done; see `azero show {folder}`",
          file=out, flush=True)
    return folder


def _lead(spec: SweepSpec, comm: Any, group: Any) -> None:
    """The first rank of a group other than rank 0's: ask for a job (carrying the last row), pass it to the
    group, run it, until told to stop."""
    row = None
    while True:
        job = comm.sendrecv(row, dest=0, sendtag=_TAG_REQUEST, source=0, recvtag=_TAG_JOB)
        if group is not None:
            group.bcast(job, root=0)
        if job is None:
            return
        arm, replicate = job
        row = run_job(spec, arm, replicate, island=_island(group, spec.arms[arm].config, None))


def _follow(spec: SweepSpec, group: Any) -> None:
    """Another rank of a group: run the searches its first rank passes on, as one of their islands."""
    while True:
        job = group.bcast(None, root=0)
        if job is None:
            return
        arm, replicate = job
        run_job(spec, arm, replicate, island=_island(group, spec.arms[arm].config, None))
