"""The run format (docs/run_format.md): names, schema version, record layouts, config attributes, checksums.

Everything here describes bytes on disk; nothing opens a file except the run.h5 checksum block's two helpers.
"""
from __future__ import annotations

import dataclasses
import struct
import zlib
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from azero._core import INSTRUCTION_DTYPE
from azero.algorithm import Algorithm
from azero.config import ConfigError, SearchConfig
from azero.population import capacities, initial_model

SCHEMA_VERSION = 3       # 2: every dataset carries HDF5's fletcher32 checksum; evaluation seeds stored
                         # 3: run.h5 carries a CRC-32 of all its bytes in its HDF5 user block
RUN_FILE = "run.h5"
RUN_FORMAT = "azero-run"
ISLAND_FORMAT = "azero-island"
NUM_SLOTS = 3            # resumable checkpoints whose full state (FEC, hurdle ring) is kept, newest first
LIBVER = ("v110", "v110")  # the oldest file format with SWMR: readable by HDF5 >= 1.10
NO_PRINT = -1            # `last_printed` of None in a checkpoint row


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


# ---------------------------------------------------------------------------------------------------------
# Task seeds in checkpoint rows


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

