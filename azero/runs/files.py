"""HDF5 file mechanics of a run directory: opening with one-line errors (also while a writer appends in SWMR
mode), atomic write-then-rename, the writers' locks, appendable tables and full checksum verification."""
from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import os
import re
import time
from pathlib import Path

import h5py
import numpy as np

from azero.runs.schema import _ROW_KEY, RUN_FILE, SCHEMA_VERSION, RunStoreError, _check_run_file, _text

OPEN_RETRY_SECONDS = 3.0   # a reader retries while a writer holds a file outside SWMR mode (create, resume)
_COPY_BLOCK = 1 << 16    # rows per block when copying a table
_VERIFY_BYTES = 1 << 22  # bytes per read when checking a dataset's checksums


_TRUNCATED = re.compile(r"truncated file: eof = (\d+), .*stored_eof = (\d+)")
_SHORT_TAIL = 1 << 16    # bytes: at most this (and an eighth of the file) is an unwritten tail, not a lost part


def _short_tail(message: str) -> bool:
    match = _TRUNCATED.search(message)
    if match is None:
        return False
    size, claimed = int(match.group(1)), int(match.group(2))
    return claimed - size <= min(_SHORT_TAIL, size // 8)

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


def _checked_dataset(group: h5py.Group, name: str, data: np.ndarray) -> h5py.Dataset:
    """A dataset of `data` in one chunk with HDF5's fletcher32 checksum (a damaged byte fails its read)."""
    return group.create_dataset(name, data=data, maxshape=(None,) + data.shape[1:],
                                chunks=(max(1, len(data)),) + data.shape[1:], fletcher32=True)


def _copy_rows(src: h5py.Dataset, n: int):
    """A content callable copying the first `n` rows of `src` in blocks."""
    def copy(dst: h5py.Dataset) -> None:
        dst.resize((n,) + dst.shape[1:])
        for start in range(0, n, _COPY_BLOCK):
            stop = min(n, start + _COPY_BLOCK)
            dst[start:stop] = src[start:stop]
    return copy


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
    chunk; RunStoreError naming the file and the damaged dataset.

    The resume slots (`resume/...`) are left out: a writer killed while it recycles a slot leaves that slot half
    written, and no checkpoint it keeps refers to it. Resume reads only the slots of the checkpoints it keeps,
    and those reads check their checksums."""
    with _open_read(path) as f:
        try:
            names: list[str] = []
            f.visititems(lambda name, obj: names.append(name)
                         if isinstance(obj, h5py.Dataset) and not name.startswith("resume/") else None)
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

