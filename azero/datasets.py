"""Projected binary classification datasets (SPEC 6.4): the builder and the loader used by task creation.

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
"""
from __future__ import annotations

import gzip
import importlib
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
# Sizes of the reference script (SPEC 6.4); per_class defaults to half the total, as there.
REFERENCE_NUM_TRAIN = 8000
REFERENCE_NUM_VALID = 1000
REFERENCE_NUM_TEST = 1000
# The reference's random-pair selection assumes classes 0..9 (SPEC 6.4).
NUM_CLASSES = 10
RANDOM_PAIR_SALT = 856572777
SPLITS = ("train", "valid", "test")

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
    train_test_split = _sklearn_attr("sklearn.model_selection", "train_test_split")
    # train_test_split permutes every array the same way, so splitting row indices equals splitting the rows.
    trainval, test = train_test_split(np.arange(labels.shape[0]), train_size=num_train + num_valid,
                                      test_size=num_test, random_state=seed, stratify=labels)
    train, valid = train_test_split(trainval, train_size=num_train, test_size=num_valid, random_state=seed,
                                    stratify=labels[trainval])
    indices = {"train": train, "valid": valid, "test": test}
    # Same numbers as the reference's np.random.seed(seed); np.random.randn(D, dim), without global state.
    projection = np.random.RandomState(seed).randn(features.shape[1], dim)
    projected = {name: np.dot(features[rows].astype(np.float64), projection) for name, rows in indices.items()}
    # StandardScaler semantics: train mean and population std; a constant feature keeps scale 1.
    mean = projected["train"].mean(axis=0)
    scale = projected["train"].std(axis=0)
    scale[scale == 0.0] = 1.0
    return {name: (((projected[name] - mean) / scale).astype(np.float32), labels[rows].astype(np.float32))
            for name, rows in indices.items()}


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


# ----------------------------------------------------------------------------------------------- loader


def select_pair_and_seed(spec: Any, data_seed: int) -> tuple[int, int, int]:
    """(positive, negative, file seed) of a projected task, as the reference's task creator picks them.

    Both classes given: file seed = min + data_seed mod (max - min). Neither: an MT19937 seeded with
    HashMix(856572777, data_seed) draws the pair index among the non-held-out pairs (i < j in 0..9,
    lexicographic), then the file seed in [min, max).
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
    eligible = [(i, j) for i in range(NUM_CLASSES) for j in range(i + 1, NUM_CLASSES) if (i, j) not in held_out]
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
        raise DatasetError("projected binary task needs 'path' (the folder of built dataset files)")
    if not spec.dataset_name:
        raise DatasetError("projected binary task needs 'dataset_name' (e.g. cifar10, digits)")
    folder = Path(spec.path)
    if not folder.is_dir():
        raise DatasetError(f"dataset folder {folder} does not exist (build it with: azero datasets build)")
    return folder


def load_projected_task(spec: Any, data_seed: int, num_train: int,
                        num_valid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train_x, train_y, valid_x, valid_y) float64 arrays of a projected task (SPEC 6.4 task creation).

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
    counts = {"train": int(num_train), "valid": int(num_valid)}
    arrays = []
    try:
        with h5py.File(path, "r") as handle:
            stored_dim = handle.attrs.get("dim")
            if stored_dim is not None and int(stored_dim) != dim:
                raise DatasetError(f"{path}: stored dim {int(stored_dim)} != features_size {dim}")
            for split, count in counts.items():
                arrays.extend(_read_split(handle, path, split, count, dim))
    except OSError as exc:
        raise DatasetError(f"cannot read dataset file {path} ({exc.__class__.__name__})") from None
    return tuple(arrays)


def _read_split(handle: h5py.File, path: Path, split: str, count: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``count`` rows of one split as float64, with shape, count and value checks."""
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
    bad = np.flatnonzero((y != 0.0) & (y != 1.0))
    if bad.size:
        raise DatasetError(f"{path}: '{labels_name}' row {bad[0]} is {y[bad[0]]}, expected 0 or 1")
    return x, y
