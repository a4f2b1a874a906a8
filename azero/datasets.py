"""Projected binary classification datasets (docs/semantics.md §7.5): the builder and the loader used by task creation.

The builder follows the reference's ``generate_datasets.py``: for each class pair (positive = smaller id, label 1;
negative = larger id, label 0) and seed, take the first ``per_class`` train-split examples of each class, split them
(stratified, twice) into train/valid/test, project the raw values with ``RandomState(seed).randn(D, dim)`` and
standardise with the train split's mean and population std. One HDF5 file per (pair, seed):

    binary_<source>-pos_<pos>-neg_<neg>-dim_<dim>-seed_<seed>.h5
        train_features (n_train, dim) float32   train_labels (n_train,) float32
        valid_features (n_valid, dim) float32   valid_labels (n_valid,) float32
        test_features  (n_test, dim)  float32   test_labels  (n_test,)  float32
        attributes: source, pos, neg, dim, seed, per_class, format_version, azero_version (when installed)

Sources: ``cifar10`` (the python-pickle batch folder), ``mnist`` and ``fashion_mnist`` (IDX files, plain or .gz)
and ``digits`` (scikit-learn's bundled 8x8 digits, the offline default). The reference's bytes depended on
TFDS/numpy/sklearn versions and TFDS's example order; here the order is the source files' order.

A user's own data (``npz:FILE`` with arrays ``X`` and ``y``, or ``csv:FILE`` with a header row) builds either
the same binary pair tasks (classes numbered 0..k-1 in sorted label order) or, for a numeric target,
regression tasks: one file per seed, ``regression_<name>-dim_<dim>-seed_<seed>.h5``, with the same splits,
projection and standardisation (the target standardised with the train split's mean and population std too).
Such a folder also holds ``azero_dataset.json`` (kind, classes, sizes), which the loader reads so that random
pairs are drawn among the folder's k classes instead of the reference's fixed 10.
"""
from __future__ import annotations

import csv
import gzip
import importlib
import json
import math
import os
import pickle
import struct
import tempfile
from collections.abc import Callable, Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import h5py
import numpy as np

FORMAT_VERSION = 1
SOURCES = ("cifar10", "mnist", "fashion_mnist", "digits")
# Sizes of the reference script (docs/semantics.md §7.5); per_class defaults to half the total, as there.
REFERENCE_NUM_TRAIN = 8000
REFERENCE_NUM_VALID = 1000
REFERENCE_NUM_TEST = 1000
# The reference's random-pair selection assumes classes 0..9 (docs/semantics.md §7.5).
NUM_CLASSES = 10
RANDOM_PAIR_SALT = 856572777
SPLITS = ("train", "valid", "test")
USER_FORMATS = ("npz", "csv")
USER_TASKS = ("classification", "regression")
MANIFEST_NAME = "azero_dataset.json"
# What the digits_binary preset reads: all 45 pairs, seeds 0..9, F = 16 (the builder's defaults).
DIGITS_PRESET_SEEDS = range(0, 10)
DIGITS_PRESET_DIM = 16

_CIFAR_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
_CIFAR_DIM = 32 * 32 * 3
_IDX_TRAIN_IMAGES = "train-images-idx3-ubyte"
_IDX_TRAIN_LABELS = "train-labels-idx1-ubyte"
# IDX type byte -> big-endian numpy dtype.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DatasetError(ValueError):
    """A bad dataset input (source files, sizes, spec fields or a stored file); the message is one line."""


def dataset_filename(source: str, pos: int, neg: int, dim: int, seed: int) -> str:
    """File name of one projected dataset (the reference's name plus ``.h5``)."""
    return f"binary_{source}-pos_{pos}-neg_{neg}-dim_{dim}-seed_{seed}.h5"


# ----------------------------------------------------------------------------------------------- sources


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


# ----------------------------------------------------------------------------------------------- builder


