"""The named sources' train splits: CIFAR-10 pickle batches, MNIST-style IDX files, scikit-learn's digits."""
from __future__ import annotations

import gzip
import importlib
import os
import pickle
import struct
from pathlib import Path
from typing import Any

import numpy as np

from azero.datasets.files import SOURCES, DatasetError

_CIFAR_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
_CIFAR_DIM = 32 * 32 * 3
_IDX_TRAIN_IMAGES = "train-images-idx3-ubyte"
_IDX_TRAIN_LABELS = "train-labels-idx1-ubyte"

# IDX type byte -> big-endian numpy dtype.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def load_source(source: str, source_dir: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Train split of a source in file order: (features (N, D) raw values, labels (N,) int64).

    Features keep the source's dtype (uint8 for images, float64 for digits); the builder converts the
    rows it uses to float64, as the reference does.
    """
    if source not in SOURCES:
        raise DatasetError(f"unknown dataset source {source!r}; expected one of {', '.join(SOURCES)}")
    if source == "digits":
        if source_dir is not None:
            raise DatasetError("the digits source is bundled with scikit-learn; do not give a source folder")
        load_digits = _sklearn_attr("sklearn.datasets", "load_digits")
        digits = load_digits()
        return np.ascontiguousarray(digits.data, dtype=np.float64), digits.target.astype(np.int64)
    if source_dir is None:
        raise DatasetError(f"the {source} source needs a source folder (source_dir)")
    folder = Path(source_dir)
    if not folder.is_dir():
        raise DatasetError(f"source folder {folder} does not exist")
    if source == "cifar10":
        return _load_cifar10(folder)
    return _load_idx_pair(folder)

def _load_cifar10(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 python version: data_batch_1..5, each a pickled dict with b"data" (n, 3072) and b"labels"."""
    nested = folder / "cifar-10-batches-py"
    if not (folder / _CIFAR_TRAIN_BATCHES[0]).exists() and nested.is_dir():
        folder = nested
    images, labels = [], []
    for name in _CIFAR_TRAIN_BATCHES:
        path = folder / name
        if not path.is_file():
            raise DatasetError(f"missing CIFAR-10 batch file {path}")
        try:
            with open(path, "rb") as handle:
                batch = pickle.load(handle, encoding="bytes")
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError) as exc:
            raise DatasetError(f"{path} is not a CIFAR-10 pickle batch ({type(exc).__name__})") from None
        if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
            raise DatasetError(f"{path} lacks the b'data'/b'labels' entries of a CIFAR-10 batch")
        data = np.asarray(batch[b"data"])
        batch_labels = np.asarray(batch[b"labels"])
        if data.ndim != 2 or data.shape[1] != _CIFAR_DIM or data.dtype != np.uint8:
            raise DatasetError(f"{path}: data has shape {data.shape} {data.dtype}, expected (n, {_CIFAR_DIM}) uint8")
        if batch_labels.shape != (data.shape[0],):
            raise DatasetError(f"{path}: {batch_labels.shape[0] if batch_labels.ndim else 0} labels for "
                               f"{data.shape[0]} images")
        images.append(data)
        labels.append(batch_labels.astype(np.int64))
    return np.concatenate(images), np.concatenate(labels)

def _find_idx(folder: Path, name: str) -> Path:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise DatasetError(f"missing IDX file {folder / name} (or {name}.gz)")

def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Array stored in an IDX file (``.gz`` compressed or plain), header parsed per the IDX format."""
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                raw = handle.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError) as exc:
        raise DatasetError(f"cannot read IDX file {path} ({type(exc).__name__})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DatasetError(f"{path} is not an IDX file (bad magic number)")
    ndim = raw[3]
    start = 4 + 4 * ndim
    if len(raw) < start:
        raise DatasetError(f"{path}: IDX header truncated")
    dims = struct.unpack(f">{ndim}I", raw[4:start])
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) - start != expected:
        raise DatasetError(f"{path}: header declares shape {dims} ({expected} data bytes) but the file holds "
                           f"{len(raw) - start}")
    return np.frombuffer(raw, dtype=dtype, offset=start).reshape(dims)

def _load_idx_pair(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-style train split: train-images-idx3-ubyte (n, rows, cols) and train-labels-idx1-ubyte (n,)."""
    images_path = _find_idx(folder, _IDX_TRAIN_IMAGES)
    labels_path = _find_idx(folder, _IDX_TRAIN_LABELS)
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3:
        raise DatasetError(f"{images_path}: images have shape {images.shape}, expected (n, rows, cols)")
    if labels.shape != (images.shape[0],):
        raise DatasetError(f"{labels_path}: labels have shape {labels.shape}, expected ({images.shape[0]},)")
    return images.reshape(images.shape[0], -1), labels.astype(np.int64)

def _sklearn_attr(module: str, name: str) -> Any:
    """An attribute of an optional scikit-learn module, or a one-line install hint."""
    try:
        imported = importlib.import_module(module)
    except ImportError:
        raise DatasetError("building datasets needs scikit-learn: pip install 'azero[datasets]'") from None
    return getattr(imported, name)
