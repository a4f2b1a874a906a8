"""HDF5 run store: a run directory that survives kills, can be resumed, and holds everything for analysis.

A run directory (schema in docs/run_format.md) holds ``run.h5`` (config, seeds, rank count, segments,
experiments, final result; written by rank 0, always replaced whole by write-then-rename) and one
``island-NNNN.h5`` per island (progress history, new-best lineage, migrations, population snapshots,
checkpoints; created by write-then-rename, then appended in place in HDF5 SWMR mode, so a reader can open it
while it grows and a kill -9 at any moment leaves every committed checkpoint readable).

- `RunStore` is the store a `azero.search.Search` calls (`start`, `progress`, `after_generation`,
  `checkpoint`, `experiment_done`, `finish`; the island layer calls `migration` and, before immigrants
  arrive, `before_migration`). Under MPI every rank gets its own RunStore for the same directory; its hooks
  contain collectives, like the loop's.
- `resume(run_dir)` continues a stopped or killed run from its last checkpoint (bitwise the same result as an
  uninterrupted run when the rank count is unchanged); `load_run(run_dir)` reads a run into numpy arrays;
  `status(run_dir)` summarises a live or finished run; `run_config(run_dir)` reads its config;
  `new_run_dir()` makes a fresh timestamped folder.

Every problem with the files (missing, truncated, corrupt, newer schema, config mismatch) raises
`RunStoreError`, one line, before anything is written.
"""
from __future__ import annotations

import concurrent.futures
import ctypes
import ctypes.util
import dataclasses
import datetime
import fcntl
import os
import re
import struct
import sys
import time
import zlib
from pathlib import Path
from typing import Any, Callable, TextIO

import h5py
import numpy as np

import azero
from azero._core import INSTRUCTION_DTYPE
from azero._core.rng import RandomGenerator, hash_mix
from azero.algorithm import Algorithm
from azero.config import ConfigError, SearchConfig
from azero.search import Experiment, LocalIsland, Search, SearchResult, capacities, initial_model

SCHEMA_VERSION = 3       # 2: every dataset carries HDF5's fletcher32 checksum; evaluation seeds stored
                         # 3: run.h5 carries a CRC-32 of all its bytes in its HDF5 user block
RUN_FILE = "run.h5"
RUN_FORMAT = "azero-run"
ISLAND_FORMAT = "azero-island"
NUM_SLOTS = 3            # resumable checkpoints whose full state (FEC, hurdle ring) is kept, newest first
LIBVER = ("v110", "v110")  # the oldest file format with SWMR: readable by HDF5 >= 1.10
OPEN_RETRY_SECONDS = 3.0   # a reader retries while a writer holds a file outside SWMR mode (create, resume)
NO_PRINT = -1            # `last_printed` of None in a checkpoint row
_COPY_BLOCK = 1 << 16    # rows per block when copying a table
_VERIFY_BYTES = 1 << 22  # bytes per read when checking a dataset's checksums


class RunStoreError(ValueError):
    """A run directory problem, one line: which file and what is wrong. Nothing was written."""


def island_file(island: int) -> str:
    return f"island-{island:04d}.h5"


# ---------------------------------------------------------------------------------------------------------
# Layout: the fixed shapes of one run's records (they follow from the config).


