"""Dataset files: the constants of the format, `DatasetError`, file names, the manifest of a user's folder and
atomic writes of one task file."""
from __future__ import annotations

import json
import os
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import h5py
import numpy as np

FORMAT_VERSION = 1
SOURCES = ("cifar10", "mnist", "fashion_mnist", "digits")

# The reference's random-pair selection assumes classes 0..9 (docs/semantics.md §7.5).
NUM_CLASSES = 10
RANDOM_PAIR_SALT = 856572777
SPLITS = ("train", "valid", "test")
USER_FORMATS = ("npz", "csv")
USER_TASKS = ("classification", "regression")
MANIFEST_NAME = "azero_dataset.json"


class DatasetError(ValueError):
    """A bad dataset input (source files, sizes, spec fields or a stored file); the message is one line."""

def dataset_filename(source: str, pos: int, neg: int, dim: int, seed: int) -> str:
    """File name of one projected dataset (the reference's name plus ``.h5``)."""
    return f"binary_{source}-pos_{pos}-neg_{neg}-dim_{dim}-seed_{seed}.h5"

def regression_filename(name: str, dim: int, seed: int) -> str:
    """File name of one projected regression dataset built from a user's data."""
    return f"regression_{name}-dim_{dim}-seed_{seed}.h5"

def read_manifest(folder: str | os.PathLike) -> dict[str, Any] | None:
    """The ``azero_dataset.json`` of a folder built from a user's data, or None (named sources write none)."""
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: not a readable dataset manifest ({type(exc).__name__})") from None
    if not isinstance(manifest, dict) or manifest.get("kind") not in USER_TASKS:
        raise DatasetError(f"{path}: 'kind' must be one of {', '.join(USER_TASKS)}")
    return manifest

def _azero_version() -> str | None:
    try:
        return metadata.version("azero")
    except metadata.PackageNotFoundError:
        return None

def _write_atomically(path: Path, splits: dict[str, tuple[np.ndarray, np.ndarray]], attrs: dict[str, Any]) -> None:
    """Write one dataset file via a temporary file in the same folder and os.replace (never a half file)."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with h5py.File(tmp_name, "w") as handle:
            for name in SPLITS:
                features, labels = splits[name]
                handle.create_dataset(f"{name}_features", data=features)
                handle.create_dataset(f"{name}_labels", data=labels)
            handle.attrs.update(attrs)
        os.replace(tmp_name, path)
    except BaseException:
        os.unlink(tmp_name)
        raise