def _pair_sizes(source: str, available: dict[int, int], pos: int, neg: int, per_class: int | None,
                num_train: int | None, num_valid: int | None, num_test: int | None) -> tuple[int, int, int, int]:
    """(per_class, num_train, num_valid, num_test) for one pair, checked against what the source holds.

    digits: per_class defaults to all examples of the rarer class of the pair, the splits to 60/20/20 % of
    the pair's 2 * per_class examples (valid = test = total // 5). Other sources: the reference's
    8000/1000/1000 and per_class = half the total.
    """
    if source == "digits":
        if per_class is None:
            per_class = min(available[pos], available[neg])
        total = 2 * per_class
        num_valid = total // 5 if num_valid is None else num_valid
        num_test = total // 5 if num_test is None else num_test
        num_train = total - num_valid - num_test if num_train is None else num_train
    else:
        num_train = REFERENCE_NUM_TRAIN if num_train is None else num_train
        num_valid = REFERENCE_NUM_VALID if num_valid is None else num_valid
        num_test = REFERENCE_NUM_TEST if num_test is None else num_test
        if per_class is None:
            per_class = (num_train + num_valid + num_test) // 2
    for field, value in (("num_train", num_train), ("num_valid", num_valid), ("num_test", num_test)):
        if value < 2:
            raise DatasetError(f"{field}={value}: each split needs at least 2 examples (one per class)")
    for cls in (pos, neg):
        if available[cls] < per_class:
            raise DatasetError(f"{source} has only {available[cls]} train examples of class {cls}, "
                               f"per_class={per_class} asked")
    if num_train + num_valid + num_test > 2 * per_class:
        raise DatasetError(f"num_train + num_valid + num_test = {num_train + num_valid + num_test} exceeds the "
                           f"{2 * per_class} examples of pair ({pos}, {neg}) (per_class={per_class})")
    return per_class, num_train, num_valid, num_test


def _normalise_pairs(pairs: Iterable[Sequence[int]] | None, classes: list[int], source: str) -> list[tuple[int, int]]:
    if pairs is None:
        return [(a, b) for i, a in enumerate(classes) for b in classes[i + 1:]]
    result = []
    for pair in pairs:
        if len(pair) != 2:
            raise DatasetError(f"pair {tuple(pair)} must hold exactly two classes")
        a, b = (int(c) for c in pair)
        if a == b:
            raise DatasetError(f"pair ({a}, {b}) needs two different classes")
        for cls in (a, b):
            if cls not in classes:
                raise DatasetError(f"class {cls} is not in the {source} train split (classes {classes})")
        result.append((min(a, b), max(a, b)))
    return result