@dataclasses.dataclass(frozen=True)
class Layout:
    """Record shapes of a run: population size, program row capacities, FEC and hurdle sizes, task counts."""

    population_size: int
    capacities: tuple[int, int, int]
    fec_capacity: int        # 0 = no FEC
    hurdle_window: int       # 0 = no hurdles
    num_migrants: int        # most migrants one record holds (islands.num_migrants, or half the population)
    num_search_tasks: int
    num_select_tasks: int

    @classmethod
    def of(cls, cfg: SearchConfig) -> Layout:
        initial, _ = initial_model(cfg)
        return cls(cfg.population_size, capacities(cfg, initial),
                   0 if cfg.fec is None else cfg.fec.cache_size, 0 if cfg.hurdles is None else cfg.hurdles.window,
                   max(1, cfg.islands.num_migrants or cfg.population_size // 2),
                   sum(s.num_tasks for s in cfg.search_tasks),
                   max(1, sum(s.num_tasks for s in cfg.select_tasks)))

    @property
    def row_length(self) -> int:
        return sum(self.capacities)

    def program_fields(self) -> list:
        return [("sizes", "<i4", (3,)), ("program", INSTRUCTION_DTYPE, (self.row_length,))]

    @property
    def lineage_dtype(self) -> np.dtype:
        return np.dtype([("experiment", "<i4"), ("individual", "<i8"), ("fitness", "<f8")] + self.program_fields())

    @property
    def migration_dtype(self) -> np.dtype:
        return np.dtype([("experiment", "<i4"), ("individuals", "<i8"), ("elapsed", "<f8"), ("wall_time", "<f8"),
                         ("from_rank", "<i4"), ("to_rank", "<i4"), ("count", "<i4"),
                         ("fitness", "<f8", (self.num_migrants,))])

    @property
    def checkpoint_dtype(self) -> np.dtype:
        return np.dtype([
            ("seq", "<i8"), ("resumable", "u1"), ("slot", "i1"), ("generation", "<i8"), ("experiment", "<i4"),
            ("individuals", "<i8"), ("train_steps", "<i8"), ("init_steps", "<i8"), ("steps", "<i8"),
            ("last_printed", "<i8"), ("elapsed", "<f8"), ("experiment_elapsed", "<f8"), ("wall_time", "<f8"),
            ("best_select_fitness", "<f8"), ("best_ever_fitness", "<f8"), ("best", "<f8"), ("mean", "<f8"),
            ("fec_hits", "<i8"), ("fec_misses", "<i8"), ("fec_size", "<i8"), ("hurdle_rejections", "<i8"),
            ("hurdle_fill", "<i4"), ("hurdle_position", "<i4"), ("hurdle", "<f8"), ("rng", "<u4", (625,)),
            ("search_seeds_set", "u1"), ("search_param_seeds", "<u4", (self.num_search_tasks,)),
            ("search_data_seeds", "<u4", (self.num_search_tasks,)), ("select_seeds_set", "u1"),
            ("select_param_seeds", "<u4", (self.num_select_tasks,)),
            ("select_data_seeds", "<u4", (self.num_select_tasks,)),
            ("progress_rows", "<i8"), ("lineage_rows", "<i8"), ("migration_rows", "<i8"), ("history_rows", "<i8"),
        ])

    @property
    def experiment_dtype(self) -> np.dtype:
        return self.experiment_dtype_of(SCHEMA_VERSION)

    def experiment_dtype_of(self, version: int) -> np.dtype:
        """The experiments table of a schema version (1 did not store the T_select random-op seed)."""
        seed = [("select_seed", "<u4")] if version >= 2 else []
        return np.dtype([("search_fitness", "<f8"), ("select_fitness", "<f8"), ("num_individuals", "<i8"),
                         ("num_train_steps", "<i8")] + self.program_fields() + seed)

    def encode(self, alg: Algorithm) -> tuple[np.ndarray, np.ndarray]:
        """(program row, sizes) of an algorithm, each function at its offset in the row."""
        row = np.zeros(self.row_length, dtype=INSTRUCTION_DTYPE)
        offset = 0
        for function, capacity in zip(alg.functions, self.capacities):
            if len(function) > capacity:
                raise ValueError(f"a function of {len(function)} instructions exceeds the row capacity {capacity}")
            row[offset:offset + len(function)] = function
            offset += capacity
        return row, np.array(alg.sizes, dtype=np.int32)

    def decode(self, program: np.ndarray, sizes) -> Algorithm:
        """The algorithm of a program row and its sizes."""
        offsets = np.concatenate([[0], np.cumsum(self.capacities)[:2]])
        return Algorithm.from_arrays(*(program[o:o + int(n)] for o, n in zip(offsets, sizes)))


PROGRESS_DTYPE = np.dtype([
    ("experiment", "<i4"), ("individuals", "<i8"), ("train_steps", "<i8"), ("elapsed", "<f8"), ("wall_time", "<f8"),
    ("mean", "<f8"), ("stdev", "<f8"), ("best", "<f8"), ("fec_hits", "<i8"), ("fec_misses", "<i8"),
    ("hurdle_rejections", "<i8"),
])
SEGMENT_DTYPE = np.dtype([("start_time", "<f8"), ("num_ranks", "<i4"), ("resumed_from", "<i8"),
                          ("individuals", "<i8")])

# Tables of an island file: name -> (row dtype from a Layout, rows per chunk). Rows are appended in place.
_TABLES = {
    "progress": (lambda layout: PROGRESS_DTYPE, 256),
    "lineage": (lambda layout: layout.lineage_dtype, 16),
    "migrations": (lambda layout: layout.migration_dtype, 64),
    "checkpoints": (lambda layout: layout.checkpoint_dtype, 8),
}
# A table whose rows are never all zero: a trailing row still zero was allocated but not written (a kill).
_ROW_KEY = {"progress": "individuals", "lineage": "individual", "migrations": "individuals",
            "checkpoints": "seq", "history": "individual"}


# ---------------------------------------------------------------------------------------------------------
# Config as attributes


def _flat_config(data: dict, prefix: str = "") -> dict[str, Any]:
    """The config's TOML data as flat attributes: `fec.cache_size`, `search_tasks[0].kind`, lists as arrays."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat_config(value, name + "."))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for i, item in enumerate(value):
                out.update(_flat_config(item, f"{name}[{i}]."))
        elif isinstance(value, list):
            if not value:
                out[name] = np.zeros(0, dtype=np.int64)
            elif all(isinstance(v, str) for v in value):
                out[name] = np.array(value, dtype=h5py.string_dtype())
            elif all(isinstance(v, (list, tuple)) for v in value):
                out[name] = np.array(value, dtype=np.int64)
            else:
                out[name] = np.array(value)
        else:
            out[name] = value
    return out


def _store_attrs(attrs: h5py.AttributeManager, values: dict[str, Any]) -> None:
    """Set attributes, text as fixed-length UTF-8 strings: they then live in the (checksummed) object header,
    not in HDF5's global heap, which has no checksum (and a damaged one can hang the library)."""
    for name, value in values.items():
        if isinstance(value, str) or (isinstance(value, np.ndarray) and value.dtype.kind in "OUS"):
            encoded = np.array(value, dtype=object)
            encoded = np.array([str(v).encode("utf-8") for v in encoded.reshape(-1)],
                               dtype=bytes).reshape(encoded.shape)
            width = max(1, max((len(v) for v in encoded.reshape(-1)), default=1))
            attrs.create(name, encoded.astype(f"S{width}"), dtype=h5py.string_dtype("utf-8", width))
        else:
            attrs[name] = value


def _text(value: Any) -> Any:
    """An attribute as Python text when it is text (fixed-length strings read back as bytes)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray) and value.dtype.kind == "S":
        return np.array([v.decode("utf-8") for v in value.reshape(-1)], dtype=object).reshape(value.shape)
    return value


def _write_config(group: h5py.Group, cfg: SearchConfig) -> None:
    _store_attrs(group.attrs, _flat_config(cfg.to_dict()))


def _parse_config(text: str, where: str) -> SearchConfig:
    try:
        return SearchConfig.from_toml(text if "\n" in text else text + "\n")
    except ConfigError as error:
        raise RunStoreError(f"{where}: the stored config does not load with this azero: {error}") from None


def _config_difference(a: SearchConfig, b: SearchConfig) -> str:
    """The first field in which two configs differ (for error messages)."""
    da, db = _flat_config(a.to_dict()), _flat_config(b.to_dict())
    for name in sorted(set(da) | set(db)):
        va, vb = da.get(name), db.get(name)
        if isinstance(va, np.ndarray) or isinstance(vb, np.ndarray):
            if not np.array_equal(np.asarray(va), np.asarray(vb)):
                return name
        elif va != vb:
            return name
    return "(unknown field)"


# ---------------------------------------------------------------------------------------------------------
# Files: opening with one-line errors, atomic replacement, tables


_TRUNCATED = re.compile(r"truncated file: eof = (\d+), .*stored_eof = (\d+)")
_SHORT_TAIL = 1 << 16    # bytes: at most this (and an eighth of the file) is an unwritten tail, not a lost part


def _short_tail(message: str) -> bool:
    match = _TRUNCATED.search(message)
    if match is None:
        return False
    size, claimed = int(match.group(1)), int(match.group(2))
    return claimed - size <= min(_SHORT_TAIL, size // 8)


# run.h5 is written whole and moved into place by rename, so all of its bytes can carry one checksum. HDF5 leaves
# a user block at the front of a file for the application: ours holds a magic, the length of the HDF5 bytes that
# follow it and their CRC-32, checked before HDF5 reads anything (a damaged header can make HDF5 itself hang).
RUN_USERBLOCK = 512
_RUN_MAGIC = b"AZERORUN"
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _seal_run_file(path: Path) -> None:
    """Write the checksum block of a closed run file created with a RUN_USERBLOCK user block."""
    with open(path, "r+b") as handle:
        handle.seek(RUN_USERBLOCK)
        body = handle.read()
        handle.seek(0)
        handle.write(_RUN_MAGIC + struct.pack("<QI", len(body), zlib.crc32(body)))


def _check_run_file(path: Path) -> None:
    """RunStoreError unless the run file's bytes match its checksum block (files of schema <= 2 have none)."""
    data = path.read_bytes()
    if data[:len(_HDF5_SIGNATURE)] == _HDF5_SIGNATURE:
        return
    if data[:len(_RUN_MAGIC)] != _RUN_MAGIC or len(data) < len(_RUN_MAGIC) + 12:
        raise RunStoreError(f"{path}: not a readable HDF5 file (no azero checksum block: overwritten, damaged, or "
                            "not a run file)")
    length, crc = struct.unpack_from("<QI", data, len(_RUN_MAGIC))
    body = data[RUN_USERBLOCK:]
    if len(body) < length:
        raise RunStoreError(f"{path}: truncated file ({len(body)} of the {length} bytes written)")
    if len(body) != length:
        raise RunStoreError(f"{path}: damaged file ({len(body)} bytes where {length} were written)")
    if zlib.crc32(body) != crc:
        raise RunStoreError(f"{path}: damaged file (checksum mismatch)")


SWMR_READ_ATTEMPTS = 25   # HDF5's SWMR readers retry a failed metadata checksum with a doubling pause; its
                           # default (100) never ends on a damaged file, 25 gives up after a few milliseconds


def _hdf5_library() -> ctypes.CDLL | None:
    """The HDF5 library h5py uses (for the one property h5py does not expose), or None if not found."""
    folder = Path(h5py.__file__).resolve().parent
    for candidate in (*sorted(folder.parent.glob("h5py.libs/libhdf5-*.so*")), *sorted(folder.glob("*.libs/libhdf5*"))):
        try:
            return ctypes.CDLL(str(candidate))
        except OSError:
            continue
    name = ctypes.util.find_library("hdf5")
    return ctypes.CDLL(name) if name else None


_HDF5 = _hdf5_library()


def _swmr_read_fapl() -> h5py.h5p.PropFAID:
    """File access for SWMR readers: libver v110, no file locking, few metadata read attempts."""
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(h5py.h5f.LIBVER_V110, h5py.h5f.LIBVER_V110)
    fapl.set_file_locking(False, True)
    if _HDF5 is not None:
        _HDF5.H5Pset_metadata_read_attempts(ctypes.c_int64(fapl.id), ctypes.c_uint(SWMR_READ_ATTEMPTS))
    return fapl


def _open_read(path: Path) -> h5py.File:
    """Open a run file for reading, also while a writer appends (SWMR); RunStoreError on any problem."""
    if not path.exists():
        raise RunStoreError(f"{path}: missing")
    if path.name == RUN_FILE:
        _check_run_file(path)
    deadline = time.monotonic() + OPEN_RETRY_SECONDS
    while True:
        try:
            # A closed file opens normally, which also checks it is complete; one whose writer is appending (or
            # was killed while appending) carries HDF5's "open for write" flag and opens in SWMR read mode.
            # Readers take no file lock, so they never stop a writer from opening its file.
            # A file closing (or killed while closing) may end short of the end its superblock names, by the
            # unused tail HDF5 pads it to last: SWMR mode reads it (it skips that check).
            try:
                return h5py.File(path, "r", locking=False)
            except OSError as error:
                if "already open for write" not in str(error) and not _short_tail(str(error)):
                    raise
            return h5py.File(h5py.h5f.open(os.fsencode(path), h5py.h5f.ACC_RDONLY | h5py.h5f.ACC_SWMR_READ,
                                           fapl=_swmr_read_fapl()))
        except OSError as error:
            message = " ".join(str(error).split())
            transient = ("already open for write", "not already open for SWMR writing", "unable to lock file")
            if any(text in message for text in transient) and time.monotonic() < deadline:
                time.sleep(0.02)    # a file changing hands (a moment)
                continue
            if "truncated file" in message:
                raise RunStoreError(f"{path}: truncated file ({message})") from None
            if "file signature not found" in message:
                raise RunStoreError(f"{path}: not a readable HDF5 file (no HDF5 signature: overwritten, or not a "
                                    "run file)") from None
            raise RunStoreError(f"{path}: not a readable HDF5 file (damaged: {_reason(error)})") from None


def _check_header(f: h5py.File, path: Path, kind: str) -> None:
    """Format and schema version of a run file; RunStoreError for foreign files and newer schemas."""
    try:
        fmt = _text(f.attrs.get("format"))
        version = f.attrs.get("schema_version")
    except (KeyError, OSError, ValueError, TypeError, RuntimeError) as error:
        raise RunStoreError(f"{path}: damaged file, its header does not read ({_reason(error)})") from None
    if fmt != kind or version is None:
        raise RunStoreError(f"{path}: not an azero {kind.split('-')[1]} file")
    if int(version) > SCHEMA_VERSION:
        raise RunStoreError(f"{path}: schema version {int(version)} is newer than this azero's "
                            f"({SCHEMA_VERSION}); upgrade azero to read it")


def _fsync(f: h5py.File) -> None:
    """Push a flushed HDF5 file to the disk (checkpoints survive a node crash, not only a kill)."""
    os.fsync(f.id.get_vfd_handle())


def _replace(tmp: Path, path: Path) -> None:
    """Atomically move a complete file into place, durable on the disk."""
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _holds_run(run_dir: Path) -> bool:
    return (run_dir / RUN_FILE).exists() or any(run_dir.glob("island-*.h5"))


def _lock_path(run_dir: Path, island: int) -> Path:
    return run_dir / f".island-{island:04d}.lock"


def _lock(run_dir: Path, island: int) -> int | None:
    """Take the writer's lock of an island (held until the process closes it or dies); RunStoreError if a
    live process holds it. None where the file system has no flock (then nothing is checked).

    Retries for a moment: `status` probes the lock by taking it shared for an instant."""
    fd = os.open(_lock_path(run_dir, island), os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + 1.0
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() < deadline:
                time.sleep(0.02)
                continue
            os.close(fd)
            raise RunStoreError(f"{run_dir}: island {island} is being written by a live process") from None
        except OSError:
            os.close(fd)
            return None


def _writer_alive(run_dir: Path, island: int) -> bool | None:
    """Whether a live process holds the writer's lock of an island (None: the file system cannot tell).
    Takes the lock shared for an instant and never creates the lock file."""
    try:
        fd = os.open(_lock_path(run_dir, island), os.O_RDONLY)
    except FileNotFoundError:
        return False
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    except OSError:
        return None
    finally:
        os.close(fd)


def _tmp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _append(dataset: h5py.Dataset, rows: np.ndarray) -> None:
    n = dataset.shape[0]
    dataset.resize((n + len(rows),) + dataset.shape[1:])
    dataset[n:] = rows


class _Table:
    """An appendable 1-d dataset of the writer, through h5py's low-level calls (the high-level ones convert the
    nested compound type on every write, ~0.5 ms)."""

    def __init__(self, dataset: h5py.Dataset):
        self.id = dataset.id
        self.mtype = h5py.h5t.py_create(dataset.dtype)
        self.length = dataset.shape[0]

    def append(self, rows: np.ndarray) -> None:
        n, k = self.length, len(rows)
        self.id.set_extent((n + k,))
        space = self.id.get_space()
        space.select_hyperslab((n,), (k,))
        self.id.write(h5py.h5s.create_simple((k,)), space, np.ascontiguousarray(rows), self.mtype)
        self.length = n + k


def _valid_rows(table: np.ndarray, name: str) -> np.ndarray:
    """Drop trailing rows that were allocated but never written (a writer killed mid-append)."""
    key = _ROW_KEY[name]
    n = len(table)
    while n and table[key][n - 1] == 0:
        n -= 1
    return table[:n]


# ---------------------------------------------------------------------------------------------------------
# run.h5


@dataclasses.dataclass
class _RunInfo:
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


def _write_run(run_dir: Path, info: _RunInfo) -> None:
    layout = Layout.of(info.cfg)
    path = run_dir / RUN_FILE
    tmp = _tmp_path(path)
    with h5py.File(tmp, "w", libver=LIBVER, userblock_size=RUN_USERBLOCK) as f:
        _store_attrs(f.attrs, dict(
            format=RUN_FORMAT, schema_version=SCHEMA_VERSION, azero_version=azero.__version__,
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


def _checked_dataset(group: h5py.Group, name: str, data: np.ndarray) -> h5py.Dataset:
    """A dataset of `data` in one chunk with HDF5's fletcher32 checksum (a damaged byte fails its read)."""
    return group.create_dataset(name, data=data, maxshape=(None,) + data.shape[1:],
                                chunks=(max(1, len(data)),) + data.shape[1:], fletcher32=True)


def _read_run(run_dir: Path) -> _RunInfo:
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
            return _RunInfo(
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
            format=ISLAND_FORMAT, schema_version=SCHEMA_VERSION, azero_version=azero.__version__,
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


def _copy_rows(src: h5py.Dataset, n: int):
    """A content callable copying the first `n` rows of `src` in blocks."""
    def copy(dst: h5py.Dataset) -> None:
        dst.resize((n,) + dst.shape[1:])
        for start in range(0, n, _COPY_BLOCK):
            stop = min(n, start + _COPY_BLOCK)
            dst[start:stop] = src[start:stop]
    return copy


@dataclasses.dataclass
class _Counters:
    """Where an island's store goes on: checkpoint numbering and generation count."""

    generation: int = -1            # after_generation calls so far minus one (Init is generation 0)
    next_seq: int = 1
    resumable: int = 0              # resumable checkpoints written (the next one uses slot resumable % NUM_SLOTS)
    last_checkpoint_generation: int = -2


def _specs_seeds(specs, defaults, width: int) -> tuple[int, np.ndarray, np.ndarray]:
    """(set flag, param seeds, data seeds) of the current task specs; flag 0 when they are the config's."""
    param = np.zeros(width, dtype=np.uint32)
    data = np.zeros(width, dtype=np.uint32)
    if list(specs) == list(defaults):
        return 0, param, data
    p = [s for spec in specs for s in spec.param_seeds]
    d = [s for spec in specs for s in spec.data_seeds]
    if len(p) != sum(spec.num_tasks for spec in specs) or len(d) != len(p):
        raise ValueError("randomised task specs must carry one param and one data seed per task")
    param[:len(p)] = p
    data[:len(d)] = d
    return 1, param, data


def _specs_from_seeds(defaults, flag: int, param: np.ndarray, data: np.ndarray) -> list:
    if not flag:
        return list(defaults)
    out, i = [], 0
    for spec in defaults:
        n = spec.num_tasks
        out.append(dataclasses.replace(spec, param_seeds=[int(s) for s in param[i:i + n]],
                                       data_seeds=[int(s) for s in data[i:i + n]]))
        i += n
    return out


# ---------------------------------------------------------------------------------------------------------
# The writer


class RunStore:
    """Records a search into `run_dir` (see the module docstring); pass it as `Search(..., store=...)`.

    `checkpoint_every_seconds` overrides the config's interval (0 = only at stop); `checkpoint_every_generations`
    checkpoints at fixed generations instead (deterministic; for tests and benchmarks). `full_history` also
    records every evaluated individual (fitness and program).
    """

    def __init__(self, run_dir: str | os.PathLike, *, full_history: bool = False,
                 checkpoint_every_seconds: float | None = None, checkpoint_every_generations: int | None = None):
        self.run_dir = Path(run_dir)
        self.full_history = full_history
        self.every_seconds = checkpoint_every_seconds
        self.every_generations = checkpoint_every_generations
        self.counters = _Counters()
        self.info: _RunInfo | None = None      # rank 0 only
        self.island_id = 0
        self.layout: Layout | None = None
        self.file: h5py.File | None = None
        self.tables: dict[str, _Table] = {}
        self._writer: concurrent.futures.ThreadPoolExecutor | None = None
        self._history: concurrent.futures.Future | None = None
        self._history_key: tuple[int, int] | None = None   # (experiment, individuals) last recorded in history
        self._lock: int | None = None           # flock held on .island-NNNN.lock while this store writes
        self.last_checkpoint_time = time.monotonic()
        self.seconds_in_store = 0.0            # time spent in the hooks (benchmarks)
        self.replace_run = False               # start() may replace an existing run (resume without checkpoint)

    # -- setup --

    def _attach(self, cfg: SearchConfig, island_id: int) -> None:
        """Open this island's (complete, renamed-in) file for appending in SWMR mode."""
        self.island_id = island_id
        self.layout = Layout.of(cfg)
        if self.every_seconds is None:
            self.every_seconds = cfg.checkpoint_every_seconds
        path = self.run_dir / island_file(island_id)
        self._lock = _lock(self.run_dir, island_id)
        # Opened in SWMR-write mode from the first moment (no window in which a kill would leave a file that
        # only h5clear can open again).
        fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
        fapl.set_libver_bounds(h5py.h5f.LIBVER_V110, h5py.h5f.LIBVER_V110)
        fapl.set_file_locking(True, True)      # best effort: file systems without locks are fine
        self.file = h5py.File(h5py.h5f.open(os.fsencode(path), h5py.h5f.ACC_RDWR | h5py.h5f.ACC_SWMR_WRITE,
                                            fapl=fapl))
        self.tables = {name: _Table(self.file[name]) for name in (*_TABLES, "history") if name in self.file}
        if self.full_history:
            self._writer = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        self.last_checkpoint_time = time.monotonic()

    def _write_run(self) -> None:
        _write_run(self.run_dir, self._run_info())

    def _run_info(self) -> _RunInfo:
        """run.h5's record (rank 0 holds it from start or resume on)."""
        if self.info is None:
            raise RuntimeError("only rank 0 of a started run holds run.h5's record")
        return self.info

    def _attached(self) -> tuple[Layout, h5py.File]:
        """The layout and open file of this island (from start or resume on)."""
        if self.layout is None or self.file is None:
            raise RuntimeError("the run store has no island file open")
        return self.layout, self.file

    # -- hooks called by Search --

    def start(self, search: Search) -> None:
        """A fresh run: run.h5 saying "starting" (rank 0), every island's empty file, then run.h5 "running".

        A run killed while starting holds nothing worth keeping: resume starts it again."""
        t0 = time.perf_counter()
        island = search.island
        error = None
        if island.is_root and not self.replace_run and _holds_run(self.run_dir):
            error = f"{self.run_dir}: already holds a run; continue it with resume"
        error = island.broadcast(error)
        if error is not None:
            raise RunStoreError(error)
        if island.is_root:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self.info = _RunInfo(
                cfg=search.cfg, base_seed=search.base_seed, full_history=self.full_history,
                created=datetime.datetime.now().isoformat(timespec="seconds"), status="starting",
                island_ids=list(range(island.size)), num_islands=island.size,
                segments=[(time.time(), island.size, -1, 0)], segment_islands=[list(range(island.size))],
                experiments=[])
            self._write_run()
        island.broadcast(None)   # run directory exists on every rank
        _create_island(self.run_dir / island_file(island.rank), search.cfg,
                       dict(island=island.rank, base_seed=search.base_seed, island_seed=search.seed,
                            parent_island=-1, parent_checkpoint=-1), self.full_history)
        self._attach(search.cfg, island.rank)
        island.any(False)        # a barrier: every island file exists
        if island.is_root:
            self._run_info().status = "running"
            self._write_run()
        self.seconds_in_store += time.perf_counter() - t0

    def progress(self, search: Search) -> None:
        """One progress row (what the progress line shows, plus counters), flushed for live readers."""
        t0 = time.perf_counter()
        evaluator, evolution = search.running()
        mean, stdev, best, _ = evolution.stats()
        fec = evaluator.fec
        row = np.array([(len(search.experiments), evolution.num_individuals, evaluator.num_train_steps,
                         time.monotonic() - search.started, time.time(), mean, stdev, best,
                         0 if fec is None else fec.hits, 0 if fec is None else fec.misses,
                         evolution.hurdle_rejections)], dtype=PROGRESS_DTYPE)
        self.tables["progress"].append(row)
        self._attached()[1].flush()
        self.seconds_in_store += time.perf_counter() - t0

    def after_generation(self, search: Search) -> None:
        """New bests (and every individual with full history); a checkpoint when one is due."""
        t0 = time.perf_counter()
        self.counters.generation += 1
        _, evolution = search.running()
        experiment = len(search.experiments)
        n = evolution.num_improved
        if n:
            rows = np.zeros(n, dtype=self._attached()[0].lineage_dtype)
            rows["experiment"] = experiment
            rows["individual"] = evolution.improved_individuals[:n]
            rows["fitness"] = evolution.improved_fitness[:n]
            rows["sizes"] = evolution.improved_sizes[:n]
            rows["program"] = evolution.improved_programs[:n]
            self.tables["lineage"].append(rows)
        self.before_migration(search)
        if self.every_generations:     # the same on every rank: no collective needed
            due = self.counters.generation % self.every_generations == 0
        elif self.every_seconds:         # rank 0's clock decides for all
            due = search.island.broadcast(search.island.is_root and
                                          time.monotonic() - self.last_checkpoint_time >= self.every_seconds)
        else:
            due = False
        self.seconds_in_store += time.perf_counter() - t0
        if due:
            self.checkpoint(search)

    def before_migration(self, search: Search) -> None:
        """With full history, record the generation just evaluated (slot s = its s-th individual) now, before
        immigrants replace its oldest slots; after_generation then skips it. A no-op without full history."""
        if not self.full_history:
            return
        _, evolution = search.running()
        key = (len(search.experiments), evolution.num_individuals)
        if key == self._history_key:
            return
        self._history_key = key
        P = evolution.population_size
        rows = np.zeros(P, dtype=self._attached()[0].lineage_dtype)
        rows["experiment"] = key[0]
        rows["individual"] = np.arange(evolution.num_individuals - P + 1, evolution.num_individuals + 1)
        rows["fitness"] = evolution.fitness
        rows["sizes"] = evolution.sizes
        rows["program"] = evolution.programs
        self._wait_history()
        assert self._writer is not None  # _attach starts it for a full history
        self._history = self._writer.submit(self.tables["history"].append, rows)

    def checkpoint(self, search: Search, force: bool = False) -> None:
        """Write a resumable checkpoint now (`force`: the stop request's; skipped if this boundary has one)."""
        t0 = time.perf_counter()
        if self.counters.last_checkpoint_generation != self.counters.generation:
            self._snapshot(search, resumable=True)
        if force and search.island.is_root:
            self._run_info().status = "stopped"
            self._write_run()
        self.seconds_in_store += time.perf_counter() - t0

    def experiment_done(self, search: Search, experiment: Experiment) -> None:
        """Final population of the experiment (a non-resumable snapshot); the experiment into run.h5."""
        t0 = time.perf_counter()
        self._snapshot(search, resumable=False)
        if search.island.is_root:
            self._run_info().experiments = list(search.experiments)
            self._write_run()
        self.seconds_in_store += time.perf_counter() - t0

    def finish(self, search: Search, result: SearchResult) -> None:
        """Final result into run.h5 (rank 0); close this island's file (which ends SWMR mode)."""
        t0 = time.perf_counter()
        if search.island.is_root:
            info = self._run_info()
            info.experiments = list(result.experiments)
            info.status = "finished"
            info.final = dict(final_fitness=float(result.final_fitness),
                                   best_select_fitness=float(result.best_select_fitness),
                                   elapsed_seconds=float(result.elapsed_seconds),
                                   final_seed=int(result.final_seed), best_algorithm=result.best_algorithm)
            self._write_run()
        self.close()
        self.seconds_in_store += time.perf_counter() - t0

    def migration(self, search: Search, from_rank: int, to_rank: int, fitness: np.ndarray) -> None:
        """Record migrants moved from `from_rank` to `to_rank` (their fitness), at this island's count."""
        t0 = time.perf_counter()
        fitness = np.asarray(fitness, dtype=np.float64).reshape(-1)
        layout, _ = self._attached()
        if len(fitness) > layout.num_migrants:
            raise ValueError(f"{len(fitness)} migrants > islands.num_migrants ({layout.num_migrants})")
        row = np.zeros(1, dtype=layout.migration_dtype)
        row["fitness"] = np.nan
        row[0]["fitness"][:len(fitness)] = fitness
        row["experiment"] = len(search.experiments)
        row["individuals"] = search.running()[1].num_individuals
        row["elapsed"] = time.monotonic() - search.started
        row["wall_time"] = time.time()
        row["from_rank"], row["to_rank"], row["count"] = from_rank, to_rank, len(fitness)
        self.tables["migrations"].append(row)
        self.seconds_in_store += time.perf_counter() - t0

    def close(self) -> None:
        self._wait_history()
        if self._writer is not None:
            self._writer.shutdown()
            self._writer = None
        if self.file is not None:
            self.file.close()
            self.file = None
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def _wait_history(self) -> None:
        """Finish the pending history append (it runs in a thread, beside the next nogil generation)."""
        if self._history is not None:
            self._history.result()
            self._history = None

    # -- checkpoints --

    def _snapshot(self, search: Search, resumable: bool) -> None:
        """Population snapshot, then (resumable) FEC and hurdle ring into the next slot, then the commit row.

        Each step is flushed before the next, so the checkpoint row — written last — only ever names data that
        is complete in the file; the slots of the previous NUM_SLOTS - 1 resumable checkpoints are untouched.
        """
        (layout, f), counters = self._attached(), self.counters
        self._wait_history()
        state = search.checkpoint_state()
        evo, ev = state["evolution"], state["evaluator"]
        pop = f["population"]
        k = self.tables["checkpoints"].length
        for name in ("programs", "sizes", "fitness"):
            ds = pop[name]
            ds.resize((k + 1,) + ds.shape[1:])
            ds[k] = evo[name]
        slot = -1
        fec = ev["fec"]
        fec_size = 0 if fec is None else len(fec["entries"][0])
        hurdles = evo["hurdles"]
        if resumable:
            slot = counters.resumable % NUM_SLOTS
            if fec is not None and fec_size:
                for name, values in zip(("fec_keys", "fec_fitness", "fec_counts"), fec["entries"]):
                    f["resume"][name][slot, :fec_size] = values
            if hurdles is not None:
                f["resume"]["hurdle_ring"][slot] = hurdles[0]
        f.flush()
        if resumable:
            _fsync(f)
        search_flag, search_param, search_data = _specs_seeds(
            state["search_specs"], search.cfg.search_tasks, layout.num_search_tasks)
        select_flag, select_param, select_data = _specs_seeds(
            state["select_specs"], search.cfg.select_tasks, layout.num_select_tasks)
        fitness = evo["fitness"]
        row = np.zeros(1, dtype=layout.checkpoint_dtype)
        row[0] = (
            counters.next_seq, resumable, slot, counters.generation, len(state["experiments"]),
            evo["num_individuals"], ev["num_train_steps"], state["init_steps"], state["steps"],
            NO_PRINT if state["last_printed"] is None else state["last_printed"], state["elapsed"],
            state["experiment_elapsed"], time.time(), state["best_select_fitness"], evo["best_ever_fitness"],
            fitness.max(), fitness.mean(), 0 if fec is None else fec["hits"], 0 if fec is None else fec["misses"],
            fec_size, evo["hurdle_rejections"], *((0, 0, 0.0) if hurdles is None else hurdles[1:]), state["rng"],
            search_flag, search_param, search_data, select_flag, select_param, select_data,
            self.tables["progress"].length, self.tables["lineage"].length, self.tables["migrations"].length,
            self.tables["history"].length if self.full_history else 0)
        self.tables["checkpoints"].append(row)
        f.flush()
        counters.next_seq += 1
        if resumable:
            _fsync(f)
            counters.resumable += 1
            counters.last_checkpoint_generation = counters.generation
            self.last_checkpoint_time = time.monotonic()


# ---------------------------------------------------------------------------------------------------------
# Reading island files


@dataclasses.dataclass
class _IslandHead:
    """An island file's checkpoint table (enough to plan a resume)."""

    path: Path
    checkpoints: np.ndarray
    population_rows: int

    def retained(self) -> list[int]:
        """Indices of the resumable checkpoints whose slots are certainly intact: the newest NUM_SLOTS - 1 (the
        next checkpoint overwrites the slot of the one before them, maybe when the writer was killed)."""
        rows = np.flatnonzero(self.checkpoints["resumable"] == 1)
        return [int(i) for i in rows[-(NUM_SLOTS - 1):] if i < self.population_rows]


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


def _reason(error: BaseException) -> str:
    """An HDF5 read error in a few words (a failed fletcher32 check reads as a filter failure)."""
    message = " ".join(str(error).split())
    return "checksum mismatch" if "filter returned failure" in message else message


def _damage(path: Path, error: BaseException, what: str = "island") -> RunStoreError:
    return RunStoreError(f"{path}: damaged {what} file ({_reason(error)})")


LIVE_READ_SECONDS = 2.0   # how long a reader of a file being written retries a chunk that fails its checksum


def _read_dataset(f: h5py.File, name: str, path: Path, rows: int | None = None) -> np.ndarray:
    """All rows (or the first `rows`) of a dataset; RunStoreError naming the file and dataset if unreadable.

    While a writer appends (SWMR), the chunk it is rewriting can be read half old, half new and fail its checksum;
    such a read is retried for up to LIVE_READ_SECONDS before the file is called damaged."""
    deadline = time.monotonic() + LIVE_READ_SECONDS
    while True:
        try:
            ds = f[name]
            if f.swmr_mode:
                ds.refresh()
            return ds[()] if rows is None else ds[:rows]
        except (OSError, ValueError) as error:
            if f.swmr_mode and "checksum" in str(error) and time.monotonic() < deadline:
                time.sleep(0.02)
                continue
            raise RunStoreError(f"{path}: damaged island file ({name}: {_reason(error)})") from None


def _verify(path: Path, what: str = "island") -> None:
    """Read every dataset of a run file in full, so that HDF5 checks every checksum (schema >= 2) and every
    chunk; RunStoreError naming the file and the damaged dataset."""
    with _open_read(path) as f:
        try:
            names: list[str] = []
            f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
            for name in names:
                ds = f[name]
                if ds.shape == () or not ds.shape[0]:
                    ds[()]
                    continue
                row_bytes = max(1, ds.dtype.itemsize * int(np.prod(ds.shape[1:], dtype=np.int64)))
                block = max(1, _VERIFY_BYTES // row_bytes)
                for start in range(0, ds.shape[0], block):
                    try:
                        ds[start:start + block]
                    except (OSError, ValueError) as error:
                        raise RunStoreError(f"{path}: damaged {what} file ({name}, rows {start}.."
                                            f"{min(ds.shape[0], start + block) - 1}: {_reason(error)})") from None
        except (KeyError, ValueError, TypeError, OSError, RuntimeError) as error:
            if isinstance(error, RunStoreError):
                raise
            raise _damage(path, error, what) from None


def _read_intact_prefix(ds: h5py.Dataset) -> np.ndarray:
    """The rows of a table before its first unreadable (damaged) chunk."""
    chunk = ds.chunks[0] if ds.chunks else max(1, ds.shape[0])
    parts = []
    for start in range(0, ds.shape[0], chunk):
        try:
            parts.append(ds[start:start + chunk])
        except (OSError, ValueError):
            break
    return np.concatenate(parts) if parts else np.zeros(0, dtype=ds.dtype)


def _read_head(path: Path, cfg: SearchConfig, base_seed: int, tolerant: bool = False) -> _IslandHead:
    """The checkpoint table of an island file; `tolerant`: only its rows before a damaged chunk."""
    with _open_read(path) as f:
        try:
            _check_island(f, path, cfg, base_seed)
            layout = Layout.of(cfg)
            table = _read_intact_prefix(f["checkpoints"]) if tolerant else f["checkpoints"][()]
            if table.dtype != layout.checkpoint_dtype:
                raise RunStoreError(f"{path}: checkpoint table does not match the config's layout")
            return _IslandHead(path, _valid_rows(table, "checkpoints"),
                               f["population"]["fitness"].shape[0])
        except (KeyError, ValueError, TypeError, OSError) as error:
            if isinstance(error, RunStoreError):
                raise
            raise RunStoreError(f"{path}: damaged island file ({' '.join(str(error).split())})") from None


def _read_state(f: h5py.File, path: Path, index: int, cfg: SearchConfig,
                experiments: list[Experiment]) -> dict[str, Any]:
    """The `Search.checkpoint_state()` dict of checkpoint row `index` (resumable)."""
    row = f["checkpoints"][index]
    if int(row["experiment"]) > len(experiments):
        raise RunStoreError(f"{path}: checkpoint {int(row['seq'])} needs {int(row['experiment'])} experiments, "
                            f"run.h5 has {len(experiments)}")
    done = experiments[:int(row["experiment"])]
    best_select, best_alg = _best_of(done)
    if best_select != row["best_select_fitness"]:
        raise RunStoreError(f"{path}: checkpoint {int(row['seq'])} does not agree with run.h5's experiments")
    slot = int(row["slot"])
    fec_size = int(row["fec_size"])
    resume = f["resume"]
    fec = None
    if cfg.fec is not None:
        fec = dict(entries=tuple(resume[name][slot, :fec_size] for name in ("fec_keys", "fec_fitness", "fec_counts")),
                   hits=int(row["fec_hits"]), misses=int(row["fec_misses"]))
    hurdles = None
    if cfg.hurdles is not None:
        hurdles = (resume["hurdle_ring"][slot], int(row["hurdle_fill"]), int(row["hurdle_position"]),
                   float(row["hurdle"]))
    pop = f["population"]
    return dict(
        base_seed=int(f.attrs["base_seed"]), seed=int(f.attrs["island_seed"]), rng=row["rng"].copy(),
        experiments=list(done), best_select_fitness=best_select, best_algorithm=best_alg,
        search_specs=_specs_from_seeds(cfg.search_tasks, row["search_seeds_set"], row["search_param_seeds"],
                                       row["search_data_seeds"]),
        select_specs=_specs_from_seeds(cfg.select_tasks, row["select_seeds_set"], row["select_param_seeds"],
                                       row["select_data_seeds"]),
        init_steps=int(row["init_steps"]), steps=int(row["steps"]),
        last_printed=None if row["last_printed"] == NO_PRINT else int(row["last_printed"]),
        elapsed=float(row["elapsed"]), experiment_elapsed=float(row["experiment_elapsed"]),
        evolution=dict(programs=pop["programs"][index], sizes=pop["sizes"][index], fitness=pop["fitness"][index],
                       num_individuals=int(row["individuals"]), best_ever_fitness=float(row["best_ever_fitness"]),
                       hurdle_rejections=int(row["hurdle_rejections"]), hurdles=hurdles),
        evaluator=dict(num_train_steps=int(row["train_steps"]), fec=fec))


# ---------------------------------------------------------------------------------------------------------
# Resume


def _plan(run_dir: Path, num_ranks: int, cfg: SearchConfig | None, from_checkpoint: int | None = None,
          restart: bool = False) -> dict[str, Any]:
    """Rank 0's reading of the run: which checkpoint, which island each rank continues. Writes nothing.

    A damaged file (a checksum or HDF5 structure that does not read back) is refused unless `from_checkpoint`
    (continue from that checkpoint, giving up what follows it) or `restart` (start again from the seed, giving
    up everything) says what to give up."""
    info = _read_run(run_dir)
    if cfg is not None and cfg != info.cfg:
        raise RunStoreError(f"{run_dir / RUN_FILE}: the given config does not match the stored run "
                            f"(differs in {_config_difference(cfg, info.cfg)})")
    plan: dict[str, Any] = dict(info=info, messages=[], migration_rounds=0)
    final = info.final
    if info.status == "finished" and final is not None and not restart:
        plan["result"] = SearchResult(info.base_seed, final["best_algorithm"], final["best_select_fitness"],
                                      final["final_fitness"], info.experiments, final["elapsed_seconds"],
                                      final_seed=final["final_seed"])
        return plan
    for i in info.island_ids:
        fd = _lock(run_dir, i)          # refuse to resume a run that is still being written
        if fd is not None:
            os.close(fd)
    if restart:
        plan["seq"] = None
        plan["messages"].append(f"Restarting run {run_dir} from seed {info.base_seed} (--restart: its records "
                                "are replaced).")
        return plan
    if info.status == "starting":
        plan["seq"] = None
        plan["messages"].append(f"Run {run_dir} was killed while starting: starting it again from seed "
                                f"{info.base_seed}.")
        return plan
    if from_checkpoint is None:
        try:
            for i in info.island_ids:
                _verify(run_dir / island_file(i))
        except RunStoreError as error:
            readable = _usable_checkpoints(run_dir, info, tolerant=True)
            raise RunStoreError(
                f"{error}; nothing was changed. To give up the damaged records: azero resume {run_dir} "
                f"--from-checkpoint N (checkpoints every island still lists: "
                f"{', '.join(map(str, readable)) or 'none'}) or --restart") from None
    heads, retained, usable = _usable_checkpoints(run_dir, info, tolerant=from_checkpoint is not None,
                                                  detail=True)
    if from_checkpoint is not None:
        if from_checkpoint not in usable:
            raise RunStoreError(f"{run_dir}: checkpoint {from_checkpoint} cannot be resumed (resumable on every "
                                f"island: {', '.join(map(str, usable)) or 'none'}); nothing was changed")
        usable = [from_checkpoint]
    if not usable:
        if any(retained.values()):
            raise RunStoreError(f"{run_dir}: the islands have no checkpoint in common")
        plan["seq"] = None
        plan["messages"].append(f"Run {run_dir} has no checkpoint yet: starting it again from seed "
                                f"{info.base_seed}.")
        return plan
    seq = max(usable)
    plan["seq"] = seq
    old = info.island_ids
    fitness_at = {}
    rounds: set[tuple[int, int]] = set()     # migration rounds so far (the islands' progress line counts them)
    for i in old:
        with _open_read(heads[i].path) as f:
            try:
                index = retained[i][seq]
                fitness_at[i] = float(f["population"]["fitness"][index].max())
                n = int(heads[i].checkpoints["migration_rows"][index])
                rows = f["migrations"].fields(["experiment", "individuals"])[:n]
            except (KeyError, ValueError, TypeError, OSError) as error:
                raise _damage(heads[i].path, error) from None
        rounds.update(zip(rows["experiment"].tolist(), rows["individuals"].tolist()))
    plan["migration_rounds"] = len(rounds)
    order = sorted(old, key=lambda i: (-fitness_at[i], i))       # best island first
    row = heads[old[0]].checkpoints[retained[old[0]][seq]]
    plan["messages"].append(f"Resuming run {run_dir} from checkpoint {seq} (experiment {int(row['experiment'])}, "
                            f"indivs={int(row['individuals'])}).")
    if num_ranks == len(old):
        assignments = [dict(island=i, source=i) for i in old]
    elif num_ranks < len(old):
        assignments = [dict(island=i, source=i) for i in order[:num_ranks]]
        plan["messages"].append(
            f"{len(old)} islands on {num_ranks} ranks: keeping the best islands " + ", ".join(
                f"{a['island']} (rank {r})" for r, a in enumerate(assignments)) +
            "; retiring " + ", ".join(str(i) for i in order[num_ranks:]) + ".")
    else:
        assignments = [dict(island=i, source=i) for i in old]
        for r in range(len(old), num_ranks):
            source = order[(r - len(old)) % len(old)]
            assignments.append(dict(island=info.num_islands + r - len(old), source=source))
        plan["messages"].append(
            f"{len(old)} islands on {num_ranks} ranks: " + ", ".join(
                f"rank {r} starts island {a['island']} as a copy of island {a['source']}"
                for r, a in enumerate(assignments) if a["island"] != a["source"]) +
            " (fresh random streams from the seed and the rank).")
    plan["assignments"] = assignments
    plan["indices"] = {i: retained[i][seq] for i in old}
    return plan


def _usable_checkpoints(run_dir: Path, info: _RunInfo, tolerant: bool, detail: bool = False):
    """The checkpoint seqs every island of the current segment holds resumable (state intact) and run.h5's
    experiments cover; `tolerant` reads each checkpoint table only up to a damaged chunk. With `detail`:
    (heads, retained {island: {seq: row}}, usable). Best effort when tolerant: unreadable islands count as none."""
    heads, retained = {}, {}
    for i in info.island_ids:
        try:
            heads[i] = _read_head(run_dir / island_file(i), info.cfg, info.base_seed, tolerant=tolerant)
        except RunStoreError:
            if not tolerant or detail:
                raise
            return []
        retained[i] = {int(heads[i].checkpoints["seq"][k]): k for k in heads[i].retained()}
    common = set.intersection(*(set(r) for r in retained.values()))
    usable = sorted(seq for seq in common
                    if all(int(heads[i].checkpoints["experiment"][retained[i][seq]]) <= len(info.experiments)
                           for i in heads))
    return (heads, retained, usable) if detail else usable


def _prepare_island(run_dir: Path, plan: dict[str, Any], rank: int, island_seed: int
                    ) -> tuple[Path, Path, dict[str, Any], _Counters]:
    """This rank's island file at the planned checkpoint, under a temporary name; and its state and counters.

    A continued island keeps its tables up to the checkpoint; a new island (more ranks than islands) starts
    with that checkpoint alone, its generator re-seeded from (island seed of the rank, checkpoint seq).
    """
    info: _RunInfo = plan["info"]
    a = plan["assignments"][rank]
    source = run_dir / island_file(a["source"])
    index = plan["indices"][a["source"]]
    target = run_dir / island_file(a["island"])
    new = a["island"] != a["source"]
    with _open_read(source) as f:
        try:
            state = _read_state(f, source, index, info.cfg, info.experiments)
            row = f["checkpoints"][index:index + 1].copy()
            counters = _Counters(generation=int(row["generation"][0]), next_seq=int(row["seq"][0]) + 1,
                                 last_checkpoint_generation=int(row["generation"][0]))
            content: dict[str, Any] = {}
            attrs = {name: f.attrs[name] for name in ("island", "base_seed", "island_seed", "parent_island",
                                                      "parent_checkpoint")}
            resume_names = [name for name in ("fec_keys", "fec_fitness", "fec_counts", "hurdle_ring")
                            if name in f["resume"]]
            if new:
                fresh = hash_mix(island_seed, int(row["seq"][0]))
                state["seed"] = fresh
                state["rng"] = RandomGenerator(fresh).get_state()
                slot = int(row["slot"][0])
                row["rng"] = state["rng"]
                row["slot"] = 0
                for name in ("progress_rows", "lineage_rows", "migration_rows", "history_rows"):
                    row[name] = 0
                content["checkpoints"] = row
                for name in ("programs", "sizes", "fitness"):
                    content[f"population/{name}"] = f["population"][name][index:index + 1]
                for name in resume_names:
                    values = np.zeros(f["resume"][name].shape, dtype=f["resume"][name].dtype)
                    values[0] = f["resume"][name][slot]
                    content[f"resume/{name}"] = values
                attrs.update(island=a["island"], island_seed=fresh, parent_island=a["source"],
                             parent_checkpoint=int(row["seq"][0]))
                counters.resumable = 1
                tmp_target = _tmp_path(target)
                _create_island(tmp_target, info.cfg, attrs, info.full_history, content)
            else:
                for name in ("progress", "lineage", "migrations") + (("history",) if info.full_history else ()):
                    key = "migration_rows" if name == "migrations" else f"{name}_rows"
                    content[name] = _copy_rows(f[name], int(row[key][0]))
                content["checkpoints"] = _copy_rows(f["checkpoints"], index + 1)
                for name in ("programs", "sizes", "fitness"):
                    content[f"population/{name}"] = _copy_rows(f["population"][name], index + 1)
                for name in resume_names:
                    content[f"resume/{name}"] = f["resume"][name][()]
                counters.resumable = int(np.count_nonzero(f["checkpoints"]["resumable"][:index + 1]))
                tmp_target = _tmp_path(target)
                _create_island(tmp_target, info.cfg, attrs, info.full_history, content)
        except (KeyError, ValueError, TypeError, OSError) as error:
            if isinstance(error, RunStoreError):
                raise
            raise RunStoreError(f"{source}: damaged island file ({' '.join(str(error).split())})") from None
    return tmp_target, target, state, counters


def resume(run_dir: str | os.PathLike, out: TextIO | None = None, island=None, *, cfg: SearchConfig | None = None,
           progress_bar: bool = False, checkpoint_every_seconds: float | None = None,
           checkpoint_every_generations: int | None = None,
           prepare: Callable[[Search], object] | None = None, from_checkpoint: int | None = None,
           restart: bool = False) -> SearchResult:
    """Continue the run in `run_dir` from its last checkpoint and return its result.

    With the same rank count the result is bitwise the one of the uninterrupted run. With fewer ranks the best
    islands go on (best on rank 0); with more, the extra ranks start copies of the best islands with fresh
    random streams; the log says which. A finished run returns its stored result; a run with no checkpoint
    starts again from its seed. `cfg`, if given, must equal the stored config. Under MPI pass this rank's
    island (every rank calls resume). `prepare(search)` is called with the Search before it runs (e.g. to
    install signal handlers that call its request_stop). RunStoreError (one line) on a bad run directory,
    before any write.

    Every island file is read in full first (checksums): a damaged run is refused, changing nothing, unless
    `from_checkpoint=N` (continue from checkpoint N, giving up the records after it) or `restart=True` (start
    again from the seed, giving up every record) says what to give up.
    """
    island = island if island is not None else LocalIsland()
    out = sys.stdout if out is None else out
    run_dir = Path(run_dir)
    plan, error = None, None
    if island.is_root:
        try:
            if from_checkpoint is not None and restart:
                raise RunStoreError(f"{run_dir}: give --from-checkpoint or --restart, not both")
            plan = _plan(run_dir, island.size, cfg, from_checkpoint, restart)
        except RunStoreError as e:
            error = str(e)
        else:
            for stale in run_dir.glob(".*.tmp"):      # left by a writer killed while writing a file
                stale.unlink(missing_ok=True)
    plan, error = island.broadcast((plan, error))
    if error is not None:
        raise RunStoreError(error)
    info: _RunInfo = plan["info"]
    if hasattr(island, "migrations"):       # MPI islands count migration rounds for their progress line
        island.migrations = plan["migration_rounds"]
    say = (lambda line: print(line, file=out, flush=True)) if island.is_root else (lambda line: None)
    if "result" in plan:
        say(f"Run {run_dir} has finished; nothing to resume.")
        return plan["result"]
    store = RunStore(run_dir, full_history=info.full_history, checkpoint_every_seconds=checkpoint_every_seconds,
                     checkpoint_every_generations=checkpoint_every_generations)
    for line in plan["messages"]:
        say(line)

    def run(state: dict | None) -> SearchResult:
        search = Search(info.cfg, info.base_seed, out=out, island=island, store=store, progress_bar=progress_bar)
        if state is not None:
            search.restore_state(state)
        if prepare is not None:
            prepare(search)
        try:
            return search.run()
        finally:
            store.close()

    if plan["seq"] is None:   # start() replaces run.h5 and the island files, each by an atomic rename
        store.replace_run = True
        return run(None)
    # Phase 1: every rank builds its island file under a temporary name (nothing replaced yet).
    tmp, failed, message = None, False, ""
    try:
        tmp, target, state, counters = _prepare_island(run_dir, plan, island.rank,
                                                       island.island_seed(info.base_seed))
    except RunStoreError as e:
        failed, message = True, str(e)
    if island.any(failed):
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise RunStoreError(message or f"{run_dir}: resume failed on another rank")
    # Phase 2: move the files in place, then run.h5 names the new segment.
    assert tmp is not None  # set unless this rank failed, and a failure on any rank raised above
    os.replace(tmp, target)
    island.broadcast(None)
    a = plan["assignments"][island.rank]
    if island.is_root:
        ids = [x["island"] for x in plan["assignments"]]
        info.experiments = state["experiments"]
        info.status = "running"
        info.island_ids = ids
        info.num_islands = max(info.num_islands, max(ids) + 1)
        info.segments.append((time.time(), island.size, plan["seq"], state["evolution"]["num_individuals"]))
        info.segment_islands.append(ids)
        store.info = info
        _write_run(run_dir, info)
    island.broadcast(None)
    store.counters = counters
    store._attach(info.cfg, a["island"])
    return run(state)


# ---------------------------------------------------------------------------------------------------------
# Readers


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


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def run_state(run_dir: str | os.PathLike, status_attr: str, island_ids: list[int]) -> str:
    """What a person needs to know of a run: "finished", "running" (a live process holds a writer's lock),
    "stopped (resume with: ...)" or "killed (resume with: ...)"."""
    run_dir = Path(run_dir)
    if status_attr == "finished":
        return "finished"
    live = [_writer_alive(run_dir, i) for i in island_ids]
    if any(live):
        return "running"
    hint = f"resume with: azero resume {run_dir}"
    if None in live:
        return f"{status_attr} (this file system cannot tell a live writer from a dead one; if none runs, {hint})"
    return f"stopped ({hint})" if status_attr == "stopped" else f"killed ({hint})"


def status(run_dir: str | os.PathLike) -> str:
    """A few lines on a live or finished run: its state (running, stopped, finished or killed, told apart by the
    writers' locks), experiments, and per island individuals (counted as `azero show` counts them), best
    fitness, last progress and last checkpoint. Experiments are numbered from 0, as in the files and in
    `show`. Reads (and so checks) every file; RunStoreError naming the file on a bad directory."""
    from azero.analysis import _experiment_lengths    # the one count of an island's individuals (show's)

    run_dir = Path(run_dir)
    run = load_run(run_dir)
    now = time.time()
    state = run_state(run_dir, run.status, run.island_ids)
    best = f", best select fitness {_best_of_rows(run.experiments):.6f}" if len(run.experiments) else ""
    lines = [f"run {run_dir}: {state}, seed {run.seed}, {run.num_ranks} rank(s), "
             f"{len(run.experiments)} experiment(s) done{best}"]
    by_number = {island.island: island for island in run.islands}
    total = 0
    for rank, i in enumerate(run.island_ids):
        island = by_number.get(i)
        if island is None:
            lines.append(f"  island {i} (rank {rank}): not started")
            continue
        individuals = sum(_experiment_lengths(run, island).values())
        total += individuals
        text = f"  island {i} (rank {rank}): {individuals:,} individuals"
        if len(island.progress):
            p = island.progress[-1]
            text += (f"; latest: experiment {int(p['experiment'])}, indivs={int(p['individuals'])}, "
                     f"best fit={p['best']:.6f}, mean={p['mean']:.6f}, {_ago(now - p['wall_time'])}")
        if run.status != "finished":
            resumable = island.checkpoints[island.checkpoints["resumable"] == 1]
            if len(resumable):
                c = resumable[-1]
                text += (f"; last checkpoint {int(c['seq'])} {_ago(now - c['wall_time'])} "
                         f"(experiment {int(c['experiment'])}, indivs={int(c['individuals'])})")
            else:
                text += "; no checkpoint yet"
        lines.append(text)
    if len(run.island_ids) > 1:
        lines.append(f"  total: {total:,} individuals")
    if run.final is not None:
        final = run.final
        lines.append(f"final fitness {final['final_fitness']:.6f} (select {final['best_select_fitness']:.6f}, "
                     f"{final['elapsed_seconds']:.0f} s)")
    return "\n".join(lines)


def _best_of_rows(experiments: np.ndarray) -> float:
    return float(np.max(experiments["select_fitness"]))


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