def project_pair(features: np.ndarray, labels: np.ndarray, seed: int, dim: int, num_train: int,
                 num_valid: int, num_test: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The reference procedure for one pair and seed on its (2 * per_class, D) raw rows and 0/1 labels.

    Returns {split: (features float32 (n, dim), labels float32 (n,))} for train, valid, test.
    """
    indices, projected = _split_and_project(features, labels, seed, dim, num_train, num_valid, num_test,
                                            stratify=True)
    return {name: (projected[name], labels[rows].astype(np.float32)) for name, rows in indices.items()}


def _split_and_project(features: np.ndarray, targets: np.ndarray, seed: int, dim: int, num_train: int,
                       num_valid: int, num_test: int, stratify: bool
                       ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Row indices of the train/valid/test splits and their projected, standardised float32 features.

    Splits: sklearn's train_test_split twice with random_state=seed (stratified by the targets if asked).
    Projection: RandomState(seed).randn(D, dim); standardisation: the train split's mean and population std.
    """
    train_test_split = _sklearn_attr("sklearn.model_selection", "train_test_split")
    # train_test_split permutes every array the same way, so splitting row indices equals splitting the rows.
    trainval, test = train_test_split(np.arange(targets.shape[0]), train_size=num_train + num_valid,
                                      test_size=num_test, random_state=seed,
                                      stratify=targets if stratify else None)
    train, valid = train_test_split(trainval, train_size=num_train, test_size=num_valid, random_state=seed,
                                    stratify=targets[trainval] if stratify else None)
    indices = {"train": train, "valid": valid, "test": test}
    # Same numbers as the reference's np.random.seed(seed); np.random.randn(D, dim), without global state.
    projection = np.random.RandomState(seed).randn(features.shape[1], dim)
    projected = {name: np.dot(features[rows].astype(np.float64), projection) for name, rows in indices.items()}
    # StandardScaler semantics: train mean and population std; a constant feature keeps scale 1.
    mean, scale = _train_scaler(projected["train"])
    return indices, {name: ((values - mean) / scale).astype(np.float32) for name, values in projected.items()}


def _train_scaler(train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, population std) per column of the train split; a constant column keeps scale 1."""
    mean = train.mean(axis=0)
    scale = train.std(axis=0)
    scale[scale == 0.0] = 1.0
    return mean, scale


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


def build_datasets(source: str, out_dir: str | os.PathLike, *, source_dir: str | os.PathLike | None = None,
                   pairs: Iterable[Sequence[int]] | None = None, seeds: Iterable[int] = range(0, 100),
                   dim: int = 16, num_train: int | None = None, num_valid: int | None = None,
                   num_test: int | None = None, per_class: int | None = None, overwrite: bool = False,
                   progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Build one projected dataset file per (pair, seed); returns every requested file's path, pair-major.

    pairs: class pairs (either order; the smaller id is positive), default all i < j of the source's classes.
    Sizes left as None take the source's defaults (see ``_pair_sizes``). Existing files are kept unless
    ``overwrite``. ``progress(done, total)`` is called after each file.
    """
    requested = seeds
    seeds = [int(s) for s in seeds]
    if not seeds:
        shown = (f"{requested.start}:{requested.stop}" if isinstance(requested, range) else repr(requested))
        raise DatasetError(f"seeds {shown} is an empty range (give A:B with A < B)")
    for seed in seeds:
        if not 0 <= seed < 2**32:
            raise DatasetError(f"seed {seed} is outside [0, 2**32)")
    if dim < 1:
        raise DatasetError(f"dim={dim} must be positive")
    if per_class is not None and per_class < 1:
        raise DatasetError(f"per_class={per_class} must be positive")
    _sklearn_attr("sklearn.model_selection", "train_test_split")
    features, labels = load_source(source, source_dir)
    classes = sorted(int(c) for c in np.unique(labels))
    available = {cls: int(np.count_nonzero(labels == cls)) for cls in classes}
    pair_list = _normalise_pairs(pairs, classes, source)
    sizes = {pair: _pair_sizes(source, available, *pair, per_class, num_train, num_valid, num_test)
             for pair in pair_list}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    version = _azero_version()
    paths: list[Path] = []
    total = len(pair_list) * len(seeds)
    for pos, neg in pair_list:
        pair_per_class, n_train, n_valid, n_test = sizes[(pos, neg)]
        rows = np.concatenate([np.flatnonzero(labels == pos)[:pair_per_class],
                               np.flatnonzero(labels == neg)[:pair_per_class]])
        pair_features = features[rows]
        pair_labels = np.repeat(np.array([1, 0], dtype=np.int64), pair_per_class)
        for seed in seeds:
            path = out / dataset_filename(source, pos, neg, dim, seed)
            if overwrite or not path.exists():
                splits = project_pair(pair_features, pair_labels, seed, dim, n_train, n_valid, n_test)
                attrs = {"source": source, "pos": pos, "neg": neg, "dim": dim, "seed": seed,
                         "per_class": pair_per_class, "format_version": FORMAT_VERSION}
                if version is not None:
                    attrs["azero_version"] = version
                _write_atomically(path, splits, attrs)
            paths.append(path)
            if progress is not None:
                progress(len(paths), total)
    return paths


# ----------------------------------------------------------------------------------------------- user data


def regression_filename(name: str, dim: int, seed: int) -> str:
    """File name of one projected regression dataset built from a user's data."""
    return f"regression_{name}-dim_{dim}-seed_{seed}.h5"


def parse_user_source(source: str) -> tuple[str, Path] | None:
    """("npz" | "csv", file) for a ``npz:FILE`` / ``csv:FILE`` source, None for the named sources."""
    fmt, colon, file = source.partition(":")
    if not colon or fmt not in USER_FORMATS:
        return None
    if not file:
        raise DatasetError(f"--source {source!r} names no file (expected {fmt}:FILE)")
    return fmt, Path(file)


def load_user_data(fmt: str, path: Path, label_column: str | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """(features (n, D) float64, labels (n,) as stored, label name) from an npz or csv file, checked.

    npz: arrays ``X`` (n, D) numeric and ``y`` (n,). csv: a header row; every column but the label column
    (``label_column``, default the last) must be numeric; the labels may be numbers or names.
    """
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    if fmt == "npz":
        if label_column is not None:
            raise DatasetError(f"{path}: --label-column is for csv files; an npz file holds arrays X and y")
        features, labels = _load_npz(path)
        label_name = "y"
    else:
        features, labels, label_name = _load_csv(path, label_column)
    if features.shape[0] == 0:
        raise DatasetError(f"{path}: no data rows")
    return features, labels, label_name


def _load_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError) as exc:
        raise DatasetError(f"{path}: not a readable npz file ({type(exc).__name__})") from None
    for name in ("X", "y"):
        if name not in arrays:
            raise DatasetError(f"{path}: no array {name!r} (the file holds {', '.join(sorted(arrays)) or 'none'}; "
                               "expected X (rows x features) and y (labels))")
    features, labels = arrays["X"], arrays["y"]
    if features.ndim != 2 or labels.ndim != 1 or features.shape[0] != labels.shape[0]:
        raise DatasetError(f"{path}: X has shape {features.shape} and y {labels.shape}; expected (n, D) and (n,)")
    if features.dtype.kind not in "biuf":
        raise DatasetError(f"{path}: X has dtype {features.dtype}; expected numbers")
    features = features.astype(np.float64)
    _check_finite(features, lambda row, col: f"{path}: X row {row} column {col}")
    if labels.dtype.kind == "f":
        _check_finite(labels[:, np.newaxis], lambda row, col: f"{path}: y row {row}")
    return features, labels


def _load_csv(path: Path, label_column: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{path}: cannot read as csv ({type(exc).__name__})") from None
    if not rows:
        raise DatasetError(f"{path}: empty file")
    header = [name.strip() for name in rows[0]]
    if len(header) < 2:
        raise DatasetError(f"{path}: the header has {len(header)} column; expected features and a label column")
    label_name = header[-1] if label_column is None else label_column
    if label_name not in header:
        raise DatasetError(f"{path}: no label column {label_name!r} (columns: {', '.join(header)})")
    label_index = header.index(label_name)
    feature_names = [name for i, name in enumerate(header) if i != label_index]
    data = rows[1:]
    features = np.empty((len(data), len(feature_names)))
    labels = []
    for row_number, row in enumerate(data):
        line = row_number + 2
        if len(row) != len(header):
            raise DatasetError(f"{path}: line {line} has {len(row)} fields, the header has {len(header)}")
        labels.append(row[label_index].strip())
        values = row[:label_index] + row[label_index + 1:]
        for col, text in enumerate(values):
            try:
                value = float(text)
            except ValueError:
                raise DatasetError(f"{path}: column {feature_names[col]!r} is not numeric (line {line}: "
                                   f"{text.strip()!r})") from None
            if not math.isfinite(value):
                raise DatasetError(f"{path}: line {line}, column {feature_names[col]!r}: {text.strip()} "
                                   "(NaN and infinite values are not allowed)")
            features[row_number, col] = value
    return features, _csv_labels(path, labels, label_name), label_name


def _csv_labels(path: Path, labels: list[str], label_name: str) -> np.ndarray:
    """Numbers if every label parses as one (then they must be finite), else the label strings."""
    try:
        numbers = np.array([float(text) for text in labels])
    except ValueError:
        return np.array(labels)
    bad = np.flatnonzero(~np.isfinite(numbers))
    if bad.size:
        raise DatasetError(f"{path}: line {bad[0] + 2}, column {label_name!r}: {labels[bad[0]]} "
                           "(NaN and infinite values are not allowed)")
    return numbers


def _check_finite(values: np.ndarray, where: Callable[[int, int], str]) -> None:
    bad = np.argwhere(~np.isfinite(values))
    if bad.size:
        row, col = (int(i) for i in bad[0])
        raise DatasetError(f"{where(row, col)} is {values[row, col]} (NaN and infinite values are not allowed)")


def _user_split_sizes(where: str, total: int, num_train: int | None, num_valid: int | None,
                      num_test: int | None, minimum: int) -> tuple[int, int, int]:
    """(train, valid, test) out of `total` rows: 60/20/20 % unless given; each split at least `minimum`."""
    num_valid = total // 5 if num_valid is None else num_valid
    num_test = total // 5 if num_test is None else num_test
    num_train = total - num_valid - num_test if num_train is None else num_train
    for field, value in (("train", num_train), ("valid", num_valid), ("test", num_test)):
        if value < minimum:
            raise DatasetError(f"{where}: too few rows ({total}) for the splits: the {field} split gets {value}, "
                               f"it needs at least {minimum}")
    if num_train + num_valid + num_test > total:
        raise DatasetError(f"{where}: too few rows ({total}) for {num_train} train + {num_valid} valid + "
                           f"{num_test} test")
    return num_train, num_valid, num_test


def build_user_datasets(source: str, out_dir: str | os.PathLike, *, task: str = "classification",
                        label_column: str | None = None, name: str | None = None,
                        seeds: Iterable[int] = range(0, 10), dim: int = 16, num_train: int | None = None,
                        num_valid: int | None = None, num_test: int | None = None, overwrite: bool = False,
                        progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Build task files from ``npz:FILE`` or ``csv:FILE``; returns the manifest written beside them.

    classification: one file per (class pair, seed), as the named sources (classes numbered 0..k-1 in sorted
    label order, at most 10; per pair the first min(count) rows of each class; default splits 60/20/20 %).
    regression: one file per seed over all rows, the numeric target standardised with the train split's
    scaler. The manifest (``azero_dataset.json``) records kind, name, classes, dim, seeds and the smallest
    split sizes, i.e. the largest num_train_examples / num_valid_examples every file can serve.
    """
    parsed = parse_user_source(source)
    if parsed is None:
        raise DatasetError(f"unknown user source {source!r}; expected npz:FILE or csv:FILE")
    if task not in USER_TASKS:
        raise DatasetError(f"unknown task {task!r}; expected one of {', '.join(USER_TASKS)}")
    fmt, path = parsed
    seeds = [int(s) for s in seeds]
    for seed in seeds:
        if not 0 <= seed < 2**32:
            raise DatasetError(f"seed {seed} is outside [0, 2**32)")
    if dim < 1:
        raise DatasetError(f"dim={dim} must be positive")
    name = path.stem if name is None else name
    if not name or not all(c.isalnum() or c in "_." for c in name):
        raise DatasetError(f"dataset name {name!r} must be letters, digits, '_' or '.' (it goes into file names)")
    _sklearn_attr("sklearn.model_selection", "train_test_split")
    features, labels, label_name = load_user_data(fmt, path, label_column)
    out = Path(out_dir)
    manifest: dict[str, Any] = {"kind": task, "name": name, "source": str(path), "label": label_name,
                                "dim": dim, "seeds": seeds, "format_version": FORMAT_VERSION}
    if task == "classification":
        jobs = _classification_jobs(path, features, labels, label_name, name, dim, seeds, num_train, num_valid,
                                    num_test, manifest)
    else:
        jobs = _regression_jobs(path, features, labels, label_name, name, dim, seeds, num_train, num_valid,
                                num_test, manifest)
    out.mkdir(parents=True, exist_ok=True)
    version = _azero_version()
    for done, (file_name, make, attrs) in enumerate(jobs, 1):
        target = out / file_name
        if overwrite or not target.exists():
            if version is not None:
                attrs["azero_version"] = version
            _write_atomically(target, make(), attrs)
        if progress is not None:
            progress(done, len(jobs))
    manifest_path = out / MANIFEST_NAME
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def _classification_jobs(path: Path, features: np.ndarray, labels: np.ndarray, label_name: str, name: str,
                         dim: int, seeds: list[int], num_train: int | None, num_valid: int | None,
                         num_test: int | None, manifest: dict[str, Any]) -> list:
    classes = np.unique(labels)
    if len(classes) < 2:
        found = repr(classes[0].item()) if len(classes) else "none"
        raise DatasetError(f"{path}: label column {label_name!r} has fewer than 2 classes ({found}); "
                           "classification needs at least 2")
    if len(classes) > NUM_CLASSES:
        raise DatasetError(f"{path}: label column {label_name!r} has {len(classes)} classes; the binary pair "
                           f"tasks support at most {NUM_CLASSES} (for a numeric target use --task regression)")
    class_ids = np.searchsorted(classes, labels)
    counts = [int(np.count_nonzero(class_ids == c)) for c in range(len(classes))]
    jobs = []
    smallest: tuple[int, ...] | None = None
    for pos in range(len(classes)):
        for neg in range(pos + 1, len(classes)):
            per_class = min(counts[pos], counts[neg])
            where = f"{path}: pair ({classes[pos].item()!r}, {classes[neg].item()!r})"
            sizes = _user_split_sizes(where, 2 * per_class, num_train, num_valid, num_test, minimum=2)
            smallest = sizes if smallest is None else tuple(map(min, smallest, sizes))
            rows = np.concatenate([np.flatnonzero(class_ids == pos)[:per_class],
                                   np.flatnonzero(class_ids == neg)[:per_class]])
            pair_labels = np.repeat(np.array([1, 0], dtype=np.int64), per_class)
            for seed in seeds:
                attrs = {"source": name, "pos": pos, "neg": neg, "dim": dim, "seed": seed, "per_class": per_class,
                         "format_version": FORMAT_VERSION}
                jobs.append((dataset_filename(name, pos, neg, dim, seed),
                             lambda r=rows, l=pair_labels, s=seed, z=sizes: project_pair(features[r], l, s, dim, *z),
                             attrs))
    assert smallest is not None  # at least two classes make one pair
    manifest.update(classes=[c.item() for c in classes], class_counts=counts,
                    num_train_examples=smallest[0], num_valid_examples=smallest[1], num_test_examples=smallest[2])
    return jobs


def _regression_jobs(path: Path, features: np.ndarray, labels: np.ndarray, label_name: str, name: str,
                     dim: int, seeds: list[int], num_train: int | None, num_valid: int | None,
                     num_test: int | None, manifest: dict[str, Any]) -> list:
    if labels.dtype.kind not in "biuf":
        raise DatasetError(f"{path}: label column {label_name!r} is not numeric; regression needs a numeric target")
    targets = labels.astype(np.float64)
    sizes = _user_split_sizes(str(path), len(targets), num_train, num_valid, num_test, minimum=1)

    def make(seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        indices, projected = _split_and_project(features, targets, seed, dim, *sizes, stratify=False)
        mean = targets[indices["train"]].mean()
        scale = targets[indices["train"]].std() or 1.0
        return {split: (projected[split], ((targets[rows] - mean) / scale).astype(np.float32))
                for split, rows in indices.items()}

    manifest.update(num_train_examples=sizes[0], num_valid_examples=sizes[1], num_test_examples=sizes[2])
    return [(regression_filename(name, dim, seed), lambda s=seed: make(s),
             {"source": name, "dim": dim, "seed": seed, "format_version": FORMAT_VERSION}) for seed in seeds]


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


def _num_classes(spec: Any) -> int:
    """Classes among which random pairs are drawn: the manifest's count for a user's folder, else 10."""
    manifest = read_manifest(spec.path) if getattr(spec, "path", "") else None
    if manifest is None or manifest["kind"] != "classification":
        return NUM_CLASSES
    return len(manifest["classes"])


# ----------------------------------------------------------------------------------------------- digits cache


def user_cache_dir() -> Path:
    """azero's folder in the user cache: $XDG_CACHE_HOME/azero, else ~/.cache/azero."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "azero"


def ensure_digits_datasets(folder: str | os.PathLike | None = None,
                           announce: Callable[[str], None] | None = None) -> Path:
    """The folder of the digits task files the digits_binary preset reads, built there if any is missing.

    Default folder: ``user_cache_dir() / "digits"``. Building takes a few seconds (scikit-learn's bundled
    digits; no download); ``announce`` receives a one-line message first.
    """
    out = user_cache_dir() / "digits" if folder is None else Path(folder)
    classes = range(NUM_CLASSES)
    expected = [out / dataset_filename("digits", a, b, DIGITS_PRESET_DIM, seed)
                for a in classes for b in classes if a < b for seed in DIGITS_PRESET_SEEDS]
    if all(path.is_file() for path in expected):
        return out
    if announce is not None:
        announce(f"building the digits task files into {out} (first use; a few seconds, no download)")
    build_datasets("digits", out, seeds=DIGITS_PRESET_SEEDS, dim=DIGITS_PRESET_DIM)
    return out


# ----------------------------------------------------------------------------------------------- loader


def select_pair_and_seed(spec: Any, data_seed: int) -> tuple[int, int, int]:
    """(positive, negative, file seed) of a projected task, as the reference's task creator picks them.

    Both classes given: file seed = min + data_seed mod (max - min). Neither: an MT19937 seeded with
    HashMix(856572777, data_seed) draws the pair index among the non-held-out pairs (i < j in 0..9,
    lexicographic; 0..k-1 for a folder built from a user's data with k classes), then the file seed in
    [min, max).
    """
    pos, neg = spec.positive_class, spec.negative_class
    lo, hi = int(spec.min_supported_data_seed), int(spec.max_supported_data_seed)
    if hi <= lo:
        raise DatasetError(f"max_supported_data_seed={hi} must exceed min_supported_data_seed={lo}")
    data_seed = int(data_seed) % 2**32
    if pos is not None and neg is not None:
        pos, neg = int(pos), int(neg)
        if not 0 <= pos < neg:
            raise DatasetError(f"positive_class={pos} must be smaller than negative_class={neg} and >= 0")
        return pos, neg, lo + data_seed % (hi - lo)
    if pos is not None or neg is not None:
        raise DatasetError("give both positive_class and negative_class, or neither (random pairs)")
    held_out = set()
    for pair in spec.held_out_pairs or ():
        if len(pair) != 2:
            raise DatasetError(f"held_out_pairs entry {tuple(pair)} is not a pair of classes")
        a, b = (int(c) for c in pair)
        held_out.add((min(a, b), max(a, b)))
    num_classes = _num_classes(spec)
    eligible = [(i, j) for i in range(num_classes) for j in range(i + 1, num_classes) if (i, j) not in held_out]
    if not eligible:
        raise DatasetError("held_out_pairs holds out every class pair; none is left to choose from")
    # The compiled RNG is needed only here, so that building datasets works without the extensions.
    from azero._core.rng import RandomGenerator, hash_mix

    rng = RandomGenerator(hash_mix(RANDOM_PAIR_SALT, data_seed))
    pos, neg = eligible[rng.uniform_i32(0, len(eligible))]
    return pos, neg, rng.uniform_i32(lo, hi)


def check_dataset_folder(spec: Any) -> Path:
    """The folder a projected task reads its files from; DatasetError if the spec names none or it is missing."""
    if not spec.path:
        raise DatasetError("projected task needs 'path' (the folder of built dataset files)")
    if not spec.dataset_name:
        raise DatasetError("projected task needs 'dataset_name' (e.g. cifar10, digits, or your --name)")
    folder = Path(spec.path)
    if not folder.is_dir():
        raise DatasetError(f"dataset folder {folder} does not exist (build it with: azero datasets build)")
    return folder


def load_projected_task(spec: Any, data_seed: int, num_train: int,
                        num_valid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train_x, train_y, valid_x, valid_y) float64 arrays of a projected task (docs/semantics.md §7.5 task creation).

    ``spec`` carries positive_class, negative_class (None = not given), dataset_name, path, held_out_pairs,
    min_supported_data_seed, max_supported_data_seed and features_size. Copies the first num_train train
    rows and num_valid valid rows of the selected file; the test split is not read.
    """
    folder = check_dataset_folder(spec)
    dim = int(spec.features_size)
    pos, neg, seed = select_pair_and_seed(spec, data_seed)
    name = dataset_filename(spec.dataset_name, pos, neg, dim, seed)
    path = folder / name
    if not path.is_file():
        pair_files = list(folder.glob(f"binary_{spec.dataset_name}-pos_{pos}-neg_{neg}-dim_{dim}-seed_*.h5"))
        detail = (f"{len(pair_files)} other seeds of this pair are there" if pair_files
                  else f"pair ({pos}, {neg}) with dim {dim} is not present at all")
        raise DatasetError(f"missing dataset file {path} ({detail})")
    return _read_task_file(path, dim, num_train, num_valid, binary=True)


def load_projected_regression_task(spec: Any, data_seed: int, num_train: int,
                                   num_valid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train_x, train_y, valid_x, valid_y) float64 arrays of a regression task built from a user's data.

    The file ``regression_<dataset_name>-dim_<F>-seed_<s>.h5`` of ``spec.path`` with s = min_supported_data_seed
    + data_seed mod (max - min), as for a fixed class pair; its first num_train / num_valid rows.
    """
    folder = check_dataset_folder(spec)
    lo, hi = int(spec.min_supported_data_seed), int(spec.max_supported_data_seed)
    if hi <= lo:
        raise DatasetError(f"max_supported_data_seed={hi} must exceed min_supported_data_seed={lo}")
    dim = int(spec.features_size)
    path = folder / regression_filename(spec.dataset_name, dim, lo + int(data_seed) % 2**32 % (hi - lo))
    if not path.is_file():
        raise DatasetError(f"missing dataset file {path} (build it with: azero datasets build --source csv:FILE "
                           "--task regression)")
    return _read_task_file(path, dim, num_train, num_valid, binary=False)


def _read_task_file(path: Path, dim: int, num_train: int, num_valid: int,
                    binary: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    counts = {"train": int(num_train), "valid": int(num_valid)}
    arrays: list[np.ndarray] = []
    try:
        with h5py.File(path, "r") as handle:
            stored_dim = handle.attrs.get("dim")
            if stored_dim is not None and int(stored_dim) != dim:
                raise DatasetError(f"{path}: stored dim {int(stored_dim)} != features_size {dim}")
            for split, count in counts.items():
                arrays.extend(_read_split(handle, path, split, count, dim, binary))
    except OSError as exc:
        raise DatasetError(f"cannot read dataset file {path} ({exc.__class__.__name__})") from None
    train_features, train_labels, valid_features, valid_labels = arrays
    return train_features, train_labels, valid_features, valid_labels


def _read_split(handle: h5py.File, path: Path, split: str, count: int, dim: int,
                binary: bool) -> tuple[np.ndarray, np.ndarray]:
    """The first ``count`` rows of one split as float64, with shape, count and value checks (labels 0/1 if
    ``binary``, finite otherwise)."""
    features_name, labels_name = f"{split}_features", f"{split}_labels"
    for name in (features_name, labels_name):
        if name not in handle:
            raise DatasetError(f"{path}: dataset '{name}' is missing")
    features, labels = handle[features_name], handle[labels_name]
    if features.ndim != 2 or labels.ndim != 1 or features.shape[0] != labels.shape[0]:
        raise DatasetError(f"{path}: '{features_name}' {features.shape} and '{labels_name}' {labels.shape} "
                           "are not (n, F) and (n,)")
    if features.shape[1] != dim:
        raise DatasetError(f"{path}: '{features_name}' has {features.shape[1]} features, features_size is {dim}")
    if count < 1:
        raise DatasetError(f"num_{split}_examples={count} must be positive")
    if features.shape[0] < count:
        raise DatasetError(f"{path}: {count} {split} examples requested, the file has {features.shape[0]}")
    x = np.ascontiguousarray(features[:count], dtype=np.float64)
    y = np.ascontiguousarray(labels[:count], dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if bad.size:
        raise DatasetError(f"{path}: non-finite value in '{features_name}' row {bad[0]}")
    bad = np.flatnonzero((y != 0.0) & (y != 1.0) if binary else ~np.isfinite(y))
    if bad.size:
        raise DatasetError(f"{path}: '{labels_name}' row {bad[0]} is {y[bad[0]]}, expected "
                           f"{'0 or 1' if binary else 'a finite number'}")
    return x, y
